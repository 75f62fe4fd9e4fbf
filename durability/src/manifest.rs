//! The backup manifest: what a backup holds, every file with its size and CRC-32, in
//! a JSON file that carries a CRC-32 of its own contents.
//!
//! ```json
//! { "manifest": { "format": 1, "database": "…", "mode": "IN_MEMORY_TRANSACTIONAL",
//!                 "snapshot_commit_ts": 7, "covered_commit_ts": 9,
//!                 "created_unix_ms": 1764547200000,
//!                 "files": [ { "path": "snapshots/…", "size": 4096, "crc32": 123 } ] },
//!   "crc32": 456 }
//! ```
//!
//! The outer CRC-32 is of the compact JSON encoding of `manifest`, so a damaged byte
//! anywhere in it is found even where the JSON still parses.
//!
//! An incremental backup's manifest (format 2) adds `"parent": { "path": "../monday",
//! "manifest_crc32": 456, "covered_commit_ts": 9 }`: the backup it continues (where
//! it was, relative to this one; the checksum of its manifest; the newest commit it
//! holds). Following the parents from the newest backup to one without a parent
//! gives the chain. A full backup's manifest stays format 1.
//!
//! A backup of an ON_DISK_TRANSACTIONAL database's files (format 3) lists RocksDB's
//! files (`rocksdb/…`, `wal/…`): every file the state needs, in each backup of a
//! chain. A file an earlier backup of the chain already holds (same path, size and
//! CRC-32: SST files never change once written) is listed with `"shared": true` and
//! not copied again; a reader finds it in the nearest earlier backup that lists it
//! unshared.

use engine_api::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// The manifest's file name, directly in the backup directory.
pub const MANIFEST_FILE: &str = "quiver-backup.json";
/// The manifest format of an incremental backup of an in-memory mode.
pub const MANIFEST_FORMAT: u32 = 2;
/// The manifest format of a backup of RocksDB's files (ON_DISK_TRANSACTIONAL, full
/// or incremental): files may be `shared`. The newest this build reads.
pub const MANIFEST_FORMAT_FILES: u32 = 3;
/// The manifest format of a full backup (no parent).
pub const MANIFEST_FORMAT_FULL: u32 = 1;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format version.
    pub format: u32,
    /// The database's id.
    pub database: String,
    /// The storage mode it was backed up from.
    pub mode: String,
    /// The commit timestamp of the snapshot's state.
    pub snapshot_commit_ts: u64,
    /// The newest commit the backup holds (the snapshot's, or a later one in the
    /// WAL segments copied with it).
    pub covered_commit_ts: u64,
    /// When the backup was written, in milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// Every file, by path relative to the backup directory.
    pub files: Vec<ManifestFile>,
    /// For an incremental backup: the backup it continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
}

/// The backup an incremental backup continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    /// Where the parent backup was when this one was taken: relative to this
    /// backup's directory (`/`-separated) where both are on one tree, else absolute.
    pub path: String,
    /// The checksum of the parent's manifest ([`Manifest::checksum`]): a parent
    /// replaced by another backup is found.
    pub manifest_crc32: u32,
    /// The newest commit the parent holds: this backup's WAL continues right after.
    pub covered_commit_ts: u64,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to the backup directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC-32 of the contents.
    pub crc32: u32,
    /// Held by an earlier backup of the chain (the nearest that lists it unshared),
    /// not copied into this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
}

/// The manifest file: the manifest and a CRC-32 of its JSON form, so a damaged byte
/// anywhere in it is found even where the JSON still parses.
#[derive(Serialize, Deserialize)]
struct ManifestFileForm {
    manifest: Manifest,
    crc32: u32,
}

impl Manifest {
    /// The manifest file's bytes (pretty JSON with the checksum).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let form = ManifestFileForm {
            crc32: self.crc()?,
            manifest: self.clone(),
        };
        serde_json::to_vec_pretty(&form)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot encode the manifest: {e}")))
    }

    /// Parses and checks a manifest file's bytes: JSON of the right shape, the
    /// checksum, the format version. `what` names the file in errors, which are
    /// `Corrupt`.
    pub fn decode(bytes: &[u8], what: &str) -> Result<Manifest> {
        let form: ManifestFileForm = serde_json::from_slice(bytes)
            .map_err(|e| Error::corrupt(format!("{what}: not a backup manifest: {e}")))?;
        if form.manifest.crc()? != form.crc32 {
            return Err(Error::corrupt(format!(
                "{what}: the manifest's checksum does not match its contents"
            )));
        }
        let format = form.manifest.format;
        if !(MANIFEST_FORMAT_FULL..=MANIFEST_FORMAT_FILES).contains(&format)
            || (format == MANIFEST_FORMAT_FULL && form.manifest.parent.is_some())
        {
            return Err(Error::corrupt(format!(
                "{what}: manifest format {format}{} (this build reads {MANIFEST_FORMAT_FULL} to {MANIFEST_FORMAT_FILES})",
                if form.manifest.parent.is_some() {
                    " with a parent"
                } else {
                    ""
                }
            )));
        }
        Ok(form.manifest)
    }

    /// The manifest's checksum, as its file records it (an incremental backup names
    /// its parent by it).
    pub fn checksum(&self) -> Result<u32> {
        self.crc()
    }

    fn crc(&self) -> Result<u32> {
        let bytes = serde_json::to_vec(self)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot encode the manifest: {e}")))?;
        Ok(crc32fast::hash(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT_FULL,
            database: "d".into(),
            mode: "IN_MEMORY_TRANSACTIONAL".into(),
            snapshot_commit_ts: 7,
            covered_commit_ts: 9,
            created_unix_ms: 1,
            files: vec![ManifestFile {
                path: "snapshots/a".into(),
                size: 3,
                crc32: 4,
                shared: false,
            }],
            parent: None,
        }
    }

    #[test]
    fn a_manifest_round_trips_and_a_changed_value_fails_its_checksum() -> Result<()> {
        let bytes = sample().encode()?;
        assert_eq!(Manifest::decode(&bytes, "m")?, sample());
        let text = String::from_utf8(bytes).expect("JSON is UTF-8");
        let changed = text.replace("\"size\": 3", "\"size\": 5");
        assert_ne!(changed, text);
        let e = Manifest::decode(changed.as_bytes(), "m").expect_err("a changed size");
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(e.message().contains("checksum"), "{e}");
        Ok(())
    }

    #[test]
    fn another_format_version_is_refused() -> Result<()> {
        let mut m = sample();
        m.format = 4;
        let e = Manifest::decode(&m.encode()?, "m").expect_err("format 4");
        assert!(e.message().contains("manifest format 4"), "{e}");
        // A parent in a format-1 manifest is no manifest this build wrote.
        let mut m = sample();
        m.parent = Some(ParentLink {
            path: "../full".into(),
            manifest_crc32: 1,
            covered_commit_ts: 9,
        });
        let e = Manifest::decode(&m.encode()?, "m").expect_err("a parent in format 1");
        assert!(e.message().contains("with a parent"), "{e}");
        m.format = MANIFEST_FORMAT;
        assert_eq!(Manifest::decode(&m.encode()?, "m")?, m);
        Ok(())
    }

    /// A full backup's manifest is written as before (format 1, no parent key), so
    /// its checksum is the one an earlier build computed.
    #[test]
    fn a_full_manifest_has_no_parent_key() -> Result<()> {
        let text = String::from_utf8(sample().encode()?).expect("UTF-8");
        assert!(!text.contains("parent"), "{text}");
        Ok(())
    }
}
