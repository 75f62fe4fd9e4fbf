//! IN_MEMORY_ANALYTICAL's snapshot: how long it takes on the recovery graph, and how
//! long `begin` waits meanwhile (a reader keeps beginning transactions during it).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine_api::{Result, StorageEngine, Transaction, TxnOptions, VertexId};
use engine_inmem_analytical::{AnalyticalEngine, Config};
use serde::Serialize;

use crate::durability::tempfile_dir;
use crate::engine_subject::EngineSubject;
use crate::workload::{Subject, Workload};

/// Snapshot figures of the analytical engine.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyticalSnapshot {
    /// Vertices plus edges written.
    pub objects: u64,
    /// Snapshot write time, seconds (from the call until it returned).
    pub snapshot_seconds: f64,
    /// Snapshot bytes.
    pub snapshot_bytes: u64,
    /// Transactions the reader began while the snapshot ran.
    pub reader_transactions: u64,
    /// Begins that found the gate closed and waited.
    pub waited_begins: u64,
    /// The longest of those waits, seconds.
    pub longest_begin_wait_s: f64,
    /// Opening the engine from the snapshot, seconds.
    pub recovery_seconds: f64,
}

/// Imports `w` into an analytical engine with a data directory, then writes a
/// snapshot while another thread begins read transactions in a loop.
pub fn run(w: &Workload) -> Result<AnalyticalSnapshot> {
    let tmp = tempfile_dir()?;
    let config = Config::new()
        .data_directory(tmp.path().join("analytical"))
        .durability(Config::default_durability().snapshot_on_exit(false))
        .begin_wait(Duration::from_secs(600));
    let subject = EngineSubject(AnalyticalEngine::open(config.clone())?);
    let mut ids: Vec<u64> = Vec::with_capacity(w.vertices.len());
    for batch in w.vertices.chunks(w.size.batch.max(1)) {
        ids.extend(subject.import_vertices(batch)?);
    }
    for batch in w.edges.chunks(w.size.batch.max(1)) {
        subject.import_edges(batch, &ids)?;
    }
    let engine = subject.0;
    let stop = AtomicBool::new(false);
    let began = AtomicU64::new(0);
    let (info, seconds) = std::thread::scope(|s| -> Result<_> {
        let reader = s.spawn(|| -> Result<()> {
            let probe = VertexId(ids.first().copied().unwrap_or(0));
            while !stop.load(Ordering::Acquire) {
                let t = engine.begin(TxnOptions::new().read_only())?;
                t.contains_vertex(probe)?;
                drop(t);
                began.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200));
            }
            Ok(())
        });
        // Let the reader run before the snapshot closes the gate.
        std::thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        let info = engine.create_snapshot();
        let seconds = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Release);
        let read = reader.join().unwrap_or_else(|_| {
            Err(engine_api::Error::new(
                engine_api::ErrorKind::Io,
                "reader thread panicked",
            ))
        });
        let info = info?;
        read?;
        Ok((info, seconds))
    })?;
    let waits = engine.begin_waits();
    let stats = engine.stats()?;
    drop(engine);
    let start = Instant::now();
    let reopened = AnalyticalEngine::open(config)?;
    let recovery_seconds = start.elapsed().as_secs_f64();
    if reopened.stats()? != stats {
        return Err(engine_api::Error::corrupt(
            "the analytical snapshot reopened with other counts",
        ));
    }
    Ok(AnalyticalSnapshot {
        objects: stats.vertices + stats.edges,
        snapshot_seconds: seconds,
        snapshot_bytes: info.size_bytes,
        reader_transactions: began.load(Ordering::Relaxed),
        waited_begins: waits.waited,
        longest_begin_wait_s: waits.longest.as_secs_f64(),
        recovery_seconds,
    })
}

impl AnalyticalSnapshot {
    /// The figures as a Markdown section; `txn_snapshot_seconds` is inmem-txn's
    /// snapshot of the same graph (from the durability section: the median of the
    /// snapshots after its first, whose collector has nothing left to do).
    pub fn markdown(&self, txn_snapshot_seconds: f64) -> String {
        let mut md = String::from(
            "\n## Snapshot in IN_MEMORY_ANALYTICAL mode (the durability section's graph; one run)\n\n",
        );
        md.push_str("| figure | value | peer or reference | ratio |\n|---|---:|---:|---:|\n");
        md.push_str(&format!(
            "| snapshot write | {:.2} s, {:.2} M objects/s, {:.1} MB | inmem-txn (its next snapshots) = {:.2} s | {:.2}x |\n",
            self.snapshot_seconds,
            self.objects as f64 / self.snapshot_seconds.max(1e-9) / 1e6,
            self.snapshot_bytes as f64 / 1e6,
            txn_snapshot_seconds,
            txn_snapshot_seconds / self.snapshot_seconds.max(1e-9)
        ));
        md.push_str(&format!(
            "| longest begin() wait during it | {:.3} s ({} of {} reader begins waited) | snapshot write = {:.2} s | |\n",
            self.longest_begin_wait_s,
            self.waited_begins,
            self.reader_transactions,
            self.snapshot_seconds
        ));
        md.push_str(&format!(
            "| open from the snapshot | {:.2} s, {:.2} M objects/s | | |\n",
            self.recovery_seconds,
            self.objects as f64 / self.recovery_seconds.max(1e-9) / 1e6
        ));
        md.push_str("\nWhile the snapshot is written no transaction runs: a begin waits for it (the mode's contract), so the longest wait is about the snapshot's duration.\n");
        md
    }
}
