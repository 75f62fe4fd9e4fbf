//! Checkpoints: the database's files at one commit, for a file-level backup.
//!
//! [`OnDiskEngine::checkpoint`] asks RocksDB for a checkpoint (SST files
//! hard-linked where the target is on the data's file system, a MANIFEST of just
//! those files, and a copy of the log since the last flush, cut at one sequence
//! number) and lays it out as a data directory: `rocksdb/` with our metadata file
//! beside RocksDB's, and `wal/` with that log (RocksDB opens its log from `wal/`
//! here). Opening that directory gives the state at the checkpoint's commit; the
//! live database goes on meanwhile. Memtables are not flushed for it: a flush would
//! leave a small SST file per column family for every backup and wake compactions
//! in the live database; the log copied instead is replayed when the checkpoint is
//! opened.
//! SST files never change once written, so a backup that already holds one by name,
//! size and checksum need not copy it again.

use std::path::Path;

use engine_api::{Error, ErrorKind, Result};
use rocksdb::DB;

use crate::engine::{OnDiskEngine, ROCKSDB_DIR};
use crate::keys::rocks;
use crate::metadata::META_FILE;
use crate::rocks::rocks_options;

/// What [`OnDiskEngine::checkpoint`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The commit timestamp of the state it holds.
    pub commit_ts: u64,
    /// Its files, relative to its directory and `/`-separated (`rocksdb/…`,
    /// `wal/…`), in name order.
    pub files: Vec<String>,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot {what} {}: {e}", path.display()),
    )
    .with_source(e)
}

impl OnDiskEngine {
    /// Writes a checkpoint of the database into `dir` (which must not exist yet; its
    /// parent must) and returns the commit it holds and its files. It is laid out as
    /// a data directory: `rocksdb/` (SST files hard-linked where `dir` is on the
    /// data's file system, a MANIFEST of just those files, our metadata file) and
    /// `wal/` (a copy of RocksDB's log since its last flush, cut at one sequence
    /// number; memtables are not flushed for it, so a backup leaves no small SST
    /// files behind). Opening `dir` gives the state at the returned commit. Commits
    /// go on while it is made.
    /// Put `dir` on the data directory's file system to make it cheap (hard links);
    /// remove it when done with it (its links keep SST files RocksDB has let go).
    ///
    /// Errors: `Io` when `dir` exists or cannot be written, or RocksDB fails.
    pub fn checkpoint(&self, dir: &Path) -> Result<Checkpoint> {
        if dir.exists() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} exists: a checkpoint goes into a new directory",
                    dir.display()
                ),
            ));
        }
        std::fs::create_dir(dir).map_err(|e| io("create", dir, e))?;
        let rdir = dir.join(ROCKSDB_DIR);
        let wal = dir.join("wal");
        // A flush threshold no log reaches: the log is copied, never flushed.
        rocksdb::checkpoint::Checkpoint::new(&self.db)
            .and_then(|c| c.create_checkpoint_with_log_size(&rdir, u64::MAX))
            .map_err(|e| rocks("cannot make a RocksDB checkpoint", e))?;
        std::fs::create_dir(&wal).map_err(|e| io("create", &wal, e))?;
        for entry in std::fs::read_dir(&rdir).map_err(|e| io("list", &rdir, e))? {
            let entry = entry.map_err(|e| io("list", &rdir, e))?;
            if entry.file_name().to_string_lossy().ends_with(".log") {
                let to = wal.join(entry.file_name());
                std::fs::rename(entry.path(), &to).map_err(|e| io("move", &entry.path(), e))?;
            }
        }
        let meta = self.data_dir().join(ROCKSDB_DIR).join(META_FILE);
        std::fs::copy(&meta, rdir.join(META_FILE)).map_err(|e| io("copy", &meta, e))?;
        // The files, listed before the read below writes RocksDB's info log.
        let mut files = Vec::new();
        for sub in [ROCKSDB_DIR, "wal"] {
            let folder = dir.join(sub);
            for entry in std::fs::read_dir(&folder).map_err(|e| io("list", &folder, e))? {
                let entry = entry.map_err(|e| io("list", &folder, e))?;
                files.push(format!("{sub}/{}", entry.file_name().to_string_lossy()));
            }
        }
        files.sort();
        let commit_ts = self.timestamp(checkpoint_sequence(self, dir)?);
        for f in std::fs::read_dir(dir)
            .map_err(|e| io("list", dir, e))?
            .flatten()
        {
            // RocksDB's info log of that read, outside the two folders.
            if f.path().is_file() {
                let _ = std::fs::remove_file(f.path());
            }
        }
        for sub in [ROCKSDB_DIR, "wal", ""] {
            durability::dir::sync_dir(&dir.join(sub))?;
        }
        Ok(Checkpoint { commit_ts, files })
    }
}

/// The newest RocksDB sequence number the checkpoint in `dir` holds, read by
/// opening it read-only (its info log written into `dir`, not `rocksdb/`).
fn checkpoint_sequence(engine: &OnDiskEngine, dir: &Path) -> Result<u64> {
    let (mut opts, cfs, _cache) = rocks_options(&engine.config, dir, false, false, true);
    opts.set_db_log_dir(dir);
    let db = DB::open_cf_descriptors_read_only(&opts, dir.join(ROCKSDB_DIR), cfs, false)
        .map_err(|e| rocks("cannot read the checkpoint", e))?;
    Ok(db.latest_sequence_number())
}

/// The checkpoint directories a backup leaves in `.in-progress/` of a data
/// directory are named with this prefix; opening removes any a killed backup left.
pub const CHECKPOINT_PREFIX: &str = "checkpoint-";

/// Removes the checkpoints a killed backup left in `root/.in-progress/`.
pub(crate) fn remove_left_checkpoints(root: &Path) -> Result<()> {
    // A link there is not ours: nothing behind it is removed.
    let Some(dir) = durability::dir::in_progress_dir(root) else {
        return Ok(());
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(CHECKPOINT_PREFIX)
            && entry.path().is_dir()
        {
            std::fs::remove_dir_all(entry.path()).map_err(|e| io("remove", &entry.path(), e))?;
            tracing::info!(dir = %entry.path().display(), "removed a checkpoint a killed backup left");
        }
    }
    Ok(())
}
