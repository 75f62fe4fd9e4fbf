//! Configuration of the in-memory transactional engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use durability::{FileLayer, StdFiles};
use engine_api::{Capabilities, DurabilityConfig, IsolationLevel, StorageMode};

/// Progress of recovery on open, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryProgress {
    /// A snapshot was loaded.
    SnapshotLoaded {
        /// Its commit timestamp.
        commit_ts: u64,
        /// Vertices in it.
        vertices: u64,
        /// Edges in it.
        edges: u64,
    },
    /// A WAL segment was replayed.
    SegmentReplayed {
        /// Its sequence number.
        seq: u64,
        /// Records applied from it.
        records: u64,
    },
    /// Recovery finished.
    Done {
        /// The last commit timestamp recovered.
        commit_ts: u64,
    },
}

/// A callback receiving recovery progress.
pub type ProgressCallback = Arc<dyn Fn(RecoveryProgress) + Send + Sync>;

/// How an [`crate::InMemoryEngine`] runs.
///
/// Without a data directory the engine is memory-only: nothing survives the process.
/// With one, commits go to a write-ahead log, snapshots are written periodically, on
/// request and on close, and opening recovers from the newest snapshot plus the log.
///
/// Every setting has a builder method named for it (its docs give the default and
/// the trade-off) and a getter `get_<setting>`; [`Config::check`] refuses settings
/// this mode cannot honour, and opening calls it.
///
/// ```
/// use std::time::Duration;
/// use engine_api::{DurabilityConfig, SyncMode};
/// use engine_inmem_txn::Config;
/// let dir = std::env::temp_dir().join("quiver-doc-config");
/// let config = Config::new()
///     .data_directory(&dir)
///     .durability(DurabilityConfig::default().sync_mode(SyncMode::EveryCommit))
///     .gc_interval(Some(Duration::from_millis(200)));
/// assert_eq!(config.get_data_directory(), Some(dir.as_path()));
/// ```
#[derive(Clone)]
pub struct Config {
    gc_interval: Option<Duration>,
    data_directory: Option<PathBuf>,
    durability: DurabilityConfig,
    progress: Option<ProgressCallback>,
    files: Arc<dyn FileLayer>,
    snapshot_midpoint: Option<Arc<dyn Fn() + Send + Sync>>,
    recovery_threads: Option<usize>,
    snapshot_threads: Option<usize>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("gc_interval", &self.gc_interval)
            .field("data_directory", &self.data_directory)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

fn machine_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gc_interval: Some(Duration::from_secs(1)),
            data_directory: None,
            durability: DurabilityConfig::default(),
            progress: None,
            files: Arc::new(StdFiles),
            snapshot_midpoint: None,
            recovery_threads: None,
            snapshot_threads: None,
        }
    }
}

impl Config {
    /// The defaults: memory-only, background collection every second.
    pub fn new() -> Self {
        Self::default()
    }

    /// This mode's default durability, [`DurabilityConfig::default`]: a WAL with a
    /// sync per commit in 20 MiB segments, a snapshot every 300 s and on close, 3
    /// snapshots kept, recovery on open. This mode honours every durability setting.
    pub fn default_durability() -> DurabilityConfig {
        DurabilityConfig::default()
    }

    /// Refuses settings this mode cannot run with: the ones
    /// [`DurabilityConfig::check`] refuses (`InvalidInput`). Opening calls it.
    pub fn check(&self) -> engine_api::Result<()> {
        self.durability.check()
    }

    /// How often a background thread collects versions no transaction can see any
    /// more; `None` for no background thread. Default 1 s.
    ///
    /// Every commit also collects what it can without waiting, so a workload without
    /// long-running readers keeps memory flat even with no background thread; the
    /// thread catches up after long readers end. Shorter intervals return memory
    /// sooner at the cost of waking more often.
    ///
    /// With the thread, a commit that wrote 4096 objects or more (a bulk load's
    /// batch) hands its collection to it at once instead of collecting on the
    /// committing thread, which goes on with its next batch while the collector
    /// works on another core (an import of records in batches of 10 000 ran about
    /// 1.5x faster). Up to two such commits wait for it; a commit that finds it
    /// further behind collects its own. Without the thread, committing threads
    /// collect their own commits (at once for a commit of 64 objects or more, else
    /// every eighth commit of a thread, so a thread that stops leaves up to seven
    /// small commits' old versions until another thread's sweep or
    /// `collect_garbage`).
    #[must_use]
    pub fn gc_interval(mut self, interval: Option<Duration>) -> Self {
        self.gc_interval = interval;
        self
    }

    /// Makes the engine durable in `dir` (created if missing). Default: none,
    /// memory-only. Opening fails with `Locked` while another process (or engine) has
    /// the directory open, and with `Corrupt` if its files cannot be recovered.
    #[must_use]
    pub fn data_directory(mut self, dir: impl AsRef<Path>) -> Self {
        self.data_directory = Some(dir.as_ref().to_path_buf());
        self
    }

    /// WAL, snapshot and recovery settings (used with a data directory). Default:
    /// [`Config::default_durability`] — WAL on with a sync per commit, a snapshot every
    /// 300 s and on close, 3 snapshots kept, recovery on.
    #[must_use]
    pub fn durability(mut self, durability: DurabilityConfig) -> Self {
        self.durability = durability;
        self
    }

    /// Threads recovery (and an import) loads a snapshot's edges with (each links
    /// the edges of its own vertices, while one thread reads the file), and rebuilds
    /// indexes and constraints' key sets with afterwards (each takes a range of
    /// vertex ids). Default: the machine's available parallelism. One thread uses
    /// less memory at once (index builders hold their entries until they are merged);
    /// more load and rebuild faster on large graphs (the report measures both).
    #[must_use]
    pub fn recovery_threads(mut self, threads: usize) -> Self {
        self.recovery_threads = Some(threads.max(1));
        self
    }

    /// The threads recovery loads edges and rebuilds indexes with.
    pub fn get_recovery_threads(&self) -> usize {
        self.recovery_threads.unwrap_or_else(machine_threads)
    }

    /// Threads that encode a snapshot's vertex and edge blocks (each takes id ranges
    /// in turn; the file keeps id order), beside the thread that writes the file, so
    /// encoding overlaps writing even with one. Default: the machine's available
    /// parallelism. A snapshot then briefly uses every core, which transactions
    /// running at the same time feel; one thread leaves them more.
    #[must_use]
    pub fn snapshot_threads(mut self, threads: usize) -> Self {
        self.snapshot_threads = Some(threads.max(1));
        self
    }

    /// The threads a snapshot is encoded with.
    pub fn get_snapshot_threads(&self) -> usize {
        self.snapshot_threads.unwrap_or_else(machine_threads)
    }

    /// Receives recovery progress while opening (it is also logged with `tracing`).
    #[must_use]
    pub fn on_recovery_progress(mut self, callback: ProgressCallback) -> Self {
        self.progress = Some(callback);
        self
    }

    /// Replaces the file layer the WAL and snapshots write through, to inject
    /// failures in tests.
    #[cfg(any(test, feature = "testing"))]
    #[must_use]
    pub fn file_layer(mut self, files: Arc<dyn FileLayer>) -> Self {
        self.files = files;
        self
    }

    /// Runs `hook` in the middle of every snapshot (after the vertices, before the
    /// edges), to test what happens while a snapshot is being written.
    #[cfg(any(test, feature = "testing"))]
    #[must_use]
    pub fn snapshot_midpoint(mut self, hook: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.snapshot_midpoint = Some(hook);
        self
    }

    /// The background collection interval.
    pub fn get_gc_interval(&self) -> Option<Duration> {
        self.gc_interval
    }

    /// The data directory, if durable.
    pub fn get_data_directory(&self) -> Option<&Path> {
        self.data_directory.as_deref()
    }

    /// The durability settings.
    pub fn get_durability(&self) -> &DurabilityConfig {
        &self.durability
    }

    pub(crate) fn progress(&self) -> Option<&ProgressCallback> {
        self.progress.as_ref()
    }

    pub(crate) fn files(&self) -> Arc<dyn FileLayer> {
        self.files.clone()
    }

    pub(crate) fn midpoint(&self) -> Option<Arc<dyn Fn() + Send + Sync>> {
        self.snapshot_midpoint.clone()
    }
}

/// What an engine opened with `config` offers.
pub(crate) fn capabilities(config: &Config) -> Capabilities {
    let durable = config.get_data_directory().is_some();
    let d = config.get_durability();
    let mut c = Capabilities::none(StorageMode::InMemoryTransactional);
    c.isolation_levels = vec![
        IsolationLevel::ReadUncommitted,
        IsolationLevel::ReadCommitted,
        IsolationLevel::SnapshotIsolation,
    ];
    c.default_isolation = IsolationLevel::SnapshotIsolation;
    c.rollback = true;
    c.write_conflict_detection = true;
    c.wal = durable && d.get_wal();
    c.periodic_snapshots = durable && d.get_snapshot_interval().is_some();
    c.manual_snapshots = durable;
    c.snapshot_blocks_new_transactions = false;
    c.data_on_disk = false;
    c.persistent = durable;
    c.data_directory_lock = durable;
    c.indexes = true;
    c.constraints = true;
    c.triggers = true;
    c
}
