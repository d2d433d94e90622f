#!/bin/bash
# kvmkit-switchd's OpenFlow agent against the real tools:
#  - Debian's ovs-ofctl, -O OpenFlow10 and -O OpenFlow13, over the bridge's
#    management socket (<dir>/<bridge>.mgmt): show, add-flow, add-flows,
#    dump-flows (same match and actions back), mod-flows, del-flows strict
#    and not, dump-ports (counters equal the frames sent), dump-port-desc,
#    dump-tables, groups, meters, packet-out (the frame is seen in a
#    namespace), and port-mod;
#  - malformed and refused messages get the specification's error type and
#    code (of_raw.py sends them raw);
#  - Debian's ovs-testcontroller (a MAC-learning controller) over tcp:
#    namespaces ping through the flows it installs; stopped, fail mode
#    standalone keeps traffic flowing and secure does not;
#  - tshark decodes a capture of an OpenFlow session without a warning;
#  - controllers, fail mode and protocols kept across a restart.
# Needs root; skipped otherwise.
# Usage: switch_openflow_test.sh KVMKIT KVMKIT_SWITCHD     (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
K=$1
D=$2
RAW="/usr/bin/python3 $(dirname "$0")/of_raw.py"

if [ "$(id -u)" != 0 ] || ! ip netns add "kkof$$-probe" 2>/dev/null; then
    echo "1..0 # SKIP needs root and network namespaces"
    exit 0
fi
ip netns del "kkof$$-probe"
for tool in ping tshark ovs-ofctl ovs-testcontroller; do
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
M=unix:$dir/br0.mgmt
p=ko$$
pid=""
ctl=""
nss=""
cleanup() {
    [ -n "$pid" ] && kill -9 $pid 2>/dev/null
    [ -n "$ctl" ] && kill -9 $ctl 2>/dev/null
    for n in $nss; do ip netns del $n 2>/dev/null; done
    for i in 1 2 3; do ip link del ${p}v$i 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT

. "$(dirname "$0")/../lib/switchd.sh"
NET=10.89.0
vsctl() { "$K" vsctl "$@"; }
of10() { timeout 20 ovs-ofctl -O OpenFlow10 "$@"; }
of13() { timeout 20 ovs-ofctl -O OpenFlow13 "$@"; }
pings() { ip netns exec ${p}n$1 ping -c ${3:-3} -i 0.2 -W 1 10.89.0.$2 >/dev/null 2>&1; }
no_ping() { ! ip netns exec ${p}n$1 ping -c 2 -i 0.2 -W 1 10.89.0.$2 >/dev/null 2>&1; }
# rx or tx packets of port $2 in `ovs-ofctl dump-ports` output $1
port_pkts() { sed -n "/port  *$2:/,/tx/p" <<<"$1" | grep -o "$3 pkts=[0-9]*" | head -1 | cut -d= -f2; }
# flows without counters, sorted, for comparisons
flows() { "$@" --no-stats dump-flows $M | grep -v "reply" | sed 's/^ *//' | sort; }
raw() { $RAW "$M" "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
# send $2 UDP frames from host $1 to host 2's MAC (scapy)
send_udp() {
    ip netns exec ${p}n$1 /usr/bin/python3 -c '
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp
f = Ether(src="02:00:00:00:00:0%s" % sys.argv[1], dst="02:00:00:00:00:02") / \
    IP(src="10.89.0.%s" % sys.argv[1], dst="10.89.0.2") / UDP(sport=4000, dport=4001) / Raw(b"x" * 60)
sendp(f, iface="eth0", count=int(sys.argv[2]), verbose=False)' "$1" "$2"
}

echo "1..49"

ok "the daemon starts" start
for i in 1 2 3; do host $i; done
vsctl add-br br0 && for i in 1 2 3; do vsctl add-port br0 ${p}v$i; done
ok "a bridge of three namespace ports, its management socket there" [ -S "$dir/br0.mgmt" ]

# ---- ovs-ofctl, both versions ----
out=$(of10 show $M)
ok "ovs-ofctl -O OpenFlow10 show lists the ports" grep -q "3(${p}v3)" <<<"$out"
out=$(of13 show $M)
ok "ovs-ofctl -O OpenFlow13 show lists the ports (features + port-desc)" \
    grep -q "2(${p}v2)" <<<"$out"
out=$(of13 dump-ports-desc $M)
ok "dump-ports-desc names the ports with their MACs" grep -q "1(${p}v1): addr:" <<<"$out"

of10 del-flows $M
cat >"$dir/flows10" <<FL
priority=100,in_port=1,dl_vlan=10,actions=strip_vlan,output:2
priority=90,ip,nw_src=10.0.0.0/8,actions=mod_nw_tos:16,output:3
priority=80,tcp,tp_dst=80,actions=mod_tp_dst:8080,mod_dl_dst:02:00:00:00:00:09,output:2
priority=70,arp,arp_op=1,actions=NORMAL
priority=60,in_port=2,dl_src=02:00:00:00:00:02,actions=mod_vlan_vid:7,output:1,output:3
FL
ok "ovs-ofctl -O OpenFlow10 add-flows loads five rules" of10 add-flows $M "$dir/flows10"
got=$(flows of10)
exp=$(of10 --no-stats dump-flows $M >/dev/null; sed 's/,actions=/ actions=/; s/^priority/priority/' "$dir/flows10" | sort)
ok "dump-flows gives back the same matches and actions (1.0)" [ "$(wc -l <<<"$got")" -eq 5 ]
ok "  e.g. the VLAN rule" grep -qx "priority=100,in_port=1,dl_vlan=10 actions=strip_vlan,output:2" <<<"$got"
ok "  and the TCP rewrite" grep -qx "priority=80,tcp,tp_dst=80 actions=mod_tp_dst:8080,mod_dl_dst:02:00:00:00:00:09,output:2" <<<"$got"
got13=$(flows of13)
ok "the same rules read with OpenFlow 1.3 (set_field forms)" \
    grep -qx "priority=90,ip,nw_src=10.0.0.0/8 actions=set_field:4->ip_dscp,output:3" <<<"$got13"

ok "mod-flows changes the actions of the rules it matches" of10 mod-flows $M "ip,actions=output:1"
got=$(flows of10)
ok "  (the ip rules output to 1 now)" [ "$(grep -c "actions=output:1$" <<<"$got")" -eq 2 ]
ok "del-flows --strict removes exactly one rule" of10 --strict del-flows $M "priority=70,arp,arp_op=1"
ok "  (four left)" [ "$(flows of10 | wc -l)" -eq 4 ]
of10 del-flows $M "ip"
ok "del-flows (not strict) removes every rule its match covers" [ "$(flows of10 | wc -l)" -eq 2 ]

of13 del-flows $M
cat >"$dir/flows13" <<FL
table=0,priority=100,in_port=1,udp,actions=write_metadata:0x5/0xff,goto_table:1
table=0,priority=10,actions=NORMAL
table=1,priority=100,metadata=0x5/0xff,udp,tp_dst=4001,actions=set_field:9->ip_dscp,output:2
table=1,priority=1,actions=drop
FL
ok "ovs-ofctl -O OpenFlow13 add-flows: two tables, metadata, goto_table" of13 add-flows $M "$dir/flows13"
got=$(flows of13)
ok "  dump-flows gives them back" grep -qx "table=1, priority=100,udp,metadata=0x5/0xff,tp_dst=4001 actions=set_field:9->ip_dscp,output:2" <<<"$got"
# host 2 answers the datagrams with ICMP: no ARP exchange through port 1 then
ip -n ${p}n2 neigh replace 10.89.0.1 lladdr 02:00:00:00:00:01 dev eth0 nud permanent
sleep 1
before=$(of10 dump-ports $M)
send_udp 1 25
sleep 1.5
after=$(of10 dump-ports $M)
rx=$(( $(port_pkts "$after" 1 rx) - $(port_pkts "$before" 1 rx) ))
tx=$(( $(port_pkts "$after" 2 tx) - $(port_pkts "$before" 2 tx) ))
ok "dump-ports: port 1 received the 25 frames sent ($rx)" [ "$rx" -eq 25 ]
ok "dump-ports: port 2 sent them on through table 1 ($tx)" [ "$tx" -eq 25 ]
out=$(of13 dump-flows $M "table=1,udp")
ok "the table-1 rule counted them" grep -q "n_packets=25," <<<"$out"
out=$(of13 dump-tables $M)
ok "dump-tables shows tables 0 and 1 with their rules" grep -q "active=2" <<<"$out"

ok "add-group (select, weighted)" of13 add-group $M "group_id=5,type=select,bucket=weight:3,actions=output:2,bucket=weight:1,actions=output:3"
ok "add-group (fast failover)" of13 add-group $M "group_id=6,type=ff,bucket=watch_port:2,actions=output:2,bucket=watch_port:3,actions=output:3"
out=$(of13 dump-groups $M)
ok "dump-groups gives both back" grep -q "group_id=6,type=ff,bucket=watch_port:2,actions=output:2,bucket=watch_port:3,actions=output:3" <<<"$out"
ok "add-meter (kbps, burst)" of13 add-meter $M "meter=3,kbps,burst,band=type=drop,rate=2000,burst_size=200"
out=$(of13 dump-meters $M)
ok "dump-meters gives it back" grep -q "type=drop rate=2000 burst_size=200" <<<"$out"
of13 add-flow $M "table=0,priority=200,in_port=3,actions=meter:3,group:6"
out=$(of13 dump-group-stats $M)
ok "group stats count the rule using group 6" grep -q "group_id=6,.*ref_count=1" <<<"$out"
of13 del-groups $M "group_id=6"
ok "deleting a group deletes the rules that use it" [ "$(of13 dump-flows $M in_port=3 | grep -c priority=200)" -eq 0 ]

# packet-out: a frame from the controller leaves port 3
ip netns exec ${p}n3 timeout 6 tshark -i eth0 -w "$dir/po.pcap" -q >/dev/null 2>&1 &
capt=$!
sleep 1.5
frame=02000000000302000000000988b5$(printf '6b%.0s' $(seq 50))
ok "packet-out (OpenFlow 1.3) is accepted" of13 packet-out $M "in_port=controller,packet=$frame,actions=output:3"
ok "packet-out (OpenFlow 1.0) is accepted" of10 packet-out $M "in_port=none packet=$frame actions=output:3"
wait $capt
n=$(tshark -r "$dir/po.pcap" -Y "eth.type == 0x88b5" 2>/dev/null | wc -l)
ok "both frames came out of port 3 ($n)" [ "$n" -eq 2 ]

# packet-in to a monitoring tool: packet-out through the tables to a controller rule
of13 add-flow $M "table=0,cookie=0x42,priority=900,ip,nw_proto=253,actions=controller"
(OVS_RUNDIR=$dir timeout 4 ovs-ofctl -O OpenFlow13 monitor $M 65534 >"$dir/mon.txt" 2>&1 &)
sleep 1
of13 packet-out $M "in_port=1,packet=0200000000020200000000010800450000140000000040fd00000a0000010a000002,actions=table"
sleep 3.5
ok "ovs-ofctl monitor gets the packet-in with the rule's cookie and reason action" \
    grep -q "OFPT_PACKET_IN (OF1.3).*cookie=0x42 total_len=34 in_port=1 (via action)" "$dir/mon.txt"
of13 del-flows $M "table=0,ip,nw_proto=253"
ok "port-mod no-flood is accepted (1.0)" of10 mod-port $M ${p}v3 no-flood
out=$(of10 show $M)
ok "  and shown in the port's config" grep -A1 "3(${p}v3)" <<<"$out" | grep -q NO_FLOOD

# ---- errors ----
ok "malformed 1.3 flow-mods get the specification's errors" \
    [ "$(raw 4 fm-table-all-add fm-bad-command fm-out-port-0 fm-goto-back fm-unknown-inst fm-short bad-type)" = "error 5 2 error 5 6 error 2 4 error 3 2 error 3 0 error 1 6 error 1 1" ]
ok "check_overlap, dscp_remark bands, slave role and stale generation are refused" \
    [ "$(raw 4 fm-overlap fm-overlap meter-dscp-band role-slave fm-ok role-master role-stale)" = "ok error 5 3 error 12 8 reply 25 error 1 10 reply 25 error 11 0" ]
ok "1.0: emergency flows, Nicira and unknown vendor messages get their errors" \
    [ "$(raw 1 fm10-emerg nicira10 vendor10)" = "error 3 5 error 1 4 error 1 3" ]
err=$(of13 add-flow $M "table=3,actions=goto_table:1" 2>&1)
ok "ovs-ofctl reports a refused flow-mod" grep -q "OFPBIC_BAD_TABLE_ID" <<<"$err"

# ---- tshark on a live session over TCP ----
vsctl set-controller br0 ptcp:16633:127.0.0.1
sleep 0.5
timeout 8 tshark -i lo -f "tcp port 16633" -w "$dir/of.pcap" -q >/dev/null 2>&1 &
capt=$!
sleep 1.5
of13 dump-flows tcp:127.0.0.1:16633 >/dev/null
of13 add-group tcp:127.0.0.1:16633 "group_id=9,type=all,bucket=output:1,bucket=output:2"
of13 dump-groups tcp:127.0.0.1:16633 >/dev/null
of13 dump-ports tcp:127.0.0.1:16633 >/dev/null
of10 dump-flows tcp:127.0.0.1:16633 >/dev/null
wait $capt
tshark -r "$dir/of.pcap" -d tcp.port==16633,openflow -V >"$dir/of.txt" 2>&1
ok "tshark decodes the OpenFlow session (both versions)" \
    bash -c 'grep -q "OFPT_MULTIPART_REPLY" "$1" && grep -q "OFPT_STATS_REPLY" "$1" && grep -q "OFPT_GROUP_MOD" "$1"' _ "$dir/of.txt"
ok "  without a malformed-packet warning" bash -c '! grep -qi "malformed" "$1"' _ "$dir/of.txt"

# ---- a real controller ----
of13 del-flows $M
vsctl set-controller br0 tcp:127.0.0.1:16653
vsctl set-fail-mode br0 standalone
OVS_RUNDIR=$dir ovs-testcontroller -O OpenFlow10,OpenFlow13 ptcp:16653:127.0.0.1 >"$dir/ctl.log" 2>&1 &
ctl=$!
up=0
for _ in $(seq 100); do
    "$K" vsctl list controller br0 | grep -q '"is_connected": true' && { up=1; break; }
    sleep 0.1
done
ok "kvmkit-switchd connects to ovs-testcontroller" [ $up -eq 1 ]
timeout 8 "$K" ofctl snoop br0 >"$dir/snoop.txt" 2>&1 &
snooper=$!
sleep 0.5
ok "namespaces ping each other through the controller's flows" pings 1 2 5
wait $snooper 2>/dev/null
ok "ofctl snoop shows the controller's exchange (packet-ins, flow-mods)" \
    bash -c 'grep -q OFPT_PACKET_IN "$1" && grep -q "OFPT_FLOW_MOD\|OFPT_PACKET_OUT" "$1"' _ "$dir/snoop.txt"
out=$(of13 dump-flows $M)
ok "  the controller installed flows" grep -q "priority=" <<<"$out"
kill $ctl; wait $ctl 2>/dev/null; ctl=""
sleep 0.5
of13 del-flows $M
ok "controller stopped, fail mode standalone: traffic still flows (fail-open)" pings 1 3
vsctl set-fail-mode br0 secure
ok "fail mode secure: it does not" no_ping 1 3

# ---- restart ----
vsctl set bridge br0 protocols=OpenFlow13
sleep 0.5
of13 add-flow $M "table=5,priority=5,ip,actions=drop"
stop     # within a second of the flow-mod: saved on the way out
start
out=$("$K" vsctl list controller br0)
ok "controller, fail mode and protocols are kept across a restart" \
    bash -c 'grep -q "tcp:127.0.0.1:16653" <<<"$1" && grep -q secure <<<"$1" && grep -q OpenFlow13 <<<"$1"' _ "$out"
ok "a rule added through OpenFlow just before SIGTERM is back" bash -c 'timeout 5 ovs-ofctl -O OpenFlow13 dump-flows "$1" table=5 | grep -q "priority=5,ip actions=drop"' _ "$M"
ok "protocols=OpenFlow13: a 1.0-only client is refused" bash -c '! timeout 5 ovs-ofctl -O OpenFlow10 show "$1" >/dev/null 2>&1' _ "$M"
ok "SIGTERM stops the daemon cleanly" stop
tap_exit
