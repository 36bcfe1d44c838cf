//! `collect`: copy each student's chosen submission into the instructor's course directory.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::backdate::{BackdateCheck, GradeTime};
use crate::copy::{copy_tree, CopyOptions};
use crate::deadlines;
use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::{display, Course, CourseDirs};
use crate::names::SubmissionName;
use crate::safefs;
use crate::stage::{self, Staged};
use crate::timestamp;
use crate::walk::Filter;

use super::inbound::{par_io, Inbound};
use super::{for_student, SMALL_FILE};
use crate::leftovers::{self, LEFTOVER_AGE};

/// What happened to one student's submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Copied to a new destination.
    Collected,
    /// Replaced an older (or, before the due date, a different) copy.
    Updated,
    /// Destination exists and `update` was not asked for.
    Exists,
    /// `update` was asked for but the submission is not newer.
    NotNewer,
}

impl Action {
    /// The name Python sees.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Collected => "collected",
            Action::Updated => "updated",
            Action::Exists => "exists",
            Action::NotNewer => "not_newer",
        }
    }
}

/// One student's outcome.
#[derive(Debug, Clone)]
pub struct CollectRecord {
    /// Student id (the inbound directory).
    pub student_id: String,
    /// The chosen submission's timestamp string.
    pub timestamp: String,
    /// The submission directory.
    pub source: String,
    /// The destination directory.
    pub dest: String,
    /// What was done.
    pub action: Action,
}

/// What [`collect`] needs.
#[derive(Debug, Clone)]
pub struct CollectRequest<'a> {
    /// `Exchange.root`.
    pub root: &'a Path,
    /// Course id.
    pub course: &'a str,
    /// Assignment id.
    pub assignment: &'a str,
    /// The instructor's course directory: each student's copy goes to its
    /// [`CourseDirs::submitted`] path.
    pub dest: CourseDirs<'a>,
    /// Student id or glob (None = all).
    pub students: Option<&'a str>,
    /// Replace older copies.
    pub update: bool,
    /// Prefer the newest submission at or before each student's own due date (their
    /// extension in `feedback_public/{student}/.nbk8s-deadlines.json` applied).
    pub before_duedate: bool,
    /// The course-wide due date (any form [`timestamp::parse`] reads); None = the published
    /// one (`outbound/.nbk8s-deadlines.json`).
    pub duedate: Option<&'a str>,
    /// ignore/include/limits.
    pub filter: Filter,
    /// Seconds a claimed timestamp may precede what the filesystem saw before the
    /// submission is flagged as backdated ([`crate::backdate`]); None = no check.
    pub backdate_tolerance: Option<u64>,
    /// `Exchange.grade_time`: with [`GradeTime::Seal`], a submission whose seal contradicts
    /// its claim ([`crate::backdate::seal_refutes`]) gets its seal time in the collected
    /// `timestamp.txt`, the time nbgrader grades by.
    pub grade_time: GradeTime,
    /// `CourseDirectory.groupshared`: the collected copy is group-writable (directories
    /// 2775, files 0664) so the course's other instructors can replace it, as nbgrader's
    /// default makes it; else 0755/0644.
    pub group_shared: bool,
}

/// Collected records and warnings.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// One record per student with a submission, sorted by student.
    pub records: Vec<CollectRecord>,
    /// Skipped entries and students.
    pub warnings: Vec<String>,
}

/// A candidate submission with its parsed time.
#[derive(Debug, Clone)]
struct Candidate {
    name: String,
    timestamp: String,
    when: NaiveDateTime,
    /// The time it is graded by when not its claim (its seal's), as parsed and as written
    /// to `timestamp.txt`, with why ([`grade`]).
    graded: Option<(NaiveDateTime, String, String)>,
}

impl Candidate {
    /// The time nbgrader grades it by: its seal's where [`grade`] set one, else its claim.
    fn grade_when(&self) -> NaiveDateTime {
        self.graded.as_ref().map_or(self.when, |g| g.0)
    }

    /// The text of that time for `timestamp.txt`.
    fn grade_stamp(&self) -> &str {
        self.graded.as_ref().map_or(&self.timestamp, |g| &g.1)
    }
}

/// With [`GradeTime::Seal`], make the seal's time the one `chosen` is graded by where the
/// notary's seal contradicts its claim (the rule of [`BackdateCheck::graded_by_seal`]).
fn grade(req: &CollectRequest<'_>, check: &BackdateCheck, student: &str, chosen: &mut Candidate) {
    if req.grade_time != GradeTime::Seal {
        return;
    }
    chosen.graded = check
        .graded_by_seal(student, &chosen.name, chosen.when)
        .map(|(sealed, why)| {
            let stamp = sealed.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string();
            let note = format!(
                "graded by its seal time {stamp}, not its claimed time {:?} (grade_time \
                 'seal'): it {why}",
                chosen.timestamp
            );
            (sealed, stamp, note)
        });
}

/// Collect (see the pyi).
pub fn collect(req: &CollectRequest<'_>) -> Result<Collected> {
    let course = Course::new(req.root, req.course)?;
    validate(IdKind::Assignment, req.assignment)?;
    // A directory structure nbgrader could not fill is refused before anything is read.
    req.dest.submitted("student", req.assignment)?;
    let mut out = Collected::default();
    let duedate = course_due(req, &mut out.warnings)?;
    let Some(inbound) = Inbound::open(&course.inbound(), req.students, &mut out.warnings) else {
        return Ok(out);
    };
    let mut check = BackdateCheck::for_course(&course, req.backdate_tolerance, &mut out.warnings);
    if let Some(index) = check.seals_mut() {
        index.cross_check(&course, &inbound.students, &mut out.warnings);
    }
    let index = crate::seals::SealIndex::path(&course);
    // An index that exists but could not be read was warned about by `for_course`.
    let absent = matches!(safefs::lkind(&index), Ok(None));
    if req.grade_time == GradeTime::Seal && check.seals().is_none() && absent {
        out.warnings.push(format!(
            "the notary has sealed nothing in course {:?} ({} is absent): every submission \
             is graded by its claimed time (grade_time 'seal' needs `nbgrader-k8s notary run`)",
            req.course,
            index.display()
        ));
    }
    if req.before_duedate && check.seals().is_some() {
        out.warnings.push(format!(
            "before the due date: a submission the notary sealed counts when claimed at or \
             before it and sealed within {} s of that claim (rule: the notary's seal); one it \
             has not sealed, by its claimed time alone (rule: claimed time)",
            check.seal_tolerance()
        ));
    }
    let results = par_io(&inbound.students, |s| {
        let (due, mut warnings) = student_due(req, s, duedate);
        let (record, more) = collect_student(req, &course, &inbound, s, due, &check);
        warnings.extend(more);
        (record, warnings)
    });
    for (record, warnings) in results {
        out.records.extend(record);
        out.warnings.extend(warnings);
    }
    Ok(out)
}

/// With `before_duedate`: the course-wide due date, `duedate` (nbgrader's gradebook) or else
/// the published one (`outbound/.nbk8s-deadlines.json`).
fn course_due(
    req: &CollectRequest<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<NaiveDateTime>> {
    if !req.before_duedate {
        return Ok(None);
    }
    if let Some(d) = req.duedate {
        return Ok(Some(timestamp::parse(d)?));
    }
    let published = deadlines::read_course(req.root, req.course, warnings)?;
    Ok(published.due.get(req.assignment).copied())
}

/// With `before_duedate`: `student`'s own due date, their extension applied
/// ([`deadlines::effective`]).
fn student_due(
    req: &CollectRequest<'_>,
    student: &str,
    course_due: Option<NaiveDateTime>,
) -> (Option<NaiveDateTime>, Vec<String>) {
    let mut warnings = Vec::new();
    if !req.before_duedate {
        return (None, warnings);
    }
    let extension = deadlines::read_student(req.root, req.course, student, &mut warnings)
        .ok()
        .and_then(|d| d.extensions.get(req.assignment).map(|g| g.extension));
    (deadlines::effective(course_due, extension), warnings)
}

/// Choose a student's submission by name (the names carry the timestamps), decide from
/// the destination whether to copy, and only then open the chosen one. One that cannot be
/// opened (a symlink put there since the listing) is warned about and the next is chosen.
/// With `--before-duedate`, the notary's deadline snapshot for the student's due date is
/// taken first where there is one ([`notary::snapshot`]); a submission the student changed
/// after its seal is collected from its sealed copy where the notary kept one.
fn collect_student(
    req: &CollectRequest<'_>,
    course: &Course,
    inbound: &Inbound,
    student: &str,
    duedate: Option<NaiveDateTime>,
    check: &BackdateCheck,
) -> (Option<CollectRecord>, Vec<String>) {
    let mut warnings = Vec::new();
    let Some(inbox) = inbound.inbox(student, &mut warnings) else {
        return (None, warnings);
    };
    let dest = match req.dest.submitted(student, req.assignment) {
        Ok(dest) => dest,
        Err(e) => return (None, vec![format!("student {student:?}: {e}")]),
    };
    // The notary's notes are the student's: prefixed as the copy's warnings are.
    let mut notes = Vec::new();
    if let Some(due) = duedate {
        let found = notary::snapshot(course, check, student, req.assignment, due, &mut notes);
        warnings.extend(for_student(student, std::mem::take(&mut notes)));
        if let Some((copy, mut chosen)) = found {
            grade(req, check, student, &mut chosen);
            let path = copy.path.clone();
            let placed =
                place(req, (&path, &dest), &chosen, || Ok(copy)).map_err(Placed::into_error);
            let placed = placed.map(|p| (p.action, p.warnings));
            return finish(student, chosen, &path, &dest, placed, warnings);
        }
    }
    let mut candidates = candidates(
        &inbox.path,
        student,
        req.assignment,
        &inbox.submissions,
        &mut warnings,
    );
    if let Some(due) = duedate {
        // Name the submissions whose claims their seals contradict.
        for c in &candidates {
            let source = inbox.path.join(&c.name);
            notary::on_time(check, student, c, due, &source, &mut notes);
        }
        warnings.extend(for_student(student, std::mem::take(&mut notes)));
    }
    let on_time = |c: &Candidate, due: NaiveDateTime| {
        notary::on_time(check, student, c, due, Path::new(""), &mut Vec::new())
    };
    while let Some(mut chosen) = choose(&candidates, duedate, &on_time).cloned() {
        grade(req, check, student, &mut chosen);
        let source = inbox.path.join(&chosen.name);
        let placed = place(req, (&source, &dest), &chosen, || {
            let sealed =
                notary::sealed_copy(course, check, student, &chosen.name, &source, &mut notes);
            match sealed {
                Some(copy) => Ok(copy),
                None => inbox.open(&chosen.name).map(|fd| notary::NotaryCopy {
                    path: source.clone(),
                    fd,
                    note: String::new(),
                }),
            }
        });
        let placed = match placed {
            Err(Placed::Open(e)) => {
                warnings.push(format!(
                    "student {student:?}: skipped {}: cannot open ({e})",
                    source.display()
                ));
                candidates.retain(|c| c.name != chosen.name);
                continue;
            }
            Err(Placed::Failed(e)) => Err(e),
            Ok(mut p) => {
                if let Some(newest) = p.newest_ctime {
                    // Graded by its seal: [`place`] said why, which is this finding.
                    let found = check.judge(student, &chosen.name, chosen.when, newest);
                    if let Some(found) = found.filter(|_| chosen.graded.is_none()) {
                        p.warnings
                            .push(format!("{} may be backdated: {found}", source.display()));
                    }
                    // A sealed copy says so itself; else what the notary saw after the seal.
                    if p.from == source {
                        if let Some(note) = check.after_seal(student, &chosen.name) {
                            p.warnings.push(format!("{} {note}", source.display()));
                        }
                    }
                }
                Ok((p.action, p.warnings, p.from))
            }
        };
        let (placed, from) = match placed {
            Ok((action, more, from)) => (Ok((action, more)), from),
            Err(e) => (Err(e), source),
        };
        warnings.extend(for_student(student, notes));
        return finish(student, chosen, &from, &dest, placed, warnings);
    }
    (None, warnings)
}

/// What [`place`] did.
struct PlacedCopy {
    action: Action,
    warnings: Vec<String>,
    /// What was copied (or would have been).
    from: PathBuf,
    /// The newest ctime of what was copied; None when nothing was.
    newest_ctime: Option<i64>,
}

/// Why [`place`] placed nothing.
enum Placed {
    /// The source could not be opened (another candidate may be chosen).
    Open(std::io::Error),
    /// Copying failed.
    Failed(Error),
}

impl Placed {
    fn into_error(self) -> Error {
        match self {
            Placed::Open(e) => Error::InvalidArgument(format!("cannot open ({e})")),
            Placed::Failed(e) => e,
        }
    }
}

/// Decide from `dest` whether to copy `chosen`; if so, copy what `open` gives (the inbox's
/// submission or a copy of the notary's) and add its note.
fn place(
    req: &CollectRequest<'_>,
    (source, dest): (&Path, &Path),
    chosen: &Candidate,
    open: impl FnOnce() -> std::io::Result<notary::NotaryCopy>,
) -> std::result::Result<PlacedCopy, Placed> {
    let replace = match decide(req, dest, chosen).map_err(Placed::Failed)? {
        Decision::Keep(action) => {
            return Ok(PlacedCopy {
                action,
                warnings: Vec::new(),
                from: source.to_path_buf(),
                newest_ctime: None,
            })
        }
        Decision::Copy { replace } => replace,
    };
    let copy = open().map_err(Placed::Open)?;
    let (action, mut warnings, newest) =
        copy_in(req, copy.fd, &copy.path, dest, chosen, replace).map_err(Placed::Failed)?;
    if !copy.note.is_empty() {
        warnings.push(copy.note);
    }
    if let Some((_, _, note)) = &chosen.graded {
        warnings.push(format!("{} {note}", source.display()));
    }
    Ok(PlacedCopy {
        action,
        warnings,
        from: copy.path,
        newest_ctime: Some(newest),
    })
}

/// The record (or the failure) of one student, with their warnings.
fn finish(
    student: &str,
    chosen: Candidate,
    source: &Path,
    dest: &Path,
    placed: Result<(Action, Vec<String>)>,
    mut warnings: Vec<String>,
) -> (Option<CollectRecord>, Vec<String>) {
    match placed {
        Ok((action, more)) => {
            warnings.extend(for_student(student, more));
            let record = CollectRecord {
                student_id: student.to_string(),
                timestamp: chosen.timestamp,
                source: display(source),
                dest: display(dest),
                action,
            };
            (Some(record), warnings)
        }
        Err(e) => {
            warnings.push(format!("student {student:?}: not collected: {e}"));
            (None, warnings)
        }
    }
}

/// The submissions of `assignment` whose timestamps read; the others are warned.
fn candidates(
    inbox: &Path,
    student: &str,
    assignment: &str,
    found: &[(String, SubmissionName)],
    warnings: &mut Vec<String>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (name, parsed) in found {
        if parsed.assignment != assignment {
            continue;
        }
        match parsed.when {
            Some(when) => out.push(Candidate {
                name: name.clone(),
                timestamp: parsed.timestamp.clone(),
                when,
                graded: None,
            }),
            None => warnings.push(format!(
                "student {student:?}: skipped {}: unreadable timestamp {:?}",
                inbox.join(name).display(),
                parsed.timestamp
            )),
        }
    }
    out
}

/// The newest candidate; with a due date, the newest `on_time` for it (the claim at or
/// before it and, where sealed, the seal within the tolerance: [`notary::on_time`]), if any.
fn choose<'a>(
    candidates: &'a [Candidate],
    duedate: Option<NaiveDateTime>,
    on_time: &dyn Fn(&Candidate, NaiveDateTime) -> bool,
) -> Option<&'a Candidate> {
    let order =
        |a: &&Candidate, b: &&Candidate| a.when.cmp(&b.when).then_with(|| a.name.cmp(&b.name));
    if let Some(due) = duedate {
        if let Some(c) = candidates.iter().filter(|c| on_time(c, due)).max_by(order) {
            return Some(c);
        }
    }
    candidates.iter().max_by(order)
}

/// Whether the chosen submission is to be copied to `dest`.
enum Decision {
    /// Leave `dest` as it is.
    Keep(Action),
    /// Copy, replacing an existing `dest` or not.
    Copy {
        /// `dest` exists.
        replace: bool,
    },
}

/// Decide from `dest` alone (the instructor's side), before touching the submission.
fn decide(req: &CollectRequest<'_>, dest: &Path, chosen: &Candidate) -> Result<Decision> {
    let exists = safefs::lkind(dest)
        .map_err(|e| Error::io("inspect", dest, e))?
        .is_some();
    if exists {
        let existing = existing_timestamp(dest);
        let newer = existing.map_or(true, |t| chosen.grade_when() > t);
        let differs = existing != Some(chosen.grade_when());
        if !((req.update && newer) || (req.before_duedate && differs)) {
            let action = if req.update {
                Action::NotNewer
            } else {
                Action::Exists
            };
            return Ok(Decision::Keep(action));
        }
    }
    Ok(Decision::Copy { replace: exists })
}

/// Copy the submission open as `fd` to `dest` (staged beside it, then renamed in): what
/// was done, warnings, and the newest ctime of what was copied.
fn copy_in(
    req: &CollectRequest<'_>,
    fd: OwnedFd,
    source: &Path,
    dest: &Path,
    chosen: &Candidate,
    replace: bool,
) -> Result<(Action, Vec<String>, i64)> {
    let parent = dest
        .parent()
        .ok_or_else(|| Error::InvalidArgument(format!("{} has no parent", dest.display())))?;
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    // What an interrupted collect left beside `dest` (staging, trash) goes now.
    let swept = leftovers::sweep(parent, LEFTOVER_AGE);
    let staged = Staged::create(parent)?;
    let opts = CopyOptions {
        filter: req.filter.clone(),
        skip_existing: false,
    };
    let mut report = copy_tree(fd, source, staged.path(), &opts)?;
    report.warnings.extend(swept);
    // The copy's timestamp.txt is the one the name claims (what collect ordered by, and what
    // `--update` and autograde read back), or the seal's where that decides ([`grade`]): a
    // student's missing, malformed or different one is replaced, with a warning when it
    // disagreed with the name.
    let stamp = staged.path().join("timestamp.txt");
    let theirs = safefs::read_small(&stamp, SMALL_FILE).ok().flatten();
    if let Some(bytes) = &theirs {
        let text = String::from_utf8_lossy(bytes);
        if text.trim() != chosen.timestamp.trim() {
            report.warnings.push(format!(
                "{}: timestamp.txt says {:?} but the name says {:?}; the name's is kept",
                source.display(),
                text.trim(),
                chosen.timestamp
            ));
        }
    }
    if theirs.as_deref() != Some(chosen.grade_stamp().as_bytes()) {
        stage::write_file(&stamp, chosen.grade_stamp().as_bytes())?;
    }
    if req.group_shared {
        group_share(staged.path())?;
    }
    let name = dest
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let published = staged.publish(&name, true)?;
    report.warnings.extend(published.warning);
    let action = if replace {
        Action::Updated
    } else {
        Action::Collected
    };
    Ok((action, report.warnings, report.newest_ctime))
}

/// Make the staged copy (our own tree: only directories and regular files) group-writable:
/// directories 2775 (setgid, so new entries keep the group), files 0664.
fn group_share(dir: &Path) -> Result<()> {
    safefs::set_mode(dir, 0o2775).map_err(|e| Error::io("chmod", dir, e))?;
    let mut failed = None;
    let skipped = crate::walk::scan(dir, &mut |seen| {
        let mode = match seen.kind {
            safefs::Kind::Dir => 0o2775,
            safefs::Kind::File => 0o664,
            _ => return false,
        };
        if failed.is_none() {
            failed = safefs::set_mode(&seen.path, mode)
                .err()
                .map(|e| Error::io("chmod", &seen.path, e));
        }
        failed.is_none() && seen.kind == safefs::Kind::Dir
    });
    if let Some(e) = failed {
        return Err(e);
    }
    match skipped.into_iter().next() {
        Some(s) => Err(Error::io(
            "read directory",
            &s.path,
            std::io::Error::other(s.why),
        )),
        None => Ok(()),
    }
}

/// `dest/timestamp.txt`, parsed; None when missing or unreadable.
fn existing_timestamp(dest: &Path) -> Option<NaiveDateTime> {
    let bytes = safefs::read_small(&dest.join("timestamp.txt"), SMALL_FILE).ok()??;
    timestamp::parse(String::from_utf8_lossy(&bytes).trim()).ok()
}

mod notary;
#[cfg(test)]
mod tests;
