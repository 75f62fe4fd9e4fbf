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

/// What a backend offers. Each field says where its promise is tested: most by the
/// conformance suite on every backend; the rest are descriptive, and say so.
///
/// A backend starts from [`Capabilities::none`] and sets what it offers: a field
/// added later (the struct is `#[non_exhaustive]`) then reads as not offered by a
/// backend that predates it, and the backend still builds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The storage mode (descriptive: which of the three modes the backend implements).
    pub storage_mode: StorageMode,
    /// Isolation levels `begin` accepts; empty when the backend gives no isolation.
    /// Tested: `capabilities` (begin accepts exactly these) and `isolation` (each
    /// level prevents what it forbids and shows what it permits).
    pub isolation_levels: Vec<IsolationLevel>,
    /// The level used when [`crate::TxnOptions`] names none (meaningless when
    /// `isolation_levels` is empty). Tested: `capabilities`.
    pub default_isolation: IsolationLevel,
    /// `rollback` (and dropping a transaction) undoes its writes. Tested:
    /// `capabilities`, `transactions`.
    pub rollback: bool,
    /// Concurrent writes of one object are detected and the later writer gets
    /// [`crate::ErrorKind::Conflict`]. Tested: `capabilities`, `conflicts`.
    pub write_conflict_detection: bool,
    /// Committed transactions are logged to a write-ahead log before they are
    /// acknowledged (per the sync mode). Tested: `durability` (a crash keeps every
    /// commit, a torn log tail keeps the commits before it), and each backend's SIGKILL
    /// crash test and sync counts.
    pub wal: bool,
    /// Snapshots are written periodically. Tested by each backend that declares it
    /// (the interval is its configuration, which the suite does not choose).
    pub periodic_snapshots: bool,
    /// `create_snapshot` works. Tested: `capabilities`, `durability`.
    pub manual_snapshots: bool,
    /// While a snapshot is written, new transactions wait in `begin` (bounded; then
    /// `Blocked`). Tested by the backend that declares it.
    pub snapshot_blocks_new_transactions: bool,
    /// The data lives on disk, memory holds a cache only (descriptive; the suite
    /// uses it to know that recovery does not read snapshots).
    pub data_on_disk: bool,
    /// Data survives closing and reopening the engine on the same directory.
    /// Tested: `durability` (and a backend that is not persistent starts empty).
    pub persistent: bool,
    /// `lock_data_directory`, `unlock_data_directory` and `data_directory_lease`
    /// work. Tested: `capabilities`, `durability`.
    pub data_directory_lock: bool,
    /// Indexes can be created. Tested: `indexes`.
    pub indexes: bool,
    /// Constraints can be created. Tested: `constraints`.
    pub constraints: bool,
    /// Triggers can be stored and commit observers registered. Tested: `triggers`.
    pub triggers: bool,
}

impl Capabilities {
    /// A backend of `storage_mode` that offers nothing: no isolation level (the
    /// default level is then meaningless and set to snapshot isolation), no rollback,
    /// no conflict detection, no WAL, no snapshots, no persistence, no directory
    /// lock, no indexes, constraints or triggers.
    pub fn none(storage_mode: StorageMode) -> Self {
        Capabilities {
            storage_mode,
            isolation_levels: Vec::new(),
            default_isolation: IsolationLevel::SnapshotIsolation,
            rollback: false,
            write_conflict_detection: false,
            wal: false,
            periodic_snapshots: false,
            manual_snapshots: false,
            snapshot_blocks_new_transactions: false,
            data_on_disk: false,
            persistent: false,
            data_directory_lock: false,
            indexes: false,
            constraints: false,
            triggers: false,
        }
    }

    /// True if `level` is accepted by `begin`.
    pub fn supports_isolation(&self, level: IsolationLevel) -> bool {
        self.isolation_levels.contains(&level)
    }
}
