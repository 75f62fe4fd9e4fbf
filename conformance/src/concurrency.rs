//! Many threads, real concurrency, invariants checked at the end.

use std::sync::mpsc;
use std::time::Duration;

use engine_api::{
    ErrorKind, IsolationLevel, PropertyValue, Result, StorageEngine, Transaction, TxnOptions,
    VertexId,
};

use crate::EngineFactory;
use crate::support::{fresh, rw};

const ACCOUNTS: usize = 10;
const START_BALANCE: i64 = 100;

/// A small deterministic generator, so a failing run can be repeated.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

fn balance<T: Transaction>(t: &T, v: VertexId) -> Result<i64> {
    match t.vertex_property(v, "balance")? {
        Some(PropertyValue::Int(i)) => Ok(i),
        other => panic!("account {v} has balance {other:?}"),
    }
}

fn transfer<E: StorageEngine>(db: &E, from: VertexId, to: VertexId, amount: i64) -> Result<bool> {
    let mut t = rw(db)?;
    let a = balance(&t, from)?;
    let b = balance(&t, to)?;
    t.set_vertex_property(from, "balance", (a - amount).into())?;
    t.set_vertex_property(to, "balance", (b + amount).into())?;
    t.commit()?;
    Ok(true)
}

/// Four threads move money between ten accounts, retrying on conflicts, while a
/// reader checks under snapshot isolation that every snapshot has the same total.
/// A backend without conflict detection is given disjoint accounts per thread (it
/// promises no protection against lost updates) and must still keep every total.
pub fn bank_transfers_keep_the_total<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let db = &*db;
    let detects = db.capabilities().write_conflict_detection;
    let si = db
        .capabilities()
        .supports_isolation(IsolationLevel::SnapshotIsolation);
    let mut t = rw(db)?;
    let accounts: Vec<VertexId> = (0..ACCOUNTS)
        .map(|_| t.create_vertex_with(&["Account"], &[("balance", START_BALANCE.into())]))
        .collect::<Result<_>>()?;
    t.commit()?;
    let total = START_BALANCE * ACCOUNTS as i64;
    let threads = 4;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::scope(|s| -> Result<()> {
        let mut workers = Vec::new();
        for w in 0..threads {
            let accounts = &accounts;
            let done = done_tx.clone();
            workers.push(s.spawn(move || -> Result<u64> {
                let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
                let mut conflicts = 0;
                for _ in 0..150 {
                    let (i, j) = if detects {
                        let i = rng.next(ACCOUNTS);
                        (i, (i + 1 + rng.next(ACCOUNTS - 1)) % ACCOUNTS)
                    } else {
                        (2 * w, 2 * w + 1)
                    };
                    loop {
                        match transfer(db, accounts[i], accounts[j], rng.next(20) as i64) {
                            Ok(_) => break,
                            Err(e) if e.is_retryable() => conflicts += 1,
                            Err(e) => return Err(e),
                        }
                    }
                }
                drop(done);
                Ok(conflicts)
            }));
        }
        drop(done_tx);
        if si {
            let accounts = &accounts;
            s.spawn(move || -> Result<()> {
                // Until every worker hung up its sender, check totals.
                while done_rx
                    .recv_timeout(Duration::from_millis(1))
                    .is_err_and(|e| e == mpsc::RecvTimeoutError::Timeout)
                {
                    let r = db.begin(
                        TxnOptions::new()
                            .isolation(IsolationLevel::SnapshotIsolation)
                            .read_only(),
                    )?;
                    let sum: i64 = accounts
                        .iter()
                        .map(|a| balance(&r, *a))
                        .sum::<Result<i64>>()?;
                    assert_eq!(sum, total, "a snapshot saw money appear or vanish");
                }
                Ok(())
            })
            .join()
            .expect("reader thread")?;
        }
        let mut conflicts = 0;
        for w in workers {
            conflicts += w.join().expect("worker thread")?;
        }
        eprintln!("bank transfers: {conflicts} conflicts retried");
        Ok(())
    })?;
    let r = rw(db)?;
    let sum: i64 = accounts
        .iter()
        .map(|a| balance(&r, *a))
        .sum::<Result<i64>>()?;
    assert_eq!(sum, total);
    Ok(())
}

/// Threads creating vertices at the same time get distinct ids, and all commits
/// count.
pub fn concurrent_creators_get_distinct_ids<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let db = &*db;
    let ids = std::thread::scope(|s| -> Result<Vec<VertexId>> {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(move || -> Result<Vec<VertexId>> {
                    let mut mine = Vec::new();
                    for _ in 0..6 {
                        let mut t = rw(db)?;
                        for _ in 0..50 {
                            mine.push(t.create_vertex_with(&["N"], &[])?);
                        }
                        t.commit()?;
                    }
                    Ok(mine)
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().expect("creator thread")?);
        }
        Ok(all)
    })?;
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "ids handed out twice");
    let r = rw(db)?;
    assert_eq!(r.vertex_count()?, 1200);
    assert_eq!(r.vertices_with_label("N")?.count(), 1200);
    Ok(())
}

/// A writer on another thread commits while a reader's transaction is open on the
/// same vertex; the reader keeps its snapshot (where it has one). A writer that
/// waited for the reader would hang here, which the test reports after 60 s.
pub fn readers_do_not_block_writers<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let db = &*db;
    let mut t = rw(db)?;
    let v = t.create_vertex_with(&[], &[("x", 1.into())])?;
    t.commit()?;
    let reader = rw(db)?;
    assert_eq!(reader.vertex_property(v, "x")?, Some(1.into()));
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(move || {
            let r = (|| -> Result<()> {
                let mut w = rw(db)?;
                w.set_vertex_property(v, "x", 2.into())?;
                w.commit()?;
                Ok(())
            })();
            let _ = tx.send(r);
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the writer did not finish while a reader was open: readers block writers")
    })?;
    let expected = if reader.isolation_level() == IsolationLevel::SnapshotIsolation {
        1
    } else {
        2
    };
    assert_eq!(reader.vertex_property(v, "x")?, Some(expected.into()));
    Ok(())
}

/// A borrowed read's closure may read other objects through its transaction while
/// writers lock objects two at a time (an edge's endpoints): a backend that held the
/// object's lock while the closure ran could wait for a writer that waits for it (a
/// deadlock seen on IN_MEMORY_ANALYTICAL). The test fails the process if it does not
/// end within a minute.
pub fn borrowed_reads_may_read_other_objects_while_writers_run<F: EngineFactory>(
    f: &F,
) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let db = fresh(f)?;
    let db = &*db;
    let mut t = rw(db)?;
    // `low` gets the lower id: writers lock it first.
    let low = t.create_vertex_with(&["N"], &[("x", 1.into())])?;
    let high = t.create_vertex_with(&["N"], &[("x", 2.into())])?;
    t.commit()?;
    let watchdog = crate::support::Watchdog::start_for(
        "borrowed reads of other objects while writers run".into(),
        std::time::Duration::from_secs(60),
    );
    let edge = AtomicU64::new(u64::MAX);
    let done = AtomicBool::new(false);
    let retryable = |e: &engine_api::Error| e.kind() == ErrorKind::Conflict;
    std::thread::scope(|s| -> Result<()> {
        let writer = s.spawn(|| -> Result<()> {
            let result = (|| -> Result<()> {
                for _ in 0..3000 {
                    let mut t = rw(db)?;
                    let e = match t.create_edge(low, high, "T") {
                        Ok(e) => e,
                        Err(e) if retryable(&e) => continue,
                        Err(e) => return Err(e),
                    };
                    t.commit()?;
                    edge.store(e.0, Ordering::Release);
                    let mut t = rw(db)?;
                    match t.delete_edge(e) {
                        Ok(()) => t.commit().map(drop)?,
                        Err(e) if retryable(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            })();
            done.store(true, Ordering::Release);
            result
        });
        let reader = s.spawn(|| -> Result<u64> {
            let mut reads = 0u64;
            while !done.load(Ordering::Acquire) {
                let t = db.begin(TxnOptions::new().read_only())?;
                let inner = t.with_vertex_property(high, "x", |_| t.vertex_property(low, "x"))?;
                assert_eq!(inner?, Some(1.into()));
                t.for_each_label(high, |_| {
                    assert!(t.contains_vertex(low).unwrap_or(false));
                })?;
                let e = engine_api::EdgeId(edge.load(Ordering::Acquire));
                // The edge may be gone by now: NotFound is an answer too.
                match t.with_edge(e, |r| t.vertex_property(r.source, "x")) {
                    Ok(inner) => assert_eq!(inner?, Some(1.into())),
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                reads += 1;
            }
            Ok(reads)
        });
        writer.join().expect("writer thread")?;
        let reads = reader.join().expect("reader thread")?;
        assert!(reads > 0, "the reader ran");
        Ok(())
    })?;
    drop(watchdog);
    Ok(())
}
