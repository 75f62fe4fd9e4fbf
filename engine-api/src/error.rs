//! The one error type of the contract.

use std::fmt;

/// What went wrong, in a form a caller can match on.
///
/// The same kinds are used by every backend, so code that switches backends keeps
/// its error handling.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A serialization failure: another transaction wrote the same object first.
    /// The transaction has been rolled back; retrying it may succeed.
    Conflict,
    /// A schema constraint would be violated.
    ConstraintViolation,
    /// The vertex, edge, index, constraint, trigger or snapshot does not exist
    /// (or is not visible to this transaction).
    NotFound,
    /// The index, constraint or trigger to create exists already.
    AlreadyExists,
    /// The caller passed something the contract does not accept: an empty name, a
    /// value nested too deeply, a bad index, constraint or trigger definition, a data
    /// directory that holds files of another kind than the backend's. (An isolation
    /// level or operation the backend does not offer is [`ErrorKind::Unsupported`].)
    InvalidInput,
    /// A write was attempted in a read-only transaction.
    ReadOnly,
    /// A vertex that still has edges was deleted without asking for a detach delete.
    HasEdges,
    /// The transaction can no longer be used: it was rolled back after an earlier
    /// error of one of its operations. [`Error::is_retryable`] is true when that error
    /// was a [`ErrorKind::Conflict`], so a retry loop that checks only `commit()`
    /// learns that running the transaction again may succeed.
    Aborted,
    /// The backend does not offer this operation; its `Capabilities` say so.
    Unsupported,
    /// A file failed its checksum or does not parse. The message names file and offset.
    Corrupt,
    /// An operating-system I/O error.
    Io,
    /// The data directory is in use by another process.
    Locked,
    /// A durability write failed earlier; the engine refuses further writes until it is
    /// reopened (reopening runs recovery, which restores the last durable state).
    Poisoned,
    /// A bounded wait ran out because something else holds what is needed (for example
    /// a snapshot that blocks new transactions).
    Blocked,
    /// A bounded wait ran out.
    TimedOut,
}

impl ErrorKind {
    /// A short, stable, human-readable name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Conflict => "conflict",
            ErrorKind::ConstraintViolation => "constraint violation",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::ReadOnly => "read-only transaction",
            ErrorKind::HasEdges => "vertex has edges",
            ErrorKind::Aborted => "transaction aborted",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Corrupt => "corrupt data",
            ErrorKind::Io => "i/o error",
            ErrorKind::Locked => "data directory locked",
            ErrorKind::Poisoned => "engine poisoned",
            ErrorKind::Blocked => "blocked",
            ErrorKind::TimedOut => "timed out",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every fallible operation of the contract: a kind to match on, a
/// message for people, and the underlying error where there is one.
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// For `Aborted`: the transaction was rolled back by a conflict.
    after_conflict: bool,
    source: Option<Source>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            after_conflict: false,
            source: None,
        }
    }

    /// Attaches the underlying error, kept for [`std::error::Error::source`].
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind, to match on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for errors after which running the same transaction again may succeed:
    /// a [`ErrorKind::Conflict`], and [`ErrorKind::Aborted`] from a transaction that a
    /// conflict rolled back.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Conflict || (self.kind == ErrorKind::Aborted && self.after_conflict)
    }

    /// An [`ErrorKind::Aborted`] error of a transaction an earlier error rolled back;
    /// `after_conflict` says that error was a conflict (then it is retryable).
    pub fn aborted(message: impl Into<String>, after_conflict: bool) -> Self {
        let mut e = Self::new(ErrorKind::Aborted, message);
        e.after_conflict = after_conflict;
        e
    }

    /// A [`ErrorKind::NotFound`] error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// An [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// An [`ErrorKind::Unsupported`] error naming the operation.
    pub fn unsupported(operation: &str) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            format!("{operation} is not supported by this backend"),
        )
    }

    /// An [`ErrorKind::Conflict`] error.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// An [`ErrorKind::Corrupt`] error.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(source) = &self.source {
            // Most messages already end with the source's text ("cannot write x:
            // {e}"); saying it twice helps no one.
            let text = source.to_string();
            let said = self.message.contains(&text)
                || source
                    .downcast_ref::<Error>()
                    .is_some_and(|inner| self.message.contains(&inner.message));
            if !said {
                write!(f, " ({text})")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.kind).field("message", &self.message);
        if let Some(source) = &self.source {
            s.field("source", source);
        }
        s.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, e.to_string()).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conflicts_and_what_they_aborted_are_retryable() {
        assert!(Error::conflict("x").is_retryable());
        assert!(Error::aborted("x", true).is_retryable());
        assert!(!Error::aborted("x", false).is_retryable());
        assert_eq!(Error::aborted("x", true).kind(), ErrorKind::Aborted);
        assert!(!Error::not_found("x").is_retryable());
        assert!(!Error::new(ErrorKind::Poisoned, "x").is_retryable());
    }

    #[test]
    fn display_names_kind_message_and_source() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::from(io);
        assert_eq!(e.kind(), ErrorKind::Io);
        let shown = e.to_string();
        assert!(shown.starts_with("i/o error: disk on fire"), "{shown}");
        assert!(std::error::Error::source(&e).is_some());
        // The source's text is said once, whether the message carries it or not.
        assert_eq!(shown, "i/o error: disk on fire");
        let e =
            Error::new(ErrorKind::Io, "cannot write w").with_source(std::io::Error::other("full"));
        assert_eq!(e.to_string(), "i/o error: cannot write w (full)");
        // An error of ours as the source: its message, not its kind, is what a
        // wrapping message repeats.
        let inner = Error::new(ErrorKind::Io, "commit failed: full");
        let outer =
            Error::new(ErrorKind::Poisoned, "refused: commit failed: full").with_source(inner);
        assert_eq!(
            outer.to_string(),
            "engine poisoned: refused: commit failed: full"
        );
    }
}
