//! The parent's side of the crash harness: the cycles, reading what the child
//! acknowledged, and checking the reopened database against it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use engine_api::{
    Capabilities, DeleteMode, Direction, EdgeRecord, LockStatus, PropertyValue, Result,
    StorageEngine, Transaction, TxnOptions, VertexId,
};

use super::process::KillableChild;
use super::workload::{self, ACCOUNTS, BALANCE, Start};
use super::{CHILD_DIR, CHILD_START, CrashSettings};
use crate::EngineFactory;

/// Counts over a whole run, for the summary line.
#[derive(Debug, Default)]
pub(super) struct Totals {
    acked_commits: u64,
    schema_ops: u64,
    snapshots: u64,
    lock_rounds: u64,
    edges_checked: u64,
    directories: u64,
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} acknowledged commits, {} schema operations, {} snapshots, {} lock/unlock rounds and {} edges checked over {} directories",
            self.acked_commits,
            self.schema_ops,
            self.snapshots,
            self.lock_rounds,
            self.edges_checked,
            self.directories
        )
    }
}

/// A transaction the child acknowledged.
#[derive(Debug, Clone, Copy)]
struct Ack {
    n: u64,
    ts: u64,
    parts: (u64, u64),
}

/// What one child wrote before the kill.
#[derive(Debug, Default)]
struct Seen {
    acks: Vec<Ack>,
    handed: Vec<u64>,
    schema_ops: Option<u64>,
    snapshots: Vec<u64>,
    unlocks: u64,
}

impl Seen {
    fn parse(lines: &[String], cycle: u64) -> Seen {
        let mut seen = Seen::default();
        let number = |s: &str| -> u64 {
            s.parse().unwrap_or_else(|_| {
                panic!("cycle {cycle}: {s:?} in a child's line is not a number")
            })
        };
        for (i, line) in lines.iter().enumerate() {
            let words: Vec<&str> = line.split(' ').collect();
            match words[..] {
                ["ready"] => {}
                ["ids", a, b] => seen.handed.extend([number(a), number(b)]),
                ["ack", n, ts, a, b] => seen.acks.push(Ack {
                    n: number(n),
                    ts: number(ts),
                    parts: (number(a), number(b)),
                }),
                ["schema", k] => seen.schema_ops = Some(number(k)),
                ["snapshot", ts] => seen.snapshots.push(number(ts)),
                ["unlocked"] => seen.unlocks += 1,
                // The kill may cut the last line short; it acknowledges nothing.
                _ if i + 1 == lines.len() => {}
                _ => panic!("cycle {cycle}: unexpected line from the child: {line:?}"),
            }
        }
        seen
    }
}

/// What the parent knows about one data directory across its cycles.
#[derive(Debug, Default)]
struct Directory {
    /// Transactions that must be there: every acknowledged one with a WAL; without
    /// one, those the last recovered snapshot held.
    durable: BTreeMap<u64, (u64, u64)>,
    /// Every vertex id a child was handed for a `Part` vertex.
    handed: BTreeSet<u64>,
    start: Start,
}

/// Runs `cycles` cycles and returns the counts.
pub(super) fn run<F: EngineFactory>(factory: &F, settings: &CrashSettings, cycles: u64) -> Totals {
    let exe = std::env::current_exe().expect("the test's own path");
    let mut dir = tempfile::tempdir().expect("a temporary directory");
    let mut state = Directory::default();
    let mut totals = Totals {
        directories: 1,
        ..Totals::default()
    };
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let started = std::time::Instant::now();
    for cycle in 0..cycles {
        if cycle % 25 == 0 && cycle > 0 {
            dir = tempfile::tempdir().expect("a temporary directory");
            state = Directory::default();
            totals.directories += 1;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(30 + seed % 150);
        let lines = run_child(&exe, dir.path(), state.start, run_for, cycle);
        let seen = Seen::parse(&lines, cycle);
        totals.acked_commits += seen.acks.len() as u64;
        totals.snapshots += seen.snapshots.len() as u64;
        totals.lock_rounds += seen.unlocks;
        let before = state.start.schema_ops;
        totals.edges_checked += verify(factory, settings, dir.path(), &mut state, &seen, cycle);
        totals.schema_ops += state.start.schema_ops.saturating_sub(before);
        if (cycle + 1) % 250 == 0 {
            // Long runs say how far they are (standard error: the test output stays
            // one summary line).
            eprintln!(
                "crash harness ({}): {} of {cycles} cycles, {} s",
                settings.backend,
                cycle + 1,
                started.elapsed().as_secs()
            );
        }
    }
    totals
}

/// Runs the child until the kill and returns its lines. Most cycles start the kill
/// timer at the child's first acknowledged commit; every eighth kills `run_for`
/// after the start, which may fall inside recovery.
fn run_child(exe: &Path, dir: &Path, start: Start, run_for: Duration, cycle: u64) -> Vec<String> {
    let mut command = Command::new(exe);
    command.env(CHILD_DIR, dir).env(CHILD_START, start.render());
    let mut child = KillableChild::spawn(command).expect("spawn the child");
    if cycle % 8 == 7 {
        std::thread::sleep(run_for);
    } else {
        assert!(
            child.wait_for_line(|l| l.starts_with("ack "), Duration::from_secs(60)),
            "cycle {cycle}: the child acknowledged no commit within 60 s (exit: {:?})",
            child.exited()
        );
        std::thread::sleep(run_for / 2);
    }
    child
        .kill()
        .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"))
}

fn int(v: Option<PropertyValue>, what: &str, cycle: u64) -> i64 {
    match v {
        Some(PropertyValue::Int(i)) => i,
        other => panic!("cycle {cycle}: {what} is {other:?}, not an Int"),
    }
}

/// The commit timestamp of the snapshot the engine recovered from (0: none).
fn recovered_snapshot<E: StorageEngine>(engine: &E) -> Result<u64> {
    let Some(path) = engine.recovery_report()?.snapshot else {
        return Ok(0);
    };
    let listed = engine.snapshots()?;
    let info = listed.iter().find(|s| s.path == path).unwrap_or_else(|| {
        panic!(
            "recovery names the snapshot {} but the list does not have it",
            path.display()
        )
    });
    Ok(info.commit_timestamp)
}

/// Reopens the database, checks it against what was acknowledged, updates `state`
/// and returns the number of edges checked for dangling endpoints.
fn verify<F: EngineFactory>(
    factory: &F,
    settings: &CrashSettings,
    dir: &Path,
    state: &mut Directory,
    seen: &Seen,
    cycle: u64,
) -> u64 {
    let engine = factory
        .open(dir)
        .unwrap_or_else(|e| panic!("cycle {cycle}: recovery after the kill failed: {e}"));
    let caps: Capabilities = engine.capabilities().clone();
    if caps.data_directory_lock {
        assert_eq!(
            engine.data_directory_lock_status().expect("lock status"),
            LockStatus::Unlocked,
            "cycle {cycle}: the directory opened locked"
        );
    }
    let acked_ops = seen.schema_ops.unwrap_or(state.start.schema_ops);
    state.start.schema_ops = workload::schema(&caps)
        .check(&engine, acked_ops)
        .unwrap_or_else(|e| panic!("cycle {cycle}: schema check: {e}"));
    state.handed.extend(seen.handed.iter().copied());

    let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
    // Every transaction there: n -> its two vertices, whole.
    let mut parts: BTreeMap<u64, Vec<(i64, VertexId)>> = BTreeMap::new();
    for v in t.vertices_with_label("Part").expect("scan") {
        let v = v.expect("scan");
        assert!(
            state.handed.contains(&v.0),
            "cycle {cycle}: Part vertex {v} was never handed out to a transaction"
        );
        let n = int(t.vertex_property(v, "txn").expect("read"), "txn", cycle) as u64;
        let part = int(t.vertex_property(v, "part").expect("read"), "part", cycle);
        parts.entry(n).or_default().push((part, v));
    }
    let mut present: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for (n, mut ps) in parts {
        ps.sort_unstable();
        let [(0, a), (1, b)] = ps[..] else {
            panic!("cycle {cycle}: transaction {n} is half there: {ps:?}");
        };
        let pairs: Vec<EdgeRecord> = t
            .edges(a, Direction::Out, Some("PAIR"))
            .expect("edges")
            .collect::<Result<_>>()
            .expect("edges");
        assert!(
            pairs.len() == 1 && pairs[0].target == b,
            "cycle {cycle}: transaction {n} has the PAIR edges {pairs:?}, expected one to {b}"
        );
        present.insert(n, (a.0, b.0));
    }
    let total: i64 = t
        .vertices_with_label("Account")
        .expect("scan")
        .map(|v| {
            int(
                t.vertex_property(v.expect("scan"), "balance")
                    .expect("read"),
                "balance",
                cycle,
            )
        })
        .sum();
    let accounts = t.vertices_with_label("Account").expect("scan").count() as i64;
    assert!(
        accounts == 0 || accounts == ACCOUNTS,
        "cycle {cycle}: {accounts} accounts"
    );
    assert_eq!(
        total,
        accounts * BALANCE,
        "cycle {cycle}: money appeared or vanished"
    );
    let edges_checked = no_edge_dangles(&t, cycle);
    let stats = engine.stats().expect("stats");
    assert_eq!(
        (stats.vertices, stats.edges),
        (
            t.vertex_count().expect("count"),
            t.edge_count().expect("count")
        ),
        "cycle {cycle}: stats() disagree with a scan after the kill"
    );
    let max_vertex = t
        .vertices()
        .expect("scan")
        .map(|v| v.expect("scan").0)
        .max();
    drop(t);

    let must_have: BTreeMap<u64, (u64, u64)> = if caps.wal {
        // Every acknowledged commit is durable.
        let mut all = std::mem::take(&mut state.durable);
        all.extend(seen.acks.iter().map(|a| (a.n, a.parts)));
        all
    } else {
        // Only a snapshot is: exactly the commits up to the recovered one's timestamp.
        let recovered = recovered_snapshot(&engine).expect("the recovered snapshot");
        if let Some(last) = seen.snapshots.last() {
            assert!(
                recovered >= *last,
                "cycle {cycle}: recovered the snapshot of timestamp {recovered}, older than the acknowledged one of {last}"
            );
        }
        for ack in &seen.acks {
            assert_eq!(
                present.contains_key(&ack.n),
                ack.ts <= recovered,
                "cycle {cycle}: transaction {} committed at {} is {} after recovering the snapshot of timestamp {recovered}",
                ack.n,
                ack.ts,
                if present.contains_key(&ack.n) {
                    "there"
                } else {
                    "missing"
                }
            );
        }
        let mut all = std::mem::take(&mut state.durable);
        all.extend(
            seen.acks
                .iter()
                .filter(|a| a.ts <= recovered)
                .map(|a| (a.n, a.parts)),
        );
        all
    };
    for (n, ids) in &must_have {
        match present.get(n) {
            Some(found) => assert_eq!(
                found, ids,
                "cycle {cycle}: transaction {n} has other vertices than acknowledged"
            ),
            None => panic!("cycle {cycle}: acknowledged transaction {n} is missing after the kill"),
        }
    }

    // No id is handed out again: with a WAL not even one of a transaction that never
    // committed; without one, none of a vertex that is there.
    let taken = if caps.wal {
        state.handed.iter().copied().chain(max_vertex).max()
    } else {
        max_vertex
    };
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let fresh = t.create_vertex().expect("create");
    if let Some(taken) = taken {
        assert!(
            fresh.0 > taken,
            "cycle {cycle}: vertex id {fresh} handed out again (ids up to {taken} are taken)"
        );
    }
    if caps.rollback {
        t.rollback();
    } else {
        t.delete_vertex(fresh, DeleteMode::Plain).expect("delete");
        t.commit().expect("commit");
    }

    if caps.manual_snapshots {
        // Whatever a kill left while deletions were deferred, the next snapshot
        // trims the snapshots to the retention count.
        engine.create_snapshot().expect("snapshot after recovery");
        let kept = engine.snapshots().expect("list").len();
        assert!(
            kept <= settings.snapshot_retention,
            "cycle {cycle}: {kept} snapshots kept after a snapshot, retention is {}",
            settings.snapshot_retention
        );
    }

    let highest = present.keys().chain(seen.acks.iter().map(|a| &a.n)).max();
    state.start.next_txn = state.start.next_txn.max(highest.map_or(0, |n| n + 1));
    state.durable = present;
    engine
        .close()
        .unwrap_or_else(|e| panic!("cycle {cycle}: close: {e}"));
    edges_checked
}

/// Checks that every edge's endpoints exist, from both sides; returns the number of
/// edges seen.
fn no_edge_dangles<T: Transaction>(t: &T, cycle: u64) -> u64 {
    let mut edges = 0;
    for v in t.vertices().expect("scan") {
        let v = v.expect("scan");
        for e in t.edges(v, Direction::Out, None).expect("edges") {
            let e = e.expect("edge");
            assert!(
                t.contains_vertex(e.target).expect("target"),
                "cycle {cycle}: edge {} from {v} dangles: vertex {} is gone",
                e.id,
                e.target
            );
            edges += 1;
        }
        for e in t.edges(v, Direction::In, None).expect("edges") {
            let e = e.expect("edge");
            assert!(
                t.contains_vertex(e.source).expect("source"),
                "cycle {cycle}: edge {} into {v} dangles: vertex {} is gone",
                e.id,
                e.source
            );
        }
    }
    edges
}
