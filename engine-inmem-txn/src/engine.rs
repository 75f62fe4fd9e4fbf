//! The engine: shared state, the commit clock, `begin`, statistics.
//!
//! # Locks
//! No lock is held for the duration of a transaction; each is held for one step.
//! - Per vertex and per edge: a `RwLock` over its state and delta chain, held while
//!   one read or write of that object runs. Readers never wait for a writer's
//!   transaction, only for at most one such step; writers of different objects never
//!   share a lock. At most one object lock is held at a time, except that a vertex lock
//!   is held while its label-index entry is updated (order: vertex, then label index).
//! - Per label: the set of vertex ids split into one set per registry shard, each under
//!   a `Mutex`: a writer takes its own thread's to insert one id; removal and scans take
//!   each in turn (a scan copies up to 256 ids of each at a time and merges them).
//! - Per shard of the running-transaction registry (16, a thread keeps to its own):
//!   a `Mutex` held to register or unregister a transaction, and one held to queue a
//!   commit for collection, take the collectable ones, or take an id from the shard's
//!   block. `begin` takes no shared lock.
//! - The commit clock (`Mutex`): held to publish a commit timestamp.
//! - Per index: a `RwLock` over its entries, held to insert or remove one entry (under
//!   the object's lock), to copy a lookup's candidates, or once at the end of a build
//!   to merge the entries it collected (about 20 ms per million entries measured).
//!   While a build collects, a `Mutex` beside it records removals (taken inside the
//!   `RwLock`).
//! - The schema catalog: read without a lock (replaced whole); schema operations run
//!   one at a time under their own `Mutex`, and a constraint's check of existing data
//!   holds the commit order.
//! - The name dictionaries: resolved without a lock from a published copy; a `Mutex`
//!   is held to intern a new name, and to resolve one interned since the last
//!   publication.
//! - The commit order (`Mutex`): held to check constraints, take a commit timestamp
//!   and (with a WAL) queue the record; a commit with nothing to wait for publishes
//!   inside it. With a data directory also the WAL writer's state (`Mutex`), held to
//!   queue a record or take a batch, never during a write or sync; and one snapshot at
//!   a time (`Mutex`).

use std::sync::Arc;

use engine_api::{
    Capabilities, ConstraintSpec, DataDirectoryLease, DatabaseId, EngineStats, ImageEngine,
    IndexInfo, IndexSpec, LockChange, LockStatus, ObserverId, RecoveryReport, Result,
    SharedObserver, SnapshotInfo, SnapshotSink, StorageEngine, TriggerPhase, TriggerSpec,
    TxnOptions,
};

use crate::background::{Collector, Periodic};
use crate::config::Config;
use crate::gc::GcReport;
use crate::inner::Inner;
use crate::txn::InMemoryTxn;
use durability::Durable;

/// The IN_MEMORY_TRANSACTIONAL engine. See the crate docs for the design.
pub struct InMemoryEngine {
    inner: Arc<Inner>,
    // Joined when dropped, before `inner`'s last reference goes away with them.
    _gc: Option<Collector>,
    _snapshots: Option<Periodic>,
}

impl std::fmt::Debug for InMemoryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryEngine")
            .field("objects", &self.inner.counts())
            .field(
                "data_directory",
                &self.inner.durable.as_ref().map(|d| d.dir().root()),
            )
            .finish_non_exhaustive()
    }
}

impl InMemoryEngine {
    /// Opens an engine: empty and memory-only without a data directory; with one,
    /// recovered from its snapshots and WAL (see the crate docs).
    ///
    /// Errors: `InvalidInput` for settings [`Config::check`] refuses, `Locked` if the
    /// data directory is in use, `Corrupt` if its files cannot be recovered (naming
    /// file and offset), `Io` for operating-system failures.
    pub fn open(config: Config) -> Result<Self> {
        config.check()?;
        let inner = crate::recovery::open_inner(&config)?;
        Self::start(inner, &config)
    }

    fn start(inner: Inner, config: &Config) -> Result<Self> {
        let inner = Arc::new(inner);
        let gc = match config.get_gc_interval() {
            Some(interval) => Some(Collector::spawn(&inner, interval)?),
            None => None,
        };
        let snapshots = match (
            &inner.durable,
            config.get_durability().get_snapshot_interval(),
        ) {
            (Some(_), Some(interval)) => {
                Some(Periodic::spawn("quiver-snapshot", &inner, interval, |i| {
                    if let Err(e) = crate::snapshot::create(i) {
                        tracing::error!(error = %e, "periodic snapshot failed");
                    }
                })?)
            }
            _ => None,
        };
        Ok(InMemoryEngine {
            inner,
            _gc: gc,
            _snapshots: snapshots,
        })
    }

    /// Drops every old version no running transaction can see, now, and reports what
    /// it did. The background collector and every commit do this too; call it to
    /// return memory at once (for example after a long reader ended). It also frees
    /// the spent version records the calling thread kept for its next writes (a
    /// thread that writes keeps up to 65 536 of them, 4 MiB, so a bulk load does not
    /// go through the allocator for each).
    pub fn collect_garbage(&self) -> GcReport {
        let report = self.inner.collect();
        crate::mvcc::free_spare_deltas();
        report
    }

    /// Starts a new WAL segment with the next record (a snapshot does this too), so
    /// the records from now on are in files of their own: an incremental backup
    /// taken later copies those and not the older commits in the current segment.
    /// Does nothing without a WAL.
    pub fn start_a_new_wal_segment(&self) {
        if let Some(wal) = &self.inner.clock.wal {
            wal.rotate();
        }
    }
}

/// Imports are memory-only (`Config::data_directory` unset): a database with a
/// data directory starts from a snapshot in it instead.
impl ImageEngine for InMemoryEngine {
    type Config = Config;

    /// Builds a memory-only engine from a database image: `produce` hands the image
    /// to the sink it is given (for example another engine's `export`, or
    /// `durability::snapshot::read_snapshot`) and returns the image's commit
    /// timestamp, which this engine's commits continue from. Ids, names, indexes,
    /// constraints and triggers are kept as the image has them. This is how a
    /// database switches into this mode without a file.
    ///
    /// Errors: `InvalidInput` if `config` names a data directory (open that with
    /// [`InMemoryEngine::open`]); whatever `produce` returns; `Corrupt` for an image
    /// that contradicts itself; `ConstraintViolation` if the data breaks one of its
    /// constraints.
    fn import(
        config: Config,
        produce: impl FnOnce(&mut dyn SnapshotSink) -> Result<u64>,
    ) -> Result<Self> {
        config.check()?;
        Durable::refuse_import_into(config.get_data_directory())?;
        let inner = crate::recovery::load_image(&config, produce)?;
        InMemoryEngine::start(inner, &config)
    }

    /// Hands the newest committed state to `sink` as an image in snapshot order
    /// (names, schema, id counters, vertices, edges; ids as they are) and returns its
    /// commit timestamp. Writers go on meanwhile; the image is one consistent view.
    fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        crate::snapshot::export(&self.inner, sink)
    }

    /// The database's id, which every file in its data directory carries; `None`
    /// for a memory-only engine.
    fn database_id(&self) -> Option<DatabaseId> {
        self.inner.durable.as_ref().map(Durable::database)
    }

    /// Closes without the snapshot `close` writes when snapshots on exit are on
    /// (for a caller that has just written one); the WAL is flushed as by `close`.
    fn close_without_snapshot(self) -> Result<()> {
        if let Some(wal) = &self.inner.clock.wal {
            wal.flush()?;
        }
        Ok(())
    }
}

impl StorageEngine for InMemoryEngine {
    type Txn<'e> = InMemoryTxn<'e>;

    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn begin(&self, options: TxnOptions) -> Result<InMemoryTxn<'_>> {
        InMemoryTxn::begin(&self.inner, options)
    }

    fn stats(&self) -> Result<EngineStats> {
        Ok(EngineStats {
            vertices: self.inner.counts().0,
            edges: self.inner.counts().1,
            disk_bytes: match &self.inner.durable {
                Some(d) => Some(d.disk_bytes()?),
                None => None,
            },
        })
    }

    fn close(self) -> Result<()> {
        if let Some(d) = &self.inner.durable
            && d.config().get_snapshot_on_exit()
            && self.inner.clock.poisoned().is_none()
        {
            crate::snapshot::create(&self.inner)?;
        }
        if let Some(wal) = &self.inner.clock.wal {
            wal.flush()?;
        }
        Ok(())
    }

    fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        let i = &self.inner;
        i.schema.create_index(&i.graph, &i.clock, spec)
    }

    fn drop_index(&self, spec: &IndexSpec) -> Result<()> {
        let i = &self.inner;
        i.schema.drop_index(&i.clock, spec)
    }

    fn indexes(&self) -> Result<Vec<IndexInfo>> {
        self.inner.schema.index_infos(&self.inner.graph)
    }

    fn create_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        let i = &self.inner;
        i.schema.create_constraint(&i.graph, &i.clock, spec)
    }

    fn drop_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        self.inner.schema.drop_constraint(&self.inner.clock, spec)
    }

    fn constraints(&self) -> Result<Vec<ConstraintSpec>> {
        Ok(self.inner.schema.constraint_specs())
    }

    fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        self.inner.schema.create_trigger(&self.inner.clock, spec)
    }

    fn drop_trigger(&self, name: &str) -> Result<()> {
        self.inner.schema.drop_trigger(&self.inner.clock, name)
    }

    fn triggers(&self) -> Result<Vec<TriggerSpec>> {
        Ok(self
            .inner
            .schema
            .catalog
            .load()
            .triggers
            .values()
            .cloned()
            .collect())
    }

    fn add_commit_observer(
        &self,
        phase: TriggerPhase,
        observer: SharedObserver,
    ) -> Result<ObserverId> {
        Ok(self.inner.observers.add(phase, observer))
    }

    fn remove_commit_observer(&self, id: ObserverId) -> Result<()> {
        self.inner.observers.remove(id)
    }

    fn create_snapshot(&self) -> Result<SnapshotInfo> {
        crate::snapshot::create(&self.inner)
    }

    fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        self.inner.durable()?.snapshots()
    }

    fn recovery_report(&self) -> Result<RecoveryReport> {
        Ok(self.inner.durable()?.recovery().clone())
    }

    fn lock_data_directory(&self) -> Result<LockChange> {
        Ok(self.inner.durable()?.lock())
    }

    fn data_directory_lease(&self) -> Result<DataDirectoryLease> {
        Ok(self.inner.durable()?.lease())
    }

    fn unlock_data_directory(&self) -> Result<LockChange> {
        self.inner.durable()?.unlock()
    }

    fn data_directory_lock_status(&self) -> Result<LockStatus> {
        Ok(self.inner.durable()?.lock_status())
    }
}
