use super::*;
use std::fs;

const R: &str = "3f2a9c0177bed410aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn course() -> (tempfile::TempDir, Course) {
    let t = tempfile::tempdir().unwrap();
    let course = Course::new(t.path(), "c1").unwrap();
    fs::create_dir_all(course.feedback_public().join("s")).unwrap();
    fs::create_dir_all(course.dir().join(COPIES_DIR)).unwrap();
    (t, course)
}

#[test]
fn confirmations_parse_and_bad_entries_are_left_out() {
    let (_t, course) = course();
    assert_eq!(Confirmations::load(&course, "s").unwrap(), None);
    let doc = serde_json::json!({"course": "c1", "student": "s", "head": R, "seq": 4, "seals": [
        {"submission": "ps1+T1+r", "assignment": "ps1", "claimed": "T1",
         "sealed": "2026-12-01T19:45:12.123456Z", "receipt": R, "state": "sealed"},
        {"submission": "ps1+T2+r", "assignment": "ps1", "claimed": "T2",
         "sealed": "yesterday", "receipt": R, "state": "sealed"},
        {"submission": "ps1+T3+r", "assignment": "ps1", "claimed": "T3",
         "sealed": "2026-12-01T19:45:12Z", "receipt": "../../etc", "state": "sealed"}]});
    fs::write(Confirmations::path(&course, "s"), doc.to_string()).unwrap();
    let c = Confirmations::load(&course, "s").unwrap().unwrap();
    assert_eq!((c.seq, c.head.as_str(), c.seals.len()), (4, R, 1));
    let seal = c.find("ps1", "T1").unwrap();
    assert_eq!(format_time(&seal.sealed), "2026-12-01T19:45:12.123456Z");
    assert!(c.find("ps1", "T2").is_none());
    fs::write(Confirmations::path(&course, "s"), "{not json").unwrap();
    assert!(Confirmations::load(&course, "s").is_err());
    fs::remove_file(Confirmations::path(&course, "s")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", Confirmations::path(&course, "s")).unwrap();
    assert_eq!(
        Confirmations::load(&course, "s").unwrap_err().kind(),
        "unsafe_path"
    );
}

#[test]
fn index_copies_must_be_where_the_spec_puts_them() {
    let (_t, course) = course();
    assert!(SealIndex::load(&course).unwrap().is_none());
    let entry = |copy: &str| {
        serde_json::json!({"assignment": "ps1", "claimed": "T", "sealed": "2026-12-01T19:45:12Z",
          "receipt": R, "state": "changed", "changed_at": "2026-12-02T00:00:00Z", "copy": copy})
    };
    let doc = serde_json::json!({"copy_of": "ledger", "course": "c1", "head": R, "seq": 1,
        "seals": {"s/ps1+T+r": entry("sealed/s/ps1+T+r"), "t/ps1+T+r": entry("../../x"),
                  "noslash": entry("x")}});
    fs::write(SealIndex::path(&course), doc.to_string()).unwrap();
    let index = SealIndex::load(&course).unwrap().unwrap();
    assert_eq!(index.all().len(), 2);
    let s = index.get("s", "ps1+T+r").unwrap();
    assert_eq!(s.state, "changed");
    assert!(s.changed_at.is_some());
    assert_eq!(
        index.copy_path(&course, "s", s),
        Some(course.dir().join(".nbk8s-notary/sealed/s/ps1+T+r"))
    );
    let t = index.get("t", "ps1+T+r").unwrap();
    assert_eq!(index.copy_path(&course, "t", t), None);
    fs::write(SealIndex::path(&course), "[1,2]").unwrap();
    assert!(SealIndex::load(&course).is_err());
}

#[test]
fn heads_are_appended_once_each() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("c1");
    let mut c = Confirmations {
        head: R.to_string(),
        seq: 3,
        seals: Vec::new(),
    };
    assert!(record_head(&dir, &c, "2026-12-01T00:00:00.000000Z").unwrap());
    assert!(!record_head(&dir, &c, "2026-12-01T00:00:01.000000Z").unwrap());
    c.head = R.replace('3', "4");
    c.seq = 5;
    assert!(record_head(&dir, &c, "2026-12-01T00:00:02.000000Z").unwrap());
    let text = fs::read_to_string(dir.join(HEADS)).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["seq"], 5);
    assert_eq!(lines[1]["head"], c.head.as_str());
}

#[test]
fn index_deadline_snapshots_parse_and_copies_must_be_in_place() {
    let (_t, course) = course();
    let doc = serde_json::json!({"copy_of": "ledger", "course": "c1", "head": R, "seq": 1,
        "seals": {},
        "deadlines": {
            "s/ps1": {"due": "2026-12-08T17:00:00Z", "taken": "2026-12-08T17:05:00Z",
                      "submission": "ps1+T+r", "receipt": R, "copy": "deadline/s/ps1"},
            "s/ps2": {"due": "2026-12-08T17:00:00Z", "taken": "2026-12-08T17:05:00Z",
                      "submission": null, "receipt": null, "copy": null},
            "s/ps3": {"due": "never"},
            "t/ps1": {"due": "2026-12-08T17:00:00Z", "submission": "../x", "copy": "../../x"}}});
    fs::write(SealIndex::path(&course), doc.to_string()).unwrap();
    let index = SealIndex::load(&course).unwrap().unwrap();
    let snap = index.deadline("s", "ps1").unwrap();
    assert_eq!(format_time(&snap.due), "2026-12-08T17:00:00.000000Z");
    assert_eq!(snap.submission.as_deref(), Some("ps1+T+r"));
    assert_eq!(
        index.snapshot_path(&course, "s", "ps1", snap),
        Some(course.dir().join(".nbk8s-notary/deadline/s/ps1"))
    );
    assert_eq!(index.deadline("s", "ps2").unwrap().submission, None);
    assert!(index.deadline("s", "ps3").is_none());
    let bad = index.deadline("t", "ps1").unwrap();
    assert_eq!(bad.submission, None);
    assert_eq!(index.snapshot_path(&course, "t", "ps1", bad), None);
}

#[test]
fn cross_check_refuses_index_entries_the_confirmation_contradicts() {
    let (_t, course) = course();
    fs::create_dir_all(course.feedback_public().join("u")).unwrap();
    let seal = |sealed: &str, receipt: &str| {
        serde_json::json!({"assignment": "ps1", "claimed": "T", "sealed": sealed,
            "receipt": receipt, "state": "sealed", "changed_at": null, "copy": null})
    };
    let other = R.replace('a', "b");
    let index = serde_json::json!({"seals": {
        "s/ps1+T+ok": seal("2026-12-01T10:00:00Z", R),
        "s/ps1+T+moved": seal("2026-12-01T10:00:00Z", R),
        "s/ps1+T+forged": seal("2026-12-01T10:00:00Z", &other),
        "s/ps1+T+invented": seal("2026-12-01T10:00:00Z", R),
        "u/ps1+T+x": seal("2026-12-01T10:00:00Z", R)},
        "deadlines": {"s/ps1": {"due": "2026-12-01T11:00:00Z", "submission": "ps1+T+forged",
                                "receipt": other, "copy": "deadline/s/ps1"}}});
    fs::write(SealIndex::path(&course), index.to_string()).unwrap();
    let conf = |sub: &str, sealed: &str, state: &str| {
        serde_json::json!({"submission": sub, "assignment": "ps1", "claimed": "T",
            "sealed": sealed, "receipt": R, "state": state})
    };
    let doc = serde_json::json!({"head": R, "seq": 9, "seals": [
        conf("ps1+T+ok", "2026-12-01T10:00:00Z", "changed"),
        conf("ps1+T+moved", "2026-12-01T12:00:00Z", "sealed"),
        conf("ps1+T+forged", "2026-12-01T10:00:00Z", "sealed"),
        conf("ps1+T+dropped", "2026-12-01T10:00:00Z", "sealed")]});
    fs::write(Confirmations::path(&course, "s"), doc.to_string()).unwrap();
    let mut index = SealIndex::load(&course).unwrap().unwrap();
    let mut warnings = Vec::new();
    index.cross_check(&course, &["s".into(), "u".into()], &mut warnings);
    assert_eq!(index.get("s", "ps1+T+ok").unwrap().state, "changed");
    let moved = index.get("s", "ps1+T+moved").unwrap();
    assert_eq!(format_time(&moved.sealed), "2026-12-01T12:00:00.000000Z");
    assert!(index.get("s", "ps1+T+forged").is_none());
    assert!(index.get("s", "ps1+T+invented").is_none());
    assert!(
        index.get("s", "ps1+T+dropped").is_some(),
        "taken from the confirmation"
    );
    assert!(
        index.get("u", "ps1+T+x").is_none(),
        "no confirmation to check it against"
    );
    assert!(index.deadline("s", "ps1").is_none());
    let all = warnings.join("\n");
    for needle in [
        "the later, 2026-12-01T12:00:00.000000Z, is used",
        "refused the notary's index entry s/ps1+T+forged: its receipt",
        "refused the notary's index entry s/ps1+T+invented: it is not in",
        "lacks s/ps1+T+dropped",
        "refused the notary's index entries for ps1+T+x",
        "refused the notary's deadline snapshot entry s/ps1",
    ] {
        assert!(all.contains(needle), "{needle}: {all}");
    }
}

#[test]
fn index_due_passes_parse_and_garbled_ones_are_left_out() {
    let (_t, course) = course();
    let doc = serde_json::json!({"copy_of": "ledger", "course": "c1", "head": R, "seq": 1,
        "seals": {},
        "due_passes": {
            "2026-12-08T17:00:00.000000Z": {"started": "2026-12-08T17:00:03.100000Z",
                                            "completed": "2026-12-08T17:00:04.200000Z"},
            "2026-12-09T17:00:00Z": {"started": "2026-12-09T17:00:03Z"},
            "soon": {"completed": "2026-12-08T17:00:04Z"}}});
    fs::write(SealIndex::path(&course), doc.to_string()).unwrap();
    let index = SealIndex::load(&course).unwrap().unwrap();
    let passes: Vec<(String, String)> = index
        .due_passes()
        .iter()
        .map(|(due, done)| (format_time(due), format_time(done)))
        .collect();
    assert_eq!(
        passes,
        [(
            "2026-12-08T17:00:00.000000Z".to_string(),
            "2026-12-08T17:00:04.200000Z".to_string()
        )]
    );
}
