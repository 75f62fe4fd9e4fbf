//! Vertex and edge counts kept with the data, so `stats()` reads two numbers instead
//! of scanning both column families.
//!
//! The `counts` key of the `meta` column family holds vertices and edges (two u64
//! LE), and `counted_below` two ids (u64 LE): the counts cover every vertex below the
//! first and every edge below the second (format version 5). Every open, before any
//! transaction, adds the objects at or above those ids by scanning the keys from
//! there (after a clean close there are none; after a crash, those created since the
//! previous open), then writes the totals and the id bounds it starts from, in one
//! synced write; a clean close writes them too. Ids are handed out ascending from
//! the stored bound, so everything a running engine creates lies above the
//! `counted_below` of its open and needs no record at all: a small write transaction
//! writes its data and nothing else. A transaction that deletes objects below those
//! ids adds its net change (two i64 LE) with a RocksDB merge in the same write as its
//! data, so the counts stay exactly as durable as the data (a crash keeps both or
//! neither), and writers never conflict over the key: RocksDB keeps the changes as
//! operands and adds them up when it reads the key or compacts it.
//!
//! Version 4 merged every transaction's change, creations too (one more memtable
//! insert per commit: a tenth of a small write transaction's time); its counts lack
//! `counted_below` and cover everything. Format version 3 wrote each commit's change
//! under a key of its own instead (0x01, sequence u64 BE); a version 3 database can
//! hold such records, and opening folds them into the base once.

use std::sync::atomic::{AtomicI64, Ordering};

use engine_api::Result;
use rocksdb::{DB, MergeOperands, ReadOptions, WriteBatch, WriteOptions};

use crate::keys::{META, corrupt, rocks};

pub(crate) const KEY_COUNTS: &[u8] = b"counts";
/// The ids below which `counts` covers the objects (absent before version 5: all).
pub(crate) const KEY_COUNTED_BELOW: &[u8] = b"counted_below";
/// The prefix of format version 3's change records.
const CHANGE_PREFIX: u8 = 0x01;
/// The name RocksDB records for the merge operator of the `meta` column family.
pub(crate) const MERGE_OPERATOR: &str = "quiver.counts.v1";

/// The counts of a running engine.
#[derive(Debug)]
pub(crate) struct Counts {
    vertices: AtomicI64,
    edges: AtomicI64,
    /// The stored counts cover the vertices and edges below these ids (the id
    /// bounds at the open): only deletions below them are written with a commit.
    below: [u64; 2],
}

/// A transaction's net change of the counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CountChange {
    pub vertices: i64,
    pub edges: i64,
}

impl CountChange {
    pub(crate) fn is_empty(self) -> bool {
        self == CountChange::default()
    }

    fn encode(self) -> [u8; 16] {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&self.vertices.to_le_bytes());
        v[8..].copy_from_slice(&self.edges.to_le_bytes());
        v
    }
}

fn pair(key: &[u8], value: &[u8]) -> Result<[u64; 2]> {
    if value.len() != 16 {
        return Err(corrupt(META, key, "a count record is not 16 bytes"));
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&value[..8]);
    let first = u64::from_le_bytes(a);
    a.copy_from_slice(&value[8..]);
    Ok([first, u64::from_le_bytes(a)])
}

/// The base record for `vertices` and `edges`.
pub(crate) fn encode_base(vertices: u64, edges: u64) -> [u8; 16] {
    crate::metadata::encode_bounds(vertices, edges)
}

#[cfg(test)]
fn change_key(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = CHANGE_PREFIX;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The counts as stored (the base with every merged change) plus format version 3's
/// change records, summed; and those records' keys.
fn read(db: &DB) -> Result<(i64, i64, Vec<Vec<u8>>)> {
    let cf = crate::engine::cf(db, META)?;
    let base = db
        .get_cf(cf, KEY_COUNTS)
        .map_err(|e| rocks("cannot read the counts", e))?;
    let (mut v, mut e) = match base {
        Some(b) => {
            let [v, e] = pair(KEY_COUNTS, &b)?;
            (v as i64, e as i64)
        }
        None => return Err(corrupt(META, KEY_COUNTS, "the counts are missing")),
    };
    let mut keys = Vec::new();
    let mut ro = ReadOptions::default();
    ro.set_iterate_upper_bound([CHANGE_PREFIX + 1]);
    let mut it = db.raw_iterator_cf_opt(cf, ro);
    it.seek([CHANGE_PREFIX]);
    while let (Some(key), Some(value)) = (it.key(), it.value()) {
        if key.first() != Some(&CHANGE_PREFIX) {
            break;
        }
        if key.len() != 9 {
            return Err(corrupt(META, key, "a count change key is not 9 bytes"));
        }
        let [dv, de] = pair(key, value)?;
        v = v.wrapping_add(dv as i64);
        e = e.wrapping_add(de as i64);
        keys.push(key.to_vec());
        it.next();
    }
    it.status()
        .map_err(|e| rocks("cannot read the count changes", e))?;
    Ok((v, e, keys))
}

/// Adds `operands` (changes) to `base`, both as stored; `None` (RocksDB then reports
/// corruption) for a value of the wrong length.
fn add_up(base: [u8; 16], operands: &MergeOperands) -> Option<Vec<u8>> {
    let mut sum = [0i64; 2];
    for (i, half) in base.chunks_exact(8).enumerate() {
        sum[i] = i64::from_le_bytes(half.try_into().ok()?);
    }
    for op in operands {
        if op.len() != 16 {
            return None;
        }
        for (i, half) in op.chunks_exact(8).enumerate() {
            sum[i] = sum[i].wrapping_add(i64::from_le_bytes(half.try_into().ok()?));
        }
    }
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&sum[0].to_le_bytes());
    out.extend_from_slice(&sum[1].to_le_bytes());
    Some(out)
}

/// The merge of changes into the stored counts. Without a stored value (the base is
/// always written when the database is made, so it was lost) the merge fails and
/// reading the counts reports corruption, as it did before changes were merges.
pub(crate) fn full_merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    add_up(existing?.try_into().ok()?, operands)
}

/// The merge of changes with each other (RocksDB combines operands before it meets
/// the base).
pub(crate) fn partial_merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let start = match existing {
        Some(v) => v.try_into().ok()?,
        None => [0u8; 16],
    };
    add_up(start, operands)
}

/// Replaces the base with `(v, e)` covering the objects below `below`, and deletes
/// `keys` (format version 3's change records), in one synced write.
fn write_checkpoint(db: &DB, v: i64, e: i64, below: [u64; 2], keys: &[Vec<u8>]) -> Result<()> {
    let cf = crate::engine::cf(db, META)?;
    let mut batch = WriteBatch::default();
    batch.put_cf(
        cf,
        KEY_COUNTS,
        encode_base(v.max(0) as u64, e.max(0) as u64),
    );
    batch.put_cf(cf, KEY_COUNTED_BELOW, encode_base(below[0], below[1]));
    for k in keys {
        batch.delete_cf(cf, k);
    }
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    db.write_opt(batch, &wo)
        .map_err(|e| rocks("cannot store the counts", e))
}

/// How many keys family `name` holds from `from` on (all of them with `None`).
fn count_keys(db: &DB, name: &str, from: Option<&[u8]>) -> Result<u64> {
    let mut ro = ReadOptions::default();
    ro.fill_cache(false);
    let mut it = db.raw_iterator_cf_opt(crate::engine::cf(db, name)?, ro);
    match from {
        Some(k) => it.seek(k),
        None => it.seek_to_first(),
    }
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next();
    }
    it.status()
        .map_err(|e| rocks(&format!("cannot count {name}"), e))?;
    Ok(n)
}

impl Counts {
    /// Loads the counts of an open database before any transaction begins: the
    /// stored ones, format version 3's change records folded in, plus the objects
    /// at or above `counted_below` (the crash case); then stores them as covering
    /// everything below `bounds` (the id bounds this run starts from).
    pub(crate) fn load(db: &DB, bounds: (u64, u64)) -> Result<Self> {
        let (v, e, keys) = Self::at_open(db)?;
        let below = [bounds.0, bounds.1];
        write_checkpoint(db, v, e, below, &keys)?;
        Ok(Counts {
            vertices: AtomicI64::new(v),
            edges: AtomicI64::new(e),
            below,
        })
    }

    /// The counts an open starts from, read without writing (a read-only database
    /// will do): the stored ones plus the objects above the ids they cover; and the
    /// keys of a version 3 database's change records, which the open folds in.
    ///
    /// Errors: `Corrupt` for a missing or damaged count record, or counts below zero.
    pub(crate) fn at_open(db: &DB) -> Result<(i64, i64, Vec<Vec<u8>>)> {
        let (mut v, mut e, keys) = read(db)?;
        if v < 0 || e < 0 {
            return Err(corrupt(META, KEY_COUNTS, "the counts add up below zero"));
        }
        let cf = crate::engine::cf(db, META)?;
        if let Some(b) = db
            .get_cf(cf, KEY_COUNTED_BELOW)
            .map_err(|e| rocks("cannot read the counts", e))?
        {
            let [bv, be] = pair(KEY_COUNTED_BELOW, &b)?;
            let above = |name: &str, id: u64| -> Result<i64> {
                Ok(count_keys(db, name, Some(&crate::keys::id_key(id)))? as i64)
            };
            v += above(crate::keys::VERTICES, bv)?;
            e += above(crate::keys::EDGES, be)?;
        }
        Ok((v, e, keys))
    }

    /// Stores the counts as covering every object below `bounds` (a clean close:
    /// the next open then scans nothing).
    pub(crate) fn checkpoint(&self, db: &DB, bounds: (u64, u64)) -> Result<()> {
        let (v, e) = self.get();
        write_checkpoint(db, v as i64, e as i64, [bounds.0, bounds.1], &[])
    }

    /// Whether a deletion of vertex (`vertex`) or edge id `id` changes the stored
    /// counts (objects created since the open are not in them).
    pub(crate) fn stored(&self, vertex: bool, id: u64) -> bool {
        id < self.below[usize::from(!vertex)]
    }

    /// Counts every vertex and edge by a scan and stores the result as the base (the
    /// upgrade of a database written before counts were kept).
    pub(crate) fn count_and_store(db: &DB) -> Result<()> {
        Self::store(
            db,
            count_keys(db, crate::keys::VERTICES, None)?,
            count_keys(db, crate::keys::EDGES, None)?,
        )
    }

    /// Stores `vertices` and `edges` as the base (synced), for a database with no
    /// change records (a new one, a restored one, an upgraded one).
    pub(crate) fn store(db: &DB, vertices: u64, edges: u64) -> Result<()> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        db.put_cf_opt(
            crate::engine::cf(db, META)?,
            KEY_COUNTS,
            encode_base(vertices, edges),
            &wo,
        )
        .map_err(|e| rocks("cannot store the counts", e))
    }

    /// (vertices, edges) as of the last finished commit.
    pub(crate) fn get(&self) -> (u64, u64) {
        let v = self.vertices.load(Ordering::Acquire).max(0) as u64;
        let e = self.edges.load(Ordering::Acquire).max(0) as u64;
        (v, e)
    }

    /// What a transaction merges into the counts key in its commit: the change of
    /// its deletions of stored objects (see [`Counts::stored`]).
    pub(crate) fn change(change: CountChange) -> [u8; 16] {
        change.encode()
    }

    /// Counts `change` once its commit is written.
    pub(crate) fn committed(&self, change: CountChange) {
        self.vertices.fetch_add(change.vertices, Ordering::AcqRel);
        self.edges.fetch_add(change.edges, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> DB {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let families = crate::keys::ALL_CFS.iter().map(|name| {
            let mut o = rocksdb::Options::default();
            if *name == META {
                o.set_merge_operator(MERGE_OPERATOR, full_merge, partial_merge);
            }
            rocksdb::ColumnFamilyDescriptor::new(*name, o)
        });
        DB::open_cf_descriptors(&opts, dir, families).unwrap()
    }

    fn merge(db: &DB, vertices: i64, edges: i64) {
        let cf = db.cf_handle(META).unwrap();
        db.merge_cf(
            cf,
            KEY_COUNTS,
            Counts::change(CountChange { vertices, edges }),
        )
        .unwrap();
    }

    #[test]
    fn changes_merge_into_the_base_through_flushes_and_compactions() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = open(dir.path());
            Counts::store(&db, 10, 20).unwrap();
            merge(&db, 1, 2);
            db.flush_cf(db.cf_handle(META).unwrap()).unwrap();
            merge(&db, 3, -1);
            merge(&db, -2, 5);
            db.flush_cf(db.cf_handle(META).unwrap()).unwrap();
            merge(&db, 1, 1);
            let counts = Counts::load(&db, (0, 0)).unwrap();
            assert_eq!(counts.get(), (13, 27));
            db.compact_range_cf(db.cf_handle(META).unwrap(), None::<&[u8]>, None::<&[u8]>);
            assert_eq!(Counts::load(&db, (0, 0)).unwrap().get(), (13, 27));
        }
        // Reopened: the operands still in the log are replayed.
        let db = open(dir.path());
        assert_eq!(Counts::load(&db, (0, 0)).unwrap().get(), (13, 27));
    }

    #[test]
    fn a_lost_base_or_a_bad_change_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        merge(&db, 1, 2);
        assert!(Counts::load(&db, (0, 0)).is_err(), "changes without a base");
        Counts::store(&db, 10, 20).unwrap();
        let cf = db.cf_handle(META).unwrap();
        db.merge_cf(cf, KEY_COUNTS, [1u8; 15]).unwrap();
        assert!(Counts::load(&db, (0, 0)).is_err(), "a change of 15 bytes");
    }

    #[test]
    fn objects_at_or_above_counted_below_are_counted_by_the_next_load() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        Counts::store(&db, 10, 20).unwrap();
        // Version 4: no `counted_below`, the stored counts cover everything.
        let put = |name: &str, id: u64| {
            let cf = db.cf_handle(name).unwrap();
            db.put_cf(cf, crate::keys::id_key(id), b"").unwrap();
        };
        put(crate::keys::VERTICES, 5);
        assert_eq!(Counts::load(&db, (100, 50)).unwrap().get(), (10, 20));
        // Created after that load (ids from its bounds on), then a crash.
        put(crate::keys::VERTICES, 100);
        put(crate::keys::VERTICES, 101);
        put(crate::keys::EDGES, 50);
        let counts = Counts::load(&db, (102, 51)).unwrap();
        assert_eq!(counts.get(), (12, 21));
        assert!(counts.stored(true, 101) && !counts.stored(true, 102));
        assert!(counts.stored(false, 50) && !counts.stored(false, 51));
        // That load stored them as covering everything below its bounds: once.
        assert_eq!(Counts::load(&db, (102, 51)).unwrap().get(), (12, 21));
        let counts = Counts::load(&db, (102, 51)).unwrap();
        put(crate::keys::VERTICES, 102);
        counts.committed(CountChange {
            vertices: 1,
            edges: 0,
        });
        counts.checkpoint(&db, (103, 51)).unwrap();
        assert_eq!(Counts::load(&db, (103, 51)).unwrap().get(), (13, 21));
    }

    #[test]
    fn version_3_change_records_are_folded_once_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        Counts::store(&db, 10, 20).unwrap();
        let cf = db.cf_handle(META).unwrap();
        for seq in [0u64, 1, 5] {
            db.put_cf(
                cf,
                change_key(seq),
                CountChange {
                    vertices: 1,
                    edges: 2,
                }
                .encode(),
            )
            .unwrap();
        }
        merge(&db, 1, 0);
        assert_eq!(Counts::load(&db, (0, 0)).unwrap().get(), (14, 26));
        let (_, _, keys) = read(&db).unwrap();
        assert!(keys.is_empty(), "the records are gone: {keys:?}");
        assert_eq!(
            Counts::load(&db, (0, 0)).unwrap().get(),
            (14, 26),
            "counted once"
        );
    }

    #[test]
    fn change_records_sort_after_every_other_meta_key_prefix_they_could_meet() {
        // The scan for version 3's records stops at the first key without the
        // prefix; no other key of the meta column family starts with it.
        for other in [
            &b"database"[..],
            b"ready",
            b"ids",
            b"schema",
            b"counts",
            b"n",
        ] {
            assert_ne!(other[0], CHANGE_PREFIX);
        }
        assert!(change_key(1) < change_key(2));
        assert!(change_key(255) < change_key(256));
    }
}
