//! Reading what the notary publishes (notary-spec §2, §3, §5): the confirmations a student
//! finds in `feedback_public/{student}/.nbk8s-seals.json`, the instructors' index
//! `{course}/.nbk8s-notary/index.json`, and the student's own record of chain heads.
//!
//! Both files are copies for reading: the ledger itself is out of every pod's reach. An
//! instructor can write the index (all of `C/` is theirs), so it is parsed as untrusted input:
//! never followed through a link, size-capped, and any entry that does not parse is skipped.
//! A file that cannot be read at all is an error the caller turns into a warning and a
//! fallback (the ctime rule), never a failure of the command.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

use crate::backdate::DuePasses;
use crate::error::{Error, Result};
use crate::layout::Course;
use crate::safefs::{self, Kind};

/// The student's confirmation file in `feedback_public/{student}/`.
pub const CONFIRMATIONS: &str = ".nbk8s-seals.json";
/// The instructors' copies directory in a course.
pub const COPIES_DIR: &str = ".nbk8s-notary";
/// The seal index in [`COPIES_DIR`].
pub const INDEX: &str = "index.json";
/// The student's record of chain heads in `{cache}/{course}/`.
pub const HEADS: &str = ".nbk8s-heads.jsonl";

/// Largest confirmation or index file read (an index of ~100,000 seals).
const MAX_FILE: u64 = 64 << 20;

/// What the notary says of one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// The submission directory name.
    pub submission: String,
    /// Assignment id.
    pub assignment: String,
    /// The claimed timestamp, as written in the name.
    pub claimed: String,
    /// When the notary first saw it (its clock), UTC.
    pub sealed: NaiveDateTime,
    /// The receipt it sealed.
    pub receipt: String,
    /// `sealed`, `changed` or `vanished`.
    pub state: String,
    /// When a change or deletion was seen (index only).
    pub changed_at: Option<NaiveDateTime>,
    /// The sealed copy, relative to [`COPIES_DIR`] (index only).
    pub copy: Option<String>,
    /// When the notary last saw it back under its name after it had vanished (index only).
    pub returned: Option<NaiveDateTime>,
    /// Gone by an instructor's removal (`list --inbound --remove`), not deleted by the
    /// student (index only).
    pub removed: bool,
}

/// A confirmation file: the chain head when it was written and the student's seals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmations {
    /// Chain head (64 hex) when written.
    pub head: String,
    /// Its record number.
    pub seq: u64,
    /// The student's seals.
    pub seals: Vec<Seal>,
}

/// A deadline snapshot the notary took (index only): the submission it kept for one
/// student's assignment at their due date (plus grace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineSnapshot {
    /// The student's due date it was taken for, UTC.
    pub due: NaiveDateTime,
    /// When it was taken (the notary's clock).
    pub taken: Option<NaiveDateTime>,
    /// The submission kept; None when nothing was on time.
    pub submission: Option<String>,
    /// Its sealed receipt.
    pub receipt: Option<String>,
    /// The copy, relative to [`COPIES_DIR`]; None when it could not be kept.
    pub copy: Option<String>,
}

/// The instructors' index, keyed by `(student, submission)`, with the deadline snapshots
/// keyed by `(student, assignment)`.
#[derive(Debug, Clone, Default)]
pub struct SealIndex {
    seals: BTreeMap<(String, String), Seal>,
    deadlines: HashMap<(String, String), DeadlineSnapshot>,
    due_passes: DuePasses,
}

/// The index's `due_passes`: `{"DUE": {"started", "completed"}}` (RFC 3339), as due ->
/// completed. An entry that does not parse is left out (its due date then has no pass).
fn due_passes_from(doc: &Value) -> DuePasses {
    let Some(all) = doc.get("due_passes").and_then(Value::as_object) else {
        return DuePasses::new();
    };
    all.iter()
        .filter_map(|(due, v)| {
            let completed = v.get("completed").and_then(Value::as_str)?;
            Some((parse_time(due)?, parse_time(completed)?))
        })
        .collect()
}

/// The name of a snapshot copy under [`COPIES_DIR`].
pub const DEADLINE_DIR: &str = "deadline";

fn snapshot_from(v: &Value) -> Option<DeadlineSnapshot> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let receipt = text("receipt").filter(|r| is_hex64(r));
    Some(DeadlineSnapshot {
        due: parse_time(&text("due")?)?,
        taken: text("taken").as_deref().and_then(parse_time),
        submission: text("submission").filter(|s| !s.is_empty() && !s.contains('/')),
        receipt,
        copy: text("copy"),
    })
}

/// Split an index key `A/B` where neither part is empty and B holds no `/`.
fn split_key(key: &str) -> Option<(&str, &str)> {
    let (a, b) = key.split_once('/')?;
    (!a.is_empty() && !b.is_empty() && !b.contains('/')).then_some((a, b))
}

/// Parse an RFC 3339 time to naive UTC.
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.naive_utc())
}

/// Format a naive UTC time as the spec does (microseconds, `Z`).
pub fn format_time(when: &NaiveDateTime) -> String {
    when.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn is_hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn seal_from(submission: String, v: &Value) -> Option<Seal> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let receipt = text("receipt")?;
    let state = text("state")?;
    if !is_hex64(&receipt) || !matches!(state.as_str(), "sealed" | "changed" | "vanished") {
        return None;
    }
    Some(Seal {
        submission,
        assignment: text("assignment")?,
        claimed: text("claimed")?,
        sealed: parse_time(&text("sealed")?)?,
        receipt,
        state,
        changed_at: text("changed_at").as_deref().and_then(parse_time),
        copy: text("copy"),
        returned: text("returned").as_deref().and_then(parse_time),
        removed: v.get("removed").and_then(Value::as_bool) == Some(true),
    })
}

/// Read a small JSON file we do not trust: a regular file (never a link), capped. None when
/// it does not exist.
fn read_json(path: &Path) -> Result<Option<Value>> {
    match safefs::lkind(path).map_err(|e| Error::io("inspect", path, e))? {
        None => return Ok(None),
        Some(Kind::File) => {}
        Some(_) => return Err(Error::unsafe_path(path, "not a regular file; not followed")),
    }
    let Some(bytes) = safefs::read_small(path, MAX_FILE).map_err(|e| Error::io("read", path, e))?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::InvalidArgument(format!("{} is not valid JSON: {e}", path.display())))
}

impl Confirmations {
    /// Where the notary writes `student`'s confirmations.
    pub fn path(course: &Course, student: &str) -> PathBuf {
        course.feedback_public().join(student).join(CONFIRMATIONS)
    }

    /// Read `student`'s confirmations; None when the notary has written none.
    pub fn load(course: &Course, student: &str) -> Result<Option<Confirmations>> {
        let path = Self::path(course, student);
        let Some(doc) = read_json(&path)? else {
            return Ok(None);
        };
        let bad = |what: &str| Error::InvalidArgument(format!("{}: {what}", path.display()));
        let head = doc.get("head").and_then(Value::as_str).unwrap_or_default();
        let seq = doc.get("seq").and_then(Value::as_u64);
        let (Some(seq), true) = (seq, is_hex64(head)) else {
            return Err(bad("no chain head and seq"));
        };
        let seals = doc
            .get("seals")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no seals list"))?
            .iter()
            .filter_map(|v| {
                let sub = v.get("submission")?.as_str()?.to_string();
                seal_from(sub, v)
            })
            .collect();
        Ok(Some(Confirmations {
            head: head.to_string(),
            seq,
            seals,
        }))
    }

    /// The seal of the submission of `assignment` claiming `timestamp` (a student's cache
    /// entry knows no random part), the newest-sealed one if several.
    pub fn find(&self, assignment: &str, timestamp: &str) -> Option<&Seal> {
        self.seals
            .iter()
            .filter(|s| s.assignment == assignment && s.claimed == timestamp)
            .max_by_key(|s| s.sealed)
    }
}

impl SealIndex {
    /// Where the notary writes the index of `course`.
    pub fn path(course: &Course) -> PathBuf {
        course.dir().join(COPIES_DIR).join(INDEX)
    }

    /// Read the index of `course`; None when there is none (the notary is not running
    /// for it). Entries that do not parse, or whose key is not `student/submission`, are
    /// left out.
    pub fn load(course: &Course) -> Result<Option<SealIndex>> {
        let path = Self::path(course);
        let Some(doc) = read_json(&path)? else {
            return Ok(None);
        };
        Self::from_doc(&doc, &path).map(Some)
    }

    /// The index `doc` holds (as index.json does; `path` names it in errors).
    pub fn from_doc(doc: &Value, path: &Path) -> Result<SealIndex> {
        let seals = doc.get("seals").and_then(Value::as_object).ok_or_else(|| {
            Error::InvalidArgument(format!("{}: no seals object", path.display()))
        })?;
        let seals = seals
            .iter()
            .filter_map(|(key, v)| {
                let (student, sub) = split_key(key)?;
                let seal = seal_from(sub.to_string(), v)?;
                Some(((student.to_string(), sub.to_string()), seal))
            })
            .collect();
        let deadlines = doc
            .get("deadlines")
            .and_then(Value::as_object)
            .map(|all| {
                all.iter()
                    .filter_map(|(key, v)| {
                        let (student, assignment) = split_key(key)?;
                        let snap = snapshot_from(v)?;
                        Some(((student.to_string(), assignment.to_string()), snap))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SealIndex {
            seals,
            deadlines,
            due_passes: due_passes_from(doc),
        })
    }

    /// When the notary's pass covering each due date completed.
    pub fn due_passes(&self) -> &DuePasses {
        &self.due_passes
    }

    /// The deadline snapshot of `student`'s `assignment`, if the notary took one.
    pub fn deadline(&self, student: &str, assignment: &str) -> Option<&DeadlineSnapshot> {
        self.deadlines
            .get(&(student.to_string(), assignment.to_string()))
    }

    /// The snapshot copy of `student`'s `assignment`, if the index names one and it is
    /// exactly `deadline/{student}/{assignment}` (anything else is ignored).
    pub fn snapshot_path(
        &self,
        course: &Course,
        student: &str,
        assignment: &str,
        snap: &DeadlineSnapshot,
    ) -> Option<PathBuf> {
        let expected = format!("{DEADLINE_DIR}/{student}/{assignment}");
        (snap.copy.as_deref() == Some(expected.as_str()))
            .then(|| course.dir().join(COPIES_DIR).join(expected))
    }

    /// The seal of `student`'s submission `name`.
    pub fn get(&self, student: &str, name: &str) -> Option<&Seal> {
        self.seals.get(&(student.to_string(), name.to_string()))
    }

    /// The seals of `student`, sorted by submission.
    pub fn of_student<'a>(&'a self, student: &'a str) -> impl Iterator<Item = &'a Seal> {
        self.seals
            .range((student.to_string(), String::new())..)
            .take_while(move |((s, _), _)| s == student)
            .map(|(_, seal)| seal)
    }

    /// Every seal, as `(student, seal)`, sorted by student and submission.
    pub fn all(&self) -> Vec<(&str, &Seal)> {
        let mut out: Vec<_> = self
            .seals
            .iter()
            .map(|((student, _), seal)| (student.as_str(), seal))
            .collect();
        out.sort_by(|a, b| (a.0, &a.1.submission).cmp(&(b.0, &b.1.submission)));
        out
    }

    /// The sealed copy of `student`'s `seal` under the course's copies directory, if the
    /// index names one and it is exactly `sealed/{student}/{submission}` (an index naming
    /// anything else is ignored: it could point anywhere).
    pub fn copy_path(&self, course: &Course, student: &str, seal: &Seal) -> Option<PathBuf> {
        let expected = format!("sealed/{student}/{}", seal.submission);
        (seal.copy.as_deref() == Some(expected.as_str()))
            .then(|| course.dir().join(COPIES_DIR).join(expected))
    }
}

/// Append `confirmations`' head to the student's `{cache}/{course}/.nbk8s-heads.jsonl` as
/// `{"seq","head","seen"}` unless that head is recorded already. Returns whether it was new.
pub fn record_head(cache_course: &Path, confirmations: &Confirmations, seen: &str) -> Result<bool> {
    let path = cache_course.join(HEADS);
    let known = std::fs::read_to_string(&path).unwrap_or_default();
    let already = known.lines().any(|line| {
        serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| v.get("head")?.as_str().map(|h| h == confirmations.head))
            .unwrap_or(false)
    });
    if already {
        return Ok(false);
    }
    std::fs::create_dir_all(cache_course)
        .map_err(|e| Error::io("create directory", cache_course, e))?;
    let line = serde_json::json!({
        "seq": confirmations.seq,
        "head": confirmations.head,
        "seen": seen,
    });
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| {
            // A torn last line (no newline) is closed first so the new record stands alone.
            if !known.is_empty() && !known.ends_with('\n') {
                f.write_all(b"\n")?;
            }
            Ok(f)
        })
        .map_err(|e| Error::io("open", &path, e))?;
    writeln!(file, "{line}").map_err(|e| Error::io("append to", &path, e))?;
    Ok(true)
}

mod check;
pub use check::deleted_note;
#[cfg(test)]
mod tests;
