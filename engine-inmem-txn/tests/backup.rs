//! The documented backup and restore workflow, and the snapshot operations around it.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine_api::{
    DurabilityConfig, PropertyValue, StorageEngine, SyncMode, Transaction, TxnOptions,
};
use engine_inmem_txn::{Config, InMemoryEngine, RecoveryProgress};

fn config(dir: &Path, sync: SyncMode) -> Config {
    Config::default().data_directory(dir).durability(
        DurabilityConfig::default()
            .sync_mode(sync)
            .wal_segment_bytes(16 * 1024)
            .snapshot_interval(None),
    )
}

/// The number of vertices a new transaction sees.
fn count(engine: &InMemoryEngine) -> u64 {
    engine
        .begin(TxnOptions::new())
        .expect("begin")
        .vertex_count()
        .expect("count")
}

fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("ls") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("plain file copy");
    }
}

/// The `n` values of the `W` vertices, which a writer created in order.
fn written(engine: &InMemoryEngine) -> BTreeSet<i64> {
    let t = engine.begin(TxnOptions::new()).expect("begin");
    t.vertices_with_label("W")
        .expect("scan")
        .map(
            |v| match t.vertex_property(v.expect("v"), "n").expect("read") {
                Some(PropertyValue::Int(n)) => n,
                other => panic!("unexpected {other:?}"),
            },
        )
        .collect()
}

fn assert_prefix(set: &BTreeSet<i64>, at_least: i64, at_most: i64, what: &str) {
    let n = set.len() as i64;
    assert!(
        set.iter().copied().eq(0..n),
        "{what}: the restored writes are not a prefix of the committed ones"
    );
    assert!(
        (at_least..=at_most).contains(&n),
        "{what}: {n} writes restored, expected {at_least}..={at_most}"
    );
}

#[test]
fn backup_with_plain_copies_while_writers_commit_then_restore() {
    let data = tempfile::tempdir().expect("tempdir");
    let engine = InMemoryEngine::open(config(data.path(), SyncMode::EveryCommit)).expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    for i in 0..500 {
        t.create_vertex_with(&["Base"], &[("i", i.into())])
            .expect("create");
    }
    t.commit().expect("commit");

    let stop = AtomicBool::new(false);
    let acked = AtomicU64::new(0);
    let backup = tempfile::tempdir().expect("tempdir");
    let (before_snapshot, after_copy) = std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let mut t = engine.begin(TxnOptions::new()).expect("begin");
                t.create_vertex_with(&["W"], &[("n", n.into())])
                    .expect("create");
                t.commit().expect("commit");
                n += 1;
                acked.store(n as u64, Ordering::Release);
            }
        });
        while acked.load(Ordering::Acquire) < 50 {
            std::thread::yield_now();
        }
        // 1. snapshot; 2. lock; 3. copy with plain file copies; 4. unlock.
        let before_snapshot = acked.load(Ordering::Acquire) as i64;
        engine.create_snapshot().expect("snapshot");
        engine.lock_data_directory().expect("lock");
        // Writers go on committing while the directory is locked and copied.
        let at_lock = acked.load(Ordering::Acquire);
        while acked.load(Ordering::Acquire) < at_lock + 20 {
            std::thread::yield_now();
        }
        copy_files(
            &data.path().join("snapshots"),
            &backup.path().join("snapshots"),
        );
        copy_files(&data.path().join("wal"), &backup.path().join("wal"));
        engine.unlock_data_directory().expect("unlock");
        let after_copy = acked.load(Ordering::Acquire) as i64;
        stop.store(true, Ordering::Relaxed);
        (before_snapshot, after_copy)
    });
    drop(engine);
    assert!(after_copy > before_snapshot);

    // Restore A: snapshot only, empty wal/.
    let a = tempfile::tempdir().expect("tempdir");
    copy_files(
        &backup.path().join("snapshots"),
        &a.path().join("snapshots"),
    );
    std::fs::create_dir_all(a.path().join("wal")).expect("mkdir");
    let restored =
        InMemoryEngine::open(config(a.path(), SyncMode::EveryCommit)).expect("restore A");
    let set = written(&restored);
    // A commit can be durable and visible a moment before its thread counts it.
    assert_prefix(&set, before_snapshot, after_copy + 1, "snapshot only");
    let base = restored
        .begin(TxnOptions::new())
        .expect("begin")
        .vertices_with_label("Base")
        .expect("scan")
        .count();
    assert_eq!(base, 500);
    let snapshot_only = set.len();

    // Restore B: snapshot and WAL: at least as much as the snapshot alone.
    let b = tempfile::tempdir().expect("tempdir");
    copy_files(
        &backup.path().join("snapshots"),
        &b.path().join("snapshots"),
    );
    copy_files(&backup.path().join("wal"), &b.path().join("wal"));
    let restored =
        InMemoryEngine::open(config(b.path(), SyncMode::EveryCommit)).expect("restore B");
    let set = written(&restored);
    assert_prefix(
        &set,
        snapshot_only as i64,
        after_copy + 1,
        "snapshot and WAL",
    );
}

#[test]
fn commits_complete_while_a_snapshot_is_being_written() {
    // The snapshot stops halfway (after its vertices, before its edges) until the
    // main thread has committed 20 transactions. If commits waited for snapshots,
    // this would never finish; the guard turns that into a failure.
    let data = tempfile::tempdir().expect("tempdir");
    let (halfway_tx, halfway_rx) = std::sync::mpsc::channel::<()>();
    let (resume_tx, resume_rx) = std::sync::mpsc::channel::<()>();
    let halfway_tx = Mutex::new(halfway_tx);
    let resume_rx = Mutex::new(resume_rx);
    let hook: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let _ = halfway_tx.lock().expect("lock").send(());
        let _ = resume_rx.lock().expect("lock").recv();
    });
    let engine =
        InMemoryEngine::open(config(data.path(), SyncMode::EveryCommit).snapshot_midpoint(hook))
            .expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let a = t.create_vertex_with(&["Before"], &[]).expect("create");
    t.create_edge(a, a, "LOOP").expect("edge");
    t.commit().expect("commit");
    let info = std::thread::scope(|s| {
        let snap = s.spawn(|| engine.create_snapshot().expect("snapshot"));
        halfway_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the snapshot reached its midpoint");
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let engine = &engine;
        s.spawn(move || {
            for i in 0..20i64 {
                let mut t = engine.begin(TxnOptions::new()).expect("begin");
                t.create_vertex_with(&["During"], &[("i", i.into())])
                    .expect("create");
                t.commit().expect("commit while the snapshot is paused");
            }
            let _ = done_tx.send(());
        });
        let committed = done_rx.recv_timeout(Duration::from_secs(60)).is_ok();
        // Let the snapshot finish either way, so a failure fails instead of hanging.
        resume_tx.send(()).expect("resume");
        let info = snap.join().expect("snapshot thread");
        assert!(
            committed,
            "commits must complete while a snapshot is being written"
        );
        info
    });
    assert!(info.size_bytes > 0);
    drop(engine);
    // The snapshot holds the state at its start: none of the 20 commits.
    let only_snapshot = tempfile::tempdir().expect("tempdir");
    copy_files(
        &data.path().join("snapshots"),
        &only_snapshot.path().join("snapshots"),
    );
    let restored = InMemoryEngine::open(config(only_snapshot.path(), SyncMode::Off)).expect("open");
    let t = restored.begin(TxnOptions::new()).expect("begin");
    assert_eq!(t.vertices_with_label("Before").expect("scan").count(), 1);
    assert_eq!(t.edge_count().expect("count"), 1);
    assert_eq!(t.vertices_with_label("During").expect("scan").count(), 0);
    // With the WAL, all 20 are there too.
    drop(t);
    drop(restored);
    let restored = InMemoryEngine::open(config(data.path(), SyncMode::Off)).expect("open");
    let t = restored.begin(TxnOptions::new()).expect("begin");
    assert_eq!(t.vertices_with_label("During").expect("scan").count(), 20);
}

#[test]
fn retention_keeps_n_snapshots_and_drops_covered_wal() {
    let data = tempfile::tempdir().expect("tempdir");
    let cfg = Config::default().data_directory(data.path()).durability(
        DurabilityConfig::default()
            .sync_mode(SyncMode::Off)
            .snapshot_interval(None)
            .snapshot_retention(2)
            .wal_segment_bytes(4096),
    );
    let engine = InMemoryEngine::open(cfg.clone()).expect("open");
    let mut infos = Vec::new();
    for round in 0..5i64 {
        for i in 0..50i64 {
            let mut t = engine.begin(TxnOptions::new()).expect("begin");
            t.create_vertex_with(&["R"], &[("round", round.into()), ("i", i.into())])
                .expect("create");
            t.commit().expect("commit");
        }
        infos.push(engine.create_snapshot().expect("snapshot"));
    }
    let listed: Vec<_> = engine
        .snapshots()
        .expect("list")
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(listed, vec![infos[3].path.clone(), infos[4].path.clone()]);
    // Every remaining segment holds commits newer than the oldest kept snapshot,
    // except possibly the one that straddles it.
    let oldest_kept = infos[3].commit_timestamp;
    let mut firsts: Vec<u64> = std::fs::read_dir(data.path().join("wal"))
        .expect("ls")
        .map(|e| {
            durability::wal::read_segment_header(&e.expect("entry").path())
                .expect("header")
                .first_ts
        })
        .collect();
    firsts.sort();
    assert!(!firsts.is_empty());
    assert!(
        firsts.iter().skip(1).all(|f| *f > oldest_kept),
        "segments covered by the oldest kept snapshot remain: {firsts:?} (kept from {oldest_kept})"
    );
    let before = count(&engine);
    drop(engine);
    let engine = InMemoryEngine::open(cfg).expect("reopen");
    assert_eq!(count(&engine), before);
}

#[test]
fn recovery_off_moves_old_files_aside_and_reports_progress_when_on() {
    let data = tempfile::tempdir().expect("tempdir");
    let engine = InMemoryEngine::open(config(data.path(), SyncMode::EveryCommit)).expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex_with(&["Old"], &[]).expect("create");
    t.commit().expect("commit");
    engine.create_snapshot().expect("snapshot");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex_with(&["Old"], &[]).expect("create");
    t.commit().expect("commit");
    drop(engine);

    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let engine = InMemoryEngine::open(
        config(data.path(), SyncMode::EveryCommit)
            .on_recovery_progress(Arc::new(move |p| sink.lock().expect("lock").push(p))),
    )
    .expect("open with recovery");
    assert_eq!(count(&engine), 2);
    drop(engine);
    let events = events.lock().expect("lock").clone();
    assert!(
        matches!(
            events.first(),
            Some(RecoveryProgress::SnapshotLoaded { vertices: 1, .. })
        ),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RecoveryProgress::SegmentReplayed { records: 1, .. })),
        "{events:?}"
    );
    assert!(
        matches!(events.last(), Some(RecoveryProgress::Done { .. })),
        "{events:?}"
    );

    let engine = InMemoryEngine::open(
        config(data.path(), SyncMode::EveryCommit).durability(
            DurabilityConfig::default()
                .recover_on_startup(false)
                .snapshot_interval(None),
        ),
    )
    .expect("open without recovery");
    assert_eq!(count(&engine), 0);
    let backups: Vec<_> = std::fs::read_dir(data.path().join(".backup"))
        .expect("moved aside")
        .collect();
    assert_eq!(backups.len(), 1);
}

#[test]
fn periodic_snapshots_are_written() {
    let data = tempfile::tempdir().expect("tempdir");
    let engine = InMemoryEngine::open(Config::default().data_directory(data.path()).durability(
        DurabilityConfig::default().snapshot_interval(Some(Duration::from_millis(50))),
    ))
    .expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex().expect("create");
    t.commit().expect("commit");
    let deadline = Instant::now() + Duration::from_secs(30);
    while engine.snapshots().expect("list").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no periodic snapshot within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn unlock_deletes_exactly_what_retention_wanted_while_locked() {
    let data = tempfile::tempdir().expect("tempdir");
    let engine = InMemoryEngine::open(
        Config::default().data_directory(data.path()).durability(
            DurabilityConfig::default()
                .sync_mode(SyncMode::Off)
                .snapshot_interval(None)
                .snapshot_retention(2)
                .wal_segment_bytes(4096),
        ),
    )
    .expect("open");
    let files = |dir: &str| -> BTreeSet<std::path::PathBuf> {
        std::fs::read_dir(data.path().join(dir))
            .expect("ls")
            .map(|e| e.expect("entry").path())
            .collect()
    };
    let commit_some = |round: i64| {
        for i in 0..30i64 {
            let mut t = engine.begin(TxnOptions::new()).expect("begin");
            t.create_vertex_with(&[], &[("round", round.into()), ("i", i.into())])
                .expect("create");
            t.commit().expect("commit");
        }
    };
    commit_some(0);
    engine.create_snapshot().expect("snapshot");
    engine.lock_data_directory().expect("lock");
    let mut made = Vec::new();
    for round in 1..=4 {
        commit_some(round);
        made.push(engine.create_snapshot().expect("snapshot").path);
    }
    let (snaps_locked, wal_locked) = (files("snapshots"), files("wal"));
    assert_eq!(snaps_locked.len(), 5, "nothing is deleted while locked");
    engine.unlock_data_directory().expect("unlock");
    let (snaps_after, wal_after) = (files("snapshots"), files("wal"));
    // Retention keeps the two newest snapshots: exactly the other three went.
    let kept: BTreeSet<_> = made[2..].iter().cloned().collect();
    assert_eq!(snaps_after, kept);
    // Unlocking only deletes: no file appeared, and the WAL lost only segments.
    assert!(wal_after.is_subset(&wal_locked));
    assert!(
        wal_after.len() < wal_locked.len(),
        "covered WAL segments must go"
    );
    // What is left still recovers the whole state.
    let expected = count(&engine);
    drop(engine);
    let engine = InMemoryEngine::open(config(data.path(), SyncMode::Off)).expect("reopen");
    assert_eq!(count(&engine), expected);
}

/// Regression: a kill right after a WAL segment was created leaves an empty file;
/// recovery removed it but numbered the next segment past it, and the recovery after
/// that failed with "WAL segment N is missing".
#[test]
fn a_segment_cut_short_at_creation_leaves_no_gap() {
    let data = tempfile::tempdir().expect("tempdir");
    let engine = InMemoryEngine::open(config(data.path(), SyncMode::EveryCommit)).expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex_with(&["A"], &[]).expect("create");
    t.commit().expect("commit");
    drop(engine);
    let mut segments: Vec<_> = std::fs::read_dir(data.path().join("wal"))
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .collect();
    segments.sort();
    let last = segments.last().expect("a segment").clone();
    let name = last.file_name().and_then(|n| n.to_str()).expect("name");
    let seq: u64 = name.trim_end_matches(".wal").parse().expect("number");
    std::fs::write(
        data.path().join("wal").join(format!("{:020}.wal", seq + 1)),
        b"",
    )
    .expect("empty segment");
    for round in 0..2 {
        let engine =
            InMemoryEngine::open(config(data.path(), SyncMode::EveryCommit)).expect("recover");
        let mut t = engine.begin(TxnOptions::new()).expect("begin");
        t.create_vertex_with(&["A"], &[]).expect("create");
        t.commit().expect("commit");
        let n = count(&engine);
        assert_eq!(n, round + 2);
        drop(engine);
    }
}
