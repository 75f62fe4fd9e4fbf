//! Cache prefetch hints: a backend that knows which object it touches next asks
//! for its cache line early, and the miss overlaps the work before it.

/// The cache lines a prefetch asks for at most: a value's first 256 bytes.
const MAX_LINES: usize = 4;

/// Asks the processor to bring the cache lines holding `value` (its first four,
/// 256 bytes) into its caches, ahead of a read or write of it. A hint
/// only: it changes no value and cannot fail; a no-op off x86-64.
///
/// It is the plain `T0` prefetch: `PREFETCHW` (the line taken exclusive, for a
/// write) measured no faster on the edge import, which writes what it prefetches.
#[inline]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    for line in lines(value) {
        hint(line);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// An address in each 64-byte cache line `value` spans, at most [`MAX_LINES`].
#[cfg(target_arch = "x86_64")]
#[inline]
fn lines<T>(value: &T) -> impl Iterator<Item = *const i8> {
    let start = std::ptr::from_ref(value).cast::<i8>();
    let offset = start.addr() % 64;
    let count = (offset + size_of::<T>().max(1)).div_ceil(64).min(MAX_LINES);
    (0..count).map(move |i| start.wrapping_add(i * 64))
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[allow(unsafe_code)]
fn hint(at: *const i8) {
    // SAFETY: a prefetch reads and writes nothing the program can observe and never
    // faults, whatever the address (here it comes from a live reference besides).
    // It needs SSE, which every x86-64 processor has.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hints run on live values of every size and leave them as they were.
    #[test]
    fn prefetching_changes_nothing() {
        let small = 7u8;
        let boxed = Box::new([3u64; 32]);
        let shared = std::sync::Arc::new(String::from("kept"));
        prefetch(&small);
        prefetch(&*boxed);
        prefetch(&boxed[31]);
        prefetch(&shared);
        assert_eq!(
            (small, boxed[0], boxed[31], shared.as_str()),
            (7, 3, 3, "kept")
        );
    }

    /// Every line a value spans is asked for, up to the bound, and no line twice.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_value_is_asked_for_line_by_line() {
        let buf = vec![0u8; 1024];
        let at =
            |offset: usize| -> &[u8; 64] { buf[offset..offset + 64].try_into().expect("64 bytes") };
        // Whatever the vector's alignment, find an offset on a line boundary.
        let aligned = (64 - buf.as_ptr().addr() % 64) % 64;
        assert_eq!(lines(at(aligned)).count(), 1);
        assert_eq!(lines(at(aligned + 1)).count(), 2);
        let big: &[u8; 512] = buf[aligned..aligned + 512].try_into().expect("512 bytes");
        assert_eq!(lines(big).count(), MAX_LINES);
        let starts: Vec<usize> = lines(at(aligned + 10)).map(|p| p.addr() / 64).collect();
        assert_eq!(starts.len(), 2);
        assert_eq!(starts[1], starts[0] + 1);
    }
}
