/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gfs_dump IMAGE [FORMAT] — what lib/guestfs sees in a disk image, as
 * tab-separated lines, for tests/integration/guestfs_part_test.sh to compare
 * with sfdisk -J and blkid -p:
 *   table  TYPE(dos|gpt|none)  SECTOR_SIZE  DISK_ID
 *   part   N  START_SECTOR  SIZE_SECTORS  TYPE  UUID  BOOTABLE  NAME
 *   probe  N(0 = whole disk)  TYPE  UUID  LABEL  VERSION
 *   warning TEXT
 * MBR TYPE is the type byte in hex ("83"), GPT TYPE and UUID are GUIDs in
 * upper case (as sfdisk prints them). Exit 1 with the error on stderr.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gf_dev.h"
#include "part.h"
#include "probe.h"

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

static int probe(struct gf_dev *d, unsigned n)
{
    struct gfs_probe_result r;
    char err[256];
    if (gfs_probe(d, &r, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("probe\t%u\t%s\t%s\t%s\t%s\n", n, r.type, r.uuid, r.label, r.version);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    struct gf_dev *d;
    struct gfs_part_table *t;
    char err[512];
    if (gf_dev_open_image(argv[1], argc > 2 ? argv[2] : NULL, &d, err, sizeof(err)) < 0 ||
        gfs_part_read(d, &t, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int rc = 0;
    char g1[37], g2[37];
    if (t->type == GFS_TABLE_GPT) {
        gfs_guid_format(t->disk_guid, g1);
        upper(g1);
    } else {
        snprintf(g1, sizeof(g1), "0x%08x", t->mbr_signature);
    }
    printf("table\t%s\t%u\t%s\n", t->type == GFS_TABLE_MBR ? "dos" : t->type == GFS_TABLE_GPT ? "gpt" : "none",
           t->sector_size, g1);
    for (size_t i = 0; i < t->nwarnings; i++)
        printf("warning\t%s\n", t->warnings[i]);
    for (size_t i = 0; i < t->count; i++) {
        const struct gfs_partition *p = &t->parts[i];
        if (t->type == GFS_TABLE_GPT) {
            gfs_guid_format(p->type_guid, g1);
            gfs_guid_format(p->unique_guid, g2);
            upper(g1);
            upper(g2);
        } else {
            snprintf(g1, sizeof(g1), "%x", p->mbr_type);
            g2[0] = 0;
        }
        printf("part\t%u\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t%d\t%s\n", p->number, p->first_lba,
               p->last_lba - p->first_lba + 1, g1, g2, p->bootable, p->name);
    }
    if (t->count == 0) {
        rc |= probe(d, 0);
    }
    for (size_t i = 0; i < t->count; i++) {
        if (t->parts[i].extended)
            continue;
        struct gf_dev *pd;
        if (gfs_part_open(d, t, i, &pd) < 0)
            return 1;
        rc |= probe(pd, t->parts[i].number);
        gf_dev_close(pd);
    }
    gfs_part_free(t);
    gf_dev_close(d);
    return rc;
}
