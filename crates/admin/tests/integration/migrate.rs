//! `nbgrader-k8s migrate`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

const TS_A: &str = "2024-03-01 10:00:00.000000 UTC";
const TS_B1: &str = "2024-03-01 11:00:00.000000 UTC";
const TS_B2: &str = "2024-03-02 11:00:00.000000 UTC";
const TS_Z: &str = "2024-03-01 12:00:00.000000 +0100";

/// An old submission dir as nbgrader's default exchange writes it.
fn old_sub(dir: &Path, timestamp: &str, secret: &str) -> PathBuf {
    write(
        &dir.join("squares.ipynb"),
        &format!("{{\"secret\": \"{secret}\"}}"),
    );
    write(&dir.join("timestamp.txt"), timestamp);
    write(&dir.join("submission_secret.txt"), secret);
    dir.to_path_buf()
}

/// c1 in nbgrader's default layout; c2 in the earlier plugin's. Returns the old root.
fn old_exchange(ex: &Exchange) -> PathBuf {
    let old = ex.outside("old");
    let c1 = old.join("c1");
    write(&c1.join("outbound/ps1/squares.ipynb"), "{}");
    let inbound = c1.join("inbound");
    old_sub(&inbound.join(format!("alice+ps1+{TS_A}+rA")), TS_A, "sa");
    old_sub(&inbound.join(format!("bob+ps1+{TS_B1}+r1")), TS_B1, "sb1");
    old_sub(&inbound.join(format!("bob+ps1+{TS_B2}+r2")), TS_B2, "sb2");
    old_sub(
        &inbound.join(format!("zoë+x@uni+ps1+{TS_Z}+rZ")),
        TS_Z,
        "sz",
    );
    old_sub(&inbound.join(format!("nora+ps1+{TS_A}")), TS_A, "sn"); // no random part
    write(&inbound.join("README"), "stray");
    let fb = c1.join("feedback");
    write(
        &fb.join(format!("{}.html", secret_key("sa", "squares"))),
        "alice's feedback",
    );
    write(
        &fb.join(format!("{}.html", secret_key("sb2", "squares"))),
        "bob's feedback",
    );
    write(
        &fb.join(format!("{}.html", secret_key("sz", "squares"))),
        "zoë's feedback",
    );
    write(
        &fb.join(format!("{}.html", secret_key("sc", "squares"))),
        "carol's feedback",
    );
    write(
        &fb.join("0123456789abcdef0123456789abcdef.html"),
        "nobody's feedback",
    );
    let c2 = old.join("c2");
    write(&c2.join("outbound/hw1/a.ipynb"), "{}");
    old_sub(
        &c2.join(format!("inbound/dave/dave+hw1+{TS_A}+d1")),
        TS_A,
        "sd",
    );
    old_sub(
        &c2.join(format!("inbound/dave/eve+hw1+{TS_B1}+e1")),
        TS_B1,
        "se",
    );
    write(&c2.join("feedback_public/dave/k1.html"), "dave's feedback");
    old
}

fn migrate(ex: &Exchange, old: &Path, extra: &[&str]) -> Output {
    let (uid, gid) = me();
    let mut args = vec![
        "migrate",
        "--from",
        old.to_str().unwrap(),
        "--uid",
        &uid,
        "--gid",
        &gid,
    ];
    args.extend_from_slice(extra);
    ex.run(&args)
}

fn counts(v: &serde_json::Value, course: usize, kind: &str) -> [u64; 4] {
    let c = &v["courses"][course][kind];
    ["found", "migrated", "already", "skipped"].map(|k| c[k].as_u64().unwrap())
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    n
}

#[test]
fn dry_run_writes_nothing() {
    let ex = Exchange::new();
    let old = old_exchange(&ex);
    let v = migrate(&ex, &old, &["--dry-run", "--json"]).ok().json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(counts(&v, 0, "submissions"), [5, 5, 0, 0]);
    assert_eq!(counts(&v, 0, "feedback"), [5, 3, 0, 2]);
    assert!(!ex.root().exists());
    let out = migrate(&ex, &old, &["--dry-run"]).ok();
    assert!(
        out.stdout
            .contains("  submissions  5 found, 5 would migrate, 0 already there, 0 skipped"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("dry run: nothing was written\n"));
}

#[test]
fn nbgrader_default_layout() {
    let ex = Exchange::new();
    let old = old_exchange(&ex);
    let v = migrate(&ex, &old, &["--course", "c1", "--json"])
        .ok()
        .json();
    assert_eq!(v["courses"].as_array().unwrap().len(), 1);
    assert_eq!(counts(&v, 0, "releases"), [1, 1, 0, 0]);
    assert_eq!(counts(&v, 0, "submissions"), [5, 5, 0, 0]);
    assert_eq!(counts(&v, 0, "feedback"), [5, 3, 0, 2]);
    assert_eq!(v["courses"][0]["submission_layouts"]["nbgrader"], 5);
    let skipped: Vec<String> = v["courses"][0]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["what"].as_str().unwrap(),
                s["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        skipped.iter().any(|s| s.starts_with("entry a file")),
        "{skipped:?}"
    );
    assert_eq!(
        skipped
            .iter()
            .filter(|s| s.contains("cannot tell whose it is"))
            .count(),
        2
    );

    assert!(ex.path("c1/outbound/ps1/squares.ipynb").is_file());
    assert_eq!(
        names(&ex.path("c1/inbound/alice")),
        [format!("ps1+{TS_A}+rA")]
    );
    assert_eq!(
        names(&ex.path("c1/inbound/bob")),
        [format!("ps1+{TS_B1}+r1"), format!("ps1+{TS_B2}+r2")]
    );
    assert_eq!(
        names(&ex.path("c1/inbound/zoë+x@uni")),
        [format!("ps1+{TS_Z}+rZ")]
    );
    let nora = names(&ex.path("c1/inbound/nora"));
    assert_eq!(nora.len(), 1);
    assert!(nora[0].starts_with(&format!("ps1+{TS_A}+")), "{nora:?}");
    let sub = ex.path(&format!("c1/inbound/bob/ps1+{TS_B2}+r2"));
    assert_eq!(
        fs::read_to_string(sub.join("submission_secret.txt")).unwrap(),
        "sb2"
    );
    assert_eq!(mode(&sub), 0o755);
    let key = secret_key("sb2", "squares");
    assert_eq!(
        fs::read_to_string(ex.path(&format!("c1/feedback_public/bob/{key}.html"))).unwrap(),
        "bob's feedback"
    );
    assert!(ex.path("c1/feedback_public/alice").is_dir());
    // The old exchange is untouched without --move.
    assert_eq!(names(&old.join("c1/inbound")).len(), 6);

    // Recorded, so the audit does not call the (ctime-fresh) 2024 submissions backdated.
    let record = fs::read_to_string(ex.path("c1/.nbk8s-migrated")).unwrap();
    assert_eq!(record.lines().filter(|l| !l.starts_with('#')).count(), 5);
    assert!(record.contains(&format!("bob\tps1+{TS_B1}+r1\n")));
    let (uid, gid) = me();
    ex.run(&["audit", "c1", "--uid", &uid, "--gid", &gid]).ok();
    fs::remove_file(ex.path("c1/.nbk8s-migrated")).unwrap();
    let out = ex
        .run(&["audit", "c1", "--uid", &uid, "--gid", &gid])
        .code(3);
    assert!(out.stdout.contains("backdated"));
}

#[test]
fn rerun_is_idempotent_and_resumes() {
    let ex = Exchange::new();
    let old = old_exchange(&ex);
    migrate(&ex, &old, &["--course", "c1"]).ok();
    // An interrupted run: one submission and the record missing.
    fs::remove_dir_all(ex.path(&format!("c1/inbound/alice/ps1+{TS_A}+rA"))).unwrap();
    fs::remove_file(ex.path("c1/.nbk8s-migrated")).unwrap();
    let v = migrate(&ex, &old, &["--course", "c1", "--json"])
        .ok()
        .json();
    assert_eq!(counts(&v, 0, "submissions"), [5, 1, 4, 0]);
    assert_eq!(counts(&v, 0, "feedback"), [5, 0, 3, 2]);
    assert_eq!(counts(&v, 0, "releases"), [1, 0, 1, 0]);
    let record = fs::read_to_string(ex.path("c1/.nbk8s-migrated")).unwrap();
    assert_eq!(record.lines().filter(|l| !l.starts_with('#')).count(), 5);
    // nora's stand-in random part is stable across runs.
    assert_eq!(names(&ex.path("c1/inbound/nora")).len(), 1);
}

#[test]
fn course_dir_maps_feedback_without_a_submission() {
    let ex = Exchange::new();
    let old = old_exchange(&ex);
    let cd = ex.outside("instructor/c1");
    write(
        &cd.join("feedback/carol/ps1/squares.html"),
        "carol's feedback",
    );
    write(&cd.join("feedback/carol/ps1/submission_secret.txt"), "sc");
    // Content match: feedback whose key cannot be recomputed but whose file is in the course dir.
    write(
        &cd.join("feedback/nobody2/ps1/squares.html"),
        "nobody's feedback",
    );
    let v = migrate(
        &ex,
        &old,
        &[
            "--course",
            "c1",
            "--course-dir",
            cd.to_str().unwrap(),
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(counts(&v, 0, "feedback"), [5, 5, 0, 0]);
    let key = secret_key("sc", "squares");
    assert!(ex
        .path(&format!("c1/feedback_public/carol/{key}.html"))
        .is_file());
    assert!(ex
        .path("c1/feedback_public/nobody2/0123456789abcdef0123456789abcdef.html")
        .is_file());
}

#[test]
fn earlier_plugin_layout_with_move() {
    let ex = Exchange::new();
    let old = old_exchange(&ex);
    let v = migrate(&ex, &old, &["--course", "c2", "--move", "--json"])
        .ok()
        .json();
    assert_eq!(counts(&v, 0, "submissions"), [2, 2, 0, 0]);
    assert_eq!(counts(&v, 0, "feedback"), [1, 1, 0, 0]);
    assert_eq!(v["courses"][0]["submission_layouts"]["per_student"], 2);
    let notes = v["courses"][0]["warnings"].to_string();
    assert!(notes.contains("names student \\\"eve\\\""), "{notes}");
    // Identity from the directory: eve's name inside dave's dir stays dave's.
    assert_eq!(
        names(&ex.path("c2/inbound/dave")),
        [format!("hw1+{TS_A}+d1"), format!("hw1+{TS_B1}+e1")]
    );
    assert!(ex.path("c2/feedback_public/dave/k1.html").is_file());
    // Moved: the sources are gone, the (now empty) dirs stay.
    assert!(names(&old.join("c2/inbound/dave")).is_empty());
    assert!(names(&old.join("c2/outbound")).is_empty());
    assert!(names(&old.join("c2/feedback_public/dave")).is_empty());
}

#[test]
fn move_keeps_what_it_cannot_migrate() {
    let ex = Exchange::new();
    let old = old_exchange(&ex);
    let out = migrate(&ex, &old, &["--move"]).ok();
    assert!(
        out.stdout
            .contains("c1:\n  releases     1 found, 1 migrated"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("c2:\n"), "{}", out.stdout);
    assert_eq!(names(&old.join("c1/inbound")), ["README"]);
    assert_eq!(names(&old.join("c1/feedback")).len(), 2);
    // A second run finds only what could not be migrated.
    let v = migrate(&ex, &old, &["--move", "--json"]).ok().json();
    assert_eq!(counts(&v, 0, "submissions"), [0, 0, 0, 0]);
    assert_eq!(counts(&v, 0, "feedback"), [2, 0, 0, 2]);
}

#[test]
fn errors() {
    let ex = Exchange::new();
    let old = old_exchange(&ex);
    migrate(&ex, Path::new("/no/such/exchange"), &[])
        .code(1)
        .fails_with("old exchange /no/such/exchange is not a directory");
    let root = ex.root();
    fs::create_dir_all(&root).unwrap();
    migrate(&ex, &root, &[])
        .code(1)
        .fails_with("--from and --to are the same directory");
    migrate(&ex, &old, &["--course", "c9"])
        .code(1)
        .fails_with("course \"c9\" is not in");
    migrate(&ex, &old, &["--course", "a+b"])
        .code(1)
        .fails_with("invalid course id \"a+b\"");
    let cd = ex.outside("cd");
    fs::create_dir_all(&cd).unwrap();
    migrate(&ex, &old, &["--course-dir", cd.to_str().unwrap()])
        .code(1)
        .fails_with("say which course it is (COURSE=PATH)");
    migrate(
        &ex,
        &old,
        &["--course", "c1", "--course-dir", "/no/such/dir"],
    )
    .code(1)
    .fails_with("course directory /no/such/dir does not exist");
}
