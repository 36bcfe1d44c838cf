//! Receipts ([`exchange_core::receipt`]): the digest `submit` prints and the notary seals,
//! exposed so tests and tools compute it exactly as both do.

use std::path::PathBuf;

use exchange_core::layout::display;
use exchange_core::receipt::{self, Manifest};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::dict;
use crate::run;

/// The canonical manifest of the submission directory ``dir`` (a symlink there is refused):
/// every regular file below it, sorted by the bytes of its relative path, never following a
/// link (links and special files are left out and listed in ``skipped``). ``max_files`` and
/// ``max_bytes`` (0 = no cap) bound a hostile tree: past them kind ``"too_big"`` is raised.
/// Returns ``{"receipt": 64 lowercase hex, "short", "bytes", "files": [{"path", "size",
/// "sha256"}], "skipped": [warnings]}``; ``receipt`` is the SHA-256 of the records
/// ``{sha256} {size} {path}\0``, one per file in that order.
#[pyfunction]
#[pyo3(signature = (dir, *, max_files=0, max_bytes=0))]
pub fn manifest<'py>(
    py: Python<'py>,
    dir: PathBuf,
    max_files: u64,
    max_bytes: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let m = run(py, || Manifest::of(&dir, max_files, max_bytes))?;
    let files = m
        .files
        .iter()
        .map(|f| {
            Ok(dict!(py, {
                "path": display(&f.path),
                "size": f.size,
                "sha256": &f.sha256,
            }))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let receipt = m.receipt();
    Ok(dict!(py, {
        "short": receipt::short(&receipt),
        "receipt": receipt,
        "bytes": m.bytes(),
        "files": PyList::new(py, files)?,
        "skipped": &m.skipped,
    }))
}

/// The receipt as a person reads it out: its first 16 hex digits in groups of four, e.g.
/// ``3f2a-9c01-77be-d410``.
#[pyfunction]
pub fn short_receipt(receipt: &str) -> String {
    receipt::short(receipt)
}

/// Whether ``given`` (full or short form; case, dashes, spaces and colons ignored) names
/// ``receipt``. Fewer than 16 hex digits match nothing.
#[pyfunction]
pub fn receipt_matches(given: &str, receipt: &str) -> bool {
    receipt::matches(given, receipt)
}

/// The notary's sealed status of ``student``'s cached submissions (of ``assignment`` if
/// given) in ``courses`` (None = every course in ``cache``), read from
/// ``feedback_public/{student}/.nbk8s-seals.json``; courses without that file give nothing.
/// Each file's chain head, when new, is appended to ``{cache}/{course}/.nbk8s-heads.jsonl``
/// as ``{"seq", "head", "seen": now}``. Returns ``{"seals": [{"course_id", "assignment_id",
/// "timestamp", "state": "sealed"|"changed"|"vanished"|"not_sealed_yet", "sealed",
/// "sealed_receipt", "receipt", "receipt_differs"}], "warnings"}`` (receipts in short form;
/// ``receipt`` is the one ``submit`` kept in the cache).
#[pyfunction]
pub fn student_seals<'py>(
    py: Python<'py>,
    root: PathBuf,
    cache: PathBuf,
    courses: Option<Vec<String>>,
    assignment: Option<String>,
    student: String,
    now: String,
) -> PyResult<Bound<'py, PyDict>> {
    let r = run(py, || {
        exchange_core::ops::sealed::student_seals(
            &root,
            &cache,
            courses.as_deref(),
            assignment.as_deref(),
            &student,
            &now,
        )
    })?;
    let seals = r
        .seals
        .iter()
        .map(|s| {
            Ok(dict!(py, {
                "course_id": &s.course_id,
                "assignment_id": &s.assignment_id,
                "timestamp": &s.timestamp,
                "state": &s.state,
                "sealed": s.sealed.as_deref(),
                "sealed_receipt": s.sealed_receipt.as_deref(),
                "receipt": s.receipt.as_deref(),
                "receipt_differs": s.receipt_differs,
            }))
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(dict!(py, { "seals": PyList::new(py, seals)?, "warnings": &r.warnings }))
}
