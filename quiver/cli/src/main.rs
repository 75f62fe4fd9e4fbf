//! `quiver`: the command line of Quiver's facade, for a data directory no process
//! holds. Every command's `--help` has an example; the exit codes are in
//! [`EXIT_CODES`].

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod load;
use engine_api::{DurabilityConfig, Error, ErrorKind, RecoveryPoint, StorageEngine, StorageMode};
use indicatif::{ProgressBar, ProgressStyle};
use quiver::{Config, Database, RestoreOptions, mode_name};

/// `println!` for a reader that may go away: `quiver info d | head -1` closes
/// standard output early, and a closed output ends the command quietly (exit 0), as
/// it ends other Unix tools, instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            quit_on_closed_output(&e);
        }
    }};
}

const EXIT_CODES: &str = "Exit codes:
  0  done
  1  failed (an I/O error or another failure; the message names the file)
  2  the command line is wrong
  3  verify found damage
  4  the data directory is in use by another process
  5  the data is damaged and was refused
  6  the request is not allowed (a mode rule, a non-empty target, something the
     mode does not support, a definition that exists already, ...)
  7  the input is invalid (a dump line that does not parse, or refers to a vertex
     no statement creates, or breaks the dump's own constraints)";

// The benchmark report is `scripts/report.sh`, the `report` binary of
// `quiver-benches`: this command links neither the benchmark crate nor its counting
// allocator (which would cost every command an atomic add per allocation).

/// Quiver's command line: inspect, snapshot, back up, verify, restore, dump, load,
/// switch the storage mode of, and migrate a data directory.
#[derive(Debug, Parser)]
#[command(name = "quiver", version, after_help = EXIT_CODES)]
struct Cli {
    /// Logs on stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The mode, database id, formats, counts, snapshots and WAL segments of a data
    /// directory.
    #[command(after_help = "Example:\n  quiver info ./data")]
    Info {
        /// The data directory.
        dir: PathBuf,
    },
    /// Write or list snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Back a data directory up into a new directory (snapshot, WAL after it,
    /// manifest with checksums). For a database a process has open, call
    /// `quiver::backup` from that process (online, while writers go on). With
    /// --incremental, only what was committed after the backup PARENT. `quiver
    /// backup aggregate CHAIN... OUT` folds a chain into one full backup.
    #[command(
        after_help = "Examples:\n  quiver backup ./data ./backups/monday\n  quiver backup ./data ./backups/tuesday --incremental ./backups/monday\n  quiver restore ./backups/tuesday ./restored   (follows the chain back to monday)\n  quiver backup aggregate ./backups/monday ./backups/tuesday ./backups/full-tuesday\n  quiver backup aggregate ./backups/tuesday ./backups/monday-noon --until 2026-12-01T12:00:00Z\n(a directory named \"aggregate\" is given as ./aggregate)"
    )]
    Backup {
        /// DIR DEST: the data directory and where the backup goes (new or empty).
        /// Or `aggregate CHAIN... OUT`: the backups of a chain (the newest last; the
        /// newest alone is enough, the others must be the ones behind it) and where
        /// the folded full backup goes.
        // Appended: options may come between the paths (`aggregate B3 --until 9 OUT`).
        #[arg(required = true, num_args = 1.., action = clap::ArgAction::Append, value_name = "DIR DEST | aggregate CHAIN... OUT")]
        paths: Vec<PathBuf>,
        /// Back up only what was committed after this backup (a full or incremental
        /// one of the same database): IN_MEMORY_TRANSACTIONAL copies the WAL after
        /// it, IN_MEMORY_ANALYTICAL writes a new snapshot, ON_DISK_TRANSACTIONAL
        /// copies the RocksDB files the chain does not hold yet. Verify and restore
        /// the newest backup of the chain; they follow the parents.
        #[arg(long, value_name = "PARENT")]
        incremental: Option<PathBuf>,
        /// With `aggregate`: fold the chain's state at this point (a commit
        /// timestamp or an RFC 3339 time with its zone) instead of the newest.
        #[arg(long, value_parser = parse_point_arg, allow_hyphen_values = true)]
        until: Option<RecoveryPoint>,
    },
    /// Check a backup or a data directory without writing to it: manifest, sizes,
    /// checksums, every snapshot block and WAL record. Exits with 3 on damage.
    #[command(after_help = "Example:\n  quiver verify ./backups/monday")]
    Verify {
        /// The backup or data directory.
        dir: PathBuf,
    },
    /// Restore a backup into a data directory (verified first).
    #[command(
        after_help = "Examples:\n  quiver restore ./backups/monday ./data\n  quiver restore ./backups/monday ./data --force --mode IN_MEMORY_ANALYTICAL\n  quiver restore ./backups/monday ./data --until 2026-12-04T10:00:00Z\n  quiver restore ./backups/monday ./data --until 1234"
    )]
    Restore {
        /// The backup (or a copied data directory).
        backup: PathBuf,
        /// The data directory to restore into (new or empty, unless --force).
        dir: PathBuf,
        /// Move the files already in DIR into DIR/.backup/ first (never deleted).
        #[arg(long)]
        force: bool,
        /// Restore the snapshot alone, without the WAL after it.
        #[arg(long)]
        snapshot_only: bool,
        /// Restore into this mode instead of the backup's.
        #[arg(long, value_parser = parse_mode_arg)]
        mode: Option<StorageMode>,
        /// Restore the state at this point instead of the newest: a commit
        /// timestamp (1234) or an RFC 3339 time with its zone (2026-12-04T10:00:00Z,
        /// 2026-12-04T11:00:00+01:00; every commit logged at or before it).
        /// Any point of an IN_MEMORY_TRANSACTIONAL history (the restored database
        /// gets a new database id); of an IN_MEMORY_ANALYTICAL backup chain or
        /// directory, only the commit a link (or the directory's newest snapshot)
        /// holds, restored as that link.
        #[arg(long, value_parser = parse_point_arg, allow_hyphen_values = true)]
        until: Option<RecoveryPoint>,
    },
    /// Write the whole database as Cypher statements.
    #[command(
        after_help = "Examples:\n  quiver dump ./data > graph.cypherl\n  quiver dump ./data -o graph.cypherl"
    )]
    Dump {
        /// The data directory.
        dir: PathBuf,
        /// The file to write (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Load a dump, all or nothing. Into a new directory: loaded beside it, then
    /// moved into place; into a database that holds data, only with
    /// --into-existing: the whole dump is checked against it, loaded into a copy
    /// beside it, and the copy takes its place in one step.
    #[command(
        after_help = "Examples:\n  quiver load ./data graph.cypherl --mode IN_MEMORY_ANALYTICAL\n  quiver load ./data more.cypherl --into-existing"
    )]
    Load {
        /// The data directory: new or empty (created whole, or not at all), or a
        /// database (then --into-existing if it holds data).
        dir: PathBuf,
        /// The dump file.
        file: PathBuf,
        /// The mode of a new data directory (default: IN_MEMORY_TRANSACTIONAL).
        #[arg(long, value_parser = parse_mode_arg)]
        mode: Option<StorageMode>,
        /// Add the dump to a database that holds data already (new ids; the whole
        /// dump is checked against it first).
        #[arg(long)]
        into_existing: bool,
        /// Leave out constraints where the mode has none (IN_MEMORY_ANALYTICAL).
        #[arg(long)]
        skip_constraints: bool,
        /// Leave out statements Quiver does not support (text or vector indexes,
        /// enums, ...) instead of refusing the dump.
        #[arg(long)]
        skip_unsupported: bool,
    },
    /// Show or switch the storage mode of a data directory.
    #[command(subcommand)]
    Mode(ModeCommand),
    /// Copy a whole database into a new directory of another mode (ids kept).
    #[command(
        after_help = "Example:\n  quiver migrate ./data ./data-on-disk --mode ON_DISK_TRANSACTIONAL"
    )]
    Migrate {
        /// The data directory to copy.
        source: PathBuf,
        /// The new data directory.
        target: PathBuf,
        /// The mode of the copy.
        #[arg(long, value_parser = parse_mode_arg)]
        mode: StorageMode,
        /// Leave the constraints out of the copy (the source keeps them), for
        /// IN_MEMORY_ANALYTICAL, which cannot enforce them.
        #[arg(long)]
        drop_constraints: bool,
    },
}

impl Command {
    /// The directory whose damage a `Corrupt` error of this command is about: the one
    /// it reads (for a backup, the data directory; for a fold, the newest backup).
    fn read_dir(&self) -> Option<PathBuf> {
        let dir = match self {
            Command::Info { dir }
            | Command::Verify { dir }
            | Command::Dump { dir, .. }
            | Command::Load { dir, .. }
            | Command::Snapshot(SnapshotCommand::Create { dir } | SnapshotCommand::List { dir })
            | Command::Mode(ModeCommand::Get { dir } | ModeCommand::Set { dir, .. }) => dir,
            Command::Restore { backup, .. } => backup,
            Command::Migrate { source, .. } => source,
            Command::Backup { paths, .. } => match paths.first() {
                Some(first) if first.as_os_str() == "aggregate" && paths.len() >= 3 => {
                    &paths[paths.len() - 2]
                }
                first => first?,
            },
        };
        Some(dir.clone())
    }
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Write a snapshot now.
    #[command(after_help = "Example:\n  quiver snapshot create ./data")]
    Create {
        /// The data directory.
        dir: PathBuf,
    },
    /// List the snapshots (works on a directory a process holds, too).
    #[command(after_help = "Example:\n  quiver snapshot list ./data")]
    List {
        /// The data directory.
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ModeCommand {
    /// Print the persisted mode.
    #[command(after_help = "Example:\n  quiver mode get ./data")]
    Get {
        /// The data directory.
        dir: PathBuf,
    },
    /// Switch the mode (IN_MEMORY_TRANSACTIONAL <-> IN_MEMORY_ANALYTICAL keeps the
    /// data; to or from ON_DISK_TRANSACTIONAL only while the database is empty).
    #[command(after_help = "Example:\n  quiver mode set ./data IN_MEMORY_ANALYTICAL")]
    Set {
        /// The data directory.
        dir: PathBuf,
        /// The new mode.
        #[arg(value_parser = parse_mode_arg)]
        mode: StorageMode,
        /// Drop the database's constraints, then switch (IN_MEMORY_ANALYTICAL cannot
        /// enforce them).
        #[arg(long)]
        drop_constraints: bool,
    },
}

/// A mode by its name (any case) or a short name: txn, analytical, ondisk.
/// A command line clap accepted but the command cannot take: its message and exit
/// code 2, as clap's own.
fn usage(message: &str) -> ! {
    use clap::CommandFactory;
    Cli::command()
        .error(clap::error::ErrorKind::WrongNumberOfValues, message)
        .exit()
}

/// `quiver backup aggregate CHAIN... OUT`.
fn aggregate(args: &[PathBuf], incremental: bool, until: Option<RecoveryPoint>) -> Outcome {
    if incremental {
        usage("backup aggregate takes no --incremental");
    }
    let Some((out, chain)) = args.split_last() else {
        usage("backup aggregate takes CHAIN... OUT");
    };
    let Some(newest) = chain.last() else {
        usage(
            "backup aggregate takes CHAIN... OUT: name at least the newest backup of the chain, then the new directory",
        );
    };
    // The backups named must be the chain behind the newest, in order. (A chain
    // that does not read is damage, which the fold's verification reports.)
    let found = quiver::read_chain(newest).unwrap_or_default();
    if chain.len() > 1 && !found.is_empty() {
        let resolve = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let named: Vec<PathBuf> = chain.iter().map(|p| resolve(p)).collect();
        let actual: Vec<PathBuf> = found.iter().map(|(p, _)| resolve(p)).collect();
        if !actual.ends_with(&named) {
            return Err(Error::invalid_input(format!(
                "the backups named are not the chain behind {}, which is, oldest first: {}",
                newest.display(),
                actual
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let bar = bytes_bar("verifying, restoring, backing up, verifying");
    let m = quiver::aggregate(newest, out, until, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish();
    say!(
        "folded the chain of {} backup(s) ending with {} into {}: a full backup, commits up to {}",
        found.len(),
        newest.display(),
        out.display(),
        m.covered_commit_ts
    );
    Ok(ExitCode::SUCCESS)
}

/// A commit timestamp (digits only) or an RFC 3339 time with its zone.
fn parse_point_arg(s: &str) -> Result<RecoveryPoint, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map(RecoveryPoint::Commit).map_err(|_| {
            format!(
                "commit {s} is larger than any commit timestamp ({})",
                u64::MAX
            )
        });
    }
    // Neither digits nor a date: not a point at all (no "missing zone" to fix).
    let t = s.trim();
    if !(t.len() >= 10
        && t.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && t.as_bytes()[4] == b'-')
    {
        return Err(format!(
            "{s:?} is neither a commit timestamp (digits only, such as 1234) nor an RFC 3339 time with its zone (such as 2026-12-04T10:00:00Z)"
        ));
    }
    parse_time(s).map(RecoveryPoint::Time)
}

/// An RFC 3339 time: date, `T`, time of day (fractions of a second allowed) and a
/// zone, `Z` for UTC or an offset `+hh:mm` / `-hh:mm`, which is taken into account.
fn parse_time(s: &str) -> Result<std::time::SystemTime, String> {
    let hint = "expected a commit timestamp (1234) or an RFC 3339 time with its zone, such as 2026-12-04T10:00:00Z or 2026-12-04T11:00:00+01:00 (not before 1970)";
    let bad = |why: &str| format!("{s}: {why}; {hint}");
    let mut upper = s.trim().to_ascii_uppercase();
    // RFC 3339 allows a space between date and time.
    if upper.len() > 10 && upper.as_bytes()[10] == b' ' {
        upper.replace_range(10..11, "T");
    }
    if !upper.contains('T') {
        return Err(bad("a date alone (add the time of day and its zone)"));
    }
    let (local, offset_secs) = if let Some(base) = upper.strip_suffix('Z') {
        (base.to_string(), 0i64)
    } else {
        let split = upper
            .len()
            .checked_sub(6)
            .filter(|i| upper.is_char_boundary(*i));
        let Some((base, zone)) = split.map(|i| upper.split_at(i)) else {
            return Err(bad(
                "no zone (end it with Z for UTC, or an offset such as +01:00)",
            ));
        };
        let z = zone.as_bytes();
        let digits =
            |r: std::ops::Range<usize>| -> Option<i64> { zone.get(r)?.parse::<i64>().ok() };
        let sign = match z.first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ if upper
                .get(upper.len().saturating_sub(8)..)
                .is_some_and(|tail| tail.contains(['+', '-'])) =>
            {
                return Err(bad("the zone offset is not +hh:mm or -hh:mm"));
            }
            _ => {
                return Err(bad(
                    "no zone (end it with Z for UTC, or an offset such as +01:00)",
                ));
            }
        };
        match (digits(1..3), z.get(3), digits(4..6)) {
            (Some(h), Some(b':'), Some(m))
                if h < 24
                    && m < 60
                    && zone[1..3].bytes().all(|b| b.is_ascii_digit())
                    && zone[4..6].bytes().all(|b| b.is_ascii_digit()) =>
            {
                (base.to_string(), sign * (h * 3600 + m * 60))
            }
            _ => return Err(bad("the zone offset is not +hh:mm or -hh:mm")),
        }
    };
    let read = humantime::parse_rfc3339(&format!("{local}Z")).map_err(|e| bad(&e.to_string()))?;
    // The clock read `local` at `offset` from UTC: UTC is that minus the offset.
    let shift = std::time::Duration::from_secs(offset_secs.unsigned_abs());
    let utc = if offset_secs >= 0 {
        read.checked_sub(shift)
    } else {
        read.checked_add(shift)
    };
    utc.filter(|t| *t >= std::time::UNIX_EPOCH)
        .ok_or_else(|| bad("out of range"))
}

fn parse_mode_arg(s: &str) -> Result<StorageMode, String> {
    match s.to_ascii_lowercase().as_str() {
        "txn" | "transactional" => Ok(StorageMode::InMemoryTransactional),
        "analytical" => Ok(StorageMode::InMemoryAnalytical),
        "ondisk" | "on-disk" => Ok(StorageMode::OnDiskTransactional),
        _ => quiver::parse_mode(s).ok_or_else(|| {
            "expected IN_MEMORY_TRANSACTIONAL, IN_MEMORY_ANALYTICAL or ON_DISK_TRANSACTIONAL (or txn, analytical, ondisk)".to_string()
        }),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // No logs without -v: what a command finds, it says itself.
    let level = match cli.verbose {
        0 => tracing::level_filters::LevelFilter::OFF,
        1 => tracing::level_filters::LevelFilter::INFO,
        2 => tracing::level_filters::LevelFilter::DEBUG,
        _ => tracing::level_filters::LevelFilter::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let read = cli.command.read_dir();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) if is_closed_output(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message());
            if e.kind() == ErrorKind::Corrupt {
                let dir = read.map_or("<directory>".to_string(), |d| shell_word(&d));
                eprintln!(
                    "hint: `quiver verify {dir}` names every damaged file and what to do about it"
                );
            }
            if e.kind() == ErrorKind::Locked {
                eprintln!(
                    "hint: another process has this data directory open (the message names it): run the command again once that process has closed the database. A program that keeps its database open backs it up online itself, with the library call quiver::backup"
                );
            }
            ExitCode::from(match e.kind() {
                ErrorKind::Locked => 4,
                ErrorKind::Corrupt => 5,
                ErrorKind::InvalidInput | ErrorKind::Unsupported | ErrorKind::AlreadyExists => 6,
                _ => 1,
            })
        }
    }
}

type Outcome = Result<ExitCode, Error>;

/// Ends the process quietly when `e` says standard output was closed; otherwise
/// (a full disk under a redirect) says so and exits with 1.
/// Scratch directories a command made (a copy or a view of what it reads), removed
/// when the command ends early by [`quit_on_closed_output`], which skips the
/// destructors that remove them otherwise.
static SCRATCH: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn remove_on_early_exit(dir: &Path) {
    if let Ok(mut dirs) = SCRATCH.lock() {
        dirs.push(dir.to_path_buf());
    }
}

fn quit_on_closed_output(e: &std::io::Error) -> ! {
    if let Ok(dirs) = SCRATCH.lock() {
        for dir in dirs.iter() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {e}");
    std::process::exit(1);
}

/// Whether `e` comes from writing to a closed pipe.
fn is_closed_output(e: &Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        source = s.source();
    }
    false
}

fn run(command: Command) -> Outcome {
    match command {
        Command::Info { dir } => info(&dir),
        Command::Snapshot(SnapshotCommand::Create { dir }) => {
            let db = open(&dir, None, false)?;
            let s = db.create_snapshot()?;
            say!(
                "{}  commit {}  {} bytes",
                s.path.display(),
                s.commit_timestamp,
                s.size_bytes
            );
            db.close()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Snapshot(SnapshotCommand::List { dir }) => {
            if !dir.is_dir() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{} is not a directory", dir.display()),
                ));
            }
            if !quiver::holds_database(&dir) {
                return Err(quiver::no_database(&dir));
            }
            // Snapshots only: an on-disk database's wal/ holds RocksDB's log.
            let listing = durability::dir::list_snapshot_files(&dir)?;
            for f in &listing.foreign {
                eprintln!(
                    "note: {} is not ours (its name is none of ours): not listed, left alone",
                    one_line(f)
                );
            }
            for s in durability::snapshot::snapshot_infos(&listing.snapshots)? {
                let age = std::time::SystemTime::now()
                    .duration_since(s.created_at)
                    .map_or(0, |d| d.as_secs());
                say!(
                    "{}  commit {}  {} bytes  written {age} s ago",
                    s.path.display(),
                    s.commit_timestamp,
                    s.size_bytes,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup {
            paths,
            incremental,
            until,
        } => {
            if paths[0] == Path::new("aggregate") {
                return aggregate(&paths[1..], incremental.is_some(), until);
            }
            if paths.len() != 2 {
                usage("backup takes DIR DEST, or `aggregate CHAIN... OUT`");
            }
            if until.is_some() {
                usage("--until goes with `backup aggregate CHAIN... OUT`, not with a backup");
            }
            let (dir, dest) = (paths[0].clone(), paths[1].clone());
            let db = open(&dir, None, false)?;
            let bar = bytes_bar("backing up");
            let progress = |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let m = match &incremental {
                Some(parent) => quiver::backup_incremental(&db, parent, &dest, &progress)?,
                None => quiver::backup(&db, &dest, &progress)?,
            };
            bar.finish();
            db.close()?;
            if let Some(parent) = &m.parent {
                say!(
                    "an incremental backup after {} (commits up to {})",
                    parent.path,
                    parent.covered_commit_ts
                );
            }
            say!(
                "backed up {} ({}) into {}: {} files, commits up to {} (snapshot at {})",
                dir.display(),
                m.mode,
                dest.display(),
                m.files.len(),
                m.covered_commit_ts,
                m.snapshot_commit_ts
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { dir } => {
            let bar = bytes_bar("verifying");
            let report = quiver::verify(&dir, &|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
            for note in &report.notes {
                eprintln!("note: {note}");
            }
            for f in &report.files {
                match (&f.damage, &f.passed_over) {
                    (Some(d), _) => say!("DAMAGED  {:<12} {}  {d}", f.kind, one_line(&f.path)),
                    (None, Some(p)) => {
                        say!("PASSED   {:<12} {}  {p}", f.kind, one_line(&f.path))
                    }
                    (None, None) => {
                        say!(
                            "ok       {:<12} {}  {}",
                            f.kind,
                            one_line(&f.path),
                            f.detail
                        )
                    }
                }
            }
            let damaged = distinct(report.damaged());
            if damaged > 0 {
                if archive_only(&dir, &report) {
                    eprintln!(
                        "{damaged} damaged file(s) in the WAL archive of {}: it opens, but a restore to a point through the archive fails",
                        dir.display()
                    );
                } else if unlisted_only(&report) {
                    eprintln!(
                        "{damaged} damaged file(s): listing the snapshots of {} fails (info, backup, mode set)",
                        dir.display()
                    );
                } else {
                    eprintln!(
                        "{damaged} damaged file(s): {} does not {}",
                        dir.display(),
                        if report.manifest.is_some() {
                            "restore whole"
                        } else {
                            "open, or its data does not read whole"
                        }
                    );
                }
                eprintln!("hint: {}", damage_hint(&dir, &report));
                return Ok(ExitCode::from(3));
            }
            let passed = distinct(report.passed_over());
            if passed > 0 {
                eprintln!(
                    "{} opens ({}), passing over {passed} damaged file(s) it does not need (listed as PASSED)",
                    dir.display(),
                    mode_name(report.mode)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore {
            backup,
            dir,
            force,
            snapshot_only,
            mode,
            until,
        } => {
            let mut options = RestoreOptions::new()
                .force(force)
                .snapshot_only(snapshot_only)
                .until(until);
            if let Some(m) = mode {
                options = options.mode(m);
            }
            // Two passes over the bytes: verifying, then copying; then, into the
            // on-disk mode, a third as RocksDB is built from the snapshot.
            let bar = bytes_bar("verifying, copying (on-disk: then building RocksDB)");
            let done = quiver::restore(&backup, &dir, &options, &|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish();
            if let Some(aside) = &done.moved_aside {
                say!(
                    "the earlier files of {} are in {}",
                    dir.display(),
                    aside.display()
                );
            }
            say!(
                "restored {} into {} as {}",
                backup.display(),
                dir.display(),
                mode_name(done.mode)
            );
            if let Some(link) = &done.link {
                say!(
                    "the state {} holds at that commit (restored without a point: its database id kept)",
                    link.display()
                );
            }
            if let Some(last) = done.last_commit {
                say!(
                    "the state at commit {}{} (a new database id: a new history from here)",
                    last.commit_ts,
                    last.time
                        .map(|t| format!(", logged at {}", shown_time(t)))
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dump { dir, output } => {
            if let Some(path) = output.as_deref().filter(|p| p.is_dir()) {
                return Err(Error::invalid_input(format!(
                    "{} is a directory: name the file the dump goes to",
                    path.display()
                )));
            }
            // The dump is written beside the file and renamed over it: a device, a
            // FIFO or a socket would be replaced by a plain file, not written to.
            if let Some(path) = output.as_deref()
                && std::fs::metadata(path).is_ok_and(|m| !m.is_file())
            {
                return Err(Error::invalid_input(format!(
                    "{} is not a regular file (a device, FIFO or socket): name a file, or leave out -o and redirect standard output (`quiver dump {} > {}`)",
                    path.display(),
                    shell_word(&dir),
                    shell_word(path)
                )));
            }
            if let Some(parent) = output
                .as_deref()
                .and_then(Path::parent)
                .filter(|p| !p.as_os_str().is_empty() && !p.is_dir())
            {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "{} is not a directory: the dump's file goes into one that exists",
                        parent.display()
                    ),
                ));
            }
            // Into the database's own folders it could replace a snapshot or a WAL
            // segment under the name given: refused, as backup and restore refuse.
            if let Some(path) = output.as_deref() {
                quiver::apart(&dir, path, "write the dump to")?;
            }
            let db = open_to_read(&dir)?;
            let bar = spinner("dumping");
            let mut tick = |p: dump::Progress| {
                bar.set_message(format!("dumping: {} statements", p.statements))
            };
            let options = dump::DumpOptions::new().progress(100_000, &mut tick);
            // A file is written under a temporary name and renamed once synced: a
            // dump has no end marker, so a dump cut short (a full disk) must never
            // be left under the name a later load would read.
            let summary = match &output {
                Some(path) => {
                    let tmp = temporary_name(path);
                    let written = write_dump_file(&db, &tmp, options).and_then(|summary| {
                        std::fs::rename(&tmp, path).map_err(|e| {
                            Error::new(
                                ErrorKind::Io,
                                format!(
                                    "cannot rename {} to {}: {e}",
                                    tmp.display(),
                                    path.display()
                                ),
                            )
                        })?;
                        // The rename lasts once the directory is synced.
                        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
                        durability::dir::sync_dir(parent.unwrap_or(Path::new(".")))?;
                        Ok(summary)
                    });
                    if written.is_err() {
                        let _ = std::fs::remove_file(&tmp);
                    }
                    written?
                }
                None => {
                    let mut w = BufWriter::new(std::io::stdout().lock());
                    let summary = dump::write_dump(&*db, &mut w, options)?;
                    w.flush().map_err(|e| {
                        Error::new(ErrorKind::Io, format!("cannot write the dump: {e}"))
                            .with_source(e)
                    })?;
                    summary
                }
            };
            bar.finish_and_clear();
            db.close()?;
            eprintln!(
                "dumped {} vertices, {} edges ({} statements)",
                summary.counts.vertices, summary.counts.edges, summary.statements
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Load {
            dir,
            file,
            mode,
            into_existing,
            skip_constraints,
            skip_unsupported,
        } => {
            let args = load::LoadArgs {
                dir,
                file,
                mode,
                into_existing,
                skip_constraints,
                skip_unsupported,
                skipped: Default::default(),
            };
            // A load into existing data swaps a copy in under the database's name: a
            // shell working inside the database is left in the old copy.
            let canonical = std::fs::canonicalize(&args.dir).ok();
            let works_inside = std::env::current_dir()
                .ok()
                .zip(canonical.as_ref())
                .is_some_and(|(cwd, dir)| cwd.starts_with(dir));
            let bar = bytes_bar("loading");
            let loaded = load::load(&args, &bar);
            bar.finish_and_clear();
            // Never silently: each statement left out as asked is named.
            let skipped = loaded.as_ref().map_or(0, |l| l.summary.skipped);
            let named = load::skipped_lines(&args, skipped);
            for line in &named {
                eprintln!("{line}");
            }
            match loaded {
                Ok(loaded) => {
                    say!("{}", load::done_line(&args, &loaded));
                    if let Some(dir) =
                        canonical.filter(|_| works_inside && loaded.replaced.is_some())
                    {
                        eprintln!(
                            "note: the working directory was inside the database, whose old copy the load replaced and removes now; `cd {}` again to see the loaded one",
                            dir.display()
                        );
                    }
                    // The database a load into existing data replaced goes once the
                    // load is reported: a kill now cannot make it look unfinished.
                    if let Some(replaced) = loaded.replaced {
                        replaced.remove();
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(load::Refusal::Input(e)) => {
                    eprintln!("error: {}", e.message());
                    eprintln!(
                        "hint: the dump is wrong, or does not fit the data the directory holds (the message says where){}; {}",
                        if named.is_empty() {
                            ""
                        } else {
                            ", or a statement skipped above created what this one needs"
                        },
                        untouched(&args.dir)
                    );
                    Ok(ExitCode::from(7))
                }
                Err(load::Refusal::Other(e))
                    if e.kind() == ErrorKind::Unsupported
                        && e.message().contains(dump::HELPER_LABEL) =>
                {
                    // Not one of ours at all: leaving out what is not supported
                    // would load nothing.
                    eprintln!("error: {}", e.message());
                    eprintln!(
                        "hint: this file is not a dump in the form Quiver (and Memgraph) write: there, each vertex is created with the helper label {} and an integer id the edges match it by, so any Cypher file will not do (`--skip-unsupported` would leave these statements out and load nothing); write dumps with `quiver dump`. {}",
                        dump::HELPER_LABEL,
                        untouched(&args.dir)
                    );
                    Ok(ExitCode::from(6))
                }
                Err(load::Refusal::Other(e)) if e.kind() == ErrorKind::Unsupported => {
                    eprintln!("error: {}", e.message());
                    eprintln!(
                        "hint: `--skip-unsupported` leaves out statements Quiver does not support, `--skip-constraints` the constraints of a mode that has none; {}",
                        untouched(&args.dir)
                    );
                    Ok(ExitCode::from(6))
                }
                Err(load::Refusal::Other(e)) => Err(e),
            }
        }
        Command::Mode(ModeCommand::Get { dir }) => {
            if !quiver::holds_database(&dir) {
                return Err(quiver::no_database(&dir));
            }
            match quiver::persisted_mode(&dir)? {
                Some(m) => say!("{}", mode_name(m)),
                None => say!(
                    "none recorded: {} opens as IN_MEMORY_TRANSACTIONAL unless a mode is named",
                    dir.display()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Mode(ModeCommand::Set {
            dir,
            mode,
            drop_constraints,
        }) => {
            if drop_constraints && mode != StorageMode::InMemoryAnalytical {
                return Err(Error::invalid_input(
                    "--drop-constraints is for a switch into IN_MEMORY_ANALYTICAL, the mode without constraints; nothing was changed",
                ));
            }
            let mut db = open(&dir, None, false)?;
            // Dropped only where the switch then goes ahead: into the analytical mode
            // from another in-memory one (from the on-disk mode only while empty, which
            // the switch checks first).
            let from = db.storage_mode();
            let stats = db.stats()?;
            let switch_allowed = from == StorageMode::InMemoryTransactional
                || (from == StorageMode::OnDiskTransactional && stats.vertices + stats.edges == 0);
            if drop_constraints
                && switch_allowed
                && let Ok(constraints) = db.constraints()
            {
                for c in &constraints {
                    db.drop_constraint(c)?;
                    say!("dropped the constraint {c}");
                }
            }
            let bar = spinner(&format!("switching to {}", mode_name(mode)));
            let moved = db.set_storage_mode(mode)?;
            bar.finish_and_clear();
            db.close()?;
            if moved.from == moved.to {
                say!("{} is already {}", dir.display(), mode_name(mode));
            } else {
                say!(
                    "switched {} from {} to {}: {}",
                    dir.display(),
                    mode_name(moved.from),
                    mode_name(moved.to),
                    moved.summary()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate {
            source,
            target,
            mode,
            drop_constraints,
        } => {
            let bar = spinner(&format!("migrating into {}", target.display()));
            let moved = if drop_constraints {
                quiver::migrate_without_constraints(&source, &target, mode)?
            } else {
                quiver::migrate(&source, &target, mode)?
            };
            bar.finish_and_clear();
            say!(
                "migrated {} ({}) into {} ({}): {}",
                source.display(),
                mode_name(moved.from),
                target.display(),
                mode_name(moved.to),
                moved.summary()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens `dir` for a command. A spinner shows while recovery runs. With `writes`
/// (a load), closing writes the snapshot on exit as configured; otherwise the
/// command writes none of its own (a backup and the like write no snapshot on exit
/// and no mode file; their recovery cuts a torn WAL tail, as every writer's does:
/// [`open_to_read`] does not).
fn open(dir: &Path, mode: Option<StorageMode>, writes: bool) -> Result<Database, Error> {
    open_with(dir, mode, writes, true)
}

/// A database opened by a command that only reads, and where its files are when
/// they are not in the directory the user named (see [`open_to_read`]).
struct Reading {
    db: Database,
    /// What was opened instead of the directory, if anything.
    view: Option<View>,
}

/// What a command that only reads opens instead of the directory the user named.
enum View {
    /// A copy of the directory (an on-disk one without RocksDB yet), and its path.
    Copy(tempfile::TempDir, PathBuf),
    /// A backup, or a chain of them, laid out as one directory of links, and how
    /// many backups the chain has.
    Chain(quiver::ChainView, usize),
}

impl std::ops::Deref for Reading {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.db
    }
}

impl Reading {
    /// `path` as the user's directory holds it (a path in the copy is mapped back).
    fn shown(&self, path: &Path) -> PathBuf {
        match &self.view {
            Some(View::Copy(copy, dir)) => path
                .strip_prefix(copy.path())
                .map_or_else(|_| path.to_path_buf(), |rest| dir.join(rest)),
            Some(View::Chain(view, _)) => view.original(path),
            None => path.to_path_buf(),
        }
    }

    /// `text` (a message naming files in the copy or the view) as the user's
    /// directory `dir` names them.
    fn shown_text(&self, text: &str, dir: &Path) -> String {
        match &self.view {
            Some(View::Copy(copy, original)) => text.replace(
                &copy.path().display().to_string(),
                &original.display().to_string(),
            ),
            Some(View::Chain(view, _)) => view.shown(text, dir),
            None => text.to_string(),
        }
    }

    fn close(self) -> Result<(), Error> {
        self.db.close()
    }
}

/// [`open`] for a command that only reads: without a WAL of its own, the in-memory
/// transactional mode's recovery leaves a torn log tail on disk (read as cut off)
/// for the next open that writes. An on-disk directory that holds snapshots but no
/// RocksDB database yet (a backup, a restore not yet opened) would be restored in
/// place by opening it, which a read must not do (a backup would no longer verify):
/// it is copied to a temporary directory and the copy is opened.
fn open_to_read(dir: &Path) -> Result<Reading, Error> {
    let mode = quiver::persisted_mode(dir).ok().flatten();
    let unopened_on_disk =
        mode == Some(StorageMode::OnDiskTransactional) && !dir.join("rocksdb").exists();
    // A backup (an incremental one with the chain behind it; one of RocksDB's files) is
    // read through a view of links, so opening writes nothing into it.
    if !unopened_on_disk
        && let Ok(Some(m)) = quiver::read_manifest(dir)
        && (mode != Some(StorageMode::OnDiskTransactional)
            || m.format == durability::manifest::MANIFEST_FORMAT_FILES)
    {
        let view = quiver::ChainView::new(dir)?;
        let links = view.links();
        remove_on_early_exit(view.path());
        let db = open_quietly(view.path(), None, false, false)
            .map_err(|e| Error::new(e.kind(), view.shown(e.message(), dir)))?;
        warn_of_a_fallback(&db, &|text| view.shown(text, dir));
        // The manifest says which commit the backup holds: a chain whose files reach
        // less (a link's WAL gone) would otherwise read as an older state without a
        // word. (Found by a hostile-user run.)
        if let Some(reached) = db.recovery_report()?.last_commit
            && reached.commit_ts < m.covered_commit_ts
        {
            return Err(Error::corrupt(format!(
                "{}: its manifest says the backup holds commits up to {}, but its files reach only commit {}: some of them are missing or damaged",
                dir.display(),
                m.covered_commit_ts,
                reached.commit_ts
            )));
        }
        return Ok(Reading {
            db,
            view: Some(View::Chain(view, links)),
        });
    }
    if !unopened_on_disk {
        return Ok(Reading {
            db: open_with(dir, None, false, false)?,
            view: None,
        });
    }
    if !quiver::holds_database(dir) {
        return Err(quiver::no_database(dir));
    }
    let copy = quiver::scratch_dir("quiver-read-").map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot make a directory to read {} in: {e}", dir.display()),
        )
        .with_source(e)
    })?;
    remove_on_early_exit(copy.path());
    copy_tree(dir, copy.path())?;
    let in_dir = |text: &str| {
        text.replace(
            &copy.path().display().to_string(),
            &dir.display().to_string(),
        )
    };
    let db = open_quietly(copy.path(), None, false, false)
        .map_err(|e| Error::new(e.kind(), in_dir(e.message())))?;
    warn_of_a_fallback(&db, &in_dir);
    Ok(Reading {
        db,
        view: Some(View::Copy(copy, dir.to_path_buf())),
    })
}

/// Copies the regular files and folders of `from` into `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let failed = |what: &Path, e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot copy {}: {e}", what.display()),
        )
        .with_source(e)
    };
    for entry in std::fs::read_dir(from).map_err(|e| failed(from, e))? {
        let entry = entry.map_err(|e| failed(from, e))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| failed(&source, e))?;
        if kind.is_dir() {
            std::fs::create_dir(&target).map_err(|e| failed(&source, e))?;
            copy_tree(&source, &target)?;
        } else if kind.is_file() && entry.file_name() != ".lock" {
            std::fs::copy(&source, &target).map_err(|e| failed(&source, e))?;
        }
    }
    Ok(())
}

fn open_with(
    dir: &Path,
    mode: Option<StorageMode>,
    writes: bool,
    wal: bool,
) -> Result<Database, Error> {
    let db = open_quietly(dir, mode, writes, wal)?;
    warn_of_a_fallback(&db, &|text| text.to_string());
    Ok(db)
}

/// [`open_with`] without its warning of a fallback (for the caller to give, with the
/// paths it shows).
fn open_quietly(
    dir: &Path,
    mode: Option<StorageMode>,
    writes: bool,
    wal: bool,
) -> Result<Database, Error> {
    if !writes && !quiver::holds_database(dir) {
        return Err(quiver::no_database(dir));
    }
    if !writes && quiver::holds_only_leftovers(dir)? {
        return Err(quiver::only_leftovers(dir));
    }
    let mut config = Config::new()
        .data_directory(dir)
        .durability_by_mode(|mode, d| {
            let d = d.snapshot_on_exit(writes);
            if wal || mode == StorageMode::OnDiskTransactional {
                d
            } else {
                // Reading only: no log of its own, so a torn tail stays as it is.
                d.wal(false).snapshot_interval(None)
            }
        })
        .record_mode(writes);
    if let Some(m) = mode {
        config = config.mode(m);
    }
    let bar = spinner(&format!("opening {} (recovery)", dir.display()));
    let db = Database::open(config);
    bar.finish_and_clear();
    db
}

/// Says on standard error which damaged snapshots the open passed over, and what
/// that cost: nothing (the WAL holds every commit after the snapshot it loaded, or,
/// in IN_MEMORY_ANALYTICAL mode, which keeps no WAL, the damaged one holds the same
/// commit; a damaged one holding more makes that mode's open fail instead).
/// `shown` gives each line as the user should read it (a path in a scratch view
/// named by the file it stands for).
fn warn_of_a_fallback(db: &Database, shown: &dyn Fn(&str) -> String) {
    let Ok(report) = db.recovery_report() else {
        return;
    };
    if !report.used_a_fallback() {
        return;
    }
    let loaded = report
        .snapshot
        .as_ref()
        .map_or_else(|| "the WAL alone".to_string(), |p| p.display().to_string());
    let cost = if db.storage_mode() == StorageMode::InMemoryAnalytical {
        "it holds the same commit: nothing is lost"
    } else {
        "the WAL holds every commit after it: nothing is lost"
    };
    for skipped in &report.skipped_snapshots {
        let line = format!(
            "warning: {} is damaged ({}); opened from {loaded} instead; {cost}",
            skipped.path.display(),
            skipped.reason
        );
        eprintln!("{}", shown(&line));
    }
}

/// What a refused load says of its target: nothing created, or left as it was.
fn untouched(dir: &Path) -> String {
    if std::fs::symlink_metadata(dir).is_ok() {
        format!("{} was left as it was", dir.display())
    } else {
        format!("nothing was created at {}", dir.display())
    }
}

/// Whether every damaged file is a snapshot whose header does not read (a file
/// under a snapshot's name that is not one, or one cut short at its start).
fn unlisted_only(report: &quiver::VerifyReport) -> bool {
    let unlisted: Vec<&Path> = report.unreadable_snapshots().collect();
    report
        .damaged()
        .all(|f| unlisted.contains(&f.path.as_path()))
}

/// Whether all the damage `report` found in the data directory `dir` is in its WAL
/// archive (which opening does not read).
fn archive_only(dir: &Path, report: &quiver::VerifyReport) -> bool {
    let archive = dir.join(durability::dir::ARCHIVE);
    report.manifest.is_none()
        && report.damaged().count() > 0
        && report.damaged().all(|f| f.path.starts_with(&archive))
}

/// `path` as a shell reads it back: as it is when it holds only characters a shell
/// leaves alone, else in single quotes (a quote inside closed, escaped and reopened),
/// so a command in a hint can be copied whole.
fn shell_word(path: &Path) -> String {
    let mut text = path.display().to_string();
    // A relative path that starts with `-` would read as an option.
    if text.starts_with('-') {
        text.insert_str(0, "./");
    }
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c))
    {
        return text;
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The folders the damaged files are in, as a hint names them.
fn folders_of(report: &quiver::VerifyReport) -> String {
    let folders: std::collections::BTreeSet<String> = report
        .damaged()
        .filter_map(|f| f.path.parent())
        .map(|p| p.display().to_string())
        .collect();
    folders.into_iter().collect::<Vec<_>>().join(" and ")
}

/// What to do about the damage `report` found in `dir`: the commands that help.
fn damage_hint(dir: &Path, report: &quiver::VerifyReport) -> String {
    let quoted = shell_word(dir);
    if report.manifest.is_some() && unlisted_only(report) {
        return format!(
            "a backup is not mended by moving its files (its manifest lists them): restore another backup; or, since its data still reads, write it out and load it as a new database: `quiver dump {quoted} > dump.cypherl`, then `quiver load <new directory> dump.cypherl`"
        );
    }
    if report.manifest.is_none() && unlisted_only(report) {
        return format!(
            "a file under a snapshot's name whose header does not read, or does not match its name, is not a snapshot this database wrote under that name: move it out of {}/snapshots/ and verify again (if it was the newest snapshot, what it held is lost: restore from a backup instead, `quiver restore <backup> {quoted} --force`)",
            dir.display()
        );
    }
    let all_of = |kind: quiver::DamageKind| {
        report.damaged().count() > 0 && report.damaged().all(|f| f.damage_kind == kind)
    };
    if all_of(quiver::DamageKind::NotAFile) {
        return format!(
            "an entry under a snapshot's or WAL segment's name that is no regular file holds no data: move {} out of its folder and verify again",
            report
                .damaged()
                .map(|f| f.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if all_of(quiver::DamageKind::OutOfOrder) {
        return format!(
            "a snapshot holds an older commit than one written before it (the message names both): move the one that does not belong out of {} and verify again",
            folders_of(report)
        );
    }
    if archive_only(dir, report) {
        let archive = dir.join(durability::dir::ARCHIVE);
        return format!(
            "only the WAL archive ({}) is damaged: the directory itself opens, and `quiver restore {quoted} <new directory>` restores its newest state; restores to a point are refused until the archive verifies: move the damaged files, and every older one, out of it (the points they held are lost; a backup taken then still has them) and verify again",
            archive.display()
        );
    }
    if all_of(quiver::DamageKind::RestorableThroughArchive)
        && let Some(newest) = report.newest_commit()
    {
        return format!(
            "the WAL archive holds every commit the directory's damaged files do not give: `quiver restore {quoted} <new directory> --until {newest}` restores the newest state (commit {newest}) through it, as a database with a new id"
        );
    }
    if report.manifest.is_none() && all_of(quiver::DamageKind::CommitsLost) {
        return format!(
            "restore from a backup: `quiver restore <backup> {quoted} --force` (the files now in it are kept in {}/.backup/); or, to open the older state and lose the commits named above, move the damaged snapshots out of {}/snapshots/ and verify again",
            dir.display(),
            dir.display()
        );
    }
    if report.manifest.is_none() && all_of(quiver::DamageKind::Misnamed) {
        return format!(
            "a snapshot holds an older commit than its name gives (the message names both): if it was only copied or renamed, move it out of {} and verify again, which loses nothing; if it replaced the snapshot its name gives, restore from a backup: `quiver restore <backup> {quoted} --force`",
            folders_of(report)
        );
    }
    let only_wal = report.damaged().all(|f| f.kind == "WAL segment");
    if only_wal && let Some(snapshot) = report.snapshot() {
        return format!(
            "only the WAL is damaged, and the snapshot {} is sound: `quiver restore {quoted} <new directory> --snapshot-only` restores the state it holds; commits after it are lost",
            snapshot.display(),
        );
    }
    if let Some(link) = report
        .damaged()
        .find(|f| f.damage_kind == quiver::DamageKind::BrokenChain)
    {
        return format!(
            "the backup chain is broken at {}: put the parent backup it names back in its place (the chain must stay together), or restore from a full backup",
            link.path.display()
        );
    }
    if let Some(manifest) = report
        .damaged()
        .find(|f| f.damage_kind == quiver::DamageKind::UnreadableManifest)
    {
        if manifest.path != dir.join(quiver::MANIFEST_FILE) {
            return format!(
                "the manifest of an earlier backup of the chain, {}, does not read, so the chain cannot be restored past it: put a sound copy of that backup in its place, or restore from another backup",
                manifest.path.display()
            );
        }
        return format!(
            "the manifest is damaged: restore from another backup; to check the files themselves, move {}/{} aside and verify again (without it, a missing file cannot be told from one never written)",
            dir.display(),
            quiver::MANIFEST_FILE
        );
    }
    if report.manifest.is_some() {
        "restore from another backup (`quiver restore <backup> <directory>`)".to_string()
    } else {
        format!(
            "restore from a backup: `quiver restore <backup> {quoted} --force` (the files now in it are kept in {}/.backup/)",
            dir.display()
        )
    }
}

fn info(dir: &Path) -> Outcome {
    let db = open_to_read(dir)?;
    let stats = db.stats()?;
    say!("data directory  {}", dir.display());
    say!("mode            {}", mode_name(db.storage_mode()));
    if let Some(id) = db.database_id() {
        say!("database id     {id}");
    }
    say!(
        "formats         snapshot v{}, WAL v{}",
        durability::snapshot::SNAPSHOT_VERSION,
        durability::wal::WAL_VERSION
    );
    say!("vertices        {}", stats.vertices);
    say!("edges           {}", stats.edges);
    say!("indexes         {}", db.indexes()?.len());
    let constraints = match db.constraints() {
        Ok(c) => c.len().to_string(),
        Err(_) => "none in this mode".to_string(),
    };
    say!("constraints     {constraints}");
    say!("triggers        {}", db.triggers()?.len());
    // A snapshot whose header does not read, which opening did not need, fails the
    // listing: the rest is still shown, and the command ends with the damage.
    // Named as the user's directory names its files (a chain is read through a
    // view whose paths are gone once the command ends).
    let (snapshots, unlisted) = match db.snapshots() {
        Ok(s) => (s, None),
        Err(e) if e.kind() == ErrorKind::Corrupt => (
            Vec::new(),
            Some(Error::new(e.kind(), db.shown_text(e.message(), dir))),
        ),
        Err(e) => return Err(Error::new(e.kind(), db.shown_text(e.message(), dir))),
    };
    match &db.view {
        // Read from a copy: the directory itself holds only its snapshots so far.
        Some(View::Copy(..)) => {
            let bytes: u64 = snapshots.iter().map(|s| s.size_bytes).sum();
            say!("on disk         {bytes} bytes (snapshots only: no RocksDB database yet)");
        }
        Some(View::Chain(_, links)) => {
            let bytes: u64 = quiver::read_manifest(dir)?.map_or(0, |m| {
                m.files.iter().filter(|f| !f.shared).map(|f| f.size).sum()
            });
            say!("on disk         {bytes} bytes (this backup's files)");
            if *links > 1 {
                say!(
                    "backup chain    {links} backups, this one the newest: the counts above are the chain's state"
                );
            }
        }
        None => {
            if let Some(bytes) = stats.disk_bytes {
                say!("on disk         {bytes} bytes");
            }
        }
    }
    match &unlisted {
        Some(e) => say!("snapshots       cannot be listed: {}", e.message()),
        None => say!("snapshots       {}", snapshots.len()),
    }
    for s in &snapshots {
        say!(
            "  {}  commit {}  {} bytes",
            db.shown(&s.path).display(),
            s.commit_timestamp,
            s.size_bytes
        );
    }
    let db_mode = db.storage_mode();
    let on_disk = db_mode == StorageMode::OnDiskTransactional;
    let unopened = matches!(db.view, Some(View::Copy(..)));
    let plain = db.view.is_none();
    // A chain's WAL is every link's: the view's segments, named as the backups'
    // files (a segment the read itself began in the view is none of them).
    // Files whose names are none of ours are never read; info lists them, as the
    // format's rules promise, so a user sees what the database passes by.
    let foreign = if on_disk {
        durability::dir::list_snapshot_files(dir)?.foreign
    } else {
        durability::dir::list_files(dir)?.foreign
    };
    let segments: Vec<PathBuf> = match &db.view {
        _ if on_disk => Vec::new(),
        Some(View::Chain(view, _)) => durability::dir::list_files(view.path())?
            .segments
            .iter()
            .map(|s| view.original(&s.path))
            .filter(|p| !p.starts_with(view.path()))
            .collect(),
        _ => durability::dir::list_files(dir)?
            .segments
            .into_iter()
            .map(|s| s.path)
            .collect(),
    };
    db.close()?;
    if !on_disk {
        say!("WAL segments    {}", segments.len());
        let count = segments.len();
        let mut times = None;
        let mut lines = Vec::new();
        for (i, path) in segments.iter().enumerate() {
            let range = match durability::wal::read_segment(path, i + 1 == count)? {
                durability::wal::SegmentRead::Read { records, .. } => {
                    for time in records.iter().filter_map(|r| r.time) {
                        engine_api::CommitTimes::extend(&mut times, time);
                    }
                    match (records.first(), records.last()) {
                        (Some(a), Some(b)) => format!(
                            "commits {}..={}{}",
                            a.commit_ts,
                            b.commit_ts,
                            match (a.time, b.time) {
                                (Some(x), Some(y)) =>
                                    format!("  {} .. {}", shown_time(x), shown_time(y)),
                                _ => "  (no commit times: an older format)".to_string(),
                            }
                        ),
                        _ => "no commits".to_string(),
                    }
                }
                durability::wal::SegmentRead::TornHeader => "no commits (torn header)".to_string(),
            };
            lines.push(format!("  {}  {range}", path.display()));
        }
        for line in lines {
            say!("{line}");
        }
        match times {
            Some(t) => say!(
                "commit times    {} .. {} (the oldest and newest commit in the WAL)",
                shown_time(t.first),
                shown_time(t.last)
            ),
            None if db_mode == StorageMode::InMemoryAnalytical => {
                say!("commit times    none (this mode keeps no WAL)")
            }
            None => {
                say!("commit times    none recorded (no commits in a WAL of format v3 or later)")
            }
        }
        say_foreign(&foreign);
        if plain && let Err(e) = archive_info(dir) {
            say!("WAL archive     does not read: {e} (`quiver verify` reports it)");
        }
        return unlisted.map_or(Ok(ExitCode::SUCCESS), Err);
    }
    if unopened {
        say!("WAL             none yet (RocksDB's own once opened)");
    } else {
        say!(
            "WAL             RocksDB's own, in {}",
            dir.join("wal").display()
        );
    }
    say!("commit times    not recorded (RocksDB keeps this mode's log)");
    say_foreign(&foreign);
    unlisted.map_or(Ok(ExitCode::SUCCESS), Err)
}

/// How many files `lines` name: a file on two lines (its listed-file check and its
/// own read) is one file.
fn distinct<'a>(lines: impl Iterator<Item = &'a quiver::CheckedFile>) -> usize {
    let mut paths: Vec<&Path> = lines.map(|f| f.path.as_path()).collect();
    paths.sort();
    paths.dedup();
    paths.len()
}

/// `info`'s lines for files that are not ours (none when there are none).
fn say_foreign(foreign: &[PathBuf]) {
    if foreign.is_empty() {
        return;
    }
    say!(
        "foreign files   {} (names none of ours: never read, never deleted)",
        foreign.len()
    );
    for f in foreign {
        say!("  {}", one_line(f));
    }
}

/// `path` on one line: a control character in a name (a foreign file's, say) is
/// shown escaped, so no name can start a line of its own in a listing.
fn one_line(path: &Path) -> String {
    path.display()
        .to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The WAL archive of the data directory `dir`, if it has one: what it holds and
/// the oldest point a restore can reach through it.
fn archive_info(dir: &Path) -> engine_api::Result<()> {
    let archive = dir.join(durability::dir::ARCHIVE);
    if let Some(what) = durability::dir::not_a_directory(&archive) {
        say!(
            "WAL archive     {}: {what} (`quiver verify` reports it)",
            archive.display()
        );
        return Ok(());
    }
    if !archive.is_dir() {
        return Ok(());
    }
    let listing = durability::dir::list_files(&archive)?;
    let bytes = listing.bytes();
    say!(
        "WAL archive     {}: {} snapshots, {} WAL segments, {bytes} bytes",
        archive.display(),
        listing.snapshots.len(),
        listing.segments.len()
    );
    let from_start = match listing.segments.first() {
        Some(s) => durability::wal::read_segment_header(&s.path)?.first_ts <= 1,
        None => false,
    };
    if from_start {
        say!(
            "  reaches back  to the first commit, by its files' headers (`quiver verify` reads them whole)"
        );
    } else if let Some(s) = listing.snapshots.first() {
        let h = durability::snapshot::read_snapshot_header(&s.path)?;
        say!(
            "  reaches back  to commit {}, snapshot written {}, by its files' headers (`quiver verify` reads them whole)",
            h.commit_ts,
            shown_time(h.created_at)
        );
    } else {
        say!(
            "  reaches back  no further than the directory's own snapshots (no snapshot archived yet)"
        );
    }
    Ok(())
}

/// A commit time as the CLI shows and reads it: RFC 3339 in UTC, to the microsecond.
fn shown_time(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}

fn draws() -> bool {
    std::io::stderr().is_terminal()
}

fn spinner(message: &str) -> ProgressBar {
    if !draws() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn bytes_bar(message: &str) -> ProgressBar {
    if !draws() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0).with_message(message.to_string());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `.<name>.tmp` beside `path`.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "dump".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes the dump of `db` into `path`, synced.
fn write_dump_file(
    db: &Database,
    path: &Path,
    options: dump::DumpOptions<'_>,
) -> engine_api::Result<dump::DumpSummary> {
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = BufWriter::new(file);
    let summary = dump::write_dump(db, &mut w, options)?;
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(summary)
}

/// Durability settings for a database written out whole (a staged load, a copy): no
/// WAL where the mode can run without one (RocksDB always logs), no periodic
/// snapshots, a snapshot on close only if `on_exit`.
pub(crate) fn unlogged(
    on_exit: bool,
) -> impl Fn(StorageMode, DurabilityConfig) -> DurabilityConfig {
    move |mode, d| {
        let d = d.snapshot_on_exit(on_exit).snapshot_interval(None);
        if mode == StorageMode::OnDiskTransactional {
            d
        } else {
            d.wal(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// A path in a hint's command reads back as itself in a shell.
    #[test]
    fn a_path_in_a_hint_survives_the_shell() {
        for path in [
            "/tmp/plain-dir_1.x",
            "/tmp/a: b/data",
            "/tmp/it's here",
            "/tmp/$HOME`x`",
        ] {
            let word = shell_word(Path::new(path));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {word}"))
                .output()
                .expect("sh runs");
            assert_eq!(String::from_utf8_lossy(&out.stdout), path, "{word}");
        }
        assert_eq!(shell_word(Path::new("/tmp/plain")), "/tmp/plain");
        // Not an option to the command it is pasted into.
        assert_eq!(shell_word(Path::new("-dash")), "./-dash");
        assert_eq!(shell_word(Path::new("-a b")), "'./-a b'");
    }

    fn at(s: &str) -> Result<SystemTimeOrCommit, String> {
        parse_point_arg(s).map(|p| match p {
            RecoveryPoint::Time(t) => {
                SystemTimeOrCommit::Time(t.duration_since(UNIX_EPOCH).unwrap_or_default())
            }
            RecoveryPoint::Commit(c) => SystemTimeOrCommit::Commit(c),
        })
    }

    #[derive(Debug, PartialEq)]
    enum SystemTimeOrCommit {
        Time(Duration),
        Commit(u64),
    }
    use SystemTimeOrCommit::{Commit, Time};

    /// A zone offset is taken into account (it was dropped once, restoring the state
    /// an hour off); a time without a zone, a malformed offset, a sign before a commit
    /// timestamp and a time before 1970 are refused.
    #[test]
    fn points_are_read_with_their_zone() {
        let utc = Duration::from_secs(1_764_842_400); // 2025-12-04T10:00:00Z
        assert_eq!(at("2025-12-04T10:00:00Z"), Ok(Time(utc)));
        assert_eq!(at("2025-12-04t10:00:00z"), Ok(Time(utc)));
        assert_eq!(at("2025-12-04T11:00:00+01:00"), Ok(Time(utc)));
        assert_eq!(at("2025-12-04T08:30:00-01:30"), Ok(Time(utc)));
        assert_eq!(at("2025-12-04T10:00:00-00:00"), Ok(Time(utc)));
        assert_eq!(
            at("2025-12-04T10:00:00.25Z"),
            Ok(Time(utc + Duration::from_millis(250)))
        );
        assert_eq!(at("2025-12-04 10:00:00Z"), Ok(Time(utc)));
        assert_eq!(at("1234"), Ok(Commit(1234)));
        for bad in [
            "2025-12-04T10:00:00",
            "2025-12-04T10:00:00+0100",
            "2025-12-04T10:00:00+25:00",
            "+5",
            "-1",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "99999999999999999999",
            "",
            "garbage",
            "2025-12-04T10:00:00ü",
            "2025-12-04T10:00:00+01:0ü",
            "ü2025-12-04T10:00:00Z",
        ] {
            assert!(at(bad).is_err(), "{bad:?} was accepted: {:?}", at(bad));
        }
        let e = at("2026-12-07").expect_err("a date alone");
        assert!(e.contains("a date alone"), "{e}");
        // What is no time at all is not told to add a zone.
        for word in ["abc", "0x2", "+2", " 2", "-1"] {
            let e = at(word).expect_err(word);
            assert!(e.contains("is neither a commit timestamp"), "{word}: {e}");
        }
    }
}
