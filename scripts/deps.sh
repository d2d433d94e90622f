#!/bin/sh
# Install the Debian packages that kvmkit's build, tests and benchmarks need.
# Idempotent: installs only what is missing. Runs apt-get as root, or through
# sudo when not root. Usage: scripts/deps.sh [--check]
#   --check   exit 1 if something is missing, install nothing.
set -eu

# Build: compiler, Meson/Ninja, libraries.
BUILD_PKGS="gcc make meson ninja-build pkg-config libjansson-dev liburing-dev zlib1g-dev libzstd-dev libpcap-dev libbpf-dev libssl-dev"
# Tests: unit tests (cmocka), sanitizers and fuzzers (clang + compiler-rt).
TEST_PKGS="libcmocka-dev clang libclang-rt-14-dev python3"
# Anchors and peers: dpdk-dev has dpdk-test (ring benchmark) and dpdk-testpmd
# (vhost-user integration tests and benchmarks).
BENCH_PKGS="dpdk-dev"
# Storage peers: nbdkit (benchmark anchor), nbdinfo/nbdcopy (NBD client tests),
# openssl (test certificates for NBD over TLS).
STORAGE_PKGS="nbdkit libnbd-bin openssl"
# End-to-end tests: QEMU (TCG) and the test guest's contents (tests/e2e/guest/build.sh).
E2E_PKGS="qemu-system-x86 qemu-utils iproute2 iputils-ping tshark busybox-static fio iperf3 cpio gzip xz-utils kmod file"

PKGS="$BUILD_PKGS $TEST_PKGS $BENCH_PKGS $STORAGE_PKGS $E2E_PKGS"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "missing packages:$missing" >&2
    exit 1
fi

echo "deps.sh: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
