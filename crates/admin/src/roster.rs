//! Rosters: student ids from a file (one per line, or CSV with an `id` column), from stdin,
//! or from nbgrader's gradebook.db; plus due dates from the gradebook. LMS exports and the
//! `roster` subcommands (hub group sync) are in [`lms`] and [`cmd`].

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use exchange_core::ids::{problem, IdKind};
use rusqlite::{Connection, OpenFlags};

pub mod cmd;
pub mod lms;

/// Where a roster comes from (the `--students` / `--from-gradebook` options).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RosterArgs {
    /// Roster file: one student id per line (blank lines and `#` comments skipped), or CSV
    /// with an `id` column (nbgrader's `db student import` format); `-` reads stdin.
    #[arg(long, value_name = "FILE|-")]
    pub students: Option<String>,
    /// Take the roster from nbgrader's gradebook (its `student` table).
    #[arg(long, value_name = "gradebook.db")]
    pub from_gradebook: Option<PathBuf>,
}

impl RosterArgs {
    /// The roster, when one was given: sorted, deduplicated, every id valid.
    pub fn load(&self) -> anyhow::Result<Option<Vec<String>>> {
        let mut ids = Vec::new();
        let mut given = false;
        if let Some(file) = &self.students {
            given = true;
            let (text, label) = if file == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the roster from stdin")?;
                (text, "stdin".to_string())
            } else {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read roster {file}"))?;
                (text, file.clone())
            };
            ids.extend(parse(&text).with_context(|| format!("roster {label}"))?);
        }
        if let Some(db) = &self.from_gradebook {
            given = true;
            ids.extend(gradebook_students(db)?);
        }
        ids.sort();
        ids.dedup();
        Ok(given.then_some(ids))
    }
}

/// Student ids in a roster text. CSV when the first line holds a comma, else one id per line.
/// Fails on the first unsafe id, naming its line.
pub fn parse(text: &str) -> anyhow::Result<Vec<String>> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(line) if line.contains(',') => parse_csv(text),
        _ => parse_lines(text),
    }
}

fn parse_lines(text: &str) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let id = line.trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        check(id, i as u64 + 1)?;
        ids.push(id.to_string());
    }
    Ok(ids)
}

fn parse_csv(text: &str) -> anyhow::Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().context("cannot read the CSV header")?;
    let Some(col) = headers.iter().position(|h| h.eq_ignore_ascii_case("id")) else {
        bail!(
            "the CSV header has no `id` column (found: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    };
    let mut ids = Vec::new();
    for record in reader.records() {
        let record = record.context("cannot read CSV")?;
        let line = record.position().map_or(0, |p| p.line());
        let id = record.get(col).unwrap_or("");
        if id.is_empty() {
            bail!("line {line}: no student id in the `id` column");
        }
        check(id, line)?;
        ids.push(id.to_string());
    }
    Ok(ids)
}

fn check(id: &str, line: u64) -> anyhow::Result<()> {
    match problem(IdKind::Student, id) {
        None => Ok(()),
        Some(reason) => bail!("line {line}: refusing student id {id:?}: {reason}"),
    }
}

fn open_gradebook(db: &Path) -> anyhow::Result<Connection> {
    if !db.is_file() {
        bail!("gradebook {} does not exist", db.display());
    }
    Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open gradebook {}", db.display()))
}

/// Student ids of nbgrader's gradebook; an unsafe one fails naming it.
pub fn gradebook_students(db: &Path) -> anyhow::Result<Vec<String>> {
    let conn = open_gradebook(db)?;
    let ctx = || format!("cannot read students from gradebook {}", db.display());
    let mut stmt = conn
        .prepare("SELECT id FROM student ORDER BY id")
        .with_context(ctx)?;
    let ids = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .with_context(ctx)?
        .collect::<Result<Vec<_>, _>>()
        .with_context(ctx)?;
    for id in &ids {
        if let Some(reason) = problem(IdKind::Student, id) {
            bail!(
                "gradebook {}: refusing student id {id:?}: {reason}",
                db.display()
            );
        }
    }
    Ok(ids)
}

/// Assignment name -> due date (naive UTC, as nbgrader stores it) from the gradebook.
pub fn gradebook_due_dates(db: &Path) -> anyhow::Result<BTreeMap<String, Option<NaiveDateTime>>> {
    let conn = open_gradebook(db)?;
    let ctx = || format!("cannot read assignments from gradebook {}", db.display());
    let mut stmt = conn
        .prepare("SELECT name, CAST(duedate AS TEXT) FROM assignment")
        .with_context(ctx)?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
        })
        .with_context(ctx)?
        .collect::<Result<Vec<_>, _>>()
        .with_context(ctx)?;
    Ok(rows
        .into_iter()
        .map(|(name, due)| {
            let due = due.and_then(|d| exchange_core::timestamp::parse(&d).ok());
            (name, due)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_line_numbers() {
        let ids = parse("alice\n\n# a comment\n  bob  \ncarol+x@uni.edu\n").unwrap();
        assert_eq!(ids, ["alice", "bob", "carol+x@uni.edu"]);
        let err = parse("alice\n\n../eve\n").unwrap_err().to_string();
        assert!(
            err.starts_with("line 3: refusing student id \"../eve\""),
            "{err}"
        );
    }

    #[test]
    fn csv_with_id_column() {
        let ids = parse("first_name,id,email\nAl,alice,a@x\n\"Bo, B\",bob,b@x\n").unwrap();
        assert_eq!(ids, ["alice", "bob"]);
        let err = parse("name,email\nAl,a@x\n").unwrap_err().to_string();
        assert!(err.contains("no `id` column"), "{err}");
        let err = parse("id,name\nalice,A\n.hidden,H\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 3:"), "{err}");
    }
}
