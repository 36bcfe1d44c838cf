//! `nbgrader-k8s deadlines` and what `status` makes of it.

use crate::util::*;

/// c1: ps1 due 12:00 UTC (from a gradebook); alice submitted at 10:00, bob at 12:30.
fn course() -> (Exchange, std::path::PathBuf) {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob", "carol"]);
    ex.mkdir("c1/outbound/ps1");
    ex.submit("c1", "alice", "ps1", &ts("2024-03-01 10:00:00"), "a");
    ex.submit("c1", "bob", "ps1", "2024-03-01 13:30:00.000000 +0100", "b");
    let db = ex.outside("gradebook.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE assignment (id TEXT PRIMARY KEY, name TEXT, duedate DATETIME, course_id TEXT);
         INSERT INTO assignment VALUES ('1', 'ps1', '2024-03-01 12:00:00.000000', 'c1'),
                                       ('2', 'ps2', NULL, 'c1');",
    )
    .unwrap();
    (ex, db)
}

/// Per student of ps1: (student, due, extension, late_by_seconds).
fn per_student(ex: &Exchange) -> Vec<(String, String, bool, Option<i64>)> {
    let v = ex.run(&["status", "c1", "ps1", "--json"]).ok().json();
    v["assignments"][0]["per_student"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["student"].as_str().unwrap().to_string(),
                s["due"].as_str().unwrap_or("-").to_string(),
                s["extension"].as_bool().unwrap(),
                s["late_by_seconds"].as_i64(),
            )
        })
        .collect()
}

#[test]
fn publish_then_extend_changes_only_that_students_late_by() {
    let (ex, db) = course();
    let out = ex
        .run(&[
            "deadlines",
            "publish",
            "c1",
            "--gradebook",
            db.to_str().unwrap(),
        ])
        .ok();
    assert!(
        out.stdout.contains("ps1  due 2024-03-01 12:00:00 UTC"),
        "{}",
        out.stdout
    );
    let file = ex.path("c1/outbound/.nbk8s-deadlines.json");
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        published["assignments"]["ps1"]["due"],
        "2024-03-01T12:00:00.000000Z"
    );
    assert!(published["assignments"].get("ps2").is_none());

    let due = "2024-03-01T12:00:00.000000".to_string();
    // status reads the published date without --due or --gradebook.
    assert_eq!(
        per_student(&ex),
        [
            ("alice".into(), due.clone(), false, Some(0)),
            ("bob".into(), due.clone(), false, Some(1800)),
            ("carol".into(), due.clone(), false, None),
        ]
    );

    let out = ex
        .run(&["deadlines", "extend", "c1", "ps1", "bob", "--by", "1h"])
        .ok();
    assert!(
        out.stdout
            .contains("bob ps1: extension, due 2024-03-01 13:00:00 UTC"),
        "{}",
        out.stdout
    );
    assert!(ex
        .path("c1/feedback_public/bob/.nbk8s-deadlines.json")
        .is_file());
    assert!(!ex
        .path("c1/feedback_public/alice/.nbk8s-deadlines.json")
        .exists());
    let rows = per_student(&ex);
    assert_eq!(
        rows[1],
        (
            "bob".into(),
            "2024-03-01T13:00:00.000000".into(),
            true,
            Some(0)
        )
    );
    assert_eq!(rows[0].3, Some(0));
    let table = ex.run(&["status", "c1", "ps1"]).ok().stdout;
    let bob = table.lines().find(|l| l.starts_with("bob")).unwrap();
    assert!(
        bob.contains("(extension)") && bob.contains(" no "),
        "{table}"
    );

    ex.run(&[
        "deadlines",
        "extend",
        "c1",
        "ps1",
        "bob",
        "--until",
        "2024-03-01 12:15 UTC",
    ])
    .ok();
    assert_eq!(per_student(&ex)[1].3, Some(900));
    ex.run(&["deadlines", "extend", "c1", "ps1", "bob", "--remove"])
        .ok();
    assert_eq!(per_student(&ex)[1], ("bob".into(), due, false, Some(1800)));
    let table = ex.run(&["status", "c1", "ps1"]).ok().stdout;
    let bob = table.lines().find(|l| l.starts_with("bob")).unwrap();
    assert!(bob.contains("30m 0s"), "{table}");
}

/// A student granted an extension before their inbox exists (they never started their server)
/// is still one of the course's students in `status`, with their own due date.
#[test]
fn status_lists_a_student_with_an_extension_and_no_inbox() {
    let (ex, db) = course();
    let gradebook = db.to_str().unwrap();
    ex.run(&["deadlines", "publish", "c1", "--gradebook", gradebook])
        .ok();
    assert!(!ex.path("c1/inbound/dora").exists());
    ex.run(&[
        "deadlines",
        "extend",
        "c1",
        "ps1",
        "dora",
        "--by",
        "2d",
        "--new-student",
    ])
    .ok();
    let rows = per_student(&ex);
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dora"]);
    assert_eq!(
        rows[3],
        (
            "dora".into(),
            "2024-03-03T12:00:00.000000".into(),
            true,
            None
        )
    );
    let table = ex.run(&["status", "c1"]).ok().stdout;
    let ps1: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        &ps1[..6],
        ["ps1", "yes", "2024-03-01", "12:00", "4", "2"],
        "{table}"
    );
}

#[test]
fn import_checks_every_row_before_writing() {
    let (ex, db) = course();
    ex.run(&[
        "deadlines",
        "publish",
        "c1",
        "--gradebook",
        db.to_str().unwrap(),
    ])
    .ok();
    // A bad row, or a course named in the file that does not exist, refuses the whole file.
    let refused = [
        (
            "student,assignment,until,by\nbob,ps1,,2h\n../eve,ps1,,1h\n",
            "line 3",
        ),
        (
            "course,student,assignment,by\nc1,bob,ps1,2h\nnope,bob,ps1,1h\n",
            "nope",
        ),
    ];
    for (text, why) in refused {
        let csv = ex.write("bad.csv", text);
        ex.run(&[
            "deadlines",
            "import",
            csv.to_str().unwrap(),
            "--course",
            "c1",
        ])
        .fails_with(why);
        assert!(!ex
            .path("c1/feedback_public/bob/.nbk8s-deadlines.json")
            .exists());
    }
    let good = ex.write(
        "good.csv",
        "course,student,assignment,until,by\nc1,bob,ps1,,2h\nc1,alice,ps1,2024-03-01 09:00 UTC,\n",
    );
    ex.run(&["deadlines", "import", good.to_str().unwrap()])
        .ok();
    let rows = per_student(&ex);
    assert_eq!(
        rows[0],
        (
            "alice".into(),
            "2024-03-01T09:00:00.000000".into(),
            true,
            Some(3600)
        )
    );
    assert_eq!(
        rows[1],
        (
            "bob".into(),
            "2024-03-01T14:00:00.000000".into(),
            true,
            Some(0)
        )
    );
}

#[test]
fn extend_refuses_bad_input() {
    let (ex, _) = course();
    ex.run(&["deadlines", "extend", "c1", "ps1", "bob"]).code(2);
    ex.run(&["deadlines", "extend", "c1", "ps1", "../x", "--by", "1h"])
        .fails_with("invalid student id");
    ex.run(&[
        "deadlines",
        "extend",
        "c1",
        "ps1",
        "bob",
        "--until",
        "someday",
    ])
    .fails_with("--until");
    ex.run(&["deadlines", "extend", "nope", "ps1", "bob", "--by", "1h"])
        .fails_with("does not exist");
}

/// A typo'd id (no inbox, in no roster given) is refused and creates nothing; a roster or
/// --new-student makes it known.
#[test]
fn an_unknown_student_is_refused_unless_named() {
    let (ex, _) = course();
    let extend = |extra: &[&str]| {
        let mut args = vec!["deadlines", "extend", "c1", "ps1", "alcie", "--by", "1d"];
        args.extend_from_slice(extra);
        ex.run(&args)
    };
    let out = extend(&[]).code(1);
    assert!(
        out.stderr.contains("1 student id is not known in c1")
            && out.stderr.contains(": alcie. A typo?")
            && out.stderr.contains("--new-student"),
        "{}",
        out.stderr
    );
    assert!(!ex.path("c1/feedback_public/alcie").exists());
    // Known from a roster file (as provisioning reads it).
    let roster = ex.outside("roster.txt");
    write(&roster, "alcie\n");
    extend(&["--students", roster.to_str().unwrap()]).ok();
    assert!(ex
        .path("c1/feedback_public/alcie/.nbk8s-deadlines.json")
        .exists());
    // Removing needs no known student: there is nothing to create.
    ex.run(&["deadlines", "extend", "c1", "ps1", "zed", "--remove"])
        .ok();
    assert!(!ex.path("c1/feedback_public/zed").exists());
    ex.run(&[
        "deadlines",
        "extend",
        "c1",
        "ps1",
        "dora",
        "--by",
        "1d",
        "--new-student",
    ])
    .ok();
}

/// 10,000 unknown ids: one refusal listing every one of them, nothing created.
#[test]
fn import_lists_every_unknown_id_before_writing_anything() {
    let (ex, _) = course();
    let mut text = String::from("student,assignment,by\nbob,ps1,2h\n");
    let unknown: Vec<String> = (0..10_000).map(|i| format!("nobody{i:05}")).collect();
    for id in &unknown {
        text.push_str(&format!("{id},ps1,1d\n"));
    }
    let csv = ex.write("many.csv", &text);
    let before = std::fs::read_dir(ex.path("c1/feedback_public"))
        .unwrap()
        .count();
    let out = ex
        .run(&[
            "deadlines",
            "import",
            csv.to_str().unwrap(),
            "--course",
            "c1",
        ])
        .code(1);
    assert_eq!(out.stderr.lines().count(), 1, "one refusal");
    assert!(
        out.stderr.contains("10000 student ids are not known in c1"),
        "{}",
        &out.stderr[..200]
    );
    let listed = out.stderr.split("): ").nth(1).unwrap();
    let listed: Vec<&str> = listed
        .split(". A typo?")
        .next()
        .unwrap()
        .split(", ")
        .collect();
    assert_eq!(listed, unknown, "every unknown id, and only those");
    let after = std::fs::read_dir(ex.path("c1/feedback_public"))
        .unwrap()
        .count();
    assert_eq!(before, after, "nothing created");
    assert!(!ex
        .path("c1/feedback_public/bob/.nbk8s-deadlines.json")
        .exists());
    let few = ex.write(
        "few.csv",
        "student,assignment,by\nbob,ps1,2h\nnobody1,ps1,1d\n",
    );
    ex.run(&[
        "deadlines",
        "import",
        few.to_str().unwrap(),
        "--course",
        "c1",
        "--new-student",
    ])
    .ok();
    assert!(ex.path("c1/feedback_public/nobody1").is_dir());
}

/// `--by 500000w` and friends: refused with the horizon named, in `extend` and `import`.
#[test]
fn extensions_beyond_the_horizon_are_refused() {
    let (ex, db) = course();
    ex.run(&[
        "deadlines",
        "publish",
        "c1",
        "--gradebook",
        db.to_str().unwrap(),
    ])
    .ok();
    let file = ex.path("c1/feedback_public/bob/.nbk8s-deadlines.json");
    for (flag, value) in [
        ("--by", "500000w"),
        ("--by", "53w"),
        ("--until", "2025-03-05 12:00 UTC"),
        ("--until", "2023-01-01 12:00 UTC"),
        ("--until", "9999-12-31 00:00 UTC"),
    ] {
        ex.run(&["deadlines", "extend", "c1", "ps1", "bob", flag, value])
            .fails_with("beyond the horizon");
        assert!(!file.exists(), "{flag} {value}");
    }
    ex.run(&["deadlines", "extend", "c1", "ps1", "bob", "--by", "52w"])
        .ok();
    let csv = ex.write(
        "far.csv",
        "student,assignment,until,by\nalice,ps1,,1d\nbob,ps1,,600d\ncarol,ps1,3024-01-01,\n",
    );
    let out = ex
        .run(&[
            "deadlines",
            "import",
            csv.to_str().unwrap(),
            "--course",
            "c1",
        ])
        .code(1);
    assert!(
        out.stderr.contains("2 problems")
            && out.stderr.contains("c1 bob ps1")
            && out.stderr.contains("c1 carol ps1"),
        "{}",
        out.stderr
    );
    assert!(!ex
        .path("c1/feedback_public/alice/.nbk8s-deadlines.json")
        .exists());
}
