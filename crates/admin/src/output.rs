//! What every subcommand prints: aligned tables, JSON documents, progress bars.
//!
//! Human output never shows a name raw: table cells, warnings, errors and every line printed
//! with [`say!`] / [`say_err!`] go through [`escape`], so a student's submission name holding
//! a newline cannot forge a row, nor one holding an escape sequence drive the admin's
//! terminal. JSON output ([`print_json`]) carries the exact strings.

use std::io::Write;

use anyhow::Context;
use exchange_core::display::escape;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Print `value` as pretty JSON on stdout (the whole `--json` output of a command).
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).context("cannot write JSON")?;
    writeln!(out).context("cannot write JSON")?;
    Ok(())
}

/// `println!` for human output: the whole line is shown through [`escape`] (so it must not
/// hold a newline of its own: print two lines as two).
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", ::exchange_core::display::escape(&format!($($arg)*)))
    };
}
pub(crate) use say;

/// [`say!`] on stderr.
macro_rules! say_err {
    ($($arg:tt)*) => {
        eprintln!("{}", ::exchange_core::display::escape(&format!($($arg)*)))
    };
}
pub(crate) use say_err;

/// A plain text table: left-aligned columns separated by two spaces.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row (as many cells as columns), each cell shown through [`escape`].
    pub fn row(&mut self, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .map(|c| match escape(&c) {
                std::borrow::Cow::Borrowed(_) => c,
                shown => shown.into_owned(),
            })
            .collect();
        self.rows.push(cells);
    }

    /// The table as text, one line per row, header first.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        let mut out = line(&self.header);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

/// A progress bar on stderr for `len` steps. indicatif draws nothing when stderr is not a
/// terminal, so pipes, CI logs and `--json` consumers see no bar.
pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// Print warnings on stderr (above any progress bar), one per line, through [`escape`].
pub fn warn_all(bar: Option<&ProgressBar>, warnings: &[String]) {
    for w in warnings {
        let w = escape(w);
        match bar {
            Some(bar) => bar.suspend(|| eprintln!("warning: {w}")),
            None => eprintln!("warning: {w}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&["a", "long header"]);
        t.row(vec!["wide cell".into(), "x".into()]);
        assert_eq!(t.render(), "a          long header\nwide cell  x\n");
    }

    #[test]
    fn a_cell_cannot_start_a_row_of_its_own() {
        let mut t = Table::new(&["SEQ", "NAME"]);
        t.row(vec!["1".into(), "ps1\n2  forged\x1b[2J".into()]);
        assert_eq!(t.render(), "SEQ  NAME\n1    ps1\\n2  forged\\x1b[2J\n");
    }
}
