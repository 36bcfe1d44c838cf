//! CLI integration tests: one test binary (as ripgrep does), one module per subcommand.
//! Every test runs the real `nbgrader-k8s` binary on a fresh temporary exchange.

// Not every test module uses every helper.
#[allow(dead_code)]
mod util;

mod audit;
mod course;
mod deadlines;
mod gc;
mod init;
mod links;
mod migrate;
mod mounts;
mod notary;
mod notary_deadline;
mod provision;
mod status;
