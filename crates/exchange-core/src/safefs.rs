//! Low-level file access that never follows a symlink (`O_NOFOLLOW`, `openat`, `lstat`).
//!
//! Student-writable trees are hostile: every entry is classified with `lstat` semantics and
//! opened relative to its already-open parent, so a symlink planted anywhere is seen as a
//! symlink, never as what it points to.
//!
//! On a network volume every open, listing and stat is a round trip, so a directory is
//! opened once and listed once ([`read_entries`]: `getdents64` on that descriptor, with the
//! entry types it reports), and children are reached with `openat` from it. The types a
//! listing reports are `lstat` types; they only decide what to try: every open still refuses
//! links (`O_NOFOLLOW`) and [`open_file_at`] checks the opened file, so an entry swapped
//! after the listing is refused, not followed.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, RawDir, Stat, CWD};

use crate::beneath;

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
        Kind::of_type(FileType::from_raw_mode(stat.st_mode))
    }

    /// Kind of a file type.
    fn of_type(file_type: FileType) -> Kind {
        match file_type {
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

/// What `lstat` (or `fstat` of an entry opened without following links) says of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Its kind, never following a symlink.
    pub kind: Kind,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Size in bytes.
    pub size: u64,
    /// Change time, seconds since the epoch: stamped by the kernel (or NFS server) on every
    /// change, which a student cannot set (see [`crate::backdate`]).
    pub ctime: i64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

impl Meta {
    /// From an `lstat`/`fstat` result.
    pub fn of(stat: &Stat) -> Meta {
        Meta {
            kind: Kind::of(stat),
            uid: stat.st_uid,
            gid: stat.st_gid,
            mode: stat.st_mode & 0o7777,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            ctime: stat.st_ctime,
            mtime: stat.st_mtime,
        }
    }
}

/// `fstat` of an open entry.
pub fn meta_of(fd: BorrowedFd<'_>) -> io::Result<Meta> {
    Ok(Meta::of(&rfs::fstat(fd)?))
}

/// `lstat(path)`: the entry's kind, or None when it does not exist (no link followed on
/// the way, [`crate::beneath`]).
pub fn lkind(path: &Path) -> io::Result<Option<Kind>> {
    Ok(beneath::lstat(path)?.map(|stat| Kind::of(&stat)))
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Stat> {
    Ok(rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// Open a directory; a symlink on the way below the exchange root fails
/// ([`crate::beneath`]). With `follow_last` a path outside every anchor (the caller's own
/// directory) may end in a link; below an anchor nothing is followed.
pub fn open_dir(path: &Path, follow_last: bool) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY;
    match beneath::open(path, flags, Mode::empty()) {
        Err(e) if follow_last && !beneath::is_anchored(path) => {
            rfs::openat(CWD, path, flags | OFlags::CLOEXEC, Mode::empty()).map_err(|_| e)
        }
        other => other,
    }
}

/// Open the directory `name` inside `dir`, refusing a symlink.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rfs::openat(dir, name, flags, Mode::empty())?)
}

/// A handle on the directory `name` inside `dir`, refusing a symlink, usable only as the
/// base of `openat`/`renameat` (`O_PATH`): the directory is not opened for reading, which
/// on a network volume saves the open and release round trips.
pub fn open_dir_path_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rfs::openat(dir, name, flags, Mode::empty())?)
}

/// Open the regular file `name` inside `dir` for reading, refusing anything else
/// (checked again on the open descriptor, so a swap after `lstat` is caught).
pub fn open_file_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<(File, Meta)> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rfs::openat(dir, name, flags, Mode::empty())?;
    let meta = Meta::of(&rfs::fstat(&fd)?);
    if meta.kind != Kind::File {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok((File::from(fd), meta))
}

/// An entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Its name.
    pub name: OsString,
    /// Its type as the listing reports it (`lstat` semantics), None when the filesystem
    /// does not say (`DT_UNKNOWN`); [`DirEntry::kind_in`] then asks `fstatat`.
    pub kind: Option<Kind>,
}

impl DirEntry {
    /// The entry's kind: the listed type, or `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`
    /// when the listing did not give one.
    pub fn kind_in(&self, dir: BorrowedFd<'_>) -> io::Result<Kind> {
        match self.kind {
            Some(kind) => Ok(kind),
            None => stat_at(dir, &self.name).map(|stat| Kind::of(&stat)),
        }
    }
}

/// Bytes of the buffer [`read_entries`] lists into: a directory of a few hundred entries
/// in one `getdents64` call.
pub const LISTING_BUFFER: usize = 32 * 1024;

/// Bytes of the buffer [`read_entries_large`] lists into. On FUSE (recent kernels) the
/// listing request to the server grows with the caller's buffer, and only a listing's first
/// request returns attributes (READDIRPLUS), which also puts every name it returns in the
/// kernel's cache: with 32 kB a course's `inbound/` of 500 students came back as 204 names
/// with attributes and 296 without, each of which then cost a lookup round trip when it was
/// opened (bench: latencyfs); 128 kB, the largest request FUSE makes by default, holds
/// about 800.
pub const LARGE_LISTING_BUFFER: usize = 128 * 1024;

/// The entries of the directory open as `dir` (without `.` and `..`), sorted bytewise by
/// name. Reads `dir` itself from its current position (no second open, unlike
/// `rustix::fs::Dir::read_from`), so call it once per opened directory.
pub fn read_entries(dir: BorrowedFd<'_>) -> io::Result<Vec<DirEntry>> {
    read_entries_into(dir, LISTING_BUFFER)
}

/// [`read_entries`] with a buffer for a directory of hundreds or thousands of entries that
/// are opened next (a course's `inbound/` and `feedback_public/`).
pub fn read_entries_large(dir: BorrowedFd<'_>) -> io::Result<Vec<DirEntry>> {
    read_entries_into(dir, LARGE_LISTING_BUFFER)
}

fn read_entries_into(dir: BorrowedFd<'_>, bytes: usize) -> io::Result<Vec<DirEntry>> {
    let mut entries = Vec::new();
    each_entry(dir, bytes, &mut |entry| {
        entries.push(entry);
        Ok(())
    })?;
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Call `visit` for each entry of the directory open as `dir` (without `.` and `..`), in
/// the order listed, as soon as the part of the listing holding it has been read: whatever
/// `visit` does with an entry (an `fstatat`) happens before the next part is asked for.
pub fn each_entry(
    dir: BorrowedFd<'_>,
    bytes: usize,
    visit: &mut dyn FnMut(DirEntry) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = vec![MaybeUninit::<u8>::uninit(); bytes];
    let mut listing = RawDir::new(dir, &mut buf);
    while let Some(entry) = listing.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::Unknown => None,
            known => Some(Kind::of_type(known)),
        };
        visit(DirEntry {
            name: OsStr::from_bytes(name).to_os_string(),
            kind,
        })?;
    }
    Ok(())
}

/// Names in `dir` (without `.` and `..`), sorted bytewise (see [`read_entries`]).
pub fn read_names(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    Ok(read_entries(dir)?.into_iter().map(|e| e.name).collect())
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
    // An `O_PATH` handle is enough as the base of the `openat`: the directory is not opened
    // for reading, which on a network volume saves its open and release round trips.
    let flags = OFlags::PATH | OFlags::DIRECTORY;
    let dir = match beneath::open(parent, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    read_small_at(dir.as_fd(), &name.to_string_lossy(), max)
}

/// The whole regular file at `path`: below the exchange root no link is followed
/// ([`crate::beneath`]); outside it (the caller's own files) as `std::fs::read` reads it.
pub fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    if !beneath::is_anchored(path) {
        return std::fs::read(path);
    }
    let mut file = File::from(beneath::open(path, OFlags::RDONLY, Mode::empty())?);
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    Ok(buf)
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
    match beneath::mkdir(path, 0o755) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && lkind(path)? == Some(Kind::Dir) => {
            return Ok(false)
        }
        Err(e) => return Err(e),
    }
    set_mode(path, 0o755)?;
    Ok(true)
}

/// `chmod` a path we created, refusing a symlink in its place; a no-op (no `chmod`, one
/// `lstat`) when the mode is already right, as it is unless a strict umask interfered.
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    beneath::chmod(path, mode)
}

/// `fchmod` a file we created and hold open, unless its mode is already `mode`.
pub fn set_mode_of(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    if rfs::fstat(fd)?.st_mode & 0o7777 != mode {
        rfs::fchmod(fd, Mode::from_raw_mode(mode))?;
    }
    Ok(())
}

/// Remove whatever is at `path` without following symlinks (a tree recursively).
pub fn remove_any(path: &Path) -> io::Result<()> {
    beneath::remove_all(path)
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
        assert!(open_dir_path_at(fd.as_fd(), OsStr::new("l")).is_err());
        assert!(open_dir_path_at(fd.as_fd(), OsStr::new("f")).is_err());
        assert!(open_dir_path_at(fd.as_fd(), OsStr::new("sub")).is_ok());
        assert_eq!(read_small_at(fd.as_fd(), "l", 10).unwrap(), None);
        assert_eq!(
            read_small_at(fd.as_fd(), "f", 10).unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(read_names(fd.as_fd()).unwrap(), ["f", "l", "sub"]);
        std::os::unix::fs::symlink(d.join("sub"), d.join("dl")).unwrap();
        assert!(open_dir_path_at(fd.as_fd(), OsStr::new("dl")).is_err());
        assert!(open_dir(&d.join("dl"), false).is_err());
        assert!(open_dir(&d.join("dl"), true).is_ok());
    }

    #[test]
    fn entries_listed_once_with_their_types() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::write(d.join("f"), b"x").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink(d.join("sub"), d.join("l")).unwrap();
        let fd = open_dir(d, false).unwrap();
        let entries = read_entries(fd.as_fd()).unwrap();
        let got: Vec<_> = entries
            .iter()
            .map(|e| {
                let kind = e.kind_in(fd.as_fd()).unwrap();
                (e.name.to_str().unwrap(), kind)
            })
            .collect();
        assert_eq!(
            got,
            [("f", Kind::File), ("l", Kind::Symlink), ("sub", Kind::Dir)]
        );
        // Read from the descriptor itself: a second listing finds it consumed.
        assert!(read_entries(fd.as_fd()).unwrap().is_empty());
        let unknown = DirEntry {
            name: "l".into(),
            kind: None,
        };
        assert_eq!(unknown.kind_in(fd.as_fd()).unwrap(), Kind::Symlink);
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
