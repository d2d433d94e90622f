#!/bin/bash
# The main job: a KVM host's I/O stack on kvmkit, with two VMs on it.
# `kvmkit host up` starts kvmkit-switchd (bridge br0: a vhost-user port per
# VM and the host's internal port kkhost0, 10.77.0.1/24), kvmkit-blkd (a
# qcow2 disk per VM with an ext4 filesystem holding a marker file) and two
# QEMU guests (the test guest of tests/e2e/guest, with ext4) whose NIC and
# disk are those ports and exports. The guests read their marker, run fio
# and ping each other and the host every second. This script shows
# `kvmkit host status` live, refreshed every second, until Ctrl-C, then
# prints a summary and tears everything down (`kvmkit host down`).
# docs/quickstart.md explains the screen.
#
# Options:
#   --once [SECS]    run SECS seconds (default 30) after the guests are up,
#                    print the summary, tear down; exit 0 if the guests read
#                    their disks and reached each other and the host
#   --config FILE    a kvmkit host configuration instead of the default host
#   --accel A        auto (default: KVM unless this machine is itself a VM), kvm, tcg
#   --keep           keep build/run/ (logs, consoles, images) after the run
#   --build-guest    only build the guest (build/guest) and exit
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=$ROOT/build/run
K=$ROOT/build/apps/kvmkit
GUEST=$ROOT/build/guest
ONCE=""
KEEP=0
CONFIG=()
ACCEL=()
while [ $# -gt 0 ]; do
    case $1 in
    --once)
        ONCE=30
        case ${2:-} in [0-9]*) ONCE=$2; shift ;; esac
        shift ;;
    --config) CONFIG=(-c "$2"); shift 2 ;;
    --accel) ACCEL=(--accel "$2"); shift 2 ;;
    --keep) KEEP=1; shift ;;
    --build-guest) BUILD_ONLY=1; shift ;;
    -h | --help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "run: unknown option $1 (--once [SECS], --config FILE, --accel A, --keep)" >&2; exit 2 ;;
    esac
done

# The test guest (tests/e2e/guest: its kernel has ext4 for the disks).
build_guest() {
    mkdir -p "$GUEST"
    tests/e2e/guest/build.sh "$GUEST" >"$GUEST/build.log" 2>&1 || {
        echo "run: the guest build failed ($GUEST/build.log):" >&2
        tail -15 "$GUEST/build.log" | sed 's/^/    /' >&2
        return 1
    }
}
if [ -n "${BUILD_ONLY:-}" ]; then
    build_guest
    exit $?
fi

command -v qemu-system-x86_64 >/dev/null ||
    { echo "run: qemu-system-x86_64 is missing (scripts/deps.sh installs it)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || [ ${#CONFIG[@]} -gt 0 ] ||
    { echo "run: the default host gives the host a tap port (kkhost0): run as root" >&2; exit 1; }

echo "== $("$K" --version)"
echo "== building the test guest (build/guest; cached after the first run)"
build_guest || exit 1

# A host left over from an interrupted run goes first.
[ -f "$RUN/host.json" ] && "$K" host down -d "$RUN" >/dev/null 2>&1
rm -rf "$RUN"
mkdir -p "$RUN"
failed=0
cleanup() {
    trap '' INT TERM
    echo "== tearing down (kvmkit host down)"
    "$K" host down -d "$RUN" | sed 's/^/   /'
    if [ "$KEEP" = 1 ] || [ "$failed" = 1 ]; then
        echo "== logs, consoles and images kept in $RUN"
    else
        rm -rf "$RUN"
    fi
}
trap cleanup EXIT
trap 'exit 130' TERM

echo "== bringing the host up (kvmkit host up; guests boot in 20-40 s under TCG)"
trap 'exit 130' INT
KVMKIT_GUEST_DIR=$GUEST "$K" host up -d "$RUN" "${CONFIG[@]}" "${ACCEL[@]}" --wait 240 2>&1 |
    sed -u 's/^kvmkit host: /   /'
[ "${PIPESTATUS[0]}" = 0 ] || { failed=1; exit 1; }

# The live view: kvmkit host status --watch stops on Ctrl-C (it is in the
# foreground group) and on its own after --duration; this shell carries on
# to the summary and the teardown either way.
trap 'echo' INT
if [ -t 1 ]; then printf '\033[H\033[2J'; fi
if [ -n "$ONCE" ]; then
    "$K" host status -d "$RUN" --watch --duration "$ONCE"
else
    "$K" host status -d "$RUN" --watch
fi
trap 'exit 130' INT

echo
echo "== summary (kvmkit host status --summary)"
"$K" host status -d "$RUN" --summary | sed 's/^/   /'

# Did it work? Every guest read its marker and reached its peer and the host.
"$K" host status -d "$RUN" --summary --json >"$RUN/summary.json"
if python3 - "$RUN/summary.json" <<'EOF'; then
import json, sys
s = json.load(open(sys.argv[1]))
bad = []
for v in s["vms"]:
    if v["marker"] not in ("ok", "-"):
        bad.append(f'{v["name"]}: disk marker {v["marker"]}')
    if v["peer_sent"] and not v["peer_ok"]:
        bad.append(f'{v["name"]}: no answer from its peer')
    if v["host_sent"] and not v["host_ok"]:
        bad.append(f'{v["name"]}: no answer from the host')
for d in s["disks"]:
    if not d["writes"]:
        bad.append(f'{d["name"]}: no writes (fio)')
for b in bad:
    print("run: " + b)
sys.exit(1 if bad else 0)
EOF
    echo "== done: two VMs ran on kvmkit's switch and storage"
    exit 0
fi
failed=1
exit 1
