//! Every property value type round-trips, including edge cases.

use std::collections::BTreeMap;

use engine_api::{
    Date, Duration, ErrorKind, LocalDateTime, LocalTime, MAX_NESTING_DEPTH, Point, PropertyValue,
    Result, Transaction, ZonedDateTime,
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
