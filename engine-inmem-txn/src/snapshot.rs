//! Writing a snapshot from a consistent MVCC read view while writers go on.

use std::sync::atomic::{AtomicU64, Ordering};

use durability::{Items, SnapshotSink, SnapshotWriter};
use engine_api::{EdgeId, IsolationLevel, Result, SnapshotInfo, TxnOptions, VertexId};

use crate::engine::Inner;
use crate::txn::InMemoryTxn;

/// Ids per range a snapshot thread encodes at once (the file holds ranges in order;
/// a thread runs at most two ranges ahead of it).
const PART: u64 = 16 * 1024;

impl Inner {
    /// Hands the state `txn` sees to `sink` in snapshot order.
    pub(crate) fn write_image(
        &self,
        txn: &InMemoryTxn<'_>,
        sink: &mut dyn SnapshotSink,
    ) -> Result<()> {
        let (vertex_end, edge_end) = self.write_preamble(sink)?;
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
                sink.vertex_with_degree(id, &labels, &copied, degree)?;
            }
        }
        for id in 0..edge_end {
            let b = &mut copied;
            let found =
                txn.snapshot_edge_with(EdgeId(id), &mut blob, |t, source, target, props| {
                    b.clear();
                    b.extend_from_slice(props);
                    (t, source, target)
                })?;
            if let Some((t, source, target)) = found {
                sink.edge(id, t, source.0, target.0, &copied)?;
            }
        }
        Ok(())
    }

    /// Writes the state `txn` sees to a snapshot file, encoding vertices and edges on
    /// `threads` threads (id ranges of [`PART`] ids each).
    fn write_file(
        &self,
        txn: &InMemoryTxn<'_>,
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
                // Encoded under each object's read lock, with no copy in between
                // (the encoder only appends to memory).
                let (mut labels, mut blob) = (Vec::new(), Vec::new());
                for id in range(part, vertex_end) {
                    txn.snapshot_vertex_with(VertexId(id), &mut labels, &mut blob, |l, p, d| {
                        enc.vertex(id, l, p, d);
                    })?;
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
                let mut blob = Vec::new();
                for id in range(part, edge_end) {
                    txn.snapshot_edge_with(EdgeId(id), &mut blob, |t, source, target, p| {
                        enc.edge(id, t, source.0, target.0, p);
                    })?;
                }
                Ok(())
            },
        )
    }

    /// Hands dictionaries, schema and id counters to `sink`; returns the vertex and
    /// edge id bounds the image covers.
    fn write_preamble(&self, sink: &mut dyn SnapshotSink) -> Result<(u64, u64)> {
        // Every name an object visible to this view uses was interned before the
        // object was committed, so the dictionaries read now cover them.
        durability::snapshot::export_name_tables(sink, &self.labels, &self.edge_types, &self.keys)?;
        sink.schema_all(&self.schema_definitions())?;
        // The counters cover every id handed out so far and every id reservation
        // made before this snapshot began (those may sit in WAL segments that
        // retention deletes once this snapshot exists).
        let bound = |next: &AtomicU64, reserved: &AtomicU64| {
            let n = next.load(Ordering::Acquire);
            match reserved.load(Ordering::Acquire) {
                u64::MAX => n,
                r => n.max(r),
            }
        };
        sink.counters(
            bound(&self.next_vertex, &self.reserved_vertices),
            bound(&self.next_edge, &self.reserved_edges),
        )?;
        // Vertices first, so a reader can check every edge's endpoints; each pass
        // walks its slot array in id order (sequential memory), copying each object
        // under its lock into reused buffers and writing after the lock is released.
        // An edge's own versions decide whether this view sees it, and they change
        // in the same transactions as its endpoints' adjacency.
        Ok((
            self.next_vertex.load(Ordering::Acquire),
            self.next_edge.load(Ordering::Acquire),
        ))
    }

    /// Hands the newest published state to `sink` (see
    /// [`crate::InMemoryEngine::export`]); returns its commit timestamp.
    pub(crate) fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        let txn = self.begin(
            TxnOptions::new()
                .isolation(IsolationLevel::SnapshotIsolation)
                .read_only(),
        )?;
        let ts = txn.start_ts();
        self.write_image(&txn, sink)?;
        Ok(ts)
    }

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
        let seq = d.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let mut w =
            SnapshotWriter::create_with(&*d.files, &d.dir.snapshots_dir(), seq, ts, d.database)?;
        let written = self.write_file(
            &txn,
            &mut w,
            d.snapshot_threads,
            d.snapshot_midpoint.as_deref(),
        );
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
