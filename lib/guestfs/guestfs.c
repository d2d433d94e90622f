/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guestfs.c — the handle of guestfs.h: disks, their devices named as
 * libguestfs names them, filesystems mounted into one guest tree, and path
 * resolution over that tree (mount points crossed, symlinks followed
 * inside the guest, at most GFS_MAX_SYMLINKS of them).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "guestfs.h"

#define GFS_MAX_SYMLINKS 40
#define GFS_MAX_DISKS 26 * 27 /* sda .. sdzz */

struct disk {
    char *path;
    struct gf_dev *dev;
    struct gfs_part_table *table; /* NULL until launch, or when unreadable */
};

struct slot {
    struct gfs_device pub;
    struct gfs_fs *fs; /* opened on first use */
    int fs_rc;         /* 0, or the error opening it gave (not retried) */
};

struct gfs_handle {
    struct disk *disks;
    size_t ndisks;
    bool launched;
    struct slot *slots;
    size_t nslots;
    struct gfs_mount *mounts;
    size_t nmounts;
    char **warnings;
    size_t nwarnings;
    char err[512];
};

int gfs_handle_new(struct gfs_handle **out)
{
    if (!out)
        return -EINVAL;
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

void gfs_handle_free(struct gfs_handle *h)
{
    if (!h)
        return;
    free(h->mounts);
    for (size_t i = 0; i < h->nslots; i++) {
        gfs_fs_umount(h->slots[i].fs);
        if (h->slots[i].pub.is_partition)
            gf_dev_close(h->slots[i].pub.dev);
    }
    free(h->slots);
    for (size_t i = 0; i < h->ndisks; i++) {
        gfs_part_free(h->disks[i].table);
        gf_dev_close(h->disks[i].dev);
        free(h->disks[i].path);
    }
    free(h->disks);
    for (size_t i = 0; i < h->nwarnings; i++)
        free(h->warnings[i]);
    free(h->warnings);
    free(h);
}

const char *gfs_last_error(const struct gfs_handle *h)
{
    return h->err;
}

int gfs_set_error(struct gfs_handle *h, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->err, sizeof(h->err), fmt, ap);
    va_end(ap);
    return rc;
}

static void add_warning(struct gfs_handle *h, const char *msg)
{
    char **w = realloc(h->warnings, (h->nwarnings + 1) * sizeof(*w));
    if (!w)
        return;
    h->warnings = w;
    if ((w[h->nwarnings] = strdup(msg)))
        h->nwarnings++;
}

void gfs_add_warning(struct gfs_handle *h, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    add_warning(h, msg);
}

int gfs_add_drive(struct gfs_handle *h, const char *path, const char *format)
{
    if (!h || !path)
        return -EINVAL;
    if (h->launched)
        return gfs_set_error(h, -EBUSY, "add-drive: %s: the handle is already launched", path);
    if (h->ndisks >= GFS_MAX_DISKS)
        return gfs_set_error(h, -ENOSPC, "add-drive: %s: too many disks", path);
    if (format && strcmp(format, "auto") == 0)
        format = NULL;
    struct disk *d = realloc(h->disks, (h->ndisks + 1) * sizeof(*d));
    if (!d)
        return -ENOMEM;
    h->disks = d;
    d = &h->disks[h->ndisks];
    memset(d, 0, sizeof(*d));
    char err[256];
    int rc = gf_dev_open_image(path, format, &d->dev, err, sizeof(err));
    if (rc < 0)
        return gfs_set_error(h, rc, "%s", err);
    if (!(d->path = strdup(path))) {
        gf_dev_close(d->dev);
        return -ENOMEM;
    }
    h->ndisks++;
    return 0;
}

int gfs_add_device(struct gfs_handle *h, struct gf_dev *dev)
{
    if (!h || !dev) {
        gf_dev_close(dev);
        return -EINVAL;
    }
    int rc = 0;
    struct disk *d = NULL;
    if (h->launched)
        rc = gfs_set_error(h, -EBUSY, "add-drive: %s: the handle is already launched",
                           gf_dev_name(dev));
    else if (h->ndisks >= GFS_MAX_DISKS)
        rc = gfs_set_error(h, -ENOSPC, "add-drive: %s: too many disks", gf_dev_name(dev));
    else if (!(d = realloc(h->disks, (h->ndisks + 1) * sizeof(*d))))
        rc = -ENOMEM;
    if (rc < 0) {
        gf_dev_close(dev);
        return rc;
    }
    h->disks = d;
    d = &h->disks[h->ndisks];
    memset(d, 0, sizeof(*d));
    if (!(d->path = strdup(gf_dev_name(dev)))) {
        gf_dev_close(dev);
        return -ENOMEM;
    }
    d->dev = dev;
    h->ndisks++;
    return 0;
}

/* sda, sdb, ..., sdz, sdaa, ... as Linux names SCSI disks. */
static void disk_name(unsigned i, char *buf, size_t len)
{
    if (i < 26)
        snprintf(buf, len, "/dev/sd%c", 'a' + i);
    else
        snprintf(buf, len, "/dev/sd%c%c", 'a' + i / 26 - 1, 'a' + i % 26);
}

static int add_slot(struct gfs_handle *h, size_t *cap, const struct slot *s)
{
    if (h->nslots == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct slot *n = realloc(h->slots, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        h->slots = n;
        *cap = ncap;
    }
    h->slots[h->nslots++] = *s;
    return 0;
}

static void probe_slot(struct gfs_handle *h, struct slot *s)
{
    char err[256];
    if (gfs_probe(s->pub.dev, &s->pub.probe, err, sizeof(err)) < 0) {
        memset(&s->pub.probe, 0, sizeof(s->pub.probe));
        add_warning(h, err);
    }
}

int gfs_launch(struct gfs_handle *h)
{
    if (!h)
        return -EINVAL;
    if (h->launched)
        return 0;
    if (h->ndisks == 0)
        return gfs_set_error(h, -EINVAL, "launch: no disks were added");
    size_t cap = 0;
    for (unsigned i = 0; i < h->ndisks; i++) {
        struct disk *d = &h->disks[i];
        struct slot s = {0};
        disk_name(i, s.pub.name, sizeof(s.pub.name));
        s.pub.disk = i;
        s.pub.size = gf_dev_size(d->dev);
        s.pub.dev = d->dev;
        char err[256];
        int rc = gfs_part_read(d->dev, &d->table, err, sizeof(err));
        if (rc < 0) {
            d->table = NULL;
            add_warning(h, err);
        }
        if (d->table)
            for (size_t w = 0; w < d->table->nwarnings; w++)
                add_warning(h, d->table->warnings[w]);
        if (!d->table || d->table->type == GFS_TABLE_NONE)
            probe_slot(h, &s);
        if ((rc = add_slot(h, &cap, &s)) < 0)
            return rc;
        for (size_t p = 0; d->table && p < d->table->count; p++) {
            const struct gfs_partition *part = &d->table->parts[p];
            struct slot ps = {0};
            int n = snprintf(ps.pub.name, sizeof(ps.pub.name), "%.16s%u", s.pub.name,
                             part->number);
            if (n < 0 || (size_t)n >= sizeof(ps.pub.name))
                return -EOVERFLOW;
            ps.pub.disk = i;
            ps.pub.partnum = part->number;
            ps.pub.is_partition = true;
            ps.pub.extended = part->extended;
            ps.pub.size = part->size;
            /* Linux gives an MBR extended container a device of two 512-byte
             * sectors (one sector when they are larger), so nobody formats
             * it; libguestfs's sizes are that device's. */
            if (part->extended) {
                uint64_t ext = d->table->sector_size > 1024 ? d->table->sector_size : 1024;
                ps.pub.size = part->size < ext ? part->size : ext;
            }
            ps.pub.part = part;
            if ((rc = gfs_part_open(d->dev, d->table, p, &ps.pub.dev)) < 0)
                return gfs_set_error(h, rc, "%s: cannot open partition %u", d->path,
                                     part->number);
            if (!part->extended)
                probe_slot(h, &ps);
            if ((rc = add_slot(h, &cap, &ps)) < 0) {
                gf_dev_close(ps.pub.dev);
                return rc;
            }
        }
    }
    h->launched = true;
    return 0;
}

bool gfs_launched(const struct gfs_handle *h)
{
    return h->launched;
}

size_t gfs_ndisks(const struct gfs_handle *h)
{
    return h->ndisks;
}

const char *gfs_disk_path(const struct gfs_handle *h, unsigned disk)
{
    return disk < h->ndisks ? h->disks[disk].path : NULL;
}

const struct gfs_part_table *gfs_disk_table(const struct gfs_handle *h, unsigned disk)
{
    return disk < h->ndisks ? h->disks[disk].table : NULL;
}

size_t gfs_nwarnings(const struct gfs_handle *h)
{
    return h->nwarnings;
}

const char *gfs_warning(const struct gfs_handle *h, size_t i)
{
    return i < h->nwarnings ? h->warnings[i] : NULL;
}

size_t gfs_ndevices(const struct gfs_handle *h)
{
    return h->nslots;
}

const struct gfs_device *gfs_device_at(const struct gfs_handle *h, size_t i)
{
    return i < h->nslots ? &h->slots[i].pub : NULL;
}

static struct slot *find_slot(struct gfs_handle *h, const char *name)
{
    char canon[GFS_DEVNAME_MAX];
    if (strncmp(name, "/dev/", 5) == 0 && strlen(name) < sizeof(canon) &&
        (strncmp(name + 5, "vd", 2) == 0 || strncmp(name + 5, "hd", 2) == 0 ||
         strncmp(name + 5, "xvd", 3) == 0)) {
        const char *rest = name + 5 + (name[5] == 'x' ? 3 : 2);
        snprintf(canon, sizeof(canon), "/dev/sd%s", rest);
        name = canon;
    }
    for (size_t i = 0; i < h->nslots; i++)
        if (strcmp(h->slots[i].pub.name, name) == 0)
            return &h->slots[i];
    return NULL;
}

const struct gfs_device *gfs_find_device(struct gfs_handle *h, const char *name)
{
    if (!h || !name)
        return NULL;
    if (!h->launched) {
        gfs_set_error(h, -EINVAL, "%s: the handle is not launched", name);
        return NULL;
    }
    struct slot *s = find_slot(h, name);
    if (!s) {
        gfs_set_error(h, -ENOENT, "%s: no such device", name);
        return NULL;
    }
    return &s->pub;
}

int gfs_device_fs(struct gfs_handle *h, const struct gfs_device *device, struct gfs_fs **fs)
{
    if (!h || !device || !fs)
        return -EINVAL;
    struct slot *s = NULL;
    for (size_t i = 0; i < h->nslots && !s; i++)
        if (&h->slots[i].pub == device)
            s = &h->slots[i];
    if (!s)
        return -EINVAL;
    if (s->fs) {
        *fs = s->fs;
        return 0;
    }
    if (s->fs_rc)
        return gfs_set_error(h, s->fs_rc, "%s: %s", device->name,
                             s->fs_rc == -EOPNOTSUPP ? "filesystem not readable"
                                                     : "no readable filesystem");
    if (device->extended) {
        s->fs_rc = -EINVAL;
        return gfs_set_error(h, -EINVAL,
                             "%s: an MBR extended partition holds logical partitions, not a "
                             "filesystem", device->name);
    }
    if (!device->probe.type[0]) {
        s->fs_rc = -EINVAL;
        return gfs_set_error(h, -EINVAL, "%s: no filesystem recognised", device->name);
    }
    char err[256];
    int rc = gfs_fs_mount(device->dev, device->probe.type, &s->fs, err, sizeof(err));
    if (rc < 0) {
        s->fs_rc = rc;
        return gfs_set_error(h, rc, "%s: %s", device->name, err);
    }
    *fs = s->fs;
    return 0;
}

/* ---- path resolution ---------------------------------------------------- */

struct level {
    struct gfs_fs *fs;
    uint64_t ino;
    size_t plen; /* length of the canonical path up to this level */
};

struct walk {
    struct level *st;
    size_t depth, cap;
    char path[GFS_PATH_MAX]; /* canonical path so far */
};

static const struct gfs_mount *mount_at(const struct gfs_handle *h, const char *path)
{
    /* The last mount at a path wins (a later mount covers an earlier one). */
    for (size_t i = h->nmounts; i-- > 0;)
        if (strcmp(h->mounts[i].mountpoint, path) == 0)
            return &h->mounts[i];
    return NULL;
}

static int walk_push(struct walk *w, struct gfs_fs *fs, uint64_t ino)
{
    if (w->depth == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        struct level *n = realloc(w->st, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        w->st = n;
        w->cap = ncap;
    }
    w->st[w->depth++] = (struct level){fs, ino, strlen(w->path)};
    return 0;
}

static int fs_err(struct gfs_handle *h, struct gfs_fs *fs, int rc, const char *path)
{
    const char *m = fs ? gfs_fs_error(fs) : "";
    if ((rc == -EUCLEAN || rc == -EIO || rc == -EOPNOTSUPP) && m && m[0])
        return gfs_set_error(h, rc, "%s: %s", path, m);
    return gfs_set_error(h, rc, "%s: %s", path, strerror(-rc));
}

/* Resolve @path into @w (the node is the top of the stack). */
static int walk(struct gfs_handle *h, const char *path, unsigned flags, struct walk *w)
{
    if (!path || path[0] != '/')
        return gfs_set_error(h, -EINVAL, "%s: the path must be absolute", path ? path : "");
    size_t plen = strlen(path);
    if (plen >= GFS_PATH_MAX)
        return gfs_set_error(h, -ENAMETOOLONG, "%.64s...: path too long", path);
    const struct gfs_mount *root = mount_at(h, "/");
    if (!root)
        return gfs_set_error(h, -EINVAL, "%s: no filesystem is mounted on /", path);
    char *rest = malloc(GFS_PATH_MAX * 2), *target = malloc(GFS_PATH_MAX);
    if (!rest || !target) {
        free(rest);
        free(target);
        return -ENOMEM;
    }
    memcpy(rest, path, plen + 1);
    strcpy(w->path, "/");
    w->depth = 0;
    int rc = walk_push(w, root->fs, gfs_fs_root(root->fs));
    int hops = 0;
    size_t pos = 0;
    while (rc == 0) {
        while (rest[pos] == '/')
            pos++;
        if (!rest[pos])
            break;
        size_t end = pos;
        while (rest[end] && rest[end] != '/')
            end++;
        size_t clen = end - pos;
        const char *name = rest + pos;
        size_t after = end;
        while (rest[after] == '/')
            after++;
        bool last = !rest[after], trailing = rest[end] == '/';
        struct level *cur = &w->st[w->depth - 1];
        if (clen == 1 && name[0] == '.') {
            pos = end;
            continue;
        }
        if (clen == 2 && name[0] == '.' && name[1] == '.') {
            if (w->depth > 1) {
                w->depth--;
                w->path[w->st[w->depth - 1].plen] = 0;
            }
            pos = end;
            continue;
        }
        if (clen > 255) {
            rc = gfs_set_error(h, -ENAMETOOLONG, "%s: name too long", path);
            break;
        }
        uint64_t ino;
        rc = gfs_fs_lookup_child(cur->fs, cur->ino, name, clen, &ino);
        if (rc < 0) {
            rc = fs_err(h, cur->fs, rc, path);
            break;
        }
        size_t cl = strlen(w->path);
        if (cl + (cl > 1) + clen >= GFS_PATH_MAX) {
            rc = gfs_set_error(h, -ENAMETOOLONG, "%.64s...: path too long", path);
            break;
        }
        char *p = w->path + cl;
        if (cl > 1)
            *p++ = '/';
        memcpy(p, name, clen);
        p[clen] = 0;
        struct gfs_fs *fs = cur->fs;
        const struct gfs_mount *m = mount_at(h, w->path);
        if (m) {
            fs = m->fs;
            ino = gfs_fs_root(fs);
        }
        struct gfs_stat st;
        rc = gfs_fs_stat(fs, ino, &st);
        if (rc < 0) {
            rc = fs_err(h, fs, rc, path);
            break;
        }
        if (S_ISLNK(st.mode) && (!last || trailing || !(flags & GFS_NOFOLLOW))) {
            w->path[cl] = 0;
            if (++hops > GFS_MAX_SYMLINKS) {
                rc = gfs_set_error(h, -ELOOP, "%s: too many levels of symbolic links", path);
                break;
            }
            rc = gfs_fs_readlink(fs, ino, target, GFS_PATH_MAX);
            if (rc < 0) {
                rc = fs_err(h, fs, rc, path);
                break;
            }
            size_t tlen = (size_t)rc, rlen = strlen(rest + end);
            rc = 0;
            if (tlen == 0) {
                rc = gfs_set_error(h, -ENOENT, "%s: No such file or directory", path);
                break;
            }
            if (tlen + rlen >= GFS_PATH_MAX) {
                rc = gfs_set_error(h, -ENAMETOOLONG, "%.64s...: path too long", path);
                break;
            }
            memmove(rest + tlen, rest + end, rlen + 1);
            memcpy(rest, target, tlen);
            pos = 0;
            if (target[0] == '/') {
                w->depth = 1;
                strcpy(w->path, "/");
            }
            continue;
        }
        if ((!last || trailing) && !S_ISDIR(st.mode)) {
            rc = gfs_set_error(h, -ENOTDIR, "%s: Not a directory", path);
            break;
        }
        rc = walk_push(w, fs, ino);
        pos = end;
    }
    free(rest);
    free(target);
    return rc;
}

int gfs_resolve(struct gfs_handle *h, const char *path, unsigned flags, struct gfs_node *out)
{
    if (!h || !out)
        return -EINVAL;
    struct walk w = {0};
    int rc = walk(h, path, flags, &w);
    if (rc == 0)
        *out = (struct gfs_node){w.st[w.depth - 1].fs, w.st[w.depth - 1].ino};
    free(w.st);
    return rc;
}

int gfs_realpath(struct gfs_handle *h, const char *path, char *buf, size_t len)
{
    if (!h || !buf)
        return -EINVAL;
    struct walk w = {0};
    int rc = walk(h, path, 0, &w);
    if (rc == 0) {
        if (strlen(w.path) >= len)
            rc = -ERANGE;
        else
            strcpy(buf, w.path);
    }
    free(w.st);
    return rc;
}

static int stat_flags(struct gfs_handle *h, const char *path, unsigned flags, struct gfs_stat *st)
{
    struct gfs_node n;
    int rc = gfs_resolve(h, path, flags, &n);
    if (rc < 0)
        return rc;
    rc = gfs_fs_stat(n.fs, n.ino, st);
    return rc < 0 ? fs_err(h, n.fs, rc, path) : 0;
}

int gfs_stat(struct gfs_handle *h, const char *path, struct gfs_stat *st)
{
    return stat_flags(h, path, 0, st);
}

int gfs_lstat(struct gfs_handle *h, const char *path, struct gfs_stat *st)
{
    return stat_flags(h, path, GFS_NOFOLLOW, st);
}

int gfs_readdir(struct gfs_handle *h, const char *path, gfs_dirent_cb cb, void *arg)
{
    struct gfs_node n;
    int rc = gfs_resolve(h, path, 0, &n);
    if (rc < 0)
        return rc;
    struct gfs_stat st;
    if ((rc = gfs_fs_stat(n.fs, n.ino, &st)) < 0)
        return fs_err(h, n.fs, rc, path);
    if (!S_ISDIR(st.mode))
        return gfs_set_error(h, -ENOTDIR, "%s: Not a directory", path);
    rc = gfs_fs_readdir(n.fs, n.ino, cb, arg);
    return rc < 0 ? fs_err(h, n.fs, rc, path) : rc;
}

int gfs_readlink(struct gfs_handle *h, const char *path, char *buf, size_t len)
{
    struct gfs_node n;
    int rc = gfs_resolve(h, path, GFS_NOFOLLOW, &n);
    if (rc < 0)
        return rc;
    rc = gfs_fs_readlink(n.fs, n.ino, buf, len);
    if (rc == -EINVAL)
        return gfs_set_error(h, rc, "%s: Invalid argument (not a symbolic link)", path);
    return rc < 0 ? fs_err(h, n.fs, rc, path) : rc;
}

int gfs_statvfs(struct gfs_handle *h, const char *path, struct gfs_statvfs *st)
{
    struct gfs_node n;
    int rc = gfs_resolve(h, path, 0, &n);
    if (rc < 0)
        return rc;
    rc = gfs_fs_statvfs(n.fs, st);
    return rc < 0 ? fs_err(h, n.fs, rc, path) : 0;
}

int gfs_read_file(struct gfs_handle *h, const char *path, size_t max, char **data, size_t *len)
{
    if (!h || !data || !len)
        return -EINVAL;
    struct gfs_node n;
    int rc = gfs_resolve(h, path, 0, &n);
    if (rc < 0)
        return rc;
    struct gfs_stat st;
    if ((rc = gfs_fs_stat(n.fs, n.ino, &st)) < 0)
        return fs_err(h, n.fs, rc, path);
    if (S_ISDIR(st.mode))
        return gfs_set_error(h, -EISDIR, "%s: Is a directory", path);
    if (st.size > max)
        return gfs_set_error(h, -EFBIG, "%s: file of %llu bytes is larger than %zu", path,
                             (unsigned long long)st.size, max);
    char *buf = malloc((size_t)st.size + 1);
    if (!buf)
        return -ENOMEM;
    size_t got = 0;
    while (got < st.size) {
        int64_t r = gfs_fs_read(n.fs, n.ino, got, buf + got, (size_t)st.size - got);
        if (r < 0) {
            free(buf);
            return fs_err(h, n.fs, (int)r, path);
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    buf[got] = 0;
    *data = buf;
    *len = got;
    return 0;
}

/* ---- mounts --------------------------------------------------------------- */

int gfs_mount(struct gfs_handle *h, const char *device, const char *mountpoint)
{
    if (!h || !device || !mountpoint)
        return -EINVAL;
    const struct gfs_device *d = gfs_find_device(h, device);
    if (!d)
        return -ENOENT;
    char canon[GFS_PATH_MAX];
    if (strcmp(mountpoint, "/") == 0) {
        if (mount_at(h, "/"))
            return gfs_set_error(h, -EBUSY, "mount: /: a filesystem is already mounted there");
        strcpy(canon, "/");
    } else {
        struct gfs_stat st;
        int rc = gfs_stat(h, mountpoint, &st);
        if (rc < 0)
            return gfs_set_error(h, rc, "mount: %s: %s", mountpoint, strerror(-rc));
        if (!S_ISDIR(st.mode))
            return gfs_set_error(h, -ENOTDIR, "mount: %s: Not a directory", mountpoint);
        if ((rc = gfs_realpath(h, mountpoint, canon, sizeof(canon))) < 0)
            return rc;
        if (mount_at(h, canon))
            return gfs_set_error(h, -EBUSY, "mount: %s: a filesystem is already mounted there",
                                 canon);
    }
    struct gfs_fs *fs;
    int rc = gfs_device_fs(h, d, &fs);
    if (rc < 0)
        return rc;
    struct gfs_mount *m = realloc(h->mounts, (h->nmounts + 1) * sizeof(*m));
    if (!m)
        return -ENOMEM;
    h->mounts = m;
    m = &h->mounts[h->nmounts++];
    snprintf(m->mountpoint, sizeof(m->mountpoint), "%s", canon);
    m->device = d;
    m->fs = fs;
    return 0;
}

static bool below(const char *path, const char *mp)
{
    size_t n = strlen(mp);
    if (strcmp(mp, "/") == 0)
        return strcmp(path, "/") != 0;
    return strncmp(path, mp, n) == 0 && path[n] == '/';
}

int gfs_umount(struct gfs_handle *h, const char *what)
{
    if (!h || !what)
        return -EINVAL;
    size_t i = h->nmounts;
    while (i-- > 0) {
        const struct gfs_mount *m = &h->mounts[i];
        if (strcmp(m->mountpoint, what) == 0 || strcmp(m->device->name, what) == 0)
            break;
    }
    if (i == (size_t)-1) {
        const struct slot *s = strncmp(what, "/dev/", 5) == 0 ? find_slot(h, what) : NULL;
        for (i = h->nmounts; s && i-- > 0;)
            if (h->mounts[i].device == &s->pub)
                break;
        if (!s || i == (size_t)-1)
            return gfs_set_error(h, -EINVAL, "umount: %s: not mounted", what);
    }
    for (size_t j = 0; j < h->nmounts; j++)
        if (j != i && below(h->mounts[j].mountpoint, h->mounts[i].mountpoint))
            return gfs_set_error(h, -EBUSY, "umount: %s: %s is mounted below it",
                                 h->mounts[i].mountpoint, h->mounts[j].mountpoint);
    memmove(&h->mounts[i], &h->mounts[i + 1], (h->nmounts - i - 1) * sizeof(h->mounts[0]));
    h->nmounts--;
    return 0;
}

void gfs_umount_all(struct gfs_handle *h)
{
    if (h)
        h->nmounts = 0;
}

size_t gfs_nmounts(const struct gfs_handle *h)
{
    return h->nmounts;
}

const struct gfs_mount *gfs_mount_at(const struct gfs_handle *h, size_t i)
{
    return i < h->nmounts ? &h->mounts[i] : NULL;
}
