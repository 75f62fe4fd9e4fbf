//! What the two peers that keep the graph on the Rust heap share (the hand-rolled
//! baseline and the petgraph peer): interned names, a label index, property lists of
//! interned keys, and the import and small-write steps, which differ only in how a
//! vertex and an edge are stored.

use std::collections::HashMap;

use engine_api::{PropertyValue, Result};

use crate::workload::{EdgeSpec, VertexSpec};

/// A property list of interned keys.
pub(crate) type Props = Vec<(u32, PropertyValue)>;

/// Labels, types and keys interned: a known name costs one hash lookup and no
/// allocation.
#[derive(Debug, Default)]
pub(crate) struct Names(HashMap<String, u32>);

impl Names {
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.0.get(name) {
            return id;
        }
        let id = self.0.len() as u32;
        self.0.insert(name.to_string(), id);
        id
    }

    /// The id of a name, `None` if it was never interned.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.0.get(name).copied()
    }

    /// Interns the keys of a property list.
    pub(crate) fn props(&mut self, props: &[(&str, PropertyValue)]) -> Props {
        props
            .iter()
            .map(|(k, p)| (self.intern(k), p.clone()))
            .collect()
    }
}

/// The members of each label, in insertion order.
#[derive(Debug)]
pub(crate) struct LabelIndex<T>(Vec<Vec<T>>);

impl<T> Default for LabelIndex<T> {
    fn default() -> Self {
        LabelIndex(Vec::new())
    }
}

impl<T: Copy> LabelIndex<T> {
    pub(crate) fn add(&mut self, labels: &[u32], member: T) {
        for &l in labels {
            let l = l as usize;
            if self.0.len() <= l {
                self.0.resize_with(l + 1, Vec::new);
            }
            self.0[l].push(member);
        }
    }

    /// The members of a label; empty for a label never interned or never used.
    pub(crate) fn members(&self, label: Option<u32>) -> &[T] {
        label
            .and_then(|l| self.0.get(l as usize))
            .map_or(&[], Vec::as_slice)
    }
}

/// The value of `key` in a property list; `None` if the key was never interned or the
/// list lacks it.
pub(crate) fn prop(props: &[(u32, PropertyValue)], key: Option<u32>) -> Option<&PropertyValue> {
    let key = key?;
    props.iter().find(|(k, _)| *k == key).map(|(_, p)| p)
}

/// Sets `key` in a property list, replacing its value if it has one.
pub(crate) fn set_prop(props: &mut Props, key: u32, value: PropertyValue) {
    match props.iter_mut().find(|(k, _)| *k == key) {
        Some((_, p)) => *p = value,
        None => props.push((key, value)),
    }
}

/// A graph on the Rust heap, as the workloads write it.
pub(crate) trait HeapGraph {
    fn names(&mut self) -> &mut Names;

    /// Stores a vertex and returns its id.
    fn add_vertex(&mut self, labels: &[&str], props: &[(&str, PropertyValue)]) -> u64;

    /// Stores an edge; an error if an endpoint does not exist.
    fn add_edge(&mut self, source: u64, target: u64, edge_type: &str, props: Props) -> Result<()>;

    fn import_vertices(&mut self, batch: &[VertexSpec]) -> Vec<u64> {
        batch
            .iter()
            .map(|v| self.add_vertex(&v.labels, &v.props))
            .collect()
    }

    fn import_edges(&mut self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        let weight = self.names().intern("weight");
        for e in batch {
            let props = vec![(weight, e.weight.clone())];
            self.add_edge(ids[e.source], ids[e.target], e.edge_type, props)?;
        }
        Ok(())
    }

    /// The small write transaction: a new `Person` that knows `target`.
    fn small_write(&mut self, target: u64) -> Result<()> {
        let v = self.add_vertex(&["Person"], &[("id", PropertyValue::Int(-1))]);
        self.add_edge(v, target, "KNOWS", Vec::new())
    }
}
