//! Configuration types shared by the backends that write durability files.

use std::time::Duration;

/// When a committed transaction reaches stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncMode {
    /// `commit` returns after the commit record is written and fdatasync'ed.
    /// Survives a process crash, an OS crash and power loss. Concurrent committers
    /// share one write and one sync (group commit).
    EveryCommit,
    /// The log is synced after every `n` commits (and on close). Survives a process
    /// crash; an OS crash or power loss may lose up to `n - 1` acknowledged commits.
    EveryNCommits(u32),
    /// The log is written but never synced by us (the OS flushes it when it likes).
    /// Survives a process crash; an OS crash or power loss may lose any commit since
    /// the last snapshot.
    Off,
}

/// The smallest WAL segment size [`DurabilityConfig::check`] accepts.
pub const MIN_SEGMENT_BYTES: u64 = 4096;

/// Durability settings of a backend that writes a WAL and snapshots. Defaults mirror
/// the well-known in-memory graph database's.
///
/// ```
/// use engine_api::{DurabilityConfig, SyncMode};
/// let cfg = DurabilityConfig::default().sync_mode(SyncMode::Off).snapshot_retention(5);
/// assert_eq!(cfg.get_snapshot_retention(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurabilityConfig {
    sync_mode: SyncMode,
    wal_enabled: bool,
    wal_segment_bytes: u64,
    snapshot_interval: Option<Duration>,
    snapshot_retention: usize,
    snapshot_on_exit: bool,
    recover_on_startup: bool,
    recover_until: Option<crate::RecoveryPoint>,
    wal_archive: Option<WalArchive>,
}

/// How long the WAL archive keeps what retention lets go (see
/// [`DurabilityConfig::wal_archive`]). Both limits may be set; whichever is reached
/// first removes files. The archive always removes whole steps: a snapshot together
/// with the WAL after it up to the next snapshot, oldest first, because WAL without
/// the snapshot before it restores nothing.
///
/// ```
/// use std::time::Duration;
/// use engine_api::WalArchive;
/// // Points up to a week back, in at most 20 GiB.
/// let window = WalArchive::default()
///     .keep_for(Some(Duration::from_secs(7 * 24 * 3600)))
///     .keep_bytes(Some(20 << 30));
/// assert_eq!(window.get_keep_bytes(), Some(20 << 30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalArchive {
    keep_for: Option<Duration>,
    keep_bytes: Option<u64>,
}

impl Default for WalArchive {
    fn default() -> Self {
        WalArchive {
            keep_for: Some(Duration::from_secs(24 * 3600)),
            keep_bytes: None,
        }
    }
}

impl WalArchive {
    /// The time window: every point from `now - window` on stays restorable. The
    /// archive keeps the newest snapshot written at or before the window's start and
    /// everything after it, so it holds up to one snapshot interval more than the
    /// window. Default 24 hours; `None` for no time limit.
    #[must_use]
    pub fn keep_for(mut self, window: Option<Duration>) -> Self {
        self.keep_for = window;
        self
    }

    /// The size window: the archive's snapshots and WAL segments together stay at or
    /// under this many bytes; the oldest steps go first, and when even the newest
    /// step does not fit the archive is emptied. Default `None` (no size limit): set
    /// one when the disk is shared with the data, since an archived snapshot is as
    /// large as the graph.
    #[must_use]
    pub fn keep_bytes(mut self, bytes: Option<u64>) -> Self {
        self.keep_bytes = bytes;
        self
    }

    /// The time window.
    pub fn get_keep_for(&self) -> Option<Duration> {
        self.keep_for
    }

    /// The size window.
    pub fn get_keep_bytes(&self) -> Option<u64> {
        self.keep_bytes
    }
}

impl Default for DurabilityConfig {
    fn default() -> Self {
        DurabilityConfig {
            sync_mode: SyncMode::EveryCommit,
            wal_enabled: true,
            wal_segment_bytes: 20 * 1024 * 1024,
            snapshot_interval: Some(Duration::from_secs(300)),
            snapshot_retention: 3,
            snapshot_on_exit: true,
            recover_on_startup: true,
            recover_until: None,
            wal_archive: None,
        }
    }
}

impl DurabilityConfig {
    /// When commits reach stable storage. Default [`SyncMode::EveryCommit`]: the
    /// safest and, for one committer, the slowest (one fdatasync per commit).
    #[must_use]
    pub fn sync_mode(mut self, mode: SyncMode) -> Self {
        self.sync_mode = mode;
        self
    }

    /// Whether commits are logged. Default on; off means only snapshots persist data.
    #[must_use]
    pub fn wal(mut self, enabled: bool) -> Self {
        self.wal_enabled = enabled;
        self
    }

    /// Size at which a WAL segment is closed and a new one started. Default 20 MiB;
    /// smaller segments let retention delete log sooner, larger ones rotate less.
    #[must_use]
    pub fn wal_segment_bytes(mut self, bytes: u64) -> Self {
        self.wal_segment_bytes = bytes;
        self
    }

    /// How often a snapshot is written; `None` for never. Default 300 s. Shorter
    /// intervals shorten recovery and let retention trim the WAL sooner, at the cost of
    /// writing the whole graph more often.
    #[must_use]
    pub fn snapshot_interval(mut self, interval: Option<Duration>) -> Self {
        self.snapshot_interval = interval;
        self
    }

    /// How many snapshots are kept. Default 3.
    #[must_use]
    pub fn snapshot_retention(mut self, count: usize) -> Self {
        self.snapshot_retention = count;
        self
    }

    /// Whether closing the engine writes a snapshot. Default on.
    #[must_use]
    pub fn snapshot_on_exit(mut self, enabled: bool) -> Self {
        self.snapshot_on_exit = enabled;
        self
    }

    /// Whether opening recovers from the files in the data directory. Default on; off
    /// moves existing files aside into `.backup/` (never deletes them).
    #[must_use]
    pub fn recover_on_startup(mut self, enabled: bool) -> Self {
        self.recover_on_startup = enabled;
        self
    }

    /// The sync mode.
    pub fn get_sync_mode(&self) -> SyncMode {
        self.sync_mode
    }

    /// Whether the WAL is on.
    pub fn get_wal(&self) -> bool {
        self.wal_enabled
    }

    /// The WAL segment size.
    pub fn get_wal_segment_bytes(&self) -> u64 {
        self.wal_segment_bytes
    }

    /// The periodic snapshot interval.
    pub fn get_snapshot_interval(&self) -> Option<Duration> {
        self.snapshot_interval
    }

    /// How many snapshots are kept.
    pub fn get_snapshot_retention(&self) -> usize {
        self.snapshot_retention
    }

    /// Whether close writes a snapshot.
    pub fn get_snapshot_on_exit(&self) -> bool {
        self.snapshot_on_exit
    }

    /// Whether open recovers.
    pub fn get_recover_on_startup(&self) -> bool {
        self.recover_on_startup
    }

    /// Recovers the state at an earlier point of the log instead of the newest: the
    /// newest snapshot at or before the point, then the WAL's commits up to it.
    /// Default `None`: the newest state. For reading a past state out (a
    /// point-in-time restore copies it into a new directory): the directory's log
    /// holds commits after the point, so an engine recovered to it must not write
    /// there, and [`DurabilityConfig::check`] refuses the point unless the WAL,
    /// periodic snapshots and the snapshot on exit are off. Only a mode with a WAL of
    /// its own offers it; the others refuse it with `Unsupported`.
    #[must_use]
    pub fn recover_until(mut self, point: Option<crate::RecoveryPoint>) -> Self {
        self.recover_until = point;
        self
    }

    /// Keeps what retention lets go (snapshots beyond the retention count, WAL
    /// segments the oldest kept snapshot covers) in the data directory's `archive/`
    /// (laid out like the data directory: `archive/snapshots/`, `archive/wal/`)
    /// instead of deleting it, for the window given, so that a restore to a point
    /// (`quiver restore DATA TARGET --until POINT`) reaches back past the oldest kept
    /// snapshot without a backup. Moving into the archive and removing from it are
    /// deletions like any other: while the directory is locked they wait for the
    /// unlock. Default `None`: retention deletes. Only a mode with a WAL of its own
    /// offers it; the others refuse it with `Unsupported`. `archive/` should be on
    /// the data directory's file system (a move is then a rename); on another one
    /// each file is copied, synced, and only then removed from the data directory.
    #[must_use]
    pub fn wal_archive(mut self, window: Option<WalArchive>) -> Self {
        self.wal_archive = window;
        self
    }

    /// The WAL archive's window, if the archive is on.
    pub fn get_wal_archive(&self) -> Option<WalArchive> {
        self.wal_archive
    }

    /// The point recovery stops at, if not the newest state.
    pub fn get_recover_until(&self) -> Option<crate::RecoveryPoint> {
        self.recover_until
    }

    /// Refuses settings no backend can run with (`InvalidInput`): a periodic
    /// snapshot interval of zero (a snapshot loop with no pause), and WAL segments
    /// under 4 KiB (a segment would hold its header and hardly a record). Each
    /// backend's `Config::check` calls it before its own mode's checks.
    pub fn check(&self) -> crate::Result<()> {
        if self.snapshot_interval == Some(Duration::ZERO) {
            return Err(crate::Error::invalid_input(
                "a snapshot interval of zero; use None for no periodic snapshots",
            ));
        }
        if self.wal_segment_bytes < MIN_SEGMENT_BYTES {
            return Err(crate::Error::invalid_input(format!(
                "WAL segments of {} bytes; the smallest is {MIN_SEGMENT_BYTES}",
                self.wal_segment_bytes
            )));
        }
        if self.wal_archive.is_some() && !self.wal_enabled {
            return Err(crate::Error::invalid_input(
                "a WAL archive with the WAL off: there is no log to keep (turn the WAL on, or the archive off)",
            ));
        }
        if let Some(point) = self.recover_until {
            let writes = [
                (self.wal_enabled, "the WAL"),
                (self.snapshot_interval.is_some(), "periodic snapshots"),
                (self.snapshot_on_exit, "the snapshot on exit"),
                (!self.recover_on_startup, "recovery off"),
            ];
            if let Some((_, what)) = writes.iter().find(|(on, _)| *on) {
                return Err(crate::Error::invalid_input(format!(
                    "recovering to {point} with {what}: the directory holds commits after that point, so an engine recovered to it writes nothing there (turn the WAL, periodic snapshots and the snapshot on exit off, and recovery on)"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_mirror_the_documented_ones() {
        let c = DurabilityConfig::default();
        assert_eq!(c.get_sync_mode(), SyncMode::EveryCommit);
        assert!(c.get_wal());
        assert_eq!(c.get_wal_segment_bytes(), 20 * 1024 * 1024);
        assert_eq!(c.get_snapshot_interval(), Some(Duration::from_secs(300)));
        assert_eq!(c.get_snapshot_retention(), 3);
        assert!(c.get_snapshot_on_exit());
        assert!(c.get_recover_on_startup());
        assert!(c.check().is_ok());
    }

    #[test]
    fn settings_no_backend_runs_with_are_refused() {
        let zero = DurabilityConfig::default().snapshot_interval(Some(Duration::ZERO));
        assert_eq!(
            zero.check().map_err(|e| e.kind()),
            Err(crate::ErrorKind::InvalidInput)
        );
        let tiny = DurabilityConfig::default().wal_segment_bytes(MIN_SEGMENT_BYTES - 1);
        assert!(tiny.check().is_err());
        let smallest = DurabilityConfig::default().wal_segment_bytes(MIN_SEGMENT_BYTES);
        assert!(smallest.check().is_ok());
        let point = Some(crate::RecoveryPoint::Commit(7));
        let reading = DurabilityConfig::default()
            .wal(false)
            .snapshot_interval(None)
            .snapshot_on_exit(false)
            .recover_until(point);
        assert!(reading.check().is_ok());
        for writing in [
            reading.clone().wal(true),
            reading
                .clone()
                .snapshot_interval(Some(Duration::from_secs(1))),
            reading.clone().snapshot_on_exit(true),
            reading.clone().recover_on_startup(false),
        ] {
            let e = writing.check().expect_err("a point with a writer");
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{e}");
        }
    }
}
