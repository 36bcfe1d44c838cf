//! What the notary confirmed to a student, beside their own record of each submission:
//! `nbgrader list --cached` shows "sealed at T" from this. One small read per course (the
//! confirmation file in `feedback_public/{student}/`), nothing else over the network.

use std::path::Path;

use crate::error::Result;
use crate::ids::{validate, IdKind};
use crate::layout::{absolute, Course};
use crate::receipt::short;
use crate::seals::{format_time, record_head, Confirmations};

use super::courses_under;
use super::list::cached_entries;
use super::submit::RECEIPT_FILE;

/// The sealed status of one of the student's cached submissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealStatus {
    /// Course id.
    pub course_id: String,
    /// Assignment id.
    pub assignment_id: String,
    /// The timestamp string (the cache entry's).
    pub timestamp: String,
    /// `sealed`, `changed`, `vanished` (the notary's), or `not_sealed_yet` (a confirmation
    /// file exists but does not list it).
    pub state: String,
    /// When it was sealed (RFC 3339), if it was.
    pub sealed: Option<String>,
    /// The receipt the notary sealed (short form), if it was.
    pub sealed_receipt: Option<String>,
    /// The receipt `submit` kept (short form), if the cache has one.
    pub receipt: Option<String>,
    /// Both receipts are known and differ: what was sealed is not what was handed in.
    pub receipt_differs: bool,
}

/// Statuses and warnings.
#[derive(Debug, Clone, Default)]
pub struct StudentSeals {
    /// One per cached submission of a course with a confirmation file, sorted.
    pub seals: Vec<SealStatus>,
    /// Unreadable confirmation files, heads that could not be recorded.
    pub warnings: Vec<String>,
}

/// The sealed status of `student`'s cached submissions (of `assignment`, if given) in
/// `courses` (None = every course in the cache). Each confirmation file read whose chain
/// head is new is appended to `{cache}/{course}/.nbk8s-heads.jsonl`, stamped `now`.
pub fn student_seals(
    root: &Path,
    cache: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    student: &str,
    now: &str,
) -> Result<StudentSeals> {
    validate(IdKind::Student, student)?;
    let cache = absolute(cache);
    let mut out = StudentSeals::default();
    for course_id in courses_under(&cache, courses)? {
        let course = Course::new(root, &course_id)?;
        let confirmations = match Confirmations::load(&course, student) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                out.warnings
                    .push(format!("the notary's confirmations were not read: {e}"));
                continue;
            }
        };
        let cache_course = cache.join(&course_id);
        if let Err(e) = record_head(&cache_course, &confirmations, now) {
            out.warnings
                .push(format!("the notary's chain head was not recorded: {e}"));
        }
        for (name, assignment_id, timestamp) in cached_entries(&cache_course, student) {
            if assignment.is_some_and(|a| a != assignment_id) {
                continue;
            }
            let kept = std::fs::read_to_string(cache_course.join(&name).join(RECEIPT_FILE))
                .ok()
                .map(|r| r.trim().to_string());
            let seal = confirmations.find(&assignment_id, &timestamp);
            out.seals.push(SealStatus {
                state: seal.map_or("not_sealed_yet".to_string(), |s| s.state.clone()),
                sealed: seal.map(|s| format_time(&s.sealed)),
                sealed_receipt: seal.map(|s| short(&s.receipt)),
                receipt: kept.as_deref().map(short),
                receipt_differs: matches!((seal, &kept), (Some(s), Some(k)) if &s.receipt != k),
                course_id: course_id.clone(),
                assignment_id,
                timestamp,
            });
        }
    }
    Ok(out)
}
