//! Indexes, constraints and triggers: the catalog, its persistence in the `meta`
//! column family, the entries in the `index` column family, and the work commits do
//! to keep them.
//!
//! # Layout
//! The catalog is one `meta` value (`schema`): the next schema id, then each
//! definition with its id (and, for an index, whether its build finished), in the
//! durability crate's schema format. Entries in `index`, all keys starting with the
//! big-endian id of their index or constraint:
//!
//! | kind | key after the id | value |
//! |---|---|---|
//! | label + properties | sort key of each property (`Null` if missing), vertex id | empty |
//! | edge type | edge id | empty |
//! | edge type + property | sort key of the value, edge id | empty |
//! | uniqueness constraint | sort key of each property | the holder's vertex id |
//!
//! Sort keys are engine-api's ([`engine_api::codec::encode_sort_key`]): byte order is
//! the total order of values, so a range of values is a range of keys.
//!
//! # Upkeep
//! Commits keep entries and check constraints, against the catalog current at
//! commit (under the shared side of the commit lock, `Schema::commits`): for every vertex and edge the
//! transaction wrote, the entries of its version at the transaction's start are
//! replaced by those of its new version, in the same RocksDB transaction. A
//! transaction's own uncommitted writes are not in `index`, so lookups add the
//! objects the transaction wrote to the candidates, and check every candidate
//! against its record.
//!
//! # What waits, and for how long
//! - **Creating an index** holds the commit lock exclusively only while it publishes
//!   the index and takes a RocksDB snapshot (microseconds); from then on commits
//!   maintain it, and the build writes the entries of the snapshot's objects with
//!   readers and writers going on. The index is used once the build finished.
//!   A transaction that began before then does not delete an entry the build wrote
//!   (newer than its snapshot): its commit leaves it as a [`Leftover`], deleted
//!   once the build is done if the object's latest version does not have it, under
//!   the object's lock (lookups check records, so results are exact meanwhile).
//! - **Creating a constraint** holds the commit lock exclusively while it checks the
//!   committed data and writes a uniqueness constraint's records: commits of writing
//!   transactions wait that long (reads and uncommitted writes go on).
//! - Dropping deletes the entries, holding the commit lock exclusively while it does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use durability::SchemaOp;
use engine_api::codec::find_property;
use engine_api::{
    ConstraintSpec, Error, ErrorKind, IndexInfo, IndexSpec, Result, TriggerSpec, VertexId,
};
use parking_lot::{Mutex, RwLock};
use rocksdb::{DB, WriteBatch};

use crate::txn::locks::{LockKey, Mode, WriterGuard};

use crate::engine::{OnDiskEngine, cf};
use crate::keys::{
    CatalogEntry, EDGES, EdgeValue, INDEX, LABELS, META, StoredCatalog, VERTICES, VertexRecord,
    rocks,
};
pub(crate) use crate::keys::{
    edge_entry, entry_object, unique_key, vertex_entry, vertex_key, vertex_range,
};
use crate::metadata::{Dictionary, NameKind};

pub(crate) const KEY_SCHEMA: &[u8] = b"schema";

/// What an index covers, with names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Served by the `labels` column family every database has.
    Label(u32),
    Vertex {
        label: u32,
        keys: Vec<u32>,
    },
    Edge {
        edge_type: u32,
        key: Option<u32>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub(crate) id: u32,
    pub(crate) target: Target,
    /// The build finished; lookups may use it.
    pub(crate) ready: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Rule {
    /// An existence or type rule on one property key, checked by
    /// `ConstraintSpec::check_property`.
    Property(u32),
    Unique {
        id: u32,
        keys: Vec<u32>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    pub(crate) spec: ConstraintSpec,
    pub(crate) label: u32,
    pub(crate) rule: Rule,
}

/// One immutable state of the schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    pub(crate) indexes: BTreeMap<IndexSpec, Index>,
    pub(crate) constraints: Vec<Constraint>,
    pub(crate) triggers: BTreeMap<String, TriggerSpec>,
    next_id: u32,
}

impl Catalog {
    /// True if commits have entries to keep or constraints to check.
    pub(crate) fn has_upkeep(&self) -> bool {
        !self.constraints.is_empty()
            || self
                .indexes
                .values()
                .any(|i| !matches!(i.target, Target::Label(_)))
    }

    /// The best ready index for a lookup on `label` filtering `keys` (the longest run
    /// of filtered leading properties).
    pub(crate) fn vertex_index(&self, label: u32, keys: &[u32]) -> Option<(&IndexSpec, &Index)> {
        let candidates = self
            .indexes
            .iter()
            .filter_map(|(spec, index)| match &index.target {
                Target::Vertex { label: l, keys: ks } if *l == label && index.ready => {
                    Some((&ks[..], (spec, index)))
                }
                _ => None,
            });
        engine_api::best_prefix_index(candidates, keys)
    }

    pub(crate) fn label_index(&self, label: u32) -> Option<&IndexSpec> {
        self.indexes
            .iter()
            .find(|(_, i)| i.target == Target::Label(label))
            .map(|(s, _)| s)
    }

    pub(crate) fn edge_index(
        &self,
        edge_type: u32,
        key: Option<u32>,
    ) -> Option<(&IndexSpec, &Index)> {
        let mut type_only = None;
        for (spec, index) in &self.indexes {
            let Target::Edge {
                edge_type: t,
                key: k,
            } = &index.target
            else {
                continue;
            };
            if *t != edge_type || !index.ready {
                continue;
            }
            match k {
                Some(k) if Some(*k) == key => return Some((spec, index)),
                None => type_only = Some((spec, index)),
                Some(_) => {}
            }
        }
        type_only
    }

    fn encode(&self) -> Vec<u8> {
        let mut entries: Vec<CatalogEntry> = self
            .indexes
            .iter()
            .map(|(spec, index)| CatalogEntry::Index {
                id: index.id,
                ready: index.ready,
                spec: spec.clone(),
            })
            .collect();
        entries.extend(self.constraints.iter().map(|c| CatalogEntry::Constraint {
            id: rule_id(&c.rule).unwrap_or(0),
            spec: c.spec.clone(),
        }));
        entries.extend(self.triggers.values().cloned().map(CatalogEntry::Trigger));
        StoredCatalog {
            next_id: self.next_id,
            entries,
        }
        .encode()
    }

    fn decode(bytes: &[u8], db: &DB, names: &Dictionary) -> Result<Self> {
        let stored = StoredCatalog::decode(bytes)?;
        let mut c = Catalog {
            next_id: stored.next_id,
            ..Catalog::default()
        };
        for entry in stored.entries {
            match entry {
                CatalogEntry::Index { id, ready, spec } => {
                    let target = resolve_index(&spec, db, names)?;
                    c.indexes.insert(spec, Index { id, target, ready });
                }
                CatalogEntry::Constraint { id, spec } => {
                    c.constraints
                        .push(resolve_constraint(&spec, id, db, names)?);
                }
                CatalogEntry::Trigger(t) => {
                    c.triggers.insert(t.name.clone(), t);
                }
            }
        }
        Ok(c)
    }

    /// Every definition as create-operations (for a snapshot export).
    pub(crate) fn definitions(&self) -> Vec<SchemaOp> {
        let mut ops: Vec<SchemaOp> = self
            .indexes
            .keys()
            .map(|s| SchemaOp::CreateIndex(s.clone()))
            .collect();
        let mut cs: Vec<&ConstraintSpec> = self.constraints.iter().map(|c| &c.spec).collect();
        cs.sort();
        ops.extend(
            cs.into_iter()
                .map(|s| SchemaOp::CreateConstraint(s.clone())),
        );
        ops.extend(
            self.triggers
                .values()
                .map(|t| SchemaOp::CreateTrigger(t.clone())),
        );
        ops
    }
}

fn rule_id(rule: &Rule) -> Option<u32> {
    match rule {
        Rule::Unique { id, .. } => Some(*id),
        _ => None,
    }
}

fn resolve_index(spec: &IndexSpec, db: &DB, names: &Dictionary) -> Result<Target> {
    Ok(match spec {
        IndexSpec::Label(l) => Target::Label(names.intern(db, NameKind::Label, l)?),
        IndexSpec::LabelProperties { label, properties } => Target::Vertex {
            label: names.intern(db, NameKind::Label, label)?,
            keys: properties
                .iter()
                .map(|p| names.intern(db, NameKind::PropertyKey, p))
                .collect::<Result<_>>()?,
        },
        IndexSpec::EdgeType(t) => Target::Edge {
            edge_type: names.intern(db, NameKind::EdgeType, t)?,
            key: None,
        },
        IndexSpec::EdgeTypeProperty {
            edge_type,
            property,
        } => Target::Edge {
            edge_type: names.intern(db, NameKind::EdgeType, edge_type)?,
            key: Some(names.intern(db, NameKind::PropertyKey, property)?),
        },
    })
}

fn resolve_constraint(
    spec: &ConstraintSpec,
    id: u32,
    db: &DB,
    names: &Dictionary,
) -> Result<Constraint> {
    let label = names.intern(db, NameKind::Label, spec.label())?;
    let key = |p: &str| names.intern(db, NameKind::PropertyKey, p);
    let rule = match spec {
        ConstraintSpec::Exists { property, .. } | ConstraintSpec::Type { property, .. } => {
            Rule::Property(key(property)?)
        }
        ConstraintSpec::Unique { properties, .. } => Rule::Unique {
            id,
            keys: properties.iter().map(|p| key(p)).collect::<Result<_>>()?,
        },
    };
    Ok(Constraint {
        spec: spec.clone(),
        label,
        rule,
    })
}

/// An entry a commit left in place: the object's version at the transaction's start
/// had it, but the index was not complete when the transaction began, so deleting
/// it would have conflicted with the build (whose writes are newer than the
/// transaction's snapshot). Removed once the build is done, if still stale.
#[derive(Debug)]
pub(crate) struct Leftover {
    /// The index's id.
    pub(crate) index: u32,
    /// The entry's key.
    pub(crate) key: Vec<u8>,
}

/// The schema state of an engine.
pub(crate) struct Schema {
    pub(crate) catalog: RwLock<Arc<Catalog>>,
    /// Schema operations one at a time.
    pub(crate) lock: Mutex<()>,
    /// Commits hold it shared while they keep entries and commit; schema operations
    /// hold it exclusively to change what commits must do.
    pub(crate) commits: RwLock<()>,
    /// Leftovers of commits that saw an index still being built; the build removes
    /// them when it is done.
    pub(crate) leftovers: Mutex<Vec<Leftover>>,
}

impl Schema {
    pub(crate) fn load(db: &DB, names: &Dictionary) -> Result<Self> {
        let bytes = db
            .get_cf(cf(db, META)?, KEY_SCHEMA)
            .map_err(|e| rocks("cannot read the schema catalog", e))?;
        let catalog = match bytes {
            Some(b) => Catalog::decode(&b, db, names)?,
            None => Catalog::default(),
        };
        Ok(Schema {
            catalog: RwLock::new(Arc::new(catalog)),
            lock: Mutex::new(()),
            commits: RwLock::new(()),
            leftovers: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn current(&self) -> Arc<Catalog> {
        self.catalog.read().clone()
    }
}

fn too_many() -> Error {
    Error::invalid_input("too many indexes and constraints were created in this database")
}

impl OnDiskEngine {
    fn persist(&self, catalog: &Catalog) -> Result<()> {
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(true);
        self.db
            .put_cf_opt(self.cf(META)?, KEY_SCHEMA, catalog.encode(), &wo)
            .map_err(|e| self.poison(rocks("cannot store the schema catalog", e)))
    }

    /// Persists and publishes a new catalog (the caller holds the schema lock).
    fn install(&self, catalog: Catalog) -> Result<()> {
        self.persist(&catalog)?;
        *self.schema.catalog.write() = Arc::new(catalog);
        Ok(())
    }

    fn write_batch(&self, batch: WriteBatch) -> Result<()> {
        self.db
            .write_opt(batch, self.write_options())
            .map_err(|e| self.poison(rocks("cannot write index entries", e)))
    }

    /// Deletes every key of `id` in `index`.
    fn delete_entries(&self, id: u32) -> Result<()> {
        let icf = self.cf(INDEX)?;
        let prefix = id.to_be_bytes();
        let mut it = self.db.raw_iterator_cf(icf);
        it.seek(prefix);
        let mut batch = WriteBatch::default();
        while let Some(key) = it.key() {
            if !key.starts_with(&prefix) {
                break;
            }
            batch.delete_cf(icf, key);
            if batch.len() >= 10_000 {
                self.write_batch(std::mem::take(&mut batch))?;
            }
            it.next();
        }
        it.status()
            .map_err(|e| rocks("cannot scan index entries", e))?;
        self.write_batch(batch)
    }

    /// Writes the entries of every object in `snapshot` for `index`.
    fn build(
        &self,
        index: &Index,
        snapshot: &rocksdb::SnapshotWithThreadMode<'_, DB>,
    ) -> Result<()> {
        let icf = self.cf(INDEX)?;
        let mut ro = rocksdb::ReadOptions::default();
        ro.set_snapshot(snapshot);
        let mut batch = WriteBatch::default();
        match &index.target {
            Target::Label(_) => {}
            Target::Vertex { label, keys } => {
                let mut it = self.db.raw_iterator_cf_opt(self.cf(LABELS)?, ro);
                let prefix = label.to_be_bytes();
                it.seek(prefix);
                let mut rro = rocksdb::ReadOptions::default();
                rro.set_snapshot(snapshot);
                while let Some(key) = it.key() {
                    if !key.starts_with(&prefix) {
                        break;
                    }
                    let v = crate::keys::decode_label_key(key)?;
                    let vk = crate::keys::id_key(v);
                    if let Some(value) = self
                        .db
                        .get_cf_opt(self.cf(VERTICES)?, vk, &rro)
                        .map_err(|e| rocks("cannot read a vertex", e))?
                    {
                        let record = VertexRecord::decode(&vk, &value)?;
                        if let Some(values) = vertex_key(&record, *label, keys)? {
                            batch.put_cf(icf, vertex_entry(index.id, &values, v), []);
                        }
                    }
                    if batch.len() >= 10_000 {
                        self.write_batch(std::mem::take(&mut batch))?;
                    }
                    it.next();
                }
                it.status().map_err(|e| rocks("cannot scan a label", e))?;
            }
            Target::Edge { edge_type, key } => {
                let mut it = self.db.raw_iterator_cf_opt(self.cf(EDGES)?, ro);
                it.seek_to_first();
                while let (Some(k), Some(value)) = (it.key(), it.value()) {
                    let id = crate::keys::decode_id_key(EDGES, k)?;
                    let e = EdgeValue::decode(k, value)?;
                    if e.edge_type == *edge_type
                        && let Some(entry) = edge_entry(index.id, *key, &e, id)?
                    {
                        batch.put_cf(icf, entry, []);
                    }
                    if batch.len() >= 10_000 {
                        self.write_batch(std::mem::take(&mut batch))?;
                    }
                    it.next();
                }
                it.status().map_err(|e| rocks("cannot scan edges", e))?;
            }
        }
        self.write_batch(batch)
    }

    pub(crate) fn create_index_impl(&self, spec: &IndexSpec) -> Result<()> {
        spec.validate()?;
        self.refuse_when_poisoned()?;
        let _one = self.schema.lock.lock();
        let mut next = Catalog::clone(&self.schema.current());
        if next.indexes.contains_key(spec) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("index {spec} exists already"),
            ));
        }
        let target = resolve_index(spec, &self.db, &self.names)?;
        let id = next.next_id;
        next.next_id = id.checked_add(1).ok_or_else(too_many)?;
        let ready = matches!(target, Target::Label(_));
        let index = Index { id, target, ready };
        next.indexes.insert(spec.clone(), index.clone());
        // Published with the snapshot taken under the exclusive commit lock: every commit
        // is either in the snapshot or keeps the index itself.
        let snapshot = {
            let _no_commits = self.schema.commits.write();
            self.install(next.clone())?;
            self.db.snapshot()
        };
        if let Err(e) = self.build(&index, &snapshot) {
            drop(snapshot);
            // Leave no half index: forget it and its entries.
            let mut back = next.clone();
            back.indexes.remove(spec);
            let _no_commits = self.schema.commits.write();
            self.install(back)?;
            self.schema.leftovers.lock().retain(|l| l.index != id);
            self.delete_entries(id)?;
            return Err(e);
        }
        drop(snapshot);
        if let Some(i) = next.indexes.get_mut(spec) {
            i.ready = true;
        }
        {
            // Commits that saw the index unfinished have queued their leftovers
            // once this is taken.
            let _no_commits = self.schema.commits.write();
            self.install(next.clone())?;
        }
        let leftovers = std::mem::take(&mut *self.schema.leftovers.lock());
        self.remove_leftovers(&next, leftovers)
    }

    /// Deletes each leftover entry that is still stale. Those of indexes no longer in
    /// `catalog` are gone with their index.
    pub(crate) fn remove_leftovers(
        &self,
        catalog: &Catalog,
        leftovers: Vec<Leftover>,
    ) -> Result<()> {
        for leftover in leftovers {
            let Some(index) = catalog
                .indexes
                .values()
                .find(|i| i.id == leftover.index && i.ready)
            else {
                continue;
            };
            let mut attempt = 0;
            loop {
                match self.remove_leftover(index, &leftover) {
                    Err(e) if e.kind() == ErrorKind::Conflict && attempt < 100 => {
                        // A commit of the object holds its lock, briefly.
                        attempt += 1;
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    other => break other?,
                }
            }
        }
        Ok(())
    }

    /// Deletes `leftover` unless the latest version of its object has that entry,
    /// reading the version for update so that no commit of the object runs meanwhile
    /// (a commit that writes the entry writes the object too).
    fn remove_leftover(&self, index: &Index, leftover: &Leftover) -> Result<()> {
        let objects = match index.target {
            // Label indexes live in `labels`, kept by transactions themselves.
            Target::Label(_) => return Ok(()),
            Target::Vertex { .. } => VERTICES,
            Target::Edge { .. } => EDGES,
        };
        let object = entry_object(&leftover.key)?;
        let key = crate::keys::id_key(object);
        let lock = match index.target {
            Target::Vertex { .. } => LockKey::Vertex(object),
            _ => LockKey::Edge(object),
        };
        let mut writer = WriterGuard::new(&self.locks, self.locks.maintenance());
        writer.lock(lock, Mode::Exclusive)?;
        let value = self
            .db
            .get_cf(self.cf(objects)?, key)
            .map_err(|e| rocks("cannot read an indexed object", e))?;
        let current = match (&index.target, value) {
            (_, None) | (Target::Label(_), _) => None,
            (Target::Vertex { label, keys }, Some(v)) => {
                let r = VertexRecord::decode(&key, &v)?;
                vertex_key(&r, *label, keys)?.map(|k| vertex_entry(index.id, &k, object))
            }
            (Target::Edge { edge_type, key: k }, Some(v)) => {
                let e = EdgeValue::decode(&key, &v)?;
                if e.edge_type == *edge_type {
                    edge_entry(index.id, *k, &e, object)?
                } else {
                    None
                }
            }
        };
        if current.as_deref() != Some(&leftover.key[..]) {
            self.db
                .delete_cf_opt(self.cf(INDEX)?, &leftover.key, self.write_options())
                .map_err(|e| rocks("cannot delete a stale index entry", e))?;
        }
        Ok(())
    }

    pub(crate) fn drop_index_impl(&self, spec: &IndexSpec) -> Result<()> {
        self.refuse_when_poisoned()?;
        let _one = self.schema.lock.lock();
        let mut next = Catalog::clone(&self.schema.current());
        let Some(index) = next.indexes.remove(spec) else {
            return Err(Error::not_found(format!("there is no index {spec}")));
        };
        let _no_commits = self.schema.commits.write();
        self.install(next)?;
        self.delete_entries(index.id)
    }

    pub(crate) fn index_infos(&self) -> Result<Vec<IndexInfo>> {
        let catalog = self.schema.current();
        let mut out = Vec::new();
        for (spec, index) in &catalog.indexes {
            let (cfname, prefix) = match index.target {
                Target::Label(l) => (LABELS, l.to_be_bytes()),
                _ => (INDEX, index.id.to_be_bytes()),
            };
            let mut it = self.db.raw_iterator_cf(self.cf(cfname)?);
            it.seek(prefix);
            let mut n = 0;
            while it.key().is_some_and(|k| k.starts_with(&prefix)) {
                n += 1;
                it.next();
            }
            it.status()
                .map_err(|e| rocks("cannot count index entries", e))?;
            out.push(IndexInfo {
                spec: spec.clone(),
                entries: n,
            });
        }
        Ok(out)
    }

    /// Checks the committed data against `c` and writes a uniqueness constraint's
    /// records. Runs with commits held off.
    fn establish(&self, c: &Constraint) -> Result<()> {
        let vcf = self.cf(VERTICES)?;
        let mut it = self.db.raw_iterator_cf(self.cf(LABELS)?);
        let prefix = c.label.to_be_bytes();
        it.seek(prefix);
        let mut holders: HashMap<Vec<u8>, u64> = HashMap::new();
        while let Some(key) = it.key() {
            if !key.starts_with(&prefix) {
                break;
            }
            let v = crate::keys::decode_label_key(key)?;
            let vk = crate::keys::id_key(v);
            if let Some(value) = self
                .db
                .get_cf(vcf, vk)
                .map_err(|e| rocks("cannot read a vertex", e))?
            {
                let record = VertexRecord::decode(&vk, &value)?;
                check_record(c, &record, VertexId(v))?;
                if let Rule::Unique { id, keys } = &c.rule
                    && let Some(k) = unique_key(*id, &record, c.label, keys)?
                    && let Some(other) = holders.insert(k, v)
                {
                    return Err(c.spec.duplicate(VertexId(v), VertexId(other)));
                }
            }
            it.next();
        }
        it.status().map_err(|e| rocks("cannot scan a label", e))?;
        if !holders.is_empty() {
            let icf = self.cf(INDEX)?;
            let mut batch = WriteBatch::default();
            for (k, v) in holders {
                batch.put_cf(icf, k, v.to_be_bytes());
                if batch.len() >= 10_000 {
                    self.write_batch(std::mem::take(&mut batch))?;
                }
            }
            self.write_batch(batch)?;
        }
        Ok(())
    }

    pub(crate) fn create_constraint_impl(&self, spec: &ConstraintSpec) -> Result<()> {
        spec.validate()?;
        self.refuse_when_poisoned()?;
        let _one = self.schema.lock.lock();
        let mut next = Catalog::clone(&self.schema.current());
        if let Some(c) = next.constraints.iter().find(|c| c.spec.same_target(spec)) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("constraint {} exists already", c.spec),
            ));
        }
        let id = next.next_id;
        next.next_id = id.checked_add(1).ok_or_else(too_many)?;
        let c = resolve_constraint(spec, id, &self.db, &self.names)?;
        let _no_commits = self.schema.commits.write();
        if let Err(e) = self.establish(&c) {
            if rule_id(&c.rule).is_some() {
                self.delete_entries(id)?;
            }
            return Err(e);
        }
        next.constraints.push(c);
        self.install(next)
    }

    pub(crate) fn drop_constraint_impl(&self, spec: &ConstraintSpec) -> Result<()> {
        self.refuse_when_poisoned()?;
        let _one = self.schema.lock.lock();
        let mut next = Catalog::clone(&self.schema.current());
        let Some(at) = next.constraints.iter().position(|c| c.spec == *spec) else {
            return Err(Error::not_found(format!("there is no constraint {spec}")));
        };
        let c = next.constraints.remove(at);
        let _no_commits = self.schema.commits.write();
        self.install(next)?;
        if let Some(id) = rule_id(&c.rule) {
            self.delete_entries(id)?;
        }
        Ok(())
    }

    pub(crate) fn create_trigger_impl(&self, spec: &TriggerSpec) -> Result<()> {
        spec.validate()?;
        self.refuse_when_poisoned()?;
        let _one = self.schema.lock.lock();
        let mut next = Catalog::clone(&self.schema.current());
        if next.triggers.contains_key(&spec.name) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("trigger {:?} exists already", spec.name),
            ));
        }
        next.triggers.insert(spec.name.clone(), spec.clone());
        self.install(next)
    }

    pub(crate) fn drop_trigger_impl(&self, name: &str) -> Result<()> {
        self.refuse_when_poisoned()?;
        let _one = self.schema.lock.lock();
        let mut next = Catalog::clone(&self.schema.current());
        if next.triggers.remove(name).is_none() {
            return Err(Error::not_found(format!("there is no trigger {name:?}")));
        }
        self.install(next)
    }

    /// After opening: rebuilds indexes whose build a crash interrupted.
    pub(crate) fn finish_interrupted_builds(&self) -> Result<()> {
        let catalog = self.schema.current();
        let pending: Vec<(IndexSpec, Index)> = catalog
            .indexes
            .iter()
            .filter(|(_, i)| !i.ready)
            .map(|(s, i)| (s.clone(), i.clone()))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let mut next = Catalog::clone(&catalog);
        for (spec, index) in pending {
            tracing::warn!(index = %spec, "rebuilding an index whose build was interrupted");
            self.delete_entries(index.id)?;
            let snapshot = self.db.snapshot();
            self.build(&index, &snapshot)?;
            if let Some(i) = next.indexes.get_mut(&spec) {
                i.ready = true;
            }
        }
        self.install(next)
    }

    /// Installs definitions restored from a snapshot into a database being created
    /// (nothing else runs): indexes are built, constraints established.
    pub(crate) fn restore_schema(&self, definitions: Vec<SchemaOp>) -> Result<()> {
        for op in definitions {
            match op {
                SchemaOp::CreateIndex(s) => self.create_index_impl(&s)?,
                SchemaOp::CreateConstraint(s) => self.create_constraint_impl(&s)?,
                SchemaOp::CreateTrigger(t) => self.create_trigger_impl(&t)?,
                other => {
                    return Err(Error::corrupt(format!(
                        "a snapshot's schema holds {other:?}, not a definition"
                    )));
                }
            }
        }
        Ok(())
    }

    fn refuse_when_poisoned(&self) -> Result<()> {
        if self.is_poisoned() {
            return Err(Error::new(
                ErrorKind::Poisoned,
                "a durable write failed earlier; reopen the engine to change the schema",
            ));
        }
        Ok(())
    }
}

/// Checks a vertex version against an existence or type constraint (the rules are
/// engine-api's, shared by every backend).
pub(crate) fn check_record(c: &Constraint, record: &VertexRecord, v: VertexId) -> Result<()> {
    if record.labels.binary_search(&c.label).is_err() {
        return Ok(());
    }
    let Rule::Property(k) = &c.rule else {
        return Ok(());
    };
    let value = find_property(&record.props, *k)
        .map_err(|e| e.into_corrupt("vertex property record", 0))?;
    c.spec.check_property(v, value.as_ref())
}

#[cfg(test)]
mod tests {
    use engine_api::codec::encode_sort_key;
    use engine_api::{PropertyBounds, PropertyValue, StorageEngine, Transaction, TxnOptions};

    use super::*;
    use crate::Config;

    fn spec() -> IndexSpec {
        IndexSpec::LabelProperties {
            label: "P".into(),
            properties: vec!["x".into()],
        }
    }

    fn entries(db: &OnDiskEngine) -> u64 {
        let infos = db.indexes().expect("indexes");
        infos
            .iter()
            .find(|i| i.spec == spec())
            .expect("the index is listed")
            .entries
    }

    /// A crash during a build leaves the index in the catalog, not ready, with some
    /// of its entries (and maybe entries of objects since deleted): the next open
    /// rebuilds it from scratch.
    #[test]
    fn an_interrupted_build_is_redone_at_open() {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
            let mut t = db.begin(TxnOptions::new()).expect("begin");
            for i in 0..100_i64 {
                t.create_vertex_with(&["P"], &[("x", (i % 10).into())])
                    .expect("vertex");
            }
            t.commit().expect("commit");
            db.create_index(&spec()).expect("index");
            assert_eq!(entries(&db), 100);

            // The state a crash in the middle of the build leaves.
            let _one = db.schema.lock.lock();
            let mut next = Catalog::clone(&db.schema.current());
            let index = next.indexes.get_mut(&spec()).expect("in the catalog");
            index.ready = false;
            let id = index.id;
            db.install(next).expect("install");
            db.delete_entries(id).expect("delete");
            let mut stale = id.to_be_bytes().to_vec();
            encode_sort_key(&PropertyValue::Int(3), &mut stale);
            stale.extend_from_slice(&999_999_u64.to_be_bytes());
            db.db
                .put_cf(db.cf(INDEX).expect("cf"), stale, [])
                .expect("put");
            drop(_one);
            assert_eq!(entries(&db), 1);
            // Not ready: lookups scan and stay exact.
            let t = db.begin(TxnOptions::new()).expect("begin");
            assert_eq!(t.vertex_lookup_index("P", &["x"]).expect("plan"), None);
            drop(t);
            db.close().expect("close");
        }
        let db = OnDiskEngine::open(Config::new(dir.path())).expect("reopen");
        assert_eq!(
            entries(&db),
            100,
            "the build is redone, the stale entry gone"
        );
        let t = db.begin(TxnOptions::new()).expect("begin");
        assert_eq!(
            t.vertex_lookup_index("P", &["x"]).expect("plan"),
            Some(spec())
        );
        let found = t
            .vertices_with_property("P", "x", &PropertyBounds::equal(PropertyValue::Int(3)))
            .expect("lookup")
            .count();
        assert_eq!(found, 10);
    }
}
