//! Keys and values of the column families; the layout is in the crate docs.

use engine_api::codec::{Decoder, put_uvarint};
use engine_api::{Error, ErrorKind, Result};

/// Column family names, in the order they are opened.
pub(crate) const VERTICES: &str = "vertices";
pub(crate) const EDGES: &str = "edges";
pub(crate) const OUT: &str = "out";
pub(crate) const IN: &str = "in";
pub(crate) const LABELS: &str = "labels";
pub(crate) const META: &str = "meta";
/// Index entries and uniqueness records (format version 2).
pub(crate) const INDEX: &str = "index";
pub(crate) const ALL_CFS: [&str; 7] = [VERTICES, EDGES, OUT, IN, LABELS, META, INDEX];

pub(crate) fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

pub(crate) fn adjacency_key(v: u64, edge_type: u32, other: u64, edge: u64) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..8].copy_from_slice(&v.to_be_bytes());
    k[8..12].copy_from_slice(&edge_type.to_be_bytes());
    k[12..20].copy_from_slice(&other.to_be_bytes());
    k[20..].copy_from_slice(&edge.to_be_bytes());
    k
}

pub(crate) fn label_key(label: u32, v: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&label.to_be_bytes());
    k[4..].copy_from_slice(&v.to_be_bytes());
    k
}

/// The smallest key greater than every key starting with `prefix`, or `None` if the
/// prefix is all 0xff (then the scan runs to the end of the column family).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

pub(crate) fn corrupt(cf: &str, key: &[u8], reason: &str) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!("RocksDB column family {cf}, key {key:02x?}: {reason}"),
    )
}

/// Decodes an 8-byte id key.
pub(crate) fn decode_id_key(cf: &str, key: &[u8]) -> Result<u64> {
    if key.len() != 8 {
        return Err(corrupt(cf, key, "key is not an 8-byte id"));
    }
    Ok(be_u64(key))
}

/// An adjacency key's fields: (vertex, type, other end, edge).
pub(crate) fn decode_adjacency_key(cf: &str, key: &[u8]) -> Result<(u64, u32, u64, u64)> {
    if key.len() != 28 {
        return Err(corrupt(cf, key, "adjacency key is not 28 bytes"));
    }
    Ok((
        be_u64(key),
        be_u32(&key[8..]),
        be_u64(&key[12..]),
        be_u64(&key[20..]),
    ))
}

/// A label index key's vertex id.
pub(crate) fn decode_label_key(key: &[u8]) -> Result<u64> {
    if key.len() != 12 {
        return Err(corrupt(LABELS, key, "label key is not 12 bytes"));
    }
    Ok(be_u64(&key[4..]))
}

/// A vertex record: its labels, ascending, and its encoded property record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VertexRecord {
    pub labels: Vec<u32>,
    pub props: Vec<u8>,
}

impl VertexRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.labels.len() * 2 + self.props.len());
        put_uvarint(&mut out, self.labels.len() as u64);
        for l in &self.labels {
            put_uvarint(&mut out, u64::from(*l));
        }
        out.extend_from_slice(&self.props);
        out
    }

    pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<Self> {
        let bad = |e: engine_api::codec::DecodeError| {
            corrupt(VERTICES, key, &format!("bad vertex record: {e}"))
        };
        let mut d = Decoder::new(value);
        let n = d.uvarint().map_err(bad)?;
        if n > value.len() as u64 {
            return Err(corrupt(VERTICES, key, "label count out of range"));
        }
        let mut labels = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let l = d.uvarint().map_err(bad)?;
            let l = u32::try_from(l).map_err(|_| corrupt(VERTICES, key, "label id too large"))?;
            labels.push(l);
        }
        Ok(VertexRecord {
            labels,
            props: value[d.position()..].to_vec(),
        })
    }
}

/// The property record inside a vertex value, without copying it.
pub(crate) fn vertex_props<'v>(key: &[u8], value: &'v [u8]) -> Result<&'v [u8]> {
    let bad = |e: engine_api::codec::DecodeError| {
        corrupt(VERTICES, key, &format!("bad vertex record: {e}"))
    };
    let mut d = Decoder::new(value);
    let n = d.uvarint().map_err(bad)?;
    for _ in 0..n {
        d.uvarint().map_err(bad)?;
    }
    Ok(&value[d.position()..])
}

/// An edge record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EdgeValue {
    pub edge_type: u32,
    pub source: u64,
    pub target: u64,
    pub props: Vec<u8>,
}

impl EdgeValue {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.props.len());
        put_uvarint(&mut out, u64::from(self.edge_type));
        put_uvarint(&mut out, self.source);
        put_uvarint(&mut out, self.target);
        out.extend_from_slice(&self.props);
        out
    }

    pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<Self> {
        let bad = |e: engine_api::codec::DecodeError| {
            corrupt(EDGES, key, &format!("bad edge record: {e}"))
        };
        let mut d = Decoder::new(value);
        let t = d.uvarint().map_err(bad)?;
        let edge_type = u32::try_from(t).map_err(|_| corrupt(EDGES, key, "type id too large"))?;
        let source = d.uvarint().map_err(bad)?;
        let target = d.uvarint().map_err(bad)?;
        Ok(EdgeValue {
            edge_type,
            source,
            target,
            props: value[d.position()..].to_vec(),
        })
    }
}

/// Maps a RocksDB error to the contract's kinds. Busy and TimedOut come from the lock
/// manager and from snapshot validation: another transaction holds or has changed a
/// key this one writes, which is a Conflict.
pub(crate) fn rocks(what: &str, e: rocksdb::Error) -> Error {
    use rocksdb::ErrorKind as K;
    let kind = match e.kind() {
        K::Busy | K::TimedOut | K::TryAgain => ErrorKind::Conflict,
        K::Corruption => ErrorKind::Corrupt,
        K::NotSupported => ErrorKind::Unsupported,
        K::InvalidArgument => ErrorKind::InvalidInput,
        _ => ErrorKind::Io,
    };
    let message = if kind == ErrorKind::Conflict {
        format!(
            "{what}: write conflict with a concurrent transaction ({e}); the transaction was rolled back, retry it"
        )
    } else {
        format!("{what}: {e}")
    };
    Error::new(kind, message).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_numerically() {
        assert!(id_key(255) < id_key(256));
        assert!(adjacency_key(1, 7, 9, 3) < adjacency_key(1, 8, 0, 0));
        assert!(adjacency_key(1, u32::MAX, u64::MAX, u64::MAX) < adjacency_key(2, 0, 0, 0));
        assert!(label_key(1, u64::MAX) < label_key(2, 0));
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }

    #[test]
    fn records_round_trip_and_damage_is_corrupt() {
        let v = VertexRecord {
            labels: vec![1, 300],
            props: vec![1, 2, 3],
        };
        assert_eq!(
            VertexRecord::decode(&[0; 8], &v.encode()).expect("decodes"),
            v
        );
        let e = EdgeValue {
            edge_type: 4,
            source: 1 << 40,
            target: 2,
            props: vec![],
        };
        assert_eq!(EdgeValue::decode(&[0; 8], &e.encode()).expect("decodes"), e);
        let err = VertexRecord::decode(&[0; 8], &[0xff]).expect_err("truncated varint");
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        let err = VertexRecord::decode(&[0; 8], &[200, 1]).expect_err("count too large");
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(decode_adjacency_key(OUT, &[0; 27]).is_err());
    }
}
