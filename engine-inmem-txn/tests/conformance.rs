//! The shared conformance suite against the in-memory transactional engine.

use std::path::Path;

use engine_inmem_txn::{Config, InMemoryEngine};

struct InMemoryTxnFactory;

impl conformance::EngineFactory for InMemoryTxnFactory {
    type Engine = InMemoryEngine;

    fn open(&self, _dir: &Path) -> engine_api::Result<InMemoryEngine> {
        InMemoryEngine::open(Config::default())
    }
}

conformance::suite!(InMemoryTxnFactory);
