//! The commit clock: the engine's side of the commit protocol. The commit order hands
//! out commit timestamps and queues each commit's WAL record (and each schema change's,
//! and each id reservation's) in that order; publication then makes commits visible
//! strictly in timestamp order, after their records are durable; a published commit's
//! objects are handed to the running-transaction registry for retirement (see
//! [`crate::running::Running::retire`]). A transaction's own steps (constraint checks,
//! rollback) are in `txn::commit`.
//!
//! Nothing here knows the graph: the clock takes what it publishes as arguments.

use std::sync::atomic::{AtomicU64, Ordering};

use durability::{SchemaOp, WalWriter};
use engine_api::{ChangeSet, Error, ErrorKind, Observers, Result};
use parking_lot::{Condvar, Mutex};

use crate::mvcc::TxnShared;
use crate::running::GcEntry;

/// What publication records, under the delivery lock (the newest published commit
/// is [`CommitLine::newest`], written only under this lock).
#[derive(Debug, Default)]
struct Delivery {
    /// The newest commit whose after-commit observers have run (equal to the newest
    /// published commit while none are registered). The next commit publishes after it.
    delivered: u64,
    /// The vertices and edges commits added (recovery counts its own, in the graph).
    committed: (i64, i64),
}

/// What a commit leaves for its publication to record, under the same lock.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) entry: GcEntry,
    pub(crate) vertices: i64,
    pub(crate) edges: i64,
}

impl Delivery {
    /// Makes commit `ts` visible; the caller checked every earlier commit is
    /// delivered. Counts what it `finished` and hands back its objects, for the caller
    /// to retire after releasing the lock.
    fn publish_now(
        &mut self,
        ts: u64,
        shared: Option<&TxnShared>,
        finished: Option<Finished>,
        newest: &AtomicU64,
    ) -> Option<GcEntry> {
        if let Some(s) = shared {
            s.publish_commit(ts);
        }
        newest.fetch_max(ts, Ordering::SeqCst);
        let f = finished?;
        self.committed.0 += f.vertices;
        self.committed.1 += f.edges;
        Some(f.entry)
    }
}

/// How many ids one reservation record covers.
const RESERVATION_BLOCK: u64 = 1 << 16;

/// What every commit writes, together on one cache line and alone on it: a commit
/// takes the order, then the delivery lock, and moves the newest commit, so on two
/// cores taking turns the line moves once per commit instead of once per field (on
/// lines of their own, three moves per commit were the largest part of what two
/// committing threads spent beyond one). Nothing that transactions only read shares
/// the line: it would be a miss on the other core after every commit.
#[repr(C, align(128))]
#[derive(Debug)]
pub(crate) struct CommitLine {
    /// The newest published commit (readable without a lock): new transactions start
    /// here.
    pub(crate) newest: AtomicU64,
    /// The next commit timestamp to hand out. Held while a commit takes its timestamp
    /// and queues its WAL record, so records are in timestamp order.
    pub(crate) order: Mutex<u64>,
    delivery: Mutex<Delivery>,
    /// Signalled whenever `delivery.delivered` advances.
    published: Condvar,
}

/// The commit order, the WAL writer behind it, and publication in timestamp order.
pub(crate) struct CommitClock {
    /// The commit order, publication and the newest commit.
    pub(crate) line: CommitLine,
    /// The WAL writer: with a data directory whose settings keep a WAL.
    pub(crate) wal: Option<WalWriter>,
    /// Ids below these bounds may be handed out without logging; past them, a
    /// reservation record goes to the WAL first, so that no id handed to a
    /// transaction is ever reused after a crash. `u64::MAX` without a WAL.
    pub(crate) reserved_vertices: AtomicU64,
    pub(crate) reserved_edges: AtomicU64,
    reserve_lock: Mutex<()>,
}

impl CommitClock {
    /// A clock at commit 0 with no WAL; recovery sets the WAL and the last commit.
    pub(crate) fn new() -> Self {
        CommitClock {
            line: CommitLine {
                newest: AtomicU64::new(0),
                order: Mutex::new(1),
                delivery: Mutex::new(Delivery::default()),
                published: Condvar::new(),
            },
            wal: None,
            reserved_vertices: AtomicU64::new(u64::MAX),
            reserved_edges: AtomicU64::new(u64::MAX),
            reserve_lock: Mutex::new(()),
        }
    }

    /// Sets the clock after recovery: `last` is the newest recovered commit.
    pub(crate) fn set_last_commit(&self, last: u64) {
        let mut delivery = self.line.delivery.lock();
        delivery.delivered = last;
        self.line.newest.store(last, Ordering::SeqCst);
        drop(delivery);
        *self.line.order.lock() = last + 1;
    }

    /// The vertices and edges published commits added.
    pub(crate) fn committed(&self) -> (i64, i64) {
        self.line.delivery.lock().committed
    }

    /// The error to refuse writes with once the WAL failed.
    pub(crate) fn poisoned(&self) -> Option<Error> {
        let reason = self.wal.as_ref()?.poisoned()?;
        Some(Error::new(
            ErrorKind::Poisoned,
            format!(
                "a WAL write or sync failed ({reason}); writes are refused until the database is reopened"
            ),
        ))
    }

    /// `Err` with [`CommitClock::poisoned`]'s error once the WAL failed.
    pub(crate) fn refuse_when_poisoned(&self) -> Result<()> {
        match self.poisoned() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Makes sure `vertex` and `edge` (ids about to be handed out) are below durably
    /// reserved bounds, logging a new reservation if needed (once per 65 536 ids).
    pub(crate) fn ensure_reserved(&self, vertex: Option<u64>, edge: Option<u64>) -> Result<()> {
        let covered = |id: Option<u64>, bound: &AtomicU64| {
            id.is_none_or(|id| id < bound.load(Ordering::Acquire))
        };
        if covered(vertex, &self.reserved_vertices) && covered(edge, &self.reserved_edges) {
            return Ok(());
        }
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        let _one = self.reserve_lock.lock();
        let bound = |id: Option<u64>, current: &AtomicU64| {
            let c = current.load(Ordering::Acquire);
            match id {
                Some(id) if id >= c => id.saturating_add(RESERVATION_BLOCK),
                _ => c,
            }
        };
        let v = bound(vertex, &self.reserved_vertices);
        let e = bound(edge, &self.reserved_edges);
        if (v, e)
            == (
                self.reserved_vertices.load(Ordering::Acquire),
                self.reserved_edges.load(Ordering::Acquire),
            )
        {
            return Ok(());
        }
        let ticket = {
            let next = self.line.order.lock();
            wal.append_reservation(*next, v, e)?
        };
        wal.wait(ticket)?;
        self.reserved_vertices.store(v, Ordering::Release);
        self.reserved_edges.store(e, Ordering::Release);
        Ok(())
    }

    /// Under the commit order: runs `check`, logs `op` (with a WAL) and applies it, so
    /// the change sits between the same commits in the log as in memory. Returns once
    /// the record is durable per the sync mode.
    ///
    /// Without a WAL the change takes a commit timestamp of its own, published before
    /// the commit order is released: snapshots are then the only record of the
    /// schema, and two snapshots with one commit timestamp must hold one schema (else
    /// opening could fall back from a damaged snapshot to an older one of the same
    /// timestamp that lacks the change, and call nothing lost). With a WAL the record
    /// keeps the change for every snapshot before it.
    pub(crate) fn log_schema(
        &self,
        op: &SchemaOp,
        check: impl FnOnce() -> Result<()>,
        apply: impl FnOnce(),
    ) -> Result<()> {
        let wal = self.wal.as_ref();
        let ticket = {
            let mut next = self.line.order.lock();
            check()?;
            let ticket = match wal {
                Some(w) => Some(w.append_schema(*next, op)?),
                None => None,
            };
            apply();
            if wal.is_none() {
                let ts = *next;
                *next += 1;
                // Nothing is collected for a schema change: no objects.
                let _ = self.publish(ts, None, None, None);
            }
            ticket
        };
        match (wal, ticket) {
            (Some(w), Some(t)) => w.wait(t),
            _ => Ok(()),
        }
    }

    /// Waits until every commit before `ts` is published and delivered to its
    /// after-commit observers, then publishes `ts` (or, if `shared` is `None`, only
    /// moves the clock past a commit that failed) and runs `after`'s observers.
    /// Returns the commit's objects for the caller to retire (after which it leaves
    /// the running transactions). Publishing in order keeps snapshot isolation exact
    /// while commits reach durability out of order, and makes observers see commits in
    /// commit order.
    pub(crate) fn publish(
        &self,
        ts: u64,
        shared: Option<&TxnShared>,
        after: Option<(&Observers, &ChangeSet)>,
        finished: Option<Finished>,
    ) -> Option<GcEntry> {
        // The predecessor is usually a few instructions from publishing, often on the
        // other core; yielding a few times first avoids a sleep and wake-up per
        // commit (measured: 4 committers on 2 cores went from 86k to far more
        // commits/s with sync Off).
        for _ in 0..64 {
            if self.line.delivery.lock().delivered + 1 >= ts {
                break;
            }
            std::thread::yield_now();
        }
        let mut delivery = self.line.delivery.lock();
        while delivery.delivered + 1 < ts {
            self.line.published.wait(&mut delivery);
        }
        let entry = delivery.publish_now(ts, shared, finished, &self.line.newest);
        if let Some((observers, changes)) = after {
            // Visible now; the next commit waits until the observers are done.
            drop(delivery);
            for (id, e) in observers.after_commit(changes) {
                tracing::warn!(observer = id.0, error = %e, "an after-commit observer failed");
            }
            delivery = self.line.delivery.lock();
        }
        delivery.delivered = delivery.delivered.max(ts);
        self.line.published.notify_all();
        entry
    }

    /// Publishes commit `ts` at once if every earlier commit is delivered (the caller
    /// holds the commit order, so no earlier timestamp is still being handed out);
    /// false if one is still on its way, and the caller publishes in turn with
    /// [`CommitClock::publish`]. For commits with nothing to wait for in between (no
    /// WAL, no after-commit observers): they take the lock once, and never yield to or
    /// wait for another committer (measured: the yields and context switches of the
    /// ordered hand-off were the largest cost of two committing threads).
    /// Retiring the commits it makes collectable is left to the caller: done here it
    /// would hold the commit order meanwhile.
    pub(crate) fn publish_if_next(
        &self,
        ts: u64,
        shared: &TxnShared,
        finished: &mut Option<Finished>,
    ) -> Option<GcEntry> {
        let mut delivery = self.line.delivery.lock();
        if delivery.delivered + 1 != ts {
            return None;
        }
        let entry = delivery.publish_now(ts, Some(shared), finished.take(), &self.line.newest);
        delivery.delivered = ts;
        self.line.published.notify_all();
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_every_commit_writes_is_one_cache_line_of_its_own() {
        use std::mem::{align_of, offset_of, size_of};
        let ends = [
            offset_of!(CommitLine, newest) + size_of::<AtomicU64>(),
            offset_of!(CommitLine, order) + size_of::<Mutex<u64>>(),
            offset_of!(CommitLine, delivery) + size_of::<Mutex<Delivery>>(),
            offset_of!(CommitLine, published) + size_of::<Condvar>(),
        ];
        assert!(ends.iter().all(|end| *end <= 64), "fields end at {ends:?}");
        // Aligned to two lines (the pair a core's prefetcher fetches together), so
        // nothing else in the clock shares them.
        assert_eq!(align_of::<CommitLine>(), 128);
        assert_eq!(size_of::<CommitLine>(), 128);
        let clock = CommitClock::new();
        let line = std::ptr::from_ref(&clock.line) as usize;
        for other in [
            std::ptr::from_ref(&clock.reserved_vertices) as usize,
            std::ptr::from_ref(&clock.reserved_edges) as usize,
        ] {
            assert!(
                other + 8 <= line || other >= line + 128,
                "a field transactions read shares the commit line"
            );
        }
    }
}
