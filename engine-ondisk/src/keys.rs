//! Keys and values of the column families, and their layout (below).
//!
//! Everything here is plain bytes in and out, with no RocksDB in sight, so the fuzz
//! targets (`fuzz/`) build this module without RocksDB: the crate's `storage`
//! feature (on by default) brings in the engine and RocksDB; without it, this module
//! is all the crate has. Its items are public for those targets only.
//!
//! # Key layout
//! Integers in keys are big-endian, so byte order is numeric order.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `vertices` | vertex id (8) | label count, label ids (ascending), property record |
//! | `edges` | edge id (8) | type id, source, target, property record |
//! | `out` | source (8), type id (4), target (8), edge id (8) | empty |
//! | `in` | target (8), type id (4), source (8), edge id (8) | empty |
//! | `labels` | label id (4), vertex id (8) | empty |
//! | `meta` | `database`: the database id; `ready`: creation finished; `ids`: id bounds; `n`, kind, id: a name; `schema`: the catalog of indexes, constraints, triggers; `counts`: the vertex and edge counts of the objects below `counted_below` (two ids), deletions' changes merged in (module `counts`; version 3 kept changes under 0x01, sequence) | |
//! | `index` | index or constraint id (4), then per kind (module `schema`) | empty, or a uniqueness record's holder |
//!
//! `rocksdb/quiver.meta` (48 bytes: magic `QVONDSK1`, format version, value codec
//! version, database id, creation time, CRC) is written before RocksDB is created and
//! read before it is opened, so a directory of another format version, or of another
//! database, is refused before anything in it is touched.
//!
//! "Edges of v" is one bounded scan of the prefix `v` in `out` or `in`, "edges of v
//! of type t" of the prefix `v, t`; adjacency keys hold the whole edge record, so
//! neither reads `edges`. Iterators are bounded by an upper bound, not by a prefix
//! extractor (without one RocksDB's prefix iterators run past the prefix).

use durability::schema::{
    decode_constraint, decode_index, decode_trigger, encode_constraint, encode_index,
    encode_trigger,
};
use engine_api::codec::{Decoder, encode_sort_key, find_property, put_uvarint};
use engine_api::{
    ConstraintSpec, Error, ErrorKind, IndexSpec, PropertyBounds, PropertyValue, Result, TriggerSpec,
};

/// Column family names, in the order they are opened.
/// Vertex records by id.
pub const VERTICES: &str = "vertices";
/// Edge records by id.
pub const EDGES: &str = "edges";
/// Outgoing adjacency.
pub const OUT: &str = "out";
/// Incoming adjacency.
pub const IN: &str = "in";
/// The label index.
pub const LABELS: &str = "labels";
/// Our metadata.
pub const META: &str = "meta";
/// Index entries and uniqueness records (format version 2).
pub const INDEX: &str = "index";
/// Every column family.
pub const ALL_CFS: [&str; 7] = [VERTICES, EDGES, OUT, IN, LABELS, META, INDEX];

/// The key of a vertex or edge record.
pub fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// An adjacency key: vertex, edge type, other end, edge.
pub fn adjacency_key(v: u64, edge_type: u32, other: u64, edge: u64) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..8].copy_from_slice(&v.to_be_bytes());
    k[8..12].copy_from_slice(&edge_type.to_be_bytes());
    k[12..20].copy_from_slice(&other.to_be_bytes());
    k[20..].copy_from_slice(&edge.to_be_bytes());
    k
}

/// A label index key: label, vertex.
pub fn label_key(label: u32, v: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&label.to_be_bytes());
    k[4..].copy_from_slice(&v.to_be_bytes());
    k
}

/// The smallest key greater than every key starting with `prefix`, or `None` if the
/// prefix is all 0xff (then the scan runs to the end of the column family).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
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

/// The `Corrupt` error for a damaged key or value.
pub fn corrupt(cf: &str, key: &[u8], reason: &str) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!("RocksDB column family {cf}, key {key:02x?}: {reason}"),
    )
}

/// Decodes an 8-byte id key.
pub fn decode_id_key(cf: &str, key: &[u8]) -> Result<u64> {
    if key.len() != 8 {
        return Err(corrupt(cf, key, "key is not an 8-byte id"));
    }
    Ok(be_u64(key))
}

/// An adjacency key's fields: (vertex, type, other end, edge).
pub fn decode_adjacency_key(cf: &str, key: &[u8]) -> Result<(u64, u32, u64, u64)> {
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
pub fn decode_label_key(key: &[u8]) -> Result<u64> {
    if key.len() != 12 {
        return Err(corrupt(LABELS, key, "label key is not 12 bytes"));
    }
    Ok(be_u64(&key[4..]))
}

/// A vertex record: its labels, ascending, and its encoded property record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VertexRecord {
    /// Label ids, ascending.
    pub labels: Vec<u32>,
    /// The encoded property record.
    pub props: Vec<u8>,
}

impl VertexRecord {
    /// The value bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.labels.len() * 2 + self.props.len());
        Self::encode_parts(&self.labels, &self.props, &mut out);
        out
    }

    /// The value bytes of a record with `labels` (ascending) and `props`, appended
    /// to `out` (the bulk path reuses one buffer).
    pub fn encode_parts(labels: &[u32], props: &[u8], out: &mut Vec<u8>) {
        put_uvarint(out, labels.len() as u64);
        for l in labels {
            put_uvarint(out, u64::from(*l));
        }
        out.extend_from_slice(props);
    }

    /// Parses a value; `key` names it in errors.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self> {
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
            // Lookups binary-search the labels: out of order they would answer wrongly.
            if labels.last().is_some_and(|p| *p >= l) {
                return Err(corrupt(VERTICES, key, "labels are not ascending"));
            }
            labels.push(l);
        }
        Ok(VertexRecord {
            labels,
            props: value[d.position()..].to_vec(),
        })
    }
}

/// The property record inside a vertex value, without copying it.
pub fn vertex_props<'v>(key: &[u8], value: &'v [u8]) -> Result<&'v [u8]> {
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
pub struct EdgeValue {
    /// The type id.
    pub edge_type: u32,
    /// The source vertex.
    pub source: u64,
    /// The target vertex.
    pub target: u64,
    /// The encoded property record.
    pub props: Vec<u8>,
}

impl EdgeValue {
    /// The value bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.props.len());
        Self::encode_parts(
            self.edge_type,
            self.source,
            self.target,
            &self.props,
            &mut out,
        );
        out
    }

    /// The value bytes of an edge, appended to `out` (the bulk path reuses one
    /// buffer).
    pub fn encode_parts(edge_type: u32, source: u64, target: u64, props: &[u8], out: &mut Vec<u8>) {
        put_uvarint(out, u64::from(edge_type));
        put_uvarint(out, source);
        put_uvarint(out, target);
        out.extend_from_slice(props);
    }

    /// Parses a value; `key` names it in errors.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self> {
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

#[cfg(feature = "storage")]
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

/// The id at the end of an index entry key.
pub fn entry_object(key: &[u8]) -> Result<u64> {
    let n = key.len();
    if n < 12 {
        return Err(Error::corrupt(format!("index entry {key:?} is too short")));
    }
    Ok(be_u64(&key[n - 8..]))
}

/// One definition of the schema catalog (the `schema` value in `meta`), as stored:
/// names, not yet resolved to the dictionaries' ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogEntry {
    /// An index, its id and whether its build finished.
    Index {
        /// The index's id (the prefix of its entries).
        id: u32,
        /// Whether its build finished.
        ready: bool,
        /// What it covers.
        spec: IndexSpec,
    },
    /// A constraint and its id (0 for a kind without records).
    Constraint {
        /// The id of its records.
        id: u32,
        /// What it requires.
        spec: ConstraintSpec,
    },
    /// A trigger.
    Trigger(TriggerSpec),
}

/// The stored schema catalog: the next schema id and every definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredCatalog {
    /// The id the next index or constraint gets.
    pub next_id: u32,
    /// The definitions, in stored order.
    pub entries: Vec<CatalogEntry>,
}

fn small_id(v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::corrupt("schema id out of range"))
}

impl StoredCatalog {
    /// The catalog's bytes: the next id, the number of entries, then each entry
    /// as a tag (1 index, 2 constraint, 3 trigger) and its fields.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_uvarint(&mut out, u64::from(self.next_id));
        put_uvarint(&mut out, self.entries.len() as u64);
        for entry in &self.entries {
            match entry {
                CatalogEntry::Index { id, ready, spec } => {
                    out.push(1);
                    put_uvarint(&mut out, u64::from(*id));
                    out.push(u8::from(*ready));
                    encode_index(spec, &mut out);
                }
                CatalogEntry::Constraint { id, spec } => {
                    out.push(2);
                    put_uvarint(&mut out, u64::from(*id));
                    encode_constraint(spec, &mut out);
                }
                CatalogEntry::Trigger(t) => {
                    out.push(3);
                    encode_trigger(t, &mut out);
                }
            }
        }
        out
    }

    /// Parses the catalog's bytes: any damage is `Corrupt`.
    pub fn decode(bytes: &[u8]) -> Result<StoredCatalog> {
        let bad = |e: engine_api::codec::DecodeError| {
            Error::new(
                ErrorKind::Corrupt,
                format!("the schema catalog in meta does not parse: {e}"),
            )
        };
        let mut d = Decoder::new(bytes);
        let next_id = u32::try_from(d.uvarint().map_err(bad)?)
            .map_err(|_| Error::corrupt("schema id counter out of range"))?;
        let n = d.uvarint().map_err(bad)?;
        if n > bytes.len() as u64 {
            return Err(Error::corrupt("schema catalog entry count out of range"));
        }
        let mut entries = Vec::with_capacity(n as usize);
        for _ in 0..n {
            entries.push(match d.bytes(1).map_err(bad)?[0] {
                1 => {
                    let id = small_id(d.uvarint().map_err(bad)?)?;
                    let ready = match d.bytes(1).map_err(bad)?[0] {
                        0 => false,
                        1 => true,
                        _ => return Err(Error::corrupt("an index's ready flag is not 0 or 1")),
                    };
                    let spec = decode_index(&mut d).map_err(bad)?;
                    CatalogEntry::Index { id, ready, spec }
                }
                2 => {
                    let id = small_id(d.uvarint().map_err(bad)?)?;
                    let spec = decode_constraint(&mut d).map_err(bad)?;
                    CatalogEntry::Constraint { id, spec }
                }
                3 => CatalogEntry::Trigger(decode_trigger(&mut d).map_err(bad)?),
                _ => return Err(Error::corrupt("unknown entry in the schema catalog")),
            });
        }
        if !d.is_empty() {
            return Err(Error::corrupt("trailing bytes in the schema catalog"));
        }
        Ok(StoredCatalog { next_id, entries })
    }
}

// Index and uniqueness entries: the keys of the `index` family.

/// The key values of a vertex version for a label+properties index: `None` if the
/// version lacks the label or the first property.
pub fn vertex_key(
    record: &VertexRecord,
    label: u32,
    keys: &[u32],
) -> Result<Option<Vec<Option<PropertyValue>>>> {
    if record.labels.binary_search(&label).is_err() {
        return Ok(None);
    }
    let mut values = Vec::with_capacity(keys.len());
    for k in keys {
        values.push(
            find_property(&record.props, *k)
                .map_err(|e| e.into_corrupt("vertex property record", 0))?,
        );
    }
    if values.first().is_none_or(|v| v.is_none()) {
        return Ok(None);
    }
    Ok(Some(values))
}

/// The key of a vertex's entry in label+properties index `id`: the index id, each
/// value's sort key (`Null` for a missing one), the vertex id.
pub fn vertex_entry(id: u32, values: &[Option<PropertyValue>], vertex: u64) -> Vec<u8> {
    let mut key = id.to_be_bytes().to_vec();
    for v in values {
        encode_sort_key(v.as_ref().unwrap_or(&PropertyValue::Null), &mut key);
    }
    key.extend_from_slice(&vertex.to_be_bytes());
    key
}

/// The entry of an edge version in an edge index, if it has one.
pub fn edge_entry(id: u32, key: Option<u32>, e: &EdgeValue, edge: u64) -> Result<Option<Vec<u8>>> {
    let mut out = id.to_be_bytes().to_vec();
    if let Some(k) = key {
        match find_property(&e.props, k).map_err(|e| e.into_corrupt("edge property record", 0))? {
            Some(v) => encode_sort_key(&v, &mut out),
            None => return Ok(None),
        }
    }
    out.extend_from_slice(&edge.to_be_bytes());
    Ok(Some(out))
}

/// The record key of a uniqueness constraint for a vertex that has every property.
pub fn unique_key(
    id: u32,
    record: &VertexRecord,
    label: u32,
    keys: &[u32],
) -> Result<Option<Vec<u8>>> {
    if record.labels.binary_search(&label).is_err() {
        return Ok(None);
    }
    let mut out = id.to_be_bytes().to_vec();
    for k in keys {
        match find_property(&record.props, *k)
            .map_err(|e| e.into_corrupt("vertex property record", 0))?
        {
            Some(v) => encode_sort_key(&v, &mut out),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// The key range of `index` worth scanning for the filters: the leading equalities
/// fix a prefix, the next filtered property narrows its start (every candidate is
/// still checked against its record).
pub fn vertex_range(
    id: u32,
    keys: &[u32],
    filters: &[(u32, PropertyBounds)],
) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut prefix = id.to_be_bytes().to_vec();
    for k in keys {
        let Some((_, b)) = filters.iter().find(|(f, _)| f == k) else {
            break;
        };
        match (&b.lower, &b.upper) {
            (std::ops::Bound::Included(a), std::ops::Bound::Included(z))
                if a.total_cmp(z) == std::cmp::Ordering::Equal && !a.is_null() =>
            {
                encode_sort_key(a, &mut prefix);
            }
            (lower, upper) => {
                let end = prefix_end(&prefix);
                let mut start = prefix.clone();
                if let std::ops::Bound::Included(v) | std::ops::Bound::Excluded(v) = lower {
                    encode_sort_key(v, &mut start);
                }
                let mut stop = end;
                if let std::ops::Bound::Included(v) | std::ops::Bound::Excluded(v) = upper {
                    let mut u = prefix.clone();
                    encode_sort_key(v, &mut u);
                    stop = prefix_end(&u);
                }
                return (start, stop);
            }
        }
    }
    let end = prefix_end(&prefix);
    (prefix, end)
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
        let err = VertexRecord::decode(&[0; 8], &[2, 5, 5]).expect_err("a label twice");
        assert!(err.message().contains("not ascending"), "{err}");
        assert!(decode_adjacency_key(OUT, &[0; 27]).is_err());
    }

    #[test]
    fn the_catalog_round_trips_and_damage_is_corrupt() {
        let catalog = StoredCatalog {
            next_id: 9,
            entries: vec![
                CatalogEntry::Index {
                    id: 3,
                    ready: true,
                    spec: IndexSpec::Label("L".into()),
                },
                CatalogEntry::Constraint {
                    id: 4,
                    spec: ConstraintSpec::Unique {
                        label: "L".into(),
                        properties: vec!["k".into()],
                    },
                },
                CatalogEntry::Trigger(TriggerSpec {
                    name: "t".into(),
                    event: engine_api::TriggerEvent::Any,
                    phase: engine_api::TriggerPhase::AfterCommit,
                    security: engine_api::TriggerSecurity::Invoker,
                    statement: "CREATE (:A)".into(),
                }),
            ],
        };
        let bytes = catalog.encode();
        assert_eq!(StoredCatalog::decode(&bytes).expect("decodes"), catalog);
        let mut flag = bytes.clone();
        flag[4] = 2; // next id, count, tag, index id: then the ready flag
        let mut trailing = bytes.clone();
        trailing.push(0);
        let mut tag = bytes.clone();
        tag[2] = 7;
        for (damaged, why) in [
            (&flag, "ready flag"),
            (&trailing, "trailing bytes"),
            (&tag, "unknown entry"),
            (&bytes[..bytes.len() - 1].to_vec(), "cut short"),
        ] {
            let e = StoredCatalog::decode(damaged).expect_err(why);
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{why}: {e}");
        }
    }
}
