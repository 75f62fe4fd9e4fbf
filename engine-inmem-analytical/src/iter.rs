//! Iterators over vertices and edges. Each yields what is there when it reaches an
//! object (writes land at once in this mode), checking every object it yields
//! against its filters under the object's lock.

use std::ops::Range;

use engine_api::{EdgeId, EdgeRecord, Name, PropertyBounds, Result, VertexId};
use roaring::RoaringTreemap;

use crate::graph::Adj;
use crate::inner::Inner;
use crate::props;

enum Ids {
    Range(Range<u64>),
    List(std::vec::IntoIter<u64>),
    Bitmap(Box<roaring::treemap::IntoIter>),
}

impl Iterator for Ids {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        match self {
            Ids::Range(r) => r.next(),
            Ids::List(l) => l.next(),
            Ids::Bitmap(b) => b.next(),
        }
    }
}

/// Vertex ids in ascending order.
pub struct VertexIter<'t> {
    inner: &'t Inner,
    ids: Ids,
    label: Option<u32>,
    filters: Vec<(u32, PropertyBounds)>,
}

impl std::fmt::Debug for VertexIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexIter")
            .field("label", &self.label)
            .field("filters", &self.filters.len())
            .finish_non_exhaustive()
    }
}

impl<'t> VertexIter<'t> {
    pub(crate) fn range(inner: &'t Inner, ids: Range<u64>) -> Self {
        VertexIter {
            inner,
            ids: Ids::Range(ids),
            label: None,
            filters: Vec::new(),
        }
    }

    pub(crate) fn empty(inner: &'t Inner) -> Self {
        Self::range(inner, 0..0)
    }

    pub(crate) fn bitmap(
        inner: &'t Inner,
        members: RoaringTreemap,
        label: u32,
        filters: Vec<(u32, PropertyBounds)>,
    ) -> Self {
        VertexIter {
            inner,
            ids: Ids::Bitmap(Box::new(members.into_iter())),
            label: Some(label),
            filters,
        }
    }

    pub(crate) fn ids(
        inner: &'t Inner,
        ids: Vec<u64>,
        label: u32,
        filters: Vec<(u32, PropertyBounds)>,
    ) -> Self {
        VertexIter {
            inner,
            ids: Ids::List(ids.into_iter()),
            label: Some(label),
            filters,
        }
    }

    /// Whether vertex `id` exists and passes the filters now.
    fn selected(&self, id: u64) -> Result<bool> {
        let Some(slot) = self.inner.graph.vertex(id) else {
            return Ok(false);
        };
        let g = slot.read();
        let Some(v) = &*g else { return Ok(false) };
        if self.label.is_some_and(|l| !v.has_label(l)) {
            return Ok(false);
        }
        for (k, b) in &self.filters {
            match props::get(&v.props, *k)? {
                Some(value) if b.matches(&value) => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }
}

impl Iterator for VertexIter<'_> {
    type Item = Result<VertexId>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let id = self.ids.next()?;
            match self.selected(id) {
                Ok(true) => return Some(Ok(VertexId(id))),
                Ok(false) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

enum EdgeSource {
    /// A vertex's adjacency, copied; `true` marks an outgoing entry.
    Adjacent {
        vertex: u64,
        list: std::vec::IntoIter<(Adj, bool)>,
    },
    /// Edge ids to check against a type and an optional property filter.
    Scan {
        ids: Ids,
        edge_type: u32,
        filter: Option<(u32, PropertyBounds)>,
    },
}

/// Edges: of one vertex in insertion order, or of one type in ascending id order.
pub struct EdgeIter<'t> {
    inner: &'t Inner,
    source: EdgeSource,
    /// The last type name looked up (expansions mostly meet one type in a row).
    type_name: Option<(u32, Name)>,
}

impl std::fmt::Debug for EdgeIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeIter").finish_non_exhaustive()
    }
}

impl<'t> EdgeIter<'t> {
    pub(crate) fn empty(inner: &'t Inner) -> Self {
        Self::adjacent(inner, 0, Vec::new())
    }

    pub(crate) fn adjacent(inner: &'t Inner, vertex: u64, list: Vec<(Adj, bool)>) -> Self {
        EdgeIter {
            inner,
            source: EdgeSource::Adjacent {
                vertex,
                list: list.into_iter(),
            },
            type_name: None,
        }
    }

    pub(crate) fn scan(
        inner: &'t Inner,
        ids: Range<u64>,
        edge_type: u32,
        filter: Option<(u32, PropertyBounds)>,
    ) -> Self {
        EdgeIter {
            inner,
            source: EdgeSource::Scan {
                ids: Ids::Range(ids),
                edge_type,
                filter,
            },
            type_name: None,
        }
    }

    pub(crate) fn ids(
        inner: &'t Inner,
        ids: Vec<u64>,
        edge_type: u32,
        filter: Option<(u32, PropertyBounds)>,
    ) -> Self {
        EdgeIter {
            inner,
            source: EdgeSource::Scan {
                ids: Ids::List(ids.into_iter()),
                edge_type,
                filter,
            },
            type_name: None,
        }
    }

    fn type_name(&mut self, t: u32) -> Result<Name> {
        if let Some((id, name)) = &self.type_name
            && *id == t
        {
            return Ok(name.clone());
        }
        let name = self.inner.graph.edge_types.name(t)?;
        self.type_name = Some((t, name.clone()));
        Ok(name)
    }

    /// The next edge of a scan that exists and passes the filter: (id, source, target).
    fn next_scanned(&mut self) -> Option<Result<(u64, u32, u64, u64)>> {
        let EdgeSource::Scan {
            ids,
            edge_type,
            filter,
        } = &mut self.source
        else {
            return None;
        };
        loop {
            let id = ids.next()?;
            let Some(slot) = self.inner.graph.edge(id) else {
                continue;
            };
            let g = slot.read();
            let Some(e) = &*g else { continue };
            if e.edge_type != *edge_type {
                continue;
            }
            if let Some((k, b)) = filter {
                match props::get(&e.props, *k) {
                    Ok(Some(v)) if b.matches(&v) => {}
                    Ok(_) => continue,
                    Err(err) => return Some(Err(err)),
                }
            }
            return Some(Ok((id, e.edge_type, e.source, e.target)));
        }
    }
}

impl Iterator for EdgeIter<'_> {
    type Item = Result<EdgeRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let (id, t, source, target) = match &mut self.source {
            EdgeSource::Adjacent { vertex, list } => {
                let (a, out) = list.next()?;
                let (s, d) = if out {
                    (*vertex, a.other)
                } else {
                    (a.other, *vertex)
                };
                (a.edge, a.edge_type, s, d)
            }
            EdgeSource::Scan { .. } => match self.next_scanned()? {
                Ok(found) => found,
                Err(e) => return Some(Err(e)),
            },
        };
        Some(self.type_name(t).map(|edge_type| EdgeRecord {
            id: EdgeId(id),
            edge_type,
            source: VertexId(source),
            target: VertexId(target),
        }))
    }
}
