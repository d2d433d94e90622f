#!/bin/sh
# Run every test suite and print one closing line "N passed, N failed".
#
#   1. the release build (build/): unit, fuzz-corpus replay, integration
#      and end-to-end suites;
#   2. the sanitizer build (build-asan/, AddressSanitizer + UBSan): the unit
#      suite and the fuzz-corpus replay.
#
# Test cases are counted from the TAP output of each test program (cmocka
# prints TAP); a program that crashes or times out without reporting a
# failing case counts as one failure. Exit status: 0 only if nothing failed.
# Usage: scripts/test.sh [meson test options, e.g. --suite unit]
set -u
cd "$(dirname "$0")/.."

status=0
logs=""

run_suite() {
    builddir=$1
    shift
    echo "== meson test -C $builddir $*"
    meson test -C "$builddir" --print-errorlogs --num-processes 2 "$@" || status=1
    cp "$builddir/meson-logs/testlog.json" "$builddir/meson-logs/testlog-$label.json"
    logs="$logs $builddir/meson-logs/testlog-$label.json"
}

label=release
run_suite build "$@"
label=asan
if [ $# -eq 0 ]; then
    run_suite build-asan --suite unit
else
    run_suite build-asan "$@"
fi

python3 scripts/tap_summary.py $logs || status=1
exit $status
