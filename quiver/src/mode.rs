//! The storage mode persisted in a data directory (`quiver.mode`), so a reopen gets
//! the mode the data was written in.

use std::path::{Path, PathBuf};

use engine_api::{Error, ErrorKind, Result, StorageMode};

/// The file, directly in the data directory.
pub const MODE_FILE: &str = "quiver.mode";

/// The name the file and messages use for a mode (the reference database's names).
pub fn mode_name(mode: StorageMode) -> &'static str {
    match mode {
        StorageMode::InMemoryTransactional => "IN_MEMORY_TRANSACTIONAL",
        StorageMode::InMemoryAnalytical => "IN_MEMORY_ANALYTICAL",
        StorageMode::OnDiskTransactional => "ON_DISK_TRANSACTIONAL",
    }
}

/// The mode of a name written by [`mode_name`].
pub fn parse_mode(name: &str) -> Option<StorageMode> {
    [
        StorageMode::InMemoryTransactional,
        StorageMode::InMemoryAnalytical,
        StorageMode::OnDiskTransactional,
    ]
    .into_iter()
    .find(|m| mode_name(*m).eq_ignore_ascii_case(name.trim()))
}

fn path(dir: &Path) -> PathBuf {
    dir.join(MODE_FILE)
}

/// The mode persisted in `dir`: from its mode file, or, for a directory written
/// without the facade, `rocksdb/` means on disk. `None` otherwise: a new directory, or
/// one holding only snapshots (portable: a restore target for any mode) or an
/// in-memory WAL (each in-memory mode checks it on open).
///
/// Errors: `Corrupt` for a mode file that does not name a mode (naming the file).
pub fn persisted_mode(dir: &Path) -> Result<Option<StorageMode>> {
    let file = path(dir);
    match std::fs::read_to_string(&file) {
        Ok(text) => parse_mode(&text).map(Some).ok_or_else(|| {
            Error::corrupt(format!(
                "{}: {:?} is not a storage mode (expected one of IN_MEMORY_TRANSACTIONAL, IN_MEMORY_ANALYTICAL, ON_DISK_TRANSACTIONAL)",
                file.display(),
                text.trim()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(dir
                .join("rocksdb")
                .exists()
                .then_some(StorageMode::OnDiskTransactional))
        }
        Err(e) => Err(Error::new(
            ErrorKind::Io,
            format!("cannot read {}: {e}", file.display()),
        )
        .with_source(e)),
    }
}

/// Persists `mode` in `dir`: written to a temporary name, synced, renamed, and the
/// directory synced, so a crash leaves the old mode or the new one, never half a file.
pub fn persist_mode(dir: &Path, mode: StorageMode) -> Result<()> {
    durability::dir::write_file_atomically(
        dir,
        MODE_FILE,
        format!("{}\n", mode_name(mode)).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_the_file_and_garbage_is_corrupt() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        assert_eq!(persisted_mode(dir.path()).expect("reads"), None);
        persist_mode(dir.path(), StorageMode::InMemoryAnalytical).expect("writes");
        assert_eq!(
            persisted_mode(dir.path()).expect("reads"),
            Some(StorageMode::InMemoryAnalytical)
        );
        std::fs::write(dir.path().join(MODE_FILE), "FAST_MODE").expect("writes");
        let err = persisted_mode(dir.path()).expect_err("not a mode");
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(err.message().contains(MODE_FILE), "{err}");
    }

    #[test]
    fn a_directory_without_a_mode_file_is_known_by_its_layout() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("rocksdb")).expect("mkdir");
        assert_eq!(
            persisted_mode(dir.path()).expect("reads"),
            Some(StorageMode::OnDiskTransactional)
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("snapshots")).expect("mkdir");
        std::fs::write(dir.path().join("snapshots/x.snapshot"), "").expect("writes");
        assert_eq!(
            persisted_mode(dir.path()).expect("reads"),
            None,
            "snapshots restore into any mode"
        );
    }
}
