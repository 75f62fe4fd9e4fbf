//! The commit clock of this mode. Writes take effect as they are made, so a commit
//! has nothing to order or publish; it takes a timestamp only when after-commit
//! observers are to receive a write, and delivers to them in commit order (see
//! `txn::commit`). Snapshots record the newest timestamp taken.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, MutexGuard};

/// The newest commit timestamp handed out, and the delivery order.
#[derive(Debug, Default)]
pub(crate) struct CommitClock {
    last: AtomicU64,
    /// Held while after-commit observers run, so they see commits in order.
    delivery: Mutex<()>,
}

impl CommitClock {
    /// The newest commit timestamp handed out.
    pub(crate) fn last(&self) -> u64 {
        self.last.load(Ordering::Acquire)
    }

    /// Continues from `ts` (an image's or a snapshot's commit timestamp).
    pub(crate) fn set_last(&self, ts: u64) {
        self.last.store(ts, Ordering::Release);
    }

    /// Takes the next commit timestamp.
    pub(crate) fn next(&self) -> u64 {
        self.last.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Holds the delivery order: a commit takes its timestamp and runs its
    /// after-commit observers under it.
    pub(crate) fn in_order(&self) -> MutexGuard<'_, ()> {
        self.delivery.lock()
    }
}
