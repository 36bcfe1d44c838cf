//! Low-level file access that never follows a symlink (`O_NOFOLLOW`, `openat`, `lstat`).
//!
//! Student-writable trees are hostile: every entry is classified with `lstat` semantics and
//! opened relative to its already-open parent, so a symlink planted anywhere is seen as a
//! symlink, never as what it points to.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat, CWD};

/// What an entry is, seen without following symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A real directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else (fifo, socket, device), by name.
    Other(&'static str),
}

impl Kind {
    /// Kind of an `lstat`/`fstat` result.
    pub fn of(stat: &Stat) -> Kind {
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => Kind::Dir,
            FileType::RegularFile => Kind::File,
            FileType::Symlink => Kind::Symlink,
            FileType::Fifo => Kind::Other("fifo"),
            FileType::Socket => Kind::Other("socket"),
            FileType::CharacterDevice => Kind::Other("character device"),
            FileType::BlockDevice => Kind::Other("block device"),
            FileType::Unknown => Kind::Other("unknown file type"),
        }
    }

    /// How warnings name it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Dir => "directory",
            Kind::File => "file",
            Kind::Symlink => "symlink",
            Kind::Other(name) => name,
        }
    }
}

/// `lstat(path)`: the entry's kind, or None when it does not exist.
pub fn lkind(path: &Path) -> io::Result<Option<Kind>> {
    match rfs::lstat(path) {
        Ok(stat) => Ok(Some(Kind::of(&stat))),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Stat> {
    Ok(rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// Open a directory; with `follow_last` false a symlink as the last component fails.
pub fn open_dir(path: &Path, follow_last: bool) -> io::Result<OwnedFd> {
    let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if !follow_last {
        flags |= OFlags::NOFOLLOW;
    }
    Ok(rfs::openat(CWD, path, flags, Mode::empty())?)
}

/// Open the directory `name` inside `dir`, refusing a symlink.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rfs::openat(dir, name, flags, Mode::empty())?)
}

/// Open the regular file `name` inside `dir` for reading, refusing anything else
/// (checked again on the open descriptor, so a swap after `lstat` is caught).
pub fn open_file_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<(File, u64)> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rfs::openat(dir, name, flags, Mode::empty())?;
    let stat = rfs::fstat(&fd)?;
    if Kind::of(&stat) != Kind::File {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok((File::from(fd), stat.st_size as u64))
}

/// Names in `dir` (without `.` and `..`), sorted bytewise.
pub fn read_names(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in rfs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_os_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Read a small regular file `name` in `dir` (at most `max` bytes), without following
/// links; None when it does not exist or is not a regular file.
pub fn read_small_at(dir: BorrowedFd<'_>, name: &str, max: u64) -> io::Result<Option<Vec<u8>>> {
    match open_file_at(dir, OsStr::new(name)) {
        Ok((file, _)) => {
            let mut buf = Vec::new();
            file.take(max).read_to_end(&mut buf)?;
            Ok(Some(buf))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if rustix::io::Errno::from_io_error(&e) == Some(rustix::io::Errno::LOOP) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(None),
        Err(e) => Err(e),
    }
}

/// Read a small regular file at `path`, never following a symlink as its last component.
pub fn read_small(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(None);
    };
    let dir = match open_dir(parent, true) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    read_small_at(dir.as_fd(), &name.to_string_lossy(), max)
}

/// Create directory `path` with mode 0755 exactly (umask notwithstanding); Ok(false) when it
/// already exists as a real directory.
pub fn ensure_dir(path: &Path) -> io::Result<bool> {
    match lkind(path)? {
        Some(Kind::Dir) => return Ok(false),
        Some(kind) => {
            return Err(io::Error::other(format!(
                "{} is a {}, not a directory",
                path.display(),
                kind.describe()
            )))
        }
        None => {}
    }
    match rfs::mkdir(path, Mode::from_raw_mode(0o755)) {
        Ok(()) => {}
        Err(rustix::io::Errno::EXIST) if lkind(path)? == Some(Kind::Dir) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    set_mode(path, 0o755)?;
    Ok(true)
}

/// `chmod` a path we created, refusing a symlink in its place.
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if lkind(path)? == Some(Kind::Symlink) {
        return Err(io::Error::other("refusing to chmod through a symlink"));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Remove whatever is at `path` without following symlinks (a tree recursively).
pub fn remove_any(path: &Path) -> io::Result<()> {
    match lkind(path)? {
        None => Ok(()),
        Some(Kind::Dir) => std::fs::remove_dir_all(path),
        Some(_) => std::fs::remove_file(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_without_following() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::write(d.join("f"), b"x").unwrap();
        std::os::unix::fs::symlink(d.join("f"), d.join("l")).unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        assert_eq!(lkind(&d.join("f")).unwrap(), Some(Kind::File));
        assert_eq!(lkind(&d.join("l")).unwrap(), Some(Kind::Symlink));
        assert_eq!(lkind(&d.join("sub")).unwrap(), Some(Kind::Dir));
        assert_eq!(lkind(&d.join("none")).unwrap(), None);
        let fd = open_dir(d, false).unwrap();
        assert!(open_file_at(fd.as_fd(), OsStr::new("l")).is_err());
        assert!(open_dir_at(fd.as_fd(), OsStr::new("l")).is_err());
        assert_eq!(read_small_at(fd.as_fd(), "l", 10).unwrap(), None);
        assert_eq!(
            read_small_at(fd.as_fd(), "f", 10).unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(read_names(fd.as_fd()).unwrap(), ["f", "l", "sub"]);
        std::os::unix::fs::symlink(d.join("sub"), d.join("dl")).unwrap();
        assert!(open_dir(&d.join("dl"), false).is_err());
        assert!(open_dir(&d.join("dl"), true).is_ok());
    }

    #[test]
    fn ensure_dir_modes_and_refusals() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("new");
        assert!(ensure_dir(&p).unwrap());
        assert!(!ensure_dir(&p).unwrap());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755);
        std::os::unix::fs::symlink(&p, t.path().join("link")).unwrap();
        assert!(ensure_dir(&t.path().join("link")).is_err());
    }
}
