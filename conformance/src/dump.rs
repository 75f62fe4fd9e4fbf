//! Dumps: a database written as statements (crate `quiver-dump`) and loaded into a
//! fresh engine of the same backend is the same database. The check is the dump
//! itself: dump → load → dump gives the same bytes (a fixed point), which the writer
//! makes a full comparison (every vertex by position, label, property, edge, index,
//! constraint and trigger, in a canonical order).

use std::collections::BTreeMap;

use engine_api::{
    ConstraintSpec, DeleteMode, IndexSpec, PropertyValue, Result, StorageEngine, Transaction,
    TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec, ValueType, VertexId,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::EngineFactory;
use crate::support::{fresh, rw};

/// Names that try to break the statement form: quotes, backticks, `;`, line breaks,
/// NUL, comment ends, emoji, keywords, the dump's own helper names.
pub const HOSTILE_NAMES: &[&str] = &[
    "Person",
    "we`ird",
    "semi;colon",
    "line\nbreak",
    "nul\u{0}byte",
    "*/",
    "🦀",
    "MATCH",
    "__mg_vertex__",
    "__mg_id__",
    "\"quoted\"",
    "back\\slash",
];

fn dump_text<E: StorageEngine>(db: &E) -> Result<(String, u64)> {
    let mut out = Vec::new();
    let summary = dump::write_dump(db, &mut out, dump::DumpOptions::new())?;
    let text = String::from_utf8(out)
        .map_err(|e| engine_api::Error::corrupt(format!("a dump that is not UTF-8: {e}")))?;
    Ok((text, summary.statements))
}

/// Counts the statements of each kind in a dump, by parsing it (a name may hold a
/// line break, so lines are no measure).
fn kinds(text: &str) -> Result<BTreeMap<&'static str, u64>> {
    let mut reader = dump::StatementReader::new(text.as_bytes());
    let mut out = BTreeMap::new();
    while let Some(s) = reader.next_statement()? {
        let kind = match s.kind {
            dump::StatementKind::Vertex { .. } => "vertex",
            dump::StatementKind::Edge { .. } => "edge",
            dump::StatementKind::Helper => "helper",
            dump::StatementKind::Index(_) => "index",
            dump::StatementKind::Constraint(_) => "constraint",
            dump::StatementKind::Trigger(_) => "trigger",
        };
        *out.entry(kind).or_insert(0) += 1;
    }
    Ok(out)
}

/// Dumps `db`, loads the dump into a fresh engine of the backend, and checks the
/// fresh engine dumps the same bytes. Returns the dump.
fn round_trip<F: EngineFactory>(f: &F, db: &F::Engine) -> Result<String> {
    let (first, statements) = dump_text(db)?;
    let target = fresh(f)?;
    let loaded = dump::load_dump(
        &*target,
        first.as_bytes(),
        dump::LoadOptions::new().batch_size(7),
    )?;
    assert_eq!(loaded.statements, statements, "{first}");
    let (second, _) = dump_text(&*target)?;
    assert_eq!(second, first, "the loaded database dumps differently");
    Ok(first)
}

fn value() -> impl Strategy<Value = PropertyValue> {
    let strings = prop_oneof![
        proptest::sample::select(HOSTILE_NAMES).prop_map(PropertyValue::from),
        "\\PC{0,12}".prop_map(PropertyValue::String),
        Just(PropertyValue::String("x".repeat(5000))),
        Just(PropertyValue::String(
            "\"; MATCH (n) DETACH DELETE n; //\\'".into()
        )),
    ];
    let leaf = prop_oneof![
        any::<bool>().prop_map(PropertyValue::Bool),
        any::<i64>().prop_map(PropertyValue::Int),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0)].prop_map(PropertyValue::Int),
        any::<f64>().prop_map(PropertyValue::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(3.0),
            Just(1e300),
            Just(5e-324),
        ]
        .prop_map(PropertyValue::Float),
        strings,
        proptest::sample::select(crate::values::samples()),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(PropertyValue::List),
            proptest::collection::btree_map(
                proptest::sample::select(HOSTILE_NAMES).prop_map(String::from),
                inner,
                0..3,
            )
            .prop_map(PropertyValue::Map),
        ]
    })
}

/// A generated graph: vertices (labels, properties), edges between them (by
/// position; parallel edges and self-loops come up), and vertices deleted at the end
/// (so ids have gaps).
type Props = Vec<(&'static str, PropertyValue)>;

#[derive(Debug, Clone)]
struct Graph {
    vertices: Vec<(Vec<&'static str>, Props)>,
    edges: Vec<(usize, usize, &'static str, Props)>,
    deleted: Vec<usize>,
}

fn graph() -> impl Strategy<Value = Graph> {
    let name = || proptest::sample::select(HOSTILE_NAMES);
    let props = move || proptest::collection::vec((name(), value()), 0..4);
    let vertex = move || (proptest::collection::vec(name(), 0..3), props());
    (1usize..8)
        .prop_flat_map(move |n| {
            (
                proptest::collection::vec(vertex(), n),
                proptest::collection::vec((0..n, 0..n, name(), props()), 0..10),
                proptest::collection::vec(0..n, 0..2),
            )
        })
        .prop_map(|(vertices, edges, deleted)| Graph {
            vertices,
            edges,
            deleted,
        })
}

fn build<E: StorageEngine>(db: &E, g: &Graph) -> Result<()> {
    let mut t = rw(db)?;
    let mut ids: Vec<VertexId> = Vec::new();
    for (labels, props) in &g.vertices {
        ids.push(t.create_vertex_with(labels, props)?);
    }
    for (s, d, ty, props) in &g.edges {
        t.create_edge_with(ids[*s], ids[*d], ty, props)?;
    }
    t.commit()?;
    let mut t = rw(db)?;
    for d in &g.deleted {
        if t.contains_vertex(ids[*d])? {
            t.delete_vertex(ids[*d], DeleteMode::Detach)?;
        }
    }
    t.commit()?;
    Ok(())
}

/// Generated graphs with every value type and hostile names and strings (quotes,
/// backticks, `;`, line breaks, NUL, `*/`, emoji, keywords, the helper's names),
/// parallel edges, self-loops, isolated vertices and deleted ones: dump → load →
/// dump is the same text (24 graphs).
pub fn generated_graphs_survive_a_dump_and_load<F: EngineFactory>(f: &F) -> Result<()> {
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&graph(), |g| {
        let fail = |e: engine_api::Error| TestCaseError::fail(e.to_string());
        let db = fresh(f).map_err(fail)?;
        build(&*db, &g).map_err(fail)?;
        let text = round_trip(f, &db).map_err(fail)?;
        let stats = db.stats().map_err(fail)?;
        let k = kinds(&text).map_err(fail)?;
        let count = |kind| k.get(kind).copied().unwrap_or(0);
        prop_assert_eq!(
            (count("vertex"), count("edge")),
            (stats.vertices, stats.edges)
        );
        Ok(())
    });
    match outcome {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, g)) => panic!("minimal failing graph {g:#?}\nreason: {reason}"),
        Err(TestError::Abort(reason)) => panic!("dump test aborted: {reason}"),
    }
}

/// Indexes of every kind, constraints of every kind and triggers (those the backend
/// offers) survive a dump and load, with hostile names, and the loaded data satisfies
/// the constraints.
pub fn schema_and_triggers_survive_a_dump_and_load<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let caps = db.capabilities().clone();
    let mut t = rw(&*db)?;
    let a = t.create_vertex_with(
        &["we`ird", "Person"],
        &[("na;me", "Ann".into()), ("age", 42.into())],
    )?;
    let b = t.create_vertex_with(&["Person"], &[("na;me", "Bob".into()), ("age", 7.into())])?;
    t.create_edge_with(a, b, "KNOWS", &[("since", 2019.into())])?;
    t.commit()?;
    if caps.indexes {
        for spec in [
            IndexSpec::Label("we`ird".into()),
            IndexSpec::LabelProperties {
                label: "Person".into(),
                properties: vec!["na;me".into(), "age".into()],
            },
            IndexSpec::EdgeType("KNOWS".into()),
            IndexSpec::EdgeTypeProperty {
                edge_type: "KNOWS".into(),
                property: "since".into(),
            },
        ] {
            db.create_index(&spec)?;
        }
    }
    if caps.constraints {
        for spec in [
            ConstraintSpec::Exists {
                label: "Person".into(),
                property: "na;me".into(),
            },
            ConstraintSpec::Unique {
                label: "Person".into(),
                properties: vec!["na;me".into(), "age".into()],
            },
            ConstraintSpec::Type {
                label: "Person".into(),
                property: "age".into(),
                value_type: ValueType::Int,
            },
        ] {
            db.create_constraint(&spec)?;
        }
    }
    if caps.triggers {
        for (name, event, phase, security) in [
            (
                "on`create",
                TriggerEvent::VertexCreate,
                TriggerPhase::AfterCommit,
                TriggerSecurity::Invoker,
            ),
            (
                "any",
                TriggerEvent::Any,
                TriggerPhase::BeforeCommit,
                TriggerSecurity::Definer,
            ),
            (
                "edges",
                TriggerEvent::EdgeCreate,
                TriggerPhase::AfterCommit,
                TriggerSecurity::Invoker,
            ),
            (
                "updates",
                TriggerEvent::Update,
                TriggerPhase::AfterCommit,
                TriggerSecurity::Invoker,
            ),
            (
                "deletes",
                TriggerEvent::Delete,
                TriggerPhase::BeforeCommit,
                TriggerSecurity::Invoker,
            ),
        ] {
            db.create_trigger(&TriggerSpec {
                name: name.into(),
                event,
                phase,
                security,
                statement: "CREATE (:Audit {at: \"x;y\"})".into(),
            })?;
        }
    }
    let text = round_trip(f, &db)?;
    let count = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    // The helper index is one more CREATE INDEX.
    let expect = |offered: bool, n: usize| if offered { n } else { 0 };
    assert_eq!(
        count("CREATE INDEX") + count("CREATE EDGE INDEX"),
        1 + expect(caps.indexes, 4)
    );
    assert_eq!(count("CREATE CONSTRAINT"), expect(caps.constraints, 3));
    assert_eq!(count("CREATE TRIGGER"), expect(caps.triggers, 5));
    Ok(())
}
