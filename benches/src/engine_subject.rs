//! Any backend as a benchmark subject, through the `StorageEngine` contract only.

use engine_api::{
    Direction, Error, IndexSpec, PropertyBounds, PropertyValue, Result, StorageEngine, Transaction,
    TxnOptions, VertexId,
};

use crate::workload::{Digest, EdgeSpec, Fold, Subject, VertexSpec};

/// A backend under test.
#[derive(Debug)]
pub struct EngineSubject<E>(pub E);

impl<E: StorageEngine> Subject for EngineSubject<E> {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        let mut t = self.0.begin(TxnOptions::new())?;
        let mut ids = Vec::with_capacity(batch.len());
        for v in batch {
            ids.push(t.create_vertex_with(&v.labels, &v.props)?.0);
        }
        t.commit()?;
        Ok(ids)
    }

    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        let mut t = self.0.begin(TxnOptions::new())?;
        for e in batch {
            t.create_edge_with(
                VertexId(ids[e.source]),
                VertexId(ids[e.target]),
                e.edge_type,
                &[("weight", e.weight.clone())],
            )?;
        }
        t.commit()?;
        Ok(())
    }

    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let mut fold = Fold::default();
        for id in ids {
            if let Some(name) = t.vertex_property(VertexId(*id), "name")? {
                fold.add_value(&name);
            }
        }
        Ok(fold)
    }

    fn label_scan(&self, label: &str) -> Result<Fold> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let mut fold = Fold::default();
        for v in t.vertices_with_label(label)? {
            fold.add(v?.0);
        }
        Ok(fold)
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let mut reached = Fold::default();
        let mut frontier: Vec<VertexId> = Vec::new();
        for s in starts {
            frontier.clear();
            frontier.push(VertexId(*s));
            for _ in 0..hops {
                let mut next = Vec::new();
                for v in &frontier {
                    for e in t.edges(*v, Direction::Out, None)? {
                        next.push(e?.target);
                    }
                }
                frontier = next;
            }
            for v in &frontier {
                reached.add(v.0);
            }
        }
        Ok(reached)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        let mut t = self.0.begin(TxnOptions::new())?;
        let v = t.create_vertex_with(&["Person"], &[("id", PropertyValue::Int(-1))])?;
        t.create_edge(v, VertexId(target), "KNOWS")?;
        t.commit()?;
        Ok(())
    }

    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let mut fold = Fold::default();
        for value in values {
            for v in t.vertices_with_property(label, key, &PropertyBounds::equal(value.clone()))? {
                fold.add(v?.0);
            }
        }
        Ok(Some(fold))
    }

    fn id_key(&self, id: u64) -> Result<u64> {
        Ok(id)
    }

    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>> {
        if !self.0.capabilities().indexes {
            return Ok(None);
        }
        let spec = IndexSpec::LabelProperties {
            label: label.into(),
            properties: vec![key.into()],
        };
        self.0.create_index(&spec)?;
        let entries = self
            .0
            .indexes()?
            .into_iter()
            .find(|i| i.spec == spec)
            .map(|i| i.entries)
            .ok_or_else(|| {
                Error::not_found(format!("the index {spec} just created is not listed"))
            })?;
        Ok(Some(entries))
    }

    fn digest(&self) -> Result<Digest> {
        let t = self.0.begin(TxnOptions::new().read_only())?;
        let mut d = Digest::default();
        for v in t.vertices()? {
            let v = v?;
            d.add_vertex(
                t.vertex_labels(v)?.len(),
                t.vertex_property(v, "score")?.as_ref(),
            );
            for e in t.edges(v, Direction::Out, None)? {
                d.add_edge(t.edge_property(e?.id, "weight")?.as_ref());
            }
        }
        Ok(d)
    }

    // A Rust engine on the Rust heap; engine-ondisk's adapter wraps this one and
    // answers these itself.
    fn settle(&self) -> Result<()> {
        Ok(())
    }

    fn storage(&self) -> Result<Option<engine_ondisk::StorageUsage>> {
        Ok(None)
    }

    fn cold(&self, _cache: Option<usize>) -> Result<Option<String>> {
        Ok(None)
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        let mut t = self.0.begin(TxnOptions::new())?;
        t.set_vertex_property(VertexId(vertex), "score", value.into())?;
        t.commit()?;
        Ok(())
    }
}
