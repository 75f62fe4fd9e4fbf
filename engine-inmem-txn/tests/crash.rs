//! Crash test: a child process commits transactions with `EveryCommit` and reports
//! every acknowledged commit; the parent kills it with SIGKILL at pseudo-random
//! moments (often while a snapshot is being written or the WAL rotates), recovers,
//! and checks:
//! - every acknowledged commit is present;
//! - no transaction is half-applied (each writes two vertices and an edge, and moves
//!   money between accounts whose total never changes);
//! - no id is handed out again, not even one whose transaction never committed;
//! - the schema (a third thread creates and drops an index, a uniqueness constraint
//!   and a trigger in turn) is the one of the acknowledged operations, its index
//!   answers like a scan and its constraint holds.
//!
//! A panic in any of the child's threads ends the child at once, and the cycle fails.
//! Most cycles start the kill timer only after the child's first acknowledgement (a
//! cycle that acknowledges nothing within 60 s fails); every eighth kills at a random
//! moment from the start, which may fall inside recovery.
//!
//! Short form (CI): 100 cycles. Long form: `QUIVER_CRASH_CYCLES=2000 cargo test -p
//! engine-inmem-txn --test crash`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use conformance::crash::{KillableChild, abort_on_panic};
use engine_api::{
    Direction, DurabilityConfig, PropertyValue, StorageEngine, SyncMode, Transaction, TxnOptions,
    VertexId,
};
use engine_inmem_txn::{Config, InMemoryEngine};

const CHILD_ENV: &str = "QUIVER_CRASH_CHILD_DIR";
const SCHEMA_ENV: &str = "QUIVER_CRASH_SCHEMA_START";
const SCHEMA: conformance::crash::SchemaChurn = conformance::crash::SchemaChurn {
    label: "Part",
    index_key: "txn",
    unique_keys: &["txn", "part"],
};
const ACCOUNTS: i64 = 8;
const START: i64 = 1000;

fn config(dir: &Path) -> Config {
    Config::default().data_directory(dir).durability(
        DurabilityConfig::default()
            .sync_mode(SyncMode::EveryCommit)
            .wal_segment_bytes(8 * 1024)
            .snapshot_interval(Some(Duration::from_millis(20)))
            .snapshot_retention(2),
    )
}

fn int(v: Option<PropertyValue>) -> i64 {
    match v {
        Some(PropertyValue::Int(i)) => i,
        other => panic!("expected an Int, found {other:?}"),
    }
}

/// Finds or creates the accounts (idempotent across restarts).
fn accounts(engine: &InMemoryEngine) -> Vec<VertexId> {
    let t = engine.begin(TxnOptions::new()).expect("begin");
    let found: Vec<VertexId> = t
        .vertices_with_label("Account")
        .expect("scan")
        .collect::<Result<_, _>>()
        .expect("scan");
    drop(t);
    if !found.is_empty() {
        return found;
    }
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let made = (0..ACCOUNTS)
        .map(|_| {
            t.create_vertex_with(&["Account"], &[("balance", START.into())])
                .expect("create")
        })
        .collect();
    t.commit().expect("commit");
    made
}

fn child(dir: &Path) {
    abort_on_panic();
    let engine = InMemoryEngine::open(config(dir)).expect("child open");
    let accounts = accounts(&engine);
    let next = AtomicU64::new({
        // Continue numbering after what is already there.
        let t = engine.begin(TxnOptions::new()).expect("begin");
        t.vertices_with_label("Part")
            .expect("scan")
            .map(|v| int(t.vertex_property(v.expect("v"), "txn").expect("read")) as u64 + 1)
            .max()
            .unwrap_or(0)
    });
    let out = std::io::stdout();
    println!("ready");
    let first_op: u64 = std::env::var(SCHEMA_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    std::thread::scope(|s| {
        let (engine_ref, out_ref) = (&engine, &out);
        s.spawn(move || {
            for op in first_op.. {
                std::thread::sleep(Duration::from_millis(3));
                SCHEMA.step(engine_ref, op).expect("schema operation");
                let mut o = out_ref.lock();
                let _ = writeln!(o, "schema {}", op + 1);
                let _ = o.flush();
            }
        });
        for thread in 0..2u64 {
            let (engine, accounts, next, out) = (&engine, &accounts, &next, &out);
            s.spawn(move || {
                let mut seed = thread * 7919 + 17;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    loop {
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        let from = accounts[(seed >> 33) as usize % accounts.len()];
                        let to = accounts[(seed >> 40) as usize % accounts.len()];
                        let amount = (seed >> 50) as i64 % 50;
                        let attempt = (|| -> engine_api::Result<(u64, VertexId, VertexId)> {
                            let mut t = engine.begin(TxnOptions::new())?;
                            let a = t.create_vertex_with(
                                &["Part"],
                                &[("txn", (n as i64).into()), ("part", 0.into())],
                            )?;
                            let b = t.create_vertex_with(
                                &["Part"],
                                &[("txn", (n as i64).into()), ("part", 1.into())],
                            )?;
                            {
                                // Handed out, committed or not: never to be reused.
                                let mut o = out.lock();
                                let _ = writeln!(o, "ids {} {}", a.0, b.0);
                                let _ = o.flush();
                            }
                            t.create_edge_with(a, b, "PAIR", &[("txn", (n as i64).into())])?;
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
                                let mut o = out.lock();
                                let _ = writeln!(o, "ack {n} {ts} {} {}", a.0, b.0);
                                let _ = o.flush();
                                break;
                            }
                            Err(e) if e.is_retryable() => continue,
                            Err(e) => panic!("child commit failed: {e}"),
                        }
                    }
                }
            });
        }
    });
}

struct Acked {
    txns: BTreeSet<u64>,
    /// Schema operations acknowledged so far (counted from the first ever).
    schema_ops: u64,
    /// The highest vertex id the child was handed (committed or not).
    max_vertex: u64,
}

/// Runs the child until the kill. Most cycles start the kill timer only after the
/// child's first acknowledged commit (failing if none comes within 60 s); with
/// `kill_anywhere` the kill comes `run_for` after the start, which may fall inside
/// recovery. A child that exits by itself (a panic in any of its threads aborts it)
/// fails the cycle.
fn run_child(
    exe: &Path,
    dir: &Path,
    run_for: Duration,
    schema_ops: u64,
    kill_anywhere: bool,
) -> Acked {
    let mut command = Command::new(exe);
    command
        .env(CHILD_ENV, dir)
        .env(SCHEMA_ENV, schema_ops.to_string());
    let mut child = KillableChild::spawn(command).expect("spawn child");
    if kill_anywhere {
        std::thread::sleep(run_for);
    } else {
        assert!(
            child.wait_for_line(|l| l.starts_with("ack "), Duration::from_secs(60)),
            "the child acknowledged no commit within 60 s (exit: {:?})",
            child.exited()
        );
        std::thread::sleep(run_for / 2);
    }
    let lines = child.kill().unwrap_or_else(|e| panic!("{e}"));
    let mut acked = Acked {
        txns: BTreeSet::new(),
        schema_ops,
        max_vertex: 0,
    };
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        if parts.len() == 2
            && parts[0] == "schema"
            && let Ok(done) = parts[1].parse::<u64>()
        {
            acked.schema_ops = acked.schema_ops.max(done);
        }
        // A line cut by the kill is not an acknowledgement.
        if parts.len() == 5 && parts[0] == "ack" {
            let n: u64 = parts[1].parse().expect("n");
            acked.txns.insert(n);
        }
        if parts.len() == 3 && parts[0] == "ids" {
            for p in &parts[1..] {
                if let Ok(id) = p.parse::<u64>() {
                    acked.max_vertex = acked.max_vertex.max(id);
                }
            }
        }
    }
    acked
}

/// Checks the recovered database; returns the transactions in it and the number of
/// schema operations it reflects.
fn verify(dir: &Path, acked: &Acked, all_acked: &BTreeSet<u64>) -> (usize, u64) {
    let engine = InMemoryEngine::open(config(dir)).expect("recovery after kill");
    let schema_ops = SCHEMA
        .check(&engine, acked.schema_ops)
        .expect("schema check");
    let t = engine.begin(TxnOptions::new()).expect("begin");
    let mut parts: BTreeMap<u64, Vec<(i64, VertexId)>> = BTreeMap::new();
    for v in t.vertices_with_label("Part").expect("scan") {
        let v = v.expect("v");
        let n = int(t.vertex_property(v, "txn").expect("read")) as u64;
        let part = int(t.vertex_property(v, "part").expect("read"));
        parts.entry(n).or_default().push((part, v));
    }
    for (n, ps) in &parts {
        assert_eq!(ps.len(), 2, "transaction {n} is half-applied: {ps:?}");
        let a = ps.iter().find(|(p, _)| *p == 0).expect("part 0").1;
        let edges: Vec<_> = t
            .edges(a, Direction::Out, Some("PAIR"))
            .expect("edges")
            .collect::<Result<_, _>>()
            .expect("edges");
        assert_eq!(edges.len(), 1, "transaction {n} lost its edge");
    }
    for n in all_acked {
        assert!(
            parts.contains_key(n),
            "acknowledged transaction {n} is missing"
        );
    }
    let total: i64 = t
        .vertices_with_label("Account")
        .expect("scan")
        .map(|v| int(t.vertex_property(v.expect("v"), "balance").expect("read")))
        .sum();
    assert_eq!(total, ACCOUNTS * START, "money appeared or vanished");
    drop(t);
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let fresh = t.create_vertex().expect("create");
    assert!(
        fresh.0 > acked.max_vertex,
        "vertex id {} handed out again (the child was handed ids up to {})",
        fresh.0,
        acked.max_vertex
    );
    t.rollback();
    (parts.len(), schema_ops)
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let cycles: u64 = std::env::var("QUIVER_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let exe = std::env::current_exe().expect("own path");
    let started = Instant::now();
    let mut dir = tempfile::tempdir().expect("tempdir");
    let mut all_acked = BTreeSet::new();
    let mut seed: u64 = 0x5eed;
    let (mut total_acked, mut recovered) = (0usize, 0usize);
    let (mut schema_ops, mut total_schema_ops) = (0u64, 0u64);
    let mut waited_cycles = 0usize;
    for cycle in 0..cycles {
        // A fresh directory now and then keeps recovery times short.
        if cycle % 25 == 0 && cycle > 0 {
            dir = tempfile::tempdir().expect("tempdir");
            all_acked.clear();
            schema_ops = 0;
        }
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1442695040888963407);
        let run_for = Duration::from_millis(30 + (seed >> 33) % 150);
        let kill_anywhere = cycle % 8 == 7;
        let acked = run_child(&exe, dir.path(), run_for, schema_ops, kill_anywhere);
        waited_cycles += usize::from(!kill_anywhere);
        total_acked += acked.txns.len();
        total_schema_ops += acked.schema_ops - schema_ops;
        all_acked.extend(acked.txns.iter().copied());
        (recovered, schema_ops) = verify(dir.path(), &acked, &all_acked);
    }
    assert!(
        total_acked >= waited_cycles,
        "{total_acked} acknowledged commits in {waited_cycles} cycles that waited for one"
    );
    println!(
        "crash test: {cycles} kill -9 cycles passed, {total_acked} acknowledged commits and {total_schema_ops} schema operations checked, {recovered} transactions in the last database, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
