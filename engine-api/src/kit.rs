//! Building blocks for writing a backend (a backend's user needs none of them): the
//! chunked slot array the in-memory backends keep objects in, the interned name
//! table, and the registry that delivers commits to observers.

pub use crate::names::NameTable;
pub use crate::observers::ObserverRegistry;
pub use crate::slots::{CAPACITY as SLOT_CAPACITY, SlotArray};
