//! `nbgrader-k8s notary verify [COURSE] [--heads FILE...]`: recompute every chain, and
//! check the heads students were shown (docs/notary.md §5) against it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use exchange_core::ids::{validate, IdKind};
use exchange_core::receipt::sha256_hex;
use exchange_core::walk::{self, Kind};
use serde_json::{json, Value};

use super::ledger::{self, Line};
use super::notary_home;
use crate::output::{print_json, say};

/// `notary verify` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Check the ledgers' hash chains, and the chain heads students were shown",
    long_about = "Recompute the hash chain of COURSE's ledger (every course's without COURSE) \
        in {root}/.nbk8s-notary/: a record edited, deleted, inserted or moved breaks it, and \
        the failure names the course, the record's seq and its line. What the chain cannot \
        see: records cut off its end, or a ledger rewritten and chained anew (the chain is \
        not signed). --heads compares the heads a student's client kept \
        ({cache}/{course}/.nbk8s-heads.jsonl, one {\"seq\",\"head\",\"seen\"} per line) \
        with the ledger: a head it does not hold at that seq is NOT IN THIS LEDGER, which \
        means either the ledger was cut or rewritten, or the heads file is not genuine (a \
        student can write any heads file): unsigned heads cannot tell which. A torn last \
        line (a notary writing, or killed while writing) is reported, not failed: the \
        notary cuts it on restart.",
    after_help = "Examples:\n  \
        nbgrader-k8s notary verify\n  \
        nbgrader-k8s notary verify course101 --heads alice-heads.jsonl bob-heads.jsonl\n\n\
        Exit status: 0 every chain and head checks, 3 one does not, 1 error."
)]
pub struct VerifyArgs {
    /// Course id (default: every course with a ledger).
    pub course: Option<String>,
    /// Heads files kept by students' clients (the course is COURSE, or the file's directory
    /// name).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub heads: Vec<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What verifying one course found.
struct CourseCheck {
    course: String,
    records: usize,
    head: String,
    torn: bool,
    /// The chain does not verify: the ledger was edited (proof).
    failures: Vec<String>,
    /// Heads the ledger does not hold: a cut or rewritten ledger, or a made-up heads file.
    not_in_ledger: Vec<String>,
}

/// What no check here can see, said after the results.
const CANNOT_SEE: &str = "what verify cannot see: records cut off the end of a ledger, or a \
    ledger rewritten and chained anew, unless a student's heads file shows a head it lacks; \
    and heads are not signed, so a head the ledger lacks may as well be made up \
    (docs/notary.md, \"What verify can and cannot see\")";

/// Run `notary verify`.
pub fn run(root: &Path, args: &VerifyArgs) -> anyhow::Result<u8> {
    let home = notary_home(root);
    let mut courses: Vec<String> = match &args.course {
        Some(c) => {
            validate(IdKind::Course, c)?;
            vec![c.clone()]
        }
        None => walk::children(&home)
            .with_context(|| format!("no notary ledgers under {}", home.display()))?
            .into_iter()
            .filter(|c| c.kind == Kind::Dir && !c.name.starts_with('.'))
            .map(|c| c.name)
            .collect(),
    };
    let mut heads: Vec<(String, PathBuf)> = Vec::new();
    for file in &args.heads {
        let course = match &args.course {
            Some(c) => c.clone(),
            None => file
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| validate(IdKind::Course, n).is_ok())
                .with_context(|| format!("which course is {} for? give COURSE", file.display()))?,
        };
        if !courses.contains(&course) {
            courses.push(course.clone());
        }
        heads.push((course, file.clone()));
    }
    courses.sort();
    let mut checks = Vec::new();
    for course in &courses {
        let (scanned, torn) =
            ledger::read(&home.join(course)).with_context(|| format!("course {course:?}"))?;
        let mut failures = Vec::new();
        if let Err(why) = ledger::check_chain(&scanned.lines) {
            failures.push(why);
        }
        let mut not_in_ledger = Vec::new();
        for (_, file) in heads.iter().filter(|(c, _)| c == course) {
            not_in_ledger.extend(check_heads(file, &scanned.lines)?);
        }
        checks.push(CourseCheck {
            course: course.clone(),
            records: scanned.lines.len(),
            head: scanned
                .lines
                .last()
                .map_or_else(|| ledger::ZERO_HEAD.to_string(), |l| sha256_hex(&l.bytes)),
            torn,
            failures,
            not_in_ledger,
        });
    }
    let failed = checks
        .iter()
        .any(|c| !c.failures.is_empty() || !c.not_in_ledger.is_empty());
    if args.json {
        print_json(&json!({
            "ok": !failed,
            "courses": checks.iter().map(|c| json!({
                "course": c.course, "records": c.records, "head": c.head,
                "torn_last_line": c.torn, "failures": c.failures,
                "heads_not_in_ledger": c.not_in_ledger,
            })).collect::<Vec<_>>(),
            "cannot_see": CANNOT_SEE,
        }))?;
    } else {
        for c in &checks {
            if c.failures.is_empty() && c.not_in_ledger.is_empty() {
                say!(
                    "{}: ok, {} records, head {}{}",
                    c.course,
                    c.records,
                    c.head,
                    if c.torn {
                        " (a torn last line follows: the notary cuts it on restart)"
                    } else {
                        ""
                    }
                );
            }
            for f in &c.failures {
                say!("{}: FAILED: {f}", c.course);
            }
            for f in &c.not_in_ledger {
                say!("{}: NOT IN THIS LEDGER: {f}", c.course);
            }
        }
        say!("note: {CANNOT_SEE}");
    }
    Ok(if failed { crate::EXIT_FINDINGS } else { 0 })
}

/// Check one heads file against the ledger's lines.
fn check_heads(file: &Path, lines: &[Line]) -> anyhow::Result<Vec<String>> {
    let text = match walk::read_regular(file, 64 << 20) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(None) => bail!("{} is not a regular file", file.display()),
        Err(e) => bail!("cannot read {}: {e}", file.display()),
    };
    let mut failures = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let where_ = format!("{} line {}", file.display(), i + 1);
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => bail!("{where_} is not JSON ({e})"),
        };
        let (Some(seq), Some(head)) = (
            v.get("seq").and_then(Value::as_u64),
            v.get("head").and_then(Value::as_str),
        ) else {
            bail!("{where_} has no seq and head");
        };
        let seen = v.get("seen").and_then(Value::as_str).unwrap_or("?");
        let either = "either the ledger was cut or rewritten, or the heads file is not \
            genuine: unsigned heads cannot tell which";
        match lines.get(seq as usize) {
            None => failures.push(format!(
                "{where_} holds head {head} at seq {seq} (seen {seen}), past the ledger's \
                 {} records: {either}",
                lines.len()
            )),
            Some(l) if sha256_hex(&l.bytes) != head => failures.push(format!(
                "{where_} holds head {head} at seq {seq} (seen {seen}), not the head of the \
                 ledger's record seq {seq} (line {}): {either}",
                l.number
            )),
            Some(_) => {}
        }
    }
    Ok(failures)
}
