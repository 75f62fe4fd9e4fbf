//! The snapshot file's format: block kinds, the header, and how vertices and edges
//! are encoded (the module docs of [`crate::snapshot`] give the layout).

use std::time::{SystemTime, UNIX_EPOCH};

use engine_api::codec::put_uvarint;

use crate::format::{DatabaseId, HEADER_LEN, Header, encode_header};

pub(super) const MAGIC: &[u8; 8] = b"QVSNAP01";
/// The snapshot format version this build writes. It reads versions 1 (without a
/// schema block) and 2 (without vertex degrees) too.
pub const SNAPSHOT_VERSION: u16 = 3;
pub(super) const SNAPSHOT_VERSIONS: std::ops::RangeInclusive<u16> = 1..=SNAPSHOT_VERSION;

pub(super) const BLOCK_NAMES: u8 = 1;
pub(super) const BLOCK_COUNTERS: u8 = 2;
pub(super) const BLOCK_VERTICES: u8 = 3;
pub(super) const BLOCK_EDGES: u8 = 4;
pub(super) const BLOCK_SCHEMA: u8 = 5;
pub(super) const BLOCK_FOOTER: u8 = 255;
pub(super) const BLOCK_TARGET: usize = 64 * 1024;
/// A block longer than this is refused as corrupt (the writer never makes one).
pub(super) const BLOCK_MAX: usize = 64 * 1024 * 1024;

pub use engine_api::image::NameKind;

/// What a snapshot's header and footer say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// The database it belongs to.
    pub database: DatabaseId,
    /// The commit timestamp of its state.
    pub commit_ts: u64,
    /// When it was written.
    pub created_at: SystemTime,
    /// Vertices in it.
    pub vertices: u64,
    /// Edges in it.
    pub edges: u64,
}

/// A block's 9-byte head: kind, payload length, CRC-32 of both and the payload.
pub(super) fn frame(kind: u8, payload: &[u8]) -> [u8; 9] {
    let len = payload.len() as u32;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[kind]);
    hasher.update(&len.to_le_bytes());
    hasher.update(payload);
    let mut head = [0u8; 9];
    head[0] = kind;
    head[1..5].copy_from_slice(&len.to_le_bytes());
    head[5..9].copy_from_slice(&hasher.finalize().to_le_bytes());
    head
}

/// Appends one vertex item.
pub(super) fn encode_vertex(
    out: &mut Vec<u8>,
    id: u64,
    labels: &[u32],
    props: &[u8],
    degree: (u32, u32),
) {
    put_uvarint(out, id);
    put_uvarint(out, labels.len() as u64);
    for l in labels {
        put_uvarint(out, u64::from(*l));
    }
    put_uvarint(out, u64::from(degree.0));
    put_uvarint(out, u64::from(degree.1));
    put_uvarint(out, props.len() as u64);
    out.extend_from_slice(props);
}

/// Appends one edge item. Its five varints are encoded into a local buffer and
/// appended in one copy (a push per byte checked the buffer's capacity each time:
/// 10% of a snapshot's time).
pub(super) fn encode_edge(
    out: &mut Vec<u8>,
    id: u64,
    edge_type: u32,
    source: u64,
    target: u64,
    props: &[u8],
) {
    let mut head = [0u8; EDGE_HEAD_MAX];
    let n = edge_head_into(&mut head, id, edge_type, source, target, props.len());
    out.extend_from_slice(&head[..n]);
    out.extend_from_slice(props);
}

/// The most bytes an edge item's head (five varints) takes.
pub(super) const EDGE_HEAD_MAX: usize = 50;

/// Writes an edge item's head (its five varints) at the start of `buf` (at least
/// [`EDGE_HEAD_MAX`] bytes); returns its length. The record's bytes follow it.
pub(super) fn edge_head_into(
    buf: &mut [u8],
    id: u64,
    edge_type: u32,
    source: u64,
    target: u64,
    props_len: usize,
) -> usize {
    let mut n = 0;
    for v in [id, u64::from(edge_type), source, target, props_len as u64] {
        n += varint_into(&mut buf[n..], v);
    }
    n
}

/// The most bytes a vertex item's head takes, with `labels` labels.
pub(super) fn vertex_head_max(labels: usize) -> usize {
    10 * (5 + labels)
}

/// Writes a vertex item's head (the varints [`encode_vertex`] appends before the
/// record) at the start of `buf` (at least [`vertex_head_max`] bytes); returns its
/// length.
pub(super) fn vertex_head_into(
    buf: &mut [u8],
    id: u64,
    labels: &[u32],
    props_len: usize,
    degree: (u32, u32),
) -> usize {
    let mut n = varint_into(buf, id);
    n += varint_into(&mut buf[n..], labels.len() as u64);
    for l in labels {
        n += varint_into(&mut buf[n..], u64::from(*l));
    }
    for v in [u64::from(degree.0), u64::from(degree.1), props_len as u64] {
        n += varint_into(&mut buf[n..], v);
    }
    n
}

/// Writes `v` as a varint at the start of `buf` (at least 10 bytes); returns its
/// length. The same bytes as [`put_uvarint`].
pub(super) fn varint_into(buf: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        buf[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    buf[i] = v as u8;
    i + 1
}

/// A snapshot file's header.
pub(super) fn header_bytes(
    database: DatabaseId,
    commit_ts: u64,
    created: SystemTime,
) -> [u8; HEADER_LEN] {
    let micros = created
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    encode_header(
        MAGIC,
        SNAPSHOT_VERSION,
        &Header {
            version: SNAPSHOT_VERSION,
            database,
            a: commit_ts,
            b: micros,
        },
    )
}
