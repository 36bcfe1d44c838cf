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

use std::fmt;

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
}

impl fmt::Display for Backdated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    /// submission `name`, Some when it was sealed more than the tolerance (the check's, or
    /// [`DEFAULT_TOLERANCE`] with the check off) after the `claimed` time. None when it has
    /// no seal (the claim alone decides), the seal is in time, or it was migrated.
    pub fn sealed_late(
        &self,
        student: &str,
        name: &str,
        claimed: NaiveDateTime,
    ) -> Option<Backdated> {
        let seal = self.seals.as_ref()?.get(student, name)?;
        let tolerance = self.seal_tolerance();
        let late_by = (seal.sealed - claimed).num_seconds();
        let over = late_by > i64::try_from(tolerance).unwrap_or(i64::MAX);
        (over && !self.migrated.contains(student, name)).then_some(Backdated {
            claimed,
            late_by,
            tolerance,
            by_seal: true,
        })
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
    /// Where the notary's index has the submission, `observed` is its sealed time instead
    /// (notary-spec §6: on time iff claimed < due and sealed - claimed <= tolerance); the
    /// result says which rule was used.
    pub fn judge(
        &self,
        student: &str,
        name: &str,
        claimed: NaiveDateTime,
        observed: i64,
    ) -> Option<Backdated> {
        let tolerance = self.tolerance?;
        let seal = self.seals.as_ref().and_then(|s| s.get(student, name));
        let observed = seal.map_or(observed, |s| s.sealed.and_utc().timestamp());
        let late_by = observed.saturating_sub(claimed.and_utc().timestamp());
        let over = late_by > i64::try_from(tolerance).unwrap_or(i64::MAX);
        (over && !self.migrated.contains(student, name)).then_some(Backdated {
            claimed,
            late_by,
            tolerance,
            by_seal: seal.is_some(),
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
