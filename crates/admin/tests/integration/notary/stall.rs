//! A hostile student cannot stall the notary: submissions over a cap cost a few `stat`s and
//! are reported once, one inbox's work is capped per pass, `/healthz` stays quick and
//! healthy while passes progress, and a slow HTTP client delays no probe.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// `GET /healthz` with a one-second budget for the whole answer: its status, or why not.
fn probe(addr: &str) -> Result<u16, String> {
    let deadline = Duration::from_secs(1);
    let started = Instant::now();
    let mut s =
        TcpStream::connect_timeout(&addr.parse().unwrap(), deadline).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(deadline)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    if started.elapsed() > deadline {
        return Err(format!("answered after {:?}", started.elapsed()));
    }
    out.get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status in {out:?}"))
}

/// Every probe's outcome, in order.
type Probes = Arc<Mutex<Vec<Result<u16, String>>>>;

/// Probe `/healthz` every 250 ms on a thread until stopped; (results, stop flag).
fn prober(addr: String) -> (Probes, Arc<AtomicBool>) {
    let results = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (r, st) = (Arc::clone(&results), Arc::clone(&stop));
    std::thread::spawn(move || {
        // Bounded: at most two minutes of probes.
        for _ in 0..480 {
            if st.load(Ordering::Relaxed) {
                break;
            }
            let got = probe(&addr);
            r.lock().unwrap().push(got);
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    (results, stop)
}

#[test]
fn one_inbox_of_huge_sparse_and_ten_thousand_empty_submissions_stalls_no_one() {
    let ex = Exchange::new();
    let others: Vec<String> = (0..20).map(|i| format!("s{i:02}")).collect();
    let mut all: Vec<&str> = others.iter().map(String::as_str).collect();
    all.push("mallory");
    ex.course("c1", &all);
    // Twenty 3 GB sparse submissions (a few KB on disk each), and 10,000 empty ones.
    for i in 0..20 {
        let dir = ex.mkdir(&format!(
            "c1/inbound/mallory/ps1+2026-12-01 10:00:00.000000 UTC+big{i:02}"
        ));
        let f = std::fs::File::create(dir.join("huge.bin")).unwrap();
        f.set_len(3_000_000_000).unwrap();
    }
    for i in 0..10_000 {
        ex.mkdir(&format!(
            "c1/inbound/mallory/ps1+2026-12-01 10:00:00.000000 UTC+e{i:05}"
        ));
    }
    let mut notary = Daemon::start(&ex, &["--interval", "1s", "--listen", "127.0.0.1:0"]);
    let addr = notary.addr.clone().expect("listening");
    let (probes, stop) = prober(addr);
    // Everyone else submits while the notary is busy with mallory.
    for s in &others {
        ex.submit("c1", s, "ps1", &ts("2026-12-01 10:00:00"), "ok00");
    }
    notary.passes(1, Duration::from_secs(60));
    // Submissions made during the first pass are sealed by the end of the next two.
    notary.passes(2, Duration::from_secs(60));
    let recs = ledger(&ex, "c1");
    for s in &others {
        assert!(
            recs.iter()
                .any(|r| r["event"] == "seal" && r["student"] == s.as_str()),
            "{s} not sealed within two passes after the first"
        );
    }
    // mallory's empty submissions are sealed too, at most --per-inbox a pass.
    let mallory = recs
        .iter()
        .filter(|r| r["event"] == "seal" && r["student"] == "mallory")
        .count();
    assert!(
        mallory > 0 && mallory <= 3 * 32,
        "{mallory} of mallory's sealed"
    );
    notary.passes(2, Duration::from_secs(60));
    stop.store(true, Ordering::Relaxed);
    notary.stop();
    // Each huge one is reported once, never sealed.
    let too_big: Vec<&Value> = notary
        .log
        .iter()
        .filter(|v| v["event"] == "too_big")
        .collect();
    assert_eq!(too_big.len(), 20, "{too_big:#?}");
    let recs = ledger(&ex, "c1");
    assert!(!recs
        .iter()
        .any(|r| r["submission"].as_str().is_some_and(|s| s.contains("+big"))));
    let probes = probes.lock().unwrap();
    assert!(probes.len() >= 4, "{probes:?}");
    let bad: Vec<_> = probes.iter().filter(|p| **p != Ok(200)).collect();
    assert!(
        bad.is_empty(),
        "{} of {} probes failed: {bad:?}",
        bad.len(),
        probes.len()
    );
}

#[test]
fn a_slow_client_delays_no_probe_and_is_cut_off() {
    let ex = Exchange::new();
    ex.course("c1", &["alice"]);
    let mut notary = Daemon::start(&ex, &["--interval", "1s", "--listen", "127.0.0.1:0"]);
    let addr = notary.addr.clone().expect("listening");
    notary.passes(1, Duration::from_secs(60));
    // Four clients sending their request one byte a second, never finishing it.
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).unwrap();
                let started = Instant::now();
                for b in b"GET /metrics HTTP/1.0\r\nX-Slow: ".iter().cycle().take(20) {
                    if s.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                // The server closed it within its deadline (plus a write or two).
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut rest = Vec::new();
                let _ = s.read_to_end(&mut rest);
                started.elapsed()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut results = Vec::new();
    for _ in 0..10 {
        results.push(probe(&addr));
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        results.iter().all(|r| *r == Ok(200)),
        "probes beside slow clients: {results:?}"
    );
    for t in slow {
        let took = t.join().unwrap();
        assert!(took < Duration::from_secs(12), "slow client kept {took:?}");
    }
    notary.stop();
}
