//! Schema definitions in durable form: the schema records of the WAL, the schema
//! block of a snapshot, and the definitions engine-ondisk keeps in its metadata.
//!
//! # Format
//! ```text
//! op          tag (u8), then by tag:
//!             1 create index, 2 drop index: index
//!             3 create constraint, 4 drop constraint: constraint
//!             5 create trigger: trigger      6 drop trigger: name
//! index       tag (u8): 1 label (label) · 2 label+properties (label, count, keys)
//!             · 3 edge type (type) · 4 edge type+property (type, key)
//! constraint  tag (u8): 1 exists (label, key) · 2 unique (label, count, keys)
//!             · 3 type (label, key, value type (u8, 0 = Bool ... 11 = Point))
//! trigger     name, event (u8: 0 any, 1 vertex create, 2 edge create, 3 update,
//!             4 delete), phase (u8: 0 before, 1 after commit), security (u8: 0
//!             invoker, 1 definer), statement
//! ```
//! Names and the statement are strings (varint length, UTF-8); counts are varints.

use engine_api::codec::{DecodeError, Decoder};
use engine_api::{
    ConstraintSpec, IndexSpec, TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec, ValueType,
};

use crate::format::put_str;

pub use engine_api::image::SchemaOp;

fn put_names(out: &mut Vec<u8>, names: &[String]) {
    engine_api::codec::put_uvarint(out, names.len() as u64);
    for n in names {
        put_str(out, n);
    }
}

/// Appends the encoding of an index definition.
pub fn encode_index(spec: &IndexSpec, out: &mut Vec<u8>) {
    match spec {
        IndexSpec::Label(l) => {
            out.push(1);
            put_str(out, l);
        }
        IndexSpec::LabelProperties { label, properties } => {
            out.push(2);
            put_str(out, label);
            put_names(out, properties);
        }
        IndexSpec::EdgeType(t) => {
            out.push(3);
            put_str(out, t);
        }
        IndexSpec::EdgeTypeProperty {
            edge_type,
            property,
        } => {
            out.push(4);
            put_str(out, edge_type);
            put_str(out, property);
        }
    }
}

/// Appends the encoding of a constraint definition.
pub fn encode_constraint(spec: &ConstraintSpec, out: &mut Vec<u8>) {
    match spec {
        ConstraintSpec::Exists { label, property } => {
            out.push(1);
            put_str(out, label);
            put_str(out, property);
        }
        ConstraintSpec::Unique { label, properties } => {
            out.push(2);
            put_str(out, label);
            put_names(out, properties);
        }
        ConstraintSpec::Type {
            label,
            property,
            value_type,
        } => {
            out.push(3);
            put_str(out, label);
            put_str(out, property);
            let code = ValueType::ALL
                .iter()
                .position(|t| t == value_type)
                .unwrap_or(0);
            out.push(code as u8);
        }
    }
}

/// Appends the encoding of a trigger.
pub fn encode_trigger(spec: &TriggerSpec, out: &mut Vec<u8>) {
    put_str(out, &spec.name);
    out.push(match spec.event {
        TriggerEvent::Any => 0,
        TriggerEvent::VertexCreate => 1,
        TriggerEvent::EdgeCreate => 2,
        TriggerEvent::Update => 3,
        TriggerEvent::Delete => 4,
    });
    out.push(match spec.phase {
        TriggerPhase::BeforeCommit => 0,
        TriggerPhase::AfterCommit => 1,
    });
    out.push(match spec.security {
        TriggerSecurity::Invoker => 0,
        TriggerSecurity::Definer => 1,
    });
    put_str(out, &spec.statement);
}

/// Appends the encoding of one schema change.
pub fn encode_schema_op(op: &SchemaOp, out: &mut Vec<u8>) {
    match op {
        SchemaOp::CreateIndex(s) => {
            out.push(1);
            encode_index(s, out);
        }
        SchemaOp::DropIndex(s) => {
            out.push(2);
            encode_index(s, out);
        }
        SchemaOp::CreateConstraint(s) => {
            out.push(3);
            encode_constraint(s, out);
        }
        SchemaOp::DropConstraint(s) => {
            out.push(4);
            encode_constraint(s, out);
        }
        SchemaOp::CreateTrigger(s) => {
            out.push(5);
            encode_trigger(s, out);
        }
        SchemaOp::DropTrigger(name) => {
            out.push(6);
            put_str(out, name);
        }
    }
}

fn err(d: &Decoder<'_>, reason: &'static str) -> DecodeError {
    DecodeError {
        offset: d.position(),
        reason,
    }
}

fn tag(d: &mut Decoder<'_>) -> Result<u8, DecodeError> {
    Ok(d.bytes(1)?[0])
}

fn string(d: &mut Decoder<'_>) -> Result<String, DecodeError> {
    let n = d.uvarint()?;
    let at = d.position();
    let b = d.bytes(usize::try_from(n).unwrap_or(usize::MAX))?;
    String::from_utf8(b.to_vec()).map_err(|_| DecodeError {
        offset: at,
        reason: "name is not UTF-8",
    })
}

/// A name as the contract accepts it (never empty).
fn name(d: &mut Decoder<'_>) -> Result<String, DecodeError> {
    let at = d.position();
    let s = string(d)?;
    if s.is_empty() {
        return Err(DecodeError {
            offset: at,
            reason: "empty name in a schema definition",
        });
    }
    Ok(s)
}

fn names(d: &mut Decoder<'_>) -> Result<Vec<String>, DecodeError> {
    let n = d.uvarint()?;
    if n == 0 {
        return Err(err(d, "schema definition without properties"));
    }
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(name(d)?);
    }
    Ok(v)
}

/// Decodes an index definition.
pub fn decode_index(d: &mut Decoder<'_>) -> Result<IndexSpec, DecodeError> {
    Ok(match tag(d)? {
        1 => IndexSpec::Label(name(d)?),
        2 => IndexSpec::LabelProperties {
            label: name(d)?,
            properties: names(d)?,
        },
        3 => IndexSpec::EdgeType(name(d)?),
        4 => IndexSpec::EdgeTypeProperty {
            edge_type: name(d)?,
            property: name(d)?,
        },
        _ => return Err(err(d, "unknown index kind")),
    })
}

/// Decodes a constraint definition.
pub fn decode_constraint(d: &mut Decoder<'_>) -> Result<ConstraintSpec, DecodeError> {
    Ok(match tag(d)? {
        1 => ConstraintSpec::Exists {
            label: name(d)?,
            property: name(d)?,
        },
        2 => ConstraintSpec::Unique {
            label: name(d)?,
            properties: names(d)?,
        },
        3 => {
            let label = name(d)?;
            let property = name(d)?;
            let code = tag(d)?;
            let value_type = *ValueType::ALL
                .get(usize::from(code))
                .ok_or_else(|| err(d, "unknown value type"))?;
            ConstraintSpec::Type {
                label,
                property,
                value_type,
            }
        }
        _ => return Err(err(d, "unknown constraint kind")),
    })
}

/// Decodes a trigger.
pub fn decode_trigger(d: &mut Decoder<'_>) -> Result<TriggerSpec, DecodeError> {
    let name = name(d)?;
    let event = match tag(d)? {
        0 => TriggerEvent::Any,
        1 => TriggerEvent::VertexCreate,
        2 => TriggerEvent::EdgeCreate,
        3 => TriggerEvent::Update,
        4 => TriggerEvent::Delete,
        _ => return Err(err(d, "unknown trigger event")),
    };
    let phase = match tag(d)? {
        0 => TriggerPhase::BeforeCommit,
        1 => TriggerPhase::AfterCommit,
        _ => return Err(err(d, "unknown trigger phase")),
    };
    let security = match tag(d)? {
        0 => TriggerSecurity::Invoker,
        1 => TriggerSecurity::Definer,
        _ => return Err(err(d, "unknown trigger security mode")),
    };
    Ok(TriggerSpec {
        name,
        event,
        phase,
        security,
        statement: string(d)?,
    })
}

/// Decodes one schema change.
pub fn decode_schema_op(d: &mut Decoder<'_>) -> Result<SchemaOp, DecodeError> {
    Ok(match tag(d)? {
        1 => SchemaOp::CreateIndex(decode_index(d)?),
        2 => SchemaOp::DropIndex(decode_index(d)?),
        3 => SchemaOp::CreateConstraint(decode_constraint(d)?),
        4 => SchemaOp::DropConstraint(decode_constraint(d)?),
        5 => SchemaOp::CreateTrigger(decode_trigger(d)?),
        6 => SchemaOp::DropTrigger(name(d)?),
        _ => return Err(err(d, "unknown schema operation")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops() -> Vec<SchemaOp> {
        let label = "L `odd` 🦀".to_string();
        vec![
            SchemaOp::CreateIndex(IndexSpec::Label(label.clone())),
            SchemaOp::CreateIndex(IndexSpec::LabelProperties {
                label: label.clone(),
                properties: vec!["a".into(), "b".into()],
            }),
            SchemaOp::DropIndex(IndexSpec::EdgeType("T".into())),
            SchemaOp::CreateIndex(IndexSpec::EdgeTypeProperty {
                edge_type: "T".into(),
                property: "w".into(),
            }),
            SchemaOp::CreateConstraint(ConstraintSpec::Exists {
                label: label.clone(),
                property: "p".into(),
            }),
            SchemaOp::DropConstraint(ConstraintSpec::Unique {
                label: label.clone(),
                properties: vec!["x".into()],
            }),
            SchemaOp::CreateConstraint(ConstraintSpec::Type {
                label,
                property: "p".into(),
                value_type: ValueType::Point,
            }),
            SchemaOp::CreateTrigger(TriggerSpec {
                name: "t".into(),
                event: TriggerEvent::Delete,
                phase: TriggerPhase::BeforeCommit,
                security: TriggerSecurity::Definer,
                statement: "MATCH (n) RETURN n;\n".into(),
            }),
            SchemaOp::DropTrigger("t".into()),
        ]
    }

    #[test]
    fn every_schema_op_round_trips() {
        for op in ops() {
            let mut buf = Vec::new();
            encode_schema_op(&op, &mut buf);
            let mut d = Decoder::new(&buf);
            assert_eq!(decode_schema_op(&mut d).expect("decodes"), op);
            assert!(d.is_empty(), "{op:?} left bytes behind");
        }
    }

    #[test]
    fn truncated_or_unknown_schema_ops_are_errors() {
        for op in ops() {
            let mut buf = Vec::new();
            encode_schema_op(&op, &mut buf);
            for cut in 0..buf.len() {
                assert!(
                    decode_schema_op(&mut Decoder::new(&buf[..cut])).is_err(),
                    "{op:?} cut at {cut} decoded"
                );
            }
        }
        assert!(decode_schema_op(&mut Decoder::new(&[9])).is_err());
        assert!(decode_schema_op(&mut Decoder::new(&[1, 9])).is_err());
    }
}
