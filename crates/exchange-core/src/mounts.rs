//! Which parts of the exchange volume a user's pod mounts (DESIGN.md's table).

use std::collections::BTreeSet;

use crate::error::Result;
use crate::ids::{validate, IdKind};

/// Name of the volume and of every mount.
pub const VOLUME_NAME: &str = "nbgrader-exchange";

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
    }
}
