#!/usr/bin/env bash
# The C++ compiler scripts/env.sh hands to librocksdb-sys's build script while it
# compiles RocksDB once per machine. It runs $QUIVER_ROCKSDB_CXX (g++ unless CXX says
# otherwise; clang++ works too) with the build script's own arguments, adding one
# precompiled header in front of each of RocksDB's sources: most of them spend more
# time parsing the same headers (db/db_impl/db_impl.h alone takes seconds) than
# generating code, and the header is parsed once instead of 343 times. The header is
# built on first use from the exact arguments of that compilation minus the source
# and object, so it always matches them (one header per distinct set of arguments).
# A source that defines a macro before its first #include (its headers depend on it)
# is compiled without it. Anything that is not a compilation of a .cc file (the build
# script's compiler and flag checks) is passed through unchanged.
set -euo pipefail
cxx="${QUIVER_ROCKSDB_CXX:?set by scripts/env.sh}"
pch_root="${QUIVER_ROCKSDB_PCH_DIR:?set by scripts/env.sh}"

# Whether the source defines or undefines a macro before its first #include.
defines_first() {
    awk 'BEGIN { found = 1 }
         /^[ \t]*#[ \t]*include/ { exit }
         /^[ \t]*#[ \t]*(define|undef)/ { found = 0; exit }
         END { exit found }' "$1"
}

src="" out="" compiling=0 prev=""
flags=()
for arg in "$@"; do
    case "$prev" in
        -o) out="$arg"; prev=""; continue ;;
    esac
    case "$arg" in
        -o) prev="-o"; continue ;;
        -c) compiling=1 ;;
        *.cc) src="$arg"; prev=""; continue ;;
    esac
    flags+=("$arg")
    prev="$arg"
done
if [ "$compiling" != 1 ] || [ -z "$src" ] || [ -z "$out" ] \
    || defines_first "$src"; then
    exec "$cxx" "$@"
fi

# One precompiled header per set of arguments (the same for every source) and version
# of this script.
key="$(printf '%s\n' "$cxx" "${flags[@]}" | cat - "$0" | sha256sum | cut -c1-16)"
dir="$pch_root/$key"
header="$dir/rocksdb-pch.h"
case "$("$cxx" --version | head -n 1)" in
    *clang*) compiled="$header.pch" ;;
    *) compiled="$header.gch" ;;
esac
if [ ! -f "$compiled" ] && [ ! -f "$dir/failed" ]; then
    mkdir -p "$dir"
    (
        flock 9
        if [ ! -f "$compiled" ] && [ ! -f "$dir/failed" ]; then
            # The standard library and the RocksDB headers that most sources include.
            cat >"$header" <<'EOF'
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>
#include "rocksdb/db.h"
#include "db/db_impl/db_impl.h"
#include "logging/logging.h"
#include "util/string_util.h"
#include "util/coding.h"
EOF
            # The flags without -c: the same language, options and macros as the sources.
            pch_flags=()
            for f in "${flags[@]}"; do
                [ "$f" = "-c" ] || pch_flags+=("$f")
            done
            if "$cxx" "${pch_flags[@]}" -x c++-header "$header" -o "$compiled.tmp"; then
                mv "$compiled.tmp" "$compiled"
            else
                # Slower, not wrong: every source parses its headers itself.
                echo "rocksdb-cxx: the precompiled header failed; compiling without it" >&2
                touch "$dir/failed"
            fi
        fi
    ) 9>"$dir/lock"
fi
if [ ! -f "$compiled" ]; then
    exec "$cxx" "$@"
fi
# -Winvalid-pch: g++ silently parses the header instead when it cannot use the
# precompiled one (slower, not wrong); this says so. clang refuses with an error.
exec "$cxx" -include "$header" -Winvalid-pch "$@"
