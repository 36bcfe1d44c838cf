//! Names of submission directories (`{assignment}+{timestamp}+{random}`), the legacy
//! `{student}+{assignment}+{timestamp}+{random}`, and cache entries
//! (`{student}+{assignment}+{timestamp}`).

use chrono::NaiveDateTime;

use crate::ids::{self, IdKind};
use crate::timestamp;

/// A parsed submission directory name found in `inbound/{student}/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionName {
    /// The assignment id.
    pub assignment: String,
    /// The timestamp string exactly as written.
    pub timestamp: String,
    /// The random suffix.
    pub random: String,
    /// The timestamp as naive UTC, or None when it cannot be read.
    pub when: Option<NaiveDateTime>,
    /// A note for the admin (legacy name naming another student), if any.
    pub warning: Option<String>,
}

/// The name of a new submission directory.
pub fn submission_name(assignment: &str, timestamp: &str, random: &str) -> String {
    format!("{assignment}+{timestamp}+{random}")
}

/// Split at the first and the last `+`: (assignment, timestamp, random).
fn split_first_last(name: &str) -> Option<(&str, &str, &str)> {
    let first = name.find('+')?;
    let last = name.rfind('+')?;
    if first == last {
        return None;
    }
    Some((&name[..first], &name[first + 1..last], &name[last + 1..]))
}

/// Parse the current layout's name; Some only when the assignment id is valid.
fn parse_current(name: &str) -> Option<SubmissionName> {
    let (assignment, ts, random) = split_first_last(name)?;
    ids::problem(IdKind::Assignment, assignment)
        .is_none()
        .then(|| SubmissionName {
            assignment: assignment.to_string(),
            timestamp: ts.to_string(),
            random: random.to_string(),
            when: timestamp::parse(ts).ok(),
            warning: None,
        })
}

/// Parse `name` found in `inbound/{student}/`. The identity is always `student` (the
/// directory); a legacy name embedding another student id yields a warning.
/// Err says why the name is not a submission.
pub fn parse_submission(student: &str, name: &str) -> Result<SubmissionName, String> {
    let current = parse_current(name);
    if let Some(parsed) = &current {
        if parsed.when.is_some() {
            return Ok(parsed.clone());
        }
    }
    if let Some(parsed) = parse_legacy(student, name) {
        return Ok(parsed);
    }
    current.ok_or_else(|| format!("{name:?} is not named {{assignment}}+{{timestamp}}+{{random}}"))
}

/// The older plugin's `{student}+{assignment}+{timestamp}+{random}`, only when its
/// timestamp reads.
fn parse_legacy(student: &str, name: &str) -> Option<SubmissionName> {
    let (embedded, rest) = match name.strip_prefix(student).and_then(|r| r.strip_prefix('+')) {
        Some(rest) => (student, rest),
        None => name.split_once('+')?,
    };
    let mut parsed = parse_current(rest)?;
    parsed.when?;
    if embedded != student {
        parsed.warning = Some(format!(
            "submission {name:?} in inbound/{student}/ names student {embedded:?}; \
             it is taken as {student:?}'s (the directory decides)"
        ));
    }
    Some(parsed)
}

/// The name of a cache entry.
pub fn cache_name(student: &str, assignment: &str, timestamp: &str) -> String {
    format!("{student}+{assignment}+{timestamp}")
}

/// Parse a cache entry name of `student`: (assignment, timestamp), or None if it is not
/// theirs or malformed.
pub fn parse_cache(student: &str, name: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix(student)?.strip_prefix('+')?;
    let (assignment, ts) = rest.split_once('+')?;
    // The timestamp must read, which also keeps another student's entry (one whose id
    // extends ours past a '+') from passing as ours.
    if ids::problem(IdKind::Assignment, assignment).is_some() || timestamp::parse(ts).is_err() {
        return None;
    }
    Some((assignment.to_string(), ts.to_string()))
}

/// A fresh random name part: url-safe base64 of 9 random bytes (12 chars, never `+`).
pub fn random_part() -> String {
    let mut bytes = [0u8; 9];
    fill_random(&mut bytes);
    base64_url(&bytes)
}

/// Fill `buf` from the OS random source.
pub(crate) fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random source failed");
}

/// Url-safe base64 without padding.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A fresh submission secret: 64 random bytes as 128 lowercase hex characters.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 64];
    fill_random(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TS: &str = "2024-03-01 12:00:00.000001 UTC";

    #[test]
    fn splits_at_first_and_last_plus() {
        let p = parse_submission("alice", "ps1+2024-03-01 12:00:00 +0100+AbC-_d").unwrap();
        assert_eq!(p.assignment, "ps1");
        assert_eq!(p.timestamp, "2024-03-01 12:00:00 +0100");
        assert_eq!(p.random, "AbC-_d");
        assert!(p.when.is_some() && p.warning.is_none());
    }

    #[test]
    fn legacy_names() {
        let name = format!("alice+ps1+{TS}+xyz");
        let p = parse_submission("alice", &name).unwrap();
        assert_eq!((p.assignment.as_str(), p.timestamp.as_str()), ("ps1", TS));
        assert!(p.warning.is_none());
        let p = parse_submission("bob", &name).unwrap();
        assert_eq!(p.assignment, "ps1");
        assert!(p.warning.unwrap().contains("\"alice\""));
        // A student id holding '+' in a legacy name.
        let p = parse_submission("a+b", &format!("a+b+ps1+{TS}+r")).unwrap();
        assert_eq!(p.assignment, "ps1");
        assert!(p.warning.is_none());
    }

    #[test]
    fn unreadable_timestamp_kept_but_unparsed() {
        let p = parse_submission("alice", "ps1+not a time+r").unwrap();
        assert_eq!(p.timestamp, "not a time");
        assert!(p.when.is_none());
        assert!(parse_submission("alice", "notes.txt").is_err());
        assert!(parse_submission("alice", "ps1+r").is_err());
    }

    #[test]
    fn cache_names_with_plus_in_student() {
        let name = cache_name("zoë+test@uni", "ps1", TS);
        assert_eq!(
            parse_cache("zoë+test@uni", &name),
            Some(("ps1".to_string(), TS.to_string()))
        );
        assert_eq!(parse_cache("zoë", &name), None);
        assert_eq!(parse_cache("bob", &name), None);
    }

    #[test]
    fn random_and_secret_shapes() {
        let r = random_part();
        assert_eq!(r.len(), 12);
        assert!(!r.contains('+') && !r.contains('/'));
        let s = new_secret();
        assert_eq!(s.len(), 128);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(base64_url(b"\xfb\xff\xbf"), "-_-_");
        assert_eq!(base64_url(b"Man"), "TWFu");
    }

    proptest! {
        #[test]
        fn submission_name_round_trip(
            assignment in "[a-zA-Z0-9_-][a-zA-Z0-9_ .-]{0,20}",
            secs in 0i64..4_000_000_000,
            offset in prop::sample::select(vec!["UTC", "+0100", "-05:30", "CEST"]),
        ) {
            let when = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
            let ts = format!("{} {offset}", when.format("%Y-%m-%d %H:%M:%S%.6f"));
            let name = submission_name(&assignment, &ts, &random_part());
            let p = parse_submission("stu+dent", &name).unwrap();
            prop_assert_eq!(p.assignment, assignment);
            prop_assert_eq!(&p.timestamp, &ts);
            prop_assert!(p.when.is_some());
        }

        /// Any name a student may give a directory: parsing never panics, the identity is
        /// never taken from it, and what parses is consistent with the name.
        #[test]
        fn arbitrary_names_parse_consistently(
            student in "[a-z+@.]{1,8}",
            name in "\\PC{0,60}|[a-z+]{1,8}\\+[0-9: -]{0,25}( UTC| [+-][0-9]{4})?\\+[A-Za-z0-9_-]{0,4}",
        ) {
            if let Ok(p) = parse_submission(&student, &name) {
                prop_assert!(ids::problem(IdKind::Assignment, &p.assignment).is_none());
                prop_assert!(!p.random.contains('+'));
                let tail = submission_name(&p.assignment, &p.timestamp, &p.random);
                prop_assert!(name.ends_with(&tail));
                if name != tail {
                    // Legacy: what precedes names a student; another one is reported.
                    let embedded = &name[..name.len() - tail.len() - 1];
                    prop_assert_eq!(p.warning.is_some(), embedded != student);
                }
            }
            if let Some((assignment, ts)) = parse_cache(&student, &name) {
                prop_assert_eq!(cache_name(&student, &assignment, &ts), name);
            }
        }

        #[test]
        fn cache_name_round_trip(
            student in "[a-z0-9+@*.]{1,12}",
            assignment in "[a-z0-9_-]{1,12}",
            secs in 0i64..4_000_000_000,
        ) {
            let when = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
            let ts = format!("{} +0100", when.format("%Y-%m-%d %H:%M:%S%.6f"));
            let name = cache_name(&student, &assignment, &ts);
            prop_assert_eq!(parse_cache(&student, &name), Some((assignment, ts)));
        }
    }
}
