//! `provision_course`: create or repair a course's skeleton and its students' directories.
//!
//! The skeleton must exist before any pod of the course starts, each directory a real one
//! with its owner and mode ([`crate::skeleton`]): kubelet follows links on a subPath, so no
//! pod may be able to rename what a subPath goes through. Run as root (the provision Job,
//! the local hub) it creates and repairs everything; run as the keeper it creates with the
//! right owner; run as anyone else (a hub still running as uid 1000) it creates what it may
//! and says, for each directory it cannot give to the keeper, that it could not.

use std::path::{Path, PathBuf};

use crate::beneath;
use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::{display, Course};
use crate::safefs::{self, Kind};
use crate::skeleton::{self, Owners, Shape, ROOT_MODE};

/// What happened to one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionEntry {
    /// The directory.
    pub path: String,
    /// `"created"`, `"fine"`, `"repaired"`, `"drift"` (not as the skeleton wants it, and
    /// this process may not repair it; `detail` says what and `warnings` how), or
    /// `"kubelet"` (a student's directory this process may not create: kubelet will).
    pub outcome: &'static str,
    /// What was repaired or is wrong (mode/owner), empty otherwise.
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

/// Ensure the course's skeleton and `inbound/{s}`, `feedback_public/{s}` for each student.
pub fn provision_course(
    root: &Path,
    course: &str,
    students: &[String],
    owners: Owners,
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
        safefs::set_mode(root, ROOT_MODE).map_err(|e| Error::io("chmod", root, e))?;
        beneath::anchor(root).map_err(|e| Error::io("open", root, e))?;
    }
    let mut dirs: Vec<(PathBuf, Shape, bool)> = skeleton::course_dirs(&course_dir)
        .into_iter()
        .map(|(dir, shape)| (dir, shape, false))
        .collect();
    for s in students {
        let own = skeleton::student_dirs(&course_dir, s);
        dirs.extend(own.into_iter().map(|(dir, shape)| (dir, shape, true)));
    }
    let mut out = Provisioned::default();
    let mut drift = false;
    for (dir, shape, subpath) in dirs {
        let entry = ensure(&dir, shape, owners, subpath)?;
        drift |= entry.outcome == "drift";
        out.entries.push(entry);
    }
    if drift {
        out.warnings.push(drift_warning(owners));
    }
    Ok(out)
}

/// The students with a directory of their own in the course: every real directory in
/// `inbound/` or `feedback_public/` (dot-names and unsafe names left out), sorted.
pub fn students_with_dirs(course: &Course) -> Vec<String> {
    let mut found: Vec<String> = [course.inbound(), course.feedback_public()]
        .iter()
        .flat_map(|dir| crate::ops::child_dirs(dir, false))
        .filter(|name| crate::ids::problem(IdKind::Student, name).is_none())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// How the course's skeleton differs from what [`crate::skeleton`] wants, changing
/// nothing: one entry per skeleton directory (its own and each existing student's), with
/// outcome `"fine"`, `"drift"` (`detail` says what), `"missing"` or `"link"`.
pub fn survey_course(root: &Path, course: &str, owners: Owners) -> Result<Provisioned> {
    let course_dir = Course::new(root, course)?;
    let mut dirs = skeleton::course_dirs(&course_dir);
    for s in students_with_dirs(&course_dir) {
        dirs.extend(skeleton::student_dirs(&course_dir, &s));
    }
    let mut out = Provisioned::default();
    for (dir, shape) in dirs {
        let (outcome, detail) = match safefs::lkind(&dir) {
            Ok(None) => ("missing", String::new()),
            Ok(Some(Kind::Dir)) => match conform_to(&dir, shape.mode(), owners, false) {
                Ok((_, left)) if left.is_empty() => ("fine", String::new()),
                Ok((_, left)) => ("drift", left.join(", ")),
                Err(e) => ("drift", e.to_string()),
            },
            Ok(Some(Kind::Symlink)) => ("link", "a symbolic link".to_string()),
            Ok(Some(kind)) => ("drift", format!("a {}, not a directory", kind.describe())),
            Err(e) => ("link", e.to_string()),
        };
        out.entries.push(ProvisionEntry {
            path: display(&dir),
            outcome,
            detail,
        });
    }
    // Whatever else sits where a student's directory would be (a link planted for a student
    // who has none yet, which kubelet would follow at their first spawn).
    for parent in [course_dir.inbound(), course_dir.feedback_public()] {
        for (name, kind) in crate::walk::list_kinds(&parent, false) {
            if kind != Kind::Dir && !name.starts_with('.') {
                out.entries.push(ProvisionEntry {
                    path: display(&parent.join(&name)),
                    outcome: if kind == Kind::Symlink {
                        "link"
                    } else {
                        "drift"
                    },
                    detail: format!("a {} where a student's directory goes", kind.describe()),
                });
            }
        }
    }
    Ok(out)
}

/// The one explanation of a skeleton this process could not give to the keeper.
pub fn drift_warning(owners: Owners) -> String {
    format!(
        "this process (uid {}) cannot give the course's directories to the keeper (uid {}): \
         until they are, the course's instructors could rename a directory a student's pod \
         mounts through; run `nbgrader-k8s repair --apply` as root (docs/security.md, \
         \"The skeleton\")",
        rustix::process::geteuid().as_raw(),
        owners.keeper
    )
}

/// Ensure one directory. A student's own directory (`subpath`: their pod mounts it) that
/// this process may not create in the keeper's sealed parent is left to kubelet, which
/// creates a missing subPath at the pod's start as root with the volume root's mode.
fn ensure(dir: &Path, shape: Shape, owners: Owners, subpath: bool) -> Result<ProvisionEntry> {
    let created = match safefs::lkind(dir).map_err(|e| Error::io("inspect", dir, e))? {
        None => match safefs::ensure_dir(dir) {
            Ok(created) => created,
            Err(e) if subpath && e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Ok(ProvisionEntry {
                    path: display(dir),
                    outcome: "kubelet",
                    detail: "left to kubelet, which creates it at the student's spawn".into(),
                })
            }
            Err(e) => return Err(Error::io("create directory", dir, e)),
        },
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
    let (fixes, left) = conform(dir, shape, owners)?;
    let outcome = match (created, fixes.is_empty(), left.is_empty()) {
        (_, _, false) => "drift",
        (true, _, true) => "created",
        (false, true, true) => "fine",
        (false, false, true) => "repaired",
    };
    let detail = if created && left.is_empty() {
        String::new()
    } else {
        fixes.into_iter().chain(left).collect::<Vec<_>>().join(", ")
    };
    Ok(ProvisionEntry {
        path: display(dir),
        outcome,
        detail,
    })
}

/// Bring the existing directory `dir` to `shape` and `owners` as far as this process may:
/// what it changed, and what is still wrong. The mode is set after the owner (a `chown` by
/// root clears setgid).
pub fn conform(dir: &Path, shape: Shape, owners: Owners) -> Result<(Vec<String>, Vec<String>)> {
    conform_to(dir, shape.mode(), owners, true)
}

/// [`conform`] with an explicit mode, or, with `apply` false, only what is wrong.
pub fn conform_to(
    dir: &Path,
    mode: u32,
    owners: Owners,
    apply: bool,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut fixes, mut left) = (Vec::new(), Vec::new());
    let stat = beneath::lstat(dir)
        .and_then(|s| s.ok_or_else(|| std::io::ErrorKind::NotFound.into()))
        .map_err(|e| Error::io("inspect", dir, e))?;
    let Owners { keeper, gid } = owners;
    if stat.st_uid != keeper || stat.st_gid != gid {
        let what = format!("owner {}:{} -> {keeper}:{gid}", stat.st_uid, stat.st_gid);
        match apply.then(|| beneath::lchown(dir, keeper, gid)) {
            Some(Ok(())) => fixes.push(what),
            Some(Err(e)) if e.kind() != std::io::ErrorKind::PermissionDenied => {
                return Err(Error::io(&format!("chown {keeper}:{gid}"), dir, e))
            }
            _ => left.push(what),
        }
    }
    let now = match fixes.is_empty() {
        true => stat.st_mode & 0o7777,
        false => {
            beneath::lstat(dir)
                .ok()
                .flatten()
                .map_or(stat.st_mode, |s| s.st_mode)
                & 0o7777
        }
    };
    if now != mode {
        let what = format!("mode {now:o} -> {mode:o}");
        match apply.then(|| safefs::set_mode(dir, mode)) {
            Some(Ok(())) => fixes.push(what),
            Some(Err(e)) if e.kind() != std::io::ErrorKind::PermissionDenied => {
                return Err(Error::io("chmod", dir, e))
            }
            _ => left.push(what),
        }
    }
    Ok((fixes, left))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn me() -> Owners {
        Owners {
            keeper: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        }
    }

    #[test]
    fn creates_the_skeleton_with_its_shapes_then_fine_then_repairs() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("ex");
        let owners = me();
        let students = vec!["a+b@x".to_string()];
        let p = provision_course(&root, "c1", &students, owners).unwrap();
        assert!(p.entries.iter().all(|e| e.outcome == "created"), "{p:?}");
        let mode = |p: &str| {
            std::fs::metadata(root.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        let shapes: Vec<(&str, u32)> = [
            "",
            "c1",
            "c1/outbound",
            "c1/inbound",
            "c1/feedback_public",
            "c1/.nbk8s-removed",
            "c1/.nbk8s-notary",
            "c1/inbound/a+b@x",
            "c1/feedback_public/a+b@x",
        ]
        .into_iter()
        .map(|p| (p, mode(p)))
        .collect();
        assert_eq!(
            shapes,
            [
                ("", 0o2775),
                ("c1", 0o2755),
                ("c1/outbound", 0o2775),
                ("c1/inbound", 0o2755),
                ("c1/feedback_public", 0o2755),
                ("c1/.nbk8s-removed", 0o2775),
                ("c1/.nbk8s-notary", 0o2775),
                ("c1/inbound/a+b@x", 0o2775),
                ("c1/feedback_public/a+b@x", 0o2775),
            ]
        );
        let p = provision_course(&root, "c1", &students, owners).unwrap();
        assert!(p.entries.iter().all(|e| e.outcome == "fine"), "{p:?}");
        for (dir, wrong) in [("c1/inbound/a+b@x", 0o777), ("c1/inbound", 0o2775)] {
            std::fs::set_permissions(root.join(dir), std::fs::Permissions::from_mode(wrong))
                .unwrap();
        }
        let p = provision_course(&root, "c1", &students, owners).unwrap();
        let fixed: Vec<_> = p
            .entries
            .iter()
            .filter(|e| e.outcome == "repaired")
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(fixed, ["mode 2775 -> 2755", "mode 777 -> 2775"]);
        assert_eq!(mode("c1/inbound"), 0o2755);
        assert_eq!(mode("c1/inbound/a+b@x"), 0o2775);
    }

    #[test]
    fn symlink_in_the_way_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let owners = me();
        provision_course(t.path(), "c1", &[], owners).unwrap();
        std::os::unix::fs::symlink("/tmp", t.path().join("c1/inbound/eve")).unwrap();
        let err = provision_course(t.path(), "c1", &["eve".into()], owners).unwrap_err();
        assert_eq!(err.kind(), "unsafe_path");
        assert!(err.to_string().contains("inbound/eve"));
        assert_eq!(
            provision_course(t.path(), "c1", &["../x".into()], owners)
                .unwrap_err()
                .kind(),
            "invalid_id"
        );
        let missing_parent = t.path().join("no/such/root");
        assert!(provision_course(&missing_parent, "c1", &[], owners).is_err());
    }
}
