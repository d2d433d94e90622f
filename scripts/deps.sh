#!/bin/sh
# Install the Debian packages that kvmkit's build, tests and benchmarks need.
# Idempotent: installs only what is missing. Runs apt-get as root, or through
# sudo when not root. Usage: scripts/deps.sh [--check]
#   --check   exit 1 if something is missing, install nothing.
set -eu

# Build: compiler, Meson/Ninja, libraries.
BUILD_PKGS="gcc make meson ninja-build pkg-config libjansson-dev liburing-dev zlib1g-dev libzstd-dev libpcap-dev libbpf-dev libssl-dev libedit-dev libfuse3-dev"
# Tests: unit tests (cmocka), sanitizers and fuzzers (clang + compiler-rt).
TEST_PKGS="libcmocka-dev clang libclang-rt-14-dev python3"
# Anchors and peers: dpdk-dev has dpdk-test (ring benchmark) and dpdk-testpmd
# (vhost-user integration tests and benchmarks).
BENCH_PKGS="dpdk-dev"
# Storage peers: nbdkit (benchmark anchor), nbdinfo/nbdcopy (NBD client tests),
# openssl (test certificates for NBD over TLS).
STORAGE_PKGS="nbdkit libnbd-bin openssl"
# End-to-end tests: QEMU (TCG) and the test guest's contents (tests/e2e/guest/build.sh).
E2E_PKGS="qemu-system-x86 qemu-utils iproute2 iputils-ping tshark busybox-static fio iperf3 ethtool nbd-client cpio gzip xz-utils kmod file"

# Switch tests and benchmark (bench/switch, tests/lib/ovs.sh): Open vSwitch as
# a peer and anchor (userspace datapath and the DPDK build), scapy, tshark and
# iperf3 for traffic, iproute2/ping for namespaces and veths; Debian's
# ovs-testcontroller as a real OpenFlow controller (tests/integration).
SWITCH_PKGS="openvswitch-switch openvswitch-switch-dpdk openvswitch-testcontroller python3-scapy tshark iperf3 iproute2 iputils-ping"

# lib/guestfs tests (tests/integration/guestfs_part_test.sh,
# tests/unit/guestfs_ext4): partitioners (sfdisk, sgdisk), mkfs.*, blkid to
# compare against, mke2fs/e2fsck/debugfs for the ext test images and
# setfattr/getfattr (attr) to give the source trees xattrs; fuse3
# (fusermount3) for `kvmkit mount` and its test (libfuse3-dev in BUILD_PKGS).
GUESTFS_PKGS="fdisk gdisk util-linux e2fsprogs dosfstools mtools xfsprogs btrfs-progs cryptsetup-bin attr fuse3"

# libguestfs itself, as the reference kvmkit's guestfs tools are compared with
# (tests/guestfs/libguestfs-ref.py makes tests/guestfs/ref/) and the anchor of
# bench/guestfs/guestfs.py. Its appliance boots this kernel through supermin;
# under nested KVM run it with LIBGUESTFS_BACKEND=direct
# LIBGUESTFS_BACKEND_SETTINGS=force_tcg (check: libguestfs-test-tool).
GUESTFS_REF_PKGS="libguestfs-tools linux-image-amd64"

PKGS="$BUILD_PKGS $TEST_PKGS $BENCH_PKGS $STORAGE_PKGS $E2E_PKGS $SWITCH_PKGS $GUESTFS_PKGS $GUESTFS_REF_PKGS"

# The tests run private Open vSwitch instances (tests/lib/ovs.sh); the
# package's system service must not run beside them (it would hold a PMD
# thread, hugepages or /var/run/openvswitch). Stop and disable it, with or
# without systemd. Idempotent.
quiet_system_ovs() {
    [ -e /usr/sbin/ovs-vswitchd ] || return 0
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl disable --now openvswitch-switch.service ovs-vswitchd.service \
            ovsdb-server.service >/dev/null 2>&1 || true
        $SUDO systemctl disable --now openvswitch-testcontroller.service >/dev/null 2>&1 || true
    else
        for svc in openvswitch-switch openvswitch-testcontroller; do
            if [ -x /etc/init.d/$svc ]; then
                $SUDO /etc/init.d/$svc stop >/dev/null 2>&1 || true
            fi
        done
        if command -v update-rc.d >/dev/null 2>&1; then
            $SUDO update-rc.d openvswitch-switch disable >/dev/null 2>&1 || true
            $SUDO update-rc.d openvswitch-testcontroller disable >/dev/null 2>&1 || true
        fi
    fi
    # Whatever still runs from the system rundir (never the private instances,
    # whose pidfiles live elsewhere).
    for d in ovs-vswitchd ovsdb-server; do
        pidfile=/var/run/openvswitch/$d.pid
        if [ -f "$pidfile" ]; then
            pid=$(cat "$pidfile" 2>/dev/null || true)
            if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                $SUDO kill "$pid" 2>/dev/null || true
            fi
        fi
    done
}

# supermin builds libguestfs's appliance from the host's kernel, which must be
# readable by the user running libguestfs (some kernels are installed 0600:
# "supermin: failed to find a suitable kernel"). Idempotent.
readable_kernels() {
    for k in /boot/vmlinuz-*; do
        [ -e "$k" ] || continue
        if [ -n "$(find "$k" ! -perm -0004)" ]; then
            $SUDO chmod 0644 "$k"
        fi
    done
}

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi


missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    if [ "${1:-}" != "--check" ]; then
        quiet_system_ovs
        readable_kernels
    fi
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "missing packages:$missing" >&2
    exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
quiet_system_ovs
readable_kernels
