//! What the engine and its transactions share: the graph, the commit clock, the
//! schema, the snapshot pause, the data directory and the observers, each a
//! component of its own module. `Inner` only holds them.

use engine_api::kit::ObserverRegistry;
use engine_api::{Capabilities, Error, Result};

use crate::clock::CommitClock;
use crate::config::{Config, capabilities};
use crate::graph::Graph;
use crate::pause::Pause;
use crate::schema::Schema;
use durability::Durable;

pub(crate) struct Inner {
    pub(crate) capabilities: Capabilities,
    pub(crate) graph: Graph,
    pub(crate) clock: CommitClock,
    pub(crate) schema: Schema,
    pub(crate) observers: ObserverRegistry,
    /// Holds new transactions back while a snapshot or an export runs.
    pub(crate) pause: Pause,
    /// The data directory: `None` for a memory-only engine.
    pub(crate) durable: Option<Durable>,
}

impl Inner {
    pub(crate) fn new(config: &Config) -> Self {
        Inner {
            capabilities: capabilities(config.get_data_directory().is_some()),
            graph: Graph::new(),
            clock: CommitClock::default(),
            schema: Schema::default(),
            observers: ObserverRegistry::new(),
            pause: Pause::new(config.get_begin_wait()),
            durable: None,
        }
    }

    /// Runs a schema change in the delivery order and gives it a commit timestamp of
    /// its own: this mode's snapshots are the only record of the schema, and two
    /// snapshots with one commit timestamp must hold one schema (else opening could
    /// fall back from a damaged snapshot to an older one of the same timestamp that
    /// lacks the change, and call nothing lost).
    pub(crate) fn change_schema(&self, change: impl FnOnce() -> Result<()>) -> Result<()> {
        let _in_order = self.clock.in_order();
        change()?;
        self.clock.next();
        Ok(())
    }

    /// The newest commit timestamp and the schema as of it, read together.
    pub(crate) fn schema_as_of_now(&self) -> (u64, Vec<durability::SchemaOp>) {
        let _in_order = self.clock.in_order();
        (self.clock.last(), self.schema.schema_definitions())
    }

    pub(crate) fn durable(&self) -> Result<&Durable> {
        self.durable.as_ref().ok_or_else(|| {
            Error::unsupported("a durability operation on an engine without a data directory")
        })
    }
}
