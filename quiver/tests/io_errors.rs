//! EIO while a backup is copied: a child process backs a database up with a small C
//! library preloaded (`engine-ondisk/tests/support/eio.c`) that fails writes and
//! syncs of files in the backup's staging directory (beside the backup's name) with
//! EIO from the n-th call on. For each failure point the backup fails with `Io`,
//! leaves nothing under the backup's name and no staging directory, and the database
//! goes on. Needs `cc` and glibc; skipped with
//! a message otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use engine_api::{StorageEngine, Transaction, TxnOptions};
use quiver::{Config, Database};

#[path = "../../engine-ondisk/tests/support/eio.rs"]
mod eio;

const CHILD: &str = "QUIVER_EIO_BACKUP_CHILD";

fn child(data: &Path, dest: &Path) {
    let db = Database::open(Config::new().data_directory(data)).expect("open");
    match quiver::backup(&db, dest, &|_, _| {}) {
        Ok(_) => println!("backup-ok"),
        Err(e) => println!("backup-failed {:?} {e}", e.kind()),
    }
    let written = db.begin(TxnOptions::new()).and_then(|mut t| {
        t.create_vertex()?;
        t.commit()
    });
    println!(
        "write-after {}",
        if written.is_ok() { "ok" } else { "failed" }
    );
    db.close().expect("close");
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn main() {
    if let Ok(paths) = std::env::var(CHILD) {
        let (data, dest) = paths.split_once('\n').expect("two paths");
        child(Path::new(data), Path::new(dest));
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let Some(lib) = eio::build(root.path()) else {
        return;
    };
    let data = root.path().join("data");
    {
        let db = Database::open(Config::new().data_directory(&data)).expect("create");
        let mut t = db.begin(TxnOptions::new()).expect("begin");
        for i in 0..2000i64 {
            t.create_vertex_with(&["N"], &[("n", i.into())])
                .expect("vertex");
        }
        t.commit().expect("commit");
        db.close().expect("close");
    }
    let mut failed = 0;
    for after in 0u64..8 {
        let dest = root.path().join(format!("backup-{after}"));
        let out = Command::new(std::env::current_exe().expect("own path"))
            .env(CHILD, format!("{}\n{}", data.display(), dest.display()))
            .env("LD_PRELOAD", &lib)
            // The backup is written in a staging directory beside `dest`.
            .env(
                "QUIVER_EIO_MATCH",
                format!("{}/.quiver-backup-", root.path().display()),
            )
            .env("QUIVER_EIO_AFTER", after.to_string())
            .stderr(Stdio::inherit())
            .output()
            .expect("run the child");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "the child failed ({}): {text}",
            out.status
        );
        assert!(
            text.contains("write-after ok"),
            "the database goes on: {text}"
        );
        if text.contains("backup-ok") {
            let report = quiver::verify(&dest, &|_, _| {}).expect("verify");
            assert!(
                report.is_sound(),
                "a backup that succeeded verifies: {report:?}"
            );
            continue;
        }
        failed += 1;
        assert!(text.contains("backup-failed Io"), "EIO gives Io: {text}");
        // Nothing under the backup's name, and the staging directory gone.
        assert!(
            !dest.exists(),
            "after {after}: a failed backup left {dest:?}"
        );
        let staged: Vec<_> = std::fs::read_dir(root.path())
            .expect("list")
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".quiver-backup-")
            })
            .collect();
        assert!(staged.is_empty(), "after {after}: staging left: {staged:?}");
        for f in files(&dest) {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            assert!(
                !name.ends_with(".tmp"),
                "after {after}: a temporary file is left: {f:?}"
            );
            assert_ne!(
                name,
                quiver::MANIFEST_FILE,
                "after {after}: a failed backup has a manifest"
            );
            let rel = f.strip_prefix(&dest).expect("inside the backup");
            let copy = std::fs::read(&f).expect("read the copy");
            let source = std::fs::read(data.join(rel)).expect("the source file");
            assert!(
                source.starts_with(&copy) && !copy.is_empty(),
                "after {after}: {rel:?} is not a whole copy ({} of {} bytes)",
                copy.len(),
                source.len()
            );
        }
    }
    assert!(
        failed >= 3,
        "the first failure points must fail the backup ({failed} did)"
    );
    println!("io_errors: a backup with EIO at 8 points checked ({failed} failed cleanly)");
}
