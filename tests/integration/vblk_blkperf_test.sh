#!/bin/bash
# blkperf's vhost engine (the virtio-blk driver side over kvmkit's vhost-user
# frontend) against kvmkit-blkd's vhost-user-blk export and against
# qemu-storage-daemon's: verified random writes and reads from one and two
# threads (a queue each), depth beyond the ring (indirect descriptors), a
# read-only export refusing writes, a resize seen in the config space, the
# export's counters.
# Usage: vblk_blkperf_test.sh KVMKIT KVMKIT_BLKD      (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
K=$1
D=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmkit-vblk-blkperf.XXXXXX")
bpid=
qpid=
cleanup() {
    [ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
rpc() { "$K" rpc -s "$dir/rpc.sock" "$@"; }
perf() { "$K" blkperf "$@" >>"$dir/blkperf.log" 2>&1; }
json_field() { # JSON PYTHON_EXPR_ON_d
    python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1"
}

echo "1..13"
"$D" --rpc "$dir/rpc.sock" --workers 2 >"$dir/blkd.log" 2>&1 &
bpid=$!
for _ in $(seq 100); do [ -S "$dir/rpc.sock" ] && break; sleep 0.05; done
rpc bdev_create '{"name":"d0","type":"malloc","params":{"size":"64M"}}' >/dev/null
rpc export_add "{\"id\":\"v0\",\"type\":\"vhost-user-blk\",\"bdev\":\"d0\",\"socket\":\"$dir/v0.sock\",\"num_queues\":2}" >/dev/null
ok "kvmkit-blkd exports a malloc bdev over vhost-user-blk" [ -S "$dir/v0.sock" ]

ok "blkperf: verified random writes, one thread" \
    perf --vhost "$dir/v0.sock" -w randwrite -q 16 -t 1 --verify
ok "blkperf: verified random reads and writes, two threads on two queues" \
    perf --vhost "$dir/v0.sock" -w randrw -j 2 -q 16 -t 1 --verify
ok "blkperf: depth 128 (indirect descriptors), 64 KiB blocks, verified" \
    perf --vhost "$dir/v0.sock" -w randwrite -b 64K -q 128 -t 1 --verify
ok "blkperf: more threads than the export has queues is refused" \
    bash -c "! '$K' blkperf --vhost '$dir/v0.sock' -j 3 -t 0.2 >>'$dir/blkperf.log' 2>&1"
state=$(rpc export_list)
ok "export_list counts reads and writes on both queues" \
    [ "$(json_field "$state" "int(all(q['reads'] > 0 and q['writes'] > 0 for e in d for q in e['state']['queues']))")" = 1 ]

rpc bdev_resize '{"name":"d0","size":"128M"}' >/dev/null
state=$(rpc export_list)
ok "a resize reaches the config space" \
    [ "$(json_field "$state" "d[0]['state']['capacity_sectors']")" = 262144 ]
ok "blkperf reads across the resized device without errors" \
    bash -c "'$K' blkperf --vhost '$dir/v0.sock' -w randread -t 0.5 --json 2>/dev/null | grep -q '\"errors\": 0'"

rpc export_add "{\"id\":\"r0\",\"type\":\"vhost-user-blk\",\"bdev\":\"d0\",\"socket\":\"$dir/r0.sock\",\"read_only\":true}" >/dev/null
ok "a read-only export serves reads" perf --vhost "$dir/r0.sock" -w randread -t 0.5
ok "a read-only export fails writes" \
    bash -c "! '$K' blkperf --vhost '$dir/r0.sock' -w randwrite -t 0.5 >>'$dir/blkperf.log' 2>&1"
kill -TERM "$bpid"
wait "$bpid"
ok "kvmkit-blkd exits 0 on SIGTERM" [ $? -eq 0 ]
bpid=

# The same engine against qemu-storage-daemon.
truncate -s 64M "$dir/disk.raw"
qemu-storage-daemon --blockdev "driver=file,node-name=f0,filename=$dir/disk.raw" \
    --object iothread,id=io0 \
    --export "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=$dir/qsd.sock,writable=on,num-queues=1,iothread=io0" \
    >"$dir/qsd.log" 2>&1 &
qpid=$!
for _ in $(seq 100); do [ -S "$dir/qsd.sock" ] && break; sleep 0.05; done
ok "blkperf: verified writes to qemu-storage-daemon" \
    perf --vhost "$dir/qsd.sock" -w randwrite -q 32 -t 1 --verify
ok "blkperf: verified reads from qemu-storage-daemon" \
    perf --vhost "$dir/qsd.sock" -w randread -q 32 -t 1 --verify
if [ "$tap_failed" -gt 0 ]; then
    tail -20 "$dir/blkperf.log" | sed 's/^/# blkperf: /'
    grep -v INFO "$dir/blkd.log" | tail -10 | sed 's/^/# blkd: /'
fi
tap_exit
