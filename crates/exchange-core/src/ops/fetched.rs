//! Fetch markers: the student's client reports a fetch by leaving an empty file
//! `inbound/{student}/.nbk8s-fetched/{assignment}+{timestamp}` in its own inbox, which the
//! notary records as "fetched (reported by the student)". The student writes their inbox
//! freely, so a marker is their claim, never evidence against anyone else.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, CWD};

use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::Course;
use crate::safefs;

use super::submit::{check_timestamp, student_inbox};

/// The directory of markers inside a student's inbox (a reserved dot name, DESIGN.md).
pub const MARKER_DIR: &str = ".nbk8s-fetched";

/// Leave the marker of `student` fetching `assignment` at `timestamp` (nbgrader's timestamp
/// string, as in submission names) and return its path. The inbox is created when missing
/// and `inbound/` allows, as `submit` does; nothing is followed through a symlink. A marker
/// already there is kept (fetching twice in one timestamp is one fetch).
pub fn leave_fetch_marker(
    root: &Path,
    course: &str,
    student: &str,
    assignment: &str,
    timestamp: &str,
) -> Result<PathBuf> {
    let course = Course::new(root, course)?;
    validate(IdKind::Student, student)?;
    validate(IdKind::Assignment, assignment)?;
    check_timestamp(timestamp)?;
    // The usual case is lookups and one create: both directories exist after a student's
    // first fetch and are held as `O_PATH` handles (no open/release round trips on a network
    // volume), and the marker is one exclusive create. Only a missing
    // directory takes the slower path (the inbox check `submit` makes, the mkdir and mode).
    let mut inbox = course.inbound().join(student);
    let inbox_fd = match safefs::open_dir_path_at(CWD, inbox.as_os_str()) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            inbox = student_inbox(&course, student)?;
            safefs::open_dir_path_at(CWD, inbox.as_os_str())
                .map_err(|e| Error::io("open", &inbox, e))?
        }
        Err(e) => return Err(Error::io("open", &inbox, e)),
    };
    let dir = inbox.join(MARKER_DIR);
    let dir_fd = match safefs::open_dir_path_at(inbox_fd.as_fd(), MARKER_DIR.as_ref()) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match rustix::fs::mkdirat(inbox_fd.as_fd(), MARKER_DIR, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(Error::io("create directory", &dir, std::io::Error::from(e))),
            }
            let fd = safefs::open_dir_at(inbox_fd.as_fd(), MARKER_DIR.as_ref())
                .map_err(|e| Error::io("open", &dir, e))?;
            safefs::set_mode_of(fd.as_fd(), 0o755).map_err(|e| Error::io("chmod", &dir, e))?;
            fd
        }
        Err(e) => return Err(Error::io("open", &dir, e)),
    };
    let name = format!("{assignment}+{timestamp}");
    let path = dir.join(&name);
    // O_EXCL never follows a link and fails on anything already there: a marker already
    // there (or anything planted under its name) is kept as it is. The marker's mode is
    // whatever the umask leaves of 0644: only the notary reads it. (Not `mknod`: FUSE
    // filesystems need not implement it.)
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(
        dir_fd.as_fd(),
        name.as_str(),
        flags,
        Mode::from_raw_mode(0o644),
    ) {
        Ok(_) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(Error::io("create", &path, std::io::Error::from(e))),
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    const TS: &str = "2024-03-01 12:00:00.000000 UTC";

    #[test]
    fn marker_is_left_in_the_students_own_inbox() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("c1/inbound")).unwrap();
        let path = leave_fetch_marker(t.path(), "c1", "a+b", "ps1", TS).unwrap();
        assert_eq!(
            path,
            t.path()
                .join(format!("c1/inbound/a+b/.nbk8s-fetched/ps1+{TS}"))
        );
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&path), 0o644);
        assert_eq!(mode(path.parent().unwrap()), 0o755);
        // Again: kept, not an error.
        leave_fetch_marker(t.path(), "c1", "a+b", "ps1", TS).unwrap();
    }

    #[test]
    fn links_planted_there_are_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let inbox = t.path().join("c1/inbound/s");
        fs::create_dir_all(&inbox).unwrap();
        let elsewhere = t.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, inbox.join(MARKER_DIR)).unwrap();
        let err = leave_fetch_marker(t.path(), "c1", "s", "ps1", TS).unwrap_err();
        assert!(err.to_string().contains(".nbk8s-fetched"), "{err}");
        fs::remove_file(inbox.join(MARKER_DIR)).unwrap();
        fs::create_dir(inbox.join(MARKER_DIR)).unwrap();
        let target = elsewhere.join("x");
        std::os::unix::fs::symlink(&target, inbox.join(MARKER_DIR).join(format!("ps1+{TS}")))
            .unwrap();
        // A link planted under the marker's name is left as it is, never written through.
        leave_fetch_marker(t.path(), "c1", "s", "ps1", TS).unwrap();
        assert!(!target.exists());
        assert!(
            fs::symlink_metadata(inbox.join(MARKER_DIR).join(format!("ps1+{TS}")))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            leave_fetch_marker(t.path(), "c1", "s", "ps1", "a/b")
                .unwrap_err()
                .kind(),
            "invalid_timestamp"
        );
    }
}
