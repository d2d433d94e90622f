#!/bin/bash
# The vhost-user port of lib/pkt, driven by DPDK: `kvmkit testpmd` serves a
# vhost-user port in mac mode (every frame goes back out with its addresses
# swapped); `dpdk-testpmd --vdev net_virtio_user0` is the frontend in io mode
# and starts the traffic with tx_first, so frames circulate between the two.
# Split and packed rings, 1 and 2 queue pairs, client mode, a frontend that goes away
# and a new one that connects to the same port.
# Usage: pkt_vhost_test.sh KVMKIT
set -u
KVMKIT=$1
. "$(dirname "$0")/../tap.sh"

if ! command -v dpdk-testpmd >/dev/null; then
    echo "1..0 # SKIP dpdk-testpmd not installed (scripts/deps.sh installs dpdk-dev)"
    exit 0
fi
dir=$(mktemp -d)
kpid=""
cleanup() {
    [ -n "$kpid" ] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

run_dpdk() { # run_dpdk NAME DEVARGS QUEUES SECONDS
    local name=$1 devargs=$2 q=$3 secs=$4
    # Start the traffic once testpmd is up (EAL start-up is slow on a busy
    # machine), so that every run forwards for SECONDS.
    (for _ in $(seq 300); do
         grep -q "Checking link statuses" "$dir/$name.log" 2>/dev/null && break
         sleep 0.05
     done
     echo "start tx_first"; sleep "$secs"; echo "stop"; sleep 1; echo "quit") |
        timeout 120 dpdk-testpmd --no-huge -m 512 --no-pci -l 0-1 \
            --file-prefix="kvmkit-pv$$-$name" \
            --vdev "net_virtio_user0,path=$dir/vhu.sock,$devargs" -- -i \
            --total-num-mbufs=16384 --rxq="$q" --txq="$q" >"$dir/$name.log" 2>&1
}
dpdk_total() { # dpdk_total LOG RX|TX
    grep -E "$2-packets:" "$1" | tail -1 | sed -E "s/.*$2-packets: *([0-9]+).*/\1/"
}
start_kvmkit() { # start_kvmkit QUEUES (mac mode, one worker per queue pair)
    rm -f "$dir/vhu.sock"
    local cores=0
    [ "$1" = 2 ] && cores=0,1
    "$KVMKIT" testpmd -p "vhost-user:path=$dir/vhu.sock,queues=$1" -f mac -c $cores -s 0 \
        --json >"$dir/kvmkit.json" 2>"$dir/kvmkit.log" &
    kpid=$!
    for _ in $(seq 100); do [ -S "$dir/vhu.sock" ] && break; sleep 0.05; done
}
stop_kvmkit() {
    kill -TERM "$kpid"
    wait "$kpid"
    local rc=$?
    kpid=""
    return $rc
}
kvmkit_stat() { # kvmkit_stat FIELD
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ports"][0][sys.argv[2]])' \
        "$dir/kvmkit.json" "$1" 2>/dev/null
}

echo "1..16"
for variant in "split1:queues=1:1" "packed1:queues=1,packed_vq=1:1" \
               "split2:queues=2:2"; do
    IFS=: read -r name devargs q <<<"$variant"
    start_kvmkit "$q"
    run_dpdk "$name" "$devargs" "$q" 2
    rx=$(dpdk_total "$dir/$name.log" RX)
    ok "$name: frames circulate through kvmkit's vhost-user port (dpdk rx=$rx)" \
        [ "${rx:-0}" -gt 10000 ]
    stop_kvmkit
    ok "$name: kvmkit testpmd exits 0 on SIGTERM" [ $? = 0 ]
    krx=$(kvmkit_stat rx_packets)
    ktx=$(kvmkit_stat tx_packets)
    errs=$(kvmkit_stat rx_errors)
    # What kvmkit received it sent back, less what was in flight at the end.
    ok "$name: kvmkit sent back what it received (rx=$krx tx=$ktx errors=$errs)" \
        bash -c "[ ${krx:-0} -gt 10000 ] && [ $((krx - ktx)) -le 1024 ] && [ ${errs:-1} = 0 ]"
    [ "$name" = split1 ] && ok "$name: dpdk counted no errors" \
        bash -c "! grep -E 'RX-errors: *[1-9]' '$dir/$name.log'"
    if [ "$q" = 2 ]; then
        perq=$(python3 -c 'import json,sys; print(*json.load(open(sys.argv[1]))["ports"][0]["rx_queue_packets"])' "$dir/kvmkit.json" 2>/dev/null)
        ok "$name: both queue pairs carried frames, each on its own worker ($perq)" \
            python3 -c 'import sys; v=[int(x) for x in sys.argv[1:]]; sys.exit(0 if len(v) == 2 and min(v) > 1000 else 1)' $perq
    fi
done

# Client mode: dpdk-testpmd's virtio-user listens (server=1) and kvmkit's
# port connects to it, retrying until the socket is there.
rm -f "$dir/vhu.sock"
"$KVMKIT" testpmd -p "vhost-user:path=$dir/vhu.sock,server=0" -f mac -c 0 -s 0 --json \
    >"$dir/kvmkit.json" 2>"$dir/kvmkit.log" &
kpid=$!
run_dpdk client "queues=1,server=1" 1 3
rx=$(dpdk_total "$dir/client.log" RX)
ok "client mode: kvmkit's port connects to a listening frontend (dpdk rx=$rx)" \
    [ "${rx:-0}" -gt 10000 ]
stop_kvmkit
ok "client mode: kvmkit testpmd exits 0 on SIGTERM" [ $? = 0 ]

# A frontend that leaves, and the next one on the same port.
start_kvmkit 1
run_dpdk first "queues=1" 1 3
run_dpdk second "queues=1" 1 3
rx1=$(dpdk_total "$dir/first.log" RX)
rx2=$(dpdk_total "$dir/second.log" RX)
ok "a second frontend is served after the first left (rx $rx1 then $rx2)" \
    bash -c "[ ${rx1:-0} -gt 1000 ] && [ ${rx2:-0} -gt 1000 ]"
ok "the port survived both (kvmkit still running)" kill -0 "$kpid"
stop_kvmkit
ok "kvmkit testpmd exits 0 after both" [ $? = 0 ]
tap_exit
