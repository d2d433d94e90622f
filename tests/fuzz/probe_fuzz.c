/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: blkid-like probing (ext2/3/4, vfat with its root
 * directory walk, xfs, btrfs, swap, LVM2, LUKS) of a device held in memory.
 * The whole input is probed, then a slice from offset 512 (a partition).
 * Results are 0 with NUL-terminated strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(struct gf_dev *d)
{
    struct gfs_probe_result r;
    char err[256];
    if (gfs_probe(d, &r, err, sizeof(err)) != 0)
        abort();
    if (!memchr(r.type, 0, sizeof(r.type)) || !memchr(r.uuid, 0, sizeof(r.uuid)) ||
        !memchr(r.label, 0, sizeof(r.label)) || !memchr(r.version, 0, sizeof(r.version)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gf_dev *d, *s;
    if (gf_dev_from_memory(data, size, "fuzz.img", &d) < 0)
        abort();
    check(d);
    if (size > 512 && gf_dev_slice(d, 512, size - 512, "fuzz.img:p1", &s) == 0) {
        check(s);
        gf_dev_close(s);
    }
    gf_dev_close(d);
    return 0;
}
