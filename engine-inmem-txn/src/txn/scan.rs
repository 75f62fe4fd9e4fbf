//! Scans and index lookup planning: which index (if any) answers a label, property
//! or edge-type scan, and the visibility checks of its candidates.

use super::*;
use crate::graph::Graph;

impl<'e> InMemoryTxn<'e> {
    pub(super) fn scan_vertices_with_properties(
        &self,
        label: &str,
        filters: &[(&str, PropertyBounds)],
    ) -> Result<VertexIter<'_, 'e>> {
        self.ensure_usable()?;
        let Some(l) = self.inner.graph.labels.lookup(label) else {
            return Ok(VertexIter::empty(self));
        };
        let mut resolved = Vec::with_capacity(filters.len());
        for (key, bounds) in filters {
            match self.inner.graph.keys.lookup(key) {
                Some(k) => resolved.push((k, bounds.clone())),
                // No vertex has ever had this property.
                None => return Ok(VertexIter::empty(self)),
            }
        }
        let keys: Vec<u32> = resolved.iter().map(|(k, _)| *k).collect();
        let catalog = self.inner.schema.catalog.load();
        Ok(match catalog.vertex_index(l, &keys) {
            Some((_, set)) => {
                let ids = set.candidates(&resolved);
                VertexIter::candidates(self, l, ids, resolved)
            }
            None => VertexIter::label(self, l, resolved),
        })
    }

    pub(super) fn scan_edges_with_type(
        &self,
        edge_type: &str,
        filter: Option<(&str, &PropertyBounds)>,
    ) -> Result<EdgeIter> {
        self.ensure_usable()?;
        let Some(t) = self.inner.graph.edge_types.lookup(edge_type) else {
            return Ok(EdgeIter::new(Vec::new()));
        };
        let filter = match filter {
            None => None,
            Some((key, bounds)) => match self.inner.graph.keys.lookup(key) {
                Some(k) => Some((k, bounds.clone())),
                None => return Ok(EdgeIter::new(Vec::new())),
            },
        };
        let catalog = self.inner.schema.catalog.load();
        let mut records = Vec::new();
        match catalog.edge_index(t, filter.as_ref().map(|(k, _)| *k)) {
            Some((_, set)) => {
                let bounds = filter
                    .as_ref()
                    .filter(|(k, _)| set.key == Some(*k))
                    .map(|(_, b)| b);
                for id in set.candidates(bounds) {
                    if let Some(r) = self.edge_matching(id, t, filter.as_ref())? {
                        records.push(r);
                    }
                }
            }
            None => {
                // Every edge is the outgoing edge of exactly one visible vertex.
                for v in VertexIter::all(self) {
                    let (out, _) = self.visible_adjacency(v?)?;
                    for a in out.iter().filter(|a| a.edge_type == t) {
                        if let Some(r) = self.edge_matching(a.edge.0, t, filter.as_ref())? {
                            records.push(r);
                        }
                    }
                }
                records.sort_unstable_by_key(|r| r.id);
            }
        }
        Ok(EdgeIter::new(records))
    }

    pub(super) fn plan_vertex_lookup(
        &self,
        label: &str,
        keys: &[&str],
    ) -> Result<Option<IndexSpec>> {
        self.ensure_usable()?;
        let Some(l) = self.inner.graph.labels.lookup(label) else {
            return Ok(None);
        };
        let ids: Vec<u32> = keys
            .iter()
            .filter_map(|k| self.inner.graph.keys.lookup(k))
            .collect();
        let catalog = self.inner.schema.catalog.load();
        if ids.len() == keys.len()
            && let Some((spec, _)) = catalog.vertex_index(l, &ids)
        {
            return Ok(Some(spec.clone()));
        }
        Ok(catalog.label_index(l).cloned())
    }

    pub(super) fn plan_edge_lookup(
        &self,
        edge_type: &str,
        key: Option<&str>,
    ) -> Result<Option<IndexSpec>> {
        self.ensure_usable()?;
        let Some(t) = self.inner.graph.edge_types.lookup(edge_type) else {
            return Ok(None);
        };
        let k = match key {
            Some(k) => self.inner.graph.keys.lookup(k),
            None => None,
        };
        let catalog = self.inner.schema.catalog.load();
        Ok(catalog.edge_index(t, k).map(|(spec, _)| spec.clone()))
    }

    /// The record of edge `id` if it is visible, of `edge_type` and selected by the
    /// filter. Used by the edge-type lookups.
    pub(super) fn edge_matching(
        &self,
        id: u64,
        edge_type: u32,
        filter: Option<&(u32, PropertyBounds)>,
    ) -> Result<Option<EdgeRecord>> {
        let found = self.read_edge(EdgeId(id), |state, view| {
            if state.edge_type != edge_type {
                return Ok(None);
            }
            if let Some((key, bounds)) = filter {
                let value = property_at_view(&state.props, &state.delta, view, *key)?;
                if !value.is_some_and(|v| bounds.matches(&v)) {
                    return Ok(None);
                }
            }
            Ok(Some((state.source, state.target)))
        })?;
        match found.flatten() {
            Some((source, target)) => Ok(Some(EdgeRecord {
                id: EdgeId(id),
                edge_type: self.inner.graph.edge_types.name(edge_type)?,
                source,
                target,
            })),
            None => Ok(None),
        }
    }
}

impl ScanView for InMemoryTxn<'_> {
    fn graph(&self) -> &Graph {
        &self.inner.graph
    }

    /// Whether vertex `id` is visible, has `label` (if given) and properties selected
    /// by every filter. Used by the scans.
    fn vertex_matches(
        &self,
        id: u64,
        label: Option<u32>,
        filters: &[(u32, PropertyBounds)],
    ) -> Result<bool> {
        let found = self.read_vertex(VertexId(id), |state, view| {
            if let Some(l) = label {
                let mut has = state.labels.contains(&l);
                for u in view.undos(&state.delta) {
                    match u {
                        Undo::AddLabel(x) if *x == l => has = true,
                        Undo::RemoveLabel(x) if *x == l => has = false,
                        _ => {}
                    }
                }
                if !has {
                    return Ok(false);
                }
            }
            for (key, bounds) in filters {
                let value = property_at_view(&state.props, &state.delta, view, *key)?;
                if !value.is_some_and(|v| bounds.matches(&v)) {
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        Ok(found.unwrap_or(false))
    }
}
