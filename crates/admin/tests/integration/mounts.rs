//! `nbgrader-k8s mounts`.

use crate::util::*;

#[test]
fn student_and_instructor_json() {
    let ex = Exchange::new();
    let v = ex
        .run(&[
            "mounts",
            "ta",
            "--student-of",
            "c1",
            "c2",
            "--instructor-of",
            "c2",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        v,
        serde_json::json!({
            "volumes": [{"name": "nbgrader-exchange",
                         "persistentVolumeClaim": {"claimName": "nbgrader-exchange"}}],
            "volume_mounts": [
                {"name": "nbgrader-exchange", "mountPath": "/mnt/exchange/c1/outbound",
                 "subPath": "c1/outbound", "readOnly": true},
                {"name": "nbgrader-exchange", "mountPath": "/mnt/exchange/c1/inbound/ta",
                 "subPath": "c1/inbound/ta"},
                {"name": "nbgrader-exchange", "mountPath": "/mnt/exchange/c1/feedback_public/ta",
                 "subPath": "c1/feedback_public/ta", "readOnly": true},
                {"name": "nbgrader-exchange", "mountPath": "/mnt/exchange/c2", "subPath": "c2"},
            ]
        })
    );
}

#[test]
fn yaml_escaping_raw_and_options() {
    let ex = Exchange::new();
    let out = ex
        .run(&[
            "mounts",
            "we{ir}d",
            "--student-of",
            "c1",
            "--claim-name",
            "pvc",
            "--mount-root",
            "/ex/",
        ])
        .ok();
    assert!(out
        .stdout
        .starts_with("volumes:\n  - name: \"nbgrader-exchange\"\n"));
    assert!(out.stdout.contains("claimName: \"pvc\""));
    assert!(out
        .stdout
        .contains("mountPath: \"/ex/c1/inbound/we{{ir}}d\""));
    let v = ex
        .run(&[
            "mounts",
            "we{ir}d",
            "--student-of",
            "c1",
            "--format",
            "json",
            "--raw",
        ])
        .ok()
        .json();
    assert_eq!(v["volume_mounts"][1]["subPath"], "c1/inbound/we{ir}d");
    let none = ex.run(&["mounts", "nobody"]).ok();
    assert_eq!(none.stdout, "volumes: []\nvolume_mounts: []\n");
}

#[test]
fn unsafe_names_are_refused() {
    let ex = Exchange::new();
    ex.run(&["mounts", "../root", "--student-of", "c1"])
        .code(1)
        .fails_with("invalid student id \"../root\"");
    ex.run(&["mounts", "alice", "--instructor-of", "a+b"])
        .code(1)
        .fails_with("invalid course id \"a+b\"");
    assert_eq!(ex.run(&["mounts", "alice", "--format", "toml"]).code, 2);
}
