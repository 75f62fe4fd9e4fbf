//! Quiver's durability files, shared by the backends that write them: the snapshot
//! and WAL formats (see [`snapshot`] and [`wal`] for the byte layouts), the data
//! directory (layout, process lock, naming, moving files aside), retention, the
//! deletion gate behind `lock_data_directory`, the durable part both in-memory
//! engines share ([`durable`]), and the edge linker the in-memory
//! loaders share ([`link`]).
//!
//! Every file starts with a 48-byte header: an 8-byte magic, the format version, the
//! value codec's version, the database id and a CRC-32. Files without our magic are
//! foreign and left alone; files with it are checked completely and refused as
//! Corrupt (naming file and offset) on any mismatch.
#![deny(missing_docs)]

pub mod dir;
pub mod durable;
pub mod file;
pub mod format;
pub mod link;
pub mod lost;
pub mod manifest;
pub mod retention;
pub mod schema;
pub mod snapshot;
pub mod wal;

pub use dir::{DataDir, Listing, SegmentName, SnapshotName};
pub use durable::{Durable, ImageSource, SnapshotWriting};
pub use file::{DurableFile, FailingFiles, FileLayer, StdFiles};
pub use format::DatabaseId;
pub use retention::{DeletionGate, Lease};
pub use schema::SchemaOp;
pub use snapshot::{
    BlockEncoder, ImageEdge, ImageVertex, Items, NameKind, SnapshotSink, SnapshotSummary,
    SnapshotWriter,
};
pub use wal::{Arrival, CommitRecord, Ticket, WalOp, WalWriter};
