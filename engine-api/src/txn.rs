//! Options and results of transactions.

use crate::capabilities::IsolationLevel;

/// How a transaction is started.
///
/// ```
/// use engine_api::{IsolationLevel, TxnOptions};
/// let opts = TxnOptions::new().isolation(IsolationLevel::ReadCommitted).read_only();
/// assert!(opts.is_read_only());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxnOptions {
    isolation: Option<IsolationLevel>,
    read_only: bool,
}

impl TxnOptions {
    /// Read-write, at the backend's default isolation level.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for `level`. A level the backend does not list in its capabilities makes
    /// `begin` fail with [`crate::ErrorKind::Unsupported`]. Default: the backend's
    /// `default_isolation`.
    #[must_use]
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// Makes the transaction read-only: every write returns
    /// [`crate::ErrorKind::ReadOnly`]. Default: read-write.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The level asked for, if any.
    pub fn requested_isolation(&self) -> Option<IsolationLevel> {
        self.isolation
    }

    /// True for read-only transactions.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }
}

/// What a successful commit reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit timestamp: increases with every commit that wrote something. A
    /// transaction that wrote nothing reports the timestamp its reads saw.
    pub commit_timestamp: u64,
}
