//! Helpers shared by the suite's tests.

use std::ops::Deref;

use engine_api::{ErrorKind, Result, StorageEngine, TxnOptions};
use tempfile::TempDir;

use crate::EngineFactory;

/// An engine in its own temporary directory (the engine is dropped first).
pub(crate) struct TestDb<E> {
    engine: E,
    _dir: TempDir,
}

impl<E> Deref for TestDb<E> {
    type Target = E;
    fn deref(&self) -> &E {
        &self.engine
    }
}

/// A fresh engine in a fresh directory.
pub(crate) fn fresh<F: EngineFactory>(f: &F) -> Result<TestDb<F::Engine>> {
    let dir = tempfile::Builder::new()
        .prefix("quiver-conformance-")
        .tempdir()?;
    let engine = f.open(dir.path())?;
    Ok(TestDb { engine, _dir: dir })
}

/// Begins a read-write transaction at the default level.
pub(crate) fn rw<E: StorageEngine>(e: &E) -> Result<E::Txn<'_>> {
    e.begin(TxnOptions::new())
}

/// Asserts that `r` failed with `kind`.
#[track_caller]
pub(crate) fn expect_kind<T: std::fmt::Debug>(r: Result<T>, kind: ErrorKind, what: &str) {
    match r {
        Ok(v) => panic!("{what}: expected a {kind} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "{what}: wrong error kind: {e}"),
    }
}
