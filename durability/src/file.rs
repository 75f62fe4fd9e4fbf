//! The small file layer the WAL and the snapshot writer write through, so tests can
//! inject failures.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// A file the WAL appends to, or a snapshot is written into.
pub trait DurableFile: Send {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()>;
    /// Overwrites bytes already written, at `offset` (a snapshot's header, whose
    /// commit timestamp is known at the end); appends continue at the end.
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> std::io::Result<()>;
    /// Makes everything written so far durable (fdatasync).
    fn sync_data(&mut self) -> std::io::Result<()>;
    /// Asks the system to start writing the `len` bytes at `offset` to the disk
    /// now, without waiting, so that the next [`DurableFile::sync_data`] has less
    /// left to wait for (a long file written in one go). A hint: it changes no
    /// contents and makes nothing durable. Default: nothing.
    fn start_writeback(&mut self, offset: u64, len: u64) {
        let _ = (offset, len);
    }
}

/// Creates WAL and snapshot files.
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

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        let end = self.stream_position()?;
        self.seek(SeekFrom::Start(offset))?;
        Write::write_all(self, buf)?;
        self.seek(SeekFrom::Start(end))?;
        Ok(())
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        File::sync_data(self)
    }

    /// On Linux, `posix_fadvise(DONTNEED)` on the range: the kernel queues its
    /// dirty pages for writeback at once (and drops pages already clean, which a
    /// file written once and read later from the start does not miss). Elsewhere,
    /// nothing. A failure only means the final sync waits for more: ignored.
    fn start_writeback(&mut self, offset: u64, len: u64) {
        #[cfg(target_os = "linux")]
        if let Some(len) = std::num::NonZeroU64::new(len) {
            let _ = rustix::fs::fadvise(&*self, offset, Some(len), rustix::fs::Advice::DontNeed);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (offset, len);
    }
}

/// A [`DurableFile`] as a [`Write`], for buffering.
pub(crate) struct Writer(pub(crate) Box<dyn DurableFile>);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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

/// A [`FileLayer`] for fault-injection tests: once armed, every operation on a file
/// whose name contains a given text fails, from the `n`-th such operation on (create,
/// write, overwrite, sync each count), with the OS error code given (for example
/// `libc`'s EIO, 5, or ENOSPC, 28), until disarmed. Other files pass through.
#[derive(Debug, Clone)]
pub struct FailingFiles {
    matching: String,
    state: std::sync::Arc<FailState>,
}

#[derive(Debug, Default)]
struct FailState {
    /// Matching operations seen.
    seen: std::sync::atomic::AtomicU64,
    /// Fail from this operation number on (`u64::MAX`: never).
    from: std::sync::atomic::AtomicU64,
    code: std::sync::atomic::AtomicI32,
}

impl FailState {
    fn check(&self) -> std::io::Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        let n = self.seen.fetch_add(1, SeqCst);
        if n >= self.from.load(SeqCst) {
            return Err(std::io::Error::from_raw_os_error(self.code.load(SeqCst)));
        }
        Ok(())
    }
}

impl FailingFiles {
    /// A layer for files whose names contain `matching`, disarmed.
    pub fn new(matching: &str) -> Self {
        let state = FailState::default();
        state
            .from
            .store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
        FailingFiles {
            matching: matching.to_string(),
            state: std::sync::Arc::new(state),
        }
    }

    /// From the `after`-th matching operation counted from now (0: the next one) on,
    /// every matching operation fails with OS error `code`.
    pub fn arm(&self, after: u64, code: i32) {
        use std::sync::atomic::Ordering::SeqCst;
        self.state.code.store(code, SeqCst);
        let now = self.state.seen.load(SeqCst);
        self.state.from.store(now.saturating_add(after), SeqCst);
    }

    /// Lets every operation through again.
    pub fn disarm(&self) {
        self.state
            .from
            .store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
    }

    /// Matching operations seen so far (failed ones included).
    pub fn operations(&self) -> u64 {
        self.state.seen.load(std::sync::atomic::Ordering::SeqCst)
    }
}

struct FailingFile {
    file: File,
    state: std::sync::Arc<FailState>,
}

impl DurableFile for FailingFile {
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.state.check()?;
        Write::write_all(&mut self.file, buf)
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        self.state.check()?;
        DurableFile::write_at(&mut self.file, offset, buf)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        self.state.check()?;
        self.file.sync_data()
    }
}

impl FileLayer for FailingFiles {
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn DurableFile>> {
        let matches = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains(&self.matching));
        if !matches {
            return StdFiles.create(path);
        }
        self.state.check()?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(FailingFile {
            file,
            state: self.state.clone(),
        }))
    }
}
