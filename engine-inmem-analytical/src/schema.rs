//! The schema catalog (indexes and stored triggers) and index builds.
//!
//! Every write runs its whole step under a read lock of the catalog and maintains
//! the indexes it finds there. Creating an index publishes it under the write lock
//! (waiting only for the write steps already running, each one object's worth), then
//! fills it from the existing objects while writers go on: an object written after
//! publication is maintained by its writer, one written before is visited by the
//! build under its own lock, and both add the same entry to a set.

use std::collections::BTreeMap;
use std::sync::Arc;

use durability::SchemaOp;
use engine_api::kit::ShardedRwLock;
use engine_api::{Error, IndexInfo, IndexSpec, Result, TriggerSpec};
use parking_lot::{Mutex, RwLockReadGuard};

use crate::graph::Graph;
use crate::index::{KeySet, Target};
use crate::props;

/// The indexes in force.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) sets: Vec<Arc<KeySet>>,
}

impl Catalog {
    pub(crate) fn vertex_sets(&self) -> impl Iterator<Item = &Arc<KeySet>> {
        self.sets
            .iter()
            .filter(|s| matches!(s.target, Target::Vertices { .. }))
    }

    pub(crate) fn edge_sets(&self) -> impl Iterator<Item = &Arc<KeySet>> {
        self.sets
            .iter()
            .filter(|s| matches!(s.target, Target::Edges { .. }))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Schema {
    /// Sharded: every write step read-locks it, and a shared lock word moved between
    /// the cores of two writer threads on every step.
    catalog: ShardedRwLock<Arc<Catalog>>,
    /// Label indexes are declared only: the label bitmaps always exist.
    triggers: Mutex<BTreeMap<String, TriggerSpec>>,
    /// Schema operations run one at a time.
    change: Mutex<()>,
}

impl Schema {
    /// The catalog, read-locked for one write step.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Arc<Catalog>> {
        self.catalog.read()
    }

    pub(crate) fn current(&self) -> Arc<Catalog> {
        self.catalog.read().clone()
    }

    pub(crate) fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        spec.validate()?;
        let mut t = self.triggers.lock();
        if t.contains_key(&spec.name) {
            return Err(Error::new(
                engine_api::ErrorKind::AlreadyExists,
                format!("a trigger named {:?} exists", spec.name),
            ));
        }
        t.insert(spec.name.clone(), spec.clone());
        Ok(())
    }

    pub(crate) fn drop_trigger(&self, name: &str) -> Result<()> {
        self.triggers
            .lock()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| Error::not_found(format!("no trigger named {name:?}")))
    }

    pub(crate) fn triggers(&self) -> Vec<TriggerSpec> {
        self.triggers.lock().values().cloned().collect()
    }
}

impl Schema {
    /// The indexes and their entry counts, in definition order.
    pub(crate) fn index_infos(&self, graph: &Graph) -> Vec<IndexInfo> {
        let cat = self.current();
        let mut out: Vec<IndexInfo> = cat
            .sets
            .iter()
            .map(|s| IndexInfo {
                spec: s.spec.clone(),
                entries: match &s.spec {
                    IndexSpec::Label(l) => graph
                        .labels
                        .lookup(l)
                        .map_or(0, |id| graph.label_index.count(id)),
                    _ => s.len(),
                },
            })
            .collect();
        out.sort_by(|a, b| a.spec.cmp(&b.spec));
        out
    }

    /// Publishes an index and fills it from the existing objects.
    pub(crate) fn create_index(&self, graph: &Graph, spec: &IndexSpec) -> Result<()> {
        spec.validate()?;
        let _one = self.change.lock();
        if self.current().sets.iter().any(|s| &s.spec == spec) {
            return Err(Error::new(
                engine_api::ErrorKind::AlreadyExists,
                format!("the {} exists", spec.named()),
            ));
        }
        let target = target_of(graph, spec)?;
        let set = Arc::new(KeySet::new(spec.clone(), target.unwrap_or(Target::Label)));
        {
            let mut cat = self.catalog.write();
            let mut sets = cat.get().sets.clone();
            sets.push(set.clone());
            cat.set(Arc::new(Catalog { sets }));
        }
        fill(graph, &set)
    }

    pub(crate) fn drop_index(&self, spec: &IndexSpec) -> Result<()> {
        spec.validate()?;
        let _one = self.change.lock();
        let mut cat = self.catalog.write();
        if !cat.get().sets.iter().any(|s| &s.spec == spec) {
            return Err(Error::not_found(format!("there is no {}", spec.named())));
        }
        let sets = cat
            .get()
            .sets
            .iter()
            .filter(|s| &s.spec != spec)
            .cloned()
            .collect();
        cat.set(Arc::new(Catalog { sets }));
        Ok(())
    }

    /// The schema in the snapshot's form: indexes, then triggers.
    pub(crate) fn schema_definitions(&self) -> Vec<SchemaOp> {
        let mut specs: Vec<IndexSpec> =
            self.current().sets.iter().map(|s| s.spec.clone()).collect();
        specs.sort();
        let mut ops: Vec<SchemaOp> = specs.into_iter().map(SchemaOp::CreateIndex).collect();
        ops.extend(self.triggers().into_iter().map(SchemaOp::CreateTrigger));
        ops
    }
}

fn target_of(graph: &Graph, spec: &IndexSpec) -> Result<Option<Target>> {
    Ok(match spec {
        IndexSpec::Label(_) => None,
        IndexSpec::LabelProperties { label, properties } => Some(Target::Vertices {
            label: graph.labels.intern(label)?,
            keys: properties
                .iter()
                .map(|p| graph.keys.intern(p))
                .collect::<Result<Vec<_>>>()?
                .into_boxed_slice(),
        }),
        IndexSpec::EdgeType(t) => Some(Target::Edges {
            edge_type: graph.edge_types.intern(t)?,
            key: None,
        }),
        IndexSpec::EdgeTypeProperty {
            edge_type,
            property,
        } => Some(Target::Edges {
            edge_type: graph.edge_types.intern(edge_type)?,
            key: Some(graph.keys.intern(property)?),
        }),
    })
}

/// Adds every existing object's entry to a published set. Each entry goes in
/// under its object's lock: added after the lock is released, an entry could land
/// after a writer replaced it and stay behind, stale (the stress test caught that).
pub(crate) fn fill(graph: &Graph, set: &KeySet) -> Result<()> {
    match &set.target {
        Target::Label => {}
        Target::Vertices { .. } => {
            for id in 0..graph.vertex_end() {
                let Some(slot) = graph.vertex(id) else {
                    continue;
                };
                let g = slot.read();
                if let Some(v) = &*g {
                    let key = set.vertex_key(&v.labels, |k| props::get(&v.props, k))?;
                    set.update(id, None, key);
                }
            }
        }
        Target::Edges { .. } => {
            for id in 0..graph.edge_end() {
                let Some(slot) = graph.edge(id) else {
                    continue;
                };
                let g = slot.read();
                if let Some(e) = &*g {
                    let key = set.edge_key(e.edge_type, |k| props::get(&e.props, k))?;
                    set.update(id, None, key);
                }
            }
        }
    }
    Ok(())
}
