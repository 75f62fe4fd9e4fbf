//! petgraph's `StableGraph` as the peer a user might build on instead of a graph
//! store: a general-purpose in-memory graph library, no transactions, no durability,
//! no property indexes. Nodes and edges carry the records (labels, types and keys
//! interned, as a competent user of the library would), a label index sits beside the
//! graph (petgraph has none), and the whole graph is behind one `RwLock` (petgraph is
//! not concurrent). `StableGraph` keeps indexes stable across removals, as a store
//! that hands out ids must; adjacency is petgraph's own (per-node linked edge lists).

use engine_api::{Error, PropertyValue, Result};
use parking_lot::RwLock;
use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableGraph};

use crate::heap_graph::{HeapGraph, LabelIndex, Names, Props, prop, set_prop};
use crate::workload::{Digest, EdgeSpec, Fold, Subject, VertexSpec, walk};

#[derive(Debug)]
struct Node {
    labels: Vec<u32>,
    props: Props,
}

#[derive(Debug)]
struct EdgeWeight {
    _edge_type: u32,
    props: Props,
}

#[derive(Debug, Default)]
struct Graph {
    names: Names,
    g: StableGraph<Node, EdgeWeight>,
    /// Node indexes per label id, in insertion order.
    by_label: LabelIndex<NodeIndex>,
}

impl Graph {
    fn node(&self, id: u64) -> Result<NodeIndex> {
        // Indexes are u32; u32::MAX is petgraph's "no node".
        u32::try_from(id)
            .ok()
            .filter(|i| *i != u32::MAX)
            .map(|i| NodeIndex::new(i as usize))
            .filter(|ix| self.g.contains_node(*ix))
            .ok_or_else(|| Error::not_found("no such vertex"))
    }
}

impl HeapGraph for Graph {
    fn names(&mut self) -> &mut Names {
        &mut self.names
    }

    fn add_vertex(&mut self, labels: &[&str], props: &[(&str, PropertyValue)]) -> u64 {
        let labels: Vec<u32> = labels.iter().map(|l| self.names.intern(l)).collect();
        let props = self.names.props(props);
        let ix = self.g.add_node(Node { labels, props });
        self.by_label.add(&self.g[ix].labels, ix);
        ix.index() as u64
    }

    fn add_edge(&mut self, s: u64, t: u64, ty: &str, props: Props) -> Result<()> {
        let (s, t) = (self.node(s)?, self.node(t)?);
        let ty = self.names.intern(ty);
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
        for ix in g.by_label.members(g.names.get(label)) {
            if g.g.contains_node(*ix) {
                fold.add(ix.index() as u64);
            }
        }
        Ok(fold)
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        let g = self.graph.read();
        let out = |ix: NodeIndex, next: &mut Vec<NodeIndex>| {
            next.extend(g.g.neighbors_directed(ix, Direction::Outgoing));
            Ok(())
        };
        walk(starts, hops, |s| g.node(s), out, |ix| ix.index() as u64)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        self.graph.write().small_write(target)
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        let mut g = self.graph.write();
        let key = g.names.intern("score");
        let ix = g.node(vertex)?;
        let n =
            g.g.node_weight_mut(ix)
                .ok_or_else(|| Error::not_found("no such vertex"))?;
        set_prop(&mut n.props, key, PropertyValue::Float(value));
        Ok(())
    }

    // No property indexes in the library; the report shows n/a.
    crate::workload::without_property_indexes!();

    crate::workload::all_on_the_rust_heap!();

    fn digest(&self) -> Result<Digest> {
        let g = self.graph.read();
        let (score, weight) = (g.names.get("score"), g.names.get("weight"));
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
