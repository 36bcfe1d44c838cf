//! Feedback keys, identical to `nbgrader.utils.notebook_hash` and `make_unique_key`.

use std::path::Path;

use md5::{Digest, Md5};

use crate::error::{Error, Result};

/// `notebook_hash(secret=secret, notebook_id=notebook_id)`: md5(secret ++ notebook id).
pub fn feedback_key(secret: &str, notebook_id: &str) -> String {
    let mut m = Md5::new();
    m.update(secret.as_bytes());
    m.update(notebook_id.as_bytes());
    hex(&m.finalize())
}

/// `notebook_hash(path, unique_key)` over the file's bytes already read.
pub fn legacy_key_of_bytes(bytes: &[u8], unique_key: Option<&str>) -> String {
    let mut m = Md5::new();
    m.update(bytes);
    if let Some(key) = unique_key.filter(|k| !k.is_empty()) {
        m.update(key.as_bytes());
    }
    hex(&m.finalize())
}

/// `notebook_hash(path, unique_key)`: md5 of the file's bytes, then of the key.
pub fn legacy_feedback_key(path: &Path, unique_key: Option<&str>) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    Ok(legacy_key_of_bytes(&bytes, unique_key))
}

/// `make_unique_key(course, assignment, notebook, student, timestamp)`.
pub fn unique_key(
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
    fn legacy_from_file_and_unique_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nb.ipynb");
        std::fs::write(&path, b"{}").unwrap();
        let key = unique_key("c", "a", "nb", "s", "t");
        assert_eq!(key, "c+a+nb+s+t");
        assert_eq!(
            legacy_feedback_key(&path, Some(&key)).unwrap(),
            md5_hex(b"{}c+a+nb+s+t")
        );
        assert_eq!(
            legacy_feedback_key(&dir.path().join("x"), None)
                .unwrap_err()
                .kind(),
            "io"
        );
    }
}
