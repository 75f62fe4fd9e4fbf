//! Transactions: reads and writes straight on the shared graph.
//!
//! A write takes the catalog's read lock (so an index published meanwhile is
//! either maintained by it or fills from its result), then the locks of the objects
//! it changes: vertices in ascending id order, then an edge, then index internals.
//! Each write is one step under those locks, so concurrent writers never see half of
//! another's step: no torn vertex, no edge without both endpoints.

use std::sync::Arc;

use engine_api::EdgeRef;
use engine_api::codec::{decode_properties, encode_properties, replace_property};
use engine_api::{
    Change, ChangeSet, CommitInfo, DeleteMode, Direction, EdgeId, EdgeRecord, Error, ErrorKind,
    IndexSpec, IsolationLevel, Name, Observers, PropertyBounds, PropertyMap, PropertyValue, Result,
    Transaction, ValueRef, VertexId, best_prefix_index,
};

use crate::graph::{Adj, Edge, EdgeProps, Vertex, VertexGuard, VertexProps};
use crate::index::{KeySet, Target};
use crate::inner::Inner;
use crate::iter::{EdgeIter, VertexIter};
use crate::pause::Pass;
use crate::props;
use crate::schema::Catalog;
use smallvec::SmallVec;

mod commit;
mod scan;

/// A transaction of the analytical engine. Its writes are visible to everyone as
/// soon as each call returns; `rollback` (and dropping it) keeps them.
pub struct AnalyticalTxn<'e> {
    inner: &'e Inner,
    read_only: bool,
    wrote: bool,
    names: NameCache,
    /// Reused by every write that encodes properties (no allocation per write).
    scratch: Vec<u8>,
    /// Key ids of the properties being written, with their positions.
    keyed: SmallVec<[(u32, usize); 8]>,
    observed: Option<(Arc<Observers>, Vec<Change>)>,
    _pass: Pass<'e>,
}

impl std::fmt::Debug for AnalyticalTxn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticalTxn")
            .field("read_only", &self.read_only)
            .field("wrote", &self.wrote)
            .finish_non_exhaustive()
    }
}

fn vertex_missing(v: VertexId) -> Error {
    Error::not_found(format!("vertex {v} does not exist"))
}

fn edge_missing(e: EdgeId) -> Error {
    Error::not_found(format!("edge {e} does not exist"))
}

/// The property record of `properties` (in call order: a later pair replaces an
/// earlier one of the same key, `Null` removes it), whose key ids `keyed` gives as
/// (key id, position) pairs. The values are encoded where they are, never cloned,
/// into `scratch`, and the record is allocated once at its exact size.
fn record_of<A: smallvec::Array<Item = u8>>(
    keyed: &mut [(u32, usize)],
    properties: &[(&str, PropertyValue)],
    scratch: &mut Vec<u8>,
) -> SmallVec<A> {
    // Stable: pairs of one key stay in call order, and the last one is kept.
    keyed.sort_by_key(|(k, _)| *k);
    let last_of_each = keyed
        .iter()
        .enumerate()
        .filter(|(j, (k, _))| keyed.get(j + 1).is_none_or(|(next, _)| next != k))
        .filter_map(|(_, (k, i))| properties.get(*i).map(|(_, v)| (*k, v)));
    scratch.clear();
    // Null values are skipped: a last Null removes the key.
    encode_properties(last_of_each, scratch);
    SmallVec::from_slice(&scratch[..])
}

/// Which dictionary a cached name is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    Label,
    EdgeType,
    Key,
}

/// A name the cache holds: its dictionary, id and bytes.
#[derive(Debug)]
struct CachedName {
    kind: NameKind,
    id: u32,
    name: SmallVec<[u8; NameCache::INLINE]>,
}

/// The ids of the labels, edge types and property keys a transaction used last, so an
/// import resolves its few names without the dictionaries' lookups. Names are kept
/// inline (a name longer than [`NameCache::INLINE`] bytes is looked up each time) and
/// so are the first entries: a small transaction allocates nothing for the cache (a
/// cache per dictionary, with names and lists on the heap, was six of the ten
/// allocations of a one-vertex, one-edge write).
#[derive(Debug, Default)]
struct NameCache {
    entries: SmallVec<[CachedName; 4]>,
    next: usize,
}

impl NameCache {
    const SIZE: usize = 32;
    const INLINE: usize = 16;

    fn id(&mut self, graph: &crate::graph::Graph, kind: NameKind, name: &str) -> Result<u32> {
        if let Some(c) = self
            .entries
            .iter()
            .find(|c| c.kind == kind && c.name.as_slice() == name.as_bytes())
        {
            return Ok(c.id);
        }
        let table = match kind {
            NameKind::Label => &graph.labels,
            NameKind::EdgeType => &graph.edge_types,
            NameKind::Key => &graph.keys,
        };
        let id = table.intern(name)?;
        if name.len() <= Self::INLINE {
            let entry = CachedName {
                kind,
                id,
                name: SmallVec::from_slice(name.as_bytes()),
            };
            if self.entries.len() < Self::SIZE {
                self.entries.push(entry);
            } else {
                self.entries[self.next] = entry;
                self.next = (self.next + 1) % Self::SIZE;
            }
        }
        Ok(id)
    }
}

impl<'e> AnalyticalTxn<'e> {
    pub(crate) fn new(inner: &'e Inner, read_only: bool, pass: Pass<'e>) -> Self {
        AnalyticalTxn {
            inner,
            read_only,
            wrote: false,
            names: NameCache::default(),
            scratch: Vec::new(),
            keyed: SmallVec::new(),
            observed: inner.observers.current().map(|o| (o, Vec::new())),
            _pass: pass,
        }
    }

    /// The property record of a new object's `properties`.
    fn property_record<A: smallvec::Array<Item = u8>>(
        &mut self,
        properties: &[(&str, PropertyValue)],
    ) -> Result<SmallVec<A>> {
        self.keyed.clear();
        for (i, (k, v)) in properties.iter().enumerate() {
            v.validate()?;
            let id = self.names.id(&self.inner.graph, NameKind::Key, k)?;
            self.keyed.push((id, i));
        }
        Ok(record_of(&mut self.keyed, properties, &mut self.scratch))
    }

    fn writable(&mut self) -> Result<()> {
        if self.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                "this transaction is read-only",
            ));
        }
        self.wrote = true;
        Ok(())
    }

    fn record(&mut self, change: impl FnOnce() -> Result<Change>) -> Result<()> {
        if let Some((_, changes)) = &mut self.observed {
            changes.push(change()?);
        }
        Ok(())
    }

    fn observing(&self) -> bool {
        self.observed.is_some()
    }

    /// Runs `f` on the vertex under its read lock.
    fn read_vertex<R>(&self, v: VertexId, f: impl FnOnce(&Vertex) -> Result<R>) -> Result<R> {
        let slot = self
            .inner
            .graph
            .vertex(v.0)
            .ok_or_else(|| vertex_missing(v))?;
        let g = slot.read();
        match &*g {
            Some(x) => f(x),
            None => Err(vertex_missing(v)),
        }
    }

    fn read_edge<R>(&self, e: EdgeId, f: impl FnOnce(&Edge) -> Result<R>) -> Result<R> {
        let slot = self.inner.graph.edge(e.0).ok_or_else(|| edge_missing(e))?;
        let g = slot.read();
        match &*g {
            Some(x) => f(x),
            None => Err(edge_missing(e)),
        }
    }

    fn write_vertex(&self, v: VertexId) -> Result<VertexGuard<'e>> {
        let slot = self
            .inner
            .graph
            .vertex(v.0)
            .ok_or_else(|| vertex_missing(v))?;
        let g = slot.write();
        if g.is_none() {
            return Err(vertex_missing(v));
        }
        Ok(g)
    }

    /// Write locks of `ids` (sorted, distinct), taken in ascending order.
    fn lock_vertices(&self, ids: &[u64]) -> Result<Vec<(u64, VertexGuard<'e>)>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push((*id, self.write_vertex(VertexId(*id))?));
        }
        Ok(out)
    }

    fn names(&self, table: &engine_api::kit::NameTable, ids: &[u32]) -> Result<Vec<Name>> {
        ids.iter().map(|id| table.name(*id)).collect()
    }

    fn property_map(&self, blob: &[u8]) -> Result<PropertyMap> {
        let mut map = PropertyMap::new();
        for (k, v) in decode_properties(blob).map_err(props::corrupt)? {
            map.insert(self.inner.graph.keys.name(k)?, v);
        }
        Ok(map)
    }

    fn edge_record(&self, id: u64, e: &Edge) -> Result<EdgeRecord> {
        Ok(EdgeRecord {
            id: EdgeId(id),
            edge_type: self.inner.graph.edge_types.name(e.edge_type)?,
            source: VertexId(e.source),
            target: VertexId(e.target),
        })
    }

    /// Index entries of a vertex come and go with `labels`/`props`: `before` is its
    /// state before a change (`None` for a new vertex), `after` after (`None` when
    /// deleted). Only sets that `watches` accepts are looked at.
    fn reindex_vertex(
        &self,
        cat: &Catalog,
        id: u64,
        before: Option<(&[u32], &[u8])>,
        after: Option<(&[u32], &[u8])>,
        watches: impl Fn(&KeySet) -> bool,
    ) -> Result<()> {
        for set in cat.vertex_sets().filter(|s| watches(s)) {
            let old = match before {
                Some((l, p)) => set.vertex_key(l, |k| props::get(p, k))?,
                None => None,
            };
            let new = match after {
                Some((l, p)) => set.vertex_key(l, |k| props::get(p, k))?,
                None => None,
            };
            set.update(id, old, new);
        }
        Ok(())
    }

    fn reindex_edge(
        &self,
        cat: &Catalog,
        id: u64,
        edge_type: u32,
        before: Option<&[u8]>,
        after: Option<&[u8]>,
    ) -> Result<()> {
        for set in cat.edge_sets().filter(|s| s.watches_edge(edge_type)) {
            let old = match before {
                Some(p) => set.edge_key(edge_type, |k| props::get(p, k))?,
                None => None,
            };
            let new = match after {
                Some(p) => set.edge_key(edge_type, |k| props::get(p, k))?,
                None => None,
            };
            set.update(id, old, new);
        }
        Ok(())
    }

    /// Removes a locked, live edge: its slot, its index entries and both adjacency
    /// entries (the endpoints' guards are in `locked`).
    fn unlink_edge(
        &mut self,
        cat: &Catalog,
        id: u64,
        locked: &mut [(u64, VertexGuard<'e>)],
    ) -> Result<()> {
        let slot = self
            .inner
            .graph
            .edge(id)
            .ok_or_else(|| edge_missing(EdgeId(id)))?;
        let Some(edge) = slot.write().take() else {
            return Err(edge_missing(EdgeId(id)));
        };
        self.inner.graph.edge_deleted();
        self.reindex_edge(cat, id, edge.edge_type, Some(&edge.props), None)?;
        for (vid, g) in locked.iter_mut() {
            let Some(v) = g.as_mut() else { continue };
            if *vid == edge.source {
                v.remove_out(id);
            }
            if *vid == edge.target {
                v.remove_inc(id);
            }
        }
        if self.observing() {
            let record = self.edge_record(id, &edge)?;
            let properties = self.property_map(&edge.props)?;
            self.record(|| {
                Ok(Change::EdgeDeleted {
                    edge: record,
                    properties,
                })
            })?;
        }
        Ok(())
    }

    /// Removes a locked vertex with no edges left: label and index entries, slot.
    fn unlink_vertex(&mut self, cat: &Catalog, id: u64, g: &mut VertexGuard<'e>) -> Result<()> {
        let Some(v) = g.take() else {
            return Err(vertex_missing(VertexId(id)));
        };
        self.inner.graph.vertex_deleted();
        for l in v.labels.iter() {
            self.inner.graph.label_index.remove(*l, id);
        }
        self.reindex_vertex(cat, id, Some((&v.labels, &v.props)), None, |_| true)?;
        if self.observing() {
            let labels = self
                .names(&self.inner.graph.labels, &v.labels)?
                .iter()
                .map(|n| n.to_string())
                .collect();
            let properties = self.property_map(&v.props)?;
            self.record(|| {
                Ok(Change::VertexDeleted {
                    vertex: VertexId(id),
                    labels,
                    properties,
                })
            })?;
        }
        Ok(())
    }

    fn resolve_filters(
        &self,
        filters: &[(&str, PropertyBounds)],
    ) -> Option<Vec<(u32, PropertyBounds)>> {
        filters
            .iter()
            .map(|(k, b)| self.inner.graph.keys.lookup(k).map(|id| (id, b.clone())))
            .collect()
    }

    fn vertex_set<'c>(
        &self,
        cat: &'c Catalog,
        label: u32,
        keys: &[u32],
    ) -> Option<&'c Arc<KeySet>> {
        best_prefix_index(
            cat.vertex_sets().filter_map(|s| match &s.target {
                Target::Vertices { label: l, keys } if *l == label => Some((&keys[..], s)),
                _ => None,
            }),
            keys,
        )
    }

    fn edge_set<'c>(
        &self,
        cat: &'c Catalog,
        edge_type: u32,
        key: Option<u32>,
    ) -> Option<&'c Arc<KeySet>> {
        let wanted = |k: Option<u32>| {
            cat.edge_sets().find(|s| {
                matches!(&s.target, Target::Edges { edge_type: t, key } if *t == edge_type && *key == k)
            })
        };
        match key {
            Some(k) => wanted(Some(k)).or_else(|| wanted(None)),
            None => wanted(None),
        }
    }
}

impl<'e> Transaction for AnalyticalTxn<'e> {
    type Vertices<'t>
        = VertexIter<'t>
    where
        Self: 't;
    type Edges<'t>
        = EdgeIter<'t>
    where
        Self: 't;

    /// Always `ReadUncommitted`: writes are visible to everyone at once.
    fn isolation_level(&self) -> IsolationLevel {
        IsolationLevel::ReadUncommitted
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn contains_vertex(&self, vertex: VertexId) -> Result<bool> {
        Ok(self
            .inner
            .graph
            .vertex(vertex.0)
            .is_some_and(|s| s.read().is_some()))
    }

    fn vertex_labels(&self, vertex: VertexId) -> Result<Vec<Name>> {
        let ids = self.read_vertex(vertex, |v| Ok(v.labels.to_vec()))?;
        self.names(&self.inner.graph.labels, &ids)
    }

    fn has_label(&self, vertex: VertexId, label: &str) -> Result<bool> {
        let l = self.inner.graph.labels.lookup(label);
        self.read_vertex(vertex, |v| Ok(l.is_some_and(|l| v.has_label(l))))
    }

    fn for_each_label(&self, vertex: VertexId, mut f: impl FnMut(&str)) -> Result<()> {
        // Copied out first: `f` runs with no lock held (see `ValueCopy`).
        let ids: SmallVec<[u32; 8]> = self.read_vertex(vertex, |v| Ok(v.labels[..].into()))?;
        for l in ids {
            self.inner.graph.labels.with_name(l, &mut f)?;
        }
        Ok(())
    }

    fn with_vertex_property<R>(
        &self,
        vertex: VertexId,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R> {
        let k = self.inner.graph.keys.lookup(key);
        let copy = self.read_vertex(vertex, |v| match k {
            Some(k) => props::value_copy(&v.props, k),
            None => Ok(None),
        })?;
        props::lend(copy, f)
    }

    fn vertex_properties(&self, vertex: VertexId) -> Result<PropertyMap> {
        let blob = self.read_vertex(vertex, |v| Ok(v.props.clone()))?;
        self.property_map(&blob)
    }

    fn vertices(&self) -> Result<VertexIter<'_>> {
        Ok(VertexIter::range(
            self.inner,
            0..self.inner.graph.vertex_end(),
        ))
    }

    fn vertices_with_label(&self, label: &str) -> Result<VertexIter<'_>> {
        Ok(match self.inner.graph.labels.lookup(label) {
            Some(l) => VertexIter::bitmap(
                self.inner,
                self.inner.graph.label_index.members(l),
                l,
                Vec::new(),
            ),
            None => VertexIter::empty(self.inner),
        })
    }

    fn vertices_with_properties(
        &self,
        label: &str,
        filters: &[(&str, PropertyBounds)],
    ) -> Result<Self::Vertices<'_>> {
        self.scan_vertices_with_properties(label, filters)
    }

    fn edges_with_type(
        &self,
        edge_type: &str,
        filter: Option<(&str, &PropertyBounds)>,
    ) -> Result<Self::Edges<'_>> {
        self.scan_edges_with_type(edge_type, filter)
    }

    fn vertex_lookup_index(&self, label: &str, keys: &[&str]) -> Result<Option<IndexSpec>> {
        self.plan_vertex_lookup(label, keys)
    }

    fn edge_lookup_index(&self, edge_type: &str, key: Option<&str>) -> Result<Option<IndexSpec>> {
        self.plan_edge_lookup(edge_type, key)
    }

    fn edges(
        &self,
        vertex: VertexId,
        direction: Direction,
        edge_type: Option<&str>,
    ) -> Result<EdgeIter<'_>> {
        let wanted = match edge_type {
            Some(t) => match self.inner.graph.edge_types.lookup(t) {
                Some(t) => Some(t),
                None => {
                    self.read_vertex(vertex, |_| Ok(()))?;
                    return Ok(EdgeIter::empty(self.inner));
                }
            },
            None => None,
        };
        let keep = |a: &Adj| wanted.is_none_or(|t| a.edge_type == t);
        let list = self.read_vertex(vertex, |v| {
            let mut list: Vec<(Adj, bool)> = Vec::new();
            if matches!(direction, Direction::Out | Direction::Both) {
                list.extend(v.out().iter().filter(|a| keep(a)).map(|a| (*a, true)));
            }
            if matches!(direction, Direction::In | Direction::Both) {
                list.extend(
                    v.inc()
                        .iter()
                        // A self-loop is in both lists; Both lists it once.
                        .filter(|a| {
                            keep(a) && !(direction == Direction::Both && a.other == vertex.0)
                        })
                        .map(|a| (*a, false)),
                );
            }
            Ok(list)
        })?;
        Ok(EdgeIter::adjacent(self.inner, vertex.0, list))
    }

    fn contains_edge(&self, edge: EdgeId) -> Result<bool> {
        Ok(self
            .inner
            .graph
            .edge(edge.0)
            .is_some_and(|s| s.read().is_some()))
    }

    fn edge(&self, edge: EdgeId) -> Result<EdgeRecord> {
        self.read_edge(edge, |e| self.edge_record(edge.0, e))
    }

    fn with_edge<R>(&self, edge: EdgeId, f: impl FnOnce(EdgeRef<'_>) -> R) -> Result<R> {
        // Copied out first: `f` runs with no lock held (see `ValueCopy`).
        let (t, source, target) =
            self.read_edge(edge, |e| Ok((e.edge_type, e.source, e.target)))?;
        self.inner.graph.edge_types.with_name(t, |name| {
            f(EdgeRef {
                id: edge,
                edge_type: name,
                source: VertexId(source),
                target: VertexId(target),
            })
        })
    }

    fn with_edge_property<R>(
        &self,
        edge: EdgeId,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R> {
        let k = self.inner.graph.keys.lookup(key);
        let copy = self.read_edge(edge, |e| match k {
            Some(k) => props::value_copy(&e.props, k),
            None => Ok(None),
        })?;
        props::lend(copy, f)
    }

    fn edge_properties(&self, edge: EdgeId) -> Result<PropertyMap> {
        let blob = self.read_edge(edge, |e| Ok(e.props.clone()))?;
        self.property_map(&blob)
    }

    fn create_vertex(&mut self) -> Result<VertexId> {
        self.create_vertex_with(&[], &[])
    }

    fn create_vertex_with(
        &mut self,
        labels: &[&str],
        properties: &[(&str, PropertyValue)],
    ) -> Result<VertexId> {
        self.writable()?;
        let mut label_ids = Vec::with_capacity(labels.len());
        for l in labels {
            label_ids.push(self.names.id(&self.inner.graph, NameKind::Label, l)?);
        }
        label_ids.sort_unstable();
        label_ids.dedup();
        let props = self.property_record(properties)?;
        let cat = self.inner.schema.read();
        // Indexed under the new vertex's lock, like every later change of it: a
        // writer who learns the id early (a guess) waits for the entries to exist.
        let (id, g) = self
            .inner
            .graph
            .push_vertex(Vertex::new(label_ids.into_boxed_slice(), props))?;
        if let Some(v) = &*g {
            for l in v.labels.iter() {
                self.inner.graph.label_index.insert(*l, id);
            }
            if !v.labels.is_empty() {
                self.reindex_vertex(&cat, id, None, Some((&v.labels, &v.props)), |_| true)?;
            }
        }
        drop(g);
        drop(cat);
        self.record(|| Ok(Change::vertex_created(VertexId(id), labels, properties)))?;
        Ok(VertexId(id))
    }

    fn add_label(&mut self, vertex: VertexId, label: &str) -> Result<bool> {
        self.writable()?;
        let l = self.names.id(&self.inner.graph, NameKind::Label, label)?;
        let cat = self.inner.schema.read();
        let mut g = self.write_vertex(vertex)?;
        let Some(v) = g.as_mut() else {
            return Err(vertex_missing(vertex));
        };
        if !v.add_label(l) {
            return Ok(false);
        }
        self.inner.graph.label_index.insert(l, vertex.0);
        let watches =
            |s: &KeySet| matches!(&s.target, Target::Vertices { label, .. } if *label == l);
        self.reindex_vertex(&cat, vertex.0, None, Some((&v.labels, &v.props)), watches)?;
        drop(g);
        drop(cat);
        self.record(|| {
            Ok(Change::LabelAdded {
                vertex,
                label: label.to_string(),
            })
        })?;
        Ok(true)
    }

    fn remove_label(&mut self, vertex: VertexId, label: &str) -> Result<bool> {
        self.writable()?;
        let Some(l) = self.inner.graph.labels.lookup(label) else {
            self.read_vertex(vertex, |_| Ok(()))?;
            return Ok(false);
        };
        let cat = self.inner.schema.read();
        let mut g = self.write_vertex(vertex)?;
        let Some(v) = g.as_mut() else {
            return Err(vertex_missing(vertex));
        };
        if !v.has_label(l) {
            return Ok(false);
        }
        let watches =
            |s: &KeySet| matches!(&s.target, Target::Vertices { label, .. } if *label == l);
        self.reindex_vertex(&cat, vertex.0, Some((&v.labels, &v.props)), None, watches)?;
        v.remove_label(l);
        self.inner.graph.label_index.remove(l, vertex.0);
        drop(g);
        drop(cat);
        self.record(|| {
            Ok(Change::LabelRemoved {
                vertex,
                label: label.to_string(),
            })
        })?;
        Ok(true)
    }

    fn set_vertex_property(
        &mut self,
        vertex: VertexId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>> {
        self.writable()?;
        value.validate()?;
        let k = self.names.id(&self.inner.graph, NameKind::Key, key)?;
        let cat = self.inner.schema.read();
        let mut g = self.write_vertex(vertex)?;
        let Some(v) = g.as_mut() else {
            return Err(vertex_missing(vertex));
        };
        let new_value = (!value.is_null()).then_some(&value);
        let (props, old) = replace_property(&v.props, k, new_value).map_err(props::corrupt)?;
        let props = VertexProps::from_slice(&props);
        let watches = |s: &KeySet| s.watches_vertex(&v.labels, Some(k));
        self.reindex_vertex(
            &cat,
            vertex.0,
            Some((&v.labels, &v.props)),
            Some((&v.labels, &props)),
            watches,
        )?;
        v.props = props;
        drop(g);
        drop(cat);
        let previous = old.clone();
        self.record(|| {
            Ok(Change::VertexPropertySet {
                vertex,
                key: key.to_string(),
                old: previous,
                new: value,
            })
        })?;
        Ok(old)
    }

    fn delete_vertex(&mut self, vertex: VertexId, mode: DeleteMode) -> Result<()> {
        self.writable()?;
        let inner = self.inner;
        loop {
            // The vertex and every neighbour, locked in ascending order; if edges
            // to other vertices arrived between the look and the locks, look again.
            let neighbours = |v: &Vertex| {
                let mut ids: Vec<u64> = v.all_edges().iter().map(|a| a.other).collect();
                ids.push(vertex.0);
                ids.sort_unstable();
                ids.dedup();
                ids
            };
            let wanted = match mode {
                DeleteMode::Plain => vec![vertex.0],
                DeleteMode::Detach => self.read_vertex(vertex, |v| Ok(neighbours(v)))?,
            };
            let guard = inner.schema.read();
            let cat: &Catalog = &guard;
            let mut locked = self.lock_vertices(&wanted)?;
            let me = locked
                .iter()
                .position(|(id, _)| *id == vertex.0)
                .ok_or_else(|| vertex_missing(vertex))?;
            let (edges, now) = match locked[me].1.as_ref() {
                Some(v) => {
                    let mut edges: Vec<u64> = v.all_edges().iter().map(|a| a.edge).collect();
                    edges.sort_unstable();
                    edges.dedup();
                    (edges, neighbours(v))
                }
                None => return Err(vertex_missing(vertex)),
            };
            if !edges.is_empty() && mode == DeleteMode::Plain {
                return Err(Error::new(
                    ErrorKind::HasEdges,
                    format!(
                        "vertex {vertex} has {} edge(s); delete them or use a detach delete",
                        edges.len()
                    ),
                ));
            }
            if now.iter().any(|id| wanted.binary_search(id).is_err()) {
                continue;
            }
            for e in edges {
                self.unlink_edge(cat, e, &mut locked)?;
            }
            self.unlink_vertex(cat, vertex.0, &mut locked[me].1)?;
            return Ok(());
        }
    }

    fn create_edge(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
    ) -> Result<EdgeId> {
        self.create_edge_with(source, target, edge_type, &[])
    }

    fn create_edge_with(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
        properties: &[(&str, PropertyValue)],
    ) -> Result<EdgeId> {
        self.writable()?;
        // Endpoints lie anywhere in the graph: their slots are asked for now, so the
        // misses overlap the name and the properties encoded first.
        for v in [source, target] {
            if let Some(slot) = self.inner.graph.vertex(v.0) {
                engine_api::kit::prefetch(slot);
            }
        }
        let t = self
            .names
            .id(&self.inner.graph, NameKind::EdgeType, edge_type)?;
        let props = self.property_record(properties)?;
        let cat = self.inner.schema.read();
        // Both endpoints locked, lower id first, for the whole step: neither can be
        // deleted until the edge is in both adjacency lists.
        let (low, high) = if source.0 <= target.0 {
            (source, target)
        } else {
            (target, source)
        };
        let mut low_guard = self.write_vertex(low)?;
        let mut high_guard = if high == low {
            None
        } else {
            Some(self.write_vertex(high)?)
        };
        let source_full = if low == source {
            low_guard.as_ref().is_some_and(Vertex::out_full)
        } else {
            high_guard
                .as_ref()
                .is_some_and(|g| g.as_ref().is_some_and(Vertex::out_full))
        };
        if source_full {
            return Err(Error::invalid_input(format!(
                "vertex {source} holds the most outgoing edges a vertex can (2^32 - 1)"
            )));
        }
        let id = self.inner.graph.push_edge(Edge {
            source: source.0,
            target: target.0,
            edge_type: t,
            props,
        })?;
        let out = Adj {
            edge: id,
            other: target.0,
            edge_type: t,
        };
        let inc = Adj {
            edge: id,
            other: source.0,
            edge_type: t,
        };
        let (src, dst) = match high_guard.as_mut() {
            None => (&mut *low_guard, None),
            Some(h) if low == source => (&mut *low_guard, Some(&mut **h)),
            Some(h) => (&mut **h, Some(&mut *low_guard)),
        };
        if let Some(v) = src.as_mut() {
            v.push_out(out);
            match dst {
                Some(d) => {
                    if let Some(w) = d.as_mut() {
                        w.push_inc(inc);
                    }
                }
                None => v.push_inc(inc),
            }
        }
        if cat.edge_sets().next().is_some() {
            let slot = self
                .inner
                .graph
                .edge(id)
                .ok_or_else(|| edge_missing(EdgeId(id)))?;
            let g = slot.read();
            if let Some(e) = &*g {
                self.reindex_edge(&cat, id, t, None, Some(&e.props))?;
            }
        }
        drop((low_guard, high_guard));
        drop(cat);
        if self.observing() {
            let record = EdgeRecord {
                id: EdgeId(id),
                edge_type: self.inner.graph.edge_types.name(t)?,
                source,
                target,
            };
            self.record(|| Ok(Change::edge_created(record, properties)))?;
        }
        Ok(EdgeId(id))
    }

    fn set_edge_property(
        &mut self,
        edge: EdgeId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>> {
        self.writable()?;
        value.validate()?;
        let k = self.names.id(&self.inner.graph, NameKind::Key, key)?;
        let cat = self.inner.schema.read();
        let slot = self
            .inner
            .graph
            .edge(edge.0)
            .ok_or_else(|| edge_missing(edge))?;
        let mut g = slot.write();
        let Some(e) = g.as_mut() else {
            return Err(edge_missing(edge));
        };
        let new_value = (!value.is_null()).then_some(&value);
        let (props, old) = replace_property(&e.props, k, new_value).map_err(props::corrupt)?;
        let props = EdgeProps::from_slice(&props);
        self.reindex_edge(&cat, edge.0, e.edge_type, Some(&e.props), Some(&props))?;
        e.props = props;
        drop(g);
        drop(cat);
        let previous = old.clone();
        self.record(|| {
            Ok(Change::EdgePropertySet {
                edge,
                key: key.to_string(),
                old: previous,
                new: value,
            })
        })?;
        Ok(old)
    }

    fn delete_edge(&mut self, edge: EdgeId) -> Result<()> {
        self.writable()?;
        let (source, target) = self.read_edge(edge, |e| Ok((e.source, e.target)))?;
        let cat = self.inner.schema.read();
        let mut ids = vec![source, target];
        ids.sort_unstable();
        ids.dedup();
        // An endpoint can only be gone if a detach delete removed this edge first.
        let mut locked = self.lock_vertices(&ids).map_err(|_| edge_missing(edge))?;
        let current = self
            .inner
            .graph
            .edge(edge.0)
            .is_some_and(|s| s.read().is_some());
        if !current {
            return Err(edge_missing(edge));
        }
        let cat_ref: &Catalog = &cat;
        self.unlink_edge(cat_ref, edge.0, &mut locked)
    }

    /// Ends the transaction. Its writes stay: this mode has no rollback
    /// (`Capabilities::rollback` is false).
    fn commit(self) -> Result<CommitInfo> {
        self.commit_now()
    }

    fn rollback(self) {}
}

impl AnalyticalTxn<'_> {
    fn timestamp(&self) -> u64 {
        if self.wrote {
            self.inner.clock.next()
        } else {
            self.inner.clock.last()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_the_last_value_of_a_key_and_null_removes_it() {
        let properties = [
            ("a", PropertyValue::Int(1)),
            ("b", PropertyValue::Int(1)),
            ("a", PropertyValue::Int(2)),
            ("b", PropertyValue::Null),
            ("c", PropertyValue::Null),
        ];
        // Key ids: a = 5, b = 3, c = 9.
        let mut keyed = vec![(5, 0), (3, 1), (5, 2), (3, 3), (9, 4)];
        let mut scratch = Vec::new();
        let record: VertexProps = record_of(&mut keyed, &properties, &mut scratch);
        let decoded = decode_properties(&record).expect("decodes");
        assert_eq!(decoded, vec![(5, PropertyValue::Int(2))]);
    }

    #[test]
    fn the_name_cache_answers_as_the_tables_do_for_every_name() {
        let graph = crate::graph::Graph::new();
        let mut cache = NameCache::default();
        // Names at and past the inline length, more names than the cache holds, and
        // one name in all three dictionaries, each asked for twice in turn: every
        // answer is its dictionary's.
        let names: Vec<String> = (0..40)
            .map(|i| "n".repeat(NameCache::INLINE - 2 + i % 4) + &i.to_string())
            .collect();
        let kinds = [NameKind::Label, NameKind::EdgeType, NameKind::Key];
        // Each dictionary gets its names in another order, so their ids differ.
        for (k, kind) in kinds.into_iter().enumerate() {
            for name in names.iter().cycle().skip(k * 7).take(names.len()) {
                cache.id(&graph, kind, name).expect("interns");
            }
        }
        for _ in 0..2 {
            for kind in kinds {
                let table = match kind {
                    NameKind::Label => &graph.labels,
                    NameKind::EdgeType => &graph.edge_types,
                    NameKind::Key => &graph.keys,
                };
                for name in &names {
                    let got = cache.id(&graph, kind, name).expect("interns");
                    assert_eq!(got, table.intern(name).expect("interns"), "{kind:?} {name}");
                    assert_eq!(cache.id(&graph, kind, name).expect("interns"), got);
                }
            }
        }
        assert!(cache.entries.len() <= NameCache::SIZE);
        assert!(
            cache
                .entries
                .iter()
                .all(|c| c.name.len() <= NameCache::INLINE && !c.name.spilled()),
            "only names kept inline are cached"
        );
    }
}
