//! Opening a data directory: an existing database (its metadata loaded and checked),
//! a new one, or one created from the newest snapshot in `snapshots/` or from an
//! image, all or nothing across a crash (the `.quiver.creating` marker).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use durability::{DataDir, DeletionGate};
use engine_api::kit::ObserverRegistry;
use engine_api::{DatabaseId, Error, ErrorKind, RecoveryReport, Result, SyncMode};
use parking_lot::Mutex;
use rocksdb::{Cache, DB, Options, ReadOptions, WriteOptions};

use crate::config::Config;
use crate::counts::Counts;
use crate::engine::{CREATING, OnDiskEngine, ROCKSDB_DIR, capabilities, cf};
use crate::keys::{META, VERTICES, rocks};
use crate::metadata::read_clock_offset;
use crate::metadata::{
    Dictionary, FORMAT_VERSION, IdAllocator, KEY_CLOCK, KEY_DATABASE, KEY_READY, META_FILE,
    database_state, read_meta_file, write_meta_file,
};
use crate::rocks::{destroy_rocks, discard_creation, io, open_rocks, rocks_files};
use crate::schema::Schema;

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
        crate::checkpoint::remove_left_checkpoints(dir.root())?;
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
                    let (counts, _) = durability::snapshot::read_snapshot_counts(path)?;
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
}
