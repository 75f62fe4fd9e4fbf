//! Writing a snapshot: the gate holds new transactions back and waits for the
//! running ones, so the graph stands still while it is written without any lock.

use std::sync::atomic::Ordering;

use durability::{SchemaOp, SnapshotWriter};
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

    /// Writes a snapshot of the current state. While it runs `begin` waits (up to
    /// `Config::begin_wait`); it first waits for running transactions to end.
    pub(crate) fn create_snapshot(&self) -> Result<SnapshotInfo> {
        let d = self.durable()?;
        let closed = self.gate.close()?;
        let started = std::time::Instant::now();
        let ts = self.last_commit.load(Ordering::Acquire);
        let seq = d.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let mut w = SnapshotWriter::create(&d.dir.snapshots_dir(), seq, ts, d.database)?;
        let written = (|| -> Result<()> {
            w.name_tables(&self.labels, &self.edge_types, &self.keys)?;
            w.schema(&self.schema_definitions())?;
            let (vertex_end, edge_end) = (self.store.vertex_end(), self.store.edge_end());
            w.counters(vertex_end, edge_end)?;
            // No transaction runs: the read locks below are never contended.
            for id in 0..vertex_end {
                if let Some(slot) = self.store.vertex(id)
                    && let Some(v) = &*slot.read()
                {
                    w.vertex(id, &v.labels, &v.props)?;
                }
            }
            if let Some(hook) = &d.snapshot_midpoint {
                hook();
            }
            for id in 0..edge_end {
                if let Some(slot) = self.store.edge(id)
                    && let Some(e) = &*slot.read()
                {
                    w.edge(id, e.edge_type, e.source, e.target, &e.props)?;
                }
            }
            Ok(())
        })();
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
