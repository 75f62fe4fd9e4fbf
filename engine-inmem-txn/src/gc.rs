//! Garbage collection: dropping deltas no running transaction can see, freeing
//! deleted objects, and removing label-index entries nobody needs.

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

/// Drops the versions older than `oldest` of every object `ready`'s commits wrote.
/// Collectors may run at once: each takes its own entries off the queue, and an
/// object's chain is cut under its lock.
pub(crate) fn collect_entries(graph: &Graph, schema: &Schema, ready: &[GcEntry], oldest: u64) {
    for entry in ready {
        for object in &entry.objects {
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
