//! Garbage collection returns memory: after a long run of updates the heap is back
//! at its level before them, and a long-running reader holds versions until it ends.
//!
//! Heap use is measured with a counting global allocator, so this file holds one
//! test only (tests in one binary share the allocator).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use engine_api::{PropertyValue, StorageEngine, Transaction, TxnOptions, VertexId};
use engine_inmem_txn::{Config, InMemoryEngine};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged, so it upholds GlobalAlloc's contract exactly as `System` does; the only
// addition is an atomic counter of live bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl comment).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (see the impl comment).
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl comment).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn update_round(engine: &InMemoryEngine, vertices: &[VertexId], rounds: usize) {
    for i in 0..rounds {
        let v = vertices[i % vertices.len()];
        let mut t = engine.begin(TxnOptions::new()).expect("begin");
        t.set_vertex_property(
            v,
            "name",
            PropertyValue::from(format!("name-{:06}", i % 1000)),
        )
        .expect("set");
        t.set_vertex_property(v, "n", PropertyValue::Int(i as i64))
            .expect("set");
        if i % 2 == 0 {
            t.add_label(v, "Hot").expect("add label");
        } else {
            t.remove_label(v, "Hot").expect("remove label");
        }
        t.commit().expect("commit");
    }
}

#[test]
fn memory_returns_to_its_level_after_many_updates() {
    // No background thread: collection happens on commit and when asked.
    let engine = InMemoryEngine::open(Config::default().gc_interval(None)).expect("open");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let vertices: Vec<VertexId> = (0..1000)
        .map(|i| {
            t.create_vertex_with(
                &["Person", "Hot"],
                &[("name", format!("name-{i:06}").into()), ("n", 0.into())],
            )
            .expect("create")
        })
        .collect();
    t.commit().expect("commit");
    // Warm up: every vertex has gone through one full update cycle, so labels, names
    // and index nodes reached their steady size.
    update_round(&engine, &vertices, 2000);
    engine.collect_garbage();
    let before = live();

    update_round(&engine, &vertices, 20_000);
    engine.collect_garbage();
    let after = live();
    assert!(
        (after - before).abs() < 16 * 1024,
        "heap changed by {} bytes across 20 000 update transactions",
        after - before
    );

    // A reader that started before the updates pins their old versions...
    let reader = engine.begin(TxnOptions::new()).expect("begin");
    update_round(&engine, &vertices, 5000);
    engine.collect_garbage();
    let pinned = live();
    assert!(
        pinned - after > 200 * 1024,
        "a running reader must keep old versions alive (grew only {} bytes)",
        pinned - after
    );
    assert_eq!(
        reader.vertex_property(vertices[0], "n").expect("read"),
        Some(PropertyValue::Int(19_000)),
        "the reader still sees its snapshot"
    );
    // ...and once it ends they are collected.
    drop(reader);
    let report = engine.collect_garbage();
    assert!(
        report.transactions >= 5000 && report.pending == 0,
        "{report:?}"
    );
    let released = live();
    assert!(
        (released - after).abs() < 16 * 1024,
        "heap is {} bytes above its level after the reader ended",
        released - after
    );
}
