//! One database type over the three backends. Each backend keeps its own engine,
//! transaction and iterator types; these enums forward every call of the contract
//! to the variant that is there.
//!
//! A macro does the forwarding rather than `enum_dispatch`: the contract's traits
//! have generic associated types (`Txn<'e>`, `Vertices<'t>`) and consuming methods
//! (`commit(self)`), which `enum_dispatch` cannot express.

use std::path::PathBuf;

use engine_api::EdgeRef;
use engine_api::{
    Capabilities, CommitInfo, ConstraintSpec, DataDirectoryLease, DatabaseId, DeleteMode,
    Direction, DurabilityConfig, EdgeId, EdgeRecord, EngineStats, Error, ImageEngine, IndexInfo,
    IndexSpec, IsolationLevel, LockChange, LockStatus, Name, ObserverId, PropertyBounds,
    PropertyMap, PropertyValue, RecoveryReport, Result, SharedObserver, SnapshotInfo, SnapshotSink,
    StorageEngine, StorageMode, Transaction, TriggerPhase, TriggerSpec, TxnOptions, ValueRef,
    VertexId,
};
use engine_inmem_analytical::AnalyticalEngine;
use engine_inmem_txn::InMemoryEngine;
use engine_ondisk::OnDiskEngine;

use crate::mode::{mode_name, persist_mode, persisted_mode};

/// Runs `$body` with `$x` bound to whichever backend's value `$value` holds.
macro_rules! each {
    ($value:expr, $enum:ident, $x:ident => $body:expr) => {
        match $value {
            $enum::InMemoryTransactional($x) => $body,
            $enum::InMemoryAnalytical($x) => $body,
            $enum::OnDiskTransactional($x) => $body,
        }
    };
}

/// Like [`each!`], wrapping each arm's `Ok` value into the same variant of `$out`.
macro_rules! each_into {
    ($value:expr, $enum:ident, $out:ident, $x:ident => $body:expr) => {
        match $value {
            $enum::InMemoryTransactional($x) => $body.map($out::InMemoryTransactional),
            $enum::InMemoryAnalytical($x) => $body.map($out::InMemoryAnalytical),
            $enum::OnDiskTransactional($x) => $body.map($out::OnDiskTransactional),
        }
    };
}

/// How to open a [`Database`].
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub(crate) mode: Option<StorageMode>,
    pub(crate) data_directory: Option<PathBuf>,
    /// Each mode's durability settings, by [`mode_index`]; `None`: the backend's
    /// default ([`default_durability`]).
    pub(crate) durability: [Option<DurabilityConfig>; 3],
    /// Opening leaves the mode file alone (see [`Config::record_mode`]).
    pub(crate) skip_mode_record: bool,
    /// Advanced by the on-disk mode's bulk build (see [`Config::build_progress`]).
    pub(crate) build_progress: Option<std::sync::Arc<engine_ondisk::BuildProgress>>,
}

impl Config {
    /// The defaults: memory-only, IN_MEMORY_TRANSACTIONAL.
    pub fn new() -> Self {
        Self::default()
    }

    /// The storage mode. Default: the mode persisted in the data directory, or
    /// IN_MEMORY_TRANSACTIONAL for a new one. Naming a mode other than the persisted
    /// one fails the open (`InvalidInput`): switching is an explicit operation.
    #[must_use]
    pub fn mode(mut self, mode: StorageMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The data directory (required for ON_DISK_TRANSACTIONAL). Default: none,
    /// memory-only.
    #[must_use]
    pub fn data_directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_directory = Some(dir.into());
        self
    }

    /// Whether opening writes the mode file (`quiver.mode`) into a directory that
    /// has none (default: yes, so a reopen gets the mode the data was written in).
    /// A tool that only reads turns it off, so inspecting a directory writes no mode
    /// into it.
    #[must_use]
    pub fn record_mode(mut self, record: bool) -> Self {
        self.skip_mode_record = !record;
        self
    }

    /// The same durability settings for every mode. Default: each mode's own
    /// ([`default_durability`]). A mode that cannot honour them refuses them when
    /// the database opens in it or switches to it (`Unsupported`, as its backend's
    /// `Config::check` does: a WAL or periodic snapshots in IN_MEMORY_ANALYTICAL, no
    /// WAL or periodic snapshots in ON_DISK_TRANSACTIONAL); nothing is rewritten
    /// behind the caller's back. For settings that differ by mode use
    /// [`Config::durability_for`] or [`Config::durability_by_mode`].
    #[must_use]
    pub fn durability(mut self, durability: DurabilityConfig) -> Self {
        self.durability = std::array::from_fn(|_| Some(durability.clone()));
        self
    }

    /// `mode`'s durability settings (the other modes keep theirs). Default: the
    /// mode's own ([`default_durability`]).
    #[must_use]
    pub fn durability_for(mut self, mode: StorageMode, durability: DurabilityConfig) -> Self {
        self.durability[mode_index(mode)] = Some(durability);
        self
    }

    /// Every mode's durability settings, each made by `settings` from the mode and
    /// its default ([`default_durability`]): for a change that applies to every
    /// mode, such as `|_, d| d.snapshot_on_exit(false)`.
    #[must_use]
    pub fn durability_by_mode(
        mut self,
        settings: impl Fn(StorageMode, DurabilityConfig) -> DurabilityConfig,
    ) -> Self {
        for mode in MODES {
            self.durability[mode_index(mode)] = Some(settings(mode, default_durability(mode)));
        }
        self
    }

    /// The durability settings `mode` opens with.
    pub fn get_durability(&self, mode: StorageMode) -> DurabilityConfig {
        self.durability[mode_index(mode)]
            .clone()
            .unwrap_or_else(|| default_durability(mode))
    }

    /// A counter the on-disk mode advances while opening builds RocksDB from a
    /// snapshot (a restore's or a migration's first open): objects written of the
    /// snapshot's objects, for another thread to show progress from
    /// (`engine_ondisk::BuildProgress::get`). Default none; the other modes leave it
    /// alone.
    #[must_use]
    pub fn build_progress(
        mut self,
        progress: std::sync::Arc<engine_ondisk::BuildProgress>,
    ) -> Self {
        self.build_progress = Some(progress);
        self
    }
}

/// The three modes, in [`mode_index`] order.
const MODES: [StorageMode; 3] = [
    StorageMode::InMemoryTransactional,
    StorageMode::InMemoryAnalytical,
    StorageMode::OnDiskTransactional,
];

fn mode_index(mode: StorageMode) -> usize {
    match mode {
        StorageMode::InMemoryTransactional => 0,
        StorageMode::InMemoryAnalytical => 1,
        StorageMode::OnDiskTransactional => 2,
    }
}

/// A mode's default durability settings: its backend's `Config::default_durability`
/// (IN_MEMORY_TRANSACTIONAL: a WAL synced per commit, a snapshot every 300 s and on
/// close; IN_MEMORY_ANALYTICAL: no WAL, no periodic snapshots, a snapshot on close;
/// ON_DISK_TRANSACTIONAL: RocksDB's WAL synced per commit in 4 MiB files, no
/// periodic snapshot, none on close; 3 snapshots kept and recovery on open in all).
pub fn default_durability(mode: StorageMode) -> DurabilityConfig {
    match mode {
        StorageMode::InMemoryTransactional => engine_inmem_txn::Config::default_durability(),
        StorageMode::InMemoryAnalytical => engine_inmem_analytical::Config::default_durability(),
        StorageMode::OnDiskTransactional => engine_ondisk::Config::default_durability(),
    }
}

/// The backend engine a [`Database`] runs, for the calls only one backend has
/// (for example [`InMemoryEngine::collect_garbage`]).
// One per open database: its size does not matter, an indirection on every call would.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Engine {
    /// IN_MEMORY_TRANSACTIONAL.
    InMemoryTransactional(InMemoryEngine),
    /// IN_MEMORY_ANALYTICAL.
    InMemoryAnalytical(AnalyticalEngine),
    /// ON_DISK_TRANSACTIONAL.
    OnDiskTransactional(OnDiskEngine),
}

impl Engine {
    /// The storage mode of this backend.
    pub fn storage_mode(&self) -> StorageMode {
        match self {
            Engine::InMemoryTransactional(_) => StorageMode::InMemoryTransactional,
            Engine::InMemoryAnalytical(_) => StorageMode::InMemoryAnalytical,
            Engine::OnDiskTransactional(_) => StorageMode::OnDiskTransactional,
        }
    }

    /// Closes without the snapshot on exit (the caller has just written one).
    pub(crate) fn close_without_snapshot(self) -> Result<()> {
        each!(self, Engine, e => e.close_without_snapshot())
    }

    /// The backend's [`ImageEngine::export`].
    pub(crate) fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        each!(self, Engine, e => e.export(sink))
    }

    /// Opens `mode`'s backend as `config` says (its mode is not looked at).
    pub(crate) fn open(mode: StorageMode, config: &Config) -> Result<Engine> {
        Ok(match mode {
            StorageMode::InMemoryTransactional => {
                let mut c = engine_inmem_txn::Config::new().durability(config.get_durability(mode));
                if let Some(dir) = &config.data_directory {
                    c = c.data_directory(dir);
                }
                c.check().map_err(|e| refused(mode, e))?;
                Engine::InMemoryTransactional(InMemoryEngine::open(c)?)
            }
            StorageMode::InMemoryAnalytical => {
                let mut c =
                    engine_inmem_analytical::Config::new().durability(config.get_durability(mode));
                if let Some(dir) = &config.data_directory {
                    c = c.data_directory(dir);
                }
                c.check().map_err(|e| refused(mode, e))?;
                Engine::InMemoryAnalytical(AnalyticalEngine::open(c)?)
            }
            StorageMode::OnDiskTransactional => {
                Engine::OnDiskTransactional(OnDiskEngine::open(on_disk_config(config)?)?)
            }
        })
    }
}

/// The on-disk engine's config for `config`.
fn on_disk_config(config: &Config) -> Result<engine_ondisk::Config> {
    let Some(dir) = &config.data_directory else {
        return Err(Error::invalid_input(
            "ON_DISK_TRANSACTIONAL needs a data directory (Config::data_directory)",
        ));
    };
    let mode = StorageMode::OnDiskTransactional;
    let mut c = engine_ondisk::Config::new(dir).durability(config.get_durability(mode));
    if let Some(p) = &config.build_progress {
        c = c.build_progress(p.clone());
    }
    c.check().map_err(|e| refused(mode, e))?;
    Ok(c)
}

/// A backend's refusal of durability settings, pointing at the facade's setters.
pub(crate) fn refused(mode: StorageMode, e: Error) -> Error {
    Error::new(
        e.kind(),
        format!(
            "{} (the durability settings of {}: quiver::Config::durability_for sets one mode's, durability_by_mode each mode's from its default)",
            e.message(),
            mode_name(mode)
        ),
    )
}

/// A database in one of the three storage modes, chosen at run time (see the crate
/// docs). It implements [`StorageEngine`]; [`Database::set_storage_mode`] switches it.
#[derive(Debug)]
pub struct Database {
    pub(crate) engine: Engine,
    pub(crate) config: Config,
    /// Set when a failed switch could not reopen the data directory: the files hold
    /// the data, this value holds none of it, and `begin` says so.
    pub(crate) detached: Option<String>,
}

impl Database {
    /// Opens the database `config` describes. With a data directory, the mode is
    /// the one persisted there (written on the first open). The mode runs with its
    /// own durability settings ([`Config::get_durability`]).
    ///
    /// Errors: `InvalidInput` when the config names a mode other than the
    /// directory's, or ON_DISK_TRANSACTIONAL without a data directory; `Unsupported`
    /// for durability settings the mode cannot honour; `Corrupt` for a damaged mode
    /// file; whatever the backend's open returns.
    pub fn open(config: Config) -> Result<Database> {
        let persisted = match &config.data_directory {
            Some(dir) => persisted_mode(dir)?,
            None => None,
        };
        let mode = match (config.mode, persisted) {
            (Some(asked), Some(found)) if asked != found => {
                return Err(Error::invalid_input(format!(
                    "{} holds an {} database; open it in that mode (or switch it: Database::set_storage_mode, on the command line `quiver mode set <dir> <mode>`), not as {}",
                    config
                        .data_directory
                        .as_deref()
                        .map_or_else(String::new, |d| d.display().to_string()),
                    mode_name(found),
                    mode_name(asked)
                )));
            }
            (Some(asked), _) => asked,
            (None, Some(found)) => found,
            (None, None) => StorageMode::InMemoryTransactional,
        };
        let engine = Engine::open(mode, &config)?;
        if let Some(dir) = &config.data_directory
            && persisted != Some(mode)
            && !config.skip_mode_record
        {
            persist_mode(dir, mode)?;
        }
        Ok(Database {
            engine,
            config,
            detached: None,
        })
    }

    /// Creates a new ON_DISK_TRANSACTIONAL database in `config`'s data directory from
    /// `image`, through the on-disk engine's bulk path
    /// ([`OnDiskEngine::create_from_image`]: sorted files ingested into RocksDB, the
    /// schema built on the data, all or nothing across a crash), and records the mode.
    /// An image may come from another engine's `export`, or from a dump:
    ///
    /// ```no_run
    /// # fn main() -> engine_api::Result<()> {
    /// let config = quiver::Config::new().data_directory("./graph");
    /// let input = std::io::BufReader::new(std::fs::File::open("graph.cypherl")?);
    /// let mut input = Some(input);
    /// let db = quiver::Database::create_on_disk_from_image(config, &mut |sink| {
    ///     let input = input.take().ok_or_else(|| engine_api::Error::invalid_input("read once"))?;
    ///     // A dump has no commit timestamp: 0.
    ///     dump::dump_to_image(input, sink, dump::LoadOptions::new()).map(|_| 0)
    /// })?;
    /// # Ok(()) }
    /// ```
    ///
    /// Errors: `InvalidInput` without a data directory, for a config or directory of
    /// another mode, or a directory that holds a database or a snapshot already;
    /// whatever the image or the build returns (nothing is left of the database then).
    pub fn create_on_disk_from_image(
        config: Config,
        image: engine_ondisk::Image<'_>,
    ) -> Result<Database> {
        let mode = StorageMode::OnDiskTransactional;
        if let Some(asked) = config.mode.filter(|m| *m != mode) {
            return Err(Error::invalid_input(format!(
                "a database is created from an image in ON_DISK_TRANSACTIONAL mode only, not {}",
                mode_name(asked)
            )));
        }
        let c = on_disk_config(&config)?;
        let persisted = match &config.data_directory {
            Some(dir) => persisted_mode(dir)?,
            None => None,
        };
        if let Some(found) = persisted.filter(|m| *m != mode) {
            return Err(Error::invalid_input(format!(
                "{} is a directory of an {} database; a database is created from an image only in an empty one",
                c.get_data_directory().display(),
                mode_name(found)
            )));
        }
        let engine = Engine::OnDiskTransactional(OnDiskEngine::create_from_image(c, image)?);
        if let Some(dir) = &config.data_directory
            && persisted.is_none()
            && !config.skip_mode_record
        {
            persist_mode(dir, mode)?;
        }
        Ok(Database {
            engine,
            config: config.mode(mode),
            detached: None,
        })
    }

    /// The storage mode this database runs in.
    pub fn storage_mode(&self) -> StorageMode {
        self.engine.storage_mode()
    }

    /// The backend engine, for calls only one backend has.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The database's id, which every file in its data directory carries; `None`
    /// for a memory-only database.
    pub fn database_id(&self) -> Option<DatabaseId> {
        each!(&self.engine, Engine, e => e.database_id())
    }

    /// The data directory, if the database has one.
    pub fn data_directory(&self) -> Option<&std::path::Path> {
        self.config.data_directory.as_deref()
    }

    fn usable(&self) -> Result<()> {
        match &self.detached {
            None => Ok(()),
            Some(why) => Err(Error::new(engine_api::ErrorKind::Io, why.clone())),
        }
    }
}

/// A transaction of a [`Database`].
#[derive(Debug)]
pub enum Txn<'e> {
    /// IN_MEMORY_TRANSACTIONAL.
    InMemoryTransactional(engine_inmem_txn::InMemoryTxn<'e>),
    /// IN_MEMORY_ANALYTICAL.
    InMemoryAnalytical(engine_inmem_analytical::AnalyticalTxn<'e>),
    /// ON_DISK_TRANSACTIONAL.
    OnDiskTransactional(engine_ondisk::OnDiskTxn<'e>),
}

/// Vertex ids of a [`Txn`].
#[derive(Debug)]
pub enum Vertices<'t, 'e> {
    /// IN_MEMORY_TRANSACTIONAL.
    InMemoryTransactional(engine_inmem_txn::VertexIter<'t, 'e>),
    /// IN_MEMORY_ANALYTICAL.
    InMemoryAnalytical(engine_inmem_analytical::VertexIter<'t>),
    /// ON_DISK_TRANSACTIONAL.
    OnDiskTransactional(engine_ondisk::VertexIter<'t, 'e>),
}

/// Edges of a [`Txn`].
#[derive(Debug)]
pub enum Edges<'t, 'e> {
    /// IN_MEMORY_TRANSACTIONAL.
    InMemoryTransactional(engine_inmem_txn::EdgeIter),
    /// IN_MEMORY_ANALYTICAL.
    InMemoryAnalytical(engine_inmem_analytical::EdgeIter<'t>),
    /// ON_DISK_TRANSACTIONAL.
    OnDiskTransactional(engine_ondisk::EdgeIter<'t, 'e>),
}

impl Iterator for Vertices<'_, '_> {
    type Item = Result<VertexId>;
    fn next(&mut self) -> Option<Self::Item> {
        each!(self, Vertices, it => it.next())
    }
}

impl Iterator for Edges<'_, '_> {
    type Item = Result<EdgeRecord>;
    fn next(&mut self) -> Option<Self::Item> {
        each!(self, Edges, it => it.next())
    }
}

impl StorageEngine for Database {
    type Txn<'e> = Txn<'e>;

    fn capabilities(&self) -> &Capabilities {
        each!(&self.engine, Engine, e => e.capabilities())
    }

    fn begin(&self, options: TxnOptions) -> Result<Txn<'_>> {
        self.usable()?;
        each_into!(&self.engine, Engine, Txn, e => e.begin(options))
    }

    fn stats(&self) -> Result<EngineStats> {
        each!(&self.engine, Engine, e => e.stats())
    }

    fn close(self) -> Result<()> {
        each!(self.engine, Engine, e => e.close())
    }

    fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        each!(&self.engine, Engine, e => e.create_index(spec))
    }

    fn drop_index(&self, spec: &IndexSpec) -> Result<()> {
        each!(&self.engine, Engine, e => e.drop_index(spec))
    }

    fn indexes(&self) -> Result<Vec<IndexInfo>> {
        each!(&self.engine, Engine, e => e.indexes())
    }

    fn create_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        each!(&self.engine, Engine, e => e.create_constraint(spec))
    }

    fn drop_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        each!(&self.engine, Engine, e => e.drop_constraint(spec))
    }

    fn constraints(&self) -> Result<Vec<ConstraintSpec>> {
        each!(&self.engine, Engine, e => e.constraints())
    }

    fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        each!(&self.engine, Engine, e => e.create_trigger(spec))
    }

    fn drop_trigger(&self, name: &str) -> Result<()> {
        each!(&self.engine, Engine, e => e.drop_trigger(name))
    }

    fn triggers(&self) -> Result<Vec<TriggerSpec>> {
        each!(&self.engine, Engine, e => e.triggers())
    }

    fn add_commit_observer(
        &self,
        phase: TriggerPhase,
        observer: SharedObserver,
    ) -> Result<ObserverId> {
        each!(&self.engine, Engine, e => e.add_commit_observer(phase, observer))
    }

    fn remove_commit_observer(&self, id: ObserverId) -> Result<()> {
        each!(&self.engine, Engine, e => e.remove_commit_observer(id))
    }

    fn create_snapshot(&self) -> Result<SnapshotInfo> {
        each!(&self.engine, Engine, e => e.create_snapshot())
    }

    fn recovery_report(&self) -> Result<RecoveryReport> {
        each!(&self.engine, Engine, e => e.recovery_report())
    }

    fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        each!(&self.engine, Engine, e => e.snapshots())
    }

    fn lock_data_directory(&self) -> Result<LockChange> {
        each!(&self.engine, Engine, e => e.lock_data_directory())
    }

    fn unlock_data_directory(&self) -> Result<LockChange> {
        each!(&self.engine, Engine, e => e.unlock_data_directory())
    }

    fn data_directory_lease(&self) -> Result<DataDirectoryLease> {
        each!(&self.engine, Engine, e => e.data_directory_lease())
    }

    fn data_directory_lock_status(&self) -> Result<LockStatus> {
        each!(&self.engine, Engine, e => e.data_directory_lock_status())
    }
}

impl<'e> Transaction for Txn<'e> {
    type Vertices<'t>
        = Vertices<'t, 'e>
    where
        Self: 't;
    type Edges<'t>
        = Edges<'t, 'e>
    where
        Self: 't;

    fn isolation_level(&self) -> IsolationLevel {
        each!(self, Txn, t => t.isolation_level())
    }

    fn is_read_only(&self) -> bool {
        each!(self, Txn, t => t.is_read_only())
    }

    fn contains_vertex(&self, vertex: VertexId) -> Result<bool> {
        each!(self, Txn, t => t.contains_vertex(vertex))
    }

    fn vertex_labels(&self, vertex: VertexId) -> Result<Vec<Name>> {
        each!(self, Txn, t => t.vertex_labels(vertex))
    }

    fn has_label(&self, vertex: VertexId, label: &str) -> Result<bool> {
        each!(self, Txn, t => t.has_label(vertex, label))
    }

    fn for_each_label(&self, vertex: VertexId, f: impl FnMut(&str)) -> Result<()> {
        each!(self, Txn, t => t.for_each_label(vertex, f))
    }

    fn with_vertex_property<R>(
        &self,
        vertex: VertexId,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R> {
        each!(self, Txn, t => t.with_vertex_property(vertex, key, f))
    }

    fn vertex_property(&self, vertex: VertexId, key: &str) -> Result<Option<PropertyValue>> {
        each!(self, Txn, t => t.vertex_property(vertex, key))
    }

    fn vertex_properties(&self, vertex: VertexId) -> Result<PropertyMap> {
        each!(self, Txn, t => t.vertex_properties(vertex))
    }

    fn vertices(&self) -> Result<Vertices<'_, 'e>> {
        each_into!(self, Txn, Vertices, t => t.vertices())
    }

    fn vertices_with_label(&self, label: &str) -> Result<Vertices<'_, 'e>> {
        each_into!(self, Txn, Vertices, t => t.vertices_with_label(label))
    }

    fn vertices_with_properties(
        &self,
        label: &str,
        filters: &[(&str, PropertyBounds)],
    ) -> Result<Vertices<'_, 'e>> {
        each_into!(self, Txn, Vertices, t => t.vertices_with_properties(label, filters))
    }

    fn vertices_with_property(
        &self,
        label: &str,
        key: &str,
        bounds: &PropertyBounds,
    ) -> Result<Vertices<'_, 'e>> {
        each_into!(self, Txn, Vertices, t => t.vertices_with_property(label, key, bounds))
    }

    fn edges_with_type(
        &self,
        edge_type: &str,
        filter: Option<(&str, &PropertyBounds)>,
    ) -> Result<Edges<'_, 'e>> {
        each_into!(self, Txn, Edges, t => t.edges_with_type(edge_type, filter))
    }

    fn vertex_lookup_index(&self, label: &str, keys: &[&str]) -> Result<Option<IndexSpec>> {
        each!(self, Txn, t => t.vertex_lookup_index(label, keys))
    }

    fn edge_lookup_index(&self, edge_type: &str, key: Option<&str>) -> Result<Option<IndexSpec>> {
        each!(self, Txn, t => t.edge_lookup_index(edge_type, key))
    }

    fn edges(
        &self,
        vertex: VertexId,
        direction: Direction,
        edge_type: Option<&str>,
    ) -> Result<Edges<'_, 'e>> {
        each_into!(self, Txn, Edges, t => t.edges(vertex, direction, edge_type))
    }

    fn contains_edge(&self, edge: EdgeId) -> Result<bool> {
        each!(self, Txn, t => t.contains_edge(edge))
    }

    fn edge(&self, edge: EdgeId) -> Result<EdgeRecord> {
        each!(self, Txn, t => t.edge(edge))
    }

    fn with_edge<R>(&self, edge: EdgeId, f: impl FnOnce(EdgeRef<'_>) -> R) -> Result<R> {
        each!(self, Txn, t => t.with_edge(edge, f))
    }

    fn with_edge_property<R>(
        &self,
        edge: EdgeId,
        key: &str,
        f: impl FnOnce(Option<ValueRef<'_>>) -> R,
    ) -> Result<R> {
        each!(self, Txn, t => t.with_edge_property(edge, key, f))
    }

    fn edge_property(&self, edge: EdgeId, key: &str) -> Result<Option<PropertyValue>> {
        each!(self, Txn, t => t.edge_property(edge, key))
    }

    fn edge_properties(&self, edge: EdgeId) -> Result<PropertyMap> {
        each!(self, Txn, t => t.edge_properties(edge))
    }

    fn create_vertex(&mut self) -> Result<VertexId> {
        each!(self, Txn, t => t.create_vertex())
    }

    fn add_label(&mut self, vertex: VertexId, label: &str) -> Result<bool> {
        each!(self, Txn, t => t.add_label(vertex, label))
    }

    fn remove_label(&mut self, vertex: VertexId, label: &str) -> Result<bool> {
        each!(self, Txn, t => t.remove_label(vertex, label))
    }

    fn set_vertex_property(
        &mut self,
        vertex: VertexId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>> {
        each!(self, Txn, t => t.set_vertex_property(vertex, key, value))
    }

    fn delete_vertex(&mut self, vertex: VertexId, mode: DeleteMode) -> Result<()> {
        each!(self, Txn, t => t.delete_vertex(vertex, mode))
    }

    fn create_edge(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
    ) -> Result<EdgeId> {
        each!(self, Txn, t => t.create_edge(source, target, edge_type))
    }

    fn set_edge_property(
        &mut self,
        edge: EdgeId,
        key: &str,
        value: PropertyValue,
    ) -> Result<Option<PropertyValue>> {
        each!(self, Txn, t => t.set_edge_property(edge, key, value))
    }

    fn delete_edge(&mut self, edge: EdgeId) -> Result<()> {
        each!(self, Txn, t => t.delete_edge(edge))
    }

    fn commit(self) -> Result<CommitInfo> {
        each!(self, Txn, t => t.commit())
    }

    fn rollback(self) {
        each!(self, Txn, t => t.rollback())
    }

    fn create_vertex_with(
        &mut self,
        labels: &[&str],
        properties: &[(&str, PropertyValue)],
    ) -> Result<VertexId> {
        each!(self, Txn, t => t.create_vertex_with(labels, properties))
    }

    fn create_edge_with(
        &mut self,
        source: VertexId,
        target: VertexId,
        edge_type: &str,
        properties: &[(&str, PropertyValue)],
    ) -> Result<EdgeId> {
        each!(self, Txn, t => t.create_edge_with(source, target, edge_type, properties))
    }

    fn vertex_count(&self) -> Result<u64> {
        each!(self, Txn, t => t.vertex_count())
    }

    fn edge_count(&self) -> Result<u64> {
        each!(self, Txn, t => t.edge_count())
    }
}
