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

use engine_api::codec::{decode_properties, find_property, replace_property};
use engine_api::{
    CommitInfo, DeleteMode, Direction, EdgeId, EdgeRecord, Error, ErrorKind, IndexSpec,
    IsolationLevel, Name, PropertyBounds, PropertyMap, PropertyValue, Result, Transaction,
    VertexId,
};
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, SnapshotWithThreadMode, TransactionDB};

use crate::engine::OnDiskEngine;
use crate::keys::{
    EDGES, EdgeValue, IN, LABELS, OUT, VERTICES, VertexRecord, adjacency_key, decode_adjacency_key,
    decode_id_key, decode_label_key, id_key, label_key, prefix_end, rocks,
};
use crate::metadata::{IdKind, NameKind};

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

    fn adjacency(&self, v: VertexId, direction: Direction) -> Result<Vec<EdgeRecord>> {
        self.edges(v, direction, None)?.collect()
    }

    fn remove_edge(&mut self, id: u64, e: &EdgeValue) -> Result<()> {
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
}

impl std::fmt::Debug for VertexIter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexIter").finish_non_exhaustive()
    }
}

impl VertexIter<'_, '_> {
    fn step(&mut self) -> Result<Option<VertexId>> {
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
        Ok(EdgeIter {
            txn: self,
            raw: if none {
                None
            } else {
                Some(self.iter(EDGES, &[])?)
            },
            end: None,
            outgoing: true,
            then_in: false,
            both: false,
            prefix: Vec::new(),
            by_type: t.map(|t| (t, k)),
        })
    }

    fn vertex_lookup_index(&self, label: &str, keys: &[&str]) -> Result<Option<IndexSpec>> {
        let _ = (label, keys);
        self.check()?;
        Ok(None)
    }

    fn edge_lookup_index(&self, edge_type: &str, key: Option<&str>) -> Result<Option<IndexSpec>> {
        let _ = (edge_type, key);
        self.check()?;
        Ok(None)
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
            self.remove_edge(e.id.0, &value)?;
        }
        for l in &record.labels {
            self.delete(LABELS, &label_key(*l, vertex.0))?;
        }
        self.delete(VERTICES, &id_key(vertex.0))
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
        Ok(old)
    }

    fn delete_edge(&mut self, edge: EdgeId) -> Result<()> {
        let e = self.edge_for_update(edge)?;
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

    fn commit(self) -> Result<CommitInfo> {
        self.check()?;
        if !self.wrote {
            return Ok(CommitInfo {
                commit_timestamp: self.start_ts,
            });
        }
        let engine = self.engine;
        let OnDiskTxn {
            txn,
            read,
            snapshot,
            ..
        } = self;
        drop(read);
        drop(snapshot);
        txn.commit()
            .map_err(|e| engine.poison(rocks("commit failed", e)))?;
        Ok(CommitInfo {
            commit_timestamp: engine.committed()?,
        })
    }

    fn rollback(self) {
        let _ = self.txn.rollback();
    }
}
