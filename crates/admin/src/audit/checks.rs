//! The audit's checks, one method per part of the course.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDateTime;

use exchange_core::backdate::BackdateCheck;
use exchange_core::ids::{problem, IdKind};
use exchange_core::layout::Course;
use exchange_core::leftovers::{leftovers, LeftoverKind};
use exchange_core::names::parse_submission;
use exchange_core::seals::{deleted_note, COPIES_DIR, INDEX};
use exchange_core::skeleton::{self, Shape};
use exchange_core::walk::{self, Kind, Seen};

use super::fs_group::{kubelet_owner, only_kubelet_bits};
use super::{Finding, Severity};

/// Everything the checks compare against.
#[derive(Debug)]
pub struct Auditor {
    /// The course.
    pub course: Course,
    /// Expected owner uid.
    pub uid: u32,
    /// Expected owner gid.
    pub gid: u32,
    /// Owner of the skeleton (docs/security.md, "The skeleton").
    pub keeper: u32,
    /// The backdating check (tolerance and the submissions `migrate` recorded).
    pub backdate: BackdateCheck,
    /// Age (seconds) past which staging is a leftover.
    pub staging_age: i64,
    /// The pods' fsGroup, when kubelet applies it to the exchange (`--fs-group`).
    pub fs_group: Option<u32>,
    /// Entries whose only differences are kubelet's fsGroup bits (counted, not findings).
    pub kubelet_bits: AtomicUsize,
}

/// Where an entry lives decides how bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Outbound,
    Inbound,
    Feedback,
}

fn finding(
    severity: Severity,
    code: &'static str,
    student: Option<&str>,
    path: &Path,
    message: String,
) -> Finding {
    Finding {
        severity,
        code,
        student: student.map(str::to_string),
        path: path.to_path_buf(),
        message,
    }
}

impl Auditor {
    /// The course's skeleton: the course dir and its three parts present, and every one of
    /// its directories (the reserved ones where they exist) real, keeper-owned, in shape.
    pub fn course_tree(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let optional = [self.course.removed(), self.course.dir().join(COPIES_DIR)];
        for (dir, shape) in skeleton::course_dirs(&self.course) {
            if optional.contains(&dir) && !matches!(walk::look(&dir), Ok(Some(_))) {
                continue; // absent is fine; a link is reserved_links' to report
            }
            self.top_dir(&dir, shape, None, &mut out);
        }
        out
    }

    /// The course's reserved directories that no pod mounts but whole-course code reads
    /// (`C/.nbk8s-notary`, `C/.nbk8s-removed`, the notary's `{root}/.nbk8s-notary/C`):
    /// a link at one is high (it would redirect the notary, `status` or `gc` into another
    /// course); absent or a real directory is fine. `links` are the reserved directories
    /// found to be links.
    pub fn reserved_links(&self, links: &[std::path::PathBuf]) -> Vec<Finding> {
        let c = &self.course;
        // course_tree reports links at the course's parts; the course itself is reported
        // here when it is a link (then nothing else is looked at).
        let mounted = [c.outbound(), c.inbound(), c.feedback_public()];
        links
            .iter()
            .filter(|l| !mounted.contains(l))
            .filter_map(|l| match walk::look(l) {
                Ok(Some(seen)) => Some(self.link(&seen, None)),
                _ => None,
            })
            .collect()
    }

    /// A skeleton directory: it must exist as a real directory owned by the keeper, in its
    /// shape. Owned by the pods' uid, or group-writable where it must be sealed, a pod could
    /// rename what another pod's subPath goes through: high.
    fn top_dir(&self, dir: &Path, shape: Shape, student: Option<&str>, out: &mut Vec<Finding>) {
        let seen = match walk::look(dir) {
            Ok(Some(seen)) => seen,
            Ok(None) => {
                out.push(finding(
                    Severity::High,
                    "missing_dir",
                    student,
                    dir,
                    "missing: kubelet would create it owned by root, unwritable in the pods \
                     (run init/provision)"
                        .into(),
                ));
                return;
            }
            Err(e) => {
                out.push(finding(
                    Severity::High,
                    "unreadable",
                    student,
                    dir,
                    format!("cannot inspect ({e})"),
                ));
                return;
            }
        };
        if seen.kind != Kind::Dir {
            out.push(finding(
                Severity::High,
                "not_a_directory",
                student,
                dir,
                format!("a {} where a directory must be", seen.kind.describe()),
            ));
            return;
        }
        let mode = shape.mode();
        // kubelet's fsGroup bits are harmless on a shared directory; on a sealed one its
        // group write is exactly what lets a pod rename an entry.
        if shape == Shape::Shared && self.kubelets(&seen, mode) {
            return;
        }
        if (seen.uid, seen.gid) != (self.keeper, self.gid) {
            let why = if seen.uid == self.uid {
                "the pods' own uid may rename, replace or chmod what a pod's subPath goes \
                 through (run `nbgrader-k8s repair --apply` as root)"
            } else {
                "not the skeleton's owner (run `nbgrader-k8s repair --apply` as root)"
            };
            out.push(finding(
                Severity::High,
                "wrong_owner",
                student,
                dir,
                format!(
                    "owned {}:{}, not {}:{}: {why}",
                    seen.uid, seen.gid, self.keeper, self.gid
                ),
            ));
        }
        if shape == Shape::Sealed && seen.mode & 0o022 != 0 {
            out.push(finding(
                Severity::High,
                "writable_skeleton",
                student,
                dir,
                format!(
                    "mode {:o}: the pods' group may rename what is in it, not {:o} (run \
                     `nbgrader-k8s repair --apply`)",
                    seen.mode, mode
                ),
            ));
        } else if seen.mode & 0o002 != 0 {
            out.push(finding(
                Severity::High,
                "world_writable",
                student,
                dir,
                format!("mode {:o} is world-writable", seen.mode),
            ));
        } else if seen.mode != mode {
            out.push(finding(
                Severity::Medium,
                "wrong_mode",
                student,
                dir,
                format!("mode {:o}, not {mode:o}", seen.mode),
            ));
        }
    }

    /// Student ids: the directories in inbound/ and feedback_public/. Entries that cannot be
    /// a student's directory are findings.
    pub fn student_names(&self, out: &mut Vec<Finding>) -> Vec<String> {
        let mut names = BTreeSet::new();
        for parent in [self.course.inbound(), self.course.feedback_public()] {
            let Ok(children) = walk::children(&parent) else {
                continue; // reported by course_tree
            };
            self.leftovers_in(&parent, None, out);
            for child in children {
                if child.name.starts_with('.') {
                    self.dot_entry(&child, None, out);
                    continue;
                }
                match child.kind {
                    Kind::Dir if problem(IdKind::Student, &child.name).is_none() => {
                        names.insert(child.name.clone());
                    }
                    Kind::Dir => out.push(finding(
                        Severity::Medium,
                        "bad_name",
                        None,
                        &child.path,
                        "not a valid student id".into(),
                    )),
                    Kind::Symlink => out.push(self.link(&child, None)),
                    Kind::File => out.push(finding(
                        Severity::Low,
                        "stray_entry",
                        None,
                        &child.path,
                        "a file where only student directories belong".into(),
                    )),
                    Kind::Other(what) => out.push(finding(
                        Severity::High,
                        "special_file",
                        None,
                        &child.path,
                        format!("a {what}"),
                    )),
                }
            }
        }
        names.into_iter().collect()
    }

    /// Every entry under outbound/.
    pub fn outbound(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let dir = self.course.outbound();
        let Ok(children) = walk::children(&dir) else {
            return out;
        };
        for child in children.iter().filter(|c| c.name.starts_with('.')) {
            self.dot_entry(child, None, &mut out);
        }
        self.leftovers_in(&dir, None, &mut out);
        let problems = walk::scan(&dir, &mut |seen| {
            if seen.depth == 1 && seen.name.starts_with('.') {
                return false;
            }
            self.entry(seen, Area::Outbound, None, &mut out);
            true
        });
        self.unreadable(problems, None, &mut out);
        out
    }

    /// One student's inbound/{s} and feedback_public/{s}.
    pub fn student(&self, student: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        let inbox = self.course.inbound().join(student);
        let feedback = self.course.feedback_public().join(student);
        self.top_dir(&inbox, Shape::Shared, Some(student), &mut out);
        self.top_dir(&feedback, Shape::Shared, Some(student), &mut out);
        if is_dir(&inbox) {
            self.leftovers_in(&inbox, Some(student), &mut out);
            self.inbox(student, &inbox, &mut out);
        }
        if is_dir(&feedback) {
            self.leftovers_in(&feedback, Some(student), &mut out);
            let problems = walk::scan(&feedback, &mut |seen| {
                if seen.depth == 1 && seen.name.starts_with('.') {
                    self.dot_entry(seen, Some(student), &mut out);
                    return false;
                }
                self.entry(seen, Area::Feedback, Some(student), &mut out);
                true
            });
            self.unreadable(problems, Some(student), &mut out);
        }
        out
    }

    fn inbox(&self, student: &str, inbox: &Path, out: &mut Vec<Finding>) {
        let s = Some(student);
        // Per submission (walked in pre-order, so its entries follow it): its path, the
        // time it claims, and the newest ctime in its tree (an edited file shows there).
        let mut claims: Vec<(Seen, NaiveDateTime, i64)> = Vec::new();
        let problems = walk::scan(inbox, &mut |seen| {
            if seen.depth > 1 {
                self.entry(seen, Area::Inbound, s, out);
                if let Some(claim) = claims.last_mut() {
                    if seen.path.starts_with(&claim.0.path) {
                        claim.2 = claim.2.max(seen.ctime);
                    }
                }
                return true;
            }
            if seen.name.starts_with('.') {
                self.dot_entry(seen, s, out);
                return false;
            }
            if seen.kind != Kind::Dir {
                self.entry(seen, Area::Inbound, s, out);
                if seen.kind == Kind::File {
                    out.push(finding(
                        Severity::Low,
                        "stray_entry",
                        s,
                        &seen.path,
                        "a file, not a submission directory".into(),
                    ));
                }
                return false;
            }
            self.entry(seen, Area::Inbound, s, out);
            if let Some(when) = self.submission(student, seen, out) {
                claims.push((seen.clone(), when, seen.ctime));
            }
            true
        });
        self.unreadable(problems, s, out);
        let present: BTreeSet<&str> = claims.iter().map(|c| c.0.name.as_str()).collect();
        for seal in self.backdate.seals().map_or(Vec::new(), |i| {
            i.deleted(student, &present).collect::<Vec<_>>()
        }) {
            out.push(finding(
                Severity::Medium,
                "deleted_after_seal",
                s,
                &inbox.join(&seal.submission),
                deleted_note(seal),
            ));
        }
        for (seen, when, newest) in claims {
            if let Some(found) = self.backdate.judge(student, &seen.name, when, newest) {
                out.push(finding(
                    Severity::High,
                    "backdated",
                    s,
                    &seen.path,
                    found.to_string(),
                ));
            }
            if let Some(note) = self.backdate.after_seal(student, &seen.name) {
                out.push(finding(
                    Severity::Medium,
                    "changed_after_seal",
                    s,
                    &seen.path,
                    note,
                ));
            }
        }
    }

    /// Where the course's copy of the notary's index differs from its ledger: high when it
    /// was edited (nothing the notary writes shows that), low for what a notary in the
    /// middle of a pass shows for a moment.
    pub fn index_differences(&self, differences: &[(String, String, bool)]) -> Vec<Finding> {
        let path = self.course.dir().join(COPIES_DIR).join(INDEX);
        differences
            .iter()
            .map(|(entry, why, settled)| {
                let (severity, more) = if *settled {
                    (
                        Severity::High,
                        "edited by hand? not used: the ledger's seals are",
                    )
                } else {
                    (
                        Severity::Low,
                        "the notary may be writing it; the ledger's seals are used",
                    )
                };
                finding(
                    severity,
                    "index_mismatch",
                    None,
                    &path,
                    format!("the notary's index entry {entry}: {why} ({more})"),
                )
            })
            .collect()
    }

    /// A submission directory's name and timestamps; the time it claims when it reads.
    fn submission(
        &self,
        student: &str,
        seen: &Seen,
        out: &mut Vec<Finding>,
    ) -> Option<NaiveDateTime> {
        let s = Some(student);
        let parsed = match parse_submission(student, &seen.name) {
            Ok(parsed) => parsed,
            Err(why) => {
                out.push(finding(
                    Severity::Low,
                    "stray_entry",
                    s,
                    &seen.path,
                    format!("not a submission: {why}"),
                ));
                return None;
            }
        };
        if let Some(w) = &parsed.warning {
            out.push(finding(
                Severity::High,
                "foreign_name",
                s,
                &seen.path,
                w.clone(),
            ));
        }
        let Some(when) = parsed.when else {
            out.push(finding(
                Severity::Medium,
                "unreadable_timestamp",
                s,
                &seen.path,
                format!(
                    "timestamp {:?} cannot be read; collect cannot order it",
                    parsed.timestamp
                ),
            ));
            return None;
        };
        match walk::read_regular(&seen.path.join("timestamp.txt"), 4096) {
            Ok(Some(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                if text.trim() != parsed.timestamp.trim() {
                    out.push(finding(
                        Severity::Medium,
                        "timestamp_mismatch",
                        s,
                        &seen.path,
                        format!(
                            "timestamp.txt says {:?}, the name says {:?}",
                            text.trim(),
                            parsed.timestamp
                        ),
                    ));
                }
            }
            Ok(None) => out.push(finding(
                Severity::Low,
                "no_timestamp_file",
                s,
                &seen.path,
                "no timestamp.txt".into(),
            )),
            Err(_) => {}
        }
        Some(when)
    }

    /// Checks of any entry below a course part: links, special files, owner, mode.
    fn entry(&self, seen: &Seen, area: Area, student: Option<&str>, out: &mut Vec<Finding>) {
        match seen.kind {
            Kind::Symlink => {
                out.push(self.link(seen, student));
                return;
            }
            Kind::Other(what) => {
                out.push(finding(
                    Severity::High,
                    "special_file",
                    student,
                    &seen.path,
                    format!("a {what}: never copied, may hang a reader"),
                ));
                return;
            }
            Kind::Dir | Kind::File => {}
        }
        if seen.mode & 0o002 != 0 {
            let severity = if area == Area::Outbound {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(finding(
                severity,
                "world_writable",
                student,
                &seen.path,
                format!("mode {:o} is world-writable", seen.mode),
            ));
        }
        if (seen.uid, seen.gid) != (self.uid, self.gid)
            && seen.kind == Kind::Dir
            && !self.kubelets_group(seen)
        {
            out.push(finding(
                Severity::Medium,
                "wrong_owner",
                student,
                &seen.path,
                format!(
                    "owned {}:{}, not {}:{}",
                    seen.uid, seen.gid, self.uid, self.gid
                ),
            ));
        }
    }

    /// Whether the skeleton directory `seen` is as provisioned (the keeper, `mode`) but for
    /// kubelet's fsGroup bits under `--fs-group`; counted when it is.
    fn kubelets(&self, seen: &Seen, mode: u32) -> bool {
        let Some(fs_group) = self.fs_group else {
            return false;
        };
        let yes = only_kubelet_bits(seen, self.keeper, self.gid, mode, fs_group);
        if yes {
            self.kubelet_bits.fetch_add(1, Ordering::Relaxed);
        }
        yes
    }

    /// Whether a directory whose mode is not checked has only kubelet's chgrp under
    /// `--fs-group`; counted when it has.
    fn kubelets_group(&self, seen: &Seen) -> bool {
        let Some(fs_group) = self.fs_group else {
            return false;
        };
        let yes = kubelet_owner(seen, self.uid, self.gid, fs_group);
        if yes {
            self.kubelet_bits.fetch_add(1, Ordering::Relaxed);
        }
        yes
    }

    /// A link at `seen`: high, with where it points.
    pub fn link(&self, seen: &Seen, student: Option<&str>) -> Finding {
        let target = exchange_core::beneath::read_link(&seen.path)
            .map(|t| format!(" -> {}", t.display()))
            .unwrap_or_default();
        finding(
            Severity::High,
            "symlink",
            student,
            &seen.path,
            format!("a symlink{target}: never followed, but it must not be there"),
        )
    }

    /// A dot-named direct child that is not a leftover (those are [`Self::leftovers_in`]'s):
    /// a reserved name of ours or a student's own, wrong only as a symlink.
    fn dot_entry(&self, seen: &Seen, student: Option<&str>, out: &mut Vec<Finding>) {
        if LeftoverKind::of(&seen.name).is_none() && seen.kind == Kind::Symlink {
            out.push(self.link(seen, student));
        }
    }

    /// The leftovers directly in `dir`, by the core's rule: old ones are findings `gc`
    /// clears, young ones may belong to a run in progress.
    fn leftovers_in(&self, dir: &Path, student: Option<&str>, out: &mut Vec<Finding>) {
        for left in leftovers(dir, std::time::Duration::ZERO) {
            let age = i64::try_from(left.age.as_secs()).unwrap_or(i64::MAX);
            if age >= self.staging_age {
                out.push(finding(
                    Severity::Medium,
                    "leftover_staging",
                    student,
                    &left.path,
                    format!(
                        "left by an interrupted run {} ago (`nbgrader-k8s gc` removes it)",
                        human_age(age)
                    ),
                ));
            } else {
                let what = if left.kind == LeftoverKind::Trash {
                    "a replaced tree kept so readers copying it finish"
                } else {
                    "a run may be in progress"
                };
                out.push(finding(
                    Severity::Low,
                    "staging",
                    student,
                    &left.path,
                    format!("staging {} old: {what}", human_age(age)),
                ));
            }
        }
    }

    fn unreadable(
        &self,
        problems: Vec<exchange_core::walk::Skipped>,
        student: Option<&str>,
        out: &mut Vec<Finding>,
    ) {
        for exchange_core::walk::Skipped { path, why } in problems {
            out.push(finding(Severity::Medium, "unreadable", student, &path, why));
        }
    }

    /// Roster students without their dirs; dirs of students not on the roster.
    pub fn roster(&self, roster: &[String], students: &[String]) -> Vec<Finding> {
        let mut out = Vec::new();
        let on_roster: BTreeSet<&str> = roster.iter().map(String::as_str).collect();
        let present: BTreeSet<&str> = students.iter().map(String::as_str).collect();
        // A student with one of the two dirs is reported by `student` already.
        for s in roster.iter().filter(|s| !present.contains(s.as_str())) {
            for dir in [
                self.course.inbound().join(s),
                self.course.feedback_public().join(s),
            ] {
                if matches!(walk::look(&dir), Ok(None)) {
                    out.push(finding(
                        Severity::High,
                        "missing_student_dir",
                        Some(s),
                        &dir,
                        "roster student without this directory: their pod would get a root-owned one (run provision)".into(),
                    ));
                }
            }
        }
        for s in students.iter().filter(|s| !on_roster.contains(s.as_str())) {
            out.push(finding(
                Severity::Medium,
                "not_on_roster",
                Some(s),
                &self.course.inbound().join(s),
                "a student directory of someone not on the roster".into(),
            ));
        }
        out
    }
}

/// Whether `path` is a real directory (not a link to one).
fn is_dir(path: &Path) -> bool {
    matches!(walk::look(path), Ok(Some(seen)) if seen.kind == Kind::Dir)
}

fn human_age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}
