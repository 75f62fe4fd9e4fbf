//! Reading a segment back: header, records, torn tails and damage.

use std::path::Path;
use std::time::SystemTime;

use engine_api::Result;
use engine_api::codec::Decoder;

use crate::format::{
    DatabaseId, HEADER_LEN, Header, HeaderError, corrupt, decode_header, decode_named_header,
    io_error, read_header_bytes, u32_at, u64_at,
};
use crate::schema::{SchemaOp, decode_schema_op};

use super::format::{CommitRecord, decode_ops, micros_to_time};
use super::*;

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

/// A logged schema change.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaRecord {
    /// The timestamp of the commit it precedes (it applies before that commit).
    pub next_ts: u64,
    /// The wall-clock time it was logged; `None` in a segment of format version 2.
    pub time: Option<SystemTime>,
    /// The change.
    pub op: SchemaOp,
}

/// What reading one segment found. A file with a segment's name is ours: a wrong
/// magic is Corrupt (an error), never a reason to skip the file.
#[derive(Debug)]
pub enum SegmentRead {
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
        /// Schema changes, in log order.
        schema: Vec<SchemaRecord>,
        /// Length of the valid prefix; shorter than the file after a torn tail.
        valid_len: u64,
        /// The file's length.
        file_len: u64,
    },
}

/// Reads a segment's header only; a wrong magic is Corrupt.
pub fn read_segment_header(path: &Path) -> Result<SegmentHeader> {
    let what = path.display().to_string();
    let head = read_header_bytes(path, &what)?;
    let h = decode_named_header(MAGIC, WAL_VERSIONS, &what, "WAL segment", &head)?;
    Ok(segment_header(h))
}

/// Reads a segment's header in the data directory of a running database, whose
/// newest segment (`last`) may have been created a moment ago and not have its
/// header written yet: `None` for that one while its header is incomplete (it holds
/// no records; recovery reads it the same way, [`SegmentRead::TornHeader`]).
/// Anything else is read as [`read_segment_header`] reads it.
pub fn read_live_segment_header(path: &Path, last: bool) -> Result<Option<SegmentHeader>> {
    let what = path.display().to_string();
    let head = read_header_bytes(path, &what)?;
    match decode_header(MAGIC, WAL_VERSIONS, &what, &head) {
        Ok(h) => Ok(Some(segment_header(h))),
        Err(HeaderError::Bad(_)) if last && head.len() < HEADER_LEN => Ok(None),
        Err(_) => decode_named_header(MAGIC, WAL_VERSIONS, &what, "WAL segment", &head)
            .map(|h| Some(segment_header(h))),
    }
}

fn segment_header(h: Header) -> SegmentHeader {
    SegmentHeader {
        database: h.database,
        seq: h.a,
        first_ts: h.b,
    }
}

/// Reads and checks a whole segment. `last` says whether it is the newest segment,
/// where a torn tail is a crash artefact rather than corruption.
pub fn read_segment(path: &Path, last: bool) -> Result<SegmentRead> {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| io_error(&format!("cannot read {what}"), e))?;
    let header = match decode_header(MAGIC, WAL_VERSIONS, &what, &bytes) {
        Ok(h) => h,
        // Named as ours: a wrong magic is damage. (Regression: a flipped magic bit
        // in the newest segment made recovery skip it as foreign, silently losing
        // acknowledged commits.)
        Err(HeaderError::NotOurs) => {
            return Err(corrupt(
                &what,
                0,
                "named as a WAL segment of ours, but its magic number is not ours",
            ));
        }
        // An empty file, or a header cut short, in the newest segment: a crash
        // right after the segment was created.
        Err(HeaderError::Bad(e)) => {
            if last && bytes.len() < HEADER_LEN {
                return Ok(SegmentRead::TornHeader);
            }
            return Err(e);
        }
    };
    let Header {
        database,
        a,
        b,
        version,
    } = header;
    // Version 3 on: commit and schema records carry their time after the timestamp.
    let timed = version >= 3;
    let timed_payload =
        |payload: &[u8], at: usize, kind: &str| -> Result<(Option<SystemTime>, usize)> {
            if !timed {
                return Ok((None, 9));
            }
            if payload.len() < 17 {
                return Err(corrupt(
                    &what,
                    (at + RECORD_HEADER) as u64,
                    &format!("{kind} record too short for its time"),
                ));
            }
            Ok((Some(micros_to_time(u64_at(payload, 9))), 17))
        };
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
                let (time, ops_at) = timed_payload(payload, at, "commit")?;
                let ops = decode_ops(&payload[ops_at..])
                    .map_err(|e| e.into_corrupt(&what, (at + RECORD_HEADER + ops_at) as u64))?;
                records.push(CommitRecord {
                    commit_ts,
                    time,
                    ops,
                });
            }
            RECORD_SCHEMA => {
                let (time, op_at) = timed_payload(payload, at, "schema")?;
                let mut d = Decoder::new(&payload[op_at..]);
                let fail = |e: engine_api::codec::DecodeError| {
                    e.into_corrupt(&what, (at + RECORD_HEADER + op_at) as u64)
                };
                let op = decode_schema_op(&mut d).map_err(fail)?;
                if !d.is_empty() {
                    return Err(corrupt(
                        &what,
                        (at + RECORD_HEADER + op_at + d.position()) as u64,
                        "trailing bytes in schema record",
                    ));
                }
                schema.push(SchemaRecord {
                    next_ts: commit_ts,
                    time,
                    op,
                });
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

/// Whether recovering from a snapshot of `database` at commit `snap_ts`, whose
/// schema is `snapshot_schema` (its create-operations), would take nothing from the
/// WAL `segments` (lowest sequence first): they are gapless, all of `database`,
/// whole (no torn tail or header), every commit in them is at or before `snap_ts`,
/// and so is every schema change, but for those logged after commit `snap_ts` that
/// the snapshot already shows (a change logged then may have come before the
/// snapshot was taken or after it: a create must be in `snapshot_schema`, a drop
/// must not). Then that snapshot alone is the database. A segment the next one
/// starts at or before `snap_ts` is only checked by its header: nothing in it can
/// be later. Any doubt, damage included, answers false: recovery, which reads
/// everything, then decides (and reports the damage).
pub fn nothing_after(
    segments: &[crate::dir::SegmentName],
    snap_ts: u64,
    database: DatabaseId,
    snapshot_schema: &[SchemaOp],
) -> bool {
    let shown = |op: &SchemaOp| match op {
        SchemaOp::CreateIndex(_) | SchemaOp::CreateConstraint(_) | SchemaOp::CreateTrigger(_) => {
            snapshot_schema.contains(op)
        }
        SchemaOp::DropIndex(spec) => {
            !snapshot_schema.contains(&SchemaOp::CreateIndex(spec.clone()))
        }
        SchemaOp::DropConstraint(spec) => {
            !snapshot_schema.contains(&SchemaOp::CreateConstraint(spec.clone()))
        }
        SchemaOp::DropTrigger(name) => !snapshot_schema
            .iter()
            .any(|d| matches!(d, SchemaOp::CreateTrigger(t) if t.name == *name)),
    };
    let headers = segments
        .iter()
        .enumerate()
        .map(|(i, s)| read_live_segment_header(&s.path, i + 1 == segments.len()))
        .collect::<Result<Vec<_>>>();
    let Ok(headers) = headers else {
        return false;
    };
    for (i, (segment, header)) in segments.iter().zip(&headers).enumerate() {
        // A torn header (the newest segment's, after a crash): recovery decides.
        let Some(header) = header else {
            return false;
        };
        if header.database != database
            || header.seq != segment.seq
            || (i > 0 && segments[i - 1].seq + 1 != segment.seq)
        {
            return false;
        }
        let next_starts = headers.get(i + 1).and_then(|h| h.map(|h| h.first_ts));
        if next_starts.is_some_and(|first| first <= snap_ts) {
            continue;
        }
        let last = i + 1 == segments.len();
        match read_segment(&segment.path, last) {
            Ok(SegmentRead::Read {
                records,
                schema,
                valid_len,
                file_len,
                ..
            }) => {
                if valid_len < file_len
                    || records.iter().any(|r| r.commit_ts > snap_ts)
                    || schema.iter().any(|r| {
                        r.next_ts > snap_ts + 1 || (r.next_ts == snap_ts + 1 && !shown(&r.op))
                    })
                {
                    return false;
                }
            }
            Ok(SegmentRead::TornHeader) | Err(_) => return false,
        }
    }
    true
}

/// What a record is, for [`copy_segment_until`]'s choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A commit: its timestamp.
    Commit,
    /// A schema change: the timestamp of the commit it precedes.
    Schema,
    /// An id reservation: the next commit timestamp when it was logged.
    Reservation,
}

/// One record as [`copy_segment_until`] shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo {
    /// Its kind.
    pub kind: RecordKind,
    /// Its timestamp (see [`RecordKind`]).
    pub ts: u64,
    /// When it was logged (commits and schema changes, format v3 on).
    pub time: Option<SystemTime>,
}

/// What [`copy_segment_until`] kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedSegment {
    /// The copy, if anything was kept (no file is written for nothing).
    pub path: Option<std::path::PathBuf>,
    /// Every record kept, in order.
    pub kept: Vec<RecordInfo>,
    /// Whether a record was refused (the copy ends before it).
    pub cut: bool,
}

/// Copies the WAL segment `src` into `dir` as a segment of `database` (the same
/// sequence number, first timestamp and format version), keeping its records up to
/// the first one `keep` refuses: that record and every one after it are left out,
/// and so is a torn tail. The copy is written under a temporary name, synced and
/// renamed, and `dir` synced. `keep` may fail, which fails the copy.
///
/// Errors: those of [`read_segment`] for a damaged `src` (read as the newest
/// segment: a torn tail is left out, not an error); `Io` naming the file.
pub fn copy_segment_until(
    src: &Path,
    dir: &Path,
    database: DatabaseId,
    mut keep: impl FnMut(&RecordInfo) -> Result<bool>,
) -> Result<CopiedSegment> {
    // Read whole and checked first: the walk below trusts the lengths.
    let valid = match read_segment(src, true)? {
        SegmentRead::Read { valid_len, .. } => valid_len as usize,
        SegmentRead::TornHeader => {
            return Ok(CopiedSegment {
                path: None,
                kept: Vec::new(),
                cut: false,
            });
        }
    };
    let what = src.display().to_string();
    let bytes = std::fs::read(src).map_err(|e| io_error(&format!("cannot read {what}"), e))?;
    let header = match decode_header(MAGIC, WAL_VERSIONS, &what, &bytes) {
        Ok(h) => h,
        Err(HeaderError::Bad(e)) => return Err(e),
        Err(HeaderError::NotOurs) => return Err(corrupt(&what, 0, "not a WAL segment of ours")),
    };
    let timed = header.version >= 3;
    let (mut at, mut kept, mut cut) = (HEADER_LEN, Vec::new(), false);
    while at < valid {
        let len = u32_at(&bytes, at) as usize;
        let payload = &bytes[at + RECORD_HEADER..at + RECORD_HEADER + len];
        let kind = match payload[0] {
            RECORD_COMMIT => RecordKind::Commit,
            RECORD_SCHEMA => RecordKind::Schema,
            _ => RecordKind::Reservation,
        };
        let time = (timed && kind != RecordKind::Reservation)
            .then(|| super::format::micros_to_time(u64_at(payload, 9)));
        let info = RecordInfo {
            kind,
            ts: u64_at(payload, 1),
            time,
        };
        if !keep(&info)? {
            cut = true;
            break;
        }
        kept.push(info);
        at += RECORD_HEADER + len;
    }
    if kept.is_empty() {
        return Ok(CopiedSegment {
            path: None,
            kept,
            cut,
        });
    }
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let head = crate::format::encode_header(
        MAGIC,
        header.version,
        &Header {
            version: header.version,
            database,
            a: header.a,
            b: header.b,
        },
    );
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &head)?;
        std::io::Write::write_all(&mut f, &bytes[HEADER_LEN..at])?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(&format!("cannot write {}", path.display()), e));
    }
    crate::dir::sync_dir(dir)?;
    Ok(CopiedSegment {
        path: Some(path),
        kept,
        cut,
    })
}
