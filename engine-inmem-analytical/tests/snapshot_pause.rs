//! A snapshot holds new transactions back at `begin` while it is written, waits for
//! running ones first, and both waits are bounded.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use engine_api::{ErrorKind, Result, StorageEngine, Transaction, TxnOptions};
use engine_inmem_analytical::{AnalyticalEngine, Config};

/// The labels of every vertex in the snapshot at `snapshot`, read by opening a copy.
fn labels_in(snapshot: &Path) -> Result<Vec<String>> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("snapshots"))?;
    let name = snapshot.file_name().expect("a snapshot file name");
    std::fs::copy(snapshot, dir.path().join("snapshots").join(name))?;
    let engine = AnalyticalEngine::open(Config::new().data_directory(dir.path()))?;
    let t = engine.begin(TxnOptions::new().read_only())?;
    let mut out = Vec::new();
    for v in t.vertices()? {
        out.extend(t.vertex_labels(v?)?.iter().map(|l| l.to_string()));
    }
    out.sort();
    Ok(out)
}

fn seeded(config: Config) -> Result<AnalyticalEngine> {
    let engine = AnalyticalEngine::open(config)?;
    let mut t = engine.begin(TxnOptions::new())?;
    for _ in 0..100 {
        t.create_vertex_with(&["Before"], &[])?;
    }
    t.commit()?;
    Ok(engine)
}

/// The hook runs in the middle of the snapshot: it tells the test, then holds the
/// snapshot for `hold` so that a `begin` has time to arrive.
fn hook(hold: Duration) -> (Arc<dyn Fn() + Send + Sync>, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let hook: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let _ = tx.lock().map(|t| t.send(()));
        std::thread::sleep(hold);
    });
    (hook, rx)
}

#[test]
fn a_transaction_begun_during_a_snapshot_waits_and_is_not_in_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (hook, reached) = hook(Duration::from_millis(300));
    let engine = seeded(
        Config::new()
            .data_directory(dir.path())
            .snapshot_midpoint(hook),
    )?;
    let engine = &engine;
    let (info, waited) = std::thread::scope(|s| -> Result<_> {
        let writer = s.spawn(move || -> Result<Duration> {
            reached
                .recv_timeout(Duration::from_secs(60))
                .expect("the snapshot reaches its midpoint");
            let asked = Instant::now();
            let mut t = engine.begin(TxnOptions::new())?;
            let waited = asked.elapsed();
            t.create_vertex_with(&["During"], &[])?;
            t.commit()?;
            Ok(waited)
        });
        let info = engine.create_snapshot()?;
        Ok((info, writer.join().expect("the writer does not panic")?))
    })?;
    assert!(
        waited >= Duration::from_millis(100),
        "begin waited only {waited:?}"
    );
    let waits = engine.begin_waits();
    assert_eq!(waits.waited, 1);
    assert!(waits.longest >= waited / 2, "{waits:?} vs {waited:?}");
    let labels = labels_in(&info.path)?;
    assert_eq!(labels.len(), 100);
    assert!(labels.iter().all(|l| l == "Before"), "{labels:?}");
    // The waiting transaction's write happened after the snapshot, in the engine.
    let t = engine.begin(TxnOptions::new())?;
    assert_eq!(t.vertices_with_label("During")?.count(), 1);
    Ok(())
}

#[test]
fn begin_gives_up_with_blocked_after_the_bound() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (hook, reached) = hook(Duration::from_millis(400));
    let engine = seeded(
        Config::new()
            .data_directory(dir.path())
            .begin_wait(Duration::from_millis(50))
            .snapshot_midpoint(hook),
    )?;
    let engine = &engine;
    let outcome = std::thread::scope(|s| -> Result<_> {
        let waiter = s.spawn(move || {
            reached
                .recv_timeout(Duration::from_secs(60))
                .expect("the snapshot reaches its midpoint");
            engine
                .begin(TxnOptions::new())
                .map(|_| ())
                .map_err(|e| e.kind())
        });
        engine.create_snapshot()?;
        Ok(waiter.join().expect("the waiter does not panic"))
    })?;
    assert_eq!(outcome, Err(ErrorKind::Blocked));
    // Once the snapshot is written everything goes on.
    let mut t = engine.begin(TxnOptions::new())?;
    t.create_vertex()?;
    t.commit()?;
    Ok(())
}

/// A second snapshot while one is written waits no longer than the bound either.
/// (Mutation: take the durable part's unbounded one-snapshot lock before the pause →
/// the second snapshot waits for the first and succeeds.)
#[test]
fn a_second_snapshot_gives_up_with_blocked_after_the_bound() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (hook, reached) = hook(Duration::from_millis(400));
    let engine = seeded(
        Config::new()
            .data_directory(dir.path())
            .begin_wait(Duration::from_millis(50))
            .snapshot_midpoint(hook),
    )?;
    let engine = &engine;
    let second = std::thread::scope(|s| -> Result<_> {
        let other = s.spawn(move || {
            reached
                .recv_timeout(Duration::from_secs(60))
                .expect("the snapshot reaches its midpoint");
            engine.create_snapshot().map(|_| ()).map_err(|e| e.kind())
        });
        engine.create_snapshot()?;
        Ok(other.join().expect("the second snapshot does not panic"))
    })?;
    assert_eq!(second, Err(ErrorKind::Blocked));
    assert_eq!(engine.snapshots()?.len(), 1);
    Ok(())
}

#[test]
fn a_snapshot_waits_for_running_transactions_and_includes_their_writes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let engine = seeded(Config::new().data_directory(dir.path()))?;
    let mut running = engine.begin(TxnOptions::new())?;
    running.create_vertex_with(&["Running"], &[])?;
    let written = AtomicBool::new(false);
    let info = std::thread::scope(|s| -> Result<_> {
        let snapshot = s.spawn(|| {
            let r = engine.create_snapshot();
            written.store(true, Ordering::SeqCst);
            r
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !written.load(Ordering::SeqCst),
            "the snapshot did not wait for the running transaction"
        );
        running.create_vertex_with(&["Running"], &[])?;
        running.commit()?;
        snapshot.join().expect("the snapshot does not panic")
    })?;
    let labels = labels_in(&info.path)?;
    assert_eq!(labels.iter().filter(|l| *l == "Running").count(), 2);
    Ok(())
}

#[test]
fn a_snapshot_gives_up_while_a_transaction_stays_open() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let engine = seeded(
        Config::new()
            .data_directory(dir.path())
            .begin_wait(Duration::from_millis(50)),
    )?;
    let mut open = engine.begin(TxnOptions::new())?;
    let err = engine.create_snapshot().expect_err("a transaction is open");
    assert_eq!(err.kind(), ErrorKind::Blocked);
    assert!(err.message().contains("running transaction"), "{err}");
    // The pause ended: the open transaction and new ones go on.
    open.create_vertex()?;
    let other = engine.begin(TxnOptions::new())?;
    drop((open, other));
    engine.create_snapshot()?;
    assert_eq!(engine.snapshots()?.len(), 1);
    Ok(())
}
