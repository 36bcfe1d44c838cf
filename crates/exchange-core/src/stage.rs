//! Staging and publishing by `rename` in the same directory (DESIGN.md safety rule 3).
//!
//! Everything is built in a dot-named sibling (`.nbk8s-staging-*`) and renamed into place.
//! Replacing a directory moves the old one aside to `.nbk8s-trash-*` first, so a reader
//! sees the old tree, the new tree, or (for an instant) nothing, never a half-written one.
//! Where readers copy whole trees while it happens (students fetching a release), the old
//! tree is kept as trash until a later [`sweep`](crate::leftovers::sweep), so a copy begun before the switch ends
//! whole instead of losing the files deleted under it.
//! Readers ignore dot-named entries; [`sweep`](crate::leftovers::sweep) removes ones left by an interrupted run.

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::error::{Error, Result};
use crate::leftovers::{STAGING_PREFIX, TMP_PREFIX, TRASH_PREFIX};
use crate::names::random_part;
use crate::{beneath, safefs};

/// A dot-named directory being filled; removed on drop unless published.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    parent: PathBuf,
    published: bool,
}

/// What [`Staged::publish`] did.
#[derive(Debug, Default)]
pub struct Published {
    /// Whether an existing entry was replaced.
    pub replaced: bool,
    /// A problem removing the old entry (left as dot-named trash).
    pub warning: Option<String>,
}

impl Staged {
    /// Create an empty staging directory (0755) inside `parent`.
    pub fn create(parent: &Path) -> Result<Self> {
        let path = parent.join(format!("{STAGING_PREFIX}{}", random_part()));
        beneath::mkdir(&path, 0o755)
            .map_err(|e| Error::io("create staging directory", &path, e))?;
        safefs::set_mode(&path, 0o755).map_err(|e| Error::io("chmod", &path, e))?;
        Ok(Staged {
            path,
            parent: parent.to_path_buf(),
            published: false,
        })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rename into `parent/name`. An existing entry fails with kind `exists` unless
    /// `replace`, in which case it is moved aside to trash, then removed.
    pub fn publish(self, name: &str, replace: bool) -> Result<Published> {
        self.publish_inner(name, replace, true)
    }

    /// Rename into `parent/name`, replacing what is there, but leave the old entry as
    /// dot-named trash for [`sweep`](crate::leftovers::sweep) to remove later: a reader that opened the old tree
    /// before the switch (a student fetching a release) finishes copying all of it.
    pub fn publish_keeping_old(self, name: &str) -> Result<Published> {
        self.publish_inner(name, true, false)
    }

    fn publish_inner(mut self, name: &str, replace: bool, remove_old: bool) -> Result<Published> {
        let target = self.parent.join(name);
        let existing = safefs::lkind(&target).map_err(|e| Error::io("inspect", &target, e))?;
        let mut out = Published::default();
        let trash = match existing {
            None => None,
            Some(_) if !replace => {
                return Err(Error::Exists(format!(
                    "{} already exists",
                    target.display()
                )))
            }
            Some(_) => Some(move_aside(&target)?),
        };
        if let Err(e) = beneath::rename(&self.path, &target) {
            if let Some(trash) = &trash {
                let _ = beneath::rename(trash, &target);
            }
            return Err(Error::io("publish", &target, e));
        }
        self.published = true;
        if let Some(trash) = trash {
            out.replaced = true;
            if remove_old {
                out.warning = remove_trash(&trash);
            }
        }
        Ok(out)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.published {
            let _ = safefs::remove_any(&self.path);
        }
    }
}

/// Rename `path` to a dot-named trash sibling; returns the trash path.
pub fn move_aside(path: &Path) -> Result<PathBuf> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let trash = parent.join(format!("{TRASH_PREFIX}{}", random_part()));
    beneath::rename(path, &trash).map_err(|e| Error::io("move aside", path, e))?;
    Ok(trash)
}

/// Remove a trash entry; a warning when that fails (the next [`sweep`](crate::leftovers::sweep) retries).
pub fn remove_trash(trash: &Path) -> Option<String> {
    safefs::remove_any(trash).err().map(|e| {
        format!(
            "could not remove {} ({e}); it will be swept later",
            trash.display()
        )
    })
}

/// Remove `path` the safe way: move it aside, then delete. Ok(false) if it was absent.
pub fn withdraw(path: &Path) -> Result<(bool, Option<String>)> {
    if safefs::lkind(path)
        .map_err(|e| Error::io("inspect", path, e))?
        .is_none()
    {
        return Ok((false, None));
    }
    let trash = move_aside(path)?;
    Ok((true, remove_trash(&trash)))
}

/// Withdraw `path` by moving it aside to dot-named trash, left for [`sweep`](crate::leftovers::sweep) (see
/// [`Staged::publish_keeping_old`]). Ok(false) if it was absent.
pub fn withdraw_keeping_old(path: &Path) -> Result<bool> {
    if safefs::lkind(path)
        .map_err(|e| Error::io("inspect", path, e))?
        .is_none()
    {
        return Ok(false);
    }
    move_aside(path)?;
    Ok(true)
}

/// Write `bytes` as `name` inside the directory open as `dir` (0644), via a dot-named temp
/// file and `renameat`, never following a symlink: a link planted at `name` is replaced,
/// not written through.
pub fn write_file_at(dir: BorrowedFd<'_>, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = format!("{TMP_PREFIX}{}", random_part());
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, tmp.as_str(), flags, Mode::from_raw_mode(0o644))?;
    let result = (|| {
        safefs::set_mode_of(fd.as_fd(), 0o644)?;
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        file.flush()?;
        rustix::fs::renameat(dir, tmp.as_str(), dir, OsStr::new(name))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
    }
    result
}

/// Create the file `path` (0644), which must not exist yet, with `bytes`: for a file in a
/// staging directory, which no reader sees until it is published.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let written = create_new(path).and_then(|mut f| {
        // Before the write, while the create's attributes are still cached (see copy).
        safefs::set_mode_of(f.as_fd(), 0o644)?;
        f.write_all(bytes)
    });
    written.map_err(|e| Error::io("write", path, e))
}

/// Create the file `path` (0644 before the umask), which must not exist, for writing; no
/// link followed ([`beneath`]).
fn create_new(path: &Path) -> std::io::Result<std::fs::File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL;
    Ok(beneath::open(path, flags, Mode::from_raw_mode(0o644))?.into())
}

/// Write a small file at `path` (0644) by temp file + rename in its directory.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let tmp = parent.join(format!("{TMP_PREFIX}{}", random_part()));
    let written = create_new(&tmp)
        .and_then(|mut f| {
            safefs::set_mode_of(f.as_fd(), 0o644)?;
            f.write_all(bytes)
        })
        .and_then(|()| beneath::rename(&tmp, path));
    if let Err(e) = written {
        let _ = beneath::unlink(&tmp);
        return Err(Error::io("write", path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::fd::AsFd;

    #[test]
    fn staged_is_invisible_until_published() {
        let t = tempfile::tempdir().unwrap();
        let staged = Staged::create(t.path()).unwrap();
        fs::write(staged.path().join("f"), "1").unwrap();
        assert!(!t.path().join("final").exists());
        let names: Vec<_> = fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(names
            .iter()
            .all(|n| crate::leftovers::is_reserved(&n.to_string_lossy())));
        let out = staged.publish("final", false).unwrap();
        assert!(!out.replaced);
        assert_eq!(fs::read_to_string(t.path().join("final/f")).unwrap(), "1");
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn publish_refuses_or_replaces() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("final")).unwrap();
        fs::write(t.path().join("final/old"), "").unwrap();
        let staged = Staged::create(t.path()).unwrap();
        assert_eq!(staged.publish("final", false).unwrap_err().kind(), "exists");
        // The failed staging dir was dropped and removed.
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
        let staged = Staged::create(t.path()).unwrap();
        fs::write(staged.path().join("new"), "").unwrap();
        assert!(staged.publish("final", true).unwrap().replaced);
        assert!(t.path().join("final/new").exists() && !t.path().join("final/old").exists());
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn withdraw_works() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("gone")).unwrap();
        assert!(withdraw(&t.path().join("gone")).unwrap().0);
        assert!(!withdraw(&t.path().join("gone")).unwrap().0);
    }

    #[test]
    fn write_at_replaces_planted_symlink() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let d = t.path().join("d");
        fs::create_dir(&d).unwrap();
        std::os::unix::fs::symlink(&victim, d.join("k.html")).unwrap();
        let fd = safefs::open_dir(&d, false).unwrap();
        write_file_at(fd.as_fd(), "k.html", b"feedback").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(fs::read_to_string(d.join("k.html")).unwrap(), "feedback");
        assert!(!fs::symlink_metadata(d.join("k.html"))
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
