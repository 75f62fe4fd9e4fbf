//! Indexes: creation on existing data, use by lookups (composite prefixes, edge
//! indexes), the same results as a scan under random writes, drops. A backend whose
//! capabilities declare no indexes is checked to refuse them with `Unsupported`.

use std::collections::BTreeSet;
use std::ops::Bound;

use engine_api::{
    DeleteMode, EdgeId, ErrorKind, IndexSpec, PropertyBounds, PropertyValue, Result, StorageEngine,
    Transaction, VertexId,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::EngineFactory;
use crate::schema_support::*;
use crate::support::{expect_kind, fresh, rw};

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
/// creations, changes, label removals and deletions, others see them once committed
/// (at once, on a backend without isolation), and a rollback leaves no trace (or, on
/// a backend without rollback, leaves the index agreeing with the data it kept).
pub fn index_follows_writes_and_rollbacks<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !indexes_offered(&*db) {
        return Ok(());
    }
    let vs = people(&*db)?;
    db.create_index(&label_prop("Person", &["age"]))?;
    let eq = |n: i64| [("age", PropertyBounds::equal(PropertyValue::Int(n)))];
    let isolated = !db.capabilities().isolation_levels.is_empty();
    let rollback = db.capabilities().rollback;
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
    let seen_by_other = ids(other.vertices_with_properties("Person", &eq(100))?)?;
    if isolated {
        assert!(seen_by_other.is_empty());
    } else {
        assert_eq!(
            seen_by_other,
            vec![vs[1], new],
            "writes are visible at once"
        );
    }
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(
        ids(r.vertices_with_properties("Person", &eq(100))?)?,
        vec![vs[1], new]
    );
    if isolated {
        assert!(ids(other.vertices_with_properties("Person", &eq(100))?)?.is_empty());
        assert!(ids(other.vertices_with_properties("Person", &eq(2))?)?.contains(&vs[2]));
    } else {
        assert_eq!(
            ids(other.vertices_with_properties("Person", &eq(2))?)?,
            scan(&other, "Person", &eq(2))?
        );
    }
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
    if rollback {
        assert_eq!(
            ids(r.vertices_with_properties("Person", &eq(100))?)?,
            vec![vs[1], new]
        );
        assert!(ids(r.vertices_with_properties("Person", &eq(101))?)?.is_empty());
    } else {
        assert_eq!(
            ids(r.vertices_with_properties("Person", &eq(100))?)?,
            vec![new]
        );
        assert_eq!(
            ids(r.vertices_with_properties("Person", &eq(101))?)?.len(),
            1
        );
    }
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
