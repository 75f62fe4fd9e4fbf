//! The report runs end to end on a tiny workload, and every subject agrees on every
//! count (the runner refuses to write a report otherwise).

use quiver_benches::report::{self, Kind, SubjectEntry};
use quiver_benches::workload::Fold;
use quiver_benches::{HandRolledBaseline, WorkloadSize};

#[test]
fn report_runs_and_subjects_agree() {
    let size = WorkloadSize {
        vertices: 2000,
        edges: 8000,
        batch: 500,
        reads: 3000,
        expansions: 500,
        small_writes: 300,
        mixed_ops: 500,
    };
    let subjects = quiver_benches::run::in_memory_subjects();
    let r = report::run(
        size,
        &subjects,
        &|| None,
        "test".into(),
        "test".into(),
        report::Rounds::new(2),
        &report::Selection::all(),
    )
    .expect("report runs");
    let md = r.markdown();
    // Two repetitions: every figure is the median of two samples, shown with its spread.
    assert!(
        r.figures.iter().all(|f| f.samples.len() == 2),
        "two samples each"
    );
    assert!(md.contains("ran 2 times") && md.contains(" ±"), "{md}");
    assert!(md.contains("| point read by id | reads/s |"), "{md}");
    assert!(md.contains("inmem-txn / yardstick"), "{md}");
    // Every subject read the same names (the report checked each against the
    // workload before writing the figure).
    let reads = r
        .figures
        .iter()
        .filter(|f| f.workload == "point read by id")
        .map(|f| (f.checksum, f.operations))
        .collect::<Vec<_>>();
    assert_eq!(
        reads.len(),
        6,
        "every in-memory subject, inmem-txn WAL included"
    );
    assert!(
        reads.iter().all(|r| *r == reads[0] && r.0 != 0),
        "{reads:?}"
    );
    // Peers are yardsticks: no ratio column of their own.
    assert!(!md.contains("IndraDB memory / yardstick"), "{md}");
    // The mixed workload on 1, 2 and 4 threads, for every subject.
    for (_, row) in report::MIXED {
        let n = r.figures.iter().filter(|f| f.workload == row).count();
        assert_eq!(n, r.subjects.len(), "{row}");
    }
    // Every subject's settings are stated, in column order.
    let settings = md
        .split("## Subjects and their settings")
        .nth(1)
        .unwrap_or_default();
    let mut at = 0;
    for s in &r.subjects {
        let found = settings[at..].find(&format!("- **{s}**: "));
        assert!(found.is_some(), "{s}'s settings in order: {settings}");
        at += found.unwrap_or(0);
    }
    assert!(settings.contains("`MemoryDatastore`"), "{settings}");
    // The petgraph peer did every workload the others did, with the same results.
    let rows_of = |s: &str| r.figures.iter().filter(|f| f.subject == s).count();
    assert_eq!(rows_of("petgraph"), rows_of("hand-rolled"));
    // Peers without indexes say so instead of leaving the index rows blank.
    assert!(
        md.contains("n/a: petgraph has no label+property lookups or indexes"),
        "{md}"
    );
    let index_row = md
        .lines()
        .find(|l| l.starts_with("| label+property lookup, index |"))
        .unwrap_or_default();
    assert!(
        index_row.starts_with("| label+property lookup, index | lookups/s | n/a | n/a | "),
        "{index_row}"
    );
    // IndraDB runs the index rows through its property index, and the in-memory
    // backends' index ratios are against it (the only peer with the row).
    assert!(
        r.figure("label+property lookup, index", "IndraDB memory")
            .is_some()
    );
    assert!(
        r.ratio("label+property lookup, index", "inmem-txn")
            .is_some_and(|(_, peer)| peer == "IndraDB memory")
    );
    assert!(md.contains("inmem-analytical / yardstick"), "{md}");
    // Each backend's ratio names the best in-memory peer of the row, paired by round.
    let (paired, peer) = r
        .ratio("point read by id", "inmem-txn")
        .expect("a ratio against a peer");
    let best = ["hand-rolled", "petgraph", "IndraDB memory"]
        .into_iter()
        .max_by(|a, b| {
            let v = |s| r.figure("point read by id", s).map_or(0.0, |f| f.value);
            v(*a).total_cmp(&v(*b))
        })
        .expect("peers");
    assert_eq!(peer, best);
    assert!(paired.low <= paired.median && paired.median <= paired.high);
    // The tiny graph is not the one the targets were set for.
    assert!(md.contains("so none is judged"), "{md}");
    let hop = r
        .figures
        .iter()
        .find(|f| f.workload == "1-hop expansion")
        .expect("row");
    assert!(hop.checksum > 0);
    let row = |name: &str| {
        r.figures
            .iter()
            .find(|f| f.workload == name && f.subject == "inmem-txn")
            .unwrap_or_else(|| panic!("no {name} row for inmem-txn"))
    };
    // Each looked-up id exists once: scans and index lookups find one vertex each
    // (checked by the report against the workload), and both analytical and
    // transactional engines found the same ones.
    let index = row("label+property lookup, index");
    assert_eq!(index.operations, 150);
    let analytical = r
        .figures
        .iter()
        .find(|f| f.workload == index.workload && f.subject == "inmem-analytical")
        .expect("the analytical engine looked up too");
    assert_eq!(analytical.checksum, index.checksum);
    // Read back from the subject: 2000 vertices, 2 labels each, the scores of
    // vertices 0..2000 (i % 1000 tenths), no edges.
    let imported = quiver_benches::workload::Digest {
        vertices: 2000,
        edges: 0,
        labels: 4000,
        score_tenths: 2 * (0..1000).sum::<i64>(),
        weight: 0,
    };
    assert_eq!(
        row("import: vertices, label+property index present").checksum,
        imported.checksum()
    );
    // One entry per Person: the 2000 imported and the 3 × 300 the small writes made
    // (on 1, 2 and 4 threads).
    assert_eq!(row("index build: label+property").checksum, 2900);
    assert!(
        !r.figures
            .iter()
            .any(|f| f.subject == "hand-rolled" && f.workload.contains("label+property")),
        "the hand-rolled peer has no indexes"
    );
}

/// Skips its small writes (and, unless `.1`, every write) but says they succeeded;
/// reads what the hand-rolled graph inside it holds, unless `.2` is false: then its
/// reads return the right counts without reading anything.
struct Idle(HandRolledBaseline, bool, bool);

impl quiver_benches::Subject for Idle {
    fn import_vertices(
        &self,
        batch: &[quiver_benches::workload::VertexSpec],
    ) -> engine_api::Result<Vec<u64>> {
        if self.1 {
            return self.0.import_vertices(batch);
        }
        Ok((0..batch.len() as u64).collect())
    }
    fn import_edges(
        &self,
        batch: &[quiver_benches::workload::EdgeSpec],
        ids: &[u64],
    ) -> engine_api::Result<()> {
        if self.1 {
            return self.0.import_edges(batch, ids);
        }
        Ok(())
    }
    fn read_names(&self, ids: &[u64]) -> engine_api::Result<Fold> {
        let real = self.0.read_names(ids)?;
        Ok(if self.2 { real } else { counted(real.count) })
    }
    fn label_scan(&self, label: &str) -> engine_api::Result<Fold> {
        let real = self.0.label_scan(label)?;
        Ok(if self.2 { real } else { counted(real.count) })
    }
    fn expand(&self, starts: &[u64], hops: usize) -> engine_api::Result<Fold> {
        let real = self.0.expand(starts, hops)?;
        Ok(if self.2 { real } else { counted(real.count) })
    }
    fn small_write(&self, _target: u64) -> engine_api::Result<()> {
        // The work a report must notice was skipped.
        Ok(())
    }
    fn update_score(&self, vertex: u64, value: f64) -> engine_api::Result<()> {
        if self.1 {
            return self.0.update_score(vertex, value);
        }
        Ok(())
    }
    fn lookup(
        &self,
        label: &str,
        key: &str,
        values: &[engine_api::PropertyValue],
    ) -> engine_api::Result<Option<Fold>> {
        self.0.lookup(label, key, values)
    }
    fn id_key(&self, id: u64) -> engine_api::Result<u64> {
        self.0.id_key(id)
    }
    fn create_index(&self, label: &str, key: &str) -> engine_api::Result<Option<u64>> {
        self.0.create_index(label, key)
    }
    fn settle(&mut self) -> engine_api::Result<()> {
        self.0.settle()
    }
    fn storage(&self) -> engine_api::Result<Option<engine_ondisk::StorageUsage>> {
        self.0.storage()
    }
    fn cold(&self, cache: Option<usize>) -> engine_api::Result<Option<String>> {
        self.0.cold(cache)
    }
    fn digest(&self) -> engine_api::Result<quiver_benches::workload::Digest> {
        self.0.digest()
    }
}

/// A fold of `n` items that says nothing of what they were.
fn counted(n: u64) -> Fold {
    let mut f = Fold::default();
    for _ in 0..n {
        f.add(0);
    }
    f
}

fn tiny() -> WorkloadSize {
    WorkloadSize {
        vertices: 200,
        edges: 800,
        batch: 50,
        reads: 100,
        expansions: 20,
        small_writes: 30,
        mixed_ops: 40,
    }
}

/// One run of `subjects` on the [`tiny`] workload, without a heap meter.
fn run_tiny(
    subjects: &[SubjectEntry],
    only: &report::Selection,
) -> engine_api::Result<report::Report> {
    report::run(
        tiny(),
        subjects,
        &|| None,
        "test".into(),
        "test".into(),
        report::Rounds::new(1).without_warm_up(),
        only,
    )
}

/// A subject that skipped writes but answered reads as if it had not is caught by the
/// state read back after the writing workloads, and the run refuses to write a report.
#[test]
fn a_subject_that_skips_writes_makes_the_report_refuse() {
    let subjects = vec![
        SubjectEntry::new("hand-rolled", Kind::InMemoryPeer, "the peer", || {
            Ok(Box::new(HandRolledBaseline::default()) as _)
        }),
        SubjectEntry::new("idle", Kind::InMemory, "skips writes", || {
            Ok(Box::new(Idle(HandRolledBaseline::default(), true, true)) as _)
        }),
    ];
    let err = run_tiny(&subjects, &report::Selection::all())
        .expect_err("the idle subject's small writes left no trace");
    assert!(
        err.to_string().contains("small write txn, 1 thread"),
        "{err}"
    );
}

/// A run whose only subject did no work at all is refused, though no other subject
/// disagrees with it.
#[test]
fn a_run_where_nothing_was_done_is_refused() {
    let subjects = vec![SubjectEntry::new(
        "idle",
        Kind::InMemory,
        "does nothing",
        || Ok(Box::new(Idle(HandRolledBaseline::default(), false, true)) as _),
    )];
    // Only the writing groups: with the reads, the first read's check refuses it.
    let only = report::Selection::of(&["writes".into()]).expect("a group");
    let err = run_tiny(&subjects, &only).expect_err("nothing was imported");
    assert!(err.to_string().contains("did no work"), "{err}");
    let err = run_tiny(&subjects, &report::Selection::all()).expect_err("nothing was read");
    assert!(err.to_string().contains("idle read other data"), "{err}");
}

/// A subject whose reads return the right counts without reading (the names, the
/// scanned and the reached vertices) is refused, though it runs alone: each read is
/// checked against the workload, not only against the other subjects.
#[test]
fn a_subject_that_reads_nothing_makes_the_report_refuse() {
    let subjects = vec![SubjectEntry::new(
        "lazy",
        Kind::InMemory,
        "counts without reading",
        || Ok(Box::new(Idle(HandRolledBaseline::default(), true, false)) as _),
    )];
    for (group, row) in [
        ("reads", "point read by id"),
        ("scan", "label scan"),
        ("expand", "1-hop expansion"),
        ("mixed", "mixed 90% read / 10% write, 1 thread"),
    ] {
        let only = report::Selection::of(&[group.to_string()]).expect("a group");
        let err = run_tiny(&subjects, &only).expect_err("reads that read nothing");
        assert!(
            err.to_string()
                .contains(&format!("lazy read other data than it holds in '{row}'")),
            "{group}: {err}"
        );
    }
    // The same subject reading for real passes alone.
    let honest = vec![SubjectEntry::new("honest", Kind::InMemory, "reads", || {
        Ok(Box::new(Idle(HandRolledBaseline::default(), true, true)) as _)
    })];
    let only =
        report::Selection::of(&["reads".into(), "scan".into(), "expand".into()]).expect("groups");
    run_tiny(&honest, &only).expect("an honest reader passes");
}

#[test]
fn the_analytical_snapshot_section_measures_a_real_snapshot() {
    let w = quiver_benches::Workload::generate(tiny());
    let a = quiver_benches::analytical::run(&w).expect("the analytical snapshot runs");
    assert_eq!(a.objects, (tiny().vertices + tiny().edges) as u64);
    assert!(a.snapshot_bytes > 0 && a.snapshot_seconds > 0.0);
    assert!(a.reader_transactions > 0, "the reader ran");
    assert!(a.longest_begin_wait_s <= a.snapshot_seconds + 1.0);
    let md = a.markdown(1.0);
    assert!(md.contains("longest begin() wait"), "{md}");
}

#[test]
fn the_dump_section_dumps_and_loads_every_backend() {
    let w = quiver_benches::Workload::generate(tiny());
    let live = || 0;
    let reset = || {};
    let figures = quiver_benches::dumps::run(
        &w,
        &quiver_benches::dumps::HeapMeter {
            live: &live,
            reset_peak: &reset,
            peak: &live,
        },
    )
    .expect("dumps and loads run");
    let names: Vec<&str> = figures.iter().map(|f| f.backend.as_str()).collect();
    assert_eq!(names, ["inmem-txn", "inmem-analytical", "ondisk"]);
    for f in &figures {
        assert_eq!(f.entities, (tiny().vertices + tiny().edges) as u64);
        assert!(f.dump_bytes > f.entities * 20, "{f:?}");
    }
    // Every backend dumps the same graph to the same number of bytes.
    assert!(
        figures
            .windows(2)
            .all(|p| p[0].dump_bytes == p[1].dump_bytes),
        "{figures:?}"
    );
    let md = quiver_benches::dumps::markdown(&figures);
    assert!(md.contains("| inmem-analytical |"), "{md}");
}

#[test]
fn a_workload_selection_runs_the_import_and_the_groups_named() {
    let only =
        report::Selection::of(&["reads".to_string(), "writes".to_string()]).expect("known groups");
    let r = run_tiny(&quiver_benches::run::in_memory_subjects(), &only).expect("report runs");
    let rows: std::collections::BTreeSet<&str> =
        r.figures.iter().map(|f| f.workload.as_str()).collect();
    assert!(rows.contains("import: all records") && rows.contains("point read by id"));
    assert!(rows.contains("small write txn, 2 threads"));
    assert!(
        !rows
            .iter()
            .any(|w| w.contains("expansion") || w.contains("label") || w.contains("mixed")),
        "{rows:?}"
    );
    assert!(r.not_applicable.is_empty(), "no index rows were asked for");
    assert!(report::Selection::of(&["nope".to_string()]).is_err());
}

/// The durability section runs end to end, as often as asked, and reports medians of
/// real measurements.
#[test]
fn the_durability_section_runs_as_often_as_asked() {
    let w = quiver_benches::Workload::generate(tiny());
    let d = quiver_benches::durability::run_repeated(&w, 4, 2, false).expect("the section runs");
    assert_eq!(d.runs.len(), 2);
    let f = &d.figures;
    assert!(f.fdatasync_latency_s > 0.0);
    let md = d.markdown();
    match &f.durable_refused {
        // Every subject on 1, 2 and 4 threads, the same small write for all.
        None => {
            assert_eq!(f.durable.len(), 9, "{:?}", f.durable);
            assert!(f.durable.iter().all(|r| r.commits_per_s > 0.0));
            assert!(md.contains("| 4 | "), "{md}");
        }
        // A RAM file system: refused, and the report says why.
        Some(why) => assert!(md.contains(&format!("Not run: {why}")), "{md}"),
    }
    assert!(f.snapshot_seconds > 0.0 && f.recovery_seconds > 0.0);
    // Every snapshot figure was timed, and each run took the later and the
    // threaded ones as medians of separate snapshots.
    for r in &d.runs {
        assert!(r.later_snapshot_seconds > 0.0, "{r:?}");
        assert!(r.snapshot_seconds_threads > 0.0 && r.snapshot_seconds_one_thread > 0.0);
    }
    assert!(
        md.contains("| the first snapshot after the import vs the next |"),
        "{md}"
    );
    assert_eq!(
        f.recovered_objects,
        (w.vertices.len() + w.edges.len()) as u64,
        "recovery brought back the whole graph"
    );
    assert!(md.contains("The section ran 2 times"), "{md}");
}

/// Both on-disk subjects run the index rows (RocksDB raw through its own index
/// family), and every lookup's fold matches the workload.
#[test]
fn the_on_disk_subjects_run_the_index_rows() {
    let subjects = quiver_benches::run::on_disk_subjects();
    let only = report::Selection::of(&["index".into()]).expect("a group");
    let r = run_tiny(&subjects, &only).expect("both agree with the workload");
    for s in ["RocksDB raw", "ondisk"] {
        for row in [
            "label+property lookup, no index",
            "label+property lookup, index",
            "import: vertices, label+property index present",
        ] {
            assert!(r.figure(row, s).is_some(), "{s}: {row}");
        }
    }
    let (_, peer) = r
        .ratio("label+property lookup, index", "ondisk")
        .expect("a ratio");
    assert_eq!(peer, "RocksDB raw");
}

/// The on-disk subjects' memory rows count RocksDB's own memory, their disk rows its
/// files, their reads run on flushed data, and the cold rows run with a block cache
/// an eighth of the SST files; the report says which state each row measured.
#[test]
fn on_disk_rows_count_rocksdb_and_say_their_state() {
    let subjects = quiver_benches::run::on_disk_subjects();
    // A heap meter that sees nothing: what the memory rows show is RocksDB's.
    let r = report::run(
        tiny(),
        &subjects,
        &|| Some(0),
        "test".into(),
        "test".into(),
        report::Rounds::new(1).without_warm_up(),
        &report::Selection::all(),
    )
    .expect("runs");
    for s in ["RocksDB raw", "ondisk"] {
        for row in [
            "memory: bytes per vertex",
            "memory: bytes per edge",
            "disk: bytes per vertex, as written",
            "disk: bytes per edge, as written",
            "disk: bytes per record, compacted",
        ] {
            let f = r.figure(row, s).unwrap_or_else(|| panic!("{s}: {row}"));
            assert!(f.value > 0.0, "{s} {row}: {}", f.value);
        }
        for row in ["point read by id, cold", "1-hop expansion, cold"] {
            let f = r.figure(row, s).unwrap_or_else(|| panic!("{s}: {row}"));
            let note = f.note.as_deref().unwrap_or_default();
            assert!(
                note.contains("block cache") && note.contains("evicted from the page cache"),
                "{note}"
            );
        }
    }
    let md = r.markdown();
    assert!(md.contains("**On-disk state of each row**"), "{md}");
    assert!(md.contains("Cold rows, ondisk: block cache"), "{md}");
    assert!(!md.contains("not counted"), "{md}");
}

/// On a RAM file system the durable rows are refused (a sync there costs nothing),
/// and the report says why and how to run them anyway; asked, they run.
#[test]
fn durable_rows_on_a_ram_disk_are_refused_unless_asked() {
    let shm = std::path::Path::new("/dev/shm");
    let on_tmpfs = std::fs::read_to_string("/proc/mounts")
        .is_ok_and(|m| m.lines().any(|l| l.starts_with("tmpfs /dev/shm ")));
    if !on_tmpfs {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI machines have /dev/shm on tmpfs"
        );
        eprintln!("skipped: /dev/shm is not a tmpfs here");
        return;
    }
    let w = quiver_benches::Workload::generate(tiny());
    let refused = quiver_benches::durability::run_in(shm, &w, 4, false).expect("runs");
    assert!(refused.durable.is_empty());
    let why = refused.durable_refused.clone().expect("refused");
    assert!(
        why.contains("tmpfs") && why.contains("--durable-on-ram-disk"),
        "{why}"
    );
    let asked = quiver_benches::durability::run_in(shm, &w, 4, true).expect("runs");
    assert_eq!(asked.durable.len(), 9);
    assert!(asked.durable_refused.is_none());
}
