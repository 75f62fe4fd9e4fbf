//! Helpers of the schema topics (indexes, constraints, triggers): definitions, the
//! scans an index must agree with, capability checks, a small graph of people.

use std::sync::Arc;

use engine_api::{
    ChangeSet, ConstraintSpec, EdgeId, Error, ErrorKind, IndexSpec, PropertyBounds, PropertyValue,
    Result, StorageEngine, Transaction, TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec,
    VertexId,
};

use crate::EngineFactory;
use crate::support::{TestDb, expect_kind, rw};

pub(crate) fn label_prop(label: &str, props: &[&str]) -> IndexSpec {
    IndexSpec::LabelProperties {
        label: label.into(),
        properties: props.iter().map(|p| p.to_string()).collect(),
    }
}

pub(crate) fn unique(label: &str, props: &[&str]) -> ConstraintSpec {
    ConstraintSpec::Unique {
        label: label.into(),
        properties: props.iter().map(|p| p.to_string()).collect(),
    }
}

pub(crate) fn exists(label: &str, prop: &str) -> ConstraintSpec {
    ConstraintSpec::Exists {
        label: label.into(),
        property: prop.into(),
    }
}

pub(crate) fn trigger(name: &str, phase: TriggerPhase) -> TriggerSpec {
    TriggerSpec {
        name: name.into(),
        event: TriggerEvent::VertexCreate,
        phase,
        security: TriggerSecurity::Invoker,
        statement: "CREATE (:Audit {at: timestamp()})".into(),
    }
}

pub(crate) fn ids<I: Iterator<Item = Result<VertexId>>>(it: I) -> Result<Vec<VertexId>> {
    it.collect()
}

pub(crate) fn edge_ids<I: Iterator<Item = Result<engine_api::EdgeRecord>>>(
    it: I,
) -> Result<Vec<EdgeId>> {
    it.map(|e| e.map(|e| e.id)).collect()
}

/// The vertices of `label` whose properties the filters select, found by reading
/// every vertex of the label: the scan an index must agree with.
pub(crate) fn scan<T: Transaction>(
    t: &T,
    label: &str,
    filters: &[(&str, PropertyBounds)],
) -> Result<Vec<VertexId>> {
    let mut out = Vec::new();
    'vertices: for v in t.vertices_with_label(label)? {
        let v = v?;
        for (key, bounds) in filters {
            match t.vertex_property(v, key)? {
                Some(value) if bounds.matches(&value) => {}
                _ => continue 'vertices,
            }
        }
        out.push(v);
    }
    Ok(out)
}

/// Edges of `edge_type` selected by the filter, found by reading every vertex's
/// outgoing edges.
pub(crate) fn scan_edges<T: Transaction>(
    t: &T,
    edge_type: &str,
    filter: Option<(&str, &PropertyBounds)>,
) -> Result<Vec<EdgeId>> {
    let mut out = Vec::new();
    for v in t.vertices()? {
        for e in t.edges(v?, engine_api::Direction::Out, Some(edge_type))? {
            let e = e?;
            if let Some((key, bounds)) = filter {
                match t.edge_property(e.id, key)? {
                    Some(value) if bounds.matches(&value) => {}
                    _ => continue,
                }
            }
            out.push(e.id);
        }
    }
    out.sort();
    Ok(out)
}

/// True if the backend offers indexes; otherwise checks it refuses them.
pub(crate) fn indexes_offered<E: StorageEngine>(db: &E) -> bool {
    if db.capabilities().indexes {
        return true;
    }
    expect_kind(
        db.create_index(&label_prop("L", &["p"])),
        ErrorKind::Unsupported,
        "create_index without the capability",
    );
    false
}

pub(crate) fn constraints_offered<E: StorageEngine>(db: &E) -> bool {
    if db.capabilities().constraints {
        return true;
    }
    expect_kind(
        db.create_constraint(&unique("L", &["p"])),
        ErrorKind::Unsupported,
        "create_constraint without the capability",
    );
    false
}

pub(crate) fn triggers_offered<E: StorageEngine>(db: &E) -> bool {
    if db.capabilities().triggers {
        return true;
    }
    expect_kind(
        db.create_trigger(&trigger("t", TriggerPhase::AfterCommit)),
        ErrorKind::Unsupported,
        "create_trigger without the capability",
    );
    let observer: engine_api::SharedObserver = Arc::new(|_: &ChangeSet| Ok(()));
    expect_kind(
        db.add_commit_observer(TriggerPhase::AfterCommit, observer),
        ErrorKind::Unsupported,
        "add_commit_observer without the capability",
    );
    false
}

/// 300 `Person` vertices with `age` cycling 0..30 (every third a Float), a `name`, and
/// 30 `City` vertices with an `age` too (which a Person lookup must not return).
pub(crate) fn people<E: StorageEngine>(db: &E) -> Result<Vec<VertexId>> {
    let mut t = rw(db)?;
    let mut vs = Vec::new();
    for i in 0..300i64 {
        let age = if i % 3 == 0 {
            PropertyValue::Float((i % 30) as f64)
        } else {
            PropertyValue::Int(i % 30)
        };
        vs.push(t.create_vertex_with(
            &["Person"],
            &[("age", age), ("name", format!("p{i}").into())],
        )?);
    }
    for i in 0..30i64 {
        t.create_vertex_with(&["City"], &[("age", PropertyValue::Int(i))])?;
    }
    t.commit()?;
    Ok(vs)
}

#[track_caller]
pub(crate) fn expect_violation<T: std::fmt::Debug>(
    r: Result<T>,
    mentions: &[&str],
    what: &str,
) -> Error {
    match r {
        Ok(v) => panic!("{what}: expected a constraint violation, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::ConstraintViolation, "{what}: {e}");
            for m in mentions {
                assert!(e.message().contains(m), "{what}: {e} does not mention {m}");
            }
            e
        }
    }
}

pub(crate) fn reopen<F: EngineFactory>(
    db: &mut TestDb<F::Engine>,
    f: &F,
    crash: bool,
) -> Result<()> {
    if crash {
        db.crash_and_reopen(f)
    } else {
        db.close_and_reopen(f)
    }
}
