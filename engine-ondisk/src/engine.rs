//! The engine: its state, transactions' start, commit timestamps, and the
//! durability operations (opening is module `recovery`, RocksDB's options module
//! `rocks`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use durability::{DataDir, DeletionGate};
use engine_api::kit::ObserverRegistry;
use engine_api::{
    Capabilities, ConstraintSpec, DataDirectoryLease, DatabaseId, EngineStats, Error, ErrorKind,
    ImageEngine, IndexInfo, IndexSpec, IsolationLevel, LockChange, LockStatus, ObserverId,
    RecoveryReport, Result, SharedObserver, SnapshotInfo, SnapshotSink, StorageEngine, StorageMode,
    SyncMode, TriggerPhase, TriggerSpec, TxnOptions,
};
use parking_lot::Mutex;
use rocksdb::{Cache, ColumnFamily, DB, Options, WriteOptions, statistics::Ticker};

use crate::config::Config;
use crate::counts::Counts;
use crate::keys::{ALL_CFS, rocks};
use crate::metadata::{Dictionary, IdAllocator, IdKind, NameKind};
use crate::rocks::{dir_bytes, rewrite_everything};
use crate::schema::Schema;
use crate::txn::OnDiskTxn;

pub(crate) const ROCKSDB_DIR: &str = "rocksdb";
/// Present in `rocksdb/` from before a database's creation starts until it is marked
/// ready: an open that finds it redoes the creation, whatever RocksDB had written (a
/// kill may come before RocksDB's CURRENT file exists, when the files alone cannot be
/// told from a database that lost it).
pub(crate) const CREATING: &str = ".quiver.creating";

/// The ON_DISK_TRANSACTIONAL engine: the graph in RocksDB, snapshot isolation through
/// the engine's own lock table over a plain RocksDB `DB` (see the crate docs).
///
/// Dropping it without [`StorageEngine::close`] is a crash as far as durability
/// goes: every commit acknowledged under the configured sync mode survives it.
pub struct OnDiskEngine {
    // Declared first so it is dropped (closed) before the directory lock is released.
    pub(crate) db: DB,
    /// Which transaction writes which object (see [`crate::txn::locks`]).
    pub(crate) locks: crate::txn::locks::LockTable,
    /// Vertices known to exist, for new edges' endpoint checks.
    pub(crate) known: crate::txn::known::KnownVertices,
    pub(crate) names: Dictionary,
    pub(crate) ids: IdAllocator,
    pub(crate) schema: Schema,
    pub(crate) counts: Counts,
    pub(crate) observers: ObserverRegistry,
    /// Held by commits with after-commit observers from commit to delivery, so those
    /// observers see commits in commit order.
    pub(crate) delivery: Mutex<()>,
    pub(crate) clock: AtomicU64,
    /// What commit timestamps add to RocksDB's sequence numbers (meta key `clock`).
    pub(crate) clock_offset: u64,
    pub(crate) commits: AtomicU64,
    pub(crate) poisoned: AtomicBool,
    pub(crate) config: Config,
    pub(crate) caps: Capabilities,
    pub(crate) database: DatabaseId,
    pub(crate) snapshot_lock: Mutex<()>,
    pub(crate) deletions: DeletionGate,
    /// What the open did: the snapshot a new database was restored from, if any.
    pub(crate) recovery: RecoveryReport,
    /// The options RocksDB was opened with; they hold its statistics.
    pub(crate) options: Options,
    /// The block cache every column family shares.
    pub(crate) cache: Cache,
    /// Commits' write options: synced as the sync mode says.
    pub(crate) write: WriteOptions,
    pub(crate) dir: DataDir,
}

impl std::fmt::Debug for OnDiskEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnDiskEngine")
            .field("dir", &self.dir.root())
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// A column family handle; every one is opened with the database.
pub(crate) fn cf<'d>(db: &'d DB, name: &str) -> Result<&'d ColumnFamily> {
    db.cf_handle(name).ok_or_else(|| {
        Error::new(
            ErrorKind::Corrupt,
            format!("RocksDB column family {name} is missing"),
        )
    })
}

pub(crate) fn capabilities() -> Capabilities {
    let mut c = Capabilities::none(StorageMode::OnDiskTransactional);
    c.isolation_levels = vec![IsolationLevel::SnapshotIsolation];
    c.default_isolation = IsolationLevel::SnapshotIsolation;
    c.rollback = true;
    c.write_conflict_detection = true;
    c.wal = true;
    c.periodic_snapshots = false;
    c.manual_snapshots = true;
    c.snapshot_blocks_new_transactions = false;
    c.data_on_disk = true;
    c.persistent = true;
    c.data_directory_lock = true;
    c.indexes = true;
    c.constraints = true;
    c.triggers = true;
    c
}

impl OnDiskEngine {
    /// How many times RocksDB has synced its WAL since this engine opened (the
    /// `rocksdb.wal.synced` ticker): one per group of concurrent `EveryCommit` commits,
    /// one per n commits with `EveryNCommits(n)`, none per commit with `Off`. `None`
    /// unless [`Config::statistics`] is on.
    pub fn wal_syncs(&self) -> Option<u64> {
        self.config
            .get_statistics()
            .then(|| self.options.get_ticker_count(Ticker::WalFileSynced))
    }

    /// How many keys RocksDB has read by point lookup since this engine opened (the
    /// `rocksdb.number.keys.read` ticker): record reads by id, and the endpoint
    /// reads of new edges that the table of known vertices does not spare. `None`
    /// unless [`Config::statistics`] is on.
    pub fn point_reads(&self) -> Option<u64> {
        self.config
            .get_statistics()
            .then(|| self.options.get_ticker_count(Ticker::NumberKeysRead))
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.root()
    }

    /// Writes every column family's memtable to SST files and waits for the
    /// flushes: reads afterwards come from SST files through the block cache, as most
    /// of a long-running database's reads do (compactions RocksDB schedules after the
    /// flushes run in the background, as they always do). For maintenance and
    /// measurement; writers may go on (their writes fill the memtables again).
    ///
    /// Errors: `Io` from RocksDB.
    pub fn flush(&self) -> Result<()> {
        for name in ALL_CFS {
            self.db
                .flush_cf(self.cf(name)?)
                .map_err(|e| rocks("cannot flush a column family", e))?;
        }
        Ok(())
    }

    /// [`Self::flush`], then rewrites every column family over its whole key range
    /// into its bottommost level and waits for it (files whose key ranges do not
    /// overlap are rewritten too, not only moved down): reads afterwards meet each
    /// family's data in as few files as RocksDB makes of it, as [`crate::compact_closed`]
    /// leaves them, without a close. For maintenance and measurement; writers may go
    /// on.
    ///
    /// Errors: `Io` from RocksDB's flush.
    pub fn compact(&self) -> Result<()> {
        self.flush()?;
        for name in ALL_CFS {
            self.db.compact_range_cf_opt(
                self.cf(name)?,
                None::<&[u8]>,
                None::<&[u8]>,
                &rewrite_everything(),
            );
        }
        Ok(())
    }

    /// Sets the block cache's capacity in bytes (shrinking evicts blocks at once);
    /// the configured size ([`Config::get_block_cache_bytes`]) holds until then and again after
    /// a reopen.
    pub fn set_block_cache_capacity(&self, bytes: usize) {
        let mut cache = self.cache.clone();
        cache.set_capacity(bytes);
    }

    /// RocksDB's memory and files now (see [`crate::StorageUsage`]).
    ///
    /// Errors: `Io` when RocksDB cannot report its memory.
    pub fn storage_usage(&self) -> Result<crate::StorageUsage> {
        crate::usage::measure_usage(
            |b| {
                b.add_db(&self.db);
                b.add_cache(&self.cache);
            },
            self.dir.root(),
        )
    }

    pub(crate) fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        cf(&self.db, name)
    }

    /// The timestamp reads of a transaction beginning now see.
    pub(crate) fn now(&self) -> u64 {
        self.clock.load(Ordering::Acquire)
    }

    /// The commit timestamp of RocksDB sequence number `seq`.
    pub(crate) fn timestamp(&self, seq: u64) -> u64 {
        seq.saturating_add(self.clock_offset)
    }

    /// Called after RocksDB committed a transaction that wrote: applies the sync
    /// mode and hands out the commit timestamp. Timestamps are RocksDB sequence
    /// numbers (plus the database's clock offset) made strictly increasing: each
    /// commit advances the sequence by at least one, so the clock never passes it
    /// and restarts from it after a reopen.
    pub(crate) fn committed(&self) -> Result<u64> {
        if let SyncMode::EveryNCommits(n) = self.config.get_durability().get_sync_mode() {
            let c = self.commits.fetch_add(1, Ordering::AcqRel) + 1;
            if c.is_multiple_of(u64::from(n.max(1))) {
                self.db
                    .flush_wal(true)
                    .map_err(|e| self.poison(rocks("cannot sync the WAL", e)))?;
            }
        }
        let seq = self.timestamp(self.db.latest_sequence_number());
        let prev = self
            .clock
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                Some((c + 1).max(seq))
            })
            .unwrap_or_else(|c| c);
        Ok((prev + 1).max(seq))
    }

    /// Marks the engine poisoned after a failed durable write; returns the error to
    /// report, of kind Poisoned unless it is a conflict.
    /// The id of `name`, stored durably first if it is new. A failed write poisons
    /// the engine, as a failed commit does (an invalid name does not).
    pub(crate) fn intern(&self, kind: NameKind, name: &str) -> Result<u32> {
        self.names
            .intern(&self.db, kind, name)
            .map_err(|e| self.poison_on_io(e))
    }

    /// The next id of `kind`; raising the durable bound first may write, and a
    /// failed write poisons the engine.
    pub(crate) fn next_id(&self, kind: IdKind) -> Result<u64> {
        self.ids
            .next(&self.db, kind)
            .map_err(|e| self.poison_on_io(e))
    }

    fn poison_on_io(&self, e: Error) -> Error {
        if e.kind() == ErrorKind::Io {
            self.poison(e)
        } else {
            e
        }
    }

    pub(crate) fn poison(&self, e: Error) -> Error {
        if e.kind() == ErrorKind::Conflict {
            return e;
        }
        self.poisoned.store(true, Ordering::Release);
        Error::new(
            ErrorKind::Poisoned,
            format!(
                "a durable write failed, so this engine refuses further writes until it is reopened: {}",
                e.message()
            ),
        )
        .with_source(e)
    }

    /// The options of every commit's write (made once: RocksDB allocates them).
    pub(crate) fn write_options(&self) -> &WriteOptions {
        &self.write
    }

    fn snapshots_dir(&self) -> PathBuf {
        self.dir.snapshots_dir()
    }
}

/// Imports go into the empty data directory `Config` names, through the bulk path
/// ([`OnDiskEngine::create_from_image`]).
impl ImageEngine for OnDiskEngine {
    type Config = Config;

    fn import(
        config: Config,
        produce: impl FnOnce(&mut dyn SnapshotSink) -> Result<u64>,
    ) -> Result<Self> {
        let mut produce = Some(produce);
        OnDiskEngine::create_from_image(config, &mut |sink| match produce.take() {
            Some(p) => p(sink),
            None => Err(Error::invalid_input("an image is handed over once")),
        })
    }

    /// Hands the newest committed state to `sink` as an image in snapshot order
    /// (names, schema, id counters, vertices, edges; ids as they are) and returns its
    /// commit timestamp: one consistent RocksDB snapshot, writers going on meanwhile.
    fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        let snapshot = self.db.snapshot();
        let ts = self.now().max(self.timestamp(snapshot.sequence_number()));
        crate::snapshot::write_contents(self, &snapshot, sink)?;
        Ok(ts)
    }

    /// Closes without the snapshot `close` exports when snapshots on exit are on
    /// (for a caller that has just written one): flushes every column family and
    /// syncs RocksDB's WAL, as `close` does.
    fn close_without_snapshot(self) -> Result<()> {
        // No transaction is left (each borrows the engine): the counts cover every
        // object, and the next open scans none.
        self.counts.checkpoint(&self.db, self.ids.bounds())?;
        for name in ALL_CFS {
            self.db
                .flush_cf(self.cf(name)?)
                .map_err(|e| rocks("cannot flush on close", e))?;
        }
        self.db
            .flush_wal(true)
            .map_err(|e| rocks("cannot sync the WAL on close", e))?;
        Ok(())
    }

    /// The database's id (adopted from the snapshot it was restored from, if any).
    fn database_id(&self) -> Option<DatabaseId> {
        Some(self.database)
    }
}

impl StorageEngine for OnDiskEngine {
    type Txn<'e> = OnDiskTxn<'e>;

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn begin(&self, options: TxnOptions) -> Result<OnDiskTxn<'_>> {
        match options.requested_isolation() {
            None | Some(IsolationLevel::SnapshotIsolation) => {}
            Some(level) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "isolation level {level:?}: ON_DISK_TRANSACTIONAL offers snapshot isolation only"
                    ),
                ));
            }
        }
        if !options.is_read_only() && self.poisoned.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Poisoned,
                "a durable write failed earlier; reopen the engine to write again",
            ));
        }
        let ts = self.now();
        let (catalog, snapshot, writer) = loop {
            let catalog = self.schema.current();
            self.config.run_begin_midpoint();
            // A writer's snapshot is taken as it registers among running writers
            // (whose oldest start bounds what the lock table keeps); a reader only
            // takes one.
            let (snapshot, writer) = if options.is_read_only() {
                (self.db.snapshot(), None)
            } else {
                let (snapshot, writer) = self.locks.register(|| {
                    let snapshot = self.db.snapshot();
                    let seq = snapshot.sequence_number();
                    (snapshot, seq)
                });
                (
                    snapshot,
                    Some(Box::new(crate::txn::locks::WriterGuard::new(
                        &self.locks,
                        writer,
                    ))),
                )
            };
            // The catalog must be the one the snapshot's entries belong to: an index
            // dropped in between (its entries deleted before the snapshot) would
            // leave the catalog naming entries the snapshot lacks, and lookups find
            // nothing. Read again after the snapshot; both are taken again when it
            // changed (rare: a schema change). (Found by the stress test.)
            if std::sync::Arc::ptr_eq(&catalog, &self.schema.current()) {
                break (catalog, snapshot, writer);
            }
        };
        Ok(OnDiskTxn::new(self, writer, snapshot, catalog, ts))
    }

    fn stats(&self) -> Result<EngineStats> {
        let (vertices, edges) = self.counts.get();
        Ok(EngineStats {
            vertices,
            edges,
            disk_bytes: Some(dir_bytes(self.dir.root())),
        })
    }

    fn close(self) -> Result<()> {
        if self.config.get_durability().get_snapshot_on_exit() {
            self.create_snapshot()?;
        }
        self.close_without_snapshot()
    }

    fn create_snapshot(&self) -> Result<SnapshotInfo> {
        let _one_at_a_time = self.snapshot_lock.lock();
        let seq = self.dir.list_snapshots()?.last().map_or(1, |s| s.seq + 1);
        let snapshot = self.db.snapshot();
        let ts = self.now().max(self.timestamp(snapshot.sequence_number()));
        let info = crate::snapshot::export(self, &snapshot, &self.snapshots_dir(), seq, ts)?;
        let snapshots = self.dir.list_snapshots()?;
        let keep = self.config.get_durability().get_snapshot_retention().max(1);
        let surplus = snapshots.len().saturating_sub(keep);
        let doomed = snapshots
            .into_iter()
            .take(surplus)
            .map(|s| s.path)
            .collect();
        self.deletions.delete(doomed)?;
        Ok(info)
    }

    fn recovery_report(&self) -> Result<RecoveryReport> {
        Ok(self.recovery.clone())
    }

    fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        crate::snapshot::list(&self.dir.list_snapshots()?)
    }

    fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        self.create_index_impl(spec)
    }

    fn drop_index(&self, spec: &IndexSpec) -> Result<()> {
        self.drop_index_impl(spec)
    }

    fn indexes(&self) -> Result<Vec<IndexInfo>> {
        self.index_infos()
    }

    fn create_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        self.create_constraint_impl(spec)
    }

    fn drop_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        self.drop_constraint_impl(spec)
    }

    fn constraints(&self) -> Result<Vec<ConstraintSpec>> {
        let mut specs: Vec<ConstraintSpec> = self
            .schema
            .current()
            .constraints
            .iter()
            .map(|c| c.spec.clone())
            .collect();
        specs.sort();
        Ok(specs)
    }

    fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        self.create_trigger_impl(spec)
    }

    fn drop_trigger(&self, name: &str) -> Result<()> {
        self.drop_trigger_impl(name)
    }

    fn triggers(&self) -> Result<Vec<TriggerSpec>> {
        Ok(self.schema.current().triggers.values().cloned().collect())
    }

    fn add_commit_observer(
        &self,
        phase: TriggerPhase,
        observer: SharedObserver,
    ) -> Result<ObserverId> {
        Ok(self.observers.add(phase, observer))
    }

    fn remove_commit_observer(&self, id: ObserverId) -> Result<()> {
        self.observers.remove(id)
    }

    fn lock_data_directory(&self) -> Result<LockChange> {
        Ok(self.deletions.lock())
    }

    fn data_directory_lease(&self) -> Result<DataDirectoryLease> {
        Ok(DataDirectoryLease::new(self.deletions.lease()))
    }

    fn unlock_data_directory(&self) -> Result<LockChange> {
        self.deletions.unlock()
    }

    fn data_directory_lock_status(&self) -> Result<LockStatus> {
        Ok(self.deletions.status())
    }
}
