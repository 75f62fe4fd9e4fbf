//! The dump contract: a consistent, streaming view of a whole database, for a dump
//! writer (the `dump` crate writes it as statements; no text format lives here).
//!
//! Written once over [`StorageEngine`], so every backend, a user's included, can be
//! dumped.

use crate::capabilities::IsolationLevel;
use crate::engine::{StorageEngine, Transaction};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{Direction, Name, VertexId};
use crate::schema::{ConstraintSpec, IndexSpec, TriggerSpec};
use crate::txn::TxnOptions;
use crate::value::PropertyMap;

/// One entity of a database, in dump order: every vertex, then every edge, then the
/// indexes, the constraints and the triggers.
///
/// A vertex is named by its *key*: its position among the database's vertices in id
/// order (0, 1, 2, ...). A dump then does not depend on which ids a backend handed
/// out, and a database loaded from a dump dumps the same again.
#[derive(Debug, Clone, PartialEq)]
pub enum DumpEntity {
    /// A vertex with its labels (sorted by name) and properties.
    Vertex {
        /// Its key.
        key: u64,
        /// Its labels, sorted.
        labels: Vec<Name>,
        /// Its properties.
        properties: PropertyMap,
    },
    /// An edge between two vertices named by their keys. Edges come by source key,
    /// then by edge id.
    Edge {
        /// The source vertex's key.
        source: u64,
        /// The target vertex's key.
        target: u64,
        /// The edge type.
        edge_type: Name,
        /// Its properties.
        properties: PropertyMap,
    },
    /// An index (in definition order).
    Index(IndexSpec),
    /// A constraint (in definition order).
    Constraint(ConstraintSpec),
    /// A stored trigger (by name).
    Trigger(TriggerSpec),
}

/// How many entities of each kind a dump streamed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpCounts {
    /// Vertices.
    pub vertices: u64,
    /// Edges.
    pub edges: u64,
    /// Indexes.
    pub indexes: u64,
    /// Constraints.
    pub constraints: u64,
    /// Triggers.
    pub triggers: u64,
}

/// Streams the whole database to `sink`, in [`DumpEntity`] order, from one read-only
/// transaction: a snapshot-isolated one where the backend offers snapshot isolation,
/// so writers may go on meanwhile. On a backend without isolation the caller keeps
/// writers away while it runs; an edge to a vertex the first pass did not see then
/// fails the dump with `Conflict` rather than writing a dangling reference.
///
/// Memory besides the sink's: one `u64` per vertex (the id of each key) and the edges
/// of one vertex at a time.
///
/// Errors: whatever the backend's reads or the sink return; `Conflict` as above.
pub fn dump_entities<E: StorageEngine>(
    engine: &E,
    sink: &mut dyn FnMut(DumpEntity) -> Result<()>,
) -> Result<DumpCounts> {
    let caps = engine.capabilities().clone();
    let mut options = TxnOptions::new().read_only();
    if caps.supports_isolation(IsolationLevel::SnapshotIsolation) {
        options = options.isolation(IsolationLevel::SnapshotIsolation);
    }
    let mut counts = DumpCounts::default();
    {
        let txn = engine.begin(options)?;
        let mut ids: Vec<u64> = Vec::new();
        for v in txn.vertices()? {
            let v = v?;
            let mut labels = txn.vertex_labels(v)?;
            labels.sort();
            sink(DumpEntity::Vertex {
                key: ids.len() as u64,
                labels,
                properties: txn.vertex_properties(v)?,
            })?;
            ids.push(v.0);
            counts.vertices += 1;
        }
        // Ids ascend, so when the last is `len - 1` every vertex's key is its id (the
        // common case: no vertex was ever deleted) and no search is needed.
        let dense = ids.last().is_none_or(|last| *last + 1 == ids.len() as u64);
        let key_of = |v: VertexId| {
            if dense && v.0 < ids.len() as u64 {
                return Ok(v.0);
            }
            ids.binary_search(&v.0).map(|k| k as u64).map_err(|_| {
                Error::new(
                    ErrorKind::Conflict,
                    format!("vertex {v} appeared while the database was dumped; dump it again with no writer running"),
                )
            })
        };
        let mut edges = Vec::new();
        for (source, id) in ids.iter().enumerate() {
            edges.clear();
            for e in txn.edges(VertexId(*id), Direction::Out, None)? {
                edges.push(e?);
            }
            edges.sort_by_key(|e| e.id);
            for e in edges.drain(..) {
                sink(DumpEntity::Edge {
                    source: source as u64,
                    target: key_of(e.target)?,
                    properties: txn.edge_properties(e.id)?,
                    edge_type: e.edge_type,
                })?;
                counts.edges += 1;
            }
        }
    }
    if caps.indexes {
        let mut specs: Vec<IndexSpec> = engine.indexes()?.into_iter().map(|i| i.spec).collect();
        specs.sort();
        for spec in specs {
            sink(DumpEntity::Index(spec))?;
            counts.indexes += 1;
        }
    }
    if caps.constraints {
        let mut specs = engine.constraints()?;
        specs.sort();
        for spec in specs {
            sink(DumpEntity::Constraint(spec))?;
            counts.constraints += 1;
        }
    }
    if caps.triggers {
        let mut triggers = engine.triggers()?;
        triggers.sort_by(|a, b| a.name.cmp(&b.name));
        for t in triggers {
            sink(DumpEntity::Trigger(t))?;
            counts.triggers += 1;
        }
    }
    Ok(counts)
}

/// How a [`BulkLoader`] error's note ends its first count, "(N operations were
/// committed before it; ...)" or "(1 operation was committed before it; ...)": a
/// caller that adds its own count of what went before puts it inside that note.
pub const COMMITTED_BEFORE: &str = "committed before it";

/// "1 operation was" or "N operations were": a count in a sentence, in the number
/// the count takes.
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun} was")
    } else {
        format!("{n} {noun}s were")
    }
}

/// Creates vertices and edges in transactions of a fixed number of operations: the
/// load side of a dump. Vertices are named by the caller's keys (a dump's vertex ids),
/// mapped here to the ids the backend hands out.
///
/// A failed operation rolls back its whole batch (where the backend has rollback; the
/// error says when it has not) and forgets the keys the batch created; the error says
/// how many operations were committed before it. Written once over
/// [`StorageEngine`]: each backend's own `create_vertex_with`/`create_edge_with` do
/// the work.
pub struct BulkLoader<'e, E: StorageEngine + 'e> {
    engine: &'e E,
    batch_size: usize,
    txn: Option<E::Txn<'e>>,
    in_batch: usize,
    committed: u64,
    keys: KeyMap,
    batch_keys: Vec<i64>,
}

/// The caller's keys to the vertices created for them. A dump numbers its vertices
/// 0, 1, 2, ... in order, so keys that arrive densely go into a vector of raw ids
/// (8 bytes a key, one index per lookup, two per edge; [`KeyMap::NONE`] marks a
/// hole); any other key, and an id equal to the marker, into a hash map.
#[derive(Default)]
struct KeyMap {
    dense: Vec<u64>,
    sparse: std::collections::HashMap<i64, VertexId>,
}

impl KeyMap {
    /// No vertex for this key in `dense`.
    const NONE: u64 = u64::MAX;

    fn slot(&self, key: i64) -> Option<usize> {
        usize::try_from(key).ok().filter(|k| *k < self.dense.len())
    }

    fn get(&self, key: i64) -> Option<VertexId> {
        match self.slot(key) {
            Some(k) if self.dense[k] != Self::NONE => Some(VertexId(self.dense[k])),
            _ => self.sparse.get(&key).copied(),
        }
    }

    fn insert(&mut self, key: i64, v: VertexId) {
        if v.0 == Self::NONE {
            if let Some(k) = self.slot(key) {
                self.dense[k] = Self::NONE;
            }
            self.sparse.insert(key, v);
            return;
        }
        match self.slot(key) {
            Some(k) => {
                self.dense[k] = v.0;
                if !self.sparse.is_empty() {
                    self.sparse.remove(&key);
                }
            }
            None if usize::try_from(key).is_ok_and(|k| k == self.dense.len()) => {
                self.dense.push(v.0);
            }
            None => {
                self.sparse.insert(key, v);
            }
        }
    }

    fn remove(&mut self, key: i64) {
        if let Some(k) = self.slot(key) {
            self.dense[k] = Self::NONE;
        }
        self.sparse.remove(&key);
    }

    fn len(&self) -> usize {
        self.dense.iter().filter(|v| **v != Self::NONE).count() + self.sparse.len()
    }
}

impl<E: StorageEngine> std::fmt::Debug for BulkLoader<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkLoader")
            .field("batch_size", &self.batch_size)
            .field("in_batch", &self.in_batch)
            .field("committed", &self.committed)
            .field("vertices", &self.keys.len())
            .finish()
    }
}

impl<'e, E: StorageEngine> BulkLoader<'e, E> {
    /// A loader committing every `batch_size` operations (at least 1).
    pub fn new(engine: &'e E, batch_size: usize) -> Self {
        BulkLoader {
            engine,
            batch_size: batch_size.max(1),
            txn: None,
            in_batch: 0,
            committed: 0,
            keys: KeyMap::default(),
            batch_keys: Vec::new(),
        }
    }

    /// Operations committed so far.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// The vertex created for `key`, if any.
    pub fn vertex_of(&self, key: i64) -> Option<VertexId> {
        self.keys.get(key)
    }

    fn txn(&mut self) -> Result<&mut E::Txn<'e>> {
        if self.txn.is_none() {
            self.txn = Some(self.engine.begin(TxnOptions::new())?);
        }
        self.txn
            .as_mut()
            .ok_or_else(|| Error::new(ErrorKind::Aborted, "no open batch"))
    }

    /// Rolls the open batch back and explains `e` with the count committed.
    fn fail(&mut self, e: Error) -> Error {
        let rolled_back = self.in_batch;
        if let Some(t) = self.txn.take() {
            t.rollback();
        }
        for k in self.batch_keys.drain(..) {
            self.keys.remove(k);
        }
        self.in_batch = 0;
        let undone = if rolled_back == 0 {
            String::new()
        } else if self.engine.capabilities().rollback {
            format!("; its batch of {rolled_back} was rolled back")
        } else {
            format!(
                "; its batch of {rolled_back} could not be rolled back (this backend has no rollback) and stays in the database"
            )
        };
        Error::new(
            e.kind(),
            format!(
                "{} ({} {COMMITTED_BEFORE}{undone})",
                e.message(),
                counted(self.committed, "operation")
            ),
        )
        .with_source(e)
    }

    fn done_one(&mut self) -> Result<()> {
        self.in_batch += 1;
        if self.in_batch >= self.batch_size {
            self.commit_batch()?;
        }
        Ok(())
    }

    /// Commits the open batch, if any.
    pub fn commit_batch(&mut self) -> Result<()> {
        if let Some(t) = self.txn.take()
            && let Err(e) = t.commit()
        {
            return Err(self.fail(e));
        }
        self.committed += self.in_batch as u64;
        self.in_batch = 0;
        self.batch_keys.clear();
        Ok(())
    }

    /// Creates a vertex for `key`. Errors: `InvalidInput` for a key used before (the
    /// dump contradicts itself), and
    /// whatever the backend returns (the batch is then rolled back, see above).
    pub fn vertex(
        &mut self,
        key: i64,
        labels: &[&str],
        properties: &[(&str, crate::PropertyValue)],
    ) -> Result<VertexId> {
        if self.keys.get(key).is_some() {
            let e = Error::new(
                ErrorKind::InvalidInput,
                format!("a vertex with key {key} was created before"),
            );
            return Err(self.fail(e));
        }
        let created = self
            .txn()
            .and_then(|t| t.create_vertex_with(labels, properties));
        match created {
            Ok(v) => {
                self.keys.insert(key, v);
                self.batch_keys.push(key);
                self.done_one()?;
                Ok(v)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Creates an edge between the vertices of two keys. Errors: `NotFound` for a key
    /// no vertex was created for, and whatever the backend returns.
    pub fn edge(
        &mut self,
        source: i64,
        target: i64,
        edge_type: &str,
        properties: &[(&str, crate::PropertyValue)],
    ) -> Result<()> {
        let (Some(s), Some(t)) = (self.vertex_of(source), self.vertex_of(target)) else {
            let missing = if self.vertex_of(source).is_none() {
                source
            } else {
                target
            };
            let e = Error::not_found(format!("no vertex was created for key {missing}"));
            return Err(self.fail(e));
        };
        let created = self
            .txn()
            .and_then(|txn| txn.create_edge_with(s, t, edge_type, properties));
        match created {
            Ok(_) => self.done_one(),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Commits what is open and returns the operations committed in all.
    pub fn finish(mut self) -> Result<u64> {
        self.commit_batch()?;
        Ok(self.committed)
    }
}

#[cfg(test)]
mod tests {
    use super::KeyMap;
    use crate::VertexId;

    /// Dense keys, keys out of order, negative and huge keys, removal and reuse all
    /// map as a plain map would.
    #[test]
    fn the_key_map_answers_like_a_hash_map() {
        let mut m = KeyMap::default();
        let mut model = std::collections::HashMap::new();
        let keys = [0i64, 1, 2, 5, -3, 3, 4, i64::MAX, 6, 7, 100];
        for (i, k) in keys.iter().enumerate() {
            m.insert(*k, VertexId(i as u64));
            model.insert(*k, VertexId(i as u64));
        }
        // The id that marks a hole in the vector is an id like any other.
        for (k, v) in [(8i64, u64::MAX), (2, u64::MAX), (101, u64::MAX)] {
            m.insert(k, VertexId(v));
            model.insert(k, VertexId(v));
        }
        assert_eq!(m.get(8), Some(VertexId(u64::MAX)));
        assert_eq!(m.get(2), Some(VertexId(u64::MAX)));
        assert_eq!(m.len(), model.len());
        for k in [2i64, 5, -3, 100] {
            m.remove(k);
            model.remove(&k);
        }
        m.insert(5, VertexId(50));
        model.insert(5, VertexId(50));
        m.insert(8, VertexId(80));
        model.insert(8, VertexId(80));
        for k in -5i64..120 {
            assert_eq!(m.get(k), model.get(&k).copied(), "key {k}");
        }
        assert_eq!(m.get(i64::MAX), model.get(&i64::MAX).copied());
        assert_eq!(m.len(), model.len());
    }
}
