//! Identifiers of graph objects.

use std::fmt;
use std::sync::Arc;

/// The id of a vertex: assigned by the engine, never reused within one database,
/// not even after deletion or recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VertexId(pub u64);

/// The id of an edge: assigned by the engine, never reused within one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EdgeId(pub u64);

impl fmt::Display for VertexId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl fmt::Display for EdgeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

/// A label, edge type or property key as handed out by an engine: shared, cheap to
/// clone, compared by content.
pub type Name = Arc<str>;

/// Checks a label, edge type or property key given by a caller: any UTF-8 string
/// except the empty one.
pub fn validate_name(kind: &str, name: &str) -> crate::Result<()> {
    if name.is_empty() {
        return Err(crate::Error::invalid_input(format!(
            "{kind} must not be the empty string"
        )));
    }
    Ok(())
}

/// Which edges of a vertex to visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Edges whose source is the vertex.
    Out,
    /// Edges whose target is the vertex.
    In,
    /// Both; a self-loop is yielded once.
    Both,
}

/// An edge as seen by a transaction: its id, type and endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EdgeRecord {
    /// The edge's id.
    pub id: EdgeId,
    /// The edge type.
    pub edge_type: Name,
    /// The vertex the edge leaves.
    pub source: VertexId,
    /// The vertex the edge enters.
    pub target: VertexId,
}

/// An edge borrowed for one call of [`crate::Transaction::with_edge`]: like
/// [`EdgeRecord`], with the type's name borrowed from the engine's dictionary instead
/// of shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EdgeRef<'a> {
    /// The edge's id.
    pub id: EdgeId,
    /// The edge type.
    pub edge_type: &'a str,
    /// The vertex the edge leaves.
    pub source: VertexId,
    /// The vertex the edge enters.
    pub target: VertexId,
}

/// How [`crate::Transaction::delete_vertex`] treats the vertex's edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeleteMode {
    /// Fail with [`crate::ErrorKind::HasEdges`] if the vertex has any edge.
    Plain,
    /// Delete the vertex's edges too (Cypher's `DETACH DELETE`).
    Detach,
}
