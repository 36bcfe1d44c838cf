use super::*;
use exchange_core::receipt::Manifest;

fn seal(claimed: &str, sealed: &str, receipt: &str) -> Seal {
    Seal {
        assignment: "ps1".into(),
        claimed: claimed.into(),
        sealed: sealed.into(),
        receipt: receipt.into(),
        current: receipt.into(),
        state: SealState::Sealed,
        changed_at: None,
        copy: None,
        returned: None,
        seq: 0,
    }
}

fn at(text: &str) -> NaiveDateTime {
    timestamp::parse(text).unwrap()
}

const SETTINGS: SnapSettings = SnapSettings {
    grace: Duration::minutes(5),
    tolerance: Duration::minutes(5),
};

#[test]
fn on_time_needs_the_claim_and_the_seal_in_time() {
    let due = at("2026-12-08 17:00:00 UTC");
    let tol = Duration::minutes(5);
    let none = DuePasses::new();
    let ok = seal(
        "2026-12-08 16:59:00.000000 UTC",
        "2026-12-08T17:00:30Z",
        "r",
    );
    assert!(on_time(&ok, due, tol, &none).is_some());
    let late = seal(
        "2026-12-08 17:00:01.000000 UTC",
        "2026-12-08T17:00:30Z",
        "r",
    );
    assert!(on_time(&late, due, tol, &none).is_none());
    // Claims an hour before the due date, first seen after it: planted.
    let planted = seal(
        "2026-12-08 16:00:00.000000 UTC",
        "2026-12-08T17:30:00Z",
        "r",
    );
    assert!(on_time(&planted, due, tol, &none).is_none());
    let mut gone = ok.clone();
    gone.state = SealState::Vanished;
    gone.changed_at = Some("2026-12-08T16:59:50Z".into());
    assert!(
        on_time(&gone, due, tol, &none).is_none(),
        "deleted before the due date"
    );
    gone.changed_at = Some("2026-12-08T18:00:00Z".into());
    assert!(
        on_time(&gone, due, tol, &none).is_some(),
        "deleted after it: still on time"
    );
    // The pass covering the due date completed at 17:00:02: a claim before it sealed at
    // 17:00:04 was planted after the due date, though within the tolerance of its claim.
    let passes = DuePasses::from([(due, at("2026-12-08 17:00:02 UTC"))]);
    let plant = seal(
        "2026-12-08 16:59:59.000000 UTC",
        "2026-12-08T17:00:04Z",
        "r",
    );
    assert!(on_time(&plant, due, tol, &none).is_some());
    assert!(on_time(&plant, due, tol, &passes).is_none());
    let there = seal(
        "2026-12-08 16:59:59.000000 UTC",
        "2026-12-08T17:00:01.500000Z",
        "r",
    );
    assert!(on_time(&there, due, tol, &passes).is_some());
}

#[test]
fn the_newest_on_time_is_kept_and_a_changed_one_needs_its_sealed_copy() {
    let t = tempfile::tempdir().unwrap();
    let course = Course::new(t.path(), "c1").unwrap();
    let inbox = course.inbound().join("alice");
    let first = "ps1+2026-12-08 15:00:00.000000 UTC+a";
    let second = "ps1+2026-12-08 16:00:00.000000 UTC+b";
    for (name, body) in [(first, "one"), (second, "two")] {
        std::fs::create_dir_all(inbox.join(name)).unwrap();
        std::fs::write(inbox.join(name).join("p.ipynb"), body).unwrap();
    }
    let receipt = |name: &str| Manifest::of(&inbox.join(name), 0, 0).unwrap().receipt();
    let mut state = CourseState::default();
    for (name, sealed) in [
        (first, "2026-12-08T15:00:10Z"),
        (second, "2026-12-08T16:00:10Z"),
    ] {
        let claimed = &name[4..name.len() - 2];
        state.seals.insert(
            ("alice".into(), name.into()),
            seal(claimed, sealed, &receipt(name)),
        );
    }
    let due = at("2026-12-08 17:00:00 UTC");
    let rec = snapshot(&course, &state, "alice", "ps1", due, SETTINGS);
    assert_eq!(rec["submission"], second);
    assert_eq!(rec["copy"], "deadline/alice/ps1");
    let copy = course
        .dir()
        .join(".nbk8s-notary/deadline/alice/ps1/p.ipynb");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "two");

    // Edited since, no sealed copy: recorded as not kept (the older snapshot stays).
    std::fs::write(inbox.join(second).join("p.ipynb"), "edited").unwrap();
    let rec = snapshot(&course, &state, "alice", "ps1", due, SETTINGS);
    assert_eq!(rec["copy"], Value::Null);
    assert!(rec["not_kept"]
        .as_str()
        .unwrap()
        .contains("no longer matches its seal"));
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "two");
    // With a sealed copy, that is kept.
    let sealed = course.dir().join(".nbk8s-notary/sealed/alice").join(second);
    std::fs::create_dir_all(&sealed).unwrap();
    std::fs::write(sealed.join("p.ipynb"), "two").unwrap();
    state
        .seals
        .get_mut(&("alice".to_string(), second.to_string()))
        .unwrap()
        .copy = Some(format!("sealed/alice/{second}"));
    let rec = snapshot(&course, &state, "alice", "ps1", due, SETTINGS);
    assert_eq!(rec["copy"], "deadline/alice/ps1");

    // Nothing on time: a record with no submission.
    let early = at("2026-12-08 14:00:00 UTC");
    let rec = snapshot(&course, &state, "alice", "ps1", early, SETTINGS);
    assert_eq!(rec["submission"], Value::Null);
}

#[test]
fn taken_once_per_due_date_after_the_grace() {
    let t = tempfile::tempdir().unwrap();
    let course = Course::new(t.path(), "c1").unwrap();
    let mut state = CourseState::default();
    let name = "ps1+2026-12-08 15:00:00.000000 UTC+a";
    state.seals.insert(
        ("alice".into(), name.into()),
        seal(
            "2026-12-08 15:00:00.000000 UTC",
            "2026-12-08T15:00:10Z",
            "r",
        ),
    );
    let mut watch = DeadlineWatch::default();
    let due = at("2026-12-08 17:00:00 UTC");
    watch.course.due.insert("ps1".into(), due);
    assert!(watch
        .take(&course, &state, SETTINGS, at("2026-12-08 17:04:59 UTC"))
        .is_empty());
    let recs = watch.take(&course, &state, SETTINGS, at("2026-12-08 17:05:00 UTC"));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["due"], "2026-12-08T17:00:00.000000Z");
    let mut rec = Value::Object(recs[0].clone());
    rec["seq"] = 1.into();
    state.apply(&rec);
    assert!(watch
        .take(&course, &state, SETTINGS, at("2026-12-09 00:00:00 UTC"))
        .is_empty());
    // An extension moves the due date: a new snapshot at the new time.
    let granted = deadlines::Granted {
        extension: deadlines::Extension::By(86_400),
        granted: due,
    };
    let mut theirs = StudentDeadlines::default();
    theirs.extensions.insert("ps1".into(), granted);
    watch.students.insert("alice".into(), theirs);
    assert!(watch
        .take(&course, &state, SETTINGS, at("2026-12-09 00:00:00 UTC"))
        .is_empty());
    let recs = watch.take(&course, &state, SETTINGS, at("2026-12-09 17:05:00 UTC"));
    assert_eq!(recs[0]["due"], "2026-12-09T17:00:00.000000Z");
}
