//! Durability, where the capabilities declare it: reopen, crash, snapshots,
//! retention under the data-directory lock, snapshot-only restore, damaged files.
//! A backend that is not persistent is checked to start empty on reopen instead.

use std::ops::Bound;
use std::path::Path;

use engine_api::{
    DeleteMode, ErrorKind, IndexSpec, LockChange, LockStatus, PropertyBounds, PropertyValue,
    Result, StorageEngine, Transaction, TriggerPhase, VertexId,
};

use crate::EngineFactory;
use crate::schema_support::{
    constraints_offered, edge_ids, exists, expect_violation, ids, indexes_offered, label_prop,
    people, reopen, scan, trigger, triggers_offered, unique,
};
use crate::support::{TestDb, expect_kind, fresh, observe, rw};
use crate::values::samples;

/// A graph using every value type, labels, parallel edges, and some deletions.
fn build<E: StorageEngine>(db: &E) -> Result<Vec<VertexId>> {
    let mut t = rw(db)?;
    let mut vs = Vec::new();
    for (i, value) in samples().into_iter().enumerate() {
        let v = t.create_vertex_with(
            &["Item", if i % 2 == 0 { "Even" } else { "Odd" }],
            &[("value", value)],
        )?;
        vs.push(v);
    }
    for w in vs.windows(2) {
        let e = t.create_edge(w[0], w[1], "NEXT")?;
        t.set_edge_property(e, "w", PropertyValue::Float(0.5))?;
    }
    t.create_edge(vs[0], vs[0], "SELF")?;
    t.commit()?;
    let mut t = rw(db)?;
    t.delete_vertex(vs[3], DeleteMode::Detach)?;
    t.remove_label(vs[4], "Item")?;
    t.set_vertex_property(vs[5], "value", PropertyValue::Null)?;
    t.commit()?;
    Ok(vs)
}

fn state<E: StorageEngine>(db: &E) -> Result<String> {
    observe(&rw(db)?)
}

fn max_vertex<E: StorageEngine>(db: &E) -> Result<Option<VertexId>> {
    let t = rw(db)?;
    let mut max = None;
    for v in t.vertices()? {
        max = max.max(Some(v?));
    }
    Ok(max)
}

/// Closing and reopening keeps every committed change exactly; a backend that is
/// not persistent starts empty instead.
pub fn reopen_after_close_keeps_everything<F: EngineFactory>(f: &F) -> Result<()> {
    let mut db = fresh(f)?;
    build(&*db)?;
    let before = state(&*db)?;
    db.close_and_reopen(f)?;
    let after = state(&*db)?;
    if db.capabilities().persistent {
        assert_eq!(after, before);
    } else {
        assert_eq!(after, "", "a non-persistent backend must start empty");
    }
    Ok(())
}

/// After a crash (drop without close), every committed transaction is there and no
/// uncommitted one; a backend without a WAL returns to its newest snapshot.
pub fn crash_keeps_every_committed_transaction<F: EngineFactory>(f: &F) -> Result<()> {
    let mut db = fresh(f)?;
    let caps = db.capabilities().clone();
    if !caps.wal && caps.persistent && caps.manual_snapshots {
        // Without a log a crash returns to the newest snapshot: everything in it
        // is there, nothing written after it.
        build(&*db)?;
        db.create_snapshot()?;
        let at_snapshot = state(&*db)?;
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["AfterTheSnapshot"], &[])?;
        t.commit()?;
        db.crash_and_reopen(f)?;
        assert_eq!(state(&*db)?, at_snapshot);
        return Ok(());
    }
    if !caps.wal {
        return reopen_after_close_keeps_everything(f);
    }
    build(&*db)?;
    for i in 0..20 {
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Commit"], &[("i", i.into())])?;
        t.commit()?;
    }
    {
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Uncommitted"], &[])?;
        // Dropped without commit.
    }
    let before = state(&*db)?;
    db.crash_and_reopen(f)?;
    assert_eq!(state(&*db)?, before);
    assert_eq!(rw(&*db)?.vertices_with_label("Uncommitted")?.count(), 0);
    Ok(())
}

/// After a crash, the recovery report gives the wall-clock times of the oldest and
/// newest commit in the engine's own write-ahead log, within the window the commits
/// ran in. A backend without a log of its own (none, or its storage library's)
/// reports none.
pub fn the_recovery_report_gives_the_logs_commit_times<F: EngineFactory>(f: &F) -> Result<()> {
    let mut db = fresh(f)?;
    let caps = db.capabilities().clone();
    if !caps.persistent {
        return Ok(());
    }
    let before = std::time::SystemTime::now();
    for i in 0..5 {
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Commit"], &[("i", i.into())])?;
        t.commit()?;
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let after = std::time::SystemTime::now();
    db.crash_and_reopen(f)?;
    let report = db.recovery_report()?;
    if !caps.wal || caps.data_on_disk {
        assert_eq!(report.commit_times, None, "{report:?}");
        return Ok(());
    }
    let Some(times) = report.commit_times else {
        panic!("no commit times after five logged commits: {report:?}");
    };
    // Stored to the microsecond, so the first may read up to 1 µs before `before`.
    let slack = std::time::Duration::from_micros(1);
    assert!(times.first + slack >= before, "{times:?} before {before:?}");
    assert!(times.last <= after, "{times:?} after {after:?}");
    // Five commits 2 ms apart: the range is not one instant.
    assert!(
        times.last.duration_since(times.first).unwrap_or_default()
            >= std::time::Duration::from_millis(6),
        "{times:?}"
    );
    Ok(())
}

/// Ids keep growing after a reopen and after a crash: none is handed out twice, not
/// even one that only a transaction that never committed had.
pub fn ids_are_not_reused_after_reopen<F: EngineFactory>(f: &F) -> Result<()> {
    let mut db = fresh(f)?;
    if !db.capabilities().persistent {
        return check_fresh_ids(&*db);
    }
    build(&*db)?;
    let mut t = rw(&*db)?;
    let last = t.create_vertex()?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.delete_vertex(last, DeleteMode::Plain)?;
    t.commit()?;
    let mut last = last;
    for crash in [false, true] {
        // An id handed to a transaction that never commits is not reused either.
        let mut t = rw(&*db)?;
        let uncommitted = t.create_vertex()?;
        let uncommitted_edge = t.create_edge(uncommitted, uncommitted, "T")?;
        drop(t);
        if crash {
            db.crash_and_reopen(f)?;
        } else {
            db.close_and_reopen(f)?;
        }
        let mut t = rw(&*db)?;
        let v = t.create_vertex()?;
        let e = t.create_edge(v, v, "T")?;
        t.commit()?;
        // Without a log, a crash forgets everything after the newest snapshot, ids
        // handed out since included; nothing that survived refers to them.
        let forgets = crash && !db.capabilities().wal;
        assert!(
            forgets || v > last,
            "vertex id {v} handed out again (highest before: {last})"
        );
        assert!(
            forgets || (v > uncommitted && e > uncommitted_edge),
            "ids of a transaction that never committed were handed out again after {}",
            if crash { "a crash" } else { "a reopen" }
        );
        assert!(Some(v) >= max_vertex(&*db)?);
        last = v;
    }
    Ok(())
}

fn check_fresh_ids<E: StorageEngine>(db: &E) -> Result<()> {
    let mut t = rw(db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    assert_ne!(a, b);
    Ok(())
}

/// `create_snapshot` writes a snapshot that `snapshots` lists with its timestamp and
/// size.
pub fn snapshots_are_created_and_listed<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !db.capabilities().manual_snapshots {
        expect_kind(
            db.create_snapshot(),
            ErrorKind::Unsupported,
            "create_snapshot",
        );
        return Ok(());
    }
    build(&*db)?;
    let info = db.create_snapshot()?;
    assert!(info.size_bytes > 0);
    let listed = db.snapshots()?;
    let found = listed
        .iter()
        .find(|s| s.path == info.path)
        .expect("the new snapshot is listed");
    assert_eq!(found.commit_timestamp, info.commit_timestamp);
    assert_eq!(found.size_bytes, info.size_bytes);
    let mut t = rw(&*db)?;
    t.create_vertex()?;
    let ts = t.commit()?.commit_timestamp;
    let second = db.create_snapshot()?;
    assert!(second.commit_timestamp >= ts);
    Ok(())
}

/// A snapshot plus the WAL after it recover everything after a crash.
pub fn snapshot_and_later_commits_survive_a_crash<F: EngineFactory>(f: &F) -> Result<()> {
    let mut db = fresh(f)?;
    if !db.capabilities().manual_snapshots || !db.capabilities().wal {
        return crash_keeps_every_committed_transaction(f);
    }
    build(&*db)?;
    db.create_snapshot()?;
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["After"], &[("x", 1.into())])?;
    t.commit()?;
    let before = state(&*db)?;
    db.crash_and_reopen(f)?;
    assert_eq!(state(&*db)?, before);
    Ok(())
}

fn file_count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// Writes a snapshot and returns the directory it went to.
fn snapshot_dir<E: StorageEngine>(db: &E) -> Result<std::path::PathBuf> {
    Ok(db
        .create_snapshot()?
        .path
        .parent()
        .map(Path::to_path_buf)
        .expect("a snapshot lives in a directory"))
}

/// While the data directory is locked nothing is deleted though retention wants it;
/// unlocking deletes the surplus and keeps the newest snapshot.
pub fn lock_defers_deletions_until_unlock<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !db.capabilities().data_directory_lock || !db.capabilities().manual_snapshots {
        return Ok(());
    }
    build(&*db)?;
    let snapshots_dir = snapshot_dir(&*db)?;
    assert_eq!(db.data_directory_lock_status()?, LockStatus::Unlocked);
    assert_eq!(db.lock_data_directory()?, LockChange::Changed);
    assert_eq!(db.lock_data_directory()?, LockChange::Unchanged);
    assert_eq!(db.data_directory_lock_status()?, LockStatus::Locked);
    let before = file_count(&snapshots_dir);
    let mut newest = None;
    for i in 0..6 {
        let mut t = rw(&*db)?;
        t.create_vertex_with(&[], &[("i", i.into())])?;
        t.commit()?;
        newest = Some(db.create_snapshot()?);
    }
    assert_eq!(
        file_count(&snapshots_dir),
        before + 6,
        "no snapshot may be deleted while the directory is locked"
    );
    assert_eq!(db.unlock_data_directory()?, LockChange::Changed);
    assert_eq!(db.unlock_data_directory()?, LockChange::Unchanged);
    assert_eq!(db.data_directory_lock_status()?, LockStatus::Unlocked);
    let after = file_count(&snapshots_dir);
    assert!(
        after < before + 6,
        "unlock must carry out the deferred deletions"
    );
    let newest = newest.expect("made six");
    assert!(newest.path.exists(), "the newest snapshot must be kept");
    let listed = db.snapshots()?;
    assert_eq!(listed.last().map(|s| &s.path), Some(&newest.path));
    Ok(())
}

/// A lease locks the directory like the plain lock, and the two overlap: deletions
/// wait until both are released, whichever goes first.
pub fn leases_and_the_lock_overlap<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let caps = db.capabilities().clone();
    if !caps.data_directory_lock || !caps.manual_snapshots {
        if !caps.data_directory_lock {
            expect_kind(
                db.data_directory_lease().map(|_| ()),
                ErrorKind::Unsupported,
                "a lease without a data-directory lock",
            );
        }
        return Ok(());
    }
    build(&*db)?;
    let snapshots_dir = snapshot_dir(&*db)?;
    let before = file_count(&snapshots_dir);
    let lease = db.data_directory_lease()?;
    assert_eq!(db.data_directory_lock_status()?, LockStatus::Locked);
    assert_eq!(db.lock_data_directory()?, LockChange::Changed);
    for i in 0..5 {
        let mut t = rw(&*db)?;
        t.create_vertex_with(&[], &[("i", i.into())])?;
        t.commit()?;
        db.create_snapshot()?;
    }
    assert_eq!(file_count(&snapshots_dir), before + 5);
    db.unlock_data_directory()?;
    assert_eq!(
        db.data_directory_lock_status()?,
        LockStatus::Locked,
        "the lease still holds the directory"
    );
    assert_eq!(
        file_count(&snapshots_dir),
        before + 5,
        "nothing is deleted while a lease holds the directory"
    );
    drop(lease);
    assert_eq!(db.data_directory_lock_status()?, LockStatus::Unlocked);
    assert!(
        file_count(&snapshots_dir) < before + 5,
        "the end of the last lease carries out the deferred deletions"
    );
    Ok(())
}

/// Deletions deferred by the lock live in memory: closing while locked leaves the
/// files (nothing is deleted behind a backup's back), and the first snapshot after
/// the reopen applies retention to all of them.
pub fn closing_while_locked_keeps_the_deferred_files_until_the_next_snapshot<F: EngineFactory>(
    f: &F,
) -> Result<()> {
    let mut db = fresh(f)?;
    let caps = db.capabilities().clone();
    if !(caps.data_directory_lock && caps.manual_snapshots && caps.persistent) {
        return Ok(());
    }
    build(&*db)?;
    let snapshots_dir = snapshot_dir(&*db)?;
    db.lock_data_directory()?;
    for _ in 0..5 {
        db.create_snapshot()?;
    }
    let locked_count = file_count(&snapshots_dir);
    db.close_and_reopen(f)?;
    assert_eq!(db.data_directory_lock_status()?, LockStatus::Unlocked);
    assert!(
        file_count(&snapshots_dir) >= locked_count,
        "files whose deletion was deferred are still there after the close"
    );
    db.create_snapshot()?;
    let kept = db.snapshots()?.len();
    assert!(
        kept < locked_count,
        "the next snapshot's retention deletes the surplus ({kept} snapshots kept of {locked_count})"
    );
    Ok(())
}

/// Copying only the newest snapshot into an empty data directory restores the
/// state as of that snapshot, and the restored database's clock goes on after the
/// snapshot's commit timestamp: its commits and snapshots never read as older than
/// the state they start from.
pub fn snapshot_only_restore<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !db.capabilities().manual_snapshots {
        return Ok(());
    }
    build(&*db)?;
    // Many small commits move the source's clock well past what a new database's
    // own bookkeeping would reach.
    for i in 0..100i64 {
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Tick"], &[("i", i.into())])?;
        t.commit()?;
    }
    let info = db.create_snapshot()?;
    let expected = state(&*db)?;
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["NotInTheSnapshot"], &[])?;
    t.commit()?;
    let target = tempfile::tempdir()?;
    let name = info.path.file_name().expect("snapshot file name");
    std::fs::create_dir_all(target.path().join("snapshots"))?;
    std::fs::create_dir_all(target.path().join("wal"))?;
    std::fs::copy(&info.path, target.path().join("snapshots").join(name))?;
    let restored = f.open(target.path())?;
    assert_eq!(state(&restored)?, expected);
    let mut t = rw(&restored)?;
    t.create_vertex_with(&["AfterTheRestore"], &[])?;
    let committed = t.commit()?.commit_timestamp;
    assert!(
        committed > info.commit_timestamp,
        "a commit after the restore has timestamp {committed}, not after the snapshot's {}",
        info.commit_timestamp
    );
    let again = restored.create_snapshot()?;
    assert!(
        again.commit_timestamp >= committed,
        "the snapshot after the restore says {}, before its commit {committed}",
        again.commit_timestamp
    );
    drop(restored);
    let reopened = f.open(target.path())?;
    let mut t = rw(&reopened)?;
    t.create_vertex_with(&["AfterTheReopen"], &[])?;
    let later = t.commit()?.commit_timestamp;
    assert!(
        later > committed,
        "a commit after the reopen has timestamp {later}, not after {committed}"
    );
    Ok(())
}

/// A snapshot of a graph wider than one of the snapshot writer's encoding ranges
/// (and with holes in both id sequences), restored alone into an empty directory,
/// holds exactly that graph: snapshot writers and loaders that split the work by id
/// range (on several threads) lose or repeat nothing at range boundaries.
pub fn a_snapshot_wider_than_one_encoding_range_restores_whole<F: EngineFactory>(
    f: &F,
) -> Result<()> {
    let db = fresh(f)?;
    if !db.capabilities().manual_snapshots {
        return Ok(());
    }
    crate::images::wide_graph(&*db)?;
    let info = db.create_snapshot()?;
    let expected = state(&*db)?;
    let target = snapshot_alone(&info)?;
    let restored = f.open(target.path())?;
    assert!(state(&restored)? == expected, "the restored graph differs");
    Ok(())
}

/// Regression: a snapshot whose magic was damaged, copied into an empty directory's
/// `snapshots/` (the restore step), opened as an empty database. The file carries a
/// snapshot's name, so it is ours and damaged: Corrupt, naming the file first. The
/// same for damage in the middle of the file.
pub fn a_restored_snapshot_with_a_damaged_magic_is_corrupt<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !db.capabilities().manual_snapshots {
        return Ok(());
    }
    build(&*db)?;
    let info = db.create_snapshot()?;
    let original = std::fs::read(&info.path)?;
    for at in [2, original.len() / 2] {
        let target = tempfile::tempdir()?;
        let name = info.path.file_name().expect("snapshot file name");
        std::fs::create_dir_all(target.path().join("snapshots"))?;
        let copy = target.path().join("snapshots").join(name);
        let mut bytes = original.clone();
        bytes[at] ^= 0x04;
        std::fs::write(&copy, &bytes)?;
        match f.open(target.path()) {
            Ok(e) => panic!(
                "a snapshot damaged at byte {at} was restored as:\n{}",
                state(&e)?
            ),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Corrupt, "byte {at}: {e}");
                assert!(
                    e.message().starts_with(&copy.display().to_string()),
                    "the error names the damaged file first: {e}"
                );
            }
        }
        assert_eq!(
            std::fs::read(&copy)?,
            bytes,
            "the damaged file is left as it was"
        );
    }
    Ok(())
}

/// A new directory holding only the snapshot `info` (a snapshot-only restore).
fn snapshot_alone(info: &engine_api::SnapshotInfo) -> Result<tempfile::TempDir> {
    let target = tempfile::tempdir()?;
    let name = info.path.file_name().ok_or_else(|| {
        engine_api::Error::corrupt(format!("snapshot {} has no file name", info.path.display()))
    })?;
    std::fs::create_dir_all(target.path().join("snapshots"))?;
    std::fs::copy(&info.path, target.path().join("snapshots").join(name))?;
    Ok(target)
}

/// When the newest snapshot is damaged and an older one plus the WAL hold every
/// commit, open succeeds with the same graph, and `recovery_report` names the file it
/// passed over (a caller learns it, not only the logs). Without a WAL nothing holds
/// the commits between the two: open fails with `Corrupt` naming the damaged file,
/// and once the caller moves that file aside, opens the older snapshot's state. A
/// backend whose data is on disk does not read its snapshots at open: its graph is
/// the same and it reports nothing skipped.
pub fn a_damaged_newest_snapshot_is_reported_after_the_fallback<F: EngineFactory>(
    f: &F,
) -> Result<()> {
    let mut db = fresh(f)?;
    let caps = db.capabilities().clone();
    if !(caps.persistent && caps.manual_snapshots) {
        return Ok(());
    }
    build(&*db)?;
    let older = db.create_snapshot()?;
    let at_older = state(&*db)?;
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["BetweenSnapshots"], &[])?;
    t.commit()?;
    let newest = db.create_snapshot()?;
    let at_newest = state(&*db)?;
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["AfterSnapshots"], &[])?;
    t.commit()?;
    // Without a log, a crash returns to the newest snapshot that verifies.
    let logged = caps.wal || caps.data_on_disk;
    let expected = if logged { state(&*db)? } else { at_newest };
    // A crash, not a close: a snapshot on exit would become the newest.
    db.crash_and_reopen(f)?;
    let report = db.recovery_report()?;
    assert!(!report.used_a_fallback(), "{report:?}");
    assert_eq!(state(&*db)?, expected);
    db.crash();
    let mut bytes = std::fs::read(&newest.path)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&newest.path, &bytes)?;
    if !logged {
        match f.open(db.path()) {
            Ok(_) => panic!("opened without the commits of the damaged newest snapshot"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
                assert!(
                    e.message().starts_with(&newest.path.display().to_string()),
                    "{e}"
                );
                assert!(e.message().contains("cannot be recovered"), "{e}");
            }
        }
        // Moving the damaged file aside accepts the older state.
        let aside = tempfile::tempdir()?;
        std::fs::rename(&newest.path, aside.path().join("damaged.snapshot"))?;
        let reopened = f.open(db.path())?;
        assert_eq!(state(&reopened)?, at_older);
        let report = reopened.recovery_report()?;
        assert_eq!(
            report.snapshot.as_deref(),
            Some(older.path.as_path()),
            "{report:?}"
        );
        assert!(!report.used_a_fallback(), "{report:?}");
        return listing_names_a_damaged_header(&reopened, &newest.path, bytes);
    }
    let reopened = f.open(db.path())?;
    assert_eq!(state(&reopened)?, expected);
    let report = reopened.recovery_report()?;
    if !caps.data_on_disk {
        assert_eq!(
            report.snapshot.as_deref(),
            Some(older.path.as_path()),
            "{report:?}"
        );
        let skipped: Vec<_> = report.skipped_snapshots.iter().map(|d| &d.path).collect();
        assert_eq!(skipped, vec![&newest.path], "{report:?}");
        assert!(report.used_a_fallback());
        assert!(
            report.skipped_snapshots[0].reason.contains("checksum"),
            "{report:?}"
        );
    } else {
        assert!(!report.used_a_fallback(), "{report:?}");
    }
    listing_names_a_damaged_header(&reopened, &newest.path, bytes)
}

/// A snapshot whose header is damaged is not left out of the listing: the listing
/// fails, naming it.
fn listing_names_a_damaged_header<E: StorageEngine>(
    reopened: &E,
    path: &Path,
    mut bytes: Vec<u8>,
) -> Result<()> {
    bytes[1] ^= 0x10;
    std::fs::write(path, &bytes)?;
    match reopened.snapshots() {
        Ok(listed) => panic!("a snapshot with a damaged header was listed as {listed:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
            assert!(e.message().starts_with(&path.display().to_string()), "{e}");
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if entry.file_name() != ".lock" {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            files_under(&entry.path(), out)?;
        } else if entry.file_name() != ".lock" {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// A byte changed in the middle of any file of the data directory, or the file cut
/// in half: opening gives Corrupt or exactly the committed graph, never a panic and
/// never different data. The one exception `docs/durability.md` makes: damage at the
/// end of the newest WAL segment looks like a crash during a write, and recovery
/// keeps the commits before it (an earlier committed state, never a mixed one).
/// Files named as ours (`*.snapshot`, `*.wal`, `quiver.meta`) also get their magic
/// damaged, which is never a torn tail: a file with our name is never skipped as
/// foreign.
pub fn damaged_files_give_corrupt_or_the_same_graph<F: EngineFactory>(f: &F) -> Result<()> {
    let mut db = fresh(f)?;
    if !db.capabilities().persistent {
        return Ok(());
    }
    let mut history = vec![state(&*db)?];
    build(&*db)?;
    history.push(state(&*db)?);
    if db.capabilities().manual_snapshots {
        db.create_snapshot()?;
    }
    for i in 0..3 {
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Late"], &[("i", i.into())])?;
        t.commit()?;
        history.push(state(&*db)?);
    }
    let expected = state(&*db)?;
    db.crash();
    let mut files = Vec::new();
    files_under(db.path(), &mut files)?;
    assert!(!files.is_empty());
    let newest_log = files
        .iter()
        .filter(|p| p.parent().and_then(Path::file_name) == Some("wal".as_ref()))
        .max()
        .cloned();
    for file in files {
        let rel = file.strip_prefix(db.path()).expect("under the directory");
        let len = std::fs::metadata(&file)?.len() as usize;
        if len == 0 {
            continue;
        }
        let named_ours = ["snapshot", "wal", "meta"]
            .iter()
            .any(|ext| file.extension() == Some(ext.as_ref()));
        let damages: &[&str] = if named_ours {
            &["flip", "cut", "magic"]
        } else {
            &["flip", "cut"]
        };
        for &damage in damages {
            let copy = tempfile::tempdir()?;
            copy_dir(db.path(), copy.path())?;
            let target = copy.path().join(rel);
            let mut bytes = std::fs::read(&target)?;
            match damage {
                "flip" => bytes[len / 2] ^= 0x5a,
                "magic" => bytes[len.min(8) / 2] ^= 0x01,
                _ => bytes.truncate(len / 2),
            }
            std::fs::write(&target, &bytes)?;
            match f.open(copy.path()) {
                Ok(e) => {
                    let got = state(&e)?;
                    let torn_tail = Some(&file) == newest_log.as_ref() && damage != "magic";
                    assert!(
                        got == expected || (torn_tail && history.contains(&got)),
                        "{damage} of {} was accepted with different data:\n{got}",
                        rel.display()
                    );
                }
                Err(e) => assert_eq!(
                    e.kind(),
                    ErrorKind::Corrupt,
                    "{damage} of {}: {e}",
                    rel.display()
                ),
            }
        }
    }
    Ok(())
}

/// Garbage appended to the newest log file (a torn write) keeps every commit before
/// it.
pub fn garbage_after_the_log_keeps_the_last_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let mut db = fresh(f)?;
    if !db.capabilities().wal {
        return Ok(());
    }
    build(&*db)?;
    let expected = state(&*db)?;
    db.crash();
    let wal = db.path().join("wal");
    let mut segments: Vec<_> = std::fs::read_dir(&wal)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    segments.sort();
    let newest = segments.last().expect("a WAL segment exists");
    let mut bytes = std::fs::read(newest)?;
    bytes.extend_from_slice(&[0x17, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    std::fs::write(newest, &bytes)?;
    db.crash_and_reopen(f)?;
    assert_eq!(state(&*db)?, expected);
    // The engine writes on after the cut tail, and that survives too.
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["AfterRepair"], &[])?;
    t.commit()?;
    let expected = state(&*db)?;
    db.crash_and_reopen(f)?;
    assert_eq!(state(&*db)?, expected);
    Ok(())
}

/// A second engine on an open data directory is refused with Locked.
pub fn a_second_open_of_the_directory_is_locked<F: EngineFactory>(f: &F) -> Result<()> {
    let db: TestDb<F::Engine> = fresh(f)?;
    if !db.capabilities().persistent {
        return Ok(());
    }
    expect_kind(
        f.open(db.path()).map(|_| ()),
        ErrorKind::Locked,
        "second open",
    );
    Ok(())
}

/// A snapshot holds the schema: a data directory holding only that snapshot opens
/// with the same indexes, constraints and triggers (each where the backend offers
/// it), the indexes used by lookups.
pub fn a_snapshot_holds_the_schema<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let caps = db.capabilities().clone();
    if !caps.manual_snapshots {
        return Ok(());
    }
    people(&*db)?;
    let idx = label_prop("Person", &["age"]);
    if caps.indexes {
        db.create_index(&idx)?;
        db.create_index(&IndexSpec::EdgeType("KNOWS".into()))?;
    }
    if caps.constraints {
        db.create_constraint(&unique("Person", &["name"]))?;
    }
    if caps.triggers {
        db.create_trigger(&trigger("audit", TriggerPhase::AfterCommit))?;
    }
    let info = db.create_snapshot()?;
    let target = snapshot_alone(&info)?;
    let restored = f.open(target.path())?;
    if caps.constraints {
        assert_eq!(restored.constraints()?, db.constraints()?);
    }
    if caps.triggers {
        assert_eq!(restored.triggers()?, db.triggers()?);
    }
    if caps.indexes {
        assert_eq!(restored.indexes()?, db.indexes()?);
        let r = rw(&restored)?;
        assert_eq!(r.vertex_lookup_index("Person", &["age"])?, Some(idx));
    }
    Ok(())
}

/// Indexes, constraints and triggers survive a clean reopen and a crash (where the
/// backend is persistent): listed the same, indexes used and correct, constraints
/// enforced; a backend that is not persistent starts without them.
pub fn schema_survives_reopen_and_crash<F: EngineFactory>(f: &F) -> Result<()> {
    for crash in [false, true] {
        let mut db = fresh(f)?;
        let caps = db.capabilities().clone();
        if !(caps.indexes && caps.constraints && caps.triggers) {
            indexes_offered(&*db);
            constraints_offered(&*db);
            triggers_offered(&*db);
            return Ok(());
        }
        people(&*db)?;
        let idx = label_prop("Person", &["age"]);
        let edge_idx = IndexSpec::EdgeType("KNOWS".into());
        db.create_index(&idx)?;
        db.create_index(&edge_idx)?;
        db.create_index(&IndexSpec::Label("Person".into()))?;
        db.create_index(&label_prop("Gone", &["x"]))?;
        db.drop_index(&label_prop("Gone", &["x"]))?;
        db.create_constraint(&unique("Person", &["name"]))?;
        db.create_constraint(&exists("Person", "name"))?;
        let trig = trigger("audit", TriggerPhase::AfterCommit);
        db.create_trigger(&trig)?;
        // Data written after the schema, only in the log.
        let mut t = rw(&*db)?;
        let a =
            t.create_vertex_with(&["Person"], &[("name", "late".into()), ("age", 77.into())])?;
        t.create_edge(a, a, "KNOWS")?;
        t.commit()?;
        let indexes_before = db.indexes()?;
        let constraints_before = db.constraints()?;
        reopen(&mut db, f, crash)?;
        if !caps.persistent {
            assert!(db.indexes()?.is_empty());
            assert!(db.constraints()?.is_empty());
            assert!(db.triggers()?.is_empty());
            return Ok(());
        }
        assert_eq!(db.indexes()?, indexes_before, "crash: {crash}");
        assert_eq!(db.constraints()?, constraints_before, "crash: {crash}");
        assert_eq!(db.triggers()?, vec![trig]);
        let r = rw(&*db)?;
        assert_eq!(r.vertex_lookup_index("Person", &["age"])?, Some(idx));
        assert_eq!(r.edge_lookup_index("KNOWS", None)?, Some(edge_idx));
        for q in [
            PropertyBounds::equal(77.into()),
            PropertyBounds::equal(PropertyValue::Float(12.0)),
            PropertyBounds::range(Bound::Included(5.into()), Bound::Excluded(9.into())),
        ] {
            let filters = [("age", q)];
            assert_eq!(
                ids(r.vertices_with_properties("Person", &filters)?)?,
                scan(&r, "Person", &filters)?
            );
        }
        assert_eq!(edge_ids(r.edges_with_type("KNOWS", None)?)?.len(), 1);
        drop(r);
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Person"], &[("name", "late".into())])?;
        expect_violation(t.commit(), &["name"], "unique after reopen");
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Person"], &[])?;
        expect_violation(t.commit(), &["name"], "exists after reopen");
    }
    Ok(())
}
