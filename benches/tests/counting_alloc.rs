//! The report's counting allocator: live bytes summed over per-thread shards, and the
//! peak while tracked.

use quiver_benches::alloc::{CountingAllocator, live, peak, reset_peak};

#[global_allocator]
static A: CountingAllocator = CountingAllocator;

const MB: usize = 1 << 20;

/// Live bytes are the process's: the tests take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn live_bytes_follow_allocations_on_any_thread_and_the_peak_is_tracked_once() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

/// Small blocks count what the allocator hands out for them (its size classes), not
/// only the bytes asked for: 100 000 blocks of 1 byte take at least 16 bytes each.
#[test]
fn small_blocks_count_the_allocators_rounding() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let start = live().expect("installed");
    let blocks: Vec<Box<u8>> = (0..100_000).map(|i| Box::new(i as u8)).collect();
    let grown = live().expect("installed") - start;
    // The vector itself is 800 000 bytes; the blocks 100 000 requested bytes.
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(grown >= 800_000 + 16 * 100_000, "grew by {grown}");
    } else {
        assert!(grown >= 800_000 + 100_000, "grew by {grown}");
    }
    drop(blocks);
    let back = live().expect("installed") - start;
    assert!(back.abs() < 64 * 1024, "left {back}");
}
