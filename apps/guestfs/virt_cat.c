/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virt_cat.c — `kvmkit virt-cat`: print files of a disk image, like
 * libguestfs's virt-cat. Symlinks are followed inside the guest; each file
 * is streamed to standard output in 1 MiB chunks (never held whole). A file
 * that cannot be read is an error message and exit status 1, and the
 * remaining files are still printed, as virt-cat does. The message is
 * libguestfs's for its download call ("libguestfs: error: download: /dir1:
 * is a directory"); option and image errors are "virt-cat: error: ...".
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_opts.h"
#include "gfs_tool.h"
#include "guestfs_cli.h"

#define PROG "virt-cat"

void virt_cat_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit virt-cat [OPTIONS] -a IMAGE [-a IMAGE ...] FILE [FILE ...]\n"
            "\n"
            "Print files of a disk image (raw or qcow2), like libguestfs's virt-cat, read\n"
            "in-process without booting anything. Without -m the guest's operating system is\n"
            "inspected and its filesystems mounted as its /etc/fstab says.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE        a disk image (repeat for more disks)\n"
            "  --format FMT           format of the following -a images: raw, qcow2, auto\n"
            "  -m, --mount DEV[:MOUNTPOINT[:OPTS[:FSTYPE]]]\n"
            "                         mount DEV on MOUNTPOINT (default /)\n"
            "  -v, --verbose          print warnings from reading the images\n"
            "  --help                 show this help\n"
            "\n"
            "Exit status: 0; 1 when an image or a file cannot be read; 2 on a usage error.\n");
}

static int cat_one(struct gfs_handle *h, const char *path)
{
    struct gfs_node n;
    struct gfs_stat st;
    int rc = gfs_resolve(h, path, 0, &n);
    if (rc < 0)
        return rc;
    if ((rc = gfs_fs_stat(n.fs, n.ino, &st)) < 0)
        return gfs_set_error(h, rc, "%s: %s", path, gfs_fs_error(n.fs));
    if (S_ISDIR(st.mode))
        return gfs_set_error(h, -EISDIR, "%s: is a directory", path);
    if (!S_ISREG(st.mode))
        return gfs_set_error(h, -EINVAL, "%s: not a regular file", path);
    bool write_failed;
    rc = tool_copy_to_fd(h, &n, st.size, path, STDOUT_FILENO, &write_failed);
    if (rc < 0 && write_failed)
        return gfs_set_error(h, rc, "standard output: %s", strerror(-rc));
    return rc;
}

int virt_cat_main(int argc, char **argv)
{
    enum { OPT_HELP = 256, OPT_FORMAT = GFS_OPT_FORMAT };
    static const struct option opts[] = {
        {"add", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, OPT_HELP},
        {"mount", required_argument, NULL, 'm'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    struct gfs_opts o;
    struct gfs_handle *h;
    int c, status = 0;
    gfs_opts_init(&o, PROG);
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:m:vx", opts, NULL)) != -1) {
        switch (c) {
        case OPT_HELP:
            virt_cat_help(stdout);
            gfs_opts_free(&o);
            return 0;
        default:
            if (gfs_opts_take(&o, c, optarg) <= 0)
                goto usage;
            break;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, PROG ": error: no FILE given\n");
        goto usage;
    }
    if (!o.ndrives) {
        fprintf(stderr, PROG ": error: you must specify at least one -a option.\n");
        goto usage;
    }
    tool_quiet_logs(o.verbose);
    if (gfs_opts_open(&o, true, &h, NULL) < 0) {
        gfs_opts_free(&o);
        return 1;
    }
    for (; optind < argc; optind++) {
        int rc = cat_one(h, argv[optind]);
        if (rc < 0) {
            /* libguestfs's message for its download call, word for word */
            fprintf(stderr, "libguestfs: error: download: %s\n",
                    rc == -ENOMEM ? "out of memory" : gfs_last_error(h));
            status = 1;
        }
    }
    gfs_handle_free(h);
    gfs_opts_free(&o);
    return status;
usage:
    fprintf(stderr, "Try `kvmkit " PROG " --help' for more information.\n");
    gfs_opts_free(&o);
    return 2;
}
