//! The gate a snapshot closes: new transactions wait at `begin` while a snapshot is
//! written, and the snapshot waits for the running ones to end first. Both waits
//! are bounded ([`crate::Config::begin_wait`]) and end in `Blocked`, never a hang.
//!
//! Transactions pass with one atomic update (a count of running transactions and a
//! "closed" bit in one word); the mutex and condition variable are used only while
//! the gate is closed or a snapshot waits for the count to reach zero.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine_api::{Error, ErrorKind, Result};
use parking_lot::{Condvar, Mutex};

const CLOSED: u64 = 1 << 63;

#[derive(Debug)]
pub(crate) struct Gate {
    /// Running transactions, plus `CLOSED` while a snapshot holds the gate.
    state: AtomicU64,
    lock: Mutex<()>,
    changed: Condvar,
    /// One snapshot at a time.
    closer: Mutex<()>,
    bound: Duration,
    waits: AtomicU64,
    longest_wait_nanos: AtomicU64,
}

/// What `begin` waited for snapshots since the engine opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BeginWaits {
    /// Transactions that found the gate closed and waited.
    pub waited: u64,
    /// The longest of those waits.
    pub longest: Duration,
}

/// A running transaction's pass; dropping it lets a waiting snapshot go on.
#[derive(Debug)]
pub(crate) struct Pass<'g>(&'g Gate);

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let before = self.0.state.fetch_sub(1, Ordering::AcqRel);
        if before == CLOSED | 1 {
            // The last running transaction of a closed gate: wake the snapshot.
            let _l = self.0.lock.lock();
            self.0.changed.notify_all();
        }
    }
}

/// The closed gate, held while a snapshot is written; dropping it reopens the gate.
#[derive(Debug)]
pub(crate) struct Closed<'g> {
    gate: &'g Gate,
    _one: parking_lot::MutexGuard<'g, ()>,
}

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        self.gate.reopen();
    }
}

impl Gate {
    pub(crate) fn new(bound: Duration) -> Self {
        Gate {
            state: AtomicU64::new(0),
            lock: Mutex::new(()),
            changed: Condvar::new(),
            closer: Mutex::new(()),
            bound,
            waits: AtomicU64::new(0),
            longest_wait_nanos: AtomicU64::new(0),
        }
    }

    fn try_pass(&self) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        while s & CLOSED == 0 {
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
                // A last look: the gate may have opened just then.
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

    /// Closes the gate to new transactions and waits for the running ones to end.
    /// `Blocked` if they do not end within the bound (the gate is open again then).
    pub(crate) fn close(&self) -> Result<Closed<'_>> {
        let one = match self.closer.try_lock_for(self.bound) {
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
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        while self.state.load(Ordering::Acquire) != CLOSED {
            if self.changed.wait_until(&mut l, deadline).timed_out()
                && self.state.load(Ordering::Acquire) != CLOSED
            {
                let running = self.state.load(Ordering::Acquire) & !CLOSED;
                drop(l);
                self.reopen();
                return Err(Error::new(
                    ErrorKind::Blocked,
                    format!(
                        "a snapshot waited {:?} for {running} running transaction(s) to end (Config::begin_wait); end them and try again",
                        self.bound
                    ),
                ));
            }
        }
        Ok(Closed {
            gate: self,
            _one: one,
        })
    }

    fn reopen(&self) {
        let _l = self.lock.lock();
        self.state.fetch_and(!CLOSED, Ordering::AcqRel);
        self.changed.notify_all();
    }

    /// True while no transaction runs (and no snapshot holds the gate).
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
    fn a_closed_gate_holds_begin_and_reopens() {
        let gate = Gate::new(Duration::from_millis(50));
        let closed = gate.close().expect("no one runs");
        let err = gate.enter().expect_err("closed");
        assert_eq!(err.kind(), ErrorKind::Blocked);
        drop(closed);
        let pass = gate.enter().expect("open again");
        assert!(!gate.idle());
        drop(pass);
        assert!(gate.idle());
    }

    #[test]
    fn close_waits_for_running_transactions_or_gives_up() {
        let gate = Gate::new(Duration::from_millis(50));
        let pass = gate.enter().expect("open");
        assert_eq!(
            gate.close().map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::Blocked)
        );
        // The failed close reopened the gate.
        let second = gate.enter().expect("open after a failed close");
        drop((pass, second));
        let gate = std::sync::Arc::new(Gate::new(Duration::from_secs(10)));
        let pass = gate.enter().expect("open");
        let g = gate.clone();
        let closer = std::thread::spawn(move || g.close().map(|_| ()).map_err(|e| e.kind()));
        std::thread::sleep(Duration::from_millis(30));
        drop(pass);
        assert_eq!(closer.join().expect("no panic"), Ok(()));
    }

    #[test]
    fn a_waiting_begin_passes_when_the_snapshot_ends_and_is_counted() {
        let gate = std::sync::Arc::new(Gate::new(Duration::from_secs(10)));
        let closed = gate.close().expect("close");
        let g = gate.clone();
        let waiter = std::thread::spawn(move || g.enter().map(|_| ()).map_err(|e| e.kind()));
        std::thread::sleep(Duration::from_millis(30));
        drop(closed);
        assert_eq!(waiter.join().expect("no panic"), Ok(()));
        let w = gate.waits();
        assert_eq!(w.waited, 1);
        assert!(w.longest >= Duration::from_millis(20), "{w:?}");
    }
}
