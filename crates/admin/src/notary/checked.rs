//! The notary's index for the commands that run with the whole volume (`audit`, `status`):
//! rebuilt from the ledger itself, which no course's instructor can reach, and compared with
//! the instructors' copy (`{course}/.nbk8s-notary/index.json`), whose differences are
//! reported (docs/security.md). No copy is used unchecked: where the two differ, the
//! ledger's word is used.

use std::path::Path;

use anyhow::Context;
use exchange_core::layout::Course;
use exchange_core::seals::SealIndex;

use super::state::CourseState;
use super::{ledger, notary_home, publish};

/// The index a command acts on, and where the course's copy of it differs.
#[derive(Debug, Default)]
pub struct Checked {
    /// The seals as the ledger has them (None: no ledger, and no index either).
    pub index: Option<SealIndex>,
    /// `(entry, what differs, settled)` (see [`SealIndex::differences`]); an index with no
    /// ledger at all is one entry `("index.json", ...)`.
    pub differences: Vec<(String, String, bool)>,
}

/// The index of `course` (id `course_id`) from its ledger under `{root}/.nbk8s-notary/`,
/// checked against the copy in the course. Without a ledger that can be read (a link in
/// its way is refused), the copy is not used at all.
pub fn checked_index(root: &Path, course: &Course, course_id: &str) -> Checked {
    let copy = SealIndex::load(course);
    let dir = notary_home(root).join(course_id);
    match from_ledger(&dir, course_id) {
        Ok(Some(truth)) => {
            let differences = compare(copy, &truth);
            Checked {
                index: Some(truth),
                differences,
            }
        }
        Ok(None) => Checked {
            index: None,
            differences: match copy {
                Ok(None) => Vec::new(),
                _ => vec![(
                    publish::INDEX_FILE.to_string(),
                    "there is no ledger of this course to check it against: not used".into(),
                    true,
                )],
            },
        },
        Err(e) => Checked {
            index: None,
            differences: vec![(
                publish::INDEX_FILE.to_string(),
                format!("not checked, so not used: {e:#}"),
                true,
            )],
        },
    }
}

/// The seals the ledger in `dir` holds (None: there is no ledger).
fn from_ledger(dir: &Path, course_id: &str) -> anyhow::Result<Option<SealIndex>> {
    let has_ledger = exchange_core::walk::kind_of(&dir.join(ledger::LEDGER_FILE))
        .with_context(|| format!("cannot inspect the notary's ledger in {}", dir.display()))?
        .is_some();
    if !has_ledger {
        return Ok(None);
    }
    let (scanned, _torn) = ledger::read(dir)?;
    let mut state = CourseState::default();
    for line in &scanned.lines {
        state.apply(&line.record);
    }
    let doc = publish::index_doc(course_id, &state, "", state.last_seq);
    SealIndex::from_doc(&doc, &dir.join(ledger::LEDGER_FILE))
        .map(Some)
        .context("cannot read the ledger's seals")
}

/// Where the course's `copy` differs from `truth`.
fn compare(
    copy: exchange_core::error::Result<Option<SealIndex>>,
    truth: &SealIndex,
) -> Vec<(String, String, bool)> {
    match copy {
        Ok(Some(copy)) => copy.differences(truth),
        Ok(None) if truth.all().is_empty() => Vec::new(),
        Ok(None) => vec![(
            publish::INDEX_FILE.to_string(),
            format!(
                "missing, though the ledger holds {} seals (collect and list --inbound then \
                 see nothing sealed)",
                truth.all().len()
            ),
            true,
        )],
        Err(e) => vec![(
            publish::INDEX_FILE.to_string(),
            format!("cannot be read ({e}): the ledger's seals are used"),
            true,
        )],
    }
}
