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
    sets: boxcar::Vec<LabelSet>,
}

/// Parts of a label's set: vertex `id` is in part `(id / 64) % PARTS`. Ids come in
/// blocks of 64 per writer thread (`IdBlocks`), so two threads creating vertices of
/// one label mostly write different parts: with one set, every new vertex of a label
/// took its write lock, and two writer threads did less than one.
const PARTS: usize = 4;

#[derive(Debug, Default)]
struct LabelSet {
    parts: [Part; PARTS],
}

/// One part alone on its cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Part(RwLock<RoaringTreemap>);

impl LabelSet {
    fn part(&self, vertex: u64) -> &RwLock<RoaringTreemap> {
        &self.parts[(vertex >> 6) as usize % PARTS].0
    }
}

impl LabelIndex {
    fn set(&self, label: u32) -> &LabelSet {
        let at = label as usize;
        // Label ids are dense; concurrent growers may add a few extra empty sets. A
        // slot another thread is still appending is counted before it can be read
        // (indexing it would panic): wait for it.
        loop {
            if let Some(s) = self.sets.get(at) {
                return s;
            }
            if self.sets.count() <= at {
                self.sets.push(LabelSet::default());
            } else {
                std::thread::yield_now();
            }
        }
    }

    pub(crate) fn insert(&self, label: u32, vertex: u64) {
        self.set(label).part(vertex).write().insert(vertex);
    }

    pub(crate) fn remove(&self, label: u32, vertex: u64) {
        self.set(label).part(vertex).write().remove(vertex);
    }

    /// A copy of the set of `label` (a scan iterates the copy).
    pub(crate) fn members(&self, label: u32) -> RoaringTreemap {
        let Some(set) = self.sets.get(label as usize) else {
            return RoaringTreemap::new();
        };
        let mut all = set.parts[0].0.read().clone();
        for p in &set.parts[1..] {
            all |= &*p.0.read();
        }
        all
    }

    pub(crate) fn count(&self, label: u32) -> u64 {
        self.sets
            .get(label as usize)
            .map_or(0, |s| s.parts.iter().map(|p| p.0.read().len()).sum())
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
    entries: RwLock<Entries>,
}

type Entry = (IndexKey, u64);

/// A key set's entries: an ordered tree, and a run of entries past all of the
/// tree's, ascending, that inserts in key order append to. An import that brings
/// keys in order (ids, timestamps) then pays a push per entry instead of a tree
/// descent comparing the key some forty times (its rightmost path, searched
/// linearly); keys in no order go to the tree as before.
#[derive(Debug, Default)]
struct Entries {
    tree: BTreeSet<Entry>,
    /// Every entry here is greater than every entry of `tree`.
    run: Vec<Entry>,
}

impl Entries {
    fn insert(&mut self, e: Entry) {
        match self.run.last() {
            Some(last) if e > *last => self.run.push(e),
            Some(_) if e < self.run[0] => {
                self.tree.insert(e);
            }
            Some(_) => {
                // Inside the run: the run joins the tree (in order, so each insert
                // descends a path the previous one warmed), then the entry.
                self.tree.extend(self.run.drain(..));
                self.tree.insert(e);
            }
            None if self.tree.last().is_none_or(|max| e > *max) => self.run.push(e),
            None => {
                self.tree.insert(e);
            }
        }
    }

    fn remove(&mut self, e: &Entry) {
        if self.run.last() == Some(e) {
            self.run.pop();
        } else if self.run.first().is_some_and(|first| e >= first) {
            // Not shifting the run per removal: it joins the tree once.
            self.tree.extend(self.run.drain(..));
            self.tree.remove(e);
        } else {
            self.tree.remove(e);
        }
    }

    fn len(&self) -> usize {
        self.tree.len() + self.run.len()
    }

    /// The entries in `(lower, upper)`, ascending.
    fn range(&self, lower: Bound<Entry>, upper: Bound<Entry>) -> impl Iterator<Item = &Entry> {
        let from = match &lower {
            Bound::Included(l) => self.run.partition_point(|e| e < l),
            Bound::Excluded(l) => self.run.partition_point(|e| e <= l),
            Bound::Unbounded => 0,
        };
        let to = match &upper {
            Bound::Included(u) => self.run.partition_point(|e| e <= u),
            Bound::Excluded(u) => self.run.partition_point(|e| e < u),
            Bound::Unbounded => self.run.len(),
        };
        let run = &self.run[from..to.max(from)];
        self.tree.range((lower, upper)).chain(run)
    }
}

/// Bytes of a key held inline (an integer's or a float's sort key takes 9).
const INLINE: usize = 24;

/// The sort key of one entry. Up to [`INLINE`] bytes it is held inline as big-endian
/// words, zero-padded: an entry then needs no allocation of its own, and comparing
/// two keys is a few integer comparisons (a tree insert compares a key some forty
/// times; behind a pointer and through `memcmp`, those comparisons made an import
/// with one integer index run at 0.40x of the import without). Zero padding keeps
/// byte order: padded words equal means the shorter key is a prefix of the longer
/// (the rest of it is zeros), so the lengths decide.
#[derive(Debug, Clone)]
pub(crate) enum IndexKey {
    Inline { words: [u64; 3], len: u8 },
    Heap(Box<[u8]>),
}

impl IndexKey {
    fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            IndexKey::Inline { words, len } => {
                let mut out = Vec::with_capacity(INLINE);
                for w in words {
                    out.extend_from_slice(&w.to_be_bytes());
                }
                out.truncate(usize::from(*len));
                std::borrow::Cow::Owned(out)
            }
            IndexKey::Heap(b) => std::borrow::Cow::Borrowed(b),
        }
    }
}

impl From<Vec<u8>> for IndexKey {
    fn from(v: Vec<u8>) -> Self {
        if v.len() > INLINE {
            return IndexKey::Heap(v.into_boxed_slice());
        }
        IndexKey::from_bytes(&v)
    }
}

impl IndexKey {
    fn from_bytes(v: &[u8]) -> Self {
        if v.len() > INLINE {
            return IndexKey::Heap(v.into());
        }
        let mut padded = [0u8; INLINE];
        padded[..v.len()].copy_from_slice(v);
        let mut words = [0u64; 3];
        for (w, chunk) in words.iter_mut().zip(padded.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_be_bytes(b);
        }
        IndexKey::Inline {
            words,
            len: v.len() as u8,
        }
    }
}

impl PartialEq for IndexKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for IndexKey {}

impl PartialOrd for IndexKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IndexKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if let (IndexKey::Inline { words: a, len: la }, IndexKey::Inline { words: b, len: lb }) =
            (self, other)
        {
            return a[0]
                .cmp(&b[0])
                .then_with(|| a[1].cmp(&b[1]))
                .then_with(|| a[2].cmp(&b[2]))
                .then(la.cmp(lb));
        }
        self.bytes().cmp(&other.bytes())
    }
}

/// The key of one object's values (the first missing makes no entry).
fn compose(
    values: impl Iterator<Item = Result<Option<PropertyValue>>>,
) -> Result<Option<IndexKey>> {
    thread_local! {
        /// Where keys are composed: no allocation per key that fits inline.
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|key| {
        key.clear();
        for (i, v) in values.enumerate() {
            match v? {
                Some(v) => encode_sort_key(&v, key),
                None if i == 0 => return Ok(None),
                None => encode_sort_key(&PropertyValue::Null, key),
            }
        }
        Ok(Some(IndexKey::from_bytes(key)))
    })
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
            entries: RwLock::new(Entries::default()),
        }
    }

    /// The key of a vertex with these labels, reading values through `value`; `None`
    /// if it is not in this set (also for an edge set).
    pub(crate) fn vertex_key(
        &self,
        labels: &[u32],
        mut value: impl FnMut(u32) -> Result<Option<PropertyValue>>,
    ) -> Result<Option<IndexKey>> {
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
    ) -> Result<Option<IndexKey>> {
        match &self.target {
            Target::Edges { edge_type: t, key } if *t == edge_type => match key {
                Some(k) => compose(std::iter::once(value(*k))),
                None => Ok(Some(IndexKey::from(Vec::new()))),
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
    pub(crate) fn update(&self, id: u64, old: Option<IndexKey>, new: Option<IndexKey>) {
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
        let lower = Bound::Included((IndexKey::from(start), 0));
        let upper = match end {
            Some(e) => Bound::Excluded((IndexKey::from(e), 0)),
            None => Bound::Unbounded,
        };
        let mut out: Vec<u64> = self
            .entries
            .read()
            .range(lower, upper)
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
    fn entries_in_a_run_or_the_tree_read_as_one_ordered_set() {
        let key = |v: i64| IndexKey::from(sort_key(&PropertyValue::Int(v)));
        let mut e = Entries::default();
        let mut model = BTreeSet::new();
        // In order (the run), then below it (the tree), inside it (the run joins the
        // tree), past it again, and removals at the run's end, inside it and in the tree.
        let inserts = (0..50)
            .chain([-5, -1, 25, 10])
            .chain(60..70)
            .map(|v| (key(v), v as u64));
        for x in inserts {
            e.insert(x.clone());
            model.insert(x);
            assert_eq!(
                e.range(Bound::Unbounded, Bound::Unbounded)
                    .collect::<Vec<_>>(),
                model.iter().collect::<Vec<_>>()
            );
        }
        for v in [69, 64, -5, 3, 200] {
            let x = (key(v), v as u64);
            e.remove(&x);
            model.remove(&x);
            assert_eq!(e.len(), model.len());
        }
        // A new run past the tree, for ranges over both, one or neither.
        for v in 100..110 {
            e.insert((key(v), v as u64));
            model.insert((key(v), v as u64));
        }
        assert_eq!(e.run.len(), 10);
        // Bounds that are entries themselves.
        let exact = |lo: Bound<Entry>, hi: Bound<Entry>| -> Vec<u64> {
            e.range(lo, hi).map(|(_, id)| *id).collect()
        };
        let at = |v: i64| (key(v), v as u64);
        assert_eq!(
            exact(Bound::Included(at(101)), Bound::Excluded(at(104))),
            vec![101, 102, 103]
        );
        assert_eq!(
            exact(Bound::Excluded(at(101)), Bound::Included(at(104))),
            vec![102, 103, 104]
        );
        for (lo, hi) in [
            (-10, 200),
            (0, 5),
            (62, 66),
            (65, 65),
            (40, 61),
            (60, 104),
            (103, 107),
            (200, 300),
        ] {
            let (l, h) = (Bound::Included((key(lo), 0)), Bound::Excluded((key(hi), 0)));
            let got: Vec<_> = e.range(l.clone(), h.clone()).collect();
            let want: Vec<_> = model.range((l, h)).collect();
            assert_eq!(got, want, "{lo}..{hi}");
        }
    }

    #[test]
    fn keys_order_as_their_bytes_inline_or_not() {
        let samples: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![1],
            vec![1, 0],
            vec![1, 0, 0, 0, 0, 0, 0, 0, 0],
            vec![1, 0, 0, 0, 0, 0, 0, 0, 1],
            vec![0xff; 8],
            vec![0xff; 9],
            vec![7; 24],
            vec![7; 25],
            [vec![7; 24], vec![0]].concat(),
            vec![8],
        ];
        for a in &samples {
            for b in &samples {
                let (ka, kb) = (IndexKey::from(a.clone()), IndexKey::from(b.clone()));
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(ka == kb, a == b);
                assert_eq!(&*ka.bytes(), &a[..]);
            }
        }
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
