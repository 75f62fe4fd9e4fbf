//! EIO from the disk under RocksDB: a child process runs with a small C library
//! preloaded (`support/eio.c`) that makes writes and syncs of chosen files fail with
//! EIO after a number of calls, as a disk going bad would. RocksDB owns that I/O, so
//! our own file layer cannot reach it. Checked, for several failure points:
//! - in the WAL: the failing commit returns `Io` (or `Poisoned`), never Ok and never a
//!   panic; later writes are refused; reads go on; reopening on a working disk has
//!   every acknowledged commit (and at most the one whose failure left it unsure);
//!   failing the open's own write of the counts fails the open with `Io`;
//! - in RocksDB's MANIFEST while the database is created: `open` fails with an error
//!   and the next open on a working disk succeeds.
//!
//! Needs a C compiler (`cc`) and a C library that honours LD_PRELOAD (glibc); skipped
//! with a message otherwise.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine_api::{ErrorKind, PropertyValue, StorageEngine, SyncMode, Transaction, TxnOptions};
use engine_ondisk::{Config, OnDiskEngine};

#[path = "support/eio.rs"]
mod eio;

const CHILD_DIR: &str = "QUIVER_EIO_CHILD_DIR";

fn config(dir: &Path) -> Config {
    Config::new(dir).durability(Config::default_durability().sync_mode(SyncMode::EveryCommit))
}

/// The child: commits numbered vertices until a commit fails, then checks that the
/// engine refuses writes and still reads, and exits 0. Every line is flushed.
fn child(dir: &Path) {
    let engine = match OnDiskEngine::open(config(dir)) {
        Ok(e) => e,
        Err(e) => {
            println!("open-failed {:?} {e}", e.kind());
            return;
        }
    };
    println!("opened");
    for n in 0i64..10_000 {
        let result = engine.begin(TxnOptions::new()).and_then(|mut t| {
            t.create_vertex_with(&["N"], &[("n", n.into())])?;
            t.commit()
        });
        match result {
            Ok(_) => println!("ack {n}"),
            Err(e) => {
                println!("failed {n} {:?} {e}", e.kind());
                let again = engine.begin(TxnOptions::new()).and_then(|mut t| {
                    t.create_vertex()?;
                    t.commit()
                });
                match again {
                    Ok(_) => println!("later-write accepted"),
                    Err(e) => println!("later-write {:?}", e.kind()),
                }
                let read = engine
                    .begin(TxnOptions::new().read_only())
                    .and_then(|t| t.vertex_count());
                println!(
                    "read {}",
                    read.map_or_else(|e| format!("{e}"), |c| c.to_string())
                );
                return;
            }
        }
    }
    println!("no-failure");
}

/// Runs the child with the library preloaded; returns its standard output lines.
fn run_child(lib: &Path, dir: &Path, matching: &str, suffix: &str, after: u64) -> Vec<String> {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .env(CHILD_DIR, dir)
        .env("LD_PRELOAD", lib)
        .env("QUIVER_EIO_MATCH", matching)
        .env("QUIVER_EIO_SUFFIX", suffix)
        .env("QUIVER_EIO_AFTER", after.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child hung on a failing disk ({matching} after {after} calls)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut out)
        .expect("read the child's output");
    assert!(
        status.success(),
        "the child failed ({status}) with EIO in {matching} after {after} calls; output:\n{out}"
    );
    out.lines().map(str::to_string).collect()
}

fn count_present(dir: &Path) -> Vec<i64> {
    let engine = OnDiskEngine::open(config(dir)).expect("reopen on a working disk");
    let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
    let mut ns: Vec<i64> = t
        .vertices_with_label("N")
        .expect("scan")
        .map(
            |v| match t.vertex_property(v.expect("vertex"), "n").expect("read") {
                Some(PropertyValue::Int(n)) => n,
                other => panic!("n = {other:?}"),
            },
        )
        .collect();
    ns.sort_unstable();
    ns
}

fn wal_failures(lib: &Path) {
    for after in [0u64, 1, 2, 3, 7, 20, 61] {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("db");
        // Create the database on a working disk first.
        drop(OnDiskEngine::open(config(&dir)).expect("create"));
        let wal = format!("{}/wal/", dir.display());
        let lines = run_child(lib, &dir, &wal, ".log", after);
        if let Some(failed) = lines.iter().find(|l| l.starts_with("open-failed ")) {
            // The open writes the counts (a write and a sync of the log) before any
            // transaction: failing there fails the open, and loses nothing.
            assert!(after <= 2, "the open failed after {after} calls: {lines:?}");
            assert!(
                failed.starts_with(&format!("open-failed {:?} ", ErrorKind::Io)),
                "{failed}"
            );
            assert!(count_present(&dir).is_empty(), "the database opens again");
            continue;
        }
        let acked: Vec<i64> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("ack ")?.parse().ok())
            .collect();
        let failed = lines
            .iter()
            .find(|l| l.starts_with("failed "))
            .unwrap_or_else(|| panic!("no commit failed with EIO after {after} calls: {lines:?}"));
        let kind = failed.split(' ').nth(2).unwrap_or_default();
        assert!(
            kind == format!("{:?}", ErrorKind::Io) || kind == format!("{:?}", ErrorKind::Poisoned),
            "the failing commit: {failed}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l == &format!("later-write {:?}", ErrorKind::Poisoned)),
            "later writes are refused as Poisoned: {lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("read ") && l[5..].parse::<u64>().is_ok()),
            "reads go on: {lines:?}"
        );
        let present = count_present(&dir);
        for n in &acked {
            assert!(
                present.binary_search(n).is_ok(),
                "acknowledged commit {n} lost after EIO in the WAL after {after} calls"
            );
        }
        assert!(
            present.len() <= acked.len() + 1,
            "{} commits present, {} acknowledged",
            present.len(),
            acked.len()
        );
    }
}

fn manifest_failure(lib: &Path) {
    for after in [0u64, 2] {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("db");
        let lines = run_child(lib, &dir, "MANIFEST", "", after);
        assert!(
            lines.iter().any(|l| l.starts_with("open-failed ")),
            "creating on a failing disk fails the open: {lines:?}"
        );
        assert!(
            count_present(&dir).is_empty(),
            "the next open on a working disk creates an empty database"
        );
    }
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        child(Path::new(&dir));
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    let Some(lib) = eio::build(out.path()) else {
        return;
    };
    wal_failures(&lib);
    manifest_failure(&lib);
    println!("io_errors: EIO in the WAL at 7 points and in the MANIFEST at 2 points checked");
}
