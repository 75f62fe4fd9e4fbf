//! The in-memory ceiling: the graph a competent engineer would hand-roll for these
//! workloads, holding the same records. Vertices and edges in dense vectors indexed by
//! id (ids are handed out densely, from 0, per kind), labels, types and keys interned
//! (a known name costs one hash lookup and no allocation), a label index, adjacency
//! lists, behind one `RwLock`. No versions, no isolation, no rollback: what a graph
//! store costs at the least.

use engine_api::{Error, PropertyValue, Result};
use parking_lot::RwLock;

use crate::heap_graph::{HeapGraph, LabelIndex, Names, Props, prop, set_prop};
use crate::workload::{Digest, EdgeSpec, Fold, Subject, VertexSpec, walk};

#[derive(Debug, Default)]
struct Vertex {
    labels: Vec<u32>,
    props: Props,
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
    props: Props,
}

#[derive(Debug, Default)]
struct Graph {
    names: Names,
    vertices: Vec<Vertex>,
    edges: Vec<Edge>,
    /// Vertex ids per label id, ascending (ids are handed out in order).
    by_label: LabelIndex<u64>,
}

impl HeapGraph for Graph {
    fn names(&mut self) -> &mut Names {
        &mut self.names
    }

    fn add_vertex(&mut self, labels: &[&str], props: &[(&str, PropertyValue)]) -> u64 {
        let id = self.vertices.len() as u64;
        let labels: Vec<u32> = labels.iter().map(|l| self.names.intern(l)).collect();
        self.by_label.add(&labels, id);
        let props = self.names.props(props);
        self.vertices.push(Vertex {
            labels,
            props,
            ..Vertex::default()
        });
        id
    }

    fn add_edge(&mut self, s: u64, t: u64, ty: &str, props: Props) -> Result<()> {
        let id = self.edges.len() as u64;
        let ty = self.names.intern(ty);
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
        Ok(self.graph.write().import_vertices(batch))
    }

    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        self.graph.write().import_edges(batch, ids)
    }

    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        let g = self.graph.read();
        let mut fold = Fold::default();
        let key = g.names.get("name");
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
        // Hands each vertex of the label to its caller, as a scan must.
        for id in g.by_label.members(g.names.get(label)) {
            if g.vertices.get(*id as usize).is_some() {
                fold.add(*id);
            }
        }
        Ok(fold)
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        let g = self.graph.read();
        let out = |v: u64, next: &mut Vec<u64>| {
            if let Some(v) = g.vertices.get(v as usize) {
                next.extend(v.out.iter().map(|(_, t)| *t));
            }
            Ok(())
        };
        walk(starts, hops, Ok, out, |v| v)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        self.graph.write().small_write(target)
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        let mut g = self.graph.write();
        let key = g.names.intern("score");
        let v = g
            .vertices
            .get_mut(vertex as usize)
            .ok_or_else(|| Error::not_found("no such vertex"))?;
        set_prop(&mut v.props, key, PropertyValue::Float(value));
        Ok(())
    }

    // A hand-rolled store without property indexes; the report shows n/a.
    crate::workload::without_property_indexes!();

    crate::workload::all_on_the_rust_heap!();

    fn digest(&self) -> Result<Digest> {
        let g = self.graph.read();
        let (score, weight) = (g.names.get("score"), g.names.get("weight"));
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
