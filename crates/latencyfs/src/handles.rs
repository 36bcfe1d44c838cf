//! Open files and open directories.
//!
//! A file handle is an open backing file used with `pread`/`pwrite`, so it keeps working
//! after its name is unlinked or renamed. A directory handle is a snapshot of the entries
//! taken at `opendir`: listing then pages through the snapshot by offset, which keeps
//! offsets stable while others change the directory.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirEntryExt, FileExt, OpenOptionsExt};
use std::sync::Arc;

use fuser::{Errno, FileAttr, FileType, OpenFlags};
use rustix::fs::OFlags;

use crate::attr::{errno, file_attr, file_type};
use crate::fs::{Fs, Owner};

/// One entry of a directory snapshot.
#[derive(Debug)]
pub struct DirEntry {
    /// The entry's name.
    pub name: OsString,
    /// Its type, from the backing `d_type`.
    pub kind: FileType,
    /// `d_ino` to report when we have no inode number of our own for it.
    pub backing_ino: u64,
}

impl DirEntry {
    /// Whether this is `.` or `..`.
    pub fn is_dot(&self) -> bool {
        self.name == "." || self.name == ".."
    }
}

/// std's open options for the open(2) `flags` the kernel passed on. Symlinks are never
/// followed: the kernel resolved them already, so a link here means a race.
fn open_options(flags: i32) -> OpenOptions {
    let flags = OFlags::from_bits_retain(flags as u32);
    let mut opts = OpenOptions::new();
    let access = flags & (OFlags::WRONLY | OFlags::RDWR);
    if access == OFlags::WRONLY {
        opts.write(true);
    } else if access == OFlags::RDWR {
        opts.read(true).write(true);
    } else {
        opts.read(true);
    }
    opts.append(flags.contains(OFlags::APPEND))
        .truncate(flags.contains(OFlags::TRUNC))
        .custom_flags(OFlags::NOFOLLOW.bits() as i32);
    opts
}

impl Fs {
    pub(crate) fn do_open(&self, ino: u64, flags: OpenFlags) -> Result<u64, Errno> {
        let path = self.path_of(ino)?;
        let file = open_options(flags.0).open(path).map_err(errno)?;
        Ok(self.add_file(file))
    }

    pub(crate) fn do_create(
        &self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        flags: i32,
        owner: Owner,
    ) -> Result<(FileAttr, u64), Errno> {
        let path = self.child_of(parent, name)?;
        let mut opts = open_options(flags);
        let oflags = OFlags::from_bits_retain(flags as u32);
        if oflags & (OFlags::WRONLY | OFlags::RDWR) == OFlags::empty() {
            // open(O_CREAT|O_RDONLY) creates too, but std wants write access to create.
            opts.read(true).write(true);
        }
        opts.create(true)
            .create_new(oflags.contains(OFlags::EXCL))
            .mode(mode & 0o7777);
        let file = opts.open(&path).map_err(errno)?;
        self.give_to(&path, owner);
        let attr = self.register(parent, name, &path)?;
        Ok((attr, self.add_file(file)))
    }

    pub(crate) fn do_read(&self, fh: u64, offset: u64, size: u32) -> Result<Vec<u8>, Errno> {
        let file = self.file(fh).ok_or(Errno::EBADF)?;
        let mut buf = vec![0; size as usize];
        let mut filled = 0;
        while filled < buf.len() {
            match file.read_at(&mut buf[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(errno(e)),
            }
        }
        buf.truncate(filled);
        Ok(buf)
    }

    pub(crate) fn do_write(&self, fh: u64, offset: u64, data: &[u8]) -> Result<u32, Errno> {
        let file = self.file(fh).ok_or(Errno::EBADF)?;
        file.write_all_at(data, offset).map_err(errno)?;
        Ok(data.len() as u32)
    }

    pub(crate) fn do_fsync(&self, fh: u64, datasync: bool) -> Result<(), Errno> {
        let file = self.file(fh).ok_or(Errno::EBADF)?;
        if datasync {
            file.sync_data().map_err(errno)
        } else {
            file.sync_all().map_err(errno)
        }
    }

    pub(crate) fn do_opendir(&self, ino: u64) -> Result<u64, Errno> {
        let path = self.path_of(ino)?;
        let parent = self.inodes().parent(ino).unwrap_or(ino);
        let mut entries = vec![
            DirEntry {
                name: ".".into(),
                kind: FileType::Directory,
                backing_ino: ino,
            },
            DirEntry {
                name: "..".into(),
                kind: FileType::Directory,
                backing_ino: parent,
            },
        ];
        for entry in fs::read_dir(path).map_err(errno)? {
            let entry = entry.map_err(errno)?;
            let kind = entry.file_type().map(file_type).map_err(errno)?;
            entries.push(DirEntry {
                name: entry.file_name(),
                kind,
                backing_ino: entry.ino(),
            });
        }
        Ok(self.add_dir(entries))
    }

    /// The inode number `readdir` reports for an entry of directory `ino`.
    pub(crate) fn dirent_ino(&self, ino: u64, entry: &DirEntry) -> u64 {
        if entry.is_dot() {
            return entry.backing_ino;
        }
        self.inodes()
            .peek(ino, &entry.name)
            .unwrap_or(entry.backing_ino)
    }

    /// Look up one snapshot entry for `readdirplus`: its attributes and a lookup reference
    /// (None when it vanished since the snapshot).
    pub(crate) fn plus_entry(&self, ino: u64, entry: &DirEntry) -> Option<FileAttr> {
        let path = self.child_of(ino, &entry.name).ok()?;
        let md = fs::symlink_metadata(&path).ok()?;
        let child = self
            .inodes()
            .remember(ino, &entry.name, crate::attr::backing_id(&md));
        Some(file_attr(child, &md))
    }

    pub(crate) fn dir(&self, fh: u64) -> Option<Arc<Vec<DirEntry>>> {
        self.dirs.lock().expect("dirs lock").get(&fh).cloned()
    }

    pub(crate) fn close_dir(&self, fh: u64) {
        self.dirs.lock().expect("dirs lock").remove(&fh);
    }

    pub(crate) fn file(&self, fh: u64) -> Option<Arc<File>> {
        self.files.lock().expect("files lock").get(&fh).cloned()
    }

    pub(crate) fn close_file(&self, fh: u64) {
        self.files.lock().expect("files lock").remove(&fh);
    }

    fn add_file(&self, file: File) -> u64 {
        let fh = self.next_handle();
        self.files
            .lock()
            .expect("files lock")
            .insert(fh, Arc::new(file));
        fh
    }

    fn add_dir(&self, entries: Vec<DirEntry>) -> u64 {
        let fh = self.next_handle();
        self.dirs
            .lock()
            .expect("dirs lock")
            .insert(fh, Arc::new(entries));
        fh
    }
}
