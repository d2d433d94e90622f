#!/bin/bash
# A QEMU guest's virtio-net NIC is a vhost-user port of `kvmkit testpmd`,
# which forwards (io mode) to a tap port moved into a network namespace:
# the guest pings the namespace's kernel and exchanges TCP streams (iperf3)
# with it both ways through kvmkit's packet framework, with checksum and
# segmentation offloads carried from guest to tap and back (64 KiB frames,
# mergeable receive buffers).
# Usage: tests/e2e/pkt_guest_test.sh KVMKIT     (prints TAP; needs root)
set -u
. "$(dirname "$0")/../tap.sh"
KVMKIT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export KVMKIT_GUEST_DIR=${KVMKIT_GUEST_DIR:-$ROOT/build/guest}

if [ "$(id -u)" != 0 ] || ! ip netns add "kkg$$-probe" 2>/dev/null; then
    echo "1..0 # SKIP needs root and network namespaces"
    exit 0
fi
ip netns del "kkg$$-probe"
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmkit-pkt-guest.XXXXXX")
ns=kkg$$
pmd=
srv=
cleanup() {
    [ -n "$srv" ] && kill $srv 2>/dev/null
    [ -n "$pmd" ] && kill "$pmd" 2>/dev/null && wait "$pmd" 2>/dev/null
    ip netns del $ns 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

echo "1..12"
if ! "$HERE/guest/build.sh" >"$dir/build.log" 2>&1; then
    echo "not ok 1 - the test guest builds"
    sed 's/^/# /' "$dir/build.log" | tail -20
    exit 1
fi

cat >"$dir/guest.sh" <<'GUEST'
ip link set eth0 up
ip addr add 10.0.0.2/24 dev eth0
i=0
while [ $i -lt 30 ]; do
    ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1 && break
    i=$((i + 1))
done
ping -c 3 -i 0.2 10.0.0.1 | grep -q "3 packets received" && echo PING-THREE-OK
iperf3 -c 10.0.0.1 -p 5201 -t 2 >/tmp/iperf.log 2>&1 && echo IPERF-OK
tail -3 /tmp/iperf.log
iperf3 -c 10.0.0.1 -p 5202 -t 2 -R >/tmp/iperf-r.log 2>&1 && echo IPERF-R-OK
tail -3 /tmp/iperf-r.log
exit 0
GUEST

# with-offloads: the guest takes TSO and partial checksums both ways;
# no-guest-offloads: the guest takes neither, so the tap's 64 KiB frames are
# segmented and checksummed in software on their way to it.
for variant in with-offloads no-guest-offloads; do
    if [ $variant = with-offloads ]; then
        devopts=""
        towards="64 KiB frames into mergeable buffers"
    else
        devopts=",guest_tso4=off,guest_tso6=off,guest_csum=off,guest_ecn=off"
        towards="frames segmented in software for a guest without TSO"
    fi
    ip netns add $ns
    "$KVMKIT" testpmd -p "vhost-user:path=$dir/vhu.sock" -p "tap:name=kkg$$t" -f io -s 0 --json \
        >"$dir/pmd.json" 2>"$dir/pmd.log" &
    pmd=$!
    for _ in $(seq 100); do
        [ -S "$dir/vhu.sock" ] && ip link show kkg$$t >/dev/null 2>&1 && break
        sleep 0.05
    done
    ip link set kkg$$t netns $ns
    ip -n $ns addr add 10.0.0.1/24 dev kkg$$t
    ip -n $ns link set kkg$$t up
    ip -n $ns link set lo up
    ip netns exec $ns iperf3 -s -1 -p 5201 >"$dir/iperf-server.log" 2>&1 &
    srv=$!
    ip netns exec $ns iperf3 -s -1 -p 5202 >"$dir/iperf-server2.log" 2>&1 &
    srv="$srv $!"


    log="$dir/console-$variant.log"
    "$HERE/guest/run-guest.sh" --script "$dir/guest.sh" --timeout 240 --log "$log" --quiet -- \
        -chardev "socket,id=c0,path=$dir/vhu.sock" \
        -netdev "vhost-user,id=n0,chardev=c0" \
        -device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,vectors=0$devopts" \
        >"$dir/run.log" 2>&1
    grc=$?
    ok "$variant: the guest pings the namespace through kvmkit testpmd (vhost-user <-> tap)" \
        grep -q PING-THREE-OK "$log"
    ok "$variant: a TCP stream (iperf3) from the guest crosses it" \
        grep -q IPERF-OK "$log"
    ok "$variant: a TCP stream towards the guest crosses it ($towards)" \
        grep -q IPERF-R-OK "$log"
    ok "$variant: the guest script ended normally (status $grc)" [ "$grc" -eq 0 ]
    kill -TERM "$pmd"
    wait "$pmd"
    ok "$variant: kvmkit testpmd exits 0 on SIGTERM" [ $? -eq 0 ]
    pmd=
    rx=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ports"][0]["rx_packets"])' "$dir/pmd.json" 2>/dev/null)
    ok "$variant: testpmd counted the guest's frames (${rx:-none})" [ "${rx:-0}" -gt 100 ]
    if [ "$tap_failed" -gt 0 ]; then
        sed 's/^/# /' "$log" | tail -30
        sed 's/^/# pmd: /' "$dir/pmd.log" | tail -20
    fi
    ip netns del $ns 2>/dev/null
    kill $srv 2>/dev/null
    srv=
done
tap_exit
