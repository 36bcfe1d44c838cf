//! Feedback keys, identical to `nbgrader.utils.notebook_hash` and `make_unique_key`.
//!
//! Released feedback is `feedback_public/{student}/{key}.html`; which `{key}` a notebook of a
//! submission has is decided by [`feedback_keys`] alone, for release, list, fetch and
//! migrate alike.

use md5::{Digest, Md5};

/// The notebook of a submission whose feedback keys are wanted.
#[derive(Debug, Clone, Copy)]
pub struct KeyInput<'a> {
    /// Course id.
    pub course: &'a str,
    /// Assignment id.
    pub assignment: &'a str,
    /// Notebook id (the file stem).
    pub notebook_id: &'a str,
    /// Student id.
    pub student: &'a str,
    /// The submission's timestamp string.
    pub timestamp: &'a str,
    /// The contents of its `submission_secret.txt`, if it has one.
    pub secret: Option<&'a str>,
}

/// The keys feedback for `input`'s notebook is released under, best first.
///
/// A submission with a (non-empty) secret has one key, `notebook_hash(secret=...,
/// notebook_id=...)` (nbgrader >= 0.9.3 writes the secret at submit). Without one, the legacy
/// content hashes of the submitted notebook's bytes: with the unique key (what nbgrader's
/// release writes and its list and fetch look for), then without it (what the oldest
/// releases wrote, which nbgrader's fetch still accepts). An empty secret counts as none, as
/// nbgrader's fetch treats it. A release writes the first key; readers accept any of them.
/// `notebook_bytes` is called only for the legacy keys; None there means no key.
pub fn feedback_keys(
    input: &KeyInput<'_>,
    notebook_bytes: impl FnOnce() -> Option<Vec<u8>>,
) -> Vec<String> {
    if let Some(secret) = input.secret.filter(|s| !s.is_empty()) {
        return vec![feedback_key(secret, input.notebook_id)];
    }
    let Some(bytes) = notebook_bytes() else {
        return Vec::new();
    };
    let unique = unique_key(
        input.course,
        input.assignment,
        input.notebook_id,
        input.student,
        input.timestamp,
    );
    vec![
        legacy_key_of_bytes(&bytes, Some(&unique)),
        legacy_key_of_bytes(&bytes, None),
    ]
}

/// `notebook_hash(secret=secret, notebook_id=notebook_id)`: md5(secret ++ notebook id).
pub(crate) fn feedback_key(secret: &str, notebook_id: &str) -> String {
    let mut m = Md5::new();
    m.update(secret.as_bytes());
    m.update(notebook_id.as_bytes());
    hex(&m.finalize())
}

/// `notebook_hash(path, unique_key)` over the file's bytes already read.
pub(crate) fn legacy_key_of_bytes(bytes: &[u8], unique_key: Option<&str>) -> String {
    let mut m = Md5::new();
    m.update(bytes);
    if let Some(key) = unique_key.filter(|k| !k.is_empty()) {
        m.update(key.as_bytes());
    }
    hex(&m.finalize())
}

/// `make_unique_key(course, assignment, notebook, student, timestamp)`.
pub(crate) fn unique_key(
    course: &str,
    assignment: &str,
    notebook: &str,
    student: &str,
    timestamp: &str,
) -> String {
    [course, assignment, notebook, student, timestamp].join("+")
}

/// md5 hex of a byte string (for comparing feedback files).
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_md5_values() {
        // md5("") and md5("abc"), and the concatenation nbgrader hashes.
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(feedback_key("a", "bc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(legacy_key_of_bytes(b"ab", Some("c")), md5_hex(b"abc"));
        assert_eq!(legacy_key_of_bytes(b"abc", None), md5_hex(b"abc"));
        assert_eq!(legacy_key_of_bytes(b"abc", Some("")), md5_hex(b"abc"));
    }

    #[test]
    fn secret_wins_else_both_legacy_keys() {
        let input = KeyInput {
            course: "c",
            assignment: "a",
            notebook_id: "nb",
            student: "s",
            timestamp: "t",
            secret: Some("sec"),
        };
        let never = || -> Option<Vec<u8>> { panic!("the notebook is not read with a secret") };
        assert_eq!(feedback_keys(&input, never), [md5_hex(b"secnb")]);
        for secret in [None, Some("")] {
            let legacy = KeyInput { secret, ..input };
            assert_eq!(
                feedback_keys(&legacy, || Some(b"{}".to_vec())),
                [md5_hex(b"{}c+a+nb+s+t"), md5_hex(b"{}")]
            );
            assert!(feedback_keys(&legacy, || None).is_empty());
        }
    }
}
