#!/usr/bin/env bash
# Every test of the workspace: unit tests, the conformance suite against every
# backend, integration tests and doctests. Ends with one line totalling them.
here="$(CDPATH='' cd -- "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# A failure (it says what failed) stops the script: without RocksDB built, cargo would
# compile it the slow way.
source "$here/env.sh" || exit 1
cd "$here/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# --no-fail-fast: one failing binary must not hide the results of the others. The
# status is cargo's, not tee's.
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
awk -f "$here/count-tests.awk" "$log"
exit "$status"
