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

use engine_api::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// The manifest's file name, directly in the backup directory.
pub const MANIFEST_FILE: &str = "quiver-backup.json";
/// The manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

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
        if form.manifest.format != MANIFEST_FORMAT {
            return Err(Error::corrupt(format!(
                "{what}: manifest format {} (this build reads {MANIFEST_FORMAT})",
                form.manifest.format
            )));
        }
        Ok(form.manifest)
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
            format: MANIFEST_FORMAT,
            database: "d".into(),
            mode: "IN_MEMORY_TRANSACTIONAL".into(),
            snapshot_commit_ts: 7,
            covered_commit_ts: 9,
            created_unix_ms: 1,
            files: vec![ManifestFile {
                path: "snapshots/a".into(),
                size: 3,
                crc32: 4,
            }],
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
        m.format = 2;
        let e = Manifest::decode(&m.encode()?, "m").expect_err("format 2");
        assert!(e.message().contains("manifest format 2"), "{e}");
        Ok(())
    }
}
