#!/bin/bash
# kvmkit-switchd alone (no namespaces, no root needed): options, every
# `kvmkit vsctl`/`ofctl`/`appctl` command and its refusals, ring and pcap
# ports (frames read from a capture are forwarded and counted), 10,000
# rules loaded with add-flows and dumped back, the configuration restored
# after SIGTERM and after SIGKILL. With root, a tap port too.
# Usage: switchd_test.sh KVMKIT KVMKIT_SWITCHD     (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
K=$1
D=$2
dir=$(mktemp -d)
sock=$dir/switchd.sock
conf=$dir/switchd.json
export KVMKIT_SWITCHD_SOCKET=$sock
pid=""
tapname=kksd$$
cleanup() {
    [ -n "$pid" ] && kill -9 $pid 2>/dev/null
    ip link del $tapname 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

. "$(dirname "$0")/../lib/switchd.sh"
vsctl() { "$K" vsctl "$@"; }
ofctl() { "$K" ofctl "$@"; }
appctl() { "$K" appctl "$@"; }
# refused RC OUTPUT WORD: the command failed with status 1 and named WORD
refused() { [ "$1" -eq 1 ] && grep -q -- "$3" <<<"$2"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

echo "1..99"

# ---- options ----
out=$("$D" --help)
ok "--help describes the options" grep -q -- "--pmd-cpus" <<<"$out"
has_methods() { grep -q bridge.add <<<"$out" && grep -q ofproto.trace <<<"$out"; }
ok "  ... and lists the RPC methods" has_methods
"$D" --bogus >/dev/null 2>&1
ok "an unknown option exits 2" [ $? -eq 2 ]
err=$("$D" --pmd-cpus x 2>&1)
ok "a bad --pmd-cpus exits 2, naming it" bash -c "[ $? -eq 2 ] && grep -q pmd-cpus <<<'$err'"
"$D" --idle-us -5 >/dev/null 2>&1
ok "a bad --idle-us exits 2" [ $? -eq 2 ]
err=$("$D" --pmd-auto-lb-improvement 101 2>&1)
ok "a bad --pmd-auto-lb-improvement exits 2, naming it" bash -c "[ $? -eq 2 ] && grep -q pmd-auto-lb-improvement <<<'$err'"
"$D" --log-level 'nonsense=' >/dev/null 2>&1
ok "a bad --log-level exits 2" [ $? -eq 2 ]
"$D" stray >/dev/null 2>&1
ok "a stray argument exits 2" [ $? -eq 2 ]
"$K" vsctl -s "$dir/none.sock" list-br >/dev/null 2>&1
ok "vsctl without a daemon exits 3" [ $? -eq 3 ]

ok "the daemon starts" start --idle-us 20 --pmd-auto-lb 1 --pmd-auto-lb-load 50

# ---- bridges ----
vsctl add-br br0
ok "add-br" [ $? -eq 0 ]
err=$(vsctl add-br br0 2>&1)
ok "a duplicate bridge is refused, saying so" refused $? "$err" exists
ok "--may-exist add-br is quiet" vsctl --may-exist add-br br0
vsctl add-br br9 && vsctl del-br br9
ok "list-br after add-br and del-br" [ "$(vsctl list-br)" = br0 ]
err=$(vsctl del-br nosuch 2>&1)
ok "del-br of an unknown bridge names it" refused $? "$err" nosuch
ok "--if-exists del-br is quiet" vsctl --if-exists del-br nosuch

# ---- ports ----
vsctl add-port br0 r1 type=ring options:peer=r2 && vsctl add-port br0 r2 type=ring &&
    vsctl add-port br0 r3 type=ring ofport_request=33 tag=10
ok "ring ports are added" [ $? -eq 0 ]
ok "list-ports" [ "$(vsctl list-ports br0 | tr '\n' ' ')" = "r1 r2 r3 " ]
err=$(vsctl add-port nosuch x type=ring 2>&1)
ok "an unknown bridge is named" refused $? "$err" nosuch
err=$(vsctl add-port br0 r1 type=ring 2>&1)
ok "a duplicate port is refused" refused $? "$err" exists
err=$(vsctl add-port br0 x type=vhost-user options:colour=blue 2>&1)
ok "a bad port option is named" refused $? "$err" colour
err=$(vsctl add-port br0 x type=warp 2>&1)
ok "an unknown type is named" refused $? "$err" warp
err=$(vsctl add-port br0 x type=ring flavour=mint 2>&1)
ok "an unknown setting is named" refused $? "$err" flavour
err=$(vsctl add-port br0 x type=ring tag=5000 2>&1)
ok "a bad VLAN is refused" refused $? "$err" tag
err=$(vsctl add-port br0 x type=vhost-user-client 2>&1)
ok "vhost-user-client without a path is refused" refused $? "$err" path
err=$(vsctl add-port br0 x type=ring ofport_request=33 2>&1)
ok "a taken ofport_request is refused" refused $? "$err" 33
vsctl add-port br0 vm1 type=vhost-user
ok "a vhost-user port listens on its default socket" [ -S "$dir/vm1.sock" ]
vsctl set port r1 tag=20 vlan_mode=native-untagged trunks=20,30
ok "set port tag/vlan_mode/trunks" [ $? -eq 0 ]
err=$(vsctl set port r1 options:peer=r3 2>&1)
ok "set port refuses changing options of a running port" refused $? "$err" options:peer
err=$(vsctl set port nosuch tag=1 2>&1)
ok "set port names an unknown port" refused $? "$err" nosuch
show=$(vsctl show)
ok "show lists ports with tag, trunks and type" bash -c "grep -q 'Port r1' <<<'$show' && grep -q 'tag: 20' <<<'$show' && grep -q 'trunks: \[20, 30\]' <<<'$show' && grep -q 'type: ring' <<<'$show'"
ofs=$(ofctl show br0)
ok "ofctl show lists OpenFlow numbers" grep -q "33(r3)" <<<"$ofs"

# ---- bonds ----
vsctl add-bond br0 bond0 b1 b2 type=ring bond_mode=balance-slb lacp=active other_config:lacp-time=fast
ok "add-bond (ring members, balance-slb, LACP active fast)" [ $? -eq 0 ]
err=$(vsctl add-bond br0 bond1 b1 b3 type=ring 2>&1)
ok "a bond member in use is refused" refused $? "$err" b1
err=$(vsctl add-bond br0 bond1 b3 b4 type=ring bond_mode=balance-tcp 2>&1)
ok "balance-tcp without LACP is refused" refused $? "$err" balance-tcp
bs=$(appctl bond/show bond0)
ok "bond/show gives the mode and member names" bash -c "grep -q balance-slb <<<'$bs' && grep -q 'member b1' <<<'$bs'"
ok "lacp/show shows the bond" bash -c "'$K' appctl lacp/show bond0 | grep -q bond0"
err=$(appctl bond/show r1 2>&1)
ok "bond/show of a plain port says so" refused $? "$err" "not a bond"
vsctl set port bond0 bond_mode=active-backup lacp=off
ok "set port changes bond settings" bash -c "'$K' appctl bond/show bond0 | grep -q active-backup"
err=$(vsctl del-port b1 2>&1)
ok "del-port of a bond member names the bond" refused $? "$err" bond0

# ---- mirrors ----
vsctl add-mirror br0 m0 select-src-port=r1 select-vlan=20 output-port=r2
ok "add-mirror" [ "$(vsctl list-mirrors br0)" = m0 ]
err=$(vsctl add-mirror br0 m1 select-src-port=nosuch output-port=r2 2>&1)
ok "a mirror of an unknown port names it" refused $? "$err" nosuch
vsctl add-mirror br0 m1 select-all output-port=r3 && vsctl del-mirror br0 m1
ok "del-mirror" [ "$(vsctl list-mirrors br0)" = m0 ]

# ---- OpenFlow rules ----
ofctl add-flow br0 "priority=200,in_port=r1,icmp,actions=drop"
ok "add-flow with in_port by name" [ $? -eq 0 ]
err=$(ofctl add-flow br0 "priority=1,nw_src=1.2.3.4,actions=drop" 2>&1)
ok "a bad flow is refused with the parser's message" refused $? "$err" nw_src
err=$(ofctl add-flow nosuch "actions=drop" 2>&1)
ok "add-flow to an unknown bridge names it" refused $? "$err" nosuch
ofctl mod-flows br0 "icmp,actions=output:r2" 2>/dev/null || ofctl mod-flows br0 "icmp,actions=output:2"
ok "mod-flows" bash -c "'$K' ofctl dump-flows br0 | grep priority=200 | grep -qi 'output'"
dump=$(ofctl dump-flows br0)
ok "dump-flows has counters and the default NORMAL rule" bash -c "grep -q 'n_packets=' <<<'$dump' && grep -qi 'actions=normal' <<<'$dump'"
seq 0 9999 | awk '{printf "priority=%d,ip,nw_dst=10.%d.%d.1,actions=drop\n", 1000 + $1 % 7, int($1/256), $1%256}' >"$dir/flows.txt"
echo "# a comment" >>"$dir/flows.txt"
t0=$(date +%s.%N)
ofctl add-flows br0 "$dir/flows.txt"
rc=$?
t1=$(date +%s.%N)
secs=$(python3 -c "print(round($t1-$t0,2))")
ok "add-flows loads 10,000 rules (${secs}s)" [ $rc -eq 0 ]
n=$(ofctl dump-flows br0 ip | grep -c "nw_dst=10\.")
ok "  ... and dump-flows gives them back ($n)" [ "$n" -eq 10000 ]
printf 'priority=5,ip,actions=drop\npriority=5,tp_dst=80,actions=drop\n' >"$dir/bad.txt"
err=$(ofctl add-flows br0 "$dir/bad.txt" 2>&1)
ok "add-flows refuses a file with a bad rule, naming it" refused $? "$err" "tp_dst"
ofctl del-flows br0 "ip,nw_dst=10.0.0.0/16"
n=$(ofctl dump-flows br0 ip | grep -c "nw_dst=10\.")
ok "del-flows with a match ($n left)" [ "$n" -eq 9744 ]

# ---- groups ----
ofctl add-group br0 "group_id=7,type=select,bucket=weight:30,actions=output:r1,bucket=output:r2"
ok "add-group" [ $? -eq 0 ]
g=$(ofctl dump-groups br0)
ok "dump-groups gives it back in ovs-ofctl's form: $g" grep -q "group_id=7,type=select,bucket=weight:30,actions=output:1,bucket=actions=output:2" <<<"$g"
err=$(ofctl add-group br0 "group_id=7,type=all,bucket=output:r1" 2>&1)
ok "add-group refuses an existing id" refused $? "$err" "OFPGMFC_GROUP_EXISTS"
err=$(ofctl add-group br0 "group_id=8,type=ff,bucket=output:r1" 2>&1)
ok "add-group refuses a fast-failover bucket that watches nothing" refused $? "$err" "OFPGMFC_BAD_WATCH"
ofctl add-flow br0 "priority=300,udp,tp_dst=4789,actions=group:7"
ok "a rule can use the group" bash -c "'$K' ofctl dump-flows br0 | grep -q 'actions=group:7'"
err=$(ofctl add-flow br0 "priority=300,udp,tp_dst=4790,actions=group:9" 2>&1)
ok "a rule cannot use a group that does not exist" refused $? "$err" "OFPBAC_BAD_OUT_GROUP"
ofctl mod-group br0 "group_id=7,type=all,bucket=output:r1"
ok "mod-group" bash -c "'$K' ofctl dump-groups br0 7 | grep -q 'group_id=7,type=all,bucket=actions=output:1'"
ok "dump-group-stats" bash -c "'$K' ofctl dump-group-stats br0 | grep -q 'group_id=7,duration=.*ref_count=1,packet_count=0'"
ofctl add-group br0 "group_id=9,type=indirect,bucket=output:r2"

# ---- appctl ----
ok "fdb/show answers" bash -c "'$K' appctl fdb/show br0 | grep -q MAC"
ok "fdb/flush" appctl fdb/flush br0
err=$(appctl fdb/show nosuch 2>&1)
ok "fdb/show of an unknown bridge names it" refused $? "$err" nosuch
pmd=$(appctl --json dpif-netdev/pmd-stats-show)
ok "pmd-stats-show --json has the counters" bash -c "python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert all(k in d[0] for k in (\"packets\",\"emc_hits\",\"mfc_hits\",\"upcalls\",\"busy_cycles\",\"cycles_per_packet\"))' '$pmd'"
ok "pmd-stats-show text" bash -c "'$K' appctl dpif-netdev/pmd-stats-show | grep -q 'megaflow hits'"
ok "pmd-stats-clear" appctl dpif-netdev/pmd-stats-clear
ok "pmd-rxq-show lists the ports" bash -c "'$K' appctl dpif-netdev/pmd-rxq-show | grep -q 'port: r1'"
ok "pmd-rxq-show gives each queue's load" bash -c "'$K' appctl dpif-netdev/pmd-rxq-show | grep -Eq 'port: r1 .*pmd usage: +[0-9]+ %'"
ok "pmd-rxq-rebalance" appctl dpif-netdev/pmd-rxq-rebalance
lb_checks() { "$K" rpc -s "$sock" pmd.auto_lb '{}' | field 'd["checks"]'; }
lb=$("$K" rpc -s "$sock" pmd.auto_lb '{}')
ok "pmd.auto_lb reports its settings" bash -c "python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d[\"enabled\"] and d[\"interval_s\"] == 1 and d[\"load_pct\"] == 50 and d[\"improvement_pct\"] == 25' '$lb'"
c0=$(lb_checks); sleep 2.5; c1=$(lb_checks)
ok "  ... and checks every second (one PMD: nothing to move)" bash -c "[ $c1 -ge $((c0 + 1)) ] && [ \$('$K' rpc -s '$sock' pmd.auto_lb '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"moves\"])') -eq 0 ]"
rxq=$(appctl --json dpif-netdev/pmd-rxq-show)
ok "after a rebalance every queue is polled, with its cycles" bash -c "python3 -c 'import json,sys; d=json.loads(sys.argv[1]); q=[x for p in d for x in p[\"rxqs\"]]; assert {x[\"port\"] for x in q} >= {\"r1\",\"r2\"} and all(\"cycles\" in x and 0 <= x[\"usage\"] <= 100 for x in q)' '$rxq'"
tr=$(appctl ofproto/trace br0 "in_port=r1,icmp,nw_src=10.0.0.1,nw_dst=10.0.0.2")
ok "ofproto/trace shows the rule that matched" grep -Eq "priority[= ]200" <<<"$tr"
err=$(appctl ofproto/trace br0 "in_port=r1,bogus=1" 2>&1)
ok "ofproto/trace of a bad flow names the field" refused $? "$err" bogus
"$K" appctl no/such >/dev/null 2>&1
ok "an unknown appctl command exits 2" [ $? -eq 2 ]

# ---- forwarding: frames from a capture to another capture ----
python3 - "$dir/in.pcap" <<'PY'
import struct, sys
frames = []
for i in range(20):
    eth = bytes.fromhex("ffffffffffff") + bytes.fromhex("020000000001") + b"\x08\x06"
    arp = bytes.fromhex("0001080006040001") + bytes.fromhex("020000000001") + bytes([10,0,0,1]) + b"\0"*6 + bytes([10,0,0,2])
    frames.append(eth + arp + b"\0" * 18)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for fr in frames:
        f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)
PY
# the output first: the input port forwards its capture as soon as it opens
vsctl add-br br1 && vsctl add-port br1 pout type=pcap options:tx="$dir/out.pcap" &&
    vsctl add-port br1 pin type=pcap options:rx="$dir/in.pcap"
ok "pcap ports are added" [ $? -eq 0 ]
for _ in $(seq 50); do
    n=$(appctl --json dpif/dump-flows br1 | field 'sum(f["packets"] for f in d["flows"])' 2>/dev/null)
    [ "${n:-0}" -ge 20 ] && break
    sleep 0.1
done
ok "the capture's 20 frames went through a megaflow (${n:-0})" [ "${n:-0}" -ge 19 ]
ok "dpif/dump-flows names the input port" bash -c "'$K' appctl dpif/dump-flows br1 | grep -q 'in_port=pin'"
fdb=$(appctl fdb/show br1)
ok "the sender's MAC is learned on its port" grep -Eq "pin .*02:00:00:00:00:01" <<<"$fdb"
vsctl del-port br1 pout
sz=$(stat -c %s "$dir/out.pcap" 2>/dev/null || echo 0)
ok "the frames were flooded to the other port ($sz bytes)" [ "$sz" -ge $((24 + 20 * 76)) ]
vsctl del-br br1

if [ "$(id -u)" = 0 ]; then
    vsctl add-port br0 $tapname type=tap
    has_link() { ip link show "$1" >/dev/null 2>&1; }
    ok "a tap port creates its interface" has_link $tapname
    vsctl del-port br0 $tapname
    # an interface missing at a restart: kept in the file, back when it is
    ip link add $tapname type veth peer name ${tapname}p && ip link set $tapname up &&
        vsctl add-br brd && vsctl add-port brd $tapname
    ok "a port on a veth interface" [ $? -eq 0 ]
    stop
    ip link del $tapname
    start
    ok "restarted without its interface: the port is not up" bash -c "! '$K' vsctl list-ports brd | grep -q $tapname"
    ok "  ... but stays in the configuration file" grep -q "\"$tapname\"" "$conf"
    stop
    ip link add $tapname type veth peer name ${tapname}p && ip link set $tapname up
    start
    ok "  ... and comes back with the interface" bash -c "'$K' vsctl list-ports brd | grep -q $tapname"
    vsctl del-br brd
    ip link del $tapname
else
    for i in 1 2 3 4 5; do
        echo "ok $((tap_n + 1)) # SKIP tap and veth interfaces need root"
        tap_n=$((tap_n + 1))
    done
fi

# ---- restart ----
before=$(vsctl show)
flows_before=$(ofctl dump-flows br0 | sed 's/duration=[^,]*, //; s/n_packets=[0-9]*, n_bytes=[0-9]*, //' | sort)
groups_before=$(ofctl dump-groups br0)
ok "the configuration file is valid JSON" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$conf"
ok "SIGTERM stops the daemon with status 0" stop
ok "it starts again" start
ok "  ... with the same bridges, ports, bonds and mirrors" [ "$(vsctl show)" = "$before" ]
flows_after=$(ofctl dump-flows br0 | sed 's/duration=[^,]*, //; s/n_packets=[0-9]*, n_bytes=[0-9]*, //' | sort)
ok "  ... and the same OpenFlow rules" [ "$flows_after" = "$flows_before" ]
ok "  ... and the same OpenFlow port numbers" bash -c "'$K' ofctl show br0 | grep -q '33(r3)'"
ok "  ... and the same groups" [ "$(ofctl dump-groups br0)" = "$groups_before" ]
ofctl del-groups br0 group_id=7
ok "del-groups deletes the group and the rule that used it" bash -c "! '$K' ofctl dump-flows br0 | grep -q 'group:7' && ! '$K' ofctl dump-groups br0 | grep -q group_id=7"
kill -9 $pid
wait $pid 2>/dev/null
pid=""
ok "after SIGKILL it starts again" start
ok "  ... with the same configuration" [ "$(vsctl show)" = "$before" ]

vsctl del-port br0 r3 && vsctl del-port r2
ok "del-port with and without the bridge" [ "$(vsctl list-ports br0 | tr '\n' ' ')" = "bond0 r1 vm1 " ]
ok "  ... and the mirror that output to r2 went with it" [ -z "$(vsctl list-mirrors br0)" ]
vsctl del-br br0
ok "del-br" [ -z "$(vsctl list-br)" ]
ok "kvmkit-switchd stops cleanly" stop
tap_exit
