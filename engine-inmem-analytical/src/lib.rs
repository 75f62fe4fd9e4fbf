//! Quiver's IN_MEMORY_ANALYTICAL backend: the whole graph in memory, written in place.
//! **You give up** isolation (every write is visible to every transaction at once),
//! rollback (`rollback()` and dropping a transaction keep the writes), conflict
//! detection, constraints and a write-ahead log (a crash loses what was written after
//! the newest snapshot). **You get** the fastest bulk import and the smallest memory per
//! object of the three backends, concurrent writers that never corrupt the graph,
//! every kind of index, and snapshots in the same file format as
//! IN_MEMORY_TRANSACTIONAL, so either in-memory mode opens the other's.
//!
//! ```
//! use engine_api::{Direction, StorageEngine, Transaction, TxnOptions};
//! use engine_inmem_analytical::{AnalyticalEngine, Config};
//!
//! # fn main() -> engine_api::Result<()> {
//! let engine = AnalyticalEngine::open(Config::default())?;
//! let mut import = engine.begin(TxnOptions::new())?;
//! let a = import.create_vertex_with(&["Page"], &[("url", "a.html".into())])?;
//! let b = import.create_vertex_with(&["Page"], &[("url", "b.html".into())])?;
//! import.create_edge(a, b, "LINKS")?;
//!
//! // Another transaction sees the writes before the first one commits.
//! let reader = engine.begin(TxnOptions::new().read_only())?;
//! assert_eq!(reader.edges(a, Direction::Out, None)?.count(), 1);
//!
//! // Rollback does not undo: the capabilities say so.
//! assert!(!engine.capabilities().rollback);
//! import.rollback();
//! assert!(reader.contains_vertex(b)?);
//! # Ok(())
//! # }
//! ```
//!
//! # Design
//! The modules stack without a cycle, as in the transactional mode: the graph state
//! (`graph`) and the commit clock (`clock`) are leaves the other parts take as
//! arguments; `inner` holds them with the schema, the pause and the data directory;
//! transactions (`txn`), snapshots, recovery and the engine sit on top.
//! - **Storage** (module `graph`). Vertices and edges live in append-only arrays
//!   indexed by id; the append hands out the id. Each object has its own
//!   reader-writer lock over its only state: a vertex holds its label ids (sorted),
//!   its properties encoded in the codec's property-record form, and its outgoing and
//!   incoming adjacency as (edge, other vertex, type) entries, so an expansion never
//!   visits the edges; an edge holds type, endpoints and encoded properties. Names
//!   are interned to `u32` ids. Nothing is versioned: no deltas, no timestamps per
//!   object, nothing to collect.
//! - **Writes** (module `txn`) are single steps under the locks of what they change:
//!   vertices in ascending id order, then an edge, then index internals. Creating an
//!   edge locks both endpoints and fails with `NotFound` if either is gone; a detach
//!   delete locks the vertex and all its neighbours and removes every edge, so a
//!   concurrent create-edge and delete of an endpoint end with one of them winning
//!   and the other getting `NotFound`, never with a dangling edge. Writers of
//!   different objects share no lock but an index's.
//! - **Indexes** (modules `index`, `schema`): a compressed bitmap per label, and
//!   ordered (sort key, id) sets for label+properties and edge indexes, kept exact by
//!   the writers. An index build publishes the index first and then fills it while
//!   writers go on.
//! - **Commit** (modules `txn::commit`, `clock`) only delivers the change set to commit observers (a vetoing
//!   before-commit observer fails the commit, but cannot undo its writes) and takes a
//!   commit timestamp.
//!
//! # Snapshots and the data directory
//! With [`Config::data_directory`], `create_snapshot` pauses the engine (module `pause`):
//! new transactions wait in `begin`, the snapshot waits for the running ones to end,
//! writes the graph (the `durability` crate's format) and resumes. Both
//! waits are bounded by [`Config::begin_wait`] and end in `Blocked`;
//! [`AnalyticalEngine::begin_waits`] tells how long `begin` waited. Retention,
//! `snapshots()`, lock/unlock of the directory and a snapshot on close work as in the
//! transactional mode; opening loads the newest snapshot that verifies (module
//! `recovery`).
#![deny(missing_docs)]

mod clock;
mod config;
mod engine;
mod graph;
mod index;
mod inner;
mod iter;
mod pause;
mod props;
mod recovery;
mod schema;
mod snapshot;
mod txn;

pub use config::Config;
pub use engine::AnalyticalEngine;
pub use iter::{EdgeIter, VertexIter};
pub use pause::BeginWaits;
pub use txn::AnalyticalTxn;
