//! `/healthz` and Prometheus `/metrics` for `notary run --listen`: a plain HTTP/1.0 answer
//! per connection. Each connection gets its own thread and an overall deadline
//! ([`CONNECTION_DEADLINE`]), and at most [`MAX_CONNECTIONS`] are served at once, so a
//! client that sends its request a byte at a time delays nobody else (one such client made
//! every one-second probe fail when connections were served one after another).
//!
//! Health is progress, not only a first pass: the pass loop and its workers mark each step
//! ([`progress`]), and `/healthz` answers 200 while a pass ended recently, or the current one
//! is still moving, so a long first pass is healthy and a stuck one is not.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::log::log;

/// The longest one connection is served: request read and answer written.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(5);

/// Connections served at once; more are closed at once (a scrape or probe retries).
pub const MAX_CONNECTIONS: usize = 32;

/// Unix time of the last step of the pass loop or a worker (0: none yet).
static PROGRESS: AtomicI64 = AtomicI64::new(0);

/// Mark that the notary moved on (a pass began or ended, a course or inbox was looked at).
pub fn progress() {
    PROGRESS.store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
}

fn last_progress() -> i64 {
    PROGRESS.load(Ordering::Relaxed)
}

/// One course's figures.
#[derive(Debug, Clone, Default)]
pub struct CourseMetrics {
    /// Course id.
    pub course: String,
    /// Seals still as sealed.
    pub sealed: u64,
    /// Seals changed after the seal.
    pub changed: u64,
    /// Seals whose submission is gone.
    pub vanished: u64,
    /// Size of the ledger.
    pub ledger_bytes: u64,
    /// Looks and writes that failed in the last pass.
    pub errors: u64,
    /// Bytes of the largest inbox.
    pub largest_bytes: u64,
    /// Submissions over a digest cap (not sealed).
    pub too_big: u64,
    /// Inboxes with submissions left for the next pass.
    pub deferred: u64,
}

/// What the running notary last measured.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Passes done.
    pub passes: u64,
    /// Duration of the last pass.
    pub last_pass_seconds: f64,
    /// When the last pass ended.
    pub last_pass_unix: i64,
    /// Records appended since the start.
    pub records_total: u64,
    /// The pass interval (for health).
    pub interval_seconds: f64,
    /// Per course.
    pub courses: Vec<CourseMetrics>,
    /// Courses that could not be opened in the last pass.
    pub courses_skipped: u64,
    /// When the pass under way began (None between passes).
    pub pass_started_unix: Option<i64>,
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let one = |v: String| vec![(String::new(), v)];
        metric(
            "nbk8s_notary_passes_total",
            "counter",
            "Passes done since the start.",
            one(self.passes.to_string()),
        );
        metric(
            "nbk8s_notary_pass_duration_seconds",
            "gauge",
            "Duration of the last pass.",
            one(self.last_pass_seconds.to_string()),
        );
        metric(
            "nbk8s_notary_last_pass_timestamp_seconds",
            "gauge",
            "Unix time the last pass ended.",
            one(self.last_pass_unix.to_string()),
        );
        metric(
            "nbk8s_notary_records_total",
            "counter",
            "Ledger records appended since the start.",
            one(self.records_total.to_string()),
        );
        let per = |f: &dyn Fn(&CourseMetrics) -> u64| {
            self.courses
                .iter()
                .map(|c| {
                    (
                        format!("{{course=\"{}\"}}", label(&c.course)),
                        f(c).to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        metric(
            "nbk8s_notary_submissions_sealed",
            "gauge",
            "Sealed submissions per course (every state).",
            per(&|c| c.sealed + c.changed + c.vanished),
        );
        metric(
            "nbk8s_notary_changed_after_seal",
            "gauge",
            "Sealed submissions whose files changed after the seal.",
            per(&|c| c.changed),
        );
        metric(
            "nbk8s_notary_vanished_after_seal",
            "gauge",
            "Sealed submissions deleted after the seal.",
            per(&|c| c.vanished),
        );
        metric(
            "nbk8s_notary_ledger_bytes",
            "gauge",
            "Size of the course's ledger.",
            per(&|c| c.ledger_bytes),
        );
        metric(
            "nbk8s_notary_pass_errors",
            "gauge",
            "Looks and writes that failed in the course's last pass (each is logged: a link \
             where a directory belongs, an unreadable listing, a write refused).",
            per(&|c| c.errors),
        );
        metric(
            "nbk8s_notary_courses_skipped",
            "gauge",
            "Courses whose ledger could not be opened in the last pass (logged).",
            one(self.courses_skipped.to_string()),
        );
        metric(
            "nbk8s_notary_inbox_bytes_max",
            "gauge",
            "Bytes in the course's largest student inbox (who it is: usage.json, status).",
            per(&|c| c.largest_bytes),
        );
        metric(
            "nbk8s_notary_submissions_too_big",
            "gauge",
            "Submissions over --max-files or --max-bytes, not sealed (each logged once).",
            per(&|c| c.too_big),
        );
        metric(
            "nbk8s_notary_inboxes_deferred",
            "gauge",
            "Inboxes with more than --per-inbox submissions to digest: the rest wait a pass.",
            per(&|c| c.deferred),
        );
        out
    }

    /// How long without progress is unhealthy: three intervals plus a minute.
    fn bound(&self) -> i64 {
        (3.0 * self.interval_seconds + 60.0) as i64
    }

    /// Healthy: a pass ended within the bound, or the one under way (the first, say) made
    /// progress within it.
    pub fn healthy(&self, now_unix: i64, progress_unix: i64) -> bool {
        let ended = self.passes > 0 && now_unix - self.last_pass_unix <= self.bound();
        let moving = self.pass_started_unix.is_some() && now_unix - progress_unix <= self.bound();
        ended || moving
    }

    /// The `/healthz` body: whether healthy, and the times it is judged by.
    pub fn health_json(&self, now_unix: i64, progress_unix: i64) -> serde_json::Value {
        let at = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .filter(|_| t > 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        json!({
            "ok": self.healthy(now_unix, progress_unix),
            "passes": self.passes,
            "last_pass_end": at(self.last_pass_unix),
            "last_pass_seconds": self.last_pass_seconds,
            "pass_started": self.pass_started_unix.and_then(at),
            "last_progress": at(progress_unix),
            "bound_seconds": self.bound(),
        })
    }
}

/// Serve `/healthz` and `/metrics` on `addr` from background threads.
pub fn serve(addr: &str, metrics: Arc<Mutex<Metrics>>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    log(
        "info",
        "listening",
        json!({"addr": listener.local_addr().map(|a| a.to_string()).unwrap_or_default()}),
    );
    let open = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if open.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                open.fetch_sub(1, Ordering::AcqRel);
                continue; // dropped: closed at once
            }
            let (mine, metrics) = (Arc::clone(&open), Arc::clone(&metrics));
            let spawned = std::thread::Builder::new()
                .name("notary-http".into())
                .spawn(move || {
                    answer(stream, &metrics);
                    mine.fetch_sub(1, Ordering::AcqRel);
                });
            if spawned.is_err() {
                open.fetch_sub(1, Ordering::AcqRel);
            }
        }
    });
    Ok(())
}

/// Read one request head and answer it, all within [`CONNECTION_DEADLINE`].
fn answer(mut stream: TcpStream, metrics: &Mutex<Metrics>) {
    let end = Instant::now() + CONNECTION_DEADLINE;
    let left = || {
        end.checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    };
    // The whole request head, so that closing never resets an unread request.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
        let Some(rest) = left() else { return };
        if stream.set_read_timeout(Some(rest)).is_err() {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return,
        }
    }
    let request = String::from_utf8_lossy(&buf);
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let snapshot = metrics.lock().map(|m| m.clone()).unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let (status, kind, body) = match path {
        "/metrics" => ("200 OK", "text/plain; version=0.0.4", snapshot.render()),
        "/healthz" => {
            let health = snapshot.health_json(now, last_progress());
            let status = if health["ok"] == true {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            (status, "application/json", format!("{health}\n"))
        }
        _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
    };
    let Some(rest) = left() else { return };
    let _ = stream.set_write_timeout(Some(rest));
    let _ = write!(
        stream,
        "HTTP/1.0 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
