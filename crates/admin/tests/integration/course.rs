//! `nbgrader-k8s course` / `roster` without a hub: what is refused before any API call.
//! (Against a real JupyterHub: tests/hub/ in pytest.)

use std::io::ErrorKind;
use std::net::TcpListener;

use crate::util::*;

/// A port that listens but is never served: any connection to it is seen.
fn silent_hub() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hub/api", listener.local_addr().unwrap());
    (listener, url)
}

#[track_caller]
fn never_called(listener: &TcpListener) {
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the CLI called the hub: {other:?}"),
    }
}

#[test]
fn an_unsafe_roster_id_is_refused_before_any_api_call() {
    let ex = Exchange::new();
    let (listener, url) = silent_hub();
    let token = ex.outside("token");
    std::fs::write(&token, "secret\n").unwrap();
    let csv = ex.outside("canvas.csv");
    std::fs::write(
        &csv,
        "Student,ID,SIS User ID,SIS Login ID,Section\n\"Adams, Alice\",1,S1,alice,A\n\"Eve\",2,S2,../bob,A\n",
    )
    .unwrap();
    let (csv, token) = (csv.to_str().unwrap(), token.to_str().unwrap());
    ex.run(&[
        "roster",
        "sync",
        "c1",
        "--csv",
        csv,
        "--hub-url",
        &url,
        "--token-file",
        token,
    ])
    .fails_with("line 3: refusing student id \"../bob\"");
    ex.run(&[
        "course",
        "add",
        ".c1",
        "--instructor",
        "prof",
        "--hub-url",
        &url,
        "--token-file",
        token,
    ])
    .fails_with("refusing course id \".c1\"");
    ex.run(&[
        "course",
        "add",
        "c1",
        "--instructor",
        "a/b",
        "--hub-url",
        &url,
        "--token-file",
        token,
    ])
    .fails_with("refusing username \"a/b\"");
    never_called(&listener);
    assert!(!ex.path("c1").exists());
}

#[test]
fn hub_settings_are_checked_with_clear_errors() {
    let ex = Exchange::new();
    let token = ex.outside("token");
    std::fs::write(&token, "secret\n").unwrap();
    let token = token.to_str().unwrap();
    ex.run(&[
        "course",
        "list",
        "--hub-url",
        "https://hub.example/hub/api",
        "--token-file",
        token,
    ])
    .fails_with("only http:// is supported");
    let (listener, url) = silent_hub();
    ex.run(&[
        "course",
        "list",
        "--hub-url",
        &url,
        "--token-file",
        "/nonexistent/token",
    ])
    .fails_with("cannot read the token file /nonexistent/token");
    never_called(&listener);
    drop(listener);
    ex.run(&["course", "list", "--hub-url", &url, "--token-file", token])
        .fails_with("cannot reach the hub at");
}
