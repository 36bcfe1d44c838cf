//! A tree walk that never follows symlinks and applies nbgrader's ignore/include/size rules.

use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::glob::any_match;
use crate::safefs::{self, DirEntry, Kind};

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

/// One entry met by [`walk`], in pre-order (a directory before its contents).
#[derive(Debug)]
pub enum Entry<'a> {
    /// A directory, by path relative to the root, open (never through a link).
    Dir(&'a Path, BorrowedFd<'a>),
    /// A regular file, opened without following links, with its size.
    File(&'a Path, File, u64),
}

/// Walk the directory open as `root` (shown as `label` in warnings), calling `visit` for
/// every kept entry. Symlinks and special files are skipped with a warning; so are
/// unreadable entries. Returns the warnings; an error from `visit` stops the walk.
pub fn walk(
    root: OwnedFd,
    label: &Path,
    filter: &Filter,
    visit: &mut dyn FnMut(Entry<'_>) -> Result<()>,
) -> Result<Vec<String>> {
    let mut walker = Walker {
        label,
        filter,
        visit,
        warnings: Vec::new(),
    };
    walker.dir(&root, &PathBuf::new(), 1)?;
    Ok(walker.warnings)
}

struct Walker<'a, 'v> {
    label: &'a Path,
    filter: &'a Filter,
    visit: &'v mut dyn FnMut(Entry<'_>) -> Result<()>,
    warnings: Vec<String>,
}

impl Walker<'_, '_> {
    fn warn(&mut self, rel: &Path, what: &str) {
        let path = self.label.join(rel);
        self.warnings
            .push(format!("skipped {}: {what}", path.display()));
    }

    fn dir(&mut self, fd: &OwnedFd, rel: &Path, depth: u64) -> Result<()> {
        let entries = match safefs::read_entries(fd.as_fd()) {
            Ok(entries) => entries,
            Err(e) => {
                self.warn(rel, &format!("cannot read directory ({e})"));
                return Ok(());
            }
        };
        for entry in entries {
            self.entry(fd, rel, &entry, depth)?;
        }
        Ok(())
    }

    fn entry(&mut self, parent: &OwnedFd, rel: &Path, entry: &DirEntry, depth: u64) -> Result<()> {
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
                self.warn(&child, &format!("cannot stat ({e})"));
                return Ok(());
            }
        };
        match kind {
            Kind::Dir | Kind::File if max_depth > 0 && depth > max_depth => {
                self.warn(&child, &format!("deeper than max_depth={max_depth}"));
                Ok(())
            }
            Kind::Dir => self.subdir(parent, &child, name, depth),
            Kind::File => self.file(parent, &child, name, &base),
            other => {
                let what = format!(
                    "a {} (only regular files and directories are copied)",
                    other.describe()
                );
                self.warn(&child, &what);
                Ok(())
            }
        }
    }

    fn subdir(&mut self, parent: &OwnedFd, child: &Path, name: &OsStr, depth: u64) -> Result<()> {
        match safefs::open_dir_at(parent.as_fd(), name) {
            Ok(fd) => {
                (self.visit)(Entry::Dir(child, fd.as_fd()))?;
                self.dir(&fd, child, depth + 1)
            }
            Err(e) => {
                self.warn(child, &format!("cannot open directory ({e})"));
                Ok(())
            }
        }
    }

    fn file(&mut self, parent: &OwnedFd, child: &Path, name: &OsStr, base: &str) -> Result<()> {
        if !self.filter.include.is_empty() && !any_match(&self.filter.include, base) {
            return Ok(());
        }
        let (file, size) = match safefs::open_file_at(parent.as_fd(), name) {
            Ok(opened) => opened,
            Err(e) => {
                self.warn(child, &format!("cannot open ({e})"));
                return Ok(());
            }
        };
        let cap = self.filter.limits.max_file_size;
        if cap > 0 && size > cap * 1000 {
            let what = format!("{size} bytes is over max_file_size={cap} kB");
            self.warn(child, &what);
            return Ok(());
        }
        (self.visit)(Entry::File(child, file, size))
    }
}

/// Relative paths of every `*.ipynb` regular file under `root` (recursive, sorted), like
/// `nbgrader.utils.find_all_notebooks`, without following links.
pub fn find_notebooks(root: &Path) -> Result<Vec<String>> {
    let fd = safefs::open_dir(root, true).map_err(|e| crate::Error::io("open", root, e))?;
    let mut found = Vec::new();
    walk(fd, root, &Filter::everything(), &mut |entry| {
        if let Entry::File(rel, _, _) = entry {
            if rel.extension() == Some(OsStr::new("ipynb")) {
                found.push(rel.to_string_lossy().into_owned());
            }
        }
        Ok(())
    })?;
    found.sort();
    Ok(found)
}

/// Top-level `*.ipynb` regular files of `dir` not starting with `.` (like
/// `glob(dir/*.ipynb)`), sorted by name: (notebook id, absolute path).
pub fn top_notebooks(dir: &Path, follow: bool) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".ipynb")?.to_string();
            // Without `follow`, the listed type (`d_type`, lstat semantics) is enough.
            let is_file = if follow {
                std::fs::metadata(e.path()).ok()?.is_file()
            } else {
                e.file_type().ok()?.is_file()
            };
            (!name.starts_with('.') && is_file).then(|| (stem, e.path()))
        })
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found
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
}
