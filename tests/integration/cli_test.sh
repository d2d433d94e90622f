#!/bin/bash
# Integration test of the kvmkit CLI against a live JSON-RPC server.
# Usage: cli_test.sh KVMKIT RPC_TEST_SERVER     (prints TAP)
set -u
. "$(dirname "$0")/../tap.sh"
KVMKIT=$1
SERVER=$2
dir=$(mktemp -d)
sock=$dir/ctl.sock
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT


echo "1..14"

out=$("$KVMKIT" --version)
ok "--version prints the version" grep -Eq "^kvmkit [0-9]+\.[0-9]+\.[0-9]+$" <<<"$out"
out=$("$KVMKIT" --help)
ok "--help lists the rpc command" grep -q "^  rpc " <<<"$out"
"$KVMKIT" nosuchcommand >/dev/null 2>&1
ok "an unknown command exits 2" [ $? -eq 2 ]
"$KVMKIT" rpc >/dev/null 2>&1
ok "rpc without arguments exits 2" [ $? -eq 2 ]
"$KVMKIT" rpc -s "$sock" sum '[1,' >/dev/null 2>&1
ok "malformed PARAMS exit 2" [ $? -eq 2 ]
"$KVMKIT" rpc -s "$sock" sum >/dev/null 2>&1
ok "an unreachable daemon exits 3" [ $? -eq 3 ]

"$SERVER" "$sock" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done

out=$("$KVMKIT" rpc -s "$sock" sum '[1, 2, 39]')
ok "a call prints its result" [ "$out" = "42" ]
out=$("$KVMKIT" rpc -s "$sock" rpc.methods)
ok "rpc.methods lists registered methods" grep -q '"method": "sum"' <<<"$out"
err=$("$KVMKIT" rpc -s "$sock" fail 2>&1 >/dev/null)
rc=$?
ok "a remote error exits 1" [ $rc -eq 1 ]
ok "a remote error names code and message" grep -q "error -32000: no such thing" <<<"$err"
err=$("$KVMKIT" rpc -s "$sock" nosuch 2>&1 >/dev/null)
ok "an unknown method is reported" grep -q "error -32601" <<<"$err"
err=$("$KVMKIT" rpc -s "$sock" sum '["x"]' 2>&1 >/dev/null)
ok "invalid params are reported" grep -q "error -32602" <<<"$err"
kill -TERM $pid
wait $pid
ok "the server exits 0 on SIGTERM" [ $? -eq 0 ]
ok "the socket file is removed on shutdown" [ ! -e "$sock" ]

tap_exit
