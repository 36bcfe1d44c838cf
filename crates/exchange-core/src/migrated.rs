//! The record of submissions brought in by `nbgrader-k8s migrate`.
//!
//! A submission's claimed timestamp earlier than its directory's ctime (by more than
//! `backdate_tolerance`) means someone wrote it after the fact: the audit flags it. A migrated
//! submission is exactly that, honestly (copying resets ctime), so migrate records each one
//! in `{root}/{course}/.nbk8s-migrated` and the backdating checks skip what it lists.
//!
//! The file sits in the course directory, which only instructors and the admin can write
//! (students mount only their own subdirectories). Format: UTF-8 text, one submission per
//! line, `{student}\t{submission directory name}`, where `%`, tab, CR and LF in either field
//! are written `%25`, `%09`, `%0D`, `%0A`. Lines starting with `#` are comments.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::layout::Course;
use crate::safefs::{self, Kind};
use crate::stage;

/// File name of the record inside the course directory.
pub const RECORD_NAME: &str = ".nbk8s-migrated";

/// The largest record read (about ten million submissions).
const MAX_RECORD: u64 = 1 << 30;

/// The set of (student, submission name) pairs migrated into one course.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigratedRecord {
    entries: BTreeSet<(String, String)>,
}

impl MigratedRecord {
    /// Where the record of `course` lives.
    pub fn path(course: &Course) -> PathBuf {
        course.dir().join(RECORD_NAME)
    }

    /// Read the record of `course`; none yet is an empty record. A symlink or other
    /// non-file in its place is refused (never followed).
    pub fn load(course: &Course) -> Result<Self> {
        let path = Self::path(course);
        match safefs::lkind(&path).map_err(|e| Error::io("inspect", &path, e))? {
            None => return Ok(Self::default()),
            Some(Kind::File) => {}
            Some(_) => {
                return Err(Error::UnsafePath {
                    path: path.display().to_string(),
                    reason: "the migration record is not a regular file",
                })
            }
        }
        let bytes = safefs::read_small(&path, MAX_RECORD)
            .map_err(|e| Error::io("read", &path, e))?
            .unwrap_or_default();
        Ok(Self::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// Parse the record's text (malformed lines are ignored).
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(s, n)| (unescape(s), unescape(n)))
            .collect();
        MigratedRecord { entries }
    }

    /// The record as text (sorted, one line per submission).
    pub fn render(&self) -> String {
        let mut out =
            String::from("# submissions brought in by nbgrader-k8s migrate: student<TAB>name\n");
        for (s, n) in &self.entries {
            out.push_str(&format!("{}\t{}\n", escape(s), escape(n)));
        }
        out
    }

    /// Write the record of `course` (to a temporary file renamed into place).
    pub fn save(&self, course: &Course) -> Result<()> {
        stage::write_file(&Self::path(course), self.render().as_bytes())
    }

    /// Whether `student`'s submission `name` was migrated.
    pub fn contains(&self, student: &str, name: &str) -> bool {
        self.entries
            .contains(&(student.to_string(), name.to_string()))
    }

    /// Record `student`'s submission `name`; false when it was already recorded.
    pub fn insert(&mut self, student: &str, name: &str) -> bool {
        self.entries.insert((student.to_string(), name.to_string()))
    }

    /// Number of recorded submissions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn escape(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\t', "%09")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn unescape(value: &str) -> String {
    value
        .replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%09", "\t")
        .replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_awkward_names() {
        let mut r = MigratedRecord::default();
        assert!(r.insert("a%09b\tc\nd", "ps1+2024-03-01 12:00:00 +0100+x"));
        assert!(!r.insert("a%09b\tc\nd", "ps1+2024-03-01 12:00:00 +0100+x"));
        r.insert("bob", "ps1+t+r");
        let back = MigratedRecord::parse(&r.render());
        assert_eq!(back, r);
        assert!(back.contains("a%09b\tc\nd", "ps1+2024-03-01 12:00:00 +0100+x"));
        assert!(!back.contains("bob", "ps2+t+r"));
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn load_save_and_refusals() {
        let t = tempfile::tempdir().unwrap();
        let course = Course::new(t.path(), "c1").unwrap();
        std::fs::create_dir(course.dir()).unwrap();
        assert!(MigratedRecord::load(&course).unwrap().is_empty());
        let mut r = MigratedRecord::default();
        r.insert("alice", "ps1+t+r");
        r.save(&course).unwrap();
        assert_eq!(MigratedRecord::load(&course).unwrap(), r);
        std::fs::remove_file(MigratedRecord::path(&course)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", MigratedRecord::path(&course)).unwrap();
        assert_eq!(
            MigratedRecord::load(&course).unwrap_err().kind(),
            "unsafe_path"
        );
    }
}
