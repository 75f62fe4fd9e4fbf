//! The graph state: vertices and edges in append-only arrays indexed by id, each
//! object behind its own lock, holding its current (and only) state; the name
//! dictionaries and the label index. A leaf: transactions, schema operations,
//! recovery and snapshots take a `&Graph` as an argument.
//!
//! Ids come from a counter per kind, so they are dense and never reused; a deleted
//! object leaves an empty slot. The arrays (engine-api's `SlotArray`) grow in chunks
//! that never move, so finding an object takes no lock, an import never copies what
//! it already wrote, and at most one chunk is allocated ahead (a doubling array
//! measured up to twice the slots' memory on the report's graph).

use engine_api::kit::{IdBlocks, NameTable, SLOT_CAPACITY, ShardedCounter, SlotArray};
use engine_api::{Error, Result};
use parking_lot::RwLock;
use smallvec::SmallVec;

use crate::index::LabelIndex;

/// One adjacency entry: the edge, the vertex at its other end, and its type (kept here
/// so an expansion filtered by type never visits the edge). Packed to 20 bytes (24
/// with the padding `u64` alignment asks for): two entries per edge, so this is 8
/// bytes per edge. Fields are read by value only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub(crate) struct Adj {
    pub(crate) edge: u64,
    pub(crate) other: u64,
    pub(crate) edge_type: u32,
}

/// A vertex's property record (the codec's property-record form), inside the vertex
/// up to 32 bytes: a point read then finds the value where it found the vertex, with
/// no second cache miss, and a small record costs no allocation of its own (three
/// properties of the report's vertices take 30 bytes). Longer records are boxed.
pub(crate) type VertexProps = SmallVec<[u8; 32]>;

/// An edge's property record, inside the edge up to 16 bytes (an edge's few
/// properties).
pub(crate) type EdgeProps = SmallVec<[u8; 16]>;

/// A vertex: its properties, its labels (ascending ids), and its edges in one list:
/// the outgoing ones first (`out_len` of them), then the incoming ones. One list
/// instead of two saves a vector header (16 bytes net) and an allocation per vertex.
/// The record comes first, beside the slot's lock word, so that a point read mostly
/// stays in one cache line.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct Vertex {
    pub(crate) props: VertexProps,
    pub(crate) labels: Box<[u32]>,
    adj: Vec<Adj>,
    out_len: u32,
}

/// Grows an adjacency list by a quarter (at least two entries) when full instead of
/// doubling: most vertices have a handful of edges, and doubling left a third of the
/// lists' memory unused on the report's graph; growing by one entry reallocated on
/// nearly every edge of an import. Grown into a new allocation of the writing thread
/// (see [`engine_api::kit::make_room`]).
fn make_room(list: &mut Vec<Adj>) {
    engine_api::kit::make_room(list, (list.len() / 4).max(2));
}

impl Vertex {
    /// A vertex with these labels (sorted, distinct) and properties, no edges.
    pub(crate) fn new(labels: Box<[u32]>, props: VertexProps) -> Self {
        Vertex {
            labels,
            props,
            adj: Vec::new(),
            out_len: 0,
        }
    }

    /// Reserves room for `n` more adjacency entries (a loader that knows the degree).
    pub(crate) fn reserve_adjacency(&mut self, n: usize) {
        self.adj.reserve_exact(n);
    }

    /// Outgoing plus incoming entries.
    pub(crate) fn adj_len(&self) -> usize {
        self.adj.len()
    }

    #[cfg(test)]
    pub(crate) fn adj_capacity(&self) -> usize {
        self.adj.capacity()
    }

    pub(crate) fn out(&self) -> &[Adj] {
        &self.adj[..self.out_len as usize]
    }

    pub(crate) fn inc(&self) -> &[Adj] {
        &self.adj[self.out_len as usize..]
    }

    /// Every edge, outgoing then incoming (a self-loop twice).
    pub(crate) fn all_edges(&self) -> &[Adj] {
        &self.adj
    }

    /// True once the vertex holds as many outgoing edges as its count can say
    /// (2^32 - 1); a writer checks this before creating an edge.
    pub(crate) fn out_full(&self) -> bool {
        self.out_len == u32::MAX
    }

    /// Adds an outgoing edge (the caller checked [`Vertex::out_full`]).
    pub(crate) fn push_out(&mut self, a: Adj) {
        make_room(&mut self.adj);
        self.adj.insert(self.out_len as usize, a);
        self.out_len = self.out_len.saturating_add(1);
    }

    pub(crate) fn push_inc(&mut self, a: Adj) {
        make_room(&mut self.adj);
        self.adj.push(a);
    }

    /// Removes the outgoing entry of `edge`, if any.
    pub(crate) fn remove_out(&mut self, edge: u64) {
        if let Some(at) = self.out().iter().position(|a| a.edge == edge) {
            self.adj.remove(at);
            self.out_len -= 1;
        }
    }

    /// Removes the incoming entry of `edge`, if any.
    pub(crate) fn remove_inc(&mut self, edge: u64) {
        let start = self.out_len as usize;
        if let Some(at) = self.inc().iter().position(|a| a.edge == edge) {
            self.adj.remove(start + at);
        }
    }

    pub(crate) fn has_label(&self, label: u32) -> bool {
        self.labels.binary_search(&label).is_ok()
    }

    /// Adds `label`; false if present.
    pub(crate) fn add_label(&mut self, label: u32) -> bool {
        match self.labels.binary_search(&label) {
            Ok(_) => false,
            Err(at) => {
                let mut v = std::mem::take(&mut self.labels).into_vec();
                v.insert(at, label);
                self.labels = v.into_boxed_slice();
                true
            }
        }
    }

    /// Removes `label`; false if absent.
    pub(crate) fn remove_label(&mut self, label: u32) -> bool {
        match self.labels.binary_search(&label) {
            Ok(at) => {
                let mut v = std::mem::take(&mut self.labels).into_vec();
                v.remove(at);
                self.labels = v.into_boxed_slice();
                true
            }
            Err(_) => false,
        }
    }
}

/// An edge: type, endpoints and properties.
#[derive(Debug)]
pub(crate) struct Edge {
    pub(crate) source: u64,
    pub(crate) target: u64,
    pub(crate) edge_type: u32,
    pub(crate) props: EdgeProps,
}

pub(crate) type VertexSlot = RwLock<Option<Vertex>>;
pub(crate) type VertexGuard<'a> = parking_lot::RwLockWriteGuard<'a, Option<Vertex>>;
pub(crate) type EdgeSlot = RwLock<Option<Edge>>;

/// Both arrays, the id counters, the live counts, the names and the label index.
#[derive(Debug)]
pub(crate) struct Graph {
    vertices: SlotArray<VertexSlot>,
    edges: SlotArray<EdgeSlot>,
    /// Ids by blocks per thread, and counts by shards: two writer threads create
    /// objects without sharing a cache line (see `engine_api::kit::IdBlocks`).
    next_vertex: IdBlocks,
    next_edge: IdBlocks,
    live_vertices: ShardedCounter,
    live_edges: ShardedCounter,
    pub(crate) labels: NameTable,
    pub(crate) edge_types: NameTable,
    pub(crate) keys: NameTable,
    pub(crate) label_index: LabelIndex,
}

fn full(what: &str) -> Error {
    Error::invalid_input(format!(
        "no {what} id left: the store holds at most {} per kind",
        engine_api::kit::SLOT_CAPACITY
    ))
}

impl Graph {
    pub(crate) fn new() -> Self {
        Graph {
            vertices: SlotArray::new(),
            edges: SlotArray::new(),
            next_vertex: IdBlocks::new(0),
            next_edge: IdBlocks::new(0),
            live_vertices: ShardedCounter::default(),
            live_edges: ShardedCounter::default(),
            labels: NameTable::new("label"),
            edge_types: NameTable::new("edge type"),
            keys: NameTable::new("property key"),
            label_index: LabelIndex::default(),
        }
    }

    /// The name dictionaries: labels, edge types, property keys (image order).
    pub(crate) fn names(&self) -> [&NameTable; 3] {
        [&self.labels, &self.edge_types, &self.keys]
    }

    /// The slot of vertex `id` (empty while deleted, or while its creator is still
    /// filling it in).
    pub(crate) fn vertex(&self, id: u64) -> Option<&VertexSlot> {
        self.vertices.get(id)
    }

    pub(crate) fn edge(&self, id: u64) -> Option<&EdgeSlot> {
        self.edges.get(id)
    }

    /// Stores a new vertex under a fresh id; returns the id and the vertex, still
    /// locked, so the caller indexes it before anyone else can change it.
    pub(crate) fn push_vertex(&self, v: Vertex) -> Result<(u64, VertexGuard<'_>)> {
        let id = self
            .next_vertex
            .next_id(SLOT_CAPACITY)
            .ok_or_else(|| full("vertex"))?;
        self.place_vertex(id, v)
    }

    fn place_vertex(&self, id: u64, v: Vertex) -> Result<(u64, VertexGuard<'_>)> {
        let slot = self
            .vertices
            .get_or_alloc(id)
            .ok_or_else(|| full("vertex"))?;
        let mut g = slot.write();
        *g = Some(v);
        self.live_vertices.add(1);
        Ok((id, g))
    }

    /// Stores a new edge under a fresh id. The caller holds both endpoints' locks
    /// and links the edge into their adjacency before releasing them.
    pub(crate) fn push_edge(&self, e: Edge) -> Result<u64> {
        let id = self
            .next_edge
            .next_id(SLOT_CAPACITY)
            .ok_or_else(|| full("edge"))?;
        self.place_edge(id, e)
    }

    fn place_edge(&self, id: u64, e: Edge) -> Result<u64> {
        let slot = self.edges.get_or_alloc(id).ok_or_else(|| full("edge"))?;
        *slot.write() = Some(e);
        self.live_edges.add(1);
        Ok(id)
    }

    /// One id past the highest vertex id handed out.
    pub(crate) fn vertex_end(&self) -> u64 {
        self.next_vertex.end()
    }

    /// One id past the highest edge id handed out.
    pub(crate) fn edge_end(&self) -> u64 {
        self.next_edge.end()
    }

    pub(crate) fn vertex_deleted(&self) {
        self.live_vertices.add(-1);
    }

    pub(crate) fn edge_deleted(&self) {
        self.live_edges.add(-1);
    }

    pub(crate) fn live_vertices(&self) -> u64 {
        self.live_vertices.get().max(0) as u64
    }

    pub(crate) fn live_edges(&self) -> u64 {
        self.live_edges.get().max(0) as u64
    }

    /// Places a loaded vertex at `id` (recovery, single-threaded, ascending ids).
    pub(crate) fn load_vertex(&self, id: u64, v: Vertex) -> Result<()> {
        self.pad_vertices(id)?;
        self.next_vertex.advance_to(id.saturating_add(1));
        self.place_vertex(id, v).map(drop)
    }

    /// Places a loaded edge at `id` (recovery, single-threaded, ascending ids).
    pub(crate) fn load_edge(&self, id: u64, e: Edge) -> Result<()> {
        if id < self.edge_end() {
            return Err(Error::corrupt(format!(
                "edge {id} appears twice or out of order"
            )));
        }
        self.next_edge.advance_to(id.saturating_add(1));
        self.place_edge(id, e).map(|_| ())
    }

    /// Moves the vertex counter up to `end` (recovery: ids below a snapshot's
    /// counter are never handed out again).
    pub(crate) fn pad_vertices(&self, end: u64) -> Result<()> {
        if end < self.vertex_end() {
            return Err(Error::corrupt(format!(
                "vertex {end} appears twice or out of order"
            )));
        }
        self.next_vertex.advance_to(end);
        Ok(())
    }

    /// Moves the edge counter up to `end`.
    pub(crate) fn pad_edges(&self, end: u64) {
        self.next_edge.advance_to(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_sorted_and_unique() {
        let mut v = Vertex::default();
        assert!(v.add_label(5));
        assert!(v.add_label(1));
        assert!(!v.add_label(5));
        assert!(v.add_label(3));
        assert_eq!(&*v.labels, &[1, 3, 5]);
        assert!(v.remove_label(3));
        assert!(!v.remove_label(3));
        assert!(v.has_label(5) && !v.has_label(3));
    }

    #[test]
    fn one_list_keeps_outgoing_before_incoming() {
        let adj = |edge| Adj {
            edge,
            other: 9,
            edge_type: 0,
        };
        let mut v = Vertex::default();
        v.push_inc(adj(1));
        v.push_out(adj(2));
        v.push_inc(adj(3));
        v.push_out(adj(4));
        let ids = |s: &[Adj]| s.iter().map(|a| a.edge).collect::<Vec<_>>();
        assert_eq!(ids(v.out()), vec![2, 4]);
        assert_eq!(ids(v.inc()), vec![1, 3]);
        v.remove_out(2);
        v.remove_inc(3);
        v.remove_out(3); // not outgoing: nothing happens
        assert_eq!(ids(v.out()), vec![4]);
        assert_eq!(ids(v.inc()), vec![1]);
        assert!(!v.out_full());
    }

    #[test]
    fn loading_pads_gaps_and_refuses_going_back() {
        let s = Graph::new();
        s.load_vertex(3, Vertex::default()).expect("load");
        assert_eq!(s.vertex_end(), 4);
        assert!(s.vertex(1).is_some_and(|slot| slot.read().is_none()));
        assert!(s.vertex(3).is_some_and(|slot| slot.read().is_some()));
        assert!(s.load_vertex(2, Vertex::default()).is_err());
        assert_eq!(s.live_vertices(), 1);
    }
}
