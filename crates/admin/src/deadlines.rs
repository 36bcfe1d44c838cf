//! `nbgrader-k8s deadlines`: publish due dates, grant extensions (docs/deadlines.md).
//!
//! Course-wide due dates come from nbgrader's gradebook (the instructor's pod has it);
//! extensions are kept in each student's `feedback_public/{student}/.nbk8s-deadlines.json`,
//! where only that student can read them. The plugin's collect copies them into the
//! gradebook for nbgrader's late penalty. The rules are `exchange_core::deadlines`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use exchange_core::deadlines::{self, Due, Extension};
use exchange_core::ids::{problem, IdKind};
use exchange_core::timestamp;

use crate::course::existing;
use crate::output::warn_all;
use crate::roster::gradebook_due_dates;

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
        nbgrader-k8s deadlines import course101 accommodations.csv\n\
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
    },
    /// Grant extensions in bulk from a CSV: columns `student`, `assignment` and either
    /// `until` (a new due date) or `by` (extra time, e.g. 2d); `by` = `remove` removes one.
    #[command(after_help = "Example CSV (accommodations):\n  \
        student,assignment,until,by\n  \
        alice,ps1,,2d\n  \
        bob,ps1,2026-12-12 12:00 UTC,\n  \
        carol,ps2,,remove\n\
        Every row is checked before anything is written.")]
    Import {
        /// Course id.
        course: String,
        /// The CSV file (`-` reads stdin).
        csv: String,
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
        } => {
            existing(root, course)?;
            check(IdKind::Assignment, assignment)?;
            check(IdKind::Student, student)?;
            let extension = if *remove {
                None
            } else {
                Some(parse_extension(until.as_deref(), by.map(|d| d.as_secs()))?)
            };
            grant(root, course, student, &[(assignment.clone(), extension)])
        }
        Sub::Import { course, csv } => import(root, course, csv),
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
            eprintln!("nbgrader-k8s: warning: gradebook assignment {name:?} skipped: {reason}");
            continue;
        }
        if let Some(date) = date {
            due.insert(name, date);
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
    println!(
        "{verb}: {} ({} due date{})",
        written.path.display(),
        due.len(),
        if due.len() == 1 { "" } else { "s" }
    );
    for (a, d) in &due {
        println!("  {a}  due {} UTC", d.format("%Y-%m-%d %H:%M:%S"));
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
        println!("{student} {assignment}: {what}, {shown}");
    }
    if written.changed {
        println!("written: {}", written.path.display());
    }
    Ok(0)
}

fn import(root: &Path, course: &str, csv_path: &str) -> anyhow::Result<u8> {
    existing(root, course)?;
    let text = if csv_path == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the CSV from stdin")?
    } else {
        std::fs::read_to_string(csv_path).with_context(|| format!("cannot read {csv_path}"))?
    };
    let per_student = parse_csv(&text).with_context(|| format!("CSV {csv_path}"))?;
    let mut code = 0;
    for (student, changes) in &per_student {
        if let Err(e) = grant(root, course, student, changes) {
            eprintln!("nbgrader-k8s: error: {e:#}");
            code = 1;
        }
    }
    Ok(code)
}

type Changes = BTreeMap<String, Vec<(String, Option<Extension>)>>;

/// Student -> their changes; the first bad row fails the whole file, naming its line.
fn parse_csv(text: &str) -> anyhow::Result<Changes> {
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
    let (until_col, by_col) = (col("until"), col("by"));
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
        let row = || -> anyhow::Result<Option<Extension>> {
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
        out.entry(student.to_string())
            .or_default()
            .push((assignment.to_string(), extension));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows() {
        let rows = parse_csv(
            "student,assignment,until,by\nalice,ps1,,2d\nbob,ps1,2026-12-12 12:00 UTC,\n\
             alice,ps2,,remove\n",
        )
        .unwrap();
        assert_eq!(
            rows["alice"],
            [
                ("ps1".to_string(), Some(Extension::By(2 * 86_400))),
                ("ps2".to_string(), None)
            ]
        );
        let until = timestamp::parse("2026-12-12 12:00 UTC").unwrap();
        assert_eq!(
            rows["bob"],
            [("ps1".to_string(), Some(Extension::Until(until)))]
        );
        let err = parse_csv("student,assignment,by\nalice,ps1,2d\n../x,ps1,1d\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 3"), "{err:#}");
        let err = parse_csv("student,assignment,until,by\nalice,ps1,2026-01-01,1d\n").unwrap_err();
        assert!(format!("{err:#}").contains("exactly one"), "{err:#}");
        assert!(parse_csv("name,assignment,by\n").is_err());
    }
}
