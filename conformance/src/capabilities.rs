//! The declared capabilities agree with behaviour.

use engine_api::{
    ConstraintSpec, ErrorKind, IndexSpec, IsolationLevel, Result, StorageEngine, Transaction,
    TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec, TxnOptions,
};

use crate::EngineFactory;
use crate::support::{expect_kind, fresh, rw};

const ALL_LEVELS: [IsolationLevel; 3] = [
    IsolationLevel::ReadUncommitted,
    IsolationLevel::ReadCommitted,
    IsolationLevel::SnapshotIsolation,
];

/// Every listed level can be begun and is reported by the transaction; every other
/// level is refused with Unsupported; the default level is listed.
pub fn capabilities_are_consistent<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let caps = db.capabilities().clone();
    if !caps.isolation_levels.is_empty() {
        assert!(
            caps.supports_isolation(caps.default_isolation),
            "the default isolation level must be one of the supported ones"
        );
        let t = db.begin(TxnOptions::new())?;
        assert_eq!(t.isolation_level(), caps.default_isolation);
    }
    for level in ALL_LEVELS {
        let r = db.begin(TxnOptions::new().isolation(level));
        if caps.supports_isolation(level) {
            assert_eq!(r?.isolation_level(), level);
        } else {
            expect_kind(r.map(|_| ()), ErrorKind::Unsupported, "unsupported level");
        }
    }
    if caps.wal || caps.periodic_snapshots {
        assert!(
            caps.persistent,
            "a WAL or periodic snapshots imply persistence"
        );
    }
    if caps.write_conflict_detection {
        assert!(
            caps.rollback,
            "conflict detection requires rollback of the loser"
        );
    }
    Ok(())
}

/// With `rollback` declared, a rolled-back vertex is gone; without it, it stays.
pub fn rollback_behaves_as_declared<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["L"], &[("p", 1.into())])?;
    t.rollback();
    let r = rw(&*db)?;
    assert_eq!(
        r.contains_vertex(v)?,
        !db.capabilities().rollback,
        "rollback capability says {}, behaviour disagrees",
        db.capabilities().rollback
    );
    Ok(())
}

/// With conflict detection declared, a second concurrent writer of one vertex gets
/// Conflict; without it, both writes succeed.
pub fn conflict_detection_behaves_as_declared<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex()?;
    t.commit()?;
    let mut a = rw(&*db)?;
    let mut b = rw(&*db)?;
    a.set_vertex_property(v, "x", 1.into())?;
    let second = b.set_vertex_property(v, "x", 2.into());
    if db.capabilities().write_conflict_detection {
        expect_kind(second, ErrorKind::Conflict, "second writer");
    } else {
        second?;
    }
    Ok(())
}

/// Operations the capabilities do not declare return Unsupported.
pub fn undeclared_operations_are_unsupported<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let caps = db.capabilities().clone();
    if !caps.manual_snapshots {
        expect_kind(
            db.create_snapshot(),
            ErrorKind::Unsupported,
            "create_snapshot",
        );
        expect_kind(db.snapshots(), ErrorKind::Unsupported, "snapshots");
    }
    if !caps.data_directory_lock {
        expect_kind(db.lock_data_directory(), ErrorKind::Unsupported, "lock");
        expect_kind(db.unlock_data_directory(), ErrorKind::Unsupported, "unlock");
        expect_kind(
            db.data_directory_lock_status(),
            ErrorKind::Unsupported,
            "lock status",
        );
    }
    if !caps.indexes {
        let spec = IndexSpec::Label("L".into());
        expect_kind(
            db.create_index(&spec),
            ErrorKind::Unsupported,
            "create_index",
        );
        expect_kind(db.indexes(), ErrorKind::Unsupported, "indexes");
    }
    if !caps.constraints {
        let spec = ConstraintSpec::Exists {
            label: "L".into(),
            property: "p".into(),
        };
        expect_kind(
            db.create_constraint(&spec),
            ErrorKind::Unsupported,
            "create_constraint",
        );
    }
    if !caps.triggers {
        let spec = TriggerSpec {
            name: "t".into(),
            event: TriggerEvent::Any,
            phase: TriggerPhase::AfterCommit,
            security: TriggerSecurity::Invoker,
            statement: "RETURN 1".into(),
        };
        expect_kind(
            db.create_trigger(&spec),
            ErrorKind::Unsupported,
            "create_trigger",
        );
    }
    Ok(())
}
