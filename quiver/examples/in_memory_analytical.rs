//! IN_MEMORY_ANALYTICAL: a bulk import without a WAL, kept by a snapshot.
//!
//! Run: `cargo run -p quiver --example in_memory_analytical`

use engine_api::{StorageEngine, StorageMode, Transaction, TxnOptions};
use quiver::{Config, Database};

fn main() -> engine_api::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config::new()
        .data_directory(dir.path())
        .mode(StorageMode::InMemoryAnalytical);
    let db = Database::open(config.clone())?;
    let mut t = db.begin(TxnOptions::new())?;
    let mut previous = None;
    for i in 0..10_000i64 {
        let v = t.create_vertex_with(&["Page"], &[("rank", i.into())])?;
        if let Some(p) = previous {
            t.create_edge(p, v, "LINKS")?;
        }
        previous = Some(v);
    }
    t.commit()?;
    // No WAL in this mode: a snapshot (on demand, or on close) is what persists.
    let snapshot = db.create_snapshot()?;
    println!(
        "snapshot: {} ({} bytes)",
        snapshot.path.display(),
        snapshot.size_bytes
    );
    db.close()?;
    let db = Database::open(config)?;
    let stats = db.stats()?;
    println!(
        "reopened: {} vertices, {} edges",
        stats.vertices, stats.edges
    );
    Ok(())
}
