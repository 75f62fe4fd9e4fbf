//! Snapshots: exports of a consistent RocksDB snapshot to the portable snapshot format
//! of the durability crate, and the import a new database starts from.
//!
//! Why an export and not a RocksDB checkpoint: a snapshot file is one self-checking
//! file (every block has a CRC) that a backup copies like any other, that restores
//! into an empty data directory by itself, and that either in-memory backend can load
//! as well, so it is also how a database moves between storage modes. A checkpoint is
//! a directory of hard links that only RocksDB can read and that needs the same file
//! system. The cost is that an export reads and writes the whole graph. (A backup,
//! which is copied file by file anyway and restores through RocksDB, uses a
//! checkpoint: see the `checkpoint` module.)

use std::path::{Path, PathBuf};

use durability::snapshot::read_snapshot_header;
use durability::{
    ImageEdge, ImageVertex, SchemaOp, SnapshotName, SnapshotSink, SnapshotSummary, SnapshotWriter,
};
use engine_api::{Result, SnapshotInfo};
use rocksdb::{DB, ReadOptions, SnapshotWithThreadMode};

use crate::engine::{OnDiskEngine, cf};
use crate::keys::{EDGES, EdgeValue, VERTICES, VertexRecord, decode_id_key, rocks};
use crate::metadata::NameKind;

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
    let mut w = SnapshotWriter::create(dir, seq, commit_ts, engine.database)?;
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
                w.vertex(ImageVertex::new(id, &v.labels, &v.props))?;
            } else {
                let e = EdgeValue::decode(key, value)?;
                let edge = ImageEdge::new(id, e.edge_type, e.source, e.target, &e.props);
                w.edge(edge)?;
            }
            it.next();
        }
        it.status()
            .map_err(|e| rocks(&format!("cannot read {name} for a snapshot"), e))?;
    }
    Ok(())
}

/// Loads an image (what `image` hands its sink, in snapshot order) into a new, empty
/// database through the bulk path (sorted SST files, ingested), with its names, id
/// bounds and counts; returns its schema definitions, for the caller to build once
/// the data is in, and its commit timestamp. `what` names the image in errors. Until the caller marks the
/// database ready, a crash leaves a creation that the next open redoes.
pub(crate) fn import_image(
    db: &DB,
    image: crate::Image<'_>,
    what: String,
    (config, cache, rocks_dir): (&crate::Config, &rocksdb::Cache, &Path),
) -> Result<(Vec<SchemaOp>, u64)> {
    let options = crate::bulk::FamilyOptions::new(config, cache);
    let importer = crate::bulk::Importer::new(rocks_dir, &options, config.progress().cloned())?;
    let mut sink = durability::snapshot::Checked::new(what.clone(), importer);
    let ts = image(&mut sink)?;
    let loaded = sink.into_inner().finish(db, &options)?;
    tracing::info!(
        image = %what,
        vertices = loaded.vertices,
        edges = loaded.edges,
        "ingested the image's data"
    );
    Ok((loaded.definitions, ts))
}
