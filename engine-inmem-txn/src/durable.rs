//! The durable part of an engine with a data directory: WAL writer, snapshot
//! numbering, retention and the deletion gate.

use std::sync::atomic::AtomicU64;

use durability::{DataDir, DatabaseId, DeletionGate, WalWriter};
use engine_api::{DurabilityConfig, Error, RecoveryReport, Result, SnapshotInfo};
use parking_lot::Mutex;

use crate::engine::Inner;

pub(crate) struct Durable {
    /// What the open that created this engine recovered from.
    pub(crate) recovery: RecoveryReport,
    pub(crate) dir: DataDir,
    pub(crate) config: DurabilityConfig,
    pub(crate) database: DatabaseId,
    pub(crate) wal: Option<WalWriter>,
    pub(crate) gate: DeletionGate,
    /// The sequence number of the next snapshot.
    pub(crate) snapshot_seq: AtomicU64,
    /// One snapshot at a time: a second request waits for the first to finish.
    pub(crate) snapshot_lock: Mutex<()>,
    /// A test hook run halfway through every snapshot.
    pub(crate) snapshot_midpoint: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
    /// Threads that encode a snapshot.
    pub(crate) snapshot_threads: usize,
    /// The file layer snapshots are written through (the WAL's).
    pub(crate) files: std::sync::Arc<dyn durability::FileLayer>,
}

impl Inner {
    pub(crate) fn durable(&self) -> Result<&Durable> {
        self.durable.as_ref().ok_or_else(|| {
            Error::unsupported("a durability operation on an engine without a data directory")
        })
    }
}

impl Durable {
    /// The snapshots, oldest first; one whose header is damaged fails the listing
    /// (`Corrupt`, naming it) rather than being left out.
    pub(crate) fn list_snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        durability::snapshot::snapshot_infos(&self.dir.list()?.snapshots)
    }

    /// Bytes of snapshots and WAL on disk.
    pub(crate) fn disk_bytes(&self) -> Result<u64> {
        self.dir.bytes_used()
    }

    /// Deletes (or, while locked, queues) the snapshots beyond the retention count and
    /// the WAL segments the oldest kept snapshot makes unnecessary.
    pub(crate) fn apply_retention(&self) -> Result<()> {
        durability::retention::apply(
            &self.dir,
            &self.gate,
            self.config.snapshot_retention_count(),
        )
    }
}
