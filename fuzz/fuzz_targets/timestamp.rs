//! Timestamp strings (a submission name's middle part, `timestamp.txt`): parsing never
//! panics, and a parsed time printed as ISO parses back to the same ISO text (years past
//! 9999, reachable through an offset, print with a sign that the layouts do not read).
#![no_main]

use exchange_core::timestamp::{parse, to_iso};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(when) = parse(&text) {
        let iso = to_iso(&when);
        if !iso.starts_with('+') && !iso.starts_with('-') {
            let back = parse(&iso).unwrap_or_else(|e| panic!("{text:?} -> {iso}: {e}"));
            assert_eq!(to_iso(&back), iso, "{text:?}");
        }
    }
});
