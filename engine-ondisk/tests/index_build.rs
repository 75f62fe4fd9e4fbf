//! Index builds that run while transactions write (shared checks in
//! `conformance::index_build`): entry counts are exact as soon as all is committed.

use conformance::index_build;
use engine_ondisk::{Config, OnDiskEngine};

fn open(dir: &tempfile::TempDir) -> OnDiskEngine {
    OnDiskEngine::open(Config::new(dir.path())).expect("open")
}

#[test]
fn a_transaction_spanning_a_build_leaves_no_stale_entry() {
    let dir = tempfile::tempdir().expect("tmp");
    index_build::a_transaction_spanning_a_build_leaves_no_stale_entry(&open(&dir), |_| {})
        .expect("test");
}

#[test]
fn commits_during_a_build_leave_exact_entries() {
    let dir = tempfile::tempdir().expect("tmp");
    index_build::commits_during_a_build_leave_exact_entries(&open(&dir), |_| {}).expect("test");
}

/// An index dropped while a transaction begins, after it read the catalog and before
/// it took its snapshot: the transaction does not plan a lookup through an index
/// whose entries its snapshot no longer holds (it found nothing; found by the stress
/// test), and finds every vertex.
#[test]
fn an_index_dropped_while_a_transaction_begins_is_not_used() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};

    use engine_api::{
        IndexSpec, PropertyBounds, PropertyValue, StorageEngine, Transaction, TxnOptions,
    };

    let dir = tempfile::tempdir().expect("tmp");
    let armed = Arc::new(AtomicBool::new(false));
    let (inside, wait_inside) = mpsc::channel::<()>();
    let (dropped, wait_dropped) = mpsc::channel::<()>();
    let wait_dropped = std::sync::Mutex::new(wait_dropped);
    let hook_armed = armed.clone();
    let db = OnDiskEngine::open(Config::new(dir.path()).begin_midpoint(Arc::new(move || {
        if hook_armed.swap(false, Ordering::SeqCst) {
            inside.send(()).expect("the test waits");
            wait_dropped
                .lock()
                .expect("one waiter")
                .recv()
                .expect("the test drops the index");
        }
    })))
    .expect("open");
    let spec = IndexSpec::LabelProperties {
        label: "P".into(),
        properties: vec!["x".into()],
    };
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    for _ in 0..20 {
        t.create_vertex_with(&["P"], &[("x", PropertyValue::Int(1))])
            .expect("create");
    }
    t.commit().expect("commit");
    db.create_index(&spec).expect("index");
    armed.store(true, Ordering::SeqCst);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let t = db.begin(TxnOptions::new().read_only()).expect("begin");
            let used = t.vertex_lookup_index("P", &["x"]).expect("plan");
            let found = t
                .vertices_with_property("P", "x", &PropertyBounds::equal(PropertyValue::Int(1)))
                .expect("lookup")
                .count();
            (used, found)
        });
        wait_inside.recv().expect("the reader begins");
        db.drop_index(&spec).expect("drop");
        dropped.send(()).expect("the reader waits");
        let (used, found) = reader.join().expect("the reader");
        assert_eq!(found, 20, "a lookup planned with {used:?}");
        assert_eq!(used, None, "the index is gone");
    });
}
