/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: lib/guestfs partition tables (MBR with its EBR chain,
 * and GPT when a protective MBR is present) over a disk held in memory.
 * Input: the disk's first bytes (the corpus holds small tables made by
 * sfdisk and by hand). Every call returns 0 or a negative errno with a
 * message; every partition listed lies inside the disk and opens as a
 * slice whose first and last bytes can be read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "part.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gf_dev *d;
    if (gf_dev_from_memory(data, size, "fuzz.img", &d) < 0)
        abort();
    struct gfs_part_table *t = NULL;
    char err[512] = "";
    int rc = gfs_part_read(d, &t, err, sizeof(err));
    if (rc > 0 || (rc < 0 && (t || strncmp(err, "fuzz.img: ", 10) != 0)))
        abort();
    for (size_t i = 0; t && i < t->count; i++) {
        const struct gfs_partition *p = &t->parts[i];
        if (p->start > size || p->size > size - p->start || !p->size)
            abort();
        struct gf_dev *s;
        if (gfs_part_open(d, t, i, &s) < 0)
            abort();
        uint8_t b;
        if (gf_dev_pread(s, &b, 1, 0) < 0 || gf_dev_pread(s, &b, 1, p->size - 1) < 0)
            abort();
        gf_dev_close(s);
    }
    gfs_part_free(t);
    gf_dev_close(d);
    return 0;
}
