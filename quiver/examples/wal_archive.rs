//! The WAL archive: a data directory that keeps one snapshot, and an archive that
//! keeps what retention lets go for a week, so the database restores to a point long
//! before its oldest snapshot without any backup.
//!
//! Run: `cargo run -p quiver --example wal_archive` (in a temporary directory), or
//! `cargo run -p quiver --example wal_archive -- DIR [DAYS]` to write DIR (a new or
//! existing transactional data directory) and restore it into `DIR.restored`.

use std::path::PathBuf;
use std::time::Duration;

use engine_api::{RecoveryPoint, StorageEngine, StorageMode, Transaction, TxnOptions, WalArchive};
use quiver::{Config, Database, RestoreOptions};

fn main() -> engine_api::Result<()> {
    let mut args = std::env::args().skip(1);
    let temporary = tempfile::tempdir()?;
    let data = args
        .next()
        .map_or_else(|| temporary.path().join("data"), PathBuf::from);
    let days: u32 = match args.next() {
        Some(d) => d.parse().map_err(|_| {
            engine_api::Error::invalid_input(format!("{d:?} is not a number of days"))
        })?,
        None => 3,
    };
    let durability = quiver::default_durability(StorageMode::InMemoryTransactional)
        .snapshot_retention(1)
        .wal_archive(Some(
            WalArchive::default().keep_for(Some(Duration::from_secs(7 * 24 * 3600))),
        ));
    let db = Database::open(Config::new().data_directory(&data).durability(durability))?;
    // Each "day": some orders, then the day's snapshot (retention keeps only the
    // newest in snapshots/; the older ones move into archive/ with their WAL).
    let mut first_of_day = Vec::new();
    for day in 0..days {
        for n in 0..100i64 {
            let mut t = db.begin(TxnOptions::new())?;
            t.create_vertex_with(
                &["Order"],
                &[("day", i64::from(day).into()), ("n", n.into())],
            )?;
            let ts = t.commit()?.commit_timestamp;
            if n == 0 {
                first_of_day.push(ts);
            }
        }
        db.create_snapshot()?;
    }
    db.close()?;
    println!(
        "{}: {} snapshot(s) in snapshots/, {} in archive/snapshots/",
        data.display(),
        count(&data.join("snapshots")),
        count(&data.join("archive/snapshots"))
    );
    // The first order of the first day written in this run: before every snapshot
    // the directory keeps.
    let point = first_of_day.first().copied().unwrap_or(1);
    let target = PathBuf::from(format!("{}.restored", data.display()));
    let restored = quiver::restore(
        &data,
        &target,
        &RestoreOptions::new().until(Some(RecoveryPoint::Commit(point))),
        &|_, _| {},
    )?;
    let db = Database::open(Config::new().data_directory(&target))?;
    let orders = db
        .begin(TxnOptions::new().read_only())?
        .vertices_with_label("Order")?
        .count();
    db.close()?;
    println!(
        "restored to commit {} into {}: {orders} orders",
        restored.last_commit.map_or(0, |c| c.commit_ts),
        target.display()
    );
    Ok(())
}

fn count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.flatten().count())
}
