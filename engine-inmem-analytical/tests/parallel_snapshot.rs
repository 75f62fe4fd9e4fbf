//! Snapshots encoded on several threads and loaded with several linking threads hold
//! and load exactly what one thread writes and loads: the same objects, and every
//! adjacency list in the same (edge id) order. Edges to a missing vertex, and
//! vertices after the edges, are refused with `Corrupt` on either path.

use std::path::Path;

use conformance::images::{
    a_vertex_after_the_edges_is_refused, an_edge_to_a_missing_vertex_is_refused,
    thread_counts_give_one_image, views, wide_graph,
};
use engine_api::StorageEngine;
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

fn load(dir: &Path, threads: usize) -> engine_api::Result<AnalyticalEngine> {
    AnalyticalEngine::open(config(dir).snapshot_threads(threads))
}

#[test]
fn an_edge_to_a_missing_vertex_is_corrupt_on_every_load_path() {
    an_edge_to_a_missing_vertex_is_refused(load, "edge 1 has a missing target vertex 150")
        .expect("checked");
}

#[test]
fn a_vertex_after_the_edges_is_corrupt_on_every_load_path() {
    a_vertex_after_the_edges_is_refused(load).expect("checked");
}
