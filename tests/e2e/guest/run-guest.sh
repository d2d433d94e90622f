#!/bin/bash
# Boot the kvmkit e2e test guest under QEMU (TCG) and run a script in it.
#
# Usage: tests/e2e/guest/run-guest.sh --script FILE [--timeout SECONDS] [--log FILE]
#            [--append KERNEL_ARGS] [--quiet] [-- EXTRA_QEMU_ARGS...]
#
#   --script FILE    shell script run by the guest's busybox sh (via fw_cfg opt/run)
#   --timeout SECS   kill QEMU after this long (default 120); exit 124
#   --log FILE       also keep the serial console output in FILE
#   --append ARGS    extra kernel command line arguments
#   --quiet          do not copy the console to stdout
#   -- ARGS...       passed to QEMU as is, e.g.
#                    -- -drive file=disk.img,if=virtio,format=raw
#                    -- -chardev socket,id=c0,path=/tmp/vu.sock \
#                       -netdev vhost-user,id=n0,chardev=c0 -device virtio-net-pci,netdev=n0
#
# Guest memory is a shared memfd backend (memory-backend-memfd,share=on, NUMA
# node 0), so vhost-user backends can map it.
#
# Exit status: the guest script's status; 124 on timeout; 125 when the runner
# fails (bad usage, guest not built, QEMU failed) or the guest stopped without
# reporting a status (e.g. a kernel panic).
#
# Environment:
#   KVMKIT_GUEST_DIR     guest directory (default <repo>/build/guest, see build.sh)
#   KVMKIT_GUEST_MEM     guest RAM (default 512M)
#   KVMKIT_GUEST_SMP     vCPUs (default 1; on 2 host cores more is slower)
#   KVMKIT_GUEST_APPEND  extra kernel command line arguments
#   KVMKIT_QEMU          QEMU binary (default qemu-system-x86_64)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
GUEST_DIR=${KVMKIT_GUEST_DIR:-$ROOT/build/guest}
MEM=${KVMKIT_GUEST_MEM:-512M}
SMP=${KVMKIT_GUEST_SMP:-1}
QEMU=${KVMKIT_QEMU:-qemu-system-x86_64}

usage() { # usage [STATUS]
    sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit "${1:-125}"
}
err() { echo "run-guest: $*" >&2; }

SCRIPT="" TIMEOUT=120 LOG="" APPEND="${KVMKIT_GUEST_APPEND:-}" QUIET=0
while [ $# -gt 0 ]; do
    case $1 in
    --script) [ $# -ge 2 ] || usage; SCRIPT=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
    --log) [ $# -ge 2 ] || usage; LOG=$2; shift 2 ;;
    --append) [ $# -ge 2 ] || usage; APPEND="$APPEND $2"; shift 2 ;;
    --quiet) QUIET=1; shift ;;
    --) shift; break ;;
    -h | --help) usage 0 ;;
    *) err "unknown argument: $1"; usage ;;
    esac
done
EXTRA=("$@")

[ -n "$SCRIPT" ] || { err "--script is required"; usage; }
[ -f "$SCRIPT" ] || { err "no such script: $SCRIPT"; exit 125; }
case $TIMEOUT in '' | *[!0-9]*) err "--timeout wants whole seconds"; exit 125 ;; esac
for f in vmlinux initramfs.cpio.gz; do
    [ -f "$GUEST_DIR/$f" ] || { err "$GUEST_DIR/$f missing; run tests/e2e/guest/build.sh"; exit 125; }
done
command -v "$QEMU" >/dev/null || { err "$QEMU not found (scripts/deps.sh)"; exit 125; }

TMPLOG=""
if [ -z "$LOG" ]; then
    TMPLOG=$(mktemp "${TMPDIR:-/tmp}/kvmkit-guest.XXXXXX") || exit 125
    LOG=$TMPLOG
fi
: >"$LOG" || { err "cannot write $LOG"; exit 125; }

QERR=$(mktemp "${TMPDIR:-/tmp}/kvmkit-qemu-stderr.XXXXXX") || exit 125
QPID="" TPID=""
stop_qemu() {
    [ -n "$QPID" ] || return 0
    if kill -0 "$QPID" 2>/dev/null; then
        kill -TERM "$QPID" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$QPID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$QPID" 2>/dev/null
    fi
    wait "$QPID" 2>/dev/null
    QPID=""
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    stop_qemu
    if [ -n "$TPID" ]; then
        kill "$TPID" 2>/dev/null
        wait "$TPID" 2>/dev/null
    fi
    rm -f "$QERR"
    if [ -n "$TMPLOG" ]; then rm -f "$TMPLOG"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# QEMU's option parser wants commas doubled inside values.
qesc() { printf '%s' "${1//,/,,}"; }

# shellcheck disable=SC2054  # the commas are QEMU's
QARGS=(
    -name kvmkit-guest
    -accel tcg,thread=multi -cpu max -smp "$SMP" -m "$MEM"
    -object "memory-backend-memfd,id=mem,size=$MEM,share=on" -numa node,memdev=mem
    -nodefaults -display none -no-reboot -monitor none
    -chardev "file,id=con0,path=$(qesc "$LOG")" -serial chardev:con0
    -kernel "$GUEST_DIR/vmlinux" -initrd "$GUEST_DIR/initramfs.cpio.gz"
    -append "console=ttyS0 quiet panic=-1 $APPEND"
    -fw_cfg "name=opt/run,file=$(qesc "$SCRIPT")"
)

# If this shell dies without running its traps (SIGKILL), QEMU gets SIGKILL.
PDEATH=()
if command -v setpriv >/dev/null && setpriv --help 2>&1 | grep -q pdeathsig; then
    PDEATH=(setpriv --pdeathsig KILL --)
fi

START=$SECONDS
# QEMU writes nothing to stdout/stderr normally; keep it aside for errors.
"${PDEATH[@]}" "$QEMU" "${QARGS[@]}" "${EXTRA[@]}" </dev/null >"$QERR" 2>&1 &
QPID=$!
if [ "$QUIET" = 0 ]; then
    tail -n +1 -s 0.2 -f --pid="$QPID" "$LOG" | sed -u 's/\r$//' &
    TPID=$!
fi

# Wait for the exit marker, QEMU's own exit or the deadline.
status=""
seen=""
while :; do
    if [ -z "$seen" ] && grep -qa 'KVMKIT-GUEST-EXIT [0-9]' "$LOG"; then
        seen=$SECONDS
    fi
    if ! kill -0 "$QPID" 2>/dev/null; then
        break
    fi
    # After the marker, poweroff should follow at once; don't wait forever.
    if [ -n "$seen" ] && [ $((SECONDS - seen)) -ge 10 ]; then
        err "guest reported its status but QEMU did not exit; killing it"
        break
    fi
    if [ $((SECONDS - START)) -gt "$TIMEOUT" ]; then
        status=124
        break
    fi
    sleep 0.2
done

QPID_WAS=$QPID
stop_qemu
if [ -n "$TPID" ]; then
    # tail exits by itself once QEMU is gone (--pid), after a last read.
    wait "$TPID" 2>/dev/null
    TPID=""
fi
if [ -s "$QERR" ]; then
    grep -v "terminating on signal" "$QERR" | sed "s/^/qemu: /" >&2
fi

elapsed=$((SECONDS - START))
if [ "$status" = 124 ]; then
    err "timeout after ${TIMEOUT}s; QEMU (pid $QPID_WAS) killed"
    exit 124
fi
status=$(tr -d '\r' <"$LOG" | sed -n 's/.*KVMKIT-GUEST-EXIT \([0-9]\{1,\}\)$/\1/p' | head -n 1)
if [ -z "$status" ]; then
    if grep -qa KVMKIT-GUEST-READY "$LOG"; then
        err "the guest stopped while running the script, without reporting a status (${elapsed}s)"
    else
        err "the guest stopped before running the script (${elapsed}s); see the console output"
    fi
    exit 125
fi
err "guest script exited with status $status (${elapsed}s)"
exit "$status"
