//! What collect takes from the notary (docs/notary.md §2, §6): the on-time rule by sealed
//! time, the sealed copy of a submission the student changed after its seal, and the deadline
//! snapshot `collect --before-duedate` prefers.
//!
//! The copies live in `{course}/.nbk8s-notary/`, which the course's instructors can write:
//! they are opened one component at a time, never through a link, and only at the place the
//! spec gives them (an index naming anything else is ignored), and what was opened is
//! digested and used only when it has the receipt of the seal it stands for (the index
//! entry itself checked first: [`crate::seals::SealIndex::cross_check`]). A copy that does
//! not match is refused with a warning naming it, and the inbox's submission is used.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::backdate::BackdateCheck;
use crate::layout::Course;
use crate::names::parse_submission;
use crate::receipt::{short, Manifest};
use crate::safefs;
use crate::seals::{format_time, COPIES_DIR, DEADLINE_DIR};

use super::Candidate;

/// A copy of the notary's to collect instead of the inbox's submission.
pub(super) struct NotaryCopy {
    /// Where it is.
    pub path: PathBuf,
    /// It, opened (never through a link).
    pub fd: OwnedFd,
    /// What to tell the instructor.
    pub note: String,
}

/// Open `{course}/.nbk8s-notary/{parts...}` one directory at a time, refusing links.
fn open_copy(course: &Course, parts: &[&str]) -> std::io::Result<OwnedFd> {
    let mut fd = safefs::open_dir(course.dir(), true)?;
    for part in std::iter::once(COPIES_DIR).chain(parts.iter().copied()) {
        fd = safefs::open_dir_at(fd.as_fd(), part.as_ref())?;
    }
    Ok(fd)
}

/// `fd`, the notary's `what` at `path`, when what it holds digests to `receipt` (rewound
/// for the copy); else None, with a warning naming it.
fn checked(
    fd: OwnedFd,
    path: &Path,
    receipt: &str,
    what: &str,
    warnings: &mut Vec<String>,
) -> Option<OwnedFd> {
    let got = fd.try_clone().map_err(|e| e.to_string()).and_then(|probe| {
        Manifest::of_open(probe, path, 0, 0)
            .map(|m| m.receipt())
            .map_err(|e| e.to_string())
    });
    let rewound = rustix::fs::seek(&fd, rustix::fs::SeekFrom::Start(0)).is_ok();
    let why = match got {
        Ok(got) if got == receipt && rewound => return Some(fd),
        Ok(got) if got == receipt => "it cannot be read again".to_string(),
        Ok(got) => format!(
            "it holds receipt {}, not the sealed {} (altered since the notary made it)",
            short(&got),
            short(receipt)
        ),
        Err(e) => format!("it cannot be digested ({e})"),
    };
    warnings.push(format!(
        "refused the notary's {what} {}: {why}",
        path.display()
    ));
    None
}

/// Whether `candidate` counts as at or before `due`: its claim is, and where the notary's
/// index has it, it was sealed within the tolerance of that claim. A claim in time that the
/// seal contradicts is a warning (the rule that was used is named).
pub(super) fn on_time(
    check: &BackdateCheck,
    student: &str,
    candidate: &Candidate,
    due: NaiveDateTime,
    source: &Path,
    warnings: &mut Vec<String>,
) -> bool {
    if candidate.when > due {
        return false;
    }
    match check.sealed_late(student, &candidate.name, candidate.when) {
        None => true,
        Some(found) => {
            warnings.push(format!(
                "{} not counted as before the due date {} UTC: it {found}",
                source.display(),
                due.format("%Y-%m-%d %H:%M:%S")
            ));
            false
        }
    }
}

/// The sealed copy of `student`'s submission `name`, when the notary recorded it changed
/// after its seal (in place, or hidden and returned) or last saw it gone (it is back, not
/// checked since), and kept a copy (`notary run --keep-sealed`). A copy that is named but
/// cannot be opened, or does not match its seal, is a warning (the inbox's is collected).
pub(super) fn sealed_copy(
    course: &Course,
    check: &BackdateCheck,
    student: &str,
    name: &str,
    source: &Path,
    warnings: &mut Vec<String>,
) -> Option<NotaryCopy> {
    let index = check.seals()?;
    let seal = index
        .get(student, name)
        .filter(|s| matches!(s.state.as_str(), "changed" | "vanished"))?;
    let path = index.copy_path(course, student, seal)?;
    let fd = match open_copy(course, &["sealed", student, name]) {
        Ok(fd) => fd,
        Err(e) => {
            warnings.push(format!(
                "the sealed copy {} cannot be opened ({e}); collecting the modified submission",
                path.display()
            ));
            return None;
        }
    };
    let Some(fd) = checked(fd, &path, &seal.receipt, "sealed copy", warnings) else {
        warnings.push(format!(
            "{}: collecting the submission in the inbox, not what was sealed",
            source.display()
        ));
        return None;
    };
    let why = check.after_seal(student, name)?;
    Some(NotaryCopy {
        path,
        fd,
        note: format!("{} {why}; collected the sealed copy", source.display()),
    })
}

/// The notary's deadline snapshot of `student`'s `assignment`, when it was taken for
/// `due` (their due date now: an extension granted since makes it stale), kept a
/// submission, and its copy is where the spec puts it. Returns the copy and the candidate
/// it stands for (the snapshot submission's name and timestamp).
pub(super) fn snapshot(
    course: &Course,
    check: &BackdateCheck,
    student: &str,
    assignment: &str,
    due: NaiveDateTime,
    warnings: &mut Vec<String>,
) -> Option<(NotaryCopy, Candidate)> {
    let index = check.seals()?;
    let snap = index
        .deadline(student, assignment)
        .filter(|s| s.due == due)?;
    let name = snap.submission.as_deref()?;
    let path = index.snapshot_path(course, student, assignment, snap)?;
    let parsed = parse_submission(student, name).ok()?;
    let when = parsed.when.filter(|_| parsed.assignment == assignment)?;
    let fd = match open_copy(course, &[DEADLINE_DIR, student, assignment]) {
        Ok(fd) => fd,
        Err(e) => {
            warnings.push(format!(
                "the notary's deadline snapshot {} cannot be opened ({e}); choosing from the inbox",
                path.display()
            ));
            return None;
        }
    };
    let receipt = snap.receipt.as_deref()?;
    let Some(fd) = checked(fd, &path, receipt, "deadline snapshot", warnings) else {
        warnings.push(format!(
            "the deadline snapshot of {student:?}'s {assignment} was not used; choosing from the inbox"
        ));
        return None;
    };
    let note = format!(
        "taken from the notary's deadline snapshot at {} (submission {name}, receipt {})",
        format_time(&due),
        short(receipt)
    );
    let candidate = Candidate {
        name: name.to_string(),
        timestamp: parsed.timestamp,
        when,
        graded: None,
    };
    Some((NotaryCopy { path, fd, note }, candidate))
}
