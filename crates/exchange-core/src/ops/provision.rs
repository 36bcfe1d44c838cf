//! `provision_course`: create or repair a course tree and its students' own directories.
//!
//! Kubelet creates a missing subPath as root, which uid 1000 then cannot write; so the tree
//! must exist, owned `uid:gid` with mode 0755, before any pod of the course starts.

use std::path::{Path, PathBuf};

use crate::beneath;
use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::{display, Course};
use crate::safefs::{self, Kind};

/// What happened to one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionEntry {
    /// The directory.
    pub path: String,
    /// `"created"`, `"fine"` or `"repaired"`.
    pub outcome: &'static str,
    /// What was repaired (mode/owner), empty otherwise.
    pub detail: String,
}

/// The entries and warnings.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// One entry per directory, in creation order.
    pub entries: Vec<ProvisionEntry>,
    /// Notes.
    pub warnings: Vec<String>,
}

/// Ensure the course tree and `inbound/{s}`, `feedback_public/{s}` for each student.
pub fn provision_course(
    root: &Path,
    course: &str,
    students: &[String],
    uid: u32,
    gid: u32,
) -> Result<Provisioned> {
    let course_dir = Course::new(root, course)?;
    for s in students {
        validate(IdKind::Student, s)?;
    }
    if safefs::lkind(root)
        .map_err(|e| Error::io("inspect", root, e))?
        .is_none()
    {
        safefs::ensure_dir(root).map_err(|e| Error::io("create exchange root", root, e))?;
    }
    let mut dirs: Vec<PathBuf> = vec![
        course_dir.dir().to_path_buf(),
        course_dir.outbound(),
        course_dir.inbound(),
        course_dir.feedback_public(),
    ];
    for s in students {
        dirs.push(course_dir.inbound().join(s));
        dirs.push(course_dir.feedback_public().join(s));
    }
    let mut out = Provisioned::default();
    for dir in dirs {
        out.entries.push(ensure(&dir, uid, gid)?);
    }
    Ok(out)
}

fn ensure(dir: &Path, uid: u32, gid: u32) -> Result<ProvisionEntry> {
    let created = match safefs::lkind(dir).map_err(|e| Error::io("inspect", dir, e))? {
        None => safefs::ensure_dir(dir).map_err(|e| Error::io("create directory", dir, e))?,
        Some(Kind::Dir) => false,
        Some(kind) => {
            return Err(Error::UnsafePath {
                path: display(dir),
                reason: match kind {
                    Kind::Symlink => "a symlink where a directory must be (not followed)",
                    _ => "not a directory",
                },
            })
        }
    };
    let stat = beneath::lstat(dir)
        .and_then(|s| s.ok_or_else(|| std::io::ErrorKind::NotFound.into()))
        .map_err(|e| Error::io("inspect", dir, e))?;
    let mut fixes = Vec::new();
    if stat.st_uid != uid || stat.st_gid != gid {
        beneath::lchown(dir, uid, gid)
            .map_err(|e| Error::io(&format!("chown {uid}:{gid}"), dir, e))?;
        fixes.push(format!(
            "owner {}:{} -> {uid}:{gid}",
            stat.st_uid, stat.st_gid
        ));
    }
    let mode = stat.st_mode & 0o7777;
    if mode != 0o755 {
        safefs::set_mode(dir, 0o755).map_err(|e| Error::io("chmod", dir, e))?;
        fixes.push(format!("mode {mode:o} -> 755"));
    }
    let outcome = match (created, fixes.is_empty()) {
        (true, _) => "created",
        (false, true) => "fine",
        (false, false) => "repaired",
    };
    Ok(ProvisionEntry {
        path: display(dir),
        outcome,
        detail: if created {
            String::new()
        } else {
            fixes.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn me() -> (u32, u32) {
        (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        )
    }

    #[test]
    fn creates_then_fine_then_repairs() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("ex");
        let (uid, gid) = me();
        let students = vec!["a+b@x".to_string()];
        let p = provision_course(&root, "c1", &students, uid, gid).unwrap();
        assert_eq!(p.entries.len(), 6);
        assert!(p.entries.iter().all(|e| e.outcome == "created"));
        let dir = root.join("c1/inbound/a+b@x");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let p = provision_course(&root, "c1", &students, uid, gid).unwrap();
        let fixed: Vec<_> = p
            .entries
            .iter()
            .filter(|e| e.outcome == "repaired")
            .collect();
        assert_eq!(fixed.len(), 1);
        assert!(fixed[0].detail.contains("mode 777 -> 755"));
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    #[test]
    fn symlink_in_the_way_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let (uid, gid) = me();
        provision_course(t.path(), "c1", &[], uid, gid).unwrap();
        std::os::unix::fs::symlink("/tmp", t.path().join("c1/inbound/eve")).unwrap();
        let err = provision_course(t.path(), "c1", &["eve".into()], uid, gid).unwrap_err();
        assert_eq!(err.kind(), "unsafe_path");
        assert!(err.to_string().contains("inbound/eve"));
        assert_eq!(
            provision_course(t.path(), "c1", &["../x".into()], uid, gid)
                .unwrap_err()
                .kind(),
            "invalid_id"
        );
        let missing_parent = t.path().join("no/such/root");
        assert!(provision_course(&missing_parent, "c1", &[], uid, gid).is_err());
    }
}
