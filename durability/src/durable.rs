//! The durable part of an in-memory engine with a data directory: the directory
//! and its process lock, the database id, what the open recovered, snapshot
//! numbering and writing, retention, and the deletion gate behind
//! `lock_data_directory`. Both in-memory backends hold one [`Durable`] and forward
//! their durability operations to it; the WAL (IN_MEMORY_TRANSACTIONAL only) stays
//! beside it in the engine.
//!
//! Writing a snapshot is one flow for both: the engine fixes a consistent view
//! (a read transaction, or a closed begin gate), hands it to
//! [`Durable::write_snapshot`] as an [`ImageSource`], releases the view, and calls
//! [`Durable::snapshot_written`] (log line and retention).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use engine_api::{
    DataDirectoryLease, DurabilityConfig, LockChange, LockStatus, RecoveryReport, Result,
    SnapshotInfo,
};
use parking_lot::{Mutex, MutexGuard};

use crate::snapshot::{BlockEncoder, Items, SnapshotSink, SnapshotWriter};
use crate::{DataDir, DatabaseId, DeletionGate, FileLayer};

/// Ids per range a snapshot thread encodes at once (the file holds ranges in order;
/// a thread runs at most two ranges ahead of it).
pub const SNAPSHOT_PART: u64 = 16 * 1024;

/// How an engine writes its snapshot files.
#[derive(Clone)]
pub struct SnapshotWriting {
    /// Threads that encode vertices and edges (1: the calling thread only).
    pub threads: usize,
    /// A test hook run between the vertices and the edges of every snapshot.
    pub midpoint: Option<Arc<dyn Fn() + Send + Sync>>,
    /// The file layer snapshots are written through.
    pub files: Arc<dyn FileLayer>,
}

impl std::fmt::Debug for SnapshotWriting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriting")
            .field("threads", &self.threads)
            .field("midpoint", &self.midpoint.is_some())
            .finish_non_exhaustive()
    }
}

/// A consistent view of an in-memory engine, as a snapshot file takes it: first the
/// preamble (dictionaries, schema, id counters), then vertex and edge id ranges,
/// each encoded by whichever snapshot thread takes it.
pub trait ImageSource: Sync {
    /// Hands dictionaries, schema and id counters to `sink`; returns the vertex and
    /// edge id bounds the ranges cover.
    fn preamble(&self, sink: &mut dyn SnapshotSink) -> Result<(u64, u64)>;
    /// Encodes the vertices this view sees among `ids`, in id order.
    fn vertices(&self, ids: Range<u64>, enc: &mut BlockEncoder) -> Result<()>;
    /// Encodes the edges this view sees among `ids`, in id order.
    fn edges(&self, ids: Range<u64>, enc: &mut BlockEncoder) -> Result<()>;
}

/// See the [module docs](self).
pub struct Durable {
    recovery: RecoveryReport,
    dir: DataDir,
    config: DurabilityConfig,
    database: DatabaseId,
    deletions: DeletionGate,
    /// The sequence number of the next snapshot.
    snapshot_seq: AtomicU64,
    /// One snapshot at a time: a second request waits for the first to finish.
    one_snapshot: Mutex<()>,
    writing: SnapshotWriting,
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable")
            .field("dir", &self.dir.root())
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Durable {
    /// `Ok` when an in-memory engine's import may go ahead: an import builds a
    /// memory-only engine, so a configured data directory is `InvalidInput` (a
    /// database with one starts from a snapshot in it instead).
    pub fn refuse_import_into(data_directory: Option<&std::path::Path>) -> Result<()> {
        match data_directory {
            Some(dir) => Err(engine_api::Error::invalid_input(format!(
                "import builds a memory-only engine; {} is a data directory: put a snapshot into it and open it instead",
                dir.display()
            ))),
            None => Ok(()),
        }
    }

    /// The durable part of an engine that opened `dir` (holding its process lock) as
    /// database `database`, recovering what `recovery` says; its next snapshot is
    /// number `next_snapshot_seq`.
    pub fn new(
        dir: DataDir,
        config: DurabilityConfig,
        database: DatabaseId,
        recovery: RecoveryReport,
        next_snapshot_seq: u64,
        writing: SnapshotWriting,
    ) -> Self {
        Durable {
            recovery,
            dir,
            config,
            database,
            deletions: DeletionGate::new(),
            snapshot_seq: AtomicU64::new(next_snapshot_seq),
            one_snapshot: Mutex::new(()),
            writing,
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &DataDir {
        &self.dir
    }

    /// The durability settings the engine was opened with.
    pub fn config(&self) -> &DurabilityConfig {
        &self.config
    }

    /// The database's id, which every file it writes carries.
    pub fn database(&self) -> DatabaseId {
        self.database
    }

    /// What the open recovered from.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The snapshots, oldest first; one whose header is damaged fails the listing
    /// (`Corrupt`, naming it) rather than being left out.
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        crate::snapshot::snapshot_infos(&self.dir.list()?.snapshots)
    }

    /// Bytes of snapshots and WAL on disk.
    pub fn disk_bytes(&self) -> Result<u64> {
        self.dir.bytes_used()
    }

    /// Deletes (or, while the directory is locked, queues) the snapshots beyond the
    /// retention count and the WAL segments the oldest kept snapshot covers; with
    /// the WAL archive on, moves them into it and prunes it to its window.
    pub fn apply_retention(&self) -> Result<()> {
        crate::retention::apply(
            &self.dir,
            &self.deletions,
            self.config.get_snapshot_retention(),
            self.config.get_wal_archive().as_ref(),
        )
    }

    /// `lock_data_directory`: deletions wait until unlocked.
    pub fn lock(&self) -> LockChange {
        self.deletions.lock()
    }

    /// `unlock_data_directory`: runs the deletions that waited (unless a lease
    /// still holds the directory).
    pub fn unlock(&self) -> Result<LockChange> {
        self.deletions.unlock()
    }

    /// `data_directory_lease`: the directory stays locked until the lease drops.
    pub fn lease(&self) -> DataDirectoryLease {
        DataDirectoryLease::new(self.deletions.lease())
    }

    /// `data_directory_lock_status`.
    pub fn lock_status(&self) -> LockStatus {
        self.deletions.status()
    }

    /// Held while one snapshot is taken: a second one waits for it. (A backend whose
    /// snapshot already runs one at a time, under a bounded wait of its own, need
    /// not take it: IN_MEMORY_ANALYTICAL's pause does.)
    pub fn one_snapshot(&self) -> MutexGuard<'_, ()> {
        self.one_snapshot.lock()
    }

    /// Writes what `source` sees, the state at `commit_ts`, to the next snapshot
    /// file: the preamble, then vertices and edges on the configured threads
    /// ([`SNAPSHOT_PART`] ids a range). On an error nothing is left under a
    /// snapshot's name. The caller releases its view afterwards and then calls
    /// [`Durable::snapshot_written`].
    pub fn write_snapshot(&self, commit_ts: u64, source: &dyn ImageSource) -> Result<SnapshotInfo> {
        if let Some(point) = self.config.get_recover_until() {
            // The directory's newest snapshots and log hold commits after the point:
            // a snapshot of the earlier state among them would be loaded as the
            // newest by the next open, and the later commits lost.
            return Err(engine_api::Error::invalid_input(format!(
                "this engine was recovered to {point} of {}, which holds later commits: it writes no snapshot there; export its state into another directory instead (quiver restore --until does)",
                self.dir.root().display()
            )));
        }
        let seq = self.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let mut w = SnapshotWriter::create_with(
            &*self.writing.files,
            &self.dir.snapshots_dir(),
            seq,
            commit_ts,
            self.database,
        )?;
        match self.write_body(&mut w, source) {
            Ok(()) => w.finish(),
            Err(e) => {
                w.abandon();
                Err(e)
            }
        }
    }

    fn write_body(&self, w: &mut SnapshotWriter, source: &dyn ImageSource) -> Result<()> {
        let (vertex_end, edge_end) = source.preamble(w)?;
        let range = |part: u64, end: u64| part * SNAPSHOT_PART..end.min((part + 1) * SNAPSHOT_PART);
        let threads = self.writing.threads;
        w.write_parallel(
            Items::Vertices,
            vertex_end.div_ceil(SNAPSHOT_PART),
            threads,
            |part, enc| source.vertices(range(part, vertex_end), enc),
        )?;
        if let Some(hook) = &self.writing.midpoint {
            hook();
        }
        w.write_parallel(
            Items::Edges,
            edge_end.div_ceil(SNAPSHOT_PART),
            threads,
            |part, enc| source.edges(range(part, edge_end), enc),
        )
    }

    /// Logs a snapshot written since `started` and applies retention.
    pub fn snapshot_written(&self, info: &SnapshotInfo, started: Instant) -> Result<()> {
        tracing::info!(
            path = %info.path.display(),
            commit_ts = info.commit_timestamp,
            bytes = info.size_bytes,
            seconds = started.elapsed().as_secs_f64(),
            "snapshot written"
        );
        self.apply_retention()
    }
}
