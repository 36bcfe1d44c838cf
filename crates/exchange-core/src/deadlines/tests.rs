use std::fs;

use chrono::{Duration, NaiveDateTime};

use super::*;

fn t(s: &str) -> NaiveDateTime {
    crate::timestamp::parse(s).unwrap()
}

#[test]
fn effective_due_date_rules() {
    let due = Some(t("2026-03-01 17:00:00 UTC"));
    assert_eq!(effective(due, None), due);
    assert_eq!(
        effective(due, Some(Extension::By(86_400))),
        Some(t("2026-03-02 17:00:00 UTC"))
    );
    let until = t("2026-03-05 09:00:00 UTC");
    assert_eq!(effective(due, Some(Extension::Until(until))), Some(until));
    assert_eq!(effective(None, Some(Extension::Until(until))), Some(until));
    // Extra time needs something to extend.
    assert_eq!(effective(None, Some(Extension::By(60))), None);
    assert_eq!(
        as_interval(due, Some(Extension::Until(until))),
        Some(3 * 86_400 + 16 * 3600)
    );
    assert_eq!(as_interval(None, Some(Extension::Until(until))), None);
}

#[test]
fn late_by_and_left() {
    let d = Due {
        assignment: "ps1".into(),
        course_due: Some(t("2026-03-01 17:00:00 UTC")),
        extension: None,
        due: Some(t("2026-03-01 17:00:00 UTC")),
    };
    assert_eq!(
        d.late_by(t("2026-03-01 17:00:00 UTC")),
        Some(Duration::zero())
    );
    assert_eq!(
        d.late_by(t("2026-03-01 19:30:00 UTC")),
        Some(Duration::minutes(150))
    );
    assert_eq!(
        d.left(t("2026-03-01 16:00:00 UTC")),
        Some(Duration::hours(1))
    );
    assert_eq!(
        describe(Duration::seconds(2 * 86_400 + 3 * 3600 + 7)),
        "2d 3h"
    );
    assert_eq!(describe(Duration::minutes(-150)), "2h 30m");
    assert_eq!(describe(Duration::seconds(65)), "1m 5s");
    assert_eq!(describe(Duration::zero()), "0s");
}

#[test]
fn files_round_trip_and_stay_private() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let due = t("2026-03-01 17:00:00 UTC");
    assert!(publish_due(r, "c", "ps1", Some(due)).unwrap().changed);
    assert!(!publish_due(r, "c", "ps1", Some(due)).unwrap().changed);
    let now = t("2026-02-20 08:00:00 UTC");
    set_extension(r, "c", "alice", "ps1", Some(Extension::By(3600)), now).unwrap();
    let mut w = Vec::new();
    let course = read_course(r, "c", &mut w).unwrap();
    assert_eq!(course.due["ps1"], due);
    let alice = read_student(r, "c", "alice", &mut w).unwrap();
    let bob = read_student(r, "c", "bob", &mut w).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        Due::of("ps1", &course, &alice).due,
        Some(due + Duration::hours(1))
    );
    assert_eq!(Due::of("ps1", &course, &bob).due, Some(due));
    // Only alice's own directory holds her extension; nothing half-written is left.
    let names: Vec<_> = fs::read_dir(r.join("c/feedback_public/alice"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [FILE_NAME]);
    assert!(!r.join("c/feedback_public/bob").exists());
    set_extension(r, "c", "alice", "ps1", None, now).unwrap();
    let alice = read_student(r, "c", "alice", &mut w).unwrap();
    assert!(alice.extensions.is_empty());
    assert!(publish_due(r, "c", "ps1", None).unwrap().changed);
    assert!(read_course(r, "c", &mut w).unwrap().due.is_empty());
}

#[test]
fn garbled_files_warn_and_read_as_empty() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    fs::create_dir_all(r.join("c/outbound")).unwrap();
    fs::create_dir_all(r.join("c/feedback_public/alice")).unwrap();
    for bad in ["{not json", "[]", r#"{"version": 2, "assignments": {}}"#] {
        fs::write(r.join("c/outbound").join(FILE_NAME), bad).unwrap();
        let mut w = Vec::new();
        assert!(read_course(r, "c", &mut w).unwrap().due.is_empty());
        assert_eq!(w.len(), 1, "{bad}: {w:?}");
        assert!(w[0].contains(FILE_NAME), "{w:?}");
    }
    // One bad entry drops only that entry.
    fs::write(
        r.join("c/feedback_public/alice").join(FILE_NAME),
        r#"{"version": 1, "extensions": {
            "ps1": {"by_seconds": 60}, "ps2": {"by_seconds": -5},
            "../x": {"by_seconds": 1}, "ps3": {"until": "soon"}}}"#,
    )
    .unwrap();
    let mut w = Vec::new();
    let alice = read_student(r, "c", "alice", &mut w).unwrap();
    assert_eq!(alice.extensions.keys().collect::<Vec<_>>(), ["ps1"]);
    assert_eq!(w.len(), 3, "{w:?}");
}

#[test]
fn a_planted_link_is_replaced_not_followed() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let dir = r.join("c/feedback_public/alice");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(r.join("c/outbound")).unwrap();
    let victim = r.join("victim");
    fs::write(&victim, "keep").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join(FILE_NAME)).unwrap();
    let mut w = Vec::new();
    // Read: a link is not a deadline file.
    assert!(read_student(r, "c", "alice", &mut w)
        .unwrap()
        .extensions
        .is_empty());
    let now = t("2026-02-20 08:00:00 UTC");
    set_extension(r, "c", "alice", "ps1", Some(Extension::By(60)), now).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    assert!(!fs::symlink_metadata(dir.join(FILE_NAME))
        .unwrap()
        .is_symlink());
}

#[test]
fn extensions_beyond_the_horizon_are_refused_and_ignored() {
    let due = t("2026-03-01 17:00:00 UTC");
    let now = t("2026-02-20 08:00:00 UTC");
    let year = HORIZON_DAYS * 86_400;
    for (extension, course_due, ok) in [
        (Extension::By(year), Some(due), true),
        (Extension::By(year + 1), Some(due), false),
        (Extension::By(500_000 * 7 * 86_400), Some(due), false),
        (Extension::By(i64::MAX), Some(due), false),
        (Extension::By(-1), Some(due), false),
        (
            Extension::Until(due + Duration::days(HORIZON_DAYS)),
            Some(due),
            true,
        ),
        (
            Extension::Until(due + Duration::days(400)),
            Some(due),
            false,
        ),
        (
            Extension::Until(due - Duration::days(400)),
            Some(due),
            false,
        ),
        // Without a course-wide due date the grant time is the reference.
        (Extension::Until(now + Duration::days(30)), None, true),
        (Extension::Until(t("2099-01-01 00:00:00 UTC")), None, false),
        (Extension::Until(NaiveDateTime::MAX), Some(due), false),
    ] {
        let problem = extension_problem(course_due, extension, now);
        assert_eq!(problem.is_none(), ok, "{extension:?}: {problem:?}");
    }
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    publish_due(r, "c", "ps1", Some(due)).unwrap();
    let err = set_extension(r, "c", "alice", "ps1", Some(Extension::By(year + 1)), now);
    assert!(err.unwrap_err().to_string().contains("beyond the horizon"));
    assert!(!r.join("c/feedback_public/alice").join(FILE_NAME).exists());
    let far = t("9999-01-01 00:00:00 UTC");
    assert!(publish_due(r, "c", "ps2", Some(far)).is_err());
    assert!(publish_all_due(r, "c", &[("ps2".to_string(), far)].into()).is_err());
}

#[test]
fn a_file_holding_dates_no_reader_can_use_leaves_the_course_date() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let due = t("2026-03-01 17:00:00 UTC");
    publish_due(r, "c", "ps1", Some(due)).unwrap();
    let dir = r.join("c/feedback_public/alice");
    fs::create_dir_all(&dir).unwrap();
    for entry in [
        r#"{"by_seconds": 302400000000}"#,
        r#"{"by_seconds": 9223372036854775807}"#,
        r#"{"by_seconds": 1e300}"#,
        r#"{"until": "9999-12-31T23:59:59Z"}"#,
        r#"{"until": "0001-01-01T00:00:00Z"}"#,
        r#"{"until": "+11609-08-10T00:00:00Z"}"#,
    ] {
        let text = format!(r#"{{"version": 1, "extensions": {{"ps1": {entry}}}}}"#);
        fs::write(dir.join(FILE_NAME), text).unwrap();
        let mut w = Vec::new();
        let course = read_course(r, "c", &mut w).unwrap();
        let alice = read_student(r, "c", "alice", &mut w).unwrap();
        assert_eq!(Due::of("ps1", &course, &alice).due, Some(due), "{entry}");
        assert_eq!(w.len(), 1, "{entry}: {w:?}");
    }
    let far = r#"{"version": 1, "assignments": {"ps1": {"due": "9999-12-31T23:00:00Z"}}}"#;
    fs::write(r.join("c/outbound").join(FILE_NAME), far).unwrap();
    let mut w = Vec::new();
    assert!(read_course(r, "c", &mut w).unwrap().due.is_empty());
    assert!(w[0].contains("out of range"), "{w:?}");
}
