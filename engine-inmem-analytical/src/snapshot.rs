//! Writing a snapshot: a pause holds new transactions back and waits for the
//! running ones, so the graph stands still while it is written without any lock.

use std::ops::Range;

use durability::{BlockEncoder, ImageEdge, ImageSource, ImageVertex, SchemaOp, SnapshotSink};
use engine_api::{Result, SnapshotInfo};

use crate::inner::Inner;

/// A vertex's (outgoing, incoming) degree, the snapshot's loading hint.
fn degree(v: &crate::graph::Vertex) -> (u32, u32) {
    let out = v.out().len();
    (out as u32, (v.adj_len() - out) as u32)
}

/// Hands the whole state to `sink` in snapshot order. The caller holds the engine
/// paused (no transaction runs), so the read locks taken are never contended.
fn write_image(inner: &Inner, schema: &[SchemaOp], sink: &mut dyn SnapshotSink) -> Result<()> {
    let (vertex_end, edge_end) = write_preamble(inner, schema, sink)?;
    for id in 0..vertex_end {
        if let Some(slot) = inner.graph.vertex(id)
            && let Some(v) = &*slot.read()
        {
            sink.vertex(ImageVertex::new(id, &v.labels, &v.props).with_degree(degree(v)))?;
        }
    }
    for id in 0..edge_end {
        if let Some(slot) = inner.graph.edge(id)
            && let Some(e) = &*slot.read()
        {
            let edge = ImageEdge::new(id, e.edge_type, e.source, e.target, &e.props);
            sink.edge(edge)?;
        }
    }
    Ok(())
}

/// Hands dictionaries, schema and id counters to `sink`; returns the vertex and
/// edge id bounds.
fn write_preamble(
    inner: &Inner,
    schema: &[SchemaOp],
    sink: &mut dyn SnapshotSink,
) -> Result<(u64, u64)> {
    let ends = (inner.graph.vertex_end(), inner.graph.edge_end());
    durability::snapshot::export_preamble(sink, inner.graph.names(), schema, ends)?;
    Ok(ends)
}

/// Hands the current state to `sink` (see `ImageEngine::export` of [`crate::AnalyticalEngine`]);
/// returns its commit timestamp.
pub(crate) fn export(inner: &Inner, sink: &mut dyn SnapshotSink) -> Result<u64> {
    let paused = inner.pause.pause()?;
    let (ts, schema) = inner.schema_as_of_now();
    write_image(inner, &schema, sink)?;
    drop(paused);
    Ok(ts)
}

/// Writes a snapshot of the current state. While it runs `begin` waits (up to
/// `Config::begin_wait`); it first waits for running transactions to end.
pub(crate) fn create(inner: &Inner) -> Result<SnapshotInfo> {
    let d = inner.durable()?;
    let started = std::time::Instant::now();
    let paused = inner.pause.pause()?;
    let (ts, schema) = inner.schema_as_of_now();
    let info = d.write_snapshot(ts, &Still(inner, schema))?;
    drop(paused);
    d.snapshot_written(&info, started)?;
    Ok(info)
}

/// What a snapshot writes: the whole state, while a pause holds it still (no
/// transaction runs, so the read locks taken are never contended).
struct Still<'a>(&'a Inner, Vec<SchemaOp>);

impl ImageSource for Still<'_> {
    fn preamble(&self, sink: &mut dyn SnapshotSink) -> Result<(u64, u64)> {
        write_preamble(self.0, &self.1, sink)
    }

    fn vertices(&self, ids: Range<u64>, enc: &mut BlockEncoder) -> Result<()> {
        for id in ids {
            if let Some(slot) = self.0.graph.vertex(id)
                && let Some(v) = &*slot.read()
            {
                enc.vertex(id, &v.labels, &v.props, degree(v));
            }
        }
        Ok(())
    }

    fn edges(&self, ids: Range<u64>, enc: &mut BlockEncoder) -> Result<()> {
        for id in ids {
            if let Some(slot) = self.0.graph.edge(id)
                && let Some(e) = &*slot.read()
            {
                enc.edge(id, e.edge_type, e.source, e.target, &e.props);
            }
        }
        Ok(())
    }
}
