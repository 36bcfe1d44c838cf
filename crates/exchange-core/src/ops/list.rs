//! `list_released`, `list_inbound`, `list_cached`: what nbgrader's `ExchangeList` reports.
//!
//! The shapes mirror nbgrader's default `ExchangeList.parse_assignments`, which JupyterLab's
//! Assignments tab and formgrader read: per-notebook feedback flags, aggregated with
//! all()/any(), submissions grouped by (course, student, assignment) and sorted by timestamp.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use crate::backdate::BackdateCheck;
use crate::error::Result;
use crate::ids::{problem, IdKind};
use crate::keys::{self, md5_hex};
use crate::layout::{absolute, display, Course, LocalDirs};
use crate::names::parse_cache;
use crate::safefs::{self, Kind};
use crate::walk::top_notebooks;

use super::{child_dirs, courses_under, feedback_keys, FeedbackFiles, SubmissionRef, SMALL_FILE};

use super::inbound::{par_io, FeedbackPublic, Inbound};

/// A notebook of a released assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookRef {
    /// File stem.
    pub notebook_id: String,
    /// Absolute path.
    pub path: String,
}

/// One released assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedAssignment {
    /// Course id.
    pub course_id: String,
    /// Assignment id.
    pub assignment_id: String,
    /// `"released"` or `"fetched"`.
    pub status: &'static str,
    /// The local copy when fetched, else the exchange path.
    pub path: String,
    /// Top-level notebooks of `path`.
    pub notebooks: Vec<NotebookRef>,
}

/// A notebook of a submission, with its feedback state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookFeedback {
    /// File stem.
    pub notebook_id: String,
    /// Absolute path.
    pub path: String,
    /// Feedback already fetched locally.
    pub has_local_feedback: bool,
    /// Feedback released in the exchange.
    pub has_exchange_feedback: bool,
    /// The local feedback file, when there is one.
    pub local_feedback_path: Option<String>,
    /// Both exist and differ.
    pub feedback_updated: bool,
}

/// One submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Course id.
    pub course_id: String,
    /// Student id.
    pub student_id: String,
    /// Assignment id.
    pub assignment_id: String,
    /// The timestamp string.
    pub timestamp: String,
    /// Always `"submitted"`.
    pub status: &'static str,
    /// The submission directory.
    pub path: String,
    /// Its top-level notebooks.
    pub notebooks: Vec<NotebookFeedback>,
    /// all() of the notebooks' (False without notebooks).
    pub has_local_feedback: bool,
    /// all() of the notebooks'.
    pub has_exchange_feedback: bool,
    /// any() of the notebooks'.
    pub feedback_updated: bool,
    /// The local feedback dir when `has_local_feedback`.
    pub local_feedback_path: Option<String>,
}

/// Submissions of one (course, student, assignment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionGroup {
    /// Course id.
    pub course_id: String,
    /// Student id.
    pub student_id: String,
    /// Assignment id.
    pub assignment_id: String,
    /// Always `"submitted"`.
    pub status: &'static str,
    /// Sorted by timestamp string.
    pub submissions: Vec<Submission>,
}

/// A listing and its warnings.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    /// The entries.
    pub assignments: Vec<T>,
    /// Skipped entries.
    pub warnings: Vec<String>,
}

fn notebook_refs(dir: &Path, follow: bool) -> Vec<NotebookRef> {
    top_notebooks(dir, follow)
        .into_iter()
        .map(|(id, p)| NotebookRef {
            notebook_id: id,
            path: display(&p),
        })
        .collect()
}

/// Released assignments (see the pyi).
pub fn list_released(
    root: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    local: LocalDirs<'_>,
) -> Result<Listing<ReleasedAssignment>> {
    let mut out = Listing {
        assignments: Vec::new(),
        warnings: Vec::new(),
    };
    for course_id in courses_under(root, courses)? {
        let course = Course::new(root, &course_id)?;
        for name in child_dirs(&course.outbound(), false) {
            if assignment.is_some_and(|a| a != name) || problem(IdKind::Assignment, &name).is_some()
            {
                continue;
            }
            let local_dir = local.assignment(&course_id, &name);
            let (status, path, follow) = if local_dir.exists() {
                ("fetched", local_dir, true)
            } else {
                ("released", course.release(&name), false)
            };
            out.assignments.push(ReleasedAssignment {
                course_id: course_id.clone(),
                assignment_id: name,
                status,
                notebooks: notebook_refs(&path, follow),
                path: display(&path),
            });
        }
    }
    Ok(out)
}

/// Assemble a submission from its notebooks (nbgrader's all()/any() aggregation).
fn submission(
    sub: &SubmissionRef<'_>,
    notebooks: Vec<NotebookFeedback>,
    local_feedback_dir: Option<PathBuf>,
) -> Submission {
    let any_nb = !notebooks.is_empty();
    let has_local = any_nb && notebooks.iter().all(|n| n.has_local_feedback);
    Submission {
        course_id: sub.course.to_string(),
        student_id: sub.student.to_string(),
        assignment_id: sub.assignment.to_string(),
        timestamp: sub.timestamp.to_string(),
        status: "submitted",
        path: display(sub.dir),
        has_local_feedback: has_local,
        has_exchange_feedback: any_nb && notebooks.iter().all(|n| n.has_exchange_feedback),
        feedback_updated: notebooks.iter().any(|n| n.feedback_updated),
        local_feedback_path: local_feedback_dir
            .filter(|_| has_local)
            .map(|p| display(&p)),
        notebooks,
    }
}

/// The feedback state of each top-level notebook of `sub`; `local_dir` is the local
/// `feedback/{timestamp}` dir (None for the instructor's inbound view).
fn notebooks_with_feedback(
    sub: &SubmissionRef<'_>,
    feedback_public: &FeedbackFiles,
    local_dir: Option<&Path>,
    follow: bool,
) -> Vec<NotebookFeedback> {
    top_notebooks(sub.dir, follow)
        .into_iter()
        .map(|(id, nb_path)| {
            let keys = feedback_keys(sub, &id, &nb_path);
            let exchange = feedback_public.find(&keys);
            let local = local_dir
                .map(|d| d.join(format!("{id}.html")))
                .filter(|p| p.is_file());
            let updated = match (&local, &exchange) {
                (Some(l), Some(e)) => checksum(l) != checksum(e),
                _ => false,
            };
            NotebookFeedback {
                notebook_id: id,
                path: display(&nb_path),
                has_local_feedback: local.is_some(),
                has_exchange_feedback: exchange.is_some(),
                local_feedback_path: local.map(|p| display(&p)),
                feedback_updated: updated,
            }
        })
        .collect()
}

fn checksum(path: &Path) -> Option<String> {
    crate::safefs::read_whole(path).ok().map(|b| md5_hex(&b))
}

/// Group submissions by (course, student, assignment), sorted, each group by timestamp.
fn group(mut subs: Vec<Submission>) -> Vec<SubmissionGroup> {
    subs.sort_by(|a, b| {
        (&a.course_id, &a.student_id, &a.assignment_id, &a.timestamp).cmp(&(
            &b.course_id,
            &b.student_id,
            &b.assignment_id,
            &b.timestamp,
        ))
    });
    let mut groups: Vec<SubmissionGroup> = Vec::new();
    for sub in subs {
        match groups.last_mut() {
            Some(g)
                if g.course_id == sub.course_id
                    && g.student_id == sub.student_id
                    && g.assignment_id == sub.assignment_id =>
            {
                g.submissions.push(sub)
            }
            _ => groups.push(SubmissionGroup {
                course_id: sub.course_id.clone(),
                student_id: sub.student_id.clone(),
                assignment_id: sub.assignment_id.clone(),
                status: "submitted",
                submissions: vec![sub],
            }),
        }
    }
    // Listings of a large course are held whole while Python converts them: no slack.
    for g in &mut groups {
        g.submissions.shrink_to_fit();
    }
    groups.shrink_to_fit();
    groups
}

/// Submissions in the exchange (see the pyi).
///
/// With `backdate_tolerance`, a submission whose directory or top-level notebooks changed
/// more than that many seconds after the time it claims is warned about
/// ([`crate::backdate`]).
pub fn list_inbound(
    root: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    student: Option<&str>,
    backdate_tolerance: Option<u64>,
) -> Result<Listing<SubmissionGroup>> {
    let mut groups = Vec::new();
    let mut warnings = Vec::new();
    for course_id in courses_under(root, courses)? {
        let course = Course::new(root, &course_id)?;
        let Some(inbound) = Inbound::open(&course.inbound(), student, &mut warnings) else {
            continue;
        };
        let public = FeedbackPublic::open(&course.feedback_public(), &mut warnings);
        let mut check = BackdateCheck::for_course(&course, backdate_tolerance, &mut warnings);
        if let Some(index) = check.seals_mut() {
            index.cross_check(&course, &inbound.students, &mut warnings);
        }
        let per_student = par_io(&inbound.students, |s| {
            let ctx = InboundContext {
                course_id: &course_id,
                inbound: &inbound,
                public: &public,
                check: &check,
            };
            let (subs, warned) = inbound_of(&ctx, s, assignment);
            (group(subs), warned)
        });
        // Courses and students come sorted, so the groups are in order already.
        for (found, warned) in per_student {
            groups.extend(found);
            warnings.extend(warned);
        }
    }
    groups.shrink_to_fit();
    Ok(Listing {
        assignments: groups,
        warnings,
    })
}

/// What listing one course's inbound shares across students.
struct InboundContext<'a> {
    course_id: &'a str,
    inbound: &'a Inbound,
    public: &'a FeedbackPublic,
    check: &'a BackdateCheck,
}

/// One student's submissions (of `assignment`, if given), with their feedback state.
fn inbound_of(
    ctx: &InboundContext<'_>,
    student: &str,
    assignment: Option<&str>,
) -> (Vec<Submission>, Vec<String>) {
    let InboundContext {
        course_id,
        inbound,
        public,
        check,
    } = *ctx;
    let mut warnings = Vec::new();
    let Some(inbox) = inbound.inbox(student, &mut warnings) else {
        return (Vec::new(), warnings);
    };
    let wanted: Vec<_> = inbox
        .submissions
        .iter()
        .filter(|(_, parsed)| assignment.map_or(true, |a| a == parsed.assignment))
        .collect();
    deleted_after_seal(check, student, &inbox, assignment, &mut warnings);
    if wanted.is_empty() {
        return (Vec::new(), warnings);
    }
    let released = public.released(student, &mut warnings);
    let mut subs = Vec::with_capacity(wanted.len());
    for (name, parsed) in wanted {
        let dir = inbox.path.join(name);
        let sub = SubmissionRef {
            course: course_id,
            student,
            assignment: &parsed.assignment,
            timestamp: &parsed.timestamp,
            dir: &dir,
        };
        match inbox.open(name) {
            Ok(fd) => {
                let (notebooks, newest) =
                    inbound_notebooks(&sub, fd.as_fd(), &released, check, &mut warnings);
                if let Some(note) = check.after_seal(student, name) {
                    warnings.push(format!("student {student:?}: {} {note}", dir.display()));
                }
                if let Some(when) = parsed.when {
                    if let Some(found) = check.judge(student, name, when, newest) {
                        warnings.push(format!(
                            "student {student:?}: {} may be backdated: {found}",
                            dir.display()
                        ));
                    }
                }
                subs.push(submission(&sub, notebooks, None));
            }
            Err(e) => warnings.push(format!(
                "student {student:?}: skipped {}: cannot open ({e})",
                dir.display()
            )),
        }
    }
    (subs, warnings)
}

/// Name `student`'s sealed submissions (of `assignment`, if given) the notary saw deleted,
/// not removed by an instructor, and not back in `inbox` (docs/receipts.md).
fn deleted_after_seal(
    check: &BackdateCheck,
    student: &str,
    inbox: &super::inbound::Inbox,
    assignment: Option<&str>,
    warnings: &mut Vec<String>,
) {
    let Some(index) = check.seals() else {
        return;
    };
    let present: std::collections::BTreeSet<&str> =
        inbox.submissions.iter().map(|(n, _)| n.as_str()).collect();
    for seal in index.deleted(student, &present) {
        if assignment.is_some_and(|a| a != seal.assignment) {
            continue;
        }
        warnings.push(format!(
            "student {student:?}: {} {}",
            inbox.path.join(&seal.submission).display(),
            crate::seals::deleted_note(seal)
        ));
    }
}

/// The ctime of the directory open as `fd` (0 when it cannot be read). Asked of `statx`
/// for the ctime alone: listing a directory leaves its atime stale in the client's cache
/// (FUSE and NFS alike), so a plain `fstat`, which wants the atime too, cost a round trip
/// per submission that this answers from the cache.
fn dir_ctime(fd: BorrowedFd<'_>) -> i64 {
    use rustix::fs::{statx, AtFlags, StatxFlags};
    match statx(fd, "", AtFlags::EMPTY_PATH, StatxFlags::CTIME) {
        Ok(st) if st.stx_mask & StatxFlags::CTIME.bits() != 0 => st.stx_ctime.tv_sec,
        _ => rustix::fs::fstat(fd).map_or(0, |s| s.st_ctime),
    }
}

/// The top-level notebooks of the submission open as `fd`, from one listing, each with
/// whether its feedback is among the student's `released` files. Keys are computed only
/// when something was released: `submission_secret.txt` is read once, the notebooks
/// themselves only for legacy keys (a submission without a secret).
///
/// Also returns the newest ctime of the directory and its notebooks when `check` is on
/// (0 otherwise): statting them after the listing is served from the attributes the
/// listing brought along on NFS (`READDIRPLUS`).
fn inbound_notebooks(
    sub: &SubmissionRef<'_>,
    fd: BorrowedFd<'_>,
    released: &HashSet<OsString>,
    check: &BackdateCheck,
    warnings: &mut Vec<String>,
) -> (Vec<NotebookFeedback>, i64) {
    let entries = match safefs::read_entries(fd) {
        Ok(entries) => entries,
        Err(e) => {
            warnings.push(format!(
                "student {:?}: skipped {}: cannot read directory ({e})",
                sub.student,
                sub.dir.display()
            ));
            return (Vec::new(), 0);
        }
    };
    let notebooks: Vec<(String, OsString)> = entries
        .into_iter()
        .filter_map(|entry| {
            let name = entry.name.to_str()?;
            let id = name.strip_suffix(".ipynb")?;
            let is_file = matches!(entry.kind_in(fd), Ok(Kind::File));
            (!name.starts_with('.') && is_file).then(|| (id.to_string(), entry.name.clone()))
        })
        .collect();
    let newest = if check.enabled() {
        let ctime = |stat: std::io::Result<rustix::fs::Stat>| stat.map_or(0, |s| s.st_ctime);
        notebooks
            .iter()
            .map(|(_, name)| ctime(safefs::stat_at(fd, name)))
            .fold(dir_ctime(fd), i64::max)
    } else {
        0
    };
    let mut keys =
        (!released.is_empty() && !notebooks.is_empty()).then(|| SubmissionKeys::read(sub, fd));
    let notebooks = notebooks
        .into_iter()
        .map(|(id, file_name)| {
            let has_exchange_feedback = keys.as_mut().is_some_and(|keys| {
                keys.of(&id, &file_name)
                    .iter()
                    .any(|k| released.contains(OsStr::new(&format!("{k}.html"))))
            });
            NotebookFeedback {
                path: display(&sub.dir.join(&file_name)),
                notebook_id: id,
                has_local_feedback: false,
                has_exchange_feedback,
                local_feedback_path: None,
                feedback_updated: false,
            }
        })
        .collect();
    (notebooks, newest)
}

/// Where a submission's feedback keys come from.
struct SubmissionKeys<'a> {
    sub: &'a SubmissionRef<'a>,
    fd: BorrowedFd<'a>,
    secret: Option<String>,
}

impl<'a> SubmissionKeys<'a> {
    /// Read `submission_secret.txt` (never through a link) once.
    fn read(sub: &'a SubmissionRef<'a>, fd: BorrowedFd<'a>) -> Self {
        let secret = safefs::read_small_at(fd, "submission_secret.txt", SMALL_FILE)
            .ok()
            .flatten()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        SubmissionKeys { sub, fd, secret }
    }

    /// The keys the notebook `id` (file `file_name`) may have been released under, best
    /// first: the secret's, else the legacy keys of its bytes.
    fn of(&mut self, id: &str, file_name: &OsStr) -> Vec<String> {
        let fd = self.fd;
        let input = self.sub.key_input(id, self.secret.as_deref());
        keys::feedback_keys(&input, || {
            let (mut file, _) = safefs::open_file_at(fd, file_name).ok()?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).ok()?;
            Some(bytes)
        })
    }
}

/// The student's own submissions from the local cache (see the pyi).
pub fn list_cached(
    root: &Path,
    cache: &Path,
    courses: Option<&[String]>,
    assignment: Option<&str>,
    student: &str,
    local: LocalDirs<'_>,
) -> Result<Listing<SubmissionGroup>> {
    crate::ids::validate(IdKind::Student, student)?;
    let cache = absolute(cache);
    let mut subs = Vec::new();
    for course_id in courses_under(&cache, courses)? {
        let course = Course::new(root, &course_id)?;
        let mut feedback_public = None;
        for entry in cached_entries(&cache.join(&course_id), student) {
            let (name, assignment_id, timestamp) = entry;
            if assignment.is_some_and(|a| a != assignment_id) {
                continue;
            }
            let dir = cache.join(&course_id).join(&name);
            let sub = SubmissionRef {
                course: &course_id,
                student,
                assignment: &assignment_id,
                timestamp: &timestamp,
                dir: &dir,
            };
            let local_dir = local
                .assignment(&course_id, &assignment_id)
                .join("feedback")
                .join(&timestamp);
            let feedback = feedback_public.get_or_insert_with(|| {
                FeedbackFiles::list(&course.feedback_public().join(student))
            });
            let notebooks = notebooks_with_feedback(&sub, feedback, Some(&local_dir), true);
            subs.push(submission(&sub, notebooks, Some(local_dir)));
        }
    }
    Ok(Listing {
        assignments: group(subs),
        warnings: Vec::new(),
    })
}

/// `(name, assignment, timestamp)` of the student's entries in `{cache}/{course}`.
pub(crate) fn cached_entries(dir: &Path, student: &str) -> Vec<(String, String, String)> {
    child_dirs(dir, true)
        .into_iter()
        .filter_map(|name| {
            let (assignment, ts) = parse_cache(student, &name)?;
            Some((name, assignment, ts))
        })
        .collect()
}

/// Mark, in an inbound listing, the feedback already fetched into the local
/// `{assignment_dir}/[{course}/]{assignment}/feedback/{timestamp}/` of whoever lists (as
/// nbgrader's default does for `--inbound` too): `has_local_feedback`, `local_feedback_path`
/// and, where the released file differs from the local one, `feedback_updated`. Only the
/// lister's own directories are looked at unless a local file exists; then the released
/// file is read from `feedback_public/{student}/` without following links.
pub fn with_local_feedback(
    listing: &mut Listing<SubmissionGroup>,
    root: &Path,
    local: LocalDirs<'_>,
) {
    let mut has_dir = std::collections::HashMap::new();
    for group in &mut listing.assignments {
        let base = local
            .assignment(&group.course_id, &group.assignment_id)
            .join("feedback");
        if !*has_dir.entry(base.clone()).or_insert_with(|| base.is_dir()) {
            continue;
        }
        for sub in &mut group.submissions {
            mark_local(sub, root, &base.join(&sub.timestamp));
        }
    }
}

/// [`with_local_feedback`] for one submission, `dir` its local feedback dir.
fn mark_local(sub: &mut Submission, root: &Path, dir: &Path) {
    let (course, student) = (sub.course_id.clone(), sub.student_id.clone());
    let (assignment, timestamp) = (sub.assignment_id.clone(), sub.timestamp.clone());
    let sub_dir = PathBuf::from(&sub.path);
    let this = SubmissionRef {
        course: &course,
        student: &student,
        assignment: &assignment,
        timestamp: &timestamp,
        dir: &sub_dir,
    };
    let mut any_local = false;
    for nb in &mut sub.notebooks {
        let local = dir.join(format!("{}.html", nb.notebook_id));
        if !local.is_file() {
            continue;
        }
        any_local = true;
        nb.has_local_feedback = true;
        nb.feedback_updated =
            nb.has_exchange_feedback && released_checksum(root, &this, nb) != checksum(&local);
        nb.local_feedback_path = Some(display(&local));
    }
    if any_local {
        sub.has_local_feedback = sub.notebooks.iter().all(|n| n.has_local_feedback);
        sub.feedback_updated = sub.notebooks.iter().any(|n| n.feedback_updated);
        sub.local_feedback_path = sub.has_local_feedback.then(|| display(dir));
    }
}

/// md5 of the released feedback of `nb`, read from `feedback_public/{student}/` without
/// following links (None if there is none).
fn released_checksum(
    root: &Path,
    sub: &SubmissionRef<'_>,
    nb: &NotebookFeedback,
) -> Option<String> {
    let keys = feedback_keys(sub, &nb.notebook_id, Path::new(&nb.path));
    let public = Course::new(root, sub.course).ok()?.feedback_public();
    let fd = safefs::open_dir(&public.join(sub.student), false).ok()?;
    keys.iter().find_map(|k| {
        let name = format!("{k}.html");
        let (mut file, _) = safefs::open_file_at(fd.as_fd(), OsStr::new(&name)).ok()?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        Some(md5_hex(&bytes))
    })
}

#[cfg(test)]
mod tests;
