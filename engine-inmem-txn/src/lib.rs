//! Quiver's IN_MEMORY_TRANSACTIONAL backend: the whole graph in memory, multi-version
//! concurrency control with delta chains, and three isolation levels.
//!
//! ```
//! use engine_api::{IsolationLevel, StorageEngine, Transaction, TxnOptions};
//! use engine_inmem_txn::{Config, InMemoryEngine};
//!
//! # fn main() -> engine_api::Result<()> {
//! let engine = InMemoryEngine::open(Config::default())?;
//! let mut w = engine.begin(TxnOptions::new())?;
//! let v = w.create_vertex_with(&["Account"], &[("balance", 100.into())])?;
//! w.commit()?;
//!
//! let reader = engine.begin(TxnOptions::new().isolation(IsolationLevel::SnapshotIsolation))?;
//! let mut w = engine.begin(TxnOptions::new())?;
//! w.set_vertex_property(v, "balance", 50.into())?;
//! w.commit()?;
//! // The reader keeps the state as of its start.
//! assert_eq!(reader.vertex_property(v, "balance")?, Some(100.into()));
//! # Ok(())
//! # }
//! ```
//!
//! # Design
//! The modules stack without a cycle: the graph state (`graph`: slots, id counters,
//! names, label index) and the commit clock (`clock`: commit order, WAL queueing,
//! publication) are leaves that every other part takes as arguments; `inner` holds
//! them with the schema and the running-transaction registry; transactions (`txn`),
//! snapshots, recovery and the engine sit on top.
//! - **Storage** (module `graph`). Vertices and edges live in arrays indexed by their id (ids are
//!   engine-assigned, each thread taking them from blocks of 64, so one thread's new
//!   objects are neighbours and two threads' are not), in chunks allocated on first
//!   use; finding an object takes no lock. Each object holds its newest state and a chain of undo deltas, newest
//!   first (module `mvcc`). Properties are kept encoded in the codec's compact
//!   property-record form; labels, edge types and keys are interned to `u32` ids.
//! - **Visibility.** A transaction's deltas point at one shared timestamp cell that
//!   holds its id while it runs and its commit timestamp after commit, so a commit
//!   becomes visible to everyone at once. Snapshot isolation undoes every delta
//!   committed after the reader's start; read committed undoes only uncommitted ones;
//!   read uncommitted undoes nothing.
//! - **Writes.** First writer wins: writing an object whose newest delta belongs to a
//!   running transaction, or (under snapshot isolation) to one that committed after the
//!   writer started, fails at once with a retryable `Conflict`, and the writer's
//!   transaction is rolled back. Creating an edge writes both endpoints, so it
//!   conflicts with a concurrent delete of either; deleting a vertex checks its edges
//!   under its lock, so no interleaving leaves a dangling edge.
//! - **Indexes and constraints** (modules `index`, `schema`, `constraints`). An index
//!   is an ordered set of (key, id) entries that writers keep as a superset of every
//!   version still visible to someone: a write inserts its new version's key under the
//!   object's lock, rollback and garbage collection remove the keys only dropped
//!   versions had. A lookup takes the candidates of its key range and checks each one's
//!   visible version, so it sees exactly what a scan sees, own writes included.
//!   Uniqueness, existence and type constraints are checked at commit, under the commit
//!   order, against the latest state of other vertices (committed, or of transactions
//!   that passed their own check), so two transactions that together break uniqueness
//!   cannot both commit. The schema module's docs say what waits while the schema
//!   changes. Commit observers receive change sets; after-commit ones run in commit
//!   order, between a commit's publication and the next one's.
//! - **Garbage collection** (module `gc`). A committed transaction's objects are
//!   queued; once every running transaction started at or after its commit, its
//!   deltas and everything older are dropped, deleted objects are freed and stale
//!   label-index entries removed. Commits are queued on their thread's shard of the
//!   running-transaction registry, and each commit collects what it can of its own
//!   thread's (the versions it frees are in its cache and its allocator's arena),
//!   and every 64 commits also those of other shards whose threads stopped
//!   committing; a background thread
//!   ([`Config::gc_interval`]) catches up after long readers.
//!
//! # Durability
//! With [`Config::data_directory`] the engine keeps a WAL and snapshots in that
//! directory (formats: the `durability` crate; operations and the backup workflow:
//! the README).
//! - **Commit** (module `clock`; the transaction's side in `txn::commit`). A read-write transaction records redo operations as it writes. At
//!   commit it takes its timestamp and queues its WAL record under one mutex, so the
//!   log is in timestamp order; then it waits for durability (the `durability` crate's WAL
//!   writer batches concurrent committers into one write and one fdatasync, and a
//!   syncing committer waits up to half a sync for transactions that announced
//!   themselves at `begin`); then it is published strictly in timestamp order, so a
//!   transaction that begins after `commit` returned sees it and snapshot isolation
//!   never sees a later commit before an earlier one. A failed write or sync poisons
//!   the engine: the commit is rolled back, never visible, and returns `Poisoned`.
//! - **Snapshots** (module `snapshot`) are written from a snapshot-isolated read
//!   transaction, so writers go on; one at a time (a second request waits). After a
//!   snapshot the WAL starts a new segment and retention deletes, through the
//!   deletion gate that `lock_data_directory` closes, snapshots beyond the count kept
//!   and WAL segments the oldest kept snapshot covers.
//! - **Recovery** (module `recovery`) loads the newest snapshot that verifies (an
//!   older one only if the WAL covers the gap; `recovery_report` then names each
//!   snapshot it passed over, and otherwise open fails with `Corrupt` naming it), replays WAL commits after it with
//!   checks of segment sequence, commit timestamps (consecutive) and database id, and
//!   cuts a torn tail off the newest segment. Ids continue past every id in the
//!   snapshot's counters and in replayed commits; an id handed out only to a
//!   transaction that never committed durably may be handed out again after a crash
//!   (nothing durable ever referred to it).
//!
//! # Locks
//! No lock is held for the duration of a transaction; each is held for one step.
//! Module `engine` lists every lock, what it guards and the order they are taken in.
//!
//! Ids of deleted vertices and edges are never reused; the slot of a collected object
//! stays allocated (empty), which costs its slot size per deleted object.
#![deny(missing_docs)]

mod background;
mod clock;
mod config;
mod constraints;
mod engine;
mod gc;
mod graph;
mod index;
mod inner;
mod iter;
mod mvcc;
mod props;
mod recovery;
mod running;
mod schema;
mod snapshot;
mod txn;

pub use config::{Config, ProgressCallback, RecoveryProgress};
pub use engine::InMemoryEngine;
pub use gc::GcReport;
pub use iter::{EdgeIter, VertexIter};
pub use txn::InMemoryTxn;
