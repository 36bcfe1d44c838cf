//! Backdating: a submission claiming an earlier time than the filesystem saw.
//!
//! A student writes their inbound directory directly, so the timestamp in a submission's
//! name (and `timestamp.txt`) is only a claim. What they cannot set is an inode's ctime:
//! the kernel (or, on NFS, the server) stamps it with its own clock on every change,
//! including creation, rename, a write to the file and `utime` itself. So a submission
//! whose entries changed well after the time it claims was written after the fact.
//!
//! The rule: flag when `observed - claimed > tolerance`, where `observed` is the newest
//! ctime among the entries looked at (collect: the submission directory and everything it
//! copies; `list --inbound`: the directory and its top-level notebooks; the audit: the
//! directory and everything in it) and `claimed` the timestamp of the name. Its limits:
//!
//! * It only flags; nothing is refused. A student editing a file of a submission in place
//!   after the deadline is flagged by collect and the audit, which see every entry's ctime
//!   (`list --inbound` sees only the top level, to stay cheap).
//! * `tolerance` absorbs the time a submit takes and clock skew between the pod that wrote
//!   the timestamp and the clock that stamps ctimes (the node, or the NFS server).
//! * Anything that rewrites inode metadata later resets ctime and is flagged too: a copy
//!   (hence migrated submissions are recorded in [`MigratedRecord`] and exempt), a restore
//!   from backup, `chown -R`. Such submissions are flagged falsely, never missed.
//! * A claim *later* than the truth is not backdating and is not flagged (collect orders
//!   by the claim; a student who post-dates only hurts themselves with `--before-duedate`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;

use crate::layout::Course;
use crate::migrated::MigratedRecord;
use crate::seals::{format_time, SealIndex};

/// The tolerance of the notary's on-time rule when the backdating check is off (the
/// plugin's `backdate_tolerance` default).
pub const DEFAULT_TOLERANCE: u64 = 300;

/// How far a claimed time may precede the observed one: the check and its exemptions.
#[derive(Debug, Clone, Default)]
pub struct BackdateCheck {
    /// Seconds of tolerance; None switches the check off.
    tolerance: Option<u64>,
    /// Submissions brought in by `migrate` (exempt: copying reset their ctimes).
    migrated: MigratedRecord,
    /// The notary's index (notary-spec §6): where it has a submission, its sealed time is
    /// the observed one instead of ctime.
    seals: Option<SealIndex>,
}

/// When the notary's pass covering each due date completed (docs/notary.md §7): due time ->
/// completion, both UTC. A pass covers a due date when it started more than the volume's
/// attribute cache after it, listed every inbox and sealed what it found (nothing deferred,
/// no look failed): a submission there at the due date was sealed by its end.
pub type DuePasses = BTreeMap<NaiveDateTime, NaiveDateTime>;

/// The due date a seal showed a submission was not there for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbsentAtDue {
    /// The due date the submission claims to precede.
    pub due: NaiveDateTime,
    /// When the notary's pass covering it completed, without having seen the submission.
    pub covered: NaiveDateTime,
}

/// A submission found backdated: what it claims and how much later it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backdated {
    /// The claimed time, UTC.
    pub claimed: NaiveDateTime,
    /// Seconds between the claim and the newest ctime seen.
    pub late_by: i64,
    /// The tolerance that was exceeded, seconds.
    pub tolerance: u64,
    /// Whether the notary's sealed time was the observed one (else the newest ctime).
    pub by_seal: bool,
    /// Within the tolerance, but sealed after the pass covering a due date it claims to
    /// precede: it was not there when that due date passed.
    pub absent_at: Option<AbsentAtDue>,
}

/// Which time nbgrader grades a submission by (`Exchange.grade_time`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GradeTime {
    /// The notary's seal time where the seal contradicts the claim ([`seal_refutes`]);
    /// the claim elsewhere.
    #[default]
    Seal,
    /// The claimed time, always (the behaviour before the notary decided).
    Claim,
}

impl FromStr for GradeTime {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s {
            "seal" => Ok(GradeTime::Seal),
            "claim" => Ok(GradeTime::Claim),
            other => Err(crate::error::Error::InvalidArgument(format!(
                "grade_time must be 'seal' or 'claim', not {other:?}"
            ))),
        }
    }
}

/// The seal rule, its one home (notary-spec §6, §7): whether the notary's `sealed` time
/// contradicts the `claimed` one. It does when the seal came more than `tolerance` seconds
/// after the claim, or when the claim is at or before a due date of `passes` whose covering
/// pass completed before the seal (the submission was not there when the due date passed).
/// collect, `status` and the notary's deadline snapshots all judge through this.
pub fn seal_refutes(
    claimed: NaiveDateTime,
    sealed: NaiveDateTime,
    tolerance: u64,
    passes: &DuePasses,
) -> Option<Backdated> {
    let late_by = (sealed - claimed).num_seconds();
    let found = |absent_at| Backdated {
        claimed,
        late_by,
        tolerance,
        by_seal: true,
        absent_at,
    };
    if late_by > i64::try_from(tolerance).unwrap_or(i64::MAX) {
        return Some(found(None));
    }
    passes
        .range(claimed..)
        .find(|(_, covered)| **covered < sealed)
        .map(|(due, covered)| {
            found(Some(AbsentAtDue {
                due: *due,
                covered: *covered,
            }))
        })
}

impl fmt::Display for Backdated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(absent) = self.absent_at {
            return write!(
                f,
                "claims {} UTC, at or before the due date {} UTC, but the notary's pass \
                 covering that due date completed at {} UTC without it; first seen {} s after \
                 its claim (rule: the notary's seal, pass at the due date)",
                self.claimed.format("%Y-%m-%d %H:%M:%S"),
                absent.due.format("%Y-%m-%d %H:%M:%S"),
                absent.covered.format("%Y-%m-%d %H:%M:%S"),
                self.late_by
            );
        }
        let (who, rule) = if self.by_seal {
            ("the notary first saw it", "rule: the notary's seal")
        } else {
            ("the filesystem saw it change", "rule: ctime")
        };
        write!(
            f,
            "claims {} UTC but {who} {} s later (backdate_tolerance {} s; {rule})",
            self.claimed.format("%Y-%m-%d %H:%M:%S"),
            self.late_by,
            self.tolerance
        )
    }
}

impl BackdateCheck {
    /// A check with `tolerance` seconds (None = off) and the exemptions of `migrated`.
    pub fn new(tolerance: Option<u64>, migrated: MigratedRecord) -> Self {
        BackdateCheck {
            tolerance,
            migrated,
            seals: None,
        }
    }

    /// The check for `course`: its migration record (with a tolerance) and the notary's
    /// index (always: its sealed copies and deadline snapshots serve collect even with the
    /// check off). A file that cannot be read is a warning (and exempts or seals nothing).
    pub fn for_course(course: &Course, tolerance: Option<u64>, warnings: &mut Vec<String>) -> Self {
        let migrated = match tolerance {
            Some(_) => MigratedRecord::load(course).unwrap_or_else(|e| {
                warnings.push(format!("migration record not read, exempting nothing: {e}"));
                MigratedRecord::default()
            }),
            None => MigratedRecord::default(),
        };
        let mut check = Self::new(tolerance, migrated);
        check.seals = SealIndex::load(course).unwrap_or_else(|e| {
            warnings.push(format!(
                "the notary's index was not read, using the ctime rule for every submission: {e}"
            ));
            None
        });
        check
    }

    /// The notary's index, if the course has one.
    pub fn seals(&self) -> Option<&SealIndex> {
        self.seals.as_ref()
    }

    /// The notary's index, to check it before use ([`SealIndex::cross_check`]).
    pub fn seals_mut(&mut self) -> Option<&mut SealIndex> {
        self.seals.as_mut()
    }

    /// The on-time rule's second half (notary-spec §6): where the index has `student`'s
    /// submission `name`, Some when its seal contradicts the `claimed` time
    /// ([`seal_refutes`], with the check's tolerance or [`DEFAULT_TOLERANCE`] with the check
    /// off). None when it has no seal (the claim alone decides), the seal agrees, or it was
    /// migrated.
    pub fn sealed_late(
        &self,
        student: &str,
        name: &str,
        claimed: NaiveDateTime,
    ) -> Option<Backdated> {
        self.graded_by_seal(student, name, claimed)
            .map(|(_, why)| why)
    }

    /// The time nbgrader grades `student`'s submission `name` by, when it is not the
    /// `claimed` one: the notary's seal time, with why the seal contradicts the claim
    /// ([`seal_refutes`]). None where the claim stands (no seal, the seal agrees, migrated).
    pub fn graded_by_seal(
        &self,
        student: &str,
        name: &str,
        claimed: NaiveDateTime,
    ) -> Option<(NaiveDateTime, Backdated)> {
        let index = self.seals.as_ref()?;
        let seal = index.get(student, name)?;
        if self.migrated.contains(student, name) {
            return None;
        }
        let found = seal_refutes(
            claimed,
            seal.sealed,
            self.seal_tolerance(),
            index.due_passes(),
        )?;
        Some((seal.sealed, found))
    }

    /// What the notary saw happen to `student`'s submission `name`, which is present, after
    /// sealing it, as a warning: "modified after it was sealed at T", "hidden and returned
    /// changed after ...", or, when the notary last saw it gone, "gone after ... and back,
    /// not checked by the notary since". None otherwise.
    pub fn after_seal(&self, student: &str, name: &str) -> Option<String> {
        let seal = self.seals.as_ref()?.get(student, name)?;
        let what = match (seal.state.as_str(), seal.returned) {
            ("changed", Some(_)) => "hidden and returned changed",
            ("changed", None) => "modified",
            ("vanished", _) => "gone",
            _ => return None,
        };
        let mut note = format!(
            "{what} after it was sealed at {} (receipt {})",
            format_time(&seal.sealed),
            crate::receipt::short(&seal.receipt)
        );
        match (seal.state.as_str(), seal.returned) {
            ("vanished", _) => note.push_str(" and back, not checked by the notary since"),
            (_, Some(back)) => note.push_str(&format!(", back at {}", format_time(&back))),
            _ => {}
        }
        Some(note)
    }

    /// The tolerance of the notary's on-time rule, seconds ([`DEFAULT_TOLERANCE`] with the
    /// check off).
    pub fn seal_tolerance(&self) -> u64 {
        self.tolerance.unwrap_or(DEFAULT_TOLERANCE)
    }

    /// Whether the check is on.
    pub fn enabled(&self) -> bool {
        self.tolerance.is_some()
    }

    /// Judge `student`'s submission `name` claiming `claimed`, whose newest ctime is
    /// `observed` (seconds since the epoch). Some when it is backdated.
    ///
    /// Where the notary's index has the submission, its seal decides instead of `observed`
    /// ([`seal_refutes`]); the result says which rule was used.
    pub fn judge(
        &self,
        student: &str,
        name: &str,
        claimed: NaiveDateTime,
        observed: i64,
    ) -> Option<Backdated> {
        let tolerance = self.tolerance?;
        if let Some(index) = &self.seals {
            if let Some(seal) = index.get(student, name) {
                let found = seal_refutes(claimed, seal.sealed, tolerance, index.due_passes());
                return found.filter(|_| !self.migrated.contains(student, name));
            }
        }
        let late_by = observed.saturating_sub(claimed.and_utc().timestamp());
        let over = late_by > i64::try_from(tolerance).unwrap_or(i64::MAX);
        (over && !self.migrated.contains(student, name)).then_some(Backdated {
            claimed,
            late_by,
            tolerance,
            by_seal: false,
            absent_at: None,
        })
    }

    /// This check with the notary's index `seals` (the seal rule where it has a submission).
    pub fn with_seals(mut self, seals: Option<SealIndex>) -> Self {
        self.seals = seals;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        crate::timestamp::parse(s).unwrap()
    }

    #[test]
    fn over_tolerance_is_flagged_unless_migrated_or_off() {
        let claimed = at("2024-03-01 12:00:00 UTC");
        let epoch = claimed.and_utc().timestamp();
        let check = BackdateCheck::new(Some(300), MigratedRecord::default());
        assert_eq!(check.judge("a", "n", claimed, epoch + 300), None);
        assert_eq!(check.judge("a", "n", claimed, epoch - 10_000), None);
        let found = check.judge("a", "n", claimed, epoch + 301).unwrap();
        assert_eq!(found.late_by, 301);
        assert_eq!(
            found.to_string(),
            "claims 2024-03-01 12:00:00 UTC but the filesystem saw it change 301 s later \
             (backdate_tolerance 300 s; rule: ctime)"
        );
        let mut record = MigratedRecord::default();
        record.insert("a", "n");
        let check = BackdateCheck::new(Some(300), record);
        assert_eq!(check.judge("a", "n", claimed, epoch + 9999), None);
        assert!(check.judge("b", "n", claimed, epoch + 9999).is_some());
        let off = BackdateCheck::default();
        assert!(!off.enabled());
        assert_eq!(off.judge("a", "n", claimed, i64::MAX), None);
        let huge = BackdateCheck::new(Some(u64::MAX), MigratedRecord::default());
        assert_eq!(huge.judge("a", "n", claimed, i64::MAX), None);
    }

    #[test]
    fn the_seal_refutes_a_claim_over_the_tolerance_or_absent_at_a_covered_due_date() {
        let due = at("2024-03-01 12:00:00 UTC");
        let secs = chrono::Duration::seconds;
        let mut passes = DuePasses::new();
        assert_eq!(
            seal_refutes(due - secs(1), due + secs(3), 300, &passes),
            None
        );
        let over = seal_refutes(due - secs(1), due + secs(400), 300, &passes).unwrap();
        assert_eq!((over.late_by, over.absent_at), (401, None));
        // The pass covering the due date completed 2 s after it.
        passes.insert(due, due + secs(2));
        // There at the due date: sealed by that pass.
        assert_eq!(
            seal_refutes(due - secs(5), due + secs(1), 300, &passes),
            None
        );
        assert_eq!(
            seal_refutes(due - secs(5), due + secs(2), 300, &passes),
            None
        );
        // Planted after it: sealed later, though within the tolerance of its claim.
        let plant = seal_refutes(due - secs(1), due + secs(4), 300, &passes).unwrap();
        let absent = AbsentAtDue {
            due,
            covered: due + secs(2),
        };
        assert_eq!((plant.late_by, plant.absent_at), (5, Some(absent)));
        assert!(plant.to_string().contains(
            "at or before the due date 2024-03-01 12:00:00 UTC, but the notary's pass covering \
             that due date completed at 2024-03-01 12:00:02 UTC without it"
        ));
        // A claim after the due date is not contradicted by its pass.
        assert_eq!(
            seal_refutes(due + secs(1), due + secs(9), 300, &passes),
            None
        );
        assert_eq!("claim".parse::<GradeTime>().unwrap(), GradeTime::Claim);
        assert!("ctime".parse::<GradeTime>().is_err());
    }

    #[test]
    fn unreadable_record_is_a_warning() {
        let t = tempfile::tempdir().unwrap();
        let course = Course::new(t.path(), "c1").unwrap();
        std::fs::create_dir(course.dir()).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", MigratedRecord::path(&course)).unwrap();
        let mut warnings = Vec::new();
        let check = BackdateCheck::for_course(&course, Some(5), &mut warnings);
        assert!(check.enabled());
        assert!(warnings[0].contains("migration record"), "{warnings:?}");
        let mut warnings = Vec::new();
        assert!(!BackdateCheck::for_course(&course, None, &mut warnings).enabled());
        assert!(warnings.is_empty());
    }
}
