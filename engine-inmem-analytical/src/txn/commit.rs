//! Commit in this mode: the writes took effect as they were made, so a commit only
//! delivers the change set to the commit observers (a vetoing before-commit observer
//! fails the commit but cannot undo the writes); a new commit timestamp is taken when
//! after-commit observers are to receive a write, in commit order.

use super::*;

impl<'e> AnalyticalTxn<'e> {
    /// Commits (see the module docs).
    pub(super) fn commit_now(mut self) -> Result<CommitInfo> {
        let Some((observers, changes)) = self.observed.take() else {
            return Ok(CommitInfo {
                commit_timestamp: self.timestamp(),
            });
        };
        let mut set = ChangeSet {
            commit_timestamp: None,
            changes,
        };
        // A veto fails the commit, but the writes are already in place (no rollback
        // in this mode): the caller learns it through the error.
        observers.before_commit(&set)?;
        if !observers.has_after() || !self.wrote {
            return Ok(CommitInfo {
                commit_timestamp: self.timestamp(),
            });
        }
        let _in_order = self.inner.clock.in_order();
        let ts = self.inner.clock.next();
        set.commit_timestamp = Some(ts);
        for (id, e) in observers.after_commit(&set) {
            tracing::warn!(observer = id.0, error = %e, "an after-commit observer failed");
        }
        Ok(CommitInfo {
            commit_timestamp: ts,
        })
    }
}
