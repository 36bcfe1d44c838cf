//! What the notary knows of a course, rebuilt by replaying its ledger: the ledger is the
//! only truth, so a restart cannot re-seal or forget anything that was written.

use std::collections::{BTreeMap, BTreeSet};

use exchange_core::backdate::DuePasses;
use exchange_core::deadlines;
use serde_json::{json, Value};

/// What became of a sealed submission since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealState {
    /// As sealed (as far as the last look showed).
    Sealed,
    /// Its files changed after the seal.
    Changed,
    /// It is gone (deleted by the student or an instructor).
    Vanished,
}

impl SealState {
    /// The name used on disk.
    pub fn name(self) -> &'static str {
        match self {
            SealState::Sealed => "sealed",
            SealState::Changed => "changed",
            SealState::Vanished => "vanished",
        }
    }
}

/// One sealed submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Assignment id.
    pub assignment: String,
    /// The timestamp its name claims, as written there.
    pub claimed: String,
    /// When the notary first saw it.
    pub sealed: String,
    /// The receipt at the seal.
    pub receipt: String,
    /// The receipt last observed (differs after a change).
    pub current: String,
    /// What became of it.
    pub state: SealState,
    /// When a change or disappearance was first recorded.
    pub changed_at: Option<String>,
    /// The sealed copy, relative to `{course}/.nbk8s-notary/`.
    pub copy: Option<String>,
    /// When it was last seen back after it vanished (a `returned` record).
    pub returned: Option<String>,
    /// seq of the seal record.
    pub seq: u64,
}

/// A deadline snapshot (a `deadline_snapshot` record): what the notary kept of one
/// student's assignment at their due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The due date it was taken for (RFC 3339).
    pub due: String,
    /// When it was taken.
    pub taken: String,
    /// The submission kept (None: nothing was on time).
    pub submission: Option<String>,
    /// Its sealed receipt.
    pub receipt: Option<String>,
    /// The copy, relative to `{course}/.nbk8s-notary/` (None: it could not be kept).
    pub copy: Option<String>,
}

impl Snapshot {
    /// The entry of `deadlines` in index.json (docs/notary.md §2).
    pub fn index_json(&self) -> Value {
        json!({
            "due": self.due,
            "taken": self.taken,
            "submission": self.submission,
            "receipt": self.receipt,
            "copy": self.copy,
        })
    }
}

/// A course as the ledger tells it.
#[derive(Debug, Default)]
pub struct CourseState {
    /// (student, submission dir name) -> seal.
    pub seals: BTreeMap<(String, String), Seal>,
    /// Assignments seen released (and not withdrawn since).
    pub released: BTreeSet<String>,
    /// (student, feedback key) seen released.
    pub feedback: BTreeSet<(String, String)>,
    /// (student, fetch marker name) recorded.
    pub fetched: BTreeSet<(String, String)>,
    /// (student, submission) an instructor removed.
    pub removed: BTreeSet<(String, String)>,
    /// (student, assignment) -> the last deadline snapshot taken.
    pub snapshots: BTreeMap<(String, String), Snapshot>,
    /// Due date (RFC 3339) -> the pass that covered it: (started, completed), from the
    /// `due_pass` records.
    pub due_passes: BTreeMap<String, (String, String)>,
    /// Lines of `removals.jsonl` already taken in.
    pub removals_done: u64,
    /// seq of the last record applied.
    pub last_seq: Option<u64>,
}

fn text(rec: &Value, key: &str) -> String {
    rec.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl CourseState {
    /// Take in one record (as replayed from the ledger, or just appended to it).
    pub fn apply(&mut self, rec: &Value) {
        self.last_seq = rec.get("seq").and_then(Value::as_u64).or(self.last_seq);
        let student = text(rec, "student");
        let key = (student.clone(), text(rec, "submission"));
        let time = text(rec, "time");
        match rec.get("event").and_then(Value::as_str).unwrap_or_default() {
            "seal" => {
                let receipt = text(rec, "receipt");
                self.seals.insert(
                    key,
                    Seal {
                        assignment: text(rec, "assignment"),
                        claimed: text(rec, "claimed"),
                        sealed: text(rec, "sealed"),
                        current: receipt.clone(),
                        receipt,
                        state: SealState::Sealed,
                        changed_at: None,
                        copy: rec.get("copy").and_then(Value::as_str).map(str::to_string),
                        returned: None,
                        seq: self.last_seq.unwrap_or(0),
                    },
                );
            }
            "changed" => {
                if let Some(seal) = self.seals.get_mut(&key) {
                    seal.current = text(rec, "receipt");
                    seal.state = SealState::Changed;
                    seal.changed_at.get_or_insert(time);
                }
            }
            "returned" => {
                // Back under its name: what it holds now decides its state. A differing
                // digest is a change, noticed now.
                self.removed.remove(&key);
                if let Some(seal) = self.seals.get_mut(&key) {
                    let matches = rec.get("matches").and_then(Value::as_bool) == Some(true);
                    seal.current = text(rec, "receipt");
                    seal.state = if matches {
                        SealState::Sealed
                    } else {
                        SealState::Changed
                    };
                    seal.changed_at = (!matches).then(|| time.clone());
                    seal.returned = Some(time);
                }
            }
            event @ ("vanished" | "removed") => {
                if event == "removed" {
                    self.removed.insert(key.clone());
                    if let Some(line) = rec.get("line").and_then(Value::as_u64) {
                        self.removals_done = self.removals_done.max(line + 1);
                    }
                }
                if let Some(seal) = self.seals.get_mut(&key) {
                    seal.state = SealState::Vanished;
                    seal.changed_at.get_or_insert(time);
                }
            }
            "released" => {
                self.released.insert(text(rec, "assignment"));
            }
            "withdrawn" => {
                self.released.remove(&text(rec, "assignment"));
            }
            "feedback_released" => {
                self.feedback.insert((student, text(rec, "key")));
            }
            "deadline_snapshot" => {
                let opt = |k: &str| rec.get(k).and_then(Value::as_str).map(str::to_string);
                self.snapshots.insert(
                    (student, text(rec, "assignment")),
                    Snapshot {
                        due: text(rec, "due"),
                        taken: time,
                        submission: opt("submission"),
                        receipt: opt("receipt"),
                        copy: opt("copy"),
                    },
                );
            }
            "due_pass" => {
                let started = text(rec, "started");
                self.due_passes
                    .entry(text(rec, "due"))
                    .or_insert((started, time));
            }
            "fetched" => {
                let marker = format!("{}+{}", text(rec, "assignment"), text(rec, "reported"));
                self.fetched.insert((student, marker));
            }
            _ => {}
        }
    }

    /// When the pass covering each due date completed, as the seal rule reads it
    /// ([`exchange_core::backdate::seal_refutes`]).
    pub fn covered(&self) -> DuePasses {
        self.due_passes
            .iter()
            .filter_map(|(due, (_, completed))| {
                Some((
                    deadlines::parse_rfc3339(due)?,
                    deadlines::parse_rfc3339(completed)?,
                ))
            })
            .collect()
    }

    /// The entry of `due_passes` in index.json (docs/notary.md §2).
    pub fn due_passes_json(&self) -> Value {
        self.due_passes
            .iter()
            .map(|(due, (started, completed))| {
                (
                    due.clone(),
                    json!({"started": started, "completed": completed}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// The seals of `student`, by submission name.
    pub fn seals_of<'a>(&'a self, student: &'a str) -> impl Iterator<Item = (&'a str, &'a Seal)> {
        self.seals
            .range((student.to_string(), String::new())..)
            .take_while(move |((s, _), _)| s == student)
            .map(|((_, sub), seal)| (sub.as_str(), seal))
    }

    /// How many seals are in each state: (sealed, changed, vanished).
    pub fn counts(&self) -> (u64, u64, u64) {
        let mut c = (0, 0, 0);
        for seal in self.seals.values() {
            match seal.state {
                SealState::Sealed => c.0 += 1,
                SealState::Changed => c.1 += 1,
                SealState::Vanished => c.2 += 1,
            }
        }
        c
    }
}

impl Seal {
    /// The entry of `seals` in index.json (docs/notary.md §2).
    pub fn index_json(&self) -> Value {
        json!({
            "assignment": self.assignment,
            "claimed": self.claimed,
            "sealed": self.sealed,
            "receipt": self.receipt,
            "state": self.state.name(),
            "changed_at": self.changed_at,
            "returned": self.returned,
            "copy": self.copy,
        })
    }

    /// An entry of `seals` in a student's confirmation (docs/notary.md §3).
    pub fn confirmation_json(&self, submission: &str) -> Value {
        json!({
            "submission": submission,
            "assignment": self.assignment,
            "claimed": self.claimed,
            "sealed": self.sealed,
            "receipt": self.receipt,
            "state": self.state.name(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_follows_a_submission_through_its_life() {
        let mut s = CourseState::default();
        let sub = "ps1+2026-12-01 10:00:00.000000 UTC+abc";
        s.apply(
            &json!({"seq": 0, "time": "T0", "event": "seal", "student": "a+b",
            "assignment": "ps1", "submission": sub, "claimed": "2026-12-01 10:00:00.000000 UTC",
            "sealed": "T0", "receipt": "r1"}),
        );
        s.apply(
            &json!({"seq": 1, "time": "T1", "event": "changed", "student": "a+b",
            "submission": sub, "receipt": "r2", "was": "r1"}),
        );
        s.apply(
            &json!({"seq": 2, "time": "T2", "event": "changed", "student": "a+b",
            "submission": sub, "receipt": "r3", "was": "r2"}),
        );
        let seal = &s.seals[&("a+b".to_string(), sub.to_string())];
        assert_eq!((seal.receipt.as_str(), seal.current.as_str()), ("r1", "r3"));
        assert_eq!(seal.state, SealState::Changed);
        assert_eq!(seal.changed_at.as_deref(), Some("T1"));
        s.apply(
            &json!({"seq": 3, "time": "T3", "event": "removed", "student": "a+b",
            "submission": sub, "line": 4}),
        );
        assert_eq!(s.removals_done, 5);
        assert_eq!(s.counts(), (0, 0, 1));
        assert_eq!(s.seals_of("a+b").count(), 1);
        assert_eq!(s.seals_of("a").count(), 0);
        assert_eq!(s.last_seq, Some(3));
        s.apply(
            &json!({"seq": 4, "time": "T4", "event": "deadline_snapshot", "student": "a+b",
            "assignment": "ps1", "due": "D1", "submission": sub, "receipt": "r1",
            "copy": "deadline/a+b/ps1"}),
        );
        s.apply(
            &json!({"seq": 5, "time": "T5", "event": "deadline_snapshot", "student": "a+b",
            "assignment": "ps1", "due": "D2", "submission": null, "receipt": null, "copy": null}),
        );
        let snap = &s.snapshots[&("a+b".to_string(), "ps1".to_string())];
        assert_eq!((snap.due.as_str(), snap.taken.as_str()), ("D2", "T5"));
        assert_eq!(
            (snap.submission.as_deref(), snap.copy.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn a_returned_submission_is_sealed_or_changed_by_what_it_holds() {
        let mut s = CourseState::default();
        let sub = "ps1+T+r";
        let key = ("a".to_string(), sub.to_string());
        s.apply(
            &json!({"seq": 0, "time": "T0", "event": "seal", "student": "a",
            "assignment": "ps1", "submission": sub, "claimed": "T", "sealed": "T0",
            "receipt": "r1"}),
        );
        s.apply(
            &json!({"seq": 1, "time": "T1", "event": "vanished", "student": "a",
            "submission": sub}),
        );
        s.apply(
            &json!({"seq": 2, "time": "T2", "event": "returned", "student": "a",
            "submission": sub, "receipt": "r2", "matches": false}),
        );
        let seal = &s.seals[&key];
        assert_eq!(
            (seal.state, seal.current.as_str()),
            (SealState::Changed, "r2")
        );
        assert_eq!(seal.changed_at.as_deref(), Some("T2"));
        assert_eq!(seal.index_json()["returned"], "T2");
        s.apply(
            &json!({"seq": 3, "time": "T3", "event": "removed", "student": "a",
            "submission": sub, "line": 0}),
        );
        s.apply(
            &json!({"seq": 4, "time": "T4", "event": "returned", "student": "a",
            "submission": sub, "receipt": "r1", "matches": true}),
        );
        let seal = &s.seals[&key];
        assert_eq!(
            (seal.state, seal.changed_at.as_deref()),
            (SealState::Sealed, None)
        );
        assert!(
            !s.removed.contains(&key),
            "back from a removal: no longer removed"
        );
    }
}
