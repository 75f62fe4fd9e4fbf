//! RocksDB's own memory and files, as RocksDB reports them: what a monitor (or the
//! benchmark report's memory and disk rows) adds to what the Rust heap holds.

use std::path::Path;

use engine_api::{Error, ErrorKind, Result};
use rocksdb::perf::MemoryUsageBuilder;

/// RocksDB's memory and files at one moment, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageUsage {
    /// Memtables, active and immutable, of every column family.
    pub memtables: u64,
    /// Index and filter blocks of open SST files held outside the block cache.
    pub table_readers: u64,
    /// Blocks in the block cache the families share.
    pub block_cache: u64,
    /// SST files (in `rocksdb/`).
    pub sst_files: u64,
    /// RocksDB's log files (in `wal/`).
    pub wal_files: u64,
}

impl StorageUsage {
    /// Memory: memtables, table readers and the block cache.
    pub fn memory(&self) -> u64 {
        self.memtables + self.table_readers + self.block_cache
    }

    /// Bytes on disk: SST and log files.
    pub fn disk(&self) -> u64 {
        self.sst_files + self.wal_files
    }
}

/// Measures a database laid out as this backend lays it out (`rocksdb/` and `wal/`
/// under `root`): memory through RocksDB's own accounting, summed over every column
/// family, from the builder `add` filled with the database and its block cache
/// (`add_db` for a plain `DB`, `add_cache`), and
/// the files' sizes from the file system.
///
/// Errors: `Io` when RocksDB cannot report its memory.
pub fn measure_usage<'a>(
    add: impl FnOnce(&mut MemoryUsageBuilder<'a>),
    root: &Path,
) -> Result<StorageUsage> {
    let failed = |e: rocksdb::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot read RocksDB's memory usage: {e}"),
        )
    };
    let mut builder = MemoryUsageBuilder::new().map_err(failed)?;
    add(&mut builder);
    let memory = builder.build().map_err(failed)?;
    let sst_files = std::fs::read_dir(root.join(crate::engine::ROCKSDB_DIR))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "sst"))
                .map(|e| e.metadata().map_or(0, |m| m.len()))
                .sum()
        })
        .unwrap_or(0);
    Ok(StorageUsage {
        memtables: memory.approximate_mem_table_total(),
        table_readers: memory.approximate_mem_table_readers_total(),
        block_cache: memory.approximate_cache_total(),
        sst_files,
        wal_files: crate::rocks::dir_bytes(&root.join("wal")),
    })
}
