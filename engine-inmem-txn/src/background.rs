//! Background threads: the garbage collector and periodic snapshots.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::gc::{Handoff, Next, collect_entries};
use crate::inner::Inner;

/// A thread running `task` every `interval`; stops when dropped (joining it) or when
/// the engine is gone.
#[derive(Debug)]
pub(crate) struct Periodic {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Periodic {
    pub(crate) fn spawn(
        name: &str,
        inner: &Arc<Inner>,
        interval: Duration,
        task: fn(&Inner),
    ) -> std::io::Result<Self> {
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let (stop, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                // A message or a hung-up sender both mean stop.
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(interval) {
                    match weak.upgrade() {
                        Some(inner) => task(&inner),
                        None => break,
                    }
                }
            })?;
        Ok(Periodic {
            stop: Some(stop),
            handle: Some(handle),
        })
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            // A panic in the task has already been reported by the panic hook; there
            // is nothing more to do with it while shutting down.
            let _ = h.join();
        }
    }
}

/// The background collector: collects what large commits hand over as soon as they
/// do, and what the running-transaction registry holds every `interval`; stops when
/// dropped (joining it) or when the engine is gone.
pub(crate) struct Collector {
    handoff: Arc<Handoff>,
    handle: Option<JoinHandle<()>>,
}

impl Collector {
    pub(crate) fn spawn(inner: &Arc<Inner>, interval: Duration) -> std::io::Result<Self> {
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let handoff = inner.handoff.clone();
        handoff.open();
        let theirs = handoff.clone();
        let spawned = std::thread::Builder::new()
            .name("quiver-gc".to_string())
            .spawn(move || {
                serve(
                    &theirs,
                    interval,
                    |ready, oldest| {
                        if let Some(inner) = weak.upgrade() {
                            collect_entries(&inner.graph, &inner.schema, &ready, oldest);
                        }
                        crate::mvcc::hand_over_spare_deltas();
                    },
                    || match weak.upgrade() {
                        Some(inner) => {
                            inner.collect_queued();
                            true
                        }
                        None => false,
                    },
                );
            });
        match spawned {
            Ok(handle) => Ok(Collector {
                handoff,
                handle: Some(handle),
            }),
            Err(e) => {
                handoff.close();
                Err(e)
            }
        }
    }
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").finish_non_exhaustive()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.handoff.close();
        if let Some(h) = self.handle.take() {
            // As for `Periodic`: a panic was reported by the hook already.
            let _ = h.join();
        }
    }
}

/// The collector thread's loop: `batch` collects each batch handed over, `tick` runs
/// the periodic collection (false: the engine is gone, stop). However it ends (a
/// panic included), nothing is handed to it any more and nobody waits for what it
/// held: commits then collect inline.
fn serve(
    handoff: &Handoff,
    interval: Duration,
    mut batch: impl FnMut(Vec<crate::running::GcEntry>, u64),
    mut tick: impl FnMut() -> bool,
) {
    let _closed = OnExit(|| handoff.close());
    loop {
        match handoff.next(interval) {
            Next::Batch(ready, oldest) => {
                let _done = OnExit(|| handoff.done());
                batch(ready, oldest);
            }
            Next::Tick => {
                if !tick() {
                    break;
                }
            }
            Next::Closed => break,
        }
    }
}

/// Runs its closure when dropped.
struct OnExit<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnExit<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A collector thread that panics in a collection closes the handoff: a waiter
    /// for what it held returns, and the next large commit is given its batch back
    /// to collect inline instead of queueing it for a thread that is gone.
    #[test]
    fn a_collector_that_panics_leaves_commits_to_collect_inline() {
        let handoff = Arc::new(Handoff::default());
        handoff.open();
        let theirs = handoff.clone();
        let thread = std::thread::spawn(move || {
            serve(
                &theirs,
                Duration::from_secs(60),
                |_, _| panic!("a collection failed"),
                || true,
            );
        });
        assert!(
            handoff.offer(Vec::new(), 1).is_none(),
            "queued for the thread"
        );
        assert!(thread.join().is_err(), "the collector panicked");
        handoff.wait_idle();
        assert!(
            handoff.offer(Vec::new(), 2).is_some(),
            "given back: nobody would collect it"
        );
    }
}
