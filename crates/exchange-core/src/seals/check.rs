//! No copy used unchecked (docs/notary.md §6, docs/security.md): the index in
//! `{course}/.nbk8s-notary/` is writable by the course's instructors, so before collect or
//! `list --inbound` acts on an entry it is checked against other notary-written data, and
//! an entry that does not match is refused with a warning naming it.
//!
//! An instructor's pod has no ledger. What it has besides the index is each student's
//! confirmation (`feedback_public/{s}/.nbk8s-seals.json`), which the notary writes in the
//! same pass and which the student reads (and whose chain heads their client keeps): an
//! index entry is used only when the student's confirmation holds the same submission with
//! the same assignment, claim, sealed time and receipt. This catches an index edited alone;
//! someone who edits both consistently is caught by `audit`, which checks the index
//! against the ledger itself ([`SealIndex::differences`]), and for good only once the
//! notary signs what it writes.

use std::collections::BTreeSet;

use crate::layout::Course;

use super::{format_time, Confirmations, Seal, SealIndex};

/// How a sealed submission that is gone is named (docs/receipts.md): "deleted after it was
/// sealed at T (receipt R)", with when the notary noticed.
pub fn deleted_note(seal: &Seal) -> String {
    let noticed = seal
        .changed_at
        .map(|t| format!(", noticed {}", format_time(&t)))
        .unwrap_or_default();
    format!(
        "deleted after it was sealed at {} (receipt {}{noticed})",
        format_time(&seal.sealed),
        crate::receipt::short(&seal.receipt)
    )
}

/// What differs between two records of one seal (the fields that never change after it);
/// None when they agree.
fn differs(a: &Seal, b: &Seal) -> Option<&'static str> {
    if a.assignment != b.assignment {
        Some("assignment")
    } else if a.claimed != b.claimed {
        Some("claimed time")
    } else if a.sealed != b.sealed {
        Some("sealed time")
    } else if a.receipt != b.receipt {
        Some("receipt")
    } else {
        None
    }
}

impl SealIndex {
    /// Check the entries of `students` against their confirmations (read in parallel, one
    /// small file each): an entry missing there, or differing in its assignment, claim or
    /// receipt, is dropped (the submission is judged as not sealed); one differing only in
    /// its sealed time is kept with the later of the two; a seal the confirmation holds and
    /// the index lacks is taken from the confirmation; a deadline snapshot whose submission
    /// or receipt is not a checked seal is dropped. Each is a warning naming the entry.
    /// Where the two disagree on a seal's state, the one that says it is not as sealed
    /// stands (the index is written just before the confirmations).
    pub fn cross_check(
        &mut self,
        course: &Course,
        students: &[String],
        warnings: &mut Vec<String>,
    ) {
        let loaded = crate::par::map(students, 16, |s| Confirmations::load(course, s));
        for (student, confirmations) in students.iter().zip(loaded) {
            let names: Vec<String> = self
                .of_student(student)
                .map(|s| s.submission.clone())
                .collect();
            let confirmations = match confirmations {
                Ok(Some(c)) => c,
                Ok(None) if names.is_empty() => continue,
                found => {
                    let why = match found {
                        Err(e) => format!("it cannot be read ({e})"),
                        _ => "there is none".to_string(),
                    };
                    warnings.push(format!(
                        "student {student:?}: refused the notary's index entries for {} in {}: \
                         they cannot be checked against the student's confirmation {}: {why}; \
                         judged as not sealed",
                        names.join(", "),
                        Self::path(course).display(),
                        Confirmations::path(course, student).display()
                    ));
                    for name in names {
                        self.seals.remove(&(student.clone(), name));
                    }
                    continue;
                }
            };
            let mut refusal = |what: String| {
                warnings.push(format!(
                    "student {student:?}: {what} ({} against {})",
                    Self::path(course).display(),
                    Confirmations::path(course, student).display()
                ));
            };
            let mut refused = BTreeSet::new();
            for name in names {
                if !self.check_entry(student, &name, &confirmations, &mut refusal) {
                    refused.insert(name);
                }
            }
            for seal in &confirmations.seals {
                let key = (student.clone(), seal.submission.clone());
                if !self.seals.contains_key(&key) && !refused.contains(&seal.submission) {
                    refusal(format!(
                        "the notary's index lacks {student}/{}, which the student's \
                         confirmation holds: that seal is used",
                        seal.submission
                    ));
                    self.seals.insert(key, seal.clone());
                }
            }
            self.check_snapshots(course, student, warnings);
        }
    }

    /// Check the entry `student/name` against the student's `confirmations`; false when
    /// it is refused (and dropped).
    fn check_entry(
        &mut self,
        student: &str,
        name: &str,
        confirmations: &Confirmations,
        refusal: &mut dyn FnMut(String),
    ) -> bool {
        let key = (student.to_string(), name.to_string());
        let Some(confirmed) = confirmations.seals.iter().find(|c| c.submission == name) else {
            refusal(format!(
                "refused the notary's index entry {student}/{name}: it is not in the \
                 student's confirmation; judged as not sealed"
            ));
            self.seals.remove(&key);
            return false;
        };
        let seal = self.seals.get_mut(&key).expect("an entry");
        match differs(seal, confirmed) {
            None => {}
            Some("sealed time") => {
                seal.sealed = seal.sealed.max(confirmed.sealed);
                refusal(format!(
                    "the notary's index entry {student}/{name} does not give the sealed time \
                     the student's confirmation gives: the later, {}, is used",
                    format_time(&seal.sealed)
                ));
            }
            Some(field) => {
                refusal(format!(
                    "refused the notary's index entry {student}/{name}: its {field} is not \
                     the one in the student's confirmation; judged as not sealed"
                ));
                self.seals.remove(&key);
                return false;
            }
        }
        if seal.state == "sealed" && confirmed.state != "sealed" {
            seal.state = confirmed.state.clone();
        }
        true
    }

    /// Drop `student`'s deadline snapshots that do not stand for one of their checked seals
    /// of that assignment with the same receipt.
    fn check_snapshots(&mut self, course: &Course, student: &str, warnings: &mut Vec<String>) {
        let keys: Vec<(String, String)> = self
            .deadlines
            .keys()
            .filter(|(s, _)| s == student)
            .cloned()
            .collect();
        for key in keys {
            let snap = &self.deadlines[&key];
            let Some(name) = snap.submission.as_deref() else {
                continue;
            };
            let seal = self.get(student, name);
            let ok = seal.is_some_and(|s| {
                s.assignment == key.1 && snap.receipt.as_deref() == Some(s.receipt.as_str())
            });
            if !ok {
                warnings.push(format!(
                    "student {student:?}: refused the notary's deadline snapshot entry {}/{} in \
                     {}: submission {name} with that receipt is not a checked seal of theirs",
                    key.0,
                    key.1,
                    Self::path(course).display()
                ));
                self.deadlines.remove(&key);
            }
        }
    }

    /// Where this index (the instructors' copy) differs from `truth` (the one the ledger
    /// gives): `(entry, what differs, settled)` for each seal or deadline snapshot, sorted.
    /// `settled` is false where the difference is one a notary writing its next index
    /// shows for a moment (a seal or state the ledger has and the index not yet).
    pub fn differences(&self, truth: &SealIndex) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        let keys: BTreeSet<&(String, String)> =
            self.seals.keys().chain(truth.seals.keys()).collect();
        for key in keys {
            let entry = format!("{}/{}", key.0, key.1);
            let (why, settled) = match (self.seals.get(key), truth.seals.get(key)) {
                (Some(_), None) => ("the ledger holds no such seal".to_string(), true),
                (None, Some(_)) => ("missing (the ledger has it)".to_string(), false),
                (Some(a), Some(b)) => match differs(a, b) {
                    Some(field) => (format!("its {field} is not the ledger's"), true),
                    None if a.state != b.state => (
                        format!("its state is {:?}, the ledger's {:?}", a.state, b.state),
                        false,
                    ),
                    None => continue,
                },
                (None, None) => continue,
            };
            out.push((entry, why, settled));
        }
        let keys: BTreeSet<&(String, String)> = self
            .deadlines
            .keys()
            .chain(truth.deadlines.keys())
            .collect();
        for key in keys {
            let (a, b) = (self.deadlines.get(key), truth.deadlines.get(key));
            let same = match (a, b) {
                (Some(a), Some(b)) => {
                    (a.due, &a.submission, &a.receipt, &a.copy)
                        == (b.due, &b.submission, &b.receipt, &b.copy)
                }
                _ => false,
            };
            if !same {
                let entry = format!("deadlines {}/{}", key.0, key.1);
                let why = "not the ledger's deadline snapshot".to_string();
                out.push((entry, why, a.is_some()));
            }
        }
        out
    }

    /// `student`'s sealed submissions that are gone from their inbox by the student's doing
    /// (not an instructor's removal) and not among `present`: "deleted after it was sealed".
    pub fn deleted<'a>(
        &'a self,
        student: &'a str,
        present: &'a BTreeSet<&str>,
    ) -> impl Iterator<Item = &'a Seal> {
        self.of_student(student).filter(move |s| {
            s.state == "vanished" && !s.removed && !present.contains(s.submission.as_str())
        })
    }
}
