//! The kill -9 harness (`conformance::crash`) on IN_MEMORY_TRANSACTIONAL: commits
//! synced with `EveryCommit`, small WAL segments and a snapshot every 20 ms, so kills
//! land while a snapshot is written, the WAL rotates, or retention deletes files.
//!
//! Short form (CI): 100 cycles. Long form: `QUIVER_CRASH_CYCLES=5000 cargo test
//! --release -p engine-inmem-txn --test crash`.

use std::path::Path;
use std::time::Duration;

use conformance::EngineFactory;
use conformance::crash::CrashSettings;
use engine_api::{DurabilityConfig, Result, SyncMode};
use engine_inmem_txn::{Config, InMemoryEngine};

const RETENTION: usize = 2;

struct Crash;

impl EngineFactory for Crash {
    type Engine = InMemoryEngine;

    fn open(&self, dir: &Path) -> Result<InMemoryEngine> {
        InMemoryEngine::open(
            Config::default().data_directory(dir).durability(
                DurabilityConfig::default()
                    .sync_mode(SyncMode::EveryCommit)
                    .wal_segment_bytes(8 * 1024)
                    .snapshot_interval(Some(Duration::from_millis(20)))
                    .snapshot_retention(RETENTION),
            ),
        )
    }
}

fn main() {
    conformance::crash::main(
        &Crash,
        &CrashSettings {
            backend: "engine-inmem-txn",
            snapshot_retention: RETENTION,
            short_cycles: 100,
        },
    );
}
