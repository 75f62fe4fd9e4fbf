//! The pause a snapshot takes: new transactions wait at `begin` while a snapshot is
//! written, and the snapshot waits for the running ones to end first. Both waits
//! are bounded ([`crate::Config::begin_wait`]) and end in `Blocked`, never a hang.
//!
//! Transactions pass with one atomic update (a count of running transactions and a
//! "paused" bit in one word); the mutex and condition variable are used only while
//! a snapshot pauses the engine or waits for the count to reach zero.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine_api::{Error, ErrorKind, Result};
use parking_lot::{Condvar, Mutex};

const PAUSED: u64 = 1 << 63;

#[derive(Debug)]
pub(crate) struct Pause {
    /// Running transactions, plus `PAUSED` while a snapshot holds the pause.
    state: AtomicU64,
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

/// A running transaction's pass; dropping it lets a waiting snapshot go on.
#[derive(Debug)]
pub(crate) struct Pass<'g>(&'g Pause);

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let before = self.0.state.fetch_sub(1, Ordering::AcqRel);
        if before == PAUSED | 1 {
            // The last running transaction of a pause: wake the snapshot.
            let _l = self.0.lock.lock();
            self.0.changed.notify_all();
        }
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
            state: AtomicU64::new(0),
            lock: Mutex::new(()),
            changed: Condvar::new(),
            pauser: Mutex::new(()),
            bound,
            waits: AtomicU64::new(0),
            longest_wait_nanos: AtomicU64::new(0),
        }
    }

    fn try_pass(&self) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        while s & PAUSED == 0 {
            match self
                .state
                .compare_exchange_weak(s, s + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        false
    }

    /// Lets a new transaction in, waiting while a snapshot is written.
    pub(crate) fn enter(&self) -> Result<Pass<'_>> {
        if self.try_pass() {
            return Ok(Pass(self));
        }
        let started = Instant::now();
        let deadline = started + self.bound;
        let mut l = self.lock.lock();
        let timed_out = loop {
            if self.try_pass() {
                break false;
            }
            if self.changed.wait_until(&mut l, deadline).timed_out() {
                // A last look: the pause may have opened just then.
                break !self.try_pass();
            }
        };
        drop(l);
        if timed_out {
            return Err(Error::new(
                ErrorKind::Blocked,
                format!(
                    "a snapshot is being written; begin waited {:?} (Config::begin_wait)",
                    self.bound
                ),
            ));
        }
        let waited = started.elapsed();
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.longest_wait_nanos.fetch_max(
            u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        Ok(Pass(self))
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
        self.state.fetch_or(PAUSED, Ordering::AcqRel);
        while self.state.load(Ordering::Acquire) != PAUSED {
            if self.changed.wait_until(&mut l, deadline).timed_out()
                && self.state.load(Ordering::Acquire) != PAUSED
            {
                let running = self.state.load(Ordering::Acquire) & !PAUSED;
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
        self.state.fetch_and(!PAUSED, Ordering::AcqRel);
        self.changed.notify_all();
    }

    /// True while no transaction runs (and no snapshot holds the pause).
    #[cfg(test)]
    pub(crate) fn idle(&self) -> bool {
        self.state.load(Ordering::Acquire) == 0
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
