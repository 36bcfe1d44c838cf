//! Receipts: one digest of a submission that the student's `submit` and the notary compute
//! the same way, so a student holding one can show which files were handed in.
//!
//! The canonical manifest lists every regular file of the submission, sorted by its relative
//! path's bytes (`/`-separated), one record per file: `{sha256 hex} {size} {path}` ended by
//! a NUL byte (a path never holds NUL, so no file name can forge a record boundary). The
//! receipt is the SHA-256 of that manifest in lowercase hex; [`short`] is the form a person
//! reads out. Links and special files are not part of a submission (the walk never follows
//! or copies them): they are left out and reported in [`Manifest::skipped`].

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::safefs::{self, Kind};
use crate::walk::{self, Entry, Filter, Limits, SCAN_MAX_DEPTH};

/// Hex digits of a receipt shown to people (four groups of four).
pub const SHORT_DIGITS: usize = 16;

/// One regular file of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Path relative to the submission directory.
    pub path: PathBuf,
    /// Size in bytes, as read.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// The files of one submission, sorted by path, and what the walk left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Every regular file, sorted by the bytes of its relative path.
    pub files: Vec<FileDigest>,
    /// Entries left out (links, special files, unreadable entries), as warnings.
    pub skipped: Vec<String>,
}

impl Manifest {
    /// Read and digest every regular file below the real directory `dir` (a symlink there is
    /// refused), never following a link, at most [`SCAN_MAX_DEPTH`] levels deep. `max_files`
    /// and `max_bytes` (0 = no cap) bound what a hostile tree can make us read: past them
    /// this fails with kind `too_big`, naming `dir`. With a cap, the files are counted and
    /// their sizes (`st_size`) summed first, by `stat` alone, so a tree over a cap is
    /// refused before a byte of it is read (a 2 GB sparse file costs one `stat`, not 2 GB of
    /// hashing); the caps hold again while reading, for a tree that grows meanwhile.
    pub fn of(dir: &Path, max_files: u64, max_bytes: u64) -> Result<Manifest> {
        let fd = safefs::open_dir(dir, false).map_err(|e| Error::io("open", dir, e))?;
        Self::of_open(fd, dir, max_files, max_bytes)
    }

    /// [`Manifest::of`] the directory open as `fd` (found at `dir`, for messages): a reader
    /// that opened a copy without following links checks what it opened.
    pub fn of_open(fd: OwnedFd, dir: &Path, max_files: u64, max_bytes: u64) -> Result<Manifest> {
        let mut listed = None;
        if max_files > 0 || max_bytes > 0 {
            // The top level is listed once, for the count and the digest walk alike (one
            // that cannot be listed is left to the walk, which reports it).
            let top = safefs::read_entries(fd.as_fd()).ok();
            let mut count = Count::default();
            count
                .add_listed(
                    fd.as_fd(),
                    top.as_deref().unwrap_or_default(),
                    1,
                    max_files,
                    max_bytes,
                )
                .map_err(|over| {
                    Error::TooBig(format!("{} holds more than {over}", dir.display()))
                })?;
            if top.is_none() {
                // Listed from wherever the failed listing stopped otherwise.
                rustix::fs::seek(&fd, rustix::fs::SeekFrom::Start(0))
                    .map_err(|e| Error::io("rewind", dir, e))?;
            }
            listed = top;
        }
        let filter = Filter {
            limits: Limits {
                max_depth: SCAN_MAX_DEPTH as u64,
                ..Limits::default()
            },
            ..Filter::default()
        };
        let mut files = Vec::new();
        let mut total = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        let skipped = walk::walk_listed(fd, listed, dir, &filter, &mut |entry| {
            let Entry::File(rel, mut file, _) = entry else {
                return Ok(());
            };
            if max_files > 0 && files.len() as u64 >= max_files {
                return Err(Error::TooBig(format!(
                    "{} holds more than {max_files} files",
                    dir.display()
                )));
            }
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            loop {
                let n = file
                    .read(&mut buf)
                    .map_err(|e| Error::io("read", &dir.join(rel), e))?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                total += n as u64;
                if max_bytes > 0 && total > max_bytes {
                    return Err(Error::TooBig(format!(
                        "{} holds more than {max_bytes} bytes",
                        dir.display()
                    )));
                }
                hasher.update(&buf[..n]);
            }
            files.push(FileDigest {
                path: rel.to_path_buf(),
                size,
                sha256: hex(&hasher.finalize()),
            });
            Ok(())
        })?;
        files.sort_by(|a, b| {
            a.path
                .as_os_str()
                .as_bytes()
                .cmp(b.path.as_os_str().as_bytes())
        });
        Ok(Manifest { files, skipped })
    }

    /// The canonical bytes the receipt is the digest of (see the module docs).
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for file in &self.files {
            out.extend_from_slice(file.sha256.as_bytes());
            out.extend_from_slice(format!(" {} ", file.size).as_bytes());
            out.extend_from_slice(file.path.as_os_str().as_bytes());
            out.push(0);
        }
        out
    }

    /// The receipt: SHA-256 of [`Manifest::canonical`], 64 lowercase hex digits.
    pub fn receipt(&self) -> String {
        hex(&Sha256::digest(self.canonical()))
    }

    /// Total bytes of the files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Regular files below a directory and the sum of their sizes, as `stat` says.
#[derive(Debug, Default)]
struct Count {
    files: u64,
    bytes: u64,
}

impl Count {
    /// Count what is below the directory open as `dir` (its entries at `depth`), stopping
    /// at the first cap passed: Err says which ("N files", "N bytes"). Entries that cannot
    /// be read are left to the digest walk, which reports them.
    fn add(
        &mut self,
        dir: BorrowedFd<'_>,
        depth: usize,
        max_files: u64,
        max_bytes: u64,
    ) -> std::result::Result<(), String> {
        if depth > SCAN_MAX_DEPTH {
            return Ok(());
        }
        let Ok(entries) = safefs::read_entries(dir) else {
            return Ok(());
        };
        self.add_listed(dir, &entries, depth, max_files, max_bytes)
    }

    /// [`Count::add`] of the `entries` listed in `dir`.
    fn add_listed(
        &mut self,
        dir: BorrowedFd<'_>,
        entries: &[safefs::DirEntry],
        depth: usize,
        max_files: u64,
        max_bytes: u64,
    ) -> std::result::Result<(), String> {
        for entry in entries {
            match entry.kind_in(dir) {
                Ok(Kind::File) => {
                    let Ok(stat) = safefs::stat_at(dir, &entry.name) else {
                        continue;
                    };
                    self.files += 1;
                    self.bytes = self.bytes.saturating_add(stat.st_size.max(0) as u64);
                    if max_files > 0 && self.files > max_files {
                        return Err(format!("{max_files} files"));
                    }
                    if max_bytes > 0 && self.bytes > max_bytes {
                        return Err(format!("{max_bytes} bytes"));
                    }
                }
                Ok(Kind::Dir) => {
                    if let Ok(sub) = safefs::open_dir_at(dir, &entry.name) {
                        self.add(sub.as_fd(), depth + 1, max_files, max_bytes)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// SHA-256 of `bytes`, lowercase hex (the digest every record of ours uses).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The receipt as a person reads it out: its first [`SHORT_DIGITS`] hex digits in groups of
/// four, e.g. `3f2a-9c01-77be-d410`.
pub fn short(receipt: &str) -> String {
    let digits: Vec<char> = receipt.chars().take(SHORT_DIGITS).collect();
    digits
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether `given` (full or short form; case, dashes and spaces ignored) names `receipt`.
/// At least [`SHORT_DIGITS`] digits are needed: fewer match nothing.
pub fn matches(given: &str, receipt: &str) -> bool {
    let digits: String = given
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | ':'))
        .flat_map(char::to_lowercase)
        .collect();
    digits.len() >= SHORT_DIGITS
        && digits.chars().all(|c| c.is_ascii_hexdigit())
        && receipt.starts_with(&digits)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.ipynb"), b"{}").unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/a.txt"), b"hello").unwrap();
        fs::write(dir.path().join("timestamp.txt"), b"2026-12-01 10:00:00 UTC").unwrap();
        dir
    }

    #[test]
    fn same_files_same_receipt_any_order_of_creation() {
        let a = tree();
        let b = tempfile::tempdir().unwrap();
        fs::write(b.path().join("timestamp.txt"), b"2026-12-01 10:00:00 UTC").unwrap();
        fs::create_dir(b.path().join("sub")).unwrap();
        fs::write(b.path().join("sub/a.txt"), b"hello").unwrap();
        fs::write(b.path().join("b.ipynb"), b"{}").unwrap();
        let ma = Manifest::of(a.path(), 0, 0).unwrap();
        let mb = Manifest::of(b.path(), 0, 0).unwrap();
        // With caps (counted first), the same manifest.
        assert_eq!(Manifest::of(a.path(), 100, 1 << 30).unwrap(), ma);
        assert_eq!(ma.receipt(), mb.receipt());
        let paths: Vec<_> = ma.files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(
            paths,
            ["b.ipynb", "sub/a.txt", "timestamp.txt"].map(PathBuf::from)
        );
        // The canonical form is the documented one, so any other tool can recompute it.
        let expected = format!(
            "{} 2 b.ipynb\0{} 5 sub/a.txt\0{} 23 timestamp.txt\0",
            sha256_hex(b"{}"),
            sha256_hex(b"hello"),
            sha256_hex(b"2026-12-01 10:00:00 UTC")
        );
        assert_eq!(ma.canonical(), expected.as_bytes());
        assert_eq!(ma.receipt(), sha256_hex(expected.as_bytes()));
    }

    #[test]
    fn any_change_of_content_name_or_set_changes_it() {
        let dir = tree();
        let base = Manifest::of(dir.path(), 0, 0).unwrap().receipt();
        fs::write(dir.path().join("sub/a.txt"), b"hellO").unwrap();
        let edited = Manifest::of(dir.path(), 0, 0).unwrap().receipt();
        assert_ne!(base, edited);
        fs::rename(dir.path().join("sub/a.txt"), dir.path().join("sub/c.txt")).unwrap();
        let renamed = Manifest::of(dir.path(), 0, 0).unwrap().receipt();
        assert_ne!(edited, renamed);
        fs::write(dir.path().join("extra"), b"").unwrap();
        assert_ne!(renamed, Manifest::of(dir.path(), 0, 0).unwrap().receipt());
    }

    #[test]
    fn links_are_left_out_and_reported_never_followed() {
        let dir = tree();
        let secret = tempfile::tempdir().unwrap();
        fs::write(secret.path().join("other.ipynb"), b"someone else's").unwrap();
        let base = Manifest::of(dir.path(), 0, 0).unwrap().receipt();
        std::os::unix::fs::symlink(secret.path(), dir.path().join("link")).unwrap();
        let with_link = Manifest::of(dir.path(), 0, 0).unwrap();
        assert_eq!(with_link.receipt(), base);
        assert_eq!(with_link.skipped.len(), 1, "{:?}", with_link.skipped);
        assert!(with_link.skipped[0].contains("link"));
        let top = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path(), top.path().join("sub")).unwrap();
        let err = Manifest::of(&top.path().join("sub"), 0, 0).unwrap_err();
        assert!(err.to_string().contains("sub"), "{err}");
    }

    #[test]
    fn caps_bound_a_hostile_tree() {
        let dir = tree();
        let err = Manifest::of(dir.path(), 2, 0).unwrap_err();
        assert_eq!(err.kind(), "too_big");
        assert!(err.to_string().contains("more than 2 files"), "{err}");
        let err = Manifest::of(dir.path(), 0, 10).unwrap_err();
        assert!(err.to_string().contains("more than 10 bytes"), "{err}");
    }

    #[test]
    fn a_tree_over_a_cap_is_refused_by_its_sizes_before_a_byte_is_read() {
        let dir = tree();
        // A sparse 1 TB file: reading it would take hours; its size refuses it at once.
        let big = fs::File::create(dir.path().join("sub/huge.bin")).unwrap();
        big.set_len(1 << 40).unwrap();
        let started = std::time::Instant::now();
        let err = Manifest::of(dir.path(), 0, 2_000_000_000).unwrap_err();
        assert_eq!(err.kind(), "too_big");
        assert!(
            err.to_string().contains("more than 2000000000 bytes"),
            "{err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Files are counted the same way, however deep.
        for i in 0..5 {
            fs::write(dir.path().join(format!("sub/f{i}")), b"").unwrap();
        }
        let err = Manifest::of(dir.path(), 6, 0).unwrap_err();
        assert!(err.to_string().contains("more than 6 files"), "{err}");
    }

    #[test]
    fn short_form_and_matching() {
        let r = sha256_hex(b"x");
        let s = short(&r);
        assert_eq!(s.len(), 19);
        assert_eq!(s.replace('-', ""), r[..16]);
        assert!(matches(&s, &r));
        assert!(matches(&s.to_uppercase().replace('-', " "), &r));
        assert!(matches(&r, &r));
        assert!(!matches(&r[..15], &r), "too few digits must not match");
        assert!(!matches(&short(&sha256_hex(b"y")), &r));
        assert!(!matches("zzzz-zzzz-zzzz-zzzz", &r));
    }
}
