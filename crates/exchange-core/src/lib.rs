//! Pure-Rust core of nbgrader-k8s-exchange: every filesystem operation on the exchange.
//!
//! The layout (DESIGN.md) gives every student their own directories:
//! `{root}/{course}/inbound/{student}/{assignment}+{timestamp}+{random}` for submissions and
//! `{root}/{course}/feedback_public/{student}/{key}.html` for feedback, next to the shared
//! read-only `{root}/{course}/outbound/{assignment}`. Kubernetes mounts only a student's own
//! directories into their pod; this crate must not undo that isolation, so:
//!
//! * ids becoming path components are validated first ([`ids`]);
//! * student trees are walked and copied without ever following a symlink ([`walk`]); one
//!   student's bad entry is a warning, not a failure;
//! * everything others read is staged under a dot name and published by `rename`, and what
//!   an interrupted run leaves is recognised by one rule ([`leftovers`]).
//!
//! The operations nbgrader's exchange classes need live in [`ops`]; each returns plain data
//! with a list of warnings, and fails with one [`Error`] whose [`Error::kind`] the Python
//! binding exposes. Each rule that keeps us compatible or safe has one home here, and the
//! primitives under them (no-follow file access, staging, the copy, globbing) are private
//! to this crate, so the admin CLI and the binding use the rules and cannot re-derive
//! them: feedback keys ([`keys::feedback_keys`]), leftovers ([`leftovers::leftovers`]),
//! walking ([`walk::scan`]), pod mounts ([`mounts::pod_mounts`]), local paths
//! ([`layout::LocalDirs`]), submission names ([`names`]), backdating ([`backdate`]),
//! receipts ([`receipt::Manifest`]), due dates and extensions ([`deadlines`]), names as
//! people see them ([`display::escape`]).

#![deny(missing_docs)]

pub mod backdate;
pub mod beneath;
pub(crate) mod copy;
pub mod deadlines;
pub mod display;
pub mod error;
pub(crate) mod glob;
pub mod ids;
pub mod keys;
pub mod layout;
pub mod leftovers;
pub mod migrated;
pub mod mounts;
pub mod names;
pub mod ops;
pub mod par;
pub mod receipt;
pub(crate) mod safefs;
pub mod seals;
pub mod skeleton;
pub(crate) mod stage;
pub mod timestamp;
pub mod walk;

pub use error::{Error, Result};
pub use walk::Limits;
