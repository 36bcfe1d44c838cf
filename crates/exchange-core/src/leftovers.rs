//! What an interrupted run leaves behind, and the one rule for when it may go.
//!
//! Every writer stages under a dot name and publishes by `rename` (the private `stage` module). A run
//! killed half-way leaves its dot-named staging directory, the trash of a replaced tree, or
//! a temporary file. Those, and only those, are leftovers: their names start with one of
//! three prefixes, so nothing else of ours (DESIGN.md "Reserved names") nor a student's own
//! dot-file is ever taken for one. A leftover younger than [`LEFTOVER_AGE`] may belong to a
//! run still going (or be a replaced release kept for a reader still copying it), so
//! writers sweep, `gc` removes and `audit` flags only older ones.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::safefs;

/// Prefix of staging directories (a tree being written).
pub(crate) const STAGING_PREFIX: &str = ".nbk8s-staging-";
/// Prefix of trees moved aside before removal.
pub(crate) const TRASH_PREFIX: &str = ".nbk8s-trash-";
/// Prefix of temporary files (a file being written).
pub(crate) const TMP_PREFIX: &str = ".nbk8s-tmp-";

/// How old a leftover must be before anyone removes it: longer than any run takes, and
/// than a student's fetch copying a release that was replaced meanwhile.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// Which kind of leftover a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftoverKind {
    /// A staging directory: a tree being written.
    Staging,
    /// A replaced or withdrawn tree, moved aside before removal.
    Trash,
    /// A temporary file being written.
    Tmp,
}

impl LeftoverKind {
    /// The kind of leftover `name` is, or None when it is not one of ours to remove.
    pub fn of(name: &str) -> Option<Self> {
        [
            (STAGING_PREFIX, LeftoverKind::Staging),
            (TRASH_PREFIX, LeftoverKind::Trash),
            (TMP_PREFIX, LeftoverKind::Tmp),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| name.starts_with(prefix).then_some(kind))
    }
}

/// One leftover found by [`leftovers`].
#[derive(Debug, Clone)]
pub struct Leftover {
    /// Where it is.
    pub path: PathBuf,
    /// What it is.
    pub kind: LeftoverKind,
    /// Time since it was last modified (its staging began or its content last changed).
    pub age: Duration,
}

impl Leftover {
    /// Remove it (a tree recursively), never following a symlink.
    pub fn remove(&self) -> std::io::Result<()> {
        safefs::remove_any(&self.path)
    }
}

/// Whether `name`, a direct child of `outbound/`, `inbound/{s}/` or `feedback_public/{s}/`,
/// is the exchange's own entry rather than data: every dot-name there is (DESIGN.md), a
/// leftover or not.
pub fn is_reserved(name: &str) -> bool {
    name.starts_with('.')
}

/// The leftovers directly in `dir` at least `age` old, sorted by path. Only entries whose
/// names are leftovers are looked at (one listing, then one `lstat` each), so a directory
/// of many submissions costs one listing. A missing or unreadable `dir` has none.
pub fn leftovers(dir: &Path, age: Duration) -> Vec<Leftover> {
    let Ok(fd) = safefs::open_dir(dir, true) else {
        return Vec::new();
    };
    let Ok(names) = safefs::read_names(fd.as_fd()) else {
        return Vec::new();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    names
        .iter()
        .filter_map(|name| {
            let kind = LeftoverKind::of(name.to_str()?)?;
            let stat = safefs::stat_at(fd.as_fd(), OsStr::new(name)).ok()?;
            let modified = Duration::new(u64::try_from(stat.st_mtime).unwrap_or(0), 0);
            let found_age = now.saturating_sub(modified);
            (found_age >= age).then(|| Leftover {
                path: dir.join(name),
                kind,
                age: found_age,
            })
        })
        .collect()
}

/// Remove the leftovers in `dir` older than `age` (what writers do before they write);
/// returns warnings for the ones that could not be removed.
pub fn sweep(dir: &Path, age: Duration) -> Vec<String> {
    leftovers(dir, age)
        .into_iter()
        .filter_map(|left| {
            left.remove()
                .err()
                .map(|e| format!("could not remove leftover {} ({e})", left.path.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn only_the_three_prefixes_are_leftovers() {
        assert_eq!(
            LeftoverKind::of(".nbk8s-staging-x"),
            Some(LeftoverKind::Staging)
        );
        assert_eq!(
            LeftoverKind::of(".nbk8s-trash-x"),
            Some(LeftoverKind::Trash)
        );
        assert_eq!(LeftoverKind::of(".nbk8s-tmp-x"), Some(LeftoverKind::Tmp));
        // Reserved names of ours that are data, and a student's own dot-entries.
        for name in [
            ".nbk8s-notary",
            ".nbk8s-migrated",
            ".nbk8s-removed",
            ".nbk8s-deadlines.json",
            ".nbk8s-seals.json",
            ".nbk8s-fetched",
            ".ipynb_checkpoints",
            "ps1+2024-01-01 00:00:00 UTC+abc",
        ] {
            assert_eq!(LeftoverKind::of(name), None, "{name}");
        }
        assert!(is_reserved(".nbk8s-notary") && is_reserved(".x") && !is_reserved("ps1"));
    }

    #[test]
    fn young_ones_are_kept_old_ones_listed_and_swept() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::create_dir(d.join(".nbk8s-staging-a")).unwrap();
        fs::write(d.join(".nbk8s-staging-a/f"), "x").unwrap();
        fs::write(d.join(".nbk8s-tmp-b"), "x").unwrap();
        fs::create_dir(d.join(".nbk8s-removed")).unwrap();
        fs::create_dir(d.join("ps1+2024-01-01 00:00:00 UTC+abc")).unwrap();
        std::os::unix::fs::symlink("/etc", d.join(".nbk8s-trash-link")).unwrap();
        assert!(leftovers(d, LEFTOVER_AGE).is_empty());
        let all = leftovers(d, Duration::ZERO);
        let kinds: Vec<_> = all.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                LeftoverKind::Staging,
                LeftoverKind::Tmp,
                LeftoverKind::Trash
            ]
        );
        assert!(all.iter().all(|l| l.age < Duration::from_secs(60)));
        assert!(sweep(d, LEFTOVER_AGE).is_empty());
        assert_eq!(fs::read_dir(d).unwrap().count(), 5);
        assert!(sweep(d, Duration::ZERO).is_empty());
        let mut left: Vec<_> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".nbk8s-removed", "ps1+2024-01-01 00:00:00 UTC+abc"]);
        // The swept link was removed itself, not what it points to.
        assert!(Path::new("/etc/passwd").exists());
        assert!(leftovers(&d.join("missing"), Duration::ZERO).is_empty());
    }
}
