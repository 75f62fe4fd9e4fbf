//! What a backend promises, as data the conformance suite and callers can read.

/// The storage mode a backend implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageMode {
    /// Data in memory, MVCC, WAL and snapshots.
    InMemoryTransactional,
    /// Data in memory, no isolation, no WAL; built for bulk import.
    InMemoryAnalytical,
    /// Data in RocksDB on disk, snapshot isolation.
    OnDiskTransactional,
}

/// Transaction isolation levels, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IsolationLevel {
    /// Sees other transactions' uncommitted writes.
    ReadUncommitted,
    /// Each read sees the newest committed state.
    ReadCommitted,
    /// Reads see the committed state as of the transaction's start plus its own
    /// writes; concurrent writes of the same object abort the second writer.
    SnapshotIsolation,
}

/// What a backend offers. Every field is a promise the conformance suite tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The storage mode.
    pub storage_mode: StorageMode,
    /// Isolation levels `begin` accepts; empty when the backend gives no isolation.
    pub isolation_levels: Vec<IsolationLevel>,
    /// The level used when [`crate::TxnOptions`] names none (meaningless when
    /// `isolation_levels` is empty).
    pub default_isolation: IsolationLevel,
    /// `rollback` (and dropping a transaction) undoes its writes.
    pub rollback: bool,
    /// Concurrent writes of one object are detected and the later writer gets
    /// [`crate::ErrorKind::Conflict`].
    pub write_conflict_detection: bool,
    /// Committed transactions are logged to a write-ahead log before they are
    /// acknowledged (per the sync mode).
    pub wal: bool,
    /// Snapshots are written periodically.
    pub periodic_snapshots: bool,
    /// `create_snapshot` works.
    pub manual_snapshots: bool,
    /// While a snapshot is written, new transactions wait in `begin`.
    pub snapshot_blocks_new_transactions: bool,
    /// The data lives on disk (memory holds a cache only).
    pub data_on_disk: bool,
    /// Data survives closing and reopening the engine on the same directory.
    pub persistent: bool,
    /// `lock_data_directory` / `unlock_data_directory` work.
    pub data_directory_lock: bool,
    /// Indexes can be created.
    pub indexes: bool,
    /// Constraints can be created.
    pub constraints: bool,
    /// Triggers can be stored.
    pub triggers: bool,
}

impl Capabilities {
    /// True if `level` is accepted by `begin`.
    pub fn supports_isolation(&self, level: IsolationLevel) -> bool {
        self.isolation_levels.contains(&level)
    }
}
