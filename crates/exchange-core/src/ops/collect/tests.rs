use super::*;
use crate::ops::testutil::write_tree;
use std::fs;

const T1: &str = "2024-03-01 12:00:00.000000 UTC";
const T2: &str = "2024-03-02 12:00:00 +0100";
const T3: &str = "2024-03-03 08:00:00 EST";

fn exchange() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let inbound = t.path().join("ex/c1/inbound");
    for (ts, body) in [(T1, "1"), (T2, "2"), (T3, "3")] {
        write_tree(
            &inbound.join(format!("alice/ps1+{ts}+r")),
            &[("p.ipynb", body)],
        );
    }
    write_tree(&inbound.join("alice/ps1+someday+r"), &[("p.ipynb", "?")]);
    write_tree(
        &inbound.join(format!("bob/ps1+{T1}+r")),
        &[("p.ipynb", "b")],
    );
    fs::create_dir_all(t.path().join("secret")).unwrap();
    fs::write(t.path().join("secret/key"), "x").unwrap();
    std::os::unix::fs::symlink(
        t.path().join("secret/key"),
        inbound.join(format!("bob/ps1+{T1}+r/link")),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        t.path().join("secret"),
        inbound.join(format!("bob/ps1+{T3}+evil")),
    )
    .unwrap();
    t
}

fn dest(course_dir: &Path) -> CourseDirs<'_> {
    CourseDirs {
        root: course_dir,
        directory_structure: "{nbgrader_step}/{student_id}/{assignment_id}",
        submitted_directory: "submitted",
    }
}

fn request<'a>(root: &'a Path, course_dir: &'a Path) -> CollectRequest<'a> {
    CollectRequest {
        root,
        course: "c1",
        assignment: "ps1",
        dest: dest(course_dir),
        students: None,
        update: false,
        before_duedate: false,
        duedate: None,
        filter: Filter::default(),
        backdate_tolerance: None,
        grade_time: GradeTime::Seal,
        group_shared: false,
    }
}

fn candidate(ts: &str) -> Candidate {
    Candidate {
        name: ts.into(),
        timestamp: ts.into(),
        when: timestamp::parse(ts).unwrap(),
        graded: None,
    }
}

#[test]
fn selection_newest_and_before_duedate() {
    let c = [candidate(T1), candidate(T3), candidate(T2)];
    assert_eq!(choose(&c, None, &|c, d| c.when <= d).unwrap().timestamp, T3);
    let due = timestamp::parse("2024-03-02T12:00:00").unwrap();
    assert_eq!(
        choose(&c, Some(due), &|c, d| c.when <= d)
            .unwrap()
            .timestamp,
        T2
    );
    let early = timestamp::parse("2020-01-01T00:00:00").unwrap();
    assert_eq!(
        choose(&c, Some(early), &|c, d| c.when <= d)
            .unwrap()
            .timestamp,
        T3
    );
    assert!(choose(&[], None, &|_, _| true).is_none());
}

#[test]
fn group_shared_copies_are_group_writable() {
    use std::os::unix::fs::PermissionsExt;
    let t = exchange();
    let root = t.path().join("ex");
    let template = t.path().to_path_buf();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let mut req = request(&root, &template);
    req.students = Some("alice");
    collect(&req).unwrap();
    let dest = t.path().join("submitted/alice/ps1");
    assert_eq!((mode(&dest), mode(&dest.join("p.ipynb"))), (0o755, 0o644));
    req.group_shared = true;
    req.update = true;
    req.before_duedate = true;
    req.duedate = Some("2024-03-02T12:00:00");
    assert_eq!(collect(&req).unwrap().records[0].action, Action::Updated);
    assert_eq!((mode(&dest), mode(&dest.join("p.ipynb"))), (0o2775, 0o664));
    assert_eq!(mode(&dest.join("timestamp.txt")), 0o664);
}

#[test]
fn collects_newest_skips_symlinks_and_updates() {
    let t = exchange();
    let root = t.path().join("ex");
    let template = t.path().to_path_buf();
    let out = collect(&request(&root, &template)).unwrap();
    let got: Vec<_> = out
        .records
        .iter()
        .map(|r| (r.student_id.as_str(), r.timestamp.as_str(), r.action))
        .collect();
    assert_eq!(
        got,
        [
            ("alice", T3, Action::Collected),
            ("bob", T1, Action::Collected)
        ]
    );
    let dest = t.path().join("submitted/alice/ps1");
    assert_eq!(fs::read_to_string(dest.join("p.ipynb")).unwrap(), "3");
    assert_eq!(fs::read_to_string(dest.join("timestamp.txt")).unwrap(), T3);
    assert!(!t.path().join("submitted/bob/ps1/link").exists());
    let w = out.warnings.join("\n");
    assert!(
        w.contains("someday") && w.contains("link") && w.contains("evil"),
        "{w}"
    );

    let again = collect(&request(&root, &template)).unwrap();
    assert!(again.records.iter().all(|r| r.action == Action::Exists));
    let mut upd = request(&root, &template);
    upd.update = true;
    assert!(collect(&upd)
        .unwrap()
        .records
        .iter()
        .all(|r| r.action == Action::NotNewer));

    let mut due = request(&root, &template);
    due.before_duedate = true;
    due.duedate = Some("2024-03-02T12:00:00");
    due.students = Some("alice");
    let out = collect(&due).unwrap();
    assert_eq!(out.records[0].action, Action::Updated);
    assert_eq!(out.records[0].timestamp, T2);
    assert_eq!(fs::read_to_string(dest.join("p.ipynb")).unwrap(), "2");
    let entries = fs::read_dir(t.path().join("submitted/alice"))
        .unwrap()
        .count();
    assert_eq!(entries, 1, "no staging or trash left");

    upd.students = Some("alice");
    let out = collect(&upd).unwrap();
    assert_eq!(out.records[0].action, Action::Updated);
    assert_eq!(fs::read_to_string(dest.join("p.ipynb")).unwrap(), "3");
}

#[test]
fn one_students_oversized_submission_does_not_stop_others() {
    let t = exchange();
    let root = t.path().join("ex");
    write_tree(
        &root.join(format!("c1/inbound/carol/ps1+{T1}+r")),
        &[("a", "1"), ("b", "2"), ("c", "3")],
    );
    let template = t.path().to_path_buf();
    let mut req = request(&root, &template);
    req.filter.limits.max_files = 2;
    let out = collect(&req).unwrap();
    let students: Vec<_> = out.records.iter().map(|r| r.student_id.as_str()).collect();
    assert_eq!(students, ["alice", "bob"]);
    assert!(out
        .warnings
        .iter()
        .any(|w| w.contains("carol") && w.contains("max_files")));
    assert!(!t.path().join("submitted/carol/ps1").exists());
    let mut bad = request(&root, t.path());
    bad.dest.directory_structure = "{course_id}/{student_id}";
    let err = collect(&bad).unwrap_err();
    assert_eq!(err.kind(), "invalid_argument");
    assert!(err.to_string().contains("{course_id}"), "{err}");
}

#[test]
fn backdated_submissions_are_flagged_unless_migrated() {
    let t = exchange();
    let root = t.path().join("ex");
    let template = t.path().to_path_buf();
    let mut req = request(&root, &template);
    // The fixtures claim 2024 and were written just now: far past any tolerance.
    req.backdate_tolerance = Some(300);
    req.students = Some("alice");
    let out = collect(&req).unwrap();
    assert_eq!(
        out.records[0].action,
        Action::Collected,
        "flagged, still collected"
    );
    let w = out.warnings.join("\n");
    assert!(
        w.contains("student \"alice\"") && w.contains(&format!("ps1+{T3}+r may be backdated")),
        "{w}"
    );
    assert!(w.contains("claims 2024-03-03 13:00:00 UTC"), "{w}");

    // Recorded by migrate: not flagged. No tolerance: not checked.
    let course = Course::new(&root, "c1").unwrap();
    let mut record = crate::migrated::MigratedRecord::default();
    record.insert("alice", &format!("ps1+{T3}+r"));
    record.save(&course).unwrap();
    fs::remove_dir_all(t.path().join("submitted")).unwrap();
    let out = collect(&req).unwrap();
    assert!(
        !out.warnings.join("\n").contains("backdated"),
        "{:?}",
        out.warnings
    );
    fs::remove_dir_all(t.path().join("submitted")).unwrap();
    req.backdate_tolerance = None;
    fs::remove_file(crate::migrated::MigratedRecord::path(&course)).unwrap();
    let out = collect(&req).unwrap();
    assert!(!out.warnings.join("\n").contains("backdated"));
}

/// Collect with `req`; alice's collected `p.ipynb`, the warnings joined, the result.
fn collect_alice(req: &CollectRequest<'_>, base: &Path) -> (String, String, Collected) {
    let out = collect(req).unwrap();
    let got = fs::read_to_string(base.join("submitted/alice/ps1/p.ipynb")).unwrap();
    let warnings = out.warnings.join("\n");
    (got, warnings, out)
}

#[test]
fn a_submission_claiming_now_is_not_flagged() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("ex");
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f UTC")
        .to_string();
    write_tree(
        &root.join(format!("c1/inbound/dora/ps1+{now}+r")),
        &[("p.ipynb", "d"), ("sub/deep.txt", "x")],
    );
    let template = t.path().to_path_buf();
    let mut req = request(&root, &template);
    req.backdate_tolerance = Some(300);
    let out = collect(&req).unwrap();
    assert_eq!(out.records.len(), 1);
    // No notary: its claim stands, said once for the course.
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].starts_with("the notary has sealed nothing in course \"c1\""));
    req.grade_time = GradeTime::Claim;
    fs::remove_dir_all(template.join("submitted")).unwrap();
    assert!(collect(&req).unwrap().warnings.is_empty());
}

#[test]
fn without_a_notary_the_claims_stand_and_that_is_said_once() {
    let t = exchange();
    let root = t.path().join("ex");
    let template = t.path().to_path_buf();
    let out = collect(&request(&root, &template)).unwrap();
    assert_eq!(out.records.len(), 2);
    let said: Vec<_> = out
        .warnings
        .iter()
        .filter(|w| w.contains("sealed nothing"))
        .collect();
    assert_eq!(said.len(), 1, "{:?}", out.warnings);
    assert!(said[0].contains("every submission is graded by its claimed time"));
    let stamp = fs::read_to_string(t.path().join("submitted/alice/ps1/timestamp.txt")).unwrap();
    assert_eq!(stamp, T3);
}

#[test]
fn a_submission_its_seal_contradicts_is_graded_by_the_seal_time() {
    let t = exchange();
    let root = t.path().join("ex");
    // T3 (13:00 UTC) was first seen a day later; bob's T1 at once.
    let seals = serde_json::json!({
        format!("alice/ps1+{T3}+r"): seal(T3, "2024-03-04T13:00:00.250000Z", "sealed", None),
        format!("bob/ps1+{T1}+r"): seal(T1, "2024-03-01T12:00:09Z", "sealed", None)});
    write_index(&root, seals, serde_json::json!({}));
    let template = t.path().to_path_buf();
    let mut req = request(&root, &template);
    req.backdate_tolerance = Some(300);
    let stamp = |s: &str| {
        fs::read_to_string(t.path().join(format!("submitted/{s}/ps1/timestamp.txt"))).unwrap()
    };
    let out = collect(&req).unwrap();
    assert_eq!(stamp("alice"), "2024-03-04 13:00:00.250000 UTC");
    assert_eq!(stamp("bob"), T1);
    let w = out.warnings.join("\n");
    assert!(
        w.contains(&format!(
            "student \"alice\": {}/c1/inbound/alice/ps1+{T3}+r graded by its seal time \
             2024-03-04 13:00:00.250000 UTC, not its claimed time \"{T3}\" (grade_time 'seal'): \
             it claims 2024-03-03 13:00:00 UTC but the notary first saw it 86400 s later",
            root.display()
        )),
        "{w}"
    );
    assert!(!w.contains("may be backdated"), "{w}");
    assert_eq!(w.matches("graded by its seal").count(), 1, "{w}");
    // Collecting again with --update compares with the time written: nothing newer.
    req.update = true;
    let again = collect(&req).unwrap();
    assert!(again.records.iter().all(|r| r.action == Action::NotNewer));

    // grade_time 'claim': the claim is written, and the seal is only a warning.
    fs::remove_dir_all(t.path().join("submitted")).unwrap();
    req.update = false;
    req.grade_time = GradeTime::Claim;
    let out = collect(&req).unwrap();
    assert_eq!(stamp("alice"), T3);
    let w = out.warnings.join("\n");
    assert!(
        w.contains("may be backdated") && !w.contains("graded by its seal"),
        "{w}"
    );
}

#[test]
fn before_duedate_uses_each_students_own_due_date() {
    // Published course-wide due date between T1 and T2; alice has a day more.
    let (t, root) = published_due("2024-03-01 18:00:00 UTC");
    let template = t.path().to_path_buf();
    let due = timestamp::parse("2024-03-01 18:00:00 UTC").unwrap();
    let extra = deadlines::Extension::By(86_400);
    deadlines::set_extension(&root, "c1", "alice", "ps1", Some(extra), due).unwrap();
    let mut req = request(&root, &template);
    req.before_duedate = true;
    let out = collect(&req).unwrap();
    let got: Vec<_> = out
        .records
        .iter()
        .map(|r| (r.student_id.as_str(), r.timestamp.as_str()))
        .collect();
    assert_eq!(got, [("alice", T2), ("bob", T1)]);
}

const R1: &str = "1111111111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// An exchange whose c1/ps1 has the course-wide due date `due` published; its root.
fn published_due(due: &str) -> (tempfile::TempDir, PathBuf) {
    let t = exchange();
    let root = t.path().join("ex");
    let due = timestamp::parse(due).unwrap();
    deadlines::publish_due(&root, "c1", "ps1", Some(due)).unwrap();
    (t, root)
}

/// `collect --before-duedate` of alice alone, into `template`.
fn alice_before_duedate<'a>(root: &'a Path, template: &'a Path) -> CollectRequest<'a> {
    let mut req = request(root, template);
    req.before_duedate = true;
    req.students = Some("alice");
    req
}

/// Write the notary's index of c1 with `seals` and `deadlines` (JSON objects), and each
/// student's confirmation with the same seals, as the notary does.
fn write_index(root: &Path, seals: serde_json::Value, deadlines: serde_json::Value) {
    let dir = root.join("c1/.nbk8s-notary");
    fs::create_dir_all(&dir).unwrap();
    let mut confirmations: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        Default::default();
    for (key, entry) in seals.as_object().unwrap() {
        let (student, sub) = key.split_once('/').unwrap();
        let mut entry = entry.clone();
        entry["submission"] = sub.into();
        confirmations.entry(student.into()).or_default().push(entry);
    }
    for (student, list) in confirmations {
        let conf = serde_json::json!({"course": "c1", "student": student, "head": R1,
            "seq": 3, "seals": list});
        let path = root.join("c1/feedback_public").join(&student);
        fs::create_dir_all(&path).unwrap();
        fs::write(path.join(".nbk8s-seals.json"), conf.to_string()).unwrap();
    }
    let doc = serde_json::json!({"copy_of": "ledger", "course": "c1", "head": R1, "seq": 3,
        "seals": seals, "deadlines": deadlines});
    fs::write(dir.join("index.json"), doc.to_string()).unwrap();
}

fn seal(claimed: &str, sealed: &str, state: &str, copy: Option<&str>) -> serde_json::Value {
    sealed_as(claimed, sealed, state, copy, R1)
}

fn sealed_as(
    claimed: &str,
    sealed: &str,
    state: &str,
    copy: Option<&str>,
    receipt: &str,
) -> serde_json::Value {
    serde_json::json!({"assignment": "ps1", "claimed": claimed, "sealed": sealed,
        "receipt": receipt, "state": state, "changed_at": null, "copy": copy})
}

/// The receipt of the tree at `dir`.
fn receipt_of(dir: &Path) -> String {
    crate::receipt::Manifest::of(dir, 0, 0).unwrap().receipt()
}

#[test]
fn a_submission_changed_after_its_seal_is_collected_from_the_sealed_copy() {
    let t = exchange();
    let root = t.path().join("ex");
    let name = format!("ps1+{T3}+r");
    let copy = format!("sealed/alice/{name}");
    write_tree(
        &root.join("c1/.nbk8s-notary").join(&copy),
        &[("p.ipynb", "as sealed")],
    );
    let sealed = receipt_of(&root.join("c1/.nbk8s-notary").join(&copy));
    let seals = serde_json::json!({format!("alice/{name}"):
        sealed_as(T3, "2024-03-03T13:00:05Z", "changed", Some(&copy), &sealed)});
    write_index(&root, seals.clone(), serde_json::json!({}));
    let template = t.path().to_path_buf();
    let mut req = request(&root, &template);
    req.students = Some("alice");
    let (got, w, out) = collect_alice(&req, t.path());
    assert_eq!(got, "as sealed");
    assert!(
        w.contains(&format!(
            "{name} modified after it was sealed at 2024-03-03T13:00:05.000000Z"
        )) && w.contains(&format!(
            "receipt {}); collected the sealed copy",
            crate::receipt::short(&sealed)
        )),
        "{w}"
    );
    assert!(out.records[0].source.contains(".nbk8s-notary/sealed/"));

    // A copy altered since (its receipt is not the seal's) is refused, named.
    fs::remove_dir_all(t.path().join("submitted")).unwrap();
    let altered = root.join("c1/.nbk8s-notary").join(&copy);
    fs::write(altered.join("p.ipynb"), "forged").unwrap();
    let (got, w, _) = collect_alice(&req, t.path());
    assert_eq!(got, "3");
    assert!(
        w.contains(&format!(
            "refused the notary's sealed copy {}",
            altered.display()
        )) && w.contains("modified after it was sealed")
            && !w.contains("collected the sealed copy"),
        "{w}"
    );
    fs::write(altered.join("p.ipynb"), "as sealed").unwrap();

    // A copy named anywhere else, or a link in its place, is not followed: the inbox's is
    // collected with today's warning.
    fs::remove_dir_all(t.path().join("submitted")).unwrap();
    let elsewhere = serde_json::json!({format!("alice/{name}"):
        seal(T3, "2024-03-03T13:00:05Z", "changed", Some("../../secret"))});
    write_index(&root, elsewhere, serde_json::json!({}));
    let (got, w, _) = collect_alice(&req, t.path());
    assert_eq!(got, "3");
    assert!(
        w.contains("modified after it was sealed") && !w.contains("sealed copy"),
        "{w}"
    );
    fs::remove_dir_all(t.path().join("submitted")).unwrap();
    fs::remove_dir_all(root.join("c1/.nbk8s-notary/sealed/alice")).unwrap();
    std::os::unix::fs::symlink(
        t.path().join("secret"),
        root.join("c1/.nbk8s-notary/sealed/alice"),
    )
    .unwrap();
    write_index(&root, seals, serde_json::json!({}));
    let (got, w, _) = collect_alice(&req, t.path());
    assert_eq!(got, "3");
    assert!(w.contains("cannot be opened"), "{w}");
}

#[test]
fn before_duedate_skips_a_claim_its_seal_contradicts() {
    let (t, root) = published_due("2024-03-02 18:00:00 UTC");
    // T2 claims to be before the due date, but the notary first saw it a day later.
    let seals = serde_json::json!({
        format!("alice/ps1+{T1}+r"): seal(T1, "2024-03-01T12:01:00Z", "sealed", None),
        format!("alice/ps1+{T2}+r"): seal(T2, "2024-03-03T11:00:00Z", "sealed", None)});
    write_index(&root, seals, serde_json::json!({}));
    let template = t.path().to_path_buf();
    let req = alice_before_duedate(&root, &template);
    let out = collect(&req).unwrap();
    assert_eq!(out.records[0].timestamp, T1);
    let w = out.warnings.join("\n");
    assert!(
        w.contains(&format!(
            "ps1+{T2}+r not counted as before the due date 2024-03-02 18:00:00 UTC"
        )) && w.contains("rule: the notary's seal"),
        "{w}"
    );
}

#[test]
fn before_duedate_takes_the_deadline_snapshot_for_the_current_due_date() {
    let (t, root) = published_due("2024-03-02 18:00:00 UTC");
    let kept = format!("ps1+{T1}+r");
    write_tree(
        &root.join("c1/.nbk8s-notary/deadline/alice/ps1"),
        &[("p.ipynb", "at the deadline")],
    );
    let receipt = receipt_of(&root.join("c1/.nbk8s-notary/deadline/alice/ps1"));
    let snap = |due: &str, copy: &str| {
        serde_json::json!({"alice/ps1": {"due": due, "taken": "2024-03-02T18:05:00Z",
            "submission": kept, "receipt": receipt, "copy": copy}})
    };
    let seals = serde_json::json!({format!("alice/{kept}"):
        sealed_as(T1, "2024-03-01T12:00:30Z", "changed", None, &receipt)});
    write_index(
        &root,
        seals.clone(),
        snap("2024-03-02T18:00:00Z", "deadline/alice/ps1"),
    );
    let template = t.path().to_path_buf();
    let req = alice_before_duedate(&root, &template);
    let out = collect(&req).unwrap();
    assert_eq!(out.records[0].timestamp, T1);
    let dest = t.path().join("submitted/alice/ps1");
    assert_eq!(
        fs::read_to_string(dest.join("p.ipynb")).unwrap(),
        "at the deadline"
    );
    assert_eq!(fs::read_to_string(dest.join("timestamp.txt")).unwrap(), T1);
    let w = out.warnings.join("\n");
    assert!(
        w.contains(&format!(
            "taken from the notary's deadline snapshot at 2024-03-02T18:00:00.000000Z \
             (submission {kept}, receipt {})",
            crate::receipt::short(&receipt)
        )),
        "{w}"
    );
    // Taken for another due date (an extension since), or with its copy elsewhere: ignored.
    for (due, copy) in [
        ("2024-03-01T18:00:00Z", "deadline/alice/ps1"),
        ("2024-03-02T18:00:00Z", "deadline/bob/ps1"),
    ] {
        fs::remove_dir_all(t.path().join("submitted")).unwrap();
        write_index(&root, seals.clone(), snap(due, copy));
        let out = collect(&req).unwrap();
        assert_eq!(out.records[0].timestamp, T2, "{due} {copy}");
        assert!(!out.warnings.join("\n").contains("snapshot"));
    }
}
