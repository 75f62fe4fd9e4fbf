//! The WAL archive (`DurabilityConfig::wal_archive`): what retention lets go is kept
//! in the data directory's `archive/` for a window, so a restore to a point reaches
//! back past the oldest kept snapshot; moves wait for the directory's unlock;
//! `verify` checks the archive; the modes without a WAL of ours refuse the setting.

use std::path::Path;
use std::time::Duration;

use engine_api::{
    ErrorKind, RecoveryPoint, Result, StorageEngine, StorageMode, Transaction, TxnOptions,
    WalArchive,
};
use quiver::{Config, Database, RestoreOptions};

mod common;

/// A transactional database keeping one snapshot, small WAL segments, and the
/// archive with `window`.
fn archived(dir: &Path, window: WalArchive) -> Result<Database> {
    let durability = quiver::default_durability(StorageMode::InMemoryTransactional)
        .snapshot_interval(None)
        .snapshot_on_exit(false)
        .snapshot_retention(1)
        .wal_segment_bytes(4096)
        .wal_archive(Some(window));
    Database::open(Config::new().data_directory(dir).durability(durability))
}

/// `rounds` rounds of 30 commits (several WAL segments), each followed by a
/// snapshot; returns each commit's timestamp and the state after it.
fn history(db: &Database, rounds: usize) -> Result<Vec<(u64, String)>> {
    let mut states = Vec::new();
    for round in 0..rounds {
        for i in 0..30i64 {
            let mut t = db.begin(TxnOptions::new())?;
            t.create_vertex_with(&["R"], &[("round", (round as i64).into()), ("i", i.into())])?;
            let ts = t.commit()?.commit_timestamp;
            states.push((ts, common::image(db)?));
        }
        db.create_snapshot()?;
    }
    Ok(states)
}

fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Cuts the file at `path` to half its length.
fn cut_in_half(path: &Path) -> Result<()> {
    let len = std::fs::metadata(path)?.len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(len / 2)?;
    Ok(())
}

fn restore_to(from: &Path, to: &Path, ts: u64) -> Result<quiver::Restored> {
    quiver::restore(
        from,
        to,
        &RestoreOptions::new().until(Some(RecoveryPoint::Commit(ts))),
        &|_, _| {},
    )
}

fn opened_image(dir: &Path) -> Result<String> {
    let db = Database::open(Config::new().data_directory(dir))?;
    let image = common::image(&db)?;
    db.close()?;
    Ok(image)
}

/// With one snapshot kept, every commit since the first stays restorable through
/// the archive; the same directory without its archive refuses the points before
/// its snapshot. `verify` checks the archive with the directory.
#[test]
fn the_archive_restores_points_retention_let_go() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = archived(&data, WalArchive::default())?;
    let states = history(&db, 4)?;
    db.close()?;
    assert_eq!(
        names(&data.join("snapshots")).len(),
        1,
        "retention keeps one"
    );
    assert_eq!(names(&data.join("archive/snapshots")).len(), 3);
    assert!(
        names(&data.join("archive/wal")).len() >= 3,
        "segments archived"
    );
    let report = quiver::verify(&data, &|_, _| {})?;
    assert!(report.is_sound(), "{report:?}");
    assert!(
        report
            .files
            .iter()
            .any(|f| f.path.starts_with(data.join("archive/wal"))),
        "verify reads the archive"
    );
    // Every fifth commit and the first and last of each round.
    for (i, (ts, expected)) in states.iter().enumerate() {
        if i % 5 != 0 && i % 30 != 29 {
            continue;
        }
        let target = root.path().join(format!("at-{ts}"));
        let restored = restore_to(&data, &target, *ts)?;
        assert_eq!(restored.last_commit.map(|c| c.commit_ts), Some(*ts));
        assert_eq!(&opened_image(&target)?, expected, "commit {ts}");
    }
    // Without the archive, the first round is gone.
    let bare = root.path().join("bare");
    std::fs::create_dir_all(&bare)?;
    for entry in std::fs::read_dir(&data)?.flatten() {
        let name = entry.file_name();
        if name == "archive" || name == ".lock" {
            continue;
        }
        let to = bare.join(&name);
        if entry.path().is_dir() {
            std::fs::create_dir_all(&to)?;
            for f in std::fs::read_dir(entry.path())?.flatten() {
                std::fs::copy(f.path(), to.join(f.file_name()))?;
            }
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    let e = restore_to(&bare, &root.path().join("early"), states[3].0)
        .expect_err("before the oldest snapshot");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    Ok(())
}

/// Moving into the archive is a deletion like any other: while the directory is
/// locked nothing leaves `snapshots/` or `wal/`; the unlock moves it.
#[test]
fn moves_into_the_archive_wait_for_the_unlock() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = archived(&data, WalArchive::default())?;
    db.lock_data_directory()?;
    history(&db, 3)?;
    assert_eq!(
        names(&data.join("snapshots")).len(),
        3,
        "nothing left while locked"
    );
    assert!(names(&data.join("archive/snapshots")).is_empty());
    db.unlock_data_directory()?;
    assert_eq!(names(&data.join("snapshots")).len(), 1);
    assert_eq!(names(&data.join("archive/snapshots")).len(), 2);
    db.close()?;
    Ok(())
}

/// The time window keeps its base: with a window shorter than the pause between
/// snapshots, the archive keeps only the newest snapshot written before the
/// window's start and what follows; a point before that snapshot is refused, one
/// after it restores.
#[test]
fn the_archive_keeps_its_window() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let window = WalArchive::default().keep_for(Some(Duration::from_millis(50)));
    let db = archived(&data, window)?;
    let mut states = Vec::new();
    for _ in 0..4 {
        states.extend(history(&db, 1)?);
        std::thread::sleep(Duration::from_millis(120));
    }
    // One more round: its snapshot prunes with the last pause behind it.
    states.extend(history(&db, 1)?);
    db.close()?;
    let kept = names(&data.join("archive/snapshots"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    let base: u64 = kept[0]
        .trim_end_matches(".snapshot")
        .split('_')
        .nth(1)
        .and_then(|ts| ts.parse().ok())
        .expect("a snapshot name");
    assert_eq!(base, 120, "the snapshot written before the last pause");
    let e = restore_to(&data, &root.path().join("before"), base - 1).expect_err("pruned");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let (ts, expected) = &states[134];
    restore_to(&data, &root.path().join("after"), *ts)?;
    assert_eq!(&opened_image(&root.path().join("after"))?, expected);

    // By size: a window smaller than any step empties the archive.
    let small = root.path().join("small");
    let db = archived(
        &small,
        WalArchive::default().keep_for(None).keep_bytes(Some(1)),
    )?;
    history(&db, 3)?;
    db.close()?;
    assert!(names(&small.join("archive/snapshots")).is_empty());
    assert!(names(&small.join("archive/wal")).is_empty());
    Ok(())
}

/// A damaged archived segment is damage (its points cannot be restored): `verify`
/// names it and a restore to a point refuses, while a restore of the newest state
/// goes ahead.
#[test]
fn damage_in_the_archive_is_found() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = archived(&data, WalArchive::default())?;
    let states = history(&db, 3)?;
    db.close()?;
    let victim = data
        .join("archive/wal")
        .join(&names(&data.join("archive/wal"))[1]);
    let snapshot = data
        .join("archive/snapshots")
        .join(&names(&data.join("archive/snapshots"))[0]);
    for file in [&victim, &snapshot] {
        let mut bytes = std::fs::read(file)?;
        let at = bytes.len() / 2;
        bytes[at] ^= 0x55;
        std::fs::write(file, bytes)?;
    }
    let report = quiver::verify(&data, &|_, _| {})?;
    assert!(
        report.damaged().any(|f| f.path == victim) && report.damaged().any(|f| f.path == snapshot),
        "{:?}",
        report.files
    );
    // Messages name the directory's files, never the scratch directory read.
    for f in &report.files {
        let text = format!("{} {:?} {:?}", f.detail, f.damage, f.passed_over);
        assert!(!text.contains("quiver-chain-"), "{text}");
    }
    assert!(
        report
            .damaged()
            .all(|f| f.path.starts_with(data.join("archive"))),
        "the directory's own files are sound: {:?}",
        report.files
    );
    let e = restore_to(&data, &root.path().join("point"), states[10].0).expect_err("damaged");
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    let newest = root.path().join("newest");
    quiver::restore(&data, &newest, &RestoreOptions::new(), &|_, _| {})?;
    assert_eq!(&opened_image(&newest)?, &states.last().expect("commits").1);
    Ok(())
}

/// An archive on another file system (a disk mounted for it): each file is copied,
/// synced, and only then removed from the data directory.
#[test]
fn an_archive_on_another_disk_is_copied_into() -> Result<()> {
    let Some(disk) = common::SmallDisk::mount(64 << 20) else {
        return Ok(());
    };
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    std::fs::create_dir_all(&data)?;
    std::os::unix::fs::symlink(&disk.dir, data.join("archive"))?;
    let db = archived(&data, WalArchive::default())?;
    let states = history(&db, 3)?;
    db.close()?;
    assert_eq!(names(&disk.dir.join("snapshots")).len(), 2);
    assert!(
        names(&disk.dir.join("wal"))
            .iter()
            .all(|n| !n.ends_with(".tmp"))
    );
    let target = root.path().join("t");
    restore_to(&data, &target, states[5].0)?;
    assert_eq!(&opened_image(&target)?, &states[5].1);
    Ok(())
}

/// Opening without recovery starts a new database: the old one's archive moves
/// aside with its files. The modes without a WAL of ours refuse the setting.
#[test]
fn the_archive_is_the_wal_modes_alone() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = archived(&data, WalArchive::default())?;
    history(&db, 2)?;
    db.close()?;
    assert!(data.join("archive").exists());
    let fresh = quiver::default_durability(StorageMode::InMemoryTransactional)
        .recover_on_startup(false)
        .snapshot_on_exit(false);
    let db = Database::open(Config::new().data_directory(&data).durability(fresh))?;
    db.close()?;
    assert!(
        !data.join("archive").exists(),
        "moved aside with the old files"
    );
    let aside = names(&data.join(".backup"));
    assert_eq!(aside.len(), 1);
    assert!(
        data.join(".backup")
            .join(&aside[0])
            .join("archive/snapshots")
            .is_dir()
    );
    for mode in [
        StorageMode::InMemoryAnalytical,
        StorageMode::OnDiskTransactional,
    ] {
        let config = Config::new()
            .data_directory(root.path().join(format!("{mode:?}")))
            .mode(mode)
            .durability_for(
                mode,
                quiver::default_durability(mode).wal_archive(Some(WalArchive::default())),
            );
        let e = Database::open(config).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{mode:?}: {e}");
        assert!(e.message().contains("WAL archive"), "{mode:?}: {e}");
    }
    Ok(())
}

/// An `archive` that is no directory (a file, a link to nothing: an unmounted disk)
/// is damage for `verify`; an engine with the archive on refuses to open, saying so;
/// without the setting the directory opens.
#[test]
fn an_archive_that_is_no_directory_is_named() -> Result<()> {
    let root = tempfile::tempdir()?;
    for (case, make) in [
        (
            "file",
            &(|p: &Path| std::fs::write(p, b"not a folder"))
                as &dyn Fn(&Path) -> std::io::Result<()>,
        ),
        ("dangling", &|p: &Path| {
            std::os::unix::fs::symlink("/nonexistent/quiver-archive", p)
        }),
    ] {
        let data = root.path().join(case);
        let db = archived(&data, WalArchive::default())?;
        history(&db, 2)?;
        db.close()?;
        std::fs::remove_dir_all(data.join("archive"))?;
        make(&data.join("archive"))?;
        let report = quiver::verify(&data, &|_, _| {})?;
        assert!(
            report.damaged().any(|f| f.path == data.join("archive")),
            "{case}: {:?}",
            report.files
        );
        let e = archived(&data, WalArchive::default()).expect_err("the archive is on");
        assert_eq!(e.kind(), ErrorKind::Io, "{case}: {e}");
        assert!(e.message().contains("archive"), "{case}: {e}");
        Database::open(Config::new().data_directory(&data))?.close()?;
    }
    Ok(())
}

/// An archive that is not this directory's (a link to another database's archive)
/// names the archive's files as the strangers, not the directory's own; a file in
/// the archive under a live segment's name with other contents is damage; a folder
/// of the archive that cannot be listed is an I/O error, not an empty archive.
#[test]
fn an_archive_not_of_this_directory_is_named() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (ours, theirs) = (root.path().join("ours"), root.path().join("theirs"));
    for dir in [&ours, &theirs] {
        let db = archived(dir, WalArchive::default())?;
        history(&db, 3)?;
        db.close()?;
    }
    let own = names(&ours.join("archive/wal"));
    std::fs::rename(ours.join("archive"), root.path().join("ours-archive"))?;
    std::os::unix::fs::symlink(theirs.join("archive"), ours.join("archive"))?;
    let report = quiver::verify(&ours, &|_, _| {})?;
    assert!(report.damaged().count() > 0, "{:?}", report.files);
    for f in report.damaged() {
        // The archive's files are named, and no message blames the directory's own.
        assert!(
            f.path.starts_with(ours.join("archive")) && f.path != ours.join("archive"),
            "{:?}",
            report.files
        );
        let why = f.damage.clone().unwrap_or_default();
        for own_file in [ours.join("snapshots"), ours.join("wal")] {
            assert!(!why.contains(&own_file.display().to_string()), "{why}");
        }
    }
    std::fs::remove_file(ours.join("archive"))?;
    std::fs::rename(root.path().join("ours-archive"), ours.join("archive"))?;
    assert!(quiver::verify(&ours, &|_, _| {})?.is_sound());
    // The live WAL's newest segment's name, with other contents, in the archive.
    let live = names(&ours.join("wal"));
    let name = live.last().expect("a live segment");
    assert!(!own.contains(name));
    std::fs::write(ours.join("archive/wal").join(name), b"other contents")?;
    let report = quiver::verify(&ours, &|_, _| {})?;
    assert!(
        report
            .damaged()
            .any(|f| f.path == ours.join("archive/wal").join(name)),
        "{:?}",
        report.files
    );
    std::fs::remove_file(ours.join("archive/wal").join(name))?;
    // A folder of the archive that is a file: damage of the archive, reported (verify
    // failed with an I/O error here); the directory itself opens.
    std::fs::rename(ours.join("archive/snapshots"), root.path().join("snaps"))?;
    std::fs::write(ours.join("archive/snapshots"), b"not a folder")?;
    let report = quiver::verify(&ours, &|_, _| {})?;
    let damaged: Vec<_> = report.damaged().map(|f| f.path.clone()).collect();
    assert_eq!(damaged, vec![ours.join("archive/snapshots")]);
    Database::open(Config::new().data_directory(&ours))?.close()?;
    Ok(())
}

/// The one snapshot of a directory cut short, its WAL starting after commit 1 (the
/// older segments are in the archive): without the archive, the commits are named
/// as beyond recovery without claiming no WAL record holds any, and the damage is
/// not of the kind "move it aside to open the older state": there is none. With the
/// archive, which holds an older snapshot and the WAL after it, the damage says so,
/// and a restore to the newest commit through the archive gives every commit (a
/// plain restore is refused, naming that way out).
#[test]
fn a_cut_snapshot_is_restored_through_the_archive_that_holds_its_commits() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = archived(&data, WalArchive::default())?;
    let states = history(&db, 3)?;
    db.close()?;
    let snapshots = names(&data.join("snapshots"));
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let snapshot = data.join("snapshots").join(&snapshots[0]);
    cut_in_half(&snapshot)?;
    let (newest, image) = states.last().cloned().expect("commits");
    let report = quiver::verify(&data, &|_, _| {})?;
    let damaged: Vec<_> = report.damaged().collect();
    assert_eq!(damaged.len(), 1, "{:?}", report.files);
    assert_eq!(damaged[0].path, snapshot);
    let why = damaged[0].damage.as_deref().unwrap_or_default();
    assert!(
        why.contains("its WAL archive holds an older snapshot"),
        "{why}"
    );
    assert_eq!(
        damaged[0].damage_kind,
        quiver::DamageKind::RestorableThroughArchive,
        "{why}"
    );
    assert_eq!(report.newest_commit(), Some(newest));
    let refused = quiver::restore(
        &data,
        &root.path().join("plain"),
        &RestoreOptions::new(),
        &|_, _| {},
    )
    .expect_err("the directory does not open");
    assert_eq!(refused.kind(), ErrorKind::Corrupt);
    assert!(
        refused.message().contains(&format!("--until {newest}")),
        "{refused}"
    );
    let restored = root.path().join("restored");
    restore_to(&data, &restored, newest)?;
    assert_eq!(opened_image(&restored)?, image);
    // Without the archive, nothing older holds those commits.
    std::fs::rename(data.join("archive"), root.path().join("archive"))?;
    let report = quiver::verify(&data, &|_, _| {})?;
    let damaged: Vec<_> = report.damaged().filter(|f| f.path == snapshot).collect();
    assert_eq!(damaged.len(), 1, "{:?}", report.files);
    let why = damaged[0].damage.as_deref().unwrap_or_default();
    assert!(
        why.contains("does not hold the history from the first commit"),
        "{why}"
    );
    assert_eq!(damaged[0].damage_kind, quiver::DamageKind::Other, "{why}");
    Ok(())
}

/// A directory with a WAL archive (4 rounds of history), then a snapshot copied by
/// hand: `place` gives, for the data directory, the file copied and where the copy
/// goes. verify names the copy alone (of `kind`, when given), never the genuine file
/// beside it, and the directory verifies once the copy is gone.
fn only_the_copy_is_damaged(
    place: impl Fn(&Path) -> (std::path::PathBuf, std::path::PathBuf),
    kind: Option<quiver::DamageKind>,
) -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = archived(&data, WalArchive::default())?;
    history(&db, 4)?;
    db.close()?;
    let (from, copy) = place(&data);
    assert!(!copy.exists(), "{}", copy.display());
    std::fs::copy(from, &copy)?;
    let report = quiver::verify(&data, &|_, _| {})?;
    let damaged: Vec<_> = report
        .damaged()
        .map(|f| (f.path.clone(), f.damage_kind))
        .collect();
    assert_eq!(damaged.len(), 1, "{:?}", report.files);
    assert_eq!(damaged[0].0, copy, "{:?}", report.files);
    if let Some(kind) = kind {
        assert_eq!(damaged[0].1, kind, "{:?}", report.files);
    }
    std::fs::remove_file(&copy)?;
    assert!(quiver::verify(&data, &|_, _| {})?.is_sound());
    Ok(())
}

/// The sequence number a snapshot's file name gives.
fn seq_of(name: &str) -> u64 {
    name[..20].parse().expect("a sequence number")
}

/// An older snapshot copied out of the archive into the directory under the name of
/// another one the archive holds: the copy is the damage, and the archive's sound
/// file under that name is not blamed for differing from it.
#[test]
fn a_copy_out_of_the_archive_is_the_damage_not_the_archive() -> Result<()> {
    only_the_copy_is_damaged(
        |data| {
            let archived = names(&data.join("archive/snapshots"));
            assert!(archived.len() >= 2, "{archived:?}");
            let (older, newer) = (&archived[archived.len() - 2], &archived[archived.len() - 1]);
            (
                data.join("archive/snapshots").join(newer),
                data.join("snapshots").join(older),
            )
        },
        None,
    )
}

/// The directory's newest snapshot copied into the archive under an earlier
/// sequence number than an archived one: the copy is the damage named, not the
/// archived snapshot after it.
#[test]
fn a_copy_into_the_archive_under_an_earlier_number_is_the_damage() -> Result<()> {
    only_the_copy_is_damaged(
        |data| {
            let archived = names(&data.join("archive/snapshots"));
            let newest = names(&data.join("snapshots")).pop().expect("a snapshot");
            let seq = seq_of(archived.last().expect("archived")) - 1;
            (
                data.join("snapshots").join(&newest),
                data.join("archive/snapshots")
                    .join(format!("{seq:020}_{}", &newest[21..])),
            )
        },
        None,
    )
}

/// An archived snapshot copied into `snapshots/` under an earlier number than the
/// archive's snapshots after it: the directory alone is in order, the archive and
/// the directory together are not, and the copy in `snapshots/` is the damage named
/// (out of order, so the advice is to move it, not to empty the archive).
#[test]
fn a_copy_out_of_the_archive_under_an_earlier_number_is_the_directorys_damage() -> Result<()> {
    only_the_copy_is_damaged(
        |data| {
            let archived = names(&data.join("archive/snapshots"));
            let newest = archived.last().expect("archived");
            let seq = seq_of(&archived[0]).saturating_sub(1);
            (
                data.join("archive/snapshots").join(newest),
                data.join("snapshots")
                    .join(format!("{seq:020}_{}", &newest[21..])),
            )
        },
        Some(quiver::DamageKind::OutOfOrder),
    )
}

/// The directory's newest snapshot replaced by the archive's newest (another
/// commit under its name): the archive and the WAL still hold every commit, so the
/// damage is restorable through the archive, and that restore gives the newest state.
#[test]
fn a_replaced_snapshot_is_restored_through_the_archive() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = archived(&data, WalArchive::default())?;
    let states = history(&db, 4)?;
    db.close()?;
    let (newest, image) = states.last().cloned().expect("commits");
    let archived_newest = names(&data.join("archive/snapshots"))
        .pop()
        .expect("archived");
    let own = names(&data.join("snapshots")).pop().expect("a snapshot");
    std::fs::copy(
        data.join("archive/snapshots").join(archived_newest),
        data.join("snapshots").join(&own),
    )?;
    let report = quiver::verify(&data, &|_, _| {})?;
    let damaged: Vec<_> = report.damaged().collect();
    assert_eq!(damaged.len(), 1, "{:?}", report.files);
    assert_eq!(
        damaged[0].damage_kind,
        quiver::DamageKind::RestorableThroughArchive,
        "{:?}",
        report.files
    );
    assert_eq!(report.newest_commit(), Some(newest));
    let restored = root.path().join("restored");
    restore_to(&data, &restored, newest)?;
    assert_eq!(opened_image(&restored)?, image);
    Ok(())
}

/// What the archive cannot recover is not said to be recovered, and a damaged
/// snapshot is never listed as sound: with the directory's WAL damaged too, or the
/// archive's own files damaged, the cut snapshot is plain damage and the archive's
/// damage does not claim the directory opens. A directory whose only snapshot was
/// moved out (its WAL then starts late) restores through the archive.
#[test]
fn the_archive_is_said_to_recover_only_what_it_does() -> Result<()> {
    let root = tempfile::tempdir()?;
    let pristine = root.path().join("pristine");
    let db = archived(&pristine, WalArchive::default())?;
    let states = history(&db, 3)?;
    db.close()?;
    let (newest, image) = states.last().cloned().expect("commits");
    let copy = |name: &str| -> Result<std::path::PathBuf> {
        let to = root.path().join(name);
        for sub in ["snapshots", "wal", "archive/snapshots", "archive/wal"] {
            std::fs::create_dir_all(to.join(sub))?;
            for f in names(&pristine.join(sub)) {
                std::fs::copy(pristine.join(sub).join(&f), to.join(sub).join(&f))?;
            }
        }
        std::fs::copy(pristine.join("quiver.mode"), to.join("quiver.mode"))?;
        Ok(to)
    };
    let only = |dir: &Path, sub: &str| dir.join(sub).join(names(&dir.join(sub)).remove(0));
    let restorable = |f: &quiver::CheckedFile| {
        f.damage_kind == quiver::DamageKind::RestorableThroughArchive
            || f.damage
                .as_deref()
                .is_some_and(|d| d.contains("its WAL archive holds"))
    };
    // The directory's WAL damaged too.
    let data = copy("wal-too")?;
    let snapshot = only(&data, "snapshots");
    cut_in_half(&snapshot)?;
    let segment = only(&data, "wal");
    let mut bytes = std::fs::read(&segment)?;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&segment, bytes)?;
    let report = quiver::verify(&data, &|_, _| {})?;
    let damaged: Vec<_> = report.damaged().map(|f| f.path.clone()).collect();
    assert!(damaged.contains(&snapshot), "{:?}", report.files);
    assert!(damaged.contains(&segment), "{:?}", report.files);
    assert!(!report.damaged().any(restorable), "{:?}", report.files);
    // The archive's newest snapshot cut as well.
    let data = copy("archive-too")?;
    let snapshot = only(&data, "snapshots");
    cut_in_half(&snapshot)?;
    let archived_newest = data.join("archive/snapshots").join(
        names(&data.join("archive/snapshots"))
            .pop()
            .expect("archived"),
    );
    cut_in_half(&archived_newest)?;
    let report = quiver::verify(&data, &|_, _| {})?;
    assert!(!report.damaged().any(restorable), "{:?}", report.files);
    for f in report.damaged() {
        let why = f.damage.as_deref().unwrap_or_default();
        assert!(!why.contains("itself opens"), "{why}");
    }
    // The directory's only snapshot with a damaged header (the snapshot listing
    // fails on it, which a restore to a point does not need).
    let data = copy("header")?;
    let snapshot = only(&data, "snapshots");
    let mut bytes = std::fs::read(&snapshot)?;
    bytes[20] ^= 0x55;
    std::fs::write(&snapshot, bytes)?;
    let report = quiver::verify(&data, &|_, _| {})?;
    let damaged: Vec<_> = report.damaged().collect();
    assert_eq!(damaged.len(), 1, "{:?}", report.files);
    assert!(restorable(damaged[0]), "{:?}", report.files);
    let restored = root.path().join("restored-header");
    restore_to(&data, &restored, newest)?;
    assert_eq!(opened_image(&restored)?, image);
    // The directory's only snapshot moved out: its WAL starts late, and the archive
    // holds what comes before.
    let data = copy("moved-out")?;
    std::fs::remove_file(only(&data, "snapshots"))?;
    let report = quiver::verify(&data, &|_, _| {})?;
    let damaged: Vec<_> = report.damaged().collect();
    assert!(!damaged.is_empty(), "{:?}", report.files);
    assert!(damaged.iter().all(|f| restorable(f)), "{:?}", report.files);
    let restored = root.path().join("restored");
    restore_to(&data, &restored, newest)?;
    assert_eq!(opened_image(&restored)?, image);
    Ok(())
}
