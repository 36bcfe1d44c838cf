//! Operations on names and attributes: lookup, stat, chmod/utimes/truncate, mkdir, unlink,
//! rmdir, rename, symlinks, statfs. Each one is the plain syscall on the backing path.

use std::ffi::OsStr;
use std::fs::{self, DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use fuser::{Errno, FileAttr, RenameFlags, TimeOrNow};
use rustix::fs::{Timespec, Timestamps, CWD, UTIME_NOW, UTIME_OMIT};

use crate::attr::{backing_id, errno, errno_rustix, file_attr};
use crate::fs::{Fs, Owner};

/// What `setattr` was asked to change.
#[derive(Debug, Default)]
pub struct AttrChanges {
    /// New permission bits.
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// Truncate or extend to this size.
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<TimeOrNow>,
    /// New modification time.
    pub mtime: Option<TimeOrNow>,
    /// The open file it came through, if any.
    pub fh: Option<u64>,
}

/// The filesystem's answer to `statfs`.
#[derive(Debug)]
pub struct FsStats {
    /// Total, free, and available-to-users blocks.
    pub blocks: (u64, u64, u64),
    /// Total and free inodes.
    pub files: (u64, u64),
    /// Block size, longest name, fragment size.
    pub sizes: (u32, u32, u32),
}

impl Fs {
    pub(crate) fn path_of(&self, ino: u64) -> Result<PathBuf, Errno> {
        self.inodes().path(ino).ok_or(Errno::ENOENT)
    }

    pub(crate) fn child_of(&self, parent: u64, name: &OsStr) -> Result<PathBuf, Errno> {
        self.inodes().child_path(parent, name).ok_or(Errno::ENOENT)
    }

    /// `lstat` the new or found `path` and register it as `name` in `parent`.
    pub(crate) fn register(
        &self,
        parent: u64,
        name: &OsStr,
        path: &Path,
    ) -> Result<FileAttr, Errno> {
        let md = fs::symlink_metadata(path).map_err(errno)?;
        let ino = self.inodes().remember(parent, name, backing_id(&md));
        Ok(file_attr(ino, &md))
    }

    pub(crate) fn do_lookup(&self, parent: u64, name: &OsStr) -> Result<FileAttr, Errno> {
        let path = self.child_of(parent, name)?;
        self.register(parent, name, &path)
    }

    pub(crate) fn do_getattr(&self, ino: u64, fh: Option<u64>) -> Result<FileAttr, Errno> {
        if let Some(file) = fh.and_then(|fh| self.file(fh)) {
            let md = file.metadata().map_err(errno)?;
            return Ok(file_attr(ino, &md));
        }
        let md = fs::symlink_metadata(self.path_of(ino)?).map_err(errno)?;
        Ok(file_attr(ino, &md))
    }

    pub(crate) fn do_setattr(&self, ino: u64, ch: AttrChanges) -> Result<FileAttr, Errno> {
        let path = self.path_of(ino)?;
        if let Some(mode) = ch.mode {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777)).map_err(errno)?;
        }
        if ch.uid.is_some() || ch.gid.is_some() {
            std::os::unix::fs::lchown(&path, ch.uid, ch.gid).map_err(errno)?;
        }
        if let Some(size) = ch.size {
            match ch.fh.and_then(|fh| self.file(fh)) {
                Some(file) => file.set_len(size).map_err(errno)?,
                None => OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(size))
                    .map_err(errno)?,
            }
        }
        if ch.atime.is_some() || ch.mtime.is_some() {
            let times = Timestamps {
                last_access: timespec(ch.atime),
                last_modification: timespec(ch.mtime),
            };
            rustix::fs::utimensat(CWD, &path, &times, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno_rustix)?;
        }
        self.do_getattr(ino, ch.fh)
    }

    pub(crate) fn do_mkdir(
        &self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        owner: Owner,
    ) -> Result<FileAttr, Errno> {
        let path = self.child_of(parent, name)?;
        DirBuilder::new()
            .mode(mode & 0o7777)
            .create(&path)
            .map_err(errno)?;
        self.give_to(&path, owner);
        self.register(parent, name, &path)
    }

    pub(crate) fn do_unlink(&self, parent: u64, name: &OsStr) -> Result<(), Errno> {
        let path = self.child_of(parent, name)?;
        fs::remove_file(&path).map_err(errno)?;
        self.inodes().detach(parent, name);
        Ok(())
    }

    pub(crate) fn do_rmdir(&self, parent: u64, name: &OsStr) -> Result<(), Errno> {
        let path = self.child_of(parent, name)?;
        fs::remove_dir(&path).map_err(errno)?;
        self.inodes().detach(parent, name);
        Ok(())
    }

    pub(crate) fn do_symlink(
        &self,
        parent: u64,
        name: &OsStr,
        target: &Path,
        owner: Owner,
    ) -> Result<FileAttr, Errno> {
        let path = self.child_of(parent, name)?;
        std::os::unix::fs::symlink(target, &path).map_err(errno)?;
        self.give_to(&path, owner);
        self.register(parent, name, &path)
    }

    pub(crate) fn do_readlink(&self, ino: u64) -> Result<Vec<u8>, Errno> {
        use std::os::unix::ffi::OsStringExt;
        let target = fs::read_link(self.path_of(ino)?).map_err(errno)?;
        Ok(target.into_os_string().into_vec())
    }

    pub(crate) fn do_rename(
        &self,
        (parent, name): (u64, &OsStr),
        (newparent, newname): (u64, &OsStr),
        flags: RenameFlags,
    ) -> Result<(), Errno> {
        let from = self.child_of(parent, name)?;
        let to = self.child_of(newparent, newname)?;
        if flags.is_empty() {
            fs::rename(&from, &to).map_err(errno)?;
        } else {
            let flags = rustix::fs::RenameFlags::from_bits(flags.bits()).ok_or(Errno::EINVAL)?;
            rustix::fs::renameat_with(CWD, &from, CWD, &to, flags).map_err(errno_rustix)?;
        }
        let mut inodes = self.inodes();
        if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            inodes.exchanged(parent, name, newparent, newname);
        } else {
            inodes.renamed(parent, name, newparent, newname);
        }
        Ok(())
    }

    pub(crate) fn do_statfs(&self) -> Result<FsStats, Errno> {
        let st = rustix::fs::statvfs(self.root()).map_err(errno_rustix)?;
        Ok(FsStats {
            blocks: (st.f_blocks, st.f_bfree, st.f_bavail),
            files: (st.f_files, st.f_ffree),
            sizes: (st.f_bsize as u32, st.f_namemax as u32, st.f_frsize as u32),
        })
    }

    /// Make a new entry belong to the process that created it, as a server would; only
    /// possible (and only needed) when we run as root for someone else.
    pub(crate) fn give_to(&self, path: &Path, owner: Owner) {
        if self.is_root() && owner.uid != 0 {
            // Best effort: the entry exists either way, and root can still use it.
            let _ = std::os::unix::fs::lchown(path, Some(owner.uid), Some(owner.gid));
        }
    }
}

fn timespec(t: Option<TimeOrNow>) -> Timespec {
    match t {
        None => Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        Some(TimeOrNow::Now) => Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_NOW,
        },
        Some(TimeOrNow::SpecificTime(t)) => match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => Timespec {
                tv_sec: d.as_secs() as i64,
                tv_nsec: d.subsec_nanos().into(),
            },
            Err(before) => {
                let d = before.duration();
                let (mut secs, mut nsecs) = (-(d.as_secs() as i64), -i64::from(d.subsec_nanos()));
                if nsecs < 0 {
                    secs -= 1;
                    nsecs += 1_000_000_000;
                }
                Timespec {
                    tv_sec: secs,
                    tv_nsec: nsecs,
                }
            }
        },
    }
}
