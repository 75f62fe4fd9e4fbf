//! Index builds that run while transactions write: the entries a build leaves must be
//! exactly those of the committed data once it and the transactions are done.

use std::sync::atomic::{AtomicBool, Ordering};

use engine_api::{
    ErrorKind, IndexSpec, PropertyBounds, PropertyValue, StorageEngine, Transaction, TxnOptions,
    VertexId,
};
use engine_ondisk::{Config, OnDiskEngine};

fn vertex_index() -> IndexSpec {
    IndexSpec::LabelProperties {
        label: "P".into(),
        properties: vec!["x".into()],
    }
}

fn edge_index() -> IndexSpec {
    IndexSpec::EdgeTypeProperty {
        edge_type: "R".into(),
        property: "w".into(),
    }
}

fn entries(db: &OnDiskEngine, spec: &IndexSpec) -> u64 {
    db.indexes()
        .expect("indexes")
        .into_iter()
        .find(|i| i.spec == *spec)
        .expect("listed")
        .entries
}

/// `P` vertices with `x` = 0, and an `R` edge with `w` = 0 from each to itself.
fn fill(db: &OnDiskEngine, n: usize) -> Vec<VertexId> {
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    let mut vs = Vec::with_capacity(n);
    for _ in 0..n {
        let v = t
            .create_vertex_with(&["P"], &[("x", PropertyValue::Int(0))])
            .expect("vertex");
        t.create_edge_with(v, v, "R", &[("w", PropertyValue::Int(0))])
            .expect("edge");
        vs.push(v);
    }
    t.commit().expect("commit");
    vs
}

/// A transaction that began before the index existed changes an indexed value and
/// commits after the build: the entry of the value it replaced does not stay.
#[test]
fn a_transaction_spanning_a_build_leaves_no_stale_entry() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    let vs = fill(&db, 10);
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    t.set_vertex_property(vs[3], "x", PropertyValue::Int(7))
        .expect("set");
    let e = t
        .edges(vs[3], engine_api::Direction::Out, None)
        .expect("edges")
        .next()
        .expect("an edge")
        .expect("edge")
        .id;
    t.set_edge_property(e, "w", PropertyValue::Int(7))
        .expect("set");
    db.create_index(&vertex_index()).expect("vertex index");
    db.create_index(&edge_index()).expect("edge index");
    t.commit().expect("commit");

    assert_eq!(entries(&db, &vertex_index()), 10);
    assert_eq!(entries(&db, &edge_index()), 10);
    let t = db.begin(TxnOptions::new().read_only()).expect("begin");
    let zero = PropertyBounds::equal(PropertyValue::Int(0));
    let seven = PropertyBounds::equal(PropertyValue::Int(7));
    let count = |b: &PropertyBounds| {
        t.vertices_with_property("P", "x", b)
            .expect("lookup")
            .count()
    };
    assert_eq!((count(&zero), count(&seven)), (9, 1));
    let edges = |b: &PropertyBounds| {
        t.edges_with_type("R", Some(("w", b)))
            .expect("lookup")
            .count()
    };
    assert_eq!((edges(&zero), edges(&seven)), (9, 1));
}

/// Writers change indexed values of existing vertices and edges while indexes are
/// built: afterwards each index has one entry per object, as a build on the quiet
/// database gives.
#[test]
fn commits_during_a_build_leave_exact_entries() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().expect("tmp");
    let db = OnDiskEngine::open(Config::new(dir.path())).expect("open");
    let vs = fill(&db, N);
    let stop = AtomicBool::new(false);
    let committed = std::thread::scope(|s| {
        let writers: Vec<_> = (0..2_u64)
            .map(|w| {
                let (db, vs, stop) = (&db, &vs, &stop);
                s.spawn(move || {
                    let mut committed = 0_u64;
                    let mut i = w;
                    while !stop.load(Ordering::Relaxed) {
                        i = i
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let v = vs[(i >> 33) as usize % vs.len()];
                        let value = PropertyValue::Int((i >> 40) as i64 % 1000);
                        let mut t = db.begin(TxnOptions::new()).expect("begin");
                        let written = t.set_vertex_property(v, "x", value.clone()).and_then(|_| {
                            let e = t
                                .edges(v, engine_api::Direction::Out, None)?
                                .next()
                                .expect("an edge")?
                                .id;
                            t.set_edge_property(e, "w", value)
                        });
                        match written.and_then(|_| t.commit()) {
                            Ok(_) => committed += 1,
                            Err(e) if e.kind() == ErrorKind::Conflict => {}
                            Err(e) => panic!("write failed: {e}"),
                        }
                    }
                    committed
                })
            })
            .collect();
        db.create_index(&vertex_index()).expect("vertex index");
        db.create_index(&edge_index()).expect("edge index");
        stop.store(true, Ordering::Relaxed);
        writers
            .into_iter()
            .map(|w| w.join().expect("writer"))
            .sum::<u64>()
    });
    assert!(committed > 0, "the writers committed during the builds");
    assert_eq!(entries(&db, &vertex_index()), N as u64);
    assert_eq!(entries(&db, &edge_index()), N as u64);
    // Every lookup through the indexes matches a scan of the records.
    let t = db.begin(TxnOptions::new().read_only()).expect("begin");
    let mut by_value = std::collections::BTreeMap::<i64, usize>::new();
    for v in &vs {
        match t.vertex_property(*v, "x").expect("read") {
            Some(PropertyValue::Int(x)) => *by_value.entry(x).or_default() += 1,
            other => panic!("x is {other:?}"),
        }
    }
    for (x, n) in by_value.iter().take(20) {
        let b = PropertyBounds::equal(PropertyValue::Int(*x));
        let found = t
            .vertices_with_property("P", "x", &b)
            .expect("lookup")
            .count();
        assert_eq!(found, *n, "x = {x}");
        let found = t
            .edges_with_type("R", Some(("w", &b)))
            .expect("lookup")
            .count();
        assert_eq!(found, *n, "w = {x}");
    }
}
