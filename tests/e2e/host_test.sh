#!/bin/bash
# `kvmkit host`: the whole host in one boot of two guests (TCG).
#  - bad configurations are refused before anything starts: unknown keys,
#    dangling references, bad addresses, a missing QEMU, guest kernel or
#    network interface; nothing is left running after them;
#  - `kvmkit host up` with a small configuration (its own run directory,
#    host port name and subnet, so a `make run` beside it does not clash):
#    the guests read their disk's marker file (ext4 on a qcow2 image served
#    by kvmkit-blkd), ping each other and the host through kvmkit-switchd;
#    the host pings them over its internal port;
#  - `kvmkit host status --json` counts packets and bytes on every port,
#    megaflows and cache hits, and I/O on both disks;
#  - an OpenFlow rule (kvmkit ofctl) dropping vm1's IP packets to vm2 stops
#    their pings both ways while the host still reaches vm1; deleting it
#    restores them;
#  - vm2 moved to VLAN 5 (kvmkit vsctl set port tag=5) is cut off from vm1
#    and the untagged host; back in one VLAN they ping again;
#  - `kvmkit host exec` runs commands in a guest through its agent port:
#    output and status come back; iperf3 moves data over TCP from vm1 to
#    vm2;
#  - vm1's kernel NBD client (nbd.ko, nbd-client) on a kvmkit-blkd NBD
#    export across the switch: ext2 and random data, checked from the host;
#  - kvmkit-switchd SIGKILLed and restarted (`kvmkit host restart --kill`)
#    under the running guests: they reconnect, ping each other and the host
#    again, iperf3 runs from vm2 to vm1;
#  - kvmkit-blkd stopped and restarted (`kvmkit host restart`) while vm1's
#    fio writes with verify: fio ends, every block checks; vm2's I/O goes on;
#  - a second `up` in the same directory is refused;
#  - `kvmkit host down` leaves no process (pgrep on the run directory), no
#    socket and no host port behind;
#  - `up` again in the same directory: the disks kept what the guests wrote
#    and synced in the last boot (sha256 of random data, fio --verify_only).
# Usage: tests/e2e/host_test.sh KVMKIT     (TAP; needs root for the host port)
set -u
. "$(dirname "$0")/../tap.sh"
K=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export KVMKIT_GUEST_DIR=$ROOT/build/guest

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root (the host port is a tap device)"
    exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmkit-host.XXXXXX")
hp=kkh$$
net=10.79.$(($$ % 200 + 20))
cleanup() {
    "$K" host down -d "$dir/run" >/dev/null 2>&1
    ip link del "$hp" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

echo "1..70"

# The guest first: the checks below look for its kernel before the ports.
if ! "$ROOT/scripts/run.sh" --build-guest >"$dir/build.log" 2>&1; then
    echo "not ok - the test guest (with ext4) builds"
    sed 's/^/# /' "$dir/build.log" | tail -20
    exit 1
fi

# ---- refused configurations (nothing starts) ----
# (pgrep from this shell: a `bash -c` around it would find itself.)
none_running() { ! pgrep -f "$1" >/dev/null; }
status_and_message() { # RC WANTED_RC FILE MESSAGE
    [ "$1" = "$2" ] && grep -q -- "$4" "$3"
}
refused() { # DESCRIPTION EXPECTED_MESSAGE CONFIG_JSON
    echo "$3" >"$dir/bad.json"
    "$K" host up -c "$dir/bad.json" -d "$dir/bad" >"$dir/bad.out" 2>&1
    local rc=$?
    ok "refused: $1" status_and_message $rc 1 "$dir/bad.out" "$2"
    status_and_message $rc 1 "$dir/bad.out" "$2" || sed 's/^/# /' "$dir/bad.out"
}
refused "an unknown key" "unknown key 'vmz'" '{"vmz": []}'
refused "a VM on a bridge that does not exist" "vms\[0\].bridge: no bridge 'br9'" \
    '{"vms": [{"name": "a", "bridge": "br9"}]}'
refused "a VM whose disk is not listed" "vms\[0\].disk: no disk 'd9'" \
    '{"disks": [{"name": "d1"}], "vms": [{"name": "a", "disk": "d9"}]}'
refused "an address without a prefix" "is not an IPv4 address with a prefix" \
    '{"vms": [{"address": "10.1.2.3"}]}'
refused "two VMs of one name" "VM 'a' is defined twice" '{"vms": [{"name": "a"}, {"name": "a"}]}'
refused "a missing QEMU" "QEMU '/nonexistent/qemu' not found" '{"qemu": "/nonexistent/qemu"}'
refused "a missing guest kernel" "guest kernel /nonexistent/vmlinux" \
    '{"guest": {"kernel": "/nonexistent/vmlinux"}}'
refused "a port on a network interface that does not exist" \
    "port kkno$$: no such network interface" \
    "{\"bridges\": [{\"host_port\": null, \"ports\": [{\"name\": \"kkno$$\"}]}]}"

# ---- the host ----
# QEMU itself refuses (the daemons have started by then): its words are
# shown and what was started is stopped.
echo '{"bridges": [{"host_port": null}], "vms": [{"memory": "12X", "disk": null}]}' >"$dir/bad.json"
"$K" host up -c "$dir/bad.json" -d "$dir/bad" >"$dir/bad.out" 2>&1
rc=$?
ok "QEMU failing at start: its message, then everything stopped" \
    status_and_message $rc 1 "$dir/bad.out" "QEMU exited at start"
grep -q "up failed; stopping" "$dir/bad.out" || sed 's/^/# /' "$dir/bad.out"
ok "nothing runs after the refusals" none_running "$dir/bad"
cat >"$dir/host.json" <<EOF
{
  "accel": "tcg",
  "bridges": [{"name": "br0", "host_port": {"name": "$hp", "address": "$net.1/24"}}],
  "disks": [{"name": "d1", "size": "64M", "marker": "marker of d1 $$"},
            {"name": "d2", "size": "64M", "marker": "marker of d2 $$"}],
  "vms": [{"name": "vm1", "address": "$net.11/24", "disk": "d1", "memory": "384M", "fio_iops": 20},
          {"name": "vm2", "address": "$net.12/24", "disk": "d2", "memory": "384M", "fio_iops": 20}]
}
EOF
start=$SECONDS
"$K" host up -c "$dir/host.json" -d "$dir/run" --wait 240 >"$dir/up.out" 2>&1
rc=$?
echo "# up took $((SECONDS - start)) s"
ok "kvmkit host up: switch, storage and two guests up (status $rc)" \
    bash -c "[ $rc = 0 ] && grep -q '2 guests up' '$dir/up.out'"
[ $rc = 0 ] || sed 's/^/# /' "$dir/up.out"

# Wait for a few rounds of pings (each guest reports once a second).
st() { "$K" host status -d "$dir/run" --json >"$dir/status.json" 2>"$dir/status.err"; }
q() { python3 -c "import json,sys; s=json.load(open('$dir/status.json')); print($1)"; }
for _ in $(seq 60); do
    st
    [ "$(q "min(v['peer_ok'] for v in s['vms']) >= 3 and min(v['host_ok'] for v in s['vms']) >= 3" 2>/dev/null)" = True ] && break
    sleep 1
done
ok "vm1 reads its disk's marker file (ext4 on qcow2 through kvmkit-blkd)" \
    grep -aq "KVMKIT-HOST-MARKER marker of d1 $$" "$dir/run/vm1/console.log"
ok "vm2 reads its disk's marker file" grep -aq "KVMKIT-HOST-MARKER marker of d2 $$" "$dir/run/vm2/console.log"
ok "status says both markers are right" [ "$(q "[v['marker'] for v in s['vms']]")" = "['ok', 'ok']" ]
ok "vm1 pings vm2 through the switch" [ "$(q "s['vms'][0]['peer_ok'] > 0")" = True ]
ok "vm2 pings vm1" [ "$(q "s['vms'][1]['peer_ok'] > 0")" = True ]
ok "both guests ping the host's internal port" \
    [ "$(q "all(v['host_ok'] > 0 for v in s['vms'])")" = True ]
ok "the host pings both guests over its port $hp" \
    bash -c "ping -c 2 -W 2 -I $hp $net.11 >/dev/null && ping -c 2 -W 2 -I $hp $net.12 >/dev/null"
ok "status: the guests' links are up" [ "$(q "[v['link'] for v in s['vms']]")" = "['up', 'up']" ]
st
ok "status: packets and bytes both ways on every port" \
    [ "$(q "len(s['ports']) == 3 and all(p.get(k, 0) > 0 for p in s['ports'] for k in ('rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'))")" = True ]
ok "status: megaflows, and the caches hit" \
    [ "$(q "s['datapath']['megaflows'] > 0 and s['datapath']['emc_hits'] + s['datapath']['mfc_hits'] > 0")" = True ]
ok "status: reads and writes on both disks, both connected" \
    [ "$(q "all(d['reads'] > 0 and d['writes'] > 0 and d['connected'] for d in s['disks'])")" = True ]
"$K" host status -d "$dir/run" >"$dir/status.txt" 2>&1
ok "status as text: the VM, port and disk tables" \
    bash -c "grep -q '^vm1 ' '$dir/status.txt' && grep -q '^br0 .*$hp' '$dir/status.txt' && grep -q '^d2 ' '$dir/status.txt' && grep -q megaflows '$dir/status.txt'"
# ---- an OpenFlow drop rule between the guests, then its removal ----
of() { "$K" ofctl "$@" >>"$dir/ofctl.out" 2>&1; }
peer_oks() { st; q "sum(v['peer_ok'] for v in s['vms'])"; }
# The guests' ping successes before ($a) and after ($b) 5 s, once the
# pings in flight have ended (2 s).
quiet_window() { sleep 2; a=$(peer_oks); sleep 5; b=$(peer_oks); }
# Wait up to SECS (default 20) for the successes to pass N; print the count.
peer_oks_past() {
    local c
    for _ in $(seq "${2:-20}"); do
        c=$(peer_oks)
        [ "$c" -gt "$1" ] && break
        sleep 1
    done
    echo "$c"
}
mgmt=unix:$dir/run/br0.mgmt
drop="priority=1000,ip,nw_src=$net.11,nw_dst=$net.12"
ok "ofctl: a rule dropping vm1's IP packets to vm2 is added" of add-flow "$mgmt" "$drop,actions=drop"
quiet_window
ok "the drop rule stops the guests' pings both ways (successes $a -> $b)" [ "$a" = "$b" ]
ok "  ... while the host still reaches vm1" \
    bash -c "ping -c 1 -W 3 -I $hp $net.11 >/dev/null"
ok "ofctl: the rule is deleted (--strict)" of --strict del-flows "$mgmt" "$drop"
c=$(peer_oks_past "$b")
ok "removing it restores them (successes $b -> $c)" [ "$c" -gt "$b" ]
if [ "$tap_failed" -gt 0 ]; then sed "s/^/# ofctl: /" "$dir/ofctl.out"; fi

# ---- VLANs: vm2 alone in VLAN 5 is cut off from vm1 and the host ----
vs() { "$K" vsctl -s "$dir/run/switchd.sock" "$@" >>"$dir/ofctl.out" 2>&1; }
ok "vsctl: vm2's port becomes an access port of VLAN 5" vs set port vm2 tag=5
quiet_window
ok "the guests, now in different VLANs, no longer reach each other ($a -> $b)" [ "$a" = "$b" ]
ok "  ... the host (untagged) reaches vm1 but not vm2" \
    bash -c "ping -c 1 -W 3 -I $hp $net.11 >/dev/null && ! ping -c 2 -W 2 -I $hp $net.12 >/dev/null"
ok "vsctl: vm2's tag is removed" vs set port vm2 'tag=[]'
c=$(peer_oks_past "$b")
ok "back in one VLAN they reach each other again ($b -> $c)" [ "$c" -gt "$b" ]

# ---- the guest agent: kvmkit host exec ----
ex() { "$K" host exec -d "$dir/run" "$@"; }
ex vm1 -- 'echo out; echo err >&2; uname -n; exit 3' >"$dir/exec.out" 2>&1
rc=$?
ok "exec: a command's output and exit status come back from vm1 (status $rc)" \
    bash -c "[ $rc = 3 ] && [ \"\$(cat '$dir/exec.out')\" = \"\$(printf 'out\nerr\nkvmkit-guest')\" ]"
ex nosuchvm true >"$dir/exec.out" 2>&1
rc=$?
ok "exec: a VM that does not exist is refused (status $rc)" \
    status_and_message $rc 125 "$dir/exec.out" "no agent socket for VM 'nosuchvm'"

# ---- iperf3 TCP between the guests ----
iperf_ok() { # FILE: a TCP transfer that moved data both counted by sender and receiver
    python3 -c "
import json, sys
j = json.load(open('$1'))
e = j['end']
ok = 'error' not in j and e['sum_sent']['bytes'] > 1000000 and e['sum_received']['bytes'] > 1000000
print('# iperf3: %.0f Mbit/s, %d bytes received' % (e['sum_received']['bits_per_second'] / 1e6, e['sum_received']['bytes']))
sys.exit(0 if ok else 1)" 2>/dev/null
}
ex vm1 iperf3 -c "$net.12" -t 3 -J >"$dir/iperf1.json" 2>&1
ok "iperf3: a 3 s TCP transfer from vm1 to vm2's iperf3 server" iperf_ok "$dir/iperf1.json"
[ "$tap_failed" -gt 0 ] && tail -5 "$dir/iperf1.json" | sed 's/^/# /'

# ---- the guest's kernel NBD client on kvmkit-blkd, across the switch ----
# A RAM bdev exported over NBD on the host port's address; vm1's kernel
# (nbd.ko, Debian's nbd-client) attaches it as /dev/nbd0: an 8 MiB ext2
# filesystem with a file at the start, 4 MiB of random data at 16 MiB read
# back the same. The host then reads the export with qemu-img: e2fsck finds
# the filesystem clean with the guest's file, the data has the guest's sha256.
bk() { "$K" blk -s "$dir/run/blkd.sock" "$@"; }
bk bdev-create scratch malloc size=32M >/dev/null &&
    bk export-add nbd-scratch nbd bdev=scratch name=scratch tcp="$net.1:0" >"$dir/nbd-export.json"
nport=$(python3 -c "import json; print(json.load(open('$dir/nbd-export.json'))['state']['tcp_port'])" 2>/dev/null)
ok "an NBD export of a RAM bdev on the host port ($net.1:${nport:-?})" [ -n "$nport" ]
ex vm1 "nbd-client -N scratch $net.1 $nport /dev/nbd0 >/tmp/nbd.log 2>&1 || cat /tmp/nbd.log
    mke2fs -q -F /dev/nbd0 8192 && mkdir -p /n && mount -t ext2 /dev/nbd0 /n &&
    echo 'written by the guest' >/n/hello && umount /n && echo NBD-FS
    head -c 4194304 /dev/urandom >/tmp/x &&
    dd if=/tmp/x of=/dev/nbd0 bs=1M seek=16 oflag=direct 2>/dev/null &&
    dd if=/dev/nbd0 of=/tmp/y bs=1M skip=16 count=4 iflag=direct 2>/dev/null &&
    cmp /tmp/x /tmp/y && echo NBD-SAME \$(sha256sum </tmp/x)
    nbd-client -d /dev/nbd0 >/dev/null" >"$dir/nbd-guest.out" 2>&1
ok "vm1's kernel NBD client: an ext2 filesystem made on /dev/nbd0 mounts and takes a file" \
    grep -q NBD-FS "$dir/nbd-guest.out"
ok "  ... 4 MiB of random data written at 16 MiB read back the same" \
    grep -q NBD-SAME "$dir/nbd-guest.out"
[ "$tap_failed" -gt 0 ] && sed 's/^/# nbd: /' "$dir/nbd-guest.out"
qemu-img convert -f raw -O raw "nbd://$net.1:$nport/scratch" "$dir/scratch.img" 2>"$dir/nbd-host.err"
ok "the host reads the export (qemu-img): e2fsck finds the guest's filesystem clean" \
    bash -c "e2fsck -fn '$dir/scratch.img' >'$dir/e2fsck.out' 2>&1"
[ "$tap_failed" -gt 0 ] && sed 's/^/# e2fsck: /' "$dir/e2fsck.out"
ok "  ... holding the guest's file" \
    bash -c "[ \"\$(debugfs -R 'cat /hello' '$dir/scratch.img' 2>/dev/null)\" = 'written by the guest' ]"
gsum=$(sed -n 's/^NBD-SAME \([0-9a-f]*\).*/\1/p' "$dir/nbd-guest.out")
hsum=$(dd if="$dir/scratch.img" bs=1M skip=16 count=4 2>/dev/null | sha256sum | cut -d' ' -f1)
ok "  ... and the guest's random data (sha256 ${gsum:0:16}...)" [ -n "$gsum" -a "$gsum" = "$hsum" ]
rm -f "$dir/scratch.img"

# ---- kvmkit-switchd killed under the running guests ----
rs() { "$K" host restart -d "$dir/run" "$@" >>"$dir/restart.out" 2>&1; }
old_pid=$(cat "$dir/run/switchd.pid")
ok "restart --kill switchd: SIGKILLed and started again from its saved state" rs --kill switchd
ok "  ... a new process" bash -c "[ \"\$(cat '$dir/run/switchd.pid')\" != '$old_pid' ]"
a=$(peer_oks)
c=$(peer_oks_past $((a + 3)) 30)
ok "the guests reconnect and ping each other again ($a -> $c)" [ "$c" -ge $((a + 4)) ]
ok "  ... the host reaches both over its port again" \
    bash -c "ping -c 2 -W 2 -I $hp $net.11 >/dev/null && ping -c 2 -W 2 -I $hp $net.12 >/dev/null"
ex vm2 iperf3 -c "$net.11" -t 3 -J >"$dir/iperf2.json" 2>&1
ok "  ... and iperf3 from vm2 to vm1 moves data" iperf_ok "$dir/iperf2.json"
# It dies (SIGKILL from outside): restart starts it again.
kill -KILL "$(cat "$dir/run/switchd.pid")"
sleep 0.5
"$K" host restart -d "$dir/run" switchd >"$dir/restart2.out" 2>&1
ok "restart of a kvmkit-switchd that died starts it again" \
    status_and_message $? 0 "$dir/restart2.out" "was not running; started"
ok "  ... and the host reaches vm2 again" \
    bash -c "for i in 1 2 3 4 5 6 7 8 9 10; do ping -c 1 -W 1 -I $hp $net.12 >/dev/null && exit 0; done; exit 1"

# ---- kvmkit-blkd restarted under a guest writing with verify ----
# fio at 300 IOPS writes 8 MiB (about 7 s) then reads it back checking each
# block's crc32c; kvmkit-blkd is stopped (SIGTERM) and started again 2 s in.
FIO="fio --name=bg --filename=/mnt/bg.dat --size=8M --bs=4k --rw=randwrite --ioengine=libaio \
--direct=1 --iodepth=8 --verify=crc32c --do_verify=1 --verify_fatal=1"
ok "exec: a verifying fio starts in vm1 in the background" \
    ex vm1 "($FIO --rate_iops=300 >/tmp/bg.log 2>&1; echo \$? >/tmp/bg.rc) >/dev/null 2>&1 &"
st
reads_before=$(q "s['disks'][1]['reads'] + s['disks'][1]['writes']")
sleep 2
old_pid=$(cat "$dir/run/blkd.pid")
conns=$(grep -c 'frontend connected' "$dir/run/blkd.log")
ok "restart blkd: stopped and started again from its saved state" rs blkd
ok "  ... a new process" bash -c "[ \"\$(cat '$dir/run/blkd.pid')\" != '$old_pid' ]"
bgrc=
for _ in $(seq 60); do
    bgrc=$(ex vm1 cat /tmp/bg.rc 2>/dev/null) && break
    sleep 1
done
ok "vm1's fio finished across the restart and its verify passed (status '$bgrc')" [ "$bgrc" = 0 ]
[ "$bgrc" = 0 ] || ex vm1 cat /tmp/bg.log | tail -20 | sed 's/^/# fio: /'
ok "  ... QEMU connected to both exports again" \
    [ "$(grep -c 'frontend connected' "$dir/run/blkd.log")" -ge $((conns + 2)) ]
ok "  ... vm2's own workload does I/O on the new kvmkit-blkd" \
    bash -c "for i in \$(seq 20); do '$K' host status -d '$dir/run' --json | python3 -c \"import json,sys; s=json.load(sys.stdin); sys.exit(0 if s['disks'][1]['reads'] + s['disks'][1]['writes'] > 0 else 1)\" && exit 0; sleep 1; done; exit 1"
echo "# vm2's disk operations before the restart: $reads_before"

# ---- data for the next boot ----
# Written and synced now, read back after down and up again below.
ok "exec: vm1 writes 3 MB of random data and its sha256, and an fio file with crc32c, synced" \
    ex vm1 'rm -f /mnt/bg.dat && head -c 3000000 /dev/urandom >/mnt/persist.bin &&
        sha256sum /mnt/persist.bin >/mnt/persist.sum &&
        fio --name=p --filename=/mnt/persist.dat --size=4M --bs=64k --rw=write --ioengine=libaio \
            --direct=1 --iodepth=4 --verify=crc32c --do_verify=1 --verify_fatal=1 --output=/tmp/p.log &&
        sync'
sum1=$(ex vm1 cat /mnt/persist.sum 2>/dev/null)

"$K" host up -c "$dir/host.json" -d "$dir/run" >"$dir/up2.out" 2>&1
rc=$?
ok "a second up in the same directory is refused" \
    status_and_message $rc 1 "$dir/up2.out" "already up"
if [ "$tap_failed" -gt 0 ]; then
    sed 's/^/# status: /' "$dir/status.txt"
    for v in vm1 vm2; do grep -av '^KVMKIT-HOST seq' "$dir/run/$v/console.log" | tail -15 | sed "s/^/# $v: /"; done
fi

# ---- down ----
# kvmkit-blkd stopped (SIGSTOP) does not answer SIGTERM: down must SIGKILL it
# (and QEMU too: on SIGTERM it waits for its disk backend to answer).
kill -STOP "$(cat "$dir/run/blkd.pid")"
"$K" host down -d "$dir/run" >"$dir/down.out" 2>&1
rc=$?
ok "kvmkit host down (status $rc): $(tr -d '\n' <"$dir/down.out")" [ $rc = 0 ]
ok "  ... a daemon that ignored SIGTERM got SIGKILL" grep -q "([1-9] needed SIGKILL)" "$dir/down.out"
ok "no process of the run directory is left" none_running "$dir/run"
ok "no socket is left" [ -z "$(find "$dir/run" -type s)" ]
ok "the host port is gone" bash -c "! ip link show $hp >/dev/null 2>&1"
"$K" host status -d "$dir/run" >"$dir/status-down.txt" 2>&1
rc=$?
ok "status of a host that is down: exit 1, daemons DOWN" \
    status_and_message $rc 1 "$dir/status-down.txt" "switchd DOWN"
down_again() { "$K" host down -d "$dir/run" >/dev/null; }
ok "down again does nothing and succeeds" down_again

# ---- the next boot: the disks kept their data ----
"$K" host up -c "$dir/host.json" -d "$dir/run" --wait 240 >"$dir/up3.out" 2>&1
rc=$?
ok "up again in the same directory (the disks are kept) (status $rc)" \
    bash -c "[ $rc = 0 ] && grep -q '2 guests up' '$dir/up3.out'"
[ $rc = 0 ] || sed 's/^/# /' "$dir/up3.out"
ex vm1 sha256sum -c /mnt/persist.sum >"$dir/sum.out" 2>&1
ok "vm1 reads back the random data written in the last boot (sha256 ${sum1%% *})" \
    grep -q '^/mnt/persist.bin: OK' "$dir/sum.out"
[ "$tap_failed" -gt 0 ] && sed 's/^/# /' "$dir/sum.out"
ok "vm1's fio --verify_only checks every block written in the last boot" \
    ex vm1 fio --name=p --filename=/mnt/persist.dat --size=4M --bs=64k --rw=write --ioengine=libaio \
        --direct=1 --iodepth=4 --verify=crc32c --verify_only --verify_fatal=1 --output=/tmp/p2.log
ok "  ... the marker is still there" [ "$(ex vm2 cat /mnt/kvmkit-marker)" = "marker of d2 $$" ]
"$K" host down -d "$dir/run" >"$dir/down.out" 2>&1
ok "down: nothing left running" none_running "$dir/run"
"$K" host restart -d "$dir/run" blkd >"$dir/restart3.out" 2>&1
rc=$?
refused_idle() { status_and_message $rc 1 "$dir/restart3.out" "no host is up" && none_running "$dir/run"; }
ok "restart on a host that is down is refused, and starts nothing" refused_idle
tap_exit
