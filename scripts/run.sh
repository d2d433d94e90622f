#!/bin/bash
# The main job, as far as kvmkit has come: a VM whose NIC is served by
# kvmkit's vhost-user backend. It builds the test guest (Debian kernel +
# busybox, cached in build/guest), starts kvmkit-responder (a virtio-net
# device answering ARP and ICMP echo for 10.0.0.1), boots the guest under
# QEMU with a 2-queue vhost-user NIC on it, has the guest ping 10.0.0.1,
# and prints what both sides saw. Everything lives in build/run/ and is
# torn down at exit. The full host (switch, storage, two VMs, live view)
# is issue "The whole host"; see docs/status.md.
# Options: --keep (leave build/run/ for inspection)
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=$ROOT/build/run
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
rm -rf "$RUN"
mkdir -p "$RUN"
rpid=
cleanup() {
    if [ -n "$rpid" ]; then kill -TERM "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; fi
    [ "$KEEP" = 1 ] || rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in qemu-system-x86_64; do
    command -v "$tool" >/dev/null || { echo "run: $tool is missing (scripts/deps.sh installs it)"; exit 1; }
done

echo "== $(build/apps/kvmkit --version)"
echo "== building the test guest (cached after the first run)"
tests/e2e/guest/build.sh >"$RUN/guest-build.log" 2>&1 ||
    { echo "run: guest build failed:"; tail -20 "$RUN/guest-build.log"; exit 1; }

echo "== starting kvmkit-responder (vhost-user server, 2 queue pairs, answers 10.0.0.1)"
build/apps/kvmkit-responder --socket "$RUN/vm1-net.sock" --rpc "$RUN/responder.sock" \
    --queues 2 --ip 10.0.0.1 --mode drop >"$RUN/responder.log" 2>&1 &
rpid=$!
for _ in $(seq 100); do [ -S "$RUN/responder.sock" ] && break; sleep 0.05; done

cat >"$RUN/guest.sh" <<'GUEST'
ip link set eth0 up
ip addr add 10.0.0.2/24 dev eth0
echo "guest: eth0 is $(cat /sys/class/net/eth0/address), 10.0.0.2/24"
ping -c 5 -i 0.2 10.0.0.1
GUEST

echo "== booting the guest (QEMU, TCG; about 10-20 s)"
tests/e2e/guest/run-guest.sh --script "$RUN/guest.sh" --timeout 180 --log "$RUN/console.log" --quiet -- \
    -chardev "socket,id=c0,path=$RUN/vm1-net.sock,reconnect=1" \
    -netdev vhost-user,id=n0,chardev=c0,queues=2 \
    -device virtio-net-pci,netdev=n0,mq=on,vectors=0,mac=52:54:00:00:00:02
rc=$?
echo "== guest console"
grep -aE "guest:|bytes from|packets|round-trip" "$RUN/console.log" | sed 's/\r$//; s/^/   /'
echo "== responder statistics (kvmkit rpc -s .../responder.sock responder.stats)"
build/apps/kvmkit rpc -s "$RUN/responder.sock" responder.stats | sed 's/^/   /'
if [ "$rc" -eq 0 ] && grep -aq " 0% packet loss" "$RUN/console.log"; then
    echo "== done: the guest reached kvmkit's vhost-user device (benchmarks: make bench)"
    exit 0
fi
echo "== the guest could not ping the responder (status $rc); logs in $RUN (run with --keep)"
exit 1
