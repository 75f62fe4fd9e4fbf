//! How many heap allocations a small write transaction (one vertex with a label and a
//! property, one edge to an existing vertex) makes in each in-memory mode, counted on
//! the writing thread by this test binary's allocator. Allocations are what two
//! writer threads share beyond their own data (the allocator's arenas, and frees that
//! reach another thread's), so a change that adds some per transaction shows here.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use engine_api::{PropertyValue, StorageEngine, Transaction, TxnOptions, VertexId};

struct Counting;

thread_local! {
    /// Allocations (and reallocations) of this thread while counting; `None` while not.
    static COUNT: Cell<Option<u64>> = const { Cell::new(None) };
}

fn counted() {
    // `try_with`: a thread being torn down may no longer have its local. A
    // const-initialised `Cell` of a `Copy` type neither allocates nor registers a
    // destructor, so it may be used inside the allocator.
    let _ = COUNT.try_with(|c| c.set(c.get().map(|n| n + 1)));
}

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged, so it upholds GlobalAlloc's contract as `System` does; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted();
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted();
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const WRITES: u64 = 2_000;

/// Allocations per small write on `engine`, after a warm-up of the same writes (the
/// graph's chunks and the thread's first buffers are not what is measured).
fn per_small_write<E: StorageEngine>(engine: &E) -> f64 {
    let mut t = engine.begin(TxnOptions::new()).expect("begins");
    let targets: Vec<VertexId> = (0..1_000)
        .map(|i| {
            t.create_vertex_with(&["Person"], &[("id", PropertyValue::Int(i))])
                .expect("creates")
        })
        .collect();
    t.commit().expect("commits");
    let write = |i: u64| {
        let mut t = engine.begin(TxnOptions::new()).expect("begins");
        let v = t
            .create_vertex_with(&["Person"], &[("id", PropertyValue::Int(-1))])
            .expect("creates");
        let target = targets[(i * 7919 % targets.len() as u64) as usize];
        t.create_edge(v, target, "KNOWS").expect("links");
        t.commit().expect("commits");
    };
    (0..WRITES).for_each(write);
    COUNT.with(|c| c.set(Some(0)));
    (0..WRITES).for_each(write);
    let n = COUNT.with(|c| c.replace(None)).unwrap_or(0);
    n as f64 / WRITES as f64
}

#[test]
fn a_small_write_allocates_little_in_memory_modes() {
    let txn =
        engine_inmem_txn::InMemoryEngine::open(engine_inmem_txn::Config::default()).expect("opens");
    let analytical =
        engine_inmem_analytical::AnalyticalEngine::open(engine_inmem_analytical::Config::default())
            .expect("opens");
    // Measured: 2.3 (IN_MEMORY_TRANSACTIONAL: the transaction's shared state, the
    // adjacency lists growing) and 3.5 (IN_MEMORY_ANALYTICAL: the labels, the
    // encoding buffer, the adjacency lists). They were 4.4 and 10.5 with a list of
    // touched objects, a list of collected commits and three name caches allocated
    // per transaction. Deterministic: the same writes take the same paths.
    for (mode, got, most) in [
        ("IN_MEMORY_TRANSACTIONAL", per_small_write(&txn), 2.5),
        ("IN_MEMORY_ANALYTICAL", per_small_write(&analytical), 3.75),
    ] {
        eprintln!("{mode}: {got:.3} allocations per small write");
        assert!(
            got <= most,
            "{mode}: {got:.2} allocations per small write, expected at most {most}"
        );
    }
}
