//! petgraph's `StableGraph` as the peer a user might build on instead of a graph
//! store: a general-purpose in-memory graph library, no transactions, no durability,
//! no property indexes. Nodes and edges carry the records (labels, types and keys
//! interned, as a competent user of the library would), a label index sits beside the
//! graph (petgraph has none), and the whole graph is behind one `RwLock` (petgraph is
//! not concurrent). `StableGraph` keeps indexes stable across removals, as a store
//! that hands out ids must; adjacency is petgraph's own (per-node linked edge lists).

use std::collections::HashMap;

use engine_api::{Error, PropertyValue, Result};
use parking_lot::RwLock;
use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableGraph};

use crate::baseline::prop;
use crate::workload::{Digest, EdgeSpec, Fold, Subject, VertexSpec};

#[derive(Debug)]
struct Node {
    labels: Vec<u32>,
    props: Vec<(u32, PropertyValue)>,
}

#[derive(Debug)]
struct EdgeWeight {
    _edge_type: u32,
    props: Vec<(u32, PropertyValue)>,
}

#[derive(Debug, Default)]
struct Graph {
    names: HashMap<String, u32>,
    g: StableGraph<Node, EdgeWeight>,
    /// Node indexes per label id, in insertion order.
    by_label: Vec<Vec<NodeIndex>>,
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

    fn add_node(&mut self, labels: &[&str], props: &[(&str, PropertyValue)]) -> u64 {
        let labels: Vec<u32> = labels.iter().map(|l| self.intern(l)).collect();
        let props = props
            .iter()
            .map(|(k, p)| (self.intern(k), p.clone()))
            .collect();
        let ix = self.g.add_node(Node { labels, props });
        let labels = &self.g[ix].labels;
        for &l in labels {
            let l = l as usize;
            if self.by_label.len() <= l {
                self.by_label.resize_with(l + 1, Vec::new);
            }
            self.by_label[l].push(ix);
        }
        ix.index() as u64
    }

    fn node(&self, id: u64) -> Result<NodeIndex> {
        // Indexes are u32; u32::MAX is petgraph's "no node".
        u32::try_from(id)
            .ok()
            .filter(|i| *i != u32::MAX)
            .map(|i| NodeIndex::new(i as usize))
            .filter(|ix| self.g.contains_node(*ix))
            .ok_or_else(|| Error::not_found("no such vertex"))
    }

    fn add_edge(
        &mut self,
        s: u64,
        t: u64,
        ty: &str,
        props: Vec<(u32, PropertyValue)>,
    ) -> Result<()> {
        let (s, t) = (self.node(s)?, self.node(t)?);
        let ty = self.intern(ty);
        self.g.add_edge(
            s,
            t,
            EdgeWeight {
                _edge_type: ty,
                props,
            },
        );
        Ok(())
    }
}

/// The petgraph peer.
#[derive(Debug, Default)]
pub struct PetgraphPeer {
    graph: RwLock<Graph>,
}

impl Subject for PetgraphPeer {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        let mut g = self.graph.write();
        Ok(batch
            .iter()
            .map(|v| g.add_node(&v.labels, &v.props))
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
            let name = g
                .node(*id)
                .ok()
                .and_then(|ix| g.g.node_weight(ix))
                .and_then(|n| prop(&n.props, key));
            if let Some(name) = name {
                fold.add_value(name);
            }
        }
        Ok(fold)
    }

    fn label_scan(&self, label: &str) -> Result<Fold> {
        let g = self.graph.read();
        let mut fold = Fold::default();
        let Some(ixs) = g.names.get(label).and_then(|&l| g.by_label.get(l as usize)) else {
            return Ok(fold);
        };
        for ix in ixs {
            if g.g.contains_node(*ix) {
                fold.add(ix.index() as u64);
            }
        }
        Ok(fold)
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        let g = self.graph.read();
        let mut reached = Fold::default();
        let (mut frontier, mut next): (Vec<NodeIndex>, Vec<NodeIndex>) = (Vec::new(), Vec::new());
        for s in starts {
            frontier.clear();
            frontier.push(g.node(*s)?);
            for _ in 0..hops {
                next.clear();
                for ix in &frontier {
                    next.extend(g.g.neighbors_directed(*ix, Direction::Outgoing));
                }
                std::mem::swap(&mut frontier, &mut next);
            }
            for ix in &frontier {
                reached.add(ix.index() as u64);
            }
        }
        Ok(reached)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        let mut g = self.graph.write();
        let v = g.add_node(&["Person"], &[("id", PropertyValue::Int(-1))]);
        g.add_edge(v, target, "KNOWS", Vec::new())
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        let mut g = self.graph.write();
        let key = g.intern("score");
        let ix = g.node(vertex)?;
        let n =
            g.g.node_weight_mut(ix)
                .ok_or_else(|| Error::not_found("no such vertex"))?;
        match n.props.iter_mut().find(|(k, _)| *k == key) {
            Some((_, p)) => *p = PropertyValue::Float(value),
            None => n.props.push((key, PropertyValue::Float(value))),
        }
        Ok(())
    }

    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        // No property indexes in the library; the report shows n/a.
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
        for n in g.g.node_weights() {
            d.add_vertex(n.labels.len(), prop(&n.props, score));
        }
        for e in g.g.edge_weights() {
            d.add_edge(prop(&e.props, weight));
        }
        Ok(d)
    }
}
