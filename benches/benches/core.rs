//! Criterion benches of the core operations of each backend, on a 10k-vertex graph.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use engine_api::{Direction, StorageEngine, Transaction, TxnOptions, VertexId};
use engine_inmem_txn::{Config, InMemoryEngine};
use quiver_benches::workload::Rng;

fn graph() -> (InMemoryEngine, Vec<VertexId>) {
    let engine = InMemoryEngine::open(Config::default()).expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let ids: Vec<VertexId> = (0..10_000)
        .map(|i| {
            t.create_vertex_with(&["Person"], &[("name", format!("p{i}").into())])
                .expect("create")
        })
        .collect();
    let mut rng = Rng::new(3);
    for _ in 0..50_000 {
        let (a, b) = (ids[rng.below(ids.len())], ids[rng.below(ids.len())]);
        t.create_edge(a, b, "KNOWS").expect("edge");
    }
    t.commit().expect("commit");
    (engine, ids)
}

fn inmem_txn(c: &mut Criterion) {
    let (engine, ids) = graph();
    let mut rng = Rng::new(9);
    let mut g = c.benchmark_group("inmem-txn");
    g.bench_function("point read (property) in an open txn", |b| {
        let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
        b.iter(|| {
            t.vertex_property(ids[rng.below(ids.len())], "name")
                .expect("read")
        })
    });
    g.bench_function("begin + commit read-only txn", |b| {
        b.iter(|| {
            engine
                .begin(TxnOptions::new().read_only())
                .expect("begin")
                .commit()
        })
    });
    g.bench_function("1-hop expansion", |b| {
        let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
        b.iter(|| {
            t.edges(ids[rng.below(ids.len())], Direction::Out, None)
                .expect("edges")
                .count()
        })
    });
    g.bench_function("create vertex + edge txn", |b| {
        b.iter_batched(
            || ids[rng.below(ids.len())],
            |target| {
                let mut t = engine.begin(TxnOptions::new()).expect("begin");
                let v = t.create_vertex_with(&["Person"], &[]).expect("create");
                t.create_edge(v, target, "KNOWS").expect("edge");
                t.commit().expect("commit")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, inmem_txn);
criterion_main!(benches);
