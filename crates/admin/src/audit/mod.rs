//! `nbgrader-k8s audit COURSE`: everything that breaks isolation or will break a run.

mod checks;
mod fs_group;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use exchange_core::backdate::BackdateCheck;
use exchange_core::layout::Course;
use exchange_core::migrated::MigratedRecord;
use serde_json::json;

use crate::course::{self, anchor, existing_dir};
use crate::init::Owner;
use crate::notary::{checked_index, Checked};
use crate::output::{print_json, progress, say, Table};
use crate::roster::RosterArgs;

pub use checks::Auditor;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; nothing breaks.
    Low,
    /// Wrong, and may break something later.
    Medium,
    /// Breaks isolation or a run now: `audit` exits 3.
    High,
}

impl Severity {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// One problem found.
#[derive(Debug, Clone)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// Short machine name (`symlink`, `backdated`, ...).
    pub code: &'static str,
    /// Whose directory it is in, if a student's.
    pub student: Option<String>,
    /// The entry.
    pub path: PathBuf,
    /// What is wrong, for a person.
    pub message: String,
}

/// `audit` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Find what breaks isolation or a run: links, foreign names, staging, owners, modes, backdating, roster gaps",
    long_about = "Check COURSE without changing anything. High severity (exit status 3): \
        symlinks and special files anywhere in the course, a submission name claiming another \
        student, world-writable outbound, a missing or non-directory course dir or student dir \
        (kubelet would create it root-owned), wrong owners of the course tree and student \
        dirs, backdated submissions (a claimed timestamp earlier than the newest ctime in its tree, \
        or where the notary's index has it its sealed time, by more than --backdate-tolerance; \
        submissions recorded by `migrate` are exempt), roster students without their dirs. \
        Medium: submissions modified after the notary sealed them, wrong modes, other owners, \
        leftover staging older \
        than --staging-age, unreadable or inconsistent timestamps, dirs of students not on the \
        roster. Low: stray entries, staging that may still be in progress. With --fs-group GID \
        (pods with that fsGroup on storage where kubelet applies it, e.g. csi-driver-nfs with \
        fsGroupPolicy File), a file or directory that is as provisioned except for what \
        kubelet adds (group GID, owner and group read-write, group search and setgid on \
        directories) is counted on an info line, not reported; world-writable entries, other \
        owners, links and special files still are. The whole course is scanned without \
        following links; a progress bar shows on a terminal.",
    after_help = "Examples:\n  \
        nbgrader-k8s audit course101\n  \
        nbgrader-k8s audit course101 --students roster.txt --json\n  \
        nbgrader-k8s audit course101 --from-gradebook gradebook.db --backdate-tolerance 600\n  \
        nbgrader-k8s audit course101 --fs-group 100\n\n\
        Exit status: 0 no high-severity finding, 3 high-severity findings, 1 error."
)]
pub struct Args {
    /// Course id.
    pub course: String,
    #[command(flatten)]
    pub roster: RosterArgs,
    /// The owner everything should have.
    #[command(flatten)]
    pub owner: Owner,
    /// Seconds a claimed timestamp may precede the newest ctime in a submission's tree.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub backdate_tolerance: u64,
    /// The fsGroup of the pods that mount the exchange, on storage where kubelet applies it:
    /// kubelet's group and mode bits for GID are then counted as info, not findings.
    #[arg(long, env = "NBGRADER_K8S_FS_GROUP", value_name = "GID")]
    pub fs_group: Option<u32>,
    /// Staging older than this is a leftover of an interrupted run (younger may be running).
    #[arg(long, default_value = "1h", value_parser = crate::duration::parse)]
    pub staging_age: Duration,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `audit`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    anchor(root)?;
    let roster = args.roster.load()?;
    let course = Course::new(root, &args.course)?;
    let links = course::links_among(root, &course)?;
    let auditor = |course, backdate| Auditor {
        course,
        uid: args.owner.uid,
        gid: args.owner.gid,
        keeper: args.owner.keeper_uid,
        backdate,
        staging_age: args.staging_age.as_secs() as i64,
        fs_group: args.fs_group,
        kubelet_bits: AtomicUsize::new(0),
    };
    if links.first().map(PathBuf::as_path) == Some(course.dir()) {
        // The course itself is a link: nothing in it is looked at.
        let backdate = BackdateCheck::new(None, MigratedRecord::default());
        let auditor = auditor(course, backdate);
        let findings = auditor.reserved_links(&links);
        report(&auditor, args, &findings, 0)?;
        return Ok(crate::EXIT_FINDINGS);
    }
    let course = existing_dir(root, &args.course)?;
    let migrated = MigratedRecord::load(&course).context("cannot read the migration record")?;
    // With the notary's seals, a sealed submission is judged by its sealed time: as the
    // ledger has them, the course's copy (index.json) checked against it (not read when
    // its directory is a link: that is a finding).
    let checked = if links.contains(&course.dir().join(course::NOTARY_DIR)) {
        Checked::default()
    } else {
        checked_index(root, &course, &args.course)
    };
    let backdate =
        BackdateCheck::new(Some(args.backdate_tolerance), migrated).with_seals(checked.index);
    let auditor = auditor(course, backdate);
    let mut findings = auditor.course_tree();
    findings.extend(auditor.index_differences(&checked.differences));
    findings.extend(auditor.reserved_links(&links));
    let students = auditor.student_names(&mut findings);
    findings.extend(auditor.outbound());
    findings.extend(per_student(&auditor, &students));
    if let Some(roster) = &roster {
        findings.extend(auditor.roster(roster, &students));
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.code.cmp(b.code))
    });
    let high = findings.iter().any(|f| f.severity == Severity::High);
    report(&auditor, args, &findings, students.len())?;
    Ok(if high { crate::EXIT_FINDINGS } else { 0 })
}

/// Audit every student's dirs on a few threads (an NFS server answers several requests at
/// once), with a progress bar.
fn per_student(auditor: &Auditor, students: &[String]) -> Vec<Finding> {
    const THREADS: usize = 8;
    let bar = progress(students.len() as u64, "audit");
    let next = AtomicUsize::new(0);
    let found = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..THREADS.min(students.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(student) = students.get(i) else {
                    break;
                };
                let mine = auditor.student(student);
                found.lock().map(|mut f| f.extend(mine)).ok();
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    found.into_inner().unwrap_or_default()
}

fn count(findings: &[Finding], s: Severity) -> usize {
    findings.iter().filter(|f| f.severity == s).count()
}

fn report(
    auditor: &Auditor,
    args: &Args,
    findings: &[Finding],
    students: usize,
) -> anyhow::Result<()> {
    let base = auditor.course.dir();
    let rel = |p: &Path| p.strip_prefix(base).unwrap_or(p).display().to_string();
    if args.json {
        let list: Vec<_> = findings
            .iter()
            .map(|f| {
                json!({
                    "severity": f.severity.name(),
                    "code": f.code,
                    "student": f.student,
                    "path": f.path,
                    "message": f.message,
                })
            })
            .collect();
        return print_json(&json!({
            "course": args.course,
            "students": students,
            "fs_group": args.fs_group.map(|gid| json!({
                "gid": gid,
                "entries": auditor.kubelet_bits.load(Ordering::Relaxed),
            })),
            "findings": list,
            "summary": {
                "high": count(findings, Severity::High),
                "medium": count(findings, Severity::Medium),
                "low": count(findings, Severity::Low),
            },
        }));
    }
    if !findings.is_empty() {
        let mut t = Table::new(&["SEVERITY", "CODE", "PATH", "PROBLEM"]);
        for f in findings {
            t.row(vec![
                f.severity.name().to_uppercase(),
                f.code.to_string(),
                rel(&f.path),
                f.message.clone(),
            ]);
        }
        print!("{}", t.render());
    }
    say!(
        "{}: {} students checked: {} high, {} medium, {} low",
        args.course,
        students,
        count(findings, Severity::High),
        count(findings, Severity::Medium),
        count(findings, Severity::Low)
    );
    if let Some(gid) = args.fs_group {
        say!(
            "info: {} entries differ from the provisioned owner and modes only by kubelet's \
             fsGroup {gid} (group {gid}, group read-write, setgid on directories): not findings",
            auditor.kubelet_bits.load(Ordering::Relaxed)
        );
    }
    Ok(())
}
