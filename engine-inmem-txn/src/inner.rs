//! What the engine and its transactions share: the graph, the commit clock, the
//! running transactions, the schema, the data directory and the observers, each a
//! component of its own module. `Inner` only holds them and wires the few steps
//! that take several (retiring a commit into collection, the engine's counts).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use engine_api::kit::ObserverRegistry;
use engine_api::{Capabilities, Error, Result};

use crate::clock::CommitClock;
use crate::gc::{GcReport, HANDOFF_OBJECTS, Handoff, collect_entries};
use crate::graph::Graph;
use crate::running::{GcEntry, Ready, Running};
use crate::schema::Schema;
use durability::Durable;

pub(crate) struct Inner {
    pub(crate) capabilities: Capabilities,
    pub(crate) graph: Graph,
    /// The commit order, the WAL and publication.
    pub(crate) clock: CommitClock,
    /// The running transactions' start bounds, and the queue of commits to collect.
    pub(crate) running: Running,
    pub(crate) schema: Schema,
    /// The data directory: `None` for a memory-only engine.
    pub(crate) durable: Option<Durable>,
    pub(crate) observers: ObserverRegistry,
    /// Large commits' collection, on its way to the background collector.
    pub(crate) handoff: Arc<Handoff>,
}

impl Inner {
    pub(crate) fn new(capabilities: Capabilities) -> Self {
        Inner {
            capabilities,
            graph: Graph::new(),
            clock: CommitClock::new(),
            running: Running::default(),
            schema: Schema::new(),
            durable: None,
            observers: ObserverRegistry::new(),
            handoff: Arc::default(),
        }
    }

    pub(crate) fn durable(&self) -> Result<&Durable> {
        self.durable.as_ref().ok_or_else(|| {
            Error::unsupported("a durability operation on an engine without a data directory")
        })
    }

    /// (vertices, edges) committed: what recovery loaded plus what commits added.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let (v, e) = self.clock.committed();
        let v = self.graph.loaded_vertices.load(Ordering::Relaxed) + v;
        let e = self.graph.loaded_edges.load(Ordering::Relaxed) + e;
        (v.max(0) as u64, e.max(0) as u64)
    }

    /// Queues the objects of a published commit for collection, and collects what
    /// is collectable now (see the `running` module: mostly this thread's commits).
    /// A large collection goes to the background collector (see
    /// [`HANDOFF_OBJECTS`]).
    pub(crate) fn retire(&self, entry: GcEntry) {
        let (ready, oldest) = self.running.retire(entry, &self.clock.line.newest);
        let objects: usize = ready.iter().map(|e| e.objects.len()).sum();
        let ready = if objects >= HANDOFF_OBJECTS {
            match self.handoff.offer(ready.into_vec(), oldest) {
                Some(ready) => Ready::from_vec(ready),
                None => return,
            }
        } else {
            ready
        };
        collect_entries(&self.graph, &self.schema, &ready, oldest);
    }

    /// Collects what can be collected now, after what was handed to the background
    /// collector (a collection on demand).
    pub(crate) fn collect(&self) -> GcReport {
        self.handoff.wait_idle();
        self.collect_queued()
    }

    /// Collects what the running-transaction registry holds collectable now (the
    /// background collector's periodic pass; a committing thread collects what its
    /// commits made collectable, every [`crate::running::SCAN_AFTER`] commits or at once
    /// for a commit of [`crate::running::SCAN_OBJECTS`] objects or more).
    pub(crate) fn collect_queued(&self) -> GcReport {
        let (ready, oldest) = self.running.collectable(&self.clock.line.newest);
        collect_entries(&self.graph, &self.schema, &ready, oldest);
        GcReport {
            transactions: ready.len(),
            pending: self.running.gc_pending(),
        }
    }
}
