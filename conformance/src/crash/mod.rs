//! The kill -9 harness every persistent backend runs: a child process works on a
//! database while the parent kills it with SIGKILL at pseudo-random moments, reopens
//! the database and checks it, cycle after cycle.
//!
//! A backend instantiates it in a test target with `harness = false`:
//!
//! ```ignore
//! // engine-mine/tests/crash.rs
//! struct Crash;
//! impl conformance::EngineFactory for Crash {
//!     type Engine = engine_mine::Engine;
//!     fn open(&self, dir: &std::path::Path) -> engine_api::Result<Self::Engine> {
//!         engine_mine::Engine::open(durable_config(dir))
//!     }
//! }
//! fn main() {
//!     conformance::crash::main(&Crash, &conformance::crash::CrashSettings {
//!         backend: "engine-mine",
//!         snapshot_retention: 2,
//!         short_cycles: 50,
//!     });
//! }
//! ```
//!
//! The same binary is parent and child (the child is told its directory by an
//! environment variable). The child runs, at once:
//! - writers: each transaction creates two `Part` vertices and a `PAIR` edge between
//!   them and moves money between two of eight accounts whose total never changes
//!   (two writers where the backend detects write conflicts, one where it does not:
//!   without isolation a transfer would race another);
//! - churn: one thread links new `Churn` vertices to recent ones while another
//!   detach-deletes them, so edge creation races vertex deletion;
//! - schema operations: an index, a uniqueness constraint and a trigger (those the
//!   backend declares) created and dropped in turn;
//! - snapshots on demand (where declared), which also apply the retention;
//! - lock and unlock of the data directory, and leases, in turn (where declared), so
//!   kills land while deletions are deferred.
//!
//! What counts as acknowledged depends on the backend's capabilities. With a WAL
//! every returned commit and schema operation is durable. Without one (the
//! analytical mode) only a snapshot is: the snapshot thread runs the schema operation
//! and then the snapshot, and acknowledges both when the snapshot returns.
//!
//! After each kill the parent reopens the database and checks:
//! - nothing acknowledged is missing: with a WAL every acknowledged transaction;
//!   without one exactly the transactions committed at or before the recovered
//!   snapshot's timestamp, which is not older than the last acknowledged snapshot;
//! - nothing is there that was never handed out, and nothing is half there: each
//!   transaction has both its vertices and its edge, and the money adds up;
//! - no edge dangles, and the kept counts equal a scan;
//! - no vertex id is handed out again (with a WAL: not even one whose transaction
//!   never committed);
//! - the schema is the acknowledged one, its index answers like a scan and its
//!   constraint holds;
//! - the directory opens unlocked, and the next snapshot trims the snapshots to the
//!   retention count even if the kill came while deletions were deferred.
//!
//! Most cycles start the kill timer only after the child's first acknowledged commit
//! (a cycle that acknowledges nothing within 60 s fails); every eighth kills at a
//! random moment from the start, which may fall inside recovery. A panic in any of
//! the child's threads ends the child at once, and the cycle fails. Every 25 cycles
//! start in a fresh directory, which keeps recovery short.
//!
//! Cycles: `short_cycles` by default (CI), `QUIVER_CRASH_CYCLES=N` for a long run.

mod check;
mod process;
mod schema;
mod workload;

use std::path::Path;
use std::time::Instant;

use crate::EngineFactory;

/// How a backend runs the harness.
#[derive(Debug, Clone)]
pub struct CrashSettings {
    /// The backend's name, for messages.
    pub backend: &'static str,
    /// The snapshot retention the factory's engines are opened with.
    pub snapshot_retention: usize,
    /// Cycles when `QUIVER_CRASH_CYCLES` is not set (the short form CI runs).
    pub short_cycles: u64,
}

/// The child's data directory; set only in the child.
const CHILD_DIR: &str = "QUIVER_CRASH_CHILD_DIR";
/// Where the child continues: the next transaction number and the number of schema
/// operations the recovered database reflects.
const CHILD_START: &str = "QUIVER_CRASH_CHILD_START";
/// The number of cycles of a long run.
const CYCLES: &str = "QUIVER_CRASH_CYCLES";

/// Runs the harness: as the child when the parent started this process, else as the
/// parent for the configured number of cycles, ending with a summary line. Panics,
/// naming the cycle and the difference, when a check fails.
pub fn main<F: EngineFactory>(factory: &F, settings: &CrashSettings) {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        let start = std::env::var(CHILD_START)
            .ok()
            .and_then(|s| workload::Start::parse(&s))
            .unwrap_or_default();
        workload::run(factory, Path::new(&dir), start);
        return;
    }
    let cycles = match std::env::var(CYCLES) {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("{CYCLES}={s:?} is not a number of cycles")),
        Err(_) => settings.short_cycles,
    };
    let started = Instant::now();
    let totals = check::run(factory, settings, cycles);
    println!(
        "crash harness ({}): {cycles} kill -9 cycles passed, {} in {:.1} s",
        settings.backend,
        totals,
        started.elapsed().as_secs_f64()
    );
}
