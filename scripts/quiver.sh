#!/usr/bin/env bash
# The quiver command, built on first use (release): `bash scripts/quiver.sh --help`.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
cd "$here/.."
cargo build -q --release -p quiver-cli
cd - >/dev/null
exec "$CARGO_TARGET_DIR/release/quiver" "$@"
