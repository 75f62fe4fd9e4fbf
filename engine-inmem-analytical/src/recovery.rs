//! Opening a data directory: load the newest snapshot that verifies (there is no log
//! to replay in this mode).
//!
//! A damaged newest snapshot holding commits after the next older one is `Corrupt`:
//! with no log, what was written between the two cannot be recovered, and opening
//! the older state would lose it without the caller asking. The message names the
//! damaged file, the commits lost and the way on (move the file out of `snapshots/`
//! to accept the older state, or restore a backup). A damaged snapshot of the same
//! commit as an older one that verifies is passed over, and `recovery_report` names
//! it. No snapshot verifying is `Corrupt`, naming each. A log
//! left by the transactional mode is checked: if it holds commits after the loaded
//! snapshot, opening is refused rather than silently dropping them.

use std::path::Path;

use durability::link::{EdgeLinker, End, Link};
use durability::snapshot::read_snapshot;
use durability::snapshot::{Checked, ImageEdge, ImageLoader, ImageVertex, Rejected};
use durability::wal::{SegmentRead, read_segment};
use durability::{DataDir, DatabaseId, Durable, NameKind, SchemaOp, SnapshotSink, SnapshotWriting};
use engine_api::{DamagedFile, Error, ErrorKind, RecoveryReport, Result};

use crate::config::Config;
use crate::graph::{Adj, Edge, EdgeProps, Vertex, VertexProps};
use crate::inner::Inner;

/// Stores a checked image (see [`Checked`]) in an empty engine state.
struct Loader<'a, 's, F> {
    inner: &'a Inner,
    schema: Vec<SchemaOp>,
    counters: (u64, u64),
    links: EdgeLinker<'s, 'a, F>,
}

/// Appends one end of a loaded edge to its vertex's adjacency.
fn link_end(inner: &Inner, l: &Link, end: End) -> std::result::Result<(), String> {
    let (v, name) = match end {
        End::Source => (l.source, "source"),
        End::Target => (l.target, "target"),
    };
    let missing = || format!("edge {} has a missing {name} vertex {v}", l.edge);
    let slot = inner.graph.vertex(v).ok_or_else(missing)?;
    let mut g = slot.write();
    let x = g.as_mut().ok_or_else(missing)?;
    let adj = |other| Adj {
        edge: l.edge,
        other,
        edge_type: l.edge_type,
    };
    match end {
        End::Source => {
            if x.out_full() {
                return Err(format!("vertex {v} has too many outgoing edges"));
            }
            x.push_out(adj(l.target));
        }
        End::Target => x.push_inc(adj(l.source)),
    }
    Ok(())
}

impl<F> ImageLoader for Loader<'_, '_, F>
where
    F: Fn(&Link, End) -> std::result::Result<(), String> + Sync,
{
    fn name(&mut self, kind: NameKind, id: u32, name: &str) -> Result<(), Rejected> {
        durability::snapshot::define_name(self.inner.graph.names(), kind, id, name)
    }

    fn schema(&mut self, definition: SchemaOp) -> Result<(), Rejected> {
        self.schema.push(definition);
        Ok(())
    }

    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<(), Rejected> {
        self.counters = (next_vertex, next_edge);
        Ok(())
    }

    fn vertex(&mut self, vertex: ImageVertex<'_>) -> Result<(), Rejected> {
        let ImageVertex {
            id,
            labels,
            props,
            degree,
        } = vertex;
        for l in labels {
            self.inner.graph.label_index.insert(*l, id);
        }
        let mut v = Vertex::new(labels.into(), VertexProps::from_slice(props));
        // A hint from whoever produced the image: capped, beyond that lists grow.
        v.reserve_adjacency((degree.0.saturating_add(degree.1)).min(1 << 16) as usize);
        self.inner
            .graph
            .load_vertex(id, v)
            .map_err(|e| Rejected::Bad(e.message().to_string()))
    }

    fn edge(&mut self, edge: ImageEdge<'_>) -> Result<(), Rejected> {
        let stored = Edge {
            source: edge.source,
            target: edge.target,
            edge_type: edge.edge_type,
            props: EdgeProps::from_slice(edge.props),
        };
        self.inner
            .graph
            .load_edge(edge.id, stored)
            .map_err(|e| Rejected::Bad(e.message().to_string()))?;
        self.links.link(Link::from(edge)).map_err(Rejected::Bad)
    }
}

/// Loads one snapshot into a fresh engine state; returns it with its commit
/// timestamp and database id.
fn load(config: &Config, path: &Path) -> Result<(Inner, u64, DatabaseId)> {
    let mut database = None;
    let (inner, ts) = load_image(config, &path.display().to_string(), |sink| {
        let summary = read_snapshot(path, sink)?;
        database = Some(summary.database);
        Ok(summary.commit_ts)
    })?;
    Ok((inner, ts, database.unwrap_or_else(DatabaseId::random)))
}

/// Builds a fresh engine state from the image `produce` hands to its sink (a
/// snapshot file, or another engine's export); `produce` returns the image's commit
/// timestamp. `what` names the source in errors.
pub(crate) fn load_image(
    config: &Config,
    what: &str,
    produce: impl FnOnce(&mut dyn SnapshotSink) -> Result<u64>,
) -> Result<(Inner, u64)> {
    let inner = Inner::new(config);
    let link = |l: &Link, end: End| link_end(&inner, l, end);
    let (commit_ts, schema, (next_vertex, next_edge)) = std::thread::scope(|scope| {
        let mut loader = Checked::new(
            what,
            Loader {
                inner: &inner,
                schema: Vec::new(),
                counters: (0, 0),
                links: EdgeLinker::start(scope, config.get_snapshot_threads(), &link),
            },
        );
        let produced = produce(&mut loader);
        let Loader {
            mut links,
            schema,
            counters,
            ..
        } = loader.into_inner();
        // A linking thread's error comes first: the read may have failed only
        // because that thread stopped taking edges.
        links
            .finish()
            .map_err(|r| Error::corrupt(format!("{what}: {r}")))?;
        Ok::<_, Error>((produced?, schema, counters))
    })?;
    inner
        .graph
        .pad_vertices(next_vertex.max(inner.graph.vertex_end()))?;
    inner.graph.pad_edges(next_edge);
    for op in schema {
        match op {
            SchemaOp::CreateIndex(spec) => inner.schema.create_index(&inner.graph, &spec)?,
            SchemaOp::CreateTrigger(spec) => inner.schema.create_trigger(&spec)?,
            SchemaOp::CreateConstraint(spec) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "{what} holds the constraint {spec}, which IN_MEMORY_ANALYTICAL mode cannot enforce; open it in IN_MEMORY_TRANSACTIONAL mode and drop the constraint first"
                    ),
                ));
            }
            other => {
                return Err(Error::corrupt(format!(
                    "{what}: the schema holds {other:?}, not a definition"
                )));
            }
        }
    }
    inner.clock.set_last(commit_ts);
    Ok((inner, commit_ts))
}

/// Refuses a log (left by the transactional mode) holding anything after `ts`.
fn check_log(dir: &DataDir, segments: &[durability::SegmentName], ts: u64) -> Result<()> {
    for (i, s) in segments.iter().enumerate() {
        let newest = match read_segment(&s.path, i + 1 == segments.len())? {
            SegmentRead::TornHeader => continue,
            SegmentRead::Read {
                records, schema, ..
            } => records
                .iter()
                .map(|r| r.commit_ts)
                .chain(schema.iter().map(|r| r.next_ts.saturating_sub(1)))
                .max(),
        };
        if let Some(newest) = newest
            && newest > ts
        {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{} holds commits up to timestamp {newest}, after the newest snapshot ({ts}); IN_MEMORY_ANALYTICAL mode has no log to replay: open {} in IN_MEMORY_TRANSACTIONAL mode and write a snapshot first",
                    s.path.display(),
                    dir.root().display()
                ),
            ));
        }
    }
    Ok(())
}

/// Opens the data directory at `root` and loads its newest snapshot that verifies.
pub(crate) fn recover(config: &Config, root: &Path) -> Result<Inner> {
    let dir = DataDir::open(root)?;
    dir.refuse_on_disk_database("IN_MEMORY_ANALYTICAL")?;
    dir.remove_interrupted_writes()?;
    let settings = config.get_durability().clone();
    let listing = dir.list()?;
    let next_seq = listing.snapshots.last().map_or(0, |s| s.seq + 1);
    let mut report = RecoveryReport::default();
    let mut loaded = None;
    if settings.get_recover_on_startup() {
        durability::dir::one_database(&listing)?;
        for s in listing.snapshots.iter().rev() {
            match load(config, &s.path) {
                Ok(found) => {
                    report.snapshot = Some(s.path.clone());
                    loaded = Some(found);
                    break;
                }
                Err(e) if matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::Io) => {
                    tracing::warn!(
                        file = %s.path.display(),
                        error = %e,
                        "a snapshot does not verify; trying the next older one"
                    );
                    report.skipped_snapshots.push(DamagedFile {
                        path: s.path.clone(),
                        reason: e.message().to_string(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        if loaded.is_none() && !report.skipped_snapshots.is_empty() {
            // The newest damaged file first (its reason starts with its path).
            let each: Vec<String> = report
                .skipped_snapshots
                .iter()
                .map(|d| d.reason.clone())
                .collect();
            return Err(Error::corrupt(format!(
                "{}; no snapshot in {} verifies",
                each.join("; "),
                dir.snapshots_dir().display()
            )));
        }
        let ts = loaded.as_ref().map_or(0, |(_, ts, _)| *ts);
        // The skipped snapshots are the newest ones, newest first.
        let lost: Vec<String> = listing
            .snapshots
            .iter()
            .rev()
            .zip(&report.skipped_snapshots)
            .filter(|(s, _)| s.commit_ts > ts)
            .map(|(s, damaged)| {
                durability::lost::beyond_the_older_snapshot(
                    &damaged.reason,
                    ts,
                    s.commit_ts,
                    &s.path,
                    report.snapshot.as_deref(),
                )
            })
            .collect();
        if !lost.is_empty() {
            return Err(Error::corrupt(format!(
                "{}: {}",
                lost.join("; "),
                durability::lost::move_out_to_open_older(&dir.snapshots_dir())
            )));
        }
        check_log(&dir, &listing.segments, ts)?;
    } else if let Some(to) = dir.move_aside()? {
        tracing::warn!(to = %to.display(), "recovery is off: earlier files were moved aside");
    }
    let (mut inner, database) = match loaded {
        Some((inner, _, database)) => (inner, database),
        None => (Inner::new(config), DatabaseId::random()),
    };
    tracing::info!(
        root = %root.display(),
        snapshot = ?report.snapshot,
        vertices = inner.graph.live_vertices(),
        edges = inner.graph.live_edges(),
        "opened"
    );
    inner.durable = Some(Durable::new(
        dir,
        settings,
        database,
        report,
        next_seq,
        SnapshotWriting {
            threads: config.get_snapshot_threads(),
            midpoint: config.midpoint(),
            files: config.files(),
        },
    ));
    Ok(inner)
}

#[cfg(test)]
mod tests {
    use engine_api::{ImageEngine, StorageEngine, Transaction, TxnOptions};

    use crate::{AnalyticalEngine, Config};

    /// An export passes each vertex's degree, and the importing engine sizes the
    /// adjacency once from it (no growth step, no spare room).
    #[test]
    fn an_import_sizes_adjacency_from_the_degree_hints() -> engine_api::Result<()> {
        let source = AnalyticalEngine::open(Config::new())?;
        let mut t = source.begin(TxnOptions::new())?;
        let hub = t.create_vertex()?;
        for _ in 0..7 {
            let other = t.create_vertex()?;
            t.create_edge(hub, other, "OUT")?;
            t.create_edge(other, hub, "IN")?;
        }
        t.commit()?;
        let copy = AnalyticalEngine::import(Config::new(), |sink| source.export(sink))?;
        let slot = copy.inner.graph.vertex(hub.0).expect("the hub's slot");
        let guard = slot.read();
        let v = guard.as_ref().expect("the hub");
        assert_eq!((v.out().len(), v.adj_len()), (7, 14));
        assert_eq!(v.adj_capacity(), 14, "sized once from the hint");
        Ok(())
    }
}
