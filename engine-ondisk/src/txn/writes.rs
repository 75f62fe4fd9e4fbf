//! A transaction's own writes: kept in order per column family until commit writes
//! them as one RocksDB `WriteBatch`, and merged into its reads and scans meanwhile.

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

/// Keys written (`Some(value)`) or deleted (`None`), per column family.
///
/// The batch is built at commit from the ordered maps rather than as writes come:
/// RocksDB inserts a batch's keys into its memtables faster in key order (measured
/// on an import of 200k edges in transactions of 10k: 156k edges/s from the ordered
/// maps, 130k from a batch in the order of the writes).
#[derive(Debug, Default)]
pub(crate) struct Writes {
    families: [BTreeMap<Vec<u8>, Option<Vec<u8>>>; ALL_CFS.len()],
}

impl Writes {
    /// Writes `key` of family `cf`.
    pub(crate) fn put(&mut self, cf: usize, key: &[u8], value: &[u8]) {
        self.families[cf].insert(key.to_vec(), Some(value.to_vec()));
    }

    pub(crate) fn delete(&mut self, cf: usize, key: &[u8]) {
        self.families[cf].insert(key.to_vec(), None);
    }

    /// `None` if this transaction did not write `key`; `Some(None)` if it deleted it.
    pub(crate) fn get(&self, cf: usize, key: &[u8]) -> Option<Option<&[u8]>> {
        self.families[cf].get(key).map(|v| v.as_deref())
    }

    pub(crate) fn clear(&mut self) {
        for f in &mut self.families {
            f.clear();
        }
    }

    /// The writes in [lower, upper) of `cf`, in key order.
    pub(crate) fn range<'w>(
        &'w self,
        cf: usize,
        lower: &[u8],
        upper: Option<&[u8]>,
    ) -> Range<'w, Vec<u8>, Option<Vec<u8>>> {
        let upper = match upper {
            Some(u) => Bound::Excluded(u),
            None => Bound::Unbounded,
        };
        self.families[cf].range::<[u8], _>((Bound::Included(lower), upper))
    }

    /// The writes as one batch for `db`.
    pub(crate) fn into_batch(self, db: &DB) -> Result<WriteBatch> {
        // Sized once: a record is a tag, the family's id and both lengths as varints
        // (at most 16 bytes) besides the key and value; the batch's header is 12.
        let bytes = self
            .families
            .iter()
            .flat_map(|f| f.iter())
            .map(|(k, v)| 16 + k.len() + v.as_ref().map_or(0, Vec::len))
            .sum::<usize>();
        let mut batch = WriteBatch::with_capacity_bytes(12 + bytes);
        for (name, family) in ALL_CFS.iter().zip(self.families) {
            if family.is_empty() {
                continue;
            }
            let handle = crate::engine::cf(db, name)?;
            for (key, value) in family {
                match value {
                    Some(v) => batch.put_cf(handle, key, v),
                    None => batch.delete_cf(handle, key),
                }
            }
        }
        Ok(batch)
    }
}

type Entry<'t> = (&'t Vec<u8>, &'t Option<Vec<u8>>);

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
    range: Range<'t, Vec<u8>, Option<Vec<u8>>>,
    pending: Option<Entry<'t>>,
}

impl<'t> RawIter<'t> {
    /// `db` positioned at its first entry of the range, `own` the range's writes.
    pub(crate) fn new(
        db: DBRawIteratorWithThreadMode<'t, DB>,
        own: Option<Range<'t, Vec<u8>, Option<Vec<u8>>>>,
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
        w.put(out, b"b", b"old");
        w.put(out, b"b", b"own"); // between, written twice
        w.put(out, b"c", b"own"); // over a db entry
        w.delete(out, b"e"); // hides one
        w.delete(out, b"f"); // deletes nothing there
        w.put(out, b"h", b"own"); // after the last
        w.put(out, b"z", b"own"); // outside the range
        w.put(family("meta").unwrap(), b"m", b"meta");
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
