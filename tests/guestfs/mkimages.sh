#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build kvmkit's guestfs test images, bit for bit reproducibly, with Debian 12's
# own tools (e2fsprogs 1.47.0, dosfstools 4.2, mtools 4.0.32, util-linux 2.38,
# qemu-utils 7.2): the same sha256 on every run and every Debian 12 machine.
#
# Usage: tests/guestfs/mkimages.sh OUTDIR [--check]
#   --check   build twice (the second time in another directory, a second
#             later) and fail unless every image is identical.
# Prints "sha256  name" of each image. No root needed. About 5 s.
#
# Images (tests/guestfs/README.md describes their contents):
#   ext4.img       whole-disk ext4 (4 KiB blocks): files of many kinds, owners,
#                  modes, xattrs, symlinks, a hard link, device nodes, a FIFO,
#                  a sparse file, an indexed (htree) directory of 400 files
#   mbr.img        MBR: ext2 primary 1, extended 2 with vfat (FAT16) logical 5
#                  and ext4 (1 KiB blocks) logical 6
#   debian.img     GPT: EFI system partition (FAT16), ext4 root of a fake
#                  Debian 12 (inspectable), swap
#   debian.qcow2   compressed qcow2 copy of debian.img
#   fat32.img      whole-disk FAT32 with long and Unicode names
#   backing.qcow2  ext4 (1 KiB blocks) in qcow2
#   overlay.qcow2  qcow2 over backing.qcow2 (relative backing name) in which
#                  /hello.txt was changed
#
# How reproducibility is obtained:
#   - mke2fs: fixed -U UUID and -E hash_seed, E2FSPROGS_FAKE_TIME for the
#     superblock times and for the inodes e2fsprogs creates, the committed
#     mke2fs.conf (MKE2FS_CONFIG), LC_ALL=C.UTF-8 (mke2fs -d adds a
#     directory's entries in alphasort order); mke2fs -d copies atime, mtime
#     and ctime from the source tree, and ctime cannot be set there, so
#     debugfs then sets all four times, owners and modes of every inode and
#     makes the device nodes, FIFO and xattrs (mktree.py writes the script);
#     e2fsck -fyD indexes the large directory (E2FSCK_TIME: e2fsck ignores
#     E2FSPROGS_FAKE_TIME for s_wtime and s_lastcheck).
#   - FAT: mkfs.fat --invariant with -i SERIAL; mtools with SOURCE_DATE_EPOCH
#     and TZ=UTC (FAT times are local times), files copied one by one in
#     sorted order with mcopy -m (keeps mtimes).
#   - sfdisk scripts with label-id and per-partition uuid=; mkswap -U.
#   - qemu-img convert -m 1 (one coroutine: clusters allocated in order);
#     the overlay is written by qemu-io, only the 4 KiB blocks that differ.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
    echo "usage: $0 OUTDIR [--check]" >&2
    exit 2
fi
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

for tool in python3 mke2fs debugfs e2fsck mkfs.fat mcopy mmd sfdisk mkswap qemu-img qemu-io; do
    if ! command -v $tool >/dev/null; then
        echo "$0: $tool is missing (scripts/deps.sh)" >&2
        exit 1
    fi
done

if [ "${2:-}" = "--check" ]; then
    second=$(mktemp -d)
    trap 'rm -rf "$second"' EXIT
    "$0" "$OUT" >"$second/sums1"
    sleep 1.1
    "$0" "$second/imgs" >"$second/sums2"
    if ! diff "$second/sums1" "$second/sums2" >&2; then
        echo "$0: NOT reproducible" >&2
        exit 1
    fi
    cat "$second/sums1"
    exit 0
fi

# 2024-01-02 03:04:05 UTC, as mktree.py's T0.
export SOURCE_DATE_EPOCH=1704164645
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH E2FSCK_TIME=$SOURCE_DATE_EPOCH
export E2FSCK_CONFIG=/dev/null
export MKE2FS_CONFIG=$HERE/mke2fs.conf
export TZ=UTC LC_ALL=C.UTF-8
export MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null MTOOLS_LOWER_CASE=0 MTOOLS_NO_VFAT=0

work=$(mktemp -d "${TMPDIR:-/tmp}/kvmkit-gfsimg.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkfile() { rm -f "$1"; truncate -s "$2" "$1"; }

# mkext FS TREE SIZE UUID HASH_SEED MKFS_OPTION...: an ext2/3/4 filesystem
# image FS holding mktree.py's TREE.
mkext() {
    local fs=$1 tree=$2 size=$3 uuid=$4 seed=$5
    shift 5
    python3 "$HERE/mktree.py" "$tree" "$work/$tree" "$work/$tree.debugfs"
    mkfile "$fs" "$size"
    mke2fs -q -F -U "$uuid" -E "hash_seed=$seed,root_owner=0:0" -d "$work/$tree" "$@" "$fs"
    # debugfs reports a command's failure but exits 0: any output other than
    # the banner, the echoed commands and mknod's inode number is a failure.
    debugfs -w -f "$work/$tree.debugfs" "$fs" >"$work/debugfs.out" 2>&1
    if grep -Ev '^(debugfs[: ]|Allocated inode: [0-9]+$)' "$work/debugfs.out" | grep -q .; then
        echo "$0: debugfs on $fs:" >&2
        cat "$work/debugfs.out" >&2
        exit 1
    fi
    local rc=0
    e2fsck -fyD "$fs" >"$work/e2fsck.out" 2>&1 || rc=$?
    if [ $rc -gt 1 ]; then
        echo "$0: e2fsck $fs: exit $rc" >&2
        cat "$work/e2fsck.out" >&2
        exit 1
    fi
    # A second check must find nothing to change.
    if ! e2fsck -fn "$fs" >"$work/e2fsck.out" 2>&1; then
        echo "$0: $fs is not clean:" >&2
        cat "$work/e2fsck.out" >&2
        exit 1
    fi
}

# mkfat FS TREE SIZE SERIAL LABEL MKFS_OPTION...: a FAT filesystem image.
mkfat() {
    local fs=$1 tree=$2 size=$3 serial=$4 label=$5
    shift 5
    python3 "$HERE/mktree.py" "$tree" "$work/$tree"
    mkfile "$fs" "$size"
    if [ -n "$label" ]; then
        mkfs.fat --invariant -i "$serial" -n "$label" "$@" "$fs" >/dev/null
    else
        mkfs.fat --invariant -i "$serial" "$@" "$fs" >/dev/null
    fi
    # One entry at a time, parents first, in a fixed order (mcopy -s would
    # follow the host's readdir order).
    (cd "$work/$tree" && find . -mindepth 1 -print0 | sort -z) |
        while IFS= read -r -d '' p; do
            p=${p#./}
            if [ -d "$work/$tree/$p" ]; then
                mmd -i "$fs" "::/$p"
            else
                mcopy -m -i "$fs" "$work/$tree/$p" "::/$p"
            fi
        done
}

# put DISK START_SECTOR FS: copy a filesystem image into a partition.
put() { dd if="$3" of="$1" bs=512 seek="$2" conv=notrunc,sparse status=none; }

qconvert() { qemu-img convert -m 1 -O qcow2 -o compat=1.1,cluster_size=65536 "$@"; }

# a. ext4.img
mkext "$OUT/ext4.img" ext4 32M 6b766d6b-6974-4000-8000-000000000e44 \
    0f0e0d0c-0b0a-4908-8706-050403020100 -t ext4 -b 4096 -L kvmkit-ext4

# b. mbr.img: 40 MiB; ext2 primary 1 (8 MiB, bootable), extended 2 to the
# end, vfat logical 5 (16 MiB), ext4 logical 6 (12 MiB).
mkext "$work/p1.fs" mbr-ext2 8M 6b766d6b-6974-4000-8000-000000000e02 \
    1a1b1c1d-1e1f-4a2b-8c2d-2e2f30313233 -t ext2 -L mbr-ext2
mkfat "$work/p5.fs" mbr-vfat 16M 4D425235 "MBR VFAT"
mkext "$work/p6.fs" mbr-ext4 12M 6b766d6b-6974-4000-8000-000000000e46 \
    2a2b2c2d-2e2f-4a3b-8c3d-3e3f40414243 -t ext4 -L mbr-ext4
mkfile "$work/mbr.img" 40M
sfdisk -q "$work/mbr.img" <<'EOF'
label: dos
label-id: 0x4b564d31
unit: sectors

start=2048, size=16384, type=83, bootable
start=18432, type=5
start=20480, size=32768, type=e
start=55296, size=24576, type=83
EOF
put "$work/mbr.img" 2048 "$work/p1.fs"
put "$work/mbr.img" 20480 "$work/p5.fs"
put "$work/mbr.img" 55296 "$work/p6.fs"
mv "$work/mbr.img" "$OUT/mbr.img"

# c. debian.img (64 MiB GPT) and debian.qcow2. The UUIDs match mktree.py's
# /etc/fstab.
mkfat "$work/esp.fs" esp 16M 4B564D4B ""
mkext "$work/root.fs" debian 39M 3d1e0a4f-6c3b-4b7e-9d2a-1f2e3d4c5b6a \
    7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b -t ext4 -b 4096
mkfile "$work/swap.fs" 7M
mkswap -U 5f0c2a1e-8b7d-4e6f-a1b2-c3d4e5f60718 "$work/swap.fs" >/dev/null 2>&1
mkfile "$work/debian.img" 64M
sfdisk -q "$work/debian.img" <<'EOF'
label: gpt
label-id: 9B1E3F2A-6C5D-4E7F-8091-A2B3C4D5E6F7
unit: sectors

start=2048, size=32768, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=0C3D5E7F-1A2B-4C3D-8E4F-5A6B7C8D9E01, name="EFI System Partition"
start=34816, size=79872, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=0C3D5E7F-1A2B-4C3D-8E4F-5A6B7C8D9E02, name="root"
start=114688, size=14336, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, uuid=0C3D5E7F-1A2B-4C3D-8E4F-5A6B7C8D9E03, name="swap"
EOF
put "$work/debian.img" 2048 "$work/esp.fs"
put "$work/debian.img" 34816 "$work/root.fs"
put "$work/debian.img" 114688 "$work/swap.fs"
mv "$work/debian.img" "$OUT/debian.img"
rm -f "$OUT/debian.qcow2"
qconvert -c -f raw "$OUT/debian.img" "$OUT/debian.qcow2"

# d. fat32.img: whole-disk FAT32.
mkfat "$work/fat32.img" fat 40M 46333231 "KVMKIT FAT" -F 32
mv "$work/fat32.img" "$OUT/fat32.img"

# e. backing.qcow2 and overlay.qcow2: the same ext4 built twice, the second
# time with /hello.txt changed; the overlay holds the blocks that differ.
mkext "$work/v1.fs" backing 16M 6b766d6b-6974-4000-8000-00000000ba5e \
    3a3b3c3d-3e3f-4a4b-8c4d-4e4f50515253 -t ext4 -L backing
mkext "$work/v2.fs" overlay 16M 6b766d6b-6974-4000-8000-00000000ba5e \
    3a3b3c3d-3e3f-4a4b-8c4d-4e4f50515253 -t ext4 -L backing
rm -f "$OUT/backing.qcow2" "$OUT/overlay.qcow2"
qconvert -f raw "$work/v1.fs" "$OUT/backing.qcow2"
(cd "$OUT" && qemu-img create -q -f qcow2 -o compat=1.1,cluster_size=65536 \
    -b backing.qcow2 -F qcow2 overlay.qcow2)
python3 - "$work/v1.fs" "$work/v2.fs" "$work" >"$work/qemu-io.args" <<'EOF'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert len(a) == len(b)
n = 0
for off in range(0, len(a), 4096):
    if a[off:off + 4096] != b[off:off + 4096]:
        chunk = "%s/chunk%d" % (sys.argv[3], n)
        open(chunk, "wb").write(b[off:off + 4096])
        print("-c\nwrite -q -s %s %d 4096" % (chunk, off))
        n += 1
assert n > 0
EOF
mapfile -t qio <"$work/qemu-io.args"
(cd "$OUT" && qemu-io -f qcow2 "${qio[@]}" overlay.qcow2)
if ! qemu-img compare -q -f qcow2 -F raw "$OUT/overlay.qcow2" "$work/v2.fs"; then
    echo "$0: overlay.qcow2 does not read as the changed filesystem" >&2
    exit 1
fi

cd "$OUT"
sha256sum ext4.img mbr.img debian.img debian.qcow2 fat32.img backing.qcow2 overlay.qcow2
