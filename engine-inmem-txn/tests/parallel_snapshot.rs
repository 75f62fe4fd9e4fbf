//! Snapshots encoded on several threads and loaded with several linking threads hold
//! and recover exactly what one thread writes and loads: the same objects, and every
//! adjacency list in the same (edge id) order. A snapshot whose edge names a missing
//! vertex is refused with `Corrupt` on either path.

use std::path::Path;

use conformance::images::{thread_counts_give_one_image, views, wide_graph};
use durability::{DatabaseId, ImageEdge, ImageVertex, SnapshotWriter};
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
    thread_counts_give_one_image(
        &live,
        |threads| {
            InMemoryEngine::open(
                config(source.path())
                    .snapshot_threads(threads)
                    .recovery_threads(1),
            )?
            .create_snapshot()
        },
        |dir, threads| InMemoryEngine::open(config(dir).recovery_threads(threads)),
    )
    .expect("images");
}

/// A snapshot of 100 vertices and one good edge, then what `bad` writes; opening it
/// on one and on two load threads is `Corrupt` with a message holding `expect`.
fn refused(bad: impl Fn(&mut SnapshotWriter), expect: &str) {
    for threads in [1, 2] {
        let dir = tempfile::tempdir().expect("tmp");
        let snapshots = dir.path().join("snapshots");
        std::fs::create_dir_all(&snapshots).expect("mkdir");
        let mut w = SnapshotWriter::create(&snapshots, 1, 5, DatabaseId::random()).expect("create");
        w.names(durability::NameKind::EdgeType, [(0, "E")])
            .expect("names");
        w.counters(200, 2).expect("counters");
        for id in 0..100 {
            w.vertex(ImageVertex::new(id, &[], &[])).expect("vertex");
        }
        w.edge(ImageEdge::new(0, 0, 1, 2, &[])).expect("edge");
        bad(&mut w);
        w.finish().expect("finish");
        let err = InMemoryEngine::open(config(dir.path()).recovery_threads(threads))
            .expect_err("a bad snapshot");
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{threads} thread(s): {err}");
        assert!(err.message().contains(expect), "{threads} thread(s): {err}");
    }
}

#[test]
fn an_edge_to_a_missing_vertex_is_corrupt_on_every_load_path() {
    // Vertex 150 is owned by another linking thread than vertices 1 and 2.
    refused(
        |w| w.edge(ImageEdge::new(1, 0, 3, 150, &[])).expect("edge"),
        "edge 1 references missing vertex 150",
    );
}

#[test]
fn a_vertex_after_the_edges_is_corrupt_on_every_load_path() {
    // A linking thread may not have reached the edge to it yet: the loader itself
    // must refuse the order.
    refused(
        |w| {
            w.edge(ImageEdge::new(1, 0, 3, 150, &[])).expect("edge");
            w.vertex(ImageVertex::new(150, &[], &[])).expect("vertex");
        },
        "",
    );
}
