//! The backup-and-restore workflow: an online backup while a writer runs, verify,
//! the data directory lost, restore, and the restored database checked.
//!
//! Run: `cargo run -p quiver --example backup_and_restore`

use std::sync::atomic::{AtomicBool, Ordering};

use engine_api::{StorageEngine, Transaction, TxnOptions};
use quiver::{Config, Database, RestoreOptions};

fn main() -> engine_api::Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backup) = (root.path().join("data"), root.path().join("backup"));
    let db = Database::open(Config::new().data_directory(&data))?;
    let mut t = db.begin(TxnOptions::new())?;
    for i in 0..1000i64 {
        t.create_vertex_with(&["Order"], &[("n", i.into())])?;
    }
    t.commit()?;

    // Back up online while another thread keeps committing.
    let stop = AtomicBool::new(false);
    let manifest = std::thread::scope(|s| {
        let writer = s.spawn(|| -> engine_api::Result<()> {
            while !stop.load(Ordering::Acquire) {
                let mut t = db.begin(TxnOptions::new())?;
                t.create_vertex_with(&["Order"], &[("late", true.into())])?;
                t.commit()?;
            }
            Ok(())
        });
        let manifest = quiver::backup(&db, &backup, &|_, _| {});
        stop.store(true, Ordering::Release);
        let written = writer.join().map_err(|_| {
            engine_api::Error::new(engine_api::ErrorKind::Io, "the writer thread panicked")
        });
        written??;
        manifest
    })?;
    println!(
        "backup of {} files, commits up to {}",
        manifest.files.len(),
        manifest.covered_commit_ts
    );
    db.close()?;

    let report = quiver::verify(&backup, &|_, _| {})?;
    assert!(report.is_sound());
    for f in &report.files {
        println!("  ok {:<12} {}", f.kind, f.detail);
    }

    // The data directory is lost; the backup brings it back.
    std::fs::remove_dir_all(&data)?;
    quiver::restore(&backup, &data, &RestoreOptions::new(), &|_, _| {})?;
    let db = Database::open(Config::new().data_directory(&data))?;
    let t = db.begin(TxnOptions::new().read_only())?;
    println!(
        "restored: {} orders (1000 before the backup began, plus those its WAL copy caught)",
        t.vertices_with_label("Order")?.count()
    );
    Ok(())
}
