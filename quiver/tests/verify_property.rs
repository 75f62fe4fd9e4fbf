//! `verify` says damaged exactly when opening fails: random changes (copy, rename,
//! truncate, flip, delete, add) to data directories and backups of all three modes,
//! then verify, then the real thing — opening the directory, or restoring the backup
//! and opening that. For the on-disk mode "opening" includes reading every record
//! (`OnDiskEngine::check_data`): RocksDB reads a damaged block only when it is read.
//!
//! RocksDB's housekeeping files (`OPTIONS-*`, `LOG*`, `LOCK`, `IDENTITY`) are left
//! alone: they hold no data, and RocksDB's read-only open, which verify uses, treats
//! some changes to them differently from its read-write open.
//!
//! `QUIVER_VERIFY_CASES=N` runs N cases per mode and kind (default 24), the same ones
//! on every run; `QUIVER_VERIFY_RANDOM=1` draws new ones.

use std::path::{Path, PathBuf};

use engine_api::{DurabilityConfig, Result, StorageEngine, StorageMode, Transaction, TxnOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use quiver::{Config, Database, Engine, RestoreOptions};

mod common;
use common::fill;

const ALL: [StorageMode; 3] = [
    StorageMode::InMemoryTransactional,
    StorageMode::InMemoryAnalytical,
    StorageMode::OnDiskTransactional,
];

fn quiet(_: u64, _: u64) {}

/// Each mode's defaults with a small WAL segment size, so the log has several
/// segments, and two snapshots kept, so retention has deleted the oldest segments.
fn durability(_: StorageMode, d: DurabilityConfig) -> DurabilityConfig {
    d.wal_segment_bytes(4096)
        .snapshot_retention(2)
        .snapshot_on_exit(false)
}

fn open(dir: &Path) -> Result<Database> {
    Database::open(
        Config::new()
            .data_directory(dir)
            .durability_by_mode(durability),
    )
}

/// A data directory of `mode` with two snapshots (a third deleted by retention),
/// commits after them, and (in the transactional mode) a WAL of several segments
/// whose oldest retention has deleted; and a backup of it.
fn build(root: &Path, mode: StorageMode, name: &str) -> Result<(PathBuf, PathBuf)> {
    let data = root.join(format!("{name}-data"));
    let backup = root.join(format!("{name}-backup"));
    let db = Database::open(
        Config::new()
            .data_directory(&data)
            .mode(mode)
            .durability_by_mode(durability),
    )?;
    fill(&db)?;
    db.create_snapshot()?;
    for round in 0..5 {
        let mut t = db.begin(TxnOptions::new())?;
        for i in 0..20 {
            t.create_vertex_with(&["Later"], &[("n", (round * 100 + i).into())])?;
        }
        t.commit()?;
        if round == 1 || round == 3 {
            db.create_snapshot()?;
        }
    }
    quiver::backup(&db, &backup, &quiet)?;
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["AfterBackup"], &[])?;
    t.commit()?;
    // A crash, not a close: the WAL after the newest snapshot stays.
    std::mem::forget(db);
    let _ = std::fs::remove_file(data.join(".lock"));
    Ok((data, backup))
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if e.file_name() != ".lock" {
            out.push(p);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else if e.file_name() != ".lock" {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

/// One change to a directory. Numbers pick files and places modulo what is there.
#[derive(Debug, Clone)]
enum Change {
    /// Copy a file to another name of the same kind (a segment to another sequence
    /// number, a snapshot to another sequence number and timestamp).
    Copy {
        file: usize,
        shift: i8,
    },
    /// The same, moving it.
    Rename {
        file: usize,
        shift: i8,
    },
    /// Cut a file at a fraction of its length.
    Truncate {
        file: usize,
        at: u16,
    },
    /// Flip bits of one byte.
    Flip {
        file: usize,
        at: u16,
        mask: u8,
    },
    Delete {
        file: usize,
    },
    /// Add a file: another database's file of the same kind under the next name of
    /// ours, garbage under a name of ours, or a file with a name that is not ours.
    Add {
        what: u8,
        file: usize,
    },
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<usize>(), -2i8..=3).prop_map(|(file, shift)| Change::Copy { file, shift }),
        (any::<usize>(), -2i8..=3).prop_map(|(file, shift)| Change::Rename { file, shift }),
        (any::<usize>(), any::<u16>()).prop_map(|(file, at)| Change::Truncate { file, at }),
        (any::<usize>(), any::<u16>(), 1u8..=255).prop_map(|(file, at, mask)| Change::Flip {
            file,
            at,
            mask
        }),
        any::<usize>().prop_map(|file| Change::Delete { file }),
        (0u8..3, any::<usize>()).prop_map(|(what, file)| Change::Add { what, file }),
    ]
}

/// Another name of the same kind for `path`: a WAL segment or snapshot `shift`
/// sequence numbers on (the snapshot's timestamp moved as much), anything else with
/// a suffix.
fn renamed(path: &Path, shift: i8) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let moved = |n: u64| n.saturating_add_signed(i64::from(shift));
    let new = if let Some(seq) = name
        .strip_suffix(".wal")
        .and_then(|s| s.parse::<u64>().ok())
    {
        durability::dir::segment_file_name(moved(seq))
    } else if let Some((seq, ts)) = name
        .strip_suffix(".snapshot")
        .and_then(|s| s.split_once('_'))
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
    {
        durability::dir::snapshot_file_name(moved(seq), moved(ts))
    } else {
        format!("{name}.{shift}")
    };
    path.with_file_name(new)
}

/// RocksDB's housekeeping files, which its read-only open (verify) and its
/// read-write open (the engine) treat differently (a renamed `OPTIONS-N` fails the
/// first and not the second) and which hold no data: left alone.
fn housekeeping(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.parent().is_some_and(|p| p.ends_with("rocksdb"))
        && (name.starts_with("OPTIONS")
            || name.starts_with("LOG")
            || name == "LOCK"
            || name == "IDENTITY")
}

/// Makes the change; returns what it did, for the failure message.
fn apply(dir: &Path, stranger: &Path, c: &Change) -> std::io::Result<String> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    files.retain(|p| !housekeeping(p));
    files.sort();
    if files.is_empty() {
        return Ok("nothing (no files)".to_string());
    }
    let pick = |i: usize| files[i % files.len()].clone();
    let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
    Ok(match c {
        Change::Copy { file, shift } => {
            let from = pick(*file);
            let to = renamed(&from, *shift);
            std::fs::copy(&from, &to)?;
            format!("copied {} to {}", rel(&from), rel(&to))
        }
        Change::Rename { file, shift } => {
            let from = pick(*file);
            let to = renamed(&from, *shift);
            std::fs::rename(&from, &to)?;
            format!("renamed {} to {}", rel(&from), rel(&to))
        }
        Change::Truncate { file, at } => {
            let f = pick(*file);
            let len = std::fs::metadata(&f)?.len();
            let keep = len * u64::from(*at) / 65536;
            std::fs::OpenOptions::new()
                .write(true)
                .open(&f)?
                .set_len(keep)?;
            format!("cut {} from {len} to {keep} bytes", rel(&f))
        }
        Change::Flip { file, at, mask } => {
            let f = pick(*file);
            let mut bytes = std::fs::read(&f)?;
            let i = bytes.len() * usize::from(*at) / 65536;
            if let Some(b) = bytes.get_mut(i) {
                *b ^= mask;
                std::fs::write(&f, &bytes)?;
            }
            format!("flipped {mask:#04x} at byte {i} of {}", rel(&f))
        }
        Change::Delete { file } => {
            let f = pick(*file);
            std::fs::remove_file(&f)?;
            format!("deleted {}", rel(&f))
        }
        Change::Add { what, file } => {
            let mut theirs = Vec::new();
            files_under(stranger, &mut theirs);
            theirs.sort();
            let sub = ["snapshots", "wal"][*file % 2];
            std::fs::create_dir_all(dir.join(sub))?;
            match what {
                0 => {
                    // Another database's file, under a name that sorts after ours.
                    match theirs
                        .iter()
                        .filter(|p| p.starts_with(stranger.join(sub)))
                        .nth(*file / 2 % 3)
                    {
                        Some(t) => {
                            let name = renamed(t, 3);
                            let name = name.file_name().map(PathBuf::from).unwrap_or_default();
                            std::fs::copy(t, dir.join(sub).join(&name))?;
                            format!("added another database's {sub}/{}", name.display())
                        }
                        None => "nothing (the other database has no such file)".to_string(),
                    }
                }
                1 => {
                    let name = if sub == "wal" {
                        durability::dir::segment_file_name(90 + *file as u64 % 5)
                    } else {
                        durability::dir::snapshot_file_name(90 + *file as u64 % 5, 1000)
                    };
                    std::fs::write(dir.join(sub).join(&name), b"not what it says it is")?;
                    format!("added garbage as {sub}/{name}")
                }
                _ => {
                    std::fs::write(dir.join(sub).join("notes.txt"), b"an operator's notes")?;
                    format!("added {sub}/notes.txt")
                }
            }
        }
    })
}

/// Opens `dir` as the CLI does, lists its snapshots (as `info` and a backup do) and
/// reads every record: the error, if any.
fn opens(dir: &Path) -> std::result::Result<(), String> {
    let db = open(dir).map_err(|e| e.to_string())?;
    db.snapshots().map_err(|e| e.to_string())?;
    if let Engine::OnDiskTransactional(e) = db.engine() {
        e.check_data().map_err(|e| e.to_string())?;
    }
    let t = db
        .begin(TxnOptions::new().read_only())
        .map_err(|e| e.to_string())?;
    for v in t.vertices().map_err(|e| e.to_string())? {
        let v = v.map_err(|e| e.to_string())?;
        t.vertex_properties(v).map_err(|e| e.to_string())?;
    }
    drop(t);
    db.close().map_err(|e| e.to_string())
}

fn restores_and_opens(backup: &Path, target: &Path) -> std::result::Result<(), String> {
    quiver::restore(backup, target, &RestoreOptions::new(), &quiet).map_err(|e| e.to_string())?;
    opens(target)
}

fn describe(report: &quiver::VerifyReport) -> String {
    let mut out = String::new();
    for f in &report.files {
        out += &format!(
            "  {} {}: {}{}\n",
            f.kind,
            f.path.display(),
            f.damage
                .as_deref()
                .map_or(String::new(), |d| format!("DAMAGED {d}")),
            f.passed_over
                .as_deref()
                .map_or(String::new(), |d| format!("PASSED {d}"))
        );
    }
    out
}

fn cases() -> u32 {
    std::env::var("QUIVER_VERIFY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

#[test]
fn verify_says_damaged_exactly_when_opening_fails() -> Result<()> {
    let root = tempfile::tempdir()?;
    for mode in ALL {
        let tag = format!("{mode:?}");
        let (data, backup) = build(root.path(), mode, &tag)?;
        // Another database, always with a WAL: its segments are added too.
        let (stranger, _) = build(
            root.path(),
            StorageMode::InMemoryTransactional,
            &format!("{tag}-other"),
        )?;
        // Unchanged, both are sound and open.
        let r = quiver::verify(&data, &quiet)?;
        assert!(r.is_sound(), "{mode:?} {}", describe(&r));
        let r = quiver::verify(&backup, &quiet)?;
        assert!(r.is_sound(), "{}", describe(&r));
        for (kind, template) in [("data directory", &data), ("backup", &backup)] {
            let config = RunnerConfig {
                cases: cases(),
                failure_persistence: None,
                ..RunnerConfig::default()
            };
            // The same cases on every run (CI), unless a long run asks for new ones.
            let mut runner = if std::env::var_os("QUIVER_VERIFY_RANDOM").is_some() {
                TestRunner::new(config)
            } else {
                TestRunner::new_with_rng(
                    config,
                    proptest::test_runner::TestRng::deterministic_rng(
                        proptest::test_runner::RngAlgorithm::ChaCha,
                    ),
                )
            };
            let n = std::cell::Cell::new(0u32);
            let outcome = runner.run(&proptest::collection::vec(change(), 1..=2), |changes| {
                n.set(n.get() + 1);
                let case =
                    root.path()
                        .join(format!("{tag}-{}-{}", kind.replace(' ', "-"), n.get()));
                copy_dir(template, &case).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut done = Vec::new();
                for c in &changes {
                    // A change that cannot be made (a name already taken) is no
                    // change.
                    done.push(
                        apply(&case, &stranger, c).unwrap_or_else(|e| format!("nothing ({e})")),
                    );
                }
                let report = quiver::verify(&case, &quiet)
                    .map_err(|e| TestCaseError::fail(format!("verify failed: {e}")))?;
                let opened = if kind == "backup" {
                    restores_and_opens(&case, &case.with_extension("restored"))
                } else {
                    opens(&case)
                };
                prop_assert_eq!(
                    report.is_sound(),
                    opened.is_ok(),
                    "{} {:?}, {:?}: verify says {} but opening gives {:?}\n{}",
                    kind,
                    mode,
                    done,
                    if report.is_sound() {
                        "sound"
                    } else {
                        "damaged"
                    },
                    opened,
                    describe(&report)
                );
                let _ = std::fs::remove_dir_all(&case);
                let _ = std::fs::remove_dir_all(case.with_extension("restored"));
                Ok(())
            });
            if let Err(e) = outcome {
                panic!("{e}");
            }
        }
    }
    Ok(())
}

/// Asserts verify's verdict on the data directory `case` equals opening's.
fn agrees(case: &Path, what: &str) -> std::result::Result<(), String> {
    let report = quiver::verify(case, &quiet).map_err(|e| e.to_string())?;
    let opened = opens(case);
    if report.is_sound() == opened.is_ok() {
        Ok(())
    } else {
        Err(format!(
            "{what}: verify says {} but opening gives {opened:?}\n{}",
            if report.is_sound() {
                "sound"
            } else {
                "damaged"
            },
            describe(&report)
        ))
    }
}

/// Changes the random ones rarely draw, each of which must damage the directory:
/// every snapshot gone while retention has trimmed the WAL (commits missing before
/// the log's first), and the transactional mode's log, with commits after the
/// snapshot, dropped into an analytical directory.
#[test]
fn verify_and_opening_agree_on_the_changes_that_break_continuity() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (txn, _) = build(root.path(), StorageMode::InMemoryTransactional, "txn")?;
    let (analytical, _) = build(root.path(), StorageMode::InMemoryAnalytical, "analytical")?;
    let case = root.path().join("no-snapshots");
    copy_dir(&txn, &case)?;
    let mut first = Vec::new();
    files_under(&case.join("wal"), &mut first);
    first.sort();
    assert!(
        !first[0].ends_with(durability::dir::segment_file_name(1)),
        "retention trimmed the log: {first:?}"
    );
    std::fs::remove_dir_all(case.join("snapshots"))?;
    agrees(&case, "every snapshot deleted").map_err(engine_api::Error::invalid_input)?;
    assert!(!quiver::verify(&case, &quiet)?.is_sound());
    let case = root.path().join("foreign-log");
    copy_dir(&analytical, &case)?;
    std::fs::create_dir_all(case.join("wal"))?;
    for f in first.iter().rev().take(1) {
        let name = f.file_name().map(PathBuf::from).unwrap_or_default();
        std::fs::copy(txn.join("wal").join(&name), case.join("wal").join(&name))?;
    }
    agrees(&case, "a later log in an analytical directory")
        .map_err(engine_api::Error::invalid_input)?;
    assert!(!quiver::verify(&case, &quiet)?.is_sound());
    Ok(())
}
