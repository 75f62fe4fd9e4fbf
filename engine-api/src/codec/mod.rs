//! The binary codec for property values, used by every on-disk format (WAL, snapshot,
//! RocksDB values) and by the in-memory property stores; and (module `sort`) the
//! order-preserving sort keys of values, for indexes in byte-ordered stores.
//!
//! # Format, version 1
//! Integers are LEB128 varints (`uvarint`); signed ones are zigzag-encoded first
//! (`svarint`). Floats are their IEEE-754 bits as 8 bytes, little-endian. A value is
//! one tag byte and a payload:
//!
//! | tag | type | payload |
//! |---|---|---|
//! | 0 | Null | — |
//! | 1 / 2 | Bool false / true | — |
//! | 3 | Int | svarint |
//! | 4 | Float | f64 bits |
//! | 5 | String | uvarint byte length, UTF-8 bytes |
//! | 6 | List | uvarint count, values |
//! | 7 | Map | uvarint count, (uvarint key length, key bytes, value)*, keys strictly ascending |
//! | 8 | Date | svarint days since 1970-01-01 |
//! | 9 | LocalTime | uvarint microseconds since midnight |
//! | 10 | LocalDateTime | svarint microseconds since epoch |
//! | 11 | Duration | svarint microseconds |
//! | 12 | ZonedDateTime | svarint UTC microseconds, svarint offset seconds |
//! | 13 | Point 2D | uvarint SRID, x, y |
//! | 14 | Point 3D | uvarint SRID, x, y, z |
//!
//! A *property record* is zero or more `(uvarint key id, value)` pairs up to the end of
//! its buffer, key ids strictly ascending.
//!
//! Containers that persist values (file headers, metadata) record
//! [`VALUE_CODEC_VERSION`]; a reader refuses versions it does not know. Decoding never
//! panics and never allocates more than the input could hold: every length is checked
//! against the bytes that remain, and nesting is bounded by [`MAX_NESTING_DEPTH`].

use std::collections::BTreeMap;
use std::fmt;

mod sort;

pub use sort::encode_sort_key;

use crate::value::{
    Date, Duration, LocalDateTime, LocalTime, MAX_NESTING_DEPTH, Point, PropertyValue,
    ZonedDateTime,
};
use crate::value_ref::{ListRef, MapRef, ValueRef};

/// The version of the value codec described in this module.
pub const VALUE_CODEC_VERSION: u16 = 1;

const TAG_NULL: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_INT: u8 = 3;
const TAG_FLOAT: u8 = 4;
const TAG_STRING: u8 = 5;
const TAG_LIST: u8 = 6;
const TAG_MAP: u8 = 7;
const TAG_DATE: u8 = 8;
const TAG_LOCAL_TIME: u8 = 9;
const TAG_LOCAL_DATE_TIME: u8 = 10;
const TAG_DURATION: u8 = 11;
const TAG_ZONED_DATE_TIME: u8 = 12;
const TAG_POINT_2D: u8 = 13;
const TAG_POINT_3D: u8 = 14;

/// Why bytes did not decode, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset in the decoded buffer where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub reason: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// Converts into a [`crate::ErrorKind::Corrupt`] error naming what was being read
    /// (a file, a key) and the absolute offset (`base` + the offset in the buffer).
    pub fn into_corrupt(self, what: &str, base: u64) -> crate::Error {
        crate::Error::corrupt(format!(
            "{what}: {} at offset {}",
            self.reason,
            base + self.offset as u64
        ))
        .with_source(self)
    }
}

/// Checks that values written with codec `version` can be read by this build.
pub fn check_codec_version(version: u16) -> crate::Result<()> {
    if version == VALUE_CODEC_VERSION {
        Ok(())
    } else {
        Err(crate::Error::corrupt(format!(
            "value codec version {version} is not supported (this build reads version {VALUE_CODEC_VERSION})"
        )))
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded as a varint.
pub fn put_svarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends the encoding of `value`.
pub fn encode_value(value: &PropertyValue, out: &mut Vec<u8>) {
    use PropertyValue as V;
    match value {
        V::Null => out.push(TAG_NULL),
        V::Bool(false) => out.push(TAG_FALSE),
        V::Bool(true) => out.push(TAG_TRUE),
        V::Int(i) => {
            out.push(TAG_INT);
            put_svarint(out, *i);
        }
        V::Float(f) => {
            out.push(TAG_FLOAT);
            put_f64(out, *f);
        }
        V::String(s) => {
            out.push(TAG_STRING);
            put_str(out, s);
        }
        V::List(items) => {
            out.push(TAG_LIST);
            put_uvarint(out, items.len() as u64);
            for item in items {
                encode_value(item, out);
            }
        }
        V::Map(entries) => {
            out.push(TAG_MAP);
            put_uvarint(out, entries.len() as u64);
            for (k, v) in entries {
                put_str(out, k);
                encode_value(v, out);
            }
        }
        V::Date(d) => {
            out.push(TAG_DATE);
            put_svarint(out, i64::from(d.days_since_epoch()));
        }
        V::LocalTime(t) => {
            out.push(TAG_LOCAL_TIME);
            put_uvarint(out, t.micros_since_midnight() as u64);
        }
        V::LocalDateTime(t) => {
            out.push(TAG_LOCAL_DATE_TIME);
            put_svarint(out, t.micros_since_epoch());
        }
        V::Duration(d) => {
            out.push(TAG_DURATION);
            put_svarint(out, d.micros());
        }
        V::ZonedDateTime(z) => {
            out.push(TAG_ZONED_DATE_TIME);
            put_svarint(out, z.utc_micros());
            put_svarint(out, i64::from(z.offset_seconds()));
        }
        V::Point(p) => {
            out.push(if p.z.is_some() {
                TAG_POINT_3D
            } else {
                TAG_POINT_2D
            });
            put_uvarint(out, u64::from(p.srid));
            put_f64(out, p.x);
            put_f64(out, p.y);
            if let Some(z) = p.z {
                put_f64(out, z);
            }
        }
    }
}

/// Encodes a property record from `(key id, value)` pairs given in strictly ascending
/// key order. `Null` values are not stored (a Null property does not exist).
pub fn encode_properties<'a>(
    pairs: impl IntoIterator<Item = (u32, &'a PropertyValue)>,
    out: &mut Vec<u8>,
) {
    for (key, value) in pairs {
        if !value.is_null() {
            put_uvarint(out, u64::from(key));
            encode_value(value, out);
        }
    }
}

/// Reads values and varints from a buffer, tracking the offset for error messages.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }

    /// The offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn err(&self, reason: &'static str) -> DecodeError {
        DecodeError {
            offset: self.pos,
            reason,
        }
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.err("length exceeds the remaining bytes"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads an unsigned LEB128 varint.
    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut result: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                self.pos = start;
                return Err(self.err("varint overflows 64 bits"));
            }
            result |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(result);
            }
        }
        self.pos = start;
        Err(self.err("varint longer than 10 bytes"))
    }

    /// Reads a zigzag-encoded signed varint.
    pub fn svarint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn f64(&mut self) -> Result<f64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }

    fn len(&mut self) -> Result<usize, DecodeError> {
        let n = self.uvarint()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.remaining())
            .ok_or_else(|| self.err("length exceeds the remaining bytes"))
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.len()?;
        let at = self.pos;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|_| DecodeError {
            offset: at,
            reason: "string is not valid UTF-8",
        })
    }

    /// Decodes one value.
    pub fn value(&mut self) -> Result<PropertyValue, DecodeError> {
        self.value_at_depth(0)
    }

    fn value_at_depth(&mut self, depth: usize) -> Result<PropertyValue, DecodeError> {
        use PropertyValue as V;
        let tag_at = self.pos;
        let tag = self.byte()?;
        Ok(match tag {
            TAG_NULL => V::Null,
            TAG_FALSE => V::Bool(false),
            TAG_TRUE => V::Bool(true),
            TAG_INT => V::Int(self.svarint()?),
            TAG_FLOAT => V::Float(self.f64()?),
            TAG_STRING => V::String(self.str()?.to_owned()),
            TAG_LIST => {
                if depth >= MAX_NESTING_DEPTH {
                    return Err(self.err("value nests too deeply"));
                }
                // Each element takes at least one byte, so `len` bounds the allocation.
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value_at_depth(depth + 1)?);
                }
                V::List(items)
            }
            TAG_MAP => {
                if depth >= MAX_NESTING_DEPTH {
                    return Err(self.err("value nests too deeply"));
                }
                let n = self.len()?;
                let mut map = BTreeMap::new();
                let mut last: Option<&str> = None;
                for _ in 0..n {
                    let key = self.map_key(&mut last)?;
                    let v = self.value_at_depth(depth + 1)?;
                    map.insert(key.to_owned(), v);
                }
                V::Map(map)
            }
            TAG_DATE => {
                let d = self.svarint()?;
                let d = i32::try_from(d).map_err(|_| self.err("date out of range"))?;
                V::Date(Date::from_days_since_epoch(d))
            }
            TAG_LOCAL_TIME => {
                let m = self.uvarint()?;
                let t = i64::try_from(m)
                    .ok()
                    .and_then(LocalTime::from_micros_since_midnight)
                    .ok_or_else(|| self.err("local time out of range"))?;
                V::LocalTime(t)
            }
            TAG_LOCAL_DATE_TIME => {
                V::LocalDateTime(LocalDateTime::from_micros_since_epoch(self.svarint()?))
            }
            TAG_DURATION => V::Duration(Duration::from_micros(self.svarint()?)),
            TAG_ZONED_DATE_TIME => {
                let utc = self.svarint()?;
                let off = self.svarint()?;
                let z = i32::try_from(off)
                    .ok()
                    .and_then(|off| ZonedDateTime::new(utc, off))
                    .ok_or_else(|| self.err("UTC offset out of range"))?;
                V::ZonedDateTime(z)
            }
            TAG_POINT_2D | TAG_POINT_3D => {
                let srid = u32::try_from(self.uvarint()?)
                    .map_err(|_| self.err("point SRID out of range"))?;
                let x = self.f64()?;
                let y = self.f64()?;
                let z = if tag == TAG_POINT_3D {
                    Some(self.f64()?)
                } else {
                    None
                };
                V::Point(Point { srid, x, y, z })
            }
            _ => {
                return Err(DecodeError {
                    offset: tag_at,
                    reason: "unknown value tag",
                });
            }
        })
    }

    /// Decodes one value in place: a string borrows the buffer, a list or a map is
    /// checked whole (as [`Decoder::value`] would) and kept encoded. Never allocates.
    pub fn value_ref(&mut self) -> Result<ValueRef<'a>, DecodeError> {
        self.value_ref_at_depth(0)
    }

    pub(crate) fn value_ref_at_depth(&mut self, depth: usize) -> Result<ValueRef<'a>, DecodeError> {
        let tag_at = self.pos;
        match self.byte()? {
            TAG_STRING => Ok(ValueRef::String(self.str()?)),
            tag @ (TAG_LIST | TAG_MAP) => {
                if depth >= MAX_NESTING_DEPTH {
                    return Err(self.err("value nests too deeply"));
                }
                let n = self.len()?;
                let start = self.pos;
                if tag == TAG_LIST {
                    for _ in 0..n {
                        self.skip_at_depth(depth + 1)?;
                    }
                    Ok(ValueRef::List(ListRef::checked(
                        n,
                        &self.buf[start..self.pos],
                        depth,
                    )))
                } else {
                    self.skip_map_entries(n, depth)?;
                    Ok(ValueRef::Map(MapRef::checked(
                        n,
                        &self.buf[start..self.pos],
                        depth,
                    )))
                }
            }
            _ => {
                // Every other value is a scalar: decoding it allocates nothing.
                self.pos = tag_at;
                let v = self.value_at_depth(depth)?;
                ValueRef::scalar(&v).ok_or_else(|| self.err("unknown value tag"))
            }
        }
    }

    /// One `(key, value)` entry of a map's encoded entries.
    pub(crate) fn map_entry_at_depth(
        &mut self,
        depth: usize,
    ) -> Result<(&'a str, ValueRef<'a>), DecodeError> {
        let key = self.str()?;
        Ok((key, self.value_ref_at_depth(depth)?))
    }

    /// Checks `n` map entries (UTF-8 keys, strictly ascending, values) and skips them.
    fn skip_map_entries(&mut self, n: usize, depth: usize) -> Result<(), DecodeError> {
        let mut last: Option<&str> = None;
        for _ in 0..n {
            self.map_key(&mut last)?;
            self.skip_at_depth(depth + 1)?;
        }
        Ok(())
    }

    /// Reads a map's next key, which must come after `last` (then becomes it).
    fn map_key(&mut self, last: &mut Option<&'a str>) -> Result<&'a str, DecodeError> {
        let key_at = self.pos;
        let key = self.str()?;
        if last.is_some_and(|l| l >= key) {
            return Err(DecodeError {
                offset: key_at,
                reason: "map keys are not strictly ascending",
            });
        }
        *last = Some(key);
        Ok(key)
    }

    /// Skips one value without building it (checking its structure as it goes).
    pub fn skip_value(&mut self) -> Result<(), DecodeError> {
        self.skip_at_depth(0)
    }

    fn skip_at_depth(&mut self, depth: usize) -> Result<(), DecodeError> {
        let tag_at = self.pos;
        match self.byte()? {
            TAG_NULL | TAG_FALSE | TAG_TRUE => {}
            TAG_INT | TAG_DATE | TAG_LOCAL_TIME | TAG_LOCAL_DATE_TIME | TAG_DURATION => {
                self.uvarint()?;
            }
            TAG_FLOAT => {
                self.bytes(8)?;
            }
            TAG_STRING => {
                self.str()?;
            }
            TAG_LIST => {
                if depth >= MAX_NESTING_DEPTH {
                    return Err(self.err("value nests too deeply"));
                }
                let n = self.len()?;
                for _ in 0..n {
                    self.skip_at_depth(depth + 1)?;
                }
            }
            TAG_MAP => {
                if depth >= MAX_NESTING_DEPTH {
                    return Err(self.err("value nests too deeply"));
                }
                let n = self.len()?;
                self.skip_map_entries(n, depth)?;
            }
            TAG_ZONED_DATE_TIME => {
                self.uvarint()?;
                self.uvarint()?;
            }
            TAG_POINT_2D => {
                self.uvarint()?;
                self.bytes(16)?;
            }
            TAG_POINT_3D => {
                self.uvarint()?;
                self.bytes(24)?;
            }
            _ => {
                return Err(DecodeError {
                    offset: tag_at,
                    reason: "unknown value tag",
                });
            }
        }
        Ok(())
    }

    /// Reads the next `(key id, value)` pair of a property record, or `None` at its end.
    /// `previous` is the key id read before, to check ascending order.
    pub fn property(
        &mut self,
        previous: Option<u32>,
    ) -> Result<Option<(u32, PropertyValue)>, DecodeError> {
        match self.property_key(previous)? {
            None => Ok(None),
            Some(key) => Ok(Some((key, self.value()?))),
        }
    }

    /// Reads the next key id of a property record (its value follows), or `None` at its
    /// end.
    pub fn property_key(&mut self, previous: Option<u32>) -> Result<Option<u32>, DecodeError> {
        if self.is_empty() {
            return Ok(None);
        }
        let at = self.pos;
        let key = u32::try_from(self.uvarint()?).map_err(|_| DecodeError {
            offset: at,
            reason: "property key id out of range",
        })?;
        if previous.is_some_and(|p| p >= key) {
            return Err(DecodeError {
                offset: at,
                reason: "property keys are not strictly ascending",
            });
        }
        Ok(Some(key))
    }
}

/// Decodes a whole buffer holding exactly one value.
pub fn decode_value(buf: &[u8]) -> Result<PropertyValue, DecodeError> {
    let mut d = Decoder::new(buf);
    let v = d.value()?;
    if !d.is_empty() {
        return Err(d.err("trailing bytes after value"));
    }
    Ok(v)
}

/// Decodes a whole property record into `(key id, value)` pairs.
pub fn decode_properties(buf: &[u8]) -> Result<Vec<(u32, PropertyValue)>, DecodeError> {
    let mut d = Decoder::new(buf);
    let mut out = Vec::new();
    let mut prev = None;
    while let Some((k, v)) = d.property(prev)? {
        prev = Some(k);
        out.push((k, v));
    }
    Ok(out)
}

/// Finds one property in a record without decoding the others.
pub fn find_property(buf: &[u8], key: u32) -> Result<Option<PropertyValue>, DecodeError> {
    Ok(find_property_ref(buf, key)?.map(|v| v.to_value()))
}

/// Finds one property in a record and returns its encoded value (tag and payload,
/// checked as a skip checks it), for a caller that copies it out.
pub fn find_property_bytes(buf: &[u8], key: u32) -> Result<Option<&[u8]>, DecodeError> {
    let mut d = Decoder::new(buf);
    let mut prev = None;
    while let Some(k) = d.property_key(prev)? {
        if k > key {
            return Ok(None);
        }
        let start = d.position();
        d.skip_value()?;
        if k == key {
            return Ok(Some(&buf[start..d.position()]));
        }
        prev = Some(k);
    }
    Ok(None)
}

/// Finds one property in a record and borrows it in place (no allocation).
pub fn find_property_ref(buf: &[u8], key: u32) -> Result<Option<ValueRef<'_>>, DecodeError> {
    let mut d = Decoder::new(buf);
    let mut prev = None;
    while let Some(k) = d.property_key(prev)? {
        if k == key {
            return d.value_ref().map(Some);
        }
        if k > key {
            return Ok(None);
        }
        d.skip_value()?;
        prev = Some(k);
    }
    Ok(None)
}

/// A copy of the property record `buf` with `key` set to `value` (`None` or `Null`
/// removes it), keeping key order, and the value it replaced. Backends that keep
/// encoded records edit them with this instead of decoding every property.
pub fn replace_property(
    buf: &[u8],
    key: u32,
    value: Option<&PropertyValue>,
) -> Result<(Vec<u8>, Option<PropertyValue>), DecodeError> {
    let mut d = Decoder::new(buf);
    let mut prev = None;
    // The byte range of the existing entry for `key`, or where it would go.
    let mut start = buf.len();
    let mut end = buf.len();
    let mut old = None;
    loop {
        let at = d.position();
        match d.property_key(prev)? {
            None => break,
            Some(k) if k == key => {
                start = at;
                old = Some(d.value()?);
                end = d.position();
                break;
            }
            Some(k) if k > key => {
                start = at;
                end = at;
                break;
            }
            Some(k) => {
                d.skip_value()?;
                prev = Some(k);
            }
        }
    }
    let mut out = Vec::with_capacity(buf.len() + 16);
    out.extend_from_slice(&buf[..start]);
    if let Some(v) = value.filter(|v| !v.is_null()) {
        put_uvarint(&mut out, u64::from(key));
        encode_value(v, &mut out);
    }
    out.extend_from_slice(&buf[end..]);
    Ok((out, old))
}

/// A property record holding `pairs`, given in any order; of duplicate keys the last
/// one wins.
pub fn properties_record(pairs: &mut [(u32, PropertyValue)]) -> Vec<u8> {
    let mut out = Vec::new();
    properties_record_into(pairs, &mut out);
    out
}

/// [`properties_record`] appended to `out` (a caller's reused buffer), with no
/// allocation of its own. Sorts `pairs` by key (stably, so the last of duplicate
/// keys stays last).
pub fn properties_record_into(pairs: &mut [(u32, PropertyValue)], out: &mut Vec<u8>) {
    pairs.sort_by_key(|(k, _)| *k);
    let last_of_each_key = pairs
        .iter()
        .enumerate()
        .filter(|(i, (k, _))| pairs.get(i + 1).is_none_or(|(next, _)| next != k))
        .map(|(_, (k, v))| (*k, v));
    encode_properties(last_of_each_key, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_value() -> impl Strategy<Value = PropertyValue> {
        use PropertyValue as V;
        let leaf = prop_oneof![
            Just(V::Null),
            any::<bool>().prop_map(V::Bool),
            any::<i64>().prop_map(V::Int),
            any::<f64>().prop_map(V::Float),
            prop_oneof![Just(f64::NAN), Just(-0.0), Just(f64::INFINITY)].prop_map(V::Float),
            ".*".prop_map(V::String),
            any::<i32>().prop_map(|d| V::Date(Date::from_days_since_epoch(d))),
            (0..crate::value::MICROS_PER_DAY).prop_map(|m| V::LocalTime(
                LocalTime::from_micros_since_midnight(m).expect("in range")
            )),
            any::<i64>().prop_map(|m| V::LocalDateTime(LocalDateTime::from_micros_since_epoch(m))),
            any::<i64>().prop_map(|m| V::Duration(Duration::from_micros(m))),
            (any::<i64>(), -64_800i32..=64_800)
                .prop_map(|(u, o)| V::ZonedDateTime(ZonedDateTime::new(u, o).expect("in range"))),
            (
                any::<u32>(),
                any::<f64>(),
                any::<f64>(),
                proptest::option::of(any::<f64>())
            )
                .prop_map(|(srid, x, y, z)| V::Point(Point { srid, x, y, z })),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(V::List),
                proptest::collection::btree_map(".{0,8}", inner, 0..6).prop_map(V::Map),
            ]
        })
    }

    /// Numbers that meet: small ints and floats with equal values, and neighbours of
    /// 2^53 and 2^63 where f64 rounding bites.
    fn arb_number() -> impl Strategy<Value = PropertyValue> {
        use PropertyValue as V;
        prop_oneof![
            (-4i64..4).prop_map(V::Int),
            (-8i32..8).prop_map(|h| V::Float(f64::from(h) / 2.0)),
            (-3i64..3).prop_map(|d| V::Int((1i64 << 53) + d)),
            (-3i64..3).prop_map(|d| V::Float(((1i64 << 53) + d) as f64)),
            (0i64..3).prop_map(|d| V::Int(i64::MAX - d)),
            (0i64..3).prop_map(|d| V::Int(i64::MIN + d)),
            Just(V::Float(9_223_372_036_854_775_808.0)),
            Just(V::Float(-9_223_372_036_854_775_808.0)),
            Just(V::Float(f64::NAN)),
            Just(V::Float(-0.0)),
            Just(V::Float(f64::NEG_INFINITY)),
        ]
    }

    fn sort_key(v: &PropertyValue) -> Vec<u8> {
        let mut out = Vec::new();
        encode_sort_key(v, &mut out);
        out
    }

    proptest! {
        #[test]
        fn sort_keys_order_like_the_total_order(a in arb_value(), b in arb_value()) {
            prop_assert_eq!(sort_key(&a).cmp(&sort_key(&b)), a.total_cmp(&b), "{:?} vs {:?}", a, b);
        }

        #[test]
        fn sort_keys_order_numbers_exactly(a in arb_number(), b in arb_number()) {
            prop_assert_eq!(sort_key(&a).cmp(&sort_key(&b)), a.total_cmp(&b), "{:?} vs {:?}", a, b);
        }

        #[test]
        fn sort_keys_of_composites_order_like_their_parts(
            a in proptest::collection::vec(arb_number(), 1..3),
            b in proptest::collection::vec(arb_number(), 1..3),
        ) {
            let (l, r) = (PropertyValue::List(a), PropertyValue::List(b));
            prop_assert_eq!(sort_key(&l).cmp(&sort_key(&r)), l.total_cmp(&r));
        }

        #[test]
        fn every_value_round_trips(v in arb_value()) {
            let mut buf = Vec::new();
            encode_value(&v, &mut buf);
            prop_assert_eq!(decode_value(&buf).expect("decodes"), v.clone());
            let mut d = Decoder::new(&buf);
            d.skip_value().expect("skips");
            prop_assert!(d.is_empty());
        }

        #[test]
        fn borrowed_values_read_as_the_owned_ones(v in arb_value(), w in arb_value()) {
            let mut buf = Vec::new();
            encode_value(&v, &mut buf);
            let mut d = Decoder::new(&buf);
            let r = d.value_ref().expect("decodes in place");
            prop_assert!(d.is_empty());
            prop_assert_eq!(r.to_value(), v.clone());
            prop_assert!(r == v, "{:?} equals its own value", r);
            prop_assert_eq!(r == w, v == w, "{:?} vs {:?}", v, w);
            prop_assert_eq!(r.type_group(), v.type_group());
            let lent = ValueRef::lend(&v, |l| l.to_value()).expect("lends");
            prop_assert_eq!(lent, v.clone());
            let mut other = Vec::new();
            encode_value(&w, &mut other);
            let rw = Decoder::new(&other).value_ref().expect("decodes");
            prop_assert_eq!(r == rw, v == w);
        }

        #[test]
        fn property_records_round_trip(mut pairs in proptest::collection::btree_map(any::<u32>(), arb_value(), 0..8)) {
            pairs.retain(|_, v| !v.is_null());
            let mut buf = Vec::new();
            encode_properties(pairs.iter().map(|(k, v)| (*k, v)), &mut buf);
            let back = decode_properties(&buf).expect("decodes");
            prop_assert_eq!(back.clone(), pairs.clone().into_iter().collect::<Vec<_>>());
            for (k, v) in &pairs {
                prop_assert_eq!(find_property(&buf, *k).expect("finds"), Some(v.clone()));
                let r = find_property_ref(&buf, *k).expect("finds in place");
                prop_assert!(r.is_some_and(|r| r == *v));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_value(&bytes);
            let _ = decode_properties(&bytes);
            let _ = find_property(&bytes, 3);
            let mut d = Decoder::new(&bytes);
            let _ = d.skip_value();
            // What decodes in place decodes owned, and the other way round.
            let owned = decode_value(&bytes);
            let mut d = Decoder::new(&bytes);
            let borrowed = d.value_ref().ok().filter(|_| d.is_empty());
            let borrowed = borrowed.map(|b| b.to_value());
            prop_assert_eq!(owned.ok(), borrowed);
        }

        #[test]
        fn varints_round_trip(u in any::<u64>(), s in any::<i64>()) {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, u);
            put_svarint(&mut buf, s);
            let mut d = Decoder::new(&buf);
            prop_assert_eq!(d.uvarint().expect("u"), u);
            prop_assert_eq!(d.svarint().expect("s"), s);
            prop_assert!(d.is_empty());
        }
    }

    #[test]
    fn hostile_lengths_are_refused_without_allocating() {
        // A list claiming u64::MAX elements in a 12-byte buffer.
        let mut buf = vec![TAG_LIST];
        put_uvarint(&mut buf, u64::MAX);
        let e = decode_value(&buf).expect_err("refused");
        assert_eq!(e.reason, "length exceeds the remaining bytes");
    }

    #[test]
    fn deep_nesting_in_input_is_refused() {
        let buf: Vec<u8> = std::iter::repeat_n([TAG_LIST, 1], 10_000)
            .flatten()
            .collect();
        let e = decode_value(&buf).expect_err("refused");
        assert_eq!(e.reason, "value nests too deeply");
    }

    #[test]
    fn a_list_is_checked_whole_when_read_in_place() {
        // A list whose second element is a string of invalid UTF-8, and a map with
        // keys out of order inside a list: refused by the in-place read and by a
        // skip, as by the owned decode, so a `ListRef` never holds what cannot decode.
        let mut bad_string = vec![TAG_LIST, 2, TAG_INT, 2, TAG_STRING, 2, 0xff, 0xfe];
        let mut bad_map = vec![TAG_LIST, 1, TAG_MAP, 2];
        put_str(&mut bad_map, "b");
        bad_map.push(TAG_NULL);
        put_str(&mut bad_map, "a");
        bad_map.push(TAG_NULL);
        for buf in [&mut bad_string, &mut bad_map] {
            assert!(decode_value(buf).is_err());
            assert!(Decoder::new(buf).value_ref().is_err());
            assert!(Decoder::new(buf).skip_value().is_err());
            // As a property other than the one looked up: skipped and refused.
            let mut record = vec![1];
            record.extend_from_slice(buf);
            record.extend_from_slice(&[2, TAG_INT, 4]);
            assert!(find_property_ref(&record, 2).is_err());
        }
        let mut good = Vec::new();
        let list = PropertyValue::List(vec![
            1.into(),
            "zwei".into(),
            PropertyValue::Map([("k".to_string(), 3.5.into())].into()),
        ]);
        encode_value(&list, &mut good);
        let r = Decoder::new(&good).value_ref().expect("decodes");
        let ValueRef::List(items) = r else {
            panic!("a list reads as a list, got {r:?}");
        };
        let items: Vec<ValueRef<'_>> = items.iter().collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].as_str(), Some("zwei"));
        let ValueRef::Map(m) = items[2] else {
            panic!("a map reads as a map");
        };
        assert_eq!(m.get("k").and_then(|v| v.as_float()), Some(3.5));
        assert!(m.get("j").is_none());
    }

    #[test]
    fn map_keys_out_of_order_are_corrupt() {
        let mut buf = vec![TAG_MAP, 2];
        put_str(&mut buf, "b");
        buf.push(TAG_NULL);
        put_str(&mut buf, "a");
        buf.push(TAG_NULL);
        assert!(decode_value(&buf).is_err());
    }

    #[test]
    fn corrupt_error_names_what_and_offset() {
        let e = decode_value(&[99]).expect_err("bad tag");
        let c = e.into_corrupt("wal/000001.wal", 4096);
        assert_eq!(c.kind(), crate::ErrorKind::Corrupt);
        assert!(c.message().contains("wal/000001.wal"));
        assert!(c.message().contains("offset 4096"));
    }

    #[test]
    fn unknown_codec_versions_are_refused() {
        assert!(check_codec_version(VALUE_CODEC_VERSION).is_ok());
        assert_eq!(
            check_codec_version(VALUE_CODEC_VERSION + 1).map_err(|e| e.kind()),
            Err(crate::ErrorKind::Corrupt)
        );
    }
}
