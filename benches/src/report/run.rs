//! Running the workloads: every row on every subject, rounds, the checks that each
//! subject read what the workload wrote, and merging rounds into figures.

use super::*;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) fn fig(
    workload: &str,
    subject: &str,
    ops: u64,
    seconds: f64,
    unit: &str,
    checksum: u64,
) -> Figure {
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

pub(crate) fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
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
/// the later ones see the same way for every subject. Returns the figures, the
/// conflicts the mixed workload retried, and the hand-over time measured during the
/// small-write rows (one way, in ns), if they ran.
pub fn run_subject(
    name: &str,
    subject: &mut dyn Subject,
    w: &Workload,
    heap: &dyn Fn() -> Option<i64>,
    only: &Selection,
) -> Result<(Vec<Figure>, u64, Vec<f64>)> {
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
    let mut handovers = Vec::new();
    if only.wants("writes") {
        let targets: Vec<u64> = (0..size.small_writes)
            .map(|_| ids[rng.below(ids.len())])
            .collect();
        let (seconds, hand_over) = write_rows(&|t| s.small_write(t), &targets)?;
        handovers.push(hand_over);
        // The state after all three rows: what their writes left.
        let checksum = s.digest()?.checksum();
        for (row, t) in WRITE_ROWS.iter().zip(seconds) {
            out.push(fig(row.1, name, targets.len() as u64, t, "txn/s", checksum));
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
        return Ok((out, conflicts, handovers));
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
    Ok((out, conflicts, handovers))
}

/// The mixed workload's rows by thread count.
pub const MIXED: [(u64, &str); 3] = [
    (1, "mixed 90% read / 10% write, 1 thread"),
    (2, "mixed 90% read / 10% write, 2 threads"),
    (4, "mixed 90% read / 10% write, 4 threads"),
];

/// One thread's operations in the mixed workload: (vertex index, whether it writes),
/// 9 in 10 reads, drawn from a generator seeded by the thread.
pub(crate) fn mixed_plan(thread: u64, vertices: usize, ops: usize) -> Vec<(usize, bool)> {
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
pub(crate) fn mixed(
    s: &dyn Subject,
    ids: &[u64],
    plans: &[Vec<(usize, bool)>],
) -> Result<(u64, Fold)> {
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
pub(crate) struct Truth<'w> {
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
pub(crate) fn check_fold(subject: &str, row: &str, got: Fold, want: Fold) -> Result<()> {
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
pub(crate) const LOOKUP_SCAN_VISITS: usize = 600_000;

pub(crate) const INDEX_MEMORY: &str = "memory: bytes per label+property index entry";
pub(crate) const DISK_VERTEX: &str = "disk: bytes per vertex, as written";
pub(crate) const DISK_EDGE: &str = "disk: bytes per edge, as written";
pub(crate) const DISK_FLUSHED: &str = "disk: bytes per record, compacted";
pub(crate) const READ_COLD: &str = "point read by id, cold";
pub(crate) const EXPAND_COLD: &str = "1-hop expansion, cold";
pub(crate) const LOOKUP_SCAN: &str = "label+property lookup, no index";
pub(crate) const LOOKUP_INDEX: &str = "label+property lookup, index";
pub(crate) const IMPORT_VERTICES: &str = "import: vertices";
pub(crate) const IMPORT_INDEXED: &str = "import: vertices, label+property index present";

/// Imports the vertices into a fresh subject that has an index on `Person`(`id`);
/// `None` for a subject without indexes.
pub(crate) fn run_indexed_import(
    name: &str,
    s: &dyn Subject,
    w: &Workload,
) -> Result<Option<Figure>> {
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

/// The small-write rows: thread count and row name.
const WRITE_ROWS: [(usize, &str); 3] = [
    (1, "small write txn, 1 thread"),
    (2, "small write txn, 2 threads"),
    (4, "small write txn, 4 threads"),
];

/// Slices of the small writes: the rows take turns slice by slice.
const WRITE_SLICES: usize = 5;

/// Runs every small write once per row of [`WRITE_ROWS`] and returns each row's
/// seconds, and the median of [`hand_over`]'s times between the first two workers,
/// measured before each slice. The rows take turns, a fifth of the writes at a time
/// (1, 2 and 4 threads, then again), so that they meet the same graph sizes and the
/// same moments of the machine: run one after the other, the later rows wrote into a
/// larger graph and a drift of the machine's speed went into one ratio whole. Every
/// row runs on the same long-lived worker threads (the 1-thread row on the first of
/// them), so none is measured on a thread warmer than the others (the main thread,
/// which built the graph, had its allocator's free memory and per-thread caches
/// ready).
fn write_rows(
    write: &(dyn Fn(u64) -> Result<()> + Sync),
    targets: &[u64],
) -> Result<([f64; 3], f64)> {
    use std::sync::mpsc;
    /// What a worker is asked to do: write these targets, or its side of a
    /// hand-over on this line (starting first or second).
    enum Job<'a> {
        Write(&'a [u64]),
        HandOver(&'a AtomicU64, u64),
    }
    let workers = WRITE_ROWS.iter().map(|r| r.0).max().unwrap_or(1).max(2);
    let line = Line(AtomicU64::new(0));
    std::thread::scope(|sc| {
        let mut jobs = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        let (done_tx, done) = mpsc::channel::<Result<Option<f64>>>();
        for _ in 0..workers {
            let (job_tx, job_rx) = mpsc::channel::<Job<'_>>();
            let done_tx = done_tx.clone();
            jobs.push(job_tx);
            handles.push(sc.spawn(move || {
                for job in job_rx {
                    let r = match job {
                        Job::Write(part) => part
                            .iter()
                            .try_for_each(|t| retry(|| write(*t)))
                            .map(|()| None),
                        Job::HandOver(line, first) => Ok(Some(hand_over(line, first))),
                    };
                    if done_tx.send(r).is_err() {
                        return;
                    }
                }
            }));
        }
        drop(done_tx);
        let mut seconds = [0.0; 3];
        let mut hand_overs = Vec::with_capacity(WRITE_SLICES);
        let mut run = || -> Result<()> {
            for slice in targets.chunks(targets.len().div_ceil(WRITE_SLICES).max(1)) {
                line.0.store(0, Ordering::SeqCst);
                for (first, job) in jobs.iter().take(2).enumerate() {
                    job.send(Job::HandOver(&line.0, first as u64))
                        .map_err(|_| stopped())?;
                }
                let mut took = Vec::with_capacity(2);
                for _ in 0..2 {
                    took.extend(done.recv().map_err(|_| stopped())??);
                }
                // The later finisher's time covers every hand-over.
                hand_overs.push(took.into_iter().fold(0.0, f64::max));
                for (row, (threads, _)) in WRITE_ROWS.iter().enumerate() {
                    let start = Instant::now();
                    let mut sent = 0;
                    for (job, part) in jobs
                        .iter()
                        .zip(slice.chunks(slice.len().div_ceil(*threads).max(1)))
                    {
                        job.send(Job::Write(part)).map_err(|_| stopped())?;
                        sent += 1;
                    }
                    for _ in 0..sent {
                        done.recv().map_err(|_| stopped())??;
                    }
                    seconds[row] += start.elapsed().as_secs_f64();
                }
            }
            Ok(())
        };
        let result = run();
        drop(jobs);
        // A worker that panicked is an error here, not a panic of the scope.
        let joined = handles
            .into_iter()
            .map(|h| h.join().map_err(|_| stopped()))
            .collect::<Result<Vec<()>>>();
        result.and(joined.map(|_| ()))?;
        Ok((seconds, median(&hand_overs)))
    })
}

/// A counter alone on its cache lines.
#[repr(align(128))]
struct Line(AtomicU64);

/// Hand-overs of a cache line between two threads, each side's count.
const HAND_OVERS: u64 = 10_000;

/// One side of a hand-over between two threads (`first` 0 or 1): each waits for the
/// other's increment of `line` and increments it in turn, [`HAND_OVERS`] times.
/// Returns the ns per hand-over this side saw: about how long a cache line takes to
/// go from one core to the other. The 2-thread write rows depend on it: writers
/// that share data move lines between their cores at every transaction. On a
/// virtual machine it is where the host runs the two virtual cores at the time (the
/// machine the targets were measured on gave about 15, 30 or 170 ns from one process
/// to the next).
fn hand_over(line: &AtomicU64, first: u64) -> f64 {
    let start = Instant::now();
    let mut mine = first;
    while mine < 2 * HAND_OVERS {
        let mut spins = 0u32;
        while line.load(Ordering::Acquire) != mine {
            spins += 1;
            // Both threads need a core: give it up if the other one has none.
            if spins.is_multiple_of(1 << 10) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        line.store(mine + 1, Ordering::Release);
        mine += 2;
    }
    start.elapsed().as_nanos() as f64 / (2 * HAND_OVERS) as f64
}

fn stopped() -> engine_api::Error {
    engine_api::Error::new(ErrorKind::Io, "a writer thread panicked")
}

pub(crate) fn retry(mut f: impl FnMut() -> Result<()>) -> Result<()> {
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

/// One subject's figures of one round, the conflicts its mixed workload retried,
/// whether it ran the index rows, and the hand-over times around its write rows.
pub(crate) fn run_one(
    entry: &SubjectEntry,
    w: &Workload,
    heap: &dyn Fn() -> Option<i64>,
    only: &Selection,
) -> Result<(Vec<Figure>, u64, bool, Vec<f64>)> {
    let subject = (entry.make)()?;
    let mut subject = subject;
    let (mut figures, conflicts, handovers) =
        run_subject(&entry.name, subject.as_mut(), w, heap, only)?;
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
    Ok((figures, conflicts, has_index, handovers))
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
    let mut handover_ns: Vec<(String, Vec<f64>)> =
        names.iter().map(|n| (n.clone(), Vec::new())).collect();
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
            let (figures, c, has_index, h) = run_one(entry, &w, heap, only)?;
            if !has_index && rep == 1 && only.wants("index") {
                not_applicable.push((
                    entry.name.clone(),
                    "has no label+property lookups or indexes (the label+property rows)"
                        .to_string(),
                ));
            }
            conflicts[at].1 += c;
            handover_ns[at].1.extend(h);
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
        handover_ns,
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
pub(crate) fn merge_repetitions(runs: Vec<Vec<Figure>>) -> Result<Vec<Figure>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Every row writes every target once; a row of n threads runs on n threads (the
    /// same long-lived ones in every slice), and the rows take turns slice by slice.
    #[test]
    fn the_write_rows_take_turns_on_the_same_threads() -> Result<()> {
        let targets: Vec<u64> = (0..100).collect();
        let seen: Mutex<Vec<(std::thread::ThreadId, u64)>> = Mutex::new(Vec::new());
        let write = |t: u64| -> Result<()> {
            seen.lock()
                .expect("lock")
                .push((std::thread::current().id(), t));
            Ok(())
        };
        let (seconds, hand_over) = write_rows(&write, &targets)?;
        assert!(seconds.iter().all(|s| *s > 0.0), "{seconds:?}");
        // A time per hand-over (finite: a side gives up its core when spinning long).
        assert!(hand_over.is_finite() && hand_over > 0.0, "{hand_over}");
        let seen = seen.into_inner().expect("lock");
        assert_eq!(seen.len(), 3 * targets.len(), "once per row");
        for t in &targets {
            assert_eq!(seen.iter().filter(|(_, x)| x == t).count(), 3, "target {t}");
        }
        // Slice by slice: targets 0..20 on 1, 2 and 4 threads before target 20 is
        // written at all.
        let first_of_second_slice = seen.iter().position(|(_, t)| *t == 20).expect("20");
        assert_eq!(
            first_of_second_slice, 60,
            "three rows of the first slice first"
        );
        let main = std::thread::current().id();
        let threads = |range: std::ops::Range<usize>| {
            let mut ids: Vec<_> = seen[range].iter().map(|(id, _)| *id).collect();
            ids.sort_by_key(|id| format!("{id:?}"));
            ids.dedup();
            ids
        };
        let one = threads(0..20);
        assert_eq!(one.len(), 1, "the 1-thread row on one thread");
        assert_ne!(one[0], main, "not on the main thread");
        assert_eq!(threads(20..60).len(), 4, "2 then 4 worker threads");
        assert_eq!(
            threads(0..seen.len()).len(),
            4,
            "the same four in every slice"
        );
        Ok(())
    }

    /// A failing write is the rows' error, and the workers end (no hang).
    #[test]
    fn a_failed_write_stops_the_rows() {
        let write = |t: u64| -> Result<()> {
            if t == 33 {
                Err(engine_api::Error::invalid_input("no"))
            } else {
                Ok(())
            }
        };
        let e = write_rows(&write, &(0..100).collect::<Vec<_>>()).expect_err("33 fails");
        assert_eq!(e.message(), "no");
    }
}
