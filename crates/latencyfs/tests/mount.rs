//! Mount tests: run the real binary over a temp dir, work through the mount, check what the
//! backing directory and the request counters say.
//!
//! They need `/dev/fuse` and the right to mount (root, or `fusermount3`); where that is
//! missing they print why and pass, so `cargo test` still works in a plain container.

use std::fs;
use std::io::{BufRead, BufReader, Lines};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use serde_json::Value;

/// A running `latencyfs` over a temp dir; unmounts on drop.
struct Mount {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    dir: tempfile::TempDir,
}

impl Mount {
    fn start(extra: &[&str]) -> Option<Mount> {
        if fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/fuse")
            .is_err()
        {
            eprintln!("skipped: /dev/fuse cannot be opened here");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("backing")).unwrap();
        fs::create_dir(dir.path().join("mnt")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_latencyfs"))
            .args(extra)
            .arg(dir.path().join("backing"))
            .arg(dir.path().join("mnt"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        match lines.next() {
            Some(Ok(line)) => {
                let first: Value = serde_json::from_str(&line).unwrap();
                assert_eq!(first["event"], "mounted");
            }
            _ => {
                let status = child.wait().unwrap();
                eprintln!("skipped: latencyfs could not mount ({status})");
                return None;
            }
        }
        Some(Mount { child, lines, dir })
    }

    fn mnt(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    fn backing(&self) -> PathBuf {
        self.dir.path().join("backing")
    }

    fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(self.child.id() as i32).unwrap();
        kill_process(pid, signal).unwrap();
    }

    /// The counters now (asks with SIGUSR1, reads the line it prints).
    fn stats(&mut self) -> Value {
        self.signal(Signal::USR1);
        let line = self.lines.next().unwrap().unwrap();
        let stats: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(stats["event"], "stats");
        stats
    }

    /// Unmount with SIGTERM; returns the final counters.
    fn stop(mut self) -> Value {
        self.signal(Signal::TERM);
        let line = self.lines.next().unwrap().unwrap();
        assert!(self.child.wait().unwrap().success());
        let last: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(last["event"], "final");
        assert!(!is_mounted(&self.mnt()), "still mounted after SIGTERM");
        last
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill_process(Pid::from_raw(self.child.id() as i32).unwrap(), Signal::TERM);
            let _ = self.child.wait();
        }
    }
}

fn is_mounted(path: &Path) -> bool {
    let wanted = path.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(wanted.as_str()))
}

fn ops(stats: &Value, op: &str) -> u64 {
    stats["ops"][op].as_u64().unwrap()
}

#[test]
fn files_and_directories_pass_through_and_are_counted() {
    let Some(mut m) = Mount::start(&["--latency-ms", "0", "--attr-timeout-s", "0"]) else {
        return;
    };
    let mnt = m.mnt();
    fs::create_dir_all(mnt.join("inbound/alice")).unwrap();
    let staging = mnt.join("inbound/alice/.staging");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("ps1.ipynb"), b"{\"cells\": []}").unwrap();
    fs::set_permissions(staging.join("ps1.ipynb"), fs::Permissions::from_mode(0o640)).unwrap();
    // A directory rename carries its contents (the staging-then-publish pattern).
    let published = mnt.join("inbound/alice/ps1+2024-01-01+abc");
    fs::rename(&staging, &published).unwrap();
    assert_eq!(
        fs::read(published.join("ps1.ipynb")).unwrap(),
        b"{\"cells\": []}"
    );
    let md = fs::metadata(published.join("ps1.ipynb")).unwrap();
    assert_eq!(md.mode() & 0o777, 0o640);
    std::os::unix::fs::symlink("ps1.ipynb", published.join("link")).unwrap();
    assert_eq!(
        fs::read_link(published.join("link")).unwrap(),
        PathBuf::from("ps1.ipynb")
    );
    let mut names: Vec<_> = fs::read_dir(&published)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["link", "ps1.ipynb"]);

    // What the backing directory holds is exactly what was done through the mount.
    let backing = m
        .backing()
        .join("inbound/alice/ps1+2024-01-01+abc/ps1.ipynb");
    assert_eq!(fs::read(&backing).unwrap(), b"{\"cells\": []}");
    assert!(!m.backing().join("inbound/alice/.staging").exists());

    let stats = m.stats();
    assert!(ops(&stats, "mkdir") >= 3);
    assert!(ops(&stats, "create") >= 1);
    assert!(ops(&stats, "write") >= 1);
    assert_eq!(ops(&stats, "rename"), 1);
    assert!(ops(&stats, "read") >= 1);
    assert!(ops(&stats, "symlink") == 1 && ops(&stats, "readlink") == 1);
    assert!(stats["round_trips"].as_u64().unwrap() > 10);

    fs::remove_file(published.join("link")).unwrap();
    fs::remove_dir_all(mnt.join("inbound")).unwrap();
    assert!(fs::read_dir(m.backing()).unwrap().next().is_none());
    let last = m.stop();
    assert!(ops(&last, "unlink") >= 2 && ops(&last, "rmdir") >= 3);
}

#[test]
fn requests_wait_the_latency_and_are_served_in_parallel() {
    let Some(mut m) = Mount::start(&["--latency-ms", "50", "--attr-timeout-s", "0"]) else {
        return;
    };
    for i in 0..8 {
        fs::write(m.backing().join(format!("f{i}")), b"x").unwrap();
    }
    let before = m.stats()["round_trips"].as_u64().unwrap();
    // One stat: at least a lookup, so at least one latency.
    let t = Instant::now();
    fs::metadata(m.mnt().join("f0")).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(50));
    // Eight stats at once overlap: far less than eight latencies in a row.
    let t = Instant::now();
    let mnt = m.mnt();
    let workers: Vec<_> = (1..8)
        .map(|i| {
            let path = mnt.join(format!("f{i}"));
            thread::spawn(move || fs::metadata(path).unwrap())
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = t.elapsed();
    assert!(elapsed < Duration::from_millis(7 * 50), "{elapsed:?}");
    let stats = m.stats();
    assert!(stats["max_in_flight"].as_u64().unwrap() >= 2);
    assert!(stats["round_trips"].as_u64().unwrap() >= before + 8);
    m.stop();
}

#[test]
fn the_attribute_cache_saves_round_trips() {
    let Some(mut m) = Mount::start(&["--latency-ms", "0", "--attr-timeout-s", "60"]) else {
        return;
    };
    fs::write(m.backing().join("f"), b"x").unwrap();
    let path = m.mnt().join("f");
    fs::metadata(&path).unwrap();
    let first = m.stats()["round_trips"].as_u64().unwrap();
    for _ in 0..20 {
        fs::metadata(&path).unwrap();
        assert!(!m.mnt().join("missing").exists());
    }
    let later = m.stats()["round_trips"].as_u64().unwrap();
    // Only the first look at "missing" goes out; then both names are cached.
    assert!(later - first <= 2, "{first} -> {later}");
    m.stop();
}
