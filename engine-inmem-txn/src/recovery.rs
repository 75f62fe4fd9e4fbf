//! Opening a data directory: recovery from the newest valid snapshot plus the WAL
//! after it, as `docs/durability.md` ("Recovery") says.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use durability::link::{EdgeLinker, End, Link};
use durability::snapshot::{Checked, ImageEdge, ImageLoader, ImageVertex, Rejected, read_snapshot};
use durability::wal::{SegmentRead, read_segment, truncate_segment};
use durability::{
    DataDir, DatabaseId, Durable, NameKind, SchemaOp, SnapshotSink, SnapshotWriting, WalOp,
    WalWriter,
};
use engine_api::{
    CommitPoint, CommitTimes, DamagedFile, Error, PropertyValue, RecoveryPoint, RecoveryReport,
    Result,
};

use crate::config::capabilities;
use crate::config::{Config, RecoveryProgress};
use crate::graph::Versioned;
use crate::inner::Inner;
use crate::mvcc::{Adj, EdgeState, Labels, VertexState, remove_adj};
use crate::props;
use crate::schema::RecoveredSchema;

struct Recovered {
    database: DatabaseId,
    last_ts: u64,
    next_wal_seq: u64,
    next_snapshot_seq: u64,
    report: RecoveryReport,
}

/// Builds the engine's state: empty without a data directory, recovered (or fresh,
/// with old files moved aside) with one.
pub(crate) fn open_inner(config: &Config) -> Result<Inner> {
    let caps = capabilities(config);
    let Some(path) = config.get_data_directory() else {
        return Ok(Inner::new(caps));
    };
    let dir = DataDir::open(path)?;
    dir.refuse_on_disk_database("IN_MEMORY_TRANSACTIONAL")?;
    dir.remove_interrupted_writes()?;
    let d = config.get_durability();
    if d.get_wal_archive().is_some() {
        dir.check_archive()?;
    }
    let (mut inner, r) = if d.get_recover_on_startup() {
        recover(&dir, config)?
    } else {
        dir.move_aside()?;
        let listing = dir.list()?;
        (
            Inner::new(caps),
            Recovered {
                database: DatabaseId::random(),
                last_ts: 0,
                next_wal_seq: listing.segments.last().map_or(1, |s| s.seq + 1),
                next_snapshot_seq: 1,
                report: RecoveryReport::default(),
            },
        )
    };
    inner.clock.set_last_commit(r.last_ts);
    if d.get_wal() {
        // The first id handed out in this run logs a reservation.
        inner
            .clock
            .reserved_vertices
            .store(inner.graph.next_vertex.end(), Ordering::Relaxed);
        inner
            .clock
            .reserved_edges
            .store(inner.graph.next_edge.end(), Ordering::Relaxed);
    }
    inner.clock.wal = d.get_wal().then(|| {
        WalWriter::new(
            dir.wal_dir(),
            r.database,
            d.get_sync_mode(),
            d.get_wal_segment_bytes(),
            r.next_wal_seq,
            config.files(),
        )
    });
    inner.durable = Some(Durable::new(
        dir,
        d.clone(),
        r.database,
        r.report,
        r.next_snapshot_seq,
        SnapshotWriting {
            threads: config.get_snapshot_threads(),
            midpoint: config.midpoint(),
            files: config.files(),
        },
    ));
    Ok(inner)
}

fn report(config: &Config, p: RecoveryProgress) {
    tracing::info!(progress = ?p, "recovery");
    if let Some(cb) = config.progress() {
        cb(p);
    }
}

fn recover(dir: &DataDir, config: &Config) -> Result<(Inner, Recovered)> {
    let started = Instant::now();
    let caps = capabilities(config);
    let listing = dir.list()?;
    durability::dir::one_database(&listing)?;
    let next_snapshot_seq = listing.snapshots.last().map_or(1, |s| s.seq + 1);
    let mut next_wal_seq = listing.segments.last().map_or(1, |s| s.seq + 1);

    let mut failed: Vec<(u64, PathBuf, Error)> = Vec::new();
    let mut loaded = None;
    let mut schema = RecoveredSchema::default();
    let threads = config.get_recovery_threads();
    let until = config.get_durability().get_recover_until();
    // Snapshots of states after the point are passed over (not damage).
    let mut later_snapshots = 0usize;
    for s in listing.snapshots.iter().rev() {
        if let Some(point) = until
            && snapshot_is_past(point, s)
        {
            later_snapshots += 1;
            continue;
        }
        let inner = Inner::new(caps.clone());
        let loaded_snapshot = load_with(&inner, s.path.display().to_string(), threads, |sink| {
            read_snapshot(&s.path, sink)
        });
        match loaded_snapshot {
            Ok((summary, loaded_schema)) => {
                schema = loaded_schema;
                report(
                    config,
                    RecoveryProgress::SnapshotLoaded {
                        commit_ts: summary.commit_ts,
                        vertices: summary.vertices,
                        edges: summary.edges,
                    },
                );
                loaded = Some((inner, summary, s.path.clone()));
                break;
            }
            Err(e) => {
                tracing::error!(error = %e, "snapshot unusable; trying an older one");
                failed.push((s.commit_ts, s.path.clone(), e));
            }
        }
    }
    let (inner, snap_ts, mut database, snapshot) = match loaded {
        Some((inner, s, path)) => (inner, s.commit_ts, Some(s.database), Some(path)),
        None => (Inner::new(caps), 0, None, None),
    };
    let mut truncated_wal_bytes = 0;
    // Files are repaired (a torn tail cut, a torn segment header removed) only when
    // this engine writes a WAL after them; without one, a reading process (the
    // `quiver` commands that only read, a migrate's source) changes nothing.
    let repairs = config.get_durability().get_wal();

    let mut next_ts = snap_ts + 1;
    let mut prev_seq: Option<u64> = None;
    let mut replayed = 0u64;
    let mut commit_times = None;
    // The time of the newest commit the state holds, once known.
    let mut last_time = None;
    // Set once a commit past the recovery point is found: nothing after it is read.
    let mut past_point = false;
    // Whether the log reaches back to the first commit (the empty database).
    let mut from_the_start = false;
    let count = listing.segments.len();
    for (i, seg) in listing.segments.iter().enumerate() {
        if past_point {
            break;
        }
        let what = seg.path.display().to_string();
        let last = i + 1 == count;
        if let Some(p) = prev_seq
            && seg.seq != p + 1
        {
            return Err(Error::corrupt(format!(
                "WAL segment {} is missing (found {} after {p})",
                p + 1,
                seg.seq
            )));
        }
        prev_seq = Some(seg.seq);
        match read_segment(&seg.path, last)? {
            SegmentRead::TornHeader if !repairs => {
                tracing::warn!(file = %what, "a WAL segment whose header was cut short by a crash holds nothing; left as it is (this engine writes no WAL)");
            }
            SegmentRead::TornHeader => {
                tracing::warn!(file = %what, "removing a WAL segment whose header was cut short by a crash");
                std::fs::remove_file(&seg.path).map_err(|e| {
                    durability::format::io_error(&format!("cannot remove {what}"), e)
                })?;
                // Its number is free again: the next segment takes it, so the sequence
                // stays gapless. (Regression: the crash test found recovery failing
                // with "WAL segment N is missing" after a kill during segment creation.)
                next_wal_seq = seg.seq;
            }
            SegmentRead::Read {
                header,
                records,
                reserved,
                schema: changes,
                valid_len,
                file_len,
            } => {
                // Where replay stops in this segment: the first commit past the point.
                let stop = match until {
                    Some(point) => first_past(point, &records, snap_ts, &what)?,
                    None => None,
                };
                past_point = stop.is_some();
                for change in changes {
                    if schema_in_range(until, &change, snap_ts, stop, &what)? {
                        schema.apply(change.op);
                    }
                }
                if let Some((v, e)) = reserved {
                    // Ids below a reservation may have been handed out.
                    inner.graph.next_vertex.advance_to(v);
                    inner.graph.next_edge.advance_to(e);
                }
                if i == 0 {
                    from_the_start = header.first_ts <= 1;
                }
                if header.seq != seg.seq {
                    return Err(Error::corrupt(format!(
                        "{what}: the header says segment {}",
                        header.seq
                    )));
                }
                match database {
                    Some(db) if db != header.database => {
                        // The loaded snapshot set the id: when the log disagrees from
                        // its first segment on, the snapshot is the stranger (one
                        // dropped into snapshots/ from another database), and the
                        // message names it. (Regression: it named this database's
                        // own WAL.)
                        if let Some(path) = &snapshot
                            && prev_seq == listing.segments.first().map(|s| s.seq)
                        {
                            return Err(Error::corrupt(format!(
                                "{} belongs to database {db}, but the WAL ({what}) belongs to database {}: a snapshot of another database; {}",
                                path.display(),
                                header.database,
                                durability::lost::MOVE_OUT_OF_SNAPSHOTS
                            )));
                        }
                        return Err(Error::corrupt(format!(
                            "{what} belongs to database {}, not {db}",
                            header.database
                        )));
                    }
                    Some(_) => {}
                    None => database = Some(header.database),
                }
                let mut applied = 0;
                for r in records {
                    if stop.is_some_and(|stop| r.commit_ts >= stop) {
                        break;
                    }
                    if let Some(time) = r.time {
                        CommitTimes::extend(&mut commit_times, time);
                    }
                    if r.commit_ts <= snap_ts {
                        if r.commit_ts == snap_ts {
                            last_time = r.time;
                        }
                        continue;
                    }
                    if r.commit_ts != next_ts {
                        if let Some(e) = unrecoverable(&failed, next_ts - 1) {
                            return Err(e);
                        }
                        if let Some(point) = until
                            && snap_ts == 0
                        {
                            return Err(before_the_oldest_state(point, &listing, later_snapshots));
                        }
                        return Err(Error::corrupt(format!(
                            "{what}: commit {} follows commit {}; {} missing",
                            r.commit_ts,
                            next_ts - 1,
                            durability::lost::commits_are(next_ts, r.commit_ts - 1),
                        )));
                    }
                    for op in &r.ops {
                        apply(&inner, op).map_err(|reason| {
                            Error::corrupt(format!(
                                "{what}: commit {} cannot be applied: {reason}",
                                r.commit_ts
                            ))
                        })?;
                    }
                    last_time = r.time;
                    next_ts += 1;
                    applied += 1;
                }
                if valid_len < file_len {
                    // Cut only by an engine that will append to the log: one that
                    // writes none reads the tail as cut and leaves the file alone.
                    if repairs {
                        truncate_segment(&seg.path, valid_len)?;
                    }
                    truncated_wal_bytes += file_len - valid_len;
                }
                replayed += applied;
                report(
                    config,
                    RecoveryProgress::SegmentReplayed {
                        seq: seg.seq,
                        records: applied,
                    },
                );
            }
        }
    }
    let last_ts = next_ts - 1;
    if let Some(e) = unrecoverable(&failed, last_ts) {
        return Err(e);
    }
    if let Some(point) = until {
        if snap_ts == 0 && replayed == 0 && later_snapshots > 0 && !from_the_start {
            return Err(before_the_oldest_state(point, &listing, later_snapshots));
        }
        beyond_the_newest_commit(point, last_ts, last_time, past_point)?;
    }
    if snap_ts == 0
        && replayed == 0
        && let Some((_, path, e)) = failed.first()
    {
        return Err(Error::corrupt(format!(
            "{}: {} (no older snapshot and no WAL to recover from)",
            path.display(),
            strip_path(e, path)
        )));
    }
    if !schema.is_empty() {
        let t = Instant::now();
        let threads = config.get_recovery_threads();
        inner.schema.install(&inner.graph, schema, threads)?;
        tracing::info!(
            seconds = t.elapsed().as_secs_f64(),
            threads,
            "indexes and constraints rebuilt"
        );
    }
    report(config, RecoveryProgress::Done { commit_ts: last_ts });
    tracing::info!(
        snapshot_ts = snap_ts,
        replayed,
        last_ts,
        seconds = started.elapsed().as_secs_f64(),
        "recovery finished"
    );
    Ok((
        inner,
        Recovered {
            database: database.unwrap_or_else(DatabaseId::random),
            last_ts,
            next_wal_seq,
            next_snapshot_seq,
            report: RecoveryReport {
                snapshot,
                skipped_snapshots: failed
                    .into_iter()
                    .map(|(_, path, e)| DamagedFile {
                        reason: strip_path(&e, &path).to_string(),
                        path,
                    })
                    .collect(),
                replayed_commits: replayed,
                truncated_wal_bytes,
                commit_times,
                last_commit: (last_ts > 0).then_some(CommitPoint {
                    commit_ts: last_ts,
                    time: last_time,
                }),
            },
        },
    ))
}

/// Whether snapshot `s` holds a state after `point` (recovery to the point passes
/// it over). For a time: written after it (its commit was logged before it was
/// written, so one written at or before the time holds no later commit). A header
/// that does not read is left to the load, which reports the damage.
fn snapshot_is_past(point: RecoveryPoint, s: &durability::dir::SnapshotName) -> bool {
    match point {
        RecoveryPoint::Commit(ts) => s.commit_ts > ts,
        RecoveryPoint::Time(t) => {
            durability::snapshot::read_snapshot_header(&s.path).is_ok_and(|h| h.created_at > t)
        }
    }
}

/// The error for a commit without a time when recovering to a time.
fn no_time(what: &str, ts: u64) -> Error {
    Error::invalid_input(format!(
        "{what}: commit {ts} carries no time (a WAL segment of format v1 or v2, written before commit times were recorded): recover to a commit timestamp instead"
    ))
}

/// The timestamp of the first commit in `records` after the snapshot (at `snap_ts`)
/// that lies past `point`, if one does.
fn first_past(
    point: RecoveryPoint,
    records: &[durability::wal::CommitRecord],
    snap_ts: u64,
    what: &str,
) -> Result<Option<u64>> {
    for r in records.iter().filter(|r| r.commit_ts > snap_ts) {
        let past = match point {
            RecoveryPoint::Commit(ts) => r.commit_ts > ts,
            RecoveryPoint::Time(t) => r.time.ok_or_else(|| no_time(what, r.commit_ts))? > t,
        };
        if past {
            return Ok(Some(r.commit_ts));
        }
    }
    Ok(None)
}

/// Whether a logged schema change belongs to the state at `until`: all do without a
/// point; to commit X, those logged before commit X + 1 (a change carries the
/// timestamp of the commit it precedes), so the state is the one just before the
/// next commit, as a snapshot at X may already show it; to a time, those logged at
/// or before it and not after the first commit past it. Changes the snapshot
/// already holds are applied again as recovery always does (applying is
/// idempotent).
fn schema_in_range(
    until: Option<RecoveryPoint>,
    change: &durability::wal::SchemaRecord,
    snap_ts: u64,
    stop: Option<u64>,
    what: &str,
) -> Result<bool> {
    match until {
        None => Ok(true),
        Some(RecoveryPoint::Commit(ts)) => Ok(change.next_ts <= ts.saturating_add(1)),
        Some(RecoveryPoint::Time(_)) if change.next_ts <= snap_ts => Ok(true),
        Some(RecoveryPoint::Time(_)) if stop.is_some_and(|stop| change.next_ts > stop) => Ok(false),
        Some(RecoveryPoint::Time(t)) => match change.time {
            Some(time) => Ok(time <= t),
            None => Err(Error::invalid_input(format!(
                "{what}: a schema change before commit {} carries no time (a WAL segment of format v1 or v2): recover to a commit timestamp instead",
                change.next_ts
            ))),
        },
    }
}

/// `InvalidInput` when `point` lies after the newest commit the directory holds
/// (`last_ts`, logged at `last_time`); `past_point` says a later commit was seen.
fn beyond_the_newest_commit(
    point: RecoveryPoint,
    last_ts: u64,
    last_time: Option<SystemTime>,
    past_point: bool,
) -> Result<()> {
    if past_point {
        return Ok(());
    }
    let beyond = match point {
        RecoveryPoint::Commit(ts) => ts > last_ts,
        RecoveryPoint::Time(t) => last_time.is_none_or(|last| t > last),
    };
    if !beyond {
        return Ok(());
    }
    let newest = match last_time {
        Some(time) => format!("commit {last_ts}, logged at {}", RecoveryPoint::Time(time)),
        None => format!("commit {last_ts}"),
    };
    Err(Error::invalid_input(format!(
        "{point} is after the newest commit this directory holds ({newest}); pick a point up to it"
    )))
}

/// `InvalidInput` for a point before the oldest state the directory can give: no
/// snapshot at or before it, and a WAL that does not reach back to the first commit.
fn before_the_oldest_state(
    point: RecoveryPoint,
    listing: &durability::dir::Listing,
    later_snapshots: usize,
) -> Error {
    let oldest = listing
        .snapshots
        .first()
        .map_or("no snapshot".to_string(), |s| {
            format!("the oldest snapshot holds commit {}", s.commit_ts)
        });
    Error::invalid_input(format!(
        "{point} is before the oldest state this directory can give ({oldest}, {later_snapshots} snapshot(s) hold later states, and the WAL does not reach back to the first commit); pick a point at or after the oldest snapshot"
    ))
}

/// The error for a damaged snapshot holding commits past `last_ts`, the last one the
/// older snapshot and the WAL together hold, naming the damaged file first.
fn unrecoverable(failed: &[(u64, PathBuf, Error)], last_ts: u64) -> Option<Error> {
    let (ts, path, e) = failed.iter().find(|(ts, _, _)| *ts > last_ts)?;
    Some(Error::corrupt(format!(
        "{}: {}",
        path.display(),
        durability::lost::beyond_the_wal(strip_path(e, path), last_ts, *ts, path)
    )))
}

/// An error's message without the leading file name our readers put there.
fn strip_path<'e>(e: &'e Error, path: &Path) -> &'e str {
    let m = e.message();
    m.strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(m)
}

/// Builds a memory-only engine state from the image `produce` hands to its sink;
/// `produce` returns the image's commit timestamp, which the state continues from.
pub(crate) fn load_image(
    config: &Config,
    produce: impl FnOnce(&mut dyn SnapshotSink) -> Result<u64>,
) -> Result<Inner> {
    let inner = Inner::new(capabilities(config));
    let threads = config.get_recovery_threads();
    let (ts, schema) = load_with(&inner, "the imported image".to_string(), threads, produce)?;
    if !schema.is_empty() {
        inner
            .schema
            .install(&inner.graph, schema, config.get_recovery_threads())?;
    }
    inner.clock.set_last_commit(ts);
    Ok(inner)
}

/// Runs `read` with a loader into `inner` that links edges on `threads` threads;
/// the read's result and the image's schema.
fn load_with<T>(
    inner: &Inner,
    what: String,
    threads: usize,
    read: impl FnOnce(&mut dyn SnapshotSink) -> Result<T>,
) -> Result<(T, RecoveredSchema)> {
    let link = |l: &Link, end: End| link_end(inner, l, end);
    std::thread::scope(|scope| {
        let mut loader = Checked::new(
            what.clone(),
            Loader {
                inner,
                schema: RecoveredSchema::default(),
                links: EdgeLinker::start(scope, threads, &link),
            },
        );
        let read = read(&mut loader);
        let Loader {
            mut links, schema, ..
        } = loader.into_inner();
        // A linking thread's error comes first: the read may have failed only
        // because that thread stopped taking edges.
        links
            .finish()
            .map_err(|r| Error::corrupt(format!("{what}: {r}")))?;
        Ok((read?, schema))
    })
}

/// Stores a checked image (see [`Checked`]) in an empty engine state.
struct Loader<'a, 's, F> {
    inner: &'a Inner,
    schema: RecoveredSchema,
    links: EdgeLinker<'s, 'a, F>,
}

/// Appends one end of a loaded edge to its vertex's adjacency.
fn link_end(inner: &Inner, l: &Link, end: End) -> Result<(), String> {
    let (v, other) = match end {
        End::Source => (l.source, l.target),
        End::Target => (l.target, l.source),
    };
    with_object(inner, v, |s: &mut VertexState| {
        let adj = Adj {
            edge_type: l.edge_type,
            other: engine_api::VertexId(other),
            edge: engine_api::EdgeId(l.edge),
        };
        match end {
            End::Source => s.out_edges.push(adj),
            End::Target => s.in_edges.push(adj),
        }
        Ok(())
    })
    .map_err(|_| format!("edge {} references missing vertex {v}", l.edge))
}

impl<F> ImageLoader for Loader<'_, '_, F>
where
    F: Fn(&Link, End) -> Result<(), String> + Sync,
{
    fn name(&mut self, kind: NameKind, id: u32, name: &str) -> Result<(), Rejected> {
        durability::snapshot::define_name(self.inner.graph.names(), kind, id, name)
    }

    fn schema(&mut self, definition: SchemaOp) -> Result<(), Rejected> {
        self.schema.apply(definition);
        Ok(())
    }

    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<(), Rejected> {
        self.inner.graph.next_vertex.advance_to(next_vertex);
        self.inner.graph.next_edge.advance_to(next_edge);
        Ok(())
    }

    fn vertex(&mut self, v: ImageVertex<'_>) -> Result<(), Rejected> {
        let (id, labels, props) = (v.id, Labels::from_slice(v.labels), v.props.into());
        Ok(insert_vertex(self.inner, id, labels, props, v.degree)?)
    }

    fn edge(&mut self, e: ImageEdge<'_>) -> Result<(), Rejected> {
        let link = Link::from(e);
        store_edge(self.inner, &link, e.props.into())?;
        Ok(self.links.link(link)?)
    }
}

/// The largest adjacency a degree hint reserves at once (a hint comes from whoever
/// produces the image; beyond this the lists grow as usual).
const DEGREE_HINT_CAP: u32 = 1 << 16;

/// Inserts a loaded vertex; `degree` (outgoing, incoming) sizes its adjacency lists.
fn insert_vertex(
    inner: &Inner,
    id: u64,
    labels: Labels,
    props: props::Record,
    degree: (u32, u32),
) -> Result<(), String> {
    let slot = inner
        .graph
        .vertices
        .get_or_alloc(id)
        .ok_or_else(|| format!("vertex id {id} out of range"))?;
    let mut g = slot.write();
    if g.is_some() {
        return Err(format!("vertex {id} appears twice"));
    }
    for l in &labels {
        inner
            .graph
            .label_index
            .insert(*l, id)
            .map_err(|e| e.to_string())?;
    }
    *g = Some(VertexState {
        labels,
        props,
        out_edges: Vec::with_capacity(degree.0.min(DEGREE_HINT_CAP) as usize),
        in_edges: Vec::with_capacity(degree.1.min(DEGREE_HINT_CAP) as usize),
        ..VertexState::default()
    });
    inner.graph.next_vertex.advance_to(id + 1);
    inner.graph.loaded_vertices.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn insert_edge(inner: &Inner, link: Link, props: props::EdgeRecord) -> Result<(), String> {
    // A missing endpoint fails the link below, and with it the recovery.
    store_edge(inner, &link, props)?;
    link_end(inner, &link, End::Source)?;
    link_end(inner, &link, End::Target)
}

/// Stores an edge's own record (not its endpoints' adjacency).
fn store_edge(inner: &Inner, link: &Link, props: props::EdgeRecord) -> Result<(), String> {
    let id = link.edge;
    let slot = inner
        .graph
        .edges
        .get_or_alloc(id)
        .ok_or_else(|| format!("edge id {id} out of range"))?;
    let mut g = slot.write();
    if g.is_some() {
        return Err(format!("edge {id} appears twice"));
    }
    *g = Some(EdgeState {
        deleted: false,
        edge_type: link.edge_type,
        source: engine_api::VertexId(link.source),
        target: engine_api::VertexId(link.target),
        props,
        delta: None,
    });
    inner.graph.next_edge.advance_to(id + 1);
    inner.graph.loaded_edges.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Runs `f` on object `id`'s state under its lock.
fn with_object<S: Versioned, R>(
    inner: &Inner,
    id: u64,
    f: impl FnOnce(&mut S) -> Result<R, String>,
) -> Result<R, String> {
    let slot = S::slots(&inner.graph).get(id);
    let mut g = slot
        .ok_or_else(|| S::not_found(id).message().to_string())?
        .write();
    let state = g
        .as_mut()
        .ok_or_else(|| S::not_found(id).message().to_string())?;
    f(state)
}

fn set_prop<A: props::Inline>(
    blob: &mut smallvec::SmallVec<A>,
    inner: &Inner,
    key: &str,
    value: &PropertyValue,
) -> Result<(), String> {
    let k = inner.graph.keys.intern(key).map_err(|e| e.to_string())?;
    let (b, _) = props::set(blob, k, Some(value)).map_err(|e| e.to_string())?;
    *blob = b;
    Ok(())
}

fn build_props<A: props::Inline>(
    inner: &Inner,
    properties: &[(String, PropertyValue)],
) -> Result<smallvec::SmallVec<A>, String> {
    let mut pairs = Vec::with_capacity(properties.len());
    for (k, v) in properties {
        pairs.push((
            inner.graph.keys.intern(k).map_err(|e| e.to_string())?,
            v.clone(),
        ));
    }
    Ok(props::build(&mut pairs))
}

/// Applies one logged change to the recovered state.
fn apply(inner: &Inner, op: &WalOp) -> Result<(), String> {
    let intern_label = |l: &str| inner.graph.labels.intern(l).map_err(|e| e.to_string());
    match op {
        WalOp::CreateVertex {
            id,
            labels,
            properties,
        } => {
            let mut ids = Labels::new();
            for l in labels {
                let l = intern_label(l)?;
                if !ids.contains(&l) {
                    ids.push(l);
                }
            }
            insert_vertex(inner, *id, ids, build_props(inner, properties)?, (0, 0))
        }
        WalOp::AddLabel { vertex, label } => {
            let l = intern_label(label)?;
            with_object(inner, *vertex, |s: &mut VertexState| {
                if !s.labels.contains(&l) {
                    s.labels.push(l);
                }
                inner
                    .graph
                    .label_index
                    .insert(l, *vertex)
                    .map_err(|e| e.to_string())
            })
        }
        WalOp::RemoveLabel { vertex, label } => {
            let l = intern_label(label)?;
            with_object(inner, *vertex, |s: &mut VertexState| {
                s.labels.retain(|x| *x != l);
                inner.graph.label_index.remove(l, *vertex);
                Ok(())
            })
        }
        WalOp::SetVertexProperty { vertex, key, value } => {
            with_object(inner, *vertex, |s: &mut VertexState| {
                set_prop(&mut s.props, inner, key, value)
            })
        }
        WalOp::DeleteVertex { vertex } => {
            let slot = inner
                .graph
                .vertices
                .get(*vertex)
                .ok_or_else(|| format!("vertex {vertex} does not exist"))?;
            let mut g = slot.write();
            let s = g
                .as_ref()
                .ok_or_else(|| format!("vertex {vertex} does not exist"))?;
            if !s.out_edges.is_empty() || !s.in_edges.is_empty() {
                return Err(format!("vertex {vertex} is deleted while it has edges"));
            }
            for l in &s.labels {
                inner.graph.label_index.remove(*l, *vertex);
            }
            *g = None;
            inner.graph.loaded_vertices.fetch_sub(1, Ordering::Relaxed);
            Ok(())
        }
        WalOp::CreateEdge {
            id,
            source,
            target,
            edge_type,
            properties,
        } => {
            let t = inner
                .graph
                .edge_types
                .intern(edge_type)
                .map_err(|e| e.to_string())?;
            let link = Link {
                edge: *id,
                edge_type: t,
                source: *source,
                target: *target,
            };
            insert_edge(inner, link, build_props(inner, properties)?)
        }
        WalOp::SetEdgeProperty { edge, key, value } => {
            with_object(inner, *edge, |e: &mut EdgeState| {
                set_prop(&mut e.props, inner, key, value)
            })
        }
        WalOp::DeleteEdge { edge } => {
            let (source, target) =
                with_object(inner, *edge, |e: &mut EdgeState| Ok((e.source, e.target)))?;
            let e = engine_api::EdgeId(*edge);
            with_object(inner, source.0, |s: &mut VertexState| {
                remove_adj(&mut s.out_edges, e);
                Ok(())
            })?;
            with_object(inner, target.0, |s: &mut VertexState| {
                remove_adj(&mut s.in_edges, e);
                Ok(())
            })?;
            if let Some(slot) = inner.graph.edges.get(*edge) {
                *slot.write() = None;
            }
            inner.graph.loaded_edges.fetch_sub(1, Ordering::Relaxed);
            Ok(())
        }
    }
}
