//! One pass over one course: what changed since the last pass, as ledger records.
//!
//! Incremental: each pass lists `inbound/` and `feedback_public/` (their entries' attributes
//! come with the listing) and `stat`s `outbound/` and the removals log, then lists only the
//! inboxes and feedback dirs whose mtime/ctime moved (in parallel). A new submission dir
//! shows as a changed inbox (its name appears), so it is sealed the pass after it is
//! published; staging is dot-named and never a submission. An edit inside a sealed
//! submission changes no directory's times, so a recheck pass (the first after a start, then
//! every N-th) lists every inbox and, in a second half ([`PassSettings::redigest`]),
//! re-digests every submission sealed before the pass.
//!
//! Times are compared in whole seconds, so a directory changed within [`RACY_SECS`] of the
//! look is looked at again the next pass (a second change within the same second would
//! otherwise leave its times as they were).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use exchange_core::ids::{problem, IdKind};
use exchange_core::layout::Course;
use exchange_core::walk::{self, Kind, Seen};
use serde_json::{json, Map, Value};

use super::inbox::InboxCtx;
use super::log::{log, now, now_secs};
use super::state::CourseState;
use exchange_core::deadlines::FILE_NAME as DEADLINE_FILE;
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
    /// Submissions found over a digest cap, with their directory's stamp then: not looked
    /// at again (nor reported) until that stamp moves, or on a recheck (by `stat` only).
    pub(super) too_big: HashMap<String, Stamp>,
    /// Sealed submissions a recheck has still to re-digest (the per-pass budget ran out).
    pub(super) redigest_due: BTreeSet<String>,
    /// The last look left work for the next pass.
    deferred: bool,
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
    /// The student directories in `inbound/` at the last listing.
    students: Vec<String>,
    outbound: Option<Stamp>,
    removals: Option<Stamp>,
    /// Student -> inbox.
    pub inboxes: HashMap<String, Inbox>,
    feedback: HashMap<String, Stamp>,
    /// Students whose feedback dir held a deadline file at its last listing.
    deadline_files: HashSet<String>,
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
    /// Re-digest every submission sealed before `sealed_before` (a recheck pass does this
    /// after sealing what is new, so a restart's long re-digest never delays a seal, and
    /// what that first half just sealed is not digested twice). Nothing else is looked at:
    /// the first half of the pass just did.
    pub redigest: bool,
    /// The ledger's length when the pass began: seals from this pass have a seq at or past it.
    pub sealed_before: u64,
    /// Warn when an inbox holds more bytes than this (0 = never).
    pub warn_bytes: u64,
    /// Submissions digested (sealed or re-digested) per inbox per pass at most; the rest
    /// wait for the next pass, so one inbox never holds up the others' seals.
    pub per_inbox: u64,
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
    /// Students whose feedback dir was listed (it moved, or a recheck) and holds their
    /// deadline file, or held it at the last listing: that file may have changed.
    pub feedback_looked: Vec<String>,
    /// Looks that failed (a link where a directory should be, an unreadable listing...):
    /// each is logged, and what it would have shown is left alone this pass.
    pub errors: u64,
    /// The instructors' copy directory is not a real directory.
    pub copies_broken: bool,
    /// Inboxes with submissions left for the next pass (the per-inbox budget ran out).
    pub deferred: u64,
}

/// Why a look at `path` failed, naming the link on the way when there is one (a link as
/// the last component fails as "not a directory", which would hide it).
pub(super) fn why_failed(path: &Path, err: &std::io::Error) -> String {
    match exchange_core::beneath::first_link(path) {
        Some(link) => format!(
            "{} is a symbolic link: no link is followed on the exchange",
            link.display()
        ),
        None => err.to_string(),
    }
}

impl Observed {
    /// A course-level look at `path` failed: logged every pass (the course's work there
    /// stops until it is repaired).
    fn failed(&mut self, course_id: &str, path: &Path, why: &std::io::Error) {
        self.errors += 1;
        log(
            "error",
            "listing_failed",
            json!({"course": course_id, "path": path, "why": why_failed(path, why)}),
        );
    }

    /// A look at one student's directory failed: logged once per path and reason.
    fn failed_once(&mut self, watch: &mut Watch, course_id: &str, path: &Path, why: String) {
        self.errors += 1;
        if watch.warned.insert(format!("{}:{why}", path.display())) {
            log(
                "warning",
                "listing_failed",
                json!({"course": course_id, "path": path, "why": why}),
            );
        }
    }
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

/// The stamp of what is at `path` (a link's own); Ok(None) when absent.
fn stamp_at(path: &Path) -> std::io::Result<Option<Stamp>> {
    Ok(walk::look(path)?.map(|s| Stamp::of(&s)))
}

fn due(kept: Option<Stamp>, seen: Option<Stamp>, recheck: bool) -> bool {
    recheck || kept.is_none() || kept != seen
}

/// Entries where a directory belongs that are something else: (path, what it is).
type Odd = Vec<(PathBuf, Kind)>;

/// The real directories directly in `dir` whose names are valid ids of `kind`, sorted,
/// each with its stamp as the listing's `lstat` saw it (a link is never one), and the
/// entries with a valid id that are not real directories (a link planted in a student's
/// place), as (path, what it is). One listing, its entries' attributes brought along
/// ([`walk::children_large`]): on a network volume a few round trips for a course of
/// thousands, where a `stat` of each student's directory cost one each. An absent `dir`
/// holds none; any other failure is returned, and no earlier listing stands in for it.
fn dir_ids(dir: &Path, kind: IdKind) -> std::io::Result<(Vec<(String, Stamp)>, Odd)> {
    let children = match walk::children_large(dir) {
        Ok(children) => children,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    let mut odd = Vec::new();
    for c in children {
        if problem(kind, &c.name).is_some() {
            continue;
        }
        if c.kind == Kind::Dir {
            let stamp = Stamp::of(&c);
            names.push((c.name, stamp));
        } else {
            let kind = c.kind;
            odd.push((c.path, kind));
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((names, odd))
}

/// Warn (once) about entries in a student's place that are not directories.
fn odd_entries(out: &mut Observed, watch: &mut Watch, course_id: &str, odd: Odd) {
    for (path, kind) in odd {
        let why = format!(
            "a {} where a student's directory belongs: not followed",
            kind.describe()
        );
        out.failed_once(watch, course_id, &path, why);
    }
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
    if settings.redigest {
        redigest(course, course_id, state, watch, settings, &mut out);
        return out;
    }
    copies(course, course_id, &mut out);
    outbound(course, course_id, state, watch, settings.recheck, &mut out);
    // Instructor removals (before the inboxes: a removed submission is not "vanished").
    let removed_now = removals(course, course_id, state, watch, settings.recheck, &mut out);
    inboxes(
        course,
        course_id,
        state,
        watch,
        settings,
        &removed_now,
        &mut out,
    );
    feedback(course, course_id, state, watch, settings, &mut out);
    out
}

/// The instructors' copy directory (`{course}/.nbk8s-notary`), looked at every pass (one
/// `lstat`), so a link or file put in its place is reported at once, not only when the
/// next write is refused.
fn copies(course: &Course, course_id: &str, out: &mut Observed) {
    let dir = course.dir().join(super::publish::COPY_DIR);
    match walk::look(&dir) {
        Ok(None) => {}
        Ok(Some(seen)) if seen.kind == Kind::Dir => {}
        Ok(Some(seen)) => {
            out.copies_broken = true;
            let why = std::io::Error::other(format!(
                "{} is a {}, not a directory: the notary writes nothing there",
                dir.display(),
                seen.kind.describe()
            ));
            out.failed(course_id, &dir, &why);
        }
        Err(e) => {
            out.copies_broken = true;
            out.failed(course_id, &dir, &e);
        }
    }
}

/// Releases and withdrawals.
fn outbound(
    course: &Course,
    course_id: &str,
    state: &CourseState,
    watch: &mut Watch,
    recheck: bool,
    out: &mut Observed,
) {
    let dir = course.outbound();
    let seen = match stamp_at(&dir) {
        Ok(seen) => seen,
        Err(e) => return out.failed(course_id, &dir, &e),
    };
    if !due(watch.outbound, seen, recheck) {
        return;
    }
    out.outbound_looked = true;
    let names = match dir_ids(&dir, IdKind::Assignment) {
        Ok((names, _)) => names,
        Err(e) => {
            watch.outbound = None;
            return out.failed(course_id, &dir, &e);
        }
    };
    let names: BTreeSet<String> = names.into_iter().map(|(a, _)| a).collect();
    for a in names.difference(&state.released) {
        out.records
            .push(record("released", json!({"assignment": a})));
    }
    for a in state.released.difference(&names) {
        out.records
            .push(record("withdrawn", json!({"assignment": a})));
    }
    watch.outbound = seen.and_then(|s| s.settled(now_secs()));
}

/// The instructors' removals not taken in yet; returns (student, submission) of each.
fn removals(
    course: &Course,
    course_id: &str,
    state: &CourseState,
    watch: &mut Watch,
    recheck: bool,
    out: &mut Observed,
) -> BTreeSet<(String, String)> {
    let mut removed_now = BTreeSet::new();
    let log_path = course
        .removed()
        .join(exchange_core::ops::remove::REMOVALS_LOG);
    let seen = match stamp_at(&log_path) {
        Ok(seen) => seen,
        Err(e) => {
            out.failed(course_id, &log_path, &e);
            return removed_now;
        }
    };
    if seen.is_none() || !due(watch.removals, seen, recheck) {
        return removed_now;
    }
    let bytes = match walk::read_regular(&log_path, REMOVALS_MAX) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return removed_now,
        Err(e) => {
            watch.removals = None;
            out.failed(course_id, &log_path, &e);
            return removed_now;
        }
    };
    for rec in removal_records(&log_path, &bytes, state, watch) {
        removed_now.insert((text(&rec, "student"), text(&rec, "submission")));
        out.records.push(rec);
    }
    watch.removals = seen.and_then(|s| s.settled(now_secs()));
    removed_now
}

/// Student inboxes: `inbound/` listed afresh every pass (its entries' stamps come with the
/// listing), then each inbox whose times moved. When `inbound/` cannot be listed (a link
/// put in its place), nothing is done with any inbox this pass, and the earlier list is
/// dropped, never reused.
fn inboxes(
    course: &Course,
    course_id: &str,
    state: &CourseState,
    watch: &mut Watch,
    settings: &PassSettings,
    removed_now: &BTreeSet<(String, String)>,
    out: &mut Observed,
) {
    let inbound = course.inbound();
    let (dirs, odd) = match dir_ids(&inbound, IdKind::Student) {
        Ok(found) => found,
        Err(e) => {
            watch.students.clear();
            watch.inboxes.clear();
            return out.failed(course_id, &inbound, &e);
        }
    };
    odd_entries(out, watch, course_id, odd);
    watch.students = dirs.iter().map(|(s, _)| s.clone()).collect();
    let jobs: Vec<(String, Option<Stamp>)> = dirs
        .into_iter()
        .filter(|(s, seen)| {
            let kept = watch.inboxes.get(s).and_then(|i| i.stamp);
            due(kept, Some(*seen), settings.recheck)
        })
        .map(|(s, seen)| (s, Some(seen)))
        .collect();
    look_at_inboxes(
        course,
        course_id,
        state,
        watch,
        settings,
        removed_now,
        jobs,
        out,
    );
    watch
        .inboxes
        .retain(|s, _| watch.students.binary_search(s).is_ok());
}

/// The second half of a recheck pass: re-digest what was sealed before it, in the inboxes
/// the first half just listed (one that could not be listed then is left for next time).
fn redigest(
    course: &Course,
    course_id: &str,
    state: &CourseState,
    watch: &mut Watch,
    settings: &PassSettings,
    out: &mut Observed,
) {
    let jobs: Vec<(String, Option<Stamp>)> = watch
        .students
        .iter()
        .filter_map(|s| {
            let inbox = watch.inboxes.get(s)?;
            let due = !inbox.redigest_due.is_empty()
                || state.seals_of(s).any(|(sub, seal)| {
                    seal.seq < settings.sealed_before
                        && seal.state != super::state::SealState::Vanished
                        && inbox.entries.contains_key(sub)
                });
            due.then(|| (s.clone(), inbox.stamp))
        })
        .collect();
    look_at_inboxes(
        course,
        course_id,
        state,
        watch,
        settings,
        &BTreeSet::new(),
        jobs,
        out,
    );
}

/// Look at the inboxes of `jobs` (student, the stamp their directory was seen with) on the
/// pass's workers, and take in what each look found.
#[allow(clippy::too_many_arguments)]
fn look_at_inboxes(
    course: &Course,
    course_id: &str,
    state: &CourseState,
    watch: &mut Watch,
    settings: &PassSettings,
    removed_now: &BTreeSet<(String, String)>,
    jobs: Vec<(String, Option<Stamp>)>,
    out: &mut Observed,
) {
    let now_s = now_secs();
    let mut deferred_now = 0;
    out.usage_looked |= !jobs.is_empty();
    let ctx = InboxCtx {
        course,
        course_id,
        state,
        removed_now,
        settings,
    };
    let inboxes = &watch.inboxes;
    let reports = par::map(&jobs, settings.workers, |(student, _)| {
        match (settings.redigest, inboxes.get(student)) {
            (true, Some(mem)) => ctx.redigest(student, mem),
            (_, mem) => ctx.inbox(student, mem),
        }
    });
    for ((student, seen), report) in jobs.into_iter().zip(reports) {
        for (key, fields) in report.warnings {
            if watch.warned.insert(key) {
                log("warning", "skipped", fields);
            }
        }
        for fields in report.too_big_found {
            log("warning", "too_big", fields);
        }
        for (path, why) in report.failures {
            out.failed_once(watch, course_id, &path, why);
        }
        out.records.extend(report.records);
        let Some(entries) = report.entries else {
            watch.inboxes.remove(&student);
            continue;
        };
        let inbox = watch.inboxes.entry(student.clone()).or_default();
        // Work left for the next pass: look at this inbox again then, whatever its times.
        inbox.stamp = seen
            .and_then(|s| s.settled(now_s))
            .filter(|_| !report.deferred);
        inbox.entries = entries;
        inbox.too_big = report.too_big;
        inbox.redigest_due = report.redigest_due;
        // The second half of a recheck pass adds to what the first left.
        inbox.deferred = report.deferred || (settings.redigest && inbox.deferred);
        deferred_now += u64::from(report.deferred);
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
    // Both halves of a recheck pass look at inboxes: count what is left over all of them.
    out.deferred = watch.inboxes.values().filter(|i| i.deferred).count() as u64;
    if deferred_now > 0 {
        log(
            "info",
            "inboxes_deferred",
            json!({"course": course_id, "inboxes": deferred_now,
                   "per_inbox": settings.per_inbox}),
        );
    }
}

/// Feedback released: the students listed afresh when `feedback_public/` moved, then each
/// feedback dir whose times moved; as for inboxes, a failed listing is never stood in for.
fn feedback(
    course: &Course,
    course_id: &str,
    state: &CourseState,
    watch: &mut Watch,
    settings: &PassSettings,
    out: &mut Observed,
) {
    let recheck = settings.recheck;
    let now_s = now_secs();
    let fb = course.feedback_public();
    let (dirs, odd) = match dir_ids(&fb, IdKind::Student) {
        Ok(found) => found,
        Err(e) => {
            watch.feedback.clear();
            return out.failed(course_id, &fb, &e);
        }
    };
    odd_entries(out, watch, course_id, odd);
    let students: HashSet<&String> = dirs.iter().map(|(s, _)| s).collect();
    watch.feedback.retain(|s, _| students.contains(s));
    let due_dirs: Vec<(String, Stamp)> = dirs
        .into_iter()
        .filter(|(s, seen)| due(watch.feedback.get(s).copied(), Some(*seen), recheck))
        .collect();
    let listings = par::map(&due_dirs, settings.workers, |(s, _)| {
        walk::children(&fb.join(s))
    });
    for ((student, seen), listing) in due_dirs.into_iter().zip(listings) {
        let dir = fb.join(&student);
        let children = match listing {
            Ok(children) => children,
            Err(e) => {
                watch.feedback.remove(&student);
                let why = why_failed(&dir, &e);
                out.failed_once(watch, course_id, &dir, why);
                continue;
            }
        };
        // The student's deadline file is read (by the deadline watch) only where this
        // listing shows one, or the last one did (it may just have been removed): not a
        // round trip for every student whose directory moved.
        let has_deadlines = children.iter().any(|c| c.name == DEADLINE_FILE);
        let had_deadlines = if has_deadlines {
            !watch.deadline_files.insert(student.clone())
        } else {
            watch.deadline_files.remove(&student)
        };
        if has_deadlines || had_deadlines {
            out.feedback_looked.push(student.clone());
        }
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
        match seen.settled(now_s) {
            Some(s) => watch.feedback.insert(student, s),
            None => watch.feedback.remove(&student),
        };
    }
}

fn text(rec: &Map<String, Value>, key: &str) -> String {
    rec.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The most of `removals.jsonl` read.
const REMOVALS_MAX: u64 = 64 * 1024 * 1024;

/// Records for the complete lines of `removals.jsonl` (`bytes`, read from `path`) not
/// taken in yet.
fn removal_records(
    path: &Path,
    bytes: &[u8],
    state: &CourseState,
    watch: &mut Watch,
) -> Vec<Map<String, Value>> {
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
