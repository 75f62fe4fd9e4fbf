//! Vertex and edge counts kept with the data (format version 3), so `stats()` reads
//! two numbers instead of scanning both column families.
//!
//! Keys of the `meta` column family:
//!
//! | key | value |
//! |---|---|
//! | `counts` | the base: vertices (u64 LE), edges (u64 LE) |
//! | 0x01, sequence (u64 BE) | one commit's net change: vertices (i64 LE), edges (i64 LE) |
//!
//! A transaction that created or deleted vertices or edges puts its net change under a
//! key of its own in the same RocksDB commit as the data, so the counts are exactly as
//! durable as the data (a crash keeps both or neither), and no two writers ever touch
//! the same counter key (a shared counter would make every pair of concurrent writers
//! conflict). The true count is the base plus every change record. Opening the
//! database folds all records into the base in one write; a running engine folds the
//! records it can see every [`FOLD_EVERY`] records, so they never pile up. A fold reads
//! the base and the records through one RocksDB snapshot and writes the new base and
//! the deletion of exactly the records it read in one batch: a record committed after
//! that snapshot stays for the next fold.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use engine_api::Result;
use parking_lot::Mutex;
use rocksdb::{DB, ReadOptions, SnapshotWithThreadMode, WriteBatch, WriteOptions};

use crate::keys::{META, corrupt, rocks};

pub(crate) const KEY_COUNTS: &[u8] = b"counts";
const CHANGE_PREFIX: u8 = 0x01;
/// CountChange records a running engine lets accumulate before it folds them.
pub(crate) const FOLD_EVERY: u64 = 4096;

/// The counts of a running engine.
#[derive(Debug)]
pub(crate) struct Counts {
    vertices: AtomicI64,
    edges: AtomicI64,
    /// The sequence of the next change record (every record of an earlier run was
    /// folded and deleted at open, so sequences restart at 0).
    next: AtomicU64,
    /// Commits counted since the last fold.
    since_fold: AtomicU64,
    /// Serialises folds (the base has one writer at a time), and holds the sequence
    /// below which every change record is folded.
    fold: Mutex<u64>,
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

fn change_key(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = CHANGE_PREFIX;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The base and the change records from sequence `from` on that `snapshot` (or the
/// latest state) sees, summed; and the records' keys.
fn read(
    db: &DB,
    snapshot: Option<&SnapshotWithThreadMode<'_, DB>>,
    from: u64,
) -> Result<(i64, i64, Vec<Vec<u8>>)> {
    let cf = crate::engine::cf(db, META)?;
    let options = || {
        let mut ro = ReadOptions::default();
        if let Some(s) = snapshot {
            ro.set_snapshot(s);
        }
        ro
    };
    let base = db
        .get_cf_opt(cf, KEY_COUNTS, &options())
        .map_err(|e| rocks("cannot read the counts", e))?;
    let (mut v, mut e) = match base {
        Some(b) => {
            let [v, e] = pair(KEY_COUNTS, &b)?;
            (v as i64, e as i64)
        }
        None => return Err(corrupt(META, KEY_COUNTS, "the counts are missing")),
    };
    let mut keys = Vec::new();
    // From `from` on: the deletions of records folded earlier lie before it, and a
    // scan from the prefix would step over every one of them (measured: a fold
    // every 4096 small commits took a fifth of their time after 200k of them).
    let mut ro = options();
    ro.set_iterate_upper_bound([CHANGE_PREFIX + 1]);
    let mut it = db.raw_iterator_cf_opt(cf, ro);
    it.seek(change_key(from));
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

/// Replaces the base with `(v, e)` and deletes `keys`, in one write.
fn write_fold(db: &DB, v: i64, e: i64, keys: &[Vec<u8>], sync: bool) -> Result<()> {
    let cf = crate::engine::cf(db, META)?;
    let mut batch = WriteBatch::default();
    batch.put_cf(
        cf,
        KEY_COUNTS,
        encode_base(v.max(0) as u64, e.max(0) as u64),
    );
    for k in keys {
        batch.delete_cf(cf, k);
    }
    let mut wo = WriteOptions::default();
    wo.set_sync(sync);
    db.write_opt(batch, &wo)
        .map_err(|e| rocks("cannot fold the count changes", e))
}

impl Counts {
    /// Loads the counts of an open database, folding every change record into the
    /// base (synced, before any transaction begins).
    pub(crate) fn load(db: &DB) -> Result<Self> {
        let (v, e, keys) = read(db, None, 0)?;
        if v < 0 || e < 0 {
            return Err(corrupt(META, KEY_COUNTS, "the counts add up below zero"));
        }
        if !keys.is_empty() {
            write_fold(db, v, e, &keys, true)?;
        }
        Ok(Counts {
            vertices: AtomicI64::new(v),
            edges: AtomicI64::new(e),
            next: AtomicU64::new(0),
            since_fold: AtomicU64::new(0),
            fold: Mutex::new(0),
        })
    }

    /// Counts every vertex and edge by a scan and stores the result as the base (the
    /// upgrade of a database written before counts were kept).
    pub(crate) fn count_and_store(db: &DB) -> Result<()> {
        let count = |name: &str| -> Result<u64> {
            let mut ro = ReadOptions::default();
            ro.fill_cache(false);
            let mut it = db.raw_iterator_cf_opt(crate::engine::cf(db, name)?, ro);
            it.seek_to_first();
            let mut n = 0;
            while it.valid() {
                n += 1;
                it.next();
            }
            it.status()
                .map_err(|e| rocks(&format!("cannot count {name}"), e))?;
            Ok(n)
        };
        Self::store(
            db,
            count(crate::keys::VERTICES)?,
            count(crate::keys::EDGES)?,
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

    /// The key and value a transaction with `change` writes into its commit.
    pub(crate) fn record(&self, change: CountChange) -> ([u8; 9], [u8; 16]) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        (change_key(seq), change.encode())
    }

    /// Counts `change` once its commit is durable; folds now and then.
    pub(crate) fn committed(&self, db: &DB, change: CountChange) -> Result<()> {
        self.vertices.fetch_add(change.vertices, Ordering::AcqRel);
        self.edges.fetch_add(change.edges, Ordering::AcqRel);
        if self.since_fold.fetch_add(1, Ordering::Relaxed) + 1 < FOLD_EVERY {
            return Ok(());
        }
        self.fold(db)
    }

    /// Folds the change records committed so far into the base (unless a fold runs).
    fn fold(&self, db: &DB) -> Result<()> {
        let Some(mut folded_below) = self.fold.try_lock() else {
            return Ok(());
        };
        self.since_fold.store(0, Ordering::Relaxed);
        let snapshot = db.snapshot();
        let (v, e, keys) = read(db, Some(&snapshot), *folded_below)?;
        // Not synced: losing the fold in a crash loses nothing (the records it
        // deleted come back with it).
        write_fold(db, v, e, &keys, false)?;
        // Records are read in sequence order; the first sequence missing (a commit
        // still under way) is where the next fold starts.
        for key in &keys {
            let seq = u64::from_be_bytes(key[1..9].try_into().unwrap_or_default());
            if seq != *folded_below {
                break;
            }
            *folded_below += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fold_starts_at_the_first_record_not_yet_folded() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let db = DB::open_cf(&opts, dir.path(), [META]).unwrap();
        Counts::store(&db, 10, 20).unwrap();
        let counts = Counts::load(&db).unwrap();
        let commit = |(key, value): ([u8; 9], [u8; 16])| {
            db.put_cf(db.cf_handle(META).unwrap(), key, value).unwrap();
        };
        let one = CountChange {
            vertices: 1,
            edges: 2,
        };
        // Three commits take sequences 0, 1, 2; the second is still under way.
        let (a, b, c) = (counts.record(one), counts.record(one), counts.record(one));
        commit(a);
        commit(c);
        counts.fold(&db).unwrap();
        assert_eq!(*counts.fold.lock(), 1, "sequence 1 is not folded yet");
        commit(b);
        counts.fold(&db).unwrap();
        assert_eq!(*counts.fold.lock(), 2);
        let (v, e, keys) = read(&db, None, 0).unwrap();
        assert_eq!((v, e), (13, 26), "every change counted once");
        assert!(keys.is_empty(), "every record folded: {keys:?}");
    }

    #[test]
    fn change_records_sort_after_every_other_meta_key_prefix_they_could_meet() {
        // The fold's scan stops at the first key without the prefix; no other key of
        // the meta column family starts with it.
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
