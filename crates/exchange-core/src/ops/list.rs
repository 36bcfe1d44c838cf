//! `list_released`, `list_inbound`, `list_cached`: what nbgrader's `ExchangeList` reports.
//!
//! The shapes mirror nbgrader's default `ExchangeList.parse_assignments`, which JupyterLab's
//! Assignments tab and formgrader read: per-notebook feedback flags, aggregated with
//! all()/any(), submissions grouped by (course, student, assignment) and sorted by timestamp.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::ids::{problem, IdKind};
use crate::keys::md5_hex;
use crate::layout::{absolute, display, local_assignment, Course};
use crate::names::{parse_cache, parse_submission};
use crate::safefs::{self, Kind};
use crate::stage::is_ours;
use crate::walk::top_notebooks;

use super::{
    child_dirs, courses_under, feedback_keys, find_feedback, par_map, student_matches,
    SubmissionRef,
};

/// A notebook of a released assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookRef {
    /// File stem.
    pub notebook_id: String,
    /// Absolute path.
    pub path: String,
}

/// One released assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedAssignment {
    /// Course id.
    pub course_id: String,
    /// Assignment id.
    pub assignment_id: String,
    /// `"released"` or `"fetched"`.
    pub status: &'static str,
    /// The local copy when fetched, else the exchange path.
    pub path: String,
    /// Top-level notebooks of `path`.
    pub notebooks: Vec<NotebookRef>,
}

/// A notebook of a submission, with its feedback state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookFeedback {
    /// File stem.
    pub notebook_id: String,
    /// Absolute path.
    pub path: String,
    /// Feedback already fetched locally.
    pub has_local_feedback: bool,
    /// Feedback released in the exchange.
    pub has_exchange_feedback: bool,
    /// The local feedback file, when there is one.
    pub local_feedback_path: Option<String>,
    /// Both exist and differ.
    pub feedback_updated: bool,
}

/// One submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Course id.
    pub course_id: String,
    /// Student id.
    pub student_id: String,
    /// Assignment id.
    pub assignment_id: String,
    /// The timestamp string.
    pub timestamp: String,
    /// Always `"submitted"`.
    pub status: &'static str,
    /// The submission directory.
    pub path: String,
    /// Its top-level notebooks.
    pub notebooks: Vec<NotebookFeedback>,
    /// all() of the notebooks' (False without notebooks).
    pub has_local_feedback: bool,
    /// all() of the notebooks'.
    pub has_exchange_feedback: bool,
    /// any() of the notebooks'.
    pub feedback_updated: bool,
    /// The local feedback dir when `has_local_feedback`.
    pub local_feedback_path: Option<String>,
}

/// Submissions of one (course, student, assignment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionGroup {
    /// Course id.
    pub course_id: String,
    /// Student id.
    pub student_id: String,
    /// Assignment id.
    pub assignment_id: String,
    /// Always `"submitted"`.
    pub status: &'static str,
    /// Sorted by timestamp string.
    pub submissions: Vec<Submission>,
}

/// A listing and its warnings.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    /// The entries.
    pub assignments: Vec<T>,
    /// Skipped entries.
    pub warnings: Vec<String>,
}

/// Where a student's local work lives (for `fetched` and local feedback).
#[derive(Debug, Clone, Copy)]
pub struct LocalDirs<'a> {
    /// `Exchange.assignment_dir`.
    pub assignment_dir: &'a Path,
    /// `Exchange.path_includes_course`.
    pub path_includes_course: bool,
}

impl LocalDirs<'_> {
    fn assignment(&self, course: &str, assignment: &str) -> PathBuf {
        local_assignment(
            self.assignment_dir,
            course,
            assignment,
            self.path_includes_course,
        )
    }
}

fn notebook_refs(dir: &Path, follow: bool) -> Vec<NotebookRef> {
    top_notebooks(dir, follow)
        .into_iter()
        .map(|(id, p)| NotebookRef {
            notebook_id: id,
            path: display(&p),
        })
        .collect()
}

/// Released assignments (see the pyi).
pub fn list_released(
    root: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    local: LocalDirs<'_>,
) -> Result<Listing<ReleasedAssignment>> {
    let mut out = Listing {
        assignments: Vec::new(),
        warnings: Vec::new(),
    };
    for course_id in courses_under(root, courses)? {
        let course = Course::new(root, &course_id)?;
        for name in child_dirs(&course.outbound(), false) {
            if assignment.is_some_and(|a| a != name) || problem(IdKind::Assignment, &name).is_some()
            {
                continue;
            }
            let local_dir = local.assignment(&course_id, &name);
            let (status, path, follow) = if local_dir.exists() {
                ("fetched", local_dir, true)
            } else {
                ("released", course.release(&name), false)
            };
            out.assignments.push(ReleasedAssignment {
                course_id: course_id.clone(),
                assignment_id: name,
                status,
                notebooks: notebook_refs(&path, follow),
                path: display(&path),
            });
        }
    }
    Ok(out)
}

/// Assemble a submission from its notebooks (nbgrader's all()/any() aggregation).
fn submission(
    sub: &SubmissionRef<'_>,
    notebooks: Vec<NotebookFeedback>,
    local_feedback_dir: Option<PathBuf>,
) -> Submission {
    let any_nb = !notebooks.is_empty();
    let has_local = any_nb && notebooks.iter().all(|n| n.has_local_feedback);
    Submission {
        course_id: sub.course.to_string(),
        student_id: sub.student.to_string(),
        assignment_id: sub.assignment.to_string(),
        timestamp: sub.timestamp.to_string(),
        status: "submitted",
        path: display(sub.dir),
        has_local_feedback: has_local,
        has_exchange_feedback: any_nb && notebooks.iter().all(|n| n.has_exchange_feedback),
        feedback_updated: notebooks.iter().any(|n| n.feedback_updated),
        local_feedback_path: local_feedback_dir
            .filter(|_| has_local)
            .map(|p| display(&p)),
        notebooks,
    }
}

/// The feedback state of each top-level notebook of `sub`; `local_dir` is the local
/// `feedback/{timestamp}` dir (None for the instructor's inbound view).
fn notebooks_with_feedback(
    sub: &SubmissionRef<'_>,
    feedback_public: &Path,
    local_dir: Option<&Path>,
    follow: bool,
) -> Vec<NotebookFeedback> {
    top_notebooks(sub.dir, follow)
        .into_iter()
        .map(|(id, nb_path)| {
            let keys = feedback_keys(sub, &id, &nb_path);
            let exchange = find_feedback(feedback_public, &keys);
            let local = local_dir
                .map(|d| d.join(format!("{id}.html")))
                .filter(|p| p.is_file());
            let updated = match (&local, &exchange) {
                (Some(l), Some(e)) => checksum(l) != checksum(e),
                _ => false,
            };
            NotebookFeedback {
                notebook_id: id,
                path: display(&nb_path),
                has_local_feedback: local.is_some(),
                has_exchange_feedback: exchange.is_some(),
                local_feedback_path: local.map(|p| display(&p)),
                feedback_updated: updated,
            }
        })
        .collect()
}

fn checksum(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| md5_hex(&b))
}

/// Group submissions by (course, student, assignment), sorted, each group by timestamp.
fn group(mut subs: Vec<Submission>) -> Vec<SubmissionGroup> {
    subs.sort_by(|a, b| {
        (&a.course_id, &a.student_id, &a.assignment_id, &a.timestamp).cmp(&(
            &b.course_id,
            &b.student_id,
            &b.assignment_id,
            &b.timestamp,
        ))
    });
    let mut groups: Vec<SubmissionGroup> = Vec::new();
    for sub in subs {
        match groups.last_mut() {
            Some(g)
                if g.course_id == sub.course_id
                    && g.student_id == sub.student_id
                    && g.assignment_id == sub.assignment_id =>
            {
                g.submissions.push(sub)
            }
            _ => groups.push(SubmissionGroup {
                course_id: sub.course_id.clone(),
                student_id: sub.student_id.clone(),
                assignment_id: sub.assignment_id.clone(),
                status: "submitted",
                submissions: vec![sub],
            }),
        }
    }
    groups
}

/// Submissions in the exchange (see the pyi).
pub fn list_inbound(
    root: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    student: Option<&str>,
) -> Result<Listing<SubmissionGroup>> {
    let mut subs = Vec::new();
    let mut warnings = Vec::new();
    for course_id in courses_under(root, courses)? {
        let course = Course::new(root, &course_id)?;
        let students = student_dirs(&course.inbound(), student, &mut warnings);
        let per_student = par_map(&students, |s| {
            inbound_of(&course, &course_id, s, assignment)
        });
        for (found, warned) in per_student {
            subs.extend(found);
            warnings.extend(warned);
        }
    }
    Ok(Listing {
        assignments: group(subs),
        warnings,
    })
}

/// Student directories in `inbound/` matching `filter`; symlinks and files are warned.
pub(crate) fn student_dirs(
    inbound: &Path,
    filter: Option<&str>,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(inbound) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let Ok(name) = entry.file_name().into_string() else {
            warnings.push(format!(
                "skipped {}: name is not UTF-8",
                entry.path().display()
            ));
            continue;
        };
        if is_ours(&name) || !student_matches(filter, &name) {
            continue;
        }
        match safefs::lkind(&entry.path()) {
            Ok(Some(Kind::Dir)) => names.push(name),
            Ok(Some(kind)) => warnings.push(format!(
                "student {name:?}: skipped {}: a {}, not a directory",
                entry.path().display(),
                kind.describe()
            )),
            _ => {}
        }
    }
    names.sort();
    names
}

/// A student's submission directories: (name, parsed) for each well-formed entry.
pub(crate) fn submissions_of(
    inbox: &Path,
    student: &str,
    warnings: &mut Vec<String>,
) -> Vec<(String, crate::names::SubmissionName)> {
    let fd = match safefs::open_dir(inbox, false) {
        Ok(fd) => fd,
        Err(e) => {
            warnings.push(format!(
                "student {student:?}: cannot open {} ({e})",
                inbox.display()
            ));
            return Vec::new();
        }
    };
    let names = safefs::read_names(std::os::fd::AsFd::as_fd(&fd)).unwrap_or_default();
    let mut out = Vec::new();
    for name in names {
        let Some(name) = name.to_str().map(str::to_string) else {
            continue;
        };
        if is_ours(&name) {
            continue;
        }
        let path = inbox.join(&name);
        let kind =
            safefs::stat_at(std::os::fd::AsFd::as_fd(&fd), name.as_ref()).map(|s| Kind::of(&s));
        if !matches!(kind, Ok(Kind::Dir)) {
            let what = kind.map(|k| k.describe()).unwrap_or("unreadable");
            warnings.push(format!(
                "student {student:?}: skipped {} (a {what})",
                path.display()
            ));
            continue;
        }
        match parse_submission(student, &name) {
            Ok(parsed) => {
                if let Some(w) = &parsed.warning {
                    warnings.push(w.clone());
                }
                out.push((name, parsed));
            }
            Err(why) => warnings.push(format!(
                "student {student:?}: skipped {}: {why}",
                path.display()
            )),
        }
    }
    out
}

fn inbound_of(
    course: &Course,
    course_id: &str,
    student: &str,
    assignment: Option<&str>,
) -> (Vec<Submission>, Vec<String>) {
    let mut warnings = Vec::new();
    let inbox = course.inbound().join(student);
    let feedback_public = course.feedback_public().join(student);
    let mut subs = Vec::new();
    for (name, parsed) in submissions_of(&inbox, student, &mut warnings) {
        if assignment.is_some_and(|a| a != parsed.assignment) {
            continue;
        }
        let dir = inbox.join(&name);
        let sub = SubmissionRef {
            course: course_id,
            student,
            assignment: &parsed.assignment,
            timestamp: &parsed.timestamp,
            dir: &dir,
        };
        let notebooks = notebooks_with_feedback(&sub, &feedback_public, None, false);
        subs.push(submission(&sub, notebooks, None));
    }
    (subs, warnings)
}

/// The student's own submissions from the local cache (see the pyi).
pub fn list_cached(
    root: &Path,
    cache: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    student: &str,
    local: LocalDirs<'_>,
) -> Result<Listing<SubmissionGroup>> {
    crate::ids::validate(IdKind::Student, student)?;
    let cache = absolute(cache);
    let mut subs = Vec::new();
    for course_id in courses_under(&cache, courses)? {
        let course = Course::new(root, &course_id)?;
        let feedback_public = course.feedback_public().join(student);
        for entry in cached_entries(&cache.join(&course_id), student) {
            let (name, assignment_id, timestamp) = entry;
            if assignment.is_some_and(|a| a != assignment_id) {
                continue;
            }
            let dir = cache.join(&course_id).join(&name);
            let sub = SubmissionRef {
                course: &course_id,
                student,
                assignment: &assignment_id,
                timestamp: &timestamp,
                dir: &dir,
            };
            let local_dir = local
                .assignment(&course_id, &assignment_id)
                .join("feedback")
                .join(&timestamp);
            let notebooks = notebooks_with_feedback(&sub, &feedback_public, Some(&local_dir), true);
            subs.push(submission(&sub, notebooks, Some(local_dir)));
        }
    }
    Ok(Listing {
        assignments: group(subs),
        warnings: Vec::new(),
    })
}

/// `(name, assignment, timestamp)` of the student's entries in `{cache}/{course}`.
pub(crate) fn cached_entries(dir: &Path, student: &str) -> Vec<(String, String, String)> {
    child_dirs(dir, true)
        .into_iter()
        .filter_map(|name| {
            let (assignment, ts) = parse_cache(student, &name)?;
            Some((name, assignment, ts))
        })
        .collect()
}

#[cfg(test)]
mod tests;
