//! Paths of the on-disk layout (DESIGN.md): one course under the exchange root.

use std::path::{Path, PathBuf};

use crate::error::Result;
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
    /// `{assignment_dir}/[{course}/]{assignment}`, absolute, as nbgrader computes it.
    pub fn assignment(&self, course: &str, assignment: &str) -> PathBuf {
        let base = absolute(self.assignment_dir);
        if self.path_includes_course {
            base.join(course).join(assignment)
        } else {
            base.join(assignment)
        }
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
        assert!(Course::new(Path::new("/ex"), "..").is_err());
        let local = |path_includes_course| LocalDirs {
            assignment_dir: Path::new("/h"),
            path_includes_course,
        };
        assert_eq!(local(true).assignment("c", "a"), Path::new("/h/c/a"));
        assert_eq!(local(false).assignment("c", "a"), Path::new("/h/a"));
    }
}
