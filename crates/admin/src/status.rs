//! `nbgrader-k8s status COURSE [ASSIGNMENT]`: where each assignment stands.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use exchange_core::backdate::{BackdateCheck, GradeTime, DEFAULT_TOLERANCE};
use exchange_core::deadlines::{self, CourseDeadlines, Due, StudentDeadlines};
use exchange_core::ids::{problem, IdKind};
use exchange_core::ops::list::{list_inbound, SubmissionGroup};
use exchange_core::timestamp;
use serde_json::json;

use crate::course::{child_ids, existing};
use crate::notary::checked_index;
use crate::output::{print_json, warn_all, Table};
use crate::roster::{gradebook_due_dates, gradebook_students};

/// `status` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Per assignment: students, submitted, late, resubmissions, feedback released, last activity",
    long_about = "Summarise each assignment of COURSE (released in outbound/, submitted in \
        inbound/ or known to the gradebook): how many students there are (the gradebook's \
        roster with --gradebook, else the student directories in inbound/ and \
        feedback_public/), how many \
        submitted, how many of those are late (newest submission after the student's own due \
        date: --due, else the gradebook, else the published outbound/.nbk8s-deadlines.json, \
        with the student's extension from feedback_public/{student}/.nbk8s-deadlines.json \
        applied), how many resubmissions (submissions beyond each student's first), \
        how many students have feedback released for their newest submission, and the last \
        submission. With ASSIGNMENT, one row per student follows, with their due date and how \
        late their newest submission is. A submission is late by the time nbgrader grades it \
        by (as collect writes it): its claimed time, or with --grade-time seal (the default) \
        the notary's seal time where that contradicts the claim (docs/receipts.md); LATE \
        says \"yes (seal)\" then. Times are UTC. Where the notary runs \
        (`nbgrader-k8s notary run`), the largest student inboxes it measured follow, with \
        those past its warning threshold marked.",
    after_help = "Examples:\n  \
        nbgrader-k8s status course101\n  \
        nbgrader-k8s status course101 ps1 --due '2024-03-01 17:00:00 +0100'\n  \
        nbgrader-k8s status course101 --gradebook /home/prof/course101/gradebook.db --json\n  \
        nbgrader-k8s status course101 --due ps1=2024-03-01T16:00 --due ps2=2024-03-08T16:00"
)]
pub struct Args {
    /// Course id.
    pub course: String,
    /// Only this assignment, with a row per student.
    pub assignment: Option<String>,
    /// nbgrader's gradebook.db: due dates and the roster.
    #[arg(long, value_name = "gradebook.db")]
    pub gradebook: Option<PathBuf>,
    /// Due date of every assignment shown, or ASSIGNMENT=DATE for one (repeatable); overrides
    /// the gradebook. Without a zone a date is UTC.
    #[arg(long, value_name = "[ASSIGNMENT=]DATE")]
    pub due: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// The time a submission is judged by, as `Exchange.grade_time`: `seal` (the notary's
    /// seal time where it contradicts the claim) or `claim`.
    #[arg(long, default_value = "seal", value_parser = parse_grade_time, value_name = "seal|claim")]
    pub grade_time: GradeTime,
    /// Seconds a claim may precede its seal, as `Exchange.backdate_tolerance`.
    #[arg(long, default_value_t = DEFAULT_TOLERANCE, value_name = "SECONDS")]
    pub backdate_tolerance: u64,
}

fn parse_grade_time(text: &str) -> Result<GradeTime, String> {
    text.parse()
        .map_err(|e: exchange_core::Error| e.to_string())
}

/// How `status` times a student's newest submission: the rule collect writes by.
struct Grading {
    check: BackdateCheck,
    grade_time: GradeTime,
}

impl Grading {
    /// The time `student`'s submission is graded by, and whether that is its seal's.
    fn time_of(
        &self,
        student: &str,
        sub: &exchange_core::ops::list::Submission,
        claimed: NaiveDateTime,
    ) -> (NaiveDateTime, bool) {
        let name = Path::new(&sub.path).file_name().unwrap_or_default();
        let by_seal = (self.grade_time == GradeTime::Seal)
            .then(|| {
                self.check
                    .graded_by_seal(student, &name.to_string_lossy(), claimed)
            })
            .flatten();
        by_seal.map_or((claimed, false), |(sealed, _)| (sealed, true))
    }
}

/// One student's state on one assignment.
#[derive(Debug, Clone)]
struct StudentRow {
    student: String,
    submissions: usize,
    newest: Option<String>,
    newest_at: Option<NaiveDateTime>,
    late: bool,
    /// This student's due date (their extension applied).
    due: Option<NaiveDateTime>,
    /// Whether they have an extension.
    extension: bool,
    /// How late the newest submission is (zero when on time).
    late_by: Option<chrono::Duration>,
    /// The time the newest is graded by, and whether it is its seal's (not its claim).
    graded: Option<(NaiveDateTime, bool)>,
    feedback: bool,
}

/// One assignment's summary.
#[derive(Debug, Clone)]
struct AssignmentRow {
    assignment: String,
    released: bool,
    due: Option<NaiveDateTime>,
    students: usize,
    rows: Vec<StudentRow>,
}

impl AssignmentRow {
    fn submitted(&self) -> usize {
        self.rows.iter().filter(|r| r.submissions > 0).count()
    }
    fn late(&self) -> usize {
        self.rows.iter().filter(|r| r.late).count()
    }
    fn resubmissions(&self) -> usize {
        self.rows
            .iter()
            .map(|r| r.submissions.saturating_sub(1))
            .sum()
    }
    fn feedback(&self) -> usize {
        self.rows.iter().filter(|r| r.feedback).count()
    }
    fn last(&self) -> Option<NaiveDateTime> {
        self.rows.iter().filter_map(|r| r.newest_at).max()
    }
}

/// Run `status`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    let course = existing(root, &args.course)?;
    if let Some(a) = &args.assignment {
        if let Some(reason) = problem(IdKind::Assignment, a) {
            bail!("invalid assignment id {a:?}: {reason}");
        }
    }
    let (mut dues, roster) = match &args.gradebook {
        Some(db) => (gradebook_due_dates(db)?, Some(gradebook_students(db)?)),
        None => (BTreeMap::new(), None),
    };
    let (due_all, due_each) = parse_dues(&args.due)?;
    let listing = list_inbound(
        root,
        Some(std::slice::from_ref(&args.course)),
        args.assignment.as_deref(),
        None,
        None,
    )
    .with_context(|| format!("cannot list the submissions of {:?}", args.course))?;
    warn_all(None, &listing.warnings);
    let mut published_warnings = Vec::new();
    let published = deadlines::read_course(root, &args.course, &mut published_warnings)?;
    let released: BTreeSet<String> = child_ids(
        &course.outbound(),
        IdKind::Assignment,
        &mut published_warnings,
    )?
    .into_iter()
    .collect();
    let roster = match roster {
        Some(roster) => roster,
        None => student_dirs(&course, &mut published_warnings)?,
    };
    // The seals as the ledger has them, not the instructor-writable copy in the course.
    let checked = checked_index(root, &course, &args.course);
    let settled = checked.differences.iter().filter(|d| d.2).count();
    if settled > 0 {
        published_warnings.push(format!(
            "the notary's index.json of {} differs from its ledger in {settled} entr{}: the \
             ledger's seals are used (`nbgrader-k8s audit {}` lists them)",
            args.course,
            if settled == 1 { "y" } else { "ies" },
            args.course
        ));
    }
    let grading = Grading {
        check: BackdateCheck::for_course(
            &course,
            Some(args.backdate_tolerance),
            &mut published_warnings,
        )
        .with_seals(checked.index),
        grade_time: args.grade_time,
    };
    let mut names: BTreeSet<String> = released.clone();
    names.extend(dues.keys().cloned());
    names.extend(listing.assignments.iter().map(|g| g.assignment_id.clone()));
    if let Some(a) = &args.assignment {
        names.retain(|n| n == a);
        names.insert(a.clone());
    }
    let mut rows = Vec::new();
    let mut extensions = Extensions {
        root,
        course: &args.course,
        read: BTreeMap::new(),
        warnings: &mut published_warnings,
    };
    for name in names {
        let due = due_each
            .get(&name)
            .copied()
            .or(due_all)
            .or_else(|| dues.remove(&name).flatten())
            .or_else(|| published.due.get(&name).copied());
        let groups: Vec<&SubmissionGroup> = listing
            .assignments
            .iter()
            .filter(|g| g.assignment_id == name)
            .collect();
        rows.push(assignment_row(
            &name,
            released.contains(&name),
            due,
            &roster,
            &groups,
            &mut extensions,
            &grading,
        ));
    }
    warn_all(None, &published_warnings);
    let usage = inbox_usage(&course);
    if args.json {
        print_json(&json!({
            "course": args.course,
            "assignments": rows.iter().map(|r| row_json(r, args.assignment.is_some())).collect::<Vec<_>>(),
            "inbox_usage": usage,
            "warnings": listing.warnings,
        }))?;
    } else {
        print!("{}", summary_table(&rows).render());
        if args.assignment.is_some() {
            if let Some(row) = rows.first() {
                println!();
                print!("{}", student_table(row).render());
            }
        }
        if let Some(usage) = &usage {
            println!();
            print!("{}", usage_table(usage, 5));
        }
    }
    Ok(0)
}

/// The students the exchange knows without a gradebook: a directory in inbound/ (a submit or
/// provisioning made it) or in feedback_public/ (an extension or feedback was published to a
/// student whose inbox does not exist yet, e.g. one who never started their server).
fn student_dirs(
    course: &exchange_core::layout::Course,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Vec<String>> {
    let mut found: BTreeSet<String> = child_ids(&course.inbound(), IdKind::Student, warnings)?
        .into_iter()
        .collect();
    found.extend(child_ids(
        &course.feedback_public(),
        IdKind::Student,
        warnings,
    )?);
    Ok(found.into_iter().collect())
}

/// What the notary last measured of the course's inboxes (its `usage.json`), if it runs.
fn inbox_usage(course: &exchange_core::layout::Course) -> Option<serde_json::Value> {
    let path = crate::notary::usage_file(course.dir());
    let bytes = exchange_core::walk::read_regular(&path, 64 << 20).ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// The `n` largest inboxes, and every one past the threshold.
fn usage_table(usage: &serde_json::Value, n: usize) -> String {
    let students = usage["students"].as_array().cloned().unwrap_or_default();
    let mut t = Table::new(&["LARGEST INBOXES", "BYTES", "FILES", "OVER THRESHOLD"]);
    for (i, s) in students.iter().enumerate() {
        let over = s["over"].as_bool().unwrap_or(false);
        if i >= n && !over {
            continue;
        }
        t.row(vec![
            s["student"].as_str().unwrap_or("").to_string(),
            s["bytes"].to_string(),
            s["files"].to_string(),
            if over { "yes" } else { "no" }.to_string(),
        ]);
    }
    format!(
        "{}(measured by the notary at {}; threshold {} bytes)\n",
        t.render(),
        usage["updated"].as_str().unwrap_or("?"),
        usage["threshold_bytes"]
    )
}

/// `--due` values: one for all assignments and/or one per assignment.
fn parse_dues(
    values: &[String],
) -> anyhow::Result<(Option<NaiveDateTime>, BTreeMap<String, NaiveDateTime>)> {
    let mut all = None;
    let mut each = BTreeMap::new();
    for value in values {
        let parse = |d: &str| timestamp::parse(d).with_context(|| format!("--due {value:?}"));
        match value.split_once('=') {
            Some((a, d)) => {
                if let Some(reason) = problem(IdKind::Assignment, a) {
                    bail!("--due {value:?}: invalid assignment id {a:?}: {reason}");
                }
                each.insert(a.to_string(), parse(d)?);
            }
            None => all = Some(parse(value)?),
        }
    }
    Ok((all, each))
}

/// Each student's extensions, read once.
struct Extensions<'a> {
    root: &'a Path,
    course: &'a str,
    read: BTreeMap<String, StudentDeadlines>,
    warnings: &'a mut Vec<String>,
}

impl Extensions<'_> {
    fn of(&mut self, student: &str) -> &StudentDeadlines {
        if !self.read.contains_key(student) {
            let found = deadlines::read_student(self.root, self.course, student, self.warnings)
                .unwrap_or_default();
            self.read.insert(student.to_string(), found);
        }
        &self.read[student]
    }
}

fn assignment_row(
    name: &str,
    released: bool,
    due: Option<NaiveDateTime>,
    roster: &[String],
    groups: &[&SubmissionGroup],
    extensions: &mut Extensions<'_>,
    grading: &Grading,
) -> AssignmentRow {
    let course_due = CourseDeadlines {
        due: due.map(|d| (name.to_string(), d)).into_iter().collect(),
        updated: None,
    };
    let mut students: BTreeSet<&str> = roster.iter().map(String::as_str).collect();
    students.extend(groups.iter().map(|g| g.student_id.as_str()));
    let rows = students
        .into_iter()
        .map(|student| {
            let group = groups.iter().find(|g| g.student_id == student);
            let subs = group.map(|g| g.submissions.as_slice()).unwrap_or(&[]);
            // Newest by time, not by string: zones may differ between submissions.
            let newest = subs
                .iter()
                .max_by_key(|s| (timestamp::parse(&s.timestamp).ok(), s.timestamp.clone()));
            let newest_at = newest.and_then(|s| timestamp::parse(&s.timestamp).ok());
            let own = Due::of(name, &course_due, extensions.of(student));
            let graded = newest
                .zip(newest_at)
                .map(|(sub, at)| grading.time_of(student, sub, at));
            let late_by = graded.and_then(|(at, _)| own.late_by(at));
            StudentRow {
                student: student.to_string(),
                submissions: subs.len(),
                newest: newest.map(|s| s.timestamp.clone()),
                newest_at,
                late: late_by.is_some_and(|l| l > chrono::Duration::zero()),
                due: own.due,
                extension: own.extension.is_some(),
                late_by,
                graded,
                feedback: newest.is_some_and(|s| s.has_exchange_feedback),
            }
        })
        .collect();
    AssignmentRow {
        assignment: name.to_string(),
        released,
        due,
        students: roster.len(),
        rows,
    }
}

fn iso(t: Option<NaiveDateTime>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, |t| json!(timestamp::to_iso(&t)))
}

fn short(t: Option<NaiveDateTime>) -> String {
    t.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

fn row_json(r: &AssignmentRow, with_students: bool) -> serde_json::Value {
    let mut v = json!({
        "assignment": r.assignment,
        "released": r.released,
        "due": iso(r.due),
        "students": r.students,
        "submitted": r.submitted(),
        "late": r.late(),
        "resubmissions": r.resubmissions(),
        "feedback_released": r.feedback(),
        "last_activity": iso(r.last()),
    });
    if with_students {
        v["per_student"] = r
            .rows
            .iter()
            .map(|s| {
                json!({
                    "student": s.student,
                    "submissions": s.submissions,
                    "newest": s.newest,
                    "newest_utc": iso(s.newest_at),
                    "late": s.late,
                    "due": iso(s.due),
                    "extension": s.extension,
                    "late_by_seconds": s.late_by.map(|l| l.num_seconds()),
                    "graded_utc": iso(s.graded.map(|g| g.0)),
                    "graded_by": s.graded.map(|g| if g.1 { "seal" } else { "claim" }),
                    "feedback_released": s.feedback,
                })
            })
            .collect();
    }
    v
}

fn summary_table(rows: &[AssignmentRow]) -> Table {
    let mut t = Table::new(&[
        "ASSIGNMENT",
        "RELEASED",
        "DUE (UTC)",
        "STUDENTS",
        "SUBMITTED",
        "LATE",
        "RESUBMISSIONS",
        "FEEDBACK",
        "LAST ACTIVITY (UTC)",
    ]);
    for r in rows {
        t.row(vec![
            r.assignment.clone(),
            if r.released { "yes" } else { "no" }.to_string(),
            short(r.due),
            r.students.to_string(),
            r.submitted().to_string(),
            r.late().to_string(),
            r.resubmissions().to_string(),
            r.feedback().to_string(),
            short(r.last()),
        ]);
    }
    t
}

fn student_table(row: &AssignmentRow) -> Table {
    let mut t = Table::new(&[
        "STUDENT",
        "SUBMISSIONS",
        "NEWEST (UTC)",
        "DUE (UTC)",
        "LATE",
        "LATE BY",
        "FEEDBACK",
    ]);
    for s in &row.rows {
        let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
        t.row(vec![
            s.student.clone(),
            s.submissions.to_string(),
            short(s.newest_at),
            short(s.due) + if s.extension { " (extension)" } else { "" },
            match (s.submissions, s.graded) {
                (0, _) => "-".into(),
                (_, Some((_, true))) if s.late => "yes (seal)".into(),
                _ => yes(s.late),
            },
            match s.late_by {
                Some(l) if l > chrono::Duration::zero() => deadlines::describe(l),
                _ => "-".into(),
            },
            if s.submissions == 0 {
                "-".into()
            } else {
                yes(s.feedback)
            },
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_forms() {
        let (all, each) =
            parse_dues(&["2024-03-01 12:00:00 +0100".into(), "ps1=2024-03-02".into()]).unwrap();
        assert_eq!(
            timestamp::to_iso(&all.unwrap()),
            "2024-03-01T11:00:00.000000"
        );
        assert_eq!(
            timestamp::to_iso(&each["ps1"]),
            "2024-03-02T00:00:00.000000"
        );
        assert!(parse_dues(&["a+b=2024-03-01".into()]).is_err());
        assert!(parse_dues(&["tomorrow".into()]).is_err());
    }
}
