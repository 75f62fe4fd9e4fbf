//! Constraint checks: at commit against the transaction's changed vertices, and when
//! a constraint is created against the existing data.
//!
//! Both run under the commit order, and check the *latest* state of other vertices:
//! committed, or written by a transaction that passed its own checks and is on its way
//! to publishing. Two transactions that each add a duplicate can therefore not both
//! commit, whatever their snapshots saw: the second to reach commit finds the first.

use std::sync::Arc;

use engine_api::{ConstraintSpec, PropertyValue, Result, VertexId};

use crate::graph::Graph;
use crate::index::VertexKeySet;
use crate::mvcc::{TxnShared, Undo, VertexState};
use crate::props;

/// A vertex's labels and the values of some keys, in one version; `None`: it does
/// not exist in that version.
type Version = Option<(crate::mvcc::Labels, Vec<Option<PropertyValue>>)>;

/// A vertex's latest version: its labels and the values of the keys asked for, or
/// `None` if it does not exist in that version. `me`'s writes count as latest.
fn latest(state: &VertexState, me: Option<&Arc<TxnShared>>, keys: &[u32]) -> Result<Version> {
    let mut exists = !state.deleted;
    let mut labels = state.labels.clone();
    let mut values = keys
        .iter()
        .map(|k| props::get(&state.props, *k))
        .collect::<Result<Vec<_>>>()?;
    let mut cur = state.delta.as_deref();
    while let Some(d) = cur {
        let mine = me.is_some_and(|m| Arc::ptr_eq(m, &d.txn));
        if mine || d.txn.is_committed_or_validated() {
            break;
        }
        match &d.undo {
            Undo::Uncreate => exists = false,
            Undo::Undelete => exists = true,
            Undo::AddLabel(l) if !labels.contains(l) => labels.push(*l),
            Undo::RemoveLabel(l) => labels.retain(|x| x != l),
            Undo::SetProperty(k, old) => {
                if let Some(i) = keys.iter().position(|x| x == k) {
                    values[i] = old.clone();
                }
            }
            _ => {}
        }
        cur = d.next.as_deref();
    }
    Ok(exists.then_some((labels, values)))
}

fn rule_keys(rule: &Rule) -> Vec<u32> {
    match rule {
        Rule::Property(k) => vec![*k],
        Rule::Unique(set) => set.keys.to_vec(),
    }
}

/// A constraint with its names resolved.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    /// An existence or type rule on one property key, checked by
    /// `ConstraintSpec::check_property`.
    Property(u32),
    Unique(Arc<VertexKeySet>),
}

#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    pub(crate) spec: ConstraintSpec,
    pub(crate) label: u32,
    pub(crate) rule: Rule,
}

/// The latest version of vertex `id` (see [`latest`]).
fn latest_of(graph: &Graph, id: u64, me: Option<&Arc<TxnShared>>, keys: &[u32]) -> Result<Version> {
    let Some(slot) = graph.vertices.get(id) else {
        return Ok(None);
    };
    let guard = slot.read();
    match guard.as_ref() {
        Some(state) => latest(state, me, keys),
        None => Ok(None),
    }
}

/// Checks the vertices a committing transaction wrote. Runs under the commit order.
pub(crate) fn check_commit(
    graph: &Graph,
    constraints: &[Constraint],
    vertices: &[u64],
    me: &Arc<TxnShared>,
) -> Result<()> {
    for id in vertices {
        for c in constraints {
            c.check_vertex(graph, *id, Some(me))?;
        }
    }
    Ok(())
}

impl Constraint {
    /// Checks one vertex's latest version against this constraint.
    fn check_vertex(&self, graph: &Graph, id: u64, me: Option<&Arc<TxnShared>>) -> Result<()> {
        let c = self;
        let keys = rule_keys(&c.rule);
        let Some((labels, values)) = latest_of(graph, id, me, &keys)? else {
            return Ok(());
        };
        if !labels.contains(&c.label) {
            return Ok(());
        }
        match &c.rule {
            Rule::Property(_) => {
                c.spec.check_property(VertexId(id), values[0].as_ref())?;
            }
            Rule::Unique(set) => {
                let Some(key) = full_key(&values) else {
                    return Ok(());
                };
                c.check_unique(graph, set, id, &key, me)?;
            }
        }
        Ok(())
    }

    /// Fails if another vertex's latest version has `key`.
    fn check_unique(
        &self,
        graph: &Graph,
        set: &VertexKeySet,
        id: u64,
        key: &[engine_api::OrderedValue],
        me: Option<&Arc<TxnShared>>,
    ) -> Result<()> {
        let c = self;
        let key_of_set = crate::index::VertexKey::from(key.to_vec());
        for other in set.equal_to(&key_of_set) {
            if other == id {
                continue;
            }
            let Some((labels, values)) = latest_of(graph, other, me, &set.keys)? else {
                continue;
            };
            if labels.contains(&c.label) && full_key(&values).is_some_and(|k| k[..] == key[..]) {
                return Err(c.spec.duplicate(VertexId(id), VertexId(other)));
            }
        }
        Ok(())
    }

    /// Checks the existing data against a new constraint. Runs under the commit order.
    pub(crate) fn check_existing(&self, graph: &Graph) -> Result<()> {
        let c = self;
        match &c.rule {
            Rule::Unique(set) => set.for_each_duplicate(|key, ids| {
                let mut holders = Vec::new();
                for id in ids {
                    if let Some((labels, values)) = latest_of(graph, *id, None, &set.keys)?
                        && labels.contains(&c.label)
                        && full_key(&values).is_some_and(|k| k[..] == key[..])
                    {
                        holders.push(*id);
                    }
                }
                match holders[..] {
                    [a, b, ..] => Err(c.spec.duplicate(VertexId(b), VertexId(a))),
                    _ => Ok(()),
                }
            }),
            Rule::Property(_) => {
                let ids = graph.label_index.members(c.label);
                for id in ids {
                    c.check_vertex(graph, id, None)?;
                }
                Ok(())
            }
        }
    }
}

/// The key of a version that has every property; `None` if one is missing (a
/// uniqueness constraint does not apply to it).
fn full_key(values: &[Option<PropertyValue>]) -> Option<Vec<engine_api::OrderedValue>> {
    values
        .iter()
        .map(|v| v.clone().map(engine_api::OrderedValue))
        .collect()
}
