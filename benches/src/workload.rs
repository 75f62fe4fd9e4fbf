//! The default workload of the benchmark spec: records, operations and their
//! deterministic random choices.

use engine_api::{PropertyValue, Result};

/// Sizes of one run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct WorkloadSize {
    /// Vertices imported.
    pub vertices: usize,
    /// Edges imported.
    pub edges: usize,
    /// Records per import transaction.
    pub batch: usize,
    /// Point reads.
    pub reads: usize,
    /// Start vertices of 1-hop expansions (2-hop uses a tenth).
    pub expansions: usize,
    /// Small write transactions per thread configuration.
    pub small_writes: usize,
    /// Operations per thread of the mixed workload.
    pub mixed_ops: usize,
}

impl Default for WorkloadSize {
    fn default() -> Self {
        WorkloadSize {
            vertices: 100_000,
            edges: 500_000,
            batch: 10_000,
            reads: 1_000_000,
            expansions: 200_000,
            small_writes: 100_000,
            mixed_ops: 200_000,
        }
    }
}

/// The second label of vertex `i` (every vertex also has `Person`).
pub const ROLES: [&str; 4] = ["Customer", "Employee", "Admin", "Guest"];
/// Edge types.
pub const EDGE_TYPES: [&str; 2] = ["KNOWS", "FOLLOWS"];

/// One vertex to import: 2 labels, 3 properties.
#[derive(Debug, Clone)]
pub struct VertexSpec {
    /// Labels.
    pub labels: [&'static str; 2],
    /// Properties `id`, `name`, `score`.
    pub props: [(&'static str, PropertyValue); 3],
}

/// One edge to import, by vertex index; 1 property.
#[derive(Debug, Clone)]
pub struct EdgeSpec {
    /// Index of the source in the import order.
    pub source: usize,
    /// Index of the target.
    pub target: usize,
    /// Edge type.
    pub edge_type: &'static str,
    /// Property `weight`.
    pub weight: PropertyValue,
}

/// A deterministic generator (xorshift64*), so every subject gets the same records
/// and the same random choices.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next value below `bound`.
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1) as u64) as usize
    }
}

/// The records of one run.
#[derive(Debug)]
pub struct Workload {
    /// Sizes.
    pub size: WorkloadSize,
    /// Vertices in import order.
    pub vertices: Vec<VertexSpec>,
    /// Edges in import order.
    pub edges: Vec<EdgeSpec>,
}

impl Workload {
    /// Generates the records for `size`.
    pub fn generate(size: WorkloadSize) -> Self {
        let vertices = (0..size.vertices)
            .map(|i| VertexSpec {
                labels: ["Person", ROLES[i % ROLES.len()]],
                props: [
                    ("id", PropertyValue::Int(i as i64)),
                    ("name", PropertyValue::String(format!("person-{i}"))),
                    ("score", PropertyValue::Float((i % 1000) as f64 / 10.0)),
                ],
            })
            .collect();
        let mut rng = Rng::new(42);
        // No (source, type, target) twice: a peer that identifies an edge by them
        // (IndraDB) would hold one edge where the others hold two. Redrawn while the
        // graph has room for another distinct edge of the type.
        let room = size.vertices.saturating_mul(size.vertices);
        let mut seen = std::collections::HashSet::with_capacity(size.edges);
        let edges = (0..size.edges)
            .map(|i| {
                let edge_type = EDGE_TYPES[i % EDGE_TYPES.len()];
                let mut pick = || (rng.below(size.vertices), rng.below(size.vertices));
                let (mut source, mut target) = pick();
                while seen.len() < room && !seen.insert((source, target, edge_type)) {
                    (source, target) = pick();
                }
                EdgeSpec {
                    source,
                    target,
                    edge_type,
                    weight: PropertyValue::Int((i % 100) as i64),
                }
            })
            .collect();
        Workload {
            size,
            vertices,
            edges,
        }
    }
}

/// One thing the workloads run on: a backend or a peer. Ids are the subject's own.
pub trait Subject: Sync {
    /// Imports one batch of vertices in one transaction; returns their ids in order.
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>>;
    /// Imports one batch of edges in one transaction; `ids` maps import index to id.
    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()>;
    /// Reads the `name` property of each vertex, in one read transaction, and folds
    /// each value's bytes ([`Fold::add_text`]); a vertex without one adds nothing.
    fn read_names(&self, ids: &[u64]) -> Result<Fold>;
    /// Visits the vertices with `label` and folds each one's [`Subject::id_key`].
    fn label_scan(&self, label: &str) -> Result<Fold>;
    /// Folds the [`Subject::id_key`] of every vertex reached by `hops` outgoing
    /// steps from each start (once per path).
    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold>;
    /// One transaction: create a vertex and an edge from it to `target`.
    fn small_write(&self, target: u64) -> Result<()>;
    /// One transaction: set `score` of `vertex`. May fail with a retryable Conflict.
    fn update_score(&self, vertex: u64, value: f64) -> Result<()>;
    /// Folds, in one read transaction, the [`Subject::id_key`] of the vertices with
    /// `label` whose `key` equals each of `values`; `None` for a subject without
    /// property lookups. (Required, not defaulted: an adapter that forgot it would
    /// silently drop the rows.)
    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>>;
    /// What a read folds for the vertex the subject gave id `id` (the id itself,
    /// unless the subject's reads return another handle, as IndraDB's UUIDs). The
    /// report computes, outside the timed part, what each read must fold.
    fn id_key(&self, id: u64) -> Result<u64>;
    /// Creates an index on `label`(`key`) and returns how many entries the subject
    /// says it holds; `None` for a subject without indexes.
    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>>;
    /// Brings the data into the state the reads are measured in: an on-disk subject
    /// writes its memtables to SST files and compacts them (so reads meet the files,
    /// the block cache and the filters); an in-memory subject has nothing to do.
    fn settle(&mut self) -> Result<()>;
    /// RocksDB's memory and files, for a subject built on it (its memory is outside
    /// the Rust heap the report counts); `None` for one that keeps everything on the
    /// Rust heap.
    fn storage(&self) -> Result<Option<engine_ondisk::StorageUsage>>;
    /// The cold rows: with `Some(bytes)`, shrinks the block cache to `bytes` and
    /// evicts the subject's files from the page cache, and says what it did; with
    /// `None`, gives the cache its configured size back. `None` (and nothing done)
    /// for a subject without a block cache.
    fn cold(&self, cache: Option<usize>) -> Result<Option<String>>;
    /// Reads the whole graph back from the subject's own state (not from what the
    /// workload fed it), so the report can check that every subject did the same work.
    fn digest(&self) -> Result<Digest>;
}

/// The [`Subject`] methods of a subject that keeps everything on the Rust heap: no
/// files to settle, no storage of its own to report, no block cache to make cold.
/// Written out in the adapter (`all_on_the_rust_heap!();`) rather than defaulted in
/// the trait, so an adapter built on RocksDB cannot forget them silently.
macro_rules! all_on_the_rust_heap {
    () => {
        fn settle(&mut self) -> engine_api::Result<()> {
            Ok(())
        }

        fn storage(&self) -> engine_api::Result<Option<engine_ondisk::StorageUsage>> {
            Ok(None)
        }

        fn cold(&self, _cache: Option<usize>) -> engine_api::Result<Option<String>> {
            Ok(None)
        }
    };
}
pub(crate) use all_on_the_rust_heap;

/// The [`Subject`] methods of a subject without property indexes (the report shows
/// n/a for its lookups) whose vertex ids are their own keys. Written out in the
/// adapter for the same reason as [`all_on_the_rust_heap`].
macro_rules! without_property_indexes {
    () => {
        fn lookup(
            &self,
            _label: &str,
            _key: &str,
            _values: &[engine_api::PropertyValue],
        ) -> engine_api::Result<Option<$crate::workload::Fold>> {
            Ok(None)
        }

        fn id_key(&self, id: u64) -> engine_api::Result<u64> {
            Ok(id)
        }

        fn create_index(&self, _label: &str, _key: &str) -> engine_api::Result<Option<u64>> {
            Ok(None)
        }
    };
}
pub(crate) use without_property_indexes;

/// What a reading workload read, folded so that the report can check it against
/// what the subject must have read: how many items, and an order-independent sum of
/// a mix of each (a value's bytes, a vertex's key). Counting alone would let a
/// subject that reads nothing pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Fold {
    /// Items folded.
    pub count: u64,
    /// The wrapping sum of [`mix`] of each item.
    pub sum: u64,
}

/// A 64-bit mixer (SplitMix64's finalizer): every input bit changes about half of
/// the output bits, so a wrong item does not cancel out in a sum.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The expand workload's walk, the same in every subject: from each start, follow
/// outgoing edges `hops` times (a vertex reached along two paths is walked twice) and
/// fold in every vertex the last hop reaches. `start` turns a workload id into the
/// subject's vertex handle, `out` appends a vertex's out-neighbours, `key` gives a
/// handle's key for the fold.
pub(crate) fn walk<V: Copy>(
    starts: &[u64],
    hops: usize,
    start: impl Fn(u64) -> Result<V>,
    mut out: impl FnMut(V, &mut Vec<V>) -> Result<()>,
    key: impl Fn(V) -> u64,
) -> Result<Fold> {
    let mut reached = Fold::default();
    let (mut frontier, mut next) = (Vec::new(), Vec::new());
    for s in starts {
        frontier.clear();
        frontier.push(start(*s)?);
        for _ in 0..hops {
            next.clear();
            for v in &frontier {
                out(*v, &mut next)?;
            }
            std::mem::swap(&mut frontier, &mut next);
        }
        for v in &frontier {
            reached.add(key(*v));
        }
    }
    Ok(reached)
}

impl Fold {
    /// Folds one item given as a number (a vertex's key).
    pub fn add(&mut self, x: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(mix(x));
    }

    /// Folds one text value by its bytes (FNV-1a, then mixed).
    pub fn add_text(&mut self, text: &[u8]) {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.add(h);
    }

    /// Folds a property value read: a string by its bytes; any other value as the
    /// bytes of its debug form (the workloads read strings).
    pub fn add_value(&mut self, v: &PropertyValue) {
        match v {
            PropertyValue::String(s) => self.add_text(s.as_bytes()),
            other => self.add_text(format!("{other:?}").as_bytes()),
        }
    }

    /// Folds a value read in place, as [`Fold::add_value`] folds the owned value.
    pub fn add_value_ref(&mut self, v: engine_api::ValueRef<'_>) {
        match v {
            engine_api::ValueRef::String(s) => self.add_text(s.as_bytes()),
            other => self.add_text(format!("{other:?}").as_bytes()),
        }
    }

    /// Both folds together.
    #[must_use]
    pub fn merge(self, other: Fold) -> Fold {
        Fold {
            count: self.count + other.count,
            sum: self.sum.wrapping_add(other.sum),
        }
    }

    /// One number for a checksum column, never 0: a fold is checked against what
    /// the workload says was there to read, so an empty one (a graph without edges
    /// to expand) can be right.
    pub fn checksum(&self) -> u64 {
        mix(self.count ^ mix(self.sum)) | 1
    }
}

/// What a subject holds after a workload, read back from its own state: counts and
/// sums over properties, equal for every subject that did the same work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Digest {
    /// Vertices.
    pub vertices: u64,
    /// Edges.
    pub edges: u64,
    /// Labels over all vertices.
    pub labels: u64,
    /// The sum of `score` × 10 (rounded) over the vertices that have a Float score.
    pub score_tenths: i64,
    /// The sum of the Int `weight` of the edges that have one.
    pub weight: i64,
}

impl Digest {
    /// Counts one vertex with `labels` labels and this `score` property.
    pub fn add_vertex(&mut self, labels: usize, score: Option<&PropertyValue>) {
        self.vertices += 1;
        self.labels += labels as u64;
        if let Some(PropertyValue::Float(f)) = score {
            self.score_tenths += (f * 10.0).round() as i64;
        }
    }

    /// Counts one edge with this `weight` property.
    pub fn add_edge(&mut self, weight: Option<&PropertyValue>) {
        self.edges += 1;
        if let Some(PropertyValue::Int(w)) = weight {
            self.weight += w;
        }
    }

    /// One number for the report's checksum column: a mix of every field, never 0
    /// for a non-empty graph.
    pub fn checksum(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in [
            self.vertices,
            self.edges,
            self.labels,
            self.score_tenths as u64,
            self.weight as u64,
        ] {
            h = (h ^ x).wrapping_mul(0x0000_0100_0000_01b3);
        }
        if self.vertices == 0 { 0 } else { h | 1 }
    }
}

/// The score the mixed workload's update of the vertex imported `index`-th sets: a
/// function of the vertex alone, so the final state does not depend on which of the
/// two threads wrote last.
pub fn updated_score(index: usize) -> f64 {
    (index % 1000) as f64 + 0.5
}
