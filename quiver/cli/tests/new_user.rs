//! What a new user of the `quiver` command hit (issue 29), run as they ran it: a
//! backup that verified but did not open, paths that hold no database, loads that
//! half-applied or left a directory behind, a closed pipe, stray logs, and messages
//! that blamed the wrong file.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use engine_api::{Result, StorageEngine, Transaction, TxnOptions};
use quiver::{Config, Database};

#[path = "../../tests/common/mod.rs"]
mod common;
use common::{filled_directory, image};

fn quiver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .output()
        .expect("the quiver binary runs")
}

/// Runs the command, expects `code`, returns (stdout, stderr).
fn expect(args: &[&str], code: i32) -> (String, String) {
    let out = quiver(args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "quiver {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

fn p(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Item 1: a WAL segment copied under a later sequence number left a gap that
/// verify did not see; restore copied it and the restored directory did not open.
#[test]
fn a_backup_with_a_gap_in_its_wal_does_not_verify_and_the_restore_refuses_it() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backup) = (root.path().join("data"), root.path().join("backup"));
    filled_directory(&data)?;
    expect(&["backup", p(&data), p(&backup)], 0);
    let first = segments(&backup)[0].clone();
    std::fs::copy(
        &first,
        backup
            .join("wal")
            .join(durability::dir::segment_file_name(9)),
    )?;
    let (out, err) = expect(&["verify", p(&backup)], 3);
    assert!(
        out.contains("WAL segment 2 is missing (found 9 after 1)"),
        "{out}"
    );
    assert!(
        err.contains("--snapshot-only"),
        "the hint names a command: {err}"
    );
    let target = root.path().join("restored");
    expect(&["restore", p(&backup), p(&target)], 5);
    // The hint is true: the snapshot alone restores and opens.
    expect(&["restore", p(&backup), p(&target), "--snapshot-only"], 0);
    expect(&["info", p(&target)], 0);
    // The same gap in a data directory: verify says what opening says.
    let copy = root.path().join("copy");
    expect(&["restore", p(&backup), p(&copy), "--snapshot-only"], 0);
    std::fs::create_dir_all(copy.join("wal"))?;
    for seq in [1, 3] {
        std::fs::copy(
            &first,
            copy.join("wal")
                .join(durability::dir::segment_file_name(seq)),
        )?;
    }
    let (out, _) = expect(&["verify", p(&copy)], 3);
    assert!(out.contains("WAL segment 2 is missing"), "{out}");
    expect(&["info", p(&copy)], 5);
    Ok(())
}

/// Item 1: a file of ours that the manifest does not list was added to the backup
/// after it was written: reported, and the restore refuses it.
#[test]
fn a_file_the_manifest_does_not_list_is_damage() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backup) = (root.path().join("data"), root.path().join("backup"));
    filled_directory(&data)?;
    expect(&["backup", p(&data), p(&backup)], 0);
    let snapshot = std::fs::read_dir(backup.join("snapshots"))?
        .flatten()
        .map(|e| e.path())
        .next()
        .expect("the backup's snapshot");
    // An older sequence number, the same commit: opening would not even read it.
    let name = snapshot
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a name")
        .to_string();
    let commit: u64 = name
        .trim_end_matches(".snapshot")
        .split_once('_')
        .and_then(|(_, ts)| ts.parse().ok())
        .expect("a snapshot name");
    let older = backup
        .join("snapshots")
        .join(durability::dir::snapshot_file_name(0, commit));
    std::fs::copy(&snapshot, &older)?;
    let (out, _) = expect(&["verify", p(&backup)], 3);
    let line = out
        .lines()
        .find(|l| l.starts_with("DAMAGED"))
        .expect("a DAMAGED line");
    assert!(
        line.contains(p(&older)) && line.contains("not listed in the manifest"),
        "{line}"
    );
    expect(&["restore", p(&backup), p(&root.path().join("r"))], 5);
    Ok(())
}

/// Item 1: a backup whose manifest is gone is checked as a data directory, and
/// verify says so.
#[test]
fn a_backup_without_its_manifest_is_checked_as_a_data_directory_and_says_so() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backup) = (root.path().join("data"), root.path().join("backup"));
    filled_directory(&data)?;
    expect(&["backup", p(&data), p(&backup)], 0);
    std::fs::remove_file(backup.join(quiver::MANIFEST_FILE))?;
    let (_, err) = expect(&["verify", p(&backup)], 0);
    assert!(err.contains("no backup manifest"), "{err}");
    assert!(err.contains("checked as a data directory"), "{err}");
    Ok(())
}

/// Item 2: an on-disk database's files are checked through RocksDB, and its own log
/// files are not foreign; a damaged SST file is found.
#[test]
fn verify_checks_an_on_disk_database_through_rocksdb() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = Database::open(
        Config::new()
            .data_directory(&data)
            .mode(engine_api::StorageMode::OnDiskTransactional),
    )?;
    common::fill(&db)?;
    db.close()?;
    let (out, err) = expect(&["verify", p(&data)], 0);
    assert!(
        !out.contains("foreign"),
        "RocksDB's log is not foreign: {out}"
    );
    assert!(out.contains("column family vertices"), "{out}");
    assert!(out.contains("checksums verified"), "{out}");
    assert!(!err.contains("WARN"), "{err}");
    let (out, err) = expect(&["snapshot", "list", p(&data)], 0);
    assert!(
        !out.contains("foreign") && !err.contains("not ours"),
        "{out}{err}"
    );
    // Damage inside an SST file's data is found.
    let sst = std::fs::read_dir(data.join("rocksdb"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "sst"))
        .expect("an SST file after a close");
    let mut bytes = std::fs::read(&sst)?;
    for b in bytes.iter_mut().take(64) {
        *b ^= 0x55;
    }
    std::fs::write(&sst, bytes)?;
    let (out, _) = expect(&["verify", p(&data)], 3);
    assert!(
        out.lines()
            .any(|l| l.starts_with("DAMAGED") && l.contains("RocksDB")),
        "{out}"
    );
    Ok(())
}

/// Item 3: a mistyped path is not a healthy database.
#[test]
fn verify_mode_get_and_snapshot_list_refuse_a_path_that_holds_no_database() -> Result<()> {
    let root = tempfile::tempdir()?;
    let empty = root.path().join("empty");
    std::fs::create_dir_all(&empty)?;
    for dir in [&empty, &root.path().join("typo")] {
        for args in [&["verify"][..], &["mode", "get"], &["snapshot", "list"]] {
            let mut full = args.to_vec();
            full.push(p(dir));
            let out = quiver(&full);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_ne!(out.status.code(), Some(0), "{full:?}: {err}");
            assert!(
                err.contains("holds no Quiver database") || err.contains("is not a directory"),
                "{full:?}: {err}"
            );
        }
    }
    Ok(())
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Item 4: a failed load into a new directory leaves nothing, so a retry with
/// another mode is not refused.
#[test]
fn a_failed_load_writes_nothing() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let source = root.path().join("source");
    filled_directory(&source)?;
    let dump = root.path().join("graph.cypherl");
    expect(&["dump", p(&source), "-o", p(&dump)], 0);
    let before = entries(root.path());
    // A missing file.
    expect(
        &["load", p(&data), p(&root.path().join("missing.cypherl"))],
        1,
    );
    assert_eq!(entries(root.path()), before, "nothing created beside it");
    // A syntax error in the last statement.
    let mut text = std::fs::read_to_string(&dump)?;
    text.push_str("CREATE (:__mg_vertex__ {__mg_id__: 999, x: });\n");
    let broken = root.path().join("broken.cypherl");
    std::fs::write(&broken, &text)?;
    for mode in ["txn", "analytical", "ondisk"] {
        let (_, err) = expect(&["load", p(&data), p(&broken), "--mode", mode], 7);
        assert!(err.contains("nothing was written"), "{err}");
        assert!(!data.exists(), "{mode}: {:?}", entries(&data));
    }
    let mut expected = before.clone();
    expected.push("broken.cypherl".to_string());
    expected.sort();
    assert_eq!(entries(root.path()), expected, "no staging directory left");
    // An empty directory stays empty after a failure, and takes a load after it.
    std::fs::create_dir_all(&data)?;
    expect(&["load", p(&data), p(&broken), "--mode", "analytical"], 7);
    assert!(entries(&data).is_empty(), "{:?}", entries(&data));
    let (out, _) = expect(&["load", p(&data), p(&dump), "--mode", "analytical"], 0);
    assert!(out.contains("a new database"), "{out}");
    // A load gives new ids: the dumps agree.
    assert_eq!(
        expect(&["dump", p(&data)], 0),
        expect(&["dump", p(&source)], 0)
    );
    Ok(())
}

/// Item 5: loading into a database that holds data needs --into-existing, and then
/// what the database would refuse is found before anything is written.
#[test]
fn a_load_into_a_database_with_data_is_checked_whole_first() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let source = root.path().join("source");
    filled_directory(&source)?;
    let dump = root.path().join("graph.cypherl");
    expect(&["dump", p(&source), "-o", p(&dump)], 0);
    expect(&["load", p(&data), p(&dump)], 0);
    let state = image(&Database::open(Config::new().data_directory(&data))?)?;
    // Twice: refused, saying how.
    let (_, err) = expect(&["load", p(&data), p(&dump)], 6);
    assert!(err.contains("--into-existing"), "{err}");
    // A definition the dump makes twice is the dump's fault (7), whatever the
    // target holds; one the target holds is a rule (6), whatever its names say.
    let twice = root.path().join("twice.cypherl");
    std::fs::write(
        &twice,
        "CREATE INDEX ON :`Z`(`__mg_id__`);\nCREATE INDEX ON :`Z`(`__mg_id__`);\n",
    )?;
    let (_, err) = expect(&["load", p(&data), p(&twice), "--into-existing"], 7);
    assert!(
        err.contains("line 2: the index") && err.contains("is created earlier in the dump"),
        "{err}"
    );
    // Asked for: its index and trigger exist already, found before any write.
    let (_, err) = expect(&["load", p(&data), p(&dump), "--into-existing"], 6);
    assert!(err.contains("exists already"), "{err}");
    assert!(
        err.contains("the index"),
        "the first definition that exists: {err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(
        image(&Database::open(Config::new().data_directory(&data))?)?,
        state
    );
    // A dangling endpoint in the last edge: refused before any write, exit 7.
    let text = std::fs::read_to_string(&dump)?;
    let at = text.rfind("v.__mg_id__ = ").expect("an edge") + "v.__mg_id__ = ".len();
    let end = at + text[at..].find(' ').expect("the id ends");
    let dangling = format!("{}123456{}", &text[..at], &text[end..]);
    let schema_free: String = dangling
        .lines()
        .filter(|l| !l.starts_with("CREATE INDEX ON :`") && !l.starts_with("CREATE TRIGGER"))
        .map(|l| format!("{l}\n"))
        .collect();
    let file = root.path().join("dangling.cypherl");
    std::fs::write(&file, schema_free)?;
    let (_, err) = expect(&["load", p(&data), p(&file), "--into-existing"], 7);
    assert!(err.contains("123456"), "{err}");
    assert!(
        err.contains("nothing was written"),
        "found by the check: {err}"
    );
    assert_eq!(
        image(&Database::open(Config::new().data_directory(&data))?)?,
        state
    );
    // A constraint the dump's own vertices break.
    let file = root.path().join("constraint.cypherl");
    std::fs::write(
        &file,
        "CREATE (:__mg_vertex__:`Person` {__mg_id__: 0, `n`: 1});\nCREATE (:__mg_vertex__:`Person` {__mg_id__: 1});\nCREATE CONSTRAINT ON (u:`Person`) ASSERT EXISTS (u.`n`);\n",
    )?;
    let (_, err) = expect(&["load", p(&data), p(&file), "--into-existing"], 7);
    assert!(err.contains("does not hold"), "{err}");
    assert_eq!(
        image(&Database::open(Config::new().data_directory(&data))?)?,
        state
    );
    Ok(())
}

/// Item 8: a closed standard output ends a command quietly.
#[test]
fn a_closed_pipe_ends_a_command_quietly() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    filled_directory(&data)?;
    for args in [&["info"][..], &["dump"], &["verify"], &["snapshot", "list"]] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quiver"));
        cmd.args(args)
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        // Close the reading end before the command writes.
        drop(child.stdout.take());
        let out = child.wait_with_output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    Ok(())
}

/// Item 8: without -v no log lines; with it, they come.
#[test]
fn logs_print_only_with_v() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    filled_directory(&data)?;
    std::fs::write(data.join("wal").join("notes.txt"), "an operator's notes")?;
    let (_, err) = expect(&["verify", p(&data)], 0);
    assert!(!err.contains("WARN") && !err.contains("INFO"), "{err}");
    let (_, err) = expect(&["-v", "info", p(&data)], 0);
    assert!(err.contains("WARN") || err.contains("INFO"), "{err}");
    Ok(())
}

/// Item 11: another database's snapshot dropped into snapshots/ is named as the
/// stranger, by opening and by verify.
#[test]
fn a_snapshot_of_another_database_is_blamed_not_our_wal() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    filled_directory(&a)?;
    // A commit after a's snapshot, left in its WAL by a crash.
    let db = Database::open(Config::new().data_directory(&a))?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Later"], &[])?;
    t.commit()?;
    std::mem::forget(db);
    let _ = std::fs::remove_file(a.join(".lock"));
    let db = Database::open(Config::new().data_directory(&b))?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Other"], &[])?;
    t.commit()?;
    let theirs = db.create_snapshot()?;
    db.close()?;
    let name = durability::dir::snapshot_file_name(99, theirs.commit_timestamp);
    let stranger = a.join("snapshots").join(&name);
    std::fs::copy(&theirs.path, &stranger)?;
    let err = Database::open(Config::new().data_directory(&a)).expect_err("refused");
    assert!(
        err.message().starts_with(&stranger.display().to_string()),
        "names the snapshot first: {err}"
    );
    assert!(err.message().contains("another database"), "{err}");
    let (out, _) = expect(&["verify", p(&a)], 3);
    let line = out
        .lines()
        .find(|l| l.starts_with("DAMAGED"))
        .expect("a DAMAGED line");
    assert!(line.contains(&name), "{line}");
    Ok(())
}

/// Item 9: a load into a new IN_MEMORY_TRANSACTIONAL directory goes through the
/// analytical engine and one snapshot; its constraints are created afterwards in the
/// transactional mode: kept, and checked (a dump that breaks its own constraint
/// writes nothing).
#[test]
fn a_new_transactional_load_keeps_and_checks_its_constraints() -> Result<()> {
    let root = tempfile::tempdir()?;
    let source = root.path().join("source");
    filled_directory(&source)?;
    let db = Database::open(Config::new().data_directory(&source))?;
    db.create_constraint(&engine_api::ConstraintSpec::Unique {
        label: "Person".into(),
        properties: vec!["n".into()],
    })?;
    db.close()?;
    let dump = root.path().join("graph.cypherl");
    expect(&["dump", p(&source), "-o", p(&dump)], 0);
    let data = root.path().join("data");
    expect(&["load", p(&data), p(&dump)], 0);
    assert_eq!(
        expect(&["dump", p(&data)], 0).0,
        expect(&["dump", p(&source)], 0).0
    );
    assert_eq!(
        expect(&["mode", "get", p(&data)], 0).0.trim(),
        "IN_MEMORY_TRANSACTIONAL"
    );
    // Two vertices with the same n under a uniqueness constraint.
    let text = std::fs::read_to_string(&dump)?.replacen("`n`: 1,", "`n`: 0,", 1);
    let broken = root.path().join("broken.cypherl");
    std::fs::write(&broken, text)?;
    // The refusal names the two lines, as a load into an existing database does.
    let lines: Vec<usize> = std::fs::read_to_string(&broken)?
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("`n`: 0,"))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let named = format!(
        "the vertices of lines {} and {} have the same values",
        lines[0], lines[1]
    );
    for mode in [None, Some("ON_DISK_TRANSACTIONAL")] {
        let target = root.path().join("target");
        let mut args = vec!["load", p(&target), p(&broken)];
        args.extend(mode.iter().flat_map(|m| ["--mode", *m]));
        let (_, err) = expect(&args, 7);
        assert!(err.contains(&named), "{mode:?}: {err}");
        assert!(!target.exists());
    }
    // Two vertices of one line: named as such, not as "lines 1 and 1".
    let one_line = root.path().join("one-line.cypherl");
    std::fs::write(
        &one_line,
        "CREATE (:__mg_vertex__:P {__mg_id__: 0, n: 1}); CREATE (:__mg_vertex__:P {__mg_id__: 1, n: 1});\nCREATE CONSTRAINT ON (u:P) ASSERT u.n IS UNIQUE;\nMATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;\n",
    )?;
    let target = root.path().join("one-line");
    let (_, err) = expect(&["load", p(&target), p(&one_line)], 7);
    assert!(
        err.contains("two vertices of line 1 have the same values"),
        "{err}"
    );
    // The constraint defined twice: the dump contradicts itself, named at the
    // second definition's line (with or without data that breaks it).
    let text = std::fs::read_to_string(&dump)?;
    let definition = text
        .lines()
        .find(|l| l.contains("CONSTRAINT"))
        .expect("the dump's constraint")
        .to_string();
    for data in [&text, &std::fs::read_to_string(&broken)?] {
        let twice = format!("{data}{definition}\n");
        let line = twice.lines().count();
        let dumped = root.path().join("twice.cypherl");
        std::fs::write(&dumped, twice)?;
        for mode in [None, Some("ON_DISK_TRANSACTIONAL")] {
            let target = root.path().join("target");
            let mut args = vec!["load", p(&target), p(&dumped)];
            args.extend(mode.iter().flat_map(|m| ["--mode", *m]));
            let (_, err) = expect(&args, 7);
            assert!(
                err.contains(&format!("line {line}: the constraint"))
                    && err.contains("is created earlier in the dump"),
                "{mode:?}: {err}"
            );
            assert!(!target.exists());
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

const SMALL: &str = "CREATE (:__mg_vertex__:`Person` {__mg_id__: 0, `name`: \"a\"});\nCREATE (:__mg_vertex__:`Person` {__mg_id__: 1, `name`: \"b\"});\nMATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = 0 AND v.__mg_id__ = 1 CREATE (u)-[:`KNOWS`]->(v);\nCREATE CONSTRAINT ON (u:`Person`) ASSERT EXISTS (u.`name`);\n";

/// What a hostile-user run found after the first fixes: a load into a database
/// with a constraint half-applied; --drop-constraints dropped before a refused
/// switch; a refused load wrote a snapshot.
#[test]
fn refusals_change_nothing() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let small = root.path().join("small.cypherl");
    write(&small, SMALL)?;
    expect(&["load", p(&data), p(&small)], 0);
    let snapshots = |d: &Path| entries(&d.join("snapshots"));
    let before = snapshots(&data);
    // A dump whose last vertex lacks the database's required property.
    let more = root.path().join("more.cypherl");
    write(
        &more,
        "CREATE (:__mg_vertex__:`Person` {__mg_id__: 0, `name`: \"c\"});\nCREATE (:__mg_vertex__:`Person` {__mg_id__: 1});\n",
    )?;
    let (_, err) = expect(&["load", p(&data), p(&more), "--into-existing"], 7);
    assert!(
        err.contains("line 2") && err.contains("nothing was written"),
        "{err}"
    );
    // Refused twice more: no snapshot appears, none is rotated out.
    expect(&["load", p(&data), p(&more)], 6);
    assert_eq!(
        snapshots(&data),
        before,
        "a refused load writes no snapshot"
    );
    let (out, _) = expect(&["info", p(&data)], 0);
    assert!(out.contains("vertices        2"), "{out}");
    // --drop-constraints only where the switch goes ahead.
    expect(
        &["mode", "set", p(&data), "ondisk", "--drop-constraints"],
        6,
    );
    expect(&["mode", "set", p(&data), "txn", "--drop-constraints"], 6);
    let (out, _) = expect(&["info", p(&data)], 0);
    assert!(out.contains("constraints     1"), "kept: {out}");
    expect(
        &["mode", "set", p(&data), "analytical", "--drop-constraints"],
        0,
    );
    Ok(())
}

/// A snapshot copied under a newer name (an older commit), or another database's
/// snapshot dropped in, is never loaded in place of the directory's own.
#[test]
fn a_renamed_or_foreign_snapshot_is_not_loaded_silently() -> Result<()> {
    let root = tempfile::tempdir()?;
    let small = root.path().join("small.cypherl");
    // Without the constraint: the analytical mode holds this one too.
    let unconstrained: String = SMALL
        .lines()
        .filter(|l| !l.starts_with("CREATE CONSTRAINT"))
        .map(|l| format!("{l}\n"))
        .collect();
    write(&small, &unconstrained)?;
    for mode in ["analytical", "txn"] {
        let data = root.path().join(format!("data-{mode}"));
        expect(&["load", p(&data), p(&small), "--mode", mode], 0);
        expect(&["snapshot", "create", p(&data)], 0);
        let mut names = entries(&data.join("snapshots"));
        names.sort();
        // The oldest under a newer name than any.
        let copy = data
            .join("snapshots")
            .join(durability::dir::snapshot_file_name(99, 999));
        std::fs::copy(data.join("snapshots").join(&names[0]), &copy)?;
        let (out, _) = expect(&["verify", p(&data)], 3);
        assert!(
            out.contains("named as the snapshot of commit 999"),
            "{mode}: {out}"
        );
        std::fs::remove_file(&copy)?;
        // Another database's snapshot.
        let other = root.path().join(format!("other-{mode}"));
        expect(&["load", p(&other), p(&small), "--mode", mode], 0);
        let theirs = entries(&other.join("snapshots"));
        let name = durability::dir::snapshot_file_name(99, {
            let n = &theirs[0];
            n.trim_end_matches(".snapshot")
                .split_once('_')
                .and_then(|(_, t)| t.parse().ok())
                .expect("a name")
        });
        std::fs::copy(
            other.join("snapshots").join(&theirs[0]),
            data.join("snapshots").join(&name),
        )?;
        let (out, _) = expect(&["verify", p(&data)], 3);
        assert!(out.contains("another database"), "{mode}: {out}");
        let (_, err) = expect(&["info", p(&data)], 5);
        assert!(
            err.contains(&name) && err.contains("another database"),
            "{mode}: {err}"
        );
    }
    Ok(())
}

/// A restore into the analytical mode of a backup with constraints is refused
/// before anything is written; an in-memory directory with a stray `rocksdb/` and a
/// folder named like a snapshot are damage verify reports (exit 3).
#[test]
fn restores_and_layouts_that_would_not_open() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backup) = (root.path().join("data"), root.path().join("backup"));
    let small = root.path().join("small.cypherl");
    write(&small, SMALL)?;
    expect(&["load", p(&data), p(&small)], 0);
    expect(&["backup", p(&data), p(&backup)], 0);
    let target = root.path().join("target");
    let (_, err) = expect(
        &["restore", p(&backup), p(&target), "--mode", "analytical"],
        6,
    );
    assert!(err.contains("--drop-constraints"), "{err}");
    assert!(!target.exists(), "nothing created");
    expect(
        &[
            "restore",
            p(&backup),
            p(&root.path().join("no/such/parent")),
            "--mode",
            "txn",
        ],
        1,
    );
    assert!(!root.path().join("no").exists());
    let copy = root.path().join("copy");
    expect(&["restore", p(&backup), p(&copy)], 0);
    std::fs::create_dir_all(copy.join("rocksdb"))?;
    let (out, _) = expect(&["verify", p(&copy)], 3);
    assert!(out.contains("rocksdb"), "{out}");
    std::fs::remove_dir_all(copy.join("rocksdb"))?;
    std::fs::create_dir_all(
        copy.join("snapshots")
            .join(durability::dir::snapshot_file_name(7, 7)),
    )?;
    let (out, _) = expect(&["verify", p(&copy)], 3);
    assert!(out.contains("DAMAGED"), "{out}");
    Ok(())
}

/// Loads: a key given twice is invalid input (7) with a message that does not
/// speak of batches; `.` and an existing empty directory take a load; a folder with
/// only a stranger's file in `snapshots/` is no database.
#[test]
fn load_details() -> Result<()> {
    let root = tempfile::tempdir()?;
    let dup = root.path().join("dup.cypherl");
    write(
        &dup,
        "CREATE (:__mg_vertex__ {__mg_id__: 0});\nCREATE (:__mg_vertex__ {__mg_id__: 0});\n",
    )?;
    for mode in ["txn", "analytical", "ondisk"] {
        let (_, err) = expect(
            &["load", p(&root.path().join("d")), p(&dup), "--mode", mode],
            7,
        );
        assert!(
            !err.contains("rolled back") && !err.contains("stays in"),
            "{err}"
        );
    }
    let small = root.path().join("small.cypherl");
    write(&small, SMALL)?;
    let here = root.path().join("here");
    std::fs::create_dir_all(&here)?;
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["load", ".", p(&small)])
        .current_dir(&here)
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect(&["info", p(&here)], 0);
    assert!(!entries(&here).iter().any(|n| n.starts_with(".quiver-load")));
    // Into existing data from inside: the copy swapped in leaves this working
    // directory in the removed old one, and the command says where to go.
    let data_only = root.path().join("data-only.cypherl");
    write(
        &data_only,
        "CREATE (:__mg_vertex__:P {__mg_id__: 0});\nMATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;\n",
    )?;
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["load", ".", p(&data_only), "--into-existing"])
        .current_dir(&here)
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "`cd {}` again",
            std::fs::canonicalize(&here)?.display()
        )),
        "{err}"
    );
    let stranger = root.path().join("stranger");
    std::fs::create_dir_all(stranger.join("snapshots"))?;
    write(&stranger.join("snapshots").join("readme.txt"), "notes")?;
    let (_, err) = expect(&["info", p(&stranger)], 1);
    assert!(err.contains("holds no Quiver database"), "{err}");
    assert_eq!(entries(&stranger), vec!["snapshots".to_string()]);
    Ok(())
}

/// From the second hostile-user run: another database's WAL segment under the
/// first segment's name is the stranger (not the directory's own files); a `wal/`
/// link to nothing and a RocksDB folder added to a backup are damage; a dump vertex
/// that breaks a uniqueness constraint against the data already there is invalid
/// input naming a line.
#[test]
fn strangers_links_and_unique_values() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    filled_directory(&a)?;
    filled_directory(&b)?;
    // b's first segment in place of a's, a's moved to a later name.
    let ours = segments(&a);
    let theirs = segments(&b);
    let first = ours[0].clone();
    std::fs::rename(
        &first,
        first.with_file_name(durability::dir::segment_file_name(50)),
    )?;
    std::fs::copy(&theirs[0], &first)?;
    let (out, _) = expect(&["verify", p(&a)], 3);
    let damaged: Vec<&str> = out.lines().filter(|l| l.starts_with("DAMAGED")).collect();
    assert!(
        damaged
            .iter()
            .any(|l| l.contains(p(&first)) && l.contains("another database")),
        "{out}"
    );
    assert!(
        !damaged
            .iter()
            .any(|l| l.contains("snapshots/") && l.contains("another database")),
        "the directory's own snapshots are not the strangers: {out}"
    );
    let (_, err) = expect(&["info", p(&a)], 5);
    assert!(
        err.starts_with(&format!("error: {}", first.display())),
        "{err}"
    );

    // A wal/ link to nothing (an unmounted disk).
    let c = root.path().join("c");
    filled_directory(&c)?;
    std::fs::rename(c.join("wal"), root.path().join("elsewhere"))?;
    std::os::unix::fs::symlink(root.path().join("gone"), c.join("wal"))?;
    let (out, _) = expect(&["verify", p(&c)], 3);
    assert!(out.contains("a link to nothing"), "{out}");
    let (_, err) = expect(&["info", p(&c)], 1);
    assert!(err.contains("a link to nothing"), "{err}");

    // A RocksDB folder added to a backup.
    let backup = root.path().join("backup");
    expect(&["backup", p(&b), p(&backup)], 0);
    std::fs::create_dir_all(backup.join("rocksdb"))?;
    let (out, _) = expect(&["verify", p(&backup)], 3);
    assert!(out.contains("not part of a backup"), "{out}");

    // Uniqueness against the data already there.
    let d = root.path().join("d");
    let unique = root.path().join("unique.cypherl");
    write(
        &unique,
        "CREATE (:__mg_vertex__:`Person` {__mg_id__: 0, `name`: \"a\"});\nCREATE CONSTRAINT ON (u:`Person`) ASSERT u.`name` IS UNIQUE;\n",
    )?;
    expect(&["load", p(&d), p(&unique)], 0);
    let again = root.path().join("again.cypherl");
    write(
        &again,
        "CREATE (:__mg_vertex__:`Person` {__mg_id__: 0, `name`: \"a\", `age`: 2});\n",
    )?;
    let (_, err) = expect(&["load", p(&d), p(&again), "--into-existing"], 7);
    assert!(err.contains("line 1"), "{err}");
    let (out, _) = expect(&["info", p(&d)], 0);
    assert!(out.contains("vertices        1"), "{out}");
    Ok(())
}

/// Commands that only read record no mode: `info` on a directory without a mode
/// file leaves it without one (it used to write IN_MEMORY_TRANSACTIONAL into an
/// analytical directory).
#[test]
fn reading_records_no_mode() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let small = root.path().join("small.cypherl");
    write(
        &small,
        "CREATE (:__mg_vertex__:`Person` {__mg_id__: 0, `name`: \"a\"});\n",
    )?;
    expect(&["load", p(&data), p(&small), "--mode", "analytical"], 0);
    std::fs::remove_file(data.join(quiver::MODE_FILE))?;
    for args in [&["info"][..], &["dump"], &["verify"]] {
        let mut full = args.to_vec();
        full.push(p(&data));
        expect(&full, 0);
        assert!(
            !data.join(quiver::MODE_FILE).exists(),
            "{args:?} wrote a mode"
        );
    }
    Ok(())
}

/// The third hostile-user run: a list nested 100 000 deep aborted the process on a
/// stack overflow and left a staging directory; text that is no statement was
/// "unsupported" (exit 6, and `--skip-unsupported` dropped it and the data after a
/// byte-order mark); a report command line it cannot run exited 1 after the run.
#[test]
fn hostile_dumps_are_refused_cleanly() -> Result<()> {
    let root = tempfile::tempdir()?;
    let target = root.path().join("db");
    let deep = root.path().join("deep.cypherl");
    std::fs::write(
        &deep,
        format!(
            "CREATE (:__mg_vertex__ {{__mg_id__: 0, l: {}1{}}});\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    )?;
    let (_, stderr) = expect(&["load", p(&target), p(&deep)], 7);
    assert!(stderr.contains("more than 128"), "{stderr}");
    let garbage = root.path().join("garbage.cypherl");
    std::fs::write(
        &garbage,
        "CREATE (:__mg_vertex__ {__mg_id__: 0});\nBOGUS garbage here;\n",
    )?;
    for args in [
        vec!["load", p(&target), p(&garbage)],
        vec!["load", p(&target), p(&garbage), "--skip-unsupported"],
    ] {
        let (_, stderr) = expect(&args, 7);
        assert!(
            stderr.contains("line 2, column 1: expected a statement"),
            "{stderr}"
        );
    }
    let bom = root.path().join("bom.cypherl");
    std::fs::write(
        &bom,
        "\u{feff}CREATE (:__mg_vertex__:`P` {__mg_id__: 0});\nCREATE (:__mg_vertex__:`P` {__mg_id__: 1});\n",
    )?;
    let (stdout, _) = expect(&["load", p(&target), p(&bom)], 0);
    assert!(stdout.contains("loaded 2 vertices"), "{stdout}");
    // Nothing of the refused loads is left beside the target.
    let left: Vec<_> = std::fs::read_dir(root.path())?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".quiver-load-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // (The report's own command line is tested with its binary, in quiver-benches.)
    Ok(())
}

/// A load that was killed leaves its staging directory; the next load into the same
/// parent removes it, and leaves alone one whose load still runs (its mark locked)
/// or that another load is setting up (no mark yet).
#[test]
fn a_killed_loads_staging_directory_is_removed_by_the_next_load() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (abandoned, running, starting) = (
        root.path().join(".quiver-load-abandoned"),
        root.path().join(".quiver-load-running"),
        root.path().join(".quiver-load-starting"),
    );
    for d in [&abandoned, &running, &starting] {
        std::fs::create_dir_all(d.join("snapshots"))?;
    }
    std::fs::write(abandoned.join(".in-use"), "")?;
    let held = std::fs::File::create(running.join(".in-use"))?;
    held.try_lock().map_err(std::io::Error::other)?;
    let dump = root.path().join("one.cypherl");
    std::fs::write(&dump, "CREATE (:__mg_vertex__:`P` {__mg_id__: 0});\n")?;
    let target = root.path().join("db");
    let (stdout, _) = expect(&["load", p(&target), p(&dump)], 0);
    assert!(stdout.contains("loaded 1 vertices"), "{stdout}");
    assert!(
        !abandoned.exists(),
        "the abandoned staging directory is gone"
    );
    assert!(running.exists() && starting.exists(), "the others stay");
    // The loaded directory holds no mark of its staging.
    assert!(!target.join(".in-use").exists());
    drop(held);
    Ok(())
}

/// A hostile-user run found `load --into-existing` committing the part of a dump
/// before a vertex that clashed with the database's data under a uniqueness
/// constraint (60 000 vertices), then saying the directory was left as it was. The
/// check now covers uniqueness against the database's data, for its constraints and
/// for those the dump creates, in every mode that has constraints.
#[test]
fn a_load_into_existing_data_is_checked_for_uniqueness_before_any_write() -> Result<()> {
    let root = tempfile::tempdir()?;
    let file = |name: &str, text: String| -> std::io::Result<String> {
        let path = root.path().join(name);
        std::fs::write(&path, text)?;
        Ok(p(&path).to_string())
    };
    let vertices = |label: &str, key: &str, n: u64, last: &str| {
        let mut text: String = (0..n)
            .map(|i| format!("CREATE (:__mg_vertex__:{label} {{__mg_id__: {i}, {key}: {i}}});\n"))
            .collect();
        text.push_str(last);
        text.push_str("MATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;\n");
        text
    };
    let base = file(
        "base.cypherl",
        "CREATE CONSTRAINT ON (n:M) ASSERT n.v IS UNIQUE;\nCREATE (:__mg_vertex__:M {__mg_id__: 0, v: \"a\"});\nCREATE (:__mg_vertex__:K {__mg_id__: 1, z: 7});\nMATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;\n".into(),
    )?;
    // A vertex with the values of one the database holds, under its constraint.
    let clash = file(
        "clash.cypherl",
        vertices(
            "N",
            "x",
            100,
            "CREATE (:__mg_vertex__:M {__mg_id__: 500, v: \"a\"});\n",
        ),
    )?;
    // Two of the dump's vertices share values of a constraint the dump creates.
    let own = file(
        "own.cypherl",
        vertices(
            "K",
            "z",
            100,
            "CREATE (:__mg_vertex__:K {__mg_id__: 500, z: 8});\nCREATE CONSTRAINT ON (n:K) ASSERT n.z IS UNIQUE;\n",
        ),
    )?;
    // A dump vertex shares values with one of the database's, under the dump's
    // new constraint.
    let against = file(
        "against.cypherl",
        vertices(
            "K",
            "z",
            100,
            "CREATE CONSTRAINT ON (n:K) ASSERT n.z IS UNIQUE;\n",
        )
        .replace("z: 7}", "z: 700}")
        .replacen("z: 0}", "z: 7}", 1),
    )?;
    // Existence and type constraints the dump creates, which a vertex the database
    // holds breaks (the same run found these applied in part).
    let exists = file(
        "exists.cypherl",
        vertices(
            "N",
            "x",
            100,
            "CREATE CONSTRAINT ON (n:K) ASSERT EXISTS (n.q);\n",
        ),
    )?;
    let typed = file(
        "typed.cypherl",
        vertices(
            "N",
            "x",
            100,
            "CREATE CONSTRAINT ON (n:M) ASSERT n.v IS TYPED INTEGER;\n",
        ),
    )?;
    let fine = file(
        "fine.cypherl",
        vertices(
            "K",
            "z",
            100,
            "CREATE CONSTRAINT ON (n:K) ASSERT n.z IS UNIQUE;\n",
        )
        .replace("z: 7}", "z: 700}"),
    )?;
    for mode in ["ON_DISK_TRANSACTIONAL", "IN_MEMORY_TRANSACTIONAL"] {
        let data = root.path().join(mode);
        expect(&["load", p(&data), &base, "--mode", mode], 0);
        let state = image(&Database::open(Config::new().data_directory(&data))?)?;
        for (dump, says) in [
            (&clash, "vertex v0 of the database"),
            (&own, "the vertices of lines 9 and 101"),
            (&against, "of the database has"),
            (&exists, "of the database has no q"),
            (&typed, "of the database has a String v"),
        ] {
            let (_, err) = expect(&["load", p(&data), dump, "--into-existing"], 7);
            assert!(err.contains(says), "{mode}, {dump}: {err}");
            assert!(err.contains("nothing was written"), "{err}");
            assert_eq!(
                image(&Database::open(Config::new().data_directory(&data))?)?,
                state,
                "{mode}, {dump}: refused, so nothing changed"
            );
        }
        expect(&["load", p(&data), &fine, "--into-existing"], 0);
    }
    Ok(())
}

/// A migrate killed before its data landed leaves the mode file alone in the target.
/// The commands that only read refuse that directory and change nothing in it (they
/// used to open it, which created an empty on-disk database, and the retry of the
/// migrate then found the target in use).
#[test]
fn reading_commands_leave_an_interrupted_migrate_target_as_it_is() -> Result<()> {
    let root = tempfile::tempdir()?;
    let source = root.path().join("source");
    let state = filled_directory(&source)?;
    for mode in ["ON_DISK_TRANSACTIONAL", "IN_MEMORY_TRANSACTIONAL"] {
        let target = root.path().join(format!("target-{mode}"));
        std::fs::create_dir_all(&target)?;
        std::fs::write(target.join(quiver::MODE_FILE), format!("{mode}\n"))?;
        let before = entries(&target);
        let backup = root.path().join(format!("backup-{mode}"));
        for args in [
            vec!["info", p(&target)],
            vec!["dump", p(&target)],
            vec!["backup", p(&target), p(&backup)],
        ] {
            let (_, err) = expect(&args, 1);
            assert!(
                err.contains("interrupted migrate or restore"),
                "{args:?}: {err}"
            );
            assert_eq!(entries(&target), before, "{args:?} changed the target");
        }
        expect(&["migrate", p(&source), p(&target), "--mode", mode], 0);
        let db = Database::open(Config::new().data_directory(&target))?;
        assert_eq!(image(&db)?, state, "{mode}");
        db.close()?;
    }
    Ok(())
}

/// The names in `dir` that start with the staging prefix of a load.
fn staging_dirs(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with(".quiver-load-"))
                .collect()
        })
        .unwrap_or_default()
}

/// A hostile-user run killed `load --into-existing` after 340,000 of 2,000,000
/// vertices and ran it again: 340,000 duplicates. The load now goes into a copy
/// beside the database that takes its place in one exchange of names, so a kill at
/// any moment leaves the database as it was or holding the whole dump, and a rerun
/// after a kill that left it as it was loads the dump exactly once.
#[test]
fn a_load_into_existing_data_killed_at_any_moment_leaves_it_whole_or_as_it_was() -> Result<()> {
    let root = tempfile::tempdir()?;
    let base_dump = root.path().join("base.cypherl");
    std::fs::write(
        &base_dump,
        "CREATE INDEX ON :P(n);\nCREATE (:__mg_vertex__:B {__mg_id__: 0, n: 1});\nCREATE (:__mg_vertex__:B {__mg_id__: 1, n: 2});\nMATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = 0 AND v.__mg_id__ = 1 CREATE (u)-[:E]->(v);\nMATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;\n",
    )?;
    let n = 12_000;
    let mut more = String::new();
    for i in 0..n {
        more.push_str(&format!(
            "CREATE (:__mg_vertex__:P {{__mg_id__: {i}, n: {i}, s: \"v{i}\"}});\n"
        ));
    }
    for i in 1..n {
        more.push_str(&format!(
            "MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = {} AND v.__mg_id__ = {i} CREATE (u)-[:F {{w: {i}}}]->(v);\n",
            i - 1
        ));
    }
    more.push_str("MATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;\n");
    let more_dump = root.path().join("more.cypherl");
    std::fs::write(&more_dump, more)?;
    for mode in ["IN_MEMORY_TRANSACTIONAL", "ON_DISK_TRANSACTIONAL"] {
        let work = root.path().join(mode);
        std::fs::create_dir_all(&work)?;
        let base = work.join("base");
        expect(&["load", p(&base), p(&base_dump), "--mode", mode], 0);
        let (before, _) = expect(&["dump", p(&base)], 0);
        let copy_of_base = |name: &str| -> std::io::Result<std::path::PathBuf> {
            let dir = work.join(name);
            let status = Command::new("cp")
                .args(["-a", p(&base), p(&dir)])
                .status()?;
            assert!(status.success());
            Ok(dir)
        };
        // Unkilled: the whole result, and how long it takes.
        let whole = copy_of_base("whole")?;
        let started = std::time::Instant::now();
        let args = |dir: &Path| {
            vec![
                "load".to_string(),
                p(dir).to_string(),
                p(&more_dump).to_string(),
                "--into-existing".to_string(),
            ]
        };
        let (stdout, _) = expect(
            &args(&whole).iter().map(String::as_str).collect::<Vec<_>>(),
            0,
        );
        let took = started.elapsed();
        assert!(stdout.contains(&format!("loaded {n} vertices")), "{stdout}");
        let (after, _) = expect(&["dump", p(&whole)], 0);
        assert_ne!(before, after);
        assert!(staging_dirs(&work).is_empty(), "{:?}", staging_dirs(&work));
        let mut seen = (0, 0, 0);
        // Kill times spread over the run on a grid of fourteenths (7 is prime to
        // 16: each pass of 16 visits every point once, far apart first). Ten kills
        // at least, more until two landed while the copy was being loaded: that
        // phase's share of the run depends on how fast loading is against checking
        // the dump and copying the database.
        let mut k = 0u32;
        while k < 10 || (seen.1 < 2 && k < 32) {
            let at = took * ((k * 7) % 16) / 14;
            k += 1;
            let dir = copy_of_base(&format!("kill-{k}"))?;
            let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
                .args(args(&dir))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            std::thread::sleep(at);
            let _ = child.kill();
            child.wait()?;
            let staged = staging_dirs(&work)
                .iter()
                .any(|s| work.join(s).join("db").exists());
            let (now, _) = expect(&["dump", p(&dir)], 0);
            if now == after {
                seen.2 += 1;
                continue;
            }
            assert!(
                now == before,
                "{mode}: killed after {at:?} of {took:?}: the database is neither as it was nor whole"
            );
            if staged {
                seen.1 += 1;
            } else {
                seen.0 += 1;
            }
            // Again: the dump once, and no staging directory left.
            expect(
                &args(&dir).iter().map(String::as_str).collect::<Vec<_>>(),
                0,
            );
            let (again, _) = expect(&["dump", p(&dir)], 0);
            assert!(again == after, "{mode}: the rerun after a kill differs");
            assert!(staging_dirs(&work).is_empty(), "{:?}", staging_dirs(&work));
        }
        println!(
            "{mode}: load --into-existing took {took:?}; {k} kills left the database as it was {} times before its copy was made, {} times with the copy being loaded, whole {} times",
            seen.0, seen.1, seen.2
        );
        assert!(
            seen.1 >= 2,
            "{mode}: too few kills during the load ({seen:?})"
        );
    }
    Ok(())
}

/// A hostile-user run killed `load --into-existing` after it had swapped the loaded
/// copy in but before it printed its line: the dump was in, and nothing told the
/// user, so a rerun added it twice. The load now records the swap in its staging
/// directory first; a rerun of the same dump learns from it and refuses (exit 6),
/// naming the directory to remove to add the dump again anyway.
#[test]
fn a_load_killed_after_it_took_effect_is_not_added_twice_by_a_rerun() -> Result<()> {
    let root = tempfile::tempdir()?;
    let base_dump = root.path().join("base.cypherl");
    std::fs::write(
        &base_dump,
        "CREATE (:__mg_vertex__:B {__mg_id__: 0, n: 1});\nMATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;\n",
    )?;
    let more_dump = root.path().join("more.cypherl");
    std::fs::write(
        &more_dump,
        "CREATE (:__mg_vertex__:P {__mg_id__: 0, n: 7});\nMATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;\n",
    )?;
    for mode in ["IN_MEMORY_TRANSACTIONAL", "ON_DISK_TRANSACTIONAL"] {
        let work = root.path().join(mode);
        std::fs::create_dir_all(&work)?;
        let dir = work.join("db");
        expect(&["load", p(&dir), p(&base_dump), "--mode", mode], 0);
        let vertices = |dir: &Path| -> usize {
            let (out, _) = expect(&["dump", p(dir)], 0);
            out.matches("CREATE (:__mg_vertex__").count()
        };
        let load = |crash: &str| {
            Command::new(env!("CARGO_BIN_EXE_quiver"))
                .args(["load", p(&dir), p(&more_dump), "--into-existing"])
                .env("QUIVER_CRASH_AT", crash)
                .output()
        };
        // Killed with the record written, before the swap: as it was; a rerun loads.
        let out = load("LoadRecorded")?;
        assert!(
            !out.status.success(),
            "{mode}: the crash point did not fire"
        );
        assert_eq!(vertices(&dir), 1, "{mode}");
        let (out, _) = expect(&["load", p(&dir), p(&more_dump), "--into-existing"], 0);
        assert!(out.contains("loaded 1 vertices"), "{out}");
        assert_eq!(vertices(&dir), 2, "{mode}");
        assert!(staging_dirs(&work).is_empty(), "{:?}", staging_dirs(&work));
        // Killed right after the swap: the dump is in, and a rerun says so.
        let out = load("LoadSwapped")?;
        assert!(
            !out.status.success(),
            "{mode}: the crash point did not fire"
        );
        assert_eq!(vertices(&dir), 3, "{mode}: the swap took effect");
        let (_, err) = expect(&["load", p(&dir), p(&more_dump), "--into-existing"], 6);
        assert!(err.contains("already") && err.contains("twice"), "{err}");
        assert_eq!(vertices(&dir), 3, "{mode}: nothing written");
        let left = staging_dirs(&work);
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(err.contains(&left[0]), "names the staging directory: {err}");
        // The same path edited since (a comment added) is still that dump.
        let original = std::fs::read(&more_dump)?;
        let mut edited = original.clone();
        edited.extend_from_slice(b"// a comment\n");
        std::fs::write(&more_dump, &edited)?;
        let (_, err) = expect(&["load", p(&dir), p(&more_dump), "--into-existing"], 6);
        assert!(err.contains("has changed since"), "{err}");
        std::fs::write(&more_dump, &original)?;
        // Another dump goes in (and the abandoned staging directory goes)...
        expect(&["load", p(&dir), p(&base_dump), "--into-existing"], 0);
        assert_eq!(vertices(&dir), 4, "{mode}");
        assert!(staging_dirs(&work).is_empty(), "{:?}", staging_dirs(&work));
        // ...and after the same kill, removing the named directory lets the same
        // dump in again, as asked.
        assert!(!load("LoadSwapped")?.status.success());
        expect(&["load", p(&dir), p(&more_dump), "--into-existing"], 6);
        for s in staging_dirs(&work) {
            std::fs::remove_dir_all(work.join(s))?;
        }
        expect(&["load", p(&dir), p(&more_dump), "--into-existing"], 0);
        assert_eq!(vertices(&dir), 6, "{mode}");
    }
    Ok(())
}

/// A hostile-user run: `verify` called a directory healthy (exit 0) while another
/// process had it open (opening it then fails), and while its `.lock` was a folder
/// (`info` failed); a lost `quiver.meta` made opening exit 6 ("not allowed") where
/// verify said damaged. Verify now refuses an open directory like opening does (4),
/// calls an unusable lock file damage (3), and the lost metadata is damaged data (5).
#[test]
fn verify_agrees_with_opening_about_locks_and_lost_metadata() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    filled_directory(&data)?;
    expect(&["verify", p(&data)], 0);
    let db = Database::open(Config::new().data_directory(&data))?;
    let (_, err) = expect(&["verify", p(&data)], 4);
    assert!(
        err.contains(&format!("in use by process {}", std::process::id())),
        "{err}"
    );
    expect(&["info", p(&data)], 4);
    db.close()?;
    expect(&["verify", p(&data)], 0);
    std::fs::remove_file(data.join(".lock"))?;
    std::fs::create_dir(data.join(".lock"))?;
    let (out, _) = expect(&["verify", p(&data)], 3);
    assert!(out.contains(".lock"), "{out}");
    expect(&["info", p(&data)], 1);
    std::fs::remove_dir(data.join(".lock"))?;
    expect(&["verify", p(&data)], 0);
    // A link under the lock file's name is never followed: its target is neither
    // written nor created, and verify calls it damage like opening does.
    let precious = root.path().join("precious.txt");
    std::fs::write(&precious, "keep me")?;
    std::os::unix::fs::symlink(&precious, data.join(".lock"))?;
    let (out, _) = expect(&["verify", p(&data)], 3);
    assert!(out.contains("symbolic link"), "{out}");
    let (_, err) = expect(&["info", p(&data)], 1);
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&precious)?, "keep me");
    std::fs::remove_file(data.join(".lock"))?;
    std::os::unix::fs::symlink(root.path().join("created-by-us"), data.join(".lock"))?;
    expect(&["verify", p(&data)], 3);
    expect(&["info", p(&data)], 1);
    assert!(!root.path().join("created-by-us").exists());
    // A named pipe: both answer at once instead of waiting for a writer.
    std::fs::remove_file(data.join(".lock"))?;
    rustix::fs::mknodat(
        rustix::fs::CWD,
        data.join(".lock"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .map_err(std::io::Error::from)?;
    let (out, _) = expect(&["verify", p(&data)], 3);
    assert!(out.contains("not a regular file"), "{out}");
    expect(&["info", p(&data)], 1);
    std::fs::remove_file(data.join(".lock"))?;
    expect(&["verify", p(&data)], 0);

    let dump = root.path().join("one.cypherl");
    std::fs::write(&dump, "CREATE (:__mg_vertex__:`P` {__mg_id__: 0});\n")?;
    let disk = root.path().join("disk");
    expect(
        &[
            "load",
            p(&disk),
            p(&dump),
            "--mode",
            "ON_DISK_TRANSACTIONAL",
        ],
        0,
    );
    std::fs::remove_file(disk.join("rocksdb").join("quiver.meta"))?;
    let (out, _) = expect(&["verify", p(&disk)], 3);
    assert!(out.contains("quiver.meta"), "{out}");
    let (_, err) = expect(&["info", p(&disk)], 5);
    assert!(err.contains("quiver.meta"), "{err}");
    Ok(())
}

/// A hostile-user run: `info`, `dump` and `migrate` shortened the source's WAL when
/// its last record failed its checksum (recovery cut the "torn tail"). The reading
/// commands and migrate's source open without a WAL of their own now, which leaves
/// the file as it is; they still show the state without the torn record.
#[test]
fn reading_commands_and_migrate_leave_a_torn_wal_tail_on_disk() -> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = Database::open(
        Config::new().data_directory(&data).durability(
            engine_api::DurabilityConfig::default()
                .snapshot_interval(None)
                .snapshot_on_exit(false),
        ),
    )?;
    for i in 0..3i64 {
        let mut t = db.begin(TxnOptions::new())?;
        t.create_vertex_with(&["P"], &[("i", i.into())])?;
        t.commit()?;
    }
    db.close()?;
    let last = std::fs::read_dir(data.join("wal"))?
        .flatten()
        .map(|e| e.path())
        .max()
        .expect("a segment");
    let mut bytes = std::fs::read(&last)?;
    let end = bytes.len() - 1;
    bytes[end] ^= 0x55;
    std::fs::write(&last, &bytes)?;
    let (out, _) = expect(&["info", p(&data)], 0);
    assert!(out.contains("vertices        2"), "{out}");
    let (dump, _) = expect(&["dump", p(&data)], 0);
    assert_eq!(dump.matches("CREATE (:__mg_vertex__").count(), 2, "{dump}");
    expect(
        &[
            "migrate",
            p(&data),
            p(&root.path().join("copy")),
            "--mode",
            "ON_DISK_TRANSACTIONAL",
        ],
        0,
    );
    assert_eq!(std::fs::read(&last)?, bytes, "the WAL is as it was");
    Ok(())
}

/// Hostile-user findings of issue 32's session: a file under a snapshot's name that
/// is not one, named as a later commit than the real snapshot (an IN_MEMORY_ANALYTICAL
/// directory, which keeps no WAL, refuses to open past it): verify says the
/// directory does not open and how to clear it, and `mode set` refuses it with
/// nothing changed instead of carrying it into the new mode; a target that is a
/// file; a refused load into a path that did not exist.
#[test]
fn a_junk_snapshot_a_file_as_target_and_a_refused_new_load_are_named_for_what_they_are()
-> Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = Database::open(
        Config::new()
            .data_directory(&data)
            .mode(engine_api::StorageMode::InMemoryAnalytical),
    )?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["A"], &[])?;
    t.commit()?;
    db.close()?;
    let junk = data
        .join("snapshots")
        .join(durability::dir::snapshot_file_name(9, 5));
    std::fs::write(&junk, b"hello")?;
    let (out, err) = expect(&["verify", p(&data)], 3);
    assert!(out.contains("cannot be recovered"), "{out}");
    assert!(err.contains("does not open"), "{err}");
    assert!(err.contains("move the damaged snapshots out of"), "{err}");
    let before = std::fs::read_dir(data.join("snapshots"))?.count();
    let (_, err) = expect(&["mode", "set", p(&data), "IN_MEMORY_TRANSACTIONAL"], 5);
    assert!(err.contains("magic number is not ours"), "{err}");
    assert_eq!(std::fs::read_dir(data.join("snapshots"))?.count(), before);
    let (out, _) = expect(&["mode", "get", p(&data)], 0);
    assert!(out.contains("IN_MEMORY_ANALYTICAL"), "{out}");
    // The hint is true: without the junk the directory verifies and switches.
    std::fs::remove_file(&junk)?;
    expect(&["verify", p(&data)], 0);
    expect(&["mode", "set", p(&data), "IN_MEMORY_TRANSACTIONAL"], 0);

    let file = root.path().join("a-file");
    std::fs::write(&file, b"not a directory")?;
    let dump = root.path().join("graph.cypherl");
    expect(&["dump", p(&data), "--output", p(&dump)], 0);
    let (_, err) = expect(&["load", p(&file), p(&dump)], 6);
    assert!(err.contains("is a file, not a directory"), "{err}");
    let backup = root.path().join("backup");
    expect(&["backup", p(&data), p(&backup)], 0);
    let (_, err) = expect(&["restore", p(&backup), p(&file)], 6);
    assert!(err.contains("is a file, not a directory"), "{err}");
    assert_eq!(std::fs::read(&file)?, b"not a directory");

    // A load refused into a path that did not exist says nothing was created.
    let with_constraint = root.path().join("constraint.cypherl");
    std::fs::write(
        &with_constraint,
        "CREATE CONSTRAINT ON (n:A) ASSERT EXISTS (n.x);\n",
    )?;
    let fresh = root.path().join("fresh");
    let (_, err) = expect(
        &[
            "load",
            p(&fresh),
            p(&with_constraint),
            "--mode",
            "IN_MEMORY_ANALYTICAL",
        ],
        6,
    );
    assert!(err.contains("nothing was created at"), "{err}");
    assert!(!fresh.exists());
    Ok(())
}
