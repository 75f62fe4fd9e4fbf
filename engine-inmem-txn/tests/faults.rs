//! Injected I/O failures through the file layer: a failed WAL write or fsync poisons
//! the engine, the failing commit is not acknowledged and never visible, later writes
//! are refused, reads go on, and reopening loses no acknowledged commit; a snapshot
//! that hits an I/O error fails cleanly and costs nothing.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use conformance::faults::fail_each_snapshot_step;
use durability::{DurableFile, FileLayer};
use engine_api::{DurabilityConfig, ErrorKind, StorageEngine, SyncMode, Transaction, TxnOptions};
use engine_inmem_txn::{Config, InMemoryEngine};

/// Files whose operations start failing after a budget is spent.
#[derive(Debug)]
struct FailAfter {
    budget: Arc<AtomicI64>,
    only_sync: bool,
}

struct Failing {
    file: File,
    budget: Arc<AtomicI64>,
    only_sync: bool,
}

fn spend(budget: &AtomicI64) -> std::io::Result<()> {
    if budget.fetch_sub(1, Ordering::SeqCst) <= 0 {
        return Err(std::io::Error::other("injected failure"));
    }
    Ok(())
}

impl DurableFile for Failing {
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if !self.only_sync {
            spend(&self.budget)?;
        }
        std::io::Write::write_all(&mut self.file, buf)
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        if !self.only_sync {
            spend(&self.budget)?;
        }
        DurableFile::write_at(&mut self.file, offset, buf)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        spend(&self.budget)?;
        self.file.sync_data()
    }
}

impl FileLayer for FailAfter {
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn DurableFile>> {
        if !self.only_sync {
            spend(&self.budget)?;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(Failing {
            file,
            budget: self.budget.clone(),
            only_sync: self.only_sync,
        }))
    }
}

fn durability() -> DurabilityConfig {
    DurabilityConfig::default()
        .sync_mode(SyncMode::EveryCommit)
        .wal_segment_bytes(4096)
        .snapshot_interval(None)
        .snapshot_on_exit(false)
}

#[test]
fn a_failed_write_or_sync_poisons_and_loses_no_acknowledged_commit() {
    for only_sync in [true, false] {
        for budget in [0, 1, 2, 3, 5, 8, 13, 21, 34] {
            let tmp = tempfile::tempdir().expect("tempdir");
            let files = Arc::new(FailAfter {
                budget: Arc::new(AtomicI64::new(budget)),
                only_sync,
            });
            let engine = InMemoryEngine::open(
                Config::default()
                    .data_directory(tmp.path())
                    .durability(durability())
                    .file_layer(files),
            )
            .expect("open");
            let mut acked = Vec::new();
            let mut failed = None;
            for i in 0..200i64 {
                let mut t = engine.begin(TxnOptions::new()).expect("begin");
                // Handing out an id may log an id reservation, which can fail too.
                let v = match t
                    .create_vertex_with(&["N"], &[("i", i.into()), ("pad", "x".repeat(100).into())])
                {
                    Ok(v) => v,
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Poisoned, "{e}");
                        failed = Some(None);
                        break;
                    }
                };
                match t.commit() {
                    Ok(_) => acked.push(v),
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Poisoned, "{e}");
                        failed = Some(Some(v));
                        break;
                    }
                }
            }
            let failed = failed.expect("the injected failure must surface");
            // Later writes are refused, reads go on, and the failed commit is invisible.
            let err = engine.begin(TxnOptions::new()).expect_err("writes refused");
            assert_eq!(err.kind(), ErrorKind::Poisoned);
            let r = engine
                .begin(TxnOptions::new().read_only())
                .expect("reads go on");
            if let Some(failed) = failed {
                assert!(!r.contains_vertex(failed).expect("read"));
            }
            for v in &acked {
                assert!(r.contains_vertex(*v).expect("read"));
            }
            drop(r);
            drop(engine);
            // Reopening (with working files) has every acknowledged commit; the failed
            // one may be there only if its record fully reached the file.
            let engine = InMemoryEngine::open(
                Config::default()
                    .data_directory(tmp.path())
                    .durability(durability()),
            )
            .expect("reopen after poisoning");
            let t = engine.begin(TxnOptions::new()).expect("begin");
            for v in &acked {
                assert!(
                    t.contains_vertex(*v).expect("read"),
                    "budget {budget}, only_sync {only_sync}: acknowledged {v} lost"
                );
            }
            let n = t.vertices_with_label("N").expect("scan").count();
            assert!(n == acked.len() || n == acked.len() + 1);
        }
    }
}

/// Files that count their syncs.
#[derive(Debug, Default)]
struct CountSyncs {
    syncs: Arc<AtomicI64>,
}

struct Counted {
    file: File,
    syncs: Arc<AtomicI64>,
}

impl DurableFile for Counted {
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.file, buf)
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        DurableFile::write_at(&mut self.file, offset, buf)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.file.sync_data()
    }
}

impl FileLayer for CountSyncs {
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn DurableFile>> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(Counted {
            file,
            syncs: self.syncs.clone(),
        }))
    }
}

#[test]
fn sync_modes_sync_as_documented() {
    for (mode, expected) in [
        (SyncMode::EveryCommit, 20),
        (SyncMode::EveryNCommits(5), 4),
        (SyncMode::Off, 0),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let layer = Arc::new(CountSyncs::default());
        let syncs = layer.syncs.clone();
        let engine = InMemoryEngine::open(
            Config::default()
                .data_directory(tmp.path())
                .durability(durability().sync_mode(mode))
                .file_layer(layer),
        )
        .expect("open");
        // The first id of a run logs an id reservation (one record, one sync in
        // EveryCommit); count from after it.
        let mut t = engine.begin(TxnOptions::new()).expect("begin");
        t.create_vertex().expect("create");
        t.commit().expect("commit");
        syncs.store(0, Ordering::SeqCst);
        let mut synced_commits = 0;
        for i in 0..20i64 {
            let before = syncs.load(Ordering::SeqCst);
            let mut t = engine.begin(TxnOptions::new()).expect("begin");
            t.create_vertex_with(&[], &[("i", i.into())])
                .expect("create");
            t.commit().expect("commit");
            // Counted when commit returns: the sync came before the acknowledgement.
            synced_commits += i64::from(syncs.load(Ordering::SeqCst) > before);
        }
        assert_eq!(
            synced_commits, expected,
            "{mode:?}: commits followed by a sync"
        );
        assert_eq!(syncs.load(Ordering::SeqCst), expected, "{mode:?}");
        // Closing syncs whatever is left, in every mode.
        engine.close().expect("close");
        assert!(
            syncs.load(Ordering::SeqCst) >= expected.max(1),
            "{mode:?}: close must sync"
        );
        let engine = InMemoryEngine::open(
            Config::default()
                .data_directory(tmp.path())
                .durability(durability()),
        )
        .expect("reopen");
        let n = engine
            .begin(TxnOptions::new())
            .expect("begin")
            .vertex_count()
            .expect("count");
        assert_eq!(n, 21, "{mode:?}");
    }
}

/// EIO (or ENOSPC) at every step of writing a snapshot: `create_snapshot` fails with
/// `Io`, leaves no file under a snapshot's name and no temporary file, the engine goes
/// on committing, and reopening recovers every commit (the older snapshot plus the
/// WAL, which the failed snapshot's retention did not touch).
#[test]
fn a_snapshot_that_hits_an_io_error_fails_cleanly_and_loses_nothing() {
    let files = durability::FailingFiles::new(".snapshot.tmp");
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = || {
        Config::default()
            .data_directory(tmp.path())
            .durability(durability().snapshot_retention(1))
            .file_layer(Arc::new(files.clone()))
    };
    let commit = |engine: &InMemoryEngine, n: i64| {
        let mut t = engine.begin(TxnOptions::new()).expect("begin");
        t.create_vertex_with(&["N"], &[("n", n.into())])
            .expect("create");
        t.commit().expect("commit");
    };
    let engine = InMemoryEngine::open(config()).expect("open");
    commit(&engine, 0);
    // Count the operations of a whole snapshot, then fail each of them in turn.
    let before = files.operations();
    let first = engine.create_snapshot().expect("a snapshot");
    let steps = files.operations() - before;
    assert!(
        steps >= 3,
        "a snapshot is created, written and synced: {steps}"
    );
    let mut n = 1;
    fail_each_snapshot_step(
        &engine,
        (|step, errno| files.arm(step, errno), || files.disarm()),
        steps,
        &first,
        &tmp.path().join("snapshots"),
        || {
            commit(&engine, n);
            n += 1;
        },
    );
    drop(engine);
    let engine = InMemoryEngine::open(config()).expect("reopen");
    let t = engine.begin(TxnOptions::new()).expect("begin");
    assert_eq!(
        t.vertex_count().expect("count"),
        n as u64,
        "every commit survives"
    );
    drop(t);
    assert!(engine.create_snapshot().is_ok(), "the disk works again");
}
