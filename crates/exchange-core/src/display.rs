//! Names as people see them: every name a student controls (a submission directory, a file
//! in it, a student or assignment id) reaches human output through [`escape`], so it cannot
//! start a line of its own (forging a row of a table or log), drive the terminal (escape
//! sequences, C1 controls) or reorder what is shown around it (bidi overrides).
//!
//! Only human output is escaped: JSON output carries the exact string (JSON-escaped as
//! usual), and so does everything written to disk.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is shown escaped: C0 controls, DEL, C1 controls, the Unicode line and
/// paragraph separators and the bidirectional formatting characters (embeddings, overrides,
/// isolates, marks), which reorder the text around them on screen.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every [`is_hidden`] character shown visibly: `\n`, `\r`, `\t`, `\xNN` for the
/// other ASCII and C1 controls (`\x1b`, `\x7f`, `\x9b`), `\u{NNNN}` for the rest
/// (`\u{202e}`). Everything else, a backslash included, is left as it is (so `\n` in output
/// may also be a backslash and an `n` in the name: the JSON output says which). Borrowed
/// when there is nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_hidden(c) && u32::from(c) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`escape`] of a path, decoded lossily (a byte that is not UTF-8 shows as U+FFFD).
pub fn escape_path(path: &std::path::Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Hostile names and what a person sees of them.
    const TABLE: &[(&str, &str)] = &[
        (
            "ps1+2026-12-01 10:00:00 UTC+abc",
            "ps1+2026-12-01 10:00:00 UTC+abc",
        ),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("del\x7f", "del\\x7f"),
        ("c1\u{9b}31m", "c1\\x9b31m"),
        ("nul\0", "nul\\x00"),
        ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
        ("iso\u{2066}x\u{2069}", "iso\\u{2066}x\\u{2069}"),
        ("mark\u{200f}", "mark\\u{200f}"),
        ("line\u{2028}sep", "line\\u{2028}sep"),
        ("zoë+test@uni ✓", "zoë+test@uni ✓"),
        ("back\\slash", "back\\slash"),
    ];

    #[test]
    fn hostile_names_are_shown_escaped() {
        for (raw, shown) in TABLE {
            assert_eq!(escape(raw), *shown, "{raw:?}");
        }
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape_path(std::path::Path::new("/ex/c/inbound/a\x1bb")),
            "/ex/c/inbound/a\\x1bb"
        );
    }

    proptest! {
        /// Whatever a name holds, what is shown is one line without a control character or
        /// a bidi override, and a name without any is shown as it is.
        #[test]
        fn nothing_hidden_survives(name in "\\PC{0,20}|[\\x00-\\x1f\\x7f-\\x9f\u{202a}-\u{202e}a-z]{0,20}") {
            let shown = escape(&name);
            prop_assert!(!shown.chars().any(is_hidden));
            if !name.chars().any(is_hidden) {
                prop_assert_eq!(shown.as_ref(), name.as_str());
            }
        }
    }
}
