//! The storage mode chosen at run time: the same application code in any mode, and
//! a switch of the live database.
//!
//! Run: `cargo run -p quiver --example choose_mode -- IN_MEMORY_ANALYTICAL`
//! (the mode argument: any of the three names; default IN_MEMORY_TRANSACTIONAL).

use engine_api::{StorageEngine, StorageMode, Transaction, TxnOptions};
use quiver::{Config, Database};

/// Application code: knows nothing of the mode.
fn count_people(db: &Database) -> engine_api::Result<usize> {
    let t = db.begin(TxnOptions::new().read_only())?;
    Ok(t.vertices_with_label("Person")?.count())
}

fn main() -> engine_api::Result<()> {
    let mode = match std::env::args().nth(1) {
        Some(name) => quiver::parse_mode(&name).ok_or_else(|| {
            engine_api::Error::invalid_input(format!("{name} is not a storage mode"))
        })?,
        None => StorageMode::InMemoryTransactional,
    };
    let dir = tempfile::tempdir()?;
    let mut db = Database::open(Config::new().data_directory(dir.path()).mode(mode))?;
    let mut t = db.begin(TxnOptions::new())?;
    for name in ["Ann", "Bob", "Cid"] {
        t.create_vertex_with(&["Person"], &[("name", name.into())])?;
    }
    t.commit()?;
    println!(
        "{}: {} people",
        quiver::mode_name(db.storage_mode()),
        count_people(&db)?
    );

    // Switch the live database between the two in-memory modes (data and ids kept;
    // the on-disk mode takes a switch only while empty: use quiver::migrate).
    if mode != StorageMode::OnDiskTransactional {
        let other = match mode {
            StorageMode::InMemoryAnalytical => StorageMode::InMemoryTransactional,
            _ => StorageMode::InMemoryAnalytical,
        };
        let moved = db.set_storage_mode(other)?;
        println!(
            "switched to {} in {:?}: {} people",
            quiver::mode_name(moved.to),
            moved.elapsed,
            count_people(&db)?
        );
    }
    db.close()
}
