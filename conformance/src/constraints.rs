//! Constraints: existence, uniqueness and type, enforced at commit (under concurrency
//! too), checked at creation against the existing data, with errors that name what was
//! violated. A backend whose capabilities declare no constraints is checked to refuse
//! them with `Unsupported`.

use std::sync::{Barrier, Mutex};

use engine_api::{
    ConstraintSpec, DeleteMode, ErrorKind, PropertyBounds, PropertyValue, Result, StorageEngine,
    Transaction, ValueType,
};

use crate::EngineFactory;
use crate::schema_support::*;
use crate::support::{expect_kind, fresh, rw};

/// An existence constraint fails the commit of a vertex of its label without the
/// property (naming constraint, label, property and vertex), and nothing of that
/// transaction stays; a vertex that has it, or another label, commits.
pub fn existence_constraint_is_enforced_at_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    db.create_constraint(&exists("Person", "name"))?;
    assert_eq!(db.constraints()?, vec![exists("Person", "name")]);
    let mut t = rw(&*db)?;
    let ok = t.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
    let bad = t.create_vertex_with(&["Person"], &[])?;
    t.create_vertex_with(&["City"], &[])?;
    let e = expect_violation(t.commit(), &["Person", "name"], "missing property");
    assert!(
        e.message().contains(&bad.0.to_string()),
        "{e} does not name vertex {bad}"
    );
    let r = rw(&*db)?;
    assert!(!r.contains_vertex(ok)?, "nothing of a failed commit stays");
    assert_eq!(r.vertex_count()?, 0);
    drop(r);
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.set_vertex_property(v, "name", PropertyValue::Null)?;
    expect_violation(t.commit(), &["name"], "removing the property");
    let mut t = rw(&*db)?;
    let w = t.create_vertex()?;
    t.add_label(w, "Person")?;
    expect_violation(t.commit(), &["Person"], "adding the label");
    // A vertex deleted in the same transaction needs nothing.
    let mut t = rw(&*db)?;
    let gone = t.create_vertex_with(&["Person"], &[])?;
    t.delete_vertex(gone, DeleteMode::Plain)?;
    t.commit()?;
    db.drop_constraint(&exists("Person", "name"))?;
    expect_kind(
        db.drop_constraint(&exists("Person", "name")),
        ErrorKind::NotFound,
        "second drop",
    );
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["Person"], &[])?;
    t.commit()?;
    Ok(())
}

/// A uniqueness constraint over one or two properties refuses duplicates (Int 1 and
/// Float 1.0 are equal), ignores vertices that lack one of the properties, and lets
/// a value be reused once its holder changed or was deleted.
pub fn uniqueness_constraint_is_enforced_at_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    db.create_constraint(&unique("User", &["email"]))?;
    db.create_constraint(&unique("Pair", &["a", "b"]))?;
    let mut t = rw(&*db)?;
    let ann = t.create_vertex_with(&["User"], &[("email", "ann@x".into())])?;
    t.create_vertex_with(&["User"], &[("email", 1.into())])?;
    t.create_vertex_with(&["User"], &[])?;
    t.create_vertex_with(&["User"], &[])?;
    t.create_vertex_with(&["Other"], &[("email", "ann@x".into())])?;
    t.create_vertex_with(&["Pair"], &[("a", 1.into()), ("b", 1.into())])?;
    t.create_vertex_with(&["Pair"], &[("a", 1.into()), ("b", 2.into())])?;
    t.create_vertex_with(&["Pair"], &[("a", 1.into())])?;
    t.create_vertex_with(&["Pair"], &[("a", 1.into())])?;
    t.commit()?;

    let mut t = rw(&*db)?;
    t.create_vertex_with(&["User"], &[("email", "ann@x".into())])?;
    expect_violation(
        t.commit(),
        &["User", "email", &ann.0.to_string()],
        "duplicate",
    );
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["User"], &[("email", PropertyValue::Float(1.0))])?;
    expect_violation(t.commit(), &["email"], "1.0 equals 1");
    let mut t = rw(&*db)?;
    t.create_vertex_with(
        &["Pair"],
        &[("a", PropertyValue::Float(1.0)), ("b", 2.into())],
    )?;
    expect_violation(t.commit(), &["Pair", "a", "b"], "composite duplicate");
    let mut t = rw(&*db)?;
    let x = t.create_vertex_with(&["User"], &[("email", "new@x".into())])?;
    let y = t.create_vertex_with(&["User"], &[("email", "new@x".into())])?;
    let e = expect_violation(t.commit(), &["email"], "two in one transaction");
    assert!(
        e.message().contains(&x.0.to_string()) || e.message().contains(&y.0.to_string()),
        "{e}"
    );

    // Moving the value away and taking it in one transaction is fine.
    let mut t = rw(&*db)?;
    t.set_vertex_property(ann, "email", "ann@y".into())?;
    let taker = t.create_vertex_with(&["User"], &[("email", "ann@x".into())])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.delete_vertex(taker, DeleteMode::Plain)?;
    t.create_vertex_with(&["User"], &[("email", "ann@x".into())])?;
    t.commit()?;
    // Removing the label lifts the constraint from the vertex.
    let mut t = rw(&*db)?;
    t.remove_label(ann, "User")?;
    t.create_vertex_with(&["User"], &[("email", "ann@y".into())])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.add_label(ann, "User")?;
    expect_violation(t.commit(), &["User"], "label added back onto a duplicate");
    Ok(())
}

/// A type constraint refuses a present property of another type (Int is not Float)
/// and accepts a missing one.
pub fn type_constraint_is_enforced_at_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    let spec = ConstraintSpec::Type {
        label: "Item".into(),
        property: "qty".into(),
        value_type: ValueType::Int,
    };
    db.create_constraint(&spec)?;
    let other_type = ConstraintSpec::Type {
        label: "Item".into(),
        property: "qty".into(),
        value_type: ValueType::String,
    };
    expect_kind(
        db.create_constraint(&other_type),
        ErrorKind::AlreadyExists,
        "a second type for one property",
    );
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["Item"], &[("qty", 3.into())])?;
    t.create_vertex_with(&["Item"], &[])?;
    t.create_vertex_with(&["Thing"], &[("qty", "many".into())])?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.set_vertex_property(v, "qty", PropertyValue::Float(3.0))?;
    expect_violation(
        t.commit(),
        &["Item", "qty", "FLOAT"],
        "float into an integer",
    );
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["Item"], &[("qty", "3".into())])?;
    expect_violation(t.commit(), &["STRING"], "string into an integer");
    Ok(())
}

/// Creating a constraint the committed data violates fails with a violation naming a
/// vertex and leaves no constraint behind; the data is untouched.
pub fn creating_a_violated_constraint_fails_and_leaves_none<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    let mut t = rw(&*db)?;
    let first = t.create_vertex_with(&["L"], &[("p", 1.into())])?;
    let dup = t.create_vertex_with(&["L"], &[("p", PropertyValue::Float(1.0))])?;
    let bare = t.create_vertex_with(&["L"], &[])?;
    t.create_vertex_with(&["L"], &[("q", "text".into())])?;
    t.commit()?;
    let e = expect_violation(
        db.create_constraint(&unique("L", &["p"])),
        &["L", "p"],
        "duplicates exist",
    );
    assert!(
        e.message().contains(&dup.0.to_string()) && e.message().contains(&first.0.to_string()),
        "{e} does not name both holders"
    );
    expect_violation(
        db.create_constraint(&exists("L", "p")),
        &["p", &bare.0.to_string()],
        "a vertex lacks the property",
    );
    expect_violation(
        db.create_constraint(&ConstraintSpec::Type {
            label: "L".into(),
            property: "q".into(),
            value_type: ValueType::Int,
        }),
        &["q", "STRING"],
        "a property of another type",
    );
    assert!(
        db.constraints()?.is_empty(),
        "a failed creation left a constraint"
    );
    // Nothing is enforced: a further duplicate commits.
    let mut t = rw(&*db)?;
    t.create_vertex_with(&["L"], &[("p", 1.into())])?;
    t.commit()?;
    // Once the committed data is clean the constraint can be made, and an
    // uncommitted duplicate written before it is checked when it commits.
    let mut t = rw(&*db)?;
    let all = ids(t.vertices_with_label("L")?)?;
    for v in all {
        t.delete_vertex(v, DeleteMode::Plain)?;
    }
    t.commit()?;
    let mut early = rw(&*db)?;
    early.create_vertex_with(&["L"], &[("p", 42.into())])?;
    early.create_vertex_with(&["L"], &[("p", 42.into())])?;
    db.create_constraint(&unique("L", &["p"]))?;
    expect_violation(
        early.commit(),
        &["p"],
        "a duplicate written before the constraint",
    );
    Ok(())
}

/// Two transactions that each add the same unique value cannot both commit, in either
/// commit order, and when the holder of the value is being changed concurrently;
/// eight threads racing for one value leave exactly one winner.
pub fn concurrent_unique_inserts_cannot_both_commit<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !constraints_offered(&*db) {
        return Ok(());
    }
    db.create_constraint(&unique("U", &["k"]))?;
    let refused = |r: Result<engine_api::CommitInfo>, what: &str| match r {
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConstraintViolation | ErrorKind::Conflict
            ) => {}
        other => panic!("{what}: expected ConstraintViolation or Conflict, got {other:?}"),
    };
    for first_commits_first in [true, false] {
        let key = PropertyValue::from(if first_commits_first { "a" } else { "b" });
        let mut t1 = rw(&*db)?;
        let mut t2 = rw(&*db)?;
        t1.create_vertex_with(&["U"], &[("k", key.clone())])?;
        match t2.create_vertex_with(&["U"], &[("k", key.clone())]) {
            Ok(_) => {
                let (win, lose) = if first_commits_first {
                    (t1, t2)
                } else {
                    (t2, t1)
                };
                win.commit()?;
                refused(lose.commit(), "second committer");
            }
            // A backend may refuse the second writer at once.
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
                t1.commit()?;
            }
        }
        let r = rw(&*db)?;
        let holders = ids(r.vertices_with_property("U", "k", &PropertyBounds::equal(key))?)?;
        assert_eq!(holders.len(), 1, "exactly one holder");
    }
    // The holder changes its value while another takes the old one: the taker may not
    // commit before the change does.
    let mut t = rw(&*db)?;
    let holder = t.create_vertex_with(&["U"], &[("k", "c".into())])?;
    t.commit()?;
    let mut mover = rw(&*db)?;
    mover.set_vertex_property(holder, "k", "d".into())?;
    let mut taker = rw(&*db)?;
    match taker.create_vertex_with(&["U"], &[("k", "c".into())]) {
        Ok(_) => refused(taker.commit(), "taker before the move committed"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
    }
    mover.commit()?;
    let mut taker = rw(&*db)?;
    taker.create_vertex_with(&["U"], &[("k", "c".into())])?;
    taker.commit()?;

    let threads = 8;
    let barrier = Barrier::new(threads);
    let winners = Mutex::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut t = rw(&*db).expect("begin");
                let created = t.create_vertex_with(&["U"], &[("k", "race".into())]);
                barrier.wait();
                let outcome = created.and_then(|_| t.commit());
                match outcome {
                    Ok(_) => *winners.lock().expect("lock") += 1,
                    Err(e) => assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::ConstraintViolation | ErrorKind::Conflict
                        ),
                        "{e}"
                    ),
                }
            });
        }
    });
    assert_eq!(
        *winners.lock().expect("lock"),
        1,
        "exactly one racer commits"
    );
    Ok(())
}
