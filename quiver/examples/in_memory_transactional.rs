//! IN_MEMORY_TRANSACTIONAL: snapshot isolation, conflicts, a WAL, recovery.
//!
//! Run: `cargo run -p quiver --example in_memory_transactional`

use engine_api::{ErrorKind, StorageEngine, StorageMode, Transaction, TxnOptions};
use quiver::{Config, Database};

fn main() -> engine_api::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config::new()
        .data_directory(dir.path())
        .mode(StorageMode::InMemoryTransactional);
    let db = Database::open(config.clone())?;
    let mut t = db.begin(TxnOptions::new())?;
    let ann = t.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
    t.commit()?;

    // Two writers of one vertex: the second gets a retryable conflict.
    let mut a = db.begin(TxnOptions::new())?;
    let mut b = db.begin(TxnOptions::new())?;
    a.set_vertex_property(ann, "age", 40.into())?;
    let err = b
        .set_vertex_property(ann, "age", 41.into())
        .expect_err("a write-write conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    a.commit()?;
    drop(b);

    // Every commit is in the WAL: reopening recovers it.
    db.close()?;
    let db = Database::open(config)?;
    let t = db.begin(TxnOptions::new().read_only())?;
    println!(
        "Ann is {:?} after a reopen",
        t.vertex_property(ann, "age")?.expect("recovered")
    );
    Ok(())
}
