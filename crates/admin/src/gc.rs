//! `nbgrader-k8s gc COURSE`: remove leftover staging and old resubmissions.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use exchange_core::ids::IdKind;
use exchange_core::layout::Course;
use exchange_core::leftovers::{leftovers, Leftover};
use exchange_core::names::parse_submission;
use exchange_core::ops::place::remove_tree;
use exchange_core::walk::{self, Kind};
use serde_json::json;

use crate::course::{child_ids, existing, is_link, skipped_link};
use crate::output::{print_json, progress, say, warn_all, Table};

/// `gc` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Prune leftover staging, old removed submissions and old resubmissions (dry run unless --yes)",
    long_about = "Remove what an interrupted run left behind (the exchange's dot-named \
        staging, trash and temporary entries in outbound/, inbound/{s}/ and \
        feedback_public/{s}/, older than --staging-age), the submissions instructors removed \
        with `nbgrader list --inbound --remove` (kept in .nbk8s-removed/{s}/ until they are \
        older than --removed-age; the removal log removals.jsonl stays) and, with \
        --keep-last N, every \
        submission of a student for an assignment but their N newest (by timestamp), \
        optionally only those older than --older-than. Submissions whose timestamp cannot be \
        read are never removed. Nothing is removed without --yes: the default is to print \
        what would go. A submission is moved aside before it is deleted, so a reader never \
        sees it half-removed.",
    after_help = "Examples:\n  \
        nbgrader-k8s gc course101                      # what staging would go\n  \
        nbgrader-k8s gc course101 --yes\n  \
        nbgrader-k8s gc course101 --keep-last 3 --older-than 30d --json\n  \
        nbgrader-k8s gc course101 --keep-last 1 --yes"
)]
pub struct Args {
    /// Course id.
    pub course: String,
    /// Keep each student's N newest submissions of each assignment; remove the rest.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// With --keep-last: only remove submissions whose timestamp is older than this (30d, 12h...).
    #[arg(long, value_parser = crate::duration::parse, value_name = "DURATION", requires = "keep_last")]
    pub older_than: Option<Duration>,
    /// Staging younger than this may belong to a running operation and is kept.
    #[arg(long, default_value = "1h", value_parser = crate::duration::parse)]
    pub staging_age: Duration,
    /// Keep removed submissions (.nbk8s-removed/) until they are this old (since removal).
    #[arg(long, default_value = "30d", value_parser = crate::duration::parse)]
    pub removed_age: Duration,
    /// Really remove (without it, only print what would be removed).
    #[arg(long)]
    pub yes: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Something to remove.
#[derive(Debug, Clone)]
struct Victim {
    kind: &'static str,
    /// Set for a leftover, removed as such.
    leftover: Option<Leftover>,
    student: Option<String>,
    path: PathBuf,
    reason: String,
}

/// Run `gc`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    if args.keep_last == Some(0) {
        bail!("--keep-last must be at least 1 (gc never removes a student's newest submission)");
    }
    let course = existing(root, &args.course)?;
    let now = chrono::Utc::now().naive_utc();
    let mut warnings = Vec::new();
    let students = child_ids(&course.inbound(), IdKind::Student, &mut warnings)?;
    let mut victims = staging_in(&course.outbound(), None, args.staging_age);
    victims.extend(removed_in(&course.removed(), args.removed_age)?);
    let bar = progress(students.len() as u64, "gc");
    for student in &students {
        let inbox = course.inbound().join(student);
        victims.extend(staging_in(&inbox, Some(student), args.staging_age));
        let feedback = course.feedback_public().join(student);
        // A link there is skipped by name (the student's inbox still is pruned).
        match is_link(&feedback) {
            Ok(false) => victims.extend(staging_in(&feedback, Some(student), args.staging_age)),
            Ok(true) => warnings.push(skipped_link(&feedback)),
            Err(e) => warnings.push(format!("skipped {}: {e}", feedback.display())),
        }
        if let Some(keep) = args.keep_last {
            victims.extend(old_submissions(&inbox, student, keep, args.older_than, now));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    warn_all(None, &warnings);
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    if args.yes {
        for v in &victims {
            match remove(v) {
                Ok(()) => removed.push(v.clone()),
                Err(e) => failed.push((v.clone(), e)),
            }
        }
    }
    report(args, &course, &victims, &removed, &failed)?;
    Ok(if failed.is_empty() { 0 } else { 1 })
}

/// The leftovers directly in `dir` older than `age` (the core's one rule).
fn staging_in(dir: &Path, student: Option<&str>, age: Duration) -> Vec<Victim> {
    leftovers(dir, age)
        .into_iter()
        .map(|left| Victim {
            kind: "staging",
            student: student.map(str::to_string),
            reason: format!("left by an interrupted run ({} s old)", left.age.as_secs()),
            path: left.path.clone(),
            leftover: Some(left),
        })
        .collect()
}

/// Removed submissions (`.nbk8s-removed/{student}/{name}`) removed at least `age` ago: the
/// rename that removed them set their ctime, which nobody else changes.
fn removed_in(removed: &Path, age: Duration) -> anyhow::Result<Vec<Victim>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut out = Vec::new();
    let students = match walk::children(removed) {
        Ok(students) => students,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", removed.display())),
    };
    for student in students {
        if student.kind != Kind::Dir {
            continue;
        }
        for entry in walk::children(&student.path).unwrap_or_default() {
            let since = now.saturating_sub(Duration::from_secs(entry.ctime.max(0) as u64));
            if since < age {
                continue;
            }
            out.push(Victim {
                kind: "removed",
                leftover: None,
                student: Some(student.name.clone()),
                reason: format!("removed by an instructor {} s ago", since.as_secs()),
                path: entry.path,
            });
        }
    }
    Ok(out)
}

/// A student's submissions beyond the newest `keep` per assignment (older than `older_than`).
fn old_submissions(
    inbox: &Path,
    student: &str,
    keep: usize,
    older_than: Option<Duration>,
    now: chrono::NaiveDateTime,
) -> Vec<Victim> {
    let Ok(children) = walk::children(inbox) else {
        return Vec::new();
    };
    let mut subs: Vec<(String, chrono::NaiveDateTime, PathBuf)> = children
        .into_iter()
        .filter(|c| c.kind == Kind::Dir && !c.name.starts_with('.'))
        .filter_map(|c| {
            let parsed = parse_submission(student, &c.name).ok()?;
            Some((parsed.assignment, parsed.when?, c.path))
        })
        .collect();
    // Newest first within each assignment.
    subs.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let cutoff = older_than
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| now - d);
    let mut out = Vec::new();
    let mut rank = 0;
    for (i, (assignment, when, path)) in subs.iter().enumerate() {
        rank = if i > 0 && subs[i - 1].0 == *assignment {
            rank + 1
        } else {
            0
        };
        if rank < keep || cutoff.is_some_and(|c| *when >= c) {
            continue;
        }
        out.push(Victim {
            kind: "resubmission",
            leftover: None,
            student: Some(student.to_string()),
            path: path.clone(),
            reason: format!(
                "{assignment}: older than the newest {keep} (submitted {} UTC)",
                when.format("%Y-%m-%d %H:%M:%S")
            ),
        });
    }
    out
}

fn remove(v: &Victim) -> Result<(), String> {
    if let Some(left) = &v.leftover {
        return left.remove().map_err(|e| e.to_string());
    }
    remove_tree(&v.path).map(|_| ()).map_err(|e| e.to_string())
}

fn report(
    args: &Args,
    course: &Course,
    victims: &[Victim],
    removed: &[Victim],
    failed: &[(Victim, String)],
) -> anyhow::Result<()> {
    let count = |list: &[Victim], kind: &str| list.iter().filter(|v| v.kind == kind).count();
    if args.json {
        let item = |v: &Victim| json!({"kind": v.kind, "student": v.student, "path": v.path, "reason": v.reason});
        return print_json(&json!({
            "course": args.course,
            "dry_run": !args.yes,
            "candidates": victims.iter().map(item).collect::<Vec<_>>(),
            "removed": removed.iter().map(item).collect::<Vec<_>>(),
            "failed": failed.iter().map(|(v, e)| {
                let mut j = item(v);
                j["error"] = json!(e);
                j
            }).collect::<Vec<_>>(),
            "summary": {
                "staging": count(victims, "staging"),
                "removed_submissions": count(victims, "removed"),
                "resubmissions": count(victims, "resubmission"),
                "removed": removed.len(),
                "failed": failed.len(),
            },
        }));
    }
    let rel = |p: &Path| {
        p.strip_prefix(course.dir())
            .unwrap_or(p)
            .display()
            .to_string()
    };
    if !victims.is_empty() {
        let mut t = Table::new(&["ACTION", "KIND", "PATH", "WHY"]);
        for v in victims {
            let action = match failed.iter().find(|(f, _)| f.path == v.path) {
                Some((_, e)) => format!("FAILED ({e})"),
                None if args.yes => "removed".to_string(),
                None => "would remove".to_string(),
            };
            t.row(vec![
                action,
                v.kind.to_string(),
                rel(&v.path),
                v.reason.clone(),
            ]);
        }
        print!("{}", t.render());
    }
    let mut what = format!(
        "{} staging, {} old resubmissions",
        count(victims, "staging"),
        count(victims, "resubmission")
    );
    if count(victims, "removed") > 0 {
        what += &format!(", {} removed submissions", count(victims, "removed"));
    }
    if args.yes {
        say!("{}: removed {} of {what}", args.course, removed.len());
    } else {
        say!(
            "{}: would remove {what} (dry run; add --yes to remove)",
            args.course
        );
    }
    Ok(())
}
