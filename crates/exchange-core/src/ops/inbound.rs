//! Reading `inbound/` and `feedback_public/` the way a network volume rewards: every
//! directory opened once and listed once, children reached with `openat` from it, and many
//! students at a time. `list_inbound` and `collect` share it.
//!
//! On NFS each open, listing, stat and read is a round trip, and their number, not the
//! bytes, sets the time of a 1,000-student course. So a student's inbox is read in one
//! listing whose entry types (`d_type`, `lstat` semantics) classify its submissions, a
//! submission is opened only when its contents are needed, and `submission_secret.txt` is
//! read once per submission, and only when there is released feedback to match.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::leftovers::is_reserved;
use crate::names::{parse_submission, SubmissionName};
use crate::safefs::{self, Kind};

use super::student_matches;

/// Students worked on at once. Each works through a chain of dependent round trips (open,
/// list, read...), so this is also how many requests are in flight: as many as a 16-thread
/// server serves at once, and well under what one NFS client mount keeps in flight by
/// default (its RPC slot table holds 64 and more).
pub(crate) const IO_THREADS: usize = 16;

/// Map `f` over `items`, up to [`IO_THREADS`] at a time, keeping their order (the crate's
/// one pool, [`crate::par`]).
pub(crate) fn par_io<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    crate::par::map(items, IO_THREADS, f)
}

/// Whether an open failed because the entry is not a real directory (a symlink, refused by
/// `O_NOFOLLOW`, or a file).
pub(crate) fn not_a_dir(err: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        Errno::from_io_error(err),
        Some(Errno::LOOP) | Some(Errno::NOTDIR)
    )
}

/// A course's `inbound/`, open, with the student directories a filter selects.
pub(crate) struct Inbound {
    path: PathBuf,
    fd: OwnedFd,
    /// The selected students (directory names), sorted.
    pub students: Vec<String>,
}

impl Inbound {
    /// Open and list `path` (the instructor's own path: followed). None when it is
    /// missing or unreadable (warned). Entries that are not directories or whose names
    /// are not UTF-8 are warned about; dot-names are the exchange's own.
    pub fn open(path: &Path, filter: Option<&str>, warnings: &mut Vec<String>) -> Option<Self> {
        let (fd, entries) = match open_and_list(path) {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                warnings.push(format!("cannot read {} ({e})", path.display()));
                return None;
            }
        };
        let mut students = Vec::new();
        for entry in entries {
            let name = match entry.name.into_string() {
                Ok(name) => name,
                Err(raw) => {
                    warnings.push(format!(
                        "skipped {}: name is not UTF-8 (not a student id)",
                        path.join(&raw).display()
                    ));
                    continue;
                }
            };
            if is_reserved(&name) || !student_matches(filter, &name) {
                continue;
            }
            match entry.kind.map_or_else(
                || safefs::stat_at(fd.as_fd(), name.as_ref()).map(|s| Kind::of(&s)),
                Ok,
            ) {
                Ok(Kind::Dir) => students.push(name),
                Ok(kind) => warnings.push(format!(
                    "student {name:?}: skipped {}: a {}, not a directory",
                    path.join(&name).display(),
                    kind.describe()
                )),
                Err(_) => {}
            }
        }
        Some(Inbound {
            path: path.to_path_buf(),
            fd,
            students,
        })
    }

    /// `inbound/{student}`, opened (never through a symlink) and listed once; None when
    /// it cannot be (warned).
    pub fn inbox(&self, student: &str, warnings: &mut Vec<String>) -> Option<Inbox> {
        let path = self.path.join(student);
        let listed = safefs::open_dir_at(self.fd.as_fd(), student.as_ref())
            .and_then(|fd| safefs::read_entries(fd.as_fd()).map(|entries| (fd, entries)));
        let (fd, entries) = match listed {
            Ok(found) => found,
            Err(e) => {
                warnings.push(format!(
                    "student {student:?}: cannot read {} ({e})",
                    path.display()
                ));
                return None;
            }
        };
        let submissions = submissions_in(fd.as_fd(), &path, entries, student, warnings);
        Some(Inbox {
            path,
            fd,
            submissions,
        })
    }
}

/// A student's inbox, read once.
pub(crate) struct Inbox {
    /// `inbound/{student}`.
    pub path: PathBuf,
    fd: OwnedFd,
    /// `(name, parsed)` of each well-formed submission directory, sorted by name.
    pub submissions: Vec<(String, SubmissionName)>,
}

impl Inbox {
    /// Open the submission directory `name`, refusing a symlink put there since.
    pub fn open(&self, name: &str) -> io::Result<OwnedFd> {
        safefs::open_dir_at(self.fd.as_fd(), name.as_ref())
    }
}

/// Open `path` (following it: the instructor's own path) and list it, in one request with
/// attributes where the server allows (its students are opened next).
fn open_and_list(path: &Path) -> io::Result<(OwnedFd, Vec<safefs::DirEntry>)> {
    let fd = safefs::open_dir(path, true)?;
    let entries = safefs::read_entries_large(fd.as_fd())?;
    Ok((fd, entries))
}

/// The submission directories among an inbox's entries; anything else is warned about.
fn submissions_in(
    dir: BorrowedFd<'_>,
    path: &Path,
    entries: Vec<safefs::DirEntry>,
    student: &str,
    warnings: &mut Vec<String>,
) -> Vec<(String, SubmissionName)> {
    let mut out = Vec::new();
    for entry in entries {
        let kind = entry.kind_in(dir);
        let name = match entry.name.into_string() {
            Ok(name) => name,
            Err(raw) => {
                warnings.push(format!(
                    "student {student:?}: skipped {}: name is not UTF-8",
                    path.join(&raw).display()
                ));
                continue;
            }
        };
        if is_reserved(&name) {
            continue;
        }
        if !matches!(kind, Ok(Kind::Dir)) {
            let what = kind.map(|k| k.describe()).unwrap_or("unreadable");
            warnings.push(format!(
                "student {student:?}: skipped {} (a {what})",
                path.join(&name).display()
            ));
            continue;
        }
        match parse_submission(student, &name) {
            Ok(parsed) => {
                warnings.extend(parsed.warning.clone());
                out.push((name, parsed));
            }
            Err(why) => warnings.push(format!(
                "student {student:?}: skipped {}: {why}",
                path.join(&name).display()
            )),
        }
    }
    out
}

/// A course's `feedback_public/`, open (None when it does not exist yet).
pub(crate) struct FeedbackPublic {
    path: PathBuf,
    fd: Option<OwnedFd>,
    /// Its entries, listed once when it was opened (None when that failed: every student's
    /// directory is then tried). A student not among them has no released feedback, with
    /// no lookup of their name; the listing's attributes spare those of the others.
    names: Option<HashSet<OsString>>,
}

impl FeedbackPublic {
    /// Open `path` (the instructor's own path: followed) and list it.
    pub fn open(path: &Path, warnings: &mut Vec<String>) -> Self {
        let fd = match safefs::open_dir(path, true) {
            Ok(fd) => Some(fd),
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    warnings.push(format!("cannot open {} ({e})", path.display()));
                }
                None
            }
        };
        let names = fd.as_ref().and_then(|fd| {
            let entries = safefs::read_entries_large(fd.as_fd()).ok()?;
            Some(entries.into_iter().map(|e| e.name).collect())
        });
        FeedbackPublic {
            path: path.to_path_buf(),
            fd,
            names,
        }
    }

    /// Names of the regular files in `feedback_public/{student}`, listed once. A symlink
    /// in the student's place is not followed (older deployments mounted it read-write).
    pub fn released(&self, student: &str, warnings: &mut Vec<String>) -> HashSet<OsString> {
        let Some(public) = &self.fd else {
            return HashSet::new();
        };
        if let Some(names) = &self.names {
            if !names.contains(std::ffi::OsStr::new(student)) {
                return HashSet::new();
            }
        }
        let path = self.path.join(student);
        let listed = safefs::open_dir_at(public.as_fd(), student.as_ref())
            .and_then(|fd| safefs::read_entries(fd.as_fd()).map(|entries| (fd, entries)));
        let (fd, entries) = match listed {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return HashSet::new(),
            Err(e) => {
                let why = if not_a_dir(&e) {
                    "not a real directory (a symlink?); not followed".to_string()
                } else {
                    e.to_string()
                };
                warnings.push(format!(
                    "student {student:?}: feedback in {} not read: {why}",
                    path.display()
                ));
                return HashSet::new();
            }
        };
        entries
            .into_iter()
            .filter(|e| matches!(e.kind_in(fd.as_fd()), Ok(Kind::File)))
            .map(|e| e.name)
            .collect()
    }
}
