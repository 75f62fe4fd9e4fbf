//! The graph state: every vertex and edge slot with its delta chain, the id
//! counters, the name dictionaries and the label index. A leaf: transactions,
//! collection, schema operations, constraint checks, recovery and snapshots take a
//! `&Graph` as an argument, and nothing here knows about commits or schema.

use std::sync::atomic::AtomicI64;

use engine_api::kit::{IdBlocks, NameTable, SlotArray};
use parking_lot::RwLock;

use engine_api::Error;

use crate::index::LabelIndex;
use crate::mvcc::{Delta, EdgeState, VertexState};
use crate::running::Object;

pub(crate) type VertexSlot = RwLock<Option<VertexState>>;
pub(crate) type EdgeSlot = RwLock<Option<EdgeState>>;

/// The vertices, edges and names of one engine.
pub(crate) struct Graph {
    pub(crate) vertices: SlotArray<VertexSlot>,
    pub(crate) edges: SlotArray<EdgeSlot>,
    /// The id counters: a writing thread takes its ids a block at a time (see
    /// `engine_api::kit::IdBlocks`), so two threads' new objects share no cache line.
    pub(crate) next_vertex: IdBlocks,
    pub(crate) next_edge: IdBlocks,
    pub(crate) labels: NameTable,
    pub(crate) edge_types: NameTable,
    pub(crate) keys: NameTable,
    /// Per label id: every vertex that has the label in some version still visible to
    /// someone (a superset; scans check visibility).
    pub(crate) label_index: LabelIndex,
    /// The vertices and edges recovery loaded and replayed (commits count theirs in
    /// the commit clock).
    pub(crate) loaded_vertices: AtomicI64,
    pub(crate) loaded_edges: AtomicI64,
}

impl Graph {
    pub(crate) fn new() -> Self {
        Graph {
            vertices: SlotArray::new(),
            edges: SlotArray::new(),
            next_vertex: IdBlocks::new(0),
            next_edge: IdBlocks::new(0),
            labels: NameTable::new("label"),
            edge_types: NameTable::new("edge type"),
            keys: NameTable::new("property key"),
            label_index: LabelIndex::default(),
            loaded_vertices: AtomicI64::new(0),
            loaded_edges: AtomicI64::new(0),
        }
    }

    /// The name dictionaries: labels, edge types, property keys (image order).
    pub(crate) fn names(&self) -> [&NameTable; 3] {
        [&self.labels, &self.edge_types, &self.keys]
    }

    /// After deltas were removed from a vertex (collection or rollback): frees it if it
    /// is deleted with no versions left, and drops label-index entries for `labels`
    /// that no version of the vertex has any more. Runs under the vertex's lock, so no
    /// writer can add the label back in between.
    pub(crate) fn settle_vertex(&self, id: u64, guard: &mut Option<VertexState>, labels: &[u32]) {
        let Some(state) = guard.as_ref() else {
            return;
        };
        if state.deleted && state.delta.is_none() {
            for l in state.labels.iter().chain(labels) {
                self.label_index.remove(*l, id);
            }
            *guard = None;
            return;
        }
        for l in labels {
            if !state.labels.contains(l) && !chain_mentions_label(&state.delta, *l) {
                self.label_index.remove(*l, id);
            }
        }
    }
}

/// Frees an edge that is deleted with no versions left.
pub(crate) fn settle_edge(guard: &mut Option<EdgeState>) {
    if guard
        .as_ref()
        .is_some_and(|e| e.deleted && e.delta.is_none())
    {
        *guard = None;
    }
}

/// Whether a delta of the chain undoes a change of `label`.
fn chain_mentions_label(head: &Option<Box<Delta>>, label: u32) -> bool {
    let mut cur = head.as_deref();
    while let Some(d) = cur {
        if d.undo.label() == Some(label) {
            return true;
        }
        cur = d.next.as_deref();
    }
    false
}

/// What a vertex and an edge share: a newest state that may be deleted, its property
/// record, and the chain of undo deltas before it; so reads and writes of either go
/// through one path.
pub(crate) trait Versioned: Sized {
    /// How a conflict names it.
    const WHAT: &'static str;
    /// Its slots in the graph.
    fn slots(graph: &Graph) -> &SlotArray<RwLock<Option<Self>>>;
    /// What a transaction records having written.
    fn object(id: u64) -> Object;
    /// `NotFound` for object `id`.
    fn not_found(id: u64) -> Error;
    fn deleted(&self) -> bool;
    fn props(&self) -> &[u8];
    fn delta(&self) -> &Option<Box<Delta>>;
    fn delta_mut(&mut self) -> &mut Option<Box<Delta>>;
}

/// `Versioned` for a state type whose fields are named alike: its slots in
/// `Graph::$slots`, recorded as `Object::$object`, named `$what` in errors.
macro_rules! versioned {
    ($state:ty, $slots:ident, $object:ident, $what:literal) => {
        impl Versioned for $state {
            const WHAT: &'static str = concat!("the ", $what);

            fn slots(graph: &Graph) -> &SlotArray<RwLock<Option<Self>>> {
                &graph.$slots
            }

            fn object(id: u64) -> Object {
                Object::$object(id)
            }

            fn not_found(id: u64) -> Error {
                Error::not_found(format!(concat!($what, " {} does not exist"), id))
            }

            fn deleted(&self) -> bool {
                self.deleted
            }

            fn props(&self) -> &[u8] {
                &self.props
            }

            fn delta(&self) -> &Option<Box<Delta>> {
                &self.delta
            }

            fn delta_mut(&mut self) -> &mut Option<Box<Delta>> {
                &mut self.delta
            }
        }
    };
}

versioned!(VertexState, vertices, Vertex, "vertex");
versioned!(EdgeState, edges, Edge, "edge");
