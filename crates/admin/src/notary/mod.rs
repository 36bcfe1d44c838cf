//! `nbgrader-k8s notary`: submission times, receipts and a history that students and
//! instructors can trust, with no database (docs/notary.md is the on-disk contract).
//!
//! `run` is the observer (one pod with the whole volume): [`observe`] looks at a course
//! incrementally, [`ledger`] appends what it saw to a hash-chained JSON-lines file under
//! `{root}/.nbk8s-notary/{course}/` that no student or instructor pod mounts, [`state`]
//! replays that file (the only truth: a restart resumes from it), and [`publish`] writes the
//! copies others read. `verify`, `receipt` and `log` only read the ledger.

mod checked;
mod inbox;
mod ledger;
mod log;
mod metrics;
mod observe;
mod publish;
mod query;
mod run;
mod snapshot;
mod state;
mod verify;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
pub use checked::{checked_index, Checked};
use clap::Subcommand;

/// `notary` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "The notary: seal submissions, keep a tamper-evident ledger, check receipts",
    long_about = "The notary watches every course and records, in a hash-chained ledger \
        under {root}/.nbk8s-notary/ (outside every course, so neither students nor \
        instructors can rewrite it), when each submission was first seen and a digest of \
        its files, what changed after, releases, feedback, fetches and removals. See \
        docs/notary.md."
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::RunArgs),
    Verify(verify::VerifyArgs),
    Receipt(query::ReceiptArgs),
    Log(query::LogArgs),
}

/// Run `notary`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    // Every path of the notary below the root is resolved beneath a descriptor held on it,
    // no link followed in any component (the ledger's directory included).
    exchange_core::beneath::anchor(root)
        .with_context(|| format!("cannot open the exchange root {}", root.display()))?;
    match &args.command {
        Command::Run(a) => run::run(root, a),
        Command::Verify(a) => verify::run(root, a),
        Command::Receipt(a) => query::receipt(root, a),
        Command::Log(a) => query::log(root, a),
    }
}

/// `{root}/.nbk8s-notary`: the notary's own directory.
pub fn notary_home(root: &Path) -> PathBuf {
    root.join(".nbk8s-notary")
}

/// Where the notary publishes a course's inbox usage for `status` (None: not running).
pub fn usage_file(course_dir: &Path) -> PathBuf {
    course_dir.join(publish::COPY_DIR).join(publish::USAGE_FILE)
}

/// A size: bytes, or a number with k, M, G or T (powers of 1000) or Ki, Mi, Gi, Ti.
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let Ok(n) = digits.parse::<u64>() else {
        bail!("{text:?} is not a size like 500M, 2G or 1048576");
    };
    let mult: u64 = match unit.trim().trim_end_matches(['B', 'b']) {
        "" => 1,
        "k" | "K" => 1000,
        "M" | "m" => 1000_u64.pow(2),
        "G" | "g" => 1000_u64.pow(3),
        "T" | "t" => 1000_u64.pow(4),
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        other => bail!("unknown size unit {other:?} in {text:?} (use k, M, G, T, Ki, Mi, Gi, Ti)"),
    };
    n.checked_mul(mult)
        .ok_or_else(|| anyhow::anyhow!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("500M").unwrap(), 500_000_000);
        assert_eq!(super::parse_size("2Gi").unwrap(), 2 << 30);
        assert_eq!(super::parse_size("123").unwrap(), 123);
        assert_eq!(super::parse_size("0").unwrap(), 0);
        assert!(super::parse_size("1X").is_err());
        assert!(super::parse_size("M").is_err());
    }
}
