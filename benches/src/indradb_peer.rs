//! IndraDB, the Rust graph datastore with pluggable backends, as a peer: its memory
//! datastore (its RocksDB datastore needs its own librocksdb-sys, which cannot link
//! beside ours). Fed through its own API the way its documentation suggests: imports
//! through `bulk_insert`, reads and traversals through queries.
//!
//! IndraDB's model differs from ours, and the mapping says how: a vertex has one type
//! (the first label, `Person`) and the second label becomes an indexed `role`
//! property (a label scan is a property-value query); ids are UUIDs, which the
//! adapter maps to the workload's dense ids; an edge is identified by (source, type,
//! target), so the workload never repeats one (see `Workload::generate`); values are
//! JSON. Every call is its own datastore transaction: a small write is two calls, not
//! atomic. Label+property lookups use its property index (which has no label: the
//! vertex type is checked on what it returns); without the index (its value queries
//! refuse an unindexed property) every vertex's property is read and compared.

use engine_api::{Error, ErrorKind, PropertyValue, Result};
use indradb::{
    AllVertexQuery, BulkInsertItem, Database, Edge, Identifier, Json, MemoryDatastore, QueryExt,
    QueryOutputValue, SpecificVertexQuery, Vertex, VertexWithPropertyPresenceQuery,
    VertexWithPropertyValueQuery,
};
use parking_lot::RwLock;
use uuid::Uuid;

use crate::workload::{Digest, EdgeSpec, Fold, Subject, VertexSpec, walk};

/// What a read folds for a vertex: its UUID's two halves combined.
fn uuid_key(id: Uuid) -> u64 {
    let (hi, lo) = id.as_u64_pair();
    hi ^ lo
}

fn indra(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("indradb: {e}"))
}

fn ident(s: &str) -> Result<Identifier> {
    Identifier::new(s).map_err(indra)
}

fn json(v: &PropertyValue) -> Json {
    Json::new(match v {
        PropertyValue::Int(i) => serde_json::json!(i),
        PropertyValue::Float(f) => serde_json::json!(f),
        PropertyValue::String(s) => serde_json::json!(s),
        PropertyValue::Bool(b) => serde_json::json!(b),
        other => serde_json::json!(format!("{other:?}")),
    })
}

/// The identifiers the workloads use, made once (each costs a validation and a
/// global interner lock).
struct Names {
    person: Identifier,
    role: Identifier,
    name: Identifier,
    weight: Identifier,
    score: Identifier,
    id: Identifier,
    knows: Identifier,
    /// Any other name the workload gives, by its text.
    others: Vec<(String, Identifier)>,
}

impl Names {
    fn new() -> Result<Self> {
        let mut others = Vec::new();
        for n in crate::workload::EDGE_TYPES
            .iter()
            .chain(crate::workload::ROLES.iter())
            .chain(["id", "name", "score", "weight", "Person", "role"].iter())
        {
            others.push((n.to_string(), ident(n)?));
        }
        Ok(Names {
            person: ident("Person")?,
            role: ident("role")?,
            name: ident("name")?,
            weight: ident("weight")?,
            score: ident("score")?,
            id: ident("id")?,
            knows: ident("KNOWS")?,
            others,
        })
    }

    /// The identifier of `text` (made on the spot for a name the workloads never use).
    fn of(&self, text: &str) -> Result<Identifier> {
        match self.others.iter().find(|(n, _)| n == text) {
            Some((_, i)) => Ok(*i),
            None => ident(text),
        }
    }
}

/// The IndraDB peer.
pub struct IndraDbPeer {
    db: Database<MemoryDatastore>,
    names: Names,
    /// UUID of each workload id, in the order they were handed out.
    ids: RwLock<Vec<Uuid>>,
    /// The property its index was asked for (`create_index`).
    indexed: RwLock<Option<Identifier>>,
}

impl std::fmt::Debug for IndraDbPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndraDbPeer").finish_non_exhaustive()
    }
}

impl IndraDbPeer {
    /// An empty memory datastore, with `role` indexed (the second label).
    pub fn open() -> Result<Self> {
        let db = MemoryDatastore::new_db();
        let names = Names::new()?;
        db.index_property(names.role).map_err(indra)?;
        Ok(IndraDbPeer {
            db,
            names,
            ids: RwLock::new(Vec::new()),
            indexed: RwLock::new(None),
        })
    }

    fn uuid(&self, id: u64) -> Result<Uuid> {
        self.ids
            .read()
            .get(id as usize)
            .copied()
            .ok_or_else(|| Error::not_found("no such vertex"))
    }

    /// Appends the outbound neighbours of `v` to `out`, one per edge.
    fn out(&self, v: Uuid, out: &mut Vec<Uuid>) -> Result<()> {
        let q = SpecificVertexQuery::single(v).outbound().map_err(indra)?;
        for value in self.db.get(q).map_err(indra)? {
            if let QueryOutputValue::Edges(edges) = value {
                out.extend(edges.iter().map(|e| e.inbound_id));
            }
        }
        Ok(())
    }

    /// Folds the vertices of type `label` among `values` (a query's output).
    fn fold_vertices(values: Vec<QueryOutputValue>, label: Identifier, fold: &mut Fold) {
        for value in values {
            if let QueryOutputValue::Vertices(vs) = value {
                for v in vs.iter().filter(|v| v.t == label) {
                    fold.add(uuid_key(v.id));
                }
            }
        }
    }
}

impl Subject for IndraDbPeer {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        let (person, role) = (self.names.person, self.names.role);
        let mut items = Vec::with_capacity(batch.len() * 5);
        let mut fresh = Vec::with_capacity(batch.len());
        for v in batch {
            let vertex = Vertex::new(person);
            fresh.push(vertex.id);
            items.push(BulkInsertItem::VertexProperty(
                vertex.id,
                role,
                Json::new(serde_json::json!(v.labels[1])),
            ));
            for (k, p) in &v.props {
                items.push(BulkInsertItem::VertexProperty(
                    vertex.id,
                    self.names.of(k)?,
                    json(p),
                ));
            }
            items.insert(
                items.len() - 1 - v.props.len(),
                BulkInsertItem::Vertex(vertex),
            );
        }
        self.db.bulk_insert(items).map_err(indra)?;
        let mut ids = self.ids.write();
        let first = ids.len() as u64;
        ids.extend(fresh);
        Ok((first..ids.len() as u64).collect())
    }

    fn import_edges(&self, batch: &[EdgeSpec], ids: &[u64]) -> Result<()> {
        let weight = self.names.weight;
        let mut items = Vec::with_capacity(batch.len() * 2);
        {
            let uuids = self.ids.read();
            let at = |i: usize| -> Result<Uuid> {
                ids.get(i)
                    .and_then(|id: &u64| uuids.get(*id as usize))
                    .copied()
                    .ok_or_else(|| Error::not_found("no such vertex"))
            };
            for e in batch {
                let edge = Edge::new(at(e.source)?, self.names.of(e.edge_type)?, at(e.target)?);
                items.push(BulkInsertItem::Edge(edge.clone()));
                items.push(BulkInsertItem::EdgeProperty(edge, weight, json(&e.weight)));
            }
        }
        self.db.bulk_insert(items).map_err(indra)
    }

    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        let uuids = {
            let known = self.ids.read();
            ids.iter()
                .map(|id| {
                    known
                        .get(*id as usize)
                        .copied()
                        .ok_or_else(|| Error::not_found("no such vertex"))
                })
                .collect::<Result<Vec<_>>>()?
        };
        let q = SpecificVertexQuery::new(uuids)
            .properties()
            .map_err(indra)?
            .name(self.names.name);
        let mut fold = Fold::default();
        for value in self.db.get(q).map_err(indra)? {
            if let QueryOutputValue::VertexProperties(props) = value {
                for p in props.iter().flat_map(|p| &p.props) {
                    match p.value.as_str() {
                        Some(text) => fold.add_text(text.as_bytes()),
                        None => fold.add_text(p.value.to_string().as_bytes()),
                    }
                }
            }
        }
        Ok(fold)
    }

    fn label_scan(&self, label: &str) -> Result<Fold> {
        let q =
            VertexWithPropertyValueQuery::new(self.names.role, Json::new(serde_json::json!(label)));
        let mut fold = Fold::default();
        for value in self.db.get(q).map_err(indra)? {
            if let QueryOutputValue::Vertices(vs) = value {
                for v in vs {
                    fold.add(uuid_key(v.id));
                }
            }
        }
        Ok(fold)
    }

    fn expand(&self, starts: &[u64], hops: usize) -> Result<Fold> {
        let out = |v, next: &mut Vec<_>| self.out(v, next);
        walk(starts, hops, |s| self.uuid(s), out, uuid_key)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        let target = self.uuid(target)?;
        let v = Vertex::new(self.names.person);
        if !self.db.create_vertex(&v).map_err(indra)? {
            return Err(indra("a new vertex's UUID was taken"));
        }
        self.db
            .set_properties(
                SpecificVertexQuery::single(v.id),
                self.names.id,
                &Json::new(serde_json::json!(-1)),
            )
            .map_err(indra)?;
        self.db
            .create_edge(&Edge::new(v.id, self.names.knows, target))
            .map_err(indra)?;
        self.ids.write().push(v.id);
        Ok(())
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        self.db
            .set_properties(
                SpecificVertexQuery::single(self.uuid(vertex)?),
                self.names.score,
                &Json::new(serde_json::json!(value)),
            )
            .map_err(indra)
    }

    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        let (label, key) = (self.names.of(label)?, self.names.of(key)?);
        let indexed = *self.indexed.read() == Some(key);
        let mut fold = Fold::default();
        for value in values {
            if indexed {
                // Its index holds the property over every type: the type is checked.
                let found = self
                    .db
                    .get(VertexWithPropertyValueQuery::new(key, json(value)))
                    .map_err(indra)?;
                Self::fold_vertices(found, label, &mut fold);
                continue;
            }
            // No index (its value queries refuse an unindexed property): every
            // vertex's property read and compared.
            let want = json(value);
            let q = AllVertexQuery.properties().map_err(indra)?.name(key);
            for out in self.db.get(q).map_err(indra)? {
                if let QueryOutputValue::VertexProperties(vs) = out {
                    for v in vs.iter().filter(|v| v.vertex.t == label) {
                        if v.props.iter().any(|p| p.value == want) {
                            fold.add(uuid_key(v.vertex.id));
                        }
                    }
                }
            }
        }
        Ok(Some(fold))
    }

    fn id_key(&self, id: u64) -> Result<u64> {
        self.uuid(id).map(uuid_key)
    }

    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>> {
        let (label, key) = (self.names.of(label)?, self.names.of(key)?);
        self.db.index_property(key).map_err(indra)?;
        *self.indexed.write() = Some(key);
        // The entries the index holds for the label: what its query by presence finds.
        let mut entries = Fold::default();
        let found = self
            .db
            .get(VertexWithPropertyPresenceQuery::new(key))
            .map_err(indra)?;
        Self::fold_vertices(found, label, &mut entries);
        Ok(Some(entries.count))
    }

    crate::workload::all_on_the_rust_heap!();

    fn digest(&self) -> Result<Digest> {
        // Counted from the vertices and edges themselves; a property query lists only
        // objects that have properties.
        let mut d = Digest::default();
        let (role, score, weight) = (ident("role")?, ident("score")?, ident("weight")?);
        let mut props: std::collections::HashMap<Uuid, (bool, Option<f64>)> =
            std::collections::HashMap::new();
        let q = indradb::AllVertexQuery.properties().map_err(indra)?;
        for value in self.db.get(q).map_err(indra)? {
            if let QueryOutputValue::VertexProperties(vs) = value {
                for v in vs {
                    let get = |n: Identifier| v.props.iter().find(|p| p.name == n);
                    let entry = (
                        get(role).is_some(),
                        get(score).and_then(|p| p.value.as_f64()),
                    );
                    props.insert(v.vertex.id, entry);
                }
            }
        }
        for value in self.db.get(indradb::AllVertexQuery).map_err(indra)? {
            if let QueryOutputValue::Vertices(vs) = value {
                for v in vs {
                    let (has_role, s) = props.get(&v.id).copied().unwrap_or((false, None));
                    d.add_vertex(
                        1 + usize::from(has_role),
                        s.map(PropertyValue::Float).as_ref(),
                    );
                }
            }
        }
        let mut weights: std::collections::HashMap<Edge, i64> = std::collections::HashMap::new();
        let q = indradb::AllEdgeQuery.properties().map_err(indra)?;
        for value in self.db.get(q).map_err(indra)? {
            if let QueryOutputValue::EdgeProperties(es) = value {
                for e in es {
                    if let Some(w) = e
                        .props
                        .iter()
                        .find(|p| p.name == weight)
                        .and_then(|p| p.value.as_i64())
                    {
                        weights.insert(e.edge, w);
                    }
                }
            }
        }
        for value in self.db.get(indradb::AllEdgeQuery).map_err(indra)? {
            if let QueryOutputValue::Edges(es) = value {
                for e in es {
                    d.add_edge(weights.get(&e).map(|w| PropertyValue::Int(*w)).as_ref());
                }
            }
        }
        Ok(d)
    }
}
