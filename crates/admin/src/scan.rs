//! The audit's view of a tree: every entry's kind, owner, mode and ctime, read without
//! following a symlink anywhere (each directory is opened relative to its parent with
//! `O_NOFOLLOW`, so a student swapping a directory for a link cannot redirect the scan).

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use exchange_core::safefs::{self, Kind};
use rustix::fs::Stat;

/// Deepest level scanned; a student cannot make the audit recurse without end.
pub const MAX_DEPTH: usize = 64;

/// One entry as `lstat` sees it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Full path (for messages).
    pub path: PathBuf,
    /// Name (last component).
    pub name: String,
    /// Kind, never following a symlink.
    pub kind: Kind,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
    /// Change time, seconds since the epoch.
    pub ctime: i64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// 1 for direct children of the scanned directory.
    pub depth: usize,
}

impl Seen {
    /// From an `lstat` result.
    pub fn from_stat(path: PathBuf, stat: &Stat, depth: usize) -> Self {
        Seen {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path,
            kind: Kind::of(stat),
            uid: stat.st_uid,
            gid: stat.st_gid,
            mode: stat.st_mode & 0o7777,
            ctime: stat.st_ctime,
            mtime: stat.st_mtime,
            depth,
        }
    }
}

/// `lstat(path)` as a [`Seen`] at depth 0; None when absent.
pub fn look(path: &Path) -> std::io::Result<Option<Seen>> {
    match rustix::fs::lstat(path) {
        Ok(stat) => Ok(Some(Seen::from_stat(path.to_path_buf(), &stat, 0))),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The direct children of the real directory `dir` (a symlink there is refused).
pub fn children(dir: &Path) -> std::io::Result<Vec<Seen>> {
    let fd = safefs::open_dir(dir, false)?;
    let mut out = Vec::new();
    for name in safefs::read_names(fd.as_fd())? {
        let stat = safefs::stat_at(fd.as_fd(), &name)?;
        out.push(Seen::from_stat(dir.join(&name), &stat, 1));
    }
    Ok(out)
}

/// Call `visit` for every entry below the real directory `dir` (pre-order); a directory
/// is descended into only when `visit` returns true for it. Unreadable directories are
/// reported as `(path, error)` and skipped.
pub fn walk(dir: &Path, visit: &mut dyn FnMut(&Seen) -> bool) -> Vec<(PathBuf, String)> {
    let mut problems = Vec::new();
    match safefs::open_dir(dir, false) {
        Ok(fd) => walk_fd(fd.as_fd(), dir, 1, visit, &mut problems),
        Err(e) => problems.push((dir.to_path_buf(), e.to_string())),
    }
    problems
}

fn walk_fd(
    fd: BorrowedFd<'_>,
    dir: &Path,
    depth: usize,
    visit: &mut dyn FnMut(&Seen) -> bool,
    problems: &mut Vec<(PathBuf, String)>,
) {
    let names = match safefs::read_names(fd) {
        Ok(names) => names,
        Err(e) => {
            problems.push((dir.to_path_buf(), format!("cannot read directory ({e})")));
            return;
        }
    };
    for name in names {
        let path = dir.join(&name);
        let stat = match safefs::stat_at(fd, &name) {
            Ok(stat) => stat,
            Err(e) => {
                problems.push((path, format!("cannot stat ({e})")));
                continue;
            }
        };
        let seen = Seen::from_stat(path, &stat, depth);
        if visit(&seen) && seen.kind == Kind::Dir {
            descend(fd, &name, &seen.path, depth, visit, problems);
        }
    }
}

fn descend(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    path: &Path,
    depth: usize,
    visit: &mut dyn FnMut(&Seen) -> bool,
    problems: &mut Vec<(PathBuf, String)>,
) {
    if depth >= MAX_DEPTH {
        problems.push((
            path.to_path_buf(),
            format!("deeper than {MAX_DEPTH} levels; not scanned further"),
        ));
        return;
    }
    match safefs::open_dir_at(parent, name) {
        Ok(sub) => walk_fd(sub.as_fd(), path, depth + 1, visit, problems),
        Err(e) => problems.push((path.to_path_buf(), format!("cannot open directory ({e})"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_links_as_links_and_prunes() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/b/f"), "x").unwrap();
        std::fs::create_dir(d.join("skip")).unwrap();
        std::fs::write(d.join("skip/hidden"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", d.join("a/link")).unwrap();
        let mut seen = Vec::new();
        let problems = walk(d, &mut |s| {
            seen.push((s.name.clone(), s.kind, s.depth));
            s.name != "skip"
        });
        assert!(problems.is_empty());
        assert_eq!(
            seen,
            [
                ("a".to_string(), Kind::Dir, 1),
                ("b".to_string(), Kind::Dir, 2),
                ("f".to_string(), Kind::File, 3),
                ("link".to_string(), Kind::Symlink, 2),
                ("skip".to_string(), Kind::Dir, 1),
            ]
        );
        assert_eq!(children(d).unwrap().len(), 2);
        assert!(children(&d.join("a/link")).is_err());
    }
}
