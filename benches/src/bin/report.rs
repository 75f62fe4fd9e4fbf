//! The comparison report, Quiver's main job: every workload on every backend and
//! peer, one process, one run. Writes `report.md` and `report.json` to `--out`.

use clap::Parser;
use quiver_benches::alloc::CountingAllocator;
use quiver_benches::run::{ReportArgs, run_report};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs the benchmark workloads on every backend and peer and writes the report.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ReportArgs,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run_report(&Cli::parse().args)
}
