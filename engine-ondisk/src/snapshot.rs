//! Snapshots: exports of a consistent RocksDB snapshot to the portable snapshot format
//! of the durability crate, and the import a new database starts from.
//!
//! Why an export and not a RocksDB checkpoint: a snapshot file is one self-checking
//! file (every block has a CRC) that a backup copies like any other, that restores
//! into an empty data directory by itself, and that either in-memory backend can load
//! as well, so it is also how a database moves between storage modes. A checkpoint is
//! a directory of hard links that only RocksDB can read and that needs the same file
//! system. The cost is that an export reads and writes the whole graph.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use durability::snapshot::{read_snapshot, read_snapshot_header};
use durability::{SchemaOp, SnapshotName, SnapshotSink, SnapshotSummary, SnapshotWriter};
use engine_api::{Error, ErrorKind, Result, SnapshotInfo};
use rocksdb::{DB, ReadOptions, SnapshotWithThreadMode, WriteBatch, WriteOptions};

use crate::engine::{OnDiskEngine, cf};
use crate::keys::{
    EDGES, EdgeValue, IN, LABELS, META, OUT, VERTICES, VertexRecord, adjacency_key, decode_id_key,
    id_key, label_key, rocks,
};
use crate::metadata::{KEY_IDS, NameKind, encode_bounds, name_key};

/// The newest snapshot in `snapshots` and its header. A damaged one (its magic
/// included: the name makes it ours) is Corrupt: restoring an older snapshot instead
/// would silently restore an older state, and starting empty would lose all of it.
pub(crate) fn newest_snapshot(
    snapshots: &[SnapshotName],
) -> Result<Option<(PathBuf, SnapshotSummary)>> {
    let Some(s) = snapshots.last() else {
        return Ok(None);
    };
    Ok(Some((s.path.clone(), read_snapshot_header(&s.path)?)))
}

/// The snapshots in `snapshots/`, oldest first.
pub(crate) fn list(snapshots: &[SnapshotName]) -> Result<Vec<SnapshotInfo>> {
    durability::snapshot::snapshot_infos(snapshots)
}

/// Writes the state `snapshot` sees to a new snapshot file.
pub(crate) fn export(
    engine: &OnDiskEngine,
    snapshot: &SnapshotWithThreadMode<'_, DB>,
    dir: &Path,
    seq: u64,
    commit_ts: u64,
) -> Result<SnapshotInfo> {
    let mut w = SnapshotWriter::create(dir, seq, commit_ts, engine.database_id())?;
    match write_contents(engine, snapshot, &mut w) {
        Ok(()) => w.finish(),
        Err(e) => {
            w.abandon();
            Err(e)
        }
    }
}

/// Hands the state `snapshot` sees to `w` in snapshot order.
pub(crate) fn write_contents(
    engine: &OnDiskEngine,
    snapshot: &SnapshotWithThreadMode<'_, DB>,
    w: &mut dyn SnapshotSink,
) -> Result<()> {
    for kind in NameKind::ALL {
        for (id, n) in engine.names.entries(kind).iter() {
            w.name(kind.to_snapshot(), *id, n)?;
        }
    }
    w.schema_all(&engine.schema.current().definitions())?;
    let (next_vertex, next_edge) = engine.ids.bounds();
    w.counters(next_vertex, next_edge)?;
    let db = &engine.db;
    for (name, is_vertex) in [(VERTICES, true), (EDGES, false)] {
        let mut ro = ReadOptions::default();
        ro.set_snapshot(snapshot);
        // A full scan that should not push the working set out of the cache.
        ro.fill_cache(false);
        let mut it = db.raw_iterator_cf_opt(cf(db, name)?, ro);
        it.seek_to_first();
        while let (Some(key), Some(value)) = (it.key(), it.value()) {
            let id = decode_id_key(name, key)?;
            if is_vertex {
                let v = VertexRecord::decode(key, value)?;
                w.vertex(id, &v.labels, &v.props)?;
            } else {
                let e = EdgeValue::decode(key, value)?;
                w.edge(id, e.edge_type, e.source, e.target, &e.props)?;
            }
            it.next();
        }
        it.status()
            .map_err(|e| rocks(&format!("cannot read {name} for a snapshot"), e))?;
    }
    Ok(())
}

/// Loads a snapshot into a new, empty database. Writes bypass the WAL and are flushed
/// at the end: until the caller marks the database ready, a crash leaves a creation
/// that the next open redoes.
/// Loads a snapshot into an empty database (and stores its counts); returns its schema
/// definitions, for the caller to build once the data is in.
pub(crate) fn import(db: &DB, path: &Path) -> Result<Vec<SchemaOp>> {
    let mut sink = Importer {
        definitions: Vec::new(),
        db,
        batch: WriteBatch::default(),
        vertices: HashSet::new(),
        last_vertex: None,
        last_edge: None,
        edges: 0,
        counters: None,
        what: path.display().to_string(),
    };
    read_snapshot(path, &mut sink)?;
    sink.flush()?;
    let (v, e) = sink.counters.unwrap_or((0, 0));
    let v = v.max(sink.last_vertex.map_or(0, |x| x + 1));
    let e = e.max(sink.last_edge.map_or(0, |x| x + 1));
    db.put_cf(cf(db, META)?, KEY_IDS, encode_bounds(v, e))
        .map_err(|e| rocks("cannot store the id counters", e))?;
    crate::counts::Counts::store(db, sink.vertices.len() as u64, sink.edges)?;
    for name in crate::keys::ALL_CFS {
        db.flush_cf(cf(db, name)?)
            .map_err(|e| rocks("cannot flush the restored data", e))?;
    }
    Ok(sink.definitions)
}

struct Importer<'d> {
    definitions: Vec<SchemaOp>,
    db: &'d DB,
    batch: WriteBatch,
    vertices: HashSet<u64>,
    last_vertex: Option<u64>,
    last_edge: Option<u64>,
    edges: u64,
    counters: Option<(u64, u64)>,
    what: String,
}

impl Importer<'_> {
    fn bad(&self, reason: String) -> Error {
        Error::new(ErrorKind::Corrupt, format!("{}: {reason}", self.what))
    }

    fn flush(&mut self) -> Result<()> {
        let mut wo = WriteOptions::default();
        wo.disable_wal(true);
        let batch = std::mem::take(&mut self.batch);
        self.db
            .write_opt(batch, &wo)
            .map_err(|e| rocks("cannot write restored data", e))
    }

    fn maybe_flush(&mut self) -> Result<()> {
        if self.batch.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(())
    }
}

impl SnapshotSink for Importer<'_> {
    fn name(&mut self, kind: durability::NameKind, id: u32, name: &str) -> Result<()> {
        let kind = NameKind::from_snapshot(kind);
        self.batch
            .put_cf(cf(self.db, META)?, name_key(kind, id), name.as_bytes());
        self.maybe_flush()
    }

    fn schema(&mut self, definition: SchemaOp) -> Result<()> {
        self.definitions.push(definition);
        Ok(())
    }

    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<()> {
        self.counters = Some((next_vertex, next_edge));
        Ok(())
    }

    fn vertex(&mut self, id: u64, labels: &[u32], props: &[u8]) -> Result<()> {
        if self.last_vertex.is_some_and(|l| l >= id) {
            return Err(self.bad(format!("vertex {id} is out of order")));
        }
        self.last_vertex = Some(id);
        self.vertices.insert(id);
        let mut labels = labels.to_vec();
        labels.sort_unstable();
        labels.dedup();
        for l in &labels {
            self.batch
                .put_cf(cf(self.db, LABELS)?, label_key(*l, id), []);
        }
        let record = VertexRecord {
            labels,
            props: props.to_vec(),
        };
        self.batch
            .put_cf(cf(self.db, VERTICES)?, id_key(id), record.encode());
        self.maybe_flush()
    }

    fn edge(
        &mut self,
        id: u64,
        edge_type: u32,
        source: u64,
        target: u64,
        props: &[u8],
    ) -> Result<()> {
        if self.last_edge.is_some_and(|l| l >= id) {
            return Err(self.bad(format!("edge {id} is out of order")));
        }
        self.last_edge = Some(id);
        self.edges += 1;
        for end in [source, target] {
            if !self.vertices.contains(&end) {
                return Err(self.bad(format!("edge {id} refers to missing vertex {end}")));
            }
        }
        let value = EdgeValue {
            edge_type,
            source,
            target,
            props: props.to_vec(),
        };
        self.batch
            .put_cf(cf(self.db, EDGES)?, id_key(id), value.encode());
        self.batch.put_cf(
            cf(self.db, OUT)?,
            adjacency_key(source, edge_type, target, id),
            [],
        );
        self.batch.put_cf(
            cf(self.db, IN)?,
            adjacency_key(target, edge_type, source, id),
            [],
        );
        self.maybe_flush()
    }
}
