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
//! atomic. No label+property lookups (its property index has no label), so those
//! rows are n/a.

use engine_api::{Error, ErrorKind, PropertyValue, Result};
use indradb::{
    BulkInsertItem, Database, Edge, Identifier, Json, MemoryDatastore, QueryExt, QueryOutputValue,
    SpecificVertexQuery, Vertex, VertexWithPropertyValueQuery,
};
use parking_lot::RwLock;
use uuid::Uuid;

use crate::workload::{Digest, EdgeSpec, Fold, Subject, VertexSpec};

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

/// The IndraDB peer.
pub struct IndraDbPeer {
    db: Database<MemoryDatastore>,
    /// UUID of each workload id, in the order they were handed out.
    ids: RwLock<Vec<Uuid>>,
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
        db.index_property(ident("role")?).map_err(indra)?;
        Ok(IndraDbPeer {
            db,
            ids: RwLock::new(Vec::new()),
        })
    }

    fn uuid(&self, id: u64) -> Result<Uuid> {
        self.ids
            .read()
            .get(id as usize)
            .copied()
            .ok_or_else(|| Error::not_found("no such vertex"))
    }

    /// The outbound neighbours of `v`, one per edge.
    fn out(&self, v: Uuid) -> Result<Vec<Uuid>> {
        let q = SpecificVertexQuery::single(v).outbound().map_err(indra)?;
        let mut out = Vec::new();
        for value in self.db.get(q).map_err(indra)? {
            if let QueryOutputValue::Edges(edges) = value {
                out.extend(edges.iter().map(|e| e.inbound_id));
            }
        }
        Ok(out)
    }
}

impl Subject for IndraDbPeer {
    fn import_vertices(&self, batch: &[VertexSpec]) -> Result<Vec<u64>> {
        let (person, role) = (ident("Person")?, ident("role")?);
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
                    ident(k)?,
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
        let weight = ident("weight")?;
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
                let edge = Edge::new(at(e.source)?, ident(e.edge_type)?, at(e.target)?);
                items.push(BulkInsertItem::Edge(edge.clone()));
                items.push(BulkInsertItem::EdgeProperty(edge, weight, json(&e.weight)));
            }
        }
        self.db.bulk_insert(items).map_err(indra)
    }

    fn read_names(&self, ids: &[u64]) -> Result<Fold> {
        let uuids = ids
            .iter()
            .map(|id| self.uuid(*id))
            .collect::<Result<Vec<_>>>()?;
        let q = SpecificVertexQuery::new(uuids)
            .properties()
            .map_err(indra)?
            .name(ident("name")?);
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
            VertexWithPropertyValueQuery::new(ident("role")?, Json::new(serde_json::json!(label)));
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
        let mut reached = Fold::default();
        for s in starts {
            let mut frontier = vec![self.uuid(*s)?];
            for _ in 0..hops {
                let mut next = Vec::new();
                for v in &frontier {
                    next.extend(self.out(*v)?);
                }
                frontier = next;
            }
            for v in frontier {
                reached.add(uuid_key(v));
            }
        }
        Ok(reached)
    }

    fn small_write(&self, target: u64) -> Result<()> {
        let target = self.uuid(target)?;
        let v = Vertex::new(ident("Person")?);
        if !self.db.create_vertex(&v).map_err(indra)? {
            return Err(indra("a new vertex's UUID was taken"));
        }
        self.db
            .set_properties(
                SpecificVertexQuery::single(v.id),
                ident("id")?,
                &Json::new(serde_json::json!(-1)),
            )
            .map_err(indra)?;
        self.db
            .create_edge(&Edge::new(v.id, ident("KNOWS")?, target))
            .map_err(indra)?;
        self.ids.write().push(v.id);
        Ok(())
    }

    fn update_score(&self, vertex: u64, value: f64) -> Result<()> {
        self.db
            .set_properties(
                SpecificVertexQuery::single(self.uuid(vertex)?),
                ident("score")?,
                &Json::new(serde_json::json!(value)),
            )
            .map_err(indra)
    }

    fn lookup(&self, label: &str, key: &str, values: &[PropertyValue]) -> Result<Option<Fold>> {
        // Its property index has no label; the report shows n/a.
        let _ = (label, key, values);
        Ok(None)
    }

    fn id_key(&self, id: u64) -> Result<u64> {
        self.uuid(id).map(uuid_key)
    }

    fn create_index(&self, label: &str, key: &str) -> Result<Option<u64>> {
        let _ = (label, key);
        Ok(None)
    }

    fn heap_counted(&self) -> bool {
        true
    }

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
