//! Schema operations for a backend's crash test: a child process runs them in a loop
//! beside its committing threads and reports each one acknowledged; after the kill,
//! the parent checks that the recovered schema is the one after the acknowledged
//! operations (or after one more, the operation in flight), that a recovered index
//! answers like a scan, and that a recovered constraint is enforced.
//!
//! The operations cycle through six steps on one label: create an index on one
//! property, create a uniqueness constraint, create a trigger, then drop each again.

use engine_api::{
    ConstraintSpec, ErrorKind, IndexSpec, PropertyBounds, PropertyValue, Result, StorageEngine,
    Transaction, TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec, TxnOptions, VertexId,
};

/// The schema a crash test churns: an index on `label`(`index_key`) and a uniqueness
/// constraint on `label`(`unique_keys`), which the test's data must satisfy.
#[derive(Debug, Clone)]
pub struct SchemaChurn {
    /// The label of the test's vertices.
    pub label: &'static str,
    /// The property the index covers.
    pub index_key: &'static str,
    /// The properties that are unique among the test's vertices.
    pub unique_keys: &'static [&'static str],
}

/// What exists after a number of operations: (index, constraint, trigger).
fn state_after(ops: u64) -> (bool, bool, bool) {
    let k = ops % 6;
    (
        (1..=3).contains(&k),
        (2..=4).contains(&k),
        (3..=5).contains(&k),
    )
}

impl SchemaChurn {
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

    /// Runs operation number `op` (0-based; operations run in order).
    pub fn step<E: StorageEngine>(&self, engine: &E, op: u64) -> Result<()> {
        match op % 6 {
            0 => engine.create_index(&self.index()),
            1 => engine.create_constraint(&self.constraint()),
            2 => engine.create_trigger(&self.trigger()),
            3 => engine.drop_index(&self.index()),
            4 => engine.drop_constraint(&self.constraint()),
            _ => engine.drop_trigger(&self.trigger().name),
        }
    }

    /// Checks a recovered engine after `acked` acknowledged operations and returns how
    /// many operations its schema reflects (`acked` or `acked + 1`): the number to
    /// continue from. Panics, naming the difference, on anything else.
    pub fn check<E: StorageEngine>(&self, engine: &E, acked: u64) -> Result<u64> {
        let index = engine.indexes()?.iter().any(|i| i.spec == self.index());
        let constraint = engine.constraints()?.contains(&self.constraint());
        let trigger = engine.triggers()?.iter().any(|t| *t == self.trigger());
        let found = (index, constraint, trigger);
        let ops = if found == state_after(acked) {
            acked
        } else if found == state_after(acked + 1) {
            acked + 1
        } else {
            panic!(
                "after {acked} acknowledged schema operations the schema is (index, constraint, trigger) = {found:?}, expected {:?} or {:?}",
                state_after(acked),
                state_after(acked + 1)
            );
        };
        let t = engine.begin(TxnOptions::new().read_only())?;
        let all: Vec<VertexId> = t.vertices_with_label(self.label)?.collect::<Result<_>>()?;
        // Spot checks spread over the data: lookups equal the scan's answer.
        let step = (all.len() / 7).max(1);
        for v in all.iter().step_by(step) {
            let Some(value) = t.vertex_property(*v, self.index_key)? else {
                continue;
            };
            let bounds = PropertyBounds::equal(value);
            let mut scanned = Vec::new();
            for w in &all {
                if t.vertex_property(*w, self.index_key)?
                    .is_some_and(|x| bounds.matches(&x))
                {
                    scanned.push(*w);
                }
            }
            let looked_up: Vec<VertexId> = t
                .vertices_with_property(self.label, self.index_key, &bounds)?
                .collect::<Result<_>>()?;
            assert_eq!(
                looked_up, scanned,
                "a lookup after recovery differs from the scan"
            );
        }
        if index {
            assert!(
                t.vertex_lookup_index(self.label, &[self.index_key])?
                    .is_some(),
                "the recovered index is not used"
            );
        }
        drop(t);
        if constraint && let Some(v) = all.first() {
            // A copy of an existing vertex's unique values must be refused.
            let r = engine.begin(TxnOptions::new().read_only())?;
            let mut props: Vec<(&str, PropertyValue)> = Vec::new();
            for k in self.unique_keys {
                if let Some(value) = r.vertex_property(*v, k)? {
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
        }
        Ok(ops)
    }
}
