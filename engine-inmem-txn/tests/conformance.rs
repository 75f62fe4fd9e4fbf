//! The shared conformance suite against the in-memory transactional engine, twice:
//! memory-only, and durable in the suite's data directory (WAL synced per commit).

use std::path::Path;

use engine_api::{DurabilityConfig, SyncMode};
use engine_inmem_txn::{Config, InMemoryEngine};

mod memory_only {
    use super::*;

    struct MemoryOnly;

    impl conformance::EngineFactory for MemoryOnly {
        type Engine = InMemoryEngine;

        fn open(&self, _dir: &Path) -> engine_api::Result<InMemoryEngine> {
            InMemoryEngine::open(Config::default())
        }
    }

    conformance::suite!(MemoryOnly);
}

mod durable {
    use super::*;

    struct Durable;

    impl conformance::EngineFactory for Durable {
        type Engine = InMemoryEngine;

        fn open(&self, dir: &Path) -> engine_api::Result<InMemoryEngine> {
            InMemoryEngine::open(
                Config::default()
                    .data_directory(dir)
                    .durability(DurabilityConfig::default().sync_mode(SyncMode::EveryCommit)),
            )
        }
    }

    conformance::suite!(Durable);
}
