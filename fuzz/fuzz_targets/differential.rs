//! IN_MEMORY_TRANSACTIONAL against a model, with injected I/O failures: the bytes
//! pick transactions of vertex and edge operations, commits and rollbacks,
//! snapshots and reopens, and after how many file operations the file layer (WAL and
//! snapshots) starts failing. The model holds what every acknowledged commit left. Whenever
//! the engine is reopened (on request, or because a failure poisoned it) its state
//! must equal the model, or the model plus the one commit whose failure left it
//! unsure whether it reached the disk.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use durability::FailingFiles;
use engine_api::{DurabilityConfig, StorageEngine, SyncMode, Transaction, TxnOptions};
use engine_inmem_txn::{Config, InMemoryEngine};
use libfuzzer_sys::fuzz_target;
use quiver_fuzz::{Model, apply_ops, scratch_dir, state};

/// Opens the engine with a file layer that fails every operation from the
/// `fail_after`-th on (EIO), or never.
fn open(dir: &Path, fail_after: Option<u64>) -> InMemoryEngine {
    let files = FailingFiles::new("");
    if let Some(n) = fail_after {
        files.arm(n, 5);
    }
    let config = Config::default()
        .data_directory(dir)
        .gc_interval(None)
        .durability(
            DurabilityConfig::default()
                .sync_mode(SyncMode::EveryCommit)
                .wal_segment_bytes(4096)
                .snapshot_interval(None)
                .snapshot_on_exit(false),
        )
        .file_layer(Arc::new(files));
    InMemoryEngine::open(config).expect("the directory opens")
}

/// Reopens without failures and checks the engine against `model` (or `unsure`, the
/// model with the commit whose failure left its fate open); returns the state found.
fn reopen_and_check(
    engine: InMemoryEngine,
    dir: &Path,
    model: &Model,
    unsure: Option<&Model>,
) -> (InMemoryEngine, Model) {
    drop(engine);
    let engine = open(dir, None);
    let found = state(&engine);
    assert!(
        &found == model || unsure == Some(&found),
        "after reopening: {found:?}\nacknowledged: {model:?}\nunsure: {unsure:?}"
    );
    (engine, found)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    // 0 means no failure; otherwise fail after that many file operations.
    let fail_after = (first != 0).then_some(u64::from(first));
    let dir = scratch_dir("differential");
    let mut engine = open(&dir, fail_after);
    let mut model = Model::default();
    let mut bytes = ops.iter().copied();
    // Each head byte: a snapshot, a reopen, or one transaction of up to 6 operations,
    // committed or (top bit set) rolled back.
    while let Some(head) = bytes.next() {
        match head % 8 {
            6 => {
                // A snapshot (may fail under injected failures: never poisons).
                let _ = engine.create_snapshot();
                continue;
            }
            7 => {
                let (e, found) = reopen_and_check(engine, &dir, &model, None);
                engine = e;
                model = found;
                continue;
            }
            _ => {}
        }
        let mut pending = model.clone();
        let Ok(mut t) = engine.begin(TxnOptions::new()) else {
            let (e, found) = reopen_and_check(engine, &dir, &model, None);
            engine = e;
            model = found;
            continue;
        };
        let count = usize::from(head % 8) + 1;
        let mut failed = false;
        if let Err(err) = apply_ops(&mut t, &mut pending, &mut bytes, count) {
            // Only the injected failures may make an operation fail.
            assert!(
                matches!(
                    err.kind(),
                    engine_api::ErrorKind::Io | engine_api::ErrorKind::Poisoned
                ),
                "{err}"
            );
            failed = true;
        }
        if failed || head & 0x80 != 0 {
            t.rollback();
            continue;
        }
        match t.commit() {
            Ok(_) => model = pending,
            Err(err) => {
                assert!(
                    matches!(
                        err.kind(),
                        engine_api::ErrorKind::Io | engine_api::ErrorKind::Poisoned
                    ),
                    "a commit fails only for the injected failures: {err}"
                );
                let (e, found) = reopen_and_check(engine, &dir, &model, Some(&pending));
                engine = e;
                model = found;
            }
        }
    }
    let _ = reopen_and_check(engine, &dir, &model, None);
    let _ = std::fs::remove_dir_all(&dir);
});
