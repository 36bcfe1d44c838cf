//! Looking at an existing course: its directory, released assignments, student dirs; and
//! the `course` subcommands, which manage courses as hub groups ([`cmd`]).
//!
//! Every command that works on the exchange starts with [`anchor`] (or [`existing`]): from
//! then on every path below the root is resolved beneath a descriptor held on it, with no
//! link followed in any component ([`exchange_core::beneath`]). A course's instructors can
//! replace any of its reserved directories by a link into another course; [`refuse_links`]
//! names such a link before a command reads or writes anything, and the listings here skip
//! a link in place of a student's directory with a warning naming it.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use exchange_core::beneath;
use exchange_core::ids::{problem, IdKind};
use exchange_core::layout::{check_root, Course};
use exchange_core::walk::{self, Kind};

pub mod cmd;

/// The ledger directory of the notary (`{root}/.nbk8s-notary`), outside every course.
pub const NOTARY_DIR: &str = ".nbk8s-notary";

/// Anchor the exchange root, which must exist as a directory: every later path below it is
/// resolved beneath a descriptor held on it, never through a link.
pub fn anchor(root: &Path) -> anyhow::Result<()> {
    check_root(root)?;
    beneath::anchor(root)
        .with_context(|| format!("cannot open the exchange root {}", root.display()))
}

/// [`anchor`], creating the root (0755) first when it does not exist: for the commands that
/// set up an exchange (`init`, `provision`, `course add`, `migrate`).
pub fn anchor_creating(root: &Path) -> anyhow::Result<()> {
    if check_root(root).is_err() && beneath::lstat(root)?.is_none() {
        // The root is configuration, outside every anchor: made as given, then held.
        match beneath::mkdir(root, 0o755) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(e)
                    .with_context(|| format!("cannot create the exchange root {}", root.display()))
            }
            _ => beneath::chmod(root, 0o755)
                .with_context(|| format!("cannot set the mode of {}", root.display()))?,
        }
    }
    anchor(root)
}

/// Before creating or repairing `course`: its id checked, the root anchored (created when
/// missing) and none of the course's reserved directories that pods do not mount a link
/// (the course and its three parts are the core's to refuse, in its provisioning's words).
pub fn prepare(root: &Path, course: &str) -> anyhow::Result<()> {
    let c = Course::new(root, course)?;
    anchor_creating(root)?;
    let mounted = [
        c.dir().to_path_buf(),
        c.outbound(),
        c.inbound(),
        c.feedback_public(),
    ];
    match links_among(root, &c)?
        .into_iter()
        .find(|l| !mounted.contains(l))
    {
        Some(link) => bail!("{}", link_message(&link, course)),
        None => Ok(()),
    }
}

/// The course `course` under `root`, which must exist as a real directory, none of whose
/// reserved directories is a link ([`refuse_links`]). Anchors the root first.
pub fn existing(root: &Path, course: &str) -> anyhow::Result<Course> {
    let c = existing_dir(root, course)?;
    refuse_links(root, &c)?;
    Ok(c)
}

/// The course `course` under `root`, which must exist as a real directory (its reserved
/// directories may be anything: for `audit`, which reports them). Anchors the root first.
pub fn existing_dir(root: &Path, course: &str) -> anyhow::Result<Course> {
    anchor(root)?;
    let c = Course::new(root, course)?;
    match walk::kind_of(c.dir()) {
        Ok(Some(Kind::Dir)) => {}
        Ok(None) => bail!(
            "course {course:?} does not exist under {} (create it with `nbgrader-k8s init {course}`)",
            root.display()
        ),
        Ok(Some(Kind::Symlink)) => bail!("{}", link_message(c.dir(), course)),
        Ok(Some(kind)) => bail!("{} is a {}, not a course directory", c.dir().display(), kind.describe()),
        Err(e) => bail!("cannot inspect {}: {e}", c.dir().display()),
    }
    Ok(c)
}

/// The directories of `course` that whole-course code resolves paths through, the course
/// itself first: a link at any of them would redirect a command into another course.
pub fn reserved_dirs(root: &Path, course: &Course) -> Vec<PathBuf> {
    let id = course.dir().file_name().unwrap_or_default();
    vec![
        course.dir().to_path_buf(),
        course.outbound(),
        course.inbound(),
        course.feedback_public(),
        course.dir().join(NOTARY_DIR),
        course.removed(),
        root.join(NOTARY_DIR).join(id),
    ]
}

/// Fail, naming it, when any of the course's reserved directories ([`reserved_dirs`]) is a
/// symbolic link. Absent ones are fine (the command says what it needs).
pub fn refuse_links(root: &Path, course: &Course) -> anyhow::Result<()> {
    let id = course
        .dir()
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    match links_among(root, course)?.first() {
        Some(link) => bail!("{}", link_message(link, &id)),
        None => Ok(()),
    }
}

/// The course's reserved directories ([`reserved_dirs`]) that are symbolic links, in that
/// order; below a link nothing is looked at.
pub fn links_among(root: &Path, course: &Course) -> anyhow::Result<Vec<PathBuf>> {
    let mut links: Vec<PathBuf> = Vec::new();
    for dir in reserved_dirs(root, course) {
        if links.iter().any(|l| dir.starts_with(l)) {
            continue;
        }
        if is_link(&dir).with_context(|| format!("cannot inspect {}", dir.display()))? {
            links.push(dir);
        }
    }
    Ok(links)
}

/// Whether `path` is a symbolic link itself (no link is followed on the way: one there
/// fails, naming it).
pub fn is_link(path: &Path) -> io::Result<bool> {
    Ok(beneath::lstat(path)?.is_some_and(|st| Kind::of(&st) == Kind::Symlink))
}

/// The refusal of a link at `path` in `course`.
pub fn link_message(path: &Path, course: &str) -> String {
    format!(
        "{} is a symbolic link: no link is followed on the exchange (replace it by the real \
         directory; `nbgrader-k8s audit {course}` lists every link)",
        path.display()
    )
}

/// The warning for a link skipped in a listing.
pub fn skipped_link(path: &Path) -> String {
    format!(
        "{} is a symbolic link: not followed, skipped",
        path.display()
    )
}

/// Names of the real directories directly in `dir` that are valid ids of `kind`, without
/// the exchange's dot-names; sorted. A missing `dir` has none; one that cannot be listed
/// (a link on the way, named) fails. A link in place of a directory is skipped with a
/// warning in `warnings`.
pub fn child_ids(
    dir: &Path,
    kind: IdKind,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Vec<String>> {
    let children = match walk::children(dir) {
        Ok(children) => children,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut names = Vec::new();
    for c in children {
        if problem(kind, &c.name).is_some() {
            continue;
        }
        match c.kind {
            Kind::Dir => names.push(c.name),
            Kind::Symlink => warnings.push(skipped_link(&c.path)),
            _ => {}
        }
    }
    names.sort();
    Ok(names)
}
