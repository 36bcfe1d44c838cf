//! Temp-dir helpers: an exchange root, the binary run against it, files planted in it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A temporary exchange root (removed on drop).
pub struct Exchange {
    dir: tempfile::TempDir,
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Assert exit 0 and return self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success:\n{self:#?}");
        self
    }

    /// Assert exit `code` and return self.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit {code}:\n{self:#?}");
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Assert a failure with exactly one line on stderr containing `needle`.
    #[track_caller]
    pub fn fails_with(self, needle: &str) -> Self {
        assert_ne!(self.code, 0, "expected failure:\n{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one error line:\n{}", self.stderr);
        assert!(
            lines[0].starts_with("nbgrader-k8s: error: ") && lines[0].contains(needle),
            "{:?} does not mention {needle:?}",
            lines[0]
        );
        self
    }
}

impl Exchange {
    pub fn new() -> Self {
        Exchange {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The exchange root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("exchange")
    }

    /// A path under the temp dir but outside the exchange (rosters, old exchanges...).
    pub fn outside(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A path inside the exchange root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Run `nbgrader-k8s --root ROOT ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    /// Run with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: Option<&str>) -> Output {
        self.run_env(args, input, &[])
    }

    /// Run with `input` on stdin and `env` added to the environment.
    pub fn run_env(&self, args: &[&str], input: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nbgrader-k8s"));
        cmd.envs(env.iter().copied());
        cmd.arg("--root").arg(self.root()).args(args);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.env_remove("NBGRADER_K8S_ROOT");
        let mut child = cmd.spawn().expect("spawn nbgrader-k8s");
        if let Some(input) = input {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().expect("wait");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Write `body` at `rel` in the exchange, creating parents.
    pub fn write(&self, rel: &str, body: &str) -> PathBuf {
        write(&self.path(rel), body)
    }

    /// Create the directory `rel` (and parents) in the exchange.
    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.path(rel);
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// `init` + `provision` of `students` with the current user as owner.
    pub fn course(&self, course: &str, students: &[&str]) {
        let roster = self.outside(&format!("{course}-roster.txt"));
        write(&roster, &students.join("\n"));
        let mut args = vec!["provision", course, "--students", roster.to_str().unwrap()];
        let owner = owner_args();
        args.extend(owner.iter().map(String::as_str));
        self.run(&args).ok();
    }
}

/// Write a file, creating parents.
pub fn write(path: &Path, body: &str) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
    path.to_path_buf()
}

/// `--uid`, `--gid` and `--keeper-uid` as this process: everything we create is ours, and
/// the skeleton's keeper too (a test need not be root).
pub fn owner_args() -> Vec<String> {
    let (uid, gid) = me();
    ["--uid", &uid, "--gid", &gid, "--keeper-uid", &uid]
        .map(str::to_string)
        .to_vec()
}

/// The current uid and gid as strings, for `--uid`/`--gid`.
pub fn me() -> (String, String) {
    (
        rustix::process::getuid().as_raw().to_string(),
        rustix::process::getgid().as_raw().to_string(),
    )
}

/// Mode bits of `path` (no symlink following).
pub fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// (uid, gid) of `path`.
pub fn owner(path: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(path).unwrap();
    (m.uid(), m.gid())
}

/// Set the mode of `path`.
pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Whether the tests run as root (chown to other users works).
pub fn is_root() -> bool {
    rustix::process::getuid().is_root()
}

/// A timestamp in nbgrader's default format.
pub fn ts(when: &str) -> String {
    format!("{when}.000000 UTC")
}

impl Exchange {
    /// A submission `inbound/{student}/{assignment}+{timestamp}+{random}` holding one
    /// notebook, `timestamp.txt` and `submission_secret.txt`, as our submit writes it.
    pub fn submit(
        &self,
        course: &str,
        student: &str,
        assignment: &str,
        timestamp: &str,
        random: &str,
    ) -> PathBuf {
        let dir = self.path(&format!(
            "{course}/inbound/{student}/{assignment}+{timestamp}+{random}"
        ));
        write(
            &dir.join("squares.ipynb"),
            &format!("{{\"cells\": [], \"who\": \"{student}\"}}"),
        );
        write(&dir.join("timestamp.txt"), timestamp);
        write(
            &dir.join("submission_secret.txt"),
            &format!("secret-{student}-{random}"),
        );
        dir
    }

    /// Release feedback for every notebook of `submission` to `feedback_public/{student}`.
    pub fn feedback(&self, course: &str, student: &str, submission: &Path) {
        let secret = fs::read_to_string(submission.join("submission_secret.txt")).unwrap();
        for entry in fs::read_dir(submission).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if let Some(nb) = name.strip_suffix(".ipynb") {
                let key = secret_key(&secret, nb);
                self.write(
                    &format!("{course}/feedback_public/{student}/{key}.html"),
                    "<html>2 / 2</html>",
                );
            }
        }
    }
}

/// The feedback key of notebook `nb` of a submission with `secret` (the core's one rule).
pub fn secret_key(secret: &str, nb: &str) -> String {
    let input = exchange_core::keys::KeyInput {
        course: "",
        assignment: "",
        notebook_id: nb,
        student: "",
        timestamp: "",
        secret: Some(secret),
    };
    exchange_core::keys::feedback_keys(&input, || None).remove(0)
}

/// Where the notary keeps `course`'s ledger.
pub fn ledger_path(ex: &Exchange, course: &str) -> PathBuf {
    ex.path(&format!(".nbk8s-notary/{course}/ledger.jsonl"))
}

/// The notary's ledger records of `course`.
pub fn ledger(ex: &Exchange, course: &str) -> Vec<serde_json::Value> {
    fs::read_to_string(ledger_path(ex, course))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A directory's own name.
pub fn name_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_str().unwrap().to_string()
}

/// A running `nbgrader-k8s notary run` (killed on drop); its JSON log lines are read on a
/// thread, so a test waits for passes with a bound instead of sleeping.
pub struct Daemon {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<serde_json::Value>,
    /// Every log line read so far.
    pub log: Vec<serde_json::Value>,
    /// The `/healthz` and `/metrics` address, when started with `--listen`.
    pub addr: Option<String>,
}

impl Daemon {
    /// Start `notary run ARGS` on `ex`; waits (at most 60 s) until it logged `start`.
    pub fn start(ex: &Exchange, args: &[&str]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nbgrader-k8s"))
            .arg("--root")
            .arg(ex.root())
            .args(["notary", "run"])
            .args(args)
            .env_remove("NBGRADER_K8S_ROOT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nbgrader-k8s notary run");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let v = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({"event": "not_json", "line": line}));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut d = Daemon {
            child,
            lines: rx,
            log: Vec::new(),
            addr: None,
        };
        d.until(std::time::Duration::from_secs(60), |v| {
            v["event"] == "start"
        });
        d
    }

    /// Read log lines until `stop` holds for one (panics after `limit`).
    pub fn until(
        &mut self,
        limit: std::time::Duration,
        mut stop: impl FnMut(&serde_json::Value) -> bool,
    ) {
        let end = std::time::Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            let v = match self.lines.recv_timeout(left) {
                Ok(v) => v,
                Err(e) => panic!(
                    "notary run: no expected log line ({e}); log so far:\n{:#?}",
                    self.log
                ),
            };
            if v["event"] == "listening" {
                self.addr = v["addr"].as_str().map(str::to_string);
            }
            let done = stop(&v);
            self.log.push(v);
            if done {
                return;
            }
        }
    }

    /// Wait for `n` more passes to end (at most `limit` in all).
    pub fn passes(&mut self, n: usize, limit: std::time::Duration) {
        let mut seen = 0;
        self.until(limit, |v| {
            seen += usize::from(v["event"] == "pass");
            seen == n
        });
    }

    /// Stop it, and read what it logged until then.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(v) = self.lines.recv_timeout(std::time::Duration::from_secs(5)) {
            self.log.push(v);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything below `dir` as `lstat` shows it (links never followed): relative path ->
/// kind, mode and content (files), target (links). Two equal trees hold the same bytes.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(base).unwrap().to_path_buf();
            let mode = meta.permissions().mode() & 0o7777;
            let what = if meta.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                walk(base, &path, out);
                format!("dir {mode:o}")
            } else {
                let bytes = fs::read(&path).unwrap();
                format!("file {mode:o} {}", String::from_utf8_lossy(&bytes))
            };
            out.insert(rel, what);
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Replace the directory at `rel` in the exchange by a symlink to `target` (the real one
/// moved to a dot-name at the root, as an instructor would swap it).
pub fn swap_for_link(ex: &Exchange, rel: &str, target: &str) {
    let path = ex.path(rel);
    let away = ex.path(&format!(".away-{}", rel.replace('/', "-")));
    fs::rename(&path, away).unwrap();
    std::os::unix::fs::symlink(target, &path).unwrap();
}

/// `GET path` on `addr` (HTTP/1.0), the whole answer.
pub fn http_get(addr: &str, path: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
