#!/usr/bin/env bash
# The quiver command, built on first use (release): `bash scripts/quiver.sh --help`.
here="$(CDPATH='' cd -- "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# A failure (it says what failed) stops the script: without RocksDB built, cargo would
# compile it the slow way.
source "$here/env.sh" || exit 1
cd "$here/.."
cargo build -q --release -p quiver-cli || exit 1
cd - >/dev/null
exec "$CARGO_TARGET_DIR/release/quiver" "$@"
