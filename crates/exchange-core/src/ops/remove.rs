//! `nbgrader list --inbound --remove` and `nbgrader list --cached --remove`.
//!
//! nbgrader's default deletes the listed submissions. Here the instructor's removal keeps
//! the evidence: each submission is moved (one `rename`, atomic) out of the student's inbox,
//! which the student can write and `gc` sweeps, into the instructor-only
//! `{course}/.nbk8s-removed/{student}/{submission}`, and one JSON line is appended to
//! `{course}/.nbk8s-removed/removals.jsonl` (DESIGN.md "Reserved names"; the notary reads
//! both as they are):
//!
//! ```text
//! {"time": "2026-12-01T19:45:12.123456Z", "course": "c", "student": "s",
//!  "assignment": "ps1", "submission": "ps1+2026-12-01 19:40:00.000000 UTC+abc", "by": "prof"}
//! ```
//!
//! A student's own cache entries (`--cached --remove`) are theirs: those are deleted, as
//! nbgrader does.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::{absolute, Course};
use crate::{beneath, safefs};

use super::courses_under;
use super::inbound::Inbound;
use super::list::cached_entries;
use super::place::remove_tree;

/// File name of the removal log in [`Course::removed`].
pub const REMOVALS_LOG: &str = "removals.jsonl";

/// One removed submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Course id.
    pub course_id: String,
    /// Student id.
    pub student_id: String,
    /// Assignment id.
    pub assignment_id: String,
    /// The timestamp string.
    pub timestamp: String,
    /// Where it was.
    pub path: PathBuf,
    /// Where it is now (`.nbk8s-removed/{student}/{name}`), None for a deleted cache entry.
    pub moved_to: Option<PathBuf>,
}

/// What a removal did.
#[derive(Debug, Clone, Default)]
pub struct Removal {
    /// Removed submissions, sorted by course, student and name.
    pub removed: Vec<Removed>,
    /// Entries skipped or not removed, for the instructor.
    pub warnings: Vec<String>,
}

/// Move the submissions of `assignment` (None: all) of the students `student` selects (an
/// id or glob; None: all) in `courses` (None: every course) to each course's
/// `.nbk8s-removed/{student}/`, logging each in `removals.jsonl` with `by` (the remover's
/// user name, if known). A submission that cannot be moved is a warning, not a failure.
pub fn remove_submissions(
    root: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    student: Option<&str>,
    by: Option<&str>,
) -> Result<Removal> {
    let mut out = Removal::default();
    for course_id in courses_under(root, courses)? {
        let course = Course::new(root, &course_id)?;
        let Some(inbound) = Inbound::open(&course.inbound(), student, &mut out.warnings) else {
            continue;
        };
        for s in &inbound.students {
            let Some(inbox) = inbound.inbox(s, &mut out.warnings) else {
                continue;
            };
            for (name, parsed) in &inbox.submissions {
                if assignment.is_some_and(|a| a != parsed.assignment) {
                    continue;
                }
                let from = inbox.path.join(name);
                match move_out(&course, s, name) {
                    Ok(to) => {
                        let entry = Removed {
                            course_id: course_id.clone(),
                            student_id: s.clone(),
                            assignment_id: parsed.assignment.clone(),
                            timestamp: parsed.timestamp.clone(),
                            path: from,
                            moved_to: Some(to),
                        };
                        if let Err(e) = log_removal(&course, &entry, name, by) {
                            out.warnings.push(format!(
                                "student {s:?}: moved {} but could not log it: {e}",
                                entry.path.display()
                            ));
                        }
                        out.removed.push(entry);
                    }
                    Err(e) => out.warnings.push(format!(
                        "student {s:?}: not removed {}: {e}",
                        from.display()
                    )),
                }
            }
        }
    }
    Ok(out)
}

/// Rename `inbound/{student}/{name}` to `.nbk8s-removed/{student}/{name}` (never over an
/// existing entry); the directories are created (0755) when missing.
fn move_out(course: &Course, student: &str, name: &str) -> Result<PathBuf> {
    let removed = course.removed();
    let mine = removed.join(student);
    for dir in [&removed, &mine] {
        safefs::ensure_dir(dir).map_err(|e| Error::io("create directory", dir, e))?;
    }
    let from = course.inbound().join(student).join(name);
    let to = mine.join(name);
    beneath::rename_noreplace(&from, &to).map_err(|e| Error::io("move", &from, e))?;
    Ok(to)
}

/// Append the removal's line to `removals.jsonl` (created 0644, never through a link).
fn log_removal(course: &Course, entry: &Removed, name: &str, by: Option<&str>) -> Result<()> {
    let path = course.removed().join(REMOVALS_LOG);
    let course_name = course
        .dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Keys in this order (the notary's contract, DESIGN.md); values JSON-escaped.
    let text = |v: &str| serde_json::Value::from(v).to_string();
    let time = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let line = format!(
        "{{\"time\":{},\"course\":{},\"student\":{},\"assignment\":{},\"submission\":{},\"by\":{}}}\n",
        text(&time),
        text(&course_name),
        text(&entry.student_id),
        text(&entry.assignment_id),
        text(name),
        by.map_or_else(|| "null".to_string(), text),
    );
    let bytes = line.into_bytes();
    let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE;
    let mut file = beneath::open(&path, flags, Mode::from_raw_mode(0o644))
        .map(std::fs::File::from)
        .map_err(|e| Error::io("open", &path, e))?;
    // One write per line: appends of a few hundred bytes land whole.
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("append to", &path, e))?;
    let _ = safefs::set_mode_of(file.as_fd(), 0o644);
    Ok(())
}

/// Delete the student's own local cache entries of `assignment` (None: all) in `courses`
/// (None: every course in the cache): `{cache}/{course}/{student}+{assignment}+{timestamp}`.
pub fn remove_cached(
    cache: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    student: &str,
) -> Result<Removal> {
    validate(IdKind::Student, student)?;
    let cache = absolute(cache);
    let mut out = Removal::default();
    for course_id in courses_under(&cache, courses)? {
        for (name, assignment_id, timestamp) in cached_entries(&cache.join(&course_id), student) {
            if assignment.is_some_and(|a| a != assignment_id) {
                continue;
            }
            let path = cache.join(&course_id).join(&name);
            match remove_tree(&path) {
                Ok(_) => out.removed.push(Removed {
                    course_id: course_id.clone(),
                    student_id: student.to_string(),
                    assignment_id,
                    timestamp,
                    path,
                    moved_to: None,
                }),
                Err(e) => out.warnings.push(format!("not removed: {e}")),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const SUB: &str = "ps1+2024-01-01 00:00:00.000000 UTC+abc";

    #[test]
    fn moves_out_of_the_inbox_and_logs() {
        let t = tempfile::tempdir().unwrap();
        let inbox = t.path().join("c/inbound/a+b");
        fs::create_dir_all(inbox.join(SUB)).unwrap();
        fs::write(inbox.join(SUB).join("p.ipynb"), "x").unwrap();
        fs::create_dir_all(inbox.join("ps2+2024-01-01 00:00:00.000000 UTC+def")).unwrap();
        let r = remove_submissions(t.path(), None, Some("ps1"), None, Some("prof")).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let moved = t.path().join("c/.nbk8s-removed/a+b").join(SUB);
        assert_eq!(r.removed.len(), 1);
        assert_eq!(r.removed[0].moved_to.as_deref(), Some(moved.as_path()));
        assert_eq!(fs::read_to_string(moved.join("p.ipynb")).unwrap(), "x");
        assert!(!inbox.join(SUB).exists());
        assert!(inbox
            .join("ps2+2024-01-01 00:00:00.000000 UTC+def")
            .exists());
        let log = fs::read_to_string(t.path().join("c/.nbk8s-removed/removals.jsonl")).unwrap();
        let line: serde_json::Value = serde_json::from_str(log.trim_end()).unwrap();
        assert_eq!(line["course"], "c");
        assert_eq!(line["student"], "a+b");
        assert_eq!(line["assignment"], "ps1");
        assert_eq!(line["submission"], SUB);
        assert_eq!(line["by"], "prof");
        let time = line["time"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'));
        // The removed directory is no student's and no submission: the inbound listing
        // does not see it.
        let again = remove_submissions(t.path(), None, Some("ps1"), None, None).unwrap();
        assert!(again.removed.is_empty());
    }

    #[test]
    fn never_over_an_earlier_removal() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("c/inbound/s").join(SUB)).unwrap();
        fs::create_dir_all(t.path().join("c/.nbk8s-removed/s").join(SUB).join("old")).unwrap();
        let r = remove_submissions(t.path(), None, None, None, None).unwrap();
        assert!(r.removed.is_empty());
        assert!(r.warnings[0].contains("not removed"), "{:?}", r.warnings);
        assert!(t
            .path()
            .join("c/.nbk8s-removed/s")
            .join(SUB)
            .join("old")
            .exists());
        assert!(t.path().join("c/inbound/s").join(SUB).exists());
    }

    #[test]
    fn cached_entries_of_the_student_only() {
        let t = tempfile::tempdir().unwrap();
        let course = t.path().join("c");
        for name in [
            "s+ps1+2024-01-01 00:00:00 UTC",
            "s+ps2+2024-01-01 00:00:00 UTC",
            "o+ps1+x",
        ] {
            fs::create_dir_all(course.join(name)).unwrap();
        }
        let r = remove_cached(t.path(), None, Some("ps1"), "s").unwrap();
        assert_eq!(r.removed.len(), 1);
        let mut left: Vec<_> = fs::read_dir(&course)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["o+ps1+x", "s+ps2+2024-01-01 00:00:00 UTC"]);
    }
}
