//! The engine: opening (and creating, and restoring from a snapshot), RocksDB's
//! options, transactions' start, commit timestamps, and the durability operations.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use durability::{DataDir, DeletionGate};
use engine_api::kit::ObserverRegistry;
use engine_api::{
    Capabilities, ConstraintSpec, DataDirectoryLease, DatabaseId, EngineStats, Error, ErrorKind,
    ImageEngine, IndexInfo, IndexSpec, IsolationLevel, LockChange, LockStatus, ObserverId,
    RecoveryReport, Result, SharedObserver, SnapshotInfo, SnapshotSink, StorageEngine, StorageMode,
    SyncMode, TriggerPhase, TriggerSpec, TxnOptions,
};
use parking_lot::Mutex;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType,
    DBRecoveryMode, Options, ReadOptions, WriteOptions,
    statistics::{StatsLevel, Ticker},
};

use crate::config::Config;
use crate::counts::Counts;
use crate::keys::{ALL_CFS, EDGES, META, VERTICES, rocks};
use crate::metadata::{
    Dictionary, FORMAT_VERSION, IdAllocator, IdKind, KEY_CLOCK, KEY_DATABASE, KEY_READY, META_FILE,
    NameKind, database_state, read_meta_file, write_meta_file,
};
use crate::schema::Schema;
use crate::txn::OnDiskTxn;

pub(crate) const ROCKSDB_DIR: &str = "rocksdb";
/// Present in `rocksdb/` from before a database's creation starts until it is marked
/// ready: an open that finds it redoes the creation, whatever RocksDB had written (a
/// kill may come before RocksDB's CURRENT file exists, when the files alone cannot be
/// told from a database that lost it).
pub(crate) const CREATING: &str = ".quiver.creating";

/// The ON_DISK_TRANSACTIONAL engine: the graph in RocksDB, snapshot isolation through
/// the engine's own lock table over a plain RocksDB `DB` (see the crate docs).
///
/// Dropping it without [`StorageEngine::close`] is a crash as far as durability
/// goes: every commit acknowledged under the configured sync mode survives it.
pub struct OnDiskEngine {
    // Declared first so it is dropped (closed) before the directory lock is released.
    pub(crate) db: DB,
    /// Which transaction writes which object (see [`crate::txn::locks`]).
    pub(crate) locks: crate::txn::locks::LockTable,
    /// Vertices known to exist, for new edges' endpoint checks.
    pub(crate) known: crate::txn::known::KnownVertices,
    pub(crate) names: Dictionary,
    pub(crate) ids: IdAllocator,
    pub(crate) schema: Schema,
    pub(crate) counts: Counts,
    pub(crate) observers: ObserverRegistry,
    /// Held by commits with after-commit observers from commit to delivery, so those
    /// observers see commits in commit order.
    pub(crate) delivery: Mutex<()>,
    clock: AtomicU64,
    /// What commit timestamps add to RocksDB's sequence numbers (meta key `clock`).
    clock_offset: u64,
    commits: AtomicU64,
    poisoned: AtomicBool,
    config: Config,
    caps: Capabilities,
    pub(crate) database: DatabaseId,
    snapshot_lock: Mutex<()>,
    deletions: DeletionGate,
    /// What the open did: the snapshot a new database was restored from, if any.
    recovery: RecoveryReport,
    /// The options RocksDB was opened with; they hold its statistics.
    options: Options,
    /// The block cache every column family shares.
    cache: Cache,
    /// Commits' write options: synced as the sync mode says.
    write: WriteOptions,
    dir: DataDir,
}

impl std::fmt::Debug for OnDiskEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnDiskEngine")
            .field("dir", &self.dir.root())
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// A column family handle; every one is opened with the database.
pub(crate) fn cf<'d>(db: &'d DB, name: &str) -> Result<&'d ColumnFamily> {
    db.cf_handle(name).ok_or_else(|| {
        Error::new(
            ErrorKind::Corrupt,
            format!("RocksDB column family {name} is missing"),
        )
    })
}

fn capabilities() -> Capabilities {
    let mut c = Capabilities::none(StorageMode::OnDiskTransactional);
    c.isolation_levels = vec![IsolationLevel::SnapshotIsolation];
    c.default_isolation = IsolationLevel::SnapshotIsolation;
    c.rollback = true;
    c.write_conflict_detection = true;
    c.wal = true;
    c.periodic_snapshots = false;
    c.manual_snapshots = true;
    c.snapshot_blocks_new_transactions = false;
    c.data_on_disk = true;
    c.persistent = true;
    c.data_directory_lock = true;
    c.indexes = true;
    c.constraints = true;
    c.triggers = true;
    c
}

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
/// its usage or change its capacity, as [`OnDiskEngine::set_block_cache_capacity`]
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

/// The clock offset in `meta` (see [`crate::metadata::KEY_CLOCK`]); 0 if there is
/// none.
///
/// Errors: `Corrupt` for a value that is not 8 bytes.
pub(crate) fn read_clock_offset(db: &DB) -> Result<u64> {
    match db
        .get_cf(cf(db, META)?, KEY_CLOCK)
        .map_err(|e| rocks("cannot read the clock offset", e))?
    {
        None => Ok(0),
        Some(v) => Ok(u64::from_le_bytes(v.as_slice().try_into().map_err(
            |_| crate::keys::corrupt(META, KEY_CLOCK, "the clock offset is not 8 bytes"),
        )?)),
    }
}

fn open_rocks(
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
/// creation, the next open failed with "cannot list <dir>/wal".)
fn destroy_rocks(config: &Config, root: &Path) -> Result<()> {
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
fn discard_creation(config: &Config, root: &Path) -> Result<()> {
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

fn io(path: &Path, e: std::io::Error) -> Error {
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

impl OnDiskEngine {
    /// Opens the database in `config`'s data directory, creating it if the
    /// directory holds none. A new database starts from the newest snapshot in
    /// `snapshots/` if there is one (a snapshot-only restore).
    ///
    /// Errors: [`ErrorKind::Locked`] if another engine has the directory open;
    /// [`ErrorKind::Corrupt`] if our metadata or RocksDB's files are damaged, of
    /// another format version, or belong to another database, or the snapshot to
    /// restore does not verify; [`ErrorKind::Unsupported`] if it holds another mode's
    /// database (an in-memory backend's WAL, which this backend cannot replay), as
    /// the in-memory backends refuse an on-disk directory;
    /// [`ErrorKind::InvalidInput`] if it holds files that are no database of ours
    /// (RocksDB files without our metadata, a RocksDB log without a database);
    /// [`ErrorKind::Io`] for I/O failures.
    pub fn open(config: Config) -> Result<Self> {
        config.check()?;
        let dir = DataDir::open(config.get_data_directory())?;
        dir.remove_interrupted_writes()?;
        let root = dir.root().to_path_buf();
        let rdir = root.join(ROCKSDB_DIR);
        // `rocksdb/` is made by `create`, after its checks: a refused open leaves
        // nothing behind (an empty `rocksdb/` would make the in-memory backends take
        // the directory for an on-disk database and refuse it in turn).
        if rdir.join(CREATING).exists() {
            // Nothing in a database that never became ready was acknowledged.
            tracing::warn!(dir = %rdir.display(), "an interrupted creation of the database is redone");
            destroy_rocks(&config, &root)?;
            return Self::create(config, dir);
        }
        match read_meta_file(&rdir)? {
            Some((id, version)) => {
                if rdir.join("CURRENT").exists() {
                    // Version 1 lacks the `index` column family; it is added here.
                    let (db, opts, cache) =
                        open_rocks(&config, &root, false, version < FORMAT_VERSION)?;
                    let mcf = cf(&db, META)?;
                    let ready = database_state(&rdir, id, |key| db.get_cf(mcf, key))?;
                    if ready {
                        if version < FORMAT_VERSION {
                            // Versions before 3 kept no counts: one scan, then kept.
                            // (Version 3's change records are folded by every open.)
                            if version < 3 {
                                Counts::count_and_store(&db)?;
                            }
                            write_meta_file(&rdir, id)?;
                            tracing::info!(dir = %rdir.display(), from = version, to = FORMAT_VERSION, "upgraded the on-disk format");
                        }
                        return Self::finish_open(db, (opts, cache), config, dir, id);
                    }
                    // Creation (or the restore of a snapshot) was interrupted: nothing
                    // in this database was ever acknowledged. Start it again.
                    tracing::warn!(dir = %rdir.display(), "an interrupted creation of the database is redone");
                    drop((db, opts));
                    destroy_rocks(&config, &root)?;
                } else if !rocks_files(&rdir)?.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        format!(
                            "{} has RocksDB files but no CURRENT file; refusing to open it",
                            rdir.display()
                        ),
                    ));
                }
            }
            None => {
                if !rocks_files(&rdir)?.is_empty() {
                    // Damage, like a metadata file that is not ours: the
                    // file was lost, or the folder is not a Quiver database.
                    return Err(Error::corrupt(format!(
                        "{} holds files but no {META_FILE} (lost, or not a Quiver on-disk database); refusing to touch it",
                        rdir.display()
                    )));
                }
            }
        }
        Self::create(config, dir)
    }

    /// Creates a new database, from the newest snapshot if there is one.
    fn create(config: Config, dir: DataDir) -> Result<Self> {
        Self::create_with(config, dir, None)
    }

    /// Creates a new database in `config`'s data directory from an image, through
    /// the bulk path: `image` hands the image to the sink it is given in snapshot
    /// order (names, schema, id counters, vertices by ascending id, edges by
    /// ascending id; an engine's `export` does, and so does
    /// `durability::snapshot::read_snapshot` for a snapshot file), the data is
    /// written as sorted SST files per column family (keys of families in another
    /// order than the image's sorted in runs that spill to files under `rocksdb/`, so
    /// an image larger than memory loads), RocksDB ingests them, and the indexes,
    /// constraints and triggers are built on the data. Ids, id bounds, names and
    /// counts come out as the image has them. The directory is locked throughout;
    /// a kill at any moment leaves a creation that the next open throws away (an
    /// empty database), never part of the image. Some 3-4x faster than loading the
    /// same objects through transactions (see the report's dump and mode sections).
    ///
    /// Errors: [`ErrorKind::InvalidInput`] if the directory holds a database or a
    /// snapshot already (open it instead); `Corrupt` if the image breaks its order
    /// or has an edge to a vertex it lacks; whatever `image` returns; `Locked`, `Io`
    /// as [`OnDiskEngine::open`].
    pub fn create_from_image(config: Config, image: crate::Image<'_>) -> Result<Self> {
        config.check()?;
        let dir = DataDir::open(config.get_data_directory())?;
        dir.remove_interrupted_writes()?;
        let rdir = dir.root().join(ROCKSDB_DIR);
        let listing = dir.list()?;
        if read_meta_file(&rdir)?.is_some()
            || !rocks_files(&rdir)?.is_empty()
            || !listing.snapshots.is_empty()
            || !listing.segments.is_empty()
        {
            return Err(Error::invalid_input(format!(
                "{} holds a database or a snapshot already; a database is created from an image only in an empty directory",
                dir.root().display()
            )));
        }
        Self::create_with(config, dir, Some(image))
    }

    /// Creates a new database from `image` if given, else from the newest snapshot
    /// if there is one, else empty.
    fn create_with(config: Config, dir: DataDir, image: Option<crate::Image<'_>>) -> Result<Self> {
        // A failed creation from an image leaves the directory as it found it (so the
        // caller can try again); one from a snapshot is redone by the next open.
        let from_image = image.is_some();
        let root = dir.root().to_path_buf();
        let rdir = root.join(ROCKSDB_DIR);
        let listing = dir.list()?;
        if let Some(seg) = listing.segments.first() {
            // Another mode's database, as an in-memory backend refuses ours: Unsupported.
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{} is a WAL segment of an in-memory database; the on-disk backend cannot replay it (restore from a snapshot alone, or open the directory in IN_MEMORY_TRANSACTIONAL mode)",
                    seg.path.display()
                ),
            ));
        }
        let wal_dir = root.join("wal");
        if let Ok(entries) = std::fs::read_dir(&wal_dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().ends_with(".log") {
                    return Err(Error::invalid_input(format!(
                        "{} is a RocksDB log without a database; refusing to replay it into a new one",
                        e.path().display()
                    )));
                }
            }
        }
        durability::dir::one_database(&listing)?;
        let restore = crate::snapshot::newest_snapshot(&listing.snapshots)?;
        let database = match &restore {
            Some((_, summary)) => summary.database,
            None => DatabaseId::random(),
        };
        std::fs::create_dir_all(&rdir).map_err(|e| io(&rdir, e))?;
        let marker = rdir.join(CREATING);
        std::fs::File::create(&marker)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&marker, e))?;
        durability::dir::sync_dir(&rdir)?;
        write_meta_file(&rdir, database)?;
        let (db, opts, cache) = open_rocks(&config, &root, true, true)?;
        let mcf = cf(&db, META)?;
        db.put_cf(mcf, KEY_DATABASE, database.0)
            .map_err(|e| rocks("cannot store the database id", e))?;
        let mut definitions = Vec::new();
        let imported = match (image, &restore) {
            (Some(image), _) => Some(crate::snapshot::import_image(
                &db,
                image,
                "the image".into(),
                (&config, &cache, &rdir),
            )),
            (None, Some((path, _))) => Some({
                if let Some(p) = config.progress() {
                    // The header does not hold the counts: a first read (with every
                    // block's checksum, about a tenth of the build) finds them.
                    let counts = durability::snapshot::read_snapshot_counts(path)?;
                    p.start(counts.vertices + counts.edges);
                }
                crate::snapshot::import_image(
                    &db,
                    &mut |sink| {
                        durability::snapshot::read_snapshot(path, sink).map(|s| s.commit_ts)
                    },
                    path.display().to_string(),
                    (&config, &cache, &rdir),
                )
            }),
            (None, None) => {
                Counts::store(&db, 0, 0)?;
                None
            }
        };
        let mut restored_ts = None;
        match imported {
            Some(Ok((d, ts))) => {
                definitions = d;
                // A dump has no commit timestamp: RocksDB's sequence numbers serve.
                restored_ts = Some(ts).filter(|ts| *ts > 0);
            }
            Some(Err(e)) => {
                drop(db);
                let cleanup = if from_image {
                    discard_creation(&config, &root)
                } else {
                    destroy_rocks(&config, &root)
                };
                if let Err(cleanup) = cleanup {
                    tracing::error!(error = %cleanup, "cannot remove a failed restore; the next open redoes it");
                }
                return Err(e);
            }
            None => {}
        }
        let mut engine = Self::finish_open(db, (opts, cache), config, dir, database)?;
        engine.recovery.snapshot = restore.map(|(path, _)| path);
        // Indexes and constraints are built on the restored data before the database
        // is marked ready: a crash before that redoes the whole restore.
        if let Err(e) = engine.restore_schema(definitions) {
            if from_image {
                // Taken apart so RocksDB closes while the directory stays locked.
                let OnDiskEngine {
                    db, config, dir, ..
                } = engine;
                drop(db);
                if let Err(cleanup) = discard_creation(&config, dir.root()) {
                    tracing::error!(error = %cleanup, "cannot remove a failed creation; the next open redoes it");
                }
            }
            return Err(e);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        if let Some(ts) = restored_ts {
            // Commits go on after the snapshot's: the clock offset makes the sequence
            // number RocksDB has now read as that timestamp.
            let offset = ts.saturating_sub(engine.db.latest_sequence_number());
            engine
                .db
                .put_cf_opt(engine.cf(META)?, KEY_CLOCK, offset.to_le_bytes(), &wo)
                .map_err(|e| rocks("cannot store the clock offset", e))?;
            engine.clock_offset = offset;
            engine.clock.store(
                engine.timestamp(engine.db.latest_sequence_number()),
                Ordering::Release,
            );
        }
        engine
            .db
            .put_cf_opt(engine.cf(META)?, KEY_READY, [], &wo)
            .map_err(|e| rocks("cannot mark the database ready", e))?;
        std::fs::remove_file(&marker).map_err(|e| io(&marker, e))?;
        durability::dir::sync_dir(&rdir)?;
        Ok(engine)
    }

    fn finish_open(
        db: DB,
        (options, cache): (Options, Cache),
        config: Config,
        dir: DataDir,
        database: DatabaseId,
    ) -> Result<Self> {
        let names = Dictionary::load(&db)?;
        let ids = IdAllocator::load(&db)?;
        let schema = Schema::load(&db, &names)?;
        let counts = Counts::load(&db, ids.bounds())?;
        let clock_offset = read_clock_offset(&db)?;
        let clock = db.snapshot().sequence_number().saturating_add(clock_offset);
        let mut write = WriteOptions::default();
        write.set_sync(config.get_durability().get_sync_mode() == SyncMode::EveryCommit);
        let engine = OnDiskEngine {
            db,
            locks: Default::default(),
            known: Default::default(),
            names,
            ids,
            schema,
            counts,
            observers: ObserverRegistry::new(),
            delivery: Mutex::new(()),
            clock: AtomicU64::new(clock),
            clock_offset,
            commits: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            config,
            caps: capabilities(),
            database,
            snapshot_lock: Mutex::new(()),
            deletions: DeletionGate::new(),
            recovery: RecoveryReport::default(),
            options,
            cache,
            write,
            dir,
        };
        engine.load_known_vertices()?;
        engine.finish_interrupted_builds()?;
        Ok(engine)
    }

    /// Fills the table of vertices known to exist (module `txn::known`) with up to
    /// `Config::known_vertices_at_open` vertices, from one snapshot, before any
    /// transaction can exist.
    fn load_known_vertices(&self) -> Result<()> {
        let limit = self.config.get_known_vertices_at_open();
        if limit == 0 {
            return Ok(());
        }
        let snapshot = self.db.snapshot();
        let seq = snapshot.sequence_number();
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        // Read once, in order: keep the cache for the working set.
        ro.fill_cache(false);
        ro.set_readahead_size(2 << 20);
        let mut it = self.db.raw_iterator_cf_opt(self.cf(VERTICES)?, ro);
        it.seek_to_first();
        let mut batch = Vec::with_capacity(4096);
        let mut read = 0u64;
        while let Some(key) = it.key() {
            if read == limit {
                break;
            }
            batch.push(crate::keys::decode_id_key(VERTICES, key)?);
            read += 1;
            if batch.len() == batch.capacity() {
                self.known.load(&batch, seq);
                batch.clear();
            }
            it.next();
        }
        it.status()
            .map_err(|e| rocks("cannot read the vertices at open", e))?;
        self.known.load(&batch, seq);
        Ok(())
    }

    /// How many times RocksDB has synced its WAL since this engine opened (the
    /// `rocksdb.wal.synced` ticker): one per group of concurrent `EveryCommit` commits,
    /// one per n commits with `EveryNCommits(n)`, none per commit with `Off`. `None`
    /// unless [`Config::statistics`] is on.
    pub fn wal_syncs(&self) -> Option<u64> {
        self.config
            .get_statistics()
            .then(|| self.options.get_ticker_count(Ticker::WalFileSynced))
    }

    /// How many keys RocksDB has read by point lookup since this engine opened (the
    /// `rocksdb.number.keys.read` ticker): record reads by id, and the endpoint
    /// reads of new edges that the table of known vertices does not spare. `None`
    /// unless [`Config::statistics`] is on.
    pub fn point_reads(&self) -> Option<u64> {
        self.config
            .get_statistics()
            .then(|| self.options.get_ticker_count(Ticker::NumberKeysRead))
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.root()
    }

    /// Writes every column family's memtable to SST files and waits for the
    /// flushes: reads afterwards come from SST files through the block cache, as most
    /// of a long-running database's reads do (compactions RocksDB schedules after the
    /// flushes run in the background, as they always do). For maintenance and
    /// measurement; writers may go on (their writes fill the memtables again).
    ///
    /// Errors: `Io` from RocksDB.
    pub fn flush(&self) -> Result<()> {
        for name in ALL_CFS {
            self.db
                .flush_cf(self.cf(name)?)
                .map_err(|e| rocks("cannot flush a column family", e))?;
        }
        Ok(())
    }

    /// [`Self::flush`], then rewrites every column family over its whole key range
    /// into its bottommost level and waits for it (files whose key ranges do not
    /// overlap are rewritten too, not only moved down): reads afterwards meet each
    /// family's data in as few files as RocksDB makes of it, as [`compact_closed`]
    /// leaves them, without a close. For maintenance and measurement; writers may go
    /// on.
    ///
    /// Errors: `Io` from RocksDB's flush.
    pub fn compact(&self) -> Result<()> {
        self.flush()?;
        for name in ALL_CFS {
            self.db.compact_range_cf_opt(
                self.cf(name)?,
                None::<&[u8]>,
                None::<&[u8]>,
                &rewrite_everything(),
            );
        }
        Ok(())
    }

    /// Sets the block cache's capacity in bytes (shrinking evicts blocks at once);
    /// the configured size ([`Config::block_cache`]) holds until then and again after
    /// a reopen.
    pub fn set_block_cache_capacity(&self, bytes: usize) {
        let mut cache = self.cache.clone();
        cache.set_capacity(bytes);
    }

    /// RocksDB's memory and files now (see [`crate::StorageUsage`]).
    ///
    /// Errors: `Io` when RocksDB cannot report its memory.
    pub fn storage_usage(&self) -> Result<crate::StorageUsage> {
        crate::usage::measure_usage(
            |b| {
                b.add_db(&self.db);
                b.add_cache(&self.cache);
            },
            self.dir.root(),
        )
    }

    pub(crate) fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        cf(&self.db, name)
    }

    /// The timestamp reads of a transaction beginning now see.
    pub(crate) fn now(&self) -> u64 {
        self.clock.load(Ordering::Acquire)
    }

    /// The commit timestamp of RocksDB sequence number `seq`.
    fn timestamp(&self, seq: u64) -> u64 {
        seq.saturating_add(self.clock_offset)
    }

    /// Called after RocksDB committed a transaction that wrote: applies the sync
    /// mode and hands out the commit timestamp. Timestamps are RocksDB sequence
    /// numbers (plus the database's clock offset) made strictly increasing: each
    /// commit advances the sequence by at least one, so the clock never passes it
    /// and restarts from it after a reopen.
    pub(crate) fn committed(&self) -> Result<u64> {
        if let SyncMode::EveryNCommits(n) = self.config.get_durability().get_sync_mode() {
            let c = self.commits.fetch_add(1, Ordering::AcqRel) + 1;
            if c.is_multiple_of(u64::from(n.max(1))) {
                self.db
                    .flush_wal(true)
                    .map_err(|e| self.poison(rocks("cannot sync the WAL", e)))?;
            }
        }
        let seq = self.timestamp(self.db.latest_sequence_number());
        let prev = self
            .clock
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                Some((c + 1).max(seq))
            })
            .unwrap_or_else(|c| c);
        Ok((prev + 1).max(seq))
    }

    /// Marks the engine poisoned after a failed durable write; returns the error to
    /// report, of kind Poisoned unless it is a conflict.
    /// The id of `name`, stored durably first if it is new. A failed write poisons
    /// the engine, as a failed commit does (an invalid name does not).
    pub(crate) fn intern(&self, kind: NameKind, name: &str) -> Result<u32> {
        self.names
            .intern(&self.db, kind, name)
            .map_err(|e| self.poison_on_io(e))
    }

    /// The next id of `kind`; raising the durable bound first may write, and a
    /// failed write poisons the engine.
    pub(crate) fn next_id(&self, kind: IdKind) -> Result<u64> {
        self.ids
            .next(&self.db, kind)
            .map_err(|e| self.poison_on_io(e))
    }

    fn poison_on_io(&self, e: Error) -> Error {
        if e.kind() == ErrorKind::Io {
            self.poison(e)
        } else {
            e
        }
    }

    pub(crate) fn poison(&self, e: Error) -> Error {
        if e.kind() == ErrorKind::Conflict {
            return e;
        }
        self.poisoned.store(true, Ordering::Release);
        Error::new(
            ErrorKind::Poisoned,
            format!(
                "a durable write failed, so this engine refuses further writes until it is reopened: {}",
                e.message()
            ),
        )
        .with_source(e)
    }

    /// The options of every commit's write (made once: RocksDB allocates them).
    pub(crate) fn write_options(&self) -> &WriteOptions {
        &self.write
    }

    fn snapshots_dir(&self) -> PathBuf {
        self.dir.snapshots_dir()
    }
}

/// Imports go into the empty data directory `Config` names, through the bulk path
/// ([`OnDiskEngine::create_from_image`]).
impl ImageEngine for OnDiskEngine {
    type Config = Config;

    fn import(
        config: Config,
        produce: impl FnOnce(&mut dyn SnapshotSink) -> Result<u64>,
    ) -> Result<Self> {
        let mut produce = Some(produce);
        OnDiskEngine::create_from_image(config, &mut |sink| match produce.take() {
            Some(p) => p(sink),
            None => Err(Error::invalid_input("an image is handed over once")),
        })
    }

    /// Hands the newest committed state to `sink` as an image in snapshot order
    /// (names, schema, id counters, vertices, edges; ids as they are) and returns its
    /// commit timestamp: one consistent RocksDB snapshot, writers going on meanwhile.
    fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        let snapshot = self.db.snapshot();
        let ts = self.now().max(self.timestamp(snapshot.sequence_number()));
        crate::snapshot::write_contents(self, &snapshot, sink)?;
        Ok(ts)
    }

    /// Closes without the snapshot `close` exports when snapshots on exit are on
    /// (for a caller that has just written one): flushes every column family and
    /// syncs RocksDB's WAL, as `close` does.
    fn close_without_snapshot(self) -> Result<()> {
        // No transaction is left (each borrows the engine): the counts cover every
        // object, and the next open scans none.
        self.counts.checkpoint(&self.db, self.ids.bounds())?;
        for name in ALL_CFS {
            self.db
                .flush_cf(self.cf(name)?)
                .map_err(|e| rocks("cannot flush on close", e))?;
        }
        self.db
            .flush_wal(true)
            .map_err(|e| rocks("cannot sync the WAL on close", e))?;
        Ok(())
    }

    /// The database's id (adopted from the snapshot it was restored from, if any).
    fn database_id(&self) -> Option<DatabaseId> {
        Some(self.database)
    }
}

impl StorageEngine for OnDiskEngine {
    type Txn<'e> = OnDiskTxn<'e>;

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn begin(&self, options: TxnOptions) -> Result<OnDiskTxn<'_>> {
        match options.requested_isolation() {
            None | Some(IsolationLevel::SnapshotIsolation) => {}
            Some(level) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "isolation level {level:?}: ON_DISK_TRANSACTIONAL offers snapshot isolation only"
                    ),
                ));
            }
        }
        if !options.is_read_only() && self.poisoned.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Poisoned,
                "a durable write failed earlier; reopen the engine to write again",
            ));
        }
        let ts = self.now();
        let catalog = self.schema.current();
        // A writer's snapshot is taken as it registers among running writers (whose
        // oldest start bounds what the lock table keeps); a reader only takes one.
        let (snapshot, writer) = if options.is_read_only() {
            (self.db.snapshot(), None)
        } else {
            let (snapshot, writer) = self.locks.register(|| {
                let snapshot = self.db.snapshot();
                let seq = snapshot.sequence_number();
                (snapshot, seq)
            });
            (
                snapshot,
                Some(Box::new(crate::txn::locks::WriterGuard::new(
                    &self.locks,
                    writer,
                ))),
            )
        };
        Ok(OnDiskTxn::new(self, writer, snapshot, catalog, ts))
    }

    fn stats(&self) -> Result<EngineStats> {
        let (vertices, edges) = self.counts.get();
        Ok(EngineStats {
            vertices,
            edges,
            disk_bytes: Some(dir_bytes(self.dir.root())),
        })
    }

    fn close(self) -> Result<()> {
        if self.config.get_durability().get_snapshot_on_exit() {
            self.create_snapshot()?;
        }
        self.close_without_snapshot()
    }

    fn create_snapshot(&self) -> Result<SnapshotInfo> {
        let _one_at_a_time = self.snapshot_lock.lock();
        let seq = self.dir.list_snapshots()?.last().map_or(1, |s| s.seq + 1);
        let snapshot = self.db.snapshot();
        let ts = self.now().max(self.timestamp(snapshot.sequence_number()));
        let info = crate::snapshot::export(self, &snapshot, &self.snapshots_dir(), seq, ts)?;
        let snapshots = self.dir.list_snapshots()?;
        let keep = self.config.get_durability().get_snapshot_retention().max(1);
        let surplus = snapshots.len().saturating_sub(keep);
        let doomed = snapshots
            .into_iter()
            .take(surplus)
            .map(|s| s.path)
            .collect();
        self.deletions.delete(doomed)?;
        Ok(info)
    }

    fn recovery_report(&self) -> Result<RecoveryReport> {
        Ok(self.recovery.clone())
    }

    fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        crate::snapshot::list(&self.dir.list_snapshots()?)
    }

    fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        self.create_index_impl(spec)
    }

    fn drop_index(&self, spec: &IndexSpec) -> Result<()> {
        self.drop_index_impl(spec)
    }

    fn indexes(&self) -> Result<Vec<IndexInfo>> {
        self.index_infos()
    }

    fn create_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        self.create_constraint_impl(spec)
    }

    fn drop_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        self.drop_constraint_impl(spec)
    }

    fn constraints(&self) -> Result<Vec<ConstraintSpec>> {
        let mut specs: Vec<ConstraintSpec> = self
            .schema
            .current()
            .constraints
            .iter()
            .map(|c| c.spec.clone())
            .collect();
        specs.sort();
        Ok(specs)
    }

    fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        self.create_trigger_impl(spec)
    }

    fn drop_trigger(&self, name: &str) -> Result<()> {
        self.drop_trigger_impl(name)
    }

    fn triggers(&self) -> Result<Vec<TriggerSpec>> {
        Ok(self.schema.current().triggers.values().cloned().collect())
    }

    fn add_commit_observer(
        &self,
        phase: TriggerPhase,
        observer: SharedObserver,
    ) -> Result<ObserverId> {
        Ok(self.observers.add(phase, observer))
    }

    fn remove_commit_observer(&self, id: ObserverId) -> Result<()> {
        self.observers.remove(id)
    }

    fn lock_data_directory(&self) -> Result<LockChange> {
        Ok(self.deletions.lock())
    }

    fn data_directory_lease(&self) -> Result<DataDirectoryLease> {
        Ok(DataDirectoryLease::new(self.deletions.lease()))
    }

    fn unlock_data_directory(&self) -> Result<LockChange> {
        self.deletions.unlock()
    }

    fn data_directory_lock_status(&self) -> Result<LockStatus> {
        Ok(self.deletions.status())
    }
}
