//! The on-disk backend's configuration.

use std::path::{Path, PathBuf};

use engine_api::SyncMode;

/// How an [`crate::OnDiskEngine`] is opened.
///
/// ```
/// use engine_api::SyncMode;
/// use engine_ondisk::Config;
/// let cfg = Config::new("/tmp/graph").sync_mode(SyncMode::Off).block_cache_bytes(64 << 20);
/// assert_eq!(cfg.sync(), SyncMode::Off);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    dir: PathBuf,
    sync_mode: SyncMode,
    snapshot_retention: usize,
    snapshot_on_exit: bool,
    block_cache_bytes: usize,
    write_buffer_bytes: usize,
    statistics: bool,
}

impl Config {
    /// A database in the data directory `dir` (created if missing), with the defaults
    /// of each setter.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Config {
            dir: dir.as_ref().to_path_buf(),
            sync_mode: SyncMode::EveryCommit,
            snapshot_retention: 3,
            snapshot_on_exit: false,
            block_cache_bytes: 256 << 20,
            write_buffer_bytes: 64 << 20,
            statistics: false,
        }
    }

    /// When a commit reaches stable storage. Default [`SyncMode::EveryCommit`]: the
    /// commit is in RocksDB's WAL and fdatasync'ed before `commit` returns; RocksDB
    /// lets concurrent committers share one write and one sync (its write-thread
    /// group). [`SyncMode::EveryNCommits`] syncs the WAL after every n-th commit and on
    /// close; [`SyncMode::Off`] never syncs (a process crash loses nothing, because
    /// every commit is written to the WAL before it returns; an OS crash or power loss
    /// may lose any commit since the last sync).
    #[must_use]
    pub fn sync_mode(mut self, mode: SyncMode) -> Self {
        self.sync_mode = mode;
        self
    }

    /// How many snapshot exports `create_snapshot` keeps in `snapshots/`. Default 3.
    /// Older ones are deleted after a new one is complete (deferred while the data
    /// directory is locked). 0 is treated as 1: the newest is always kept.
    #[must_use]
    pub fn snapshot_retention(mut self, count: usize) -> Self {
        self.snapshot_retention = count;
        self
    }

    /// Whether `close` exports a snapshot. Default off: the data is on disk already,
    /// and an export reads the whole database.
    #[must_use]
    pub fn snapshot_on_exit(mut self, enabled: bool) -> Self {
        self.snapshot_on_exit = enabled;
        self
    }

    /// Size of RocksDB's block cache, shared by every column family. Default 256 MiB;
    /// more keeps more of a large graph in memory for reads.
    #[must_use]
    pub fn block_cache_bytes(mut self, bytes: usize) -> Self {
        self.block_cache_bytes = bytes;
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

    /// Whether statistics are counted.
    pub fn statistics_enabled(&self) -> bool {
        self.statistics
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// The sync mode.
    pub fn sync(&self) -> SyncMode {
        self.sync_mode
    }

    /// How many snapshots are kept (at least 1).
    pub fn snapshot_retention_count(&self) -> usize {
        self.snapshot_retention.max(1)
    }

    /// Whether close exports a snapshot.
    pub fn snapshots_on_exit(&self) -> bool {
        self.snapshot_on_exit
    }

    /// The block cache size.
    pub fn block_cache(&self) -> usize {
        self.block_cache_bytes
    }

    /// The memtable size.
    pub fn write_buffer(&self) -> usize {
        self.write_buffer_bytes
    }
}
