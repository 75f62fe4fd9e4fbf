//! Building blocks for writing a backend (a backend's user needs none of them): the
//! chunked slot array the in-memory backends keep objects in, the interned name
//! table, the registry that delivers commits to observers, and state that writer
//! threads share without sharing cache lines (id blocks, sharded counters and
//! locks), growing a list another thread allocated, and cache prefetch hints.

pub use crate::lists::make_room;
pub use crate::names::NameTable;
pub use crate::observers::ObserverRegistry;
pub use crate::prefetch::prefetch;
pub use crate::shards::{
    IdBlocks, SHARDS, ShardedCounter, ShardedRwLock, ShardedWriteGuard, thread_shard,
};
pub use crate::slots::{CAPACITY as SLOT_CAPACITY, SlotArray};
