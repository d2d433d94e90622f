#!/bin/bash
# Build the kvmkit end-to-end test guest:
#   OUTDIR/vmlinux             Debian's kernel, decompressed to the ELF image
#                              (PVH entry note: QEMU's -kernel boots it directly)
#   OUTDIR/initramfs.cpio.gz   busybox, virtio + fw_cfg + ext4 + nbd modules, fio,
#                              iperf3, nbd-client, /init
#   OUTDIR/kernel.release      the kernel's release string (uname -r)
#
# Usage: tests/e2e/guest/build.sh [OUTDIR]      (default: <repo>/build/guest)
#
# Idempotent and cached: the kernel package is downloaded and unpacked once per
# version (OUTDIR/cache), and the initramfs is rebuilt only when one of its
# inputs changed (kernel version, module list, this script, init, the host's
# busybox/fio/iperf3/nbd-client and their libraries). The kernel is NOT installed on the
# host: `apt-get download` + `dpkg-deb -x`.
#
# Environment:
#   KVMKIT_GUEST_KERNEL_META   meta package that names the kernel (linux-image-amd64)
#   KVMKIT_GUEST_EXTRA_MODULES extra kernel modules to load at boot (space separated)
#   KVMKIT_GUEST_EXTRA_BINS    extra host programs to copy in with their libraries
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/build/guest}

META=${KVMKIT_GUEST_KERNEL_META:-linux-image-amd64}
MODULES="virtio_pci virtio_net virtio_blk virtio_console qemu_fw_cfg ext4 nbd ${KVMKIT_GUEST_EXTRA_MODULES:-}"
BINS="fio iperf3 nbd-client ${KVMKIT_GUEST_EXTRA_BINS:-}"
BUSYBOX=/bin/busybox
INIT_SRC=$HERE/init

say() { echo "guest/build.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

for tool in apt-cache apt-get dpkg-deb depmod modprobe xz cpio gzip ldd ldconfig file flock sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (run scripts/deps.sh)"
done
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (busybox-static; run scripts/deps.sh)"
[ -f "$INIT_SRC" ] || die "$INIT_SRC missing"

mkdir -p "$OUT/cache"
OUT=$(cd "$OUT" && pwd)
CACHE=$OUT/cache

# One build at a time per OUTDIR (tests may run in parallel).
exec 9>"$OUT/.lock"
flock 9

# ---------------------------------------------------------------------------
# 1. Kernel: resolve, download, unpack, decompress.
# ---------------------------------------------------------------------------
# The meta package's candidate depends on the versioned image, normally with
# an exact version: "Depends: linux-image-6.1.0-NN-amd64 (= 6.1.x-y)".
# (Each apt-cache call costs ~1.5 s here: Debian images run without pkgcache.)
resolve_kernel() {
    local dep
    dep=$(apt-cache show --no-all-versions "$META" 2>/dev/null | sed -n 's/^Depends: //p' | head -n 1 |
        tr ',' '\n' | sed -n 's/^ *\(linux-image-[^ ]*\)\( (= \([^)]*\))\)\{0,1\}.*$/\1 \3/p' | head -n 1)
    KPKG=${dep%% *}
    KVERSION=${dep#* }
    [ -n "$KPKG" ] || return 1
    if [ -z "$KVERSION" ]; then
        KVERSION=$(apt-cache show --no-all-versions "$KPKG" 2>/dev/null |
            sed -n 's/^Version: //p' | head -n 1)
    fi
    [ -n "$KVERSION" ]
}
if ! resolve_kernel; then
    if [ "$(id -u)" = 0 ]; then
        say "cannot resolve $META from the apt lists; running apt-get update"
        apt-get update -qq
    fi
    resolve_kernel || die "cannot resolve the kernel package behind $META (apt-get update?)"
fi
KSTAMP="$KPKG $KVERSION"
KROOT=$CACHE/kernel-root

if [ -f "$CACHE/kernel.stamp" ] && [ "$(cat "$CACHE/kernel.stamp")" = "$KSTAMP" ] &&
    [ -f "$OUT/vmlinux" ] && [ -f "$OUT/kernel.release" ] && [ -d "$KROOT" ]; then
    say "kernel $KPKG $KVERSION: cached"
else
    say "kernel: $META -> $KPKG $KVERSION"
    rm -f "$CACHE/kernel.stamp"
    DEB=$CACHE/${KPKG}_${KVERSION}.deb
    if [ ! -f "$DEB" ]; then
        rm -rf "$CACHE/dl" && mkdir -p "$CACHE/dl"
        say "downloading $KPKG=$KVERSION"
        APTOPT=""
        # As root, apt drops to _apt for the download, which can't write here.
        [ "$(id -u)" = 0 ] && APTOPT="-o APT::Sandbox::User=root"
        # shellcheck disable=SC2086
        (cd "$CACHE/dl" && apt-get download -q $APTOPT "$KPKG=$KVERSION") >&2
        set -- "$CACHE"/dl/*.deb
        [ -f "$1" ] || die "apt-get download produced no .deb"
        mv "$1" "$DEB"
        rm -rf "$CACHE/dl"
    fi
    [ "$(dpkg-deb -f "$DEB" Package)" = "$KPKG" ] || die "$DEB is not $KPKG"
    # Keep only the current kernel's .deb.
    for d in "$CACHE"/linux-image-*.deb; do [ "$d" = "$DEB" ] || rm -f "$d"; done

    say "unpacking $(basename "$DEB")"
    rm -rf "$KROOT" "$KROOT.tmp"
    dpkg-deb -x "$DEB" "$KROOT.tmp"
    set -- "$KROOT.tmp"/lib/modules/*/
    if [ $# != 1 ] || [ ! -d "$1" ]; then die "expected exactly one lib/modules/<release> in $DEB"; fi
    KREL=$(basename "$1")
    VMLINUZ=$KROOT.tmp/boot/vmlinuz-$KREL
    [ -f "$VMLINUZ" ] || die "no boot/vmlinuz-$KREL in $DEB"
    if [ ! -f "$1/modules.dep" ]; then
        depmod -b "$KROOT.tmp" "$KREL"
    fi

    # The bzImage carries the kernel as an xz stream: find its magic
    # (FD 37 7A 58 5A 00) and decompress from there. The first candidate that
    # yields an ELF image wins; --single-stream stops at the stream's end and
    # ignores what follows it.
    say "extracting vmlinux from $(basename "$VMLINUZ")"
    found=""
    for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | cut -d: -f1); do
        if tail -c +$((off + 1)) "$VMLINUZ" | xz -dc --single-stream >"$OUT/vmlinux.tmp" 2>/dev/null ||
            [ -s "$OUT/vmlinux.tmp" ]; then
            if [ "$(head -c 4 "$OUT/vmlinux.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
                found=$off
                break
            fi
        fi
    done
    [ -n "$found" ] || die "no xz-compressed ELF kernel found in $VMLINUZ"
    file -b "$OUT/vmlinux.tmp" | grep -q '^ELF 64-bit' || die "extracted vmlinux is not a 64-bit ELF"
    if command -v readelf >/dev/null 2>&1 &&
        ! readelf -n "$OUT/vmlinux.tmp" | grep -q 'Xen.*0x00000012'; then
        say "warning: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) in vmlinux; -kernel may not boot it"
    fi
    mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
    mv "$KROOT.tmp" "$KROOT"
    echo "$KREL" >"$OUT/kernel.release"
    echo "$KSTAMP" >"$CACHE/kernel.stamp"
fi
KREL=$(cat "$OUT/kernel.release")

# ---------------------------------------------------------------------------
# 2. Initramfs.
# ---------------------------------------------------------------------------
# Resolve the module load order: dependencies first, each module once.
# `modprobe --show-depends` prints "insmod PATH" or "builtin NAME" lines.
MODPATHS=""
for m in $MODULES; do
    deps=$(modprobe -d "$KROOT" -S "$KREL" --show-depends "$m" 2>&1) ||
        die "module $m: $deps"
    while read -r kind arg _; do
        case $kind in
        insmod)
            case " $MODPATHS " in *" $arg "*) ;; *) MODPATHS="$MODPATHS $arg" ;; esac ;;
        builtin) ;;
        *) die "module $m: unexpected modprobe output: $kind $arg" ;;
        esac
    done <<<"$deps"
done

# Programs and every shared object they load (ldd: "x => /path (addr)" or
# "/path (addr)"), plus the dynamic loader.
BINPATHS=""
for b in $BINS; do
    p=$(command -v "$b") || die "'$b' not found on the host (run scripts/deps.sh)"
    BINPATHS="$BINPATHS $p"
done
LIBPATHS=""
for p in $BINPATHS; do
    out=$(ldd "$p") || die "ldd $p failed"
    if grep -q 'not found' <<<"$out"; then die "ldd $p: $(grep 'not found' <<<"$out")"; fi
    for l in $(sed -n 's/^[^/]*\(\/[^ ]*\) (0x[0-9a-f]*)$/\1/p' <<<"$out"); do
        case " $LIBPATHS " in *" $l "*) ;; *) LIBPATHS="$LIBPATHS $l" ;; esac
    done
done

# Fingerprint of every input; the stamp holds it.
fingerprint() {
    echo "kernel $KSTAMP $KREL"
    echo "modules $MODULES"
    echo "bins $BINS"
    sha256sum "$HERE/build.sh" "$INIT_SRC"
    for f in $BUSYBOX $BINPATHS $LIBPATHS $MODPATHS; do
        stat -L -c '%n %s %Y' "$f"
    done
}
FP=$(fingerprint | sha256sum | cut -d' ' -f1)
if [ -f "$OUT/initramfs.cpio.gz" ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$FP" ]; then
    say "initramfs: cached ($OUT)"
    exit 0
fi
rm -f "$OUT/stamp"
say "building initramfs for $KREL"

ST=$OUT/initramfs.tmp
rm -rf "$ST"
mkdir -p "$ST"
# Merged-/usr layout, like the host, so ldd's paths and the loader's agree.
mkdir -p "$ST"/usr/bin "$ST"/usr/sbin "$ST"/usr/lib "$ST"/usr/lib64 \
    "$ST"/dev "$ST"/proc "$ST"/sys "$ST"/tmp "$ST"/run "$ST"/root "$ST"/etc/kvmkit "$ST"/mnt
ln -s usr/bin "$ST/bin"
ln -s usr/sbin "$ST/sbin"
ln -s usr/lib "$ST/lib"
ln -s usr/lib64 "$ST/lib64"
chmod 1777 "$ST/tmp"

# busybox and its applets.
cp "$BUSYBOX" "$ST/usr/bin/busybox"
for a in $("$BUSYBOX" --list-full); do
    case $a in */*) ;; *) continue ;; esac # skip root-level ones (linuxrc)
    [ -e "$ST/$a" ] || [ -L "$ST/$a" ] || ln -s /usr/bin/busybox "$ST/$a"
done

# Kernel modules at their usual paths, decompressed, plus the list in load order.
: >"$ST/etc/kvmkit/modules"
for p in $MODPATHS; do
    rel=${p#"$KROOT"/lib/modules/"$KREL"/}
    case $rel in
    *.ko.xz) dst=${rel%.xz}; mkdir -p "$ST/lib/modules/$KREL/$(dirname "$dst")"; xz -dc "$p" >"$ST/lib/modules/$KREL/$dst" ;;
    *.ko.gz) dst=${rel%.gz}; mkdir -p "$ST/lib/modules/$KREL/$(dirname "$dst")"; gzip -dc "$p" >"$ST/lib/modules/$KREL/$dst" ;;
    *.ko.zst) dst=${rel%.zst}; mkdir -p "$ST/lib/modules/$KREL/$(dirname "$dst")"; zstd -qdc "$p" >"$ST/lib/modules/$KREL/$dst" ;;
    *.ko) dst=$rel; mkdir -p "$ST/lib/modules/$KREL/$(dirname "$dst")"; cp "$p" "$ST/lib/modules/$KREL/$dst" ;;
    *) die "unexpected module file $p" ;;
    esac
    echo "$dst" >>"$ST/etc/kvmkit/modules"
done
# modules.dep & co. for the subset, so busybox modprobe works in the guest too.
for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$KROOT/lib/modules/$KREL/$f" ] && cp "$KROOT/lib/modules/$KREL/$f" "$ST/lib/modules/$KREL/"
done
depmod -b "$ST" "$KREL"

# Programs and libraries at the host's paths (symlinks resolved).
# (rm first: a program may replace a busybox applet link of the same name.)
for p in $BINPATHS; do
    rm -f "$ST/usr/bin/$(basename "$p")"
    cp -L "$p" "$ST/usr/bin/$(basename "$p")"
done
for l in $LIBPATHS; do
    mkdir -p "$ST$(dirname "$l")"
    rm -f "$ST$l"
    cp -L "$l" "$ST$l"
done
# A loader cache covering every directory a library landed in (e.g. ceph/).
for l in $LIBPATHS; do dirname "$l"; done | sort -u >"$ST/etc/ld.so.conf"
ldconfig -r "$ST" -X 2>/dev/null || say "warning: ldconfig -r failed; relying on default paths and RUNPATH"

# Minimal /etc.
echo "root:x:0:0:root:/root:/bin/sh" >"$ST/etc/passwd"
echo "root:x:0:" >"$ST/etc/group"
printf '127.0.0.1\tlocalhost kvmkit-guest\n::1\tlocalhost ip6-localhost\n' >"$ST/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ST/etc/nsswitch.conf"
echo kvmkit-guest >"$ST/etc/hostname"
echo "$KREL" >"$ST/etc/kvmkit/kernel.release"

install -m 0755 "$INIT_SRC" "$ST/init"

# newc cpio, owned by root, sorted, fixed mtimes and inode numbers: the
# archive depends only on its contents.
find "$ST" -exec touch -h -d @0 {} +
(cd "$ST" && find . -mindepth 1 | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -6 -n >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
rm -rf "$ST"
echo "$FP" >"$OUT/stamp"
say "done: $OUT/vmlinux, $OUT/initramfs.cpio.gz ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1)), kernel $KREL"
