//! Appending records with group commit, segment rotation and sync modes.

use std::path::PathBuf;
use std::sync::Arc;

use engine_api::{Error, ErrorKind, Result, SyncMode};
use parking_lot::{Condvar, Mutex};

use crate::dir::{segment_file_name, sync_dir};
use crate::file::{DurableFile, FileLayer};
use crate::format::{DatabaseId, HEADER_LEN, Header, encode_header, io_error};
use crate::schema::{SchemaOp, encode_schema_op};

use super::format::{frame_record, time_to_micros};
use super::*;

/// A point in the log a committer waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

struct Segment {
    file: Box<dyn DurableFile>,
    path: PathBuf,
    bytes: u64,
}

struct WriterState {
    /// Framed records waiting to be written.
    buffer: Vec<u8>,
    /// The commit timestamp of the first record in `buffer`.
    buffer_first_ts: Option<u64>,
    appended: u64,
    written: u64,
    durable: u64,
    leader: bool,
    poisoned: Option<String>,
    segment: Option<Segment>,
    next_seq: u64,
    unsynced_commits: u32,
    rotate_requested: bool,
    /// How long the last write and sync took (bounds the wait for announced records).
    last_sync: std::time::Duration,
    /// How many records the last synced batch held.
    last_batch: u64,
    /// The time of the last commit or schema record, in the log's microseconds:
    /// times never decrease within one writer, even if the system clock is set back.
    last_time: u64,
}

/// Appends commit records and makes them durable, batching concurrent committers into
/// one write and one sync (group commit).
pub struct WalWriter {
    dir: PathBuf,
    database: DatabaseId,
    sync: SyncMode,
    segment_bytes: u64,
    files: Arc<dyn FileLayer>,
    state: Mutex<WriterState>,
    cond: Condvar,
    /// Committers that announced a record they have not appended yet.
    arriving: std::sync::atomic::AtomicUsize,
}

/// A committer's promise to append a record soon (see [`WalWriter::announce`]).
#[derive(Debug)]
pub struct Arrival<'a> {
    writer: &'a WalWriter,
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        self.writer
            .arriving
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl std::fmt::Debug for WalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalWriter")
            .field("dir", &self.dir)
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

fn poisoned(reason: &str) -> Error {
    Error::new(
        ErrorKind::Poisoned,
        format!(
            "an earlier WAL write or sync failed ({reason}); no further commits are accepted, reopen the database to recover"
        ),
    )
}

impl WalWriter {
    /// A writer that starts segment `next_seq` in `dir` with its first record.
    pub fn new(
        dir: PathBuf,
        database: DatabaseId,
        sync: SyncMode,
        segment_bytes: u64,
        next_seq: u64,
        files: Arc<dyn FileLayer>,
    ) -> Self {
        WalWriter {
            dir,
            database,
            sync,
            segment_bytes: segment_bytes.max(4096),
            files,
            state: Mutex::new(WriterState {
                buffer: Vec::new(),
                buffer_first_ts: None,
                appended: 0,
                written: 0,
                durable: 0,
                leader: false,
                poisoned: None,
                segment: None,
                next_seq,
                unsynced_commits: 0,
                rotate_requested: false,
                last_sync: std::time::Duration::ZERO,
                last_batch: 0,
                last_time: 0,
            }),
            cond: Condvar::new(),
            arriving: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Announces a record that will probably be appended soon (a read-write
    /// transaction is running). Before it syncs, a committer waits for announced
    /// records, but never longer than half the previous sync took, so that one sync
    /// covers them too: group commit even with two committers, at a bounded cost in
    /// latency, and none for a lone committer. Drop the guard once the record is
    /// appended, or when it never will be.
    pub fn announce(&self) -> Arrival<'_> {
        self.arriving
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Arrival { writer: self }
    }

    /// Queues the record of commit `commit_ts`, stamped with the wall-clock time
    /// (never earlier than the previous commit's). Callers append in timestamp order.
    /// Errors: Poisoned after an earlier failure.
    pub fn append(&self, commit_ts: u64, ops_payload: &[u8]) -> Result<Ticket> {
        let now = time_to_micros(std::time::SystemTime::now());
        let mut s = self.state.lock();
        if let Some(reason) = &s.poisoned {
            return Err(poisoned(reason));
        }
        if s.buffer_first_ts.is_none() {
            s.buffer_first_ts = Some(commit_ts);
        }
        let time = now.max(s.last_time);
        s.last_time = time;
        let parts: [&[u8]; 2] = [&time.to_le_bytes(), ops_payload];
        frame_record(RECORD_COMMIT, commit_ts, &parts, &mut s.buffer);
        s.appended += 1;
        Ok(Ticket(s.appended))
    }

    /// Queues an id reservation: after a crash, recovery hands out no vertex id below
    /// `vertices` and no edge id below `edges`. `next_ts` is the next commit timestamp
    /// to be taken (callers append in the same order as commits).
    pub fn append_reservation(&self, next_ts: u64, vertices: u64, edges: u64) -> Result<Ticket> {
        let mut s = self.state.lock();
        if let Some(reason) = &s.poisoned {
            return Err(poisoned(reason));
        }
        if s.buffer_first_ts.is_none() {
            s.buffer_first_ts = Some(next_ts);
        }
        let mut payload = Vec::with_capacity(16);
        payload.extend_from_slice(&vertices.to_le_bytes());
        payload.extend_from_slice(&edges.to_le_bytes());
        frame_record(RECORD_RESERVE, next_ts, &[&payload], &mut s.buffer);
        s.appended += 1;
        Ok(Ticket(s.appended))
    }

    /// Queues a schema change, timestamped with `next_ts`, the next commit timestamp
    /// to be taken (callers append in the same order as commits), and stamped with
    /// the wall-clock time as commits are.
    pub fn append_schema(&self, next_ts: u64, op: &SchemaOp) -> Result<Ticket> {
        let mut payload = Vec::with_capacity(64);
        encode_schema_op(op, &mut payload);
        let now = time_to_micros(std::time::SystemTime::now());
        let mut s = self.state.lock();
        if let Some(reason) = &s.poisoned {
            return Err(poisoned(reason));
        }
        if s.buffer_first_ts.is_none() {
            s.buffer_first_ts = Some(next_ts);
        }
        let time = now.max(s.last_time);
        s.last_time = time;
        frame_record(
            RECORD_SCHEMA,
            next_ts,
            &[&time.to_le_bytes(), &payload],
            &mut s.buffer,
        );
        s.appended += 1;
        Ok(Ticket(s.appended))
    }

    /// Returns once the record is as durable as the sync mode promises: synced for
    /// `EveryCommit`, written to the OS otherwise. One waiter at a time writes and
    /// syncs everything queued so far, on behalf of all.
    pub fn wait(&self, ticket: Ticket) -> Result<()> {
        let mut s = self.state.lock();
        loop {
            let done = match self.sync {
                SyncMode::EveryCommit => s.durable >= ticket.0,
                _ => s.written >= ticket.0,
            };
            if done {
                return Ok(());
            }
            if let Some(reason) = &s.poisoned {
                return Err(poisoned(reason));
            }
            if s.leader {
                self.cond.wait(&mut s);
                continue;
            }
            s.leader = true;
            if self.sync == SyncMode::EveryCommit {
                // Wait for announced records, and after a batch of several for as many
                // records again (their committers are between their last commit and
                // the next), never longer than half the last sync.
                let budget = s.last_sync / 2;
                let target = s.last_batch;
                let started = std::time::Instant::now();
                while (self.arriving.load(std::sync::atomic::Ordering::Acquire) > 0
                    || s.appended - s.written < target)
                    && started.elapsed() < budget
                {
                    parking_lot::MutexGuard::unlocked(&mut s, std::thread::yield_now);
                }
            }
            let sync_started = std::time::Instant::now();
            let buffer = std::mem::take(&mut s.buffer);
            let first_ts = s.buffer_first_ts.take();
            let upto = s.appended;
            let batch_len = upto - s.written;
            let mut segment = s.segment.take();
            let rotate = std::mem::take(&mut s.rotate_requested);
            let seq = s.next_seq;
            s.unsynced_commits = s.unsynced_commits.saturating_add(batch_len as u32);
            let must_sync = match self.sync {
                SyncMode::EveryCommit => true,
                SyncMode::EveryNCommits(n) => s.unsynced_commits >= n.max(1),
                SyncMode::Off => false,
            };
            drop(s);
            let result = self.write_batch(&mut segment, &buffer, first_ts, seq, rotate, must_sync);
            s = self.state.lock();
            s.leader = false;
            match result {
                Ok(new_seq) => {
                    if must_sync {
                        s.last_sync = sync_started.elapsed();
                        s.last_batch = batch_len;
                    }
                    s.segment = segment;
                    s.next_seq = new_seq;
                    s.written = upto;
                    if must_sync {
                        s.durable = upto;
                        s.unsynced_commits = 0;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "WAL write failed; the engine is poisoned");
                    s.poisoned = Some(e.to_string());
                }
            }
            self.cond.notify_all();
        }
    }

    /// Writes a batch, opening or rotating segments as needed; returns the next
    /// segment sequence number.
    fn write_batch(
        &self,
        segment: &mut Option<Segment>,
        buffer: &[u8],
        first_ts: Option<u64>,
        mut seq: u64,
        rotate: bool,
        sync: bool,
    ) -> Result<u64> {
        if buffer.is_empty() {
            if sync && let Some(seg) = segment {
                seg.file
                    .sync_data()
                    .map_err(|e| io_error(&format!("cannot sync {}", seg.path.display()), e))?;
            }
            return Ok(seq);
        }
        let full = segment
            .as_ref()
            .is_some_and(|s| rotate || s.bytes + buffer.len() as u64 > self.segment_bytes);
        if full && let Some(mut old) = segment.take() {
            old.file
                .sync_data()
                .map_err(|e| io_error(&format!("cannot sync {}", old.path.display()), e))?;
        }
        if segment.is_none() {
            let path = self.dir.join(segment_file_name(seq));
            let mut file = self
                .files
                .create(&path)
                .map_err(|e| io_error(&format!("cannot create {}", path.display()), e))?;
            let header = encode_header(
                MAGIC,
                WAL_VERSION,
                &Header {
                    version: WAL_VERSION,
                    database: self.database,
                    a: seq,
                    b: first_ts.unwrap_or(0),
                },
            );
            file.write_all(&header)
                .map_err(|e| io_error(&format!("cannot write {}", path.display()), e))?;
            sync_dir(&self.dir)?;
            *segment = Some(Segment {
                file,
                path,
                bytes: HEADER_LEN as u64,
            });
            seq += 1;
        }
        if let Some(seg) = segment {
            seg.file
                .write_all(buffer)
                .map_err(|e| io_error(&format!("cannot write {}", seg.path.display()), e))?;
            seg.bytes += buffer.len() as u64;
            if sync {
                seg.file
                    .sync_data()
                    .map_err(|e| io_error(&format!("cannot sync {}", seg.path.display()), e))?;
            }
        }
        Ok(seq)
    }

    /// Writes and syncs everything queued (on close, and for `EveryNCommits`/`Off`
    /// before a snapshot is trusted).
    pub fn flush(&self) -> Result<()> {
        let ticket = Ticket(self.state.lock().appended);
        self.wait(ticket)?;
        let mut s = self.state.lock();
        if let Some(reason) = &s.poisoned {
            return Err(poisoned(reason));
        }
        if let Some(seg) = s.segment.as_mut() {
            let r = seg
                .file
                .sync_data()
                .map_err(|e| io_error(&format!("cannot sync {}", seg.path.display()), e));
            if let Err(e) = r {
                s.poisoned = Some(e.to_string());
                return Err(e);
            }
        }
        s.durable = s.written;
        s.unsynced_commits = 0;
        Ok(())
    }

    /// Starts a new segment with the next record (after a snapshot, so retention can
    /// delete whole older segments sooner).
    pub fn rotate(&self) {
        self.state.lock().rotate_requested = true;
    }

    /// The error message if the writer is poisoned.
    pub fn poisoned(&self) -> Option<String> {
        self.state.lock().poisoned.clone()
    }
}
