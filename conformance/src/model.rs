//! Model-based testing: random operation sequences run against the engine and a
//! plain reference model, compared after every step. Proptest shrinks a failure to a
//! minimal sequence.

use std::collections::{BTreeMap, BTreeSet};

use engine_api::{
    DeleteMode, Direction, EdgeId, ErrorKind, PropertyValue, Result, StorageEngine, Transaction,
    VertexId,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::EngineFactory;
use crate::support::{fresh, rw};

const LABELS: [&str; 3] = ["A", "B", "C"];
const KEYS: [&str; 3] = ["k0", "k1", "k2"];
const TYPES: [&str; 2] = ["T", "U"];

/// One step of a generated sequence; indexes pick among the live objects.
#[derive(Debug, Clone)]
enum Op {
    CreateVertex {
        labels: Vec<usize>,
        key: usize,
        value: Option<i64>,
    },
    AddLabel {
        v: usize,
        label: usize,
    },
    RemoveLabel {
        v: usize,
        label: usize,
    },
    SetProperty {
        v: usize,
        key: usize,
        value: Option<i64>,
    },
    CreateEdge {
        from: usize,
        to: usize,
        ty: usize,
    },
    SetEdgeProperty {
        e: usize,
        key: usize,
        value: Option<i64>,
    },
    DeleteEdge {
        e: usize,
    },
    DeleteVertex {
        v: usize,
        detach: bool,
    },
    Commit,
    Rollback,
}

fn op() -> impl Strategy<Value = Op> {
    let idx = || 0usize..64;
    let val = || proptest::option::weighted(0.8, -3i64..3);
    prop_oneof![
        3 => (proptest::collection::vec(0usize..3, 0..3), 0usize..3, val())
            .prop_map(|(labels, key, value)| Op::CreateVertex { labels, key, value }),
        2 => (idx(), 0usize..3).prop_map(|(v, label)| Op::AddLabel { v, label }),
        1 => (idx(), 0usize..3).prop_map(|(v, label)| Op::RemoveLabel { v, label }),
        2 => (idx(), 0usize..3, val()).prop_map(|(v, key, value)| Op::SetProperty { v, key, value }),
        3 => (idx(), idx(), 0usize..2).prop_map(|(from, to, ty)| Op::CreateEdge { from, to, ty }),
        1 => (idx(), 0usize..3, val()).prop_map(|(e, key, value)| Op::SetEdgeProperty { e, key, value }),
        1 => idx().prop_map(|e| Op::DeleteEdge { e }),
        1 => (idx(), any::<bool>()).prop_map(|(v, detach)| Op::DeleteVertex { v, detach }),
        1 => Just(Op::Commit),
        1 => Just(Op::Rollback),
    ]
}

type Props = BTreeMap<String, PropertyValue>;

/// The reference model: a graph in plain maps.
#[derive(Debug, Clone, Default, PartialEq)]
struct Graph {
    vertices: BTreeMap<VertexId, (BTreeSet<String>, Props)>,
    edges: BTreeMap<EdgeId, (VertexId, VertexId, String, Props)>,
}

impl Graph {
    fn nth_vertex(&self, i: usize) -> Option<VertexId> {
        let n = self.vertices.len();
        (n > 0).then(|| *self.vertices.keys().nth(i % n).expect("in range"))
    }

    fn nth_edge(&self, i: usize) -> Option<EdgeId> {
        let n = self.edges.len();
        (n > 0).then(|| *self.edges.keys().nth(i % n).expect("in range"))
    }

    fn has_edges(&self, v: VertexId) -> bool {
        self.edges.values().any(|(s, t, _, _)| *s == v || *t == v)
    }
}

fn value(v: Option<i64>) -> PropertyValue {
    v.map_or(PropertyValue::Null, PropertyValue::Int)
}

fn set_prop(props: &mut Props, key: &str, v: Option<i64>) -> Option<PropertyValue> {
    match v {
        Some(i) => props.insert(key.to_string(), PropertyValue::Int(i)),
        None => props.remove(key),
    }
}

/// What the engine shows a transaction, in the model's shape.
fn read_graph<T: Transaction>(t: &T) -> Result<Graph> {
    let mut g = Graph::default();
    for v in t.vertices()? {
        let v = v?;
        let labels = t.vertex_labels(v)?.iter().map(|l| l.to_string()).collect();
        let props = t
            .vertex_properties(v)?
            .into_iter()
            .map(|(k, val)| (k.to_string(), val))
            .collect();
        g.vertices.insert(v, (labels, props));
        for e in t.edges(v, Direction::Out, None)? {
            let e = e?;
            let props = t
                .edge_properties(e.id)?
                .into_iter()
                .map(|(k, val)| (k.to_string(), val))
                .collect();
            g.edges
                .insert(e.id, (e.source, e.target, e.edge_type.to_string(), props));
        }
    }
    // Label scans must agree with the labels read per vertex.
    for label in LABELS {
        let scanned: Vec<VertexId> = t.vertices_with_label(label)?.collect::<Result<_>>()?;
        let expected: Vec<VertexId> = g
            .vertices
            .iter()
            .filter(|(_, (l, _))| l.contains(label))
            .map(|(v, _)| *v)
            .collect();
        assert_eq!(scanned, expected, "label scan of {label}");
    }
    Ok(g)
}

fn run_sequence<E: StorageEngine>(db: &E, ops: &[Op]) -> Result<()> {
    let rollback = db.capabilities().rollback;
    let mut committed = Graph::default();
    let mut pending = Graph::default();
    let mut seen_v = BTreeSet::new();
    let mut seen_e = BTreeSet::new();
    let mut txn = Some(rw(db)?);
    for (step, op) in ops.iter().enumerate() {
        let t = txn.as_mut().expect("a transaction is open");
        match op {
            Op::CreateVertex {
                labels,
                key,
                value: v,
            } => {
                let names: Vec<&str> = labels.iter().map(|l| LABELS[*l]).collect();
                let props = [(KEYS[*key], value(*v))];
                let id = t.create_vertex_with(&names, &props)?;
                assert!(seen_v.insert(id), "vertex id {id} reused");
                let mut p = Props::new();
                set_prop(&mut p, KEYS[*key], *v);
                let l = names.iter().map(|s| s.to_string()).collect();
                pending.vertices.insert(id, (l, p));
            }
            Op::AddLabel { v, label } => {
                if let Some(id) = pending.nth_vertex(*v) {
                    let got = t.add_label(id, LABELS[*label])?;
                    let want = pending
                        .vertices
                        .get_mut(&id)
                        .expect("live")
                        .0
                        .insert(LABELS[*label].into());
                    assert_eq!(got, want, "add_label result at step {step}");
                }
            }
            Op::RemoveLabel { v, label } => {
                if let Some(id) = pending.nth_vertex(*v) {
                    let got = t.remove_label(id, LABELS[*label])?;
                    let want = pending
                        .vertices
                        .get_mut(&id)
                        .expect("live")
                        .0
                        .remove(LABELS[*label]);
                    assert_eq!(got, want, "remove_label result at step {step}");
                }
            }
            Op::SetProperty { v, key, value: val } => {
                if let Some(id) = pending.nth_vertex(*v) {
                    let got = t.set_vertex_property(id, KEYS[*key], value(*val))?;
                    let want = set_prop(
                        &mut pending.vertices.get_mut(&id).expect("live").1,
                        KEYS[*key],
                        *val,
                    );
                    assert_eq!(got, want, "old value at step {step}");
                }
            }
            Op::CreateEdge { from, to, ty } => {
                if let (Some(s), Some(d)) = (pending.nth_vertex(*from), pending.nth_vertex(*to)) {
                    let id = t.create_edge(s, d, TYPES[*ty])?;
                    assert!(seen_e.insert(id), "edge id {id} reused");
                    pending
                        .edges
                        .insert(id, (s, d, TYPES[*ty].into(), Props::new()));
                }
            }
            Op::SetEdgeProperty { e, key, value: val } => {
                if let Some(id) = pending.nth_edge(*e) {
                    let got = t.set_edge_property(id, KEYS[*key], value(*val))?;
                    let want = set_prop(
                        &mut pending.edges.get_mut(&id).expect("live").3,
                        KEYS[*key],
                        *val,
                    );
                    assert_eq!(got, want, "old edge value at step {step}");
                }
            }
            Op::DeleteEdge { e } => {
                if let Some(id) = pending.nth_edge(*e) {
                    t.delete_edge(id)?;
                    pending.edges.remove(&id);
                }
            }
            Op::DeleteVertex { v, detach } => {
                if let Some(id) = pending.nth_vertex(*v) {
                    let mode = if *detach {
                        DeleteMode::Detach
                    } else {
                        DeleteMode::Plain
                    };
                    let r = t.delete_vertex(id, mode);
                    if !*detach && pending.has_edges(id) {
                        let e = r.expect_err("plain delete of a linked vertex");
                        assert_eq!(e.kind(), ErrorKind::HasEdges);
                    } else {
                        r?;
                        pending.edges.retain(|_, (s, d, _, _)| *s != id && *d != id);
                        pending.vertices.remove(&id);
                    }
                }
            }
            Op::Commit => {
                txn.take().expect("open").commit()?;
                committed = pending.clone();
                txn = Some(rw(db)?);
            }
            Op::Rollback => {
                txn.take().expect("open").rollback();
                if rollback {
                    pending = committed.clone();
                } else {
                    committed = pending.clone();
                }
                txn = Some(rw(db)?);
            }
        }
        let t = txn.as_ref().expect("open");
        assert_eq!(
            read_graph(t)?,
            pending,
            "engine and model differ after step {step}: {op:?}"
        );
    }
    drop(txn);
    let expected_end = if rollback { committed } else { pending };
    assert_eq!(
        read_graph(&rw(db)?)?,
        expected_end,
        "state after the sequence"
    );
    Ok(())
}

/// Random sequences of writes, commits and rollbacks keep the engine equal to the
/// reference model after every step (48 sequences of up to 40 steps).
pub fn random_operations_match_the_reference_model<F: EngineFactory>(f: &F) -> Result<()> {
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        let db = fresh(f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        run_sequence(&*db, &ops).map_err(|e| TestCaseError::fail(e.to_string()))
    });
    match outcome {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, ops)) => {
            panic!("minimal failing sequence {ops:#?}\nreason: {reason}")
        }
        Err(TestError::Abort(reason)) => panic!("model test aborted: {reason}"),
    }
}
