//! The write-ahead log: one checksummed record per committed transaction, in
//! segments, written with group commit.
//!
//! # Format, version 3
//! ```text
//! segment  header (48 bytes): magic "QVWAL001", version, codec version, database id,
//!          segment sequence number (u64), commit timestamp of its first record (u64),
//!          CRC-32
//!          record*
//! record   payload length (u32), CRC-32 of the length bytes (u32), CRC-32 of the
//!          length bytes and the payload (u32), payload: kind (u8), timestamp (u64),
//!          then by kind: 1 commit: (version 3 on) the wall-clock time it was logged
//!          (u64, microseconds since the Unix epoch), op count, ops; 2 id reservation: the vertex and edge
//!          id bounds (u64 each) below which ids may have been handed out (its
//!          timestamp is the next commit timestamp to be taken); 3 schema change
//!          (version 2): one op of the `schema` module's format, timestamped like a
//!          reservation (it applies before the commit with that timestamp); from
//!          version 3 its time (as a commit's) comes before the op
//! op       tag (u8) and fields; names are strings, values the value codec's:
//!          1 create vertex (id, labels, properties)   2 add label (vertex, label)
//!          3 remove label (vertex, label)              4 set vertex property
//!          (vertex, key, value; Null removes)          5 delete vertex (id)
//!          6 create edge (id, source, target, type, properties)
//!          7 set edge property (edge, key, value)      8 delete edge (id)
//! ```
//! Commit times never decrease within one run of the writer (a clock set back is
//! read as the previous commit's time); between runs they follow the system clock.
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

mod format;
mod reader;
#[cfg(test)]
mod tests;
mod writer;

pub use format::{CommitRecord, WalOp, encode_ops};
pub use reader::{
    CopiedSegment, RecordInfo, RecordKind, SchemaRecord, SegmentHeader, SegmentRead,
    copy_segment_until, nothing_after, read_live_segment_header, read_segment, read_segment_header,
    truncate_segment,
};
pub use writer::{Arrival, Ticket, WalWriter};

pub(crate) const MAGIC: &[u8; 8] = b"QVWAL001";
/// The WAL format version this build writes. It reads versions 1 (without schema
/// records) and 2 (without commit times) too, as they are: their commits have no
/// time. A database opened by this build writes its new segments in version 3 and
/// leaves older segments as they are until retention deletes them.
pub const WAL_VERSION: u16 = 3;
pub(crate) const WAL_VERSIONS: std::ops::RangeInclusive<u16> = 1..=WAL_VERSION;
pub(crate) const RECORD_COMMIT: u8 = 1;
pub(crate) const RECORD_RESERVE: u8 = 2;
pub(crate) const RECORD_SCHEMA: u8 = 3;
/// A record longer than this is refused as corrupt.
pub(crate) const RECORD_MAX: usize = 1 << 30;
/// Bytes before a record's payload: length, CRC of the length, CRC of the record.
pub(crate) const RECORD_HEADER: usize = 12;
