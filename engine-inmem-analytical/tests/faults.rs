//! EIO (or ENOSPC) at every step of writing a snapshot, through the injectable file
//! layer: `create_snapshot` fails with `Io`, leaves no file under a snapshot's name
//! and no temporary file, lets transactions begin again at once, and reopening gives
//! the newest complete snapshot; the next snapshot on a working disk holds
//! everything.

use std::sync::Arc;

use conformance::faults::fail_each_snapshot_step;
use durability::FailingFiles;
use engine_api::{StorageEngine, Transaction, TxnOptions};
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
    fail_each_snapshot_step(
        &engine,
        (|step, errno| files.arm(step, errno), || files.disarm()),
        steps,
        &first,
        &tmp.path().join("snapshots"),
        || commit(&engine),
    );
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
