//! What the engine and its transactions share: the graph, the commit clock, the
//! running transactions, the schema, the data directory and the observers, each a
//! component of its own module. `Inner` only holds them and wires the few steps
//! that take several (retiring a commit into collection, the engine's counts).

use std::sync::atomic::Ordering;

use engine_api::kit::ObserverRegistry;
use engine_api::{Capabilities, Error, Result};

use crate::clock::CommitClock;
use crate::gc::{GcReport, collect_entries};
use crate::graph::Graph;
use crate::running::{GcEntry, Running};
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
    pub(crate) fn retire(&self, entry: GcEntry) {
        let (ready, oldest) = self.running.retire(entry, &self.clock.newest);
        collect_entries(&self.graph, &self.schema, &ready, oldest);
    }

    /// Collects what can be collected now (the background collector; every commit
    /// collects what its publication made collectable).
    pub(crate) fn collect(&self) -> GcReport {
        let (ready, oldest) = self.running.collectable(&self.clock.newest);
        collect_entries(&self.graph, &self.schema, &ready, oldest);
        GcReport {
            transactions: ready.len(),
            pending: self.running.gc_pending(),
        }
    }
}
