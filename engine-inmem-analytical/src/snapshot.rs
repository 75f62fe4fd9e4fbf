//! Writing a snapshot: the gate holds new transactions back and waits for the
//! running ones, so the graph stands still while it is written without any lock.

use std::sync::atomic::Ordering;

use durability::{Items, SchemaOp, SnapshotSink, SnapshotWriter};
use engine_api::{IndexSpec, Result, SnapshotInfo};

use crate::engine::Inner;

/// Ids per range a snapshot thread encodes at once.
const PART: u64 = 16 * 1024;

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

    /// Hands the whole state to `sink` in snapshot order. The caller holds the gate
    /// closed (no transaction runs), so the read locks taken are never contended.
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

    /// Writes the whole state to a snapshot file, encoding vertices and edges on
    /// `threads` threads (id ranges of [`PART`] ids each). The caller holds the gate
    /// closed.
    fn write_file(
        &self,
        w: &mut SnapshotWriter,
        threads: usize,
        midpoint: Option<&(dyn Fn() + Send + Sync)>,
    ) -> Result<()> {
        let (vertex_end, edge_end) = self.write_preamble(w)?;
        let range = |part: u64, end: u64| part * PART..end.min((part + 1) * PART);
        w.write_parallel(
            Items::Vertices,
            vertex_end.div_ceil(PART),
            threads,
            |part, enc| {
                for id in range(part, vertex_end) {
                    if let Some(slot) = self.store.vertex(id)
                        && let Some(v) = &*slot.read()
                    {
                        enc.vertex(id, &v.labels, &v.props, degree(v));
                    }
                }
                Ok(())
            },
        )?;
        if let Some(hook) = midpoint {
            hook();
        }
        w.write_parallel(
            Items::Edges,
            edge_end.div_ceil(PART),
            threads,
            |part, enc| {
                for id in range(part, edge_end) {
                    if let Some(slot) = self.store.edge(id)
                        && let Some(e) = &*slot.read()
                    {
                        enc.edge(id, e.edge_type, e.source, e.target, &e.props);
                    }
                }
                Ok(())
            },
        )
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
        let closed = self.gate.close()?;
        let ts = self.last_commit.load(Ordering::Acquire);
        self.write_image(sink)?;
        drop(closed);
        Ok(ts)
    }

    /// Writes a snapshot of the current state. While it runs `begin` waits (up to
    /// `Config::begin_wait`); it first waits for running transactions to end.
    pub(crate) fn create_snapshot(&self) -> Result<SnapshotInfo> {
        let d = self.durable()?;
        let closed = self.gate.close()?;
        let started = std::time::Instant::now();
        let ts = self.last_commit.load(Ordering::Acquire);
        let seq = d.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let mut w =
            SnapshotWriter::create_with(&*d.files, &d.dir.snapshots_dir(), seq, ts, d.database)?;
        let written = self.write_file(&mut w, d.snapshot_threads, d.snapshot_midpoint.as_deref());
        if let Err(e) = written {
            w.abandon();
            return Err(e);
        }
        let info = w.finish()?;
        drop(closed);
        tracing::info!(
            path = %info.path.display(),
            commit_ts = ts,
            bytes = info.size_bytes,
            seconds = started.elapsed().as_secs_f64(),
            "snapshot written"
        );
        d.apply_retention()?;
        Ok(info)
    }
}
