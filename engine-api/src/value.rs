//! Property values, their temporal and spatial types, and the one total order over
//! all values.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

/// How deeply lists and maps may nest inside one property value. Deeper values are
/// refused with [`crate::ErrorKind::InvalidInput`] when written, so that every stored
/// value can be decoded again without unbounded recursion.
pub const MAX_NESTING_DEPTH: usize = 128;

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A calendar date (proleptic Gregorian), stored as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    days: i32,
}

impl Date {
    /// The date `days` days after (negative: before) 1970-01-01.
    pub fn from_days_since_epoch(days: i32) -> Self {
        Date { days }
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i32 {
        self.days
    }

    /// The date of year/month/day, or `None` if that day does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let days = days_from_civil(i64::from(year), month, day);
        i32::try_from(days).ok().map(|days| Date { days })
    }

    /// Year, month (1-12) and day (1-31).
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(i64::from(self.days))
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

// Day counting in 400-year eras of 146 097 days, with years starting in March so the
// leap day is the last day of a year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

/// A time of day without a time zone, at microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    micros: i64,
}

impl LocalTime {
    /// The time `micros` microseconds after midnight, or `None` outside one day.
    pub fn from_micros_since_midnight(micros: i64) -> Option<Self> {
        (0..MICROS_PER_DAY)
            .contains(&micros)
            .then_some(LocalTime { micros })
    }

    /// Microseconds since midnight, in `0..MICROS_PER_DAY`.
    pub fn micros_since_midnight(self) -> i64 {
        self.micros
    }
}

/// A date and time without a time zone, at microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime {
    micros: i64,
}

impl LocalDateTime {
    /// The date-time `micros` microseconds after 1970-01-01T00:00:00.
    pub fn from_micros_since_epoch(micros: i64) -> Self {
        LocalDateTime { micros }
    }

    /// Microseconds since 1970-01-01T00:00:00.
    pub fn micros_since_epoch(self) -> i64 {
        self.micros
    }
}

/// A span of time at microsecond precision (may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    micros: i64,
}

impl Duration {
    /// A duration of `micros` microseconds.
    pub fn from_micros(micros: i64) -> Self {
        Duration { micros }
    }

    /// The length in microseconds.
    pub fn micros(self) -> i64 {
        self.micros
    }
}

/// The largest UTC offset accepted by [`ZonedDateTime`], in seconds (18 hours).
pub const MAX_UTC_OFFSET_SECONDS: i32 = 18 * 3600;

/// An instant with the UTC offset it was given in, at microsecond precision.
///
/// Two values are the same instant when their `utc_micros` agree; the total order
/// compares the instant first, then the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZonedDateTime {
    utc_micros: i64,
    offset_seconds: i32,
}

impl ZonedDateTime {
    /// The instant `utc_micros` after the epoch (UTC), shown at `offset_seconds` east of
    /// UTC; `None` if the offset exceeds ±18 hours.
    pub fn new(utc_micros: i64, offset_seconds: i32) -> Option<Self> {
        (offset_seconds.abs() <= MAX_UTC_OFFSET_SECONDS).then_some(ZonedDateTime {
            utc_micros,
            offset_seconds,
        })
    }

    /// Microseconds since 1970-01-01T00:00:00Z.
    pub fn utc_micros(self) -> i64 {
        self.utc_micros
    }

    /// The offset east of UTC, in seconds.
    pub fn offset_seconds(self) -> i32 {
        self.offset_seconds
    }
}

/// A 2D or 3D point in a coordinate reference system named by its SRID
/// (for example 7203: Cartesian 2D, 4326: WGS-84 2D, 9157: Cartesian 3D, 4979: WGS-84 3D).
#[derive(Debug, Clone, Copy)]
pub struct Point {
    /// The coordinate reference system id.
    pub srid: u32,
    /// First coordinate (x or longitude).
    pub x: f64,
    /// Second coordinate (y or latitude).
    pub y: f64,
    /// Third coordinate (z or height) for 3D points.
    pub z: Option<f64>,
}

impl PartialEq for Point {
    fn eq(&self, other: &Self) -> bool {
        self.srid == other.srid
            && self.x.to_bits() == other.x.to_bits()
            && self.y.to_bits() == other.y.to_bits()
            && self.z.map(f64::to_bits) == other.z.map(f64::to_bits)
    }
}

impl Eq for Point {}

/// A property value.
///
/// Equality (`==`) is structural: floats are equal when their bits are, so `NaN ==
/// NaN` and `0.0 != -0.0`, and `Int(1) != Float(1.0)`. This is what round-trip checks
/// want. Lookups, uniqueness and range indexes use the total order of
/// [`PropertyValue::total_cmp`] instead, where `Int(1)` equals `Float(1.0)`.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum PropertyValue {
    /// No value. Setting a property to `Null` removes it.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    String(String),
    /// A list of values.
    List(Vec<PropertyValue>),
    /// A map with string keys, ordered by key.
    Map(BTreeMap<String, PropertyValue>),
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

impl PartialEq for PropertyValue {
    fn eq(&self, other: &Self) -> bool {
        use PropertyValue as V;
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

impl Eq for PropertyValue {}

/// The groups of the total order, in order. Values of different groups compare by
/// group; numbers (Int and Float) form one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TypeGroup {
    /// `Null`.
    Null,
    /// `Bool`.
    Bool,
    /// `Int` and `Float`.
    Number,
    /// `String`.
    String,
    /// `Date`.
    Date,
    /// `LocalTime`.
    LocalTime,
    /// `LocalDateTime`.
    LocalDateTime,
    /// `ZonedDateTime`.
    ZonedDateTime,
    /// `Duration`.
    Duration,
    /// `Point`.
    Point,
    /// `List`.
    List,
    /// `Map`.
    Map,
}

impl PropertyValue {
    /// The group this value sorts in.
    pub fn type_group(&self) -> TypeGroup {
        use PropertyValue as V;
        match self {
            V::Null => TypeGroup::Null,
            V::Bool(_) => TypeGroup::Bool,
            V::Int(_) | V::Float(_) => TypeGroup::Number,
            V::String(_) => TypeGroup::String,
            V::Date(_) => TypeGroup::Date,
            V::LocalTime(_) => TypeGroup::LocalTime,
            V::LocalDateTime(_) => TypeGroup::LocalDateTime,
            V::ZonedDateTime(_) => TypeGroup::ZonedDateTime,
            V::Duration(_) => TypeGroup::Duration,
            V::Point(_) => TypeGroup::Point,
            V::List(_) => TypeGroup::List,
            V::Map(_) => TypeGroup::Map,
        }
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, PropertyValue::Null)
    }

    /// The total order over all values: by [`TypeGroup`] first, then by value.
    ///
    /// Int and Float compare by exact numeric value (`1 == 1.0`, and `2^53 + 1` is
    /// greater than `2^53 as f64`); `-0.0 == 0.0`; NaN sorts after every other number
    /// and equals itself. Strings compare by code point, lists and maps
    /// lexicographically (maps as sorted key/value sequences), points by SRID and then
    /// coordinates, zoned date-times by instant and then offset.
    #[inline]
    pub fn total_cmp(&self, other: &PropertyValue) -> Ordering {
        use PropertyValue as V;
        // The usual index keys first, inline (an index's tree compares keys at every
        // step of every insert and lookup): the same order as the general case.
        match (self, other) {
            (V::Int(a), V::Int(b)) => a.cmp(b),
            (V::String(a), V::String(b)) => a.cmp(b),
            _ => self.total_cmp_general(other),
        }
    }

    fn total_cmp_general(&self, other: &PropertyValue) -> Ordering {
        use PropertyValue as V;
        let group = self.type_group().cmp(&other.type_group());
        if group != Ordering::Equal {
            return group;
        }
        match (self, other) {
            (V::Bool(a), V::Bool(b)) => a.cmp(b),
            (V::Int(a), V::Int(b)) => a.cmp(b),
            (V::Float(a), V::Float(b)) => cmp_floats(*a, *b),
            (V::Int(a), V::Float(b)) => cmp_int_float(*a, *b),
            (V::Float(a), V::Int(b)) => cmp_int_float(*b, *a).reverse(),
            (V::String(a), V::String(b)) => a.cmp(b),
            (V::Date(a), V::Date(b)) => a.cmp(b),
            (V::LocalTime(a), V::LocalTime(b)) => a.cmp(b),
            (V::LocalDateTime(a), V::LocalDateTime(b)) => a.cmp(b),
            (V::ZonedDateTime(a), V::ZonedDateTime(b)) => a.cmp(b),
            (V::Duration(a), V::Duration(b)) => a.cmp(b),
            (V::Point(a), V::Point(b)) => a
                .srid
                .cmp(&b.srid)
                .then_with(|| cmp_floats(a.x, b.x))
                .then_with(|| cmp_floats(a.y, b.y))
                .then_with(|| match (a.z, b.z) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => cmp_floats(x, y),
                }),
            (V::List(a), V::List(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let o = x.total_cmp(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (V::Map(a), V::Map(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                    let o = ka.cmp(kb).then_with(|| va.total_cmp(vb));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            // Same group, so both are Null.
            _ => Ordering::Equal,
        }
    }

    /// How deeply lists and maps nest in this value (a scalar has depth 0).
    pub fn nesting_depth(&self) -> usize {
        match self {
            PropertyValue::List(items) => {
                1 + items.iter().map(Self::nesting_depth).max().unwrap_or(0)
            }
            PropertyValue::Map(entries) => {
                1 + entries.values().map(Self::nesting_depth).max().unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// Checks that this value can be stored: lists and maps nest at most
    /// [`MAX_NESTING_DEPTH`] levels deep. (`Null` elements inside lists and maps are
    /// kept as they are.)
    pub fn validate(&self) -> crate::Result<()> {
        let depth = self.nesting_depth();
        if depth > MAX_NESTING_DEPTH {
            return Err(crate::Error::invalid_input(format!(
                "property value nests {depth} levels deep; at most {MAX_NESTING_DEPTH} are allowed"
            )));
        }
        Ok(())
    }
}

fn cmp_floats(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // Neither is NaN, so partial_cmp is total here; -0.0 == 0.0.
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Compares an integer with a float by exact numeric value.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return Ordering::Less;
    }
    if f >= TWO_POW_63 {
        return Ordering::Less;
    }
    if f < -TWO_POW_63 {
        return Ordering::Greater;
    }
    // -2^63 <= f < 2^63, so its integer part fits an i64 exactly.
    let whole = f.trunc();
    let whole_int = whole as i64;
    match i.cmp(&whole_int) {
        Ordering::Equal => {
            let fraction = f - whole;
            if fraction > 0.0 {
                Ordering::Less
            } else if fraction < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        other => other,
    }
}

/// A [`PropertyValue`] ordered and compared by [`PropertyValue::total_cmp`], for use as
/// a key in ordered collections (range indexes, uniqueness checks).
#[derive(Debug, Clone)]
pub struct OrderedValue(pub PropertyValue);

impl PartialEq for OrderedValue {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}

impl Eq for OrderedValue {}

impl PartialOrd for OrderedValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedValue {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Which values of one property a lookup by label and property selects.
///
/// A bound selects only values of its own [`TypeGroup`] (a numeric range never matches
/// strings), compared by [`PropertyValue::total_cmp`]; so `equal(Int(1))` also matches
/// `Float(1.0)`. [`PropertyBounds::any`] selects every vertex that has the property.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyBounds {
    /// The lower bound.
    pub lower: Bound<PropertyValue>,
    /// The upper bound.
    pub upper: Bound<PropertyValue>,
}

impl PropertyBounds {
    /// Values equal to `value` in the total order.
    pub fn equal(value: PropertyValue) -> Self {
        PropertyBounds {
            lower: Bound::Included(value.clone()),
            upper: Bound::Included(value),
        }
    }

    /// Values between the bounds (each may be unbounded).
    pub fn range(lower: Bound<PropertyValue>, upper: Bound<PropertyValue>) -> Self {
        PropertyBounds { lower, upper }
    }

    /// Any value: the vertex has the property.
    pub fn any() -> Self {
        PropertyBounds {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        }
    }

    /// True if `value` is selected.
    pub fn matches(&self, value: &PropertyValue) -> bool {
        if value.is_null() {
            return false;
        }
        let lower_ok = match &self.lower {
            Bound::Unbounded => true,
            Bound::Included(b) => {
                b.type_group() == value.type_group() && value.total_cmp(b) != Ordering::Less
            }
            Bound::Excluded(b) => {
                b.type_group() == value.type_group() && value.total_cmp(b) == Ordering::Greater
            }
        };
        let upper_ok = match &self.upper {
            Bound::Unbounded => true,
            Bound::Included(b) => {
                b.type_group() == value.type_group() && value.total_cmp(b) != Ordering::Greater
            }
            Bound::Excluded(b) => {
                b.type_group() == value.type_group() && value.total_cmp(b) == Ordering::Less
            }
        };
        lower_ok && upper_ok
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for PropertyValue {
            fn from(v: $t) -> Self {
                PropertyValue::$variant(v.into())
            }
        })*
    };
}

value_from! {
    bool => Bool,
    i64 => Int,
    i32 => Int,
    f64 => Float,
    String => String,
    &str => String,
    Vec<PropertyValue> => List,
    BTreeMap<String, PropertyValue> => Map,
    Date => Date,
    LocalTime => LocalTime,
    LocalDateTime => LocalDateTime,
    Duration => Duration,
    ZonedDateTime => ZonedDateTime,
    Point => Point,
}

/// Properties of one vertex or edge, by key.
pub type PropertyMap = BTreeMap<crate::Name, PropertyValue>;

#[cfg(test)]
mod tests {
    use super::*;
    use PropertyValue as V;

    #[test]
    fn int_and_float_compare_numerically() {
        assert_eq!(V::Int(1).total_cmp(&V::Float(1.0)), Ordering::Equal);
        assert_eq!(V::Int(1).total_cmp(&V::Float(1.5)), Ordering::Less);
        assert_eq!(V::Int(-1).total_cmp(&V::Float(-1.5)), Ordering::Greater);
        // 2^53 + 1 is not representable as f64; the int is larger than 2^53 as float.
        let big = (1i64 << 53) + 1;
        assert_eq!(
            V::Int(big).total_cmp(&V::Float((1i64 << 53) as f64)),
            Ordering::Greater
        );
        assert_eq!(
            V::Int(i64::MAX).total_cmp(&V::Float(2f64.powi(63))),
            Ordering::Less
        );
        assert_eq!(
            V::Int(i64::MIN).total_cmp(&V::Float(-(2f64.powi(63)))),
            Ordering::Equal
        );
        assert_eq!(
            V::Int(i64::MIN).total_cmp(&V::Float(f64::NEG_INFINITY)),
            Ordering::Greater
        );
    }

    #[test]
    fn nan_sorts_after_numbers_and_equals_itself() {
        assert_eq!(
            V::Float(f64::NAN).total_cmp(&V::Float(f64::INFINITY)),
            Ordering::Greater
        );
        assert_eq!(
            V::Float(f64::NAN).total_cmp(&V::Int(i64::MAX)),
            Ordering::Greater
        );
        assert_eq!(
            V::Float(f64::NAN).total_cmp(&V::Float(f64::NAN)),
            Ordering::Equal
        );
        assert_eq!(V::Float(-0.0).total_cmp(&V::Float(0.0)), Ordering::Equal);
        assert!(V::Float(f64::NAN).total_cmp(&V::String(String::new())) == Ordering::Less);
    }

    /// The inline comparisons of two integers or two strings give the general
    /// order's answer.
    #[test]
    fn the_quick_comparisons_agree_with_the_general_order() {
        let values = [
            V::Int(i64::MIN),
            V::Int(-1),
            V::Int(0),
            V::Int(7),
            V::Int(i64::MAX),
            V::String(String::new()),
            V::String("a".into()),
            V::String("ab".into()),
            V::String("b".into()),
            V::String("é".into()),
        ];
        for a in &values {
            for b in &values {
                assert_eq!(a.total_cmp(b), a.total_cmp_general(b), "{a:?} vs {b:?}");
            }
        }
        assert_eq!(V::Int(-1).total_cmp(&V::Int(7)), Ordering::Less);
        assert_eq!(
            V::String("b".into()).total_cmp(&V::String("ab".into())),
            Ordering::Greater
        );
    }

    #[test]
    fn groups_order_before_values() {
        assert_eq!(V::Bool(true).total_cmp(&V::Int(-5)), Ordering::Less);
        assert_eq!(
            V::String("a".into()).total_cmp(&V::Int(5)),
            Ordering::Greater
        );
        assert_eq!(V::Null.total_cmp(&V::Bool(false)), Ordering::Less);
    }

    #[test]
    fn bounds_select_only_their_type_group() {
        let b = PropertyBounds::range(Bound::Included(V::Int(5)), Bound::Unbounded);
        assert!(b.matches(&V::Int(5)));
        assert!(b.matches(&V::Float(5.5)));
        assert!(!b.matches(&V::Int(4)));
        assert!(!b.matches(&V::String("zzz".into())));
        assert!(PropertyBounds::equal(V::Int(1)).matches(&V::Float(1.0)));
        assert!(PropertyBounds::any().matches(&V::String(String::new())));
        assert!(!PropertyBounds::any().matches(&V::Null));
    }

    #[test]
    fn dates_convert_to_and_from_calendar_days() {
        assert_eq!(
            Date::from_ymd(1970, 1, 1).map(Date::days_since_epoch),
            Some(0)
        );
        let d = Date::from_ymd(1994, 12, 7).expect("valid date");
        assert_eq!(d.ymd(), (1994, 12, 7));
        assert_eq!(
            Date::from_ymd(2000, 2, 29).map(Date::ymd),
            Some((2000, 2, 29))
        );
        assert!(Date::from_ymd(1900, 2, 29).is_none());
        assert!(Date::from_ymd(2023, 13, 1).is_none());
        let before = Date::from_ymd(1, 1, 1).expect("valid date");
        assert_eq!(before.ymd(), (1, 1, 1));
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 2_932_896] {
            let (y, m, dd) = Date::from_days_since_epoch(days).ymd();
            assert_eq!(
                Date::from_ymd(y, m, dd).map(Date::days_since_epoch),
                Some(days)
            );
        }
    }

    #[test]
    fn nesting_beyond_the_limit_is_invalid_input() {
        let mut v = V::Int(1);
        for _ in 0..MAX_NESTING_DEPTH {
            v = V::List(vec![v]);
        }
        assert!(v.validate().is_ok());
        let too_deep = V::List(vec![v]);
        let err = too_deep.validate().expect_err("too deep");
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    }
}
