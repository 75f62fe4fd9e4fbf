//! Index key sets: ordered sets of (key, object id) that writers keep as a superset
//! of every version still visible to someone, and that lookups narrow to candidates
//! before checking each candidate's visible version.
//!
//! A write inserts the key of the version it makes, under the object's lock. Nothing
//! is removed on write: an older version may still be visible to a running reader.
//! Rollback and garbage collection remove the keys of the versions they drop that no
//! remaining version has ([`remove_stale_vertex_keys`], [`remove_stale_edge_keys`]).

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};

use engine_api::{OrderedValue, PropertyBounds, PropertyValue, Result};
use parking_lot::{Mutex, RwLock, RwLockReadGuard};

use crate::mvcc::{Delta, EdgeState, Undo, VertexState};
use crate::props;

/// The key of one vertex version in a label+properties set: one value per property,
/// `Null` for a missing one after the first. Ordered like the slice of values. A
/// one-property key is held inline: no allocation per entry (measured: import with a
/// one-property index went from 0.59x to 0.62x of the import without).
#[derive(Debug, Clone)]
pub(crate) enum VertexKey {
    One(OrderedValue),
    Many(Box<[OrderedValue]>),
}

impl std::ops::Deref for VertexKey {
    type Target = [OrderedValue];

    fn deref(&self) -> &[OrderedValue] {
        match self {
            VertexKey::One(v) => std::slice::from_ref(v),
            VertexKey::Many(vs) => vs,
        }
    }
}

impl From<Vec<OrderedValue>> for VertexKey {
    fn from(mut values: Vec<OrderedValue>) -> Self {
        if values.len() == 1
            && let Some(v) = values.pop()
        {
            return VertexKey::One(v);
        }
        VertexKey::Many(values.into_boxed_slice())
    }
}

impl PartialEq for VertexKey {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl Eq for VertexKey {}

impl PartialOrd for VertexKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for VertexKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            // A one-property key (the usual index) compares its value directly.
            (VertexKey::One(a), VertexKey::One(b)) => a.cmp(b),
            _ => self[..].cmp(&other[..]),
        }
    }
}

/// The entries of a key set, (key, object id) in order, and whether it is filled.
/// Both kinds of set deref to theirs.
#[derive(Debug)]
pub(crate) struct Entries<K> {
    set: RwLock<BTreeSet<(K, u64)>>,
    /// Filled: every object was visited since writers began maintaining the set.
    ready: AtomicBool,
    /// While a build collects entries apart from the set: the removals made
    /// meanwhile (taken under `set`'s write lock, after it), to be checked again once
    /// the collected entries are merged in.
    removals: Mutex<Option<Vec<(K, u64)>>>,
}

impl<K: Ord + Clone> Entries<K> {
    fn new() -> Self {
        Entries {
            set: RwLock::new(BTreeSet::new()),
            ready: AtomicBool::new(false),
            removals: Mutex::new(None),
        }
    }

    /// A build begins collecting entries apart from the set: removals are recorded.
    pub(crate) fn begin_build(&self) {
        let _set = self.set.write();
        *self.removals.lock() = Some(Vec::new());
    }

    /// Merges a build's entries into the set and returns the removals made while
    /// the build collected them: an entry it collected may have been removed (as
    /// stale) before it was in the set, so each is to be checked again. Writers of
    /// the set wait for the merge, which moves every entry once (the result is a
    /// tree of full nodes, about half the memory of one grown by inserts in key
    /// order).
    pub(crate) fn merge_build(&self, mut built: BTreeSet<(K, u64)>) -> Vec<(K, u64)> {
        let mut set = self.set.write();
        set.append(&mut built);
        self.removals.lock().take().unwrap_or_default()
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub(crate) fn len(&self) -> u64 {
        self.set.read().len() as u64
    }

    /// Adds many entries at once and marks the set filled (recovery).
    pub(crate) fn fill(&self, entries: impl IntoIterator<Item = (K, u64)>) {
        let mut set = self.set.write();
        if set.is_empty() {
            // Collecting sorts once and builds the tree in bulk.
            *set = entries.into_iter().collect();
        } else {
            set.extend(entries);
        }
        drop(set);
        self.set_ready();
    }

    pub(crate) fn insert(&self, key: K, id: u64) {
        self.set.write().insert((key, id));
    }

    pub(crate) fn remove(&self, key: K, id: u64) {
        let mut set = self.set.write();
        // Only a build in progress needs the key kept.
        match self.removals.lock().as_mut() {
            Some(removals) => {
                set.remove(&(key.clone(), id));
                removals.push((key, id));
            }
            None => {
                set.remove(&(key, id));
            }
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeSet<(K, u64)>> {
        self.set.read()
    }
}

/// Vertices with a label, by one or several properties. A vertex version is in the
/// set when it exists, has the label and has the first property.
#[derive(Debug)]
pub(crate) struct VertexKeySet {
    pub(crate) label: u32,
    pub(crate) keys: Box<[u32]>,
    entries: Entries<VertexKey>,
}

impl std::ops::Deref for VertexKeySet {
    type Target = Entries<VertexKey>;

    fn deref(&self) -> &Entries<VertexKey> {
        &self.entries
    }
}

/// Edges of a type, optionally by one property. An edge version is in the set when it
/// exists (and has the property); type-only sets use `Null` as the key.
#[derive(Debug)]
pub(crate) struct EdgeKeySet {
    pub(crate) edge_type: u32,
    pub(crate) key: Option<u32>,
    entries: Entries<OrderedValue>,
}

impl std::ops::Deref for EdgeKeySet {
    type Target = Entries<OrderedValue>;

    fn deref(&self) -> &Entries<OrderedValue> {
        &self.entries
    }
}

fn is_equality(b: &PropertyBounds) -> Option<&PropertyValue> {
    match (&b.lower, &b.upper) {
        (Bound::Included(a), Bound::Included(z))
            if a.total_cmp(z) == std::cmp::Ordering::Equal && !a.is_null() =>
        {
            Some(a)
        }
        _ => None,
    }
}

/// True once every value after `v` in the total order is beyond the bounds.
fn past_bounds(v: &PropertyValue, b: &PropertyBounds) -> bool {
    use std::cmp::Ordering::{Greater, Less};
    let group = match (&b.lower, &b.upper) {
        (Bound::Included(x) | Bound::Excluded(x), _)
        | (_, Bound::Included(x) | Bound::Excluded(x)) => Some(x.type_group()),
        _ => None,
    };
    if group.is_some_and(|g| v.type_group() > g) {
        return true;
    }
    match &b.upper {
        Bound::Unbounded => false,
        Bound::Included(u) => v.total_cmp(u) == Greater,
        Bound::Excluded(u) => v.total_cmp(u) != Less,
    }
}

fn lower_value(b: &PropertyBounds) -> Option<&PropertyValue> {
    match &b.lower {
        Bound::Included(v) | Bound::Excluded(v) => Some(v),
        Bound::Unbounded => None,
    }
}

impl VertexKeySet {
    pub(crate) fn new(label: u32, keys: Vec<u32>) -> Self {
        VertexKeySet {
            label,
            keys: keys.into_boxed_slice(),
            entries: Entries::new(),
        }
    }

    pub(crate) fn covers_key(&self, key: u32) -> bool {
        self.keys.contains(&key)
    }

    /// The key of a version with these labels, reading property values through
    /// `value`; `None` if the version is not in the set.
    pub(crate) fn key_of(
        &self,
        labels: &[u32],
        mut value: impl FnMut(u32) -> Result<Option<PropertyValue>>,
    ) -> Result<Option<VertexKey>> {
        if !labels.contains(&self.label) {
            return Ok(None);
        }
        if let [k] = self.keys[..] {
            return Ok(value(k)?.map(|v| VertexKey::One(OrderedValue(v))));
        }
        let mut key = Vec::with_capacity(self.keys.len());
        for (i, k) in self.keys.iter().enumerate() {
            match value(*k)? {
                Some(v) => key.push(OrderedValue(v)),
                None if i == 0 => return Ok(None),
                None => key.push(OrderedValue(PropertyValue::Null)),
            }
        }
        Ok(Some(VertexKey::from(key)))
    }

    /// The ids whose entries the filters select (ascending, each once). `filters`
    /// name property keys; those this set does not cover are left to the caller.
    pub(crate) fn candidates(&self, filters: &[(u32, PropertyBounds)]) -> Vec<u64> {
        // A one-property set asked for one value (the usual lookup): the run of
        // entries with that key, already in id order, with nothing built first. (A
        // key equal to a non-null value in the total order is of its type group, so
        // the bounds select every entry of the run.)
        if let [k] = self.keys[..]
            && let Some((_, b)) = filters.iter().find(|(f, _)| *f == k)
            && let Some(v) = is_equality(b)
        {
            return self.equal_to(&VertexKey::One(OrderedValue(v.clone())));
        }
        let per_key: Vec<Option<&PropertyBounds>> = self
            .keys
            .iter()
            .map(|k| filters.iter().find(|(f, _)| f == k).map(|(_, b)| b))
            .collect();
        // Leading equalities fix a prefix of the key; the next filtered property
        // narrows the start and end of the range.
        let mut prefix = Vec::new();
        for b in &per_key {
            match b.and_then(is_equality) {
                Some(v) => prefix.push(OrderedValue(v.clone())),
                None => break,
            }
        }
        let next = per_key.get(prefix.len()).copied().flatten();
        let mut start = prefix.clone();
        if let Some(v) = next.and_then(lower_value) {
            start.push(OrderedValue(v.clone()));
        }
        let start = (VertexKey::from(start), 0u64);
        let entries = self.entries.read();
        let mut out = Vec::new();
        for (key, id) in entries.range((Bound::Included(start), Bound::Unbounded)) {
            if key[..prefix.len()] != prefix[..] {
                break;
            }
            if let Some(b) = next
                && past_bounds(&key[prefix.len()].0, b)
            {
                break;
            }
            let selected = per_key
                .iter()
                .zip(key.iter())
                .all(|(b, v)| b.is_none_or(|b| b.matches(&v.0)));
            if selected {
                out.push(*id);
            }
        }
        drop(entries);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Ids with an entry equal to `key` (in the total order).
    pub(crate) fn equal_to(&self, key: &VertexKey) -> Vec<u64> {
        let entries = self.entries.read();
        entries
            .range((Bound::Included((key.clone(), 0)), Bound::Unbounded))
            .take_while(|(k, _)| k == key)
            .map(|(_, id)| *id)
            .collect()
    }

    /// Runs `f` on runs of ids whose keys are equal, where a run has two or more.
    pub(crate) fn for_each_duplicate(
        &self,
        mut f: impl FnMut(&VertexKey, &[u64]) -> Result<()>,
    ) -> Result<()> {
        let entries = self.entries.read();
        let mut run: Vec<u64> = Vec::new();
        let mut current: Option<&VertexKey> = None;
        for (key, id) in entries.iter() {
            if current != Some(key) {
                if let (Some(k), true) = (current, run.len() > 1) {
                    f(k, &run)?;
                }
                run.clear();
                current = Some(key);
            }
            run.push(*id);
        }
        if let (Some(k), true) = (current, run.len() > 1) {
            f(k, &run)?;
        }
        Ok(())
    }
}

impl EdgeKeySet {
    pub(crate) fn new(edge_type: u32, key: Option<u32>) -> Self {
        EdgeKeySet {
            edge_type,
            key,
            entries: Entries::new(),
        }
    }

    /// The key of an edge version of this set's type; `None` if not in the set.
    pub(crate) fn key_of(
        &self,
        mut value: impl FnMut(u32) -> Result<Option<PropertyValue>>,
    ) -> Result<Option<OrderedValue>> {
        match self.key {
            None => Ok(Some(OrderedValue(PropertyValue::Null))),
            Some(k) => Ok(value(k)?.map(OrderedValue)),
        }
    }

    /// The ids whose entries `bounds` selects (all entries without bounds), ascending.
    pub(crate) fn candidates(&self, bounds: Option<&PropertyBounds>) -> Vec<u64> {
        let entries = self.entries.read();
        let mut out: Vec<u64> = match bounds {
            None => entries.iter().map(|(_, id)| *id).collect(),
            Some(b) => {
                let start = lower_value(b).map_or(Bound::Unbounded, |v| {
                    Bound::Included((OrderedValue(v.clone()), 0))
                });
                entries
                    .range((start, Bound::Unbounded))
                    .take_while(|(v, _)| !past_bounds(&v.0, b))
                    .filter(|(v, _)| b.matches(&v.0))
                    .map(|(_, id)| *id)
                    .collect()
            }
        };
        drop(entries);
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// One version of a vertex as far as key sets care: whether it exists, its labels and
/// the values of the properties the sets use.
struct VertexVersion {
    exists: bool,
    labels: crate::mvcc::Labels,
    values: Vec<(u32, Option<PropertyValue>)>,
}

impl VertexVersion {
    fn value(&self, k: u32) -> Option<PropertyValue> {
        self.values
            .iter()
            .find(|(key, _)| *key == k)
            .and_then(|(_, v)| v.clone())
    }

    fn apply(&mut self, undo: &Undo) {
        match undo {
            Undo::Uncreate => self.exists = false,
            Undo::Undelete => self.exists = true,
            Undo::AddLabel(l) if !self.labels.contains(l) => self.labels.push(*l),
            Undo::RemoveLabel(l) => self.labels.retain(|x| x != l),
            Undo::SetProperty(k, old) => {
                if let Some(slot) = self.values.iter_mut().find(|(key, _)| key == k) {
                    slot.1 = old.clone();
                }
            }
            _ => {}
        }
    }
}

/// The undos of a chain, newest first.
pub(crate) fn chain(head: &Option<Box<Delta>>) -> impl Iterator<Item = &Undo> {
    let mut cur = head.as_deref();
    std::iter::from_fn(move || {
        let d = cur?;
        cur = d.next.as_deref();
        Some(&d.undo)
    })
}

/// Calls `f(version, set, key)` for the key of every version in every set: version 0 is
/// `state`, version i the state before the i-th undo of `undos` (chain order).
pub(crate) fn vertex_version_keys<'u>(
    sets: &[std::sync::Arc<VertexKeySet>],
    state: &VertexState,
    undos: impl IntoIterator<Item = &'u Undo>,
    mut f: impl FnMut(usize, usize, VertexKey),
) -> Result<()> {
    if sets.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<u32> = sets.iter().flat_map(|s| s.keys.iter().copied()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut values = Vec::with_capacity(keys.len());
    for k in keys {
        values.push((k, props::get(&state.props, k)?));
    }
    let mut version = VertexVersion {
        exists: !state.deleted,
        labels: state.labels.clone(),
        values,
    };
    let mut emit = |n: usize, v: &VertexVersion| -> Result<()> {
        if !v.exists {
            return Ok(());
        }
        for (i, s) in sets.iter().enumerate() {
            if let Some(key) = s.key_of(&v.labels, |k| Ok(v.value(k)))? {
                f(n, i, key);
            }
        }
        Ok(())
    };
    emit(0, &version)?;
    for (n, u) in undos.into_iter().enumerate() {
        version.apply(u);
        emit(n + 1, &version)?;
    }
    Ok(())
}

/// Sorts the keys of a chain's versions into those of dropped versions and those of
/// kept ones, and returns the dropped keys no kept version has, with their set.
fn stale_keys<K: PartialEq>(
    walk: impl FnOnce(&mut dyn FnMut(usize, usize, K)) -> Result<()>,
    dropped: impl Fn(usize) -> bool,
) -> Result<Vec<(usize, K)>> {
    let mut kept: Vec<(usize, K)> = Vec::new();
    let mut gone: Vec<(usize, K)> = Vec::new();
    walk(&mut |n, set, key| {
        if dropped(n) {
            gone.push((set, key));
        } else {
            kept.push((set, key));
        }
    })?;
    gone.retain(|(set, key)| !kept.iter().any(|(s, k)| s == set && k == key));
    Ok(gone)
}

/// Removes from the sets the keys of the versions `dropped` says are gone, unless a
/// remaining version has the same key.
pub(crate) fn remove_stale_vertex_keys<'u>(
    sets: &[std::sync::Arc<VertexKeySet>],
    id: u64,
    state: &VertexState,
    undos: impl IntoIterator<Item = &'u Undo>,
    dropped: impl Fn(usize) -> bool,
) -> Result<()> {
    let walk =
        |f: &mut dyn FnMut(usize, usize, VertexKey)| vertex_version_keys(sets, state, undos, f);
    for (set, key) in stale_keys(walk, dropped)? {
        sets[set].remove(key, id);
    }
    Ok(())
}

/// As [`vertex_version_keys`], for the edge sets of the edge's type.
pub(crate) fn edge_version_keys<'u>(
    sets: &[std::sync::Arc<EdgeKeySet>],
    state: &EdgeState,
    undos: impl IntoIterator<Item = &'u Undo>,
    mut f: impl FnMut(usize, usize, OrderedValue),
) -> Result<()> {
    if !sets.iter().any(|s| s.edge_type == state.edge_type) {
        return Ok(());
    }
    let mut exists = !state.deleted;
    let mut values: Vec<(u32, Option<PropertyValue>)> = Vec::new();
    for s in sets.iter().filter(|s| s.edge_type == state.edge_type) {
        if let Some(k) = s.key
            && !values.iter().any(|(key, _)| *key == k)
        {
            values.push((k, props::get(&state.props, k)?));
        }
    }
    let mut emit =
        |n: usize, exists: bool, values: &[(u32, Option<PropertyValue>)]| -> Result<()> {
            if !exists {
                return Ok(());
            }
            for (i, s) in sets.iter().enumerate() {
                if s.edge_type != state.edge_type {
                    continue;
                }
                let key = s.key_of(|k| {
                    Ok(values
                        .iter()
                        .find(|(key, _)| *key == k)
                        .and_then(|(_, v)| v.clone()))
                })?;
                if let Some(key) = key {
                    f(n, i, key);
                }
            }
            Ok(())
        };
    emit(0, exists, &values)?;
    for (n, u) in undos.into_iter().enumerate() {
        match u {
            Undo::Uncreate => exists = false,
            Undo::Undelete => exists = true,
            Undo::SetProperty(k, old) => {
                if let Some(slot) = values.iter_mut().find(|(key, _)| key == k) {
                    slot.1 = old.clone();
                }
            }
            _ => {}
        }
        emit(n + 1, exists, &values)?;
    }
    Ok(())
}

/// As [`remove_stale_vertex_keys`], for edges.
pub(crate) fn remove_stale_edge_keys<'u>(
    sets: &[std::sync::Arc<EdgeKeySet>],
    id: u64,
    state: &EdgeState,
    undos: impl IntoIterator<Item = &'u Undo>,
    dropped: impl Fn(usize) -> bool,
) -> Result<()> {
    let walk =
        |f: &mut dyn FnMut(usize, usize, OrderedValue)| edge_version_keys(sets, state, undos, f);
    for (set, key) in stale_keys(walk, dropped)? {
        sets[set].remove(key, id);
    }
    Ok(())
}

/// Keys of one vertex version for the catalog's vertex sets that `wanted` selects,
/// with the set's position: computed before a write changes the state, inserted
/// (under the same vertex lock) once it did.
pub(crate) fn keys_for_vertex(
    sets: &[std::sync::Arc<VertexKeySet>],
    labels: &[u32],
    blob: &[u8],
    wanted: impl Fn(&VertexKeySet) -> bool,
) -> Result<Vec<(usize, VertexKey)>> {
    let mut out = Vec::new();
    for (i, s) in sets.iter().enumerate() {
        if wanted(s)
            && let Some(key) = s.key_of(labels, |k| props::get(blob, k))?
        {
            out.push((i, key));
        }
    }
    Ok(out)
}

/// As [`keys_for_vertex`], for an edge of `edge_type`.
pub(crate) fn keys_for_edge(
    sets: &[std::sync::Arc<EdgeKeySet>],
    edge_type: u32,
    blob: &[u8],
    wanted: impl Fn(&EdgeKeySet) -> bool,
) -> Result<Vec<(usize, OrderedValue)>> {
    let mut out = Vec::new();
    for (i, s) in sets.iter().enumerate() {
        if s.edge_type == edge_type
            && wanted(s)
            && let Some(key) = s.key_of(|k| props::get(blob, k))?
        {
            out.push((i, key));
        }
    }
    Ok(out)
}

/// Per label id, every vertex that has the label in some version still visible to
/// someone (a superset; scans check visibility).
///
/// Each label's set is split into shards, one per shard of the running-transaction
/// registry: a writer inserts into its own thread's shard, so two threads creating
/// vertices of one label share no lock and no tree node (one set under one lock
/// moved its lock and nodes between cores on every vertex: 12% of two committing
/// threads' time). A vertex is in one shard as a rule, in more only if its label
/// was dropped and added back on another thread before collection; removal looks in
/// every shard, and reads merge the shards in id order without repeats.
#[derive(Debug, Default)]
pub(crate) struct LabelIndex {
    labels: engine_api::kit::SlotArray<std::sync::OnceLock<Box<[LabelShard]>>>,
}

#[repr(align(128))]
#[derive(Debug, Default)]
struct LabelShard(Mutex<BTreeSet<u64>>);

impl LabelIndex {
    fn shards(&self, label: u32) -> Option<&[LabelShard]> {
        self.labels
            .get(u64::from(label))
            .and_then(|s| s.get())
            .map(|s| &s[..])
    }

    /// Adds `vertex` to `label`'s set. Errors: past the label id space.
    pub(crate) fn insert(&self, label: u32, vertex: u64) -> Result<()> {
        let shards = self
            .labels
            .get_or_alloc(u64::from(label))
            .ok_or_else(|| engine_api::Error::invalid_input("too many labels"))?
            .get_or_init(|| {
                (0..crate::running::SHARDS)
                    .map(|_| LabelShard::default())
                    .collect()
            });
        shards[crate::running::this_threads_shard()]
            .0
            .lock()
            .insert(vertex);
        Ok(())
    }

    /// Removes `vertex` from `label`'s set.
    pub(crate) fn remove(&self, label: u32, vertex: u64) {
        for s in self.shards(label).unwrap_or_default() {
            s.0.lock().remove(&vertex);
        }
    }

    /// Appends to `out` the next members of `label` after `after`, ascending (each
    /// shard gives at most `limit`); true if more may follow the last appended.
    pub(crate) fn batch(
        &self,
        label: u32,
        after: Option<u64>,
        limit: usize,
        out: &mut Vec<u64>,
    ) -> bool {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let start = out.len();
        // Each shard gives up to `limit`; past the lowest last id of a shard that had
        // more, another shard's ids could be missing from the merge: cut there.
        let mut cut: Option<u64> = None;
        let mut runs = 0;
        for s in self.shards(label).unwrap_or_default() {
            let set = s.0.lock();
            let before = out.len();
            out.extend(set.range((lower, Bound::Unbounded)).take(limit).copied());
            if out.len() > before {
                runs += 1;
            }
            if out.len() - before == limit
                && let Some(last) = out.last()
            {
                cut = Some(cut.map_or(*last, |c| c.min(*last)));
            }
        }
        if runs > 1 {
            out[start..].sort_unstable();
            let mut merged = out.split_off(start);
            merged.dedup();
            out.extend(merged);
        }
        if let Some(c) = cut {
            let keep = start + out[start..].partition_point(|id| *id <= c);
            out.truncate(keep);
        }
        cut.is_some()
    }

    /// How many vertices `label`'s set holds: the shards' sizes added up, unless a
    /// vertex may be in two (more than one shard holds any), when they are merged.
    pub(crate) fn len(&self, label: u32) -> u64 {
        let sizes: Vec<usize> = self
            .shards(label)
            .unwrap_or_default()
            .iter()
            .map(|s| s.0.lock().len())
            .filter(|n| *n > 0)
            .collect();
        match sizes[..] {
            [] => 0,
            [n] => n as u64,
            _ => self.members(label).len() as u64,
        }
    }

    /// Every member of `label`, ascending.
    pub(crate) fn members(&self, label: u32) -> Vec<u64> {
        let mut out = Vec::new();
        let mut runs = 0;
        for s in self.shards(label).unwrap_or_default() {
            let set = s.0.lock();
            runs += usize::from(!set.is_empty());
            out.extend(set.iter().copied());
        }
        if runs > 1 {
            out.sort_unstable();
            out.dedup();
        }
        out
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;

    /// A one-property set's equality lookup (its quick path) gives the ids whose key
    /// equals the value in the total order, ascending, and no others; a range still
    /// goes the general way.
    #[test]
    fn an_equality_on_one_property_finds_exactly_the_equal_keys() {
        let set = VertexKeySet::new(1, vec![7]);
        let entries = [
            (PropertyValue::Int(1), 5),
            (PropertyValue::Int(1), 3),
            (PropertyValue::Float(1.5), 7),
            (PropertyValue::Int(2), 4),
            (PropertyValue::String("1".into()), 8),
            (PropertyValue::Int(0), 9),
        ];
        for (v, id) in entries {
            set.insert(VertexKey::One(OrderedValue(v)), id);
        }
        let find = |b: PropertyBounds| set.candidates(&[(7, b)]);
        assert_eq!(find(PropertyBounds::equal(PropertyValue::Int(1))), [3, 5]);
        assert_eq!(
            find(PropertyBounds::equal(PropertyValue::Float(1.0))),
            [3, 5]
        );
        assert_eq!(find(PropertyBounds::equal(PropertyValue::Int(2))), [4]);
        assert_eq!(
            find(PropertyBounds::equal(PropertyValue::String("1".into()))),
            [8]
        );
        assert!(find(PropertyBounds::equal(PropertyValue::Int(3))).is_empty());
        // Another key's filter is not this set's.
        assert_eq!(
            set.candidates(&[(6, PropertyBounds::equal(PropertyValue::Int(1)))]),
            [3, 4, 5, 7, 8, 9]
        );
        let range = PropertyBounds::range(
            Bound::Included(PropertyValue::Int(1)),
            Bound::Included(PropertyValue::Int(2)),
        );
        assert_eq!(find(range), [3, 4, 5, 7]);
    }

    #[test]
    fn shards_filled_by_several_threads_read_as_one_ascending_set() {
        let index = LabelIndex::default();
        // Four threads (so several shards) insert interleaved ids; two ids twice.
        std::thread::scope(|s| {
            for k in 0..4u64 {
                let index = &index;
                s.spawn(move || {
                    for i in 0..1000u64 {
                        index.insert(3, i * 4 + k).expect("label id in range");
                    }
                    index.insert(3, 17).expect("label id in range");
                });
            }
        });
        let all: Vec<u64> = (0..4000).collect();
        assert_eq!(index.members(3), all);
        for limit in [1, 7, 256, 5000] {
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let more = index.batch(3, after, limit, &mut got);
                after = got.last().copied();
                if !more {
                    break;
                }
            }
            assert_eq!(got, all, "batches of {limit}");
        }
        assert_eq!(index.len(3), 4000, "17, in several shards, counted once");
        index.remove(3, 17);
        assert!(!index.members(3).contains(&17), "removed from every shard");
        assert!(index.members(4).is_empty());
        assert_eq!(
            index.len(3),
            3999,
            "17 counted once though it was in two shards"
        );
        assert_eq!(index.len(4), 0);
        index.insert(5, 9).expect("label id in range");
        assert_eq!(index.len(5), 1);
        let mut none = Vec::new();
        assert!(!index.batch(9, None, 10, &mut none));
        assert!(none.is_empty());
    }
}
