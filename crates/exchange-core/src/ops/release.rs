//! `release_assignment` / `unrelease_assignment`: publish to and withdraw from `outbound/`.

use std::path::{Path, PathBuf};

use crate::copy::{copy_path, CopyOptions};
use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::Course;
use crate::leftovers::{self, LEFTOVER_AGE};
use crate::safefs;
use crate::stage::{self, Staged};
use crate::walk::Filter;

use super::ensure_course_tree;

/// What a release did.
#[derive(Debug, Clone)]
pub struct Released {
    /// `outbound/{assignment}`.
    pub path: PathBuf,
    /// Whether an earlier release was replaced (`force`).
    pub replaced: bool,
    /// Number of files published.
    pub files: usize,
    /// Skipped entries and other notes.
    pub warnings: Vec<String>,
}

/// Publish `source` as `{root}/{course}/outbound/{assignment}` (see the pyi for details).
pub fn release_assignment(
    root: &Path,
    course: &str,
    assignment: &str,
    source: &Path,
    force: bool,
    filter: &Filter,
) -> Result<Released> {
    let course = Course::new(root, course)?;
    validate(IdKind::Assignment, assignment)?;
    let path = course.release(assignment);
    let exists = |p: &Path| safefs::lkind(p).map_err(|e| Error::io("inspect", p, e));
    if !force && exists(&path)?.is_some() {
        return Err(Error::Exists(format!(
            "Destination already exists, add --force to overwrite: {}",
            path.display()
        )));
    }
    ensure_course_tree(&course)?;
    let outbound = course.outbound();
    let mut warnings = leftovers::sweep(&outbound, LEFTOVER_AGE);
    let staged = Staged::create(&outbound)?;
    let opts = CopyOptions {
        filter: filter.clone(),
        skip_existing: false,
    };
    let report = copy_path(source, true, staged.path(), &opts)?;
    warnings.extend(report.warnings);
    // A replaced release stays as trash for an hour: a student fetching it right now
    // gets all of the old one rather than part of it (the next release sweeps it).
    let published = if force {
        staged.publish_keeping_old(assignment)?
    } else {
        staged.publish(assignment, false)?
    };
    warnings.extend(published.warning);
    Ok(Released {
        path,
        replaced: published.replaced,
        files: report.files.len(),
        warnings,
    })
}

/// What withdrawing a release did.
#[derive(Debug, Clone)]
pub struct Unreleased {
    /// `outbound/{assignment}`.
    pub path: PathBuf,
    /// Whether there was a release to remove.
    pub removed: bool,
    /// Notes (trash left behind).
    pub warnings: Vec<String>,
}

/// Withdraw `outbound/{assignment}`: rename it to trash, removed by a later run after
/// [`LEFTOVER_AGE`] (a student fetching it right now still gets all of it).
pub fn unrelease_assignment(root: &Path, course: &str, assignment: &str) -> Result<Unreleased> {
    let course = Course::new(root, course)?;
    validate(IdKind::Assignment, assignment)?;
    let path = course.release(assignment);
    let warnings = leftovers::sweep(&course.outbound(), LEFTOVER_AGE);
    let removed = stage::withdraw_keeping_old(&path)?;
    Ok(Unreleased {
        path,
        removed,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::write_tree;
    use std::fs;

    #[test]
    fn release_force_and_unrelease() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("release/ps1");
        write_tree(&src, &[("ps1.ipynb", "{}"), ("data/x.csv", "1")]);
        let root = t.path().join("exchange");
        fs::create_dir(&root).unwrap();
        let r = release_assignment(&root, "c1", "ps1", &src, false, &Filter::everything()).unwrap();
        assert_eq!(r.files, 2);
        assert!(!r.replaced);
        for d in ["outbound", "inbound", "feedback_public"] {
            assert!(root.join("c1").join(d).is_dir());
        }
        assert!(root.join("c1/outbound/ps1/data/x.csv").is_file());
        let again = release_assignment(&root, "c1", "ps1", &src, false, &Filter::everything());
        assert_eq!(again.unwrap_err().kind(), "exists");
        write_tree(&src, &[("new.txt", "n")]);
        let r = release_assignment(&root, "c1", "ps1", &src, true, &Filter::everything()).unwrap();
        assert!(r.replaced);
        assert!(root.join("c1/outbound/ps1/new.txt").is_file());
        assert_eq!(data(&root.join("c1/outbound")), ["ps1"]);
        assert!(unrelease_assignment(&root, "c1", "ps1").unwrap().removed);
        assert!(!unrelease_assignment(&root, "c1", "ps1").unwrap().removed);
        assert!(data(&root.join("c1/outbound")).is_empty());
        // The replaced and withdrawn trees wait as trash; an hour on, a run removes them.
        assert_eq!(fs::read_dir(root.join("c1/outbound")).unwrap().count(), 2);
        leftovers::sweep(&root.join("c1/outbound"), std::time::Duration::ZERO);
        assert_eq!(fs::read_dir(root.join("c1/outbound")).unwrap().count(), 0);
    }

    fn data(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_fetch_begun_before_force_gets_the_whole_old_release() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("exchange");
        fs::create_dir(&root).unwrap();
        let old = t.path().join("old");
        write_tree(&old, &[("a.ipynb", "old a"), ("sub/b.txt", "old b")]);
        release_assignment(&root, "c1", "ps1", &old, false, &Filter::everything()).unwrap();
        // A student's copy has opened the release (as fetch does) when the instructor forces.
        let reader = safefs::open_dir(&root.join("c1/outbound/ps1"), false).unwrap();
        let new = t.path().join("new");
        write_tree(&new, &[("a.ipynb", "new a")]);
        release_assignment(&root, "c1", "ps1", &new, true, &Filter::everything()).unwrap();
        let dest = t.path().join("copy");
        fs::create_dir(&dest).unwrap();
        let opts = crate::copy::CopyOptions::default();
        crate::copy::copy_tree(reader, Path::new("ps1"), &dest, &opts).unwrap();
        assert_eq!(fs::read_to_string(dest.join("a.ipynb")).unwrap(), "old a");
        assert_eq!(fs::read_to_string(dest.join("sub/b.txt")).unwrap(), "old b");
    }

    #[test]
    fn bad_ids_write_nothing() {
        let t = tempfile::tempdir().unwrap();
        let err = release_assignment(
            t.path(),
            "c1",
            "a+b",
            t.path(),
            false,
            &Filter::everything(),
        );
        assert_eq!(err.unwrap_err().kind(), "invalid_id");
        assert!(!t.path().join("c1").exists());
    }
}
