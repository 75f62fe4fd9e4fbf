//! Crash test: a child process commits on two threads with `EveryCommit` and reports
//! each acknowledged commit; the parent kills it with SIGKILL at pseudo-random
//! moments, reopens the database and checks:
//! - every acknowledged transaction is there, exactly: its vertex and (after the first
//!   of its thread in a run) its PREV edge to the thread's previous vertex;
//! - no transaction is half there: every vertex that names a previous one has exactly
//!   that one PREV edge, every other vertex none (an unacknowledged transaction may
//!   be there, whole, if the kill came between its commit and its report);
//! - no edge dangles and no id is handed out twice, also among CHURN edges, which
//!   one thread creates between vertices another thread detach-deletes meanwhile;
//! - the schema (a third thread creates and drops an index, a uniqueness constraint
//!   and a trigger in turn) is the one of the acknowledged operations, its index
//!   answers like a scan and its constraint holds.
//!
//! A panic in any of the child's threads ends the child at once, and the cycle fails.
//! Most cycles start the kill timer only after the child's first acknowledgement (a
//! cycle that acknowledges nothing within 60 s fails); every eighth kills at a random
//! moment from the start, which may fall inside creation or recovery.
//!
//! Short form (CI): 20 cycles. Long form: `QUIVER_CRASH_CYCLES=500 cargo test -p
//! engine-ondisk --test crash`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use conformance::crash::{KillableChild, abort_on_panic};
use engine_api::{Direction, PropertyValue, StorageEngine, SyncMode, Transaction, TxnOptions};
use engine_ondisk::{Config, OnDiskEngine};

const CHILD_ENV: &str = "QUIVER_ONDISK_CRASH_CHILD_DIR";
const SCHEMA: conformance::crash::SchemaChurn = conformance::crash::SchemaChurn {
    label: "Acked",
    index_key: "n",
    unique_keys: &["n"],
};

fn open(dir: &Path) -> OnDiskEngine {
    OnDiskEngine::open(
        Config::new(dir).durability(Config::default_durability().sync_mode(SyncMode::EveryCommit)),
    )
    .expect("open")
}

fn child(dir: &Path) {
    abort_on_panic();
    let engine = open(dir);
    let start: i64 = std::env::var("QUIVER_ONDISK_CRASH_START")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let first_op: u64 = std::env::var("QUIVER_ONDISK_CRASH_SCHEMA")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    println!("ready");
    let churn = std::sync::Mutex::new(Vec::<engine_api::VertexId>::new());
    std::thread::scope(|s| {
        let engine_ref = &engine;
        s.spawn(move || {
            for op in first_op.. {
                std::thread::sleep(Duration::from_millis(3));
                SCHEMA.step(engine_ref, op).expect("schema operation");
                println!("schema {}", op + 1);
            }
        });
        // Churn: one thread links recent CHURN vertices while another detach-deletes
        // them, so edge creation races vertex deletion; after every kill no edge may
        // dangle (the parent checks every CHURN edge's endpoints).
        let churn_ref = &churn;
        s.spawn(move || {
            for i in 0u64.. {
                let mut t = engine_ref.begin(TxnOptions::new()).expect("begin");
                let v = t.create_vertex_with(&["Churn"], &[]).expect("vertex");
                let others: Vec<_> = {
                    let list = churn_ref.lock().expect("churn list");
                    list.iter().rev().take(3).copied().collect()
                };
                let mut linked = Ok(());
                for (k, o) in others.into_iter().enumerate() {
                    let r = if (i + k as u64).is_multiple_of(2) {
                        t.create_edge(v, o, "CHURN")
                    } else {
                        t.create_edge(o, v, "CHURN")
                    };
                    if let Err(e) = r {
                        linked = Err(e);
                        break;
                    }
                }
                match linked.and_then(|()| t.commit().map(drop)) {
                    Ok(()) => churn_ref.lock().expect("churn list").push(v),
                    Err(e) => assert!(
                        matches!(
                            e.kind(),
                            engine_api::ErrorKind::Conflict | engine_api::ErrorKind::NotFound
                        ),
                        "churn link: {e}"
                    ),
                }
            }
        });
        s.spawn(move || {
            loop {
                std::thread::sleep(Duration::from_micros(300));
                let victim = {
                    let mut list = churn_ref.lock().expect("churn list");
                    let n = list.len();
                    if n < 4 {
                        continue;
                    }
                    list.remove(n - 2)
                };
                let deleted = engine_ref.begin(TxnOptions::new()).and_then(|mut t| {
                    t.delete_vertex(victim, engine_api::DeleteMode::Detach)?;
                    t.commit()
                });
                if let Err(e) = deleted {
                    assert!(
                        matches!(
                            e.kind(),
                            engine_api::ErrorKind::Conflict | engine_api::ErrorKind::NotFound
                        ),
                        "churn delete: {e}"
                    );
                }
            }
        });
        for thread in 0..2i64 {
            let engine = &engine;
            s.spawn(move || {
                let mut prev: Option<(i64, engine_api::VertexId)> = None;
                for i in 0.. {
                    let n = start + i * 2 + thread;
                    let mut t = engine.begin(TxnOptions::new()).expect("begin");
                    let mut props = vec![("n", PropertyValue::Int(n))];
                    if let Some((pn, _)) = prev {
                        props.push(("prev", PropertyValue::Int(pn)));
                    }
                    let v = t.create_vertex_with(&["Acked"], &props).expect("vertex");
                    let edge = match prev {
                        Some((_, p)) => t.create_edge(v, p, "PREV").expect("edge").to_string(),
                        None => "-".to_string(),
                    };
                    t.commit().expect("commit");
                    prev = Some((n, v));
                    println!("ack {n} {} {edge}", v.0);
                }
            });
        }
    });
}

/// What the recovered database holds: n -> (prev, the n of its PREV edge's target).
fn recovered(engine: &OnDiskEngine, cycle: usize) -> BTreeMap<i64, (Option<i64>, Option<i64>)> {
    let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
    let int = |v: Option<PropertyValue>, what: &str| match v {
        Some(PropertyValue::Int(n)) => Some(n),
        None => None,
        other => panic!("cycle {cycle}: {what} = {other:?}"),
    };
    let mut out = BTreeMap::new();
    for v in t.vertices_with_label("Acked").expect("scan") {
        let v = v.expect("vertex");
        let n = int(t.vertex_property(v, "n").expect("n"), "n")
            .unwrap_or_else(|| panic!("cycle {cycle}: vertex {v} has no n"));
        let prev = int(t.vertex_property(v, "prev").expect("prev"), "prev");
        let edges: Vec<_> = t
            .edges(v, Direction::Out, None)
            .expect("edges")
            .collect::<Result<_, _>>()
            .expect("edges");
        assert!(
            edges.len() <= 1,
            "cycle {cycle}: vertex {n} has {} PREV edges",
            edges.len()
        );
        let target = edges.first().map(|e| {
            assert!(
                t.contains_vertex(e.target).expect("target"),
                "cycle {cycle}: the PREV edge of {n} dangles"
            );
            int(t.vertex_property(e.target, "n").expect("n"), "target n")
                .unwrap_or_else(|| panic!("cycle {cycle}: a target without n"))
        });
        for e in t.edges(v, Direction::In, None).expect("edges") {
            let e = e.expect("edge");
            assert!(
                t.contains_vertex(e.source).expect("source"),
                "cycle {cycle}: an edge into {n} dangles"
            );
        }
        assert!(
            out.insert(n, (prev, target)).is_none(),
            "cycle {cycle}: n {n} twice"
        );
    }
    out
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let cycles: usize = std::env::var("QUIVER_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().expect("tmp");
    let exe = std::env::current_exe().expect("exe");
    // Every acknowledged transaction: n -> whether it created a PREV edge.
    let mut acked: BTreeMap<i64, bool> = BTreeMap::new();
    let mut ids: BTreeSet<u64> = BTreeSet::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let started = Instant::now();
    let mut next_n = 0i64;
    let mut schema_ops = 0u64;
    let mut waited_cycles = 0;
    let mut churn_checked = 0u64;
    for cycle in 0..cycles {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut command = Command::new(&exe);
        command
            .env(CHILD_ENV, dir.path())
            .env("QUIVER_ONDISK_CRASH_START", next_n.to_string())
            .env("QUIVER_ONDISK_CRASH_SCHEMA", schema_ops.to_string());
        let mut kid = KillableChild::spawn(command).expect("spawn");
        let delay = Duration::from_millis(30 + seed % 120);
        if cycle % 8 == 7 {
            std::thread::sleep(delay);
        } else {
            assert!(
                kid.wait_for_line(|l| l.starts_with("ack "), Duration::from_secs(60)),
                "cycle {cycle}: the child acknowledged no commit within 60 s (exit: {:?})",
                kid.exited()
            );
            waited_cycles += 1;
            std::thread::sleep(delay / 2);
        }
        let lines = kid.kill().unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
        let mut acked_ops = schema_ops;
        for (i, line) in lines.iter().enumerate() {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts[..] {
                ["schema", done] => acked_ops = done.parse().expect("schema count"),
                ["ack", n, vertex, edge] => {
                    let n: i64 = n.parse().expect("n");
                    let vertex: u64 = vertex.parse().expect("vertex id");
                    assert!(
                        ids.insert(vertex),
                        "cycle {cycle}: vertex id {vertex} handed out twice"
                    );
                    acked.insert(n, edge != "-");
                    next_n = next_n.max(n + 1);
                }
                ["ready"] => {}
                // The kill may cut the last line short; it acknowledges nothing.
                _ if i + 1 == lines.len() => {}
                _ => panic!("cycle {cycle}: unexpected line from the child: {line:?}"),
            }
        }
        next_n += 2;
        let engine = open(dir.path());
        schema_ops = SCHEMA.check(&engine, acked_ops).expect("schema check");
        let present = recovered(&engine, cycle);
        for (n, (prev, target)) in &present {
            // Whole or absent: a vertex that names a previous one has that PREV edge.
            assert_eq!(
                prev, target,
                "cycle {cycle}: transaction {n} is half there (prev {prev:?}, edge to {target:?})"
            );
        }
        {
            let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
            let mut churn_edges = 0;
            for e in t.edges_with_type("CHURN", None).expect("churn edges") {
                let e = e.expect("churn edge");
                for end in [e.source, e.target] {
                    assert!(
                        t.contains_vertex(end).expect("endpoint"),
                        "cycle {cycle}: CHURN edge {} dangles: vertex {end} is gone",
                        e.id
                    );
                }
                churn_edges += 1;
            }
            churn_checked += churn_edges;
            // The kept counts are exact after the kill: they commit with the data.
            let stats = engine.stats().expect("stats");
            let counted = (
                t.vertex_count().expect("count"),
                t.edge_count().expect("count"),
            );
            assert_eq!(
                (stats.vertices, stats.edges),
                counted,
                "cycle {cycle}: stats() disagree with a scan after SIGKILL"
            );
        }
        for (n, had_edge) in &acked {
            let Some((prev, _)) = present.get(n) else {
                panic!("cycle {cycle}: acknowledged transaction {n} is missing after SIGKILL");
            };
            assert_eq!(
                prev.is_some(),
                *had_edge,
                "cycle {cycle}: acknowledged transaction {n} is not as committed"
            );
        }
        drop(engine);
    }
    assert!(
        acked.len() >= waited_cycles,
        "{} acknowledged commits in {waited_cycles} cycles that waited for one",
        acked.len()
    );
    println!(
        "ondisk crash test: {cycles} cycles, {} acknowledged commits, {schema_ops} schema operations and {churn_checked} CHURN edges (created while their endpoints were being deleted) checked, {:.1} s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}
