//! The commit protocol of an on-disk transaction: its index entries and constraint
//! checks under the shared side of the schema's commit lock, one RocksDB write batch
//! (synced as the sync mode says), observers, and the lock table's release.

use super::*;

impl<'e> OnDiskTxn<'e> {
    /// Commits (see the module docs).
    pub(super) fn commit_now(mut self) -> Result<CommitInfo> {
        self.check()?;
        if !self.wrote {
            return Ok(CommitInfo {
                commit_timestamp: self.start_ts,
            });
        }
        let engine = self.engine;
        // Before-commit observers see the changes first and may veto.
        let observed = match self.observed.take().map(|o| *o) {
            Some((observers, changes)) => {
                let set = ChangeSet {
                    commit_timestamp: None,
                    changes,
                };
                observers.before_commit(&set)?;
                Some((observers, set))
            }
            None => None,
        };
        // Entries are kept, and constraints checked, against the catalog current
        // now; a schema change waits until this commit is done.
        let commits = engine.schema.commits.read();
        let catalog = engine.schema.current();
        if catalog.has_upkeep() {
            self.upkeep(&catalog)?;
        }
        let delivery = match &observed {
            Some((o, _)) if o.has_after() => Some(engine.delivery.lock()),
            _ => None,
        };
        let (counted, stored_change) = (self.counted, self.stored_change);
        // Nothing reads any more: the snapshot goes before the write.
        self.snapshot = None;
        let mut batch = std::mem::take(&mut self.writes).into_batch(&engine.db)?;
        if !stored_change.is_empty() {
            let meta = crate::engine::cf(&engine.db, META)?;
            batch.merge_cf(
                meta,
                crate::counts::KEY_COUNTS,
                Counts::change(stored_change),
            );
        }
        // Read before the write, for the known vertices (see module `known`).
        let before = engine.db.latest_sequence_number();
        engine
            .db
            .write_opt(batch, engine.write_options())
            .map_err(|e| engine.poison(rocks("commit failed", e)))?;
        // The objects' locks are released marked changed at the newest sequence
        // number now: later than any snapshot that does not hold this write, and no
        // later than any snapshot taken after the release (so a transaction that
        // sees the write may write the object again).
        let changed_at = engine.db.latest_sequence_number();
        engine
            .known
            .created(&self.created_vertices, before, changed_at);
        if let Some(w) = &mut self.writer {
            w.release(Some(changed_at));
        }
        let leftovers = std::mem::take(&mut self.leftovers);
        drop(self);
        let ts = engine.committed()?;
        engine.counts.committed(counted);
        // Leftovers of a finished build go now; those of a running one wait for it
        // (queued before the commit lock is released, so before the build can finish).
        let (now, later): (Vec<_>, Vec<_>) = leftovers
            .into_iter()
            .partition(|l| catalog.indexes.values().any(|i| i.id == l.index && i.ready));
        if !later.is_empty() {
            engine.schema.leftovers.lock().extend(later);
        }
        drop(commits);
        if !now.is_empty()
            && let Err(e) = engine.remove_leftovers(&catalog, now)
        {
            // The commit stands; a stale entry costs lookups a record check only.
            tracing::warn!(error = %e, "a stale index entry could not be removed");
        }
        if let (Some((observers, mut set)), Some(_in_order)) = (observed, delivery) {
            set.commit_timestamp = Some(ts);
            for (id, e) in observers.after_commit(&set) {
                tracing::warn!(observer = id.0, error = %e, "an after-commit observer failed");
            }
        }
        Ok(CommitInfo {
            commit_timestamp: ts,
        })
    }
}
