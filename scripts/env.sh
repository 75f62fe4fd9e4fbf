# Sourced by the project's scripts: makes a fresh machine ready and keeps build
# outputs outside the clone, so later runs (and RocksDB's long first build) reuse them.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "error: cargo is not installed; this project needs the Rust toolchain (rustup)." >&2
        exit 1
    fi
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quiver-target}"
mkdir -p "$CARGO_TARGET_DIR"
