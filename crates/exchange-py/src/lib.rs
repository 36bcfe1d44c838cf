//! `nbgrader_k8s_exchange._core`: thin PyO3 wrappers over `exchange_core`.
//!
//! Each function converts its arguments, releases the GIL while the core touches the
//! filesystem, and converts the result to the dicts `_core.pyi` documents. Core errors
//! become `ExchangeCoreError` with a `kind` attribute.

#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use exchange_core::ids::{validate, IdKind};
use exchange_core::layout::{display, CourseDirs, LocalDirs};
use exchange_core::ops::{
    collect as collect_op, feedback, fetch, fetched, list, provision, release, remove,
    submit as submit_op,
};
use exchange_core::{keys, mounts, timestamp};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

mod convert;
mod deadlines;
mod receipt;
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

/// Raise unless ``value`` is a safe id of ``kind`` ("course", "assignment", "student",
/// "notebook"). Refused everywhere: empty, ``/``, NUL, ``.``/``..``, a leading ``.``, over 255
/// bytes. Course and assignment ids also refuse ``+`` and ``*``.
#[pyfunction]
fn validate_id(py: Python<'_>, kind: &str, value: &str) -> PyResult<()> {
    let kind = IdKind::parse(kind).map_err(|e| to_py_err(py, e))?;
    validate(kind, value).map_err(|e| to_py_err(py, e))
}

/// ``text`` as a person may see it in a terminal or log: control characters (C0, DEL, C1),
/// line separators and bidi overrides shown visibly (``\n``, ``\x1b``, ``\u{202e}``),
/// everything else as it is (``exchange_core::display::escape``, the rule the admin CLI
/// prints by).
#[pyfunction]
fn escape_text(text: &str) -> String {
    exchange_core::display::escape(text).into_owned()
}

/// nbgrader timestamp string -> ISO 8601 UTC (``YYYY-MM-DDTHH:MM:SS.ffffff``, naive).
/// Raises on a string it cannot read.
#[pyfunction]
fn parse_timestamp(py: Python<'_>, value: &str) -> PyResult<String> {
    let parsed = timestamp::parse(value).map_err(|e| to_py_err(py, e))?;
    Ok(timestamp::to_iso(&parsed))
}

/// The keys feedback for a submission's notebook is released under, best first: the
/// secret's key when ``secret`` is given (and not empty), else the legacy content hashes of
/// the notebook at ``notebook_path`` (with the unique key, then without; none when it cannot
/// be read). Release writes the first; list and fetch accept any. It is the one rule every
/// operation of the core uses, equal to ``nbgrader.utils.notebook_hash``.
#[pyfunction]
#[pyo3(signature = (course, assignment, notebook_id, student, timestamp, *, secret=None, notebook_path=None))]
#[allow(clippy::too_many_arguments)]
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

/// ``{assignment_dir}/[{course}/]{assignment}``, absolute and normalised like
/// ``os.path.abspath``: where a student's copy of an assignment lives.
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

/// Publish ``source`` as ``{root}/{course}/outbound/{assignment}``.
///
/// Creates the course tree (``course``, ``outbound``, ``inbound``, ``feedback_public``; 0755)
/// if missing. Copies into a dot-named staging dir in ``outbound/`` (files 0644, dirs 0755,
/// symlinks and special files skipped with a warning), then renames it in. With ``force`` an
/// existing release is moved aside to a dot-named trash dir first and kept there (a student
/// fetching it at that moment still copies all of it) until a release an hour or more later
/// sweeps it; without it an existing release raises (kind ``"exists"``).
/// Returns ``{"path", "replaced", "files", "warnings"}``.
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

/// Withdraw a release: rename ``outbound/{assignment}`` to dot-named trash (swept by a
/// later release or unrelease after an hour, or ``nbgrader-k8s gc``).
/// Returns ``{"path", "removed": bool, "warnings"}``.
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

/// Released assignments, as nbgrader's ``ExchangeList`` reports them.
///
/// ``courses`` None means every course under ``root``. ``assignment`` None means all.
/// Returns ``{"assignments": [...], "warnings"}``, each assignment a dict
/// ``{"course_id", "assignment_id", "status": "released"|"fetched", "path", "notebooks":
/// [{"notebook_id", "path"}]}``: ``fetched`` (with ``path`` the absolute local dir) when
/// ``{assignment_dir}/[{course}/]{assignment}`` exists locally, else ``released`` with the
/// exchange path. ``notebooks`` are the top-level ``*.ipynb`` of ``path``, sorted.
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

/// Copy a released assignment to the student's ``dest``.
///
/// If ``dest`` is absent: copy into a dot-named sibling staging dir and rename it in. If it
/// exists and ``replace_missing``: copy only files/dirs that are missing, never overwrite.
/// If it exists otherwise: raise kind ``"exists"``. A missing release raises kind
/// ``"not_found"`` whose message lists the released assignments of the course.
/// Returns ``{"path", "created": [relpaths], "warnings"}``.
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

/// Leave the fetch marker ``inbound/{student}/.nbk8s-fetched/{assignment}+{timestamp}``
/// (an empty file; ``timestamp`` is nbgrader's string as in submission names) for the notary
/// to record as "fetched, reported by the student", and return its path. The inbox is
/// created when missing and ``inbound/`` allows, like ``submit``; nothing is followed
/// through a symlink. An existing marker is kept.
#[pyfunction]
fn leave_fetch_marker(
    py: Python<'_>,
    root: PathBuf,
    course: String,
    student: String,
    assignment: String,
    timestamp: String,
) -> PyResult<String> {
    let path = run(py, || {
        fetched::leave_fetch_marker(&root, &course, &student, &assignment, &timestamp)
    })?;
    Ok(display(&path))
}

/// Submit ``source`` as ``inbound/{student}/{assignment}+{timestamp}+{random}``.
///
/// Checks the release exists (``outbound/{assignment}``) and compares notebooks (relative
/// paths of every ``*.ipynb``, recursive): with ``strict`` a missing notebook raises kind
/// ``"missing_notebooks"`` and nothing is written; otherwise the difference is a warning.
/// A source bigger than ``max_dir_size`` raises kind ``"too_big"``; files over
/// ``max_file_size`` are skipped with a warning. Stages in a dot-named dir inside the
/// student's inbound dir, writes ``timestamp.txt`` and ``submission_secret.txt`` (128 hex
/// chars, like ``secrets.token_hex(64)``), sets modes, renames into place. Then writes the
/// same files to the local cache ``{cache}/{course}/{student}+{assignment}+{timestamp}``.
/// The student's ``inbound/{student}`` must exist (it is the pod's mount); if it does not
/// and ``inbound/`` is writable it is created, else kind ``"not_found"`` tells to ask the
/// admin. Returns ``{"name", "path", "cache_path", "timestamp", "receipt", "warnings"}``:
/// ``receipt`` (see ``manifest``) is computed over the staged exchange copy just before it is
/// renamed into place, and is also written to ``{cache_path}/.nbk8s-receipt``.
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
        "receipt": r.receipt,
        "warnings": r.warnings,
    }))
}

/// Submissions in the exchange, grouped as nbgrader's ``ExchangeList --inbound`` does.
///
/// ``student`` is an exact id or an fnmatch glob (None = all). Identity is the directory
/// under ``inbound/``. Returns ``{"assignments": [...], "warnings"}``; each entry is
/// ``{"course_id", "student_id", "assignment_id", "status": "submitted", "submissions":
/// [sub...]}`` sorted by (course, student, assignment); each ``sub`` is ``{"course_id",
/// "student_id", "assignment_id", "timestamp", "status": "submitted", "path", "notebooks":
/// [{"notebook_id", "path", "has_local_feedback": False, "has_exchange_feedback": bool,
/// "local_feedback_path": None, "feedback_updated": False}], "has_local_feedback",
/// "has_exchange_feedback", "feedback_updated", "local_feedback_path"}`` sorted by
/// timestamp. Malformed names, symlinks and dot-entries are skipped (warned if not ours).
/// With ``backdate_tolerance`` (seconds), a submission whose directory or top-level notebooks
/// changed more than that after its claimed time is warned about, as `collect` does.
/// With ``assignment_dir``, feedback already fetched into the lister's own
/// ``{assignment_dir}/[{course}/]{assignment}/feedback/{timestamp}/`` sets
/// ``has_local_feedback``, ``local_feedback_path`` and ``feedback_updated`` as nbgrader's
/// default does (otherwise they stay False/None).
#[pyfunction]
#[pyo3(signature = (root, courses, assignment, student, *, backdate_tolerance=None, assignment_dir=None, path_includes_course=false))]
#[allow(clippy::too_many_arguments)]
fn list_inbound<'py>(
    py: Python<'py>,
    root: PathBuf,
    courses: Option<Vec<String>>,
    assignment: Option<String>,
    student: Option<String>,
    backdate_tolerance: Option<u64>,
    assignment_dir: Option<PathBuf>,
    path_includes_course: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let r = run(py, || {
        let mut listing = list::list_inbound(
            &root,
            courses.as_deref(),
            assignment.as_deref(),
            student.as_deref(),
            backdate_tolerance,
        )?;
        if let Some(assignment_dir) = &assignment_dir {
            let local = LocalDirs {
                assignment_dir,
                path_includes_course,
            };
            list::with_local_feedback(&mut listing, &root, local);
        }
        Ok(listing)
    })?;
    convert::listing(py, &r.assignments, &r.warnings, convert::group)
}

/// The student's own submissions from the local cache, with feedback state.
///
/// Cache entries are ``{cache}/{course}/{student}+{assignment}+{timestamp}`` (parsed knowing
/// ``student``, so ids holding ``+`` work). For each notebook: the feedback key (secret-based
/// if ``submission_secret.txt`` exists, else the legacy keys), whether
/// ``feedback_public/{student}/{key}.html`` exists (``has_exchange_feedback``), whether
/// ``{assignment_dir}/[{course}/]{assignment}/feedback/{timestamp}/{notebook}.html`` exists
/// locally, and ``feedback_updated`` when both exist and differ (md5). Same dict shape and
/// grouping as `list_inbound`.
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

/// Copy each student's chosen submission to the instructor's course directory.
///
/// Each student's copy goes to ``CourseDirectory.format_path(submitted_directory, student,
/// assignment)``: ``directory_structure`` (only ``{nbgrader_step}``, ``{student_id}`` and
/// ``{assignment_id}``, ``{{``/``}}`` for braces; anything else raises kind
/// ``"invalid_argument"`` before anything is read) joined to ``course_dir``.
/// Per student: the newest submission; with ``before_duedate`` and a ``duedate`` (ISO UTC),
/// the newest one at or before it, else the newest. If the destination exists it is replaced
/// only when ``update`` and the chosen timestamp is newer than ``dest/timestamp.txt``, or when
/// ``before_duedate`` and the timestamps differ; replacement stages a complete copy beside it
/// first. Returns ``{"records": [{"student_id", "timestamp", "source", "dest", "action":
/// "collected"|"updated"|"exists"|"not_newer"}], "warnings"}``. With ``backdate_tolerance``
/// (seconds), a copied submission whose directory or any copied entry changed (ctime) more
/// than that after the time its name claims gets a warning ``student "s": {path} may be
/// backdated: ...``, unless ``{course}/.nbk8s-migrated`` records it; it is still collected.
/// Leftover staging and trash (older than an hour) beside a destination are removed.
/// With ``groupshared`` (``CourseDirectory.groupshared``) the copy is group-writable:
/// directories 2775, files 0664 (else 0755/0644). With ``grade_time="seal"`` (the default),
/// a submission whose notary seal contradicts its claim gets the seal's time in its
/// ``timestamp.txt`` and a warning ``student "s": {path} graded by its seal time ...``;
/// without a notary index one warning says every claim stands. ``"claim"`` always writes
/// the claim.
#[pyfunction]
#[pyo3(signature = (root, course, assignment, course_dir, directory_structure, submitted_directory, *, students=None, update=false, before_duedate=false, duedate=None, ignore=Vec::new(), include=vec!["*".to_string()], limits=None, backdate_tolerance=None, groupshared=false, grade_time="seal"))]
#[allow(clippy::too_many_arguments)]
fn collect<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    assignment: String,
    course_dir: PathBuf,
    directory_structure: String,
    submitted_directory: String,
    students: Option<String>,
    update: bool,
    before_duedate: bool,
    duedate: Option<String>,
    ignore: Vec<String>,
    include: Vec<String>,
    limits: Option<&Bound<'py, PyDict>>,
    backdate_tolerance: Option<u64>,
    groupshared: bool,
    grade_time: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let grade_time = grade_time.parse().map_err(|e| to_py_err(py, e))?;
    let req = collect_op::CollectRequest {
        root: &root,
        course: &course,
        assignment: &assignment,
        dest: CourseDirs {
            root: &course_dir,
            directory_structure: &directory_structure,
            submitted_directory: &submitted_directory,
        },
        students: students.as_deref(),
        update,
        before_duedate,
        duedate: duedate.as_deref(),
        filter: filter(ignore, include, limits)?,
        backdate_tolerance,
        grade_time,
        group_shared: groupshared,
    };
    let r = run(py, || collect_op::collect(&req))?;
    let records = r
        .records
        .iter()
        .map(|x| convert::record(py, x))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "records": PyList::new(py, records)?, "warnings": r.warnings }))
}

/// Raise kind ``"not_found"`` unless ``root`` (``Exchange.root``) is an existing directory:
/// a missing root means the exchange volume is not mounted here, and nothing is created.
#[pyfunction]
fn check_root(py: Python<'_>, root: PathBuf) -> PyResult<()> {
    run(py, || exchange_core::layout::check_root(&root))
}

/// ``nbgrader list --inbound --remove``: move each matching submission (``assignment`` and
/// ``student``, an id or glob, None = all; ``courses`` None = every course) from
/// ``inbound/{student}/`` to ``{course}/.nbk8s-removed/{student}/`` by one rename, and append
/// one JSON line per removal to ``{course}/.nbk8s-removed/removals.jsonl``: ``{"time"
/// (RFC 3339 UTC), "course", "student", "assignment", "submission" (dir name), "by"}``.
/// Returns ``{"removed": [{"course_id", "student_id", "assignment_id", "timestamp", "path",
/// "moved_to"}], "warnings"}``; one that cannot be moved is a warning.
#[pyfunction]
#[pyo3(signature = (root, courses, assignment, student, *, by=None))]
fn remove_submissions<'py>(
    py: Python<'py>,
    root: PathBuf,
    courses: Option<Vec<String>>,
    assignment: Option<String>,
    student: Option<String>,
    by: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let r = run(py, || {
        remove::remove_submissions(
            &root,
            courses.as_deref(),
            assignment.as_deref(),
            student.as_deref(),
            by.as_deref(),
        )
    })?;
    convert::removal(py, &r)
}

/// ``nbgrader list --cached --remove``: delete the student's own local cache entries
/// ``{cache}/{course}/{student}+{assignment}+{timestamp}`` (``assignment`` None = all,
/// ``courses`` None = every course in the cache). Same return shape as
/// `remove_submissions`, with ``moved_to`` None.
#[pyfunction]
fn remove_cached<'py>(
    py: Python<'py>,
    cache: PathBuf,
    courses: Option<Vec<String>>,
    assignment: Option<String>,
    student: String,
) -> PyResult<Bound<'py, PyDict>> {
    let r = run(py, || {
        remove::remove_cached(&cache, courses.as_deref(), assignment.as_deref(), &student)
    })?;
    convert::removal(py, &r)
}

/// Publish feedback: ``items`` are ``(student, feedback_dir, submitted_dir)``.
///
/// For every ``*.html`` in ``feedback_dir`` (notebook id = stem): the key from
/// ``feedback_dir/submission_secret.txt`` (secret-based), or when that file is missing the
/// legacy key of ``{submitted_dir}/{notebook}.ipynb`` with the unique key
/// ``course+assignment+notebook+student+timestamp`` (timestamp from ``feedback_dir``'s
/// ``timestamp.txt``). Writes ``feedback_public/{student}/{key}.html`` (creating the dir,
/// 0755) by a dot-named temp file + rename, never following a symlink planted there.
/// Returns ``{"released": [{"student_id", "notebook_id", "key", "path"}], "warnings"}``.
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

/// Copy released feedback for the student's cached submissions to
/// ``{assignment_dir}/[{course}/]{assignment}/feedback/{timestamp}/{notebook}.html``.
/// Returns ``{"fetched": [{"assignment_id", "notebook_id", "timestamp", "path"}],
/// "missing": [same without path], "warnings"}``.
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

/// KubeSpawner ``(volumes, volume_mounts)`` for one user (DESIGN.md's table).
///
/// One volume ``{"name": "nbgrader-exchange", "persistentVolumeClaim": {"claimName":
/// claim_name}}``. Per instructor course C: ``{"name", "mountPath": "{mount_root}/C",
/// "subPath": "C"}`` (read-write). Per student course C the user does not teach: outbound
/// (``"readOnly": True``), ``inbound/{user}`` (read-write, no readOnly key),
/// ``feedback_public/{user}`` (``"readOnly": True``). Courses sorted, deduplicated. Every
/// ``{``/``}`` in mountPath and subPath is doubled (KubeSpawner ``str.format``s them). The
/// username is validated as a student id and courses as course ids (kind ``"invalid_id"``).
/// No courses at all gives ``([], [])``.
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

/// Create or repair the course tree and the students' own dirs, idempotently.
///
/// Ensures the course's skeleton (``{course}``, ``outbound``, ``inbound``,
/// ``feedback_public``, ``.nbk8s-removed``, ``.nbk8s-notary``) and for each student
/// ``inbound/{s}`` and ``feedback_public/{s}``: real directories (a symlink or file in the
/// way is an error naming the path, never followed), owned ``keeper_uid:gid`` with the
/// skeleton's modes (docs/security.md, "The skeleton"). Creates ``root`` itself only if its
/// parent exists. All ids are validated before anything is written. Returns ``{"entries":
/// [{"path", "outcome": "created"|"fine"|"repaired"|"drift", "detail"}], "warnings"}``;
/// ``detail`` says what was repaired or is wrong (mode/owner).
#[pyfunction]
#[pyo3(signature = (root, course, students, *, keeper_uid=exchange_core::skeleton::DEFAULT_KEEPER_UID, gid=100))]
fn provision_course<'py>(
    py: Python<'py>,
    root: PathBuf,
    course: String,
    students: Vec<String>,
    keeper_uid: u32,
    gid: u32,
) -> PyResult<Bound<'py, PyDict>> {
    let owners = exchange_core::skeleton::Owners {
        keeper: keeper_uid,
        gid,
    };
    let r = run(py, || {
        provision::provision_course(Path::new(&root), &course, &students, owners)
    })?;
    let entries = r
        .entries
        .iter()
        .map(|e| Ok(dict!(py, { "path": &e.path, "outcome": e.outcome, "detail": &e.detail })))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "entries": PyList::new(py, entries)?, "warnings": r.warnings }))
}

/// Run the ``nbgrader-k8s`` admin command line (``argv[0]`` is the program name) and
/// return its exit status: 0 done, 1 error, 2 usage error, 3 ``audit`` found high-severity
/// problems. It prints to the process's stdout/stderr itself.
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
    m.add_function(wrap_pyfunction!(escape_text, m)?)?;
    m.add("ERROR_KINDS", exchange_core::Error::KINDS.to_vec())?;
    m.add("VOLUME_NAME", mounts::VOLUME_NAME)?;
    m.add("DEFAULT_CLAIM_NAME", mounts::DEFAULT_CLAIM_NAME)?;
    m.add("DEFAULT_MOUNT_ROOT", mounts::DEFAULT_MOUNT_ROOT)?;
    m.add(
        "DEFAULT_KEEPER_UID",
        exchange_core::skeleton::DEFAULT_KEEPER_UID,
    )?;
    m.add_function(wrap_pyfunction!(feedback_keys, m)?)?;
    m.add_function(wrap_pyfunction!(local_assignment_path, m)?)?;
    m.add_function(wrap_pyfunction!(release_assignment, m)?)?;
    m.add_function(wrap_pyfunction!(unrelease_assignment, m)?)?;
    m.add_function(wrap_pyfunction!(list_released, m)?)?;
    m.add_function(wrap_pyfunction!(fetch_assignment, m)?)?;
    m.add_function(wrap_pyfunction!(leave_fetch_marker, m)?)?;
    m.add_function(wrap_pyfunction!(submit, m)?)?;
    m.add_function(wrap_pyfunction!(list_inbound, m)?)?;
    m.add_function(wrap_pyfunction!(list_cached, m)?)?;
    m.add_function(wrap_pyfunction!(collect, m)?)?;
    m.add_function(wrap_pyfunction!(check_root, m)?)?;
    m.add_function(wrap_pyfunction!(remove_submissions, m)?)?;
    m.add_function(wrap_pyfunction!(remove_cached, m)?)?;
    m.add_function(wrap_pyfunction!(release_feedback, m)?)?;
    m.add_function(wrap_pyfunction!(fetch_feedback, m)?)?;
    m.add_function(wrap_pyfunction!(exchange_mounts, m)?)?;
    m.add_function(wrap_pyfunction!(provision_course, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    deadlines::register(m)?;
    m.add_function(wrap_pyfunction!(receipt::manifest, m)?)?;
    m.add_function(wrap_pyfunction!(receipt::short_receipt, m)?)?;
    m.add_function(wrap_pyfunction!(receipt::receipt_matches, m)?)?;
    m.add_function(wrap_pyfunction!(receipt::student_seals, m)?)?;
    Ok(())
}
