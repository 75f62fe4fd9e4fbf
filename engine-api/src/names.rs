//! Interning of labels, edge types and property keys to small integer ids, for the
//! in-memory backends to embed (each keeps three tables).

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use crate::error::{Error, Result};
use crate::ids::{Name, validate_name};

/// One dictionary (labels, edge types or property keys). Ids are dense from 0 and
/// never change; names are never removed (a name interned by a write that was later
/// rolled back stays, harmlessly).
#[derive(Debug)]
pub struct NameTable {
    what: &'static str,
    by_name: RwLock<HashMap<Name, u32>>,
    by_id: RwLock<Vec<Name>>,
}

impl NameTable {
    /// An empty table; `what` names the kind of name in errors ("label", ...).
    pub fn new(what: &'static str) -> Self {
        NameTable {
            what,
            by_name: RwLock::new(HashMap::new()),
            by_id: RwLock::new(Vec::new()),
        }
    }

    /// The id of `name` if it was ever interned.
    pub fn lookup(&self, name: &str) -> Option<u32> {
        self.by_name
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .copied()
    }

    /// The id of `name`, interning it if new. Errors: `InvalidInput` for the empty
    /// name, or past `u32::MAX` distinct names.
    pub fn intern(&self, name: &str) -> Result<u32> {
        validate_name(self.what, name)?;
        if let Some(id) = self.lookup(name) {
            return Ok(id);
        }
        let mut by_name = self.by_name.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = by_name.get(name) {
            return Ok(*id);
        }
        let mut by_id = self.by_id.write().unwrap_or_else(PoisonError::into_inner);
        let id = u32::try_from(by_id.len())
            .map_err(|_| Error::invalid_input(format!("too many distinct {} names", self.what)))?;
        let shared: Name = Name::from(name);
        by_id.push(shared.clone());
        by_name.insert(shared, id);
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
        self.by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True if no name was interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name of an id handed out by this table. Errors: `Corrupt` for an id the
    /// table never handed out (a store referring to it is damaged).
    pub fn name(&self, id: u32) -> Result<Name> {
        self.by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id as usize)
            .cloned()
            .ok_or_else(|| Error::corrupt(format!("unknown {} id {id} in the store", self.what)))
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
}
