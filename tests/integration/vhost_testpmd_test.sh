#!/bin/bash
# DPDK's testpmd, as a vhost-user frontend (virtio-user), drives
# kvmkit-responder: testpmd sends a burst and forwards whatever comes back,
# so every frame the responder reflects returns to testpmd and goes out
# again. Checks per variant (split/packed, 1 or 2 queue pairs) that frames
# flowed both ways, all were reflected, none was lost beyond the bursts in
# flight, and no queue fault was seen; then that the responder survives a
# frontend killed mid-traffic and serves the next one.
# Usage: vhost_testpmd_test.sh KVMKIT RESPONDER     (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
KVMKIT=$1
RESPONDER=$2
dir=$(mktemp -d)
rpid=
cleanup() {
    [ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
    pkill -f "file-prefix=kvmkit-t$$" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT


if ! command -v dpdk-testpmd >/dev/null; then
    echo "1..0 # SKIP dpdk-testpmd not installed (scripts/deps.sh installs dpdk-dev)"
    exit 0
fi


run_testpmd() { # run_testpmd NAME DEVARGS QUEUES SECONDS
    local name=$1 devargs=$2 q=$3 secs=$4
    # Start the traffic once testpmd is up (EAL start-up is slow on a busy
    # machine), so that every run forwards for SECONDS.
    (for _ in $(seq 300); do
         grep -q "Checking link statuses" "$dir/$name.log" 2>/dev/null && break
         sleep 0.05
     done
     echo "start tx_first"; sleep "$secs"; echo "stop"; sleep 1; echo "quit") |
        timeout 120 dpdk-testpmd --no-huge -m 512 --no-pci -l 0-1 --file-prefix="kvmkit-t$$-$name" \
            --vdev "net_virtio_user0,path=$dir/vhu.sock,$devargs" -- -i \
            --total-num-mbufs=16384 --rxq="$q" --txq="$q" >"$dir/$name.log" 2>&1
}

# The last "Accumulated forward statistics" block holds the port totals.
pmd_total() { # pmd_total LOG RX|TX
    grep -E "$2-packets:" "$1" | tail -1 | sed -E "s/.*$2-packets: *([0-9]+).*/\1/"
}

start_responder() { # start_responder QUEUES
    rm -f "$dir/vhu.sock" "$dir/rpc.sock"
    "$RESPONDER" --socket "$dir/vhu.sock" --rpc "$dir/rpc.sock" --queues "$1" \
        >>"$dir/responder.log" 2>&1 &
    rpid=$!
    for _ in $(seq 100); do [ -S "$dir/rpc.sock" ] && break; sleep 0.05; done
}

stop_responder() {
    kill -TERM "$rpid"
    wait "$rpid"
    local rc=$?
    rpid=
    return $rc
}

echo "1..28"
for variant in "split1:queues=1:1" "packed1:queues=1,packed_vq=1:1" "split2:queues=2:2" \
               "packed2:queues=2,packed_vq=1:2"; do
    IFS=: read -r name devargs q <<<"$variant"
    start_responder "$q"
    run_testpmd "$name" "$devargs" "$q" 2
    rx=$(pmd_total "$dir/$name.log" RX)
    tx=$(pmd_total "$dir/$name.log" TX)
    stats=$("$KVMKIT" rpc -s "$dir/rpc.sock" responder.stats)
    frames=$(stat_of "$stats" frames_in)
    reflected=$(stat_of "$stats" reflected)
    faults=$(stat_of "$stats" queue_faults)
    ok "$name: testpmd received frames back (rx=$rx)" [ "${rx:-0}" -gt 1000 ]
    ok "$name: responder saw every frame testpmd sent (tx=$tx frames=$frames)" \
        [ "${tx:-0}" -eq "$frames" ]
    ok "$name: every frame was reflected and at most the bursts in flight are missing" \
        bash -c "[ $reflected -eq $frames ] && [ \$(( $reflected - ${rx:-0} )) -le $((32 * q)) ]"
    ok "$name: no queue faults" [ "$faults" -eq 0 ]
    stop_responder
    ok "$name: the responder exits 0 on SIGTERM" [ $? -eq 0 ]
done

# A frontend killed mid-traffic: the responder notices and serves the next.
start_responder 1
(echo "start tx_first"; sleep 30) |
    dpdk-testpmd --no-huge -m 512 --no-pci -l 0-1 --file-prefix="kvmkit-t$$-kill" \
        --vdev "net_virtio_user0,path=$dir/vhu.sock" -- -i --total-num-mbufs=16384 \
        >"$dir/kill.log" 2>&1 &
for _ in $(seq 100); do
    stats=$("$KVMKIT" rpc -s "$dir/rpc.sock" responder.stats)
    [ "$(stat_of "$stats" frames_in)" -gt 1000 ] && break
    sleep 0.1
done
pkill -9 -f "file-prefix=kvmkit-t$$-kill"
sleep 0.5
stats=$("$KVMKIT" rpc -s "$dir/rpc.sock" responder.stats)
ok "killed frontend: the responder is still running and disconnected" \
    bash -c "kill -0 $rpid && [ $(stat_of "$stats" connected) = False ]"
run_testpmd again "queues=1" 1 1
rx=$(pmd_total "$dir/again.log" RX)
ok "the next frontend gets its frames back (rx=$rx)" [ "${rx:-0}" -gt 1000 ]
stats=$("$KVMKIT" rpc -s "$dir/rpc.sock" responder.stats)
ok "two connections were served" [ "$(stat_of "$stats" connections)" -ge 2 ]
info=$("$KVMKIT" rpc -s "$dir/rpc.sock" daemon.info)
busy=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1])["reactor"]; print(r["busy_turns"] if r["turns"] >= r["busy_turns"] > 0 and r["busy_tsc"] > 0 else 0)' "$info")
ok "daemon.info reports the reactor's work (busy turns $busy)" [ "${busy:-0}" -gt 0 ]
stop_responder
ok "the responder exits 0 on SIGTERM" [ $? -eq 0 ]
ok "the vhost-user socket file is removed" [ ! -e "$dir/vhu.sock" ]

# Client mode: testpmd listens (virtio-user server=1) and the responder
# connects to it. (testpmd 22.11 itself dies when a second backend connects
# after the first went away, so reconnection in client mode is tested
# against QEMU in tests/e2e/vhost_net_test.sh.)
mkfifo "$dir/cmd"
dpdk-testpmd --no-huge -m 512 --no-pci -l 0-1 --file-prefix="kvmkit-t$$-srv" \
    --vdev "net_virtio_user0,path=$dir/srv.sock,server=1" -- -i --total-num-mbufs=16384 \
    <"$dir/cmd" >"$dir/srv.log" 2>&1 &
exec 3>"$dir/cmd"
for _ in $(seq 200); do [ -S "$dir/srv.sock" ] && break; sleep 0.05; done
rm -f "$dir/rpc.sock"
"$RESPONDER" --socket "$dir/srv.sock" --client --rpc "$dir/rpc.sock" >>"$dir/responder.log" 2>&1 &
rpid=$!
for _ in $(seq 100); do
    [ -S "$dir/rpc.sock" ] &&
        [ "$(stat_of "$("$KVMKIT" rpc -s "$dir/rpc.sock" responder.stats)" connected)" = True ] &&
        break
    sleep 0.05
done
echo "start tx_first" >&3
reflected_enough() {
    for _ in $(seq 100); do
        stats=$("$KVMKIT" rpc -s "$dir/rpc.sock" responder.stats)
        [ "$(stat_of "$stats" reflected)" -gt 1000 ] && return 0
        sleep 0.1
    done
    return 1
}
ok "client mode: the responder connects to testpmd and reflects its frames" reflected_enough
stop_responder
ok "client mode: the responder exits 0 on SIGTERM" [ $? -eq 0 ]
echo "quit" >&3
exec 3>&-
wait
tap_exit
