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
//! # Design
//! Each module's docs give its part: `keys` the column families and the byte layout
//! of every key and value (and `rocksdb/quiver.meta`), `schema` how indexes,
//! constraints and triggers are kept and what waits while the schema changes, `index`
//! how an index's entries are built while commits go on, `txn`
//! the concurrency control (and why not RocksDB's own transactions), `counts` how
//! `stats()` stays exact without a scan, `recovery` what opening does, `rocks` the
//! options RocksDB runs with.
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
//! lock; back up with a snapshot export, a checkpoint
//! (`OnDiskEngine::checkpoint`, RocksDB's files at one commit) or `quiver backup`
//! (which copies a checkpoint), not by copying `rocksdb/` of an open database. Restore: put a snapshot file
//! into `snapshots/` of an empty data directory and open it.

#[cfg(feature = "storage")]
mod bulk;
#[cfg(feature = "storage")]
mod check;
#[cfg(feature = "storage")]
mod checkpoint;
#[cfg(feature = "storage")]
mod config;
#[cfg(feature = "storage")]
mod counts;
#[cfg(feature = "storage")]
mod engine;
#[cfg(feature = "storage")]
mod index;
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
pub use checkpoint::{CHECKPOINT_PREFIX, Checkpoint};
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
