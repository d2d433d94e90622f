#!/bin/sh
# Run every libFuzzer target in BUILDDIR for SECONDS each.
# New interesting inputs go to a scratch corpus (the committed corpus in
# tests/fuzz/corpus/<target> is read, not written); crashes are saved in
# BUILDDIR/fuzz-artifacts/. Exit status 1 if any target found a crash.
set -u
builddir=${1:-build-fuzz}
seconds=${2:-60}
cd "$(dirname "$0")/.."
status=0
mkdir -p "$builddir/fuzz-artifacts"
for target in "$builddir"/tests/fuzz/fuzz_*; do
    [ -f "$target" ] && [ -x "$target" ] || continue
    name=${target##*/fuzz_}
    scratch="$builddir/fuzz-corpus/$name"
    mkdir -p "$scratch"
    echo "== fuzz $name for ${seconds}s"
    if ! "$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
            -artifact_prefix="$builddir/fuzz-artifacts/$name-" \
            "$scratch" "tests/fuzz/corpus/$name" 2>"$builddir/fuzz-$name.log"; then
        echo "fuzz $name: FAILED, see $builddir/fuzz-$name.log and $builddir/fuzz-artifacts/"
        tail -30 "$builddir/fuzz-$name.log"
        status=1
    else
        grep -E "stat::number_of_executed_units|cov:" "$builddir/fuzz-$name.log" | tail -2
    fi
done
exit $status
