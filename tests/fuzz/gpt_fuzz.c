/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the GPT reader. The input is the disk from LBA 1 on
 * (header, entry array, partitions, backup); the target puts a protective
 * MBR in front so that every input reaches the GPT code (primary header,
 * CRCs, backup fallback, entry checks, UTF-16 names). Results must be 0 or
 * a negative errno with a message naming the image; partitions lie inside
 * the disk; names are NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "part.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (4u << 20))
        return 0;
    size_t len = 512 + size;
    uint8_t *disk = calloc(1, len);
    if (!disk)
        return 0;
    uint8_t *e = disk + 446;
    e[4] = 0xEE;
    e[8] = 1;
    memset(e + 12, 0xff, 4);
    disk[510] = 0x55;
    disk[511] = 0xAA;
    memcpy(disk + 512, data, size);
    struct gf_dev *d;
    if (gf_dev_from_memory(disk, len, "fuzz.img", &d) < 0)
        abort();
    struct gfs_part_table *t = NULL;
    char err[512] = "";
    int rc = gfs_part_read(d, &t, err, sizeof(err));
    if (rc > 0 || (rc < 0 && (t || strncmp(err, "fuzz.img: ", 10) != 0)))
        abort();
    for (size_t i = 0; t && i < t->count; i++) {
        const struct gfs_partition *p = &t->parts[i];
        if (p->start > len || p->size > len - p->start ||
            !memchr(p->name, 0, sizeof(p->name)))
            abort();
    }
    gfs_part_free(t);
    gf_dev_close(d);
    free(disk);
    return 0;
}
