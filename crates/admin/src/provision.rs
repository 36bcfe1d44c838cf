//! `nbgrader-k8s provision COURSE`: every roster student's own directories.

use std::path::Path;

use anyhow::{bail, Context};
use exchange_core::ops::provision::{provision_course, ProvisionEntry};
use serde_json::json;

use crate::init::{entries_json, entries_table, summary_json, summary_line, Owner};
use crate::output::{print_json, progress, say, say_err, warn_all};
use crate::roster::RosterArgs;

/// `provision` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Create inbound/{id} and feedback_public/{id} for every student of a roster",
    long_about = "Create or repair the course tree and, for every student of the roster, \
        inbound/{id} and feedback_public/{id}: real directories owned UID:GID, mode 0755. \
        Each directory is reported as created, already fine or repaired (with what was \
        wrong). The whole roster is checked first: an unsafe id (a '/', a leading '.', ...) \
        is refused with its line number before anything is written. A student whose \
        directory cannot be made safe (a symlink in its place) is reported and the others \
        are still provisioned; the exit status is then 1.",
    after_help = "Examples:\n  \
        nbgrader-k8s provision course101 --students roster.txt\n  \
        nbgrader-k8s provision course101 --students students.csv --json\n  \
        cut -d, -f1 export.csv | nbgrader-k8s provision course101 --students -\n  \
        nbgrader-k8s provision course101 --from-gradebook /home/prof/course101/gradebook.db"
)]
pub struct Args {
    /// Course id.
    pub course: String,
    #[command(flatten)]
    pub roster: RosterArgs,
    #[command(flatten)]
    pub owner: Owner,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `provision`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    let Some(students) = args.roster.load()? else {
        bail!("give the roster with --students FILE (or -) or --from-gradebook gradebook.db");
    };
    let owners = args.owner.skeleton();
    let course = crate::course::prepare(root, &args.course)
        .and_then(|()| Ok(provision_course(root, &args.course, &[], owners)?))
        .with_context(|| format!("cannot provision course {:?}", args.course))?;
    let mut entries = course.entries;
    let mut warnings = course.warnings;
    let mut failed = Vec::new();
    let bar = progress(students.len() as u64, "provision");
    for student in &students {
        match provision_course(root, &args.course, std::slice::from_ref(student), owners) {
            // The first entries are the course's own directories, already reported.
            Ok(done) => {
                let course_dirs = done.entries.len() - exchange_core::skeleton::STUDENT_DIRS;
                entries.extend(done.entries.into_iter().skip(course_dirs));
                warnings.extend(done.warnings);
            }
            Err(err) => {
                let msg = format!("student {student:?}: {err}");
                bar.suspend(|| say_err!("error: {msg}"));
                failed.push(msg);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    report(args, &students, &entries, &warnings, &failed)?;
    Ok(if failed.is_empty() { 0 } else { 1 })
}

fn report(
    args: &Args,
    students: &[String],
    entries: &[ProvisionEntry],
    warnings: &[String],
    failed: &[String],
) -> anyhow::Result<()> {
    if args.json {
        let mut summary = summary_json(entries);
        summary["students"] = json!(students.len());
        summary["failed"] = json!(failed.len());
        return print_json(&json!({
            "course": args.course,
            "entries": entries_json(entries),
            "summary": summary,
            "failed": failed,
            "warnings": warnings,
        }));
    }
    warn_all(None, warnings);
    // The fine ones would drown the rest in a large course: list only what changed.
    let changed: Vec<ProvisionEntry> = entries
        .iter()
        .filter(|e| e.outcome != "fine")
        .cloned()
        .collect();
    if !changed.is_empty() {
        print!("{}", entries_table(&changed).render());
    }
    say!(
        "{} students: {}{}",
        students.len(),
        summary_line(entries),
        if failed.is_empty() {
            String::new()
        } else {
            format!(", failed {}", failed.len())
        }
    );
    Ok(())
}
