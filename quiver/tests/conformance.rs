//! The conformance suite through the facade, once per storage mode: the facade
//! forwards every call of the contract to the backend of the mode.

use std::path::Path;

use engine_api::StorageMode;
use quiver::{Config, Database};

macro_rules! mode_suite {
    ($module:ident, $mode:expr) => {
        mod $module {
            use super::*;

            struct Mode;

            impl conformance::EngineFactory for Mode {
                type Engine = Database;

                fn open(&self, dir: &Path) -> engine_api::Result<Database> {
                    Database::open(Config::new().data_directory(dir).mode($mode))
                }
            }

            conformance::suite!(Mode);
        }
    };
}

mode_suite!(in_memory_transactional, StorageMode::InMemoryTransactional);
mode_suite!(in_memory_analytical, StorageMode::InMemoryAnalytical);
mode_suite!(on_disk_transactional, StorageMode::OnDiskTransactional);
