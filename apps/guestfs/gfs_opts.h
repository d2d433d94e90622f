/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gfs_opts.h — the options every libguestfs-like tool shares, with
 * libguestfs's meaning: -a IMAGE (repeatable; --format applies to the
 * following -a's), -m DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]] (repeatable),
 * -i (inspect and mount the guest's filesystems as its fstab says),
 * --ro/-r (always true here: lib/guestfs only reads), -v/-x (verbose),
 * and the way they become an open handle.
 *
 * Messages are printed as libguestfs's tools print them:
 *   "PROG: error: /etc/nope: No such file or directory"
 */
#ifndef KK_GFS_OPTS_H
#define KK_GFS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "guestfs.h"
#include "inspect.h"

struct gfs_opt_drive {
    const char *path;
    const char *format; /* NULL: probe */
};

struct gfs_opt_mount {
    char *device;
    char *mountpoint; /* "/" when not given */
};

struct gfs_opts {
    const char *prog; /* "virt-ls", for messages */
    struct gfs_opt_drive *drives;
    size_t ndrives;
    const char *format; /* current --format */
    struct gfs_opt_mount *mounts;
    size_t nmounts;
    bool inspect; /* -i */
    bool verbose;
};

void gfs_opts_init(struct gfs_opts *o, const char *prog);
void gfs_opts_free(struct gfs_opts *o);

/* -a PATH (uses the current --format). 0 or -ENOMEM. */
int gfs_opts_add_drive(struct gfs_opts *o, const char *path);
/* --format FMT: "raw", "qcow2" or "auto" (probe); -EINVAL otherwise (message printed). */
int gfs_opts_set_format(struct gfs_opts *o, const char *fmt);
/* -m DEV[:MP[:OPTS[:FSTYPE]]]; -EINVAL for an empty device or a relative mount point. */
int gfs_opts_add_mount(struct gfs_opts *o, const char *arg);

/*
 * Create a handle, add the drives, launch, then mount: the -m mounts
 * (shorter mount points first), or with -i (or @inspect_default when no
 * -m was given, as virt-ls / virt-cat do) the one OS inspection finds
 * (several: an error asking for -m, none: "no operating system was found
 * on this disk"). On error prints "PROG: error: ..." to stderr and returns
 * -errno. *os (may be NULL) gets the inspected OS, freed by the caller
 * with gfs_inspect_free(*os, 1) (NULL when nothing was inspected).
 */
int gfs_opts_open(struct gfs_opts *o, bool inspect_default, struct gfs_handle **h,
                  struct gfs_os **os);

/* getopt_long's value for --format in every tool's option table. */
#define GFS_OPT_FORMAT 0x1000

/*
 * The options every tool takes the same way: -a, --format (GFS_OPT_FORMAT),
 * -m, -v and -x. Returns 1 when @c was one of them, 0 when it is not
 * (the tool's own, or unknown), or -errno for a bad value (the message is
 * printed): the caller then prints its usage hint.
 */
int gfs_opts_take(struct gfs_opts *o, int c, const char *arg);

/* "PROG: error: MESSAGE\n" to stderr; returns @rc. */
int gfs_opts_error(const struct gfs_opts *o, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
