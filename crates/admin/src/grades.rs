//! `nbgrader-k8s grades export`: nbgrader's gradebook as the file an LMS imports into its
//! own gradebook (Canvas, Moodle, Blackboard Learn), students named by the LMS's own ids
//! taken from the roster `roster sync` read.
//!
//! Scores are what `nbgrader export` writes: per submission the sum of its grades (manual
//! score if set, else auto score, plus extra credit), minus the late penalties of its
//! notebooks, never below zero; a student with no submission scores 0. Where the LMS keeps
//! text columns (Moodle's feedback, Blackboard's text columns) each assignment also gets the
//! notary's sealed time and receipt of the graded submission. Canvas turns every column it
//! does not know into a new assignment, so its file holds scores only. The sources for each
//! format are named in docs/operate.md, "Grades back to the LMS".

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use exchange_core::seals::{self, SealIndex};
use rusqlite::{Connection, OpenFlags};
use serde_json::json;

use crate::hub::hub_name;
use crate::output::{print_json, say_err};
use crate::roster::cmd::CsvArgs;
use crate::roster::lms;

/// `grades` arguments.
#[derive(Debug, clap::Args)]
#[command(about = "Send nbgrader's grades back to the LMS (Canvas, Moodle, Blackboard CSV)")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// The `grades` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the gradebook of COURSE as the CSV the LMS imports into its gradebook.
    #[command(
        long_about = "Write nbgrader's gradebook of COURSE as the CSV file the LMS imports \
        into its own gradebook: one row per student, named by the LMS's own ids from the \
        roster (the LMS export `roster sync` read), one column per assignment with the score \
        `nbgrader export` computes (after the late penalty; 0 without a submission). For \
        Moodle and Blackboard each assignment also gets the notary's sealed time and receipt \
        (Moodle: a feedback column; Blackboard: two text columns) when the exchange is \
        reachable under --root; Canvas would make every extra column an assignment, so it \
        gets scores only. Students in the gradebook but not in the roster, and in the roster \
        but not in the gradebook, are listed on stderr (and in --json) and left out of the \
        file. Run it where the gradebook is (the course's grader server).",
        after_help = "Examples:\n  \
        nbgrader-k8s grades export course101 --lms canvas --roster canvas-grades.csv -o canvas-import.csv\n  \
        nbgrader-k8s grades export course101 --lms moodle --roster moodle-grades.csv --id-column \"Email address\" -o moodle-import.csv\n  \
        nbgrader-k8s grades export course101 --lms blackboard --roster gc_course101.csv --gradebook ~/course101/gradebook.db -o bb-upload.csv"
    )]
    Export(ExportArgs),
}

/// The LMS a file is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lms {
    /// Canvas: Grades > Import.
    Canvas,
    /// Moodle: Grades > Import > CSV file.
    Moodle,
    /// Blackboard Learn: Grade Center > Work Offline > Upload.
    Blackboard,
}

/// `grades export` arguments.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Course id.
    pub course: String,
    /// The LMS the file is for.
    #[arg(long, value_enum)]
    pub lms: Lms,
    /// The LMS roster export (the file `roster sync --csv` read).
    #[arg(long, value_name = "FILE")]
    pub roster: PathBuf,
    #[command(flatten)]
    pub columns: CsvArgs,
    /// nbgrader's gradebook (the course directory's gradebook.db).
    #[arg(long, value_name = "PATH", default_value = "gradebook.db")]
    pub gradebook: PathBuf,
    /// Write the file here (default: stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print a JSON summary on stdout (needs --output).
    #[arg(long)]
    pub json: bool,
}

/// Run `grades`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    match &args.command {
        Command::Export(a) => export(root, a),
    }
}

/// One graded submission, as nbgrader's gradebook holds it.
#[derive(Debug, Clone, PartialEq)]
struct Submission {
    timestamp: Option<NaiveDateTime>,
    raw: f64,
    penalty: f64,
}

impl Submission {
    /// The score `nbgrader export` writes: `max(0, score - late_submission_penalty)`.
    fn score(&self) -> f64 {
        (self.raw - self.penalty).max(0.0)
    }
}

/// What `grades export` reads from the gradebook.
#[derive(Debug, Default)]
struct Gradebook {
    /// Assignment names, in nbgrader's order (due date, then name).
    assignments: Vec<String>,
    /// Student ids.
    students: Vec<String>,
    /// (student, assignment) -> submission.
    submissions: HashMap<(String, String), Submission>,
}

/// The score of a grade cell (nbgrader's `Grade.score`): the manual score if set, else the
/// auto score, plus extra credit; 0 when neither is set.
const GRADE_SCORE: &str = "CASE \
    WHEN g.manual_score IS NOT NULL THEN g.manual_score + COALESCE(g.extra_credit, 0.0) \
    WHEN g.auto_score IS NOT NULL THEN g.auto_score + COALESCE(g.extra_credit, 0.0) \
    ELSE 0.0 END";

fn read_gradebook(db: &Path) -> anyhow::Result<Gradebook> {
    if !db.is_file() {
        bail!(
            "gradebook {} does not exist (run this in the course directory, or give --gradebook)",
            db.display()
        );
    }
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open gradebook {}", db.display()))?;
    let ctx = || format!("cannot read gradebook {}", db.display());
    let strings = |sql: &str| -> anyhow::Result<Vec<String>> {
        let mut stmt = conn.prepare(sql).with_context(ctx)?;
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .with_context(ctx)?
            .collect::<Result<Vec<_>, _>>()
            .with_context(ctx)?;
        Ok(rows)
    };
    let assignments = strings("SELECT name FROM assignment ORDER BY duedate, name")?;
    let students = strings("SELECT id FROM student ORDER BY id")?;
    let sql = format!(
        "SELECT sa.student_id, a.name, CAST(sa.timestamp AS TEXT), \
           (SELECT COALESCE(SUM({GRADE_SCORE}), 0.0) FROM grade g \
              JOIN submitted_notebook sn ON g.notebook_id = sn.id \
              WHERE sn.assignment_id = sa.id), \
           (SELECT COALESCE(SUM(sn.late_submission_penalty), 0.0) FROM submitted_notebook sn \
              WHERE sn.assignment_id = sa.id) \
         FROM submitted_assignment sa JOIN assignment a ON sa.assignment_id = a.id"
    );
    let mut stmt = conn.prepare(&sql).with_context(ctx)?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, f64>(3)?,
                row.get::<_, f64>(4)?,
            ))
        })
        .with_context(ctx)?
        .collect::<Result<Vec<_>, _>>()
        .with_context(ctx)?;
    let submissions = rows
        .into_iter()
        .map(|(student, assignment, ts, raw, penalty)| {
            let timestamp = ts.and_then(|t| exchange_core::timestamp::parse(&t).ok());
            let sub = Submission {
                timestamp,
                raw,
                penalty,
            };
            ((student, assignment), sub)
        })
        .collect();
    Ok(Gradebook {
        assignments,
        students,
        submissions,
    })
}

/// A score as the LMSes read numbers: plain decimal, a point, at most four decimals, no
/// trailing zeros (`7.5`, `10`, `0`).
fn format_score(score: f64) -> String {
    let text = format!("{score:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_string(),
        t => t.to_string(),
    }
}

/// Header names compared as the roster parser does: case and spaces ignored.
fn norm(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The columns naming a student in each LMS's import, in its export's order, and which of
/// them must be in the roster (at least one).
fn id_columns(lms: Lms) -> (&'static [&'static str], &'static [&'static str]) {
    match lms {
        // Canvas matches a row by Canvas's ID, SIS User ID or SIS Login ID.
        Lms::Canvas => (
            &["Student", "ID", "SIS User ID", "SIS Login ID", "Section"],
            &["ID", "SIS User ID", "SIS Login ID"],
        ),
        // Moodle's import identifies a user by one column the instructor maps.
        Lms::Moodle => (
            &[
                "First name",
                "Last name",
                "ID number",
                "Email address",
                "Username",
            ],
            &["ID number", "Email address", "Username"],
        ),
        // Blackboard's Grade Center upload needs Username.
        Lms::Blackboard => (
            &["Last Name", "First Name", "Username", "Student ID"],
            &["Username"],
        ),
    }
}

/// The header of `assignment`'s column: the roster's own column for it when the roster
/// (an LMS gradebook export) has one, so the import updates that column, else the name
/// (the LMS then makes a new column).
fn assignment_header(lms: Lms, roster: &lms::Roster, assignment: &str) -> String {
    let own = roster.headers.iter().find(|h| match lms {
        // `Quiz 1 (87568490)`: name, then Canvas's assignment id.
        Lms::Canvas => h
            .strip_prefix(assignment)
            .and_then(|rest| rest.strip_prefix(" ("))
            .and_then(|rest| rest.strip_suffix(')'))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
        // `Quiz 1 [Total Pts: 10 Score] |12345`: name, then the column ID after `|`.
        Lms::Blackboard => h
            .strip_prefix(assignment)
            .is_some_and(|rest| rest.starts_with(" [") && rest.contains('|')),
        // Moodle's import maps columns by hand.
        Lms::Moodle => false,
    });
    own.cloned().unwrap_or_else(|| assignment.to_string())
}

/// Where the sealed time and receipt come from, or why they do not.
fn load_seals(root: &Path, course: &str) -> Result<SealIndex, String> {
    let course = crate::course::existing_dir(root, course).map_err(|e| format!("{e:#}"))?;
    match SealIndex::load(&course) {
        Ok(Some(index)) => Ok(index),
        Ok(None) => Err(format!(
            "the notary has no index at {}",
            SealIndex::path(&course).display()
        )),
        Err(e) => Err(format!("cannot read the notary's index: {e}")),
    }
}

/// The notary's seals by (student, assignment, claimed time): the seal of the submission
/// the gradebook graded is the one with its timestamp (the newest sealed, if several).
type SealsByClaim<'a> = HashMap<(&'a str, &'a str, NaiveDateTime), &'a seals::Seal>;

fn seals_by_claim(index: &SealIndex) -> SealsByClaim<'_> {
    let mut out: SealsByClaim<'_> = HashMap::new();
    for (student, seal) in index.all() {
        let Ok(claimed) = exchange_core::timestamp::parse(&seal.claimed) else {
            continue;
        };
        let key = (student, seal.assignment.as_str(), claimed);
        if !matches!(out.get(&key), Some(old) if old.sealed >= seal.sealed) {
            out.insert(key, seal);
        }
    }
    out
}

/// The file: header and rows, plus who was on one side only.
#[derive(Debug, Default)]
struct Export {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    exported: Vec<String>,
    not_in_roster: Vec<String>,
    not_in_gradebook: Vec<String>,
}

fn build(
    lms: Lms,
    roster: &lms::Roster,
    book: &Gradebook,
    seals: Option<&SealIndex>,
) -> anyhow::Result<Export> {
    let (ids, required) = id_columns(lms);
    let position = |name: &str| roster.headers.iter().position(|h| norm(h) == norm(name));
    if !required.iter().any(|c| position(c).is_some()) {
        bail!(
            "the roster has none of the columns {} names students by ({}; found: {}): give \
             the roster exported from {}'s gradebook",
            lms_name(lms),
            required.join(", "),
            roster.headers.join(", "),
            lms_name(lms)
        );
    }
    // Moodle and Blackboard: only the id columns the roster has (an empty identity column
    // would match nobody); Canvas: all five, as its own export writes them.
    let id_cols: Vec<(&str, Option<usize>)> = ids
        .iter()
        .map(|c| (*c, position(c)))
        .filter(|(_, p)| lms == Lms::Canvas || p.is_some())
        .collect();
    let mut header: Vec<String> = id_cols.iter().map(|(c, _)| c.to_string()).collect();
    header.extend(
        book.assignments
            .iter()
            .map(|a| assignment_header(lms, roster, a)),
    );
    if seals.is_some() {
        for a in &book.assignments {
            match lms {
                Lms::Canvas => {}
                Lms::Moodle => header.push(format!("{a} (feedback)")),
                Lms::Blackboard => {
                    header.push(format!("{a} sealed"));
                    header.push(format!("{a} receipt"));
                }
            }
        }
    }
    let by_name: BTreeMap<String, &String> =
        book.students.iter().map(|s| (hub_name(s), s)).collect();
    let mut out = Export {
        header,
        ..Export::default()
    };
    let by_claim = seals.map(seals_by_claim);
    let mut matched = BTreeSet::new();
    for row in &roster.rows {
        let name = hub_name(&row.id);
        let Some(student) = by_name.get(&name) else {
            out.not_in_gradebook.push(row.id.clone());
            continue;
        };
        if !matched.insert(name) {
            continue;
        }
        let mut cells: Vec<String> = id_cols
            .iter()
            .map(|(_, p)| {
                p.and_then(|p| row.cells.get(p))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let sub = |a: &String| book.submissions.get(&(student.to_string(), a.clone()));
        cells.extend(
            book.assignments
                .iter()
                .map(|a| format_score(sub(a).map_or(0.0, Submission::score))),
        );
        if let Some(by_claim) = &by_claim {
            for a in &book.assignments {
                let seal = sub(a)
                    .and_then(|s| s.timestamp)
                    .and_then(|t| by_claim.get(&(student.as_str(), a.as_str(), t)).copied());
                let sealed = seal
                    .map(|s| seals::format_time(&s.sealed))
                    .unwrap_or_default();
                let receipt = seal.map(|s| s.receipt.clone()).unwrap_or_default();
                match lms {
                    Lms::Canvas => {}
                    Lms::Moodle => cells.push(match seal {
                        Some(_) => format!("Sealed {sealed}, receipt {receipt}"),
                        None => String::new(),
                    }),
                    Lms::Blackboard => {
                        cells.push(sealed);
                        cells.push(receipt);
                    }
                }
            }
        }
        out.rows.push(cells);
        out.exported.push(student.to_string());
    }
    out.not_in_roster = book
        .students
        .iter()
        .filter(|s| !matched.contains(&hub_name(s)))
        .cloned()
        .collect();
    Ok(out)
}

fn lms_name(lms: Lms) -> &'static str {
    match lms {
        Lms::Canvas => "Canvas",
        Lms::Moodle => "Moodle",
        Lms::Blackboard => "Blackboard",
    }
}

fn to_csv(lms: Lms, export: &Export) -> anyhow::Result<Vec<u8>> {
    // Blackboard: every field of a comma-delimited upload within quotes.
    let quote = match lms {
        Lms::Blackboard => csv::QuoteStyle::Always,
        _ => csv::QuoteStyle::Necessary,
    };
    let mut w = csv::WriterBuilder::new()
        .quote_style(quote)
        .from_writer(Vec::new());
    w.write_record(&export.header)?;
    for row in &export.rows {
        w.write_record(row)?;
    }
    w.into_inner().context("cannot write the CSV")
}

/// Write `bytes` to `path` through a temporary file in the same directory, so a reader
/// never sees half a file.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("--output {} names no file", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}", path.display())
    })
}

fn export(root: &Path, args: &ExportArgs) -> anyhow::Result<u8> {
    if args.json && args.output.is_none() {
        bail!("--json prints the summary on stdout: give the file with --output");
    }
    if let Some(why) = exchange_core::ids::problem(exchange_core::ids::IdKind::Course, &args.course)
    {
        bail!("invalid course id {:?}: {why}", args.course);
    }
    let text = std::fs::read_to_string(&args.roster)
        .with_context(|| format!("cannot read roster {}", args.roster.display()))?;
    let roster = lms::parse(&text, args.columns.id_column.as_deref())
        .with_context(|| format!("roster {}", args.roster.display()))?;
    let book = read_gradebook(&args.gradebook)?;
    let (seals, seal_note) = match args.lms {
        Lms::Canvas => (None, None),
        _ => match load_seals(root, &args.course) {
            Ok(index) => (Some(index), None),
            Err(why) => (None, Some(why)),
        },
    };
    if let Some(why) = &seal_note {
        say_err!("nbgrader-k8s: note: no sealed time or receipt columns: {why}");
    }
    let export = build(args.lms, &roster, &book, seals.as_ref())?;
    let bytes = to_csv(args.lms, &export)?;
    match &args.output {
        Some(path) => write_file(path, &bytes)?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes).context("cannot write to stdout")?;
            out.flush().context("cannot write to stdout")?;
        }
    }
    if !export.not_in_roster.is_empty() {
        say_err!(
            "nbgrader-k8s: {} student(s) in the gradebook but not in the roster, not exported: {}",
            export.not_in_roster.len(),
            export.not_in_roster.join(", ")
        );
    }
    if !export.not_in_gradebook.is_empty() {
        say_err!(
            "nbgrader-k8s: {} student(s) in the roster but not in the gradebook, not exported: {}",
            export.not_in_gradebook.len(),
            export.not_in_gradebook.join(", ")
        );
    }
    if args.json {
        print_json(&json!({
            "course": args.course,
            "lms": lms_name(args.lms).to_lowercase(),
            "output": args.output.as_ref().map(|p| p.display().to_string()),
            "assignments": book.assignments,
            "exported": export.exported,
            "not_in_roster": export.not_in_roster,
            "not_in_gradebook": export.not_in_gradebook,
            "seals": seals.is_some(),
            "seals_note": seal_note,
        }))?;
    } else if let Some(path) = &args.output {
        say_err!(
            "nbgrader-k8s: wrote {} student(s) x {} assignment(s) for {} to {}",
            export.rows.len(),
            book.assignments.len(),
            lms_name(args.lms),
            path.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_formatted_as_plain_decimals() {
        assert_eq!(format_score(10.0), "10");
        assert_eq!(format_score(7.5), "7.5");
        assert_eq!(format_score(0.0), "0");
        assert_eq!(format_score(0.1 + 0.2), "0.3");
        assert_eq!(format_score(2.0 / 3.0), "0.6667");
    }

    #[test]
    fn late_penalty_never_goes_below_zero() {
        let s = |raw, penalty| Submission {
            timestamp: None,
            raw,
            penalty,
        };
        assert_eq!(s(7.0, 2.0).score(), 5.0);
        assert_eq!(s(1.0, 3.0).score(), 0.0);
    }

    #[test]
    fn assignment_columns_reuse_the_lms_own_columns() {
        let r = lms::parse(
            "Student,ID,SIS User ID,SIS Login ID,Section,ps1 (812),ps10 (813)\n\"A, B\",1,,ab,S,,\n",
            None,
        )
        .unwrap();
        assert_eq!(assignment_header(Lms::Canvas, &r, "ps1"), "ps1 (812)");
        assert_eq!(assignment_header(Lms::Canvas, &r, "ps2"), "ps2");
        let r = lms::parse(
            "Last Name,First Name,Username,ps1 [Total Pts: 10 Score] |4711\nB,A,ab,\n",
            None,
        )
        .unwrap();
        assert_eq!(
            assignment_header(Lms::Blackboard, &r, "ps1"),
            "ps1 [Total Pts: 10 Score] |4711"
        );
        assert_eq!(assignment_header(Lms::Moodle, &r, "ps1"), "ps1");
    }
}
