//! Triggers in the catalog, and the commit observers an embedder runs them with:
//! after-commit observers see every change in commit order, before-commit ones can
//! veto. A backend whose capabilities declare no triggers is checked to refuse them with
//! `Unsupported`.

use std::sync::{Arc, Mutex};

use engine_api::{
    Change, ChangeSet, DeleteMode, Error, ErrorKind, PropertyValue, Result, StorageEngine,
    Transaction, TriggerEvent, TriggerPhase, TriggerSecurity, VertexId,
};

use crate::EngineFactory;
use crate::schema_support::*;
use crate::support::{expect_kind, fresh, rw};

/// Triggers are stored, listed by name, refused twice, and dropped.
pub fn triggers_are_stored_listed_and_dropped<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !triggers_offered(&*db) {
        return Ok(());
    }
    let b = trigger("b_audit", TriggerPhase::BeforeCommit);
    let mut a = trigger("a_log", TriggerPhase::AfterCommit);
    a.event = TriggerEvent::Any;
    a.security = TriggerSecurity::Definer;
    a.statement = "MATCH (n) WHERE n.x = \"quote\\\" `tick`\nline\" RETURN n".into();
    db.create_trigger(&b)?;
    db.create_trigger(&a)?;
    assert_eq!(db.triggers()?, vec![a.clone(), b.clone()]);
    expect_kind(db.create_trigger(&b), ErrorKind::AlreadyExists, "same name");
    let mut empty = trigger("e", TriggerPhase::AfterCommit);
    empty.statement = "  ".into();
    expect_kind(
        db.create_trigger(&empty),
        ErrorKind::InvalidInput,
        "empty statement",
    );
    db.drop_trigger("b_audit")?;
    expect_kind(
        db.drop_trigger("b_audit"),
        ErrorKind::NotFound,
        "second drop",
    );
    assert_eq!(db.triggers()?, vec![a]);
    Ok(())
}

/// After-commit observers receive every committed transaction's changes, with old
/// and new values, in commit order with its timestamp; rolled-back and read-only
/// transactions send nothing; a removed observer hears nothing more.
pub fn after_commit_observers_see_changes_in_commit_order<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !triggers_offered(&*db) {
        return Ok(());
    }
    let seen: Arc<Mutex<Vec<ChangeSet>>> = Arc::default();
    let sink = seen.clone();
    let id = db.add_commit_observer(
        TriggerPhase::AfterCommit,
        Arc::new(move |c: &ChangeSet| {
            sink.lock().expect("lock").push(c.clone());
            Ok(())
        }),
    )?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex_with(&["P"], &[("n", 1.into())])?;
    let b = t.create_vertex()?;
    let e = t.create_edge_with(a, b, "R", &[("w", 2.into())])?;
    let c1 = t.commit()?;
    let mut t = rw(&*db)?;
    t.set_vertex_property(a, "n", 5.into())?;
    t.add_label(b, "Q")?;
    t.set_edge_property(e, "w", PropertyValue::Null)?;
    t.delete_vertex(a, DeleteMode::Detach)?;
    let c2 = t.commit()?;
    let mut t = rw(&*db)?;
    t.create_vertex()?;
    t.rollback();
    let r = db.begin(engine_api::TxnOptions::new().read_only())?;
    r.commit()?;
    let got = seen.lock().expect("lock").clone();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].commit_timestamp, Some(c1.commit_timestamp));
    assert_eq!(got[1].commit_timestamp, Some(c2.commit_timestamp));
    assert!(got[0].fires(TriggerEvent::VertexCreate) && got[0].fires(TriggerEvent::EdgeCreate));
    assert!(!got[0].fires(TriggerEvent::Delete));
    assert!(got[1].fires(TriggerEvent::Delete) && got[1].fires(TriggerEvent::Update));
    let created: Vec<VertexId> = got[0]
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::VertexCreated { vertex, .. } => Some(*vertex),
            _ => None,
        })
        .collect();
    assert_eq!(created, vec![a, b]);
    assert!(got[0].changes.iter().any(|c| matches!(c,
        Change::VertexCreated { vertex, labels, properties }
            if *vertex == a && labels == &["P".to_string()]
                && properties.get("n") == Some(&PropertyValue::Int(1)))));
    assert!(got[0].changes.iter().any(|c| matches!(c,
        Change::EdgeCreated { edge, properties }
            if edge.id == e && edge.source == a && edge.target == b
                && properties.get("w") == Some(&PropertyValue::Int(2)))));
    let second = &got[1].changes;
    assert!(second.contains(&Change::VertexPropertySet {
        vertex: a,
        key: "n".into(),
        old: Some(1.into()),
        new: 5.into(),
    }));
    assert!(second.contains(&Change::LabelAdded {
        vertex: b,
        label: "Q".into(),
    }));
    assert!(second.contains(&Change::EdgePropertySet {
        edge: e,
        key: "w".into(),
        old: Some(2.into()),
        new: PropertyValue::Null,
    }));
    assert!(second.iter().any(|c| matches!(c,
        Change::EdgeDeleted { edge, .. } if edge.id == e)));
    assert!(second.iter().any(|c| matches!(c,
        Change::VertexDeleted { vertex, properties, .. }
            if *vertex == a && properties.get("n") == Some(&PropertyValue::Int(5)))));

    db.remove_commit_observer(id)?;
    expect_kind(
        db.remove_commit_observer(id),
        ErrorKind::NotFound,
        "second removal",
    );
    let mut t = rw(&*db)?;
    t.create_vertex()?;
    t.commit()?;
    assert_eq!(seen.lock().expect("lock").len(), 2);

    // Concurrent committers: deliveries come in commit-timestamp order.
    let order: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = order.clone();
    db.add_commit_observer(
        TriggerPhase::AfterCommit,
        Arc::new(move |c: &ChangeSet| {
            sink.lock()
                .expect("lock")
                .push(c.commit_timestamp.unwrap_or(0));
            Ok(())
        }),
    )?;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    let mut t = rw(&*db).expect("begin");
                    t.create_vertex().expect("create");
                    t.commit().expect("commit");
                }
            });
        }
    });
    let order = order.lock().expect("lock").clone();
    assert_eq!(order.len(), 200);
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "out of commit order: {order:?}"
    );
    Ok(())
}

/// A before-commit observer sees the changes before they are committed and can veto
/// the commit with its own error; the vetoed transaction leaves nothing.
pub fn before_commit_observers_can_veto<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !triggers_offered(&*db) {
        return Ok(());
    }
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    db.add_commit_observer(
        TriggerPhase::BeforeCommit,
        Arc::new(move |c: &ChangeSet| {
            *counter.lock().expect("lock") += 1;
            assert_eq!(c.commit_timestamp, None);
            let forbidden = c.changes.iter().any(|ch| {
                matches!(ch, Change::VertexCreated { labels, .. } if labels.iter().any(|l| l == "Forbidden"))
            });
            if forbidden {
                Err(Error::new(
                    ErrorKind::ConstraintViolation,
                    "trigger check: Forbidden vertices are not allowed",
                ))
            } else {
                Ok(())
            }
        }),
    )?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["Allowed"], &[])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    let w = t.create_vertex_with(&["Forbidden"], &[])?;
    t.set_vertex_property(v, "touched", true.into())?;
    let e = t.commit().expect_err("vetoed");
    assert_eq!(e.kind(), ErrorKind::ConstraintViolation);
    assert!(e.message().contains("trigger check"), "{e}");
    let r = rw(&*db)?;
    if db.capabilities().rollback {
        assert!(!r.contains_vertex(w)?);
        assert_eq!(r.vertex_property(v, "touched")?, None);
    } else {
        // Without rollback the veto fails the commit but cannot undo its writes.
        assert!(r.contains_vertex(w)?);
        assert_eq!(r.vertex_property(v, "touched")?, Some(true.into()));
    }
    assert_eq!(*calls.lock().expect("lock"), 2);
    Ok(())
}
