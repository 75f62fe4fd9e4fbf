//! Commits become visible in commit order, also when a commit with nothing to wait
//! for (no WAL, no after-commit observer) follows one that waits for an earlier
//! commit's after-commit observers: the quick one must not publish first (a reader
//! could see it without the earlier one), nor move the delivery mark past commits
//! whose observers still run (the next commit would publish before they are done).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine_api::{
    ChangeSet, PropertyValue, StorageEngine, Transaction, TriggerPhase, TxnOptions, VertexId,
};
use engine_inmem_txn::{Config, InMemoryEngine};

fn set(engine: &InMemoryEngine, v: VertexId, n: i64) -> Transaction_<'_> {
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.set_vertex_property(v, "n", PropertyValue::Int(n))
        .expect("set");
    t
}

type Transaction_<'e> = engine_inmem_txn::InMemoryTxn<'e>;

#[test]
fn a_quick_commit_does_not_overtake_one_waiting_for_observers() {
    let engine = InMemoryEngine::open(Config::new().gc_interval(None)).expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let vs: Vec<VertexId> = (0..3).map(|_| t.create_vertex().expect("v")).collect();
    t.commit().expect("commit");

    // Begun before the observer exists: this commit has nothing to wait for.
    let quick = set(&engine, vs[2], 3);

    // Holds the first observed commit's delivery until released.
    let (release, held) = mpsc::channel::<()>();
    let held = Mutex::new(Some(held));
    engine
        .add_commit_observer(
            TriggerPhase::AfterCommit,
            Arc::new(move |_: &ChangeSet| {
                if let Some(rx) = held.lock().expect("lock").take() {
                    let _ = rx.recv();
                }
                Ok(())
            }),
        )
        .expect("observer");
    let first = set(&engine, vs[0], 1);
    let second = set(&engine, vs[1], 2);

    std::thread::scope(|s| {
        // The first commit is published, then held in its observer.
        s.spawn(move || first.commit().expect("first"));
        std::thread::sleep(Duration::from_millis(100));
        // The second takes the next timestamp and waits for that delivery.
        s.spawn(move || second.commit().expect("second"));
        std::thread::sleep(Duration::from_millis(100));
        // The quick one comes after both and must wait for the second.
        s.spawn(move || quick.commit().expect("quick"));
        std::thread::sleep(Duration::from_millis(100));
        let r = engine.begin(TxnOptions::new().read_only()).expect("begin");
        let read = |v: VertexId| r.vertex_property(v, "n").expect("read");
        let (second_seen, quick_seen) = (read(vs[1]).is_some(), read(vs[2]).is_some());
        drop(r);
        release.send(()).expect("release");
        // Neither is visible while the first commit's observer runs: the next commit
        // publishes once those observers are done, and the quick one after that.
        assert!(
            !second_seen,
            "the second commit overtook the first's observers"
        );
        assert!(!quick_seen, "the quick commit overtook the second");
    });
    let r = engine.begin(TxnOptions::new().read_only()).expect("begin");
    for (i, v) in vs.iter().enumerate() {
        assert_eq!(
            r.vertex_property(*v, "n").expect("read"),
            Some(PropertyValue::Int(i as i64 + 1))
        );
    }
}
