//! The bytes of a WAL record: logged operations, their encoding and the record frame.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine_api::PropertyValue;
use engine_api::codec::{Decoder, encode_value, put_uvarint};

use crate::format::put_str;

use super::RECORD_HEADER;

/// One logged change.
#[derive(Debug, Clone, PartialEq)]
pub enum WalOp {
    /// A vertex was created.
    CreateVertex {
        /// Its id.
        id: u64,
        /// Its labels.
        labels: Vec<String>,
        /// Its properties.
        properties: Vec<(String, PropertyValue)>,
    },
    /// A label was added.
    AddLabel {
        /// The vertex.
        vertex: u64,
        /// The label.
        label: String,
    },
    /// A label was removed.
    RemoveLabel {
        /// The vertex.
        vertex: u64,
        /// The label.
        label: String,
    },
    /// A vertex property was set (`Null`: removed).
    SetVertexProperty {
        /// The vertex.
        vertex: u64,
        /// The key.
        key: String,
        /// The new value.
        value: PropertyValue,
    },
    /// A vertex was deleted (its edges were deleted by earlier ops).
    DeleteVertex {
        /// The vertex.
        vertex: u64,
    },
    /// An edge was created.
    CreateEdge {
        /// Its id.
        id: u64,
        /// Source vertex.
        source: u64,
        /// Target vertex.
        target: u64,
        /// Edge type.
        edge_type: String,
        /// Its properties.
        properties: Vec<(String, PropertyValue)>,
    },
    /// An edge property was set (`Null`: removed).
    SetEdgeProperty {
        /// The edge.
        edge: u64,
        /// The key.
        key: String,
        /// The new value.
        value: PropertyValue,
    },
    /// An edge was deleted.
    DeleteEdge {
        /// The edge.
        edge: u64,
    },
}

/// One committed transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRecord {
    /// Its commit timestamp.
    pub commit_ts: u64,
    /// The wall-clock time the commit was logged (to the microsecond); `None` in a
    /// segment of format version 1 or 2, which did not record it.
    pub time: Option<SystemTime>,
    /// Its changes, in order.
    pub ops: Vec<WalOp>,
}

fn put_props(out: &mut Vec<u8>, props: &[(String, PropertyValue)]) {
    put_uvarint(out, props.len() as u64);
    for (k, v) in props {
        put_str(out, k);
        encode_value(v, out);
    }
}

/// Encodes the ops of one commit (the record payload after kind and timestamp).
pub fn encode_ops(ops: &[WalOp]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * ops.len());
    put_uvarint(&mut out, ops.len() as u64);
    for op in ops {
        match op {
            WalOp::CreateVertex {
                id,
                labels,
                properties,
            } => {
                out.push(1);
                put_uvarint(&mut out, *id);
                put_uvarint(&mut out, labels.len() as u64);
                for l in labels {
                    put_str(&mut out, l);
                }
                put_props(&mut out, properties);
            }
            WalOp::AddLabel { vertex, label } | WalOp::RemoveLabel { vertex, label } => {
                out.push(if matches!(op, WalOp::AddLabel { .. }) {
                    2
                } else {
                    3
                });
                put_uvarint(&mut out, *vertex);
                put_str(&mut out, label);
            }
            WalOp::SetVertexProperty { vertex, key, value } => {
                out.push(4);
                put_uvarint(&mut out, *vertex);
                put_str(&mut out, key);
                encode_value(value, &mut out);
            }
            WalOp::DeleteVertex { vertex } => {
                out.push(5);
                put_uvarint(&mut out, *vertex);
            }
            WalOp::CreateEdge {
                id,
                source,
                target,
                edge_type,
                properties,
            } => {
                out.push(6);
                put_uvarint(&mut out, *id);
                put_uvarint(&mut out, *source);
                put_uvarint(&mut out, *target);
                put_str(&mut out, edge_type);
                put_props(&mut out, properties);
            }
            WalOp::SetEdgeProperty { edge, key, value } => {
                out.push(7);
                put_uvarint(&mut out, *edge);
                put_str(&mut out, key);
                encode_value(value, &mut out);
            }
            WalOp::DeleteEdge { edge } => {
                out.push(8);
                put_uvarint(&mut out, *edge);
            }
        }
    }
    out
}

/// Appends one framed record: the kind, the timestamp, then `parts` as one payload.
pub(crate) fn frame_record(kind: u8, commit_ts: u64, parts: &[&[u8]], out: &mut Vec<u8>) {
    let payload_len: usize = parts.iter().map(|p| p.len()).sum();
    let len = (1 + 8 + payload_len) as u32;
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&len.to_le_bytes()).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.push(kind);
    out.extend_from_slice(&commit_ts.to_le_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&out[start..start + 4]);
    h.update(&out[start + RECORD_HEADER..]);
    let crc = h.finalize();
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
}

/// A commit time as the log stores it: microseconds since the Unix epoch (a time
/// before the epoch is stored as the epoch).
pub(crate) fn time_to_micros(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The time a stored commit time stands for.
pub(crate) fn micros_to_time(micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros)
}

pub(crate) fn decode_ops(payload: &[u8]) -> Result<Vec<WalOp>, engine_api::codec::DecodeError> {
    let mut d = Decoder::new(payload);
    let str_of = |d: &mut Decoder<'_>| -> Result<String, engine_api::codec::DecodeError> {
        let n = d.uvarint()?;
        let at = d.position();
        let b = d.bytes(usize::try_from(n).unwrap_or(usize::MAX))?;
        String::from_utf8(b.to_vec()).map_err(|_| engine_api::codec::DecodeError {
            offset: at,
            reason: "name is not UTF-8",
        })
    };
    let props_of = |d: &mut Decoder<'_>| -> Result<Vec<(String, PropertyValue)>, engine_api::codec::DecodeError> {
        let n = d.uvarint()?;
        let mut v = Vec::new();
        for _ in 0..n {
            let k = str_of(d)?;
            v.push((k, d.value()?));
        }
        Ok(v)
    };
    let n = d.uvarint()?;
    let mut ops = Vec::new();
    for _ in 0..n {
        let at = d.position();
        let tag = d.bytes(1)?[0];
        ops.push(match tag {
            1 => {
                let id = d.uvarint()?;
                let nl = d.uvarint()?;
                let mut labels = Vec::new();
                for _ in 0..nl {
                    labels.push(str_of(&mut d)?);
                }
                WalOp::CreateVertex {
                    id,
                    labels,
                    properties: props_of(&mut d)?,
                }
            }
            2 | 3 => {
                let vertex = d.uvarint()?;
                let label = str_of(&mut d)?;
                if tag == 2 {
                    WalOp::AddLabel { vertex, label }
                } else {
                    WalOp::RemoveLabel { vertex, label }
                }
            }
            4 => WalOp::SetVertexProperty {
                vertex: d.uvarint()?,
                key: str_of(&mut d)?,
                value: d.value()?,
            },
            5 => WalOp::DeleteVertex {
                vertex: d.uvarint()?,
            },
            6 => WalOp::CreateEdge {
                id: d.uvarint()?,
                source: d.uvarint()?,
                target: d.uvarint()?,
                edge_type: str_of(&mut d)?,
                properties: props_of(&mut d)?,
            },
            7 => WalOp::SetEdgeProperty {
                edge: d.uvarint()?,
                key: str_of(&mut d)?,
                value: d.value()?,
            },
            8 => WalOp::DeleteEdge { edge: d.uvarint()? },
            _ => {
                return Err(engine_api::codec::DecodeError {
                    offset: at,
                    reason: "unknown WAL op",
                });
            }
        });
    }
    if !d.is_empty() {
        return Err(engine_api::codec::DecodeError {
            offset: d.position(),
            reason: "trailing bytes in record",
        });
    }
    Ok(ops)
}
