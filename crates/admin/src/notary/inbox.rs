//! One student's inbox in a pass: seal what is new, re-digest what is sealed (on a recheck),
//! notice what vanished, read new fetch markers, and count what the inbox holds. Run on the
//! pass's worker threads, so it only reads the course state and returns what it found.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use exchange_core::ids::{problem, IdKind};
use exchange_core::layout::Course;
use exchange_core::names::parse_submission;
use exchange_core::receipt::Manifest;
use exchange_core::timestamp;
use exchange_core::walk::{self, Kind, Seen};
use serde_json::{json, Map, Value};

use super::log::now;
use super::observe::{record, why_failed, Inbox, PassSettings, Stamp, Usage, FETCHED_DIR};
use super::publish;
use super::state::{CourseState, SealState};

/// What one inbox look found.
#[derive(Debug, Default)]
pub(super) struct InboxReport {
    pub records: Vec<Map<String, Value>>,
    /// The top-level entries and their usage (None: the inbox could not be listed).
    pub entries: Option<BTreeMap<String, Usage>>,
    pub fetched_listed: bool,
    pub fetched_stamp: Option<Stamp>,
    /// (once-key, log fields).
    pub warnings: Vec<(String, Value)>,
    /// Looks that failed: (path, why); what they would have shown is left alone.
    pub failures: Vec<(PathBuf, String)>,
    /// Submissions over a digest cap, by name, with their stamp (see `Inbox::too_big`).
    pub too_big: HashMap<String, Stamp>,
    /// Sealed submissions still to re-digest.
    pub redigest_due: BTreeSet<String>,
    /// The budget ran out: some submissions wait for the next pass.
    pub deferred: bool,
    /// Log fields of each submission newly found over a cap (`too_big`, once each).
    pub too_big_found: Vec<Value>,
}

/// What one submission's look needs besides the course: the listing's time, the inbox's
/// memory, and what is left of its budget for the pass.
struct Look<'a> {
    seen_at: &'a str,
    mem: Option<&'a Inbox>,
    budget: &'a Cell<u64>,
}

impl Look<'_> {
    /// Take one digest from the budget; false when none is left.
    fn spend(&self) -> bool {
        let left = self.budget.get();
        if left == 0 {
            return false;
        }
        self.budget.set(left - 1);
        true
    }
}

pub(super) struct InboxCtx<'a> {
    pub course: &'a Course,
    pub course_id: &'a str,
    pub state: &'a CourseState,
    pub removed_now: &'a BTreeSet<(String, String)>,
    pub settings: &'a PassSettings,
}

impl InboxCtx<'_> {
    fn warn(&self, report: &mut InboxReport, student: &str, path: &Path, why: String) {
        report.warnings.push((
            format!("{}:{why}", path.display()),
            json!({"course": self.course_id, "student": student, "path": path, "why": why}),
        ));
    }

    fn removed(&self, key: &(String, String)) -> bool {
        self.removed_now.contains(key) || self.state.removed.contains(key)
    }

    pub fn inbox(&self, student: &str, mem: Option<&Inbox>) -> InboxReport {
        super::metrics::progress();
        let mut report = InboxReport::default();
        let dir = self.course.inbound().join(student);
        let children = match walk::children(&dir) {
            Ok(children) => children,
            Err(e) => {
                report.failures.push((dir.clone(), why_failed(&dir, &e)));
                return report;
            }
        };
        // Each entry listed existed by now: the seal time of what is new.
        let seen_at = now();
        let recheck = self.settings.recheck;
        let budget = Cell::new(self.settings.per_inbox);
        let cached = |name: &str| mem.and_then(|m| m.entries.get(name)).copied();
        let mut entries = BTreeMap::new();
        let mut present = HashSet::new();
        for child in &children {
            let name = child.name.clone();
            if name.starts_with('.') {
                if name == FETCHED_DIR && child.kind == Kind::Dir {
                    let stamp = Stamp::of(child);
                    if recheck || mem.and_then(|m| m.fetched) != Some(stamp) {
                        report.fetched_listed = true;
                        report.fetched_stamp = Some(stamp);
                        self.fetch_markers(student, &child.path, &mut report);
                    }
                }
                let usage = match cached(&name) {
                    Some(u) if !recheck && child.kind != Kind::Dir => u,
                    _ => usage_of(child),
                };
                entries.insert(name, usage);
                continue;
            }
            let usage = match child.kind {
                Kind::Dir => match parse_submission(student, &name) {
                    Ok(parsed) => {
                        present.insert(name.clone());
                        let look = Look {
                            seen_at: &seen_at,
                            mem,
                            budget: &budget,
                        };
                        self.submission(student, child, &parsed, &look, &mut report)
                    }
                    Err(why) => {
                        self.warn(&mut report, student, &child.path, why);
                        cached(&name)
                            .filter(|_| !recheck)
                            .unwrap_or_else(|| usage_of(child))
                    }
                },
                Kind::File => usage_of(child),
                other => {
                    let why = format!("a {} is not a submission", other.describe());
                    self.warn(&mut report, student, &child.path, why);
                    Usage::default()
                }
            };
            entries.insert(name, usage);
        }
        for (sub, seal) in self.state.seals_of(student) {
            if seal.state == SealState::Vanished || present.contains(sub) {
                continue;
            }
            let key = (student.to_string(), sub.to_string());
            if self.removed(&key) {
                continue;
            }
            // An instructor's removal moves the dir before its log line is written.
            let moved = self.course.removed().join(student).join(sub);
            match walk::kind_of(&moved) {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => {
                    // Cannot tell (a link in the removals' place): not vanished yet.
                    let why = why_failed(&moved, &e);
                    report.failures.push((moved, why));
                    continue;
                }
            }
            report.records.push(record(
                "vanished",
                json!({"student": student, "assignment": seal.assignment, "submission": sub}),
            ));
        }
        report.entries = Some(entries);
        report
    }

    /// The second half of a recheck pass: re-digest the sealed submissions the first half
    /// just listed in this inbox (`mem`), within the inbox's budget, without listing it
    /// again. Whatever appeared since waits for the next pass's listing; whatever went or
    /// is no longer a directory is left to it too.
    pub fn redigest(&self, student: &str, mem: &Inbox) -> InboxReport {
        super::metrics::progress();
        let mut report = InboxReport {
            too_big: mem.too_big.clone(),
            ..InboxReport::default()
        };
        let seen_at = now();
        let budget = Cell::new(self.settings.per_inbox);
        let dir = self.course.inbound().join(student);
        let mut entries = mem.entries.clone();
        for (name, usage) in entries.iter_mut() {
            let key = (student.to_string(), name.clone());
            if !self.state.seals.contains_key(&key) {
                continue;
            }
            let Ok(parsed) = parse_submission(student, name) else {
                continue;
            };
            let path = dir.join(name);
            let child = match walk::look(&path) {
                Ok(Some(child)) if child.kind == Kind::Dir => child,
                Ok(_) => continue,
                Err(e) => {
                    let why = why_failed(&path, &e);
                    report.failures.push((path, why));
                    continue;
                }
            };
            let look = Look {
                seen_at: &seen_at,
                mem: Some(mem),
                budget: &budget,
            };
            *usage = self.submission(student, &child, &parsed, &look, &mut report);
        }
        report.entries = Some(entries);
        report
    }

    /// A submission dir in the listing: seal it when new, re-digest it on a recheck (or
    /// when an earlier recheck left it), each within the inbox's budget for the pass.
    fn submission(
        &self,
        student: &str,
        child: &Seen,
        parsed: &exchange_core::names::SubmissionName,
        look: &Look<'_>,
        report: &mut InboxReport,
    ) -> Usage {
        let name = child.name.as_str();
        let key = (student.to_string(), name.to_string());
        let cached = look.mem.and_then(|m| m.entries.get(name)).copied();
        if let Some(seal) = self.state.seals.get(&key) {
            if seal.state == SealState::Vanished {
                return self.returned(student, child, parsed, seal, look, report);
            }
            // Not what the first half of this pass just sealed: it was digested then.
            let due = (self.settings.redigest && seal.seq < self.settings.sealed_before)
                || look.mem.is_some_and(|m| m.redigest_due.contains(name));
            if !due || seal.state == SealState::Vanished {
                return cached.unwrap_or_else(|| usage_of(child));
            }
            if !look.spend() {
                report.deferred = true;
                report.redigest_due.insert(name.to_string());
                return cached.unwrap_or_else(|| usage_of(child));
            }
            let Some(manifest) = self.digest(student, child, look, report) else {
                return cached.unwrap_or_else(|| usage_of(child));
            };
            let receipt = manifest.receipt();
            if receipt != seal.current {
                report.records.push(record(
                    "changed",
                    json!({"student": student, "assignment": parsed.assignment,
                           "submission": name, "receipt": receipt, "was": seal.current,
                           "files": files_json(&manifest)}),
                ));
            }
            return manifest_usage(&manifest);
        }
        if self.removed(&key) {
            return cached.unwrap_or_else(|| usage_of(child));
        }
        let stamp = Stamp::of(child);
        if !self.settings.recheck && look.mem.and_then(|m| m.too_big.get(name)) == Some(&stamp) {
            // Over a cap when last counted, and unchanged since: costs nothing this pass.
            report.too_big.insert(name.to_string(), stamp);
            return cached.unwrap_or_default();
        }
        if !look.spend() {
            report.deferred = true;
            return cached.unwrap_or_default();
        }
        let Some(manifest) = self.digest(student, child, look, report) else {
            return cached.unwrap_or_else(|| usage_of(child));
        };
        let receipt = manifest.receipt();
        let copy = if self.settings.keep_sealed {
            match publish::keep_copy(self.course, student, name, &child.path, &receipt) {
                Ok(copy) => Some(copy),
                Err(why) => {
                    self.warn(
                        report,
                        student,
                        &child.path,
                        format!("no sealed copy: {why}"),
                    );
                    None
                }
            }
        } else {
            None
        };
        let mut fields = json!({
            "student": student, "assignment": parsed.assignment, "submission": name,
            "claimed": parsed.timestamp, "sealed": look.seen_at, "receipt": receipt,
            "bytes": manifest.bytes(), "files": files_json(&manifest),
            "skipped": manifest.skipped,
        });
        if let Some(copy) = copy {
            fields["copy"] = copy.into();
        }
        let mut rec = record("seal", fields);
        // The record's time is when the notary saw it, like `sealed`.
        rec.insert("time".into(), look.seen_at.into());
        report.records.push(rec);
        manifest_usage(&manifest)
    }

    /// A sealed submission seen again after it vanished (moved to a dot name or away, then
    /// back): re-digested in the pass that sees it, whatever the recheck cadence, and
    /// recorded `returned` with what it holds now and whether that is what was sealed (an
    /// edit made while it was hidden left no trace in any recheck).
    fn returned(
        &self,
        student: &str,
        child: &Seen,
        parsed: &exchange_core::names::SubmissionName,
        seal: &super::state::Seal,
        look: &Look<'_>,
        report: &mut InboxReport,
    ) -> Usage {
        let cached = look.mem.and_then(|m| m.entries.get(&child.name)).copied();
        if !look.spend() {
            // Still `vanished` in the ledger: the next pass looks again.
            report.deferred = true;
            return cached.unwrap_or_else(|| usage_of(child));
        }
        let Some(manifest) = self.digest(student, child, look, report) else {
            return cached.unwrap_or_else(|| usage_of(child));
        };
        let receipt = manifest.receipt();
        report.records.push(record(
            "returned",
            json!({"student": student, "assignment": parsed.assignment,
                   "submission": child.name, "receipt": receipt,
                   "matches": receipt == seal.receipt, "files": files_json(&manifest)}),
        ));
        manifest_usage(&manifest)
    }

    /// The manifest of the submission `child`; None when it cannot be made. One found over
    /// a cap is remembered with its stamp and reported once; until its stamp moves (or a
    /// recheck, which counts it again by `stat` alone) it is not looked at again.
    fn digest(
        &self,
        student: &str,
        child: &Seen,
        look: &Look<'_>,
        report: &mut InboxReport,
    ) -> Option<Manifest> {
        let name = child.name.as_str();
        let stamp = Stamp::of(child);
        let known = look.mem.and_then(|m| m.too_big.get(name)) == Some(&stamp);
        let dir = &child.path;
        match Manifest::of(dir, self.settings.max_files, self.settings.max_bytes) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == "too_big" => {
                report.too_big.insert(name.to_string(), stamp);
                if !known {
                    report.too_big_found.push(json!({
                        "course": self.course_id, "student": student, "path": dir,
                        "why": format!("not sealed: {e}"),
                    }));
                }
                None
            }
            Err(e) => {
                // Gone since the listing: the next look records it as vanished.
                if e.kind() != "not_found" && walk::kind_of(dir).ok().flatten().is_some() {
                    self.warn(report, student, dir, format!("cannot digest it: {e}"));
                }
                None
            }
        }
    }
    fn fetch_markers(&self, student: &str, dir: &Path, report: &mut InboxReport) {
        let markers = match walk::children(dir) {
            Ok(markers) => markers,
            Err(e) => {
                report
                    .failures
                    .push((dir.to_path_buf(), why_failed(dir, &e)));
                return;
            }
        };
        for m in markers {
            if m.kind != Kind::File || m.name.starts_with('.') {
                continue;
            }
            let Some((assignment, ts)) = m.name.split_once('+') else {
                continue;
            };
            if problem(IdKind::Assignment, assignment).is_some() || timestamp::parse(ts).is_err() {
                continue;
            }
            if self
                .state
                .fetched
                .contains(&(student.to_string(), m.name.clone()))
            {
                continue;
            }
            report.records.push(record(
                "fetched",
                json!({"student": student, "assignment": assignment, "reported": ts}),
            ));
        }
    }
}

fn files_json(m: &Manifest) -> Value {
    m.files
        .iter()
        .map(|f| json!({"path": f.path, "size": f.size, "sha256": f.sha256}))
        .collect()
}

fn manifest_usage(m: &Manifest) -> Usage {
    Usage {
        bytes: m.bytes(),
        files: m.files.len() as u64,
    }
}

/// Bytes and regular files at or below `seen` (never following a link).
fn usage_of(seen: &Seen) -> Usage {
    match seen.kind {
        Kind::File => Usage {
            bytes: seen.size,
            files: 1,
        },
        Kind::Dir => {
            let mut u = Usage::default();
            walk::scan(&seen.path, &mut |s| {
                if s.kind == Kind::File {
                    u.bytes += s.size;
                    u.files += 1;
                }
                true
            });
            u
        }
        _ => Usage::default(),
    }
}
