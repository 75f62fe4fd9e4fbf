//! Versions: object states, undo deltas, transaction timestamps and visibility.
//!
//! Every vertex and edge holds its newest state (which may contain uncommitted
//! writes) and a chain of [`Delta`]s, newest first. A delta records how to undo one
//! change and points at the shared commit-timestamp cell of the transaction that made
//! it. While that transaction runs, the cell holds its id (at or above [`TXN_ID_BASE`],
//! larger than every commit timestamp); committing stores the commit timestamp there,
//! which makes all of the transaction's deltas committed at once.
//!
//! A reader copies what it needs from the newest state and applies the undo of every
//! delta its view must not see, stopping at the first delta it may see (all older
//! ones are then visible too, because a writer may only write on top of deltas that
//! are committed or its own).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use engine_api::{EdgeId, Error, IsolationLevel, PropertyValue, Result, VertexId};

/// Transaction ids start here, above every commit timestamp.
pub(crate) const TXN_ID_BASE: u64 = 1 << 63;

/// The part of a transaction its deltas point to.
///
/// The timestamp shares its cache line with the `Arc`'s counts. Apart (aligned to a
/// line, or padded), the edge import gained about an eighth (collectors' reads of
/// the timestamp no longer take the line a writer counts references on), but a
/// small write transaction lost a fifth to a quarter of its throughput: the
/// transaction then touches two lines where one did.
#[derive(Debug)]
pub(crate) struct TxnShared {
    /// The transaction id while running, the commit timestamp once committed.
    commit_ts: AtomicU64,
    /// Passed the constraint checks at commit (set under the commit order): later
    /// checks treat its writes as committed, although it may not be published yet.
    validated: AtomicBool,
}

impl TxnShared {
    pub(crate) fn new(txn_id: u64) -> Arc<Self> {
        Arc::new(TxnShared {
            commit_ts: AtomicU64::new(txn_id),
            validated: AtomicBool::new(false),
        })
    }

    pub(crate) fn set_validated(&self) {
        self.validated.store(true, Ordering::Release);
    }

    /// Committed, or about to be (its constraint checks passed).
    pub(crate) fn is_committed_or_validated(&self) -> bool {
        self.timestamp() < TXN_ID_BASE || self.validated.load(Ordering::Acquire)
    }

    pub(crate) fn timestamp(&self) -> u64 {
        self.commit_ts.load(Ordering::Acquire)
    }

    pub(crate) fn publish_commit(&self, ts: u64) {
        self.commit_ts.store(ts, Ordering::Release);
    }
}

/// One adjacency entry: an edge seen from one of its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Adj {
    pub(crate) edge_type: u32,
    /// The vertex at the other end.
    pub(crate) other: VertexId,
    pub(crate) edge: EdgeId,
}

/// How to undo one change.
#[derive(Debug)]
pub(crate) enum Undo {
    /// The transaction created the object: before it, it did not exist.
    Uncreate,
    /// The transaction deleted the object: before it, it existed.
    Undelete,
    /// The transaction removed this label.
    AddLabel(u32),
    /// The transaction added this label.
    RemoveLabel(u32),
    /// The transaction set this property; the previous value.
    SetProperty(u32, Option<PropertyValue>),
    /// The transaction removed this outgoing edge.
    AddOut(Adj),
    /// The transaction added this outgoing edge.
    RemoveOut(Adj),
    /// The transaction removed this incoming edge.
    AddIn(Adj),
    /// The transaction added this incoming edge.
    RemoveIn(Adj),
}

impl Undo {
    pub(crate) fn label(&self) -> Option<u32> {
        match self {
            Undo::AddLabel(l) | Undo::RemoveLabel(l) => Some(*l),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Delta {
    pub(crate) txn: Arc<TxnShared>,
    pub(crate) undo: Undo,
    pub(crate) next: Option<Box<Delta>>,
}

impl Drop for Delta {
    // Dropping a long chain recursively could overflow the stack.
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(mut d) = next {
            next = d.next.take();
        }
    }
}

/// What a transaction may see.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) level: IsolationLevel,
    pub(crate) start_ts: u64,
    pub(crate) me: &'a Arc<TxnShared>,
}

impl View<'_> {
    fn must_undo(&self, d: &Delta) -> bool {
        if Arc::ptr_eq(&d.txn, self.me) {
            return false;
        }
        match self.level {
            IsolationLevel::ReadUncommitted => false,
            IsolationLevel::ReadCommitted => d.txn.timestamp() >= TXN_ID_BASE,
            IsolationLevel::SnapshotIsolation => d.txn.timestamp() > self.start_ts,
        }
    }

    /// The undos to apply to the newest state to get this view's version, newest
    /// first.
    pub(crate) fn undos<'d>(&self, head: &'d Option<Box<Delta>>) -> UndoIter<'d, '_> {
        UndoIter {
            next: head.as_deref(),
            view: *self,
        }
    }

    /// Checks that this transaction may write an object whose chain starts at `head`:
    /// first writer wins. Another transaction's uncommitted delta is always a conflict;
    /// under snapshot isolation so is one committed after this transaction started.
    pub(crate) fn check_write(&self, head: &Option<Box<Delta>>, what: &str) -> Result<()> {
        let Some(d) = head.as_deref() else {
            return Ok(());
        };
        if Arc::ptr_eq(&d.txn, self.me) {
            return Ok(());
        }
        let ts = d.txn.timestamp();
        if ts >= TXN_ID_BASE {
            return Err(Error::conflict(format!(
                "{what} is being written by another transaction"
            )));
        }
        if self.level == IsolationLevel::SnapshotIsolation && ts > self.start_ts {
            return Err(Error::conflict(format!(
                "{what} was changed by a transaction that committed after this one started"
            )));
        }
        Ok(())
    }
}

pub(crate) struct UndoIter<'d, 'v> {
    next: Option<&'d Delta>,
    view: View<'v>,
}

impl<'d> Iterator for UndoIter<'d, '_> {
    type Item = &'d Undo;

    fn next(&mut self) -> Option<&'d Undo> {
        let d = self.next?;
        if !self.view.must_undo(d) {
            self.next = None;
            return None;
        }
        self.next = d.next.as_deref();
        Some(&d.undo)
    }
}

/// How many spent delta boxes a thread keeps for reuse (64 B each: 4 MiB).
const SPARE_DELTAS: usize = 1 << 16;

thread_local! {
    /// Delta boxes the collector or a rollback on this thread cut off, kept for the
    /// deltas this thread writes next. A bulk load writes and collects tens of
    /// thousands of deltas per transaction: through the C allocator, each was a
    /// malloc and a free, and the frees' small chunks were merged again and again
    /// (a fifth of an edge import's time went to the allocator).
    // The boxes themselves are what is kept: each goes back onto a chain as it is.
    #[allow(clippy::vec_box)]
    static SPARE: std::cell::RefCell<Vec<Box<Delta>>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Whether this thread has written a delta: only a writing thread keeps spent
    /// boxes (the background collector's would never be used).
    static WRITES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Spent delta boxes a thread that does not write (the background collector) hands
/// to the threads that do, in batches of [`STASH_BATCH`]: a bulk load's collection
/// runs there, and its boxes would otherwise be freed on one thread and allocated
/// again on another (each free then takes the writer's allocator arena lock).
// The boxes themselves are what is kept, as in `SPARE`.
#[allow(clippy::vec_box)]
static STASH: parking_lot::Mutex<Vec<Vec<Box<Delta>>>> = parking_lot::Mutex::new(Vec::new());

/// Boxes per batch in [`STASH`] (64 B each: 256 KiB); the stash keeps up to
/// [`SPARE_DELTAS`] boxes in all.
const STASH_BATCH: usize = 4096;

/// Takes the undo out of a delta cut off its chain (its `next` already taken) and
/// keeps the box for reuse: on a thread that writes, up to [`SPARE_DELTAS`]; on
/// another, for the stash (see [`hand_over_spare_deltas`]).
pub(crate) fn spend(mut d: Box<Delta>) -> Undo {
    debug_assert!(d.next.is_none(), "a spent delta is cut off its chain");
    let undo = std::mem::replace(&mut d.undo, Undo::Uncreate);
    let writes = WRITES.get();
    let full = SPARE.with_borrow_mut(|spare| {
        if spare.len() < SPARE_DELTAS {
            spare.push(d);
        }
        spare.len() >= STASH_BATCH
    });
    if full && !writes {
        hand_over_spare_deltas();
    }
    undo
}

/// Moves the spent boxes a thread that does not write keeps into the stash, where
/// writing threads take them (boxes beyond the stash's bound are freed).
pub(crate) fn hand_over_spare_deltas() {
    if WRITES.get() {
        return;
    }
    let batch = SPARE.take();
    if batch.is_empty() {
        return;
    }
    let mut stash = STASH.lock();
    if stash.len() < SPARE_DELTAS / STASH_BATCH {
        stash.push(batch);
    }
}

/// Frees the spent delta boxes this thread keeps, and the stash.
pub(crate) fn free_spare_deltas() {
    SPARE.take();
    let stash = std::mem::take(&mut *STASH.lock());
    drop(stash);
}

/// Pushes a delta onto a chain. Returns true if it is the transaction's first delta
/// on this object (so the object must be remembered for commit and rollback).
pub(crate) fn push_delta(head: &mut Option<Box<Delta>>, me: &Arc<TxnShared>, undo: Undo) -> bool {
    let first = !head.as_deref().is_some_and(|d| Arc::ptr_eq(&d.txn, me));
    let next = head.take();
    let delta = Delta {
        txn: me.clone(),
        undo,
        next,
    };
    let mut reused = SPARE.with_borrow_mut(|spare| {
        let reused = spare.pop();
        // Spare boxes were last written by the collector, often on another core:
        // reusing one was a cache miss per delta written, now overlapped with the
        // work until the next delta.
        if let Some(next) = spare.last() {
            engine_api::kit::prefetch(&**next);
        }
        reused
    });
    if reused.is_none() && WRITES.get() {
        // This thread's spares are used up: a batch the collector handed over.
        if let Some(batch) = STASH.lock().pop() {
            SPARE.set(batch);
            reused = SPARE.with_borrow_mut(Vec::pop);
        }
    }
    *head = Some(match reused {
        Some(mut spare) => {
            // The spent delta's transaction reference is let go here.
            *spare = delta;
            spare
        }
        None => {
            WRITES.set(true);
            Box::new(delta)
        }
    });
    first
}

/// A vertex's label ids (see [`VertexState::labels`]).
pub(crate) type Labels = smallvec::SmallVec<[u32; 4]>;

/// A vertex's newest state.
#[derive(Debug, Default)]
pub(crate) struct VertexState {
    pub(crate) deleted: bool,
    /// Label ids; up to four sit inside the state itself (the same 24 bytes a `Vec`
    /// takes), so a vertex's labels cost no allocation and no second cache miss.
    pub(crate) labels: Labels,
    /// Properties in the codec's property-record form.
    pub(crate) props: crate::props::Record,
    pub(crate) out_edges: Vec<Adj>,
    pub(crate) in_edges: Vec<Adj>,
    pub(crate) delta: Option<Box<Delta>>,
}

/// An edge's newest state.
#[derive(Debug)]
pub(crate) struct EdgeState {
    pub(crate) deleted: bool,
    pub(crate) edge_type: u32,
    pub(crate) source: VertexId,
    pub(crate) target: VertexId,
    pub(crate) props: crate::props::EdgeRecord,
    pub(crate) delta: Option<Box<Delta>>,
}

/// Applies one undo to a vertex state (rollback).
pub(crate) fn undo_vertex(v: &mut VertexState, undo: Undo) {
    match undo {
        Undo::Uncreate => v.deleted = true,
        Undo::Undelete => v.deleted = false,
        Undo::AddLabel(l) => {
            if !v.labels.contains(&l) {
                v.labels.push(l);
            }
        }
        Undo::RemoveLabel(l) => v.labels.retain(|x| *x != l),
        Undo::SetProperty(key, old) => {
            // Our own blob always decodes; if it somehow did not, keeping the newer
            // blob is the least harmful choice for a rollback that cannot fail.
            if let Ok((blob, _)) = crate::props::set(&v.props, key, old.as_ref()) {
                v.props = blob;
            }
        }
        Undo::AddOut(a) => v.out_edges.push(a),
        Undo::RemoveOut(a) => remove_adj(&mut v.out_edges, a.edge),
        Undo::AddIn(a) => v.in_edges.push(a),
        Undo::RemoveIn(a) => remove_adj(&mut v.in_edges, a.edge),
    }
}

/// Applies one undo to an edge state (rollback).
pub(crate) fn undo_edge(e: &mut EdgeState, undo: Undo) {
    match undo {
        Undo::Uncreate => e.deleted = true,
        Undo::Undelete => e.deleted = false,
        Undo::SetProperty(key, old) => {
            if let Ok((blob, _)) = crate::props::set(&e.props, key, old.as_ref()) {
                e.props = blob;
            }
        }
        _ => {}
    }
}

pub(crate) fn remove_adj(list: &mut Vec<Adj>, edge: EdgeId) {
    if let Some(i) = list.iter().position(|a| a.edge == edge) {
        list.swap_remove(i);
    }
}

/// Whether an object exists for a view, given its newest `deleted` flag.
pub(crate) fn visible_exists<'a>(deleted: bool, undos: impl Iterator<Item = &'a Undo>) -> bool {
    let mut exists = !deleted;
    for u in undos {
        match u {
            Undo::Uncreate => exists = false,
            Undo::Undelete => exists = true,
            _ => {}
        }
    }
    exists
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spare_len() -> usize {
        SPARE.with_borrow(Vec::len)
    }

    /// A thread that never writes (the background collector) hands the boxes it
    /// cuts to the stash in batches, and a writing thread whose own spares ran out
    /// reuses them. A thread that writes keeps the boxes its collections cut, up to
    /// the bound, reuses them for its next deltas (with the new transaction and
    /// undo), and frees them when asked. (The stash is the process's: no other test
    /// of this binary writes deltas.)
    #[test]
    fn spent_deltas_are_reused_up_to_the_bound() {
        std::thread::spawn(|| {
            free_spare_deltas();
            let old = TxnShared::new(TXN_ID_BASE + 1);
            let theirs = old.clone();
            std::thread::spawn(move || {
                for _ in 0..=STASH_BATCH {
                    let spent = Box::new(Delta {
                        txn: theirs.clone(),
                        undo: Undo::AddLabel(3),
                        next: None,
                    });
                    assert!(matches!(spend(spent), Undo::AddLabel(3)));
                }
                assert_eq!(spare_len(), 1, "one batch handed over, one box kept");
                assert_eq!(STASH.lock().len(), 1);
                hand_over_spare_deltas();
                assert_eq!(spare_len(), 0);
                assert_eq!(STASH.lock().len(), 2);
            })
            .join()
            .expect("the collecting thread");
            assert_eq!(Arc::strong_count(&old), STASH_BATCH + 2);

            let me = TxnShared::new(TXN_ID_BASE + 2);
            let mut heads: Vec<Option<Box<Delta>>> = (0..SPARE_DELTAS + 10).map(|_| None).collect();
            for head in &mut heads {
                assert!(push_delta(head, &me, Undo::Uncreate));
            }
            assert!(STASH.lock().is_empty(), "the stash was taken");
            assert_eq!(
                Arc::strong_count(&old),
                1,
                "every box handed over was reused (its old transaction let go)"
            );
            for head in &mut heads {
                let d = head.take().expect("a delta");
                assert!(matches!(spend(d), Undo::Uncreate));
            }
            assert_eq!(spare_len(), SPARE_DELTAS, "bounded");

            let newer = TxnShared::new(TXN_ID_BASE + 3);
            let mut head = None;
            push_delta(&mut head, &newer, Undo::RemoveLabel(7));
            assert_eq!(spare_len(), SPARE_DELTAS - 1, "a spare box was reused");
            let d = head.as_deref().expect("pushed");
            assert!(Arc::ptr_eq(&d.txn, &newer) && matches!(d.undo, Undo::RemoveLabel(7)));
            assert!(d.next.is_none());

            free_spare_deltas();
            assert_eq!(spare_len(), 0);
        })
        .join()
        .expect("the test thread");
    }
}
