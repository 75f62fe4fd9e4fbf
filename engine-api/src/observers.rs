//! A registry of commit observers, for backends to embed: registration, and the
//! observers a transaction reports to.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::error::{Error, Result};
use crate::schema::{ChangeSet, ObserverId, SharedObserver, TriggerPhase};

/// The observers registered at one moment; a transaction keeps the set current when
/// it began.
#[derive(Default)]
pub struct Observers {
    before: Vec<(ObserverId, SharedObserver)>,
    after: Vec<(ObserverId, SharedObserver)>,
}

impl Observers {
    fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }

    /// True if there are after-commit observers.
    pub fn has_after(&self) -> bool {
        !self.after.is_empty()
    }

    /// Runs the before-commit observers; the first error vetoes the commit.
    pub fn before_commit(&self, changes: &ChangeSet) -> Result<()> {
        for (_, o) in &self.before {
            o.observe(changes)?;
        }
        Ok(())
    }

    /// Runs every after-commit observer; returns the errors (the commit stands, the
    /// backend logs them).
    pub fn after_commit(&self, changes: &ChangeSet) -> Vec<(ObserverId, Error)> {
        let mut failed = Vec::new();
        for (id, o) in &self.after {
            if let Err(e) = o.observe(changes) {
                failed.push((*id, e));
            }
        }
        failed
    }
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("before", &self.before.len())
            .field("after", &self.after.len())
            .finish()
    }
}

/// The registered observers of one engine. Registration replaces the set; a
/// transaction takes the current set once, at begin: with no observer registered
/// that is one load of a flag that only registration writes (a read lock, or a
/// clone of a shared `Arc`, would write a counter every beginning transaction
/// shares, and move its cache line between cores on every begin).
#[derive(Debug, Default)]
pub struct ObserverRegistry {
    current: RwLock<Arc<Observers>>,
    /// True while `current` holds an observer; set under `change`, after `current`.
    any: AtomicBool,
    next_id: AtomicU64,
    change: Mutex<()>,
}

impl ObserverRegistry {
    /// No observers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The observers a transaction beginning now reports to; `None` if there are none
    /// (the transaction then records no changes).
    pub fn current(&self) -> Option<Arc<Observers>> {
        // Acquire: pairs with the release in `replace`, so a transaction beginning
        // after a registration returned sees the new set.
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let o = match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        (!o.is_empty()).then_some(o)
    }

    fn replace(&self, next: Observers) {
        let mut g = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let any = !next.is_empty();
        *g = Arc::new(next);
        drop(g);
        self.any.store(any, Ordering::Release);
    }

    fn snapshot(&self) -> Arc<Observers> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Registers an observer for `phase`.
    pub fn add(&self, phase: TriggerPhase, observer: SharedObserver) -> ObserverId {
        let _one = self.change.lock();
        let id = ObserverId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let old = self.snapshot();
        let mut next = Observers {
            before: old.before.clone(),
            after: old.after.clone(),
        };
        match phase {
            TriggerPhase::BeforeCommit => next.before.push((id, observer)),
            TriggerPhase::AfterCommit => next.after.push((id, observer)),
        }
        self.replace(next);
        id
    }

    /// Unregisters an observer. Errors: `NotFound` for an unknown id.
    pub fn remove(&self, id: ObserverId) -> Result<()> {
        let _one = self.change.lock();
        let old = self.snapshot();
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
        self.replace(next);
        Ok(())
    }
}
