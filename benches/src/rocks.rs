//! The on-disk ceiling: the workloads' records as plain RocksDB puts and gets, with
//! the options (less the memtable filters only transactions use) and key layout
//! engine-ondisk uses but no transactions, no conflict checks and no endpoint locking; and a comparison of RocksDB's two transaction kinds
//! on the small-write and mixed workloads' key operations.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use engine_api::codec::{encode_properties, encode_sort_key, find_property, put_uvarint};
use engine_api::{Error, ErrorKind, PropertyValue, Result};
use engine_ondisk::Config;
use engine_ondisk::rocksdb::{
    self, Cache, ColumnFamily, DB, OptimisticTransactionDB, OptimisticTransactionOptions,
    ReadOptions, TransactionDB, TransactionDBOptions, TransactionOptions, WriteBatch, WriteOptions,
};
use parking_lot::RwLock;
use serde::Serialize;

use crate::durability::{TempDir, tempfile_dir};
use crate::workload::{Digest, EdgeSpec, Fold, Rng, Subject, VertexSpec, walk};

fn rocks(e: rocksdb::Error) -> Error {
    let kind = match e.kind() {
        rocksdb::ErrorKind::Busy | rocksdb::ErrorKind::TimedOut | rocksdb::ErrorKind::TryAgain => {
            ErrorKind::Conflict
        }
        _ => ErrorKind::Io,
    };
    Error::new(kind, e.to_string())
}

/// Plain RocksDB holding the same records under engine-ondisk's key layout.
pub struct RawRocks {
    db: DB,
    /// Name ids: looked up under a shared read lock (as the engines do), written
    /// once per new name.
    names: RwLock<HashMap<String, u32>>,
    /// The label+property index once created: (label id, key id). Its entries live
    /// in the `index` column family as engine-ondisk lays them out.
    index: RwLock<Option<(u32, u32)>>,
    next_vertex: AtomicU64,
    next_edge: AtomicU64,
    /// The block cache the families share, and its configured size.
    cache: Cache,
    cache_bytes: usize,
    /// Whether each write batch is synced (the durable rows).
    sync: bool,
    root: std::path::PathBuf,
    /// The temporary directory `root` is, when the subject made it (dropped last).
    _dir: Option<TempDir>,
}

impl std::fmt::Debug for RawRocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRocks").finish_non_exhaustive()
    }
}

impl RawRocks {
    /// A fresh database in a temporary directory (see `QUIVER_BENCH_DIR`).
    pub fn open() -> Result<Self> {
        let dir = tempfile_dir()?;
        let mut raw = Self::open_in(dir.path(), false)?;
        raw._dir = Some(dir);
        Ok(raw)
    }

    /// A fresh database in `root`; with `sync`, every write batch is synced
    /// (`WriteOptions::set_sync`), the durable yardstick.
    pub fn open_in(root: &std::path::Path, sync: bool) -> Result<Self> {
        let config = Config::new(root);
        let (opts, cfs, cache) = engine_ondisk::plain_rocksdb_setup(&config);
        let db = DB::open_cf_descriptors(&opts, root.join("rocksdb"), cfs).map_err(rocks)?;
        Ok(RawRocks {
            db,
            names: RwLock::new(HashMap::new()),
            index: RwLock::new(None),
            next_vertex: AtomicU64::new(0),
            next_edge: AtomicU64::new(0),
            cache,
            cache_bytes: config.get_block_cache_bytes(),
            sync,
            root: root.to_path_buf(),
            _dir: None,
        })
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| Error::new(ErrorKind::Io, format!("no column family {name}")))
    }

    /// A name's id; a known name costs one lookup under a shared lock and no
    /// allocation.
    fn name(&self, name: &str) -> u32 {
        if let Some(&id) = self.names.read().get(name) {
            return id;
        }
        let mut names = self.names.write();
        if let Some(&id) = names.get(name) {
            return id;
        }
        let id = names.len() as u32;
        names.insert(name.to_string(), id);
        id
    }

    /// The index entry of `vertex` with `value` (engine-ondisk's layout: index id,
    /// the value's sort key, the vertex id; this peer's one index has id 0).
    fn index_entry(value: &PropertyValue, vertex: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&0u32.to_be_bytes());
        encode_sort_key(value, out);
        out.extend_from_slice(&vertex.to_be_bytes());
    }

    /// Adds the index entry of a vertex being written, if the index covers it.
    fn put_index_entry(
        &self,
        index: Option<(u32, u32)>,
        b: &mut WriteBatch,
        labels: &[&str],
        props: &[(&str, PropertyValue)],
        vertex: u64,
        entry: &mut Vec<u8>,
    ) -> Result<()> {
        let Some((label, key)) = index else {
            return Ok(());
        };
        if !labels.iter().any(|l| self.name(l) == label) {
            return Ok(());
        }
        if let Some((_, v)) = props.iter().find(|(k, _)| self.name(k) == key) {
            Self::index_entry(v, vertex, entry);
            b.put_cf(self.cf("index")?, &entry[..], []);
        }
        Ok(())
    }

    /// The vertices with label id `label`, by a scan of the label family.
    fn with_label(&self, label: u32) -> Result<Vec<u64>> {
        let mut ids = Vec::new();
        prefix_scan(&self.db, self.cf("labels")?, &label.to_be_bytes(), |e| {
            ids.push(id_at(e, 4));
        })?;
        Ok(ids)
    }

    /// Calls `f` with each of `ids` that exists and the value of its property
    /// `key` (read in batches through multi-get).
    fn property_of_each(
        &self,
        ids: &[u64],
        key: u32,
        mut f: impl FnMut(u64, Option<PropertyValue>),
    ) -> Result<()> {
        let vertices = self.cf("vertices")?;
        let ro = ReadOptions::default();
        for chunk in ids.chunks(10_000) {
            let keys: Vec<[u8; 8]> = chunk.iter().map(|id| id.to_be_bytes()).collect();
            let values = self.db.batched_multi_get_cf_opt(vertices, &keys, true, &ro);
            for (id, v) in chunk.iter().zip(values) {
                if let Some(v) = v.map_err(rocks)? {
                    let (_, props) = Self::split_vertex(&v)?;
                    f(
                        *id,
                        find_property(props, key).map_err(|e| e.into_corrupt("raw", 0))?,
                    );
                }
            }
        }
        Ok(())
    }

    /// Encodes a vertex record into `out` (cleared first), reusing its buffer; the
    /// names are sorted on the stack (the workloads have at most 4 of each).
    fn vertex_value(
        &self,
        labels: &[&str],
        props: &[(&str, PropertyValue)],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if labels.len() > 4 || props.len() > 4 {
            return Err(Error::invalid_input(
                "the raw RocksDB peer encodes at most 4 labels and 4 properties per vertex",
            ));
        }
        out.clear();
        put_uvarint(out, labels.len() as u64);
        let mut ls = [0u32; 4];
        let ls = &mut ls[..labels.len().min(4)];
        for (slot, l) in ls.iter_mut().zip(labels) {
            *slot = self.name(l);
        }
        ls.sort_unstable();
        for l in ls.iter() {
            put_uvarint(out, u64::from(*l));
        }
        let mut ps = [(0u32, &PropertyValue::Null); 4];
        let ps = &mut ps[..props.len().min(4)];
        for (slot, (k, v)) in ps.iter_mut().zip(props) {
            *slot = (self.name(k), v);
        }
        ps.sort_by_key(|(k, _)| *k);
        encode_properties(ps.iter().copied(), out);
        Ok(())
    }

    /// Adds an edge's record and adjacency entries to `b`; `value` is a reused buffer.
    #[allow(clippy::too_many_arguments)]
    fn put_edge(
        &self,
        cfs: &Cfs<'_>,
        b: &mut WriteBatch,
        value: &mut Vec<u8>,
        s: u64,
        t: u64,
        ty: &str,
        w: Option<&PropertyValue>,
    ) {
        let id = self.next_edge.fetch_add(1, Ordering::Relaxed);
        let ty = self.name(ty);
        value.clear();
        for x in [u64::from(ty), s, t] {
            put_uvarint(value, x);
        }
        match w {
            Some(w) => encode_properties([(self.name("weight"), w)], value),
            None => encode_properties(std::iter::empty::<(u32, &PropertyValue)>(), value),
        }
        b.put_cf(cfs.edges, id.to_be_bytes(), &value[..]);
        b.put_cf(cfs.out, adjacency(s, ty, t, id), []);
        b.put_cf(cfs.inc, adjacency(t, ty, s, id), []);
    }

    /// The column families, looked up once per call rather than once per record.
    fn cfs(&self) -> Result<Cfs<'_>> {
        Ok(Cfs {
            vertices: self.cf("vertices")?,
            edges: self.cf("edges")?,
            out: self.cf("out")?,
            inc: self.cf("in")?,
            labels: self.cf("labels")?,
        })
    }

    /// Decodes a vertex record: its label count and its property record.
    fn split_vertex(value: &[u8]) -> Result<(usize, &[u8])> {
        let bad = |e: engine_api::codec::DecodeError| e.into_corrupt("raw", 0);
        let mut d = engine_api::codec::Decoder::new(value);
        let n = d.uvarint().map_err(bad)?;
        for _ in 0..n {
            d.uvarint().map_err(bad)?;
        }
        Ok((n as usize, &value[d.position()..]))
    }

    fn write(&self, b: WriteBatch) -> Result<()> {
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        self.db.write_opt(b, &wo).map_err(rocks)
    }
}

struct Cfs<'d> {
    vertices: &'d ColumnFamily,
    edges: &'d ColumnFamily,
    out: &'d ColumnFamily,
    inc: &'d ColumnFamily,
    labels: &'d ColumnFamily,
}

fn adjacency(v: u64, ty: u32, other: u64, edge: u64) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..8].copy_from_slice(&v.to_be_bytes());
    k[8..12].copy_from_slice(&ty.to_be_bytes());
    k[12..20].copy_from_slice(&other.to_be_bytes());
    k[20..].copy_from_slice(&edge.to_be_bytes());
    k
}

fn label_key(label: u32, id: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&label.to_be_bytes());
    k[4..].copy_from_slice(&id.to_be_bytes());
    k
}

/// Asks the kernel to drop the cached pages of every file under `dir` (files
/// RocksDB has synced are clean, so they go), and says how that went.
fn evict_page_cache(dir: &std::path::Path) -> String {
    fn each(dir: &std::path::Path, files: &mut u64, failed: &mut Option<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                each(&path, files, failed);
            } else if let Ok(f) = std::fs::File::open(&path) {
                match rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed) {
                    Ok(()) => *files += 1,
                    Err(e) => *failed = Some(format!("{}: {e}", path.display())),
                }
            }
        }
    }
    let (mut files, mut failed) = (0, None);
    each(dir, &mut files, &mut failed);
    match failed {
        None => format!("its {files} files evicted from the page cache"),
        Some(why) => format!("page cache not fully evicted ({why})"),
    }
}

/// The big-endian id at `at` in a key (0 if the key is too short: such a key is no
/// key of ours, and its fold then disagrees with the expected one).
fn id_at(key: &[u8], at: usize) -> u64 {
    key.get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

fn prefix_scan(db: &DB, cf: &ColumnFamily, prefix: &[u8], mut f: impl FnMut(&[u8])) -> Result<()> {
    let mut ro = ReadOptions::default();
    // The smallest key past the prefix: increment the last byte that is not 0xff.
    let mut end = prefix.to_vec();
    while end.last() == Some(&0xff) {
        end.pop();
    }
    if let Some(last) = end.last_mut() {
        *last += 1;
        ro.set_iterate_upper_bound(end);
    }
    let mut it = db.raw_iterator_cf_opt(cf, ro);
    it.seek(prefix);
    while let Some(k) = it.key() {
        f(k);
        it.next();
    }
    it.status().map_err(rocks)
}

impl Subject for RawRocks {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        let cfs = self.cfs()?;
        let index = *self.index.read();
        let mut b = WriteBatch::default();
        let mut ids = Vec::with_capacity(batch.len());
        let (mut value, mut entry) = (Vec::new(), Vec::new());
        for v in batch {
            let id = self.next_vertex.fetch_add(1, Ordering::Relaxed);
            self.vertex_value(&v.labels, &v.props, &mut value)?;
            b.put_cf(cfs.vertices, id.to_be_bytes(), &value[..]);
            for l in v.labels {
                b.put_cf(cfs.labels, label_key(self.name(l), id), []);
            }
            self.put_index_entry(index, &mut b, &v.labels, &v.props, id, &mut entry)?;
            ids.push(id);
        }
        self.write(b)?;
        Ok(ids)
    }

    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        let cfs = self.cfs()?;
        let mut b = WriteBatch::default();
        let mut value = Vec::new();
        for e in batch {
            self.put_edge(
                &cfs,
                &mut b,
                &mut value,
                ids[e.source],
                ids[e.target],
                e.edge_type,
                Some(&e.weight),
            );
        }
        self.write(b)
    }

    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        let key = self.name("name");
        let cf = self.cf("vertices")?;
        // One `ReadOptions` for the call. Gets one by one: RocksDB's batched
        // multi-get read 0.61x as fast on this workload (same run, 3 rounds).
        let ro = ReadOptions::default();
        let mut fold = Fold::default();
        for id in ids {
            if let Some(v) = self
                .db
                .get_pinned_cf_opt(cf, id.to_be_bytes(), &ro)
                .map_err(rocks)?
            {
                let (_, props) = Self::split_vertex(&v)?;
                if let Some(name) =
                    find_property(props, key).map_err(|e| e.into_corrupt("raw", 0))?
                {
                    fold.add_value(&name);
                }
            }
        }
        Ok(fold)
    }

    fn label_scan(&self, label: &str) -> Result<Fold> {
        let mut fold = Fold::default();
        prefix_scan(
            &self.db,
            self.cf("labels")?,
            &self.name(label).to_be_bytes(),
            |k| fold.add(id_at(k, 4)),
        )?;
        Ok(fold)
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        let cf = self.cf("out")?;
        let out = |v: u64, next: &mut Vec<u64>| {
            prefix_scan(&self.db, cf, &v.to_be_bytes(), |k| next.push(id_at(k, 12)))
        };
        walk(starts, hops, Ok, out, |v| v)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        let cfs = self.cfs()?;
        let mut b = WriteBatch::default();
        let id = self.next_vertex.fetch_add(1, Ordering::Relaxed);
        let mut value = Vec::new();
        let (labels, props) = (["Person"], [("id", PropertyValue::Int(-1))]);
        self.vertex_value(&labels, &props, &mut value)?;
        b.put_cf(cfs.vertices, id.to_be_bytes(), &value[..]);
        b.put_cf(cfs.labels, label_key(self.name("Person"), id), []);
        let mut entry = Vec::new();
        self.put_index_entry(*self.index.read(), &mut b, &labels, &props, id, &mut entry)?;
        self.put_edge(&cfs, &mut b, &mut value, id, target, "KNOWS", None);
        self.write(b)
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        let cf = self.cf("vertices")?;
        let old = self.db.get_cf(cf, vertex.to_be_bytes()).map_err(rocks)?;
        let Some(old) = old else {
            return Err(Error::not_found("vertex"));
        };
        let (_, record) = Self::split_vertex(&old)?;
        let at = old.len() - record.len();
        let (props, _) = engine_api::codec::replace_property(
            record,
            self.name("score"),
            Some(&PropertyValue::Float(value)),
        )
        .map_err(|e| e.into_corrupt("raw", 0))?;
        let mut new = old[..at].to_vec();
        new.extend_from_slice(&props);
        self.db.put_cf(cf, vertex.to_be_bytes(), new).map_err(rocks)
    }

    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        let (l, k) = (self.name(label), self.name(key));
        let mut fold = Fold::default();
        if *self.index.read() == Some((l, k)) {
            // Through the index: one prefix scan per value.
            let cf = self.cf("index")?;
            let mut prefix = Vec::new();
            for value in values {
                prefix.clear();
                prefix.extend_from_slice(&0u32.to_be_bytes());
                encode_sort_key(value, &mut prefix);
                prefix_scan(&self.db, cf, &prefix, |entry| {
                    if entry.len() == prefix.len() + 8 {
                        fold.add(id_at(entry, prefix.len()));
                    }
                })?;
            }
            return Ok(Some(fold));
        }
        // Without it: every vertex of the label read and compared, per value.
        for value in values {
            let ids = self.with_label(l)?;
            self.property_of_each(&ids, k, |id, v| {
                if v.as_ref() == Some(value) {
                    fold.add(id);
                }
            })?;
        }
        Ok(Some(fold))
    }

    fn id_key(&self, id: u64) -> Result<u64> {
        Ok(id)
    }

    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>> {
        let (l, k) = (self.name(label), self.name(key));
        // Writers from now on add entries; the build covers what is there (the
        // report builds the index with no writer running).
        *self.index.write() = Some((l, k));
        let index = self.cf("index")?;
        let mut entries = 0u64;
        let mut entry = Vec::new();
        let mut b = WriteBatch::default();
        let ids = self.with_label(l)?;
        self.property_of_each(&ids, k, |id, v| {
            if let Some(v) = v {
                Self::index_entry(&v, id, &mut entry);
                b.put_cf(index, &entry[..], []);
                entries += 1;
            }
        })?;
        self.write(b)?;
        Ok(Some(entries))
    }

    fn settle(&mut self) -> Result<()> {
        // As the on-disk subject: every family flushed, then rewritten into its
        // bottommost level.
        for name in engine_ondisk::keys::ALL_CFS {
            let cf = self.cf(name)?;
            self.db.flush_cf(cf).map_err(rocks)?;
            self.db.compact_range_cf_opt(
                cf,
                None::<&[u8]>,
                None::<&[u8]>,
                &engine_ondisk::rewrite_everything(),
            );
        }
        Ok(())
    }

    fn storage(&self) -> Result<Option<engine_ondisk::StorageUsage>> {
        engine_ondisk::measure_usage(
            |b| {
                b.add_db(&self.db);
                b.add_cache(&self.cache);
            },
            &self.root,
        )
        .map(Some)
    }

    fn cold(&self, cache: Option<usize>) -> Result<Option<String>> {
        self.cache
            .clone()
            .set_capacity(cache.unwrap_or(self.cache_bytes));
        Ok(cache.map(|_| evict_page_cache(&self.root)))
    }

    fn digest(&self) -> Result<Digest> {
        let cfs = self.cfs()?;
        let (score, weight) = (self.name("score"), self.name("weight"));
        let bad = |e: engine_api::codec::DecodeError| e.into_corrupt("raw", 0);
        let mut d = Digest::default();
        let mut it = self.db.raw_iterator_cf(cfs.vertices);
        it.seek_to_first();
        while let Some(v) = it.value() {
            let (labels, props) = Self::split_vertex(v)?;
            d.add_vertex(labels, find_property(props, score).map_err(bad)?.as_ref());
            it.next();
        }
        it.status().map_err(rocks)?;
        let mut it = self.db.raw_iterator_cf(cfs.edges);
        it.seek_to_first();
        while let Some(v) = it.value() {
            let mut dec = engine_api::codec::Decoder::new(v);
            for _ in 0..3 {
                dec.uvarint().map_err(bad)?;
            }
            d.add_edge(
                find_property(&v[dec.position()..], weight)
                    .map_err(bad)?
                    .as_ref(),
            );
            it.next();
        }
        it.status().map_err(rocks)?;
        Ok(d)
    }
}

/// Small-write and mixed throughput of RocksDB's two transaction kinds.
#[derive(Debug, Clone, Serialize)]
pub struct TxnKindFigures {
    /// (kind, small write txn/s on 2 threads, mixed ops/s on 2 threads, conflicts in
    /// the mixed workload, the point at which conflicts are reported).
    pub rows: Vec<(String, f64, f64, u64, String)>,
}

const PRELOAD: u64 = 10_000;

/// One read-modify-write or create per transaction, the key operations
/// engine-ondisk performs for a small write (lock and rewrite the target, put the new
/// vertex, the edge and its two adjacency entries) and for a score update.
macro_rules! kind_workloads {
    ($db:expr, $begin:expr, $txns:expr, $ops:expr) => {{
        let db = $db;
        let handle = |n: &str| {
            db.cf_handle(n)
                .ok_or_else(|| Error::new(ErrorKind::Io, format!("no column family {n}")))
        };
        let handles = [
            handle("vertices")?,
            handle("edges")?,
            handle("out")?,
            handle("in")?,
        ];
        let cf = |n: &str| match n {
            "vertices" => handles[0],
            "edges" => handles[1],
            "out" => handles[2],
            _ => handles[3],
        };
        let mut b = rocksdb::WriteBatchWithTransaction::<true>::default();
        for i in 0..PRELOAD {
            b.put_cf(cf("vertices"), i.to_be_bytes(), [0u8; 40]);
        }
        db.write(b).map_err(rocks)?;
        let next = AtomicU64::new(PRELOAD);
        let start = Instant::now();
        std::thread::scope(|s| -> Result<()> {
            let hs: Vec<_> = (0..2u64)
                .map(|th| {
                    let next = &next;
                    s.spawn(move || -> Result<()> {
                        let mut rng = Rng::new(11 + th);
                        for _ in 0..$txns {
                            loop {
                                let target = rng.below(PRELOAD as usize) as u64;
                                let r = (|| -> std::result::Result<(), rocksdb::Error> {
                                    let t = $begin;
                                    let old = t
                                        .get_for_update_cf(
                                            cf("vertices"),
                                            target.to_be_bytes(),
                                            true,
                                        )?
                                        .unwrap_or_default();
                                    t.put_cf(cf("vertices"), target.to_be_bytes(), &old)?;
                                    let id = next.fetch_add(1, Ordering::Relaxed);
                                    t.put_cf(cf("vertices"), id.to_be_bytes(), [0u8; 20])?;
                                    t.put_cf(cf("edges"), id.to_be_bytes(), [0u8; 12])?;
                                    t.put_cf(cf("out"), adjacency(id, 0, target, id), [])?;
                                    t.put_cf(cf("in"), adjacency(target, 0, id, id), [])?;
                                    t.commit()
                                })();
                                match r.map_err(rocks) {
                                    Ok(()) => break,
                                    Err(e) if e.is_retryable() => continue,
                                    Err(e) => return Err(e),
                                }
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in hs {
                h.join()
                    .map_err(|_| Error::new(ErrorKind::Io, "thread panicked"))??;
            }
            Ok(())
        })?;
        let small = (2 * $txns) as f64 / start.elapsed().as_secs_f64();
        let conflicts = AtomicU64::new(0);
        let start = Instant::now();
        std::thread::scope(|s| -> Result<()> {
            let hs: Vec<_> = (0..2u64)
                .map(|th| {
                    let conflicts = &conflicts;
                    s.spawn(move || -> Result<()> {
                        let mut rng = Rng::new(21 + th);
                        for _ in 0..$ops {
                            let v = rng.below(PRELOAD as usize) as u64;
                            if rng.below(10) != 0 {
                                db.get_pinned_cf(cf("vertices"), v.to_be_bytes())
                                    .map_err(rocks)?;
                                continue;
                            }
                            loop {
                                let r = (|| -> std::result::Result<(), rocksdb::Error> {
                                    let t = $begin;
                                    let mut old = t
                                        .get_for_update_cf(cf("vertices"), v.to_be_bytes(), true)?
                                        .unwrap_or_default();
                                    old.push(1);
                                    old.truncate(40);
                                    t.put_cf(cf("vertices"), v.to_be_bytes(), &old)?;
                                    t.commit()
                                })();
                                match r.map_err(rocks) {
                                    Ok(()) => break,
                                    Err(e) if e.is_retryable() => {
                                        conflicts.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Err(e) => return Err(e),
                                }
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in hs {
                h.join()
                    .map_err(|_| Error::new(ErrorKind::Io, "thread panicked"))??;
            }
            Ok(())
        })?;
        let mixed = (2 * $ops) as f64 / start.elapsed().as_secs_f64();
        (small, mixed, conflicts.load(Ordering::Relaxed))
    }};
}

/// Runs the comparison with `txns` small writes and `ops` mixed operations per thread.
pub fn txn_kinds(txns: usize, ops: usize) -> Result<TxnKindFigures> {
    let mut rows = Vec::new();
    {
        let dir = tempfile_dir()?;
        let (opts, cfs) = engine_ondisk::transaction_db_options(&Config::new(dir.path()));
        let db: TransactionDB = TransactionDB::open_cf_descriptors(
            &opts,
            &TransactionDBOptions::default(),
            dir.path().join("rocksdb"),
            cfs,
        )
        .map_err(rocks)?;
        let wo = WriteOptions::default();
        let mut to = TransactionOptions::default();
        to.set_snapshot(true);
        to.set_lock_timeout(1);
        let (dbr, wor, tor) = (&db, &wo, &to);
        let (small, mixed, c) = kind_workloads!(dbr, dbr.transaction_opt(wor, tor), txns, ops);
        rows.push((
            "TransactionDB (pessimistic)".into(),
            small,
            mixed,
            c,
            "at the write".into(),
        ));
    }
    {
        let dir = tempfile_dir()?;
        let (opts, cfs) = engine_ondisk::transaction_db_options(&Config::new(dir.path()));
        let db: OptimisticTransactionDB =
            OptimisticTransactionDB::open_cf_descriptors(&opts, dir.path().join("rocksdb"), cfs)
                .map_err(rocks)?;
        let wo = WriteOptions::default();
        let mut to = OptimisticTransactionOptions::default();
        to.set_snapshot(true);
        let (dbr, wor, tor) = (&db, &wo, &to);
        let (small, mixed, c) = kind_workloads!(dbr, dbr.transaction_opt(wor, tor), txns, ops);
        rows.push((
            "OptimisticTransactionDB".into(),
            small,
            mixed,
            c,
            "at commit".into(),
        ));
    }
    Ok(TxnKindFigures { rows })
}

impl TxnKindFigures {
    /// The comparison as a Markdown section.
    pub fn markdown(&self) -> String {
        let mut md = String::from(
            "\n## RocksDB transaction kinds (the alternatives to engine-ondisk's own locks; one run)\n\n",
        );
        md.push_str("The key operations of a small write (lock and rewrite the target vertex, put a vertex, an edge and two adjacency entries) and of the mixed workload (90% snapshot reads, 10% read-modify-write of a random vertex out of 10k), 2 threads, sync off, conflicts retried. engine-ondisk runs neither kind: its transactions lock objects in its own lock table over a plain `DB` and commit one `WriteBatch`; its whole small write transaction (shared endpoint lock and existence check instead of the rewrite) is in the main table.\n\n");
        md.push_str("| kind | small write txn/s | mixed ops/s | mixed conflicts | conflict reported |\n|---|---:|---:|---:|---|\n");
        for (kind, small, mixed, c, when) in &self.rows {
            md.push_str(&format!(
                "| {kind} | {small:.0} | {mixed:.0} | {c} | {when} |\n"
            ));
        }
        md
    }
}

/// engine-ondisk in a temporary directory, sync off (as the in-memory subjects'
/// commits are not durable either), through the `StorageEngine` contract.
#[derive(Debug)]
pub struct OnDiskSubject {
    /// `None` only while `settle` has it closed to compact its files.
    engine: Option<crate::EngineSubject<engine_ondisk::OnDiskEngine>>,
    config: Config,
    _dir: Option<TempDir>,
}

impl OnDiskSubject {
    /// A fresh engine.
    pub fn open() -> Result<Self> {
        let dir = tempfile_dir()?;
        let mut subject = Self::open_in(dir.path(), engine_api::SyncMode::Off)?;
        subject._dir = Some(dir);
        Ok(subject)
    }

    /// A fresh engine in `root` with sync mode `sync` (the durable rows use
    /// `EveryCommit`).
    pub fn open_in(root: &std::path::Path, sync: engine_api::SyncMode) -> Result<Self> {
        let config = Config::new(root).durability(Config::default_durability().sync_mode(sync));
        let engine = engine_ondisk::OnDiskEngine::open(config.clone())?;
        Ok(OnDiskSubject {
            engine: Some(crate::EngineSubject(engine)),
            config,
            _dir: None,
        })
    }

    fn subject(&self) -> Result<&crate::EngineSubject<engine_ondisk::OnDiskEngine>> {
        self.engine
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Io, "the engine did not reopen after compaction"))
    }

    /// The engine itself. Errors: the engine failed to reopen after `settle`.
    pub fn engine(&self) -> Result<&engine_ondisk::OnDiskEngine> {
        self.subject().map(|s| &s.0)
    }
}

impl Subject for OnDiskSubject {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        self.subject()?.import_vertices(batch)
    }
    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        self.subject()?.import_edges(batch, ids)
    }
    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        self.subject()?.read_names(ids)
    }
    fn label_scan(&self, label: &str) -> Result<Fold> {
        self.subject()?.label_scan(label)
    }
    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        self.subject()?.expand(starts, hops)
    }
    fn small_write(&self, target: u64) -> Result<()> {
        self.subject()?.small_write(target)
    }
    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        self.subject()?.update_score(vertex, value)
    }
    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        self.subject()?.lookup(label, key, values)
    }
    fn id_key(&self, id: u64) -> Result<u64> {
        self.subject()?.id_key(id)
    }
    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>> {
        self.subject()?.create_index(label, key)
    }
    fn settle(&mut self) -> Result<()> {
        // As the raw peer: every family flushed, then rewritten into its bottommost
        // level, in place (no reopen: both meet the reads in the same state).
        self.engine()?.compact()
    }
    fn storage(&self) -> Result<Option<engine_ondisk::StorageUsage>> {
        self.engine()?.storage_usage().map(Some)
    }
    fn cold(&self, cache: Option<usize>) -> Result<Option<String>> {
        let engine = self.engine()?;
        engine.set_block_cache_capacity(cache.unwrap_or(self.config.get_block_cache_bytes()));
        Ok(cache.map(|_| evict_page_cache(engine.data_dir())))
    }
    fn digest(&self) -> Result<Digest> {
        self.subject()?.digest()
    }
}
