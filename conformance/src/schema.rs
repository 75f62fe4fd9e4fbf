//! Schema: indexes (creation on existing data, use by lookups, the same results as a
//! scan, drop), constraints (creation on existing data, enforcement at commit under
//! concurrency, violation errors, drop), triggers in the catalogue, commit observers,
//! and all of it across reopen and crash where the backend is persistent.
//!
//! A backend whose capabilities declare no indexes, constraints or triggers is checked
//! to refuse them with `Unsupported` instead.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::{Arc, Barrier, Mutex};

use engine_api::{
    Change, ChangeSet, ConstraintSpec, DeleteMode, EdgeId, Error, ErrorKind, IndexSpec,
    PropertyBounds, PropertyValue, Result, StorageEngine, Transaction, TriggerEvent, TriggerPhase,
    TriggerSecurity, TriggerSpec, ValueType, VertexId,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::EngineFactory;
use crate::support::{TestDb, expect_kind, fresh, rw};

fn label_prop(label: &str, props: &[&str]) -> IndexSpec {
    IndexSpec::LabelProperties {
        label: label.into(),
        properties: props.iter().map(|p| p.to_string()).collect(),
    }
}

fn unique(label: &str, props: &[&str]) -> ConstraintSpec {
    ConstraintSpec::Unique {
        label: label.into(),
        properties: props.iter().map(|p| p.to_string()).collect(),
    }
}

fn exists(label: &str, prop: &str) -> ConstraintSpec {
    ConstraintSpec::Exists {
        label: label.into(),
        property: prop.into(),
    }
}

fn trigger(name: &str, phase: TriggerPhase) -> TriggerSpec {
    TriggerSpec {
        name: name.into(),
        event: TriggerEvent::VertexCreate,
        phase,
        security: TriggerSecurity::Invoker,
        statement: "CREATE (:Audit {at: timestamp()})".into(),
    }
}

fn ids<I: Iterator<Item = Result<VertexId>>>(it: I) -> Result<Vec<VertexId>> {
    it.collect()
}

fn edge_ids<I: Iterator<Item = Result<engine_api::EdgeRecord>>>(it: I) -> Result<Vec<EdgeId>> {
    it.map(|e| e.map(|e| e.id)).collect()
}

/// The vertices of `label` whose properties the filters select, found by reading
/// every vertex of the label: the scan an index must agree with.
fn scan<T: Transaction>(
    t: &T,
    label: &str,
    filters: &[(&str, PropertyBounds)],
) -> Result<Vec<VertexId>> {
    let mut out = Vec::new();
    'vertices: for v in t.vertices_with_label(label)? {
        let v = v?;
        for (key, bounds) in filters {
            match t.vertex_property(v, key)? {
                Some(value) if bounds.matches(&value) => {}
                _ => continue 'vertices,
            }
        }
        out.push(v);
    }
    Ok(out)
}

/// Edges of `edge_type` selected by the filter, found by reading every vertex's
/// outgoing edges.
fn scan_edges<T: Transaction>(
    t: &T,
    edge_type: &str,
    filter: Option<(&str, &PropertyBounds)>,
) -> Result<Vec<EdgeId>> {
    let mut out = Vec::new();
    for v in t.vertices()? {
        for e in t.edges(v?, engine_api::Direction::Out, Some(edge_type))? {
            let e = e?;
            if let Some((key, bounds)) = filter {
                match t.edge_property(e.id, key)? {
                    Some(value) if bounds.matches(&value) => {}
                    _ => continue,
                }
            }
            out.push(e.id);
        }
    }
    out.sort();
    Ok(out)
}

/// True if the backend offers indexes; otherwise checks it refuses them.
fn indexes_offered<E: StorageEngine>(db: &E) -> bool {
    if db.capabilities().indexes {
        return true;
    }
    expect_kind(
        db.create_index(&label_prop("L", &["p"])),
        ErrorKind::Unsupported,
        "create_index without the capability",
    );
    false
}

fn constraints_offered<E: StorageEngine>(db: &E) -> bool {
    if db.capabilities().constraints {
        return true;
    }
    expect_kind(
        db.create_constraint(&unique("L", &["p"])),
        ErrorKind::Unsupported,
        "create_constraint without the capability",
    );
    false
}

fn triggers_offered<E: StorageEngine>(db: &E) -> bool {
    if db.capabilities().triggers {
        return true;
    }
    expect_kind(
        db.create_trigger(&trigger("t", TriggerPhase::AfterCommit)),
        ErrorKind::Unsupported,
        "create_trigger without the capability",
    );
    let observer: engine_api::SharedObserver = Arc::new(|_: &ChangeSet| Ok(()));
    expect_kind(
        db.add_commit_observer(TriggerPhase::AfterCommit, observer),
        ErrorKind::Unsupported,
        "add_commit_observer without the capability",
    );
    false
}

/// 300 `Person` vertices with `age` cycling 0..30 (every third a Float), a `name`, and
/// 30 `City` vertices with an `age` too (which a Person lookup must not return).
fn people<E: StorageEngine>(db: &E) -> Result<Vec<VertexId>> {
    let mut t = rw(db)?;
    let mut vs = Vec::new();
    for i in 0..300i64 {
        let age = if i % 3 == 0 {
            PropertyValue::Float((i % 30) as f64)
        } else {
            PropertyValue::Int(i % 30)
        };
        vs.push(t.create_vertex_with(
            &["Person"],
            &[("age", age), ("name", format!("p{i}").into())],
        )?);
    }
    for i in 0..30i64 {
        t.create_vertex_with(&["City"], &[("age", PropertyValue::Int(i))])?;
    }
    t.commit()?;
    Ok(vs)
}

/// An index created on existing data is listed with its size, used by transactions
/// that begin afterwards, and gives the scan's results for equality and ranges (Int
/// and Float compare by value).
pub fn index_on_existing_data_serves_lookups<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !indexes_offered(&*db) {
        return Ok(());
    }
    people(&*db)?;
    let spec = label_prop("Person", &["age"]);
    let before = rw(&*db)?;
    assert_eq!(before.vertex_lookup_index("Person", &["age"])?, None);
    db.create_index(&spec)?;
    let listed = db.indexes()?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].spec, spec);
    assert_eq!(listed[0].entries, 300, "one entry per Person with an age");
    let r = rw(&*db)?;
    assert_eq!(
        r.vertex_lookup_index("Person", &["age"])?,
        Some(spec.clone())
    );
    assert_eq!(r.vertex_lookup_index("Person", &["name"])?, None);
    let queries = [
        PropertyBounds::equal(PropertyValue::Int(3)),
        PropertyBounds::equal(PropertyValue::Float(3.0)),
        PropertyBounds::equal(PropertyValue::Int(31)),
        PropertyBounds::equal(PropertyValue::String("3".into())),
        PropertyBounds::range(
            Bound::Included(PropertyValue::Float(2.5)),
            Bound::Excluded(PropertyValue::Int(7)),
        ),
        PropertyBounds::range(Bound::Unbounded, Bound::Included(PropertyValue::Int(1))),
        PropertyBounds::range(Bound::Excluded(PropertyValue::Int(27)), Bound::Unbounded),
        PropertyBounds::any(),
    ];
    for q in &queries {
        let filters = [("age", q.clone())];
        let got = ids(r.vertices_with_properties("Person", &filters)?)?;
        assert_eq!(got, scan(&r, "Person", &filters)?, "lookup {q:?}");
        // The transaction that began before the index gives the same answers.
        assert_eq!(
            ids(before.vertices_with_properties("Person", &filters)?)?,
            got,
            "lookup {q:?} without the index"
        );
    }
    let three =
        ids(r.vertices_with_property("Person", "age", &PropertyBounds::equal(3.into()))?)?;
    assert_eq!(three.len(), 10, "ages 3 (Int) and 3.0 (Float) are equal");
    Ok(())
}

/// After the index exists, writes are found through it: a transaction sees its own
/// creations, changes, label removals and deletions, others see them once committed,
/// and a rollback leaves no trace.
pub fn index_follows_writes_and_rollbacks<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !indexes_offered(&*db) {
        return Ok(());
    }
    let vs = people(&*db)?;
    db.create_index(&label_prop("Person", &["age"]))?;
    let eq = |n: i64| [("age", PropertyBounds::equal(PropertyValue::Int(n)))];
    let mut t = rw(&*db)?;
    let new = t.create_vertex_with(&["Person"], &[("age", 100.into())])?;
    t.set_vertex_property(vs[1], "age", 100.into())?;
    t.remove_label(vs[2], "Person")?;
    t.delete_vertex(vs[4], DeleteMode::Detach)?;
    let other = rw(&*db)?;
    assert_eq!(
        ids(t.vertices_with_properties("Person", &eq(100))?)?,
        vec![vs[1], new]
    );
    assert_eq!(
        ids(t.vertices_with_properties("Person", &eq(2))?)?,
        scan(&t, "Person", &eq(2))?
    );
    assert!(!ids(t.vertices_with_properties("Person", &eq(4))?)?.contains(&vs[4]));
    assert!(ids(other.vertices_with_properties("Person", &eq(100))?)?.is_empty());
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(
        ids(r.vertices_with_properties("Person", &eq(100))?)?,
        vec![vs[1], new]
    );
    assert!(ids(other.vertices_with_properties("Person", &eq(100))?)?.is_empty());
    assert!(ids(other.vertices_with_properties("Person", &eq(2))?)?.contains(&vs[2]));
    drop((r, other));

    let mut t = rw(&*db)?;
    t.set_vertex_property(vs[1], "age", PropertyValue::Null)?;
    t.create_vertex_with(&["Person"], &[("age", 101.into())])?;
    t.add_label(vs[2], "Person")?;
    assert_eq!(
        ids(t.vertices_with_properties("Person", &eq(100))?)?,
        vec![new]
    );
    t.rollback();
    let r = rw(&*db)?;
    assert_eq!(
        ids(r.vertices_with_properties("Person", &eq(100))?)?,
        vec![vs[1], new]
    );
    assert!(ids(r.vertices_with_properties("Person", &eq(101))?)?.is_empty());
    assert_eq!(
        ids(r.vertices_with_properties("Person", &eq(2))?)?,
        scan(&r, "Person", &eq(2))?
    );
    Ok(())
}

/// A composite index serves lookups that filter a prefix of its properties; one that
/// does not filter its first property is served otherwise, with the same results.
pub fn composite_index_serves_prefix_lookups<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !indexes_offered(&*db) {
        return Ok(());
    }
    let mut t = rw(&*db)?;
    for a in 0..6i64 {
        for b in 0..6i64 {
            let mut props = vec![("a", PropertyValue::Int(a))];
            if b < 5 {
                props.push(("b", PropertyValue::Int(b)));
            }
            t.create_vertex_with(&["P"], &props)?;
        }
    }
    t.create_vertex_with(&["P"], &[("b", PropertyValue::Int(1))])?;
    t.commit()?;
    let spec = label_prop("P", &["a", "b"]);
    db.create_index(&spec)?;
    let r = rw(&*db)?;
    assert_eq!(r.vertex_lookup_index("P", &["a"])?, Some(spec.clone()));
    assert_eq!(r.vertex_lookup_index("P", &["a", "b"])?, Some(spec.clone()));
    assert_eq!(r.vertex_lookup_index("P", &["b", "a"])?, Some(spec.clone()));
    assert_ne!(r.vertex_lookup_index("P", &["b"])?, Some(spec.clone()));
    let eq = |v: i64| PropertyBounds::equal(PropertyValue::Int(v));
    let range = PropertyBounds::range(
        Bound::Included(PropertyValue::Int(1)),
        Bound::Excluded(PropertyValue::Int(3)),
    );
    let cases: Vec<Vec<(&str, PropertyBounds)>> = vec![
        vec![("a", eq(2))],
        vec![("a", eq(2)), ("b", eq(4))],
        vec![("a", eq(2)), ("b", range.clone())],
        vec![("a", range.clone()), ("b", eq(1))],
        vec![("b", eq(1))],
        vec![("a", eq(9))],
        vec![("a", eq(5)), ("b", PropertyBounds::any())],
    ];
    for filters in &cases {
        let got = ids(r.vertices_with_properties("P", filters)?)?;
        assert_eq!(got, scan(&r, "P", filters)?, "lookup {filters:?}");
    }
    assert_eq!(ids(r.vertices_with_properties("P", &cases[1])?)?.len(), 1);
    assert_eq!(ids(r.vertices_with_properties("P", &cases[0])?)?.len(), 6);
    assert_eq!(ids(r.vertices_with_properties("P", &cases[4])?)?.len(), 7);
    drop(r);
    // With a one-property index beside it, the composite one still serves lookups
    // that filter both of its properties (the longest prefix wins).
    let single = label_prop("P", &["a"]);
    db.create_index(&single)?;
    let r = rw(&*db)?;
    assert_eq!(r.vertex_lookup_index("P", &["b", "a"])?, Some(spec));
    let served = r.vertex_lookup_index("P", &["a"])?;
    assert!(
        served.is_some(),
        "one of the two indexes serves a lookup on a"
    );
    for filters in &cases {
        let got = ids(r.vertices_with_properties("P", filters)?)?;
        assert_eq!(got, scan(&r, "P", filters)?, "lookup {filters:?}");
    }
    Ok(())
}

/// Edge-type and edge-type+property indexes are built on existing edges, used, and
/// agree with a scan, including the transaction's own writes.
pub fn edge_indexes_serve_lookups<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !indexes_offered(&*db) {
        return Ok(());
    }
    let mut t = rw(&*db)?;
    let vs: Vec<VertexId> = (0..20).map(|_| t.create_vertex()).collect::<Result<_>>()?;
    for (i, w) in vs.windows(2).enumerate() {
        let ty = if i % 2 == 0 { "ROAD" } else { "RAIL" };
        t.create_edge_with(w[0], w[1], ty, &[("km", PropertyValue::Int(i as i64 % 5))])?;
    }
    t.create_edge(vs[3], vs[3], "ROAD")?;
    t.commit()?;
    let by_type = IndexSpec::EdgeType("ROAD".into());
    let by_km = IndexSpec::EdgeTypeProperty {
        edge_type: "ROAD".into(),
        property: "km".into(),
    };
    db.create_index(&by_type)?;
    db.create_index(&by_km)?;
    let sizes: Vec<u64> = db.indexes()?.iter().map(|i| i.entries).collect();
    assert_eq!(sizes, vec![11, 10], "ROAD edges, and those with km");
    let mut t = rw(&*db)?;
    assert_eq!(t.edge_lookup_index("ROAD", None)?, Some(by_type.clone()));
    assert_eq!(t.edge_lookup_index("ROAD", Some("km"))?, Some(by_km));
    assert_eq!(t.edge_lookup_index("RAIL", None)?, None);
    let e = t.create_edge_with(vs[0], vs[9], "ROAD", &[("km", 2.into())])?;
    let first = edge_ids(t.edges_with_type("ROAD", None)?)?.remove(0);
    t.delete_edge(first)?;
    t.set_edge_property(e, "km", 3.into())?;
    let queries = [
        PropertyBounds::equal(PropertyValue::Int(3)),
        PropertyBounds::equal(PropertyValue::Float(2.0)),
        PropertyBounds::range(Bound::Included(1.into()), Bound::Included(3.into())),
        PropertyBounds::any(),
    ];
    for q in &queries {
        let got = edge_ids(t.edges_with_type("ROAD", Some(("km", q)))?)?;
        assert_eq!(got, scan_edges(&t, "ROAD", Some(("km", q)))?, "{q:?}");
    }
    assert_eq!(
        edge_ids(t.edges_with_type("ROAD", None)?)?,
        scan_edges(&t, "ROAD", None)?
    );
    assert_eq!(
        edge_ids(t.edges_with_type("RAIL", None)?)?,
        scan_edges(&t, "RAIL", None)?
    );
    assert!(edge_ids(t.edges_with_type("NONE", None)?)?.is_empty());
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(
        edge_ids(r.edges_with_type("ROAD", None)?)?,
        scan_edges(&r, "ROAD", None)?
    );
    Ok(())
}

/// Creating an existing index is `AlreadyExists`, a bad definition `InvalidInput`,
/// dropping an unknown one `NotFound`; a dropped index is no longer listed or used and
/// lookups give the same results without it.
pub fn index_definitions_are_checked_and_dropped<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !indexes_offered(&*db) {
        return Ok(());
    }
    people(&*db)?;
    let spec = label_prop("Person", &["age"]);
    db.create_index(&spec)?;
    db.create_index(&IndexSpec::Label("Person".into()))?;
    expect_kind(
        db.create_index(&spec),
        ErrorKind::AlreadyExists,
        "second create",
    );
    expect_kind(
        db.create_index(&label_prop("Person", &[])),
        ErrorKind::InvalidInput,
        "no properties",
    );
    expect_kind(
        db.create_index(&label_prop("Person", &["a", "a"])),
        ErrorKind::InvalidInput,
        "a property twice",
    );
    expect_kind(
        db.create_index(&IndexSpec::Label(String::new())),
        ErrorKind::InvalidInput,
        "empty label",
    );
    let listed: Vec<IndexSpec> = db.indexes()?.into_iter().map(|i| i.spec).collect();
    assert_eq!(
        listed,
        vec![IndexSpec::Label("Person".into()), spec.clone()]
    );
    let q = [("age", PropertyBounds::equal(7.into()))];
    let with = ids(rw(&*db)?.vertices_with_properties("Person", &q)?)?;
    db.drop_index(&spec)?;
    expect_kind(db.drop_index(&spec), ErrorKind::NotFound, "second drop");
    let r = rw(&*db)?;
    assert_ne!(r.vertex_lookup_index("Person", &["age"])?, Some(spec));
    assert_eq!(ids(r.vertices_with_properties("Person", &q)?)?, with);
    assert_eq!(db.indexes()?.len(), 1);
    Ok(())
}

/// One step of a generated sequence for the index-versus-scan property.
#[derive(Debug, Clone)]
enum Op {
    Create {
        labels: u8,
        a: Option<u8>,
        b: Option<u8>,
    },
    Set {
        v: usize,
        key: bool,
        value: Option<u8>,
    },
    AddLabel {
        v: usize,
    },
    RemoveLabel {
        v: usize,
    },
    Delete {
        v: usize,
    },
    Edge {
        from: usize,
        to: usize,
        w: Option<u8>,
    },
    SetEdge {
        e: usize,
        w: Option<u8>,
    },
    DeleteEdge {
        e: usize,
    },
    Index(u8),
    Commit,
    Rollback,
}

/// The generated values: numbers of both kinds that meet (1 and 1.0), and strings.
fn value(n: u8) -> PropertyValue {
    match n % 6 {
        0 => PropertyValue::Int(1),
        1 => PropertyValue::Float(1.0),
        2 => PropertyValue::Int(2),
        3 => PropertyValue::Float(1.5),
        4 => PropertyValue::String("x".into()),
        _ => PropertyValue::Int(-3),
    }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let v = || 0usize..24;
    let val = || proptest::option::weighted(0.8, 0u8..6);
    let op = prop_oneof![
        4 => (0u8..4, val(), val()).prop_map(|(labels, a, b)| Op::Create { labels, a, b }),
        3 => (v(), any::<bool>(), val()).prop_map(|(v, key, value)| Op::Set { v, key, value }),
        1 => v().prop_map(|v| Op::AddLabel { v }),
        1 => v().prop_map(|v| Op::RemoveLabel { v }),
        1 => v().prop_map(|v| Op::Delete { v }),
        2 => (v(), v(), val()).prop_map(|(from, to, w)| Op::Edge { from, to, w }),
        1 => (v(), val()).prop_map(|(e, w)| Op::SetEdge { e, w }),
        1 => v().prop_map(|e| Op::DeleteEdge { e }),
        1 => (0u8..4).prop_map(Op::Index),
        2 => Just(Op::Commit),
        1 => Just(Op::Rollback),
    ];
    proptest::collection::vec(op, 1..50)
}

fn queries() -> Vec<Vec<(&'static str, PropertyBounds)>> {
    let mut out: Vec<Vec<(&str, PropertyBounds)>> = Vec::new();
    for n in 0..6 {
        out.push(vec![("a", PropertyBounds::equal(value(n)))]);
        out.push(vec![
            ("a", PropertyBounds::equal(value(n))),
            (
                "b",
                PropertyBounds::range(Bound::Included(1.into()), Bound::Unbounded),
            ),
        ]);
    }
    out.push(vec![(
        "a",
        PropertyBounds::range(Bound::Excluded(1.into()), Bound::Included(2.into())),
    )]);
    out.push(vec![(
        "a",
        PropertyBounds::range(Bound::Unbounded, Bound::Excluded(PropertyValue::Float(1.5))),
    )]);
    out.push(vec![
        ("a", PropertyBounds::any()),
        ("b", PropertyBounds::any()),
    ]);
    out.push(vec![("b", PropertyBounds::equal(value(0)))]);
    out
}

fn check_lookups<T: Transaction>(t: &T, step: usize) -> Result<()> {
    for q in queries() {
        for label in ["A", "B"] {
            let got = ids(t.vertices_with_properties(label, &q)?)?;
            assert_eq!(got, scan(t, label, &q)?, "step {step}: {label} {q:?}");
        }
    }
    for q in [PropertyBounds::equal(value(0)), PropertyBounds::any()] {
        let got = edge_ids(t.edges_with_type("T", Some(("w", &q)))?)?;
        assert_eq!(
            got,
            scan_edges(t, "T", Some(("w", &q)))?,
            "step {step}: edges {q:?}"
        );
    }
    assert_eq!(
        edge_ids(t.edges_with_type("T", None)?)?,
        scan_edges(t, "T", None)?,
        "step {step}: edges of T"
    );
    Ok(())
}

fn run_index_sequence<E: StorageEngine>(db: &E, ops: &[Op]) -> Result<()> {
    let indexes = [
        label_prop("A", &["a"]),
        label_prop("A", &["a", "b"]),
        IndexSpec::EdgeTypeProperty {
            edge_type: "T".into(),
            property: "w".into(),
        },
        IndexSpec::EdgeType("T".into()),
    ];
    let mut created = BTreeSet::new();
    let mut txn = Some(rw(db)?);
    let mut vertices: Vec<VertexId> = Vec::new();
    let mut edges: Vec<EdgeId> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let t = txn.as_mut().expect("open");
        let pick_v = |i: usize| (!vertices.is_empty()).then(|| vertices[i % vertices.len()]);
        let pick_e = |i: usize| (!edges.is_empty()).then(|| edges[i % edges.len()]);
        // Writes on objects another step deleted or a rollback removed fail with
        // NotFound; that is not what this test is about.
        let tolerate = |r: Result<()>| match r {
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::HasEdges => Ok(()),
            other => other,
        };
        match op {
            Op::Create { labels, a, b } => {
                let mut ls = Vec::new();
                if labels & 1 != 0 {
                    ls.push("A");
                }
                if labels & 2 != 0 {
                    ls.push("B");
                }
                let mut props = Vec::new();
                if let Some(a) = a {
                    props.push(("a", value(*a)));
                }
                if let Some(b) = b {
                    props.push(("b", value(*b)));
                }
                vertices.push(t.create_vertex_with(&ls, &props)?);
            }
            Op::Set { v, key, value: n } => {
                if let Some(id) = pick_v(*v) {
                    let key = if *key { "a" } else { "b" };
                    let val = n.map_or(PropertyValue::Null, value);
                    tolerate(t.set_vertex_property(id, key, val).map(|_| ()))?;
                }
            }
            Op::AddLabel { v } => {
                if let Some(id) = pick_v(*v) {
                    tolerate(t.add_label(id, "A").map(|_| ()))?;
                }
            }
            Op::RemoveLabel { v } => {
                if let Some(id) = pick_v(*v) {
                    tolerate(t.remove_label(id, "A").map(|_| ()))?;
                }
            }
            Op::Delete { v } => {
                if let Some(id) = pick_v(*v) {
                    tolerate(t.delete_vertex(id, DeleteMode::Detach))?;
                }
            }
            Op::Edge { from, to, w } => {
                if let (Some(s), Some(d)) = (pick_v(*from), pick_v(*to)) {
                    let props: Vec<(&str, PropertyValue)> =
                        w.iter().map(|w| ("w", value(*w))).collect();
                    match t.create_edge_with(s, d, "T", &props) {
                        Ok(e) => edges.push(e),
                        Err(e) if e.kind() == ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Op::SetEdge { e, w } => {
                if let Some(id) = pick_e(*e) {
                    let val = w.map_or(PropertyValue::Null, value);
                    tolerate(t.set_edge_property(id, "w", val).map(|_| ()))?;
                }
            }
            Op::DeleteEdge { e } => {
                if let Some(id) = pick_e(*e) {
                    tolerate(t.delete_edge(id))?;
                }
            }
            Op::Index(i) => {
                let spec = &indexes[usize::from(*i)];
                if created.insert(spec.clone()) {
                    db.create_index(spec)?;
                }
            }
            Op::Commit => {
                txn.take().expect("open").commit()?;
                txn = Some(rw(db)?);
            }
            Op::Rollback => {
                txn.take().expect("open").rollback();
                txn = Some(rw(db)?);
            }
        }
        let t = txn.as_ref().expect("open");
        check_lookups(t, step)?;
        // A fresh reader sees the committed state through the same indexes.
        check_lookups(&rw(db)?, step)?;
    }
    Ok(())
}

/// Random writes, commits, rollbacks and index creations: after every step, every
/// lookup gives exactly what a scan gives, in the writing transaction and in a fresh
/// one (64 sequences of up to 50 steps).
pub fn index_lookups_equal_scans_under_random_writes<F: EngineFactory>(f: &F) -> Result<()> {
    let probe = fresh(f)?;
    if !indexes_offered(&*probe) {
        return Ok(());
    }
    drop(probe);
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&ops(), |ops| {
        let db = fresh(f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        run_index_sequence(&*db, &ops).map_err(|e| TestCaseError::fail(e.to_string()))
    });
    match outcome {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, ops)) => {
            panic!("minimal failing sequence {ops:#?}\nreason: {reason}")
        }
        Err(TestError::Abort(reason)) => panic!("index test aborted: {reason}"),
    }
}

#[track_caller]
fn expect_violation<T: std::fmt::Debug>(r: Result<T>, mentions: &[&str], what: &str) -> Error {
    match r {
        Ok(v) => panic!("{what}: expected a constraint violation, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::ConstraintViolation, "{what}: {e}");
            for m in mentions {
                assert!(e.message().contains(m), "{what}: {e} does not mention {m}");
            }
            e
        }
    }
}

/// An existence constraint fails the commit of a vertex of its label without the
/// property (naming constraint, label, property and vertex), and nothing of that
/// transaction stays; a vertex that has it, or another label, commits.
pub fn existence_constraint_is_enforced_at_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    db.create_constraint(&exists("Person", "name"))?;
    assert_eq!(db.constraints()?, vec![exists("Person", "name")]);
    let mut t = rw(&*db)?;
    let ok = t.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
    let bad = t.create_vertex_with(&["Person"], &[])?;
    t.create_vertex_with(&["City"], &[])?;
    let e = expect_violation(t.commit(), &["Person", "name"], "missing property");
    assert!(
        e.message().contains(&bad.0.to_string()),
        "{e} does not name vertex {bad}"
    );
    let r = rw(&*db)?;
    assert!(!r.contains_vertex(ok)?, "nothing of a failed commit stays");
    assert_eq!(r.vertex_count()?, 0);
    drop(r);
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.set_vertex_property(v, "name", PropertyValue::Null)?;
    expect_violation(t.commit(), &["name"], "removing the property");
    let mut t = rw(&*db)?;
    let w = t.create_vertex()?;
    t.add_label(w, "Person")?;
    expect_violation(t.commit(), &["Person"], "adding the label");
    // A vertex deleted in the same transaction needs nothing.
    let mut t = rw(&*db)?;
    let gone = t.create_vertex_with(&["Person"], &[])?;
    t.delete_vertex(gone, DeleteMode::Plain)?;
    t.commit()?;
    db.drop_constraint(&exists("Person", "name"))?;
    expect_kind(
        db.drop_constraint(&exists("Person", "name")),
        ErrorKind::NotFound,
        "second drop",
    );
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["Person"], &[])?;
    t.commit()?;
    Ok(())
}

/// A uniqueness constraint over one or two properties refuses duplicates (Int 1 and
/// Float 1.0 are equal), ignores vertices that lack one of the properties, and lets
/// a value be reused once its holder changed or was deleted.
pub fn uniqueness_constraint_is_enforced_at_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    db.create_constraint(&unique("User", &["email"]))?;
    db.create_constraint(&unique("Pair", &["a", "b"]))?;
    let mut t = rw(&*db)?;
    let ann = t.create_vertex_with(&["User"], &[("email", "ann@x".into())])?;
    t.create_vertex_with(&["User"], &[("email", 1.into())])?;
    t.create_vertex_with(&["User"], &[])?;
    t.create_vertex_with(&["User"], &[])?;
    t.create_vertex_with(&["Other"], &[("email", "ann@x".into())])?;
    t.create_vertex_with(&["Pair"], &[("a", 1.into()), ("b", 1.into())])?;
    t.create_vertex_with(&["Pair"], &[("a", 1.into()), ("b", 2.into())])?;
    t.create_vertex_with(&["Pair"], &[("a", 1.into())])?;
    t.create_vertex_with(&["Pair"], &[("a", 1.into())])?;
    t.commit()?;

    let mut t = rw(&*db)?;
    t.create_vertex_with(&["User"], &[("email", "ann@x".into())])?;
    expect_violation(
        t.commit(),
        &["User", "email", &ann.0.to_string()],
        "duplicate",
    );
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["User"], &[("email", PropertyValue::Float(1.0))])?;
    expect_violation(t.commit(), &["email"], "1.0 equals 1");
    let mut t = rw(&*db)?;
    t.create_vertex_with(
        &["Pair"],
        &[("a", PropertyValue::Float(1.0)), ("b", 2.into())],
    )?;
    expect_violation(t.commit(), &["Pair", "a", "b"], "composite duplicate");
    let mut t = rw(&*db)?;
    let x = t.create_vertex_with(&["User"], &[("email", "new@x".into())])?;
    let y = t.create_vertex_with(&["User"], &[("email", "new@x".into())])?;
    let e = expect_violation(t.commit(), &["email"], "two in one transaction");
    assert!(
        e.message().contains(&x.0.to_string()) || e.message().contains(&y.0.to_string()),
        "{e}"
    );

    // Moving the value away and taking it in one transaction is fine.
    let mut t = rw(&*db)?;
    t.set_vertex_property(ann, "email", "ann@y".into())?;
    let taker = t.create_vertex_with(&["User"], &[("email", "ann@x".into())])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.delete_vertex(taker, DeleteMode::Plain)?;
    t.create_vertex_with(&["User"], &[("email", "ann@x".into())])?;
    t.commit()?;
    // Removing the label lifts the constraint from the vertex.
    let mut t = rw(&*db)?;
    t.remove_label(ann, "User")?;
    t.create_vertex_with(&["User"], &[("email", "ann@y".into())])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.add_label(ann, "User")?;
    expect_violation(t.commit(), &["User"], "label added back onto a duplicate");
    Ok(())
}

/// A type constraint refuses a present property of another type (Int is not Float)
/// and accepts a missing one.
pub fn type_constraint_is_enforced_at_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    let spec = ConstraintSpec::Type {
        label: "Item".into(),
        property: "qty".into(),
        value_type: ValueType::Int,
    };
    db.create_constraint(&spec)?;
    let other_type = ConstraintSpec::Type {
        label: "Item".into(),
        property: "qty".into(),
        value_type: ValueType::String,
    };
    expect_kind(
        db.create_constraint(&other_type),
        ErrorKind::AlreadyExists,
        "a second type for one property",
    );
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["Item"], &[("qty", 3.into())])?;
    t.create_vertex_with(&["Item"], &[])?;
    t.create_vertex_with(&["Thing"], &[("qty", "many".into())])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.set_vertex_property(v, "qty", PropertyValue::Float(3.0))?;
    expect_violation(
        t.commit(),
        &["Item", "qty", "FLOAT"],
        "float into an integer",
    );
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["Item"], &[("qty", "3".into())])?;
    expect_violation(t.commit(), &["STRING"], "string into an integer");
    Ok(())
}

/// Creating a constraint the committed data violates fails with a violation naming a
/// vertex and leaves no constraint behind; the data is untouched.
pub fn creating_a_violated_constraint_fails_and_leaves_none<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    let mut t = rw(&*db)?;
    let first = t.create_vertex_with(&["L"], &[("p", 1.into())])?;
    let dup = t.create_vertex_with(&["L"], &[("p", PropertyValue::Float(1.0))])?;
    let bare = t.create_vertex_with(&["L"], &[])?;
    t.create_vertex_with(&["L"], &[("q", "text".into())])?;
    t.commit()?;
    let e = expect_violation(
        db.create_constraint(&unique("L", &["p"])),
        &["L", "p"],
        "duplicates exist",
    );
    assert!(
        e.message().contains(&dup.0.to_string()) && e.message().contains(&first.0.to_string()),
        "{e} does not name both holders"
    );
    expect_violation(
        db.create_constraint(&exists("L", "p")),
        &["p", &bare.0.to_string()],
        "a vertex lacks the property",
    );
    expect_violation(
        db.create_constraint(&ConstraintSpec::Type {
            label: "L".into(),
            property: "q".into(),
            value_type: ValueType::Int,
        }),
        &["q", "STRING"],
        "a property of another type",
    );
    assert!(
        db.constraints()?.is_empty(),
        "a failed creation left a constraint"
    );
    // Nothing is enforced: a further duplicate commits.
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["L"], &[("p", 1.into())])?;
    t.commit()?;
    // Once the committed data is clean the constraint can be made, and an
    // uncommitted duplicate written before it is checked when it commits.
    let mut t = rw(&*db)?;
    let all = ids(t.vertices_with_label("L")?)?;
    for v in all {
        t.delete_vertex(v, DeleteMode::Plain)?;
    }
    t.commit()?;
    let mut early = rw(&*db)?;
    early.create_vertex_with(&["L"], &[("p", 42.into())])?;
    early.create_vertex_with(&["L"], &[("p", 42.into())])?;
    db.create_constraint(&unique("L", &["p"]))?;
    expect_violation(
        early.commit(),
        &["p"],
        "a duplicate written before the constraint",
    );
    Ok(())
}

/// Two transactions that each add the same unique value cannot both commit, in either
/// commit order, and when the holder of the value is being changed concurrently;
/// eight threads racing for one value leave exactly one winner.
pub fn concurrent_unique_inserts_cannot_both_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    db.create_constraint(&unique("U", &["k"]))?;
    let refused = |r: Result<engine_api::CommitInfo>, what: &str| match r {
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConstraintViolation | ErrorKind::Conflict
            ) => {}
        other => panic!("{what}: expected ConstraintViolation or Conflict, got {other:?}"),
    };
    for first_commits_first in [true, false] {
        let key = PropertyValue::from(if first_commits_first { "a" } else { "b" });
        let mut t1 = rw(&*db)?;
        let mut t2 = rw(&*db)?;
        t1.create_vertex_with(&["U"], &[("k", key.clone())])?;
        match t2.create_vertex_with(&["U"], &[("k", key.clone())]) {
            Ok(_) => {
                let (win, lose) = if first_commits_first {
                    (t1, t2)
                } else {
                    (t2, t1)
                };
                win.commit()?;
                refused(lose.commit(), "second committer");
            }
            // A backend may refuse the second writer at once.
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
                t1.commit()?;
            }
        }
        let r = rw(&*db)?;
        let holders = ids(r.vertices_with_property("U", "k", &PropertyBounds::equal(key))?)?;
        assert_eq!(holders.len(), 1, "exactly one holder");
    }
    // The holder changes its value while another takes the old one: the taker may not
    // commit before the change does.
    let mut t = rw(&*db)?;
    let holder = t.create_vertex_with(&["U"], &[("k", "c".into())])?;
    t.commit()?;
    let mut mover = rw(&*db)?;
    mover.set_vertex_property(holder, "k", "d".into())?;
    let mut taker = rw(&*db)?;
    match taker.create_vertex_with(&["U"], &[("k", "c".into())]) {
        Ok(_) => refused(taker.commit(), "taker before the move committed"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
    }
    mover.commit()?;
    let mut taker = rw(&*db)?;
    taker.create_vertex_with(&["U"], &[("k", "c".into())])?;
    taker.commit()?;

    let threads = 8;
    let barrier = Barrier::new(threads);
    let winners = Mutex::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut t = rw(&*db).expect("begin");
                let created = t.create_vertex_with(&["U"], &[("k", "race".into())]);
                barrier.wait();
                let outcome = created.and_then(|_| t.commit());
                match outcome {
                    Ok(_) => *winners.lock().expect("lock") += 1,
                    Err(e) => assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::ConstraintViolation | ErrorKind::Conflict
                        ),
                        "{e}"
                    ),
                }
            });
        }
    });
    assert_eq!(
        *winners.lock().expect("lock"),
        1,
        "exactly one racer commits"
    );
    Ok(())
}

/// Triggers are stored, listed by name, refused twice, and dropped.
pub fn triggers_are_stored_listed_and_dropped<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !triggers_offered(&*db) {
        return Ok(());
    }
    let b = trigger("b_audit", TriggerPhase::BeforeCommit);
    let mut a = trigger("a_log", TriggerPhase::AfterCommit);
    a.event = TriggerEvent::Any;
    a.security = TriggerSecurity::Definer;
    a.statement = "MATCH (n) WHERE n.x = \"quote\\\" `tick`\nline\" RETURN n".into();
    db.create_trigger(&b)?;
    db.create_trigger(&a)?;
    assert_eq!(db.triggers()?, vec![a.clone(), b.clone()]);
    expect_kind(db.create_trigger(&b), ErrorKind::AlreadyExists, "same name");
    let mut empty = trigger("e", TriggerPhase::AfterCommit);
    empty.statement = "  ".into();
    expect_kind(
        db.create_trigger(&empty),
        ErrorKind::InvalidInput,
        "empty statement",
    );
    db.drop_trigger("b_audit")?;
    expect_kind(
        db.drop_trigger("b_audit"),
        ErrorKind::NotFound,
        "second drop",
    );
    assert_eq!(db.triggers()?, vec![a]);
    Ok(())
}

/// After-commit observers receive every committed transaction's changes, with old
/// and new values, in commit order with its timestamp; rolled-back and read-only
/// transactions send nothing; a removed observer hears nothing more.
pub fn after_commit_observers_see_changes_in_commit_order<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !triggers_offered(&*db) {
        return Ok(());
    }
    let seen: Arc<Mutex<Vec<ChangeSet>>> = Arc::default();
    let sink = seen.clone();
    let id = db.add_commit_observer(
        TriggerPhase::AfterCommit,
        Arc::new(move |c: &ChangeSet| {
            sink.lock().expect("lock").push(c.clone());
            Ok(())
        }),
    )?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex_with(&["P"], &[("n", 1.into())])?;
    let b = t.create_vertex()?;
    let e = t.create_edge_with(a, b, "R", &[("w", 2.into())])?;
    let c1 = t.commit()?;
    let mut t = rw(&*db)?;
    t.set_vertex_property(a, "n", 5.into())?;
    t.add_label(b, "Q")?;
    t.set_edge_property(e, "w", PropertyValue::Null)?;
    t.delete_vertex(a, DeleteMode::Detach)?;
    let c2 = t.commit()?;
    let mut t = rw(&*db)?;
    t.create_vertex()?;
    t.rollback();
    let r = db.begin(engine_api::TxnOptions::new().read_only())?;
    r.commit()?;
    let got = seen.lock().expect("lock").clone();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].commit_timestamp, Some(c1.commit_timestamp));
    assert_eq!(got[1].commit_timestamp, Some(c2.commit_timestamp));
    assert!(got[0].fires(TriggerEvent::VertexCreate) && got[0].fires(TriggerEvent::EdgeCreate));
    assert!(!got[0].fires(TriggerEvent::Delete));
    assert!(got[1].fires(TriggerEvent::Delete) && got[1].fires(TriggerEvent::Update));
    let created: Vec<VertexId> = got[0]
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::VertexCreated { vertex, .. } => Some(*vertex),
            _ => None,
        })
        .collect();
    assert_eq!(created, vec![a, b]);
    assert!(got[0].changes.iter().any(|c| matches!(c,
        Change::VertexCreated { vertex, labels, properties }
            if *vertex == a && labels == &["P".to_string()]
                && properties.get("n") == Some(&PropertyValue::Int(1)))));
    assert!(got[0].changes.iter().any(|c| matches!(c,
        Change::EdgeCreated { edge, properties }
            if edge.id == e && edge.source == a && edge.target == b
                && properties.get("w") == Some(&PropertyValue::Int(2)))));
    let second = &got[1].changes;
    assert!(second.contains(&Change::VertexPropertySet {
        vertex: a,
        key: "n".into(),
        old: Some(1.into()),
        new: 5.into(),
    }));
    assert!(second.contains(&Change::LabelAdded {
        vertex: b,
        label: "Q".into(),
    }));
    assert!(second.contains(&Change::EdgePropertySet {
        edge: e,
        key: "w".into(),
        old: Some(2.into()),
        new: PropertyValue::Null,
    }));
    assert!(second.iter().any(|c| matches!(c,
        Change::EdgeDeleted { edge, .. } if edge.id == e)));
    assert!(second.iter().any(|c| matches!(c,
        Change::VertexDeleted { vertex, properties, .. }
            if *vertex == a && properties.get("n") == Some(&PropertyValue::Int(5)))));

    db.remove_commit_observer(id)?;
    expect_kind(
        db.remove_commit_observer(id),
        ErrorKind::NotFound,
        "second removal",
    );
    let mut t = rw(&*db)?;
    t.create_vertex()?;
    t.commit()?;
    assert_eq!(seen.lock().expect("lock").len(), 2);

    // Concurrent committers: deliveries come in commit-timestamp order.
    let order: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = order.clone();
    db.add_commit_observer(
        TriggerPhase::AfterCommit,
        Arc::new(move |c: &ChangeSet| {
            sink.lock()
                .expect("lock")
                .push(c.commit_timestamp.unwrap_or(0));
            Ok(())
        }),
    )?;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    let mut t = rw(&*db).expect("begin");
                    t.create_vertex().expect("create");
                    t.commit().expect("commit");
                }
            });
        }
    });
    let order = order.lock().expect("lock").clone();
    assert_eq!(order.len(), 200);
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "out of commit order: {order:?}"
    );
    Ok(())
}

/// A before-commit observer sees the changes before they are committed and can veto
/// the commit with its own error; the vetoed transaction leaves nothing.
pub fn before_commit_observers_can_veto<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !triggers_offered(&*db) {
        return Ok(());
    }
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    db.add_commit_observer(
        TriggerPhase::BeforeCommit,
        Arc::new(move |c: &ChangeSet| {
            *counter.lock().expect("lock") += 1;
            assert_eq!(c.commit_timestamp, None);
            let forbidden = c.changes.iter().any(|ch| {
                matches!(ch, Change::VertexCreated { labels, .. } if labels.iter().any(|l| l == "Forbidden"))
            });
            if forbidden {
                Err(Error::new(
                    ErrorKind::ConstraintViolation,
                    "trigger check: Forbidden vertices are not allowed",
                ))
            } else {
                Ok(())
            }
        }),
    )?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["Allowed"], &[])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    let w = t.create_vertex_with(&["Forbidden"], &[])?;
    t.set_vertex_property(v, "touched", true.into())?;
    let e = t.commit().expect_err("vetoed");
    assert_eq!(e.kind(), ErrorKind::ConstraintViolation);
    assert!(e.message().contains("trigger check"), "{e}");
    let r = rw(&*db)?;
    assert!(!r.contains_vertex(w)?);
    assert_eq!(r.vertex_property(v, "touched")?, None);
    assert_eq!(*calls.lock().expect("lock"), 2);
    Ok(())
}

fn reopen<F: EngineFactory>(db: &mut TestDb<F::Engine>, f: &F, crash: bool) -> Result<()> {
    if crash {
        db.crash_and_reopen(f)
    } else {
        db.close_and_reopen(f)
    }
}

/// Indexes, constraints and triggers survive a clean reopen and a crash (where the
/// backend is persistent): listed the same, indexes used and correct, constraints
/// enforced; a backend that is not persistent starts without them.
pub fn schema_survives_reopen_and_crash<F: EngineFactory>(f: &F) -> Result<()> {
    for crash in [false, true] {
        let mut db = fresh(f)?;
        let caps = db.capabilities().clone();
        if !(caps.indexes && caps.constraints && caps.triggers) {
            indexes_offered(&*db);
            constraints_offered(&*db);
            triggers_offered(&*db);
            return Ok(());
        }
        people(&*db)?;
        let idx = label_prop("Person", &["age"]);
        let edge_idx = IndexSpec::EdgeType("KNOWS".into());
        db.create_index(&idx)?;
        db.create_index(&edge_idx)?;
        db.create_index(&IndexSpec::Label("Person".into()))?;
        db.create_index(&label_prop("Gone", &["x"]))?;
        db.drop_index(&label_prop("Gone", &["x"]))?;
        db.create_constraint(&unique("Person", &["name"]))?;
        db.create_constraint(&exists("Person", "name"))?;
        let trig = trigger("audit", TriggerPhase::AfterCommit);
        db.create_trigger(&trig)?;
        // Data written after the schema, only in the log.
        let mut t = rw(&*db)?;
        let a =
            t.create_vertex_with(&["Person"], &[("name", "late".into()), ("age", 77.into())])?;
        t.create_edge(a, a, "KNOWS")?;
        t.commit()?;
        let indexes_before = db.indexes()?;
        let constraints_before = db.constraints()?;
        reopen(&mut db, f, crash)?;
        if !caps.persistent {
            assert!(db.indexes()?.is_empty());
            assert!(db.constraints()?.is_empty());
            assert!(db.triggers()?.is_empty());
            return Ok(());
        }
        assert_eq!(db.indexes()?, indexes_before, "crash: {crash}");
        assert_eq!(db.constraints()?, constraints_before, "crash: {crash}");
        assert_eq!(db.triggers()?, vec![trig]);
        let r = rw(&*db)?;
        assert_eq!(r.vertex_lookup_index("Person", &["age"])?, Some(idx));
        assert_eq!(r.edge_lookup_index("KNOWS", None)?, Some(edge_idx));
        for q in [
            PropertyBounds::equal(77.into()),
            PropertyBounds::equal(PropertyValue::Float(12.0)),
            PropertyBounds::range(Bound::Included(5.into()), Bound::Excluded(9.into())),
        ] {
            let filters = [("age", q)];
            assert_eq!(
                ids(r.vertices_with_properties("Person", &filters)?)?,
                scan(&r, "Person", &filters)?
            );
        }
        assert_eq!(edge_ids(r.edges_with_type("KNOWS", None)?)?.len(), 1);
        drop(r);
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Person"], &[("name", "late".into())])?;
        expect_violation(t.commit(), &["name"], "unique after reopen");
        let mut t = rw(&*db)?;
        t.create_vertex_with(&["Person"], &[])?;
        expect_violation(t.commit(), &["name"], "exists after reopen");
    }
    Ok(())
}
