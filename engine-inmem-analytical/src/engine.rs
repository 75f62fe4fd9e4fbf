//! The engine: `begin`, statistics, and the `StorageEngine` contract over the shared
//! state (module `inner`).

use engine_api::{
    Capabilities, ConstraintSpec, DataDirectoryLease, DatabaseId, EngineStats, Error, ImageEngine,
    IndexInfo, IndexSpec, LockChange, LockStatus, ObserverId, RecoveryReport, Result,
    SharedObserver, SnapshotInfo, SnapshotSink, StorageEngine, TriggerPhase, TriggerSpec,
    TxnOptions,
};

use crate::config::Config;
use crate::inner::Inner;
use crate::pause::BeginWaits;
use crate::txn::AnalyticalTxn;
use durability::Durable;

/// Quiver's IN_MEMORY_ANALYTICAL engine (see the crate docs for what it gives up).
pub struct AnalyticalEngine {
    pub(crate) inner: Inner,
    snapshot_on_close: bool,
}

impl std::fmt::Debug for AnalyticalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticalEngine")
            .field("vertices", &self.inner.graph.live_vertices())
            .field("edges", &self.inner.graph.live_edges())
            .field(
                "data_directory",
                &self
                    .inner
                    .durable
                    .as_ref()
                    .map(|d| d.dir().root().to_path_buf()),
            )
            .finish_non_exhaustive()
    }
}

impl AnalyticalEngine {
    /// Opens an engine: memory-only, or on a data directory, loading its newest
    /// snapshot that verifies (`recovery_report` says which, and which newer ones it
    /// passed over as damaged).
    ///
    /// Errors: `Unsupported` for durability settings this mode cannot honour
    /// ([`Config::check`]) and for a snapshot that holds constraints (this mode has
    /// none; open it with engine-inmem-txn and drop them first) or a WAL holding
    /// commits after the newest snapshot (open it with engine-inmem-txn, which replays
    /// them, and write a snapshot); `Locked` while another engine has the directory;
    /// `Corrupt` when no snapshot verifies, naming each, and when a damaged snapshot
    /// holds commits after the newest one that verifies (with no WAL they would be
    /// lost: the message names them; moving the damaged file out of `snapshots/`
    /// accepts the older state).
    pub fn open(config: Config) -> Result<Self> {
        config.check()?;
        let inner = match config.get_data_directory() {
            Some(dir) => crate::recovery::recover(&config, dir)?,
            None => Inner::new(&config),
        };
        Ok(AnalyticalEngine {
            inner,
            snapshot_on_close: config.get_data_directory().is_some()
                && config.get_durability().get_snapshot_on_exit(),
        })
    }

    /// How long `begin` waited for snapshots since the engine opened.
    pub fn begin_waits(&self) -> BeginWaits {
        self.inner.pause.waits()
    }
}

/// Imports are memory-only (`Config::data_directory` unset): a database with a
/// data directory starts from a snapshot in it instead.
impl ImageEngine for AnalyticalEngine {
    type Config = Config;

    /// Builds a memory-only engine from a database image: `produce` hands the image
    /// to the sink it is given (for example another engine's `export`, or
    /// `durability::snapshot::read_snapshot`) and returns the image's commit
    /// timestamp. Ids, names, indexes and triggers are kept as the image has them.
    /// This is how a database switches into this mode without a file.
    ///
    /// Errors: `InvalidInput` if `config` names a data directory (open that with
    /// [`AnalyticalEngine::open`]); `Unsupported` for an image holding constraints;
    /// whatever `produce` returns; `Corrupt` for an image that contradicts itself.
    fn import(
        config: Config,
        produce: impl FnOnce(&mut dyn SnapshotSink) -> Result<u64>,
    ) -> Result<Self> {
        config.check()?;
        Durable::refuse_import_into(config.get_data_directory())?;
        let (inner, _) = crate::recovery::load_image(&config, "the imported image", produce)?;
        Ok(AnalyticalEngine {
            inner,
            snapshot_on_close: false,
        })
    }

    /// Hands the whole database to `sink` as an image in snapshot order (names,
    /// schema, id counters, vertices, edges; ids as they are) and returns its commit
    /// timestamp. Like a snapshot it holds new transactions back and waits for
    /// running ones (so it fails with `Blocked` while one runs longer than
    /// `Config::begin_wait`).
    fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64> {
        crate::snapshot::export(&self.inner, sink)
    }

    /// The database's id, which every file in its data directory carries; `None`
    /// for a memory-only engine.
    fn database_id(&self) -> Option<DatabaseId> {
        self.inner.durable.as_ref().map(Durable::database)
    }

    /// Closes without the snapshot `close` writes when snapshots on exit are on
    /// (for a caller that has just written one).
    fn close_without_snapshot(self) -> Result<()> {
        Ok(())
    }
}

impl StorageEngine for AnalyticalEngine {
    type Txn<'e> = AnalyticalTxn<'e>;

    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn begin(&self, options: TxnOptions) -> Result<AnalyticalTxn<'_>> {
        if let Some(level) = options.requested_isolation() {
            return Err(Error::unsupported(&format!(
                "isolation level {level:?} in IN_MEMORY_ANALYTICAL mode (it gives no isolation: every write is visible at once)"
            )));
        }
        let pass = self.inner.pause.enter()?;
        Ok(AnalyticalTxn::new(
            &self.inner,
            options.is_read_only(),
            pass,
        ))
    }

    fn stats(&self) -> Result<EngineStats> {
        Ok(EngineStats {
            vertices: self.inner.graph.live_vertices(),
            edges: self.inner.graph.live_edges(),
            disk_bytes: match &self.inner.durable {
                Some(d) => Some(d.disk_bytes()?),
                None => None,
            },
        })
    }

    fn close(self) -> Result<()> {
        if self.snapshot_on_close {
            crate::snapshot::create(&self.inner)?;
        }
        Ok(())
    }

    fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        let i = &self.inner;
        i.change_schema(|| i.schema.create_index(&i.graph, spec))
    }

    fn drop_index(&self, spec: &IndexSpec) -> Result<()> {
        self.inner
            .change_schema(|| self.inner.schema.drop_index(spec))
    }

    fn indexes(&self) -> Result<Vec<IndexInfo>> {
        Ok(self.inner.schema.index_infos(&self.inner.graph))
    }

    fn create_constraint(&self, spec: &ConstraintSpec) -> Result<()> {
        spec.validate()?;
        Err(Error::unsupported(
            "constraints in IN_MEMORY_ANALYTICAL mode (without rollback a violating write could not be undone)",
        ))
    }

    fn drop_constraint(&self, _spec: &ConstraintSpec) -> Result<()> {
        Err(Error::unsupported(
            "constraints in IN_MEMORY_ANALYTICAL mode",
        ))
    }

    fn constraints(&self) -> Result<Vec<ConstraintSpec>> {
        Err(Error::unsupported(
            "constraints in IN_MEMORY_ANALYTICAL mode",
        ))
    }

    fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        self.inner
            .change_schema(|| self.inner.schema.create_trigger(spec))
    }

    fn drop_trigger(&self, name: &str) -> Result<()> {
        self.inner
            .change_schema(|| self.inner.schema.drop_trigger(name))
    }

    fn triggers(&self) -> Result<Vec<TriggerSpec>> {
        Ok(self.inner.schema.triggers())
    }

    fn add_commit_observer(
        &self,
        phase: TriggerPhase,
        observer: SharedObserver,
    ) -> Result<ObserverId> {
        Ok(self.inner.observers.add(phase, observer))
    }

    fn remove_commit_observer(&self, id: ObserverId) -> Result<()> {
        self.inner.observers.remove(id)
    }

    fn create_snapshot(&self) -> Result<SnapshotInfo> {
        crate::snapshot::create(&self.inner)
    }

    fn recovery_report(&self) -> Result<RecoveryReport> {
        Ok(self.inner.durable()?.recovery().clone())
    }

    fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        self.inner.durable()?.snapshots()
    }

    fn lock_data_directory(&self) -> Result<LockChange> {
        Ok(self.inner.durable()?.lock())
    }

    fn unlock_data_directory(&self) -> Result<LockChange> {
        self.inner.durable()?.unlock()
    }

    fn data_directory_lease(&self) -> Result<DataDirectoryLease> {
        Ok(self.inner.durable()?.lease())
    }

    fn data_directory_lock_status(&self) -> Result<LockStatus> {
        Ok(self.inner.durable()?.lock_status())
    }
}
