//! Several threads create, delete, connect, label and change vertices and edges at
//! random, with no isolation between them, while an index is built; afterwards the
//! structure's invariants hold: every edge's endpoints exist, adjacency agrees from
//! both ends, label and property indexes equal a scan, counts equal a scan.
//!
//! `QUIVER_STRESS_OPS` sets the operations per thread (default 20000).

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Mutex;

use engine_api::{
    DeleteMode, Direction, EdgeId, ErrorKind, IndexSpec, PropertyBounds, PropertyValue, Result,
    StorageEngine, Transaction, TxnOptions, VertexId,
};
use engine_inmem_analytical::{AnalyticalEngine, Config};

const LABELS: [&str; 3] = ["A", "B", "C"];
const THREADS: u64 = 4;

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn pick<T: Copy>(rng: &mut Rng, from: &Mutex<Vec<T>>) -> Option<T> {
    let v = from.lock().expect("lock");
    if v.is_empty() {
        None
    } else {
        Some(v[rng.next(v.len() as u64) as usize])
    }
}

/// Writes that may race with a delete of the same object: `NotFound` is their
/// legitimate outcome; anything else fails the test.
fn tolerate<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn worker(
    engine: &AnalyticalEngine,
    seed: u64,
    ops: u64,
    vs: &Mutex<Vec<VertexId>>,
    es: &Mutex<Vec<EdgeId>>,
) -> Result<()> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut t = engine.begin(TxnOptions::new())?;
    for i in 0..ops {
        if i % 50 == 49 {
            t.commit()?;
            t = engine.begin(TxnOptions::new())?;
        }
        let label = LABELS[rng.next(3) as usize];
        let value = PropertyValue::Int(rng.next(10) as i64);
        match rng.next(10) {
            0..=2 => {
                let v = t.create_vertex_with(&[label], &[("p", value)])?;
                vs.lock().expect("lock").push(v);
            }
            3 => {
                if let Some(v) = pick(&mut rng, vs) {
                    tolerate(t.delete_vertex(v, DeleteMode::Detach))?;
                }
            }
            4..=5 => {
                if let (Some(a), Some(b)) = (pick(&mut rng, vs), pick(&mut rng, vs))
                    && let Some(e) = tolerate(t.create_edge_with(a, b, "T", &[("w", value)]))?
                {
                    es.lock().expect("lock").push(e);
                }
            }
            6 => {
                if let Some(e) = pick(&mut rng, es) {
                    tolerate(t.delete_edge(e))?;
                }
            }
            7 => {
                if let Some(v) = pick(&mut rng, vs) {
                    if rng.next(2) == 0 {
                        tolerate(t.add_label(v, label))?;
                    } else {
                        tolerate(t.remove_label(v, label))?;
                    }
                }
            }
            8 => {
                if let Some(v) = pick(&mut rng, vs) {
                    let value = if rng.next(5) == 0 {
                        PropertyValue::Null
                    } else {
                        value
                    };
                    tolerate(t.set_vertex_property(v, "p", value))?;
                }
            }
            _ => {
                if let Some(e) = pick(&mut rng, es) {
                    tolerate(t.set_edge_property(e, "w", value))?;
                }
            }
        }
    }
    t.commit()?;
    Ok(())
}

fn ids(it: impl Iterator<Item = Result<VertexId>>) -> Result<Vec<VertexId>> {
    it.collect()
}

fn check_invariants(engine: &AnalyticalEngine) -> Result<()> {
    let t = engine.begin(TxnOptions::new().read_only())?;
    let all = ids(t.vertices()?)?;
    let live: BTreeSet<VertexId> = all.iter().copied().collect();
    let mut out_edges = 0u64;
    for v in &all {
        for e in t.edges(*v, Direction::Out, None)? {
            let e = e?;
            out_edges += 1;
            assert_eq!(t.edge(e.id)?, e, "the edge agrees with its source's list");
            assert!(
                live.contains(&e.target),
                "edge {} has a dangling target",
                e.id
            );
            let incoming: Vec<EdgeId> = t
                .edges(e.target, Direction::In, None)?
                .map(|x| x.map(|x| x.id))
                .collect::<Result<_>>()?;
            assert!(
                incoming.contains(&e.id),
                "edge {} is missing from its target's list",
                e.id
            );
        }
        for e in t.edges(*v, Direction::In, None)? {
            let e = e?;
            assert!(
                live.contains(&e.source),
                "edge {} has a dangling source",
                e.id
            );
            let outgoing: Vec<EdgeId> = t
                .edges(e.source, Direction::Out, None)?
                .map(|x| x.map(|x| x.id))
                .collect::<Result<_>>()?;
            assert!(
                outgoing.contains(&e.id),
                "edge {} is missing from its source's list",
                e.id
            );
        }
    }
    let stats = engine.stats()?;
    assert_eq!(stats.vertices, all.len() as u64, "vertex count vs scan");
    assert_eq!(stats.edges, out_edges, "edge count vs scan");
    let typed = t.edges_with_type("T", None)?.count() as u64;
    assert_eq!(typed, out_edges, "edge type scan vs adjacency");
    for label in LABELS {
        let mut scanned = Vec::new();
        for v in &all {
            if t.has_label(*v, label)? {
                scanned.push(*v);
            }
        }
        assert_eq!(
            ids(t.vertices_with_label(label)?)?,
            scanned,
            "label {label}"
        );
        for n in 0..10 {
            let bounds = PropertyBounds::equal(PropertyValue::Int(n));
            let mut expected = Vec::new();
            for v in &scanned {
                if t.vertex_property(*v, "p")? == Some(PropertyValue::Int(n)) {
                    expected.push(*v);
                }
            }
            assert_eq!(
                ids(t.vertices_with_property(label, "p", &bounds)?)?,
                expected,
                "{label}.p = {n}"
            );
        }
        let range = PropertyBounds::range(Bound::Excluded(3.into()), Bound::Included(7.into()));
        let mut expected = Vec::new();
        for v in &scanned {
            if t.vertex_property(*v, "p")?
                .is_some_and(|p| range.matches(&p))
            {
                expected.push(*v);
            }
        }
        assert_eq!(
            ids(t.vertices_with_property(label, "p", &range)?)?,
            expected
        );
    }
    for info in engine.indexes()? {
        if let IndexSpec::LabelProperties { label, .. } = &info.spec {
            let any = PropertyBounds::any();
            let n = t.vertices_with_property(label, "p", &any)?.count() as u64;
            assert_eq!(info.entries, n, "{} entries", info.spec);
        }
    }
    let w = PropertyBounds::equal(PropertyValue::Int(4));
    let mut expected = Vec::new();
    for e in t.edges_with_type("T", None)? {
        let e = e?;
        if t.edge_property(e.id, "w")? == Some(PropertyValue::Int(4)) {
            expected.push(e.id);
        }
    }
    let got: Vec<EdgeId> = t
        .edges_with_type("T", Some(("w", &w)))?
        .map(|e| e.map(|e| e.id))
        .collect::<Result<_>>()?;
    assert_eq!(got, expected, "edge index vs scan");
    Ok(())
}

#[test]
fn concurrent_random_writers_keep_the_structure_consistent() -> Result<()> {
    let ops: u64 = std::env::var("QUIVER_STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let engine = AnalyticalEngine::open(Config::new())?;
    engine.create_index(&IndexSpec::LabelProperties {
        label: "A".into(),
        properties: vec!["p".into()],
    })?;
    engine.create_index(&IndexSpec::EdgeTypeProperty {
        edge_type: "T".into(),
        property: "w".into(),
    })?;
    let vs = Mutex::new(Vec::new());
    let es = Mutex::new(Vec::new());
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..THREADS)
            .map(|seed| {
                let (engine, vs, es) = (&engine, &vs, &es);
                s.spawn(move || worker(engine, seed + 1, ops, vs, es))
            })
            .collect();
        // An index built while the writers run.
        std::thread::sleep(std::time::Duration::from_millis(5));
        engine.create_index(&IndexSpec::LabelProperties {
            label: "B".into(),
            properties: vec!["p".into()],
        })?;
        for h in handles {
            h.join().expect("a writer panicked")?;
        }
        Ok(())
    })?;
    check_invariants(&engine)?;
    assert!(engine.stats()?.vertices > 0);
    Ok(())
}
