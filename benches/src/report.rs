//! Runs every workload on every subject and renders the comparison.

use std::time::Instant;

use engine_api::{ErrorKind, PropertyValue, Result};
use serde::Serialize;

use crate::workload::{Fold, ROLES, Rng, Subject, Workload, WorkloadSize, mix, updated_score};

/// Makes a fresh subject.
pub type SubjectFactory = Box<dyn Fn() -> Result<Box<dyn Subject>>>;

/// What a subject is, which decides the yardstick its ratios are taken against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// A peer that keeps its data in memory (a yardstick for the in-memory backends).
    InMemoryPeer,
    /// A peer that keeps its data on disk (RocksDB raw: the on-disk backend's
    /// yardstick).
    OnDiskPeer,
    /// One of Quiver's in-memory backends: compared with the best in-memory peer of
    /// each row.
    InMemory,
    /// Quiver's on-disk backend: compared with the on-disk peer.
    OnDisk,
}

impl Kind {
    /// A yardstick, not one of ours.
    pub fn is_peer(self) -> bool {
        matches!(self, Kind::InMemoryPeer | Kind::OnDiskPeer)
    }
}

/// One subject of the main table: its column name, what it is, its settings as the
/// report states them (written where the subject is made, so the two cannot drift
/// apart), and how to make a fresh one.
pub struct SubjectEntry {
    /// Column label.
    pub name: String,
    /// Peer or backend, in memory or on disk.
    pub kind: Kind,
    /// What the subject is and how it is configured, in a sentence or two.
    pub settings: String,
    /// Makes a fresh subject.
    pub make: SubjectFactory,
}

impl SubjectEntry {
    /// An entry named `name` whose subjects `make` builds as `settings` says.
    pub fn new(
        name: impl Into<String>,
        kind: Kind,
        settings: impl Into<String>,
        make: impl Fn() -> Result<Box<dyn Subject>> + 'static,
    ) -> Self {
        SubjectEntry {
            name: name.into(),
            kind,
            settings: settings.into(),
            make: Box::new(make),
        }
    }
}

impl std::fmt::Debug for SubjectEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectEntry")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Workload row label.
    pub workload: String,
    /// Subject column label.
    pub subject: String,
    /// The value (a rate, or bytes for memory rows): the median of `samples`.
    pub value: f64,
    /// The value of each repetition, in the order they ran.
    pub samples: Vec<f64>,
    /// Unit of `value`.
    pub unit: String,
    /// Operations done (in each repetition).
    pub operations: u64,
    /// Wall time in seconds, summed over the repetitions (0 for memory rows).
    pub seconds: f64,
    /// What the subject holds or returned after the workload, compared across
    /// subjects: a [`crate::workload::Digest`] of its state read back after a
    /// writing workload, the count the operations returned for a reading one, the
    /// entries the subject reports for an index build; 0 only for memory rows.
    pub checksum: u64,
    /// What state the subject was in, where the row says (the cold rows: the block
    /// cache's size, whether the page cache was dropped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Machine description.
    pub machine: String,
    /// Commit of the code.
    pub commit: String,
    /// Workload sizes.
    pub size: WorkloadSize,
    /// How many times every workload ran on every subject (each figure is the
    /// median of that many).
    pub repeats: usize,
    /// Subjects in column order.
    pub subjects: Vec<String>,
    /// What each subject is, in column order (it decides each ratio's yardstick).
    pub kinds: Vec<Kind>,
    /// Each subject's settings, in column order.
    pub settings: Vec<(String, String)>,
    /// All figures.
    pub figures: Vec<Figure>,
    /// Retried conflicts in the mixed workload, per subject, over all repetitions.
    pub conflicts: Vec<(String, u64)>,
    /// Subjects that cannot run some rows, and why (their cells read "n/a").
    pub not_applicable: Vec<(String, String)>,
}

fn fig(workload: &str, subject: &str, ops: u64, seconds: f64, unit: &str, checksum: u64) -> Figure {
    let value = if seconds > 0.0 {
        ops as f64 / seconds
    } else {
        0.0
    };
    Figure {
        workload: workload.to_string(),
        subject: subject.to_string(),
        value,
        samples: vec![value],
        unit: unit.to_string(),
        operations: ops,
        seconds,
        checksum,
        note: None,
    }
}

fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let start = Instant::now();
    let out = f()?;
    Ok((out, start.elapsed().as_secs_f64()))
}

/// The groups of workloads `--workloads` selects (the import always runs: every
/// other workload reads the graph it builds).
pub const WORKLOAD_GROUPS: [&str; 6] = ["reads", "scan", "expand", "writes", "mixed", "index"];

/// Which workload groups run: all of them, or those named.
#[derive(Debug, Clone, Default)]
pub struct Selection(Vec<String>);

impl Selection {
    /// Every group.
    pub fn all() -> Self {
        Selection(Vec::new())
    }

    /// The groups named (an empty list: all). Errors: a name that is no group.
    pub fn of(names: &[String]) -> Result<Self> {
        for n in names {
            if !WORKLOAD_GROUPS.contains(&n.trim()) {
                return Err(engine_api::Error::invalid_input(format!(
                    "no workload group {n:?} (groups: import always, and {})",
                    WORKLOAD_GROUPS.join(", ")
                )));
            }
        }
        Ok(Selection(
            names.iter().map(|n| n.trim().to_string()).collect(),
        ))
    }

    /// Whether `group` runs.
    pub fn wants(&self, group: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|g| g == group)
    }
}

/// Runs the selected workloads on one subject (the import always). `heap` reports
/// live heap bytes if the process counts them. Skipping a group changes the graph
/// the later ones see the same way for every subject.
pub fn run_subject(
    name: &str,
    subject: &mut dyn Subject,
    w: &Workload,
    heap: &dyn Fn() -> Option<i64>,
    only: &Selection,
) -> Result<(Vec<Figure>, u64)> {
    let size = w.size;
    let mut out = Vec::new();
    let mut ids: Vec<u64> = Vec::with_capacity(size.vertices);
    // Memory: the Rust heap (if the process counts it) plus, for a subject built on
    // RocksDB, RocksDB's own memory; disk: RocksDB's files.
    fn usage(
        s: &dyn Subject,
        heap: &dyn Fn() -> Option<i64>,
    ) -> Result<(Option<i64>, Option<i64>)> {
        let native = s.storage()?;
        let memory = heap().map(|h| h + native.map_or(0, |u| u.memory() as i64));
        Ok((memory, native.map(|u| u.disk() as i64)))
    }
    let s: &dyn Subject = subject;

    let (heap0, disk0) = usage(s, heap)?;
    let ((), tv) = timed(|| {
        for batch in w.vertices.chunks(size.batch.max(1)) {
            ids.extend(s.import_vertices(batch)?);
        }
        Ok(())
    })?;
    let (heap1, disk1) = usage(s, heap)?;
    let ((), te) = timed(|| {
        for batch in w.edges.chunks(size.batch.max(1)) {
            s.import_edges(batch, &ids)?;
        }
        Ok(())
    })?;
    let (heap2, disk2) = usage(s, heap)?;
    let (v, e) = (size.vertices as u64, size.edges as u64);
    // Read back outside the timed part; the digest after the edges covers both
    // imports, the vertex count alone the vertex import.
    let imported = s.digest()?;
    out.push(fig(
        IMPORT_VERTICES,
        name,
        v,
        tv,
        "vertices/s",
        imported.vertices,
    ));
    out.push(fig(
        "import: edges",
        name,
        e,
        te,
        "edges/s",
        imported.checksum(),
    ));
    out.push(fig(
        "import: all records",
        name,
        v + e,
        tv + te,
        "records/s",
        imported.checksum(),
    ));
    if let (Some(h0), Some(h1), Some(h2)) = (heap0, heap1, heap2) {
        let mut m = fig("memory: bytes per vertex", name, 0, 0.0, "B", 0);
        m.value = (h1 - h0) as f64 / v.max(1) as f64;
        out.push(m);
        let mut m = fig("memory: bytes per edge", name, 0, 0.0, "B", 0);
        m.value = (h2 - h1) as f64 / e.max(1) as f64;
        out.push(m);
    }
    if let (Some(d0), Some(d1), Some(d2)) = (disk0, disk1, disk2) {
        let mut m = fig(DISK_VERTEX, name, 0, 0.0, "B", 0);
        m.value = (d1 - d0) as f64 / v.max(1) as f64;
        out.push(m);
        let mut m = fig(DISK_EDGE, name, 0, 0.0, "B", 0);
        m.value = (d2 - d1) as f64 / e.max(1) as f64;
        out.push(m);
    }
    // The reads meet the data in the state reads usually meet it: on disk, flushed
    // to SST files and compacted.
    subject.settle()?;
    let s: &dyn Subject = subject;
    let flushed = s.storage()?;
    if let (Some(u), Some(d0)) = (flushed, disk0) {
        let mut m = fig(DISK_FLUSHED, name, 0, 0.0, "B", 0);
        m.value = (u.disk() as i64 - d0) as f64 / (v + e).max(1) as f64;
        out.push(m);
    }

    // What each read must fold, computed from the workload outside the timed parts:
    // the subject's key of each imported vertex, in import order.
    let truth = Truth::new(s, w, &ids)?;
    let mut rng = Rng::new(7);
    let read_names = |picks: &[usize], row: &str| -> Result<Figure> {
        let reads: Vec<u64> = picks.iter().map(|i| ids[*i]).collect();
        let (got, t) = timed(|| {
            let mut fold = Fold::default();
            for chunk in reads.chunks(1000) {
                fold = fold.merge(s.read_names(chunk)?);
            }
            Ok(fold)
        })?;
        let want = truth.names(picks.iter().copied());
        check_fold(name, row, got, want)?;
        Ok(fig(
            row,
            name,
            reads.len() as u64,
            t,
            "reads/s",
            want.checksum(),
        ))
    };
    let expand = |picks: &[usize], hops: usize, row: &str| -> Result<Figure> {
        let starts: Vec<u64> = picks.iter().map(|i| ids[*i]).collect();
        let (got, t) = timed(|| s.expand(&starts, hops))?;
        let (want, canonical) = truth.keys(truth.reached(picks, hops));
        check_fold(name, row, got, want)?;
        Ok(fig(
            row,
            name,
            starts.len() as u64,
            t,
            "starts/s",
            canonical.checksum(),
        ))
    };
    let mut read_picks = None;
    if only.wants("reads") {
        let picks: Vec<usize> = (0..size.reads).map(|_| rng.below(ids.len())).collect();
        out.push(read_names(&picks, "point read by id")?);
        read_picks = Some(picks);
    }
    if only.wants("scan") {
        let label = ROLES[2];
        let (got, t) = timed(|| {
            let mut fold = Fold::default();
            for _ in 0..5 {
                fold = fold.merge(s.label_scan(label)?);
            }
            Ok(fold)
        })?;
        let row = "label scan";
        let with_label = (0..w.vertices.len()).filter(|i| w.vertices[*i].labels.contains(&label));
        let (want, canonical) = truth.keys(with_label.cycle().take(5 * truth.labelled(label)));
        check_fold(name, row, got, want)?;
        out.push(fig(
            row,
            name,
            got.count,
            t,
            "vertices/s",
            canonical.checksum(),
        ));
    }
    let mut expand_picks = None;
    if only.wants("expand") {
        let picks: Vec<usize> = (0..size.expansions).map(|_| rng.below(ids.len())).collect();
        out.push(expand(&picks, 1, "1-hop expansion")?);
        out.push(expand(&picks[..picks.len() / 10], 2, "2-hop expansion")?);
        expand_picks = Some(picks);
    }
    // A fifth of the same reads again with a block cache an eighth of the SST files
    // and the subject's files evicted from the page cache, for a subject with a
    // block cache.
    if let Some(files) = flushed
        && (read_picks.is_some() || expand_picks.is_some())
    {
        let bytes = usize::try_from(files.sst_files / 8).unwrap_or(usize::MAX);
        if let Some(done) = s.cold(Some(bytes))? {
            let note = format!(
                "block cache {:.1} MiB (an eighth of {:.1} MiB of SST files), {done}",
                bytes as f64 / (1 << 20) as f64,
                files.sst_files as f64 / (1 << 20) as f64
            );
            let noted = |mut f: Figure| {
                f.note = Some(note.clone());
                f
            };
            let fifth = |p: &[usize]| p.len().div_ceil(5);
            if let Some(picks) = &read_picks {
                out.push(noted(read_names(&picks[..fifth(picks)], READ_COLD)?));
            }
            if let Some(picks) = &expand_picks {
                out.push(noted(expand(&picks[..fifth(picks)], 1, EXPAND_COLD)?));
            }
            s.cold(None)?;
        }
    }
    if only.wants("writes") {
        let targets: Vec<u64> = (0..size.small_writes)
            .map(|_| ids[rng.below(ids.len())])
            .collect();
        let ((), t) = timed(|| {
            for target in &targets {
                retry(|| s.small_write(*target))?;
            }
            Ok(())
        })?;
        out.push(fig(
            "small write txn, 1 thread",
            name,
            targets.len() as u64,
            t,
            "txn/s",
            s.digest()?.checksum(),
        ));
        for threads in [2usize, 4] {
            let ((), t) = timed(|| {
                std::thread::scope(|sc| {
                    let handles: Vec<_> = targets
                        .chunks(targets.len().div_ceil(threads).max(1))
                        .map(|part| {
                            sc.spawn(move || {
                                part.iter().try_for_each(|t| retry(|| s.small_write(*t)))
                            })
                        })
                        .collect();
                    handles.into_iter().try_for_each(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(engine_api::Error::new(
                                ErrorKind::Io,
                                "writer thread panicked",
                            ))
                        })
                    })
                })
            })?;
            out.push(fig(
                if threads == 2 {
                    "small write txn, 2 threads"
                } else {
                    "small write txn, 4 threads"
                },
                name,
                targets.len() as u64,
                t,
                "txn/s",
                s.digest()?.checksum(),
            ));
        }
    }
    let mut conflicts = 0;
    if only.wants("mixed") {
        for (threads, row) in MIXED {
            let plans: Vec<Vec<(usize, bool)>> = (0..threads)
                .map(|thread| mixed_plan(thread, ids.len(), size.mixed_ops))
                .collect();
            let ((retried, got), t) = timed(|| mixed(s, &ids, &plans))?;
            conflicts += retried;
            let reads = plans.iter().flatten().filter(|(_, write)| !write);
            let want = truth.names(reads.map(|(i, _)| *i));
            check_fold(name, row, got, want)?;
            out.push(fig(
                row,
                name,
                threads * size.mixed_ops as u64,
                t,
                "ops/s",
                mix(s.digest()?.checksum() ^ want.checksum()) | 1,
            ));
        }
    }
    if !only.wants("index") {
        return Ok((out, conflicts));
    }

    // Last, so the index does not change the rows above: equality lookups of `id`
    // among all `Person` vertices, by label scan, then through an index.
    let values: Vec<PropertyValue> = (0..size.reads / 20)
        .map(|_| PropertyValue::Int(rng.below(size.vertices) as i64))
        .collect();
    // Each lookup without an index reads every `Person`: as many as make about
    // 600k vertex visits (6 on the default graph, 2 on the large one; at the on-disk
    // subjects' 3 lookups/s of the default graph, 2M visits took 7 s each per
    // round).
    let scans = &values[..(LOOKUP_SCAN_VISITS / size.vertices.max(1))
        .clamp(2, 100)
        .min(values.len())];
    // Every looked-up `id` is one imported vertex's (the small writes' are -1).
    let looked_up = |values: &[PropertyValue]| {
        truth.keys(values.iter().map(|v| match v {
            PropertyValue::Int(k) => *k as usize,
            _ => usize::MAX,
        }))
    };
    if let (Some(got), t) = timed(|| s.lookup("Person", "id", scans))? {
        let (want, canonical) = looked_up(scans);
        check_fold(name, LOOKUP_SCAN, got, want)?;
        out.push(fig(
            LOOKUP_SCAN,
            name,
            scans.len() as u64,
            t,
            "lookups/s",
            canonical.checksum(),
        ));
    }
    // The index's memory: heap, and RocksDB's for a subject built on it.
    let (heap_before, _) = usage(s, heap)?;
    let (indexed, t) = timed(|| s.create_index("Person", "id"))?;
    let (heap_after, _) = usage(s, heap)?;
    if let Some(entries) = indexed {
        out.push(fig(
            "index build: label+property",
            name,
            size.vertices as u64,
            t,
            "vertices/s",
            entries,
        ));
        if let (Some(h0), Some(h1)) = (heap_before, heap_after) {
            // Every vertex is a `Person` with an `id`: one entry each.
            let mut m = fig(INDEX_MEMORY, name, 0, 0.0, "B", 0);
            m.value = (h1 - h0) as f64 / size.vertices.max(1) as f64;
            out.push(m);
        }
        if let (Some(got), t) = timed(|| s.lookup("Person", "id", &values))? {
            let (want, canonical) = looked_up(&values);
            check_fold(name, LOOKUP_INDEX, got, want)?;
            out.push(fig(
                LOOKUP_INDEX,
                name,
                values.len() as u64,
                t,
                "lookups/s",
                canonical.checksum(),
            ));
        }
    }
    Ok((out, conflicts))
}

/// The mixed workload's rows by thread count.
pub const MIXED: [(u64, &str); 3] = [
    (1, "mixed 90% read / 10% write, 1 thread"),
    (2, "mixed 90% read / 10% write, 2 threads"),
    (4, "mixed 90% read / 10% write, 4 threads"),
];

/// One thread's operations in the mixed workload: (vertex index, whether it writes),
/// 9 in 10 reads, drawn from a generator seeded by the thread.
fn mixed_plan(thread: u64, vertices: usize, ops: usize) -> Vec<(usize, bool)> {
    let mut rng = Rng::new(100 + thread);
    (0..ops)
        .map(|_| {
            let index = rng.below(vertices);
            (index, rng.below(10) == 0)
        })
        .collect()
}

/// One thread per plan runs its operations on vertices of `ids`: a read reads the
/// vertex's name, a write sets its score (to a value that depends on the vertex
/// only, so the final state does not depend on the order), retrying conflicts.
/// Returns the conflicts retried and the fold of every name read.
fn mixed(s: &dyn Subject, ids: &[u64], plans: &[Vec<(usize, bool)>]) -> Result<(u64, Fold)> {
    std::thread::scope(|sc| {
        let handles: Vec<_> = plans
            .iter()
            .map(|plan| {
                sc.spawn(move || -> Result<(u64, Fold)> {
                    let mut conflicts = 0;
                    let mut read = Fold::default();
                    for &(index, write) in plan {
                        let v = ids[index];
                        if write {
                            loop {
                                match s.update_score(v, updated_score(index)) {
                                    Ok(()) => break,
                                    Err(e) if e.is_retryable() => {
                                        conflicts += 1;
                                        // The other writer may be off the CPU: let it
                                        // finish instead of spinning against it.
                                        std::thread::yield_now();
                                    }
                                    Err(e) => return Err(e),
                                }
                            }
                        } else {
                            read = read.merge(s.read_names(&[v])?);
                        }
                    }
                    Ok((conflicts, read))
                })
            })
            .collect();
        let mut total = (0, Fold::default());
        for h in handles {
            let (c, f) = h.join().unwrap_or_else(|_| {
                Err(engine_api::Error::new(
                    ErrorKind::Io,
                    "mixed thread panicked",
                ))
            })?;
            total = (total.0 + c, total.1.merge(f));
        }
        Ok(total)
    })
}

/// What the reads of one subject must fold, from the workload it imported: the
/// subject's key of each imported vertex and each vertex's out-neighbours, by
/// import index.
struct Truth<'w> {
    w: &'w Workload,
    keys: Vec<u64>,
    out: Vec<Vec<usize>>,
}

impl<'w> Truth<'w> {
    fn new(s: &dyn Subject, w: &'w Workload, ids: &[u64]) -> Result<Self> {
        let keys = ids.iter().map(|id| s.id_key(*id)).collect::<Result<_>>()?;
        let mut out = vec![Vec::new(); w.vertices.len()];
        for e in &w.edges {
            out[e.source].push(e.target);
        }
        Ok(Truth { w, keys, out })
    }

    /// The names of these vertices, folded.
    fn names(&self, indices: impl Iterator<Item = usize>) -> Fold {
        let mut fold = Fold::default();
        for i in indices {
            if let Some((_, name)) = self.w.vertices[i].props.iter().find(|(k, _)| *k == "name") {
                fold.add_value(name);
            }
        }
        fold
    }

    /// These vertices folded by the subject's keys, and by their import index (the
    /// same for every subject). An index past the import folds a key no vertex has.
    fn keys(&self, indices: impl Iterator<Item = usize>) -> (Fold, Fold) {
        let (mut by_key, mut by_index) = (Fold::default(), Fold::default());
        for i in indices {
            by_key.add(self.keys.get(i).copied().unwrap_or(u64::MAX));
            by_index.add(i as u64);
        }
        (by_key, by_index)
    }

    /// How many imported vertices have `label`.
    fn labelled(&self, label: &str) -> usize {
        self.w
            .vertices
            .iter()
            .filter(|v| v.labels.contains(&label))
            .count()
    }

    /// The vertices `hops` outgoing steps from each start, once per path.
    fn reached(&self, starts: &[usize], hops: usize) -> impl Iterator<Item = usize> {
        let mut frontier = starts.to_vec();
        for _ in 0..hops {
            frontier = frontier
                .iter()
                .flat_map(|v| self.out[*v].iter().copied())
                .collect();
        }
        frontier.into_iter()
    }
}

/// Refuses a read whose fold is not what the subject must have read.
fn check_fold(subject: &str, row: &str, got: Fold, want: Fold) -> Result<()> {
    if got == want {
        return Ok(());
    }
    Err(engine_api::Error::new(
        ErrorKind::Corrupt,
        format!(
            "{subject} read other data than it holds in '{row}': {} items folding to {:#x}, where the workload gives {} folding to {:#x}; refusing to write a report",
            got.count, got.sum, want.count, want.sum
        ),
    ))
}

/// Vertex visits the lookups without an index make together (see `run_subject`).
const LOOKUP_SCAN_VISITS: usize = 600_000;

const INDEX_MEMORY: &str = "memory: bytes per label+property index entry";
const DISK_VERTEX: &str = "disk: bytes per vertex, as written";
const DISK_EDGE: &str = "disk: bytes per edge, as written";
const DISK_FLUSHED: &str = "disk: bytes per record, compacted";
const READ_COLD: &str = "point read by id, cold";
const EXPAND_COLD: &str = "1-hop expansion, cold";
const LOOKUP_SCAN: &str = "label+property lookup, no index";
const LOOKUP_INDEX: &str = "label+property lookup, index";
const IMPORT_VERTICES: &str = "import: vertices";
const IMPORT_INDEXED: &str = "import: vertices, label+property index present";

/// Imports the vertices into a fresh subject that has an index on `Person`(`id`);
/// `None` for a subject without indexes.
fn run_indexed_import(name: &str, s: &dyn Subject, w: &Workload) -> Result<Option<Figure>> {
    if s.create_index("Person", "id")?.is_none() {
        return Ok(None);
    }
    let v = w.size.vertices as u64;
    let ((), t) = timed(|| {
        for batch in w.vertices.chunks(w.size.batch.max(1)) {
            s.import_vertices(batch)?;
        }
        Ok(())
    })?;
    Ok(Some(fig(
        IMPORT_INDEXED,
        name,
        v,
        t,
        "vertices/s",
        s.digest()?.checksum(),
    )))
}

fn retry(mut f: impl FnMut() -> Result<()>) -> Result<()> {
    loop {
        match f() {
            Err(e) if e.is_retryable() => std::thread::yield_now(),
            other => return other,
        }
    }
}

/// How many rounds of every subject a run makes.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    /// Measured rounds (at least 1): each figure is their median.
    pub repeats: usize,
    /// A discarded first round on a twentieth of the graph, so that no subject meets a
    /// cold process (code, allocator, page cache) alone.
    pub warm_up: bool,
}

impl Rounds {
    /// `repeats` measured rounds after a discarded warm-up round.
    pub fn new(repeats: usize) -> Self {
        Rounds {
            repeats: repeats.max(1),
            warm_up: true,
        }
    }

    /// Without the warm-up round (a process that has run the workloads already).
    #[must_use]
    pub fn without_warm_up(mut self) -> Self {
        self.warm_up = false;
        self
    }
}

/// One subject's figures of one round and the conflicts its mixed workload retried.
fn run_one(
    entry: &SubjectEntry,
    w: &Workload,
    heap: &dyn Fn() -> Option<i64>,
    only: &Selection,
) -> Result<(Vec<Figure>, u64, bool)> {
    let subject = (entry.make)()?;
    let mut subject = subject;
    let (mut figures, conflicts) = run_subject(&entry.name, subject.as_mut(), w, heap, only)?;
    drop(subject);
    let indexed = if only.wants("index") {
        let fresh = (entry.make)()?;
        let indexed = run_indexed_import(&entry.name, fresh.as_ref(), w)?;
        drop(fresh);
        indexed
    } else {
        None
    };
    let has_index = indexed.is_some();
    figures.extend(indexed);
    Ok((figures, conflicts, has_index))
}

/// Runs every subject (each fresh, one after the other) in `rounds` (after the
/// warm-up round, if asked: all subjects once, then all again, each round starting
/// one subject later, so neither a drift of the machine nor running first favours a
/// subject) and checks that they agree on every checksum, in every round, and that
/// no checksum but a memory row's is 0 (a subject that did no work makes the run
/// fail rather than write a report). Each figure is the median of its rounds; all
/// of them are kept in [`Figure::samples`], in round order.
pub fn run(
    size: WorkloadSize,
    subjects: &[SubjectEntry],
    heap: &dyn Fn() -> Option<i64>,
    machine: String,
    commit: String,
    rounds: Rounds,
    only: &Selection,
) -> Result<Report> {
    let w = Workload::generate(size);
    let repeats = rounds.repeats.max(1);
    let names: Vec<String> = subjects.iter().map(|s| s.name.clone()).collect();
    let mut conflicts: Vec<(String, u64)> = names.iter().map(|n| (n.clone(), 0)).collect();
    let mut runs: Vec<Vec<Figure>> = Vec::with_capacity(repeats);
    let mut not_applicable = Vec::new();
    let started = Instant::now();
    if rounds.warm_up && !subjects.is_empty() {
        let vertices = (size.vertices / 20).max(1);
        let tenth = Workload::generate(WorkloadSize {
            vertices,
            // No (source, type, target) twice, as in the measured rounds.
            edges: (size.edges / 20).min(vertices.saturating_mul(vertices)),
            reads: size.reads / 20,
            expansions: size.expansions / 20,
            small_writes: size.small_writes / 20,
            mixed_ops: size.mixed_ops / 20,
            ..size
        });
        eprintln!("warming up: every subject on a twentieth of the graph (not measured)");
        for entry in subjects {
            run_one(entry, &tenth, heap, only)?;
        }
    }
    for rep in 1..=repeats {
        let mut per_subject: Vec<Vec<Figure>> = vec![Vec::new(); subjects.len()];
        for k in 0..subjects.len() {
            let at = (k + rep - 1) % subjects.len();
            let entry = &subjects[at];
            eprintln!(
                "[{rep}/{repeats}] {}: import, reads, scans, expansions, writes, mixed, index ({:.0} s so far)",
                entry.name,
                started.elapsed().as_secs_f64()
            );
            let (figures, c, has_index) = run_one(entry, &w, heap, only)?;
            if !has_index && rep == 1 && only.wants("index") {
                not_applicable.push((
                    entry.name.clone(),
                    "has no label+property lookups or indexes (the label+property rows)"
                        .to_string(),
                ));
            }
            conflicts[at].1 += c;
            per_subject[at] = figures;
        }
        // Rows in column order, whatever order the subjects ran in.
        let figures: Vec<Figure> = per_subject.into_iter().flatten().collect();
        check_agreement(&figures)?;
        runs.push(figures);
    }
    not_applicable.sort_by_key(|(name, _)| names.iter().position(|n| n == name));
    Ok(Report {
        machine,
        commit,
        size,
        repeats,
        subjects: names,
        kinds: subjects.iter().map(|s| s.kind).collect(),
        settings: subjects
            .iter()
            .map(|s| (s.name.clone(), s.settings.clone()))
            .collect(),
        figures: merge_repetitions(runs)?,
        conflicts,
        not_applicable,
    })
}

/// Checks one repetition's figures: no checksum 0 but a memory row's, and every
/// subject's checksum of a workload equal to the first subject's.
pub fn check_agreement(figures: &[Figure]) -> Result<()> {
    if let Some(f) = figures.iter().find(|f| f.checksum == 0 && f.unit != "B") {
        return Err(engine_api::Error::new(
            ErrorKind::Corrupt,
            format!(
                "{} did no work in '{}' (its checksum is 0); refusing to write a report",
                f.subject, f.workload
            ),
        ));
    }
    for f in figures {
        let first = figures
            .iter()
            .find(|g| g.workload == f.workload)
            .map(|g| g.checksum);
        if first != Some(f.checksum) {
            return Err(engine_api::Error::new(
                ErrorKind::Corrupt,
                format!(
                    "{} returned {} results for '{}', the first subject {:?}",
                    f.subject, f.checksum, f.workload, first
                ),
            ));
        }
    }
    Ok(())
}

/// One figure per (workload, subject): the median of the repetitions, which must
/// have measured the same rows with the same checksums.
fn merge_repetitions(runs: Vec<Vec<Figure>>) -> Result<Vec<Figure>> {
    let mut runs = runs.into_iter();
    let Some(mut merged) = runs.next() else {
        return Ok(Vec::new());
    };
    // A figure's value may be set after it was made (memory rows): samples are
    // taken from the values.
    for m in &mut merged {
        m.samples = vec![m.value];
    }
    for run in runs {
        if run.len() != merged.len() {
            return Err(engine_api::Error::new(
                ErrorKind::Corrupt,
                "the repetitions measured different rows; refusing to write a report",
            ));
        }
        for (m, f) in merged.iter_mut().zip(run) {
            if (m.workload.as_str(), m.subject.as_str(), m.checksum)
                != (f.workload.as_str(), f.subject.as_str(), f.checksum)
            {
                return Err(engine_api::Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "{} returned {} results for '{}' in one repetition and {} in another; refusing to write a report",
                        f.subject, f.checksum, f.workload, m.checksum
                    ),
                ));
            }
            m.samples.push(f.value);
            m.seconds += f.seconds;
        }
    }
    for m in &mut merged {
        m.value = median(&m.samples);
    }
    Ok(merged)
}

pub(crate) fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The lowest and highest of `samples` (`value` twice if there are none: a figure
/// of a report made before repetitions).
pub(crate) fn sample_range(samples: &[f64], value: f64) -> (f64, f64) {
    if samples.is_empty() {
        return (value, value);
    }
    samples
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

/// Half the spread of a figure's samples, relative to its median, in percent.
fn spread_percent(f: &Figure) -> Option<f64> {
    let (lo, hi) = sample_range(&f.samples, f.value);
    (f.samples.len() > 1 && f.value > 0.0).then(|| (hi - lo) / 2.0 / f.value * 100.0)
}

pub(crate) fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.1}")
    }
}

/// Targets set by issues against each subject's yardstick (the best in-memory peer
/// of the row for an in-memory backend, RocksDB raw for the on-disk backend):
/// (workload row, subject, minimum paired ratio). Judged only on the graph they were
/// set for ([`TARGET_GRAPH`]).
pub const TARGETS: &[(&str, &str, f64)] = &[
    ("point read by id", "inmem-txn", 0.3),
    ("import: all records", "inmem-txn", 0.25),
    ("small write txn, 2 threads", "inmem-txn", 1.0),
    ("import: all records", "ondisk", 0.5),
    ("import: edges", "ondisk", 0.4),
    ("point read by id", "ondisk", 0.8),
];

/// Targets between two rows of one subject, for every subject of ours that has
/// both: (row, row it is compared to, minimum paired ratio). An index lookup finds
/// one vertex by value: it should cost no more than two point reads by id.
pub const ROW_TARGETS: &[(&str, &str, f64)] = &[
    (LOOKUP_INDEX, "point read by id", 0.5),
    (IMPORT_INDEXED, IMPORT_VERTICES, 0.6),
];

/// Targets between two rows of one subject: (row, subject, row it is compared to,
/// minimum paired ratio).
pub const SUBJECT_ROW_TARGETS: &[(&str, &str, &str, f64)] = &[(
    "small write txn, 2 threads",
    "inmem-txn",
    "small write txn, 1 thread",
    1.6,
)];

/// The graph (vertices, edges) the targets were set on: the default report's.
pub const TARGET_GRAPH: (usize, usize) = (100_000, 500_000);

/// A ratio taken round by round (same round, same data): its median and range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// The median of the rounds' ratios.
    pub median: f64,
    /// The lowest round's ratio.
    pub low: f64,
    /// The highest round's ratio.
    pub high: f64,
}

impl Paired {
    /// The ratio of `a` to `b` in each round both measured (a value of 0 is no
    /// measurement); `None` if there is none.
    pub fn of(a: &Figure, b: &Figure) -> Option<Paired> {
        let rounds: Vec<f64> = if a.samples.len() == b.samples.len() && !a.samples.is_empty() {
            a.samples
                .iter()
                .zip(&b.samples)
                .filter(|(x, y)| **x > 0.0 && **y > 0.0)
                .map(|(x, y)| x / y)
                .collect()
        } else if a.value > 0.0 && b.value > 0.0 {
            // A figure made without rounds: its value alone.
            vec![a.value / b.value]
        } else {
            Vec::new()
        };
        if rounds.is_empty() {
            return None;
        }
        let (low, high) = sample_range(&rounds, 0.0);
        Some(Paired {
            median: median(&rounds),
            low,
            high,
        })
    }

    /// `0.42x`, with the range when the rounds differ: `0.42x (0.40–0.45)`.
    pub fn cell(&self) -> String {
        if (self.high - self.low).abs() < 0.005 {
            format!("{:.2}x", self.median)
        } else {
            format!("{:.2}x ({:.2}–{:.2})", self.median, self.low, self.high)
        }
    }
}

impl Report {
    /// What a cell without a figure says: "n/a" for a subject that cannot run the
    /// row (the reason is listed under the table), "—" for a row that does not apply
    /// to it (the disk rows of an in-memory subject).
    fn missing_cell(&self, row: &str, subject: &str) -> String {
        // The one reason listed today: no property indexes, for the label+property rows.
        if row.contains("label+property") && self.not_applicable.iter().any(|(s, _)| s == subject) {
            "n/a".into()
        } else {
            "—".into()
        }
    }

    /// The figure of `workload` for `subject`.
    pub fn figure(&self, workload: &str, subject: &str) -> Option<&Figure> {
        self.figures
            .iter()
            .find(|f| f.workload == workload && f.subject == subject)
    }

    /// What `subject` is (`None` for a subject the report does not list).
    pub fn kind(&self, subject: &str) -> Option<Kind> {
        let at = self.subjects.iter().position(|s| s == subject)?;
        self.kinds.get(at).copied()
    }

    /// The peer `subject`'s ratio in `row` is taken against: for an in-memory backend
    /// the best in-memory peer of the row (highest median; lowest for a memory row),
    /// for the on-disk backend the on-disk peer; `None` for a peer, or when no peer
    /// measured the row.
    pub fn yardstick(&self, row: &str, subject: &str) -> Option<&Figure> {
        let want = match self.kind(subject)? {
            Kind::InMemory => Kind::InMemoryPeer,
            Kind::OnDisk => Kind::OnDiskPeer,
            Kind::InMemoryPeer | Kind::OnDiskPeer => return None,
        };
        let lower_is_better = self.figure(row, subject)?.unit == "B";
        self.subjects
            .iter()
            .filter(|s| self.kind(s) == Some(want))
            .filter_map(|s| self.figure(row, s))
            .filter(|f| f.value > 0.0)
            .max_by(|a, b| {
                let order = a.value.total_cmp(&b.value);
                if lower_is_better {
                    order.reverse()
                } else {
                    order
                }
            })
    }

    /// `subject`'s paired ratio in `row` to its yardstick, and the yardstick's name.
    pub fn ratio(&self, row: &str, subject: &str) -> Option<(Paired, &str)> {
        let peer = self.yardstick(row, subject)?;
        let paired = Paired::of(self.figure(row, subject)?, peer)?;
        Some((paired, &peer.subject))
    }

    /// Whether the targets apply: the report ran on the graph they were set for.
    pub fn targets_apply(&self) -> bool {
        (self.size.vertices, self.size.edges) == TARGET_GRAPH
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut rows: Vec<&str> = Vec::new();
        for f in &self.figures {
            if !rows.contains(&f.workload.as_str()) {
                rows.push(&f.workload);
            }
        }
        // A backend gets a ratio column when a yardstick of its kind ran.
        let (ours, unmatched): (Vec<&String>, Vec<&String>) = self
            .subjects
            .iter()
            .filter(|s| self.kind(s).is_some_and(|k| !k.is_peer()))
            .partition(|s| rows.iter().any(|r| self.ratio(r, s).is_some()));
        let mut md = String::new();
        md.push_str("# Quiver backend comparison\n\n");
        md.push_str(&format!(
            "Machine: {}. Commit: {}. Workload: {} vertices (2 labels, 3 properties), {} edges (1 property), import batches of {}, {} point reads, {} 1-hop starts, {} small write transactions, {} mixed operations per thread.\n\n",
            self.machine, self.commit, self.size.vertices, self.size.edges, self.size.batch,
            self.size.reads, self.size.expansions, self.size.small_writes, self.size.mixed_ops
        ));
        md.push_str("Throughput: higher is better; memory: lower is better. Each backend's ratio is against its yardstick in the same run: an in-memory backend against the best in-memory peer of that row (named in the cell), the on-disk backend against RocksDB raw.");
        if self.repeats > 1 {
            md.push_str(&format!(
                " After a discarded warm-up round on a twentieth of the graph, every workload ran {} times on every subject (each round starting with the next subject); a figure is the median, ± half the spread between the lowest and highest round, relative to the median; a ratio is taken round by round (same round, same data) and shown as the median with its range.",
                self.repeats
            ));
        }
        md.push_str("\n\n");
        md.push_str("| workload | unit |");
        for s in &self.subjects {
            md.push_str(&format!(" {s} |"));
        }
        for s in &ours {
            md.push_str(&format!(" {s} / yardstick |"));
        }
        md.push_str("\n|---|---|");
        for _ in 0..self.subjects.len() + ours.len() {
            md.push_str("---:|");
        }
        md.push('\n');
        for row in &rows {
            let unit = self
                .figures
                .iter()
                .find(|f| f.workload == *row)
                .map(|f| f.unit.clone())
                .unwrap_or_default();
            md.push_str(&format!("| {row} | {unit} |"));
            for s in &self.subjects {
                let cell =
                    self.figure(row, s).map_or(
                        self.missing_cell(row, s),
                        |f| match spread_percent(f) {
                            Some(p) => format!("{} ±{p:.0}%", human(f.value)),
                            None => human(f.value),
                        },
                    );
                md.push_str(&format!(" {cell} |"));
            }
            for s in &ours {
                let cell = match self.ratio(row, s) {
                    Some((paired, peer)) => format!("{} {peer}", paired.cell()),
                    None => "—".into(),
                };
                md.push_str(&format!(" {cell} |"));
            }
            md.push('\n');
        }
        for (s, why) in &self.not_applicable {
            md.push_str(&format!("\nn/a: {s} {why}."));
        }
        for s in &unmatched {
            let peer = match self.kind(s) {
                Some(Kind::OnDisk) => "RocksDB raw",
                _ => "an in-memory peer",
            };
            md.push_str(&format!(
                "\nNo ratio for {s}: its yardstick ({peer}) is not among the subjects of this run (`--backends`)."
            ));
        }
        md.push('\n');
        md.push_str("\nMemory rows are the memory the import added divided by the count (lower is better): live heap blocks as the allocator hands them out (its usable size, so its rounding counts), plus, for the subjects built on RocksDB, RocksDB's own memtables, table readers and block cache (RocksDB's accounting over every column family). Disk rows are RocksDB's SST and log files: as the import wrote them, and per record after flush and compaction. Our rows include 2 labels and 3 properties per vertex and 1 property per edge. The index row is the memory the label+property index build added, per vertex indexed (an integer key). For reference only (another machine, no properties): the well-known in-memory graph database publishes about 204 B per vertex and 154 B per edge.\n");
        md.push_str(&self.states_markdown(&rows));
        if !self.settings.is_empty() {
            md.push_str("\n## Subjects and their settings\n\n");
            for (s, settings) in &self.settings {
                md.push_str(&format!("- **{s}**: {settings}\n"));
            }
        }
        md.push_str(&self.targets_markdown());
        for (subject, c) in &self.conflicts {
            md.push_str(&format!(
                "- {subject}: {c} conflicts retried in the mixed workload.\n"
            ));
        }
        md
    }

    /// What state the on-disk subjects' data was in for each row, if any on-disk
    /// subject ran.
    fn states_markdown(&self, rows: &[&str]) -> String {
        let on_disk: Vec<&String> = self
            .subjects
            .iter()
            .filter(|s| matches!(self.kind(s), Some(Kind::OnDisk | Kind::OnDiskPeer)))
            .collect();
        if on_disk.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "\n**On-disk state of each row** (RocksDB subjects; after the import both flush and compact every column family):\n\n| rows | state |\n|---|---|\n",
        );
        type Group<'a> = (&'a str, &'a dyn Fn(&str) -> bool, &'a str);
        let groups: [Group<'_>; 4] = [
            (
                "imports, memory, disk as written",
                &|r| {
                    r.starts_with("import")
                        || r.starts_with("memory: bytes per v")
                        || r.starts_with("memory: bytes per e")
                        || r.ends_with("as written")
                },
                "memtables and log as the import left them (flushes where RocksDB made them)",
            ),
            (
                "disk compacted, point reads, label scan, expansions",
                &|r| {
                    r == DISK_FLUSHED
                        || r == "point read by id"
                        || r == "label scan"
                        || r.ends_with("hop expansion")
                },
                "compacted: every memtable written to SST files and every family rewritten into its bottommost level, in place (both on-disk subjects alike, neither reopened); reads go through the bloom filters and the block cache, warm from the rows before",
            ),
            (
                "the cold rows",
                &|r| r == READ_COLD || r == EXPAND_COLD,
                "as compacted, with a block cache of an eighth of the SST files (see below); the configured cache is back afterwards",
            ),
            (
                "small writes, mixed, index",
                &|r| {
                    r.starts_with("small write")
                        || r.starts_with("mixed")
                        || r.contains("label+property")
                },
                "the compacted data plus the memtables these writes fill",
            ),
        ];
        for (what, matches, state) in groups {
            if rows.iter().any(|r| matches(r)) {
                md.push_str(&format!("| {what} | {state} |\n"));
            }
        }
        for s in on_disk {
            if let Some(note) = self
                .figures
                .iter()
                .find(|f| f.subject == *s && f.note.is_some())
                .and_then(|f| f.note.as_ref())
            {
                md.push_str(&format!("\nCold rows, {s}: {note}."));
            }
        }
        md.push('\n');
        md
    }

    /// The targets section: each target judged on its paired ratio, naming the
    /// yardstick, or why none is judged.
    fn targets_markdown(&self) -> String {
        let mut md = String::from("\n## Against the targets\n\n");
        if !self.targets_apply() {
            md.push_str(&format!(
                "The targets were set for the default graph ({} vertices, {} edges); this run used {} and {}, so none is judged.\n\n",
                TARGET_GRAPH.0, TARGET_GRAPH.1, self.size.vertices, self.size.edges
            ));
            return md;
        }
        let verdict = |p: &Paired, min: f64| {
            if p.median >= min { "met" } else { "not met" }
        };
        for (row, subject, min) in TARGETS {
            if let Some((paired, peer)) = self.ratio(row, subject) {
                md.push_str(&format!(
                    "- {subject} {row}: {} {peer} (its yardstick; target at least {min}x): {}.\n",
                    paired.cell(),
                    verdict(&paired, *min)
                ));
            }
        }
        let mut within = |subject: &str, row: &str, base: &str, min: f64| {
            if let (Some(a), Some(b)) = (self.figure(row, subject), self.figure(base, subject))
                && let Some(paired) = Paired::of(a, b)
            {
                md.push_str(&format!(
                    "- {subject} {row}: {} its {base} (target at least {min}x): {}.\n",
                    paired.cell(),
                    verdict(&paired, min)
                ));
            }
        };
        for (row, base, min) in ROW_TARGETS {
            for subject in &self.subjects {
                if self.kind(subject).is_some_and(|k| !k.is_peer()) {
                    within(subject, row, base, *min);
                }
            }
        }
        for (row, subject, base, min) in SUBJECT_ROW_TARGETS {
            within(subject, row, base, *min);
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(workload: &str, subject: &str, value: f64, checksum: u64) -> Figure {
        Figure {
            value,
            samples: vec![value],
            ..fig(workload, subject, 1, 1.0, "ops/s", checksum)
        }
    }

    fn report(subjects: &[(&str, Kind)], figures: Vec<Figure>) -> Report {
        Report {
            machine: String::new(),
            commit: String::new(),
            size: WorkloadSize::default(),
            repeats: 3,
            subjects: subjects.iter().map(|(s, _)| s.to_string()).collect(),
            kinds: subjects.iter().map(|(_, k)| *k).collect(),
            settings: Vec::new(),
            figures,
            conflicts: Vec::new(),
            not_applicable: Vec::new(),
        }
    }

    fn rounds(workload: &str, subject: &str, unit: &str, samples: &[f64]) -> Figure {
        Figure {
            value: median(samples),
            samples: samples.to_vec(),
            unit: unit.into(),
            ..fig(workload, subject, 1, 1.0, unit, 1)
        }
    }

    /// A backend is compared with the best in-memory peer of each row (the lowest
    /// for memory), the on-disk backend with RocksDB raw; ratios are taken round by
    /// round and shown as the median with the range; peers get no ratio.
    #[test]
    fn ratios_are_paired_against_the_right_yardstick() {
        let subjects = [
            ("slow peer", Kind::InMemoryPeer),
            ("fast peer", Kind::InMemoryPeer),
            ("inmem", Kind::InMemory),
            ("RocksDB raw", Kind::OnDiskPeer),
            ("ondisk", Kind::OnDisk),
        ];
        let r = report(
            &subjects,
            vec![
                rounds("reads", "slow peer", "reads/s", &[10.0, 10.0, 10.0]),
                rounds("reads", "fast peer", "reads/s", &[100.0, 50.0, 200.0]),
                rounds("reads", "inmem", "reads/s", &[50.0, 50.0, 50.0]),
                rounds("reads", "RocksDB raw", "reads/s", &[20.0, 40.0, 20.0]),
                rounds("reads", "ondisk", "reads/s", &[10.0, 10.0, 10.0]),
                rounds("memory", "slow peer", "B", &[100.0, 100.0, 100.0]),
                rounds("memory", "fast peer", "B", &[300.0, 300.0, 300.0]),
                rounds("memory", "inmem", "B", &[150.0, 150.0, 150.0]),
            ],
        );
        let (p, peer) = r.ratio("reads", "inmem").expect("a ratio");
        assert_eq!(peer, "fast peer");
        // Round by round: 0.5, 1.0, 0.25 (the ratio of medians would be 0.5).
        assert_eq!((p.median, p.low, p.high), (0.5, 0.25, 1.0));
        assert_eq!(p.cell(), "0.50x (0.25–1.00)");
        let (p, peer) = r.ratio("reads", "ondisk").expect("a ratio");
        assert_eq!(peer, "RocksDB raw");
        assert_eq!((p.median, p.low, p.high), (0.5, 0.25, 0.5));
        let (p, peer) = r.ratio("memory", "inmem").expect("a ratio");
        assert_eq!((peer, p.median), ("slow peer", 1.5));
        assert!(
            r.ratio("memory", "ondisk").is_none(),
            "no on-disk memory peer figure"
        );
        assert!(
            r.ratio("reads", "fast peer").is_none(),
            "a peer is a yardstick"
        );
        let md = r.markdown();
        assert!(md.contains("| reads | reads/s |"), "{md}");
        assert!(md.contains("0.50x (0.25–1.00) fast peer"), "{md}");
        assert!(!md.contains("fast peer / yardstick"), "{md}");
    }

    /// A backend whose yardstick did not run gets no ratio column, and the report
    /// says why.
    #[test]
    fn a_backend_without_its_yardstick_is_said_so() {
        let r = report(
            &[("inmem", Kind::InMemory), ("RocksDB raw", Kind::OnDiskPeer)],
            vec![
                rounds("reads", "inmem", "reads/s", &[1.0, 1.0, 1.0]),
                rounds("reads", "RocksDB raw", "reads/s", &[1.0, 1.0, 1.0]),
            ],
        );
        let md = r.markdown();
        assert!(!md.contains("inmem / yardstick"), "{md}");
        assert!(
            md.contains("No ratio for inmem: its yardstick (an in-memory peer) is not among"),
            "{md}"
        );
    }

    /// Targets are judged on the graph they were set for, on paired ratios, naming
    /// the yardstick; a row target compares two rows of one subject round by round.
    #[test]
    fn targets_are_judged_on_paired_ratios_at_their_scale() {
        let subjects = [("peer", Kind::InMemoryPeer), ("inmem-txn", Kind::InMemory)];
        let figures = vec![
            rounds("point read by id", "peer", "reads/s", &[10.0, 10.0, 10.0]),
            rounds("point read by id", "inmem-txn", "reads/s", &[2.0, 4.0, 2.0]),
            rounds(LOOKUP_INDEX, "inmem-txn", "lookups/s", &[1.0, 1.0, 1.0]),
        ];
        let r = report(&subjects, figures.clone());
        let md = r.markdown();
        assert!(
            md.contains("- inmem-txn point read by id: 0.20x (0.20–0.40) peer (its yardstick; target at least 0.3x): not met."),
            "{md}"
        );
        assert!(
            md.contains(&format!("- inmem-txn {LOOKUP_INDEX}: 0.50x (0.25–0.50) its point read by id (target at least 0.5x): met.")),
            "{md}"
        );
        let mut other = report(&subjects, figures);
        other.size.vertices = 1000;
        let md = other.markdown();
        assert!(
            md.contains("so none is judged") && !md.contains("not met"),
            "{md}"
        );
    }

    #[test]
    fn repetitions_merge_into_medians_and_must_agree() {
        let runs = vec![
            vec![sample("a", "x", 10.0, 5), sample("a", "y", 1.0, 5)],
            vec![sample("a", "x", 30.0, 5), sample("a", "y", 3.0, 5)],
            vec![sample("a", "x", 20.0, 5), sample("a", "y", 8.0, 5)],
        ];
        let merged = merge_repetitions(runs).expect("they agree");
        assert_eq!(merged[0].value, 20.0);
        assert_eq!(merged[0].samples, vec![10.0, 30.0, 20.0]);
        assert_eq!(merged[1].value, 3.0);
        assert_eq!(spread_percent(&merged[0]), Some(50.0));
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        // A value set after the figure was made (as the memory rows are) is what
        // counts.
        let mut late = fig("memory", "x", 0, 0.0, "B", 0);
        late.value = 120.0;
        let merged = merge_repetitions(vec![vec![late.clone()], vec![late]]).expect("same rows");
        assert_eq!(merged[0].value, 120.0);
        // A checksum that changes between repetitions is refused.
        let runs = vec![
            vec![sample("a", "x", 1.0, 5)],
            vec![sample("a", "x", 1.0, 6)],
        ];
        assert!(merge_repetitions(runs).is_err());
        let runs = vec![vec![sample("a", "x", 1.0, 5)], vec![]];
        assert!(merge_repetitions(runs).is_err());
    }
}
