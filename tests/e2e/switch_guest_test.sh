#!/bin/bash
# Two QEMU guests (TCG) on vhost-user ports of a kvmkit-switchd bridge, with
# a network namespace on an afpacket port of the same bridge:
#  - the guests ping each other and the namespace through the bridge
#    (NORMAL: learning switch), and a TCP stream crosses from one guest to
#    the other;
#  - kvmkit-switchd is stopped (SIGTERM) under the running guests and
#    started again: it restores the bridge and its ports from its
#    configuration file, QEMU reconnects, and the guests ping again.
# Usage: tests/e2e/switch_guest_test.sh KVMKIT KVMKIT_SWITCHD  (TAP; needs root)
set -u
. "$(dirname "$0")/../tap.sh"
K=$1
D=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export KVMKIT_GUEST_DIR=${KVMKIT_GUEST_DIR:-$ROOT/build/guest}

if [ "$(id -u)" != 0 ] || ! ip netns add "kkswg$$-probe" 2>/dev/null; then
    echo "1..0 # SKIP needs root and network namespaces"
    exit 0
fi
ip netns del "kkswg$$-probe"
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmkit-switch-guest.XXXXXX")
export KVMKIT_SWITCHD_SOCKET=$dir/switchd.sock
ns=kkswg$$
veth=kswg$$
pid=
g1=
g2=
cleanup() {
    for g in $g1 $g2; do kill $g 2>/dev/null; done
    [ -n "$pid" ] && kill -9 $pid 2>/dev/null
    ip netns del $ns 2>/dev/null
    ip link del $veth 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

start() {
    "$D" --rpc "$dir/switchd.sock" --config "$dir/switchd.json" >>"$dir/switchd.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
        "$K" vsctl list-br >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

echo "1..16"
if ! "$HERE/guest/build.sh" >"$dir/build.log" 2>&1; then
    echo "not ok 1 - the test guest builds"
    sed 's/^/# /' "$dir/build.log" | tail -20
    exit 1
fi

ok "kvmkit-switchd starts" start
"$K" vsctl add-br br0 &&
    "$K" vsctl add-port br0 vm1 type=vhost-user options:path="$dir/vm1.sock" &&
    "$K" vsctl add-port br0 vm2 type=vhost-user options:path="$dir/vm2.sock" &&
    ip netns add $ns &&
    ip link add $veth type veth peer name eth0 netns $ns &&
    ip link set $veth up &&
    ip -n $ns addr add 10.0.0.1/24 dev eth0 &&
    ip -n $ns link set eth0 up &&
    "$K" vsctl add-port br0 $veth
ok "a bridge with two vhost-user ports and a namespace's veth is built" [ $? -eq 0 ]
ip netns exec $ns iperf3 -s -1 -p 5201 >/dev/null 2>&1 &

# Guest N has 10.0.0.(N+1); its peer is the other guest.
for n in 1 2; do
    me=$((n + 1))
    peer=$((n == 1 ? 3 : 2))
    cat >"$dir/guest$n.sh" <<GUEST
ip link set eth0 up
ip addr add 10.0.0.$me/24 dev eth0
up() {
    i=0
    while [ \$i -lt \$2 ]; do
        ping -c 1 -W 1 \$1 >/dev/null 2>&1 && return 0
        i=\$((i + 1))
    done
    return 1
}
up 10.0.0.$peer 120 && echo PEER-OK
ping -c 3 -i 0.2 10.0.0.$peer | grep -q "3 packets received" && echo PEER-THREE-OK
# Large frames cross the switch with their payloads lent (one copy, guest
# to guest); the receiver checks each ICMP checksum, so a damaged payload
# is a lost ping. 3000 bytes go as two IPv4 fragments.
ping -c 3 -i 0.2 -s 1400 10.0.0.$peer | grep -q "3 packets received" && echo BIG-PING-OK
ping -c 3 -i 0.2 -s 3000 10.0.0.$peer | grep -q "3 packets received" && echo FRAG-PING-OK
up 10.0.0.1 10 && echo NS-OK
if [ $n = 1 ]; then
    iperf3 -c 10.0.0.1 -p 5201 -t 2 >/tmp/iperf.log 2>&1 && echo IPERF-OK
fi
echo PHASE-ONE-DONE
# The host restarts the switch now: wait until a ping fails, then until
# pings work again.
i=0
while [ \$i -lt 90 ] && ping -c 1 -W 1 10.0.0.$peer >/dev/null 2>&1; do
    i=\$((i + 1))
    sleep 0.5
done
echo OUTAGE-SEEN
up 10.0.0.$peer 150 && echo PEER-AFTER-OK
# Stay up a little: the peer may still be waiting for our answers.
sleep 8
exit 0
GUEST
done

for n in 1 2; do
    "$HERE/guest/run-guest.sh" --script "$dir/guest$n.sh" --timeout 420 --log "$dir/c$n.log" \
        --quiet -- \
        -chardev "socket,id=c0,path=$dir/vm$n.sock,reconnect=1" \
        -netdev "vhost-user,id=n0,chardev=c0" \
        -device "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:0$n,vectors=0" \
        >"$dir/run$n.log" 2>&1 &
    eval g$n=$!
done

# Restart the switch once both guests finished phase one.
restarted=no
for _ in $(seq 3000); do
    if grep -q PHASE-ONE-DONE "$dir/c1.log" 2>/dev/null &&
        grep -q PHASE-ONE-DONE "$dir/c2.log" 2>/dev/null; then
        before=$("$K" vsctl show)
        kill -TERM $pid
        wait $pid
        stop_rc=$?
        sleep 3
        start && restarted=yes
        after=$("$K" vsctl show)
        break
    fi
    kill -0 $g1 2>/dev/null || kill -0 $g2 2>/dev/null || break
    sleep 0.1
done
wait $g1
rc1=$?
wait $g2
rc2=$?
g1=
g2=
ok "guest 1 pings guest 2 through the bridge" grep -q PEER-THREE-OK "$dir/c1.log"
ok "guest 2 pings guest 1" grep -q PEER-THREE-OK "$dir/c2.log"
ok "1400-byte pings cross intact both ways" \
    bash -c "grep -q BIG-PING-OK '$dir/c1.log' && grep -q BIG-PING-OK '$dir/c2.log'"
ok "3000-byte pings (two fragments each) cross intact both ways" \
    bash -c "grep -q FRAG-PING-OK '$dir/c1.log' && grep -q FRAG-PING-OK '$dir/c2.log'"
ok "both guests reach the namespace on the afpacket port" \
    bash -c "grep -q NS-OK '$dir/c1.log' && grep -q NS-OK '$dir/c2.log'"
ok "a TCP stream from guest 1 crosses the bridge" grep -q IPERF-OK "$dir/c1.log"
ok "kvmkit-switchd exits 0 on SIGTERM under running guests" [ "${stop_rc:-1}" = 0 ]
ok "it starts again" [ $restarted = yes ]
ok "  ... with the same bridge and ports" [ "${before:-x}" = "${after:-y}" ]
ok "the guests noticed the outage" \
    bash -c "grep -q OUTAGE-SEEN '$dir/c1.log' && grep -q OUTAGE-SEEN '$dir/c2.log'"
ok "after the restart QEMU reconnects and guest 1 pings guest 2 again" \
    grep -q PEER-AFTER-OK "$dir/c1.log"
ok "  ... and guest 2 pings guest 1" grep -q PEER-AFTER-OK "$dir/c2.log"
ok "both guest scripts ended normally ($rc1, $rc2)" [ "$rc1$rc2" = 00 ]
kill -TERM $pid
wait $pid
ok "kvmkit-switchd stops cleanly" [ $? -eq 0 ]
pid=
if [ "$tap_failed" -gt 0 ]; then
    for n in 1 2; do sed "s/^/# c$n: /" "$dir/c$n.log" | tail -25; done
    sed 's/^/# switchd: /' "$dir/switchd.log" | tail -30
fi
tap_exit
