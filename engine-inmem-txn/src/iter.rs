//! Scan iterators.

use engine_api::{EdgeRecord, PropertyBounds, Result, VertexId};

use crate::graph::Graph;

/// What a vertex scan asks of the transaction it runs in (implemented by
/// [`crate::InMemoryTxn`]).
pub(crate) trait ScanView {
    /// The graph the scan walks.
    fn graph(&self) -> &Graph;

    /// Whether vertex `id` is visible to the transaction, has `label` (when given)
    /// and passes every filter.
    fn vertex_matches(
        &self,
        id: u64,
        label: Option<u32>,
        filters: &[(u32, PropertyBounds)],
    ) -> Result<bool>;
}

/// How many label-index entries a scan copies per short read lock.
const LABEL_BATCH: usize = 256;

enum Source {
    Empty,
    All {
        next: u64,
        end: u64,
    },
    Label {
        label: u32,
        batch: Vec<u64>,
        pos: usize,
        after: Option<u64>,
        exhausted: bool,
    },
    /// Candidates from an index key set, ascending, each checked like a scan's.
    Ids {
        label: u32,
        ids: std::vec::IntoIter<u64>,
    },
}

/// Vertex ids in ascending order, as a transaction sees them.
pub struct VertexIter<'t, 'e> {
    txn: &'t (dyn ScanView + 'e),
    source: Source,
    filters: Vec<(u32, PropertyBounds)>,
}

impl std::fmt::Debug for VertexIter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexIter").finish_non_exhaustive()
    }
}

impl<'t, 'e> VertexIter<'t, 'e> {
    pub(crate) fn empty(txn: &'t (dyn ScanView + 'e)) -> Self {
        VertexIter {
            txn,
            source: Source::Empty,
            filters: Vec::new(),
        }
    }

    pub(crate) fn all(txn: &'t (dyn ScanView + 'e)) -> Self {
        let end = txn.graph().next_vertex.end();
        VertexIter {
            txn,
            source: Source::All { next: 0, end },
            filters: Vec::new(),
        }
    }

    pub(crate) fn label(
        txn: &'t (dyn ScanView + 'e),
        label: u32,
        filters: Vec<(u32, PropertyBounds)>,
    ) -> Self {
        VertexIter {
            txn,
            source: Source::Label {
                label,
                batch: Vec::new(),
                pos: 0,
                after: None,
                exhausted: false,
            },
            filters,
        }
    }

    /// Index candidates (ascending), checked against the label and the filters.
    pub(crate) fn candidates(
        txn: &'t (dyn ScanView + 'e),
        label: u32,
        ids: Vec<u64>,
        filters: Vec<(u32, PropertyBounds)>,
    ) -> Self {
        VertexIter {
            txn,
            source: Source::Ids {
                label,
                ids: ids.into_iter(),
            },
            filters,
        }
    }

    fn next_candidate(&mut self) -> Option<(u64, Option<u32>)> {
        match &mut self.source {
            Source::Empty => None,
            Source::All { next, end } => {
                if *next >= *end {
                    return None;
                }
                let id = *next;
                *next += 1;
                Some((id, None))
            }
            Source::Label {
                label,
                batch,
                pos,
                after,
                exhausted,
            } => {
                if *pos >= batch.len() {
                    if *exhausted {
                        return None;
                    }
                    batch.clear();
                    *pos = 0;
                    let more =
                        self.txn
                            .graph()
                            .label_index
                            .batch(*label, *after, LABEL_BATCH, batch);
                    if !more {
                        *exhausted = true;
                    }
                    if batch.is_empty() {
                        return None;
                    }
                    *after = batch.last().copied();
                }
                let id = batch[*pos];
                *pos += 1;
                Some((id, Some(*label)))
            }
            Source::Ids { label, ids } => ids.next().map(|id| (id, Some(*label))),
        }
    }
}

impl Iterator for VertexIter<'_, '_> {
    type Item = Result<VertexId>;

    fn next(&mut self) -> Option<Result<VertexId>> {
        loop {
            let (id, label) = self.next_candidate()?;
            match self.txn.vertex_matches(id, label, &self.filters) {
                Ok(true) => return Some(Ok(VertexId(id))),
                Ok(false) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Edges of one vertex, collected when the iterator was made.
#[derive(Debug)]
pub struct EdgeIter {
    records: std::vec::IntoIter<EdgeRecord>,
}

impl EdgeIter {
    pub(crate) fn new(records: Vec<EdgeRecord>) -> Self {
        EdgeIter {
            records: records.into_iter(),
        }
    }
}

impl Iterator for EdgeIter {
    type Item = Result<EdgeRecord>;

    fn next(&mut self) -> Option<Result<EdgeRecord>> {
        self.records.next().map(Ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use engine_api::{StorageEngine, Transaction, TxnOptions};

    use super::*;
    use crate::{Config, InMemoryEngine};

    #[test]
    fn a_label_scan_visits_only_vertices_of_that_label() {
        let engine = InMemoryEngine::open(Config::default()).expect("open");
        let mut t = engine.begin(TxnOptions::new()).expect("begin");
        for i in 0..5000 {
            let label = if i % 100 == 0 { "Rare" } else { "Common" };
            t.create_vertex_with(&[label], &[]).expect("create");
        }
        t.commit().expect("commit");
        let r = engine.begin(TxnOptions::new()).expect("begin");
        let rare = r.graph().labels.lookup("Rare").expect("interned");
        let mut it = VertexIter::label(&r, rare, Vec::new());
        let mut candidates = 0;
        while it.next_candidate().is_some() {
            candidates += 1;
        }
        assert_eq!(
            candidates, 50,
            "the scan looked at vertices of other labels"
        );
        assert_eq!(r.vertices_with_label("Rare").expect("scan").count(), 50);
    }
}
