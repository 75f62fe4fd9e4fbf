//! Helpers shared by the suite's tests.

use std::ops::Deref;
use std::path::Path;

use engine_api::{Direction, ErrorKind, Result, StorageEngine, Transaction, TxnOptions};
use tempfile::TempDir;

use crate::EngineFactory;

/// An engine in its own temporary directory (the engine is dropped first).
pub(crate) struct TestDb<E> {
    engine: Option<E>,
    dir: TempDir,
}

impl<E> Deref for TestDb<E> {
    type Target = E;
    fn deref(&self) -> &E {
        self.engine.as_ref().expect("the engine is open")
    }
}

impl<E: StorageEngine> TestDb<E> {
    /// The data directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Closes the engine cleanly and opens it again on the same directory.
    pub(crate) fn close_and_reopen<F: EngineFactory<Engine = E>>(&mut self, f: &F) -> Result<()> {
        if let Some(e) = self.engine.take() {
            e.close()?;
        }
        self.engine = Some(f.open(self.dir.path())?);
        Ok(())
    }

    /// Drops the engine without closing it (a crash, as far as durability goes) and
    /// opens it again on the same directory.
    pub(crate) fn crash_and_reopen<F: EngineFactory<Engine = E>>(&mut self, f: &F) -> Result<()> {
        drop(self.engine.take());
        self.engine = Some(f.open(self.dir.path())?);
        Ok(())
    }

    /// Drops the engine without closing it and leaves it closed.
    pub(crate) fn crash(&mut self) {
        drop(self.engine.take());
    }
}

/// A fresh engine in a fresh directory.
pub(crate) fn fresh<F: EngineFactory>(f: &F) -> Result<TestDb<F::Engine>> {
    let dir = tempfile::Builder::new()
        .prefix("quiver-conformance-")
        .tempdir()?;
    let engine = f.open(dir.path())?;
    Ok(TestDb {
        engine: Some(engine),
        dir,
    })
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

/// Everything observable about a graph, as text: vertices in id order with sorted
/// labels and properties, and their outgoing edges in id order with properties.
pub fn observe<T: Transaction>(t: &T) -> Result<String> {
    let mut out = String::new();
    for v in t.vertices()? {
        let v = v?;
        let mut labels: Vec<String> = t.vertex_labels(v)?.iter().map(|l| l.to_string()).collect();
        labels.sort();
        out.push_str(&format!("{v} {labels:?} {:?}\n", t.vertex_properties(v)?));
        let mut edges: Vec<_> = t.edges(v, Direction::Out, None)?.collect::<Result<_>>()?;
        edges.sort_by_key(|e| e.id);
        for e in edges {
            out.push_str(&format!(
                "  {} -{}-> {} {:?}\n",
                e.id,
                e.edge_type,
                e.target,
                t.edge_properties(e.id)?
            ));
        }
    }
    Ok(out)
}

/// Ends the test process with a message if it is still alive after a bounded wait:
/// an interleaving on one thread that blocks (a write waiting for a lock the same
/// thread holds) would otherwise hang the suite. Dropping it disarms it.
pub(crate) struct Watchdog {
    disarm: Option<std::sync::mpsc::Sender<()>>,
}

impl Watchdog {
    /// How long a test may take: the slowest takes seconds on a loaded 2-core
    /// machine; a blocked one would never end.
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

    pub(crate) fn start(what: String) -> Watchdog {
        Self::start_for(what, Self::LIMIT)
    }

    /// A watchdog with a limit of its own (a test whose hang should fail sooner).
    pub(crate) fn start_for(what: String, limit: std::time::Duration) -> Watchdog {
        let (disarm, armed) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = armed.recv_timeout(limit) {
                eprintln!(
                    "{what} did not finish within {limit:?}: a transaction blocks on one that can never finish; failing the test process"
                );
                std::process::exit(101);
            }
        });
        Watchdog {
            disarm: Some(disarm),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.disarm.take() {
            let _ = tx.send(());
        }
    }
}
