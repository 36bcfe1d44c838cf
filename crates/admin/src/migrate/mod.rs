//! `nbgrader-k8s migrate`: move a live course from nbgrader's default exchange, or from the
//! earlier plugin's per-student naming, onto our layout without losing a file.
//!
//! Copy (or with `--move`, copy then remove the source) releases, submissions and feedback;
//! whatever is already in the new exchange under the same name is left alone, so a rerun
//! after an interruption finishes the job. Every submission brought in is recorded in the
//! course's migration record (`exchange_core::migrated`) for the backdating checks.

mod keys;
mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use exchange_core::ids::{problem, validate, IdKind};
use exchange_core::keys::md5_hex;
use exchange_core::layout::{absolute, Course};
use exchange_core::migrated::MigratedRecord;
use exchange_core::names::submission_name;
use exchange_core::ops::provision::provision_course;
use exchange_core::walk;
use serde_json::json;

use crate::course::child_ids;
use crate::init::Owner;
use crate::output::{print_json, progress, say};
use exchange_core::ops::place::{self as write, Outcome};
use source::{read_course, OldCourse, OldSubmission, Skipped};

/// `migrate` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Bring a course from nbgrader's default exchange (or the earlier plugin's naming) onto this layout",
    long_about = "Copy each course of OLD_ROOT into NEW_ROOT's layout: outbound/{assignment} as \
        is; nbgrader's inbound/{student}+{assignment}+{timestamp}+{random} and the earlier \
        plugin's inbound/{student}/{student}+{assignment}+... into \
        inbound/{student}/{assignment}+{timestamp}+{random}; feedback/{hash}.html into \
        feedback_public/{student}/{hash}.html, the student found from the old submissions' \
        secrets and, with --course-dir, the instructor's feedback/ and submitted/ dirs. \
        Nothing already in NEW_ROOT is overwritten, so the command is idempotent and resumes \
        after an interruption; --move removes each source only once its copy is in place; \
        what cannot be migrated stays where it is and is reported with the reason. Student \
        directories are provisioned (--uid/--gid) and every migrated submission is recorded \
        in {course}/.nbk8s-migrated so audit does not take it for backdated (copying resets \
        ctime).",
    after_help = "Examples:\n  \
        nbgrader-k8s migrate --from /srv/nbgrader/exchange --to /mnt/exchange --dry-run\n  \
        nbgrader-k8s migrate --from /srv/nbgrader/exchange --to /mnt/exchange --course course101 \\\n      \
            --course-dir /home/instructor/course101 --json\n  \
        nbgrader-k8s migrate --from /old/exchange --to /mnt/exchange --move"
)]
pub struct Args {
    /// The old exchange root.
    #[arg(long, value_name = "OLD_ROOT")]
    pub from: PathBuf,
    /// The new exchange root (default: --root).
    #[arg(long, value_name = "NEW_ROOT")]
    pub to: Option<PathBuf>,
    /// Only these courses (repeatable; default: every course in OLD_ROOT).
    #[arg(long = "course", value_name = "COURSE")]
    pub courses: Vec<String>,
    /// The instructor's course directory (CourseDirectory.root), to map feedback to students;
    /// COURSE=PATH when migrating several courses.
    #[arg(long, value_name = "[COURSE=]PATH")]
    pub course_dir: Vec<String>,
    /// Remove each source once its copy is in place.
    #[arg(long = "move")]
    pub move_files: bool,
    /// Only report what would be done.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub owner: Owner,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Counts for one kind of item.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    found: usize,
    migrated: usize,
    already: usize,
    skipped: usize,
}

/// What happened in one course.
#[derive(Debug, Default)]
struct CourseReport {
    course: String,
    releases: Counts,
    submissions: Counts,
    feedback: Counts,
    /// Submissions found per old layout.
    layouts: BTreeMap<&'static str, usize>,
    skipped: Vec<Skipped>,
    warnings: Vec<String>,
    failed: usize,
}

/// Run `migrate`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    let from = absolute(&args.from);
    let to = args
        .to
        .as_deref()
        .map_or_else(|| root.to_path_buf(), absolute);
    if !from.is_dir() {
        bail!("old exchange {} is not a directory", from.display());
    }
    if from == to {
        bail!("--from and --to are the same directory");
    }
    if args.dry_run {
        // Nothing is created in a dry run: a missing root only means nothing is there yet.
        let _ = crate::course::anchor(&to);
    } else {
        crate::course::anchor_creating(&to)?;
    }
    let courses = if args.courses.is_empty() {
        let mut warnings = Vec::new();
        let found = child_ids(&from, IdKind::Course, &mut warnings)?;
        crate::output::warn_all(None, &warnings);
        found
    } else {
        for c in &args.courses {
            validate(IdKind::Course, c)?;
        }
        args.courses.clone()
    };
    let course_dirs = course_dirs(&args.course_dir, &courses)?;
    let mut reports = Vec::new();
    for course in &courses {
        let old_dir = from.join(course);
        if !old_dir.is_dir() {
            bail!("course {course:?} is not in {}", from.display());
        }
        let report = migrate_course(&to, course, &old_dir, course_dirs.get(course), args)
            .with_context(|| format!("cannot migrate course {course:?}"))?;
        reports.push(report);
    }
    print_report(args, &from, &to, &reports)?;
    Ok(if reports.iter().any(|r| r.failed > 0) {
        1
    } else {
        0
    })
}

/// `--course-dir` values by course.
fn course_dirs(values: &[String], courses: &[String]) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for value in values {
        let (course, path) = match value.split_once('=') {
            Some((c, p)) if problem(IdKind::Course, c).is_none() && !c.contains('/') => (c.to_string(), p),
            _ if courses.len() == 1 => (courses[0].clone(), value.as_str()),
            _ => bail!("--course-dir {value:?}: say which course it is (COURSE=PATH) when migrating several"),
        };
        let path = absolute(Path::new(path));
        if !path.is_dir() {
            bail!("course directory {} does not exist", path.display());
        }
        out.insert(course, path);
    }
    Ok(out)
}

fn migrate_course(
    to: &Path,
    course: &str,
    old_dir: &Path,
    course_dir: Option<&PathBuf>,
    args: &Args,
) -> anyhow::Result<CourseReport> {
    let old = read_course(old_dir);
    let new = Course::new(to, course)?;
    // Nothing is written into a course whose reserved directories are links elsewhere.
    crate::course::refuse_links(to, &new)?;
    let owner = (args.owner.uid, args.owner.gid);
    let mut report = CourseReport {
        course: course.to_string(),
        skipped: old.skipped.clone(),
        ..Default::default()
    };
    let mut map = keys::KeyMap::default();
    for sub in &old.submissions {
        map.add_submission(course, sub);
        *report.layouts.entry(sub.format.name()).or_default() += 1;
    }
    if let Some(dir) = course_dir {
        map.add_course_dir(dir);
    }
    let students = students_of(&old, &map, &mut report);
    if !args.dry_run {
        provision(to, course, &students, args.owner.skeleton(), &mut report)?;
    }
    let mut record = if args.dry_run {
        MigratedRecord::default()
    } else {
        MigratedRecord::load(&new)?
    };
    let before = record.clone();
    let total = old.releases.len() + old.submissions.len() + old.feedback.len();
    let bar = progress(total as u64, course);
    let mut step = Step {
        args,
        owner,
        report: &mut report,
        bar: &bar,
    };
    for (assignment, src) in &old.releases {
        step.release(&new, assignment, src);
    }
    for sub in &old.submissions {
        step.submission(&new, sub, &mut record);
    }
    for fb in &old.feedback {
        step.feedback(&new, fb, &map);
    }
    bar.finish_and_clear();
    if record != before {
        record
            .save(&new)
            .context("cannot write the migration record")?;
    }
    Ok(report)
}

/// Every student the new course needs dirs for: submitters and feedback owners.
fn students_of(old: &OldCourse, map: &keys::KeyMap, report: &mut CourseReport) -> Vec<String> {
    let mut students: BTreeSet<String> =
        old.submissions.iter().map(|s| s.student.clone()).collect();
    for fb in &old.feedback {
        let student = match &fb.student {
            Some(s) => Some(s.clone()),
            None => write::read(&fb.src)
                .ok()
                .and_then(|b| map.student_of(&fb.name, &b).ok()),
        };
        students.extend(student.filter(|s| problem(IdKind::Student, s).is_none()));
    }
    for sub in &old.submissions {
        if let Some(note) = &sub.note {
            report.warnings.push(note.clone());
        }
    }
    students.into_iter().collect()
}

fn provision(
    to: &Path,
    course: &str,
    students: &[String],
    owners: exchange_core::skeleton::Owners,
    report: &mut CourseReport,
) -> anyhow::Result<()> {
    provision_course(to, course, &[], owners)?;
    for s in students {
        if let Err(e) = provision_course(to, course, std::slice::from_ref(s), owners) {
            report.warnings.push(format!("student {s:?}: {e}"));
        }
    }
    Ok(())
}

/// One item at a time, counted and reported.
struct Step<'a> {
    args: &'a Args,
    owner: (u32, u32),
    report: &'a mut CourseReport,
    bar: &'a indicatif::ProgressBar,
}

#[derive(Clone, Copy)]
enum Kind {
    Release,
    Submission,
    Feedback,
}

impl Step<'_> {
    fn counts(&mut self, kind: Kind) -> &mut Counts {
        match kind {
            Kind::Release => &mut self.report.releases,
            Kind::Submission => &mut self.report.submissions,
            Kind::Feedback => &mut self.report.feedback,
        }
    }

    fn what(kind: Kind) -> &'static str {
        match kind {
            Kind::Release => "release",
            Kind::Submission => "submission",
            Kind::Feedback => "feedback",
        }
    }

    /// Count the result of copying `src`; remove it with --move once its copy is in place.
    /// Returns whether the item is now in the new exchange.
    fn done(&mut self, kind: Kind, src: &Path, result: Result<Outcome, String>) -> bool {
        self.bar.inc(1);
        self.counts(kind).found += 1;
        let placed = match result {
            Ok(Outcome::Copied(notes)) => {
                self.counts(kind).migrated += 1;
                self.report.warnings.extend(notes);
                true
            }
            Ok(Outcome::Already) => {
                self.counts(kind).already += 1;
                true
            }
            Err(reason) => {
                self.counts(kind).skipped += 1;
                self.report.failed += 1;
                self.report.skipped.push(Skipped {
                    what: Self::what(kind),
                    path: src.to_path_buf(),
                    reason,
                });
                false
            }
        };
        if placed && self.args.move_files && !self.args.dry_run {
            if let Err(e) = write::remove_tree(src) {
                self.report
                    .warnings
                    .push(format!("copied but cannot remove {} ({e})", src.display()));
            }
        }
        placed
    }

    fn skip(&mut self, kind: Kind, src: &Path, reason: String) {
        self.bar.inc(1);
        let c = self.counts(kind);
        c.found += 1;
        c.skipped += 1;
        self.report.skipped.push(Skipped {
            what: Self::what(kind),
            path: src.to_path_buf(),
            reason,
        });
    }

    /// In a dry run: whether `target` is there already.
    fn plan(&self, target: &Path) -> Result<Outcome, String> {
        match walk::kind_of(target) {
            Ok(Some(_)) => Ok(Outcome::Already),
            _ => Ok(Outcome::Copied(Vec::new())),
        }
    }

    fn release(&mut self, new: &Course, assignment: &str, src: &Path) {
        let result = if self.args.dry_run {
            self.plan(&new.release(assignment))
        } else {
            write::place_dir(src, &new.outbound(), assignment, self.owner)
        };
        self.done(Kind::Release, src, result);
    }

    fn submission(&mut self, new: &Course, sub: &OldSubmission, record: &mut MigratedRecord) {
        if sub.timestamp.contains('/') {
            return self.skip(
                Kind::Submission,
                &sub.src,
                "its timestamp contains '/'".into(),
            );
        }
        // nbgrader without add_random_string: a stable stand-in keeps reruns idempotent.
        let random = sub
            .random
            .clone()
            .unwrap_or_else(|| md5_hex(sub.src.to_string_lossy().as_bytes())[..12].to_string());
        let name = submission_name(&sub.assignment, &sub.timestamp, &random);
        if name.len() > 255 {
            return self.skip(
                Kind::Submission,
                &sub.src,
                format!("the new name {name:?} is longer than 255 bytes"),
            );
        }
        let inbox = new.inbound().join(&sub.student);
        let result = if self.args.dry_run {
            self.plan(&inbox.join(&name))
        } else {
            write::place_dir(&sub.src, &inbox, &name, self.owner)
        };
        if self.done(Kind::Submission, &sub.src, result) && !self.args.dry_run {
            record.insert(&sub.student, &name);
        }
    }

    fn feedback(&mut self, new: &Course, fb: &source::OldFeedback, map: &keys::KeyMap) {
        let bytes = match write::read(&fb.src) {
            Ok(b) => b,
            Err(e) => return self.skip(Kind::Feedback, &fb.src, e),
        };
        let student = match &fb.student {
            Some(s) => s.clone(),
            None => match map.student_of(&fb.name, &bytes) {
                Ok(s) => s,
                Err(why) => {
                    return self.skip(
                        Kind::Feedback,
                        &fb.src,
                        format!("cannot tell whose it is: {why}"),
                    )
                }
            },
        };
        if let Some(why) = problem(IdKind::Student, &student) {
            return self.skip(
                Kind::Feedback,
                &fb.src,
                format!("student id {student:?} is not valid: {why}"),
            );
        }
        let dir = new.feedback_public().join(&student);
        let result = if self.args.dry_run {
            self.plan(&dir.join(&fb.name))
        } else {
            write::place_file(&fb.src, &dir, &fb.name, self.owner)
        };
        self.done(Kind::Feedback, &fb.src, result);
    }
}

fn counts_json(c: Counts) -> serde_json::Value {
    json!({"found": c.found, "migrated": c.migrated, "already": c.already, "skipped": c.skipped})
}

fn print_report(
    args: &Args,
    from: &Path,
    to: &Path,
    reports: &[CourseReport],
) -> anyhow::Result<()> {
    if args.json {
        let courses: Vec<_> = reports
            .iter()
            .map(|r| {
                json!({
                    "course": r.course,
                    "releases": counts_json(r.releases),
                    "submissions": counts_json(r.submissions),
                    "feedback": counts_json(r.feedback),
                    "submission_layouts": r.layouts,
                    "skipped": r.skipped.iter().map(|s| json!({"what": s.what, "path": s.path, "reason": s.reason})).collect::<Vec<_>>(),
                    "warnings": r.warnings,
                })
            })
            .collect();
        return print_json(&json!({
            "from": from,
            "to": to,
            "dry_run": args.dry_run,
            "move": args.move_files,
            "courses": courses,
        }));
    }
    let verb = if args.dry_run {
        "would migrate"
    } else {
        "migrated"
    };
    for r in reports {
        say!("{}:", r.course);
        for (label, c) in [
            ("releases", r.releases),
            ("submissions", r.submissions),
            ("feedback", r.feedback),
        ] {
            say!(
                "  {label:<12} {} found, {} {verb}, {} already there, {} skipped",
                c.found,
                c.migrated,
                c.already,
                c.skipped
            );
        }
        for s in &r.skipped {
            say!("  skipped {} {}: {}", s.what, s.path.display(), s.reason);
        }
        for w in &r.warnings {
            say!("  note: {w}");
        }
    }
    if reports.is_empty() {
        say!("no course found in {}", from.display());
    } else if args.dry_run {
        say!("dry run: nothing was written");
    }
    Ok(())
}
