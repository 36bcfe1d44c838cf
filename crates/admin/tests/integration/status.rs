//! `nbgrader-k8s status`.

use crate::util::*;

/// c1 with ps1 released; alice on time, bob late and resubmitting, carol not submitted;
/// feedback for alice's submission.
fn course() -> Exchange {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob", "carol"]);
    ex.write("c1/outbound/ps1/squares.ipynb", "{}");
    ex.mkdir("c1/outbound/ps2");
    let a = ex.submit("c1", "alice", "ps1", &ts("2024-03-01 10:00:00"), "aaaa");
    ex.feedback("c1", "alice", &a);
    ex.submit("c1", "bob", "ps1", &ts("2024-03-01 11:00:00"), "bbb1");
    ex.submit(
        "c1",
        "bob",
        "ps1",
        "2024-03-01 13:30:00.000000 +0100",
        "bbb2",
    );
    ex
}

#[test]
fn table_per_assignment() {
    let ex = course();
    let out = ex
        .run(&["status", "c1", "--due", "ps1=2024-03-01 12:00:00"])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ASSIGNMENT  RELEASED  DUE (UTC)"),
        "{}",
        out.stdout
    );
    let ps1: Vec<&str> = lines[1].split_whitespace().collect();
    // ps1 yes 2024-03-01 12:00 students=3 submitted=2 late=1 resub=1 feedback=1 last
    assert_eq!(
        ps1,
        [
            "ps1",
            "yes",
            "2024-03-01",
            "12:00",
            "3",
            "2",
            "1",
            "1",
            "1",
            "2024-03-01",
            "12:30"
        ]
    );
    let ps2: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(ps2, ["ps2", "yes", "-", "3", "0", "0", "0", "0", "-"]);
}

#[test]
fn json_with_students_of_one_assignment() {
    let ex = course();
    let v = ex
        .run(&["status", "c1", "ps1", "--due", "2024-03-01T12:00", "--json"])
        .ok()
        .json();
    let ps1 = &v["assignments"][0];
    assert_eq!(v["assignments"].as_array().unwrap().len(), 1);
    assert_eq!(ps1["due"], "2024-03-01T12:00:00.000000");
    assert_eq!(ps1["submitted"], 2);
    assert_eq!(ps1["late"], 1);
    assert_eq!(ps1["resubmissions"], 1);
    assert_eq!(ps1["feedback_released"], 1);
    assert_eq!(ps1["last_activity"], "2024-03-01T12:30:00.000000");
    let per: Vec<_> = ps1["per_student"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["student"].as_str().unwrap(),
                s["submissions"].as_u64().unwrap(),
                s["late"].as_bool().unwrap(),
                s["feedback_released"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        per,
        [
            ("alice", 1, false, true),
            ("bob", 2, true, false),
            ("carol", 0, false, false)
        ]
    );
    let out = ex.run(&["status", "c1", "ps1"]).ok();
    assert!(out.stdout.contains("\nSTUDENT"), "{}", out.stdout);
    let carol = out.stdout.lines().find(|l| l.starts_with("carol")).unwrap();
    assert_eq!(
        carol.split_whitespace().collect::<Vec<_>>(),
        ["carol", "0", "-", "-", "-", "-", "-"]
    );
}

#[test]
fn due_dates_and_roster_from_the_gradebook() {
    let ex = course();
    let db = ex.outside("gradebook.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE student (id VARCHAR(128) PRIMARY KEY);
         INSERT INTO student VALUES ('alice'), ('bob'), ('carol'), ('dan');
         CREATE TABLE assignment (id TEXT PRIMARY KEY, name TEXT, duedate DATETIME, course_id TEXT);
         INSERT INTO assignment VALUES ('1', 'ps1', '2024-03-01 10:30:00.000000', 'c1'),
                                       ('2', 'ps3', NULL, 'c1');",
    )
    .unwrap();
    drop(conn);
    let v = ex
        .run(&[
            "status",
            "c1",
            "--gradebook",
            db.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    let names: Vec<_> = v["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["assignment"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ps1", "ps2", "ps3"]);
    assert_eq!(v["assignments"][0]["students"], 4);
    assert_eq!(v["assignments"][0]["due"], "2024-03-01T10:30:00.000000");
    assert_eq!(v["assignments"][0]["late"], 1);
    assert_eq!(v["assignments"][2]["released"], false);
    // --due overrides the gradebook.
    let v = ex
        .run(&[
            "status",
            "c1",
            "ps1",
            "--gradebook",
            db.to_str().unwrap(),
            "--due",
            "2024-03-02",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(v["assignments"][0]["late"], 0);
}

#[test]
fn errors() {
    let ex = course();
    ex.run(&["status", "nope"])
        .code(1)
        .fails_with("course \"nope\" does not exist");
    ex.run(&["status", "c1", "--due", "soon"])
        .code(1)
        .fails_with("--due \"soon\"");
    ex.run(&["status", "c1", "a+b"])
        .code(1)
        .fails_with("invalid assignment id \"a+b\"");
    ex.run(&["status", "c1", "--gradebook", "/nope.db"])
        .code(1)
        .fails_with("gradebook /nope.db does not exist");
}
