//! The in-memory ceiling: the graph a competent engineer would hand-roll for these
//! workloads, holding the same records. Vertices and edges in dense vectors indexed by
//! id (ids are handed out densely, from 0, per kind), labels, types and keys interned
//! (a known name costs one hash lookup and no allocation), a label index, adjacency
//! lists, behind one `RwLock`. No versions, no isolation, no rollback: what a graph
//! store costs at the least.

use std::collections::HashMap;

use engine_api::{Error, PropertyValue, Result};
use parking_lot::RwLock;

use crate::workload::{Digest, EdgeSpec, Fold, Subject, VertexSpec};

#[derive(Debug, Default)]
struct Vertex {
    labels: Vec<u32>,
    props: Vec<(u32, PropertyValue)>,
    /// (edge, target)
    out: Vec<(u64, u64)>,
    /// (edge, source)
    inc: Vec<(u64, u64)>,
}

#[derive(Debug)]
struct Edge {
    _source: u64,
    _target: u64,
    _edge_type: u32,
    props: Vec<(u32, PropertyValue)>,
}

#[derive(Debug, Default)]
struct Graph {
    names: HashMap<String, u32>,
    vertices: Vec<Vertex>,
    edges: Vec<Edge>,
    /// Vertex ids per label id, ascending (ids are handed out in order).
    by_label: Vec<Vec<u64>>,
}

impl Graph {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.names.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.insert(name.to_string(), id);
        id
    }

    fn add_vertex(&mut self, labels: &[&str], props: &[(&str, PropertyValue)]) -> u64 {
        let id = self.vertices.len() as u64;
        let labels: Vec<u32> = labels.iter().map(|l| self.intern(l)).collect();
        for &l in &labels {
            let l = l as usize;
            if self.by_label.len() <= l {
                self.by_label.resize_with(l + 1, Vec::new);
            }
            self.by_label[l].push(id);
        }
        let props = props
            .iter()
            .map(|(k, p)| (self.intern(k), p.clone()))
            .collect();
        self.vertices.push(Vertex {
            labels,
            props,
            ..Vertex::default()
        });
        id
    }

    fn add_edge(
        &mut self,
        s: u64,
        t: u64,
        ty: &str,
        props: Vec<(u32, PropertyValue)>,
    ) -> Result<()> {
        let id = self.edges.len() as u64;
        let ty = self.intern(ty);
        let missing = || Error::not_found("no such vertex");
        self.vertices
            .get_mut(s as usize)
            .ok_or_else(missing)?
            .out
            .push((id, t));
        self.vertices
            .get_mut(t as usize)
            .ok_or_else(missing)?
            .inc
            .push((id, s));
        self.edges.push(Edge {
            _source: s,
            _target: t,
            _edge_type: ty,
            props,
        });
        Ok(())
    }
}

/// The hand-rolled in-memory baseline.
#[derive(Debug, Default)]
pub struct HandRolledBaseline {
    graph: RwLock<Graph>,
}

impl Subject for HandRolledBaseline {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        let mut g = self.graph.write();
        Ok(batch
            .iter()
            .map(|v| g.add_vertex(&v.labels, &v.props))
            .collect())
    }

    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        let mut g = self.graph.write();
        let weight = g.intern("weight");
        for e in batch {
            g.add_edge(
                ids[e.source],
                ids[e.target],
                e.edge_type,
                vec![(weight, e.weight.clone())],
            )?;
        }
        Ok(())
    }

    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        let g = self.graph.read();
        let mut fold = Fold::default();
        let key = g.names.get("name").copied();
        for id in ids {
            if let Some(name) = g
                .vertices
                .get(*id as usize)
                .and_then(|v| prop(&v.props, key))
            {
                fold.add_value(name);
            }
        }
        Ok(fold)
    }

    fn label_scan(&self, label: &str) -> Result<Fold> {
        let g = self.graph.read();
        let mut fold = Fold::default();
        let Some(ids) = g.names.get(label).and_then(|&l| g.by_label.get(l as usize)) else {
            return Ok(fold);
        };
        // Hands each vertex of the label to its caller, as a scan must.
        for id in ids {
            if g.vertices.get(*id as usize).is_some() {
                fold.add(*id);
            }
        }
        Ok(fold)
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        let g = self.graph.read();
        let mut reached = Fold::default();
        let (mut frontier, mut next) = (Vec::new(), Vec::new());
        for s in starts {
            frontier.clear();
            frontier.push(*s);
            for _ in 0..hops {
                next.clear();
                for v in &frontier {
                    if let Some(v) = g.vertices.get(*v as usize) {
                        next.extend(v.out.iter().map(|(_, t)| *t));
                    }
                }
                std::mem::swap(&mut frontier, &mut next);
            }
            for v in &frontier {
                reached.add(*v);
            }
        }
        Ok(reached)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        let mut g = self.graph.write();
        let v = g.add_vertex(&["Person"], &[("id", PropertyValue::Int(-1))]);
        g.add_edge(v, target, "KNOWS", Vec::new())
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        let mut g = self.graph.write();
        let key = g.intern("score");
        let v = g
            .vertices
            .get_mut(vertex as usize)
            .ok_or_else(|| Error::not_found("no such vertex"))?;
        match v.props.iter_mut().find(|(k, _)| *k == key) {
            Some((_, p)) => *p = PropertyValue::Float(value),
            None => v.props.push((key, PropertyValue::Float(value))),
        }
        Ok(())
    }

    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        // A hand-rolled store without property indexes; the report shows n/a.
        let _ = (label, key, values);
        Ok(None)
    }

    fn id_key(&self, id: u64) -> Result<u64> {
        Ok(id)
    }

    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>> {
        let _ = (label, key);
        Ok(None)
    }

    crate::workload::all_on_the_rust_heap!();

    fn digest(&self) -> Result<Digest> {
        let g = self.graph.read();
        let score = g.names.get("score").copied();
        let weight = g.names.get("weight").copied();
        let mut d = Digest::default();
        for v in &g.vertices {
            d.add_vertex(v.labels.len(), prop(&v.props, score));
        }
        for e in &g.edges {
            d.add_edge(prop(&e.props, weight));
        }
        Ok(d)
    }
}

/// The value of `key` in a property list of interned keys (the in-memory peers'
/// representation); `None` if the key was never interned or the list lacks it.
pub(crate) fn prop(props: &[(u32, PropertyValue)], key: Option<u32>) -> Option<&PropertyValue> {
    let key = key?;
    props.iter().find(|(k, _)| *k == key).map(|(_, p)| p)
}
