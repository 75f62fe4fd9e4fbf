//! Scans and index lookup planning: which index (if any) answers a label, property
//! or edge-type scan, and the checks of its candidates.

use super::*;

impl<'e> AnalyticalTxn<'e> {
    pub(super) fn scan_vertices_with_properties(
        &self,
        label: &str,
        filters: &[(&str, PropertyBounds)],
    ) -> Result<VertexIter<'_>> {
        let (Some(l), Some(filters)) = (
            self.inner.graph.labels.lookup(label),
            self.resolve_filters(filters),
        ) else {
            return Ok(VertexIter::empty(self.inner));
        };
        let cat = self.inner.schema.current();
        let keys: Vec<u32> = filters.iter().map(|(k, _)| *k).collect();
        Ok(match self.vertex_set(&cat, l, &keys) {
            Some(set) => {
                let refs: Vec<(u32, &PropertyBounds)> =
                    filters.iter().map(|(k, b)| (*k, b)).collect();
                VertexIter::ids(self.inner, set.candidates(&refs), l, filters)
            }
            None => VertexIter::bitmap(
                self.inner,
                self.inner.graph.label_index.members(l),
                l,
                filters,
            ),
        })
    }

    pub(super) fn scan_edges_with_type(
        &self,
        edge_type: &str,
        filter: Option<(&str, &PropertyBounds)>,
    ) -> Result<EdgeIter<'_>> {
        let Some(t) = self.inner.graph.edge_types.lookup(edge_type) else {
            return Ok(EdgeIter::empty(self.inner));
        };
        let filter = match filter {
            Some((k, b)) => match self.inner.graph.keys.lookup(k) {
                Some(k) => Some((k, b.clone())),
                None => return Ok(EdgeIter::empty(self.inner)),
            },
            None => None,
        };
        let cat = self.inner.schema.current();
        Ok(
            match self.edge_set(&cat, t, filter.as_ref().map(|(k, _)| *k)) {
                Some(set) => {
                    let refs: Vec<(u32, &PropertyBounds)> =
                        filter.iter().map(|(k, b)| (*k, b)).collect();
                    EdgeIter::ids(self.inner, set.candidates(&refs), t, filter)
                }
                None => EdgeIter::scan(self.inner, 0..self.inner.graph.edge_end(), t, filter),
            },
        )
    }

    pub(super) fn plan_vertex_lookup(
        &self,
        label: &str,
        keys: &[&str],
    ) -> Result<Option<IndexSpec>> {
        let (Some(l), Some(keys)) = (
            self.inner.graph.labels.lookup(label),
            keys.iter()
                .map(|k| self.inner.graph.keys.lookup(k))
                .collect::<Option<Vec<u32>>>(),
        ) else {
            return Ok(None);
        };
        let cat = self.inner.schema.current();
        Ok(self.vertex_set(&cat, l, &keys).map(|s| s.spec.clone()))
    }

    pub(super) fn plan_edge_lookup(
        &self,
        edge_type: &str,
        key: Option<&str>,
    ) -> Result<Option<IndexSpec>> {
        let Some(t) = self.inner.graph.edge_types.lookup(edge_type) else {
            return Ok(None);
        };
        let key = match key {
            Some(k) => match self.inner.graph.keys.lookup(k) {
                Some(k) => Some(k),
                None => return Ok(None),
            },
            None => None,
        };
        let cat = self.inner.schema.current();
        Ok(self.edge_set(&cat, t, key).map(|s| s.spec.clone()))
    }
}
