//! Any backend as a benchmark subject, through the `StorageEngine` contract only.

use engine_api::{
    Direction, Error, IndexSpec, PropertyBounds, PropertyValue, Result, StorageEngine, Transaction,
    TxnOptions, VertexId,
};

use engine_api::codec::find_property;
use engine_api::{ImageEdge, ImageEngine, ImageVertex};

use crate::workload::{Digest, EdgeSpec, Fold, Subject, VertexSpec, walk};

/// A backend under test.
#[derive(Debug)]
pub struct EngineSubject<E>(pub E);

/// A backend that reads its whole state out as one image (its `export`): the
/// subject's digest reads that, as RocksDB raw's digest reads its families in key
/// order. Point reads per vertex and edge through a transaction took 20 to 28 s per
/// digest on disk at 1M vertices + 5M edges, seven times per run. The image is the
/// committed state the transactions' reads see.
pub trait Exported {
    /// Hands the whole committed state to `sink`.
    fn export_image(&self, sink: &mut dyn ::durability::SnapshotSink) -> Result<()>;
}

impl Exported for engine_inmem_txn::InMemoryEngine {
    fn export_image(&self, sink: &mut dyn ::durability::SnapshotSink) -> Result<()> {
        self.export(sink).map(drop)
    }
}

impl Exported for engine_inmem_analytical::AnalyticalEngine {
    fn export_image(&self, sink: &mut dyn ::durability::SnapshotSink) -> Result<()> {
        self.export(sink).map(drop)
    }
}

impl Exported for engine_ondisk::OnDiskEngine {
    fn export_image(&self, sink: &mut dyn ::durability::SnapshotSink) -> Result<()> {
        self.export(sink).map(drop)
    }
}

impl Exported for quiver::Database {
    fn export_image(&self, sink: &mut dyn ::durability::SnapshotSink) -> Result<()> {
        match self.engine() {
            quiver::Engine::InMemoryTransactional(e) => e.export_image(sink),
            quiver::Engine::InMemoryAnalytical(e) => e.export_image(sink),
            quiver::Engine::OnDiskTransactional(e) => e.export_image(sink),
        }
    }
}

/// Folds an exported image into a [`Digest`].
#[derive(Default)]
struct DigestSink {
    digest: Digest,
    /// The ids of the property keys `score` and `weight`, once named.
    score: Option<u32>,
    weight: Option<u32>,
}

impl DigestSink {
    fn property(props: &[u8], key: Option<u32>) -> Result<Option<PropertyValue>> {
        match key {
            Some(k) => find_property(props, k).map_err(|e| e.into_corrupt("exported record", 0)),
            None => Ok(None),
        }
    }
}

impl ::durability::SnapshotSink for DigestSink {
    fn name(&mut self, kind: ::durability::NameKind, id: u32, name: &str) -> Result<()> {
        if kind == ::durability::NameKind::PropertyKey {
            match name {
                "score" => self.score = Some(id),
                "weight" => self.weight = Some(id),
                _ => {}
            }
        }
        Ok(())
    }
    fn schema(&mut self, _: ::durability::SchemaOp) -> Result<()> {
        Ok(())
    }
    fn counters(&mut self, _: u64, _: u64) -> Result<()> {
        Ok(())
    }
    fn vertex(&mut self, v: ImageVertex<'_>) -> Result<()> {
        let score = Self::property(v.props, self.score)?;
        self.digest.add_vertex(v.labels.len(), score.as_ref());
        Ok(())
    }
    fn edge(&mut self, e: ImageEdge<'_>) -> Result<()> {
        let weight = Self::property(e.props, self.weight)?;
        self.digest.add_edge(weight.as_ref());
        Ok(())
    }
}

impl<E: StorageEngine + Exported> Subject for EngineSubject<E> {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        let mut t = self.0.begin(TxnOptions::new())?;
        let mut ids = Vec::with_capacity(batch.len());
        for v in batch {
            ids.push(t.create_vertex_with(&v.labels, &v.props)?.0);
        }
        t.commit()?;
        Ok(ids)
    }

    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        let mut t = self.0.begin(TxnOptions::new())?;
        for e in batch {
            t.create_edge_with(
                VertexId(ids[e.source]),
                VertexId(ids[e.target]),
                e.edge_type,
                &[("weight", e.weight.clone())],
            )?;
        }
        t.commit()?;
        Ok(())
    }

    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let mut fold = Fold::default();
        // Borrowed in place: no value copied out.
        for id in ids {
            t.with_vertex_property(VertexId(*id), "name", |name| {
                if let Some(name) = name {
                    fold.add_value_ref(name);
                }
            })?;
        }
        Ok(fold)
    }

    fn label_scan(&self, label: &str) -> Result<Fold> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let mut fold = Fold::default();
        for v in t.vertices_with_label(label)? {
            fold.add(v?.0);
        }
        Ok(fold)
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let out = |v: VertexId, next: &mut Vec<VertexId>| {
            for e in t.edges(v, Direction::Out, None)? {
                next.push(e?.target);
            }
            Ok(())
        };
        walk(starts, hops, |s| Ok(VertexId(s)), out, |v| v.0)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        let mut t = self.0.begin(TxnOptions::new())?;
        let v = t.create_vertex_with(&["Person"], &[("id", PropertyValue::Int(-1))])?;
        t.create_edge(v, VertexId(target), "KNOWS")?;
        t.commit()?;
        Ok(())
    }

    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let mut fold = Fold::default();
        for value in values {
            for v in t.vertices_with_property(label, key, &PropertyBounds::equal(value.clone()))? {
                fold.add(v?.0);
            }
        }
        Ok(Some(fold))
    }

    fn id_key(&self, id: u64) -> Result<u64> {
        Ok(id)
    }

    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>> {
        if !self.0.capabilities().indexes {
            return Ok(None);
        }
        let spec = IndexSpec::LabelProperties {
            label: label.into(),
            properties: vec![key.into()],
        };
        self.0.create_index(&spec)?;
        let entries = self
            .0
            .indexes()?
            .into_iter()
            .find(|i| i.spec == spec)
            .map(|i| i.entries)
            .ok_or_else(|| {
                Error::not_found(format!("the index {spec} just created is not listed"))
            })?;
        Ok(Some(entries))
    }

    fn digest(&self) -> Result<Digest> {
        let mut sink = DigestSink::default();
        self.0.export_image(&mut sink)?;
        Ok(sink.digest)
    }

    // A Rust engine; engine-ondisk's adapter wraps this one and answers these itself.
    crate::workload::all_on_the_rust_heap!();

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        let mut t = self.0.begin(TxnOptions::new())?;
        t.set_vertex_property(VertexId(vertex), "score", value.into())?;
        t.commit()?;
        Ok(())
    }
}

/// inmem-txn with a data directory of its own (a temporary one under
/// `QUIVER_BENCH_DIR`): commits go through the WAL, sync mode Off, no periodic
/// snapshot, none on exit.
#[derive(Debug)]
pub struct WalSubject {
    engine: EngineSubject<engine_inmem_txn::InMemoryEngine>,
    _dir: crate::durability::TempDir,
}

impl WalSubject {
    /// A fresh engine in a fresh directory.
    pub fn open() -> Result<Self> {
        let dir = crate::durability::tempfile_dir()?;
        let engine = engine_inmem_txn::InMemoryEngine::open(
            engine_inmem_txn::Config::default()
                .data_directory(dir.path())
                .durability(
                    engine_api::DurabilityConfig::default()
                        .sync_mode(engine_api::SyncMode::Off)
                        .snapshot_interval(None)
                        .snapshot_on_exit(false),
                ),
        )?;
        Ok(WalSubject {
            engine: EngineSubject(engine),
            _dir: dir,
        })
    }
}

impl Subject for WalSubject {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        self.engine.import_vertices(batch)
    }
    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        self.engine.import_edges(batch, ids)
    }
    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        self.engine.read_names(ids)
    }
    fn label_scan(&self, label: &str) -> Result<Fold> {
        self.engine.label_scan(label)
    }
    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        self.engine.expand(starts, hops)
    }
    fn small_write(&self, target: u64) -> Result<()> {
        self.engine.small_write(target)
    }
    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        self.engine.update_score(vertex, value)
    }
    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        self.engine.lookup(label, key, values)
    }
    fn id_key(&self, id: u64) -> Result<u64> {
        self.engine.id_key(id)
    }
    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>> {
        self.engine.create_index(label, key)
    }
    fn settle(&mut self) -> Result<()> {
        self.engine.settle()
    }
    fn storage(&self) -> Result<Option<engine_ondisk::StorageUsage>> {
        self.engine.storage()
    }
    fn cold(&self, cache: Option<usize>) -> Result<Option<String>> {
        self.engine.cold(cache)
    }
    fn digest(&self) -> Result<Digest> {
        self.engine.digest()
    }
}
