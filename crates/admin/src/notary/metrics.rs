//! `/healthz` and Prometheus `/metrics` for `notary run --listen`: a plain HTTP/1.0 answer
//! per connection from one thread (a scrape every few seconds needs no more).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use super::log::log;
use super::observe::Usage;

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
    /// Largest inboxes.
    pub largest: Vec<(String, Usage)>,
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
        let largest = self
            .courses
            .iter()
            .flat_map(|c| {
                c.largest.iter().map(move |(s, u)| {
                    (
                        format!(
                            "{{course=\"{}\",student=\"{}\"}}",
                            label(&c.course),
                            label(s)
                        ),
                        u.bytes.to_string(),
                    )
                })
            })
            .collect();
        metric(
            "nbk8s_notary_inbox_bytes",
            "gauge",
            "Bytes in the largest student inboxes (top 5 per course).",
            largest,
        );
        out
    }

    /// Healthy: a pass ended within three intervals (plus a minute for a long recheck).
    pub fn healthy(&self, now_unix: i64) -> bool {
        self.passes > 0
            && (now_unix - self.last_pass_unix) as f64 <= 3.0 * self.interval_seconds + 60.0
    }
}

/// Serve `/healthz` and `/metrics` on `addr` from a background thread.
pub fn serve(addr: &str, metrics: Arc<Mutex<Metrics>>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    log(
        "info",
        "listening",
        json!({"addr": listener.local_addr().map(|a| a.to_string()).unwrap_or_default()}),
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            // The whole request head, so that closing never resets an unread request.
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let request = String::from_utf8_lossy(&buf);
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let snapshot = metrics.lock().map(|m| m.clone()).unwrap_or_default();
            let (status, body) = match path {
                "/metrics" => ("200 OK", snapshot.render()),
                "/healthz" if snapshot.healthy(chrono::Utc::now().timestamp()) => {
                    ("200 OK", "ok\n".to_string())
                }
                "/healthz" => ("503 Service Unavailable", "no recent pass\n".to_string()),
                _ => ("404 Not Found", "not found\n".to_string()),
            };
            let _ = write!(
                stream,
                "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Write);
        }
    });
    Ok(())
}
