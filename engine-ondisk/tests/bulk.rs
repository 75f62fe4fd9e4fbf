//! The bulk path (`OnDiskEngine::create_from_image`): the database it makes holds
//! exactly the image, and a kill -9 at each of its steps leaves either an empty
//! database or the whole one.
//!
//! Its own `main` runs parent and child: the parent builds a source database once,
//! then for each step starts a child that bulk-creates a copy of it, watches the
//! copy's directory until the step shows (the bulk files being written, the sorted
//! families being written, the files ingested but the database not yet marked
//! ready, done), kills the child with SIGKILL there, and opens what is left.

use engine_api::ImageEngine;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use engine_api::{
    ConstraintSpec, Direction, IndexSpec, PropertyBounds, PropertyValue, StorageEngine,
    Transaction, TxnOptions, VertexId,
};
use engine_ondisk::{Config, OnDiskEngine};

const CHILD: &str = "QUIVER_BULK_CHILD";
const VERTICES: u64 = 30_000;
const EDGES: u64 = 150_000;

fn config(dir: &Path) -> Config {
    Config::new(dir)
}

/// The source: vertices with labels and properties, edges with a property, an
/// index, a uniqueness constraint, and a deleted vertex (so ids have a hole).
fn build_source(dir: &Path) {
    let e = OnDiskEngine::open(config(dir)).expect("bulk test: an engine or file call failed");
    let mut ids = Vec::new();
    for chunk in 0..(VERTICES / 10_000) {
        let mut t = e
            .begin(TxnOptions::new())
            .expect("bulk test: an engine or file call failed");
        for i in chunk * 10_000..(chunk + 1) * 10_000 {
            let labels: &[&str] = if i % 2 == 0 {
                &["Person", "Admin"]
            } else {
                &["Person"]
            };
            let props = [
                ("id", PropertyValue::Int(i as i64)),
                ("name", PropertyValue::String(format!("p{i}"))),
            ];
            ids.push(
                t.create_vertex_with(labels, &props)
                    .expect("bulk test: an engine or file call failed"),
            );
        }
        t.commit()
            .expect("bulk test: an engine or file call failed");
    }
    for chunk in 0..(EDGES / 10_000) {
        let mut t = e
            .begin(TxnOptions::new())
            .expect("bulk test: an engine or file call failed");
        for j in chunk * 10_000..(chunk + 1) * 10_000 {
            let s = ids[(j * 7919 % VERTICES) as usize];
            let d = ids[(j * 104_729 % VERTICES) as usize];
            t.create_edge_with(s, d, "KNOWS", &[("w", PropertyValue::Int(j as i64))])
                .expect("bulk test: an engine or file call failed");
        }
        t.commit()
            .expect("bulk test: an engine or file call failed");
    }
    let mut t = e
        .begin(TxnOptions::new())
        .expect("bulk test: an engine or file call failed");
    t.delete_vertex(ids[1], engine_api::DeleteMode::Detach)
        .expect("bulk test: an engine or file call failed");
    t.commit()
        .expect("bulk test: an engine or file call failed");
    e.create_index(&IndexSpec::LabelProperties {
        label: "Person".into(),
        properties: vec!["id".into()],
    })
    .expect("bulk test: an engine or file call failed");
    e.create_constraint(&ConstraintSpec::Unique {
        label: "Person".into(),
        properties: vec!["id".into()],
    })
    .expect("bulk test: an engine or file call failed");
    e.close().expect("bulk test: an engine or file call failed");
}

/// Everything a reader can see of a database, as comparable text: counts, schema,
/// every vertex with labels and properties, every edge from both ends' adjacency.
fn contents(e: &OnDiskEngine) -> Vec<String> {
    let t = e
        .begin(TxnOptions::new().read_only())
        .expect("bulk test: an engine or file call failed");
    let stats = e.stats().expect("bulk test: an engine or file call failed");
    let mut out = vec![format!("counts {} {}", stats.vertices, stats.edges)];
    out.push(format!(
        "indexes {:?}",
        e.indexes()
            .expect("bulk test: an engine or file call failed")
    ));
    out.push(format!(
        "constraints {:?}",
        e.constraints()
            .expect("bulk test: an engine or file call failed")
    ));
    for v in t
        .vertices()
        .expect("bulk test: an engine or file call failed")
    {
        let v = v.expect("bulk test: an engine or file call failed");
        let mut labels = t
            .vertex_labels(v)
            .expect("bulk test: an engine or file call failed");
        labels.sort();
        out.push(format!(
            "v {v} {labels:?} {:?}",
            t.vertex_properties(v)
                .expect("bulk test: an engine or file call failed")
        ));
        for dir in [Direction::Out, Direction::In] {
            let mut es: Vec<String> = t
                .edges(v, dir, None)
                .expect("bulk test: an engine or file call failed")
                .map(|e| {
                    let e = e.expect("bulk test: an engine or file call failed");
                    let w = t
                        .edge_property(e.id, "w")
                        .expect("bulk test: an engine or file call failed");
                    format!("{} {}->{} {} {w:?}", e.id, e.source, e.target, e.edge_type)
                })
                .collect();
            es.sort();
            out.push(format!("  {dir:?} {es:?}"));
        }
    }
    out
}

/// The first line where `got` differs from `want`, if any (the whole listing is
/// megabytes).
fn first_difference(got: &[String], want: &[String]) -> Option<String> {
    if let Some(i) = (0..got.len().min(want.len())).find(|i| got[*i] != want[*i]) {
        return Some(format!("line {i}: {:?}, expected {:?}", got[i], want[i]));
    }
    (got.len() != want.len()).then(|| format!("{} lines, expected {}", got.len(), want.len()))
}

fn child(source: &Path, target: &Path) {
    let src = OnDiskEngine::open(config(source)).expect("bulk test: an engine or file call failed");
    let copy = OnDiskEngine::create_from_image(config(target), &mut |sink| src.export(sink))
        .expect("bulk test: an engine or file call failed");
    copy.close()
        .expect("bulk test: an engine or file call failed");
    src.close()
        .expect("bulk test: an engine or file call failed");
}

/// The steps a kill is aimed at, each named by what the target directory shows.
const STEPS: [&str; 5] = [
    "creation begun",
    "bulk files being written",
    "sorted families being written",
    "ingested, not yet ready",
    "done",
];

fn at_step(target: &Path, step: usize) -> bool {
    let rocks = target.join("rocksdb");
    let bulk = rocks.join(".quiver-bulk");
    let creating = rocks.join(".quiver.creating").exists();
    match step {
        0 => creating,
        1 => bulk.join("vertices.sst").exists(),
        2 => bulk.join("out.sst").exists() || bulk.join("in.sst").exists(),
        3 => creating && !bulk.exists() && rocks.join("CURRENT").exists(),
        _ => !creating && rocks.join("CURRENT").exists(),
    }
}

fn main() {
    if let (Some(source), Some(target)) = (
        std::env::var_os(CHILD),
        std::env::var_os("QUIVER_BULK_TARGET"),
    ) {
        child(Path::new(&source), Path::new(&target));
        return;
    }
    let work = tempfile::tempdir().expect("bulk test: an engine or file call failed");
    let source = work.path().join("source");
    build_source(&source);
    let expected = {
        let e =
            OnDiskEngine::open(config(&source)).expect("bulk test: an engine or file call failed");
        let c = contents(&e);
        e.close().expect("bulk test: an engine or file call failed");
        c
    };
    // Unkilled: the copy is the source, and new ids continue after the source's.
    let whole = work.path().join("whole");
    child(&source, &whole);
    {
        let e =
            OnDiskEngine::open(config(&whole)).expect("bulk test: an engine or file call failed");
        if let Some(d) = first_difference(&contents(&e), &expected) {
            panic!("the bulk copy differs from its source: {d}");
        }
        let t = e
            .begin(TxnOptions::new().read_only())
            .expect("bulk test: an engine or file call failed");
        let found: Vec<VertexId> = t
            .vertices_with_property(
                "Person",
                "id",
                &PropertyBounds::equal(PropertyValue::Int(4)),
            )
            .expect("bulk test: an engine or file call failed")
            .map(|v| v.expect("bulk test: an engine or file call failed"))
            .collect();
        assert_eq!(found.len(), 1, "the index finds the vertex");
        drop(t);
        let mut t = e
            .begin(TxnOptions::new())
            .expect("bulk test: an engine or file call failed");
        let dup = t
            .create_vertex_with(&["Person"], &[("id", PropertyValue::Int(4))])
            .and_then(|_| t.commit().map(|_| ()));
        assert!(dup.is_err(), "the uniqueness constraint holds in the copy");
        let mut t = e
            .begin(TxnOptions::new())
            .expect("bulk test: an engine or file call failed");
        let v = t
            .create_vertex()
            .expect("bulk test: an engine or file call failed");
        assert!(v.0 >= VERTICES, "new ids follow the source's ({v})");
        t.commit()
            .expect("bulk test: an engine or file call failed");
        e.close().expect("bulk test: an engine or file call failed");
    }
    let exe = std::env::current_exe().expect("bulk test: an engine or file call failed");
    let mut hit = Vec::new();
    for (step, name) in STEPS.iter().enumerate() {
        let target: PathBuf = work.path().join(format!("kill-{step}"));
        let mut c = Command::new(&exe)
            .env(CHILD, &source)
            .env("QUIVER_BULK_TARGET", &target)
            .spawn()
            .expect("bulk test: an engine or file call failed");
        let started = Instant::now();
        let mut alive_at_step = false;
        loop {
            if at_step(&target, step) {
                alive_at_step = c
                    .try_wait()
                    .expect("bulk test: an engine or file call failed")
                    .is_none();
                break;
            }
            if c.try_wait()
                .expect("bulk test: an engine or file call failed")
                .is_some()
                || started.elapsed() > Duration::from_secs(120)
            {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = c.kill();
        let status = c.wait().expect("bulk test: an engine or file call failed");
        if alive_at_step {
            hit.push(*name);
        }
        let e =
            OnDiskEngine::open(config(&target)).expect("bulk test: an engine or file call failed");
        let got = contents(&e);
        let empty = got[0] == "counts 0 0" && got.len() == 3 && got[1] == "indexes []";
        if !empty && let Some(d) = first_difference(&got, &expected) {
            panic!("killed at {name:?} ({status}): the database is neither empty nor whole: {d}");
        }
        println!(
            "bulk: killed at {name:?} (child alive there: {alive_at_step}): {}",
            if empty { "empty" } else { "whole" }
        );
        e.close().expect("bulk test: an engine or file call failed");
    }
    assert!(
        hit.len() >= 3,
        "too few steps were caught with the child alive ({hit:?}): the image is too small for this machine"
    );
    println!(
        "bulk: a kill at {} steps left an empty or a whole database",
        hit.len()
    );
}
