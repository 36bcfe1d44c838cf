//! Looking at an existing course: its directory, released assignments, student dirs; and
//! the `course` subcommands, which manage courses as hub groups ([`cmd`]).

use std::path::Path;

use anyhow::bail;
use exchange_core::ids::{problem, IdKind};
use exchange_core::layout::Course;
use exchange_core::walk::{self, Kind};

pub mod cmd;

/// The course `course` under `root`, which must exist as a real directory.
pub fn existing(root: &Path, course: &str) -> anyhow::Result<Course> {
    let c = Course::new(root, course)?;
    match walk::kind_of(c.dir()) {
        Ok(Some(Kind::Dir)) => Ok(c),
        Ok(None) => bail!(
            "course {course:?} does not exist under {} (create it with `nbgrader-k8s init {course}`)",
            root.display()
        ),
        Ok(Some(kind)) => bail!("{} is a {}, not a course directory", c.dir().display(), kind.describe()),
        Err(e) => bail!("cannot inspect {}: {e}", c.dir().display()),
    }
}

/// Names of the real directories directly in `dir` that are valid ids of `kind`, without
/// the exchange's dot-names; sorted. A missing `dir` has none.
pub fn child_ids(dir: &Path, kind: IdKind) -> Vec<String> {
    let mut names: Vec<String> = walk::children(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.kind == Kind::Dir && problem(kind, &c.name).is_none())
        .map(|c| c.name)
        .collect();
    names.sort();
    names
}
