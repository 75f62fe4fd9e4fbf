//! The engine's lock table: which transaction may write which object, and when each
//! object was last changed by a commit, so that the second writer of an object fails
//! at its write (first writer wins) and a write of an object changed after the
//! writer's snapshot fails too.
//!
//! Locks are taken on objects, not on RocksDB keys: a vertex's lock covers its record
//! and its label entries, an edge's its record and both adjacency entries, and index
//! entries belong to their object; uniqueness records, which two objects may claim,
//! have locks of their own. Objects a transaction creates take no lock (their ids are
//! new, so no other transaction can name them before the creator commits).
//!
//! A lock is exclusive (a write of the object) or shared (an edge's endpoint: the
//! edge needs the vertex to stay, not to stay unchanged). A shared lock excludes
//! exclusive ones of other transactions, and so a vertex delete and the creation of
//! an edge to it; several edge creators share an endpoint.
//!
//! A slot remembers the commit timestamp of the last exclusive holder that committed.
//! A slot with no holder is kept while a running writer began before that commit (it
//! must still see the conflict) and dropped by the next sweep of its shard after
//! that: the table holds the objects being written plus those written since the
//! oldest running writer began, not the database.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};

use engine_api::{Error, ErrorKind, Result};
use parking_lot::Mutex;

/// What a lock is taken on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LockKey {
    Vertex(u64),
    Edge(u64),
    /// A uniqueness record's key in `index`.
    Entry(Box<[u8]>),
}

impl std::fmt::Display for LockKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockKey::Vertex(v) => write!(f, "vertex {v}"),
            LockKey::Edge(e) => write!(f, "edge {e}"),
            LockKey::Entry(_) => f.write_str("a uniqueness record"),
        }
    }
}

/// How a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Shared,
    Exclusive,
}

#[derive(Debug, Default)]
struct Slot {
    /// The exclusive holder (0: none).
    writer: u64,
    /// Shared holders.
    readers: Vec<u64>,
    /// Commit timestamp of the last exclusive holder that committed (0: none kept).
    committed: u64,
}

impl Slot {
    fn idle(&self) -> bool {
        self.writer == 0 && self.readers.is_empty()
    }
}

#[derive(Debug, Default)]
struct Shard {
    slots: HashMap<LockKey, Slot>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
}

const SHARDS: usize = 64;
const MIN_SWEEP: usize = 4096;

/// The lock table of one engine.
#[derive(Debug)]
pub(crate) struct LockTable {
    shards: Box<[Mutex<Shard>]>,
    hasher: std::collections::hash_map::RandomState,
    /// Start timestamps of running writers (a multiset): slots committed after the
    /// oldest of them are kept.
    running: Mutex<BTreeMap<u64, u32>>,
    next_owner: AtomicU64,
}

impl Default for LockTable {
    fn default() -> Self {
        LockTable {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        slots: HashMap::new(),
                        sweep_at: MIN_SWEEP,
                    })
                })
                .collect(),
            hasher: Default::default(),
            running: Mutex::new(BTreeMap::new()),
            next_owner: AtomicU64::new(1),
        }
    }
}

fn conflict(message: String) -> Error {
    Error::new(ErrorKind::Conflict, message)
}

impl LockTable {
    fn shard(&self, key: &LockKey) -> &Mutex<Shard> {
        let h = self.hasher.hash_one(key) as usize;
        &self.shards[h % SHARDS]
    }

    /// Registers a writer whose snapshot `start` returns (called with the table's
    /// registry held, so no sweep runs between taking the snapshot and registering
    /// it): the writer's owner id and its start timestamp.
    pub(crate) fn register<T>(&self, start: impl FnOnce() -> (T, u64)) -> (T, Writer) {
        let mut running = self.running.lock();
        let (snapshot, ts) = start();
        *running.entry(ts).or_insert(0) += 1;
        drop(running);
        let owner = self.next_owner.fetch_add(1, Ordering::Relaxed);
        (
            snapshot,
            Writer {
                owner,
                start: ts,
                registered: true,
                held: Vec::new(),
            },
        )
    }

    fn unregister(&self, start: u64) {
        let mut running = self.running.lock();
        if let Some(n) = running.get_mut(&start) {
            *n -= 1;
            if *n == 0 {
                running.remove(&start);
            }
        }
    }

    /// The start of the oldest running writer (`u64::MAX` if none).
    fn oldest(&self) -> u64 {
        self.running
            .lock()
            .first_key_value()
            .map_or(u64::MAX, |(k, _)| *k)
    }

    /// Takes `key` in `mode` for `w`. Conflict if another writer holds it in a mode
    /// that excludes this one, or a commit after `w`'s start changed it.
    pub(crate) fn lock(&self, w: &mut Writer, key: LockKey, mode: Mode) -> Result<()> {
        let mut shard = self.shard(&key).lock();
        let slot = shard.slots.entry(key.clone()).or_default();
        if slot.committed > w.start {
            return Err(conflict(format!(
                "{key} was changed by a transaction that committed after this one began"
            )));
        }
        if slot.writer != 0 && slot.writer != w.owner {
            return Err(conflict(format!(
                "{key} is being written by another transaction"
            )));
        }
        match mode {
            Mode::Exclusive => {
                if slot.readers.iter().any(|r| *r != w.owner) {
                    return Err(conflict(format!(
                        "{key} is the endpoint of an edge another transaction is creating"
                    )));
                }
                if slot.writer == w.owner {
                    return Ok(());
                }
                slot.writer = w.owner;
            }
            Mode::Shared => {
                if slot.writer == w.owner || slot.readers.contains(&w.owner) {
                    return Ok(());
                }
                slot.readers.push(w.owner);
            }
        }
        drop(shard);
        w.held.push((key, mode));
        Ok(())
    }

    /// Releases every lock of `w`; with `committed`, its exclusive locks' objects are
    /// marked changed at that timestamp.
    pub(crate) fn release(&self, w: &mut Writer, committed: Option<u64>) {
        let held = std::mem::take(&mut w.held);
        if held.is_empty() {
            return;
        }
        let oldest = self.oldest();
        for (key, mode) in held {
            let mut shard = self.shard(&key).lock();
            let Some(slot) = shard.slots.get_mut(&key) else {
                continue;
            };
            match mode {
                Mode::Exclusive if slot.writer == w.owner => {
                    slot.writer = 0;
                    if let Some(ts) = committed {
                        slot.committed = ts;
                    }
                }
                Mode::Exclusive => {}
                Mode::Shared => slot.readers.retain(|r| *r != w.owner),
            }
            if slot.idle() && slot.committed == 0 {
                shard.slots.remove(&key);
            }
            if shard.slots.len() >= shard.sweep_at {
                shard
                    .slots
                    .retain(|_, s| !(s.idle() && s.committed <= oldest));
                shard.sweep_at = (shard.slots.len() * 2).max(MIN_SWEEP);
            }
        }
    }

    /// Ends `w`: releases what it still holds (without marking anything changed) and
    /// forgets its start.
    pub(crate) fn finish(&self, w: &mut Writer) {
        self.release(w, None);
        if w.registered {
            self.unregister(w.start);
            w.registered = false;
        }
    }

    /// A writer outside any transaction (index maintenance), which needs exclusion
    /// from transactions but reads the latest state, so no commit is after its start.
    pub(crate) fn maintenance(&self) -> Writer {
        Writer {
            owner: self.next_owner.fetch_add(1, Ordering::Relaxed),
            start: u64::MAX,
            registered: false,
            held: Vec::new(),
        }
    }

    /// Slots in the table (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().slots.len()).sum()
    }
}

/// One writer's identity and the locks it holds.
#[derive(Debug)]
pub(crate) struct Writer {
    owner: u64,
    /// Its snapshot's timestamp.
    start: u64,
    /// Whether `start` is in the registry of running writers.
    registered: bool,
    held: Vec<(LockKey, Mode)>,
}

/// A [`Writer`] of a table, finished when dropped (whatever path its transaction
/// ends by: commit, rollback, an error, or a drop).
#[derive(Debug)]
pub(crate) struct WriterGuard<'t> {
    table: &'t LockTable,
    writer: Writer,
}

impl<'t> WriterGuard<'t> {
    pub(crate) fn new(table: &'t LockTable, writer: Writer) -> Self {
        WriterGuard { table, writer }
    }

    pub(crate) fn lock(&mut self, key: LockKey, mode: Mode) -> Result<()> {
        self.table.lock(&mut self.writer, key, mode)
    }

    /// Releases every lock; with `committed`, the exclusively held objects are marked
    /// changed at that timestamp.
    pub(crate) fn release(&mut self, committed: Option<u64>) {
        self.table.release(&mut self.writer, committed);
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.table.finish(&mut self.writer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(t: &LockTable, start: u64) -> Writer {
        t.register(|| ((), start)).1
    }

    #[test]
    fn the_second_writer_fails_at_its_write() {
        let t = LockTable::default();
        let (mut a, mut b) = (writer(&t, 10), writer(&t, 10));
        t.lock(&mut a, LockKey::Vertex(1), Mode::Exclusive).unwrap();
        let e = t
            .lock(&mut b, LockKey::Vertex(1), Mode::Exclusive)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        // Another object is free; the holder may take its own lock again.
        t.lock(&mut b, LockKey::Vertex(2), Mode::Exclusive).unwrap();
        t.lock(&mut a, LockKey::Vertex(1), Mode::Exclusive).unwrap();
        // A commit of `a` after `b` began: `b` still fails once the lock is free.
        t.release(&mut a, Some(11));
        let e = t
            .lock(&mut b, LockKey::Vertex(1), Mode::Exclusive)
            .unwrap_err();
        assert!(e.message().contains("committed after"), "{e}");
        // A writer that began after that commit may write it.
        let mut c = writer(&t, 11);
        t.lock(&mut c, LockKey::Vertex(1), Mode::Exclusive).unwrap();
        t.finish(&mut c);
        t.finish(&mut a);
        t.finish(&mut b);
    }

    #[test]
    fn endpoints_are_shared_and_exclude_a_writer() {
        let t = LockTable::default();
        let (mut a, mut b, mut d) = (writer(&t, 5), writer(&t, 5), writer(&t, 5));
        t.lock(&mut a, LockKey::Vertex(7), Mode::Shared).unwrap();
        t.lock(&mut b, LockKey::Vertex(7), Mode::Shared).unwrap();
        let e = t
            .lock(&mut d, LockKey::Vertex(7), Mode::Exclusive)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        // The only shared holder may upgrade; a writer excludes new sharers.
        t.finish(&mut b);
        t.lock(&mut a, LockKey::Vertex(7), Mode::Exclusive).unwrap();
        let e = t
            .lock(&mut d, LockKey::Vertex(7), Mode::Shared)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        // A rollback marks nothing changed.
        t.finish(&mut a);
        t.lock(&mut d, LockKey::Vertex(7), Mode::Exclusive).unwrap();
        t.finish(&mut d);
        assert_eq!(t.len(), 0, "slots never committed are dropped at release");
    }

    #[test]
    fn committed_slots_are_swept_once_no_older_writer_runs() {
        let t = LockTable::default();
        let mut old = writer(&t, 1);
        for i in 0..(MIN_SWEEP as u64 * SHARDS as u64) {
            let mut w = writer(&t, 2);
            t.lock(&mut w, LockKey::Edge(i), Mode::Exclusive).unwrap();
            t.release(&mut w, Some(3));
            t.finish(&mut w);
        }
        // The old writer must still see every one of those commits.
        let kept = t.len();
        assert_eq!(kept, MIN_SWEEP * SHARDS);
        assert!(
            t.lock(&mut old, LockKey::Edge(17), Mode::Exclusive)
                .is_err()
        );
        t.finish(&mut old);
        let n = MIN_SWEEP as u64 * SHARDS as u64;
        for i in n..2 * n {
            let mut w = writer(&t, 4);
            t.lock(&mut w, LockKey::Edge(i), Mode::Exclusive).unwrap();
            t.release(&mut w, Some(5));
            t.finish(&mut w);
        }
        // Without sweeps the table would hold both rounds' slots.
        assert!(
            t.len() < (2 * n as usize) * 3 / 4,
            "with no older writer, sweeps drop committed slots ({} left of {})",
            t.len(),
            2 * n
        );
    }
}
