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
//! A commit that created vertices also adds them, known from the newest sequence
//! number right after its write (every snapshot from then on holds them). It holds
//! no lock on them, so a deleter may have come first: one that found a new vertex
//! did so after the creating write, and its forgetting leaves that moment (the
//! newest sequence number then) on the vertex's word. The commit skips every word
//! forgotten after the sequence number it read just before its write; the shard's
//! lock orders the two, so either the commit adds first and the deleter clears it,
//! or the deleter's mark is there to see. A vertex the transaction itself created
//! and deleted is not added.
//!
//! The open fills the table with the vertices the database holds (up to
//! `Config::known_vertices_at_open`), before any transaction exists: a database
//! opened again does not pay one point read per endpoint until each has been seen.
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
#[derive(Debug, Clone, Copy, Default)]
struct Word {
    bits: u64,
    since: u64,
    /// The newest sequence number at the latest forgetting of one of its vertices.
    forgotten: u64,
}

#[derive(Debug, Default)]
struct Shard {
    words: HashMap<u64, Word>,
    /// The latest `forgotten` of the words dropped when the shard was emptied.
    floor: u64,
}

impl Shard {
    /// The word at `word`, made (empty) if missing; a full shard is emptied first.
    fn word(&mut self, word: u64) -> &mut Word {
        if self.words.len() >= SHARD_CAPACITY && !self.words.contains_key(&word) {
            let dropped = self.words.values().map(|w| w.forgotten).max();
            self.floor = self.floor.max(dropped.unwrap_or(0));
            self.words.clear();
        }
        self.words.entry(word).or_default()
    }
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct KnownVertices {
    shards: [Mutex<Shard>; SHARDS],
}

impl Default for KnownVertices {
    fn default() -> Self {
        KnownVertices {
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
        }
    }
}

/// The word of `vertex`, and its bit in it.
fn place(vertex: u64) -> (u64, u64) {
    (vertex >> 6, 1 << (vertex & 63))
}

impl KnownVertices {
    fn shard(&self, word: u64) -> &Mutex<Shard> {
        &self.shards[(word as usize) % SHARDS]
    }

    /// Whether `vertex` is known to exist at `snapshot` (a sequence number). The
    /// caller holds the vertex's lock.
    pub(crate) fn exists_at(&self, vertex: u64, snapshot: u64) -> bool {
        let (word, bit) = place(vertex);
        self.shard(word)
            .lock()
            .words
            .get(&word)
            .is_some_and(|w| w.bits & bit != 0 && w.since <= snapshot)
    }

    /// Remembers that `vertex` exists at `snapshot`. The caller holds the vertex's
    /// lock and found the vertex in that snapshot.
    pub(crate) fn found(&self, vertex: u64, snapshot: u64) {
        let (word, bit) = place(vertex);
        let mut shard = self.shard(word).lock();
        let w = shard.word(word);
        if w.bits == 0 {
            w.since = snapshot;
        }
        w.bits |= bit;
        w.since = w.since.max(snapshot);
    }

    /// Remembers the vertices a commit created (ascending), from `after` on (the
    /// newest sequence number right after its write), except in words forgotten
    /// after `before` (the newest sequence number read just before the write).
    pub(crate) fn created(&self, vertices: &[u64], before: u64, after: u64) {
        let mut at = 0;
        while let Some(&first) = vertices.get(at) {
            let (word, _) = place(first);
            let mut bits = 0u64;
            while let Some(&v) = vertices.get(at) {
                let (w, bit) = place(v);
                if w != word {
                    break;
                }
                bits |= bit;
                at += 1;
            }
            let mut shard = self.shard(word).lock();
            let floor = shard.floor;
            let w = shard.word(word);
            if w.forgotten.max(floor) > before {
                continue;
            }
            if w.bits == 0 {
                w.since = after;
            }
            w.bits |= bits;
            w.since = w.since.max(after);
        }
    }

    /// Remembers the vertices of the snapshot at sequence number `seq` (ascending)
    /// as existing from `seq` on. Only for an engine that no transaction has used
    /// yet (the open): no deleter can have forgotten any of them.
    pub(crate) fn load(&self, vertices: &[u64], seq: u64) {
        self.created(vertices, seq, seq);
    }

    /// Forgets `vertex`: its deleter calls this holding its exclusive lock, with the
    /// newest sequence number now.
    pub(crate) fn forget(&self, vertex: u64, now: u64) {
        let (word, bit) = place(vertex);
        let mut shard = self.shard(word).lock();
        let w = shard.word(word);
        w.bits &= !bit;
        w.forgotten = w.forgotten.max(now);
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
        known.forget(7, 70);
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
        let len = known.shards[0].lock().words.len();
        assert!(len <= SHARD_CAPACITY, "{len} words");
        assert!(known.exists_at(SHARD_CAPACITY as u64 * stride, 1));
    }

    #[test]
    fn a_commit_adds_its_vertices_unless_a_deleter_came_first() {
        let known = KnownVertices::default();
        known.created(&[1, 2, 64, 200], 10, 12);
        for v in [1, 2, 64, 200] {
            assert!(known.exists_at(v, 12) && !known.exists_at(v, 11), "{v}");
        }
        assert!(!known.exists_at(3, 12));
        // A deleter found vertex 300 (created by a commit written after 20) and
        // forgot it at 25, before that commit adds it: the word is skipped.
        known.forget(300, 25);
        known.created(&[300, 301], 20, 24);
        assert!(!known.exists_at(300, 30) && !known.exists_at(301, 30));
        // A commit written after the forgetting adds it again.
        known.created(&[301], 25, 27);
        assert!(known.exists_at(301, 27));
        // Forgetting after the commit added it clears it.
        known.forget(64, 40);
        assert!(!known.exists_at(64, 50) && known.exists_at(1, 50));
    }

    #[test]
    fn an_emptied_shard_keeps_the_latest_forgetting() {
        let known = KnownVertices::default();
        let stride = 64 * SHARDS as u64;
        known.forget(0, 99);
        for i in 1..(SHARD_CAPACITY as u64 + 1) {
            known.found(i * stride, 1);
        }
        // Word 0 was dropped with the rest; its forgetting at 99 still counts.
        known.created(&[0], 50, 60);
        assert!(!known.exists_at(0, 100));
        known.created(&[0], 99, 120);
        assert!(known.exists_at(0, 120));
    }
}
