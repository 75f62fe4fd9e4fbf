#!/usr/bin/env bash
# How scripts/env.sh compiles RocksDB's C++ once per machine: as a unity build, several
# sources included into one file and compiled together, which RocksDB's own Makefile
# offers (unity.a) and its CI keeps compiling. Most of a RocksDB source's compile time
# goes into parsing the same headers (db/db_impl/db_impl.h alone takes seconds); a part
# of forty-odd sources parses them once. About four times less time than one compiler
# run per source.
#
# Two steps, so that librocksdb-sys's build script still decides the sources, macros
# and flags (its features, the target, the include paths):
#
#   rocksdb-cxx.sh ARGS...            as that build script's C++ compiler ($CXX): a
#       compilation of a .cc is recorded (working directory and arguments, one file
#       each, in $QUIVER_ROCKSDB_RECORDS) and answered with an empty object; anything
#       else (the build script's compiler and flag checks) runs the real compiler
#       unchanged.
#   rocksdb-cxx.sh --link RECORDS LIBRARY
#       cuts the recorded sources, in the order of RocksDB's own source list (the order
#       its unity build is tested in), into parts (at least 8, two per core), compiles
#       each part with its sources' exact arguments, and archives the objects into
#       LIBRARY. A part that does not compile as one unit is compiled source by source
#       (slower, never wrong); a source that does not compile at all fails the build.
#
# The real compiler is $QUIVER_ROCKSDB_CXX (env.sh sets it from $CXX, default c++).
set -euo pipefail
cxx="${QUIVER_ROCKSDB_CXX:?set by scripts/env.sh}"

# Reads a record (NUL-separated: working directory, then the compiler's arguments) into
# rec_dir, rec_src (absolute), rec_flags (the arguments without -c, -o and its value,
# and the source).
read_record() {
    local fields=() prev="" arg
    mapfile -d '' fields <"$1"
    rec_dir="${fields[0]}"
    rec_src="" rec_flags=()
    for arg in "${fields[@]:1}"; do
        if [ "$prev" = -o ]; then prev=""; continue; fi
        case "$arg" in
            -o) prev=-o; continue ;;
            -c) continue ;;
            *.cc) rec_src="$arg"; continue ;;
        esac
        rec_flags+=("$arg")
    done
    case "$rec_src" in
        /*) ;;
        *) rec_src="$rec_dir/$rec_src" ;;
    esac
}

# Compiles one part (a directory written by --link): as one unit, or else source by
# source. Writes the part's objects, one per line, to objects, and then done.
compile_part() {
    local part="$1" i=0 record
    local flags=() sources=()
    mapfile -d '' flags <"$part/flags"
    mapfile -t sources <"$part/records"
    : >"$part/unity.cc"
    for record in "${sources[@]}"; do
        read_record "$record"
        printf '#include "%s"\n' "$rec_src" >>"$part/unity.cc"
    done
    if (cd "$(cat "$part/dir")" && "$cxx" "${flags[@]}" -c "$part/unity.cc" -o "$part/unity.o") 2>"$part/unity.log"; then
        echo "$part/unity.o" >"$part/objects"
    else
        echo "rocksdb-cxx: part $(basename "$part") does not compile as one unit; compiling its ${#sources[@]} sources one by one (see $part/unity.log)" >&2
        : >"$part/objects"
        for record in "${sources[@]}"; do
            i=$((i + 1))
            read_record "$record"
            (cd "$rec_dir" && "$cxx" "${rec_flags[@]}" -c "$rec_src" -o "$part/$i.o")
            echo "$part/$i.o" >>"$part/objects"
        done
    fi
    touch "$part/done"
}

if [ "${1:-}" = --part ]; then
    compile_part "$2"
    exit 0
fi

if [ "${1:-}" = --link ]; then
    records="$2" library="$3"
    work="$records/parts"
    rm -rf "$work"
    mkdir -p "$work"
    # One line per source: group (working directory and flags), position in RocksDB's
    # list (sources it does not list go last, by name), record file.
    listing="$work/listing"
    : >"$listing"
    shopt -s nullglob
    for record in "$records"/*.args; do
        read_record "$record"
        group="$(printf '%s\0' "$rec_dir" "${rec_flags[@]}" | sha256sum | cut -c1-16)"
        if [ ! -f "$work/$group.flags" ]; then
            printf '%s\0' "${rec_flags[@]}" >"$work/$group.flags"
            printf '%s' "$rec_dir" >"$work/$group.dir"
        fi
        list="${rec_src%/rocksdb/*}/rocksdb_lib_sources.txt"
        position=""
        if [ -f "$list" ]; then
            position="$(awk -v want="${rec_src#"${rec_src%/rocksdb/*}"/rocksdb/}" '$1 == want { print NR; exit }' "$list")"
        fi
        printf '%s\t%s\t%s\t%s\n' "$group" "${position:-999999}" "$rec_src" "$record" >>"$listing"
    done
    count="$(wc -l <"$listing")"
    if [ "$count" = 0 ]; then
        echo "rocksdb-cxx: no compilation of RocksDB was recorded in $records" >&2
        exit 1
    fi
    cores="$(nproc 2>/dev/null || echo 2)"
    parts=$((2 * cores > 8 ? 2 * cores : 8))
    per=$(((count + parts - 1) / parts))
    # Contiguous slices of each group, in list order.
    n=0 in_part=0 last_group=""
    while IFS=$'\t' read -r group _ _ record; do
        if [ "$group" != "$last_group" ] || [ "$in_part" = "$per" ]; then
            n=$((n + 1)) in_part=0 last_group="$group"
            part="$work/$(printf '%03d' "$n")"
            mkdir -p "$part"
            cp "$work/$group.flags" "$part/flags"
            cp "$work/$group.dir" "$part/dir"
        fi
        echo "$record" >>"$part/records"
        in_part=$((in_part + 1))
    done < <(sort -t $'\t' -k1,1 -k2,2n -k3,3 "$listing")
    echo "rocksdb-cxx: $count sources in $n parts, $cores at a time" >&2
    printf '%s\n' "$work"/[0-9][0-9][0-9] | xargs -P "$cores" -I{} "$0" --part {}
    objects=()
    for part in "$work"/[0-9][0-9][0-9]; do
        [ -f "$part/done" ] || { echo "rocksdb-cxx: part $part did not finish" >&2; exit 1; }
        mapfile -t -O "${#objects[@]}" objects <"$part/objects"
    done
    rm -f "$library.tmp"
    "${AR:-ar}" crs "$library.tmp" "${objects[@]}"
    mv "$library.tmp" "$library"
    exit 0
fi

# As the build script's compiler.
records="${QUIVER_ROCKSDB_RECORDS:?set by scripts/env.sh}"
src="" out="" compiling=0 prev=""
for arg in "$@"; do
    if [ "$prev" = -o ]; then out="$arg"; fi
    case "$arg" in
        -c) compiling=1 ;;
        *.cc) src="$arg" ;;
    esac
    prev="$arg"
done
if [ "$compiling" != 1 ] || [ -z "$src" ] || [ -z "$out" ]; then
    exec "$cxx" "$@"
fi
mkdir -p "$records"
record="$records/$(printf '%s' "$out" | sha256sum | cut -c1-16).args"
printf '%s\0' "$PWD" "$@" >"$record.tmp"
mv "$record.tmp" "$record"
exec "$cxx" -x c++ -c /dev/null -o "$out"
