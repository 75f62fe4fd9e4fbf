//! The mode is persisted with the data: a reopen gets it, a different one is refused.

use engine_api::{ErrorKind, Result, StorageEngine, StorageMode, Transaction, TxnOptions};
use quiver::{Config, Database, MODE_FILE};

#[test]
fn a_reopen_gets_the_persisted_mode_and_a_different_one_is_refused() -> Result<()> {
    for mode in [
        StorageMode::InMemoryTransactional,
        StorageMode::InMemoryAnalytical,
        StorageMode::OnDiskTransactional,
    ] {
        let dir = tempfile::tempdir()?;
        let db = Database::open(Config::new().data_directory(dir.path()).mode(mode))?;
        assert_eq!(db.storage_mode(), mode);
        assert_eq!(db.capabilities().storage_mode, mode);
        let mut t = db.begin(TxnOptions::new())?;
        t.create_vertex_with(&["Kept"], &[("mode", quiver::mode_name(mode).into())])?;
        t.commit()?;
        db.close()?;
        let text = std::fs::read_to_string(dir.path().join(MODE_FILE))?;
        assert_eq!(text.trim(), quiver::mode_name(mode));
        let db = Database::open(Config::new().data_directory(dir.path()))?;
        assert_eq!(db.storage_mode(), mode);
        let t = db.begin(TxnOptions::new().read_only())?;
        assert_eq!(t.vertices_with_label("Kept")?.count(), 1);
        drop(t);
        db.close()?;
        for other in [
            StorageMode::InMemoryTransactional,
            StorageMode::InMemoryAnalytical,
            StorageMode::OnDiskTransactional,
        ] {
            if other == mode {
                continue;
            }
            let err = Database::open(Config::new().data_directory(dir.path()).mode(other))
                .expect_err("another mode");
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.message().contains(quiver::mode_name(mode)), "{err}");
        }
    }
    Ok(())
}

#[test]
fn on_disk_needs_a_data_directory_and_memory_only_defaults_to_transactional() -> Result<()> {
    let err = Database::open(Config::new().mode(StorageMode::OnDiskTransactional))
        .expect_err("no directory");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let db = Database::open(Config::new())?;
    assert_eq!(db.storage_mode(), StorageMode::InMemoryTransactional);
    Ok(())
}

#[test]
fn a_damaged_mode_file_is_corrupt_and_names_the_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    Database::open(Config::new().data_directory(dir.path()))?.close()?;
    std::fs::write(dir.path().join(MODE_FILE), "IN_MEMORY_TRANSACTIONAX\n")?;
    let err = Database::open(Config::new().data_directory(dir.path())).expect_err("damaged");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(err.message().contains(MODE_FILE), "{err}");
    Ok(())
}

/// A backend opened directly (not through the facade) on a directory the on-disk
/// backend wrote refuses it, naming what it found, instead of starting an empty
/// database among RocksDB's files.
#[test]
fn an_in_memory_backend_refuses_an_on_disk_data_directory() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let engine = engine_ondisk::OnDiskEngine::open(engine_ondisk::Config::new(dir.path()))?;
    let mut t = engine.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Kept"], &[])?;
    t.commit()?;
    engine.close()?;
    let before: Vec<_> = std::fs::read_dir(dir.path())?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let txn = engine_inmem_txn::InMemoryEngine::open(
        engine_inmem_txn::Config::default().data_directory(dir.path()),
    );
    let err = txn.expect_err("inmem-txn refuses an on-disk directory");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("ON_DISK_TRANSACTIONAL"), "{err}");
    let analytical = engine_inmem_analytical::AnalyticalEngine::open(
        engine_inmem_analytical::Config::default().data_directory(dir.path()),
    );
    let err = analytical.expect_err("inmem-analytical refuses an on-disk directory");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("ON_DISK_TRANSACTIONAL"), "{err}");
    let after: Vec<_> = std::fs::read_dir(dir.path())?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before, after, "nothing was written into it");
    let engine = engine_ondisk::OnDiskEngine::open(engine_ondisk::Config::new(dir.path()))?;
    let t = engine.begin(TxnOptions::new().read_only())?;
    assert_eq!(t.vertices_with_label("Kept")?.count(), 1);
    Ok(())
}

/// The on-disk backend opened directly on a directory whose commits are in an
/// in-memory backend's WAL refuses it rather than opening without them.
#[test]
fn the_on_disk_backend_refuses_a_directory_with_a_wal_of_ours() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let engine = engine_inmem_txn::InMemoryEngine::open(
        engine_inmem_txn::Config::default()
            .data_directory(dir.path())
            .durability(
                engine_api::DurabilityConfig::default()
                    .snapshot_interval(None)
                    .snapshot_on_exit(false),
            ),
    )?;
    let mut t = engine.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Kept"], &[])?;
    t.commit()?;
    engine.close()?;
    let err = engine_ondisk::OnDiskEngine::open(engine_ondisk::Config::new(dir.path()))
        .expect_err("the on-disk backend refuses a directory with a WAL of ours");
    // The same kind as the other direction above: another mode's database.
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(
        err.message().contains("00000000000000000001.wal"),
        "names the segment: {err}"
    );
    let engine = engine_inmem_txn::InMemoryEngine::open(
        engine_inmem_txn::Config::default().data_directory(dir.path()),
    )?;
    let t = engine.begin(TxnOptions::new().read_only())?;
    assert_eq!(
        t.vertices_with_label("Kept")?.count(),
        1,
        "nothing was lost"
    );
    Ok(())
}

/// The facade hands each mode its own durability settings and refuses what a mode
/// cannot honour, as the backends do; without settings each mode runs its backend's
/// default. (Mutation: the old silent rewrite of a WAL and periodic snapshots away for
/// IN_MEMORY_ANALYTICAL → the first assertion fails.)
#[test]
fn durability_settings_are_each_modes_own_and_never_rewritten() -> Result<()> {
    use engine_api::DurabilityConfig;
    let root = tempfile::tempdir()?;
    let analytical = StorageMode::InMemoryAnalytical;
    let on_disk = StorageMode::OnDiskTransactional;
    for (mode, name) in [(analytical, "a"), (on_disk, "b")] {
        let e = Database::open(
            Config::new()
                .data_directory(root.path().join(name))
                .mode(mode)
                .durability(DurabilityConfig::default()),
        )
        .expect_err("a WAL-and-periodic-snapshot config where the mode cannot have both");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        assert!(e.message().contains("durability_for"), "{e}");
    }
    // No settings: the on-disk backend's own default (no snapshot on close).
    let dir = root.path().join("disk");
    let db = Database::open(Config::new().data_directory(&dir).mode(on_disk))?;
    assert_eq!(
        Config::new().get_durability(on_disk),
        engine_ondisk::Config::default_durability()
    );
    db.close()?;
    assert_eq!(std::fs::read_dir(dir.join("snapshots"))?.count(), 0);
    // Settings for one mode leave the others at their defaults: a transactional
    // database with a WAL switches to the analytical mode, which runs without one.
    let dir = root.path().join("switch");
    let mut db = Database::open(Config::new().data_directory(&dir).durability_for(
        StorageMode::InMemoryTransactional,
        DurabilityConfig::default().snapshot_retention(1),
    ))?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex()?;
    t.commit()?;
    db.set_storage_mode(analytical)?;
    assert_eq!(db.stats()?.vertices, 1);
    db.close()?;
    Ok(())
}
