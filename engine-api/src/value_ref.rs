//! Borrowed property values: a value read in place from a backend's encoded property
//! record, without copying it out.
//!
//! Every backend keeps properties in the codec's property-record form (in memory, in
//! RocksDB, in the WAL and in snapshots), so a read that only looks at a value (folds
//! its bytes, compares it, writes it somewhere) need not allocate a `String` or a `Vec`
//! for it. [`crate::Transaction::with_vertex_property`] hands such a [`ValueRef`] to a
//! closure; it cannot outlive the call, so it cannot outlive the transaction or the
//! lock or pinned block it borrows from.

use std::fmt;

use crate::codec::Decoder;
use crate::value::{
    Date, Duration, LocalDateTime, LocalTime, Point, PropertyValue, TypeGroup, ZonedDateTime,
};

/// A property value borrowed from where the backend keeps it. Strings borrow their
/// bytes; lists and maps stay encoded (checked whole when read) and decode element by
/// element as they are iterated. [`ValueRef::to_value`] makes an owned copy.
#[derive(Clone, Copy)]
pub enum ValueRef<'a> {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string, in place.
    String(&'a str),
    /// A list, in place.
    List(ListRef<'a>),
    /// A map with string keys ordered by key, in place.
    Map(MapRef<'a>),
    /// A calendar date.
    Date(Date),
    /// A time of day.
    LocalTime(LocalTime),
    /// A date and time without zone.
    LocalDateTime(LocalDateTime),
    /// A duration.
    Duration(Duration),
    /// An instant with a UTC offset.
    ZonedDateTime(ZonedDateTime),
    /// A spatial point.
    Point(Point),
}

/// A list value in its encoded form: `len` elements, each checked when the list was
/// read, so iterating cannot fail.
#[derive(Clone, Copy)]
pub struct ListRef<'a> {
    len: usize,
    items: &'a [u8],
    depth: usize,
}

/// A map value in its encoded form: `len` entries with strictly ascending keys, each
/// checked when the map was read.
#[derive(Clone, Copy)]
pub struct MapRef<'a> {
    len: usize,
    entries: &'a [u8],
    depth: usize,
}

impl<'a> ListRef<'a> {
    /// `items` must hold exactly `len` encoded values at nesting `depth`, already
    /// checked by the decoder.
    pub(crate) fn checked(len: usize, items: &'a [u8], depth: usize) -> Self {
        ListRef { len, items, depth }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for the empty list.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements, in order.
    pub fn iter(&self) -> ListIter<'a> {
        ListIter {
            decoder: Decoder::new(self.items),
            left: self.len,
            depth: self.depth,
        }
    }
}

impl<'a> IntoIterator for ListRef<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = ListIter<'a>;

    fn into_iter(self) -> ListIter<'a> {
        self.iter()
    }
}

impl<'a> MapRef<'a> {
    /// `entries` must hold exactly `len` encoded entries at nesting `depth`, already
    /// checked by the decoder.
    pub(crate) fn checked(len: usize, entries: &'a [u8], depth: usize) -> Self {
        MapRef {
            len,
            entries,
            depth,
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for the empty map.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries, by ascending key.
    pub fn iter(&self) -> MapIter<'a> {
        MapIter {
            decoder: Decoder::new(self.entries),
            left: self.len,
            depth: self.depth,
        }
    }

    /// The value of `key`, if the map has it.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.iter()
            .take_while(|(k, _)| *k <= key)
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for MapRef<'a> {
    type Item = (&'a str, ValueRef<'a>);
    type IntoIter = MapIter<'a>;

    fn into_iter(self) -> MapIter<'a> {
        self.iter()
    }
}

/// The elements of a [`ListRef`].
#[derive(Debug, Clone)]
pub struct ListIter<'a> {
    decoder: Decoder<'a>,
    left: usize,
    depth: usize,
}

impl<'a> Iterator for ListIter<'a> {
    type Item = ValueRef<'a>;

    fn next(&mut self) -> Option<ValueRef<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The list was checked whole when it was read, so this decodes; an error
        // would mean the checked bytes changed under a shared borrow.
        let v = self.decoder.value_ref_at_depth(self.depth + 1).ok();
        debug_assert!(v.is_some(), "a checked list element failed to decode");
        if v.is_none() {
            self.left = 0;
        }
        v
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// The entries of a [`MapRef`].
#[derive(Debug, Clone)]
pub struct MapIter<'a> {
    decoder: Decoder<'a>,
    left: usize,
    depth: usize,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = (&'a str, ValueRef<'a>);

    fn next(&mut self) -> Option<(&'a str, ValueRef<'a>)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Checked whole when read (see `ListIter::next`).
        let entry = self.decoder.map_entry_at_depth(self.depth + 1).ok();
        debug_assert!(entry.is_some(), "a checked map entry failed to decode");
        if entry.is_none() {
            self.left = 0;
        }
        entry
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> ValueRef<'a> {
    /// An owned copy.
    pub fn to_value(&self) -> PropertyValue {
        use PropertyValue as V;
        match *self {
            ValueRef::Null => V::Null,
            ValueRef::Bool(b) => V::Bool(b),
            ValueRef::Int(i) => V::Int(i),
            ValueRef::Float(f) => V::Float(f),
            ValueRef::String(s) => V::String(s.to_owned()),
            ValueRef::List(l) => V::List(l.iter().map(|v| v.to_value()).collect()),
            ValueRef::Map(m) => V::Map(
                m.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
            ValueRef::Date(d) => V::Date(d),
            ValueRef::LocalTime(t) => V::LocalTime(t),
            ValueRef::LocalDateTime(t) => V::LocalDateTime(t),
            ValueRef::Duration(d) => V::Duration(d),
            ValueRef::ZonedDateTime(z) => V::ZonedDateTime(z),
            ValueRef::Point(p) => V::Point(p),
        }
    }

    /// The string, for a string value.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            ValueRef::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, for an integer value.
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            ValueRef::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The float, for a float value.
    pub fn as_float(&self) -> Option<f64> {
        match *self {
            ValueRef::Float(f) => Some(f),
            _ => None,
        }
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, ValueRef::Null)
    }

    /// The group this value sorts in (as [`PropertyValue::type_group`]).
    pub fn type_group(&self) -> TypeGroup {
        match self {
            ValueRef::Null => TypeGroup::Null,
            ValueRef::Bool(_) => TypeGroup::Bool,
            ValueRef::Int(_) | ValueRef::Float(_) => TypeGroup::Number,
            ValueRef::String(_) => TypeGroup::String,
            ValueRef::Date(_) => TypeGroup::Date,
            ValueRef::LocalTime(_) => TypeGroup::LocalTime,
            ValueRef::LocalDateTime(_) => TypeGroup::LocalDateTime,
            ValueRef::ZonedDateTime(_) => TypeGroup::ZonedDateTime,
            ValueRef::Duration(_) => TypeGroup::Duration,
            ValueRef::Point(_) => TypeGroup::Point,
            ValueRef::List(_) => TypeGroup::List,
            ValueRef::Map(_) => TypeGroup::Map,
        }
    }

    /// Hands an owned `value` to `f` as a `ValueRef`, for a backend that holds some
    /// values decoded (an older version kept in memory): scalars and strings are
    /// borrowed; a list or map is encoded into a buffer first. Errors: a value that
    /// does not decode back (nested deeper than [`crate::MAX_NESTING_DEPTH`], which
    /// writes refuse).
    pub fn lend<R>(
        value: &PropertyValue,
        f: impl FnOnce(ValueRef<'_>) -> R,
    ) -> Result<R, crate::codec::DecodeError> {
        if let PropertyValue::String(s) = value {
            return Ok(f(ValueRef::String(s)));
        }
        if let Some(v) = ValueRef::scalar(value) {
            return Ok(f(v));
        }
        let mut buf = Vec::new();
        crate::codec::encode_value(value, &mut buf);
        Ok(f(Decoder::new(&buf).value_ref()?))
    }

    /// The borrowed form of a scalar value; `None` for a string, list or map (which
    /// have no encoded bytes to borrow here).
    pub(crate) fn scalar(v: &PropertyValue) -> Option<ValueRef<'static>> {
        use PropertyValue as V;
        Some(match *v {
            V::Null => ValueRef::Null,
            V::Bool(b) => ValueRef::Bool(b),
            V::Int(i) => ValueRef::Int(i),
            V::Float(f) => ValueRef::Float(f),
            V::Date(d) => ValueRef::Date(d),
            V::LocalTime(t) => ValueRef::LocalTime(t),
            V::LocalDateTime(t) => ValueRef::LocalDateTime(t),
            V::Duration(d) => ValueRef::Duration(d),
            V::ZonedDateTime(z) => ValueRef::ZonedDateTime(z),
            V::Point(p) => ValueRef::Point(p),
            V::String(_) | V::List(_) | V::Map(_) => return None,
        })
    }
}

/// Equal as the owned values are equal (floats by their bits, as
/// [`PropertyValue`]'s `==`).
impl PartialEq for ValueRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        use ValueRef as V;
        match (self, other) {
            (V::Null, V::Null) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Int(a), V::Int(b)) => a == b,
            (V::Float(a), V::Float(b)) => a.to_bits() == b.to_bits(),
            (V::String(a), V::String(b)) => a == b,
            (V::List(a), V::List(b)) => a == b,
            (V::Map(a), V::Map(b)) => a == b,
            (V::Date(a), V::Date(b)) => a == b,
            (V::LocalTime(a), V::LocalTime(b)) => a == b,
            (V::LocalDateTime(a), V::LocalDateTime(b)) => a == b,
            (V::Duration(a), V::Duration(b)) => a == b,
            (V::ZonedDateTime(a), V::ZonedDateTime(b)) => a == b,
            (V::Point(a), V::Point(b)) => a == b,
            _ => false,
        }
    }
}

impl PartialEq for ListRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl PartialEq for MapRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// Equal as the owned values are equal.
impl PartialEq<PropertyValue> for ValueRef<'_> {
    fn eq(&self, other: &PropertyValue) -> bool {
        match (self, other) {
            (ValueRef::String(a), PropertyValue::String(b)) => *a == b.as_str(),
            (ValueRef::List(a), PropertyValue::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == *y)
            }
            (ValueRef::Map(a), PropertyValue::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va == *vb)
            }
            (a, b) => ValueRef::scalar(b).is_some_and(|b| *a == b),
        }
    }
}

impl PartialEq<ValueRef<'_>> for PropertyValue {
    fn eq(&self, other: &ValueRef<'_>) -> bool {
        other == self
    }
}

/// Shown as the owned value is.
impl fmt::Debug for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_value(), f)
    }
}

impl fmt::Debug for ListRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for MapRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
