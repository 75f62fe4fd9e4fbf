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
