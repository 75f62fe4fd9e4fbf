//! The data directory: layout, the process lock, file naming and listing, and moving
//! old files aside.
//!
//! ```text
//! <data>/
//!   .lock        held (an OS advisory lock) while a process has the database open;
//!                it holds that process's id, for the error a second opener gets
//!   snapshots/   <seq>_<commit-ts>.snapshot, zero-padded so names sort by age
//!   wal/         <seq>.wal
//!   archive/     {snapshots,wal}/: what retention let go, kept for a window when
//!                the WAL archive is on (same names; `.<name>.tmp` while a copy
//!                from another file system is written)
//!   .backup/     <unix-time>/{snapshots,wal}: files moved aside when recovery is off
//!   .in-progress/ <seq>_<commit-ts>.snapshot.tmp: a snapshot being written, renamed
//!                into snapshots/ once synced (kept out of snapshots/, so a plain
//!                copy of that folder while a snapshot is written sees whole files);
//!                <name>.deleted: a file retention let go, removed there on another
//!                thread
//! ```
//! Files in `snapshots/` and `wal/` whose names do not follow the patterns are
//! foreign: they are listed as such (with a warning), never parsed, never deleted.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use engine_api::{Error, ErrorKind, Result};

const LOCK_FILE: &str = ".lock";
/// The folder of a data directory that holds its snapshots.
pub const SNAPSHOTS: &str = "snapshots";
/// The folder of a data directory that holds its WAL segments.
pub const WAL: &str = "wal";
const BACKUP: &str = ".backup";
/// The WAL archive's folder in a data directory: `snapshots/` and `wal/` inside it,
/// as in the data directory.
pub const ARCHIVE: &str = "archive";
/// Where snapshots are written before they are renamed into `snapshots/`, beside
/// it, so a copy of `snapshots/` taken while one is written never meets a file that
/// vanishes under it.
pub const IN_PROGRESS: &str = ".in-progress";

/// An open data directory, locked against other processes for as long as it lives.
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    // Holding the file keeps the advisory lock; dropping it releases the lock.
    _lock: File,
}

/// Two snapshots out of commit order: `later`, under a higher sequence number than
/// `earlier`, holds an older commit. Snapshots are written in commit order, so one of
/// the two was copied or renamed by hand; opening would load `later` as the newest
/// and silently return to its older state. The listing refuses it with
/// [`OutOfOrder::error`]; [`Listing::out_of_order`] finds it in a listing taken
/// without that check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfOrder {
    /// The snapshot with the lower sequence number (and the newer commit).
    pub earlier: SnapshotName,
    /// The snapshot with the higher sequence number (and the older commit).
    pub later: SnapshotName,
    /// A snapshot in order that names the same commit as `earlier` while none names
    /// `later`'s: then `earlier` is the copy (a newer snapshot copied under an older
    /// sequence number), not `later`.
    pub twin_of_earlier: Option<SnapshotName>,
    /// A snapshot before the pair named for `later`'s commit: then `later` is the
    /// copy (an older snapshot copied under a newer sequence number), and the
    /// message says so rather than leaving the choice to the reader.
    pub twin_of_later: Option<SnapshotName>,
}

impl OutOfOrder {
    /// The refusal: `Corrupt`, naming both files.
    pub fn error(&self) -> Error {
        Error::new(ErrorKind::Corrupt, self.to_string())
    }

    /// The one of the two that does not belong, as far as the names tell: `earlier`
    /// when another snapshot names its commit too, else `later` (the one opening
    /// would load as the newest).
    pub fn copy(&self) -> &SnapshotName {
        match self.twin_of_earlier {
            Some(_) => &self.earlier,
            None => &self.later,
        }
    }
}

impl std::fmt::Display for OutOfOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let folder = self.later.path.parent().unwrap_or(Path::new("."));
        // The copy, the snapshot it is out of order with, and the twin that tells it.
        let told = match (&self.twin_of_earlier, &self.twin_of_later) {
            (Some(twin), _) => Some((&self.earlier, &self.later, "an earlier", twin)),
            (None, Some(twin)) => Some((&self.later, &self.earlier, "a later", twin)),
            (None, None) => None,
        };
        match told {
            Some((copy, other, order, twin)) => write!(
                f,
                "{}: holds commit {} under {order} sequence number than {}, which holds commit {}, and {} is named for commit {} too; snapshots are written in commit order, so it is a copy or a file renamed by hand: move it out of {}",
                copy.path.display(),
                copy.commit_ts,
                other.path.display(),
                other.commit_ts,
                twin.path.display(),
                copy.commit_ts,
                folder.display()
            ),
            None => write!(
                f,
                "{}: holds commit {} under a later sequence number than {}, which holds commit {}; snapshots are written in commit order, so one of the two was copied or renamed by hand: move the one that does not belong out of {}",
                self.later.path.display(),
                self.later.commit_ts,
                self.earlier.path.display(),
                self.earlier.commit_ts,
                folder.display()
            ),
        }
    }
}

/// A snapshot file named by our pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SnapshotName {
    /// Sequence number (increases with every snapshot written).
    pub seq: u64,
    /// Commit timestamp of the state it holds.
    pub commit_ts: u64,
    /// Full path.
    pub path: PathBuf,
}

/// A WAL segment file named by our pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SegmentName {
    /// Segment sequence number.
    pub seq: u64,
    /// Full path.
    pub path: PathBuf,
}

/// What a directory listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Snapshots, oldest first.
    pub snapshots: Vec<SnapshotName>,
    /// WAL segments, lowest sequence first.
    pub segments: Vec<SegmentName>,
    /// Files that are not ours (left alone).
    pub foreign: Vec<PathBuf>,
    /// Entries under one of our names that are not regular files (or are links
    /// whose target is gone), each with why. Only [`list_files_in_any_order`] lists
    /// them, leaving them to its caller; every other listing refuses the first
    /// (`Corrupt`): such an entry is never skipped as foreign, which would silently
    /// shorten the log or lose a snapshot.
    pub not_files: Vec<(PathBuf, String)>,
}

impl Listing {
    /// The first two snapshots out of commit order, if any (see [`OutOfOrder`]). A
    /// snapshot whose header does not read, or that names another database, is left
    /// to the checks that name that: only two of one database are compared, and
    /// their headers are read only where the names are out of order.
    pub fn out_of_order(&self) -> Option<OutOfOrder> {
        self.out_of_order_beside(&[])
    }

    /// [`Listing::out_of_order`] of a folder read with the snapshots `beside` (a WAL
    /// archive's, with its data directory's): a snapshot there that names the same
    /// commit tells a copy as one of this folder's would.
    pub fn out_of_order_beside(&self, beside: &[SnapshotName]) -> Option<OutOfOrder> {
        let same_database = |a: &Path, b: &Path| {
            let read = crate::snapshot::read_snapshot_header;
            matches!((read(a), read(b)), (Ok(x), Ok(y)) if x.database == y.database)
        };
        let (earlier, later) = self
            .snapshots
            .windows(2)
            .find(|w| w[1].commit_ts < w[0].commit_ts && same_database(&w[0].path, &w[1].path))
            .map(|w| (w[0].clone(), w[1].clone()))?;
        // Another snapshot named for the same commit where a snapshot of that commit
        // belongs: before the pair for `later`'s, after it for `earlier`'s.
        let all = || self.snapshots.iter().chain(beside);
        let twin_of_later = all()
            .find(|s| s.seq < earlier.seq && s.commit_ts == later.commit_ts)
            .cloned();
        let twin_of_earlier = all()
            .find(|s| s.seq > later.seq && s.commit_ts == earlier.commit_ts)
            .filter(|_| twin_of_later.is_none())
            .cloned();
        Some(OutOfOrder {
            earlier,
            later,
            twin_of_earlier,
            twin_of_later,
        })
    }

    /// Bytes of the snapshots and WAL segments listed (foreign files not counted;
    /// a file gone since the listing counts nothing).
    pub fn bytes(&self) -> u64 {
        self.snapshots
            .iter()
            .map(|s| &s.path)
            .chain(self.segments.iter().map(|s| &s.path))
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// The file name of snapshot `seq` holding commit `commit_ts`.
pub fn snapshot_file_name(seq: u64, commit_ts: u64) -> String {
    format!("{seq:020}_{commit_ts:020}.snapshot")
}

/// The file name of WAL segment `seq`.
pub fn segment_file_name(seq: u64) -> String {
    format!("{seq:020}.wal")
}

pub(crate) fn parse_snapshot_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".snapshot")?;
    let (seq, ts) = stem.split_once('_')?;
    Some((name_number(seq)?, name_number(ts)?))
}

fn parse_segment_name(name: &str) -> Option<u64> {
    name_number(name.strip_suffix(".wal")?)
}

/// A number as our file names write it: exactly 20 decimal digits. Only digits: a
/// sign, which `u64`'s parser would accept (`+000…`), makes a name we never write,
/// so a foreign file's, never to be read or deleted as ours.
fn name_number(digits: &str) -> Option<u64> {
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn io_err(what: String, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{what}: {e}")).with_source(e)
}

/// Writes `bytes` as the file `name` in `dir` so that a crash or an I/O error leaves
/// the old file or the new one, never part of one: to the temporary name
/// `.<name>.tmp`, synced, renamed, and the directory synced. On an error the
/// temporary file is removed and the error names the file.
pub fn write_file_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |what: &str, e: std::io::Error| io_err(format!("cannot {what} {}", path.display()), e);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io("write", e))?;
        f.write_all(bytes).map_err(|e| io("write", e))?;
        f.sync_all().map_err(|e| io("sync", e))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|e| io("rename into place", e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

/// The temporary path snapshot `name` is written to before it is renamed into
/// `snapshots` (created if needed): `<snapshots>/../.in-progress/<name>.tmp`, on the
/// same file system, so the rename is atomic. Where `snapshots` has no parent or is
/// on another file system than it (a link to another disk), `.<name>.tmp` inside
/// `snapshots` itself.
pub fn temporary_snapshot_path(snapshots: &Path, name: &str) -> Result<PathBuf> {
    let beside = || snapshots.join(format!(".{name}.tmp"));
    let Some(root) = snapshots.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(beside());
    };
    let Some(aside) = in_progress_dir(root) else {
        return Ok(beside());
    };
    std::fs::create_dir_all(&aside)
        .map_err(|e| io_err(format!("cannot create {}", aside.display()), e))?;
    if !same_file_system(&aside, snapshots) {
        return Ok(beside());
    }
    Ok(aside.join(format!("{name}.tmp")))
}

#[cfg(unix)]
fn same_file_system(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file_system(_: &Path, _: &Path) -> bool {
    false
}

/// Fsyncs a directory, so renames and creations in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(format!("cannot sync directory {}", dir.display()), e))
}

/// Who opened the data directory at `root` last, as its lock file shows: the
/// process id written in it and the file's modification time. Every open rewrites
/// both, so two equal stamps taken apart mean no process opened the directory in
/// between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenStamp {
    holder: String,
    modified: std::time::SystemTime,
}

/// Reads the [`OpenStamp`] of the data directory at `root`.
///
/// Errors: `Io` if its lock file cannot be read (a directory never opened has none).
pub fn open_stamp(root: &Path) -> Result<OpenStamp> {
    let path = root.join(LOCK_FILE);
    let mut file = open_lock_file(&path, LockOpen::Read)?;
    let mut read = || -> std::io::Result<OpenStamp> {
        let modified = file.metadata()?.modified()?;
        let mut holder = String::new();
        file.read_to_string(&mut holder)?;
        Ok(OpenStamp { holder, modified })
    };
    read().map_err(|e| io_err(format!("cannot read {}", path.display()), e))
}

/// How [`open_lock_file`] opens the lock file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LockOpen {
    /// Read only; a missing file is an error.
    Read,
    /// Read and write, created if missing.
    Create,
}

/// Opens the lock file at `path` without following a symbolic link (writing our
/// process id through one would overwrite whatever it points at, and creating
/// through a dangling one would create a file anywhere) and without blocking (a
/// named pipe under its name would hang the open). Only a regular file is
/// accepted.
///
/// Errors: `Io` naming the path if it is a link, not a regular file, or cannot be
/// opened (missing, when reading).
fn open_lock_file(path: &Path, how: LockOpen) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    if how == LockOpen::Create {
        options.write(true).create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt;
        // The flag bits fit an i32 (the C type of open's flags).
        options.custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32);
    }
    let refuse = |what: &str| {
        Error::new(
            ErrorKind::Io,
            format!(
                "{} is {what}: the lock file must be a regular file in the data directory; the directory cannot be opened until it is one (or is removed)",
                path.display()
            ),
        )
    };
    let file = match options.open(path) {
        Ok(f) => f,
        Err(_) if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            return Err(refuse("a symbolic link"));
        }
        Err(e) => return Err(io_err(format!("cannot open {}", path.display()), e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| io_err(format!("cannot read {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(refuse(if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file"
        }));
    }
    Ok(file)
}

/// Whether a process has the data directory at `root` open: its lock is held. The
/// answer names the holder when its lock file does. Nothing is written (the lock
/// is tried and let go at once); a directory without a lock file is not open.
///
/// Errors: `Io` if the lock file exists but cannot be opened or tried, or is no
/// regular file (a folder, a named pipe or a symbolic link under its name: opening
/// the directory fails the same way).
pub fn holder(root: &Path) -> Result<Option<String>> {
    let path = root.join(LOCK_FILE);
    let mut file = match open_lock_file(&path, LockOpen::Read) {
        Ok(f) => f,
        // None there (or gone this instant): nobody holds it.
        Err(_)
            if std::fs::symlink_metadata(&path)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => Ok(Some(read_holder(&mut file))),
        Err(TryLockError::Error(e)) => Err(io_err(format!("cannot lock {}", path.display()), e)),
    }
}

/// The process lock of a data directory, taken without opening the directory: no
/// file is created or written. Held while the value lives.
#[derive(Debug)]
pub struct HeldLock {
    _file: File,
}

/// Takes the process lock of the data directory at `root` if no process holds it
/// and no process opened the directory since `stamp` was read (the lock freed for
/// a moment is not enough: an open between the two would have changed the data).
///
/// Errors: `Locked` if another process holds the lock or opened the directory
/// since `stamp`; `Io` if the lock file cannot be opened.
pub fn hold_lock_since(root: &Path, stamp: &OpenStamp) -> Result<HeldLock> {
    let path = root.join(LOCK_FILE);
    let file = open_lock_file(&path, LockOpen::Read)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(Error::new(
                ErrorKind::Locked,
                format!("the data directory {} is in use", root.display()),
            ));
        }
        Err(TryLockError::Error(e)) => {
            return Err(io_err(format!("cannot lock {}", path.display()), e));
        }
    }
    if open_stamp(root)? != *stamp {
        return Err(Error::new(
            ErrorKind::Locked,
            format!(
                "another process opened the data directory {} meanwhile",
                root.display()
            ),
        ));
    }
    Ok(HeldLock { _file: file })
}

/// Exchanges the directories `a` and `b` in one step: a crash leaves both names
/// as they were or both swapped. Both must exist, on one file system; the parents
/// are synced, so the exchange is durable when this returns.
///
/// Errors: `Io` (with the system's reason) if the exchange cannot be made, for
/// example across file systems, for a mount point, or on a file system without
/// the operation; `Unsupported` off Linux.
pub fn exchange_dirs(a: &Path, b: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(|e| {
            io_err(
                format!("cannot exchange {} and {}", a.display(), b.display()),
                std::io::Error::from(e),
            )
        })?;
        let parent = |p: &Path| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        sync_dir(&parent(a))?;
        sync_dir(&parent(b))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "exchanging {} and {} in one step needs Linux",
                a.display(),
                b.display()
            ),
        ))
    }
}

/// The process id a held lock file names. The holder writes it just after it took
/// the lock, so an empty file is read again for up to about 50 ms; after that
/// (a holder that died between the two steps) the answer is empty.
fn read_holder(lock: &mut File) -> String {
    let mut holder = String::new();
    for _ in 0..25 {
        holder.clear();
        if lock.seek(SeekFrom::Start(0)).is_ok()
            && lock.read_to_string(&mut holder).is_ok()
            && !holder.trim().is_empty()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    holder.trim().to_string()
}

/// Whether the lock file names this process as its holder.
fn holder_is_us(lock: &mut File) -> bool {
    let mut holder = String::new();
    lock.seek(SeekFrom::Start(0)).is_ok()
        && lock.read_to_string(&mut holder).is_ok()
        && holder.trim() == std::process::id().to_string()
}

impl DataDir {
    /// Opens (creating if needed) the data directory at `root` and takes its process
    /// lock.
    ///
    /// Errors: [`ErrorKind::Locked`] if another process (or another engine in this
    /// process) has it open, naming the holder's process id when it is known;
    /// [`ErrorKind::Io`] if it cannot be created or read.
    pub fn open(root: &Path) -> Result<DataDir> {
        for sub in [SNAPSHOTS, WAL] {
            let path = root.join(sub);
            if let Some(what) = not_a_directory(&path) {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "{} is {what}: the data directory cannot be opened until it is a directory again (an unmounted disk?)",
                        path.display(),
                    ),
                ));
            }
            std::fs::create_dir_all(root.join(sub))
                .map_err(|e| io_err(format!("cannot create {}", root.join(sub).display()), e))?;
        }
        let lock_path = root.join(LOCK_FILE);
        let mut lock = open_lock_file(&lock_path, LockOpen::Create)?;
        // A lock our own process holds may be held only by a child being spawned:
        // between fork and exec it shares our descriptors, and the lock with them,
        // for a moment after we closed ours (a test saw exactly that). Such a lock
        // is retried for up to about 100 ms; one held by a live engine of ours stays
        // and is refused after that wait.
        let mut waits = 0;
        let locked = loop {
            match lock.try_lock() {
                Err(TryLockError::WouldBlock) if waits < 50 && holder_is_us(&mut lock) => {
                    waits += 1;
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                other => break other,
            }
        };
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut lock);
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "the data directory {} is in use{}",
                        root.display(),
                        if holder.is_empty() {
                            String::new()
                        } else {
                            format!(" by process {holder}")
                        }
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(io_err(format!("cannot lock {}", lock_path.display()), e));
            }
        }
        lock.set_len(0)
            .and_then(|()| lock.seek(SeekFrom::Start(0)))
            .and_then(|_| write!(lock, "{}", std::process::id()))
            .map_err(|e| io_err(format!("cannot write {}", lock_path.display()), e))?;
        Ok(DataDir {
            root: root.to_path_buf(),
            _lock: lock,
        })
    }

    /// Refuses a directory that holds an ON_DISK_TRANSACTIONAL database (a
    /// `rocksdb/` folder) for an in-memory `mode`: loading only its snapshot exports
    /// and writing our files beside RocksDB's would silently leave its data behind.
    /// Errors: `Unsupported`, naming the directory; nothing is changed.
    pub fn refuse_on_disk_database(&self, mode: &str) -> Result<()> {
        let rocks = self.root.join("rocksdb");
        if rocks.exists() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{} holds an ON_DISK_TRANSACTIONAL database ({}); {mode} mode cannot open it: copy one of its snapshot exports into an empty directory's snapshots/ and open that",
                    self.root.display(),
                    rocks.display()
                ),
            ));
        }
        Ok(())
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `snapshots/`.
    pub fn snapshots_dir(&self) -> PathBuf {
        self.root.join(SNAPSHOTS)
    }

    /// `wal/`.
    pub fn wal_dir(&self) -> PathBuf {
        self.root.join(WAL)
    }

    /// `archive/`: the WAL archive (a data directory's layout), which may not exist.
    pub fn archive_dir(&self) -> PathBuf {
        self.root.join(ARCHIVE)
    }

    /// Refuses an `archive/` that is something else than a directory (a file, a link
    /// to nothing: an unmounted disk?), for an engine that moves files into it:
    /// `Io`, naming it. A missing one is made when the first file moves in.
    pub fn check_archive(&self) -> Result<()> {
        let archive = self.archive_dir();
        if let Some(what) = not_a_directory(&archive) {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} is {what}: the WAL archive is on, and retention cannot move files into it until it is a directory again (an unmounted disk?)",
                    archive.display(),
                ),
            ));
        }
        Ok(())
    }

    /// Bytes of our snapshots and WAL segments (foreign files are not counted).
    pub fn bytes_used(&self) -> Result<u64> {
        Ok(self.list()?.bytes())
    }

    /// Lists snapshots and segments; foreign files are reported with a warning.
    pub fn list(&self) -> Result<Listing> {
        self.scan(true)
    }

    /// Lists `snapshots/` only (for a backend whose `wal/` holds another engine's
    /// log files), oldest first; foreign files are warned about as by [`Self::list`].
    pub fn list_snapshots(&self) -> Result<Vec<SnapshotName>> {
        Ok(self.scan(false)?.snapshots)
    }

    fn scan(&self, with_wal: bool) -> Result<Listing> {
        let (snapshots, wal) = (self.snapshots_dir(), self.wal_dir());
        scan(Some(&snapshots), with_wal.then_some(wal.as_path()))
    }

    /// Removes temporary files an interrupted snapshot write left in `snapshots/`
    /// (ours: a dot, a snapshot name, `.tmp`) or `.in-progress/`, those an
    /// interrupted copy into the WAL archive left there, and the files retention
    /// moved into `.in-progress/` to remove that a killed process left; returns how
    /// many.
    pub fn remove_interrupted_writes(&self) -> Result<usize> {
        let mut n = 0;
        for (dir, dotted) in interrupted_write_dirs(&self.root) {
            n += remove_interrupted_in(&dir, dotted)?;
        }
        Ok(n)
    }

    /// Moves every snapshot and WAL segment into `.backup/<unix-seconds>/` (used when
    /// recovery on start-up is off: old files are kept, never deleted). Returns the
    /// folder they went to, if any file was moved.
    pub fn move_aside(&self) -> Result<Option<PathBuf>> {
        let listing = self.list()?;
        if listing.snapshots.is_empty()
            && listing.segments.is_empty()
            && !self.archive_dir().exists()
        {
            return Ok(None);
        }
        let target = backup_folder(&self.root);
        for sub in [SNAPSHOTS, WAL] {
            std::fs::create_dir_all(target.join(sub))
                .map_err(|e| io_err(format!("cannot create {}", target.display()), e))?;
        }
        let files = listing
            .snapshots
            .iter()
            .map(|s| (&s.path, SNAPSHOTS))
            .chain(listing.segments.iter().map(|s| (&s.path, WAL)));
        for (path, sub) in files {
            let Some(name) = path.file_name() else {
                continue;
            };
            let to = target.join(sub).join(name);
            std::fs::rename(path, &to).map_err(|e| {
                io_err(
                    format!("cannot move {} to {}", path.display(), to.display()),
                    e,
                )
            })?;
        }
        // The archive holds the old database's history: it goes with it.
        let archive = self.archive_dir();
        if archive.exists() {
            let to = target.join(ARCHIVE);
            std::fs::rename(&archive, &to).map_err(|e| {
                io_err(
                    format!("cannot move {} to {}", archive.display(), to.display()),
                    e,
                )
            })?;
            sync_dir(&self.root)?;
        }
        sync_dir(&self.snapshots_dir())?;
        sync_dir(&self.wal_dir())?;
        tracing::info!(to = %target.display(), "moved existing durability files aside");
        Ok(Some(target))
    }
}

/// Why something at `path` (a folder of a data directory) cannot serve as a
/// directory: `"not a directory"`, or `"a link to nothing"` (an unmounted disk?);
/// `None` when it is a directory, or nothing is there.
pub fn not_a_directory(path: &Path) -> Option<&'static str> {
    if std::fs::symlink_metadata(path).is_err() || path.is_dir() {
        return None;
    }
    Some(if path.exists() {
        "not a directory"
    } else {
        "a link to nothing"
    })
}

/// Refuses a data directory holding files of two databases: every snapshot and WAL
/// segment whose header reads must carry the same database id. The directory's
/// database is the one most of these files carry (on a tie, its first WAL segment's,
/// else its oldest snapshot's); a file of another is `Corrupt`, naming it first. (Without this, another
/// database's snapshot under a newer name was loaded in place of the directory's
/// own.) Files whose headers do not read are left to the checks of their own.
pub fn one_database(listing: &Listing) -> Result<()> {
    match strangers(listing).into_iter().next() {
        None => Ok(()),
        Some((path, why)) => Err(Error::corrupt(format!("{}: {why}", path.display()))),
    }
}

/// The files [`one_database`] refuses, each with why: for a checker that reports
/// every one.
pub fn strangers(listing: &Listing) -> Vec<(PathBuf, String)> {
    let mut ids: Vec<(crate::DatabaseId, &Path)> = Vec::new();
    let count = listing.segments.len();
    for (i, s) in listing.segments.iter().enumerate() {
        if let Ok(Some(h)) = crate::wal::read_live_segment_header(&s.path, i + 1 == count) {
            ids.push((h.database, &s.path));
        }
    }
    for s in &listing.snapshots {
        if let Ok(h) = crate::snapshot::read_snapshot_header(&s.path) {
            ids.push((h.database, &s.path));
        }
    }
    // The directory's database is the one most of its files carry; on a tie, the
    // WAL's (listed first). A stranger copied in under the first segment's name is
    // then still the stranger. (Found by a hostile-user run: the first segment's id
    // alone made the directory's own files the strangers.)
    let mut votes: Vec<(crate::DatabaseId, usize, &Path)> = Vec::new();
    for (id, path) in &ids {
        match votes.iter_mut().find(|(v, _, _)| v == id) {
            Some(v) => v.1 += 1,
            None => votes.push((*id, 1, path)),
        }
    }
    let Some(&(ours, _, reference)) = votes
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, n, _))| (*n, std::cmp::Reverse(*i)))
        .map(|(_, v)| v)
    else {
        return Vec::new();
    };
    ids.iter()
        .filter(|(id, _)| *id != ours)
        .map(|(theirs, stranger)| {
            (
                stranger.to_path_buf(),
                format!(
                    "belongs to database {theirs}, but {} (and the directory's other files) belong to {ours}: a file of another database; {}",
                    reference.display(),
                    crate::lost::MOVE_OUT_OF_THE_DIRECTORY
                ),
            )
        })
        .collect()
}

/// The folders of data directory `root` where interrupted writes leave files (each
/// with whether its leftovers' names start with a dot); see
/// [`DataDir::remove_interrupted_writes`].
fn interrupted_write_dirs(root: &Path) -> Vec<(PathBuf, bool)> {
    let archive = root.join(ARCHIVE);
    let mut dirs = vec![(root.join(SNAPSHOTS), true)];
    // Files under our names behind a link there are someone else's: neither listed
    // nor removed.
    match in_progress_dir(root) {
        Some(in_progress) => dirs.push((in_progress, false)),
        None => {
            tracing::warn!(path = %root.join(IN_PROGRESS).display(), "a link where the folder of work in progress belongs is not ours: left alone");
        }
    }
    // An archive that is no directory is left to [`DataDir::check_archive`].
    if archive.is_dir() {
        dirs.push((archive.join(SNAPSHOTS), true));
        dirs.push((archive.join(WAL), true));
    }
    dirs
}

/// The folder of work in progress of data directory `root` (`root/.in-progress`,
/// which need not exist yet), or `None` where a symbolic link stands there. It is
/// a folder the engines and tools create, never a link (`snapshots/` and `archive/`
/// may be links to another disk): what is behind a link there is someone else's,
/// so nothing is written, moved or removed through it. Every use of the folder
/// goes through here or [`in_progress_dir_or_refuse`].
pub fn in_progress_dir(root: &Path) -> Option<PathBuf> {
    let dir = root.join(IN_PROGRESS);
    (!is_link(&dir)).then_some(dir)
}

/// [`in_progress_dir`], or an `InvalidInput` error naming the link for a caller
/// that has no other place to work in; `what` says what it would put there.
pub fn in_progress_dir_or_refuse(root: &Path, what: &str) -> Result<PathBuf> {
    in_progress_dir(root).ok_or_else(|| {
        Error::invalid_input(format!(
            "{} is a link, where the folder of work in progress belongs ({what}): it is not ours, so nothing is written through it; move it away and try again",
            root.join(IN_PROGRESS).display()
        ))
    })
}

/// Whether `path` is a symbolic link (of whatever target).
fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The files an interrupted write or deletion left in data directory `root` (which
/// need not be open), each with the bytes it takes on disk (`None` for a link, of
/// which only the link is removed): what the next open removes
/// ([`DataDir::remove_interrupted_writes`]). A folder that cannot be listed is passed
/// over: the listing only informs.
pub fn interrupted_writes(root: &Path) -> Vec<(PathBuf, Option<u64>)> {
    let mut found = Vec::new();
    for (dir, dotted) in interrupted_write_dirs(root) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if is_interrupted_write(&entry, dotted) {
                let bytes = entry
                    .metadata()
                    .ok()
                    .filter(|m| !m.file_type().is_symlink())
                    .map(|m| on_disk_bytes(&m));
                found.push((entry.path(), bytes));
            }
        }
    }
    found.sort();
    found
}

/// The bytes a file takes on disk (a sparse one: less than its length).
fn on_disk_bytes(m: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        m.blocks().saturating_mul(512)
    }
    #[cfg(not(unix))]
    {
        m.len()
    }
}

/// Whether `entry` (of a folder [`interrupted_write_dirs`] names) is a leftover of
/// ours: a file (or link) under a snapshot's or segment's name with `.tmp` (or, in
/// `.in-progress/`, retention's deletion suffix); a folder under such a name is
/// someone else's.
fn is_interrupted_write(entry: &std::fs::DirEntry, dotted: bool) -> bool {
    let name = entry.file_name();
    let Some(name) = name.to_str() else {
        return false;
    };
    let stem = if dotted {
        name.strip_prefix('.')
    } else {
        Some(name)
    };
    // `.in-progress/` also holds files retention moved there to remove.
    let ours = |suffix: &str| {
        stem.and_then(|n| n.strip_suffix(suffix))
            .is_some_and(|n| parse_snapshot_name(n).is_some() || parse_segment_name(n).is_some())
    };
    if !(ours(".tmp") || (!dotted && ours(crate::retention::DELETED_SUFFIX))) {
        return false;
    }
    if entry.file_type().is_ok_and(|t| t.is_dir()) {
        tracing::warn!(path = %entry.path().display(), "a folder under the name of a leftover of ours is not ours: left alone");
        return false;
    }
    true
}

/// Removes the temporary snapshot files in `dir` (`.<name>.tmp` when `dotted`, as
/// older versions wrote them into `snapshots/`, else `<name>.tmp`); a missing `dir`
/// has none.
fn remove_interrupted_in(dir: &Path, dotted: bool) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // A missing folder has none; one that is a file has none either (the
        // listing, or the archive's check, names it: opening the directory without
        // the archive must not fail on the archive's insides).
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(0);
        }
        Err(e) => return Err(io_err(format!("cannot list {}", dir.display()), e)),
    };
    let mut n = 0;
    for entry in entries.flatten() {
        // Only a file (or a link, removed itself) is ours under such a name: a folder
        // is someone else's and stays. Nothing reads these leftovers, so one that
        // cannot be removed costs only its space: a warning, not a failed open (a
        // hostile-user run: a folder under such a name stopped every open).
        if !is_interrupted_write(&entry, dotted) {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(file = %path.display(), "removed a leftover of an interrupted write or deletion");
                n += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "a leftover of an interrupted write or deletion cannot be removed");
            }
        }
    }
    Ok(n)
}

/// Whether `root` holds a file named as one of ours: a snapshot in `snapshots/`, a
/// WAL segment (or, for the on-disk mode, a RocksDB log) in `wal/`. Other files
/// there do not make a directory a database.
pub fn has_our_files(root: &Path) -> bool {
    let any = |sub: &str, ours: &dyn Fn(&str) -> bool| {
        std::fs::read_dir(root.join(sub)).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_str().is_some_and(ours))
        })
    };
    any(SNAPSHOTS, &|n| parse_snapshot_name(n).is_some())
        || any(WAL, &|n| {
            parse_segment_name(n).is_some() || n.ends_with(".log")
        })
}

/// Lists the snapshots and WAL segments of the data directory `root` without
/// taking its lock (for reading a directory another process may hold, or a backup);
/// a missing `snapshots/` or `wal/` lists as empty.
pub fn list_files(root: &Path) -> Result<Listing> {
    let (snapshots, wal) = (root.join(SNAPSHOTS), root.join(WAL));
    scan(
        snapshots.exists().then_some(snapshots.as_path()),
        wal.exists().then_some(wal.as_path()),
    )
}

/// As [`list_files`], but snapshots out of commit order are listed, not refused: for
/// a check that reports them itself ([`Listing::out_of_order`]).
pub fn list_files_in_any_order(root: &Path) -> Result<Listing> {
    let (snapshots, wal) = (root.join(SNAPSHOTS), root.join(WAL));
    scan_in_any_order(
        snapshots.exists().then_some(snapshots.as_path()),
        wal.exists().then_some(wal.as_path()),
    )
}

/// Lists `snapshots/` of the data directory `root` alone, without its lock (for an
/// on-disk database, whose `wal/` holds RocksDB's log files, not ours); foreign
/// files are those of `snapshots/`.
pub fn list_snapshot_files(root: &Path) -> Result<Listing> {
    let snapshots = root.join(SNAPSHOTS);
    scan(snapshots.exists().then_some(snapshots.as_path()), None)
}

/// A file of the data directory whose name is one of ours.
enum Ours {
    Snapshot(SnapshotName),
    Segment(SegmentName),
}

/// What an entry listed under one of our names is.
enum Entry {
    /// A regular file, or a link to one: ours to read.
    File,
    /// Gone since the listing (retention or a finished snapshot's rename, in another
    /// thread): not damage.
    Gone,
    /// Something else, or a link whose target is gone: damage, and why.
    NotAFile(String),
}

fn entry_at(path: &Path, kind: &str) -> Entry {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Entry::File,
        Ok(_) => Entry::NotAFile(format!("named as a {kind} but not a regular file")),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && std::fs::symlink_metadata(path)
                    .is_err_and(|l| l.kind() == std::io::ErrorKind::NotFound) =>
        {
            Entry::Gone
        }
        Err(e) => Entry::NotAFile(format!(
            "named as a {kind} but cannot be read (a link whose target is gone?): {e}"
        )),
    }
}

fn scan(snapshots: Option<&Path>, wal: Option<&Path>) -> Result<Listing> {
    let listing = scan_in_any_order(snapshots, wal)?;
    if let Some((path, why)) = listing.not_files.first() {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!("{}: {why}", path.display()),
        ));
    }
    match listing.out_of_order() {
        Some(o) => Err(o.error()),
        None => Ok(listing),
    }
}

fn scan_in_any_order(snapshots: Option<&Path>, wal: Option<&Path>) -> Result<Listing> {
    let mut listing = Listing::default();
    let dirs = snapshots
        .map(|s| (s, true))
        .into_iter()
        .chain(wal.map(|w| (w, false)));
    for (dir, is_snapshot) in dirs {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            // `snapshots/` or `wal/` as a file: damage of the directory, not a
            // failure of this machine.
            if e.kind() == std::io::ErrorKind::NotADirectory {
                Error::corrupt(format!(
                    "{}: not a directory, where the {} belong",
                    dir.display(),
                    if is_snapshot {
                        "snapshots"
                    } else {
                        "WAL segments"
                    }
                ))
            } else {
                io_err(format!("cannot list {}", dir.display()), e)
            }
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| io_err(format!("cannot list {}", dir.display()), e))?;
            let path = entry.path();
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                listing.foreign.push(path);
                continue;
            };
            // Our own temporary files start with a dot; an interrupted write
            // leaves one behind, which is not data.
            if name.starts_with('.') && name.ends_with(".tmp") {
                continue;
            }
            // The name decides whose a file is. One named as ours is ours whatever
            // it is on disk: a symbolic link is followed (a log on another disk), and
            // one that is not a regular file, or a link whose target is gone, is
            // damage, never skipped as foreign (that would silently shorten the log
            // or lose a snapshot).
            let ours = if is_snapshot {
                parse_snapshot_name(name).map(|(seq, commit_ts)| {
                    Ours::Snapshot(SnapshotName {
                        seq,
                        commit_ts,
                        path: path.clone(),
                    })
                })
            } else {
                parse_segment_name(name).map(|seq| {
                    Ours::Segment(SegmentName {
                        seq,
                        path: path.clone(),
                    })
                })
            };
            let Some(ours) = ours else {
                listing.foreign.push(path);
                continue;
            };
            let kind = if is_snapshot {
                "snapshot"
            } else {
                "WAL segment"
            };
            match entry_at(&path, kind) {
                Entry::File => {}
                Entry::Gone => continue,
                Entry::NotAFile(why) => {
                    listing.not_files.push((path, why));
                    continue;
                }
            }
            match ours {
                Ours::Snapshot(s) => listing.snapshots.push(s),
                Ours::Segment(s) => listing.segments.push(s),
            }
        }
    }
    listing.snapshots.sort();
    listing.segments.sort();
    for f in &listing.foreign {
        tracing::warn!(file = %f.display(), "ignoring a file that is not ours");
    }
    Ok(listing)
}

/// A new, unused folder `.backup/<unix-seconds>[-n]/` under `root` (not created).
fn backup_folder(root: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut target = root.join(BACKUP).join(stamp.to_string());
    let mut n = 0;
    while target.exists() {
        n += 1;
        target = root.join(BACKUP).join(format!("{stamp}-{n}"));
    }
    target
}

/// Moves the subdirectories `names` of the data directory `root` (those that exist)
/// whole into a new `.backup/<unix-seconds>/` folder, each by one rename, and syncs
/// both directories; nothing is deleted. Returns the folder, if anything moved. The
/// caller holds no engine open on `root`.
pub fn move_dirs_aside(root: &Path, names: &[&str]) -> Result<Option<PathBuf>> {
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| root.join(n).exists())
        .collect();
    if present.is_empty() {
        return Ok(None);
    }
    let target = backup_folder(root);
    std::fs::create_dir_all(&target)
        .map_err(|e| io_err(format!("cannot create {}", target.display()), e))?;
    for name in present {
        let (from, to) = (root.join(name), target.join(name));
        std::fs::rename(&from, &to).map_err(|e| {
            io_err(
                format!("cannot move {} to {}", from.display(), to.display()),
                e,
            )
        })?;
    }
    sync_dir(&target)?;
    sync_dir(root)?;
    tracing::info!(to = %target.display(), "moved directories aside");
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retention or a snapshot's rename in another thread may remove a file between
    /// the listing and the look at it: that file is gone, not damage. (Regression:
    /// the long stress run failed a snapshot with "cannot be read" under load.)
    #[cfg(unix)]
    #[test]
    fn a_file_gone_since_the_listing_is_skipped_and_a_dangling_link_is_corrupt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = dir.path().join("00000000000000000001.wal");
        assert!(matches!(entry_at(&gone, "WAL segment"), Entry::Gone));
        let file = dir.path().join("real");
        std::fs::write(&file, b"x").expect("write");
        assert!(matches!(entry_at(&file, "WAL segment"), Entry::File));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).expect("symlink");
        assert!(matches!(
            entry_at(&link, "WAL segment"),
            Entry::NotAFile(why) if why.contains("cannot be read")
        ));
        assert!(matches!(
            entry_at(dir.path(), "snapshot"),
            Entry::NotAFile(why) if why.contains("not a regular file")
        ));
        // In a listing: named by the listing in any order, refused by every other.
        let root = tempfile::tempdir().expect("tempdir");
        let wal = root.path().join(WAL);
        std::fs::create_dir(&wal).expect("wal/");
        let segment = wal.join("00000000000000000001.wal");
        std::fs::create_dir(&segment).expect("a folder under a segment's name");
        let listing = list_files_in_any_order(root.path()).expect("listed");
        assert_eq!(listing.not_files.len(), 1);
        assert_eq!(listing.not_files[0].0, segment);
        let e = list_files(root.path()).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(
            e.message()
                .starts_with(&format!("{}: named as a WAL segment", segment.display())),
            "{e}"
        );
    }

    #[test]
    fn a_second_open_is_locked_and_names_the_holder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let first = DataDir::open(tmp.path()).expect("first open");
        let err = DataDir::open(tmp.path()).expect_err("second open");
        assert_eq!(err.kind(), ErrorKind::Locked);
        assert!(
            err.message().contains(&std::process::id().to_string()),
            "{err}"
        );
        drop(first);
        DataDir::open(tmp.path()).expect("open after release");
    }

    #[test]
    fn the_lock_is_held_again_only_if_nobody_opened_the_directory_meanwhile() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let open = DataDir::open(tmp.path()).expect("open");
        let stamp = open_stamp(tmp.path()).expect("stamp");
        let e = hold_lock_since(tmp.path(), &stamp).expect_err("held by the open");
        assert_eq!(e.kind(), ErrorKind::Locked);
        drop(open);
        let held = hold_lock_since(tmp.path(), &stamp).expect("nobody opened it since");
        let e = DataDir::open(tmp.path()).expect_err("the held lock refuses an open");
        assert_eq!(e.kind(), ErrorKind::Locked);
        drop(held);
        // An open and a close in between: the stamp tells, though the lock is free.
        std::thread::sleep(std::time::Duration::from_millis(5));
        drop(DataDir::open(tmp.path()).expect("open"));
        std::fs::write(tmp.path().join(LOCK_FILE), stamp.holder.as_bytes()).expect("write");
        let e = hold_lock_since(tmp.path(), &stamp).expect_err("opened meanwhile");
        assert_eq!(e.kind(), ErrorKind::Locked);
        assert!(e.message().contains("meanwhile"), "{e}");
    }

    #[test]
    fn the_holder_of_an_open_directory_is_named_without_a_write() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(holder(tmp.path()).expect("no lock file"), None);
        let open = DataDir::open(tmp.path()).expect("open");
        let stamp = open_stamp(tmp.path()).expect("stamp");
        assert_eq!(
            holder(tmp.path()).expect("held"),
            Some(std::process::id().to_string())
        );
        drop(open);
        assert_eq!(holder(tmp.path()).expect("let go"), None);
        assert_eq!(
            open_stamp(tmp.path()).expect("stamp"),
            stamp,
            "nothing written"
        );
        std::fs::remove_file(tmp.path().join(LOCK_FILE)).expect("remove");
        std::fs::create_dir(tmp.path().join(LOCK_FILE)).expect("a folder");
        let e = holder(tmp.path()).expect_err("a folder");
        assert_eq!(e.kind(), ErrorKind::Io);
        let e = DataDir::open(tmp.path()).expect_err("opening fails too");
        assert_eq!(e.kind(), ErrorKind::Io);
        std::fs::remove_dir(tmp.path().join(LOCK_FILE)).expect("remove");
        // A link, dangling or not, is refused by both, and its target is neither
        // created nor written.
        let lock = tmp.path().join(LOCK_FILE);
        std::os::unix::fs::symlink("nowhere/lock", &lock).expect("link");
        let e = holder(tmp.path()).expect_err("a link into nothing");
        assert!(e.message().contains("symbolic link"), "{e}");
        DataDir::open(tmp.path()).expect_err("opening fails too");
        std::fs::create_dir(tmp.path().join("nowhere")).expect("mkdir");
        DataDir::open(tmp.path()).expect_err("a dangling link");
        assert!(!tmp.path().join("nowhere/lock").exists(), "not created");
        std::fs::write(tmp.path().join("nowhere/lock"), "precious").expect("write");
        holder(tmp.path()).expect_err("a link to a file");
        open_stamp(tmp.path()).expect_err("a link to a file");
        let e = DataDir::open(tmp.path()).expect_err("a link to a file");
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("nowhere/lock")).expect("read"),
            "precious",
            "the target is not written"
        );
        std::fs::remove_file(&lock).expect("remove");
        // A named pipe: refused at once, no open blocks waiting for a writer.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &lock,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        let e = holder(tmp.path()).expect_err("a pipe");
        assert!(e.message().contains("not a regular file"), "{e}");
        DataDir::open(tmp.path()).expect_err("a pipe");
        std::fs::remove_file(&lock).expect("remove");
        drop(DataDir::open(tmp.path()).expect("a file again"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn exchanged_directories_swap_their_contents() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for (d, f) in [(&a, "in-a"), (&b, "in-b")] {
            std::fs::create_dir(d).expect("mkdir");
            std::fs::write(d.join(f), b"x").expect("write");
        }
        exchange_dirs(&a, &b).expect("exchange");
        assert!(a.join("in-b").exists() && b.join("in-a").exists());
        assert!(!a.join("in-a").exists() && !b.join("in-b").exists());
        let e = exchange_dirs(&a, &tmp.path().join("missing")).expect_err("one is missing");
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains("missing"), "{e}");
    }

    #[test]
    fn names_sort_by_age_and_foreign_files_are_left_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::open(tmp.path()).expect("open");
        for (seq, ts) in [(2, 50), (10, 900), (1, 7)] {
            std::fs::write(dir.snapshots_dir().join(snapshot_file_name(seq, ts)), b"x")
                .expect("write");
        }
        std::fs::write(dir.wal_dir().join(segment_file_name(3)), b"x").expect("write");
        std::fs::write(dir.wal_dir().join("notes.txt"), b"mine").expect("write");
        std::fs::write(dir.snapshots_dir().join("1_2.snapshot"), b"short").expect("write");
        // Twenty characters, but a sign is no digit: names we never write.
        let signed = format!("+{}", &snapshot_file_name(5, 5)[1..]);
        std::fs::write(dir.snapshots_dir().join(&signed), b"mine").expect("write");
        let signed_wal = format!("+{}", &segment_file_name(9)[1..]);
        std::fs::write(dir.wal_dir().join(&signed_wal), b"mine").expect("write");
        std::fs::write(dir.snapshots_dir().join(".x.snapshot.tmp"), b"partial").expect("write");
        let tmp_name = format!(".{}.tmp", snapshot_file_name(4, 4));
        std::fs::write(dir.snapshots_dir().join(&tmp_name), b"partial").expect("write");
        let l = dir.list().expect("list");
        let seqs: Vec<u64> = l.snapshots.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, vec![1, 2, 10]);
        assert_eq!(l.snapshots[2].commit_ts, 900);
        assert_eq!(l.segments.len(), 1);
        assert_eq!(l.foreign.len(), 4);
        assert!(dir.wal_dir().join("notes.txt").exists());
        assert_eq!(dir.remove_interrupted_writes().expect("cleanup"), 1);
        assert!(!dir.snapshots_dir().join(&tmp_name).exists());
        assert!(
            dir.snapshots_dir().join(".x.snapshot.tmp").exists(),
            "not ours: kept"
        );
        assert!(dir.snapshots_dir().join(&signed).exists());
        assert!(dir.wal_dir().join(&signed_wal).exists());
    }

    /// A snapshot copied in by hand under a later sequence number than a newer one
    /// would be loaded as the newest, silently returning to its older state: the
    /// listing refuses it, naming both files. Equal commits under rising sequence
    /// numbers (a snapshot with nothing new since the last) are normal; a file whose
    /// header does not read, or names another database, is left to the checks that
    /// say so.
    #[test]
    fn an_older_commit_under_a_later_sequence_is_corrupt() -> Result<()> {
        let tmp = tempfile::tempdir()?;
        let dir = DataDir::open(tmp.path())?;
        let database = crate::DatabaseId::random();
        let write = |seq, ts, database| -> Result<PathBuf> {
            let w = crate::SnapshotWriter::create(&dir.snapshots_dir(), seq, ts, database)?;
            Ok(w.finish()?.path)
        };
        for (seq, ts) in [(1, 5), (2, 9), (3, 9)] {
            write(seq, ts, database)?;
        }
        assert_eq!(dir.list()?.snapshots.len(), 3);
        let stranger = write(4, 5, crate::DatabaseId::random())?;
        assert_eq!(
            dir.list()?.snapshots.len(),
            4,
            "another database's: not this check's"
        );
        std::fs::remove_file(&stranger)?;
        std::fs::write(&stranger, b"x")?;
        assert_eq!(
            dir.list()?.snapshots.len(),
            4,
            "no header: not this check's"
        );
        std::fs::remove_file(&stranger)?;
        let copy = write(4, 5, database)?;
        let e = dir.list().expect_err("an older commit under seq 4");
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        let m = e.message();
        assert!(m.starts_with(&copy.display().to_string()), "{m}");
        assert!(
            m.contains(&snapshot_file_name(3, 9)) && m.contains("commit 5"),
            "{m}"
        );
        let e = list_files(tmp.path()).expect_err("without the lock too");
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        // Listed in any order, the pair is found by name.
        let listing = list_files_in_any_order(tmp.path())?;
        assert_eq!(listing.snapshots.len(), 4);
        let o = listing.out_of_order().expect("out of order");
        assert_eq!((o.earlier.seq, o.later.seq), (3, 4));
        assert_eq!(o.later.path, copy);
        assert_eq!(o.copy().path, copy);
        assert_eq!(o.error().message(), m);
        // Snapshot 1 holds commit 5 too: the copy is named as one.
        assert!(
            m.contains(&snapshot_file_name(1, 5)) && m.contains("it is a copy"),
            "{m}"
        );
        Ok(())
    }

    /// A newer snapshot copied under an earlier sequence number: the pair out of
    /// order is the copy and the genuine snapshot after it, and the copy is the one
    /// named, since another snapshot in order names its commit.
    #[test]
    fn a_newer_snapshot_under_an_earlier_sequence_is_the_copy() -> Result<()> {
        let tmp = tempfile::tempdir()?;
        let dir = DataDir::open(tmp.path())?;
        let database = crate::DatabaseId::random();
        let write = |seq, ts| -> Result<PathBuf> {
            let w = crate::SnapshotWriter::create(&dir.snapshots_dir(), seq, ts, database)?;
            Ok(w.finish()?.path)
        };
        let genuine = write(4, 20)?;
        write(6, 30)?;
        let copy = write(2, 30)?;
        let e = dir.list().expect_err("out of order");
        assert!(e.message().starts_with(&copy.display().to_string()), "{e}");
        assert!(e.message().contains("copy"), "{e}");
        let o = list_files_in_any_order(tmp.path())?
            .out_of_order()
            .expect("out of order");
        assert_eq!(
            (o.earlier.path.clone(), o.later.path.clone()),
            (copy.clone(), genuine)
        );
        assert_eq!(o.copy().path, copy);
        // With no snapshot in order naming the copy's commit, the names do not tell:
        // the later one (which opening would load) is named, as before.
        std::fs::remove_file(dir.snapshots_dir().join(snapshot_file_name(6, 30)))?;
        let o = list_files_in_any_order(tmp.path())?
            .out_of_order()
            .expect("out of order");
        assert_eq!(o.copy().seq, 4);
        Ok(())
    }

    #[test]
    fn moving_aside_keeps_every_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::open(tmp.path()).expect("open");
        std::fs::write(dir.snapshots_dir().join(snapshot_file_name(1, 1)), b"s").expect("w");
        std::fs::write(dir.wal_dir().join(segment_file_name(1)), b"w").expect("w");
        let to = dir.move_aside().expect("move").expect("moved something");
        assert!(to.join("snapshots").join(snapshot_file_name(1, 1)).exists());
        assert!(to.join("wal").join(segment_file_name(1)).exists());
        let l = dir.list().expect("list");
        assert!(l.snapshots.is_empty() && l.segments.is_empty());
        assert_eq!(dir.move_aside().expect("nothing to move"), None);
    }
}
