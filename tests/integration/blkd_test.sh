#!/bin/bash
# kvmkit-blkd as a user meets it: bdevs of every type through `kvmkit blk`,
# clear refusals, statistics, exports that survive a graceful restart and a
# SIGKILL (configuration restored, data still there, read back with
# qemu-io and nbdinfo over NBD and blkperf over vhost-user-blk), resize,
# shutdown; and `kvmkit blkperf` on in-process bdevs.
# Usage: blkd_test.sh KVMKIT KVMKIT_BLKD      (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
K=$1
D=$2
dir=$(mktemp -d)
sock=$dir/blkd.sock
conf=$dir/blkd.json
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT
export KVMKIT_BLKD_SOCKET=$sock

start() {
    "$D" --rpc "$sock" --config "$conf" --workers 2 >>"$dir/blkd.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
        "$K" rpc -s "$sock" daemon.info >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}
blk() { "$K" blk "$@"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
nbd_uri() { echo "nbd+unix:///$1?socket=$dir/nbd.sock"; }

echo "1..34"

out=$("$D" --help)
ok "--help lists the methods" grep -q "export_add" <<<"$out"
"$D" --bogus >/dev/null 2>&1
ok "an unknown option exits 2" [ $? -eq 2 ]
ok "the daemon starts and answers" start

"$K" img create -f qcow2 "$dir/vm.qcow2" 64M >/dev/null
blk bdev-create ram malloc size=32M >/dev/null &&
    blk bdev-create disk file path="$dir/disk.raw" create=true size=16M >/dev/null &&
    blk bdev-create vm image path="$dir/vm.qcow2" format=qcow2 >/dev/null &&
    blk bdev-create flaky error base=ram ops=write every=2 >/dev/null
ok "bdevs of four types are created" [ $? -eq 0 ]
n=$(blk bdev-list | field 'len(d)')
ok "bdev-list shows them" [ "$n" = 4 ]
size=$(blk bdev-list | field '[b["size"] for b in d if b["name"]=="vm"][0]')
ok "the qcow2 bdev has the image's virtual size" [ "$size" = 67108864 ]

err=$(blk bdev-create ram malloc size=1M 2>&1)
ok "a taken name is refused" [ $? -eq 1 ]
ok "  ... saying so" grep -q "exists" <<<"$err"
err=$(blk bdev-create x malloc size=1M colour=blue 2>&1)
ok "an unknown parameter is named" grep -q "colour" <<<"$err"
err=$(blk bdev-create x file path="$dir/missing.raw" 2>&1)
ok "a missing file is named" grep -q "missing.raw" <<<"$err"
err=$(blk bdev-delete ram 2>&1)
ok "the base of a stacked bdev cannot be deleted" grep -q "in use" <<<"$err"
err=$(blk export-add e1 nbd bdev=nosuch unix="$dir/nbd.sock" 2>&1)
ok "an export of a missing bdev is refused" [ $? -eq 1 ]

blk export-add n-disk nbd bdev=disk name=disk unix="$dir/nbd.sock" >/dev/null &&
    blk export-add n-vm nbd bdev=vm name=vm unix="$dir/nbd.sock" >/dev/null &&
    blk export-add v-vm vhost-user-blk bdev=ram socket="$dir/vblk.sock" num_queues=2 >/dev/null
ok "NBD and vhost-user-blk exports are added" [ $? -eq 0 ]
n=$(blk export-list | field 'len(d)')
ok "export-list shows three" [ "$n" = 3 ]

qemu-io -f raw -c 'write -P 0x5a 1M 2M' "$(nbd_uri disk)" >/dev/null 2>&1 &&
    qemu-io -f raw -c 'write -P 0x3c 5M 1M' "$(nbd_uri vm)" >/dev/null 2>&1
ok "qemu-io writes through NBD to the file and qcow2 bdevs" [ $? -eq 0 ]
ops=$(blk bdev-stats disk | field 'd["ops"]["write"]')
ok "bdev-stats counts the writes" [ "${ops:-0}" -gt 0 ]
"$K" blkperf --vhost "$dir/vblk.sock" -w randwrite -t 1 -q 8 --verify >/dev/null 2>&1
ok "blkperf writes through the vhost-user-blk export" [ $? -eq 0 ]

blk bdev-resize ram 48M >/dev/null
ok "bdev-resize grows a malloc bdev" [ "$(blk bdev-list | field '[b["size"] for b in d if b["name"]=="ram"][0]')" = 50331648 ]

kill -TERM $pid
wait $pid
ok "SIGTERM stops the daemon with status 0" [ $? -eq 0 ]
pid=""
ok "  ... and removes the control socket" [ ! -e "$sock" ]
ok "the configuration file holds 4 bdevs and 3 exports" \
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(not (len(c["bdevs"])==4 and len(c["exports"])==3))' "$conf"

ok "a restarted daemon answers" start
n=$(blk bdev-list | field 'len(d)')
ok "it restored the bdevs" [ "$n" = 4 ]
ok "  ... with the resized size" [ "$(blk bdev-list | field '[b["size"] for b in d if b["name"]=="ram"][0]')" = 50331648 ]
qemu-io -f raw -c 'read -P 0x5a 1M 2M' "$(nbd_uri disk)" >/dev/null 2>&1
ok "data written before the restart reads back over the restored NBD export (file)" [ $? -eq 0 ]
qemu-io -f raw -c 'read -P 0x3c 5M 1M' "$(nbd_uri vm)" >/dev/null 2>&1
ok "  ... and (qcow2)" [ $? -eq 0 ]
"$K" blkperf --vhost "$dir/vblk.sock" -w randread -t 1 -q 8 >/dev/null 2>&1
ok "the vhost-user-blk export is served again" [ $? -eq 0 ]

kill -KILL $pid
wait $pid 2>/dev/null
pid=""
ok "after SIGKILL the daemon starts again" start
size=$(nbdinfo --size "$(nbd_uri vm)" 2>/dev/null)
ok "  ... with its NBD exports" [ "$size" = 67108864 ]
blk export-remove n-vm >/dev/null && blk bdev-delete flaky >/dev/null
ok "export-remove and bdev-delete work" [ $? -eq 0 ]
n=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(len(c["bdevs"]), len(c["exports"]))' "$conf")
ok "  ... and the saved configuration follows" [ "$n" = "3 2" ]
"$K" rpc -s "$sock" daemon.shutdown >/dev/null
wait $pid
ok "daemon.shutdown stops it with status 0" [ $? -eq 0 ]
pid=""

"$K" blkperf --bdev "file:path=$dir/perf.raw,direct=true,create=true,size=16M" -w randwrite -t 1 -q 16 --verify >/dev/null 2>&1 &&
    "$K" blkperf --bdev "file:path=$dir/perf.raw,direct=true" -w randread -t 1 -q 16 --verify >/dev/null 2>&1
ok "blkperf writes and verifies an O_DIRECT file bdev" [ $? -eq 0 ]
out=$("$K" blkperf --bdev malloc:size=64M -w randrw -t 1 -j 2 --json)
ok "blkperf --json reports reads and writes from two threads" \
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(not (d["reads"]>0 and d["writes"]>0 and d["threads"]==2 and d["errors"]==0))' "$out"

tap_exit
