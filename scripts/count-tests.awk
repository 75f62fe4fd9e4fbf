# Totals a `cargo test --no-fail-fast` log: the passed and failed counts of every
# harness summary, plus the test binaries that ended without one. Such a binary is a
# harness-less test (the crash tests) that passed, counted as one passed test, unless
# cargo reported it failed right after it (a crash, a kill, a panic, a non-zero exit):
# then it is one failure, which a total of the summaries alone would not show.
# Prints "tests: N passed, N failed".
function close_binary() {
    if (open && !summarised) {
        if (failed) { f += 1; lost = lost "  " name "\n" } else { p += 1 }
    }
    open = 0; summarised = 0; failed = 0
}
/^ +Running / || /^ +Doc-tests / {
    close_binary()
    open = 1; name = $0; sub(/^ +/, "", name)
}
/^error: test failed, to rerun pass / { failed = 1 }
/^test result:/ {
    summarised = 1
    for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^passed/) p += $i
        if ($(i+1) ~ /^failed/) f += $i
    }
}
END {
    close_binary()
    if (lost != "") printf "test binaries that failed without a summary (each counted as one failure):\n%s", lost
    printf "tests: %d passed, %d failed\n", p, f
}
