//! The write-ahead log: one checksummed record per committed transaction, in
//! segments, written with group commit.
//!
//! # Format, version 2
//! ```text
//! segment  header (48 bytes): magic "QVWAL001", version, codec version, database id,
//!          segment sequence number (u64), commit timestamp of its first record (u64),
//!          CRC-32
//!          record*
//! record   payload length (u32), CRC-32 of the length bytes (u32), CRC-32 of the
//!          length bytes and the payload (u32), payload: kind (u8), timestamp (u64),
//!          then by kind: 1 commit: op count, ops; 2 id reservation: the vertex and edge
//!          id bounds (u64 each) below which ids may have been handed out (its
//!          timestamp is the next commit timestamp to be taken); 3 schema change
//!          (version 2): one op of the `schema` module's format, timestamped like a
//!          reservation (it applies before the commit with that timestamp)
//! op       tag (u8) and fields; names are strings, values the value codec's:
//!          1 create vertex (id, labels, properties)   2 add label (vertex, label)
//!          3 remove label (vertex, label)              4 set vertex property
//!          (vertex, key, value; Null removes)          5 delete vertex (id)
//!          6 create edge (id, source, target, type, properties)
//!          7 set edge property (edge, key, value)      8 delete edge (id)
//! ```
//! Commit timestamps are consecutive across commit records and segments; segment
//! sequence numbers are consecutive across files. A segment's header carries the
//! timestamp of its first record of either kind.
//!
//! # Reading
//! A record that is cut short or fails its checksum at the very end of the *last*
//! segment is a crash during a write: the reader reports the valid prefix and the
//! caller truncates the rest. The length has its own checksum, so a damaged length
//! is never mistaken for a record cut short (which would drop the records after it). The same damage anywhere else, or a gap in sequence
//! numbers or timestamps, is Corrupt: nothing is skipped silently.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_api::codec::{Decoder, encode_value, put_uvarint};
use engine_api::{Error, ErrorKind, PropertyValue, Result, SyncMode};
use parking_lot::{Condvar, Mutex};

use crate::dir::{segment_file_name, sync_dir};
use crate::file::{DurableFile, FileLayer};
use crate::format::{
    DatabaseId, HEADER_LEN, Header, HeaderError, corrupt, decode_header, encode_header, io_error,
    put_str, read_header_bytes, u32_at, u64_at,
};
use crate::schema::{SchemaOp, decode_schema_op, encode_schema_op};

const MAGIC: &[u8; 8] = b"QVWAL001";
/// The WAL format version this build writes. It reads version 1 too (the same
/// format without schema records).
pub const WAL_VERSION: u16 = 2;
const WAL_VERSIONS: std::ops::RangeInclusive<u16> = 1..=WAL_VERSION;
const RECORD_COMMIT: u8 = 1;
const RECORD_RESERVE: u8 = 2;
const RECORD_SCHEMA: u8 = 3;
/// A record longer than this is refused as corrupt.
const RECORD_MAX: usize = 1 << 30;

/// One logged change.
#[derive(Debug, Clone, PartialEq)]
pub enum WalOp {
    /// A vertex was created.
    CreateVertex {
        /// Its id.
        id: u64,
        /// Its labels.
        labels: Vec<String>,
        /// Its properties.
        properties: Vec<(String, PropertyValue)>,
    },
    /// A label was added.
    AddLabel {
        /// The vertex.
        vertex: u64,
        /// The label.
        label: String,
    },
    /// A label was removed.
    RemoveLabel {
        /// The vertex.
        vertex: u64,
        /// The label.
        label: String,
    },
    /// A vertex property was set (`Null`: removed).
    SetVertexProperty {
        /// The vertex.
        vertex: u64,
        /// The key.
        key: String,
        /// The new value.
        value: PropertyValue,
    },
    /// A vertex was deleted (its edges were deleted by earlier ops).
    DeleteVertex {
        /// The vertex.
        vertex: u64,
    },
    /// An edge was created.
    CreateEdge {
        /// Its id.
        id: u64,
        /// Source vertex.
        source: u64,
        /// Target vertex.
        target: u64,
        /// Edge type.
        edge_type: String,
        /// Its properties.
        properties: Vec<(String, PropertyValue)>,
    },
    /// An edge property was set (`Null`: removed).
    SetEdgeProperty {
        /// The edge.
        edge: u64,
        /// The key.
        key: String,
        /// The new value.
        value: PropertyValue,
    },
    /// An edge was deleted.
    DeleteEdge {
        /// The edge.
        edge: u64,
    },
}

/// One committed transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRecord {
    /// Its commit timestamp.
    pub commit_ts: u64,
    /// Its changes, in order.
    pub ops: Vec<WalOp>,
}

fn put_props(out: &mut Vec<u8>, props: &[(String, PropertyValue)]) {
    put_uvarint(out, props.len() as u64);
    for (k, v) in props {
        put_str(out, k);
        encode_value(v, out);
    }
}

/// Encodes the ops of one commit (the record payload after kind and timestamp).
pub fn encode_ops(ops: &[WalOp]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * ops.len());
    put_uvarint(&mut out, ops.len() as u64);
    for op in ops {
        match op {
            WalOp::CreateVertex {
                id,
                labels,
                properties,
            } => {
                out.push(1);
                put_uvarint(&mut out, *id);
                put_uvarint(&mut out, labels.len() as u64);
                for l in labels {
                    put_str(&mut out, l);
                }
                put_props(&mut out, properties);
            }
            WalOp::AddLabel { vertex, label } | WalOp::RemoveLabel { vertex, label } => {
                out.push(if matches!(op, WalOp::AddLabel { .. }) {
                    2
                } else {
                    3
                });
                put_uvarint(&mut out, *vertex);
                put_str(&mut out, label);
            }
            WalOp::SetVertexProperty { vertex, key, value } => {
                out.push(4);
                put_uvarint(&mut out, *vertex);
                put_str(&mut out, key);
                encode_value(value, &mut out);
            }
            WalOp::DeleteVertex { vertex } => {
                out.push(5);
                put_uvarint(&mut out, *vertex);
            }
            WalOp::CreateEdge {
                id,
                source,
                target,
                edge_type,
                properties,
            } => {
                out.push(6);
                put_uvarint(&mut out, *id);
                put_uvarint(&mut out, *source);
                put_uvarint(&mut out, *target);
                put_str(&mut out, edge_type);
                put_props(&mut out, properties);
            }
            WalOp::SetEdgeProperty { edge, key, value } => {
                out.push(7);
                put_uvarint(&mut out, *edge);
                put_str(&mut out, key);
                encode_value(value, &mut out);
            }
            WalOp::DeleteEdge { edge } => {
                out.push(8);
                put_uvarint(&mut out, *edge);
            }
        }
    }
    out
}

const RECORD_HEADER: usize = 12;

fn frame_record(kind: u8, commit_ts: u64, ops_payload: &[u8], out: &mut Vec<u8>) {
    let len = (1 + 8 + ops_payload.len()) as u32;
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&len.to_le_bytes()).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.push(kind);
    out.extend_from_slice(&commit_ts.to_le_bytes());
    out.extend_from_slice(ops_payload);
    let mut h = crc32fast::Hasher::new();
    h.update(&out[start..start + 4]);
    h.update(&out[start + RECORD_HEADER..]);
    let crc = h.finalize();
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
}

fn decode_ops(payload: &[u8]) -> Result<Vec<WalOp>, engine_api::codec::DecodeError> {
    let mut d = Decoder::new(payload);
    let str_of = |d: &mut Decoder<'_>| -> Result<String, engine_api::codec::DecodeError> {
        let n = d.uvarint()?;
        let at = d.position();
        let b = d.bytes(usize::try_from(n).unwrap_or(usize::MAX))?;
        String::from_utf8(b.to_vec()).map_err(|_| engine_api::codec::DecodeError {
            offset: at,
            reason: "name is not UTF-8",
        })
    };
    let props_of = |d: &mut Decoder<'_>| -> Result<Vec<(String, PropertyValue)>, engine_api::codec::DecodeError> {
        let n = d.uvarint()?;
        let mut v = Vec::new();
        for _ in 0..n {
            let k = str_of(d)?;
            v.push((k, d.value()?));
        }
        Ok(v)
    };
    let n = d.uvarint()?;
    let mut ops = Vec::new();
    for _ in 0..n {
        let at = d.position();
        let tag = d.bytes(1)?[0];
        ops.push(match tag {
            1 => {
                let id = d.uvarint()?;
                let nl = d.uvarint()?;
                let mut labels = Vec::new();
                for _ in 0..nl {
                    labels.push(str_of(&mut d)?);
                }
                WalOp::CreateVertex {
                    id,
                    labels,
                    properties: props_of(&mut d)?,
                }
            }
            2 | 3 => {
                let vertex = d.uvarint()?;
                let label = str_of(&mut d)?;
                if tag == 2 {
                    WalOp::AddLabel { vertex, label }
                } else {
                    WalOp::RemoveLabel { vertex, label }
                }
            }
            4 => WalOp::SetVertexProperty {
                vertex: d.uvarint()?,
                key: str_of(&mut d)?,
                value: d.value()?,
            },
            5 => WalOp::DeleteVertex {
                vertex: d.uvarint()?,
            },
            6 => WalOp::CreateEdge {
                id: d.uvarint()?,
                source: d.uvarint()?,
                target: d.uvarint()?,
                edge_type: str_of(&mut d)?,
                properties: props_of(&mut d)?,
            },
            7 => WalOp::SetEdgeProperty {
                edge: d.uvarint()?,
                key: str_of(&mut d)?,
                value: d.value()?,
            },
            8 => WalOp::DeleteEdge { edge: d.uvarint()? },
            _ => {
                return Err(engine_api::codec::DecodeError {
                    offset: at,
                    reason: "unknown WAL op",
                });
            }
        });
    }
    if !d.is_empty() {
        return Err(engine_api::codec::DecodeError {
            offset: d.position(),
            reason: "trailing bytes in record",
        });
    }
    Ok(ops)
}

/// A segment's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The database it belongs to.
    pub database: DatabaseId,
    /// Its sequence number.
    pub seq: u64,
    /// The commit timestamp of its first record.
    pub first_ts: u64,
}

/// What reading one segment found.
#[derive(Debug)]
pub enum SegmentRead {
    /// Not a WAL segment of ours (foreign file).
    NotOurs,
    /// A segment whose header was cut short by a crash right after it was created
    /// (only tolerated for the last segment): it holds no records.
    TornHeader,
    /// The segment's header and records.
    Read {
        /// The header.
        header: SegmentHeader,
        /// Commit records, in order.
        records: Vec<CommitRecord>,
        /// The highest id reservation (vertex bound, edge bound), if any.
        reserved: Option<(u64, u64)>,
        /// Schema changes, in log order, each with the timestamp of the commit it
        /// precedes.
        schema: Vec<(u64, SchemaOp)>,
        /// Length of the valid prefix; shorter than the file after a torn tail.
        valid_len: u64,
        /// The file's length.
        file_len: u64,
    },
}

/// Reads a segment's header only.
pub fn read_segment_header(path: &Path) -> Result<Option<SegmentHeader>> {
    let what = path.display().to_string();
    let head = read_header_bytes(path, &what)?;
    match decode_header(MAGIC, WAL_VERSIONS, &what, &head) {
        Ok(h) => Ok(Some(SegmentHeader {
            database: h.database,
            seq: h.a,
            first_ts: h.b,
        })),
        Err(HeaderError::NotOurs) => Ok(None),
        Err(HeaderError::Bad(e)) => Err(e),
    }
}

/// Reads and checks a whole segment. `last` says whether it is the newest segment,
/// where a torn tail is a crash artefact rather than corruption.
pub fn read_segment(path: &Path, last: bool) -> Result<SegmentRead> {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| io_error(&format!("cannot read {what}"), e))?;
    let header = match decode_header(MAGIC, WAL_VERSIONS, &what, &bytes) {
        Ok(h) => h,
        Err(HeaderError::NotOurs) => {
            // An empty file, or a prefix of our magic, is a header cut short.
            if last && bytes.len() < 8 && MAGIC.starts_with(&bytes) {
                return Ok(SegmentRead::TornHeader);
            }
            return Ok(SegmentRead::NotOurs);
        }
        Err(HeaderError::Bad(e)) => {
            if last && bytes.len() < HEADER_LEN {
                return Ok(SegmentRead::TornHeader);
            }
            return Err(e);
        }
    };
    let Header { database, a, b, .. } = header;
    let mut records = Vec::new();
    let mut reserved: Option<(u64, u64)> = None;
    let mut schema = Vec::new();
    let mut first_record_ts = None;
    let mut at = HEADER_LEN;
    let file_len = bytes.len();
    let torn = |at: usize, reason: &str| -> Result<usize> {
        if last {
            tracing::warn!(file = %what, offset = at, reason, "discarding a torn WAL tail");
            Ok(at)
        } else {
            Err(corrupt(&what, at as u64, reason))
        }
    };
    let valid_len = loop {
        if at == file_len {
            break at;
        }
        let rest = &bytes[at..];
        if rest.iter().all(|b| *b == 0) {
            break torn(at, "zeroed tail")?;
        }
        if rest.len() < RECORD_HEADER {
            break torn(at, "record header cut short")?;
        }
        if crc32fast::hash(&rest[..4]) != u32_at(rest, 4) {
            return Err(corrupt(&what, at as u64, "record length checksum mismatch"));
        }
        let len = u32_at(rest, 0) as usize;
        if !(9..=RECORD_MAX).contains(&len) {
            return Err(corrupt(&what, at as u64, "record length out of range"));
        }
        if RECORD_HEADER + len > rest.len() {
            break torn(at, "record cut short")?;
        }
        let end = RECORD_HEADER + len;
        let mut h = crc32fast::Hasher::new();
        h.update(&rest[..4]);
        h.update(&rest[RECORD_HEADER..end]);
        if h.finalize() != u32_at(rest, 8) {
            if at + end == file_len {
                break torn(at, "checksum mismatch in the last record")?;
            }
            return Err(corrupt(&what, at as u64, "record checksum mismatch"));
        }
        let payload = &rest[RECORD_HEADER..end];
        let commit_ts = u64_at(payload, 1);
        first_record_ts.get_or_insert(commit_ts);
        match payload[0] {
            RECORD_COMMIT => {
                let ops = decode_ops(&payload[9..])
                    .map_err(|e| e.into_corrupt(&what, (at + RECORD_HEADER + 9) as u64))?;
                records.push(CommitRecord { commit_ts, ops });
            }
            RECORD_SCHEMA => {
                let mut d = Decoder::new(&payload[9..]);
                let fail = |e: engine_api::codec::DecodeError| {
                    e.into_corrupt(&what, (at + RECORD_HEADER + 9) as u64)
                };
                let op = decode_schema_op(&mut d).map_err(fail)?;
                if !d.is_empty() {
                    return Err(corrupt(
                        &what,
                        (at + RECORD_HEADER + 9 + d.position()) as u64,
                        "trailing bytes in schema record",
                    ));
                }
                schema.push((commit_ts, op));
            }
            RECORD_RESERVE if payload.len() == 25 => {
                let (v, e) = (u64_at(payload, 9), u64_at(payload, 17));
                let (pv, pe) = reserved.unwrap_or((0, 0));
                reserved = Some((pv.max(v), pe.max(e)));
            }
            _ => {
                return Err(corrupt(
                    &what,
                    (at + RECORD_HEADER) as u64,
                    "unknown record kind",
                ));
            }
        }
        at += end;
    };
    if let Some(first) = first_record_ts
        && first != b
    {
        return Err(corrupt(
            &what,
            HEADER_LEN as u64,
            "first record does not match the header's timestamp",
        ));
    }
    Ok(SegmentRead::Read {
        header: SegmentHeader {
            database,
            seq: a,
            first_ts: b,
        },
        records,
        reserved,
        schema,
        valid_len: valid_len as u64,
        file_len: file_len as u64,
    })
}

/// Cuts a segment to its valid prefix after a torn tail.
pub fn truncate_segment(path: &Path, len: u64) -> Result<()> {
    let what = path.display().to_string();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io_error(&format!("cannot open {what}"), e))?;
    f.set_len(len)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_error(&format!("cannot truncate {what}"), e))
}

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

    /// Queues the record of commit `commit_ts`. Callers append in timestamp order.
    /// Errors: Poisoned after an earlier failure.
    pub fn append(&self, commit_ts: u64, ops_payload: &[u8]) -> Result<Ticket> {
        let mut s = self.state.lock();
        if let Some(reason) = &s.poisoned {
            return Err(poisoned(reason));
        }
        if s.buffer_first_ts.is_none() {
            s.buffer_first_ts = Some(commit_ts);
        }
        frame_record(RECORD_COMMIT, commit_ts, ops_payload, &mut s.buffer);
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
        frame_record(RECORD_RESERVE, next_ts, &payload, &mut s.buffer);
        s.appended += 1;
        Ok(Ticket(s.appended))
    }

    /// Queues a schema change, timestamped with `next_ts`, the next commit timestamp
    /// to be taken (callers append in the same order as commits).
    pub fn append_schema(&self, next_ts: u64, op: &SchemaOp) -> Result<Ticket> {
        let mut s = self.state.lock();
        if let Some(reason) = &s.poisoned {
            return Err(poisoned(reason));
        }
        if s.buffer_first_ts.is_none() {
            s.buffer_first_ts = Some(next_ts);
        }
        let mut payload = Vec::with_capacity(64);
        encode_schema_op(op, &mut payload);
        frame_record(RECORD_SCHEMA, next_ts, &payload, &mut s.buffer);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::StdFiles;

    fn sample_ops(i: u64) -> Vec<WalOp> {
        vec![
            WalOp::CreateVertex {
                id: i,
                labels: vec!["Person".into(), "with `tick`".into()],
                properties: vec![
                    ("name".into(), PropertyValue::from("Ann")),
                    ("n".into(), PropertyValue::Int(i as i64)),
                ],
            },
            WalOp::AddLabel {
                vertex: i,
                label: "X".into(),
            },
            WalOp::RemoveLabel {
                vertex: i,
                label: "X".into(),
            },
            WalOp::SetVertexProperty {
                vertex: i,
                key: "n".into(),
                value: PropertyValue::Null,
            },
            WalOp::CreateEdge {
                id: i,
                source: i,
                target: i,
                edge_type: "SELF".into(),
                properties: vec![],
            },
            WalOp::SetEdgeProperty {
                edge: i,
                key: "w".into(),
                value: PropertyValue::Float(0.5),
            },
            WalOp::DeleteEdge { edge: i },
            WalOp::DeleteVertex { vertex: i },
        ]
    }

    pub(crate) fn write_segment(
        dir: &Path,
        n: u64,
        sync: SyncMode,
        segment_bytes: u64,
    ) -> DatabaseId {
        let db = DatabaseId::random();
        let w = WalWriter::new(
            dir.to_path_buf(),
            db,
            sync,
            segment_bytes,
            1,
            Arc::new(StdFiles),
        );
        for ts in 1..=n {
            let t = w.append(ts, &encode_ops(&sample_ops(ts))).expect("append");
            w.wait(t).expect("wait");
        }
        w.flush().expect("flush");
        db
    }

    #[test]
    fn records_round_trip_through_a_segment() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = write_segment(tmp.path(), 5, SyncMode::EveryCommit, 1 << 20);
        let path = tmp.path().join(segment_file_name(1));
        let SegmentRead::Read {
            header,
            records,
            valid_len,
            file_len,
            ..
        } = read_segment(&path, true).expect("read")
        else {
            panic!("expected records");
        };
        assert_eq!(
            header,
            SegmentHeader {
                database: db,
                seq: 1,
                first_ts: 1
            }
        );
        assert_eq!(valid_len, file_len);
        assert_eq!(records.len(), 5);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.commit_ts, i as u64 + 1);
            assert_eq!(r.ops, sample_ops(i as u64 + 1));
        }
    }

    #[test]
    fn id_reservations_read_back_and_keep_first_timestamps_exact() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let w = WalWriter::new(
            tmp.path().to_path_buf(),
            DatabaseId::random(),
            SyncMode::EveryCommit,
            1 << 20,
            1,
            Arc::new(StdFiles),
        );
        let t = w.append_reservation(1, 65_536, 100).expect("reserve");
        w.wait(t).expect("durable");
        let t = w.append(1, &encode_ops(&sample_ops(1))).expect("append");
        w.wait(t).expect("durable");
        let t = w.append_reservation(2, 131_072, 100).expect("reserve");
        w.wait(t).expect("durable");
        let SegmentRead::Read {
            header,
            records,
            reserved,
            ..
        } = read_segment(&tmp.path().join(segment_file_name(1)), true).expect("read")
        else {
            panic!("expected records");
        };
        assert_eq!(header.first_ts, 1);
        assert_eq!(records.len(), 1);
        assert_eq!(reserved, Some((131_072, 100)));
    }

    #[test]
    fn segments_rotate_by_size_with_contiguous_sequence_numbers() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write_segment(tmp.path(), 200, SyncMode::Off, 4096);
        let mut seqs = Vec::new();
        let mut next_ts = 1;
        let mut names: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("ls")
            .map(|e| e.expect("entry").path())
            .collect();
        names.sort();
        assert!(
            names.len() > 3,
            "expected several segments, got {}",
            names.len()
        );
        let last = names.len() - 1;
        for (i, p) in names.iter().enumerate() {
            let SegmentRead::Read {
                header, records, ..
            } = read_segment(p, i == last).expect("read")
            else {
                panic!("expected records");
            };
            seqs.push(header.seq);
            assert_eq!(header.first_ts, next_ts);
            for r in records {
                assert_eq!(r.commit_ts, next_ts);
                next_ts += 1;
            }
        }
        assert_eq!(next_ts, 201);
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn concurrent_committers_share_syncs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let w = Arc::new(WalWriter::new(
            tmp.path().to_path_buf(),
            DatabaseId::random(),
            SyncMode::EveryCommit,
            1 << 24,
            1,
            Arc::new(StdFiles),
        ));
        let order = Arc::new(Mutex::new(0u64));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let (w, order) = (w.clone(), order.clone());
                s.spawn(move || {
                    for _ in 0..50 {
                        let t = {
                            let mut o = order.lock();
                            *o += 1;
                            w.append(*o, &encode_ops(&[])).expect("append")
                        };
                        w.wait(t).expect("durable");
                    }
                });
            }
        });
        let SegmentRead::Read { records, .. } =
            read_segment(&tmp.path().join(segment_file_name(1)), true).expect("read")
        else {
            panic!("expected records");
        };
        let ts: Vec<u64> = records.iter().map(|r| r.commit_ts).collect();
        assert_eq!(ts, (1..=200).collect::<Vec<_>>());
    }
}
