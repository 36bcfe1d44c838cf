//! Which parts of the exchange volume a user's pod mounts (DESIGN.md's table).

use std::collections::BTreeSet;

use crate::error::Result;
use crate::ids::{validate, IdKind};

/// Name of the volume and of every mount.
pub const VOLUME_NAME: &str = "nbgrader-exchange";
/// The exchange volume's PersistentVolumeClaim unless configured otherwise.
pub const DEFAULT_CLAIM_NAME: &str = "nbgrader-exchange";
/// Where the exchange appears in a pod (`Exchange.root` there) unless configured otherwise.
pub const DEFAULT_MOUNT_ROOT: &str = "/mnt/exchange";

/// A user's pod's share of the exchange, in KubeSpawner's terms: the `volumes` and
/// `volume_mounts` to add. Both are empty for a user in no course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodMounts {
    /// The exchange volume (`{"name": VOLUME_NAME, "persistentVolumeClaim": {"claimName":
    /// claim_name}}`), once, when there is any mount.
    pub claim_name: Option<String>,
    /// The `volumeMounts` entries, all of volume [`VOLUME_NAME`].
    pub mounts: Vec<Mount>,
}

/// The `volumes` and `volume_mounts` for `username` (see [`exchange_mounts`]) on the claim
/// `claim_name`, mounted under `mount_root`.
pub fn pod_mounts(
    username: &str,
    student_courses: &[String],
    instructor_courses: &[String],
    claim_name: &str,
    mount_root: &str,
) -> Result<PodMounts> {
    let mounts = exchange_mounts(username, student_courses, instructor_courses, mount_root)?;
    Ok(PodMounts {
        claim_name: (!mounts.is_empty()).then(|| claim_name.to_string()),
        mounts,
    })
}

/// One KubeSpawner `volumeMounts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it appears in the pod (already `{`/`}`-escaped for `str.format`).
    pub mount_path: String,
    /// The part of the volume (escaped likewise).
    pub sub_path: String,
    /// Read-only mounts; read-write ones carry no `readOnly` key.
    pub read_only: bool,
}

/// The mounts for `username`: the whole course for each instructor course, and for each
/// student course they do not teach `outbound` (ro), `inbound/{user}` (rw) and
/// `feedback_public/{user}` (ro). Courses sorted and deduplicated; ids validated.
pub fn exchange_mounts(
    username: &str,
    student_courses: &[String],
    instructor_courses: &[String],
    mount_root: &str,
) -> Result<Vec<Mount>> {
    validate(IdKind::Student, username)?;
    for course in student_courses.iter().chain(instructor_courses) {
        validate(IdKind::Course, course)?;
    }
    let teach: BTreeSet<&str> = instructor_courses.iter().map(String::as_str).collect();
    let learn: BTreeSet<&str> = student_courses.iter().map(String::as_str).collect();
    let all: BTreeSet<&str> = teach.union(&learn).copied().collect();
    let root = mount_root.trim_end_matches('/');
    let mut mounts = Vec::new();
    for course in all {
        let sub_paths: Vec<(String, bool)> = if teach.contains(course) {
            vec![(course.to_string(), false)]
        } else {
            vec![
                (format!("{course}/outbound"), true),
                (format!("{course}/inbound/{username}"), false),
                (format!("{course}/feedback_public/{username}"), true),
            ]
        };
        for (sub, read_only) in sub_paths {
            mounts.push(Mount {
                mount_path: escape_format(&format!("{root}/{sub}")),
                sub_path: escape_format(&sub),
                read_only,
            });
        }
    }
    Ok(mounts)
}

/// Double `{` and `}` so KubeSpawner's `str.format` gives back the raw string.
pub fn escape_format(value: &str) -> String {
    value.replace('{', "{{").replace('}', "}}")
}

impl Mount {
    /// The same mount with `{`/`}` as they are, for a plain pod manifest rather than
    /// KubeSpawner config (the inverse of [`escape_format`]).
    pub fn unescaped(&self) -> Mount {
        let raw = |s: &str| s.replace("{{", "{").replace("}}", "}");
        Mount {
            mount_path: raw(&self.mount_path),
            sub_path: raw(&self.sub_path),
            read_only: self.read_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn student_and_instructor_mounts() {
        let m =
            exchange_mounts("prof", &s(&["b", "a", "b"]), &s(&["a"]), "/mnt/exchange/").unwrap();
        let paths: Vec<_> = m
            .iter()
            .map(|m| (m.mount_path.as_str(), m.read_only))
            .collect();
        assert_eq!(
            paths,
            [
                ("/mnt/exchange/a", false),
                ("/mnt/exchange/b/outbound", true),
                ("/mnt/exchange/b/inbound/prof", false),
                ("/mnt/exchange/b/feedback_public/prof", true),
            ]
        );
        assert!(exchange_mounts("a", &[], &[], "/m").unwrap().is_empty());
    }

    #[test]
    fn escaping_and_validation() {
        let m = exchange_mounts("we{ir}d", &s(&["c"]), &[], "/m").unwrap();
        assert_eq!(m[1].sub_path, "c/inbound/we{{ir}}d");
        assert!(exchange_mounts("../x", &s(&["c"]), &[], "/m").is_err());
        assert!(exchange_mounts("x", &s(&["a+b"]), &[], "/m").is_err());
        assert_eq!(m[1].unescaped().sub_path, "c/inbound/we{ir}d");
    }

    #[test]
    fn pod_mounts_name_the_claim_only_when_needed() {
        let none = pod_mounts("x", &[], &[], DEFAULT_CLAIM_NAME, DEFAULT_MOUNT_ROOT).unwrap();
        assert_eq!(none.claim_name, None);
        assert!(none.mounts.is_empty());
        let some = pod_mounts("x", &s(&["c"]), &[], "pvc", DEFAULT_MOUNT_ROOT).unwrap();
        assert_eq!(some.claim_name.as_deref(), Some("pvc"));
        assert_eq!(some.mounts[0].mount_path, "/mnt/exchange/c/outbound");
    }
}
