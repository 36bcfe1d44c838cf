//! `nbgrader-k8s notary`: seals, the ledger, receipts, history, crash safety.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

mod links;
mod stall;

fn events<'a>(recs: &'a [Value], event: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["event"] == event).collect()
}

fn once(ex: &Exchange, extra: &[&str]) -> Output {
    let mut args = vec!["notary", "run", "--once"];
    args.extend_from_slice(extra);
    ex.run(&args).ok()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn receipt_of(dir: &Path) -> String {
    exchange_core::receipt::Manifest::of(dir, 0, 0)
        .unwrap()
        .receipt()
}

#[test]
fn seals_each_submission_once_and_confirms_it() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob", "carol"]);
    let a = ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    let b = ex.submit("c1", "bob", "ps1", &ts("2026-12-01 11:00:00"), "bbbb");
    // Staging is never a submission, nor is any dot-name.
    ex.write(
        "c1/inbound/carol/.nbk8s-staging-x/ps1+2026-12-01 12:00:00.000000 UTC+c/a.ipynb",
        "{}",
    );
    ex.write(
        "c1/inbound/carol/.ps1+2026-12-01 12:00:00.000000 UTC+c/a",
        "{}",
    );
    once(&ex, &[]);
    let recs = ledger(&ex, "c1");
    let seals = events(&recs, "seal");
    assert_eq!(seals.len(), 2, "{recs:#?}");
    assert_eq!(seals[0]["student"], "alice");
    assert_eq!(seals[0]["submission"], name_of(&a));
    assert_eq!(seals[0]["claimed"], ts("2026-12-01 10:00:00"));
    assert_eq!(seals[0]["receipt"], receipt_of(&a));
    assert_eq!(seals[0]["files"].as_array().unwrap().len(), 3);
    assert_eq!(seals[1]["receipt"], receipt_of(&b));
    // The student's confirmation and the instructors' index carry the chain head.
    let head = exchange_core::receipt::sha256_hex(
        fs::read_to_string(ledger_path(&ex, "c1"))
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .as_bytes(),
    );
    let conf = read_json(&ex.path("c1/feedback_public/alice/.nbk8s-seals.json"));
    assert_eq!(conf["head"], head);
    assert_eq!(conf["seq"], recs.len() - 1);
    assert_eq!(conf["seals"][0]["receipt"], receipt_of(&a));
    assert_eq!(conf["seals"][0]["state"], "sealed");
    assert_eq!(
        mode(&ex.path("c1/feedback_public/alice/.nbk8s-seals.json")),
        0o644
    );
    let index = read_json(&ex.path("c1/.nbk8s-notary/index.json"));
    assert_eq!(index["copy_of"], "ledger");
    let key = format!("bob/{}", name_of(&b));
    assert_eq!(index["seals"][&key]["state"], "sealed");
    assert_eq!(index["seals"][&key]["sealed"], seals[1]["sealed"]);
    assert!(!ex
        .path("c1/feedback_public/carol/.nbk8s-seals.json")
        .exists());

    // A restart seals nothing again; a new submission is sealed once.
    once(&ex, &[]);
    let c = ex.submit("c1", "carol", "ps1", &ts("2026-12-01 12:00:00"), "cccc");
    once(&ex, &[]);
    once(&ex, &[]);
    let recs = ledger(&ex, "c1");
    let sealed: Vec<&Value> = events(&recs, "seal");
    assert_eq!(sealed.len(), 3, "{recs:#?}");
    assert_eq!(sealed[2]["submission"], name_of(&c));
    assert_eq!(events(&recs, "restart").len(), 3);
    ex.run(&["notary", "verify"]).ok();
}

#[test]
fn edits_deletions_and_removals_after_the_seal() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob", "carol"]);
    let a = ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    let b = ex.submit("c1", "bob", "ps1", &ts("2026-12-01 10:00:00"), "bbbb");
    let c = ex.submit("c1", "carol", "ps1", &ts("2026-12-01 10:00:00"), "cccc");
    once(&ex, &["--keep-sealed", "c1"]);
    let sealed_receipt = receipt_of(&a);
    // In place: no directory's mtime moves; the first pass of the next start rechecks.
    fs::write(a.join("squares.ipynb"), "{\"cells\": [\"late work\"]}").unwrap();
    fs::remove_dir_all(&b).unwrap();
    // An instructor's removal: moved aside, then logged.
    let removed = ex.mkdir("c1/.nbk8s-removed/carol");
    fs::rename(&c, removed.join(name_of(&c))).unwrap();
    ex.write(
        "c1/.nbk8s-removed/removals.jsonl",
        &format!(
            "{}\n",
            serde_json::json!({"time": "2026-12-02T00:00:00Z", "course": "c1",
                "student": "carol", "assignment": "ps1", "submission": name_of(&c), "by": "prof"})
        ),
    );
    once(&ex, &["--keep-sealed", "c1"]);
    let recs = ledger(&ex, "c1");
    let changed = events(&recs, "changed");
    assert_eq!(changed.len(), 1, "{recs:#?}");
    assert_eq!(changed[0]["student"], "alice");
    assert_eq!(changed[0]["was"], sealed_receipt);
    assert_eq!(changed[0]["receipt"], receipt_of(&a));
    let vanished = events(&recs, "vanished");
    assert_eq!(vanished.len(), 1);
    assert_eq!(vanished[0]["student"], "bob");
    let removed = events(&recs, "removed");
    assert_eq!(removed.len(), 1);
    assert_eq!(
        (removed[0]["student"].as_str(), removed[0]["by"].as_str()),
        (Some("carol"), Some("prof"))
    );
    let index = read_json(&ex.path("c1/.nbk8s-notary/index.json"));
    let alice = &index["seals"][&format!("alice/{}", name_of(&a))];
    assert_eq!(alice["state"], "changed");
    assert_eq!(
        alice["receipt"], sealed_receipt,
        "the index keeps the sealed receipt"
    );
    assert_eq!(alice["changed_at"], changed[0]["time"]);
    assert_eq!(
        index["seals"][&format!("bob/{}", name_of(&b))]["state"],
        "vanished"
    );
    // The sealed copy is the on-time version.
    let copy = ex
        .path("c1/.nbk8s-notary")
        .join(alice["copy"].as_str().unwrap());
    assert_eq!(receipt_of(&copy), sealed_receipt);
    let conf = read_json(&ex.path("c1/feedback_public/alice/.nbk8s-seals.json"));
    assert_eq!(conf["seals"][0]["state"], "changed");
    // Nothing is recorded twice.
    once(&ex, &[]);
    let again = ledger(&ex, "c1");
    assert_eq!(events(&again, "changed").len(), 1);
    assert_eq!(events(&again, "vanished").len(), 1);
    assert_eq!(events(&again, "removed").len(), 1);
}

#[test]
fn verify_names_the_edited_deleted_or_moved_record_and_a_cut_tail() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    ex.submit("c1", "bob", "ps1", &ts("2026-12-01 10:00:00"), "bbbb");
    ex.mkdir("c1/outbound/ps1");
    once(&ex, &[]);
    let conf = read_json(&ex.path("c1/feedback_public/bob/.nbk8s-seals.json"));
    let heads = ex.outside("cache/c1/.nbk8s-heads.jsonl");
    write(
        &heads,
        &format!(
            "{}\n",
            serde_json::json!({"seq": conf["seq"], "head": conf["head"], "seen": "2026-12-01T10:01:00Z"})
        ),
    );
    let heads_arg = heads.to_str().unwrap();
    let out = ex.run(&["notary", "verify", "--heads", heads_arg]).ok();
    assert!(
        out.stdout.starts_with("c1: ok, 3 records"),
        "{}",
        out.stdout
    );
    // A heads file a student made up, against the untouched ledger: not called tampering,
    // since unsigned heads cannot tell a cut or rewritten ledger from a made-up file.
    let made_up = ex.outside("made-up/c1/.nbk8s-heads.jsonl");
    for (seq, head) in [(1, "0".repeat(64)), (7, "f".repeat(64))] {
        write(
            &made_up,
            &format!(
                "{}\n",
                serde_json::json!({"seq": seq, "head": head, "seen": "x"})
            ),
        );
        let made_up_arg = made_up.to_str().unwrap();
        let out = ex
            .run(&["notary", "verify", "--heads", made_up_arg])
            .code(3);
        let text = &out.stdout;
        assert!(text.contains("c1: NOT IN THIS LEDGER: "), "{text}");
        assert!(
            text.contains(
                "either the ledger was cut or rewritten, or the heads file is not genuine: \
                 unsigned heads cannot tell which"
            ),
            "{text}"
        );
        assert!(
            !text.contains("FAILED") && !text.contains("cut tail"),
            "{text}"
        );
        assert!(text.contains("note: what verify cannot see: "), "{text}");
        let out = ex
            .run(&["notary", "verify", "--heads", made_up_arg, "--json"])
            .code(3);
        let c1 = &out.json()["courses"][0];
        assert_eq!(c1["failures"].as_array().unwrap().len(), 0);
        assert_eq!(c1["heads_not_in_ledger"].as_array().unwrap().len(), 1);
    }

    let path = ledger_path(&ex, "c1");
    let good = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let put = |lines: &[String]| {
        fs::write(
            &path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap()
    };
    let owned = || lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();

    // A backdated seal: the edited record is named by seq and line.
    let mut edited = owned();
    let sealed = serde_json::from_str::<Value>(&edited[1]).unwrap()["sealed"]
        .as_str()
        .unwrap()
        .to_string();
    edited[1] = edited[1].replace(&sealed, "2026-12-01T09:59:00.000000Z");
    put(&edited);
    let out = ex.run(&["notary", "verify", "c1"]).code(3);
    assert!(
        out.stdout
            .contains("c1: FAILED: record seq 1 (line 2) was edited"),
        "{}",
        out.stdout
    );
    let mut deleted = owned();
    deleted.remove(1);
    put(&deleted);
    let out = ex.run(&["notary", "verify"]).code(3);
    assert!(out.stdout.contains("line 2 holds seq 2"), "{}", out.stdout);
    let mut moved = owned();
    moved.swap(1, 2);
    put(&moved);
    let out = ex.run(&["notary", "verify", "--json"]).code(3);
    assert_eq!(out.json()["ok"], false);
    assert!(out.json()["courses"][0]["failures"][0]
        .as_str()
        .unwrap()
        .contains("line 2 holds seq 2"));
    // Cutting the tail leaves a valid chain, but contradicts what bob was shown.
    put(&owned()[..2]);
    ex.run(&["notary", "verify", "c1"]).ok();
    let out = ex.run(&["notary", "verify", "--heads", heads_arg]).code(3);
    assert!(
        out.stdout.contains("NOT IN THIS LEDGER")
            && out.stdout.contains("past the ledger's 2 records"),
        "{}",
        out.stdout
    );
}

#[test]
fn torn_last_line_is_cut_and_the_pass_redone() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    once(&ex, &[]);
    // A kill in the middle of appending bob's seal.
    let b = ex.submit("c1", "bob", "ps1", &ts("2026-12-01 10:00:00"), "bbbb");
    let path = ledger_path(&ex, "c1");
    let mut bytes = fs::read(&path).unwrap();
    let whole = bytes.len();
    bytes.extend_from_slice(
        b"{\"seq\":1,\"time\":\"2026-12-01T10:00:00Z\",\"event\":\"seal\",\"stu",
    );
    fs::write(&path, &bytes).unwrap();
    let out = ex.run(&["notary", "verify"]).ok();
    assert!(out.stdout.contains("torn last line"), "{}", out.stdout);
    let out = once(&ex, &[]);
    assert!(
        out.stderr.contains("\"event\":\"torn_line_cut\""),
        "{}",
        out.stderr
    );
    let recs = ledger(&ex, "c1");
    assert_eq!(recs[1]["event"], "restart");
    assert_eq!(recs[1]["cut_bytes"], (bytes.len() - whole) as u64);
    let seals = events(&recs, "seal");
    assert_eq!(seals.len(), 2);
    assert_eq!(seals[1]["submission"], name_of(&b));
    ex.run(&["notary", "verify"]).ok();
}

#[test]
fn receipts_short_or_full_match_sealed_submissions() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    let a = ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    once(&ex, &[]);
    let full = receipt_of(&a);
    let short = exchange_core::receipt::short(&full);
    let out = ex.run(&["notary", "receipt", "c1", "alice", &short]).ok();
    assert!(
        out.stdout
            .starts_with(&format!("matches \"{}\" of alice: sealed at ", name_of(&a))),
        "{}",
        out.stdout
    );
    let out = ex
        .run(&[
            "notary",
            "receipt",
            "c1",
            "alice",
            &full.to_uppercase(),
            "--json",
        ])
        .ok();
    let j = out.json();
    assert_eq!(j["matches"], true);
    assert_eq!(j["seals"][0]["sealed"], ledger(&ex, "c1")[0]["sealed"]);
    // Another student's seal, or a wrong receipt, does not match.
    ex.run(&["notary", "receipt", "c1", "bob", &short]).code(3);
    let wrong = exchange_core::receipt::short(&exchange_core::receipt::sha256_hex(b"x"));
    let out = ex
        .run(&["notary", "receipt", "c1", "alice", &wrong])
        .code(3);
    assert!(
        out.stdout.starts_with("no sealed submission"),
        "{}",
        out.stdout
    );
    // After an edit the new content's receipt is reported as what it is.
    fs::write(a.join("squares.ipynb"), "changed").unwrap();
    once(&ex, &[]);
    let out = ex
        .run(&["notary", "receipt", "c1", "alice", &receipt_of(&a)])
        .code(3);
    assert!(out.stdout.contains("AFTER it was sealed"), "{}", out.stdout);
    let out = ex.run(&["notary", "receipt", "c1", "alice", &short]).ok();
    assert!(
        out.stdout.contains("its files changed after the seal"),
        "{}",
        out.stdout
    );
    ex.run(&["notary", "receipt", "c1", "alice", "12ab"])
        .fails_with("at least 16 hex digits");
    ex.run(&["notary", "receipt", "nope", "alice", &short])
        .fails_with("has no notary ledger");
}

#[test]
fn history_of_releases_feedback_fetches_and_filters() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    ex.mkdir("c1/outbound/ps1");
    ex.mkdir("c1/outbound/ps2");
    ex.write(
        "c1/inbound/alice/.nbk8s-fetched/ps1+2026-12-01 09:00:00.000000 UTC",
        "",
    );
    let a = ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    once(&ex, &[]);
    fs::remove_dir(ex.path("c1/outbound/ps2")).unwrap();
    ex.feedback("c1", "alice", &a);
    once(&ex, &[]);
    let recs = ledger(&ex, "c1");
    let released: Vec<&str> = events(&recs, "released")
        .iter()
        .map(|r| r["assignment"].as_str().unwrap())
        .collect();
    assert_eq!(released, ["ps1", "ps2"]);
    assert_eq!(events(&recs, "withdrawn")[0]["assignment"], "ps2");
    let fetched = events(&recs, "fetched");
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0]["reported"], ts("2026-12-01 09:00:00"));
    let fb = events(&recs, "feedback_released");
    assert_eq!(fb.len(), 1);
    assert_eq!(fb[0]["student"], "alice");
    let out = ex.run(&["notary", "log", "c1", "--student", "alice"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("SEQ  TIME (UTC)"), "{}", out.stdout);
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(out
        .stdout
        .contains("reported by the student: 2026-12-01 09:00:00"));
    let out = ex
        .run(&["notary", "log", "c1", "--assignment", "ps2", "--json"])
        .ok();
    let j = out.json();
    let events: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["released", "withdrawn"]);
}

#[test]
fn links_planted_by_students_or_instructors_are_never_followed() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    let secret = ex.outside("secret");
    write(&secret.join("answers.ipynb"), "someone else's");
    // A link named like a submission, and one inside a real submission.
    std::os::unix::fs::symlink(
        &secret,
        ex.path("c1/inbound/alice/ps1+2026-12-01 10:00:00.000000 UTC+link"),
    )
    .unwrap();
    let b = ex.submit("c1", "bob", "ps1", &ts("2026-12-01 10:00:00"), "bbbb");
    std::os::unix::fs::symlink(&secret, b.join("extra")).unwrap();
    // A link where bob's confirmation goes (an older deployment mounted it read-write).
    let victim = ex.outside("victim");
    write(&victim, "keep");
    std::os::unix::fs::symlink(&victim, ex.path("c1/feedback_public/bob/.nbk8s-seals.json"))
        .unwrap();
    let out = once(&ex, &[]);
    let recs = ledger(&ex, "c1");
    let seals = events(&recs, "seal");
    assert_eq!(seals.len(), 1, "{recs:#?}");
    assert_eq!(seals[0]["student"], "bob");
    assert!(seals[0]["skipped"][0].as_str().unwrap().contains("extra"));
    assert!(
        out.stderr.contains("a symlink is not a submission"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    assert!(
        !fs::symlink_metadata(ex.path("c1/feedback_public/bob/.nbk8s-seals.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn inbox_usage_reaches_status_and_warns_past_the_threshold() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    ex.write("c1/inbound/bob/big.bin", &"x".repeat(5000));
    let out = once(&ex, &["--inbox-warn", "1G", "--inbox-warn", "c1=4k"]);
    assert!(
        out.stderr.contains("\"event\":\"inbox_over_threshold\""),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("\"student\":\"bob\""), "{}", out.stderr);
    let out = ex.run(&["status", "c1"]).ok();
    let after: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("LARGEST INBOXES"))
        .collect();
    assert!(after.len() >= 3, "{}", out.stdout);
    assert_eq!(
        after[1].split_whitespace().collect::<Vec<_>>(),
        ["bob", "5000", "1", "yes"]
    );
    assert!(after[2].starts_with("alice"), "{}", out.stdout);
    let j = ex.run(&["status", "c1", "--json"]).ok().json();
    assert_eq!(j["inbox_usage"]["students"][0]["bytes"], 5000);
}

/// A tiny deterministic generator for kill times (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Submissions arrive (staged, then renamed in, as submit does) while the notary is killed
/// with SIGKILL at random moments and restarted: the ledger always verifies and every
/// submission ends up sealed exactly once.
#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let ex = Exchange::new();
    let students: Vec<String> = (0..12).map(|i| format!("s{i:02}")).collect();
    let refs: Vec<&str> = students.iter().map(String::as_str).collect();
    ex.course("c1", &refs);
    let root = ex.root();
    let writer_root = root.clone();
    let writer_students = students.clone();
    let writer = std::thread::spawn(move || {
        let mut made = Vec::new();
        let start = Instant::now();
        let mut i = 0u32;
        while start.elapsed() < Duration::from_millis(2500) {
            let s = &writer_students[i as usize % writer_students.len()];
            let inbox = writer_root.join("c1/inbound").join(s);
            let name = format!("ps1+2026-12-01 10:00:{:02}.{:06} UTC+r{i}", i % 60, i);
            let staging = inbox.join(format!(".nbk8s-staging-{i}"));
            fs::create_dir(&staging).unwrap();
            fs::write(staging.join("a.ipynb"), format!("{{\"n\": {i}}}")).unwrap();
            fs::write(staging.join("timestamp.txt"), "x").unwrap();
            fs::rename(&staging, inbox.join(&name)).unwrap();
            made.push((s.clone(), name));
            i += 1;
            std::thread::sleep(Duration::from_millis(7));
        }
        made
    });
    let mut rng = Lcg(0x5eed);
    let mut kills = 0;
    let mut torn = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2800) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nbgrader-k8s"))
            .args([
                "--root",
                root.to_str().unwrap(),
                "notary",
                "run",
                "--interval",
                "0",
                "--recheck-every",
                "3",
                "--quiet",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Once it has started appending, kill it at a random moment of its passes.
        let size = || fs::metadata(ledger_path(&ex, "c1")).map_or(0, |m| m.len());
        let before = size();
        let waiting = Instant::now();
        while size() == before && waiting.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.below(80)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        if ledger_path(&ex, "c1").exists() {
            let out = ex.run(&["notary", "verify", "c1"]);
            assert_eq!(out.code, 0, "after kill {kills}: {out:#?}");
            torn += usize::from(out.stdout.contains("torn"));
        }
    }
    let made = writer.join().unwrap();
    let before_last = events(&ledger(&ex, "c1"), "seal").len();
    eprintln!(
        "{kills} kills, {torn} torn lines seen, {before_last} of {} sealed before the last run",
        made.len()
    );
    assert!(
        before_last > 0,
        "the killed runs sealed nothing: nothing was tested"
    );
    once(&ex, &["--quiet"]);
    let out = ex.run(&["notary", "verify", "c1"]).ok();
    assert!(!out.stdout.contains("torn"), "{}", out.stdout);
    let recs = ledger(&ex, "c1");
    let mut count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in events(&recs, "seal") {
        let key = (
            r["student"].as_str().unwrap().to_string(),
            r["submission"].as_str().unwrap().to_string(),
        );
        *count.entry(key).or_default() += 1;
    }
    for key in &made {
        assert_eq!(
            count.get(key),
            Some(&1),
            "{key:?} sealed {:?} times",
            count.get(key)
        );
    }
    assert_eq!(
        count.len(),
        made.len(),
        "nothing but the submissions is sealed"
    );
    assert!(kills >= 10, "only {kills} kills");
    assert!(events(&recs, "changed").is_empty() && events(&recs, "vanished").is_empty());
}

#[test]
fn healthz_and_metrics_on_listen() {
    use std::io::{BufRead, BufReader};
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    ex.write("c1/inbound/bob/big.bin", &"x".repeat(3000));
    let mut child = Command::new(env!("CARGO_BIN_EXE_nbgrader-k8s"))
        .args([
            "--root",
            ex.root().to_str().unwrap(),
            "notary",
            "run",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "1s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = String::new();
    // Until the first pass is logged (the listener is up before it).
    for line in lines.by_ref() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["event"] == "listening" {
            addr = v["addr"].as_str().unwrap().to_string();
        }
        if v["event"] == "pass" {
            break;
        }
    }
    let health = http_get(&addr, "/healthz");
    let metrics = http_get(&addr, "/metrics");
    let missing = http_get(&addr, "/nothing");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(health.starts_with("HTTP/1.0 200 OK"), "{health}");
    let body: Value = serde_json::from_str(health.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(
        (body["ok"].as_bool(), body["passes"].as_u64()),
        (Some(true), Some(1))
    );
    assert!(body["last_pass_end"].is_string(), "{body}");
    // /metrics names no student (who holds the most: usage.json and status).
    assert!(
        !metrics.contains("bob") && !metrics.contains("alice"),
        "{metrics}"
    );
    assert!(missing.starts_with("HTTP/1.0 404"), "{missing}");
    for line in [
        "nbk8s_notary_submissions_sealed{course=\"c1\"} 1",
        "nbk8s_notary_changed_after_seal{course=\"c1\"} 0",
        "nbk8s_notary_inbox_bytes_max{course=\"c1\"} 3000",
        "# TYPE nbk8s_notary_pass_duration_seconds gauge",
        "nbk8s_notary_passes_total 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line:?} missing from:\n{metrics}"
        );
    }
    let ledger_bytes = fs::metadata(ledger_path(&ex, "c1")).unwrap().len();
    assert!(metrics.contains(&format!(
        "nbk8s_notary_ledger_bytes{{course=\"c1\"}} {ledger_bytes}"
    )));
}

/// A kill after the ledger append but before the confirmations were written: the next start
/// writes what is behind (state.json says how far the last run got).
#[test]
fn confirmations_left_behind_by_a_kill_are_written_on_restart() {
    let ex = Exchange::new();
    ex.course("c1", &["alice", "bob"]);
    ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    once(&ex, &[]);
    let state = ex.path(".nbk8s-notary/c1/state.json");
    assert_eq!(read_json(&state)["published"], ledger(&ex, "c1").len());
    let conf = ex.path("c1/feedback_public/alice/.nbk8s-seals.json");
    fs::remove_file(&conf).unwrap();
    fs::write(&state, "{\"published\": 0}").unwrap();
    once(&ex, &[]);
    assert_eq!(read_json(&conf)["seals"][0]["state"], "sealed");
    // Up to date: nothing for alice is rewritten.
    fs::remove_file(&conf).unwrap();
    once(&ex, &[]);
    assert!(!conf.exists());
}

#[test]
fn a_second_notary_on_the_same_ledger_is_refused() {
    use std::io::{BufRead, BufReader};
    let ex = Exchange::new();
    ex.course("c1", &["alice"]);
    ex.submit("c1", "alice", "ps1", &ts("2026-12-01 10:00:00"), "aaaa");
    let mut first = Command::new(env!("CARGO_BIN_EXE_nbgrader-k8s"))
        .args([
            "--root",
            ex.root().to_str().unwrap(),
            "notary",
            "run",
            "--interval",
            "1s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(first.stderr.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("\"event\":\"pass\"")));
    let second = ex.run(&["notary", "run", "--once"]);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.code, 1, "{second:#?}");
    assert!(
        second.stderr.contains("another notary is writing"),
        "{}",
        second.stderr
    );
    assert_eq!(events(&ledger(&ex, "c1"), "seal").len(), 1);
    ex.run(&["notary", "verify"]).ok();
}
