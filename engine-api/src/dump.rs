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
        let key_of = |v: VertexId| {
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
