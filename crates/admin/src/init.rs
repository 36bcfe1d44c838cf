//! `nbgrader-k8s init COURSE`: the course tree, owned and moded for the pod mounts.

use std::path::Path;

use anyhow::Context;
use exchange_core::ops::provision::{provision_course, ProvisionEntry};
use serde_json::json;

use crate::output::{print_json, say, Table};

/// Owner options shared by the commands that create directories.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Owner {
    /// Owner uid of everything created or repaired (the notebook user, jovyan).
    #[arg(long, default_value_t = 1000)]
    pub uid: u32,
    /// Owner gid (users): the pods' group (fsGroup).
    #[arg(long, default_value_t = 100)]
    pub gid: u32,
    /// Owner of the skeleton (the course's directories that pods' subPaths go through): a uid
    /// no notebook pod runs as (docs/security.md, "The skeleton"); root by default, the
    /// export's anonymous uid on a root_squash export.
    #[arg(long, default_value_t = exchange_core::skeleton::DEFAULT_KEEPER_UID)]
    pub keeper_uid: u32,
}

impl Owner {
    /// The skeleton's owners.
    pub fn skeleton(&self) -> exchange_core::skeleton::Owners {
        exchange_core::skeleton::Owners {
            keeper: self.keeper_uid,
            gid: self.gid,
        }
    }
}

/// `init` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Create the course tree (COURSE, outbound, inbound, feedback_public) with its owner and modes",
    long_about = "Create or repair {root}/COURSE and its outbound/, inbound/ and \
        feedback_public/ directories: real directories (a symlink in the way is refused, never \
        followed), owned UID:GID, mode 0755. Run it before any pod of the course starts: \
        kubelet would create a missing subPath owned by root, which the notebook user cannot \
        write. Idempotent: a second run reports every directory as fine.",
    after_help = "Examples:\n  \
        nbgrader-k8s --root /srv/exchange init course101\n  \
        nbgrader-k8s init course101 --uid 1000 --gid 100 --json"
)]
pub struct Args {
    /// Course id.
    pub course: String,
    #[command(flatten)]
    pub owner: Owner,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `init`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    let done = crate::course::prepare(root, &args.course)
        .and_then(|()| {
            Ok(provision_course(
                root,
                &args.course,
                &[],
                args.owner.skeleton(),
            )?)
        })
        .with_context(|| format!("cannot initialise course {:?}", args.course))?;
    if args.json {
        print_json(&json!({
            "course": args.course,
            "root": root,
            "entries": entries_json(&done.entries),
            "summary": summary_json(&done.entries),
            "warnings": done.warnings,
        }))?;
    } else {
        print!("{}", entries_table(&done.entries).render());
        say!("{}", summary_line(&done.entries));
    }
    Ok(0)
}

/// Entries as JSON objects.
pub fn entries_json(entries: &[ProvisionEntry]) -> serde_json::Value {
    entries
        .iter()
        .map(|e| json!({"path": e.path, "outcome": e.outcome, "detail": e.detail}))
        .collect()
}

/// Counts per outcome.
pub fn summary_json(entries: &[ProvisionEntry]) -> serde_json::Value {
    let count = |o: &str| entries.iter().filter(|e| e.outcome == o).count();
    json!({"created": count("created"), "fine": count("fine"), "repaired": count("repaired")})
}

/// `created 2, already fine 3, repaired 1`.
pub fn summary_line(entries: &[ProvisionEntry]) -> String {
    let count = |o: &str| entries.iter().filter(|e| e.outcome == o).count();
    format!(
        "created {}, already fine {}, repaired {}",
        count("created"),
        count("fine"),
        count("repaired")
    )
}

/// One row per directory.
pub fn entries_table(entries: &[ProvisionEntry]) -> Table {
    let mut t = Table::new(&["OUTCOME", "PATH", "DETAIL"]);
    for e in entries {
        t.row(vec![
            e.outcome.to_string(),
            e.path.clone(),
            e.detail.clone(),
        ]);
    }
    t
}
