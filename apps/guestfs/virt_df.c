/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virt_df.c — `kvmkit virt-df`: free space on the filesystems of disk
 * images, like libguestfs's virt-df -a: every filesystem lib/guestfs
 * reads (swap and unrecognised ones left out, as virt-df skips them), in
 * libguestfs's order (filesystems on whole disks, then on partitions),
 * its statvfs(2) figures as the kernel computes them, printed in virt-df's
 * columns:
 *
 *   Filesystem                           1K-blocks       Used  Available  Use%
 *   disk.img:/dev/sda1                       26596       2816      21492   11%
 *
 * The name is the last -a image's file name, as virt-df uses. -h prints
 * sizes like 26M; -i inodes; --csv the VirtualMachine and Filesystem
 * columns apart and Use% with one decimal.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gfs_opts.h"
#include "gfs_tool.h"
#include "guestfs_cli.h"

#define PROG "virt-df"

struct df {
    bool csv, human, inodes;
};

void virt_df_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit virt-df [OPTIONS] -a IMAGE [-a IMAGE ...]\n"
            "\n"
            "Show free space on the filesystems of disk images (raw or qcow2), like\n"
            "libguestfs's virt-df, read in-process without booting anything.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE        a disk image (repeat for more disks of the same guest)\n"
            "  --format FMT           format of the following -a images: raw, qcow2, auto\n"
            "  -h, --human-readable   sizes like 26M\n"
            "  -i, --inodes           inodes instead of blocks\n"
            "  --csv                  comma-separated values\n"
            "  --one-per-guest        accepted (one guest is read at a time anyway)\n"
            "  --uuid                 accepted (images have no libvirt UUID)\n"
            "  -v, --verbose          print warnings from reading the images\n"
            "  --help                 show this help\n"
            "\n"
            "Exit status: 0; 1 when an image cannot be read; 2 on a usage error.\n");
}

static void print_title(const struct df *d)
{
    const char *cols[6] = {"VirtualMachine", "Filesystem"};
    if (!d->inodes) {
        cols[2] = d->human ? "Size" : "1K-blocks";
        cols[3] = "Used";
        cols[4] = "Available";
        cols[5] = "Use%";
    } else {
        cols[2] = "Inodes";
        cols[3] = "IUsed";
        cols[4] = "IFree";
        cols[5] = "IUse%";
    }
    if (!d->csv) {
        printf("%-36s%10s %10s %10s %5s\n", cols[1], cols[2], cols[3], cols[4], cols[5]);
        return;
    }
    for (int i = 0; i < 6; i++) {
        if (i)
            putchar(',');
        tool_csv_field(stdout, cols[i]);
    }
    putchar('\n');
}

static void print_stat(const struct df *d, const char *name, const char *dev,
                       const struct gfs_statvfs *st)
{
    char buf[4][TOOL_HUMAN_MAX + 16];
    /* virt-df keeps the percentage in a float: the same rounding here */
    float percent;
    if (!d->inodes) {
        if (!d->human) {
            /* 1 KiB units, rounded down (vfat's 512-byte blocks too) */
            snprintf(buf[0], sizeof(buf[0]), "%" PRIu64, st->blocks * st->bsize / 1024);
            snprintf(buf[1], sizeof(buf[1]), "%" PRIu64,
                     (st->blocks - st->bfree) * st->bsize / 1024);
            snprintf(buf[2], sizeof(buf[2]), "%" PRIu64, st->bavail * st->bsize / 1024);
        } else {
            tool_human_size(st->blocks * st->bsize, buf[0]);
            tool_human_size((st->blocks - st->bfree) * st->bsize, buf[1]);
            tool_human_size(st->bavail * st->bsize, buf[2]);
        }
        percent = st->blocks ? (float)(100. - 100. * (double)st->bfree / (double)st->blocks) : 0;
    } else {
        snprintf(buf[0], sizeof(buf[0]), "%" PRIu64, st->files);
        snprintf(buf[1], sizeof(buf[1]), "%" PRIu64, st->files - st->ffree);
        snprintf(buf[2], sizeof(buf[2]), "%" PRIu64, st->ffree);
        percent = st->files ? (float)(100. - 100. * (double)st->ffree / (double)st->files) : 0;
    }
    if (!d->csv)
        snprintf(buf[3], sizeof(buf[3]), "%3.0f%%", ceil(percent));
    else
        snprintf(buf[3], sizeof(buf[3]), "%.1f", (double)percent);
    if (!d->csv) {
        size_t len = strlen(name) + strlen(dev) + 1;
        printf("%s:%s", name, dev);
        if (len <= 36)
            printf("%*s", (int)(36 - len), "");
        else
            printf("\n%36s", "");
        printf("%10s %10s %10s %5s\n", buf[0], buf[1], buf[2], buf[3]);
        return;
    }
    tool_csv_field(stdout, name);
    putchar(',');
    tool_csv_field(stdout, dev);
    for (int i = 0; i < 4; i++) {
        putchar(',');
        tool_csv_field(stdout, buf[i]);
    }
    putchar('\n');
}

/* A device holding a filesystem on its own: a partition, or a whole disk
 * without a partition table. */
static bool holds_filesystem(struct gfs_handle *h, const struct gfs_device *d)
{
    if (d->extended)
        return false;
    if (d->is_partition)
        return true;
    const struct gfs_part_table *t = gfs_disk_table(h, d->disk);
    return !t || t->count == 0;
}

static void df_handle(const struct df *d, struct gfs_handle *h, const char *name)
{
    /* libguestfs's list-filesystems order: whole disks first, then partitions */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < gfs_ndevices(h); i++) {
            const struct gfs_device *dev = gfs_device_at(h, i);
            if (dev->is_partition != (pass == 1) || !holds_filesystem(h, dev))
                continue;
            const char *type = dev->probe.type;
            if (!type[0] || strcmp(type, "swap") == 0 || strcmp(type, "LVM2_member") == 0)
                continue;
            struct gfs_fs *fs;
            struct gfs_statvfs st;
            /* virt-df shows what it can mount and says nothing of the rest */
            if (gfs_device_fs(h, dev, &fs) < 0 || gfs_fs_statvfs(fs, &st) < 0)
                continue;
            print_stat(d, name, dev->name, &st);
        }
    }
}

int virt_df_main(int argc, char **argv)
{
    enum { OPT_CSV = 256, OPT_HELP, OPT_ONE, OPT_UUID, OPT_FORMAT = GFS_OPT_FORMAT };
    static const struct option opts[] = {
        {"add", required_argument, NULL, 'a'},
        {"csv", no_argument, NULL, OPT_CSV},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, OPT_HELP},
        {"human-readable", no_argument, NULL, 'h'},
        {"inodes", no_argument, NULL, 'i'},
        {"one-per-guest", no_argument, NULL, OPT_ONE},
        {"uuid", no_argument, NULL, OPT_UUID},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    struct df d = {0};
    struct gfs_opts o;
    struct gfs_handle *h;
    int c;
    gfs_opts_init(&o, PROG);
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:hivx", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CSV:
            d.csv = true;
            break;
        case 'h':
            d.human = true;
            break;
        case 'i':
            d.inodes = true;
            break;
        case OPT_ONE:
        case OPT_UUID:
            break;
        case OPT_HELP:
            virt_df_help(stdout);
            gfs_opts_free(&o);
            return 0;
        default:
            if (gfs_opts_take(&o, c, optarg) <= 0)
                goto usage;
            break;
        }
    }
    if (optind != argc) {
        fprintf(stderr, PROG ": error: extra argument '%s' on the command line\n", argv[optind]);
        goto usage;
    }
    if (d.human && d.csv) {
        fprintf(stderr, PROG ": you cannot use -h and --csv options together.\n");
        gfs_opts_free(&o);
        return 1;
    }
    if (!o.ndrives) {
        fprintf(stderr, PROG ": error: you must specify at least one -a option "
                             "(libvirt guests are not read)\n");
        goto usage;
    }
    tool_quiet_logs(o.verbose);
    if (gfs_opts_open(&o, false, &h, NULL) < 0) {
        gfs_opts_free(&o);
        return 1;
    }
    const char *path = o.drives[o.ndrives - 1].path;
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    print_title(&d);
    df_handle(&d, h, name);
    int status = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror(PROG ": error: standard output");
        status = 1;
    }
    gfs_handle_free(h);
    gfs_opts_free(&o);
    return status;
usage:
    fprintf(stderr, "Try `kvmkit " PROG " --help' for more information.\n");
    gfs_opts_free(&o);
    return 2;
}
