//! Rosters exported by a learning management system: CSV with a header row, one student a
//! row, the hub username in one column.
//!
//! The login column is `--id-column`, else the first header (case and spaces ignored) of:
//! `SIS Login ID` (Canvas's gradebook export; its `ID` is Canvas's own number, not a login, so
//! this comes first), `username` (Moodle when the site shows it, Blackboard's Grade Center),
//! `login_id` (Canvas SIS import), `login`, `id` (nbgrader's `db student import`). Moodle's grade export
//! names people by `Email address` and `ID number`: pick one with `--id-column`. Rows whose
//! login cell is empty (Canvas's `Points Possible` row, its Test Student) are skipped and
//! counted. Names come from `first_name`/`First name`, `last_name`/`Last name`, or Canvas's
//! `Student` (`Last, First`); email from `email`/`Email address`.

use anyhow::{bail, Context};
use exchange_core::ids::{problem, IdKind};

/// Login columns tried in order when no `--id-column` is given (normalised).
const LOGIN_COLUMNS: &[&str] = &["sisloginid", "username", "login_id", "login", "id"];

/// One student of a roster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// Hub username.
    pub id: String,
    /// First name, when the export has it.
    pub first_name: String,
    /// Last name, when the export has it.
    pub last_name: String,
    /// Email, when the export has it.
    pub email: String,
    /// Every cell of the row, as [`Roster::headers`] names them (for `grades export`, which
    /// writes the LMS's own id columns back).
    pub cells: Vec<String>,
}

/// A parsed roster.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// The column the ids came from (as the header spells it).
    pub column: String,
    /// The header row, byte-order mark removed.
    pub headers: Vec<String>,
    /// The students, in file order, each id once.
    pub rows: Vec<Row>,
    /// Line numbers of rows skipped for an empty id.
    pub skipped: Vec<u64>,
}

fn norm(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Parse `text`; every id is checked (an unsafe one fails naming its line) before any use.
pub fn parse(text: &str, id_column: Option<&str>) -> anyhow::Result<Roster> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .context("cannot read the CSV header")?
        .iter()
        .map(str::to_string)
        .collect();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| headers.iter().position(|h| norm(h) == norm(n)))
    };
    let col = match id_column {
        Some(name) => find(&[name]).with_context(|| {
            format!(
                "the CSV has no column {name:?} (found: {})",
                headers.join(", ")
            )
        })?,
        None => match find(LOGIN_COLUMNS) {
            Some(c) => c,
            None => bail!(
                "no login column in the CSV header (looked for SIS Login ID, username, \
                 login_id, login, id; found: {}): name it with --id-column, e.g. --id-column \
                 \"Email address\" for a Moodle export",
                headers.join(", ")
            ),
        },
    };
    let first = find(&["first_name", "first name", "firstname"]);
    let last = find(&["last_name", "last name", "lastname", "surname"]);
    let email = find(&["email", "email address", "e-mail"]);
    let canvas_name = find(&["student"]);
    let mut roster = Roster {
        column: headers[col].trim_start_matches('\u{feff}').to_string(),
        headers: headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_string())
            .collect(),
        ..Roster::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for record in reader.records() {
        let record = record.context("cannot read CSV")?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_string();
        let id = cell(Some(col));
        if id.is_empty() {
            roster.skipped.push(line);
            continue;
        }
        if let Some(why) = problem(IdKind::Student, &id) {
            bail!("line {line}: refusing student id {id:?}: {why}");
        }
        if !seen.insert(id.clone()) {
            continue;
        }
        let (mut first_name, mut last_name) = (cell(first), cell(last));
        if first.is_none() && last.is_none() {
            // Canvas: "Last, First".
            let whole = cell(canvas_name);
            match whole.split_once(',') {
                Some((l, f)) => (first_name, last_name) = (f.trim().into(), l.trim().into()),
                None => last_name = whole,
            }
        }
        roster.rows.push(Row {
            id,
            first_name,
            last_name,
            email: cell(email),
            cells: record.iter().map(str::to_string).collect(),
        });
    }
    Ok(roster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvas_export_uses_the_sis_login_and_skips_points_possible() {
        let text = "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (87568490)\n\
            \"    Points Possible\",,,,,10\n\
            \"Adams, Alice\",4711,S1001,alice,Sec 01,9\n\
            \"Student, Test\",4799,,,Sec 01,\n";
        let r = parse(text, None).unwrap();
        assert_eq!(r.column, "SIS Login ID");
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.rows[0].id, "alice");
        assert_eq!(
            (r.rows[0].first_name.as_str(), r.rows[0].last_name.as_str()),
            ("Alice", "Adams")
        );
        assert_eq!(r.skipped, [2, 4]);
    }

    #[test]
    fn moodle_export_needs_a_column_named() {
        let text = "\u{feff}First name,Last name,ID number,Institution,Department,Email address\n\
            Bob,Brown,1002,Uni,Math,bob@uni.example\n";
        let err = parse(text, None).unwrap_err().to_string();
        assert!(err.contains("--id-column"), "{err}");
        let r = parse(text, Some("email address")).unwrap();
        assert_eq!(r.rows[0].id, "bob@uni.example");
        assert_eq!(r.rows[0].email, "bob@uni.example");
        assert_eq!(r.rows[0].first_name, "Bob");
    }

    #[test]
    fn unsafe_ids_are_refused_with_their_line() {
        let err = parse("username\nalice\n../eve\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("line 3: refusing student id \"../eve\""),
            "{err}"
        );
        let err = parse("id\n.hidden\n", None).unwrap_err().to_string();
        assert!(err.starts_with("line 2:"), "{err}");
    }
}
