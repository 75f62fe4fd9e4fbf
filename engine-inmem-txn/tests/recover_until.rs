//! `DurabilityConfig::recover_until`: opening a data directory at an earlier point of
//! its history, without writing into it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use engine_api::{
    DeleteMode, DurabilityConfig, ErrorKind, IndexSpec, RecoveryPoint, Result, StorageEngine,
    Transaction, TxnOptions, VertexId,
};
use engine_inmem_txn::{Config, InMemoryEngine};

fn state(db: &InMemoryEngine) -> Result<String> {
    let t = db.begin(TxnOptions::new().read_only())?;
    let mut ids: Vec<VertexId> = t.vertices()?.collect::<Result<_>>()?;
    ids.sort();
    let mut out = String::new();
    for v in ids {
        out += &format!("{} {:?}\n", v.0, t.vertex_properties(v)?);
    }
    let mut indexes: Vec<String> = db.indexes()?.iter().map(|i| i.spec.to_string()).collect();
    indexes.sort();
    Ok(out + &format!("{indexes:?}"))
}

fn reading(point: RecoveryPoint) -> DurabilityConfig {
    DurabilityConfig::default()
        .wal(false)
        .snapshot_interval(None)
        .snapshot_on_exit(false)
        .recover_until(Some(point))
}

fn at(dir: &Path, point: RecoveryPoint) -> Result<InMemoryEngine> {
    InMemoryEngine::open(Config::new().data_directory(dir).durability(reading(point)))
}

/// Each commit of a history with deletes, schema changes between commits and a
/// snapshot in the middle opens as the state right after it (up to the next
/// commit); a time opens the state then; the directory is not written; points out
/// of range and writing settings are refused.
#[test]
fn each_point_of_the_history_opens_as_it_was() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("data");
    let logged = DurabilityConfig::default()
        .snapshot_interval(None)
        .snapshot_on_exit(false)
        .snapshot_retention(10)
        .wal_segment_bytes(4096);
    let db = InMemoryEngine::open(Config::new().data_directory(&dir).durability(logged))?;
    let index = IndexSpec::LabelProperties {
        label: "P".into(),
        properties: vec!["n".into()],
    };
    let mut states = vec![(0u64, state(&db)?, SystemTime::now())];
    let mut live = Vec::new();
    for i in 0..30i64 {
        let mut t = db.begin(TxnOptions::new())?;
        if i % 5 == 4 {
            t.delete_vertex(live.remove(0), DeleteMode::Detach)?;
        } else {
            live.push(t.create_vertex_with(&["P"], &[("n", i.into())])?);
        }
        let ts = t.commit()?.commit_timestamp;
        match i {
            7 => db.create_index(&index)?,
            19 => db.drop_index(&index)?,
            12 => {
                db.create_snapshot()?;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(2));
        states.push((ts, state(&db)?, SystemTime::now()));
        std::thread::sleep(Duration::from_millis(2));
    }
    db.close()?;
    let files = |d: &Path| -> Vec<(std::path::PathBuf, u64)> {
        let mut v: Vec<_> = walk(d)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n != ".lock"))
            .map(|p| {
                let len = std::fs::metadata(&p).map_or(0, |m| m.len());
                (p, len)
            })
            .collect();
        v.sort();
        v
    };
    let before = files(&dir);
    for (ts, expected, time) in &states {
        let e = at(&dir, RecoveryPoint::Commit(*ts))?;
        assert_eq!(&state(&e)?, expected, "commit {ts}");
        let last = e.recovery_report()?.last_commit.map(|c| c.commit_ts);
        assert_eq!(last.unwrap_or(0), *ts);
        // It writes nothing where later commits are.
        let refused = e
            .create_snapshot()
            .expect_err("a snapshot among later ones");
        assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
        e.close()?;
        // The time after the newest commit is past what the log can vouch for.
        if *ts < states.last().map_or(0, |s| s.0) {
            let e = at(&dir, RecoveryPoint::Time(*time))?;
            assert_eq!(&state(&e)?, expected, "the time after commit {ts}");
            e.close()?;
        }
    }
    assert_eq!(files(&dir), before, "the directory was written");
    let last = states.last().map_or(0, |s| s.0);
    let e = at(&dir, RecoveryPoint::Commit(last + 1)).expect_err("after the newest");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let late = SystemTime::now() + Duration::from_secs(60);
    let e = at(&dir, RecoveryPoint::Time(late)).expect_err("after the newest");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let writing = Config::new()
        .data_directory(&dir)
        .durability(reading(RecoveryPoint::Commit(3)).wal(true));
    let e = InMemoryEngine::open(writing).expect_err("a WAL after a point");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    Ok(())
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
