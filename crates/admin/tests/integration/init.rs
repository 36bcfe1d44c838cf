//! `nbgrader-k8s init`.

use crate::util::*;

#[test]
fn creates_the_tree_then_reports_it_fine() {
    let ex = Exchange::new();
    let (uid, gid) = me();
    let out = ex
        .run(&["init", "course101", "--keeper-uid", &uid, "--gid", &gid])
        .ok();
    assert!(
        out.stdout.contains("created 6, already fine 0, repaired 0"),
        "{}",
        out.stdout
    );
    for (dir, shape) in [
        ("course101", 0o2755),
        ("course101/outbound", 0o2775),
        ("course101/inbound", 0o2755),
        ("course101/feedback_public", 0o2755),
        ("course101/.nbk8s-removed", 0o2775),
        ("course101/.nbk8s-notary", 0o2775),
    ] {
        let p = ex.path(dir);
        assert!(p.is_dir(), "{dir}");
        assert_eq!(mode(&p), shape, "{dir}");
    }
    let out = ex
        .run(&[
            "init",
            "course101",
            "--keeper-uid",
            &uid,
            "--gid",
            &gid,
            "--json",
        ])
        .ok();
    let v = out.json();
    assert_eq!(v["course"], "course101");
    assert_eq!(v["summary"]["fine"], 6);
    assert_eq!(v["summary"]["created"], 0);
    assert_eq!(v["entries"].as_array().unwrap().len(), 6);
}

#[test]
fn repairs_modes_and_owner() {
    let ex = Exchange::new();
    let (uid, gid) = me();
    ex.run(&["init", "c1", "--keeper-uid", &uid, "--gid", &gid])
        .ok();
    chmod(&ex.path("c1/outbound"), 0o777);
    let v = ex
        .run(&["init", "c1", "--keeper-uid", &uid, "--gid", &gid, "--json"])
        .ok()
        .json();
    assert_eq!(v["summary"]["repaired"], 1);
    let fixed = &v["entries"][1];
    assert_eq!(fixed["outcome"], "repaired");
    assert_eq!(fixed["detail"], "mode 777 -> 2775");
    assert_eq!(mode(&ex.path("c1/outbound")), 0o2775);
}

#[test]
fn default_owner_is_the_keeper_root_and_the_users_group() {
    if !is_root() {
        return; // chown to another owner needs root
    }
    let ex = Exchange::new();
    ex.run(&["init", "c1"]).ok();
    assert_eq!(owner(&ex.path("c1/inbound")), (0, 100));
    ex.run(&["init", "c1", "--keeper-uid", "1234", "--gid", "55"])
        .ok();
    assert_eq!(owner(&ex.path("c1/feedback_public")), (1234, 55));
}

#[test]
fn errors_are_one_line() {
    let ex = Exchange::new();
    let (uid, gid) = me();
    ex.run(&["init", "bad+course"])
        .code(1)
        .fails_with("invalid course id \"bad+course\"");
    ex.run(&["init", "c1", "--uid", &uid, "--gid", &gid]).ok();
    std::fs::remove_dir(ex.path("c1/inbound")).unwrap();
    std::os::unix::fs::symlink("/tmp", ex.path("c1/inbound")).unwrap();
    ex.run(&["init", "c1", "--uid", &uid, "--gid", &gid])
        .code(1)
        .fails_with("a symlink where a directory must be");
    let out = ex.run(&["init"]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.contains("<COURSE>"));
}

#[test]
fn help_has_examples() {
    let ex = Exchange::new();
    for cmd in ["init", "provision", "mounts"] {
        let out = ex.run(&[cmd, "--help"]).ok();
        assert!(out.stdout.contains("Examples:"), "{cmd}: {}", out.stdout);
        assert!(
            out.stdout.contains(&format!("nbgrader-k8s {cmd}"))
                || out.stdout.contains("nbgrader-k8s --root"),
            "{cmd}"
        );
    }
    let out = ex.run(&["--version"]).ok();
    assert!(out.stdout.starts_with("nbgrader-k8s "));
}
