//! The durable part of an engine with a data directory: WAL writer, snapshot
//! numbering, retention and the deletion gate.

use std::sync::atomic::AtomicU64;

use durability::snapshot::read_snapshot_header;
use durability::wal::read_segment_header;
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
        let mut out = Vec::new();
        for s in self.dir.list()?.snapshots {
            let h = read_snapshot_header(&s.path)?;
            let size = std::fs::metadata(&s.path).map_or(0, |m| m.len());
            out.push(SnapshotInfo {
                path: s.path,
                commit_timestamp: h.commit_ts,
                created_at: h.created_at,
                size_bytes: size,
            });
        }
        Ok(out)
    }

    /// Bytes of snapshots and WAL on disk.
    pub(crate) fn disk_bytes(&self) -> Result<u64> {
        let l = self.dir.list()?;
        Ok(l.snapshots
            .iter()
            .map(|s| &s.path)
            .chain(l.segments.iter().map(|s| &s.path))
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum())
    }

    /// Deletes (or, while locked, queues) the snapshots beyond the retention count and
    /// the WAL segments the oldest kept snapshot makes unnecessary.
    pub(crate) fn apply_retention(&self) -> Result<()> {
        let listing = self.dir.list()?;
        let mut segments = Vec::new();
        for s in listing.segments {
            match read_segment_header(&s.path) {
                Ok(h) => segments.push((s, h.first_ts)),
                // A segment we cannot read stops WAL deletion at that point.
                Err(_) => break,
            }
        }
        let doomed = durability::retention::plan(
            &listing.snapshots,
            &segments,
            self.config.snapshot_retention_count(),
        );
        self.gate.delete(doomed)
    }
}
