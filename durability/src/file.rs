//! The small file layer the WAL writes through, so tests can inject failures.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// A file the WAL appends to.
pub trait DurableFile: Send {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()>;
    /// Makes everything written so far durable (fdatasync).
    fn sync_data(&mut self) -> std::io::Result<()>;
}

/// Creates WAL files.
pub trait FileLayer: Send + Sync + std::fmt::Debug {
    /// Creates a new, empty file at `path` (failing if it exists).
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn DurableFile>>;
}

/// The operating system's files.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdFiles;

impl DurableFile for File {
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        Write::write_all(self, buf)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        File::sync_data(self)
    }
}

impl FileLayer for StdFiles {
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn DurableFile>> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(f))
    }
}
