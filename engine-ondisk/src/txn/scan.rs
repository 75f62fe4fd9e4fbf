//! Scans and index lookup planning: which index (if any) answers a label, property
//! or edge-type scan, and the checks of its candidates.

use super::*;

impl<'e> OnDiskTxn<'e> {
    pub(super) fn scan_vertices_with_properties(
        &self,
        label: &str,
        filters: &[(&str, PropertyBounds)],
    ) -> Result<VertexIter<'_, 'e>> {
        let mut it = self.vertices_with_label(label)?;
        for (key, bounds) in filters {
            match self.engine.names.id(NameKind::PropertyKey, key) {
                Some(k) => it.filters.push((k, bounds.clone())),
                None => it.raw = None,
            }
        }
        let (Some(l), Some(_)) = (
            self.engine.names.id(NameKind::Label, label),
            it.raw.as_ref(),
        ) else {
            return Ok(it);
        };
        let keys: Vec<u32> = it.filters.iter().map(|(k, _)| *k).collect();
        let catalog = self.catalog.clone();
        let Some((_, index)) = catalog.vertex_index(l, &keys) else {
            return Ok(it);
        };
        let Target::Vertex {
            keys: index_keys, ..
        } = &index.target
        else {
            return Ok(it);
        };
        let (start, end) = vertex_range(index.id, index_keys, &it.filters);
        let mut ids = self.index_scan(&start, end)?;
        ids.extend_from_slice(&self.touched_vertices);
        ids.sort_unstable();
        ids.dedup();
        it.raw = None;
        it.candidates = Some((l, ids.into_iter()));
        Ok(it)
    }

    pub(super) fn scan_edges_with_type(
        &self,
        edge_type: &str,
        filter: Option<(&str, &PropertyBounds)>,
    ) -> Result<EdgeIter<'_, 'e>> {
        self.check()?;
        let t = self.engine.names.id(NameKind::EdgeType, edge_type);
        let k = filter.and_then(|(key, bounds)| {
            self.engine
                .names
                .id(NameKind::PropertyKey, key)
                .map(|k| (k, bounds.clone()))
        });
        let none = t.is_none() || (filter.is_some() && k.is_none());
        let mut candidates = None;
        if let (false, Some(t)) = (none, t) {
            let catalog = self.catalog.clone();
            if let Some((_, index)) = catalog.edge_index(t, k.as_ref().map(|(k, _)| *k)) {
                let (start, end) = match (&index.target, &k) {
                    (Target::Edge { key: Some(ik), .. }, Some((fk, bounds))) if ik == fk => {
                        vertex_range(index.id, &[*ik], &[(*fk, bounds.clone())])
                    }
                    _ => {
                        let p = index.id.to_be_bytes().to_vec();
                        let end = prefix_end(&p);
                        (p, end)
                    }
                };
                let mut ids = self.index_scan(&start, end)?;
                ids.extend_from_slice(&self.touched_edges);
                ids.sort_unstable();
                ids.dedup();
                candidates = Some(ids.into_iter());
            }
        }
        Ok(EdgeIter {
            txn: self,
            raw: if none || candidates.is_some() {
                None
            } else {
                Some(self.iter(EDGES, &[])?)
            },
            candidates,
            end: None,
            outgoing: true,
            then_in: false,
            both: false,
            prefix: Vec::new(),
            by_type: t.map(|t| (t, k)),
        })
    }

    pub(super) fn plan_vertex_lookup(
        &self,
        label: &str,
        keys: &[&str],
    ) -> Result<Option<IndexSpec>> {
        self.check()?;
        let names = &self.engine.names;
        let Some(l) = names.id(NameKind::Label, label) else {
            return Ok(None);
        };
        let ids: Vec<u32> = keys
            .iter()
            .filter_map(|k| names.id(NameKind::PropertyKey, k))
            .collect();
        let catalog = &self.catalog;
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
        self.check()?;
        let names = &self.engine.names;
        let Some(t) = names.id(NameKind::EdgeType, edge_type) else {
            return Ok(None);
        };
        let k = key.and_then(|k| names.id(NameKind::PropertyKey, k));
        Ok(self.catalog.edge_index(t, k).map(|(spec, _)| spec.clone()))
    }
}
