//! Retention (which files may go) and the deletion gate (lock/unlock for backups).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use engine_api::{LockChange, LockStatus, Result, WalArchive};
use parking_lot::Mutex;

use crate::dir::{SegmentName, SnapshotName};
use crate::format::io_error;

/// The files retention wants gone: every snapshot but the newest `keep`, and every
/// WAL segment whose records all precede the oldest kept snapshot. Segment `i`
/// qualifies when segment `i + 1` starts at or before that snapshot's timestamp: then
/// its commits are older than the snapshot, and any other record in it (an id
/// reservation carries the next commit timestamp) was written before the snapshot
/// began, so the snapshot covers it. The newest segment is always kept. The second
/// element of each pair is the segment's first timestamp (from its header).
pub fn plan(
    snapshots: &[SnapshotName],
    segments: &[(SegmentName, u64)],
    keep: usize,
) -> Vec<PathBuf> {
    let keep = keep.max(1);
    let mut doomed = Vec::new();
    if snapshots.len() > keep {
        doomed.extend(
            snapshots[..snapshots.len() - keep]
                .iter()
                .map(|s| s.path.clone()),
        );
    }
    let Some(oldest_kept) = snapshots.get(snapshots.len().saturating_sub(keep)) else {
        return doomed;
    };
    for pair in segments.windows(2) {
        let (seg, _) = &pair[0];
        let (_, next_first) = pair[1];
        if next_first <= oldest_kept.commit_ts {
            doomed.push(seg.path.clone());
        } else {
            break;
        }
    }
    doomed
}

/// Deletes through `gate` (queued while the directory is locked) what [`plan`]
/// wants gone from `dir`, keeping the newest `keep` snapshots whose header reads. A
/// snapshot whose header does not read is neither counted among those kept (it
/// could not be opened in their place) nor deleted (nothing goes on a guess: a
/// user, told by the open or by verify, decides). A WAL segment whose header does
/// not read stops WAL deletion at that point. With `archive` set, what
/// retention lets go moves into the WAL archive instead, and the archive then keeps
/// what [`plan_archive`] leaves of it.
pub fn apply(
    dir: &crate::DataDir,
    gate: &DeletionGate,
    keep: usize,
    archive: Option<&WalArchive>,
) -> Result<()> {
    let listing = dir.list()?;
    let snapshots: Vec<SnapshotName> = listing
        .snapshots
        .into_iter()
        .filter(|s| match crate::snapshot::read_snapshot_header(&s.path) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "retention neither counts nor deletes a snapshot whose header does not read");
                false
            }
        })
        .collect();
    let mut segments = Vec::new();
    for s in listing.segments {
        match crate::wal::read_segment_header(&s.path) {
            Ok(h) => segments.push((s, h.first_ts)),
            Err(_) => break,
        }
    }
    let doomed = plan(&snapshots, &segments, keep);
    let Some(window) = archive else {
        // A link where `.in-progress/` belongs is not ours: files are deleted in
        // place rather than moved through it.
        let aside = crate::dir::in_progress_dir(dir.root());
        return gate.remove(
            doomed
                .into_iter()
                .map(|file| Removal::Delete {
                    file,
                    aside: aside.clone(),
                })
                .collect(),
        );
    };
    let root = dir.archive_dir();
    let wal = dir.wal_dir();
    gate.archive(
        doomed
            .into_iter()
            .map(|file| {
                let sub = if file.starts_with(&wal) {
                    "wal"
                } else {
                    "snapshots"
                };
                (file, root.join(sub))
            })
            .collect(),
    )?;
    prune_archive(&root, gate, window, SystemTime::now())
}

/// Removes through `gate` what [`plan_archive`] wants gone from the archive `root`
/// at `now`. An archived file whose header does not read stops the pruning (with a
/// warning): nothing is removed on a guess.
fn prune_archive(
    root: &Path,
    gate: &DeletionGate,
    window: &WalArchive,
    now: SystemTime,
) -> Result<()> {
    let listing = crate::dir::list_files(root)?;
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut snapshots = Vec::new();
    for s in &listing.snapshots {
        match crate::snapshot::read_snapshot_header(&s.path) {
            Ok(h) => snapshots.push(Archived {
                path: s.path.clone(),
                ts: s.commit_ts,
                created: Some(h.created_at),
                bytes: size(&s.path),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "the WAL archive is not pruned: a snapshot in it does not read");
                return Ok(());
            }
        }
    }
    let mut segments = Vec::new();
    for s in &listing.segments {
        match crate::wal::read_segment_header(&s.path) {
            Ok(h) => segments.push(Archived {
                path: s.path.clone(),
                ts: h.first_ts,
                created: None,
                bytes: size(&s.path),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "the WAL archive is not pruned: a segment in it does not read");
                return Ok(());
            }
        }
    }
    gate.delete(plan_archive(&snapshots, &segments, window, now))
}

/// A file in the WAL archive, as [`plan_archive`] weighs it.
#[derive(Debug, Clone)]
pub struct Archived {
    /// The file.
    pub path: PathBuf,
    /// A snapshot's commit timestamp; a segment's first timestamp.
    pub ts: u64,
    /// A snapshot's creation time.
    pub created: Option<SystemTime>,
    /// Its size.
    pub bytes: u64,
}

/// The files the archive lets go (`snapshots` and `segments` oldest first). A point
/// can be restored from a *base* (an archived snapshot, or the database's start when
/// the archive's WAL reaches back to its first commit) and the WAL after it, so the
/// archive is pruned a step at a time: everything before the base kept. By time,
/// that base is the newest written at or before `now - keep_for` (every later point
/// stays restorable); by size, later bases while the kept files exceed `keep_bytes`;
/// when no base is left (or none was ever archived: WAL with no snapshot before it
/// restores nothing), everything goes. The archive's newest segment is only removed
/// with everything else (the one after it is in the data directory).
pub fn plan_archive(
    snapshots: &[Archived],
    segments: &[Archived],
    window: &WalArchive,
    now: SystemTime,
) -> Vec<PathBuf> {
    // (commit timestamp, time written (None for the start), snapshots before it) of
    // each base, oldest first.
    let mut bases: Vec<(u64, Option<SystemTime>, usize)> = Vec::new();
    if segments.first().is_some_and(|s| s.ts <= 1) {
        bases.push((0, None, 0));
    }
    bases.extend(
        snapshots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.ts, s.created, i)),
    );
    let cutoff = window.get_keep_for().and_then(|w| now.checked_sub(w));
    let mut from = match cutoff {
        Some(cutoff) => bases
            .iter()
            .rposition(|(_, t, _)| t.is_none_or(|t| t <= cutoff))
            .unwrap_or(0),
        None => 0,
    };
    // The files that go when the base at `from` is the oldest kept.
    let doomed = |from: usize| -> Vec<&Archived> {
        let Some(&(base_ts, _, before)) = bases.get(from) else {
            return snapshots.iter().chain(segments).collect();
        };
        let mut out: Vec<&Archived> = snapshots[..before].iter().collect();
        for pair in segments.windows(2) {
            if pair[1].ts <= base_ts {
                out.push(&pair[0]);
            } else {
                break;
            }
        }
        out
    };
    let total: u64 = snapshots.iter().chain(segments).map(|f| f.bytes).sum();
    if let Some(max) = window.get_keep_bytes() {
        while from < bases.len() && total - doomed(from).iter().map(|f| f.bytes).sum::<u64>() > max
        {
            from += 1;
        }
    }
    doomed(from).into_iter().map(|f| f.path.clone()).collect()
}

/// A file retention lets go, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Removal {
    /// Deleted: moved into the folder `aside` first (when given and on the same
    /// file system), which takes it out of its folder at once, and removed from
    /// there on another thread (see [`Reaper`]); else removed here.
    Delete {
        file: PathBuf,
        aside: Option<PathBuf>,
    },
    /// Moved into the folder `to` (of the WAL archive).
    Archive { file: PathBuf, to: PathBuf },
}

impl Removal {
    fn file(&self) -> &Path {
        match self {
            Removal::Delete { file, .. } | Removal::Archive { file, .. } => file,
        }
    }

    /// Carries the removal out; a file moved aside to be removed later goes into
    /// `later`.
    fn carry_out(&self, later: &mut Vec<PathBuf>) -> Result<()> {
        match self {
            Removal::Delete {
                file,
                aside: Some(aside),
            } => match move_aside(file, aside) {
                Some(moved) => {
                    later.push(moved);
                    Ok(())
                }
                None => remove(file),
            },
            Removal::Delete { file, aside: None } => remove(file),
            Removal::Archive { file, to } => archive(file, to),
        }
    }
}

/// The suffix of a file retention moved into `.in-progress/` to be removed there;
/// opening removes any such file a process left (see
/// [`crate::DataDir::remove_interrupted_writes`]).
pub(crate) const DELETED_SUFFIX: &str = ".deleted";

/// `file` renamed into `aside` as `<name>.deleted`, or `None` where that rename
/// fails (another file system, no such folder and none can be made): the caller
/// removes it in place.
fn move_aside(file: &Path, aside: &Path) -> Option<PathBuf> {
    let name = file.file_name()?;
    std::fs::create_dir_all(aside).ok()?;
    let to = aside.join(format!("{}{DELETED_SUFFIX}", name.to_string_lossy()));
    std::fs::rename(file, &to).ok()?;
    tracing::debug!(file = %file.display(), "deleted by retention (removed on another thread)");
    Some(to)
}

/// Removes files retention moved aside on threads of its own, so a snapshot's
/// retention does not wait for the file system to free a large file (deleting a
/// bulk import's WAL took about a fifth of the first snapshot after it). The last
/// handle to it waits for what runs (an engine's close), so nothing is left behind
/// by a process that closes; what a killed process left, opening removes.
#[derive(Debug, Default)]
struct Reaper {
    running: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Reaper {
    fn remove_later(&self, files: Vec<PathBuf>) {
        if files.is_empty() {
            return;
        }
        let mut running = self.running.lock();
        running.retain(|h| !h.is_finished());
        let work = {
            let files = files.clone();
            move || {
                for f in &files {
                    if let Err(e) = remove(f) {
                        tracing::warn!(error = %e, "a file retention let go was not removed");
                    }
                }
            }
        };
        match std::thread::Builder::new()
            .name("quiver-retention".into())
            .spawn(work)
        {
            Ok(handle) => running.push(handle),
            // No thread to be had: removed here.
            Err(_) => {
                for f in &files {
                    if let Err(e) = remove(f) {
                        tracing::warn!(error = %e, "a file retention let go was not removed");
                    }
                }
            }
        }
    }

    /// Waits until every file handed over is removed.
    fn wait(&self) {
        let running = std::mem::take(&mut *self.running.lock());
        for h in running {
            let _ = h.join();
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.wait();
    }
}

#[derive(Debug, Default)]
struct GateState {
    locked: bool,
    leases: usize,
    queue: Vec<Removal>,
}

impl GateState {
    fn closed(&self) -> bool {
        self.locked || self.leases > 0
    }
}

/// Decides whether durability files may be deleted (or moved into the WAL archive)
/// now. While the data directory is locked (by `lock` or by any lease), removals
/// are queued instead; unlocking runs the queue. Files are only ever removed
/// through the gate.
#[derive(Debug, Clone, Default)]
pub struct DeletionGate {
    state: Arc<Mutex<GateState>>,
    reaper: Arc<Reaper>,
}

/// Holds the data directory locked until dropped; several may overlap with each
/// other and with the plain lock.
#[derive(Debug)]
pub struct Lease {
    gate: DeletionGate,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let run = {
            let mut s = self.gate.state.lock();
            s.leases -= 1;
            if s.closed() {
                Vec::new()
            } else {
                std::mem::take(&mut s.queue)
            }
        };
        let mut later = Vec::new();
        for r in run {
            if let Err(e) = r.carry_out(&mut later) {
                tracing::warn!(error = %e, "deferred deletion failed");
            }
        }
        self.gate.reaper.remove_later(later);
    }
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            tracing::debug!(file = %path.display(), "deleted by retention");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(&format!("cannot delete {}", path.display()), e)),
    }
}

/// Moves `file` into the folder `to` under its own name: one rename on the same
/// file system; on another, a copy to `.<name>.tmp` there, synced and renamed, and
/// only then the original removed (a crash in between leaves both copies, and the
/// next pass moves the original again). A file already gone is not an error.
fn archive(file: &Path, to: &Path) -> Result<()> {
    let Some(name) = file.file_name() else {
        return Ok(());
    };
    if !file.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(to)
        .map_err(|e| io_error(&format!("cannot create {}", to.display()), e))?;
    let target = to.join(name);
    let from_dir = file.parent().unwrap_or(Path::new("."));
    match std::fs::rename(file, &target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let tmp = to.join(format!(".{}.tmp", name.to_string_lossy()));
            let copied = std::fs::copy(file, &tmp)
                .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
                .and_then(|()| std::fs::rename(&tmp, &target));
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&tmp);
                return Err(io_error(
                    &format!("cannot copy {} into {}", file.display(), to.display()),
                    e,
                ));
            }
            crate::dir::sync_dir(to)?;
            remove(file)?;
        }
        Err(e) => {
            return Err(io_error(
                &format!("cannot move {} into {}", file.display(), to.display()),
                e,
            ));
        }
    }
    crate::dir::sync_dir(to)?;
    crate::dir::sync_dir(from_dir)?;
    tracing::debug!(file = %target.display(), "moved into the WAL archive");
    Ok(())
}

impl DeletionGate {
    /// A gate that is open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deletes `paths` now, or queues them while locked.
    pub fn delete(&self, paths: Vec<PathBuf>) -> Result<()> {
        self.remove(
            paths
                .into_iter()
                .map(|file| Removal::Delete { file, aside: None })
                .collect(),
        )
    }

    /// Waits until the files retention moved aside are removed (closing does).
    pub fn wait_for_removals(&self) {
        self.reaper.wait();
    }

    /// Moves each `(file, folder)` of `moves` into its folder of the WAL archive
    /// now, or queues the moves while locked.
    pub fn archive(&self, moves: Vec<(PathBuf, PathBuf)>) -> Result<()> {
        self.remove(
            moves
                .into_iter()
                .map(|(file, to)| Removal::Archive { file, to })
                .collect(),
        )
    }

    fn remove(&self, removals: Vec<Removal>) -> Result<()> {
        {
            let mut s = self.state.lock();
            if s.closed() {
                for r in removals {
                    if !s.queue.iter().any(|q| q.file() == r.file()) {
                        s.queue.push(r);
                    }
                }
                return Ok(());
            }
        }
        let mut later = Vec::new();
        let done = removals.iter().try_for_each(|r| r.carry_out(&mut later));
        self.reaper.remove_later(later);
        done
    }

    /// Takes the plain lock.
    pub fn lock(&self) -> LockChange {
        let mut s = self.state.lock();
        if s.locked {
            LockChange::Unchanged
        } else {
            s.locked = true;
            LockChange::Changed
        }
    }

    /// Releases the plain lock; if no lease holds the directory either, carries out
    /// the removals queued meanwhile (retention only ever adds to what it wants gone,
    /// so they are still wanted).
    pub fn unlock(&self) -> Result<LockChange> {
        let run = {
            let mut s = self.state.lock();
            if !s.locked {
                return Ok(LockChange::Unchanged);
            }
            s.locked = false;
            if s.closed() {
                Vec::new()
            } else {
                std::mem::take(&mut s.queue)
            }
        };
        let mut later = Vec::new();
        let done = run.iter().try_for_each(|r| r.carry_out(&mut later));
        self.reaper.remove_later(later);
        done.map(|()| LockChange::Changed)
    }

    /// A lease: the directory stays locked until it is dropped.
    pub fn lease(&self) -> Lease {
        self.state.lock().leases += 1;
        Lease { gate: self.clone() }
    }

    /// Locked by the plain lock or a lease?
    pub fn status(&self) -> LockStatus {
        if self.state.lock().closed() {
            LockStatus::Locked
        } else {
            LockStatus::Unlocked
        }
    }

    /// The files waiting for unlock to be deleted or archived.
    pub fn queued(&self) -> Vec<PathBuf> {
        self.state
            .lock()
            .queue
            .iter()
            .map(|r| r.file().to_path_buf())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(seq: u64, ts: u64) -> SnapshotName {
        SnapshotName {
            seq,
            commit_ts: ts,
            path: PathBuf::from(format!("s{seq}")),
        }
    }

    fn seg(seq: u64, first: u64) -> (SegmentName, u64) {
        (
            SegmentName {
                seq,
                path: PathBuf::from(format!("w{seq}")),
            },
            first,
        )
    }

    /// A file under a snapshot's name whose header does not read (cut to nothing,
    /// say) does not count among the snapshots kept, and is not deleted either.
    #[test]
    fn an_unreadable_snapshot_neither_counts_nor_goes() -> Result<()> {
        let root = tempfile::tempdir()?;
        let dir = crate::DataDir::open(root.path())?;
        let database = crate::DatabaseId::random();
        let mut written = Vec::new();
        for (seq, ts) in [(1, 1), (2, 2)] {
            let w = crate::SnapshotWriter::create(&dir.snapshots_dir(), seq, ts, database)?;
            written.push(w.finish()?.path);
        }
        let cut = dir
            .snapshots_dir()
            .join(crate::dir::snapshot_file_name(3, 2));
        std::fs::write(&cut, b"")?;
        apply(&dir, &DeletionGate::new(), 2, None)?;
        for path in written.iter().chain([&cut]) {
            assert!(path.exists(), "{} was deleted", path.display());
        }
        // A third good snapshot: now the oldest good one goes, the cut file stays.
        let w = crate::SnapshotWriter::create(&dir.snapshots_dir(), 4, 3, database)?;
        w.finish()?;
        apply(&dir, &DeletionGate::new(), 2, None)?;
        assert!(!written[0].exists());
        assert!(written[1].exists() && cut.exists());
        Ok(())
    }

    #[test]
    fn keeps_the_newest_snapshots_and_the_wal_they_need() {
        let snaps = [snap(1, 10), snap(2, 20), snap(3, 30), snap(4, 40)];
        // Segments start at ts 1, 15, 21, 35; oldest kept (keep 3) is ts 20.
        let segs = [seg(1, 1), seg(2, 15), seg(3, 21), seg(4, 35)];
        let doomed = plan(&snaps, &segs, 3);
        let names: Vec<String> = doomed.iter().map(|p| p.display().to_string()).collect();
        // s1 goes; w1 (1..14) is covered; w2 (15..20) may hold a record written
        // after the oldest kept snapshot began, so it stays, as does w3 (21..).
        assert_eq!(names, ["s1", "w1"]);
        assert!(plan(&snaps, &segs, 10).iter().all(|p| p.starts_with("w")));
        assert_eq!(plan(&[], &segs, 3), Vec::<PathBuf>::new());
    }

    fn archived(name: &str, ts: u64, created_s: Option<u64>, bytes: u64) -> Archived {
        Archived {
            path: PathBuf::from(name),
            ts,
            created: created_s.map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)),
            bytes,
        }
    }

    fn names(paths: Vec<PathBuf>) -> Vec<String> {
        paths.iter().map(|p| p.display().to_string()).collect()
    }

    #[test]
    fn the_archive_keeps_the_base_of_its_window_and_what_follows() {
        use std::time::{Duration, UNIX_EPOCH};
        // Snapshots of commits 10, 20, 30 written at 100 s, 200 s, 300 s; segments
        // starting at commits 5, 12, 25, 31.
        let snaps = [
            archived("s10", 10, Some(100), 50),
            archived("s20", 20, Some(200), 50),
            archived("s30", 30, Some(300), 50),
        ];
        let segs = [
            archived("w5", 5, None, 10),
            archived("w12", 12, None, 10),
            archived("w25", 25, None, 10),
            archived("w31", 31, None, 10),
        ];
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let hours = |h: u64| WalArchive::default().keep_for(Some(Duration::from_secs(h)));
        // A window starting at 250 s: s20 is its base (written before it); s10 and
        // the segments wholly before commit 20 go; w12 holds commits after 12, maybe
        // after 20, so it stays.
        assert_eq!(
            names(plan_archive(&snaps, &segs, &hours(50), at(300))),
            ["s10", "w5"]
        );
        // A window starting before every snapshot: the oldest snapshot is the base,
        // and w5 holds commits after it (up to 11), so nothing goes.
        assert!(plan_archive(&snaps, &segs, &hours(1000), at(300)).is_empty());
        // A window past every snapshot: the newest is the base.
        assert_eq!(
            names(plan_archive(&snaps, &segs, &hours(10), at(1000))),
            ["s10", "s20", "w5", "w12"]
        );
        // WAL reaching back to the first commit is a base of its own.
        let from_start = [archived("w1", 1, None, 10), archived("w12", 12, None, 10)];
        assert!(plan_archive(&snaps, &from_start, &hours(1000), at(300)).is_empty());
        // No snapshot and no start: nothing restorable, everything goes.
        assert_eq!(
            names(plan_archive(&[], &segs[1..], &hours(1000), at(300))),
            ["w12", "w25", "w31"]
        );
        // By size (190 bytes in all): steps go oldest first until the rest fits;
        // when no step fits, everything goes.
        let bytes = |b: u64| WalArchive::default().keep_for(None).keep_bytes(Some(b));
        assert!(plan_archive(&snaps, &segs, &bytes(190), at(300)).is_empty());
        assert_eq!(
            names(plan_archive(&snaps, &segs, &bytes(130), at(300))),
            ["s10", "w5"]
        );
        assert_eq!(
            names(plan_archive(&snaps, &segs, &bytes(75), at(300))),
            ["s10", "s20", "w5", "w12"]
        );
        assert_eq!(plan_archive(&snaps, &segs, &bytes(10), at(300)).len(), 7);
        // Both windows: the stricter one decides.
        let both = hours(1000).keep_bytes(Some(130));
        assert_eq!(
            names(plan_archive(&snaps, &segs, &both, at(300))),
            ["s10", "w5"]
        );
    }

    #[test]
    fn a_locked_gate_queues_moves_into_the_archive() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("00000000000000000001.wal");
        std::fs::write(&file, b"log").expect("write");
        let to = tmp.path().join("archive").join("wal");
        let gate = DeletionGate::new();
        gate.lock();
        gate.archive(vec![(file.clone(), to.clone())])
            .expect("queued");
        assert!(file.exists() && !to.exists(), "nothing moves while locked");
        assert_eq!(gate.queued(), std::slice::from_ref(&file));
        gate.unlock().expect("unlock");
        assert!(!file.exists());
        assert_eq!(
            std::fs::read(to.join("00000000000000000001.wal")).expect("moved"),
            b"log"
        );
    }

    #[test]
    fn locked_gate_defers_and_unlock_deletes_exactly_the_queue() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        let keep = tmp.path().join("keep");
        for p in [&a, &b, &keep] {
            std::fs::write(p, b"x").expect("write");
        }
        let gate = DeletionGate::new();
        assert_eq!(gate.lock(), LockChange::Changed);
        assert_eq!(gate.lock(), LockChange::Unchanged);
        assert_eq!(gate.status(), LockStatus::Locked);
        gate.delete(vec![a.clone(), b.clone()]).expect("queued");
        assert!(a.exists() && b.exists(), "nothing is deleted while locked");
        let lease = gate.lease();
        assert_eq!(gate.unlock().expect("unlock"), LockChange::Changed);
        assert!(a.exists(), "a lease still holds the directory");
        assert_eq!(gate.status(), LockStatus::Locked);
        drop(lease);
        assert!(!a.exists() && !b.exists() && keep.exists());
        assert_eq!(gate.status(), LockStatus::Unlocked);
        assert_eq!(gate.unlock().expect("unlock"), LockChange::Unchanged);
    }

    /// Retention takes the snapshots it lets go out of `snapshots/` at once (the
    /// listing holds the newest `keep` when `apply` returns), and another thread
    /// removes them from `.in-progress/`: nothing is left there once its removals
    /// are waited for. A file a killed process left there is removed by the next
    /// open; a file there that is not ours is kept.
    #[test]
    fn files_let_go_leave_their_folder_at_once_and_are_removed_aside() -> Result<()> {
        let tmp = tempfile::tempdir()?;
        let dir = crate::DataDir::open(tmp.path())?;
        let database = crate::DatabaseId::random();
        for seq in 1..=3 {
            crate::SnapshotWriter::create(&dir.snapshots_dir(), seq, seq * 10, database)?
                .finish()?;
        }
        let gate = DeletionGate::new();
        apply(&dir, &gate, 1, None)?;
        let kept: Vec<u64> = dir.list()?.snapshots.iter().map(|s| s.seq).collect();
        assert_eq!(kept, [3]);
        gate.wait_for_removals();
        let aside = tmp.path().join(crate::dir::IN_PROGRESS);
        let left: Vec<_> = std::fs::read_dir(&aside)?
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "{left:?}");
        // What a process killed before the removal leaves.
        let name = crate::dir::snapshot_file_name(2, 20);
        let leftover = aside.join(format!("{name}{DELETED_SUFFIX}"));
        let foreign = aside.join(format!("notes{DELETED_SUFFIX}"));
        std::fs::write(&leftover, b"x")?;
        std::fs::write(&foreign, b"x")?;
        // A folder under such a name is not ours: kept, and opening goes on.
        let folder = aside.join(format!(
            "{}{DELETED_SUFFIX}",
            crate::dir::snapshot_file_name(3, 30)
        ));
        std::fs::create_dir(&folder)?;
        std::fs::write(folder.join("kept"), b"x")?;
        assert_eq!(dir.remove_interrupted_writes()?, 1);
        assert!(!leftover.exists() && foreign.exists());
        assert!(folder.join("kept").exists());
        Ok(())
    }
}
