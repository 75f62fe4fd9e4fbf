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
