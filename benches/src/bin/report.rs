//! The comparison report, Quiver's main job: every workload on every backend and
//! peer, one process, one run. Writes `report.md` and `report.json` to `--out`.

use std::process::ExitCode;

use clap::Parser;
use quiver_benches::alloc::CountingAllocator;
use quiver_benches::run::{ReportArgs, UsageError, run_report};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs the benchmark workloads on every backend and peer and writes the report.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ReportArgs,
}

/// Exits with 2 for a command line the report cannot run, 1 for any other failure.
fn main() -> ExitCode {
    match run_report(&Cli::parse().args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is::<UsageError>() { 2 } else { 1 })
        }
    }
}
