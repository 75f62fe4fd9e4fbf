//! Property records, kept as the codec's encoded bytes: reading one value.

use engine_api::codec::{Decoder, find_property, find_property_bytes};
use engine_api::{Error, PropertyValue, Result, ValueRef};

/// A record that does not decode: `Corrupt` (never expected of our own records).
pub(crate) fn corrupt(e: engine_api::codec::DecodeError) -> Error {
    e.into_corrupt("in-memory property record", 0)
}

/// The value of `key` in a property record, if set.
pub(crate) fn get(blob: &[u8], key: u32) -> Result<Option<PropertyValue>> {
    find_property(blob, key).map_err(corrupt)
}

/// One encoded value copied out of a record, on the stack up to 64 bytes. A borrowed
/// read copies the value under the object's lock and runs its closure after the lock
/// is released: writers here lock two vertices at once (an edge's endpoints, lower id
/// first), so a closure that read another object while holding one could wait for a
/// writer that waits for it.
pub(crate) type ValueCopy = smallvec::SmallVec<[u8; 64]>;

/// The encoded value of `key` in a property record, copied, if set.
pub(crate) fn value_copy(blob: &[u8], key: u32) -> Result<Option<ValueCopy>> {
    Ok(find_property_bytes(blob, key)
        .map_err(corrupt)?
        .map(ValueCopy::from_slice))
}

/// Hands a copied value to `f`, read in place from the copy.
pub(crate) fn lend<R>(
    copy: Option<ValueCopy>,
    f: impl FnOnce(Option<ValueRef<'_>>) -> R,
) -> Result<R> {
    match copy {
        None => Ok(f(None)),
        Some(bytes) => {
            let value = Decoder::new(&bytes).value_ref().map_err(corrupt)?;
            Ok(f(Some(value)))
        }
    }
}
