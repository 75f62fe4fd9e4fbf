//! The engine: shared state, the commit clock, `begin`, statistics.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use engine_api::{
    Capabilities, EngineStats, Error, ErrorKind, IsolationLevel, Result, StorageEngine,
    StorageMode, TxnOptions,
};
use parking_lot::{Mutex, RwLock};

use crate::config::Config;
use crate::gc::{GcReport, GcThread, Queue};
use crate::mvcc::{EdgeState, TXN_ID_BASE, TxnShared, VertexState};
use crate::names::NameTable;
use crate::slots::SlotArray;
use crate::txn::InMemoryTxn;

pub(crate) type VertexSlot = RwLock<Option<VertexState>>;
pub(crate) type EdgeSlot = RwLock<Option<EdgeState>>;

/// The commit clock and the running transactions' start timestamps.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    pub(crate) last_commit: u64,
    active: BTreeMap<u64, usize>,
}

impl Clock {
    pub(crate) fn remove_active(&mut self, start_ts: u64) {
        if let Some(n) = self.active.get_mut(&start_ts) {
            *n -= 1;
            if *n == 0 {
                self.active.remove(&start_ts);
            }
        }
    }
}

pub(crate) struct Inner {
    pub(crate) capabilities: Capabilities,
    pub(crate) vertices: SlotArray<VertexSlot>,
    pub(crate) edges: SlotArray<EdgeSlot>,
    pub(crate) next_vertex: AtomicU64,
    pub(crate) next_edge: AtomicU64,
    pub(crate) labels: NameTable,
    pub(crate) edge_types: NameTable,
    pub(crate) keys: NameTable,
    /// Per label id: every vertex that has the label in some version still visible to
    /// someone (a superset; scans check visibility).
    pub(crate) label_index: SlotArray<RwLock<BTreeSet<u64>>>,
    pub(crate) clock: Mutex<Clock>,
    next_txn: AtomicU64,
    pub(crate) gc_queue: Mutex<Queue>,
    pub(crate) gc_pending: AtomicUsize,
    pub(crate) committed_vertices: AtomicI64,
    pub(crate) committed_edges: AtomicI64,
}

impl Inner {
    /// The newest commit timestamp every running transaction can see: deltas
    /// committed at or before it are needed by nobody.
    pub(crate) fn oldest_visible_ts(&self) -> u64 {
        let clock = self.clock.lock();
        clock
            .active
            .keys()
            .next()
            .copied()
            .unwrap_or(clock.last_commit)
    }

    pub(crate) fn label_index_insert(&self, label: u32, vertex: u64) -> Result<()> {
        let set = self
            .label_index
            .get_or_alloc(u64::from(label))
            .ok_or_else(|| Error::invalid_input("too many labels"))?;
        set.write().insert(vertex);
        Ok(())
    }

    pub(crate) fn label_index_remove(&self, label: u32, vertex: u64) {
        if let Some(set) = self.label_index.get(u64::from(label)) {
            set.write().remove(&vertex);
        }
    }
}

/// The IN_MEMORY_TRANSACTIONAL engine. See the crate docs for the design.
pub struct InMemoryEngine {
    inner: Arc<Inner>,
    // Declared after `inner` only for readability; the thread holds a weak reference.
    _gc: Option<GcThread>,
}

impl std::fmt::Debug for InMemoryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryEngine")
            .field(
                "vertices",
                &self.inner.committed_vertices.load(Ordering::Relaxed),
            )
            .field("edges", &self.inner.committed_edges.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn capabilities() -> Capabilities {
    Capabilities {
        storage_mode: StorageMode::InMemoryTransactional,
        isolation_levels: vec![
            IsolationLevel::ReadUncommitted,
            IsolationLevel::ReadCommitted,
            IsolationLevel::SnapshotIsolation,
        ],
        default_isolation: IsolationLevel::SnapshotIsolation,
        rollback: true,
        write_conflict_detection: true,
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

impl InMemoryEngine {
    /// Opens an empty engine.
    ///
    /// Errors: [`ErrorKind::Io`] if the background collector thread cannot be started.
    pub fn open(config: Config) -> Result<Self> {
        let inner = Arc::new(Inner {
            capabilities: capabilities(),
            vertices: SlotArray::new(),
            edges: SlotArray::new(),
            next_vertex: AtomicU64::new(0),
            next_edge: AtomicU64::new(0),
            labels: NameTable::new("label"),
            edge_types: NameTable::new("edge type"),
            keys: NameTable::new("property key"),
            label_index: SlotArray::new(),
            clock: Mutex::new(Clock::default()),
            next_txn: AtomicU64::new(TXN_ID_BASE),
            gc_queue: Mutex::new(Queue::new()),
            gc_pending: AtomicUsize::new(0),
            committed_vertices: AtomicI64::new(0),
            committed_edges: AtomicI64::new(0),
        });
        let gc = match config.gc_every() {
            Some(interval) => Some(GcThread::spawn(&inner, interval)?),
            None => None,
        };
        Ok(InMemoryEngine { inner, _gc: gc })
    }

    /// Drops every old version no running transaction can see, now, and reports what
    /// it did. The background collector and every commit do this too; call it to
    /// return memory at once (for example after a long reader ended).
    pub fn collect_garbage(&self) -> GcReport {
        self.inner.collect(true)
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

impl StorageEngine for InMemoryEngine {
    type Txn<'e> = InMemoryTxn<'e>;

    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn begin(&self, options: TxnOptions) -> Result<InMemoryTxn<'_>> {
        let level = options
            .requested_isolation()
            .unwrap_or(self.inner.capabilities.default_isolation);
        if !self.inner.capabilities.supports_isolation(level) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("isolation level {level:?} is not supported"),
            ));
        }
        let id = self.inner.next_txn.fetch_add(1, Ordering::Relaxed);
        let start_ts = {
            let mut clock = self.inner.clock.lock();
            let start = clock.last_commit;
            *clock.active.entry(start).or_insert(0) += 1;
            start
        };
        Ok(InMemoryTxn::new(
            self.inner(),
            TxnShared::new(id),
            start_ts,
            level,
            options.is_read_only(),
        ))
    }

    fn stats(&self) -> Result<EngineStats> {
        Ok(EngineStats {
            vertices: self.inner.committed_vertices.load(Ordering::Relaxed).max(0) as u64,
            edges: self.inner.committed_edges.load(Ordering::Relaxed).max(0) as u64,
            disk_bytes: None,
        })
    }

    fn close(self) -> Result<()> {
        Ok(())
    }
}
