//! The notary's clock and its structured log: one JSON object per line on stderr.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

static QUIET_INFO: AtomicBool = AtomicBool::new(false);

/// Leave out info lines (warnings and errors still print).
pub fn set_quiet(quiet: bool) {
    QUIET_INFO.store(quiet, Ordering::Relaxed);
}

/// Now, as RFC 3339 UTC with microseconds (`2026-12-01T19:45:12.123456Z`).
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Now in whole seconds since the epoch.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Log `event` at `level` ("info", "warning", "error") with `fields` (a JSON object).
pub fn log(level: &str, event: &str, fields: Value) {
    if level == "info" && QUIET_INFO.load(Ordering::Relaxed) {
        return;
    }
    let mut line = Map::new();
    line.insert("time".into(), now().into());
    line.insert("level".into(), level.into());
    line.insert("event".into(), event.into());
    if let Value::Object(fields) = fields {
        line.extend(fields);
    }
    eprintln!("{}", Value::Object(line));
}
