#!/bin/bash
# Smoke test of the e2e test guest (TAP): build it, boot it under QEMU/TCG,
# and check from the console output that it runs scripts, has its virtio
# drivers, fio and iperf3, reads a virtio-blk disk correctly, and reports the
# script's exit status.
#
# Usage: tests/e2e/boot_test.sh          (from any directory)
# Env:   KVMKIT_GUEST_DIR  guest directory (default <repo>/build/guest)
#        KVMKIT_BOOT_TIMEOUT  per-boot timeout in seconds (default 240)
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export KVMKIT_GUEST_DIR=${KVMKIT_GUEST_DIR:-$ROOT/build/guest}
BUILD=$HERE/guest/build.sh
RUN=$HERE/guest/run-guest.sh
BOOT_TIMEOUT=${KVMKIT_BOOT_TIMEOUT:-240}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvmkit-boot-test.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

N=8
n=0
failed=0
echo "1..$N"
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
diag() { sed 's/^/# /'; }
bail_rest() { # mark all remaining tests failed
    while [ "$n" -lt "$N" ]; do not_ok "$1"; done
    exit 1
}

# 1. Build (or reuse) the guest.
t0=$SECONDS
if "$BUILD" "$KVMKIT_GUEST_DIR" >"$TMP/build.log" 2>&1 &&
    [ -f "$KVMKIT_GUEST_DIR/vmlinux" ] && [ -f "$KVMKIT_GUEST_DIR/initramfs.cpio.gz" ]; then
    ok "guest build ($((SECONDS - t0)) s, kernel $(cat "$KVMKIT_GUEST_DIR/kernel.release"))"
else
    not_ok "guest build"
    diag <"$TMP/build.log"
    bail_rest "skipped: no guest"
fi

# A 1 MiB raw disk: known 512-byte patterns in the first and the last sector.
IMG=$TMP/disk.img
printf 'kvmkit e2e block pattern, first sector, line %03d\n' $(seq 1 20) | head -c 512 >"$TMP/p0"
printf 'kvmkit e2e block pattern, LAST sector, line %03d\n' $(seq 1 20) | head -c 512 >"$TMP/p1"
truncate -s 1M "$IMG"
dd if="$TMP/p0" of="$IMG" bs=512 seek=0 conv=notrunc status=none
dd if="$TMP/p1" of="$IMG" bs=512 seek=2047 conv=notrunc status=none
MD5_0=$(md5sum <"$TMP/p0" | cut -d' ' -f1)
MD5_1=$(md5sum <"$TMP/p1" | cut -d' ' -f1)

cat >"$TMP/facts.sh" <<'EOF'
echo "FACT script-start"
for m in virtio_pci virtio_net virtio_blk; do
    if [ -d /sys/module/$m ]; then echo "FACT module $m loaded"; else echo "FACT module $m missing"; fi
done
if v=$(fio --version 2>&1); then echo "FACT fio-ok $v"; else echo "FACT fio-failed $v"; fi
if v=$(iperf3 --version 2>&1); then echo "FACT iperf3-ok $(echo "$v" | head -n 1)"; else echo "FACT iperf3-failed $v"; fi
dev=""
for b in /sys/block/vd*; do [ -e "$b" ] && dev=/dev/${b##*/} && break; done
if [ -n "$dev" ] && [ -b "$dev" ]; then
    echo "FACT blk-dev $dev sectors $(cat /sys/block/${dev#/dev/}/size)"
    echo "FACT blk-md5-first $(dd if=$dev bs=512 count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
    echo "FACT blk-md5-last $(dd if=$dev bs=512 skip=2047 count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
    dd if=$dev bs=512 count=1 2>/dev/null | hexdump -C | head -n 2
else
    echo "FACT blk-dev none"
fi
echo "FACT script-end"
EOF

# 2-7. One boot, many facts.
t0=$SECONDS
"$RUN" --script "$TMP/facts.sh" --timeout "$BOOT_TIMEOUT" --log "$TMP/facts.log" --quiet \
    -- -drive "file=$IMG,if=virtio,format=raw" 2>"$TMP/facts.err"
rc=$?
secs=$((SECONDS - t0))
CON=$TMP/facts.con
tr -d '\r' <"$TMP/facts.log" >"$CON"
has() { grep -qxF -- "$1" "$CON"; }

if has "KVMKIT-GUEST-READY" && has "FACT script-start" && has "FACT script-end" && has "KVMKIT-GUEST-EXIT 0" && [ "$rc" = 0 ]; then
    ok "guest boots and runs the script (${secs} s)"
else
    not_ok "guest boots and runs the script (run-guest exit $rc, ${secs} s)"
    diag <"$CON"
    diag <"$TMP/facts.err"
fi
check "virtio_net module loaded" has "FACT module virtio_net loaded"
check "virtio_blk module loaded" has "FACT module virtio_blk loaded"
check "fio --version runs in the guest" grep -q '^FACT fio-ok fio-' "$CON"
check "iperf3 --version runs in the guest" grep -q '^FACT iperf3-ok iperf 3' "$CON"
if has "FACT blk-dev /dev/vda sectors 2048" && has "FACT blk-md5-first $MD5_0" && has "FACT blk-md5-last $MD5_1"; then
    ok "virtio-blk disk reads back the expected bytes"
else
    not_ok "virtio-blk disk reads back the expected bytes"
    echo "expected first $MD5_0 last $MD5_1, 2048 sectors on /dev/vda; got:" | diag
    grep '^FACT blk' "$CON" | diag
fi
grep '^FACT' "$CON" | diag

# 8. The script's exit status is run-guest.sh's.
printf 'echo "exiting with 3"\nexit 3\n' >"$TMP/exit3.sh"
t0=$SECONDS
"$RUN" --script "$TMP/exit3.sh" --timeout "$BOOT_TIMEOUT" --log "$TMP/exit3.log" --quiet 2>"$TMP/exit3.err"
rc=$?
secs=$((SECONDS - t0))
if [ "$rc" = 3 ] && tr -d '\r' <"$TMP/exit3.log" | grep -qx 'KVMKIT-GUEST-EXIT 3'; then
    ok "exit status propagates (exit 3 -> run-guest.sh exits 3, ${secs} s)"
else
    not_ok "exit status propagates (run-guest.sh exited $rc, ${secs} s)"
    tr -d '\r' <"$TMP/exit3.log" | diag
    diag <"$TMP/exit3.err"
fi

[ "$failed" = 0 ]
