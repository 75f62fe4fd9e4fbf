//! Snapshots encoded on several threads and loaded with several linking threads hold
//! and recover exactly what one thread writes and loads: the same objects, and every
//! adjacency list in the same (edge id) order. A snapshot whose edge names a missing
//! vertex is refused with `Corrupt` on either path.

use std::path::Path;

use conformance::images::{views, wide_graph};
use durability::{DatabaseId, SnapshotWriter};
use engine_api::{DurabilityConfig, ErrorKind, StorageEngine, SyncMode};
use engine_inmem_txn::{Config, InMemoryEngine};

fn config(dir: &Path) -> Config {
    Config::default().data_directory(dir).durability(
        DurabilityConfig::default()
            .sync_mode(SyncMode::Off)
            .snapshot_interval(None)
            .snapshot_on_exit(false),
    )
}

#[test]
fn several_threads_write_and_load_the_image_one_thread_does() {
    let source = tempfile::tempdir().expect("tmp");
    let engine = InMemoryEngine::open(config(source.path())).expect("open");
    wide_graph(&engine).expect("graph");
    // A live engine's lists are in no particular order after deletes; a load puts
    // them in edge id order, whichever path it takes.
    let (live, _, _) = views(&engine).expect("views");
    drop(engine);
    let mut first_load: Option<String> = None;
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
        let (data, order, sorted) = views(&engine).expect("views");
        assert!(data == live, "{what}: the data differs");
        assert!(sorted, "{what}: an adjacency list is not in edge id order");
        match &first_load {
            None => first_load = Some(order),
            Some(first) => assert!(*first == order, "{what}: differs from one thread's load"),
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
