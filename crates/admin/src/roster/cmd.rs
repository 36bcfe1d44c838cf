//! `nbgrader-k8s roster sync|gradebook-csv`: a course's students group made to match an LMS
//! roster through the Hub API, and that roster as nbgrader's student import CSV.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use exchange_core::ops::provision::provision_course;
use serde_json::json;

use super::lms::{self, Row};
use crate::course::cmd::{check_ids, ensure_users, refuse_role_groups, refuse_values};
use crate::hub::hub_name;
use crate::hub::{HubArgs, CREATE_USERS_SCOPE, SCOPES};
use crate::init::Owner;
use crate::output::{print_json, say, say_err};

/// `roster` arguments.
#[derive(Debug, clap::Args)]
#[command(about = "Make a course's students match an LMS roster (Canvas, Moodle, Blackboard CSV)")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// The `roster` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make the students group of COURSE hold exactly the roster's students.
    #[command(
        long_about = "Make the hub's students group of COURSE (nbgrader-COURSE) hold exactly \
        the students of the roster CSV: print who is added, removed and unchanged, create the \
        new students' directories on the exchange, then change the group. Every id is checked \
        first: an unsafe one (a '/', a leading '.') is refused with its line before any call \
        to the hub. A student taken off the roster loses the group membership only: their \
        submissions and feedback stay on the exchange. If a call fails midway, what was \
        applied and what was not is printed; rerun the same command to finish (it only does \
        what is still missing).",
        after_help = "Examples:\n  \
        nbgrader-k8s roster sync course101 --csv canvas-grades.csv --dry-run\n  \
        nbgrader-k8s roster sync course101 --csv canvas-grades.csv\n  \
        nbgrader-k8s roster sync course101 --csv moodle-grades.csv --id-column \"Email address\""
    )]
    Sync(SyncArgs),
    /// Print the students of COURSE as the CSV `nbgrader db student import` reads.
    #[command(after_help = "Examples:\n  \
        nbgrader-k8s roster gradebook-csv course101 > students.csv\n  \
        nbgrader-k8s roster gradebook-csv course101 --csv canvas-grades.csv > students.csv\n  \
        # then, in the instructor's course directory: nbgrader db student import students.csv")]
    GradebookCsv(GradebookArgs),
}

/// Where the roster comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct CsvArgs {
    /// Column holding the hub username (default: SIS Login ID, username, login_id, login or id).
    #[arg(long, value_name = "NAME")]
    pub id_column: Option<String>,
}

/// `roster sync` arguments.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Course id.
    pub course: String,
    /// The roster: an LMS export or any CSV with a header row.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    #[command(flatten)]
    pub columns: CsvArgs,
    /// Print the changes without making them.
    #[arg(long)]
    pub dry_run: bool,
    /// Create roster students the hub does not know yet (needs the admin:users scope).
    #[arg(long)]
    pub create_users: bool,
    /// Accept a roster with no student: every student leaves the course group.
    #[arg(long)]
    pub allow_empty: bool,
    #[command(flatten)]
    pub hub: HubArgs,
    #[command(flatten)]
    pub owner: Owner,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `roster gradebook-csv` arguments.
#[derive(Debug, clap::Args)]
pub struct GradebookArgs {
    /// Course id.
    pub course: String,
    /// An LMS roster to take names and emails from (the students are the hub's).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    #[command(flatten)]
    pub columns: CsvArgs,
    #[command(flatten)]
    pub hub: HubArgs,
}

/// Run `roster`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    match &args.command {
        Command::Sync(a) => sync(root, a),
        Command::GradebookCsv(a) => gradebook_csv(a),
    }
}

fn load(file: &Path, columns: &CsvArgs) -> anyhow::Result<lms::Roster> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read roster {}", file.display()))?;
    lms::parse(&text, columns.id_column.as_deref())
        .with_context(|| format!("roster {}", file.display()))
}

/// What a sync changes.
#[derive(Debug, Default)]
struct Plan {
    add: Vec<String>,
    remove: Vec<String>,
    unchanged: Vec<String>,
}

fn sync(root: &Path, a: &SyncArgs) -> anyhow::Result<u8> {
    // Everything local is checked before the hub is asked anything.
    let roster = load(&a.csv, &a.columns)?;
    check_ids(&a.course, &[])?;
    if !a.json {
        for line in &roster.skipped {
            say_err!(
                "note: {} line {line}: no {:?}, row skipped",
                a.csv.display(),
                roster.column
            );
        }
    }
    if roster.rows.is_empty() && !a.allow_empty {
        bail!(
            "roster {} has no student (column {:?}, {} row(s) skipped): syncing it would take \
             every student out of {}; nothing was changed. Check the login column \
             (--id-column), or pass --allow-empty to empty the course",
            a.csv.display(),
            roster.column,
            roster.skipped.len(),
            a.course
        );
    }
    let hub = a.hub.connect()?;
    let mut needed = SCOPES.to_vec();
    if a.create_users {
        needed.push(CREATE_USERS_SCOPE);
    }
    hub.require(&needed)?;
    let group_name = a.hub.student_group(&a.course);
    let Some(group) = hub.group(&group_name)? else {
        bail!(
            "the hub has no group {group_name}: create the course first with \
             `nbgrader-k8s course add {} --instructor USER`",
            a.course
        );
    };
    refuse_role_groups(&[&Some(group.clone())], &a.course)?;
    refuse_values(&[&Some(group.clone())], &a.course)?;
    // Compared as the hub stores names (lower case): `Alice` in the roster is member `alice`.
    let wanted: BTreeSet<String> = roster.rows.iter().map(|r| hub_name(&r.id)).collect();
    let recased = roster
        .rows
        .iter()
        .filter(|r| hub_name(&r.id) != r.id)
        .count();
    if recased > 0 && !a.json {
        say_err!(
            "note: {recased} roster id(s) taken in lower case, as JupyterHub stores usernames"
        );
    }
    let members: BTreeSet<String> = group.users.iter().cloned().collect();
    let plan = Plan {
        add: wanted.difference(&members).cloned().collect(),
        remove: members.difference(&wanted).cloned().collect(),
        unchanged: wanted.intersection(&members).cloned().collect(),
    };
    if a.dry_run {
        report(a, &plan, &plan.add, &plan.remove, &[], None, true)?;
        return Ok(0);
    }
    let to_check: BTreeSet<String> = plan.add.iter().cloned().collect();
    let created = ensure_users(&hub, &to_check, a.create_users)?;
    if !created.is_empty() && !a.json {
        say!("hub users created: {}", created.join(", "));
    }

    // Directories before membership: a student may spawn the moment they are in the group.
    crate::course::prepare(root, &a.course)
        .and_then(|()| Ok(provision_course(root, &a.course, &[], a.owner.skeleton())?))
        .with_context(|| format!("cannot create course {:?} on the exchange", a.course))?;
    let mut failed = Vec::new();
    let mut add = Vec::new();
    for s in &plan.add {
        match provision_course(root, &a.course, std::slice::from_ref(s), a.owner.skeleton()) {
            Ok(_) => add.push(s.clone()),
            Err(e) => failed.push(format!("student {s:?}: {e}; not added")),
        }
    }

    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let applied = hub
        .add_members(&group_name, &add, &mut |b| added.extend_from_slice(b))
        .and_then(|_| {
            hub.remove_members(&group_name, &plan.remove, &mut |b| {
                removed.extend_from_slice(b)
            })
        });
    if let Err(err) = applied {
        report(a, &plan, &added, &removed, &failed, Some(&add), false)?;
        return Err(err.context(format!(
            "roster sync of {} interrupted: applied {} of {} additions and {} of {} removals; \
             rerun the same command to finish",
            a.course,
            added.len(),
            add.len(),
            removed.len(),
            plan.remove.len()
        )));
    }
    report(a, &plan, &added, &removed, &failed, None, false)?;
    Ok(if failed.is_empty() { 0 } else { 1 })
}

fn report(
    a: &SyncArgs,
    plan: &Plan,
    added: &[String],
    removed: &[String],
    failed: &[String],
    interrupted: Option<&[String]>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let not_added: Vec<&String> = interrupted
        .map(|all| all.iter().filter(|s| !added.contains(s)).collect())
        .unwrap_or_default();
    let not_removed: Vec<&String> = if interrupted.is_some() {
        plan.remove
            .iter()
            .filter(|s| !removed.contains(s))
            .collect()
    } else {
        Vec::new()
    };
    if a.json {
        return print_json(&json!({
            "course": a.course,
            "group": a.hub.student_group(&a.course),
            "dry_run": dry_run,
            "complete": interrupted.is_none(),
            "added": added,
            "removed": removed,
            "unchanged": plan.unchanged,
            "not_applied": {"add": not_added, "remove": not_removed},
            "failed": failed,
        }));
    }
    let verb = if dry_run { "would " } else { "" };
    let names = |v: &[String]| {
        if v.is_empty() {
            String::new()
        } else {
            format!(": {}", v.join(", "))
        }
    };
    say!("{verb}add {}{}", added.len(), names(added));
    say!("{verb}remove {}{}", removed.len(), names(removed));
    say!("unchanged {}", plan.unchanged.len());
    for f in failed {
        say_err!("error: {f}");
    }
    if !not_added.is_empty() || !not_removed.is_empty() {
        let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        say!(
            "NOT applied: add {} [{}], remove {} [{}]",
            not_added.len(),
            list(&not_added),
            not_removed.len(),
            list(&not_removed)
        );
    }
    if !removed.is_empty() {
        say!(
            "{verb}removed from group {} only: their submissions and feedback stay on the exchange",
            a.hub.student_group(&a.course)
        );
    }
    Ok(())
}

fn gradebook_csv(a: &GradebookArgs) -> anyhow::Result<u8> {
    check_ids(&a.course, &[])?;
    let names = match &a.csv {
        Some(file) => load(file, &a.columns)?.rows,
        None => Vec::new(),
    };
    let hub = a.hub.connect()?;
    hub.require(&["read:groups"])?;
    let group_name = a.hub.student_group(&a.course);
    let Some(group) = hub.group(&group_name)? else {
        bail!("the hub has no group {group_name} (course {:?})", a.course);
    };
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    let write = |out: &mut csv::Writer<_>, r: &[&str]| -> anyhow::Result<()> {
        out.write_record(r).context("cannot write the CSV")
    };
    write(&mut out, &["id", "first_name", "last_name", "email"])?;
    for user in &group.users {
        let none = Row::default();
        let row = names
            .iter()
            .find(|r| hub_name(&r.id) == *user)
            .unwrap_or(&none);
        write(
            &mut out,
            &[user, &row.first_name, &row.last_name, &row.email],
        )?;
    }
    out.flush().context("cannot write the CSV")?;
    Ok(0)
}
