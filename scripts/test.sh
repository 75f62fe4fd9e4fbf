#!/usr/bin/env bash
# Every test of the workspace: unit tests, the conformance suite against every
# backend, integration tests and doctests.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
cd "$here/.."
cargo test --workspace "$@"
