//! Property records kept as encoded bytes (the codec's property-record form), which
//! costs a fraction of the memory of a map of values.

use engine_api::codec::{
    find_property, find_property_ref, properties_record_into, replace_property,
};
use engine_api::{Error, PropertyValue, Result, ValueRef};

fn corrupt(e: engine_api::codec::DecodeError) -> Error {
    e.into_corrupt("in-memory property record", 0)
}

/// A property record, inside the object's state up to 32 bytes: a point read then
/// finds the value where it found the object, with no second cache miss, and a small
/// record costs no allocation of its own (the report's vertices take 30 bytes).
/// Longer records are boxed.
pub(crate) type Record = smallvec::SmallVec<[u8; 32]>;

/// An edge's property record: inline up to 16 bytes (one or two numbers: the
/// report's edges take 3 to 4), so an edge's whole slot, lock included, is one
/// 64-byte cache line; a scan of the edges (a snapshot) reads a fifth less memory
/// than with the vertices' 32 bytes. Longer records are boxed.
pub(crate) type EdgeRecord = smallvec::SmallVec<[u8; 16]>;

/// The inline room of a record: [`Record`] or [`EdgeRecord`].
pub(crate) trait Inline: smallvec::Array<Item = u8> {}
impl<A: smallvec::Array<Item = u8>> Inline for A {}

/// The value of `key`, if set.
pub(crate) fn get(blob: &[u8], key: u32) -> Result<Option<PropertyValue>> {
    find_property(blob, key).map_err(corrupt)
}

/// The value of `key`, if set, borrowed in place.
pub(crate) fn get_ref(blob: &[u8], key: u32) -> Result<Option<ValueRef<'_>>> {
    find_property_ref(blob, key).map_err(corrupt)
}

/// All `(key, value)` pairs.
pub(crate) fn all(blob: &[u8]) -> Result<Vec<(u32, PropertyValue)>> {
    engine_api::codec::decode_properties(blob).map_err(corrupt)
}

/// A new record with `key` set to `value` (`None` or `Null` removes it), and the old
/// value.
pub(crate) fn set<A: Inline>(
    blob: &[u8],
    key: u32,
    value: Option<&PropertyValue>,
) -> Result<(smallvec::SmallVec<A>, Option<PropertyValue>)> {
    let (out, old) = replace_property(blob, key, value).map_err(corrupt)?;
    Ok((smallvec::SmallVec::from_slice(&out), old))
}

/// A record holding `pairs` (any order; later duplicates win).
pub(crate) fn build<A: Inline>(pairs: &mut [(u32, PropertyValue)]) -> smallvec::SmallVec<A> {
    thread_local! {
        /// The encoding buffer of `build`, reused: a small record then costs no
        /// allocation at all.
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        properties_record_into(pairs, buf);
        let record = smallvec::SmallVec::from_slice(buf);
        if buf.capacity() > 1 << 16 {
            // One large record must not keep its buffer alive in every thread.
            *buf = Vec::new();
        }
        record
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_inserts_replaces_and_removes_in_key_order() {
        let (b, old) = set::<[u8; 16]>(&[], 5, Some(&PropertyValue::Int(1))).expect("set");
        assert_eq!(old, None);
        let (b, _) = set::<[u8; 16]>(&b, 2, Some(&PropertyValue::from("x"))).expect("set");
        let (b, _) = set::<[u8; 16]>(&b, 9, Some(&PropertyValue::Bool(true))).expect("set");
        let (b, old) = set::<[u8; 16]>(&b, 5, Some(&PropertyValue::Float(2.5))).expect("set");
        assert_eq!(old, Some(PropertyValue::Int(1)));
        assert_eq!(
            all(&b).expect("decodes"),
            vec![
                (2, PropertyValue::from("x")),
                (5, PropertyValue::Float(2.5)),
                (9, PropertyValue::Bool(true))
            ]
        );
        let (b, old) = set::<[u8; 16]>(&b, 2, None).expect("remove");
        assert_eq!(old, Some(PropertyValue::from("x")));
        let (b, _) = set::<[u8; 16]>(&b, 9, Some(&PropertyValue::Null)).expect("remove via null");
        assert_eq!(
            all(&b).expect("decodes"),
            vec![(5, PropertyValue::Float(2.5))]
        );
        assert_eq!(get(&b, 5).expect("get"), Some(PropertyValue::Float(2.5)));
        assert_eq!(get(&b, 6).expect("get"), None);
    }

    /// An edge's slot, lock included, is one cache line (see [`EdgeRecord`]); a
    /// record longer than its inline room is boxed and reads the same.
    #[test]
    fn an_edge_slot_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<crate::graph::EdgeSlot>(), 64);
        let mut pairs: Vec<_> = (0..6).map(|k| (k, PropertyValue::Int(1 << 40))).collect();
        let long: EdgeRecord = build(&mut pairs);
        assert!(long.spilled());
        assert_eq!(all(&long).expect("decodes").len(), 6);
    }

    #[test]
    fn build_sorts_and_keeps_the_last_duplicate() {
        let mut pairs = vec![
            (3, PropertyValue::Int(1)),
            (1, PropertyValue::Int(2)),
            (3, PropertyValue::Int(3)),
        ];
        let b: Record = build(&mut pairs);
        assert_eq!(
            all(&b).expect("decodes"),
            vec![(1, PropertyValue::Int(2)), (3, PropertyValue::Int(3))]
        );
    }
}
