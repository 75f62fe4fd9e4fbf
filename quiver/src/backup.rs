//! Online backup, verification and restore of a data directory.
//!
//! A backup is a data directory itself (`snapshots/`, `wal/`, `quiver.mode`) plus a
//! manifest, `quiver-backup.json`: the database id, the mode, the commit timestamps
//! covered, and each file's size and CRC-32, the manifest checksummed too. So the
//! documented plain-copy workflow and ours meet: a backup opens as a database, and
//! a plain copy of a data directory verifies and restores (without a manifest, the
//! files' own checksums are all there is to check).
//!
//! The in-memory modes back up through the portable snapshot format. The on-disk
//! mode backs up RocksDB's files: a checkpoint (`engine_ondisk::Checkpoint`) made in
//! the data directory's `.in-progress/`, copied file by file with each file's CRC-32
//! into the manifest (format 3), so a chain of incremental backups shares the SST
//! files an earlier backup holds instead of copying them again, and a restore copies
//! files instead of rebuilding RocksDB. Any backup restores into any mode: into
//! another mode than its own, through a staged restore in its own mode and a switch.
//! (Backups of the on-disk mode written before format 3 hold an export snapshot and
//! restore as before.)

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use durability::manifest::{
    MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_FORMAT_FILES, MANIFEST_FORMAT_FULL, Manifest,
    ManifestFile, ParentLink,
};
use durability::snapshot::read_snapshot_header;
use durability::wal::{SegmentRead, read_live_segment_header, read_segment};
use engine_api::{
    CommitPoint, Error, ErrorKind, RecoveryPoint, Result, StorageEngine, StorageMode,
};

use crate::database::Database;
use crate::mode::{MODE_FILE, mode_name, parse_mode, persist_mode};
use crate::verify::verify;

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot {what} {}: {e}", path.display()),
    )
    .with_source(e)
}

/// Reads and checks the manifest in `dir`; `None` if there is none.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", &path, e)),
    };
    Manifest::decode(&text, &path.display().to_string()).map(Some)
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    durability::dir::write_file_atomically(dir, MANIFEST_FILE, &manifest.encode()?)
}

/// Reads `path` to its end in 1 MiB chunks, handing each to `chunk`; returns its
/// size and CRC-32.
fn read_chunks(path: &Path, mut chunk: impl FnMut(&[u8]) -> Result<()>) -> Result<(u64, u32)> {
    let mut f = File::open(path).map_err(|e| io("open", path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut size, mut hasher) = (0u64, crc32fast::Hasher::new());
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io("read", path, e)),
        };
        hasher.update(&buf[..n]);
        chunk(&buf[..n])?;
        size += n as u64;
    }
    Ok((size, hasher.finalize()))
}

/// Copies `from` to `to` (created), returning its size and CRC-32, and syncs it.
/// Only the bytes present when the copy reads them are copied: a file being
/// appended to is copied up to where the copy got.
///
/// The copy goes to a temporary name (`.<name>.tmp`, which a data directory's listing
/// skips) and is renamed once synced, so a failed copy (a full disk) leaves no file
/// under a real name; the temporary file is removed on failure.
fn copy_file(from: &Path, to: &Path, progress: &dyn Fn(u64)) -> Result<(u64, u32)> {
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::invalid_input(format!("{} has no file name", to.display())))?;
    let tmp = to.with_file_name(format!(".{name}.tmp"));
    let copy = || -> Result<(u64, u32)> {
        let mut dst = File::create(&tmp).map_err(|e| io("create", &tmp, e))?;
        let copied = read_chunks(from, |bytes| {
            dst.write_all(bytes).map_err(|e| io("write", &tmp, e))?;
            progress(bytes.len() as u64);
            Ok(())
        })?;
        dst.sync_all().map_err(|e| io("sync", &tmp, e))?;
        std::fs::rename(&tmp, to).map_err(|e| io("rename", &tmp, e))?;
        Ok(copied)
    };
    copy().inspect_err(|_| {
        // Best effort: the error that matters is the copy's.
        let _ = std::fs::remove_file(&tmp);
    })
}

pub(crate) fn file_crc(path: &Path) -> Result<(u64, u32)> {
    read_chunks(path, |_| Ok(()))
}

/// The entries of `dir` other than its lock file and what was moved aside into
/// `.backup/` (a missing directory has none): what makes a target "not empty".
pub(crate) fn used_entries(dir: &Path) -> Result<Vec<String>> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::invalid_input(format!(
            "{} is a file, not a directory: name a new (or empty) directory",
            dir.display()
        )));
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list", dir, e)),
    };
    let mut used = Vec::new();
    let mut only_leftovers = true;
    for e in entries {
        let e = e.map_err(|e| io("list", dir, e))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name == ".backup" || name == ".lock" || name == durability::dir::IN_PROGRESS {
            continue;
        }
        // What a migrate or restore killed before its data landed leaves: the mode
        // file (written first), our temporary files, `snapshots/` and `wal/` with
        // nothing but temporary files in them. None of it holds data: a target with
        // nothing else still counts as new, and a retry goes ahead.
        let leftover = name == crate::MODE_FILE
            || (name.starts_with('.') && name.ends_with(".tmp"))
            || ((name == "snapshots" || name == "wal") && !holds_files(&e.path()));
        only_leftovers &= leftover;
        used.push(name.into_owned());
    }
    if only_leftovers {
        used.clear();
    }
    Ok(used)
}

/// Whether `dir` holds an entry other than a temporary file of ours (dotted).
fn holds_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |entries| {
        entries
            .flatten()
            .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
    })
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Opens the on-disk database in `data`, which builds RocksDB from its snapshot,
/// reporting the build to `progress` every 100 ms as (bytes, `bytes`) in
/// proportion to the objects built.
fn open_showing_build(data: &Path, bytes: u64, progress: Progress<'_>) -> Result<Database> {
    let counter = engine_ondisk::BuildProgress::new();
    let config = crate::Config::new()
        .data_directory(data)
        .build_progress(counter.clone());
    // The leg starts at zero, after the copy's leg ended whole.
    progress(0, bytes);
    std::thread::scope(|s| {
        let opening = s.spawn(|| Database::open(config));
        while !opening.is_finished() {
            let (done, total) = counter.get();
            if total > 0 {
                let part = (bytes as u128 * done.min(total) as u128 / total as u128) as u64;
                progress(part, bytes);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        progress(bytes, bytes);
        opening.join().unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Io,
                "the thread opening the restored database panicked",
            ))
        })
    })
}

/// Progress of a long operation, for a progress bar: bytes done of bytes to do.
pub type Progress<'a> = &'a dyn Fn(u64, u64);

/// Backs `db` up into the new (or empty) directory `dest`, while its writers go on:
/// holds deletions (a lease), writes a fresh snapshot, copies it and the WAL
/// segments that may hold later commits, releases the lease, and writes the
/// manifest last (a backup without one is incomplete). Every commit acknowledged
/// before the call is in the backup; commits during it may be (the WAL copied
/// reaches as far as the copy got).
///
/// Errors: `InvalidInput` for a memory-only database (nothing on disk: dump it) or a
/// `dest` that is not empty; whatever the snapshot or the copy returns.
pub fn backup(db: &Database, dest: &Path, progress: Progress<'_>) -> Result<Manifest> {
    backup_with(db, dest, None, progress)
}

/// Backs up what `db` committed since the backup `parent` (a full or an incremental
/// one of the same database) into the new (or empty) directory `dest`, whose
/// manifest names `parent` (where it is, relative to `dest`; its manifest's
/// checksum; the newest commit it holds). IN_MEMORY_TRANSACTIONAL copies only the
/// WAL segments that hold commits after the parent's newest (no snapshot);
/// IN_MEMORY_ANALYTICAL, which keeps no WAL, writes a new snapshot (the link then
/// holds the whole state). [`verify`] and [`restore`] given the newest backup follow
/// the parents back to the full backup and check (or restore) the whole chain.
///
/// Errors: those of [`backup`]; `InvalidInput` when `parent` holds no sound
/// manifest, belongs to another database or mode, or the data directory's WAL no
/// longer holds the commit right after the parent's newest (retention deleted it:
/// take a full backup); `Unsupported` for ON_DISK_TRANSACTIONAL (its backups are
/// exports of the whole database: take a full one).
pub fn backup_incremental(
    db: &Database,
    parent: &Path,
    dest: &Path,
    progress: Progress<'_>,
) -> Result<Manifest> {
    backup_with(db, dest, Some(parent), progress)
}

/// A file to copy into a backup, and its path there.
type Source = (PathBuf, String);

/// The WAL segments of `data` that may hold commits after `after` (segment i holds
/// commits from its first timestamp up to the next one's), each with its path in a
/// backup, and the first timestamp of the first of them. The newest may have just
/// been created by the running database with its header not yet written (no first
/// timestamp yet): it is taken as it is (recovery reads a newest segment without a
/// whole header as empty), and the one before it is needed. (Regression: the
/// backup failed with Corrupt, found by the stress test.)
fn segments_after(data: &Path, after: u64) -> Result<(Vec<Source>, Option<u64>)> {
    let segments = durability::dir::list_files(data)?.segments;
    let firsts: Vec<Option<u64>> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            read_live_segment_header(&s.path, i + 1 == segments.len())
                .map(|h| h.map(|h| h.first_ts))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    let mut first = None;
    for (i, s) in segments.iter().enumerate() {
        let needed = firsts
            .get(i + 1)
            .is_none_or(|next| next.is_none_or(|next| next > after));
        if needed && let Some(n) = s.path.file_name() {
            if out.is_empty() {
                first = firsts[i];
            }
            out.push((s.path.clone(), format!("wal/{}", n.to_string_lossy())));
        }
    }
    Ok((out, first))
}

/// Whether the (older, whole) WAL segment `path` holds a commit or a schema change
/// after commit `after`.
fn holds_after(path: &Path, after: u64) -> Result<bool> {
    Ok(match read_segment(path, false)? {
        SegmentRead::Read {
            records, schema, ..
        } => {
            records.iter().any(|r| r.commit_ts > after) || schema.iter().any(|r| r.next_ts > after)
        }
        SegmentRead::TornHeader => false,
    })
}

/// The prefixes of the staging directories [`staging_for`] makes.
const STAGING_PREFIXES: [&str; 3] = [".quiver-backup-", ".quiver-aggregate-", ".quiver-restore-"];

/// The file a staging directory holds locked while its command runs: one whose
/// lock can be taken was left by a command that was killed.
const STAGING_LOCK: &str = ".staging.lock";

/// Removes the staging directories in `place` that killed commands left: named by
/// [`STAGING_PREFIXES`], holding a [`STAGING_LOCK`] no process holds. One without
/// that file (being made this moment, or left by an older build) is left alone.
fn remove_abandoned_staging(place: &Path) {
    let Ok(entries) = std::fs::read_dir(place) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !STAGING_PREFIXES.iter().any(|p| name.starts_with(p))
            || !entry.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        let abandoned =
            File::open(entry.path().join(STAGING_LOCK)).is_ok_and(|lock| lock.try_lock().is_ok());
        if abandoned {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => tracing::info!(
                    dir = %entry.path().display(),
                    "removed the staging directory of a command that was killed"
                ),
                Err(e) => tracing::warn!(
                    dir = %entry.path().display(),
                    error = %e,
                    "cannot remove the staging directory of a command that was killed"
                ),
            }
        }
    }
}

/// A staging directory for writing `target` (a backup, a fold, a restored state)
/// before it is moved into place, on the same file system as `target`: beside it,
/// or, where `target` is a mount point (the only way onto its file system), inside
/// it under `.in-progress/`, which the tools pass over. `prefix` names it. It holds
/// [`STAGING_LOCK`] locked while it lives; staging directories of killed commands
/// found in the same place are removed first.
pub(crate) fn staging_for(target: &Path, prefix: &str) -> Result<Staging> {
    let (place, inside) = if is_mount_point(target) {
        let inside = durability::dir::in_progress_dir_or_refuse(
            target,
            "the target is a mount point, so its staging goes there",
        )?;
        let made = !inside.exists();
        create_dir(&inside)?;
        (inside.clone(), made.then_some(inside))
    } else {
        let beside = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        (beside, None)
    };
    remove_abandoned_staging(&place);
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&place)
        .map_err(|e| io("create a staging directory for", target, e))?;
    let lock_path = dir.path().join(STAGING_LOCK);
    let lock = File::create(&lock_path).map_err(|e| io("create", &lock_path, e))?;
    lock.try_lock().map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot lock {}: {e}", lock_path.display()),
        )
    })?;
    Ok(Staging {
        dir: Some(dir),
        made: inside,
        _lock: lock,
    })
}

/// Whether `dir` is a directory on another file system than its parent.
fn is_mount_point(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::metadata(dir), std::fs::metadata(parent)) {
        (Ok(d), Ok(p)) => d.is_dir() && d.dev() != p.dev(),
        _ => false,
    }
}

/// A staging directory (see [`staging_for`]): removed when dropped, and with it the
/// `.in-progress/` folder it made in the target if that is empty then.
pub(crate) struct Staging {
    dir: Option<tempfile::TempDir>,
    made: Option<PathBuf>,
    /// Held locked while the staging directory is in use.
    _lock: File,
}

impl Staging {
    pub(crate) fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        drop(self.dir.take());
        if let Some(made) = &self.made {
            let _ = std::fs::remove_dir(made);
        }
    }
}

/// Moves the finished directory `work` (made by [`staging_for`]) to `dest`: renamed
/// in one step where `dest` does not exist or is an empty directory (the rename
/// replaces it), else (a mount point, or a directory holding only what a database
/// directory may hold unused) its entries moved in with the manifest last; the
/// directory that changed is synced.
fn move_into_place(work: &Path, dest: &Path) -> Result<()> {
    if std::fs::rename(work, dest).is_ok() {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return durability::dir::sync_dir(parent);
    }
    if dest.is_dir() {
        // Another writer may have filled it meanwhile: never mixed into it.
        if !used_entries(dest)?.is_empty() {
            return Err(Error::invalid_input(format!(
                "{} is no longer empty (another backup went there meanwhile); nothing was moved into it",
                dest.display()
            )));
        }
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(work)
            .map_err(|e| io("list", work, e))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort_by_key(|n| n == MANIFEST_FILE);
        for name in names {
            let to = dest.join(&name);
            std::fs::rename(work.join(&name), &to).map_err(|e| io("move into", &to, e))?;
        }
        return durability::dir::sync_dir(dest);
    }
    std::fs::rename(work, dest).map_err(|e| io("move the finished backup to", dest, e))?;
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    durability::dir::sync_dir(parent)
}

/// Whether the WAL segment `later` continues `earlier`, a copy of the same segment
/// taken before: the records `earlier` holds whole are the start of `later` (a tail
/// cut short in the earlier copy, a write in progress then, is not compared).
pub(crate) fn continues(earlier: &Path, later: &Path) -> Result<bool> {
    let valid = match read_segment(earlier, true)? {
        SegmentRead::Read { valid_len, .. } => valid_len,
        SegmentRead::TornHeader => return Ok(true),
    };
    let prefix = |path: &Path| -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|f| f.take(valid).read_to_end(&mut bytes))
            .map_err(|e| io("read", path, e))?;
        Ok(bytes)
    };
    Ok(prefix(earlier)? == prefix(later)?)
}

/// `to` as a path relative to `from` (directories; `from` need not exist yet),
/// `/`-separated, where both resolve on one tree; else `to` resolved.
fn relative_path(from: &Path, to: &Path) -> Result<String> {
    let from = crate::switch::resolved(from)
        .ok_or_else(|| Error::invalid_input(format!("cannot resolve {}", from.display())))?;
    let to = to.canonicalize().map_err(|e| io("resolve", to, e))?;
    let (a, b): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return Ok(to.display().to_string());
    }
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Ok(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    })
}

fn backup_with(
    db: &Database,
    dest: &Path,
    parent: Option<&Path>,
    progress: Progress<'_>,
) -> Result<Manifest> {
    let started = Instant::now();
    let Some(data) = db.data_directory().map(Path::to_path_buf) else {
        return Err(Error::invalid_input(
            "a memory-only database has no files to back up; dump it instead (quiver::dump)",
        ));
    };
    if !used_entries(dest)?.is_empty() {
        return Err(Error::invalid_input(format!(
            "{} is not empty; a backup goes into a new or empty directory",
            dest.display()
        )));
    }
    let mode = db.storage_mode();
    // Not into the data directory, nor into (or around) another backup.
    apart(&data, dest, "back up into")?;
    if let Some(resolved) = crate::switch::resolved(dest)
        && let Some(backup) = resolved
            .ancestors()
            .skip(1)
            .find(|a| a.join(MANIFEST_FILE).is_file())
    {
        apart(backup, dest, "back up into")?;
    }
    let parent = match parent {
        Some(p) => {
            // Nor into (or around) any backup of the chain behind it.
            apart_from_chain(p, dest, "back up into")?;
            Some((p, parent_manifest(db, mode, p)?))
        }
        None => None,
    };
    // Deletions are held from before the snapshot (or the listing), so retention can
    // remove neither it nor a WAL segment it needs until the copy is done.
    let lease = db.data_directory_lease()?;
    // The newest snapshot before the copy: a link of the WAL mode must reach it (a
    // load into the database, or a restore, writes commits into a snapshot alone).
    let newest_snapshot = db.snapshots()?.into_iter().last();
    let mut sources: Vec<(PathBuf, String)> = Vec::new();
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().to_string());
    // A link of a chain in the WAL mode holds the WAL after its parent, no snapshot.
    // The on-disk mode's checkpoint (removed when the copy is done) and the files
    // of it the parent's chain already holds.
    let mut checkpoint = None;
    let mut shared = Vec::new();
    let (database, snapshot_ts, after) = match &parent {
        Some((_, pm)) if mode == StorageMode::InMemoryTransactional => (
            pm.database.clone(),
            pm.snapshot_commit_ts,
            pm.covered_commit_ts,
        ),
        _ if mode == StorageMode::OnDiskTransactional => {
            let crate::Engine::OnDiskTransactional(e) = &db.engine else {
                return Err(Error::invalid_input(
                    "the database is not in ON_DISK_TRANSACTIONAL mode",
                ));
            };
            let place = durability::dir::in_progress_dir_or_refuse(
                &data,
                "the checkpoint a backup copies is made there, beside the database",
            )?;
            create_dir(&place)?;
            let dir = tempfile::Builder::new()
                .prefix(engine_ondisk::CHECKPOINT_PREFIX)
                .tempdir_in(&place)
                .map_err(|e| io("create a checkpoint directory in", &place, e))?;
            let cp = e.checkpoint(&dir.path().join("db"))?;
            let held = match &parent {
                Some((p, _)) => state_files(p)?,
                None => std::collections::BTreeMap::new(),
            };
            for rel in &cp.files {
                let from = dir.path().join("db").join(rel);
                if let Some(h) = held.get(rel)
                    && std::fs::metadata(&from).is_ok_and(|m| m.len() == h.size)
                    && file_crc(&from)?.1 == h.crc32
                {
                    shared.push(ManifestFile {
                        path: rel.clone(),
                        size: h.size,
                        crc32: h.crc32,
                        shared: true,
                    });
                } else {
                    sources.push((from, rel.clone()));
                }
            }
            checkpoint = Some(dir);
            let id = db.database_id().map(|d| d.to_string()).unwrap_or_default();
            (id, cp.commit_ts, cp.commit_ts)
        }
        _ => {
            let info = db.create_snapshot()?;
            let header = read_snapshot_header(&info.path)?;
            if let Some(n) = name(&info.path) {
                sources.push((info.path.clone(), format!("snapshots/{n}")));
            }
            (
                header.database.to_string(),
                header.commit_ts,
                header.commit_ts,
            )
        }
    };
    if mode == StorageMode::InMemoryTransactional {
        // The commits after this backup go to new files, which the next incremental
        // backup copies without this one's.
        if let crate::Engine::InMemoryTransactional(e) = &db.engine {
            e.start_a_new_wal_segment();
        }
        let (mut segments, mut first) = segments_after(&data, after)?;
        // A link copies as little as it can: the segment the parent's newest commit
        // is in holds nothing after it when the next one starts right after it and
        // it holds no schema change logged after it (such a change carries the next
        // commit's timestamp).
        if parent.is_some()
            && segments.len() > 1
            && let Some(next) = read_live_segment_header(&segments[1].0, segments.len() == 2)?
            && next.first_ts == after + 1
            && !holds_after(&segments[0].0, after)?
        {
            segments.remove(0);
            first = Some(next.first_ts);
        }
        if let Some((p, pm)) = &parent
            && first.is_some_and(|first| first > pm.covered_commit_ts + 1)
        {
            return Err(Error::invalid_input(format!(
                "the WAL of {} no longer holds commit {} (retention deleted it after a newer snapshot), which an incremental backup of {} must start with; take a full backup",
                data.display(),
                pm.covered_commit_ts + 1,
                p.display()
            )));
        }
        // The log must continue the chain's copy of it: a database restored from an
        // older backup keeps its id but writes another history from there.
        if let Some((p, _)) = &parent {
            let chain = chain_files(&read_chain(p)?)?;
            for (from, _) in &segments {
                let Some(name) = from.file_name() else {
                    continue;
                };
                if let Some(earlier) = chain.segments.iter().find(|s| s.file_name() == Some(name))
                    && !continues(earlier, from)?
                {
                    return Err(Error::invalid_input(format!(
                        "{} does not continue the copy {} in the backup chain: this database's history differs from the chain's after it (restored from an older backup?); take a full backup",
                        from.display(),
                        earlier.display()
                    )));
                }
            }
        }
        sources.extend(segments);
    }
    let total: u64 = sources
        .iter()
        .filter_map(|(p, _)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // Written beside `dest` and moved into place last: a kill leaves no backup
    // under its real name, only a hidden staging directory.
    parent_is_a_directory(dest, "back up")?;
    let staging = staging_for(dest, ".quiver-backup-")?;
    let work = staging.path().join("backup");
    create_dir(&work.join("snapshots"))?;
    create_dir(&work.join("wal"))?;
    if mode == StorageMode::OnDiskTransactional {
        create_dir(&work.join("rocksdb"))?;
    }
    let done = std::cell::Cell::new(0u64);
    let tick = |n: u64| {
        done.set(done.get() + n);
        progress(done.get(), total);
    };
    let mut files = Vec::new();
    for (from, rel) in &sources {
        let (size, crc32) = copy_file(from, &work.join(rel), &tick)?;
        files.push(ManifestFile {
            path: rel.clone(),
            size,
            crc32,
            shared: false,
        });
    }
    drop(lease);
    drop(checkpoint);
    files.extend(shared);
    persist_mode(&work, mode)?;
    let (size, crc32) = file_crc(&work.join(MODE_FILE))?;
    files.push(ManifestFile {
        path: MODE_FILE.to_string(),
        size,
        crc32,
        shared: false,
    });
    for sub in ["snapshots", "wal", "rocksdb"] {
        if work.join(sub).exists() {
            durability::dir::sync_dir(&work.join(sub))?;
        }
    }
    // The copied log, read back: the newest commit it holds (a torn tail of the last
    // segment, cut by the copy while a writer appended, ends it).
    let mut covered = after;
    let wal: Vec<&ManifestFile> = files
        .iter()
        .filter(|f| f.path.starts_with("wal/"))
        .collect();
    for (i, f) in wal.iter().enumerate() {
        if mode != StorageMode::InMemoryTransactional {
            break;
        }
        if let SegmentRead::Read { records, .. } =
            read_segment(&work.join(&f.path), i + 1 == wal.len())?
        {
            covered = records.iter().map(|r| r.commit_ts).fold(covered, u64::max);
        }
    }
    if mode == StorageMode::InMemoryTransactional
        && let Some((p, pm)) = &parent
        && let Some(snapshot) = &newest_snapshot
        && snapshot.commit_timestamp > covered
    {
        return Err(Error::invalid_input(format!(
            "{} holds commits up to {} in its snapshot {}, but its WAL after the parent's commit {} reaches only commit {covered} (a load or a restore wrote them into the snapshot, not the WAL): an incremental backup of {} cannot hold them; take a full backup",
            data.display(),
            snapshot.commit_timestamp,
            snapshot.path.display(),
            pm.covered_commit_ts,
            p.display()
        )));
    }
    let parent = match &parent {
        Some((p, pm)) => Some(ParentLink {
            path: relative_path(dest, p)?,
            manifest_crc32: pm.checksum()?,
            covered_commit_ts: pm.covered_commit_ts,
        }),
        None => None,
    };
    let manifest = Manifest {
        format: if mode == StorageMode::OnDiskTransactional {
            MANIFEST_FORMAT_FILES
        } else if parent.is_some() {
            MANIFEST_FORMAT
        } else {
            MANIFEST_FORMAT_FULL
        },
        database,
        mode: mode_name(mode).to_string(),
        snapshot_commit_ts: snapshot_ts,
        covered_commit_ts: covered,
        created_unix_ms: unix_ms(SystemTime::now()),
        files,
        parent,
    };
    write_manifest(&work, &manifest)?;
    crate::crash_point("BackupStaged");
    move_into_place(&work, dest)?;
    tracing::info!(
        dest = %dest.display(),
        files = manifest.files.len(),
        bytes = total,
        incremental = manifest.parent.is_some(),
        seconds = started.elapsed().as_secs_f64(),
        "backup written"
    );
    Ok(manifest)
}

/// How many links a chain may have: a guard against a loop of parents.
pub(crate) const CHAIN_MAX: usize = 10_000;

/// Where the parent of the backup `link` (whose manifest is `manifest`) is recorded
/// to be; `None` for a full backup.
pub(crate) fn parent_dir(link: &Path, manifest: &Manifest) -> Option<PathBuf> {
    let p = manifest.parent.as_ref()?;
    let dir = link.join(p.path.replace('/', std::path::MAIN_SEPARATOR_STR));
    // `tuesday/../monday` shown as the directory it is.
    Some(dir.canonicalize().unwrap_or(dir))
}

/// How the parent recorded as `recorded` (relative to the backup `link`) is named
/// when it is missing: from `link` as the file system resolves it (through a
/// symbolic link, the `..` of the recorded path leads from the link's target),
/// then without `.` and `..`.
fn missing_shown(link: &Path, recorded: &str) -> PathBuf {
    let rel = recorded.replace('/', std::path::MAIN_SEPARATOR_STR);
    let from = link.canonicalize().unwrap_or_else(|_| link.to_path_buf());
    lexically_normal(&from.join(rel))
}

/// `path` with its `.` and `..` components resolved against the components before
/// them (a `..` at the start, or after the root, is kept as it is). Only for
/// showing, and only of a path without symbolic links before its `..`s.
fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}

/// The parent of the backup `link` (whose manifest is `manifest`): its directory and
/// manifest, checked against what `link` recorded of it. `None` for a full backup.
///
/// Errors: `NotFound` when the parent is gone; `Corrupt` when its manifest is damaged
/// or is not the one `link` was taken after (another backup in its place), or it is
/// of another database or mode. Each names `link`'s manifest first.
pub(crate) fn parent_of(link: &Path, manifest: &Manifest) -> Result<Option<(PathBuf, Manifest)>> {
    let (Some(p), Some(dir)) = (&manifest.parent, parent_dir(link, manifest)) else {
        return Ok(None);
    };
    let named = link.join(MANIFEST_FILE);
    let parent = match read_manifest(&dir) {
        Ok(Some(m)) => m,
        Ok(None) => {
            // Damage of the chain (`Corrupt`, as verify calls it), not a wrong path
            // given by the user: the link names its parent itself.
            let what = if dir.is_dir() {
                format!("holds no backup manifest ({MANIFEST_FILE})")
            } else {
                "is missing".to_string()
            };
            return Err(Error::corrupt(format!(
                "{}: its parent backup {} (recorded as {:?}) {what}: a chain is restored from all its backups, in place",
                named.display(),
                missing_shown(link, &p.path).display(),
                p.path
            )));
        }
        Err(e) => {
            return Err(Error::corrupt(format!(
                "{}: its parent backup {} does not read: {}",
                named.display(),
                dir.display(),
                e.message()
            )));
        }
    };
    let wrong = |why: String| {
        Err(Error::corrupt(format!(
            "{}: {} is not the parent it was taken after: {why}",
            named.display(),
            dir.display()
        )))
    };
    if parent.checksum()? != p.manifest_crc32 {
        return wrong(
            "its manifest's checksum differs from the one recorded (another backup in its place?)"
                .to_string(),
        );
    }
    if parent.database != manifest.database {
        return wrong(format!(
            "it is of database {}, this one of {}",
            parent.database, manifest.database
        ));
    }
    if parent.mode != manifest.mode {
        return wrong(format!(
            "it is of mode {}, this one of {}",
            parent.mode, manifest.mode
        ));
    }
    if parent.covered_commit_ts != p.covered_commit_ts {
        return wrong(format!(
            "it holds commits up to {}, the link recorded {}",
            parent.covered_commit_ts, p.covered_commit_ts
        ));
    }
    Ok(Some((dir, parent)))
}

/// The chain that ends with the backup `newest`, the full backup first: each backup
/// directory with its manifest. A full backup (or a data directory) is a chain of
/// one; a directory without a manifest is returned alone with `None`.
///
/// Errors: `NotFound` for a missing parent; `Corrupt` for a damaged manifest, a parent
/// that is not the backup a link was taken after (its manifest checksum, database,
/// mode or newest commit differ from what the link recorded), or a loop of parents.
pub fn read_chain(newest: &Path) -> Result<Vec<(PathBuf, Option<Manifest>)>> {
    let Some(manifest) = read_manifest(newest)? else {
        return Ok(vec![(newest.to_path_buf(), None)]);
    };
    let mut chain = vec![(newest.to_path_buf(), manifest)];
    while let Some((dir, m)) = chain
        .last()
        .map(|(d, m)| parent_of(d, m))
        .transpose()?
        .flatten()
    {
        if chain.len() >= CHAIN_MAX {
            return Err(Error::corrupt(format!(
                "{}: a chain of more than {CHAIN_MAX} backups (do its parents loop?)",
                newest.join(MANIFEST_FILE).display()
            )));
        }
        chain.push((dir, m));
    }
    chain.reverse();
    Ok(chain.into_iter().map(|(d, m)| (d, Some(m))).collect())
}

/// The snapshot and WAL files a backup chain (or one directory) holds, as one data
/// directory would: every link's snapshots, and each WAL segment from the newest
/// link that has it (a later copy of a segment holds at least what an earlier one
/// does), in sequence order.
pub(crate) struct ChainFiles {
    pub(crate) snapshots: Vec<PathBuf>,
    pub(crate) segments: Vec<PathBuf>,
}

pub(crate) fn chain_files(chain: &[(PathBuf, Option<Manifest>)]) -> Result<ChainFiles> {
    let mut snapshots = std::collections::BTreeMap::new();
    let mut segments = std::collections::BTreeMap::new();
    for (dir, _) in chain {
        let listing = durability::dir::list_files(dir)?;
        for s in listing.snapshots {
            snapshots.insert((s.seq, s.commit_ts), s.path);
        }
        for s in listing.segments {
            segments.insert(s.seq, s.path);
        }
    }
    Ok(ChainFiles {
        snapshots: snapshots.into_values().collect(),
        segments: segments.into_values().collect(),
    })
}

/// A file the state of a backup of RocksDB's files needs, where its chain holds it.
#[derive(Debug, Clone)]
pub(crate) struct HeldFile {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pub(crate) crc32: u32,
}

/// The files (`rocksdb/…`, `wal/…`) the newest backup of a chain of backups of
/// RocksDB's files lists, each found where the chain holds it: a shared one in the
/// nearest earlier backup that lists it unshared, with the same size and CRC-32.
/// Empty for a backup of another kind.
///
/// Errors: those of [`read_chain`]; `Corrupt` when a shared file is held by no
/// earlier backup, or by one that lists it with another size or CRC-32.
pub(crate) fn state_files(newest: &Path) -> Result<std::collections::BTreeMap<String, HeldFile>> {
    state_files_of(&read_chain(newest)?)
}

pub(crate) fn state_files_of(
    chain: &[(PathBuf, Option<Manifest>)],
) -> Result<std::collections::BTreeMap<String, HeldFile>> {
    let mut out = std::collections::BTreeMap::new();
    let Some((newest, Some(m))) = chain.last() else {
        return Ok(out);
    };
    if m.format != MANIFEST_FORMAT_FILES {
        return Ok(out);
    }
    for f in &m.files {
        if !(f.path.starts_with("rocksdb/") || f.path.starts_with("wal/")) {
            continue;
        }
        let holder = chain.iter().rev().find_map(|(dir, m)| {
            m.as_ref()?
                .files
                .iter()
                .find(|g| g.path == f.path && !g.shared)
                .map(|g| (dir, g))
        });
        match holder {
            Some((dir, g)) if g.size == f.size && g.crc32 == f.crc32 => {
                out.insert(
                    f.path.clone(),
                    HeldFile {
                        path: dir.join(&f.path),
                        size: f.size,
                        crc32: f.crc32,
                    },
                );
            }
            Some((dir, g)) => {
                return Err(Error::corrupt(format!(
                    "{}: lists {} ({} bytes, CRC-32 {:08x}) as held by an earlier backup of the chain, but {} lists {} bytes with {:08x}",
                    newest.join(MANIFEST_FILE).display(),
                    f.path,
                    f.size,
                    f.crc32,
                    dir.join(MANIFEST_FILE).display(),
                    g.size,
                    g.crc32
                )));
            }
            None => {
                return Err(Error::corrupt(format!(
                    "{}: lists {} as held by an earlier backup of the chain, but none holds it",
                    newest.join(MANIFEST_FILE).display(),
                    f.path
                )));
            }
        }
    }
    Ok(out)
}

/// What a restore to a point may reach back into: the chain that ends with
/// `source` and, when `source` is a data directory with a WAL archive, the archive
/// before it.
fn history(source: &Path) -> Result<Vec<(PathBuf, Option<Manifest>)>> {
    let mut chain = read_chain(source)?;
    let archive = source.join(durability::dir::ARCHIVE);
    if let [(_, None)] = chain.as_slice()
        && archive.is_dir()
    {
        chain.insert(0, (archive, None));
    }
    Ok(chain)
}

/// A backup chain (or one backup) laid out as one data directory in a scratch
/// directory: links to the snapshots and WAL segments a restore would put together,
/// and the mode file. Reading it (opening it without a WAL of its own, verifying it)
/// writes nothing into the backups. Removed when dropped.
#[derive(Debug)]
pub struct ChainView {
    dir: tempfile::TempDir,
    /// Each link in the view, and the file it stands for.
    origin: std::collections::BTreeMap<PathBuf, PathBuf>,
    /// The backups of the chain.
    links: usize,
    /// Whether the chain is of backups (with manifests), not a directory and its
    /// WAL archive.
    of_backups: bool,
}

impl ChainView {
    /// The view of the chain that ends with the backup `newest`, in the mode its
    /// manifest records. First, every file the chain's manifests list must be in
    /// place with its listed size (a file reading does not need, such as a link's
    /// mode file, too), and a small one other than a snapshot or WAL segment (up to
    /// 64 KiB: the mode file, RocksDB's CURRENT and OPTIONS) with its listed
    /// checksum; snapshots and WAL segments carry checksums of their own, which
    /// reading them checks (a snapshot of another size that does not read is left to
    /// that check: opening passes it over or refuses it, as verify does). Reading a backup must not show a state its manifest does
    /// not vouch for, nor call sound what verify calls damaged.
    ///
    /// Errors: those of [`read_chain`]; `Corrupt` for a listed file that is missing,
    /// of another size, or (a small one) of other contents, and for a snapshot or
    /// WAL segment the manifest does not list; `Io` when a file cannot be read or
    /// the scratch directory cannot be made.
    pub fn new(newest: &Path) -> Result<ChainView> {
        const SMALL: u64 = 64 << 10;
        // Snapshots and WAL segments: reading them checks their own checksums.
        let checksummed = |rel: &str| rel.starts_with("snapshots/") || rel.starts_with("wal/");
        let chain = read_chain(newest)?;
        let recorded = chain
            .last()
            .and_then(|(_, m)| m.as_ref())
            .and_then(|m| crate::mode::parse_mode(&m.mode));
        for (dir, manifest) in &chain {
            // An IN_MEMORY_ANALYTICAL link holds a whole snapshot: an older link's
            // snapshot that is gone is left to opening, which needs it only where
            // the newer ones do not read (as verify passes it over).
            let older_analytical =
                recorded == Some(StorageMode::InMemoryAnalytical) && dir.as_path() != newest;
            for f in manifest.iter().flat_map(|m| &m.files).filter(|f| !f.shared) {
                let path = dir.join(&f.path);
                let found = match std::fs::metadata(&path) {
                    // A small file's contents too (the mode file: reading takes the
                    // mode from it, and nothing else checks it).
                    Ok(meta)
                        if meta.is_file()
                            && meta.len() == f.size
                            && f.size <= SMALL
                            && !checksummed(&f.path) =>
                    {
                        match file_crc(&path) {
                            Ok((_, crc)) if crc == f.crc32 => continue,
                            Ok((_, crc)) => format!(
                                "holds other bytes (CRC-32 {crc:08x}, the manifest lists {:08x})",
                                f.crc32
                            ),
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(meta) if meta.is_file() && meta.len() == f.size => continue,
                    // A cut snapshot does not read: opening passes it over or refuses
                    // it, as verify does. One that reads whole is another snapshot.
                    Ok(meta)
                        if meta.is_file()
                            && f.path.starts_with("snapshots/")
                            && durability::snapshot::read_snapshot_counts(&path).is_err() =>
                    {
                        continue;
                    }
                    Ok(meta) if meta.is_file() => format!("holds {} bytes", meta.len()),
                    Ok(_) => "is no file".to_string(),
                    Err(e)
                        if e.kind() == std::io::ErrorKind::NotFound
                            && older_analytical
                            && f.path.starts_with("snapshots/") =>
                    {
                        continue;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => "is missing".to_string(),
                    Err(e) => return Err(io("read", &path, e)),
                };
                return Err(Error::corrupt(format!(
                    "{}: the backup's manifest lists it with {} bytes, but it {found}",
                    path.display(),
                    f.size
                )));
            }
            // A snapshot or WAL segment the manifest does not list was added after
            // it was written: reading would use it, and verify calls it damage. (A
            // hostile-user run: `info` showed a chain verify refused.)
            let Some(m) = manifest else { continue };
            let listing = durability::dir::list_files_in_any_order(dir)?;
            let ours = listing
                .snapshots
                .iter()
                .map(|s| &s.path)
                .chain(listing.segments.iter().map(|s| &s.path));
            for path in ours {
                let rel = path
                    .strip_prefix(dir)
                    .map(|r| r.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"))
                    .unwrap_or_default();
                if !m.files.iter().any(|f| f.path == rel) {
                    return Err(Error::corrupt(format!(
                        "{}: a file of ours that the backup's manifest does not list (added after the backup was written)",
                        path.display()
                    )));
                }
            }
        }
        let mode = match recorded {
            Some(mode) => mode,
            None => {
                crate::mode::persisted_mode(newest)?.unwrap_or(StorageMode::InMemoryTransactional)
            }
        };
        ChainView::of(&chain, mode)
    }

    pub(crate) fn of(
        chain: &[(PathBuf, Option<Manifest>)],
        mode: StorageMode,
    ) -> Result<ChainView> {
        let dir = scratch_dir("quiver-chain-")
            .map_err(|e| io("create a scratch directory for", &chain[0].0, e))?;
        let mut origin = std::collections::BTreeMap::new();
        let of_backups = chain.iter().any(|(_, m)| m.is_some());
        let files = state_files_of(chain)?;
        if !files.is_empty() {
            // RocksDB's files: SST files (never written again) linked, the rest
            // (MANIFEST, CURRENT, OPTIONS, the log, our metadata), which opening may
            // rewrite or append to, copied.
            for sub in ["rocksdb", "wal", "snapshots"] {
                create_dir(&dir.path().join(sub))?;
            }
            for (rel, held) in &files {
                let to = dir.path().join(rel);
                if rel.ends_with(".sst") {
                    let target = std::path::absolute(&held.path)
                        .map_err(|e| io("resolve", &held.path, e))?;
                    std::os::unix::fs::symlink(&target, &to)
                        .map_err(|e| io("link", &held.path, e))?;
                } else {
                    std::fs::copy(&held.path, &to).map_err(|e| io("copy", &held.path, e))?;
                }
                origin.insert(to, held.path.clone());
            }
            persist_mode(dir.path(), mode)?;
            return Ok(ChainView {
                dir,
                origin,
                links: chain.len(),
                of_backups,
            });
        }
        let together = chain_files(chain)?;
        for (files, sub) in [
            (&together.snapshots, "snapshots"),
            (&together.segments, "wal"),
        ] {
            create_dir(&dir.path().join(sub))?;
            for from in files {
                let to = dir
                    .path()
                    .join(sub)
                    .join(from.file_name().unwrap_or_default());
                // Linked by absolute path: the view is elsewhere.
                let target = std::path::absolute(from).map_err(|e| io("resolve", from, e))?;
                std::os::unix::fs::symlink(&target, &to).map_err(|e| io("link", from, e))?;
                origin.insert(to, from.clone());
            }
        }
        persist_mode(dir.path(), mode)?;
        Ok(ChainView {
            dir,
            origin,
            links: chain.len(),
            of_backups,
        })
    }

    /// How many backups the chain has (1 for a full backup).
    pub fn links(&self) -> usize {
        self.links
    }

    /// The scratch directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The backup file `path` (a file in the view) stands for; other paths as they
    /// are.
    pub fn original(&self, path: &Path) -> PathBuf {
        self.origin
            .get(path)
            .cloned()
            .unwrap_or_else(|| path.to_path_buf())
    }

    /// The file `path` (in the view) stands for; another path in the view as under
    /// `dir` (the backup or directory read through it); other paths as they are.
    pub fn shown_path(&self, path: &Path, dir: &Path) -> PathBuf {
        if let Some(original) = self.origin.get(path) {
            return original.clone();
        }
        match path.strip_prefix(self.dir.path()) {
            Ok(rel) => dir.join(rel),
            Err(_) => path.to_path_buf(),
        }
    }

    /// `text` (a message about files in the view) with each file named as the file
    /// it stands for, and any other path in the view as under `dir` (the backup or
    /// directory read through it): messages never name the scratch directory.
    pub fn shown(&self, text: &str, dir: &Path) -> String {
        // A backup is not mended by moving one of its files (its manifest would
        // refuse the rest): the older state is the older backup's.
        let mut out = text.to_string();
        if self.of_backups {
            out = out.replace(
                &durability::lost::move_out_to_open_older(&self.dir.path().join("snapshots")),
                "restore the older backup that holds the snapshot that verifies to have the older state (losing those commits), or restore another backup",
            );
            for advice in [
                durability::lost::MOVE_OUT_OF_SNAPSHOTS,
                durability::lost::MOVE_OUT_OF_THE_DIRECTORY,
                durability::lost::MOVING_LOSES_NOTHING,
            ] {
                out = out.replace(advice, durability::lost::BACKUP_ADVICE);
            }
        }
        for (link, original) in &self.origin {
            out = out.replace(&link.display().to_string(), &original.display().to_string());
        }
        out.replace(
            &self.dir.path().display().to_string(),
            &dir.display().to_string(),
        )
    }
}

/// The damage `report` found in the files `counts` keeps, as "path: damage; ...";
/// empty when there is none.
fn damage_of(
    report: &crate::verify::VerifyReport,
    counts: impl Fn(&crate::verify::CheckedFile) -> bool,
) -> String {
    report
        .damaged()
        .filter(|f| counts(f))
        .map(|f| {
            format!(
                "{}: {}",
                f.path.display(),
                f.damage.as_deref().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// [`apart`] from every backup of the chain that ends with `newest` (one that does
/// not read is left to the caller's verification).
fn apart_from_chain(newest: &Path, target: &Path, verb: &str) -> Result<()> {
    apart(newest, target, verb)?;
    match read_chain(newest) {
        Ok(chain) => chain
            .iter()
            .try_for_each(|(dir, _)| apart(dir, target, verb)),
        Err(_) => Ok(()),
    }
}

/// `InvalidInput` when `target` is `source`, lies inside it or holds it (`verb` says
/// what was asked: "restore into", "write the dump to"). A `target` that does not
/// exist yet is resolved through its nearest existing parent.
pub fn apart(source: &Path, target: &Path, verb: &str) -> Result<()> {
    let (Ok(from), Some(to)) = (source.canonicalize(), crate::switch::resolved(target)) else {
        return Ok(());
    };
    let why = if to == from {
        "is"
    } else if to.starts_with(&from) {
        "lies inside"
    } else if from.starts_with(&to) {
        "holds"
    } else {
        return Ok(());
    };
    Err(Error::invalid_input(format!(
        "cannot {verb} {}: it {why} {}; name a place apart from it",
        target.display(),
        source.display()
    )))
}

/// The manifest of `parent`, checked as the parent of an incremental backup of `db`.
fn parent_manifest(db: &Database, mode: StorageMode, parent: &Path) -> Result<Manifest> {
    if !parent.is_dir() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "the parent backup {} does not exist (or is not a directory)",
                parent.display()
            ),
        ));
    }
    let manifest = read_manifest(parent)?.ok_or_else(|| {
        Error::invalid_input(format!(
            "{} holds no backup manifest ({MANIFEST_FILE}): an incremental backup continues a backup written by `quiver backup`",
            parent.display()
        ))
    })?;
    if parse_mode(&manifest.mode) != Some(mode) {
        return Err(Error::invalid_input(format!(
            "{} is a backup of an {} database, not of this {} one",
            parent.display(),
            manifest.mode,
            mode_name(mode)
        )));
    }
    if mode == StorageMode::OnDiskTransactional && manifest.format != MANIFEST_FORMAT_FILES {
        return Err(Error::invalid_input(format!(
            "{} is a backup of an ON_DISK_TRANSACTIONAL database as an export snapshot (written before backups of RocksDB's files), which an incremental backup cannot continue; take a full backup",
            parent.display()
        )));
    }
    let id = db.database_id().map(|d| d.to_string());
    if id.as_deref() != Some(manifest.database.as_str()) {
        return Err(Error::invalid_input(format!(
            "{} is a backup of database {}, not of this one ({})",
            parent.display(),
            manifest.database,
            id.unwrap_or_default()
        )));
    }
    Ok(manifest)
}

/// Folds the backup chain that ends with `newest` into one full backup in the new
/// (or empty) directory `out`, equal to the chain's newest state, or to its state at
/// `until`: the chain is verified and restored (to the point) into a staging
/// directory beside `out`, backed up from there, and the backup verified; only then
/// is it moved to `out`, so a kill leaves no backup under that name. A backup of the
/// state at a point has a new database id (as a restore to a point has).
///
/// Errors: those of [`restore`] (`Corrupt` for a chain that does not verify; a
/// point out of range); `InvalidInput` for an `out` that is not empty or lies in
/// (or holds) a backup of the chain.
pub fn aggregate(
    newest: &Path,
    out: &Path,
    until: Option<RecoveryPoint>,
    progress: Progress<'_>,
) -> Result<Manifest> {
    if !used_entries(out)?.is_empty() {
        return Err(Error::invalid_input(format!(
            "{} is not empty; an aggregate backup goes into a new or empty directory",
            out.display()
        )));
    }
    // (A chain that does not read is refused by the restore's verification, as damage.)
    apart_from_chain(newest, out, "aggregate into")?;
    parent_is_a_directory(out, "aggregate")?;
    let staging = staging_for(out, ".quiver-aggregate-")?;
    let data = staging.path().join("db");
    let restored =
        restore(newest, &data, &RestoreOptions::new().until(until), progress).map_err(|e| {
            // The restore is a step of this command: its refusal said what it would
            // not restore, which the user did not ask for.
            let told = e.message().replace(
                "nothing was restored",
                &format!("nothing was written to {}", out.display()),
            );
            Error::new(e.kind(), told).with_source(e)
        })?;
    let durability = crate::default_durability(restored.mode)
        .snapshot_on_exit(false)
        .snapshot_interval(None);
    let db = Database::open(
        crate::Config::new()
            .data_directory(&data)
            .durability_for(restored.mode, durability),
    )?;
    let folded = staging.path().join("backup");
    let manifest = backup(&db, &folded, progress)?;
    db.engine.close_without_snapshot()?;
    let damage = damage_of(&verify(&folded, progress)?, |_| true);
    if !damage.is_empty() {
        return Err(Error::corrupt(format!(
            "the folded backup does not verify, nothing was written to {}: {damage}",
            out.display()
        )));
    }
    crate::crash_point("AggregateStaged");
    move_into_place(&folded, out)?;
    tracing::info!(chain = %newest.display(), out = %out.display(), "chain folded");
    Ok(manifest)
}

/// How [`restore`] treats the target and what it copies.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    force: bool,
    snapshot_only: bool,
    mode: Option<StorageMode>,
    until: Option<RecoveryPoint>,
}

impl RestoreOptions {
    /// The defaults: refuse a non-empty target, copy the WAL too, keep the backup's
    /// mode.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restore into a non-empty target by first moving its files into
    /// `.backup/<unix-seconds>/` inside it (never deleting them). Default off.
    #[must_use]
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Restore the snapshot alone, without the WAL after it (the documented
    /// "empty the wal directory" restore): the state at the snapshot. Default off.
    #[must_use]
    pub fn snapshot_only(mut self, snapshot_only: bool) -> Self {
        self.snapshot_only = snapshot_only;
        self
    }

    /// The mode the restored database runs in. Default: the backup's. Another mode
    /// gets the backup's state through the portable snapshot format (the WAL's
    /// commits after the snapshot included).
    #[must_use]
    pub fn mode(mut self, mode: StorageMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Restore the state at `point` instead of the newest: the newest snapshot at or
    /// before it, then exactly the WAL's commits up to it (and the schema changes
    /// logged before them). Default `None`: the newest state. The restored database
    /// is a new history: it gets a new database id (backups of the original and of
    /// the restored database never mix) and holds one snapshot at the point, no WAL.
    /// Only an IN_MEMORY_TRANSACTIONAL backup or directory (the mode with a WAL of
    /// its own) can be restored to a point; see [`restore`].
    #[must_use]
    pub fn until(mut self, point: Option<RecoveryPoint>) -> Self {
        self.until = point;
        self
    }
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The mode the data directory now holds.
    pub mode: StorageMode,
    /// Where the target's earlier files went (with `force`).
    pub moved_aside: Option<PathBuf>,
    /// Files copied.
    pub files: usize,
    /// With [`RestoreOptions::until`]: the last commit the restored state holds, and
    /// its time when the log recorded it.
    pub last_commit: Option<CommitPoint>,
    /// With [`RestoreOptions::until`] naming the commit one link of an
    /// IN_MEMORY_ANALYTICAL chain was taken at: that link, restored without a point.
    pub link: Option<PathBuf>,
}

/// Restores the backup (or copied data directory) `backup` into `data`: verifies
/// it first, refuses a non-empty `data` unless forced, writes the mode, copies the
/// files, and, into the on-disk mode, builds RocksDB from the snapshot. Opening
/// `data` afterwards gives exactly the backed-up state. `progress` gets (done,
/// total) bytes of each leg in turn: verifying, copying, and the on-disk build (the
/// snapshot's bytes, in proportion to the objects built).
///
/// Errors: `Corrupt` naming every damaged file when verification fails (nothing is
/// written); `InvalidInput` for a non-empty target without `force`, or a backup
/// without a snapshot; `Locked` while a process has `data` open.
pub fn restore(
    backup: &Path,
    data: &Path,
    options: &RestoreOptions,
    progress: Progress<'_>,
) -> Result<Restored> {
    if data.exists() && !data.is_dir() {
        return Err(Error::invalid_input(format!(
            "{} is a file, not a directory: restore into a new (or empty) directory",
            data.display()
        )));
    }
    // A target that is (or holds, or lies in) a backup being restored: forcing it
    // would move the backup's own files aside before they are copied.
    apart_from_chain(backup, data, "restore into")?;
    // Verified first: its reading shows as the first half of the progress.
    let report = verify(backup, progress)?;
    // A snapshot-only restore copies no WAL: damage there does not stop it; nor
    // does damage in a data directory's WAL archive stop a restore of its newest
    // state.
    let archive = backup.join(durability::dir::ARCHIVE);
    // A restore to a point passes over a snapshot whose commits the archive holds.
    let through_archive = |f: &crate::verify::CheckedFile| {
        f.damage_kind == crate::verify::DamageKind::RestorableThroughArchive
    };
    let blocking = damage_of(&report, |f| {
        !(options.snapshot_only && f.kind == "WAL segment")
            && (options.until.is_some()
                || !(f.path.starts_with(&archive) || f.kind == "WAL archive"))
            && !(options.until.is_some() && through_archive(f))
    });
    if !blocking.is_empty() {
        let way_out = match report.newest_commit() {
            Some(newest) if options.until.is_none() && report.damaged().all(through_archive) => {
                format!(
                    " (its WAL archive holds every commit: `--until {newest}` restores the newest state through it)"
                )
            }
            _ => String::new(),
        };
        return Err(Error::corrupt(format!(
            "{} does not verify, nothing was restored: {blocking}{way_out}",
            backup.display()
        )));
    }
    if let Some(point) = options.until {
        return restore_to_point(backup, data, options, point, &report, progress);
    }
    // RocksDB's files: of a backup of them, or of an on-disk data directory no
    // process has open (verify refused one in use).
    if report
        .manifest
        .as_ref()
        .is_some_and(|m| m.format == MANIFEST_FORMAT_FILES)
        || (report.mode == StorageMode::OnDiskTransactional
            && report.manifest.is_none()
            && backup.join("rocksdb").exists())
    {
        return restore_files(backup, data, options, &report, progress);
    }
    // A chain's files, as one directory holds them (one backup's own, otherwise).
    let together = chain_files(&read_chain(backup)?)?;
    // The snapshot opening would load (the newest that reads), if there is one:
    // what opening the backup in place would give, the restore gives.
    let snapshot = report.snapshot.clone();
    if options.snapshot_only && snapshot.is_none() {
        return Err(Error::invalid_input(format!(
            "{} holds no snapshot to restore",
            backup.display()
        )));
    }
    let backup_mode = report.mode;
    let mode = options.mode.unwrap_or(backup_mode);
    // The analytical mode cannot hold constraints: refused before anything is
    // written (the WAL after the snapshot may define more; the staged restore below
    // checks those before the target is touched).
    if mode == StorageMode::InMemoryAnalytical && report.snapshot_constraints() > 0 {
        return Err(refuse_constraints(backup, report.snapshot_constraints()));
    }
    // A WAL is only the transactional mode's; another mode gets its commits through
    // a snapshot of the replayed state.
    let with_wal = !options.snapshot_only && !together.segments.is_empty();
    if with_wal && mode != StorageMode::InMemoryTransactional {
        return restore_through(backup, data, options, mode, &report, |staged| {
            restore(
                backup,
                staged,
                &options
                    .clone()
                    .mode(StorageMode::InMemoryTransactional)
                    .force(false),
                progress,
            )
            .map(drop)
        });
    }
    let moved_aside = prepare_target(data, options.force)?;
    let mut sources: Vec<(PathBuf, &str)> =
        snapshot.into_iter().map(|s| (s, "snapshots")).collect();
    if with_wal {
        sources.extend(together.segments.iter().map(|s| (s.clone(), "wal")));
    }
    let total: u64 = sources
        .iter()
        .filter_map(|(p, _)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let done = std::cell::Cell::new(0u64);
    let tick = |n: u64| {
        done.set(done.get() + n);
        progress(done.get(), total);
    };
    // The mode first: a kill after the snapshot is in place then leaves a database
    // of the mode asked for, not one the next open takes for the default mode.
    persist_mode(data, mode)?;
    create_dir(&data.join("snapshots"))?;
    create_dir(&data.join("wal"))?;
    for (from, sub) in &sources {
        let Some(name) = from.file_name() else {
            continue;
        };
        copy_file(from, &data.join(sub).join(name), &tick)?;
    }
    for sub in ["snapshots", "wal"] {
        durability::dir::sync_dir(&data.join(sub))?;
    }
    if mode == StorageMode::OnDiskTransactional {
        // The on-disk mode builds RocksDB from the snapshot when first opened: done
        // here, so the restore's caller waits for it, not the next command. Its
        // progress is the third leg: the snapshot's bytes, in proportion to the
        // objects built.
        let started = Instant::now();
        let snapshot_bytes = sources
            .iter()
            .filter(|(_, sub)| *sub == "snapshots")
            .filter_map(|(p, _)| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum::<u64>();
        let db = open_showing_build(data, snapshot_bytes, progress)?;
        db.engine.close_without_snapshot()?;
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "RocksDB built from the restored snapshot"
        );
    }
    Ok(Restored {
        mode,
        moved_aside,
        files: sources.len(),
        last_commit: None,
        link: None,
    })
}

/// A restore into `mode` through the backup's own mode: `staged_restore` restores
/// the backup into a staging directory beside `data` (refused up front: a target in
/// use without `force`), the analytical mode's refusal of constraints is checked
/// there, then the staged database is switched into `data`.
fn restore_through(
    backup: &Path,
    data: &Path,
    options: &RestoreOptions,
    mode: StorageMode,
    report: &crate::verify::VerifyReport,
    staged_restore: impl FnOnce(&Path) -> Result<()>,
) -> Result<Restored> {
    parent_is_a_directory(data, "restore")?;
    if !options.force && !used_entries(data)?.is_empty() {
        prepare_target(data, false)?;
    }
    let staging = staging_for(data, ".quiver-restore-")?;
    let staged = staging.path().join("db");
    staged_restore(&staged)?;
    if mode == StorageMode::InMemoryAnalytical {
        let db = Database::open(crate::Config::new().data_directory(&staged))?;
        let constraints = db.constraints()?.len() as u64;
        db.engine.close_without_snapshot()?;
        if constraints > 0 {
            return Err(refuse_constraints(backup, constraints));
        }
    }
    let moved_aside = prepare_target(data, options.force)?;
    crate::switch::migrate(&staged, data, mode)?;
    Ok(Restored {
        mode,
        moved_aside,
        files: report.files.len(),
        last_commit: None,
        link: None,
    })
}

/// The files of the on-disk data directory `dir` a restore copies: RocksDB's (its
/// info logs and lock file aside) and our metadata file in `rocksdb/`, its log in
/// `wal/`; each with its size now (and no checksum to compare: there is no manifest).
fn directory_files(dir: &Path) -> Result<std::collections::BTreeMap<String, HeldFile>> {
    let mut out = std::collections::BTreeMap::new();
    for sub in ["rocksdb", "wal"] {
        let folder = dir.join(sub);
        let entries = std::fs::read_dir(&folder).map_err(|e| io("list", &folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io("list", &folder, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("LOG") || name == "LOCK" || !entry.path().is_file() {
                continue;
            }
            let size = entry
                .metadata()
                .map_err(|e| io("read", &entry.path(), e))?
                .len();
            out.insert(
                format!("{sub}/{name}"),
                HeldFile {
                    path: entry.path(),
                    size,
                    crc32: 0,
                },
            );
        }
    }
    Ok(out)
}

/// [`restore`] of a backup of RocksDB's files (a chain of them: the newest's state):
/// each file copied from where the chain holds it and its CRC-32 checked against the
/// manifest, our metadata file last (a kill before it leaves a directory opening
/// refuses, never another state), then opened once so RocksDB replays the log
/// copied with it now. Into another mode: restored so in a staging directory beside
/// `data`, then switched.
fn restore_files(
    backup: &Path,
    data: &Path,
    options: &RestoreOptions,
    report: &crate::verify::VerifyReport,
    progress: Progress<'_>,
) -> Result<Restored> {
    if options.snapshot_only {
        return Err(Error::invalid_input(format!(
            "{} is a backup of RocksDB's files, which holds no snapshot: restore it whole",
            backup.display()
        )));
    }
    let mode = options.mode.unwrap_or(StorageMode::OnDiskTransactional);
    if mode != StorageMode::OnDiskTransactional {
        return restore_through(backup, data, options, mode, report, |staged| {
            restore_files(
                backup,
                staged,
                &options
                    .clone()
                    .mode(StorageMode::OnDiskTransactional)
                    .force(false),
                report,
                progress,
            )
            .map(drop)
        });
    }
    let files = if report.manifest.is_some() {
        state_files(backup)?
    } else {
        directory_files(backup)?
    };
    let total: u64 = files.values().map(|f| f.size).sum();
    let done = std::cell::Cell::new(0u64);
    let tick = |n: u64| {
        done.set(done.get() + n);
        progress(done.get(), total);
    };
    let moved_aside = prepare_target(data, options.force)?;
    persist_mode(data, mode)?;
    for sub in ["snapshots", "rocksdb", "wal"] {
        create_dir(&data.join(sub))?;
    }
    let meta = "rocksdb/quiver.meta";
    let ordered = files
        .iter()
        .filter(|(rel, _)| rel.as_str() != meta)
        .chain(files.iter().filter(|(rel, _)| rel.as_str() == meta));
    for (rel, held) in ordered {
        let to = data.join(rel);
        if rel.as_str() == meta {
            for sub in ["rocksdb", "wal"] {
                durability::dir::sync_dir(&data.join(sub))?;
            }
        }
        let (size, crc32) = copy_file(&held.path, &to, &tick)?;
        if report.manifest.is_some() && (size, crc32) != (held.size, held.crc32) {
            return Err(Error::corrupt(format!(
                "{}: {size} bytes with CRC-32 {crc32:08x}, but the manifest lists {} bytes with {:08x} (changed since it was verified?)",
                held.path.display(),
                held.size,
                held.crc32
            )));
        }
    }
    for sub in ["rocksdb", "wal"] {
        durability::dir::sync_dir(&data.join(sub))?;
    }
    let db = Database::open(crate::Config::new().data_directory(data))?;
    db.engine.close_without_snapshot()?;
    Ok(Restored {
        mode,
        moved_aside,
        files: files.len(),
        last_commit: None,
        link: None,
    })
}

/// Why an IN_MEMORY_ANALYTICAL `backup` has no points between its links, and the
/// states it does hold: each backup of a chain holds the snapshot it was taken at,
/// and an older link restores on its own to its state.
fn analytical_points(backup: &Path, newest: Option<u64>) -> Result<String> {
    let chain = read_chain(backup)?;
    let mut why =
        "that mode keeps no WAL, so a backup or data directory of it holds only the state of its snapshot"
            .to_string();
    if chain.len() < 2 {
        match newest {
            Some(n) => why.push_str(&format!(
                " (restore it without a point, or to commit {n}, the state it holds)"
            )),
            None => why.push_str(" (restore it without a point)"),
        }
        return Ok(why);
    }
    why.push_str(
        "; each backup of this chain restores without a point (or to its own commit) to its own state:",
    );
    for (dir, manifest) in chain.iter().rev() {
        if let Some(m) = manifest {
            why.push_str(&format!(
                " {} (commit {}),",
                dir.display(),
                m.snapshot_commit_ts
            ));
        }
    }
    why.pop();
    Ok(why)
}

/// The commit of the newest snapshot of `backup` that verified, if any.
fn newest_snapshot_commit(
    backup: &Path,
    report: &crate::verify::VerifyReport,
) -> Result<Option<u64>> {
    let damaged: Vec<&Path> = report.damaged().map(|f| f.path.as_path()).collect();
    let together = chain_files(&history(backup)?)?;
    Ok(together
        .snapshots
        .iter()
        .rev()
        .filter(|s| !damaged.contains(&s.as_path()))
        .find_map(|s| read_snapshot_header(s).ok())
        .map(|h| h.commit_ts))
}

/// [`restore`] to a point: the backup's snapshots and WAL are copied into a staging
/// directory beside `data` (the backup itself is only read), recovered there to
/// `point`, and that state is written into `data` as one snapshot of a new database
/// id, in the mode asked for.
fn restore_to_point(
    backup: &Path,
    data: &Path,
    options: &RestoreOptions,
    point: RecoveryPoint,
    report: &crate::verify::VerifyReport,
    progress: Progress<'_>,
) -> Result<Restored> {
    let backup_mode = report.mode;
    // A commit one link of an analytical chain was taken at is that link's state:
    // the link restores to it without a point.
    // An analytical data directory (no manifest) holds its newest snapshot's state.
    let held = if backup_mode == StorageMode::InMemoryAnalytical {
        newest_snapshot_commit(backup, report)?
    } else {
        None
    };
    if let (StorageMode::InMemoryAnalytical, RecoveryPoint::Commit(x)) = (backup_mode, point) {
        let chain = read_chain(backup)?;
        let link = chain.iter().rev().find(|(_, m)| match m {
            Some(m) => m.snapshot_commit_ts == x,
            None => held == Some(x),
        });
        if let Some((dir, _)) = link {
            let plain = RestoreOptions {
                until: None,
                ..options.clone()
            };
            let done = restore(dir, data, &plain, progress)?;
            return Ok(Restored {
                link: Some(dir.clone()),
                ..done
            });
        }
    }
    let why = match backup_mode {
        StorageMode::InMemoryTransactional => None,
        StorageMode::InMemoryAnalytical => {
            Some(analytical_points(backup, held)?)
        }
        StorageMode::OnDiskTransactional => Some(
            "RocksDB replays its whole log and Quiver does not map RocksDB's sequence numbers to its commits, so a backup of that mode restores to the state it was taken at (restore the backup taken closest before the point)".to_string(),
        ),
    };
    if let Some(why) = why {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} holds {} data, which cannot be restored to {point}: {why}",
                backup.display(),
                mode_name(backup_mode)
            ),
        ));
    }
    if options.snapshot_only {
        return Err(Error::invalid_input(
            "a restore to a point replays the WAL up to it; it cannot be snapshot-only",
        ));
    }
    parent_is_a_directory(data, "restore")?;
    // Refused up front: a target in use without `force`.
    if !options.force && !used_entries(data)?.is_empty() {
        prepare_target(data, false)?;
    }
    let staging = staging_for(data, ".quiver-restore-")?;
    let staged = staging.path().join("db");
    let together = chain_files(&history(backup)?)?;
    // The newest snapshot at or before the point that verified.
    let damaged: Vec<&Path> = report.damaged().map(|f| f.path.as_path()).collect();
    let mut snapshot = None;
    for s in together.snapshots.iter().rev() {
        if damaged.contains(&s.as_path()) {
            continue;
        }
        let header = read_snapshot_header(s)?;
        let past = match point {
            RecoveryPoint::Commit(ts) => header.commit_ts > ts,
            // Written after the time: it may hold commits logged after it.
            RecoveryPoint::Time(t) => header.created_at > t,
        };
        if !past {
            snapshot = Some((s.clone(), header.commit_ts));
            break;
        }
    }
    let snap_ts = snapshot.as_ref().map_or(0, |(_, ts)| *ts);
    let headers: Vec<durability::wal::SegmentHeader> = together
        .segments
        .iter()
        .map(|p| durability::wal::read_segment_header(p))
        .collect::<Result<_>>()?;
    if snapshot.is_none() && headers.first().is_none_or(|h| h.first_ts > 1) {
        let oldest = together
            .snapshots
            .first()
            .and_then(|s| read_snapshot_header(s).ok())
            .map_or("no snapshot".to_string(), |h| {
                format!("its oldest snapshot holds commit {}", h.commit_ts)
            });
        return Err(Error::invalid_input(format!(
            "{point} is before the oldest state {} can give ({oldest}, and its WAL does not reach back to the first commit); pick a point at or after the oldest snapshot",
            backup.display()
        )));
    }
    let database = durability::DatabaseId::random();
    create_dir(&staged)?;
    persist_mode(&staged, StorageMode::InMemoryTransactional)?;
    for sub in ["snapshots", "wal"] {
        create_dir(&staged.join(sub))?;
    }
    let total: u64 = snapshot
        .iter()
        .map(|(p, _)| p)
        .chain(&together.segments)
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if let Some((path, _)) = &snapshot {
        durability::snapshot::copy_snapshot(path, &staged.join("snapshots"), 1, database)?;
        progress(std::fs::metadata(path).map_or(0, |m| m.len()), total);
    }
    // The log after the snapshot, each segment up to the first record past the
    // point: what recovery then replays is exactly the state at the point.
    let no_time = |ts: u64| {
        Error::invalid_input(format!(
            "commit {ts} carries no time (a WAL segment of format v1 or v2, written before commit times were recorded): restore to a commit timestamp instead"
        ))
    };
    let past = |r: &durability::wal::RecordInfo| -> Result<bool> {
        use durability::wal::RecordKind;
        let after_snapshot = match r.kind {
            RecordKind::Commit => r.ts > snap_ts,
            // A change logged before the commit after the snapshot may be in it or
            // not: its time decides, as for a commit.
            RecordKind::Schema => r.ts > snap_ts,
            RecordKind::Reservation => false,
        };
        if !after_snapshot {
            return Ok(false);
        }
        Ok(match point {
            RecoveryPoint::Commit(x) => match r.kind {
                RecordKind::Commit => r.ts > x,
                RecordKind::Schema => r.ts > x.saturating_add(1),
                RecordKind::Reservation => false,
            },
            RecoveryPoint::Time(t) => r.time.ok_or_else(|| no_time(r.ts))? > t,
        })
    };
    let mut last = (snap_ts, None);
    let mut cut = false;
    let mut done = std::fs::metadata(snapshot.as_ref().map_or(Path::new(""), |(p, _)| p))
        .map_or(0, |m| m.len());
    for (i, path) in together.segments.iter().enumerate() {
        // A segment the next one starts at or before the snapshot holds nothing after it.
        if headers
            .get(i + 1)
            .is_some_and(|next| next.first_ts <= snap_ts)
        {
            continue;
        }
        let copied =
            durability::wal::copy_segment_until(path, &staged.join("wal"), database, |r| {
                past(r).map(|p| !p)
            })?;
        for r in &copied.kept {
            // The snapshot's own commit gives its time, when the log still holds it.
            if r.kind == durability::wal::RecordKind::Commit && r.ts >= snap_ts && r.ts >= last.0 {
                last = (r.ts, r.time);
            }
        }
        done += std::fs::metadata(path).map_or(0, |m| m.len());
        progress(done, total);
        if copied.cut {
            cut = true;
            break;
        }
    }
    if !cut {
        let beyond = match point {
            RecoveryPoint::Commit(x) => x > last.0,
            RecoveryPoint::Time(t) => last.1.is_none_or(|lt| t > lt),
        };
        if beyond {
            let newest = match last.1 {
                Some(t) => format!("commit {}, logged at {}", last.0, RecoveryPoint::Time(t)),
                None => format!("commit {}", last.0),
            };
            return Err(Error::invalid_input(format!(
                "{point} is after the newest commit {} holds ({newest}); pick a point up to it",
                backup.display()
            )));
        }
    }
    let last_commit = Some(CommitPoint {
        commit_ts: last.0,
        time: last.1,
    });
    let mode = options.mode.unwrap_or(backup_mode);
    // Into another mode: the staged state copied through its image.
    let out = if mode == StorageMode::InMemoryTransactional {
        staged.clone()
    } else {
        let out = staging.path().join("out");
        crate::switch::migrate(&staged, &out, mode)?;
        out
    };
    crate::crash_point("PointStaged");
    let moved_aside = prepare_target(data, options.force)?;
    // The mode first, as in every restore: a kill after the data is in place then
    // leaves a database of the mode asked for.
    for name in [MODE_FILE, "rocksdb", "snapshots", "wal"] {
        let from = out.join(name);
        if std::fs::symlink_metadata(&from).is_ok() {
            let to = data.join(name);
            std::fs::rename(&from, &to).map_err(|e| io("move the restored state into", &to, e))?;
        }
    }
    durability::dir::sync_dir(data)?;
    tracing::info!(%point, commit = last.0, "restored to a point");
    Ok(Restored {
        mode,
        moved_aside,
        files: 1 + together.segments.len(),
        last_commit,
        link: None,
    })
}

fn refuse_constraints(backup: &Path, n: u64) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "{} holds {n} constraint(s), which IN_MEMORY_ANALYTICAL mode cannot hold; nothing was restored: restore it in IN_MEMORY_TRANSACTIONAL mode, then switch with `quiver mode set <dir> IN_MEMORY_ANALYTICAL --drop-constraints`",
            backup.display()
        ),
    )
}

/// `Ok` when `target`'s parent is a directory (`target` itself may be made):
/// `InvalidInput` naming a file in the way, `NotFound` naming a missing parent. `verb`
/// says what the command does ("restore", "load").
pub fn parent_is_a_directory(target: &Path, verb: &str) -> Result<()> {
    let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    if let Some(file) = parent.ancestors().find(|a| a.exists() && !a.is_dir()) {
        return Err(Error::invalid_input(format!(
            "{} is a file, not a directory: {verb} into a directory whose parent is one",
            file.display()
        )));
    }
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "{} does not exist: create it first, or {verb} into a directory whose parent exists",
            parent.display()
        ),
    ))
}

/// Makes `data` an empty directory to restore into: created if missing; if it holds
/// anything, refused, or with `force` its entries moved into `.backup/` inside it.
fn prepare_target(data: &Path, force: bool) -> Result<Option<PathBuf>> {
    // Only the target itself is created: a mistyped parent is an error, not a tree.
    parent_is_a_directory(data, "restore")?;
    create_dir(data)?;
    let entries = used_entries(data)?;
    if entries.is_empty() {
        return Ok(None);
    }
    if !force {
        return Err(Error::invalid_input(format!(
            "{} is not empty ({}); restore into an empty directory, or force it to move those files into {}/.backup/ first",
            data.display(),
            entries.join(", "),
            data.display()
        )));
    }
    // Nobody may have it open: take its lock for the move.
    let lock = durability::DataDir::open(data)?;
    let names: Vec<&str> = entries.iter().map(String::as_str).collect();
    let moved = durability::dir::move_dirs_aside(data, &names)?;
    drop(lock);
    Ok(moved)
}

/// A scratch directory in the system's temporary folder, named `<prefix><pid>-…`
/// after the process that makes it; first, those of the same prefix that a process
/// now gone left behind are removed (a killed command cannot remove its own: kill
/// tests left views of backups behind). Only where `/proc` tells which processes
/// run; a directory of a process that runs, or of an unknown one, is kept.
///
/// Errors: those of creating the directory.
pub fn scratch_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    sweep_scratch(&std::env::temp_dir(), prefix);
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir()
}

/// Removes the directories in `temp` named `<prefix><pid>-…` whose process is gone.
fn sweep_scratch(temp: &Path, prefix: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if proc.join(pid.to_string()).exists() || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        // Links inside (a view's) are removed, never followed.
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            tracing::info!(dir = %entry.path().display(), "removed a scratch directory a process that is gone left");
        }
    }
}

#[cfg(test)]
mod scratch_tests {
    use super::*;

    /// A scratch directory of a process that is gone is removed (links in it, not
    /// their targets); one of a running process, or not named by ours, is kept.
    #[test]
    fn scratch_left_by_a_gone_process_is_swept() -> std::io::Result<()> {
        let temp = tempfile::tempdir()?;
        let target = temp.path().join("target");
        std::fs::write(&target, b"kept")?;
        // A pid no process has: above the kernel's maximum.
        let gone = temp.path().join("quiver-chain-4294967295-abc");
        std::fs::create_dir(&gone)?;
        std::os::unix::fs::symlink(&target, gone.join("link"))?;
        let running = temp
            .path()
            .join(format!("quiver-chain-{}-abc", std::process::id()));
        std::fs::create_dir(&running)?;
        let other = temp.path().join("quiver-chain-abc");
        std::fs::create_dir(&other)?;
        sweep_scratch(temp.path(), "quiver-chain-");
        assert!(!gone.exists());
        assert!(running.exists() && other.exists());
        assert_eq!(std::fs::read(&target)?, b"kept");
        Ok(())
    }
}
