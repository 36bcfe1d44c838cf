//! The JSON of the two deadline files (docs/deadlines.md), read defensively: whatever is
//! wrong with an entry drops that entry with a warning; what is wrong with the whole file
//! drops the file with a warning. Nothing here fails.

use serde_json::{json, Map, Value};

use super::{
    horizon, parse_rfc3339, readable, rfc3339, CourseDeadlines, Extension, Granted,
    StudentDeadlines, HORIZON_DAYS, VERSION,
};
use crate::ids::{problem, IdKind};

/// The object of a whole file, or why not.
fn top<'a>(value: &'a Value, expect_key: &str) -> Result<&'a Map<String, Value>, String> {
    let obj = value.as_object().ok_or("not a JSON object")?;
    match obj.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "version {v} is not understood (expected {VERSION})"
            ))
        }
        None => return Err("no \"version\"".into()),
    }
    if !obj.get(expect_key).is_some_and(Value::is_object) {
        return Err(format!("no \"{expect_key}\" object"));
    }
    Ok(obj)
}

fn updated(obj: &Map<String, Value>) -> Option<chrono::NaiveDateTime> {
    obj.get("updated")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
}

/// Entries of `obj[key]` whose names are valid assignment ids; bad names are warned.
fn entries<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    warn: &mut dyn FnMut(String),
) -> Vec<(&'a String, &'a Map<String, Value>)> {
    let mut out = Vec::new();
    for (name, entry) in obj[key].as_object().into_iter().flatten() {
        if let Some(reason) = problem(IdKind::Assignment, name) {
            warn(format!(
                "entry {name:?} skipped: invalid assignment id ({reason})"
            ));
            continue;
        }
        match entry.as_object() {
            Some(e) => out.push((name, e)),
            None => warn(format!("entry {name:?} skipped: not an object")),
        }
    }
    out
}

/// Decode the course-wide file.
pub(super) fn decode_course(bytes: &[u8], warn: &mut dyn FnMut(String)) -> CourseDeadlines {
    let mut out = CourseDeadlines::default();
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            warn(format!("ignored: not valid JSON ({e})"));
            return out;
        }
    };
    let obj = match top(&value, "assignments") {
        Ok(obj) => obj,
        Err(e) => {
            warn(format!("ignored: {e}"));
            return out;
        }
    };
    out.updated = updated(obj);
    for (name, entry) in entries(obj, "assignments", warn) {
        match entry
            .get("due")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
        {
            Some(due) if !readable(due) => warn(format!(
                "entry {name:?} skipped: \"due\" {} is out of range (1970 to 9998)",
                rfc3339(&due)
            )),
            Some(due) => {
                out.due.insert(name.clone(), due);
            }
            None => warn(format!(
                "entry {name:?} skipped: \"due\" is not an RFC 3339 time"
            )),
        }
    }
    out
}

/// Decode one student's file.
pub(super) fn decode_student(bytes: &[u8], warn: &mut dyn FnMut(String)) -> StudentDeadlines {
    let mut out = StudentDeadlines::default();
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            warn(format!("ignored: not valid JSON ({e})"));
            return out;
        }
    };
    let obj = match top(&value, "extensions") {
        Ok(obj) => obj,
        Err(e) => {
            warn(format!("ignored: {e}"));
            return out;
        }
    };
    out.updated = updated(obj);
    for (name, entry) in entries(obj, "extensions", warn) {
        let until = entry.get("until").and_then(Value::as_str);
        let by = entry.get("by_seconds");
        let extension = match (until, by) {
            (Some(t), None) => parse_rfc3339(t).map(Extension::Until),
            (None, Some(secs)) => secs.as_i64().filter(|s| *s >= 0).map(Extension::By),
            _ => None,
        };
        let Some(extension) = extension else {
            warn(format!(
                "entry {name:?} skipped: needs exactly one of \"until\" (RFC 3339) or \
                 \"by_seconds\" (0 or more)"
            ));
            continue;
        };
        // Beyond what any writer grants: the course-wide due date stands.
        let beyond = match extension {
            Extension::By(secs) => secs > horizon().num_seconds(),
            Extension::Until(t) => !readable(t),
        };
        if beyond {
            warn(format!(
                "entry {name:?} skipped: the extension is beyond the horizon ({HORIZON_DAYS} \
                 days past the course-wide due date, due dates 1970 to 9998); the course-wide \
                 due date holds"
            ));
            continue;
        }
        let granted = entry
            .get("granted")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
            .unwrap_or_default();
        out.extensions
            .insert(name.clone(), Granted { extension, granted });
    }
    out
}

fn now() -> String {
    rfc3339(&chrono::Utc::now().naive_utc())
}

/// Encode the course-wide file.
pub(super) fn encode_course(course: &str, data: &CourseDeadlines) -> Vec<u8> {
    let assignments: Map<String, Value> = data
        .due
        .iter()
        .map(|(a, due)| (a.clone(), json!({ "due": rfc3339(due) })))
        .collect();
    pretty(json!({
        "version": VERSION,
        "course": course,
        "updated": now(),
        "assignments": assignments,
    }))
}

/// Encode one student's file.
pub(super) fn encode_student(course: &str, student: &str, data: &StudentDeadlines) -> Vec<u8> {
    let extensions: Map<String, Value> = data
        .extensions
        .iter()
        .map(|(a, g)| {
            let mut e = match g.extension {
                Extension::By(secs) => json!({ "by_seconds": secs }),
                Extension::Until(t) => json!({ "until": rfc3339(&t) }),
            };
            e["granted"] = json!(rfc3339(&g.granted));
            (a.clone(), e)
        })
        .collect();
    pretty(json!({
        "version": VERSION,
        "course": course,
        "student": student,
        "updated": now(),
        "extensions": extensions,
    }))
}

fn pretty(value: Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(&value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
