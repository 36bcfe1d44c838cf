//! `nbgrader-k8s notary`: deadline snapshots (docs/notary.md, docs/deadlines.md).

use std::fs;

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::util::*;

fn snapshots(ex: &Exchange, student: &str) -> Vec<Value> {
    ledger(ex, "c1")
        .into_iter()
        .filter(|r| r["event"] == "deadline_snapshot" && r["student"] == student)
        .collect()
}

fn once(ex: &Exchange) {
    ex.run(&["notary", "run", "--once", "--deadline-grace", "0s"])
        .ok();
}

/// `secs` from now in nbgrader's timestamp format and in RFC 3339.
fn at(secs: i64) -> (String, String) {
    let t = Utc::now() + Duration::seconds(secs);
    (
        t.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string(),
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    )
}

#[test]
fn snapshots_keep_the_on_time_submission_once_per_due_date() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob", "carol"]);
    let due = at(-30);
    let doc = json!({"version": 1, "course": "c1", "updated": due.1,
        "assignments": {"ps1": {"due": due.1}}});
    ex.write("c1/outbound/.nbk8s-deadlines.json", &doc.to_string());
    let on_time = ex.submit("c1", "alice", "ps1", &at(-60).0, "a1");
    let late = ex.submit("c1", "alice", "ps1", &at(-5).0, "a2");
    // Claims two hours before the due date, but appears only now: planted.
    ex.submit("c1", "carol", "ps1", &at(-7200).0, "c1");
    once(&ex);

    let alice = snapshots(&ex, "alice");
    assert_eq!(alice.len(), 1, "{alice:#?}");
    assert_eq!(alice[0]["submission"], name_of(&on_time));
    assert_eq!(alice[0]["copy"], "deadline/alice/ps1");
    assert_eq!(alice[0]["due"], due.1);
    let copy = ex.path("c1/.nbk8s-notary/deadline/alice/ps1");
    assert_eq!(
        fs::read_to_string(copy.join("timestamp.txt")).unwrap(),
        fs::read_to_string(on_time.join("timestamp.txt")).unwrap()
    );
    let carol = snapshots(&ex, "carol");
    assert_eq!(carol[0]["submission"], Value::Null, "{carol:#?}");
    assert!(
        snapshots(&ex, "bob").is_empty(),
        "no submission: no snapshot"
    );
    let index: Value =
        serde_json::from_str(&fs::read_to_string(ex.path("c1/.nbk8s-notary/index.json")).unwrap())
            .unwrap();
    let entry = &index["deadlines"]["alice/ps1"];
    assert_eq!(entry["submission"], name_of(&on_time));
    assert_eq!(entry["copy"], "deadline/alice/ps1");
    assert_eq!(entry["due"], due.1);

    // Editing or deleting it after the deadline changes nothing kept; a restart takes no
    // snapshot again.
    fs::remove_dir_all(&on_time).unwrap();
    fs::remove_dir_all(&late).unwrap();
    once(&ex);
    once(&ex);
    assert_eq!(snapshots(&ex, "alice").len(), 1);
    assert!(copy.join("squares.ipynb").exists());

    // An extension moves alice's due date: a new snapshot for it (the ledger keeps both).
    let until = at(-20);
    let ext = json!({"version": 1, "course": "c1", "student": "alice", "updated": until.1,
        "extensions": {"ps1": {"until": until.1, "granted": until.1}}});
    ex.write(
        "c1/feedback_public/alice/.nbk8s-deadlines.json",
        &ext.to_string(),
    );
    once(&ex);
    let alice = snapshots(&ex, "alice");
    assert_eq!(alice.len(), 2, "{alice:#?}");
    assert_eq!(alice[1]["due"], until.1);
    // What it kept is gone from the inbox and no sealed copy was kept: said so.
    assert_eq!(alice[1]["submission"], name_of(&on_time));
    assert_eq!(alice[1]["copy"], Value::Null);
    assert!(alice[1]["not_kept"]
        .as_str()
        .unwrap()
        .contains("no sealed copy"));

    let log = ex.run(&["notary", "log", "c1", "--student", "alice"]).ok();
    assert!(
        log.stdout.contains("deadline_snapshot")
            && log.stdout.contains("kept in deadline/alice/ps1")
            && log.stdout.contains("NOT KEPT"),
        "{}",
        log.stdout
    );
    ex.run(&["notary", "verify", "c1"]).ok();
}

#[test]
fn a_complete_pass_the_attribute_cache_after_a_due_date_covers_it_once() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    let due = at(-30);
    let doc = json!({"version": 1, "course": "c1", "updated": due.1,
        "assignments": {"ps1": {"due": due.1}}});
    ex.write("c1/outbound/.nbk8s-deadlines.json", &doc.to_string());
    let until = at(-10);
    let ext = json!({"version": 1, "course": "c1", "student": "alice", "updated": until.1,
        "extensions": {"ps1": {"until": until.1, "granted": until.1}}});
    ex.write(
        "c1/feedback_public/alice/.nbk8s-deadlines.json",
        &ext.to_string(),
    );
    let passes = |ex: &Exchange| -> Vec<Value> {
        ledger(ex, "c1")
            .into_iter()
            .filter(|r| r["event"] == "due_pass")
            .collect()
    };
    // Attributes cached for an hour could be older than either due date: nothing covered.
    ex.run(&["notary", "run", "--once", "--attr-cache", "1h"])
        .ok();
    assert!(passes(&ex).is_empty());
    ex.run(&["notary", "run", "--once", "--attr-cache", "3s"])
        .ok();
    ex.run(&["notary", "run", "--once", "--attr-cache", "3s"])
        .ok();
    let found = passes(&ex);
    let dues: Vec<&str> = found.iter().map(|r| r["due"].as_str().unwrap()).collect();
    assert_eq!(dues, [due.1.as_str(), until.1.as_str()], "once each");
    let index: Value =
        serde_json::from_str(&fs::read_to_string(ex.path("c1/.nbk8s-notary/index.json")).unwrap())
            .unwrap();
    let entry = &index["due_passes"][due.1.as_str()];
    assert_eq!(entry["completed"], found[0]["time"]);
    assert_eq!(entry["started"], found[0]["started"]);
    assert!(entry["started"].as_str().unwrap() > due.1.as_str());
    let log = ex.run(&["notary", "log", "c1"]).ok();
    assert!(
        log.stdout.contains(&format!("due date {} covered", due.1)),
        "{}",
        log.stdout
    );
}
