//! `nbgrader-k8s`: the course admin's command line for nbgrader-k8s-exchange.
//!
//! Each subcommand lives in its own module and works on the exchange through
//! `exchange_core`, so the CLI, the nbgrader plugin and the KubeSpawner hook share one
//! implementation of the layout, the id rules and the mount rules. [`run`] is the whole
//! program: the standalone binary (`main.rs`) and the wheel's `[project.scripts]` entry point
//! (through `_core.run_cli`) both call it.
//!
//! Conventions: human output goes to stdout, progress bars and warnings to stderr (bars only
//! on a terminal); `--json` prints one JSON document on stdout instead. Exit codes: 0 done,
//! 1 error (one line on stderr), 2 usage error, 3 `audit` found high-severity problems
//! (`notary verify`: a ledger or head fails; `notary receipt`: no seal matches).

#![deny(missing_docs)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit;
mod course;
mod deadlines;
mod duration;
mod gc;
mod grades;
mod hub;
mod init;
mod migrate;
mod mounts;
mod notary;
mod output;
mod provision;
mod repair;
mod roster;

mod status;

/// Exit code of a usage error (clap's).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of `audit` when it found high-severity problems.
pub const EXIT_FINDINGS: u8 = 3;

const ROOT_HELP: &str = "The exchange root: where the exchange volume is mounted where this runs \
    (`Exchange.root` of the pods, e.g. /mnt/exchange)";

#[derive(Debug, Parser)]
#[command(
    name = "nbgrader-k8s",
    bin_name = "nbgrader-k8s",
    version,
    about = "Set up, check and maintain an nbgrader-k8s-exchange (per-student directories on \
             one ReadWriteMany volume)",
    after_help = "Run `nbgrader-k8s help SUBCOMMAND` for each subcommand's options and examples."
)]
struct Cli {
    #[arg(long, global = true, env = "NBGRADER_K8S_ROOT", default_value = exchange_core::mounts::DEFAULT_MOUNT_ROOT, help = ROOT_HELP)]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(init::Args),
    Provision(provision::Args),
    Repair(repair::Args),
    Mounts(mounts::Args),
    Status(status::Args),
    Deadlines(deadlines::Args),
    Audit(audit::Args),
    Gc(gc::Args),
    Migrate(migrate::Args),
    Course(course::cmd::Args),
    Roster(roster::cmd::Args),
    Notary(notary::Args),
    Grades(grades::Args),
}

/// Run the command line `args` (the first item is the program name).
///
/// Errors are returned for the caller to print (`{:#}` shows the context chain on one
/// line); clap's own usage errors, `--help` and `--version` are printed here.
pub fn run<I, T>(args: I) -> anyhow::Result<ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_code(args).map(ExitCode::from)
}

/// Like [`run`] but prints the error itself and returns the exit status as a number, for
/// callers that cannot hand back an [`ExitCode`] (the Python entry point).
pub fn main_status<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let code = match run_code(args) {
        Ok(code) => code,
        Err(err) => {
            print_error(&err);
            1
        }
    };
    // The embedding interpreter may exit without flushing Rust's stdout buffer.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    code
}

/// How the binary and the entry point print a failure: one line, with its causes.
pub fn print_error(err: &anyhow::Error) {
    output::say_err!("nbgrader-k8s: error: {err:#}");
}

fn run_code<I, T>(args: I) -> anyhow::Result<u8>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are "errors" to clap; they print to stdout and exit 0.
            let _ = err.print();
            return Ok(if err.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let root = exchange_core::layout::absolute(&cli.root);
    match cli.command {
        Command::Init(args) => init::run(&root, &args),
        Command::Provision(args) => provision::run(&root, &args),
        Command::Repair(args) => repair::run(&root, &args),
        Command::Mounts(args) => mounts::run(&args),
        Command::Status(args) => status::run(&root, &args),
        Command::Deadlines(args) => deadlines::run(&root, &args),
        Command::Audit(args) => audit::run(&root, &args),
        Command::Gc(args) => gc::run(&root, &args),
        Command::Migrate(args) => migrate::run(&root, &args),
        Command::Course(args) => course::cmd::run(&root, &args),
        Command::Roster(args) => roster::cmd::run(&root, &args),
        Command::Notary(args) => notary::run(&root, &args),
        Command::Grades(args) => grades::run(&root, &args),
    }
}
