//! The `quiver` binary, run as a user would: the backup-and-restore workflow end
//! to end, verify's exit code on damage, a held directory, the mode rules, dump and
//! load, migrate, info, and `--help` with an example for every command.

use std::path::Path;
use std::process::{Command, Output};

use engine_api::{Result, StorageEngine, Transaction, TxnOptions};
use quiver::{Config, Database};

#[path = "../../tests/common/mod.rs"]
mod common;
use common::{fill, filled_directory, image};

fn quiver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .output()
        .expect("the quiver binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Runs the command, expects `code`, returns stdout.
fn expect(args: &[&str], code: i32) -> String {
    let out = quiver(args);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "quiver {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

/// The snapshot files of the data directory `dir`, oldest first (their names sort
/// by sequence number).
fn sorted_snapshots(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut snapshots: Vec<_> = std::fs::read_dir(dir.join("snapshots"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    snapshots.sort();
    Ok(snapshots)
}

/// Two one-vertex dumps in `dir`: `first.cypherl` (Lyon) and `second.cypherl` (Nice).
fn two_city_dumps(dir: &Path) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let mut files = Vec::new();
    for (i, (file, city)) in [("first", "Lyon"), ("second", "Nice")]
        .into_iter()
        .enumerate()
    {
        let path = dir.join(format!("{file}.cypherl"));
        std::fs::write(
            &path,
            format!("CREATE (:__mg_vertex__:`City` {{__mg_id__: {i}, `name`: \"{city}\"}});\n"),
        )?;
        files.push(path);
    }
    let second = files.pop().expect("two files");
    let first = files.pop().expect("two files");
    Ok((first, second))
}

fn p(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn open(dir: &Path) -> Result<Database> {
    Database::open(Config::new().data_directory(dir))
}

#[test]
fn the_backup_and_restore_workflow_end_to_end() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backup) = (root.path().join("data"), root.path().join("backup"));
    let state = filled_directory(&data)?;
    let out = expect(&["backup", p(&data), p(&backup)], 0);
    assert!(out.contains("backed up"), "{out}");
    let out = expect(&["verify", p(&backup)], 0);
    assert!(out.contains("ok       snapshot"), "{out}");
    assert!(out.contains("ok       manifest"), "{out}");
    // The data directory is lost.
    std::fs::remove_dir_all(&data)?;
    expect(&["restore", p(&backup), p(&data)], 0);
    let db = open(&data)?;
    assert_eq!(image(&db)?, state);
    // Changes after the restore, then a forced restore: back to the backup, the
    // later files kept aside.
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Later"], &[])?;
    t.commit()?;
    db.close()?;
    let out = expect(&["restore", p(&backup), p(&data)], 6);
    assert!(out.is_empty());
    let out = expect(&["restore", "--force", p(&backup), p(&data)], 0);
    assert!(out.contains(".backup"), "{out}");
    assert_eq!(image(&open(&data)?)?, state);
    Ok(())
}

#[test]
fn verify_exits_with_3_and_names_a_damaged_file() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backup) = (root.path().join("data"), root.path().join("backup"));
    filled_directory(&data)?;
    expect(&["backup", p(&data), p(&backup)], 0);
    let snapshot = std::fs::read_dir(backup.join("snapshots"))?
        .next()
        .expect("a snapshot")?
        .path();
    let mut bytes = std::fs::read(&snapshot)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&snapshot, bytes)?;
    let out = expect(&["verify", p(&backup)], 3);
    let line = out
        .lines()
        .find(|l| l.starts_with("DAMAGED"))
        .expect("a DAMAGED line");
    assert!(line.contains(p(&snapshot)), "{line}");
    // And restore refuses it with the corrupt-data code, writing nothing.
    let target = root.path().join("target");
    expect(&["restore", p(&backup), p(&target)], 5);
    assert!(!target.join("snapshots").exists());
    Ok(())
}

#[test]
fn a_held_directory_is_locked_naming_the_holder_and_the_online_backup() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = open(&data)?;
    fill(&db)?;
    let out = quiver(&["backup", p(&data), p(&root.path().join("b"))]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains(&format!("process {}", std::process::id())),
        "{stderr}"
    );
    assert!(stderr.contains("quiver::backup"), "{stderr}");
    // Listing snapshots reads no lock.
    db.create_snapshot()?;
    let out = expect(&["snapshot", "list", p(&data)], 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    db.close()?;
    Ok(())
}

#[test]
fn mode_get_and_set_follow_the_rules() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let state = filled_directory(&data)?;
    assert_eq!(
        expect(&["mode", "get", p(&data)], 0).trim(),
        "IN_MEMORY_TRANSACTIONAL"
    );
    let out = expect(&["mode", "set", p(&data), "analytical"], 0);
    assert!(out.contains("objects/s"), "{out}");
    assert_eq!(
        expect(&["mode", "get", p(&data)], 0).trim(),
        "IN_MEMORY_ANALYTICAL"
    );
    assert_eq!(image(&open(&data)?)?, state);
    // With data, the on-disk mode is refused.
    let out = quiver(&["mode", "set", p(&data), "ON_DISK_TRANSACTIONAL"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("migrate"), "{stderr}");
    // Constraints refuse the analytical mode.
    expect(&["mode", "set", p(&data), "txn"], 0);
    let db = open(&data)?;
    db.create_constraint(&engine_api::ConstraintSpec::Exists {
        label: "Person".into(),
        property: "n".into(),
    })?;
    db.close()?;
    let out = quiver(&["mode", "set", p(&data), "analytical"]);
    assert_eq!(out.status.code(), Some(6), "{:?}", text(&out));
    assert_eq!(
        expect(&["mode", "get", p(&data)], 0).trim(),
        "IN_MEMORY_TRANSACTIONAL"
    );
    // An unknown mode is a usage error.
    expect(&["mode", "set", p(&data), "FAST"], 2);
    Ok(())
}

#[test]
fn dump_load_migrate_and_info() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let state = filled_directory(&data)?;
    let file = root.path().join("graph.cypherl");
    expect(&["dump", p(&data), "-o", p(&file)], 0);
    let stdout_dump = expect(&["dump", p(&data)], 0);
    assert_eq!(std::fs::read_to_string(&file)?, stdout_dump);
    let loaded = root.path().join("loaded");
    let out = expect(&["load", p(&loaded), p(&file), "--mode", "analytical"], 0);
    assert!(out.contains("loaded 49 vertices, 47 edges"), "{out}");
    assert_eq!(expect(&["dump", p(&loaded)], 0), stdout_dump);
    let migrated = root.path().join("migrated");
    expect(&["migrate", p(&data), p(&migrated), "--mode", "ondisk"], 0);
    let db = open(&migrated)?;
    assert_eq!(image(&db)?, state, "migrate keeps ids");
    db.close()?;
    let out = expect(&["info", p(&migrated)], 0);
    for wanted in [
        "ON_DISK_TRANSACTIONAL",
        "vertices        49",
        "edges           47",
        "database id",
    ] {
        assert!(out.contains(wanted), "{wanted}: {out}");
    }
    let out = expect(&["info", p(&data)], 0);
    assert!(out.contains("WAL segments"), "{out}");
    expect(&["info", p(&root.path().join("nothing"))], 1);
    // A directory that is not a database is not turned into one by reading it.
    let stranger = root.path().join("stranger");
    std::fs::create_dir_all(&stranger)?;
    std::fs::write(stranger.join("notes.txt"), "mine")?;
    let b2 = root.path().join("b2");
    for args in [
        &["info"][..],
        &["dump"],
        &["snapshot", "create"],
        &["backup"],
    ] {
        let mut full = args.to_vec();
        full.push(p(&stranger));
        if args == ["backup"] {
            full.push(p(&b2));
        }
        let out = quiver(&full);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {:?}", text(&out));
        assert!(
            text(&out).1.contains("holds no Quiver database"),
            "{:?}",
            text(&out)
        );
    }
    let entries: Vec<_> = std::fs::read_dir(&stranger)?.flatten().collect();
    assert_eq!(
        entries.len(),
        1,
        "nothing was created in {}",
        stranger.display()
    );
    expect(&["verify", p(&root.path().join("nothing"))], 1);
    Ok(())
}

#[test]
fn every_command_has_help_with_an_example() {
    for args in [
        &["info"][..],
        &["snapshot", "create"],
        &["snapshot", "list"],
        &["backup"],
        &["verify"],
        &["restore"],
        &["dump"],
        &["load"],
        &["mode", "get"],
        &["mode", "set"],
        &["migrate"],
    ] {
        let mut full = args.to_vec();
        full.push("--help");
        let out = expect(&full, 0);
        assert!(out.contains("Example"), "{args:?}: {out}");
    }
    let out = expect(&["--help"], 0);
    assert!(out.contains("Exit codes"), "{out}");
    // The benchmark report is scripts/report.sh: not a command of this binary.
    assert!(
        !out.lines().any(|l| l.trim_start().starts_with("report")),
        "{out}"
    );
    expect(&["report", "--help"], 2);
}

/// A dump onto a full disk fails with exit code 1 and leaves no file: a dump has no
/// end marker, so a truncated one under the requested name would later load short.
#[test]
fn a_dump_onto_a_full_disk_leaves_no_file() -> Result<()> {
    let Some(disk) = common::SmallDisk::mount(4096) else {
        return Ok(());
    };
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    filled_directory(&data)?;
    let whole = expect(&["dump", p(&data)], 0);
    assert!(whole.len() > 4096, "the dump is larger than the disk");
    let file = disk.dir.join("graph.cypherl");
    let out = quiver(&["dump", p(&data), "-o", p(&file)]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&disk.dir)?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "nothing left on the disk: {left:?}");
    Ok(())
}

/// `info` and `dump` only read: on an on-disk backup (RocksDB's files) they read
/// it through a scratch directory, and the backup still verifies and restores
/// afterwards; a damaged backup's error names the backup's file. A dump's `-o`
/// naming a directory or a file inside the data directory, and a restore under a
/// file, are refused before any work.
#[test]
fn reading_an_on_disk_backup_leaves_it_as_it_was() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backup) = (root.path().join("data"), root.path().join("backup"));
    let db = Database::open(
        Config::new()
            .data_directory(&data)
            .mode(engine_api::StorageMode::OnDiskTransactional),
    )?;
    fill(&db)?;
    let state = image(&db)?;
    db.close()?;
    expect(&["backup", p(&data), p(&backup)], 0);
    let before: Vec<_> = std::fs::read_dir(&backup)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()?;
    let out = expect(&["info", p(&backup)], 0);
    assert!(out.contains("this backup's files"), "{out}");
    assert!(out.contains("ON_DISK_TRANSACTIONAL"), "{out}");
    let dumped = expect(&["dump", p(&backup)], 0);
    assert!(dumped.contains("CREATE"), "{dumped}");
    let after: Vec<_> = std::fs::read_dir(&backup)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()?;
    assert_eq!(after, before, "a read added files to the backup");
    expect(&["verify", p(&backup)], 0);
    // A damaged backup's error names the backup, not the copy read.
    let damaged = root.path().join("damaged");
    std::fs::create_dir(&damaged)?;
    for entry in std::fs::read_dir(&backup)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            std::fs::create_dir(damaged.join(entry.file_name()))?;
            for inner in std::fs::read_dir(entry.path())? {
                let inner = inner?;
                let to = damaged.join(entry.file_name()).join(inner.file_name());
                std::fs::copy(inner.path(), &to)?;
                if entry.file_name() == "rocksdb"
                    && inner.file_name().to_string_lossy().ends_with(".sst")
                {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&to)?
                        .set_len(100)?;
                }
            }
        } else {
            std::fs::copy(entry.path(), damaged.join(entry.file_name()))?;
        }
    }
    let out = quiver(&["info", p(&damaged)]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains(p(&damaged.join("rocksdb"))), "{stderr}");
    let restored = root.path().join("restored");
    expect(&["restore", p(&backup), p(&restored)], 0);
    assert_eq!(image(&open(&restored)?)?, state);

    let out = quiver(&["dump", p(&data), "-o", p(root.path())]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");
    // Under one of the database's own names: refused, the file kept.
    let mode_file = data.join("quiver.mode");
    let before = std::fs::read(&mode_file)?;
    let out = quiver(&["dump", p(&data), "-o", p(&mode_file)]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("lies inside"), "{stderr}");
    assert_eq!(std::fs::read(&mode_file)?, before);
    let file = root.path().join("afile");
    std::fs::write(&file, "x")?;
    let out = quiver(&["restore", p(&backup), p(&file.join("sub"))]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("is a file, not a directory"), "{stderr}");
    Ok(())
}

/// Without a WAL a schema change takes a commit timestamp of its own, so a snapshot
/// written after one is never mistaken for an older snapshot of the same state: with
/// the newest snapshot of a loaded dump damaged, the older one (written before the
/// dump's constraints were created) is not passed over as holding everything —
/// verify finds the damage and opening refuses (the helper's run found the schema
/// silently gone).
#[test]
fn a_damaged_snapshot_that_alone_held_the_schema_is_not_passed_over() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let dump = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../dump/tests/golden/ours.cypherl"
    );
    expect(&["load", p(&data), dump], 0);
    let snapshots = sorted_snapshots(&data)?;
    let newest = snapshots.last().expect("a snapshot");
    assert!(snapshots.len() >= 2, "{snapshots:?}");
    let len = std::fs::metadata(newest)?.len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(newest)?
        .set_len(len - 40)?;
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("cannot be recovered"), "{stdout}");
    let out = quiver(&["info", p(&data)]);
    assert_eq!(out.status.code(), Some(5), "{:?}", text(&out));

    // IN_MEMORY_ANALYTICAL keeps no WAL: nothing holds the commits the damaged
    // newest snapshot held, so verify finds damage and opening refuses, saying how
    // to accept the older state; moving the file aside does.
    let small = root.path().join("small.cypherl");
    std::fs::write(
        &small,
        "CREATE (:__mg_vertex__:`City` {__mg_id__: 0, `name`: \"Lyon\"});\n",
    )?;
    let index = root.path().join("index.cypherl");
    std::fs::write(&index, "CREATE INDEX ON :`City`(`name`);\n")?;
    let analytical = root.path().join("analytical");
    expect(
        &["load", p(&analytical), p(&small), "--mode", "analytical"],
        0,
    );
    expect(&["load", p(&analytical), p(&index), "--into-existing"], 0);
    let snapshots = sorted_snapshots(&analytical)?;
    let newest = snapshots.last().expect("a snapshot");
    std::fs::OpenOptions::new()
        .write(true)
        .open(newest)?
        .set_len(100)?;
    let out = quiver(&["verify", p(&analytical)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("cannot be recovered"), "{stdout}");
    let out = quiver(&["info", p(&analytical)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("cannot be recovered") && stderr.contains("move the damaged snapshot"),
        "{stderr}"
    );
    std::fs::rename(newest, root.path().join("damaged.snapshot"))?;
    expect(&["verify", p(&analytical)], 0);
    let out = quiver(&["info", p(&analytical)]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    Ok(())
}

/// Two damaged snapshots of IN_MEMORY_TRANSACTIONAL holding a commit neither the
/// older snapshot nor the WAL holds: verify names both as damaged (it named only the
/// first and listed the other as ok, while opening named that other one), so moving
/// what verify names aside is enough.
#[test]
fn verify_names_every_damaged_snapshot_opening_would_need() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (first, second) = two_city_dumps(root.path())?;
    // Cut inside the body, then inside the header: a header that does not read also
    // fails the listing, but what verify says of it is that opening fails (it said
    // only that the listing fails).
    for cut in [200, 10] {
        let data = root.path().join(format!("data-{cut}"));
        expect(&["load", p(&data), p(&first)], 0);
        expect(&["load", p(&data), p(&second), "--into-existing"], 0);
        expect(&["snapshot", "create", p(&data)], 0);
        let snapshots = sorted_snapshots(&data)?;
        assert!(snapshots.len() >= 3, "{snapshots:?}");
        // The WAL may hold the second load's commit: empty it, so only the two newest
        // snapshots do.
        for entry in std::fs::read_dir(data.join("wal"))? {
            std::fs::remove_file(entry?.path())?;
        }
        let damaged = &snapshots[snapshots.len() - 2..];
        for file in damaged {
            std::fs::OpenOptions::new()
                .write(true)
                .open(file)?
                .set_len(cut)?;
        }
        let out = quiver(&["verify", p(&data)]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
        for file in damaged {
            let name = file.file_name().and_then(|n| n.to_str()).expect("a name");
            let line = stdout
                .lines()
                .find(|l| l.contains(name))
                .unwrap_or_else(|| panic!("{name} not listed: {stdout}"));
            assert!(line.starts_with("DAMAGED"), "{line}\n{stdout}");
            assert!(line.contains("cannot be recovered"), "{line}");
            assert!(!line.contains(".."), "commits named as words: {line}");
        }
        assert!(
            stderr.contains("does not open") && !stderr.contains("listing the snapshots of"),
            "cut at {cut}: {stderr}"
        );
        assert!(
            stderr.contains("move the damaged snapshots out of")
                && stderr.contains("quiver restore"),
            "both ways out: {stderr}"
        );
        expect(&["info", p(&data)], 5);
        let aside = root.path().join(format!("aside-{cut}"));
        std::fs::create_dir_all(&aside)?;
        for file in damaged {
            std::fs::rename(file, aside.join(file.file_name().expect("a name")))?;
        }
        expect(&["verify", p(&data)], 0);
        expect(&["info", p(&data)], 0);
    }
    Ok(())
}

/// Two kinds of damage in `snapshots/` that opening alone would not see:
/// - a copy of the older snapshot under a later sequence number would be loaded as
///   the newest (a silent return to its state): every command refuses it, naming
///   both files, and verify's hint says to move one;
/// - an older snapshot cut to nothing, which opening does not need, fails only the
///   listing: `info` still shows the rest, says why the listing fails, and exits 5
///   with a hint, as verify (exit 3) names it.
#[test]
fn snapshots_out_of_order_or_unreadable_are_named_by_every_command() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = two_snapshots(root.path())?;
    let snapshots = sorted_snapshots(&data)?;
    let (oldest, newest) = (&snapshots[0], &snapshots[snapshots.len() - 1]);
    let old_name = oldest.file_name().and_then(|n| n.to_str()).expect("a name");
    let old_commit = old_name
        .trim_end_matches(".snapshot")
        .split_once('_')
        .expect("seq_commit")
        .1;
    let copy = data
        .join("snapshots")
        .join(format!("00000000000000000090_{old_commit}.snapshot"));
    std::fs::copy(oldest, &copy)?;
    let copy_name = copy.file_name().and_then(|n| n.to_str()).expect("a name");
    let new_name = newest.file_name().and_then(|n| n.to_str()).expect("a name");
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("DAMAGED"))
        .unwrap_or_else(|| panic!("nothing damaged: {stdout}"));
    assert!(
        line.contains(copy_name) && line.contains(new_name),
        "{line}"
    );
    assert!(
        stderr.contains("move the one that does not belong"),
        "{stderr}"
    );
    for args in [
        &["info", p(&data)][..],
        &["dump", p(&data)],
        &["snapshot", "create", p(&data)],
    ] {
        let out = quiver(args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(5), "{args:?}\n{stdout}\n{stderr}");
        assert!(stderr.contains(copy_name), "{args:?}: {stderr}");
        // The hint names the directory the command read, ready to paste.
        assert!(
            stderr.contains(&format!("`quiver verify {}`", p(&data))),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(
        sorted_snapshots(&data)?.len(),
        snapshots.len() + 1,
        "nothing deleted"
    );
    std::fs::remove_file(&copy)?;
    expect(&["verify", p(&data)], 0);
    // A folder under a snapshot's name holds no data: moving it out is the advice,
    // with or without a WAL archive beside it.
    std::fs::create_dir(&copy)?;
    for _ in 0..2 {
        let out = quiver(&["verify", p(&data)]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
        assert!(
            stderr.contains("holds no data: move") && stderr.contains(copy_name),
            "{stderr}"
        );
        std::fs::create_dir_all(data.join("archive"))?;
    }
    std::fs::remove_dir(&copy)?;
    std::fs::remove_dir(data.join("archive"))?;
    expect(&["verify", p(&data)], 0);
    // The oldest snapshot copied under the name of a later commit than any: it reads,
    // but holds an older commit than its name gives. The advice matches the message:
    // moving it out loses nothing if it was only copied.
    let new_commit: u64 = new_name
        .trim_end_matches(".snapshot")
        .split_once('_')
        .and_then(|(_, c)| c.parse().ok())
        .expect("a commit");
    let misnamed = data.join("snapshots").join(format!(
        "00000000000000000091_{:020}.snapshot",
        new_commit + 1
    ));
    std::fs::copy(oldest, &misnamed)?;
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("moving it loses nothing"), "{stdout}");
    assert!(
        stderr.contains("if it was only copied or renamed, move it out"),
        "{stderr}"
    );
    std::fs::remove_file(&misnamed)?;
    expect(&["verify", p(&data)], 0);
    // The oldest snapshot, which opening does not need, cut to nothing.
    std::fs::File::create(oldest)?;
    let out = quiver(&["info", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{stdout}\n{stderr}");
    assert!(stdout.contains("vertices        2"), "{stdout}");
    assert!(
        stdout.contains("snapshots       cannot be listed") && stdout.contains(old_name),
        "{stdout}"
    );
    assert!(
        stdout.contains("WAL segments"),
        "the rest is shown: {stdout}"
    );
    assert!(stderr.contains("quiver verify"), "{stderr}");
    let out = expect(&["verify", p(&data)], 3);
    assert!(out.contains(old_name), "{out}");
    Ok(())
}

/// A data directory `root/data` loaded from [`two_city_dumps`] in two steps, with a
/// snapshot after each.
fn two_snapshots(root: &Path) -> Result<std::path::PathBuf> {
    let data = root.join("data");
    let (first, second) = two_city_dumps(root)?;
    expect(&["load", p(&data), p(&first)], 0);
    expect(&["snapshot", "create", p(&data)], 0);
    expect(&["load", p(&data), p(&second), "--into-existing"], 0);
    expect(&["snapshot", "create", p(&data)], 0);
    Ok(data)
}

/// `wal/` or the archive's `wal/` as a file is damage verify reports (exit 3, where
/// it failed with exit 1), and opening refuses the first; damage in the archive is
/// advised on in the archive's folder.
#[test]
fn folders_that_are_files_and_archive_damage_are_reported_where_they_are() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = two_snapshots(root.path())?;
    let wal = data.join("wal");
    let aside = root.path().join("wal-aside");
    if wal.exists() {
        std::fs::rename(&wal, &aside)?;
    }
    std::fs::write(&wal, b"")?;
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("not a directory"), "{stdout}");
    // Opening refuses it by name (as an unmounted disk may look, not as damage).
    let out = quiver(&["info", p(&data)]);
    let (_, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("wal is not a directory"), "{stderr}");
    std::fs::remove_file(&wal)?;
    if aside.exists() {
        std::fs::rename(&aside, &wal)?;
    }
    expect(&["verify", p(&data)], 0);
    // The archive's wal/ as a file: damage of the archive; the directory opens.
    let archive = data.join("archive");
    std::fs::create_dir_all(archive.join("snapshots"))?;
    std::fs::write(archive.join("wal"), b"")?;
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    expect(&["info", p(&data)], 0);
    std::fs::remove_file(archive.join("wal"))?;
    // Two snapshots out of commit order in the archive: the hint names its folder.
    let snapshots = sorted_snapshots(&data)?;
    let name = |path: &Path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
    };
    let commit = |path: &Path| {
        name(path)
            .and_then(|n| {
                n.trim_end_matches(".snapshot")
                    .split_once('_')
                    .map(|(_, c)| c.to_string())
            })
            .expect("seq_commit")
    };
    let (oldest, newest) = (&snapshots[0], &snapshots[snapshots.len() - 1]);
    std::fs::copy(
        newest,
        archive
            .join("snapshots")
            .join(format!("00000000000000000001_{}.snapshot", commit(newest))),
    )?;
    std::fs::copy(
        oldest,
        archive
            .join("snapshots")
            .join(format!("00000000000000000002_{}.snapshot", commit(oldest))),
    )?;
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("out of {}", archive.join("snapshots").display())),
        "{stderr}"
    );
    Ok(())
}

/// A Cypher file Quiver did not write (no helper label): the refusal says it is not
/// a dump, and does not send the user to `--skip-unsupported`, which would load
/// nothing.
#[test]
fn a_plain_cypher_file_is_told_apart_from_a_dump() -> Result<()> {
    let root = tempfile::tempdir()?;
    let file = root.path().join("plain.cypherl");
    std::fs::write(&file, "CREATE (:Extra {name: \"x1\"});\n")?;
    let data = root.path().join("data");
    let out = quiver(&["load", p(&data), p(&file)]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("is not a dump"), "{stderr}");
    assert!(
        !stderr.contains("`--skip-unsupported` leaves out"),
        "{stderr}"
    );
    assert!(!data.exists());
    Ok(())
}

/// A load into an empty directory that is a mount point of its own: staged inside
/// it (a staging directory beside it could not be renamed into it: the load used
/// to run to its end and then fail). Needs root to mount a tmpfs; elsewhere it
/// says so and checks nothing.
#[test]
fn a_load_into_an_empty_mount_point_lands() -> Result<()> {
    let root = tempfile::tempdir()?;
    let disk = root.path().join("disk");
    std::fs::create_dir(&disk)?;
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&disk)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return Ok(());
    }
    let file = root.path().join("d.cypherl");
    std::fs::write(&file, "CREATE (:__mg_vertex__:P {__mg_id__: 0});\n")?;
    let out = quiver(&["load", p(&disk), p(&file)]);
    let listed = quiver(&["info", p(&disk)]);
    let _ = std::process::Command::new("umount").arg(&disk).status();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let (stdout, _) = text(&listed);
    assert!(stdout.contains("vertices        1"), "{stdout}");
    Ok(())
}

/// A load killed while it staged inside an existing empty directory leaves its
/// staging directory there: the next load removes it and lands; one whose load
/// still runs (its mark locked) makes the directory busy (exit 4), not "not empty".
#[test]
fn a_killed_load_inside_an_empty_directory_does_not_block_the_next() -> Result<()> {
    let root = tempfile::tempdir()?;
    let target = root.path().join("target");
    let staging = target.join(".quiver-load-killed");
    std::fs::create_dir_all(staging.join("snapshots"))?;
    std::fs::write(staging.join("quiver.mode"), "IN_MEMORY_TRANSACTIONAL\n")?;
    let mark = std::fs::File::create(staging.join(".in-use"))?;
    let file = root.path().join("d.cypherl");
    std::fs::write(&file, "CREATE (:__mg_vertex__:P {__mg_id__: 0});\n")?;
    // Its load still runs.
    mark.lock()?;
    let out = quiver(&["load", p(&target), p(&file)]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("another load into"), "{stderr}");
    assert!(staging.exists());
    // Killed: the mark is left, unlocked.
    drop(mark);
    let out = quiver(&["load", p(&target), p(&file)]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!staging.exists());
    let (stdout, _) = text(&quiver(&["info", p(&target)]));
    assert!(stdout.contains("vertices        1"), "{stdout}");
    Ok(())
}

/// `--skip-unsupported` names every statement it leaves out (line and what), on a
/// load into a new directory and into existing data, and a misspelt statement is a
/// syntax error it does not skip.
#[test]
fn statements_skipped_as_asked_are_named() -> Result<()> {
    let root = tempfile::tempdir()?;
    let file = root.path().join("d.cypherl");
    std::fs::write(
        &file,
        concat!(
            "CREATE (:__mg_vertex__:P {__mg_id__: 0});\n",
            "CREATE TEXT INDEX t ON :P;\n",
            "CREATE (:__mg_vertex__:P {__mg_id__: 1, d: DATETIME(\"2020-01-01T00:00:00-08:00[America/Los_Angeles]\")});\n",
            "CREATE (:__mg_vertex__:P {__mg_id__: 2});\n",
        ),
    )?;
    let data = root.path().join("data");
    for args in [
        vec!["load", p(&data), p(&file), "--skip-unsupported"],
        vec![
            "load",
            p(&data),
            p(&file),
            "--skip-unsupported",
            "--into-existing",
        ],
    ] {
        let out = quiver(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{stderr}");
        assert!(
            stdout.contains("(2 statements skipped as asked)"),
            "{stdout}"
        );
        assert!(
            stderr.contains("skipped line 2,")
                && stderr.contains("skipped line 3,")
                && stderr.contains("America/Los_Angeles")
                && !stderr.contains("skipped line 4"),
            "{args:?}\n{stderr}"
        );
    }
    let typo = root.path().join("typo.cypherl");
    std::fs::write(
        &typo,
        "CREATE (:__mg_vertex__:P {__mg_id__: 0});\nCREATE INDX ON :P(name);\n",
    )?;
    let fresh = root.path().join("fresh");
    let out = quiver(&["load", p(&fresh), p(&typo), "--skip-unsupported"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(!fresh.exists());
    Ok(())
}

/// Files whose names are none of ours are never read and never deleted, and the
/// user is told of them: `info` lists them in every mode, `snapshot list` notes them.
#[test]
fn foreign_files_are_listed_by_info_and_noted_by_snapshot_list() -> Result<()> {
    use engine_api::StorageMode::*;
    for mode in [
        InMemoryTransactional,
        InMemoryAnalytical,
        OnDiskTransactional,
    ] {
        let root = tempfile::tempdir()?;
        let data = root.path().join("data");
        let db = Database::open(
            Config::new()
                .data_directory(&data)
                .mode(mode)
                .durability(quiver::default_durability(mode).snapshot_on_exit(true)),
        )?;
        fill(&db)?;
        db.close()?;
        let notes = data.join("snapshots").join("notes.txt");
        std::fs::write(&notes, b"mine")?;
        // A name that would start a line of its own is shown escaped.
        let spoof = data.join("snapshots").join("x\nok       snapshot     fake");
        std::fs::write(&spoof, b"mine")?;
        let out = expect(&["info", p(&data)], 0);
        assert!(!out.lines().any(|l| l.starts_with("ok ")), "{out}");
        assert!(out.contains("x\\nok"), "{out}");
        let verified = quiver(&["verify", p(&data)]);
        let (verified, _) = text(&verified);
        assert!(
            !verified
                .lines()
                .any(|l| l.contains("fake") && l.starts_with("ok       snapshot     fake")),
            "{verified}"
        );
        std::fs::remove_file(&spoof)?;
        let out = expect(&["info", p(&data)], 0);
        assert!(out.contains("foreign files   1 "), "{mode:?}: {out}");
        assert!(out.contains(&format!("  {}\n", notes.display())), "{out}");
        let out = quiver(&["snapshot", "list", p(&data)]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert!(
            stderr.contains(&format!("note: {} is not ours", notes.display())),
            "{mode:?}: {stderr}"
        );
        assert!(!stdout.contains("notes.txt"), "{stdout}");
        assert_eq!(std::fs::read(&notes)?, b"mine");
    }
    Ok(())
}

/// `info` gives the time of the oldest and newest commit in the WAL, per segment and
/// for the directory, as RFC 3339 times inside the window the commits ran in.
#[test]
fn info_shows_the_commit_times_the_wal_holds() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let mode = engine_api::StorageMode::InMemoryTransactional;
    let durability = quiver::default_durability(mode).snapshot_on_exit(false);
    let db = Database::open(Config::new().data_directory(&data).durability(durability))?;
    let before = std::time::SystemTime::now();
    for i in 0..3 {
        let mut t = db.begin(TxnOptions::new())?;
        t.create_vertex_with(&["Timed"], &[("i", i.into())])?;
        t.commit()?;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let after = std::time::SystemTime::now();
    db.close()?;
    let out = expect(&["info", p(&data)], 0);
    let line = out
        .lines()
        .find(|l| l.starts_with("commit times"))
        .unwrap_or_else(|| panic!("no commit times line: {out}"));
    let times: Vec<std::time::SystemTime> = line
        .split_whitespace()
        .filter_map(|w| humantime::parse_rfc3339(w).ok())
        .collect();
    assert_eq!(times.len(), 2, "{line}");
    let slack = std::time::Duration::from_micros(1);
    assert!(times[0] + slack >= before && times[1] <= after, "{line}");
    assert!(
        times[1].duration_since(times[0]).unwrap_or_default()
            >= std::time::Duration::from_millis(10),
        "{line}"
    );
    assert!(out.contains("commits 1..=3  "), "{out}");
    Ok(())
}

/// A data directory with a WAL archive: `info` says how far back it reaches, and
/// `restore --until` reaches points retention let go through it.
#[test]
fn the_wal_archive_on_the_command_line() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let mode = engine_api::StorageMode::InMemoryTransactional;
    let durability = quiver::default_durability(mode)
        .snapshot_on_exit(false)
        .snapshot_retention(1)
        .wal_segment_bytes(4096)
        .wal_archive(Some(engine_api::WalArchive::default()));
    let db = Database::open(Config::new().data_directory(&data).durability(durability))?;
    for round in 0..3i64 {
        for i in 0..20i64 {
            let mut t = db.begin(TxnOptions::new())?;
            t.create_vertex_with(&["A"], &[("round", round.into()), ("i", i.into())])?;
            t.commit()?;
        }
        db.create_snapshot()?;
    }
    db.close()?;
    let out = expect(&["info", p(&data)], 0);
    assert!(out.contains("WAL archive"), "{out}");
    assert!(out.contains("2 snapshots"), "{out}");
    assert!(out.contains("reaches back  to the first commit"), "{out}");
    // Commits 5 and 25 are before the directory's only snapshot (commit 60).
    for point in [5, 25] {
        let target = root.path().join(format!("t{point}"));
        expect(
            &[
                "restore",
                p(&data),
                p(&target),
                "--until",
                &point.to_string(),
            ],
            0,
        );
        let db = Database::open(Config::new().data_directory(&target))?;
        assert_eq!(db.stats()?.vertices, point);
        db.close()?;
    }
    // The directory's only snapshot cut: the archive holds its commits, and the
    // hint's restore through it gives all 60.
    let snapshot = std::fs::read_dir(data.join("snapshots"))?
        .flatten()
        .map(|e| e.path())
        .max()
        .expect("a snapshot");
    let whole = std::fs::read(&snapshot)?;
    std::fs::write(&snapshot, &whole[..whole.len() / 2])?;
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "`quiver restore {} <new directory> --until 60`",
            p(&data)
        )),
        "{stderr}"
    );
    let whole_again = root.path().join("whole");
    expect(&["restore", p(&data), p(&whole_again), "--until", "60"], 0);
    let db = Database::open(Config::new().data_directory(&whole_again))?;
    assert_eq!(db.stats()?.vertices, 60);
    db.close()?;
    std::fs::write(&snapshot, &whole)?;
    expect(&["verify", p(&data)], 0);
    // A snapshot out of order in the directory and another in the archive: both
    // listings are refused, and the hint names both folders.
    let oldest = std::fs::read_dir(data.join("archive/snapshots"))?
        .flatten()
        .map(|e| e.path())
        .min()
        .expect("an archived snapshot");
    let commit = oldest
        .file_stem()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('_'))
        .map(|(_, c)| c.to_string())
        .expect("a snapshot's name");
    let misplaced = [
        data.join("snapshots")
            .join(format!("{:020}_{commit}.snapshot", 90)),
        data.join("archive/snapshots")
            .join(format!("{:020}_{commit}.snapshot", 91)),
    ];
    for copy in &misplaced {
        std::fs::copy(&oldest, copy)?;
    }
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    let both = format!(
        "{} and {}",
        data.join("archive/snapshots").display(),
        data.join("snapshots").display()
    );
    assert!(stderr.contains(&both), "{stderr}");
    for copy in &misplaced {
        std::fs::remove_file(copy)?;
    }
    expect(&["verify", p(&data)], 0);
    // Damage in the archive alone: verify says so (the directory opens), and its
    // hint is not to give up the WAL; info still reads the directory.
    let segment = std::fs::read_dir(data.join("archive/wal"))?
        .flatten()
        .map(|e| e.path())
        .min()
        .expect("an archived segment");
    let mut bytes = std::fs::read(&segment)?;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&segment, bytes)?;
    let out = quiver(&["verify", p(&data)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains("in the WAL archive"), "{stderr}");
    assert!(!stderr.contains("--snapshot-only"), "{stderr}");
    assert!(!stdout.contains("quiver-chain-"), "{stdout}");
    expect(&["info", p(&data)], 0);
    // An archive that is a file: info says so instead of failing.
    std::fs::remove_dir_all(data.join("archive"))?;
    std::fs::write(data.join("archive"), b"not a folder")?;
    let out = expect(&["info", p(&data)], 0);
    assert!(out.contains("not a directory"), "{out}");
    expect(&["verify", p(&data)], 3);
    Ok(())
}

/// A database in `root/data` (then closed) and a chain of two backups of it:
/// `root/backups/monday` (full, after [`fill`]) and `root/backups/tuesday`
/// (incremental, one vertex later). Returns the database's final state.
fn monday_and_tuesday(root: &Path) -> Result<String> {
    let (data, backups) = (root.join("data"), root.join("backups"));
    let mode = engine_api::StorageMode::InMemoryTransactional;
    let durability = quiver::default_durability(mode).snapshot_on_exit(false);
    let db = Database::open(Config::new().data_directory(&data).durability(durability))?;
    fill(&db)?;
    quiver::backup(&db, &backups.join("monday"), &|_, _| {})?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Tuesday"], &[])?;
    t.commit()?;
    quiver::backup_incremental(
        &db,
        &backups.join("monday"),
        &backups.join("tuesday"),
        &|_, _| {},
    )?;
    let state = image(&db)?;
    db.close()?;
    Ok(state)
}

/// A backup chain on the command line, named as a user types it (relative to the
/// working directory: verify once reported a sound chain as damaged that way); `info`
/// on an incremental backup shows the chain's state and writes nothing into it.
#[test]
fn a_chain_named_relatively_verifies_restores_and_reads() -> Result<()> {
    let root = tempfile::tempdir()?;
    let backups = root.path().join("backups");
    std::fs::create_dir_all(backups.join("deeper/still"))?;
    let state = monday_and_tuesday(root.path())?;
    let run = |args: &[&str], code: i32| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args(args)
            .current_dir(backups.join("deeper/still"))
            .output()
            .expect("the quiver binary runs");
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\n{stdout}\n{stderr}"
        );
        stdout
    };
    let before = std::fs::read_dir(backups.join("tuesday"))?.count();
    let out = run(&["verify", "../../tuesday"], 0);
    assert!(out.contains("monday"), "{out}");
    let out = run(&["info", "../../tuesday"], 0);
    assert!(out.contains("backup chain    2 backups"), "{out}");
    assert!(out.contains("vertices        50"), "{out}");
    assert_eq!(
        std::fs::read_dir(backups.join("tuesday"))?.count(),
        before,
        "info wrote into the backup"
    );
    assert!(!backups.join("tuesday/.lock").exists());
    run(&["restore", "../../tuesday", "../../../restored"], 0);
    assert_eq!(image(&open(&root.path().join("restored"))?)?, state);
    // Into the chain itself, forced: refused, nothing moved.
    run(&["restore", "../../tuesday", "../../monday", "--force"], 6);
    assert!(backups.join("monday").join(quiver::MANIFEST_FILE).exists());
    Ok(())
}

/// `info` of an incremental backup lists the chain's WAL: each segment from the
/// newest link that holds it, the parent's older segments too.
#[test]
fn info_of_a_chain_lists_every_links_wal() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (monday, tuesday) = (root.path().join("monday"), root.path().join("tuesday"));
    let mode = engine_api::StorageMode::InMemoryTransactional;
    let durability = quiver::default_durability(mode)
        .snapshot_on_exit(false)
        .snapshot_interval(None)
        .wal_segment_bytes(4096);
    let db = Database::open(
        Config::new()
            .data_directory(root.path().join("data"))
            .durability(durability),
    )?;
    let work = |n: usize| -> Result<()> {
        for _ in 0..n {
            let mut t = db.begin(TxnOptions::new())?;
            t.create_vertex_with(&["Day"], &[("pad", "x".repeat(300).into())])?;
            t.commit()?;
        }
        Ok(())
    };
    work(40)?;
    quiver::backup(&db, &monday, &|_, _| {})?;
    work(40)?;
    quiver::backup_incremental(&db, &monday, &tuesday, &|_, _| {})?;
    db.close()?;
    let names = |dir: &Path| -> Result<Vec<String>> {
        let mut out = std::fs::read_dir(dir.join("wal"))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    };
    let (theirs, ours) = (names(&monday)?, names(&tuesday)?);
    let only_mondays: Vec<_> = theirs.iter().filter(|n| !ours.contains(n)).collect();
    assert!(!only_mondays.is_empty(), "{theirs:?} {ours:?}");
    let out = quiver(&["info", p(&tuesday)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for name in &only_mondays {
        let shown = format!("{}  commits", monday.join("wal").join(name).display());
        assert!(stdout.contains(&shown), "{shown} in\n{stdout}");
    }
    for name in &ours {
        let shown = format!("{}  commits", tuesday.join("wal").join(name).display());
        assert!(stdout.contains(&shown), "{shown} in\n{stdout}");
    }
    let count = only_mondays.len() + ours.len();
    assert!(
        stdout.contains(&format!("WAL segments    {count}\n")),
        "{stdout}"
    );
    Ok(())
}

/// verify's advice follows the kind of damage, not its wording: a link whose parent
/// is gone is a broken chain (put the parent back); a link that lost its own WAL,
/// whose message also speaks of its parent, is not.
#[test]
fn verify_advises_on_a_broken_chain_only_when_the_parent_is_the_damage() -> Result<()> {
    let root = tempfile::tempdir()?;
    let backups = root.path().join("backups");
    std::fs::create_dir(&backups)?;
    monday_and_tuesday(root.path())?;
    let tuesday = backups.join("tuesday");
    let broken = "the backup chain is broken";
    let verify = || {
        let out = quiver(&["verify", p(&tuesday)]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
        (stdout, stderr)
    };
    std::fs::rename(backups.join("monday"), backups.join("moved"))?;
    let (_, stderr) = verify();
    assert!(stderr.contains(broken), "{stderr}");
    // Reading the broken chain is refused as damaged data (exit 5), as verify
    // calls it; so is a parent whose manifest alone is gone, named as such.
    let refused = |args: &[&str], says: &str| {
        let out = quiver(args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(5), "{args:?}\n{stdout}\n{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    // Named as the directory it would be, not through the link's `..`.
    refused(
        &["info", p(&tuesday)],
        &format!(
            "its parent backup {} (recorded as",
            backups.join("monday").display()
        ),
    );
    refused(&["info", p(&tuesday)], "is missing");
    // Through a symbolic link elsewhere: the parent is named where it is missing.
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&elsewhere)?;
    let link = elsewhere.join("link");
    std::os::unix::fs::symlink(&tuesday, &link)?;
    refused(
        &["info", p(&link)],
        &format!(
            "its parent backup {} (recorded as",
            backups.join("monday").display()
        ),
    );
    std::fs::create_dir(backups.join("monday"))?;
    refused(&["info", p(&tuesday)], "holds no backup manifest");
    std::fs::remove_dir(backups.join("monday"))?;
    std::fs::rename(backups.join("moved"), backups.join("monday"))?;
    expect(&["verify", p(&tuesday)], 0);
    // The parent in place, its manifest garbage: that manifest is the damage, named
    // by its path, and the advice is not to put the parent back.
    let parent_manifest = backups.join("monday").join(quiver::MANIFEST_FILE);
    let sound = std::fs::read(&parent_manifest)?;
    std::fs::write(&parent_manifest, b"{ not json")?;
    let (stdout, stderr) = verify();
    let named = parent_manifest.display().to_string();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("DAMAGED") && l.contains(&named)),
        "{stdout}"
    );
    assert!(!stderr.contains(broken), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the manifest of an earlier backup of the chain, {}, does not read",
            parent_manifest.display()
        )),
        "{stderr}"
    );
    refused(&["info", p(&tuesday)], "does not read");
    std::fs::write(&parent_manifest, sound)?;
    expect(&["verify", p(&tuesday)], 0);
    // A listed file that reading does not need (the link's mode file), gone:
    // reading refuses it as verify does.
    let mode_file = tuesday.join(quiver::MODE_FILE);
    let kept = std::fs::read(&mode_file)?;
    std::fs::remove_file(&mode_file)?;
    verify();
    for args in [&["info", p(&tuesday)][..], &["dump", p(&tuesday)]] {
        refused(args, "lists it with");
    }
    // Other bytes of the same length: refused too (reading takes the mode from it).
    std::fs::write(&mode_file, vec![b'X'; kept.len()])?;
    verify();
    for args in [&["info", p(&tuesday)][..], &["dump", p(&tuesday)]] {
        refused(args, "holds other bytes");
    }
    std::fs::write(&mode_file, kept)?;
    expect(&["verify", p(&tuesday)], 0);
    // A damaged snapshot in the parent that reading passes over: the warning names
    // the parent's file, not the scratch view it was read through.
    let parent_snapshots = backups.join("monday").join("snapshots");
    let snapshot = std::fs::read_dir(&parent_snapshots)?
        .flatten()
        .map(|e| e.path())
        .max()
        .expect("a snapshot in the full backup");
    let whole = std::fs::read(&snapshot)?;
    let mut flipped = whole.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x55;
    std::fs::write(&snapshot, &flipped)?;
    let out = quiver(&["info", p(&tuesday)]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("warning: {} is damaged", snapshot.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("quiver-chain-"), "{stdout}\n{stderr}");
    std::fs::write(&snapshot, whole)?;
    expect(&["verify", p(&tuesday)], 0);
    // The link's WAL, and its lines in the manifest, gone.
    let mut m = quiver::read_manifest(&tuesday)?.expect("a manifest");
    let wal: Vec<String> = m
        .files
        .iter()
        .filter(|f| f.path.starts_with("wal/"))
        .map(|f| f.path.clone())
        .collect();
    assert!(!wal.is_empty());
    for rel in &wal {
        std::fs::remove_file(tuesday.join(rel))?;
    }
    m.files.retain(|f| !wal.contains(&f.path));
    std::fs::write(tuesday.join(quiver::MANIFEST_FILE), m.encode()?)?;
    let (stdout, stderr) = verify();
    assert!(stdout.contains("parent's commit"), "{stdout}");
    // Reading it does not pass for the older state its files reach.
    for args in [&["info", p(&tuesday)][..], &["dump", p(&tuesday)]] {
        refused(args, "its files reach only commit");
    }
    assert!(!stderr.contains(broken), "{stderr}");
    assert!(stderr.contains("restore from another backup"), "{stderr}");
    assert!(
        !stderr.contains("the manifest is damaged"),
        "the manifest reads: {stderr}"
    );
    // A manifest that does not read is named as such.
    std::fs::write(tuesday.join(quiver::MANIFEST_FILE), b"{ not json")?;
    let (_, stderr) = verify();
    assert!(stderr.contains("the manifest is damaged"), "{stderr}");
    Ok(())
}

/// A kill before an incremental backup, a fold of a chain or a restore to a point
/// is moved into place leaves nothing under the name it was going to (and the
/// target of the restore as it was); the chain is never touched; running the same
/// command again works.
#[test]
fn kills_leave_no_backup_under_its_name_and_the_chain_alone() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    std::fs::create_dir_all(&backups)?;
    let mode = engine_api::StorageMode::InMemoryTransactional;
    let durability = quiver::default_durability(mode).snapshot_on_exit(false);
    let config = || {
        Config::new()
            .data_directory(&data)
            .durability(durability.clone())
    };
    let db = Database::open(config())?;
    fill(&db)?;
    quiver::backup(&db, &backups.join("monday"), &|_, _| {})?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Tuesday"], &[])?;
    t.commit()?;
    db.close()?;
    let killed = |args: &[&str], step: &str| -> Result<()> {
        let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args(args)
            .env("QUIVER_CRASH_AT", step)
            .output()?;
        assert!(
            !out.status.success(),
            "{step}: the crash point did not fire"
        );
        Ok(())
    };
    let tuesday = backups.join("tuesday");
    killed(
        &[
            "backup",
            p(&data),
            p(&tuesday),
            "--incremental",
            p(&backups.join("monday")),
        ],
        "BackupStaged",
    )?;
    assert!(
        !tuesday.exists(),
        "a killed backup left {}",
        tuesday.display()
    );
    expect(
        &[
            "backup",
            p(&data),
            p(&tuesday),
            "--incremental",
            p(&backups.join("monday")),
        ],
        0,
    );
    let chain = common::files(&backups);
    let folded = root.path().join("folded");
    killed(
        &["backup", "aggregate", p(&tuesday), p(&folded)],
        "AggregateStaged",
    )?;
    assert!(!folded.exists(), "a killed fold left {}", folded.display());
    expect(
        &[
            "backup",
            "aggregate",
            p(&backups.join("monday")),
            p(&tuesday),
            p(&folded),
        ],
        0,
    );
    expect(&["verify", p(&folded)], 0);
    // The killed fold's staging directory went with the next fold staging there.
    let left: Vec<String> = std::fs::read_dir(root.path())?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".quiver-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // Options may come between the paths.
    let early = root.path().join("folded-at-1");
    expect(
        &[
            "backup",
            "aggregate",
            p(&tuesday),
            "--until",
            "1",
            p(&early),
        ],
        0,
    );
    expect(&["verify", p(&early)], 0);
    // A restore to a point, forced into a database: killed before the move, the
    // database is as it was.
    let target = root.path().join("target");
    filled_directory(&target)?;
    let before = common::files(&target);
    let to_point = [
        "restore",
        p(&tuesday),
        p(&target),
        "--until",
        "2",
        "--force",
    ];
    killed(&to_point, "PointStaged")?;
    assert!(
        common::files(&target) == before,
        "a killed restore changed the target"
    );
    expect(&to_point, 0);
    assert!(common::files(&backups) == chain, "the chain was changed");
    // The chain named out of order is refused.
    expect(
        &[
            "backup",
            "aggregate",
            p(&tuesday),
            p(&backups.join("monday")),
            p(&root.path().join("x")),
        ],
        6,
    );
    // Command lines it cannot take exit 2.
    let x = root.path().join("x");
    for bad in [
        vec!["backup", p(&data), p(&x), p(&x)],
        vec!["backup", p(&data), p(&x), "--until", "5"],
        vec!["backup", "aggregate", p(&tuesday)],
        vec![
            "backup",
            "aggregate",
            p(&tuesday),
            p(&x),
            "--incremental",
            p(&tuesday),
        ],
    ] {
        expect(&bad, 2);
    }
    // A missing link is damage: exit 5, nothing written.
    std::fs::rename(backups.join("monday"), root.path().join("away"))?;
    expect(&["backup", "aggregate", p(&tuesday), p(&x)], 5);
    std::fs::rename(root.path().join("away"), backups.join("monday"))?;
    // Not into the data directory, nor into a backup.
    expect(&["backup", p(&data), p(&data.join("b"))], 6);
    expect(&["backup", p(&data), p(&tuesday.join("wal/b"))], 6);
    assert!(!x.exists());
    Ok(())
}

/// An IN_MEMORY_ANALYTICAL chain made on the command line, its older link's
/// snapshot damaged: verify passes over it (one file, though two checks name it),
/// and `info` and `restore` read the chain as verify says.
#[test]
fn an_analytical_chain_passes_over_an_older_links_damage_in_every_command() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, monday, tuesday) = (
        root.path().join("data"),
        root.path().join("monday"),
        root.path().join("tuesday"),
    );
    let dump = |name: &str, from: i64| -> Result<std::path::PathBuf> {
        let path = root.path().join(name);
        let lines: String = (0..3)
            .map(|i| {
                format!(
                    "CREATE (:__mg_vertex__:P {{__mg_id__: {i}, id: {}}});\n",
                    from + i
                )
            })
            .collect();
        std::fs::write(&path, lines)?;
        Ok(path)
    };
    let (first, second) = (dump("a.cypherl", 0)?, dump("b.cypherl", 10)?);
    let run = |args: &[&str], code: i32| -> (String, String) {
        let out = quiver(args);
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\n{stdout}\n{stderr}"
        );
        (stdout, stderr)
    };
    run(
        &[
            "load",
            p(&data),
            p(&first),
            "--mode",
            "IN_MEMORY_ANALYTICAL",
        ],
        0,
    );
    run(&["backup", p(&data), p(&monday)], 0);
    run(&["load", p(&data), p(&second), "--into-existing"], 0);
    run(
        &["backup", p(&data), p(&tuesday), "--incremental", p(&monday)],
        0,
    );
    // No WAL, no points between links: the refusal names each link's own state.
    let (_, stderr) = run(
        &[
            "restore",
            p(&tuesday),
            p(&root.path().join("x")),
            "--until",
            "1000",
        ],
        6,
    );
    assert!(
        stderr.contains(&format!("{} (commit ", monday.display()))
            && stderr.contains(&format!("{} (commit ", tuesday.display()))
            && !stderr.contains("only its snapshot's state"),
        "{stderr}"
    );
    // A link's own commit is a point the chain holds: that link's state.
    for (link, vertices) in [(&tuesday, 6), (&monday, 3)] {
        let named = format!("{} (commit ", link.display());
        let at = stderr.find(&named).expect("named") + named.len();
        let commit: String = stderr[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let to = root.path().join(format!("at-{commit}"));
        let (stdout, _) = run(&["restore", p(&tuesday), p(&to), "--until", &commit], 0);
        assert!(
            stdout.contains(&format!(
                "the state {} holds at that commit",
                link.display()
            )),
            "{stdout}"
        );
        let (stdout, _) = run(&["info", p(&to)], 0);
        assert!(
            stdout.contains(&format!("vertices        {vertices}")),
            "--until {commit}: {stdout}"
        );
    }
    // A data directory of that mode holds its newest snapshot's commit.
    let (_, stderr) = run(
        &[
            "restore",
            p(&data),
            p(&root.path().join("y")),
            "--until",
            "1000",
        ],
        6,
    );
    let named = "or to commit ";
    let at = stderr.find(named).expect("its commit named") + named.len();
    let commit: String = stderr[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let to = root.path().join("from-data");
    run(&["restore", p(&data), p(&to), "--until", &commit], 0);
    let (stdout, _) = run(&["info", p(&to)], 0);
    assert!(stdout.contains("vertices        6"), "{stdout}");
    let older = std::fs::read_dir(monday.join("snapshots"))?
        .next()
        .expect("a snapshot")?
        .path();
    let mut bytes = std::fs::read(&older)?;
    let at = bytes.len() - 10;
    bytes[at] ^= 0xff;
    std::fs::write(&older, bytes)?;
    let (stdout, stderr) = run(&["verify", p(&tuesday)], 0);
    assert!(stdout.contains("PASSED"), "{stdout}");
    assert!(
        stderr.contains("passing over 1 damaged file(s)"),
        "{stdout}\n{stderr}"
    );
    let (stdout, _) = run(&["info", p(&tuesday)], 0);
    assert!(stdout.contains("vertices        6"), "{stdout}");
    let restored = root.path().join("restored");
    run(&["restore", p(&tuesday), p(&restored)], 0);
    let (stdout, _) = run(&["info", p(&restored)], 0);
    assert!(stdout.contains("vertices        6"), "{stdout}");
    // Cut to nothing, its header does not read: the chain's snapshot listing fails,
    // and `info` names the backup's file, not the scratch view it read through.
    std::fs::write(&older, b"")?;
    // verify refuses it as info does, and points at what still reads.
    let (_, stderr) = run(&["verify", p(&tuesday)], 3);
    assert!(
        stderr.contains("1 damaged file(s)") && stderr.contains("quiver dump"),
        "{stderr}"
    );
    let dumped = root.path().join("rescued.cypherl");
    let (stdout, _) = run(&["dump", p(&tuesday)], 0);
    std::fs::write(&dumped, stdout)?;
    let rescued = root.path().join("rescued");
    run(&["load", p(&rescued), p(&dumped)], 0);
    let (stdout, _) = run(&["info", p(&rescued)], 0);
    assert!(stdout.contains("vertices        6"), "{stdout}");
    let (stdout, stderr) = run(&["info", p(&tuesday)], 5);
    assert!(stdout.contains("vertices        6"), "{stdout}");
    let shown = format!("{stdout}{stderr}");
    assert!(
        shown.contains(p(&older)) && !shown.contains("quiver-chain-"),
        "{shown}"
    );
    // Gone altogether: passed over like a cut one, and every command reads the
    // chain from the newest backup's whole snapshot.
    std::fs::remove_file(&older)?;
    let (stdout, stderr) = run(&["verify", p(&tuesday)], 0);
    assert!(
        stdout.contains("PASSED") && stdout.contains(p(&older)),
        "{stdout}"
    );
    assert!(
        stderr.contains("passing over 1 damaged file(s)"),
        "{stderr}"
    );
    let (stdout, _) = run(&["info", p(&tuesday)], 0);
    assert!(stdout.contains("vertices        6"), "{stdout}");
    let (stdout, _) = run(&["dump", p(&tuesday)], 0);
    assert!(stdout.contains("CREATE"), "{stdout}");
    let again = root.path().join("again");
    run(&["restore", p(&tuesday), p(&again)], 0);
    let (stdout, _) = run(&["info", p(&again)], 0);
    assert!(stdout.contains("vertices        6"), "{stdout}");
    // The newest link's gone too: nothing to restore from, said as damage of the
    // backups' files (not of a scratch directory).
    for entry in std::fs::read_dir(tuesday.join("snapshots"))? {
        std::fs::remove_file(entry?.path())?;
    }
    let (stdout, stderr) = run(&["verify", p(&tuesday)], 3);
    let shown = format!("{stdout}{stderr}");
    assert!(
        shown.contains("DAMAGED") && !shown.contains("quiver-chain-"),
        "{shown}"
    );
    Ok(())
}

/// A FIFO (or a device) is no dump file: `dump -o` would rename a plain file over
/// it, and a load, which reads its dump twice, would wait for a second writer.
/// Both refuse it, before opening it.
#[test]
fn a_fifo_is_neither_written_over_by_dump_nor_read_by_load() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    filled_directory(&data)?;
    let fifo = root.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success());
    let out = quiver(&["dump", p(&data), "-o", p(&fifo)]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo)?.file_type().is_fifo());
    for args in [
        vec!["load", p(&root.path().join("new")), p(&fifo)],
        vec!["load", p(&data), p(&fifo), "--into-existing"],
    ] {
        // No writer: a load that opened the FIFO would wait for ever, so it is
        // given 30 s and then killed.
        let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let started = std::time::Instant::now();
        while child.try_wait()?.is_none() {
            if started.elapsed() > std::time::Duration::from_secs(30) {
                child.kill()?;
                panic!("{args:?}: still waiting on the FIFO after 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output()?;
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{stderr}");
    }
    assert!(!root.path().join("new").exists());
    Ok(())
}
