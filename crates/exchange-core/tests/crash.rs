//! Crash tests: every writing operation, killed with SIGKILL at random moments.
//!
//! The test binary re-executes itself as a child that runs one operation in a loop (the
//! `crash_child` test, inert unless `NBK8S_CRASH_OP` is set); the parent kills it after a
//! random delay, then checks what a reader would find: the old state or the new one, never
//! a half-written file or tree, and no data lost. After the last kill the operation is run
//! once more in-process and must succeed. `NBK8S_CRASH_RUNS` sets the kills per operation
//! (default 40; try thousands by hand).

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use exchange_core::ops::collect::{collect, CollectRequest};
use exchange_core::ops::feedback::{release_feedback, FeedbackItem};
use exchange_core::ops::fetch::fetch_assignment;
use exchange_core::ops::release::release_assignment;
use exchange_core::ops::submit::{submit, SubmitRequest};
use exchange_core::walk::Filter;

const OP_VAR: &str = "NBK8S_CRASH_OP";
const DIR_VAR: &str = "NBK8S_CRASH_DIR";
/// Files per tree and bytes per file: enough that a kill often lands mid-copy.
const FILES: usize = 120;
const SIZE: usize = 4096;
const STUDENTS: usize = 12;

fn runs() -> usize {
    std::env::var("NBK8S_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % n.max(1)
}

/// The body of file `i` of version `v`: recognisable, and truncation shows.
fn body(v: &str, i: usize) -> Vec<u8> {
    sized(v, i, SIZE)
}

fn sized(v: &str, i: usize, size: usize) -> Vec<u8> {
    let unit = format!("{v}:{i};");
    unit.repeat(size / unit.len() + 1).into_bytes()[..size].to_vec()
}

/// One large file per tree: a kill inside its copy shows as a truncated file.
const BIG: usize = 2 << 20;

/// Write version `v` of a tree of `FILES` files (in two subdirectories) at `dir`.
fn write_version(dir: &Path, v: &str) {
    for i in 0..FILES {
        let p = dir.join(format!("d{}", i % 2)).join(format!("f{i}.ipynb"));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body(v, i)).unwrap();
    }
    fs::write(dir.join("big.bin"), sized(v, 0, BIG)).unwrap();
}

/// Which version the tree at `dir` holds, failing on anything incomplete or mixed.
fn version_of(dir: &Path) -> String {
    let mut found = BTreeSet::new();
    for i in 0..FILES {
        let p = dir.join(format!("d{}", i % 2)).join(format!("f{i}.ipynb"));
        let bytes = fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let text = String::from_utf8(bytes.clone()).unwrap();
        let v = text.split(':').next().unwrap().to_string();
        assert_eq!(bytes, body(&v, i), "{} is half-written", p.display());
        found.insert(v);
    }
    assert_eq!(found.len(), 1, "{} mixes versions {found:?}", dir.display());
    let big = fs::read(dir.join("big.bin")).unwrap();
    let v = found.iter().next().unwrap();
    assert!(
        big == sized(v, 0, BIG),
        "{}/big.bin is half-written",
        dir.display()
    );
    found.into_iter().next().unwrap()
}

/// Every non-dot file under `dir` equals the one at the same place under `model`.
fn same_files_as(dir: &Path, model: &Path) {
    for e in data_entries(dir) {
        let twin = model.join(e.file_name().unwrap());
        if e.is_dir() {
            same_files_as(&e, &twin);
        } else {
            assert!(
                fs::read(&e).unwrap() == fs::read(&twin).unwrap(),
                "{} is half-written",
                e.display()
            );
        }
    }
}

/// Non-dot entries of `dir` (the exchange's own dot-named staging is not data).
fn data_entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn now_stamp(i: u64) -> String {
    let t = chrono::Utc::now() + chrono::Duration::microseconds(i as i64);
    t.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string()
}

/// The operations the child loops over, each on the fixture made by [`setup`].
fn run_once(op: &str, dir: &Path, i: u64) {
    let root = dir.join("ex");
    match op {
        "release" => {
            let src = dir.join(if i % 2 == 0 { "A" } else { "B" });
            release_assignment(&root, "c1", "ps1", &src, true, &Filter::everything()).unwrap();
        }
        "submit" | "collect" => {
            let src = dir.join(if i % 2 == 0 { "A" } else { "B" });
            submit(&SubmitRequest {
                root: &root,
                course: "c1",
                student: "s0",
                assignment: "ps1",
                source: &src,
                timestamp: &now_stamp(i),
                cache: &dir.join("cache"),
                strict: false,
                filter: Filter::everything(),
            })
            .unwrap();
            if op == "collect" {
                let template = dir.to_path_buf();
                collect(&CollectRequest {
                    root: &root,
                    course: "c1",
                    assignment: "ps1",
                    dest: exchange_core::layout::CourseDirs {
                        root: &template,
                        directory_structure: "{nbgrader_step}/{student_id}/{assignment_id}",
                        submitted_directory: "submitted",
                    },
                    students: None,
                    update: true,
                    before_duedate: false,
                    duedate: None,
                    filter: Filter::everything(),
                    backdate_tolerance: Some(300),
                    grade_time: exchange_core::backdate::GradeTime::Seal,
                    group_shared: false,
                })
                .unwrap();
            }
        }
        "feedback" => {
            let version = if i % 2 == 0 { "fbA" } else { "fbB" };
            let items: Vec<FeedbackItem> = (0..STUDENTS)
                .map(|s| FeedbackItem {
                    student: format!("s{s}"),
                    feedback_dir: dir.join(version).join(format!("s{s}")),
                    submitted_dir: None,
                })
                .collect();
            release_feedback(&root, "c1", "ps1", &items).unwrap();
        }
        "fetch" => {
            // A fresh fetch into a new directory, and a --replace-missing into a live one
            // after the student deleted half of it.
            let dest = dir.join("home").join(format!("run{i}")).join("ps1");
            fetch_assignment(&root, "c1", "ps1", &dest, false, &[]).unwrap();
            let live = dir.join("home/live/ps1");
            for k in (0..FILES).filter(|k| (k + i as usize) % 2 == 0) {
                let p = live.join(format!("d{}", k % 2)).join(format!("f{k}.ipynb"));
                let _ = fs::remove_file(p);
            }
            let _ = fs::remove_file(live.join("big.bin"));
            fetch_assignment(&root, "c1", "ps1", &live, true, &[]).unwrap();
        }
        other => panic!("unknown op {other}"),
    }
}

/// The fixture of `op` in `dir`.
fn setup(op: &str, dir: &Path) {
    write_version(&dir.join("A"), "A");
    write_version(&dir.join("B"), "B");
    let root = dir.join("ex");
    fs::create_dir(&root).unwrap();
    release_assignment(
        &root,
        "c1",
        "ps1",
        &dir.join("A"),
        false,
        &Filter::everything(),
    )
    .unwrap();
    fs::create_dir_all(root.join("c1/inbound/s0")).unwrap();
    match op {
        "feedback" => {
            for version in ["fbA", "fbB"] {
                for s in 0..STUDENTS {
                    let d = dir.join(version).join(format!("s{s}"));
                    fs::create_dir_all(&d).unwrap();
                    fs::write(d.join("submission_secret.txt"), format!("secret{s}")).unwrap();
                    for nb in ["n1", "n2", "n3"] {
                        fs::write(d.join(format!("{nb}.html")), body(version, s)).unwrap();
                    }
                }
            }
        }
        "fetch" => {
            fetch_assignment(&root, "c1", "ps1", &dir.join("home/live/ps1"), false, &[]).unwrap();
        }
        _ => {}
    }
}

/// What any reader may rely on, whenever the child died.
fn check(op: &str, dir: &Path) {
    let root = dir.join("ex");
    // The release is complete (A or B), or absent only for the instant of a replacement.
    let outbound = data_entries(&root.join("c1/outbound"));
    assert!(outbound.len() <= 1, "{outbound:?}");
    if op != "release" {
        assert_eq!(version_of(&root.join("c1/outbound/ps1")), "A");
    } else if let Some(release) = outbound.first() {
        version_of(release);
    }
    match op {
        "submit" | "collect" => {
            for sub in data_entries(&root.join("c1/inbound/s0")) {
                version_of(&sub);
                let secret = fs::read_to_string(sub.join("submission_secret.txt")).unwrap();
                assert_eq!(secret.len(), 128, "{}", sub.display());
                let stamp = fs::read_to_string(sub.join("timestamp.txt")).unwrap();
                assert!(sub.to_string_lossy().contains(&stamp));
            }
            for cached in data_entries(&dir.join("cache/c1")) {
                version_of(&cached);
            }
            let dest = dir.join("submitted/s0/ps1");
            if dest.exists() {
                // A complete copy of one real submission, whose timestamp it carries.
                let stamp = fs::read_to_string(dest.join("timestamp.txt")).unwrap();
                let inbox = data_entries(&root.join("c1/inbound/s0"));
                let source = inbox
                    .iter()
                    .find(|p| p.to_string_lossy().contains(&format!("+{stamp}+")))
                    .expect("the collected copy comes from a submission still there");
                assert_eq!(version_of(&dest), version_of(source));
            }
        }
        "feedback" => {
            for s in 0..STUDENTS {
                for html in data_entries(&root.join(format!("c1/feedback_public/s{s}"))) {
                    let bytes = fs::read(&html).unwrap();
                    assert!(
                        bytes == body("fbA", s) || bytes == body("fbB", s),
                        "{} is half-written",
                        html.display()
                    );
                }
            }
        }
        "fetch" => {
            for run in data_entries(&dir.join("home")) {
                for ps1 in data_entries(&run) {
                    if run.ends_with("live") {
                        // Whatever is there is whole; missing files are refetched later.
                        same_files_as(&ps1, &dir.join("A"));
                    } else {
                        assert_eq!(version_of(&ps1), "A");
                    }
                }
            }
        }
        _ => {}
    }
}

/// After the kills: a rerun succeeds and leaves the state complete.
fn rerun_and_check(op: &str, dir: &Path) {
    run_once(op, dir, 1_000_000);
    check(op, dir);
    let root = dir.join("ex");
    match op {
        "release" => assert_eq!(version_of(&root.join("c1/outbound/ps1")), "A"),
        "collect" => {
            // The newest submission is the one collected: nothing lost.
            let newest = data_entries(&root.join("c1/inbound/s0")).pop().unwrap();
            let stamp = fs::read_to_string(dir.join("submitted/s0/ps1/timestamp.txt")).unwrap();
            assert!(newest.to_string_lossy().contains(&stamp));
        }
        "feedback" => {
            for s in 0..STUDENTS {
                assert_eq!(
                    data_entries(&root.join(format!("c1/feedback_public/s{s}"))).len(),
                    3
                );
            }
        }
        "fetch" => assert_eq!(version_of(&dir.join("home/live/ps1")), "A"),
        _ => {}
    }
}

/// How many dot-named staging or temporary entries lie anywhere under `dir`.
fn leftovers(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // Trash is also what a finished `release --force` keeps for readers: not evidence.
            if name.starts_with(".nbk8s-staging-") || name.starts_with(".nbk8s-tmp-") {
                n += 1;
            } else if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    n
}

/// Kill a looping child `runs()` times, checking after each kill.
fn crash_many(op: &str) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    setup(op, dir);
    let exe = std::env::current_exe().unwrap();
    let (mut mid_write, mut seen) = (0, 0);
    for _ in 0..runs() {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(OP_VAR, op)
            .env(DIR_VAR, dir)
            .env("NBK8S_CRASH_SEED", random_below(1 << 30).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the child is looping, then let it run a random while.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(
            lines.any(|l| l.unwrap().contains("NBK8S-CRASH-LOOPING")),
            "child did not start"
        );
        std::thread::sleep(Duration::from_micros(random_below(40_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        check(op, dir);
        mid_write += usize::from(leftovers(dir) > seen);
        seen = leftovers(dir);
    }
    // Proof the kills land mid-write: many leave the exchange's staging behind.
    eprintln!("{op}: {mid_write} of {} kills left staging behind", runs());
    assert!(
        mid_write > 0,
        "no kill interrupted a write: the delays are off"
    );
    rerun_and_check(op, dir);
}

/// Not a test on its own: the child side of [`crash_many`].
#[test]
fn crash_child() {
    let (Ok(op), Ok(dir)) = (std::env::var(OP_VAR), std::env::var(DIR_VAR)) else {
        return;
    };
    // Never outlive the parent (a failed check panics it before it kills us).
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).unwrap();
    let dir = PathBuf::from(dir);
    let mut i: u64 = std::env::var("NBK8S_CRASH_SEED").unwrap().parse().unwrap();
    println!("NBK8S-CRASH-LOOPING");
    loop {
        run_once(&op, &dir, i);
        i += 1;
    }
}

#[test]
fn killed_release_force() {
    crash_many("release");
}

#[test]
fn killed_submit() {
    crash_many("submit");
}

#[test]
fn killed_collect_update() {
    crash_many("collect");
}

#[test]
fn killed_release_feedback() {
    crash_many("feedback");
}

#[test]
fn killed_fetch() {
    crash_many("fetch");
}
