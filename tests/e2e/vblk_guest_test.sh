#!/bin/bash
# A QEMU guest (TCG) whose disk is a vhost-user-blk device served by
# kvmkit-blkd: `-device vhost-user-blk-pci,chardev=c0,num-queues=2`.
#
#   malloc  2 vCPUs (so Linux uses both queues): geometry, serial (GET_ID),
#           write cache, discard reads back as zeroes, fio randwrite with
#           verify=crc32c from two jobs, a resize the guest sees at once
#   file    a raw file opened with O_DIRECT: fio randwrite + verify
#   qcow2   a qcow2 image: fio randwrite + verify
#   client  QEMU listens (server=on) and the export connects to it
#   restart (split and packed rings) a raw file behind an error bdev that holds each request 3 ms
#           (so the target always has some in flight): kvmkit-blkd is killed
#           (SIGKILL) while fio writes and started again from its --config;
#           QEMU reconnects, the new target resubmits the requests the first
#           one had taken (inflight area), fio finishes and its verify passes
#
# MSI-X works for vhost-user-blk-pci under TCG (unlike the vhost-user NIC's
# vectors=0 quirk in vhost_net_test.sh), so the device is used as is.
# Usage: tests/e2e/vblk_guest_test.sh KVMKIT KVMKIT_BLKD     (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
KVMKIT=$1
BLKD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export KVMKIT_GUEST_DIR=${KVMKIT_GUEST_DIR:-$ROOT/build/guest}
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmkit-vblk-guest.XXXXXX")
bpid=
gpid=
cleanup() {
    [ -n "$gpid" ] && kill "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null
    [ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

rpc() { "$KVMKIT" rpc -s "$dir/rpc.sock" "$@"; }

start_blkd() {
    rm -f "$dir/rpc.sock"
    "$BLKD" --rpc "$dir/rpc.sock" --config "$dir/blkd.json" --workers 2 \
        >>"$dir/blkd.log" 2>&1 &
    bpid=$!
    for _ in $(seq 100); do
        [ -S "$dir/rpc.sock" ] && break
        sleep 0.05
    done
}

# Create bdev d0 of TYPE with PARAMS (and, with DELAY_US, bdev d1 stacked
# on it that holds every request that long) and export it on vblk.sock.
export_disk() { # TYPE PARAMS_JSON [DELAY_US [CLIENT]]
    local b=d0
    rpc bdev_create "{\"name\":\"d0\",\"type\":\"$1\",\"params\":$2}" >/dev/null || return 1
    if [ -n "${3:-}" ]; then
        b=d1
        rpc bdev_create "{\"name\":\"d1\",\"type\":\"error\",\"params\":{\"base\":\"d0\",\"delay_us\":$3}}" >/dev/null || return 1
    fi
    rpc export_add "{\"id\":\"v0\",\"type\":\"vhost-user-blk\",\"bdev\":\"$b\",\"socket\":\"$dir/vblk.sock\",\"num_queues\":2,\"client\":${4:-false}}" >/dev/null
}

unexport_disk() {
    rpc export_remove '{"id":"v0"}' >/dev/null
    rpc bdev_delete '{"name":"d1"}' >/dev/null 2>&1
    rpc bdev_delete '{"name":"d0"}' >/dev/null
}

# Sum of a counter over the export's queues.
queue_sum() { # KEY
    rpc export_list 2>/dev/null | python3 -c '
import json, sys
def walk(x, k):
    if isinstance(x, dict):
        return sum(walk(v, k) for v in x.values()) + (x[k] if isinstance(x.get(k), int) else 0)
    if isinstance(x, list):
        return sum(walk(v, k) for v in x)
    return 0
print(walk(json.load(sys.stdin), sys.argv[1]))' "$1"
}

run_guest() { # NAME SCRIPT [SMP]
    KVMKIT_GUEST_SMP=${3:-1} "$HERE/guest/run-guest.sh" --script "$2" --timeout 300 \
        --log "$dir/$1-console.log" --quiet -- \
        -chardev "socket,id=c0,path=$dir/vblk.sock,${CHARDEV:-reconnect=1}" \
        -device "vhost-user-blk-pci,chardev=c0,${DEVOPTS:-num-queues=2}" \
        >"$dir/$1-run.log" 2>&1 &
    gpid=$!
}

wait_guest() { # -> $grc
    wait "$gpid"
    grc=$?
    gpid=
}

seen() { grep -q "$1" "$dir/$2-console.log"; }

show_logs() { # NAME
    if [ "$tap_failed" -gt 0 ]; then
        grep -v '^\[' "$dir/$1-console.log" | tail -25 | sed 's/^/# guest: /'
        tail -15 "$dir/blkd.log" | sed 's/^/# blkd: /'
    fi
}

FIO="fio --name=v --filename=/dev/vda --ioengine=libaio --direct=1 --bs=4k --iodepth=16 \
--rw=randwrite --verify=crc32c --do_verify=1 --verify_fatal=1"

echo "1..32"
if ! "$HERE/guest/build.sh" >"$dir/build.log" 2>&1; then
    echo "not ok 1 - the test guest builds"
    sed 's/^/# /' "$dir/build.log" | tail -20
    exit 1
fi
start_blkd

# ---- malloc, two queues ----
cat >"$dir/malloc.sh" <<GUEST
echo "SIZE=\$(cat /sys/block/vda/size)"
echo "LBS=\$(cat /sys/block/vda/queue/logical_block_size)"
echo "SERIAL=\$(cat /sys/block/vda/serial)"
echo "QUEUES=\$(ls /sys/block/vda/mq | wc -l)"
echo "CACHE=\$(cat /sys/block/vda/queue/write_cache)"
dd if=/dev/urandom of=/dev/vda bs=65536 count=16 oflag=direct 2>/dev/null
blkdiscard -o 0 -l 1048576 /dev/vda && echo DISCARD-DONE
[ "\$(dd if=/dev/vda bs=65536 count=16 iflag=direct 2>/dev/null | tr -d '\\000' | wc -c)" = 0 ] && echo DISCARD-ZEROES
$FIO --size=32M --numjobs=2 --offset_increment=32M --group_reporting >/tmp/fio.log 2>&1 && echo FIO-OK
grep -E "err=|verify|IOPS" /tmp/fio.log
echo RESIZE-NOW
i=0
while [ \$i -lt 100 ] && [ "\$(cat /sys/block/vda/size)" = 524288 ]; do sleep 0.1; i=\$((i + 1)); done
echo "RESIZED=\$(cat /sys/block/vda/size)"
exit 0
GUEST
export_disk malloc '{"size":"256M"}'
run_guest malloc "$dir/malloc.sh" 2
resized=no
for _ in $(seq 3000); do
    if grep -q RESIZE-NOW "$dir/malloc-console.log" 2>/dev/null; then
        rpc bdev_resize '{"name":"d0","size":"384M"}' >/dev/null && resized=yes
        break
    fi
    kill -0 "$gpid" 2>/dev/null || break
    sleep 0.1
done
wait_guest
ok "malloc: the guest sees 256 MiB in 512-byte blocks" \
    bash -c "grep -q SIZE=524288 '$dir/malloc-console.log' && grep -q LBS=512 '$dir/malloc-console.log'"
ok "malloc: GET_ID gives the bdev name as serial" grep -q "SERIAL=d0" "$dir/malloc-console.log"
ok "malloc: the guest drives both queues (2 vCPUs)" grep -q "QUEUES=2" "$dir/malloc-console.log"
ok "malloc: write-back cache with flush" grep -q "CACHE=write back" "$dir/malloc-console.log"
ok "malloc: discarded range reads back as zeroes" grep -q DISCARD-ZEROES "$dir/malloc-console.log"
ok "malloc: fio randwrite with verify=crc32c passes" grep -q FIO-OK "$dir/malloc-console.log"
ok "malloc: a bdev resize reaches the running guest (config change message)" \
    bash -c "[ $resized = yes ] && grep -q RESIZED=786432 '$dir/malloc-console.log'"
ok "malloc: the guest script ended normally (status $grc)" [ "$grc" -eq 0 ]
show_logs malloc
unexport_disk

# ---- file (O_DIRECT) and qcow2 ----
cat >"$dir/fio.sh" <<GUEST
echo "MAXSEG \$(cat /sys/block/vda/queue/max_segment_size)"
$FIO --size=48M >/tmp/fio.log 2>&1 && echo FIO-OK
grep -E "err=|verify|IOPS" /tmp/fio.log
exit 0
GUEST
cat >"$dir/fio-small.sh" <<GUEST
$FIO --size=16M >/tmp/fio.log 2>&1 && echo FIO-OK
grep -E "err=|verify|IOPS" /tmp/fio.log
exit 0
GUEST
truncate -s 256M "$dir/disk.raw"
qemu-img create -q -f qcow2 "$dir/disk.qcow2" 256M
for variant in "file:file:{\"path\":\"$dir/disk.raw\",\"direct\":true}" \
               "qcow2:image:{\"path\":\"$dir/disk.qcow2\",\"format\":\"qcow2\"}"; do
    IFS=: read -r name type params <<<"$variant"
    export_disk "$type" "$params"
    ok "$name: bdev and export created" [ $? -eq 0 ]
    run_guest "$name" "$dir/fio.sh"
    wait_guest
    ok "$name: fio randwrite with verify=crc32c passes" grep -q FIO-OK "$dir/$name-console.log"
    ok "$name: the guest script ended normally (status $grc)" [ "$grc" -eq 0 ]
    # 32 MiB per request at most: segments of 260 KiB (size_max), 126 of them.
    ok "$name: the guest keeps its segments within size_max ($(grep -ao 'MAXSEG [0-9]*' "$dir/$name-console.log"))" \
        grep -aq "MAXSEG 266240" "$dir/$name-console.log"
    show_logs "$name"
    unexport_disk
done
ok "qcow2: the image is consistent after the run" qemu-img check -q "$dir/disk.qcow2"

# ---- client mode: QEMU listens, the target connects ----
rm -f "$dir/vblk.sock"
export_disk malloc '{"size":"64M"}' "" true
CHARDEV=server=on,wait=off run_guest client "$dir/fio-small.sh"
wait_guest
ok "client: the target connects to QEMU; fio with verify passes" \
    grep -q FIO-OK "$dir/client-console.log"
ok "client: the guest script ended normally (status $grc)" [ "$grc" -eq 0 ]
show_logs client
unexport_disk

# ---- kvmkit-blkd killed under a writing guest (split and packed rings) ----
cat >"$dir/restart.sh" <<GUEST
echo FIO-START
$FIO --size=96M >/tmp/fio.log 2>&1 && echo FIO-OK
grep -E "err=|verify|IOPS" /tmp/fio.log
exit 0
GUEST
for name in restart restart-packed; do
    devopts=num-queues=2
    [ "$name" = restart-packed ] && devopts=num-queues=2,packed=on
    truncate -s 0 "$dir/disk.raw"
    truncate -s 256M "$dir/disk.raw"
    export_disk file "{\"path\":\"$dir/disk.raw\",\"direct\":true}" 3000
    connections_before=$(grep -c 'frontend connected' "$dir/blkd.log")
    DEVOPTS=$devopts run_guest "$name" "$dir/restart.sh"
    killed=no
    for _ in $(seq 3000); do
        if seen FIO-START "$name" 2>/dev/null; then
            sleep 3
            kill -KILL "$bpid"
            wait "$bpid" 2>/dev/null
            killed=yes
            sleep 1
            start_blkd
            break
        fi
        kill -0 "$gpid" 2>/dev/null || break
        sleep 0.1
    done
    ok "$name: kvmkit-blkd was killed while fio was writing" [ "$killed" = yes ]
    ok "$name: the new kvmkit-blkd restored the export from its config" \
        bash -c "for i in \$(seq 50); do [ -S '$dir/vblk.sock' ] && exit 0; sleep 0.1; done; exit 1"
    wait_guest
    ok "$name: fio finished and its verify passed" grep -q FIO-OK "$dir/$name-console.log"
    ok "$name: the guest script ended normally (status $grc)" [ "$grc" -eq 0 ]
    ok "$name: QEMU reconnected (two connections to the export)" \
        bash -c "[ \$(grep -c 'frontend connected' '$dir/blkd.log') -ge $((connections_before + 2)) ]"
    resubmitted=$(queue_sum resubmitted)
    echo "# $name: requests resubmitted after the restart: $resubmitted"
    ok "$name: the new target resubmitted requests the killed one had taken" \
        [ "${resubmitted:-0}" -gt 0 ]
    show_logs "$name"
    unexport_disk
done
kill -TERM "$bpid"
wait "$bpid"
ok "kvmkit-blkd exits 0 on SIGTERM" [ $? -eq 0 ]
bpid=
tap_exit
