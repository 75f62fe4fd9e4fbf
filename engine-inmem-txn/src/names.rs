//! Interning of labels, edge types and property keys to small integer ids.

use std::collections::HashMap;

use engine_api::{Name, Result, validate_name};
use parking_lot::RwLock;

/// One dictionary (labels, edge types or property keys). Ids are dense from 0 and
/// never change; names are never removed (a name created by a rolled-back transaction
/// stays, harmlessly).
pub(crate) struct NameTable {
    what: &'static str,
    by_name: RwLock<HashMap<Name, u32>>,
    by_id: RwLock<Vec<Name>>,
}

impl NameTable {
    pub(crate) fn new(what: &'static str) -> Self {
        NameTable {
            what,
            by_name: RwLock::new(HashMap::new()),
            by_id: RwLock::new(Vec::new()),
        }
    }

    /// The id of `name` if it was ever interned.
    pub(crate) fn lookup(&self, name: &str) -> Option<u32> {
        self.by_name.read().get(name).copied()
    }

    /// The id of `name`, interning it if new. Refuses the empty name.
    pub(crate) fn intern(&self, name: &str) -> Result<u32> {
        validate_name(self.what, name)?;
        if let Some(id) = self.lookup(name) {
            return Ok(id);
        }
        let mut by_name = self.by_name.write();
        if let Some(id) = by_name.get(name) {
            return Ok(*id);
        }
        let mut by_id = self.by_id.write();
        let id = u32::try_from(by_id.len()).map_err(|_| {
            engine_api::Error::invalid_input(format!("too many distinct {} names", self.what))
        })?;
        let shared: Name = Name::from(name);
        by_id.push(shared.clone());
        by_name.insert(shared, id);
        Ok(id)
    }

    /// Every name, by id.
    pub(crate) fn all(&self) -> Vec<Name> {
        self.by_id.read().clone()
    }

    /// The name of an id handed out by this table.
    pub(crate) fn name(&self, id: u32) -> Result<Name> {
        self.by_id.read().get(id as usize).cloned().ok_or_else(|| {
            engine_api::Error::corrupt(format!("unknown {} id {id} in the store", self.what))
        })
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
    }
}
