//! The child's side of the crash harness: the work it runs until it is killed, and
//! the lines it writes to tell the parent what was acknowledged.
//!
//! Lines (each written whole; a line the kill cut short acknowledges nothing):
//! - `ready`: the database is open;
//! - `ids A B`: vertex ids handed out to a transaction, committed or not;
//! - `ack N TS A B`: transaction N committed at timestamp TS with vertices A and B;
//! - `schema K`: K schema operations are acknowledged (counted from the first ever);
//! - `snapshot TS`: a snapshot of timestamp TS was written;
//! - `unlocked`: a round of lock (or lease) and unlock of the data directory ended.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use engine_api::{
    Capabilities, DeleteMode, ErrorKind, LockStatus, PropertyValue, Result, StorageEngine,
    Transaction, TxnOptions, VertexId,
};

use super::process::abort_on_panic;
use super::schema::SchemaChurn;
use crate::EngineFactory;

/// Accounts money moves between; their total never changes.
pub(super) const ACCOUNTS: i64 = 8;
/// Each account's balance when created.
pub(super) const BALANCE: i64 = 1000;

/// The schema the harness churns: the `Part` vertices' `txn` is indexed and
/// (`txn`, `part`) is unique.
pub(super) fn schema(caps: &Capabilities) -> SchemaChurn {
    SchemaChurn::new(caps, "Part", "txn", &["txn", "part"])
}

/// Writer threads: two where write conflicts are detected, else one (without
/// isolation two transfers would race each other's reads).
pub(super) fn writers(caps: &Capabilities) -> u64 {
    if caps.write_conflict_detection { 2 } else { 1 }
}

/// Where a child continues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Start {
    /// The first transaction number to use.
    pub next_txn: u64,
    /// Schema operations the database already reflects.
    pub schema_ops: u64,
}

impl Start {
    pub(super) fn parse(s: &str) -> Option<Start> {
        let (a, b) = s.split_once(' ')?;
        Some(Start {
            next_txn: a.parse().ok()?,
            schema_ops: b.parse().ok()?,
        })
    }

    pub(super) fn render(&self) -> String {
        format!("{} {}", self.next_txn, self.schema_ops)
    }
}

fn int(v: Option<PropertyValue>) -> i64 {
    match v {
        Some(PropertyValue::Int(i)) => i,
        other => panic!("expected an Int, found {other:?}"),
    }
}

/// Finds the accounts, or creates them if there are none.
fn accounts<E: StorageEngine>(engine: &E) -> Result<Vec<VertexId>> {
    let t = engine.begin(TxnOptions::new())?;
    let found: Vec<VertexId> = t.vertices_with_label("Account")?.collect::<Result<_>>()?;
    drop(t);
    if !found.is_empty() {
        return Ok(found);
    }
    let mut t = engine.begin(TxnOptions::new())?;
    let made = (0..ACCOUNTS)
        .map(|_| t.create_vertex_with(&["Account"], &[("balance", BALANCE.into())]))
        .collect::<Result<_>>()?;
    t.commit()?;
    Ok(made)
}

/// Whether an error is one the workload expects and retries: a conflict, or a
/// `begin` held back by a snapshot for longer than its bound.
fn retry(e: &engine_api::Error) -> bool {
    e.is_retryable() || e.kind() == ErrorKind::Blocked
}

/// A pseudo-random sequence (xorshift), one per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Runs the child's work until it is killed.
pub(super) fn run<F: EngineFactory>(factory: &F, dir: &Path, start: Start) {
    abort_on_panic();
    let engine = factory.open(dir).expect("the child opens the database");
    let caps = engine.capabilities().clone();
    let accounts = accounts(&engine).expect("accounts");
    let next = AtomicU64::new(start.next_txn);
    let churn = Mutex::new(Vec::<VertexId>::new());
    let schema = schema(&caps);
    println!("ready");
    std::thread::scope(|s| {
        let (engine, accounts, next, churn, schema) = (&engine, &accounts, &next, &churn, &schema);
        for thread in 0..writers(&caps) {
            s.spawn(move || write(engine, accounts, next, thread));
        }
        s.spawn(move || link_churn(engine, churn));
        s.spawn(move || delete_churn(engine, churn));
        if caps.data_directory_lock {
            s.spawn(move || lock_and_unlock(engine));
        }
        if caps.wal {
            s.spawn(move || {
                for op in start.schema_ops.. {
                    std::thread::sleep(Duration::from_millis(3));
                    schema.step(engine, op).expect("schema operation");
                    println!("schema {}", op + 1);
                }
            });
            if caps.manual_snapshots {
                s.spawn(move || {
                    let mut rng = Rng(0x5eed_5eed);
                    loop {
                        std::thread::sleep(Duration::from_millis(5 + rng.below(30)));
                        let info = engine.create_snapshot().expect("snapshot");
                        println!("snapshot {}", info.commit_timestamp);
                    }
                });
            }
        } else if caps.manual_snapshots {
            // Without a WAL a snapshot is what makes anything durable: the schema
            // operation and the commits before it are acknowledged when it returns.
            s.spawn(move || {
                let mut rng = Rng(0x5eed_5eed);
                for op in start.schema_ops.. {
                    std::thread::sleep(Duration::from_millis(2 + rng.below(15)));
                    schema.step(engine, op).expect("schema operation");
                    let info = engine.create_snapshot().expect("snapshot");
                    println!("snapshot {}", info.commit_timestamp);
                    println!("schema {}", op + 1);
                }
            });
        }
    });
}

/// One writer: numbered transactions, each two `Part` vertices, a `PAIR` edge and a
/// transfer, retried on a conflict.
fn write<E: StorageEngine>(engine: &E, accounts: &[VertexId], next: &AtomicU64, thread: u64) {
    let mut rng = Rng(thread * 7919 + 17);
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        loop {
            let from = accounts[rng.below(accounts.len() as u64) as usize];
            let to = accounts[rng.below(accounts.len() as u64) as usize];
            let amount = rng.below(50) as i64;
            let attempt = (|| -> Result<(u64, VertexId, VertexId)> {
                let mut t = engine.begin(TxnOptions::new())?;
                let txn = PropertyValue::Int(n as i64);
                let a =
                    t.create_vertex_with(&["Part"], &[("txn", txn.clone()), ("part", 0.into())])?;
                let b =
                    t.create_vertex_with(&["Part"], &[("txn", txn.clone()), ("part", 1.into())])?;
                // Handed out, committed or not: never to be handed out again.
                println!("ids {} {}", a.0, b.0);
                t.create_edge_with(a, b, "PAIR", &[("txn", txn)])?;
                if from != to {
                    let fb = int(t.vertex_property(from, "balance")?);
                    let tb = int(t.vertex_property(to, "balance")?);
                    t.set_vertex_property(from, "balance", (fb - amount).into())?;
                    t.set_vertex_property(to, "balance", (tb + amount).into())?;
                }
                let ts = t.commit()?.commit_timestamp;
                Ok((ts, a, b))
            })();
            match attempt {
                Ok((ts, a, b)) => {
                    println!("ack {n} {ts} {} {}", a.0, b.0);
                    break;
                }
                Err(e) if retry(&e) => continue,
                Err(e) => panic!("a writer's commit failed: {e}"),
            }
        }
    }
}

/// Links each new `Churn` vertex to up to three recent ones (alternating direction);
/// the link fails (and is dropped) when [`delete_churn`] took an endpoint first.
fn link_churn<E: StorageEngine>(engine: &E, churn: &Mutex<Vec<VertexId>>) {
    for i in 0u64.. {
        let linked = (|| -> Result<VertexId> {
            let mut t = engine.begin(TxnOptions::new())?;
            let v = t.create_vertex_with(&["Churn"], &[])?;
            let others: Vec<VertexId> = {
                let list = churn.lock().expect("churn list");
                list.iter().rev().take(3).copied().collect()
            };
            for (k, o) in others.into_iter().enumerate() {
                if (i + k as u64).is_multiple_of(2) {
                    t.create_edge(v, o, "CHURN")?;
                } else {
                    t.create_edge(o, v, "CHURN")?;
                }
            }
            t.commit()?;
            Ok(v)
        })();
        match linked {
            Ok(v) => churn.lock().expect("churn list").push(v),
            Err(e) => assert!(
                retry(&e) || e.kind() == ErrorKind::NotFound,
                "churn link: {e}"
            ),
        }
    }
}

/// Detach-deletes the second newest `Churn` vertex every 300 µs.
fn delete_churn<E: StorageEngine>(engine: &E, churn: &Mutex<Vec<VertexId>>) {
    loop {
        std::thread::sleep(Duration::from_micros(300));
        let victim = {
            let mut list = churn.lock().expect("churn list");
            let n = list.len();
            if n < 4 {
                continue;
            }
            list.remove(n - 2)
        };
        let deleted = engine.begin(TxnOptions::new()).and_then(|mut t| {
            t.delete_vertex(victim, DeleteMode::Detach)?;
            t.commit()
        });
        if let Err(e) = deleted {
            assert!(
                retry(&e) || e.kind() == ErrorKind::NotFound,
                "churn delete: {e}"
            );
        }
    }
}

/// Locks the data directory (every third round through a lease) for a few
/// milliseconds, then unlocks it, over and over.
fn lock_and_unlock<E: StorageEngine>(engine: &E) {
    let mut rng = Rng(0x10c4);
    for round in 0u64.. {
        std::thread::sleep(Duration::from_millis(1 + rng.below(10)));
        let hold = Duration::from_millis(1 + rng.below(20));
        if round % 3 == 2 {
            let lease = engine.data_directory_lease().expect("lease");
            assert_eq!(
                engine.data_directory_lock_status().expect("status"),
                LockStatus::Locked
            );
            std::thread::sleep(hold);
            drop(lease);
        } else {
            engine.lock_data_directory().expect("lock");
            assert_eq!(
                engine.data_directory_lock_status().expect("status"),
                LockStatus::Locked
            );
            std::thread::sleep(hold);
            engine.unlock_data_directory().expect("unlock");
        }
        assert_eq!(
            engine.data_directory_lock_status().expect("status"),
            LockStatus::Unlocked
        );
        println!("unlocked");
    }
}
