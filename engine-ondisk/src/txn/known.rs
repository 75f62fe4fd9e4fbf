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
//! A cache, so bounded: a shard that fills up is emptied (the next edge to one of its
//! vertices reads it again).

use std::collections::HashMap;

use parking_lot::Mutex;

const SHARDS: usize = 16;
/// Entries per shard before it is emptied (16 bytes each, 1 MiB in all at most).
const SHARD_CAPACITY: usize = 4096;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct KnownVertices {
    shards: [Mutex<HashMap<u64, u64>>; SHARDS],
}

impl Default for KnownVertices {
    fn default() -> Self {
        KnownVertices {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

impl KnownVertices {
    fn shard(&self, vertex: u64) -> &Mutex<HashMap<u64, u64>> {
        // Ids are dense: the low bits spread them.
        &self.shards[(vertex as usize) % SHARDS]
    }

    /// Whether `vertex` is known to exist at `snapshot` (a sequence number). The
    /// caller holds the vertex's lock.
    pub(crate) fn exists_at(&self, vertex: u64, snapshot: u64) -> bool {
        self.shard(vertex)
            .lock()
            .get(&vertex)
            .is_some_and(|seen| *seen <= snapshot)
    }

    /// Remembers that `vertex` exists at `snapshot`. The caller holds the vertex's
    /// lock and found the vertex in that snapshot.
    pub(crate) fn found(&self, vertex: u64, snapshot: u64) {
        let mut shard = self.shard(vertex).lock();
        if shard.len() >= SHARD_CAPACITY && !shard.contains_key(&vertex) {
            shard.clear();
        }
        let seen = shard.entry(vertex).or_insert(snapshot);
        // The earliest snapshot known serves the most readers.
        *seen = (*seen).min(snapshot);
    }

    /// Forgets `vertex`: its deleter calls this holding its exclusive lock.
    pub(crate) fn forget(&self, vertex: u64) {
        self.shard(vertex).lock().remove(&vertex);
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
        known.found(7, 40);
        assert!(
            known.exists_at(7, 45),
            "the earliest snapshot found is kept"
        );
        known.forget(7);
        assert!(!known.exists_at(7, 100));
    }

    #[test]
    fn a_full_shard_is_emptied_not_grown() {
        let known = KnownVertices::default();
        for v in 0..(SHARD_CAPACITY as u64 + 1) {
            known.found(v * SHARDS as u64, 1);
        }
        let len = known.shards[0].lock().len();
        assert!(len <= SHARD_CAPACITY, "{len} entries");
        assert!(known.exists_at(SHARD_CAPACITY as u64 * SHARDS as u64, 1));
    }
}
