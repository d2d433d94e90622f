# Private Open vSwitch instances for tests and benchmarks (source it; bash or
# dash: uses `local`).
#
# One instance lives wholly in one directory DIR: its database (conf.db),
# ovsdb-server's socket (db.sock), pidfiles, unixctl sockets
# (<daemon>.<pid>.ctl), logs, bridge management sockets (<bridge>.mgmt) and
# the sockets of dpdkvhostuser ports (<port name>). Nothing touches
# /var/run/openvswitch, so several instances (and the system's, were it
# running) coexist. Keep DIR short: Unix socket paths end at 107 bytes.
# The userspace datapath makes a tap device "ovs-netdev" and one per bridge
# (its internal port) in ovs-vswitchd's network namespace: two instances
# in one namespace clash ("creating tap device failed: Device or resource
# busy"). Run each instance that may meet another in its own namespace
# ($OVS_NETNS); its system ports (veths) must then be in that namespace.
#
#   ovs_env DIR            export OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR/OVS_SYSCONFDIR/
#                          OVS_PKGDATADIR so that ovs-vsctl, ovs-ofctl and
#                          ovs-appctl run afterwards talk to the instance in DIR
#   ovs_start DIR [KEY=VALUE...]
#                          create the database, start ovsdb-server, write each
#                          KEY=VALUE into Open_vSwitch other_config (before the
#                          switch starts, as dpdk-* keys must be), then start
#                          ovs-vswitchd: the DPDK build
#                          ($OVS_VSWITCHD_DPDK) when dpdk-init=true is among
#                          them, else the plain userspace build
#                          ($OVS_VSWITCHD). Bridges then need
#                          datapath_type=netdev (there is no kernel module).
#                          Calls ovs_env DIR. Returns non-zero (and prints the
#                          log's tail) on failure.
#                          $OVS_VSWITCHD_CPUS, when set, is a taskset CPU list
#                          for ovs-vswitchd's threads (PMD threads pin
#                          themselves per pmd-cpu-mask).
#                          $OVS_NETNS, when set, names an existing network
#                          namespace that ovs-vswitchd runs in.
#   ovs_stop DIR           stop ovs-vswitchd and ovsdb-server of DIR cleanly
#                          (exit --cleanup, then SIGTERM, then SIGKILL after
#                          a few seconds); leaves DIR and its logs in place
#   ovs_vsctl/ovs_ofctl/ovs_appctl DIR ARGS...
#                          run the tool against DIR's instance without
#                          changing the caller's environment
#
# bench/switch/switch.py uses these functions through `sh -c`, so the
# benchmark and the tests start Open vSwitch the same way.

OVS_SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
OVS_VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch/ovs-vswitchd}
OVS_VSWITCHD_DPDK=${OVS_VSWITCHD_DPDK:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}

ovs_env() {
    export OVS_RUNDIR="$1" OVS_DBDIR="$1" OVS_LOGDIR="$1" OVS_SYSCONFDIR="$1"
    export OVS_PKGDATADIR=/usr/share/openvswitch
}

ovs_vsctl() { (ovs_env "$1" && shift && ovs-vsctl --timeout=30 "$@"); }
ovs_ofctl() { (ovs_env "$1" && shift && ovs-ofctl "$@"); }
ovs_appctl() { (ovs_env "$1" && shift && ovs-appctl --timeout=30 "$@"); }

# Print the last lines of DIR's logs to stderr.
ovs__logs() {
    local f
    for f in "$1"/ovsdb-server.log "$1"/ovs-vswitchd.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 25 "$f" >&2; }
    done
    return 0
}

ovs_start() {
    local dir=$1 binary pin kv
    shift
    if [ ! -r "$OVS_SCHEMA" ]; then
        echo "ovs_start: $OVS_SCHEMA missing (scripts/deps.sh installs openvswitch-switch)" >&2
        return 1
    fi
    mkdir -p "$dir" || return 1
    ovs_env "$dir"
    rm -f "$dir/conf.db" "$dir/.conf.db.~lock~"
    ovsdb-tool create "$dir/conf.db" "$OVS_SCHEMA" || return 1
    if ! ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" \
            --pidfile="$dir/ovsdb-server.pid" --log-file="$dir/ovsdb-server.log" \
            --detach --no-chdir -vconsole:off; then
        ovs__logs "$dir"
        return 1
    fi
    ovs-vsctl --no-wait --timeout=30 init || { ovs__logs "$dir"; return 1; }
    binary=$OVS_VSWITCHD
    for kv in "$@"; do
        ovs-vsctl --no-wait --timeout=30 set Open_vSwitch . "other_config:$kv" ||
            { ovs__logs "$dir"; return 1; }
        [ "$kv" = dpdk-init=true ] && binary=$OVS_VSWITCHD_DPDK
    done
    if [ ! -x "$binary" ]; then
        echo "ovs_start: $binary missing (scripts/deps.sh installs it)" >&2
        ovs_stop "$dir"
        return 1
    fi
    pin=""
    [ -n "${OVS_NETNS:-}" ] && pin="ip netns exec $OVS_NETNS"
    [ -n "${OVS_VSWITCHD_CPUS:-}" ] && pin="$pin taskset -c $OVS_VSWITCHD_CPUS"
    # --detach returns once the switch has read its configuration (with
    # dpdk-init=true: once DPDK's EAL is up).
    if ! $pin "$binary" "unix:$dir/db.sock" --pidfile="$dir/ovs-vswitchd.pid" \
            --log-file="$dir/ovs-vswitchd.log" --detach --no-chdir -vconsole:off; then
        ovs__logs "$dir"
        ovs_stop "$dir"
        return 1
    fi
    # ovs-appctl finds a daemon through <name>.pid and <name>.<pid>.ctl; the
    # DPDK build names its socket after its program (ovs-vswitchd-dpdk).
    local pid
    pid=$(cat "$dir/ovs-vswitchd.pid")
    if [ ! -e "$dir/ovs-vswitchd.$pid.ctl" ] && [ -S "$dir/ovs-vswitchd-dpdk.$pid.ctl" ]; then
        ln -s "ovs-vswitchd-dpdk.$pid.ctl" "$dir/ovs-vswitchd.$pid.ctl"
    fi
    # The database must see the switch (it writes cur_cfg) before callers rely
    # on `ovs-vsctl` waiting for it.
    if ! ovs-vsctl --timeout=60 show >/dev/null; then
        ovs__logs "$dir"
        ovs_stop "$dir"
        return 1
    fi
    return 0
}

# True while process $1 runs (a zombie whose parent has not reaped it yet
# counts as ended).
ovs__alive() {
    kill -0 "$1" 2>/dev/null || return 1
    ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

# Wait up to $2 tenths of a second for the process in pidfile $1 to end.
ovs__wait_gone() {
    local pid n=0
    pid=$(cat "$1" 2>/dev/null) || return 0
    while [ -n "$pid" ] && ovs__alive "$pid"; do
        n=$((n + 1))
        [ $n -gt "$2" ] && return 1
        sleep 0.1
    done
    return 0
}

ovs_stop() {
    local dir=$1 d pidfile pid
    for d in ovs-vswitchd ovsdb-server; do
        pidfile="$dir/$d.pid"
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile" 2>/dev/null)
        [ -n "$pid" ] || continue
        if ovs__alive "$pid"; then
            if [ $d = ovs-vswitchd ]; then
                # --cleanup deletes datapaths and ports (DPDK: vhost sockets).
                ovs_appctl "$dir" -t "$dir/$d.$pid.ctl" exit --cleanup >/dev/null 2>&1
                rm -f "$dir/$d.$pid.ctl"
            else
                ovs_appctl "$dir" -t "$dir/$d.$pid.ctl" exit >/dev/null 2>&1
            fi
            if ! ovs__wait_gone "$pidfile" 100; then
                kill -TERM "$pid" 2>/dev/null
                ovs__wait_gone "$pidfile" 30 || kill -KILL "$pid" 2>/dev/null
            fi
        fi
        rm -f "$pidfile"
    done
    return 0
}
