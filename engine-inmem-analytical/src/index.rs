//! Indexes, maintained exactly: writes apply in place, so every index holds the
//! current state and nothing else (no versions to keep, nothing to collect).
//!
//! - The label index is one compressed bitmap of vertex ids per label (`roaring`):
//!   about a bit per vertex on a dense graph, and an import adds ids in ascending
//!   order, which a bitmap appends cheaply.
//! - Label+properties and edge-type(+property) indexes are ordered sets of
//!   (sort key, id): the key concatenates the values' sort keys (engine-api's
//!   `encode_sort_key`, whose byte order is the values' total order, so one byte
//!   range serves a range lookup and a composite key's prefix serves a lookup of
//!   its leading properties).
//!
//! Writers update an index under the lock of the object they change, so an index and
//! the objects agree for anyone holding the object's lock; lookups copy candidates
//! out of the index and check each against the object (a write may land between the
//! two).

use std::collections::BTreeSet;
use std::ops::Bound;

use engine_api::codec::encode_sort_key;
use engine_api::{IndexSpec, PropertyBounds, PropertyValue, Result};
use parking_lot::RwLock;
use roaring::RoaringTreemap;

/// Per label id, the vertices that have it.
#[derive(Debug, Default)]
pub(crate) struct LabelIndex {
    sets: boxcar::Vec<RwLock<RoaringTreemap>>,
}

impl LabelIndex {
    fn set(&self, label: u32) -> &RwLock<RoaringTreemap> {
        let at = label as usize;
        // Label ids are dense; concurrent growers may add a few extra empty sets. A
        // slot another thread is still appending is counted before it can be read
        // (indexing it would panic): wait for it.
        loop {
            if let Some(s) = self.sets.get(at) {
                return s;
            }
            if self.sets.count() <= at {
                self.sets.push(RwLock::new(RoaringTreemap::new()));
            } else {
                std::thread::yield_now();
            }
        }
    }

    pub(crate) fn insert(&self, label: u32, vertex: u64) {
        self.set(label).write().insert(vertex);
    }

    pub(crate) fn remove(&self, label: u32, vertex: u64) {
        self.set(label).write().remove(vertex);
    }

    /// A copy of the set of `label` (a scan iterates the copy).
    pub(crate) fn members(&self, label: u32) -> RoaringTreemap {
        self.sets
            .get(label as usize)
            .map(|s| s.read().clone())
            .unwrap_or_default()
    }

    pub(crate) fn count(&self, label: u32) -> u64 {
        self.sets.get(label as usize).map_or(0, |s| s.read().len())
    }
}

/// What a key set indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A label index: declared only, the label bitmaps always exist.
    Label,
    /// Vertices with `label`, by `keys` (a vertex is in it when it has the label and
    /// the first key; a missing later key counts as `Null`).
    Vertices { label: u32, keys: Box<[u32]> },
    /// Edges of `edge_type`, by `key` if any (an edge is in it when it has the key).
    Edges { edge_type: u32, key: Option<u32> },
}

/// One label+properties or edge index.
#[derive(Debug)]
pub(crate) struct KeySet {
    pub(crate) spec: IndexSpec,
    pub(crate) target: Target,
    entries: RwLock<BTreeSet<(Box<[u8]>, u64)>>,
}

/// The key of one object's values (the first missing makes no entry).
fn compose(
    values: impl Iterator<Item = Result<Option<PropertyValue>>>,
) -> Result<Option<Box<[u8]>>> {
    let mut key = Vec::new();
    for (i, v) in values.enumerate() {
        match v? {
            Some(v) => encode_sort_key(&v, &mut key),
            None if i == 0 => return Ok(None),
            None => encode_sort_key(&PropertyValue::Null, &mut key),
        }
    }
    Ok(Some(key.into_boxed_slice()))
}

/// The smallest byte string greater than every string that starts with `prefix`
/// (`None`: no such bound, every string past `prefix` qualifies).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn sort_key(v: &PropertyValue) -> Vec<u8> {
    let mut k = Vec::new();
    encode_sort_key(v, &mut k);
    k
}

fn equality(b: &PropertyBounds) -> Option<&PropertyValue> {
    match (&b.lower, &b.upper) {
        (Bound::Included(a), Bound::Included(z))
            if !a.is_null() && a.total_cmp(z) == std::cmp::Ordering::Equal =>
        {
            Some(a)
        }
        _ => None,
    }
}

/// The byte range of keys that start with `prefix` followed by a value `bounds` may
/// select (a superset: exclusive bounds are left to the check of each candidate).
fn range_after(prefix: &[u8], bounds: Option<&PropertyBounds>) -> (Vec<u8>, Option<Vec<u8>>) {
    let with = |tail: &[u8]| [prefix, tail].concat();
    let Some(b) = bounds else {
        return (prefix.to_vec(), prefix_end(prefix));
    };
    // A bound selects only values of its own type group, whose keys start with the
    // group's tag byte.
    let group_tag = match (&b.lower, &b.upper) {
        (Bound::Included(v) | Bound::Excluded(v), _)
        | (_, Bound::Included(v) | Bound::Excluded(v)) => sort_key(v).first().copied(),
        _ => None,
    };
    let start = match &b.lower {
        Bound::Included(v) | Bound::Excluded(v) => with(&sort_key(v)),
        Bound::Unbounded => match group_tag {
            Some(t) => with(&[t]),
            None => prefix.to_vec(),
        },
    };
    let end = match &b.upper {
        Bound::Included(v) | Bound::Excluded(v) => prefix_end(&with(&sort_key(v))),
        Bound::Unbounded => match group_tag {
            Some(t) => prefix_end(&with(&[t])),
            None => prefix_end(prefix),
        },
    };
    (start, end)
}

impl KeySet {
    pub(crate) fn new(spec: IndexSpec, target: Target) -> Self {
        KeySet {
            spec,
            target,
            entries: RwLock::new(BTreeSet::new()),
        }
    }

    /// The key of a vertex with these labels, reading values through `value`; `None`
    /// if it is not in this set (also for an edge set).
    pub(crate) fn vertex_key(
        &self,
        labels: &[u32],
        mut value: impl FnMut(u32) -> Result<Option<PropertyValue>>,
    ) -> Result<Option<Box<[u8]>>> {
        match &self.target {
            Target::Vertices { label, keys } if labels.binary_search(label).is_ok() => {
                compose(keys.iter().map(|k| value(*k)))
            }
            _ => Ok(None),
        }
    }

    /// The key of an edge of `edge_type`; `None` if it is not in this set.
    pub(crate) fn edge_key(
        &self,
        edge_type: u32,
        mut value: impl FnMut(u32) -> Result<Option<PropertyValue>>,
    ) -> Result<Option<Box<[u8]>>> {
        match &self.target {
            Target::Edges { edge_type: t, key } if *t == edge_type => match key {
                Some(k) => compose(std::iter::once(value(*k))),
                None => Ok(Some(Box::default())),
            },
            _ => Ok(None),
        }
    }

    /// True if a change of `key` on a vertex with `labels` may change its entry.
    pub(crate) fn watches_vertex(&self, labels: &[u32], key: Option<u32>) -> bool {
        match &self.target {
            Target::Vertices { label, keys } => {
                labels.binary_search(label).is_ok() && key.is_none_or(|k| keys.contains(&k))
            }
            Target::Edges { .. } | Target::Label => false,
        }
    }

    pub(crate) fn watches_edge(&self, edge_type: u32) -> bool {
        matches!(&self.target, Target::Edges { edge_type: t, .. } if *t == edge_type)
    }

    /// Replaces `old` by `new` for object `id` (either may be absent).
    pub(crate) fn update(&self, id: u64, old: Option<Box<[u8]>>, new: Option<Box<[u8]>>) {
        if old == new {
            return;
        }
        let mut entries = self.entries.write();
        if let Some(k) = old {
            entries.remove(&(k, id));
        }
        if let Some(k) = new {
            entries.insert((k, id));
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.entries.read().len() as u64
    }

    /// Ids whose entries may be selected by `filters` (keyed by property key id),
    /// ascending, each once. For a vertex set, leading equality filters fix a prefix
    /// of the key and the next filtered property narrows the range; the caller checks
    /// every candidate against every filter.
    pub(crate) fn candidates(&self, filters: &[(u32, &PropertyBounds)]) -> Vec<u64> {
        let keys: &[u32] = match &self.target {
            Target::Vertices { keys, .. } => keys,
            Target::Edges { key: Some(k), .. } => std::slice::from_ref(k),
            Target::Edges { key: None, .. } | Target::Label => &[],
        };
        let find = |k: u32| filters.iter().find(|(f, _)| *f == k).map(|(_, b)| *b);
        let mut prefix = Vec::new();
        let mut next = None;
        for k in keys {
            match find(*k) {
                Some(b) => match equality(b) {
                    Some(v) => encode_sort_key(v, &mut prefix),
                    None => {
                        next = Some(b);
                        break;
                    }
                },
                None => break,
            }
        }
        let (start, end) = range_after(&prefix, next);
        let lower = Bound::Included((start.into_boxed_slice(), 0));
        let upper = match end {
            Some(e) => Bound::Excluded((e.into_boxed_slice(), 0)),
            None => Bound::Unbounded,
        };
        let mut out: Vec<u64> = self
            .entries
            .read()
            .range((lower, upper))
            .map(|(_, id)| *id)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_with(values: &[(i64, u64)]) -> KeySet {
        let s = KeySet::new(
            IndexSpec::LabelProperties {
                label: "L".into(),
                properties: vec!["p".into()],
            },
            Target::Vertices {
                label: 0,
                keys: vec![7].into_boxed_slice(),
            },
        );
        for (v, id) in values {
            let key = s
                .vertex_key(&[0], |_| Ok(Some(PropertyValue::Int(*v))))
                .expect("key");
            s.update(*id, None, key);
        }
        s
    }

    #[test]
    fn ranges_select_a_superset_within_the_type_group() {
        let s = set_with(&[(1, 10), (5, 11), (9, 12), (5, 13)]);
        let eq = PropertyBounds::equal(PropertyValue::Int(5));
        assert_eq!(s.candidates(&[(7, &eq)]), vec![11, 13]);
        let r = PropertyBounds::range(
            Bound::Included(PropertyValue::Int(2)),
            Bound::Included(PropertyValue::Int(9)),
        );
        assert_eq!(s.candidates(&[(7, &r)]), vec![11, 12, 13]);
        let above = PropertyBounds::range(Bound::Excluded(PropertyValue::Int(5)), Bound::Unbounded);
        // The exclusive bound is left to the caller's check: 11 and 13 stay candidates.
        assert_eq!(s.candidates(&[(7, &above)]), vec![11, 12, 13]);
        let strings =
            PropertyBounds::range(Bound::Included(PropertyValue::from("a")), Bound::Unbounded);
        assert!(s.candidates(&[(7, &strings)]).is_empty());
    }

    #[test]
    fn update_moves_and_removes_entries() {
        let s = set_with(&[(1, 10)]);
        let old = s
            .vertex_key(&[0], |_| Ok(Some(PropertyValue::Int(1))))
            .expect("key");
        let new = s
            .vertex_key(&[0], |_| Ok(Some(PropertyValue::Int(2))))
            .expect("key");
        s.update(10, old, new.clone());
        assert_eq!(s.len(), 1);
        let two = PropertyBounds::equal(PropertyValue::Int(2));
        assert_eq!(s.candidates(&[(7, &two)]), vec![10]);
        s.update(10, new, None);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn prefix_end_skips_trailing_max_bytes() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 255]), Some(vec![2]));
        assert_eq!(prefix_end(&[255]), None);
    }
}
