//! Due dates and extensions (`exchange_core::deadlines`) for the plugin.

use std::path::PathBuf;

use exchange_core::deadlines::{self, Due, Extension};
use exchange_core::layout::display;
use exchange_core::timestamp;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::dict;
use crate::run;

/// Each assignment's due date for ``student`` in ``course``, from
/// ``outbound/.nbk8s-deadlines.json`` and (with ``student``) their own
/// ``feedback_public/{student}/.nbk8s-deadlines.json``; ``assignment`` narrows to one.
///
/// ``at`` (an nbgrader timestamp string; None = now) is the moment ``seconds_left`` and
/// ``late_by_seconds`` are measured from. Returns ``{"assignments": [{"assignment_id",
/// "due", "course_due", "extension", "seconds_left", "time_left", "late_by_seconds",
/// "late_by"}], "warnings"}``: times RFC 3339 UTC (None when there is no due date);
/// ``extension`` None or ``{"by_seconds": int | None, "until": str | None, "granted": str}``;
/// ``seconds_left`` is negative once the due date has passed; ``late_by_seconds`` is 0
/// when on time; ``time_left`` / ``late_by`` say the same for people (``2d 3h``). A garbled
/// file is a warning (its dates are ignored), never an error; only unsafe ids raise.
#[pyfunction]
#[pyo3(signature = (root, course, student=None, *, assignment=None, at=None))]
pub fn due_dates<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    student: Option<String>,
    assignment: Option<String>,
    at: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let (dues, now, warnings) = run(py, || {
        let now = match &at {
            Some(t) => timestamp::parse(t)?,
            None => chrono::Utc::now().naive_utc(),
        };
        let mut warnings = Vec::new();
        let c = deadlines::read_course(&root, &course, &mut warnings)?;
        let s = match &student {
            Some(s) => deadlines::read_student(&root, &course, s, &mut warnings)?,
            None => Default::default(),
        };
        let mut dues = deadlines::all_due(&c, &s);
        if let Some(a) = &assignment {
            exchange_core::ids::validate(exchange_core::ids::IdKind::Assignment, a)?;
            dues.retain(|d| &d.assignment == a);
            if dues.is_empty() {
                dues.push(Due::of(a, &c, &s));
            }
        }
        Ok((dues, now, warnings))
    })?;
    let items = dues
        .iter()
        .map(|d| due_info(py, d, now))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "assignments": PyList::new(py, items)?, "warnings": warnings }))
}

/// Each of ``students``' due date for ``assignment`` (their extension applied), read at
/// once: the course's file once, the students' files in parallel (``collect`` puts many
/// students' extensions into the gradebook). Returns ``{"students": {student: {the keys
/// of a due_dates entry}}, "warnings"}``, measured from now. Only unsafe ids raise.
#[pyfunction]
#[pyo3(signature = (root, course, assignment, students))]
pub fn students_due_dates<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    assignment: String,
    students: Vec<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let (dues, warnings) = run(py, || {
        let mut warnings = Vec::new();
        let dues = deadlines::students_due(&root, &course, &assignment, &students, &mut warnings)?;
        Ok((dues, warnings))
    })?;
    let now = chrono::Utc::now().naive_utc();
    let out = PyDict::new(py);
    for (student, due) in &dues {
        out.set_item(student, due_info(py, due, now)?)?;
    }
    Ok(dict!(py, { "students": out, "warnings": warnings }))
}

fn due_info<'py>(
    py: Python<'py>,
    d: &Due,
    now: chrono::NaiveDateTime,
) -> PyResult<Bound<'py, PyDict>> {
    let extension = match d.extension {
        None => None,
        Some(g) => {
            let (by, until) = match g.extension {
                Extension::By(secs) => (Some(secs), None),
                Extension::Until(t) => (None, Some(deadlines::rfc3339(&t))),
            };
            Some(dict!(py, {
                "by_seconds": by,
                "until": until,
                "granted": deadlines::rfc3339(&g.granted),
            }))
        }
    };
    let left = d.left(now);
    let late = d.late_by(now);
    Ok(dict!(py, {
        "assignment_id": &d.assignment,
        "due": d.due.as_ref().map(deadlines::rfc3339),
        "course_due": d.course_due.as_ref().map(deadlines::rfc3339),
        "extension": extension,
        "seconds_left": left.map(|l| l.num_milliseconds() as f64 / 1000.0),
        "time_left": left.map(deadlines::describe),
        "late_by_seconds": late.map(|l| l.num_milliseconds() as f64 / 1000.0),
        "late_by": late.map(deadlines::describe),
    }))
}

/// Set (``due`` any form nbgrader's timestamps take, read as UTC without a zone) or clear
/// (None) the course-wide due date of ``assignment`` in ``outbound/.nbk8s-deadlines.json``,
/// replaced by temp file + rename only when it changes. Returns ``{"path", "changed",
/// "warnings"}`` (warnings: what was wrong with the file it replaced).
#[pyfunction]
#[pyo3(signature = (root, course, assignment, due))]
pub fn publish_due_date<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    assignment: String,
    due: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let w = run(py, || {
        let due = due.as_deref().map(timestamp::parse).transpose()?;
        deadlines::publish_due(&root, &course, &assignment, due)
    })?;
    Ok(dict!(py, { "path": display(&w.path), "changed": w.changed, "warnings": w.warnings }))
}

/// Register the functions of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(due_dates, m)?)?;
    m.add_function(wrap_pyfunction!(students_due_dates, m)?)?;
    m.add_function(wrap_pyfunction!(publish_due_date, m)?)?;
    Ok(())
}
