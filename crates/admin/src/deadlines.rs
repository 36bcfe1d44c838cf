//! `nbgrader-k8s deadlines`: publish due dates, grant extensions (docs/deadlines.md).
//!
//! Course-wide due dates come from nbgrader's gradebook (the instructor's pod has it);
//! extensions are kept in each student's `feedback_public/{student}/.nbk8s-deadlines.json`,
//! where only that student can read them. The plugin's collect copies them into the
//! gradebook for nbgrader's late penalty. The rules are `exchange_core::deadlines`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use exchange_core::deadlines::{self, extension_problem, Due, Extension};
use exchange_core::ids::{problem, IdKind};
use exchange_core::timestamp;

use crate::course::{child_ids, existing};
use crate::output::{say, say_err, warn_all};
use crate::roster::{gradebook_due_dates, RosterArgs};

/// `deadlines` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Publish due dates to students and grant per-student extensions",
    long_about = "Due dates students can see: `publish` copies each assignment's due date \
        from nbgrader's gradebook to {course}/outbound/.nbk8s-deadlines.json (nbgrader's \
        release_assignment and collect do it for their assignment on the way); `extend` \
        grants, changes or removes one student's extension, written to \
        {course}/feedback_public/{student}/.nbk8s-deadlines.json, which only that student's \
        pod mounts; `import` does that from a CSV. nbgrader collect then puts each collected \
        student's extension into the gradebook, so autograde's late penalty sees it. Times \
        without a zone are UTC.",
    after_help = "Examples:\n  \
        nbgrader-k8s deadlines publish course101 --gradebook ~/course101/gradebook.db\n  \
        nbgrader-k8s deadlines extend course101 ps1 alice --by 2d\n  \
        nbgrader-k8s deadlines extend course101 ps1 alice --until '2026-12-12 12:00 UTC'\n  \
        nbgrader-k8s deadlines extend course101 ps1 alice --remove\n  \
        nbgrader-k8s deadlines import accommodations.csv --course course101\n\
        See docs/deadlines.md."
)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Publish every assignment's due date from nbgrader's gradebook.
    #[command(after_help = "Example:\n  nbgrader-k8s deadlines publish course101 \
        --gradebook /home/jovyan/course101/gradebook.db")]
    Publish {
        /// Course id.
        course: String,
        /// nbgrader's gradebook.db (the instructor's course directory).
        #[arg(long, value_name = "gradebook.db")]
        gradebook: PathBuf,
    },
    /// Grant, change or remove one student's extension on one assignment.
    #[command(
        group = clap::ArgGroup::new("what").required(true).args(["by", "until", "remove"]),
        after_help = "Examples:\n  \
            nbgrader-k8s deadlines extend course101 ps1 alice --by 2d\n  \
            nbgrader-k8s deadlines extend course101 ps1 alice --until '2026-12-10 17:00 Europe/Berlin'\n  \
            nbgrader-k8s deadlines extend course101 ps1 alice --remove"
    )]
    Extend {
        /// Course id.
        course: String,
        /// Assignment id.
        assignment: String,
        /// Student id.
        student: String,
        /// Extra time after the course-wide due date (90m, 36h, 2d, 1w); follows it when it
        /// changes, like nbgrader's own extensions.
        #[arg(long, value_parser = crate::duration::parse, value_name = "DURATION")]
        by: Option<std::time::Duration>,
        /// A due date of the student's own.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Remove the extension.
        #[arg(long)]
        remove: bool,
        /// Grant it even though STUDENT has no inbox and is not in the roster given (a
        /// student who has not started yet; creates feedback_public/STUDENT/).
        #[arg(long)]
        new_student: bool,
        #[command(flatten)]
        roster: RosterArgs,
    },
    /// Grant extensions in bulk from a CSV: columns `student`, `assignment`, either `until`
    /// (a new due date; or `due`) or `by` (extra time, e.g. 2d; or `extra`), and `course`
    /// unless --course gives it; `by` = `remove` removes one.
    #[command(after_help = "Example CSV (accommodations):\n  \
        course,student,assignment,until,by\n  \
        course101,alice,ps1,,2d\n  \
        course101,bob,ps1,2026-12-12 12:00 UTC,\n  \
        course102,carol,ps2,,remove\n\
        Every row is checked (every course must exist, every student be known, every \
        extension within the horizon) before anything is written; what is wrong is listed \
        in full.")]
    Import {
        /// The CSV file (`-` reads stdin).
        csv: String,
        /// The course of rows without a `course` column or value.
        #[arg(long)]
        course: Option<String>,
        /// Grant extensions to students without an inbox who are not in the roster given.
        #[arg(long)]
        new_student: bool,
        #[command(flatten)]
        roster: RosterArgs,
    },
}

/// Run `deadlines`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    match &args.command {
        Sub::Publish { course, gradebook } => publish(root, course, gradebook),
        Sub::Extend {
            course,
            assignment,
            student,
            by,
            until,
            remove,
            new_student,
            roster,
        } => {
            existing(root, course)?;
            check(IdKind::Assignment, assignment)?;
            check(IdKind::Student, student)?;
            let extension = if *remove {
                None
            } else {
                Some(parse_extension(until.as_deref(), by.map(|d| d.as_secs()))?)
            };
            let mut changes = Changes::new();
            changes.insert(
                (course.clone(), student.clone()),
                vec![(assignment.clone(), extension)],
            );
            check_all(root, &changes, *new_student, roster)?;
            grant(
                root,
                course,
                student,
                &changes[&(course.clone(), student.clone())],
            )
        }
        Sub::Import {
            course,
            csv,
            new_student,
            roster,
        } => import(root, course.as_deref(), csv, *new_student, roster),
    }
}

/// Before anything is written: every extension within the horizon (against the published
/// course-wide due dates), and every student known in their course (an inbox, or named by
/// `roster`) unless `new_student`. Fails listing every problem and every unknown id.
fn check_all(
    root: &Path,
    changes: &Changes,
    new_student: bool,
    roster: &RosterArgs,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().naive_utc();
    let roster: HashSet<String> = roster.load()?.unwrap_or_default().into_iter().collect();
    let mut problems = Vec::new();
    let mut unknown: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let courses: BTreeSet<&str> = changes.keys().map(|(c, _)| c.as_str()).collect();
    for course in courses {
        let mut warnings = Vec::new();
        let published = deadlines::read_course(root, course, &mut warnings)?;
        let c = existing(root, course)?;
        let inboxes: HashSet<String> = child_ids(&c.inbound(), IdKind::Student, &mut warnings)?
            .into_iter()
            .collect();
        for ((_, student), theirs) in changes.iter().filter(|((c, _), _)| c == course) {
            for (assignment, extension) in theirs {
                let course_due = published.due.get(assignment).copied();
                if let Some(why) = extension.and_then(|e| extension_problem(course_due, e, now)) {
                    problems.push(format!("{course} {student} {assignment}: {why}"));
                }
            }
            let known = inboxes.contains(student) || roster.contains(student);
            if !known && !new_student && theirs.iter().any(|(_, e)| e.is_some()) {
                unknown.entry(course).or_default().push(student);
            }
        }
    }
    for (course, ids) in &unknown {
        problems.push(format!(
            "{} student id{} not known in {course} (no inbox {course}/inbound/{{student}}/, \
             not in the roster given): {}. A typo? Nothing was written; give the roster \
             (--students FILE, --from-gradebook DB), or --new-student to grant them anyway \
             (it creates their feedback_public/{{student}}/)",
            ids.len(),
            if ids.len() == 1 { " is" } else { "s are" },
            ids.join(", ")
        ));
    }
    match problems.len() {
        0 => Ok(()),
        1 => bail!("{}", problems[0]),
        n => bail!("{n} problems, nothing was written: {}", problems.join("; ")),
    }
}

fn check(kind: IdKind, id: &str) -> anyhow::Result<()> {
    match problem(kind, id) {
        None => Ok(()),
        Some(reason) => bail!("invalid {} id {id:?}: {reason}", kind.name()),
    }
}

fn parse_extension(until: Option<&str>, by_secs: Option<u64>) -> anyhow::Result<Extension> {
    match (until, by_secs) {
        (Some(t), None) => Ok(Extension::Until(
            timestamp::parse(t).with_context(|| format!("--until {t:?}"))?,
        )),
        (None, Some(secs)) => Ok(Extension::By(
            i64::try_from(secs).context("the extension is too long")?,
        )),
        _ => bail!("give exactly one of --until and --by"),
    }
}

fn publish(root: &Path, course: &str, gradebook: &Path) -> anyhow::Result<u8> {
    existing(root, course)?;
    let mut due: BTreeMap<String, NaiveDateTime> = BTreeMap::new();
    for (name, date) in gradebook_due_dates(gradebook)? {
        if let Some(reason) = problem(IdKind::Assignment, &name) {
            say_err!("nbgrader-k8s: warning: gradebook assignment {name:?} skipped: {reason}");
            continue;
        }
        let Some(date) = date else { continue };
        match deadlines::due_problem(date) {
            Some(why) => say_err!("nbgrader-k8s: warning: {name} skipped: {why}"),
            None => {
                due.insert(name, date);
            }
        }
    }
    let written = deadlines::publish_all_due(root, course, &due)
        .with_context(|| format!("cannot publish the due dates of {course:?}"))?;
    warn_all(None, &written.warnings);
    let verb = if written.changed {
        "published"
    } else {
        "unchanged"
    };
    say!(
        "{verb}: {} ({} due date{})",
        written.path.display(),
        due.len(),
        if due.len() == 1 { "" } else { "s" }
    );
    for (a, d) in &due {
        say!("  {a}  due {} UTC", d.format("%Y-%m-%d %H:%M:%S"));
    }
    Ok(0)
}

fn grant(
    root: &Path,
    course: &str,
    student: &str,
    changes: &[(String, Option<Extension>)],
) -> anyhow::Result<u8> {
    let now = chrono::Utc::now().naive_utc();
    let written = deadlines::set_extensions(root, course, student, changes, now)
        .with_context(|| format!("cannot write the extensions of {student:?}"))?;
    warn_all(None, &written.warnings);
    let mut warnings = Vec::new();
    let published = deadlines::read_course(root, course, &mut warnings)?;
    let theirs = deadlines::read_student(root, course, student, &mut warnings)?;
    warn_all(None, &warnings);
    for (assignment, extension) in changes {
        let due = Due::of(assignment, &published, &theirs);
        let shown = due.due.map_or_else(
            || "no due date (nothing published to extend)".to_string(),
            |d| format!("due {} UTC", d.format("%Y-%m-%d %H:%M:%S")),
        );
        let what = if extension.is_some() {
            "extension"
        } else {
            "no extension"
        };
        say!("{student} {assignment}: {what}, {shown}");
    }
    if written.changed {
        say!("written: {}", written.path.display());
    }
    Ok(0)
}

fn import(
    root: &Path,
    course: Option<&str>,
    csv_path: &str,
    new_student: bool,
    roster: &RosterArgs,
) -> anyhow::Result<u8> {
    let text = if csv_path == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the CSV from stdin")?
    } else {
        std::fs::read_to_string(csv_path).with_context(|| format!("cannot read {csv_path}"))?
    };
    let per_student = parse_csv(&text, course).with_context(|| format!("CSV {csv_path}"))?;
    let courses: std::collections::BTreeSet<&str> =
        per_student.keys().map(|(c, _)| c.as_str()).collect();
    for c in courses {
        existing(root, c).with_context(|| format!("CSV {csv_path}"))?;
    }
    check_all(root, &per_student, new_student, roster)
        .with_context(|| format!("CSV {csv_path}"))?;
    let mut code = 0;
    for ((course, student), changes) in &per_student {
        if let Err(e) = grant(root, course, student, changes) {
            say_err!("nbgrader-k8s: error: {e:#}");
            code = 1;
        }
    }
    Ok(code)
}

/// (course, student) -> their changes.
type Changes = BTreeMap<(String, String), Vec<(String, Option<Extension>)>>;

/// (Course, student) -> their changes; the first bad row fails the whole file, naming its
/// line. A row's course is its `course` value, else `default_course`.
fn parse_csv(text: &str, default_course: Option<&str>) -> anyhow::Result<Changes> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .context("cannot read the CSV header")?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(student_col), Some(assignment_col)) = (col("student"), col("assignment")) else {
        bail!("the header needs `student` and `assignment` columns (and `until` and/or `by`)");
    };
    let (until_col, by_col) = (col("until").or(col("due")), col("by").or(col("extra")));
    let course_col = col("course");
    if until_col.is_none() && by_col.is_none() {
        bail!("the header needs an `until` or a `by` column");
    }
    let mut out = Changes::new();
    for record in reader.records() {
        let record = record.context("cannot read CSV")?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).filter(|v| !v.is_empty());
        let student = get(Some(student_col)).unwrap_or("");
        let assignment = get(Some(assignment_col)).unwrap_or("");
        let course = get(course_col).or(default_course);
        let row = || -> anyhow::Result<Option<Extension>> {
            let Some(course) = course else {
                bail!("no course: give a `course` column or --course");
            };
            check(IdKind::Course, course)?;
            check(IdKind::Student, student)?;
            check(IdKind::Assignment, assignment)?;
            match (get(until_col), get(by_col)) {
                (None, Some(by)) if by.eq_ignore_ascii_case("remove") => Ok(None),
                (until, by) => {
                    let by = by
                        .map(crate::duration::parse)
                        .transpose()
                        .map_err(anyhow::Error::msg)?;
                    parse_extension(until, by.map(|d| d.as_secs())).map(Some)
                }
            }
        };
        let extension = row().with_context(|| format!("line {line}"))?;
        let course = course.unwrap_or_default().to_string();
        out.entry((course, student.to_string()))
            .or_default()
            .push((assignment.to_string(), extension));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(course: &str, student: &str) -> (String, String) {
        (course.to_string(), student.to_string())
    }

    #[test]
    fn csv_rows() {
        let rows = parse_csv(
            "student,assignment,until,by\nalice,ps1,,2d\nbob,ps1,2026-12-12 12:00 UTC,\n\
             alice,ps2,,remove\n",
            Some("c1"),
        )
        .unwrap();
        assert_eq!(
            rows[&key("c1", "alice")],
            [
                ("ps1".to_string(), Some(Extension::By(2 * 86_400))),
                ("ps2".to_string(), None)
            ]
        );
        let until = timestamp::parse("2026-12-12 12:00 UTC").unwrap();
        assert_eq!(
            rows[&key("c1", "bob")],
            [("ps1".to_string(), Some(Extension::Until(until)))]
        );
        let bad = "student,assignment,by\nalice,ps1,2d\n../x,ps1,1d\n";
        let err = parse_csv(bad, Some("c1")).unwrap_err();
        assert!(format!("{err:#}").contains("line 3"), "{err:#}");
        let both = "student,assignment,until,by\nalice,ps1,2026-01-01,1d\n";
        let err = parse_csv(both, Some("c1")).unwrap_err();
        assert!(format!("{err:#}").contains("exactly one"), "{err:#}");
        assert!(parse_csv("name,assignment,by\n", Some("c1")).is_err());
    }

    #[test]
    fn csv_rows_name_their_course_or_take_the_default() {
        let text = "course,student,assignment,due,extra\nc2,alice,ps1,,1d\n,bob,ps1,,2d\n";
        let rows = parse_csv(text, Some("c1")).unwrap();
        assert_eq!(rows[&key("c2", "alice")][0].1, Some(Extension::By(86_400)));
        assert_eq!(
            rows[&key("c1", "bob")][0].1,
            Some(Extension::By(2 * 86_400))
        );
        let err = parse_csv(text, None).unwrap_err();
        assert!(format!("{err:#}").contains("line 3: no course"), "{err:#}");
        let err = parse_csv("course,student,assignment,by\n../c,alice,ps1,1d\n", None);
        assert!(format!("{:#}", err.unwrap_err()).contains("invalid course id"));
    }
}
