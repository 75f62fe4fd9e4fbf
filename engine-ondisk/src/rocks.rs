//! RocksDB itself: the options every column family is opened with, opening and
//! destroying the RocksDB directory, and compaction of a closed database.

use std::path::{Path, PathBuf};

use durability::DataDir;
use engine_api::{Error, ErrorKind, Result};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, DBRecoveryMode,
    Options, statistics::StatsLevel,
};

use crate::config::Config;
use crate::keys::{ALL_CFS, EDGES, META, VERTICES, rocks};
use crate::metadata::META_FILE;

use crate::engine::{CREATING, ROCKSDB_DIR};

/// The RocksDB options and column families this backend opens its database with, for
/// a tool that wants to open RocksDB the same way. The WAL goes to `<data dir>/wal`.
pub fn rocksdb_options(config: &Config) -> (Options, Vec<ColumnFamilyDescriptor>) {
    let (opts, cfs, _) = rocks_options(config, config.get_data_directory(), true, true, false);
    (opts, cfs)
}

/// [`rocksdb_options`] plus what serves RocksDB's own transactions (which this
/// backend does not use; the report's peers of RocksDB's two transaction kinds open
/// with these): memtable Bloom filters on every data family but `vertices`, which
/// let a RocksDB transaction's conflict check of a key the memtable does not hold
/// (every new edge and adjacency key) skip the memtable search, but cost every insert
/// a filter update (edge import without them 265k/s, with them 204k/s, on 2 cores).
pub fn transaction_db_options(config: &Config) -> (Options, Vec<ColumnFamilyDescriptor>) {
    let (opts, cfs, _) = rocks_options(config, config.get_data_directory(), true, true, true);
    (opts, cfs)
}

/// The options of [`rocksdb_options`], for the report's raw-RocksDB peer.
pub fn plain_rocksdb_options(config: &Config) -> (Options, Vec<ColumnFamilyDescriptor>) {
    let (opts, cfs, _) = plain_rocksdb_setup(config);
    (opts, cfs)
}

/// [`plain_rocksdb_options`] and the block cache its column families share (to read
/// its usage or change its capacity, as [`crate::OnDiskEngine::set_block_cache_capacity`]
/// does for the engine).
pub fn plain_rocksdb_setup(config: &Config) -> (Options, Vec<ColumnFamilyDescriptor>, Cache) {
    rocks_options(config, config.get_data_directory(), true, true, false)
}

pub(crate) fn rocks_options(
    config: &Config,
    root: &Path,
    create: bool,
    add_column_families: bool,
    transactional: bool,
) -> (Options, Vec<ColumnFamilyDescriptor>, Cache) {
    let mut db = Options::default();
    db.create_if_missing(create);
    db.create_missing_column_families(create || add_column_families);
    // RocksDB's log lives where `docs/durability.md` puts a WAL (`wal/`).
    db.set_wal_dir(root.join("wal"));
    // An incomplete last record (a crash during its write) and zeroed preallocated
    // bytes are tolerated; damage anywhere else in the log refuses the open. (Point-
    // in-time recovery stopped at the damage and opened without every commit after
    // it, acknowledged ones included, without a word: found by a hostile-user run.)
    db.set_wal_recovery_mode(DBRecoveryMode::TolerateCorruptedTailRecords);
    db.set_paranoid_checks(true);
    db.set_max_background_jobs(2);
    if config.get_statistics() {
        db.enable_statistics();
        db.set_statistics_level(StatsLevel::ExceptHistogramOrTimers);
    }
    db.set_keep_log_file_num(2);
    db.set_max_log_file_size(
        usize::try_from(config.get_durability().get_wal_segment_bytes()).unwrap_or(usize::MAX),
    );
    let cache = Cache::new_lru_cache(config.get_block_cache_bytes());
    let cfs = ALL_CFS
        .iter()
        .map(|name| {
            ColumnFamilyDescriptor::new(*name, family_options(name, config, &cache, transactional))
        })
        .collect();
    (db, cfs, cache)
}

/// The options of column family `name` (the bulk path writes its SST files with
/// them too, so ingested files are as the family's own).
pub(crate) fn family_options(
    name: &str,
    config: &Config,
    cache: &Cache,
    transactional: bool,
) -> Options {
    let mut o = Options::default();
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    if name == VERTICES || name == EDGES {
        // Point reads by id of ids that may not exist (contains_vertex).
        table.set_bloom_filter(10.0, false);
    }
    if transactional && name != META && name != VERTICES {
        // A RocksDB transaction's conflict check looks its key up in the memtable;
        // for a new key (most of an import's) the filter answers instead of a
        // skiplist search. Measured on the report's edge import: 41k -> 50k edges/s.
        // Not for `vertices`: its reads are mostly of keys that exist, which the
        // filter only slows (point reads 1.15M -> 1.5M/s without it).
        o.set_memtable_prefix_bloom_ratio(0.1);
        o.set_memtable_whole_key_filtering(true);
    }
    if name == META {
        o.set_merge_operator(
            crate::counts::MERGE_OPERATOR,
            crate::counts::full_merge,
            crate::counts::partial_merge,
        );
    }
    o.set_block_based_table_factory(&table);
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_level_compaction_dynamic_level_bytes(true);
    if name != META {
        o.set_write_buffer_size(config.get_write_buffer_bytes());
    }
    o
}

pub(crate) fn open_rocks(
    config: &Config,
    root: &Path,
    create: bool,
    add_column_families: bool,
) -> Result<(DB, Options, Cache)> {
    let (opts, cfs, cache) = rocks_options(config, root, create, add_column_families, false);
    let db = DB::open_cf_descriptors(&opts, root.join(ROCKSDB_DIR), cfs).map_err(|e| {
        // RocksDB's message names a file by number only ("log #12"): where its
        // files are is said here.
        let mut err = rocks(
            &format!(
                "cannot open RocksDB (tables in {}, log in {})",
                root.join(ROCKSDB_DIR).display(),
                root.join("wal").display()
            ),
            e,
        );
        if !create && err.kind() == ErrorKind::InvalidInput {
            // An existing database whose files do not match what we created.
            err = Error::new(ErrorKind::Corrupt, err.message().to_string());
        }
        err
    })?;
    Ok((db, opts, cache))
}

/// Files RocksDB wrote into `rocksdb/` (anything but our metadata file).
pub(crate) fn rocks_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name != META_FILE && name != CREATING && !name.starts_with(&format!(".{META_FILE}")) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Removes RocksDB's files of an interrupted creation. RocksDB's destroy removes the
/// WAL directory too when it is not the database directory, so `wal/` is created
/// again: the data directory keeps its layout. (Regression: after a kill during
/// creation, the next open failed with "cannot list `<dir>/wal`".)
pub(crate) fn destroy_rocks(config: &Config, root: &Path) -> Result<()> {
    let (opts, _, _) = rocks_options(config, root, false, false, true);
    DB::destroy(&opts, root.join(ROCKSDB_DIR))
        .map_err(|e| rocks("cannot remove an interrupted creation", e))?;
    crate::bulk::remove_files(&root.join(ROCKSDB_DIR))?;
    let wal = root.join("wal");
    std::fs::create_dir_all(&wal).map_err(|e| io(&wal, e))?;
    durability::dir::sync_dir(root)
}

/// Removes a creation that failed before the database was ready, `rocksdb/` and
/// all: RocksDB's files first, then the metadata file, then the creation marker (a
/// crash in between leaves the marker, and the next open redoes the creation).
pub(crate) fn discard_creation(config: &Config, root: &Path) -> Result<()> {
    destroy_rocks(config, root)?;
    let rdir = root.join(ROCKSDB_DIR);
    for file in [META_FILE, CREATING] {
        let path = rdir.join(file);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path, e)),
            _ => {}
        }
    }
    std::fs::remove_dir_all(&rdir).map_err(|e| io(&rdir, e))?;
    durability::dir::sync_dir(root)
}

pub(crate) fn io(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", path.display())).with_source(e)
}

/// Compaction options that rewrite the bottommost level too: files whose key
/// ranges do not overlap would otherwise only move down a level, as they are.
pub fn rewrite_everything() -> rocksdb::CompactOptions {
    let mut rewrite = rocksdb::CompactOptions::default();
    rewrite.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
    rewrite
}

/// Compacts the files of the database in `config`'s data directory while no engine
/// has it open: every column family's SST files rewritten into RocksDB's levels
/// (`compact_range` over the whole key space). Takes the directory's lock for the time it runs. For
/// maintenance, and for measurements that read compacted files.
///
/// Errors: [`ErrorKind::Locked`] if an engine has the directory open;
/// [`ErrorKind::NotFound`] if it holds no on-disk database; `Io` from RocksDB.
pub fn compact_closed(config: &Config) -> Result<()> {
    let dir = DataDir::open(config.get_data_directory())?;
    let root = dir.root().to_path_buf();
    if !root.join(ROCKSDB_DIR).join("CURRENT").exists() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("{} holds no on-disk database", root.display()),
        ));
    }
    let (opts, cfs, _) = rocks_options(config, &root, false, false, false);
    let db = rocksdb::DB::open_cf_descriptors(&opts, root.join(ROCKSDB_DIR), cfs)
        .map_err(|e| rocks("cannot open RocksDB to compact it", e))?;
    let rewrite = rewrite_everything();
    for name in ALL_CFS {
        let cf = db
            .cf_handle(name)
            .ok_or_else(|| Error::corrupt(format!("no column family {name}")))?;
        db.compact_range_cf_opt(cf, None::<&[u8]>, None::<&[u8]>, &rewrite);
    }
    drop(db);
    drop(dir);
    Ok(())
}

pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}
