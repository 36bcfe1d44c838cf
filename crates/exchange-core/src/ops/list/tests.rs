use super::*;
use crate::keys::feedback_key;
use crate::ops::testutil::write_tree;
use std::fs;

const T1: &str = "2024-03-01 12:00:00.000000 UTC";
const T2: &str = "2024-03-02 12:00:00.000000 UTC";

fn exchange() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let ex = t.path().join("ex");
    write_tree(
        &ex.join("c1/outbound/ps1"),
        &[("p1.ipynb", "{}"), ("notes.txt", "")],
    );
    write_tree(&ex.join("c1/outbound/ps2"), &[("q.ipynb", "{}")]);
    fs::create_dir_all(ex.join("c1/outbound/.nbk8s-staging-x")).unwrap();
    let inbound = ex.join("c1/inbound");
    write_tree(
        &inbound.join(format!("alice/ps1+{T2}+r2")),
        &[("p1.ipynb", "2"), ("submission_secret.txt", "s2")],
    );
    write_tree(
        &inbound.join(format!("alice/ps1+{T1}+r1")),
        &[("p1.ipynb", "1"), ("submission_secret.txt", "s1")],
    );
    fs::create_dir_all(inbound.join("alice/.nbk8s-staging-zz")).unwrap();
    write_tree(
        &inbound.join(format!("bob+x/bob+x+ps1+{T1}+r")),
        &[("p1.ipynb", "b")],
    );
    fs::create_dir_all(inbound.join("bob+x/garbage")).unwrap();
    fs::create_dir_all(t.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(
        t.path().join("elsewhere"),
        inbound.join(format!("alice/ps1+{T1}+evil")),
    )
    .unwrap();
    std::os::unix::fs::symlink(t.path().join("elsewhere"), inbound.join("mallory")).unwrap();
    fs::create_dir_all(ex.join("c1/feedback_public/alice")).unwrap();
    let key = feedback_key("s2", "p1");
    fs::write(
        ex.join(format!("c1/feedback_public/alice/{key}.html")),
        "fb",
    )
    .unwrap();
    t
}

#[test]
fn released_and_fetched() {
    let t = exchange();
    let home = t.path().join("home");
    write_tree(
        &home.join("ps2"),
        &[("q.ipynb", "{}"), ("mine.ipynb", "{}")],
    );
    let local = LocalDirs {
        assignment_dir: &home,
        path_includes_course: false,
    };
    let l = list_released(&t.path().join("ex"), None, None, local).unwrap();
    let got: Vec<_> = l
        .assignments
        .iter()
        .map(|a| (a.assignment_id.as_str(), a.status))
        .collect();
    assert_eq!(got, [("ps1", "released"), ("ps2", "fetched")]);
    assert_eq!(l.assignments[0].notebooks.len(), 1);
    assert_eq!(l.assignments[1].path, display(&home.join("ps2")));
    assert_eq!(l.assignments[1].notebooks[0].notebook_id, "mine");
    let only = list_released(
        &t.path().join("ex"),
        Some(&["c1".into()]),
        Some("ps1"),
        local,
    )
    .unwrap();
    assert_eq!(only.assignments.len(), 1);
}

#[test]
fn inbound_groups_sorts_and_warns() {
    let t = exchange();
    let l = list_inbound(&t.path().join("ex"), None, None, None, None).unwrap();
    let groups: Vec<_> = l
        .assignments
        .iter()
        .map(|g| (g.student_id.as_str(), g.submissions.len()))
        .collect();
    assert_eq!(groups, [("alice", 2), ("bob+x", 1)]);
    let alice = &l.assignments[0].submissions;
    assert_eq!(alice[0].timestamp, T1);
    assert!(!alice[0].has_exchange_feedback);
    assert!(alice[1].has_exchange_feedback && !alice[1].has_local_feedback);
    assert_eq!(alice[1].local_feedback_path, None);
    let w = l.warnings.join("\n");
    assert!(
        w.contains("evil") && w.contains("mallory") && w.contains("garbage"),
        "{w}"
    );
    assert!(!w.contains("staging"), "{w}");
    let only = list_inbound(&t.path().join("ex"), None, Some("ps1"), Some("b*"), None).unwrap();
    assert_eq!(only.assignments.len(), 1);
    assert_eq!(only.assignments[0].student_id, "bob+x");
}

#[test]
fn cached_feedback_state() {
    let t = exchange();
    let cache = t.path().join("cache");
    let home = t.path().join("home");
    write_tree(
        &cache.join(format!("c1/alice+ps1+{T2}")),
        &[("p1.ipynb", "2"), ("submission_secret.txt", "s2")],
    );
    write_tree(
        &cache.join(format!("c1/alice+ps1+{T1}")),
        &[("p1.ipynb", "1"), ("submission_secret.txt", "s1")],
    );
    write_tree(
        &cache.join(format!("c1/alice+x+ps1+{T1}")),
        &[("p1.ipynb", "other")],
    );
    write_tree(
        &home.join(format!("ps1/feedback/{T2}")),
        &[("p1.html", "old fb")],
    );
    let local = LocalDirs {
        assignment_dir: &home,
        path_includes_course: false,
    };
    let l = list_cached(&t.path().join("ex"), &cache, None, None, "alice", local).unwrap();
    assert_eq!(l.assignments.len(), 1);
    let subs = &l.assignments[0].submissions;
    assert_eq!(subs.len(), 2);
    let newest = &subs[1];
    assert!(newest.has_local_feedback && newest.has_exchange_feedback && newest.feedback_updated);
    let expected = home.join(format!("ps1/feedback/{T2}"));
    assert_eq!(
        newest.local_feedback_path.as_deref(),
        Some(display(&expected).as_str())
    );
    assert!(!subs[0].has_local_feedback && !subs[0].feedback_updated);
}

#[test]
fn inbound_legacy_keys_and_refused_feedback_links() {
    let t = exchange();
    let ex = t.path().join("ex");
    // A submission without submission_secret.txt: its feedback goes by the notebook's bytes.
    let carol = ex.join(format!("c1/inbound/carol/ps1+{T1}+r"));
    write_tree(&carol, &[("p1.ipynb", "nb"), ("p2.ipynb", "other")]);
    let unique = keys::unique_key("c1", "ps1", "p1", "carol", T1);
    let key = keys::legacy_key_of_bytes(b"nb", Some(&unique));
    write_tree(
        &ex.join("c1/feedback_public/carol"),
        &[(&format!("{key}.html"), "fb")],
    );
    // A symlink in a student's feedback_public place is not followed: dave's listing must
    // not find alice's feedback through it.
    write_tree(
        &ex.join(format!("c1/inbound/dave/ps1+{T2}+r")),
        &[("p1.ipynb", "2"), ("submission_secret.txt", "s2")],
    );
    std::os::unix::fs::symlink(
        ex.join("c1/feedback_public/alice"),
        ex.join("c1/feedback_public/dave"),
    )
    .unwrap();
    let l = list_inbound(&ex, None, None, Some("[cd]*"), None).unwrap();
    let carol = &l.assignments[0].submissions[0];
    let flags: Vec<_> = carol
        .notebooks
        .iter()
        .map(|n| (n.notebook_id.as_str(), n.has_exchange_feedback))
        .collect();
    assert_eq!(flags, [("p1", true), ("p2", false)]);
    assert!(!carol.has_exchange_feedback, "all() of the notebooks'");
    let dave = &l.assignments[1].submissions[0];
    assert_eq!(dave.student_id, "dave");
    assert!(!dave.has_exchange_feedback);
    let w = l.warnings.join("\n");
    assert!(w.contains("dave") && w.contains("not followed"), "{w}");
}

#[test]
fn inbound_notebooks_are_top_level_regular_files() {
    let t = exchange();
    let ex = t.path().join("ex");
    let sub = ex.join(format!("c1/inbound/erin/ps1+{T1}+r"));
    write_tree(
        &sub,
        &[
            ("b.ipynb", ""),
            ("a.ipynb", ""),
            (".hidden.ipynb", ""),
            ("dir.ipynb/x.ipynb", ""),
            ("notes.txt", ""),
        ],
    );
    std::os::unix::fs::symlink(t.path().join("elsewhere"), sub.join("link.ipynb")).unwrap();
    let l = list_inbound(&ex, None, None, Some("erin"), None).unwrap();
    let sub_listed = &l.assignments[0].submissions[0];
    let ids: Vec<_> = sub_listed
        .notebooks
        .iter()
        .map(|n| n.notebook_id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(sub_listed.notebooks[0].path, display(&sub.join("a.ipynb")));
}

#[test]
fn inbound_flags_backdated_submissions() {
    let t = exchange();
    let ex = t.path().join("ex");
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f UTC")
        .to_string();
    write_tree(
        &ex.join(format!("c1/inbound/fay/ps1+{now}+r")),
        &[("p1.ipynb", "{}")],
    );
    let l = list_inbound(&ex, None, None, Some("[af]*"), Some(600)).unwrap();
    assert_eq!(
        l.assignments.len(),
        2,
        "flagged submissions are still listed"
    );
    let w = l.warnings.join("\n");
    // alice's fixtures claim March 2024 but were written just now; fay's claim is honest.
    assert!(
        w.contains(&format!(
            "student \"alice\": {}",
            ex.join("c1/inbound/alice").display()
        )) && w.contains(&format!("ps1+{T1}+r1 may be backdated")),
        "{w}"
    );
    assert!(!w.contains("fay"), "{w}");
    let quiet = list_inbound(&ex, None, None, Some("[af]*"), None).unwrap();
    assert!(!quiet.warnings.join("\n").contains("backdated"));
}
