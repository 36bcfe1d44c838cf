//! `notary receipt` and `notary log`: reading a course's ledger for a person.

use std::path::Path;

use anyhow::{bail, Context};
use exchange_core::ids::{problem, validate, IdKind};
use exchange_core::receipt::{matches, short, SHORT_DIGITS};
use serde_json::{json, Value};

use super::ledger;
use super::notary_home;
use super::state::CourseState;
use crate::output::{print_json, say, say_err, Table};

/// `notary receipt` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Whether a student's receipt matches a sealed submission, and when it was sealed",
    long_about = "Look RECEIPT (the full 64 hex digits, or the short form such as \
        3f2a-9c01-77be-d410 that `nbgrader submit` prints) up among STUDENT's seals in \
        COURSE's ledger. It matches when a sealed submission had exactly those files when the \
        notary first saw it; the answer says which submission, the time its name claims, \
        when it was sealed and what became of it since. A receipt that only matches what \
        the notary saw after a change is reported as such, not as a match.",
    after_help = "Examples:\n  \
        nbgrader-k8s notary receipt course101 alice 3f2a-9c01-77be-d410\n  \
        nbgrader-k8s notary receipt course101 alice 3f2a9c0177bed410... --json\n\n\
        Exit status: 0 it matches a seal, 3 it matches none, 1 error."
)]
pub struct ReceiptArgs {
    /// Course id.
    pub course: String,
    /// Student id.
    pub student: String,
    /// The receipt, short or full (dashes, spaces and case ignored).
    pub receipt: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `notary log` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "The history of a course: seals, changes, releases, feedback, fetches, removals",
    long_about = "Print COURSE's ledger as a table, oldest first (times are the notary's \
        clock, UTC). Fetches are as reported by the student's client (a marker in their own \
        inbox), not observed by the notary.",
    after_help = "Examples:\n  \
        nbgrader-k8s notary log course101\n  \
        nbgrader-k8s notary log course101 --student alice --assignment ps1\n  \
        nbgrader-k8s notary log course101 --json"
)]
pub struct LogArgs {
    /// Course id.
    pub course: String,
    /// Only records about this student.
    #[arg(long)]
    pub student: Option<String>,
    /// Only records about this assignment.
    #[arg(long)]
    pub assignment: Option<String>,
    /// Print the records as JSON (a list, as in the ledger).
    #[arg(long)]
    pub json: bool,
}

fn records(root: &Path, course: &str) -> anyhow::Result<Vec<Value>> {
    validate(IdKind::Course, course)?;
    let (scanned, _) = ledger::read(&notary_home(root).join(course))
        .with_context(|| format!("course {course:?} has no notary ledger"))?;
    if let Err(why) = ledger::check_chain(&scanned.lines) {
        say_err!("warning: the ledger of {course:?} does not verify: {why}");
    }
    Ok(scanned.lines.into_iter().map(|l| l.record).collect())
}

fn s<'a>(rec: &'a Value, key: &str) -> &'a str {
    rec.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Run `notary receipt`.
pub fn receipt(root: &Path, args: &ReceiptArgs) -> anyhow::Result<u8> {
    if let Some(why) = problem(IdKind::Student, &args.student) {
        bail!("invalid student id {:?}: {why}", args.student);
    }
    let digits = args
        .receipt
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .count();
    if digits < SHORT_DIGITS {
        bail!(
            "{:?} is not a receipt: it needs at least {SHORT_DIGITS} hex digits",
            args.receipt
        );
    }
    let recs = records(root, &args.course)?;
    let mut state = CourseState::default();
    for r in &recs {
        state.apply(r);
    }
    let sealed: Vec<Value> = state
        .seals_of(&args.student)
        .filter(|(_, seal)| matches(&args.receipt, &seal.receipt))
        .map(|(sub, seal)| {
            let mut v = seal.index_json();
            v["submission"] = sub.into();
            v
        })
        .collect();
    let later: Vec<&Value> = recs
        .iter()
        .filter(|r| s(r, "event") == "changed" && s(r, "student") == args.student)
        .filter(|r| matches(&args.receipt, s(r, "receipt")))
        .collect();
    if args.json {
        print_json(&json!({
            "course": args.course, "student": args.student, "receipt": args.receipt,
            "matches": !sealed.is_empty(), "seals": sealed,
            "after_change": later.iter().map(|r| json!({
                "submission": r["submission"], "time": r["time"], "seq": r["seq"],
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        for v in &sealed {
            let state = s(v, "state");
            let since = match state {
                "sealed" => String::new(),
                "changed" => format!(
                    "; its files changed after the seal (noticed {})",
                    s(v, "changed_at")
                ),
                _ => format!(
                    "; it was deleted after the seal (noticed {})",
                    s(v, "changed_at")
                ),
            };
            say!(
                "matches {:?} of {}: sealed at {} (its name claims {}), receipt {}{since}",
                s(v, "submission"),
                args.student,
                s(v, "sealed"),
                s(v, "claimed"),
                short(s(v, "receipt")),
            );
        }
        for r in &later {
            say!(
                "matches what the notary saw of {:?} at {} AFTER it was sealed (not the sealed content)",
                s(r, "submission"),
                s(r, "time")
            );
        }
        if sealed.is_empty() && later.is_empty() {
            say!(
                "no sealed submission of {} in {} has receipt {}",
                args.student,
                args.course,
                args.receipt
            );
        }
    }
    Ok(if sealed.is_empty() {
        crate::EXIT_FINDINGS
    } else {
        0
    })
}

/// A record's detail column.
fn detail(rec: &Value) -> String {
    match s(rec, "event") {
        "seal" => format!(
            "{} receipt {} claimed {}",
            s(rec, "submission"),
            short(s(rec, "receipt")),
            s(rec, "claimed")
        ),
        "changed" => format!(
            "{} receipt {} (was {})",
            s(rec, "submission"),
            short(s(rec, "receipt")),
            short(s(rec, "was"))
        ),
        "vanished" => s(rec, "submission").to_string(),
        "returned" => format!(
            "{} back, receipt {} ({})",
            s(rec, "submission"),
            short(s(rec, "receipt")),
            if rec.get("matches").and_then(Value::as_bool) == Some(true) {
                "as sealed"
            } else {
                "NOT as sealed: changed while it was gone"
            }
        ),
        "removed" => format!("{} by {}", s(rec, "submission"), s(rec, "by")),
        "feedback_released" => format!("key {}", s(rec, "key")),
        "fetched" => format!("reported by the student: {}", s(rec, "reported")),
        "restart" => "notary started".to_string(),
        "due_pass" => format!(
            "due date {} covered: pass started {}",
            s(rec, "due"),
            s(rec, "started")
        ),
        "deadline_snapshot" => {
            let kept = match (
                rec.get("submission").and_then(Value::as_str),
                s(rec, "copy"),
            ) {
                (None, _) => "nothing on time".to_string(),
                (Some(sub), "") => format!(
                    "{sub} receipt {} NOT KEPT: {}",
                    short(s(rec, "receipt")),
                    s(rec, "not_kept")
                ),
                (Some(sub), copy) => {
                    format!("{sub} receipt {} kept in {copy}", short(s(rec, "receipt")))
                }
            };
            format!("due {}: {kept}", s(rec, "due"))
        }
        _ => String::new(),
    }
}

/// Run `notary log`.
pub fn log(root: &Path, args: &LogArgs) -> anyhow::Result<u8> {
    let recs: Vec<Value> = records(root, &args.course)?
        .into_iter()
        .filter(|r| {
            args.student
                .as_deref()
                .map_or(true, |st| s(r, "student") == st)
        })
        .filter(|r| {
            args.assignment
                .as_deref()
                .map_or(true, |a| s(r, "assignment") == a)
        })
        .collect();
    if args.json {
        return print_json(&Value::Array(recs)).map(|()| 0);
    }
    let mut t = Table::new(&[
        "SEQ",
        "TIME (UTC)",
        "EVENT",
        "STUDENT",
        "ASSIGNMENT",
        "DETAIL",
    ]);
    for r in &recs {
        t.row(vec![
            r.get("seq").map(Value::to_string).unwrap_or_default(),
            s(r, "time").to_string(),
            s(r, "event").to_string(),
            s(r, "student").to_string(),
            s(r, "assignment").to_string(),
            detail(r),
        ]);
    }
    print!("{}", t.render());
    Ok(0)
}
