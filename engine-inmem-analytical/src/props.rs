//! Property records, kept as the codec's encoded bytes: reading one value.

use engine_api::codec::{find_property, find_property_ref};
use engine_api::{Error, PropertyValue, Result, ValueRef};

/// A record that does not decode: `Corrupt` (never expected of our own records).
pub(crate) fn corrupt(e: engine_api::codec::DecodeError) -> Error {
    e.into_corrupt("in-memory property record", 0)
}

/// The value of `key` in a property record, if set.
pub(crate) fn get(blob: &[u8], key: u32) -> Result<Option<PropertyValue>> {
    find_property(blob, key).map_err(corrupt)
}

/// The value of `key` in a property record, borrowed in place, if set.
pub(crate) fn get_ref(blob: &[u8], key: u32) -> Result<Option<ValueRef<'_>>> {
    find_property_ref(blob, key).map_err(corrupt)
}
