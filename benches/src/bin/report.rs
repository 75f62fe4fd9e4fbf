//! The comparison report, Quiver's main job: every workload on every backend and
//! peer, one process, one run. Writes `report.md` and `report.json` to `--out`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use clap::Parser;
use engine_inmem_analytical::AnalyticalEngine;
use engine_inmem_txn::{Config, InMemoryEngine};
use quiver_benches::report::{self, SubjectFactory};
use quiver_benches::rocks::{OnDiskSubject, RawRocks};
use quiver_benches::{EngineSubject, HandRolledBaseline, WorkloadSize};

struct Counting;
static LIVE: AtomicI64 = AtomicI64::new(0);
/// The highest `LIVE` since the last reset (for the dump's peak memory), kept only
/// while `TRACK_PEAK` is set: a second shared counter on every allocation would slow
/// the multi-threaded rows.
static PEAK: AtomicI64 = AtomicI64::new(0);
static TRACK_PEAK: AtomicBool = AtomicBool::new(false);

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged, so it upholds GlobalAlloc's contract as `System` does; it only adds an
// atomic count of live bytes and of their peak (read by the memory rows of the report).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let size = layout.size() as i64;
            PEAK.fetch_max(
                LIVE.fetch_add(size, Ordering::Relaxed) + size,
                Ordering::Relaxed,
            );
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let delta = new_size as i64 - layout.size() as i64;
            PEAK.fetch_max(
                LIVE.fetch_add(delta, Ordering::Relaxed) + delta,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs the benchmark workloads on every backend and peer and writes the report.
#[derive(Debug, Parser)]
struct Args {
    /// Vertices to import.
    #[arg(long, default_value_t = WorkloadSize::default().vertices)]
    vertices: usize,
    /// Edges to import.
    #[arg(long, default_value_t = WorkloadSize::default().edges)]
    edges: usize,
    /// Point reads.
    #[arg(long, default_value_t = WorkloadSize::default().reads)]
    reads: usize,
    /// Small write transactions.
    #[arg(long, default_value_t = WorkloadSize::default().small_writes)]
    small_writes: usize,
    /// Mixed operations per thread.
    #[arg(long, default_value_t = WorkloadSize::default().mixed_ops)]
    mixed_ops: usize,
    /// Durable commits per thread configuration in the durability section.
    #[arg(long, default_value_t = 2000)]
    durable_commits: usize,
    /// Vertices of the graph the durability section snapshots and recovers
    /// (default: the main workload's).
    #[arg(long)]
    recovery_vertices: Option<usize>,
    /// Edges of that graph.
    #[arg(long)]
    recovery_edges: Option<usize>,
    /// Where report.md and report.json go.
    #[arg(long, default_value = "bench-report")]
    out: PathBuf,
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or("? GiB".into(), |kb| format!("{} GiB", kb / (1024 * 1024)));
    format!("{cpu}, {cores} cores, {mem}")
}

fn commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(hash) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{hash} (with uncommitted changes)")
            } else {
                hash
            }
        }
        None => "unknown".into(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let size = WorkloadSize {
        vertices: args.vertices.max(1),
        edges: args.edges,
        reads: args.reads,
        small_writes: args.small_writes,
        mixed_ops: args.mixed_ops,
        ..WorkloadSize::default()
    };
    let subjects: Vec<(String, SubjectFactory)> = vec![
        (
            "hand-rolled".into(),
            Box::new(|| Ok(Box::new(HandRolledBaseline::default()) as _)),
        ),
        (
            "inmem-txn".into(),
            Box::new(|| Ok(Box::new(EngineSubject(InMemoryEngine::open(Config::default())?)) as _)),
        ),
        (
            "inmem-analytical".into(),
            Box::new(|| {
                Ok(Box::new(EngineSubject(AnalyticalEngine::open(
                    engine_inmem_analytical::Config::default(),
                )?)) as _)
            }),
        ),
        (
            "RocksDB raw".into(),
            Box::new(|| Ok(Box::new(RawRocks::open()?) as _)),
        ),
        (
            "ondisk".into(),
            Box::new(|| Ok(Box::new(OnDiskSubject::open()?) as _)),
        ),
    ];
    eprintln!("running the workloads on {} subjects...", subjects.len());
    let heap = || Some(LIVE.load(Ordering::Relaxed));
    let report = report::run(size, subjects, &heap, machine(), commit())?;
    eprintln!("running the durability workloads...");
    let recovery_size = WorkloadSize {
        vertices: args.recovery_vertices.unwrap_or(size.vertices).max(1),
        edges: args.recovery_edges.unwrap_or(size.edges),
        ..size
    };
    let durable = quiver_benches::durability::run(
        &quiver_benches::Workload::generate(recovery_size),
        args.durable_commits.max(2),
    )?;
    eprintln!("snapshotting the same graph in IN_MEMORY_ANALYTICAL mode...");
    let analytical =
        quiver_benches::analytical::run(&quiver_benches::Workload::generate(recovery_size))?;
    eprintln!("dumping and loading the same graph on every backend...");
    let live = || LIVE.load(Ordering::Relaxed);
    let reset_peak = || {
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        TRACK_PEAK.store(true, Ordering::Relaxed);
    };
    let peak = || PEAK.load(Ordering::Relaxed);
    let dumps = quiver_benches::dumps::run(
        &quiver_benches::Workload::generate(recovery_size),
        &quiver_benches::dumps::HeapMeter {
            live: &live,
            reset_peak: &reset_peak,
            peak: &peak,
        },
    )?;
    eprintln!("comparing RocksDB's transaction kinds...");
    let kinds = quiver_benches::rocks::txn_kinds(size.small_writes / 2, size.mixed_ops)?;
    std::fs::create_dir_all(&args.out)?;
    let mut md = report.markdown();
    md.push_str(&durable.markdown());
    md.push_str(&analytical.markdown(durable.snapshot_seconds));
    md.push_str(&quiver_benches::dumps::markdown(&dumps));
    md.push_str(&kinds.markdown());
    std::fs::write(args.out.join("report.md"), &md)?;
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "main": report,
            "durability": durable,
            "analytical_snapshot": analytical,
            "dumps": dumps,
            "rocksdb_transaction_kinds": kinds,
            "recovery_workload": recovery_size,
        }))?,
    )?;
    println!("{md}");
    eprintln!("wrote {}", args.out.join("report.md").display());
    Ok(())
}
