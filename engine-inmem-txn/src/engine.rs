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
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use engine_api::{
    Capabilities, ChangeSet, ConstraintSpec, DataDirectoryLease, DatabaseId, EngineStats, Error,
    ErrorKind, ImageEngine, IndexInfo, IndexSpec, IsolationLevel, LockChange, LockStatus,
    ObserverId, Observers, RecoveryReport, Result, SharedObserver, SnapshotInfo, SnapshotSink,
    StorageEngine, StorageMode, TriggerPhase, TriggerSpec, TxnOptions,
};
use parking_lot::{Condvar, Mutex, RwLock};

use crate::background::Periodic;
use crate::config::Config;
use crate::gc::{GcEntry, GcReport};
use crate::index::LabelIndex;
use crate::mvcc::{EdgeState, TXN_ID_BASE, TxnShared, VertexState};
use crate::running::Running;
use crate::schema::Schema;
use crate::txn::InMemoryTxn;
use durability::{Durable, WalWriter};
use engine_api::kit::{NameTable, ObserverRegistry, SlotArray};

pub(crate) type VertexSlot = RwLock<Option<VertexState>>;
pub(crate) type EdgeSlot = RwLock<Option<EdgeState>>;

/// The commit clock (the newest published commit is `Inner::newest`, written only
/// under this lock).
#[derive(Debug, Default)]
pub(crate) struct Clock {
    /// The newest commit whose after-commit observers have run (equal to the newest
    /// published commit while none are registered). The next commit publishes after it.
    delivered: u64,
    /// The vertices and edges commits added (recovery counts its own, in `Inner`).
    committed: (i64, i64),
}

/// A transaction id: past [`TXN_ID_BASE`], unique in the process. Each thread takes
/// a block of ids at a time, so beginning a transaction touches no shared counter.
fn next_txn_id() -> u64 {
    const BLOCK: u64 = 1024;
    static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static IDS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }
    IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        ids.set((next + 1, end));
        TXN_ID_BASE + next
    })
}

/// What a commit leaves for its publication to record, under the same lock.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) entry: GcEntry,
    pub(crate) vertices: i64,
    pub(crate) edges: i64,
}

impl Clock {
    /// Makes commit `ts` visible; the caller checked every earlier commit is
    /// delivered. Counts what it `finished` and hands back its objects, for the caller
    /// to queue for collection after releasing the clock (see [`Inner::retire`]).
    fn publish_now(
        &mut self,
        ts: u64,
        shared: Option<&TxnShared>,
        finished: Option<Finished>,
        newest: &AtomicU64,
    ) -> Option<GcEntry> {
        if let Some(s) = shared {
            s.publish_commit(ts);
        }
        newest.fetch_max(ts, Ordering::SeqCst);
        let f = finished?;
        self.committed.0 += f.vertices;
        self.committed.1 += f.edges;
        Some(f.entry)
    }
}

/// A value on cache lines of its own. Every commit writes the newest commit, the
/// clock and the commit order; sharing a line with them, a field that transactions
/// only read (the id reservation bounds, the name tables, the catalog) would be a
/// cache miss on the other core after every commit.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

pub(crate) struct Inner {
    pub(crate) capabilities: Capabilities,
    /// The newest published commit (the clock's, readable without its lock): new
    /// transactions start here.
    pub(crate) newest: Padded<AtomicU64>,
    /// The running transactions' start bounds.
    pub(crate) running: Running,
    pub(crate) vertices: SlotArray<VertexSlot>,
    pub(crate) edges: SlotArray<EdgeSlot>,
    pub(crate) next_vertex: AtomicU64,
    pub(crate) next_edge: AtomicU64,
    pub(crate) labels: NameTable,
    pub(crate) edge_types: NameTable,
    pub(crate) keys: NameTable,
    /// Per label id: every vertex that has the label in some version still visible to
    /// someone (a superset; scans check visibility).
    pub(crate) label_index: LabelIndex,
    pub(crate) clock: Padded<Mutex<Clock>>,
    /// Signalled whenever `clock.delivered` advances.
    pub(crate) published: Condvar,
    /// The next commit timestamp to hand out. Held while a commit takes its timestamp
    /// and queues its WAL record, so records are in timestamp order.
    pub(crate) commit_order: Padded<Mutex<u64>>,
    pub(crate) committed_vertices: AtomicI64,
    pub(crate) committed_edges: AtomicI64,
    pub(crate) durable: Option<Durable>,
    /// The WAL writer: with a data directory whose settings keep a WAL.
    pub(crate) wal: Option<WalWriter>,
    /// Ids below these bounds may be handed out without logging; past them, a
    /// reservation record goes to the WAL first, so that no id handed to a
    /// transaction is ever reused after a crash. `u64::MAX` without a WAL.
    pub(crate) reserved_vertices: AtomicU64,
    pub(crate) reserved_edges: AtomicU64,
    reserve_lock: Mutex<()>,
    pub(crate) schema: Schema,
    pub(crate) observers: ObserverRegistry,
}

impl Inner {
    pub(crate) fn durable(&self) -> Result<&Durable> {
        self.durable.as_ref().ok_or_else(|| {
            Error::unsupported("a durability operation on an engine without a data directory")
        })
    }
}

/// How many ids one reservation record covers.
const RESERVATION_BLOCK: u64 = 1 << 16;

impl Inner {
    pub(crate) fn new(capabilities: Capabilities) -> Self {
        Inner {
            capabilities,
            newest: Padded(AtomicU64::new(0)),
            running: Running::default(),
            vertices: SlotArray::new(),
            edges: SlotArray::new(),
            next_vertex: AtomicU64::new(0),
            next_edge: AtomicU64::new(0),
            labels: NameTable::new("label"),
            edge_types: NameTable::new("edge type"),
            keys: NameTable::new("property key"),
            label_index: LabelIndex::default(),
            clock: Padded(Mutex::new(Clock::default())),
            published: Condvar::new(),
            commit_order: Padded(Mutex::new(1)),
            committed_vertices: AtomicI64::new(0),
            committed_edges: AtomicI64::new(0),
            durable: None,
            wal: None,
            reserved_vertices: AtomicU64::new(u64::MAX),
            reserved_edges: AtomicU64::new(u64::MAX),
            reserve_lock: Mutex::new(()),
            schema: Schema::new(),
            observers: ObserverRegistry::new(),
        }
    }

    /// Makes sure `vertex` and `edge` (ids about to be handed out) are below durably
    /// reserved bounds, logging a new reservation if needed (once per 65 536 ids).
    pub(crate) fn ensure_reserved(&self, vertex: Option<u64>, edge: Option<u64>) -> Result<()> {
        let covered = |id: Option<u64>, bound: &AtomicU64| {
            id.is_none_or(|id| id < bound.load(Ordering::Acquire))
        };
        if covered(vertex, &self.reserved_vertices) && covered(edge, &self.reserved_edges) {
            return Ok(());
        }
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        let _one = self.reserve_lock.lock();
        let bound = |id: Option<u64>, current: &AtomicU64| {
            let c = current.load(Ordering::Acquire);
            match id {
                Some(id) if id >= c => id.saturating_add(RESERVATION_BLOCK),
                _ => c,
            }
        };
        let v = bound(vertex, &self.reserved_vertices);
        let e = bound(edge, &self.reserved_edges);
        if (v, e)
            == (
                self.reserved_vertices.load(Ordering::Acquire),
                self.reserved_edges.load(Ordering::Acquire),
            )
        {
            return Ok(());
        }
        let ticket = {
            let next = self.commit_order.lock();
            wal.append_reservation(*next, v, e)?
        };
        wal.wait(ticket)?;
        self.reserved_vertices.store(v, Ordering::Release);
        self.reserved_edges.store(e, Ordering::Release);
        Ok(())
    }

    /// (vertices, edges) committed: what recovery loaded plus what commits added.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let (v, e) = self.clock.lock().committed;
        let v = self.committed_vertices.load(Ordering::Relaxed) + v;
        let e = self.committed_edges.load(Ordering::Relaxed) + e;
        (v.max(0) as u64, e.max(0) as u64)
    }

    /// Sets the clock after recovery: `last` is the newest recovered commit.
    pub(crate) fn set_last_commit(&self, last: u64) {
        let mut clock = self.clock.lock();
        clock.delivered = last;
        self.newest.store(last, Ordering::SeqCst);
        drop(clock);
        *self.commit_order.lock() = last + 1;
    }

    pub(crate) fn label_index_insert(&self, label: u32, vertex: u64) -> Result<()> {
        self.label_index.insert(label, vertex)
    }

    pub(crate) fn label_index_remove(&self, label: u32, vertex: u64) {
        self.label_index.remove(label, vertex);
    }

    /// The error to refuse writes with once the WAL failed.
    pub(crate) fn poisoned(&self) -> Option<Error> {
        let reason = self.wal.as_ref()?.poisoned()?;
        Some(Error::new(
            ErrorKind::Poisoned,
            format!(
                "a WAL write or sync failed ({reason}); writes are refused until the database is reopened"
            ),
        ))
    }

    pub(crate) fn begin(&self, options: TxnOptions) -> Result<InMemoryTxn<'_>> {
        let level = options
            .requested_isolation()
            .unwrap_or(self.capabilities.default_isolation);
        if !self.capabilities.supports_isolation(level) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("isolation level {level:?} is not supported"),
            ));
        }
        if !options.is_read_only()
            && let Some(e) = self.poisoned()
        {
            return Err(e);
        }
        // Registered no later than it starts (see the `running` module).
        let registration = self.running.enter(self.newest.load(Ordering::SeqCst));
        let start_ts = self.newest.load(Ordering::SeqCst);
        Ok(InMemoryTxn::new(
            self,
            TxnShared::new(next_txn_id()),
            start_ts,
            registration,
            level,
            options.is_read_only(),
        ))
    }

    /// Waits until every commit before `ts` is published and delivered to its
    /// after-commit observers, then publishes `ts` (or, if `shared` is `None`, only
    /// moves the clock past a commit that failed) and runs `after`'s observers (the
    /// caller then leaves the running transactions). Publishing in order keeps snapshot
    /// isolation exact while commits reach durability out of order, and makes
    /// observers see commits in commit order.
    pub(crate) fn publish(
        &self,
        ts: u64,
        shared: Option<&TxnShared>,
        after: Option<(&Observers, &ChangeSet)>,
        finished: Option<Finished>,
    ) {
        // The predecessor is usually a few instructions from publishing, often on the
        // other core; yielding a few times first avoids a sleep and wake-up per
        // commit (measured: 4 committers on 2 cores went from 86k to far more
        // commits/s with sync Off).
        for _ in 0..64 {
            if self.clock.lock().delivered + 1 >= ts {
                break;
            }
            std::thread::yield_now();
        }
        let mut clock = self.clock.lock();
        while clock.delivered + 1 < ts {
            self.published.wait(&mut clock);
        }
        let entry = clock.publish_now(ts, shared, finished, &self.newest);
        if let Some((observers, changes)) = after {
            // Visible now; the next commit waits until the observers are done.
            drop(clock);
            for (id, e) in observers.after_commit(changes) {
                tracing::warn!(observer = id.0, error = %e, "an after-commit observer failed");
            }
            clock = self.clock.lock();
        }
        clock.delivered = clock.delivered.max(ts);
        self.published.notify_all();
        drop(clock);
        if let Some(entry) = entry {
            self.retire(entry);
        }
    }

    /// Queues the objects of a published commit for collection, and collects what
    /// is collectable now (see the `running` module: mostly this thread's commits).
    pub(crate) fn retire(&self, entry: GcEntry) {
        let (ready, oldest) = self.running.retire(entry, &self.newest);
        self.collect_entries(&ready, oldest);
    }

    /// Publishes commit `ts` at once if every earlier commit is delivered (the caller
    /// holds the commit order, so no earlier timestamp is still being handed out);
    /// false if one is still on its way, and the caller publishes in turn with
    /// [`Inner::publish`]. For commits with nothing to wait for in between (no WAL,
    /// no after-commit observers): they take the clock once, and never yield to or
    /// wait for another committer (measured: the yields and context switches of the
    /// ordered hand-off were the largest cost of two committing threads).
    /// Collection of the commits it makes collectable is left to the caller: done
    /// here it would hold the commit order meanwhile.
    pub(crate) fn publish_if_next(
        &self,
        ts: u64,
        shared: &TxnShared,
        finished: &mut Option<Finished>,
    ) -> Option<GcEntry> {
        let mut clock = self.clock.lock();
        if clock.delivered + 1 != ts {
            return None;
        }
        let entry = clock.publish_now(ts, Some(shared), finished.take(), &self.newest);
        clock.delivered = ts;
        self.published.notify_all();
        entry
    }
}

/// The IN_MEMORY_TRANSACTIONAL engine. See the crate docs for the design.
pub struct InMemoryEngine {
    inner: Arc<Inner>,
    // Joined when dropped, before `inner`'s last reference goes away with them.
    _gc: Option<Periodic>,
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

pub(crate) fn capabilities(config: &Config) -> Capabilities {
    let durable = config.get_data_directory().is_some();
    let d = config.get_durability();
    let mut c = Capabilities::none(StorageMode::InMemoryTransactional);
    c.isolation_levels = vec![
        IsolationLevel::ReadUncommitted,
        IsolationLevel::ReadCommitted,
        IsolationLevel::SnapshotIsolation,
    ];
    c.default_isolation = IsolationLevel::SnapshotIsolation;
    c.rollback = true;
    c.write_conflict_detection = true;
    c.wal = durable && d.get_wal();
    c.periodic_snapshots = durable && d.get_snapshot_interval().is_some();
    c.manual_snapshots = durable;
    c.snapshot_blocks_new_transactions = false;
    c.data_on_disk = false;
    c.persistent = durable;
    c.data_directory_lock = durable;
    c.indexes = true;
    c.constraints = true;
    c.triggers = true;
    c
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
            Some(interval) => Some(Periodic::spawn("quiver-gc", &inner, interval, |i| {
                i.collect();
            })?),
            None => None,
        };
        let snapshots = match (
            &inner.durable,
            config.get_durability().get_snapshot_interval(),
        ) {
            (Some(_), Some(interval)) => {
                Some(Periodic::spawn("quiver-snapshot", &inner, interval, |i| {
                    if let Err(e) = i.create_snapshot() {
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
    /// return memory at once (for example after a long reader ended).
    pub fn collect_garbage(&self) -> GcReport {
        self.inner.collect()
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
        if let Some(dir) = config.get_data_directory() {
            return Err(Error::invalid_input(format!(
                "import builds a memory-only engine; {} is a data directory: put a snapshot into it and open it instead",
                dir.display()
            )));
        }
        let inner = crate::recovery::load_image(&config, produce)?;
        InMemoryEngine::start(inner, &config)
    }

    /// Hands the newest committed state to `sink` as an image in snapshot order
    /// (names, schema, id counters, vertices, edges; ids as they are) and returns its
    /// commit timestamp. Writers go on meanwhile; the image is one consistent view.
    fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        self.inner.export(sink)
    }

    /// The database's id, which every file in its data directory carries; `None`
    /// for a memory-only engine.
    fn database_id(&self) -> Option<DatabaseId> {
        self.inner.durable.as_ref().map(Durable::database)
    }

    /// Closes without the snapshot `close` writes when snapshots on exit are on
    /// (for a caller that has just written one); the WAL is flushed as by `close`.
    fn close_without_snapshot(self) -> Result<()> {
        if let Some(wal) = &self.inner.wal {
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
        self.inner.begin(options)
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
            && self.inner.poisoned().is_none()
        {
            self.inner.create_snapshot()?;
        }
        if let Some(wal) = &self.inner.wal {
            wal.flush()?;
        }
        Ok(())
    }

    fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        self.inner.create_index(spec)
    }

    fn drop_index(&self, spec: &IndexSpec) -> Result<()> {
        self.inner.drop_index(spec)
    }

    fn indexes(&self) -> Result<Vec<IndexInfo>> {
        self.inner.index_infos()
    }

    fn create_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        self.inner.create_constraint(spec)
    }

    fn drop_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        self.inner.drop_constraint(spec)
    }

    fn constraints(&self) -> Result<Vec<ConstraintSpec>> {
        Ok(self.inner.constraint_specs())
    }

    fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        self.inner.create_trigger(spec)
    }

    fn drop_trigger(&self, name: &str) -> Result<()> {
        self.inner.drop_trigger(name)
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
        self.inner.create_snapshot()
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
