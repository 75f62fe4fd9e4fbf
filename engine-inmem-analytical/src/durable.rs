//! The durable part of an engine with a data directory: the directory and its
//! process lock, snapshot numbering, retention and the deletion gate.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use durability::{DataDir, DatabaseId, DeletionGate, FileLayer};
use engine_api::{DurabilityConfig, RecoveryReport, Result, SnapshotInfo};

pub(crate) struct Durable {
    /// What the open that created this engine loaded.
    pub(crate) recovery: RecoveryReport,
    pub(crate) dir: DataDir,
    pub(crate) config: DurabilityConfig,
    pub(crate) database: DatabaseId,
    pub(crate) deletions: DeletionGate,
    /// The sequence number of the next snapshot.
    pub(crate) snapshot_seq: AtomicU64,
    /// A test hook run halfway through every snapshot.
    pub(crate) snapshot_midpoint: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Threads that encode a snapshot.
    pub(crate) snapshot_threads: usize,
    /// The file layer snapshots are written through.
    pub(crate) files: Arc<dyn FileLayer>,
}

impl Durable {
    /// The snapshots, oldest first; one whose header is damaged fails the listing.
    pub(crate) fn list_snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        durability::snapshot::snapshot_infos(&self.dir.list()?.snapshots)
    }

    pub(crate) fn disk_bytes(&self) -> Result<u64> {
        self.dir.bytes_used()
    }

    /// Deletes (or, while locked, queues) the snapshots beyond the retention count,
    /// and log segments another mode left that the oldest kept snapshot covers.
    pub(crate) fn apply_retention(&self) -> Result<()> {
        durability::retention::apply(
            &self.dir,
            &self.deletions,
            self.config.snapshot_retention_count(),
        )
    }
}
