//! Submission directory names and cache entry names, as a student may write them: parsing
//! never panics, and whatever parses is consistent with the name it came from.
#![no_main]

use exchange_core::ids::{problem, IdKind};
use exchange_core::names::{cache_name, parse_cache, parse_submission};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is the student (the directory), the rest the entry's name.
    let (student, name) = text.split_once('\n').unwrap_or(("alice", &text));
    if let Ok(parsed) = parse_submission(student, name) {
        assert!(problem(IdKind::Assignment, &parsed.assignment).is_none());
        assert!(!parsed.random.contains('+'));
        let tail = format!(
            "{}+{}+{}",
            parsed.assignment, parsed.timestamp, parsed.random
        );
        assert!(name.ends_with(&tail), "{name:?} parsed as {parsed:?}");
        if parsed.warning.is_none() && name != tail {
            assert_eq!(name, format!("{student}+{tail}"));
        }
    }
    if let Some((assignment, ts)) = parse_cache(student, name) {
        assert_eq!(cache_name(student, &assignment, &ts), name);
    }
});
