//! Background threads: the garbage collector and periodic snapshots.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

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
