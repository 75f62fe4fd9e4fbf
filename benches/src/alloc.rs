//! A global allocator that counts live bytes (and, while asked, their peak), for
//! the report's memory rows. A binary installs it:
//! `#[global_allocator] static A: CountingAllocator = CountingAllocator;`
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// The counting allocator (forwards to the system allocator).
#[derive(Debug)]
pub struct CountingAllocator;

static LIVE: AtomicI64 = AtomicI64::new(0);
/// The highest `LIVE` since the last reset (for the dump's peak memory), kept only
/// while `TRACK_PEAK` is set: a second shared counter on every allocation would slow
/// the multi-threaded rows.
static PEAK: AtomicI64 = AtomicI64::new(0);
static TRACK_PEAK: AtomicBool = AtomicBool::new(false);
/// Set once the process's allocator is a [`CountingAllocator`] (its first
/// allocation sets it), so a meter can tell counted bytes from no counting.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Live heap bytes, if this process counts them.
pub fn live() -> Option<i64> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| LIVE.load(Ordering::Relaxed))
}

/// Starts tracking the peak from the current live bytes.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    TRACK_PEAK.store(true, Ordering::Relaxed);
}

/// The peak of live bytes since [`reset_peak`].
pub fn peak() -> i64 {
    PEAK.load(Ordering::Relaxed)
}

fn grew(by: i64) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    if TRACK_PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged, so it upholds GlobalAlloc's contract as `System` does; it only adds an
// atomic count of live bytes and of their peak (read by the memory rows of the report).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            INSTALLED.store(true, Ordering::Relaxed);
            grew(layout.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(new_size as i64 - layout.size() as i64);
        }
        p
    }
}
