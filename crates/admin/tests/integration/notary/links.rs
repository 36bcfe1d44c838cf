//! An instructor of course A replaces one of A's directories (or the notary's own ledger
//! directory is replaced) by a link into course B, between two passes of a running notary
//! and before a restart: nothing of B is read into anything of A's (ledger, index, copies,
//! usage), nothing in B changes, and the pass says where the link is.

use std::fs;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

/// What in B only B may hold: its assignment, its submissions' random parts, a student
/// only in B, the submission B's instructor removed, and B's feedback key.
const B_MARKERS: [&str; 4] = ["bonly", "bzed", "bremoved", "only-in-b"];

/// Courses A and B with alice and bob in both (zed only in B); submissions, feedback, a
/// fetch marker and a removal in B; a submission of alice and an empty removals dir in A.
fn two_courses(ex: &Exchange) -> String {
    ex.course("A", &["alice", "bob"]);
    ex.course("B", &["alice", "bob", "zed"]);
    ex.submit("A", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    ex.mkdir("A/.nbk8s-removed");
    let b = ex.submit("B", "alice", "bonly", &ts("2026-12-01 10:00:00"), "bbbb");
    ex.submit("B", "zed", "bonly", &ts("2026-12-01 10:00:00"), "bzed");
    ex.feedback("B", "alice", &b);
    ex.write("B/feedback_public/alice/only-in-b.html", "<html/>");
    ex.write(
        "B/inbound/alice/.nbk8s-fetched/bonly+2026-12-01 09:00:00.000000 UTC",
        "",
    );
    let gone = ex.submit("B", "bob", "bonly", &ts("2026-12-01 10:00:00"), "bremoved");
    ex.mkdir("B/.nbk8s-removed/bob");
    fs::rename(
        &gone,
        ex.path(&format!("B/.nbk8s-removed/bob/{}", name_of(&gone))),
    )
    .unwrap();
    ex.write(
        "B/.nbk8s-removed/removals.jsonl",
        &format!(
            "{}\n",
            serde_json::json!({"time": "2026-12-02T00:00:00Z", "course": "B", "student": "bob",
                "assignment": "bonly", "submission": name_of(&gone), "by": "prof-b"})
        ),
    );
    // B's feedback key, which A must never record.
    let secret = fs::read_to_string(b.join("submission_secret.txt")).unwrap();
    secret_key(&secret, "squares")
}

/// B's tree, with the notary's own copies for B's instructors (rewritten for B on every
/// pass that appends to B's ledger, e.g. its restart record) compared without their
/// `updated`, `head` and `seq`: what they say about B must not change either.
fn b_tree(ex: &Exchange) -> std::collections::BTreeMap<std::path::PathBuf, String> {
    let mut t = tree(&ex.path("B"));
    for (rel, what) in t.iter_mut() {
        if rel.starts_with(".nbk8s-notary") && rel.extension().is_some_and(|e| e == "json") {
            let mut v: Value =
                serde_json::from_str(&fs::read_to_string(ex.path("B").join(rel)).unwrap()).unwrap();
            for k in ["updated", "head", "seq"] {
                v.as_object_mut().unwrap().remove(k);
            }
            *what = v.to_string();
        }
    }
    t
}

/// Text of every regular file on the volume outside B and B's ledger (links not
/// followed).
fn outside_b(ex: &Exchange) -> String {
    let mut all = String::new();
    for (rel, what) in tree(&ex.root()) {
        if rel.starts_with("B") || rel.starts_with(".nbk8s-notary/B") {
            continue;
        }
        all.push_str(&format!("{}: {what}\n", rel.display()));
    }
    all
}

/// Plant `link -> target` after a clean pass of a running notary, let it pass twice more,
/// then restart it once: B unchanged, nothing of B outside B, the link reported.
fn link_into_b(link: &str, target: &str) {
    // The running notary holds its ledger open: only a restart goes through that link.
    let running_notices = !link.starts_with(".nbk8s-notary");
    let ex = Exchange::new();
    let b_key = two_courses(&ex);
    let mut notary = Daemon::start(
        &ex,
        &[
            "--interval",
            "1s",
            "--keep-sealed",
            "A",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    notary.passes(1, Duration::from_secs(60));
    let clean = outside_b(&ex);
    assert!(clean.contains("aaaa"), "A's own seal is there: {clean}");
    for m in B_MARKERS.iter().chain([&b_key.as_str()]) {
        assert!(
            !clean.contains(m),
            "{m} outside B before the link:\n{clean}"
        );
    }
    let before = b_tree(&ex);
    swap_for_link(&ex, link, target);
    notary.passes(2, Duration::from_secs(60));
    let metrics = http_get(notary.addr.as_deref().unwrap(), "/metrics");
    notary.stop();
    let restart = ex.run(&["notary", "run", "--once", "--keep-sealed", "A"]);

    assert_eq!(b_tree(&ex), before, "B changed");
    let after = outside_b(&ex);
    for m in B_MARKERS.iter().chain([&b_key.as_str()]) {
        assert!(!after.contains(m), "{m} of B outside B:\n{after}");
    }
    // The running notary and the restarted one each say where the link is.
    let shown = ex.path(link).display().to_string();
    let says = |lines: Vec<String>| {
        lines.iter().any(|l| {
            l.contains(&shown)
                && l.contains("link")
                && (l.contains("\"level\":\"warning\"") || l.contains("\"level\":\"error\""))
        })
    };
    let running: Vec<String> = notary.log.iter().map(Value::to_string).collect();
    assert!(
        !running_notices || says(running),
        "the running notary did not report {shown}:\n{:#?}",
        notary.log
    );
    let restarted = restart.stderr.lines().map(str::to_string).collect();
    assert!(
        says(restarted),
        "the restart did not report {shown}:\n{}",
        restart.stderr
    );
    let errors = metrics
        .lines()
        .find(|l| l.starts_with("nbk8s_notary_pass_errors{course=\"A\"}"))
        .unwrap_or_else(|| panic!("no pass errors for A in:\n{metrics}"));
    assert!(!running_notices || !errors.ends_with(" 0"), "{errors}");
    // A's own data that no link hides is still looked after.
    assert!(after.contains("aaaa"));
}

#[test]
fn a_link_at_the_course_inbound_dir() {
    link_into_b("A/inbound", "../B/inbound");
}

#[test]
fn a_link_at_a_student_inbox() {
    link_into_b("A/inbound/alice", "../../B/inbound/alice");
}

#[test]
fn a_link_at_the_course_feedback_dir() {
    link_into_b("A/feedback_public", "../B/feedback_public");
}

#[test]
fn a_link_at_a_student_feedback_dir() {
    link_into_b("A/feedback_public/alice", "../../B/feedback_public/alice");
}

#[test]
fn a_link_at_the_instructors_copy_dir() {
    link_into_b("A/.nbk8s-notary", "../B/.nbk8s-notary");
}

#[test]
fn a_link_at_the_removals_dir() {
    link_into_b("A/.nbk8s-removed", "../B/.nbk8s-removed");
}

#[test]
fn a_link_at_the_ledger_dir() {
    link_into_b(".nbk8s-notary/A", "../B/.nbk8s-notary");
}
