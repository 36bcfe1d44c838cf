//! Validation of ids that become path components (DESIGN.md safety rule 4).

use crate::error::{Error, Result};

/// What an id names; decides which characters are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A course id: also refuses `+` and `*`.
    Course,
    /// An assignment id: also refuses `+` and `*` (submission names split at `+`).
    Assignment,
    /// A student id: may hold `+`, `*`, `@`, unicode; it is only ever a directory name.
    Student,
    /// A notebook id (file stem).
    Notebook,
}

impl IdKind {
    /// The kind named by `name` ("course", "assignment", "student", "notebook").
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "course" => Ok(IdKind::Course),
            "assignment" => Ok(IdKind::Assignment),
            "student" => Ok(IdKind::Student),
            "notebook" => Ok(IdKind::Notebook),
            other => Err(Error::InvalidArgument(format!(
                "unknown id kind {other:?} (expected course, assignment, student or notebook)"
            ))),
        }
    }

    /// The lower-case name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            IdKind::Course => "course",
            IdKind::Assignment => "assignment",
            IdKind::Student => "student",
            IdKind::Notebook => "notebook",
        }
    }
}

/// Why `value` is not a safe id of `kind`, or None when it is.
pub fn problem(kind: IdKind, value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return Some("it is empty");
    }
    if value.contains('/') {
        return Some("it contains '/'");
    }
    if value.contains('\0') {
        return Some("it contains a NUL character");
    }
    if value == "." || value == ".." {
        return Some("it is a relative directory name");
    }
    if value.starts_with('.') {
        return Some("it starts with '.', which the exchange reserves for its own files");
    }
    if value.len() > 255 {
        return Some("it is longer than 255 bytes");
    }
    let strict = matches!(kind, IdKind::Course | IdKind::Assignment);
    if strict && value.contains('+') {
        return Some("it contains '+', which separates the parts of submission names");
    }
    if strict && value.contains('*') {
        return Some("it contains '*', which nbgrader treats as a wildcard");
    }
    None
}

/// Fail unless `value` is a safe id of `kind`.
pub fn validate(kind: IdKind, value: &str) -> Result<()> {
    match problem(kind, value) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidId {
            kind: kind.name().to_string(),
            value: value.to_string(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_everywhere() {
        let long = "x".repeat(256);
        for bad in ["", "a/b", "a\0b", ".", "..", ".hidden", long.as_str()] {
            for kind in [
                IdKind::Course,
                IdKind::Assignment,
                IdKind::Student,
                IdKind::Notebook,
            ] {
                assert!(validate(kind, bad).is_err(), "{kind:?} {bad:?}");
            }
        }
    }

    #[test]
    fn plus_and_star_only_for_course_and_assignment() {
        for v in ["a+b", "a*"] {
            assert!(validate(IdKind::Course, v).is_err());
            assert!(validate(IdKind::Assignment, v).is_err());
            assert!(validate(IdKind::Student, v).is_ok());
        }
        assert!(validate(IdKind::Student, "zoë.o'brien+test@uni.edu").is_ok());
        assert!(validate(IdKind::Student, &"x".repeat(255)).is_ok());
    }

    const KINDS: [IdKind; 4] = [
        IdKind::Course,
        IdKind::Assignment,
        IdKind::Student,
        IdKind::Notebook,
    ];

    proptest::proptest! {
        /// Whatever is accepted is one plain path component: it cannot climb, hide, or
        /// (for courses and assignments) break the parsing of submission names.
        #[test]
        fn accepted_ids_are_one_plain_component(value in "\\PC{0,300}", k in 0usize..4) {
            let kind = KINDS[k];
            if validate(kind, &value).is_ok() {
                let parts: Vec<_> = std::path::Path::new(&value).components().collect();
                proptest::prop_assert_eq!(parts.len(), 1);
                proptest::prop_assert!(matches!(
                    parts[0],
                    std::path::Component::Normal(p) if p == value.as_str()
                ));
                proptest::prop_assert!(!value.starts_with('.') && value.len() <= 255);
                proptest::prop_assert!(!value.contains('\0'));
                if matches!(kind, IdKind::Course | IdKind::Assignment) {
                    proptest::prop_assert!(!value.contains('+') && !value.contains('*'));
                }
            }
        }

        /// A forbidden character anywhere refuses the id, whatever surrounds it.
        #[test]
        fn forbidden_anywhere_is_refused(
            before in "\\PC{0,20}",
            after in "\\PC{0,20}",
            bad in proptest::sample::select(vec!["/", "\0", "/../"]),
            k in 0usize..4,
        ) {
            let value = format!("{before}{bad}{after}");
            proptest::prop_assert!(validate(KINDS[k], &value).is_err());
            let leading = format!(".{before}");
            proptest::prop_assert!(validate(KINDS[k], &leading).is_err());
        }
    }

    #[test]
    fn message_names_kind_value_and_reason() {
        let err = validate(IdKind::Course, "../c").unwrap_err().to_string();
        assert!(err.contains("course") && err.contains("\"../c\"") && err.contains("'/'"));
        assert!(IdKind::parse("teacher").is_err());
        assert_eq!(IdKind::parse("student").unwrap(), IdKind::Student);
    }
}
