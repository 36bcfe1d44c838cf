//! The standalone `nbgrader-k8s` binary: all of it is [`admin::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    match admin::run(std::env::args_os()) {
        Ok(code) => code,
        Err(err) => {
            admin::print_error(&err);
            ExitCode::FAILURE
        }
    }
}
