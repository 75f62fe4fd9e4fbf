#!/usr/bin/env bash
# The main job: runs the benchmark workloads on every backend and peer and writes
# bench-report/report.md and report.json. Extra arguments go to the report binary
# (see --help), e.g. --vertices 1000000 --edges 5000000.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
cd "$here/.."
cargo run --release -p quiver-benches --bin report -- "$@"
