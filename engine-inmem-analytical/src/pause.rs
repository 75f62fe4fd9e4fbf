//! The pause a snapshot takes: new transactions wait at `begin` while a snapshot is
//! written, and the snapshot waits for the running ones to end first. Both waits
//! are bounded ([`crate::Config::begin_wait`]) and end in `Blocked`, never a hang.
//!
//! Transactions pass with one atomic update of a count of running transactions kept
//! per thread shard (one shared count moved between the cores of two writer threads
//! at every begin and end), and a read of the "paused" flag, which only a snapshot
//! writes. A transaction counts itself in, then reads the flag; a snapshot sets the
//! flag, then reads the counts: both sequentially consistent, so either the
//! transaction sees the pause and backs out, or the snapshot sees it and waits. The
//! mutex and condition variable are used only while a snapshot pauses the engine or
//! waits for the counts to reach zero.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine_api::kit::{SHARDS, thread_shard};
use engine_api::{Error, ErrorKind, Result};
use parking_lot::{Condvar, Mutex};

/// One shard's count alone on its cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Count(AtomicU64);

#[derive(Debug)]
pub(crate) struct Pause {
    /// Running transactions, per thread shard.
    running: Box<[Count]>,
    /// Set while a snapshot holds (or is taking) the pause.
    paused: AtomicBool,
    lock: Mutex<()>,
    changed: Condvar,
    /// One snapshot at a time.
    pauser: Mutex<()>,
    bound: Duration,
    waits: AtomicU64,
    longest_wait_nanos: AtomicU64,
}

/// What `begin` waited for snapshots since the engine opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BeginWaits {
    /// Transactions that found a snapshot pausing the engine and waited.
    pub waited: u64,
    /// The longest of those waits.
    pub longest: Duration,
}

/// A running transaction's pass (counted in `shard`); dropping it lets a waiting
/// snapshot go on.
#[derive(Debug)]
pub(crate) struct Pass<'g> {
    pause: &'g Pause,
    shard: usize,
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.pause.leave(self.shard);
    }
}

/// A pause, held while a snapshot is written; dropping it lets transactions begin again.
#[derive(Debug)]
pub(crate) struct Paused<'g> {
    pause: &'g Pause,
    _one: parking_lot::MutexGuard<'g, ()>,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.pause.resume();
    }
}

impl Pause {
    pub(crate) fn new(bound: Duration) -> Self {
        Pause {
            running: (0..SHARDS).map(|_| Count::default()).collect(),
            paused: AtomicBool::new(false),
            lock: Mutex::new(()),
            changed: Condvar::new(),
            pauser: Mutex::new(()),
            bound,
            waits: AtomicU64::new(0),
            longest_wait_nanos: AtomicU64::new(0),
        }
    }

    /// Counts a transaction in unless paused; the shard it is counted in.
    fn try_pass(&self) -> Option<usize> {
        let shard = thread_shard();
        self.running[shard].0.fetch_add(1, Ordering::SeqCst);
        if !self.paused.load(Ordering::SeqCst) {
            return Some(shard);
        }
        self.leave(shard);
        None
    }

    /// Counts a transaction out; wakes a snapshot waiting for the counts.
    fn leave(&self, shard: usize) {
        self.running[shard].0.fetch_sub(1, Ordering::SeqCst);
        if self.paused.load(Ordering::SeqCst) {
            let _l = self.lock.lock();
            self.changed.notify_all();
        }
    }

    /// Running transactions (with those counting themselves in or out right now).
    fn running(&self) -> u64 {
        self.running
            .iter()
            .map(|c| c.0.load(Ordering::SeqCst))
            .fold(0, u64::wrapping_add)
    }

    /// Lets a new transaction in, waiting while a snapshot is written.
    pub(crate) fn enter(&self) -> Result<Pass<'_>> {
        if let Some(shard) = self.try_pass() {
            return Ok(Pass { pause: self, shard });
        }
        let started = Instant::now();
        let deadline = started + self.bound;
        let mut l = self.lock.lock();
        let passed = loop {
            if !self.paused.load(Ordering::SeqCst) {
                // `try_pass` may take the lock (to wake the snapshot): not under it.
                drop(l);
                if let Some(shard) = self.try_pass() {
                    break Some(shard);
                }
                l = self.lock.lock();
                continue;
            }
            if self.changed.wait_until(&mut l, deadline).timed_out() {
                // A last look: the pause may have opened just then.
                drop(l);
                break self.try_pass();
            }
        };
        let Some(shard) = passed else {
            return Err(Error::new(
                ErrorKind::Blocked,
                format!(
                    "a snapshot is being written; begin waited {:?} (Config::begin_wait)",
                    self.bound
                ),
            ));
        };
        let waited = started.elapsed();
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.longest_wait_nanos.fetch_max(
            u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        Ok(Pass { pause: self, shard })
    }

    /// Holds new transactions back and waits for the running ones to end.
    /// `Blocked` if they do not end within the bound (transactions may begin again then).
    pub(crate) fn pause(&self) -> Result<Paused<'_>> {
        let one = match self.pauser.try_lock_for(self.bound) {
            Some(g) => g,
            None => {
                return Err(Error::new(
                    ErrorKind::Blocked,
                    "another snapshot is being written and did not finish in time",
                ));
            }
        };
        let deadline = Instant::now() + self.bound;
        let mut l = self.lock.lock();
        self.paused.store(true, Ordering::SeqCst);
        while self.running() != 0 {
            if self.changed.wait_until(&mut l, deadline).timed_out() && self.running() != 0 {
                let running = self.running();
                drop(l);
                self.resume();
                return Err(Error::new(
                    ErrorKind::Blocked,
                    format!(
                        "a snapshot waited {:?} for {running} running transaction(s) to end (Config::begin_wait); end them and try again",
                        self.bound
                    ),
                ));
            }
        }
        Ok(Paused {
            pause: self,
            _one: one,
        })
    }

    fn resume(&self) {
        let _l = self.lock.lock();
        self.paused.store(false, Ordering::SeqCst);
        self.changed.notify_all();
    }

    /// True while no transaction runs (and no snapshot holds the pause).
    #[cfg(test)]
    pub(crate) fn idle(&self) -> bool {
        self.running() == 0 && !self.paused.load(Ordering::SeqCst)
    }

    pub(crate) fn waits(&self) -> BeginWaits {
        BeginWaits {
            waited: self.waits.load(Ordering::Relaxed),
            longest: Duration::from_nanos(self.longest_wait_nanos.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_holds_begin_and_ends() {
        let pause = Pause::new(Duration::from_millis(50));
        let paused = pause.pause().expect("no one runs");
        let err = pause.enter().expect_err("paused");
        assert_eq!(err.kind(), ErrorKind::Blocked);
        drop(paused);
        let pass = pause.enter().expect("open again");
        assert!(!pause.idle());
        drop(pass);
        assert!(pause.idle());
    }

    #[test]
    fn a_pause_waits_for_running_transactions_or_gives_up() {
        let pause = Pause::new(Duration::from_millis(50));
        let pass = pause.enter().expect("open");
        assert_eq!(
            pause.pause().map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::Blocked)
        );
        // The failed pause let transactions begin again.
        let second = pause.enter().expect("open after a failed pause");
        drop((pass, second));
        let pause = std::sync::Arc::new(Pause::new(Duration::from_secs(10)));
        let pass = pause.enter().expect("open");
        let g = pause.clone();
        let closer = std::thread::spawn(move || g.pause().map(|_| ()).map_err(|e| e.kind()));
        std::thread::sleep(Duration::from_millis(30));
        drop(pass);
        assert_eq!(closer.join().expect("no panic"), Ok(()));
    }

    #[test]
    fn a_waiting_begin_passes_when_the_snapshot_ends_and_is_counted() {
        let pause = std::sync::Arc::new(Pause::new(Duration::from_secs(10)));
        let paused = pause.pause().expect("pause");
        let g = pause.clone();
        let waiter = std::thread::spawn(move || g.enter().map(|_| ()).map_err(|e| e.kind()));
        std::thread::sleep(Duration::from_millis(30));
        drop(paused);
        assert_eq!(waiter.join().expect("no panic"), Ok(()));
        let w = pause.waits();
        assert_eq!(w.waited, 1);
        assert!(w.longest >= Duration::from_millis(20), "{w:?}");
    }
}
