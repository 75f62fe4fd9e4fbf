//! Index upkeep and constraint checks at commit: for every object the transaction
//! wrote, its index entries are replaced and its constraints checked against the
//! catalog current at commit.

use engine_api::{Error, IndexSpec, Result, VertexId};

use crate::index::Leftover;
use crate::keys::{EdgeValue, INDEX, VertexRecord};
use crate::schema::{
    Catalog, Constraint, Rule, Target, check_record, edge_entry, unique_key, vertex_entry,
    vertex_key,
};

use super::*;

impl OnDiskTxn<'_> {
    /// Keeps index entries and checks constraints for everything this transaction
    /// wrote, against `catalog` (the one current at commit).
    pub(super) fn upkeep(&mut self, catalog: &Catalog) -> Result<()> {
        let mut vs = std::mem::take(&mut self.touched_vertices);
        vs.sort_unstable();
        vs.dedup();
        let mut es = std::mem::take(&mut self.touched_edges);
        es.sort_unstable();
        es.dedup();
        // An index built after this transaction began has entries newer than its
        // snapshot, which it does not delete: such an entry is left
        // for later (lookups check records meanwhile); new entries never clash with
        // the build's.
        let built_before = |spec: &IndexSpec, index: &crate::schema::Index| {
            self.catalog
                .indexes
                .get(spec)
                .is_some_and(|i| i.ready && i.id == index.id)
        };
        let known: Vec<bool> = catalog
            .indexes
            .iter()
            .map(|(spec, index)| built_before(spec, index))
            .collect();
        let created_v = std::mem::take(&mut self.created_vertices);
        let created_e = std::mem::take(&mut self.created_edges);
        for v in vs {
            // Ids are handed out ascending, so the created lists are sorted.
            let old = if created_v.binary_search(&v).is_ok() {
                None
            } else {
                self.vertex_at(v, false)?
            };
            let new = self.vertex_at(v, true)?;
            for (index, known) in catalog.indexes.values().zip(&known) {
                let Target::Vertex { label, keys } = &index.target else {
                    continue;
                };
                let entry = |r: &Option<VertexRecord>| -> Result<Option<Vec<u8>>> {
                    Ok(match r {
                        Some(r) => {
                            vertex_key(r, *label, keys)?.map(|k| vertex_entry(index.id, &k, v))
                        }
                        None => None,
                    })
                };
                let (o, n) = (entry(&old)?, entry(&new)?);
                self.replace_entry(index.id, *known, o, n)?;
            }
            for c in &catalog.constraints {
                if let Some(n) = &new {
                    check_record(c, n, VertexId(v))?;
                }
                if let Rule::Unique { id, keys } = &c.rule {
                    self.keep_unique(c, *id, keys, v, &old, &new)?;
                }
            }
        }
        for e in es {
            let old = if created_e.binary_search(&e).is_ok() {
                None
            } else {
                self.edge_at(e, false)?
            };
            let new = self.edge_at(e, true)?;
            for (index, known) in catalog.indexes.values().zip(&known) {
                let Target::Edge { edge_type, key } = &index.target else {
                    continue;
                };
                let entry = |r: &Option<EdgeValue>| -> Result<Option<Vec<u8>>> {
                    match r {
                        Some(r) if r.edge_type == *edge_type => edge_entry(index.id, *key, r, e),
                        _ => Ok(None),
                    }
                };
                let (o, n) = (entry(&old)?, entry(&new)?);
                self.replace_entry(index.id, *known, o, n)?;
            }
        }
        // The commit adds the created vertices to the known ones.
        self.created_vertices = created_v;
        Ok(())
    }

    /// Replaces an object's entry `old` by `new` in index `index` (either may be
    /// none). An old entry of an index built after this transaction began is left
    /// for later (see [`Leftover`]).
    pub(super) fn replace_entry(
        &mut self,
        index: u32,
        built_before: bool,
        old: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        match old {
            Some(o) if built_before => self.delete(INDEX, &o)?,
            Some(key) => self.leftovers.push(Leftover { index, key }),
            None => {}
        }
        match new {
            Some(n) => self.put(INDEX, &n, Vec::new()),
            None => Ok(()),
        }
    }

    /// Moves vertex `v`'s uniqueness record from its old values to its new ones. A
    /// record names one holder; another vertex that still has the values (as this
    /// transaction sees it) is a violation. Records are read for update, so two
    /// transactions claiming the same values conflict.
    pub(super) fn keep_unique(
        &mut self,
        c: &Constraint,
        id: u32,
        keys: &[u32],
        v: u64,
        old: &Option<VertexRecord>,
        new: &Option<VertexRecord>,
    ) -> Result<()> {
        let key_of = |r: &Option<VertexRecord>| -> Result<Option<Vec<u8>>> {
            match r {
                Some(r) => unique_key(id, r, c.label, keys),
                None => Ok(None),
            }
        };
        let (o, n) = (key_of(old)?, key_of(new)?);
        if o == n {
            return Ok(());
        }
        let me = v.to_be_bytes();
        if let Some(o) = o
            && self.entry_for_update(&o)?.as_deref() == Some(&me[..])
        {
            self.delete(INDEX, &o)?;
        }
        let Some(n) = n else {
            return Ok(());
        };
        match self.entry_for_update(&n)? {
            Some(holder) if holder.as_slice() == me => Ok(()),
            Some(holder) => {
                let w = <[u8; 8]>::try_from(holder.as_slice())
                    .map(u64::from_be_bytes)
                    .map_err(|_| Error::corrupt("a uniqueness record does not hold a vertex id"))?;
                let still = match self.vertex_at(w, true)? {
                    Some(r) => unique_key(id, &r, c.label, keys)?.as_deref() == Some(&n[..]),
                    None => false,
                };
                if still {
                    return Err(c.spec.duplicate(VertexId(v), VertexId(w)));
                }
                self.put(INDEX, &n, me.to_vec())
            }
            None => self.put(INDEX, &n, me.to_vec()),
        }
    }
}
