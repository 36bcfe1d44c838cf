//! The operations behind nbgrader's exchange classes, one module each.
//!
//! Each returns plain data plus `warnings`; a failure is an [`Error`](crate::Error).

pub mod collect;
pub mod feedback;
pub mod fetch;
pub mod fetched;
pub(crate) mod inbound;
pub mod list;
pub mod place;
pub mod provision;
pub mod release;
pub mod remove;
pub mod sealed;
pub mod submit;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ids::{problem, validate, IdKind};
use crate::keys;
use crate::layout::Course;
use crate::leftovers::is_reserved;
use crate::safefs::{self, Kind};

/// Largest `timestamp.txt` / `submission_secret.txt` read.
pub(crate) const SMALL_FILE: u64 = 64 * 1024;

/// Create `{course}`, `outbound`, `inbound`, `feedback_public` (0755) where missing.
pub(crate) fn ensure_course_tree(course: &Course) -> Result<()> {
    for dir in [
        course.dir().to_path_buf(),
        course.outbound(),
        course.inbound(),
        course.feedback_public(),
    ] {
        safefs::ensure_dir(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    }
    Ok(())
}

/// The courses to look at: the given ones (validated), or every course directory under
/// `base` (dot-names, non-directories and unsafe names skipped). Sorted.
pub(crate) fn courses_under(base: &Path, courses: Option<&[String]>) -> Result<Vec<String>> {
    if let Some(courses) = courses {
        for c in courses {
            validate(IdKind::Course, c)?;
        }
        let mut list = courses.to_vec();
        list.sort();
        list.dedup();
        return Ok(list);
    }
    let mut list: Vec<String> = child_dirs(base, true)
        .into_iter()
        .filter(|name| problem(IdKind::Course, name).is_none())
        .collect();
    list.sort();
    Ok(list)
}

/// Names of the real directories directly in `dir`, without dot-names; a missing or
/// unreadable `dir` gives none. With `follow`, symlinks to directories count too, outside
/// the exchange only ([`crate::walk::list_kinds`]).
pub(crate) fn child_dirs(dir: &Path, follow: bool) -> Vec<String> {
    crate::walk::list_kinds(dir, follow)
        .into_iter()
        .filter(|(name, kind)| *kind == crate::walk::Kind::Dir && !is_reserved(name))
        .map(|(name, _)| name)
        .collect()
}

/// Whether `name` passes a student filter: an exact id or an fnmatch glob.
pub(crate) fn student_matches(filter: Option<&str>, name: &str) -> bool {
    match filter {
        None => true,
        Some(f) if crate::glob::is_glob(f) => crate::glob::fnmatch(f, name),
        Some(f) => f == name,
    }
}

/// The feedback keys a notebook of a submission may have been released under, best first:
/// the secret-based key when `submission_secret.txt` exists, else the legacy keys.
pub(crate) fn feedback_keys(
    sub: &SubmissionRef<'_>,
    notebook_id: &str,
    notebook: &Path,
) -> Vec<String> {
    let secret = safefs::read_small(&sub.dir.join("submission_secret.txt"), SMALL_FILE)
        .ok()
        .flatten()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    keys::feedback_keys(&sub.key_input(notebook_id, secret.as_deref()), || {
        safefs::read_whole(notebook).ok()
    })
}

/// A submission as the feedback lookups need it.
pub(crate) struct SubmissionRef<'a> {
    pub course: &'a str,
    pub student: &'a str,
    pub assignment: &'a str,
    pub timestamp: &'a str,
    pub dir: &'a Path,
}

impl<'a> SubmissionRef<'a> {
    /// What [`keys::feedback_keys`] needs for its notebook `notebook_id`.
    pub fn key_input(&self, notebook_id: &'a str, secret: Option<&'a str>) -> keys::KeyInput<'a> {
        keys::KeyInput {
            course: self.course,
            assignment: self.assignment,
            notebook_id,
            student: self.student,
            timestamp: self.timestamp,
            secret,
        }
    }
}

/// The first `{key}.html` that is a regular file in `dir` (never a symlink).
pub(crate) fn find_feedback(dir: &Path, keys: &[String]) -> Option<PathBuf> {
    keys.iter()
        .map(|k| dir.join(format!("{k}.html")))
        .find(|p| matches!(safefs::lkind(p), Ok(Some(Kind::File))))
}

/// A student's `feedback_public/{student}/`, listed once for many lookups: `list --cached`
/// asks for every notebook of every cached submission, and one listing (open, read,
/// release) costs fewer round trips on a network volume than a lookup per key.
pub(crate) struct FeedbackFiles {
    dir: PathBuf,
    /// The regular files in `dir`; None when it could not be listed (then each key is
    /// looked up, as [`find_feedback`] does).
    files: Option<std::collections::HashSet<std::ffi::OsString>>,
}

impl FeedbackFiles {
    /// List `dir` (a missing one has no files).
    pub(crate) fn list(dir: &Path) -> FeedbackFiles {
        let files = match safefs::open_dir(dir, true) {
            Ok(fd) => safefs::read_entries(fd.as_fd()).ok().map(|entries| {
                entries
                    .into_iter()
                    .filter(|e| matches!(e.kind_in(fd.as_fd()), Ok(Kind::File)))
                    .map(|e| e.name)
                    .collect()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Default::default()),
            Err(_) => None,
        };
        FeedbackFiles {
            dir: dir.to_path_buf(),
            files,
        }
    }

    /// The first `{key}.html` that is a regular file, as [`find_feedback`] decides it.
    pub(crate) fn find(&self, keys: &[String]) -> Option<PathBuf> {
        let Some(files) = &self.files else {
            return find_feedback(&self.dir, keys);
        };
        keys.iter()
            .map(|k| format!("{k}.html"))
            .find(|name| files.contains(std::ffi::OsStr::new(name)))
            .map(|name| self.dir.join(name))
    }
}

/// Prefix warnings with a student's id so the admin knows whose entry it was.
pub(crate) fn for_student(
    student: &str,
    warnings: Vec<String>,
) -> impl Iterator<Item = String> + '_ {
    warnings
        .into_iter()
        .map(move |w| format!("student {student:?}: {w}"))
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Builders of small exchanges for the operation tests.
    use std::fs;
    use std::path::Path;

    /// Write `files` (relative path, contents) under `dir`.
    pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
        for (rel, body) in files {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, body).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_filter_and_courses() {
        assert!(student_matches(None, "x"));
        assert!(student_matches(Some("a*"), "alice"));
        assert!(!student_matches(Some("a*"), "bob"));
        assert!(student_matches(Some("a+b"), "a+b"));
        let t = tempfile::tempdir().unwrap();
        for d in ["c2", "c1", ".hidden", "bad+id"] {
            std::fs::create_dir(t.path().join(d)).unwrap();
        }
        std::fs::write(t.path().join("file"), "").unwrap();
        assert_eq!(courses_under(t.path(), None).unwrap(), ["c1", "c2"]);
        assert!(courses_under(t.path(), Some(&["../x".to_string()])).is_err());
    }
}
