use super::*;
use crate::keys::{feedback_key, legacy_key_of_bytes};
use crate::ops::testutil::write_tree;
use std::fs;

const TS: &str = "2024-03-01 12:00:00.000000 UTC";

#[test]
fn release_secret_and_legacy_then_fetch() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("ex");
    fs::create_dir(&root).unwrap();
    let fb = t.path().join("feedback");
    write_tree(
        &fb.join("alice/ps1"),
        &[
            ("p.html", "A"),
            ("timestamp.txt", TS),
            ("submission_secret.txt", "sec"),
        ],
    );
    write_tree(
        &fb.join("bob/ps1"),
        &[("p.html", "B"), ("timestamp.txt", TS)],
    );
    write_tree(&t.path().join("submitted/bob/ps1"), &[("p.ipynb", "nb")]);
    let items = vec![
        FeedbackItem {
            student: "alice".into(),
            feedback_dir: fb.join("alice/ps1"),
            submitted_dir: None,
        },
        FeedbackItem {
            student: "bob".into(),
            feedback_dir: fb.join("bob/ps1"),
            submitted_dir: Some(t.path().join("submitted/bob/ps1")),
        },
    ];
    let out = release_feedback(&root, "c1", "ps1", &items).unwrap();
    assert_eq!(out.released.len(), 2, "{:?}", out.warnings);
    assert_eq!(out.released[0].key, feedback_key("sec", "p"));
    let legacy = legacy_key_of_bytes(b"nb", Some(&format!("c1+ps1+p+bob+{TS}")));
    assert_eq!(out.released[1].key, legacy);
    let alice_fb = root.join(format!(
        "c1/feedback_public/alice/{}.html",
        feedback_key("sec", "p")
    ));
    assert_eq!(fs::read_to_string(&alice_fb).unwrap(), "A");

    let cache = t.path().join("cache");
    write_tree(
        &cache.join(format!("c1/alice+ps1+{TS}")),
        &[("p.ipynb", "x"), ("submission_secret.txt", "sec")],
    );
    write_tree(
        &cache.join(format!("c1/alice+ps2+{TS}")),
        &[("q.ipynb", "x"), ("submission_secret.txt", "s")],
    );
    let home = t.path().join("home");
    let target = LocalDirs {
        assignment_dir: &home,
        path_includes_course: true,
    };
    let got = fetch_feedback(&root, &cache, "c1", "alice", None, target).unwrap();
    assert_eq!(got.fetched.len(), 1);
    assert_eq!(got.missing.len(), 1);
    assert_eq!(got.missing[0].assignment_id, "ps2");
    let local = home.join(format!("c1/ps1/feedback/{TS}/p.html"));
    assert_eq!(fs::read_to_string(local).unwrap(), "A");
}

#[test]
fn symlinked_student_dir_is_skipped() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("ex");
    let victim = t.path().join("victim");
    fs::create_dir_all(&victim).unwrap();
    fs::create_dir_all(root.join("c1/feedback_public")).unwrap();
    std::os::unix::fs::symlink(&victim, root.join("c1/feedback_public/eve")).unwrap();
    let fb = t.path().join("fb");
    write_tree(&fb, &[("p.html", "E"), ("submission_secret.txt", "s")]);
    let items = vec![FeedbackItem {
        student: "eve".into(),
        feedback_dir: fb,
        submitted_dir: None,
    }];
    let out = release_feedback(&root, "c1", "ps1", &items).unwrap();
    assert!(out.released.is_empty());
    assert!(out.warnings[0].contains("eve"));
    assert_eq!(fs::read_dir(&victim).unwrap().count(), 0);
    let bad = vec![FeedbackItem {
        student: "../x".into(),
        feedback_dir: t.path().into(),
        submitted_dir: None,
    }];
    assert_eq!(
        release_feedback(&root, "c1", "ps1", &bad)
            .unwrap_err()
            .kind(),
        "invalid_id"
    );
}

#[test]
fn many_students_at_once_one_bad_one_skipped() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("ex");
    let fb = t.path().join("feedback");
    let students: Vec<String> = (0..40).map(|i| format!("s{i:02}")).collect();
    let items: Vec<FeedbackItem> = students
        .iter()
        .map(|s| {
            write_tree(
                &fb.join(s),
                &[
                    ("p.html", s.as_str()),
                    ("submission_secret.txt", s.as_str()),
                ],
            );
            FeedbackItem {
                student: s.clone(),
                feedback_dir: fb.join(s),
                submitted_dir: None,
            }
        })
        .collect();
    fs::create_dir_all(root.join("c1/feedback_public")).unwrap();
    let victim = t.path().join("victim");
    fs::create_dir(&victim).unwrap();
    std::os::unix::fs::symlink(&victim, root.join("c1/feedback_public/s07")).unwrap();
    let out = release_feedback(&root, "c1", "ps1", &items).unwrap();
    let released: Vec<_> = out.released.iter().map(|r| r.student_id.as_str()).collect();
    let expected: Vec<_> = students
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "s07")
        .collect();
    assert_eq!(released, expected, "in the order given");
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].contains("s07"));
    assert_eq!(fs::read_dir(&victim).unwrap().count(), 0);
    use std::os::unix::fs::PermissionsExt;
    let s00 = root.join("c1/feedback_public/s00");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s00), 0o755);
    let html = s00.join(format!("{}.html", feedback_key("s00", "p")));
    assert_eq!(fs::read_to_string(&html).unwrap(), "s00");
    assert_eq!(mode(&html), 0o644);
    // Only the published files: no temporary file left beside them.
    assert_eq!(fs::read_dir(&s00).unwrap().count(), 1);
}

#[test]
fn a_release_removes_old_temp_files_a_killed_one_left() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("ex");
    let public = root.join("c1/feedback_public/alice");
    fs::create_dir_all(&public).unwrap();
    let old = public.join(format!("{}killed", crate::leftovers::TMP_PREFIX));
    let live = public.join(format!("{}live", crate::leftovers::TMP_PREFIX));
    for path in [&old, &live] {
        fs::write(path, "half").unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let fb = t.path().join("fb");
    write_tree(
        &fb.join("alice/ps1"),
        &[
            ("p.html", "A"),
            ("timestamp.txt", TS),
            ("submission_secret.txt", "s"),
        ],
    );
    let items = vec![FeedbackItem {
        student: "alice".into(),
        feedback_dir: fb.join("alice/ps1"),
        submitted_dir: None,
    }];
    let out = release_feedback(&root, "c1", "ps1", &items).unwrap();
    assert_eq!(out.released.len(), 1, "{:?}", out.warnings);
    assert!(
        !old.exists(),
        "an hour-old leftover stays after the next release"
    );
    assert!(
        live.exists(),
        "a young temp file may be another release's: kept"
    );
}
