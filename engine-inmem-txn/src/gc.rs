//! Garbage collection: dropping deltas no running transaction can see, freeing
//! deleted objects, and removing label-index entries nobody needs.

use engine_api::kit::prefetch;

use crate::graph::{Graph, Versioned, settle_edge};
use crate::index::{chain, remove_stale_edge_keys, remove_stale_vertex_keys};
use crate::mvcc::{Delta, EdgeState, TXN_ID_BASE, Undo, VertexState};
use crate::running::{GcEntry, Object};
use crate::schema::Schema;

/// What one collection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Committed transactions whose old versions were dropped.
    pub transactions: usize,
    /// Transactions still waiting because a running transaction may need their old
    /// versions.
    pub pending: usize,
}

/// A commit that wrote at least this many objects hands its collection to the
/// background collector (when the engine runs one) instead of collecting on the
/// committing thread: a bulk load then goes on with its next batch while the
/// collector, on another core, cuts the last one's versions (revisiting every object
/// written is most of a collection's cost). Smaller commits collect inline, where the
/// objects they wrote are still in the cache.
pub(crate) const HANDOFF_OBJECTS: usize = 4096;

/// Batches handed over and not yet collected, at most: a committer that finds the
/// collector this far behind collects its own commit, so the versions waiting are
/// bounded by about two large commits' worth.
const HANDOFF_QUEUED: usize = 2;

/// Large commits' collection on its way to the background collector thread.
#[derive(Default)]
pub(crate) struct Handoff {
    state: parking_lot::Mutex<HandoffState>,
    changed: parking_lot::Condvar,
}

#[derive(Default)]
struct HandoffState {
    batches: std::collections::VecDeque<(Vec<GcEntry>, u64)>,
    /// A collector thread takes batches.
    open: bool,
    /// Taken by the collector and not yet collected.
    busy: usize,
}

/// What the collector thread is to do next.
pub(crate) enum Next {
    /// Collect these commits' objects at this bound, then call [`Handoff::done`].
    Batch(Vec<GcEntry>, u64),
    /// Nothing handed over within the interval: the periodic collection.
    Tick,
    /// The engine is closing.
    Closed,
}

impl Handoff {
    /// Queues `ready` (collectable below `oldest`) for the collector thread, or gives
    /// it back when there is none or it is behind.
    pub(crate) fn offer(&self, ready: Vec<GcEntry>, oldest: u64) -> Option<Vec<GcEntry>> {
        let mut s = self.state.lock();
        if !s.open || s.batches.len() + s.busy >= HANDOFF_QUEUED {
            return Some(ready);
        }
        s.batches.push_back((ready, oldest));
        drop(s);
        self.changed.notify_all();
        None
    }

    /// Waits until everything handed over is collected (a collection on demand
    /// reports all of it). Never called from the collector thread.
    pub(crate) fn wait_idle(&self) {
        let mut s = self.state.lock();
        while !s.batches.is_empty() || s.busy > 0 {
            self.changed.wait(&mut s);
        }
    }

    /// The collector thread's wait for its next task.
    pub(crate) fn next(&self, interval: std::time::Duration) -> Next {
        let mut s = self.state.lock();
        let deadline = std::time::Instant::now() + interval;
        loop {
            if !s.open {
                return Next::Closed;
            }
            if let Some((ready, oldest)) = s.batches.pop_front() {
                s.busy += 1;
                return Next::Batch(ready, oldest);
            }
            if self.changed.wait_until(&mut s, deadline).timed_out() {
                return Next::Tick;
            }
        }
    }

    /// The collector thread finished a batch (or gave it up).
    pub(crate) fn done(&self) {
        let mut s = self.state.lock();
        s.busy = s.busy.saturating_sub(1);
        drop(s);
        self.changed.notify_all();
    }

    /// A collector thread takes batches from now on.
    pub(crate) fn open(&self) {
        self.state.lock().open = true;
    }

    /// The collector thread stops: it takes no more, and what was queued is let go
    /// (only object ids: the versions stay on their chains, freed with the graph or
    /// cut by a later collection).
    pub(crate) fn close(&self) {
        let mut s = self.state.lock();
        s.open = false;
        s.batches.clear();
        s.busy = 0;
        drop(s);
        self.changed.notify_all();
    }
}

/// How many objects ahead of the one it cuts a collection asks for a slot.
const PREFETCH_AHEAD: usize = 8;

/// Drops the versions older than `oldest` of every object `ready`'s commits wrote.
/// Collectors may run at once: each takes its own entries off the queue, and an
/// object's chain is cut under its lock.
pub(crate) fn collect_entries(graph: &Graph, schema: &Schema, ready: &[GcEntry], oldest: u64) {
    for entry in ready {
        for (i, object) in entry.objects.iter().enumerate() {
            // The objects of a large commit lie anywhere in the graph: their slots
            // are asked for a few objects ahead, so the misses overlap.
            match entry.objects.get(i + PREFETCH_AHEAD) {
                Some(Object::Vertex(id)) => graph.vertices.get(*id).map(prefetch),
                Some(Object::Edge(id)) => graph.edges.get(*id).map(prefetch),
                None => None,
            };
            match *object {
                Object::Vertex(id) => truncate_vertex(graph, schema, id, oldest),
                Object::Edge(id) => truncate_edge(graph, schema, id, oldest),
            }
        }
    }
}

/// Cuts object `id`'s chain at `oldest` under its lock, and hands the slot and the
/// cut undos to `settle` when something was cut.
fn truncate<S: Versioned>(
    graph: &Graph,
    id: u64,
    oldest: u64,
    settle: impl FnOnce(&mut Option<S>, &[Undo]),
) {
    let Some(slot) = S::slots(graph).get(id) else {
        return;
    };
    let mut guard = slot.write();
    let Some(state) = guard.as_mut() else {
        return;
    };
    let cut = truncate_chain(state.delta_mut(), oldest);
    if !cut.is_empty() {
        settle(&mut guard, &cut);
    }
}

fn truncate_vertex(graph: &Graph, schema: &Schema, id: u64, oldest: u64) {
    truncate(graph, id, oldest, |guard: &mut Option<VertexState>, cut| {
        if let Some(state) = guard.as_ref() {
            drop_stale_vertex_keys(schema, id, state, cut);
        }
        let labels: Vec<u32> = cut.iter().filter_map(Undo::label).collect();
        graph.settle_vertex(id, guard, &labels);
    });
}

fn truncate_edge(graph: &Graph, schema: &Schema, id: u64, oldest: u64) {
    truncate(graph, id, oldest, |guard: &mut Option<EdgeState>, cut| {
        if let Some(state) = guard.as_ref() {
            drop_stale_edge_keys(schema, id, state, cut);
        }
        settle_edge(guard);
    });
}

/// Removes key-set entries only the versions before the `cut` undos had (the
/// versions after the vertex's remaining chain). Entries are a superset, so a
/// failure to decode (never expected of our own records) only leaves extra entries.
fn drop_stale_vertex_keys(schema: &Schema, id: u64, state: &VertexState, cut: &[Undo]) {
    let catalog = schema.catalog.load();
    // Only a cut undo that changes a key (a property or label a set uses) or brings
    // back a deleted version can leave a key no kept version has. Committed
    // creations, the bulk of an import, cut only their `Uncreate`.
    let relevant = cut.iter().any(|u| match u {
        Undo::SetProperty(k, _) => catalog.vertex_sets.iter().any(|s| s.covers_key(*k)),
        Undo::AddLabel(l) | Undo::RemoveLabel(l) => {
            catalog.vertex_sets.iter().any(|s| s.label == *l)
        }
        Undo::Undelete => true,
        _ => false,
    });
    if !relevant {
        return;
    }
    let kept = chain(&state.delta).count();
    let undos = chain(&state.delta).chain(cut.iter());
    if let Err(e) = remove_stale_vertex_keys(&catalog.vertex_sets, id, state, undos, |n| n > kept) {
        tracing::warn!(vertex = id, error = %e, "stale index entries kept");
    }
}

fn drop_stale_edge_keys(schema: &Schema, id: u64, state: &EdgeState, cut: &[Undo]) {
    let catalog = schema.catalog.load();
    let relevant = cut.iter().any(|u| match u {
        Undo::SetProperty(k, _) => catalog.edge_sets.iter().any(|s| s.key == Some(*k)),
        Undo::Undelete => true,
        _ => false,
    });
    if !relevant {
        return;
    }
    let kept = chain(&state.delta).count();
    let undos = chain(&state.delta).chain(cut.iter());
    if let Err(e) = remove_stale_edge_keys(&catalog.edge_sets, id, state, undos, |n| n > kept) {
        tracing::warn!(edge = id, error = %e, "stale index entries kept");
    }
}

/// The undos of the deltas one truncation cut.
type Cut = smallvec::SmallVec<[Undo; 2]>;

/// Cuts the chain at the first delta committed at or before `oldest` (every running
/// transaction sees it and everything older) and returns the cut deltas' undos, in
/// chain order (most objects have one or two: no allocation for those).
fn truncate_chain(head: &mut Option<Box<Delta>>, oldest: u64) -> Cut {
    let mut keep = 0;
    let mut cur = head.as_deref();
    loop {
        match cur {
            None => return Cut::new(),
            Some(d) => {
                let ts = d.txn.timestamp();
                if ts < TXN_ID_BASE && ts <= oldest {
                    break;
                }
                keep += 1;
                cur = d.next.as_deref();
            }
        }
    }
    let mut link = head;
    for _ in 0..keep {
        link = match link {
            Some(d) => &mut d.next,
            None => return Cut::new(),
        };
    }
    let mut cut = Cut::new();
    let mut rest = link.take();
    while let Some(mut d) = rest {
        rest = d.next.take();
        cut.push(crate::mvcc::spend(d));
    }
    cut
}
