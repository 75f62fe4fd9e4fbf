//! Index builds that run while transactions write (shared checks in
//! `conformance::index_build`): entry counts are exact once old versions are
//! collected.

use conformance::index_build;
use engine_inmem_txn::{Config, InMemoryEngine};

fn open() -> InMemoryEngine {
    InMemoryEngine::open(Config::default()).expect("open")
}

fn settle(db: &InMemoryEngine) {
    db.collect_garbage();
}

#[test]
fn a_transaction_spanning_a_build_leaves_no_stale_entry() {
    index_build::a_transaction_spanning_a_build_leaves_no_stale_entry(&open(), settle)
        .expect("test");
}

#[test]
fn commits_during_a_build_leave_exact_entries() {
    index_build::commits_during_a_build_leave_exact_entries(&open(), settle).expect("test");
}
