//! A transaction's own writes: kept in order per column family until commit writes
//! them as one RocksDB `WriteBatch`, and merged into its reads and scans meanwhile.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Range;
use std::ops::Bound;

use engine_api::{Error, Result};
use rocksdb::{DB, DBRawIteratorWithThreadMode, WriteBatch};

use crate::keys::ALL_CFS;

/// The position of column family `cf` in [`ALL_CFS`].
pub(crate) fn family(cf: &str) -> Result<usize> {
    ALL_CFS
        .iter()
        .position(|c| *c == cf)
        .ok_or_else(|| Error::corrupt(format!("no column family {cf}")))
}

/// Keys up to this long are kept inline: every key but an index entry's (the
/// longest, an adjacency key, has 28 bytes).
const INLINE: usize = 30;

/// A written key: its column family's position in [`ALL_CFS`] and its bytes, kept
/// inline when short (a small transaction allocates no key). Ordered by family,
/// then bytes.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    cf: u8,
    bytes: KeyBytes,
}

#[derive(Debug, Clone)]
enum KeyBytes {
    Inline { len: u8, data: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(cf: usize, key: &[u8]) -> Self {
        // `family` positions are below ALL_CFS.len(), a handful.
        let cf = cf as u8;
        let bytes = if key.len() <= INLINE {
            let mut data = [0; INLINE];
            data[..key.len()].copy_from_slice(key);
            KeyBytes::Inline {
                len: key.len() as u8,
                data,
            }
        } else {
            KeyBytes::Heap(key.into())
        };
        Key { cf, bytes }
    }

    /// The key's bytes (without its family).
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match &self.bytes {
            KeyBytes::Inline { len, data } => &data[..usize::from(*len)],
            KeyBytes::Heap(b) => b,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.cf
            .cmp(&other.cf)
            .then_with(|| self.as_slice().cmp(other.as_slice()))
    }
}

/// Keys written (`Some(value)`) or deleted (`None`), in order of column family and
/// key: one map for every family, so a small transaction fills one tree node.
///
/// The batch is built at commit from the ordered map rather than as writes come:
/// RocksDB inserts a batch's keys into its memtables faster in key order (measured
/// on an import of 200k edges in transactions of 10k: 156k edges/s from ordered
/// maps, 130k from a batch in the order of the writes).
#[derive(Debug, Default)]
pub(crate) struct Writes {
    entries: BTreeMap<Key, Option<Vec<u8>>>,
}

impl Writes {
    /// Writes `key` of family `cf`.
    pub(crate) fn put(&mut self, cf: usize, key: &[u8], value: Vec<u8>) {
        self.entries.insert(Key::new(cf, key), Some(value));
    }

    pub(crate) fn delete(&mut self, cf: usize, key: &[u8]) {
        self.entries.insert(Key::new(cf, key), None);
    }

    /// `None` if this transaction did not write `key`; `Some(None)` if it deleted it.
    pub(crate) fn get(&self, cf: usize, key: &[u8]) -> Option<Option<&[u8]>> {
        self.entries.get(&Key::new(cf, key)).map(|v| v.as_deref())
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// The writes in [lower, upper) of `cf`, in key order.
    pub(crate) fn range<'w>(
        &'w self,
        cf: usize,
        lower: &[u8],
        upper: Option<&[u8]>,
    ) -> Range<'w, Key, Option<Vec<u8>>> {
        let upper = match upper {
            Some(u) => Key::new(cf, u),
            // The first key of the next family.
            None => Key::new(cf + 1, &[]),
        };
        self.entries
            .range((Bound::Included(Key::new(cf, lower)), Bound::Excluded(upper)))
    }

    /// The writes as one batch for `db`.
    pub(crate) fn into_batch(self, db: &DB) -> Result<WriteBatch> {
        // Sized once: a record is a tag, the family's id and both lengths as varints
        // (at most 16 bytes) besides the key and value; the batch's header is 12.
        let bytes = self
            .entries
            .iter()
            .map(|(k, v)| 16 + k.as_slice().len() + v.as_ref().map_or(0, Vec::len))
            .sum::<usize>();
        let mut batch = WriteBatch::with_capacity_bytes(12 + bytes);
        let mut handle = None;
        for (key, value) in &self.entries {
            let cf = match handle {
                Some((cf, h)) if cf == key.cf => h,
                _ => {
                    let name = ALL_CFS
                        .get(usize::from(key.cf))
                        .ok_or_else(|| Error::corrupt(format!("no column family at {}", key.cf)))?;
                    let h = crate::engine::cf(db, name)?;
                    handle = Some((key.cf, h));
                    h
                }
            };
            match value {
                Some(v) => batch.put_cf(cf, key.as_slice(), v),
                None => batch.delete_cf(cf, key.as_slice()),
            }
        }
        Ok(batch)
    }
}

type Entry<'t> = (&'t Key, &'t Option<Vec<u8>>);

/// A raw iterator over one column family: RocksDB's (at the transaction's snapshot,
/// or at the latest state) with the transaction's own writes merged in, a write
/// hiding RocksDB's entry of the same key and a delete hiding it altogether.
pub(crate) struct RawIter<'t> {
    db: DBRawIteratorWithThreadMode<'t, DB>,
    /// A writer's own writes in the range, and the next one not yet passed (boxed:
    /// a reader's scans, which have none, stay small).
    own: Option<Box<Own<'t>>>,
    /// Whether the current entry is the pending own write.
    on_own: bool,
}

struct Own<'t> {
    range: Range<'t, Key, Option<Vec<u8>>>,
    pending: Option<Entry<'t>>,
}

impl<'t> RawIter<'t> {
    /// `db` positioned at its first entry of the range, `own` the range's writes.
    pub(crate) fn new(
        db: DBRawIteratorWithThreadMode<'t, DB>,
        own: Option<Range<'t, Key, Option<Vec<u8>>>>,
    ) -> Self {
        let own = own.map(|mut range| {
            let pending = range.next();
            Box::new(Own { range, pending })
        });
        let mut it = RawIter {
            db,
            own,
            on_own: false,
        };
        it.settle();
        it
    }

    /// Moves past own deletes to the next visible entry.
    #[inline]
    fn settle(&mut self) {
        if self.own.is_none() {
            // A reader's scan: RocksDB's entries only.
            return;
        }
        loop {
            let Some((key, value)) = self.pending() else {
                self.on_own = false;
                return;
            };
            let order = match self.db.key() {
                Some(d) => d.cmp(key.as_slice()),
                None => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    self.on_own = false;
                    return;
                }
                std::cmp::Ordering::Equal if value.is_none() => {
                    self.db.next();
                    self.advance_own();
                }
                _ if value.is_none() => self.advance_own(),
                _ => {
                    self.on_own = true;
                    return;
                }
            }
        }
    }

    #[inline]
    fn pending(&self) -> Option<Entry<'t>> {
        self.own.as_ref().and_then(|o| o.pending)
    }

    #[inline]
    fn advance_own(&mut self) {
        if let Some(own) = self.own.as_mut() {
            own.pending = own.range.next();
        }
    }

    #[inline]
    pub(crate) fn key(&self) -> Option<&[u8]> {
        match self.pending() {
            Some((k, _)) if self.on_own => Some(k.as_slice()),
            _ => self.db.key(),
        }
    }

    #[inline]
    pub(crate) fn value(&self) -> Option<&[u8]> {
        match self.pending() {
            Some((_, v)) if self.on_own => v.as_deref(),
            _ => self.db.value(),
        }
    }

    #[inline]
    pub(crate) fn next(&mut self) {
        if self.on_own {
            if let Some((key, _)) = self.pending()
                && self.db.key() == Some(key.as_slice())
            {
                self.db.next();
            }
            self.advance_own();
        } else {
            self.db.next();
        }
        self.settle();
    }

    pub(crate) fn status(&self) -> std::result::Result<(), rocksdb::Error> {
        self.db.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_writes_are_merged_into_a_scan_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let db = DB::open_cf(&opts, dir.path(), ALL_CFS).unwrap();
        let cf = db.cf_handle("out").unwrap();
        for k in [b"a", b"c", b"e", b"g"] {
            db.put_cf(cf, k, b"db").unwrap();
        }
        let mut w = Writes::default();
        let out = family("out").unwrap();
        w.put(out, b"b", b"old".to_vec());
        w.put(out, b"b", b"own".to_vec()); // between, written twice
        w.put(out, b"c", b"own".to_vec()); // over a db entry
        w.delete(out, b"e"); // hides one
        w.delete(out, b"f"); // deletes nothing there
        w.put(out, b"h", b"own".to_vec()); // after the last
        w.put(out, b"z", b"own".to_vec()); // outside the range
        w.put(family("meta").unwrap(), b"m", b"meta".to_vec());
        let scan = |lower: &[u8], upper: Option<&[u8]>| {
            let mut ro = rocksdb::ReadOptions::default();
            ro.set_iterate_lower_bound(lower.to_vec());
            if let Some(u) = upper {
                ro.set_iterate_upper_bound(u.to_vec());
            }
            let mut raw = db.raw_iterator_cf_opt(cf, ro);
            raw.seek(lower);
            let mut it = RawIter::new(raw, Some(w.range(out, lower, upper)));
            let mut seen = Vec::new();
            while let Some(k) = it.key() {
                let k = String::from_utf8(k.to_vec()).unwrap();
                let v = String::from_utf8(it.value().unwrap().to_vec()).unwrap();
                seen.push(format!("{k}={v}"));
                it.next();
            }
            it.status().unwrap();
            seen
        };
        assert_eq!(
            scan(b"a", Some(b"y")),
            ["a=db", "b=own", "c=own", "g=db", "h=own"]
        );
        assert_eq!(scan(b"d", Some(b"g")), Vec::<String>::new());
        assert_eq!(scan(b"e", None), ["g=db", "h=own", "z=own"]);
        let batch = w.into_batch(&db).unwrap();
        assert_eq!(batch.len(), 7);
        db.write(batch).unwrap();
        assert_eq!(db.get_cf(cf, b"b").unwrap().as_deref(), Some(&b"own"[..]));
        assert_eq!(db.get_cf(cf, b"e").unwrap(), None);
    }
}
