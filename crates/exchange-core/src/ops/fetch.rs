//! `fetch_assignment`: copy a release into the student's workspace.

use std::path::{Path, PathBuf};

use crate::copy::{copy_path, CopyOptions};
use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::{absolute, Course};
use crate::safefs::{self, Kind};
use crate::stage::Staged;
use crate::walk::Filter;

use super::child_dirs;

/// What a fetch did.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The local assignment directory.
    pub path: PathBuf,
    /// Files written, relative to `path`.
    pub created: Vec<String>,
    /// Skipped entries.
    pub warnings: Vec<String>,
}

/// Copy `outbound/{assignment}` to `dest` (see the pyi for the three cases).
pub fn fetch_assignment(
    root: &Path,
    course: &str,
    assignment: &str,
    dest: &Path,
    replace_missing: bool,
    ignore: &[String],
) -> Result<Fetched> {
    let course_dir = Course::new(root, course)?;
    validate(IdKind::Assignment, assignment)?;
    let src = course_dir.release(assignment);
    if safefs::lkind(&src).map_err(|e| Error::io("inspect", &src, e))? != Some(Kind::Dir) {
        let released = child_dirs(&course_dir.outbound(), false);
        let list = if released.is_empty() {
            "none".to_string()
        } else {
            released.join(", ")
        };
        return Err(Error::NotFound(format!(
            "Assignment {assignment:?} is not released in course {course:?} \
             (released assignments: {list})"
        )));
    }
    let dest = absolute(dest);
    let mut opts = CopyOptions {
        filter: Filter {
            ignore: ignore.to_vec(),
            ..Filter::default()
        },
        skip_existing: false,
    };
    let existing = safefs::lkind(&dest).map_err(|e| Error::io("inspect", &dest, e))?;
    let report = match existing {
        None => copy_fresh(&src, &dest, &opts)?,
        Some(_) if !replace_missing => {
            return Err(Error::Exists(format!(
                "You already have a copy of the assignment in this directory: {}",
                dest.display()
            )))
        }
        Some(_) => {
            opts.skip_existing = true;
            copy_path(&src, false, &dest, &opts)?
        }
    };
    Ok(Fetched {
        created: report
            .files
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        warnings: report.warnings,
        path: dest,
    })
}

/// Copy into a dot-named sibling of `dest`, then rename it in.
fn copy_fresh(src: &Path, dest: &Path, opts: &CopyOptions) -> Result<crate::copy::CopyReport> {
    let parent = dest
        .parent()
        .ok_or_else(|| Error::InvalidArgument(format!("{} has no parent", dest.display())))?;
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    // Only the exchange's own dot-named leftovers (an interrupted fetch), an hour old.
    crate::leftovers::sweep(parent, crate::leftovers::LEFTOVER_AGE);
    let staged = Staged::create(parent)?;
    let report = copy_path(src, false, staged.path(), opts)?;
    let name = dest
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    staged.publish(&name, false)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::write_tree;

    #[test]
    fn fetch_fresh_exists_and_replace_missing() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("ex");
        write_tree(
            &root.join("c1/outbound/ps1"),
            &[("a.ipynb", "A"), ("b.ipynb", "B")],
        );
        let dest = t.path().join("home/ps1");
        let f = fetch_assignment(&root, "c1", "ps1", &dest, false, &[]).unwrap();
        assert_eq!(f.created, ["a.ipynb", "b.ipynb"]);
        let err = fetch_assignment(&root, "c1", "ps1", &dest, false, &[]).unwrap_err();
        assert_eq!(err.kind(), "exists");
        std::fs::remove_file(dest.join("b.ipynb")).unwrap();
        std::fs::write(dest.join("a.ipynb"), "mine").unwrap();
        let f = fetch_assignment(&root, "c1", "ps1", &dest, true, &[]).unwrap();
        assert_eq!(f.created, ["b.ipynb"]);
        assert_eq!(
            std::fs::read_to_string(dest.join("a.ipynb")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn missing_release_lists_released() {
        let t = tempfile::tempdir().unwrap();
        write_tree(&t.path().join("c1/outbound/ps1"), &[("a.ipynb", "A")]);
        let err = fetch_assignment(t.path(), "c1", "ps9", &t.path().join("d"), false, &[]);
        let err = err.unwrap_err();
        assert_eq!(err.kind(), "not_found");
        assert!(err.to_string().contains("ps1"), "{err}");
    }
}
