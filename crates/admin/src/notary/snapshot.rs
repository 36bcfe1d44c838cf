//! Deadline snapshots (docs/notary.md §1, §2; docs/deadlines.md): at each student's due date
//! plus a grace, the notary keeps a copy of their newest submission sealed on time, so a
//! later edit or deletion cannot change what `collect --before-duedate` takes.
//!
//! The due dates come from the files instructors publish (`outbound/.nbk8s-deadlines.json`,
//! `feedback_public/{s}/.nbk8s-deadlines.json`), read through `exchange_core::deadlines` and
//! re-read only when the directory holding them moved (a replaced file moves its
//! directory's times, which the pass looks at anyway): no extra round trip on an idle pass.
//! A snapshot is taken once per (student, assignment, due date); the ledger records it, so a
//! restart does not take it again, and an extension granted later (a new due date) gives a
//! new one at the new time.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{Duration, NaiveDateTime};
use exchange_core::backdate::{seal_refutes, DuePasses};
use exchange_core::deadlines::{self, CourseDeadlines, Due, StudentDeadlines};
use exchange_core::layout::Course;
use exchange_core::ops::place::replace_dir;
use exchange_core::receipt::Manifest;
use exchange_core::timestamp;
use serde_json::{json, Map, Value};

use super::log::log;
use super::observe::{record, Observed};
use super::publish::{real_dir, COPY_DIR};
use super::state::{CourseState, Seal, SealState};

/// The snapshot copies' directory in [`COPY_DIR`].
pub const DEADLINE_DIR: &str = "deadline";

/// The settings snapshots need.
#[derive(Debug, Clone, Copy)]
pub struct SnapSettings {
    /// Taken this long after the due date.
    pub grace: Duration,
    /// On time: sealed at most this long after the claimed time.
    pub tolerance: Duration,
}

/// The due dates of one course as last read.
#[derive(Debug, Default)]
pub struct DeadlineWatch {
    course: CourseDeadlines,
    students: HashMap<String, StudentDeadlines>,
    /// Warnings logged already (each once).
    warned: HashSet<String>,
}

impl DeadlineWatch {
    /// Re-read the deadline files whose directories this pass saw move.
    pub fn refresh(&mut self, root: &Path, course_id: &str, observed: &Observed) {
        let mut warnings = Vec::new();
        if observed.outbound_looked {
            if let Ok(d) = deadlines::read_course(root, course_id, &mut warnings) {
                self.course = d;
            }
        }
        for student in &observed.feedback_looked {
            if let Ok(d) = deadlines::read_student(root, course_id, student, &mut warnings) {
                if d == StudentDeadlines::default() {
                    self.students.remove(student);
                } else {
                    self.students.insert(student.clone(), d);
                }
            }
        }
        for w in warnings {
            if self.warned.insert(w.clone()) {
                log(
                    "warning",
                    "deadlines_unread",
                    json!({"course": course_id, "why": w}),
                );
            }
        }
    }

    /// Every due date of the course: course-wide and each student's own (extensions).
    pub fn due_times(&self) -> std::collections::BTreeSet<NaiveDateTime> {
        let mut out: std::collections::BTreeSet<_> = self.course.due.values().copied().collect();
        for theirs in self.students.values() {
            out.extend(
                deadlines::all_due(&self.course, theirs)
                    .into_iter()
                    .filter_map(|d| d.due),
            );
        }
        out
    }

    /// `student`'s due date for `assignment`.
    fn due(&self, student: &str, assignment: &str) -> Option<NaiveDateTime> {
        let none = StudentDeadlines::default();
        let theirs = self.students.get(student).unwrap_or(&none);
        Due::of(assignment, &self.course, theirs).due
    }

    /// The snapshots due at `now` and not taken yet, as ledger records (copies made).
    pub fn take(
        &self,
        course: &Course,
        state: &CourseState,
        settings: SnapSettings,
        now: NaiveDateTime,
    ) -> Vec<Map<String, Value>> {
        if self.course.due.is_empty() && self.students.is_empty() {
            return Vec::new();
        }
        let pairs: std::collections::BTreeSet<(&str, &str)> = state
            .seals
            .iter()
            .map(|((student, _), seal)| (student.as_str(), seal.assignment.as_str()))
            .collect();
        let mut out = Vec::new();
        for (student, assignment) in pairs {
            let Some(due) = self.due(student, assignment) else {
                continue;
            };
            let at = deadlines::rfc3339(&due);
            let key = (student.to_string(), assignment.to_string());
            let taken = state.snapshots.get(&key).is_some_and(|s| s.due == at);
            if taken || due + settings.grace > now {
                continue;
            }
            out.push(snapshot(course, state, student, assignment, due, settings));
        }
        out
    }
}

/// Whether `seal` counts as on time for `due`: claimed at or before it (as collect counts),
/// its seal not contradicting the claim (the rule collect and `status` use:
/// [`seal_refutes`], with the passes that covered due dates), and not gone (deleted,
/// removed) by then.
fn on_time(
    seal: &Seal,
    due: NaiveDateTime,
    tolerance: Duration,
    passes: &DuePasses,
) -> Option<NaiveDateTime> {
    let claimed = timestamp::parse(&seal.claimed).ok()?;
    let sealed = deadlines::parse_rfc3339(&seal.sealed)?;
    let tolerance = u64::try_from(tolerance.num_seconds()).unwrap_or(0);
    let gone_before = seal.state == SealState::Vanished
        && seal
            .changed_at
            .as_deref()
            .and_then(deadlines::parse_rfc3339)
            .is_some_and(|t| t <= due);
    let refuted = seal_refutes(claimed, sealed, tolerance, passes).is_some();
    (claimed <= due && !refuted && !gone_before).then_some(claimed)
}

/// Take the snapshot of `student`'s `assignment` for `due`: the record, with the copy made
/// (or the reason it could not be).
fn snapshot(
    course: &Course,
    state: &CourseState,
    student: &str,
    assignment: &str,
    due: NaiveDateTime,
    settings: SnapSettings,
) -> Map<String, Value> {
    let passes = state.covered();
    let chosen = state
        .seals_of(student)
        .filter(|(sub, seal)| {
            seal.assignment == assignment
                && !state
                    .removed
                    .contains(&(student.to_string(), sub.to_string()))
        })
        .filter_map(|(sub, seal)| {
            on_time(seal, due, settings.tolerance, &passes).map(|c| (c, sub, seal))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let mut fields = json!({"student": student, "assignment": assignment,
        "due": deadlines::rfc3339(&due), "submission": null, "receipt": null, "copy": null});
    let Some((_, sub, seal)) = chosen else {
        return record("deadline_snapshot", fields);
    };
    fields["submission"] = sub.into();
    fields["receipt"] = seal.receipt.as_str().into();
    let mut sources = Vec::new();
    if seal.state != SealState::Vanished {
        sources.push(course.inbound().join(student).join(sub));
    }
    if let Some(copy) = &seal.copy {
        sources.push(course.dir().join(COPY_DIR).join(copy));
    }
    let mut why = Vec::new();
    for src in sources {
        match keep(course, student, assignment, &src, &seal.receipt) {
            Ok(copy) => {
                fields["copy"] = copy.into();
                return record("deadline_snapshot", fields);
            }
            Err(e) => why.push(e),
        }
    }
    if why.is_empty() {
        why.push("it is gone and the notary kept no sealed copy of it".to_string());
    }
    fields["not_kept"] = why.join("; ").into();
    record("deadline_snapshot", fields)
}

/// Copy `src` to `{course}/.nbk8s-notary/deadline/{student}/{assignment}` (staged, checked
/// against `receipt`, then renamed over an older snapshot). Returns the copy's path
/// relative to `.nbk8s-notary/`.
fn keep(
    course: &Course,
    student: &str,
    assignment: &str,
    src: &Path,
    receipt: &str,
) -> Result<String, String> {
    let copies = course.dir().join(COPY_DIR);
    let parent = copies.join(DEADLINE_DIR).join(student);
    for dir in [copies.clone(), copies.join(DEADLINE_DIR), parent.clone()] {
        real_dir(&dir)?;
    }
    exchange_core::leftovers::sweep(&parent, exchange_core::leftovers::LEFTOVER_AGE);
    replace_dir(src, &parent, assignment, |staged| {
        let got = Manifest::of(staged, 0, 0).map(|m| m.receipt()).ok();
        match got.as_deref() == Some(receipt) {
            true => Ok(()),
            false => Err(format!("{} no longer matches its seal", src.display())),
        }
    })?;
    Ok(format!("{DEADLINE_DIR}/{student}/{assignment}"))
}

#[cfg(test)]
mod tests;
