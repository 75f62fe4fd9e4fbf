//! The commit protocol of a transaction, and its undoing: constraint checks and the
//! commit timestamp under the commit order, the WAL record and the wait for
//! durability, publication in timestamp order, observers; rolling back its writes
//! and leaving the running-transaction registry.

use super::*;
use crate::constraints::check_commit;

impl<'e> InMemoryTxn<'e> {
    /// Commits: constraint checks and the commit timestamp under the commit order,
    /// the WAL record, the wait for durability, publication in timestamp order,
    /// after-commit observers (see the crate docs' Durability section).
    pub(super) fn commit_now(mut self) -> Result<CommitInfo> {
        self.ensure_usable()?;
        if self.touched.is_empty() {
            self.arrival = None;
            self.unregister();
            return Ok(CommitInfo {
                commit_timestamp: self.start_ts,
            });
        }
        let inner = self.inner;
        // Before-commit observers see the changes first and may veto.
        let observed = match self.observed.take() {
            Some((observers, changes)) => {
                let set = ChangeSet {
                    commit_timestamp: None,
                    changes,
                };
                if let Err(e) = observers.before_commit(&set) {
                    self.arrival = None;
                    return Err(self.abort(e));
                }
                Some((observers, set))
            }
            None => None,
        };
        let wal = inner.clock.wal.as_ref();
        let payload = wal.map(|_| durability::wal::encode_ops(&self.redo));
        let arrival = self.arrival.take();
        let has_after = matches!(&observed, Some((o, _)) if o.has_after());
        // Constraint checks, timestamps and WAL records go in one order.
        let (ts, ticket, published) = {
            let mut next = inner.clock.line.order.lock();
            // Read under the commit order: a constraint created concurrently is
            // either in this catalog or was checked against this transaction's
            // writes (as validated below) before it came into force.
            let catalog = inner.schema.catalog.load();
            if !catalog.constraints.is_empty() {
                let vertices: Vec<u64> = self
                    .touched
                    .iter()
                    .filter_map(|o| match o {
                        Object::Vertex(id) => Some(*id),
                        Object::Edge(_) => None,
                    })
                    .collect();
                if let Err(e) =
                    check_commit(&inner.graph, &catalog.constraints, &vertices, &self.shared)
                {
                    drop(next);
                    drop(arrival);
                    return Err(self.abort(e));
                }
            }
            self.shared.set_validated();
            let ticket = match (wal, &payload) {
                (Some(w), Some(p)) => match w.append(*next, p) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        drop(next);
                        drop(arrival);
                        return Err(self.abort(e));
                    }
                },
                _ => None,
            };
            let ts = *next;
            *next += 1;
            // Nothing to wait for before it is visible: publish while no later
            // timestamp can be handed out.
            let published = if wal.is_none() && !has_after {
                self.leave_running();
                let mut finished = Some(self.finished(ts));
                let ready = inner.clock.publish_if_next(ts, &self.shared, &mut finished);
                if let Some(f) = finished {
                    // Not published: the slow path below needs the objects back.
                    self.touched = f.entry.objects;
                }
                ready
            } else {
                None
            };
            (ts, ticket, published)
        };
        drop(arrival);
        let durable = match (wal, ticket) {
            (Some(w), Some(t)) => w.wait(t),
            _ => Ok(()),
        };
        if let Err(e) = durable {
            // Not durable: never becomes visible. The clock still moves past `ts` so
            // later commits are not held up (they fail the same way: poisoned).
            self.leave_running();
            inner.clock.publish(ts, None, None, None);
            self.rollback_writes();
            self.unregister();
            return Err(e);
        }
        let after = match observed {
            Some((observers, mut set)) if observers.has_after() => {
                set.commit_timestamp = Some(ts);
                Some((observers, set))
            }
            _ => None,
        };
        match published {
            Some(entry) => inner.retire(entry),
            None => {
                let finished = self.finished(ts);
                self.leave_running();
                let entry = inner.clock.publish(
                    ts,
                    Some(&self.shared),
                    after.as_ref().map(|(o, set)| (&**o, set)),
                    Some(finished),
                );
                if let Some(entry) = entry {
                    inner.retire(entry);
                }
            }
        }
        self.unregister();
        Ok(CommitInfo {
            commit_timestamp: ts,
        })
    }

    /// Undoes every delta of this transaction, newest first.
    pub(super) fn rollback_writes(&mut self) {
        let inner = self.inner;
        let touched = std::mem::take(&mut self.touched);
        let catalog = inner.schema.catalog.load();
        for object in touched.into_iter().rev() {
            match object {
                Object::Vertex(id) => {
                    let Some(slot) = inner.graph.vertices.get(id) else {
                        continue;
                    };
                    let mut guard = slot.write();
                    let Some(state) = guard.as_mut() else {
                        continue;
                    };
                    if !catalog.vertex_sets.is_empty() {
                        let mine = own_deltas(&state.delta, &self.shared);
                        // Entries are a superset: a failure here only leaves extras.
                        let _ = remove_stale_vertex_keys(
                            &catalog.vertex_sets,
                            id,
                            state,
                            chain(&state.delta),
                            |n| n < mine,
                        );
                    }
                    let mut labels = Vec::new();
                    while let Some(undo) = pop_own(&mut state.delta, &self.shared) {
                        labels.extend(undo.label());
                        undo_vertex(state, undo);
                    }
                    inner.graph.settle_vertex(id, &mut guard, &labels);
                }
                Object::Edge(id) => {
                    let Some(slot) = inner.graph.edges.get(id) else {
                        continue;
                    };
                    let mut guard = slot.write();
                    let Some(state) = guard.as_mut() else {
                        continue;
                    };
                    if !catalog.edge_sets.is_empty() {
                        let mine = own_deltas(&state.delta, &self.shared);
                        let _ = remove_stale_edge_keys(
                            &catalog.edge_sets,
                            id,
                            state,
                            chain(&state.delta),
                            |n| n < mine,
                        );
                    }
                    while let Some(undo) = pop_own(&mut state.delta, &self.shared) {
                        undo_edge(state, undo);
                    }
                    settle_edge(&mut guard);
                }
            }
        }
    }

    /// What publishing commit `ts` records: its objects for collection, its counts.
    pub(super) fn finished(&mut self, ts: u64) -> Finished {
        Finished {
            entry: GcEntry {
                commit_ts: ts,
                objects: std::mem::take(&mut self.touched),
            },
            vertices: self.vertex_balance,
            edges: self.edge_balance,
        }
    }

    /// Leaves the set of running transactions (once).
    pub(super) fn unregister(&mut self) {
        self.leave_running();
        self.status = Status::Finished;
    }

    /// Leaves the running transactions' registry (once).
    pub(super) fn leave_running(&mut self) {
        if let Some(r) = self.registration.take() {
            self.inner.running.leave(r);
        }
    }
}

/// How many deltas at the head of a chain belong to `me`.
fn own_deltas(head: &Option<Box<Delta>>, me: &Arc<TxnShared>) -> usize {
    let mut n = 0;
    let mut cur = head.as_deref();
    while let Some(d) = cur.filter(|d| Arc::ptr_eq(&d.txn, me)) {
        n += 1;
        cur = d.next.as_deref();
    }
    n
}

fn pop_own(head: &mut Option<Box<Delta>>, me: &Arc<TxnShared>) -> Option<Undo> {
    if !head.as_deref().is_some_and(|d| Arc::ptr_eq(&d.txn, me)) {
        return None;
    }
    let mut d = head.take()?;
    *head = d.next.take();
    Some(crate::mvcc::spend(d))
}
