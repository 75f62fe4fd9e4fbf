//! Interning of labels, edge types and property keys to small integer ids, for the
//! in-memory backends to embed (each keeps three tables).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;

use crate::error::{Error, Result};
use crate::ids::{Name, validate_name};

/// One dictionary (labels, edge types or property keys). Ids are dense from 0 and
/// never change; names are never removed (a name interned by a write that was later
/// rolled back stays, harmlessly).
///
/// Lookups of published names take no lock and write no shared memory: every write
/// transaction interns its labels, types and keys, and a read lock's reader count
/// (written by each reader) would move between cores on every call once two threads
/// write. Names interned since the last publication are found under a mutex; they are
/// published (the maps copied) once they are an eighth of the published ones, so
/// interning costs amortised O(1) copies per name.
#[derive(Debug)]
pub struct NameTable {
    what: &'static str,
    published: ArcSwap<Published>,
    state: Mutex<State>,
}

/// A copy of the table as it was at one publication; never changes.
/// Names hash with foldhash, seeded per process: a point read names its property key,
/// and SipHash took as long as the rest of the lookup.
type NameMap = HashMap<Name, u32, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct Published {
    by_name: NameMap,
    by_id: Vec<Name>,
}

/// Every name by id, and the names interned since the last publication.
#[derive(Debug, Default)]
struct State {
    by_id: Vec<Name>,
    recent: NameMap,
}

impl NameTable {
    /// An empty table; `what` names the kind of name in errors ("label", ...).
    pub fn new(what: &'static str) -> Self {
        NameTable {
            what,
            published: ArcSwap::from_pointee(Published::default()),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of `name` if it was ever interned.
    pub fn lookup(&self, name: &str) -> Option<u32> {
        if let Some(id) = self.published.load().by_name.get(name) {
            return Some(*id);
        }
        self.state().recent.get(name).copied()
    }

    /// The id of `name`, interning it if new. Errors: `InvalidInput` for the empty
    /// name, or past `u32::MAX` distinct names.
    pub fn intern(&self, name: &str) -> Result<u32> {
        validate_name(self.what, name)?;
        if let Some(id) = self.published.load().by_name.get(name) {
            return Ok(*id);
        }
        let mut state = self.state();
        // Checked again under the lock: a publication may have moved it.
        if let Some(id) = self.published.load().by_name.get(name) {
            return Ok(*id);
        }
        if let Some(id) = state.recent.get(name) {
            return Ok(*id);
        }
        let id = u32::try_from(state.by_id.len())
            .map_err(|_| Error::invalid_input(format!("too many distinct {} names", self.what)))?;
        let shared: Name = Name::from(name);
        state.by_id.push(shared.clone());
        state.recent.insert(shared, id);
        let published = self.published.load();
        if state.recent.len() * 8 >= published.by_id.len() {
            let mut by_name = published.by_name.clone();
            by_name.extend(state.recent.drain());
            let next = Published {
                by_name,
                by_id: state.by_id.clone(),
            };
            self.published.store(Arc::new(next));
        }
        Ok(id)
    }

    /// Interns `name`, which must get exactly `id` (loading a dictionary written in
    /// id order). Errors: `Corrupt` if it gets another id (a name listed twice or out
    /// of order), `InvalidInput` for an invalid name.
    pub fn intern_as(&self, id: u32, name: &str) -> Result<()> {
        let got = self.intern(name)?;
        if got != id {
            return Err(Error::corrupt(format!(
                "{} {name:?} listed as id {id}, but it is id {got} (listed twice or out of order)",
                self.what
            )));
        }
        Ok(())
    }

    /// Every name, by id.
    pub fn all(&self) -> Vec<Name> {
        self.state().by_id.clone()
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.state().by_id.len()
    }

    /// True if no name was interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hands the name of an id handed out by this table to `f`, borrowed (no
    /// reference count touched for a published name). `f` runs with no lock of the
    /// table held. Errors: as [`NameTable::name`].
    pub fn with_name<R>(&self, id: u32, f: impl FnOnce(&str) -> R) -> Result<R> {
        if let Some(name) = self.published.load().by_id.get(id as usize) {
            return Ok(f(name));
        }
        // Interned since the last publication: shared out of the mutex, so `f` may
        // use the table.
        let name = self.name(id)?;
        Ok(f(&name))
    }

    /// The name of an id handed out by this table. Errors: `Corrupt` for an id the
    /// table never handed out (a store referring to it is damaged).
    pub fn name(&self, id: u32) -> Result<Name> {
        let found = match self.published.load().by_id.get(id as usize) {
            Some(name) => Some(name.clone()),
            None => self.state().by_id.get(id as usize).cloned(),
        };
        found.ok_or_else(|| Error::corrupt(format!("unknown {} id {id} in the store", self.what)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_intern_once_and_refuse_empty() {
        let t = NameTable::new("label");
        let a = t.intern("Person").expect("interned");
        assert_eq!(t.intern("Person").expect("interned"), a);
        let b = t.intern("with `backtick` and 🦀").expect("interned");
        assert_ne!(a, b);
        assert_eq!(&*t.name(b).expect("known"), "with `backtick` and 🦀");
        assert_eq!(t.lookup("nope"), None);
        assert!(t.intern("").is_err());
        assert!(t.name(99).is_err());
        assert_eq!(t.len(), 2);
        assert!(t.intern_as(2, "Third").is_ok());
        assert!(t.intern_as(7, "Person").is_err(), "Person is id 0");
        assert!(t.intern_as(9, "Fourth").is_err(), "the next id is 3");
    }

    #[test]
    fn names_interned_between_publications_are_found_and_keep_their_ids() {
        let t = NameTable::new("key");
        let names: Vec<String> = (0..5000).map(|i| format!("k{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.intern(n).expect("interned"), i as u32);
            // Every name so far, published or not yet, is found both ways.
            let probe = i / 2;
            assert_eq!(t.lookup(&names[probe]), Some(probe as u32));
            assert_eq!(
                &*t.name(probe as u32).expect("known"),
                names[probe].as_str()
            );
            assert_eq!(t.lookup(n), Some(i as u32));
            assert_eq!(&*t.name(i as u32).expect("known"), n.as_str());
        }
        assert_eq!(t.len(), 5000);
        assert_eq!(t.all().len(), 5000);
        assert!(t.name(5000).is_err());
        assert_eq!(t.lookup("k5000"), None);
    }

    #[test]
    fn threads_interning_the_same_names_agree_on_their_ids() {
        let t = NameTable::new("label");
        let ids: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|k| {
                    let t = &t;
                    s.spawn(move || {
                        (0..2000)
                            .map(|i| {
                                t.intern(&format!("n{}", (i * 7 + k * 13) % 2000))
                                    .expect("interned")
                            })
                            .collect::<Vec<u32>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        assert_eq!(t.len(), 2000);
        for (k, got) in ids.iter().enumerate() {
            for (i, id) in got.iter().enumerate() {
                let name = format!("n{}", (i * 7 + k * 13) % 2000);
                assert_eq!(t.lookup(&name), Some(*id));
                assert_eq!(&*t.name(*id).expect("known"), name.as_str());
            }
        }
    }
}
