//! Order-preserving sort keys of property values: bytes that compare as the values
//! do, for index keys in byte-ordered stores (not decodable).

use crate::value::PropertyValue;

/// Appends a *sort key* of `value`: bytes whose lexicographic order is
/// [`PropertyValue::total_cmp`]'s order, equal exactly when the values are equal in
/// that order (so `Int(1)` and `Float(1.0)` give the same bytes, as do `0.0` and
/// `-0.0`, and every NaN). For index keys in byte-ordered stores; not decodable.
///
/// Layout: a tag per [`crate::TypeGroup`] (its position + 1; 0 ends lists and maps),
/// then big-endian payloads with the sign bit flipped so that they sort numerically:
/// - numbers: the value rounded to the nearest f64 (8 bytes, ordered float bits), then
///   the exact integer remainder (`Int` minus that f64, an i64; 0 for floats), so
///   integers beyond 2^53 still sort exactly among themselves and against floats;
/// - strings and map keys: the UTF-8 bytes with 0x00 written as 0x00 0xFF, ended by
///   0x00 0x00 (a prefix sorts first);
/// - temporal values: their integer fields; points: SRID, x, y, then 0 (no z) or 1
///   and z;
/// - lists: (0x01, element)* then 0x00; maps: (0x01, key, value)* then 0x00.
pub fn encode_sort_key(value: &PropertyValue, out: &mut Vec<u8>) {
    use PropertyValue as V;
    out.push(value.type_group() as u8 + 1);
    match value {
        V::Null => {}
        V::Bool(b) => out.push(u8::from(*b)),
        V::Int(i) => {
            // Round to nearest; the remainder is exact and small (|r| <= 512).
            let f = *i as f64;
            let rest = i128::from(*i) - f as i128;
            put_sort_f64(out, f);
            put_sort_i64(out, rest as i64);
        }
        V::Float(f) => {
            put_sort_f64(out, *f);
            put_sort_i64(out, 0);
        }
        V::String(s) => put_sort_str(out, s),
        V::Date(d) => put_sort_i64(out, i64::from(d.days_since_epoch())),
        V::LocalTime(t) => put_sort_i64(out, t.micros_since_midnight()),
        V::LocalDateTime(t) => put_sort_i64(out, t.micros_since_epoch()),
        V::Duration(d) => put_sort_i64(out, d.micros()),
        V::ZonedDateTime(z) => {
            put_sort_i64(out, z.utc_micros());
            put_sort_i64(out, i64::from(z.offset_seconds()));
        }
        V::Point(p) => {
            out.extend_from_slice(&p.srid.to_be_bytes());
            put_sort_f64(out, p.x);
            put_sort_f64(out, p.y);
            match p.z {
                None => out.push(0),
                Some(z) => {
                    out.push(1);
                    put_sort_f64(out, z);
                }
            }
        }
        V::List(items) => {
            for item in items {
                out.push(1);
                encode_sort_key(item, out);
            }
            out.push(0);
        }
        V::Map(entries) => {
            for (k, v) in entries {
                out.push(1);
                put_sort_str(out, k);
                encode_sort_key(v, out);
            }
            out.push(0);
        }
    }
}

fn put_sort_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&((v as u64) ^ (1 << 63)).to_be_bytes());
}

fn put_sort_f64(out: &mut Vec<u8>, f: f64) {
    // One NaN, and -0.0 as 0.0, as the total order has it.
    let f = if f.is_nan() {
        f64::NAN
    } else if f == 0.0 {
        0.0
    } else {
        f
    };
    let bits = f.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    out.extend_from_slice(&ordered.to_be_bytes());
}

fn put_sort_str(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}
