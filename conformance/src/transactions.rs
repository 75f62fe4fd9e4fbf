//! Commit, rollback, drop, read-only transactions.

use engine_api::{
    DeleteMode, Direction, ErrorKind, Result, StorageEngine, Transaction, TxnOptions, VertexId,
};

use crate::EngineFactory;
use crate::graph::edge_list;
use crate::support::{expect_kind, fresh, observe, rw};

/// Writes committed by one transaction are visible to transactions that begin
/// afterwards.
pub fn commit_makes_writes_visible<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["L"], &[("p", 1.into())])?;
    t.commit()?;
    let r = db.begin(TxnOptions::new().read_only())?;
    assert!(r.contains_vertex(v)?);
    assert_eq!(r.vertex_property(v, "p")?, Some(1.into()));
    Ok(())
}

fn build_small_graph<E: StorageEngine>(db: &E) -> Result<Vec<VertexId>> {
    let mut t = rw(db)?;
    let a = t.create_vertex_with(&["A"], &[("p", 1.into())])?;
    let b = t.create_vertex_with(&["B"], &[("q", "x".into())])?;
    let c = t.create_vertex()?;
    let e = t.create_edge(a, b, "T")?;
    t.set_edge_property(e, "w", 1.5.into())?;
    t.create_edge(b, c, "U")?;
    t.commit()?;
    Ok(vec![a, b, c])
}

/// Rollback undoes created and deleted vertices and edges, label and property
/// changes; without declared rollback, every change stays instead.
pub fn rollback_undoes_every_kind_of_change<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let vs = build_small_graph(&*db)?;
    let before = observe(&rw(&*db)?)?;
    let mut t = rw(&*db)?;
    let (a, b, c) = (vs[0], vs[1], vs[2]);
    let n = t.create_vertex_with(&["N"], &[("new", true.into())])?;
    t.create_edge(n, a, "NEW")?;
    t.add_label(a, "Extra")?;
    t.remove_label(b, "B")?;
    t.set_vertex_property(a, "p", 2.into())?;
    t.set_vertex_property(b, "q", engine_api::PropertyValue::Null)?;
    let ab = edge_list(&t, a, Direction::Out, Some("T"))?[0].id;
    t.set_edge_property(ab, "w", 9.into())?;
    t.delete_vertex(c, DeleteMode::Detach)?;
    t.delete_edge(ab)?;
    let during = observe(&t)?;
    assert_ne!(during, before);
    t.rollback();
    let after = observe(&rw(&*db)?)?;
    if db.capabilities().rollback {
        assert_eq!(after, before, "rollback must restore the graph exactly");
    } else {
        assert_eq!(after, during, "without rollback every change stays");
    }
    Ok(())
}

/// Dropping a transaction without commit behaves like rollback.
pub fn drop_without_commit_rolls_back<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let vs = build_small_graph(&*db)?;
    let before = observe(&rw(&*db)?)?;
    {
        let mut t = rw(&*db)?;
        t.delete_vertex(vs[1], DeleteMode::Detach)?;
        t.create_vertex_with(&["Dropped"], &[])?;
    }
    let after = observe(&rw(&*db)?)?;
    assert_eq!(after == before, db.capabilities().rollback);
    Ok(())
}

/// Every write in a read-only transaction is refused with ReadOnly.
pub fn read_only_transactions_refuse_writes<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let vs = build_small_graph(&*db)?;
    let before = observe(&rw(&*db)?)?;
    let mut t = db.begin(TxnOptions::new().read_only())?;
    assert!(t.is_read_only());
    let v = vs[0];
    let e = edge_list(&t, v, Direction::Out, None)?[0].id;
    expect_kind(t.create_vertex(), ErrorKind::ReadOnly, "create_vertex");
    expect_kind(t.add_label(v, "X"), ErrorKind::ReadOnly, "add_label");
    expect_kind(t.remove_label(v, "A"), ErrorKind::ReadOnly, "remove_label");
    expect_kind(
        t.set_vertex_property(v, "p", 5.into()),
        ErrorKind::ReadOnly,
        "set property",
    );
    expect_kind(
        t.delete_vertex(v, DeleteMode::Detach),
        ErrorKind::ReadOnly,
        "delete vertex",
    );
    expect_kind(t.create_edge(v, v, "T"), ErrorKind::ReadOnly, "create edge");
    expect_kind(
        t.set_edge_property(e, "w", 1.into()),
        ErrorKind::ReadOnly,
        "set edge property",
    );
    expect_kind(t.delete_edge(e), ErrorKind::ReadOnly, "delete edge");
    t.commit()?;
    assert_eq!(observe(&rw(&*db)?)?, before);
    Ok(())
}

/// Each commit that writes gets a larger timestamp than the one before.
pub fn commit_timestamps_increase<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut last = 0;
    for i in 0..5 {
        let mut t = rw(&*db)?;
        t.create_vertex()?;
        let ts = t.commit()?.commit_timestamp;
        assert!(ts > last || i == 0, "timestamp {ts} after {last}");
        last = ts;
    }
    Ok(())
}
