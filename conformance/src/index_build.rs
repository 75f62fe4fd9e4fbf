//! Index builds that run while transactions write: once the build and the writers are
//! done (and the backend has settled, for example collected old versions), each
//! index holds exactly one entry per object, and lookups agree with scans.
//!
//! Not part of [`crate::ALL_TESTS`]: when entry counts become exact depends on the
//! backend, so each backend calls these with its own `settle` step.

use std::sync::atomic::{AtomicBool, Ordering};

use engine_api::{
    Direction, ErrorKind, IndexSpec, PropertyBounds, PropertyValue, Result, StorageEngine,
    Transaction, TxnOptions, VertexId,
};

fn vertex_index() -> IndexSpec {
    IndexSpec::LabelProperties {
        label: "P".into(),
        properties: vec!["x".into()],
    }
}

fn edge_index() -> IndexSpec {
    IndexSpec::EdgeTypeProperty {
        edge_type: "R".into(),
        property: "w".into(),
    }
}

fn entries<E: StorageEngine>(db: &E, spec: &IndexSpec) -> Result<u64> {
    let infos = db.indexes()?;
    let info = infos.iter().find(|i| i.spec == *spec);
    assert!(info.is_some(), "{spec} is listed");
    Ok(info.map_or(0, |i| i.entries))
}

/// `n` `P` vertices with `x` = 0, each with an `R` edge to itself with `w` = 0.
fn fill<E: StorageEngine>(db: &E, n: usize) -> Result<Vec<VertexId>> {
    let mut t = db.begin(TxnOptions::new())?;
    let mut vs = Vec::with_capacity(n);
    for _ in 0..n {
        let v = t.create_vertex_with(&["P"], &[("x", PropertyValue::Int(0))])?;
        t.create_edge_with(v, v, "R", &[("w", PropertyValue::Int(0))])?;
        vs.push(v);
    }
    t.commit()?;
    Ok(vs)
}

/// Sets `x` of `v` and `w` of its edge to `value`.
fn set_both<T: Transaction>(t: &mut T, v: VertexId, value: PropertyValue) -> Result<()> {
    t.set_vertex_property(v, "x", value.clone())?;
    let edge = t.edges(v, Direction::Out, None)?.next();
    let Some(edge) = edge else {
        panic!("vertex {v} has lost its edge");
    };
    t.set_edge_property(edge?.id, "w", value)?;
    Ok(())
}

/// Checks one lookup of each index per distinct value against the records.
fn lookups_agree<E: StorageEngine>(db: &E, vs: &[VertexId]) -> Result<()> {
    let t = db.begin(TxnOptions::new().read_only())?;
    let mut by_value = std::collections::BTreeMap::<i64, usize>::new();
    for v in vs {
        match t.vertex_property(*v, "x")? {
            Some(PropertyValue::Int(x)) => *by_value.entry(x).or_default() += 1,
            other => panic!("x of {v} is {other:?}"),
        }
    }
    for (x, n) in by_value.iter().take(30) {
        let b = PropertyBounds::equal(PropertyValue::Int(*x));
        let found = t.vertices_with_property("P", "x", &b)?.count();
        assert_eq!(found, *n, "vertices with x = {x}");
        let found = t.edges_with_type("R", Some(("w", &b)))?.count();
        assert_eq!(found, *n, "edges with w = {x}");
    }
    Ok(())
}

/// A transaction that began before the indexes existed changes indexed values and
/// commits after they were built: the entries of the values it replaced go.
pub fn a_transaction_spanning_a_build_leaves_no_stale_entry<E: StorageEngine>(
    db: &E,
    settle: impl Fn(&E),
) -> Result<()> {
    let vs = fill(db, 10)?;
    let mut t = db.begin(TxnOptions::new())?;
    set_both(&mut t, vs[3], PropertyValue::Int(7))?;
    db.create_index(&vertex_index())?;
    db.create_index(&edge_index())?;
    t.commit()?;
    settle(db);
    assert_eq!(entries(db, &vertex_index())?, 10);
    assert_eq!(entries(db, &edge_index())?, 10);
    lookups_agree(db, &vs)
}

/// Two writers change indexed values of existing vertices and edges while the
/// indexes are built.
pub fn commits_during_a_build_leave_exact_entries<E: StorageEngine + Sync>(
    db: &E,
    settle: impl Fn(&E),
) -> Result<()> {
    const N: usize = 20_000;
    let vs = fill(db, N)?;
    let stop = AtomicBool::new(false);
    let committed = std::thread::scope(|s| -> Result<u64> {
        let writers: Vec<_> = (0..2_u64)
            .map(|w| {
                let (vs, stop) = (&vs, &stop);
                s.spawn(move || -> Result<u64> {
                    let mut committed = 0_u64;
                    let mut i = w;
                    while !stop.load(Ordering::Relaxed) {
                        i = i
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let v = vs[(i >> 33) as usize % vs.len()];
                        let value = PropertyValue::Int((i >> 40) as i64 % 1000);
                        let mut t = db.begin(TxnOptions::new())?;
                        match set_both(&mut t, v, value).and_then(|()| t.commit().map(|_| ())) {
                            Ok(()) => committed += 1,
                            Err(e) if e.kind() == ErrorKind::Conflict => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(committed)
                })
            })
            .collect();
        let built = db
            .create_index(&vertex_index())
            .and_then(|()| db.create_index(&edge_index()));
        stop.store(true, Ordering::Relaxed);
        let mut committed = 0;
        for w in writers {
            match w.join() {
                Ok(n) => committed += n?,
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        built.map(|()| committed)
    })?;
    assert!(committed > 0, "the writers committed during the builds");
    settle(db);
    assert_eq!(entries(db, &vertex_index())?, N as u64);
    assert_eq!(entries(db, &edge_index())?, N as u64);
    lookups_agree(db, &vs)
}
