//! `latencyfs`: a network filesystem simulator for benchmarks.
//!
//! On Kubernetes the nbgrader exchange lives on NFS, CephFS or EFS, where every metadata
//! operation is a round trip to a server. `latencyfs` mounts a local directory through FUSE
//! and makes every request the kernel sends wait a configurable latency before it is served,
//! so code that is fast on local disk but chatty shows its real cost. Like an NFS server it
//! serves many requests at once (a pool of threads reads `/dev/fuse`), so a client that
//! issues requests in parallel overlaps their latencies; and like an NFS client's
//! `actimeo`, the kernel may cache entries and attributes for a configurable time.
//!
//! It counts the requests it serves, per kind. That count is the machine-independent
//! figure for network cost. Counts are printed as one JSON line on stdout once mounted
//! (`"event": "mounted"`), whenever the process gets `SIGUSR1` (`"stats"`), and when it
//! exits (`"final"`); `--stats-file` also writes each snapshot to a file (atomically, by
//! rename). Counts are cumulative: a harness takes the difference of two snapshots.
//! `round_trips` sums every request but `forget` (the only one the kernel does not wait
//! for); `max_in_flight` is the most requests served at once since the previous snapshot.
//! `SIGTERM`, `SIGINT` or `SIGHUP` unmount cleanly (lazily if the mount is busy) and exit.
//!
//! Requests that reply get the latency; `forget` does not. Extended attributes and
//! `access` are refused with ENOSYS, after which the kernel stops sending them (it checks
//! permissions itself: the mount uses `default_permissions`). Mounting needs root, or
//! `fusermount3` (Debian package `fuse3`) for other users.
//!
//! ```text
//! latencyfs --latency-ms 1 --attr-timeout-s 1 /srv/backing /mnt/exchange &
//! kill -USR1 %1      # {"event":"stats","round_trips":...,"ops":{"lookup":...}}
//! kill %1            # unmount, final counts
//! ```

#![deny(missing_docs)]

mod attr;
mod fs;
mod handles;
pub mod inodes;
mod namespace;
mod run;
pub mod stats;

pub use fs::{Fs, Settings};
pub use run::{run, Args};
