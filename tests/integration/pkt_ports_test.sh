#!/bin/bash
# lib/pkt ports through `kvmkit testpmd` in io mode, against the real kernel:
#  - afpacket, afxdp: two network namespaces, each behind a veth pair,
#    joined by testpmd on the host ends: ping and an iperf3 TCP transfer
#    cross it;
#  - tap: the same with the namespaces' interfaces being testpmd's taps;
#  - pcap: frames tshark captured come out byte-identical; malformed
#    captures are refused or counted.
# Needs root (namespaces, veth, taps); skipped otherwise.
# Usage: pkt_ports_test.sh KVMKIT
set -u
KVMKIT=$1
. "$(dirname "$0")/../tap.sh"

if [ "$(id -u)" != 0 ] || ! ip netns add "kkpkt$$-probe" 2>/dev/null; then
    echo "1..0 # SKIP needs root and network namespaces"
    exit 0
fi
ip netns del "kkpkt$$-probe"
for tool in ping iperf3 tshark ethtool; do
    if ! command -v $tool >/dev/null; then
        echo "1..0 # SKIP $tool not installed (scripts/deps.sh installs it)"
        exit 0
    fi
done

dir=$(mktemp -d)
ns1=kkp$$a
ns2=kkp$$b
pmd=""
cleanup() {
    [ -n "$pmd" ] && kill "$pmd" 2>/dev/null && wait "$pmd" 2>/dev/null
    ip netns del $ns1 2>/dev/null
    ip netns del $ns2 2>/dev/null
    ip link del kkp$$v1 2>/dev/null
    ip link del kkp$$v2 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

echo "1..21"

# Namespace $1 gets interface $2 with address 10.77.0.$3/24.
setup_ns_if() {
    ip link set "$2" netns "$1" &&
        ip -n "$1" addr add "10.77.0.$3/24" dev "$2" &&
        ip -n "$1" link set "$2" up &&
        ip -n "$1" link set lo up
}

# ping and a 2-second iperf3 TCP transfer from ns1 to ns2. Prints the
# bytes received.
cross_traffic() {
    ping_ok=0
    ip netns exec $ns1 ping -c 3 -i 0.2 -W 2 10.77.0.2 >"$dir/ping.log" 2>&1 && ping_ok=1
    ip netns exec $ns2 timeout 30 iperf3 -s -1 -p 5201 >"$dir/iperf-s.log" 2>&1 &
    local srv=$!
    sleep 0.5
    ip netns exec $ns1 timeout 20 iperf3 -c 10.77.0.2 -p 5201 -t 2 -J >"$dir/iperf.json" 2>&1
    wait $srv 2>/dev/null
    tcp_bytes=$(python3 -c 'import json,sys
try:
    print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))
except Exception:
    print(0)' "$dir/iperf.json")
}

start_pmd() {
    "$KVMKIT" testpmd "$@" -s 0 >"$dir/pmd.log" 2>&1 &
    pmd=$!
}

stop_pmd() {
    kill -TERM "$pmd"
    wait "$pmd"
    local rc=$?
    pmd=""
    return $rc
}

# ---- afpacket and afxdp over veth pairs ----------------------------------------
for kind in afpacket afxdp; do
    ip netns add $ns1
    ip netns add $ns2
    ip link add kkp$$v1 type veth peer name eth1
    ip link add kkp$$v2 type veth peer name eth2
    setup_ns_if $ns1 eth1 1
    setup_ns_if $ns2 eth2 2
    ip link set kkp$$v1 up
    ip link set kkp$$v2 up
    # afpacket takes the kernel's offloads (virtio-net header on the socket):
    # the namespaces keep theirs, and TCP's 64 KiB frames are segmented in
    # software on the way out. AF_XDP frames carry no such header: there the
    # namespaces' side neither segments late nor leaves checksums undone.
    if [ $kind = afxdp ]; then
        ip netns exec $ns1 ethtool -K eth1 tso off gso off tx off >/dev/null 2>&1
        ip netns exec $ns2 ethtool -K eth2 tso off gso off tx off >/dev/null 2>&1
    fi

    start_pmd -p "$kind:iface=kkp$$v1" -p "$kind:iface=kkp$$v2" -f io
    sleep 0.5
    cross_traffic
    ok "$kind: ping crosses testpmd" [ $ping_ok = 1 ]
    ok "$kind: an iperf3 TCP transfer crosses testpmd ($tcp_bytes bytes$([ $kind = afpacket ] && echo ', offloads on'))" \
        [ "$tcp_bytes" -gt 1000000 ]
    stop_pmd
    ok "$kind: testpmd exits 0 on SIGTERM" [ $? = 0 ]
    fwd=$(grep -o "port 0 $kind:iface=kkp$$v1: rx [0-9]* packets [0-9]*" "$dir/pmd.log" |
        grep -o '[0-9]*$')
    ok "$kind: testpmd's totals count what crossed (port 0 rx ${fwd:-none} bytes)" \
        [ "${fwd:-0}" -gt 1000000 ]
    ip netns del $ns1
    ip netns del $ns2
    ip link del kkp$$v1 2>/dev/null
    ip link del kkp$$v2 2>/dev/null
done
# An interface (queue) already in use is not taken over.
ip link add kkp$$v1 type veth peer name kkp$$v1p
"$KVMKIT" testpmd -p "afxdp:iface=kkp$$v1" -t 30 -s 0 >"$dir/xdp1.log" 2>&1 &
first=$!
sleep 1
"$KVMKIT" testpmd -p "afxdp:iface=kkp$$v1" -t 1 -s 0 >"$dir/xdp2.log" 2>&1
rc=$?
ok "afxdp: a second user of the same interface is refused, saying why" \
    bash -c "[ $rc = 1 ] && grep -Eq 'busy|another XDP program' '$dir/xdp2.log'"
kill -TERM $first
wait $first
ok "afxdp: the first one is unharmed and exits 0" [ $? = 0 ]
ip link del kkp$$v1 2>/dev/null

# ---- taps moved into the namespaces -------------------------------------------
ip netns add $ns1
ip netns add $ns2
start_pmd -p "tap:name=kkp$$t1" -p "tap:name=kkp$$t2" -f io
for _ in $(seq 50); do
    ip link show kkp$$t2 >/dev/null 2>&1 && break
    sleep 0.1
done
# A tap keeps working for the process that holds it after it moves.
setup_ns_if $ns1 kkp$$t1 1
setup_ns_if $ns2 kkp$$t2 2
cross_traffic
ok "tap: ping crosses testpmd" [ $ping_ok = 1 ]
ok "tap: an iperf3 TCP transfer crosses testpmd with offloads ($tcp_bytes bytes)" \
    [ "$tcp_bytes" -gt 1000000 ]
stop_pmd
ok "tap: testpmd exits 0 on SIGTERM" [ $? = 0 ]
ip netns del $ns1
ip netns del $ns2

# ---- a tap (offloads on) and an afpacket port: TSO frames from the tap's
# namespace are segmented, and their checksums finished, in software.
ip netns add $ns1
ip netns add $ns2
ip link add kkp$$v2 type veth peer name eth2
setup_ns_if $ns2 eth2 2
ip link set kkp$$v2 up
start_pmd -p "tap:name=kkp$$t1" -p "afpacket:iface=kkp$$v2" -f io
for _ in $(seq 50); do
    ip link show kkp$$t1 >/dev/null 2>&1 && break
    sleep 0.1
done
setup_ns_if $ns1 kkp$$t1 1
cross_traffic
ok "tap -> afpacket: ping crosses testpmd" [ $ping_ok = 1 ]
ok "tap -> afpacket: TCP from the tap's side (64 KiB frames segmented in software, $tcp_bytes bytes)" \
    [ "$tcp_bytes" -gt 1000000 ]
stop_pmd
ok "tap -> afpacket: testpmd exits 0 on SIGTERM" [ $? = 0 ]
ip netns del $ns1
ip netns del $ns2
ip link del kkp$$v2 2>/dev/null

# ---- pcap ----------------------------------------------------------------------
# tshark captures some traffic in a namespace; testpmd copies it from one
# capture to another; the frames must be the same bytes in the same order.
ip netns add $ns1
ip link add kkp$$v1 type veth peer name eth1
setup_ns_if $ns1 eth1 1
ip link set kkp$$v1 up
ip addr add 10.77.0.9/24 dev kkp$$v1
ip netns exec $ns1 tshark -q -i eth1 -c 12 -F pcap -w "$dir/in.pcap" >/dev/null 2>&1 &
tsh=$!
sleep 1.5
ip netns exec $ns1 ping -c 6 -i 0.2 -s 300 10.77.0.9 >/dev/null 2>&1
wait $tsh
"$KVMKIT" testpmd -p "pcap:rx=$dir/in.pcap,tx=$dir/out.pcap" -t 1 -s 0 >"$dir/pmd.log" 2>&1
ok "pcap: testpmd copies a capture" [ $? = 0 ]
cmp_frames() {
    python3 - "$1" "$2" <<'EOF'
import struct, sys
def frames(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return out
a, b = frames(sys.argv[1]), frames(sys.argv[2])
print("%d frames in, %d out" % (len(a), len(b)), file=sys.stderr)
sys.exit(0 if len(a) >= 12 and a == b else 1)
EOF
}
ok "pcap: every frame comes out byte-identical, in order" cmp_frames "$dir/in.pcap" "$dir/out.pcap"
head -c 24 /dev/urandom >"$dir/bad.pcap"
"$KVMKIT" testpmd -p "pcap:rx=$dir/bad.pcap" -t 1 -s 0 >"$dir/bad.log" 2>&1
rc=$?
ok "pcap: a file that is no capture is refused with a clear error" \
    bash -c "[ $rc = 1 ] && grep -q 'pcap: $dir/bad.pcap' '$dir/bad.log'"
# A capture cut in the middle of a frame: what came before is delivered.
size=$(stat -c %s "$dir/in.pcap")
head -c $((size - 20)) "$dir/in.pcap" >"$dir/cut.pcap"
"$KVMKIT" testpmd -p "pcap:rx=$dir/cut.pcap,tx=$dir/cut-out.pcap" -t 1 -s 0 --json \
    >"$dir/cut.json" 2>"$dir/cut.log"
rc=$?
frames_cut=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ports"][0]["tx_packets"])' "$dir/cut.json" 2>/dev/null)
ok "pcap: a truncated capture delivers the frames before the cut ($frames_cut)" \
    bash -c "[ $rc = 0 ] && [ '${frames_cut:-0}' -ge 11 ]"
"$KVMKIT" testpmd -p "pcap:rx=/nonexistent/x.pcap" -t 1 -s 0 >"$dir/none.log" 2>&1
ok "pcap: a missing file is refused" bash -c "[ $? = 1 ] && grep -q 'No such file' '$dir/none.log'"

tap_exit
