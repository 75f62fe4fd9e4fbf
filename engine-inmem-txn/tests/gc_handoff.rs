//! Large commits hand their collection to the background collector: it cuts only
//! what no running transaction can see (the bound taken when the commit retired),
//! a collection on demand waits for it, and closing the engine with collections
//! handed over neither hangs nor loses a commit.

use std::time::Duration;

use engine_api::{PropertyValue, StorageEngine, Transaction, TxnOptions, VertexId};
use engine_inmem_txn::{Config, InMemoryEngine};

/// More objects than a commit needs to hand its collection over.
const MANY: usize = 5000;

fn set_all(engine: &InMemoryEngine, vertices: &[VertexId], n: i64) {
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    for v in vertices {
        t.set_vertex_property(*v, "n", PropertyValue::Int(n))
            .expect("set");
    }
    t.commit().expect("commit");
}

#[test]
fn a_handed_over_collection_keeps_what_a_reader_sees() {
    // The collector thread runs, but its periodic pass never comes in this test:
    // whatever it collects was handed over.
    let engine =
        InMemoryEngine::open(Config::default().gc_interval(Some(Duration::from_secs(3600))))
            .expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let vertices: Vec<VertexId> = (0..MANY)
        .map(|_| {
            t.create_vertex_with(&["N"], &[("n", 0.into())])
                .expect("create")
        })
        .collect();
    t.commit().expect("commit");
    // The first reader pins the next commit; the second starts after it.
    let first = engine.begin(TxnOptions::new()).expect("begin");
    set_all(&engine, &vertices, 1);
    let reader = engine.begin(TxnOptions::new()).expect("begin");
    drop(first);
    // Retiring this commit makes the one before it collectable below the second
    // reader's start: handed over, and cut while that reader runs, which must
    // still see the value this commit replaced.
    set_all(&engine, &vertices, 2);
    let report = engine.collect_garbage();
    assert_eq!(
        report.pending, 1,
        "the last commit waits for the reader: {report:?}"
    );
    for v in &vertices {
        assert_eq!(
            reader.vertex_property(*v, "n").expect("read"),
            Some(PropertyValue::Int(1)),
            "the reader's version of {v:?} was collected"
        );
    }
    drop(reader);
    set_all(&engine, &vertices, 3);
    let report = engine.collect_garbage();
    assert_eq!(report.pending, 0, "{report:?}");
    let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
    for v in &vertices {
        assert_eq!(
            t.vertex_property(*v, "n").expect("read"),
            Some(PropertyValue::Int(3))
        );
    }
}

#[test]
fn closing_with_collections_handed_over_loses_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let config = || Config::default().data_directory(dir.path());
    let engine = InMemoryEngine::open(config()).expect("open");
    let mut vertices = Vec::new();
    for _ in 0..4 {
        let mut t = engine.begin(TxnOptions::new()).expect("begin");
        vertices.extend((0..MANY).map(|_| t.create_vertex_with(&["N"], &[]).expect("create")));
        t.commit().expect("commit");
    }
    set_all(&engine, &vertices, 7);
    drop(engine);
    let engine = InMemoryEngine::open(config()).expect("reopen");
    let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
    assert_eq!(t.vertices().expect("scan").count(), 4 * MANY);
    for v in &vertices {
        assert_eq!(
            t.vertex_property(*v, "n").expect("read"),
            Some(PropertyValue::Int(7))
        );
    }
}
