//! Placing trees and files into the exchange from outside it (`nbgrader-k8s migrate`), and
//! taking trees out (`gc`): staged copies published by rename, owned uid:gid, never
//! overwriting what is already there (so a rerun skips what an earlier run brought in),
//! and removal by moving aside first, so a reader never sees a half-written or
//! half-removed tree.

use std::os::fd::AsFd;
use std::path::Path;

use crate::copy::{copy_path, CopyOptions};
use crate::safefs::{self, Kind};
use crate::stage::{write_file_at, Staged};
use rustix::fs::{AtFlags, Gid, Uid};

/// Largest file placed.
pub const MAX_FILE: u64 = 512 * 1024 * 1024;

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Copied; with notes (skipped links, chown failures).
    Copied(Vec<String>),
    /// The same name was already in the new exchange.
    Already,
}

/// Copy the directory `src` to `parent/name` unless that exists.
pub fn place_dir(
    src: &Path,
    parent: &Path,
    name: &str,
    owner: (u32, u32),
) -> Result<Outcome, String> {
    if present(&parent.join(name), Kind::Dir)? {
        return Ok(Outcome::Already);
    }
    let staged = Staged::create(parent).map_err(|e| e.to_string())?;
    let report =
        copy_path(src, false, staged.path(), &CopyOptions::default()).map_err(|e| e.to_string())?;
    let mut notes = report.warnings;
    notes.extend(chown_tree(staged.path(), owner));
    staged.publish(name, false).map_err(|e| e.to_string())?;
    Ok(Outcome::Copied(notes))
}

/// Copy the directory `src` (not followed if a link) to `parent/name`, replacing what is
/// there once `check` has accepted the staged copy: the old tree is left as dot-named trash
/// for a later [`sweep`](crate::leftovers::sweep), so a reader copying it finishes. Links
/// in `src` are left out (the notes say which).
pub fn replace_dir(
    src: &Path,
    parent: &Path,
    name: &str,
    check: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<Vec<String>, String> {
    let staged = Staged::create(parent).map_err(|e| e.to_string())?;
    let report =
        copy_path(src, false, staged.path(), &CopyOptions::default()).map_err(|e| e.to_string())?;
    check(staged.path())?;
    staged
        .publish_keeping_old(name)
        .map_err(|e| e.to_string())?;
    Ok(report.warnings)
}

/// Copy the file `src` to `dir/name` (never through a link planted there) unless a file
/// with the same content is there; a different one there is an error.
pub fn place_file(
    src: &Path,
    dir: &Path,
    name: &str,
    owner: (u32, u32),
) -> Result<Outcome, String> {
    let bytes = read(src)?;
    let target = dir.join(name);
    if present(&target, Kind::File)? {
        return if read(&target)? == bytes {
            Ok(Outcome::Already)
        } else {
            Err(format!("a different {} is already there", target.display()))
        };
    }
    let fd =
        safefs::open_dir(dir, false).map_err(|e| format!("cannot open {} ({e})", dir.display()))?;
    write_file_at(fd.as_fd(), name, &bytes)
        .map_err(|e| format!("cannot write {} ({e})", target.display()))?;
    let mut notes = Vec::new();
    if needs_chown(owner) {
        if let Err(e) = rustix::fs::chownat(
            fd.as_fd(),
            name,
            Some(Uid::from_raw(owner.0)),
            Some(Gid::from_raw(owner.1)),
            AtFlags::SYMLINK_NOFOLLOW,
        ) {
            notes.push(format!(
                "cannot chown {} to {}:{} ({e})",
                target.display(),
                owner.0,
                owner.1
            ));
        }
    }
    Ok(Outcome::Copied(notes))
}

/// Write `bytes` as the file `name` (0644) in the real directory `dir`, replacing what is
/// there by temp file + rename: a reader sees the old file or the new one, and neither
/// `dir` nor `name` is followed if it is a symlink (a planted link is refused, or replaced).
pub fn write_file_in(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    // Held, not opened for reading (`O_PATH`): it is only the base of the `*at` calls, and
    // on a network volume that spares an open and a release round trip per file written
    // (the notary writes one into every student's feedback dir after a first pass).
    let flags = rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY;
    let fd = crate::beneath::open(dir, flags, rustix::fs::Mode::empty())?;
    write_file_at(fd.as_fd(), name, bytes)
}

/// Whether `target` is already there as a `kind` (true) or absent (false); anything else in
/// its place is an error naming it.
fn present(target: &Path, kind: Kind) -> Result<bool, String> {
    match safefs::lkind(target) {
        Ok(None) => Ok(false),
        Ok(Some(found)) if found == kind => Ok(true),
        Ok(Some(found)) => Err(format!(
            "a {} is in the way at {}",
            found.describe(),
            target.display()
        )),
        Err(e) => Err(format!("cannot inspect {} ({e})", target.display())),
    }
}

/// The bytes of the regular file at `path` (at most [`MAX_FILE`]), never through a link.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    match safefs::read_small(path, MAX_FILE) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(format!("{} is not a regular file", path.display())),
        Err(e) => Err(format!("cannot read {} ({e})", path.display())),
    }
}

fn needs_chown(owner: (u32, u32)) -> bool {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    ) != owner
}

/// Give everything under `dir` (which this process just created: directories and regular
/// files only) to `owner`. Failures are notes, not errors: the files are there either way.
fn chown_tree(dir: &Path, owner: (u32, u32)) -> Vec<String> {
    if !needs_chown(owner) {
        return Vec::new();
    }
    let chown = |path: &Path| {
        crate::beneath::lchown(path, owner.0, owner.1).map_err(|e| {
            format!(
                "cannot chown {} to {}:{} ({e})",
                path.display(),
                owner.0,
                owner.1
            )
        })
    };
    if let Err(note) = chown(dir) {
        return vec![note];
    }
    // One note is enough: the rest would fail alike.
    let mut note = None;
    let skipped = crate::walk::scan(dir, &mut |seen| {
        if note.is_some() {
            return false;
        }
        note = chown(&seen.path).err();
        seen.kind == crate::walk::Kind::Dir
    });
    note.into_iter()
        .chain(skipped.iter().map(ToString::to_string))
        .collect()
}

/// Remove the tree or file at `path` the safe way: moved aside to dot-named trash, then
/// deleted, so a reader sees it whole or absent. Ok(false) when it was absent; a failure
/// to delete the trash is an error naming it (a later sweep or `gc` retries).
pub fn remove_tree(path: &Path) -> crate::Result<bool> {
    match crate::stage::withdraw(path)? {
        (removed, None) => Ok(removed),
        (_, Some(warning)) => Err(crate::Error::io(
            "remove",
            path,
            std::io::Error::other(warning),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> (u32, u32) {
        (
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw(),
        )
    }

    #[test]
    fn copies_once_then_already() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        let dest = t.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let Outcome::Copied(notes) = place_dir(&src, &dest, "n", me()).unwrap() else {
            panic!()
        };
        assert!(notes.iter().any(|n| n.contains("link")), "{notes:?}");
        assert_eq!(std::fs::read_to_string(dest.join("n/sub/f")).unwrap(), "x");
        assert!(!dest.join("n/link").exists());
        assert_eq!(place_dir(&src, &dest, "n", me()).unwrap(), Outcome::Already);
    }

    #[test]
    fn files_never_through_links() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("k.html");
        std::fs::write(&src, "fb").unwrap();
        let dir = t.path().join("fp");
        std::fs::create_dir(&dir).unwrap();
        assert!(matches!(
            place_file(&src, &dir, "k.html", me()).unwrap(),
            Outcome::Copied(_)
        ));
        assert_eq!(
            place_file(&src, &dir, "k.html", me()).unwrap(),
            Outcome::Already
        );
        std::fs::write(dir.join("k.html"), "other").unwrap();
        assert!(place_file(&src, &dir, "k.html", me())
            .unwrap_err()
            .contains("different"));
        std::os::unix::fs::symlink(&src, dir.join("l.html")).unwrap();
        assert!(place_file(&src, &dir, "l.html", me())
            .unwrap_err()
            .contains("symlink"));
    }
}
