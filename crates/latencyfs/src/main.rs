//! `latencyfs`: see the library's documentation.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match latencyfs::run(latencyfs::Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("latencyfs: {err:#}");
            ExitCode::FAILURE
        }
    }
}
