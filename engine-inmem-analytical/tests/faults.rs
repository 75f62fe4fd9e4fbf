//! EIO (or ENOSPC) at every step of writing a snapshot, through the injectable file
//! layer: `create_snapshot` fails with `Io`, leaves no file under a snapshot's name
//! and no temporary file, lets transactions begin again at once, and reopening gives
//! the newest complete snapshot; the next snapshot on a working disk holds
//! everything.

use std::sync::Arc;

use durability::FailingFiles;
use engine_api::{ErrorKind, StorageEngine, Transaction, TxnOptions};
use engine_inmem_analytical::{AnalyticalEngine, Config};

fn count(engine: &AnalyticalEngine) -> u64 {
    let t = engine.begin(TxnOptions::new()).expect("begin");
    t.vertex_count().expect("count")
}

fn commit(engine: &AnalyticalEngine) {
    let mut t = engine
        .begin(TxnOptions::new())
        .expect("begin after a failed snapshot");
    t.create_vertex_with(&["N"], &[]).expect("create");
    t.commit().expect("commit");
}

#[test]
fn a_snapshot_that_hits_an_io_error_fails_cleanly() {
    let files = FailingFiles::new(".snapshot.tmp");
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = || {
        Config::new()
            .data_directory(tmp.path())
            .durability(Config::default_durability().snapshot_retention(1))
            .file_layer(Arc::new(files.clone()))
    };
    let engine = AnalyticalEngine::open(config()).expect("open");
    commit(&engine);
    let before = files.operations();
    let first = engine.create_snapshot().expect("a snapshot");
    let steps = files.operations() - before;
    assert!(
        steps >= 3,
        "a snapshot is created, written and synced: {steps}"
    );
    for (step, code) in (0..steps).flat_map(|s| [(s, 5), (s, 28)]) {
        commit(&engine);
        files.arm(step, code);
        let e = engine
            .create_snapshot()
            .expect_err("a snapshot through a failing disk");
        files.disarm();
        assert_eq!(e.kind(), ErrorKind::Io, "step {step}: {e}");
        let listed: Vec<_> = engine
            .snapshots()
            .expect("list")
            .into_iter()
            .map(|s| s.path)
            .collect();
        assert_eq!(listed, vec![first.path.clone()], "step {step}");
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("snapshots"))
            .expect("list")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "step {step}: {leftovers:?} left");
    }
    let all = count(&engine);
    // Without a WAL the commits after the newest complete snapshot are not durable.
    drop(engine);
    let engine = AnalyticalEngine::open(config()).expect("reopen");
    assert_eq!(
        count(&engine),
        1,
        "the state of the newest complete snapshot"
    );
    drop(engine);
    let engine = AnalyticalEngine::open(config()).expect("reopen");
    for _ in 1..all {
        commit(&engine);
    }
    engine.create_snapshot().expect("the disk works again");
    drop(engine);
    let engine = AnalyticalEngine::open(config()).expect("reopen");
    assert_eq!(count(&engine), all);
}
