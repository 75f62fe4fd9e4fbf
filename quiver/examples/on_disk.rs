//! ON_DISK_TRANSACTIONAL: the graph in RocksDB; the data directory is required.
//!
//! Run: `cargo run -p quiver --example on_disk`

use engine_api::{Direction, StorageEngine, StorageMode, Transaction, TxnOptions};
use quiver::{Config, Database};

fn main() -> engine_api::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config::new()
        .data_directory(dir.path())
        .mode(StorageMode::OnDiskTransactional);
    let db = Database::open(config.clone())?;
    let mut t = db.begin(TxnOptions::new())?;
    let ann = t.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
    let bob = t.create_vertex_with(&["Person"], &[("name", "Bob".into())])?;
    t.create_edge_with(ann, bob, "KNOWS", &[("since", 2019.into())])?;
    t.commit()?;
    db.close()?;

    let db = Database::open(config)?;
    let t = db.begin(TxnOptions::new().read_only())?;
    let knows = t.edges(ann, Direction::Out, Some("KNOWS"))?.count();
    println!(
        "{} on disk in {}: Ann knows {knows}",
        quiver::mode_name(db.storage_mode()),
        dir.path().display()
    );
    Ok(())
}
