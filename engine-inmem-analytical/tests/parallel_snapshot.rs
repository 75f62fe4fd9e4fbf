//! Snapshots encoded on several threads and loaded with several linking threads hold
//! and load exactly what one thread writes and loads: the same objects, and every
//! adjacency list in the same (edge id) order. Edges to a missing vertex, and
//! vertices after the edges, are refused with `Corrupt` on either path.

use std::path::Path;

use conformance::images::{thread_counts_give_one_image, views, wide_graph};
use durability::{DatabaseId, ImageEdge, ImageVertex, SnapshotWriter};
use engine_api::{ErrorKind, StorageEngine};
use engine_inmem_analytical::{AnalyticalEngine, Config};

fn config(dir: &Path) -> Config {
    Config::new()
        .data_directory(dir)
        .durability(Config::default_durability().snapshot_on_exit(false))
}

#[test]
fn several_threads_write_and_load_the_image_one_thread_does() {
    let source = tempfile::tempdir().expect("tmp");
    let engine = AnalyticalEngine::open(config(source.path())).expect("open");
    wide_graph(&engine).expect("graph");
    let (live, _, _) = views(&engine).expect("views");
    // No log in this mode: the reopens below start from this snapshot.
    engine.create_snapshot().expect("snapshot");
    drop(engine);
    thread_counts_give_one_image(
        &live,
        |threads| {
            AnalyticalEngine::open(config(source.path()).snapshot_threads(threads))?
                .create_snapshot()
        },
        |dir, threads| AnalyticalEngine::open(config(dir).snapshot_threads(threads)),
    )
    .expect("images");
}

/// A snapshot of two edges, the second of them bad in the way `bad` writes it.
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
        let err = AnalyticalEngine::open(config(dir.path()).snapshot_threads(threads))
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
        "edge 1 has a missing target vertex 150",
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
