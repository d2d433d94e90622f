/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gfs_opts.c — -a/--format/-m/-i for the libguestfs-like tools, and the
 * open handle they lead to (gfs_opts.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_opts.h"

void gfs_opts_init(struct gfs_opts *o, const char *prog)
{
    memset(o, 0, sizeof(*o));
    o->prog = prog;
}

void gfs_opts_free(struct gfs_opts *o)
{
    for (size_t i = 0; i < o->nmounts; i++) {
        free(o->mounts[i].device);
        free(o->mounts[i].mountpoint);
    }
    free(o->mounts);
    free(o->drives);
    memset(o, 0, sizeof(*o));
}

int gfs_opts_error(const struct gfs_opts *o, int rc, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", o->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return rc;
}

int gfs_opts_add_drive(struct gfs_opts *o, const char *path)
{
    struct gfs_opt_drive *d = realloc(o->drives, (o->ndrives + 1) * sizeof(*d));
    if (!d)
        return -ENOMEM;
    o->drives = d;
    d[o->ndrives++] = (struct gfs_opt_drive){path, o->format};
    return 0;
}

int gfs_opts_set_format(struct gfs_opts *o, const char *fmt)
{
    if (!fmt || !strcmp(fmt, "auto")) {
        o->format = NULL;
        return 0;
    }
    if (strcmp(fmt, "raw") != 0 && strcmp(fmt, "qcow2") != 0)
        return gfs_opts_error(o, -EINVAL, "--format %s: unknown format (raw, qcow2 or auto)",
                              fmt);
    o->format = fmt;
    return 0;
}

int gfs_opts_add_mount(struct gfs_opts *o, const char *arg)
{
    const char *colon = strchr(arg, ':');
    size_t dlen = colon ? (size_t)(colon - arg) : strlen(arg);
    if (dlen == 0)
        return gfs_opts_error(o, -EINVAL, "-m %s: no device given", arg);
    const char *mp = colon ? colon + 1 : "/";
    size_t mlen = strcspn(mp, ":"); /* options and fstype after it are ignored: read-only */
    if (mlen == 0) {
        mp = "/";
        mlen = 1;
    }
    if (mp[0] != '/')
        return gfs_opts_error(o, -EINVAL, "-m %s: the mount point must be an absolute path", arg);
    struct gfs_opt_mount *m = realloc(o->mounts, (o->nmounts + 1) * sizeof(*m));
    if (!m)
        return -ENOMEM;
    o->mounts = m;
    m = &m[o->nmounts];
    m->device = strndup(arg, dlen);
    m->mountpoint = strndup(mp, mlen);
    if (!m->device || !m->mountpoint) {
        free(m->device);
        free(m->mountpoint);
        return -ENOMEM;
    }
    o->nmounts++;
    return 0;
}

int gfs_opts_take(struct gfs_opts *o, int c, const char *arg)
{
    int rc;
    switch (c) {
    case 'a':
        if ((rc = gfs_opts_add_drive(o, arg)) < 0)
            return gfs_opts_error(o, rc, "out of memory");
        return 1;
    case GFS_OPT_FORMAT:
        rc = gfs_opts_set_format(o, arg && arg[0] ? arg : NULL);
        return rc < 0 ? rc : 1;
    case 'm':
        rc = gfs_opts_add_mount(o, arg);
        return rc < 0 ? rc : 1;
    case 'v':
    case 'x':
        o->verbose = true;
        return 1;
    default:
        return 0;
    }
}

static int mount_given(struct gfs_opts *o, struct gfs_handle *h)
{
    /* shorter mount points first, so that / comes before /boot */
    size_t n = o->nmounts;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strlen(o->mounts[j].mountpoint) <
                                        strlen(o->mounts[j - 1].mountpoint);
             j--) {
            struct gfs_opt_mount t = o->mounts[j];
            o->mounts[j] = o->mounts[j - 1];
            o->mounts[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        int rc = gfs_mount(h, o->mounts[i].device, o->mounts[i].mountpoint);
        if (rc < 0)
            return gfs_opts_error(o, rc, "mount: %s on %s: %s", o->mounts[i].device,
                                  o->mounts[i].mountpoint, gfs_last_error(h));
    }
    return 0;
}

static int inspect(struct gfs_opts *o, struct gfs_handle *h, struct gfs_os **os_out)
{
    struct gfs_os *roots;
    int n = gfs_inspect_os(h, &roots);
    if (n < 0)
        return gfs_opts_error(o, n, "inspection: %s", gfs_last_error(h));
    if (n == 0)
        return gfs_opts_error(o, -ENOENT,
                              "no operating system was found on this disk; choose the filesystems "
                              "with -m DEVICE[:MOUNTPOINT] (kvmkit virt-filesystems lists them)");
    if (n > 1) {
        gfs_inspect_free(roots, n);
        return gfs_opts_error(o, -EINVAL,
                              "multi-boot operating systems are not supported: use -m "
                              "to say which filesystems to mount");
    }
    int rc = gfs_inspect_mount(h, &roots[0]);
    if (rc < 0) {
        gfs_inspect_free(roots, n);
        return gfs_opts_error(o, rc, "%s", gfs_last_error(h));
    }
    if (os_out)
        *os_out = roots;
    else
        gfs_inspect_free(roots, n);
    return 0;
}

int gfs_opts_open(struct gfs_opts *o, bool inspect_default, struct gfs_handle **hp,
                  struct gfs_os **os)
{
    if (os)
        *os = NULL;
    if (o->ndrives == 0)
        return gfs_opts_error(o, -EINVAL, "you must specify at least one -a option");
    if (o->inspect && o->nmounts)
        return gfs_opts_error(o, -EINVAL, "cannot use -i and -m together");
    struct gfs_handle *h;
    int rc = gfs_handle_new(&h);
    if (rc < 0)
        return gfs_opts_error(o, rc, "%s", strerror(-rc));
    for (size_t i = 0; rc == 0 && i < o->ndrives; i++) {
        rc = gfs_add_drive(h, o->drives[i].path, o->drives[i].format);
        if (rc < 0)
            gfs_opts_error(o, rc, "%s", gfs_last_error(h));
    }
    if (rc == 0 && (rc = gfs_launch(h)) < 0)
        gfs_opts_error(o, rc, "%s", gfs_last_error(h));
    if (o->verbose)
        for (size_t i = 0; i < gfs_nwarnings(h); i++)
            fprintf(stderr, "%s: warning: %s\n", o->prog, gfs_warning(h, i));
    if (rc == 0) {
        if (o->nmounts)
            rc = mount_given(o, h);
        else if (o->inspect || inspect_default)
            rc = inspect(o, h, os);
    }
    if (rc < 0) {
        gfs_handle_free(h);
        return rc;
    }
    *hp = h;
    return 0;
}
