//! The bulk path: an image in snapshot order (a snapshot file, a migration's or a
//! load's export) written into an empty database as sorted SST files, one per column
//! family, which RocksDB then ingests — no memtable, no WAL, no compaction of what it
//! wrote.
//!
//! Vertices and edges arrive in id order, which is their key order: their records go
//! straight into their files. The label entries and both adjacency families are keyed
//! by something else (label, source, target): their keys are collected in runs,
//! each run sorted and, once it holds [`RUN_BYTES`], spilled to a file beside the
//! data (`rocksdb/.quiver-bulk/`); at the end the runs are merged into the family's
//! file, so an image larger than memory loads too.
//!
//! It runs while the database is being created (the `.quiver.creating` mark is in
//! place, the data directory locked): a kill at any moment leaves a creation that
//! the next open throws away and redoes, never part of the data.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use durability::SchemaOp;
use durability::snapshot::{ImageEdge, ImageLoader, ImageVertex, Rejected};
use engine_api::{Error, ErrorKind, Result};
use rocksdb::{Cache, DB, IngestExternalFileOptions, Options, SstFileWriter, WriteBatch};

use crate::config::Config;
use crate::engine::cf;
use crate::keys::{
    EDGES, EdgeValue, IN, LABELS, META, OUT, VERTICES, VertexRecord, adjacency_key, id_key,
    label_key, rocks,
};
use crate::metadata::{KEY_IDS, NameKind, encode_bounds, name_key};
use crate::rocks::family_options;

/// How far a bulk build has come: objects (vertices and edges) written of the
/// objects the image holds (0 while unknown: an image from `export` does not say).
/// Shared with another thread through [`crate::Config::build_progress`], which
/// reads it while `open` or `create_from_image` runs.
#[derive(Debug, Default)]
pub struct BuildProgress {
    done: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

impl BuildProgress {
    /// A new counter at (0, 0), to share.
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::default()
    }

    /// (objects written, objects in the image; 0 if unknown).
    pub fn get(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.done.load(Relaxed), self.total.load(Relaxed))
    }

    pub(crate) fn start(&self, total: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.done.store(0, Relaxed);
        self.total.store(total, Relaxed);
    }

    fn add(&self, n: u64) {
        self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Objects counted locally between updates of a shared [`BuildProgress`].
const PROGRESS_EVERY: u64 = 4096;

/// Where the bulk path keeps its files while it runs, inside `rocksdb/`.
pub(crate) const BULK_DIR: &str = ".quiver-bulk";

/// Bytes of keys a family's run holds before it is sorted and spilled.
const RUN_BYTES: usize = 64 << 20;

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", path.display())).with_source(e)
}

/// Removes the bulk path's files (of a run that finished or was interrupted).
pub(crate) fn remove_files(rocks_dir: &Path) -> Result<()> {
    let dir = rocks_dir.join(BULK_DIR);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&dir, e)),
        _ => Ok(()),
    }
}

/// An SST file written in key order, opened at its first key (RocksDB refuses to
/// finish an empty one).
struct Sorted<'o> {
    opts: &'o Options,
    path: PathBuf,
    writer: Option<SstFileWriter<'o>>,
}

impl<'o> Sorted<'o> {
    fn new(opts: &'o Options, path: PathBuf) -> Self {
        Sorted {
            opts,
            path,
            writer: None,
        }
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if self.writer.is_none() {
            let w = SstFileWriter::create(self.opts);
            w.open(&self.path)
                .map_err(|e| rocks("cannot create an SST file", e))?;
            self.writer = Some(w);
        }
        if let Some(w) = self.writer.as_mut() {
            w.put(key, value)
                .map_err(|e| rocks("cannot write an SST file", e))?;
        }
        Ok(())
    }

    /// The finished file, if any key was written.
    fn finish(self) -> Result<Option<PathBuf>> {
        match self.writer {
            Some(mut w) => {
                w.finish()
                    .map_err(|e| rocks("cannot finish an SST file", e))?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}

/// A key of a family whose keys the bulk path sorts: held as integers (compared as
/// integers, several times faster than comparing the key bytes), written as the
/// family's key bytes, whose order is the same (big-endian fields in tuple order).
trait RunKey: Ord + Copy + Send + 'static {
    /// The key's length in bytes.
    const LEN: usize;
    fn write_to(&self, out: &mut [u8]);
    fn read_from(bytes: &[u8]) -> Self;
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// A label entry: label, vertex.
impl RunKey for (u32, u64) {
    const LEN: usize = 12;
    fn write_to(&self, out: &mut [u8]) {
        out[..12].copy_from_slice(&label_key(self.0, self.1));
    }
    fn read_from(b: &[u8]) -> Self {
        (u32_at(b, 0), u64_at(b, 4))
    }
}

/// An adjacency entry: vertex, edge type, other end, edge.
impl RunKey for (u64, u32, u64, u64) {
    const LEN: usize = 28;
    fn write_to(&self, out: &mut [u8]) {
        out[..28].copy_from_slice(&adjacency_key(self.0, self.1, self.2, self.3));
    }
    fn read_from(b: &[u8]) -> Self {
        (u64_at(b, 0), u32_at(b, 8), u64_at(b, 12), u64_at(b, 20))
    }
}

/// The keys (values empty) of one family, in sorted runs.
struct Runs<K: RunKey> {
    name: &'static str,
    dir: PathBuf,
    run: Vec<K>,
    spilled: Vec<PathBuf>,
    /// The run being sorted and written on a thread of its own, while the image
    /// goes on arriving (at most one per family: two runs in memory at the peak).
    spilling: Option<std::thread::JoinHandle<Result<PathBuf>>>,
}

impl<K: RunKey> Drop for Runs<K> {
    fn drop(&mut self) {
        // A failed load still waits for its spill: no thread writes into the bulk
        // folder once it is removed.
        let _ = self.wait();
    }
}

/// Sorts `run` and writes it to `path`, key after key.
fn write_run<K: RunKey>(mut run: Vec<K>, path: &Path) -> Result<()> {
    run.sort_unstable();
    let file = std::fs::File::create(path).map_err(|e| io(path, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut buf = [0u8; 32];
    for k in &run {
        k.write_to(&mut buf);
        w.write_all(&buf[..K::LEN]).map_err(|e| io(path, e))?;
    }
    w.flush().map_err(|e| io(path, e))
}

impl<K: RunKey> Runs<K> {
    fn new(name: &'static str, dir: &Path) -> Self {
        Runs {
            name,
            dir: dir.to_path_buf(),
            run: Vec::new(),
            spilled: Vec::new(),
            spilling: None,
        }
    }

    /// Waits for the run being spilled, if any; its file joins the spilled ones.
    fn wait(&mut self) -> Result<()> {
        if let Some(h) = self.spilling.take() {
            let path = h
                .join()
                .unwrap_or_else(|_| Err(Error::new(ErrorKind::Io, "a spill thread panicked")))?;
            self.spilled.push(path);
        }
        Ok(())
    }

    fn push(&mut self, key: K) -> Result<()> {
        self.run.push(key);
        if self.run.len() * K::LEN >= RUN_BYTES {
            self.spill()?;
        }
        Ok(())
    }

    /// Hands the current run to a thread that sorts and writes it (after the one
    /// before it is done).
    fn spill(&mut self) -> Result<()> {
        self.wait()?;
        let n = self.spilled.len();
        let path = self.dir.join(format!("{}-{n}.run", self.name));
        let run = std::mem::replace(&mut self.run, Vec::with_capacity(RUN_BYTES / K::LEN));
        self.spilling = Some(std::thread::spawn(move || {
            write_run(run, &path).map(|()| path)
        }));
        Ok(())
    }

    /// Writes every key, in order, to `out`.
    fn write(mut self, out: &mut Sorted<'_>) -> Result<()> {
        let mut buf = [0u8; 32];
        self.wait()?;
        if self.spilled.is_empty() {
            self.run.sort_unstable();
            for k in &self.run {
                k.write_to(&mut buf);
                out.put(&buf[..K::LEN], &[])?;
            }
            return Ok(());
        }
        if !self.run.is_empty() {
            self.spill()?;
        }
        self.wait()?;
        let mut readers = Vec::with_capacity(self.spilled.len());
        for path in &self.spilled {
            let f = std::fs::File::open(path).map_err(|e| io(path, e))?;
            readers.push((BufReader::with_capacity(1 << 20, f), path));
        }
        let next = |r: &mut (BufReader<std::fs::File>, &PathBuf)| -> Result<Option<K>> {
            let mut b = [0u8; 32];
            match r.0.read_exact(&mut b[..K::LEN]) {
                Ok(()) => Ok(Some(K::read_from(&b))),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(io(r.1, e)),
            }
        };
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(k) = next(r)? {
                heap.push(Reverse((k, i)));
            }
        }
        while let Some(Reverse((k, i))) = heap.pop() {
            k.write_to(&mut buf);
            out.put(&buf[..K::LEN], &[])?;
            if let Some(k) = next(&mut readers[i])? {
                heap.push(Reverse((k, i)));
            }
        }
        for path in &self.spilled {
            std::fs::remove_file(path).map_err(|e| io(path, e))?;
        }
        Ok(())
    }
}

/// What an image brought besides its data.
pub(crate) struct Loaded {
    pub(crate) definitions: Vec<SchemaOp>,
    pub(crate) vertices: u64,
    pub(crate) edges: u64,
}

/// Receives an image and writes it as SST files; [`Importer::finish`] ingests them.
pub(crate) struct Importer<'o> {
    progress: Option<std::sync::Arc<BuildProgress>>,
    /// Objects not yet added to `progress`.
    unreported: u64,
    dir: PathBuf,
    definitions: Vec<SchemaOp>,
    names: Vec<(Vec<u8>, Vec<u8>)>,
    counters: Option<(u64, u64)>,
    /// Every vertex id so far (the image's order is ascending): edges' endpoints are
    /// checked against it (a sorted list searched twice per edge took a third of
    /// the time of a 1M-vertex image).
    vertices: roaring::RoaringTreemap,
    /// Past the highest vertex and edge id so far.
    next_vertex: u64,
    next_edge: u64,
    edges: u64,
    vertex_file: Sorted<'o>,
    edge_file: Sorted<'o>,
    labels: Runs<(u32, u64)>,
    out: Runs<(u64, u32, u64, u64)>,
    ins: Runs<(u64, u32, u64, u64)>,
    /// Reused: an object's value bytes.
    value: Vec<u8>,
}

/// The options of every data family, for the SST files.
pub(crate) struct FamilyOptions {
    options: Vec<(&'static str, Options)>,
}

impl FamilyOptions {
    pub(crate) fn new(config: &Config, cache: &Cache) -> Self {
        FamilyOptions {
            options: [VERTICES, EDGES, OUT, IN, LABELS]
                .into_iter()
                .map(|n| (n, family_options(n, config, cache, false)))
                .collect(),
        }
    }

    fn of(&self, name: &str) -> &Options {
        // Every data family is in the list; META is never written as a file.
        &self
            .options
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or(&self.options[0])
            .1
    }
}

impl<'o> Importer<'o> {
    /// An importer writing its files under `rocks_dir` (the database's `rocksdb/`),
    /// fed through [`durability::snapshot::Checked`], which checks the image's order
    /// and names it in errors.
    pub(crate) fn new(
        rocks_dir: &Path,
        options: &'o FamilyOptions,
        progress: Option<std::sync::Arc<BuildProgress>>,
    ) -> Result<Self> {
        let dir = rocks_dir.join(BULK_DIR);
        remove_files(rocks_dir)?;
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        Ok(Importer {
            progress,
            unreported: 0,
            vertex_file: Sorted::new(options.of(VERTICES), dir.join("vertices.sst")),
            edge_file: Sorted::new(options.of(EDGES), dir.join("edges.sst")),
            labels: Runs::new(LABELS, &dir),
            out: Runs::new(OUT, &dir),
            ins: Runs::new(IN, &dir),
            value: Vec::new(),
            dir,
            definitions: Vec::new(),
            names: Vec::new(),
            counters: None,
            vertices: roaring::RoaringTreemap::new(),
            next_vertex: 0,
            next_edge: 0,
            edges: 0,
        })
    }

    /// Counts one object written, telling `progress` every few thousand.
    fn count(&mut self) {
        self.unreported += 1;
        if self.unreported == PROGRESS_EVERY {
            if let Some(p) = &self.progress {
                p.add(self.unreported);
            }
            self.unreported = 0;
        }
    }

    /// Writes the sorted families' files, ingests every file into `db` and writes
    /// the names, id bounds and counts. The caller builds the schema afterwards.
    pub(crate) fn finish(self, db: &DB, options: &'o FamilyOptions) -> Result<Loaded> {
        if let Some(p) = &self.progress {
            p.add(self.unreported);
        }
        let Importer {
            dir,
            definitions,
            names,
            counters,
            vertices,
            next_vertex,
            next_edge,
            edges,
            vertex_file,
            edge_file,
            labels,
            out,
            ins,
            ..
        } = self;
        let mut files: Vec<(&str, Option<PathBuf>)> = vec![
            (VERTICES, vertex_file.finish()?),
            (EDGES, edge_file.finish()?),
        ];
        // The three sorts and files are independent: two run at a time on two cores.
        let sorted = |runs_dir: &Path, name: &'static str| {
            Sorted::new(options.of(name), runs_dir.join(format!("{name}.sst")))
        };
        let (l, o, i) = std::thread::scope(|s| {
            let l = s.spawn(|| -> Result<Option<PathBuf>> {
                let mut f = sorted(&dir, LABELS);
                labels.write(&mut f)?;
                f.finish()
            });
            let o = s.spawn(|| -> Result<Option<PathBuf>> {
                let mut f = sorted(&dir, OUT);
                out.write(&mut f)?;
                f.finish()
            });
            let mut f = sorted(&dir, IN);
            let i = ins.write(&mut f).and_then(|()| f.finish());
            let join = |h: std::thread::ScopedJoinHandle<'_, Result<Option<PathBuf>>>| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::new(ErrorKind::Io, "a sort thread panicked")))
            };
            (join(l), join(o), i)
        });
        files.push((LABELS, l?));
        files.push((OUT, o?));
        files.push((IN, i?));
        let mut ingest = IngestExternalFileOptions::default();
        // Moved (linked) into RocksDB's directory rather than copied.
        ingest.set_move_files(true);
        for (name, file) in files {
            if let Some(path) = file {
                db.ingest_external_file_cf_opts(cf(db, name)?, &ingest, vec![path])
                    .map_err(|e| rocks(&format!("cannot ingest the {name} file"), e))?;
            }
        }
        let meta = cf(db, META)?;
        let mut batch = WriteBatch::default();
        for (k, v) in &names {
            batch.put_cf(meta, k, v);
        }
        let (v, e) = counters.unwrap_or((0, 0));
        let (v, e) = (v.max(next_vertex), e.max(next_edge));
        batch.put_cf(meta, KEY_IDS, encode_bounds(v, e));
        batch.put_cf(
            meta,
            crate::counts::KEY_COUNTS,
            crate::counts::encode_base(vertices.len(), edges),
        );
        db.write(batch)
            .map_err(|e| rocks("cannot store the names and counters", e))?;
        if let Some(rocks_dir) = dir.parent() {
            remove_files(rocks_dir)?;
        }
        Ok(Loaded {
            definitions,
            vertices: vertices.len(),
            edges,
        })
    }
}

impl ImageLoader for Importer<'_> {
    /// Every edge's endpoints are checked against the vertices before it.
    const VERTICES_AFTER_EDGES: bool = true;

    fn name(&mut self, kind: durability::NameKind, id: u32, name: &str) -> Result<(), Rejected> {
        let kind = NameKind::from_snapshot(kind);
        self.names
            .push((name_key(kind, id).to_vec(), name.as_bytes().to_vec()));
        Ok(())
    }

    fn schema(&mut self, definition: SchemaOp) -> Result<(), Rejected> {
        self.definitions.push(definition);
        Ok(())
    }

    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<(), Rejected> {
        self.counters = Some((next_vertex, next_edge));
        Ok(())
    }

    fn vertex(&mut self, vertex: ImageVertex<'_>) -> Result<(), Rejected> {
        let ImageVertex {
            id, labels, props, ..
        } = vertex;
        self.next_vertex = id.saturating_add(1);
        // Ascending, so an append.
        self.vertices.push(id);
        for l in labels {
            self.labels.push((*l, id))?;
        }
        // Into a reused buffer: no allocation per object.
        self.value.clear();
        VertexRecord::encode_parts(labels, props, &mut self.value);
        self.count();
        Ok(self.vertex_file.put(&id_key(id), &self.value)?)
    }

    fn edge(&mut self, edge: ImageEdge<'_>) -> Result<(), Rejected> {
        let ImageEdge {
            id,
            edge_type,
            source,
            target,
            props,
        } = edge;
        self.next_edge = id.saturating_add(1);
        self.edges += 1;
        for end in [source, target] {
            if !self.vertices.contains(end) {
                return Err(Rejected::Bad(format!(
                    "edge {id} refers to missing vertex {end}"
                )));
            }
        }
        self.value.clear();
        EdgeValue::encode_parts(edge_type, source, target, props, &mut self.value);
        self.count();
        self.edge_file.put(&id_key(id), &self.value)?;
        self.out.push((source, edge_type, target, id))?;
        Ok(self.ins.push((target, edge_type, source, id))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_runs_merge_into_one_sorted_file() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::default();
        let mut runs: Runs<(u32, u64)> = Runs::new("t", dir.path());
        // Three spilled runs and a rest in memory, keys interleaved between them.
        for round in 0..4u64 {
            for i in 0..1000u64 {
                let k = i * 4 + (3 - round);
                runs.push(((k >> 8) as u32, k & 0xff)).unwrap();
            }
            if round < 3 {
                runs.spill().unwrap();
            }
        }
        let path = dir.path().join("out.sst");
        let mut out = Sorted::new(&opts, path.clone());
        runs.write(&mut out).unwrap();
        assert_eq!(out.finish().unwrap(), Some(path.clone()));
        let db_dir = tempfile::tempdir().unwrap();
        let mut o = Options::default();
        o.create_if_missing(true);
        let db = DB::open(&o, db_dir.path()).unwrap();
        db.ingest_external_file(vec![&path]).unwrap();
        let keys: Vec<u64> = db
            .iterator(rocksdb::IteratorMode::Start)
            .map(|kv| {
                let (l, v) = <(u32, u64)>::read_from(&kv.unwrap().0);
                (u64::from(l) << 8) | v
            })
            .collect();
        assert_eq!(keys, (0..4000).collect::<Vec<_>>());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".run"))
            .collect();
        assert!(left.is_empty(), "spilled runs are removed: {left:?}");
    }

    /// A run still being spilled when the family is written (the only one, with
    /// nothing after it) is waited for and merged, not lost.
    #[test]
    fn a_run_spilled_last_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::default();
        let mut runs: Runs<(u32, u64)> = Runs::new("t", dir.path());
        for i in (0..50_000u64).rev() {
            runs.push((1, i)).unwrap();
        }
        runs.spill().unwrap();
        let path = dir.path().join("out.sst");
        let mut out = Sorted::new(&opts, path.clone());
        runs.write(&mut out).unwrap();
        assert_eq!(out.finish().unwrap(), Some(path.clone()));
        let mut o = Options::default();
        o.create_if_missing(true);
        let db_dir = tempfile::tempdir().unwrap();
        let db = DB::open(&o, db_dir.path()).unwrap();
        db.ingest_external_file(vec![&path]).unwrap();
        assert_eq!(db.iterator(rocksdb::IteratorMode::Start).count(), 50_000);
    }
}
