//! Criterion benches of the core operations of every backend (engine-inmem-txn
//! memory-only, engine-ondisk with sync off), on a 10k-vertex, 50k-edge graph, through
//! the `StorageEngine` contract only: one generic function, one group per backend.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use engine_api::{Direction, StorageEngine, SyncMode, Transaction, TxnOptions, VertexId};
use engine_inmem_analytical::AnalyticalEngine;
use engine_inmem_txn::InMemoryEngine;
use engine_ondisk::OnDiskEngine;
use quiver_benches::workload::Rng;

fn graph<E: StorageEngine>(engine: &E) -> Vec<VertexId> {
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
    ids
}

fn core_ops<E: StorageEngine>(c: &mut Criterion, name: &str, engine: &E) {
    let ids = graph(engine);
    let mut rng = Rng::new(9);
    let mut g = c.benchmark_group(name);
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

fn inmem_txn(c: &mut Criterion) {
    let engine = InMemoryEngine::open(engine_inmem_txn::Config::default()).expect("open");
    core_ops(c, "inmem-txn", &engine);
}

fn inmem_analytical(c: &mut Criterion) {
    let engine = AnalyticalEngine::open(engine_inmem_analytical::Config::default()).expect("open");
    core_ops(c, "inmem-analytical", &engine);
}

fn ondisk(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = OnDiskEngine::open(
        engine_ondisk::Config::new(dir.path())
            .durability(engine_ondisk::Config::default_durability().sync_mode(SyncMode::Off)),
    )
    .expect("open");
    core_ops(c, "ondisk", &engine);
}

criterion_group!(benches, inmem_txn, inmem_analytical, ondisk);
criterion_main!(benches);
