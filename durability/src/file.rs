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

    /// Creates a new, empty file at `path` that is written once, from start to end,
    /// in large pieces, and read much later (a snapshot). Default: [`FileLayer::create`].
    fn create_bulk(&self, path: &Path) -> std::io::Result<Box<dyn DurableFile>> {
        self.create(path)
    }
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

    /// On Linux, a [`DirectFile`]: written around the page cache where the file
    /// system allows it.
    #[cfg(target_os = "linux")]
    fn create_bulk(&self, path: &Path) -> std::io::Result<Box<dyn DurableFile>> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(DirectFile::new(f)))
    }
}

/// A file written once from start to end with direct I/O (`O_DIRECT`): the bytes go
/// from an aligned buffer of this process to the disk, not through the page cache.
/// Written through the cache, a snapshot of 100 MB costs the writing thread a copy
/// and the file system's bookkeeping for every page (a third of a snapshot's CPU
/// time in the profile), and fills the cache with pages no one reads until a
/// recovery.
///
/// Full pieces of [`DirectFile::PIECE`] bytes are written as they fill. The last,
/// partial piece, and any overwrite (a snapshot's header), are written through the
/// cache after direct I/O is switched off; `sync_data` then makes the whole file
/// durable as for any file. A file system that refuses direct I/O (switching it
/// on, or a write) gets the same bytes through the cache instead.
#[cfg(target_os = "linux")]
pub struct DirectFile {
    file: File,
    /// `PIECE + ALIGN` bytes, the piece starting at `start` (aligned).
    buf: Vec<u8>,
    start: usize,
    /// Bytes in the piece.
    len: usize,
    /// Bytes of the file written (a multiple of `ALIGN` while `direct`).
    written: u64,
    direct: bool,
}

#[cfg(target_os = "linux")]
impl std::fmt::Debug for DirectFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectFile")
            .field("written", &self.written)
            .field("pending", &self.len)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

#[cfg(target_os = "linux")]
impl DirectFile {
    /// The size of one direct write: large enough that the disk, not the call, sets
    /// the pace (1 MiB).
    pub const PIECE: usize = 1 << 20;
    /// The alignment direct I/O asks of buffers, offsets and lengths (4 KiB covers
    /// the logical block size of common disks).
    const ALIGN: usize = 4096;

    /// Writes `file` (new and empty) directly, if its file system allows.
    pub fn new(file: File) -> Self {
        let direct = rustix::fs::fcntl_getfl(&file)
            .and_then(|f| rustix::fs::fcntl_setfl(&file, f | rustix::fs::OFlags::DIRECT))
            .is_ok();
        let buf = vec![0u8; Self::PIECE + Self::ALIGN];
        let start = buf.as_ptr().align_offset(Self::ALIGN);
        DirectFile {
            file,
            buf,
            start,
            len: 0,
            written: 0,
            direct,
        }
    }

    /// A file whose buffer is one byte off its alignment: the first direct write is
    /// refused with `EINVAL`, as a file system that refuses direct I/O only when
    /// written would (the way back to the cache, tested).
    #[cfg(test)]
    fn misaligned(file: File) -> Self {
        let mut f = Self::new(file);
        f.start += 1;
        f
    }

    /// Whether writes still go around the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Writes the full piece at the end of the file.
    fn write_piece(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let piece = self.start..self.start + self.len;
        if self.direct {
            match self
                .file
                .write_all_at(&self.buf[piece.clone()], self.written)
            {
                Ok(()) => {
                    self.written += self.len as u64;
                    self.len = 0;
                    return Ok(());
                }
                // Direct I/O refused by this file system after all: the same bytes
                // through the cache (a failed direct write changed nothing the next
                // write does not cover).
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
                    self.leave_direct()?;
                }
                Err(e) => return Err(e),
            }
        }
        self.file.write_all_at(&self.buf[piece], self.written)?;
        self.written += self.len as u64;
        self.len = 0;
        Ok(())
    }

    fn leave_direct(&mut self) -> std::io::Result<()> {
        if self.direct {
            let flags = rustix::fs::fcntl_getfl(&self.file)?;
            rustix::fs::fcntl_setfl(&self.file, flags - rustix::fs::OFlags::DIRECT)?;
            self.direct = false;
        }
        Ok(())
    }

    /// Writes what the piece holds through the cache, and goes on that way.
    fn finish_direct(&mut self) -> std::io::Result<()> {
        self.leave_direct()?;
        if self.len > 0 {
            self.write_piece()?;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
impl DurableFile for DirectFile {
    fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        if !self.direct {
            use std::os::unix::fs::FileExt;
            self.file.write_all_at(data, self.written)?;
            self.written += data.len() as u64;
            return Ok(());
        }
        while !data.is_empty() {
            let n = data.len().min(Self::PIECE - self.len);
            let at = self.start + self.len;
            self.buf[at..at + n].copy_from_slice(&data[..n]);
            self.len += n;
            data = &data[n..];
            if self.len == Self::PIECE {
                self.write_piece()?;
                if !self.direct {
                    // Refused: the rest goes through the cache, after the piece.
                    return self.write_all(data);
                }
            }
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.finish_direct()?;
        self.file.write_all_at(buf, offset)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        self.finish_direct()?;
        self.file.sync_data()
    }

    fn start_writeback(&mut self, offset: u64, len: u64) {
        // Direct writes are on their way to the disk already.
        if !self.direct {
            DurableFile::start_writeback(&mut self.file, offset, len);
        }
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Pieces of every size, across the direct pieces, then an overwrite of the
    /// start: the file holds exactly those bytes, on a disk's file system (direct)
    /// and on a RAM one (direct or not, as it allows).
    #[test]
    fn a_direct_file_holds_exactly_what_was_written() -> std::io::Result<()> {
        let shm = Path::new("/dev/shm");
        let dirs = [
            Some(tempfile::tempdir()?),
            shm.is_dir()
                .then(|| tempfile::tempdir_in(shm))
                .transpose()?,
        ];
        for dir in dirs.iter().flatten() {
            let path = dir.path().join("bulk");
            let mut f = DirectFile::new(
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)?,
            );
            let on_disk = !dir.path().starts_with(shm);
            let mut expected = Vec::new();
            let mut n = 0u32;
            while expected.len() < 2 * DirectFile::PIECE + 12_345 {
                let len = (n as usize * 7919) % 70_001;
                let piece: Vec<u8> = (0..len).map(|i| (i as u32 ^ n) as u8).collect();
                f.write_all(&piece)?;
                expected.extend_from_slice(&piece);
                n += 1;
            }
            if on_disk {
                // This machine's disk takes direct I/O; two full pieces went that way.
                assert!(f.is_direct(), "{}", dir.path().display());
            }
            f.start_writeback(0, expected.len() as u64);
            f.write_at(3, b"head")?;
            expected[3..7].copy_from_slice(b"head");
            assert!(!f.is_direct());
            f.write_all(b"tail")?;
            expected.extend_from_slice(b"tail");
            f.sync_data()?;
            drop(f);
            assert_eq!(std::fs::read(&path)?, expected, "{}", dir.path().display());
        }
        Ok(())
    }

    /// A direct write refused with `EINVAL` (here: a misaligned buffer) switches the
    /// file to the page cache and loses no byte.
    #[test]
    fn a_refused_direct_write_falls_back_to_the_cache() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("bulk");
        let mut f = DirectFile::misaligned(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?,
        );
        assert!(f.is_direct(), "this machine's disk takes direct I/O");
        let expected: Vec<u8> = (0..DirectFile::PIECE * 2 + 777)
            .map(|i| (i % 251) as u8)
            .collect();
        for piece in expected.chunks(100_003) {
            f.write_all(piece)?;
        }
        assert!(!f.is_direct(), "the refused write switched the file over");
        f.sync_data()?;
        drop(f);
        assert_eq!(std::fs::read(&path)?, expected);
        Ok(())
    }
}
