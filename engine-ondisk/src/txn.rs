//! Transactions: reads through the transaction's RocksDB snapshot (plus its own
//! writes), writes through a RocksDB pessimistic transaction.
//!
//! Which keys a write takes (every `put`/`delete` and `get_for_update` locks its key
//! and checks that nobody committed a change to it after this transaction began):
//!
//! | operation | keys written |
//! |---|---|
//! | create vertex | the vertex |
//! | add / remove label | the vertex, its label-index entry |
//! | set vertex property | the vertex |
//! | delete vertex | the vertex, its label entries, and (detach) each edge below |
//! | create edge | both endpoint vertices (rewritten unchanged), the edge, both adjacency entries |
//! | set edge property | the edge |
//! | delete edge | the edge, both adjacency entries |
//!
//! Rewriting the endpoints is what makes create-edge and delete-vertex exclusive: a
//! delete checks the vertex's adjacency in its own snapshot, so an edge committed
//! after that snapshot must have changed the vertex key, or the delete would not see
//! it and leave the edge dangling.

use std::sync::Arc;

use engine_api::codec::{decode_properties, find_property, replace_property};
use engine_api::{
    Change, ChangeSet, CommitInfo, DeleteMode, Direction, EdgeId, EdgeRecord, Error, ErrorKind,
    IndexSpec, IsolationLevel, Name, Observers, PropertyBounds, PropertyMap, PropertyValue, Result,
    Transaction, VertexId,
};
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, SnapshotWithThreadMode, TransactionDB};

use crate::engine::OnDiskEngine;
use crate::keys::{
    EDGES, EdgeValue, IN, INDEX, LABELS, OUT, VERTICES, VertexRecord, adjacency_key,
    decode_adjacency_key, decode_id_key, decode_label_key, id_key, label_key, prefix_end, rocks,
};
use crate::metadata::{IdKind, NameKind};
use crate::schema::{
    Catalog, Constraint, Leftover, Rule, Target, check_record, edge_entry, entry_object,
    unique_key, vertex_entry, vertex_key, vertex_range,
};

type RTxn<'e> = rocksdb::Transaction<'e, TransactionDB>;
type RawIter<'t, 'e> = DBRawIteratorWithThreadMode<'t, RTxn<'e>>;

/// A transaction of an [`OnDiskEngine`], at snapshot isolation.
pub struct OnDiskTxn<'e> {
    engine: &'e OnDiskEngine,
    txn: RTxn<'e>,
    snapshot: SnapshotWithThreadMode<'e, TransactionDB>,
    read: ReadOptions,
    read_only: bool,
    aborted: bool,
    wrote: bool,
    start_ts: u64,
    /// Vertices and edges whose labels or properties this transaction changed, or
    /// that it created or deleted: commits keep their index entries, lookups check
    /// them besides the index's.
    touched_vertices: Vec<u64>,
    touched_edges: Vec<u64>,
    /// The objects it created (their version at its start is known to be none, so
    /// commit skips reading it: measured, import with an index went from 0.59x to
    /// 0.68-0.74x of without).
    created_vertices: Vec<u64>,
    created_edges: Vec<u64>,
    /// The observers registered when the transaction began, and its changes for them.
    observed: Option<(Arc<Observers>, Vec<Change>)>,
    /// The catalogue when the transaction began (read before its snapshot was taken):
    /// lookups use the indexes that were complete then, whose entries the snapshot
    /// holds.
    catalog: Arc<Catalog>,
    /// Entries its commit left in place (see [`Leftover`]).
    leftovers: Vec<Leftover>,
}

impl std::fmt::Debug for OnDiskTxn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnDiskTxn")
            .field("read_only", &self.read_only)
            .field("aborted", &self.aborted)
            .field("start_ts", &self.start_ts)
            .finish_non_exhaustive()
    }
}

fn corrupt_props(what: &str) -> impl Fn(engine_api::codec::DecodeError) -> Error + '_ {
    move |e| e.into_corrupt(what, 0)
}

impl<'e> OnDiskTxn<'e> {
    pub(crate) fn new(
        engine: &'e OnDiskEngine,
        txn: RTxn<'e>,
        snapshot: SnapshotWithThreadMode<'e, TransactionDB>,
        catalog: Arc<Catalog>,
        read_only: bool,
        start_ts: u64,
    ) -> Self {
        let mut read = ReadOptions::default();
        read.set_snapshot(&snapshot);
        OnDiskTxn {
            engine,
            txn,
            snapshot,
            read,
            read_only,
            aborted: false,
            wrote: false,
            start_ts,
            touched_vertices: Vec::new(),
            touched_edges: Vec::new(),
            created_vertices: Vec::new(),
            created_edges: Vec::new(),
            catalog,
            leftovers: Vec::new(),
            observed: if read_only {
                None
            } else {
                engine.observers.current().map(|o| (o, Vec::new()))
            },
        }
    }

    fn observing(&self) -> bool {
        self.observed.is_some()
    }

    fn record(&mut self, change: impl FnOnce() -> Change) {
        if let Some((_, changes)) = &mut self.observed {
            changes.push(change());
        }
    }

    /// A record as of the transaction's start (committed then), without its own
    /// writes.
    fn at_start(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.engine
            .db
            .get_cf_opt(self.engine.cf(cf)?, key, &self.read)
            .map_err(|e| rocks(&format!("cannot read {cf}"), e))
    }

    fn vertex_at(&self, id: u64, own: bool) -> Result<Option<VertexRecord>> {
        let key = id_key(id);
        let value = if own {
            self.get(VERTICES, &key)?
        } else {
            self.at_start(VERTICES, &key)?
        };
        value.map(|v| VertexRecord::decode(&key, &v)).transpose()
    }

    fn edge_at(&self, id: u64, own: bool) -> Result<Option<EdgeValue>> {
        let key = id_key(id);
        let value = if own {
            self.get(EDGES, &key)?
        } else {
            self.at_start(EDGES, &key)?
        };
        value.map(|v| EdgeValue::decode(&key, &v)).transpose()
    }

    /// Keeps index entries and checks constraints for everything this transaction
    /// wrote, against `catalog` (the one current at commit).
    fn upkeep(&mut self, catalog: &Catalog) -> Result<()> {
        let mut vs = std::mem::take(&mut self.touched_vertices);
        vs.sort_unstable();
        vs.dedup();
        let mut es = std::mem::take(&mut self.touched_edges);
        es.sort_unstable();
        es.dedup();
        // An index built after this transaction began has entries newer than its
        // snapshot; deleting one would conflict with the build. Such an entry is left
        // for later (lookups check records meanwhile); new entries never clash with
        // the build's.
        let built_before = |spec: &IndexSpec, index: &crate::schema::Index| {
            self.catalog
                .indexes
                .get(spec)
                .is_some_and(|i| i.ready && i.id == index.id)
        };
        let known: Vec<bool> = catalog
            .indexes
            .iter()
            .map(|(spec, index)| built_before(spec, index))
            .collect();
        let created_v = std::mem::take(&mut self.created_vertices);
        let created_e = std::mem::take(&mut self.created_edges);
        for v in vs {
            // Ids are handed out ascending, so the created lists are sorted.
            let old = if created_v.binary_search(&v).is_ok() {
                None
            } else {
                self.vertex_at(v, false)?
            };
            let new = self.vertex_at(v, true)?;
            for (index, known) in catalog.indexes.values().zip(&known) {
                let Target::Vertex { label, keys } = &index.target else {
                    continue;
                };
                let entry = |r: &Option<VertexRecord>| -> Result<Option<Vec<u8>>> {
                    Ok(match r {
                        Some(r) => {
                            vertex_key(r, *label, keys)?.map(|k| vertex_entry(index.id, &k, v))
                        }
                        None => None,
                    })
                };
                let (o, n) = (entry(&old)?, entry(&new)?);
                self.replace_entry(index.id, *known, o, n)?;
            }
            for c in &catalog.constraints {
                if let Some(n) = &new {
                    check_record(c, n, VertexId(v))?;
                }
                if let Rule::Unique { id, keys } = &c.rule {
                    self.keep_unique(c, *id, keys, v, &old, &new)?;
                }
            }
        }
        for e in es {
            let old = if created_e.binary_search(&e).is_ok() {
                None
            } else {
                self.edge_at(e, false)?
            };
            let new = self.edge_at(e, true)?;
            for (index, known) in catalog.indexes.values().zip(&known) {
                let Target::Edge { edge_type, key } = &index.target else {
                    continue;
                };
                let entry = |r: &Option<EdgeValue>| -> Result<Option<Vec<u8>>> {
                    match r {
                        Some(r) if r.edge_type == *edge_type => edge_entry(index.id, *key, r, e),
                        _ => Ok(None),
                    }
                };
                let (o, n) = (entry(&old)?, entry(&new)?);
                self.replace_entry(index.id, *known, o, n)?;
            }
        }
        Ok(())
    }

    /// Replaces an object's entry `old` by `new` in index `index` (either may be
    /// none). An old entry of an index built after this transaction began is left
    /// for later (see [`Leftover`]).
    fn replace_entry(
        &mut self,
        index: u32,
        built_before: bool,
        old: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        match old {
            Some(o) if built_before => self.delete(INDEX, &o)?,
            Some(key) => self.leftovers.push(Leftover { index, key }),
            None => {}
        }
        match new {
            Some(n) => self.put(INDEX, &n, &[]),
            None => Ok(()),
        }
    }

    /// Moves vertex `v`'s uniqueness record from its old values to its new ones. A
    /// record names one holder; another vertex that still has the values (as this
    /// transaction sees it) is a violation. Records are read for update, so two
    /// transactions claiming the same values conflict.
    fn keep_unique(
        &mut self,
        c: &Constraint,
        id: u32,
        keys: &[u32],
        v: u64,
        old: &Option<VertexRecord>,
        new: &Option<VertexRecord>,
    ) -> Result<()> {
        let key_of = |r: &Option<VertexRecord>| -> Result<Option<Vec<u8>>> {
            match r {
                Some(r) => unique_key(id, r, c.label, keys),
                None => Ok(None),
            }
        };
        let (o, n) = (key_of(old)?, key_of(new)?);
        if o == n {
            return Ok(());
        }
        let me = v.to_be_bytes();
        if let Some(o) = o
            && self.get_for_update(INDEX, &o)?.as_deref() == Some(&me[..])
        {
            self.delete(INDEX, &o)?;
        }
        let Some(n) = n else {
            return Ok(());
        };
        match self.get_for_update(INDEX, &n)? {
            Some(holder) if holder.as_slice() == me => Ok(()),
            Some(holder) => {
                let w = <[u8; 8]>::try_from(holder.as_slice())
                    .map(u64::from_be_bytes)
                    .map_err(|_| Error::corrupt("a uniqueness record does not hold a vertex id"))?;
                let still = match self.vertex_at(w, true)? {
                    Some(r) => unique_key(id, &r, c.label, keys)?.as_deref() == Some(&n[..]),
                    None => false,
                };
                if still {
                    return Err(c
                        .spec
                        .violation(VertexId(v), &format!("vertex {w} has the same values")));
                }
                self.put(INDEX, &n, &me)
            }
            None => self.put(INDEX, &n, &me),
        }
    }

    fn check(&self) -> Result<()> {
        if self.aborted {
            return Err(Error::new(
                ErrorKind::Aborted,
                "the transaction was rolled back after a conflict",
            ));
        }
        Ok(())
    }

    fn check_write(&self) -> Result<()> {
        self.check()?;
        if self.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                "the transaction is read-only",
            ));
        }
        Ok(())
    }

    /// After a conflict the transaction is rolled back at once, releasing its locks.
    fn fail(&mut self, e: Error) -> Error {
        if e.kind() == ErrorKind::Conflict {
            let _ = self.txn.rollback();
            self.aborted = true;
        }
        e
    }

    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check()?;
        self.txn
            .get_cf_opt(self.engine.cf(cf)?, key, &self.read)
            .map_err(|e| rocks(&format!("cannot read {cf}"), e))
    }

    /// Reads `key` and locks it for this transaction (Conflict if another holds it or
    /// changed it since this transaction began).
    fn get_for_update(&mut self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let handle = self.engine.cf(cf)?;
        let r = self
            .txn
            .get_for_update_cf_opt(handle, key, true, &self.read)
            .map_err(|e| rocks(&format!("cannot lock {cf}"), e));
        r.map_err(|e| self.fail(e))
    }

    fn put(&mut self, cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let handle = self.engine.cf(cf)?;
        let r = self
            .txn
            .put_cf(handle, key, value)
            .map_err(|e| rocks(&format!("cannot write {cf}"), e));
        self.wrote = true;
        r.map_err(|e| self.fail(e))
    }

    fn delete(&mut self, cf: &str, key: &[u8]) -> Result<()> {
        let handle = self.engine.cf(cf)?;
        let r = self
            .txn
            .delete_cf(handle, key)
            .map_err(|e| rocks(&format!("cannot write {cf}"), e));
        self.wrote = true;
        r.map_err(|e| self.fail(e))
    }

    fn vertex_record(&self, v: VertexId) -> Result<VertexRecord> {
        let key = id_key(v.0);
        match self.get(VERTICES, &key)? {
            Some(value) => VertexRecord::decode(&key, &value),
            None => Err(Error::not_found(format!("vertex {v}"))),
        }
    }

    fn vertex_for_update(&mut self, v: VertexId) -> Result<VertexRecord> {
        self.check_write()?;
        let key = id_key(v.0);
        match self.get_for_update(VERTICES, &key)? {
            Some(value) => VertexRecord::decode(&key, &value),
            None => Err(Error::not_found(format!("vertex {v}"))),
        }
    }

    fn edge_value(&self, e: EdgeId) -> Result<EdgeValue> {
        let key = id_key(e.0);
        match self.get(EDGES, &key)? {
            Some(value) => EdgeValue::decode(&key, &value),
            None => Err(Error::not_found(format!("edge {e}"))),
        }
    }

    fn edge_for_update(&mut self, e: EdgeId) -> Result<EdgeValue> {
        self.check_write()?;
        let key = id_key(e.0);
        match self.get_for_update(EDGES, &key)? {
            Some(value) => EdgeValue::decode(&key, &value),
            None => Err(Error::not_found(format!("edge {e}"))),
        }
    }

    fn properties(&self, record: &[u8], what: &str) -> Result<PropertyMap> {
        let mut map = PropertyMap::new();
        for (k, v) in decode_properties(record).map_err(corrupt_props(what))? {
            map.insert(self.engine.names.name(NameKind::PropertyKey, k)?, v);
        }
        Ok(map)
    }

    fn iter(&self, cf: &str, prefix: &[u8]) -> Result<RawIter<'_, 'e>> {
        self.check()?;
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&self.snapshot);
        if !prefix.is_empty() {
            ro.set_iterate_lower_bound(prefix.to_vec());
        }
        if let Some(end) = prefix_end(prefix) {
            ro.set_iterate_upper_bound(end);
        }
        let mut it = self.txn.raw_iterator_cf_opt(self.engine.cf(cf)?, ro);
        it.seek(prefix);
        Ok(it)
    }

    /// The object ids at the end of the `index` keys in [start, end), as of the
    /// transaction's snapshot.
    fn index_scan(&self, start: &[u8], end: Option<Vec<u8>>) -> Result<Vec<u64>> {
        self.check()?;
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&self.snapshot);
        ro.set_iterate_lower_bound(start.to_vec());
        if let Some(end) = end {
            ro.set_iterate_upper_bound(end);
        }
        let mut it = self.txn.raw_iterator_cf_opt(self.engine.cf(INDEX)?, ro);
        it.seek(start);
        let mut out = Vec::new();
        while let Some(key) = it.key() {
            out.push(entry_object(key)?);
            it.next();
        }
        it.status().map_err(|e| rocks("cannot scan an index", e))?;
        Ok(out)
    }

    fn adjacency(&self, v: VertexId, direction: Direction) -> Result<Vec<EdgeRecord>> {
        self.edges(v, direction, None)?.collect()
    }

    fn remove_edge(&mut self, id: u64, e: &EdgeValue) -> Result<()> {
        self.touched_edges.push(id);
        self.delete(EDGES, &id_key(id))?;
        self.delete(OUT, &adjacency_key(e.source, e.edge_type, e.target, id))?;
        self.delete(IN, &adjacency_key(e.target, e.edge_type, e.source, id))
    }

    fn new_edge(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
        props: Vec<u8>,
    ) -> Result<EdgeId> {
        self.check_write()?;
        engine_api::validate_name("edge type", edge_type)?;
        // Lock both endpoints and rewrite them unchanged (see the module docs).
        let s = self.vertex_for_update(source)?;
        let t = if target == source {
            None
        } else {
            Some(self.vertex_for_update(target)?)
        };
        self.set_vertex_record(source, &s)?;
        if let Some(t) = &t {
            self.set_vertex_record(target, t)?;
        }
        let ty = self
            .engine
            .names
            .intern(&self.engine.db, NameKind::EdgeType, edge_type)?;
        let id = self.engine.ids.next(&self.engine.db, IdKind::Edge)?;
        let value = EdgeValue {
            edge_type: ty,
            source: source.0,
            target: target.0,
            props,
        };
        self.put(EDGES, &id_key(id), &value.encode())?;
        self.put(OUT, &adjacency_key(source.0, ty, target.0, id), &[])?;
        self.put(IN, &adjacency_key(target.0, ty, source.0, id), &[])?;
        self.touched_edges.push(id);
        self.created_edges.push(id);
        if self.observing() {
            let properties = self.properties(&value.props, "edge property record")?;
            let edge = EdgeRecord {
                id: EdgeId(id),
                edge_type: self.engine.names.name(NameKind::EdgeType, ty)?,
                source,
                target,
            };
            self.record(|| Change::EdgeCreated { edge, properties });
        }
        Ok(EdgeId(id))
    }

    /// A property record of `properties` (Null values dropped, later duplicates win).
    fn record_of(&self, properties: &[(&str, PropertyValue)]) -> Result<Vec<u8>> {
        let mut pairs = Vec::with_capacity(properties.len());
        for (key, value) in properties {
            engine_api::validate_name("property key", key)?;
            value.validate()?;
            if !value.is_null() {
                let k = self
                    .engine
                    .names
                    .intern(&self.engine.db, NameKind::PropertyKey, key)?;
                pairs.push((k, value.clone()));
            }
        }
        Ok(engine_api::codec::properties_record(&mut pairs))
    }

    /// `record` with `key` set to `value` and the value it replaced; `None` when
    /// nothing changes (removing a property that is not set), so nothing is written.
    fn edit_props(
        &self,
        record: &[u8],
        key: &str,
        value: &PropertyValue,
        owner: &str,
    ) -> Result<Option<(Vec<u8>, Option<PropertyValue>)>> {
        let k = if value.is_null() {
            match self.engine.names.id(NameKind::PropertyKey, key) {
                Some(k) => k,
                None => return Ok(None),
            }
        } else {
            self.engine
                .names
                .intern(&self.engine.db, NameKind::PropertyKey, key)?
        };
        let (props, old) = replace_property(record, k, Some(value))
            .map_err(|e| e.into_corrupt(&format!("{owner} property record"), 0))?;
        if value.is_null() && old.is_none() {
            return Ok(None);
        }
        Ok(Some((props, old)))
    }

    fn set_vertex_record(&mut self, v: VertexId, record: &VertexRecord) -> Result<()> {
        self.put(VERTICES, &id_key(v.0), &record.encode())
    }
}

/// Where a vertex iterator's ids come from.
enum VertexSource {
    All,
    Label,
}

/// Vertex ids from a scan of `vertices` or of one label's index entries, optionally
/// filtered by a property.
pub struct VertexIter<'t, 'e> {
    txn: &'t OnDiskTxn<'e>,
    raw: Option<RawIter<'t, 'e>>,
    end: Option<Vec<u8>>,
    source: VertexSource,
    filters: Vec<(u32, PropertyBounds)>,
    /// Candidates from an index (and the transaction's own writes), each checked
    /// against its record: (label, ids).
    candidates: Option<(u32, std::vec::IntoIter<u64>)>,
}

impl std::fmt::Debug for VertexIter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexIter").finish_non_exhaustive()
    }
}

impl VertexIter<'_, '_> {
    fn step_candidates(&mut self) -> Result<Option<VertexId>> {
        let Some((label, ids)) = self.candidates.as_mut() else {
            return Ok(None);
        };
        let label = *label;
        'ids: for id in ids.by_ref() {
            let Some(record) = self.txn.vertex_at(id, true)? else {
                continue;
            };
            if record.labels.binary_search(&label).is_err() {
                continue;
            }
            for (k, bounds) in &self.filters {
                let value = find_property(&record.props, *k)
                    .map_err(corrupt_props("vertex property record"))?;
                if !value.is_some_and(|value| bounds.matches(&value)) {
                    continue 'ids;
                }
            }
            return Ok(Some(VertexId(id)));
        }
        self.candidates = None;
        Ok(None)
    }

    fn step(&mut self) -> Result<Option<VertexId>> {
        if self.candidates.is_some() {
            return self.step_candidates();
        }
        loop {
            let Some(raw) = self.raw.as_mut() else {
                return Ok(None);
            };
            let Some(key) = raw.key() else {
                let status = raw.status();
                self.raw = None;
                status.map_err(|e| rocks("cannot scan vertices", e))?;
                return Ok(None);
            };
            if self.end.as_deref().is_some_and(|end| key >= end) {
                self.raw = None;
                return Ok(None);
            }
            let id = match self.source {
                VertexSource::All => decode_id_key(VERTICES, key)?,
                VertexSource::Label => decode_label_key(key)?,
            };
            raw.next();
            let v = VertexId(id);
            if self.filters.is_empty() {
                return Ok(Some(v));
            }
            let record = self.txn.vertex_record(v)?;
            let mut selected = true;
            for (k, bounds) in &self.filters {
                let value = find_property(&record.props, *k)
                    .map_err(corrupt_props("vertex property record"))?;
                if !value.is_some_and(|value| bounds.matches(&value)) {
                    selected = false;
                    break;
                }
            }
            if selected {
                return Ok(Some(v));
            }
        }
    }
}

impl Iterator for VertexIter<'_, '_> {
    type Item = Result<VertexId>;

    fn next(&mut self) -> Option<Result<VertexId>> {
        match self.step() {
            Ok(v) => v.map(Ok),
            Err(e) => {
                self.raw = None;
                self.candidates = None;
                Some(Err(e))
            }
        }
    }
}

/// The edges of one vertex, from prefix scans of `out` and then `in`.
pub struct EdgeIter<'t, 'e> {
    txn: &'t OnDiskTxn<'e>,
    raw: Option<RawIter<'t, 'e>>,
    end: Option<Vec<u8>>,
    outgoing: bool,
    // The `in` scan still to run after `out` (for Direction::Both).
    then_in: bool,
    both: bool,
    prefix: Vec<u8>,
    /// Set for a scan of `edges` by type (and property) instead of adjacency.
    by_type: Option<(u32, Option<(u32, PropertyBounds)>)>,
    /// With `by_type`: edge ids from an index (and own writes) to check instead.
    candidates: Option<std::vec::IntoIter<u64>>,
}

impl std::fmt::Debug for EdgeIter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeIter").finish_non_exhaustive()
    }
}

impl EdgeIter<'_, '_> {
    fn step(&mut self) -> Result<Option<EdgeRecord>> {
        if let Some((t, filter)) = &self.by_type {
            return self.step_by_type(*t, filter.clone());
        }
        loop {
            let Some(raw) = self.raw.as_mut() else {
                return Ok(None);
            };
            let cf = if self.outgoing { OUT } else { IN };
            let key = match raw.key() {
                Some(key) if self.end.as_deref().is_none_or(|end| key < end) => key,
                _ => {
                    let status = raw.status();
                    self.raw = None;
                    status.map_err(|e| rocks("cannot scan edges", e))?;
                    if self.then_in {
                        self.then_in = false;
                        self.outgoing = false;
                        self.raw = Some(self.txn.iter(IN, &self.prefix)?);
                        self.end = prefix_end(&self.prefix);
                        continue;
                    }
                    return Ok(None);
                }
            };
            let (v, t, other, id) = decode_adjacency_key(cf, key)?;
            raw.next();
            // A self-loop is in both scans; Both yields it once, from `out`.
            if !self.outgoing && self.both && v == other {
                continue;
            }
            let edge_type = self.txn.engine.names.name(NameKind::EdgeType, t)?;
            let (source, target) = if self.outgoing {
                (v, other)
            } else {
                (other, v)
            };
            return Ok(Some(EdgeRecord {
                id: EdgeId(id),
                edge_type,
                source: VertexId(source),
                target: VertexId(target),
            }));
        }
    }
}

impl EdgeIter<'_, '_> {
    fn step_by_type(
        &mut self,
        t: u32,
        filter: Option<(u32, PropertyBounds)>,
    ) -> Result<Option<EdgeRecord>> {
        if let Some(ids) = self.candidates.as_mut() {
            for id in ids.by_ref() {
                let Some(e) = self.txn.edge_at(id, true)? else {
                    continue;
                };
                if e.edge_type != t {
                    continue;
                }
                if let Some((k, bounds)) = &filter {
                    let value = find_property(&e.props, *k)
                        .map_err(corrupt_props("edge property record"))?;
                    if !value.is_some_and(|v| bounds.matches(&v)) {
                        continue;
                    }
                }
                return Ok(Some(EdgeRecord {
                    id: EdgeId(id),
                    edge_type: self.txn.engine.names.name(NameKind::EdgeType, t)?,
                    source: VertexId(e.source),
                    target: VertexId(e.target),
                }));
            }
            self.candidates = None;
            return Ok(None);
        }
        loop {
            let Some(raw) = self.raw.as_mut() else {
                return Ok(None);
            };
            let (Some(key), Some(value)) = (raw.key(), raw.value()) else {
                let status = raw.status();
                self.raw = None;
                status.map_err(|e| rocks("cannot scan edges", e))?;
                return Ok(None);
            };
            let id = decode_id_key(EDGES, key)?;
            let e = EdgeValue::decode(key, value)?;
            raw.next();
            if e.edge_type != t {
                continue;
            }
            if let Some((k, bounds)) = &filter {
                let value =
                    find_property(&e.props, *k).map_err(corrupt_props("edge property record"))?;
                if !value.is_some_and(|v| bounds.matches(&v)) {
                    continue;
                }
            }
            return Ok(Some(EdgeRecord {
                id: EdgeId(id),
                edge_type: self.txn.engine.names.name(NameKind::EdgeType, t)?,
                source: VertexId(e.source),
                target: VertexId(e.target),
            }));
        }
    }
}

impl Iterator for EdgeIter<'_, '_> {
    type Item = Result<EdgeRecord>;

    fn next(&mut self) -> Option<Result<EdgeRecord>> {
        match self.step() {
            Ok(e) => e.map(Ok),
            Err(e) => {
                self.raw = None;
                self.then_in = false;
                Some(Err(e))
            }
        }
    }
}

impl<'e> Transaction for OnDiskTxn<'e> {
    type Vertices<'t>
        = VertexIter<'t, 'e>
    where
        Self: 't;
    type Edges<'t>
        = EdgeIter<'t, 'e>
    where
        Self: 't;

    fn isolation_level(&self) -> IsolationLevel {
        IsolationLevel::SnapshotIsolation
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn contains_vertex(&self, vertex: VertexId) -> Result<bool> {
        Ok(self.get(VERTICES, &id_key(vertex.0))?.is_some())
    }

    fn vertex_labels(&self, vertex: VertexId) -> Result<Vec<Name>> {
        self.vertex_record(vertex)?
            .labels
            .iter()
            .map(|l| self.engine.names.name(NameKind::Label, *l))
            .collect()
    }

    fn has_label(&self, vertex: VertexId, label: &str) -> Result<bool> {
        let record = self.vertex_record(vertex)?;
        Ok(self
            .engine
            .names
            .id(NameKind::Label, label)
            .is_some_and(|l| record.labels.contains(&l)))
    }

    fn vertex_property(&self, vertex: VertexId, key: &str) -> Result<Option<PropertyValue>> {
        self.check()?;
        let k = self.engine.names.id(NameKind::PropertyKey, key);
        let id = id_key(vertex.0);
        // Pinned, and the property found in place: no copy of the record.
        let value = self
            .txn
            .get_pinned_cf_opt(self.engine.cf(VERTICES)?, id, &self.read)
            .map_err(|e| rocks("cannot read vertices", e))?
            .ok_or_else(|| Error::not_found(format!("vertex {vertex}")))?;
        let Some(k) = k else {
            return Ok(None);
        };
        let props = crate::keys::vertex_props(&id, &value)?;
        find_property(props, k).map_err(corrupt_props("vertex property record"))
    }

    fn vertex_properties(&self, vertex: VertexId) -> Result<PropertyMap> {
        let record = self.vertex_record(vertex)?;
        self.properties(&record.props, "vertex property record")
    }

    fn vertices(&self) -> Result<VertexIter<'_, 'e>> {
        Ok(VertexIter {
            txn: self,
            raw: Some(self.iter(VERTICES, &[])?),
            end: None,
            source: VertexSource::All,
            filters: Vec::new(),
            candidates: None,
        })
    }

    fn vertices_with_label(&self, label: &str) -> Result<VertexIter<'_, 'e>> {
        self.check()?;
        let raw = match self.engine.names.id(NameKind::Label, label) {
            Some(l) => Some(self.iter(LABELS, &l.to_be_bytes())?),
            None => None,
        };
        let end = self
            .engine
            .names
            .id(NameKind::Label, label)
            .and_then(|l| prefix_end(&l.to_be_bytes()));
        Ok(VertexIter {
            txn: self,
            raw,
            end,
            source: VertexSource::Label,
            filters: Vec::new(),
            candidates: None,
        })
    }

    fn vertices_with_properties(
        &self,
        label: &str,
        filters: &[(&str, PropertyBounds)],
    ) -> Result<VertexIter<'_, 'e>> {
        let mut it = self.vertices_with_label(label)?;
        for (key, bounds) in filters {
            match self.engine.names.id(NameKind::PropertyKey, key) {
                Some(k) => it.filters.push((k, bounds.clone())),
                None => it.raw = None,
            }
        }
        let (Some(l), Some(_)) = (
            self.engine.names.id(NameKind::Label, label),
            it.raw.as_ref(),
        ) else {
            return Ok(it);
        };
        let keys: Vec<u32> = it.filters.iter().map(|(k, _)| *k).collect();
        let catalog = self.catalog.clone();
        let Some((_, index)) = catalog.vertex_index(l, &keys) else {
            return Ok(it);
        };
        let Target::Vertex {
            keys: index_keys, ..
        } = &index.target
        else {
            return Ok(it);
        };
        let (start, end) = vertex_range(index.id, index_keys, &it.filters);
        let mut ids = self.index_scan(&start, end)?;
        ids.extend_from_slice(&self.touched_vertices);
        ids.sort_unstable();
        ids.dedup();
        it.raw = None;
        it.candidates = Some((l, ids.into_iter()));
        Ok(it)
    }

    fn edges_with_type(
        &self,
        edge_type: &str,
        filter: Option<(&str, &PropertyBounds)>,
    ) -> Result<EdgeIter<'_, 'e>> {
        self.check()?;
        let t = self.engine.names.id(NameKind::EdgeType, edge_type);
        let k = filter.and_then(|(key, bounds)| {
            self.engine
                .names
                .id(NameKind::PropertyKey, key)
                .map(|k| (k, bounds.clone()))
        });
        let none = t.is_none() || (filter.is_some() && k.is_none());
        let mut candidates = None;
        if let (false, Some(t)) = (none, t) {
            let catalog = self.catalog.clone();
            if let Some((_, index)) = catalog.edge_index(t, k.as_ref().map(|(k, _)| *k)) {
                let (start, end) = match (&index.target, &k) {
                    (Target::Edge { key: Some(ik), .. }, Some((fk, bounds))) if ik == fk => {
                        vertex_range(index.id, &[*ik], &[(*fk, bounds.clone())])
                    }
                    _ => {
                        let p = index.id.to_be_bytes().to_vec();
                        let end = prefix_end(&p);
                        (p, end)
                    }
                };
                let mut ids = self.index_scan(&start, end)?;
                ids.extend_from_slice(&self.touched_edges);
                ids.sort_unstable();
                ids.dedup();
                candidates = Some(ids.into_iter());
            }
        }
        Ok(EdgeIter {
            txn: self,
            raw: if none || candidates.is_some() {
                None
            } else {
                Some(self.iter(EDGES, &[])?)
            },
            candidates,
            end: None,
            outgoing: true,
            then_in: false,
            both: false,
            prefix: Vec::new(),
            by_type: t.map(|t| (t, k)),
        })
    }

    fn vertex_lookup_index(&self, label: &str, keys: &[&str]) -> Result<Option<IndexSpec>> {
        self.check()?;
        let names = &self.engine.names;
        let Some(l) = names.id(NameKind::Label, label) else {
            return Ok(None);
        };
        let ids: Vec<u32> = keys
            .iter()
            .filter_map(|k| names.id(NameKind::PropertyKey, k))
            .collect();
        let catalog = &self.catalog;
        if ids.len() == keys.len()
            && let Some((spec, _)) = catalog.vertex_index(l, &ids)
        {
            return Ok(Some(spec.clone()));
        }
        Ok(catalog.label_index(l).cloned())
    }

    fn edge_lookup_index(&self, edge_type: &str, key: Option<&str>) -> Result<Option<IndexSpec>> {
        self.check()?;
        let names = &self.engine.names;
        let Some(t) = names.id(NameKind::EdgeType, edge_type) else {
            return Ok(None);
        };
        let k = key.and_then(|k| names.id(NameKind::PropertyKey, k));
        Ok(self.catalog.edge_index(t, k).map(|(spec, _)| spec.clone()))
    }

    fn edges(
        &self,
        vertex: VertexId,
        direction: Direction,
        edge_type: Option<&str>,
    ) -> Result<EdgeIter<'_, 'e>> {
        if !self.contains_vertex(vertex)? {
            return Err(Error::not_found(format!("vertex {vertex}")));
        }
        let mut prefix = vertex.0.to_be_bytes().to_vec();
        let mut none = false;
        if let Some(t) = edge_type {
            match self.engine.names.id(NameKind::EdgeType, t) {
                Some(t) => prefix.extend_from_slice(&t.to_be_bytes()),
                None => none = true,
            }
        }
        let outgoing = direction != Direction::In;
        let raw = if none {
            None
        } else {
            Some(self.iter(if outgoing { OUT } else { IN }, &prefix)?)
        };
        Ok(EdgeIter {
            txn: self,
            raw,
            end: prefix_end(&prefix),
            outgoing,
            then_in: !none && direction == Direction::Both,
            both: direction == Direction::Both,
            prefix,
            by_type: None,
            candidates: None,
        })
    }

    fn contains_edge(&self, edge: EdgeId) -> Result<bool> {
        Ok(self.get(EDGES, &id_key(edge.0))?.is_some())
    }

    fn edge(&self, edge: EdgeId) -> Result<EdgeRecord> {
        let e = self.edge_value(edge)?;
        Ok(EdgeRecord {
            id: edge,
            edge_type: self.engine.names.name(NameKind::EdgeType, e.edge_type)?,
            source: VertexId(e.source),
            target: VertexId(e.target),
        })
    }

    fn edge_property(&self, edge: EdgeId, key: &str) -> Result<Option<PropertyValue>> {
        let e = self.edge_value(edge)?;
        match self.engine.names.id(NameKind::PropertyKey, key) {
            Some(k) => find_property(&e.props, k).map_err(corrupt_props("edge property record")),
            None => Ok(None),
        }
    }

    fn edge_properties(&self, edge: EdgeId) -> Result<PropertyMap> {
        let e = self.edge_value(edge)?;
        self.properties(&e.props, "edge property record")
    }

    fn create_vertex(&mut self) -> Result<VertexId> {
        self.check_write()?;
        let id = self.engine.ids.next(&self.engine.db, IdKind::Vertex)?;
        self.put(VERTICES, &id_key(id), &VertexRecord::default().encode())?;
        self.touched_vertices.push(id);
        self.created_vertices.push(id);
        self.record(|| Change::VertexCreated {
            vertex: VertexId(id),
            labels: Vec::new(),
            properties: PropertyMap::new(),
        });
        Ok(VertexId(id))
    }

    fn add_label(&mut self, vertex: VertexId, label: &str) -> Result<bool> {
        self.check_write()?;
        engine_api::validate_name("label", label)?;
        let mut record = self.vertex_for_update(vertex)?;
        let l = self
            .engine
            .names
            .intern(&self.engine.db, NameKind::Label, label)?;
        let Err(at) = record.labels.binary_search(&l) else {
            return Ok(false);
        };
        record.labels.insert(at, l);
        self.set_vertex_record(vertex, &record)?;
        self.put(LABELS, &label_key(l, vertex.0), &[])?;
        self.touched_vertices.push(vertex.0);
        self.record(|| Change::LabelAdded {
            vertex,
            label: label.to_string(),
        });
        Ok(true)
    }

    fn remove_label(&mut self, vertex: VertexId, label: &str) -> Result<bool> {
        self.check_write()?;
        engine_api::validate_name("label", label)?;
        let mut record = self.vertex_for_update(vertex)?;
        let Some(l) = self.engine.names.id(NameKind::Label, label) else {
            return Ok(false);
        };
        let Ok(at) = record.labels.binary_search(&l) else {
            return Ok(false);
        };
        record.labels.remove(at);
        self.set_vertex_record(vertex, &record)?;
        self.delete(LABELS, &label_key(l, vertex.0))?;
        self.touched_vertices.push(vertex.0);
        self.record(|| Change::LabelRemoved {
            vertex,
            label: label.to_string(),
        });
        Ok(true)
    }

    fn set_vertex_property(
        &mut self,
        vertex: VertexId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>> {
        self.check_write()?;
        engine_api::validate_name("property key", key)?;
        value.validate()?;
        let mut record = self.vertex_for_update(vertex)?;
        let Some((props, old)) = self.edit_props(&record.props, key, &value, "vertex")? else {
            return Ok(None);
        };
        record.props = props;
        self.set_vertex_record(vertex, &record)?;
        self.touched_vertices.push(vertex.0);
        if self.observing() {
            let (old, new) = (old.clone(), value);
            self.record(|| Change::VertexPropertySet {
                vertex,
                key: key.to_string(),
                old,
                new,
            });
        }
        Ok(old)
    }

    fn delete_vertex(&mut self, vertex: VertexId, mode: DeleteMode) -> Result<()> {
        let record = self.vertex_for_update(vertex)?;
        let edges = self.adjacency(vertex, Direction::Both)?;
        if !edges.is_empty() && mode == DeleteMode::Plain {
            return Err(Error::new(
                ErrorKind::HasEdges,
                format!(
                    "vertex {vertex} has {} edge(s); delete them first or use a detach delete",
                    edges.len()
                ),
            ));
        }
        for e in edges {
            let value = self.edge_for_update(e.id)?;
            if self.observing() {
                let properties = self.properties(&value.props, "edge property record")?;
                self.record(|| Change::EdgeDeleted {
                    edge: e.clone(),
                    properties,
                });
            }
            self.remove_edge(e.id.0, &value)?;
        }
        for l in &record.labels {
            self.delete(LABELS, &label_key(*l, vertex.0))?;
        }
        self.delete(VERTICES, &id_key(vertex.0))?;
        self.touched_vertices.push(vertex.0);
        if self.observing() {
            let labels = record
                .labels
                .iter()
                .map(|l| {
                    self.engine
                        .names
                        .name(NameKind::Label, *l)
                        .map(|n| n.to_string())
                })
                .collect::<Result<Vec<_>>>()?;
            let properties = self.properties(&record.props, "vertex property record")?;
            self.record(|| Change::VertexDeleted {
                vertex,
                labels,
                properties,
            });
        }
        Ok(())
    }

    fn create_edge(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
    ) -> Result<EdgeId> {
        self.new_edge(source, target, edge_type, Vec::new())
    }

    fn set_edge_property(
        &mut self,
        edge: EdgeId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>> {
        self.check_write()?;
        engine_api::validate_name("property key", key)?;
        value.validate()?;
        let mut e = self.edge_for_update(edge)?;
        let Some((props, old)) = self.edit_props(&e.props, key, &value, "edge")? else {
            return Ok(None);
        };
        e.props = props;
        self.put(EDGES, &id_key(edge.0), &e.encode())?;
        self.touched_edges.push(edge.0);
        if self.observing() {
            let (old, new) = (old.clone(), value);
            self.record(|| Change::EdgePropertySet {
                edge,
                key: key.to_string(),
                old,
                new,
            });
        }
        Ok(old)
    }

    fn delete_edge(&mut self, edge: EdgeId) -> Result<()> {
        let e = self.edge_for_update(edge)?;
        if self.observing() {
            let record = EdgeRecord {
                id: edge,
                edge_type: self.engine.names.name(NameKind::EdgeType, e.edge_type)?,
                source: VertexId(e.source),
                target: VertexId(e.target),
            };
            let properties = self.properties(&e.props, "edge property record")?;
            self.record(|| Change::EdgeDeleted {
                edge: record,
                properties,
            });
        }
        self.remove_edge(edge.0, &e)
    }

    fn create_vertex_with(
        &mut self,
        labels: &[&str],
        properties: &[(&str, PropertyValue)],
    ) -> Result<VertexId> {
        self.check_write()?;
        // One record and one put instead of a read-modify-write per label and property.
        let mut ls = Vec::with_capacity(labels.len());
        for label in labels {
            ls.push(
                self.engine
                    .names
                    .intern(&self.engine.db, NameKind::Label, label)?,
            );
        }
        ls.sort_unstable();
        ls.dedup();
        let props = self.record_of(properties)?;
        let id = self.engine.ids.next(&self.engine.db, IdKind::Vertex)?;
        for l in &ls {
            self.put(LABELS, &label_key(*l, id), &[])?;
        }
        let record = VertexRecord { labels: ls, props };
        self.put(VERTICES, &id_key(id), &record.encode())?;
        self.touched_vertices.push(id);
        self.created_vertices.push(id);
        if self.observing() {
            let mut names: Vec<String> = Vec::with_capacity(labels.len());
            for l in labels {
                if !names.iter().any(|n| n == l) {
                    names.push(l.to_string());
                }
            }
            let properties = self.properties(&record.props, "vertex property record")?;
            self.record(|| Change::VertexCreated {
                vertex: VertexId(id),
                labels: names,
                properties,
            });
        }
        Ok(VertexId(id))
    }

    fn create_edge_with(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
        properties: &[(&str, PropertyValue)],
    ) -> Result<EdgeId> {
        self.check_write()?;
        let props = self.record_of(properties)?;
        self.new_edge(source, target, edge_type, props)
    }

    fn commit(mut self) -> Result<CommitInfo> {
        self.check()?;
        if !self.wrote {
            return Ok(CommitInfo {
                commit_timestamp: self.start_ts,
            });
        }
        let engine = self.engine;
        // Before-commit observers see the changes first and may veto.
        let observed = match self.observed.take() {
            Some((observers, changes)) => {
                let set = ChangeSet {
                    commit_timestamp: None,
                    changes,
                };
                observers.before_commit(&set)?;
                Some((observers, set))
            }
            None => None,
        };
        // Entries are kept, and constraints checked, against the catalogue current
        // now; a schema change waits until this commit is done.
        let gate = engine.schema.gate.read();
        let catalog = engine.schema.current();
        if catalog.has_upkeep() {
            self.upkeep(&catalog)?;
        }
        let delivery = match &observed {
            Some((o, _)) if o.has_after() => Some(engine.delivery.lock()),
            _ => None,
        };
        let OnDiskTxn {
            txn,
            read,
            snapshot,
            leftovers,
            ..
        } = self;
        drop(read);
        drop(snapshot);
        txn.commit()
            .map_err(|e| engine.poison(rocks("commit failed", e)))?;
        let ts = engine.committed()?;
        // Leftovers of a finished build go now; those of a running one wait for it
        // (queued before the gate is released, so before the build can finish).
        let (now, later): (Vec<_>, Vec<_>) = leftovers
            .into_iter()
            .partition(|l| catalog.indexes.values().any(|i| i.id == l.index && i.ready));
        if !later.is_empty() {
            engine.schema.leftovers.lock().extend(later);
        }
        drop(gate);
        if !now.is_empty()
            && let Err(e) = engine.remove_leftovers(&catalog, now)
        {
            // The commit stands; a stale entry costs lookups a record check only.
            tracing::warn!(error = %e, "a stale index entry could not be removed");
        }
        if let (Some((observers, mut set)), Some(_in_order)) = (observed, delivery) {
            set.commit_timestamp = Some(ts);
            for (id, e) in observers.after_commit(&set) {
                tracing::warn!(observer = id.0, error = %e, "an after-commit observer failed");
            }
        }
        Ok(CommitInfo {
            commit_timestamp: ts,
        })
    }

    fn rollback(self) {
        let _ = self.txn.rollback();
    }
}
