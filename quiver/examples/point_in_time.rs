//! Incremental backups and a point-in-time restore: a full backup on "Monday", an
//! incremental one each following day, and the database restored to the moment
//! between two of Wednesday's commits (in a real deployment: `--until
//! 2026-12-04T10:00:00Z`; here the days are a few milliseconds apart).
//!
//! Run: `cargo run -p quiver --example point_in_time`

use std::time::{Duration, SystemTime};

use engine_api::{RecoveryPoint, StorageEngine, Transaction, TxnOptions};
use quiver::{Config, Database, RestoreOptions};

fn order(db: &Database, day: &str, n: i64) -> engine_api::Result<u64> {
    let mut t = db.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Order"], &[("day", day.into()), ("n", n.into())])?;
    Ok(t.commit()?.commit_timestamp)
}

fn orders(db: &Database) -> engine_api::Result<usize> {
    Ok(db
        .begin(TxnOptions::new().read_only())?
        .vertices_with_label("Order")?
        .count())
}

fn main() -> engine_api::Result<()> {
    let root = tempfile::tempdir()?;
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    std::fs::create_dir_all(&backups)?;
    let db = Database::open(Config::new().data_directory(&data))?;
    let nothing = &|_: u64, _: u64| {};

    // Monday: a full backup.
    for n in 0..1000 {
        order(&db, "monday", n)?;
    }
    let monday = quiver::backup(&db, &backups.join("monday"), nothing)?;
    // Tuesday and Wednesday: incremental backups, each after the day before.
    for n in 0..100 {
        order(&db, "tuesday", n)?;
    }
    let tuesday = quiver::backup_incremental(
        &db,
        &backups.join("monday"),
        &backups.join("tuesday"),
        nothing,
    )?;
    let mut ten_o_clock = SystemTime::now();
    for n in 0..100 {
        let ts = order(&db, "wednesday", n)?;
        if n == 49 {
            // "Wednesday 10:00": after the 50th order, before the 51st.
            std::thread::sleep(Duration::from_millis(5));
            ten_o_clock = SystemTime::now();
            std::thread::sleep(Duration::from_millis(5));
            println!("commit {ts} was the last before 10:00");
        }
    }
    let wednesday = quiver::backup_incremental(
        &db,
        &backups.join("tuesday"),
        &backups.join("wednesday"),
        nothing,
    )?;
    db.close()?;
    let size = |m: &quiver::Manifest| m.files.iter().map(|f| f.size).sum::<u64>();
    println!(
        "monday (full) {} bytes, tuesday {} bytes, wednesday {} bytes",
        size(&monday),
        size(&tuesday),
        size(&wednesday)
    );

    // The newest backup verifies with the chain behind it.
    let report = quiver::verify(&backups.join("wednesday"), nothing)?;
    assert!(report.is_sound());

    // Restore to Wednesday 10:00.
    let restored = root.path().join("restored");
    let done = quiver::restore(
        &backups.join("wednesday"),
        &restored,
        &RestoreOptions::new().until(Some(RecoveryPoint::Time(ten_o_clock))),
        nothing,
    )?;
    let last = done.last_commit.map(|c| c.commit_ts).unwrap_or_default();
    let db = Database::open(Config::new().data_directory(&restored))?;
    println!(
        "restored to 10:00: {} orders, up to commit {last}",
        orders(&db)?
    );
    assert_eq!(orders(&db)?, 1150);
    db.close()?;
    Ok(())
}
