//! Incremental backups: a full backup, then links that hold only what was committed
//! after their parent; verify and restore follow the chain from its newest backup.

use std::path::Path;

use engine_api::{
    ErrorKind, RecoveryPoint, Result, StorageEngine, StorageMode, Transaction, TxnOptions,
};
use quiver::{Config, Database, Manifest, RestoreOptions};

mod common;
use common::files;

fn logged(dir: &Path, mode: StorageMode) -> Result<Database> {
    let mut durability = quiver::default_durability(mode).snapshot_on_exit(false);
    if mode == StorageMode::InMemoryTransactional {
        durability = durability.snapshot_interval(None).wal_segment_bytes(4096);
    }
    Database::open(
        Config::new()
            .data_directory(dir)
            .mode(mode)
            .durability(durability),
    )
}

/// `n` commits of one vertex each, labelled `day`.
fn work(db: &Database, day: &str, n: i64) -> Result<u64> {
    let mut last = 0;
    for i in 0..n {
        let mut t = db.begin(TxnOptions::new())?;
        t.create_vertex_with(&[day], &[("i", i.into()), ("pad", "x".repeat(200).into())])?;
        last = t.commit()?.commit_timestamp;
    }
    Ok(last)
}

/// `n` commits labelled `label`, then a backup into `dest`: a full one without a
/// parent, else an incremental one after `parent`.
fn day(db: &Database, label: &str, n: i64, parent: Option<&Path>, dest: &Path) -> Result<Manifest> {
    work(db, label, n)?;
    match parent {
        None => quiver::backup(db, dest, &|_, _| {}),
        Some(p) => quiver::backup_incremental(db, p, dest, &|_, _| {}),
    }
}

/// `path` relative to the working directory.
fn relative_to_cwd(path: &Path) -> Result<std::path::PathBuf> {
    let cwd = std::env::current_dir()?.canonicalize()?;
    let path = path.canonicalize()?;
    let (a, b): (Vec<_>, Vec<_>) = (cwd.components().collect(), path.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    Ok(out)
}

fn bytes(m: &Manifest) -> u64 {
    m.files.iter().map(|f| f.size).sum()
}

fn restored_state(from: &Path, to: &Path, options: &RestoreOptions) -> Result<String> {
    quiver::restore(from, to, options, &|_, _| {})?;
    let db = Database::open(Config::new().data_directory(to))?;
    let s = common::image(&db)?;
    db.close()?;
    Ok(s)
}

/// The kind of each damaged file's damage, by path.
fn damage_kinds(dir: &Path) -> Result<Vec<(String, quiver::DamageKind)>> {
    let report = quiver::verify(dir, &|_, _| {})?;
    Ok(report
        .damaged()
        .map(|f| (f.path.display().to_string(), f.damage_kind))
        .collect())
}

fn damaged(dir: &Path) -> Result<Vec<(String, String)>> {
    let report = quiver::verify(dir, &|_, _| {})?;
    Ok(report
        .damaged()
        .map(|f| {
            (
                f.path.display().to_string(),
                f.damage.clone().unwrap_or_default(),
            )
        })
        .collect())
}

/// Monday full, Tuesday and Wednesday incremental: each link holds only the WAL
/// after its parent (far fewer bytes); the newest verifies as a chain and restores
/// to the newest state, or to a point inside an incremental.
#[test]
fn a_chain_of_incrementals_verifies_and_restores() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    std::fs::create_dir_all(&backups)?;
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    work(&db, "Monday", 200)?;
    let monday = quiver::backup(&db, &backups.join("monday"), &|_, _| {})?;
    let tuesday_mid = work(&db, "Tuesday", 20)?;
    let at_tuesday_mid = common::image(&db)?;
    work(&db, "Tuesday", 20)?;
    let tuesday = quiver::backup_incremental(
        &db,
        &backups.join("monday"),
        &backups.join("tuesday"),
        &|_, _| {},
    )?;
    work(&db, "Wednesday", 30)?;
    let wednesday = quiver::backup_incremental(
        &db,
        &backups.join("tuesday"),
        &backups.join("wednesday"),
        &|_, _| {},
    )?;
    let newest = common::image(&db)?;
    db.close()?;

    let parent = tuesday.parent.as_ref().expect("a parent");
    assert_eq!(parent.path, "../monday");
    assert_eq!(parent.covered_commit_ts, monday.covered_commit_ts);
    assert_eq!(parent.manifest_crc32, monday.checksum()?);
    assert_eq!(
        wednesday.parent.as_ref().map(|p| p.covered_commit_ts),
        Some(tuesday.covered_commit_ts)
    );
    assert!(
        tuesday
            .files
            .iter()
            .all(|f| !f.path.starts_with("snapshots/"))
    );
    assert!(
        bytes(&tuesday) * 3 < bytes(&monday),
        "tuesday {} bytes, monday {}",
        bytes(&tuesday),
        bytes(&monday)
    );

    let report = quiver::verify(&backups.join("wednesday"), &|_, _| {})?;
    assert!(report.is_sound(), "{:?}", report.files);
    assert!(
        report
            .snapshot()
            .is_some_and(|s| s.starts_with(backups.join("monday"))),
        "{:?}",
        report.snapshot()
    );
    let chain = quiver::read_chain(&backups.join("wednesday"))?;
    assert_eq!(chain.len(), 3);
    // Named by a path relative to the working directory, as a user types it.
    let relative = relative_to_cwd(&backups.join("wednesday"))?;
    assert!(relative.is_relative());
    let report = quiver::verify(&relative, &|_, _| {})?;
    assert!(report.is_sound(), "{:?}", report.files);
    let before = files(&backups);
    // Restoring into the chain itself, forced, is refused before anything moves.
    for inside in [
        backups.join("wednesday"),
        backups.join("monday"),
        backups.join("tuesday/inner"),
        backups.clone(),
    ] {
        let e = quiver::restore(
            &relative,
            &inside,
            &RestoreOptions::new().force(true),
            &|_, _| {},
        )
        .expect_err("a target in the chain");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    assert!(files(&backups) == before, "the chain was changed");

    let whole = restored_state(
        &relative,
        &root.path().join("whole"),
        &RestoreOptions::new(),
    )?;
    assert_eq!(whole, newest);
    let mid = restored_state(
        &backups.join("wednesday"),
        &root.path().join("mid"),
        &RestoreOptions::new().until(Some(RecoveryPoint::Commit(tuesday_mid))),
    )?;
    assert_eq!(mid, at_tuesday_mid);
    Ok(())
}

/// A missing link, a parent that is not the one a link was taken after, a gap
/// between a link and its parent, and a file a link's manifest does not list are
/// damage naming the file; restore refuses them.
#[test]
fn a_broken_chain_is_damage_naming_the_file() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    std::fs::create_dir_all(&backups)?;
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    day(&db, "Monday", 50, None, &backups.join("monday"))?;
    // Another full backup of the same database at the same commit: only the
    // checksum tells it from Monday's.
    quiver::backup(&db, &backups.join("other"), &|_, _| {})?;
    work(&db, "Tuesday", 80)?;
    quiver::backup_incremental(
        &db,
        &backups.join("monday"),
        &backups.join("tuesday"),
        &|_, _| {},
    )?;
    db.close()?;
    let tuesday = backups.join("tuesday");
    let manifest_of = |d: &Path| d.join(quiver::MANIFEST_FILE).display().to_string();
    let refused = |what: &str| -> Result<()> {
        let e = quiver::restore(
            &tuesday,
            &root.path().join(what),
            &RestoreOptions::new(),
            &|_, _| {},
        )
        .expect_err(what);
        assert!(
            matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::NotFound),
            "{what}: {e}"
        );
        Ok(())
    };

    // A missing link.
    std::fs::rename(backups.join("monday"), backups.join("monday-moved"))?;
    let d = damaged(&tuesday)?;
    assert!(
        d.iter()
            .any(|(p, why)| *p == manifest_of(&tuesday) && why.contains("missing")),
        "{d:?}"
    );
    assert_eq!(
        damage_kinds(&tuesday)?,
        vec![(manifest_of(&tuesday), quiver::DamageKind::BrokenChain)]
    );
    refused("missing")?;
    // Another backup in the parent's place.
    std::fs::rename(backups.join("other"), backups.join("monday"))?;
    let d = damaged(&tuesday)?;
    assert!(
        d.iter()
            .any(|(p, why)| *p == manifest_of(&tuesday) && why.contains("not the parent")),
        "{d:?}"
    );
    assert_eq!(
        damage_kinds(&tuesday)?,
        vec![(manifest_of(&tuesday), quiver::DamageKind::BrokenChain)]
    );
    refused("wrong")?;
    std::fs::rename(backups.join("monday"), backups.join("other"))?;
    std::fs::rename(backups.join("monday-moved"), backups.join("monday"))?;
    assert!(damaged(&tuesday)?.is_empty(), "{:?}", damaged(&tuesday)?);

    // A gap: the link's segments up to the one holding the first commit after its
    // parent, and their lines in the manifest, gone.
    let mut m = quiver::read_manifest(&tuesday)?.expect("a manifest");
    let after = m.parent.as_ref().expect("a parent").covered_commit_ts;
    let wal: Vec<String> = m
        .files
        .iter()
        .filter(|f| f.path.starts_with("wal/"))
        .map(|f| f.path.clone())
        .collect();
    let starts = |rel: &String| -> Result<u64> {
        Ok(durability::wal::read_segment_header(&tuesday.join(rel))?.first_ts)
    };
    let mut gone = Vec::new();
    for rel in &wal {
        if starts(rel)? <= after + 1 {
            gone.push(rel.clone());
        }
    }
    assert!(!gone.is_empty() && gone.len() < wal.len(), "{wal:?}");
    for rel in &gone {
        std::fs::remove_file(tuesday.join(rel))?;
    }
    m.files.retain(|f| !gone.contains(&f.path));
    std::fs::write(tuesday.join(quiver::MANIFEST_FILE), m.encode()?)?;
    let d = damaged(&tuesday)?;
    let next = tuesday.join(&wal[gone.len()]).display().to_string();
    assert!(
        d.iter()
            .any(|(p, why)| *p == next && why.contains("in no backup of the chain")),
        "{d:?}"
    );
    // The parent is in place: the gap is the link's own damage, not a broken chain.
    assert!(
        damage_kinds(&tuesday)?
            .iter()
            .all(|(_, k)| *k == quiver::DamageKind::Other),
        "{:?}",
        damage_kinds(&tuesday)?
    );
    refused("gap")?;
    // A file of ours the manifest does not list.
    std::fs::write(tuesday.join(&gone[0]), b"")?;
    let d = damaged(&tuesday)?;
    let first = tuesday.join(&gone[0]).display().to_string();
    assert!(
        d.iter()
            .any(|(p, why)| *p == first && why.contains("does not list")),
        "{d:?}"
    );
    Ok(())
}

/// An incremental backup needs the WAL after its parent: once retention deleted it,
/// it is refused (take a full backup). Another database's backup is no parent; the
/// analytical mode's link is a new snapshot, and its chain restores. (The on-disk
/// mode's links: `an_on_disk_chain_shares_the_files_its_parents_hold`.)
#[test]
fn what_an_incremental_backup_refuses_and_the_analytical_link() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    day(&db, "A", 30, None, &root.path().join("full"))?;
    for _ in 0..4 {
        work(&db, "B", 30)?;
        db.create_snapshot()?;
    }
    let e = quiver::backup_incremental(
        &db,
        &root.path().join("full"),
        &root.path().join("inc"),
        &|_, _| {},
    )
    .expect_err("the WAL after the parent is gone");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("take a full backup"), "{e}");
    db.close()?;

    let other = logged(
        &root.path().join("other"),
        StorageMode::InMemoryTransactional,
    )?;
    work(&other, "A", 1)?;
    let e = quiver::backup_incremental(
        &other,
        &root.path().join("full"),
        &root.path().join("inc2"),
        &|_, _| {},
    )
    .expect_err("another database's backup");
    assert!(e.message().contains("not of this one"), "{e}");
    other.close()?;

    let analytical = logged(&root.path().join("an"), StorageMode::InMemoryAnalytical)?;
    day(&analytical, "A", 5, None, &root.path().join("an-full"))?;
    let link = day(
        &analytical,
        "B",
        5,
        Some(&root.path().join("an-full")),
        &root.path().join("an-inc"),
    )?;
    assert!(link.files.iter().any(|f| f.path.starts_with("snapshots/")));
    let newest = common::image(&analytical)?;
    analytical.close()?;
    assert!(damaged(&root.path().join("an-inc"))?.is_empty());
    let restored = restored_state(
        &root.path().join("an-inc"),
        &root.path().join("an-restored"),
        &RestoreOptions::new(),
    )?;
    assert_eq!(restored, newest);
    Ok(())
}

/// The only snapshot of `backup` (an IN_MEMORY_ANALYTICAL link holds one).
fn only_snapshot(backup: &Path) -> Result<std::path::PathBuf> {
    let mut found = std::fs::read_dir(backup.join("snapshots"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    assert_eq!(found.len(), 1, "{found:?}");
    Ok(found.remove(0))
}

/// One byte near the end of `path` flipped: its size stays, a block's checksum fails.
fn flip_near_end(path: &Path) -> Result<()> {
    let mut bytes = std::fs::read(path)?;
    let at = bytes.len() - 10;
    bytes[at] ^= 0xff;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// An IN_MEMORY_ANALYTICAL link holds a whole snapshot: the restore of the newest
/// link never reads an older link's. Damage there (a flipped byte, a cut) is passed
/// over by verify, restore and reading alike; damage of the newest link's snapshot
/// is refused by all three, with the older backup (not moving a file out of a
/// backup, which its manifest would refuse) as the way to the older state.
#[test]
fn an_analytical_chain_needs_only_its_newest_snapshot() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (full, inc) = (root.path().join("full"), root.path().join("inc"));
    let db = logged(&root.path().join("data"), StorageMode::InMemoryAnalytical)?;
    day(&db, "A", 5, None, &full)?;
    day(&db, "B", 5, Some(&full), &inc)?;
    let newest = common::image(&db)?;
    db.close()?;
    let pristine = common::files(root.path());

    for cut in [false, true] {
        let older = only_snapshot(&full)?;
        if cut {
            let f = std::fs::OpenOptions::new().write(true).open(&older)?;
            f.set_len(f.metadata()?.len() / 2)?;
        } else {
            flip_near_end(&older)?;
        }
        let report = quiver::verify(&inc, &|_, _| {})?;
        assert!(report.is_sound(), "cut {cut}: {:?}", report.files);
        let passed: Vec<_> = report.passed_over().map(|f| f.kind).collect();
        assert_eq!(passed, ["listed file", "snapshot"], "cut {cut}");
        let to = root.path().join(format!("restored-{cut}"));
        assert_eq!(restored_state(&inc, &to, &RestoreOptions::new())?, newest);
        let view = quiver::ChainView::new(&inc)?;
        let read = Database::open(Config::new().data_directory(view.path()))?;
        assert_eq!(common::image(&read)?, newest, "cut {cut}");
        read.close()?;
        drop(view);
        std::fs::write(
            &older,
            &pristine.iter().find(|(p, _)| *p == older).expect("kept").1,
        )?;
    }

    // A snapshot the manifest does not list: verify calls it damage, and reading
    // the chain refuses it too.
    let newest_snapshot = only_snapshot(&inc)?;
    let added = inc
        .join("snapshots")
        .join(durability::dir::snapshot_file_name(99, 99));
    std::fs::copy(&newest_snapshot, &added)?;
    assert!(!damaged(&inc)?.is_empty());
    let e = quiver::ChainView::new(&inc).expect_err("an unlisted snapshot");
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    assert!(e.message().contains("does not list"), "{e}");
    std::fs::remove_file(&added)?;

    flip_near_end(&only_snapshot(&inc)?)?;
    let found = damaged(&inc)?;
    let snapshot = found
        .iter()
        .find(|(p, why)| p.starts_with(&*inc.to_string_lossy()) && why.contains("refuses"))
        .map(|(_, why)| why.clone())
        .unwrap_or_default();
    assert!(
        snapshot.contains("restore the older backup") && !snapshot.contains("move the damaged"),
        "{found:?}"
    );
    let view = quiver::ChainView::new(&inc)?;
    let e = Database::open(Config::new().data_directory(view.path()))
        .expect_err("the newest link's snapshot is damaged");
    let e = view.shown(e.message(), &inc);
    assert!(
        e.contains("restore the older backup") && !e.contains("move the damaged"),
        "{e}"
    );
    drop(view);

    // The newest link's snapshot replaced by the older link's (a copy under another
    // name): the advice is a backup's, not to move a file out of it.
    std::fs::copy(only_snapshot(&full)?, only_snapshot(&inc)?)?;
    let found = damaged(&inc)?;
    assert!(!found.is_empty());
    for (_, why) in &found {
        assert!(
            !why.contains(durability::lost::MOVING_LOSES_NOTHING)
                && !why.contains(durability::lost::MOVE_OUT_OF_SNAPSHOTS),
            "{found:?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|(_, why)| why.contains(durability::lost::BACKUP_ADVICE)),
        "{found:?}"
    );
    Ok(())
}

/// A database restored from an older backup keeps its id but writes another history
/// from there: an incremental backup of it after a newer backup of the chain is
/// refused, and a link made of such a log anyway (by hand) is damage, not a restore
/// that mixes the two histories. A backup into a directory of the chain is refused.
#[test]
fn another_history_under_the_same_id_is_refused() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    std::fs::create_dir_all(&backups)?;
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    day(&db, "A", 20, None, &backups.join("b1"))?;
    day(&db, "B", 20, Some(&backups.join("b1")), &backups.join("b2"))?;
    day(&db, "C", 20, Some(&backups.join("b2")), &backups.join("b3"))?;
    for inside in [backups.join("b1/sub"), backups.join("b2/wal/z")] {
        let e = quiver::backup_incremental(&db, &backups.join("b3"), &inside, &|_, _| {})
            .expect_err("a backup into the chain");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    db.close()?;
    // Restored from b2 (same id), then other commits where b3 has its C.
    let other = root.path().join("other");
    quiver::restore(
        &backups.join("b2"),
        &other,
        &RestoreOptions::new(),
        &|_, _| {},
    )?;
    let db = logged(&other, StorageMode::InMemoryTransactional)?;
    work(&db, "D", 30)?;
    let e = quiver::backup_incremental(&db, &backups.join("b3"), &backups.join("b4"), &|_, _| {})
        .expect_err("another history after b3");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("does not continue"), "{e}");
    db.close()?;
    // The same link made by hand: its WAL copied, a manifest naming b3 as parent.
    let b3 = quiver::read_manifest(&backups.join("b3"))?.expect("a manifest");
    let b4 = backups.join("b4");
    std::fs::create_dir_all(b4.join("wal"))?;
    let mut files = Vec::new();
    for s in durability::dir::list_files(&other)?.segments {
        let name = s
            .path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .to_string();
        let bytes = std::fs::read(&s.path)?;
        std::fs::write(b4.join("wal").join(&name), &bytes)?;
        files.push(quiver::ManifestFile {
            path: format!("wal/{name}"),
            size: bytes.len() as u64,
            crc32: crc32fast::hash(&bytes),
            shared: false,
        });
    }
    let manifest = Manifest {
        format: 2,
        files,
        covered_commit_ts: b3.covered_commit_ts + 10,
        parent: Some(quiver::ParentLink {
            path: "../b3".into(),
            manifest_crc32: b3.checksum()?,
            covered_commit_ts: b3.covered_commit_ts,
        }),
        ..b3.clone()
    };
    std::fs::write(b4.join(quiver::MANIFEST_FILE), manifest.encode()?)?;
    let d = damaged(&b4)?;
    assert!(
        d.iter()
            .any(|(p, why)| p.starts_with(&b4.display().to_string())
                && why.contains("histories differ")),
        "{d:?}"
    );
    let e = quiver::restore(
        &b4,
        &root.path().join("mixed"),
        &RestoreOptions::new(),
        &|_, _| {},
    )
    .expect_err("a mixed chain");
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    Ok(())
}

/// A chain folds into one full backup equal to its newest state, or to its state at
/// a point; the folded backup verifies alone and restores; it never goes into the
/// chain.
#[test]
fn a_chain_folds_into_one_full_backup() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    std::fs::create_dir_all(&backups)?;
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    day(&db, "Monday", 40, None, &backups.join("monday"))?;
    let mid = work(&db, "Tuesday", 10)?;
    let at_mid = common::image(&db)?;
    work(&db, "Tuesday", 10)?;
    quiver::backup_incremental(
        &db,
        &backups.join("monday"),
        &backups.join("tuesday"),
        &|_, _| {},
    )?;
    let newest = common::image(&db)?;
    db.close()?;
    let before = files(&backups);

    let folded = root.path().join("folded");
    let m = quiver::aggregate(&backups.join("tuesday"), &folded, None, &|_, _| {})?;
    assert!(m.parent.is_none());
    assert!(quiver::verify(&folded, &|_, _| {})?.is_sound());
    let state = restored_state(&folded, &root.path().join("r1"), &RestoreOptions::new())?;
    assert_eq!(state, newest);

    let at = root.path().join("folded-at-mid");
    quiver::aggregate(
        &backups.join("tuesday"),
        &at,
        Some(RecoveryPoint::Commit(mid)),
        &|_, _| {},
    )?;
    let state = restored_state(&at, &root.path().join("r2"), &RestoreOptions::new())?;
    assert_eq!(state, at_mid);

    let e = quiver::aggregate(
        &backups.join("tuesday"),
        &backups.join("monday/x"),
        None,
        &|_, _| {},
    )
    .expect_err("into the chain");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(files(&backups) == before, "the chain was changed");

    // A damaged link: the fold's refusal speaks of the fold, not of a restore.
    let listed = quiver::read_manifest(&backups.join("tuesday"))?.expect("a manifest");
    let file = backups.join("tuesday").join(
        &listed
            .files
            .iter()
            .find(|f| !f.shared)
            .expect("a file")
            .path,
    );
    let whole = std::fs::read(&file)?;
    std::fs::write(&file, &whole[..whole.len() / 2])?;
    let out = root.path().join("folded-damaged");
    let e = quiver::aggregate(&backups.join("tuesday"), &out, None, &|_, _| {})
        .expect_err("a damaged link");
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    assert!(
        e.message()
            .contains(&format!("nothing was written to {}", out.display()))
            && !e.message().contains("restored"),
        "{e}"
    );
    std::fs::write(&file, whole)?;
    Ok(())
}

/// A freshly mounted disk is a directory the staging cannot sit beside: backups,
/// folds and restores to a point into its mount point work (staged inside it) and
/// leave nothing else there.
#[test]
fn a_mount_point_takes_backups_folds_and_restores() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    std::fs::create_dir_all(&backups)?;
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    day(&db, "A", 20, None, &backups.join("full"))?;
    day(
        &db,
        "B",
        5,
        Some(&backups.join("full")),
        &backups.join("inc"),
    )?;
    let newest = common::image(&db)?;
    let disks: Vec<common::SmallDisk> = (0..3)
        .filter_map(|_| common::SmallDisk::mount(64 << 20))
        .collect();
    let [backup_disk, fold_disk, restore_disk] = &disks[..] else {
        db.close()?;
        return Ok(());
    };
    quiver::backup(&db, &backup_disk.dir, &|_, _| {})?;
    db.close()?;
    assert!(quiver::verify(&backup_disk.dir, &|_, _| {})?.is_sound());
    quiver::aggregate(&backups.join("inc"), &fold_disk.dir, None, &|_, _| {})?;
    let state = restored_state(
        &fold_disk.dir,
        &root.path().join("r1"),
        &RestoreOptions::new(),
    )?;
    assert_eq!(state, newest);
    quiver::restore(
        &backups.join("inc"),
        &restore_disk.dir,
        &RestoreOptions::new().until(Some(RecoveryPoint::Commit(20))),
        &|_, _| {},
    )?;
    for disk in &disks {
        assert!(
            !disk.dir.join(durability::dir::IN_PROGRESS).exists(),
            "staging left in {}",
            disk.dir.display()
        );
    }
    Ok(())
}

/// ON_DISK_TRANSACTIONAL: each backup holds RocksDB's files; a link copies only the
/// files its chain does not hold yet (by path, size and CRC-32) and lists the others
/// as shared. The newest link verifies and restores as its chain's state, in its own
/// mode and another; damage in a shared file held by an earlier backup, or a missing
/// link, is found from the newest; a fold gives one full backup of the same state.
#[test]
fn an_on_disk_chain_shares_the_files_its_parents_hold() -> Result<()> {
    let root = tempfile::tempdir()?;
    let db = logged(&root.path().join("data"), StorageMode::OnDiskTransactional)?;
    let (mon, tue, wed) = (
        root.path().join("mon"),
        root.path().join("tue"),
        root.path().join("wed"),
    );
    work(&db, "Mon", 400)?;
    // Monday's data in RocksDB's bottom level, as a database that has run a while
    // holds most of its data: later commits go to new files beside it.
    if let quiver::Engine::OnDiskTransactional(e) = db.engine() {
        e.compact()?;
    }
    let full = quiver::backup(&db, &mon, &|_, _| {})?;
    assert_eq!(full.format, durability::manifest::MANIFEST_FORMAT_FILES);
    assert!(full.files.iter().all(|f| !f.shared));
    let link = day(&db, "Tue", 20, Some(&mon), &tue)?;
    let tuesday = common::image(&db)?;
    let shared: Vec<&quiver::ManifestFile> = link.files.iter().filter(|f| f.shared).collect();
    assert!(
        shared.iter().any(|f| f.path.ends_with(".sst")),
        "Monday's SST files are shared: {:?}",
        link.files
    );
    for f in &shared {
        assert!(!tue.join(&f.path).exists(), "{} copied again", f.path);
    }
    let copied: u64 = link
        .files
        .iter()
        .filter(|f| !f.shared)
        .map(|f| f.size)
        .sum();
    assert!(copied < bytes(&link), "{copied} of {}", bytes(&link));
    let link = day(&db, "Wed", 20, Some(&tue), &wed)?;
    assert!(link.parent.is_some());
    let wednesday = common::image(&db)?;
    db.close()?;

    assert!(damaged(&wed)?.is_empty(), "{:?}", damaged(&wed)?);
    // Every line of the report names the backups' files, never the scratch view.
    for f in quiver::verify(&wed, &|_, _| {})?.files {
        let text = format!("{} {}", f.path.display(), f.detail);
        assert!(!text.contains("quiver-chain-"), "{text}");
    }
    let wed_files = files(&wed);
    assert_eq!(
        restored_state(&wed, &root.path().join("r-wed"), &RestoreOptions::new())?,
        wednesday
    );
    assert_eq!(
        restored_state(&tue, &root.path().join("r-tue"), &RestoreOptions::new())?,
        tuesday
    );
    assert_eq!(
        restored_state(
            &wed,
            &root.path().join("r-txn"),
            &RestoreOptions::new().mode(StorageMode::InMemoryTransactional)
        )?,
        wednesday
    );
    assert!(files(&wed) == wed_files, "reading the chain wrote into it");
    let folded = root.path().join("folded");
    quiver::aggregate(&wed, &folded, None, &|_, _| {})?;
    assert!(quiver::read_manifest(&folded)?.is_some_and(|m| m.parent.is_none()));
    assert_eq!(
        restored_state(
            &folded,
            &root.path().join("r-folded"),
            &RestoreOptions::new()
        )?,
        wednesday
    );
    let e = quiver::restore(
        &wed,
        &root.path().join("r-point"),
        &RestoreOptions::new().until(Some(RecoveryPoint::Commit(3))),
        &|_, _| {},
    )
    .expect_err("no point in this mode");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");

    // A shared SST file Monday holds, damaged: found from Wednesday.
    let sst = shared
        .iter()
        .find(|f| f.path.ends_with(".sst"))
        .map(|f| mon.join(&f.path))
        .expect("a shared SST");
    let mut bytes_of = std::fs::read(&sst)?;
    let at = bytes_of.len() / 2;
    bytes_of[at] ^= 0x40;
    std::fs::write(&sst, &bytes_of)?;
    let found = damaged(&wed)?;
    assert!(found.iter().any(|(p, _)| Path::new(p) == sst), "{found:?}");
    assert!(
        found.iter().all(|(_, why)| !why.contains("quiver-chain-")),
        "messages name the backups' files: {found:?}"
    );
    let e = quiver::restore(
        &wed,
        &root.path().join("r-bad"),
        &RestoreOptions::new(),
        &|_, _| {},
    )
    .expect_err("damaged");
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    bytes_of[at] ^= 0x40;
    std::fs::write(&sst, &bytes_of)?;
    // A link naming a shared file with another checksum than the backup holding it
    // has: damage of its manifest (it would restore another file than it lists).
    let mut m = quiver::read_manifest(&wed)?.expect("a manifest");
    let f = m
        .files
        .iter_mut()
        .find(|f| f.shared && f.path.ends_with(".sst"))
        .expect("a shared SST");
    f.crc32 ^= 1;
    let original = std::fs::read(wed.join(quiver::MANIFEST_FILE))?;
    std::fs::write(wed.join(quiver::MANIFEST_FILE), m.encode()?)?;
    let found = damaged(&wed)?;
    assert!(
        found
            .iter()
            .any(|(p, why)| p.starts_with(&wed.display().to_string())
                && why.contains("held by an earlier backup")),
        "{found:?}"
    );
    std::fs::write(wed.join(quiver::MANIFEST_FILE), original.clone())?;
    // A manifest that does not read: the damage named, nothing more (its RocksDB
    // files are not checked as a directory, where the shared ones would be missing).
    let mut text = original.clone();
    let at = text.len() / 2;
    text[at] = if text[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(wed.join(quiver::MANIFEST_FILE), &text)?;
    let found = damaged(&wed)?;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.ends_with(quiver::MANIFEST_FILE), "{found:?}");
    std::fs::write(wed.join(quiver::MANIFEST_FILE), original)?;
    // RocksDB's info log, left by a tool that opened a backup, is no damage.
    std::fs::write(tue.join("rocksdb/LOG"), b"an info log")?;
    assert!(damaged(&wed)?.is_empty(), "{:?}", damaged(&wed)?);
    std::fs::remove_file(tue.join("rocksdb/LOG"))?;
    // Tuesday gone: Wednesday's chain is broken.
    std::fs::rename(&tue, root.path().join("tue-moved"))?;
    let found = damaged(&wed)?;
    assert!(
        found
            .iter()
            .any(|(p, why)| p.ends_with("quiver-backup.json") && why.contains("missing")),
        "{found:?}"
    );
    Ok(())
}

/// Commits that reached a snapshot but not the WAL (written with the WAL off, as a
/// load into the database or a restore writes them) cannot be in a link that copies
/// the WAL after its parent: the incremental backup is refused ("take a full
/// backup") instead of silently leaving them out.
#[test]
fn commits_in_a_snapshot_alone_refuse_an_incremental_backup() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    day(&db, "Mon", 5, None, &root.path().join("mon"))?;
    db.close()?;
    let unlogged = quiver::default_durability(StorageMode::InMemoryTransactional)
        .wal(false)
        .snapshot_interval(None);
    let db = Database::open(Config::new().data_directory(&data).durability(unlogged))?;
    work(&db, "Tue", 5)?;
    db.close()?;
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    let e = quiver::backup_incremental(
        &db,
        &root.path().join("mon"),
        &root.path().join("tue"),
        &|_, _| {},
    )
    .expect_err("the WAL does not hold Tuesday's commits");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("take a full backup"), "{e}");
    assert!(!root.path().join("tue").exists());
    let tuesday = common::image(&db)?;
    quiver::backup(&db, &root.path().join("tue-full"), &|_, _| {})?;
    db.close()?;
    assert_eq!(
        restored_state(
            &root.path().join("tue-full"),
            &root.path().join("r"),
            &RestoreOptions::new()
        )?,
        tuesday
    );
    Ok(())
}

/// An entry that is no file under a WAL segment's name in a middle link: named by
/// its path as such (moving it out is the way out), and the next link is not said
/// to start after a gap it does not have.
#[test]
fn an_entry_that_is_no_file_in_a_link_is_named_without_a_false_gap() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    std::fs::create_dir_all(&backups)?;
    let db = logged(&data, StorageMode::InMemoryTransactional)?;
    work(&db, "Monday", 50)?;
    quiver::backup(&db, &backups.join("monday"), &|_, _| {})?;
    work(&db, "Tuesday", 20)?;
    quiver::backup_incremental(
        &db,
        &backups.join("monday"),
        &backups.join("tuesday"),
        &|_, _| {},
    )?;
    work(&db, "Wednesday", 20)?;
    let wednesday = backups.join("wednesday");
    quiver::backup_incremental(&db, &backups.join("tuesday"), &wednesday, &|_, _| {})?;
    db.close()?;
    let entry = backups
        .join("tuesday")
        .join("wal")
        .join(durability::dir::segment_file_name(99));
    std::fs::create_dir(&entry)?;
    let report = quiver::verify(&wednesday, &|_, _| {})?;
    let damaged: Vec<_> = report
        .damaged()
        .map(|f| (f.path.clone(), f.damage_kind))
        .collect();
    assert_eq!(
        damaged,
        vec![(entry.clone(), quiver::DamageKind::NotAFile)],
        "{:?}",
        report.files
    );
    std::fs::remove_dir(&entry)?;
    assert!(quiver::verify(&wednesday, &|_, _| {})?.is_sound());
    Ok(())
}
