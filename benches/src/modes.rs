//! Storage-mode switches, migrate and backup through the `quiver` facade, on the
//! durability section's graph: objects per second of each move (against the
//! reference database's published mode switch, about 0.75M objects/s on 12 cores),
//! and a backup while two writer threads commit (its seconds, and the writers'
//! throughput during it as a ratio of without).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine_api::{Result, StorageEngine, StorageMode, Transaction, TxnOptions, VertexId};
use quiver::{Config, Database};
use serde::Serialize;

use crate::durability::tempfile_dir;
use crate::engine_subject::EngineSubject;
use crate::workload::{Subject, Workload};

/// The reference database's published mode-switch rate, objects per second.
pub const REFERENCE_SWITCH_RATE: f64 = 750_000.0;

/// One measured move.
#[derive(Debug, Clone, Serialize)]
pub struct MoveRow {
    /// What moved where.
    pub what: String,
    /// Vertices plus edges moved.
    pub objects: u64,
    /// Seconds.
    pub seconds: f64,
}

impl MoveRow {
    fn rate(&self) -> f64 {
        self.objects as f64 / self.seconds.max(1e-9)
    }
}

/// The backup under load.
#[derive(Debug, Clone, Serialize)]
pub struct BackupUnderLoad {
    /// The mode backed up.
    pub mode: String,
    /// Vertices plus edges in the database.
    pub objects: u64,
    /// Backup seconds (snapshot, copy, manifest).
    pub seconds: f64,
    /// Bytes in the backup.
    pub bytes: u64,
    /// Writer commits per second, two threads together, without a backup.
    pub writes_per_s_without: f64,
    /// The same while the backup ran.
    pub writes_per_s_during: f64,
}

/// A full backup, an incremental one after many small commits, and a restore to
/// the commit in the middle of them (IN_MEMORY_TRANSACTIONAL).
#[derive(Debug, Clone, Serialize)]
pub struct ChainFigures {
    /// Vertices plus edges in the database when the full backup was taken.
    pub objects: u64,
    /// The full backup: seconds and bytes.
    pub full_seconds: f64,
    /// Its bytes.
    pub full_bytes: u64,
    /// Small commits (a vertex and an edge each) between the two backups.
    pub commits: u64,
    /// The incremental backup after them: seconds and bytes.
    pub incremental_seconds: f64,
    /// Its bytes.
    pub incremental_bytes: u64,
    /// Restoring the chain to the commit in the middle of the small ones (verified
    /// first, then the snapshot and the WAL up to the point written into a new
    /// directory).
    pub point_restore_seconds: f64,
    /// Vertices plus edges in the restored state.
    pub point_restore_objects: u64,
    /// The restored directory's first open (the snapshot loaded, the WAL up to the
    /// point replayed), seconds.
    pub point_open_seconds: f64,
}

impl ChainFigures {
    /// Objects per second of the point-in-time restore.
    pub fn point_restore_rate(&self) -> f64 {
        self.point_restore_objects as f64 / self.point_restore_seconds.max(1e-9)
    }
}

/// A full backup of RocksDB's files, many small commits, an incremental backup that
/// copies only the files its parent does not hold, and the restore of the chain
/// (ON_DISK_TRANSACTIONAL).
#[derive(Debug, Clone, Serialize)]
pub struct OnDiskChain {
    /// Vertices plus edges when the full backup was taken.
    pub objects: u64,
    /// The full backup's seconds.
    pub full_seconds: f64,
    /// Its bytes.
    pub full_bytes: u64,
    /// Small commits between the two backups.
    pub commits: u64,
    /// The incremental backup's seconds.
    pub incremental_seconds: f64,
    /// The bytes it copied (the files its parent holds are listed, not copied).
    pub incremental_bytes: u64,
    /// The bytes of the state it lists (its own and the shared files).
    pub incremental_state_bytes: u64,
    /// Restoring the chain (verified, files copied, opened once), seconds.
    pub restore_seconds: f64,
    /// Vertices plus edges restored.
    pub restore_objects: u64,
}

/// The section's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ModeFigures {
    /// The moves.
    pub moves: Vec<MoveRow>,
    /// The backups.
    pub backups: Vec<BackupUnderLoad>,
    /// The incremental backup and the point-in-time restore.
    pub chain: ChainFigures,
    /// The on-disk mode's incremental backup.
    pub on_disk_chain: OnDiskChain,
}

fn import(db: Database, w: &Workload) -> Result<Database> {
    let subject = EngineSubject(db);
    let mut ids: Vec<u64> = Vec::with_capacity(w.vertices.len());
    for batch in w.vertices.chunks(w.size.batch.max(1)) {
        ids.extend(subject.import_vertices(batch)?);
    }
    for batch in w.edges.chunks(w.size.batch.max(1)) {
        subject.import_edges(batch, &ids)?;
    }
    Ok(subject.0)
}

fn objects(db: &Database) -> Result<u64> {
    let s = db.stats()?;
    Ok(s.vertices + s.edges)
}

/// Runs the moves and the backups on `w`.
pub fn run(w: &Workload) -> Result<ModeFigures> {
    let tmp = tempfile_dir()?;
    let mut moves = Vec::new();
    let mut timed = |what: &str, n: u64, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        eprintln!("  {what}");
        let start = Instant::now();
        f()?;
        moves.push(MoveRow {
            what: what.to_string(),
            objects: n,
            seconds: start.elapsed().as_secs_f64(),
        });
        Ok(())
    };

    // Memory-only: engine to engine, no file.
    let mut db = import(Database::open(Config::new())?, w)?;
    let n = objects(&db)?;
    timed(
        "IN_MEMORY_TRANSACTIONAL → IN_MEMORY_ANALYTICAL, memory-only",
        n,
        &mut || {
            db.set_storage_mode(StorageMode::InMemoryAnalytical)
                .map(drop)
        },
    )?;
    timed(
        "IN_MEMORY_ANALYTICAL → IN_MEMORY_TRANSACTIONAL, memory-only",
        n,
        &mut || {
            db.set_storage_mode(StorageMode::InMemoryTransactional)
                .map(drop)
        },
    )?;
    drop(db);

    // With a data directory: through a fresh snapshot.
    let dir = tmp.path().join("switch");
    let mut db = import(Database::open(Config::new().data_directory(&dir))?, w)?;
    timed(
        "IN_MEMORY_TRANSACTIONAL → IN_MEMORY_ANALYTICAL, data directory",
        n,
        &mut || {
            db.set_storage_mode(StorageMode::InMemoryAnalytical)
                .map(drop)
        },
    )?;
    timed(
        "IN_MEMORY_ANALYTICAL → IN_MEMORY_TRANSACTIONAL, data directory",
        n,
        &mut || {
            db.set_storage_mode(StorageMode::InMemoryTransactional)
                .map(drop)
        },
    )?;
    db.close()?;
    let on_disk = tmp.path().join("migrated-on-disk");
    // The source was closed with a snapshot: migrate copies that file and imports it.
    let mut copied = false;
    timed(
        "migrate IN_MEMORY_TRANSACTIONAL → ON_DISK_TRANSACTIONAL (new directory)",
        n,
        &mut || {
            copied = quiver::migrate(&dir, &on_disk, StorageMode::OnDiskTransactional)?
                .copied_snapshot
                .is_some();
            Ok(())
        },
    )?;
    let analytical = tmp.path().join("migrated-analytical");
    timed(
        "migrate ON_DISK_TRANSACTIONAL → IN_MEMORY_ANALYTICAL (new directory)",
        n,
        &mut || quiver::migrate(&on_disk, &analytical, StorageMode::InMemoryAnalytical).map(drop),
    )?;

    let mut backups = Vec::new();
    for (mode, data) in [
        (StorageMode::InMemoryTransactional, dir.clone()),
        (StorageMode::OnDiskTransactional, on_disk.clone()),
    ] {
        let db = Database::open(Config::new().data_directory(&data))?;
        let dest = tmp
            .path()
            .join(format!("backup-{}", quiver::mode_name(mode)));
        backups.push(backup_under_load(&db, &dest, n)?);
        db.close()?;
    }
    // The on-disk backup (the source's objects plus the ticks its writers added)
    // back into a new directory: verified, then RocksDB's files copied.
    let backup = tmp.path().join(format!(
        "backup-{}",
        quiver::mode_name(StorageMode::OnDiskTransactional)
    ));
    let restored = tmp.path().join("restored-on-disk");
    timed(
        "restore an ON_DISK_TRANSACTIONAL backup (new directory, verified first)",
        0,
        &mut || {
            quiver::restore(
                &backup,
                &restored,
                &quiver::RestoreOptions::new(),
                &|_, _| {},
            )
            .map(drop)
        },
    )?;
    if copied
        && let Some(row) = moves
            .iter_mut()
            .find(|r| r.what.starts_with("migrate IN_MEMORY_TRANSACTIONAL"))
    {
        row.what = "migrate IN_MEMORY_TRANSACTIONAL → ON_DISK_TRANSACTIONAL (new directory; the closed source's newest snapshot copied and imported)".to_string();
    }
    // Counted afterwards: the backup holds the writers' ticks too.
    let db = Database::open(Config::new().data_directory(&restored))?;
    let restored_objects = objects(&db)?;
    db.close()?;
    if let Some(row) = moves.last_mut() {
        row.objects = restored_objects;
    }
    let chain = chain(&dir, tmp.path(), 10_000)?;
    let on_disk_chain = on_disk_chain(&restored, tmp.path(), 10_000)?;
    Ok(ModeFigures {
        moves,
        backups,
        chain,
        on_disk_chain,
    })
}

/// The bytes a backup copied (not those it lists as held by its parent).
fn copied_bytes(m: &quiver::Manifest) -> u64 {
    m.files.iter().filter(|f| !f.shared).map(|f| f.size).sum()
}

/// `commits` small commits (a vertex and an edge each) into `db`.
fn ticks(db: &Database, commits: u64) -> Result<()> {
    let mut previous: Option<VertexId> = None;
    for _ in 0..commits {
        let mut t = db.begin(TxnOptions::new())?;
        let v = t.create_vertex_with(&["Tick"], &[("at", 1.into())])?;
        if let Some(p) = previous {
            t.create_edge(v, p, "TICKS")?;
        }
        t.commit()?;
        previous = Some(v);
    }
    Ok(())
}

/// A full backup of the on-disk database in `data`, `commits` small commits, an
/// incremental backup, and a restore of the chain.
fn on_disk_chain(
    data: &std::path::Path,
    tmp: &std::path::Path,
    commits: u64,
) -> Result<OnDiskChain> {
    eprintln!("  on-disk: full backup, {commits} small commits, incremental backup, restore");
    let durability = quiver::default_durability(StorageMode::OnDiskTransactional)
        .sync_mode(engine_api::SyncMode::Off);
    let db = Database::open(
        Config::new()
            .data_directory(data)
            .durability_for(StorageMode::OnDiskTransactional, durability),
    )?;
    let at_full = objects(&db)?;
    let (full, inc) = (tmp.join("on-disk-full"), tmp.join("on-disk-incremental"));
    let started = Instant::now();
    let full_manifest = quiver::backup(&db, &full, &|_, _| {})?;
    let full_seconds = started.elapsed().as_secs_f64();
    ticks(&db, commits)?;
    let started = Instant::now();
    let inc_manifest = quiver::backup_incremental(&db, &full, &inc, &|_, _| {})?;
    let incremental_seconds = started.elapsed().as_secs_f64();
    db.close()?;
    let target = tmp.join("on-disk-chain-restored");
    let started = Instant::now();
    quiver::restore(&inc, &target, &quiver::RestoreOptions::new(), &|_, _| {})?;
    let restore_seconds = started.elapsed().as_secs_f64();
    let restored = Database::open(Config::new().data_directory(&target))?;
    let restore_objects = objects(&restored)?;
    restored.close()?;
    Ok(OnDiskChain {
        objects: at_full,
        full_seconds,
        full_bytes: copied_bytes(&full_manifest),
        commits,
        incremental_seconds,
        incremental_bytes: copied_bytes(&inc_manifest),
        incremental_state_bytes: inc_manifest.files.iter().map(|f| f.size).sum(),
        restore_seconds,
        restore_objects,
    })
}

/// A full backup of the transactional database in `data`, `commits` small commits,
/// an incremental backup, and a restore of the chain to the middle commit.
fn chain(data: &std::path::Path, tmp: &std::path::Path, commits: u64) -> Result<ChainFigures> {
    eprintln!("  full backup, {commits} small commits, incremental backup, restore to a point");
    // The small commits are not what is measured: they sync as the OS likes.
    let durability = quiver::default_durability(StorageMode::InMemoryTransactional)
        .sync_mode(engine_api::SyncMode::Off);
    let db = Database::open(Config::new().data_directory(data).durability(durability))?;
    let at_full = objects(&db)?;
    let (full, inc) = (tmp.join("chain-full"), tmp.join("chain-incremental"));
    let started = Instant::now();
    let full_manifest = quiver::backup(&db, &full, &|_, _| {})?;
    let full_seconds = started.elapsed().as_secs_f64();
    let mut previous: Option<VertexId> = None;
    let mut middle = 0;
    for i in 0..commits {
        let mut t = db.begin(TxnOptions::new())?;
        let v = t.create_vertex_with(&["Tick"], &[("at", 1.into())])?;
        if let Some(p) = previous {
            t.create_edge(v, p, "TICKS")?;
        }
        let ts = t.commit()?.commit_timestamp;
        if i == commits / 2 {
            middle = ts;
        }
        previous = Some(v);
    }
    let started = Instant::now();
    let inc_manifest = quiver::backup_incremental(&db, &full, &inc, &|_, _| {})?;
    let incremental_seconds = started.elapsed().as_secs_f64();
    db.close()?;
    let target = tmp.join("chain-restored");
    let started = Instant::now();
    quiver::restore(
        &inc,
        &target,
        &quiver::RestoreOptions::new().until(Some(engine_api::RecoveryPoint::Commit(middle))),
        &|_, _| {},
    )?;
    let point_restore_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let restored = Database::open(Config::new().data_directory(&target))?;
    let point_open_seconds = started.elapsed().as_secs_f64();
    let point_restore_objects = objects(&restored)?;
    restored.close()?;
    let bytes = |m: &quiver::Manifest| m.files.iter().map(|f| f.size).sum();
    Ok(ChainFigures {
        objects: at_full,
        full_seconds,
        full_bytes: bytes(&full_manifest),
        commits,
        incremental_seconds,
        incremental_bytes: bytes(&inc_manifest),
        point_restore_seconds,
        point_restore_objects,
        point_open_seconds,
    })
}

/// Two writers commit small transactions for a while without a backup, then while
/// one runs; the ratio of their rates is what the backup costs them.
fn backup_under_load(
    db: &Database,
    dest: &std::path::Path,
    objects: u64,
) -> Result<BackupUnderLoad> {
    eprintln!("  backup of {:?} while 2 writers commit", db.storage_mode());
    let commits = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    // Each writer links its new vertex to its own previous one: the two never write
    // the same object, so neither waits for nor conflicts with the other.
    let writer = || -> Result<()> {
        let mut previous: Option<VertexId> = None;
        while !stop.load(Ordering::Acquire) {
            let mut t = db.begin(TxnOptions::new())?;
            let v = t.create_vertex_with(&["Tick"], &[("at", 1.into())])?;
            if let Some(p) = previous {
                t.create_edge(v, p, "TICKS")?;
            }
            t.commit()?;
            previous = Some(v);
            commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    };
    let window = Duration::from_secs(2);
    let (without, during, seconds, manifest) = std::thread::scope(|s| -> Result<_> {
        let threads = [s.spawn(writer), s.spawn(writer)];
        std::thread::sleep(Duration::from_millis(200));
        let (c0, t0) = (commits.load(Ordering::Relaxed), Instant::now());
        std::thread::sleep(window);
        let without = (commits.load(Ordering::Relaxed) - c0) as f64 / t0.elapsed().as_secs_f64();
        let (c1, t1) = (commits.load(Ordering::Relaxed), Instant::now());
        let manifest = quiver::backup(db, dest, &|_, _| {});
        let seconds = t1.elapsed().as_secs_f64();
        let during = (commits.load(Ordering::Relaxed) - c1) as f64 / seconds.max(1e-9);
        stop.store(true, Ordering::Release);
        for t in threads {
            t.join().unwrap_or_else(|_| {
                Err(engine_api::Error::new(
                    engine_api::ErrorKind::Io,
                    "writer thread panicked",
                ))
            })?;
        }
        Ok((without, during, seconds, manifest?))
    })?;
    Ok(BackupUnderLoad {
        mode: manifest.mode.clone(),
        objects,
        seconds,
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        writes_per_s_without: without,
        writes_per_s_during: during,
    })
}

impl ModeFigures {
    /// The figures as a Markdown section; `recovery_rate` is the durability section's
    /// full recovery (objects/s), the yardstick of the point-in-time restore.
    pub fn markdown(&self, recovery_rate: f64) -> String {
        let mut md = String::from(
            "\n## Mode switch, migrate and backup (the durability section's graph, through the `quiver` facade; one run; not limited by `--backends`)\n\n",
        );
        md.push_str("| move | objects | seconds | objects/s |\n|---|---:|---:|---:|\n");
        for m in &self.moves {
            md.push_str(&format!(
                "| {} | {} | {:.2} | {:.2}M |\n",
                m.what,
                m.objects,
                m.seconds,
                m.rate() / 1e6,
            ));
        }
        md.push_str(&format!("\nFor reference only (another machine, not a ratio): the reference database publishes a mode switch of about {:.2} M objects/s on 12 cores.\n", REFERENCE_SWITCH_RATE / 1e6));
        md.push_str("\nA memory-only switch streams one engine's image into the other (no file); with a data directory it goes through a fresh snapshot (written, then loaded), so the WAL of the transactional mode starts after a complete image. Migrate writes the image as a snapshot into the new directory; the on-disk mode then imports it into RocksDB, an in-memory mode loads it on first open (not timed here).\n\n");
        md.push_str("| backup while 2 writers commit | objects | seconds | backup MB | writer commits/s without | during | ratio |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for b in &self.backups {
            md.push_str(&format!(
                "| {} | {} | {:.2} | {:.1} | {:.0} | {:.0} | {:.2} |\n",
                b.mode,
                b.objects,
                b.seconds,
                b.bytes as f64 / 1e6,
                b.writes_per_s_without,
                b.writes_per_s_during,
                b.writes_per_s_during / b.writes_per_s_without.max(1e-9)
            ));
        }
        md.push_str("\nThe in-memory modes back up through the portable snapshot format (one self-checking file); the on-disk mode copies RocksDB's files from a checkpoint (each file's CRC-32 in the manifest). Every backup restores into any mode. Writers sync every commit (the default).\n");
        let c = &self.chain;
        md.push_str(&format!(
            "\n| IN_MEMORY_TRANSACTIONAL, {} objects | seconds | MB | vs the full backup |\n|---|---:|---:|---:|\n",
            c.objects
        ));
        md.push_str(&format!(
            "| full backup | {:.3} | {:.2} | 1 |\n",
            c.full_seconds,
            c.full_bytes as f64 / 1e6
        ));
        md.push_str(&format!(
            "| incremental backup after {} small commits | {:.3} | {:.3} | {:.2}% of the bytes, {:.2}% of the time |\n",
            c.commits,
            c.incremental_seconds,
            c.incremental_bytes as f64 / 1e6,
            100.0 * c.incremental_bytes as f64 / c.full_bytes.max(1) as f64,
            100.0 * c.incremental_seconds / c.full_seconds.max(1e-9)
        ));
        md.push_str(&format!(
            "| restore of the chain to the middle commit ({} objects) | {:.3} | | {:.2}M objects/s = {:.2}x the full recovery's {:.2}M/s |\n",
            c.point_restore_objects,
            c.point_restore_seconds,
            c.point_restore_rate() / 1e6,
            c.point_restore_rate() / recovery_rate.max(1e-9),
            recovery_rate / 1e6
        ));
        let with_open = c.point_restore_objects as f64
            / (c.point_restore_seconds + c.point_open_seconds).max(1e-9);
        md.push_str(&format!(
            "| the same restore and the restored directory's first open | {:.3} | | {:.2}M objects/s = {:.2}x |\n",
            c.point_restore_seconds + c.point_open_seconds,
            with_open / 1e6,
            with_open / recovery_rate.max(1e-9)
        ));
        md.push_str("\nThe incremental backup copies the WAL after the full one (no snapshot). The restore to a point verifies the chain (every block and record read and checked), then writes the snapshot under a new database id and the WAL up to the point into the new directory (the new directory's first open replays that WAL, not timed here); the full recovery it is compared with loads a snapshot.\n");
        let d = &self.on_disk_chain;
        md.push_str(&format!(
            "\n| ON_DISK_TRANSACTIONAL, {} objects | seconds | MB copied | vs the full backup |\n|---|---:|---:|---:|\n| full backup (RocksDB's files) | {:.3} | {:.2} | 1 |\n| incremental backup after {} small commits | {:.3} | {:.3} (of {:.2} listed) | {:.2}% of the bytes, {:.2}% of the time |\n| restore of the chain ({} objects) | {:.3} | | {:.2}M objects/s |\n",
            d.objects,
            d.full_seconds,
            d.full_bytes as f64 / 1e6,
            d.commits,
            d.incremental_seconds,
            d.incremental_bytes as f64 / 1e6,
            d.incremental_state_bytes as f64 / 1e6,
            100.0 * d.incremental_bytes as f64 / d.full_bytes.max(1) as f64,
            100.0 * d.incremental_seconds / d.full_seconds.max(1e-9),
            d.restore_objects,
            d.restore_seconds,
            d.restore_objects as f64 / d.restore_seconds.max(1e-9) / 1e6
        ));
        md.push_str("\nThe on-disk incremental backup copies the files RocksDB wrote since its parent (the flushed commits, and what compactions rewrote) and lists the rest as shared.\n");
        md
    }
}
