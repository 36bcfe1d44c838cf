//! `collect`: copy each student's chosen submission into the instructor's course directory.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::copy::{copy_tree, CopyOptions};
use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::{display, Course};
use crate::names::SubmissionName;
use crate::safefs;
use crate::stage::{self, Staged};
use crate::timestamp;
use crate::walk::Filter;

use super::list::{student_dirs, submissions_of};
use super::{for_student, par_map, SMALL_FILE};

/// What happened to one student's submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Copied to a new destination.
    Collected,
    /// Replaced an older (or, before the due date, a different) copy.
    Updated,
    /// Destination exists and `update` was not asked for.
    Exists,
    /// `update` was asked for but the submission is not newer.
    NotNewer,
}

impl Action {
    /// The name Python sees.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Collected => "collected",
            Action::Updated => "updated",
            Action::Exists => "exists",
            Action::NotNewer => "not_newer",
        }
    }
}

/// One student's outcome.
#[derive(Debug, Clone)]
pub struct CollectRecord {
    /// Student id (the inbound directory).
    pub student_id: String,
    /// The chosen submission's timestamp string.
    pub timestamp: String,
    /// The submission directory.
    pub source: String,
    /// The destination directory.
    pub dest: String,
    /// What was done.
    pub action: Action,
}

/// What [`collect`] needs.
#[derive(Debug, Clone)]
pub struct CollectRequest<'a> {
    /// `Exchange.root`.
    pub root: &'a Path,
    /// Course id.
    pub course: &'a str,
    /// Assignment id.
    pub assignment: &'a str,
    /// Destination with one NUL where the student id goes.
    pub dest_template: &'a str,
    /// Student id or glob (None = all).
    pub students: Option<&'a str>,
    /// Replace older copies.
    pub update: bool,
    /// Prefer the newest submission at or before `duedate`.
    pub before_duedate: bool,
    /// Due date, ISO UTC.
    pub duedate: Option<&'a str>,
    /// ignore/include/limits.
    pub filter: Filter,
}

/// Collected records and warnings.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// One record per student with a submission, sorted by student.
    pub records: Vec<CollectRecord>,
    /// Skipped entries and students.
    pub warnings: Vec<String>,
}

/// A candidate submission with its parsed time.
#[derive(Debug, Clone)]
struct Candidate {
    name: String,
    timestamp: String,
    when: NaiveDateTime,
}

/// Collect (see the pyi).
pub fn collect(req: &CollectRequest<'_>) -> Result<Collected> {
    let course = Course::new(req.root, req.course)?;
    validate(IdKind::Assignment, req.assignment)?;
    if req.dest_template.matches('\0').count() != 1 {
        return Err(Error::InvalidArgument(
            "dest_template must hold exactly one NUL where the student id goes".into(),
        ));
    }
    let duedate = match (req.before_duedate, req.duedate) {
        (true, Some(d)) => Some(timestamp::parse(d)?),
        _ => None,
    };
    let mut out = Collected::default();
    let students = student_dirs(&course.inbound(), req.students, &mut out.warnings);
    let results = par_map(&students, |s| collect_student(req, &course, s, duedate));
    for (record, warnings) in results {
        out.records.extend(record);
        out.warnings.extend(warnings);
    }
    Ok(out)
}

fn collect_student(
    req: &CollectRequest<'_>,
    course: &Course,
    student: &str,
    duedate: Option<NaiveDateTime>,
) -> (Option<CollectRecord>, Vec<String>) {
    let mut warnings = Vec::new();
    let inbox = course.inbound().join(student);
    let found = submissions_of(&inbox, student, &mut warnings);
    let candidates = candidates(&inbox, student, req.assignment, found, &mut warnings);
    let Some(chosen) = choose(&candidates, duedate) else {
        return (None, warnings);
    };
    let source = inbox.join(&chosen.name);
    let dest = PathBuf::from(req.dest_template.replace('\0', student));
    match place(req, &source, &dest, chosen) {
        Ok((action, more)) => {
            warnings.extend(for_student(student, more));
            let record = CollectRecord {
                student_id: student.to_string(),
                timestamp: chosen.timestamp.clone(),
                source: display(&source),
                dest: display(&dest),
                action,
            };
            (Some(record), warnings)
        }
        Err(e) => {
            warnings.push(format!("student {student:?}: not collected: {e}"));
            (None, warnings)
        }
    }
}

/// The submissions of `assignment` whose timestamps read; the others are warned.
fn candidates(
    inbox: &Path,
    student: &str,
    assignment: &str,
    found: Vec<(String, SubmissionName)>,
    warnings: &mut Vec<String>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (name, parsed) in found {
        if parsed.assignment != assignment {
            continue;
        }
        match parsed.when {
            Some(when) => out.push(Candidate {
                name,
                timestamp: parsed.timestamp,
                when,
            }),
            None => warnings.push(format!(
                "student {student:?}: skipped {}: unreadable timestamp {:?}",
                inbox.join(&name).display(),
                parsed.timestamp
            )),
        }
    }
    out
}

/// The newest candidate; with a due date, the newest at or before it, if any.
fn choose(candidates: &[Candidate], duedate: Option<NaiveDateTime>) -> Option<&Candidate> {
    let order =
        |a: &&Candidate, b: &&Candidate| a.when.cmp(&b.when).then_with(|| a.name.cmp(&b.name));
    if let Some(due) = duedate {
        if let Some(c) = candidates.iter().filter(|c| c.when <= due).max_by(order) {
            return Some(c);
        }
    }
    candidates.iter().max_by(order)
}

/// Decide and, if needed, copy `source` to `dest` (staged beside it, then renamed in).
fn place(
    req: &CollectRequest<'_>,
    source: &Path,
    dest: &Path,
    chosen: &Candidate,
) -> Result<(Action, Vec<String>)> {
    let exists = safefs::lkind(dest)
        .map_err(|e| Error::io("inspect", dest, e))?
        .is_some();
    if exists {
        let existing = existing_timestamp(dest);
        let newer = existing.map_or(true, |t| chosen.when > t);
        let differs = existing != Some(chosen.when);
        if !((req.update && newer) || (req.before_duedate && differs)) {
            let action = if req.update {
                Action::NotNewer
            } else {
                Action::Exists
            };
            return Ok((action, Vec::new()));
        }
    }
    let parent = dest
        .parent()
        .ok_or_else(|| Error::InvalidArgument(format!("{} has no parent", dest.display())))?;
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    let staged = Staged::create(parent)?;
    let fd = safefs::open_dir(source, false).map_err(|e| Error::io("open", source, e))?;
    let opts = CopyOptions {
        filter: req.filter.clone(),
        skip_existing: false,
    };
    let mut report = copy_tree(fd, source, staged.path(), &opts)?;
    let stamp = staged.path().join("timestamp.txt");
    if !stamp.exists() {
        stage::write_file(&stamp, chosen.timestamp.as_bytes())?;
    }
    let name = dest
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let published = staged.publish(&name, true)?;
    report.warnings.extend(published.warning);
    let action = if exists {
        Action::Updated
    } else {
        Action::Collected
    };
    Ok((action, report.warnings))
}

/// `dest/timestamp.txt`, parsed; None when missing or unreadable.
fn existing_timestamp(dest: &Path) -> Option<NaiveDateTime> {
    let bytes = safefs::read_small(&dest.join("timestamp.txt"), SMALL_FILE).ok()??;
    timestamp::parse(String::from_utf8_lossy(&bytes).trim()).ok()
}

#[cfg(test)]
mod tests;
