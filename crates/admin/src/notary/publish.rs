//! What the notary writes besides its ledger (docs/notary.md §2, §3): the instructors' copy
//! (`{course}/.nbk8s-notary/index.json`, `usage.json`, `sealed/`), each student's
//! confirmation (`feedback_public/{s}/.nbk8s-seals.json`) and its own resume point
//! (`state.json` beside the ledger). Every file is replaced by temp file + rename, never
//! through a link: the course tree is writable by its instructors, so a link planted there
//! must not redirect a notary that can write the whole volume.

use std::path::{Path, PathBuf};

use exchange_core::beneath;
use exchange_core::layout::Course;
use exchange_core::ops::place::{place_dir, remove_tree, write_file_in, Outcome};
use exchange_core::receipt::Manifest;
use exchange_core::walk::{self, Kind};
use serde_json::{json, Map, Value};

use super::log::now;
use super::observe::Usage;
use super::state::CourseState;

/// The instructors' copy directory in a course.
pub const COPY_DIR: &str = ".nbk8s-notary";
/// The seal index in [`COPY_DIR`].
pub const INDEX_FILE: &str = "index.json";
/// Per-student inbox usage in [`COPY_DIR`].
pub const USAGE_FILE: &str = "usage.json";
/// A student's confirmation in `feedback_public/{s}/`.
pub const SEALS_FILE: &str = ".nbk8s-seals.json";
/// The notary's resume point beside its ledger.
pub const STATE_FILE: &str = "state.json";

/// `dir` as a real directory (created 0755 when missing); a link or file there is refused.
pub(super) fn real_dir(dir: &Path) -> Result<(), String> {
    match walk::kind_of(dir) {
        Ok(Some(Kind::Dir)) => Ok(()),
        Ok(None) => match beneath::mkdir(dir, 0o755) {
            Ok(()) => {
                let _ = beneath::chmod(dir, 0o755);
                real_dir(dir)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => real_dir(dir),
            Err(e) => Err(format!("cannot create {} ({e})", dir.display())),
        },
        Ok(Some(kind)) => Err(format!(
            "{} is a {}, not a directory: refusing to write there",
            dir.display(),
            kind.describe()
        )),
        Err(e) => Err(format!("cannot inspect {} ({e})", dir.display())),
    }
}

fn write_json(dir: &Path, name: &str, value: &Value) -> Result<(), String> {
    real_dir(dir)?;
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    write_file_in(dir, name, &bytes)
        .map_err(|e| format!("cannot write {} ({e})", dir.join(name).display()))
}

/// Replace `{course}/.nbk8s-notary/index.json`.
pub fn write_index(
    course: &Course,
    course_id: &str,
    state: &CourseState,
    head: &str,
    seq: Option<u64>,
) -> Result<(), String> {
    let index = index_doc(course_id, state, head, seq);
    write_json(&course.dir().join(COPY_DIR), INDEX_FILE, &index)
}

/// What index.json holds for `state` (docs/notary.md §2): also what `audit` checks the
/// file against.
pub fn index_doc(course_id: &str, state: &CourseState, head: &str, seq: Option<u64>) -> Value {
    let mut seals = Map::new();
    for (key, seal) in &state.seals {
        let mut entry = seal.index_json();
        if state.removed.contains(key) {
            // Gone by an instructor's removal, not deleted by the student.
            entry["removed"] = true.into();
        }
        seals.insert(format!("{}/{}", key.0, key.1), entry);
    }
    let mut deadlines = Map::new();
    for ((student, assignment), snap) in &state.snapshots {
        deadlines.insert(format!("{student}/{assignment}"), snap.index_json());
    }
    json!({
        "copy_of": "ledger",
        "course": course_id,
        "head": head,
        "seq": seq,
        "updated": now(),
        "seals": seals,
        "deadlines": deadlines,
        "due_passes": state.due_passes_json(),
    })
}

/// Replace `feedback_public/{student}/.nbk8s-seals.json` (0644).
pub fn write_confirmation(
    course: &Course,
    course_id: &str,
    student: &str,
    state: &CourseState,
    head: &str,
    seq: Option<u64>,
) -> Result<(), String> {
    let seals: Vec<Value> = state
        .seals_of(student)
        .map(|(sub, seal)| seal.confirmation_json(sub))
        .collect();
    let doc = json!({
        "course": course_id,
        "student": student,
        "head": head,
        "seq": seq,
        "seals": seals,
    });
    write_json(&course.feedback_public().join(student), SEALS_FILE, &doc)
}

/// Replace `{course}/.nbk8s-notary/usage.json`: what each inbox holds, largest first.
pub fn write_usage(
    course: &Course,
    course_id: &str,
    usage: &[(String, Usage)],
    threshold: u64,
) -> Result<(), String> {
    let students: Vec<Value> = usage
        .iter()
        .map(|(s, u)| {
            json!({"student": s, "bytes": u.bytes, "files": u.files,
                             "over": threshold > 0 && u.bytes > threshold})
        })
        .collect();
    let doc = json!({
        "copy_of": "notary",
        "course": course_id,
        "updated": now(),
        "threshold_bytes": threshold,
        "students": students,
    });
    write_json(&course.dir().join(COPY_DIR), USAGE_FILE, &doc)
}

/// The notary's resume point: which records the derived files already show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumePoint {
    /// Records that index.json and every confirmation reflect.
    pub published: u64,
}

/// Read `state.json` in the notary's course dir (None when absent or unreadable).
pub fn read_state(dir: &Path) -> Option<ResumePoint> {
    let bytes = walk::read_regular(&dir.join(STATE_FILE), 1 << 20).ok()??;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    Some(ResumePoint {
        published: v.get("published")?.as_u64()?,
    })
}

/// Replace `state.json` in the notary's course dir.
pub fn write_state(dir: &Path, point: &ResumePoint, head: &str) -> Result<(), String> {
    let doc = json!({"published": point.published, "head": head, "updated": now()});
    let bytes = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    write_file_in(dir, STATE_FILE, &bytes)
        .map_err(|e| format!("cannot write {} ({e})", dir.join(STATE_FILE).display()))
}

/// Copy the submission `src` of `student` to `{course}/.nbk8s-notary/sealed/{student}/{name}`
/// (staged, published by rename, links left out) and check the copy has `receipt`: a
/// student editing while it was copied gets no copy rather than a wrong one. Returns the
/// copy's path relative to `.nbk8s-notary/`.
pub fn keep_copy(
    course: &Course,
    student: &str,
    name: &str,
    src: &Path,
    receipt: &str,
) -> Result<String, String> {
    let copies = course.dir().join(COPY_DIR);
    let parent = copies.join("sealed").join(student);
    for dir in [copies.clone(), copies.join("sealed"), parent.clone()] {
        real_dir(&dir)?;
    }
    exchange_core::leftovers::sweep(&parent, exchange_core::leftovers::LEFTOVER_AGE);
    let me = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    let outcome = place_dir(src, &parent, name, me)?;
    let copy: PathBuf = parent.join(name);
    let got = Manifest::of(&copy, 0, 0).map(|m| m.receipt()).ok();
    if got.as_deref() != Some(receipt) {
        let _ = remove_tree(&copy);
        return Err(format!(
            "the copy at {} does not match the seal (the submission changed while it was \
             copied{})",
            copy.display(),
            if outcome == Outcome::Already {
                ", or an earlier copy was altered"
            } else {
                ""
            }
        ));
    }
    Ok(format!("sealed/{student}/{name}"))
}
