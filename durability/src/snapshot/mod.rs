//! The snapshot file: a complete, consistent image of a database at one commit
//! timestamp.
//!
//! # Format, version 3
//! ```text
//! header   48 bytes: magic "QVSNAP01", version, codec version, database id,
//!          commit timestamp (u64), creation time in µs since the epoch (u64), CRC-32
//! block*   kind (u8), payload length (u32), CRC-32 of kind, length and payload (u32),
//!          payload
//! ```
//! Block kinds, in file order:
//! - 1 names: `kind` (0 labels, 1 edge types, 2 property keys), count, then
//!   (id, string)* — every id a later block uses is defined here first;
//! - 5 schema (version 2; at most one, after the names): count, then the
//!   create-operations of every index, constraint and trigger, in the `schema`
//!   module's format;
//! - 2 counters: the next vertex id and next edge id to hand out;
//! - 3 vertices: count, then (id, label count, label ids, outgoing degree, incoming
//!   degree, property-record length, property record)* — the degrees (version 3) are
//!   a loader's hint for sizing adjacency; a writer that does not know them writes 0;
//! - 4 edges: count, then (id, type id, source, target, property-record length,
//!   property record)*;
//! - 255 footer: vertex count, edge count, number of blocks before it (u64 each). The
//!   file ends right after it.
//!
//! Integers inside payloads are varints; property records are the value codec's. A
//! reader checks every checksum, that every id it meets was defined, every count, and
//! that nothing follows the footer; any mismatch is Corrupt, naming file and offset.
//! Blocks hold up to about 64 KiB, so writing and reading need bounded memory, and
//! each block can be decoded on its own. A writer may encode the vertex and edge
//! blocks on several threads ([`SnapshotWriter::write_parallel`]): each thread
//! encodes whole id ranges, and the file still holds them in id order.
//!
//! Versions 1 (no schema block) and 2 (no degrees) are read as well.
//!
//! The module parts: `format` (block kinds, the header, item encodings),
//! `writer` (streaming and parallel writing, copying a snapshot under another
//! database), `reader` (verifying reads, the header, the listing), `sink` (the
//! image contract engines export into and loaders receive, and the checks every
//! loader shares).

mod format;
mod reader;
mod sink;
#[cfg(test)]
mod tests;
mod writer;

pub use engine_api::{ImageEdge, ImageVertex};
pub use format::{NameKind, SNAPSHOT_VERSION, SnapshotSummary};
pub use reader::{
    held_commit, read_snapshot, read_snapshot_counts, read_snapshot_header, read_snapshot_schema,
    snapshot_infos,
};
pub use sink::{Checked, ImageLoader, Rejected, SnapshotSink, define_name, export_preamble};
pub use writer::{BlockEncoder, Items, SnapshotWriter, copy_snapshot};
