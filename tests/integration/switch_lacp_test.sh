#!/bin/bash
# kvmkit-switchd's LACP against a real peer: Open vSwitch's userspace
# datapath (tests/lib/ovs.sh, in a network namespace of its own) with a
# balance-tcp bond, lacp=active, fast timers, over two veth pairs whose
# other ends form kvmkit-switchd's bond (balance-tcp, lacp=active, fast).
# A namespace hangs off each switch; they ping across the aggregated link.
#  - LACP negotiates: both sides report it and both members are enabled;
#  - traffic crosses the bond;
#  - one link goes down: that member leaves the aggregation on both sides
#    and traffic moves to the remaining member;
#  - the link comes back: the member rejoins.
# Needs root; skipped otherwise.
# Usage: switch_lacp_test.sh KVMKIT KVMKIT_SWITCHD     (prints TAP)
set -u
here=$(dirname "$0")
. "$here/../tap.sh"
. "$here/../lib/ovs.sh"
K=$1
D=$2

if [ "$(id -u)" != 0 ] || ! ip netns add "kkla$$-probe" 2>/dev/null; then
    echo "1..0 # SKIP needs root and network namespaces"
    exit 0
fi
ip netns del "kkla$$-probe"
for tool in ovsdb-tool ovsdb-server ovs-vsctl ovs-appctl ping; do
    if ! command -v $tool >/dev/null; then
        echo "1..0 # SKIP $tool not installed (scripts/deps.sh installs it)"
        exit 0
    fi
done

tmp=$(mktemp -d /tmp/kkla.XXXXXX)
O=$tmp/ovs
nso=kkla$$o   # Open vSwitch's namespace
nsa=kkla$$a   # host behind kvmkit-switchd
nsb=kkla$$b   # host behind Open vSwitch
p=kl$$
export KVMKIT_SWITCHD_SOCKET=$tmp/switchd.sock
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 $pid 2>/dev/null
    ovs_stop "$O" 2>/dev/null
    for n in $nso $nsa $nsb; do ip netns del $n 2>/dev/null; done
    for i in k1 k2 ha; do ip link del $p$i 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "1..13"

# Links: kvmkit side ${p}k1/${p}k2 (root namespace) <-> OVS side o1/o2 ($nso);
# host A's eth0 <-> ${p}ha on kvmkit's bridge; host B's eth0 <-> ob in $nso.
setup() {
    for n in $nso $nsa $nsb; do ip netns add $n && ip -n $n link set lo up || return 1; done
    ip link add ${p}k1 type veth peer name o1 netns $nso &&
        ip link add ${p}k2 type veth peer name o2 netns $nso &&
        ip link add ${p}ha type veth peer name eth0 netns $nsa &&
        ip -n $nso link add ob type veth peer name eth0 netns $nsb || return 1
    for i in k1 k2 ha; do ip link set $p$i up || return 1; done
    for i in o1 o2 ob; do ip -n $nso link set $i up || return 1; done
    ip -n $nsa addr add 10.89.0.1/24 dev eth0 && ip -n $nsa link set eth0 up &&
        ip -n $nsb addr add 10.89.0.2/24 dev eth0 && ip -n $nsb link set eth0 up
}
ok "namespaces and veth links are set up" setup

ok "Open vSwitch (userspace datapath) starts in its namespace" \
    env OVS_NETNS=$nso bash -c ". '$here/../lib/ovs.sh' && ovs_start '$O'"
ovs_vsctl "$O" add-br obr -- set bridge obr datapath_type=netdev \
    -- add-bond obr bond0 o1 o2 bond_mode=balance-tcp lacp=active other_config:lacp-time=fast \
    -- add-port obr ob >/dev/null
ok "Open vSwitch's bond (balance-tcp, lacp=active, fast) is configured" [ $? -eq 0 ]

"$D" --rpc "$KVMKIT_SWITCHD_SOCKET" --config "$tmp/switchd.json" >"$tmp/switchd.log" 2>&1 &
pid=$!
for _ in $(seq 200); do "$K" vsctl list-br >/dev/null 2>&1 && break; sleep 0.05; done
"$K" vsctl add-br br0 &&
    "$K" vsctl add-bond br0 bond0 ${p}k1 ${p}k2 bond_mode=balance-tcp lacp=active \
        other_config:lacp-time=fast &&
    "$K" vsctl add-port br0 ${p}ha
ok "kvmkit-switchd's bond (balance-tcp, lacp=active, fast) is configured" [ $? -eq 0 ]

# Wait (up to 20 s) for a condition.
until_ok() {
    local i
    for i in $(seq 100); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}
ovs_negotiated() { ovs_appctl "$O" lacp/show bond0 2>/dev/null | grep -q 'negotiated'; }
kk_negotiated() { "$K" appctl lacp/show bond0 2>/dev/null | grep -q 'negotiated'; }
ok "Open vSwitch reports LACP negotiated with kvmkit-switchd" until_ok ovs_negotiated
ok "kvmkit-switchd reports LACP negotiated with Open vSwitch" until_ok kk_negotiated
ok "both members are enabled on Open vSwitch's side" \
    until_ok bash -c ". '$here/../lib/ovs.sh'; ovs_appctl '$O' bond/show bond0 | grep -c 'enabled' | grep -qx 2"
pings() { ip netns exec $nsa ping -c ${1:-3} -i 0.2 -W 2 10.89.0.2 >/dev/null 2>&1; }
ok "host A pings host B across the aggregated link" until_ok pings 1
ok "  ... steadily" pings 5

ip link set ${p}k1 down
ok "after link 1 goes down, Open vSwitch disables its member" \
    until_ok bash -c ". '$here/../lib/ovs.sh'; ovs_appctl '$O' bond/show bond0 | grep -q 'member o1: disabled'"
ok "  ... and traffic moves to the remaining member" until_ok pings 3
kk=$("$K" appctl lacp/show bond0 2>/dev/null)
ip link set ${p}k1 up
ok "after link 1 comes back, both members are enabled again" \
    until_ok bash -c ". '$here/../lib/ovs.sh'; ovs_appctl '$O' bond/show bond0 | grep -c ': enabled' | grep -qx 2"
kill -TERM $pid
wait $pid
ok "kvmkit-switchd exits 0 on SIGTERM" [ $? -eq 0 ]
pid=
if [ "$tap_failed" -gt 0 ]; then
    echo "# kvmkit lacp/show while link 1 was down:"
    sed 's/^/#   /' <<<"$kk"
    ovs_appctl "$O" lacp/show 2>&1 | sed 's/^/# ovs: /'
    ovs_appctl "$O" bond/show 2>&1 | sed 's/^/# ovs: /'
    tail -30 "$tmp/switchd.log" | sed 's/^/# switchd: /'
fi
tap_exit
