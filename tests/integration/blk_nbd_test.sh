#!/bin/bash
# The NBD target against real clients: qemu-img/qemu-io over nbd+unix:// and
# nbd://, nbdinfo (flags, --map holes on a sparse file and a qcow2 image),
# nbdcopy both ways, fio's nbd engine with crc32c verify at depth 32,
# several clients at once, kvmkit blkperf's NBD engine, hand-crafted
# malformed requests (nbd_raw.py) with the server staying up, a client
# vanishing with 32 reads pending, TLS with a certificate made here, and
# export removal closing connections.
# Usage: blk_nbd_test.sh KVMKIT KVMKIT_BLKD      (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
K=$1
D=$2
RAW="$(dirname "$0")/nbd_raw.py"
dir=$(mktemp -d)
rpc=$dir/blkd.sock
nsock=$dir/nbd.sock
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

call() { "$K" rpc -s "$rpc" "$@"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
alive() { kill -0 "$pid" 2>/dev/null && call daemon.info >/dev/null 2>&1; }
U() { echo "nbd+unix:///$1?socket=$nsock"; }
have() { command -v "$1" >/dev/null 2>&1; }

echo "1..54"

"$D" --rpc "$rpc" --workers 2 --log info,nbd=debug >"$dir/blkd.log" 2>&1 &
pid=$!
for _ in $(seq 200); do call daemon.info >/dev/null 2>&1 && break; sleep 0.05; done
ok "kvmkit-blkd starts" alive

# bdevs: RAM, a sparse file, a qcow2 image with some clusters allocated
truncate -s 64M "$dir/sparse.raw"
dd if=/dev/urandom of="$dir/sparse.raw" bs=1M count=2 seek=8 conv=notrunc status=none
qemu-img create -q -f qcow2 "$dir/vm.qcow2" 64M
qemu-io -f qcow2 -c "write -P 0x11 4M 1M" -c "write -P 0x22 32M 64k" "$dir/vm.qcow2" >/dev/null
call bdev_create '{"name":"ram","type":"malloc","params":{"size":"64M"}}' >/dev/null &&
    call bdev_create "{\"name\":\"sparse\",\"type\":\"file\",\"params\":{\"path\":\"$dir/sparse.raw\"}}" >/dev/null &&
    call bdev_create "{\"name\":\"vm\",\"type\":\"image\",\"params\":{\"path\":\"$dir/vm.qcow2\",\"format\":\"qcow2\"}}" >/dev/null
ok "bdevs created (malloc, sparse file, qcow2 image)" [ $? -eq 0 ]

out=$(call export_add "{\"id\":\"n0\",\"type\":\"nbd\",\"bdev\":\"ram\",\"name\":\"ram\",\"unix\":\"$nsock\",\"tcp\":\"127.0.0.1:0\",\"description\":\"scratch disk\"}")
ok "export_add (unix and tcp)" [ $? -eq 0 ]
port=$(field 'd["state"]["tcp_port"]' <<<"$out")
ok "a TCP port was picked" [ "${port:-0}" -gt 0 ]
for x in "sparse:sparse" "vm:vm" "ro:ram"; do
    call export_add "{\"id\":\"n-${x%%:*}\",\"type\":\"nbd\",\"bdev\":\"${x#*:}\",\"name\":\"${x%%:*}\",\"unix\":\"$nsock\",\"tcp\":\"127.0.0.1:0\",\"read_only\":$([ "${x%%:*}" = ro ] && echo true || echo false)}" >/dev/null || echo "# export ${x%%:*} failed"
done
n=$(call export_list | field 'len(d)')
ok "export_list shows four exports on one listener" [ "$n" = 4 ]

# ---- qemu-img / qemu-io ----
head -c 16M /dev/urandom >"$dir/src.raw"
qemu-img convert -n -f raw -O raw "$dir/src.raw" "$(U ram)" 2>/dev/null
ok "qemu-img convert to nbd+unix://" [ $? -eq 0 ]
ok "qemu-img compare over nbd+unix://" qemu-img compare -q -f raw -F raw "$dir/src.raw" "$(U ram)" 2>/dev/null
qemu-img convert -f raw -O raw "nbd://127.0.0.1:$port/ram" "$dir/back.raw" 2>/dev/null
ok "qemu-img convert from nbd:// (TCP)" cmp -n 16777216 "$dir/src.raw" "$dir/back.raw"
qemu-io -f raw -c "write -P 0xa5 20M 1M" -c "write -P 0x5a 21M 4k" "$(U ram)" >/dev/null 2>&1
out=$(qemu-io -f raw -c "read -P 0xa5 20M 1M" -c "read -P 0x5a 21M 4k" "nbd://127.0.0.1:$port/ram" 2>&1)
ok "qemu-io writes -P patterns and reads them back over TCP" bash -c "! grep -qi 'mismatch\|fail' <<<\"\$1\" && grep -q 'read 4096/4096' <<<\"\$1\"" _ "$out"
out=$(qemu-io -f raw -c "write -z 22M 1M" -c "read -P 0 22M 1M" -c "discard 23M 1M" -c "flush" -c "write -F 24M 64k" "$(U ram)" 2>&1)
ok "write-zeroes, discard, flush and FUA writes" bash -c "! grep -qi 'mismatch\|fail\|error' <<<\"\$1\"" _ "$out"

# ---- nbdinfo ----
out=$(nbdinfo --json "$(U ram)" 2>&1)
ok "nbdinfo: size and export flags" bash -c "python3 -c '
import json,sys
d=json.loads(sys.argv[1])[\"exports\"][0]
assert d[\"export-size\"]==67108864, d
assert d[\"can_flush\"] and d[\"can_fua\"] and d[\"can_trim\"] and d[\"can_zero\"] and d[\"can_multi_conn\"] and d[\"can_cache\"] and d[\"can_fast_zero\"]
assert not d[\"is_read_only\"]
assert d[\"block_size_minimum\"]==512 and d[\"block_size_maximum\"]==33554432
assert d[\"description\"]==\"scratch disk\"
assert \"base:allocation\" in d[\"contexts\"]
' \"\$1\"" _ "$out"
ok "nbdinfo: the read-only export says so" bash -c "nbdinfo --json '$(U ro)' | grep -q '\"is_read_only\": true'"
ok "nbdinfo --list shows every export" bash -c "[ \$(nbdinfo --list --json '$(U ram)' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"exports\"]))') = 4 ]"
map=$(nbdinfo --map "$(U sparse)" 2>&1)
echo "$map" | sed 's/^/# sparse: /'
ok "nbdinfo --map: holes on the sparse file" grep -q "hole" <<<"$map"
ok "nbdinfo --map: data where the file was written" bash -c "grep -qE '^ *8388608 +2097152 +0 +data' <<<\"\$1\"" _ "$map"
map=$(nbdinfo --map "$(U vm)" 2>&1)
echo "$map" | sed 's/^/# qcow2: /'
ok "nbdinfo --map: holes on the qcow2 image" grep -q "hole" <<<"$map"
ok "nbdinfo --map: the qcow2's allocated clusters are data" bash -c "grep -qE '^ *4194304 +1048576 +0 +data' <<<\"\$1\"" _ "$map"
out=$(qemu-img map --output=json "$(U vm)" 2>/dev/null)
ok "qemu-img map sees the qcow2 layout through NBD" bash -c "python3 -c '
import json,sys
m=json.loads(sys.argv[1])
assert any(e[\"data\"] and e[\"start\"]==4194304 for e in m), m
assert any(not e[\"data\"] for e in m), m
' \"\$1\"" _ "$out"
qemu-io -f raw -c "read -P 0x22 32M 64k" "$(U vm)" >"$dir/qio" 2>&1
ok "the qcow2 image's data reads back" bash -c "! grep -qi mismatch '$dir/qio' && grep -q 'read 65536' '$dir/qio'"

# ---- nbdcopy ----
nbdcopy "$dir/src.raw" "$(U ram)" 2>/dev/null
ok "nbdcopy into the export" [ $? -eq 0 ]
nbdcopy "$(U ram)" "$dir/copy.raw" 2>/dev/null
ok "nbdcopy out of the export, data equal" cmp -n 16777216 "$dir/src.raw" "$dir/copy.raw"
nbdcopy "$(U sparse)" "$dir/sparse.copy" 2>/dev/null
ok "nbdcopy of the sparse file is equal and sparse" bash -c "cmp '$dir/sparse.raw' '$dir/sparse.copy' && [ \$(du -k '$dir/sparse.copy' | cut -f1) -lt 8192 ]"

# ---- fio ----
if fio --enghelp 2>/dev/null | grep -qw nbd; then
    out=$(nice fio --name=nbdv --ioengine=nbd --uri="$(U ram)" --rw=randwrite --bs=4k \
        --iodepth=32 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
        --output-format=json 2>&1)
    ok "fio nbd engine, depth 32, randwrite + crc32c verify" bash -c "python3 -c '
import json,sys
t=sys.argv[1]; d=json.loads(t[t.index(\"{\"):])[\"jobs\"][0]
assert d[\"error\"]==0 and d[\"write\"][\"io_bytes\"]>0 and d[\"read\"][\"io_bytes\"]>0, d[\"error\"]
' \"\$1\"" _ "$out"
else
    ok "# SKIP fio without the nbd engine" true
fi

# ---- several clients at once (multi-conn) ----
pids=()
for i in 0 1 2 3; do
    qemu-io -f raw -c "write -P 0x$((i + 1))$((i + 1)) $((40 + i))M 1M" "$(U ram)" >/dev/null 2>&1 &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
ok "four qemu-io clients write at once" [ $rc -eq 0 ]
good=0
for i in 0 1 2 3; do
    qemu-io -f raw -c "read -P 0x$((i + 1))$((i + 1)) $((40 + i))M 1M" "$(U ram)" 2>&1 | grep -qi mismatch || good=$((good + 1))
done
ok "each client's data is there" [ $good -eq 4 ]
call bdev_create '{"name":"zero","type":"malloc","params":{"size":"64M"}}' >/dev/null
call export_add "{\"id\":\"n-zero\",\"type\":\"nbd\",\"bdev\":\"zero\",\"name\":\"zero\",\"unix\":\"$nsock\",\"tcp\":\"127.0.0.1:0\"}" >/dev/null
out=$(nice "$K" blkperf --nbd "$(U zero)" -w randrw --verify -t 2 -q 16 -j 2 2>&1)
echo "$out" | sed 's/^/# /'
ok "kvmkit blkperf's NBD engine, 2 connections, randrw with verify" \
    bash -c "grep -q IOPS <<<\"\$1\" && ! grep -q 'verify failures: [1-9]' <<<\"\$1\" && ! grep -q 'errors: [1-9]' <<<\"\$1\"" _ "$out"

# ---- malformed requests ----
for c in bad_magic unknown_command read_past_end structured_error oversized bad_flags \
    truncated_payload options bad_option_magic block_status; do
    ok "malformed: $c" timeout 30 python3 "$RAW" "$nsock" ram "$c"
done
ok "malformed: writes to a read-only export" timeout 30 python3 "$RAW" "$nsock" ro read_only
ok "a client vanishing with 32 reads pending" timeout 30 python3 "$RAW" "$nsock" ram pending_disconnect
sleep 0.3
ok "the server is still up and serving" bash -c "kill -0 $pid && timeout 10 python3 '$RAW' '$nsock' ram good"
errs=$(call export_list | field 'max(e["state"]["counters"]["protocol_errors"] for e in d)')
ok "protocol errors are counted" [ "${errs:-0}" -ge 2 ]

# ---- TLS ----
tls=$dir/tls
mkdir -p "$tls/client"
(
    cd "$tls" &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca-cert.pem -days 2 \
            -subj "/CN=kvmkit test CA" &&
        openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr \
            -subj "/CN=localhost" &&
        printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" >ext.cnf &&
        openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial \
            -out server-cert.pem -days 2 -extfile ext.cnf &&
        cp ca-cert.pem client/
) >/dev/null 2>&1
out=$(call export_add "{\"id\":\"t0\",\"type\":\"nbd\",\"bdev\":\"ram\",\"name\":\"ram\",\"unix\":\"$dir/tls.sock\",\"tcp\":\"127.0.0.1:0\",\"tls_cert\":\"$tls/server-cert.pem\",\"tls_key\":\"$tls/server-key.pem\",\"tls_required\":true}")
tport=$(field 'd["state"]["tcp_port"]' <<<"$out")
ok "a TLS-only export with a certificate made by the test" [ "${tport:-0}" -gt 0 ]
obj="tls-creds-x509,id=tls0,dir=$tls/client,endpoint=client"
img="driver=nbd,host=127.0.0.1,port=$tport,export=ram,tls-creds=tls0"
out=$(timeout 30 qemu-io --object "$obj" --image-opts "$img" -c "write -P 0x77 30M 1M" -c "read -P 0x77 30M 1M" 2>&1)
ok "qemu-io over TLS writes and reads back" bash -c "grep -q 'read 1048576/1048576' <<<\"\$1\" && ! grep -qi mismatch <<<\"\$1\"" _ "$out"
timeout 30 qemu-img convert --object "$obj" --image-opts "$img" -O raw "$dir/tls.raw" 2>/dev/null
ok "qemu-img convert over TLS, data equal to the plain export" \
    bash -c "qemu-img compare -q -f raw -F raw '$dir/tls.raw' '$(U ram)'"
ok "a plain client is refused by the TLS-only export" bash -c "! timeout 10 qemu-img info 'nbd://127.0.0.1:$tport/ram' >/dev/null 2>&1"
n=$(call export_list | field '[e for e in d if e["id"]=="t0"][0]["state"]["counters"]["tls_sessions"]')
ok "TLS sessions are counted" [ "${n:-0}" -ge 2 ]

# ---- the handshake limit ----
# A socket whose exports allow 1 s to choose an export: a client that
# connects and says nothing is closed; one that chose its export may then
# stay idle (2 s) and still read.
hsock=$dir/hs.sock
call export_add "{\"id\":\"n-hs\",\"type\":\"nbd\",\"bdev\":\"ram\",\"name\":\"ram\",\"unix\":\"$hsock\",\"handshake_limit\":1}" >/dev/null
ok "export_add with handshake_limit 1 s" [ $? -eq 0 ]
python3 - "$hsock" >"$dir/hs.out" 2>&1 <<'EOF'
import socket, struct, sys, time
def connect():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
    g = b""
    while len(g) < 18:
        g += s.recv(18 - len(g))
    return s
# 1: silent after the greeting.
s = connect(); t0 = time.monotonic()
try:
    closed = s.recv(1) == b""
except OSError:
    closed = True
print("silent: closed=%s after %.1f s" % (closed, time.monotonic() - t0))
# 2: OPT_GO for "ram", then idle, then a 512-byte read.
s = connect()
s.sendall(struct.pack(">I", 3))
n = b"ram"
s.sendall(struct.pack(">QII", 0x49484156454F5054, 7, 4 + len(n) + 2) + struct.pack(">I", len(n)) + n + b"\0\0")
buf = b""
while True:
    while len(buf) < 20:
        buf += s.recv(4096)
    magic, opt, typ, ln = struct.unpack(">QIII", buf[:20])
    while len(buf) < 20 + ln:
        buf += s.recv(4096)
    buf = buf[20 + ln:]
    if typ == 1:          # NBD_REP_ACK
        break
    if typ & 0x80000000:
        print("go refused", typ); sys.exit(1)
time.sleep(2)
s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 7, 0, 512))
r = b""
while len(r) < 16 + 512:
    d = s.recv(4096)
    if not d:
        break
    r += d
magic, err, handle = struct.unpack(">IIQ", r[:16])
print("idle after GO: read ok=%s" % (magic == 0x67446698 and err == 0 and handle == 7 and len(r) == 528))
EOF
ok "a client silent after the greeting is closed within the limit ($(head -1 "$dir/hs.out"))" \
    bash -c "grep -Eq '^silent: closed=True after [0-2]\.' '$dir/hs.out'"
ok "a client that chose its export may idle past the limit and still read" \
    grep -q "idle after GO: read ok=True" "$dir/hs.out"
[ "$tap_failed" -gt 0 ] && sed 's/^/# /' "$dir/hs.out"
ok "the closing is logged with its reason" grep -q "handshake limit" "$dir/blkd.log"
call export_remove '{"id":"n-hs"}' >/dev/null
call export_add "{\"id\":\"n-bad\",\"type\":\"nbd\",\"bdev\":\"ram\",\"name\":\"x\",\"unix\":\"$dir/bad.sock\",\"handshake_limit\":-1}" >"$dir/bad.out" 2>&1
ok "a negative handshake_limit is refused, saying why" grep -q "handshake_limit: seconds" "$dir/bad.out"

# ---- export removal closes its connections ----
python3 - "$nsock" >"$dir/hold.out" 2>&1 <<'EOF' &
import socket, struct, sys, time
sys.path.insert(0, "")
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
s.recv(18); s.sendall(struct.pack(">I", 3))
n = b"zero"
s.sendall(struct.pack(">QII", 0x49484156454F5054, 7, 4 + len(n) + 2) + struct.pack(">I", 4) + n + b"\0\0")
time.sleep(0.2)
while s.recv(65536):
    pass
print("closed")
EOF
hold=$!
sleep 0.5
call export_remove '{"id":"n-zero"}' >/dev/null
ok "export_remove returns" [ $? -eq 0 ]
wait $hold
ok "the connected client was disconnected" grep -q closed "$dir/hold.out"
ok "the bdev is released (can be deleted)" bash -c "'$K' rpc -s '$rpc' bdev_delete '{\"name\":\"zero\"}' >/dev/null"

kill "$pid"
wait "$pid"
ok "kvmkit-blkd shuts down cleanly" [ $? -eq 0 ]
pid=""
if [ $tap_failed -gt 0 ]; then
    echo "# --- blkd log (tail) ---"
    tail -40 "$dir/blkd.log" | sed 's/^/# /'
fi
tap_exit
