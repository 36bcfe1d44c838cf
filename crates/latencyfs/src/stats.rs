//! Request counters: the machine-independent measure of what a workload costs on a network
//! filesystem, where every request the kernel waits for is one round trip.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{json, Map, Value};

/// One kind of FUSE request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Resolve a name in a directory.
    Lookup,
    /// The kernel dropped inode references (no reply: not a round trip).
    Forget,
    /// Read a file's attributes.
    Getattr,
    /// chmod, chown, truncate, utimes.
    Setattr,
    /// Read a symlink's target.
    Readlink,
    /// Create a directory.
    Mkdir,
    /// Remove a file.
    Unlink,
    /// Remove a directory.
    Rmdir,
    /// Create a symlink.
    Symlink,
    /// Rename (files or directories).
    Rename,
    /// Open an existing file.
    Open,
    /// Read file data.
    Read,
    /// Write file data.
    Write,
    /// `close(2)` of a descriptor.
    Flush,
    /// Last close of an open file.
    Release,
    /// fsync/fdatasync.
    Fsync,
    /// Open a directory for listing.
    Opendir,
    /// List a directory (names only).
    Readdir,
    /// List a directory with every entry's attributes (NFS's READDIRPLUS).
    Readdirplus,
    /// Last close of a directory.
    Releasedir,
    /// fsync of a directory.
    Fsyncdir,
    /// Filesystem statistics.
    Statfs,
    /// Create and open a file.
    Create,
    /// Extended attributes (refused; the kernel stops asking).
    Xattr,
    /// Anything else (mknod, link, locks...; refused).
    Other,
}

impl Op {
    /// Every op, in the order reports list them.
    pub const ALL: [Op; 25] = [
        Op::Lookup,
        Op::Forget,
        Op::Getattr,
        Op::Setattr,
        Op::Readlink,
        Op::Mkdir,
        Op::Unlink,
        Op::Rmdir,
        Op::Symlink,
        Op::Rename,
        Op::Open,
        Op::Read,
        Op::Write,
        Op::Flush,
        Op::Release,
        Op::Fsync,
        Op::Opendir,
        Op::Readdir,
        Op::Readdirplus,
        Op::Releasedir,
        Op::Fsyncdir,
        Op::Statfs,
        Op::Create,
        Op::Xattr,
        Op::Other,
    ];

    /// The name used in reports (the FUSE opcode's name, lower case).
    pub fn name(self) -> &'static str {
        match self {
            Op::Lookup => "lookup",
            Op::Forget => "forget",
            Op::Getattr => "getattr",
            Op::Setattr => "setattr",
            Op::Readlink => "readlink",
            Op::Mkdir => "mkdir",
            Op::Unlink => "unlink",
            Op::Rmdir => "rmdir",
            Op::Symlink => "symlink",
            Op::Rename => "rename",
            Op::Open => "open",
            Op::Read => "read",
            Op::Write => "write",
            Op::Flush => "flush",
            Op::Release => "release",
            Op::Fsync => "fsync",
            Op::Opendir => "opendir",
            Op::Readdir => "readdir",
            Op::Readdirplus => "readdirplus",
            Op::Releasedir => "releasedir",
            Op::Fsyncdir => "fsyncdir",
            Op::Statfs => "statfs",
            Op::Create => "create",
            Op::Xattr => "xattr",
            Op::Other => "other",
        }
    }

    /// Whether the kernel waits for an answer: every op but `forget`.
    pub fn is_round_trip(self) -> bool {
        self != Op::Forget
    }

    fn index(self) -> usize {
        Op::ALL.iter().position(|&op| op == self).expect("listed")
    }
}

/// Counters shared by the serving threads; cheap to bump from many threads at once.
#[derive(Debug)]
pub struct Stats {
    counts: [AtomicU64; Op::ALL.len()],
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    reports: AtomicU64,
    started: Instant,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            reports: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Stats {
    /// Count one request of kind `op` and mark it in flight until the guard drops.
    pub fn begin(&self, op: Op) -> InFlight<'_> {
        self.counts[op.index()].fetch_add(1, Ordering::Relaxed);
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight { stats: self }
    }

    /// How many requests of kind `op` were served so far.
    pub fn count(&self, op: Op) -> u64 {
        self.counts[op.index()].load(Ordering::Relaxed)
    }

    /// Requests the kernel waited for, all kinds together.
    pub fn round_trips(&self) -> u64 {
        Op::ALL
            .iter()
            .filter(|op| op.is_round_trip())
            .map(|&op| self.count(op))
            .sum()
    }

    /// The most requests served at once since the previous snapshot (then starts over).
    fn take_max_in_flight(&self) -> u64 {
        let now = self.in_flight.load(Ordering::Relaxed);
        self.max_in_flight.swap(now, Ordering::Relaxed)
    }

    /// A JSON snapshot; `seq` numbers the snapshots so a reader can tell a fresh one.
    /// `extra` fields (the settings) are merged in.
    pub fn snapshot(&self, event: &str, extra: &Map<String, Value>) -> Value {
        let seq = self.reports.fetch_add(1, Ordering::Relaxed) + 1;
        let ops: Map<String, Value> = Op::ALL
            .iter()
            .map(|&op| (op.name().to_string(), json!(self.count(op))))
            .collect();
        let mut out = json!({
            "event": event,
            "seq": seq,
            "uptime_s": self.started.elapsed().as_secs_f64(),
            "round_trips": self.round_trips(),
            "max_in_flight": self.take_max_in_flight(),
            "ops": ops,
        });
        let obj = out.as_object_mut().expect("an object");
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
        out
    }
}

/// A request being served; dropping it takes it out of the in-flight count.
#[derive(Debug)]
pub struct InFlight<'a> {
    stats: &'a Stats,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_concurrency() {
        let stats = Stats::default();
        {
            let _a = stats.begin(Op::Lookup);
            let _b = stats.begin(Op::Lookup);
            let _c = stats.begin(Op::Forget);
        }
        let _d = stats.begin(Op::Read);
        assert_eq!(stats.count(Op::Lookup), 2);
        assert_eq!(stats.round_trips(), 3, "forget is not a round trip");
        let snap = stats.snapshot("stats", &Map::new());
        assert_eq!(snap["max_in_flight"], 3);
        assert_eq!(snap["ops"]["read"], 1);
        assert_eq!(snap["seq"], 1);
        let next = stats.snapshot("stats", &Map::new());
        assert_eq!(next["seq"], 2);
        assert_eq!(
            next["max_in_flight"], 1,
            "starts over from what is in flight now"
        );
    }

    #[test]
    fn every_op_has_a_distinct_name() {
        let mut names: Vec<_> = Op::ALL.iter().map(|op| op.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Op::ALL.len());
    }
}
