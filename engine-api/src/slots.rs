//! A growable array indexed by object id, read without locks, for the in-memory
//! backends to embed.
//!
//! Ids are dense and assigned by the engine, so an array beats a hash map for point
//! lookups and memory. Chunks of 4096 slots are allocated on first use and never
//! move, so a reference to a slot stays valid for the array's lifetime, and the
//! memory beyond the slots in use is at most two chunks (no doubling): the slot
//! halfway through a chunk also allocates the next one, so that the writers that
//! cross into it find it built. Building one takes a while (every slot is written,
//! and its pages are faulted in), and a writer that needed it meanwhile slept until
//! the first was done: on two writer threads that was one sleep and wake-up per
//! chunk, the largest share of their waits.

use std::sync::OnceLock;

const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
const MID_BITS: u32 = 12;
const MID: usize = 1 << MID_BITS;
const TOP: usize = 1024;

/// The number of slots a [`SlotArray`] can hold (2^34).
pub const CAPACITY: u64 = (TOP * MID * CHUNK) as u64;

type Chunk<T> = Box<[T]>;
type Mid<T> = Box<[OnceLock<Chunk<T>>]>;

/// Slots indexed by id; each slot starts as `T::default()`.
pub struct SlotArray<T> {
    top: Box<[OnceLock<Mid<T>>]>,
}

impl<T> std::fmt::Debug for SlotArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotArray").finish_non_exhaustive()
    }
}

impl<T: Default> Default for SlotArray<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Default> SlotArray<T> {
    /// An empty array (no chunk allocated).
    pub fn new() -> Self {
        SlotArray {
            top: (0..TOP).map(|_| OnceLock::new()).collect(),
        }
    }

    fn split(index: u64) -> Option<(usize, usize, usize)> {
        if index >= CAPACITY {
            return None;
        }
        let i = index as usize;
        Some((
            i >> (CHUNK_BITS + MID_BITS),
            (i >> CHUNK_BITS) & (MID - 1),
            i & (CHUNK - 1),
        ))
    }

    /// The slot at `index` if its chunk exists.
    pub fn get(&self, index: u64) -> Option<&T> {
        let (t, m, c) = Self::split(index)?;
        let mid = self.top[t].get()?;
        let chunk = mid[m].get()?;
        Some(&chunk[c])
    }

    /// The slot at `index`, allocating its chunk if needed; `None` past the capacity.
    /// The slot halfway through a chunk also allocates the next chunk (see the module
    /// docs).
    pub fn get_or_alloc(&self, index: u64) -> Option<&T> {
        let (t, m, c) = Self::split(index)?;
        let chunk = self.chunk_or_alloc(t, m);
        if c == CHUNK / 2
            && let Some((t, m, _)) = Self::split(index + CHUNK as u64)
        {
            self.chunk_or_alloc(t, m);
        }
        Some(&chunk[c])
    }

    fn chunk_or_alloc(&self, t: usize, m: usize) -> &Chunk<T> {
        let mid = self.top[t].get_or_init(|| (0..MID).map(|_| OnceLock::new()).collect());
        mid[m].get_or_init(|| (0..CHUNK).map(|_| T::default()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_allocated_on_demand_and_stay_put() {
        let a: SlotArray<std::sync::atomic::AtomicU64> = SlotArray::new();
        assert!(a.get(5).is_none());
        let s = a.get_or_alloc(5).expect("in range");
        s.store(7, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            a.get(5)
                .map(|s| s.load(std::sync::atomic::Ordering::Relaxed)),
            Some(7)
        );
        assert!(a.get(CHUNK as u64).is_none());
        // The slot halfway through a chunk builds the next one, across a mid too.
        assert!(a.get_or_alloc(CHUNK as u64 / 2 - 1).is_some());
        assert!(a.get(CHUNK as u64).is_none(), "not before halfway");
        assert!(a.get_or_alloc(CHUNK as u64 / 2).is_some());
        assert!(a.get(CHUNK as u64).is_some(), "the next chunk at halfway");
        assert!(a.get(2 * CHUNK as u64).is_none(), "one chunk ahead only");
        let last = (MID * CHUNK - CHUNK / 2) as u64;
        assert!(a.get_or_alloc(last).is_some());
        assert!(a.get((MID * CHUNK) as u64).is_some(), "into the next mid");
        assert!(
            a.get_or_alloc(CAPACITY - CHUNK as u64 / 2).is_some(),
            "the last chunk has none after it"
        );
        let far = (MID * CHUNK + 3) as u64;
        assert!(a.get_or_alloc(far).is_some());
        assert!(a.get(far).is_some());
        assert!(a.get_or_alloc(CAPACITY).is_none());
    }
}
