//! The contract of Quiver's storage engines: the property-graph data model, the
//! [`StorageEngine`] and [`Transaction`] traits, one [`Error`] type with an
//! [`ErrorKind`] to match on, [`Capabilities`] as data, and shared config types.
//!
//! This crate holds no backend. Pick one (`engine-inmem-txn`, ...) and program against
//! these traits; switching backends keeps your code and your error handling.
//!
//! A full round trip: open, write, commit, read.
//!
//! ```
//! use engine_api::{Direction, PropertyValue, StorageEngine, Transaction, TxnOptions};
//! use engine_inmem_txn::{Config, InMemoryEngine};
//!
//! # fn main() -> engine_api::Result<()> {
//! let engine = InMemoryEngine::open(Config::default())?;
//!
//! let mut txn = engine.begin(TxnOptions::new())?;
//! let ann = txn.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
//! let bob = txn.create_vertex_with(&["Person"], &[("name", "Bob".into())])?;
//! txn.create_edge_with(ann, bob, "KNOWS", &[("since", 2019.into())])?;
//! txn.commit()?;
//!
//! let read = engine.begin(TxnOptions::new().read_only())?;
//! assert_eq!(read.vertex_property(ann, "name")?, Some(PropertyValue::from("Ann")));
//! let knows: Vec<_> = read.edges(ann, Direction::Out, Some("KNOWS"))?.collect::<Result<_, _>>()?;
//! assert_eq!(knows.len(), 1);
//! assert_eq!(knows[0].target, bob);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod capabilities;
pub mod codec;
mod config;
mod dump;
mod durability;
mod engine;
mod error;
mod ids;
pub mod image;
pub mod kit;
mod lists;
mod names;
mod observers;
mod prefetch;
mod schema;
mod shards;
mod slots;
mod txn;
mod value;
mod value_ref;

pub use capabilities::{Capabilities, IsolationLevel, StorageMode};
pub use config::{DurabilityConfig, SyncMode, WalArchive};
pub use dump::{BulkLoader, COMMITTED_BEFORE, DumpCounts, DumpEntity, counted, dump_entities};
pub use durability::{
    CommitPoint, CommitTimes, DamagedFile, DataDirectoryLease, EngineStats, LockChange, LockStatus,
    RecoveryPoint, RecoveryReport, SnapshotInfo,
};
pub use engine::{StorageEngine, Transaction};
pub use error::{Error, ErrorKind, Result};
pub use ids::{DeleteMode, Direction, EdgeId, EdgeRecord, EdgeRef, Name, VertexId, validate_name};
pub use image::{DatabaseId, ImageEdge, ImageEngine, ImageVertex, SnapshotSink};
pub use observers::Observers;
pub use schema::{
    Change, ChangeSet, CommitObserver, ConstraintSpec, IndexInfo, IndexSpec, ObserverId,
    SharedObserver, TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec, ValueType,
    best_prefix_index,
};
pub use txn::{CommitInfo, TxnOptions};
pub use value::{
    Date, Duration, LocalDateTime, LocalTime, MAX_NESTING_DEPTH, MAX_UTC_OFFSET_SECONDS,
    MICROS_PER_DAY, OrderedValue, Point, PropertyBounds, PropertyMap, PropertyValue, TypeGroup,
    ZonedDateTime,
};
pub use value_ref::{ListIter, ListRef, MapIter, MapRef, ValueRef};
