//! Transactions: reads through a view and writes with first-writer-wins (here), the
//! commit protocol and rollback (module `commit`), scans and index lookup planning
//! (module `scan`).

use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use engine_api::EdgeRef;
use engine_api::kit::make_room;
use engine_api::{
    Change, ChangeSet, CommitInfo, DeleteMode, Direction, EdgeId, EdgeRecord, Error, ErrorKind,
    IndexSpec, IsolationLevel, Observers, PropertyBounds, PropertyMap, PropertyValue, Result,
    Transaction, TxnOptions, ValueRef, VertexId,
};

use durability::WalOp;

use crate::clock::Finished;
use crate::graph::{Versioned, settle_edge};
use crate::index::{
    chain, keys_for_edge, keys_for_vertex, remove_stale_edge_keys, remove_stale_vertex_keys,
};
use crate::inner::Inner;
use crate::iter::{EdgeIter, ScanView, VertexIter};
use crate::mvcc::{
    Adj, Delta, EdgeState, Labels, TXN_ID_BASE, TxnShared, Undo, VertexState, View, push_delta,
    remove_adj, undo_edge, undo_vertex, visible_exists,
};
use crate::props;
use crate::running::{GcEntry, Object, Objects, Registration};

mod commit;
mod scan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    /// Rolled back after a conflict (`after_conflict`) or a failure in the middle of
    /// a write.
    Aborted {
        after_conflict: bool,
    },
    /// Committed or rolled back by the caller; only `Drop` runs after this.
    Finished,
}

/// A transaction of [`crate::InMemoryEngine`].
pub struct InMemoryTxn<'e> {
    inner: &'e Inner,
    shared: Arc<TxnShared>,
    start_ts: u64,
    /// Where it is registered among the running transactions, until it leaves: at
    /// its end, or when its commit is about to be published (it reads nothing after
    /// that, and its own commit is then collectable at once).
    registration: Option<Registration>,
    level: IsolationLevel,
    read_only: bool,
    status: Status,
    /// Objects this transaction put a delta on, each once, in order.
    touched: Objects,
    vertex_balance: i64,
    edge_balance: i64,
    /// The changes to log at commit (only when the engine has a WAL).
    redo: Vec<WalOp>,
    logging: bool,
    /// Tells the WAL a record may come (group commit), from begin to append.
    arrival: Option<durability::Arrival<'e>>,
    /// The observers registered when the transaction began, and its changes for them.
    observed: Option<(Arc<Observers>, Vec<Change>)>,
}

impl std::fmt::Debug for InMemoryTxn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryTxn")
            .field("start_ts", &self.start_ts)
            .field("level", &self.level)
            .field("read_only", &self.read_only)
            .field("status", &self.status)
            .field("touched", &self.touched.len())
            .finish()
    }
}

fn vertex_not_found(v: VertexId) -> Error {
    VertexState::not_found(v.0)
}

fn edge_not_found(e: EdgeId) -> Error {
    EdgeState::not_found(e.0)
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

impl<'e> InMemoryTxn<'e> {
    /// Begins a transaction on `inner` (see [`engine_api::StorageEngine::begin`]).
    pub(crate) fn begin(inner: &'e Inner, options: TxnOptions) -> Result<Self> {
        let level = options
            .requested_isolation()
            .unwrap_or(inner.capabilities.default_isolation);
        if !inner.capabilities.supports_isolation(level) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("isolation level {level:?} is not supported"),
            ));
        }
        if !options.is_read_only()
            && let Some(e) = inner.clock.poisoned()
        {
            return Err(e);
        }
        // Registered no later than it starts (see the `running` module).
        let registration = inner
            .running
            .enter(inner.clock.line.newest.load(Ordering::SeqCst));
        let start_ts = inner.clock.line.newest.load(Ordering::SeqCst);
        Ok(InMemoryTxn::new(
            inner,
            TxnShared::new(next_txn_id()),
            start_ts,
            registration,
            level,
            options.is_read_only(),
        ))
    }

    pub(crate) fn new(
        inner: &'e Inner,
        shared: Arc<TxnShared>,
        start_ts: u64,
        registration: Registration,
        level: IsolationLevel,
        read_only: bool,
    ) -> Self {
        InMemoryTxn {
            inner,
            shared,
            start_ts,
            registration: Some(registration),
            level,
            read_only,
            status: Status::Active,
            touched: Objects::new(),
            vertex_balance: 0,
            edge_balance: 0,
            redo: Vec::new(),
            logging: inner.clock.wal.is_some(),
            arrival: if read_only {
                None
            } else {
                inner.clock.wal.as_ref().map(|w| w.announce())
            },
            observed: if read_only {
                None
            } else {
                inner.observers.current().map(|o| (o, Vec::new()))
            },
        }
    }

    fn observing(&self) -> bool {
        self.observed.is_some()
    }

    fn record(&mut self, change: impl FnOnce() -> Change) {
        if let Some((_, changes)) = &mut self.observed {
            changes.push(change());
        }
    }

    fn log(&mut self, op: impl FnOnce() -> WalOp) {
        if self.logging {
            self.redo.push(op());
        }
    }

    pub(crate) fn start_ts(&self) -> u64 {
        self.start_ts
    }

    /// Hands a vertex's labels, encoded properties and (out, in) degree, as this
    /// transaction sees them, to `f` under the vertex's read lock, straight from the
    /// vertex when no newer version hides them (`labels` and `blob` hold a rebuilt
    /// older version otherwise). `None` if the vertex is not visible. `f` should be
    /// quick: writers of this vertex wait for it.
    pub(crate) fn snapshot_vertex_with<R>(
        &self,
        v: VertexId,
        labels: &mut Vec<u32>,
        blob: &mut Vec<u8>,
        f: impl FnOnce(&[u32], &[u8], (u32, u32)) -> R,
    ) -> Result<Option<R>> {
        self.read_vertex(v, |state, view| {
            let degree = (
                u32::try_from(state.out_edges.len()).unwrap_or(u32::MAX),
                u32::try_from(state.in_edges.len()).unwrap_or(u32::MAX),
            );
            if view.undos(&state.delta).next().is_none() {
                return Ok(f(&state.labels, &state.props, degree));
            }
            labels.clear();
            labels.extend_from_slice(&state.labels);
            let mut props_changed = false;
            for u in view.undos(&state.delta) {
                match u {
                    Undo::AddLabel(l) if !labels.contains(l) => labels.push(*l),
                    Undo::RemoveLabel(l) => labels.retain(|x| x != l),
                    Undo::SetProperty(..) => props_changed = true,
                    _ => {}
                }
            }
            if !props_changed {
                return Ok(f(labels, &state.props, degree));
            }
            let mut pairs: Vec<_> = properties_at_view(&state.props, &state.delta, view)?
                .into_iter()
                .collect();
            blob.clear();
            blob.extend_from_slice(&props::build::<[u8; 32]>(&mut pairs));
            Ok(f(labels, blob, degree))
        })
    }

    /// Hands an edge's type, endpoints and encoded properties, as this transaction
    /// sees them, to `f` under the edge's read lock (see
    /// [`InMemoryTxn::snapshot_vertex_with`]); `None` if the edge is not visible.
    pub(crate) fn snapshot_edge_with<R>(
        &self,
        e: EdgeId,
        blob: &mut Vec<u8>,
        f: impl FnOnce(u32, VertexId, VertexId, &[u8]) -> R,
    ) -> Result<Option<R>> {
        self.read_edge(e, |state, view| {
            if view.undos(&state.delta).next().is_none() {
                return Ok(f(state.edge_type, state.source, state.target, &state.props));
            }
            let mut pairs: Vec<_> = properties_at_view(&state.props, &state.delta, view)?
                .into_iter()
                .collect();
            blob.clear();
            blob.extend_from_slice(&props::build::<[u8; 32]>(&mut pairs));
            Ok(f(state.edge_type, state.source, state.target, blob))
        })
    }

    pub(crate) fn view(&self) -> View<'_> {
        View {
            level: self.level,
            start_ts: self.start_ts,
            me: &self.shared,
        }
    }

    /// Checked before every read and write: inline, with the refusals out of line (a
    /// snapshot reads millions of objects through here).
    #[inline]
    fn ensure_usable(&self) -> Result<()> {
        match self.status {
            Status::Active => Ok(()),
            Status::Aborted { after_conflict } => Err(rolled_back(after_conflict)),
            Status::Finished => Err(finished()),
        }
    }

    fn ensure_writable(&self) -> Result<()> {
        self.ensure_usable()?;
        if self.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                "writes are not allowed in a read-only transaction",
            ));
        }
        Ok(())
    }

    /// Rolls back and marks the transaction aborted; returns `err` for `?`.
    fn abort(&mut self, err: Error) -> Error {
        self.arrival = None;
        self.rollback_writes();
        self.status = Status::Aborted {
            after_conflict: err.kind() == ErrorKind::Conflict,
        };
        err
    }

    /// Runs a read against a vertex or an edge visible to this transaction.
    fn read_object<S: Versioned, R>(
        &self,
        id: u64,
        f: impl FnOnce(&S, &View<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        self.ensure_usable()?;
        let Some(slot) = S::slots(&self.inner.graph).get(id) else {
            return Ok(None);
        };
        // Recursive: a borrowed read's closure runs under this lock and may read the
        // same object again while a writer waits for it.
        let guard = slot.read_recursive();
        let Some(state) = guard.as_ref() else {
            return Ok(None);
        };
        let view = self.view();
        if !visible_exists(state.deleted(), view.undos(state.delta())) {
            return Ok(None);
        }
        f(state, &view).map(Some)
    }

    /// Runs a read against a vertex visible to this transaction.
    pub(crate) fn read_vertex<R>(
        &self,
        v: VertexId,
        f: impl FnOnce(&VertexState, &View<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        self.read_object(v.0, f)
    }

    fn read_edge<R>(
        &self,
        e: EdgeId,
        f: impl FnOnce(&EdgeState, &View<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        self.read_object(e.0, f)
    }

    /// Hands the value of `key` on object `id`, as this transaction sees it, to `f`:
    /// borrowed from the newest state's record, or from the delta holding the value
    /// this transaction's view must see instead.
    fn property_ref_of<S: Versioned, R>(
        &self,
        id: u64,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R> {
        let k = self.inner.graph.keys.lookup(key);
        self.read_object(id, |state: &S, view| {
            let Some(k) = k else {
                return Ok(f(None));
            };
            // The oldest undo of `key` the view must apply holds its value.
            let older = view
                .undos(state.delta())
                .filter_map(|u| match u {
                    Undo::SetProperty(key, old) if *key == k => Some(old),
                    _ => None,
                })
                .last();
            match older {
                None => Ok(f(props::get_ref(state.props(), k)?)),
                Some(None) => Ok(f(None)),
                Some(Some(old)) => ValueRef::lend(old, |v| f(Some(v)))
                    .map_err(|e| e.into_corrupt("in-memory property version", 0)),
            }
        })?
        .ok_or_else(|| S::not_found(id))
    }

    /// Every property of object `id` as this transaction sees it.
    fn properties_of<S: Versioned>(&self, id: u64) -> Result<PropertyMap> {
        let pairs = self
            .read_object(id, |state: &S, view| {
                properties_at_view(state.props(), state.delta(), view)
            })?
            .ok_or_else(|| S::not_found(id))?;
        self.names_to_map(pairs)
    }

    /// Runs a write against a vertex or an edge: checks for a conflict (aborting on
    /// one), checks the object exists, then lets `f` change the state and return the
    /// undo to record (`None` when it changed nothing). `f` must not change anything when it returns an error.
    fn write_object<S: Versioned, R>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut S) -> Result<(R, Option<Undo>)>,
    ) -> Result<R> {
        self.ensure_writable()?;
        let inner = self.inner;
        let slot = S::slots(&inner.graph)
            .get(id)
            .ok_or_else(|| S::not_found(id))?;
        let mut guard = slot.write();
        let state = guard.as_mut().ok_or_else(|| S::not_found(id))?;
        if let Err(e) = self.view().check_write(state.delta(), S::WHAT) {
            drop(guard);
            return Err(self.abort(e));
        }
        if state.deleted() {
            return Err(S::not_found(id));
        }
        let (r, undo) = f(state)?;
        let first = undo.is_some_and(|u| push_delta(state.delta_mut(), &self.shared, u));
        drop(guard);
        if first {
            self.touched.push(S::object(id));
        }
        Ok(r)
    }

    fn write_vertex<R>(
        &mut self,
        v: VertexId,
        f: impl FnOnce(&mut VertexState) -> Result<(R, Option<Undo>)>,
    ) -> Result<R> {
        self.write_object(v.0, f)
    }

    fn write_edge<R>(
        &mut self,
        e: EdgeId,
        f: impl FnOnce(&mut EdgeState) -> Result<(R, Option<Undo>)>,
    ) -> Result<R> {
        self.write_object(e.0, f)
    }

    /// The adjacency this transaction sees: (outgoing, incoming).
    fn visible_adjacency(&self, v: VertexId) -> Result<(Vec<Adj>, Vec<Adj>)> {
        self.read_vertex(v, |state, view| {
            let mut out = state.out_edges.clone();
            let mut inc = state.in_edges.clone();
            for u in view.undos(&state.delta) {
                match u {
                    Undo::AddOut(a) => out.push(*a),
                    Undo::RemoveOut(a) => remove_adj(&mut out, a.edge),
                    Undo::AddIn(a) => inc.push(*a),
                    Undo::RemoveIn(a) => remove_adj(&mut inc, a.edge),
                    _ => {}
                }
            }
            Ok((out, inc))
        })?
        .ok_or_else(|| vertex_not_found(v))
    }

    fn edge_record(&self, a: &Adj, outgoing: bool, this: VertexId) -> Result<EdgeRecord> {
        let (source, target) = if outgoing {
            (this, a.other)
        } else {
            (a.other, this)
        };
        Ok(EdgeRecord {
            id: a.edge,
            edge_type: self.inner.graph.edge_types.name(a.edge_type)?,
            source,
            target,
        })
    }

    fn names_to_map(&self, pairs: BTreeMap<u32, PropertyValue>) -> Result<PropertyMap> {
        let mut map = PropertyMap::new();
        for (k, v) in pairs {
            map.insert(self.inner.graph.keys.name(k)?, v);
        }
        Ok(map)
    }

    /// Removes an edge from the transaction's view: the edge and both adjacency
    /// entries. Any failure after the first change aborts the transaction.
    fn delete_edge_inner(&mut self, e: EdgeId) -> Result<()> {
        let before = if self.observing() && self.contains_edge(e)? {
            Some((self.edge(e)?, self.edge_properties(e)?))
        } else {
            None
        };
        let (source, target, edge_type) = self.write_edge(e, |state| {
            state.deleted = true;
            Ok((
                (state.source, state.target, state.edge_type),
                Some(Undo::Undelete),
            ))
        })?;
        let out = Adj {
            edge_type,
            other: target,
            edge: e,
        };
        let inc = Adj {
            edge_type,
            other: source,
            edge: e,
        };
        let r = self
            .write_vertex(source, |s| {
                remove_adj(&mut s.out_edges, e);
                Ok(((), Some(Undo::AddOut(out))))
            })
            .and_then(|()| {
                self.write_vertex(target, |s| {
                    remove_adj(&mut s.in_edges, e);
                    Ok(((), Some(Undo::AddIn(inc))))
                })
            });
        self.abort_unless_ok(r)?;
        self.edge_balance -= 1;
        self.log(|| WalOp::DeleteEdge { edge: e.0 });
        if let Some((edge, properties)) = before {
            self.record(|| Change::EdgeDeleted { edge, properties });
        }
        Ok(())
    }

    fn abort_unless_ok<T>(&mut self, r: Result<T>) -> Result<T> {
        match r {
            Ok(t) => Ok(t),
            Err(e) if matches!(self.status, Status::Aborted { .. }) => Err(e),
            Err(e) => Err(self.abort(e)),
        }
    }
}

/// The value of property `key` for a view.
fn property_at_view(
    blob: &[u8],
    head: &Option<Box<Delta>>,
    view: &View<'_>,
    key: u32,
) -> Result<Option<PropertyValue>> {
    let mut value = props::get(blob, key)?;
    for u in view.undos(head) {
        if let Undo::SetProperty(k, old) = u
            && *k == key
        {
            value = old.clone();
        }
    }
    Ok(value)
}

fn properties_at_view(
    blob: &[u8],
    head: &Option<Box<Delta>>,
    view: &View<'_>,
) -> Result<BTreeMap<u32, PropertyValue>> {
    let mut map: BTreeMap<u32, PropertyValue> = props::all(blob)?.into_iter().collect();
    for u in view.undos(head) {
        if let Undo::SetProperty(k, old) = u {
            match old {
                Some(v) => map.insert(*k, v.clone()),
                None => map.remove(k),
            };
        }
    }
    Ok(map)
}

impl Drop for InMemoryTxn<'_> {
    fn drop(&mut self) {
        if self.status == Status::Active {
            self.rollback_writes();
        }
        self.unregister();
    }
}

impl<'e> Transaction for InMemoryTxn<'e> {
    type Vertices<'t>
        = VertexIter<'t, 'e>
    where
        Self: 't;
    type Edges<'t>
        = EdgeIter
    where
        Self: 't;

    fn isolation_level(&self) -> IsolationLevel {
        self.level
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn contains_vertex(&self, vertex: VertexId) -> Result<bool> {
        Ok(self.read_vertex(vertex, |_, _| Ok(()))?.is_some())
    }

    fn vertex_labels(&self, vertex: VertexId) -> Result<Vec<engine_api::Name>> {
        let ids = self
            .read_vertex(vertex, |state, view| {
                let mut labels = state.labels.clone();
                for u in view.undos(&state.delta) {
                    match u {
                        Undo::AddLabel(l) if !labels.contains(l) => labels.push(*l),
                        Undo::RemoveLabel(l) => labels.retain(|x| x != l),
                        _ => {}
                    }
                }
                Ok(labels)
            })?
            .ok_or_else(|| vertex_not_found(vertex))?;
        ids.into_iter()
            .map(|l| self.inner.graph.labels.name(l))
            .collect()
    }

    fn has_label(&self, vertex: VertexId, label: &str) -> Result<bool> {
        let Some(l) = self.inner.graph.labels.lookup(label) else {
            return if self.contains_vertex(vertex)? {
                Ok(false)
            } else {
                Err(vertex_not_found(vertex))
            };
        };
        if self.vertex_matches(vertex.0, Some(l), &[])? {
            Ok(true)
        } else if self.contains_vertex(vertex)? {
            Ok(false)
        } else {
            Err(vertex_not_found(vertex))
        }
    }

    fn for_each_label(&self, vertex: VertexId, mut f: impl FnMut(&str)) -> Result<()> {
        let names = &self.inner.graph.labels;
        self.read_vertex(vertex, |state, view| {
            if view.undos(&state.delta).all(|u| u.label().is_none()) {
                for l in &state.labels {
                    names.with_name(*l, &mut f)?;
                }
                return Ok(());
            }
            let mut labels = state.labels.clone();
            for u in view.undos(&state.delta) {
                match u {
                    Undo::AddLabel(l) if !labels.contains(l) => labels.push(*l),
                    Undo::RemoveLabel(l) => labels.retain(|x| x != l),
                    _ => {}
                }
            }
            for l in labels {
                names.with_name(l, &mut f)?;
            }
            Ok(())
        })?
        .ok_or_else(|| vertex_not_found(vertex))
    }

    fn with_vertex_property<R>(
        &self,
        vertex: VertexId,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R> {
        self.property_ref_of::<VertexState, R>(vertex.0, key, f)
    }

    fn vertex_properties(&self, vertex: VertexId) -> Result<PropertyMap> {
        self.properties_of::<VertexState>(vertex.0)
    }

    fn vertices(&self) -> Result<VertexIter<'_, 'e>> {
        self.ensure_usable()?;
        Ok(VertexIter::all(self))
    }

    fn vertices_with_label(&self, label: &str) -> Result<VertexIter<'_, 'e>> {
        self.ensure_usable()?;
        Ok(match self.inner.graph.labels.lookup(label) {
            Some(l) => VertexIter::label(self, l, Vec::new()),
            None => VertexIter::empty(self),
        })
    }

    fn vertices_with_properties(
        &self,
        label: &str,
        filters: &[(&str, PropertyBounds)],
    ) -> Result<VertexIter<'_, 'e>> {
        self.scan_vertices_with_properties(label, filters)
    }

    fn edges_with_type(
        &self,
        edge_type: &str,
        filter: Option<(&str, &PropertyBounds)>,
    ) -> Result<EdgeIter> {
        self.scan_edges_with_type(edge_type, filter)
    }

    fn vertex_lookup_index(&self, label: &str, keys: &[&str]) -> Result<Option<IndexSpec>> {
        self.plan_vertex_lookup(label, keys)
    }

    fn edge_lookup_index(&self, edge_type: &str, key: Option<&str>) -> Result<Option<IndexSpec>> {
        self.plan_edge_lookup(edge_type, key)
    }

    fn edges(
        &self,
        vertex: VertexId,
        direction: Direction,
        edge_type: Option<&str>,
    ) -> Result<EdgeIter> {
        let type_id = match edge_type {
            Some(name) => match self.inner.graph.edge_types.lookup(name) {
                Some(t) => Some(t),
                None => {
                    // Still NotFound for a missing vertex.
                    if !self.contains_vertex(vertex)? {
                        return Err(vertex_not_found(vertex));
                    }
                    return Ok(EdgeIter::new(Vec::new()));
                }
            },
            None => None,
        };
        let (out, inc) = self.visible_adjacency(vertex)?;
        let wanted = |a: &Adj| type_id.is_none_or(|t| t == a.edge_type);
        let mut records = Vec::new();
        if matches!(direction, Direction::Out | Direction::Both) {
            for a in out.iter().filter(|a| wanted(a)) {
                records.push(self.edge_record(a, true, vertex)?);
            }
        }
        if matches!(direction, Direction::In | Direction::Both) {
            for a in inc.iter().filter(|a| wanted(a)) {
                // A self-loop is in both lists; yield it once for Both.
                if direction == Direction::Both && a.other == vertex {
                    continue;
                }
                records.push(self.edge_record(a, false, vertex)?);
            }
        }
        Ok(EdgeIter::new(records))
    }

    fn contains_edge(&self, edge: EdgeId) -> Result<bool> {
        Ok(self.read_edge(edge, |_, _| Ok(()))?.is_some())
    }

    fn edge(&self, edge: EdgeId) -> Result<EdgeRecord> {
        let (t, source, target) = self
            .read_edge(edge, |state, _| {
                Ok((state.edge_type, state.source, state.target))
            })?
            .ok_or_else(|| edge_not_found(edge))?;
        Ok(EdgeRecord {
            id: edge,
            edge_type: self.inner.graph.edge_types.name(t)?,
            source,
            target,
        })
    }

    fn with_edge<R>(&self, edge: EdgeId, f: impl FnOnce(EdgeRef<'_>) -> R) -> Result<R> {
        let types = &self.inner.graph.edge_types;
        self.read_edge(edge, |state, _| {
            types.with_name(state.edge_type, |name| {
                f(EdgeRef {
                    id: edge,
                    edge_type: name,
                    source: state.source,
                    target: state.target,
                })
            })
        })?
        .ok_or_else(|| edge_not_found(edge))
    }

    fn with_edge_property<R>(
        &self,
        edge: EdgeId,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R> {
        self.property_ref_of::<EdgeState, R>(edge.0, key, f)
    }

    fn edge_properties(&self, edge: EdgeId) -> Result<PropertyMap> {
        self.properties_of::<EdgeState>(edge.0)
    }

    fn create_vertex(&mut self) -> Result<VertexId> {
        self.create_vertex_with(&[], &[])
    }

    fn create_vertex_with(
        &mut self,
        labels: &[&str],
        properties: &[(&str, PropertyValue)],
    ) -> Result<VertexId> {
        self.ensure_writable()?;
        let inner = self.inner;
        let mut label_ids = Labels::new();
        for l in labels {
            let id = inner.graph.labels.intern(l)?;
            if !label_ids.contains(&id) {
                label_ids.push(id);
            }
        }
        let mut pairs: SmallVec<[_; 4]> = SmallVec::with_capacity(properties.len());
        for (k, v) in properties {
            v.validate()?;
            pairs.push((inner.graph.keys.intern(k)?, v.clone()));
        }
        let id = inner
            .graph
            .next_vertex
            .next_id(engine_api::kit::SLOT_CAPACITY)
            .ok_or_else(|| Error::invalid_input("the vertex id space is exhausted"))?;
        inner.clock.ensure_reserved(Some(id), None)?;
        let slot = inner
            .graph
            .vertices
            .get_or_alloc(id)
            .ok_or_else(|| Error::invalid_input("the vertex id space is exhausted"))?;
        let mut state = VertexState {
            labels: label_ids,
            props: props::build(&mut pairs),
            ..VertexState::default()
        };
        push_delta(&mut state.delta, &self.shared, Undo::Uncreate);
        {
            let mut guard = slot.write();
            for l in &state.labels {
                inner.graph.label_index.insert(*l, id)?;
            }
            // The catalog is read after the label entries went in: an index build
            // that missed them in the label sets published its key set before.
            let catalog = inner.schema.catalog.load();
            let keys =
                keys_for_vertex(&catalog.vertex_sets, &state.labels, &state.props, |_| true)?;
            for (i, key) in keys {
                catalog.vertex_sets[i].insert(key, id);
            }
            *guard = Some(state);
        }
        self.touched.push(Object::Vertex(id));
        self.vertex_balance += 1;
        self.record(|| Change::vertex_created(VertexId(id), labels, properties));
        self.log(|| {
            let mut names: Vec<String> = Vec::with_capacity(labels.len());
            for l in labels {
                if !names.iter().any(|n| n == l) {
                    names.push(l.to_string());
                }
            }
            WalOp::CreateVertex {
                id,
                labels: names,
                properties: properties
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            }
        });
        Ok(VertexId(id))
    }

    fn add_label(&mut self, vertex: VertexId, label: &str) -> Result<bool> {
        self.ensure_writable()?;
        let inner = self.inner;
        let l = inner.graph.labels.intern(label)?;
        let added = self.write_vertex(vertex, |state| {
            if state.labels.contains(&l) {
                return Ok((false, None));
            }
            inner.graph.label_index.insert(l, vertex.0)?;
            let catalog = inner.schema.catalog.load();
            let mut labels = state.labels.clone();
            labels.push(l);
            let keys = keys_for_vertex(&catalog.vertex_sets, &labels, &state.props, |s| {
                s.label == l
            })?;
            for (i, key) in keys {
                catalog.vertex_sets[i].insert(key, vertex.0);
            }
            state.labels = labels;
            Ok((true, Some(Undo::RemoveLabel(l))))
        })?;
        if added {
            self.log(|| WalOp::AddLabel {
                vertex: vertex.0,
                label: label.to_string(),
            });
            self.record(|| Change::LabelAdded {
                vertex,
                label: label.to_string(),
            });
        }
        Ok(added)
    }

    fn remove_label(&mut self, vertex: VertexId, label: &str) -> Result<bool> {
        let l = self.inner.graph.labels.lookup(label);
        let removed = self.write_vertex(vertex, |state| {
            let Some(l) = l.filter(|l| state.labels.contains(l)) else {
                return Ok((false, None));
            };
            state.labels.retain(|x| *x != l);
            Ok((true, Some(Undo::AddLabel(l))))
        })?;
        if removed {
            self.log(|| WalOp::RemoveLabel {
                vertex: vertex.0,
                label: label.to_string(),
            });
            self.record(|| Change::LabelRemoved {
                vertex,
                label: label.to_string(),
            });
        }
        Ok(removed)
    }

    fn set_vertex_property(
        &mut self,
        vertex: VertexId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>> {
        self.ensure_writable()?;
        value.validate()?;
        let k = self.inner.graph.keys.intern(key)?;
        let changed = !value.is_null();
        let inner = self.inner;
        let old = self.write_vertex(vertex, |state| {
            let (blob, old) = props::set(&state.props, k, Some(&value))?;
            if value.is_null() && old.is_none() {
                return Ok((None, None));
            }
            let catalog = inner.schema.catalog.load();
            let keys = keys_for_vertex(&catalog.vertex_sets, &state.labels, &blob, |s| {
                s.covers_key(k)
            })?;
            for (i, key) in keys {
                catalog.vertex_sets[i].insert(key, vertex.0);
            }
            state.props = blob;
            Ok((old.clone(), Some(Undo::SetProperty(k, old))))
        })?;
        if changed || old.is_some() {
            if self.observing() {
                let (old, new) = (old.clone(), value.clone());
                self.record(|| Change::VertexPropertySet {
                    vertex,
                    key: key.to_string(),
                    old,
                    new,
                });
            }
            self.log(|| WalOp::SetVertexProperty {
                vertex: vertex.0,
                key: key.to_string(),
                value,
            });
        }
        Ok(old)
    }

    fn delete_vertex(&mut self, vertex: VertexId, mode: DeleteMode) -> Result<()> {
        self.ensure_writable()?;
        if mode == DeleteMode::Detach {
            loop {
                let (out, inc) = self.visible_adjacency(vertex)?;
                if out.is_empty() && inc.is_empty() {
                    break;
                }
                let mut ids: Vec<EdgeId> = out.iter().chain(&inc).map(|a| a.edge).collect();
                ids.sort_unstable();
                ids.dedup();
                for e in ids {
                    let r = self.delete_edge_inner(e);
                    self.abort_unless_ok(r)?;
                }
            }
        }
        let before = if self.observing() && self.contains_vertex(vertex)? {
            let labels = self
                .vertex_labels(vertex)?
                .iter()
                .map(|l| l.to_string())
                .collect();
            Some((labels, self.vertex_properties(vertex)?))
        } else {
            None
        };
        let r = self.write_vertex(vertex, |state| {
            if !state.out_edges.is_empty() || !state.in_edges.is_empty() {
                return Err(Error::new(
                    ErrorKind::HasEdges,
                    format!(
                        "vertex {} still has {} edge(s); use a detach delete",
                        vertex.0,
                        state.out_edges.len() + state.in_edges.len()
                    ),
                ));
            }
            state.deleted = true;
            Ok(((), Some(Undo::Undelete)))
        });
        if r.is_ok() {
            self.vertex_balance -= 1;
            self.log(|| WalOp::DeleteVertex { vertex: vertex.0 });
            if let Some((labels, properties)) = before {
                self.record(|| Change::VertexDeleted {
                    vertex,
                    labels,
                    properties,
                });
            }
        } else if mode == DeleteMode::Detach {
            // Edges may already be gone; never leave half a detach delete behind.
            return self.abort_unless_ok(r);
        }
        r
    }

    fn create_edge(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
    ) -> Result<EdgeId> {
        self.create_edge_with(source, target, edge_type, &[])
    }

    fn create_edge_with(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
        properties: &[(&str, PropertyValue)],
    ) -> Result<EdgeId> {
        self.ensure_writable()?;
        let inner = self.inner;
        // Endpoints lie anywhere in the graph: their slots are asked for now, so the
        // misses overlap the names and values checked first.
        for v in [source, target] {
            if let Some(slot) = inner.graph.vertices.get(v.0) {
                engine_api::kit::prefetch(slot);
            }
        }
        let t = inner.graph.edge_types.intern(edge_type)?;
        let mut pairs: SmallVec<[_; 4]> = SmallVec::with_capacity(properties.len());
        for (k, v) in properties {
            v.validate()?;
            pairs.push((inner.graph.keys.intern(k)?, v.clone()));
        }
        // Fail cleanly (without aborting) when an endpoint is missing. Each
        // adjacency list's end is asked for on the way: the entry goes there.
        for (v, outgoing) in [(source, true), (target, false)] {
            let seen = self.read_vertex(v, |state, _| {
                let list = if outgoing {
                    &state.out_edges
                } else {
                    &state.in_edges
                };
                if let Some(last) = list.last() {
                    engine_api::kit::prefetch(last);
                }
                Ok(())
            })?;
            if seen.is_none() {
                return Err(vertex_not_found(v));
            }
        }
        let id = inner
            .graph
            .next_edge
            .next_id(engine_api::kit::SLOT_CAPACITY)
            .ok_or_else(|| Error::invalid_input("the edge id space is exhausted"))?;
        inner.clock.ensure_reserved(None, Some(id))?;
        let slot = inner
            .graph
            .edges
            .get_or_alloc(id)
            .ok_or_else(|| Error::invalid_input("the edge id space is exhausted"))?;
        let e = EdgeId(id);
        let mut state = EdgeState {
            deleted: false,
            edge_type: t,
            source,
            target,
            props: props::build(&mut pairs),
            delta: None,
        };
        push_delta(&mut state.delta, &self.shared, Undo::Uncreate);
        {
            let mut guard = slot.write();
            let catalog = inner.schema.catalog.load();
            let keys = keys_for_edge(&catalog.edge_sets, t, &state.props, |_| true)?;
            for (i, key) in keys {
                catalog.edge_sets[i].insert(key, id);
            }
            *guard = Some(state);
        }
        self.touched.push(Object::Edge(id));
        // Both endpoints are written, so a concurrent delete of either conflicts.
        let out = Adj {
            edge_type: t,
            other: target,
            edge: e,
        };
        let inc = Adj {
            edge_type: t,
            other: source,
            edge: e,
        };
        let r = self
            .write_vertex(source, |s| {
                // Doubling, as `push` would, into an allocation of this thread (see
                // `make_room`): the list may be another thread's.
                let double = s.out_edges.len().max(4);
                make_room(&mut s.out_edges, double);
                s.out_edges.push(out);
                Ok(((), Some(Undo::RemoveOut(out))))
            })
            .and_then(|()| {
                self.write_vertex(target, |s| {
                    let double = s.in_edges.len().max(4);
                    make_room(&mut s.in_edges, double);
                    s.in_edges.push(inc);
                    Ok(((), Some(Undo::RemoveIn(inc))))
                })
            });
        self.abort_unless_ok(r)?;
        self.edge_balance += 1;
        if self.observing() {
            let edge = EdgeRecord {
                id: e,
                edge_type: inner.graph.edge_types.name(t)?,
                source,
                target,
            };
            self.record(|| Change::edge_created(edge, properties));
        }
        self.log(|| WalOp::CreateEdge {
            id,
            source: source.0,
            target: target.0,
            edge_type: edge_type.to_string(),
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        });
        Ok(e)
    }

    fn set_edge_property(
        &mut self,
        edge: EdgeId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>> {
        self.ensure_writable()?;
        value.validate()?;
        let k = self.inner.graph.keys.intern(key)?;
        let changed = !value.is_null();
        let inner = self.inner;
        let old = self.write_edge(edge, |state| {
            let (blob, old) = props::set(&state.props, k, Some(&value))?;
            if value.is_null() && old.is_none() {
                return Ok((None, None));
            }
            let catalog = inner.schema.catalog.load();
            let keys = keys_for_edge(&catalog.edge_sets, state.edge_type, &blob, |s| {
                s.key == Some(k)
            })?;
            for (i, key) in keys {
                catalog.edge_sets[i].insert(key, edge.0);
            }
            state.props = blob;
            Ok((old.clone(), Some(Undo::SetProperty(k, old))))
        })?;
        if changed || old.is_some() {
            if self.observing() {
                let (old, new) = (old.clone(), value.clone());
                self.record(|| Change::EdgePropertySet {
                    edge,
                    key: key.to_string(),
                    old,
                    new,
                });
            }
            self.log(|| WalOp::SetEdgeProperty {
                edge: edge.0,
                key: key.to_string(),
                value,
            });
        }
        Ok(old)
    }

    fn delete_edge(&mut self, edge: EdgeId) -> Result<()> {
        self.ensure_writable()?;
        self.delete_edge_inner(edge)
    }

    fn commit(self) -> Result<CommitInfo> {
        self.commit_now()
    }

    fn rollback(mut self) {
        if self.status == Status::Active {
            self.rollback_writes();
        }
        self.unregister();
    }
}

/// The error of a transaction used after it was rolled back.
#[cold]
fn rolled_back(after_conflict: bool) -> Error {
    Error::aborted(
        if after_conflict {
            "the transaction was rolled back after a conflict; run it again"
        } else {
            "the transaction was rolled back after an earlier error"
        },
        after_conflict,
    )
}

/// The error of a transaction used after it committed or rolled back.
#[cold]
fn finished() -> Error {
    Error::aborted("the transaction has already finished", false)
}
