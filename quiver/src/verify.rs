//! Checking a backup or a data directory without writing to it.
//!
//! `verify` makes every check that opening makes (or, for a backup, restoring and
//! then opening), in the mode the directory holds, so that it calls a directory
//! damaged exactly when opening it would fail:
//!
//! - each file on its own: a snapshot's every block, a WAL segment's every record,
//!   the mode file, the manifest and each file it lists (size and CRC-32);
//! - what opening checks across files, as that mode's recovery does it: which
//!   snapshot it loads (the newest that reads, and whether a newer damaged one may be
//!   passed over), that the WAL's segments follow each other without a gap, that
//!   each header names its own segment and this database, and that the commits after
//!   the loaded snapshot follow one another;
//! - in a backup, that every file of ours is listed in its manifest;
//! - for an ON_DISK_TRANSACTIONAL directory, RocksDB's files through RocksDB (every
//!   block's checksum) and our metadata beside them;
//! - for a data directory with a WAL archive (`archive/`), the archive's files and
//!   the directory's together, as a restore to a point puts them: each file reads,
//!   the segments follow each other from the archive into `wal/`, one database
//!   throughout. Damage there is damage even though opening never reads the archive
//!   (and a damaged archived snapshot is damage, not passed over): the points it
//!   holds cannot be restored. A restore of the newest state passes over it.
//!
//! A damaged file that opening does not need (an older snapshot, or a newer one the
//! WAL covers) is reported as passed over, not as damage: the directory opens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use durability::manifest::{MANIFEST_FILE, Manifest, ManifestFile};
use durability::snapshot::read_snapshot_counts;
use durability::wal::{SegmentRead, read_segment};
use durability::{DatabaseId, SchemaOp, SegmentName, SnapshotName};
use engine_api::{Error, ErrorKind, Result, StorageMode};

use crate::backup::{file_crc, read_manifest};
use crate::mode::{MODE_FILE, mode_name, parse_mode, persisted_mode};

/// One file [`verify`] looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    /// The file.
    pub path: PathBuf,
    /// What it is: `snapshot`, `WAL segment`, `mode file`, `manifest`, `RocksDB`,
    /// `metadata`, `foreign`, `missing`.
    pub kind: &'static str,
    /// What was found in it, when it is sound (counts, timestamps).
    pub detail: String,
    /// Damage that makes opening (or restoring) fail.
    pub damage: Option<String>,
    /// What kind of damage `damage` is, where the way out differs from restoring a
    /// backup ([`DamageKind::Other`] without damage).
    pub damage_kind: DamageKind,
    /// Damage that opening passes over (a snapshot it does not need), and what that
    /// means for the data.
    pub passed_over: Option<String>,
}

/// The kinds of damage whose way out is not (only) restoring a backup: what a tool
/// advises on, without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DamageKind {
    /// Any other damage: the way out is restoring a backup.
    #[default]
    Other,
    /// A snapshot under a later sequence number that holds an older commit than one
    /// written before it: one of the two was copied or renamed by hand, and moving
    /// the one that does not belong out of `snapshots/` mends the directory.
    OutOfOrder,
    /// A damaged snapshot holding commits that neither an older snapshot nor the WAL
    /// holds, with an older state to open: restoring a backup keeps them; moving the
    /// snapshot aside opens the older state without them.
    CommitsLost,
    /// A snapshot that reads but holds an older commit than its name gives (and
    /// nothing the older state lacks): if it was only copied or renamed, moving it
    /// out loses nothing; if it replaced the snapshot its name gives, that commit
    /// is lost unless a backup is restored.
    Misnamed,
    /// A backup whose parent backup is missing, does not read or does not belong to
    /// it: the chain is restored from all its backups together.
    BrokenChain,
    /// An entry under one of our names that is no regular file (a folder, a named
    /// pipe, a link whose target is gone): it holds no data, and moving it out of
    /// its folder loses nothing.
    NotAFile,
    /// A backup's manifest that does not read: the files cannot be checked against
    /// it.
    UnreadableManifest,
    /// Damage of a data directory's snapshot or WAL segment that the directory alone
    /// cannot recover from, while its WAL archive and the directory together read
    /// whole (an older snapshot and the WAL after it): the directory does not open,
    /// and a restore to its newest commit through the archive
    /// ([`VerifyReport::newest_commit`]) gives every commit.
    RestorableThroughArchive,
}

impl CheckedFile {
    /// A backup manifest with damage `why` of `damage_kind`.
    fn damaged_manifest(path: PathBuf, why: String, damage_kind: DamageKind) -> Self {
        CheckedFile {
            damage: Some(why),
            damage_kind,
            ..CheckedFile::new(path, "manifest")
        }
    }

    fn new(path: PathBuf, kind: &'static str) -> Self {
        CheckedFile {
            path,
            kind,
            detail: String::new(),
            damage: None,
            damage_kind: DamageKind::Other,
            passed_over: None,
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The manifest, if the directory has one and it is sound.
    pub manifest: Option<Manifest>,
    /// The mode the directory holds (the manifest's, the mode file's, or what its
    /// layout says), which decides what opening it checks.
    pub mode: StorageMode,
    /// Every file looked at.
    pub files: Vec<CheckedFile>,
    /// What the reader should know about how the directory was checked (a backup
    /// without its manifest, for one).
    pub notes: Vec<String>,
    /// The snapshot opening loads (the one a restore copies), if any.
    pub(crate) snapshot: Option<PathBuf>,
    snapshot_constraints: u64,
    /// Snapshots whose header does not read.
    unlisted: Vec<PathBuf>,
    /// The newest commit the snapshots and WAL checked together reach (through the
    /// WAL archive, when the directory has one), where the transactional check got
    /// that far.
    newest_commit: Option<u64>,
}

impl VerifyReport {
    /// A report of checks that stopped before the files were read across (opening
    /// stops there too): no snapshot found.
    fn stopped(
        manifest: Option<Manifest>,
        mode: StorageMode,
        files: Vec<CheckedFile>,
        notes: Vec<String>,
    ) -> Self {
        VerifyReport {
            manifest,
            mode,
            files,
            notes,
            snapshot: None,
            snapshot_constraints: 0,
            unlisted: Vec::new(),
            newest_commit: None,
        }
    }

    /// True if nothing is damaged: opening the directory (or restoring the backup,
    /// then opening it) succeeds.
    pub fn is_sound(&self) -> bool {
        self.files.iter().all(|f| f.damage.is_none())
    }

    /// The damaged files: each one makes opening (or restoring) fail.
    pub fn damaged(&self) -> impl Iterator<Item = &CheckedFile> {
        self.files.iter().filter(|f| f.damage.is_some())
    }

    /// The files under a snapshot's name whose header does not read: the snapshot
    /// listing (`snapshots()`, `quiver info`, a backup, a mode switch) fails on each,
    /// even where opening passes over it.
    pub fn unreadable_snapshots(&self) -> impl Iterator<Item = &Path> {
        self.unlisted.iter().map(PathBuf::as_path)
    }

    /// The snapshot opening loads (the one a restore copies), if any snapshot reads.
    pub fn snapshot(&self) -> Option<&Path> {
        self.snapshot.as_deref()
    }

    /// The newest commit the snapshots and WAL reach together, through the WAL
    /// archive when the directory has one: the point a restore through the archive
    /// gives every commit at. `None` where the check stopped before the WAL (or the
    /// mode keeps none).
    pub fn newest_commit(&self) -> Option<u64> {
        self.newest_commit
    }

    /// How many constraints the snapshot opening loads holds.
    pub fn snapshot_constraints(&self) -> u64 {
        self.snapshot_constraints
    }

    /// Damaged files that opening passes over.
    pub fn passed_over(&self) -> impl Iterator<Item = &CheckedFile> {
        self.files.iter().filter(|f| f.passed_over.is_some())
    }
}

/// Whether `dir` holds a database of ours (or a backup of one): a mode file, a
/// manifest, `rocksdb/`, or a file named as ours in `snapshots/` or `wal/`. Commands that only
/// read refuse anything else, so a mistyped path never reads as a healthy (empty)
/// database.
pub fn holds_database(dir: &Path) -> bool {
    dir.join(MODE_FILE).is_file()
        || dir.join(MANIFEST_FILE).is_file()
        || dir.join("rocksdb").is_dir()
        || durability::dir::has_our_files(dir)
}

/// Whether `dir` holds nothing but what a migrate or restore killed before its data
/// landed leaves behind (the mode file, temporary files, empty `snapshots/` and
/// `wal/`): no data, and a retry of that migrate or restore goes ahead. Commands that
/// only read refuse such a directory rather than open it, since opening would create
/// an empty database there and the retry would then find the target in use.
///
/// Errors: `Io` when `dir` cannot be listed.
pub fn holds_only_leftovers(dir: &Path) -> Result<bool> {
    Ok(dir.join(MODE_FILE).is_file() && crate::backup::used_entries(dir)?.is_empty())
}

/// The error for a directory [`holds_only_leftovers`] describes.
pub fn only_leftovers(dir: &Path) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!(
            "{} holds no data: only the mode file (and empty directories) that an interrupted migrate or restore leaves; run that migrate or restore into it again",
            dir.display()
        ),
    )
}

/// The error for a path that holds no database, as every command gives it.
pub fn no_database(dir: &Path) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!(
            "{} holds no Quiver database (no quiver.mode, snapshots/, wal/, rocksdb/ or backup manifest); check the path",
            dir.display()
        ),
    )
}

/// A snapshot as read: its name and what it holds, or why it does not read.
struct Snap {
    name: SnapshotName,
    /// Index into the report's files.
    at: usize,
    read: std::result::Result<(DatabaseId, u64), String>,
    /// Constraints it holds (IN_MEMORY_ANALYTICAL cannot load them).
    constraints: u64,
}

/// A WAL segment as read.
struct Seg {
    name: SegmentName,
    at: usize,
    read: std::result::Result<SegRead, String>,
}

enum SegRead {
    /// A newest segment whose header a crash cut short (opening removes it).
    TornHeader,
    Read {
        database: DatabaseId,
        header_seq: u64,
        /// Commit timestamps, in log order.
        commits: Vec<u64>,
        /// The newest commit its schema records precede (for the analytical mode's
        /// check of a log left behind).
        newest: Option<u64>,
    },
}

/// An error's message without the leading file name our readers put there.
fn without_path(message: &str, path: &Path) -> String {
    message
        .strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(message)
        .to_string()
}

/// What the strict listing of `listing`'s directory refuses: each entry under one of
/// our names that is no file, or else the copy of two snapshots out of commit order
/// (told with the snapshots `beside` too, see [`durability::dir::OutOfOrder`]).
fn listing_damage(
    listing: &durability::dir::Listing,
    beside: &[durability::SnapshotName],
) -> Vec<CheckedFile> {
    let not_files: Vec<CheckedFile> = listing
        .not_files
        .iter()
        .map(|(path, why)| {
            let mut f = CheckedFile::new(path.clone(), "entry");
            f.damage = Some(why.clone());
            f.damage_kind = DamageKind::NotAFile;
            f
        })
        .collect();
    if !not_files.is_empty() {
        return not_files;
    }
    listing
        .out_of_order_beside(beside)
        .map(|o| {
            let copy = &o.copy().path;
            let mut f = CheckedFile::new(copy.clone(), "snapshot");
            f.damage = Some(without_path(&o.to_string(), copy));
            f.damage_kind = DamageKind::OutOfOrder;
            f
        })
        .into_iter()
        .collect()
}

/// Checks a backup or a data directory without writing to it (see the module
/// docs): the report's [`VerifyReport::is_sound`] is true exactly when opening the
/// directory, or restoring the backup and opening that, succeeds.
///
/// Errors: `NotFound` when `dir` is not a directory or holds no database; `Io` when
/// it cannot be listed. Damage is in the report.
pub fn verify(dir: &Path, progress: crate::backup::Progress<'_>) -> Result<VerifyReport> {
    let report = verify_one(dir, progress)?;
    let mut report = with_archive(dir, report, progress)?;
    // A data directory's leftovers of a killed snapshot (a file as large as one) or
    // copy: no damage, since opening never reads them, but space the user may wonder
    // about. A backup's are not its files (its manifest lists those).
    if report.manifest.is_none() {
        for (path, bytes) in durability::dir::interrupted_writes(dir) {
            let size = match bytes {
                Some(bytes) => format!("{bytes} bytes on disk"),
                None => "a link: only the link is removed".to_string(),
            };
            report.notes.push(format!(
                "{} ({size}) is what an interrupted snapshot write, copy or deletion left; opening never reads it, and the next open removes it",
                path.display()
            ));
        }
        match durability::dir::in_progress_dir(dir) {
            None => report.notes.push(format!(
                "{} is a link, where the folder of snapshots in progress belongs: it is not ours, so nothing behind it is read or removed, and snapshots are written inside snapshots/ instead",
                dir.join(durability::dir::IN_PROGRESS).display()
            )),
            Some(in_progress) if in_progress.exists() && !in_progress.is_dir() => {
                report.notes.push(format!(
                    "{} is no folder: opening works, but writing a snapshot fails until it is moved away (snapshots are written there first)",
                    in_progress.display()
                ));
            }
            Some(_) => {}
        }
    }
    Ok(report)
}

/// `report` (of the data directory `dir`) with its WAL archive checked, if it has
/// one: the archive's files and the directory's, as one directory (as a restore to
/// a point puts them together), are checked like a data directory; what is found in
/// the archive's files, and damage across the two (a gap between the archive's WAL
/// and the directory's, files of another database), is added.
fn with_archive(
    dir: &Path,
    mut report: VerifyReport,
    progress: crate::backup::Progress<'_>,
) -> Result<VerifyReport> {
    let archive = dir.join(durability::dir::ARCHIVE);
    if report.manifest.is_some() {
        return Ok(report);
    }
    // Whether the archive's damage may be said to leave the directory's own open
    // alone: only where the directory itself verified. (Found by a hostile-user
    // run: "the directory itself opens" was said of one that did not.)
    let opens = report.damaged().next().is_none();
    let itself = |text: &str| {
        if opens {
            format!(" ({text})")
        } else {
            String::new()
        }
    };
    if let Some(what) = durability::dir::not_a_directory(&archive) {
        let mut f = CheckedFile::new(archive.clone(), "WAL archive");
        f.damage = Some(format!(
            "{what}: the points it held cannot be restored, and an engine with the WAL archive on refuses to open until it is a directory again{}",
            itself("the directory itself opens without the archive setting")
        ));
        report.files.push(f);
        return Ok(report);
    }
    if !archive.is_dir() {
        return Ok(report);
    }
    // An archive that cannot be read (permissions) is an I/O error, not damage and
    // not an empty archive.
    for folder in [
        archive.clone(),
        archive.join("snapshots"),
        archive.join("wal"),
    ] {
        if folder != archive
            && let Some(what) = durability::dir::not_a_directory(&folder)
        {
            let mut f = CheckedFile::new(folder.clone(), "WAL archive");
            f.damage = Some(format!(
                "{what}: the points the archive held cannot be restored{}",
                itself("the directory itself opens")
            ));
            report.files.push(f);
            return Ok(report);
        }
        match std::fs::read_dir(&folder) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && folder != archive => {}
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("cannot read the WAL archive {}: {e}", folder.display()),
                )
                .with_source(e));
            }
        }
    }
    let own = durability::dir::list_files_in_any_order(dir)?;
    let archived = durability::dir::list_files_in_any_order(&archive)?;
    // A restore to a point lists the archive as opening lists the directory: an
    // entry that is no file, or two snapshots out of commit order, stop it. Where
    // either listing is refused (the directory's damage is in the report already),
    // the two cannot be read as one: the report ends there. (Found by a
    // hostile-user run: verify failed with the listing's error, exit 5, instead.)
    let refused = listing_damage(&archived, &own.snapshots);
    if !refused.is_empty() || !listing_damage(&own, &[]).is_empty() {
        report.files.extend(refused);
        return Ok(report);
    }
    // The directory's database (its own files', as opening finds it): an archive of
    // another (a link to another directory's archive?) is named as the stranger.
    let ours = own
        .snapshots
        .iter()
        .rev()
        .find_map(|s| durability::snapshot::read_snapshot_header(&s.path).ok())
        .map(|h| h.database)
        .or_else(|| {
            own.segments.iter().find_map(|s| {
                durability::wal::read_live_segment_header(&s.path, false)
                    .ok()
                    .flatten()
                    .map(|h| h.database)
            })
        });
    let mut foreign = false;
    if let Some(ours) = ours {
        let ids = archived
            .snapshots
            .iter()
            .map(|s| {
                (
                    &s.path,
                    durability::snapshot::read_snapshot_header(&s.path)
                        .ok()
                        .map(|h| h.database),
                )
            })
            .chain(archived.segments.iter().map(|s| {
                (
                    &s.path,
                    durability::wal::read_live_segment_header(&s.path, false)
                        .ok()
                        .flatten()
                        .map(|h| h.database),
                )
            }));
        for (path, id) in ids {
            if let Some(theirs) = id
                && theirs != ours
            {
                let mut f = CheckedFile::new(path.clone(), "WAL archive file");
                f.damage = Some(format!(
                    "belongs to database {theirs}, but the data directory's own files belong to {ours}: a file of another database in the WAL archive (is archive/ a link to another directory's?); a restore to a point through the archive fails{}",
                    itself("the directory itself opens")
                ));
                report.files.push(f);
                foreign = true;
            }
        }
    }
    // A file in the archive under the name of one in the directory: the directory's
    // is the one read; the archive's must be the same file (a move interrupted).
    for (mine, theirs) in [
        (
            own.snapshots.iter().map(|s| &s.path).collect::<Vec<_>>(),
            archived
                .snapshots
                .iter()
                .map(|s| &s.path)
                .collect::<Vec<_>>(),
        ),
        (
            own.segments.iter().map(|s| &s.path).collect(),
            archived.segments.iter().map(|s| &s.path).collect(),
        ),
    ] {
        for a in theirs {
            let Some(d) = mine.iter().find(|d| d.file_name() == a.file_name()) else {
                continue;
            };
            // The directory's file reported already (a copy under another name,
            // cut short): the archive's is not the one to blame for differing.
            // (Found by a hostile-user run: an older snapshot copied out of the
            // archive under a name held there blamed the archive's sound file.)
            let damaged_here = report.damaged().any(|f| &f.path == *d);
            if !damaged_here && file_crc(a).ok() != file_crc(d).ok() {
                let mut f = CheckedFile::new(a.clone(), "WAL archive file");
                f.damage = Some(format!(
                    "another file than {} under the same name: a restore to a point reads the directory's, so this one is in no history it restores (move it out of the archive)",
                    d.display()
                ));
                report.files.push(f);
                foreign = true;
            }
        }
    }
    if foreign {
        return Ok(report);
    }
    let chain = [(archive.clone(), None), (dir.to_path_buf(), None)];
    let view = crate::backup::ChainView::of(&chain, report.mode)?;
    let merged = verify_one(view.path(), progress)?;
    report.newest_commit = report.newest_commit.max(merged.newest_commit);
    let shown = |text: &str| view.shown(text, dir);
    // Every file the archive and the directory give together reads (but for the
    // directory's own damaged ones, passed over): what the directory alone lacks, a
    // restore to a point through the archive recovers. (A restore to a point is
    // refused while the archive has damage, even damage it could pass over.)
    // The directory's own damaged files that the two read together recover: passed
    // over, read, or failing only the snapshot listing (a header that does not
    // read, which a restore to a point does not need: it passes over the file).
    let recovered: Vec<PathBuf> = merged
        .files
        .iter()
        .filter(|f| f.damage.is_none() || merged.unlisted.contains(&f.path))
        .map(|f| view.original(&f.path))
        .filter(|original| report.damaged().any(|g| &g.path == original))
        .collect();
    let together_sound = merged.files.iter().all(|f| {
        recovered.contains(&view.original(&f.path))
            || (f.damage.is_none() && f.passed_over.is_none())
    });
    for mut f in merged.files {
        let original = view.original(&f.path);
        if original.starts_with(&archive) {
            f.path = original;
            f.detail = shown(&f.detail);
            // Damage there stops a restore to a point reading the archive, not the
            // directory's own open.
            let why = f.damage.take().or(f.passed_over.take());
            f.damage = why.map(|why| {
                format!(
                    "in the WAL archive: a restore to a point through it fails here{}: {}",
                    itself("the directory itself opens"),
                    shown(&why)
                )
            });
            report.files.push(f);
        } else if let Some(why) = &f.damage
            && !report.damaged().any(|g| g.path == original)
        {
            // A copy in the directory that only the archive's files show out of
            // order is the directory's file to move out, not the archive's damage
            // (a hostile-user run: the hint said to empty the archive).
            let mut g = if f.damage_kind == DamageKind::OutOfOrder {
                let mut g = CheckedFile::new(original.clone(), "snapshot");
                g.damage_kind = DamageKind::OutOfOrder;
                g
            } else {
                CheckedFile::new(archive.clone(), "WAL archive")
            };
            g.damage = Some(format!(
                "with the archive before it, {}: {}; a restore to a point through the archive fails{}",
                original.display(),
                shown(why),
                itself("the directory itself opens")
            ));
            report.files.push(g);
        } else if together_sound
            && recovered.contains(&original)
            && let Some(own) = report
                .files
                .iter_mut()
                .find(|g| g.path == original && g.damage.is_some())
            && matches!(own.damage_kind, DamageKind::Other | DamageKind::CommitsLost)
        {
            // Lost to the directory alone, held by the archive: said so, and a
            // restore to a point (which passes over a damaged snapshot, and reads
            // the archive's WAL before a segment that starts late) is the way out. (Found by a hostile-user run: the message said the commits
            // could not be recovered, and the restore was refused.)
            own.damage_kind = DamageKind::RestorableThroughArchive;
            if let Some(why) = own.damage.as_mut() {
                why.push_str(
                    " from the directory alone; its WAL archive holds an older snapshot and the WAL after it, so a restore to a point through the archive recovers them",
                );
            }
        }
    }
    report.notes.push(format!(
        "{} (the WAL archive) was checked with the directory's own snapshots and WAL, as a restore to a point puts them together",
        archive.display()
    ));
    Ok(report)
}

fn verify_one(dir: &Path, progress: crate::backup::Progress<'_>) -> Result<VerifyReport> {
    if !dir.is_dir() || !holds_database(dir) {
        return Err(no_database(dir));
    }
    // What a killed migrate or restore leaves opens as nothing: refused as by `info`.
    if holds_only_leftovers(dir)? {
        return Err(only_leftovers(dir));
    }
    let mut files: Vec<CheckedFile> = Vec::new();
    // A directory a process has open changes while it is read, and opening it now
    // fails: refused like an open. A lock file opening cannot use is damage.
    match durability::dir::holder(dir) {
        Ok(Some(holder)) => {
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "the data directory {} is in use{}: its files change while they are read, so verify checks a directory no process has open; close that process first, or back the database up (`quiver backup`) and verify the backup",
                    dir.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" by process {holder}")
                    }
                ),
            ));
        }
        Ok(None) => {}
        Err(e) => {
            let path = dir.join(".lock");
            let mut f = CheckedFile::new(path.clone(), "lock file");
            f.damage = Some(format!("opening fails: {}", e.message()));
            files.push(f);
        }
    }
    // The newest backup of a chain: checked with the backups it continues. A backup
    // of RocksDB's files is read as a chain too (of one, when it is full): through
    // a scratch directory, since RocksDB writes its info log where it reads.
    if let Ok(Some(m)) = read_manifest(dir)
        && (m.parent.is_some() || m.format == durability::manifest::MANIFEST_FORMAT_FILES)
    {
        return verify_chain(dir, m, files, progress);
    }
    let mut notes = Vec::new();
    let manifest_path = dir.join(MANIFEST_FILE);
    let mut listed: BTreeMap<String, ManifestFile> = BTreeMap::new();
    let manifest = match read_manifest(dir) {
        Ok(Some(m)) => {
            let mut f = CheckedFile::new(manifest_path.clone(), "manifest");
            f.detail = format!(
                "database {}, {}, {} files, commits up to {}",
                m.database,
                m.mode,
                m.files.len(),
                m.covered_commit_ts
            );
            if parse_mode(&m.mode).is_none() {
                f.damage = Some(format!("{:?} is not a storage mode", m.mode));
            }
            files.push(f);
            for f in &m.files {
                listed.insert(f.path.clone(), f.clone());
            }
            Some(m)
        }
        Ok(None) => {
            notes.push(format!(
                "{} has no backup manifest ({MANIFEST_FILE}): it is checked as a data directory. A backup written by `quiver backup` has one; if this is such a backup, its manifest is gone and a missing file cannot be told from one never written",
                dir.display()
            ));
            None
        }
        Err(e) => {
            let mut f = CheckedFile::new(manifest_path.clone(), "manifest");
            f.damage = Some(without_path(e.message(), &manifest_path));
            f.damage_kind = DamageKind::UnreadableManifest;
            files.push(f);
            None
        }
    };
    let backup = manifest.is_some() || files.iter().any(|f| f.kind == "manifest");
    // A backup of RocksDB's files is read through its manifest (its chain, the files
    // it shares): without one that reads, its files are not checked as a directory
    // (RocksDB's files would read as missing what an earlier backup holds).
    if manifest.is_none() && backup && dir.join("rocksdb").is_dir() {
        notes.push(format!(
            "the manifest of {} does not read, and it holds RocksDB's files: they are checked through the manifest (a backup of them may share files with the backups before it), so nothing more is checked",
            dir.display()
        ));
        let mode = persisted_mode(dir)
            .ok()
            .flatten()
            .unwrap_or(StorageMode::OnDiskTransactional);
        return Ok(VerifyReport::stopped(None, mode, files, notes));
    }

    // The mode decides what opening checks.
    let mode_path = dir.join(MODE_FILE);
    let recorded = match persisted_mode(dir) {
        Ok(m) => m,
        Err(e) => {
            let mut f = CheckedFile::new(mode_path.clone(), "mode file");
            f.damage = Some(without_path(e.message(), &mode_path));
            files.push(f);
            None
        }
    };
    let mode = manifest
        .as_ref()
        .and_then(|m| parse_mode(&m.mode))
        .or(recorded)
        .unwrap_or(StorageMode::InMemoryTransactional);
    if mode_path.is_file() && !files.iter().any(|f| f.path == mode_path) {
        let mut f = CheckedFile::new(mode_path.clone(), "mode file");
        f.detail = recorded.map_or_else(String::new, |m| mode_name(m).to_string());
        files.push(f);
    }
    let rocks = dir.join("rocksdb");
    let on_disk_data = mode == StorageMode::OnDiskTransactional && rocks.exists();
    // `snapshots/` and `wal/` may be links (to another disk): one to nothing, or
    // anything but a directory, stops opening.
    for sub in ["snapshots", "wal"] {
        let path = dir.join(sub);
        if let Some(what) = durability::dir::not_a_directory(&path) {
            let mut f = CheckedFile::new(path.clone(), "folder");
            f.damage = Some(format!(
                "{what}: opening fails until it is a directory again (an unmounted disk?)"
            ));
            files.push(f);
        }
    }
    // Where the listing cannot be made, opening stops too: the report ends there.
    let stopped = |files, manifest, notes| Ok(VerifyReport::stopped(manifest, mode, files, notes));
    if files.iter().any(|f| f.kind == "folder") {
        return stopped(files, manifest, notes);
    }
    // `snapshots/` or `wal/` that is no directory: the listing, and opening, stop
    // there (a report, not an error: found by a hostile-user run).
    let folders: Vec<CheckedFile> = [durability::dir::SNAPSHOTS, durability::dir::WAL]
        .iter()
        .filter(|_| !on_disk_data)
        .filter_map(|sub| {
            let path = dir.join(sub);
            durability::dir::not_a_directory(&path).map(|what| {
                let mut f = CheckedFile::new(path.clone(), "entry");
                f.damage = Some(format!("{what}, where the data directory keeps its files"));
                f
            })
        })
        .collect();
    if !folders.is_empty() {
        files.extend(folders);
        return stopped(files, manifest, notes);
    }
    let mut listing = durability::dir::list_files_in_any_order(dir)?;
    // A name of ours on something that is no file (a folder, a link to nothing), or
    // two snapshots out of commit order: the listing, and opening, stop there.
    let refused = listing_damage(&listing, &[]);
    if !refused.is_empty() {
        files.extend(refused);
        return stopped(files, manifest, notes);
    }
    if on_disk_data {
        // In an on-disk data directory, `wal/` holds RocksDB's log: it is RocksDB's
        // to check, not foreign.
        let wal = dir.join("wal");
        listing
            .foreign
            .retain(|p| !(p.starts_with(&wal) && p.extension().is_some_and(|e| e == "log")));
    }

    let total = listing.bytes();
    let mut done = 0u64;
    let mut snaps = Vec::new();
    for s in &listing.snapshots {
        let mut f = CheckedFile::new(s.path.clone(), "snapshot");
        let mut constraints = 0;
        let read = match read_snapshot_counts(&s.path) {
            Ok((summary, schema)) => {
                f.detail = format!(
                    "commit {}, {} vertices, {} edges, {} schema definitions",
                    summary.commit_ts,
                    summary.vertices,
                    summary.edges,
                    schema.len()
                );
                constraints = schema
                    .iter()
                    .filter(|op| matches!(op, SchemaOp::CreateConstraint(_)))
                    .count() as u64;
                Ok((summary.database, summary.commit_ts))
            }
            Err(e) => Err(without_path(e.message(), &s.path)),
        };
        snaps.push(Snap {
            name: s.clone(),
            at: files.len(),
            read,
            constraints,
        });
        files.push(f);
        done += std::fs::metadata(&s.path).map_or(0, |m| m.len());
        progress(done, total);
    }
    let mut segs = Vec::new();
    let count = listing.segments.len();
    for (i, s) in listing.segments.iter().enumerate() {
        let mut f = CheckedFile::new(s.path.clone(), "WAL segment");
        let read = match read_segment(&s.path, i + 1 == count) {
            Ok(SegmentRead::TornHeader) => {
                f.detail =
                    "a header cut short by a crash (no records; opening removes it)".to_string();
                Ok(SegRead::TornHeader)
            }
            Ok(SegmentRead::Read {
                header,
                records,
                schema,
                valid_len,
                file_len,
                ..
            }) => {
                let range = match (records.first(), records.last()) {
                    (Some(a), Some(b)) => format!("commits {}..={}", a.commit_ts, b.commit_ts),
                    _ => "no commits".to_string(),
                };
                f.detail = if valid_len < file_len {
                    format!(
                        "{range}; a torn tail of {} bytes (a crash during a write; opening cuts it)",
                        file_len - valid_len
                    )
                } else {
                    range
                };
                let commits: Vec<u64> = records.iter().map(|r| r.commit_ts).collect();
                let newest = commits
                    .iter()
                    .copied()
                    .chain(schema.iter().map(|r| r.next_ts.saturating_sub(1)))
                    .max();
                Ok(SegRead::Read {
                    database: header.database,
                    header_seq: header.seq,
                    commits,
                    newest,
                })
            }
            Err(e) => Err(without_path(e.message(), &s.path)),
        };
        segs.push(Seg {
            name: s.clone(),
            at: files.len(),
            read,
        });
        files.push(f);
        done += std::fs::metadata(&s.path).map_or(0, |m| m.len());
        progress(done, total);
    }
    for f in &listing.foreign {
        let mut c = CheckedFile::new(f.clone(), "foreign");
        c.detail = "not ours (its name is none of ours); left alone".to_string();
        files.push(c);
    }

    let mut check = Check {
        files,
        snapshot: None,
        strangers: false,
        notes: Vec::new(),
        newest_commit: None,
    };
    // Opening an in-memory mode, or creating an on-disk database from a snapshot,
    // refuses files of two databases.
    let rocks_check = on_disk_data.then(|| engine_ondisk::check_files(dir));
    let recreates = rocks_check
        .as_ref()
        .is_some_and(|c| c.as_ref().is_ok_and(|c| c.recreates_from_snapshot));
    if !on_disk_data || recreates {
        for (path, why) in durability::dir::strangers(&listing) {
            if let Some(at) = check.files.iter().position(|f| f.path == path) {
                check.damage(at, why);
                check.strangers = true;
            }
        }
    }
    if mode != StorageMode::OnDiskTransactional && rocks.exists() {
        let mut c = CheckedFile::new(rocks.clone(), "RocksDB");
        c.damage = Some(format!(
            "an on-disk database's folder in a directory recorded as {}: the in-memory modes refuse to open it",
            mode_name(mode)
        ));
        check.files.push(c);
    }
    if let Some(rocks_check) = rocks_check {
        check.on_disk_data(dir, rocks_check, &snaps, &segs);
    } else {
        match mode {
            StorageMode::InMemoryTransactional => check.transactional(&snaps, &segs),
            StorageMode::InMemoryAnalytical => check.analytical(&snaps, &segs),
            StorageMode::OnDiskTransactional => check.new_on_disk(dir, &snaps, &segs, true),
        }
    }
    // Every snapshot's header is read by the snapshot listing (`snapshots()`, info,
    // backup), so one that does not read fails those even where opening passes over
    // the file. Where the checks above found that opening fails on it (commits only
    // it held), that is its damage, not the listing.
    let mut unlisted = Vec::new();
    for s in &snaps {
        if let Err(e) = durability::snapshot::read_snapshot_header(&s.name.path)
            && check.files[s.at].damage.is_none()
        {
            unlisted.push(s.name.path.clone());
            check.damage(
                s.at,
                format!(
                    "{}; listing the snapshots (info, backup, snapshots()) reads every header, so it fails on this one",
                    without_path(e.message(), &s.name.path)
                ),
            );
        }
    }
    if backup {
        check.against_manifest(dir, manifest.as_ref(), &mut listed, &snaps);
    }
    let snapshot_constraints = snaps
        .iter()
        .find(|s| Some(&s.name.path) == check.snapshot.as_ref())
        .map_or(0, |s| s.constraints);
    notes.append(&mut check.notes);
    Ok(VerifyReport {
        manifest,
        mode,
        files: check.files,
        notes,
        snapshot: check.snapshot,
        snapshot_constraints,
        unlisted,
        newest_commit: check.newest_commit,
    })
}

/// [`verify`] for the newest backup of a chain (`manifest` is its manifest, `files`
/// what was found so far): the parents are followed back to the full backup (a
/// missing one, or one that is not the backup the link was taken after, is damage
/// of the link's manifest); each link's files are checked against its manifest (and
/// a file of ours it does not list is damage); in the WAL mode each link must start
/// where its parent ends (a gap is damage of the link's first segment); then the
/// chain's snapshots and WAL, as a restore puts them together, are checked as one
/// data directory, and the damage found there is reported on the backups' files.
fn verify_chain(
    newest: &Path,
    manifest: Manifest,
    mut files: Vec<CheckedFile>,
    progress: crate::backup::Progress<'_>,
) -> Result<VerifyReport> {
    let mode = parse_mode(&manifest.mode).unwrap_or(StorageMode::InMemoryTransactional);
    let mut chain = vec![(newest.to_path_buf(), manifest.clone())];
    let mut broken = false;
    while let Some((dir, m)) = chain.last() {
        let named = dir.join(MANIFEST_FILE);
        let damage = match crate::backup::parent_of(dir, m) {
            Ok(Some(parent)) if chain.len() < crate::backup::CHAIN_MAX => {
                chain.push(parent);
                continue;
            }
            Ok(None) => break,
            Ok(Some(_)) => CheckedFile::damaged_manifest(
                named,
                "a chain of too many backups (do its parents loop?)".to_string(),
                DamageKind::BrokenChain,
            ),
            Err(e) => {
                // A parent in place whose manifest does not read is damage of that
                // manifest, not of the chain's order: the parent is where the link
                // says. (Read again only here, on the way out.)
                let unreadable = crate::backup::parent_dir(dir, m).and_then(|parent| {
                    read_manifest(&parent)
                        .err()
                        .map(|pe| (parent.join(MANIFEST_FILE), pe))
                });
                match unreadable {
                    Some((path, pe)) => {
                        let why = without_path(pe.message(), &path);
                        CheckedFile::damaged_manifest(path, why, DamageKind::UnreadableManifest)
                    }
                    None => {
                        let why = without_path(e.message(), &named);
                        CheckedFile::damaged_manifest(named, why, DamageKind::BrokenChain)
                    }
                }
            }
        };
        files.push(damage);
        broken = true;
        break;
    }
    chain.reverse();
    let mut notes = vec![if broken {
        format!(
            "the chain of backups that ends with {} is broken at {} (see the damage): the {} backup(s) found are checked against their manifests",
            newest.display(),
            chain[0].0.display(),
            chain.len()
        )
    } else if chain.len() == 1 {
        format!(
            "a backup of RocksDB's files: checked against its manifest, then read as opening reads it (from links in a scratch directory, so nothing is written into {})",
            newest.display()
        )
    } else {
        format!(
            "a chain of {} backups, the full backup {} first: each checked against its manifest, then their files together as a restore puts them",
            chain.len(),
            chain[0].0.display()
        )
    }];
    let mut parent_covered: Option<u64> = None;
    // The newest copy of each WAL segment in the links before.
    let mut earlier: BTreeMap<u64, PathBuf> = BTreeMap::new();
    for (dir, m) in &chain {
        let named = dir.join(MANIFEST_FILE);
        if !files.iter().any(|f| f.path == named) {
            let mut f = CheckedFile::new(named, "manifest");
            f.detail = format!(
                "{} backup of database {}, commits up to {}",
                if m.parent.is_some() {
                    "incremental"
                } else {
                    "full"
                },
                m.database,
                m.covered_commit_ts
            );
            files.push(f);
        }
        let listed: BTreeMap<&str, &ManifestFile> =
            m.files.iter().map(|f| (f.path.as_str(), f)).collect();
        for lf in &m.files {
            if lf.shared {
                continue;
            }
            let path = dir.join(&lf.path);
            let found = file_crc(&path);
            if let Some(why) = match found {
                Ok((size, crc)) if size == lf.size && crc == lf.crc32 => None,
                Ok((size, crc)) => Some(format!(
                    "{size} bytes with CRC-32 {crc:08x}, but the manifest lists {} bytes with {:08x}",
                    lf.size, lf.crc32
                )),
                Err(e) => Some(format!(
                    "listed in the manifest, but {}",
                    without_path(e.message(), &path)
                )),
            } {
                let mut f = CheckedFile::new(path, "listed file");
                f.damage = Some(why);
                files.push(f);
            }
        }
        let listing = match durability::dir::list_files_in_any_order(dir) {
            Ok(l) => l,
            Err(e) => {
                let mut f = CheckedFile::new(dir.to_path_buf(), "backup");
                f.damage = Some(e.message().to_string());
                files.push(f);
                broken = true;
                parent_covered = Some(m.covered_commit_ts);
                continue;
            }
        };
        // What the strict listing refuses, named file by file (an entry that is no
        // file holds no data: moving it out is the way out); the next link is
        // checked against this one's coverage as recorded, so no gap is claimed.
        let refused = listing_damage(&listing, &[]);
        if !refused.is_empty() {
            files.extend(refused);
            broken = true;
            parent_covered = Some(m.covered_commit_ts);
            continue;
        }
        for path in listing
            .snapshots
            .iter()
            .map(|s| &s.path)
            .chain(listing.segments.iter().map(|s| &s.path))
        {
            let rel = path
                .strip_prefix(dir)
                .map(|r| r.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"))
                .unwrap_or_default();
            if !listed.contains_key(rel.as_str()) {
                let mut f = CheckedFile::new(path.clone(), "unlisted file");
                f.damage = Some(
                    "a file of ours that the backup's manifest does not list: a restore would use it".to_string(),
                );
                files.push(f);
            }
        }
        if m.format == durability::manifest::MANIFEST_FORMAT_FILES {
            // RocksDB's files: each one there is listed (unshared), and each shared
            // one is held by an earlier backup of the chain.
            for sub in ["rocksdb", "wal"] {
                for entry in std::fs::read_dir(dir.join(sub))
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let name = entry.file_name().to_string_lossy().to_string();
                    let rel = format!("{sub}/{name}");
                    // RocksDB's info logs (of a tool that opened the backup) are read
                    // by nothing and restored by nothing.
                    if sub == "rocksdb" && name.starts_with("LOG") {
                        continue;
                    }
                    if listed.get(rel.as_str()).is_none_or(|f| f.shared) {
                        let mut f = CheckedFile::new(entry.path(), "unlisted file");
                        f.damage = Some(
                            "a file the backup's manifest does not list as its own: added after it was written".to_string(),
                        );
                        files.push(f);
                    }
                }
            }
            let upto = chain
                .iter()
                .position(|(d, _)| d == dir)
                .map_or(0, |i| i + 1);
            let links: Vec<(PathBuf, Option<Manifest>)> = chain[..upto]
                .iter()
                .map(|(d, m)| (d.clone(), Some(m.clone())))
                .collect();
            if let Err(e) = crate::backup::state_files_of(&links) {
                let named = named_of(dir);
                let mut f = CheckedFile::new(named.clone(), "manifest");
                f.damage = Some(without_path(e.message(), &named));
                files.push(f);
            }
        }
        // A copy of a segment an earlier link holds must continue that copy: another
        // history under the same name would replace the chain's.
        for s in &listing.segments {
            if let Some(before) = earlier.get(&s.seq)
                && !crate::backup::continues(before, &s.path).unwrap_or(false)
            {
                let mut f = CheckedFile::new(s.path.clone(), "WAL segment");
                f.damage = Some(format!(
                    "does not continue the copy {} of the same segment in an earlier backup of the chain: the histories differ (a backup of a database restored from an older backup?)",
                    before.display()
                ));
                files.push(f);
            }
            earlier.insert(s.seq, s.path.clone());
        }
        // The WAL mode: each link starts where its parent ends.
        if mode == StorageMode::InMemoryTransactional
            && let Some(after) = parent_covered
        {
            let first = listing
                .segments
                .first()
                .map(|s| (s, durability::wal::read_segment_header(&s.path)));
            match first {
                Some((s, Ok(h))) if h.first_ts > after + 1 => {
                    let mut f = CheckedFile::new(s.path.clone(), "WAL segment");
                    f.damage = Some(format!(
                        "the link starts at commit {}, but its parent holds commits up to {after}: {} in no backup of the chain",
                        h.first_ts,
                        durability::lost::commits_are(after + 1, h.first_ts - 1)
                    ));
                    files.push(f);
                }
                None if m.covered_commit_ts > after => {
                    let mut f = CheckedFile::new(named_of(dir), "manifest");
                    f.damage = Some(format!(
                        "the link holds commits up to {}, but no WAL segment after its parent's commit {after}",
                        m.covered_commit_ts
                    ));
                    files.push(f);
                }
                _ => {}
            }
        }
        parent_covered = Some(m.covered_commit_ts);
    }
    // RocksDB's files are read through the view only when each is where the
    // manifests say: otherwise opening (and the restore) fails at the damage found.
    if manifest.format == durability::manifest::MANIFEST_FORMAT_FILES
        && files.iter().any(|f| f.damage.is_some())
    {
        broken = true;
    }
    if broken {
        return Ok(VerifyReport::stopped(Some(manifest), mode, files, notes));
    }
    // The chain as one directory: links to its files in a scratch directory.
    let chain: Vec<(PathBuf, Option<Manifest>)> =
        chain.into_iter().map(|(d, m)| (d, Some(m))).collect();
    let view = crate::backup::ChainView::of(&chain, mode)?;
    let scratch = view.path();
    // An in-memory chain with no snapshot in place (every listed one missing) holds
    // nothing a restore could start from: damage, named as the files above are.
    if mode != StorageMode::OnDiskTransactional
        && durability::dir::list_files(scratch).is_ok_and(|l| l.snapshots.is_empty())
        && files.iter().any(|f| f.damage.is_some())
    {
        return Ok(VerifyReport::stopped(Some(manifest), mode, files, notes));
    }
    let merged = verify(scratch, progress)?;
    let back = |p: &Path| view.original(p);
    let shown = |text: &str| view.shown(text, newest);
    // A listed file the chain's opening passes over (an older link's snapshot that
    // a newer one replaces) differs from its manifest as a damaged file the restored
    // directory still opens past: passed over too, so verify, restore and reading
    // the chain agree.
    let passed: Vec<PathBuf> = merged
        .files
        .iter()
        .filter(|f| f.damage.is_none() && f.passed_over.is_some())
        .map(|f| back(&f.path))
        .collect();
    for f in files.iter_mut().filter(|f| f.kind == "listed file") {
        if passed.contains(&f.path)
            && let Some(why) = f.damage.take()
        {
            f.passed_over = Some(format!(
                "{why}; the restore does not need it (see the file's own line)"
            ));
        }
    }
    // An IN_MEMORY_ANALYTICAL link holds a whole snapshot: an older link's
    // snapshot that is gone is passed over when the chain restores whole without it
    // (reading and restoring the chain go by the files in place).
    if mode == StorageMode::InMemoryAnalytical && merged.damaged().next().is_none() {
        for f in files.iter_mut().filter(|f| {
            f.kind == "listed file"
                && !f.path.starts_with(newest)
                && f.path.parent().and_then(Path::file_name) == Some("snapshots".as_ref())
                && !f.path.exists()
        }) {
            if let Some(why) = f.damage.take() {
                f.passed_over = Some(format!(
                    "{why}; the restore does not need it (a newer backup of the chain holds a whole snapshot)"
                ));
            }
        }
    }
    for mut f in merged.files {
        if f.path == scratch.join(MODE_FILE) {
            continue;
        }
        f.path = view.shown_path(&f.path, newest);
        f.detail = shown(&f.detail);
        f.damage = f.damage.map(|d| shown(&d));
        f.passed_over = f.passed_over.map(|d| shown(&d));
        files.push(f);
    }
    notes.extend(
        merged
            .notes
            .into_iter()
            .filter(|n| !n.contains(MANIFEST_FILE))
            .map(|n| n.replace(&scratch.display().to_string(), "the chain")),
    );
    Ok(VerifyReport {
        manifest: Some(manifest),
        mode,
        files,
        notes,
        snapshot: merged.snapshot.as_deref().map(back),
        snapshot_constraints: merged.snapshot_constraints,
        unlisted: merged.unlisted.iter().map(|p| back(p)).collect(),
        newest_commit: merged.newest_commit,
    })
}

fn named_of(dir: &Path) -> PathBuf {
    dir.join(MANIFEST_FILE)
}

/// The checks across files, as each mode's open makes them.
struct Check {
    files: Vec<CheckedFile>,
    snapshot: Option<PathBuf>,
    /// Files of another database were found (opening refuses them first; the
    /// checks across files then leave database ids alone).
    strangers: bool,
    /// Notes from the checks, for the report's.
    notes: Vec<String>,
    /// The newest commit the snapshots and WAL reach together.
    newest_commit: Option<u64>,
}

impl Check {
    fn damage(&mut self, at: usize, why: String) {
        self.files[at].damage.get_or_insert(why);
    }

    /// Records damage of `kind` (unless the file has damage already).
    fn damage_as(&mut self, at: usize, kind: DamageKind, why: String) {
        let f = &mut self.files[at];
        if f.damage.is_none() {
            f.damage = Some(why);
            f.damage_kind = kind;
        }
    }

    fn pass_over(&mut self, at: usize, why: String) {
        if self.files[at].damage.is_none() {
            self.files[at].passed_over.get_or_insert(why);
        }
    }

    /// Snapshots opening never reads (older than the one it loads, or all of them
    /// in an on-disk database): their damage is passed over.
    fn unread(&mut self, snaps: &[Snap], why: &str) {
        for s in snaps {
            if let Err(e) = &s.read {
                self.pass_over(s.at, format!("{e}; {why}"));
            }
        }
    }

    /// IN_MEMORY_TRANSACTIONAL: the newest snapshot that reads, newer damaged ones
    /// passed over only where the WAL holds their commits, then the WAL after it.
    fn transactional(&mut self, snaps: &[Snap], segs: &[Seg]) {
        let loaded = snaps.iter().rposition(|s| s.read.is_ok());
        let failed: Vec<&Snap> = match loaded {
            Some(i) => snaps[i + 1..].iter().collect(),
            None => snaps.iter().collect(),
        };
        let (snap_ts, mut database) = match loaded.map(|i| (&snaps[i], &snaps[i].read)) {
            Some((s, Ok((db, ts)))) => {
                self.snapshot = Some(s.name.path.clone());
                (*ts, Some((*db, s.at)))
            }
            _ => (0, None),
        };
        if let Some(i) = loaded {
            self.unread(
                &snaps[..i],
                &format!(
                    "opening does not read it (it loads the newer {})",
                    snaps[i].name.path.display()
                ),
            );
        }
        let mut next_ts = snap_ts + 1;
        let mut replayed = 0u64;
        let mut prev: Option<u64> = None;
        let mut stopped = false;
        let mut read_one = false;
        for s in segs {
            if let Some(p) = prev
                && s.name.seq != p + 1
            {
                self.damage(
                    s.at,
                    format!(
                        "WAL segment {} is missing (found {} after {p}): opening refuses a gap in the log",
                        p + 1,
                        s.name.seq
                    ),
                );
                stopped = true;
                break;
            }
            prev = Some(s.name.seq);
            let (seg_db, header_seq, commits) = match &s.read {
                Err(e) => {
                    self.damage(s.at, e.clone());
                    stopped = true;
                    break;
                }
                Ok(SegRead::TornHeader) => continue,
                Ok(SegRead::Read {
                    database,
                    header_seq,
                    commits,
                    ..
                }) => (*database, *header_seq, commits),
            };
            if header_seq != s.name.seq {
                self.damage(
                    s.at,
                    format!(
                        "its header says segment {header_seq}: a copy of another segment under this name"
                    ),
                );
                stopped = true;
                break;
            }
            match database {
                Some((db, _)) if db != seg_db && self.strangers => {
                    // Reported already, on the stranger.
                    stopped = true;
                    break;
                }
                Some((db, from)) if db != seg_db => {
                    let other = self.files[from].path.clone();
                    // The loaded snapshot set the id: when the log disagrees from
                    // its first segment on, the snapshot is the stranger.
                    let snapshot_is_odd = self.files[from].kind == "snapshot" && !read_one;
                    if snapshot_is_odd {
                        self.damage(
                            from,
                            format!(
                                "belongs to database {db}, but the WAL (from {}) belongs to {seg_db}: a snapshot of another database; {}",
                                s.name.path.display(),
                                durability::lost::MOVE_OUT_OF_SNAPSHOTS
                            ),
                        );
                    } else {
                        self.damage(
                            s.at,
                            format!(
                                "belongs to database {seg_db}, not {db} like {}",
                                other.display()
                            ),
                        );
                    }
                    stopped = true;
                    break;
                }
                Some(_) => {}
                None => database = Some((seg_db, s.at)),
            }
            read_one = true;
            for &ts in commits {
                if ts <= snap_ts {
                    continue;
                }
                if ts != next_ts {
                    if !self.unrecoverable(&failed, next_ts - 1) {
                        self.damage(
                            s.at,
                            format!(
                                "commit {ts} follows commit {}; {} missing",
                                next_ts - 1,
                                durability::lost::commits_are(next_ts, ts - 1)
                            ),
                        );
                    }
                    stopped = true;
                    break;
                }
                next_ts += 1;
                replayed += 1;
            }
            if stopped {
                break;
            }
        }
        if stopped {
            // A snapshot that does not read is damage too: the WAL opening would
            // need to pass over it stopped above. (Found by a hostile-user run: a
            // cut snapshot was listed as sound next to a damaged WAL.)
            for f in &failed {
                let why = f.read.as_ref().err().cloned().unwrap_or_default();
                self.damage(
                    f.at,
                    format!("{why}; opening cannot pass over it: the WAL it would need instead is damaged too (see the WAL's damage)"),
                );
            }
            return;
        }
        let last_ts = next_ts - 1;
        self.newest_commit = Some(last_ts);
        if self.unrecoverable(&failed, last_ts) {
            return;
        }
        if snap_ts == 0
            && replayed == 0
            && let Some(f) = failed.first()
        {
            let why = f.read.as_ref().err().cloned().unwrap_or_default();
            self.damage(
                f.at,
                format!("{why} (no older snapshot and no WAL to recover from)"),
            );
            return;
        }
        let instead = if snap_ts > 0 {
            "an older snapshot and the WAL hold"
        } else {
            "the WAL holds"
        };
        for f in &failed {
            let why = f.read.as_ref().err().cloned().unwrap_or_default();
            self.pass_over(
                f.at,
                format!("{why}; opening passes over it: {instead} every commit it held"),
            );
        }
    }

    /// Marks every damaged snapshot holding commits past `last_ts` (the last one the
    /// older snapshot and the WAL hold) as damage opening refuses; whether there was
    /// one. Each is named: moving only one of them aside would not let the directory
    /// open.
    fn unrecoverable(&mut self, failed: &[&Snap], last_ts: u64) -> bool {
        let mut any = false;
        for f in failed.iter().filter(|f| f.name.commit_ts > last_ts) {
            let why = f.read.as_ref().err().cloned().unwrap_or_default();
            // Commits lost with an older state to open instead; with none (nothing
            // older reaches even commit 1), restoring is the only way out.
            let held = durability::snapshot::held_commit(&f.name.path);
            let kind = if held.is_some_and(|h| h != f.name.commit_ts && h <= last_ts) {
                DamageKind::Misnamed
            } else if last_ts > 0 {
                DamageKind::CommitsLost
            } else {
                DamageKind::Other
            };
            self.damage_as(
                f.at,
                kind,
                durability::lost::beyond_the_wal(&why, last_ts, f.name.commit_ts, &f.name.path),
            );
            any = true;
        }
        any
    }

    /// IN_MEMORY_ANALYTICAL: the newest snapshot that reads; a newer damaged one
    /// holding later commits makes opening fail (no WAL holds them), one of the same
    /// commit is passed over; a log left by the transactional mode must read and hold
    /// nothing after it.
    fn analytical(&mut self, snaps: &[Snap], segs: &[Seg]) {
        let loaded = snaps.iter().rposition(|s| s.read.is_ok());
        let ts = match loaded {
            Some(i) => {
                self.snapshot = Some(snaps[i].name.path.clone());
                let older = &snaps[i];
                self.unread(
                    &snaps[..i],
                    &format!(
                        "opening does not read it (it loads the newer {})",
                        older.name.path.display()
                    ),
                );
                let ts = older.read.as_ref().map_or(0, |(_, ts)| *ts);
                if older.constraints > 0 {
                    self.damage(
                        older.at,
                        format!(
                            "holds {} constraint(s), which IN_MEMORY_ANALYTICAL mode cannot hold, so opening refuses it: restore or open it in IN_MEMORY_TRANSACTIONAL mode, then `quiver mode set <dir> IN_MEMORY_ANALYTICAL --drop-constraints`",
                            older.constraints
                        ),
                    );
                }
                for f in &snaps[i + 1..] {
                    let why = f.read.as_ref().err().cloned().unwrap_or_default();
                    if f.name.commit_ts > ts {
                        self.damage_as(
                            f.at,
                            DamageKind::CommitsLost,
                            format!(
                                "{}; opening refuses: {}",
                                durability::lost::beyond_the_older_snapshot(
                                    &why,
                                    ts,
                                    f.name.commit_ts,
                                    &f.name.path,
                                    Some(&older.name.path)
                                ),
                                durability::lost::move_out_to_open_older(
                                    f.name.path.parent().unwrap_or(Path::new("snapshots"))
                                )
                            ),
                        );
                    } else {
                        self.pass_over(
                            f.at,
                            format!(
                                "{why}; opening passes over it: the older {} (commit {ts}) holds every commit it held",
                                older.name.path.display()
                            ),
                        );
                    }
                }
                ts
            }
            None => {
                for f in snaps {
                    let why = f.read.as_ref().err().cloned().unwrap_or_default();
                    self.damage(f.at, format!("{why}; no snapshot verifies"));
                }
                0
            }
        };
        for s in segs {
            match &s.read {
                Err(e) => self.damage(s.at, e.clone()),
                Ok(SegRead::Read {
                    newest: Some(newest),
                    ..
                }) if *newest > ts => self.damage(
                    s.at,
                    format!(
                        "holds commits up to timestamp {newest}, after the newest snapshot ({ts}); IN_MEMORY_ANALYTICAL mode has no log to replay, so opening refuses it: open the directory in IN_MEMORY_TRANSACTIONAL mode and write a snapshot first"
                    ),
                ),
                Ok(_) => {}
            }
        }
    }

    /// ON_DISK_TRANSACTIONAL without `rocksdb/`: opening creates the database from
    /// the newest snapshot (no fallback) and refuses an in-memory mode's WAL, and a
    /// RocksDB log without its database (`logs_left`: unless it removes them first).
    fn new_on_disk(&mut self, dir: &Path, snaps: &[Snap], segs: &[Seg], logs_left: bool) {
        if let Some(s) = segs.first() {
            self.damage(
                s.at,
                "a WAL segment of an in-memory database: the on-disk backend cannot replay it, so opening refuses it (restore the snapshot alone, or restore into IN_MEMORY_TRANSACTIONAL mode)".to_string(),
            );
        }
        if logs_left {
            self.rocksdb_logs(dir);
        }
        if let Some((newest, older)) = snaps.split_last() {
            self.snapshot = Some(newest.name.path.clone());
            if let Err(e) = &newest.read {
                self.damage(
                    newest.at,
                    format!("{e}; a new on-disk database is created from the newest snapshot"),
                );
            }
            self.unread(
                older,
                &format!(
                    "opening does not read it (it creates the database from the newest, {})",
                    newest.name.path.display()
                ),
            );
        }
    }

    /// RocksDB logs in `wal/` without a database: a new on-disk database refuses to
    /// replay them.
    fn rocksdb_logs(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir.join("wal")) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "log") {
                continue;
            }
            let why =
                "a RocksDB log without a database: opening refuses to replay it into a new one"
                    .to_string();
            match self.files.iter().position(|f| f.path == path) {
                Some(at) => {
                    self.files[at].kind = "RocksDB log";
                    self.damage(at, why);
                }
                None => {
                    let mut c = CheckedFile::new(path, "RocksDB log");
                    c.damage = Some(why);
                    self.files.push(c);
                }
            }
        }
    }

    /// ON_DISK_TRANSACTIONAL with `rocksdb/`: RocksDB's files and our metadata;
    /// snapshots are exports opening does not read.
    fn on_disk_data(
        &mut self,
        dir: &Path,
        rocks_check: Result<engine_ondisk::FileCheck>,
        snaps: &[Snap],
        segs: &[Seg],
    ) {
        match rocks_check {
            Ok(check) => {
                for f in check.parts {
                    let mut c = CheckedFile::new(f.path, f.kind);
                    c.detail = f.detail;
                    c.damage = f.damage;
                    self.files.push(c);
                }
                self.notes.extend(check.notes);
                if check.recreates_from_snapshot {
                    self.new_on_disk(dir, snaps, segs, !check.removes_rocksdb_first);
                    return;
                }
            }
            Err(e) => {
                let mut c = CheckedFile::new(dir.join("rocksdb"), "RocksDB");
                c.damage = Some(e.message().to_string());
                self.files.push(c);
            }
        }
        self.unread(
            snaps,
            "an export: opening reads the data from RocksDB, not from it",
        );
        for s in segs {
            match &s.read {
                Err(e) => self.pass_over(
                    s.at,
                    format!("{e}; an in-memory mode's WAL segment, which the on-disk database does not read"),
                ),
                Ok(_) => {
                    self.files[s.at].detail =
                        "an in-memory mode's WAL segment, which the on-disk database does not read"
                            .to_string()
                }
            }
        }
    }

    /// A backup: every listed file present with its size and checksum, every file
    /// of ours listed, all of one database; any damage fails the restore.
    fn against_manifest(
        &mut self,
        dir: &Path,
        manifest: Option<&Manifest>,
        listed: &mut BTreeMap<String, ManifestFile>,
        snaps: &[Snap],
    ) {
        let rel = |p: &Path| {
            p.strip_prefix(dir)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default()
        };
        for f in &mut self.files {
            if !matches!(f.kind, "snapshot" | "WAL segment" | "mode file") {
                continue;
            }
            // A backup is restored whole: damage in any of its files fails it.
            if let Some(why) = f.passed_over.take() {
                f.damage.get_or_insert(why);
            }
            let Some(m) = manifest else { continue };
            let Some(entry) = listed.remove(&rel(&f.path)) else {
                f.damage.get_or_insert(format!(
                    "not listed in the manifest: added to the backup after it was written (database {})",
                    m.database
                ));
                continue;
            };
            let found = match file_crc(&f.path) {
                Ok((size, _)) if size != entry.size => {
                    Some(format!("{size} bytes, the manifest says {}", entry.size))
                }
                Ok((_, crc)) if crc != entry.crc32 => {
                    Some("its CRC-32 differs from the manifest's".to_string())
                }
                Ok(_) => None,
                Err(e) => Some(e.message().to_string()),
            };
            if let Some(why) = found {
                f.damage.get_or_insert(why);
            }
        }
        // A backup holds snapshots, WAL and the mode file: a RocksDB folder was added
        // later, and makes the restore take it for a live on-disk database.
        let rocks = dir.join("rocksdb");
        if rocks.exists() {
            let mut c = CheckedFile::new(rocks, "RocksDB");
            c.damage = Some(
                "not part of a backup (a backup holds snapshots, WAL and the mode file): added after it was written".to_string(),
            );
            self.files.push(c);
        }
        if let Some(m) = manifest {
            for s in snaps {
                if let Ok((db, _)) = &s.read
                    && db.to_string() != m.database
                {
                    self.damage(
                        s.at,
                        format!(
                            "belongs to database {db}, not {} like the manifest",
                            m.database
                        ),
                    );
                }
            }
        }
        for (path, _) in std::mem::take(listed) {
            let mut c = CheckedFile::new(dir.join(&path), "missing");
            c.damage = Some("listed in the manifest but missing".to_string());
            self.files.push(c);
        }
    }
}
