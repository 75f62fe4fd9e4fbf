//! The benchmark workloads of Quiver, defined once, and the subjects they run on:
//! every backend (the three storage modes) through the `StorageEngine` contract, and the peers (a hand-rolled
//! in-memory graph holding the same records, and plain RocksDB with engine-ondisk's
//! layout).
//!
//! The `report` binary runs every workload on every subject in one process and writes
//! a Markdown table with ratios plus a JSON file of raw figures.

pub mod alloc;
pub mod analytical;
pub mod baseline;
pub mod charts;
pub mod compare;
pub mod dumps;
pub mod durability;
pub mod engine_subject;
pub mod growth;
mod heap_graph;
pub mod indradb_peer;
pub mod modes;
pub mod petgraph_peer;
pub mod rocks;
pub mod run;
pub mod workload;

pub use baseline::HandRolledBaseline;
pub use engine_subject::EngineSubject;
pub use workload::{Subject, Workload, WorkloadSize};
pub mod report;
