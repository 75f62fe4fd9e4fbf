//! Snapshots encoded on several threads and loaded with several linking threads hold
//! and recover exactly what one thread writes and loads: the same objects, and every
//! adjacency list in the same (edge id) order. A snapshot whose edge names a missing
//! vertex is refused with `Corrupt` on either path.

use std::path::Path;

use durability::{DatabaseId, SnapshotWriter};
use engine_api::{
    Direction, DurabilityConfig, EdgeRecord, ErrorKind, PropertyValue, StorageEngine, SyncMode,
    Transaction, TxnOptions, VertexId,
};
use engine_inmem_txn::{Config, InMemoryEngine};

fn config(dir: &Path) -> Config {
    Config::default().data_directory(dir).durability(
        DurabilityConfig::default()
            .sync_mode(SyncMode::Off)
            .snapshot_interval(None)
            .snapshot_on_exit(false),
    )
}

/// Every vertex's labels, properties and both adjacency lists (in the order the
/// engine keeps them, or `sorted`), and every edge's properties.
fn image(engine: &InMemoryEngine, sorted: bool) -> Vec<String> {
    let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
    let mut out = Vec::new();
    for v in t.vertices().expect("scan") {
        let v = v.expect("vertex");
        let mut labels = t.vertex_labels(v).expect("labels");
        labels.sort();
        let list = |d| -> Vec<EdgeRecord> {
            let mut l: Vec<EdgeRecord> = t
                .edges(v, d, None)
                .expect("edges")
                .collect::<Result<_, _>>()
                .expect("edges");
            if sorted {
                l.sort_by_key(|e| e.id);
            }
            l
        };
        out.push(format!(
            "{v} {labels:?} {:?} out {:?} in {:?}",
            t.vertex_properties(v).expect("props"),
            list(Direction::Out),
            list(Direction::In)
        ));
    }
    let mut edges = Vec::new();
    for v in t.vertices().expect("scan") {
        for e in t.edges(v.expect("v"), Direction::Out, None).expect("edges") {
            let e = e.expect("edge");
            edges.push((e.id, t.edge_properties(e.id).expect("props")));
        }
    }
    edges.sort_by_key(|(id, _)| *id);
    out.extend(edges.into_iter().map(|(id, p)| format!("{id} {p:?}")));
    out
}

/// A graph spanning several of the writer's id ranges (16 384 ids each) and many of
/// the linkers' 64-id vertex ranges, with self-loops, parallel edges and deleted
/// objects (holes in both id sequences).
fn build(engine: &InMemoryEngine) {
    let mut rng = 7u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let vs: Vec<VertexId> = (0..20_000)
        .map(|i| {
            let labels: &[&str] = if i % 3 == 0 { &["A", "B"] } else { &["A"] };
            t.create_vertex_with(labels, &[("i", PropertyValue::Int(i))])
                .expect("vertex")
        })
        .collect();
    for i in 0..40_000 {
        let s = vs[next(vs.len() as u64) as usize];
        let d = if i % 50 == 0 {
            s
        } else {
            vs[next(vs.len() as u64) as usize]
        };
        t.create_edge_with(s, d, "E", &[("w", PropertyValue::Int(i))])
            .expect("edge");
    }
    t.commit().expect("commit");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    for v in vs.iter().step_by(97) {
        t.delete_vertex(*v, engine_api::DeleteMode::Detach)
            .expect("delete");
    }
    t.commit().expect("commit");
}

#[test]
fn several_threads_write_and_load_the_image_one_thread_does() {
    let source = tempfile::tempdir().expect("tmp");
    let engine = InMemoryEngine::open(config(source.path())).expect("open");
    build(&engine);
    // A live engine's lists are in no particular order after deletes; a load puts
    // them in edge id order, whichever path it takes.
    let live = image(&engine, true);
    drop(engine);
    let mut first_load: Option<Vec<String>> = None;
    for (write_threads, load_threads) in [(1, 1), (3, 1), (1, 3), (2, 2)] {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let engine = InMemoryEngine::open(
                config(source.path())
                    .snapshot_threads(write_threads)
                    .recovery_threads(1),
            )
            .expect("open");
            let info = engine.create_snapshot().expect("snapshot");
            std::fs::create_dir_all(dir.path().join("snapshots")).expect("mkdir");
            let name = info.path.file_name().expect("name");
            std::fs::copy(&info.path, dir.path().join("snapshots").join(name)).expect("copy");
        }
        let engine = InMemoryEngine::open(config(dir.path()).recovery_threads(load_threads))
            .expect("recover from the snapshot alone");
        let what = format!("written on {write_threads} thread(s), loaded on {load_threads}");
        let got = image(&engine, true);
        if let Some(i) = (0..live.len().min(got.len())).find(|i| live[*i] != got[*i]) {
            panic!("{what}: the data differs at {i}:\n{}\n{}", live[i], got[i]);
        }
        assert_eq!(live.len(), got.len(), "{what}: the data differs");
        let exact = image(&engine, false);
        assert!(
            exact == image(&engine, true),
            "{what}: an adjacency list is not in edge id order"
        );
        match &first_load {
            None => first_load = Some(exact),
            Some(first) => assert!(*first == exact, "{what}: differs from one thread's load"),
        }
    }
}

#[test]
fn an_edge_to_a_missing_vertex_is_corrupt_on_every_load_path() {
    for threads in [1, 2] {
        let dir = tempfile::tempdir().expect("tmp");
        let snapshots = dir.path().join("snapshots");
        std::fs::create_dir_all(&snapshots).expect("mkdir");
        let mut w = SnapshotWriter::create(&snapshots, 1, 5, DatabaseId::random()).expect("create");
        w.names(durability::NameKind::EdgeType, [(0, "E")])
            .expect("names");
        w.counters(200, 2).expect("counters");
        for id in 0..100 {
            w.vertex(id, &[], &[]).expect("vertex");
        }
        w.edge(0, 0, 1, 2, &[]).expect("edge");
        // Vertex 150 is not in the file; it is owned by another linker than 1 or 2.
        w.edge(1, 0, 3, 150, &[]).expect("edge");
        w.finish().expect("finish");
        let err = InMemoryEngine::open(config(dir.path()).recovery_threads(threads))
            .expect_err("an edge to a missing vertex");
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{threads} thread(s): {err}");
        assert!(
            err.message()
                .contains("edge 1 references missing vertex 150"),
            "{threads} thread(s): {err}"
        );
    }
}

#[test]
fn a_vertex_after_the_edges_is_corrupt_on_every_load_path() {
    for threads in [1, 2] {
        let dir = tempfile::tempdir().expect("tmp");
        let snapshots = dir.path().join("snapshots");
        std::fs::create_dir_all(&snapshots).expect("mkdir");
        let mut w = SnapshotWriter::create(&snapshots, 1, 5, DatabaseId::random()).expect("create");
        w.names(durability::NameKind::EdgeType, [(0, "E")])
            .expect("names");
        w.counters(2, 1).expect("counters");
        w.vertex(0, &[], &[]).expect("vertex");
        w.edge(0, 0, 0, 1, &[]).expect("edge");
        // Its endpoint comes too late: a linker may not have reached the edge yet,
        // so the loader itself must refuse the order.
        w.vertex(1, &[], &[]).expect("vertex");
        w.finish().expect("finish");
        let err = InMemoryEngine::open(config(dir.path()).recovery_threads(threads))
            .expect_err("a vertex after an edge");
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{threads} thread(s): {err}");
    }
}
