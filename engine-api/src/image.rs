//! Database images: how a whole database leaves one engine and enters another.
//!
//! An image is a database in snapshot order: its name dictionaries, its schema
//! (create-operations), its id counters, then every vertex and every edge in id
//! order, properties in the [`crate::codec`]'s property-record form. A snapshot file
//! holds one; an engine's [`ImageEngine::export`] hands one to a [`SnapshotSink`],
//! and each backend has a way to build a database from one. Mode switches, migrate,
//! backup and restore in the `quiver` facade are built on this contract alone.

use crate::{ConstraintSpec, IndexSpec, Result, StorageEngine, TriggerSpec};

/// A database's id: chosen at creation, written into every file, so a file of one
/// database is never applied to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DatabaseId(pub [u8; 16]);

impl DatabaseId {
    /// A new random id.
    pub fn random() -> Self {
        DatabaseId(*uuid::Uuid::new_v4().as_bytes())
    }
}

impl std::fmt::Display for DatabaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", uuid::Uuid::from_bytes(self.0))
    }
}

/// Which dictionary a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// Labels.
    Label = 0,
    /// Edge types.
    EdgeType = 1,
    /// Property keys.
    PropertyKey = 2,
}

/// One schema change: the WAL logs each; an image's schema is a list of the
/// create-operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaOp {
    /// An index was created.
    CreateIndex(IndexSpec),
    /// An index was dropped.
    DropIndex(IndexSpec),
    /// A constraint was created (it held on the data at that point).
    CreateConstraint(ConstraintSpec),
    /// A constraint was dropped.
    DropConstraint(ConstraintSpec),
    /// A trigger was stored.
    CreateTrigger(TriggerSpec),
    /// A trigger was removed, by name.
    DropTrigger(String),
}

/// Receives a database image, in snapshot order: dictionaries, schema, counters,
/// vertices in id order, edges in id order. Snapshot readers hand over a file's
/// contents (every id checked against the dictionaries, every property record
/// checked to decode); engines export into one (the `durability` crate's snapshot writer is one), which is
/// also how a database moves between in-memory modes without a file.
pub trait SnapshotSink {
    /// One dictionary entry.
    fn name(&mut self, kind: NameKind, id: u32, name: &str) -> Result<()>;
    /// One schema definition (a create-operation), in file order.
    fn schema(&mut self, definition: SchemaOp) -> Result<()>;
    /// Every schema definition at once (a writer puts them in one block).
    fn schema_all(&mut self, definitions: &[SchemaOp]) -> Result<()> {
        for d in definitions {
            self.schema(d.clone())?;
        }
        Ok(())
    }
    /// The id counters.
    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<()>;
    /// One vertex.
    fn vertex(&mut self, vertex: ImageVertex<'_>) -> Result<()>;
    /// One edge.
    fn edge(&mut self, edge: ImageEdge<'_>) -> Result<()>;
}

/// One vertex of an image, borrowed from whoever hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageVertex<'a> {
    /// Its id.
    pub id: u64,
    /// Its label ids, ascending and without duplicates.
    pub labels: &'a [u32],
    /// Its properties in the codec's property-record form.
    pub props: &'a [u8],
    /// How many (outgoing, incoming) edges it has in the image: an exporter that
    /// knows passes it, so a loader sizes the vertex's adjacency once instead of
    /// growing it edge by edge. A hint only: it need not be exact, `(0, 0)` when
    /// unknown, and the file format does not carry it.
    pub degree: (u32, u32),
}

impl<'a> ImageVertex<'a> {
    /// A vertex whose degree is unknown (`(0, 0)`).
    pub fn new(id: u64, labels: &'a [u32], props: &'a [u8]) -> Self {
        ImageVertex {
            id,
            labels,
            props,
            degree: (0, 0),
        }
    }

    /// The same vertex with its (outgoing, incoming) degree hint.
    pub fn with_degree(self, degree: (u32, u32)) -> Self {
        ImageVertex { degree, ..self }
    }
}

/// One edge of an image, borrowed from whoever hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageEdge<'a> {
    /// Its id.
    pub id: u64,
    /// Its edge type id.
    pub edge_type: u32,
    /// The vertex it leaves.
    pub source: u64,
    /// The vertex it enters.
    pub target: u64,
    /// Its properties in the codec's property-record form.
    pub props: &'a [u8],
}

impl<'a> ImageEdge<'a> {
    /// An edge from `source` to `target`.
    pub fn new(id: u64, edge_type: u32, source: u64, target: u64, props: &'a [u8]) -> Self {
        ImageEdge {
            id,
            edge_type,
            source,
            target,
            props,
        }
    }
}

/// The image contract: what a backend offers besides [`StorageEngine`] so that a
/// database can switch storage modes, be migrated, backed up and restored. The
/// `quiver` facade builds those operations on these calls alone.
pub trait ImageEngine: StorageEngine {
    /// What [`ImageEngine::import`] needs besides the image: the backend's own
    /// configuration.
    type Config;

    /// Builds a database from the image `produce` hands to the sink it is given
    /// (another engine's `export`, a snapshot file's reader, a dump's); `produce`
    /// returns the image's commit timestamp (0 if it has none), which the new
    /// database's commits continue after. Ids, names, indexes, constraints and
    /// triggers are kept as the image has them. Each backend's docs say where the
    /// database goes (memory, or an empty data directory).
    ///
    /// Errors: whatever `produce` returns; `Corrupt` for an image that breaks its
    /// order or contradicts itself; the backend's own refusals (a constraint a mode
    /// cannot enforce, a directory that is not empty).
    fn import(
        config: Self::Config,
        produce: impl FnOnce(&mut dyn SnapshotSink) -> Result<u64>,
    ) -> Result<Self>;

    /// Hands the newest committed state to `sink` as one consistent image and
    /// returns its commit timestamp. Writers may go on meanwhile (each backend's
    /// docs say whether they wait).
    fn export(&self, sink: &mut dyn SnapshotSink) -> Result<u64>;

    /// The id every file of the database carries; `None` for a memory-only engine.
    fn database_id(&self) -> Option<DatabaseId>;

    /// Closes without the snapshot [`StorageEngine::close`] writes when snapshots on
    /// exit are on (for a caller that has just written one); everything else
    /// `close` flushes is flushed.
    fn close_without_snapshot(self) -> Result<()>;
}
