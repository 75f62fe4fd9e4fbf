//! Shared state that concurrent writers touch without sharing a cache line: every
//! write transaction of an in-memory backend used to update a handful of shared
//! atomics (id counters, live counts, a reader count of the schema lock), and each
//! update moved that line between cores. With two writer threads those moves cost
//! more than the rest of a small transaction.
//!
//! Each thread is given a shard number once ([`thread_shard`]); a [`ShardedCounter`]
//! adds to its shard, a [`ShardedRwLock`] read-locks its shard, and [`IdBlocks`] hands
//! each shard's threads ids from a block of its own.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How many shards: threads beyond this share shards (correct, only slower).
pub const SHARDS: usize = 16;

/// A value alone on its cache lines (two, for the adjacent-line prefetcher).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// This thread's shard, in `0..SHARDS`: threads take the next number in turn at
/// their first call, so up to `SHARDS` threads each have one of their own.
pub fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// A counter whose additions stay on the adding thread's cache line; reading it sums
/// the shards (exact once the adders are done; during additions, a value some
/// moment of them had or will have per shard).
#[derive(Debug)]
pub struct ShardedCounter {
    shards: Box<[Padded<AtomicI64>]>,
}

impl Default for ShardedCounter {
    fn default() -> Self {
        Self::new(0)
    }
}

impl ShardedCounter {
    /// A counter starting at `value`.
    pub fn new(value: i64) -> Self {
        let shards: Box<[Padded<AtomicI64>]> =
            (0..SHARDS).map(|_| Padded(AtomicI64::new(0))).collect();
        shards[0].0.store(value, Ordering::Relaxed);
        ShardedCounter { shards }
    }

    /// Adds `n` (may be negative).
    pub fn add(&self, n: i64) {
        self.shards[thread_shard()]
            .0
            .fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of the shards.
    pub fn get(&self) -> i64 {
        self.shards
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .sum()
    }

    /// Sets the value (no adder may run concurrently: used when loading).
    pub fn set(&self, value: i64) {
        for s in self.shards.iter() {
            s.0.store(0, Ordering::Relaxed);
        }
        self.shards[0].0.store(value, Ordering::Relaxed);
    }
}

/// A reader-writer lock over a cheaply cloned value (an `Arc`), kept once per shard:
/// a reader locks only its thread's shard, so readers on different threads write no
/// common memory; a writer locks every shard, in order, and so waits for every
/// reader. For a value read on every write step and changed rarely (a catalog).
#[derive(Debug)]
pub struct ShardedRwLock<T> {
    shards: Box<[Padded<RwLock<T>>]>,
}

impl<T: Clone + Default> Default for ShardedRwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// Every shard write-locked: what [`ShardedRwLock::write`] holds.
#[derive(Debug)]
pub struct ShardedWriteGuard<'a, T> {
    guards: Vec<RwLockWriteGuard<'a, T>>,
}

impl<T: Clone> ShardedWriteGuard<'_, T> {
    /// The value (every shard holds the same).
    pub fn get(&self) -> &T {
        &self.guards[0]
    }

    /// Replaces the value in every shard.
    pub fn set(&mut self, value: T) {
        for g in &mut self.guards {
            **g = value.clone();
        }
    }
}

impl<T: Clone> ShardedRwLock<T> {
    /// A lock holding `value`.
    pub fn new(value: T) -> Self {
        ShardedRwLock {
            shards: (0..SHARDS)
                .map(|_| Padded(RwLock::new(value.clone())))
                .collect(),
        }
    }

    /// Read-locks this thread's shard.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.shards[thread_shard()].0.read()
    }

    /// Write-locks every shard, in shard order (so two writers cannot deadlock):
    /// returns once no reader holds any shard.
    pub fn write(&self) -> ShardedWriteGuard<'_, T> {
        ShardedWriteGuard {
            guards: self.shards.iter().map(|s| s.0.write()).collect(),
        }
    }
}

/// Ids handed out in blocks: a shard's threads take `BLOCK` ids from the shared
/// counter at a time and hand them out one by one, so creating an object touches no
/// line another shard's thread writes, and objects two threads create land `BLOCK`
/// slots apart (no cache line of slots written by both). Ids stay unique and never
/// reused; they are dense per shard, with a gap of at most one block per shard ever
/// (the rest of each shard's block): a thread that ends leaves its block to the next
/// thread of its shard, so threads that come and go (one per request) do not spread
/// the ids out. [`IdBlocks::end`] is past every id handed out.
///
/// The counter's operations are sequentially consistent: a reader that publishes
/// something (an index's key set) and then reads [`IdBlocks::end`] sees every id
/// whose creator may have read the state before that publication, since a creator
/// reads after taking its id, so after the increment that made its block.
#[derive(Debug)]
pub struct IdBlocks {
    next: AtomicU64,
    /// Per shard, the ids left in its block.
    blocks: Box<[Padded<parking_lot::Mutex<std::ops::Range<u64>>>]>,
}

/// Ids per block.
const BLOCK: u64 = 64;

impl IdBlocks {
    /// A counter whose first id is `first`.
    pub fn new(first: u64) -> Self {
        IdBlocks {
            next: AtomicU64::new(first),
            blocks: (0..SHARDS).map(|_| Padded::default()).collect(),
        }
    }

    /// A fresh id, or `None` once ids up to `limit` (exclusive) are used up.
    pub fn next_id(&self, limit: u64) -> Option<u64> {
        let mut block = self.blocks[thread_shard()].0.lock();
        if block.start < block.end.min(limit) {
            let id = block.start;
            block.start += 1;
            return Some(id);
        }
        let start = self.next.fetch_add(BLOCK, Ordering::SeqCst);
        if start >= limit {
            // Past the limit: undone, so `end` stays honest.
            self.next.fetch_sub(BLOCK, Ordering::SeqCst);
            return self.last_ids(limit);
        }
        *block = start + 1..start.saturating_add(BLOCK).min(limit);
        Some(start)
    }

    /// One id from the shared counter, without a block (near the limit).
    fn last_ids(&self, limit: u64) -> Option<u64> {
        self.next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
    }

    /// Past every id handed out (and every id reserved in a block).
    pub fn end(&self) -> u64 {
        self.next.load(Ordering::SeqCst)
    }

    /// Makes the next id at least `at` (loading a store whose ids reach there).
    /// Blocks shards reserved before stay valid: their ids are below.
    pub fn advance_to(&self, at: u64) {
        self.next.fetch_max(at, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_across_threads_and_below_the_end() {
        let ids = IdBlocks::new(5);
        let got: Vec<Vec<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..1000).filter_map(|_| ids.next_id(u64::MAX)).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        let all: Vec<u64> = got.iter().flatten().copied().collect();
        let unique: HashSet<u64> = all.iter().copied().collect();
        assert_eq!(unique.len(), 4000, "an id was handed out twice");
        assert!(all.iter().all(|id| *id >= 5 && *id < ids.end()));
        // Each thread's ids ascend, and with one thread they are dense.
        for mine in &got {
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
        let single = IdBlocks::new(0);
        let seq: Vec<u64> = (0..200).filter_map(|_| single.next_id(u64::MAX)).collect();
        assert_eq!(seq, (0..200).collect::<Vec<u64>>());
    }

    /// Threads that each create one object and end (a thread per request) leave
    /// their blocks to the next thread of their shard: the ids stay within one block
    /// per shard, where a block per thread would have spread 200 ids over 12 800.
    #[test]
    fn threads_that_come_and_go_do_not_spread_the_ids() {
        let ids = IdBlocks::new(0);
        let mut got = Vec::new();
        for _ in 0..200 {
            got.push(
                std::thread::scope(|s| s.spawn(|| ids.next_id(u64::MAX)).join())
                    .expect("no panic")
                    .expect("room"),
            );
        }
        let unique: HashSet<u64> = got.iter().copied().collect();
        assert_eq!(unique.len(), 200, "an id was handed out twice");
        assert!(
            ids.end() <= SHARDS as u64 * BLOCK,
            "ids spread to {}",
            ids.end()
        );
    }

    #[test]
    fn ids_stop_at_the_limit_and_resume_past_an_advance() {
        let ids = IdBlocks::new(0);
        let got: Vec<u64> = (0..100).map_while(|_| ids.next_id(70)).collect();
        assert_eq!(got, (0..70).collect::<Vec<u64>>());
        assert_eq!(ids.next_id(70), None);
        assert!(ids.end() <= 128);
        let later = IdBlocks::new(0);
        assert_eq!(later.next_id(u64::MAX), Some(0));
        later.advance_to(1000);
        // The block taken before the advance is used up first, then past it.
        let rest: Vec<u64> = (0..100).filter_map(|_| later.next_id(u64::MAX)).collect();
        assert!(rest.iter().take(63).all(|id| *id < 64));
        assert!(rest[63..].iter().all(|id| *id >= 1000));
    }

    #[test]
    fn many_counters_on_one_thread_stay_unique() {
        let counters: Vec<IdBlocks> = (0..20).map(|_| IdBlocks::new(0)).collect();
        let mut seen: Vec<HashSet<u64>> = vec![HashSet::new(); counters.len()];
        for round in 0..300 {
            for (c, s) in counters.iter().zip(&mut seen) {
                let id = c.next_id(u64::MAX).expect("room");
                assert!(
                    s.insert(id),
                    "counter handed out {id} twice (round {round})"
                );
                assert!(id < c.end());
            }
        }
    }

    #[test]
    fn sharded_counter_sums_every_thread() {
        let c = ShardedCounter::new(10);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        c.add(1);
                    }
                    c.add(-500);
                });
            }
        });
        assert_eq!(c.get(), 10 + 4 * 500);
        c.set(3);
        assert_eq!(c.get(), 3);
    }

    #[test]
    fn a_writer_waits_for_readers_on_every_shard() {
        let lock = ShardedRwLock::new(std::sync::Arc::new(1));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let r = lock.read();
            s.spawn(|| {
                let mut w = lock.write();
                w.set(std::sync::Arc::new(2));
                tx.send(()).expect("send");
            });
            // The writer cannot finish while this reader holds its shard.
            assert!(
                rx.recv_timeout(std::time::Duration::from_millis(100))
                    .is_err()
            );
            assert_eq!(**r, 1);
            drop(r);
            rx.recv().expect("the writer ran after the reader left");
        });
        assert_eq!(**lock.read(), 2);
        assert_eq!(**lock.write().get(), 2);
    }
}
