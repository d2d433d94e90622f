/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virt_filesystems.c — `kvmkit virt-filesystems`: the filesystems,
 * partitions and block devices of disk images, printed like libguestfs's
 * virt-filesystems (same options, columns, "-" for empty fields, column
 * alignment, CSV quoting, -h sizes), read in-process by lib/guestfs.
 *
 * Built on the handle (guestfs.h): devices are the handle's /dev/sdXN. A
 * filesystem's Size is what libguestfs 1.48 prints: its statvfs size
 * (f_blocks * f_bsize, as the kernel computes it) for a filesystem that
 * can be mounted, else the size of its device (swap, unknown, and the
 * types lib/guestfs identifies but does not read: xfs, btrfs).
 *
 * Differences from libguestfs (docs/guestfs-tools.md): LVM (--lvs, --vgs,
 * --pvs) is not read yet, so PVs are listed neither as filesystems nor as
 * pvs; xfs and btrfs sizes are device sizes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_tool.h"
#include "guestfs.h"
#include "guestfs_cli.h"

enum {
    OUT_FILESYSTEMS = 1,
    OUT_FILESYSTEMS_EXTRA = 2,
    OUT_PARTITIONS = 4,
    OUT_BLOCKDEVS = 8,
    OUT_LVS = 16,
    OUT_VGS = 32,
    OUT_PVS = 64,
};

enum { COL_NAME, COL_TYPE, COL_VFS, COL_LABEL, COL_MBR, COL_SIZE, COL_PARENT, COL_UUID, NCOLS };

struct out {
    bool csv, human, title;
    unsigned columns; /* bit per COL_ */
    char ***rows;     /* text mode: saved to align columns */
    size_t nrows;
    size_t width[NCOLS];
};

void virt_filesystems_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit virt-filesystems [OPTIONS] -a IMAGE [-a IMAGE ...]\n"
            "\n"
            "List the filesystems, partitions and block devices in disk images (raw or\n"
            "qcow2), like libguestfs's virt-filesystems, without booting anything.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE        a disk image (repeat for more disks: /dev/sda, sdb, ...)\n"
            "  --format FMT           format of the following -a images: raw, qcow2, auto\n"
            "  --filesystems          list filesystems (the default)\n"
            "  --extra                also list swap and unknown filesystems\n"
            "  --partitions           list partitions\n"
            "  --block-devices        list block devices\n"
            "  --all                  all of the above\n"
            "  -l, --long             long format: type, size, parent, ...\n"
            "  --uuid                 with --long, add the UUID column\n"
            "  -h, --human-readable   sizes like 1.0G\n"
            "  --csv                  comma-separated values\n"
            "  --no-title             no heading line in --long mode\n"
            "  --help                 show this help\n"
            "\n"
            "Exit status: 0, 1 if an image cannot be read, 2 on a usage error.\n");
}

static int write_strings(struct out *o, const char *const *s)
{
    if (o->csv) {
        bool first = true;
        for (int c = 0; c < NCOLS; c++) {
            if (!(o->columns & 1u << c))
                continue;
            if (!first)
                putchar(',');
            first = false;
            if (s[c])
                tool_csv_field(stdout, s[c]);
        }
        putchar('\n');
        return 0;
    }
    char **row = calloc(NCOLS, sizeof(*row));
    char ***rows = realloc(o->rows, (o->nrows + 1) * sizeof(*rows));
    if (!row || !rows) {
        free(row);
        if (rows)
            o->rows = rows;
        return -ENOMEM;
    }
    o->rows = rows;
    o->rows[o->nrows++] = row;
    for (int c = 0; c < NCOLS; c++) {
        if (!(o->columns & 1u << c) || !s[c])
            continue;
        row[c] = strdup(s[c]);
        if (!row[c])
            return -ENOMEM;
        size_t w = strlen(s[c]) ? strlen(s[c]) : 1; /* "" prints as "-" */
        if (w > o->width[c])
            o->width[c] = w;
    }
    return 0;
}

static int write_row(struct out *o, const char *name, const char *type, const char *vfs,
                     const char *label, int mbr_id, int64_t size, const char *parent,
                     const char *uuid)
{
    char mbr[16], sz[32];
    const char *s[NCOLS] = {name, type, vfs, label, NULL, NULL, parent, uuid};
    if (mbr_id >= 0) {
        snprintf(mbr, sizeof(mbr), "%02x", (unsigned)mbr_id);
        s[COL_MBR] = mbr;
    }
    if (size >= 0) {
        if (o->human)
            tool_human_size((uint64_t)size, sz);
        else
            snprintf(sz, sizeof(sz), "%" PRId64, size);
        s[COL_SIZE] = sz;
    }
    return write_strings(o, s);
}

static void flush_rows(struct out *o)
{
    /* Two spaces between columns unless that passes 72 characters. */
    size_t total = 0, gap = 2;
    for (int c = 0; c < NCOLS; c++)
        total += o->width[c] + 2;
    if (total > 72)
        gap = 1;
    for (size_t i = 0; i < o->nrows; i++) {
        char **row = o->rows[i];
        size_t pad = 0;
        for (int c = 0; c < NCOLS; c++) {
            if (!o->width[c])
                continue;
            printf("%*s", (int)pad, "");
            const char *v = row[c] && row[c][0] ? row[c] : "-";
            fputs(v, stdout);
            pad = o->width[c] - strlen(v) + gap;
            free(row[c]);
        }
        putchar('\n');
        free(row);
    }
    free(o->rows);
    o->rows = NULL;
    o->nrows = 0;
}

static bool lists_as_filesystem(const struct gfs_probe_result *r, unsigned output)
{
    /* PVs are LVM's, not filesystems; swap and unknown only with --extra. */
    if (strcmp(r->type, "LVM2_member") == 0)
        return false;
    if (!(output & OUT_FILESYSTEMS_EXTRA) && (!r->type[0] || strcmp(r->type, "swap") == 0))
        return false;
    return true;
}

/* libguestfs mounts the filesystem and reports statvfs's total size; what
 * cannot be mounted gets its device's size. */
static int64_t filesystem_size(struct gfs_handle *h, const struct gfs_device *d)
{
    struct gfs_fs *fs;
    struct gfs_statvfs st;
    if (d->probe.readable && gfs_device_fs(h, d, &fs) == 0 && gfs_fs_statvfs(fs, &st) == 0)
        return (int64_t)(st.blocks * st.bsize);
    return (int64_t)d->size;
}

static int fs_row(struct out *o, unsigned output, struct gfs_handle *h, const struct gfs_device *d)
{
    const struct gfs_probe_result *r = &d->probe;
    if (!lists_as_filesystem(r, output))
        return 0;
    int64_t size = (o->columns & 1u << COL_SIZE) ? filesystem_size(h, d) : -1;
    return write_row(o, d->name, "filesystem", r->type[0] ? r->type : "unknown", r->label, -1,
                     size, NULL, r->uuid);
}

static bool whole_disk_filesystem(struct gfs_handle *h, const struct gfs_device *d)
{
    const struct gfs_part_table *t = gfs_disk_table(h, d->disk);
    return !d->is_partition && (!t || t->count == 0);
}

static int output_filesystems(struct out *o, unsigned output, struct gfs_handle *h)
{
    /* libguestfs lists whole-device filesystems first, then partitions. */
    for (size_t i = 0; i < gfs_ndevices(h); i++) {
        const struct gfs_device *d = gfs_device_at(h, i);
        if (whole_disk_filesystem(h, d)) {
            int rc = fs_row(o, output, h, d);
            if (rc < 0)
                return rc;
        }
    }
    for (size_t i = 0; i < gfs_ndevices(h); i++) {
        const struct gfs_device *d = gfs_device_at(h, i);
        if (!d->is_partition || d->extended)
            continue;
        int rc = fs_row(o, output, h, d);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int output_partitions(struct out *o, struct gfs_handle *h)
{
    for (size_t i = 0; i < gfs_ndevices(h); i++) {
        const struct gfs_device *d = gfs_device_at(h, i);
        if (!d->is_partition)
            continue;
        const struct gfs_part_table *t = gfs_disk_table(h, d->disk);
        const struct gfs_device *parent = NULL;
        for (size_t k = 0; k < gfs_ndevices(h) && !parent; k++) {
            const struct gfs_device *p = gfs_device_at(h, k);
            if (!p->is_partition && p->disk == d->disk)
                parent = p;
        }
        int rc = write_row(o, d->name, "partition", NULL, NULL,
                           t && t->type == GFS_TABLE_MBR ? d->part->mbr_type : -1,
                           (int64_t)d->size, parent ? parent->name : NULL, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int virt_filesystems_main(int argc, char **argv)
{
    enum { OPT_FORMAT = 256, OPT_ALL, OPT_FS, OPT_EXTRA, OPT_PARTS, OPT_BLK, OPT_LVS, OPT_VGS,
           OPT_PVS, OPT_CSV, OPT_UUID, OPT_NO_TITLE, OPT_HELP };
    static const struct option opts[] = {
        {"add", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"all", no_argument, NULL, OPT_ALL},
        {"filesystems", no_argument, NULL, OPT_FS},
        {"extra", no_argument, NULL, OPT_EXTRA},
        {"partitions", no_argument, NULL, OPT_PARTS},
        {"block-devices", no_argument, NULL, OPT_BLK},
        {"blkdevs", no_argument, NULL, OPT_BLK},
        {"logical-volumes", no_argument, NULL, OPT_LVS},
        {"lvs", no_argument, NULL, OPT_LVS},
        {"volume-groups", no_argument, NULL, OPT_VGS},
        {"vgs", no_argument, NULL, OPT_VGS},
        {"physical-volumes", no_argument, NULL, OPT_PVS},
        {"pvs", no_argument, NULL, OPT_PVS},
        {"long", no_argument, NULL, 'l'},
        {"human-readable", no_argument, NULL, 'h'},
        {"csv", no_argument, NULL, OPT_CSV},
        {"uuid", no_argument, NULL, OPT_UUID},
        {"uuids", no_argument, NULL, OPT_UUID},
        {"no-title", no_argument, NULL, OPT_NO_TITLE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct gfs_handle *h = NULL;
    size_t ndisks = 0;
    const char *format = NULL;
    int status = 0;
    tool_quiet_logs(false);
    if (gfs_handle_new(&h) < 0) {
        fprintf(stderr, "kvmkit virt-filesystems: out of memory\n");
        return 1;
    }
    unsigned output = 0;
    bool long_mode = false, uuid = false, no_title = false;
    struct out o = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+a:lh", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            /* opened now: the first unreadable image is the error */
            if (status == 0 && gfs_add_drive(h, optarg, format) < 0) {
                fprintf(stderr, "kvmkit virt-filesystems: %s\n", gfs_last_error(h));
                status = 1;
            }
            ndisks++;
            break;
        case OPT_FORMAT:
            format = strcmp(optarg, "auto") == 0 ? NULL : optarg;
            break;
        case OPT_ALL:
            output |= OUT_FILESYSTEMS | OUT_FILESYSTEMS_EXTRA | OUT_PARTITIONS | OUT_BLOCKDEVS |
                      OUT_LVS | OUT_VGS | OUT_PVS;
            break;
        case OPT_FS:
            output |= OUT_FILESYSTEMS;
            break;
        case OPT_EXTRA:
            output |= OUT_FILESYSTEMS | OUT_FILESYSTEMS_EXTRA;
            break;
        case OPT_PARTS:
            output |= OUT_PARTITIONS;
            break;
        case OPT_BLK:
            output |= OUT_BLOCKDEVS;
            break;
        case OPT_LVS:
            output |= OUT_LVS;
            break;
        case OPT_VGS:
            output |= OUT_VGS;
            break;
        case OPT_PVS:
            output |= OUT_PVS;
            break;
        case 'l':
            long_mode = true;
            break;
        case 'h':
            o.human = true;
            break;
        case OPT_CSV:
            o.csv = true;
            break;
        case OPT_UUID:
            uuid = true;
            break;
        case OPT_NO_TITLE:
            no_title = true;
            break;
        case OPT_HELP:
            virt_filesystems_help(stdout);
            gfs_handle_free(h);
            return 0;
        default:
            virt_filesystems_help(stderr);
            gfs_handle_free(h);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "kvmkit virt-filesystems: extra argument '%s' on the command line\n",
                argv[optind]);
        gfs_handle_free(h);
        return 2;
    }
    if (o.human && o.csv) {
        fprintf(stderr, "kvmkit virt-filesystems: you cannot use -h and --csv options together.\n");
        gfs_handle_free(h);
        return 2;
    }
    if (!ndisks) {
        fprintf(stderr, "kvmkit virt-filesystems: you must specify at least one -a option.\n");
        gfs_handle_free(h);
        return 2;
    }
    if (!output)
        output = OUT_FILESYSTEMS;
    o.columns = 1u << COL_NAME;
    if (long_mode) {
        o.columns |= 1u << COL_TYPE | 1u << COL_SIZE | 1u << COL_PARENT;
        if (output & OUT_FILESYSTEMS)
            o.columns |= 1u << COL_VFS | 1u << COL_LABEL;
        if (output & OUT_PARTITIONS)
            o.columns |= 1u << COL_MBR;
        if (uuid)
            o.columns |= 1u << COL_UUID;
    }
    o.title = long_mode && !no_title;

    if (status)
        goto out;
    if (gfs_launch(h) < 0) {
        fprintf(stderr, "kvmkit virt-filesystems: %s\n", gfs_last_error(h));
        status = 1;
        goto out;
    }
    /* A disk whose partition table is malformed is an error here (the
     * handle would read it as one whole disk). */
    bool bad_table = false;
    for (size_t i = 0; i < gfs_ndisks(h); i++)
        bad_table |= gfs_disk_table(h, (unsigned)i) == NULL;
    for (size_t w = 0; w < gfs_nwarnings(h); w++)
        fprintf(stderr, bad_table ? "kvmkit virt-filesystems: %s\n"
                                  : "kvmkit virt-filesystems: warning: %s\n",
                gfs_warning(h, w));
    if (bad_table) {
        status = 1;
        goto out;
    }
    int rc = 0;
    if (o.title) {
        static const char *const head[NCOLS] = {"Name", "Type", "VFS", "Label",
                                                "MBR", "Size", "Parent", "UUID"};
        rc = write_strings(&o, head);
    }
    if (rc == 0 && (output & OUT_FILESYSTEMS))
        rc = output_filesystems(&o, output, h);
    if (rc == 0 && (output & OUT_PARTITIONS))
        rc = output_partitions(&o, h);
    for (size_t i = 0; rc == 0 && (output & OUT_BLOCKDEVS) && i < gfs_ndevices(h); i++) {
        const struct gfs_device *d = gfs_device_at(h, i);
        if (!d->is_partition)
            rc = write_row(&o, d->name, "device", NULL, NULL, -1, (int64_t)d->size, NULL, NULL);
    }
    if (rc < 0) {
        if (rc == -ENOMEM)
            fprintf(stderr, "kvmkit virt-filesystems: out of memory\n");
        status = 1;
    }
    if (!o.csv)
        flush_rows(&o);
out:
    gfs_handle_free(h);
    return status;
}
