/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.h — what a device (a whole disk or a partition) holds, like
 * `blkid -p`: the type, UUID, label and version of ext2/ext3/ext4 and
 * vfat (FAT12/16/32), and the type, UUID and label of xfs, btrfs, swap,
 * LVM2 physical volumes and LUKS containers (identified only: lib/guestfs
 * does not read them).
 *
 * Names and formats follow blkid's: TYPE "ext4", "vfat", "swap",
 * "LVM2_member", "crypto_LUKS"; a vfat UUID is its volume serial
 * "XXXX-XXXX"; an LVM2 PV UUID is its 32 characters split 6-4-4-4-4-4-6.
 * ext2/3/4 are told apart by their feature flags as blkid does: features
 * beyond ext3's (extents, 64bit, flex_bg, metadata_csum, ...) make ext4,
 * otherwise a journal makes ext3, otherwise ext2.
 *
 * Every read is bounds-checked by gf_dev; a device too small for a
 * structure simply does not match it. FAT root-directory walks are bounded.
 * Threads: like gf_dev, one thread at a time per device.
 */
#ifndef GFS_PROBE_H
#define GFS_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "gf_dev.h"

struct gfs_probe_result {
    char type[16];     /* blkid TYPE; "" when nothing was recognised */
    char usage[16];    /* blkid USAGE: "filesystem", "other", "raid", "crypto" */
    char version[16];  /* blkid VERSION ("1.0", "FAT32", "1", "LVM2 001"), or "" */
    char uuid[48];     /* blkid UUID, or "" */
    char label[260];   /* blkid LABEL (UTF-8 as stored; FAT bytes >= 0x80 as '?'), or "" */
    bool readable;     /* lib/guestfs reads (or will read) files in it: ext*, vfat */
};

/*
 * Probe @dev. Returns 0 with @r filled (r->type "" if unrecognised), or
 * -EIO when a read of the image failed (@err says which), -EINVAL for NULL
 * arguments. A corrupt structure is "unrecognised", not an error.
 */
int gfs_probe(struct gf_dev *dev, struct gfs_probe_result *r, char *err, size_t errlen);

#endif
