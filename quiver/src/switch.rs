//! Switching a live database to another storage mode, and migrating a data
//! directory into a new one of another mode.
//!
//! # How a switch moves the data
//! - **Memory-only** (no data directory): the old engine exports its image (names,
//!   schema, id counters, vertices, edges, in snapshot order) straight into the new
//!   engine's loader, in memory: no file, no text, ids kept.
//! - **With a data directory**: the old engine writes a fresh snapshot (the complete
//!   state, ids kept), closes without another, the old mode's own files go aside
//!   when the on-disk mode is involved (`rocksdb/` and `wal/` into `.backup/`; never
//!   deleted), the new mode is persisted in `quiver.mode`, and the new engine opens
//!   the directory, loading that snapshot. Going to IN_MEMORY_TRANSACTIONAL, the WAL
//!   thus starts after a snapshot holding everything.
//!
//! # What a crash recovers
//! Every step leaves a directory that opens with the same data:
//! - before the fresh snapshot is durable: the old mode, as before the switch;
//! - after it, before `quiver.mode` names the new mode: the old mode, from the
//!   fresh snapshot (plus, for the in-memory transactional mode, a WAL holding
//!   nothing after it; for the on-disk mode whose `rocksdb/` already went aside, a
//!   restore of the fresh snapshot);
//! - after: the new mode, from the fresh snapshot.
//!
//! The tests in `tests/switch.rs` kill a child process at each of these points.

use std::path::Path;
use std::time::{Duration, Instant};

use engine_api::{
    Error, ErrorKind, ImageEdge, ImageEngine, ImageVertex, Result, StorageEngine, StorageMode,
};
use engine_inmem_analytical::AnalyticalEngine;
use engine_inmem_txn::InMemoryEngine;

use crate::database::{Config, Database, Engine, refused};
use crate::mode::{mode_name, persist_mode};

/// What [`Database::set_storage_mode`] or [`migrate`] moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    /// The mode the data was in.
    pub from: StorageMode,
    /// The mode it is in now.
    pub to: StorageMode,
    /// Vertices moved.
    pub vertices: u64,
    /// Edges moved.
    pub edges: u64,
    /// Wall-clock time the move took.
    pub elapsed: Duration,
    /// For a [`migrate`] from a closed in-memory database into the on-disk mode:
    /// the source's snapshot that was copied as it is (its WAL held nothing after
    /// it), instead of loading the source into memory and exporting it.
    pub copied_snapshot: Option<std::path::PathBuf>,
    /// For a [`migrate`]: the newest commit the copy holds, with its time when the
    /// source's log recorded it (`None` for a mode switch).
    pub last_commit: Option<engine_api::CommitPoint>,
}

impl Moved {
    /// Vertices plus edges per second.
    pub fn objects_per_second(&self) -> f64 {
        (self.vertices + self.edges) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// "N vertices, M edges in S s (R objects/s)".
    pub fn summary(&self) -> String {
        format!(
            "{} vertices, {} edges in {:.2} s ({:.0} objects/s)",
            self.vertices,
            self.edges,
            self.elapsed.as_secs_f64(),
            self.objects_per_second()
        )
    }

    fn log(&self, what: &str) {
        tracing::info!(
            from = mode_name(self.from),
            to = mode_name(self.to),
            vertices = self.vertices,
            edges = self.edges,
            seconds = self.elapsed.as_secs_f64(),
            "{what}"
        );
    }
}

/// The steps of a switch with a data directory, for the crash tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    SnapshotWritten,
    OldClosed,
    FilesMovedAside,
    ModePersisted,
}

/// With the `crash-points` feature, aborts the process at the step named by the
/// environment variable `QUIVER_CRASH_AT` (for the crash tests); otherwise nothing.
fn crash_point(step: Step) {
    crate::crash_point(&format!("{step:?}"));
}

fn involves_on_disk(a: StorageMode, b: StorageMode) -> bool {
    a == StorageMode::OnDiskTransactional || b == StorageMode::OnDiskTransactional
}

impl Database {
    /// Switches this database to `mode`, keeping its data, ids and schema (see the
    /// module docs of `switch` for how, and what a crash recovers). `&mut self` means
    /// no transaction of this database runs. Switching to the mode it is in does
    /// nothing.
    ///
    /// The rules (those of the reference database):
    /// - IN_MEMORY_TRANSACTIONAL ⇄ IN_MEMORY_ANALYTICAL: always, except that going
    ///   to analytical is refused while constraints exist (`Unsupported`, naming
    ///   them: that mode cannot enforce them; drop them first).
    /// - To or from ON_DISK_TRANSACTIONAL: only while the database holds no vertex
    ///   and no edge (`InvalidInput` otherwise; [`migrate`] copies a whole database
    ///   into a new directory of another mode). The on-disk mode needs a data
    ///   directory.
    ///
    /// Errors: those above; `Corrupt` with a data directory whose snapshot listing
    /// fails (a file under a snapshot's name whose header does not read; nothing is
    /// changed); the old engine's snapshot or close failing (the database stays as
    /// it was, in its mode); the new engine's open failing (the database is
    /// reopened in its old mode from the fresh snapshot and the error returned; if
    /// even that fails, this value is detached: `begin` fails, and the files in the
    /// data directory hold everything; open them again with [`Database::open`]).
    pub fn set_storage_mode(&mut self, mode: StorageMode) -> Result<Moved> {
        let from = self.storage_mode();
        let started = Instant::now();
        let stats = self.stats()?;
        let mut moved = Moved {
            from,
            to: mode,
            vertices: 0,
            edges: 0,
            elapsed: Duration::ZERO,
            copied_snapshot: None,
            last_commit: None,
        };
        if from == mode {
            return Ok(moved);
        }
        if let Some(why) = &self.detached {
            return Err(Error::new(ErrorKind::Io, why.clone()));
        }
        (moved.vertices, moved.edges) = (stats.vertices, stats.edges);
        if involves_on_disk(from, mode) {
            if stats.vertices + stats.edges > 0 {
                return Err(Error::invalid_input(format!(
                    "switching from {} to {} needs an empty database; this one holds {} vertices and {} edges: copy it into a new directory with quiver::migrate (CLI: quiver migrate), or dump and load it",
                    mode_name(from),
                    mode_name(mode),
                    stats.vertices,
                    stats.edges
                )));
            }
            if self.config.data_directory.is_none() {
                return Err(Error::invalid_input(
                    "ON_DISK_TRANSACTIONAL needs a data directory; open the database with one (Config::data_directory)",
                ));
            }
        }
        if mode == StorageMode::InMemoryAnalytical && from != StorageMode::InMemoryAnalytical {
            let constraints = self.constraints()?;
            if !constraints.is_empty() {
                let names: Vec<String> = constraints.iter().map(ToString::to_string).collect();
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "IN_MEMORY_ANALYTICAL mode cannot enforce constraints, and {} exist; drop them first (drop_constraint; on the command line `quiver mode set <dir> IN_MEMORY_ANALYTICAL --drop-constraints` drops them and switches)",
                        names.join(", ")
                    ),
                ));
            }
        }
        if self.config.data_directory.is_some() {
            // A file under a snapshot's name whose header does not read fails the
            // listing (info, backup) before and after a switch: refused here as
            // there, with nothing changed, rather than carried into the new mode.
            self.snapshots()?;
        }
        match self.config.data_directory.clone() {
            None => self.switch_in_memory(mode)?,
            Some(dir) => self.switch_through_directory(&dir, mode)?,
        }
        moved.elapsed = started.elapsed();
        moved.log("storage mode switched");
        Ok(moved)
    }

    /// The memory-only switch: an export of the old engine straight into the new one.
    fn switch_in_memory(&mut self, mode: StorageMode) -> Result<()> {
        let new = match (&self.engine, mode) {
            (Engine::InMemoryTransactional(old), StorageMode::InMemoryAnalytical) => {
                let c = engine_inmem_analytical::Config::new()
                    .durability(self.config.get_durability(mode));
                c.check().map_err(|e| refused(mode, e))?;
                Engine::InMemoryAnalytical(AnalyticalEngine::import(c, |sink| old.export(sink))?)
            }
            (Engine::InMemoryAnalytical(old), StorageMode::InMemoryTransactional) => {
                let c =
                    engine_inmem_txn::Config::new().durability(self.config.get_durability(mode));
                c.check().map_err(|e| refused(mode, e))?;
                Engine::InMemoryTransactional(InMemoryEngine::import(c, |sink| old.export(sink))?)
            }
            (_, mode) => {
                return Err(Error::invalid_input(format!(
                    "{} needs a data directory",
                    mode_name(mode)
                )));
            }
        };
        let old = std::mem::replace(&mut self.engine, new);
        old.close_without_snapshot()
    }

    /// The switch of a database with a data directory: through a fresh snapshot.
    fn switch_through_directory(&mut self, dir: &Path, mode: StorageMode) -> Result<()> {
        let from = self.storage_mode();
        // 1. Everything committed, in a fresh snapshot; nothing has changed if it fails.
        self.engine_create_snapshot()?;
        crash_point(Step::SnapshotWritten);
        // 2. Close the old engine without another snapshot. A placeholder (empty,
        //    memory-only) stands in until the new engine is open.
        let placeholder = Engine::InMemoryTransactional(InMemoryEngine::open(
            engine_inmem_txn::Config::new().gc_interval(None),
        )?);
        let old = std::mem::replace(&mut self.engine, placeholder);
        if let Err(e) = old.close_without_snapshot() {
            return Err(self.reopen_after(from, e));
        }
        crash_point(Step::OldClosed);
        // 3. The old mode's own files go aside when the on-disk mode is involved: an
        //    in-memory mode refuses RocksDB's files, the on-disk mode an in-memory WAL.
        if involves_on_disk(from, mode) {
            let names: &[&str] = if from == StorageMode::OnDiskTransactional {
                &["rocksdb", "wal"]
            } else {
                &["wal"]
            };
            if let Err(e) = durability::dir::move_dirs_aside(dir, names) {
                return Err(self.reopen_after(from, e));
            }
        }
        crash_point(Step::FilesMovedAside);
        // 4. The new mode, persisted; then opened on the fresh snapshot.
        if let Err(e) = persist_mode(dir, mode) {
            return Err(self.reopen_after(from, e));
        }
        crash_point(Step::ModePersisted);
        match Engine::open(mode, &self.recovering_config()) {
            Ok(engine) => {
                self.engine = engine;
                Ok(())
            }
            Err(e) => {
                let restored = persist_mode(dir, from);
                match restored {
                    Ok(()) => Err(self.reopen_after(from, e)),
                    Err(again) => Err(self.detach(e, &again)),
                }
            }
        }
    }

    fn engine_create_snapshot(&self) -> Result<engine_api::SnapshotInfo> {
        match &self.engine {
            Engine::InMemoryTransactional(e) => e.create_snapshot(),
            Engine::InMemoryAnalytical(e) => e.create_snapshot(),
            Engine::OnDiskTransactional(e) => e.create_snapshot(),
        }
    }

    /// The config with recovery on: a switch must load the snapshot it just wrote,
    /// whatever the config says about recovery on open.
    fn recovering_config(&self) -> Config {
        let mut c = self.config.clone();
        for d in c.durability.iter_mut().flatten() {
            *d = d.clone().recover_on_startup(true);
        }
        c
    }

    /// Reopens the data directory in `mode` after a failed step, returning `error`
    /// (or, if the reopen fails too, detaching this value).
    fn reopen_after(&mut self, mode: StorageMode, error: Error) -> Error {
        match Engine::open(mode, &self.recovering_config()) {
            Ok(engine) => {
                self.engine = engine;
                error
            }
            Err(again) => self.detach(error, &again),
        }
    }

    fn detach(&mut self, error: Error, again: &Error) -> Error {
        let dir = self
            .config
            .data_directory
            .as_deref()
            .map_or_else(String::new, |d| d.display().to_string());
        let why = format!(
            "a storage-mode switch failed ({error}) and reopening {dir} failed too ({again}); the files in {dir} hold the data: open it again with Database::open"
        );
        self.detached = Some(why.clone());
        Error::new(error.kind(), why)
    }
}

/// Copies the whole database in `source` (opened in its persisted mode; no other
/// process may hold it) into the new data directory `target`, in `mode`: names,
/// schema, triggers, id counters, vertices and edges, ids kept. The copy is streamed
/// into a snapshot in `target/snapshots/` (memory does not grow with the graph); the
/// on-disk mode imports it into RocksDB at once, an in-memory mode loads it when
/// `target` is first opened. `target` gets a new database id (it is a new database
/// from now on). `source` is not changed (no snapshot is written into it).
///
/// Errors: `InvalidInput` if `target` is the source or holds anything but an empty
/// folder, or `source` holds no database; `Unsupported` when going to
/// IN_MEMORY_ANALYTICAL with constraints; whatever opening either side returns.
pub fn migrate(source: &Path, target: &Path, mode: StorageMode) -> Result<Moved> {
    migrate_with(source, target, mode, false)
}

/// [`migrate`], leaving the source's constraints out of the copy (the source keeps
/// them): for a copy into IN_MEMORY_ANALYTICAL, which cannot enforce them.
pub fn migrate_without_constraints(
    source: &Path,
    target: &Path,
    mode: StorageMode,
) -> Result<Moved> {
    migrate_with(source, target, mode, true)
}

/// A sink that passes everything on but constraint definitions.
struct WithoutConstraints<'s>(&'s mut dyn durability::SnapshotSink);

impl durability::SnapshotSink for WithoutConstraints<'_> {
    fn name(&mut self, kind: durability::NameKind, id: u32, name: &str) -> Result<()> {
        self.0.name(kind, id, name)
    }
    fn schema(&mut self, definition: durability::SchemaOp) -> Result<()> {
        match definition {
            durability::SchemaOp::CreateConstraint(_) => Ok(()),
            other => self.0.schema(other),
        }
    }
    fn schema_all(&mut self, definitions: &[durability::SchemaOp]) -> Result<()> {
        let kept: Vec<durability::SchemaOp> = definitions
            .iter()
            .filter(|d| !matches!(d, durability::SchemaOp::CreateConstraint(_)))
            .cloned()
            .collect();
        self.0.schema_all(&kept)
    }
    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<()> {
        self.0.counters(next_vertex, next_edge)
    }
    fn vertex(&mut self, vertex: ImageVertex<'_>) -> Result<()> {
        self.0.vertex(vertex)
    }
    fn edge(&mut self, edge: ImageEdge<'_>) -> Result<()> {
        self.0.edge(edge)
    }
}

fn migrate_with(
    source: &Path,
    target: &Path,
    mode: StorageMode,
    drop_constraints: bool,
) -> Result<Moved> {
    let started = Instant::now();
    if let (Ok(from), Some(to)) = (source.canonicalize(), resolved(target))
        && to.starts_with(&from)
    {
        return Err(Error::invalid_input(if to == from {
            format!(
                "migrate needs a new target directory, not the source {}",
                source.display()
            )
        } else {
            format!(
                "{} is inside the source {}: migrate writes into a new directory outside it",
                target.display(),
                source.display()
            )
        }));
    }
    if !crate::verify::holds_database(source) {
        return Err(crate::verify::no_database(source));
    }
    // A target restore prepared holds only its lock file and what it moved aside.
    if !crate::backup::used_entries(target)?.is_empty() {
        return Err(Error::invalid_input(format!(
            "{} is not empty; migrate writes into a new or empty directory",
            target.display()
        )));
    }
    // A migrate that fails takes back what it wrote into the target (a kill leaves
    // only what a retry accepts: see `holds_only_leftovers`).
    let existed = std::fs::symlink_metadata(target).is_ok();
    let moved = migrate_into(source, target, mode, drop_constraints, started);
    if moved.is_err()
        && let Err(e) = take_back(target, existed)
    {
        tracing::warn!(error = %e, "cannot remove what a failed migrate wrote");
    }
    moved
}

/// Creates `target` with the mode file in it (first: a kill after the image is in
/// place then leaves a database of the mode asked for, not one the next open takes
/// for the default mode) and `snapshots/`, which it returns.
fn prepare_target(target: &Path, mode: StorageMode) -> Result<std::path::PathBuf> {
    let create = |d: &Path| {
        std::fs::create_dir_all(d).map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot create {}: {e}", d.display())).with_source(e)
        })
    };
    create(target)?;
    persist_mode(target, mode)?;
    let snapshots = target.join("snapshots");
    create(&snapshots)?;
    Ok(snapshots)
}

/// `path` with symbolic links and `..` resolved as far as it exists, the rest
/// appended: where a directory not created yet would be.
pub(crate) fn resolved(path: &Path) -> Option<std::path::PathBuf> {
    let mut rest = Vec::new();
    let mut at = path.to_path_buf();
    loop {
        if let Ok(real) = at.canonicalize() {
            return Some(rest.iter().rev().fold(real, |p, c| p.join(c)));
        }
        rest.push(at.file_name()?.to_os_string());
        at = match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
    }
}

/// Removes what a failed migrate wrote into `target`: the whole directory if the
/// migrate made it, else the entries a migrate writes (the directory held none of
/// them in use before: `used_entries` was empty).
///
/// Errors: `Io` naming the first entry that cannot be removed (the others are still
/// tried).
fn take_back(target: &Path, existed: bool) -> Result<()> {
    let remove = |path: &Path| -> Result<()> {
        let result = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        match result {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::new(
                ErrorKind::Io,
                format!("cannot remove {}: {e}", path.display()),
            )
            .with_source(e)),
            _ => Ok(()),
        }
    };
    if !existed {
        return remove(target);
    }
    // A link where the folder of work in progress belongs is not ours (nor made by
    // the migrate): left alone.
    [crate::MODE_FILE, "snapshots", "wal", "rocksdb"]
        .iter()
        .map(|name| target.join(name))
        .chain(durability::dir::in_progress_dir(target))
        .map(|path| remove(&path))
        .fold(Ok(()), Result::and)
}

fn migrate_into(
    source: &Path,
    target: &Path,
    mode: StorageMode,
    drop_constraints: bool,
    started: Instant,
) -> Result<Moved> {
    if let Some(moved) = migrate_from_snapshot(source, target, mode, drop_constraints, started)? {
        moved.log("migrated");
        return Ok(moved);
    }
    // The source is only read: no mode file is recorded into it, and without a WAL
    // of its own the open leaves a torn log tail as it is.
    let db = Database::open(
        Config::new()
            .data_directory(source)
            .record_mode(false)
            .durability_by_mode(|mode, d| {
                let d = d.snapshot_on_exit(false);
                match mode {
                    StorageMode::InMemoryTransactional => d.wal(false).snapshot_interval(None),
                    _ => d,
                }
            }),
    )?;
    let from = db.storage_mode();
    let last_commit = db.recovery_report()?.last_commit;
    if mode == StorageMode::InMemoryAnalytical
        && from != StorageMode::InMemoryAnalytical
        && !drop_constraints
    {
        let constraints = db.constraints()?;
        if !constraints.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "IN_MEMORY_ANALYTICAL mode cannot enforce constraints, and {} holds {} of them; leave them out of the copy (quiver::migrate_without_constraints; on the command line `quiver migrate --drop-constraints`) or drop them in the source first",
                    source.display(),
                    constraints.len()
                ),
            ));
        }
    }
    let snapshots = prepare_target(target, mode)?;
    let database = durability::DatabaseId::random();
    // The image's commit timestamp is known only once it is taken: the writer starts
    // with 0, and `finish` writes the real one into the header and the file name.
    let mut w = durability::SnapshotWriter::create(&snapshots, 1, 0, database)?;
    let mut filtered = WithoutConstraints(&mut w);
    let sink: &mut dyn durability::SnapshotSink = if drop_constraints {
        &mut filtered
    } else {
        filtered.0
    };
    let exported = db.engine.export(sink);
    let ts = match exported {
        Ok(ts) => ts,
        Err(e) => {
            w.abandon();
            return Err(e);
        }
    };
    w.set_commit_ts(ts);
    let (vertices, edges) = w.written();
    let written = w.finish()?;
    db.engine.close_without_snapshot()?;
    tracing::info!(snapshot = %written.path.display(), commit_ts = ts, "image written");
    if mode == StorageMode::OnDiskTransactional {
        // RocksDB is filled from the snapshot now; an in-memory mode loads it on
        // its first open (the snapshot is that mode's whole database).
        let copy = Database::open(Config::new().data_directory(target))?;
        copy.engine.close_without_snapshot()?;
    }
    let moved = Moved {
        from,
        to: mode,
        vertices,
        edges,
        elapsed: started.elapsed(),
        copied_snapshot: None,
        last_commit: Some(last_commit.unwrap_or(engine_api::CommitPoint {
            commit_ts: ts,
            time: None,
        })),
    };
    moved.log("migrated");
    Ok(moved)
}

/// The short way from a closed in-memory database into the on-disk mode: when its
/// newest snapshot alone is the database (the WAL holds nothing after it, as after
/// a close that wrote one), that file is copied into `target` under the new
/// database id and imported, without loading the source into memory and exporting
/// it again. The source stays locked while the file is copied. `None` when that
/// does not hold, so the caller takes the general way; so does a copy that does
/// not import (a damaged snapshot: recovery may fall back to an older one), after
/// what it put into `target` is removed again.
fn migrate_from_snapshot(
    source: &Path,
    target: &Path,
    mode: StorageMode,
    drop_constraints: bool,
    started: Instant,
) -> Result<Option<Moved>> {
    if mode != StorageMode::OnDiskTransactional || drop_constraints {
        return Ok(None);
    }
    let from = match crate::mode::persisted_mode(source)? {
        Some(m @ (StorageMode::InMemoryTransactional | StorageMode::InMemoryAnalytical)) => m,
        _ => return Ok(None),
    };
    let dir = durability::DataDir::open(source)?;
    let listing = dir.list()?;
    let Some(newest) = listing.snapshots.last() else {
        return Ok(None);
    };
    let Ok(summary) = durability::snapshot::read_snapshot_header(&newest.path) else {
        return Ok(None);
    };
    let whole = durability::dir::one_database(&listing).is_ok()
        && match from {
            // The analytical mode keeps no WAL: segments there are another story.
            StorageMode::InMemoryAnalytical => listing.segments.is_empty(),
            _ => durability::snapshot::read_snapshot_schema(&newest.path).is_ok_and(|schema| {
                durability::wal::nothing_after(
                    &listing.segments,
                    summary.commit_ts,
                    summary.database,
                    &schema,
                )
            }),
        };
    if !whole {
        return Ok(None);
    }
    let snapshots = prepare_target(target, mode)?;
    let copy = durability::snapshot::copy_snapshot(
        &newest.path,
        &snapshots,
        1,
        durability::DatabaseId::random(),
    )?;
    drop(dir);
    tracing::info!(from = %newest.path.display(), to = %copy.path.display(), "snapshot copied");
    match Database::open(Config::new().data_directory(target)) {
        Ok(copy) => {
            let stats = copy.stats()?;
            copy.engine.close_without_snapshot()?;
            Ok(Some(Moved {
                from,
                to: mode,
                vertices: stats.vertices,
                edges: stats.edges,
                elapsed: started.elapsed(),
                copied_snapshot: Some(newest.path.clone()),
                last_commit: Some(engine_api::CommitPoint {
                    commit_ts: summary.commit_ts,
                    time: None,
                }),
            }))
        }
        Err(e) if e.kind() == ErrorKind::Corrupt => {
            tracing::warn!(error = %e, "the copied snapshot does not import; loading the source instead");
            // The general way writes the target anew: all of this way's files go.
            take_back(target, true)?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Taking back a failed migrate into a directory that existed removes what a
    /// migrate writes there, but not a link where the folder of work in progress
    /// belongs (not ours, and not the migrate's), nor anything behind it.
    #[cfg(unix)]
    #[test]
    fn taking_back_leaves_a_link_at_the_in_progress_folder() -> Result<()> {
        let root = tempfile::tempdir()?;
        let target = root.path().join("target");
        let theirs = root.path().join("theirs");
        for dir in [target.join("snapshots"), target.join("wal"), theirs.clone()] {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(target.join(crate::MODE_FILE), b"mode")?;
        std::fs::write(theirs.join("file"), b"theirs")?;
        let link = target.join(durability::dir::IN_PROGRESS);
        std::os::unix::fs::symlink(&theirs, &link)?;
        take_back(&target, true)?;
        assert!(link.is_symlink(), "the link is left");
        assert_eq!(std::fs::read(theirs.join("file"))?, b"theirs");
        for name in [crate::MODE_FILE, "snapshots", "wal"] {
            assert!(!target.join(name).exists(), "{name} taken back");
        }
        // A folder of ours there is taken back.
        std::fs::remove_file(&link)?;
        std::fs::create_dir_all(link.join("leftover"))?;
        take_back(&target, true)?;
        assert!(!link.exists());
        Ok(())
    }
}
