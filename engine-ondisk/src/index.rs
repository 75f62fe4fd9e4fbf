//! Index entries in the `index` column family: building an index from a RocksDB
//! snapshot while commits go on, the leftovers of commits that saw a build still
//! running, dropping an index's entries, and redoing a build a crash interrupted.
//! The catalog that lists the indexes, and the entry layout, are module `schema`'s.
//!
//! # What waits, and for how long
//! Creating an index holds the commit lock exclusively only while it publishes the
//! index and takes a RocksDB snapshot (microseconds); from then on commits maintain
//! it, and the build writes the entries of the snapshot's objects with readers and
//! writers going on. The index is used once the build finished. A transaction that
//! began before then does not delete an entry the build wrote (newer than its
//! snapshot): its commit leaves it as a [`Leftover`], deleted once the build is done
//! if the object's latest version does not have it, under the object's lock
//! (lookups check records, so results are exact meanwhile).

use engine_api::{Error, ErrorKind, IndexInfo, IndexSpec, Result};
use rocksdb::{DB, WriteBatch};

use crate::txn::locks::{LockKey, Mode, WriterGuard};

use crate::engine::OnDiskEngine;
use crate::keys::{EDGES, EdgeValue, INDEX, LABELS, VERTICES, VertexRecord, rocks};
use crate::keys::{edge_entry, entry_object, vertex_entry, vertex_key};
use crate::schema::{Catalog, Index, Target, resolve_index, too_many};

/// An entry a commit left in place: the object's version at the transaction's start
/// had it, but the index was not complete when the transaction began, so deleting
/// it would have conflicted with the build (whose writes are newer than the
/// transaction's snapshot). Removed once the build is done, if still stale.
#[derive(Debug)]
pub(crate) struct Leftover {
    /// The index's id.
    pub(crate) index: u32,
    /// The entry's key.
    pub(crate) key: Vec<u8>,
}

impl OnDiskEngine {
    /// Deletes every key of `id` in `index`.
    pub(crate) fn delete_entries(&self, id: u32) -> Result<()> {
        let icf = self.cf(INDEX)?;
        let prefix = id.to_be_bytes();
        let mut it = self.db.raw_iterator_cf(icf);
        it.seek(prefix);
        let mut batch = WriteBatch::default();
        while let Some(key) = it.key() {
            if !key.starts_with(&prefix) {
                break;
            }
            batch.delete_cf(icf, key);
            if batch.len() >= 10_000 {
                self.write_batch(std::mem::take(&mut batch))?;
            }
            it.next();
        }
        it.status()
            .map_err(|e| rocks("cannot scan index entries", e))?;
        self.write_batch(batch)
    }

    /// Writes the entries of every object in `snapshot` for `index`.
    fn build(
        &self,
        index: &Index,
        snapshot: &rocksdb::SnapshotWithThreadMode<'_, DB>,
    ) -> Result<()> {
        let icf = self.cf(INDEX)?;
        let mut ro = rocksdb::ReadOptions::default();
        ro.set_snapshot(snapshot);
        let mut batch = WriteBatch::default();
        match &index.target {
            Target::Label(_) => {}
            Target::Vertex { label, keys } => {
                let mut it = self.db.raw_iterator_cf_opt(self.cf(LABELS)?, ro);
                let prefix = label.to_be_bytes();
                it.seek(prefix);
                let mut rro = rocksdb::ReadOptions::default();
                rro.set_snapshot(snapshot);
                while let Some(key) = it.key() {
                    if !key.starts_with(&prefix) {
                        break;
                    }
                    let v = crate::keys::decode_label_key(key)?;
                    let vk = crate::keys::id_key(v);
                    if let Some(value) = self
                        .db
                        .get_cf_opt(self.cf(VERTICES)?, vk, &rro)
                        .map_err(|e| rocks("cannot read a vertex", e))?
                    {
                        let record = VertexRecord::decode(&vk, &value)?;
                        if let Some(values) = vertex_key(&record, *label, keys)? {
                            batch.put_cf(icf, vertex_entry(index.id, &values, v), []);
                        }
                    }
                    if batch.len() >= 10_000 {
                        self.write_batch(std::mem::take(&mut batch))?;
                    }
                    it.next();
                }
                it.status().map_err(|e| rocks("cannot scan a label", e))?;
            }
            Target::Edge { edge_type, key } => {
                let mut it = self.db.raw_iterator_cf_opt(self.cf(EDGES)?, ro);
                it.seek_to_first();
                while let (Some(k), Some(value)) = (it.key(), it.value()) {
                    let id = crate::keys::decode_id_key(EDGES, k)?;
                    let e = EdgeValue::decode(k, value)?;
                    if e.edge_type == *edge_type
                        && let Some(entry) = edge_entry(index.id, *key, &e, id)?
                    {
                        batch.put_cf(icf, entry, []);
                    }
                    if batch.len() >= 10_000 {
                        self.write_batch(std::mem::take(&mut batch))?;
                    }
                    it.next();
                }
                it.status().map_err(|e| rocks("cannot scan edges", e))?;
            }
        }
        self.write_batch(batch)
    }

    pub(crate) fn create_index_impl(&self, spec: &IndexSpec) -> Result<()> {
        spec.validate()?;
        self.refuse_when_poisoned()?;
        let _one = self.schema.lock.lock();
        let mut next = Catalog::clone(&self.schema.current());
        if next.indexes.contains_key(spec) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists already", spec.named()),
            ));
        }
        let target = resolve_index(spec, &self.db, &self.names)?;
        let id = next.next_id;
        next.next_id = id.checked_add(1).ok_or_else(too_many)?;
        let ready = matches!(target, Target::Label(_));
        let index = Index { id, target, ready };
        next.indexes.insert(spec.clone(), index.clone());
        // Published with the snapshot taken under the exclusive commit lock: every commit
        // is either in the snapshot or keeps the index itself.
        let snapshot = {
            let _no_commits = self.schema.commits.write();
            self.install(next.clone())?;
            self.db.snapshot()
        };
        if let Err(e) = self.build(&index, &snapshot) {
            drop(snapshot);
            // Leave no half index: forget it and its entries.
            let mut back = next.clone();
            back.indexes.remove(spec);
            let _no_commits = self.schema.commits.write();
            self.install(back)?;
            self.schema.leftovers.lock().retain(|l| l.index != id);
            self.delete_entries(id)?;
            return Err(e);
        }
        drop(snapshot);
        if let Some(i) = next.indexes.get_mut(spec) {
            i.ready = true;
        }
        {
            // Commits that saw the index unfinished have queued their leftovers
            // once this is taken.
            let _no_commits = self.schema.commits.write();
            self.install(next.clone())?;
        }
        let leftovers = std::mem::take(&mut *self.schema.leftovers.lock());
        self.remove_leftovers(&next, leftovers)
    }

    /// Deletes each leftover entry that is still stale. Those of indexes no longer in
    /// `catalog` are gone with their index.
    pub(crate) fn remove_leftovers(
        &self,
        catalog: &Catalog,
        leftovers: Vec<Leftover>,
    ) -> Result<()> {
        for leftover in leftovers {
            let Some(index) = catalog
                .indexes
                .values()
                .find(|i| i.id == leftover.index && i.ready)
            else {
                continue;
            };
            let mut attempt = 0;
            loop {
                match self.remove_leftover(index, &leftover) {
                    Err(e) if e.kind() == ErrorKind::Conflict && attempt < 100 => {
                        // A commit of the object holds its lock, briefly.
                        attempt += 1;
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    other => break other?,
                }
            }
        }
        Ok(())
    }

    /// Deletes `leftover` unless the latest version of its object has that entry,
    /// reading the version for update so that no commit of the object runs meanwhile
    /// (a commit that writes the entry writes the object too).
    fn remove_leftover(&self, index: &Index, leftover: &Leftover) -> Result<()> {
        let objects = match index.target {
            // Label indexes live in `labels`, kept by transactions themselves.
            Target::Label(_) => return Ok(()),
            Target::Vertex { .. } => VERTICES,
            Target::Edge { .. } => EDGES,
        };
        let object = entry_object(&leftover.key)?;
        let key = crate::keys::id_key(object);
        let lock = match index.target {
            Target::Vertex { .. } => LockKey::Vertex(object),
            _ => LockKey::Edge(object),
        };
        let mut writer = WriterGuard::new(&self.locks, self.locks.maintenance());
        writer.lock(lock, Mode::Exclusive)?;
        let value = self
            .db
            .get_cf(self.cf(objects)?, key)
            .map_err(|e| rocks("cannot read an indexed object", e))?;
        let current = match (&index.target, value) {
            (_, None) | (Target::Label(_), _) => None,
            (Target::Vertex { label, keys }, Some(v)) => {
                let r = VertexRecord::decode(&key, &v)?;
                vertex_key(&r, *label, keys)?.map(|k| vertex_entry(index.id, &k, object))
            }
            (Target::Edge { edge_type, key: k }, Some(v)) => {
                let e = EdgeValue::decode(&key, &v)?;
                if e.edge_type == *edge_type {
                    edge_entry(index.id, *k, &e, object)?
                } else {
                    None
                }
            }
        };
        if current.as_deref() != Some(&leftover.key[..]) {
            self.db
                .delete_cf_opt(self.cf(INDEX)?, &leftover.key, self.write_options())
                .map_err(|e| rocks("cannot delete a stale index entry", e))?;
        }
        Ok(())
    }

    pub(crate) fn drop_index_impl(&self, spec: &IndexSpec) -> Result<()> {
        self.refuse_when_poisoned()?;
        let _one = self.schema.lock.lock();
        let mut next = Catalog::clone(&self.schema.current());
        let Some(index) = next.indexes.remove(spec) else {
            return Err(Error::not_found(format!("there is no {}", spec.named())));
        };
        let _no_commits = self.schema.commits.write();
        self.install(next)?;
        self.delete_entries(index.id)
    }

    pub(crate) fn index_infos(&self) -> Result<Vec<IndexInfo>> {
        let catalog = self.schema.current();
        let mut out = Vec::new();
        for (spec, index) in &catalog.indexes {
            let (cfname, prefix) = match index.target {
                Target::Label(l) => (LABELS, l.to_be_bytes()),
                _ => (INDEX, index.id.to_be_bytes()),
            };
            let mut it = self.db.raw_iterator_cf(self.cf(cfname)?);
            it.seek(prefix);
            let mut n = 0;
            while it.key().is_some_and(|k| k.starts_with(&prefix)) {
                n += 1;
                it.next();
            }
            it.status()
                .map_err(|e| rocks("cannot count index entries", e))?;
            out.push(IndexInfo {
                spec: spec.clone(),
                entries: n,
            });
        }
        Ok(out)
    }

    /// After opening: rebuilds indexes whose build a crash interrupted.
    pub(crate) fn finish_interrupted_builds(&self) -> Result<()> {
        let catalog = self.schema.current();
        let pending: Vec<(IndexSpec, Index)> = catalog
            .indexes
            .iter()
            .filter(|(_, i)| !i.ready)
            .map(|(s, i)| (s.clone(), i.clone()))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let mut next = Catalog::clone(&catalog);
        for (spec, index) in pending {
            tracing::warn!(index = %spec, "rebuilding an index whose build was interrupted");
            self.delete_entries(index.id)?;
            let snapshot = self.db.snapshot();
            self.build(&index, &snapshot)?;
            if let Some(i) = next.indexes.get_mut(&spec) {
                i.ready = true;
            }
        }
        self.install(next)
    }
}

#[cfg(test)]
mod tests {
    use engine_api::codec::encode_sort_key;
    use engine_api::{PropertyBounds, PropertyValue, StorageEngine, Transaction, TxnOptions};

    use super::*;
    use crate::Config;

    fn spec() -> IndexSpec {
        IndexSpec::LabelProperties {
            label: "P".into(),
            properties: vec!["x".into()],
        }
    }

    fn entries(db: &OnDiskEngine) -> u64 {
        let infos = db.indexes().expect("indexes");
        infos
            .iter()
            .find(|i| i.spec == spec())
            .expect("the index is listed")
            .entries
    }

    /// A crash during a build leaves the index in the catalog, not ready, with some
    /// of its entries (and maybe entries of objects since deleted): the next open
    /// rebuilds it from scratch.
    #[test]
    fn an_interrupted_build_is_redone_at_open() {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
            let mut t = db.begin(TxnOptions::new()).expect("begin");
            for i in 0..100_i64 {
                t.create_vertex_with(&["P"], &[("x", (i % 10).into())])
                    .expect("vertex");
            }
            t.commit().expect("commit");
            db.create_index(&spec()).expect("index");
            assert_eq!(entries(&db), 100);

            // The state a crash in the middle of the build leaves.
            let _one = db.schema.lock.lock();
            let mut next = Catalog::clone(&db.schema.current());
            let index = next.indexes.get_mut(&spec()).expect("in the catalog");
            index.ready = false;
            let id = index.id;
            db.install(next).expect("install");
            db.delete_entries(id).expect("delete");
            let mut stale = id.to_be_bytes().to_vec();
            encode_sort_key(&PropertyValue::Int(3), &mut stale);
            stale.extend_from_slice(&999_999_u64.to_be_bytes());
            db.db
                .put_cf(db.cf(INDEX).expect("cf"), stale, [])
                .expect("put");
            drop(_one);
            assert_eq!(entries(&db), 1);
            // Not ready: lookups scan and stay exact.
            let t = db.begin(TxnOptions::new()).expect("begin");
            assert_eq!(t.vertex_lookup_index("P", &["x"]).expect("plan"), None);
            drop(t);
            db.close().expect("close");
        }
        let db = OnDiskEngine::open(Config::new(dir.path())).expect("reopen");
        assert_eq!(
            entries(&db),
            100,
            "the build is redone, the stale entry gone"
        );
        let t = db.begin(TxnOptions::new()).expect("begin");
        assert_eq!(
            t.vertex_lookup_index("P", &["x"]).expect("plan"),
            Some(spec())
        );
        let found = t
            .vertices_with_property("P", "x", &PropertyBounds::equal(PropertyValue::Int(3)))
            .expect("lookup")
            .count();
        assert_eq!(found, 10);
    }
}
