//! Checked-in data directories of each on-disk format version, opened by recovery,
//! so a change that stops old files from opening fails here. `QUIVER_WRITE_FIXTURES=1`
//! rewrites them (only when a new format version is introduced, next to the old).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine_api::{
    Date, DeleteMode, Direction, DurabilityConfig, Duration, LocalDateTime, LocalTime, Point,
    PropertyValue, StorageEngine, SyncMode, Transaction, TxnOptions, ZonedDateTime,
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

/// Writes a data directory: a snapshot, then more commits in the WAL only.
fn write_v1(dir: &Path) {
    let engine = InMemoryEngine::open(config(dir)).expect("open");
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

/// What any data directory written by `write_v1` must recover to.
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
    let fixture = fixture_dir("v1");
    if std::env::var_os("QUIVER_WRITE_FIXTURES").is_some() {
        let _ = std::fs::remove_dir_all(&fixture);
        write_v1(&fixture);
        std::fs::remove_file(fixture.join(".lock")).expect("no lock file in a fixture");
    }
    // Open a copy: recovery may write (a new WAL segment), the fixture must not change.
    let copy = tempfile::tempdir().expect("tempdir");
    for sub in ["snapshots", "wal"] {
        std::fs::create_dir_all(copy.path().join(sub)).expect("mkdir");
        for entry in std::fs::read_dir(fixture.join(sub)).expect("the v1 fixture is checked in") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), copy.path().join(sub).join(entry.file_name()))
                .expect("copy");
        }
    }
    let engine = InMemoryEngine::open(config(copy.path())).expect("a v1 data directory opens");
    check(&engine);
    // And the engine writes on from there.
    let mut t = engine.begin(TxnOptions::new()).expect("begin");
    t.create_vertex().expect("create");
    t.commit().expect("commit");
}
