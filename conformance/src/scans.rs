//! Scans and iterators: all vertices, by label, by label and property, edges by
//! direction and type; iterators see their transaction's own writes.

use std::ops::Bound;

use engine_api::{
    DeleteMode, Direction, PropertyBounds, PropertyValue, Result, StorageEngine, Transaction,
    VertexId,
};

use crate::EngineFactory;
use crate::graph::edge_list;
use crate::support::{fresh, rw};

fn collect<I: Iterator<Item = Result<VertexId>>>(it: I) -> Result<Vec<VertexId>> {
    it.collect()
}

/// `vertices()` yields every vertex once, ascending, and skips deleted ones.
pub fn all_vertices_in_ascending_order<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let ids: Vec<VertexId> = (0..50).map(|_| t.create_vertex()).collect::<Result<_>>()?;
    t.commit()?;
    let mut t = rw(&*db)?;
    for v in ids.iter().step_by(3) {
        t.delete_vertex(*v, DeleteMode::Plain)?;
    }
    t.commit()?;
    let r = rw(&*db)?;
    let expected: Vec<VertexId> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(collect(r.vertices()?)?, expected);
    Ok(())
}

/// A label scan yields exactly the vertices with that label, ascending.
pub fn label_scan_returns_only_that_label<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let mut persons = Vec::new();
    for i in 0..600 {
        let v = if i % 3 == 0 {
            t.create_vertex_with(&["Person", "Admin"], &[])?
        } else {
            t.create_vertex_with(&["City"], &[])?
        };
        if i % 3 == 0 {
            persons.push(v);
        }
    }
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(collect(r.vertices_with_label("Person")?)?, persons);
    assert_eq!(collect(r.vertices_with_label("Admin")?)?, persons);
    assert_eq!(collect(r.vertices_with_label("City")?)?.len(), 400);
    assert!(collect(r.vertices_with_label("Nobody")?)?.is_empty());
    Ok(())
}

/// A label scan reflects labels added and removed, and vertices created and deleted,
/// earlier in the same transaction.
pub fn label_scan_sees_own_writes<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex_with(&["L"], &[])?;
    let b = t.create_vertex_with(&["L"], &[])?;
    let c = t.create_vertex()?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.remove_label(a, "L")?;
    t.add_label(c, "L")?;
    let d = t.create_vertex_with(&["L"], &[])?;
    t.delete_vertex(b, DeleteMode::Plain)?;
    assert_eq!(collect(t.vertices_with_label("L")?)?, vec![c, d]);
    t.rollback();
    let r = rw(&*db)?;
    let after = collect(r.vertices_with_label("L")?)?;
    if db.capabilities().rollback {
        assert_eq!(after, vec![a, b], "a rolled-back relabel must not show");
    } else {
        assert_eq!(after, vec![c, d]);
    }
    Ok(())
}

/// Equality lookups use the total order: Int 1 finds Float 1.0, and other types
/// never match.
pub fn property_lookup_by_equality<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let one_int = t.create_vertex_with(&["L"], &[("p", 1.into())])?;
    let one_float = t.create_vertex_with(&["L"], &[("p", 1.0.into())])?;
    t.create_vertex_with(&["L"], &[("p", "1".into())])?;
    t.create_vertex_with(&["L"], &[("p", 2.into())])?;
    t.create_vertex_with(&["Other"], &[("p", 1.into())])?;
    t.create_vertex_with(&["L"], &[])?;
    t.commit()?;
    let r = rw(&*db)?;
    let found = collect(r.vertices_with_property("L", "p", &PropertyBounds::equal(1.into()))?)?;
    assert_eq!(found, vec![one_int, one_float]);
    let by_string =
        collect(r.vertices_with_property("L", "p", &PropertyBounds::equal("1".into()))?)?;
    assert_eq!(by_string.len(), 1);
    let any = collect(r.vertices_with_property("L", "p", &PropertyBounds::any())?)?;
    assert_eq!(any.len(), 4);
    assert!(collect(r.vertices_with_property("L", "nokey", &PropertyBounds::any())?)?.is_empty());
    Ok(())
}

/// Range lookups honour inclusive and exclusive bounds and stay within the bound's
/// type group.
pub fn property_lookup_by_range<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let mut by_value = Vec::new();
    for i in 0..10 {
        by_value.push(t.create_vertex_with(&["L"], &[("p", i.into())])?);
    }
    let half = t.create_vertex_with(&["L"], &[("p", 4.5.into())])?;
    t.create_vertex_with(&["L"], &[("p", "5".into())])?;
    t.commit()?;
    let r = rw(&*db)?;
    let range = PropertyBounds::range(
        Bound::Included(PropertyValue::Int(3)),
        Bound::Excluded(PropertyValue::Float(6.0)),
    );
    let got = collect(r.vertices_with_property("L", "p", &range)?)?;
    let mut want = vec![by_value[3], by_value[4], by_value[5], half];
    want.sort();
    assert_eq!(got, want);
    let open = PropertyBounds::range(Bound::Excluded(PropertyValue::Int(8)), Bound::Unbounded);
    assert_eq!(
        collect(r.vertices_with_property("L", "p", &open)?)?,
        vec![by_value[9]]
    );
    Ok(())
}

/// Edge lists filter by direction and type.
pub fn edges_by_direction_and_type<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    let c = t.create_vertex()?;
    t.create_edge(a, b, "KNOWS")?;
    t.create_edge(a, c, "LIKES")?;
    t.create_edge(c, a, "KNOWS")?;
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(edge_list(&r, a, Direction::Out, None)?.len(), 2);
    assert_eq!(edge_list(&r, a, Direction::Out, Some("KNOWS"))?.len(), 1);
    assert_eq!(edge_list(&r, a, Direction::In, Some("KNOWS"))?.len(), 1);
    assert_eq!(edge_list(&r, a, Direction::In, Some("LIKES"))?.len(), 0);
    assert_eq!(edge_list(&r, a, Direction::Both, None)?.len(), 3);
    assert_eq!(edge_list(&r, a, Direction::Both, Some("Unknown"))?.len(), 0);
    for e in edge_list(&r, a, Direction::In, None)? {
        assert_eq!(e.target, a);
    }
    Ok(())
}

/// `vertices()` and `edges()` include vertices and edges created earlier in the same
/// transaction and exclude deleted ones.
pub fn iterators_see_own_writes<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    let old = t.create_edge(a, b, "T")?;
    t.commit()?;
    let mut t = rw(&*db)?;
    let c = t.create_vertex()?;
    let new = t.create_edge(a, c, "T")?;
    t.delete_edge(old)?;
    assert_eq!(collect(t.vertices()?)?, vec![a, b, c]);
    let out: Vec<_> = edge_list(&t, a, Direction::Out, None)?
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(out, vec![new]);
    assert!(edge_list(&t, b, Direction::In, None)?.is_empty());
    Ok(())
}

/// The count helpers agree with the scans.
pub fn counts_match_scans<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let vs: Vec<VertexId> = (0..20).map(|_| t.create_vertex()).collect::<Result<_>>()?;
    for w in vs.windows(2) {
        t.create_edge(w[0], w[1], "NEXT")?;
    }
    t.create_edge(vs[0], vs[0], "SELF")?;
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(r.vertex_count()?, 20);
    assert_eq!(r.edge_count()?, 20);
    Ok(())
}
