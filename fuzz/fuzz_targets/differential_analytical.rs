//! IN_MEMORY_ANALYTICAL's snapshot path against a model, with injected I/O failures:
//! the bytes pick transactions of vertex and edge operations (kept even when "rolled
//! back": the mode has no rollback), snapshots and reopens, and after how many file
//! operations on snapshot files the file layer starts failing (EIO). A snapshot that
//! returns Ok makes the model's current state durable; one that fails changes
//! nothing. Whenever the engine is reopened its state must equal the last durable
//! state exactly, and transactions must begin again after a failed snapshot.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use durability::FailingFiles;
use engine_api::{ErrorKind, StorageEngine, Transaction, TxnOptions};
use engine_inmem_analytical::{AnalyticalEngine, Config};
use libfuzzer_sys::fuzz_target;
use quiver_fuzz::{Model, apply_ops, scratch_dir, state};

fn open(dir: &Path, files: &FailingFiles) -> AnalyticalEngine {
    let config = Config::new()
        .data_directory(dir)
        .snapshot_threads(1)
        .durability(
            Config::default_durability()
                .snapshot_retention(2)
                .snapshot_on_exit(false),
        )
        .file_layer(Arc::new(files.clone()));
    AnalyticalEngine::open(config).expect("the directory opens")
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let files = FailingFiles::new(".snapshot.tmp");
    if first != 0 {
        // Snapshot-file operations before the disk starts failing (for good).
        files.arm(u64::from(first % 64), 5);
    }
    let dir = scratch_dir("differential-analytical");
    let mut engine = open(&dir, &files);
    let mut live = Model::default();
    let mut durable = Model::default();
    let mut bytes = ops.iter().copied();
    while let Some(head) = bytes.next() {
        match head % 8 {
            6 => {
                match engine.create_snapshot() {
                    Ok(_) => durable = live.clone(),
                    Err(e) => assert_eq!(e.kind(), ErrorKind::Io, "{e}"),
                }
                continue;
            }
            7 => {
                drop(engine);
                engine = open(&dir, &files);
                let found = state(&engine);
                assert_eq!(found, durable, "after reopening");
                live = found;
                continue;
            }
            _ => {}
        }
        let mut t = engine
            .begin(TxnOptions::new())
            .expect("begin (also after a failed snapshot)");
        let count = usize::from(head % 8) + 1;
        apply_ops(&mut t, &mut live, &mut bytes, count).expect("no operation fails here");
        if head & 0x80 != 0 {
            t.rollback();
        } else {
            t.commit().expect("commit");
        }
        assert_eq!(state(&engine), live, "the writes are in place");
    }
    drop(engine);
    files.disarm();
    let engine = open(&dir, &files);
    assert_eq!(state(&engine), durable, "at the end");
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
});
