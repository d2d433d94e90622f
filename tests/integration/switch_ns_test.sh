#!/bin/bash
# kvmkit-switchd between network namespaces, as an operator meets it:
#  - a bridge of afpacket ports on veth pairs, one namespace behind each:
#    ping and an iperf3 TCP stream cross it;
#  - MAC learning: after the first exchange a third port sees no more of
#    it (tshark capture), and fdb/show names the ports;
#  - VLANs: access ports in different VLANs cannot talk, a trunk port's
#    peer sees the access VLAN's frames tagged (tshark) and a frame it sends
#    tagged (scapy) reaches the access port of that VLAN untagged;
#  - a mirror port receives copies of a port's traffic;
#  - an active-backup bond whose members lead to a Linux bridge in another
#    namespace: traffic survives its active member going down;
#  - OpenFlow rules through `kvmkit ofctl` (drop, output) and megaflows
#    in dpif/dump-flows with statistics; ofproto/trace;
#  - configuration restored after SIGTERM and after SIGKILL.
# Needs root; skipped otherwise.
# Usage: switch_ns_test.sh KVMKIT KVMKIT_SWITCHD     (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
K=$1
D=$2

if [ "$(id -u)" != 0 ] || ! ip netns add "kksw$$-probe" 2>/dev/null; then
    echo "1..0 # SKIP needs root and network namespaces"
    exit 0
fi
ip netns del "kksw$$-probe"
for tool in ping iperf3 tshark; do
    if ! command -v $tool >/dev/null; then
        echo "1..0 # SKIP $tool not installed (scripts/deps.sh installs it)"
        exit 0
    fi
done
if ! /usr/bin/python3 -c "import scapy" 2>/dev/null; then
    echo "1..0 # SKIP python3-scapy not installed (scripts/deps.sh installs it)"
    exit 0
fi

dir=$(mktemp -d)
sock=$dir/switchd.sock
conf=$dir/switchd.json
export KVMKIT_SWITCHD_SOCKET=$sock
p=ks$$     # interface prefix (short: IFNAMSIZ)
pid=""
nss=""
cleanup() {
    [ -n "$pid" ] && kill -9 $pid 2>/dev/null
    for n in $nss; do ip netns del $n 2>/dev/null; done
    for i in 1 2 3 4 5 6 7; do ip link del ${p}v$i 2>/dev/null; done
    ip link del ${p}b1 2>/dev/null
    ip link del ${p}b2 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

. "$(dirname "$0")/../lib/switchd.sh"
NET=10.88.0
vsctl() { "$K" vsctl "$@"; }
appctl() { "$K" appctl "$@"; }
ofctl() { "$K" ofctl "$@"; }

pings() { ip netns exec ${p}n$1 ping -c ${3:-3} -i 0.2 -W 1 10.88.0.$2 >/dev/null 2>&1; }
no_ping() { ! ip netns exec ${p}n$1 ping -c 2 -i 0.2 -W 1 10.88.0.$2 >/dev/null 2>&1; }
# Capture on host $1's eth0 for $2 seconds into $3 (tshark, pcap).
capture() {
    ip netns exec ${p}n$1 timeout $2 tshark -i eth0 -w "$3" -q >/dev/null 2>&1 &
    cap=$!
    sleep 1.5
}
count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
refused() { [ "$1" -ne 0 ] && grep -q -- "$3" <<<"$2"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

echo "1..53"

out=$("$D" --help)
ok "--help describes the daemon" grep -q -- "--pmd-cpus" <<<"$out"
ok "the daemon starts and answers" start --pmd-cpus 1
for i in 1 2 3 4 5; do host $i; done

vsctl add-br br0 && for i in 1 2 3; do vsctl add-port br0 ${p}v$i; done
ok "a bridge with three afpacket ports is built" [ $? -eq 0 ]
err=$(vsctl add-br br0 2>&1)
ok "a duplicate bridge is refused, saying so" refused $? "$err" exists
err=$(vsctl add-port nosuch ${p}v4 2>&1)
ok "an unknown bridge is named" refused $? "$err" nosuch
err=$(vsctl add-port br0 x type=vhost-user options:colour=blue 2>&1)
ok "a bad port option is named" refused $? "$err" colour

ok "host 1 pings host 2 through the bridge" pings 1 2
ip netns exec ${p}n2 timeout 30 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
srv=$!
sleep 0.5
ip netns exec ${p}n1 timeout 20 iperf3 -c 10.88.0.2 -p 5201 -t 2 -J >"$dir/iperf.json" 2>&1
wait $srv 2>/dev/null
bytes=$(python3 -c 'import json,sys
try: print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))
except Exception: print(0)' "$dir/iperf.json")
ok "an iperf3 TCP stream crosses it ($bytes bytes)" [ "$bytes" -gt 1000000 ]
# port.list with stats: host 2's port sent at least what iperf3 received.
"$K" rpc -s "$sock" port.list '{"bridge": "br0", "stats": true}' >"$dir/ports.json" 2>&1
ok "port.list stats: host 2's port sent >= $bytes bytes; hosts 1 and 2's ports count both ways" \
    python3 -c "
import json, sys
ports = {p['name']: p['stats'] for p in json.load(open('$dir/ports.json'))}
p2 = ports['${p}v2']
sys.exit(0 if p2['tx_bytes'] >= $bytes and p2['tx_packets'] > 0 and
         all(ports['${p}v%d' % i]['rx_packets'] > 0 and ports['${p}v%d' % i]['tx_packets'] > 0
             for i in (1, 2)) else 1)"

# Learning: host 3 sees the first ARP broadcast but, once both MACs are
# learned, none of the unicast ICMP between hosts 1 and 2.
fdb=$(appctl fdb/show br0)
ok "fdb/show lists host 1's MAC on its port" grep -Eq "${p}v1 .*02:00:00:00:00:01|02:00:00:00:00:01.*${p}v1" <<<"$fdb"
capture 3 4 "$dir/learn.pcap"
pings 1 2 5
wait $cap
n=$(count "$dir/learn.pcap" icmp)
ok "after learning, the third port sees none of hosts 1-2's ICMP ($n frames)" [ "$n" -eq 0 ]
flows=$(appctl dpif/dump-flows br0)
ok "dpif/dump-flows shows megaflows with packet counts" grep -Eq "packets:[1-9]" <<<"$flows"
appctl fdb/flush br0 >/dev/null
ok "fdb/flush empties the table" bash -c "! '$K' appctl fdb/show br0 | grep -q 02:00:00:00:00:01"

# VLANs: 1 and 2 in VLAN 10, 3 in VLAN 20, 4 a trunk carrying 10 and 20.
vsctl set port ${p}v1 tag=10 && vsctl set port ${p}v2 tag=10 && vsctl set port ${p}v3 tag=20 &&
    vsctl add-port br0 ${p}v4 trunks=10,20
ok "access and trunk ports are configured" [ $? -eq 0 ]
ok "hosts in VLAN 10 talk" pings 1 2
ok "VLAN 10 cannot reach VLAN 20" no_ping 1 3
capture 4 4 "$dir/trunk.pcap"
ip netns exec ${p}n1 arping -c 2 -w 2 -I eth0 10.88.0.99 >/dev/null 2>&1 ||
    ip netns exec ${p}n1 ping -c 2 -W 1 10.88.0.99 >/dev/null 2>&1
wait $cap
n=$(count "$dir/trunk.pcap" "vlan.id == 10 && arp.src.proto_ipv4 == 10.88.0.1")
ok "the trunk's peer sees host 1's ARP tagged with VLAN 10 ($n)" [ "$n" -ge 1 ]
n=$(count "$dir/trunk.pcap" "vlan.id == 20")
ok "  ... and nothing of VLAN 20 ($n)" [ "$n" -eq 0 ]
capture 3 4 "$dir/untag.pcap"
ip netns exec ${p}n4 /usr/bin/python3 - <<'PY' >/dev/null 2>&1
from scapy.all import Ether, Dot1Q, IP, UDP, Raw, sendp
sendp(Ether(src="02:00:00:00:00:04", dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=20) /
      IP(src="10.88.0.4", dst="10.88.0.3") / UDP(sport=4000, dport=4001) / Raw(b"kvmkit-vlan20"),
      iface="eth0", count=3, verbose=False)
PY
wait $cap
n=$(count "$dir/untag.pcap" "udp.dstport == 4001 && !vlan")
ok "a frame tagged 20 on the trunk reaches VLAN 20's access port untagged ($n)" [ "$n" -ge 1 ]
capture 1 3 "$dir/iso.pcap"
wait $cap
n=$(count "$dir/iso.pcap" "udp.dstport == 4001")
ok "  ... and not VLAN 10's ($n)" [ "$n" -eq 0 ]

# Mirror: host 5 gets copies of what host 1 sends.
vsctl add-port br0 ${p}v5 tag=999 &&
    vsctl add-mirror br0 m0 select-src-port=${p}v1 output-port=${p}v5
ok "a mirror is added" [ $? -eq 0 ]
capture 5 4 "$dir/mirror.pcap"
pings 1 2 3
wait $cap
n=$(count "$dir/mirror.pcap" "icmp.type == 8 && ip.src == 10.88.0.1")
ok "the mirror port receives host 1's echo requests ($n)" [ "$n" -ge 3 ]
n=$(count "$dir/mirror.pcap" "icmp.type == 0")
ok "  ... but not the replies it did not select ($n)" [ "$n" -eq 0 ]
vsctl del-mirror br0 m0
ok "the mirror is removed" [ $? -eq 0 ]

# OpenFlow rules on the bridge's own flow interface.
ofctl add-flow br0 "priority=200,icmp,nw_src=10.88.0.1,actions=drop"
ok "a drop rule is added" [ $? -eq 0 ]
ok "  ... and ICMP from host 1 stops" no_ping 1 2
ok "  ... while TCP still works" ip netns exec ${p}n1 bash -c "timeout 3 bash -c '</dev/tcp/10.88.0.2/9' 2>&1 | grep -q refused"
dump=$(ofctl dump-flows br0)
ok "dump-flows shows the rule with its packet count" grep -Eq "n_packets=[1-9].*priority=200|priority=200.*n_packets=[1-9]" <<<"$(grep priority=200 <<<"$dump")"
tr=$(appctl ofproto/trace br0 "in_port=${p}v1,icmp,nw_src=10.88.0.1,nw_dst=10.88.0.2")
# ovs-appctl ofproto/trace writes a rule's priority as "priority 200"
ok "ofproto/trace shows the rule and the drop" bash -c "grep -Eq 'priority[= ]200' <<<'$tr' && grep -qi 'drop' <<<'$tr'"
ofctl del-flows br0 "icmp,nw_src=10.88.0.1"
ok "deleting it restores ICMP (megaflows revalidated)" pings 1 2

# Rule counters follow the datapath (megaflow statistics pushed to rules).
ofctl add-flow br0 "priority=150,udp,nw_src=10.88.0.1,tp_dst=7777,actions=NORMAL"
ip netns exec ${p}n1 /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(25):
    s.sendto(b'x' * 100, ('10.88.0.2', 7777))"
sleep 0.5
dump=$(ofctl dump-flows br0 | grep priority=150)
# 25 frames of 14 + 20 + 8 + 100 bytes
ok "rule counters equal the traffic sent (25 packets, 3550 bytes): $dump" grep -q "n_packets=25, n_bytes=3550," <<<"$dump"
ofctl add-flow br0 "priority=160,icmp,nw_src=10.88.0.1,idle_timeout=2,actions=NORMAL"
ok "a rule with idle_timeout=2 lives on while its traffic lasts (4 s of pings)" bash -c "
    ip netns exec ${p}n1 ping -c 20 -i 0.2 -W 1 10.88.0.2 >/dev/null 2>&1 &&
    '$K' ofctl dump-flows br0 | grep -q priority=160"
sleep 3.5
ok "  ... and expires once the traffic stops" bash -c "! '$K' ofctl dump-flows br0 | grep -q priority=160"

# An OpenFlow group of type all: host 1's UDP to host 2 is copied to host 3.
ofctl add-group br0 "group_id=1,type=all,bucket=output:${p}v2,bucket=output:${p}v3" &&
    ofctl add-flow br0 "priority=170,udp,nw_src=10.88.0.1,tp_dst=9999,actions=group:1"
ok "a group and a rule that uses it are added" [ $? -eq 0 ]
capture 3 4 "$dir/group.pcap"
ip netns exec ${p}n1 /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(10):
    s.sendto(b'y' * 50, ('10.88.0.2', 9999))"
wait $cap
n=$(count "$dir/group.pcap" "udp.dstport == 9999")
ok "host 3 gets the group's copies of host 1's datagrams ($n)" [ "$n" -eq 10 ]
st=$(ofctl dump-group-stats br0 1)
ok "  ... and the group counted them: $st" grep -q "packet_count=10,byte_count=920," <<<"$st"

# A meter: host 1's UDP to port 5202 limited to 5 Mbit/s (iperf3 offers 20).
ofctl add-meter br0 "meter=1,kbps,band=type=drop,rate=5000" &&
    ofctl add-flow br0 "priority=180,udp,nw_src=10.88.0.1,tp_dst=5202,actions=meter:1,NORMAL"
ok "a meter and a rule that uses it are added" [ $? -eq 0 ]
ip netns exec ${p}n2 timeout 30 iperf3 -s -1 -p 5202 >/dev/null 2>&1 &
srv=$!
sleep 0.5
ip netns exec ${p}n1 timeout 20 iperf3 -c 10.88.0.2 -p 5202 -u -b 20M -t 3 -J >"$dir/meter.json" 2>&1
wait $srv 2>/dev/null
rate=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print(int(s["bits_per_second"] * (1 - s["lost_percent"] / 100) / 1000))' "$dir/meter.json" 2>/dev/null)
ok "iperf3 gets through at the meter's rate (${rate:-?} kbit/s for 5000)" bash -c "[ '${rate:-0}' -ge 2500 ] && [ '${rate:-0}' -le 7500 ]"
st=$(ofctl meter-stats br0 1)
ok "  ... and the meter counted the drops: $st" grep -Eq "flow_count:1 .*0: packet_count:[1-9]" <<<"$(tr '\n' ' ' <<<"$st")"

# Active-backup bond: members b1, b2 lead to a Linux bridge in host 6.
n6=${p}n6
ip netns add $n6 && nss="$nss $n6"
ip link add ${p}b1 type veth peer name m1 netns $n6
ip link add ${p}b2 type veth peer name m2 netns $n6
ip -n $n6 link add lb type bridge
ip -n $n6 link set m1 master lb
ip -n $n6 link set m2 master lb
ip -n $n6 link set lb address 02:00:00:00:00:06
ip -n $n6 addr add 10.88.0.6/24 dev lb
for i in m1 m2 lb lo; do ip -n $n6 link set $i up; done
ip link set ${p}b1 up
ip link set ${p}b2 up
vsctl add-bond br0 bond0 ${p}b1 ${p}b2 bond_mode=active-backup tag=10
ok "an active-backup bond is added" [ $? -eq 0 ]
ok "host 1 pings host 6 over the bond" pings 1 6 3
bs=$(appctl bond/show bond0)
active=$(grep -o "active member: [a-z0-9]*" <<<"$bs" | awk '{print $3}')
ok "bond/show names the active member (${active:-none})" [ -n "$active" ]
ip link set "$active" down
sleep 1
ok "traffic survives the active member going down" pings 1 6 5
bs=$(appctl bond/show bond0)
ok "  ... and the other member is active now" bash -c "grep -q 'active member: ' <<<'$bs' && ! grep -q 'active member: $active' <<<'$bs'"
ip link set "$active" up

# Restart: configuration restored.
before=$(vsctl show)
ok "kvmkit-switchd exits 0 on SIGTERM" stop
ok "it starts again" start --pmd-cpus 1
after=$(vsctl show)
ok "bridges, ports, VLANs and the bond are restored" [ "$before" = "$after" ]
sleep 1
ok "hosts 1 and 2 talk again after the restart" pings 1 2
kill -9 $pid
wait $pid 2>/dev/null
pid=""
ok "after a SIGKILL it starts again" start --pmd-cpus 1
ok "  ... with the same configuration" [ "$(vsctl show)" = "$before" ]
ok "  ... and forwards" pings 1 2
vsctl del-br br0
ok "del-br removes the bridge" bash -c "! '$K' vsctl list-br | grep -q br0"
ok "kvmkit-switchd stops cleanly" stop
tap_exit
