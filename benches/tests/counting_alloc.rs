//! The report's counting allocator: live bytes summed over per-thread shards, and the
//! peak while tracked.

use quiver_benches::alloc::{CountingAllocator, live, peak, reset_peak};

#[global_allocator]
static A: CountingAllocator = CountingAllocator;

const MB: usize = 1 << 20;

#[test]
fn live_bytes_follow_allocations_on_any_thread_and_the_peak_is_tracked_once() {
    let start = live().expect("installed");
    // Allocated on one thread, freed on another: only the sum over shards is right.
    let block = std::thread::spawn(|| vec![7u8; 8 * MB])
        .join()
        .expect("no panic");
    let grown = live().expect("installed") - start;
    assert!(
        (8 * MB as i64..9 * MB as i64).contains(&grown),
        "grew by {grown}"
    );
    std::thread::spawn(move || drop(block))
        .join()
        .expect("no panic");
    let back = live().expect("installed") - start;
    assert!(back.abs() < MB as i64, "left {back}");

    reset_peak();
    let base = live().expect("installed");
    let big = vec![1u8; 4 * MB];
    drop(big);
    let top = peak() - base;
    assert!((4 * MB as i64..5 * MB as i64).contains(&top), "peak {top}");
    // Tracking stopped with the read: a later, larger allocation does not move it.
    let bigger = vec![1u8; 16 * MB];
    assert_eq!(peak() - base, top);
    drop(bigger);
}
