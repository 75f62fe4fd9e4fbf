//! The graph the golden dump holds, shared by the dump tests.

use std::collections::BTreeMap;

use engine_api::{
    ConstraintSpec, Date, DeleteMode, Duration, IndexSpec, LocalDateTime, LocalTime, Point,
    PropertyValue as V, Result, StorageEngine, Transaction, TriggerEvent, TriggerPhase,
    TriggerSecurity, TriggerSpec, TxnOptions, ValueType, ZonedDateTime,
};
use engine_inmem_txn::{Config, InMemoryEngine};

pub fn graph() -> Result<InMemoryEngine> {
    let e = InMemoryEngine::open(Config::default())?;
    let mut t = e.begin(TxnOptions::new())?;
    let gone = t.create_vertex()?;
    let ann = t.create_vertex_with(
        &["Person", "Admin"],
        &[
            ("name", "Ann".into()),
            ("age", 42.into()),
            ("score", V::Float(3.0)),
            ("ratio", V::Float(1.0 / 3.0)),
            ("huge", V::Float(1e300)),
            ("tiny", V::Float(-5e-324)),
            ("nan", V::Float(f64::NAN)),
            ("inf", V::Float(f64::INFINITY)),
            ("neg_zero", V::Float(-0.0)),
            ("min", V::Int(i64::MIN)),
            ("ok", true.into()),
        ],
    )?;
    let hostile = t.create_vertex_with(
        &["we`ird; label", "__mg_vertex__x", "MATCH"],
        &[
            ("quote\"d", "a\"b\\c'd;\n\r\t\u{0}\u{7}*/ 🦀 `x`".into()),
            ("empty", "".into()),
            (
                "nested",
                V::List(vec![
                    V::Int(1),
                    V::List(vec![]),
                    V::Map(BTreeMap::from([
                        ("k`ey".to_string(), V::from("v")),
                        ("n".to_string(), V::Null),
                    ])),
                ]),
            ),
        ],
    )?;
    let date = Date::from_ymd(1994, 12, 7).expect("a date");
    let micros = ((14 * 60 + 10) * 60 + 44) * 1_000_000 + 99_099;
    let day = i64::from(date.days_since_epoch()) * engine_api::MICROS_PER_DAY;
    let times = t.create_vertex_with(
        &["Times"],
        &[
            ("date", V::Date(date)),
            (
                "time",
                V::LocalTime(LocalTime::from_micros_since_midnight(micros).expect("a time")),
            ),
            (
                "local",
                V::LocalDateTime(LocalDateTime::from_micros_since_epoch(day + micros)),
            ),
            ("dur", V::Duration(Duration::from_micros(-90_061_000_001))),
            (
                "zoned",
                V::ZonedDateTime(
                    ZonedDateTime::new(day + micros + 8 * 3_600_000_000, -8 * 3600)
                        .expect("a zoned time"),
                ),
            ),
            (
                "p2",
                V::Point(Point {
                    srid: 7203,
                    x: 1.0,
                    y: 2.5,
                    z: None,
                }),
            ),
            (
                "p3",
                V::Point(Point {
                    srid: 9757,
                    x: 1.0,
                    y: 2.0,
                    z: Some(-3.0),
                }),
            ),
        ],
    )?;
    t.create_edge_with(ann, hostile, "KNOWS", &[("since", 2019.into())])?;
    t.create_edge(ann, ann, "SELF")?;
    t.create_edge(hostile, times, "ty`pe")?;
    t.create_edge(ann, hostile, "KNOWS")?;
    t.delete_vertex(gone, DeleteMode::Plain)?;
    t.commit()?;
    e.create_index(&IndexSpec::Label("Person".into()))?;
    e.create_index(&IndexSpec::LabelProperties {
        label: "Person".into(),
        properties: vec!["name".into(), "age".into()],
    })?;
    e.create_index(&IndexSpec::EdgeType("KNOWS".into()))?;
    e.create_index(&IndexSpec::EdgeTypeProperty {
        edge_type: "KNOWS".into(),
        property: "since".into(),
    })?;
    e.create_constraint(&ConstraintSpec::Exists {
        label: "Person".into(),
        property: "name".into(),
    })?;
    e.create_constraint(&ConstraintSpec::Unique {
        label: "Person".into(),
        properties: vec!["name".into(), "age".into()],
    })?;
    e.create_constraint(&ConstraintSpec::Type {
        label: "Person".into(),
        property: "age".into(),
        value_type: ValueType::Int,
    })?;
    e.create_trigger(&TriggerSpec {
        name: "audit".into(),
        event: TriggerEvent::VertexCreate,
        phase: TriggerPhase::AfterCommit,
        security: TriggerSecurity::Invoker,
        statement: "UNWIND createdVertices AS v\nCREATE (:Audit {id: id(v)})".into(),
    })?;
    e.create_trigger(&TriggerSpec {
        name: "any".into(),
        event: TriggerEvent::Any,
        phase: TriggerPhase::BeforeCommit,
        security: TriggerSecurity::Definer,
        statement: "RETURN 1".into(),
    })?;
    Ok(e)
}
