//! Dumps: the whole database as Cypher statements in the dialect of the well-known
//! in-memory graph database (the rules: `docs/dump.md`), one statement per line, written
//! from any backend through engine-api's [`engine_api::dump_entities`] view.
//!
//! ```
//! use engine_api::{StorageEngine, Transaction, TxnOptions};
//! use engine_inmem_txn::{Config, InMemoryEngine};
//!
//! # fn main() -> engine_api::Result<()> {
//! let engine = InMemoryEngine::open(Config::default())?;
//! let mut t = engine.begin(TxnOptions::new())?;
//! let a = t.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
//! t.create_edge_with(a, a, "KNOWS", &[("since", 2019.into())])?;
//! t.commit()?;
//!
//! let mut out = Vec::new();
//! let summary = dump::write_dump(&engine, &mut out, dump::DumpOptions::new())?;
//! assert_eq!((summary.counts.vertices, summary.counts.edges), (1, 1));
//! let text = String::from_utf8(out).expect("a dump is UTF-8");
//! assert!(text.starts_with("CREATE (:__mg_vertex__:`Person` {__mg_id__: 0, `name`: \"Ann\"});\n"));
//! # Ok(())
//! # }
//! ```
//!
//! [`load_dump`] applies a dump to any backend, streaming, in batched transactions.
#![deny(missing_docs)]

mod image;
mod literal;
mod load;
mod parse;
mod write;

pub use load::{
    DumpCheck, LoadOptions, LoadSummary, SKIPPED_NAMED, check_dump, check_dump_uniqueness,
    load_dump, load_dump_file,
};

pub use image::dump_to_image;

pub use parse::{Statement, StatementKind, StatementReader};

pub use write::{
    DumpOptions, DumpSummary, HELPER_ID, HELPER_LABEL, Progress, ProgressFn, write_dump,
};
