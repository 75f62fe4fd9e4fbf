#!/usr/bin/env bash
# The main job: runs the benchmark workloads on every backend and peer and writes
# bench-report/report.md and report.json. Extra arguments go to the report binary
# (see --help), e.g. --vertices 1000000 --edges 5000000.
here="$(CDPATH='' cd -- "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# A failure (it says what failed) stops the script: without RocksDB built, cargo would
# compile it the slow way.
source "$here/env.sh" || exit 1
cd "$here/.."
cargo run --release -p quiver-benches --bin report -- "$@"
