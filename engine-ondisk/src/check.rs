//! Checking an on-disk database: RocksDB's files through RocksDB (every block read
//! with its checksum verified) and our metadata and records beside them.
//!
//! [`check_files`] does it for a data directory no process holds, without writing to
//! it: our metadata file, then RocksDB opened read-only with the options `open` uses
//! (so its MANIFEST, its WAL and every SST file it lists are read as `open` would
//! read them), then every key of every column family, each record decoded.
//! [`OnDiskEngine::check_data`] reads an open database the same way. Between them,
//! "the files check" means "opening succeeds and every record reads".

use std::path::{Path, PathBuf};

use engine_api::{Error, ErrorKind, Result};
use rocksdb::{DB, IteratorMode, ReadOptions};

use crate::config::Config;
use crate::engine::{CREATING, OnDiskEngine, ROCKSDB_DIR, cf};
use crate::keys::{
    ALL_CFS, EDGES, EdgeValue, IN, INDEX, LABELS, META, OUT, StoredCatalog, VERTICES, VertexRecord,
    corrupt, decode_adjacency_key, decode_id_key, decode_label_key, entry_object, rocks,
};
use crate::metadata::{META_FILE, database_state, read_meta_file};
use crate::rocks::{rocks_files, rocks_options};

/// One thing [`check_files`] looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPart {
    /// The file or directory.
    pub path: PathBuf,
    /// What it is: `metadata`, `RocksDB`.
    pub kind: &'static str,
    /// What was found, when it is sound.
    pub detail: String,
    /// What makes opening fail, or a record unreadable.
    pub damage: Option<String>,
}

/// What [`check_files`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// What was looked at.
    pub parts: Vec<CheckedPart>,
    /// Opening creates the database anew from the newest snapshot in `snapshots/`
    /// (an interrupted creation, or no RocksDB files yet): the snapshot is what
    /// counts then.
    pub recreates_from_snapshot: bool,
    /// When it does, whether it removes RocksDB's files (its log in `wal/`
    /// included) first; otherwise a RocksDB log there makes opening refuse.
    pub removes_rocksdb_first: bool,
    /// What does not keep the database from opening but is not as it should be
    /// (stored counts that differ from the records).
    pub notes: Vec<String>,
}

impl FileCheck {
    /// A creation that never finished: opening removes RocksDB's files and creates
    /// the database again from the newest snapshot.
    fn interrupted_creation(&mut self, rdir: &Path) {
        self.part(
            rdir.to_path_buf(),
            "RocksDB",
            Ok("an interrupted creation: opening starts it again".to_string()),
        );
        self.recreates_from_snapshot = true;
        self.removes_rocksdb_first = true;
    }

    fn part(&mut self, path: PathBuf, kind: &'static str, found: Result<String>) {
        let (detail, damage) = match found {
            Ok(d) => (d, None),
            Err(e) => (String::new(), Some(e.message().to_string())),
        };
        self.parts.push(CheckedPart {
            path,
            kind,
            detail,
            damage,
        });
    }
}

/// Checks the on-disk database in the data directory `root` without writing to it
/// (see the module docs). Errors only for a directory that cannot be read; damage is
/// in the result.
pub fn check_files(root: &Path) -> Result<FileCheck> {
    let mut check = FileCheck::default();
    let rdir = root.join(ROCKSDB_DIR);
    if rdir.join(CREATING).exists() {
        check.interrupted_creation(&rdir);
        return Ok(check);
    }
    let meta = rdir.join(META_FILE);
    let id = match read_meta_file(&rdir) {
        Err(e) => {
            check.part(meta, "metadata", Err(e));
            return Ok(check);
        }
        Ok(None) => {
            if rocks_files(&rdir)?.is_empty() {
                check.recreates_from_snapshot = true;
            } else {
                check.part(
                    rdir.clone(),
                    "RocksDB",
                    Err(Error::invalid_input(format!(
                        "holds files but no {META_FILE}: not a Quiver on-disk database, which opening refuses"
                    ))),
                );
            }
            return Ok(check);
        }
        Ok(Some((id, version))) => {
            check.part(
                meta,
                "metadata",
                Ok(format!("database {id}, format version {version}")),
            );
            (id, version)
        }
    };
    if !rdir.join("CURRENT").exists() {
        if rocks_files(&rdir)?.is_empty() {
            check.recreates_from_snapshot = true;
        } else {
            check.part(
                rdir.clone(),
                "RocksDB",
                Err(Error::corrupt(
                    "has RocksDB files but no CURRENT file, which opening refuses",
                )),
            );
        }
        return Ok(check);
    }
    match read_rocksdb(root, id) {
        Ok(Read::Ready(parts, metadata)) => {
            if !root.join("wal").is_dir() {
                check.notes.push(format!(
                    "{} is missing: opening creates it empty, so whatever RocksDB held only in its log (commits not yet flushed into its tables) is not there; the tables were checked",
                    root.join("wal").display()
                ));
            }
            let records = |name: &str| {
                parts
                    .iter()
                    .find(|(f, _)| *f == name)
                    .and_then(|(_, n)| n.as_ref().ok().copied())
            };
            let (vertices, edges) = (records(VERTICES), records(EDGES));
            check.part(
                rdir.clone(),
                "metadata",
                metadata
                    .as_ref()
                    .map(|counts| match counts {
                        Some((v, e)) => format!(
                            "names, id bounds, schema and counts load as opening loads them ({v} vertices, {e} edges)"
                        ),
                        None => "names, id bounds and schema load as opening loads them (counts: opening counts the records)".to_string(),
                    })
                    .map_err(|e| {
                        Error::new(e.kind(), format!("opening fails: {}", e.message()))
                    }),
            );
            if let (Ok(Some((v, e))), Some(rv), Some(re)) = (&metadata, vertices, edges)
                && (*v, *e) != (rv, re)
            {
                check.notes.push(format!(
                    "the stored counts say {v} vertices and {e} edges, but {} holds {rv} vertex and {re} edge records: the database opens, and `stats()` (and `quiver info`) report the stored counts; a dump and load into a new directory counts anew",
                    rdir.display()
                ));
            }
            for (family, found) in parts {
                check.part(
                    rdir.clone(),
                    "RocksDB",
                    found.map(|n| {
                        format!("column family {family}: {n} records read, checksums verified")
                    }),
                );
            }
        }
        Ok(Read::NotReady) => check.interrupted_creation(&rdir),
        Err(e) => check.part(rdir.clone(), "RocksDB", Err(e)),
    }
    Ok(check)
}

enum Read {
    /// Each column family and what reading it found, and what loading the metadata
    /// as opening does found (the counts it starts from).
    Ready(Vec<(&'static str, Result<u64>)>, Result<Option<(u64, u64)>>),
    NotReady,
}

fn read_rocksdb(root: &Path, (id, version): (durability::DatabaseId, u16)) -> Result<Read> {
    let rdir = root.join(ROCKSDB_DIR);
    let config = Config::new(root);
    let (mut opts, _, cache) = rocks_options(&config, root, false, false, true);
    // Without `wal/`, opening creates it empty (RocksDB's log is then gone): read
    // the tables the same way, with a log folder that holds no log.
    if !root.join("wal").is_dir() {
        opts.set_wal_dir(&rdir);
    }
    let present = DB::list_cf(&opts, &rdir)
        .map_err(|e| as_corrupt(rocks("cannot read RocksDB's MANIFEST", e)))?;
    // Opening asks for every family and adds the ones an older format lacks; it
    // fails on one it does not know.
    for name in &present {
        if name != "default" && !ALL_CFS.contains(&name.as_str()) {
            return Err(Error::corrupt(format!(
                "holds the column family {name}, which this format does not have: opening fails"
            )));
        }
    }
    // Version 1 lacks `index`; every later one has every family.
    if version >= 2
        && let Some(missing) = ALL_CFS.iter().find(|n| !present.iter().any(|p| p == *n))
    {
        return Err(Error::corrupt(format!(
            "the column family {missing} is missing: opening fails"
        )));
    }
    // Each family with the options the engine gives it (the `meta` family's merge
    // operator replays the counts' changes in the log).
    let families = present.iter().map(|name| {
        let options = if name == "default" {
            rocksdb::Options::default()
        } else {
            crate::rocks::family_options(name, &config, &cache, true)
        };
        rocksdb::ColumnFamilyDescriptor::new(name, options)
    });
    let db = DB::open_cf_descriptors_read_only(&opts, &rdir, families, false).map_err(|e| {
        as_corrupt(rocks(
            &format!(
                "cannot open RocksDB (tables in {}, log in {})",
                rdir.display(),
                root.join("wal").display()
            ),
            e,
        ))
    })?;
    let mcf = db
        .cf_handle(META)
        .ok_or_else(|| Error::corrupt("the column family meta is missing: opening fails"))?;
    let ready = database_state(&rdir, id, |key| db.get_cf(mcf, key))?;
    if !ready {
        return Ok(Read::NotReady);
    }
    let mut parts = Vec::new();
    for family in ALL_CFS {
        let Some(handle) = db.cf_handle(family) else {
            // An older format's missing family: opening adds it empty.
            continue;
        };
        let iter = db.iterator_cf_opt(handle, scan_options(), IteratorMode::Start);
        parts.push((family, check_family(family, iter)));
    }
    Ok(Read::Ready(parts, load_metadata(&db, version)))
}

/// What an open of a ready database of format `version` loads from `meta` before
/// any transaction, loaded the same way without writing: names, id bounds, schema
/// catalog, counts, clock offset. Returns the counts the open starts from (`None`
/// for a version before 3, which kept none: the open counts the records).
fn load_metadata(db: &DB, version: u16) -> Result<Option<(u64, u64)>> {
    let names = crate::metadata::Dictionary::load(db)?;
    crate::metadata::IdAllocator::load(db)?;
    crate::schema::Schema::load(db, &names)?;
    crate::metadata::read_clock_offset(db)?;
    if version < 3 {
        return Ok(None);
    }
    let (v, e, _) = crate::counts::Counts::at_open(db)?;
    Ok(Some((v as u64, e as u64)))
}

/// RocksDB's "cannot open" for files that are there: damage, not bad input.
fn as_corrupt(e: Error) -> Error {
    if e.kind() == ErrorKind::InvalidInput {
        Error::corrupt(e.message().to_string())
    } else {
        e
    }
}

fn scan_options() -> ReadOptions {
    let mut o = ReadOptions::default();
    o.set_verify_checksums(true);
    o.fill_cache(false);
    o
}

/// Reads every record `iter` yields from `family`, decoding each; returns how many.
fn check_family(
    family: &str,
    iter: impl Iterator<Item = std::result::Result<(Box<[u8]>, Box<[u8]>), rocksdb::Error>>,
) -> Result<u64> {
    let mut n = 0u64;
    for item in iter {
        let (key, value) = item.map_err(|e| {
            as_corrupt(rocks(&format!("cannot read the column family {family}"), e))
        })?;
        check_record(family, &key, &value)?;
        n += 1;
    }
    Ok(n)
}

/// Decodes one record as the engine reads it.
fn check_record(family: &str, key: &[u8], value: &[u8]) -> Result<()> {
    match family {
        VERTICES => {
            decode_id_key(VERTICES, key)?;
            VertexRecord::decode(key, value)?;
        }
        EDGES => {
            decode_id_key(EDGES, key)?;
            EdgeValue::decode(key, value)?;
        }
        OUT | IN => {
            decode_adjacency_key(family, key)?;
        }
        LABELS => {
            decode_label_key(key)?;
        }
        // Two kinds of record: an index entry (index id, sort key, object id; no
        // value) and a uniqueness record (constraint id, sort key; the holding
        // vertex's id as value), whose key is as short as 5 bytes for a short value.
        INDEX if value.is_empty() => {
            entry_object(key)?;
        }
        INDEX if value.len() != 8 || key.len() < 5 => {
            return Err(corrupt(
                INDEX,
                key,
                "a uniqueness record is not a constraint id and values holding one vertex id",
            ));
        }
        META if key == crate::schema::KEY_SCHEMA => {
            StoredCatalog::decode(value)?;
        }
        META if key == crate::metadata::KEY_IDS && value.len() != 16 => {
            return Err(corrupt(META, key, "the id counters are not 16 bytes"));
        }
        META if key == crate::metadata::KEY_CLOCK && value.len() != 8 => {
            return Err(corrupt(META, key, "the clock offset is not 8 bytes"));
        }
        _ => {}
    }
    Ok(())
}

impl OnDiskEngine {
    /// Reads every record of every column family of this open database, with
    /// RocksDB's block checksums verified, decoding each as reads do: what
    /// `quiver verify` checks of a closed directory, for a running one. Returns the
    /// number of records read.
    ///
    /// Errors: `Corrupt` naming the column family (and the key, for a record that
    /// does not decode).
    pub fn check_data(&self) -> Result<u64> {
        let mut n = 0;
        for family in ALL_CFS {
            let handle = cf(&self.db, family)?;
            let iter = self
                .db
                .iterator_cf_opt(handle, scan_options(), IteratorMode::Start);
            n += check_family(family, iter)?;
        }
        Ok(n)
    }
}
