//! Reading an old exchange course: nbgrader's default layout
//! (`inbound/{student}+{assignment}+{timestamp}+{random}`, `feedback/{hash}.html`) and the
//! earlier Python plugin's (`inbound/{student}/{student}+{assignment}+{timestamp}+{random}`),
//! plus our own layout (so a half-migrated or copied course reads too).
//!
//! The old tree is as hostile as any student-writable one (nbgrader's default inbound is
//! mode 0777): it is listed without following symlinks, and anything odd is skipped with a
//! reason rather than guessed at.

use std::path::{Path, PathBuf};

use exchange_core::ids::{problem, IdKind};
use exchange_core::names::parse_submission;
use exchange_core::timestamp;
use exchange_core::walk::{self, Kind, Seen};

/// Which layout a submission came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// nbgrader's default exchange: `inbound/{student}+{assignment}+{timestamp}[+{random}]`.
    Nbgrader,
    /// Per-student dirs (the earlier plugin's or ours): `inbound/{student}/{name}`.
    PerStudent,
}

impl Format {
    /// How the summary names it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Nbgrader => "nbgrader",
            Format::PerStudent => "per_student",
        }
    }
}

/// A submission found in the old exchange.
#[derive(Debug, Clone)]
pub struct OldSubmission {
    /// Student id.
    pub student: String,
    /// Assignment id.
    pub assignment: String,
    /// The timestamp string, exactly as in the name.
    pub timestamp: String,
    /// The random part, when the name had one.
    pub random: Option<String>,
    /// The directory.
    pub src: PathBuf,
    /// Its layout.
    pub format: Format,
    /// A note for the admin (e.g. an embedded name naming another student).
    pub note: Option<String>,
}

/// A feedback file found in the old exchange.
#[derive(Debug, Clone)]
pub struct OldFeedback {
    /// The file.
    pub src: PathBuf,
    /// Its name (`{hash}.html`).
    pub name: String,
    /// The student, when the layout says (per-student `feedback_public/{s}/`).
    pub student: Option<String>,
}

/// Something found that will not be migrated, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// What it was (`submission`, `feedback`, `release`, `entry`).
    pub what: &'static str,
    /// The path.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// Everything found in one old course.
#[derive(Debug, Default)]
pub struct OldCourse {
    /// Released assignments: (assignment, directory).
    pub releases: Vec<(String, PathBuf)>,
    /// Submissions.
    pub submissions: Vec<OldSubmission>,
    /// Feedback files.
    pub feedback: Vec<OldFeedback>,
    /// What will not be migrated.
    pub skipped: Vec<Skipped>,
}

/// Read the old course at `dir`.
pub fn read_course(dir: &Path) -> OldCourse {
    let mut out = OldCourse::default();
    releases(&dir.join("outbound"), &mut out);
    inbound(&dir.join("inbound"), &mut out);
    nbgrader_feedback(&dir.join("feedback"), &mut out);
    per_student_feedback(&dir.join("feedback_public"), &mut out);
    out
}

/// The non-dot children of `dir`; a missing dir has none, an unreadable one is skipped.
fn list(dir: &Path, out: &mut OldCourse) -> Vec<Seen> {
    match walk::kind_of(dir) {
        Ok(None) => return Vec::new(),
        Ok(Some(Kind::Dir)) => {}
        Ok(Some(kind)) => {
            out.skipped.push(skip(
                "entry",
                dir,
                format!("a {}, not a directory", kind.describe()),
            ));
            return Vec::new();
        }
        Err(e) => {
            out.skipped
                .push(skip("entry", dir, format!("cannot inspect ({e})")));
            return Vec::new();
        }
    }
    match walk::children(dir) {
        Ok(children) => children
            .into_iter()
            .filter(|c| !c.name.starts_with('.'))
            .collect(),
        Err(e) => {
            out.skipped
                .push(skip("entry", dir, format!("cannot read ({e})")));
            Vec::new()
        }
    }
}

fn skip(what: &'static str, path: &Path, reason: String) -> Skipped {
    Skipped {
        what,
        path: path.to_path_buf(),
        reason,
    }
}

fn releases(outbound: &Path, out: &mut OldCourse) {
    for c in list(outbound, out) {
        match (c.kind, problem(IdKind::Assignment, &c.name)) {
            (Kind::Dir, None) => out.releases.push((c.name.clone(), c.path)),
            (Kind::Dir, Some(why)) => out.skipped.push(skip(
                "release",
                &c.path,
                format!("not a valid assignment id: {why}"),
            )),
            (kind, _) => out.skipped.push(skip(
                "release",
                &c.path,
                format!("a {}, not a directory", kind.describe()),
            )),
        }
    }
}

fn inbound(dir: &Path, out: &mut OldCourse) {
    for c in list(dir, out) {
        if c.kind != Kind::Dir {
            out.skipped.push(skip(
                "entry",
                &c.path,
                format!("a {}, not a directory", c.kind.describe()),
            ));
            continue;
        }
        let stamp = read_timestamp(&c.path);
        let looks_like_submission = stamp.is_some() || parse_nbgrader_name(&c.name, None).is_ok();
        if looks_like_submission {
            match parse_nbgrader_name(&c.name, stamp.as_deref()) {
                Ok(sub) => out.submissions.push(OldSubmission { src: c.path, ..sub }),
                Err(why) => out.skipped.push(skip("submission", &c.path, why)),
            }
        } else if let Some(why) = problem(IdKind::Student, &c.name) {
            out.skipped.push(skip(
                "entry",
                &c.path,
                format!("not a submission, nor a valid student id: {why}"),
            ));
        } else {
            student_dir(&c.name, &c.path, out);
        }
    }
}

/// `inbound/{student}/`: every submission directory in it, identity from the directory.
fn student_dir(student: &str, dir: &Path, out: &mut OldCourse) {
    for c in list(dir, out) {
        if c.kind != Kind::Dir {
            out.skipped.push(skip(
                "entry",
                &c.path,
                format!("a {}, not a submission directory", c.kind.describe()),
            ));
            continue;
        }
        match parse_submission(student, &c.name) {
            Ok(parsed) => out.submissions.push(OldSubmission {
                student: student.to_string(),
                assignment: parsed.assignment,
                timestamp: parsed.timestamp,
                random: Some(parsed.random),
                src: c.path,
                format: Format::PerStudent,
                note: parsed.warning,
            }),
            Err(why) => out.skipped.push(skip("submission", &c.path, why)),
        }
    }
}

/// `timestamp.txt` of a directory, as nbgrader wrote it (trailing newline dropped).
pub fn read_timestamp(dir: &Path) -> Option<String> {
    let bytes = walk::read_regular(&dir.join("timestamp.txt"), 4096).ok()??;
    let text = String::from_utf8(bytes).ok()?;
    let text = text.trim_end_matches(['\n', '\r']).to_string();
    (!text.is_empty()).then_some(text)
}

/// Parse nbgrader's `{student}+{assignment}+{timestamp}[+{random}]`. With the timestamp
/// from `timestamp.txt` the student id may hold `+`; without, it may not.
pub fn parse_nbgrader_name(name: &str, stamp: Option<&str>) -> Result<OldSubmission, String> {
    let (prefix, ts, random) = match stamp.and_then(|t| split_at_stamp(name, t)) {
        Some(parts) => parts,
        None => split_without_stamp(name).ok_or_else(|| {
            format!("{name:?} is not named {{student}}+{{assignment}}+{{timestamp}}+{{random}}")
        })?,
    };
    let (student, assignment) = prefix
        .rsplit_once('+')
        .ok_or_else(|| format!("{name:?} has no student and assignment before the timestamp"))?;
    if let Some(why) = problem(IdKind::Student, student) {
        return Err(format!(
            "student id {student:?} in {name:?} is not valid: {why}"
        ));
    }
    if let Some(why) = problem(IdKind::Assignment, assignment) {
        return Err(format!(
            "assignment id {assignment:?} in {name:?} is not valid: {why}"
        ));
    }
    Ok(OldSubmission {
        student: student.to_string(),
        assignment: assignment.to_string(),
        timestamp: ts.to_string(),
        random: random.map(str::to_string),
        src: PathBuf::new(),
        format: Format::Nbgrader,
        note: None,
    })
}

/// (prefix, timestamp, random) when `name` is `{prefix}+{stamp}[+{random}]`.
fn split_at_stamp<'a>(
    name: &'a str,
    stamp: &'a str,
) -> Option<(&'a str, &'a str, Option<&'a str>)> {
    if let Some(prefix) = name.strip_suffix(stamp).and_then(|p| p.strip_suffix('+')) {
        return Some((prefix, stamp, None));
    }
    let (head, random) = name.rsplit_once('+')?;
    let prefix = head.strip_suffix(stamp)?.strip_suffix('+')?;
    Some((prefix, stamp, Some(random)))
}

/// Without `timestamp.txt`: `{student}+{assignment}+{timestamp}[+{random}]` where neither id
/// holds a `+` and the timestamp reads.
fn split_without_stamp(name: &str) -> Option<(&str, &str, Option<&str>)> {
    let first = name.find('+')?;
    let second = first + 1 + name[first + 1..].find('+')?;
    let prefix = &name[..second];
    let rest = &name[second + 1..];
    if let Some((ts, random)) = rest.rsplit_once('+') {
        if timestamp::parse(ts).is_ok() {
            return Some((prefix, ts, Some(random)));
        }
    }
    timestamp::parse(rest)
        .is_ok()
        .then_some((prefix, rest, None))
}

fn nbgrader_feedback(dir: &Path, out: &mut OldCourse) {
    for c in list(dir, out) {
        if c.kind == Kind::File && c.name.ends_with(".html") {
            out.feedback.push(OldFeedback {
                src: c.path,
                name: c.name,
                student: None,
            });
        } else {
            out.skipped
                .push(skip("feedback", &c.path, "not a {hash}.html file".into()));
        }
    }
}

fn per_student_feedback(dir: &Path, out: &mut OldCourse) {
    for s in list(dir, out) {
        if s.kind != Kind::Dir || problem(IdKind::Student, &s.name).is_some() {
            out.skipped.push(skip(
                "feedback",
                &s.path,
                "not a student's feedback directory".into(),
            ));
            continue;
        }
        for c in list(&s.path, out) {
            if c.kind == Kind::File && c.name.ends_with(".html") {
                out.feedback.push(OldFeedback {
                    src: c.path,
                    name: c.name,
                    student: Some(s.name.clone()),
                });
            } else {
                out.skipped
                    .push(skip("feedback", &c.path, "not a {hash}.html file".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = "2024-03-01 12:00:00.000000 UTC";

    #[test]
    fn nbgrader_names() {
        let s = parse_nbgrader_name(&format!("alice+ps1+{TS}+Ab-_"), Some(TS)).unwrap();
        assert_eq!(
            (
                s.student.as_str(),
                s.assignment.as_str(),
                s.timestamp.as_str()
            ),
            ("alice", "ps1", TS)
        );
        assert_eq!(s.random.as_deref(), Some("Ab-_"));
        // A '+' in the student id and in the timestamp: timestamp.txt disambiguates.
        let ts = "2024-03-01 12:00:00 +0100";
        let s = parse_nbgrader_name(&format!("zoë+x@uni+ps1+{ts}+r"), Some(ts)).unwrap();
        assert_eq!(
            (s.student.as_str(), s.assignment.as_str()),
            ("zoë+x@uni", "ps1")
        );
        // No random part (Exchange.add_random_string off).
        let s = parse_nbgrader_name(&format!("bob+ps1+{TS}"), Some(TS)).unwrap();
        assert_eq!(s.random, None);
        // Without timestamp.txt.
        let s = parse_nbgrader_name(&format!("bob+ps1+{ts}+r"), None).unwrap();
        assert_eq!((s.timestamp.as_str(), s.random.as_deref()), (ts, Some("r")));
        let s = parse_nbgrader_name(&format!("bob+ps1+{TS}"), None).unwrap();
        assert_eq!((s.timestamp.as_str(), s.random), (TS, None));
        assert!(parse_nbgrader_name("alice", None).is_err());
        assert!(parse_nbgrader_name("alice+ps1+yesterday+r", None).is_err());
        assert!(parse_nbgrader_name(&format!(".x+ps1+{TS}+r"), Some(TS)).is_err());
    }
}
