//! A global allocator that counts live bytes (and, while asked, their peak), for
//! the report's memory rows: the bytes the system allocator hands out for each
//! request (its usable size, so rounding up to its size classes counts; on other
//! systems than Linux with glibc, the bytes requested). A binary installs it:
//! `#[global_allocator] static A: CountingAllocator = CountingAllocator;`
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

/// The counting allocator (forwards to the system allocator).
#[derive(Debug)]
pub struct CountingAllocator;

/// Live bytes, counted per thread group: one shared counter would be written by
/// every allocation and free of every thread, and moving its cache line between
/// cores slowed the multi-threaded rows (more for a subject that allocates more).
/// Each thread adds to one shard; a free on another thread subtracts from that
/// thread's shard, so only the sum means anything.
const SHARDS: usize = 32;

#[repr(align(128))]
struct Shard(AtomicI64);

static LIVE: [Shard; SHARDS] = [const { Shard(AtomicI64::new(0)) }; SHARDS];
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard, chosen at its first allocation.
    static MY_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// While the peak is tracked, live bytes are also kept in one shared counter (the
/// peak needs the total at each allocation); tracking is for single-threaded rows.
static TRACKED: AtomicI64 = AtomicI64::new(0);
/// The highest `TRACKED` since the last reset (for the dump's peak memory).
static PEAK: AtomicI64 = AtomicI64::new(0);
static TRACK_PEAK: AtomicBool = AtomicBool::new(false);
/// Set once the process's allocator is a [`CountingAllocator`] (its first
/// allocation sets it), so a meter can tell counted bytes from no counting.
static INSTALLED: AtomicBool = AtomicBool::new(false);

fn shard() -> &'static AtomicI64 {
    // `try_with`: a thread being torn down may no longer have its local; it counts
    // in shard 0. A const-initialised local of a `Copy` type neither allocates nor
    // registers a destructor, so this is safe inside the allocator.
    let i = MY_SHARD
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
                s.set(i);
            }
            i
        })
        .unwrap_or(0);
    &LIVE[i].0
}

/// Live heap bytes, if this process counts them.
pub fn live() -> Option<i64> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| LIVE.iter().map(|s| s.0.load(Ordering::Relaxed)).sum())
}

/// Starts tracking the peak from the current live bytes.
pub fn reset_peak() {
    let now = live().unwrap_or(0);
    TRACKED.store(now, Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    TRACK_PEAK.store(true, Ordering::Relaxed);
}

/// The peak of live bytes since [`reset_peak`]; tracking stops (later rows, some of
/// them multi-threaded, then pay no shared counter).
pub fn peak() -> i64 {
    TRACK_PEAK.store(false, Ordering::Relaxed);
    PEAK.load(Ordering::Relaxed)
}

fn grew(by: i64) {
    shard().fetch_add(by, Ordering::Relaxed);
    if TRACK_PEAK.load(Ordering::Relaxed) {
        let now = TRACKED.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    /// glibc: the bytes usable in the block at `ptr` (at least those requested).
    fn malloc_usable_size(ptr: *mut std::ffi::c_void) -> usize;
}

/// The bytes the block at `ptr` (live, from the system allocator, for `requested`
/// bytes) takes from the allocator.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn usable(ptr: *mut u8, requested: usize) -> i64 {
    // SAFETY: `ptr` is a live block the system allocator (glibc's malloc family:
    // `malloc`, `realloc`, `posix_memalign`) returned and that is not freed yet, which
    // is all `malloc_usable_size` requires.
    let n = unsafe { malloc_usable_size(ptr.cast()) };
    n.max(requested) as i64
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn usable(_ptr: *mut u8, requested: usize) -> i64 {
    requested as i64
}

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged, so it upholds GlobalAlloc's contract as `System` does; it only adds an
// atomic count of live bytes and of their peak (read by the memory rows of the report).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            // Read first: a store on every allocation would write a shared line.
            if !INSTALLED.load(Ordering::Relaxed) {
                INSTALLED.store(true, Ordering::Relaxed);
            }
            grew(usable(p, layout.size()));
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Measured while the block is still live.
        let size = usable(ptr, layout.size());
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        grew(-size);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = usable(ptr, layout.size());
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(usable(p, new_size) - old);
        }
        p
    }
}
