//! `nbgrader-k8s audit`.

use std::fs;
use std::os::unix::fs::symlink;

use crate::util::*;

fn audit(ex: &Exchange, extra: &[&str]) -> Output {
    let owner = owner_args();
    let mut args = vec!["audit", "c1"];
    args.extend(owner.iter().map(String::as_str));
    args.extend_from_slice(extra);
    ex.run(&args)
}

/// Findings as (severity, code, path relative to the course).
fn findings(out: &Output, ex: &Exchange) -> Vec<(String, String, String)> {
    findings_of(&out.json(), ex)
}

/// [`findings`] of a parsed `--json` document.
fn findings_of(v: &serde_json::Value, ex: &Exchange) -> Vec<(String, String, String)> {
    let base = ex.path("c1");
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = std::path::PathBuf::from(f["path"].as_str().unwrap());
            (
                f["severity"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
                p.strip_prefix(&base).unwrap().display().to_string(),
            )
        })
        .collect()
}

fn has(list: &[(String, String, String)], severity: &str, code: &str, path: &str) -> bool {
    list.iter()
        .any(|(s, c, p)| s == severity && c == code && p == path)
}

/// A course whose submissions were made just now (not backdated).
fn clean_course() -> Exchange {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    ex.write("c1/outbound/ps1/squares.ipynb", "{}");
    chmod(&ex.path("c1/outbound/ps1"), 0o755);
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f UTC")
        .to_string();
    let sub = ex.submit("c1", "alice", "ps1", &now, "abc");
    ex.feedback("c1", "alice", &sub);
    ex
}

#[test]
fn a_clean_course_passes() {
    let ex = clean_course();
    let out = audit(&ex, &["--json"]).ok();
    assert_eq!(findings(&out, &ex), vec![]);
    assert_eq!(out.json()["students"], 2);
    let out = audit(&ex, &[]).ok();
    assert_eq!(
        out.stdout,
        "c1: 2 students checked: 0 high, 0 medium, 0 low\n"
    );
}

#[test]
fn isolation_breakers_are_high() {
    let ex = clean_course();
    let alice_sub = std::fs::read_dir(ex.path("c1/inbound/alice"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    symlink("/etc/passwd", alice_sub.join("passwd")).unwrap();
    symlink("/etc", ex.path("c1/feedback_public/bob/etc")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        ex.path("c1/inbound/bob/pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    // bob's dir holds a submission named as carol's (the earlier plugin's naming).
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f UTC")
        .to_string();
    ex.write(
        &format!("c1/inbound/bob/carol+ps1+{now}+xyz/timestamp.txt"),
        &now,
    );
    chmod(&ex.path("c1/outbound/ps1"), 0o777);
    let out = audit(&ex, &["--json"]).code(3);
    let f = findings(&out, &ex);
    let alice_rel = format!(
        "inbound/alice/{}/passwd",
        alice_sub.file_name().unwrap().to_str().unwrap()
    );
    assert!(has(&f, "high", "symlink", &alice_rel), "{f:#?}");
    assert!(
        has(&f, "high", "symlink", "feedback_public/bob/etc"),
        "{f:#?}"
    );
    assert!(
        has(&f, "high", "special_file", "inbound/bob/pipe"),
        "{f:#?}"
    );
    assert!(
        has(
            &f,
            "high",
            "foreign_name",
            &format!("inbound/bob/carol+ps1+{now}+xyz")
        ),
        "{f:#?}"
    );
    assert!(has(&f, "high", "world_writable", "outbound/ps1"), "{f:#?}");
    let v = out.json();
    assert_eq!(v["summary"]["high"], 5, "{f:#?}");
    assert_eq!(v["findings"][0]["severity"], "high");
    let text = audit(&ex, &[]).code(3);
    assert!(text.stdout.contains("HIGH      symlink"), "{}", text.stdout);
    assert!(
        text.stdout
            .ends_with("c1: 2 students checked: 5 high, 0 medium, 0 low\n"),
        "{}",
        text.stdout
    );
}

#[test]
fn backdated_submissions_unless_migrated() {
    let ex = clean_course();
    let old = ex.submit("c1", "bob", "ps1", &ts("2024-03-01 10:00:00"), "old");
    let out = audit(&ex, &["--json"]).code(3);
    let name = old.file_name().unwrap().to_str().unwrap().to_string();
    assert!(has(
        &findings(&out, &ex),
        "high",
        "backdated",
        &format!("inbound/bob/{name}")
    ));
    // A submission recorded by migrate is not backdated.
    ex.write("c1/.nbk8s-migrated", &format!("# migrated\nbob\t{name}\n"));
    let out = audit(&ex, &["--json"]).ok();
    assert_eq!(findings(&out, &ex), vec![]);
    // Tolerance: a claim a minute old is fine by default, not with --backdate-tolerance 10.
    let minute_ago = (chrono::Utc::now() - chrono::Duration::seconds(60))
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    ex.submit("c1", "alice", "ps2", &minute_ago, "m");
    audit(&ex, &[]).ok();
    audit(&ex, &["--backdate-tolerance", "10"]).code(3);
}

#[test]
fn a_submission_edited_after_its_claimed_time_is_backdated() {
    let ex = clean_course();
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f UTC")
        .to_string();
    let sub = ex.submit("c1", "bob", "ps1", &now, "edit");
    audit(&ex, &["--backdate-tolerance", "1"]).ok();
    // Editing a file in place leaves the directory's ctime alone; the file's moves on.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    std::fs::write(sub.join("squares.ipynb"), "{\"edited\": true}").unwrap();
    let out = audit(&ex, &["--json", "--backdate-tolerance", "1"]).code(3);
    let name = sub.file_name().unwrap().to_str().unwrap().to_string();
    assert!(has(
        &findings(&out, &ex),
        "high",
        "backdated",
        &format!("inbound/bob/{name}")
    ));
}

#[test]
fn owners_modes_staging_and_timestamps() {
    let ex = clean_course();
    chmod(&ex.path("c1/inbound/bob"), 0o775);
    chmod(&ex.path("c1/feedback_public"), 0o777);
    ex.mkdir("c1/inbound/alice/.nbk8s-staging-abc");
    ex.mkdir("c1/outbound/.nbk8s-trash-xyz");
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f UTC")
        .to_string();
    let sub = ex.submit("c1", "bob", "ps1", &now, "t");
    std::fs::write(sub.join("timestamp.txt"), "2020-01-01 00:00:00 UTC").unwrap();
    ex.write("c1/inbound/bob/notes.txt", "hi");
    let out = audit(&ex, &["--json"]).code(3);
    let f = findings(&out, &ex);
    assert!(has(&f, "medium", "wrong_mode", "inbound/bob"), "{f:#?}");
    assert!(
        has(&f, "high", "writable_skeleton", "feedback_public"),
        "{f:#?}"
    );
    assert!(
        has(&f, "low", "staging", "inbound/alice/.nbk8s-staging-abc"),
        "{f:#?}"
    );
    assert!(
        has(&f, "low", "staging", "outbound/.nbk8s-trash-xyz"),
        "{f:#?}"
    );
    let rel = format!("inbound/bob/{}", sub.file_name().unwrap().to_str().unwrap());
    assert!(has(&f, "medium", "timestamp_mismatch", &rel), "{f:#?}");
    assert!(
        has(&f, "low", "stray_entry", "inbound/bob/notes.txt"),
        "{f:#?}"
    );
    // Staging older than --staging-age is a leftover.
    let f = findings(&audit(&ex, &["--json", "--staging-age", "0s"]).code(3), &ex);
    assert!(
        has(
            &f,
            "medium",
            "leftover_staging",
            "inbound/alice/.nbk8s-staging-abc"
        ),
        "{f:#?}"
    );
    if is_root() {
        // Owned by someone else than the notebook user: high for dirs pods write.
        let out = ex
            .run(&["audit", "c1", "--uid", "1000", "--gid", "100", "--json"])
            .code(3);
        let f = findings(&out, &ex);
        assert!(has(&f, "high", "wrong_owner", "inbound"), "{f:#?}");
        assert!(has(&f, "high", "wrong_owner", "inbound/alice"), "{f:#?}");
    }
}

#[test]
fn roster_gaps() {
    let ex = clean_course();
    std::fs::remove_dir(ex.path("c1/feedback_public/bob")).unwrap();
    ex.mkdir("c1/inbound/mallory");
    ex.mkdir("c1/feedback_public/mallory");
    for dir in ["c1/inbound/mallory", "c1/feedback_public/mallory"] {
        chmod(&ex.path(dir), 0o2775);
    }
    let out = ex.run_stdin(
        &[
            "audit",
            "c1",
            "--uid",
            &me().0,
            "--gid",
            &me().1,
            "--keeper-uid",
            &me().0,
            "--students",
            "-",
            "--json",
        ],
        Some("alice\nbob\ncarol\n"),
    );
    let out = out.code(3);
    let f = findings(&out, &ex);
    assert!(
        has(&f, "high", "missing_dir", "feedback_public/bob"),
        "{f:#?}"
    );
    assert!(
        has(&f, "high", "missing_student_dir", "inbound/carol"),
        "{f:#?}"
    );
    assert!(
        has(&f, "high", "missing_student_dir", "feedback_public/carol"),
        "{f:#?}"
    );
    assert!(
        has(&f, "medium", "not_on_roster", "inbound/mallory"),
        "{f:#?}"
    );
    assert_eq!(f.len(), 4, "{f:#?}");
}

#[test]
fn errors() {
    let ex = clean_course();
    audit(&ex, &[]).ok();
    ex.run(&["audit", "nope"])
        .code(1)
        .fails_with("course \"nope\" does not exist");
    audit(&ex, &["--staging-age", "1y"]).code(2);
    std::fs::remove_dir_all(ex.path("c1/outbound")).unwrap();
    let f = findings(&audit(&ex, &["--json"]).code(3), &ex);
    assert!(has(&f, "high", "missing_dir", "outbound"), "{f:#?}");
}

/// What kubelet's fsGroup step does to a volume (kubernetes `pkg/volume/volume_linux.go`):
/// every entry gets group `gid` (links too, never followed) and, links excepted, its mode ORed
/// with 0660, directories also with 0110 and setgid.
fn kubelet_fs_group(path: &std::path::Path, gid: u32) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            kubelet_fs_group(&entry.unwrap().path(), gid);
        }
    }
    std::os::unix::fs::lchown(path, None, Some(gid)).unwrap();
    if meta.file_type().is_symlink() {
        return;
    }
    let add = if meta.is_dir() { 0o2770 } else { 0o660 };
    chmod(path, mode(path) | add);
}

/// The fsGroup the walk uses: another group when we may chown to one, else our own (then
/// only the modes change, as with the pods' fsGroup equal to the exchange's gid).
fn fs_group() -> u32 {
    if is_root() {
        4242
    } else {
        me().1.parse().unwrap()
    }
}

#[test]
fn kubelets_fs_group_bits_are_info_under_fs_group_and_findings_without() {
    let ex = clean_course();
    let gid = fs_group();
    kubelet_fs_group(&ex.path("c1"), gid);
    // kubelet's group write on a sealed skeleton directory is never excused: it is what would
    // let a pod rename a directory another pod mounts through (docs/storage.md: such a walk
    // happens only without OnRootMismatch).
    let sealed = |f: &[(String, String, String)]| {
        ["", "inbound", "feedback_public"]
            .iter()
            .all(|p| has(f, "high", "writable_skeleton", p))
    };

    // Without --fs-group the walk looks like wrong owners and modes (the nightly audit failed).
    let out = audit(&ex, &["--json"]);
    let f = findings(&out, &ex);
    assert_eq!(out.code, 3);
    assert!(sealed(&f), "{f:#?}");
    if is_root() {
        assert!(has(&f, "high", "wrong_owner", "inbound/alice"), "{f:#?}");
    }

    // With it, what pods write is counted, not reported; the sealed directories still are.
    let gid_arg = gid.to_string();
    let out = audit(&ex, &["--json", "--fs-group", &gid_arg]).code(3);
    let f = findings(&out, &ex);
    assert!(sealed(&f), "{f:#?}");
    let only_sealed = |f: &[(String, String, String)]| {
        f.iter()
            .all(|(_, _, p)| ["", "inbound", "feedback_public"].contains(&p.as_str()))
    };
    assert!(only_sealed(&f), "{f:#?}");
    let v = out.json();
    assert_eq!(v["fs_group"]["gid"], gid);
    assert!(v["fs_group"]["entries"].as_u64().unwrap() >= 8, "{v:#}");
    let text = audit(&ex, &["--fs-group", &gid_arg]).code(3);
    assert!(
        text.stdout.contains(" high, 0 medium, 0 low\ninfo: "),
        "{}",
        text.stdout
    );
    // The same through the environment, as a CronJob would set it.
    let (uid, my_gid) = me();
    let env = std::process::Command::new(env!("CARGO_BIN_EXE_nbgrader-k8s"))
        .args(["--root", ex.root().to_str().unwrap(), "audit", "c1"])
        .args([
            "--uid",
            &uid,
            "--gid",
            &my_gid,
            "--keeper-uid",
            &uid,
            "--json",
        ])
        .env("NBGRADER_K8S_FS_GROUP", &gid_arg)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&env.stdout).unwrap();
    assert_eq!(findings_of(&v, &ex), f);
    assert_eq!(v["fs_group"]["gid"], gid);
}

#[test]
fn under_fs_group_real_problems_are_still_findings() {
    let ex = clean_course();
    let gid = fs_group();
    kubelet_fs_group(&ex.path("c1"), gid);
    chmod(&ex.path("c1/outbound/ps1"), 0o2777); // kubelet never adds world write
    chmod(&ex.path("c1/inbound/bob"), 0o2700); // kubelet only adds bits
    symlink("/etc", ex.path("c1/inbound/alice/etc")).unwrap();
    if is_root() {
        std::os::unix::fs::lchown(ex.path("c1/feedback_public/bob"), Some(4343), None).unwrap();
    }
    let gid_arg = gid.to_string();
    let out = audit(&ex, &["--json", "--fs-group", &gid_arg]).code(3);
    let f = findings(&out, &ex);
    assert!(has(&f, "high", "world_writable", "outbound/ps1"), "{f:#?}");
    assert!(has(&f, "medium", "wrong_mode", "inbound/bob"), "{f:#?}");
    assert!(has(&f, "high", "symlink", "inbound/alice/etc"), "{f:#?}");
    if is_root() {
        assert!(
            has(&f, "high", "wrong_owner", "feedback_public/bob"),
            "{f:#?}"
        );
    }
}

#[test]
fn with_the_notarys_index_sealed_times_judge_and_edits_after_the_seal_are_found() {
    let ex = clean_course();
    let sealed = ex.path("c1/inbound/alice");
    let alice = fs::read_dir(&sealed)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    ex.run(&["notary", "run", "--once"]).ok();
    fs::write(alice.join("squares.ipynb"), "{\"cells\": [\"after\"]}").unwrap();
    // bob plants a submission claiming an hour ago, after the first pass: the second pass
    // seals it now, and the audit judges it by that sealed time.
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%d %H:%M:%S%.6f UTC")
        .to_string();
    let planted = ex.submit("c1", "bob", "ps1", &hour_ago, "bbbb");
    ex.run(&["notary", "run", "--once"]).ok();
    let out = audit(&ex, &["--json"]);
    let list = findings(&out, &ex);
    let rel = |p: &std::path::Path| p.strip_prefix(ex.path("c1")).unwrap().display().to_string();
    assert!(
        has(&list, "medium", "changed_after_seal", &rel(&alice)),
        "{list:#?}"
    );
    assert!(has(&list, "high", "backdated", &rel(&planted)), "{list:#?}");
    let text = out.stdout;
    assert!(text.contains("rule: the notary's seal"), "{text}");
}
