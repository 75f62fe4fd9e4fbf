//! Types of the durability and operations calls.

use std::path::PathBuf;
use std::time::SystemTime;

/// A snapshot on disk, as listed by [`crate::StorageEngine::snapshots`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Where the snapshot file is.
    pub path: PathBuf,
    /// The commit timestamp whose state it holds.
    pub commit_timestamp: u64,
    /// When it was written.
    pub created_at: SystemTime,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// Whether the data directory is locked against deletions (for a backup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockStatus {
    /// Deletions are deferred until unlock.
    Locked,
    /// Deletions happen as retention decides.
    Unlocked,
}

/// What a lock or unlock call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockChange {
    /// The status changed.
    Changed,
    /// The directory already had the requested status; nothing changed.
    Unchanged,
}

/// Holds the data directory locked against deletions until it is dropped, like
/// [`crate::StorageEngine::lock_data_directory`] but owned: tools that may overlap
/// (two backups) each take one, and deletions resume once every lease and the plain
/// lock are released. Returned by [`crate::StorageEngine::data_directory_lease`].
#[must_use = "the directory is unlocked as soon as the lease is dropped"]
pub struct DataDirectoryLease {
    _guard: Box<dyn Send + Sync>,
}

impl DataDirectoryLease {
    /// Wraps a backend's guard, whose drop ends the lease.
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        DataDirectoryLease {
            _guard: Box::new(guard),
        }
    }
}

impl std::fmt::Debug for DataDirectoryLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDirectoryLease").finish_non_exhaustive()
    }
}

/// Counts and sizes an engine reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    /// Vertices in the newest committed state.
    pub vertices: u64,
    /// Edges in the newest committed state.
    pub edges: u64,
    /// Bytes on disk used by the data directory, where the backend measures it.
    pub disk_bytes: Option<u64>,
}

/// A file that recovery passed over because it did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedFile {
    /// The file.
    pub path: PathBuf,
    /// Why it was passed over (the `Corrupt` or `Io` error's message).
    pub reason: String,
}

/// What the last open of a persistent engine recovered from, so a caller learns when
/// recovery had to use less than the newest files (not only from logs). Returned by
/// [`crate::StorageEngine::recovery_report`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The snapshot the state was loaded (or a new database restored) from, if any.
    pub snapshot: Option<PathBuf>,
    /// Newer snapshots that did not verify and were passed over, newest first. When
    /// this is not empty the state came from an older snapshot plus the WAL after it:
    /// nothing committed is missing (open fails with `Corrupt` otherwise), but the
    /// damaged files should be looked at and a fresh snapshot taken.
    pub skipped_snapshots: Vec<DamagedFile>,
    /// Commits replayed from a write-ahead log of ours (0 where the backend's log is
    /// replayed by its storage library).
    pub replayed_commits: u64,
    /// Bytes of a torn tail at the end of the newest WAL segment (a crash during a
    /// write), read as cut off; the file is cut only by an engine that writes a WAL.
    pub truncated_wal_bytes: u64,
    /// The times of the oldest and newest commits the write-ahead log holds (replayed
    /// or not); `None` without a log of ours or when its commits carry no time (a
    /// log written before commit times were recorded).
    pub commit_times: Option<CommitTimes>,
    /// The newest commit the recovered state holds (the snapshot's, or the last one
    /// replayed), with its time when the log recorded it; `None` for an empty
    /// database or a backend whose storage library replays its own log.
    pub last_commit: Option<CommitPoint>,
}

/// One commit of a database's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitPoint {
    /// Its commit timestamp.
    pub commit_ts: u64,
    /// When it was logged, if the log recorded it (WAL format v3 on).
    pub time: Option<SystemTime>,
}

/// A point in a database's history to recover to, instead of the newest state
/// ([`crate::DurabilityConfig::recover_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryPoint {
    /// Every commit up to and including the one with this timestamp, and the schema
    /// changes made before the next commit: the state just before that next commit
    /// (schema changes do not take a commit timestamp of their own in a WAL).
    Commit(u64),
    /// Every commit logged at or before this time: replay stops at the first commit
    /// logged after it. Schema changes logged at or before it are applied too.
    Time(SystemTime),
}

impl std::fmt::Display for RecoveryPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecoveryPoint::Commit(ts) => write!(f, "commit {ts}"),
            RecoveryPoint::Time(t) => write!(f, "{}", humantime::format_rfc3339_micros(*t)),
        }
    }
}

/// The wall-clock times of the oldest and the newest of a set of commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitTimes {
    /// When the oldest was logged.
    pub first: SystemTime,
    /// When the newest was logged.
    pub last: SystemTime,
}

impl CommitTimes {
    /// The range of one commit time.
    pub fn at(time: SystemTime) -> Self {
        CommitTimes {
            first: time,
            last: time,
        }
    }

    /// Widens the range to hold `time`.
    pub fn include(&mut self, time: SystemTime) {
        self.first = self.first.min(time);
        self.last = self.last.max(time);
    }

    /// Widens an optional range to hold `time`.
    pub fn extend(range: &mut Option<CommitTimes>, time: SystemTime) {
        match range {
            Some(r) => r.include(time),
            None => *range = Some(CommitTimes::at(time)),
        }
    }
}

impl RecoveryReport {
    /// True if recovery passed over any damaged file.
    pub fn used_a_fallback(&self) -> bool {
        !self.skipped_snapshots.is_empty()
    }
}
