//! Writing a snapshot from a consistent MVCC read view while writers go on.

use durability::SnapshotWriter;
use engine_api::{EdgeId, IsolationLevel, Result, SnapshotInfo, TxnOptions, VertexId};

use crate::engine::Inner;

impl Inner {
    /// Writes a snapshot of the newest published state. One runs at a time: a second
    /// request waits for the running one and then writes its own.
    pub(crate) fn create_snapshot(&self) -> Result<SnapshotInfo> {
        let d = self.durable()?;
        let _one = d.snapshot_lock.lock();
        let txn = self.begin(
            TxnOptions::new()
                .isolation(IsolationLevel::SnapshotIsolation)
                .read_only(),
        )?;
        let ts = txn.start_ts();
        let seq = d
            .snapshot_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = std::time::Instant::now();
        let mut w = SnapshotWriter::create(&d.dir.snapshots_dir(), seq, ts, d.database)?;
        let written = (|| -> Result<()> {
            // Every name an object visible to this view uses was interned before the
            // object was committed, so the dictionaries read now cover them.
            w.name_tables(&self.labels, &self.edge_types, &self.keys)?;
            w.schema(&self.schema_definitions())?;
            // The counters cover every id handed out so far and every id reservation
            // made before this snapshot began (those may sit in WAL segments that
            // retention deletes once this snapshot exists).
            let bound = |next: &std::sync::atomic::AtomicU64,
                         reserved: &std::sync::atomic::AtomicU64| {
                let n = next.load(std::sync::atomic::Ordering::Acquire);
                match reserved.load(std::sync::atomic::Ordering::Acquire) {
                    u64::MAX => n,
                    r => n.max(r),
                }
            };
            w.counters(
                bound(&self.next_vertex, &self.reserved_vertices),
                bound(&self.next_edge, &self.reserved_edges),
            )?;
            // Vertices first, so a reader can check every edge's endpoints; each pass
            // walks its slot array in id order (sequential memory), copying each object
            // under its lock into reused buffers and writing after the lock is released.
            // An edge's own versions decide whether this view sees it, and they change
            // in the same transactions as its endpoints' adjacency.
            let vertex_end = self.next_vertex.load(std::sync::atomic::Ordering::Acquire);
            let edge_end = self.next_edge.load(std::sync::atomic::Ordering::Acquire);
            let (mut labels, mut blob) = (Vec::new(), Vec::new());
            for id in 0..vertex_end {
                if txn.snapshot_vertex_into(VertexId(id), &mut labels, &mut blob)? {
                    w.vertex(id, &labels, &blob)?;
                }
            }
            if let Some(hook) = &d.snapshot_midpoint {
                hook();
            }
            for id in 0..edge_end {
                if let Some((t, source, target)) = txn.snapshot_edge_into(EdgeId(id), &mut blob)? {
                    w.edge(id, t, source.0, target.0, &blob)?;
                }
            }
            Ok(())
        })();
        if let Err(e) = written {
            w.abandon();
            return Err(e);
        }
        let info = w.finish()?;
        drop(txn);
        tracing::info!(
            path = %info.path.display(),
            commit_ts = ts,
            bytes = info.size_bytes,
            seconds = started.elapsed().as_secs_f64(),
            "snapshot written"
        );
        if let Some(wal) = &d.wal {
            wal.rotate();
        }
        d.apply_retention()?;
        Ok(info)
    }
}
