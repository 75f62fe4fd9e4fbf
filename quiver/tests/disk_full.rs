//! A full disk: each mode's data directory on a small tmpfs. Commits until the disk
//! is full either succeed or fail with a clean error (never a panic); nothing
//! acknowledged is lost; no half-written file is trusted by a later open; once space
//! returns the database opens again with every acknowledged commit.
//!
//! Needs permission to mount a tmpfs (root here and in CI); elsewhere it says so and
//! checks nothing.

use std::path::{Path, PathBuf};

use engine_api::{ErrorKind, StorageEngine, StorageMode, SyncMode, Transaction, TxnOptions};
use quiver::{Config, Database};

mod common;
use common::SmallDisk;

fn config(dir: &Path, mode: StorageMode) -> Config {
    Config::new()
        .data_directory(dir)
        .mode(mode)
        .durability_by_mode(|_, d| {
            d.sync_mode(SyncMode::EveryCommit)
                .snapshot_interval(None)
                .snapshot_on_exit(false)
        })
}

/// Commits vertices of about 2 KiB until a commit fails or `max` are acknowledged;
/// returns the acknowledged count and the first error.
fn fill(db: &Database, max: i64) -> (i64, Option<engine_api::Error>) {
    let pad = "x".repeat(2048);
    for i in 0..max {
        let result = db.begin(TxnOptions::new()).and_then(|mut t| {
            t.create_vertex_with(&["Row"], &[("n", i.into()), ("pad", pad.clone().into())])?;
            t.commit()
        });
        if let Err(e) = result {
            return (i, Some(e));
        }
    }
    (max, None)
}

fn count(db: &Database) -> i64 {
    let t = db.begin(TxnOptions::new().read_only()).expect("begin");
    t.vertices_with_label("Row").expect("scan").count() as i64
}

#[test]
fn a_full_disk_gives_clean_errors_and_loses_no_acknowledged_commit() {
    for mode in [
        StorageMode::InMemoryTransactional,
        StorageMode::OnDiskTransactional,
    ] {
        let Some(disk) = SmallDisk::mount(2 << 20) else {
            return;
        };
        let dir = disk.dir.join("data");
        let db = Database::open(config(&dir, mode)).expect("open");
        let (acknowledged, err) = fill(&db, 100_000);
        let err = err.unwrap_or_else(|| panic!("{mode:?}: 2 MiB held 100k rows of 2 KiB"));
        // What the README says: the commit fails with Poisoned, and the message
        // carries the I/O error.
        assert_eq!(err.kind(), ErrorKind::Poisoned, "{mode:?}: {err}");
        assert!(
            err.message().to_lowercase().contains("no space left"),
            "{mode:?}: {err}"
        );
        assert!(acknowledged > 0, "{mode:?}: some commits fit");
        eprintln!("{mode:?}: {acknowledged} commits acknowledged, then: {err}");
        // A snapshot on the full disk fails cleanly and leaves no file a later
        // open would trust.
        if let Err(e) = db.create_snapshot() {
            assert!(
                matches!(e.kind(), ErrorKind::Io | ErrorKind::Poisoned),
                "{mode:?}: {e}"
            );
        }
        drop(db);
        disk.resize(64 << 20);
        let db = Database::open(config(&dir, mode))
            .unwrap_or_else(|e| panic!("{mode:?}: reopens once space returns: {e}"));
        let n = count(&db);
        assert!(
            n == acknowledged || n == acknowledged + 1,
            "{mode:?}: {acknowledged} acknowledged, {n} after reopening (the failed commit may or may not have reached the disk)"
        );
        let (more, err) = fill(&db, 10);
        assert!(
            err.is_none() && more == 10,
            "{mode:?}: writes go on: {err:?}"
        );
        db.create_snapshot().expect("a snapshot with room");
        db.close().expect("close");
    }
}

/// IN_MEMORY_ANALYTICAL writes only snapshots: one that does not fit fails cleanly,
/// leaves no snapshot a later open would load, and one with room afterwards holds
/// everything.
#[test]
fn an_analytical_snapshot_on_a_full_disk_fails_cleanly() {
    let Some(disk) = SmallDisk::mount(256 << 10) else {
        return;
    };
    let dir = disk.dir.join("data");
    let mode = StorageMode::InMemoryAnalytical;
    let db = Database::open(config(&dir, mode)).expect("open");
    let (acknowledged, err) = fill(&db, 1000);
    assert!(err.is_none() && acknowledged == 1000, "{err:?}");
    let err = db
        .create_snapshot()
        .expect_err("2 MB do not fit in 256 KiB");
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    let names: Vec<_> = std::fs::read_dir(dir.join("snapshots"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        names
            .iter()
            .all(|n| !n.to_string_lossy().ends_with(".snapshot")),
        "no snapshot under a real name: {names:?}"
    );
    assert_eq!(count(&db), 1000, "the data is still in memory");
    disk.resize(64 << 20);
    db.create_snapshot().expect("a snapshot with room");
    db.close().expect("close");
    let db = Database::open(config(&dir, mode)).expect("reopen");
    assert_eq!(count(&db), 1000);
    db.close().expect("close");
}

/// A backup onto a full disk fails with a clean error and leaves nothing that
/// verifies as a backup; the database it came from goes on.
#[test]
fn a_backup_onto_a_full_disk_fails_cleanly() {
    // RocksDB's files (compressed) take about a tenth of an export's bytes.
    let Some(disk) = SmallDisk::mount(32 << 10) else {
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    for mode in [
        StorageMode::InMemoryTransactional,
        StorageMode::OnDiskTransactional,
    ] {
        let dir = data.path().join(quiver::mode_name(mode));
        let db = Database::open(config(&dir, mode)).expect("open");
        let (acknowledged, err) = fill(&db, 1000);
        assert!(err.is_none() && acknowledged == 1000, "{err:?}");
        let dest = disk.dir.join(quiver::mode_name(mode));
        let err = quiver::backup(&db, &dest, &|_, _| {}).expect_err("it does not fit in 32 KiB");
        assert_eq!(err.kind(), ErrorKind::Io, "{mode:?}: {err}");
        // Nothing under a real name: the copy went to a temporary name, removed.
        let left: Vec<_> = walk(&dest)
            .into_iter()
            .filter(|(p, _)| {
                p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            })
            .collect();
        assert!(
            left.is_empty(),
            "{mode:?}: a failed backup ({err}) left {left:?}"
        );
        let report = quiver::verify(&dest, &|_, _| {});
        assert!(
            report.as_ref().map_or(true, |r| r.manifest.is_none()),
            "{mode:?}: no manifest: {report:?}"
        );
        let (more, err) = fill(&db, 10);
        assert!(
            err.is_none() && more == 10,
            "{mode:?}: the database goes on: {err:?}"
        );
        db.close().expect("close");
        let _ = std::fs::remove_dir_all(&dest);
    }
}

fn walk(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push((p.clone(), p.metadata().map_or(0, |m| m.len())));
        }
    }
    out
}

/// A data directory on a read-only mount (what permissions that forbid writing do
/// for a user who is not root): opening fails with a clean error naming the
/// directory, in every mode, and the data is intact once it is writable again.
#[test]
fn a_read_only_data_directory_is_refused_cleanly() {
    let Some(disk) = SmallDisk::mount(64 << 20) else {
        return;
    };
    for mode in [
        StorageMode::InMemoryTransactional,
        StorageMode::InMemoryAnalytical,
        StorageMode::OnDiskTransactional,
    ] {
        let dir = disk.dir.join(quiver::mode_name(mode));
        let db = Database::open(config(&dir, mode)).expect("open");
        let (acknowledged, err) = fill(&db, 20);
        assert!(err.is_none() && acknowledged == 20, "{err:?}");
        if mode == StorageMode::InMemoryAnalytical {
            db.create_snapshot().expect("snapshot");
        }
        db.close().expect("close");
        disk.remount("ro");
        let err = Database::open(config(&dir, mode)).expect_err("a read-only directory");
        assert!(
            matches!(err.kind(), ErrorKind::Io | ErrorKind::Locked),
            "{mode:?}: {err}"
        );
        assert!(
            err.to_string().contains("Read-only file system"),
            "{mode:?}: says why: {err}"
        );
        eprintln!("{mode:?} on a read-only mount: {err}");
        disk.remount("rw");
        let db = Database::open(config(&dir, mode)).expect("reopen");
        assert_eq!(count(&db), 20, "{mode:?}");
        db.close().expect("close");
    }
}
