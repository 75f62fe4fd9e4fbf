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
//! - **Creating an index**: see module `index` (commits wait microseconds).
//! - **Creating a constraint** holds the commit lock exclusively while it checks the
//!   committed data and writes a uniqueness constraint's records: commits of writing
//!   transactions wait that long (reads and uncommitted writes go on).
//! - Dropping deletes the entries, holding the commit lock exclusively while it does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use durability::SchemaOp;
use engine_api::codec::find_property;
use engine_api::{ConstraintSpec, Error, ErrorKind, IndexSpec, Result, TriggerSpec, VertexId};
use parking_lot::{Mutex, RwLock};
use rocksdb::{DB, WriteBatch};

use crate::engine::{OnDiskEngine, cf};
use crate::index::Leftover;
use crate::keys::{
    CatalogEntry, INDEX, LABELS, META, StoredCatalog, VERTICES, VertexRecord, rocks,
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
    pub(crate) next_id: u32,
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

pub(crate) fn resolve_index(spec: &IndexSpec, db: &DB, names: &Dictionary) -> Result<Target> {
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

pub(crate) fn too_many() -> Error {
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
    pub(crate) fn install(&self, catalog: Catalog) -> Result<()> {
        self.persist(&catalog)?;
        *self.schema.catalog.write() = Arc::new(catalog);
        Ok(())
    }

    pub(crate) fn write_batch(&self, batch: WriteBatch) -> Result<()> {
        self.db
            .write_opt(batch, self.write_options())
            .map_err(|e| self.poison(rocks("cannot write index entries", e)))
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

    pub(crate) fn refuse_when_poisoned(&self) -> Result<()> {
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
