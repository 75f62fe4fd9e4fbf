//! The whole conformance suite against the on-disk backend.

use std::path::Path;

use engine_api::{Result, SyncMode};
use engine_ondisk::{Config, OnDiskEngine};

struct OnDisk;

impl conformance::EngineFactory for OnDisk {
    type Engine = OnDiskEngine;

    fn open(&self, dir: &Path) -> Result<OnDiskEngine> {
        // Off: the suite's crashes are drops within one process, which lose nothing
        // RocksDB has written; syncing every commit would only slow the suite down.
        OnDiskEngine::open(
            Config::new(dir).durability(Config::default_durability().sync_mode(SyncMode::Off)),
        )
    }
}

conformance::suite!(OnDisk);
