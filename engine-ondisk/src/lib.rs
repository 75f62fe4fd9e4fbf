//! Quiver's ON_DISK_TRANSACTIONAL backend: the graph lives in RocksDB, transactions
//! run at snapshot isolation, and RocksDB's own write-ahead log makes commits durable.
//!
//! ```
//! use engine_api::{StorageEngine, Transaction, TxnOptions};
//! use engine_ondisk::{Config, OnDiskEngine};
//!
//! let dir = tempfile::tempdir()?;
//! let db = OnDiskEngine::open(Config::new(dir.path()))?;
//! let mut t = db.begin(TxnOptions::new())?;
//! let alice = t.create_vertex_with(&["Person"], &[("name", "Alice".into())])?;
//! let bob = t.create_vertex_with(&["Person"], &[("name", "Bob".into())])?;
//! t.create_edge(alice, bob, "KNOWS")?;
//! t.commit()?;
//! db.close()?;
//!
//! let db = OnDiskEngine::open(Config::new(dir.path()))?;
//! let t = db.begin(TxnOptions::new().read_only())?;
//! assert_eq!(t.vertices_with_label("Person")?.count(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Data directory
//! ```text
//! <data>/
//!   .lock              the process lock of `docs/durability.md` (a second opener gets Locked)
//!   rocksdb/           RocksDB's SST files, MANIFEST, OPTIONS, info LOG
//!   rocksdb/quiver.meta  our metadata file: format version and database id
//!   wal/               RocksDB's write-ahead log (NNNNNN.log)
//!   snapshots/         exports made by create_snapshot, in the portable snapshot format
//! ```
//!
//! # Key layout
//! Integers in keys are big-endian, so byte order is numeric order.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `vertices` | vertex id (8) | label count, label ids (ascending), property record |
//! | `edges` | edge id (8) | type id, source, target, property record |
//! | `out` | source (8), type id (4), target (8), edge id (8) | empty |
//! | `in` | target (8), type id (4), source (8), edge id (8) | empty |
//! | `labels` | label id (4), vertex id (8) | empty |
//! | `meta` | `database`: the database id; `ready`: creation finished; `ids`: id bounds; `n`, kind, id: a name; `schema`: the catalog of indexes, constraints, triggers; `counts`: the vertex and edge counts of the objects below `counted_below` (two ids), deletions' changes merged in (module `counts`; version 3 kept changes under 0x01, sequence) | |
//! | `index` | index or constraint id (4), then per kind (see below) | empty, or a uniqueness record's holder |
//!
//! `rocksdb/quiver.meta` (48 bytes: magic `QVONDSK1`, format version, value codec
//! version, database id, creation time, CRC) is written before RocksDB is created and
//! read before it is opened, so a directory of another format version, or of another
//! database, is refused before anything in it is touched.
//!
//! "Edges of v" is one bounded scan of the prefix `v` in `out` or `in`, "edges of v
//! of type t" of the prefix `v, t`; adjacency keys hold the whole edge record, so
//! neither reads `edges`. Iterators are bounded by an upper bound, not by a prefix
//! extractor (without one RocksDB's prefix iterators run past the prefix).
//!
//! # Indexes, constraints, triggers
//! Index entries and uniqueness records live in `index`, keyed by the index's id and
//! the sort keys of the values (engine-api's `encode_sort_key`: byte order is the
//! total order of values), then the object id. Commits keep them, and check
//! constraints, for the objects they wrote, against the catalog current at commit;
//! lookups scan a key range of an index that was complete when the transaction began,
//! add the transaction's own writes, and check every candidate against its record.
//! Format version 2 added `index` and the catalog, version 3 the kept counts,
//! version 4 keeps count changes as RocksDB merges (an older build cannot read them),
//! version 5 merges only deletions of objects from before the open and counts newer
//! objects at the next open; an older database is upgraded when opened. The schema module's docs say what waits while the schema changes.
//!
//! # Transactions
//! A plain RocksDB `DB` with the engine's own concurrency control (module
//! `txn::locks`). A transaction takes a RocksDB snapshot at `begin` for its reads;
//! its writes go into an ordered overlay that its reads and scans merge in, and its
//! commit writes them as one `WriteBatch` (with the sync its mode asks for; RocksDB's
//! write thread lets concurrent commits share one WAL write and one fdatasync).
//!
//! Conflicts are found at the write, against the engine's lock table of *objects*:
//! updating or deleting a vertex or an edge takes its exclusive lock, which fails
//! with [`engine_api::ErrorKind::Conflict`] if another running transaction holds it
//! (first writer wins) or a transaction that committed after this one began changed
//! it (the table keeps each object's last commit while an older writer runs).
//! Objects a transaction creates take no lock: their ids are new. Creating an edge
//! takes both endpoints' shared locks (edge creators share an endpoint; a delete of
//! it excludes them), and deleting a vertex reads its latest adjacency after locking
//! it, so no interleaving leaves a dangling edge. An endpoint's existence is read
//! once and then remembered while it stays undeleted, and a commit that creates
//! vertices remembers them from its write on (module `txn::known`, whose docs give
//! the argument), so most new edges read nothing. Uniqueness records are locked as
//! keys of their own. After a conflict the transaction is rolled back at once and
//! later calls return `Aborted`. Only snapshot isolation is offered: `begin` refuses
//! the other levels with `Unsupported`. Reads take no locks, so write skew occurs, as
//! snapshot isolation allows and the conformance suite requires.
//!
//! Why not RocksDB's own transactions: a pessimistic `TransactionDB` locks and checks
//! every key (the edge's three keys too), keeps an indexed write batch and takes a
//! RocksDB lock per key; an `OptimisticTransactionDB` finds the conflict at commit,
//! after the loser did all its work, where the contract wants it at the write. Both
//! were measured against this design on the report's workloads (the report's
//! section "RocksDB transaction kinds" keeps measuring the two kinds).
//!
//! # Counts
//! `stats()` reads the vertex and edge counts, not the data. The stored counts cover
//! the objects below two ids, `counted_below`, which every open and every clean close
//! set to the id bounds (after counting, at open, the objects at or above the
//! previous ones: none after a clean close, those created since the last open after
//! a crash). Ids are handed out ascending from the bounds, so a commit that only
//! creates writes no count record; one that deletes objects from before the open
//! merges that change into the `counts` key in the same RocksDB write (exact after a
//! crash; a merge is no conflict between writers; RocksDB adds the changes up as it
//! compacts). Format version 4 merged every commit's change (a tenth of a small write
//! transaction's time); version 3 wrote each change under a key of its own, which
//! opening folds once.
//!
//! # Durability
//! RocksDB's WAL, replayed whole at open: an incomplete last record (a crash during
//! its write) is dropped, damage anywhere before it refuses the open with `Corrupt`
//! rather than dropping the commits after it. [`engine_api::SyncMode::EveryCommit`] commits with a synced write;
//! RocksDB's write thread groups concurrent commits so that they share one WAL write
//! and one fdatasync. `EveryNCommits(n)` syncs the WAL after every n-th commit;
//! `Off` never syncs. Ids are reserved in blocks with a synced write before they are
//! handed out, so they are never reused, not even after a crash.
//!
//! # Snapshots and backups
//! [`engine_api::StorageEngine::create_snapshot`] exports a consistent RocksDB
//! snapshot to a file in the portable snapshot format (the in-memory backends read
//! it too); retention keeps the newest N (default 3), and `lock_data_directory`
//! defers those deletions. RocksDB's own file deletions are not deferred by that
//! lock; back up with a snapshot export (or `quiver backup`), not by copying
//! `rocksdb/` of an open database. Restore: put a snapshot file
//! into `snapshots/` of an empty data directory and open it.

#[cfg(feature = "storage")]
mod bulk;
#[cfg(feature = "storage")]
mod check;
#[cfg(feature = "storage")]
mod config;
#[cfg(feature = "storage")]
mod counts;
#[cfg(feature = "storage")]
mod engine;
#[cfg(feature = "storage")]
mod iter;
/// The byte layout of keys and values, public for the fuzz targets (not part of the
/// API). It is the whole crate without the `storage` feature.
#[doc(hidden)]
pub mod keys;
#[cfg(feature = "storage")]
mod metadata;
#[cfg(feature = "storage")]
mod recovery;
#[cfg(feature = "storage")]
mod rocks;
#[cfg(feature = "storage")]
mod schema;
#[cfg(feature = "storage")]
mod snapshot;
#[cfg(feature = "storage")]
mod txn;
#[cfg(feature = "storage")]
mod usage;

#[cfg(feature = "storage")]
pub use bulk::BuildProgress;
#[cfg(feature = "storage")]
pub use check::{CheckedPart, FileCheck, check_files};
#[cfg(feature = "storage")]
pub use config::Config;
#[cfg(feature = "storage")]
pub use engine::OnDiskEngine;
#[cfg(feature = "storage")]
pub use iter::{EdgeIter, VertexIter};
#[cfg(feature = "storage")]
pub use metadata::{FORMAT_VERSION, OLDEST_FORMAT_VERSION};
#[cfg(feature = "storage")]
pub use rocks::{
    compact_closed, plain_rocksdb_options, plain_rocksdb_setup, rewrite_everything,
    rocksdb_options, transaction_db_options,
};
/// The RocksDB crate this backend is built on, for callers of [`rocksdb_options`].
#[cfg(feature = "storage")]
pub use rocksdb;
#[cfg(feature = "storage")]
pub use txn::OnDiskTxn;

/// An image for [`OnDiskEngine::create_from_image`]: hands the image to the sink it
/// is given, in snapshot order (an engine's `export` does), and returns its commit
/// timestamp (0 if it has none, as a dump): the new database's commits continue
/// after it.
#[cfg(feature = "storage")]
pub type Image<'a> =
    &'a mut dyn FnMut(&mut dyn durability::SnapshotSink) -> engine_api::Result<u64>;
#[cfg(feature = "storage")]
pub use usage::{StorageUsage, measure_usage};
