//! The kill -9 harness (`conformance::crash`) on ON_DISK_TRANSACTIONAL: commits
//! synced with `EveryCommit` (RocksDB's WAL), our metadata beside it, snapshots
//! (RocksDB checkpoints) on demand.
//!
//! Short form (CI): 20 cycles. Long form: `QUIVER_CRASH_CYCLES=2000 cargo test
//! --release -p engine-ondisk --test crash`.

use std::path::Path;

use conformance::EngineFactory;
use conformance::crash::CrashSettings;
use engine_api::{Result, SyncMode};
use engine_ondisk::{Config, OnDiskEngine};

const RETENTION: usize = 2;

struct Crash;

impl EngineFactory for Crash {
    type Engine = OnDiskEngine;

    fn open(&self, dir: &Path) -> Result<OnDiskEngine> {
        OnDiskEngine::open(
            Config::new(dir).durability(
                Config::default_durability()
                    .sync_mode(SyncMode::EveryCommit)
                    .snapshot_retention(RETENTION),
            ),
        )
    }
}

fn main() {
    conformance::crash::main(
        &Crash,
        &CrashSettings {
            backend: "engine-ondisk",
            snapshot_retention: RETENTION,
            short_cycles: 20,
        },
    );
}
