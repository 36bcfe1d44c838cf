//! `nbgrader_k8s_exchange._core`: thin PyO3 wrappers over `exchange_core`.
//!
//! Each function converts its arguments, releases the GIL while the core touches the
//! filesystem, and converts the result to the dicts `_core.pyi` documents. Core errors
//! become `ExchangeCoreError` with a `kind` attribute.

#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use exchange_core::ids::{validate, IdKind};
use exchange_core::layout::{display, LocalDirs};
use exchange_core::ops::{
    collect as collect_op, feedback, fetch, list, provision, release, submit as submit_op,
};
use exchange_core::{keys, mounts, timestamp};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

mod convert;
use convert::{dict, filter, to_py_err};

create_exception!(
    nbgrader_k8s_exchange._core,
    ExchangeCoreError,
    PyException,
    "Any failure of the core; `kind` is a short machine name."
);

/// Run `f` without the GIL and turn its error into `ExchangeCoreError`.
fn run<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> exchange_core::Result<T> + Send,
) -> PyResult<T> {
    py.detach(f).map_err(|e| to_py_err(py, e))
}

#[pyfunction]
fn validate_id(py: Python<'_>, kind: &str, value: &str) -> PyResult<()> {
    let kind = IdKind::parse(kind).map_err(|e| to_py_err(py, e))?;
    validate(kind, value).map_err(|e| to_py_err(py, e))
}

#[pyfunction]
fn parse_timestamp(py: Python<'_>, value: &str) -> PyResult<String> {
    let parsed = timestamp::parse(value).map_err(|e| to_py_err(py, e))?;
    Ok(timestamp::to_iso(&parsed))
}

/// The keys a submission's notebook's feedback is released under, best first
/// ([`keys::feedback_keys`], the one rule every operation uses).
#[pyfunction]
#[pyo3(signature = (course, assignment, notebook_id, student, timestamp, *, secret=None, notebook_path=None))]
fn feedback_keys(
    py: Python<'_>,
    course: &str,
    assignment: &str,
    notebook_id: &str,
    student: &str,
    timestamp: &str,
    secret: Option<&str>,
    notebook_path: Option<PathBuf>,
) -> Vec<String> {
    let input = keys::KeyInput {
        course,
        assignment,
        notebook_id,
        student,
        timestamp,
        secret,
    };
    py.detach(|| keys::feedback_keys(&input, || std::fs::read(notebook_path?).ok()))
}

/// `{assignment_dir}/[{course}/]{assignment}`: where a student's copy of an assignment lives.
#[pyfunction]
fn local_assignment_path(
    assignment_dir: PathBuf,
    path_includes_course: bool,
    course: &str,
    assignment: &str,
) -> String {
    let local = LocalDirs {
        assignment_dir: &assignment_dir,
        path_includes_course,
    };
    display(&local.assignment(course, assignment))
}

#[pyfunction]
#[pyo3(signature = (root, course, assignment, source, *, force=false, ignore=Vec::new(), include=vec!["*".to_string()], limits=None))]
#[allow(clippy::too_many_arguments)]
fn release_assignment<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    assignment: String,
    source: PathBuf,
    force: bool,
    ignore: Vec<String>,
    include: Vec<String>,
    limits: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let filter = filter(ignore, include, limits)?;
    let r = run(py, || {
        release::release_assignment(&root, &course, &assignment, &source, force, &filter)
    })?;
    Ok(dict!(py, {
        "path": display(&r.path),
        "replaced": r.replaced,
        "files": r.files,
        "warnings": r.warnings,
    }))
}

#[pyfunction]
fn unrelease_assignment<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    assignment: String,
) -> PyResult<Bound<'py, PyDict>> {
    let r = run(py, || {
        release::unrelease_assignment(&root, &course, &assignment)
    })?;
    Ok(dict!(py, { "path": display(&r.path), "removed": r.removed, "warnings": r.warnings }))
}

#[pyfunction]
fn list_released<'py>(
    py: Python<'py>,
    root: PathBuf,
    courses: Option<Vec<String>>,
    assignment: Option<String>,
    assignment_dir: PathBuf,
    path_includes_course: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let local = LocalDirs {
        assignment_dir: &assignment_dir,
        path_includes_course,
    };
    let r = run(py, || {
        list::list_released(&root, courses.as_deref(), assignment.as_deref(), local)
    })?;
    convert::listing(py, &r.assignments, &r.warnings, convert::released)
}

#[pyfunction]
#[pyo3(signature = (root, course, assignment, dest, *, replace_missing=false, ignore=Vec::new()))]
fn fetch_assignment<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    assignment: String,
    dest: PathBuf,
    replace_missing: bool,
    ignore: Vec<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let r = run(py, || {
        fetch::fetch_assignment(&root, &course, &assignment, &dest, replace_missing, &ignore)
    })?;
    Ok(dict!(py, { "path": display(&r.path), "created": r.created, "warnings": r.warnings }))
}

#[pyfunction]
#[pyo3(signature = (root, course, student, assignment, source, timestamp, cache, *, strict=false, ignore=Vec::new(), include=vec!["*".to_string()], limits=None))]
#[allow(clippy::too_many_arguments)]
fn submit<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    student: String,
    assignment: String,
    source: PathBuf,
    timestamp: String,
    cache: PathBuf,
    strict: bool,
    ignore: Vec<String>,
    include: Vec<String>,
    limits: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let req = submit_op::SubmitRequest {
        root: &root,
        course: &course,
        student: &student,
        assignment: &assignment,
        source: &source,
        timestamp: &timestamp,
        cache: &cache,
        strict,
        filter: filter(ignore, include, limits)?,
    };
    let r = run(py, || submit_op::submit(&req))?;
    Ok(dict!(py, {
        "name": r.name,
        "path": display(&r.path),
        "cache_path": display(&r.cache_path),
        "timestamp": r.timestamp,
        "warnings": r.warnings,
    }))
}

#[pyfunction]
#[pyo3(signature = (root, courses, assignment, student, *, backdate_tolerance=None))]
fn list_inbound<'py>(
    py: Python<'py>,
    root: PathBuf,
    courses: Option<Vec<String>>,
    assignment: Option<String>,
    student: Option<String>,
    backdate_tolerance: Option<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let r = run(py, || {
        list::list_inbound(
            &root,
            courses.as_deref(),
            assignment.as_deref(),
            student.as_deref(),
            backdate_tolerance,
        )
    })?;
    convert::listing(py, &r.assignments, &r.warnings, convert::group)
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn list_cached<'py>(
    py: Python<'py>,
    root: PathBuf,
    cache: PathBuf,
    courses: Option<Vec<String>>,
    assignment: Option<String>,
    student: String,
    assignment_dir: PathBuf,
    path_includes_course: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let local = LocalDirs {
        assignment_dir: &assignment_dir,
        path_includes_course,
    };
    let r = run(py, || {
        list::list_cached(
            &root,
            &cache,
            courses.as_deref(),
            assignment.as_deref(),
            &student,
            local,
        )
    })?;
    convert::listing(py, &r.assignments, &r.warnings, convert::group)
}

#[pyfunction]
#[pyo3(signature = (root, course, assignment, dest_template, *, students=None, update=false, before_duedate=false, duedate=None, ignore=Vec::new(), include=vec!["*".to_string()], limits=None, backdate_tolerance=None))]
#[allow(clippy::too_many_arguments)]
fn collect<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    assignment: String,
    dest_template: String,
    students: Option<String>,
    update: bool,
    before_duedate: bool,
    duedate: Option<String>,
    ignore: Vec<String>,
    include: Vec<String>,
    limits: Option<&Bound<'py, PyDict>>,
    backdate_tolerance: Option<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let req = collect_op::CollectRequest {
        root: &root,
        course: &course,
        assignment: &assignment,
        dest_template: &dest_template,
        students: students.as_deref(),
        update,
        before_duedate,
        duedate: duedate.as_deref(),
        filter: filter(ignore, include, limits)?,
        backdate_tolerance,
    };
    let r = run(py, || collect_op::collect(&req))?;
    let records = r
        .records
        .iter()
        .map(|x| convert::record(py, x))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "records": PyList::new(py, records)?, "warnings": r.warnings }))
}

#[pyfunction]
fn release_feedback<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    assignment: String,
    items: Vec<(String, PathBuf, Option<PathBuf>)>,
) -> PyResult<Bound<'py, PyDict>> {
    let items: Vec<feedback::FeedbackItem> = items
        .into_iter()
        .map(
            |(student, feedback_dir, submitted_dir)| feedback::FeedbackItem {
                student,
                feedback_dir,
                submitted_dir,
            },
        )
        .collect();
    let r = run(py, || {
        feedback::release_feedback(&root, &course, &assignment, &items)
    })?;
    let released = r
        .released
        .iter()
        .map(|x| {
            Ok(dict!(py, {
                "student_id": &x.student_id,
                "notebook_id": &x.notebook_id,
                "key": &x.key,
                "path": &x.path,
            }))
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "released": PyList::new(py, released)?, "warnings": r.warnings }))
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn fetch_feedback<'py>(
    py: Python<'py>,
    root: PathBuf,
    cache: PathBuf,
    course: String,
    student: String,
    assignment: Option<String>,
    assignment_dir: PathBuf,
    path_includes_course: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let target = LocalDirs {
        assignment_dir: &assignment_dir,
        path_includes_course,
    };
    let r = run(py, || {
        feedback::fetch_feedback(
            &root,
            &cache,
            &course,
            &student,
            assignment.as_deref(),
            target,
        )
    })?;
    let item = |x: &feedback::FetchedFeedback| -> PyResult<Bound<'py, PyDict>> {
        let d = dict!(py, {
            "assignment_id": &x.assignment_id,
            "notebook_id": &x.notebook_id,
            "timestamp": &x.timestamp,
        });
        if let Some(path) = &x.path {
            d.set_item("path", path)?;
        }
        Ok(d)
    };
    let fetched = r.fetched.iter().map(item).collect::<PyResult<Vec<_>>>()?;
    let missing = r.missing.iter().map(item).collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, {
        "fetched": PyList::new(py, fetched)?,
        "missing": PyList::new(py, missing)?,
        "warnings": r.warnings,
    }))
}

type MountLists<'py> = (Bound<'py, PyList>, Bound<'py, PyList>);

#[pyfunction]
#[pyo3(signature = (username, student_courses, instructor_courses, *, claim_name=mounts::DEFAULT_CLAIM_NAME.to_string(), mount_root=mounts::DEFAULT_MOUNT_ROOT.to_string()))]
fn exchange_mounts<'py>(
    py: Python<'py>,
    username: String,
    student_courses: Vec<String>,
    instructor_courses: Vec<String>,
    claim_name: String,
    mount_root: String,
) -> PyResult<MountLists<'py>> {
    let found = mounts::pod_mounts(
        &username,
        &student_courses,
        &instructor_courses,
        &claim_name,
        &mount_root,
    )
    .map_err(|e| to_py_err(py, e))?;
    let volumes = found
        .claim_name
        .iter()
        .map(|claim| {
            let claim = dict!(py, { "claimName": claim });
            Ok(dict!(py, { "name": mounts::VOLUME_NAME, "persistentVolumeClaim": claim }))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let list = found
        .mounts
        .iter()
        .map(|m| {
            let d = dict!(py, {
                "name": mounts::VOLUME_NAME,
                "mountPath": &m.mount_path,
                "subPath": &m.sub_path,
            });
            if m.read_only {
                d.set_item("readOnly", true)?;
            }
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok((PyList::new(py, volumes)?, PyList::new(py, list)?))
}

#[pyfunction]
#[pyo3(signature = (root, course, students, *, uid=1000, gid=100))]
fn provision_course<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    students: Vec<String>,
    uid: u32,
    gid: u32,
) -> PyResult<Bound<'py, PyDict>> {
    let r = run(py, || {
        provision::provision_course(Path::new(&root), &course, &students, uid, gid)
    })?;
    let entries = r
        .entries
        .iter()
        .map(|e| Ok(dict!(py, { "path": &e.path, "outcome": e.outcome, "detail": &e.detail })))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "entries": PyList::new(py, entries)?, "warnings": r.warnings }))
}

/// `nbgrader-k8s ARGV...`: the admin CLI (crate `admin`), for the wheel's entry point.
/// Returns the exit status; output goes straight to the process's stdout/stderr.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<String>) -> i32 {
    i32::from(py.detach(|| admin::main_status(argv)))
}

/// The module `nbgrader_k8s_exchange._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ExchangeCoreError", m.py().get_type::<ExchangeCoreError>())?;
    m.add_function(wrap_pyfunction!(validate_id, m)?)?;
    m.add_function(wrap_pyfunction!(parse_timestamp, m)?)?;
    m.add("VOLUME_NAME", mounts::VOLUME_NAME)?;
    m.add("DEFAULT_CLAIM_NAME", mounts::DEFAULT_CLAIM_NAME)?;
    m.add("DEFAULT_MOUNT_ROOT", mounts::DEFAULT_MOUNT_ROOT)?;
    m.add_function(wrap_pyfunction!(feedback_keys, m)?)?;
    m.add_function(wrap_pyfunction!(local_assignment_path, m)?)?;
    m.add_function(wrap_pyfunction!(release_assignment, m)?)?;
    m.add_function(wrap_pyfunction!(unrelease_assignment, m)?)?;
    m.add_function(wrap_pyfunction!(list_released, m)?)?;
    m.add_function(wrap_pyfunction!(fetch_assignment, m)?)?;
    m.add_function(wrap_pyfunction!(submit, m)?)?;
    m.add_function(wrap_pyfunction!(list_inbound, m)?)?;
    m.add_function(wrap_pyfunction!(list_cached, m)?)?;
    m.add_function(wrap_pyfunction!(collect, m)?)?;
    m.add_function(wrap_pyfunction!(release_feedback, m)?)?;
    m.add_function(wrap_pyfunction!(fetch_feedback, m)?)?;
    m.add_function(wrap_pyfunction!(exchange_mounts, m)?)?;
    m.add_function(wrap_pyfunction!(provision_course, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    Ok(())
}
