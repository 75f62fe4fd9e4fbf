//! Commit observers: the registry, and the change sets transactions record for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use engine_api::{ChangeSet, Error, ObserverId, Result, SharedObserver, TriggerPhase};
use parking_lot::Mutex;

/// The observers registered at one moment.
#[derive(Default)]
pub(crate) struct Observers {
    before: Vec<(ObserverId, SharedObserver)>,
    after: Vec<(ObserverId, SharedObserver)>,
}

impl Observers {
    fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }

    pub(crate) fn has_after(&self) -> bool {
        !self.after.is_empty()
    }

    /// Runs the before-commit observers; the first error vetoes the commit.
    pub(crate) fn before_commit(&self, changes: &ChangeSet) -> Result<()> {
        for (_, o) in &self.before {
            o.observe(changes)?;
        }
        Ok(())
    }

    /// Runs the after-commit observers; errors are logged, the commit stands.
    pub(crate) fn after_commit(&self, changes: &ChangeSet) {
        for (id, o) in &self.after {
            if let Err(e) = o.observe(changes) {
                tracing::warn!(observer = id.0, error = %e, "an after-commit observer failed");
            }
        }
    }
}

/// Registered observers; replaced whole on every change, read without a lock.
pub(crate) struct Registry {
    current: ArcSwap<Observers>,
    next_id: AtomicU64,
    change: Mutex<()>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Registry {
            current: ArcSwap::from_pointee(Observers::default()),
            next_id: AtomicU64::new(1),
            change: Mutex::new(()),
        }
    }

    /// The observers a transaction beginning now reports to, if any.
    pub(crate) fn current(&self) -> Option<Arc<Observers>> {
        let o = self.current.load_full();
        (!o.is_empty()).then_some(o)
    }

    pub(crate) fn add(&self, phase: TriggerPhase, observer: SharedObserver) -> ObserverId {
        let _one = self.change.lock();
        let id = ObserverId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let old = self.current.load();
        let mut next = Observers {
            before: old.before.clone(),
            after: old.after.clone(),
        };
        match phase {
            TriggerPhase::BeforeCommit => next.before.push((id, observer)),
            TriggerPhase::AfterCommit => next.after.push((id, observer)),
        }
        self.current.store(Arc::new(next));
        id
    }

    pub(crate) fn remove(&self, id: ObserverId) -> Result<()> {
        let _one = self.change.lock();
        let old = self.current.load();
        let keep = |list: &[(ObserverId, SharedObserver)]| -> Vec<(ObserverId, SharedObserver)> {
            list.iter().filter(|(i, _)| *i != id).cloned().collect()
        };
        let next = Observers {
            before: keep(&old.before),
            after: keep(&old.after),
        };
        if next.before.len() + next.after.len() == old.before.len() + old.after.len() {
            return Err(Error::not_found(format!("there is no observer {}", id.0)));
        }
        self.current.store(Arc::new(next));
        Ok(())
    }
}
