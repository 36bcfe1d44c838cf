//! `release_feedback` and `fetch_feedback`: `feedback_public/{student}/{key}.html`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::keys::{self, KeyInput};
use crate::layout::{display, Course, LocalDirs};
use crate::leftovers::{self, LEFTOVER_AGE};
use crate::safefs;
use crate::stage;

use rustix::fs::Mode;

use super::inbound::{not_a_dir, par_io};
use super::list::cached_entries;
use super::{feedback_keys, find_feedback, SubmissionRef, SMALL_FILE};

/// One student's feedback to release.
#[derive(Debug, Clone)]
pub struct FeedbackItem {
    /// Student id.
    pub student: String,
    /// The generated feedback (`feedback/{student}/{assignment}`).
    pub feedback_dir: PathBuf,
    /// The collected submission, for legacy keys.
    pub submitted_dir: Option<PathBuf>,
}

/// One published feedback file.
#[derive(Debug, Clone)]
pub struct ReleasedFeedback {
    /// Student id.
    pub student_id: String,
    /// Notebook id (the html file's stem).
    pub notebook_id: String,
    /// The feedback key.
    pub key: String,
    /// Where it was written.
    pub path: String,
}

/// Published feedback and warnings.
#[derive(Debug, Clone, Default)]
pub struct FeedbackReleased {
    /// What was written.
    pub released: Vec<ReleasedFeedback>,
    /// Skipped students and files.
    pub warnings: Vec<String>,
}

/// Release feedback (see the pyi). All ids are validated before anything is written; then
/// students are released many at a time, each into their own directory, and one student's
/// failure is a warning that leaves the others alone.
pub fn release_feedback(
    root: &Path,
    course: &str,
    assignment: &str,
    items: &[FeedbackItem],
) -> Result<FeedbackReleased> {
    let course_dir = Course::new(root, course)?;
    validate(IdKind::Assignment, assignment)?;
    for item in items {
        validate(IdKind::Student, &item.student)?;
    }
    super::ensure_course_tree(&course_dir)?;
    let path = course_dir.feedback_public();
    let fd = safefs::open_dir(&path, true).map_err(|e| Error::io("open", &path, e))?;
    let public = Public {
        path: &path,
        fd: fd.as_fd(),
    };
    let per_student = par_io(items, |item| {
        let ctx = KeyContext {
            course,
            assignment,
            item,
        };
        let mut out = FeedbackReleased::default();
        if let Err(e) = release_one(&public, &ctx, &mut out) {
            out.warnings.push(format!(
                "student {:?}: feedback not released: {e}",
                item.student
            ));
        }
        out
    });
    let mut out = FeedbackReleased::default();
    for one in per_student {
        out.released.extend(one.released);
        out.warnings.extend(one.warnings);
    }
    Ok(out)
}

/// The course's `feedback_public/`, open.
struct Public<'a> {
    path: &'a Path,
    fd: BorrowedFd<'a>,
}

struct KeyContext<'a> {
    course: &'a str,
    assignment: &'a str,
    item: &'a FeedbackItem,
}

/// `feedback_public/{student}` (`public_path`, open as `public_fd`) as a base for `openat` (created 0755 if missing); a
/// symlink or file in its place is refused, never followed.
pub(crate) fn student_feedback_dir(
    public_path: &Path,
    public_fd: BorrowedFd<'_>,
    student: &str,
) -> Result<(PathBuf, OwnedFd)> {
    let public = Public {
        path: public_path,
        fd: public_fd,
    };
    let dir = public.path.join(student);
    let refused = |e: std::io::Error| {
        if not_a_dir(&e) {
            Error::unsafe_path(&dir, "not a real directory (a symlink?); not followed")
        } else {
            Error::io("open", &dir, e)
        }
    };
    match safefs::open_dir_path_at(public.fd, student.as_ref()) {
        Ok(fd) => return Ok((dir, fd)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(refused(e)),
    }
    match rustix::fs::mkdirat(public.fd, student, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(Error::io("create directory", &dir, e)),
    }
    // Opened for reading once, to set its mode through the descriptor.
    let fd = safefs::open_dir_at(public.fd, student.as_ref()).map_err(refused)?;
    safefs::set_mode_of(fd.as_fd(), 0o755).map_err(|e| Error::io("chmod", &dir, e))?;
    Ok((dir, fd))
}

fn release_one(
    public: &Public<'_>,
    ctx: &KeyContext<'_>,
    out: &mut FeedbackReleased,
) -> Result<()> {
    let item = ctx.item;
    let html = html_files(&item.feedback_dir)?;
    if html.is_empty() {
        out.warnings.push(format!(
            "student {:?}: no feedback files in {}",
            item.student,
            item.feedback_dir.display()
        ));
        return Ok(());
    }
    let secret = read_text(&item.feedback_dir, "submission_secret.txt")?;
    let (dir, fd) = student_feedback_dir(public.path, public.fd, &item.student)?;
    for (notebook_id, html_path) in html {
        let Some(key) = release_key(ctx, secret.as_deref(), &notebook_id)? else {
            out.warnings.push(format!(
                "student {:?}: no key for {notebook_id}: neither submission_secret.txt in {} \
                 nor the submitted notebook",
                item.student,
                item.feedback_dir.display()
            ));
            continue;
        };
        let bytes = std::fs::read(&html_path).map_err(|e| Error::io("read", &html_path, e))?;
        let name = format!("{key}.html");
        stage::write_file_at(fd.as_fd(), &name, &bytes)
            .map_err(|e| Error::io("write", &dir.join(&name), e))?;
        out.released.push(ReleasedFeedback {
            student_id: item.student.clone(),
            notebook_id,
            key,
            path: display(&dir.join(&name)),
        });
    }
    // A release killed mid-write left its temp file here; readers ignore it, and the next
    // release into this directory removes it once it is old enough not to be a live one.
    out.warnings.extend(leftovers::sweep(&dir, LEFTOVER_AGE));
    Ok(())
}

/// `(notebook id, path)` of the top-level `*.html` regular files, sorted.
fn html_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = crate::walk::children(dir).map_err(|e| Error::io("read directory", dir, e))?;
    let mut found: Vec<(String, PathBuf)> = entries
        .into_iter()
        .filter(|e| e.kind == crate::walk::Kind::File && !e.name.starts_with('.'))
        .filter_map(|e| Some((e.name.strip_suffix(".html")?.to_string(), e.path)))
        .collect();
    found.sort();
    Ok(found)
}

/// A small text file of the generated feedback directory, if it is a regular file.
fn read_text(dir: &Path, name: &str) -> Result<Option<String>> {
    let p = dir.join(name);
    let bytes = safefs::read_small(&p, SMALL_FILE).map_err(|e| Error::io("read", &p, e))?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The key to release `notebook_id`'s feedback under: the first of [`keys::feedback_keys`]
/// (the secret's, or the legacy key of the submitted notebook with the unique key).
fn release_key(
    ctx: &KeyContext<'_>,
    secret: Option<&str>,
    notebook_id: &str,
) -> Result<Option<String>> {
    // The timestamp only enters legacy keys: read it only for those.
    let timestamp = match secret.filter(|s| !s.is_empty()) {
        Some(_) => String::new(),
        None => read_text(&ctx.item.feedback_dir, "timestamp.txt")?.unwrap_or_default(),
    };
    let input = KeyInput {
        course: ctx.course,
        assignment: ctx.assignment,
        notebook_id,
        student: &ctx.item.student,
        timestamp: &timestamp,
        secret,
    };
    let submitted = ctx.item.submitted_dir.as_ref();
    let keys = keys::feedback_keys(&input, || {
        std::fs::read(submitted?.join(format!("{notebook_id}.ipynb"))).ok()
    });
    Ok(keys.into_iter().next())
}

/// One fetched (or missing) feedback file.
#[derive(Debug, Clone)]
pub struct FetchedFeedback {
    /// Assignment id.
    pub assignment_id: String,
    /// Notebook id.
    pub notebook_id: String,
    /// Submission timestamp string.
    pub timestamp: String,
    /// Where it was written (None for missing ones).
    pub path: Option<String>,
}

/// Fetched and missing feedback.
#[derive(Debug, Clone, Default)]
pub struct FeedbackFetched {
    /// Written files.
    pub fetched: Vec<FetchedFeedback>,
    /// Notebooks without released feedback.
    pub missing: Vec<FetchedFeedback>,
    /// Problems.
    pub warnings: Vec<String>,
}

/// Fetch released feedback of the student's cached submissions (see the pyi).
pub fn fetch_feedback(
    root: &Path,
    cache: &Path,
    course: &str,
    student: &str,
    assignment: Option<&str>,
    local: LocalDirs<'_>,
) -> Result<FeedbackFetched> {
    let course_dir = Course::new(root, course)?;
    validate(IdKind::Student, student)?;
    if let Some(a) = assignment {
        validate(IdKind::Assignment, a)?;
    }
    let public = course_dir.feedback_public().join(student);
    let cache_dir = crate::layout::absolute(&cache.join(course));
    let mut out = FeedbackFetched::default();
    for (name, assignment_id, timestamp) in cached_entries(&cache_dir, student) {
        if assignment.is_some_and(|a| a != assignment_id) {
            continue;
        }
        let dir = cache_dir.join(&name);
        let sub = SubmissionRef {
            course,
            student,
            assignment: &assignment_id,
            timestamp: &timestamp,
            dir: &dir,
        };
        let dest = local
            .assignment(course, &assignment_id)
            .join("feedback")
            .join(&timestamp);
        for (notebook_id, nb_path) in crate::walk::top_notebooks(&dir, true) {
            let keys = feedback_keys(&sub, &notebook_id, &nb_path);
            let mut rec = FetchedFeedback {
                assignment_id: assignment_id.clone(),
                notebook_id: notebook_id.clone(),
                timestamp: timestamp.clone(),
                path: None,
            };
            let Some(src) = find_feedback(&public, &keys) else {
                out.missing.push(rec);
                continue;
            };
            let target_file = dest.join(format!("{notebook_id}.html"));
            match copy_feedback(&src, &target_file) {
                Ok(()) => {
                    rec.path = Some(display(&target_file));
                    out.fetched.push(rec);
                }
                Err(e) => out.warnings.push(e.to_string()),
            }
        }
    }
    Ok(out)
}

fn copy_feedback(src: &Path, dest: &Path) -> Result<()> {
    let bytes = std::fs::read(src).map_err(|e| Error::io("read", src, e))?;
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    stage::write_file(dest, &bytes)
}

#[cfg(test)]
mod tests;
