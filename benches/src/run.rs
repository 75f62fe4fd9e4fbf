//! The comparison report's driver: every workload on every backend and peer, one
//! process, one run (the `report` binary calls it; `scripts/report.sh` runs that).

use std::path::PathBuf;

use engine_inmem_analytical::AnalyticalEngine;
use engine_inmem_txn::{Config, InMemoryEngine};

use crate::indradb_peer::IndraDbPeer;
use crate::petgraph_peer::PetgraphPeer;
use crate::report::{self, Kind, SubjectEntry};
use crate::rocks::{OnDiskSubject, RawRocks};
use crate::{EngineSubject, HandRolledBaseline, WorkloadSize};

/// Runs the benchmark workloads on every backend and peer and writes the report.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Graph size: small = 100k vertices / 500k edges, medium = 300k / 1.5M, large =
    /// 1M / 5M (4 GiB at its peak; 13 to 16 minutes on 2 cores, one run per figure). `--vertices` and
    /// `--edges` override it.
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    pub scale: Scale,
    /// Vertices to import (default: the scale's).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub vertices: Option<usize>,
    /// Edges to import (default: the scale's).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub edges: Option<usize>,
    /// Only these subjects, comma-separated, in this order: hand-rolled, petgraph,
    /// "IndraDB memory", inmem-txn, "inmem-txn WAL", inmem-analytical, "RocksDB raw",
    /// ondisk. A
    /// backend's ratios are taken against the best in-memory peer of each row (for
    /// the in-memory backends) or RocksDB raw (for ondisk), among those selected.
    /// Default: all.
    #[arg(long, value_delimiter = ',')]
    pub backends: Vec<String>,
    /// Only these workload groups of the main table, comma-separated: reads, scan,
    /// expand, writes, mixed, index (the import always runs; every other group reads
    /// its graph). Default: all.
    #[arg(long, value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Point reads.
    #[arg(long, default_value_t = WorkloadSize::default().reads, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub reads: usize,
    /// Small write transactions.
    #[arg(long, default_value_t = WorkloadSize::default().small_writes, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub small_writes: usize,
    /// Mixed operations per thread.
    #[arg(long, default_value_t = WorkloadSize::default().mixed_ops, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub mixed_ops: usize,
    /// Durable commits per subject and thread count in the durability section.
    #[arg(long, default_value_t = 2000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub durable_commits: usize,
    /// Runs the durable-commit rows even when the benchmark directory is on a RAM
    /// file system (tmpfs, ramfs), where a sync costs nothing; refused otherwise.
    #[arg(long)]
    pub durable_on_ram_disk: bool,
    /// Vertices of the graph the durability section snapshots and recovers
    /// (default: the main workload's).
    #[arg(long)]
    pub recovery_vertices: Option<usize>,
    /// Edges of that graph.
    #[arg(long)]
    pub recovery_edges: Option<usize>,
    /// How many times the main workloads and the durability section run (each
    /// figure is the median; the tables show the spread). Default 3, and 1 at
    /// `--scale large`, whose single run takes about a quarter of an hour on 2 cores.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub repeat: Option<usize>,
    /// Skips the runs on graphs of a tenth and a third of the size (the section on
    /// how cost grows).
    #[arg(long)]
    pub no_growth: bool,
    /// An earlier report.json: prints each main figure's change against it and flags
    /// regressions beyond the spread (also appended to report.md).
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Where report.md and report.json go.
    #[arg(long, default_value = "bench-report")]
    pub out: PathBuf,
}

/// A command line the report cannot run (an unknown or repeated subject or group,
/// more edges than the vertices can hold): the binaries exit with 2 for it, as for
/// a flag clap refuses.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Graph sizes of [`ReportArgs::scale`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// 100k vertices, 500k edges.
    Small,
    /// 300k vertices, 1.5M edges.
    Medium,
    /// 1M vertices, 5M edges.
    Large,
}

impl Scale {
    /// Runs per figure unless `--repeat` says otherwise: 3, and 1 for the large
    /// graph (one run of every workload on every subject takes about 12 minutes
    /// there, most of it the on-disk backend's imports).
    pub fn default_repeat(self) -> usize {
        match self {
            Scale::Small | Scale::Medium => 3,
            Scale::Large => 1,
        }
    }

    /// (vertices, edges).
    pub fn graph(self) -> (usize, usize) {
        match self {
            Scale::Small => (100_000, 500_000),
            Scale::Medium => (300_000, 1_500_000),
            Scale::Large => (1_000_000, 5_000_000),
        }
    }
}

/// Keeps the subjects `names` lists, in that order (all if it is empty). Errors: a
/// name that is no subject.
pub fn select_subjects(
    mut subjects: Vec<SubjectEntry>,
    names: &[String],
) -> Result<Vec<SubjectEntry>, String> {
    if names.is_empty() {
        return Ok(subjects);
    }
    let known: Vec<String> = subjects.iter().map(|s| s.name.clone()).collect();
    let mut out: Vec<SubjectEntry> = Vec::with_capacity(names.len());
    for name in names {
        if out.iter().any(|s| s.name == name.trim()) {
            return Err(format!("{:?} is named twice", name.trim()));
        }
        let Some(i) = subjects.iter().position(|s| s.name == name.trim()) else {
            return Err(format!(
                "no subject {name:?} (subjects: {})",
                known.join(", ")
            ));
        };
        out.push(subjects.remove(i));
    }
    Ok(out)
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
    let base = crate::durability::bench_base();
    let disk = crate::durability::filesystem_of(&base);
    format!(
        "{cpu}, {cores} cores, {mem}; files under {} ({disk})",
        base.display()
    )
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

/// The peers' crate versions as the settings name them: (crate, version in
/// Cargo.lock, the words of the settings). A test checks both.
pub const PEER_VERSIONS: &[(&str, &str, &str)] = &[
    ("petgraph", "0.8.3", "petgraph 0.8.3"),
    ("indradb-lib", "5.0.0", "indradb-lib 5.0.0"),
    ("rocksdb", "0.25.0", "rocksdb 0.25.0"),
    ("librocksdb-sys", "0.19.0+11.8.1", "RocksDB 11.8.1"),
];

/// The in-memory subjects of the main table: the hand-rolled, petgraph and IndraDB
/// peers and both in-memory backends (the report adds RocksDB and the on-disk backend).
pub fn in_memory_subjects() -> Vec<SubjectEntry> {
    vec![
        SubjectEntry::new(
            "hand-rolled",
            Kind::InMemoryPeer,
            "the in-memory ceiling, written for these workloads: vertices and edges in \
             dense `Vec`s indexed by id, label, type and key names interned in a `HashMap` \
             (a known name costs one lookup, no allocation), a label index of ascending id \
             lists, adjacency `Vec`s per vertex, the whole graph behind one \
             `parking_lot::RwLock`. No versions, isolation, rollback or durability. One lock: \
             a ceiling for one thread, not for writers on several (they take turns).",
            || Ok(Box::new(HandRolledBaseline::default()) as _),
        ),
        SubjectEntry::new(
            "petgraph",
            Kind::InMemoryPeer,
            "petgraph 0.8.3 `StableGraph` (per-vertex linked edge lists; indexes stay valid \
             across removals, as ids must), names interned, a label index beside the graph \
             (petgraph has none), the whole graph behind one `parking_lot::RwLock` (writers \
             on several threads take turns). No transactions, durability or property \
             indexes.",
            || Ok(Box::new(PetgraphPeer::default()) as _),
        ),
        SubjectEntry::new(
            "IndraDB memory",
            Kind::InMemoryPeer,
            "indradb-lib 5.0.0 `MemoryDatastore`, default features off (its RocksDB \
             datastore would link a second librocksdb-sys beside ours), no persistence \
             file; imports through `bulk_insert`, reads and traversals through its queries, \
             each call its own datastore transaction, identifiers made once. One type per \
             vertex, so the second label is a `role` property with `index_property`; UUIDs \
             mapped to the workload's ids (one lock per call); label+property lookups \
             through `index_property` on the key (the vertex type checked on the result), \
             without it every vertex's property read and compared.",
            || Ok(Box::new(IndraDbPeer::open()?) as _),
        ),
        SubjectEntry::new(
            "inmem-txn",
            Kind::InMemory,
            "`engine_inmem_txn::Config::default()`: memory only (no data directory, so no \
             WAL and no snapshots), snapshot isolation, write-write conflicts detected, \
             versions collected by the committing threads (every 8th commit of each, a \
             commit of 64 objects or more at once) and \
             by a background thread every second.",
            || Ok(Box::new(EngineSubject(InMemoryEngine::open(Config::default())?)) as _),
        ),
        SubjectEntry::new(
            "inmem-txn WAL",
            Kind::InMemory,
            "inmem-txn with a data directory (under `QUIVER_BENCH_DIR`): every commit \
             appended to the WAL, sync mode Off (written, not synced, as no other subject's \
             commit in this table is durable), no periodic snapshot. The WAL's cost is this \
             column against inmem-txn.",
            || Ok(Box::new(crate::engine_subject::WalSubject::open()?) as _),
        ),
        SubjectEntry::new(
            "inmem-analytical",
            Kind::InMemory,
            "`engine_inmem_analytical::Config::default()`: memory only, no isolation and no \
             conflict detection (the mode's contract), writes in place.",
            || {
                Ok(Box::new(EngineSubject(AnalyticalEngine::open(
                    engine_inmem_analytical::Config::default(),
                )?)) as _)
            },
        ),
    ]
}

/// The on-disk subjects of the main table: raw RocksDB and the on-disk backend, in a
/// temporary directory under `QUIVER_BENCH_DIR`.
pub fn on_disk_subjects() -> Vec<SubjectEntry> {
    vec![
        SubjectEntry::new(
            "RocksDB raw",
            Kind::OnDiskPeer,
            "rocksdb 0.25.0 (RocksDB 11.8.1, built from the crate's bundled source) as a \
             plain `DB` with engine-ondisk's column families, key layout and options (one \
             256 MiB LRU block cache, 64 MiB write buffers, LZ4, bloom filters on vertices \
             and edges, 2 background jobs), one `WriteBatch` per transaction, WAL on and \
             not synced; names resolved under a shared read lock, one `ReadOptions` per \
             call (batched multi-get read slower here), a label+property index as entries \
             in the `index` family (engine-ondisk's layout). No transactions, conflict checks or endpoint \
             locks.",
            || Ok(Box::new(RawRocks::open()?) as _),
        ),
        SubjectEntry::new(
            "ondisk",
            Kind::OnDisk,
            "`engine_ondisk::Config::new(dir)` with sync mode Off (RocksDB's WAL is \
             written, not synced, as no in-memory subject's commit is durable either): a \
             plain `DB` with the raw peer's options, the engine's own object locks \
             and a per-transaction write overlay, one `WriteBatch` per commit.",
            || Ok(Box::new(OnDiskSubject::open()?) as _),
        ),
    ]
}

/// Runs the whole report as `args` say; prints report.md and writes it and
/// report.json to `args.out`. Memory rows need [`crate::alloc::CountingAllocator`]
/// installed as the process's allocator.
pub fn run_report(args: &ReportArgs) -> Result<(), Box<dyn std::error::Error>> {
    let size = WorkloadSize {
        vertices: args.vertices.unwrap_or(args.scale.graph().0).max(1),
        edges: args.edges.unwrap_or(args.scale.graph().1),
        reads: args.reads,
        small_writes: args.small_writes,
        mixed_ops: args.mixed_ops,
        ..WorkloadSize::default()
    };
    let mut subjects = in_memory_subjects();
    subjects.extend(on_disk_subjects());
    let subjects = select_subjects(subjects, &args.backends).map_err(UsageError)?;
    // Every distinct (source, type, target) the generator needs must exist: a
    // subject that keeps one edge per triple (IndraDB) would hold fewer.
    let (v, e) = (size.vertices, size.edges);
    if e > v.saturating_mul(v) {
        return Err(UsageError(format!(
            "{e} edges do not fit {v} vertices without repeating a (source, type, target): give at most {} edges or more vertices",
            v.saturating_mul(v)
        ))
        .into());
    }
    let only =
        report::Selection::of(&args.workloads).map_err(|e| UsageError(e.message().to_string()))?;
    // The output directory first: a file in its way fails now, not after the run.
    std::fs::create_dir_all(&args.out).map_err(|err| {
        format!(
            "cannot use {} as the report's directory: {err}",
            args.out.display()
        )
    })?;
    let repeat = args.repeat.unwrap_or(args.scale.default_repeat()).max(1);
    let started = std::time::Instant::now();
    let phase = |what: &str| {
        eprintln!(
            "{what} ({:.0} s since the start)",
            started.elapsed().as_secs_f64()
        );
    };
    eprintln!(
        "running the workloads on {} subjects, {} times each...",
        subjects.len(),
        repeat
    );
    let heap = crate::alloc::live;
    let report = report::run(
        size,
        &subjects,
        &heap,
        machine(),
        commit(),
        report::Rounds::new(repeat),
        &only,
    )?;
    let growth = if args.no_growth {
        Vec::new()
    } else {
        phase("the same workloads on smaller graphs (how cost grows)...");
        // One run per smaller size: with the main run's repetitions the default
        // report took 10.7 minutes instead of about 8.
        crate::growth::run(size, &subjects, &heap, 1, &only)?
    };
    phase("running the durability workloads...");
    let recovery_size = WorkloadSize {
        vertices: args.recovery_vertices.unwrap_or(size.vertices).max(1),
        edges: args.recovery_edges.unwrap_or(size.edges),
        ..size
    };
    let durable = crate::durability::run_repeated(
        &crate::Workload::generate(recovery_size),
        args.durable_commits.max(2),
        repeat,
        args.durable_on_ram_disk,
    )?;
    phase("snapshotting the same graph in IN_MEMORY_ANALYTICAL mode...");
    let analytical = crate::analytical::run(&crate::Workload::generate(recovery_size))?;
    phase("dumping and loading the same graph on every backend...");
    let live = || crate::alloc::live().unwrap_or(0);
    let reset_peak = crate::alloc::reset_peak;
    let peak = crate::alloc::peak;
    let dumps = crate::dumps::run(
        &crate::Workload::generate(recovery_size),
        &crate::dumps::HeapMeter {
            live: &live,
            reset_peak: &reset_peak,
            peak: &peak,
        },
    )?;
    phase("switching modes, migrating and backing up the same graph...");
    let modes = crate::modes::run(&crate::Workload::generate(recovery_size))?;
    phase("comparing RocksDB's transaction kinds...");
    let kinds = crate::rocks::txn_kinds(size.small_writes / 2, size.mixed_ops)?;
    std::fs::create_dir_all(&args.out)?;
    let mut charts = crate::charts::write_charts(&report, &args.out)?;
    charts.extend(crate::charts::write_durable_chart(
        &durable.figures,
        &args.out,
    )?);
    let mut points: Vec<(usize, &report::Report)> =
        growth.iter().map(|r| (r.size.vertices, r)).collect();
    points.push((report.size.vertices, &report));
    charts.extend(crate::growth::write_chart(&points, &args.out)?);
    let mut md = report.markdown();
    md.push_str(&crate::charts::markdown(&charts));
    md.push_str(&durable.markdown());
    md.push_str(&analytical.markdown(durable.figures.later_snapshot_seconds));
    md.push_str(&crate::dumps::markdown(&dumps));
    md.push_str(&modes.markdown(
        durable.figures.recovered_objects as f64 / durable.figures.recovery_seconds.max(1e-9),
    ));
    md.push_str(&kinds.markdown());
    md.push_str(&crate::growth::markdown(&points));
    if let Some(previous) = &args.compare {
        md.push_str(&crate::compare::compare(&report, previous)?);
    }
    std::fs::write(args.out.join("report.md"), &md)?;
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "main": report,
            "growth": growth,
            "durability": durable,
            "analytical_snapshot": analytical,
            "dumps": dumps,
            "modes": modes,
            "rocksdb_transaction_kinds": kinds,
            "recovery_workload": recovery_size,
        }))?,
    )?;
    println!("{md}");
    phase(&format!("wrote {}", args.out.join("report.md").display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_selected_by_name_in_the_order_given() {
        let names = |v: &[SubjectEntry]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let all = in_memory_subjects();
        assert_eq!(
            names(&select_subjects(in_memory_subjects(), &[]).expect("all")),
            names(&all)
        );
        let picked = select_subjects(
            in_memory_subjects(),
            &["inmem-analytical".to_string(), " hand-rolled".to_string()],
        )
        .expect("known names");
        assert_eq!(names(&picked), vec!["inmem-analytical", "hand-rolled"]);
        let err = select_subjects(in_memory_subjects(), &["nope".to_string()]).err();
        assert!(
            err.is_some_and(|e| e.contains("hand-rolled")),
            "the error lists the subjects"
        );
    }

    #[test]
    fn settings_name_the_locked_crate_versions() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
            .expect("the workspace's Cargo.lock");
        let settings: Vec<String> = in_memory_subjects()
            .into_iter()
            .chain(on_disk_subjects())
            .map(|s| s.settings)
            .collect();
        for (name, version, words) in PEER_VERSIONS {
            assert!(
                lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"")),
                "{name} {version} is not the locked version: update PEER_VERSIONS and the settings"
            );
            assert!(
                words.ends_with(version.rsplit('+').next().unwrap_or(version)),
                "{words} does not name {version}"
            );
            assert!(
                settings.iter().any(|s| s.contains(words)),
                "no subject's settings say {words}"
            );
        }
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ReportArgs,
    }

    fn parse(argv: &[&str]) -> Result<ReportArgs, clap::Error> {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("report").chain(argv.iter().copied())).map(|c| c.args)
    }

    /// Values that cannot make a report are refused before anything runs, naming
    /// the flag or the path (a hostile-user run found them failing after the
    /// benchmarks, blaming a subject).
    #[test]
    fn impossible_arguments_are_refused_up_front() {
        for flag in [
            "--reads",
            "--small-writes",
            "--mixed-ops",
            "--vertices",
            "--edges",
            "--repeat",
            "--durable-commits",
        ] {
            let err = parse(&[flag, "0"])
                .err()
                .unwrap_or_else(|| panic!("{flag} 0 accepted"));
            assert!(err.to_string().contains(flag), "{flag}: {err}");
        }
        let err = select_subjects(
            in_memory_subjects(),
            &["petgraph".into(), "petgraph".into()],
        )
        .err()
        .unwrap_or_default();
        assert!(err.contains("named twice"), "{err}");
        for (argv, says) in [
            (
                &["--vertices", "2", "--edges", "5"][..],
                "do not fit 2 vertices",
            ),
            (&["--backends", "nosuch"][..], "no subject"),
            (&["--workloads", "bogus"][..], "no workload group"),
        ] {
            let err = run_report(&parse(argv).expect("parses")).err();
            let err = err.expect("refused");
            assert!(err.is::<UsageError>(), "{argv:?}: {err}");
            assert!(err.to_string().contains(says), "{argv:?}: {err}");
        }
        let file = tempfile::NamedTempFile::new().expect("a file");
        let path = file.path().display().to_string();
        let args = parse(&["--vertices", "10", "--edges", "20", "--out", &path]).expect("parses");
        let err = run_report(&args)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(&path), "{err}");
    }

    #[test]
    fn scales_grow() {
        assert_eq!(Scale::Small.default_repeat(), 3);
        assert_eq!(Scale::Large.default_repeat(), 1);
        assert_eq!(Scale::Small.graph(), (100_000, 500_000));
        assert!(Scale::Medium.graph().0 > Scale::Small.graph().0);
        assert_eq!(Scale::Large.graph(), (1_000_000, 5_000_000));
    }
}
