//! Every property value type round-trips, including edge cases.

use std::collections::BTreeMap;

use engine_api::{
    Date, Duration, EdgeId, ErrorKind, LocalDateTime, LocalTime, MAX_NESTING_DEPTH, Point,
    PropertyValue, Result, StorageEngine, Transaction, VertexId, ZonedDateTime,
};

use crate::EngineFactory;
use crate::support::{expect_kind, fresh, rw};

/// One value of every type.
pub fn samples() -> Vec<PropertyValue> {
    let mut map = BTreeMap::new();
    map.insert("a".to_string(), PropertyValue::Int(1));
    map.insert(
        "nested".to_string(),
        PropertyValue::List(vec![PropertyValue::Null]),
    );
    vec![
        PropertyValue::Bool(true),
        PropertyValue::Bool(false),
        PropertyValue::Int(42),
        PropertyValue::Float(2.5),
        PropertyValue::String("text".into()),
        PropertyValue::List(vec![1.into(), "two".into(), 3.0.into()]),
        PropertyValue::Map(map),
        PropertyValue::Date(Date::from_ymd(1994, 12, 7).expect("valid")),
        PropertyValue::LocalTime(
            LocalTime::from_micros_since_midnight(51_044_099_099).expect("valid"),
        ),
        PropertyValue::LocalDateTime(LocalDateTime::from_micros_since_epoch(786_809_444_099_099)),
        PropertyValue::Duration(Duration::from_micros(273_906_010_011)),
        PropertyValue::ZonedDateTime(
            ZonedDateTime::new(786_809_444_099_099, -8 * 3600).expect("valid"),
        ),
        PropertyValue::Point(Point {
            srid: 7203,
            x: 1.0,
            y: 2.0,
            z: None,
        }),
        PropertyValue::Point(Point {
            srid: 9157,
            x: 1.0,
            y: -2.0,
            z: Some(3.5),
        }),
    ]
}

/// Writes each value on a vertex, commits, and reads it back in a new transaction.
fn round_trip<F: EngineFactory>(f: &F, values: &[PropertyValue]) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let mut written = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let v = t.create_vertex()?;
        t.set_vertex_property(v, "p", value.clone())?;
        assert_eq!(
            t.vertex_property(v, "p")?.as_ref(),
            Some(value),
            "value {i} read in its own transaction"
        );
        written.push((v, value));
    }
    t.commit()?;
    let r = rw(&*db)?;
    for (i, (v, value)) in written.into_iter().enumerate() {
        assert_eq!(
            r.vertex_property(v, "p")?.as_ref(),
            Some(value),
            "value {i} after commit"
        );
    }
    Ok(())
}

/// Every value type round-trips.
pub fn every_type_round_trips<F: EngineFactory>(f: &F) -> Result<()> {
    round_trip(f, &samples())
}

/// i64 extremes, -0.0, NaN, infinities and subnormals keep their exact bits.
pub fn numeric_edge_cases_round_trip<F: EngineFactory>(f: &F) -> Result<()> {
    round_trip(
        f,
        &[
            PropertyValue::Int(i64::MIN),
            PropertyValue::Int(i64::MAX),
            PropertyValue::Int(0),
            PropertyValue::Float(-0.0),
            PropertyValue::Float(f64::NAN),
            PropertyValue::Float(f64::INFINITY),
            PropertyValue::Float(f64::NEG_INFINITY),
            PropertyValue::Float(f64::MIN_POSITIVE / 4.0),
            PropertyValue::Float(f64::MAX),
            PropertyValue::Float(0.1),
        ],
    )
}

/// Empty, huge, unicode and hostile strings round-trip.
pub fn strings_round_trip<F: EngineFactory>(f: &F) -> Result<()> {
    round_trip(
        f,
        &[
            PropertyValue::String(String::new()),
            PropertyValue::String("x".repeat(1 << 20)),
            PropertyValue::String("grüße, 日本語, 🦀🦀".into()),
            PropertyValue::String("quotes \" ' ` and ; */ \\ \n\r\t\u{0}\u{7f}".into()),
        ],
    )
}

/// Values nested up to the limit round-trip; one level more is InvalidInput and
/// changes nothing.
pub fn deep_nesting_round_trips_and_too_deep_is_refused<F: EngineFactory>(f: &F) -> Result<()> {
    let mut deep = PropertyValue::Int(7);
    for i in 0..MAX_NESTING_DEPTH {
        deep = if i % 2 == 0 {
            PropertyValue::List(vec![deep])
        } else {
            PropertyValue::Map(BTreeMap::from([("k".to_string(), deep)]))
        };
    }
    round_trip(f, std::slice::from_ref(&deep))?;
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex()?;
    let too_deep = PropertyValue::List(vec![deep]);
    expect_kind(
        t.set_vertex_property(v, "p", too_deep),
        ErrorKind::InvalidInput,
        "too deep",
    );
    assert_eq!(t.vertex_property(v, "p")?, None);
    t.commit()?;
    Ok(())
}

/// Labels, edge types and keys may be any non-empty UTF-8 string.
pub fn unicode_names_work<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let names = [
        "Person",
        "with space",
        "back`tick",
        "quo\"te",
        "🦀",
        "ünï",
        ";",
    ];
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let b = t.create_vertex()?;
    for n in names {
        t.add_label(a, n)?;
        t.set_vertex_property(a, n, n.into())?;
        t.create_edge(a, b, n)?;
    }
    t.commit()?;
    let r = rw(&*db)?;
    let mut labels: Vec<String> = r.vertex_labels(a)?.iter().map(|l| l.to_string()).collect();
    labels.sort();
    let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(labels, expected);
    for n in names {
        assert!(r.has_label(a, n)?);
        assert_eq!(r.vertex_property(a, n)?, Some(n.into()));
        let edges: Vec<_> = r
            .edges(a, engine_api::Direction::Out, Some(n))?
            .collect::<Result<_>>()?;
        assert_eq!(edges.len(), 1, "one edge of type {n}");
        assert_eq!(&*edges[0].edge_type, n);
    }
    Ok(())
}

/// The empty string is refused as a label, edge type and property key.
pub fn empty_names_are_invalid_input<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex()?;
    expect_kind(t.add_label(v, ""), ErrorKind::InvalidInput, "empty label");
    expect_kind(
        t.set_vertex_property(v, "", 1.into()),
        ErrorKind::InvalidInput,
        "empty key",
    );
    expect_kind(
        t.create_edge(v, v, ""),
        ErrorKind::InvalidInput,
        "empty type",
    );
    expect_kind(
        t.create_vertex_with(&[""], &[]),
        ErrorKind::InvalidInput,
        "empty label at create",
    );
    assert!(t.vertex_labels(v)?.is_empty());
    t.commit()?;
    Ok(())
}

/// Setting Null removes a property and reports the old value.
pub fn null_removes_a_property<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&[], &[("a", 1.into()), ("b", 2.into())])?;
    assert_eq!(
        t.set_vertex_property(v, "a", PropertyValue::Null)?,
        Some(1.into())
    );
    assert_eq!(t.set_vertex_property(v, "a", PropertyValue::Null)?, None);
    t.commit()?;
    let r = rw(&*db)?;
    assert_eq!(r.vertex_property(v, "a")?, None);
    let props = r.vertex_properties(v)?;
    assert_eq!(props.len(), 1);
    assert_eq!(props.get("b"), Some(&2.into()));
    Ok(())
}

/// Edge properties of every type round-trip.
pub fn edge_properties_round_trip<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let values = samples();
    let mut t = rw(&*db)?;
    let a = t.create_vertex()?;
    let e = t.create_edge(a, a, "T")?;
    for (i, v) in values.iter().enumerate() {
        t.set_edge_property(e, &format!("k{i}"), v.clone())?;
    }
    t.commit()?;
    let r = rw(&*db)?;
    for (i, v) in values.iter().enumerate() {
        assert_eq!(r.edge_property(e, &format!("k{i}"))?.as_ref(), Some(v));
    }
    assert_eq!(r.edge_properties(e)?.len(), values.len());
    Ok(())
}

/// Compares what the borrowed reads hand out with the owned reads and with `values`
/// (`key{i}` holds `values[i]` on the vertex and the edge).
fn borrowed_match<T: Transaction>(
    t: &T,
    v: VertexId,
    e: EdgeId,
    values: &[PropertyValue],
    when: &str,
) -> Result<()> {
    for (i, value) in values.iter().enumerate() {
        let key = format!("k{i}");
        let owned = t.with_vertex_property(v, &key, |r| r.map(|r| r.to_value()))?;
        assert_eq!(owned.as_ref(), Some(value), "vertex {key} {when}");
        assert!(
            t.with_vertex_property(v, &key, |r| r.is_some_and(|r| r == *value))?,
            "vertex {key} {when}: the borrowed value compares equal to the owned one"
        );
        let owned = t.with_edge_property(e, &key, |r| r.map(|r| r.to_value()))?;
        assert_eq!(owned.as_ref(), Some(value), "edge {key} {when}");
    }
    assert!(t.with_vertex_property(v, "never-set", |r| r.is_none())?);
    let mut labels = Vec::new();
    t.for_each_label(v, |l| labels.push(l.to_string()))?;
    labels.sort();
    let mut owned: Vec<String> = t.vertex_labels(v)?.iter().map(|l| l.to_string()).collect();
    owned.sort();
    assert_eq!(labels, owned, "labels {when}");
    let record = t.edge(e)?;
    t.with_edge(e, |r| {
        assert_eq!(
            (r.id, r.edge_type, r.source, r.target),
            (record.id, &*record.edge_type, record.source, record.target),
            "edge {when}"
        );
    })?;
    Ok(())
}

/// The borrowed reads (`with_vertex_property`, `with_edge_property`,
/// `for_each_label`, `with_edge`) see what the owned reads see, for every value type,
/// in the writing transaction and after commit; they may read through the
/// transaction inside their closure; a deleted or unknown object is NotFound.
pub fn borrowed_reads_see_what_owned_reads_see<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let mut values = samples();
    values.push(PropertyValue::String("x".repeat(100)));
    let mut t = rw(&*db)?;
    let v = t.create_vertex_with(&["Person", "Admin"], &[])?;
    let w = t.create_vertex()?;
    let e = t.create_edge(v, w, "KNOWS")?;
    for (i, value) in values.iter().enumerate() {
        t.set_vertex_property(v, &format!("k{i}"), value.clone())?;
        t.set_edge_property(e, &format!("k{i}"), value.clone())?;
    }
    borrowed_match(&t, v, e, &values, "in the writing transaction")?;
    t.commit()?;
    let r = rw(&*db)?;
    borrowed_match(&r, v, e, &values, "after commit")?;
    // A read through the same transaction while the closure holds the first one.
    let nested = r.with_vertex_property(v, "k4", |outer| {
        let inner = r.with_vertex_property(v, "k4", |inner| inner.map(|i| i.to_value()));
        (outer.map(|o| o.to_value()), inner)
    })?;
    assert_eq!(nested.0, Some(values[4].clone()));
    assert_eq!(nested.1?, Some(values[4].clone()));
    drop(r);
    // Under snapshot isolation a reader that began before a change keeps reading the
    // values it began with (an in-memory backend then lends them from its versions).
    let si = engine_api::IsolationLevel::SnapshotIsolation;
    if db.capabilities().supports_isolation(si) {
        let before = db.begin(engine_api::TxnOptions::new().isolation(si))?;
        let mut w = rw(&*db)?;
        for i in 0..values.len() {
            w.set_vertex_property(v, &format!("k{i}"), PropertyValue::Int(-1))?;
            w.set_edge_property(e, &format!("k{i}"), PropertyValue::Null)?;
        }
        w.add_label(v, "Later")?;
        w.commit()?;
        borrowed_match(&before, v, e, &values, "in a snapshot older than a change")?;
        drop(before);
    }
    let mut d = rw(&*db)?;
    d.delete_vertex(v, engine_api::DeleteMode::Detach)?;
    d.commit()?;
    let r = rw(&*db)?;
    expect_kind(
        r.with_vertex_property(v, "k0", |_| ()),
        ErrorKind::NotFound,
        "deleted vertex",
    );
    expect_kind(
        r.for_each_label(v, |_| ()),
        ErrorKind::NotFound,
        "labels of a deleted vertex",
    );
    expect_kind(r.with_edge(e, |_| ()), ErrorKind::NotFound, "deleted edge");
    expect_kind(
        r.with_edge_property(e, "k0", |_| ()),
        ErrorKind::NotFound,
        "property of a deleted edge",
    );
    expect_kind(
        r.with_vertex_property(VertexId(1 << 40), "k0", |_| ()),
        ErrorKind::NotFound,
        "unknown vertex",
    );
    Ok(())
}
