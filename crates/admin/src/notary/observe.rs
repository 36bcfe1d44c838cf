//! One pass over one course: what changed since the last pass, as ledger records.
//!
//! Incremental: each pass `stat`s `inbound/`, `outbound/`, `feedback_public/` and the
//! removals log, then every student inbox and feedback dir (in parallel), and lists only the
//! directories whose mtime/ctime moved. A new submission dir shows as a changed inbox (its
//! name appears), so it is sealed the pass after it is published; staging is dot-named and
//! never a submission. An edit inside a sealed submission changes no directory's times, so a
//! recheck pass (the first after a start, then every N-th) lists every inbox and re-digests
//! every sealed submission.
//!
//! Times are compared in whole seconds, so a directory changed within [`RACY_SECS`] of the
//! look is looked at again the next pass (a second change within the same second would
//! otherwise leave its times as they were).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use exchange_core::ids::{problem, IdKind};
use exchange_core::layout::Course;
use exchange_core::walk::{self, Kind, Seen};
use serde_json::{json, Map, Value};

use super::inbox::InboxCtx;
use super::log::{log, now, now_secs};
use super::state::CourseState;
use exchange_core::par;

/// A directory's times within this many seconds of the clock are not trusted to be final.
pub const RACY_SECS: i64 = 2;

/// The students' fetch-marker directory in their inbox.
pub const FETCHED_DIR: &str = ".nbk8s-fetched";

/// What the notary remembers of a directory's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    mtime: i64,
    ctime: i64,
    size: u64,
}

impl Stamp {
    pub(super) fn of(seen: &Seen) -> Stamp {
        Stamp {
            mtime: seen.mtime,
            ctime: seen.ctime,
            size: seen.size,
        }
    }

    /// The stamp to keep after a look at `now`: None (look again) when it may still move.
    fn settled(self, now: i64) -> Option<Stamp> {
        (self.mtime.max(self.ctime) < now - RACY_SECS).then_some(self)
    }
}

/// Bytes and regular files below an entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of regular files.
    pub bytes: u64,
    /// Regular files.
    pub files: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.bytes += other.bytes;
        self.files += other.files;
    }
}

/// What the notary remembers of one student's inbox between passes.
#[derive(Debug, Default)]
pub struct Inbox {
    stamp: Option<Stamp>,
    /// Top-level entries and what they hold.
    pub(super) entries: BTreeMap<String, Usage>,
    pub(super) fetched: Option<Stamp>,
    /// Past the warning threshold (warned once per crossing).
    over: bool,
}

impl Inbox {
    /// What the inbox holds in all.
    pub fn usage(&self) -> Usage {
        let mut total = Usage::default();
        for u in self.entries.values() {
            total += *u;
        }
        total
    }
}

/// What the notary remembers of a course between passes (not in the ledger: a restart
/// begins with a recheck pass that looks at everything).
#[derive(Debug, Default)]
pub struct Watch {
    inbound: Option<Stamp>,
    students: Vec<String>,
    feedback_dir: Option<Stamp>,
    feedback_students: Vec<String>,
    outbound: Option<Stamp>,
    removals: Option<Stamp>,
    /// Student -> inbox.
    pub inboxes: HashMap<String, Inbox>,
    feedback: HashMap<String, Stamp>,
    warned: HashSet<String>,
}

/// Settings of a pass.
#[derive(Debug, Clone)]
pub struct PassSettings {
    /// Threads doing round trips.
    pub workers: usize,
    /// Digest caps (per submission): files, bytes (0 = none).
    pub max_files: u64,
    /// See `max_files`.
    pub max_bytes: u64,
    /// Keep a sealed copy of each new seal.
    pub keep_sealed: bool,
    /// List every inbox (and every fetch-marker and feedback dir).
    pub recheck: bool,
    /// Re-digest every sealed submission (a recheck pass does this after sealing what is
    /// new, so a restart's long re-digest never delays a seal).
    pub redigest: bool,
    /// Warn when an inbox holds more bytes than this (0 = never).
    pub warn_bytes: u64,
}

/// What a pass over a course found.
#[derive(Debug, Default)]
pub struct Observed {
    /// New ledger records (time, event, fields), in order.
    pub records: Vec<Map<String, Value>>,
    /// Inboxes were listed (their usage may have moved).
    pub usage_looked: bool,
    /// `outbound/` moved (or a recheck): its deadline file may have changed.
    pub outbound_looked: bool,
    /// Students whose feedback dir moved (or all, on a recheck): their deadline file may
    /// have changed.
    pub feedback_looked: Vec<String>,
}

pub(super) fn record(event: &str, fields: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("time".into(), now().into());
    m.insert("event".into(), event.into());
    if let Value::Object(fields) = fields {
        m.extend(fields);
    }
    m
}

fn stamp_at(path: &Path) -> Option<Stamp> {
    walk::look(path).ok().flatten().map(|s| Stamp::of(&s))
}

fn due(kept: Option<Stamp>, seen: Option<Stamp>, recheck: bool) -> bool {
    recheck || kept.is_none() || kept != seen
}

/// Names of the real directories directly in `dir` that are valid ids of `kind` (dot-names
/// and links left out; the listing's types are `lstat`'s). Sorted; None when unreadable.
fn dir_ids(dir: &Path, kind: IdKind) -> Option<Vec<String>> {
    let mut names: Vec<String> = walk::children(dir)
        .ok()?
        .into_iter()
        .filter(|c| c.kind == Kind::Dir && problem(kind, &c.name).is_none())
        .map(|c| c.name)
        .collect();
    names.sort();
    Some(names)
}

/// Look at `course` once; `state` is what the ledger says so far.
pub fn observe(
    course: &Course,
    course_id: &str,
    state: &CourseState,
    watch: &mut Watch,
    settings: &PassSettings,
) -> Observed {
    let mut out = Observed::default();
    let recheck = settings.recheck;
    let now_s = now_secs();

    // Releases and withdrawals.
    let seen = stamp_at(&course.outbound());
    if due(watch.outbound, seen, recheck) {
        out.outbound_looked = true;
        if let Some(names) = dir_ids(&course.outbound(), IdKind::Assignment) {
            let names: BTreeSet<String> = names.into_iter().collect();
            for a in names.difference(&state.released) {
                out.records
                    .push(record("released", json!({"assignment": a})));
            }
            for a in state.released.difference(&names) {
                out.records
                    .push(record("withdrawn", json!({"assignment": a})));
            }
            watch.outbound = seen.and_then(|s| s.settled(now_s));
        }
    }

    // Instructor removals (before the inboxes: a removed submission is not "vanished").
    let mut removed_now: BTreeSet<(String, String)> = BTreeSet::new();
    let removals = course
        .removed()
        .join(exchange_core::ops::remove::REMOVALS_LOG);
    let seen = stamp_at(&removals);
    if seen.is_some() && due(watch.removals, seen, recheck) {
        for rec in removal_records(&removals, state, watch) {
            let key = (text(&rec, "student"), text(&rec, "submission"));
            removed_now.insert(key);
            out.records.push(rec);
        }
        watch.removals = seen.and_then(|s| s.settled(now_s));
    }

    // Student inboxes.
    let seen = stamp_at(&course.inbound());
    if due(watch.inbound, seen, recheck) {
        if let Some(names) = dir_ids(&course.inbound(), IdKind::Student) {
            watch.students = names;
            watch.inbound = seen.and_then(|s| s.settled(now_s));
        }
    }
    let inbound = course.inbound();
    let stamps = par::map(&watch.students, settings.workers, |s| {
        stamp_at(&inbound.join(s))
    });
    let jobs: Vec<(String, Option<Stamp>)> = watch
        .students
        .iter()
        .zip(stamps)
        .filter(|(s, seen)| {
            let kept = watch.inboxes.get(*s).and_then(|i| i.stamp);
            due(kept, *seen, recheck)
        })
        .map(|(s, seen)| (s.clone(), seen))
        .collect();
    out.usage_looked = !jobs.is_empty();
    let ctx = InboxCtx {
        course,
        course_id,
        state,
        removed_now: &removed_now,
        settings,
    };
    let inboxes = &watch.inboxes;
    let reports = par::map(&jobs, settings.workers, |(student, _)| {
        ctx.inbox(student, inboxes.get(student))
    });
    for ((student, seen), report) in jobs.into_iter().zip(reports) {
        for (key, fields) in report.warnings {
            if watch.warned.insert(key) {
                log("warning", "skipped", fields);
            }
        }
        out.records.extend(report.records);
        let Some(entries) = report.entries else {
            continue;
        };
        let inbox = watch.inboxes.entry(student.clone()).or_default();
        inbox.stamp = seen.and_then(|s| s.settled(now_s));
        inbox.entries = entries;
        if report.fetched_listed {
            inbox.fetched = report.fetched_stamp.and_then(|s| s.settled(now_s));
        }
        let usage = inbox.usage();
        let over = settings.warn_bytes > 0 && usage.bytes > settings.warn_bytes;
        if over && !inbox.over {
            log(
                "warning",
                "inbox_over_threshold",
                json!({"course": course_id, "student": student, "bytes": usage.bytes,
                       "files": usage.files, "threshold": settings.warn_bytes}),
            );
        }
        inbox.over = over;
    }
    watch
        .inboxes
        .retain(|s, _| watch.students.binary_search(s).is_ok());

    // Feedback released.
    let seen = stamp_at(&course.feedback_public());
    if due(watch.feedback_dir, seen, recheck) {
        if let Some(names) = dir_ids(&course.feedback_public(), IdKind::Student) {
            watch.feedback_students = names;
            watch.feedback_dir = seen.and_then(|s| s.settled(now_s));
        }
    }
    let fb = course.feedback_public();
    let stamps = par::map(&watch.feedback_students, settings.workers, |s| {
        stamp_at(&fb.join(s))
    });
    for (student, seen) in watch.feedback_students.iter().zip(stamps) {
        if !due(watch.feedback.get(student).copied(), seen, recheck) {
            continue;
        }
        out.feedback_looked.push(student.clone());
        let Ok(children) = walk::children(&fb.join(student)) else {
            continue;
        };
        for child in children {
            let Some(key) = child.name.strip_suffix(".html") else {
                continue;
            };
            if child.kind != Kind::File || child.name.starts_with('.') {
                continue;
            }
            if !state.feedback.contains(&(student.clone(), key.to_string())) {
                out.records.push(record(
                    "feedback_released",
                    json!({"student": student, "key": key}),
                ));
            }
        }
        match seen.and_then(|s| s.settled(now_s)) {
            Some(s) => watch.feedback.insert(student.clone(), s),
            None => watch.feedback.remove(student),
        };
    }
    out
}

fn text(rec: &Map<String, Value>, key: &str) -> String {
    rec.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Records for the complete lines of `removals.jsonl` not taken in yet.
fn removal_records(path: &Path, state: &CourseState, watch: &mut Watch) -> Vec<Map<String, Value>> {
    const MAX: u64 = 64 * 1024 * 1024;
    let bytes = match walk::read_regular(path, MAX) {
        Ok(Some(bytes)) => bytes,
        _ => return Vec::new(),
    };
    let complete = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(&bytes[..0], |end| &bytes[..end]);
    let mut out = Vec::new();
    for (i, line) in complete.split(|b| *b == b'\n').enumerate() {
        if (i as u64) < state.removals_done || line.is_empty() {
            continue;
        }
        let parsed: Option<Map<String, Value>> = serde_json::from_slice(line).ok();
        let field = |k: &str| {
            parsed
                .as_ref()
                .and_then(|p| p.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (student, submission) = (field("student"), field("submission"));
        let ok = matches!((&student, &submission), (Some(s), Some(sub))
            if problem(IdKind::Student, s).is_none() && !sub.is_empty()
                && !sub.contains('/') && !sub.starts_with('.'));
        if !ok {
            if watch.warned.insert(format!("removals:{i}")) {
                log(
                    "warning",
                    "bad_removal_line",
                    json!({"path": path, "line": i + 1,
                           "why": "not a JSON object with a valid student and submission"}),
                );
            }
            continue;
        }
        out.push(record(
            "removed",
            json!({"student": student, "assignment": field("assignment"),
                   "submission": submission, "by": field("by"),
                   "reported_time": field("time"), "line": i}),
        ));
    }
    out
}

/// The largest inboxes of a course, most bytes first.
pub fn largest(watch: &Watch, n: usize) -> Vec<(String, Usage)> {
    let mut all: Vec<(String, Usage)> = watch
        .inboxes
        .iter()
        .map(|(s, i)| (s.clone(), i.usage()))
        .collect();
    all.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
    all.truncate(n);
    all
}
