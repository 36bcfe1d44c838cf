//! Due dates students can see and per-student extensions (docs/deadlines.md).
//!
//! Two files, under the reserved names of DESIGN.md, both written only from the instructor's
//! side and read by everyone else (the plugin's list, submit and collect, `nbgrader-k8s
//! status`, the notary):
//!
//! * `{course}/outbound/.nbk8s-deadlines.json` ([`CourseDeadlines`]): each assignment's
//!   course-wide due date, published from nbgrader's gradebook. Every student of the course
//!   reads it (`outbound` is mounted read-only in their pods).
//! * `{course}/feedback_public/{student}/.nbk8s-deadlines.json` ([`StudentDeadlines`]): that
//!   student's extensions only. Only their pod mounts that directory (read-only), so no student
//!   can see another's extension. This file is where extensions live: nbgrader's gradebook can
//!   only hold one once the student's submission row exists (after collect), so the plugin's
//!   collect copies it there.
//!
//! The rules live here and nowhere else: a student's effective due date ([`effective`]),
//! lateness ([`Due::late_by`]), how a duration is shown ([`describe`]), and how the files are
//! read (defensively: a garbled file is a warning, never a failure, [`read_course`],
//! [`read_student`]) and replaced (dot-named temp file + rename, never through a link,
//! [`publish_due`], [`set_extension`]).

mod json;
mod store;

use chrono::{Duration, NaiveDateTime};

pub use store::{
    publish_all_due, publish_due, read_course, read_student, set_extension, set_extensions,
    students_due,
};

/// The reserved file name, in `outbound/` and in `feedback_public/{student}/`.
pub const FILE_NAME: &str = ".nbk8s-deadlines.json";

/// The `version` both files carry; a reader refuses (warns about) any other.
pub const VERSION: u64 = 1;

/// How far an extension may reach, in days: `--by` at most this much, `--until` at most
/// this far from the course-wide due date (from the time of the grant when there is none).
/// Further is a typo (`--by 500000w`), refused where it is written and ignored, with a
/// warning, where a file holds it.
pub const HORIZON_DAYS: i64 = 366;

/// The horizon as a duration.
pub fn horizon() -> Duration {
    Duration::days(HORIZON_DAYS)
}

/// The first and last due date either file may hold (1970-01-01 to 9998-01-01 UTC): every
/// reader can show such a date in any time zone, an extension added (nbgrader's and
/// Python's datetimes end with year 9999).
pub fn readable(t: NaiveDateTime) -> bool {
    let earliest = chrono::DateTime::UNIX_EPOCH.naive_utc();
    let latest = chrono::NaiveDate::from_ymd_opt(9998, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(NaiveDateTime::MAX);
    (earliest..=latest).contains(&t)
}

/// Why a course-wide due date `due` cannot be published, or None.
pub fn due_problem(due: NaiveDateTime) -> Option<String> {
    (!readable(due)).then(|| {
        format!(
            "due date {} is out of range: due dates lie between 1970 and 9998",
            rfc3339(&due)
        )
    })
}

/// Why `extension` cannot be granted on an assignment whose course-wide due date is
/// `course_due`, at `now`, or None: beyond the [horizon](HORIZON_DAYS), or a date no reader
/// can use.
pub fn extension_problem(
    course_due: Option<NaiveDateTime>,
    extension: Extension,
    now: NaiveDateTime,
) -> Option<String> {
    match extension {
        Extension::By(secs) if secs < 0 => Some("an extension cannot be negative".into()),
        Extension::By(secs) if secs > horizon().num_seconds() => Some(format!(
            "an extension of {} is beyond the horizon: at most {HORIZON_DAYS} days past the \
             course-wide due date",
            Duration::try_seconds(secs).map_or_else(|| format!("{secs}s"), describe)
        )),
        Extension::By(_) => None,
        Extension::Until(t) => {
            let (from, what) = match course_due {
                Some(d) => (d, "the course-wide due date"),
                None => (now, "now (there is no course-wide due date)"),
            };
            let off = t.signed_duration_since(from);
            if !readable(t) || off.abs() > horizon() {
                Some(format!(
                    "due date {} is beyond the horizon: at most {HORIZON_DAYS} days from {what}, \
                     {}",
                    rfc3339(&t),
                    rfc3339(&from)
                ))
            } else {
                None
            }
        }
    }
}

/// An extension as granted: relative to the course-wide due date (like nbgrader's
/// `SubmittedAssignment.extension`, so it moves with a changed due date), or a fixed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// Extra time after the course-wide due date (`--by`), in seconds.
    By(i64),
    /// A due date of its own (`--until`), naive UTC.
    Until(NaiveDateTime),
}

/// One extension with when it was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// What was granted.
    pub extension: Extension,
    /// When (naive UTC).
    pub granted: NaiveDateTime,
}

/// `outbound/.nbk8s-deadlines.json`: course-wide due dates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CourseDeadlines {
    /// Assignment id -> due date (naive UTC). Assignments without one are absent.
    pub due: std::collections::BTreeMap<String, NaiveDateTime>,
    /// When the file was last written.
    pub updated: Option<NaiveDateTime>,
}

/// `feedback_public/{student}/.nbk8s-deadlines.json`: one student's extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudentDeadlines {
    /// Assignment id -> the extension.
    pub extensions: std::collections::BTreeMap<String, Granted>,
    /// When the file was last written.
    pub updated: Option<NaiveDateTime>,
}

/// One student's due date for one assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Assignment id.
    pub assignment: String,
    /// The course-wide due date.
    pub course_due: Option<NaiveDateTime>,
    /// The student's extension, if any.
    pub extension: Option<Granted>,
    /// The due date that holds for this student ([`effective`]).
    pub due: Option<NaiveDateTime>,
}

impl Due {
    /// The due date of `assignment` for a student with these files.
    pub fn of(assignment: &str, course: &CourseDeadlines, student: &StudentDeadlines) -> Due {
        let course_due = course.due.get(assignment).copied();
        let extension = student.extensions.get(assignment).copied();
        Due {
            assignment: assignment.to_string(),
            course_due,
            extension,
            due: effective(course_due, extension.map(|g| g.extension)),
        }
    }

    /// How late something at `at` is: None when there is no due date, zero when on time
    /// (at or before the due date, as nbgrader's `total_seconds_late` counts).
    pub fn late_by(&self, at: NaiveDateTime) -> Option<Duration> {
        self.due.map(|due| (at - due).max(Duration::zero()))
    }

    /// Time from `now` to the due date (negative once it has passed); None without one.
    pub fn left(&self, now: NaiveDateTime) -> Option<Duration> {
        self.due.map(|due| due - now)
    }
}

/// Every assignment with a course-wide due date or an extension, with this student's due date.
pub fn all_due(course: &CourseDeadlines, student: &StudentDeadlines) -> Vec<Due> {
    let mut names: std::collections::BTreeSet<&String> = course.due.keys().collect();
    names.extend(student.extensions.keys());
    names
        .into_iter()
        .map(|a| Due::of(a, course, student))
        .collect()
}

/// The due date that holds for a student: `Until` is its own date; `By` adds to the
/// course-wide one (and without a course-wide due date there is none to extend).
pub fn effective(
    course_due: Option<NaiveDateTime>,
    extension: Option<Extension>,
) -> Option<NaiveDateTime> {
    match extension {
        Some(Extension::Until(t)) => Some(t),
        Some(Extension::By(secs)) => {
            let secs = Duration::try_seconds(secs)?;
            course_due.and_then(|d| d.checked_add_signed(secs))
        }
        None => course_due,
    }
}

/// The extension as an interval after the course-wide due date: what nbgrader's
/// `Gradebook.grant_extension` stores. None when there is nothing to store (no extension,
/// or an `Until` without a course-wide due date to measure from).
pub fn as_interval(course_due: Option<NaiveDateTime>, extension: Option<Extension>) -> Option<i64> {
    match extension? {
        Extension::By(secs) => Some(secs),
        Extension::Until(t) => course_due.map(|d| (t - d).num_seconds()),
    }
}

/// A duration for people: `2d 3h`, `3h 5m`, `4m 10s`, `12s` (two units at most; the sign
/// is dropped, the caller says "left" or "ago").
pub fn describe(d: Duration) -> String {
    let secs = d.num_seconds().unsigned_abs();
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// RFC 3339 UTC with microseconds, as both files write times.
pub fn rfc3339(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// An RFC 3339 time (any offset) as naive UTC.
pub fn parse_rfc3339(text: &str) -> Option<NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.naive_utc())
}

#[cfg(test)]
mod tests;
