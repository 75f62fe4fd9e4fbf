//! Writing a snapshot: a pause holds new transactions back and waits for the
//! running ones, so the graph stands still while it is written without any lock.

use std::sync::atomic::Ordering;

use std::ops::Range;

use durability::{BlockEncoder, ImageSource, SchemaOp, SnapshotSink};
use engine_api::{IndexSpec, Result, SnapshotInfo};

use crate::engine::Inner;

/// A vertex's (outgoing, incoming) degree, the snapshot's loading hint.
fn degree(v: &crate::store::Vertex) -> (u32, u32) {
    let out = v.out().len();
    (out as u32, (v.adj_len() - out) as u32)
}

impl Inner {
    /// The schema in the snapshot's form: indexes, then triggers.
    pub(crate) fn schema_definitions(&self) -> Vec<SchemaOp> {
        let mut specs: Vec<IndexSpec> = self
            .schema
            .current()
            .sets
            .iter()
            .map(|s| s.spec.clone())
            .collect();
        specs.sort();
        let mut ops: Vec<SchemaOp> = specs.into_iter().map(SchemaOp::CreateIndex).collect();
        ops.extend(
            self.schema
                .triggers()
                .into_iter()
                .map(SchemaOp::CreateTrigger),
        );
        ops
    }

    /// Hands the whole state to `sink` in snapshot order. The caller holds the engine
    /// paused (no transaction runs), so the read locks taken are never contended.
    pub(crate) fn write_image(&self, sink: &mut dyn SnapshotSink) -> Result<()> {
        let (vertex_end, edge_end) = self.write_preamble(sink)?;
        for id in 0..vertex_end {
            if let Some(slot) = self.store.vertex(id)
                && let Some(v) = &*slot.read()
            {
                sink.vertex_with_degree(id, &v.labels, &v.props, degree(v))?;
            }
        }
        for id in 0..edge_end {
            if let Some(slot) = self.store.edge(id)
                && let Some(e) = &*slot.read()
            {
                sink.edge(id, e.edge_type, e.source, e.target, &e.props)?;
            }
        }
        Ok(())
    }

    /// Hands dictionaries, schema and id counters to `sink`; returns the vertex and
    /// edge id bounds.
    fn write_preamble(&self, sink: &mut dyn SnapshotSink) -> Result<(u64, u64)> {
        durability::snapshot::export_name_tables(sink, &self.labels, &self.edge_types, &self.keys)?;
        sink.schema_all(&self.schema_definitions())?;
        let (vertex_end, edge_end) = (self.store.vertex_end(), self.store.edge_end());
        sink.counters(vertex_end, edge_end)?;
        Ok((vertex_end, edge_end))
    }

    /// Hands the current state to `sink` (see [`crate::AnalyticalEngine::export`]);
    /// returns its commit timestamp.
    pub(crate) fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        let paused = self.pause.pause()?;
        let ts = self.last_commit.load(Ordering::Acquire);
        self.write_image(sink)?;
        drop(paused);
        Ok(ts)
    }

    /// Writes a snapshot of the current state. While it runs `begin` waits (up to
    /// `Config::begin_wait`); it first waits for running transactions to end.
    pub(crate) fn create_snapshot(&self) -> Result<SnapshotInfo> {
        let d = self.durable()?;
        let started = std::time::Instant::now();
        let paused = self.pause.pause()?;
        let ts = self.last_commit.load(Ordering::Acquire);
        let info = d.write_snapshot(ts, &Still(self))?;
        drop(paused);
        d.snapshot_written(&info, started)?;
        Ok(info)
    }
}

/// What a snapshot writes: the whole state, while a pause holds it still (no
/// transaction runs, so the read locks taken are never contended).
struct Still<'a>(&'a Inner);

impl ImageSource for Still<'_> {
    fn preamble(&self, sink: &mut dyn SnapshotSink) -> Result<(u64, u64)> {
        self.0.write_preamble(sink)
    }

    fn vertices(&self, ids: Range<u64>, enc: &mut BlockEncoder) -> Result<()> {
        for id in ids {
            if let Some(slot) = self.0.store.vertex(id)
                && let Some(v) = &*slot.read()
            {
                enc.vertex(id, &v.labels, &v.props, degree(v));
            }
        }
        Ok(())
    }

    fn edges(&self, ids: Range<u64>, enc: &mut BlockEncoder) -> Result<()> {
        for id in ids {
            if let Some(slot) = self.0.store.edge(id)
                && let Some(e) = &*slot.read()
            {
                enc.edge(id, e.edge_type, e.source, e.target, &e.props);
            }
        }
        Ok(())
    }
}
