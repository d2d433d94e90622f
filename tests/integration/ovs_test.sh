#!/bin/bash
# tests/lib/ovs.sh: private Open vSwitch instances (userspace datapath; this
# machine has no openvswitch kernel module).
#  - a netdev bridge with two veth ports, whose peers sit in two network
#    namespaces, forwards a ping both ways (NORMAL, then an explicit
#    in_port->output flow pair installed with ovs-ofctl add-flows);
#  - two instances side by side (the second in its own network namespace:
#    two userspace datapaths in one namespace clash on their tap devices),
#    each with a bond (bond_mode=balance-tcp, lacp=active) over two veths
#    joined to the other's: LACP negotiates and
#    `ovs-appctl lacp/show` and `bond/show` report it. (The second instance
#    stands where kvmkit-switchd will be the LACP peer.)
#  - stopping leaves no daemon behind.
# Needs root (namespaces, veths); skipped otherwise.
# Usage: ovs_test.sh
set -u
here=$(dirname "$0")
. "$here/../tap.sh"
. "$here/../lib/ovs.sh"

if [ "$(id -u)" != 0 ] || ! ip netns add "kkovs$$-probe" 2>/dev/null; then
    echo "1..0 # SKIP needs root and network namespaces"
    exit 0
fi
ip netns del "kkovs$$-probe"
for tool in ovsdb-tool ovsdb-server ovs-vsctl ovs-ofctl ovs-appctl ping; do
    if ! command -v $tool >/dev/null; then
        echo "1..0 # SKIP $tool not installed (scripts/deps.sh installs it)"
        exit 0
    fi
done

tmp=$(mktemp -d /tmp/kkovs.XXXXXX)
A=$tmp/a
B=$tmp/b
ns1=kko$$a
ns2=kko$$b
ns3=kko$$c
ns0=kko$$h
cleanup() {
    ovs_stop "$A"
    ovs_stop "$B"
    ip netns del $ns1 2>/dev/null
    ip netns del $ns2 2>/dev/null
    ip netns del $ns3 2>/dev/null
    ip netns del $ns0 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "1..12"

daemons_of() { cat "$1"/ovs-vswitchd.pid "$1"/ovsdb-server.pid 2>/dev/null; }

# Every instance runs in a namespace of its own, so the test meets no other
# userspace datapath (another test run's, say) on the host.
ip netns add $ns0 && ip -n $ns0 link set lo up
ok "private instance starts (ovsdb-server + userspace ovs-vswitchd in $A)" \
    env OVS_NETNS=$ns0 bash -c ". '$here/../lib/ovs.sh' && ovs_start '$A'"
ok "the instance's files stay in its directory" \
    test -S "$A/db.sock" -a -f "$A/ovs-vswitchd.pid" -a ! -e /var/run/openvswitch/db.sock.kko$$

# Each veth: the kko$$vN end on the bridge (namespace ns0), the other end in
# namespace N.
setup() {
    ip netns add $ns1 && ip netns add $ns2 || return 1
    local n ns
    for n in 1 2; do
        ns=$ns1
        [ $n = 2 ] && ns=$ns2
        ip link add kko$$v$n netns $ns0 type veth peer name eth0 netns $ns &&
            ip -n $ns0 link set kko$$v$n up &&
            ip -n $ns addr add 10.78.0.$n/24 dev eth0 &&
            ip -n $ns link set eth0 up &&
            ip -n $ns link set lo up || return 1
    done
}
ping_both() {
    ip netns exec $ns1 ping -c 3 -i 0.2 -W 2 10.78.0.2 >/dev/null &&
        ip netns exec $ns2 ping -c 3 -i 0.2 -W 2 10.78.0.1 >/dev/null
}
ok "two namespaces behind the veths" setup
# (Bridge names become tap devices; unique names keep logs readable.)
ok "netdev bridge with the two veth ports" ovs_vsctl "$A" \
    add-br kko$$br -- set bridge kko$$br datapath_type=netdev \
    -- add-port kko$$br kko$$v1 -- add-port kko$$br kko$$v2
ok "ping crosses the bridge both ways (NORMAL)" ping_both

explicit_flows() {
    local p1 p2
    p1=$(ovs_vsctl "$A" get Interface kko$$v1 ofport) &&
        p2=$(ovs_vsctl "$A" get Interface kko$$v2 ofport) &&
        ovs_ofctl "$A" del-flows kko$$br &&
        printf 'in_port=%s,actions=output:%s\nin_port=%s,actions=output:%s\n' \
            "$p1" "$p2" "$p2" "$p1" >"$tmp/flows" &&
        ovs_ofctl "$A" add-flows kko$$br "$tmp/flows" &&
        [ "$(ovs_ofctl "$A" dump-flows kko$$br --no-stats | grep -c 'actions=output')" = 2 ]
}
ok "explicit in_port->output flows installed with ovs-ofctl add-flows" explicit_flows
ok "ping crosses the bridge with the explicit flows" ping_both

# Bonds: instance A's bond over kko$$a1/kko$$a2, instance B's (namespace
# ns3) over their peers.
bonds() {
    ip netns add $ns3 && ip -n $ns3 link set lo up || return 1
    OVS_NETNS=$ns3 ovs_start "$B" || return 1
    ip link add kko$$a1 netns $ns0 type veth peer name kko$$b1 netns $ns3 &&
        ip link add kko$$a2 netns $ns0 type veth peer name kko$$b2 netns $ns3 || return 1
    ip -n $ns0 link set kko$$a1 up && ip -n $ns0 link set kko$$a2 up &&
        ip -n $ns3 link set kko$$b1 up && ip -n $ns3 link set kko$$b2 up || return 1
    ovs_vsctl "$A" add-br kko$$ba -- set bridge kko$$ba datapath_type=netdev \
        -- add-bond kko$$ba bond0 kko$$a1 kko$$a2 bond_mode=balance-tcp lacp=active \
        other_config:lacp-time=fast &&
        ovs_vsctl "$B" add-br kko$$bb -- set bridge kko$$bb datapath_type=netdev \
            -- add-bond kko$$bb bond0 kko$$b1 kko$$b2 bond_mode=balance-tcp lacp=active \
            other_config:lacp-time=fast
}
ok "second instance; balance-tcp bonds with lacp=active on both" bonds

# LACP with fast timers negotiates within a few seconds.
negotiated() {
    local i
    for i in $(seq 1 100); do
        if ovs_appctl "$A" lacp/show bond0 2>/dev/null | grep -q 'status: active negotiated' &&
            ovs_appctl "$B" lacp/show bond0 2>/dev/null | grep -q 'status: active negotiated'; then
            return 0
        fi
        sleep 0.2
    done
    ovs_appctl "$A" lacp/show bond0 >&2
    return 1
}
ok "lacp/show: both bonds active negotiated" negotiated
both_members_current() {
    [ "$(ovs_appctl "$A" lacp/show bond0 | grep -cE '^ *member: .*current attached')" = 2 ]
}
ok "lacp/show: both members current and attached" both_members_current
ok "bond/show: balance-tcp, lacp_status negotiated" bash -c \
    ". '$here/../lib/ovs.sh'; s=\$(ovs_appctl '$A' bond/show bond0) &&
     echo \"\$s\" | grep -q 'bond_mode: balance-tcp' &&
     echo \"\$s\" | grep -q 'lacp_status: negotiated'"

stopped() {
    local pids p
    pids=$(daemons_of "$A"; daemons_of "$B")
    ovs_stop "$A"
    ovs_stop "$B"
    for p in $pids; do ovs__alive "$p" && return 1; done
    [ -n "$pids" ]
}
ok "ovs_stop ends both instances' daemons" stopped
tap_exit
