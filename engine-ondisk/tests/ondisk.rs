//! What only the on-disk backend has: its metadata file, refusing directories that are
//! not its own, and its sync modes.

use engine_api::ImageEngine;
use std::path::Path;

use engine_api::{
    DeleteMode, ErrorKind, PropertyValue, StorageEngine, SyncMode, Transaction, TxnOptions,
    VertexId,
};
use engine_ondisk::{Config, OnDiskEngine};

fn fill(dir: &Path) -> u64 {
    let db = OnDiskEngine::open(Config::new(dir)).expect("open");
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    let a = t
        .create_vertex_with(&["A"], &[("x", 1.into())])
        .expect("vertex");
    t.create_edge(a, a, "SELF").expect("edge");
    t.commit().expect("commit");
    db.close().expect("close");
    std::fs::read(dir.join("rocksdb/quiver.meta"))
        .expect("meta")
        .len() as u64
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        out.push((
            entry
                .strip_prefix(dir)
                .expect("under")
                .display()
                .to_string(),
            std::fs::read(&entry).expect("read"),
        ));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("list").flatten() {
        if e.file_type().expect("type").is_dir() {
            out.extend(walk(&e.path()));
        } else if e.file_name() != ".lock" {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn another_format_version_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tmp");
    assert_eq!(fill(dir.path()), 48);
    let meta = dir.path().join("rocksdb/quiver.meta");
    let mut bytes = std::fs::read(&meta).expect("meta");
    let future = engine_ondisk::FORMAT_VERSION + 1;
    bytes[8..10].copy_from_slice(&future.to_le_bytes());
    let crc = crc32fast::hash(&bytes[..44]);
    bytes[44..48].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&meta, &bytes).expect("write");
    let before = listing(dir.path());
    let err = OnDiskEngine::open(Config::new(dir.path())).expect_err("a future version");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(
        err.to_string()
            .contains(&format!("format version {future}")),
        "{err}"
    );
    assert_eq!(
        listing(dir.path()),
        before,
        "a refused directory must not change"
    );
}

#[test]
fn rocksdb_files_without_our_metadata_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tmp");
    fill(dir.path());
    std::fs::remove_file(dir.path().join("rocksdb/quiver.meta")).expect("remove");
    let before = listing(dir.path());
    let err = OnDiskEngine::open(Config::new(dir.path())).expect_err("foreign");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn metadata_of_another_database_is_refused() {
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    fill(a.path());
    fill(b.path());
    std::fs::copy(
        b.path().join("rocksdb/quiver.meta"),
        a.path().join("rocksdb/quiver.meta"),
    )
    .expect("copy");
    let err = OnDiskEngine::open(Config::new(a.path())).expect_err("mixed");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(err.to_string().contains("another database"), "{err}");
}

#[test]
fn an_in_memory_wal_is_refused_not_ignored() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("wal")).expect("mkdir");
    let seg = dir.path().join("wal/00000000000000000001.wal");
    std::fs::write(&seg, b"QVWAL001 and the rest").expect("write");
    let err = OnDiskEngine::open(Config::new(dir.path())).expect_err("in-memory WAL");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(seg.exists());
}

/// A killed process keeps RocksDB's page-cache writes, so no SIGKILL test sees a
/// missing fsync: the syncs are counted instead. `EveryCommit` syncs before each
/// commit returns, `EveryNCommits(n)` once per n commits, `Off` never per commit.
#[test]
fn each_sync_mode_syncs_the_wal_as_documented() {
    const COMMITS: u64 = 12;
    for (mode, low, high) in [
        (SyncMode::EveryCommit, COMMITS, COMMITS),
        (SyncMode::EveryNCommits(4), COMMITS / 4, COMMITS / 4),
        (SyncMode::Off, 0, 0),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let config = Config::new(dir.path())
            .durability(Config::default_durability().sync_mode(mode))
            .statistics(true);
        let db = OnDiskEngine::open(config).expect("open");
        // The first id of a run raises the stored id bound with a synced write; count
        // from after it.
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        t.create_vertex().expect("vertex");
        t.commit().expect("commit");
        let mut prev = db.wal_syncs().expect("statistics are on");
        let mut synced_commits = 0;
        for i in 0..COMMITS {
            let mut t = db.begin(TxnOptions::new()).expect("begin");
            t.create_vertex_with(&["N"], &[("i", (i as i64).into())])
                .expect("vertex");
            t.commit().expect("commit");
            // Read right after commit returns: a sync counted here happened before
            // the acknowledgement.
            let now = db.wal_syncs().expect("statistics are on");
            synced_commits += u64::from(now > prev);
            prev = now;
        }
        assert!(
            (low..=high).contains(&synced_commits),
            "{mode:?}: {synced_commits} of {COMMITS} commits were followed by a WAL sync"
        );
    }
    let dir = tempfile::tempdir().expect("tmp");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    assert_eq!(db.wal_syncs(), None, "statistics are off by default");
}

#[test]
fn the_open_knows_the_vertices_so_new_edges_read_no_endpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    let old: Vec<VertexId> = (0..200)
        .map(|_| t.create_vertex_with(&["P"], &[]).expect("vertex"))
        .collect();
    // Deleted before an open, and one deleted after each open.
    let spare: Vec<VertexId> = (0..4).map(|_| t.create_vertex().expect("vertex")).collect();
    t.commit().expect("commit");
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    t.delete_vertex(spare[0], DeleteMode::Plain)
        .expect("delete");
    t.commit().expect("commit");
    db.close().expect("close");
    // Each new edge goes to another vertex the database held before the open.
    for (round, (limit, reads_expected)) in [(None, false), (Some(0), true), (Some(100), true)]
        .into_iter()
        .enumerate()
    {
        let mut config = Config::new(dir.path()).statistics(true);
        if let Some(limit) = limit {
            config = config.known_vertices_at_open(limit);
        }
        let db = OnDiskEngine::open(config).expect("open");
        let before = db.point_reads().expect("statistics are on");
        for v in &old {
            let mut t = db.begin(TxnOptions::new()).expect("begin");
            let n = t.create_vertex().expect("vertex");
            t.create_edge(n, *v, "TO").expect("edge");
            t.commit().expect("commit");
        }
        let reads = db.point_reads().expect("statistics are on") - before;
        assert_eq!(
            reads > 0,
            reads_expected,
            "limit {limit:?}: {reads} point reads for 200 new edges"
        );
        // The deleted vertex was not among them: an edge to it is refused.
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        let n = t.create_vertex().expect("vertex");
        let err = t
            .create_edge(n, spare[0], "TO")
            .expect_err("a deleted endpoint");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        t.rollback();
        // Nor is a vertex deleted after the open.
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        t.delete_vertex(spare[round + 1], DeleteMode::Plain)
            .expect("delete");
        t.commit().expect("commit");
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        let n = t.create_vertex().expect("vertex");
        let err = t
            .create_edge(n, spare[round + 1], "TO")
            .expect_err("a deleted endpoint");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        t.rollback();
        db.close().expect("close");
    }
}

#[test]
fn other_isolation_levels_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    for level in [
        engine_api::IsolationLevel::ReadCommitted,
        engine_api::IsolationLevel::ReadUncommitted,
    ] {
        let err = db
            .begin(TxnOptions::new().isolation(level))
            .expect_err("unsupported");
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("snapshot isolation only"), "{err}");
    }
}

#[test]
fn snapshot_on_exit_and_restore_into_an_empty_directory() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = OnDiskEngine::open(
        Config::new(dir.path()).durability(Config::default_durability().snapshot_on_exit(true)),
    )
    .expect("open");
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    let a = t
        .create_vertex_with(&["P"], &[("name", "a".into())])
        .expect("v");
    let b = t
        .create_vertex_with(&["P"], &[("name", "b".into())])
        .expect("v");
    t.create_edge_with(a, b, "KNOWS", &[("w", 2.5.into())])
        .expect("e");
    t.commit().expect("commit");
    let id = db.database_id();
    db.close().expect("close");
    let snaps: Vec<_> = std::fs::read_dir(dir.path().join("snapshots"))
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(snaps.len(), 1, "close writes one snapshot");
    let target = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(target.path().join("snapshots")).expect("mkdir");
    let name = snaps[0].file_name().expect("name");
    std::fs::copy(&snaps[0], target.path().join("snapshots").join(name)).expect("copy");
    let restored = OnDiskEngine::open(Config::new(target.path())).expect("restore");
    assert_eq!(
        restored.database_id(),
        id,
        "a restore keeps the database id"
    );
    let t = restored.begin(TxnOptions::new()).expect("begin");
    assert_eq!(t.vertices_with_label("P").expect("scan").count(), 2);
    let e: Vec<_> = t
        .edges(a, engine_api::Direction::Out, Some("KNOWS"))
        .expect("edges")
        .collect::<Result<_, _>>()
        .expect("edges");
    assert_eq!(e.len(), 1);
    assert_eq!(t.edge_property(e[0].id, "w").expect("p"), Some(2.5.into()));
    // New ids continue past the restored ones.
    drop(t);
    let mut t = restored.begin(TxnOptions::new()).expect("begin");
    assert!(t.create_vertex().expect("v") > b);
}

/// The format version in a `quiver.meta` file.
fn meta_version(p: &Path) -> u16 {
    let b = std::fs::read(p).expect("meta");
    u16::from_le_bytes([b[8], b[9]])
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("list").flatten() {
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// A database written by format version 4 (`tests/fixtures/v4`, written by commit
/// 9d720e1: five commits, a close, then three commits and a detach delete left in
/// the log by a crash; every commit merged its count change) opens with its counts
/// right and is upgraded to version 5, whose counts then survive a crash of their
/// own.
#[test]
fn format_version_4_counts_stay_right_through_the_upgrade_and_a_crash() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v4");
    let dir = tempfile::tempdir().expect("tmp");
    copy_dir(&fixture, dir.path());
    let meta = dir.path().join("rocksdb/quiver.meta");
    assert_eq!(meta_version(&meta), 4, "the fixture is of version 4");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("a version 4 database opens");
    assert_eq!(meta_version(&meta), engine_ondisk::FORMAT_VERSION);
    let counts = |db: &OnDiskEngine| {
        let stats = db.stats().expect("stats");
        let t = db.begin(TxnOptions::new().read_only()).expect("begin");
        let scan = (
            t.vertex_count().expect("count"),
            t.edge_count().expect("count"),
        );
        assert_eq!(
            (stats.vertices, stats.edges),
            scan,
            "kept counts equal a scan"
        );
        scan
    };
    assert_eq!(counts(&db), (7, 6));
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    let v = t.create_vertex().expect("vertex");
    t.create_edge(v, v, "SELF").expect("edge");
    t.commit().expect("commit");
    drop(db);
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("reopen after a crash");
    assert_eq!(counts(&db), (8, 7));
    db.close().expect("close");
}

/// A database written by format version 3 (`tests/fixtures/v3`, written by commit
/// e4803e2: 13 commits, each leaving its count change as a record of its own, none
/// folded yet) opens with its counts right, is upgraded to the current version (changes
/// merged into one key), and keeps counting across reopenings.
#[test]
fn format_version_3_count_records_are_folded_at_the_upgrade() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v3");
    let dir = tempfile::tempdir().expect("tmp");
    copy_dir(&fixture, dir.path());
    let meta = dir.path().join("rocksdb/quiver.meta");
    assert_eq!(meta_version(&meta), 3, "the fixture is of version 3");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("a version 3 database opens");
    assert_eq!(meta_version(&meta), engine_ondisk::FORMAT_VERSION);
    let stats = db.stats().expect("stats");
    assert_eq!((stats.vertices, stats.edges), (11, 10));
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    assert_eq!(t.vertex_count().expect("count"), 11);
    let v = t.create_vertex().expect("vertex");
    t.create_edge(v, v, "SELF").expect("edge");
    t.commit().expect("commit");
    db.close().expect("close");
    for _ in 0..2 {
        let db = OnDiskEngine::open(Config::new(dir.path())).expect("reopen");
        let stats = db.stats().expect("stats");
        assert_eq!((stats.vertices, stats.edges), (12, 11), "counted once");
        db.close().expect("close");
    }
    let check = engine_ondisk::check_files(dir.path()).expect("check");
    assert!(check.parts.iter().all(|p| p.damage.is_none()), "{check:?}");
}

/// A database written by format version 1 (before the `index` column family and the
/// schema catalog; `tests/fixtures/v1`, written by commit 4016d11) opens with its
/// data intact, is upgraded to the current version, and takes indexes afterwards.
#[test]
fn format_version_1_opens_and_is_upgraded() {
    use engine_api::{IndexSpec, PropertyBounds, PropertyValue};
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1");
    let dir = tempfile::tempdir().expect("tmp");
    copy_dir(&fixture, dir.path());
    let meta = dir.path().join("rocksdb/quiver.meta");
    assert_eq!(meta_version(&meta), 1, "the fixture is of version 1");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("a version 1 database opens");
    assert_eq!(meta_version(&meta), engine_ondisk::FORMAT_VERSION);
    let stats = db.stats().expect("stats");
    assert_eq!(
        (stats.vertices, stats.edges),
        (19, 17),
        "counted at the upgrade"
    );
    let t = db.begin(TxnOptions::new()).expect("begin");
    assert_eq!(t.vertex_count().expect("count"), 19);
    assert_eq!(t.edge_count().expect("count"), 17);
    assert_eq!(
        t.vertices_with_label("Even").expect("scan").count(),
        10,
        "labels survive"
    );
    let three = t
        .vertices_with_property("Number", "name", &PropertyBounds::equal("v3".into()))
        .expect("lookup")
        .collect::<Result<Vec<_>, _>>()
        .expect("ids");
    assert_eq!(three.len(), 1);
    assert_eq!(
        t.vertex_property(three[0], "n").expect("read"),
        Some(PropertyValue::Int(300))
    );
    drop(t);
    let spec = IndexSpec::LabelProperties {
        label: "Number".into(),
        properties: vec!["n".into()],
    };
    db.create_index(&spec).expect("index");
    db.close().expect("close");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("reopen");
    assert_eq!(db.indexes().expect("list")[0].entries, 19);
    let t = db.begin(TxnOptions::new()).expect("begin");
    assert_eq!(
        t.vertex_lookup_index("Number", &["n"]).expect("plan"),
        Some(spec)
    );
    let found = t
        .vertices_with_property("Number", "n", &PropertyBounds::equal(300.into()))
        .expect("lookup")
        .collect::<Result<Vec<_>, _>>()
        .expect("ids");
    assert_eq!(found, three);
}

/// An upgrade from version 1 cut short after RocksDB added the `index` column family
/// but before the metadata file said version 2: the next open finishes it.
#[test]
fn an_upgrade_cut_short_after_adding_the_column_family_is_finished() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1");
    let dir = tempfile::tempdir().expect("tmp");
    copy_dir(&fixture, dir.path());
    let config = Config::new(dir.path());
    {
        // What the interrupted open left: RocksDB opened with every column family.
        let db = raw_open(&config);
        assert!(
            db.cf_handle("index").is_some(),
            "the column family was added"
        );
    }
    let meta = dir.path().join("rocksdb/quiver.meta");
    let version = || {
        let b = std::fs::read(&meta).expect("meta");
        u16::from_le_bytes([b[8], b[9]])
    };
    assert_eq!(version(), 1);
    let db = OnDiskEngine::open(config).expect("the upgrade is finished");
    assert_eq!(version(), engine_ondisk::FORMAT_VERSION);
    let t = db.begin(TxnOptions::new()).expect("begin");
    assert_eq!(t.vertex_count().expect("count"), 19);
    assert_eq!(t.edge_count().expect("count"), 17);
    drop(t);
    let spec = engine_api::IndexSpec::LabelProperties {
        label: "Number".into(),
        properties: vec!["n".into()],
    };
    db.create_index(&spec).expect("index");
    let listed = db.indexes().expect("list");
    assert_eq!((&listed[0].spec, listed[0].entries), (&spec, 19));
}

/// RocksDB opened directly on `config`'s directory with the engine's options and
/// every column family, bypassing the engine (to stage what an interrupted operation
/// or a damage left).
fn raw_open(config: &Config) -> rocksdb::TransactionDB {
    let (opts, cfs) = engine_ondisk::rocksdb_options(config);
    rocksdb::TransactionDB::open_cf_descriptors(
        &opts,
        &rocksdb::TransactionDBOptions::default(),
        config.get_data_directory().join("rocksdb"),
        cfs,
    )
    .expect("raw open")
}

/// Takes away the `ready` mark, as a kill during creation (or during the restore of a
/// snapshot) leaves the database.
fn unmark_ready(config: &Config) {
    let db = raw_open(config);
    let meta = db.cf_handle("meta").expect("meta column family");
    db.delete_cf(meta, b"ready").expect("delete");
    db.flush_wal(true).expect("sync");
}

/// Regression: the crash test's reopen after a kill during creation failed with "Io:
/// cannot list <dir>/wal", because redoing the creation let RocksDB remove the WAL
/// directory with its files. An interrupted creation (and an interrupted restore) is
/// redone: nothing in it was ever acknowledged.
#[test]
fn a_creation_cut_short_by_a_kill_is_redone() {
    let source = tempfile::tempdir().expect("tmp");
    let snapshot = {
        let db = OnDiskEngine::open(Config::new(source.path())).expect("open");
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        t.create_vertex_with(&["Restored"], &[]).expect("v");
        t.commit().expect("commit");
        db.create_snapshot().expect("snapshot").path
    };
    for restore in [false, true] {
        let dir = tempfile::tempdir().expect("tmp");
        if restore {
            std::fs::create_dir_all(dir.path().join("snapshots")).expect("mkdir");
            let name = snapshot.file_name().expect("name");
            std::fs::copy(&snapshot, dir.path().join("snapshots").join(name)).expect("copy");
        }
        let config = Config::new(dir.path());
        OnDiskEngine::open(config.clone())
            .expect("create")
            .close()
            .expect("close");
        unmark_ready(&config);
        let db = OnDiskEngine::open(config.clone()).expect("an interrupted creation is redone");
        let t = db.begin(TxnOptions::new()).expect("begin");
        let restored = t.vertices_with_label("Restored").expect("scan").count();
        assert_eq!(restored, usize::from(restore), "restore: {restore}");
        drop(t);
        assert_eq!(
            db.recovery_report().expect("report").snapshot.is_some(),
            restore
        );
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        t.create_vertex_with(&["After"], &[]).expect("v");
        t.commit().expect("commit");
        db.close().expect("close");
        let db = OnDiskEngine::open(config).expect("reopen");
        let t = db.begin(TxnOptions::new()).expect("begin");
        assert_eq!(t.vertices_with_label("After").expect("scan").count(), 1);
    }
}

/// The shared durability settings this backend cannot honour are refused at open,
/// naming the setting, never ignored; nothing is created.
#[test]
fn durability_settings_it_cannot_honour_are_refused() {
    use std::time::Duration;
    for (d, mentions) in [
        (Config::default_durability().wal(false), "WAL"),
        (
            Config::default_durability().snapshot_interval(Some(Duration::from_secs(60))),
            "periodic snapshots",
        ),
        (
            Config::default_durability().recover_on_startup(false),
            "recovery",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let err = OnDiskEngine::open(Config::new(dir.path()).durability(d))
            .expect_err("an unsupported setting");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.message().contains(mentions), "{err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("list").count(),
            0,
            "nothing is created"
        );
    }
}

/// A kill after our metadata file was written but before RocksDB wrote its CURRENT
/// file leaves RocksDB files without CURRENT. The creation marker tells that apart from
/// a database that lost CURRENT: the first is redone, the second stays refused (never
/// wiped).
#[test]
fn a_creation_cut_short_before_rocksdb_wrote_current_is_redone() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = Config::new(dir.path());
    {
        let db = OnDiskEngine::open(config.clone()).expect("create");
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        t.create_vertex_with(&["Kept"], &[]).expect("v");
        t.commit().expect("commit");
        db.close().expect("close");
    }
    let rocks = dir.path().join("rocksdb");
    assert!(
        !rocks.join(".quiver.creating").exists(),
        "a ready database has no marker"
    );
    std::fs::remove_file(rocks.join("CURRENT")).expect("remove CURRENT");
    let err = OnDiskEngine::open(config.clone()).expect_err("a database without CURRENT");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    // The same files, as a creation that a kill interrupted leaves them.
    std::fs::write(rocks.join(".quiver.creating"), b"").expect("marker");
    let db = OnDiskEngine::open(config.clone()).expect("the creation is redone");
    let t = db.begin(TxnOptions::new()).expect("begin");
    assert_eq!(t.vertex_count().expect("count"), 0, "a new, empty database");
    drop(t);
    db.close().expect("close");
    assert!(!rocks.join(".quiver.creating").exists());
    OnDiskEngine::open(config).expect("reopen");
}

/// `stats()` reads the kept counts: they follow creates, deletes (detach deletes
/// count their edges), ignore rolled-back and conflicting transactions, survive the
/// folds of a running engine (more than 4096 counted commits) and a reopen, and always
/// equal a scan.
#[test]
fn stats_are_kept_with_the_data_and_equal_a_scan() {
    use engine_api::{DeleteMode, EngineStats};
    let dir = tempfile::tempdir().expect("tmp");
    let scan = |db: &OnDiskEngine| {
        let t = db.begin(TxnOptions::new().read_only()).expect("begin");
        (
            t.vertex_count().expect("count"),
            t.edge_count().expect("count"),
        )
    };
    let kept = |db: &OnDiskEngine| {
        let EngineStats {
            vertices, edges, ..
        } = db.stats().expect("stats");
        (vertices, edges)
    };
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    assert_eq!(kept(&db), (0, 0));
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    let vs: Vec<_> = (0..10)
        .map(|_| t.create_vertex().expect("vertex"))
        .collect();
    t.create_edge(vs[0], vs[1], "E").expect("edge");
    t.create_edge(vs[1], vs[0], "E").expect("edge");
    let kept_edge = t.create_edge(vs[2], vs[3], "E").expect("edge");
    t.commit().expect("commit");
    assert_eq!(kept(&db), (10, 3));

    let mut t = db.begin(TxnOptions::new()).expect("begin");
    t.create_vertex().expect("vertex");
    t.create_edge(vs[4], vs[5], "E").expect("edge");
    t.rollback();
    assert_eq!(kept(&db), (10, 3), "a rollback counts nothing");

    // The second writer of vs[6] conflicts; what it created is not counted.
    let mut first = db.begin(TxnOptions::new()).expect("begin");
    let mut second = db.begin(TxnOptions::new()).expect("begin");
    first
        .set_vertex_property(vs[6], "x", 1.into())
        .expect("set");
    second.create_vertex().expect("vertex");
    let err = second
        .set_vertex_property(vs[6], "x", 2.into())
        .expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(second.commit().is_err());
    first.commit().expect("commit");
    assert_eq!(kept(&db), (10, 3));

    let mut t = db.begin(TxnOptions::new()).expect("begin");
    t.delete_vertex(vs[0], DeleteMode::Detach)
        .expect("detach delete");
    t.delete_edge(kept_edge).expect("delete edge");
    t.commit().expect("commit");
    assert_eq!(kept(&db), (9, 0), "a detach delete counts its edges");
    assert_eq!(kept(&db), scan(&db));

    for i in 0..5000 {
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        let v = t.create_vertex().expect("vertex");
        if i % 2 == 0 {
            t.create_edge(v, vs[9], "E").expect("edge");
        }
        t.commit().expect("commit");
    }
    assert_eq!(kept(&db), (5009, 2500));
    assert_eq!(kept(&db), scan(&db));
    db.close().expect("close");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("reopen");
    assert_eq!(kept(&db), (5009, 2500), "the counts survive a reopen");
    assert_eq!(kept(&db), scan(&db));

    // A crash (dropped without close) after creations, deletions of objects from
    // before the open and of objects created since: the next open counts them.
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    let new: Vec<_> = (0..7).map(|_| t.create_vertex().expect("vertex")).collect();
    t.create_edge(new[0], new[1], "E").expect("edge");
    t.create_edge(new[1], vs[9], "E").expect("edge");
    t.commit().expect("commit");
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    t.delete_vertex(vs[8], DeleteMode::Plain)
        .expect("an old vertex");
    t.delete_vertex(new[2], DeleteMode::Plain)
        .expect("a new vertex");
    t.delete_vertex(new[1], DeleteMode::Detach)
        .expect("a new vertex and 2 edges");
    t.commit().expect("commit");
    assert_eq!(kept(&db), (5009 + 7 - 3, 2500));
    assert_eq!(kept(&db), scan(&db));
    drop(db);
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("reopen");
    assert_eq!(kept(&db), (5013, 2500), "the counts survive a crash");
    assert_eq!(kept(&db), scan(&db));
    drop(db);
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("reopen");
    assert_eq!(
        kept(&db),
        (5013, 2500),
        "and a second open counts nothing twice"
    );
}

/// A damaged count record is ours and damaged: opening is `Corrupt` naming it, and
/// the directory is left as it was.
#[test]
fn a_damaged_count_record_is_corrupt() {
    let dir = tempfile::tempdir().expect("tmp");
    fill(dir.path());
    let config = Config::new(dir.path());
    {
        let db = raw_open(&config);
        let meta = db.cf_handle("meta").expect("meta column family");
        db.put_cf(meta, b"counts", [1u8, 2, 3]).expect("damage");
        db.flush_wal(true).expect("sync");
    }
    let err = OnDiskEngine::open(config).expect_err("a damaged count record");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(err.message().contains("count"), "{err}");
}

/// The file check loads `meta` as opening does: a damaged or missing count record,
/// a name that is not UTF-8, a damaged clock offset are damage ("opening fails"),
/// as opening is `Corrupt`; well-formed counts that differ from the records open,
/// and the check notes the difference. (A hostile-user run: verify called such
/// directories healthy because every record decoded on its own.)
#[test]
fn the_file_check_loads_the_metadata_as_opening_does() {
    let sound = tempfile::tempdir().expect("tmp");
    fill(sound.path());
    let check = engine_ondisk::check_files(sound.path()).expect("check");
    assert!(check.parts.iter().all(|p| p.damage.is_none()), "{check:?}");
    assert!(
        check
            .parts
            .iter()
            .any(|p| p.kind == "metadata" && p.detail.contains("(1 vertices, 1 edges)")),
        "{check:?}"
    );
    assert!(check.notes.is_empty(), "{check:?}");
    type Damage = fn(&rocksdb::TransactionDB, &rocksdb::ColumnFamily);
    let damages: [(&str, Damage); 4] = [
        ("a short count record", |db, meta| {
            db.put_cf(meta, b"counts", [1u8, 2, 3]).expect("put")
        }),
        ("no count record", |db, meta| {
            db.delete_cf(meta, b"counts").expect("delete")
        }),
        ("a name that is not UTF-8", |db, meta| {
            db.put_cf(meta, b"n\x00\x00\x00\x00\x00", [0xffu8, 0xfe])
                .expect("put")
        }),
        ("a short clock offset", |db, meta| {
            db.put_cf(meta, b"clock", [1u8]).expect("put")
        }),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().expect("tmp");
        fill(dir.path());
        let config = Config::new(dir.path());
        {
            let db = raw_open(&config);
            let meta = db.cf_handle("meta").expect("meta column family");
            damage(&db, meta);
            db.flush_wal(true).expect("sync");
        }
        let check = engine_ondisk::check_files(dir.path()).expect("check");
        assert!(
            check.parts.iter().any(|p| p
                .damage
                .as_deref()
                .is_some_and(|d| d.contains("opening fails"))),
            "{what}: {check:?}"
        );
        let err = OnDiskEngine::open(config).expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{what}: {err}");
    }
    // Counts that read but are wrong: the database opens with them; the check says.
    let dir = tempfile::tempdir().expect("tmp");
    fill(dir.path());
    let config = Config::new(dir.path());
    {
        let db = raw_open(&config);
        let meta = db.cf_handle("meta").expect("meta column family");
        let mut wrong = [0u8; 16];
        wrong[..8].copy_from_slice(&5u64.to_le_bytes());
        wrong[8..].copy_from_slice(&7u64.to_le_bytes());
        db.put_cf(meta, b"counts", wrong).expect("put");
        db.flush_wal(true).expect("sync");
    }
    let check = engine_ondisk::check_files(dir.path()).expect("check");
    assert!(check.parts.iter().all(|p| p.damage.is_none()), "{check:?}");
    assert!(
        check
            .notes
            .iter()
            .any(|n| n.contains("5 vertices and 7 edges")
                && n.contains("1 vertex and 1 edge records")),
        "{check:?}"
    );
    let db = OnDiskEngine::open(config).expect("opens");
    let stats = db.stats().expect("stats");
    assert_eq!((stats.vertices, stats.edges), (5, 7));
    drop(db);
    // A lost `wal/`: opening creates it; the check reads the tables and says so
    // (it called the directory unopenable).
    let dir = tempfile::tempdir().expect("tmp");
    fill(dir.path());
    std::fs::remove_dir_all(dir.path().join("wal")).expect("remove wal/");
    let check = engine_ondisk::check_files(dir.path()).expect("check");
    assert!(check.parts.iter().all(|p| p.damage.is_none()), "{check:?}");
    assert!(
        check.notes.iter().any(|n| n.contains("is missing")),
        "{check:?}"
    );
    assert!(!dir.path().join("wal").exists(), "the check writes nothing");
    OnDiskEngine::open(Config::new(dir.path())).expect("opens");
}

/// `flush` moves the memtables into SST files, `storage_usage` sees RocksDB's memory
/// and files move accordingly, and a block cache shrunk to nothing holds (almost)
/// nothing.
#[test]
fn flush_usage_and_block_cache_capacity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    let mut ids = Vec::new();
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    for i in 0..5000i64 {
        ids.push(
            t.create_vertex_with(&["P"], &[("name", format!("vertex number {i}").into())])
                .expect("vertex"),
        );
    }
    t.commit().expect("commit");
    let before = db.storage_usage().expect("usage");
    assert!(before.memtables > 100_000, "{before:?}");
    assert!(before.wal_files > 100_000, "{before:?}");
    assert_eq!(before.sst_files, 0, "nothing flushed yet: {before:?}");
    db.flush().expect("flush");
    let flushed = db.storage_usage().expect("usage");
    assert!(flushed.sst_files > 10_000, "{flushed:?}");
    assert!(
        flushed.memtables < before.memtables,
        "{before:?} then {flushed:?}"
    );
    // Reads now come from the SST files, through the block cache.
    let t = db.begin(TxnOptions::new().read_only()).expect("begin");
    for v in &ids {
        assert!(t.vertex_property(*v, "name").expect("read").is_some());
    }
    drop(t);
    let read = db.storage_usage().expect("usage");
    assert!(read.block_cache > 0, "{read:?}");
    assert_eq!(
        read.memory(),
        read.memtables + read.table_readers + read.block_cache
    );
    assert_eq!(read.disk(), read.sst_files + read.wal_files);
    db.set_block_cache_capacity(0);
    // Nothing but the cache's own bookkeeping (tens of bytes) is left, and a block
    // or two that a background job holds pinned at that moment (seen once in CI
    // under load: one 4 KiB block).
    let emptied = db.storage_usage().expect("usage").block_cache;
    assert!(
        emptied <= 16 * 1024 && emptied < read.block_cache / 4,
        "{emptied} of {read:?}"
    );
    // Reads still work with no cache.
    let t = db.begin(TxnOptions::new().read_only()).expect("begin");
    assert!(t.vertex_property(ids[7], "name").expect("read").is_some());
}

/// `compact_closed` rewrites a closed database's files and keeps every record; it
/// refuses a directory an engine has open and one without a database.
#[test]
fn compact_closed_keeps_the_data_and_respects_the_lock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::new(dir.path());
    let db = OnDiskEngine::open(config.clone()).expect("open");
    let mut ids = Vec::new();
    // Three flushes: below RocksDB's trigger of four level-0 files, so they stay.
    for batch in 0..3 {
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        for i in 0..2000i64 {
            ids.push(
                t.create_vertex_with(&["P"], &[("n", (batch * 10_000 + i).into())])
                    .expect("vertex"),
            );
        }
        t.commit().expect("commit");
        db.flush().expect("flush");
    }
    let err = engine_ondisk::compact_closed(&config).expect_err("open elsewhere");
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    let sst_files = || {
        std::fs::read_dir(dir.path().join("rocksdb"))
            .expect("rocksdb/")
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "sst"))
            .count()
    };
    let before = sst_files();
    db.close().expect("close");
    engine_ondisk::compact_closed(&config).expect("compacts");
    let after = sst_files();
    assert!(after > 0 && after < before, "{before} files -> {after}");
    let db = OnDiskEngine::open(config).expect("reopens");
    let t = db.begin(TxnOptions::new().read_only()).expect("begin");
    for (k, v) in ids.iter().enumerate() {
        let want = (k as i64 / 2000) * 10_000 + k as i64 % 2000;
        assert_eq!(
            t.vertex_property(*v, "n").expect("read"),
            Some(want.into()),
            "vertex {k}"
        );
    }
    let empty = tempfile::tempdir().expect("temp dir");
    let err = engine_ondisk::compact_closed(&Config::new(empty.path())).expect_err("nothing");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

/// Regression: the file check took a uniqueness record of a short value (a one-byte
/// string, a boolean, an empty list) for a truncated index entry and called a
/// healthy database damaged.
#[test]
fn uniqueness_records_of_short_values_check_as_sound() {
    use engine_api::{ConstraintSpec, PropertyValue};
    let dir = tempfile::tempdir().expect("temp dir");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    for (key, value) in [
        ("s", PropertyValue::String("a".into())),
        ("b", PropertyValue::Bool(true)),
        ("l", PropertyValue::List(Vec::new())),
    ] {
        db.create_constraint(&ConstraintSpec::Unique {
            label: "M".into(),
            properties: vec![key.into()],
        })
        .expect("constraint");
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        t.create_vertex_with(&["M"], &[(key, value)])
            .expect("vertex");
        t.commit().expect("commit");
    }
    db.check_data().expect("the open database reads as sound");
    db.close().expect("close");
    let check = engine_ondisk::check_files(dir.path()).expect("check");
    let damage: Vec<_> = check
        .parts
        .iter()
        .filter_map(|p| p.damage.clone())
        .collect();
    assert!(
        damage.is_empty(),
        "a healthy database called damaged: {damage:?}"
    );
}

/// Restoring a snapshot at open counts the objects it builds on a shared counter,
/// against the snapshot's object count.
#[test]
fn a_restore_at_open_counts_its_objects_for_a_progress_display() {
    let src = tempfile::tempdir().expect("temp dir");
    let db = OnDiskEngine::open(Config::new(src.path())).expect("open");
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    let mut last = t.create_vertex().expect("vertex");
    for _ in 0..9999 {
        let v = t.create_vertex().expect("vertex");
        t.create_edge(last, v, "NEXT").expect("edge");
        last = v;
    }
    t.commit().expect("commit");
    let snapshot = db.create_snapshot().expect("snapshot");
    db.close().expect("close");
    let dst = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dst.path().join("snapshots")).expect("snapshots/");
    std::fs::copy(
        &snapshot.path,
        dst.path()
            .join("snapshots")
            .join(snapshot.path.file_name().expect("a name")),
    )
    .expect("copy");
    let counter = engine_ondisk::BuildProgress::new();
    assert_eq!(counter.get(), (0, 0));
    let restored =
        OnDiskEngine::open(Config::new(dst.path()).build_progress(counter.clone())).expect("open");
    assert_eq!(counter.get(), (19_999, 19_999), "every object counted");
    restored.close().expect("close");
}

/// A flipped byte in the middle of RocksDB's log refuses the open (`Corrupt`); the
/// open used to stop replaying there and drop every later commit without a word.
#[test]
fn damage_in_the_middle_of_the_log_refuses_the_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
        for i in 0..2000 {
            let mut t = db.begin(TxnOptions::new()).expect("begin");
            t.create_vertex_with(&["P"], &[("n", format!("vertex {i:>40}").into())])
                .expect("vertex");
            t.commit().expect("commit");
        }
        // Dropped without close: the commits are in the log only.
    }
    let log = std::fs::read_dir(dir.path().join("wal"))
        .expect("wal/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .max_by_key(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .expect("a log");
    let mut bytes = std::fs::read(&log).expect("read");
    assert!(bytes.len() > 100_000, "{} bytes", bytes.len());
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&log, &bytes).expect("write");
    // The file check (what `quiver verify` runs) finds it too, without writing.
    let check = engine_ondisk::check_files(dir.path()).expect("check");
    assert!(
        check.parts.iter().any(|p| p.damage.is_some()),
        "the check passed a damaged log: {check:?}"
    );
    let err = OnDiskEngine::open(Config::new(dir.path())).expect_err("damaged log");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
}

/// What the file check passes, opening and reading every record accepts: a byte
/// flipped anywhere in a table file (data, index, filter, properties, footer) is
/// either damage in the check or harmless to the open and to every read.
#[test]
fn the_file_check_vouches_for_every_byte_of_the_table_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = 3000u64;
    {
        let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        let mut ids = Vec::new();
        for i in 0..n {
            ids.push(
                t.create_vertex_with(&["P"], &[("n", i64::try_from(i).expect("i").into())])
                    .expect("vertex"),
            );
        }
        for w in ids.windows(2) {
            t.create_edge(w[0], w[1], "NEXT").expect("edge");
        }
        t.commit().expect("commit");
        db.flush().expect("flush");
        db.close().expect("close");
    }
    let pristine = tempfile::tempdir().expect("temp dir");
    copy_dir(dir.path(), pristine.path());
    let tables: Vec<_> = std::fs::read_dir(pristine.path().join("rocksdb"))
        .expect("rocksdb/")
        .flatten()
        .map(|e| e.file_name())
        .filter(|p| p.to_string_lossy().ends_with(".sst"))
        .collect();
    assert!(!tables.is_empty(), "no table files");
    let mut passed_and_failed = Vec::new();
    let mut flips = 0;
    for table in &tables {
        let original = std::fs::read(pristine.path().join("rocksdb").join(table)).expect("read");
        let step = (original.len() / 60).max(1);
        let tail = original.len().saturating_sub(80)..original.len();
        for at in (0..original.len()).step_by(step).chain(tail) {
            std::fs::remove_dir_all(dir.path()).expect("remove");
            copy_dir(pristine.path(), dir.path());
            let path = dir.path().join("rocksdb").join(table);
            let mut bytes = original.clone();
            bytes[at] ^= 0x5a;
            std::fs::write(&path, &bytes).expect("write");
            flips += 1;
            let check = engine_ondisk::check_files(dir.path()).expect("check");
            if check.parts.iter().all(|p| p.damage.is_none())
                && let Err(e) = read_everything(dir.path(), n)
            {
                passed_and_failed.push(format!(
                    "{} byte {at} of {}: {e}",
                    path.display(),
                    original.len()
                ));
            }
        }
    }
    assert!(
        passed_and_failed.is_empty(),
        "{} of {flips} flips passed the check and broke a read:\n{}",
        passed_and_failed.len(),
        passed_and_failed.join("\n")
    );
}

/// Opens `dir` and reads every vertex, edge and label entry.
fn read_everything(dir: &Path, n: u64) -> Result<(), engine_api::Error> {
    let db = OnDiskEngine::open(Config::new(dir))?;
    let t = db.begin(TxnOptions::new().read_only())?;
    let mut seen = 0u64;
    for v in t.vertices()? {
        let v = v?;
        t.vertex_labels(v)?;
        t.vertex_properties(v)?;
        for e in t.edges(v, engine_api::Direction::Both, None)? {
            t.edge_properties(e?.id)?;
        }
        seen += 1;
    }
    for v in t.vertices_with_label("P")? {
        v?;
    }
    drop(t);
    db.close()?;
    if seen != n {
        return Err(engine_api::Error::corrupt(format!(
            "read {seen} vertices of {n}"
        )));
    }
    Ok(())
}

/// `compact` leaves every family in fewer table files and the data as it was.
#[test]
fn compact_merges_the_flushed_files_and_keeps_the_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    let tables = || {
        std::fs::read_dir(dir.path().join("rocksdb"))
            .expect("list")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".sst"))
            .count()
    };
    let mut ids = Vec::new();
    for round in 0..4i64 {
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        for i in 0..50 {
            let v = t
                .create_vertex_with(&["P"], &[("n", PropertyValue::Int(round * 100 + i))])
                .expect("vertex");
            if let Some(prev) = ids.last() {
                t.create_edge(*prev, v, "E").expect("edge");
            }
            ids.push(v);
        }
        t.commit().expect("commit");
        db.flush().expect("flush");
    }
    let flushed = tables();
    db.compact().expect("compact");
    let compacted = tables();
    assert!(
        compacted < flushed,
        "{flushed} table files after the flushes, {compacted} after compact"
    );
    let t = db.begin(TxnOptions::new().read_only()).expect("begin");
    for (i, v) in ids.iter().enumerate() {
        let n = t.vertex_property(*v, "n").expect("read");
        assert_eq!(n, Some(PropertyValue::Int((i / 50 * 100 + i % 50) as i64)));
    }
    drop(t);
    assert_eq!(db.stats().expect("stats").edges, ids.len() as u64 - 1);
}

/// A checkpoint holds the state at its commit (flushed data in SST files, the rest
/// in the log copied with it), opens as a data directory of the same database, and
/// the live database goes on writing after it; a second checkpoint after more
/// commits holds the same SST files, by name and content. A
/// checkpoint a killed backup left in `.in-progress/` is removed on the next open.
#[test]
fn a_checkpoint_opens_as_the_state_at_its_commit() {
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("data");
    let db = OnDiskEngine::open(Config::new(&data)).expect("open");
    for i in 0..200i64 {
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        t.create_vertex_with(&["N"], &[("i", i.into())])
            .expect("vertex");
        t.commit().expect("commit");
    }
    db.flush().expect("flush");
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    t.create_vertex_with(&["N"], &[("i", 200.into())])
        .expect("vertex");
    let last = t.commit().expect("commit").commit_timestamp;
    let first = db.checkpoint(&root.path().join("cp1")).expect("checkpoint");
    assert_eq!(
        first.commit_ts, last,
        "it holds the newest commit, from the log"
    );
    assert!(
        first
            .files
            .iter()
            .any(|f| f.starts_with("wal/") && f.ends_with(".log"))
    );
    assert!(
        first.files.iter().any(|f| f.ends_with(".sst")),
        "{:?}",
        first.files
    );
    assert!(first.files.contains(&"rocksdb/quiver.meta".to_string()));
    assert!(
        first.files.iter().all(|f| !f.contains("LOG")),
        "{:?}",
        first.files
    );
    assert!(
        db.checkpoint(&root.path().join("cp1")).is_err(),
        "an existing directory"
    );
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    t.create_vertex_with(&["N"], &[("i", (-1).into())])
        .expect("vertex");
    t.commit().expect("commit");
    let second = db.checkpoint(&root.path().join("cp2")).expect("checkpoint");
    assert!(second.commit_ts > first.commit_ts);
    let shared: Vec<&String> = first
        .files
        .iter()
        .filter(|f| f.ends_with(".sst") && second.files.contains(f))
        .collect();
    assert!(!shared.is_empty(), "unchanged SST files keep their names");
    for f in shared {
        assert_eq!(
            std::fs::read(root.path().join("cp1").join(f)).expect("read"),
            std::fs::read(root.path().join("cp2").join(f)).expect("read"),
            "{f} differs"
        );
    }
    let id = db.database_id();
    // A checkpoint left in `.in-progress/`, as a killed backup leaves it.
    let left = data
        .join(".in-progress")
        .join(format!("{}9", engine_ondisk::CHECKPOINT_PREFIX));
    std::fs::create_dir_all(data.join(".in-progress")).expect("folder");
    db.checkpoint(&left).expect("checkpoint");
    db.close().expect("close");
    let reopened = OnDiskEngine::open(Config::new(&data)).expect("reopen");
    assert!(!left.exists(), "the left checkpoint is removed");
    reopened.close().expect("close");
    let at = OnDiskEngine::open(Config::new(root.path().join("cp1"))).expect("open the checkpoint");
    assert_eq!(at.database_id(), id);
    let t = at.begin(TxnOptions::new().read_only()).expect("begin");
    assert_eq!(t.vertices_with_label("N").expect("scan").count(), 201);
    drop(t);
    at.close().expect("close");
}
