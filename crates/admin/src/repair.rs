//! `nbgrader-k8s repair`: bring existing courses' skeletons to their owner and modes.
//!
//! Deployments from before the skeleton (docs/security.md, "The skeleton") have every
//! directory owned by uid 1000, so the course's instructors can rename a directory that a
//! student's pod mounts through. This shows, for each course, what differs (a dry run by
//! default) and with `--apply` changes it: only owners and modes of the skeleton's own
//! directories, never anything inside them. `--apply` needs root (or the keeper's uid for
//! the modes alone); run it as the provision Job's root step does.

use std::path::Path;

use anyhow::Context;
use exchange_core::ops::provision::{
    provision_course, students_with_dirs, survey_course, ProvisionEntry,
};
use serde_json::json;

use crate::init::{entries_json, entries_table, Owner};
use crate::output::{print_json, say, warn_all};

/// `repair` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Show (or with --apply, fix) where each course's skeleton differs from its owner and modes",
    long_about = "For each course (all of them without COURSE), compare every directory a \
        pod's subPath goes through (COURSE, outbound, inbound, feedback_public, .nbk8s-removed, \
        .nbk8s-notary, and each student's inbound/S and feedback_public/S) with the skeleton \
        of docs/security.md: owned by the keeper (--keeper-uid, root by default), sealed 2755 \
        or shared 2775. A dry run unless --apply. Exit 3 when a dry run finds something to \
        fix, or a link in the way (never followed, never removed: look at it yourself)."
)]
pub struct Args {
    /// Courses (default: every course on the exchange).
    pub courses: Vec<String>,
    #[command(flatten)]
    pub owner: Owner,
    /// Change owners and modes (default: only show what differs).
    #[arg(long)]
    pub apply: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `repair`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    exchange_core::layout::check_root(root)?;
    let mut warnings = Vec::new();
    let courses = if args.courses.is_empty() {
        crate::course::child_ids(root, exchange_core::ids::IdKind::Course, &mut warnings)
            .context("cannot list the courses")?
    } else {
        args.courses.clone()
    };
    let owners = args.owner.skeleton();
    let mut all: Vec<(String, Vec<ProvisionEntry>)> = Vec::new();
    for course in &courses {
        let entries = if args.apply {
            let course_dir = exchange_core::layout::Course::new(root, course)?;
            let students = students_with_dirs(&course_dir);
            let done = provision_course(root, course, &students, owners)
                .with_context(|| format!("cannot repair course {course:?}"))?;
            warnings.extend(done.warnings);
            done.entries
        } else {
            survey_course(root, course, owners)
                .with_context(|| format!("cannot survey course {course:?}"))?
                .entries
        };
        all.push((course.clone(), entries));
    }
    warnings.dedup();
    let to_fix = all
        .iter()
        .flat_map(|(_, e)| e)
        .filter(|e| !matches!(e.outcome, "fine" | "created" | "repaired"))
        .count();
    if args.json {
        let courses: Vec<_> = all
            .iter()
            .map(|(c, e)| json!({"course": c, "entries": entries_json(e)}))
            .collect();
        print_json(&json!({"apply": args.apply, "courses": courses, "warnings": warnings}))?;
    } else {
        warn_all(None, &warnings);
        for (course, entries) in &all {
            let shown: Vec<ProvisionEntry> = entries
                .iter()
                .filter(|e| e.outcome != "fine")
                .cloned()
                .collect();
            if shown.is_empty() {
                say!("{course}: the skeleton is as it should be");
            } else {
                say!("{course}:");
                print!("{}", entries_table(&shown).render());
            }
        }
        if !args.apply && to_fix > 0 {
            say!(
                "{to_fix} to fix: rerun with --apply as root; a link or file is never \
                 followed or removed, look at it yourself (docs/security.md, \"The skeleton\")"
            );
        }
    }
    Ok(if to_fix > 0 { crate::EXIT_FINDINGS } else { 0 })
}
