//! The `StorageEngine` and `Transaction` traits.

use crate::capabilities::{Capabilities, IsolationLevel};
use crate::durability::{
    DataDirectoryLease, EngineStats, LockChange, LockStatus, RecoveryReport, SnapshotInfo,
};
use crate::error::{Error, Result};
use crate::ids::{DeleteMode, Direction, EdgeId, EdgeRecord, EdgeRef, Name, VertexId};
use crate::schema::{
    ConstraintSpec, IndexInfo, IndexSpec, ObserverId, SharedObserver, TriggerPhase, TriggerSpec,
};
use crate::txn::{CommitInfo, TxnOptions};
use crate::value::{PropertyBounds, PropertyMap, PropertyValue};
use crate::value_ref::ValueRef;

/// A graph storage engine: one database, many concurrent transactions.
///
/// Schema and durability operations run outside user transactions. The ones a backend
/// does not offer return [`crate::ErrorKind::Unsupported`] (the default methods), and
/// its [`Capabilities`] say so.
pub trait StorageEngine: Send + Sync + Sized {
    /// The transaction type; it borrows the engine.
    type Txn<'e>: Transaction
    where
        Self: 'e;

    /// What this backend promises.
    fn capabilities(&self) -> &Capabilities;

    /// Starts a transaction.
    ///
    /// Errors: [`crate::ErrorKind::Unsupported`] for an isolation level the
    /// capabilities do not list; [`crate::ErrorKind::Blocked`] where a snapshot blocks
    /// new transactions longer than the configured wait.
    fn begin(&self, options: TxnOptions) -> Result<Self::Txn<'_>>;

    /// Counts and sizes.
    fn stats(&self) -> Result<EngineStats>;

    /// Flushes what must be flushed, writes a snapshot on exit if configured, and
    /// releases the data directory. Dropping the engine instead of closing it behaves
    /// like a crash for durability purposes.
    fn close(self) -> Result<()>;

    /// Creates an index on the existing data; transactions that begin after it
    /// returns use it. Readers and writers go on while it is built (each backend's
    /// docs say what waits, and how long).
    ///
    /// Errors: `AlreadyExists` for an index with the same definition, `InvalidInput`
    /// for a bad definition ([`IndexSpec::validate`]).
    fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        let _ = spec;
        Err(Error::unsupported("create_index"))
    }

    /// Drops an index. Errors: `NotFound` if there is none with this definition.
    fn drop_index(&self, spec: &IndexSpec) -> Result<()> {
        let _ = spec;
        Err(Error::unsupported("drop_index"))
    }

    /// Lists the indexes with their sizes, in definition order (`IndexSpec`'s `Ord`).
    fn indexes(&self) -> Result<Vec<IndexInfo>> {
        Err(Error::unsupported("indexes"))
    }

    /// Creates a constraint, checking it against the existing (committed) data first;
    /// from then on every commit is checked against it.
    ///
    /// Errors: `ConstraintViolation` naming a vertex that violates it (no constraint
    /// is left behind), `AlreadyExists` (for a type constraint: any type constraint
    /// on the same label and property), `InvalidInput` for a bad definition.
    fn create_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        let _ = spec;
        Err(Error::unsupported("create_constraint"))
    }

    /// Drops a constraint. Errors: `NotFound` if there is none with this definition.
    fn drop_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        let _ = spec;
        Err(Error::unsupported("drop_constraint"))
    }

    /// Lists the constraints, in definition order (`ConstraintSpec`'s `Ord`).
    fn constraints(&self) -> Result<Vec<ConstraintSpec>> {
        Err(Error::unsupported("constraints"))
    }

    /// Stores a trigger in the catalog (the engine never runs it; see
    /// [`crate::CommitObserver`]). Errors: `AlreadyExists` for a trigger of the same
    /// name, `InvalidInput` for an empty name or statement.
    fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        let _ = spec;
        Err(Error::unsupported("create_trigger"))
    }

    /// Removes a trigger by name. Errors: `NotFound`.
    fn drop_trigger(&self, name: &str) -> Result<()> {
        let _ = name;
        Err(Error::unsupported("drop_trigger"))
    }

    /// Lists the triggers, by name.
    fn triggers(&self) -> Result<Vec<TriggerSpec>> {
        Err(Error::unsupported("triggers"))
    }

    /// Registers an observer of committed transactions for `phase` (see
    /// [`crate::CommitObserver`] for when it is called and what it may do). Observers
    /// live in memory only: register them again after opening the engine.
    fn add_commit_observer(
        &self,
        phase: TriggerPhase,
        observer: SharedObserver,
    ) -> Result<ObserverId> {
        let _ = (phase, observer);
        Err(Error::unsupported("add_commit_observer"))
    }

    /// Unregisters an observer. Errors: `NotFound` for an unknown id.
    fn remove_commit_observer(&self, id: ObserverId) -> Result<()> {
        let _ = id;
        Err(Error::unsupported("remove_commit_observer"))
    }

    /// Writes a snapshot of a consistent committed state.
    fn create_snapshot(&self) -> Result<SnapshotInfo> {
        Err(Error::unsupported("create_snapshot"))
    }

    /// What opening this engine recovered from: the snapshot, newer snapshots passed
    /// over as damaged, commits replayed, a torn WAL tail cut off. Check
    /// [`RecoveryReport::used_a_fallback`] after opening a database that matters.
    fn recovery_report(&self) -> Result<RecoveryReport> {
        Err(Error::unsupported("recovery_report"))
    }

    /// Lists the snapshots on disk, oldest first. A snapshot whose header does not
    /// verify fails the call with `Corrupt`, naming the file (it is never left out).
    fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        Err(Error::unsupported("snapshots"))
    }

    /// Defers deletions of durability files until unlock (for a backup that copies
    /// files). Locking a locked directory reports [`LockChange::Unchanged`].
    ///
    /// The deferred deletions are kept in memory. If the engine closes or crashes
    /// while the directory is locked they are not carried out: the files stay, and
    /// the retention of the next snapshot written after the directory is opened again
    /// (and not locked) deletes whatever is still beyond the retention count.
    fn lock_data_directory(&self) -> Result<LockChange> {
        Err(Error::unsupported("lock_data_directory"))
    }

    /// Carries out the deferred deletions and lets future ones happen.
    fn unlock_data_directory(&self) -> Result<LockChange> {
        Err(Error::unsupported("unlock_data_directory"))
    }

    /// Locks the data directory against deletions until the returned lease is dropped.
    /// Leases and [`StorageEngine::lock_data_directory`] overlap freely; the directory
    /// is unlocked (and deferred deletions carried out) when all are released.
    fn data_directory_lease(&self) -> Result<DataDirectoryLease> {
        Err(Error::unsupported("data_directory_lease"))
    }

    /// Whether the data directory is locked (by the plain lock or any lease).
    fn data_directory_lock_status(&self) -> Result<LockStatus> {
        Err(Error::unsupported("data_directory_lock_status"))
    }
}

/// One transaction. Reads take `&self`, writes `&mut self`; `commit` and `rollback`
/// consume it, and dropping it without commit rolls it back.
///
/// Reads see the transaction's own writes. Operations on an unknown or deleted id
/// return [`crate::ErrorKind::NotFound`]. Every read returns `Result`, because a disk
/// backend can fail with `Io` or `Corrupt` on any read.
///
/// After a write fails with [`crate::ErrorKind::Conflict`] the transaction has been
/// rolled back; later calls return [`crate::ErrorKind::Aborted`].
pub trait Transaction {
    /// Iterator over vertex ids.
    type Vertices<'t>: Iterator<Item = Result<VertexId>>
    where
        Self: 't;
    /// Iterator over edges.
    type Edges<'t>: Iterator<Item = Result<EdgeRecord>>
    where
        Self: 't;

    /// The isolation level this transaction runs at.
    fn isolation_level(&self) -> IsolationLevel;

    /// True if writes are refused.
    fn is_read_only(&self) -> bool;

    /// True if the vertex exists for this transaction.
    fn contains_vertex(&self, vertex: VertexId) -> Result<bool>;

    /// The vertex's labels, in no particular order.
    fn vertex_labels(&self, vertex: VertexId) -> Result<Vec<Name>>;

    /// Calls `f` with each of the vertex's labels, borrowed from the engine's
    /// dictionary, in no particular order (what [`Transaction::vertex_labels`] returns,
    /// without a vector).
    ///
    /// `f` may run while the backend holds what the names borrow
    /// (IN_MEMORY_TRANSACTIONAL: the vertex's read lock), so keep it short. Reads
    /// through the same transaction inside `f` are allowed.
    fn for_each_label(&self, vertex: VertexId, f: impl FnMut(&str)) -> Result<()>;

    /// True if the vertex has `label`.
    fn has_label(&self, vertex: VertexId, label: &str) -> Result<bool>;

    /// Hands one property of a vertex to `f` where the backend keeps it (`None` if it
    /// is not set) and returns what `f` returns. No owned value is built: a string is
    /// borrowed in place, a list or map stays encoded and decodes as it is iterated
    /// (IN_MEMORY_ANALYTICAL lends it from a copy of the encoded value, on the stack up
    /// to 64 bytes, so that `f` runs with no lock held: its writers lock two objects
    /// at once). [`Transaction::vertex_property`] is the owned convenience over this.
    ///
    /// ```
    /// # use engine_api::{StorageEngine, Transaction, TxnOptions};
    /// # fn main() -> engine_api::Result<()> {
    /// # let engine = engine_inmem_txn::InMemoryEngine::open(Default::default())?;
    /// # let mut w = engine.begin(TxnOptions::new())?;
    /// # let v = w.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
    /// # w.commit()?;
    /// let t = engine.begin(TxnOptions::new().read_only())?;
    /// let len = t.with_vertex_property(v, "name", |name| name.and_then(|n| n.as_str()).map(str::len))?;
    /// assert_eq!(len, Some(3));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// The value lives for the call only (the backend may hold the vertex's lock or a
    /// pinned block meanwhile), so it cannot be kept past it, let alone past the
    /// transaction; this does not compile:
    ///
    /// ```compile_fail
    /// # use engine_api::{StorageEngine, Transaction, TxnOptions, ValueRef};
    /// # fn main() -> engine_api::Result<()> {
    /// # let engine = engine_inmem_txn::InMemoryEngine::open(Default::default())?;
    /// # let v = engine_api::VertexId(0);
    /// let kept: Option<ValueRef<'_>> = {
    ///     let t = engine.begin(TxnOptions::new().read_only())?;
    ///     t.with_vertex_property(v, "name", |name| name)?
    /// };
    /// # drop(kept);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// `f` may run while the backend holds what the value borrows
    /// (IN_MEMORY_TRANSACTIONAL: the vertex's read lock), so keep it short: writers of
    /// this vertex may wait for it. Reads through the same transaction inside `f`, of
    /// this object or others, are allowed.
    fn with_vertex_property<R>(
        &self,
        vertex: VertexId,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R>;

    /// One property of a vertex, copied out; `None` if it is not set (see
    /// [`Transaction::with_vertex_property`] to read it in place).
    fn vertex_property(&self, vertex: VertexId, key: &str) -> Result<Option<PropertyValue>> {
        self.with_vertex_property(vertex, key, |v| v.map(|v| v.to_value()))
    }

    /// All properties of a vertex.
    fn vertex_properties(&self, vertex: VertexId) -> Result<PropertyMap>;

    /// All vertices, in ascending id order.
    fn vertices(&self) -> Result<Self::Vertices<'_>>;

    /// Vertices with `label`, in ascending id order, without visiting vertices of other
    /// labels.
    fn vertices_with_label(&self, label: &str) -> Result<Self::Vertices<'_>>;

    /// Vertices with `label` whose properties are each selected by their bounds (all
    /// of them: a conjunction), in ascending id order. Served by the index of
    /// [`Transaction::vertex_lookup_index`] where there is one, by a label scan
    /// otherwise; both give the same result. No filters: the label scan.
    fn vertices_with_properties(
        &self,
        label: &str,
        filters: &[(&str, PropertyBounds)],
    ) -> Result<Self::Vertices<'_>>;

    /// Vertices with `label` whose `key` property is selected by `bounds`, in ascending
    /// id order; served by an index where one exists, by a label scan otherwise.
    fn vertices_with_property(
        &self,
        label: &str,
        key: &str,
        bounds: &PropertyBounds,
    ) -> Result<Self::Vertices<'_>> {
        self.vertices_with_properties(label, &[(key, bounds.clone())])
    }

    /// Edges of `edge_type`, optionally only those whose `key` property is selected by
    /// the bounds, in ascending id order. Served by an edge-type (+ property) index
    /// where one exists, by a scan of every vertex's outgoing edges otherwise.
    fn edges_with_type(
        &self,
        edge_type: &str,
        filter: Option<(&str, &PropertyBounds)>,
    ) -> Result<Self::Edges<'_>>;

    /// The index [`Transaction::vertices_with_properties`] would use for a lookup on
    /// `label` filtering `keys`, or `None` for a label scan. A label+properties index
    /// serves a lookup that filters at least its first property (a prefix of a
    /// composite index); the one matching the longest prefix of its properties wins.
    fn vertex_lookup_index(&self, label: &str, keys: &[&str]) -> Result<Option<IndexSpec>>;

    /// The index [`Transaction::edges_with_type`] would use, or `None` for a scan.
    fn edge_lookup_index(&self, edge_type: &str, key: Option<&str>) -> Result<Option<IndexSpec>>;

    /// The edges of `vertex` in `direction`, optionally only of `edge_type`.
    fn edges(
        &self,
        vertex: VertexId,
        direction: Direction,
        edge_type: Option<&str>,
    ) -> Result<Self::Edges<'_>>;

    /// True if the edge exists for this transaction.
    fn contains_edge(&self, edge: EdgeId) -> Result<bool>;

    /// An edge's type and endpoints.
    fn edge(&self, edge: EdgeId) -> Result<EdgeRecord>;

    /// Hands an edge's type and endpoints to `f`, the type's name borrowed from the
    /// engine's dictionary (what [`Transaction::edge`] returns, without sharing the
    /// name). `f` runs as in [`Transaction::with_vertex_property`].
    fn with_edge<R>(&self, edge: EdgeId, f: impl FnOnce(EdgeRef<'_>) -> R) -> Result<R>;

    /// Hands one property of an edge to `f` where the backend keeps it, as
    /// [`Transaction::with_vertex_property`] does for a vertex.
    fn with_edge_property<R>(
        &self,
        edge: EdgeId,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R>;

    /// One property of an edge, copied out; `None` if it is not set.
    fn edge_property(&self, edge: EdgeId, key: &str) -> Result<Option<PropertyValue>> {
        self.with_edge_property(edge, key, |v| v.map(|v| v.to_value()))
    }

    /// All properties of an edge.
    fn edge_properties(&self, edge: EdgeId) -> Result<PropertyMap>;

    /// Creates a vertex with no labels and no properties.
    fn create_vertex(&mut self) -> Result<VertexId>;

    /// Adds a label; `false` if the vertex had it already.
    fn add_label(&mut self, vertex: VertexId, label: &str) -> Result<bool>;

    /// Removes a label; `false` if the vertex did not have it.
    fn remove_label(&mut self, vertex: VertexId, label: &str) -> Result<bool>;

    /// Sets a property (`Null` removes it); returns the previous value.
    fn set_vertex_property(
        &mut self,
        vertex: VertexId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>>;

    /// Deletes a vertex. With [`DeleteMode::Plain`] a vertex that has edges is refused
    /// with [`crate::ErrorKind::HasEdges`]; [`DeleteMode::Detach`] deletes them too.
    fn delete_vertex(&mut self, vertex: VertexId, mode: DeleteMode) -> Result<()>;

    /// Creates an edge from `source` to `target`.
    fn create_edge(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
    ) -> Result<EdgeId>;

    /// Sets an edge property (`Null` removes it); returns the previous value.
    fn set_edge_property(
        &mut self,
        edge: EdgeId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>>;

    /// Deletes an edge.
    fn delete_edge(&mut self, edge: EdgeId) -> Result<()>;

    /// Commits; durable as the backend's sync mode says once this returns `Ok`.
    fn commit(self) -> Result<CommitInfo>;

    /// Undoes every write of the transaction (where the capabilities promise rollback).
    fn rollback(self);

    /// Creates a vertex with labels and properties in one call.
    fn create_vertex_with(
        &mut self,
        labels: &[&str],
        properties: &[(&str, PropertyValue)],
    ) -> Result<VertexId> {
        let v = self.create_vertex()?;
        for label in labels {
            self.add_label(v, label)?;
        }
        for (key, value) in properties {
            self.set_vertex_property(v, key, value.clone())?;
        }
        Ok(v)
    }

    /// Creates an edge with properties in one call.
    fn create_edge_with(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
        properties: &[(&str, PropertyValue)],
    ) -> Result<EdgeId> {
        let e = self.create_edge(source, target, edge_type)?;
        for (key, value) in properties {
            self.set_edge_property(e, key, value.clone())?;
        }
        Ok(e)
    }

    /// The number of vertices this transaction sees.
    fn vertex_count(&self) -> Result<u64> {
        let mut n = 0;
        for v in self.vertices()? {
            v?;
            n += 1;
        }
        Ok(n)
    }

    /// The number of edges this transaction sees.
    fn edge_count(&self) -> Result<u64> {
        let mut n = 0;
        for v in self.vertices()? {
            for e in self.edges(v?, Direction::Out, None)? {
                e?;
                n += 1;
            }
        }
        Ok(n)
    }
}
