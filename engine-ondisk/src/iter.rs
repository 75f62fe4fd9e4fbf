//! The iterators of vertex and edge scans: over `vertices`, a label's index entries,
//! an index range's candidates, or adjacency, each checked against the transaction's
//! view.

use engine_api::codec::find_property;
use engine_api::{EdgeId, EdgeRecord, PropertyBounds, Result, VertexId};

use crate::keys::{
    EDGES, EdgeValue, IN, OUT, VERTICES, decode_adjacency_key, decode_id_key, decode_label_key,
    prefix_end, rocks,
};
use crate::metadata::NameKind;

use crate::txn::{OnDiskTxn, RawIter, corrupt_props};

/// Where a vertex iterator's ids come from.
pub(super) enum VertexSource {
    All,
    Label,
}

/// Vertex ids from a scan of `vertices` or of one label's index entries, optionally
/// filtered by a property.
pub struct VertexIter<'t, 'e> {
    pub(super) txn: &'t OnDiskTxn<'e>,
    pub(super) raw: Option<RawIter<'t>>,
    pub(super) end: Option<Vec<u8>>,
    pub(super) source: VertexSource,
    pub(super) filters: Vec<(u32, PropertyBounds)>,
    /// Candidates from an index (and the transaction's own writes), each checked
    /// against its record: (label, ids).
    pub(super) candidates: Option<(u32, std::vec::IntoIter<u64>)>,
}

impl std::fmt::Debug for VertexIter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexIter").finish_non_exhaustive()
    }
}

impl VertexIter<'_, '_> {
    fn step_candidates(&mut self) -> Result<Option<VertexId>> {
        let Some((label, ids)) = self.candidates.as_mut() else {
            return Ok(None);
        };
        let label = *label;
        'ids: for id in ids.by_ref() {
            let Some(record) = self.txn.vertex_at(id, true)? else {
                continue;
            };
            if record.labels.binary_search(&label).is_err() {
                continue;
            }
            for (k, bounds) in &self.filters {
                let value = find_property(&record.props, *k)
                    .map_err(corrupt_props("vertex property record"))?;
                if !value.is_some_and(|value| bounds.matches(&value)) {
                    continue 'ids;
                }
            }
            return Ok(Some(VertexId(id)));
        }
        self.candidates = None;
        Ok(None)
    }

    fn step(&mut self) -> Result<Option<VertexId>> {
        if self.candidates.is_some() {
            return self.step_candidates();
        }
        loop {
            let Some(raw) = self.raw.as_mut() else {
                return Ok(None);
            };
            let Some(key) = raw.key() else {
                let status = raw.status();
                self.raw = None;
                status.map_err(|e| rocks("cannot scan vertices", e))?;
                return Ok(None);
            };
            if self.end.as_deref().is_some_and(|end| key >= end) {
                self.raw = None;
                return Ok(None);
            }
            let id = match self.source {
                VertexSource::All => decode_id_key(VERTICES, key)?,
                VertexSource::Label => decode_label_key(key)?,
            };
            raw.next();
            let v = VertexId(id);
            if self.filters.is_empty() {
                return Ok(Some(v));
            }
            let record = self.txn.vertex_record(v)?;
            let mut selected = true;
            for (k, bounds) in &self.filters {
                let value = find_property(&record.props, *k)
                    .map_err(corrupt_props("vertex property record"))?;
                if !value.is_some_and(|value| bounds.matches(&value)) {
                    selected = false;
                    break;
                }
            }
            if selected {
                return Ok(Some(v));
            }
        }
    }
}

impl Iterator for VertexIter<'_, '_> {
    type Item = Result<VertexId>;

    fn next(&mut self) -> Option<Result<VertexId>> {
        match self.step() {
            Ok(v) => v.map(Ok),
            Err(e) => {
                self.raw = None;
                self.candidates = None;
                Some(Err(e))
            }
        }
    }
}

/// The edges of one vertex, from prefix scans of `out` and then `in`.
pub struct EdgeIter<'t, 'e> {
    pub(super) txn: &'t OnDiskTxn<'e>,
    pub(super) raw: Option<RawIter<'t>>,
    pub(super) end: Option<Vec<u8>>,
    pub(super) outgoing: bool,
    // The `in` scan still to run after `out` (for Direction::Both).
    pub(super) then_in: bool,
    pub(super) both: bool,
    pub(super) prefix: Vec<u8>,
    /// Set for a scan of `edges` by type (and property) instead of adjacency.
    pub(super) by_type: Option<(u32, Option<(u32, PropertyBounds)>)>,
    /// With `by_type`: edge ids from an index (and own writes) to check instead.
    pub(super) candidates: Option<std::vec::IntoIter<u64>>,
}

impl std::fmt::Debug for EdgeIter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeIter").finish_non_exhaustive()
    }
}

impl EdgeIter<'_, '_> {
    fn step(&mut self) -> Result<Option<EdgeRecord>> {
        if let Some((t, filter)) = &self.by_type {
            return self.step_by_type(*t, filter.clone());
        }
        loop {
            let Some(raw) = self.raw.as_mut() else {
                return Ok(None);
            };
            let cf = if self.outgoing { OUT } else { IN };
            let key = match raw.key() {
                Some(key) if self.end.as_deref().is_none_or(|end| key < end) => key,
                _ => {
                    let status = raw.status();
                    self.raw = None;
                    status.map_err(|e| rocks("cannot scan edges", e))?;
                    if self.then_in {
                        self.then_in = false;
                        self.outgoing = false;
                        self.raw = Some(self.txn.iter(IN, &self.prefix)?);
                        self.end = prefix_end(&self.prefix);
                        continue;
                    }
                    return Ok(None);
                }
            };
            let (v, t, other, id) = decode_adjacency_key(cf, key)?;
            raw.next();
            // A self-loop is in both scans; Both yields it once, from `out`.
            if !self.outgoing && self.both && v == other {
                continue;
            }
            let edge_type = self.txn.engine.names.name(NameKind::EdgeType, t)?;
            let (source, target) = if self.outgoing {
                (v, other)
            } else {
                (other, v)
            };
            return Ok(Some(EdgeRecord {
                id: EdgeId(id),
                edge_type,
                source: VertexId(source),
                target: VertexId(target),
            }));
        }
    }
}

impl EdgeIter<'_, '_> {
    fn step_by_type(
        &mut self,
        t: u32,
        filter: Option<(u32, PropertyBounds)>,
    ) -> Result<Option<EdgeRecord>> {
        if let Some(ids) = self.candidates.as_mut() {
            for id in ids.by_ref() {
                let Some(e) = self.txn.edge_at(id, true)? else {
                    continue;
                };
                if e.edge_type != t {
                    continue;
                }
                if let Some((k, bounds)) = &filter {
                    let value = find_property(&e.props, *k)
                        .map_err(corrupt_props("edge property record"))?;
                    if !value.is_some_and(|v| bounds.matches(&v)) {
                        continue;
                    }
                }
                return Ok(Some(EdgeRecord {
                    id: EdgeId(id),
                    edge_type: self.txn.engine.names.name(NameKind::EdgeType, t)?,
                    source: VertexId(e.source),
                    target: VertexId(e.target),
                }));
            }
            self.candidates = None;
            return Ok(None);
        }
        loop {
            let Some(raw) = self.raw.as_mut() else {
                return Ok(None);
            };
            let (Some(key), Some(value)) = (raw.key(), raw.value()) else {
                let status = raw.status();
                self.raw = None;
                status.map_err(|e| rocks("cannot scan edges", e))?;
                return Ok(None);
            };
            let id = decode_id_key(EDGES, key)?;
            let e = EdgeValue::decode(key, value)?;
            raw.next();
            if e.edge_type != t {
                continue;
            }
            if let Some((k, bounds)) = &filter {
                let value =
                    find_property(&e.props, *k).map_err(corrupt_props("edge property record"))?;
                if !value.is_some_and(|v| bounds.matches(&v)) {
                    continue;
                }
            }
            return Ok(Some(EdgeRecord {
                id: EdgeId(id),
                edge_type: self.txn.engine.names.name(NameKind::EdgeType, t)?,
                source: VertexId(e.source),
                target: VertexId(e.target),
            }));
        }
    }
}

impl Iterator for EdgeIter<'_, '_> {
    type Item = Result<EdgeRecord>;

    fn next(&mut self) -> Option<Result<EdgeRecord>> {
        match self.step() {
            Ok(e) => e.map(Ok),
            Err(e) => {
                self.raw = None;
                self.then_in = false;
                Some(Err(e))
            }
        }
    }
}
