//! Taking images in: [`Checked`], the checks every loader applies in front of its
//! [`ImageLoader`], and the helpers the in-memory engines share to give and take
//! their name dictionaries. The contract itself ([`SnapshotSink`]) is engine-api's.

use engine_api::Result;
pub use engine_api::image::SnapshotSink;
use engine_api::image::{ImageEdge, ImageVertex, NameKind, SchemaOp};

/// Hands the part of an in-memory engine's image that comes before its objects to
/// `sink`: the three dictionaries (labels, edge types, property keys; each name
/// under its table id), the schema definitions, and the id counters.
pub fn export_preamble(
    sink: &mut dyn SnapshotSink,
    tables: [&engine_api::kit::NameTable; 3],
    schema: &[SchemaOp],
    (next_vertex, next_edge): (u64, u64),
) -> Result<()> {
    let kinds = [NameKind::Label, NameKind::EdgeType, NameKind::PropertyKey];
    for (kind, table) in kinds.into_iter().zip(tables) {
        for (i, n) in table.all().iter().enumerate() {
            sink.name(kind, i as u32, n)?;
        }
    }
    sink.schema_all(schema)?;
    sink.counters(next_vertex, next_edge)
}

/// Defines an image's dictionary entry in an in-memory engine's three tables (the
/// [`ImageLoader::name`] of both in-memory loaders). An invalid name, or one listed
/// twice or out of order, is [`Rejected::Bad`].
pub fn define_name(
    tables: [&engine_api::kit::NameTable; 3],
    kind: NameKind,
    id: u32,
    name: &str,
) -> Result<(), Rejected> {
    let [labels, edge_types, keys] = tables;
    let table = match kind {
        NameKind::Label => labels,
        NameKind::EdgeType => edge_types,
        NameKind::PropertyKey => keys,
    };
    table
        .intern_as(id, name)
        .map_err(|e| Rejected::Bad(format!("bad name: {}", e.message())))
}

/// Why an [`ImageLoader`] refused part of an image.
#[derive(Debug)]
pub enum Rejected {
    /// The image contradicts itself or the loader's state (a vertex listed twice, an
    /// edge to a vertex it does not hold): [`Checked`] returns it as `Corrupt`,
    /// naming the image.
    Bad(String),
    /// Storing failed for another reason (a full disk), returned as it is.
    Failed(engine_api::Error),
}

impl From<engine_api::Error> for Rejected {
    fn from(e: engine_api::Error) -> Self {
        Rejected::Failed(e)
    }
}

impl From<String> for Rejected {
    fn from(reason: String) -> Self {
        Rejected::Bad(reason)
    }
}

/// What a loader does with an image once [`Checked`] has vetted its order: each
/// backend's loader implements this instead of [`SnapshotSink`], so the checks every
/// image gets are written once.
pub trait ImageLoader {
    /// Whether a vertex may come after edges: a loader that checks each edge's
    /// endpoints against the vertices before it takes an interleaved image (a dump
    /// may be one); one that links edges as they come needs every vertex first.
    const VERTICES_AFTER_EDGES: bool = false;

    /// One dictionary entry.
    fn name(&mut self, kind: NameKind, id: u32, name: &str) -> Result<(), Rejected>;
    /// One schema definition (a create-operation), in image order.
    fn schema(&mut self, definition: SchemaOp) -> Result<(), Rejected>;
    /// The id counters (they may come anywhere in the image).
    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<(), Rejected>;
    /// One vertex: its id is above every vertex id before it and no edge came yet;
    /// its labels are ascending, without duplicates.
    fn vertex(&mut self, vertex: ImageVertex<'_>) -> Result<(), Rejected>;
    /// One edge: its id is above every edge id before it. Whether its endpoints
    /// exist is the loader's to check (each looks them up in its own structure).
    fn edge(&mut self, edge: ImageEdge<'_>) -> Result<(), Rejected>;
}

/// The checks every loader applies to an image, in front of its [`ImageLoader`]:
/// vertices before edges (unless [`ImageLoader::VERTICES_AFTER_EDGES`]), vertex ids
/// and edge ids ascending (each listed once), a
/// vertex's labels sorted and deduplicated. A violation, or a [`Rejected::Bad`] from
/// the loader, is `Corrupt` naming the image.
#[derive(Debug)]
pub struct Checked<L> {
    loader: L,
    what: String,
    /// The last vertex and edge id handed over.
    last_vertex: Option<u64>,
    last_edge: Option<u64>,
    /// Reused for a vertex's label ids.
    labels: Vec<u32>,
}

impl<L: ImageLoader> Checked<L> {
    /// `loader` behind the checks; `what` names the image in errors.
    pub fn new(what: impl Into<String>, loader: L) -> Self {
        Checked {
            loader,
            what: what.into(),
            last_vertex: None,
            last_edge: None,
            labels: Vec::new(),
        }
    }

    /// The image's name, as errors give it.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// A `Corrupt` error naming the image.
    pub fn bad(&self, reason: impl std::fmt::Display) -> engine_api::Error {
        engine_api::Error::corrupt(format!("{}: {reason}", self.what))
    }

    /// The loader, once the image is in.
    pub fn into_inner(self) -> L {
        self.loader
    }

    fn fail(&self, r: Rejected) -> engine_api::Error {
        match r {
            Rejected::Bad(reason) => self.bad(reason),
            Rejected::Failed(e) => e,
        }
    }
}

impl<L: ImageLoader> SnapshotSink for Checked<L> {
    fn name(&mut self, kind: NameKind, id: u32, name: &str) -> Result<()> {
        self.loader.name(kind, id, name).map_err(|r| self.fail(r))
    }

    fn schema(&mut self, definition: SchemaOp) -> Result<()> {
        self.loader.schema(definition).map_err(|r| self.fail(r))
    }

    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<()> {
        self.loader
            .counters(next_vertex, next_edge)
            .map_err(|r| self.fail(r))
    }

    fn vertex(&mut self, vertex: ImageVertex<'_>) -> Result<()> {
        let id = vertex.id;
        if !L::VERTICES_AFTER_EDGES && self.last_edge.is_some() {
            return Err(self.bad(format!("vertex {id} follows edges")));
        }
        if self.last_vertex.is_some_and(|last| last >= id) {
            return Err(self.bad(format!("vertex {id} appears twice or out of order")));
        }
        self.last_vertex = Some(id);
        let mut sorted = std::mem::take(&mut self.labels);
        sorted.clear();
        sorted.extend_from_slice(vertex.labels);
        sorted.sort_unstable();
        sorted.dedup();
        let stored = self.loader.vertex(ImageVertex {
            labels: &sorted,
            ..vertex
        });
        self.labels = sorted;
        stored.map_err(|r| self.fail(r))
    }

    fn edge(&mut self, edge: ImageEdge<'_>) -> Result<()> {
        let id = edge.id;
        if self.last_edge.is_some_and(|last| last >= id) {
            return Err(self.bad(format!("edge {id} appears twice or out of order")));
        }
        self.last_edge = Some(id);
        self.loader.edge(edge).map_err(|r| self.fail(r))
    }
}
