//! Restoring to a point (`RestoreOptions::until`): to a commit timestamp or a time,
//! from a data directory's own snapshots and WAL; the modes that cannot refuse it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use engine_api::{
    ConstraintSpec, DeleteMode, ErrorKind, IndexSpec, RecoveryPoint, Result, StorageEngine,
    StorageMode, Transaction, TxnOptions, VertexId,
};
use proptest::prelude::*;
use quiver::{Config, Database, RestoreOptions};

mod common;
use common::files;

/// What the database holds, schema and constraints included.
fn state(db: &Database) -> Result<String> {
    let mut constraints: Vec<String> = db.constraints()?.iter().map(|c| format!("{c:?}")).collect();
    constraints.sort();
    Ok(format!(
        "{}constraints {constraints:?}\n",
        common::image(db)?
    ))
}

/// A transactional database that keeps its whole history in its directory: no
/// snapshot but the ones a test takes, small WAL segments (several files).
fn logged(dir: &Path) -> Result<Database> {
    let durability = quiver::default_durability(StorageMode::InMemoryTransactional)
        .snapshot_interval(None)
        .snapshot_on_exit(false)
        .snapshot_retention(100)
        .wal_segment_bytes(4096);
    Database::open(Config::new().data_directory(dir).durability(durability))
}

fn restore_to(from: &Path, to: &Path, point: RecoveryPoint) -> Result<quiver::Restored> {
    quiver::restore(
        from,
        to,
        &RestoreOptions::new().until(Some(point)),
        &|_, _| {},
    )
}

fn opened_state(dir: &Path) -> Result<String> {
    let db = Database::open(Config::new().data_directory(dir))?;
    let s = state(&db)?;
    db.close()?;
    Ok(s)
}

#[derive(Debug, Clone)]
enum Step {
    Create(u8),
    Set(u8, i64),
    Link(u8, u8),
    Delete(u8),
    /// A transaction that creates vertices and rolls back: its ids are reserved.
    RolledBack(u8),
    Index(bool),
    Unique(bool),
    Snapshot,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1u8..4).prop_map(Step::Create),
        3 => (any::<u8>(), -5i64..5).prop_map(|(v, n)| Step::Set(v, n)),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Step::Link(a, b)),
        2 => any::<u8>().prop_map(Step::Delete),
        1 => (1u8..4).prop_map(Step::RolledBack),
        1 => any::<bool>().prop_map(Step::Index),
        1 => any::<bool>().prop_map(Step::Unique),
        1 => Just(Step::Snapshot),
    ]
}

fn pick(live: &[VertexId], i: u8) -> Option<VertexId> {
    (!live.is_empty()).then(|| live[i as usize % live.len()])
}

/// Runs `steps`; returns, for each commit timestamp, the state just before the
/// next commit (schema changes after a commit belong to its point).
fn run(db: &Database, steps: &[Step]) -> Result<Vec<(u64, String)>> {
    let index = IndexSpec::LabelProperties {
        label: "P".into(),
        properties: vec!["n".into()],
    };
    let unique = ConstraintSpec::Unique {
        label: "Q".into(),
        properties: vec!["k".into()],
    };
    let mut live: Vec<VertexId> = Vec::new();
    let mut states: Vec<(u64, String)> = Vec::new();
    // After a schema change: the state at the last commit changed.
    let changed = |states: &mut Vec<(u64, String)>| -> Result<()> {
        if let Some(last) = states.last_mut() {
            last.1 = state(db)?;
        }
        Ok(())
    };
    let mut next_key = 0i64;
    for s in steps {
        let mut t = db.begin(TxnOptions::new())?;
        match s {
            Step::Create(n) => {
                for _ in 0..*n {
                    next_key += 1;
                    live.push(t.create_vertex_with(&["P", "Q"], &[("k", next_key.into())])?);
                }
            }
            Step::Set(v, n) => {
                if let Some(v) = pick(&live, *v) {
                    t.set_vertex_property(v, "n", (*n).into())?;
                }
            }
            Step::Link(a, b) => {
                if let (Some(a), Some(b)) = (pick(&live, *a), pick(&live, *b)) {
                    t.create_edge_with(a, b, "L", &[("w", 1.5.into())])?;
                }
            }
            Step::Delete(v) => {
                if let Some(v) = pick(&live, *v) {
                    t.delete_vertex(v, DeleteMode::Detach)?;
                    live.retain(|x| *x != v);
                }
            }
            Step::RolledBack(n) => {
                for _ in 0..*n {
                    t.create_vertex_with(&["Gone"], &[])?;
                }
                t.rollback();
                continue;
            }
            Step::Index(on) => {
                drop(t);
                let r = if *on {
                    db.create_index(&index)
                } else {
                    db.drop_index(&index)
                };
                r.or_else(|e| match e.kind() {
                    ErrorKind::AlreadyExists | ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                })?;
                changed(&mut states)?;
                continue;
            }
            Step::Unique(on) => {
                drop(t);
                let r = if *on {
                    db.create_constraint(&unique)
                } else {
                    db.drop_constraint(&unique)
                };
                r.or_else(|e| match e.kind() {
                    ErrorKind::AlreadyExists | ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                })?;
                changed(&mut states)?;
                continue;
            }
            Step::Snapshot => {
                drop(t);
                db.create_snapshot()?;
                continue;
            }
        }
        let ts = t.commit()?.commit_timestamp;
        match states.last_mut() {
            // A commit that wrote nothing takes no timestamp.
            Some(last) if last.0 == ts => last.1 = state(db)?,
            _ => states.push((ts, state(db)?)),
        }
    }
    Ok(states)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Restoring to each commit of a random history (schema changes, deletes, id
    /// reservations, snapshots in between) gives the state the database showed
    /// after that commit, up to the next; a point before the oldest state the directory
    /// holds, or after its newest commit, is `InvalidInput`.
    #[test]
    fn restoring_to_each_commit_gives_the_state_after_it(
        steps in proptest::collection::vec(step(), 1..24)
    ) {
        let root = tempfile::tempdir()?;
        let data = root.path().join("data");
        let db = logged(&data)?;
        // A first commit that writes, so the directory holds a database.
        let mut all = vec![Step::Create(2)];
        all.extend(steps);
        let states = run(&db, &all)?;
        db.close()?;
        let before = files(&data);
        let listing = durability::dir::list_files(&data)?;
        // Retention keeps the WAL from the oldest snapshot on: with a snapshot, the
        // points before it are gone.
        let oldest = listing.snapshots.first().map_or(0, |s| s.commit_ts);
        let wal_from_start = listing.segments.first().is_some_and(|s| {
            durability::wal::read_segment_header(&s.path).is_ok_and(|h| h.first_ts <= 1)
        });
        for (i, (ts, expected)) in states.iter().enumerate() {
            let target = root.path().join(format!("at-{ts}"));
            let restored = restore_to(&data, &target, RecoveryPoint::Commit(*ts));
            if *ts < oldest && !wal_from_start {
                let e = restored.expect_err("a point before the oldest state");
                prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
                prop_assert!(!target.join("snapshots").exists());
                continue;
            }
            let restored = restored?;
            prop_assert_eq!(restored.last_commit.map(|c| c.commit_ts), Some(*ts));
            prop_assert!(restored.last_commit.and_then(|c| c.time).is_some());
            prop_assert_eq!(&opened_state(&target)?, expected, "commit {} (#{})", ts, i);
        }
        if let Some((last, _)) = states.last() {
            let target = root.path().join("beyond");
            let e = restore_to(&data, &target, RecoveryPoint::Commit(last + 1))
                .expect_err("a point after the newest commit");
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
            prop_assert!(e.message().contains(&format!("commit {last}")), "{}", e);
        }
        prop_assert!(files(&data) == before, "the source was changed");
    }
}

/// To a time: the state after the last commit logged at or before it. A time after
/// the newest commit is refused naming it; a restored database continues with a new
/// database id and commits of its own.
#[test]
fn restoring_to_a_time_gives_the_state_then() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = logged(&data)?;
    let mut points = Vec::new();
    for i in 0..4i64 {
        let mut t = db.begin(TxnOptions::new())?;
        t.create_vertex_with(&["T"], &[("i", i.into())])?;
        t.commit()?;
        std::thread::sleep(Duration::from_millis(20));
        points.push((SystemTime::now(), state(&db)?));
        std::thread::sleep(Duration::from_millis(20));
    }
    let id = db.database_id();
    db.close()?;
    for (i, (time, expected)) in points.iter().enumerate().take(3) {
        let target = root.path().join(format!("t{i}"));
        let restored = restore_to(&data, &target, RecoveryPoint::Time(*time))?;
        assert_eq!(
            restored.last_commit.map(|c| c.commit_ts),
            Some(i as u64 + 1)
        );
        assert!(
            restored
                .last_commit
                .and_then(|c| c.time)
                .is_some_and(|t| t <= *time)
        );
        assert_eq!(&opened_state(&target)?, expected, "time #{i}");
        let reopened = Database::open(Config::new().data_directory(&target))?;
        assert_ne!(reopened.database_id(), id, "a new history has a new id");
        let mut t = reopened.begin(TxnOptions::new())?;
        t.create_vertex_with(&["After"], &[])?;
        assert_eq!(t.commit()?.commit_timestamp, i as u64 + 2);
        reopened.close()?;
    }
    // After the newest commit: refused, naming it.
    let late = SystemTime::now() + Duration::from_secs(3600);
    let e = restore_to(&data, &root.path().join("late"), RecoveryPoint::Time(late))
        .expect_err("after the newest commit");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("commit 4"), "{e}");
    // Before the first commit there is the empty database.
    let early = root.path().join("early");
    let e = restore_to(
        &data,
        &early,
        RecoveryPoint::Time(SystemTime::now() - Duration::from_secs(3600)),
    );
    let restored = e?;
    assert_eq!(restored.last_commit.map(|c| c.commit_ts), Some(0));
    Ok(())
}

/// A failed restore to a point leaves a forced target as it was; a target in use
/// is refused before any work.
#[test]
fn a_point_out_of_range_leaves_the_target_alone() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = logged(&data)?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["A"], &[])?;
    t.commit()?;
    db.close()?;
    let target = root.path().join("target");
    common::filled_directory(&target)?;
    let before = files(&target);
    let options = RestoreOptions::new()
        .force(true)
        .until(Some(RecoveryPoint::Commit(99)));
    let e = quiver::restore(&data, &target, &options, &|_, _| {}).expect_err("out of range");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(files(&target) == before, "the target was changed");
    let e = restore_to(&data, &target, RecoveryPoint::Commit(1)).expect_err("in use");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("not empty"), "{e}");
    Ok(())
}

/// The modes without a WAL of Quiver's refuse a point with `Unsupported` saying why,
/// before writing anything.
#[test]
fn modes_without_a_log_of_ours_refuse_a_point() -> Result<()> {
    let root = tempfile::tempdir()?;
    for (mode, why) in [
        (StorageMode::InMemoryAnalytical, "no WAL"),
        (StorageMode::OnDiskTransactional, "RocksDB"),
    ] {
        let data = root.path().join(format!("{mode:?}"));
        let db = Database::open(Config::new().data_directory(&data).mode(mode))?;
        let mut t = db.begin(TxnOptions::new())?;
        t.create_vertex_with(&["A"], &[])?;
        t.commit()?;
        let backup = root.path().join(format!("{mode:?}-backup"));
        quiver::backup(&db, &backup, &|_, _| {})?;
        db.close()?;
        let target = root.path().join(format!("{mode:?}-target"));
        // Commit 2 is past what either holds (an analytical backup restores to the
        // commit it was taken at, 1: that is no point between states).
        let e = restore_to(&backup, &target, RecoveryPoint::Commit(2)).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{mode:?}: {e}");
        assert!(e.message().contains(why), "{mode:?}: {e}");
        assert!(!target.exists(), "{mode:?}: the target was made");
        // The engines refuse the setting too.
        let config = Config::new().data_directory(&data).durability_for(
            mode,
            quiver::default_durability(mode)
                .snapshot_on_exit(false)
                .recover_until(Some(RecoveryPoint::Commit(1))),
        );
        let e = Database::open(config).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{mode:?}: {e}");
    }
    Ok(())
}

/// A backup whose snapshot holds its newest commit but whose WAL reaches back to
/// the first: every earlier point restores, commit 0 (the empty database) too.
#[test]
fn a_backup_whose_wal_reaches_back_restores_every_earlier_point() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = logged(&data)?;
    let mut states = vec![state(&db)?];
    let mut images = vec![common::image(&db)?];
    for i in 0..3i64 {
        let mut t = db.begin(TxnOptions::new())?;
        t.create_vertex_with(&["A"], &[("i", i.into())])?;
        t.commit()?;
        states.push(state(&db)?);
        images.push(common::image(&db)?);
    }
    let backup = root.path().join("backup");
    quiver::backup(&db, &backup, &|_, _| {})?;
    db.close()?;
    for (ts, expected) in states.iter().enumerate() {
        let target = root.path().join(format!("at-{ts}"));
        restore_to(&backup, &target, RecoveryPoint::Commit(ts as u64))?;
        assert_eq!(&opened_state(&target)?, expected, "commit {ts}");
    }
    // Into another mode: the state at the point, through its image.
    for mode in [
        StorageMode::InMemoryAnalytical,
        StorageMode::OnDiskTransactional,
    ] {
        let target = root.path().join(format!("{mode:?}"));
        let options = RestoreOptions::new()
            .mode(mode)
            .until(Some(RecoveryPoint::Commit(2)));
        let restored = quiver::restore(&backup, &target, &options, &|_, _| {})?;
        assert_eq!(restored.mode, mode);
        let db = Database::open(Config::new().data_directory(&target))?;
        assert_eq!(common::image(&db)?, images[2], "{mode:?}");
        db.close()?;
    }
    Ok(())
}
