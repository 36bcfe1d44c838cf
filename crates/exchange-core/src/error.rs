//! The one error type of the core; `kind()` is what Python sees as `ExchangeCoreError.kind`.

use std::path::Path;

/// Any failure of a core operation. Messages are written for a course admin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An id that would become a path component is unsafe or malformed.
    #[error("invalid {kind} id {value:?}: {reason}")]
    InvalidId {
        /// Which id: "course", "assignment", "student" or "notebook".
        kind: String,
        /// The refused value.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A timestamp string could not be read, or cannot be part of a directory name.
    #[error("invalid timestamp {value:?}: {reason}")]
    InvalidTimestamp {
        /// The refused timestamp string.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// An argument other than an id or timestamp is malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Something that must exist does not (a release, a course, a student's directory).
    #[error("{0}")]
    NotFound(String),
    /// Something exists that the operation will not overwrite.
    #[error("{0}")]
    Exists(String),
    /// A tree is over `max_dir_size` or `max_files`.
    #[error("{0}")]
    TooBig(String),
    /// `submit --strict` found released notebooks missing from the submission.
    #[error("{0}")]
    MissingNotebooks(String),
    /// A path that must be a real directory is a symlink or another kind of file.
    #[error("unsafe path {path:?}: {reason}")]
    UnsafePath {
        /// The offending path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An operating-system error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Every value [`Error::kind`] can return (the binding's `ErrorKind` must list them).
    pub const KINDS: &'static [&'static str] = &[
        "invalid_id",
        "invalid_timestamp",
        "invalid_argument",
        "not_found",
        "exists",
        "too_big",
        "missing_notebooks",
        "unsafe_path",
        "io",
    ];

    /// Short machine-readable name of the error kind (the Python `kind` attribute).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidId { .. } => "invalid_id",
            Error::InvalidTimestamp { .. } => "invalid_timestamp",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::NotFound(_) => "not_found",
            Error::Exists(_) => "exists",
            Error::TooBig(_) => "too_big",
            Error::MissingNotebooks(_) => "missing_notebooks",
            Error::UnsafePath { .. } => "unsafe_path",
            Error::Io { .. } => "io",
        }
    }

    /// An I/O error while doing `what` to `path`.
    pub fn io(what: &str, path: &Path, source: impl Into<std::io::Error>) -> Self {
        Error::Io {
            context: format!("cannot {what} {}", path.display()),
            source: source.into(),
        }
    }

    pub(crate) fn unsafe_path(path: &Path, reason: &'static str) -> Self {
        Error::UnsafePath {
            path: path.display().to_string(),
            reason,
        }
    }
}

/// Result alias of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages() {
        let e = Error::InvalidId {
            kind: "course".into(),
            value: "a/b".into(),
            reason: "contains '/'",
        };
        assert_eq!(e.kind(), "invalid_id");
        assert_eq!(e.to_string(), "invalid course id \"a/b\": contains '/'");
        let e = Error::io("read", Path::new("/x"), std::io::ErrorKind::NotFound);
        assert_eq!(e.kind(), "io");
        assert!(e.to_string().starts_with("cannot read /x"));
    }

    #[test]
    fn every_kind_is_listed() {
        let all = [
            Error::InvalidId {
                kind: "course".into(),
                value: String::new(),
                reason: "",
            },
            Error::InvalidTimestamp {
                value: String::new(),
                reason: String::new(),
            },
            Error::InvalidArgument(String::new()),
            Error::NotFound(String::new()),
            Error::Exists(String::new()),
            Error::TooBig(String::new()),
            Error::MissingNotebooks(String::new()),
            Error::UnsafePath {
                path: String::new(),
                reason: "",
            },
            Error::io("read", Path::new("/x"), std::io::Error::other("e")),
        ];
        let kinds: Vec<_> = all.iter().map(Error::kind).collect();
        assert_eq!(kinds, Error::KINDS);
    }
}
