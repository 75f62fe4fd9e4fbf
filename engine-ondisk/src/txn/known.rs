//! Vertices known to exist: what spares a new edge the read of its endpoint.
//!
//! Creating an edge takes each endpoint's shared lock and must then find the
//! endpoint in the transaction's snapshot (no dangling edge). That read was a fifth
//! of a small write transaction's time (a RocksDB point lookup through every level).
//! This table remembers, per vertex, the snapshot at which a transaction holding the
//! vertex's lock found it. A later transaction holding the vertex's shared lock, with
//! a snapshot at or after that one, knows the vertex exists in its snapshot:
//!
//! - it existed at the remembered snapshot;
//! - deleting it takes its exclusive lock, and the deleter forgets it while holding
//!   that lock (before its commit is written), so it was not deleted after the
//!   remembered snapshot while it stays remembered; and an entry cannot come back
//!   during or after the delete: whoever adds one holds the vertex's shared lock,
//!   which excludes the deleter's and, once the delete is committed, either fails
//!   (a snapshot before the delete) or finds the vertex missing (one after it);
//! - a snapshot taken before the remembered one may predate the vertex's creation,
//!   so it reads as before.
//!
//! Kept compact, as a bitmap: a word of 64 vertex ids and the latest snapshot at
//! which any of its vertices was found, which stands for all of them (a snapshot at
//! or after it is at or after each one's). A million dense ids take 16k words. A
//! cache, so bounded: a shard that fills up is emptied (the next edge to one of its
//! vertices reads it again).

use std::collections::HashMap;

use parking_lot::Mutex;

const SHARDS: usize = 16;
/// Words per shard before it is emptied: 16 shards of 16k words cover 16M dense
/// vertex ids in about 8 MiB.
const SHARD_CAPACITY: usize = 16 * 1024;

/// 64 vertices: which are known to exist, and from which snapshot on.
#[derive(Debug, Clone, Copy)]
struct Word {
    bits: u64,
    since: u64,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct KnownVertices {
    shards: [Mutex<HashMap<u64, Word>>; SHARDS],
}

impl Default for KnownVertices {
    fn default() -> Self {
        KnownVertices {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

/// The word of `vertex`, and its bit in it.
fn place(vertex: u64) -> (u64, u64) {
    (vertex >> 6, 1 << (vertex & 63))
}

impl KnownVertices {
    fn shard(&self, word: u64) -> &Mutex<HashMap<u64, Word>> {
        &self.shards[(word as usize) % SHARDS]
    }

    /// Whether `vertex` is known to exist at `snapshot` (a sequence number). The
    /// caller holds the vertex's lock.
    pub(crate) fn exists_at(&self, vertex: u64, snapshot: u64) -> bool {
        let (word, bit) = place(vertex);
        self.shard(word)
            .lock()
            .get(&word)
            .is_some_and(|w| w.bits & bit != 0 && w.since <= snapshot)
    }

    /// Remembers that `vertex` exists at `snapshot`. The caller holds the vertex's
    /// lock and found the vertex in that snapshot.
    pub(crate) fn found(&self, vertex: u64, snapshot: u64) {
        let (word, bit) = place(vertex);
        let mut shard = self.shard(word).lock();
        if shard.len() >= SHARD_CAPACITY && !shard.contains_key(&word) {
            shard.clear();
        }
        let w = shard.entry(word).or_insert(Word {
            bits: 0,
            since: snapshot,
        });
        w.bits |= bit;
        w.since = w.since.max(snapshot);
    }

    /// Forgets `vertex`: its deleter calls this holding its exclusive lock.
    pub(crate) fn forget(&self, vertex: u64) {
        let (word, bit) = place(vertex);
        if let Some(w) = self.shard(word).lock().get_mut(&word) {
            w.bits &= !bit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_from_its_snapshot_on_until_forgotten() {
        let known = KnownVertices::default();
        assert!(!known.exists_at(7, 100));
        known.found(7, 50);
        assert!(known.exists_at(7, 50));
        assert!(known.exists_at(7, 100));
        assert!(
            !known.exists_at(7, 49),
            "an earlier snapshot may predate it"
        );
        assert!(
            !known.exists_at(8, 100),
            "its neighbour in the word is not known"
        );
        known.found(8, 60);
        assert!(
            !known.exists_at(7, 55),
            "the word's latest snapshot stands for every vertex in it"
        );
        assert!(known.exists_at(7, 60) && known.exists_at(8, 60));
        known.forget(7);
        assert!(!known.exists_at(7, 100));
        assert!(known.exists_at(8, 100));
    }

    #[test]
    fn a_full_shard_is_emptied_not_grown() {
        let known = KnownVertices::default();
        let stride = 64 * SHARDS as u64;
        for i in 0..(SHARD_CAPACITY as u64 + 1) {
            known.found(i * stride, 1);
        }
        let len = known.shards[0].lock().len();
        assert!(len <= SHARD_CAPACITY, "{len} words");
        assert!(known.exists_at(SHARD_CAPACITY as u64 * stride, 1));
    }
}
