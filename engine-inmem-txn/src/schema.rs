//! The schema catalog: indexes, constraints and triggers, and the operations that
//! change it.
//!
//! The catalog is immutable and replaced whole on every change ([`ArcSwap`]), so
//! writers read it without a lock, under the lock of the object they write. Schema
//! operations run one at a time (`Schema::lock`).
//!
//! # What waits, and for how long
//! - **Creating an index** publishes an empty key set that writers maintain from then
//!   on, then visits every vertex (or edge) once, holding only that object's lock
//!   while it collects the keys of all its versions. Readers and writers go on; each
//!   waits at most for one object's visit. The collected keys are then merged into
//!   the set in one pass, building a tree of full nodes (the report measures the
//!   heap per entry): writers that insert into or remove from this set wait for the
//!   merge, about 20 ms per million entries on the 2-core VM. A key a rollback or a
//!   collection removed while the keys were collected is checked again against its
//!   object. The index is used by lookups once this is done, which is before
//!   `create_index` returns.
//! - **Creating a constraint** fills a uniqueness constraint's key set the same way,
//!   then holds the commit order while it checks the committed data: commits of
//!   writing transactions wait for the check (reads and uncommitted writes go on).
//!   Every commit after that is checked against it.
//! - Dropping anything and trigger operations only replace the catalog.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use durability::SchemaOp;
use engine_api::{
    ConstraintSpec, Error, ErrorKind, IndexInfo, IndexSpec, OrderedValue, Result, TriggerSpec,
    best_prefix_index,
};
use parking_lot::Mutex;

use crate::clock::CommitClock;
use crate::constraints::{Constraint, Rule};
use crate::graph::Graph;
use crate::index::{
    EdgeKeySet, VertexKey, VertexKeySet, chain, edge_version_keys, vertex_version_keys,
};

/// An index as the catalog holds it.
#[derive(Debug, Clone)]
pub(crate) enum IndexEntry {
    /// Served by the label sets every engine keeps; the entry is the catalog's.
    Label(u32),
    Vertex(Arc<VertexKeySet>),
    Edge(Arc<EdgeKeySet>),
}

/// One immutable state of the schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    pub(crate) indexes: BTreeMap<IndexSpec, IndexEntry>,
    pub(crate) constraints: Vec<Constraint>,
    pub(crate) triggers: BTreeMap<String, TriggerSpec>,
    /// Every vertex key set writers maintain: label+property indexes, uniqueness
    /// constraints' sets, and sets being filled.
    pub(crate) vertex_sets: Vec<Arc<VertexKeySet>>,
    pub(crate) edge_sets: Vec<Arc<EdgeKeySet>>,
}

impl Catalog {
    /// The best ready index for a lookup on `label` filtering `keys`: the one whose
    /// properties start with the longest run of filtered keys.
    pub(crate) fn vertex_index(
        &self,
        label: u32,
        keys: &[u32],
    ) -> Option<(&IndexSpec, &Arc<VertexKeySet>)> {
        let candidates = self.indexes.iter().filter_map(|(spec, entry)| match entry {
            IndexEntry::Vertex(set) if set.label == label && set.is_ready() => {
                Some((&set.keys[..], (spec, set)))
            }
            _ => None,
        });
        best_prefix_index(candidates, keys)
    }

    pub(crate) fn label_index(&self, label: u32) -> Option<&IndexSpec> {
        self.indexes
            .iter()
            .find(|(_, e)| matches!(e, IndexEntry::Label(l) if *l == label))
            .map(|(spec, _)| spec)
    }

    /// The best ready edge index: type+property when `key` is given and one exists,
    /// else type-only.
    pub(crate) fn edge_index(
        &self,
        edge_type: u32,
        key: Option<u32>,
    ) -> Option<(&IndexSpec, &Arc<EdgeKeySet>)> {
        let mut type_only = None;
        for (spec, entry) in &self.indexes {
            let IndexEntry::Edge(set) = entry else {
                continue;
            };
            if set.edge_type != edge_type || !set.is_ready() {
                continue;
            }
            match set.key {
                Some(k) if Some(k) == key => return Some((spec, set)),
                None => type_only = Some((spec, set)),
                Some(_) => {}
            }
        }
        type_only
    }

    fn without_vertex_set(&mut self, set: &Arc<VertexKeySet>) {
        self.vertex_sets.retain(|s| !Arc::ptr_eq(s, set));
    }

    fn without_edge_set(&mut self, set: &Arc<EdgeKeySet>) {
        self.edge_sets.retain(|s| !Arc::ptr_eq(s, set));
    }
}

/// The catalog and the lock that orders schema operations.
pub(crate) struct Schema {
    pub(crate) catalog: ArcSwap<Catalog>,
    pub(crate) lock: Mutex<()>,
}

impl Schema {
    pub(crate) fn new() -> Self {
        Schema {
            catalog: ArcSwap::from_pointee(Catalog::default()),
            lock: Mutex::new(()),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Catalog)) {
        let mut next = Catalog::clone(&self.catalog.load());
        f(&mut next);
        self.catalog.store(Arc::new(next));
    }
}

impl Schema {
    pub(crate) fn create_index(
        &self,
        graph: &Graph,
        clock: &CommitClock,
        spec: &IndexSpec,
    ) -> Result<()> {
        spec.validate()?;
        clock.refuse_when_poisoned()?;
        let _one = self.lock.lock();
        if self.catalog.load().indexes.contains_key(spec) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists already", spec.named()),
            ));
        }
        let entry = index_entry(graph, spec)?;
        // Writers maintain the set from here on; then every existing object is visited.
        match &entry {
            IndexEntry::Label(_) => {}
            IndexEntry::Vertex(set) => {
                self.update(|c| c.vertex_sets.push(set.clone()));
                if let Err(e) = fill_vertex_set(graph, set) {
                    self.update(|c| c.without_vertex_set(set));
                    return Err(e);
                }
            }
            IndexEntry::Edge(set) => {
                self.update(|c| c.edge_sets.push(set.clone()));
                if let Err(e) = fill_edge_set(graph, set) {
                    self.update(|c| c.without_edge_set(set));
                    return Err(e);
                }
            }
        }
        clock
            .log_schema(
                &SchemaOp::CreateIndex(spec.clone()),
                || Ok(()),
                || {
                    self.update(|c| {
                        c.indexes.insert(spec.clone(), entry.clone());
                    });
                },
            )
            .inspect_err(|_| {
                self.update(|c| match &entry {
                    IndexEntry::Vertex(set) => c.without_vertex_set(set),
                    IndexEntry::Edge(set) => c.without_edge_set(set),
                    IndexEntry::Label(_) => {}
                })
            })
    }

    pub(crate) fn drop_index(&self, clock: &CommitClock, spec: &IndexSpec) -> Result<()> {
        clock.refuse_when_poisoned()?;
        let _one = self.lock.lock();
        let Some(entry) = self.catalog.load().indexes.get(spec).cloned() else {
            return Err(Error::not_found(format!("there is no {}", spec.named())));
        };
        clock.log_schema(
            &SchemaOp::DropIndex(spec.clone()),
            || Ok(()),
            || {
                self.update(|c| {
                    c.indexes.remove(spec);
                    match &entry {
                        IndexEntry::Vertex(set) => c.without_vertex_set(set),
                        IndexEntry::Edge(set) => c.without_edge_set(set),
                        IndexEntry::Label(_) => {}
                    }
                });
            },
        )
    }

    pub(crate) fn index_infos(&self, graph: &Graph) -> Result<Vec<IndexInfo>> {
        let catalog = self.catalog.load();
        let mut out = Vec::with_capacity(catalog.indexes.len());
        for (spec, entry) in &catalog.indexes {
            let entries = match entry {
                IndexEntry::Label(l) => graph.label_index.len(*l),
                IndexEntry::Vertex(set) => set.len(),
                IndexEntry::Edge(set) => set.len(),
            };
            out.push(IndexInfo {
                spec: spec.clone(),
                entries,
            });
        }
        Ok(out)
    }

    pub(crate) fn create_constraint(
        &self,
        graph: &Graph,
        clock: &CommitClock,
        spec: &ConstraintSpec,
    ) -> Result<()> {
        spec.validate()?;
        clock.refuse_when_poisoned()?;
        let _one = self.lock.lock();
        if let Some(c) = self
            .catalog
            .load()
            .constraints
            .iter()
            .find(|c| c.spec.same_target(spec))
        {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("constraint {} exists already", c.spec),
            ));
        }
        let constraint = resolve_constraint(graph, spec)?;
        let set = match &constraint.rule {
            Rule::Unique(set) => Some(set.clone()),
            _ => None,
        };
        if let Some(set) = &set {
            self.update(|c| c.vertex_sets.push(set.clone()));
            if let Err(e) = fill_vertex_set(graph, set) {
                self.update(|c| c.without_vertex_set(set));
                return Err(e);
            }
        }
        let forget_set = || {
            if let Some(set) = &set {
                self.update(|c| c.without_vertex_set(set));
            }
        };
        // Commits wait from here until the constraint is in force, so none slips
        // between the check and the catalog change.
        let r = clock.log_schema(
            &SchemaOp::CreateConstraint(spec.clone()),
            || constraint.check_existing(graph),
            || {
                self.update(|c| c.constraints.push(constraint.clone()));
            },
        );
        if r.is_err() {
            forget_set();
        }
        r
    }

    pub(crate) fn drop_constraint(&self, clock: &CommitClock, spec: &ConstraintSpec) -> Result<()> {
        clock.refuse_when_poisoned()?;
        let _one = self.lock.lock();
        let Some(found) = self
            .catalog
            .load()
            .constraints
            .iter()
            .find(|c| c.spec == *spec)
            .cloned()
        else {
            return Err(Error::not_found(format!("there is no constraint {spec}")));
        };
        clock.log_schema(
            &SchemaOp::DropConstraint(spec.clone()),
            || Ok(()),
            || {
                self.update(|c| {
                    c.constraints.retain(|x| x.spec != *spec);
                    if let Rule::Unique(set) = &found.rule {
                        c.without_vertex_set(set);
                    }
                });
            },
        )
    }

    pub(crate) fn constraint_specs(&self) -> Vec<ConstraintSpec> {
        let mut specs: Vec<ConstraintSpec> = self
            .catalog
            .load()
            .constraints
            .iter()
            .map(|c| c.spec.clone())
            .collect();
        specs.sort();
        specs
    }

    pub(crate) fn create_trigger(&self, clock: &CommitClock, spec: &TriggerSpec) -> Result<()> {
        spec.validate()?;
        clock.refuse_when_poisoned()?;
        let _one = self.lock.lock();
        if self.catalog.load().triggers.contains_key(&spec.name) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("trigger {:?} exists already", spec.name),
            ));
        }
        clock.log_schema(
            &SchemaOp::CreateTrigger(spec.clone()),
            || Ok(()),
            || {
                self.update(|c| {
                    c.triggers.insert(spec.name.clone(), spec.clone());
                });
            },
        )
    }

    pub(crate) fn drop_trigger(&self, clock: &CommitClock, name: &str) -> Result<()> {
        clock.refuse_when_poisoned()?;
        let _one = self.lock.lock();
        if !self.catalog.load().triggers.contains_key(name) {
            return Err(Error::not_found(format!("there is no trigger {name:?}")));
        }
        clock.log_schema(
            &SchemaOp::DropTrigger(name.to_string()),
            || Ok(()),
            || {
                self.update(|c| {
                    c.triggers.remove(name);
                });
            },
        )
    }
}

/// Schema definitions gathered during recovery: the snapshot's, then the WAL's
/// changes replayed in log order. Each change sets whether its definition exists, so
/// replaying changes the snapshot already holds gives the same result.
#[derive(Debug, Default)]
pub(crate) struct RecoveredSchema {
    indexes: Vec<IndexSpec>,
    constraints: Vec<ConstraintSpec>,
    triggers: BTreeMap<String, TriggerSpec>,
}

impl RecoveredSchema {
    pub(crate) fn apply(&mut self, op: SchemaOp) {
        match op {
            SchemaOp::CreateIndex(s) => {
                if !self.indexes.contains(&s) {
                    self.indexes.push(s);
                }
            }
            SchemaOp::DropIndex(s) => self.indexes.retain(|x| *x != s),
            SchemaOp::CreateConstraint(s) => {
                self.constraints.retain(|x| !x.same_target(&s));
                self.constraints.push(s);
            }
            SchemaOp::DropConstraint(s) => self.constraints.retain(|x| *x != s),
            SchemaOp::CreateTrigger(t) => {
                self.triggers.insert(t.name.clone(), t);
            }
            SchemaOp::DropTrigger(name) => {
                self.triggers.remove(&name);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.indexes.is_empty() && self.constraints.is_empty() && self.triggers.is_empty()
    }
}

impl Schema {
    /// Every definition, as create-operations (for a snapshot).
    pub(crate) fn schema_definitions(&self) -> Vec<SchemaOp> {
        let catalog = self.catalog.load();
        let mut ops: Vec<SchemaOp> = catalog
            .indexes
            .keys()
            .map(|s| SchemaOp::CreateIndex(s.clone()))
            .collect();
        let mut constraints: Vec<&ConstraintSpec> =
            catalog.constraints.iter().map(|c| &c.spec).collect();
        constraints.sort();
        ops.extend(
            constraints
                .into_iter()
                .map(|s| SchemaOp::CreateConstraint(s.clone())),
        );
        ops.extend(
            catalog
                .triggers
                .values()
                .map(|t| SchemaOp::CreateTrigger(t.clone())),
        );
        ops
    }

    /// Installs recovered definitions on the recovered data: fills every key set (the
    /// vertex sets in one pass over the vertices, split across threads) and puts the
    /// constraints in force without checking them (they held when they were made).
    pub(crate) fn install(
        &self,
        graph: &Graph,
        recovered: RecoveredSchema,
        threads: usize,
    ) -> Result<()> {
        let mut catalog = Catalog::default();
        for spec in recovered.indexes {
            let entry = index_entry(graph, &spec)?;
            match &entry {
                IndexEntry::Vertex(set) => catalog.vertex_sets.push(set.clone()),
                IndexEntry::Edge(set) => catalog.edge_sets.push(set.clone()),
                IndexEntry::Label(_) => {}
            }
            catalog.indexes.insert(spec, entry);
        }
        for spec in recovered.constraints {
            let c = resolve_constraint(graph, &spec)?;
            if let Rule::Unique(set) = &c.rule {
                catalog.vertex_sets.push(set.clone());
            }
            catalog.constraints.push(c);
        }
        catalog.triggers = recovered.triggers;
        fill_all(graph, &catalog, threads)?;
        self.catalog.store(Arc::new(catalog));
        Ok(())
    }
}

/// Makes a key set for `spec`, interning its names.
fn index_entry(graph: &Graph, spec: &IndexSpec) -> Result<IndexEntry> {
    Ok(match spec {
        IndexSpec::Label(l) => IndexEntry::Label(graph.labels.intern(l)?),
        IndexSpec::LabelProperties { label, properties } => {
            let keys = properties
                .iter()
                .map(|p| graph.keys.intern(p))
                .collect::<Result<Vec<_>>>()?;
            IndexEntry::Vertex(Arc::new(VertexKeySet::new(
                graph.labels.intern(label)?,
                keys,
            )))
        }
        IndexSpec::EdgeType(t) => {
            IndexEntry::Edge(Arc::new(EdgeKeySet::new(graph.edge_types.intern(t)?, None)))
        }
        IndexSpec::EdgeTypeProperty {
            edge_type,
            property,
        } => IndexEntry::Edge(Arc::new(EdgeKeySet::new(
            graph.edge_types.intern(edge_type)?,
            Some(graph.keys.intern(property)?),
        ))),
    })
}

/// Inserts the keys of every version of every vertex into `set`, one vertex lock
/// at a time. Writers maintain the set already, so a vertex written after its
/// visit has its new keys inserted by the writer. The keys are collected apart
/// and merged in at the end (see [`crate::index::Entries::merge_build`]); a key
/// removed meanwhile is removed again if no version of its vertex has it.
pub(crate) fn fill_vertex_set(graph: &Graph, set: &Arc<VertexKeySet>) -> Result<()> {
    let sets = std::slice::from_ref(set);
    let end = graph.next_vertex.end();
    let candidates = graph.label_index.members(set.label);
    // On an error the caller discards the set.
    set.begin_build();
    let mut built: Vec<(VertexKey, u64)> = Vec::new();
    for id in candidates.into_iter().filter(|id| *id < end) {
        let Some(slot) = graph.vertices.get(id) else {
            continue;
        };
        let guard = slot.read();
        let Some(state) = guard.as_ref() else {
            continue;
        };
        vertex_version_keys(sets, state, chain(&state.delta), |_, _, key| {
            built.push((key, id));
        })?;
    }
    let removed = set.merge_build(built.into_iter().collect());
    for (key, id) in removed {
        // Under the vertex's lock: no writer adds the key back meanwhile.
        let Some(slot) = graph.vertices.get(id) else {
            continue;
        };
        let guard = slot.read();
        let mut kept = false;
        if let Some(state) = guard.as_ref() {
            vertex_version_keys(sets, state, chain(&state.delta), |_, _, k| {
                kept |= k == key;
            })?;
        }
        if !kept {
            set.remove(key, id);
        }
    }
    set.set_ready();
    Ok(())
}

/// As [`fill_vertex_set`], for an edge set.
pub(crate) fn fill_edge_set(graph: &Graph, set: &Arc<EdgeKeySet>) -> Result<()> {
    let sets = std::slice::from_ref(set);
    let end = graph.next_edge.end();
    set.begin_build();
    let mut built: Vec<(OrderedValue, u64)> = Vec::new();
    for id in 0..end {
        let Some(slot) = graph.edges.get(id) else {
            continue;
        };
        let guard = slot.read();
        let Some(state) = guard.as_ref() else {
            continue;
        };
        edge_version_keys(sets, state, chain(&state.delta), |_, _, key| {
            built.push((key, id));
        })?;
    }
    let removed = set.merge_build(built.into_iter().collect());
    for (key, id) in removed {
        let Some(slot) = graph.edges.get(id) else {
            continue;
        };
        let guard = slot.read();
        let mut kept = false;
        if let Some(state) = guard.as_ref() {
            edge_version_keys(sets, state, chain(&state.delta), |_, _, k| {
                kept |= k == key;
            })?;
        }
        if !kept {
            set.remove(key, id);
        }
    }
    set.set_ready();
    Ok(())
}

fn resolve_constraint(graph: &Graph, spec: &ConstraintSpec) -> Result<Constraint> {
    let label = graph.labels.intern(spec.label())?;
    let rule = match spec {
        ConstraintSpec::Exists { property, .. } | ConstraintSpec::Type { property, .. } => {
            Rule::Property(graph.keys.intern(property)?)
        }
        ConstraintSpec::Unique { properties, .. } => {
            let keys = properties
                .iter()
                .map(|p| graph.keys.intern(p))
                .collect::<Result<Vec<_>>>()?;
            Rule::Unique(Arc::new(VertexKeySet::new(label, keys)))
        }
    };
    Ok(Constraint {
        spec: spec.clone(),
        label,
        rule,
    })
}

/// Fills every set of a catalog nobody uses yet, on up to `threads` threads,
/// each taking a range of ids.
fn fill_all(graph: &Graph, catalog: &Catalog, threads: usize) -> Result<()> {
    fn ranges(end: u64, n: usize) -> Vec<std::ops::Range<u64>> {
        let n = n.max(1) as u64;
        let step = end.div_ceil(n).max(1);
        (0..n)
            .map(|i| (i * step).min(end)..((i + 1) * step).min(end))
            .filter(|r| !r.is_empty())
            .collect()
    }
    let vsets = &catalog.vertex_sets;
    let esets = &catalog.edge_sets;
    if !vsets.is_empty() {
        let parts = std::thread::scope(|s| {
            let workers: Vec<_> = ranges(graph.next_vertex.end(), threads)
                .into_iter()
                .map(|r| {
                    s.spawn(
                        move || -> Result<Vec<Vec<(crate::index::VertexKey, u64)>>> {
                            let mut out = vec![Vec::new(); vsets.len()];
                            for id in r {
                                let Some(slot) = graph.vertices.get(id) else {
                                    continue;
                                };
                                let guard = slot.read();
                                let Some(state) = guard.as_ref() else {
                                    continue;
                                };
                                vertex_version_keys(
                                    vsets,
                                    state,
                                    chain(&state.delta),
                                    |_, i, k| {
                                        out[i].push((k, id));
                                    },
                                )?;
                            }
                            Ok(out)
                        },
                    )
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(Error::corrupt("an index build thread panicked")))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        // Per set: its entries from every range, then one sort and bulk build,
        // the sets on their own threads. Measured, recovery of 1M vertices with
        // two indexes on 2 cores: scanning alone in parallel gave 1.05x one
        // thread; building the sets in parallel too gives 1.25-1.47x.
        let mut per_set: Vec<Vec<(crate::index::VertexKey, u64)>> =
            vsets.iter().map(|_| Vec::new()).collect();
        for part in parts {
            for (i, entries) in part.into_iter().enumerate() {
                per_set[i].extend(entries);
            }
        }
        let mut jobs: Vec<_> = vsets.iter().zip(per_set).collect();
        while !jobs.is_empty() {
            let batch: Vec<_> = jobs.drain(..threads.clamp(1, jobs.len())).collect();
            std::thread::scope(|s| {
                for (set, entries) in batch {
                    s.spawn(move || set.fill(entries));
                }
            });
        }
    }
    if !esets.is_empty() {
        let mut out = vec![Vec::new(); esets.len()];
        for id in 0..graph.next_edge.end() {
            let Some(slot) = graph.edges.get(id) else {
                continue;
            };
            let guard = slot.read();
            let Some(state) = guard.as_ref() else {
                continue;
            };
            edge_version_keys(esets, state, chain(&state.delta), |_, i, k| {
                out[i].push((k, id));
            })?;
        }
        for (set, entries) in esets.iter().zip(out) {
            set.fill(entries);
        }
    }
    Ok(())
}
