//! Schema operations the crash harness runs beside its commits: on one label, create
//! an index on one property, a uniqueness constraint and a trigger (those the backend
//! declares), then drop each again, round and round. After a kill the recovered
//! schema must be the one after the acknowledged operations (or after one more, the
//! operation in flight), a recovered index must answer like a scan, and a recovered
//! constraint must be enforced.

use engine_api::{
    Capabilities, ConstraintSpec, ErrorKind, IndexSpec, PropertyBounds, PropertyValue, Result,
    StorageEngine, Transaction, TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec,
    TxnOptions, VertexId,
};

/// One kind of schema object the churn creates and drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Index,
    Constraint,
    Trigger,
}

/// The schema a crash cycle churns: an index on `label`(`index_key`) and a uniqueness
/// constraint on `label`(`unique_keys`), which the harness's data satisfies.
#[derive(Debug, Clone)]
pub(super) struct SchemaChurn {
    label: &'static str,
    index_key: &'static str,
    unique_keys: &'static [&'static str],
    /// The kinds the backend supports, in the order they are created.
    kinds: Vec<Kind>,
}

impl SchemaChurn {
    /// The churn over what `caps` declares (an index, a constraint, a trigger).
    pub(super) fn new(
        caps: &Capabilities,
        label: &'static str,
        index_key: &'static str,
        unique_keys: &'static [&'static str],
    ) -> Self {
        let kinds = [
            (caps.indexes, Kind::Index),
            (caps.constraints, Kind::Constraint),
            (caps.triggers, Kind::Trigger),
        ]
        .into_iter()
        .filter_map(|(declared, kind)| declared.then_some(kind))
        .collect();
        SchemaChurn {
            label,
            index_key,
            unique_keys,
            kinds,
        }
    }

    fn index(&self) -> IndexSpec {
        IndexSpec::LabelProperties {
            label: self.label.into(),
            properties: vec![self.index_key.into()],
        }
    }

    fn constraint(&self) -> ConstraintSpec {
        ConstraintSpec::Unique {
            label: self.label.into(),
            properties: self.unique_keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn trigger(&self) -> TriggerSpec {
        TriggerSpec {
            name: "crash_audit".into(),
            event: TriggerEvent::Any,
            phase: TriggerPhase::AfterCommit,
            security: TriggerSecurity::Invoker,
            statement: "CREATE (:Audit)".into(),
        }
    }

    /// Which kinds exist after `ops` operations: operation `k` of a round of `2m`
    /// creates kind `k` (for `k < m`) or drops kind `k - m`.
    fn state_after(&self, ops: u64) -> Vec<bool> {
        let m = self.kinds.len() as u64;
        if m == 0 {
            return Vec::new();
        }
        let j = ops % (2 * m);
        (0..m).map(|i| i < j && j <= i + m).collect()
    }

    /// Runs operation number `op` (0-based; operations run in order). A backend that
    /// declares no schema object runs nothing.
    pub(super) fn step<E: StorageEngine>(&self, engine: &E, op: u64) -> Result<()> {
        let m = self.kinds.len() as u64;
        if m == 0 {
            return Ok(());
        }
        let j = op % (2 * m);
        let (kind, create) = (self.kinds[(j % m) as usize], j < m);
        match (kind, create) {
            (Kind::Index, true) => engine.create_index(&self.index()),
            (Kind::Index, false) => engine.drop_index(&self.index()),
            (Kind::Constraint, true) => engine.create_constraint(&self.constraint()),
            (Kind::Constraint, false) => engine.drop_constraint(&self.constraint()),
            (Kind::Trigger, true) => engine.create_trigger(&self.trigger()),
            (Kind::Trigger, false) => engine.drop_trigger(&self.trigger().name),
        }
    }

    /// Checks a recovered engine after `acked` acknowledged operations and returns how
    /// many operations its schema reflects (`acked` or `acked + 1`): the number to
    /// continue from. Panics, naming the difference, on anything else.
    pub(super) fn check<E: StorageEngine>(&self, engine: &E, acked: u64) -> Result<u64> {
        let mut found = Vec::new();
        for kind in &self.kinds {
            found.push(match kind {
                Kind::Index => engine.indexes()?.iter().any(|i| i.spec == self.index()),
                Kind::Constraint => engine.constraints()?.contains(&self.constraint()),
                Kind::Trigger => engine.triggers()?.iter().any(|t| *t == self.trigger()),
            });
        }
        let ops = if found == self.state_after(acked) {
            acked
        } else if found == self.state_after(acked + 1) {
            acked + 1
        } else {
            panic!(
                "after {acked} acknowledged schema operations the schema is {:?} = {found:?}, expected {:?} or {:?}",
                self.kinds,
                self.state_after(acked),
                self.state_after(acked + 1)
            );
        };
        let exists = |kind| {
            self.kinds
                .iter()
                .zip(&found)
                .any(|(k, present)| *k == kind && *present)
        };
        self.lookups_equal_scans(engine, exists(Kind::Index))?;
        if exists(Kind::Constraint) {
            self.duplicate_is_refused(engine)?;
        }
        Ok(ops)
    }

    /// Spot checks spread over the data: a lookup equals the scan's answer.
    fn lookups_equal_scans<E: StorageEngine>(&self, engine: &E, indexed: bool) -> Result<()> {
        let t = engine.begin(TxnOptions::new().read_only())?;
        let mut all: Vec<VertexId> = t.vertices_with_label(self.label)?.collect::<Result<_>>()?;
        all.sort_unstable();
        let mut values = Vec::with_capacity(all.len());
        for v in &all {
            values.push(t.vertex_property(*v, self.index_key)?);
        }
        let step = (all.len() / 7).max(1);
        for value in values.iter().step_by(step).flatten() {
            let bounds = PropertyBounds::equal(value.clone());
            let scanned: Vec<VertexId> = all
                .iter()
                .zip(&values)
                .filter(|(_, x)| x.as_ref().is_some_and(|x| bounds.matches(x)))
                .map(|(v, _)| *v)
                .collect();
            let mut looked_up: Vec<VertexId> = t
                .vertices_with_property(self.label, self.index_key, &bounds)?
                .collect::<Result<_>>()?;
            looked_up.sort_unstable();
            assert_eq!(
                looked_up, scanned,
                "a lookup after recovery differs from the scan"
            );
        }
        if indexed {
            assert!(
                t.vertex_lookup_index(self.label, &[self.index_key])?
                    .is_some(),
                "the recovered index is not used"
            );
        }
        Ok(())
    }

    /// A copy of an existing vertex's unique values must be refused.
    fn duplicate_is_refused<E: StorageEngine>(&self, engine: &E) -> Result<()> {
        let r = engine.begin(TxnOptions::new().read_only())?;
        let Some(v) = r.vertices_with_label(self.label)?.next().transpose()? else {
            return Ok(());
        };
        let mut props: Vec<(&str, PropertyValue)> = Vec::new();
        for k in self.unique_keys {
            if let Some(value) = r.vertex_property(v, k)? {
                props.push((k, value));
            }
        }
        drop(r);
        if props.len() == self.unique_keys.len() {
            let mut t = engine.begin(TxnOptions::new())?;
            t.create_vertex_with(&[self.label], &props)?;
            let e = t.commit().expect_err("a duplicate after recovery");
            assert_eq!(e.kind(), ErrorKind::ConstraintViolation, "{e}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn churn(indexes: bool, constraints: bool, triggers: bool) -> SchemaChurn {
        SchemaChurn {
            label: "L",
            index_key: "k",
            unique_keys: &["k"],
            kinds: [
                (indexes, Kind::Index),
                (constraints, Kind::Constraint),
                (triggers, Kind::Trigger),
            ]
            .into_iter()
            .filter_map(|(d, k)| d.then_some(k))
            .collect(),
        }
    }

    #[test]
    fn each_kind_exists_between_its_create_and_its_drop() {
        let all = churn(true, true, true);
        let seen: Vec<Vec<bool>> = (0..7).map(|ops| all.state_after(ops)).collect();
        assert_eq!(
            seen,
            vec![
                vec![false, false, false],
                vec![true, false, false],
                vec![true, true, false],
                vec![true, true, true],
                vec![false, true, true],
                vec![false, false, true],
                vec![false, false, false],
            ]
        );
        let two = churn(true, false, true);
        assert_eq!(two.state_after(1), vec![true, false]);
        assert_eq!(two.state_after(3), vec![false, true]);
        assert_eq!(two.state_after(4), vec![false, false]);
        assert!(churn(false, false, false).state_after(5).is_empty());
    }
}
