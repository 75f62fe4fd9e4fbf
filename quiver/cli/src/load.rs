//! `quiver load`: a dump into a new data directory whole or not at all, or into a
//! database that holds data already, when asked, after a check pass.
//!
//! Into a new (or empty) directory, the dump is loaded into a staging directory
//! beside it (`.quiver-load-…`) without a WAL, written out as one snapshot (the
//! on-disk mode: streamed into RocksDB's bulk path, synced), and the staging
//! directory is renamed into place:
//! a failure or a kill leaves the target as it was (no directory, or the empty one),
//! never half a database. Into a database that holds data, a check pass reads the
//! whole dump first and refuses what the database would refuse; the load itself
//! then goes into a copy of the database beside it, which takes its place in one
//! exchange of names: all or nothing too.

use std::path::{Path, PathBuf};

use engine_api::{Error, ErrorKind, Result, StorageEngine, StorageMode};
use indicatif::ProgressBar;
use quiver::{Config, Database, mode_name};

/// What the command line asked for.
pub struct LoadArgs {
    pub dir: PathBuf,
    pub file: PathBuf,
    pub mode: Option<StorageMode>,
    pub into_existing: bool,
    pub skip_constraints: bool,
    pub skip_unsupported: bool,
    /// The statements the load skipped as unsupported, named (line and what).
    pub skipped: std::sync::Mutex<Vec<String>>,
}

/// What a load did.
pub struct Loaded {
    pub summary: dump::LoadSummary,
    pub mode: StorageMode,
    /// The directory was new: the load was all or nothing.
    pub new: bool,
    /// Into existing data: the database as it was before the load, to be removed
    /// once the load is reported.
    pub replaced: Option<Replaced>,
}

/// Why a load was refused, for the exit code: the dump itself is wrong, or the
/// target cannot take it.
pub enum Refusal {
    /// The dump does not parse, refers to a vertex no statement creates, gives a
    /// key twice, or breaks one of its own constraints.
    Input(Error),
    /// Anything else (the mode cannot hold it, the target holds data, a definition
    /// exists already, I/O).
    Other(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Other(e)
    }
}

/// Sorts an error of the dump's reading into the two refusals.
fn classify(e: Error) -> Refusal {
    match e.kind() {
        // The dump's own fault, named at its line (a key or definition the dump
        // gives twice is `InvalidInput`; `AlreadyExists` is what the target holds).
        ErrorKind::InvalidInput | ErrorKind::NotFound | ErrorKind::ConstraintViolation
            if e.message().starts_with("line ") =>
        {
            Refusal::Input(e)
        }
        _ => Refusal::Other(e),
    }
}

/// The options of the load itself: it names what it skips.
fn options(args: &LoadArgs) -> dump::LoadOptions<'_> {
    check_options(args).log_skipped(&args.skipped)
}

/// The options of a check before the load (the load names what it skips).
fn check_options<'a>(args: &LoadArgs) -> dump::LoadOptions<'a> {
    dump::LoadOptions::new()
        .skip_constraints(args.skip_constraints)
        .skip_unsupported(args.skip_unsupported)
}

fn open_input(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    std::fs::File::open(path)
        .map(|f| std::io::BufReader::with_capacity(1 << 20, f))
        .map_err(|e| dump_unreadable(path, e))
}

/// The error for a dump file that cannot be opened or looked at.
fn dump_unreadable(path: &Path, e: std::io::Error) -> Error {
    Error::new(
        if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Io
        },
        format!("cannot open the dump {}: {e}", path.display()),
    )
    .with_source(e)
}

/// Whether `dir` is missing or an empty directory.
fn is_new(dir: &Path) -> Result<bool> {
    if std::fs::symlink_metadata(dir).is_ok() && !dir.exists() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "{} is a link to nothing; load into a new directory",
                dir.display()
            ),
        ));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(Error::invalid_input(format!(
            "{} is a file, not a directory: load into a new directory, or into a database with --into-existing",
            dir.display()
        )));
    }
    // A load staged inside this directory (it existed, empty) and was killed: its
    // staging directory is no content and goes now; one whose load still runs
    // makes the directory busy, not full.
    if dir.is_dir() {
        remove_abandoned_staging(dir);
    }
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut empty = true;
            for entry in entries {
                let name = entry
                    .map_err(|e| {
                        Error::new(ErrorKind::Io, format!("cannot read {}: {e}", dir.display()))
                    })?
                    .file_name();
                if name.to_string_lossy().starts_with(STAGING_PREFIX) {
                    return Err(Error::new(
                        ErrorKind::Locked,
                        format!(
                            "another load into {} is running (its staging directory {}); wait for it",
                            dir.display(),
                            dir.join(name).display()
                        ),
                    ));
                }
                empty = false;
            }
            Ok(empty)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(
            Error::new(ErrorKind::Io, format!("cannot read {}: {e}", dir.display())).with_source(e),
        ),
    }
}

/// Runs the load `args` describes; `bar` shows bytes and statements.
pub fn load(args: &LoadArgs, bar: &ProgressBar) -> std::result::Result<Loaded, Refusal> {
    // The input first: a missing or unreadable dump changes nothing.
    if args.file.is_dir() {
        return Err(Refusal::Other(Error::new(
            ErrorKind::Io,
            format!("{} is a directory, not a dump file", args.file.display()),
        )));
    }
    // A load reads its dump more than once (checked, then loaded): a pipe, a FIFO
    // or a device gives the second read nothing, or never ends. Asked before the
    // dump is opened: opening a FIFO waits for a writer.
    if std::fs::metadata(&args.file).is_ok_and(|m| !m.is_file()) {
        return Err(Refusal::Other(Error::invalid_input(format!(
            "{} is not a regular file (a pipe, FIFO or device): a load reads its dump more than once, so save the dump to a file first and load that",
            args.file.display()
        ))));
    }
    open_input(&args.file)?;
    let size = std::fs::metadata(&args.file).map_or(0, |m| m.len());
    bar.set_length(size);
    if quiver::holds_database(&args.dir) {
        into_existing(args, bar)
    } else if is_new(&args.dir)? {
        into_new(args, bar)
    } else {
        Err(Refusal::Other(Error::invalid_input(format!(
            "{} is not empty and holds no Quiver database; load into a new or empty directory",
            args.dir.display()
        ))))
    }
}

fn progress<'b>(bar: &'b ProgressBar) -> impl FnMut(dump::Progress) + 'b {
    move |p: dump::Progress| {
        bar.set_position(p.bytes);
        bar.set_message(format!("loading: {} statements", p.statements));
    }
}

/// The dump's lines that break one of its own uniqueness constraints, named as a
/// load into an existing database names them: the dump checked again against an
/// empty scratch database. Only on the way out of a load the staged database
/// refused (where the engine names vertices, not lines); `None` when the check
/// finds nothing (an existence constraint) or cannot run.
fn uniqueness_by_lines(args: &LoadArgs) -> Option<Error> {
    let scratch = quiver::scratch_dir("quiver-check-").ok()?;
    let db = Database::open(
        Config::new()
            .data_directory(scratch.path())
            .mode(StorageMode::InMemoryTransactional)
            .durability_by_mode(crate::unlogged(false)),
    )
    .ok()?;
    let found = dump::check_dump(&db, open_input(&args.file).ok()?, &check_options(args))
        .and_then(|c| dump::check_dump_uniqueness(&db, open_input(&args.file)?, &c));
    let _ = db.close();
    found
        .err()
        .filter(|e| e.kind() == ErrorKind::ConstraintViolation)
}

/// Into a new or empty directory: staged, one snapshot, renamed into place.
fn into_new(args: &LoadArgs, bar: &ProgressBar) -> std::result::Result<Loaded, Refusal> {
    let mode = args.mode.unwrap_or(StorageMode::InMemoryTransactional);
    let target = &args.dir;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    quiver::parent_is_a_directory(target, "load").map_err(Refusal::Other)?;
    // An empty directory that exists is staged in: it may be a mount point of its
    // own, into which nothing staged beside it can be renamed.
    let parent = if target.is_dir() {
        target.clone()
    } else {
        parent
    };
    // The mark is held until the staging directory is moved into place: a later
    // load removes staging directories whose mark nobody holds (a load that was
    // killed).
    let (staging, in_use) = stage_in(&parent)?;
    // No WAL: the load is one unit. Into the in-memory modes it goes through the
    // analytical engine, which loads fastest (no versions to keep), and is written
    // out as one snapshot, which every in-memory mode reads. Into the on-disk mode the
    // dump streams into RocksDB's bulk path as an image (sorted files, ingested; no
    // transaction, no staging engine). The constraints go aside and are created
    // afterwards in the target mode, which checks them against the loaded data.
    let open_staged = |m: StorageMode, on_exit: bool| {
        Database::open(
            Config::new()
                .data_directory(staging.path())
                .mode(m)
                .durability_by_mode(crate::unlogged(on_exit)),
        )
    };
    let failed = |e: Error| {
        // What the batches committed was in the staging directory, which goes.
        // The loader's accounting of batches (committed, rolled back or kept)
        // speaks of the staging engine, which is thrown away: cut it.
        let message = without_batch_accounting(e.message());
        classify(Error::new(
            e.kind(),
            format!("{message}; nothing was written"),
        ))
    };
    let mut aside = Vec::new();
    let mut tick = progress(bar);
    let (summary, db) = if mode == StorageMode::OnDiskTransactional {
        let mut input = Some(open_input(&args.file)?);
        let mut summary = None;
        let db = Database::create_on_disk_from_image(
            Config::new()
                .data_directory(staging.path())
                .mode(mode)
                .durability_by_mode(crate::unlogged(false)),
            &mut |sink| {
                let input = input
                    .take()
                    .ok_or_else(|| Error::invalid_input("the dump is read once"))?;
                let options = options(args)
                    .progress(100_000, &mut tick)
                    .constraints_aside(&mut aside);
                let loaded = dump::dump_to_image(input, sink, options)?;
                bar.set_message(format!(
                    "sorting and ingesting into RocksDB ({} statements read)",
                    loaded.statements
                ));
                summary = Some(loaded);
                // A dump has no commit timestamp: the database's own clock serves.
                Ok(0)
            },
        )
        .map_err(failed)?;
        let summary = summary.ok_or_else(|| Error::invalid_input("the dump was not read"))?;
        (summary, Some(db))
    } else {
        let staged_mode = StorageMode::InMemoryAnalytical;
        let db = open_staged(staged_mode, false)?;
        let mut load_options = options(args).progress(100_000, &mut tick);
        if staged_mode != mode {
            load_options = load_options.constraints_aside(&mut aside);
        }
        let summary =
            dump::load_dump(&db, open_input(&args.file)?, load_options).map_err(failed)?;
        bar.set_message(format!(
            "writing the snapshot ({} statements loaded)",
            summary.statements
        ));
        db.create_snapshot()?;
        db.close()?;
        if staged_mode != mode {
            quiver::persist_mode(staging.path(), mode)?;
        }
        if aside.is_empty() {
            (summary, None)
        } else {
            // The in-memory target writes its snapshot again, with the constraints.
            let db = open_staged(mode, true)?;
            (summary, Some(db))
        }
    };
    if let Some(db) = db {
        if !aside.is_empty() {
            bar.set_message(format!("checking {} constraints", aside.len()));
        }
        for spec in &aside {
            // A violation is the dump's: its data breaks its own constraint.
            db.create_constraint(spec).map_err(|e| {
                match e.kind() {
                ErrorKind::ConstraintViolation => Refusal::Input(
                    uniqueness_by_lines(args).unwrap_or_else(|| Error::new(
                    e.kind(),
                    format!(
                        "the dump's data breaks its constraint {spec}: {}; nothing was written",
                        e.message()
                    ),
                    )),
                ),
                _ => Refusal::Other(e),
            }
            })?;
        }
        db.close()?;
    }
    // The staging directory holds a whole database: it takes the target's place in
    // one rename (over an empty directory, too), and the parent is synced.
    drop(in_use);
    std::fs::remove_file(staging.path().join(IN_USE)).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot finish {}: {e}", staging.path().display()),
        )
        .with_source(e)
    })?;
    let staged = staging.keep();
    if let Err(e) = move_into_place(&staged, target) {
        let _ = std::fs::remove_dir_all(&staged);
        // Another process (a second load, say) filled the target meanwhile: the
        // same refusal as a target that was not empty at the start.
        if !is_new(target).unwrap_or(false) {
            return Err(Refusal::Other(Error::invalid_input(format!(
                "{} was filled by another process while this load ran ({e}); this load wrote nothing there",
                target.display()
            ))));
        }
        return Err(Refusal::Other(
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot move the loaded database into {}: {e}",
                    target.display()
                ),
            )
            .with_source(e),
        ));
    }
    durability::dir::sync_dir(&parent)?;
    Ok(Loaded {
        summary,
        mode,
        new: true,
        replaced: None,
    })
}

/// The names of staging directories: `.quiver-load-` and a random suffix.
const STAGING_PREFIX: &str = ".quiver-load-";
/// The file inside a staging directory that its load holds locked while it runs.
const IN_USE: &str = ".in-use";

/// Removes abandoned staging directories in `parent` and makes a new one there,
/// marked in use (the returned file holds the mark's lock).
fn stage_in(parent: &Path) -> Result<(tempfile::TempDir, std::fs::File)> {
    remove_abandoned_staging(parent);
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(parent)
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot create a staging directory in {}: {e}",
                    parent.display()
                ),
            )
            .with_source(e)
        })?;
    let in_use = mark_in_use(staging.path()).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot mark {} as in use: {e}", staging.path().display()),
        )
        .with_source(e)
    })?;
    Ok((staging, in_use))
}

/// Creates the in-use mark of `staging`, locked: made under a temporary name and
/// renamed once locked, so no one sees the mark unlocked while its load runs.
fn mark_in_use(staging: &Path) -> std::io::Result<std::fs::File> {
    let fresh = staging.join(".in-use.new");
    let file = std::fs::File::create(&fresh)?;
    file.try_lock().map_err(std::io::Error::other)?;
    std::fs::rename(&fresh, staging.join(IN_USE))?;
    Ok(file)
}

/// Removes the staging directories in `parent` whose load is gone: their in-use
/// mark exists and nobody holds its lock. A directory without a mark (being set
/// up by another load this instant) is left alone; failures are only logged (they
/// cost room, not data).
fn remove_abandoned_staging(parent: &Path) {
    for (path, mark) in abandoned_staging(parent) {
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(dir = %path.display(), "removed the staging directory of a load that did not finish")
            }
            Err(e) => {
                tracing::warn!(dir = %path.display(), error = %e, "cannot remove the staging directory of a load that did not finish")
            }
        }
        drop(mark);
    }
}

/// The staging directories in `parent` whose load is gone, each with its in-use
/// mark, locked by us while the value lives.
fn abandoned_staging(parent: &Path) -> Vec<(PathBuf, std::fs::File)> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut gone = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let staging = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(STAGING_PREFIX));
        if !staging || !path.is_dir() {
            continue;
        }
        let Ok(mark) = std::fs::File::open(path.join(IN_USE)) else {
            continue;
        };
        if mark.try_lock().is_ok() {
            gone.push((path, mark));
        }
    }
    gone
}

/// The record a load into existing data writes (synced) into its staging directory
/// just before the exchange of names: the directory that takes the database's
/// place, and the dump it holds, by file identity. A load killed after the exchange
/// but before it said so leaves it behind; the next load of the same dump into
/// that database learns from it that the dump is in already.
const SWAP_RECORD: &str = "swap";

/// Which file `path` is: device and inode.
fn file_id(m: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!("{}:{}", m.dev(), m.ino())
}

/// What a dump held when it was loaded, as far as its metadata tells: which file,
/// its length and modification time (an edit changes them), and its resolved path
/// (quoted: a newline in a name stays on its line).
struct DumpIdentity {
    file: String,
    contents: String,
    path: String,
}

impl DumpIdentity {
    fn of(path: &Path) -> Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).map_err(|e| dump_unreadable(path, e))?;
        Ok(DumpIdentity {
            file: file_id(&m),
            contents: format!("{} {}.{}", m.len(), m.mtime(), m.mtime_nsec()),
            path: format!(
                "{:?}",
                std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
            ),
        })
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The record of a load about to swap the copy at `db` in, of `dump`.
fn swap_record(db: &Path, dump: &DumpIdentity) -> std::io::Result<String> {
    Ok(format!(
        "quiver load swap 3\ndb {}\nfile {}\ncontents {}\npath {}\nat {}\n",
        file_id(&std::fs::metadata(db)?),
        dump.file,
        dump.contents,
        dump.path,
        unix_now()
    ))
}

/// A killed load into `target` that took effect, of `dump`'s file or of a file
/// under its path (edited since or not): the staging directory it left behind, how
/// long ago it swapped, and whether the dump has changed since.
fn applied_before(target: &Path, dump: &DumpIdentity) -> Option<(PathBuf, u64, bool)> {
    let target_id = file_id(&std::fs::metadata(target).ok()?);
    let parent = std::fs::canonicalize(target).ok()?.parent()?.to_path_buf();
    abandoned_staging(&parent)
        .into_iter()
        .find_map(|(staging, _mark)| {
            let record = std::fs::read_to_string(staging.join(SWAP_RECORD)).ok()?;
            let mut lines = record.lines();
            if lines.next() != Some("quiver load swap 3") {
                return None;
            }
            let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ');
            let (db, file, contents, path) = (
                field("db")?,
                field("file")?,
                field("contents")?,
                field("path")?,
            );
            let at: u64 = field("at")?.parse().ok()?;
            (db == target_id && (file == dump.file || path == dump.path)).then(|| {
                (
                    staging,
                    unix_now().saturating_sub(at),
                    contents != dump.contents,
                )
            })
        })
}

/// `seconds` for a person: "42 s", "7 min", "3 h", "2 days".
fn ago(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// `message` up to the loader's accounting of batches: " (N operations were
/// committed before it; …)" or " (N statements were applied before it)".
fn without_batch_accounting(message: &str) -> &str {
    let accounting = |rest: &str| {
        let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        digits.len() < rest.len()
            && [
                " operation was committed before it",
                " operations were committed before it",
                " statement was applied before it",
                " statements were applied before it",
            ]
            .iter()
            .any(|said| digits.starts_with(said))
    };
    message
        .match_indices(" (")
        .map(|(at, _)| at)
        .find(|at| accounting(&message[at + 2..]))
        .map_or(message, |at| &message[..at])
}

/// Moves the loaded database in `staged` to `target`: one rename where `target`
/// does not exist; into an existing empty directory (`.` included, which cannot be
/// renamed over) entry by entry, the mode file last, so the directory counts as a
/// database only once everything else is in it. `staged` is removed.
fn move_into_place(staged: &Path, target: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return std::fs::rename(staged, target);
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    // Two loads into one empty directory move one at a time (the directory's own
    // lock), and the second finds it filled: no mix of two databases' files.
    let held = std::fs::File::open(target)?;
    held.lock()?;
    // Staging directories are no content (a load into `.` stages inside it).
    let mut entries_now = std::fs::read_dir(target)?;
    if entries_now.any(|e| {
        e.map_or(true, |e| {
            !e.file_name().to_string_lossy().starts_with(STAGING_PREFIX)
        })
    }) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::DirectoryNotEmpty,
            "filled meanwhile",
        ));
    }
    let mut entries: Vec<std::ffi::OsString> = std::fs::read_dir(staged)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()?;
    // The lock file of the staging engine stays behind.
    entries.retain(|n| n != ".lock");
    entries.sort_by_key(|n| n == quiver::MODE_FILE);
    for name in entries {
        std::fs::rename(staged.join(&name), target.join(&name))?;
    }
    held.sync_all()?;
    drop(held);
    std::fs::remove_dir_all(staged)
}

/// Into a database that exists: refused while it holds data unless asked; then a
/// check pass over the whole dump before anything is written, and the load itself
/// into a copy beside the database, swapped in whole.
///
/// The database stays open (locked) while its copy is made (a backup restored into
/// `.quiver-load-…/db`, so the copy keeps the database id and id bounds) and the
/// dump is loaded into the copy; then it is closed, its lock taken again only if no
/// process opened it meanwhile, and the copy and the database exchange names in one
/// step. A kill before that step leaves the database as it was (the next load
/// removes the staging directory); after it, the database holds the whole dump.
fn into_existing(args: &LoadArgs, bar: &ProgressBar) -> std::result::Result<Loaded, Refusal> {
    // No snapshot on exit: a refused load leaves the directory as it was (a snapshot
    // there would also let retention rotate an older one out).
    let mut config = Config::new()
        .data_directory(&args.dir)
        .durability_by_mode(|_, d| d.snapshot_on_exit(false));
    if let Some(m) = args.mode {
        config = config.mode(m);
    }
    let db = Database::open(config)?;
    let stats = db.stats()?;
    let definitions = db.indexes().map_or(0, |i| i.len())
        + db.constraints().map_or(0, |c| c.len())
        + db.triggers().map_or(0, |t| t.len());
    let holds = stats.vertices + stats.edges + definitions as u64;
    if holds > 0 && !args.into_existing {
        let _ = db.close();
        return Err(Refusal::Other(Error::invalid_input(format!(
            "{} holds a database with data ({} vertices, {} edges, {definitions} indexes, constraints and triggers); `quiver load --into-existing {} {}` adds the dump to it (new ids; a definition that exists already is refused before anything is written), or load into a new directory",
            args.dir.display(),
            stats.vertices,
            stats.edges,
            args.dir.display(),
            args.file.display()
        ))));
    }
    // A load of this dump killed after it took effect but before it said so: loading
    // it again would add it twice.
    let dump = match DumpIdentity::of(&args.file) {
        Ok(d) => d,
        Err(e) => {
            let _ = db.close();
            return Err(Refusal::Other(e));
        }
    };
    if let Some((staging, seconds, changed)) = applied_before(&args.dir, &dump) {
        let _ = db.close();
        return Err(Refusal::Other(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{}{} is in {} already: a load of it was killed {} ago after it had taken effect, before it could say so; loading it again would add it twice, so nothing was written. {} holds the database as it was before that load; remove it to add the dump again anyway",
                args.file.display(),
                if changed {
                    " (as it was then: the file has changed since)"
                } else {
                    ""
                },
                args.dir.display(),
                ago(seconds),
                staging.display()
            ),
        )));
    }
    let mode = db.storage_mode();
    bar.set_message("checking the dump");
    let checked =
        dump::check_dump(&db, open_input(&args.file)?, &check_options(args)).and_then(|c| {
            // The dump's own uniqueness constraints come after its data: a second read.
            dump::check_dump_uniqueness(&db, open_input(&args.file)?, &c)
        });
    if let Err(e) = checked {
        let _ = db.close();
        return Err(classify(e));
    }
    let staged = match load_beside(args, &db, mode, bar) {
        Ok(staged) => staged,
        Err(e) => {
            let _ = db.close();
            return Err(e);
        }
    };
    // The swap: the database closed, its lock taken back unless someone opened it
    // in between, and the names exchanged.
    let stamp = durability::dir::open_stamp(&staged.target)?;
    db.close()?;
    let held = durability::dir::hold_lock_since(&staged.target, &stamp).map_err(|e| {
        Error::new(
            e.kind(),
            format!("{}; nothing was written, load again", e.message()),
        )
    })?;
    let record = swap_record(&staged.db, &dump).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!(
                "cannot read {}: {e}; nothing was written",
                staged.db.display()
            ),
        )
        .with_source(e)
    })?;
    durability::dir::write_file_atomically(
        staged.cleanup.staging.path(),
        SWAP_RECORD,
        record.as_bytes(),
    )
    .map_err(|e| Error::new(e.kind(), format!("{}; nothing was written", e.message())))?;
    quiver::crash_point("LoadRecorded");
    durability::dir::exchange_dirs(&staged.db, &staged.target)
        .map_err(|e| Error::new(e.kind(), format!("{}; nothing was written", e.message())))?;
    quiver::crash_point("LoadSwapped");
    drop(held);
    Ok(Loaded {
        summary: staged.summary,
        mode,
        new: false,
        replaced: Some(staged.cleanup),
    })
}

/// A database loaded beside its original, ready to take its place.
struct Staged {
    summary: dump::LoadSummary,
    /// The loaded copy (`<staging>/db`).
    db: PathBuf,
    /// The original's real path.
    target: PathBuf,
    cleanup: Replaced,
}

/// The staging directory of a load into existing data; after the swap it holds the
/// database as it was before the load, removed by [`Replaced::remove`] (or by the
/// next load, if this one is killed first).
pub struct Replaced {
    staging: tempfile::TempDir,
    in_use: std::fs::File,
}

impl Replaced {
    /// Removes the database the load replaced: its files first, the staging
    /// directory's in-use mark last, so a kill midway leaves a directory the next
    /// load recognises as abandoned.
    pub fn remove(self) {
        let db = self.staging.path().join("db");
        if let Err(e) = std::fs::remove_dir_all(&db) {
            tracing::warn!(dir = %db.display(), error = %e, "cannot remove the database a load replaced");
            return;
        }
        drop(self.in_use);
        drop(self.staging);
    }
}

/// Copies the open database `db` into a staging directory beside it and loads the
/// dump into the copy. Fails (and removes the staging directory) before anything
/// of the original changes; the messages say so.
fn load_beside(
    args: &LoadArgs,
    db: &Database,
    mode: StorageMode,
    bar: &ProgressBar,
) -> std::result::Result<Staged, Refusal> {
    let target = std::fs::canonicalize(&args.dir).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot resolve {}: {e}", args.dir.display()),
        )
        .with_source(e)
    })?;
    let Some(parent) = target.parent().map(Path::to_path_buf) else {
        return Err(Refusal::Other(Error::invalid_input(format!(
            "{} is the root directory; a load into existing data builds its result beside the database",
            target.display()
        ))));
    };
    {
        use std::os::unix::fs::MetadataExt;
        let dev = |p: &Path| std::fs::metadata(p).map(|m| m.dev());
        if dev(&target).ok() != dev(&parent).ok() {
            return Err(Refusal::Other(Error::invalid_input(format!(
                "{} is a mount point: a load into existing data builds the result beside the database in {} and swaps it in with one rename, which cannot cross file systems; back the database up, restore it into a directory under the mount point and load into that",
                target.display(),
                parent.display()
            ))));
        }
    }
    let (staging, in_use) = stage_in(&parent)?;
    let nothing_written = |e: Error| {
        let message = without_batch_accounting(e.message());
        Error::new(
            e.kind(),
            format!("{message}; {} was left as it was", args.dir.display()),
        )
    };
    // The exchange at the end is tried first on two empty directories, so a file
    // system without it fails the load before the work.
    let (a, b) = (
        staging.path().join("probe-a"),
        staging.path().join("probe-b"),
    );
    let probe = std::fs::create_dir(&a)
        .and_then(|()| std::fs::create_dir(&b))
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot create {}: {e}", a.display())))
        .and_then(|()| durability::dir::exchange_dirs(&a, &b))
        .and_then(|()| {
            std::fs::remove_dir(&a)
                .and_then(|()| std::fs::remove_dir(&b))
                .map_err(|e| {
                    Error::new(ErrorKind::Io, format!("cannot remove {}: {e}", a.display()))
                })
        });
    probe.map_err(nothing_written)?;
    bar.set_message("copying the database aside");
    let backup = staging.path().join("backup");
    let copy = staging.path().join("db");
    quiver::backup(db, &backup, &|_, _| {})
        .and_then(|_| {
            quiver::restore(
                &backup,
                &copy,
                &quiver::RestoreOptions::new().mode(mode),
                &|_, _| {},
            )
        })
        .map_err(nothing_written)?;
    std::fs::remove_dir_all(&backup).map_err(|e| {
        nothing_written(
            Error::new(
                ErrorKind::Io,
                format!("cannot remove {}: {e}", backup.display()),
            )
            .with_source(e),
        )
    })?;
    // The copy needs no WAL: it is written out whole (one snapshot in memory, a
    // synced close on disk) before it takes the database's place.
    let copied = Database::open(
        Config::new()
            .data_directory(&copy)
            .mode(mode)
            .durability_by_mode(crate::unlogged(false)),
    )
    .map_err(nothing_written)?;
    let mut tick = progress(bar);
    let loaded = dump::load_dump(
        &copied,
        open_input(&args.file)?,
        options(args).progress(100_000, &mut tick),
    );
    let summary = match loaded {
        Ok(summary) => summary,
        Err(e) => {
            let _ = copied.close();
            return Err(classify(nothing_written(e)));
        }
    };
    bar.set_message(format!(
        "writing the result ({} statements loaded)",
        summary.statements
    ));
    let written = if mode == StorageMode::OnDiskTransactional {
        Ok(())
    } else {
        copied.create_snapshot().map(|_| ())
    };
    let closed = copied.close();
    written.and(closed).map_err(nothing_written)?;
    Ok(Staged {
        summary,
        db: copy,
        target,
        cleanup: Replaced { staging, in_use },
    })
}

/// The statements the load skipped as unsupported, a line each (and how many more
/// there were), for standard error.
pub fn skipped_lines(args: &LoadArgs, skipped: u64) -> Vec<String> {
    let named = args.skipped.lock().map(|n| n.clone()).unwrap_or_default();
    let mut lines: Vec<String> = named.iter().map(|m| format!("skipped {m}")).collect();
    if skipped > named.len() as u64 {
        lines.push(format!(
            "skipped {} more statement(s) (the first {} are named)",
            skipped - named.len() as u64,
            dump::SKIPPED_NAMED
        ));
    }
    lines
}

/// The line the command prints when it is done.
pub fn done_line(args: &LoadArgs, loaded: &Loaded) -> String {
    let s = &loaded.summary;
    format!(
        "loaded {} vertices, {} edges, {} schema definitions{} into {} ({}{})",
        s.vertices,
        s.edges,
        s.schema,
        if s.skipped > 0 {
            format!(" ({} statements skipped as asked)", s.skipped)
        } else {
            String::new()
        },
        args.dir.display(),
        mode_name(loaded.mode),
        if loaded.new { ", a new database" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::{move_into_place, without_batch_accounting};

    /// Two loads finishing into one empty directory at once: the second waits for
    /// the first's move and then finds the directory filled; nothing of it is
    /// moved in.
    #[test]
    fn a_second_move_into_one_empty_directory_waits_and_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("target");
        let (first, second) = (root.path().join("first"), root.path().join("second"));
        for (dir, file) in [
            (&target, None),
            (&first, Some("one")),
            (&second, Some("two")),
        ] {
            std::fs::create_dir(dir).expect("mkdir");
            if let Some(f) = file {
                std::fs::write(dir.join(f), f).expect("write");
            }
        }
        // The first move holds the directory's lock while it moves its files.
        let held = std::fs::File::open(&target).expect("open");
        held.lock().expect("lock");
        let mover = {
            let (second, target) = (second.clone(), target.clone());
            std::thread::spawn(move || move_into_place(&second, &target))
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!mover.is_finished(), "the second move waits for the lock");
        std::fs::rename(first.join("one"), target.join("one")).expect("move");
        drop(held);
        let e = mover.join().expect("joined").expect_err("filled meanwhile");
        assert_eq!(e.kind(), std::io::ErrorKind::DirectoryNotEmpty);
        assert!(!target.join("two").exists() && second.join("two").exists());
    }

    #[test]
    fn only_the_batch_accounting_is_cut() {
        assert_eq!(
            without_batch_accounting(
                "line 3: constraint ON (u:`P`) ASSERT EXISTS (u.`n`) is violated (2 operations were committed before it; its batch of 1 was rolled back; 4 statements were applied before it)"
            ),
            "line 3: constraint ON (u:`P`) ASSERT EXISTS (u.`n`) is violated"
        );
        assert_eq!(
            without_batch_accounting(
                "line 5, column 42: expected a value (1 statement was applied before it)"
            ),
            "line 5, column 42: expected a value"
        );
        assert_eq!(
            without_batch_accounting(
                "line 2: id 7 is taken (1 operation was committed before it; 1 statement was applied before it)"
            ),
            "line 2: id 7 is taken"
        );
        assert_eq!(
            without_batch_accounting("plain (no numbers)"),
            "plain (no numbers)"
        );
    }
}
