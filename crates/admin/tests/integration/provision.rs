//! `nbgrader-k8s provision`.

use crate::util::*;

fn provision(ex: &Exchange, extra: &[&str], stdin: Option<&str>) -> Output {
    let owner = owner_args();
    let mut args = vec!["provision", "c1"];
    args.extend(owner.iter().map(String::as_str));
    args.extend_from_slice(extra);
    ex.run_stdin(&args, stdin)
}

#[test]
fn roster_from_stdin_creates_then_is_fine() {
    let ex = Exchange::new();
    let out = provision(
        &ex,
        &["--students", "-"],
        Some("alice\n\n# note\nbob\nzoë+x@uni.edu\n"),
    )
    .ok();
    assert!(
        out.stdout
            .contains("3 students: created 12, already fine 0"),
        "{}",
        out.stdout
    );
    for s in ["alice", "bob", "zoë+x@uni.edu"] {
        assert_eq!(mode(&ex.path(&format!("c1/inbound/{s}"))), 0o2775);
        assert!(ex.path(&format!("c1/feedback_public/{s}")).is_dir());
    }
    let v = provision(
        &ex,
        &["--students", "-", "--json"],
        Some("alice\nbob\nzoë+x@uni.edu\n"),
    )
    .ok()
    .json();
    assert_eq!(v["summary"]["fine"], 12);
    assert_eq!(v["summary"]["created"], 0);
    assert_eq!(v["summary"]["students"], 3);
}

#[test]
fn csv_roster_and_repair() {
    let ex = Exchange::new();
    let csv = write(
        &ex.outside("students.csv"),
        "id,first_name,email\nalice,Al,a@x\nbob,\"B, Jr\",b@x\n",
    );
    provision(&ex, &["--students", csv.to_str().unwrap()], None).ok();
    chmod(&ex.path("c1/inbound/bob"), 0o777);
    let v = provision(&ex, &["--students", csv.to_str().unwrap(), "--json"], None)
        .ok()
        .json();
    assert_eq!(v["summary"]["repaired"], 1);
    let repaired: Vec<_> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "repaired")
        .collect();
    assert!(repaired[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("c1/inbound/bob"));
    assert_eq!(repaired[0]["detail"], "mode 777 -> 2775");
}

#[test]
fn unsafe_ids_are_refused_with_their_line_before_any_write() {
    let ex = Exchange::new();
    provision(&ex, &["--students", "-"], Some("alice\nbob\n.hidden\n"))
        .code(1)
        .fails_with("line 3: refusing student id \".hidden\"");
    assert!(!ex.path("c1").exists());
    let csv = write(&ex.outside("s.csv"), "email,id\na@x,alice\nb@x,../bob\n");
    provision(&ex, &["--students", csv.to_str().unwrap()], None)
        .code(1)
        .fails_with("line 3: refusing student id \"../bob\"");
}

#[test]
fn one_bad_student_does_not_stop_the_others() {
    let ex = Exchange::new();
    provision(&ex, &["--students", "-"], Some("alice\n")).ok();
    std::os::unix::fs::symlink("/etc", ex.path("c1/inbound/eve")).unwrap();
    let out = provision(
        &ex,
        &["--students", "-", "--json"],
        Some("alice\neve\nzed\n"),
    )
    .code(1);
    let v = out.json();
    assert_eq!(v["summary"]["failed"], 1);
    assert!(v["failed"][0].as_str().unwrap().contains("student \"eve\""));
    assert!(ex.path("c1/inbound/zed").is_dir());
    assert!(out.stderr.contains("eve"));
}

#[test]
fn roster_from_gradebook() {
    let ex = Exchange::new();
    let db = ex.outside("gradebook.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE student (id VARCHAR(128) PRIMARY KEY, first_name TEXT);
         INSERT INTO student VALUES ('alice', 'A'), ('bob', NULL);",
    )
    .unwrap();
    drop(conn);
    let v = provision(
        &ex,
        &["--from-gradebook", db.to_str().unwrap(), "--json"],
        None,
    )
    .ok()
    .json();
    assert_eq!(v["summary"]["students"], 2);
    assert!(ex.path("c1/feedback_public/bob").is_dir());
    provision(&ex, &["--from-gradebook", "/no/such/gradebook.db"], None)
        .code(1)
        .fails_with("gradebook /no/such/gradebook.db does not exist");
}

#[test]
fn needs_a_roster() {
    let ex = Exchange::new();
    provision(&ex, &[], None).code(1).fails_with("--students");
    provision(&ex, &["--students", "/no/such/file"], None)
        .code(1)
        .fails_with("cannot read roster /no/such/file");
}
