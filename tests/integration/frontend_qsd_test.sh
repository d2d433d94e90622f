#!/bin/bash
# kvmkit's vhost-user frontend drives qemu-storage-daemon's vhost-user-blk
# export: config space, reads, writes, errors; then the image file holds
# what the frontend wrote. Usage: frontend_qsd_test.sh PROBE   (prints TAP)
set -u
PROBE=$1
if ! command -v qemu-storage-daemon >/dev/null; then
    echo "1..0 # SKIP qemu-storage-daemon not installed (qemu-system-common)"
    exit 0
fi
dir=$(mktemp -d)
qpid=
trap '[ -n "$qpid" ] && kill $qpid 2>/dev/null; rm -rf "$dir"' EXIT
img=$dir/disk.raw
truncate -s 8M "$img"
# Sector 100 holds 0xa5 bytes.
printf '\xa5%.0s' $(seq 512) | dd of="$img" bs=512 seek=100 conv=notrunc status=none
qemu-storage-daemon --blockdev "driver=file,node-name=disk,filename=$img" \
    --export "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=$dir/blk.sock,writable=on" \
    >"$dir/qsd.log" 2>&1 &
qpid=$!
for _ in $(seq 100); do [ -S "$dir/blk.sock" ] && break; sleep 0.05; done
"$PROBE" "$dir/blk.sock" $((8 * 1024 * 1024 / 512)) 100 165 | grep -v "^1\.\.6$" >"$dir/probe.tap"
rc=${PIPESTATUS[0]}
kill "$qpid"
wait "$qpid"
qpid=
echo "1..7"
cat "$dir/probe.tap"
expect=$(python3 -c 'import sys; sys.stdout.buffer.write(bytes((i*13+7)&255 for i in range(4096)))' | md5sum)
got=$(dd if="$img" bs=512 skip=64 count=8 status=none | md5sum)
if [ "$expect" = "$got" ]; then echo "ok 7 - the image file holds the data written"; else
    echo "not ok 7 - the image file holds the data written"; rc=1; fi
exit $rc
