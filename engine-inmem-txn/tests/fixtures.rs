//! Checked-in data directories of each on-disk format version, opened by recovery,
//! so a change that stops old files from opening fails here. `QUIVER_WRITE_FIXTURES=1`
//! rewrites the newest one (only when a new format version is introduced; older ones
//! were written by the code of their time and are never rewritten).
//!
//! - v1 (snapshot and WAL format 1): data only.
//! - v2 (format 2): the same data, plus schema in the snapshot and in the WAL.
//! - v3 (snapshot format 3, WAL format 2): the same as v2, with vertex degrees in the
//!   snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine_api::{
    ConstraintSpec, Date, DeleteMode, Direction, DurabilityConfig, Duration, ErrorKind, IndexSpec,
    LocalDateTime, LocalTime, Point, PropertyBounds, PropertyValue, StorageEngine, SyncMode,
    Transaction, TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec, TxnOptions,
    ZonedDateTime,
};
use engine_inmem_txn::{Config, InMemoryEngine};

fn fixture_dir(version: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(version)
}

fn values() -> Vec<PropertyValue> {
    vec![
        PropertyValue::Bool(true),
        PropertyValue::Int(i64::MIN),
        PropertyValue::Float(-0.0),
        PropertyValue::Float(f64::NAN),
        PropertyValue::String("quo\"te `tick` 🦀\n".into()),
        PropertyValue::List(vec![1.into(), PropertyValue::Null, "x".into()]),
        PropertyValue::Map(BTreeMap::from([("k".to_string(), 2.5.into())])),
        PropertyValue::Date(Date::from_ymd(1994, 12, 7).expect("date")),
        PropertyValue::LocalTime(LocalTime::from_micros_since_midnight(51_044_099_099).expect("t")),
        PropertyValue::LocalDateTime(LocalDateTime::from_micros_since_epoch(786_809_444_099_099)),
        PropertyValue::Duration(Duration::from_micros(-273_906_010_011)),
        PropertyValue::ZonedDateTime(ZonedDateTime::new(786_809_444_099_099, -28_800).expect("z")),
        PropertyValue::Point(Point {
            srid: 9157,
            x: 1.0,
            y: -2.0,
            z: Some(3.5),
        }),
    ]
}

fn config(dir: &Path) -> Config {
    Config::default().data_directory(dir).durability(
        DurabilityConfig::default()
            .sync_mode(SyncMode::EveryCommit)
            .snapshot_interval(None)
            .snapshot_on_exit(false),
    )
}

/// Writes the newest fixture: a snapshot, then more commits in the WAL only, with
/// schema operations before the snapshot and after it. (The v1 fixture was written
/// by the same data steps, without the schema.)
fn write_newest(dir: &Path) {
    let engine = InMemoryEngine::open(config(dir)).expect("open");
    engine.create_index(&value_index()).expect("index");
    engine.create_constraint(&unique_i()).expect("constraint");
    engine.create_trigger(&trigger("audit")).expect("trigger");
    engine.create_trigger(&trigger("gone")).expect("trigger");
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    let mut vs = Vec::new();
    for (i, v) in values().into_iter().enumerate() {
        vs.push(
            t.create_vertex_with(
                &["Value", if i % 2 == 0 { "Even" } else { "Odd" }],
                &[("v", v), ("i", (i as i64).into())],
            )
            .expect("create"),
        );
    }
    for w in vs.windows(2) {
        t.create_edge_with(w[0], w[1], "NEXT", &[("w", 0.5.into())])
            .expect("edge");
    }
    t.commit().expect("commit");
    engine.create_snapshot().expect("snapshot");
    engine.create_index(&next_index()).expect("edge index");
    engine.drop_trigger("gone").expect("drop trigger");
    engine
        .create_constraint(&late_name())
        .expect("constraint after the snapshot");
    // After the snapshot: only in the WAL.
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.delete_vertex(vs[3], DeleteMode::Detach).expect("delete");
    t.remove_label(vs[4], "Value").expect("remove label");
    t.set_vertex_property(vs[5], "v", PropertyValue::Null)
        .expect("unset");
    let late = t
        .create_vertex_with(&["Late"], &[("name", "after the snapshot".into())])
        .expect("create");
    t.create_edge(late, vs[0], "BACK").expect("edge");
    t.commit().expect("commit");
}

fn value_index() -> IndexSpec {
    IndexSpec::LabelProperties {
        label: "Value".into(),
        properties: vec!["i".into()],
    }
}

fn next_index() -> IndexSpec {
    IndexSpec::EdgeTypeProperty {
        edge_type: "NEXT".into(),
        property: "w".into(),
    }
}

fn unique_i() -> ConstraintSpec {
    ConstraintSpec::Unique {
        label: "Value".into(),
        properties: vec!["i".into()],
    }
}

fn late_name() -> ConstraintSpec {
    ConstraintSpec::Exists {
        label: "Late".into(),
        property: "name".into(),
    }
}

fn trigger(name: &str) -> TriggerSpec {
    TriggerSpec {
        name: name.into(),
        event: TriggerEvent::Any,
        phase: TriggerPhase::AfterCommit,
        security: TriggerSecurity::Invoker,
        statement: "CREATE (:Audit)".into(),
    }
}

/// The schema a v2 directory recovers to, checked through use: lookups by index,
/// constraints refusing commits.
fn check_schema(engine: &InMemoryEngine) {
    let listed: Vec<IndexSpec> = engine
        .indexes()
        .expect("list")
        .into_iter()
        .map(|i| i.spec)
        .collect();
    assert_eq!(listed, vec![value_index(), next_index()]);
    assert_eq!(
        engine.constraints().expect("list"),
        vec![late_name(), unique_i()]
    );
    assert_eq!(engine.triggers().expect("list"), vec![trigger("audit")]);
    let t = engine.begin(TxnOptions::new()).expect("begin");
    assert_eq!(
        t.vertex_lookup_index("Value", &["i"]).expect("plan"),
        Some(value_index())
    );
    let two: Vec<_> = t
        .vertices_with_property("Value", "i", &PropertyBounds::equal(2.into()))
        .expect("lookup")
        .collect::<Result<_, _>>()
        .expect("ids");
    assert_eq!(two.len(), 1);
    assert_eq!(
        t.edges_with_type("NEXT", Some(("w", &PropertyBounds::equal(0.5.into()))))
            .expect("edges")
            .count(),
        10
    );
    drop(t);
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex_with(&["Value"], &[("i", 2.into())])
        .expect("create");
    assert_eq!(
        t.commit().expect_err("unique").kind(),
        ErrorKind::ConstraintViolation
    );
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex_with(&["Late"], &[]).expect("create");
    assert_eq!(
        t.commit().expect_err("exists").kind(),
        ErrorKind::ConstraintViolation
    );
}

/// Copies a fixture's files into a fresh directory (recovery may write; the fixture
/// must not change).
fn copy_of(fixture: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("tempdir");
    for sub in ["snapshots", "wal"] {
        std::fs::create_dir_all(copy.path().join(sub)).expect("mkdir");
        for entry in std::fs::read_dir(fixture.join(sub)).expect("the fixture is checked in") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), copy.path().join(sub).join(entry.file_name()))
                .expect("copy");
        }
    }
    copy
}

/// What the data of every fixture recovers to.
fn check(engine: &InMemoryEngine) {
    let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
    let values = values();
    let vs: Vec<_> = t
        .vertices()
        .expect("scan")
        .collect::<Result<_, _>>()
        .expect("scan");
    assert_eq!(
        vs.len(),
        values.len(),
        "12 of 13 values plus one late vertex"
    );
    for v in &vs {
        if t.has_label(*v, "Late").expect("label") {
            assert_eq!(
                t.vertex_property(*v, "name").expect("read"),
                Some("after the snapshot".into())
            );
            let back: Vec<_> = t
                .edges(*v, Direction::Out, Some("BACK"))
                .expect("edges")
                .collect::<Result<_, _>>()
                .expect("edges");
            assert_eq!(back.len(), 1);
            continue;
        }
        let Some(PropertyValue::Int(i)) = t.vertex_property(*v, "i").expect("read") else {
            panic!("vertex {v} lost its index");
        };
        let i = i as usize;
        assert_ne!(i, 3, "vertex 3 was deleted");
        let expected = if i == 5 {
            None
        } else {
            Some(values[i].clone())
        };
        assert_eq!(
            t.vertex_property(*v, "v").expect("read"),
            expected,
            "value {i}"
        );
        assert_eq!(t.has_label(*v, "Value").expect("label"), i != 4);
    }
    // 12 NEXT edges, minus the two that touched the deleted vertex, plus BACK.
    assert_eq!(t.edge_count().expect("count"), 11);
}

#[test]
fn format_version_1_still_opens() {
    let copy = copy_of(&fixture_dir("v1"));
    let engine = InMemoryEngine::open(config(copy.path())).expect("a v1 data directory opens");
    check(&engine);
    assert!(engine.indexes().expect("list").is_empty());
    // And the engine writes on from there.
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex().expect("create");
    t.commit().expect("commit");
}

fn opens_with_its_schema(version: &str) {
    let copy = copy_of(&fixture_dir(version));
    let engine = InMemoryEngine::open(config(copy.path()))
        .unwrap_or_else(|e| panic!("a {version} data directory does not open: {e}"));
    check(&engine);
    check_schema(&engine);
    // And the engine writes on from there.
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex().expect("create");
    t.commit().expect("commit");
}

#[test]
fn format_version_2_still_opens_with_its_schema() {
    opens_with_its_schema("v2");
}

#[test]
fn format_version_3_opens_with_its_schema() {
    let fixture = fixture_dir("v3");
    if std::env::var_os("QUIVER_WRITE_FIXTURES").is_some() {
        let _ = std::fs::remove_dir_all(&fixture);
        write_newest(&fixture);
        std::fs::remove_file(fixture.join(".lock")).expect("no lock file in a fixture");
    }
    let snapshot = std::fs::read_dir(fixture.join("snapshots"))
        .expect("the fixture is checked in")
        .next()
        .expect("a snapshot")
        .expect("entry")
        .path();
    let bytes = std::fs::read(snapshot).expect("read");
    assert_eq!(
        u16::from_le_bytes([bytes[8], bytes[9]]),
        durability::snapshot::SNAPSHOT_VERSION,
        "the newest fixture holds a snapshot of the newest format"
    );
    opens_with_its_schema("v3");
}
