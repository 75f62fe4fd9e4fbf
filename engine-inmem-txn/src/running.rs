//! The running transactions' start timestamps, which bound what garbage collection
//! may drop, kept in shards so that beginning and ending a transaction takes a lock
//! that, as a rule, only its own thread takes: one shared lock per transaction is a
//! cache line two cores hand back and forth, and it was what kept even empty
//! transactions from scaling (11.1M/s on one thread, 3.1M/s on two).
//!
//! A transaction registers a timestamp no later than its start: it reads the newest
//! commit, registers that, and then starts at the newest commit read again (later or
//! equal). A collector reads the newest commit first and then every shard's oldest
//! registration (an atomic beside the shard's lock, so a scan takes no lock); a
//! transaction it did not see registered after that scan, so it starts at or after
//! the commit the collector read, and the minimum the collector takes is a safe bound
//! for it too. The registration's store and the re-read, like the publication of a
//! commit and the scan's loads, are sequentially consistent: in that one order either
//! the collector sees the registration or the transaction sees the commit.
//!
//! Each shard also queues the commits of its threads for garbage collection, and a
//! committing thread collects from its own shard's queue: the versions it frees are
//! the ones it wrote, still in its core's cache and allocated by its own thread. (One
//! shared queue made every commit on two threads collect the other thread's previous
//! commit: its chains were a cache miss each, and every free went to the other
//! thread's allocator arena.) Every [`SWEEP_EVERY`]th commit of a shard also visits
//! the others and takes what is collectable in those whose threads made no commit
//! since the last visit, so the commits of a thread that stopped writing are not
//! left to the background collector (which may be off). A shard still committing
//! collects its own: a sweep that took another writer's commits cut that thread's
//! chains and freed its memory from the wrong core (a miss per object, and a lock of
//! the other thread's allocator arena per free). Measured on two virtual cores that
//! handed a cache line over in about 170 ns (they sometimes do, instead of 30 ns):
//! two writers did 1.36-1.49x the small write transactions of one with sweeps of
//! every shard, 1.56-1.66x with no sweeps at all.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use smallvec::SmallVec;

/// An object a transaction wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Object {
    Vertex(u64),
    Edge(u64),
}

/// The objects a transaction wrote, in order; a few of them inline, so that a small
/// transaction allocates no list (it used to be one allocation per commit, freed by
/// its collection).
pub(crate) type Objects = SmallVec<[Object; 3]>;

/// The objects one committed transaction wrote, collectable once no running
/// transaction started before `commit_ts`.
#[derive(Debug)]
pub(crate) struct GcEntry {
    pub(crate) commit_ts: u64,
    pub(crate) objects: Objects,
}

/// The commits one collection takes; a few of them inline (a commit usually makes
/// one or two collectable), so taking them allocates nothing.
pub(crate) type Ready = SmallVec<[GcEntry; 2]>;

pub(crate) type Queue = VecDeque<GcEntry>;

/// Shards; more than the cores of the machines we run on, so threads rarely share.
pub(crate) use engine_api::kit::SHARDS;
/// This thread's shard (the one engine-api's sharded counters and locks use too).
pub(crate) use engine_api::kit::thread_shard as this_threads_shard;

/// A shard's commits after which it also collects from the other shards.
pub(crate) const SWEEP_EVERY: u64 = 64;

/// Commits a shard queues past its last bound before it reads the other shards'
/// registrations again: the versions of at most this many of a thread's commits wait
/// longer for collection (a thread that stops leaves them to a sweep or to the
/// background collector).
pub(crate) const SCAN_AFTER: usize = 8;

/// A commit of at least this many objects scans at once, whatever [`SCAN_AFTER`]
/// says: beside its collection a scan costs nothing, and an import's transactions
/// then leave no backlog of [`SCAN_AFTER`] commits' versions for the collector to cut
/// after the last one (a first snapshot after a bulk import shared the cores with
/// about 0.1 s of that).
pub(crate) const SCAN_OBJECTS: usize = 64;

/// One shard on cache lines of its own: its registrations, and the oldest of them
/// (`u64::MAX` for none) for scans; its threads' commits waiting for collection.
#[repr(align(128))]
#[derive(Debug)]
struct Shard {
    starts: Mutex<Starts>,
    oldest: AtomicU64,
    /// Apart from `oldest`, which other threads' scans read: the owner writes this.
    pending: Pending,
}

/// A shard's queue of commits to collect (written by the shard's own threads, as a
/// rule).
#[repr(align(128))]
#[derive(Debug, Default)]
struct Pending(Mutex<GcQueue>);

#[derive(Debug, Default)]
struct GcQueue {
    /// Commits whose old versions go once no running transaction can see them, in
    /// about commit order (in order for one thread).
    entries: Queue,
    /// A bound below every running transaction's start, from this shard's last scan
    /// (it stays a bound: see above).
    oldest: u64,
    /// Commits queued here so far (for the sweeps of other shards).
    commits: u64,
    /// `commits` at the last sweep that visited this shard: equal, the shard's
    /// threads made no commit since, and a sweep takes what is collectable here.
    visited: u64,
}

impl GcQueue {
    /// The queued commits every running transaction sees past `oldest`.
    fn take(&mut self, oldest: u64, into: &mut impl Extend<GcEntry>) {
        // In about commit order; one queued a little out of order waits for the
        // next collection.
        let n = self
            .entries
            .iter()
            .take_while(|e| e.commit_ts <= oldest)
            .count();
        into.extend(self.entries.drain(..n));
        // A long reader lets the queue grow; give the buffer back once it drained.
        if self.entries.capacity() > 1024 && self.entries.len() < self.entries.capacity() / 4 {
            let keep = self.entries.len() * 2;
            self.entries.shrink_to(keep);
        }
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            starts: Mutex::new(Starts::default()),
            oldest: AtomicU64::new(u64::MAX),
            pending: Pending::default(),
        }
    }
}

/// Start timestamps with how many running transactions registered each, ascending
/// (a shard's registrations only grow: each is the newest commit when read).
#[derive(Debug, Default)]
struct Starts(VecDeque<(u64, usize)>);

impl Starts {
    fn add(&mut self, ts: u64) {
        match self.0.back_mut() {
            Some((last, n)) if *last == ts => *n += 1,
            // A thread that read an older commit registers after one that read a
            // newer (both on this shard): insert in order.
            Some((last, _)) if *last > ts => {
                let at = self.0.partition_point(|(t, _)| *t < ts);
                match self.0.get_mut(at) {
                    Some((t, n)) if *t == ts => *n += 1,
                    _ => self.0.insert(at, (ts, 1)),
                }
            }
            _ => self.0.push_back((ts, 1)),
        }
    }

    fn remove(&mut self, ts: u64) {
        if let Ok(i) = self.0.binary_search_by_key(&ts, |(t, _)| *t) {
            let n = &mut self.0[i].1;
            *n = n.saturating_sub(1);
        }
        while self.0.front().is_some_and(|(_, n)| *n == 0) {
            self.0.pop_front();
        }
        // Behind a long reader the list grows by a (mostly emptied) entry per
        // commit; give the buffer back once the reader ended.
        if self.0.capacity() > 1024 && self.0.len() < self.0.capacity() / 4 {
            let keep = self.0.len() * 2;
            self.0.shrink_to(keep);
        }
    }

    /// The oldest registration (emptied entries are popped only at the front, so
    /// the front is live).
    fn oldest(&self) -> Option<u64> {
        self.0.front().map(|(ts, _)| *ts)
    }
}

/// The registry of running transactions.
#[derive(Debug)]
pub(crate) struct Running {
    shards: Box<[Shard]>,
}

impl Default for Running {
    fn default() -> Self {
        Running {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

/// Where a transaction registered, to leave there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Registration {
    shard: usize,
    ts: u64,
}

impl Running {
    /// Registers a transaction at `ts` (no later than its start).
    pub(crate) fn enter(&self, ts: u64) -> Registration {
        let shard = this_threads_shard();
        let s = &self.shards[shard];
        let mut starts = s.starts.lock();
        starts.add(ts);
        s.oldest
            .store(starts.oldest().unwrap_or(u64::MAX), Ordering::SeqCst);
        Registration { shard, ts }
    }

    /// Ends a registration (once).
    pub(crate) fn leave(&self, r: Registration) {
        let s = &self.shards[r.shard];
        let mut starts = s.starts.lock();
        starts.remove(r.ts);
        s.oldest
            .store(starts.oldest().unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    /// A bound below every running transaction's start: the newest commit (read
    /// first), or an older registration.
    pub(crate) fn bound(&self, newest: &AtomicU64) -> u64 {
        let newest = newest.load(Ordering::SeqCst);
        self.oldest().map_or(newest, |o| o.min(newest))
    }

    /// Queues a published commit on this thread's shard and returns what is
    /// collectable there now (and, every [`SWEEP_EVERY`]th commit, in the shards no
    /// other collector holds whose threads made no commit since the last such
    /// visit), with the bound it was taken at.
    pub(crate) fn retire(&self, entry: GcEntry, newest: &AtomicU64) -> (Ready, u64) {
        let mine = this_threads_shard();
        let mut ready = Ready::new();
        let large = entry.objects.len() >= SCAN_OBJECTS;
        let mut queue = self.shards[mine].pending.0.lock();
        queue.entries.push_back(entry);
        queue.commits += 1;
        let sweep = queue.commits.is_multiple_of(SWEEP_EVERY);
        // Scans only when [`SCAN_AFTER`] queued commits are past the last bound: a
        // scan reads every shard's line, and another thread's is written at each of
        // its begins and ends, so a scan per commit was a cache line moved per commit.
        let past = queue.entries.len()
            - queue
                .entries
                .partition_point(|e| e.commit_ts <= queue.oldest);
        if past >= SCAN_AFTER || sweep || large {
            queue.oldest = self.bound(newest);
        }
        let oldest = queue.oldest;
        queue.take(oldest, &mut ready);
        drop(queue);
        if sweep {
            for (i, s) in self.shards.iter().enumerate() {
                if i != mine
                    && let Some(mut q) = s.pending.0.try_lock()
                {
                    if q.commits == q.visited {
                        q.take(oldest, &mut ready);
                    } else {
                        // Still committing: it collects its own.
                        q.visited = q.commits;
                    }
                }
            }
        }
        (ready, oldest)
    }

    /// What is collectable in every shard now, with the bound it was taken at.
    pub(crate) fn collectable(&self, newest: &AtomicU64) -> (Vec<GcEntry>, u64) {
        let oldest = self.bound(newest);
        let mut ready = Vec::new();
        for s in self.shards.iter() {
            s.pending.0.lock().take(oldest, &mut ready);
        }
        (ready, oldest)
    }

    /// Commits waiting for collection.
    pub(crate) fn gc_pending(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.pending.0.lock().entries.len())
            .sum()
    }

    /// The oldest registration of a running transaction, if any; takes no lock.
    pub(crate) fn oldest(&self) -> Option<u64> {
        let min = self
            .shards
            .iter()
            .map(|s| s.oldest.load(Ordering::SeqCst))
            .min()
            .unwrap_or(u64::MAX);
        (min != u64::MAX).then_some(min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_registration_bounds_and_leaves_free_it() {
        let r = Running::default();
        assert_eq!(r.oldest(), None);
        let a = r.enter(5);
        let b = r.enter(5);
        let c = r.enter(9);
        // Out of order on one shard (a slow reader of an older commit).
        let d = r.enter(3);
        assert_eq!(r.oldest(), Some(3));
        r.leave(d);
        assert_eq!(r.oldest(), Some(5));
        r.leave(a);
        assert_eq!(r.oldest(), Some(5), "one transaction still started at 5");
        r.leave(b);
        assert_eq!(r.oldest(), Some(9));
        r.leave(c);
        assert_eq!(r.oldest(), None);
    }

    fn entry(ts: u64) -> GcEntry {
        GcEntry {
            commit_ts: ts,
            objects: Objects::new(),
        }
    }

    #[test]
    fn a_thread_collects_its_own_commits_and_sweeps_an_idle_threads() {
        let r = Running::default();
        let newest = AtomicU64::new(0);
        // A thread commits twice while a reader that started at 1 runs, then stops.
        let reader = r.enter(1);
        std::thread::scope(|s| {
            s.spawn(|| {
                for ts in 2..=3 {
                    newest.store(ts, Ordering::SeqCst);
                    let (ready, _) = r.retire(entry(ts), &newest);
                    assert!(
                        ready.is_empty(),
                        "the reader may still need {ts}'s versions"
                    );
                }
            });
        });
        assert_eq!(r.gc_pending(), 2);
        r.leave(reader);
        // This thread's own commits are collected within SCAN_AFTER of them (its
        // first scan after the reader left); the idle thread's are taken by the
        // second sweep at the latest (the first finds commits since the last visit;
        // with this thread's if the two threads share a shard).
        let mut own = Vec::new();
        let mut collected = Vec::new();
        for ts in 4..4 + 2 * SWEEP_EVERY {
            newest.store(ts, Ordering::SeqCst);
            let (ready, oldest) = r.retire(entry(ts), &newest);
            for e in &ready {
                assert!(e.commit_ts <= oldest, "{} taken past {oldest}", e.commit_ts);
                if e.commit_ts < 4 {
                    collected.push(e.commit_ts);
                } else {
                    own.push(e.commit_ts);
                }
            }
            if ts == 4 + SCAN_AFTER as u64 - 1 {
                assert_eq!(
                    own,
                    (4..4 + SCAN_AFTER as u64).collect::<Vec<_>>(),
                    "the first {SCAN_AFTER} own commits at the first scan"
                );
            }
        }
        collected.sort_unstable();
        assert_eq!(
            collected,
            vec![2, 3],
            "a sweep within {} commits",
            2 * SWEEP_EVERY
        );
        assert_eq!(r.gc_pending(), 0);
    }

    /// A sweep leaves the commits of a thread that committed since the last visit
    /// to it (that thread collects its own), and takes them once it made none
    /// between two visits and no running transaction needs them.
    #[test]
    fn a_sweep_takes_only_an_idle_threads_commits() {
        use std::sync::mpsc;
        let r = Running::default();
        let newest = AtomicU64::new(0);
        // A reader that needs every commit's older versions, until it leaves.
        let reader = r.enter(0);
        let commit = |ts: u64| {
            newest.store(ts, Ordering::SeqCst);
            r.retire(entry(ts), &newest).0
        };
        std::thread::scope(|s| {
            // A second thread on a shard of its own, committing when told (one that
            // shares this thread's shard, as other tests' threads may make it, is
            // let go and replaced).
            let (go, done) = loop {
                let (go, todo) = mpsc::channel::<u64>();
                let (report, done) = mpsc::channel::<usize>();
                s.spawn(move || {
                    let _ = report.send(this_threads_shard());
                    for ts in todo {
                        let _ = report.send(commit(ts).len());
                    }
                });
                if done.recv().expect("its shard") != this_threads_shard() {
                    break (go, done);
                }
            };
            let mut ts = 0;
            let mut theirs = Vec::new();
            // One commit of theirs: queued, and fewer than SCAN_AFTER, so they do
            // not collect it themselves.
            let mut their_commit = |ts: &mut u64| {
                *ts += 1;
                go.send(*ts).expect("the thread runs");
                assert_eq!(done.recv().expect("it committed"), 0);
                theirs.push(*ts);
                theirs.clone()
            };
            // This thread's commits up to its next sweep: which of theirs it took.
            let sweep = |ts: &mut u64, theirs: &[u64]| {
                let mut taken = Vec::new();
                for _ in 0..SWEEP_EVERY {
                    *ts += 1;
                    let ready = commit(*ts);
                    taken.extend(
                        ready
                            .iter()
                            .map(|e| e.commit_ts)
                            .filter(|t| theirs.contains(t)),
                    );
                }
                taken
            };
            let t = their_commit(&mut ts);
            assert_eq!(
                sweep(&mut ts, &t),
                Vec::<u64>::new(),
                "committed since the last visit"
            );
            let t = their_commit(&mut ts);
            assert_eq!(
                sweep(&mut ts, &t),
                Vec::<u64>::new(),
                "committed since the last visit"
            );
            assert_eq!(
                sweep(&mut ts, &t),
                Vec::<u64>::new(),
                "idle, but the reader needs them"
            );
            r.leave(reader);
            assert_eq!(sweep(&mut ts, &t), t, "idle, and nobody needs them: swept");
        });
        assert_eq!(r.gc_pending(), 0);
    }

    /// A commit of [`SCAN_OBJECTS`] objects or more (an import's transaction) is
    /// collected at once when no reader needs it, with the small ones queued
    /// before it, and not [`SCAN_AFTER`] commits later.
    #[test]
    fn a_large_commit_is_collected_at_once() {
        let r = Running::default();
        let newest = AtomicU64::new(0);
        newest.store(1, Ordering::SeqCst);
        let (ready, _) = r.retire(entry(1), &newest);
        assert!(ready.is_empty(), "a small commit waits for a scan");
        newest.store(2, Ordering::SeqCst);
        let large = GcEntry {
            commit_ts: 2,
            objects: (0..SCAN_OBJECTS as u64).map(Object::Vertex).collect(),
        };
        let (ready, oldest) = r.retire(large, &newest);
        assert_eq!(oldest, 2);
        let taken: Vec<(u64, usize)> = ready
            .iter()
            .map(|e| (e.commit_ts, e.objects.len()))
            .collect();
        assert_eq!(taken, vec![(1, 0), (2, SCAN_OBJECTS)]);
        assert_eq!(r.gc_pending(), 0);
        // One object fewer is a small commit again.
        newest.store(3, Ordering::SeqCst);
        let smaller = GcEntry {
            commit_ts: 3,
            objects: (0..SCAN_OBJECTS as u64 - 1).map(Object::Vertex).collect(),
        };
        assert!(r.retire(smaller, &newest).0.is_empty());
        assert_eq!(r.gc_pending(), 1);
    }

    #[test]
    fn registrations_from_many_threads_all_count() {
        let r = Running::default();
        let regs: Vec<Registration> = std::thread::scope(|s| {
            let r = &r;
            let hs: Vec<_> = (0..40u64)
                .map(|i| s.spawn(move || r.enter(100 - i)))
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        assert_eq!(r.oldest(), Some(61));
        for g in regs {
            r.leave(g);
        }
        assert_eq!(r.oldest(), None);
    }
}
