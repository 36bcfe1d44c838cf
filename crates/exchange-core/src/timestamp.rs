//! nbgrader timestamp strings to naive UTC, like `nbgrader.utils.parse_utc`.
//!
//! nbgrader writes `Exchange.timestamp_format` (default `%Y-%m-%d %H:%M:%S.%f %Z`) in
//! `Exchange.timezone`, so the zone part may be `UTC`, a numeric offset, an abbreviation
//! (`CEST`) or an IANA name. A string without a zone is taken as UTC, as nbgrader does.

use std::str::FromStr;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};

use crate::error::{Error, Result};

/// Date-time layouts tried in order; `%.f` accepts a missing fraction.
const LAYOUTS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
];

/// Common zone abbreviations, as fixed offsets in seconds east of UTC. They name one side
/// of a DST pair (`CET` in winter, `CEST` in summer), so a fixed offset is their meaning.
const ABBREVIATIONS: &[(&str, i32)] = &[
    ("UTC", 0),
    ("UT", 0),
    ("GMT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 3600),
    ("BST", 3600),
    ("CET", 3600),
    ("CEST", 7200),
    ("MET", 3600),
    ("MEST", 7200),
    ("EET", 7200),
    ("EEST", 10800),
    ("MSK", 10800),
    ("JST", 9 * 3600),
    ("KST", 9 * 3600),
    ("AEST", 10 * 3600),
    ("AEDT", 11 * 3600),
    ("NZST", 12 * 3600),
    ("NZDT", 13 * 3600),
    ("EST", -5 * 3600),
    ("EDT", -4 * 3600),
    ("CST", -6 * 3600),
    ("CDT", -5 * 3600),
    ("MST", -7 * 3600),
    ("MDT", -6 * 3600),
    ("PST", -8 * 3600),
    ("PDT", -7 * 3600),
    ("AKST", -9 * 3600),
    ("AKDT", -8 * 3600),
    ("HST", -10 * 3600),
];

/// Parse an nbgrader timestamp string to a naive UTC date-time.
pub fn parse(value: &str) -> Result<NaiveDateTime> {
    let fail = |reason: &str| Error::InvalidTimestamp {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let text = value.trim();
    let (local, rest) = split_datetime(text).ok_or_else(|| fail("no date and time found"))?;
    let zone = rest.trim();
    if zone.is_empty() {
        return Ok(local);
    }
    to_utc(local, zone).ok_or_else(|| fail("unknown time zone"))
}

/// ISO 8601 form of a naive UTC date-time with microseconds, as the binding returns it.
pub fn to_iso(value: &NaiveDateTime) -> String {
    value.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// The leading date-time and what follows it (the zone, possibly empty).
fn split_datetime(text: &str) -> Option<(NaiveDateTime, &str)> {
    for layout in LAYOUTS {
        if let Ok((dt, rest)) = NaiveDateTime::parse_and_remainder(text, layout) {
            return Some((dt, rest));
        }
    }
    let (date, rest) = NaiveDate::parse_and_remainder(text, "%Y-%m-%d").ok()?;
    Some((date.and_hms_opt(0, 0, 0)?, rest))
}

/// Convert `local` in `zone` to naive UTC.
fn to_utc(local: NaiveDateTime, zone: &str) -> Option<NaiveDateTime> {
    if let Some(offset) = numeric_offset(zone) {
        return Some(local - chrono::Duration::seconds(i64::from(offset)));
    }
    let upper = zone.to_ascii_uppercase();
    if let Some((_, offset)) = ABBREVIATIONS.iter().find(|(name, _)| *name == upper) {
        return Some(local - chrono::Duration::seconds(i64::from(*offset)));
    }
    let tz = chrono_tz::Tz::from_str(zone).ok()?;
    let dt = tz.from_local_datetime(&local).earliest()?;
    Some(dt.naive_utc())
}

/// Seconds east of UTC for `+HHMM`, `+HH:MM`, `+HH` (and `-`), with an optional
/// `UTC`/`GMT` prefix.
fn numeric_offset(zone: &str) -> Option<i32> {
    let zone = zone
        .strip_prefix("UTC")
        .or_else(|| zone.strip_prefix("GMT"))
        .unwrap_or(zone);
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?;
    Some(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(value: &str) -> String {
        to_iso(&parse(value).unwrap_or_else(|e| panic!("{value}: {e}")))
    }

    #[test]
    fn nbgrader_default_format() {
        assert_eq!(
            iso("2024-03-01 12:30:45.123456 UTC"),
            "2024-03-01T12:30:45.123456"
        );
        assert_eq!(
            iso("2024-03-01 12:30:45.5 GMT"),
            "2024-03-01T12:30:45.500000"
        );
        assert_eq!(iso("2024-03-01 12:30:45 Z"), "2024-03-01T12:30:45.000000");
    }

    #[test]
    fn numeric_offsets() {
        assert_eq!(
            iso("2024-03-01 12:00:00 +0100"),
            "2024-03-01T11:00:00.000000"
        );
        assert_eq!(
            iso("2024-03-01 12:00:00 +01:00"),
            "2024-03-01T11:00:00.000000"
        );
        assert_eq!(
            iso("2024-03-01 12:00:00 -0530"),
            "2024-03-01T17:30:00.000000"
        );
        assert_eq!(iso("2024-03-01 00:30:00 +02"), "2024-02-29T22:30:00.000000");
        assert_eq!(
            iso("2024-03-01 12:00:00 UTC+01:00"),
            "2024-03-01T11:00:00.000000"
        );
    }

    #[test]
    fn rfc3339_and_t_separator() {
        assert_eq!(iso("2024-03-01T12:00:00Z"), "2024-03-01T12:00:00.000000");
        assert_eq!(
            iso("2024-03-01T12:00:00+02:00"),
            "2024-03-01T10:00:00.000000"
        );
        assert_eq!(iso("2024-03-01T12:00:00.25"), "2024-03-01T12:00:00.250000");
        assert_eq!(iso("2024-03-01 12:00"), "2024-03-01T12:00:00.000000");
        assert_eq!(iso("2024-03-01"), "2024-03-01T00:00:00.000000");
    }

    #[test]
    fn abbreviations_and_iana_names() {
        assert_eq!(iso("2024-01-15 12:00:00 EST"), "2024-01-15T17:00:00.000000");
        assert_eq!(iso("2024-07-15 12:00:00 EDT"), "2024-07-15T16:00:00.000000");
        assert_eq!(
            iso("2024-07-15 12:00:00 CEST"),
            "2024-07-15T10:00:00.000000"
        );
        assert_eq!(iso("2024-01-15 12:00:00 CET"), "2024-01-15T11:00:00.000000");
        assert_eq!(iso("2024-07-15 12:00:00 PDT"), "2024-07-15T19:00:00.000000");
        assert_eq!(
            iso("2024-07-15 12:00:00 Europe/Berlin"),
            "2024-07-15T10:00:00.000000"
        );
        assert_eq!(
            iso("2024-01-15 12:00:00 America/New_York"),
            "2024-01-15T17:00:00.000000"
        );
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01 00:00:00",
            "2024-01-01 00:00:00 Mars/Base",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_timestamp", "{bad}");
        }
    }

    proptest::proptest! {
        /// Never panics on any text; what parses prints as ISO and reads back the same.
        #[test]
        fn any_text_parses_or_is_refused(text in "\\PC{0,40}|[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.]{0,15}( [A-Za-z/+:0-9-]{0,12})?") {
            if let Ok(when) = parse(&text) {
                let iso = to_iso(&when);
                if !iso.starts_with(['+', '-']) {
                    proptest::prop_assert_eq!(to_iso(&parse(&iso).unwrap()), iso);
                }
            }
        }

        /// A time written with any numeric offset reads back as the same instant.
        #[test]
        fn offsets_round_trip(secs in 0i64..4_000_000_000, minutes in -(23 * 60 + 59)..=(23 * 60 + 59i32)) {
            let utc = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let zone = FixedOffset::east_opt(minutes * 60).unwrap();
            let local = utc.with_timezone(&zone);
            let text = local.format("%Y-%m-%d %H:%M:%S%.6f %z").to_string();
            proptest::prop_assert_eq!(parse(&text).unwrap(), utc.naive_utc());
        }
    }

    #[test]
    fn ordering_across_zones() {
        let a = parse("2024-03-01 12:00:00 +0100").unwrap();
        let b = parse("2024-03-01 11:30:00 UTC").unwrap();
        assert!(a < b);
    }
}
