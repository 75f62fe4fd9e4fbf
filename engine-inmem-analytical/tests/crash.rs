//! The kill -9 harness (`conformance::crash`) on IN_MEMORY_ANALYTICAL's snapshot
//! path: without a WAL only a snapshot makes data durable, so after each kill the
//! database must be exactly the newest complete snapshot, never older than the last
//! acknowledged one, and never a half-written one.
//!
//! Short form (CI): 50 cycles. Long form: `QUIVER_CRASH_CYCLES=3000 cargo test
//! --release -p engine-inmem-analytical --test crash`.

use std::path::Path;

use conformance::EngineFactory;
use conformance::crash::CrashSettings;
use engine_api::Result;
use engine_inmem_analytical::{AnalyticalEngine, Config};

const RETENTION: usize = 2;

struct Crash;

impl EngineFactory for Crash {
    type Engine = AnalyticalEngine;

    fn open(&self, dir: &Path) -> Result<AnalyticalEngine> {
        AnalyticalEngine::open(
            Config::new()
                .data_directory(dir)
                .durability(Config::default_durability().snapshot_retention(RETENTION)),
        )
    }
}

fn main() {
    conformance::crash::main(
        &Crash,
        &CrashSettings {
            backend: "engine-inmem-analytical",
            snapshot_retention: RETENTION,
            short_cycles: 50,
        },
    );
}
