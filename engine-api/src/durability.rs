//! Types of the durability and operations calls.

use std::path::PathBuf;
use std::time::SystemTime;

/// A snapshot on disk, as listed by [`crate::StorageEngine::snapshots`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Where the snapshot file is.
    pub path: PathBuf,
    /// The commit timestamp whose state it holds.
    pub commit_timestamp: u64,
    /// When it was written.
    pub created_at: SystemTime,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// Whether the data directory is locked against deletions (for a backup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockStatus {
    /// Deletions are deferred until unlock.
    Locked,
    /// Deletions happen as retention decides.
    Unlocked,
}

/// What a lock or unlock call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockChange {
    /// The status changed.
    Changed,
    /// The directory already had the requested status; nothing changed.
    Unchanged,
}

/// Counts and sizes an engine reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    /// Vertices in the newest committed state.
    pub vertices: u64,
    /// Edges in the newest committed state.
    pub edges: u64,
    /// Bytes on disk used by the data directory, where the backend measures it.
    pub disk_bytes: Option<u64>,
}
