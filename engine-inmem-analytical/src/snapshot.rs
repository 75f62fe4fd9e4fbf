//! Writing a snapshot: the gate holds new transactions back and waits for the
//! running ones, so the graph stands still while it is written without any lock.

use std::sync::atomic::Ordering;

use durability::{SchemaOp, SnapshotSink, SnapshotWriter};
use engine_api::{IndexSpec, Result, SnapshotInfo};

use crate::engine::Inner;

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
    pub(crate) fn write_image(
        &self,
        sink: &mut dyn SnapshotSink,
        midpoint: Option<&(dyn Fn() + Send + Sync)>,
    ) -> Result<()> {
        durability::snapshot::export_name_tables(sink, &self.labels, &self.edge_types, &self.keys)?;
        sink.schema_all(&self.schema_definitions())?;
        let (vertex_end, edge_end) = (self.store.vertex_end(), self.store.edge_end());
        sink.counters(vertex_end, edge_end)?;
        for id in 0..vertex_end {
            if let Some(slot) = self.store.vertex(id)
                && let Some(v) = &*slot.read()
            {
                let out = v.out().len();
                let degree = (out as u32, (v.adj_len() - out) as u32);
                sink.vertex_with_degree(id, &v.labels, &v.props, degree)?;
            }
        }
        if let Some(hook) = midpoint {
            hook();
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

    /// Hands the current state to `sink` (see [`crate::AnalyticalEngine::export`]);
    /// returns its commit timestamp.
    pub(crate) fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        let closed = self.gate.close()?;
        let ts = self.last_commit.load(Ordering::Acquire);
        self.write_image(sink, None)?;
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
        let mut w = SnapshotWriter::create(&d.dir.snapshots_dir(), seq, ts, d.database)?;
        let written = self.write_image(&mut w, d.snapshot_midpoint.as_deref());
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
