//! Hostile and foreign files in the data directory: each gives a typed error naming
//! the file, or is left alone, and nothing a commit acknowledged is lost.

use std::path::{Path, PathBuf};

use engine_api::{DurabilityConfig, ErrorKind, StorageEngine, SyncMode, Transaction, TxnOptions};
use engine_inmem_txn::{Config, InMemoryEngine};

fn config(dir: &Path) -> Config {
    Config::default().data_directory(dir).durability(
        DurabilityConfig::default()
            .sync_mode(SyncMode::EveryCommit)
            .wal_segment_bytes(4096)
            .snapshot_interval(None)
            .snapshot_on_exit(false),
    )
}

/// Opens `dir`, commits `n` vertices (each a transaction), closes.
fn fill(dir: &Path, n: i64) {
    let engine = InMemoryEngine::open(config(dir)).expect("open");
    for i in 0..n {
        let mut t = engine.begin(TxnOptions::new()).expect("begin");
        t.create_vertex_with(
            &["Person"],
            &[("n", i.into()), ("pad", "x".repeat(200).into())],
        )
        .expect("create");
        t.commit().expect("commit");
    }
    engine.close().expect("close");
}

fn count(dir: &Path) -> u64 {
    let engine = InMemoryEngine::open(config(dir)).expect("open");
    let n = engine
        .begin(TxnOptions::new().read_only())
        .expect("begin")
        .vertex_count()
        .expect("count");
    engine.close().expect("close");
    n
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The newest segment in `wal` and its sequence number.
fn last_segment(wal: &Path) -> (PathBuf, u64) {
    let last = files(wal).pop().expect("a segment");
    let seq = last
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
        .expect("a numbered segment");
    (last, seq)
}

/// Whether `err` names the file at `path`.
fn names(err: &engine_api::Error, path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| err.message().contains(&*n.to_string_lossy()))
}

fn open_err(dir: &Path) -> engine_api::Error {
    match InMemoryEngine::open(config(dir)) {
        Ok(_) => panic!("{} opened", dir.display()),
        Err(e) => e,
    }
}

/// Another database's segment, named and numbered as the next segment of this one,
/// is never replayed: Corrupt, naming the file.
#[test]
fn a_wal_segment_of_another_database_is_corrupt() {
    let root = tempfile::tempdir().expect("temp dir");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    fill(&a, 3);
    fill(&b, 40);
    let ours = files(&a.join("wal"));
    let theirs = files(&b.join("wal"));
    assert!(theirs.len() > ours.len(), "b has more segments than a");
    let next = &theirs[ours.len()];
    let name = next.file_name().expect("a name");
    std::fs::copy(next, a.join("wal").join(name)).expect("copy");
    let err = open_err(&a);
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(names(&err, next), "names the file: {err}");
    assert!(err.message().contains("belongs to database"), "{err}");
}

/// A snapshot written by a newer format version is Corrupt, saying which version it
/// is and which this build reads (never loaded as if it were ours, never skipped).
#[test]
fn a_snapshot_of_a_newer_format_version_is_refused_naming_both_versions() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("db");
    fill(&dir, 3);
    let engine = InMemoryEngine::open(config(&dir)).expect("open");
    let snapshot = engine.create_snapshot().expect("snapshot").path;
    engine.close().expect("close");
    let mut bytes = std::fs::read(&snapshot).expect("read");
    let mut magic = [0u8; 8];
    magic.copy_from_slice(&bytes[..8]);
    let header = durability::format::decode_header(&magic, 0..=u16::MAX, "snapshot", &bytes)
        .unwrap_or_else(|_| panic!("our own header reads"));
    let newer = durability::format::encode_header(&magic, 999, &header);
    bytes[..newer.len()].copy_from_slice(&newer);
    std::fs::write(&snapshot, &bytes).expect("write");
    for f in files(&dir.join("wal")) {
        std::fs::remove_file(f).expect("remove");
    }
    let err = open_err(&dir);
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(err.message().contains("format version 999"), "{err}");
}

/// Files with our names and random content, or no content, are Corrupt naming the
/// file (a snapshot) or a torn header of the newest segment (a crash right after the
/// segment was created); never skipped as foreign.
#[test]
fn files_named_as_ours_with_random_or_no_content() {
    let root = tempfile::tempdir().expect("temp dir");
    for (what, name, bytes) in [
        (
            "snapshot, random",
            "snapshots/00000000000000000009_00000000000000000099.snapshot",
            vec![0x5a; 300],
        ),
        (
            "snapshot, empty",
            "snapshots/00000000000000000009_00000000000000000099.snapshot",
            Vec::new(),
        ),
        (
            "older segment, random",
            "wal/00000000000000000000.wal",
            vec![0xa5; 300],
        ),
    ] {
        let dir = root.path().join(what.replace([',', ' '], "_"));
        fill(&dir, 3);
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dir");
        std::fs::write(&path, &bytes).expect("write");
        let err = open_err(&dir);
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{what}: {err}");
        assert!(names(&err, &path), "{what}: names the file: {err}");
    }
    // An empty newest segment is a crash right after it was created: the commits
    // before it are all there.
    let dir = root.path().join("empty_newest_segment");
    fill(&dir, 3);
    let (_, seq) = last_segment(&dir.join("wal"));
    std::fs::write(dir.join("wal").join(format!("{:020}.wal", seq + 1)), []).expect("write");
    assert_eq!(count(&dir), 3);
}

/// A foreign file (a name that is not ours) is left alone: not parsed, not deleted.
#[test]
fn a_foreign_file_is_left_alone() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("db");
    fill(&dir, 3);
    for name in ["wal/notes.txt", "snapshots/README", "stray.bin"] {
        std::fs::write(dir.join(name), b"not ours").expect("write");
    }
    assert_eq!(count(&dir), 3);
    let engine = InMemoryEngine::open(config(&dir)).expect("open");
    engine.create_snapshot().expect("snapshot");
    engine.close().expect("close");
    for name in ["wal/notes.txt", "snapshots/README", "stray.bin"] {
        assert_eq!(std::fs::read(dir.join(name)).expect("kept"), b"not ours");
    }
}

/// Symbolic links: a `wal/` directory that is a link to another disk works (a common
/// deployment), and a link named as a segment whose target is gone is an error naming
/// it, never a silently shorter log.
#[cfg(unix)]
#[test]
fn symlinks_in_the_data_directory() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("db");
    let elsewhere = root.path().join("other-disk-wal");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::create_dir_all(&elsewhere).expect("dir");
    std::os::unix::fs::symlink(&elsewhere, dir.join("wal")).expect("link");
    fill(&dir, 5);
    assert!(
        !files(&elsewhere).is_empty(),
        "the log went through the link"
    );
    assert_eq!(count(&dir), 5);

    let (last, seq) = last_segment(&elsewhere);
    let dangling = elsewhere.join(format!("{:020}.wal", seq + 1));
    std::os::unix::fs::symlink(root.path().join("gone"), &dangling).expect("link");
    let err = open_err(&dir);
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(names(&err, &dangling), "names the link: {err}");
    // A segment that is a link to a real segment is read like any other.
    std::fs::remove_file(&dangling).expect("remove");
    let moved = root.path().join("moved.wal");
    std::fs::rename(&last, &moved).expect("move");
    std::os::unix::fs::symlink(&moved, &last).expect("link");
    assert_eq!(count(&dir), 5, "the linked segment's commits are replayed");
    // A directory named as a snapshot is damage too.
    std::fs::create_dir_all(
        dir.join("snapshots")
            .join("00000000000000000009_00000000000000000099.snapshot"),
    )
    .expect("dir");
    assert_eq!(open_err(&dir).kind(), ErrorKind::Corrupt);
}

/// A torn tail (here: the last record's last byte flipped, its length intact) is
/// read as cut off by every open; only an engine that writes a WAL after it cuts it
/// from the file. One without a WAL (what a reading tool opens) leaves every byte as
/// it was, and a later open that writes still recovers the same state and cuts it.
/// (A hostile-user run found `quiver info` and `dump` shortening a WAL.)
#[test]
fn an_open_without_a_wal_leaves_a_torn_tail_on_disk() {
    let tmp = tempfile::tempdir().expect("tmp");
    fill(tmp.path(), 5);
    let (last, _) = last_segment(&tmp.path().join("wal"));
    let mut bytes = std::fs::read(&last).expect("read");
    let end = bytes.len() - 1;
    bytes[end] ^= 0x55;
    std::fs::write(&last, &bytes).expect("write");
    let reading = config(tmp.path()).durability(
        DurabilityConfig::default()
            .wal(false)
            .snapshot_interval(None)
            .snapshot_on_exit(false),
    );
    let engine = InMemoryEngine::open(reading).expect("open without a WAL");
    let report = engine.recovery_report().expect("report");
    assert!(report.truncated_wal_bytes > 0, "{report:?}");
    let seen = engine
        .begin(TxnOptions::new().read_only())
        .expect("begin")
        .vertex_count()
        .expect("count");
    assert_eq!(seen, 4, "the torn last commit is not there");
    engine.close().expect("close");
    assert_eq!(
        std::fs::read(&last).expect("read"),
        bytes,
        "not a byte changed"
    );
    assert_eq!(count(tmp.path()), 4, "an open that writes sees the same");
    assert!(
        std::fs::metadata(&last).expect("stat").len() < bytes.len() as u64,
        "and cuts the tail"
    );
}
