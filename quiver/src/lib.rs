//! Quiver's facade: one [`Database`] type over the three storage modes, the mode
//! chosen at run time and persisted with the data, so a reopen gets the mode the data
//! was written in. Application code uses engine-api's traits and does not change with
//! the mode; the backend crates stay usable directly.
//!
//! ```
//! use engine_api::{StorageEngine, StorageMode, Transaction, TxnOptions};
//! use quiver::{Config, Database};
//!
//! # fn main() -> engine_api::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let db = Database::open(Config::new().data_directory(dir.path()).mode(StorageMode::InMemoryAnalytical))?;
//! let mut t = db.begin(TxnOptions::new())?;
//! t.create_vertex_with(&["Page"], &[])?;
//! t.commit()?;
//! db.close()?;
//!
//! // No mode named: the directory's own.
//! let db = Database::open(Config::new().data_directory(dir.path()))?;
//! assert_eq!(db.storage_mode(), StorageMode::InMemoryAnalytical);
//! assert_eq!(db.stats()?.vertices, 1);
//! # Ok(())
//! # }
//! ```
//!
//! Beside the database: [`set_storage_mode`](Database::set_storage_mode) and
//! [`migrate`] move between modes; [`backup`], [`verify`] and [`restore`] keep
//! copies (verify says a directory is damaged exactly when opening it would fail).
#![deny(missing_docs)]

mod backup;
mod database;
mod mode;
mod switch;
mod verify;

pub use backup::{
    ChainView, Progress, RestoreOptions, Restored, aggregate, apart, backup, backup_incremental,
    parent_is_a_directory, read_chain, read_manifest, restore, scratch_dir,
};
pub use database::{Config, Database, Edges, Engine, Txn, Vertices, default_durability};
pub use durability::manifest::{MANIFEST_FILE, Manifest, ManifestFile, ParentLink};
pub use mode::{MODE_FILE, mode_name, parse_mode, persist_mode, persisted_mode};
pub use switch::{Moved, migrate, migrate_without_constraints};
/// With the `crash-points` feature, aborts the process when the environment variable
/// `QUIVER_CRASH_AT` names `step` (for the crash tests of this crate and of the
/// commands built on it); otherwise nothing.
#[doc(hidden)]
pub fn crash_point(step: &str) {
    #[cfg(feature = "crash-points")]
    if std::env::var("QUIVER_CRASH_AT").is_ok_and(|s| s == step) {
        std::process::abort();
    }
    #[cfg(not(feature = "crash-points"))]
    let _ = step;
}

pub use verify::{
    CheckedFile, DamageKind, VerifyReport, holds_database, holds_only_leftovers, no_database,
    only_leftovers, verify,
};
