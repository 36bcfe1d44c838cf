//! No whole-course command follows a link (issue 27, item 1): course A's instructor
//! replaces one of A's directories by a link into course B, and every admin command run on
//! A neither shows nor changes anything of B, and refuses or reports the link by name.
//!
//! One table of links (every directory on a path that whole-course code goes through), one
//! world (two full courses with a student in both), one check; each command's test runs the
//! table with `openat2` and again with the component walk (`NBK8S_NO_OPENAT2=1`).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::util::*;

const A: &str = "acourse";
const B: &str = "bcourse";

/// Strings that only B's data holds: none may appear in a command's output on A, nor
/// anywhere under A.
const B_MARKERS: &[&str] = &["bsecret", "bps9", "brand", "2031-0", "B-feedback"];

/// Where a link is planted (relative to the root) and what it points to.
struct Link {
    at: &'static str,
    target: &'static str,
    /// Which part of the course it is in.
    part: Part,
}

/// Every reserved directory of A that whole-course code resolves paths through.
const LINKS: &[Link] = &[
    Link {
        at: "acourse",
        target: "bcourse",
        part: Part::Course,
    },
    Link {
        at: "acourse/inbound",
        target: "../bcourse/inbound",
        part: Part::Course,
    },
    Link {
        at: "acourse/outbound",
        target: "../bcourse/outbound",
        part: Part::Course,
    },
    Link {
        at: "acourse/feedback_public",
        target: "../bcourse/feedback_public",
        part: Part::Course,
    },
    Link {
        at: "acourse/.nbk8s-notary",
        target: "../bcourse/.nbk8s-notary",
        part: Part::Course,
    },
    Link {
        at: "acourse/.nbk8s-removed",
        target: "../bcourse/.nbk8s-removed",
        part: Part::Course,
    },
    Link {
        at: ".nbk8s-notary/acourse",
        target: "bcourse",
        part: Part::Course,
    },
    Link {
        at: "acourse/inbound/shared",
        target: "../../bcourse/inbound/shared",
        part: Part::Inbox,
    },
    Link {
        at: "acourse/feedback_public/shared",
        target: "../../bcourse/feedback_public/shared",
        part: Part::Feedback,
    },
];

/// Where a link is: a directory of the course, or a student's inbox or feedback directory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Course,
    Inbox,
    Feedback,
}

/// How a command must answer a link.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Fail, or report (a warning, or a skipped item with exit status 1), naming a link in
    /// the course's directories, and in the students' `parts` (those it goes into).
    Names(&'static [Part]),
    /// `audit --json`: a high finding at the link.
    High,
}

/// Two full courses: releases, submissions, feedback, leftovers, removed submissions,
/// published due dates and an extension, and the notary's ledger and copies; `shared` is a
/// student of both.
fn world() -> Exchange {
    let ex = Exchange::new();
    ex.course(A, &["shared", "aonly"]);
    ex.course(B, &["shared", "bsecret"]);
    ex.write("acourse/outbound/aps1/a.ipynb", "{}");
    ex.write("bcourse/outbound/bps9/b.ipynb", "{\"bps9\": 1}");
    let a1 = ex.submit(A, "shared", "aps1", &ts("2030-01-01 10:00:00"), "arand1");
    ex.submit(A, "shared", "aps1", &ts("2030-01-02 10:00:00"), "arand2");
    ex.submit(A, "aonly", "aps1", &ts("2030-01-01 11:00:00"), "arand3");
    ex.feedback(A, "shared", &a1);
    let b1 = ex.submit(B, "shared", "bps9", &ts("2031-01-01 10:00:00"), "brand1");
    ex.submit(B, "shared", "bps9", &ts("2031-01-02 10:00:00"), "brand2");
    let b3 = ex.submit(B, "bsecret", "bps9", &ts("2031-01-01 11:00:00"), "brand3");
    ex.feedback(B, "shared", &b1);
    ex.feedback(B, "bsecret", &b3);
    for f in [
        "bcourse/feedback_public/shared",
        "bcourse/feedback_public/bsecret",
    ] {
        ex.write(&format!("{f}/extra.html"), "<html>B-feedback</html>");
    }
    for (c, s, a, t) in [
        (A, "shared", "aps1", "2030-01-01 09:00:00"),
        (B, "shared", "bps9", "2031-01-01 09:00:00"),
    ] {
        ex.mkdir(&format!("{c}/inbound/{s}/.nbk8s-staging-{c}"));
        ex.mkdir(&format!("{c}/outbound/.nbk8s-staging-{c}"));
        ex.write(
            &format!("{c}/.nbk8s-removed/{s}/{a}+{t}.000000 UTC+{c}rm/x.ipynb"),
            "{}",
        );
    }
    for (c, a, due) in [
        (A, "aps1", "2030-01-05 10:00:00"),
        (B, "bps9", "2031-01-05 10:00:00"),
    ] {
        let due = [(a.to_string(), exchange_core::timestamp::parse(due).unwrap())];
        exchange_core::deadlines::publish_all_due(&ex.root(), c, &due.into()).unwrap();
    }
    ex.run(&[
        "deadlines",
        "extend",
        B,
        "bps9",
        "bsecret",
        "--until",
        "2031-02-01 10:00",
    ])
    .ok();
    ex.run(&[
        "deadlines",
        "extend",
        B,
        "bps9",
        "shared",
        "--until",
        "2031-02-02 10:00",
    ])
    .ok();
    ex.run(&[
        "notary",
        "run",
        "--once",
        "--quiet",
        "--keep-sealed",
        A,
        "--keep-sealed",
        B,
    ])
    .ok();
    ex
}

/// One entry of a tree as found: kind, mode and contents (a link's target).
type Snapshot = BTreeMap<PathBuf, (&'static str, u32, Vec<u8>)>;

/// Every entry under `dir` (links not followed), with its kind, mode and contents.
fn snapshot(dir: &Path) -> Snapshot {
    fn walk(dir: &Path, out: &mut Snapshot) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(
                    path,
                    ("link", mode, target.into_os_string().into_encoded_bytes()),
                );
            } else if meta.is_dir() {
                out.insert(path.clone(), ("dir", mode, Vec::new()));
                walk(&path, out);
            } else {
                out.insert(path.clone(), ("file", mode, fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Snapshot::new();
    // A link in the place of `dir` is not followed either.
    if fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        walk(dir, &mut out);
    }
    out
}

/// B's whole tree: the course and the notary's ledger of it.
fn snapshot_b(ex: &Exchange) -> Snapshot {
    let mut all = snapshot(&ex.path(B));
    all.extend(snapshot(&ex.path(".nbk8s-notary/bcourse")));
    all
}

/// Whether `text` names `path` (not only a path below it).
fn names(text: &str, path: &Path) -> bool {
    let path = path.display().to_string();
    text.match_indices(&path)
        .any(|(i, _)| !text[i + path.len()..].starts_with('/'))
}

/// Run `command` on A once per link of the table, with the component walk forced or not,
/// and check that nothing of B was read or written and that the link was answered.
fn each_link(answer: Answer, command: &dyn Fn(&Exchange) -> Vec<String>) {
    for fallback in [false, true] {
        for link in LINKS {
            let ex = world();
            let before = snapshot_b(&ex);
            let at = ex.path(link.at);
            fs::remove_dir_all(&at).unwrap();
            std::os::unix::fs::symlink(link.target, &at).unwrap();
            let args = command(&ex);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: &[(&str, &str)] = if fallback {
                &[("NBK8S_NO_OPENAT2", "1")]
            } else {
                &[]
            };
            let out = ex.run_env(&args, None, env);
            let case = format!(
                "{args:?} with {} -> {}{}:\n{out:#?}",
                link.at,
                link.target,
                if fallback { " (component walk)" } else { "" }
            );
            // (b) B is as it was, byte for byte and mode for mode.
            assert!(before == snapshot_b(&ex), "B changed: {case}");
            // (a) Nothing of B in the output, nor anywhere under A.
            let text = format!("{}{}", out.stdout, out.stderr);
            for marker in B_MARKERS {
                assert!(!text.contains(marker), "B's {marker:?} shown: {case}");
            }
            for dir in [ex.path(A), ex.path(".nbk8s-notary/acourse")] {
                for (path, (_, _, body)) in snapshot(&dir) {
                    let found = format!("{}{}", path.display(), String::from_utf8_lossy(&body));
                    for marker in B_MARKERS {
                        assert!(
                            !found.contains(marker),
                            "B's {marker:?} in {path:?}: {case}"
                        );
                    }
                }
            }
            // (c) The link is refused or reported by name.
            match answer {
                Answer::High => {
                    assert_eq!(out.code, 3, "no high finding: {case}");
                    let high = out.json()["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|f| f["severity"] == "high" && f["path"] == at.to_str().unwrap());
                    assert!(high, "the link is not a high finding: {case}");
                }
                Answer::Names(parts) if link.part == Part::Course || parts.contains(&link.part) => {
                    let warned = text.lines().any(|l| l.contains("warning") && names(l, &at));
                    let refused = out.code != 0 && names(&text, &at);
                    assert!(warned || refused, "the link is not named: {case}");
                }
                Answer::Names(_) => {}
            }
        }
    }
}

/// Both of a student's directories.
const STUDENTS: &[Part] = &[Part::Inbox, Part::Feedback];

fn owner_args() -> Vec<String> {
    let (uid, gid) = me();
    vec!["--uid".into(), uid, "--gid".into(), gid]
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn init_follows_no_link() {
    each_link(Answer::Names(&[]), &|_| {
        let mut a = args(&["init", A]);
        a.extend(owner_args());
        a
    });
}

#[test]
fn provision_follows_no_link() {
    each_link(Answer::Names(STUDENTS), &|ex| {
        let roster = write(&ex.outside("roster.txt"), "shared\naonly\n");
        let mut a = args(&["provision", A, "--students", roster.to_str().unwrap()]);
        a.extend(owner_args());
        a
    });
}

#[test]
fn status_follows_no_link() {
    each_link(Answer::Names(STUDENTS), &|_| args(&["status", A]));
}

#[test]
fn status_of_an_assignment_follows_no_link() {
    each_link(Answer::Names(STUDENTS), &|_| {
        args(&["status", A, "aps1", "--json"])
    });
}

#[test]
fn gc_follows_no_link() {
    each_link(Answer::Names(STUDENTS), &|_| {
        args(&[
            "gc",
            A,
            "--keep-last",
            "1",
            "--staging-age",
            "0s",
            "--removed-age",
            "0s",
            "--yes",
        ])
    });
}

#[test]
fn audit_reports_every_link_as_high() {
    each_link(Answer::High, &|_| {
        let mut a = args(&["audit", A, "--json"]);
        a.extend(owner_args());
        a
    });
}

#[test]
fn deadlines_extend_follows_no_link() {
    each_link(Answer::Names(&[Part::Feedback]), &|_| {
        args(&["deadlines", "extend", A, "aps1", "shared", "--by", "2d"])
    });
}

#[test]
fn migrate_follows_no_link() {
    each_link(Answer::Names(STUDENTS), &|ex| {
        let old = ex.outside("old");
        let t = "2030-01-03 10:00:00.000000 UTC";
        let sub = old.join(format!("acourse/inbound/shared+aps1+{t}+mig"));
        write(&sub.join("a.ipynb"), "{}");
        write(&sub.join("timestamp.txt"), t);
        write(&sub.join("submission_secret.txt"), "migrated-secret");
        write(&old.join("acourse/outbound/aps2/a.ipynb"), "{}");
        let key = secret_key("migrated-secret", "a");
        write(&old.join(format!("acourse/feedback/{key}.html")), "fb");
        let mut a = args(&["migrate", "--from", old.to_str().unwrap(), "--course", A]);
        a.extend(owner_args());
        a
    });
}
