//! Configuration of the in-memory analytical engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use durability::{FileLayer, StdFiles};
use engine_api::{
    Capabilities, DurabilityConfig, Error, IsolationLevel, Result, StorageMode, SyncMode,
};

/// How an [`crate::AnalyticalEngine`] runs.
///
/// Without a data directory the engine is memory-only. With one, it writes snapshots
/// on request ([`engine_api::StorageEngine::create_snapshot`]) and, by default, on
/// close, and opening loads the newest snapshot that verifies. There is no log:
/// whatever was written after the newest snapshot is lost in a crash.
///
/// Every setting has a builder method named for it (its docs give the default and
/// the trade-off) and a getter `get_<setting>`; [`Config::check`] refuses settings
/// this mode cannot honour, and opening calls it.
///
/// ```
/// use std::time::Duration;
/// use engine_inmem_analytical::Config;
/// let dir = std::env::temp_dir().join("quiver-doc-analytical-config");
/// let config = Config::new()
///     .data_directory(&dir)
///     .durability(Config::default_durability().snapshot_retention(5))
///     .begin_wait(Duration::from_secs(2));
/// assert_eq!(config.get_data_directory(), Some(dir.as_path()));
/// assert!(config.check().is_ok());
/// ```
#[derive(Clone)]
pub struct Config {
    data_directory: Option<PathBuf>,
    durability: DurabilityConfig,
    begin_wait: Duration,
    snapshot_midpoint: Option<Arc<dyn Fn() + Send + Sync>>,
    snapshot_threads: Option<usize>,
    files: Arc<dyn FileLayer>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_directory", &self.data_directory)
            .field("durability", &self.durability)
            .field("begin_wait", &self.begin_wait)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_directory: None,
            durability: Self::default_durability(),
            begin_wait: Duration::from_secs(30),
            snapshot_midpoint: None,
            snapshot_threads: None,
            files: Arc::new(StdFiles),
        }
    }
}

impl Config {
    /// The defaults: memory-only; `begin` waits up to 30 s for a running snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// The durability settings this mode honours by default: no WAL, no periodic
    /// snapshots, a snapshot on close, 3 snapshots kept, recovery on open.
    pub fn default_durability() -> DurabilityConfig {
        DurabilityConfig::default()
            .wal(false)
            .sync_mode(SyncMode::Off)
            .snapshot_interval(None)
    }

    /// Keeps snapshots in `dir` (created if missing). Default: none, memory-only.
    /// Opening fails with `Locked` while another engine has the directory open, and
    /// with `Corrupt` if no snapshot in it verifies (naming each one).
    #[must_use]
    pub fn data_directory(mut self, dir: impl AsRef<Path>) -> Self {
        self.data_directory = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Snapshot retention, snapshot on close and recovery on open (used with a data
    /// directory). Default: [`Config::default_durability`]. A WAL or periodic
    /// snapshots are refused by [`Config::check`] (`Unsupported`): this mode has
    /// neither, and ignoring the request would promise durability it does not give.
    #[must_use]
    pub fn durability(mut self, durability: DurabilityConfig) -> Self {
        self.durability = durability;
        self
    }

    /// How long `begin` waits while a snapshot is being written before it gives up
    /// with `Blocked`; the same bound applies to a snapshot waiting for running
    /// transactions to end. Default 30 s. Shorter bounds fail sooner under a large
    /// snapshot; longer ones let a caller hang that long.
    #[must_use]
    pub fn begin_wait(mut self, wait: Duration) -> Self {
        self.begin_wait = wait;
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

    /// Replaces the file layer snapshots are written through, to inject failures in
    /// tests.
    #[cfg(any(test, feature = "testing"))]
    #[must_use]
    pub fn file_layer(mut self, files: Arc<dyn FileLayer>) -> Self {
        self.files = files;
        self
    }

    /// Threads that encode a snapshot's vertex and edge blocks (id ranges in turn; the
    /// file keeps id order; the file is written by one more, so encoding overlaps
    /// writing) and that link a loaded snapshot's edges into adjacency
    /// (each owns every n-th range of vertices, while one thread reads the file).
    /// Default: the machine's available parallelism. One thread uses less memory at
    /// once and leaves the other cores alone.
    #[must_use]
    pub fn snapshot_threads(mut self, threads: usize) -> Self {
        self.snapshot_threads = Some(threads.max(1));
        self
    }

    /// The threads snapshots are written and loaded with.
    pub fn get_snapshot_threads(&self) -> usize {
        self.snapshot_threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// The data directory, if any.
    pub fn get_data_directory(&self) -> Option<&Path> {
        self.data_directory.as_deref()
    }

    /// The durability settings.
    pub fn get_durability(&self) -> &DurabilityConfig {
        &self.durability
    }

    /// The bound on waits in `begin` and in a snapshot.
    pub fn get_begin_wait(&self) -> Duration {
        self.begin_wait
    }

    /// Refuses settings this mode cannot honour: a WAL or periodic snapshots
    /// (`Unsupported`), and what [`DurabilityConfig::check`] refuses. Opening and
    /// importing call it.
    pub fn check(&self) -> Result<()> {
        // Before the shared checks, which refuse a point with a WAL as a setting
        // this mode could correct; this mode cannot honour one at all.
        if let Some(point) = self.durability.get_recover_until() {
            return Err(Error::new(
                engine_api::ErrorKind::Unsupported,
                format!(
                    "IN_MEMORY_ANALYTICAL mode cannot recover to {point}: it keeps no WAL, so the only states it can recover are its snapshots' (restore the backup or snapshot taken at the point you want)"
                ),
            ));
        }
        if self.durability.get_wal_archive().is_some() {
            return Err(Error::unsupported(
                "a WAL archive in IN_MEMORY_ANALYTICAL mode: it keeps no WAL, so no point between its snapshots can be restored (keep backups taken with `quiver backup` instead)",
            ));
        }
        self.durability.check()?;
        if self.durability.get_wal() {
            return Err(Error::unsupported(
                "a WAL in IN_MEMORY_ANALYTICAL mode (use Config::default_durability(), or engine-inmem-txn for a logged database)",
            ));
        }
        if self.durability.get_snapshot_interval().is_some() {
            return Err(Error::unsupported(
                "periodic snapshots in IN_MEMORY_ANALYTICAL mode (call create_snapshot instead)",
            ));
        }
        Ok(())
    }

    pub(crate) fn midpoint(&self) -> Option<Arc<dyn Fn() + Send + Sync>> {
        self.snapshot_midpoint.clone()
    }

    pub(crate) fn files(&self) -> Arc<dyn FileLayer> {
        self.files.clone()
    }
}

/// What an engine opened with a data directory (`persistent`) or without offers.
pub(crate) fn capabilities(persistent: bool) -> Capabilities {
    let mut c = Capabilities::none(StorageMode::InMemoryAnalytical);
    c.isolation_levels = Vec::new();
    c.default_isolation = IsolationLevel::ReadUncommitted;
    c.rollback = false;
    c.write_conflict_detection = false;
    c.wal = false;
    c.periodic_snapshots = false;
    c.manual_snapshots = persistent;
    c.snapshot_blocks_new_transactions = persistent;
    c.data_on_disk = false;
    c.persistent = persistent;
    c.data_directory_lock = persistent;
    c.indexes = true;
    c.constraints = false;
    c.triggers = true;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wal_or_periodic_snapshots_are_refused() {
        assert!(Config::new().check().is_ok());
        let wal = Config::new().durability(DurabilityConfig::default());
        assert_eq!(
            wal.check().map_err(|e| e.kind()),
            Err(engine_api::ErrorKind::Unsupported)
        );
        let periodic = Config::new().durability(
            Config::default_durability().snapshot_interval(Some(Duration::from_secs(1))),
        );
        assert!(periodic.check().is_err());
    }
}
