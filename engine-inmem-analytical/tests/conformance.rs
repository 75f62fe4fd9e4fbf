//! The shared conformance suite against IN_MEMORY_ANALYTICAL, twice: memory-only, and
//! with the suite's data directory (snapshots, retention, the directory lock).

use std::path::Path;

use engine_inmem_analytical::{AnalyticalEngine, Config};

mod memory_only {
    use super::*;

    struct MemoryOnly;

    impl conformance::EngineFactory for MemoryOnly {
        type Engine = AnalyticalEngine;

        fn open(&self, _dir: &Path) -> engine_api::Result<AnalyticalEngine> {
            AnalyticalEngine::open(Config::new())
        }
    }

    conformance::suite!(MemoryOnly);
}

mod durable {
    use super::*;

    struct Durable;

    impl conformance::EngineFactory for Durable {
        type Engine = AnalyticalEngine;

        fn open(&self, dir: &Path) -> engine_api::Result<AnalyticalEngine> {
            AnalyticalEngine::open(Config::new().data_directory(dir))
        }
    }

    conformance::suite!(Durable);
}
