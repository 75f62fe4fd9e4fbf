//! Writing a snapshot from a consistent MVCC read view while writers go on.

use std::sync::atomic::{AtomicU64, Ordering};

use std::ops::Range;

use durability::{BlockEncoder, ImageEdge, ImageSource, ImageVertex, SchemaOp, SnapshotSink};
use engine_api::{EdgeId, IsolationLevel, Result, SnapshotInfo, TxnOptions, VertexId};

use crate::inner::Inner;
use crate::txn::InMemoryTxn;

/// A snapshot-isolated read transaction and the schema as of its start, taken
/// together under the commit order: a schema change runs under it too, so the two
/// agree (with the schema read later, a snapshot could hold a change that came
/// after its commit timestamp).
fn begin_image(inner: &Inner) -> Result<(InMemoryTxn<'_>, Vec<SchemaOp>)> {
    let _order = inner.clock.line.order.lock();
    let txn = InMemoryTxn::begin(
        inner,
        TxnOptions::new()
            .isolation(IsolationLevel::SnapshotIsolation)
            .read_only(),
    )?;
    Ok((txn, inner.schema.schema_definitions()))
}

/// Hands the state `txn` sees (and `schema`, as of its start) to `sink` in
/// snapshot order.
fn write_image(
    inner: &Inner,
    txn: &InMemoryTxn<'_>,
    schema: &[SchemaOp],
    sink: &mut dyn SnapshotSink,
) -> Result<()> {
    let (vertex_end, edge_end) = write_preamble(inner, schema, sink)?;
    // The sink may write or import: it gets copies, taken under each object's
    // lock, and runs after the lock is released.
    let (mut labels, mut copied) = (Vec::new(), Vec::new());
    let (mut scratch_labels, mut blob) = (Vec::new(), Vec::new());
    for id in 0..vertex_end {
        let (l, b) = (&mut labels, &mut copied);
        let degree = txn.snapshot_vertex_with(
            VertexId(id),
            &mut scratch_labels,
            &mut blob,
            |ls, props, degree| {
                l.clear();
                l.extend_from_slice(ls);
                b.clear();
                b.extend_from_slice(props);
                degree
            },
        )?;
        if let Some(degree) = degree {
            sink.vertex(ImageVertex::new(id, &labels, &copied).with_degree(degree))?;
        }
    }
    for id in 0..edge_end {
        let b = &mut copied;
        let found = txn.snapshot_edge_with(EdgeId(id), &mut blob, |t, source, target, props| {
            b.clear();
            b.extend_from_slice(props);
            (t, source, target)
        })?;
        if let Some((t, source, target)) = found {
            sink.edge(ImageEdge::new(id, t, source.0, target.0, &copied))?;
        }
    }
    Ok(())
}

/// Hands dictionaries, schema and id counters to `sink`; returns the vertex and
/// edge id bounds the image covers.
fn write_preamble(
    inner: &Inner,
    schema: &[SchemaOp],
    sink: &mut dyn SnapshotSink,
) -> Result<(u64, u64)> {
    // Every name an object visible to this view uses was interned before the
    // object was committed, so the dictionaries read now cover them.
    // The counters cover every id handed out so far and every id reservation
    // made before this snapshot began (those may sit in WAL segments that
    // retention deletes once this snapshot exists).
    let bound = |next: &engine_api::kit::IdBlocks, reserved: &AtomicU64| {
        let n = next.end();
        match reserved.load(Ordering::Acquire) {
            u64::MAX => n,
            r => n.max(r),
        }
    };
    let counters = (
        bound(&inner.graph.next_vertex, &inner.clock.reserved_vertices),
        bound(&inner.graph.next_edge, &inner.clock.reserved_edges),
    );
    durability::snapshot::export_preamble(sink, inner.graph.names(), schema, counters)?;
    // Vertices first, so a reader can check every edge's endpoints; each pass
    // walks its slot array in id order (sequential memory), copying each object
    // under its lock into reused buffers and writing after the lock is released.
    // An edge's own versions decide whether this view sees it, and they change
    // in the same transactions as its endpoints' adjacency.
    Ok((inner.graph.next_vertex.end(), inner.graph.next_edge.end()))
}

/// Hands the newest published state to `sink` (see
/// `ImageEngine::export` of [`crate::InMemoryEngine`]); returns its commit timestamp.
pub(crate) fn export(inner: &Inner, sink: &mut dyn SnapshotSink) -> Result<u64> {
    let (txn, schema) = begin_image(inner)?;
    let ts = txn.start_ts();
    write_image(inner, &txn, &schema, sink)?;
    Ok(ts)
}

/// Writes a snapshot of the newest published state. One runs at a time: a second
/// request waits for the running one and then writes its own.
pub(crate) fn create(inner: &Inner) -> Result<SnapshotInfo> {
    let d = inner.durable()?;
    let _one = d.one_snapshot();
    let started = std::time::Instant::now();
    let (txn, schema) = begin_image(inner)?;
    let view = View {
        inner,
        txn: &txn,
        schema,
    };
    let info = d.write_snapshot(txn.start_ts(), &view)?;
    drop(view);
    drop(txn);
    if let Some(wal) = &inner.clock.wal {
        wal.rotate();
    }
    d.snapshot_written(&info, started)?;
    Ok(info)
}

/// What a snapshot writes: the state one read transaction sees.
struct View<'a, 't> {
    inner: &'a Inner,
    txn: &'a InMemoryTxn<'t>,
    /// The schema as of the transaction's start (see [`begin_image`]).
    schema: Vec<SchemaOp>,
}

impl ImageSource for View<'_, '_> {
    fn preamble(&self, sink: &mut dyn SnapshotSink) -> Result<(u64, u64)> {
        write_preamble(self.inner, &self.schema, sink)
    }

    fn vertices(&self, ids: Range<u64>, enc: &mut BlockEncoder) -> Result<()> {
        // Encoded under each object's read lock, with no copy in between (the
        // encoder only appends to memory).
        let (mut labels, mut blob) = (Vec::new(), Vec::new());
        for id in ids {
            self.txn
                .snapshot_vertex_with(VertexId(id), &mut labels, &mut blob, |l, p, d| {
                    enc.vertex(id, l, p, d);
                })?;
        }
        Ok(())
    }

    fn edges(&self, ids: Range<u64>, enc: &mut BlockEncoder) -> Result<()> {
        let mut blob = Vec::new();
        for id in ids {
            self.txn
                .snapshot_edge_with(EdgeId(id), &mut blob, |t, source, target, p| {
                    enc.edge(id, t, source.0, target.0, p);
                })?;
        }
        Ok(())
    }
}
