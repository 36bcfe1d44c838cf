//! Conversions between Python arguments/results and the core's types.

use exchange_core::layout::display;
use exchange_core::ops::collect::CollectRecord;
use exchange_core::ops::list::{
    NotebookFeedback, NotebookRef, ReleasedAssignment, Submission, SubmissionGroup,
};
use exchange_core::ops::remove::Removal;
use exchange_core::walk::{Filter, Limits};
use exchange_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::ExchangeCoreError;

/// The core error as an `ExchangeCoreError` with its `kind` attribute set.
pub fn to_py_err(py: Python<'_>, err: Error) -> PyErr {
    let py_err = ExchangeCoreError::new_err(err.to_string());
    if let Err(e) = py_err.value(py).setattr("kind", err.kind()) {
        return e;
    }
    py_err
}

/// Build a dict from `(key, value)` pairs. Keys are interned: a 5,000-student listing has
/// hundreds of thousands of dicts, and a fresh string per key was a third of its memory.
macro_rules! dict {
    ($py:expr, { $($key:literal : $value:expr),* $(,)? }) => {{
        let d = pyo3::types::PyDict::new($py);
        $( d.set_item(pyo3::intern!($py, $key), $value)?; )*
        d
    }};
}
pub(crate) use dict;

/// One cap from the `limits` dict: missing/None/0/negative = no cap.
fn cap(limits: &Bound<'_, PyDict>, key: &str) -> PyResult<u64> {
    let Some(value) = limits.get_item(key)? else {
        return Ok(0);
    };
    if value.is_none() {
        return Ok(0);
    }
    let number: f64 = value.extract()?;
    Ok(if number > 0.0 {
        number.ceil() as u64
    } else {
        0
    })
}

/// The `limits` dict of the pyi.
pub fn limits(limits: Option<&Bound<'_, PyDict>>) -> PyResult<Limits> {
    let Some(l) = limits else {
        return Ok(Limits::default());
    };
    Ok(Limits {
        max_file_size: cap(l, "max_file_size")?,
        max_dir_size: cap(l, "max_dir_size")?,
        max_files: cap(l, "max_files")?,
        max_depth: cap(l, "max_depth")?,
    })
}

/// `ignore` / `include` / `limits` as a walk filter.
pub fn filter(
    ignore: Vec<String>,
    include: Vec<String>,
    l: Option<&Bound<'_, PyDict>>,
) -> PyResult<Filter> {
    Ok(Filter {
        ignore,
        include,
        limits: limits(l)?,
    })
}

fn notebook_ref<'py>(py: Python<'py>, nb: &NotebookRef) -> PyResult<Bound<'py, PyDict>> {
    Ok(dict!(py, { "notebook_id": &nb.notebook_id, "path": &nb.path }))
}

/// A released assignment dict.
pub fn released<'py>(py: Python<'py>, a: &ReleasedAssignment) -> PyResult<Bound<'py, PyDict>> {
    let notebooks = a
        .notebooks
        .iter()
        .map(|nb| notebook_ref(py, nb))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, {
        "course_id": &a.course_id,
        "assignment_id": &a.assignment_id,
        "status": a.status,
        "path": &a.path,
        "notebooks": PyList::new(py, notebooks)?,
    }))
}

fn notebook_feedback<'py>(py: Python<'py>, nb: &NotebookFeedback) -> PyResult<Bound<'py, PyDict>> {
    Ok(dict!(py, {
        "notebook_id": &nb.notebook_id,
        "path": &nb.path,
        "has_local_feedback": nb.has_local_feedback,
        "has_exchange_feedback": nb.has_exchange_feedback,
        "local_feedback_path": nb.local_feedback_path.as_deref(),
        "feedback_updated": nb.feedback_updated,
    }))
}

fn submission<'py>(py: Python<'py>, s: &Submission) -> PyResult<Bound<'py, PyDict>> {
    let notebooks = s
        .notebooks
        .iter()
        .map(|nb| notebook_feedback(py, nb))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, {
        "course_id": &s.course_id,
        "student_id": &s.student_id,
        "assignment_id": &s.assignment_id,
        "timestamp": &s.timestamp,
        "status": s.status,
        "path": &s.path,
        "notebooks": PyList::new(py, notebooks)?,
        "has_local_feedback": s.has_local_feedback,
        "has_exchange_feedback": s.has_exchange_feedback,
        "feedback_updated": s.feedback_updated,
        "local_feedback_path": s.local_feedback_path.as_deref(),
    }))
}

/// A (course, student, assignment) group dict.
pub fn group<'py>(py: Python<'py>, g: &SubmissionGroup) -> PyResult<Bound<'py, PyDict>> {
    let subs = g
        .submissions
        .iter()
        .map(|s| submission(py, s))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, {
        "course_id": &g.course_id,
        "student_id": &g.student_id,
        "assignment_id": &g.assignment_id,
        "status": g.status,
        "submissions": PyList::new(py, subs)?,
    }))
}

/// A collect record dict.
pub fn record<'py>(py: Python<'py>, r: &CollectRecord) -> PyResult<Bound<'py, PyDict>> {
    Ok(dict!(py, {
        "student_id": &r.student_id,
        "timestamp": &r.timestamp,
        "source": &r.source,
        "dest": &r.dest,
        "action": r.action.as_str(),
    }))
}

/// `{"assignments": [...], "warnings": [...]}`.
pub fn listing<'py, T>(
    py: Python<'py>,
    items: &[T],
    warnings: &[String],
    each: impl Fn(Python<'py>, &T) -> PyResult<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let list = items
        .iter()
        .map(|i| each(py, i))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "assignments": PyList::new(py, list)?, "warnings": warnings }))
}

/// A removal as the pyi's ``Removal``.
pub fn removal<'py>(py: Python<'py>, r: &Removal) -> PyResult<Bound<'py, PyDict>> {
    let removed = r
        .removed
        .iter()
        .map(|x| -> PyResult<_> {
            Ok(dict!(py, {
                "course_id": &x.course_id,
                "student_id": &x.student_id,
                "assignment_id": &x.assignment_id,
                "timestamp": &x.timestamp,
                "path": display(&x.path),
                "moved_to": x.moved_to.as_deref().map(display),
            }))
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "removed": PyList::new(py, removed)?, "warnings": &r.warnings }))
}
