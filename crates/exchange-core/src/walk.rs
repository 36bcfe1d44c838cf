//! The one tree walk: it never follows a symlink (each directory is opened relative to its
//! already-open parent with `O_NOFOLLOW`, so a student swapping a directory for a link
//! cannot redirect it), and every entry it yields carries what `stat` says of it (kind,
//! owner, mode, size, ctime).
//!
//! Two ways to use the one recursion: [`scan`] `lstat`s every entry, links and special
//! files included, for whoever judges a tree (the audit, gc, migrate); the crate's copy
//! walks opening each regular file and directory, applying nbgrader's ignore/include/size
//! rules, and skips the rest with a warning. [`look`] and [`children`] are the one-level
//! forms.

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::glob::any_match;
use crate::safefs::{self, DirEntry};
pub use crate::safefs::{Kind, Meta};

/// Size and shape caps in nbgrader's units; 0 means no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Largest file copied, in kB (1000 bytes); larger ones are skipped with a warning.
    pub max_file_size: u64,
    /// Largest total of a tree, in kB; more fails with kind `too_big`.
    pub max_dir_size: u64,
    /// Most files in a tree; more fails with kind `too_big`.
    pub max_files: u64,
    /// Deepest nesting (1 = top-level entries only); deeper entries are skipped with a warning.
    pub max_depth: u64,
}

/// Which entries a walk yields (like `nbgrader.utils.ignore_patterns`).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Base-name globs of files and directories to leave out.
    pub ignore: Vec<String>,
    /// Base-name globs a file must match to be kept (empty = all); not applied to dirs.
    pub include: Vec<String>,
    /// Caps (file size and depth are applied by the walk).
    pub limits: Limits,
}

impl Filter {
    /// No filtering at all (used to copy trees the exchange itself wrote).
    pub fn everything() -> Self {
        Filter::default()
    }
}

/// One entry met by [`walk`], in pre-order (a directory before its contents), open (never
/// through a link) and with what `fstat` says of it.
#[derive(Debug)]
pub(crate) enum Entry<'a> {
    /// A directory, by path relative to the root.
    Dir(&'a Path, Meta),
    /// A regular file, by path relative to the root.
    File(&'a Path, File, Meta),
}

/// One entry met by [`scan`]: what `lstat` says of it, links included (never followed).
#[derive(Debug, Clone)]
pub struct Seen {
    /// Full path (for messages).
    pub path: PathBuf,
    /// Name (last component), lossily UTF-8.
    pub name: String,
    /// 1 for direct children of the scanned directory.
    pub depth: usize,
    /// Kind, owner, mode, size and times (also reachable directly: `seen.kind`).
    pub meta: Meta,
}

impl std::ops::Deref for Seen {
    type Target = Meta;

    fn deref(&self) -> &Meta {
        &self.meta
    }
}

/// An entry a walk could not look at, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Full path.
    pub path: PathBuf,
    /// Why (e.g. "cannot open directory (Permission denied)").
    pub why: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "skipped {}: {}", self.path.display(), self.why)
    }
}

/// Deepest level [`scan`] descends to: a student cannot make a scan recurse without end.
pub const SCAN_MAX_DEPTH: usize = 64;

/// `lstat(path)` as a [`Seen`] at depth 0; None when absent.
pub fn look(path: &Path) -> std::io::Result<Option<Seen>> {
    Ok(crate::beneath::lstat(path)?.map(|stat| Seen::new(path.to_path_buf(), Meta::of(&stat), 0)))
}

/// The direct children of the real directory `dir` (a symlink there is refused), each
/// as `lstat` sees it, sorted by name.
pub fn children(dir: &Path) -> std::io::Result<Vec<Seen>> {
    children_with(dir, safefs::LISTING_BUFFER)
}

/// [`children`] of a directory of thousands of entries (a course's `inbound/` or
/// `feedback_public/`), listed with a large buffer. On a network volume this costs a few
/// round trips in all, not one per entry: each entry is `lstat`ed as soon as its part of
/// the listing arrives, and that tells the client to fetch every next part with its
/// entries' attributes (NFS and FUSE READDIRPLUS), which the `lstat`s are then answered
/// from.
pub fn children_large(dir: &Path) -> std::io::Result<Vec<Seen>> {
    children_with(dir, safefs::LARGE_LISTING_BUFFER)
}

fn children_with(dir: &Path, buffer: usize) -> std::io::Result<Vec<Seen>> {
    let fd = safefs::open_dir(dir, false)?;
    let mut out = Vec::new();
    safefs::each_entry(fd.as_fd(), buffer, &mut |entry| {
        match safefs::stat_at(fd.as_fd(), &entry.name) {
            Ok(stat) => out.push(Seen::new(dir.join(&entry.name), Meta::of(&stat), 1)),
            // Removed since the listing: it is not a child any more.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(())
    })?;
    out.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Call `visit` for every entry below the real directory `dir` (pre-order, links and
/// special files included, never followed); a directory is descended into only when
/// `visit` returns true for it, and not below [`SCAN_MAX_DEPTH`]. Entries that cannot be
/// read are returned, not visited.
pub fn scan(dir: &Path, visit: &mut dyn FnMut(&Seen) -> bool) -> Vec<Skipped> {
    match safefs::open_dir(dir, false) {
        // The visitor never fails, so neither does the walk.
        Ok(fd) => stat_walk(&fd, dir, &mut |seen| Ok(visit(seen))).unwrap_or_default(),
        Err(e) => vec![Skipped {
            path: dir.to_path_buf(),
            why: format!("cannot open directory ({e})"),
        }],
    }
}

/// The `lstat`-only walk of the directory open as `fd` (named `label`) behind [`scan`] and
/// [`find_notebooks`]; `visit` says whether to descend into a directory.
fn stat_walk(
    fd: &OwnedFd,
    label: &Path,
    visit: &mut dyn FnMut(&Seen) -> Result<bool>,
) -> Result<Vec<Skipped>> {
    let mut visitor = |found: Found<'_>| -> Result<bool> {
        match found {
            Found::Stat(seen) => visit(&seen),
            Found::Open(_) => Ok(false),
        }
    };
    let mut walker = Walker {
        label,
        filter: &Filter {
            limits: Limits {
                max_depth: SCAN_MAX_DEPTH as u64,
                ..Limits::default()
            },
            ..Filter::default()
        },
        how: How::Stat,
        visit: &mut visitor,
        skipped: Vec::new(),
    };
    walker.dir(fd, &PathBuf::new(), 1)?;
    Ok(walker.skipped)
}

/// What `path` is, without following a symlink as its last component; None when absent.
pub fn kind_of(path: &Path) -> std::io::Result<Option<Kind>> {
    safefs::lkind(path)
}

/// The bytes of the regular file at `path`, at most `max` of them, never following a
/// symlink as its last component; None when it is absent or not a regular file.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    safefs::read_small(path, max)
}

impl Seen {
    fn new(path: PathBuf, meta: Meta, depth: usize) -> Self {
        Seen {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path,
            depth,
            meta,
        }
    }
}

/// Walk the directory open as `root` (shown as `label` in warnings), calling `visit` for
/// every kept entry, opened. Symlinks and special files are skipped with a warning; so are
/// unreadable entries. Returns the warnings; an error from `visit` stops the walk.
pub(crate) fn walk(
    root: OwnedFd,
    label: &Path,
    filter: &Filter,
    visit: &mut dyn FnMut(Entry<'_>) -> Result<()>,
) -> Result<Vec<String>> {
    walk_listed(root, None, label, filter, visit)
}

/// [`walk`] where the caller already listed `root` (`listed`, from
/// [`safefs::read_entries`]): it is not listed again (on a network volume, two round trips
/// fewer).
pub(crate) fn walk_listed(
    root: OwnedFd,
    listed: Option<Vec<DirEntry>>,
    label: &Path,
    filter: &Filter,
    visit: &mut dyn FnMut(Entry<'_>) -> Result<()>,
) -> Result<Vec<String>> {
    let mut visitor = |found: Found<'_>| -> Result<bool> {
        match found {
            Found::Open(entry) => visit(entry).map(|()| true),
            Found::Stat(_) => Ok(false),
        }
    };
    let mut walker = Walker {
        label,
        filter,
        how: How::Open,
        visit: &mut visitor,
        skipped: Vec::new(),
    };
    match listed {
        Some(entries) => walker.entries(&root, &PathBuf::new(), entries, 1)?,
        None => walker.dir(&root, &PathBuf::new(), 1)?,
    }
    Ok(walker.skipped.iter().map(Skipped::to_string).collect())
}

/// How a walk looks at entries: [`walk`] opens them (to copy them, with the listing's
/// types deciding what to try), [`scan`] only `lstat`s them (to judge them, links too).
#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Open,
    Stat,
}

/// What the one recursion hands its caller.
enum Found<'a> {
    Open(Entry<'a>),
    Stat(Seen),
}

struct Walker<'a, 'v> {
    label: &'a Path,
    filter: &'a Filter,
    how: How,
    /// Returns whether to descend into a directory.
    visit: &'v mut dyn FnMut(Found<'_>) -> Result<bool>,
    skipped: Vec<Skipped>,
}

impl Walker<'_, '_> {
    fn skip(&mut self, rel: &Path, why: String) {
        let path = self.label.join(rel);
        self.skipped.push(Skipped { path, why });
    }

    fn dir(&mut self, fd: &OwnedFd, rel: &Path, depth: u64) -> Result<()> {
        let entries = match safefs::read_entries(fd.as_fd()) {
            Ok(entries) => entries,
            Err(e) => {
                self.skip(rel, format!("cannot read directory ({e})"));
                return Ok(());
            }
        };
        self.entries(fd, rel, entries, depth)
    }

    /// The `entries` listed in the directory open as `fd`.
    fn entries(
        &mut self,
        fd: &OwnedFd,
        rel: &Path,
        entries: Vec<DirEntry>,
        depth: u64,
    ) -> Result<()> {
        for entry in entries {
            match self.how {
                How::Open => self.open_entry(fd, rel, &entry, depth)?,
                How::Stat => self.stat_entry(fd, rel, &entry, depth)?,
            }
        }
        Ok(())
    }

    /// Open and descend into the directory `name` of `parent`.
    fn descend(&mut self, parent: &OwnedFd, child: &Path, name: &OsStr, depth: u64) -> Result<()> {
        match safefs::open_dir_at(parent.as_fd(), name) {
            Ok(fd) => {
                if self.how == How::Open {
                    let meta = match safefs::meta_of(fd.as_fd()) {
                        Ok(meta) => meta,
                        Err(e) => {
                            self.skip(child, format!("cannot stat ({e})"));
                            return Ok(());
                        }
                    };
                    (self.visit)(Found::Open(Entry::Dir(child, meta)))?;
                }
                self.dir(&fd, child, depth + 1)
            }
            Err(e) => {
                self.skip(child, format!("cannot open directory ({e})"));
                Ok(())
            }
        }
    }

    fn stat_entry(
        &mut self,
        parent: &OwnedFd,
        rel: &Path,
        entry: &DirEntry,
        depth: u64,
    ) -> Result<()> {
        let child = rel.join(&entry.name);
        let meta = match safefs::stat_at(parent.as_fd(), &entry.name) {
            Ok(stat) => Meta::of(&stat),
            Err(e) => {
                self.skip(&child, format!("cannot stat ({e})"));
                return Ok(());
            }
        };
        let seen = Seen::new(self.label.join(&child), meta, depth as usize);
        let descend = (self.visit)(Found::Stat(seen))?;
        if !(descend && meta.kind == Kind::Dir) {
            return Ok(());
        }
        let cap = self.filter.limits.max_depth;
        if depth >= cap {
            self.skip(
                &child,
                format!("deeper than {cap} levels; not scanned further"),
            );
            return Ok(());
        }
        self.descend(parent, &child, &entry.name, depth)
    }

    fn open_entry(
        &mut self,
        parent: &OwnedFd,
        rel: &Path,
        entry: &DirEntry,
        depth: u64,
    ) -> Result<()> {
        let name = entry.name.as_os_str();
        let child = rel.join(name);
        let base = name.to_string_lossy();
        if any_match(&self.filter.ignore, &base) {
            return Ok(());
        }
        let max_depth = self.filter.limits.max_depth;
        // The listed type decides what to try; the opens below refuse links and check
        // what they opened, so an entry swapped since the listing is not followed.
        let kind = match entry.kind_in(parent.as_fd()) {
            Ok(kind) => kind,
            Err(e) => {
                self.skip(&child, format!("cannot stat ({e})"));
                return Ok(());
            }
        };
        match kind {
            Kind::Dir | Kind::File if max_depth > 0 && depth > max_depth => {
                self.skip(&child, format!("deeper than max_depth={max_depth}"));
                Ok(())
            }
            Kind::Dir => self.descend(parent, &child, name, depth),
            Kind::File => self.file(parent, &child, name, &base),
            other => {
                let what = format!(
                    "a {} (only regular files and directories are copied)",
                    other.describe()
                );
                self.skip(&child, what);
                Ok(())
            }
        }
    }

    fn file(&mut self, parent: &OwnedFd, child: &Path, name: &OsStr, base: &str) -> Result<()> {
        if !self.filter.include.is_empty() && !any_match(&self.filter.include, base) {
            return Ok(());
        }
        let (file, meta) = match safefs::open_file_at(parent.as_fd(), name) {
            Ok(opened) => opened,
            Err(e) => {
                self.skip(child, format!("cannot open ({e})"));
                return Ok(());
            }
        };
        let cap = self.filter.limits.max_file_size;
        if cap > 0 && meta.size > cap * 1000 {
            let what = format!("{} bytes is over max_file_size={cap} kB", meta.size);
            self.skip(child, what);
            return Ok(());
        }
        (self.visit)(Found::Open(Entry::File(child, file, meta))).map(|_| ())
    }
}

/// Relative paths of every `*.ipynb` regular file under `root` (recursive, sorted), like
/// `nbgrader.utils.find_all_notebooks`, without following links.
///
/// Entries are only `lstat`ed, never opened: on a network volume a listing brings their
/// attributes along, so finding a release's notebooks costs its directory listings alone.
pub fn find_notebooks(root: &Path) -> Result<Vec<String>> {
    let fd = safefs::open_dir(root, true).map_err(|e| crate::Error::io("open", root, e))?;
    let mut found = Vec::new();
    stat_walk(&fd, root, &mut |seen| {
        if seen.kind == Kind::File && seen.path.extension() == Some(OsStr::new("ipynb")) {
            let rel = seen.path.strip_prefix(root).unwrap_or(&seen.path);
            found.push(rel.to_string_lossy().into_owned());
        }
        Ok(true)
    })?;
    found.sort();
    Ok(found)
}

/// Top-level `*.ipynb` regular files of `dir` not starting with `.` (like
/// `glob(dir/*.ipynb)`), sorted by name: (notebook id, absolute path). With `follow`, a
/// link to a regular file counts too, outside the exchange only ([`list_kinds`]).
pub fn top_notebooks(dir: &Path, follow: bool) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = list_kinds(dir, follow)
        .into_iter()
        .filter_map(|(name, kind)| {
            let stem = name.strip_suffix(".ipynb")?.to_string();
            (!name.starts_with('.') && kind == Kind::File).then(|| (stem, dir.join(&name)))
        })
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found
}

/// The one-level listing behind every "which entries are here": each UTF-8 name of `dir`
/// with its kind, sorted; a missing or unreadable `dir` gives none. Nothing is followed
/// below the exchange root ([`crate::beneath`]); with `follow`, outside it (the caller's own
/// directories), a link counts as what it points to, as `glob` and `os.path.isdir` see it.
pub fn list_kinds(dir: &Path, follow: bool) -> Vec<(String, Kind)> {
    let Ok(fd) = safefs::open_dir(dir, follow) else {
        return Vec::new();
    };
    let Ok(entries) = safefs::read_entries(fd.as_fd()) else {
        return Vec::new();
    };
    let follow = follow && !crate::beneath::is_anchored(dir);
    entries
        .into_iter()
        .filter_map(|entry| {
            let mut kind = entry.kind_in(fd.as_fd()).ok()?;
            if kind == Kind::Symlink && follow {
                let flags = rustix::fs::AtFlags::empty();
                kind = Kind::of(&rustix::fs::statat(fd.as_fd(), &entry.name, flags).ok()?);
            }
            Some((entry.name.into_string().ok()?, kind))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn notebooks_recursive_and_top_level() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("b.ipynb"), "{}").unwrap();
        fs::write(d.join("a.ipynb"), "{}").unwrap();
        fs::write(d.join(".hidden.ipynb"), "{}").unwrap();
        fs::write(d.join("sub/c.ipynb"), "{}").unwrap();
        fs::write(d.join("notes.txt"), "").unwrap();
        std::os::unix::fs::symlink(d.join("a.ipynb"), d.join("z.ipynb")).unwrap();
        assert_eq!(
            find_notebooks(d).unwrap(),
            [".hidden.ipynb", "a.ipynb", "b.ipynb", "sub/c.ipynb"]
        );
        let top: Vec<String> = top_notebooks(d, false).into_iter().map(|x| x.0).collect();
        assert_eq!(top, ["a", "b"]);
        let top: Vec<String> = top_notebooks(d, true).into_iter().map(|x| x.0).collect();
        assert_eq!(top, ["a", "b", "z"]);
    }

    #[test]
    fn scan_sees_links_as_links_and_prunes() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::create_dir_all(d.join("a/b")).unwrap();
        fs::write(d.join("a/b/f"), "xy").unwrap();
        fs::create_dir(d.join("skip")).unwrap();
        fs::write(d.join("skip/hidden"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", d.join("a/link")).unwrap();
        let mut seen = Vec::new();
        let skipped = scan(d, &mut |s| {
            seen.push((s.name.clone(), s.kind, s.depth, s.size));
            s.name != "skip"
        });
        assert!(skipped.is_empty());
        let names: Vec<_> = seen.iter().map(|s| (s.0.as_str(), s.1, s.2)).collect();
        assert_eq!(
            names,
            [
                ("a", Kind::Dir, 1),
                ("b", Kind::Dir, 2),
                ("f", Kind::File, 3),
                ("link", Kind::Symlink, 2),
                ("skip", Kind::Dir, 1),
            ]
        );
        assert_eq!(seen[2].3, 2);
        assert_eq!(children(d).unwrap().len(), 2);
        assert!(children(&d.join("a/link")).is_err());
        assert_eq!(
            look(&d.join("a/link")).unwrap().unwrap().kind,
            Kind::Symlink
        );
        assert!(look(&d.join("none")).unwrap().is_none());
        // A scan of a link is refused, not followed.
        assert_eq!(scan(&d.join("a/link"), &mut |_| true).len(), 1);
    }

    #[test]
    fn scan_stops_at_its_depth_cap() {
        let t = tempfile::tempdir().unwrap();
        let mut deep = t.path().to_path_buf();
        for _ in 0..SCAN_MAX_DEPTH + 2 {
            deep.push("d");
        }
        fs::create_dir_all(&deep).unwrap();
        let mut deepest = 0;
        let skipped = scan(t.path(), &mut |s| {
            deepest = deepest.max(s.depth);
            true
        });
        assert_eq!(deepest, SCAN_MAX_DEPTH);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].why.contains("deeper than 64"), "{skipped:?}");
    }

    #[test]
    fn walk_entries_carry_stat_data() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("sub")).unwrap();
        fs::write(t.path().join("sub/f"), "hello").unwrap();
        let fd = safefs::open_dir(t.path(), false).unwrap();
        let mut got = Vec::new();
        walk(fd, t.path(), &Filter::everything(), &mut |entry| {
            match entry {
                Entry::Dir(rel, meta) => got.push((rel.to_path_buf(), meta.kind, 0)),
                Entry::File(rel, _, meta) => got.push((rel.to_path_buf(), meta.kind, meta.size)),
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            [
                (PathBuf::from("sub"), Kind::Dir, 0),
                (PathBuf::from("sub/f"), Kind::File, 5)
            ]
        );
    }
}
