//! Switching a live database's storage mode, and migrating a data directory: the
//! rules of the reference database, data, ids and schema kept, and what a crash at
//! each step of a switch recovers (a child process aborted there).

use std::path::Path;
use std::process::Command;

use engine_api::{
    ConstraintSpec, ErrorKind, IndexSpec, Result, StorageEngine, StorageMode, Transaction,
    TxnOptions, VertexId,
};
use quiver::{Config, Database, MODE_FILE, migrate};

mod common;
use common::{fill, image};

const TXN: StorageMode = StorageMode::InMemoryTransactional;
const ANALYTICAL: StorageMode = StorageMode::InMemoryAnalytical;
const ON_DISK: StorageMode = StorageMode::OnDiskTransactional;

fn new_vertex(db: &Database) -> Result<VertexId> {
    let mut t = db.begin(TxnOptions::new())?;
    let v = t.create_vertex_with(&["After"], &[])?;
    t.commit()?;
    Ok(v)
}

fn open(dir: &Path) -> Result<Database> {
    Database::open(Config::new().data_directory(dir))
}

#[test]
fn memory_only_switches_keep_data_ids_and_schema_both_ways() -> Result<()> {
    let mut db = Database::open(Config::new())?;
    fill(&db)?;
    let before = image(&db)?;
    let last = new_vertex(&db)?;
    let before_with_last = image(&db)?;
    assert_ne!(before, before_with_last);
    let moved = db.set_storage_mode(ANALYTICAL)?;
    assert_eq!((moved.from, moved.to), (TXN, ANALYTICAL));
    assert_eq!((moved.vertices, moved.edges), (50, 47));
    assert_eq!(db.storage_mode(), ANALYTICAL);
    assert_eq!(image(&db)?, before_with_last);
    let next = new_vertex(&db)?;
    assert!(next > last, "ids go on past {last:?}, got {next:?}");
    let after = image(&db)?;
    db.set_storage_mode(TXN)?;
    assert_eq!(db.storage_mode(), TXN);
    assert_eq!(image(&db)?, after);
    assert!(new_vertex(&db)? > next);
    // The index answers from the data it was rebuilt with.
    let t = db.begin(TxnOptions::new().read_only())?;
    assert_eq!(
        t.vertices_with_property("Person", "n", &engine_api::PropertyBounds::equal(7.into()))?
            .count(),
        1
    );
    Ok(())
}

#[test]
fn switching_to_the_same_mode_does_nothing() -> Result<()> {
    let mut db = Database::open(Config::new())?;
    fill(&db)?;
    let moved = db.set_storage_mode(TXN)?;
    assert_eq!(moved.vertices + moved.edges, 0);
    assert_eq!(db.storage_mode(), TXN);
    Ok(())
}

#[test]
fn constraints_refuse_the_analytical_mode_and_nothing_changes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for config in [Config::new(), Config::new().data_directory(dir.path())] {
        let mut db = Database::open(config)?;
        fill(&db)?;
        let spec = ConstraintSpec::Exists {
            label: "Person".into(),
            property: "name".into(),
        };
        db.create_constraint(&spec)?;
        let before = image(&db)?;
        let err = db.set_storage_mode(ANALYTICAL).expect_err("constraints");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.message().contains("drop them first"), "{err}");
        assert_eq!(db.storage_mode(), TXN);
        assert_eq!(image(&db)?, before);
        db.drop_constraint(&spec)?;
        db.set_storage_mode(ANALYTICAL)?;
        assert_eq!(image(&db)?, before);
        db.close()?;
    }
    Ok(())
}

#[test]
fn a_switch_with_a_data_directory_is_persisted_and_the_wal_follows_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut db = open(dir.path())?;
    fill(&db)?;
    db.set_storage_mode(ANALYTICAL)?;
    let v = new_vertex(&db)?;
    let state = image(&db)?;
    db.close()?;
    assert_eq!(
        std::fs::read_to_string(dir.path().join(MODE_FILE))?.trim(),
        "IN_MEMORY_ANALYTICAL"
    );
    let db = open(dir.path())?;
    assert_eq!(db.storage_mode(), ANALYTICAL);
    assert_eq!(image(&db)?, state);
    db.close()?;
    // A child switches back, commits, and dies without closing (no snapshot on
    // exit): the commit after the switch is in the WAL.
    let printed = child("switch_commit_and_abort", dir.path(), Some((TXN, "")))?;
    // One vertex more, with an id past `v` (not necessarily the next one: the
    // analytical mode hands out ids in blocks per thread, and its snapshot's counter
    // is past the whole block, so that no id is used again).
    let vertex_ids = |image: &str| -> Vec<u64> {
        image
            .lines()
            .filter_map(|l| l.strip_prefix('v')?.split(' ').next()?.parse().ok())
            .collect()
    };
    let (was, now) = (vertex_ids(&state), vertex_ids(&printed));
    assert_eq!(now.len(), was.len() + 1, "{printed}");
    assert!(was.iter().all(|id| now.contains(id)), "{printed}");
    assert!(now.iter().any(|id| *id > v.0), "{printed}");
    let db = open(dir.path())?;
    assert_eq!(db.storage_mode(), TXN);
    assert_eq!(image(&db)?, printed);
    Ok(())
}

/// A config that turns recovery off (files moved aside on open) must not make the
/// new mode start empty: a switch always loads the snapshot it wrote.
#[test]
fn a_switch_recovers_its_snapshot_even_with_recovery_off() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut db = Database::open(
        Config::new()
            .data_directory(dir.path())
            .durability_by_mode(|_, d| d.recover_on_startup(false)),
    )?;
    fill(&db)?;
    let state = image(&db)?;
    db.set_storage_mode(ANALYTICAL)?;
    assert_eq!(image(&db)?, state);
    db.set_storage_mode(TXN)?;
    assert_eq!(image(&db)?, state);
    Ok(())
}

#[test]
fn on_disk_switches_need_an_empty_database() -> Result<()> {
    // Memory-only: no directory for RocksDB.
    let mut db = Database::open(Config::new())?;
    let err = db.set_storage_mode(ON_DISK).expect_err("no directory");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // With data: refused, pointing at migrate.
    let dir = tempfile::tempdir()?;
    let mut db = open(dir.path())?;
    fill(&db)?;
    let err = db.set_storage_mode(ON_DISK).expect_err("holds data");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("migrate"), "{err}");
    assert_eq!(db.storage_mode(), TXN);
    db.close()?;
    // Empty (the schema alone): allowed both ways; the schema and the id counters
    // go along, the old mode's files go aside.
    let dir = tempfile::tempdir()?;
    let mut db = open(dir.path())?;
    let first = new_vertex(&db)?;
    let mut t = db.begin(TxnOptions::new())?;
    t.delete_vertex(first, engine_api::DeleteMode::Detach)?;
    t.commit()?;
    db.create_index(&IndexSpec::Label("Person".into()))?;
    db.set_storage_mode(ON_DISK)?;
    assert_eq!(db.storage_mode(), ON_DISK);
    assert!(dir.path().join(".backup").exists());
    assert_eq!(
        db.indexes()?
            .into_iter()
            .map(|i| i.spec)
            .collect::<Vec<_>>(),
        vec![IndexSpec::Label("Person".into())]
    );
    let second = new_vertex(&db)?;
    assert!(
        second > first,
        "ids are not reused: {second:?} after {first:?}"
    );
    let err = db.set_storage_mode(ANALYTICAL).expect_err("holds data");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let mut t = db.begin(TxnOptions::new())?;
    t.delete_vertex(second, engine_api::DeleteMode::Detach)?;
    t.commit()?;
    db.set_storage_mode(ANALYTICAL)?;
    assert!(!dir.path().join("rocksdb").exists());
    assert_eq!(db.indexes()?.len(), 1);
    assert!(new_vertex(&db)? > second);
    db.close()?;
    assert_eq!(open(dir.path())?.storage_mode(), ANALYTICAL);
    Ok(())
}

#[test]
fn migrate_copies_a_whole_database_into_each_other_mode_with_ids() -> Result<()> {
    let root = tempfile::tempdir()?;
    let source = root.path().join("source");
    let db = open(&source)?;
    fill(&db)?;
    db.create_constraint(&ConstraintSpec::Exists {
        label: "Person".into(),
        property: "name".into(),
    })?;
    let state = image(&db)?;
    db.close()?;
    let err = migrate(&source, &root.path().join("a"), ANALYTICAL).expect_err("constraint");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    let on_disk = root.path().join("on-disk");
    let moved = migrate(&source, &on_disk, ON_DISK)?;
    assert_eq!((moved.from, moved.to, moved.vertices), (TXN, ON_DISK, 49));
    let db = open(&on_disk)?;
    assert_eq!(db.storage_mode(), ON_DISK);
    assert_eq!(image(&db)?, state);
    assert_eq!(db.constraints()?.len(), 1);
    let t = db.begin(TxnOptions::new())?;
    drop(t);
    db.close()?;
    // And back out of RocksDB, into the transactional in-memory mode.
    let back = root.path().join("back");
    migrate(&on_disk, &back, TXN)?;
    let db = open(&back)?;
    assert_eq!(db.storage_mode(), TXN);
    assert_eq!(image(&db)?, state);
    db.close()?;
    // A target that is not empty, or the source itself, is refused.
    let err = migrate(&source, &back, ON_DISK).expect_err("not empty");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = migrate(&source, &source, ON_DISK).expect_err("itself");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    Ok(())
}

/// Into the on-disk mode, a closed in-memory database whose newest snapshot is the
/// whole database is migrated by copying that file (not by loading the source);
/// with commits in the WAL after it, or a snapshot that does not import, by the
/// general way. Either way the copy holds exactly the source's data and schema.
#[test]
fn migrate_copies_the_newest_snapshot_only_when_it_is_the_whole_database() -> Result<()> {
    use engine_api::DurabilityConfig;
    let root = tempfile::tempdir()?;
    for from in [TXN, ANALYTICAL] {
        let source = root.path().join(format!("{from:?}"));
        let db = Database::open(Config::new().data_directory(&source).mode(from))?;
        fill(&db)?;
        db.create_index(&IndexSpec::Label("Item".into()))?;
        let state = image(&db)?;
        let indexes = db.indexes()?.len();
        db.close()?;
        let target = root.path().join(format!("{from:?}-on-disk"));
        let moved = migrate(&source, &target, ON_DISK)?;
        assert!(moved.copied_snapshot.is_some(), "{from:?}: the short way");
        assert_eq!((moved.from, moved.vertices), (from, 49));
        let db = open(&target)?;
        assert_eq!(image(&db)?, state, "{from:?}");
        assert_eq!(db.indexes()?.len(), indexes);
        new_vertex(&db)?;
        db.close()?;
        let db = open(&source)?;
        assert_eq!(image(&db)?, state, "{from:?}: the source is unchanged");
        db.close()?;
    }
    // Commits after the newest snapshot, in the WAL only: the general way.
    let source = root.path().join("wal-after");
    let config = Config::new()
        .data_directory(&source)
        .durability(DurabilityConfig::default().snapshot_on_exit(false));
    let db = Database::open(config.clone())?;
    fill(&db)?;
    db.create_snapshot()?;
    new_vertex(&db)?;
    let state = image(&db)?;
    let indexes = db.indexes()?.len();
    db.close()?;
    let target = root.path().join("wal-after-on-disk");
    let moved = migrate(&source, &target, ON_DISK)?;
    assert!(moved.copied_snapshot.is_none(), "the WAL holds more");
    let db = open(&target)?;
    assert_eq!(image(&db)?, state);
    assert_eq!(db.indexes()?.len(), indexes);
    db.close()?;
    // A schema change logged after the newest snapshot with no commit after it: the
    // snapshot does not show it, so the general way, which keeps it.
    let source = root.path().join("schema-after");
    let db = Database::open(config.clone().data_directory(&source))?;
    fill(&db)?;
    db.create_snapshot()?;
    db.create_index(&IndexSpec::Label("Late".into()))?;
    let indexes = db.indexes()?.len();
    db.close()?;
    let target = root.path().join("schema-after-on-disk");
    let moved = migrate(&source, &target, ON_DISK)?;
    assert!(moved.copied_snapshot.is_none(), "the WAL holds an index");
    let db = open(&target)?;
    assert_eq!(db.indexes()?.len(), indexes);
    db.close()?;
    // A newest snapshot damaged in its body (its header reads): the copy does not
    // import and is removed, and the general way recovers as opening does (here
    // from the WAL, which holds every commit).
    let source = root.path().join("damaged");
    let db = open(&source)?;
    fill(&db)?;
    let state = image(&db)?;
    db.close()?;
    let newest = std::fs::read_dir(source.join("snapshots"))?
        .flatten()
        .map(|e| e.path())
        .max()
        .expect("a snapshot");
    let mut bytes = std::fs::read(&newest)?;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&newest, bytes)?;
    let target = root.path().join("damaged-on-disk");
    let moved = migrate(&source, &target, ON_DISK)?;
    assert!(moved.copied_snapshot.is_none(), "{moved:?}");
    let db = open(&target)?;
    assert_eq!(image(&db)?, state);
    assert_eq!(db.snapshots()?.len(), 1, "only the general way's snapshot");
    db.close()?;
    Ok(())
}

/// From a hostile-user run: a target inside the source (its own `wal/`, a new
/// subfolder) was accepted and filled; migrating a source without a mode file wrote
/// one into it; a migrate that failed on a damaged snapshot left the mode file and
/// temporary folders in the target, which verify called healthy while info said it
/// holds no data.
#[test]
fn migrate_leaves_the_source_alone_and_takes_back_a_failed_target() -> Result<()> {
    let root = tempfile::tempdir()?;
    let source = root.path().join("source");
    let db = open(&source)?;
    fill(&db)?;
    db.close()?;
    for inside in [
        source.join("wal"),
        source.join("sub"),
        source.join("sub/deeper"),
    ] {
        let err = migrate(&source, &inside, ON_DISK).expect_err("inside the source");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.message().contains("inside the source"), "{err}");
    }
    assert!(!source.join("sub").exists());
    // No mode file in the source: none is written into it (the general way opens
    // it; a source without a mode file never takes the short way).
    std::fs::remove_file(source.join(MODE_FILE))?;
    migrate(&source, &root.path().join("copy"), ON_DISK)?;
    assert!(!source.join(MODE_FILE).exists());
    // A damaged only snapshot and no WAL: Corrupt, and the target is gone again.
    let only = root.path().join("only");
    let db = Database::open(Config::new().data_directory(&only).mode(ANALYTICAL))?;
    fill(&db)?;
    db.close()?;
    let snapshot = std::fs::read_dir(only.join("snapshots"))?
        .flatten()
        .map(|e| e.path())
        .max()
        .expect("a snapshot");
    let mut bytes = std::fs::read(&snapshot)?;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    std::fs::write(&snapshot, bytes)?;
    let target = root.path().join("failed");
    let err = migrate(&only, &target, ON_DISK).expect_err("damaged");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(!target.exists(), "a target the migrate made is removed");
    // Into an empty directory that existed: it stays, empty of what migrate wrote.
    std::fs::create_dir_all(&target)?;
    migrate(&only, &target, ON_DISK).expect_err("damaged");
    let left: Vec<_> = std::fs::read_dir(&target)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != ".lock")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // What a killed migrate leaves (the mode file alone) is no database to verify.
    quiver::persist_mode(&target, ON_DISK)?;
    let err = quiver::verify(&target, &|_, _| {}).expect_err("leftovers");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    Ok(())
}

/// A switch killed at each of its steps: the directory opens (in whichever mode
/// `quiver.mode` names) with exactly the data before the switch.
#[test]
fn a_crash_at_any_step_of_a_switch_keeps_the_data() -> Result<()> {
    for (from, to, empty) in [
        (TXN, ANALYTICAL, false),
        (ANALYTICAL, TXN, false),
        (TXN, ON_DISK, true),
        (ON_DISK, ANALYTICAL, true),
    ] {
        for step in [
            "SnapshotWritten",
            "OldClosed",
            "FilesMovedAside",
            "ModePersisted",
        ] {
            let dir = tempfile::tempdir()?;
            let db = Database::open(Config::new().data_directory(dir.path()).mode(from))?;
            if empty {
                db.create_index(&IndexSpec::Label("Person".into()))?;
            } else {
                fill(&db)?;
            }
            let state = image(&db)?;
            db.close()?;
            let out = child("switch_and_crash", dir.path(), Some((to, step)))?;
            assert_eq!(out, "", "the child was to die at {step}");
            let expected_mode = if step == "ModePersisted" { to } else { from };
            let out = child("reopen_and_print", dir.path(), None)?;
            assert_eq!(
                out,
                format!("{}\n{state}", quiver::mode_name(expected_mode)),
                "{from:?} -> {to:?} killed at {step}"
            );
        }
    }
    Ok(())
}

/// Runs one of the `child_*` functions below in a new process of this test binary.
fn child(role: &str, dir: &Path, switch: Option<(StorageMode, &str)>) -> Result<String> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--exact", "child_process", "--ignored", "--nocapture", "-q"])
        .env("QUIVER_CHILD_ROLE", role)
        .env("QUIVER_CHILD_DIR", dir);
    if let Some((mode, step)) = switch {
        cmd.env("QUIVER_CHILD_MODE", quiver::mode_name(mode))
            .env("QUIVER_CRASH_AT", step);
    }
    let out = cmd.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let body: String = stdout
        .lines()
        .skip_while(|l| *l != "BEGIN")
        .skip(1)
        .take_while(|l| *l != "END")
        .map(|l| format!("{l}\n"))
        .collect();
    if role != "reopen_and_print" {
        assert!(
            !out.status.success(),
            "the switch was to abort: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return Ok(body);
    }
    assert!(
        out.status.success(),
        "child failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(body)
}

/// The child side of [`child`]; run only by it (ignored in a normal run).
#[test]
#[ignore = "run by the crash tests in a child process"]
fn child_process() -> Result<()> {
    let (Ok(role), Some(dir)) = (
        std::env::var("QUIVER_CHILD_ROLE"),
        std::env::var_os("QUIVER_CHILD_DIR"),
    ) else {
        panic!("child_process runs only as a child of this file's tests");
    };
    let dir = Path::new(&dir);
    match role.as_str() {
        "reopen_and_print" => {
            let db = open(dir)?;
            println!("BEGIN\n{}", quiver::mode_name(db.storage_mode()));
            print!("{}", image(&db)?);
            println!("END");
            db.close()
        }
        "switch_and_crash" => {
            let to = std::env::var("QUIVER_CHILD_MODE")
                .ok()
                .and_then(|m| quiver::parse_mode(&m))
                .expect("a mode");
            let mut db = open(dir)?;
            db.set_storage_mode(to)?;
            println!("BEGIN\nthe switch did not abort\nEND");
            Ok(())
        }
        "switch_commit_and_abort" => {
            let mut db = open(dir)?;
            db.set_storage_mode(TXN)?;
            new_vertex(&db)?;
            println!("BEGIN\n{}END", image(&db)?);
            use std::io::Write;
            std::io::stdout().flush()?;
            std::process::abort();
        }
        other => panic!("unknown role {other}"),
    }
}

/// What a migrate killed before its image landed leaves (the mode file it writes
/// first, temporary files, empty `snapshots/`) does not block the retry, and the
/// retry makes the database asked for. (A hostile-user run found retries refused as
/// "not empty", and a kill between the snapshot and the mode file leaving a
/// database that opened in the default mode: the mode file now comes first.)
#[test]
fn a_migrate_killed_before_its_image_landed_can_be_retried() -> Result<()> {
    let root = tempfile::tempdir().expect("a temporary directory");
    let source = root.path().join("source");
    let db = open(&source)?;
    fill(&db)?;
    let expected = image(&db)?;
    db.close()?;
    let target = root.path().join("target");
    std::fs::create_dir_all(target.join("snapshots")).expect("dirs");
    std::fs::create_dir_all(target.join(".in-progress")).expect("dirs");
    std::fs::write(
        target.join(".in-progress/00000000000000000001_0.snapshot.tmp"),
        b"half",
    )
    .expect("leftover");
    std::fs::write(
        target.join("snapshots/.00000000000000000001_0.snapshot.tmp"),
        b"half",
    )
    .expect("leftover");
    std::fs::write(target.join(".quiver.mode.tmp"), b"ON_DISK").expect("leftover");
    quiver::persist_mode(&target, ON_DISK)?;
    migrate(&source, &target, ON_DISK)?;
    let db = open(&target)?;
    assert_eq!(db.storage_mode(), ON_DISK);
    assert_eq!(image(&db)?, expected);
    db.close()?;
    // A target with data in it is still refused.
    let err = migrate(&source, &target, ON_DISK).expect_err("holds a database");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    Ok(())
}
