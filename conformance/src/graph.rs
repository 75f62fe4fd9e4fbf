//! Vertices, labels, properties and edges: create, read, update, delete.

use engine_api::{
    DeleteMode, Direction, EdgeId, EdgeRecord, ErrorKind, PropertyValue, Result, StorageEngine,
    Transaction, VertexId,
};

use crate::EngineFactory;
use crate::support::{expect_kind, fresh, rw};

fn sorted_labels<T: Transaction>(t: &T, v: VertexId) -> Result<Vec<String>> {
    let mut l: Vec<String> = t.vertex_labels(v)?.iter().map(|s| s.to_string()).collect();
    l.sort();
    Ok(l)
}

pub(crate) fn edge_list<T: Transaction>(
    t: &T,
    v: VertexId,
    d: Direction,
    ty: Option<&str>,
) -> Result<Vec<EdgeRecord>> {
    let mut e: Vec<EdgeRecord> = t.edges(v, d, ty)?.collect::<Result<_>>()?;
    e.sort_by_key(|r| r.id);
    Ok(e)
}

/// A created vertex has its labels and properties, in its transaction and after.
pub fn created_vertex_is_readable<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["A", "B"], &[("name", "Ann".into()), ("age", 42.into())])?;
    assert!(t.contains_vertex(v)?);
    assert_eq!(sorted_labels(&t, v)?, ["A", "B"]);
    t.commit()?;
    let r = rw(&*db)?;
    assert!(r.contains_vertex(v)?);
    assert_eq!(sorted_labels(&r, v)?, ["A", "B"]);
    assert!(r.has_label(v, "A")? && !r.has_label(v, "C")?);
    assert_eq!(r.vertex_property(v, "name")?, Some("Ann".into()));
    assert_eq!(r.vertex_property(v, "missing")?, None);
    let props = r.vertex_properties(v)?;
    assert_eq!(props.len(), 2);
    assert_eq!(props.get("age"), Some(&42.into()));
    Ok(())
}

/// Adding and removing labels report whether they changed anything.
pub fn labels_are_added_and_removed<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex()?;
    assert!(t.add_label(v, "A")?);
    assert!(
        !t.add_label(v, "A")?,
        "adding a present label reports false"
    );
    assert!(t.add_label(v, "B")?);
    assert!(t.remove_label(v, "A")?);
    assert!(
        !t.remove_label(v, "A")?,
        "removing an absent label reports false"
    );
    assert!(!t.remove_label(v, "NeverSeen")?);
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(sorted_labels(&r, v)?, ["B"]);
    Ok(())
}

/// A vertex keeps any number of labels (a backend may hold a few in place and more
/// elsewhere): created with many, more added, some removed, a rollback undoing its
/// changes (where the backend rolls back), each step seen whole; a persistent backend has them all after a
/// snapshot (where it takes one) and a reopen.
pub fn many_labels_are_kept_and_rolled_back<F: EngineFactory>(f: &F) -> Result<()> {
    let mut db = fresh(f)?;
    let names: Vec<String> = (0..9).map(|i| format!("L{i}")).collect();
    let first: Vec<&str> = names[..6].iter().map(String::as_str).collect();
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&first, &[])?;
    for n in &names[6..] {
        assert!(t.add_label(v, n)?);
    }
    assert!(t.remove_label(v, "L1")?);
    t.commit()?;
    let all_but_l1: Vec<String> = names.iter().filter(|n| *n != "L1").cloned().collect();
    assert_eq!(sorted_labels(&rw(&*db)?, v)?, all_but_l1);
    let mut t = rw(&*db)?;
    assert!(t.remove_label(v, "L0")?);
    assert!(t.remove_label(v, "L8")?);
    assert!(t.add_label(v, "L9")?);
    assert_eq!(
        sorted_labels(&t, v)?,
        ["L2", "L3", "L4", "L5", "L6", "L7", "L9"]
    );
    t.rollback();
    let expected: Vec<String> = if db.capabilities().rollback {
        all_but_l1
    } else {
        ["L2", "L3", "L4", "L5", "L6", "L7", "L9"]
            .map(String::from)
            .to_vec()
    };
    assert_eq!(sorted_labels(&rw(&*db)?, v)?, expected);
    if db.capabilities().persistent {
        if db.capabilities().manual_snapshots {
            db.create_snapshot()?;
        }
        db.close_and_reopen(f)?;
        assert_eq!(sorted_labels(&rw(&*db)?, v)?, expected);
    }
    Ok(())
}

/// Setting returns the previous value; replacing changes the type freely.
pub fn properties_are_set_replaced_and_removed<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex()?;
    assert_eq!(t.set_vertex_property(v, "p", 1.into())?, None);
    assert_eq!(t.set_vertex_property(v, "p", "one".into())?, Some(1.into()));
    assert_eq!(t.set_vertex_property(v, "q", 2.5.into())?, None);
    t.commit()?;
    let mut t = rw(&*db)?;
    assert_eq!(
        t.set_vertex_property(v, "p", PropertyValue::Null)?,
        Some("one".into())
    );
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(r.vertex_property(v, "p")?, None);
    assert_eq!(r.vertex_property(v, "q")?, Some(2.5.into()));
    Ok(())
}

/// An edge knows its type and endpoints; each endpoint lists it in the right
/// direction.
pub fn edges_connect_source_and_target<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    let e = t.create_edge(a, b, "KNOWS")?;
    t.commit()?;
    let r = rw(&*db)?;
    let rec = r.edge(e)?;
    assert_eq!((rec.source, rec.target, &*rec.edge_type), (a, b, "KNOWS"));
    assert!(r.contains_edge(e)?);
    assert_eq!(edge_list(&r, a, Direction::Out, None)?, vec![rec.clone()]);
    assert_eq!(edge_list(&r, b, Direction::In, None)?, vec![rec.clone()]);
    assert!(edge_list(&r, a, Direction::In, None)?.is_empty());
    assert!(edge_list(&r, b, Direction::Out, None)?.is_empty());
    assert_eq!(edge_list(&r, b, Direction::Both, None)?, vec![rec]);
    Ok(())
}

/// Two edges between the same vertices with the same type are distinct.
pub fn parallel_edges_are_distinct<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    let e1 = t.create_edge(a, b, "T")?;
    let e2 = t.create_edge(a, b, "T")?;
    assert_ne!(e1, e2);
    t.set_edge_property(e1, "n", 1.into())?;
    t.set_edge_property(e2, "n", 2.into())?;
    t.commit()?;
    let r = rw(&*db)?;
    let ids: Vec<EdgeId> = edge_list(&r, a, Direction::Out, Some("T"))?
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, {
        let mut v = vec![e1, e2];
        v.sort();
        v
    });
    assert_eq!(r.edge_property(e1, "n")?, Some(1.into()));
    assert_eq!(r.edge_property(e2, "n")?, Some(2.into()));
    Ok(())
}

/// A self-loop is one outgoing and one incoming edge, and is listed once for Both.
pub fn self_loops_are_allowed<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let e = t.create_edge(a, a, "SELF")?;
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(edge_list(&r, a, Direction::Out, None)?.len(), 1);
    assert_eq!(edge_list(&r, a, Direction::In, None)?.len(), 1);
    let both = edge_list(&r, a, Direction::Both, None)?;
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].id, e);
    let mut t = rw(&*db)?;
    expect_kind(
        t.delete_vertex(a, DeleteMode::Plain),
        ErrorKind::HasEdges,
        "plain delete of a vertex with a self-loop",
    );
    t.delete_vertex(a, DeleteMode::Detach)?;
    t.commit()?;
    let r = rw(&*db)?;
    assert!(!r.contains_vertex(a)? && !r.contains_edge(e)?);
    Ok(())
}

/// Deleting an edge removes it from both endpoints' lists.
pub fn deleting_an_edge_removes_it_from_both_endpoints<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    let e = t.create_edge(a, b, "T")?;
    let keep = t.create_edge(b, a, "T")?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.delete_edge(e)?;
    assert!(!t.contains_edge(e)?);
    t.commit()?;
    let r = rw(&*db)?;
    assert!(!r.contains_edge(e)?);
    let out_a: Vec<EdgeId> = edge_list(&r, a, Direction::Out, None)?
        .iter()
        .map(|x| x.id)
        .collect();
    assert!(out_a.is_empty());
    let in_a: Vec<EdgeId> = edge_list(&r, a, Direction::In, None)?
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(in_a, vec![keep]);
    assert!(edge_list(&r, b, Direction::In, None)?.is_empty());
    Ok(())
}

/// A plain delete of a vertex with edges fails with HasEdges, changes nothing, and
/// leaves the transaction usable.
pub fn plain_delete_of_connected_vertex_fails<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    t.create_edge(a, b, "T")?;
    t.commit()?;
    let mut t = rw(&*db)?;
    expect_kind(
        t.delete_vertex(b, DeleteMode::Plain),
        ErrorKind::HasEdges,
        "plain delete",
    );
    assert!(t.contains_vertex(b)?);
    t.set_vertex_property(b, "still", "usable".into())?;
    t.commit()?;
    let r = rw(&*db)?;
    assert!(r.contains_vertex(b)?);
    assert_eq!(r.edge_count()?, 1);
    Ok(())
}

/// A detach delete removes the vertex and every edge touching it.
pub fn detach_delete_removes_the_edges<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let hub = t.create_vertex()?;
    let others: Vec<VertexId> = (0..5).map(|_| t.create_vertex()).collect::<Result<_>>()?;
    let mut edges = Vec::new();
    for (i, o) in others.iter().enumerate() {
        edges.push(if i % 2 == 0 {
            t.create_edge(hub, *o, "OUT")?
        } else {
            t.create_edge(*o, hub, "IN")?
        });
    }
    let unrelated = t.create_edge(others[0], others[1], "X")?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.delete_vertex(hub, DeleteMode::Detach)?;
    t.commit()?;
    let r = rw(&*db)?;
    assert!(!r.contains_vertex(hub)?);
    for e in edges {
        assert!(!r.contains_edge(e)?, "edge {e} must be gone");
    }
    assert!(r.contains_edge(unrelated)?);
    for o in others {
        let all = edge_list(&r, o, Direction::Both, None)?;
        assert!(all.iter().all(|e| e.id == unrelated));
    }
    assert_eq!(r.vertex_count()?, 5);
    assert_eq!(r.edge_count()?, 1);
    Ok(())
}

fn assert_not_found_everywhere<T: Transaction>(t: &mut T, v: VertexId, e: EdgeId) {
    expect_kind(t.vertex_labels(v), ErrorKind::NotFound, "labels");
    expect_kind(t.has_label(v, "L"), ErrorKind::NotFound, "has_label");
    expect_kind(t.vertex_property(v, "p"), ErrorKind::NotFound, "property");
    expect_kind(t.vertex_properties(v), ErrorKind::NotFound, "properties");
    expect_kind(
        t.edges(v, Direction::Both, None).map(|_| ()),
        ErrorKind::NotFound,
        "edges",
    );
    expect_kind(
        t.edges(v, Direction::Out, Some("NoSuchType")).map(|_| ()),
        ErrorKind::NotFound,
        "edges of an unknown type",
    );
    expect_kind(t.edge(e), ErrorKind::NotFound, "edge");
    expect_kind(
        t.edge_property(e, "p"),
        ErrorKind::NotFound,
        "edge property",
    );
    expect_kind(t.edge_properties(e), ErrorKind::NotFound, "edge properties");
    expect_kind(t.add_label(v, "L"), ErrorKind::NotFound, "add_label");
    expect_kind(t.remove_label(v, "L"), ErrorKind::NotFound, "remove_label");
    expect_kind(
        t.set_vertex_property(v, "p", 1.into()),
        ErrorKind::NotFound,
        "set property",
    );
    expect_kind(
        t.delete_vertex(v, DeleteMode::Detach),
        ErrorKind::NotFound,
        "delete vertex",
    );
    expect_kind(t.create_edge(v, v, "T"), ErrorKind::NotFound, "create edge");
    expect_kind(
        t.set_edge_property(e, "p", 1.into()),
        ErrorKind::NotFound,
        "set edge property",
    );
    expect_kind(t.delete_edge(e), ErrorKind::NotFound, "delete edge");
}

/// Every read and write of an id that never existed is NotFound, never a panic.
pub fn unknown_ids_are_not_found<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let real = t.create_vertex()?;
    for (v, e) in [
        (VertexId(987_654), EdgeId(987_654)),
        (VertexId(u64::MAX), EdgeId(u64::MAX)),
    ] {
        assert!(!t.contains_vertex(v)?);
        assert!(!t.contains_edge(e)?);
        assert_not_found_everywhere(&mut t, v, e);
        expect_kind(
            t.create_edge(real, v, "T"),
            ErrorKind::NotFound,
            "edge to unknown",
        );
    }
    // NotFound is not a conflict: the transaction goes on.
    t.set_vertex_property(real, "ok", true.into())?;
    t.commit()?;
    Ok(())
}

/// Deleted vertices and edges are NotFound for later transactions.
pub fn deleted_ids_are_not_found<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex_with(&["L"], &[("p", 1.into())])?;
    let b = t.create_vertex()?;
    let e = t.create_edge(a, b, "T")?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.delete_vertex(a, DeleteMode::Detach)?;
    assert!(!t.contains_vertex(a)?, "own delete is visible");
    t.commit()?;
    let mut t = rw(&*db)?;
    assert!(!t.contains_vertex(a)?);
    assert_not_found_everywhere(&mut t, a, e);
    Ok(())
}

/// Ids of deleted and rolled-back objects are not handed out again.
pub fn ids_are_never_reused<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut seen_v = std::collections::BTreeSet::new();
    let mut seen_e = std::collections::BTreeSet::new();
    for round in 0..3 {
        let mut t = rw(&*db)?;
        let a = t.create_vertex()?;
        let b = t.create_vertex()?;
        let e = t.create_edge(a, b, "T")?;
        for v in [a, b] {
            assert!(seen_v.insert(v), "vertex id {v} reused in round {round}");
        }
        assert!(seen_e.insert(e), "edge id {e} reused in round {round}");
        if round == 1 {
            t.rollback();
        } else {
            t.commit()?;
            let mut d = rw(&*db)?;
            d.delete_vertex(a, DeleteMode::Detach)?;
            d.delete_vertex(b, DeleteMode::Plain)?;
            d.commit()?;
        }
    }
    Ok(())
}

/// `stats` counts the committed vertices and edges.
pub fn stats_count_committed_objects<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    let c = t.create_vertex()?;
    t.create_edge(a, b, "T")?;
    t.create_edge(b, c, "T")?;
    t.commit()?;
    let s = db.stats()?;
    assert_eq!((s.vertices, s.edges), (3, 2));
    let mut t = rw(&*db)?;
    t.delete_vertex(b, DeleteMode::Detach)?;
    t.commit()?;
    let s = db.stats()?;
    assert_eq!((s.vertices, s.edges), (2, 0));
    Ok(())
}
