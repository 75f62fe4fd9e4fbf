//! Snapshots encoded on several threads and loaded with several linking threads hold
//! and recover exactly what one thread writes and loads: the same objects, and every
//! adjacency list in the same (edge id) order. A snapshot whose edge names a missing
//! vertex is refused with `Corrupt` on either path.

use std::path::Path;

use conformance::images::{
    a_vertex_after_the_edges_is_refused, an_edge_to_a_missing_vertex_is_refused,
    thread_counts_give_one_image, views, wide_graph,
};
use engine_api::{DurabilityConfig, StorageEngine, SyncMode};
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

fn load(dir: &Path, threads: usize) -> engine_api::Result<InMemoryEngine> {
    InMemoryEngine::open(config(dir).recovery_threads(threads))
}

#[test]
fn an_edge_to_a_missing_vertex_is_corrupt_on_every_load_path() {
    an_edge_to_a_missing_vertex_is_refused(load, "edge 1 references missing vertex 150")
        .expect("checked");
}

#[test]
fn a_vertex_after_the_edges_is_corrupt_on_every_load_path() {
    a_vertex_after_the_edges_is_refused(load).expect("checked");
}
