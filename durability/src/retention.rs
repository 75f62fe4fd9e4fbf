//! Retention (which files may go) and the deletion gate (lock/unlock for backups).

use std::path::PathBuf;
use std::sync::Arc;

use engine_api::{LockChange, LockStatus, Result};
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
/// wants gone from `dir`, keeping the newest `keep` snapshots. A WAL segment whose
/// header does not read stops WAL deletion at that point.
pub fn apply(dir: &crate::DataDir, gate: &DeletionGate, keep: usize) -> Result<()> {
    let listing = dir.list()?;
    let mut segments = Vec::new();
    for s in listing.segments {
        match crate::wal::read_segment_header(&s.path) {
            Ok(h) => segments.push((s, h.first_ts)),
            Err(_) => break,
        }
    }
    gate.delete(plan(&listing.snapshots, &segments, keep))
}

#[derive(Debug, Default)]
struct GateState {
    locked: bool,
    leases: usize,
    queue: Vec<PathBuf>,
}

impl GateState {
    fn closed(&self) -> bool {
        self.locked || self.leases > 0
    }
}

/// Decides whether durability files may be deleted now. While the data directory is
/// locked (by `lock` or by any lease), deletions are queued instead; unlocking runs
/// the queue. Files are only ever deleted through the gate.
#[derive(Debug, Clone, Default)]
pub struct DeletionGate {
    state: Arc<Mutex<GateState>>,
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
        for path in run {
            if let Err(e) = remove(&path) {
                tracing::warn!(error = %e, "deferred deletion failed");
            }
        }
    }
}

fn remove(path: &PathBuf) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            tracing::debug!(file = %path.display(), "deleted by retention");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(&format!("cannot delete {}", path.display()), e)),
    }
}

impl DeletionGate {
    /// A gate that is open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deletes `paths` now, or queues them while locked.
    pub fn delete(&self, paths: Vec<PathBuf>) -> Result<()> {
        {
            let mut s = self.state.lock();
            if s.closed() {
                for p in paths {
                    if !s.queue.contains(&p) {
                        s.queue.push(p);
                    }
                }
                return Ok(());
            }
        }
        for p in &paths {
            remove(p)?;
        }
        Ok(())
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
    /// the deletions queued meanwhile (retention only ever adds to what it wants gone,
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
        for p in &run {
            remove(p)?;
        }
        Ok(LockChange::Changed)
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

    /// The deletions waiting for unlock.
    pub fn queued(&self) -> Vec<PathBuf> {
        self.state.lock().queue.clone()
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
}
