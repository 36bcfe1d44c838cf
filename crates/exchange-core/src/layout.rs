//! Paths of the on-disk layout (DESIGN.md): one course under the exchange root.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};

/// `{root}/{course}` and its parts. Built only from a validated course id.
#[derive(Debug, Clone)]
pub struct Course {
    dir: PathBuf,
}

impl Course {
    /// The course `course` under `root`; fails on an unsafe course id.
    pub fn new(root: &Path, course: &str) -> Result<Self> {
        validate(IdKind::Course, course)?;
        // Every path of the course is resolved beneath the root from here on. A root that
        // cannot be opened is reported by the first operation that needs it.
        let _ = crate::beneath::anchor(root);
        Ok(Course {
            dir: absolute(&root.join(course)),
        })
    }

    /// `{root}/{course}`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `{root}/{course}/outbound`.
    pub fn outbound(&self) -> PathBuf {
        self.dir.join("outbound")
    }

    /// `{root}/{course}/inbound`.
    pub fn inbound(&self) -> PathBuf {
        self.dir.join("inbound")
    }

    /// `{root}/{course}/feedback_public`.
    pub fn feedback_public(&self) -> PathBuf {
        self.dir.join("feedback_public")
    }

    /// `outbound/{assignment}` (the id must have been validated).
    pub fn release(&self, assignment: &str) -> PathBuf {
        self.outbound().join(assignment)
    }

    /// `{root}/{course}/.nbk8s-removed`: submissions an instructor removed with `nbgrader
    /// list --inbound --remove`, kept (instructor-only, outside every inbox) until `gc`.
    pub fn removed(&self) -> PathBuf {
        self.dir.join(REMOVED_DIR)
    }
}

/// Name of the course's removed-submissions directory ([`Course::removed`]).
pub const REMOVED_DIR: &str = ".nbk8s-removed";

/// Fail unless the exchange root is an existing directory. A missing root means the
/// exchange volume is not mounted where this runs: creating it would write releases and
/// submissions to the pod's own disk, where nobody else sees them and they vanish.
pub fn check_root(root: &Path) -> Result<()> {
    match std::fs::metadata(root) {
        // From here on every path below the root is resolved beneath it.
        Ok(meta) if meta.is_dir() => {
            crate::beneath::anchor(root).map_err(|e| Error::io("open", root, e))
        }
        Ok(_) => Err(Error::NotFound(format!(
            "the exchange root {} is not a directory (Exchange.root)",
            root.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound(format!(
            "the exchange root {} does not exist: the exchange volume is not mounted here \
             (in a pod: check its exchange volumeMounts, see `nbgrader-k8s mounts`; on one \
             machine: create the directory, or set Exchange.root)",
            root.display()
        ))),
        Err(e) => Err(Error::io("inspect the exchange root", root, e)),
    }
}

/// `path` made absolute against the working directory, without resolving symlinks.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Where a student's local copies live: their fetched assignments and the feedback
/// fetched into them (nbgrader's `Exchange.assignment_dir` and `path_includes_course`).
#[derive(Debug, Clone, Copy)]
pub struct LocalDirs<'a> {
    /// `Exchange.assignment_dir`.
    pub assignment_dir: &'a Path,
    /// `Exchange.path_includes_course`.
    pub path_includes_course: bool,
}

impl LocalDirs<'_> {
    /// `{assignment_dir}/[{course}/]{assignment}` made absolute and normalised the way
    /// Python's `os.path.abspath` does it (no `.`, `..` or trailing `/` left; `nbgrader
    /// submit ps1/` names `ps1`), as nbgrader computes it.
    pub fn assignment(&self, course: &str, assignment: &str) -> PathBuf {
        let mut path = absolute(self.assignment_dir);
        if self.path_includes_course {
            path.push(course);
        }
        path.push(assignment);
        normalise(&path)
    }
}

/// `posixpath.normpath` of an absolute path: `.` dropped, `..` taken back lexically.
fn normalise(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The instructor's course directory as nbgrader's `CourseDirectory` lays it out: where
/// `collect` puts each student's submission.
#[derive(Debug, Clone, Copy)]
pub struct CourseDirs<'a> {
    /// `CourseDirectory.root`.
    pub root: &'a Path,
    /// `CourseDirectory.directory_structure`, e.g. `{nbgrader_step}/{student_id}/{assignment_id}`.
    pub directory_structure: &'a str,
    /// `CourseDirectory.submitted_directory`, e.g. `submitted`.
    pub submitted_directory: &'a str,
}

impl CourseDirs<'_> {
    /// `CourseDirectory.format_path(submitted_directory, student, assignment)`: the
    /// structure with its `{nbgrader_step}`, `{student_id}` and `{assignment_id}` filled in
    /// (`{{`/`}}` are literal braces, as in `str.format`), joined to the root. Anything else
    /// in braces is refused, naming the setting.
    pub fn submitted(&self, student: &str, assignment: &str) -> Result<PathBuf> {
        let mut out = String::new();
        let mut rest = self.directory_structure;
        let bad = |why: String| {
            Error::InvalidArgument(format!(
                "CourseDirectory.directory_structure {:?} {why}",
                self.directory_structure
            ))
        };
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
                out.push_str(&tail[..1]);
                rest = after;
                continue;
            }
            let Some(end) = tail.strip_prefix('{').and_then(|t| t.find('}')) else {
                return Err(bad("has an unmatched brace".to_string()));
            };
            out.push_str(match &tail[1..=end] {
                "nbgrader_step" => self.submitted_directory,
                "student_id" => student,
                "assignment_id" => assignment,
                other => {
                    return Err(bad(format!(
                        "uses {{{other}}}, which nbgrader does not fill"
                    )))
                }
            });
            rest = &tail[end + 2..];
        }
        out.push_str(rest);
        Ok(absolute(&self.root.join(out)))
    }
}

/// A path as the string handed back to Python.
pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let c = Course::new(Path::new("/ex"), "c1").unwrap();
        assert_eq!(c.release("ps1"), Path::new("/ex/c1/outbound/ps1"));
        assert_eq!(c.inbound(), Path::new("/ex/c1/inbound"));
        assert_eq!(c.feedback_public(), Path::new("/ex/c1/feedback_public"));
        assert_eq!(c.removed(), Path::new("/ex/c1/.nbk8s-removed"));
        assert!(Course::new(Path::new("/ex"), "..").is_err());
        let local = |path_includes_course| LocalDirs {
            assignment_dir: Path::new("/h"),
            path_includes_course,
        };
        assert_eq!(local(true).assignment("c", "a"), Path::new("/h/c/a"));
        assert_eq!(local(false).assignment("c", "a"), Path::new("/h/a"));
        for messy in ["a/", "./a", "a/.", "x/../a"] {
            assert_eq!(
                local(false).assignment("c", messy),
                Path::new("/h/a"),
                "{messy}"
            );
        }
        assert_eq!(
            local(false).assignment("c", "a/").to_str(),
            Some("/h/a"),
            "no trailing slash"
        );
    }

    #[test]
    fn a_missing_root_is_not_mounted() {
        let t = tempfile::tempdir().unwrap();
        assert!(check_root(t.path()).is_ok());
        let missing = t.path().join("exchange");
        let err = check_root(&missing).unwrap_err();
        assert_eq!(err.kind(), "not_found");
        let msg = err.to_string();
        assert!(msg.contains(&missing.display().to_string()) && msg.contains("not mounted"));
        assert!(!missing.exists(), "nothing is created");
        std::fs::write(&missing, "").unwrap();
        assert!(check_root(&missing)
            .unwrap_err()
            .to_string()
            .contains("not a directory"));
    }

    #[test]
    fn course_dirs_like_format_path() {
        let dirs = |structure| CourseDirs {
            root: Path::new("/course"),
            directory_structure: structure,
            submitted_directory: "submitted",
        };
        let default = dirs("{nbgrader_step}/{student_id}/{assignment_id}");
        assert_eq!(
            default.submitted("a{b}+c", "ps1").unwrap(),
            Path::new("/course/submitted/a{b}+c/ps1")
        );
        assert_eq!(
            dirs("x{{y}}/{assignment_id}/{student_id}")
                .submitted("s", "a")
                .unwrap(),
            Path::new("/course/x{y}/a/s")
        );
        for bad in ["{course_id}/{student_id}", "{student_id", "}x"] {
            let err = dirs(bad).submitted("s", "a").unwrap_err();
            assert_eq!(err.kind(), "invalid_argument", "{bad}");
            assert!(err.to_string().contains("directory_structure"), "{err}");
        }
    }
}
