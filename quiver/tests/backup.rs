//! Online backup, verify and restore as library calls: a backup taken while writers
//! run holds every commit acknowledged before it began, verify finds a flipped byte
//! in every kind of file, restore refuses what it must and restores exactly the
//! backed-up state, in the backup's mode or another.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use engine_api::{
    ErrorKind, PropertyBounds, Result, StorageEngine, StorageMode, Transaction, TxnOptions,
};
use quiver::{Config, Database, MANIFEST_FILE, RestoreOptions, backup, restore, verify};

mod common;
use common::{fill, image};

const ALL: [StorageMode; 3] = [
    StorageMode::InMemoryTransactional,
    StorageMode::InMemoryAnalytical,
    StorageMode::OnDiskTransactional,
];

fn quiet(_: u64, _: u64) {}

fn open(dir: &Path) -> Result<Database> {
    Database::open(Config::new().data_directory(dir))
}

fn files_in(dir: &Path, sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn each_mode_backs_up_and_restores_into_every_mode() -> Result<()> {
    for from in ALL {
        let root = tempfile::tempdir()?;
        let data = root.path().join("data");
        let db = Database::open(Config::new().data_directory(&data).mode(from))?;
        fill(&db)?;
        let state = image(&db)?;
        let manifest = backup(&db, &root.path().join("backup"), &quiet)?;
        assert_eq!(manifest.mode, quiver::mode_name(from));
        db.close()?;
        let report = verify(&root.path().join("backup"), &quiet)?;
        assert!(report.is_sound(), "{report:?}");
        for to in ALL {
            let target = root.path().join(format!("restored-{to:?}"));
            let done = restore(
                &root.path().join("backup"),
                &target,
                &RestoreOptions::new().mode(to),
                &quiet,
            )?;
            assert_eq!(done.mode, to);
            let db = open(&target)?;
            assert_eq!(db.storage_mode(), to);
            assert_eq!(image(&db)?, state, "{from:?} restored as {to:?}");
            db.close()?;
        }
    }
    Ok(())
}

/// Two writers commit numbered vertices while a backup runs; every number
/// acknowledged before `backup` was called is in the restored database.
#[test]
fn a_backup_during_writes_holds_every_commit_acknowledged_before_it() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = Arc::new(open(&data)?);
    fill(&db)?;
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Vec<Arc<AtomicI64>> = (0..2).map(|_| Arc::new(AtomicI64::new(-1))).collect();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (db, stop, acked) = (db.clone(), stop.clone(), acked[w].clone());
            std::thread::spawn(move || -> Result<()> {
                let mut n = 0i64;
                while !stop.load(Ordering::Acquire) {
                    let mut t = db.begin(TxnOptions::new())?;
                    t.create_vertex_with(&["Tick"], &[("w", (w as i64).into()), ("n", n.into())])?;
                    t.commit()?;
                    acked.store(n, Ordering::Release);
                    n += 1;
                }
                Ok(())
            })
        })
        .collect();
    while acked.iter().any(|a| a.load(Ordering::Acquire) < 50) {
        std::thread::yield_now();
    }
    let before: Vec<i64> = acked.iter().map(|a| a.load(Ordering::Acquire)).collect();
    let manifest = backup(&db, &root.path().join("backup"), &quiet)?;
    stop.store(true, Ordering::Release);
    for w in writers {
        w.join().expect("a writer thread")?;
    }
    assert!(manifest.covered_commit_ts >= manifest.snapshot_commit_ts);
    let target = root.path().join("restored");
    restore(
        &root.path().join("backup"),
        &target,
        &RestoreOptions::new(),
        &quiet,
    )?;
    let restored = open(&target)?;
    let t = restored.begin(TxnOptions::new().read_only())?;
    for (w, last) in before.iter().enumerate() {
        let mut seen = std::collections::BTreeSet::new();
        for v in t.vertices_with_label("Tick")? {
            let v = v?;
            if t.vertex_property(v, "w")? == Some((w as i64).into())
                && let Some(engine_api::PropertyValue::Int(n)) = t.vertex_property(v, "n")?
            {
                seen.insert(n);
            }
        }
        for n in 0..=*last {
            assert!(seen.contains(&n), "writer {w}'s commit {n} is missing");
        }
    }
    Ok(())
}

/// A flipped byte in the snapshot, a WAL segment, the mode file or the manifest is
/// reported, naming the file, and restore refuses to write anything.
#[test]
fn verify_finds_a_flipped_byte_in_every_kind_of_file() -> Result<()> {
    let root = tempfile::tempdir()?;
    let db = open(&root.path().join("data"))?;
    fill(&db)?;
    let clean = root.path().join("clean");
    backup(&db, &clean, &quiet)?;
    db.close()?;
    let snapshot = files_in(&clean, "snapshots");
    let wal = files_in(&clean, "wal");
    assert_eq!(snapshot.len(), 1);
    assert!(!wal.is_empty(), "the backup copies the WAL segment in use");
    let victims = [
        (
            "snapshot",
            PathBuf::from("snapshots").join(snapshot[0].file_name().expect("a name")),
        ),
        (
            "WAL segment",
            PathBuf::from("wal").join(wal[0].file_name().expect("a name")),
        ),
        ("mode file", PathBuf::from(quiver::MODE_FILE)),
        ("manifest", PathBuf::from(MANIFEST_FILE)),
    ];
    for (kind, rel) in victims {
        let len = std::fs::metadata(clean.join(&rel))?.len();
        // The first byte, one in the middle and the last one.
        for at in [0, len / 2, len - 1] {
            let copy = root
                .path()
                .join(format!("damaged-{}-{at}", kind.replace(' ', "-")));
            copy_dir(&clean, &copy)?;
            let mut bytes = std::fs::read(copy.join(&rel))?;
            bytes[at as usize] ^= 0x20;
            std::fs::write(copy.join(&rel), bytes)?;
            let report = verify(&copy, &quiet)?;
            let damaged: Vec<_> = report.damaged().collect();
            assert!(
                damaged.iter().any(|f| f.path == copy.join(&rel)),
                "a flipped byte at {at} of the {kind} went unseen: {report:#?}"
            );
            let target = root
                .path()
                .join(format!("target-{}-{at}", kind.replace(' ', "-")));
            let err = restore(&copy, &target, &RestoreOptions::new(), &quiet)
                .expect_err("a damaged backup");
            assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
            assert!(
                files_in(&target, "snapshots").is_empty(),
                "nothing restored"
            );
        }
    }
    // A changed digit keeps the manifest valid JSON: its own checksum finds it.
    let copy = root.path().join("manifest-digit");
    copy_dir(&clean, &copy)?;
    let text = std::fs::read_to_string(copy.join(MANIFEST_FILE))?;
    let at = text.find("\"created_unix_ms\": ").expect("the field") + 20;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    std::fs::write(copy.join(MANIFEST_FILE), bytes)?;
    let report = verify(&copy, &quiet)?;
    assert!(
        report.damaged().any(|f| f.path == copy.join(MANIFEST_FILE)),
        "{report:#?}"
    );
    // A missing file is damage too.
    let copy = root.path().join("missing");
    copy_dir(&clean, &copy)?;
    std::fs::remove_file(copy.join("wal").join(wal[0].file_name().expect("a name")))?;
    assert!(!verify(&copy, &quiet)?.is_sound());
    Ok(())
}

#[test]
fn restore_refuses_a_used_target_unless_forced_and_then_keeps_its_files() -> Result<()> {
    let root = tempfile::tempdir()?;
    let db = open(&root.path().join("data"))?;
    fill(&db)?;
    let state = image(&db)?;
    backup(&db, &root.path().join("backup"), &quiet)?;
    // Later changes are not in the backup.
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Later"], &[])?;
    t.commit()?;
    db.close()?;
    let data = root.path().join("data");
    let err = restore(
        &root.path().join("backup"),
        &data,
        &RestoreOptions::new(),
        &quiet,
    )
    .expect_err("not empty");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("force"), "{err}");
    // While the directory is open, even a forced restore is refused.
    let held = open(&data)?;
    let err = restore(
        &root.path().join("backup"),
        &data,
        &RestoreOptions::new().force(true),
        &quiet,
    )
    .expect_err("held");
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    held.close()?;
    let done = restore(
        &root.path().join("backup"),
        &data,
        &RestoreOptions::new().force(true),
        &quiet,
    )?;
    let aside = done.moved_aside.expect("the old files went aside");
    assert!(aside.join("snapshots").exists() && aside.join("quiver.mode").exists());
    let db = open(&data)?;
    assert_eq!(image(&db)?, state);
    Ok(())
}

#[test]
fn a_snapshot_only_restore_gives_the_state_at_the_snapshot() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = open(&data)?;
    fill(&db)?;
    let at_snapshot = image(&db)?;
    db.create_snapshot()?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["AfterSnapshot"], &[])?;
    t.commit()?;
    let with_later = image(&db)?;
    std::mem::forget(db);
    // The data directory itself, copied as the plain workflow does (no manifest).
    let copy = root.path().join("copy");
    copy_dir(&data, &copy)?;
    std::fs::remove_file(copy.join(".lock"))?;
    assert!(verify(&copy, &quiet)?.is_sound());
    let full = root.path().join("full");
    restore(&copy, &full, &RestoreOptions::new(), &quiet)?;
    assert_eq!(image(&open(&full)?)?, with_later);
    let only = root.path().join("only");
    restore(
        &copy,
        &only,
        &RestoreOptions::new().snapshot_only(true),
        &quiet,
    )?;
    let db = open(&only)?;
    assert_eq!(image(&db)?, at_snapshot);
    let t = db.begin(TxnOptions::new().read_only())?;
    assert_eq!(
        t.vertices_with_property("Person", "n", &PropertyBounds::equal(3.into()))?
            .count(),
        1
    );
    Ok(())
}

/// The running database has just created its next WAL segment and not yet written
/// its header when the backup lists the directory: the backup goes on, and the
/// restored database holds everything (the segment before it included).
#[test]
fn a_backup_while_the_next_wal_segment_is_being_created_holds_everything() -> Result<()> {
    for written in [0usize, 20] {
        let root = tempfile::tempdir()?;
        let data = root.path().join("data");
        let db = open(&data)?;
        fill(&db)?;
        db.create_snapshot()?;
        let mut t = db.begin(TxnOptions::new())?;
        t.create_vertex_with(&["AfterSnapshot"], &[])?;
        t.commit()?;
        let state = image(&db)?;
        // The next segment as the WAL writer creates it: the file first, then its
        // header (here the first `written` bytes of one).
        let segments = files_in(&data, "wal");
        let newest = segments.last().expect("a WAL segment");
        let seq: u64 = newest
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .expect("a numbered segment");
        let header = std::fs::read(newest)?;
        let next = newest.with_file_name(format!("{:020}.wal", seq + 1));
        std::fs::write(&next, &header[..written])?;

        let dest = root.path().join("backup");
        backup(&db, &dest, &quiet).map_err(|e| {
            engine_api::Error::new(e.kind(), format!("{written} header bytes written: {e}"))
        })?;
        let names = |dir: &Path| -> Vec<_> {
            files_in(dir, "wal")
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_owned()))
                .collect()
        };
        let copied = names(&dest);
        let live = names(&data);
        assert!(
            live[live.len() - 2..].iter().all(|n| copied.contains(n)),
            "{written} header bytes written: the backup has {copied:?} of {live:?}"
        );
        std::mem::forget(db);
        let target = root.path().join("restored");
        restore(&dest, &target, &RestoreOptions::new(), &quiet)?;
        assert_eq!(
            image(&open(&target)?)?,
            state,
            "{written} header bytes written"
        );
    }
    Ok(())
}

#[test]
fn a_memory_only_database_has_nothing_to_back_up() -> Result<()> {
    let db = Database::open(Config::new())?;
    let dest = tempfile::tempdir()?;
    let err = backup(&db, dest.path(), &quiet).expect_err("memory-only");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// The documented plain-copy workflow: a recursive copy of `snapshots/` with any tool
/// (here `cp -r`) while snapshots are being written meets only whole files. A
/// snapshot in progress lives outside `snapshots/` until it is renamed in; with it
/// inside, `cp` failed on a temporary file that vanished under it.
#[test]
fn a_plain_copy_of_snapshots_races_with_snapshot_creation() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = Database::open(
        Config::new()
            .data_directory(&data)
            .durability(engine_api::DurabilityConfig::default().snapshot_retention(2)),
    )?;
    let mut t = db.begin(TxnOptions::new())?;
    for i in 0..5_000i64 {
        t.create_vertex_with(
            &["Item"],
            &[("n", i.into()), ("pad", "x".repeat(32).into())],
        )?;
    }
    t.commit()?;
    // The documented workflow: deletions wait while the directory is locked.
    db.lock_data_directory()?;
    let stop = AtomicBool::new(false);
    let written = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 100 {
                db.create_snapshot().expect("a snapshot");
                n += 1;
            }
            n
        });
        let mut failures = Vec::new();
        for i in 0..100 {
            let out = std::process::Command::new("cp")
                .arg("-r")
                .arg(data.join("snapshots"))
                .arg(root.path().join(format!("copy-{i}")))
                .output()
                .expect("cp runs");
            if !out.status.success() {
                failures.push(String::from_utf8_lossy(&out.stderr).to_string());
            }
        }
        stop.store(true, Ordering::Relaxed);
        let n = writer.join().expect("the writer");
        assert!(
            failures.is_empty(),
            "{} copies failed: {failures:?}",
            failures.len()
        );
        n
    });
    assert!(
        written > 3,
        "snapshots were written during the copies ({written})"
    );
    db.unlock_data_directory()?;
    // Every copy holds whole snapshots only.
    let copy = root.path().join("copy-99");
    for entry in std::fs::read_dir(&copy)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp"),
            "a file in progress was copied: {name}"
        );
        durability::snapshot::read_snapshot_header(&entry.path())?;
    }
    db.close()?;
    Ok(())
}

/// A restore of a snapshot into the on-disk mode reports its RocksDB build as a
/// third leg of its progress: the snapshot's bytes, ending at (bytes, bytes), after
/// the copy's. A restore of a backup of RocksDB's files copies them, its progress
/// ending at the bytes the manifest lists.
#[test]
fn a_restore_into_on_disk_shows_the_build_as_progress() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = Database::open(
        Config::new()
            .data_directory(&data)
            .mode(StorageMode::InMemoryAnalytical),
    )?;
    fill(&db)?;
    backup(&db, &root.path().join("backup"), &quiet)?;
    db.close()?;
    let snapshot_bytes: u64 = std::fs::read_dir(root.path().join("backup/snapshots"))?
        .flatten()
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();
    let calls = std::sync::Mutex::new(Vec::new());
    restore(
        &root.path().join("backup"),
        &root.path().join("restored"),
        &RestoreOptions::new().mode(StorageMode::OnDiskTransactional),
        &|done, total| calls.lock().expect("calls").push((done, total)),
    )?;
    let calls = calls.into_inner().expect("calls");
    let whole = (snapshot_bytes, snapshot_bytes);
    assert_eq!(calls.last(), Some(&whole), "the progress ends whole");
    // The build's leg starts at zero after the copy's ended whole (the legs of an
    // on-disk backup, its snapshot alone, have the same length).
    let start = calls.iter().rposition(|c| *c == (0, snapshot_bytes));
    assert!(
        start.is_some_and(|i| i > 0 && calls[i - 1] == whole),
        "no build leg after the copy: {calls:?}"
    );

    let on_disk = Database::open(
        Config::new()
            .data_directory(root.path().join("ondisk"))
            .mode(StorageMode::OnDiskTransactional),
    )?;
    fill(&on_disk)?;
    let manifest = backup(&on_disk, &root.path().join("files"), &quiet)?;
    let expected = image(&on_disk)?;
    on_disk.close()?;
    let listed: u64 = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("rocksdb/") || f.path.starts_with("wal/"))
        .map(|f| f.size)
        .sum();
    assert!(
        root.path().join("files/rocksdb").is_dir(),
        "RocksDB's files"
    );
    assert!(
        !root
            .path()
            .join("files/snapshots")
            .read_dir()?
            .any(|_| true),
        "no export"
    );
    let calls = std::sync::Mutex::new(Vec::new());
    restore(
        &root.path().join("files"),
        &root.path().join("files-restored"),
        &RestoreOptions::new(),
        &|done, total| calls.lock().expect("calls").push((done, total)),
    )?;
    let calls = calls.into_inner().expect("calls");
    assert_eq!(calls.last(), Some(&(listed, listed)), "{calls:?}");
    let restored =
        Database::open(Config::new().data_directory(root.path().join("files-restored")))?;
    assert_eq!(image(&restored)?, expected);
    restored.close()?;
    Ok(())
}

/// A staging directory a killed command left beside a target (its lock file no
/// longer held) is removed by the next command that stages there; one whose lock a
/// running command holds, and one without a lock file, are left alone.
#[test]
fn abandoned_staging_directories_are_removed_by_the_next_command() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = Database::open(Config::new().data_directory(&data))?;
    fill(&db)?;
    let backups = root.path().join("backups");
    std::fs::create_dir(&backups)?;
    let stage = |name: &str, lock: bool| -> Result<PathBuf> {
        let dir = backups.join(name);
        std::fs::create_dir_all(dir.join("backup/snapshots"))?;
        std::fs::write(dir.join("backup/snapshots/big"), vec![7u8; 4096])?;
        if lock {
            std::fs::write(dir.join(".staging.lock"), b"")?;
        }
        Ok(dir)
    };
    let killed = stage(".quiver-backup-killed", true)?;
    let killed_restore = stage(".quiver-restore-killed", true)?;
    let running = stage(".quiver-aggregate-running", true)?;
    let held = std::fs::File::open(running.join(".staging.lock"))?;
    held.try_lock().expect("the test holds it");
    let unlocked = stage(".quiver-backup-older-build", false)?;
    let other = stage("quiver-backup-not-ours", true)?;
    backup(&db, &backups.join("monday"), &quiet)?;
    assert!(
        !killed.exists() && !killed_restore.exists(),
        "abandoned ones removed"
    );
    assert!(
        running.exists(),
        "a running command's staging is left alone"
    );
    assert!(unlocked.exists() && other.exists(), "others are left alone");
    assert!(verify(&backups.join("monday"), &quiet)?.is_sound());
    drop(held);
    db.close()?;
    Ok(())
}

/// A name of ours on a folder is damage at exactly that path, also where the data
/// directory's own path holds ": " (verify once cut the path out of the listing's
/// message at the first ": ").
#[test]
fn an_entry_that_is_no_file_is_named_by_its_whole_path() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("a: b").join("data");
    std::fs::create_dir_all(&data)?;
    let db = open(&data)?;
    fill(&db)?;
    db.close()?;
    let folder = data
        .join("snapshots")
        .join(durability::dir::snapshot_file_name(99, 99));
    std::fs::create_dir(&folder)?;
    let report = verify(&data, &quiet)?;
    let damaged: Vec<_> = report.damaged().collect();
    assert_eq!(damaged.len(), 1, "{damaged:?}");
    assert_eq!(damaged[0].path, folder);
    assert_eq!(damaged[0].kind, "entry");
    assert!(
        damaged[0]
            .damage
            .as_deref()
            .is_some_and(|d| d.starts_with("named as a snapshot but not a regular file")),
        "{damaged:?}"
    );
    assert!(open(&data).is_err(), "opening refuses it too");
    // With a WAL archive beside it, the same report (verify once failed with the
    // listing's error there).
    std::fs::create_dir_all(data.join("archive").join("snapshots"))?;
    let report = verify(&data, &quiet)?;
    let damaged: Vec<_> = report.damaged().map(|f| f.path.clone()).collect();
    assert_eq!(damaged, vec![folder.clone()]);
    // The same entry in the archive: damage there, and the directory opens.
    let archived = data
        .join("archive")
        .join("snapshots")
        .join(folder.file_name().expect("a name"));
    std::fs::rename(&folder, &archived)?;
    let report = verify(&data, &quiet)?;
    let damaged: Vec<_> = report.damaged().map(|f| f.path.clone()).collect();
    assert_eq!(damaged, vec![archived]);
    open(&data)?.close()?;
    Ok(())
}

/// A closed data directory `root/data` with the workload and a snapshot; its
/// directory and the snapshot's file name.
fn closed_with_a_snapshot(root: &Path) -> Result<(PathBuf, String)> {
    let data = root.join("data");
    let db = open(&data)?;
    fill(&db)?;
    let newest = db.create_snapshot()?;
    db.close()?;
    let name = newest.path.file_name().expect("a name").to_string_lossy();
    Ok((data, name.into_owned()))
}

/// verify's notes that name a leftover of an interrupted write.
fn leftover_notes(notes: &[String]) -> Vec<&String> {
    notes
        .iter()
        .filter(|n| n.contains("interrupted snapshot write"))
        .collect()
}

/// What a snapshot write killed midway leaves (a temporary file under
/// `.in-progress/`, as large as the part written) is named by verify as a note, not
/// damage (opening never reads it); the next open removes it, and verify then says
/// nothing of it. A folder under such a name is not ours and is not named.
#[test]
fn verify_names_a_killed_snapshot_writes_leftover_and_opening_removes_it() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, name) = closed_with_a_snapshot(root.path())?;
    let in_progress = data.join(durability::dir::IN_PROGRESS);
    std::fs::create_dir_all(&in_progress)?;
    let leftover = in_progress.join(format!("{name}.tmp"));
    std::fs::write(&leftover, vec![7u8; 12_345])?;
    let not_ours = data.join("snapshots").join(format!(".{name}.tmp"));
    std::fs::create_dir_all(&not_ours)?;

    let report = quiver::verify(&data, &quiet)?;
    assert!(report.is_sound(), "{report:?}");
    let named = leftover_notes(&report.notes);
    assert_eq!(named.len(), 1, "{:?}", report.notes);
    // The bytes it takes on disk: at least its length, in whole blocks.
    let on_disk: u64 = named[0]
        .split(" (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {}", named[0]));
    assert!(
        named[0].contains(&leftover.display().to_string()) && on_disk >= 12_345,
        "{}",
        named[0]
    );

    drop(open(&data)?);
    assert!(!leftover.exists(), "the open removed the leftover");
    assert!(not_ours.is_dir(), "a folder under such a name stays");
    let report = quiver::verify(&data, &quiet)?;
    assert!(
        leftover_notes(&report.notes).is_empty(),
        "{:?}",
        report.notes
    );
    Ok(())
}

/// A link where `.in-progress/` belongs is not ours: files under our names behind it
/// are neither named by verify nor removed by an open, verify says what the link
/// means, and snapshots are still written (inside `snapshots/`).
#[test]
fn a_link_where_the_in_progress_folder_belongs_is_left_alone() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, name) = closed_with_a_snapshot(root.path())?;
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere)?;
    let precious = [
        elsewhere.join(format!("{name}.tmp")),
        // As retention names a file it moved aside to remove (the snapshot above
        // is among those the snapshots below make it delete).
        elsewhere.join(format!("{}.deleted", durability::dir::segment_file_name(4))),
        elsewhere.join(format!("{name}.deleted")),
    ];
    for p in &precious {
        std::fs::write(p, b"precious")?;
    }
    let in_progress = data.join(durability::dir::IN_PROGRESS);
    std::fs::remove_dir_all(&in_progress).or_else(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Ok(()),
        _ => Err(e),
    })?;
    std::os::unix::fs::symlink(&elsewhere, &in_progress)?;

    let report = quiver::verify(&data, &quiet)?;
    assert!(report.is_sound(), "{report:?}");
    assert!(
        leftover_notes(&report.notes).is_empty(),
        "{:?}",
        report.notes
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("is a link, where the folder of snapshots in progress belongs")),
        "{:?}",
        report.notes
    );
    // More snapshots than retention keeps (3): the old ones are deleted in place,
    // not moved through the link (a file there under the same name was replaced).
    let db = open(&data)?;
    for _ in 0..5 {
        let written = db.create_snapshot()?;
        assert!(
            written.path.starts_with(data.join("snapshots")),
            "{}",
            written.path.display()
        );
    }
    assert_eq!(db.snapshots()?.len(), 3, "retention ran");
    db.close()?;
    for p in &precious {
        assert_eq!(
            std::fs::read(p)?,
            b"precious",
            "{} was touched",
            p.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(&elsewhere)?.count(),
        3,
        "nothing was written behind the link"
    );

    // The on-disk mode's backup makes its checkpoint under `.in-progress/`: refused
    // with a link there, and nothing is written behind it.
    let on_disk = root.path().join("on-disk");
    let db = Database::open(
        Config::new()
            .data_directory(&on_disk)
            .mode(StorageMode::OnDiskTransactional),
    )?;
    fill(&db)?;
    let place = on_disk.join(durability::dir::IN_PROGRESS);
    std::fs::remove_dir_all(&place).or_else(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Ok(()),
        _ => Err(e),
    })?;
    std::os::unix::fs::symlink(&elsewhere, &place)?;
    let e = backup(&db, &root.path().join("on-disk-backup"), &quiet)
        .expect_err("a link where the checkpoint goes");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("is a link"), "{e}");
    db.close()?;
    // Opening removes the checkpoints a killed backup left in `.in-progress/`, but
    // none behind a link.
    let foreign = elsewhere.join(format!(
        "{}someone-else's",
        engine_ondisk::CHECKPOINT_PREFIX
    ));
    std::fs::create_dir_all(&foreign)?;
    Database::open(
        Config::new()
            .data_directory(&on_disk)
            .mode(StorageMode::OnDiskTransactional),
    )?
    .close()?;
    assert!(foreign.is_dir(), "a folder behind the link was removed");
    std::fs::remove_dir(&foreign)?;
    assert_eq!(
        std::fs::read_dir(&elsewhere)?.count(),
        3,
        "nothing was written behind the link"
    );
    Ok(())
}
