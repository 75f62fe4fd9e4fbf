//! Our metadata beside RocksDB's data: the metadata file, and the `meta` column
//! family with the database id, the id reservations and the name dictionaries.
//!
//! `rocksdb/quiver.meta` is a 48-byte file in the durability crate's header framing:
//! magic `QVONDSK1`, the on-disk format version, the value codec version, the
//! database id, the creation time, and a CRC. It is written (temp file, fsync,
//! rename, directory fsync) before RocksDB is created, and read before RocksDB is
//! opened, so a directory of another format version, or one that is not ours, is
//! refused before anything in it is touched.
//!
//! Keys of the `meta` column family:
//!
//! | key | value |
//! |---|---|
//! | `database` | the database id (16 bytes); must equal the metadata file's |
//! | `ready` | empty; written last when a database is created (and a snapshot imported) |
//!
//! From before the metadata file is written until `ready` is, `rocksdb/.quiver.creating`
//! exists: an open that finds it (or a database without `ready`) redoes the creation,
//! since nothing in it was acknowledged; RocksDB files without CURRENT and without the
//! marker are a damaged database, refused as Corrupt and never removed.
//! | `ids` | bounds of the ids handed out: vertex (u64 LE), edge (u64 LE) |
//! | `n`, kind (u8), id (u32 BE) | a name of a dictionary (UTF-8) |
//!
//! Every id handed out is below the stored bound; the bound is raised a block at a
//! time with a synced write *before* an id beyond it is handed out, so ids are never
//! reused, not even those of transactions that never committed, across a crash.
//! A new name is written before the transaction that uses it can commit; RocksDB
//! recovers a prefix of its WAL, so no committed record refers to a name that is lost.
//!
//! # Format versions
//! Version 2 added the `index` column family and the schema catalog, version 3 the
//! kept counts, version 4 keeps count changes as RocksDB merges (an older build
//! cannot read them), version 5 merges only deletions of objects from before the open
//! and counts newer objects at the next open (module `counts`); an older database is
//! upgraded when opened.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use durability::DatabaseId;
use durability::format::{Header, HeaderError, decode_header, encode_header, read_header_bytes};
use engine_api::{Error, ErrorKind, Name, Result};
use parking_lot::{Mutex, RwLock};
use rocksdb::{DB, WriteOptions};

use crate::keys::{META, rocks};

const MAGIC: &[u8; 8] = b"QVONDSK1";
/// The on-disk format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 5;
/// The oldest format version this build opens: version 1 lacks the `index` column
/// family and the schema catalog, versions 1 and 2 lack the kept vertex and edge
/// counts, version 3 keeps count changes as records of their own (version 4 merges
/// them into the counts key, which an older build cannot read), and version 4 merges
/// every transaction's change, where version 5 merges deletions of objects below
/// `counted_below` only and counts the objects above it at open (module `counts`; a
/// version 4 build would miss those after a crash). Opening one adds what it lacks
/// (the counts by one scan) and rewrites the metadata file as the current version
/// (so an older build then refuses it rather than ignore indexes or miscount).
pub const OLDEST_FORMAT_VERSION: u16 = 1;
pub(crate) const META_FILE: &str = "quiver.meta";

pub(crate) const KEY_DATABASE: &[u8] = b"database";
pub(crate) const KEY_READY: &[u8] = b"ready";
pub(crate) const KEY_IDS: &[u8] = b"ids";
/// What commit timestamps add to RocksDB's sequence numbers (8 bytes, little
/// endian; missing means 0): set when a database is restored from a snapshot, so
/// its commits go on after the snapshot's commit timestamp (a new RocksDB starts
/// its sequence numbers near 0) and its snapshots never go back in time.
pub(crate) const KEY_CLOCK: &[u8] = b"clock";
const NAME_PREFIX: u8 = b'n';

/// How many ids one reservation covers.
const ID_BLOCK: u64 = 1 << 16;

/// Reads the metadata file; `None` if there is none.
/// The database id and format version in the metadata file, if there is one.
pub(crate) fn read_meta_file(dir: &Path) -> Result<Option<(DatabaseId, u16)>> {
    let path = dir.join(META_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let what = path.display().to_string();
    let bytes = read_header_bytes(&path, &what)?;
    match decode_header(MAGIC, OLDEST_FORMAT_VERSION..=FORMAT_VERSION, &what, &bytes) {
        Ok(h) => Ok(Some((h.database, h.version))),
        Err(HeaderError::NotOurs) => Err(Error::new(
            ErrorKind::Corrupt,
            format!("{what} is not a Quiver on-disk metadata file; refusing to open the directory"),
        )),
        Err(HeaderError::Bad(e)) => Err(e),
    }
}

/// Whether the database in `rdir` finished its creation (its `ready` key), after
/// checking that RocksDB's files carry `id`, the id of the metadata file. `get`
/// reads a key of the `meta` family (of an open database, or one opened read-only).
///
/// Errors: `Corrupt` when the files belong to another database.
pub(crate) fn database_state(
    rdir: &Path,
    id: DatabaseId,
    get: impl Fn(&[u8]) -> std::result::Result<Option<Vec<u8>>, rocksdb::Error>,
) -> Result<bool> {
    let stored = get(KEY_DATABASE).map_err(|e| rocks("cannot read the database id", e))?;
    let ready = get(KEY_READY)
        .map_err(|e| rocks("cannot read the database state", e))?
        .is_some();
    if (ready || stored.is_some()) && stored.as_deref() != Some(&id.0[..]) {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "the RocksDB files in {} belong to another database than {META_FILE} ({id})",
                rdir.display()
            ),
        ));
    }
    Ok(ready)
}

/// Writes the metadata file atomically.
pub(crate) fn write_meta_file(dir: &Path, database: DatabaseId) -> Result<()> {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let bytes = encode_header(
        MAGIC,
        FORMAT_VERSION,
        &Header {
            version: FORMAT_VERSION,
            database,
            a: micros,
            b: 0,
        },
    );
    let path = dir.join(META_FILE);
    let tmp = dir.join(format!(".{META_FILE}.tmp"));
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot write {}: {e}", path.display()),
        )
        .with_source(e)
    };
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)?;
    durability::dir::sync_dir(dir)
}

/// Which dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NameKind {
    Label = 0,
    EdgeType = 1,
    PropertyKey = 2,
}

impl NameKind {
    pub(crate) const ALL: [NameKind; 3] =
        [NameKind::Label, NameKind::EdgeType, NameKind::PropertyKey];

    fn describe(self) -> &'static str {
        match self {
            NameKind::Label => "label",
            NameKind::EdgeType => "edge type",
            NameKind::PropertyKey => "property key",
        }
    }

    pub(crate) fn to_snapshot(self) -> durability::NameKind {
        match self {
            NameKind::Label => durability::NameKind::Label,
            NameKind::EdgeType => durability::NameKind::EdgeType,
            NameKind::PropertyKey => durability::NameKind::PropertyKey,
        }
    }

    pub(crate) fn from_snapshot(kind: durability::NameKind) -> Self {
        match kind {
            durability::NameKind::Label => NameKind::Label,
            durability::NameKind::EdgeType => NameKind::EdgeType,
            durability::NameKind::PropertyKey => NameKind::PropertyKey,
        }
    }
}

pub(crate) fn name_key(kind: NameKind, id: u32) -> [u8; 6] {
    let mut k = [0u8; 6];
    k[0] = NAME_PREFIX;
    k[1] = kind as u8;
    k[2..].copy_from_slice(&id.to_be_bytes());
    k
}

#[derive(Debug, Default)]
struct Dict {
    ids: HashMap<Name, u32>,
    names: Vec<Option<Name>>,
}

/// The three name dictionaries, cached in memory, persisted in `meta`.
#[derive(Debug, Default)]
pub(crate) struct Dictionary {
    kinds: [RwLock<Dict>; 3],
}

impl Dictionary {
    /// Loads every name from `meta`.
    pub(crate) fn load(db: &DB) -> Result<Self> {
        let dict = Dictionary::default();
        let cf = crate::engine::cf(db, META)?;
        let iter = db.prefix_iterator_cf(cf, [NAME_PREFIX]);
        for item in iter {
            let (key, value) = item.map_err(|e| rocks("cannot read the name dictionary", e))?;
            if key.first() != Some(&NAME_PREFIX) {
                break;
            }
            let bad = |reason: &str| crate::keys::corrupt(META, &key, reason);
            if key.len() != 6 {
                return Err(bad("name key is not 6 bytes"));
            }
            let kind = match key[1] {
                0 => NameKind::Label,
                1 => NameKind::EdgeType,
                2 => NameKind::PropertyKey,
                _ => return Err(bad("unknown dictionary")),
            };
            let mut idb = [0u8; 4];
            idb.copy_from_slice(&key[2..6]);
            let id = u32::from_be_bytes(idb);
            let name = std::str::from_utf8(&value).map_err(|_| bad("name is not UTF-8"))?;
            dict.insert(kind, id, name)?;
        }
        Ok(dict)
    }

    /// Adds `name` under `id` (loading and importing).
    pub(crate) fn insert(&self, kind: NameKind, id: u32, name: &str) -> Result<()> {
        let mut d = self.kinds[kind as usize].write();
        let name: Name = name.into();
        if d.ids.contains_key(&name) || d.names.get(id as usize).is_some_and(Option::is_some) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("{} {name:?} (id {id}) is defined twice", kind.describe()),
            ));
        }
        if d.names.len() <= id as usize {
            d.names.resize(id as usize + 1, None);
        }
        d.names[id as usize] = Some(name.clone());
        d.ids.insert(name, id);
        Ok(())
    }

    /// The id of `name`, if it has one.
    pub(crate) fn id(&self, kind: NameKind, name: &str) -> Option<u32> {
        self.kinds[kind as usize].read().ids.get(name).copied()
    }

    /// The id of `name`, giving it one (persisted in `meta`) if it has none.
    pub(crate) fn intern(&self, db: &DB, kind: NameKind, name: &str) -> Result<u32> {
        if let Some(id) = self.id(kind, name) {
            return Ok(id);
        }
        engine_api::validate_name(kind.describe(), name)?;
        let mut d = self.kinds[kind as usize].write();
        if let Some(id) = d.ids.get(name) {
            return Ok(*id);
        }
        let id = u32::try_from(d.names.len()).map_err(|_| {
            Error::invalid_input(format!("too many distinct {} names", kind.describe()))
        })?;
        let cf = crate::engine::cf(db, META)?;
        db.put_cf(cf, name_key(kind, id), name.as_bytes())
            .map_err(|e| rocks("cannot store a new name", e))?;
        let name: Name = name.into();
        d.names.push(Some(name.clone()));
        d.ids.insert(name, id);
        Ok(id)
    }

    /// The name with `id`.
    pub(crate) fn name(&self, kind: NameKind, id: u32) -> Result<Name> {
        self.kinds[kind as usize]
            .read()
            .names
            .get(id as usize)
            .and_then(Clone::clone)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Corrupt,
                    format!("{} id {id} is not in the dictionary", kind.describe()),
                )
            })
    }

    /// Every `(id, name)` of one dictionary, by id.
    pub(crate) fn entries(&self, kind: NameKind) -> Vec<(u32, Name)> {
        self.kinds[kind as usize]
            .read()
            .names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.clone().map(|n| (i as u32, n)))
            .collect()
    }
}

/// Hands out vertex and edge ids, never twice.
#[derive(Debug)]
pub(crate) struct IdAllocator {
    next: [AtomicU64; 2],
    bound: [AtomicU64; 2],
    extend: Mutex<()>,
}

/// Which counter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdKind {
    Vertex = 0,
    Edge = 1,
}

pub(crate) fn encode_bounds(vertex: u64, edge: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&vertex.to_le_bytes());
    v[8..].copy_from_slice(&edge.to_le_bytes());
    v
}

impl IdAllocator {
    /// Starts at the stored bounds (nothing at or above them was ever handed out).
    pub(crate) fn load(db: &DB) -> Result<Self> {
        let cf = crate::engine::cf(db, META)?;
        let (v, e) = match db
            .get_cf(cf, KEY_IDS)
            .map_err(|e| rocks("cannot read the id counters", e))?
        {
            None => (0, 0),
            Some(b) if b.len() == 16 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[..8]);
                let v = u64::from_le_bytes(a);
                a.copy_from_slice(&b[8..]);
                (v, u64::from_le_bytes(a))
            }
            Some(_) => {
                return Err(crate::keys::corrupt(
                    META,
                    KEY_IDS,
                    "id bounds are not 16 bytes",
                ));
            }
        };
        Ok(IdAllocator {
            next: [AtomicU64::new(v), AtomicU64::new(e)],
            bound: [AtomicU64::new(v), AtomicU64::new(e)],
            extend: Mutex::new(()),
        })
    }

    /// The next id of `kind`.
    pub(crate) fn next(&self, db: &DB, kind: IdKind) -> Result<u64> {
        let i = kind as usize;
        let id = self.next[i].fetch_add(1, Ordering::Relaxed);
        if id < self.bound[i].load(Ordering::Acquire) {
            return Ok(id);
        }
        let _g = self.extend.lock();
        if id < self.bound[i].load(Ordering::Acquire) {
            return Ok(id);
        }
        let mut bounds = [
            self.bound[0].load(Ordering::Acquire),
            self.bound[1].load(Ordering::Acquire),
        ];
        bounds[i] = id
            .checked_add(ID_BLOCK + 1)
            .ok_or_else(|| Error::invalid_input("ids are exhausted"))?;
        let cf = crate::engine::cf(db, META)?;
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        db.put_cf_opt(cf, KEY_IDS, encode_bounds(bounds[0], bounds[1]), &wo)
            .map_err(|e| rocks("cannot reserve ids", e))?;
        self.bound[i].store(bounds[i], Ordering::Release);
        Ok(id)
    }

    /// The bounds: every id handed out so far is below them.
    pub(crate) fn bounds(&self) -> (u64, u64) {
        (
            self.bound[0].load(Ordering::Acquire),
            self.bound[1].load(Ordering::Acquire),
        )
    }
}

/// The clock offset in `meta` (see [`crate::metadata::KEY_CLOCK`]); 0 if there is
/// none.
///
/// Errors: `Corrupt` for a value that is not 8 bytes.
pub(crate) fn read_clock_offset(db: &DB) -> Result<u64> {
    match db
        .get_cf(crate::engine::cf(db, META)?, KEY_CLOCK)
        .map_err(|e| rocks("cannot read the clock offset", e))?
    {
        None => Ok(0),
        Some(v) => Ok(u64::from_le_bytes(v.as_slice().try_into().map_err(
            |_| crate::keys::corrupt(META, KEY_CLOCK, "the clock offset is not 8 bytes"),
        )?)),
    }
}
