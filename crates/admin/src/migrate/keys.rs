//! Whose feedback is `feedback/{hash}.html`? nbgrader's default exchange names released
//! feedback only by a hash, so the student is found by recomputing the hashes: from each old
//! submission (its `submission_secret.txt`, or the legacy content hash) and from the
//! instructor's course directory (`feedback/{student}/{assignment}/` with its secret, and the
//! feedback file's content).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use exchange_core::keys::{feedback_keys, md5_hex, KeyInput};
use exchange_core::walk::{self, Kind};

use super::source::OldSubmission;

/// Largest notebook or feedback file read to compute a hash.
const MAX_READ: u64 = 512 * 1024 * 1024;

/// Feedback hash and content -> the students it may belong to.
#[derive(Debug, Default)]
pub struct KeyMap {
    by_key: HashMap<String, BTreeSet<String>>,
    by_content: HashMap<String, BTreeSet<String>>,
}

fn notebooks(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    walk::children(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.kind == Kind::File)
        .filter_map(|c| Some((c.name.strip_suffix(".ipynb")?.to_string(), c.path)))
        .collect()
}

fn secret_in(dir: &Path) -> Option<String> {
    let bytes = walk::read_regular(&dir.join("submission_secret.txt"), 64 * 1024).ok()??;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

impl KeyMap {
    fn add_key(&mut self, key: String, student: &str) {
        self.by_key
            .entry(key)
            .or_default()
            .insert(student.to_string());
    }

    /// The hashes nbgrader would have released `sub`'s feedback under.
    pub fn add_submission(&mut self, course: &str, sub: &OldSubmission) {
        let secret = secret_in(&sub.src);
        for (nb, path) in notebooks(&sub.src) {
            let input = KeyInput {
                course,
                assignment: &sub.assignment,
                notebook_id: &nb,
                student: &sub.student,
                timestamp: &sub.timestamp,
                secret: secret.as_deref(),
            };
            for key in feedback_keys(&input, || {
                walk::read_regular(&path, MAX_READ).ok().flatten()
            }) {
                self.add_key(key, &sub.student);
            }
        }
    }

    /// Hashes and contents of the feedback in an instructor's course directory
    /// (`{dir}/feedback/{student}/{assignment}/{notebook}.html`, secrets from there or from
    /// `{dir}/submitted/{student}/{assignment}/`). Returns how many feedback files it read.
    pub fn add_course_dir(&mut self, dir: &Path) -> usize {
        let mut files = 0;
        let feedback = dir.join("feedback");
        for student in subdirs(&feedback) {
            for assignment in subdirs(&feedback.join(&student)) {
                let fb_dir = feedback.join(&student).join(&assignment);
                let secret = secret_in(&fb_dir)
                    .or_else(|| secret_in(&dir.join("submitted").join(&student).join(&assignment)));
                for c in walk::children(&fb_dir).unwrap_or_default() {
                    let Some(nb) = c.name.strip_suffix(".html") else {
                        continue;
                    };
                    if c.kind != Kind::File {
                        continue;
                    }
                    files += 1;
                    // The instructor's copy holds the secret but not the notebook as
                    // submitted: only the secret's key can be recomputed here.
                    if let Some(secret) = secret.as_deref().filter(|s| !s.is_empty()) {
                        let input = KeyInput {
                            course: "",
                            assignment: &assignment,
                            notebook_id: nb,
                            student: &student,
                            timestamp: "",
                            secret: Some(secret),
                        };
                        for key in feedback_keys(&input, || None) {
                            self.add_key(key, &student);
                        }
                    }
                    if let Ok(Some(bytes)) = walk::read_regular(&c.path, MAX_READ) {
                        self.by_content
                            .entry(md5_hex(&bytes))
                            .or_default()
                            .insert(student.clone());
                    }
                }
            }
        }
        files
    }

    /// The student whose feedback `{key}.html` with content `bytes` is.
    pub fn student_of(&self, name: &str, bytes: &[u8]) -> Result<String, String> {
        let key = name.strip_suffix(".html").unwrap_or(name);
        let by_key = self.by_key.get(key);
        let by_content = self.by_content.get(&md5_hex(bytes));
        let candidates = match (by_key, by_content) {
            (Some(k), _) if k.len() == 1 => k,
            (Some(k), _) => return Err(ambiguous(k)),
            (None, Some(c)) if c.len() == 1 => c,
            (None, Some(c)) => return Err(ambiguous(c)),
            (None, None) => {
                return Err(
                    "no submission in the old exchange and no feedback in the course \
                            directory matches it (give --course-dir?)"
                        .to_string(),
                )
            }
        };
        Ok(candidates.iter().next().cloned().unwrap_or_default())
    }
}

fn ambiguous(students: &BTreeSet<String>) -> String {
    let list: Vec<&str> = students.iter().map(String::as_str).collect();
    format!("ambiguous: it matches students {}", list.join(", "))
}

fn subdirs(dir: &Path) -> Vec<String> {
    walk::children(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.kind == Kind::Dir && !c.name.starts_with('.'))
        .map(|c| c.name)
        .collect()
}
