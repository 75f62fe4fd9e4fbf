//! Crash test: a child process commits on two threads with `EveryCommit` and reports
//! each acknowledged commit; the parent kills it with SIGKILL at pseudo-random
//! moments, reopens the database and checks that every acknowledged commit is there,
//! that no transaction is half-applied (each creates a vertex and an edge to the
//! previous one of its thread, and both or neither survive), and that no id is handed
//! out twice. A third thread creates and drops an index, a uniqueness constraint and a
//! trigger in turn; the recovered schema must match the acknowledged operations, its
//! index must answer like a scan and its constraint must hold.
//!
//! Short form (CI): 20 cycles. Long form: `QUIVER_CRASH_CYCLES=500 cargo test -p
//! engine-ondisk --test crash`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine_api::{Direction, PropertyValue, StorageEngine, SyncMode, Transaction, TxnOptions};
use engine_ondisk::{Config, OnDiskEngine};

const CHILD_ENV: &str = "QUIVER_ONDISK_CRASH_CHILD_DIR";
const SCHEMA: conformance::crash::SchemaChurn = conformance::crash::SchemaChurn {
    label: "Acked",
    index_key: "n",
    unique_keys: &["n"],
};

fn open(dir: &Path) -> OnDiskEngine {
    OnDiskEngine::open(Config::new(dir).sync_mode(SyncMode::EveryCommit)).expect("open")
}

fn child(dir: &Path) {
    let engine = open(dir);
    let start: i64 = std::env::var("QUIVER_ONDISK_CRASH_START")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let first_op: u64 = std::env::var("QUIVER_ONDISK_CRASH_SCHEMA")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    std::thread::scope(|s| {
        let engine_ref = &engine;
        s.spawn(move || {
            for op in first_op.. {
                std::thread::sleep(Duration::from_millis(3));
                SCHEMA.step(engine_ref, op).expect("schema operation");
                println!("schema {}", op + 1);
            }
        });
        for thread in 0..2i64 {
            let engine = &engine;
            s.spawn(move || {
                let mut prev = None;
                for i in 0.. {
                    let n = start + i * 2 + thread;
                    let mut t = engine.begin(TxnOptions::new()).expect("begin");
                    let v = t
                        .create_vertex_with(&["Acked"], &[("n", PropertyValue::Int(n))])
                        .expect("vertex");
                    if let Some(p) = prev {
                        t.create_edge(v, p, "PREV").expect("edge");
                    }
                    t.commit().expect("commit");
                    prev = Some(v);
                    println!("{n} {}", v.0);
                }
            });
        }
    });
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
    let mut acked: BTreeSet<i64> = BTreeSet::new();
    let mut ids: BTreeSet<u64> = BTreeSet::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let started = Instant::now();
    let mut next_n = 0i64;
    let mut schema_ops = 0u64;
    for cycle in 0..cycles {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut kid = Command::new(&exe)
            .env(CHILD_ENV, dir.path())
            .env("QUIVER_ONDISK_CRASH_START", next_n.to_string())
            .env("QUIVER_ONDISK_CRASH_SCHEMA", schema_ops.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let out = kid.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                lines.push(line);
            }
            lines
        });
        std::thread::sleep(Duration::from_millis(30 + seed % 120));
        kid.kill().expect("SIGKILL");
        kid.wait().expect("wait");
        let lines = reader.join().expect("reader");
        let mut acked_ops = schema_ops;
        for line in &lines {
            if let Some(done) = line.strip_prefix("schema ") {
                acked_ops = done.parse().expect("schema count");
                continue;
            }
            let mut parts = line.split(' ');
            let n: i64 = parts.next().and_then(|s| s.parse().ok()).expect("n");
            let id: u64 = parts.next().and_then(|s| s.parse().ok()).expect("id");
            assert!(ids.insert(id), "cycle {cycle}: id {id} handed out twice");
            acked.insert(n);
            next_n = next_n.max(n + 1);
        }
        next_n += 2;
        let engine = open(dir.path());
        schema_ops = SCHEMA.check(&engine, acked_ops).expect("schema check");
        let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
        let mut present = BTreeSet::new();
        for v in t.vertices_with_label("Acked").expect("scan") {
            let v = v.expect("vertex");
            match t.vertex_property(v, "n").expect("n") {
                Some(PropertyValue::Int(n)) => {
                    present.insert(n);
                }
                other => panic!("cycle {cycle}: vertex {v} has n = {other:?}"),
            }
            let out = t.edges(v, Direction::Out, None).expect("edges").count();
            assert!(out <= 1, "cycle {cycle}: {v} has {out} PREV edges");
            for e in t.edges(v, Direction::Both, None).expect("edges") {
                let e = e.expect("edge");
                assert!(t.contains_vertex(e.source).expect("source"));
                assert!(t.contains_vertex(e.target).expect("target"));
            }
        }
        let missing: Vec<_> = acked.difference(&present).take(5).collect();
        assert!(
            missing.is_empty(),
            "cycle {cycle}: acknowledged commits missing after SIGKILL: {missing:?}"
        );
        drop(t);
        drop(engine);
    }
    println!(
        "ondisk crash test: {cycles} cycles, {} acknowledged commits and {schema_ops} schema operations checked, {:.1} s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}
