#!/bin/bash
# kvmkit's vhost-user frontend against DPDK testpmd's vhost PMD as the
# backend (macswap forwarding): frames the frontend sends come back, for
# split and packed rings and for 64- and 1500-byte frames.
# Usage: frontend_testpmd_test.sh VHOST_PPS     (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
PPS=$1
dir=$(mktemp -d)
tp=
cleanup() {
    [ -n "$tp" ] && kill "$tp" 2>/dev/null && wait "$tp" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
if ! command -v dpdk-testpmd >/dev/null; then
    echo "1..0 # SKIP dpdk-testpmd not installed"
    exit 0
fi
field() { python3 -c 'import json,sys; print(int(json.loads(sys.argv[1])[sys.argv[2]]))' "$1" "$2"; }

echo "1..8"
for variant in "split:" "packed:--packed"; do
    IFS=: read -r name flag <<<"$variant"
    for size in 64 1500; do
        rm -f "$dir/vhost.sock"
        (sleep 4; echo quit) | dpdk-testpmd --no-huge -m 512 --no-pci -l 0-1 \
            --file-prefix="kvmkit-ft$$" --vdev "net_vhost0,iface=$dir/vhost.sock" -- -i \
            --total-num-mbufs=16384 --forward-mode=macswap --auto-start >"$dir/tp.log" 2>&1 &
        tp=$!
        for _ in $(seq 200); do [ -S "$dir/vhost.sock" ] && break; sleep 0.05; done
        out=$("$PPS" --socket "$dir/vhost.sock" --size "$size" --seconds 1 --rx $flag)
        wait "$tp" 2>/dev/null # testpmd quits when told
        tp=
        tx=$(field "$out" tx_pps)
        rx=$(field "$out" rx_pps)
        ok "$name ${size}B: testpmd consumed the frontend's frames ($tx/s)" [ "$tx" -gt 1000 ]
        # frames come back, never more than went out (how many are lost when
        # the machine is loaded is not this test's business: no rate checks)
        ok "$name ${size}B: and sent them back ($rx/s)" \
            bash -c "[ $rx -gt 1000 ] && [ $rx -le $((tx + 1000)) ]"
    done
done
tap_exit
