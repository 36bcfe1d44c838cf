//! Safe tree copy: regular files and directories only, modes 0644/0755, caps enforced.

use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::error::{Error, Result};
use crate::leftovers::TMP_PREFIX;
use crate::names::random_part;
use crate::walk::{walk, Entry, Filter};
use crate::{beneath, safefs};

/// How [`copy_tree`] copies.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Which entries to copy, and the caps.
    pub filter: Filter,
    /// Leave existing destination entries alone and copy only what is missing.
    pub skip_existing: bool,
}

/// What [`copy_tree`] did.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    /// Files written, relative to the destination, in walk order.
    pub files: Vec<PathBuf>,
    /// Bytes written.
    pub bytes: u64,
    /// Skipped entries, for the admin.
    pub warnings: Vec<String>,
    /// The newest ctime (seconds since the epoch) of the source directory and of every
    /// directory and file copied: when the copied content last changed (see
    /// [`crate::backdate`]); 0 when none could be read.
    pub newest_ctime: i64,
}

/// Copy the directory open as `src` (named `label` in messages) into the existing
/// directory `dest`. Fails with kind `too_big` past `max_dir_size`/`max_files`; the caller
/// owns `dest` (a staging dir) and removes it on failure.
pub fn copy_tree(
    src: OwnedFd,
    label: &Path,
    dest: &Path,
    opts: &CopyOptions,
) -> Result<CopyReport> {
    let limits = opts.filter.limits;
    let mut report = CopyReport {
        newest_ctime: safefs::meta_of(src.as_fd()).map_or(0, |m| m.ctime),
        ..CopyReport::default()
    };
    let warnings = walk(src, label, &opts.filter, &mut |entry| match entry {
        Entry::Dir(rel, meta) => {
            report.newest_ctime = report.newest_ctime.max(meta.ctime);
            make_dir(&dest.join(rel), opts.skip_existing)
        }
        Entry::File(rel, mut file, meta) => {
            let target = dest.join(rel);
            if opts.skip_existing && safefs::lkind(&target).ok().flatten().is_some() {
                return Ok(());
            }
            report.newest_ctime = report.newest_ctime.max(meta.ctime);
            if limits.max_files > 0 && report.files.len() as u64 >= limits.max_files {
                return Err(Error::TooBig(format!(
                    "{} is too big: it holds more than max_files={} files",
                    label.display(),
                    limits.max_files
                )));
            }
            report.bytes += if opts.skip_existing {
                write_file_beside(&target, &mut file)?
            } else {
                write_file(&target, &mut file)?
            };
            report.files.push(rel.to_path_buf());
            if limits.max_dir_size > 0 && report.bytes > limits.max_dir_size * 1000 {
                return Err(Error::TooBig(format!(
                    "{} is too big: it is larger than max_dir_size={} kB",
                    label.display(),
                    limits.max_dir_size
                )));
            }
            Ok(())
        }
    })?;
    report.warnings = warnings;
    Ok(report)
}

/// Open `src` as a directory and copy it (see [`copy_tree`]).
pub fn copy_path(
    src: &Path,
    follow_root: bool,
    dest: &Path,
    opts: &CopyOptions,
) -> Result<CopyReport> {
    let fd = safefs::open_dir(src, follow_root).map_err(|e| Error::io("open directory", src, e))?;
    copy_tree(fd, src, dest, opts)
}

fn make_dir(path: &Path, may_exist: bool) -> Result<()> {
    let created = beneath::mkdir(path, 0o755);
    match created {
        Ok(()) => safefs::set_mode(path, 0o755).map_err(|e| Error::io("chmod", path, e)),
        Err(e) if may_exist && e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("create directory", path, e)),
    }
}

fn write_file(target: &Path, src: &mut fs::File) -> Result<u64> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL;
    let mut out = beneath::open(target, flags, Mode::from_raw_mode(0o644))
        .map(fs::File::from)
        .map_err(|e| Error::io("create", target, e))?;
    // The mode is fixed before the data goes in: on a network volume the attributes the
    // create returned are still cached then, while after a write they must be asked for.
    safefs::set_mode_of(out.as_fd(), 0o644).map_err(|e| Error::io("chmod", target, e))?;
    let n = io::copy(src, &mut out).map_err(|e| Error::io("write", target, e))?;
    Ok(n)
}

/// Write into a live directory (`skip_existing`: the student's own copy): a dot-named
/// temporary file renamed in, never over an existing entry, so an interrupted run leaves no
/// truncated file that the next run would then keep.
fn write_file_beside(target: &Path, src: &mut fs::File) -> Result<u64> {
    let parent = target.parent().unwrap_or(Path::new("."));
    let tmp = parent.join(format!("{TMP_PREFIX}{}", random_part()));
    let n = write_file(&tmp, src)?;
    match beneath::rename_noreplace(&tmp, target) {
        Ok(()) => Ok(n),
        Err(e) => {
            let _ = beneath::unlink(&tmp);
            if e.kind() == io::ErrorKind::AlreadyExists {
                return Ok(0); // created by its owner meanwhile: theirs wins
            }
            Err(Error::io("create", target, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::Limits;
    use std::os::unix::fs::PermissionsExt;

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let s = t.path().join("src");
        fs::create_dir_all(s.join("sub/deeper")).unwrap();
        fs::write(s.join("a.ipynb"), "{}").unwrap();
        fs::write(s.join("big.bin"), vec![0u8; 3000]).unwrap();
        fs::write(s.join("sub/b.txt"), "b").unwrap();
        fs::write(s.join("sub/deeper/c.txt"), "c").unwrap();
        fs::write(s.join("x.pyc"), "").unwrap();
        fs::write(t.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(t.path().join("secret"), s.join("link")).unwrap();
        std::os::unix::fs::symlink(t.path(), s.join("dirlink")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            s.join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        fs::create_dir(t.path().join("dest")).unwrap();
        t
    }

    fn opts(limits: Limits) -> CopyOptions {
        CopyOptions {
            filter: Filter {
                ignore: vec!["*.pyc".into()],
                include: vec!["*".into()],
                limits,
            },
            skip_existing: false,
        }
    }

    #[test]
    fn copies_files_and_dirs_and_skips_the_rest() {
        let t = tree();
        let dest = t.path().join("dest");
        let r = copy_path(
            &t.path().join("src"),
            false,
            &dest,
            &opts(Limits::default()),
        )
        .unwrap();
        let files: Vec<_> = r
            .files
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            files,
            ["a.ipynb", "big.bin", "sub/b.txt", "sub/deeper/c.txt"]
        );
        assert!(!dest.join("link").exists() && !dest.join("dirlink").exists());
        assert!(!dest.join("fifo").exists() && !dest.join("x.pyc").exists());
        let joined = r.warnings.join("\n");
        assert!(joined.contains("link: a symlink"), "{joined}");
        assert!(joined.contains("dirlink: a symlink"));
        assert!(joined.contains("fifo: a fifo"));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dest.join("a.ipynb")), 0o644);
        assert_eq!(mode(&dest.join("sub")), 0o755);
    }

    #[test]
    fn limits() {
        let t = tree();
        let src = t.path().join("src");
        let dest = t.path().join("dest");
        let small = Limits {
            max_file_size: 2,
            max_depth: 2,
            ..Limits::default()
        };
        let r = copy_path(&src, false, &dest, &opts(small)).unwrap();
        assert!(!dest.join("big.bin").exists());
        assert!(!dest.join("sub/deeper/c.txt").exists());
        assert!(dest.join("sub/b.txt").exists());
        assert!(r.warnings.iter().any(|w| w.contains("max_file_size=2")));
        assert!(r.warnings.iter().any(|w| w.contains("max_depth=2")));

        for limits in [
            Limits {
                max_dir_size: 2,
                ..Limits::default()
            },
            Limits {
                max_files: 3,
                ..Limits::default()
            },
        ] {
            let d = t.path().join(format!("d{}", limits.max_files));
            fs::create_dir(&d).unwrap();
            let err = copy_path(&src, false, &d, &opts(limits)).unwrap_err();
            assert_eq!(err.kind(), "too_big");
        }
    }

    #[test]
    fn skip_existing_copies_only_missing() {
        let t = tree();
        let dest = t.path().join("dest");
        fs::write(dest.join("a.ipynb"), "mine").unwrap();
        let mut o = opts(Limits::default());
        o.skip_existing = true;
        let r = copy_path(&t.path().join("src"), false, &dest, &o).unwrap();
        assert_eq!(fs::read_to_string(dest.join("a.ipynb")).unwrap(), "mine");
        assert!(!r.files.iter().any(|p| p == Path::new("a.ipynb")));
        assert!(dest.join("sub/b.txt").exists());
    }

    #[test]
    fn symlinked_root_is_refused_without_follow() {
        let t = tree();
        let link = t.path().join("rootlink");
        std::os::unix::fs::symlink(t.path().join("src"), &link).unwrap();
        let err = copy_path(
            &link,
            false,
            &t.path().join("dest"),
            &opts(Limits::default()),
        );
        assert_eq!(err.unwrap_err().kind(), "io");
    }
}
