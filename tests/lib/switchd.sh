# Shared helpers of the kvmkit-switchd shell tests (source it; bash).
# The test sets first: K (kvmkit), D (kvmkit-switchd), dir (scratch directory),
# sock (control socket), conf (configuration file); for host(), also p (interface
# prefix, short: IFNAMSIZ), NET (the first three octets, e.g. 10.88.0) and nss
# (namespaces made so far, for its cleanup).
#
#   start [OPTIONS...]  start kvmkit-switchd (log in $dir/switchd.log), $pid; wait
#                       until it answers (10 s)
#   stop                SIGTERM it and return its exit status
#   host N              namespace ${p}nN behind veth ${p}vN <-> eth0 with $NET.N/24 and
#                       MAC 02:00:00:00:00:0N, no IPv6 (no chatter in captures)

start() {
    "$D" --rpc "$sock" --config "$conf" "$@" >>"$dir/switchd.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
        "$K" vsctl list-br >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

stop() {
    kill -TERM $pid
    wait $pid
    local rc=$?
    pid=""
    return $rc
}

host() {
    local n=${p}n$1
    ip netns add $n && nss="$nss $n"
    ip link add ${p}v$1 type veth peer name eth0 netns $n
    ip -n $n link set eth0 address 02:00:00:00:00:0$1
    ip -n $n addr add $NET.$1/24 dev eth0
    ip -n $n link set eth0 up
    ip -n $n link set lo up
    ip link set ${p}v$1 up
    ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec $n sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    sysctl -qw net.ipv6.conf.${p}v$1.disable_ipv6=1
}
