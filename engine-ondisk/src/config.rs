//! The on-disk backend's configuration.

use std::path::{Path, PathBuf};

use engine_api::{DurabilityConfig, Error, Result};

/// How an [`crate::OnDiskEngine`] is opened.
///
/// The durability settings are the shared [`DurabilityConfig`] every backend takes
/// (see [`Config::durability`] for which of them apply to this backend); the rest are
/// RocksDB's. The data directory is required, so it is [`Config::new`]'s argument.
///
/// Every setting has a builder method named for it (its docs give the default and
/// the trade-off) and a getter `get_<setting>`; [`Config::check`] refuses settings
/// this mode cannot honour, and opening calls it.
///
/// ```
/// use engine_api::{DurabilityConfig, SyncMode};
/// use engine_ondisk::Config;
/// let cfg = Config::new("/tmp/graph")
///     .durability(Config::default_durability().sync_mode(SyncMode::Off))
///     .block_cache_bytes(64 << 20);
/// assert_eq!(cfg.get_durability().get_sync_mode(), SyncMode::Off);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    dir: PathBuf,
    durability: DurabilityConfig,
    block_cache_bytes: usize,
    write_buffer_bytes: usize,
    statistics: bool,
    progress: Option<std::sync::Arc<crate::BuildProgress>>,
    known_at_open: u64,
    begin_midpoint: Option<Hook>,
}

/// A hook the engine runs at one point of its work, for tests of what happens there.
#[derive(Clone)]
struct Hook(std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

impl Config {
    /// A database in the data directory `dir` (created if missing), with the defaults
    /// of each setter.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Config {
            dir: dir.as_ref().to_path_buf(),
            durability: Self::default_durability(),
            block_cache_bytes: 256 << 20,
            write_buffer_bytes: 64 << 20,
            statistics: false,
            progress: None,
            known_at_open: 4 << 20,
            begin_midpoint: None,
        }
    }

    /// This backend's default durability: [`DurabilityConfig::default`] without
    /// periodic snapshots and without a snapshot on exit (the data is on disk already,
    /// and a snapshot is an export that reads the whole database), and 4 MiB log files
    /// (RocksDB's log is deleted file by file once its data is flushed; smaller files
    /// go sooner).
    pub fn default_durability() -> DurabilityConfig {
        DurabilityConfig::default()
            .snapshot_interval(None)
            .snapshot_on_exit(false)
            .wal_segment_bytes(4 << 20)
    }

    /// The durability settings. Default [`Config::default_durability`]. What they mean
    /// here:
    /// - `sync_mode`: default [`engine_api::SyncMode::EveryCommit`], the commit is in
    ///   RocksDB's WAL and fdatasync'ed before `commit` returns; RocksDB lets
    ///   concurrent committers share one write and one sync (its write-thread group).
    ///   `EveryNCommits(n)` syncs the WAL after every n-th commit and on close; `Off`
    ///   never syncs (a process crash loses nothing, because every commit is written
    ///   to the WAL before it returns; an OS crash or power loss may lose any commit
    ///   since the last sync).
    /// - `snapshot_retention`: how many snapshot exports `create_snapshot` keeps
    ///   (older ones are deleted once a new one is complete, deferred while the data
    ///   directory is locked; 0 is treated as 1).
    /// - `snapshot_on_exit`: whether `close` exports a snapshot.
    /// - `wal_segment_bytes`: the size at which RocksDB starts a new log file.
    ///
    /// Settings this backend cannot honour make `open` fail with
    /// [`engine_api::ErrorKind::Unsupported`] rather than be ignored: a WAL turned off
    /// (RocksDB's log is how commits survive), periodic snapshots (the data is on disk;
    /// export snapshots with `create_snapshot`), and recovery off at start-up.
    #[must_use]
    pub fn durability(mut self, durability: DurabilityConfig) -> Self {
        self.durability = durability;
        self
    }

    /// Size of RocksDB's block cache, shared by every column family. Default 256 MiB;
    /// more keeps more of a large graph in memory for reads.
    #[must_use]
    pub fn block_cache_bytes(mut self, bytes: usize) -> Self {
        self.block_cache_bytes = bytes;
        self
    }

    /// How many vertices the open reads into its table of vertices known to exist
    /// (the table that spares a new edge the point read of each endpoint). Default
    /// 4 Mi (4,194,304): the open scans the keys of the vertices family, about 0.15 s
    /// per million vertices from a warm page cache, and the table takes some 40
    /// bytes per 64 vertex ids. With 0 the open reads none, and each endpoint is read
    /// from RocksDB the first time a new edge touches it (a point read through every
    /// level; the table then remembers it). Vertices past the limit are treated the
    /// same way.
    #[must_use]
    pub fn known_vertices_at_open(mut self, vertices: u64) -> Self {
        self.known_at_open = vertices;
        self
    }

    /// Size of one memtable of the vertex and edge column families. Default 64 MiB;
    /// larger memtables make bulk imports faster and recovery of an unflushed WAL
    /// longer.
    #[must_use]
    pub fn write_buffer_bytes(mut self, bytes: usize) -> Self {
        self.write_buffer_bytes = bytes;
        self
    }

    /// Whether RocksDB counts its operations (tickers only: no histograms, no timers),
    /// so [`crate::OnDiskEngine::wal_syncs`] can report the WAL syncs. Default off:
    /// every counted operation pays an atomic increment.
    #[must_use]
    pub fn statistics(mut self, enabled: bool) -> Self {
        self.statistics = enabled;
        self
    }

    /// A counter the bulk path advances while `open` restores a snapshot into a new
    /// database (its total is the snapshot's object count) or `create_from_image`
    /// runs (total 0: unknown), for another thread to show progress from. Default
    /// none. The count is updated every few thousand objects.
    #[must_use]
    pub fn build_progress(mut self, progress: std::sync::Arc<crate::BuildProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    pub(crate) fn progress(&self) -> Option<&std::sync::Arc<crate::BuildProgress>> {
        self.progress.as_ref()
    }

    /// Runs `hook` in every `begin` after it has read the schema catalog and before
    /// it takes its RocksDB snapshot, to test what a schema change does there (an
    /// index dropped in between). Default none; set, it costs a call per begin.
    #[must_use]
    pub fn begin_midpoint(mut self, hook: std::sync::Arc<dyn Fn() + Send + Sync>) -> Self {
        self.begin_midpoint = Some(Hook(hook));
        self
    }

    pub(crate) fn run_begin_midpoint(&self) {
        if let Some(Hook(hook)) = &self.begin_midpoint {
            hook();
        }
    }

    /// Whether statistics are counted.
    pub fn get_statistics(&self) -> bool {
        self.statistics
    }

    /// The data directory.
    pub fn get_data_directory(&self) -> &Path {
        &self.dir
    }

    /// The durability settings.
    pub fn get_durability(&self) -> &DurabilityConfig {
        &self.durability
    }

    /// Refuses durability settings this backend cannot honour (`Unsupported`; see
    /// [`Config::durability`]), and what [`DurabilityConfig::check`] refuses.
    /// Opening calls it.
    pub fn check(&self) -> Result<()> {
        let d = &self.durability;
        let refuse = |what: &str| {
            Err(Error::new(
                engine_api::ErrorKind::Unsupported,
                format!("engine-ondisk does not support {what}"),
            ))
        };
        // Before the shared checks, which refuse a point with a WAL as a setting
        // this mode could correct; this mode cannot honour one at all.
        if let Some(point) = d.get_recover_until() {
            return refuse(&format!(
                "recovering to an earlier point ({point}): RocksDB replays its whole log, and Quiver does not map RocksDB's sequence numbers to its commits, so ON_DISK_TRANSACTIONAL can only restore a backup's state (restore the backup taken closest before the point, or keep an IN_MEMORY_TRANSACTIONAL copy for point-in-time restores)"
            ));
        }
        if d.get_wal_archive().is_some() {
            return refuse(
                "a WAL archive: RocksDB keeps its own log, and Quiver does not map RocksDB's sequence numbers to its commits, so ON_DISK_TRANSACTIONAL cannot restore to a point (keep backups taken with `quiver backup` instead)",
            );
        }
        d.check()?;
        if !d.get_wal() {
            return refuse("turning the WAL off (RocksDB's log is how commits survive a crash)");
        }
        if let Some(every) = d.get_snapshot_interval() {
            return refuse(&format!(
                "periodic snapshots (every {every:?}): the data is on disk; call create_snapshot for an export, or set snapshot_interval(None)"
            ));
        }
        if !d.get_recover_on_startup() {
            return refuse("opening without recovery (RocksDB always recovers its log)");
        }
        Ok(())
    }

    /// The block cache size.
    pub fn get_block_cache_bytes(&self) -> usize {
        self.block_cache_bytes
    }

    /// The memtable size.
    pub fn get_write_buffer_bytes(&self) -> usize {
        self.write_buffer_bytes
    }

    /// How many vertices the open reads into its table of known vertices (see
    /// [`Config::known_vertices_at_open`]).
    pub fn get_known_vertices_at_open(&self) -> u64 {
        self.known_at_open
    }
}
