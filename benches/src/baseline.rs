//! The in-memory ceiling: a `HashMap` holding the same records, with labels,
//! types and keys interned, a label index and adjacency lists, behind one `RwLock`.
//! No versions, no isolation, no rollback: what a graph store costs at the least.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use engine_api::{Error, PropertyValue, Result};
use std::sync::RwLock;

use crate::workload::{EdgeSpec, Subject, VertexSpec};

#[derive(Debug, Default)]
struct Vertex {
    _labels: Vec<u32>,
    props: Vec<(u32, PropertyValue)>,
    out: Vec<(u64, u64)>,
    inc: Vec<(u64, u64)>,
}

#[derive(Debug)]
struct Edge {
    _source: u64,
    _target: u64,
    _edge_type: u32,
    _props: Vec<(u32, PropertyValue)>,
}

#[derive(Debug, Default)]
struct Maps {
    names: HashMap<String, u32>,
    vertices: HashMap<u64, Vertex>,
    edges: HashMap<u64, Edge>,
    by_label: HashMap<u32, Vec<u64>>,
}

impl Maps {
    fn intern(&mut self, name: &str) -> u32 {
        let next = self.names.len() as u32;
        *self.names.entry(name.to_string()).or_insert(next)
    }
}

/// The `HashMap` baseline.
#[derive(Debug, Default)]
pub struct HashMapBaseline {
    maps: RwLock<Maps>,
    next_id: AtomicU64,
}

fn poisoned() -> Error {
    Error::new(engine_api::ErrorKind::Poisoned, "baseline lock poisoned")
}

impl Subject for HashMapBaseline {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        let mut m = self.maps.write().map_err(|_| poisoned())?;
        let mut ids = Vec::with_capacity(batch.len());
        for v in batch {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let labels: Vec<u32> = v.labels.iter().map(|l| m.intern(l)).collect();
            for l in &labels {
                m.by_label.entry(*l).or_default().push(id);
            }
            let props = v
                .props
                .iter()
                .map(|(k, p)| (m.intern(k), p.clone()))
                .collect();
            m.vertices.insert(
                id,
                Vertex {
                    _labels: labels,
                    props,
                    ..Vertex::default()
                },
            );
            ids.push(id);
        }
        Ok(ids)
    }

    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        let mut m = self.maps.write().map_err(|_| poisoned())?;
        for e in batch {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let (s, t) = (ids[e.source], ids[e.target]);
            let ty = m.intern(e.edge_type);
            let key = m.intern("weight");
            m.edges.insert(
                id,
                Edge {
                    _source: s,
                    _target: t,
                    _edge_type: ty,
                    _props: vec![(key, e.weight.clone())],
                },
            );
            if let Some(v) = m.vertices.get_mut(&s) {
                v.out.push((id, t));
            }
            if let Some(v) = m.vertices.get_mut(&t) {
                v.inc.push((id, s));
            }
        }
        Ok(())
    }

    fn read_names(&self, ids: &[u64]) -> Result<usize> {
        let m = self.maps.read().map_err(|_| poisoned())?;
        let key = m.names.get("name").copied();
        let mut found = 0;
        for id in ids {
            let value = m.vertices.get(id).and_then(|v| {
                v.props
                    .iter()
                    .find(|(k, _)| Some(*k) == key)
                    .map(|(_, p)| p.clone())
            });
            if value.is_some() {
                found += 1;
            }
        }
        Ok(found)
    }

    fn label_scan(&self, label: &str) -> Result<usize> {
        let m = self.maps.read().map_err(|_| poisoned())?;
        let Some(l) = m.names.get(label) else {
            return Ok(0);
        };
        Ok(m.by_label
            .get(l)
            .map(|ids| ids.iter().filter(|id| m.vertices.contains_key(id)).count())
            .unwrap_or(0))
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<usize> {
        let m = self.maps.read().map_err(|_| poisoned())?;
        let mut reached = 0;
        for s in starts {
            let mut frontier = vec![*s];
            for _ in 0..hops {
                let mut next = Vec::new();
                for v in &frontier {
                    if let Some(v) = m.vertices.get(v) {
                        next.extend(v.out.iter().map(|(_, t)| *t));
                    }
                }
                frontier = next;
            }
            reached += frontier.len();
        }
        Ok(reached)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        let mut m = self.maps.write().map_err(|_| poisoned())?;
        let v = self.next_id.fetch_add(1, Ordering::Relaxed);
        let e = self.next_id.fetch_add(1, Ordering::Relaxed);
        let person = m.intern("Person");
        let key = m.intern("id");
        let ty = m.intern("KNOWS");
        m.by_label.entry(person).or_default().push(v);
        m.vertices.insert(
            v,
            Vertex {
                _labels: vec![person],
                props: vec![(key, PropertyValue::Int(-1))],
                out: vec![(e, target)],
                inc: Vec::new(),
            },
        );
        m.edges.insert(
            e,
            Edge {
                _source: v,
                _target: target,
                _edge_type: ty,
                _props: Vec::new(),
            },
        );
        if let Some(t) = m.vertices.get_mut(&target) {
            t.inc.push((e, v));
        }
        Ok(())
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        let mut m = self.maps.write().map_err(|_| poisoned())?;
        let key = m.intern("score");
        let v = m
            .vertices
            .get_mut(&vertex)
            .ok_or_else(|| Error::not_found("no such vertex"))?;
        match v.props.iter_mut().find(|(k, _)| *k == key) {
            Some((_, p)) => *p = PropertyValue::Float(value),
            None => v.props.push((key, PropertyValue::Float(value))),
        }
        Ok(())
    }

    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<usize>> {
        // A key-value peer has no property lookups; the report shows no row for it.
        let _ = (label, key, values);
        Ok(None)
    }

    fn create_index(&self, label: &str, key: &str) -> Result<bool> {
        let _ = (label, key);
        Ok(false)
    }

    fn heap_counted(&self) -> bool {
        true
    }
}
