//! `nbgrader-k8s gc`.

use std::fs;
use std::time::{Duration, SystemTime};

use crate::util::*;

/// Set the mtime of `path` to `secs` ago.
fn age(path: &std::path::Path, secs: u64) {
    let when = SystemTime::now() - Duration::from_secs(secs);
    fs::File::open(path).unwrap().set_modified(when).unwrap();
}

/// bob: three ps1 submissions and one ps2; old and fresh staging here and there.
fn course() -> Exchange {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    ex.mkdir("c1/outbound/ps1");
    ex.submit("c1", "bob", "ps1", &ts("2024-03-01 10:00:00"), "one");
    ex.submit("c1", "bob", "ps1", &ts("2024-03-02 10:00:00"), "two");
    ex.submit(
        "c1",
        "bob",
        "ps1",
        "2024-03-03 12:00:00.000000 +0100",
        "three",
    );
    ex.submit("c1", "bob", "ps2", &ts("2024-03-01 09:00:00"), "p2");
    ex.submit("c1", "alice", "ps1", &ts("2024-03-01 10:00:00"), "a");
    ex.mkdir("c1/inbound/bob/ps1+not a time+x");
    age(&ex.mkdir("c1/inbound/alice/.nbk8s-staging-old"), 7200);
    ex.mkdir("c1/inbound/alice/.nbk8s-staging-new");
    age(
        &ex.write("c1/feedback_public/bob/.nbk8s-tmp-old", "x"),
        7200,
    );
    age(&ex.mkdir("c1/outbound/.nbk8s-trash-old"), 7200);
    ex
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    n.sort();
    n
}

#[test]
fn dry_run_by_default() {
    let ex = course();
    let out = ex.run(&["gc", "c1", "--keep-last", "1"]).ok();
    assert!(
        out.stdout
            .contains("would remove 3 staging, 2 old resubmissions (dry run"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("would remove  staging"),
        "{}",
        out.stdout
    );
    assert!(ex.path("c1/inbound/alice/.nbk8s-staging-old").exists());
    assert_eq!(names(&ex.path("c1/inbound/bob")).len(), 5);
    let v = ex.run(&["gc", "c1", "--json"]).ok().json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["summary"]["staging"], 3);
    assert_eq!(v["summary"]["resubmissions"], 0);
    assert_eq!(v["summary"]["removed"], 0);
}

#[test]
fn removes_with_yes() {
    let ex = course();
    let v = ex
        .run(&["gc", "c1", "--keep-last", "1", "--yes", "--json"])
        .ok()
        .json();
    assert_eq!(v["summary"]["removed"], 5);
    assert_eq!(
        names(&ex.path("c1/inbound/bob")),
        [
            "ps1+2024-03-03 12:00:00.000000 +0100+three",
            "ps1+not a time+x",
            "ps2+2024-03-01 09:00:00.000000 UTC+p2"
        ]
    );
    assert_eq!(
        names(&ex.path("c1/inbound/alice")),
        [".nbk8s-staging-new", "ps1+2024-03-01 10:00:00.000000 UTC+a"]
    );
    assert_eq!(names(&ex.path("c1/outbound")), ["ps1"]);
    assert!(names(&ex.path("c1/feedback_public/bob")).is_empty());
    // Nothing left to do.
    let out = ex.run(&["gc", "c1", "--keep-last", "1", "--yes"]).ok();
    assert_eq!(
        out.stdout,
        "c1: removed 0 of 0 staging, 0 old resubmissions\n"
    );
}

#[test]
fn keep_last_and_older_than() {
    let ex = course();
    let v = ex
        .run(&["gc", "c1", "--keep-last", "2", "--json"])
        .ok()
        .json();
    let cands = v["candidates"].as_array().unwrap();
    let subs: Vec<_> = cands
        .iter()
        .filter(|c| c["kind"] == "resubmission")
        .collect();
    assert_eq!(subs.len(), 1);
    assert!(subs[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("ps1+2024-03-01 10:00:00.000000 UTC+one"));
    // Every submission is from 2024: none is older than ~19,000 years, all are older than a day.
    let v = ex
        .run(&[
            "gc",
            "c1",
            "--keep-last",
            "1",
            "--older-than",
            "999999w",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(v["summary"]["resubmissions"], 0);
    let v = ex
        .run(&[
            "gc",
            "c1",
            "--keep-last",
            "1",
            "--older-than",
            "1d",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(v["summary"]["resubmissions"], 2);
}

#[test]
fn errors() {
    let ex = course();
    ex.run(&["gc", "c1", "--keep-last", "0"])
        .code(1)
        .fails_with("--keep-last must be at least 1");
    ex.run(&["gc", "nope"])
        .code(1)
        .fails_with("course \"nope\" does not exist");
    assert_eq!(ex.run(&["gc", "c1", "--older-than", "1d"]).code, 2);
    assert_eq!(ex.run(&["gc", "c1", "--staging-age", "soon"]).code, 2);
}

#[test]
fn removed_submissions_stay_until_removed_age() {
    let ex = course();
    let moved = "c1/.nbk8s-removed/bob/ps1+2024-03-01 10:00:00.000000 UTC+one";
    ex.write(&format!("{moved}/p.ipynb"), "one");
    ex.write("c1/.nbk8s-removed/removals.jsonl", "{}\n");
    // Not a leftover, not a student, not a resubmission: a default gc keeps it.
    let v = ex
        .run(&["gc", "c1", "--keep-last", "1", "--yes", "--json"])
        .ok()
        .json();
    assert_eq!(v["summary"]["removed_submissions"], 0);
    assert!(ex.path(moved).join("p.ipynb").exists());
    let out = ex.run(&["gc", "c1", "--removed-age", "0s"]).ok();
    assert!(
        out.stdout.contains("1 removed submissions (dry run"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(".nbk8s-removed/bob/ps1+"),
        "{}",
        out.stdout
    );
    ex.run(&["gc", "c1", "--removed-age", "0s", "--yes"]).ok();
    assert!(!ex.path(moved).exists());
    // The log is the record of what was removed: gc never clears it.
    assert_eq!(
        fs::read_to_string(ex.path("c1/.nbk8s-removed/removals.jsonl")).unwrap(),
        "{}\n"
    );
}
