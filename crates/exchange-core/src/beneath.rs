//! Resolving a path on the exchange without following a link in any component.
//!
//! Everything under the exchange root can be changed by someone: a course's instructors
//! can replace `C/inbound`, `C/feedback_public` or `C/.nbk8s-notary` by a symlink into
//! another course, and a student anything in their inbox. Code that works on a whole course
//! or the whole volume (the notary, the hub's checks, the admin commands, the instructor's
//! side of the plugin) must never be redirected by such a link, wherever it sits on a path.
//!
//! So every path below an *anchor* (the exchange root, registered by [`anchor`] when a
//! [`crate::layout::Course`] is made or a whole-volume command starts) is resolved beneath
//! a directory descriptor held on the anchor, never by string: with `openat2` and
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS` where the kernel has it
//! (Linux 5.6 and later), otherwise component by component with `O_NOFOLLOW` from the held
//! descriptor. A link anywhere on the path fails with an error naming it. The anchor itself
//! is configuration (`Exchange.root`, `--root`) and may be reached through links.
//!
//! Paths outside every anchor (a student's home, the instructor's course directory) are
//! opened as the caller gives them; the walks below them still refuse links
//! ([`crate::walk`]).
//!
//! This is the one implementation of the rule; [`crate::safefs`] and [`crate::walk`] build
//! on it, and the admin crate uses it for the few writes it makes itself.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;

/// A registered anchor: its path as callers spell it, and a descriptor on it.
struct Anchor {
    path: PathBuf,
    fd: Arc<OwnedFd>,
}

/// The anchors of this process (usually one: the exchange root).
static ANCHORS: RwLock<Vec<Anchor>> = RwLock::new(Vec::new());

/// Whether `openat2` works here: unknown, yes, or no (then the component walk is used).
static OPENAT2: AtomicU8 = AtomicU8::new(OPENAT2_UNKNOWN);
const OPENAT2_UNKNOWN: u8 = 0;
const OPENAT2_YES: u8 = 1;
const OPENAT2_NO: u8 = 2;

/// Register `root` as an anchor: every later path below it is resolved beneath a descriptor
/// on it. Opened afresh each time (an `O_PATH` open, no round trip on a network volume), so
/// a root that was replaced since (a test's new temporary directory at the same path) is
/// seen as it is now.
pub fn anchor(root: &Path) -> io::Result<()> {
    let path = lexical(root);
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = Arc::new(rfs::openat(CWD, &path, flags, Mode::empty())?);
    let mut anchors = ANCHORS.write().unwrap_or_else(|e| e.into_inner());
    match anchors.iter_mut().find(|a| a.path == path) {
        Some(known) => known.fd = fd,
        None => anchors.push(Anchor { path, fd }),
    }
    Ok(())
}

/// Use the component walk even where `openat2` exists (for tests of the fallback, and as
/// `NBK8S_NO_OPENAT2=1` in the environment of a whole process).
pub fn force_component_walk(on: bool) {
    let value = if on { OPENAT2_NO } else { OPENAT2_UNKNOWN };
    OPENAT2.store(value, Ordering::Relaxed);
}

/// Which resolution this process uses: `"openat2"` or `"component walk"` (for `audit` and
/// the tests).
pub fn method() -> &'static str {
    if openat2_usable() {
        "openat2"
    } else {
        "component walk"
    }
}

/// Whether `path` is below (or is) a registered anchor.
pub fn is_anchored(path: &Path) -> bool {
    split(path).is_some()
}

/// `path` split into the anchor it is below and the rest, or None when no anchor holds it.
/// The longest anchor wins (an anchor inside another is more specific).
fn split(path: &Path) -> Option<(Arc<OwnedFd>, PathBuf)> {
    let path = lexical(path);
    let anchors = ANCHORS.read().unwrap_or_else(|e| e.into_inner());
    anchors
        .iter()
        .filter_map(|a| {
            let rest = path.strip_prefix(&a.path).ok()?;
            Some((
                a.path.as_os_str().len(),
                Arc::clone(&a.fd),
                rest.to_path_buf(),
            ))
        })
        .max_by_key(|(len, _, _)| *len)
        .map(|(_, fd, rest)| (fd, rest))
}

/// `path` made absolute (against the working directory) with `.` dropped and trailing
/// slashes gone; `..` is kept (the resolution beneath refuses it).
fn lexical(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    abs.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Open `path` with `flags` (`O_NOFOLLOW` is added: the last component is never followed
/// either). Below an anchor no component may be a link, nor `..`.
pub fn open(path: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match split(path) {
        Some((base, rest)) => {
            open_beneath(base.as_fd(), &rest, flags, mode).map_err(|e| named(e, path))
        }
        None => Ok(rfs::openat(CWD, path, flags, mode)?),
    }
}

/// `rest` opened beneath `base` with `flags`, no link in any component.
pub fn open_beneath(
    base: BorrowedFd<'_>,
    rest: &Path,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    resolve(base, rest, flags, mode, openat2_usable())
}

/// [`open_beneath`] by the method given: `openat2` (falling back to the component walk where
/// the kernel refuses it) or the component walk.
fn resolve(
    base: BorrowedFd<'_>,
    rest: &Path,
    flags: OFlags,
    mode: Mode,
    try_openat2: bool,
) -> io::Result<OwnedFd> {
    // `..` is refused by both methods alike (RESOLVE_BENEATH would allow one that stays
    // beneath); the exchange never builds a path with one.
    parts(rest)?;
    let rest: &Path = if rest.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rest
    };
    if try_openat2 {
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        match rfs::openat2(base, rest, flags, mode, resolve) {
            Err(Errno::NOSYS) | Err(Errno::PERM)
                if OPENAT2.load(Ordering::Relaxed) == OPENAT2_UNKNOWN =>
            {
                // No openat2 here (an older kernel, or a seccomp filter that refuses it):
                // remember, and walk.
                OPENAT2.store(OPENAT2_NO, Ordering::Relaxed);
            }
            Err(Errno::AGAIN) => {} // a concurrent rename upset the kernel's check: walk
            other => {
                OPENAT2.store(OPENAT2_YES, Ordering::Relaxed);
                return Ok(other?);
            }
        }
    }
    component_walk(base, rest, flags, mode)
}

fn openat2_usable() -> bool {
    if OPENAT2.load(Ordering::Relaxed) == OPENAT2_UNKNOWN
        && std::env::var_os("NBK8S_NO_OPENAT2").is_some_and(|v| v == "1")
    {
        OPENAT2.store(OPENAT2_NO, Ordering::Relaxed);
    }
    OPENAT2.load(Ordering::Relaxed) != OPENAT2_NO
}

/// The fallback: each directory on the way opened with `O_PATH | O_DIRECTORY | O_NOFOLLOW`
/// from the one before, the last with `flags | O_NOFOLLOW`. `..` is refused as
/// `RESOLVE_BENEATH` refuses an escape (`EXDEV`).
fn component_walk(
    base: BorrowedFd<'_>,
    rest: &Path,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    let parts = parts(rest)?;
    let Some((last, dirs)) = parts.split_last() else {
        return Ok(rfs::openat(base, ".", flags, mode)?);
    };
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut current: Option<OwnedFd> = None;
    for part in dirs {
        let at = current.as_ref().map_or(base, |fd| fd.as_fd());
        current = Some(link_as_loop(
            rfs::openat(at, *part, dir_flags, Mode::empty()),
            at,
            part,
        )?);
    }
    let at = current.as_ref().map_or(base, |fd| fd.as_fd());
    Ok(rfs::openat(at, *last, flags, mode)?)
}

/// A symlink opened with `O_DIRECTORY | O_NOFOLLOW` fails with `ENOTDIR`; report it as the
/// loop `RESOLVE_NO_SYMLINKS` reports, so both resolutions fail the same way.
fn link_as_loop(
    result: rustix::io::Result<OwnedFd>,
    at: BorrowedFd<'_>,
    name: &OsStr,
) -> io::Result<OwnedFd> {
    match result {
        Err(Errno::NOTDIR) if is_link(at, name) => Err(Errno::LOOP.into()),
        other => Ok(other?),
    }
}

fn is_link(at: BorrowedFd<'_>, name: &OsStr) -> bool {
    rfs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
}

/// The normal components of `rest`; `..` or an absolute part fails with `EXDEV`.
fn parts(rest: &Path) -> io::Result<Vec<&OsStr>> {
    let mut out = Vec::new();
    for c in rest.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return Err(Errno::XDEV.into()),
        }
    }
    Ok(out)
}

/// The parent directory of `path`, held (`O_PATH`), and its last component: the base of
/// the `*at` calls (`mkdirat`, `renameat`, `unlinkat`, `fstatat`) that act on the entry
/// itself. No link is followed on the way to the parent.
pub fn parent(path: &Path) -> io::Result<(OwnedFd, OsString)> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no parent directory", path.display()),
        ));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let fd = open(dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    Ok((fd, name.to_os_string()))
}

/// `mkdir(path, mode)` with the parent resolved beneath its anchor (the mode is then set
/// exactly, umask notwithstanding, by the caller where it matters).
pub fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    let (dir, name) = parent(path)?;
    Ok(rfs::mkdirat(&dir, &name, Mode::from_raw_mode(mode))?)
}

/// `rename(from, to)` with both parents resolved beneath their anchors.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    let (from_dir, from_name) = parent(from)?;
    let (to_dir, to_name) = parent(to)?;
    Ok(rfs::renameat(&from_dir, &from_name, &to_dir, &to_name)?)
}

/// `rename(from, to)` that fails with `EEXIST` rather than replace `to`
/// (`RENAME_NOREPLACE`; where the filesystem lacks it, a check then a plain rename).
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let (from_dir, from_name) = parent(from)?;
    let (to_dir, to_name) = parent(to)?;
    match rfs::renameat_with(
        &from_dir,
        &from_name,
        &to_dir,
        &to_name,
        rfs::RenameFlags::NOREPLACE,
    ) {
        Err(Errno::INVAL) | Err(Errno::NOSYS) => {
            if rfs::statat(&to_dir, &to_name, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                return Err(Errno::EXIST.into());
            }
            Ok(rfs::renameat(&from_dir, &from_name, &to_dir, &to_name)?)
        }
        other => Ok(other?),
    }
}

/// `lstat(path)`, the parent resolved beneath its anchor; None when it does not exist.
pub fn lstat(path: &Path) -> io::Result<Option<rfs::Stat>> {
    let (dir, name) = match parent(path) {
        Ok(found) => found,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match rfs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(stat)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The target of the symlink at `path`, read and never followed, the parent resolved
/// beneath its anchor (for reports naming where a link points).
pub fn read_link(path: &Path) -> io::Result<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let (dir, name) = parent(path)?;
    let target = rfs::readlinkat(&dir, &name, Vec::new())?;
    Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
}

/// Remove the file (or link, never followed) at `path`.
pub fn unlink(path: &Path) -> io::Result<()> {
    let (dir, name) = parent(path)?;
    Ok(rfs::unlinkat(&dir, &name, AtFlags::empty())?)
}

/// Remove whatever is at `path`, a directory with everything in it, never following a link
/// (a link is removed, not what it points to); absent is fine.
pub fn remove_all(path: &Path) -> io::Result<()> {
    let (dir, name) = match parent(path) {
        Ok(found) => found,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    remove_at(dir.as_fd(), &name)
}

/// Remove the entry `name` of `dir` (a tree recursively), never following a link.
pub fn remove_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let stat = match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
        return match rfs::unlinkat(dir, name, AtFlags::empty()) {
            Err(Errno::NOENT) => Ok(()),
            other => Ok(other?),
        };
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let sub = rfs::openat(dir, name, flags, Mode::empty())?;
    for entry in crate::safefs::read_names(sub.as_fd())? {
        remove_at(sub.as_fd(), &entry)?;
    }
    match rfs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Err(Errno::NOENT) => Ok(()),
        other => Ok(other?),
    }
}

/// `lchown(path, uid, gid)` with the parent resolved beneath its anchor (a link there is
/// changed itself, never what it points to).
pub fn lchown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let (dir, name) = parent(path)?;
    let (uid, gid) = (rfs::Uid::from_raw(uid), rfs::Gid::from_raw(gid));
    Ok(rfs::chownat(
        &dir,
        &name,
        Some(uid),
        Some(gid),
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

/// `chmod` the entry at `path` exactly, refusing a link there: the entry is held
/// (`O_PATH | O_NOFOLLOW`) and changed through its descriptor, so a swap cannot redirect it.
pub fn chmod(path: &Path, mode: u32) -> io::Result<()> {
    let fd = open(path, OFlags::PATH, Mode::empty())?;
    chmod_held(fd.as_fd(), mode)
}

/// `chmod` the entry held as `fd` (an `O_PATH` descriptor is enough), unless its mode is
/// already `mode`; a link is refused.
pub fn chmod_held(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    let stat = rfs::fstat(fd)?;
    if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
        return Err(io::Error::other("refusing to chmod a symbolic link"));
    }
    if stat.st_mode & 0o7777 == mode {
        return Ok(());
    }
    // fchmod does not take an O_PATH descriptor; its /proc link names exactly this inode.
    let proc = PathBuf::from(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&fd)
    ));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(proc, std::fs::Permissions::from_mode(mode))
}

/// A failure to resolve `path`: a loop (a link met with `RESOLVE_NO_SYMLINKS`), an escape,
/// or "not a directory" where a link stands names the component that is a link, so the
/// message says where it is.
fn named(err: io::Error, path: &Path) -> io::Error {
    match Errno::from_io_error(&err) {
        // ENOTDIR: a link as the last component opened with O_DIRECTORY | O_NOFOLLOW.
        Some(Errno::LOOP) | Some(Errno::XDEV) | Some(Errno::NOTDIR) => match first_link(path) {
            Some(link) => io::Error::other(format!(
                "{} is a symbolic link: no link is followed on the exchange",
                link.display()
            )),
            None => err,
        },
        _ => err,
    }
}

/// The first component of `path` below its anchor that is a symlink.
pub fn first_link(path: &Path) -> Option<PathBuf> {
    let (base, rest) = split(path)?;
    let anchor_len = lexical(path).components().count() - rest.components().count();
    let full: PathBuf = lexical(path);
    let mut current: Option<OwnedFd> = None;
    let mut shown: PathBuf = full.components().take(anchor_len).collect();
    for part in parts(&rest).ok()? {
        shown.push(part);
        let at = current.as_ref().map_or(base.as_fd(), |fd| fd.as_fd());
        if is_link(at, part) {
            return Some(shown);
        }
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        current = Some(rfs::openat(at, part, flags, Mode::empty()).ok()?);
    }
    None
}

#[cfg(test)]
mod tests;
