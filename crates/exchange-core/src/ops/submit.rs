//! `submit`: publish the student's work into their own `inbound/{student}/`.

use std::path::{Path, PathBuf};

use crate::copy::{copy_path, CopyOptions};
use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::{absolute, Course};
use crate::names::{cache_name, new_secret, random_part, submission_name};
use crate::receipt::Manifest;
use crate::safefs::{self, Kind};
use crate::stage::{self, Staged};
use crate::walk::{find_notebooks, Filter};

use crate::leftovers::{self, LEFTOVER_AGE};

/// What a submission did.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// `{assignment}+{timestamp}+{random}`.
    pub name: String,
    /// The submission in the exchange.
    pub path: PathBuf,
    /// The copy in the local cache.
    pub cache_path: PathBuf,
    /// The timestamp string.
    pub timestamp: String,
    /// The receipt of exactly what was published ([`crate::receipt`]).
    pub receipt: String,
    /// Skipped files, notebook differences.
    pub warnings: Vec<String>,
}

/// The file in a submission's local cache copy that keeps its receipt (64 hex digits and a
/// newline): the student's own record of what they handed in.
pub const RECEIPT_FILE: &str = ".nbk8s-receipt";

/// Everything [`submit`] needs.
#[derive(Debug, Clone)]
pub struct SubmitRequest<'a> {
    /// `Exchange.root`.
    pub root: &'a Path,
    /// Course id.
    pub course: &'a str,
    /// Student id (the inbound directory name).
    pub student: &'a str,
    /// Assignment id.
    pub assignment: &'a str,
    /// The student's assignment directory.
    pub source: &'a Path,
    /// nbgrader's timestamp string.
    pub timestamp: &'a str,
    /// The local cache root.
    pub cache: &'a Path,
    /// Refuse a submission missing released notebooks.
    pub strict: bool,
    /// ignore/include/limits.
    pub filter: Filter,
}

/// Submit (see the pyi): checks, stage in `inbound/{student}/.…`, publish, cache copy.
pub fn submit(req: &SubmitRequest<'_>) -> Result<Submitted> {
    let course = Course::new(req.root, req.course)?;
    validate(IdKind::Student, req.student)?;
    validate(IdKind::Assignment, req.assignment)?;
    check_timestamp(req.timestamp)?;
    let release = course.release(req.assignment);
    if !matches!(safefs::lkind(&release), Ok(Some(Kind::Dir))) {
        return Err(Error::NotFound(format!(
            "Assignment {:?} is not released in course {:?}",
            req.assignment, req.course
        )));
    }
    let mut warnings = compare_notebooks(&release, req.source, req.assignment, req.strict)?;
    let inbox = student_inbox(&course, req.student)?;
    // Staging an interrupted submit left in the student's own inbox goes now.
    warnings.extend(leftovers::sweep(&inbox, LEFTOVER_AGE));
    let name = submission_name(req.assignment, req.timestamp, &random_part());
    if name.len() > 255 {
        return Err(Error::InvalidArgument(format!(
            "submission name {name:?} is longer than 255 bytes"
        )));
    }
    // The student's files are copied once, from their home into the local cache's
    // staging, and the exchange copy is made from there: both hold the same bytes, and
    // nothing is read back over the network.
    let cache = CacheEntry::stage(req)?;
    let opts = CopyOptions {
        filter: req.filter.clone(),
        skip_existing: false,
    };
    let report = copy_path(req.source, true, cache.staged.path(), &opts)?;
    warnings.extend(report.warnings);
    write_stamp_files(cache.staged.path(), req.timestamp, &new_secret())?;
    let staged = Staged::create(&inbox)?;
    copy_path(
        cache.staged.path(),
        false,
        staged.path(),
        &CopyOptions::default(),
    )?;
    // The receipt of what the rename below publishes. It is read from the cache's staged
    // copy, the tree the exchange's staged copy was just made from (every file, unfiltered,
    // by this process, in dirs nobody else writes), so it names the same bytes; reading the
    // exchange copy back instead costs a network round trip per open, read and close
    // (58 -> 84 on the bench's 1 ms volume, past the default exchange's 67).
    let receipt = Manifest::of(cache.staged.path(), 0, 0)?.receipt();
    staged.publish(&name, false)?;
    let path = inbox.join(&name);
    // Into the cache only now: the receipt file is the student's, not part of the submission.
    stage::write_new_file(
        &cache.staged.path().join(RECEIPT_FILE),
        format!("{receipt}\n").as_bytes(),
    )?;
    let cache_path = cache.publish()?;
    Ok(Submitted {
        name,
        path,
        cache_path,
        timestamp: req.timestamp.to_string(),
        receipt,
        warnings,
    })
}

/// A timestamp becomes part of a directory name: refuse `/`, NUL, and what cannot be read
/// back (collect orders submissions by it).
pub(crate) fn check_timestamp(ts: &str) -> Result<()> {
    let fail = |reason: &str| Error::InvalidTimestamp {
        value: ts.to_string(),
        reason: reason.to_string(),
    };
    if ts.contains('/') {
        return Err(fail(
            "it contains '/', which cannot be part of a directory name",
        ));
    }
    if ts.contains('\0') {
        return Err(fail("it contains a NUL character"));
    }
    crate::timestamp::parse(ts).map(|_| ())
}

/// Released notebooks missing from `source` fail with `strict`, else become a warning
/// (as do extra notebooks); the message is nbgrader's FOUND/MISSING/OK/EXTRA table.
fn compare_notebooks(
    release: &Path,
    source: &Path,
    assignment: &str,
    strict: bool,
) -> Result<Vec<String>> {
    let released = find_notebooks(release)?;
    let submitted = find_notebooks(source)?;
    let missing = released.iter().any(|n| !submitted.contains(n));
    let extra = submitted.iter().any(|n| !released.contains(n));
    if !missing && !extra {
        return Ok(Vec::new());
    }
    let mark = |n: &String, other: &[String], yes: &str, no: &str| {
        format!("{n}: {}", if other.contains(n) { yes } else { no })
    };
    let expected: Vec<String> = released
        .iter()
        .map(|n| mark(n, &submitted, "FOUND", "MISSING"))
        .collect();
    let got: Vec<String> = submitted
        .iter()
        .map(|n| mark(n, &released, "OK", "EXTRA"))
        .collect();
    let diff = format!(
        "Expected:\n\t{}\nSubmitted:\n\t{}",
        expected.join("\n\t"),
        got.join("\n\t")
    );
    if strict && missing {
        return Err(Error::MissingNotebooks(format!(
            "Assignment {assignment} not submitted. \
             There are missing notebooks for the submission:\n{diff}"
        )));
    }
    Ok(vec![format!(
        "Possible missing notebooks and/or extra notebooks submitted for assignment \
         {assignment}:\n{diff}"
    )])
}

/// `inbound/{student}` as a real directory; created when missing and `inbound/` allows.
pub(crate) fn student_inbox(course: &Course, student: &str) -> Result<PathBuf> {
    let inbox = course.inbound().join(student);
    match safefs::lkind(&inbox).map_err(|e| Error::io("inspect", &inbox, e))? {
        Some(Kind::Dir) => Ok(inbox),
        Some(_) => Err(Error::unsafe_path(
            &inbox,
            "the student's inbound entry is not a real directory",
        )),
        None => match safefs::ensure_dir(&inbox) {
            Ok(_) => Ok(inbox),
            Err(e) => Err(Error::NotFound(format!(
                "Your submission directory {} does not exist and cannot be created ({e}); \
                 ask the course admin to provision it",
                inbox.display()
            ))),
        },
    }
}

/// `timestamp.txt` (exactly the string) and `submission_secret.txt`, as nbgrader writes,
/// into a staging directory (nobody reads it yet: no temp file and rename needed).
fn write_stamp_files(dir: &Path, timestamp: &str, secret: &str) -> Result<()> {
    stage::write_new_file(&dir.join("timestamp.txt"), timestamp.as_bytes())?;
    stage::write_new_file(&dir.join("submission_secret.txt"), secret.as_bytes())
}

/// The submission's entry in the local cache,
/// `{cache}/{course}/{student}+{assignment}+{timestamp}`, being staged.
struct CacheEntry {
    staged: Staged,
    dir: PathBuf,
    name: String,
}

impl CacheEntry {
    fn stage(req: &SubmitRequest<'_>) -> Result<Self> {
        let dir = absolute(&req.cache.join(req.course));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        leftovers::sweep(&dir, LEFTOVER_AGE);
        Ok(CacheEntry {
            staged: Staged::create(&dir)?,
            name: cache_name(req.student, req.assignment, req.timestamp),
            dir,
        })
    }

    /// Publish it once the exchange holds the submission.
    fn publish(self) -> Result<PathBuf> {
        self.staged.publish(&self.name, true)?;
        Ok(self.dir.join(self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::write_tree;
    use crate::walk::Limits;
    use std::fs;

    pub(crate) const TS: &str = "2024-03-01 12:00:00.000000 UTC";

    fn setup() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        write_tree(
            &t.path().join("ex/c1/outbound/ps1"),
            &[("p1.ipynb", "{}"), ("p2.ipynb", "{}")],
        );
        fs::create_dir_all(t.path().join("ex/c1/inbound")).unwrap();
        write_tree(
            &t.path().join("home/ps1"),
            &[("p1.ipynb", "{\"a\":1}"), ("big", "0123456789")],
        );
        t
    }

    fn req<'a>(t: &'a Path, source: &'a Path, strict: bool) -> SubmitRequest<'a> {
        SubmitRequest {
            root: t,
            course: "c1",
            student: "a+b@x",
            assignment: "ps1",
            source,
            timestamp: TS,
            cache: t,
            strict,
            filter: Filter::default(),
        }
    }

    #[test]
    fn submit_writes_stamp_files_and_cache() {
        let t = setup();
        let root = t.path().join("ex");
        let src = t.path().join("home/ps1");
        let mut r = req(&root, &src, false);
        let cache = t.path().join("cache");
        r.cache = &cache;
        let out = submit(&r).unwrap();
        assert!(out.name.starts_with(&format!("ps1+{TS}+")));
        assert!(out.warnings.iter().any(|w| w.contains("p2.ipynb: MISSING")));
        assert_eq!(
            fs::read_to_string(out.path.join("timestamp.txt")).unwrap(),
            TS
        );
        let secret = fs::read_to_string(out.path.join("submission_secret.txt")).unwrap();
        assert_eq!(secret.len(), 128);
        assert_eq!(out.cache_path, cache.join(format!("c1/a+b@x+ps1+{TS}")));
        assert_eq!(
            fs::read_to_string(out.cache_path.join("submission_secret.txt")).unwrap(),
            secret
        );
        let inbox = root.join("c1/inbound/a+b@x");
        assert_eq!(fs::read_dir(&inbox).unwrap().count(), 1);
        // The receipt is the published submission's, and the cache keeps it (only there).
        assert_eq!(
            out.receipt,
            Manifest::of(&out.path, 0, 0).unwrap().receipt()
        );
        assert_eq!(
            fs::read_to_string(out.cache_path.join(RECEIPT_FILE)).unwrap(),
            format!("{}\n", out.receipt)
        );
        assert!(!out.path.join(RECEIPT_FILE).exists());
    }

    #[test]
    fn strict_too_big_and_bad_timestamps_write_nothing() {
        let t = setup();
        let root = t.path().join("ex");
        let src = t.path().join("home/ps1");
        let err = submit(&req(&root, &src, true)).unwrap_err();
        assert_eq!(err.kind(), "missing_notebooks");
        let mut r = req(&root, &src, false);
        r.filter.limits = Limits {
            max_dir_size: 0,
            max_files: 1,
            ..Limits::default()
        };
        assert_eq!(submit(&r).unwrap_err().kind(), "too_big");
        let inbox = root.join("c1/inbound/a+b@x");
        assert_eq!(fs::read_dir(&inbox).unwrap().count(), 0);
        let mut r = req(&root, &src, false);
        r.timestamp = "2024/03/01 12:00";
        assert_eq!(submit(&r).unwrap_err().kind(), "invalid_timestamp");
        r.assignment = "ps9";
        r.timestamp = TS;
        assert_eq!(submit(&r).unwrap_err().kind(), "not_found");
    }

    #[test]
    fn symlinked_inbox_is_refused() {
        let t = setup();
        let root = t.path().join("ex");
        let elsewhere = t.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join("c1/inbound/a+b@x")).unwrap();
        let src = t.path().join("home/ps1");
        assert_eq!(
            submit(&req(&root, &src, false)).unwrap_err().kind(),
            "unsafe_path"
        );
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    }
}
