/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs.c — one interface over lib/guestfs's filesystem readers (fs.h). Each
 * reader is a table of operations; this file holds the tables and the
 * conversions to the system calls' units (statfs as Linux computes it for
 * that filesystem type), so that callers never see a reader's own types.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "ext4.h"
#include "fat.h"
#include "fs.h"
#include "probe.h"

struct fs_ops {
    const char *types[4]; /* blkid TYPEs this reader takes */
    int (*mount)(struct gf_dev *dev, void **priv, char *err, size_t errlen);
    void (*umount)(void *priv);
    const char *(*error)(const void *priv);
    uint64_t root;
    int (*lookup_child)(void *priv, uint64_t dir, const char *name, size_t len, uint64_t *ino);
    int (*stat)(void *priv, uint64_t ino, struct gfs_stat *st);
    int64_t (*read)(void *priv, uint64_t ino, uint64_t off, void *buf, size_t len);
    int (*readdir)(void *priv, uint64_t ino, gfs_dirent_cb cb, void *arg);
    int (*readlink)(void *priv, uint64_t ino, char *buf, size_t len);
    int (*listxattr)(void *priv, uint64_t ino, char *buf, size_t len);
    int (*getxattr)(void *priv, uint64_t ino, const char *name, void *buf, size_t len);
    int (*statvfs)(void *priv, struct gfs_statvfs *st);
};

struct gfs_fs {
    const struct fs_ops *ops;
    void *priv;
    struct gf_dev *dev;
    char type[16];
    uint32_t blksize; /* statvfs's bsize, for stat's st_blksize */
};

/* ---- ext2/3/4 ---------------------------------------------------------- */

/* ext4 inode numbers are 32-bit: anything wider does not exist. */
static int ext_ino(uint64_t ino, uint32_t *out)
{
    if (ino == 0 || ino > UINT32_MAX)
        return -EINVAL;
    *out = (uint32_t)ino;
    return 0;
}

static int ext_mount(struct gf_dev *dev, void **priv, char *err, size_t errlen)
{
    struct ext4_fs *fs;
    int rc = ext4_mount(dev, &fs, err, errlen);
    if (rc == 0)
        *priv = fs;
    return rc;
}

static void ext_umount(void *priv)
{
    ext4_umount(priv);
}

static const char *ext_error(const void *priv)
{
    return ext4_error(priv);
}

static int ext_lookup_child(void *priv, uint64_t dir, const char *name, size_t len, uint64_t *ino)
{
    uint32_t d, i;
    int rc = ext_ino(dir, &d);
    if (rc < 0)
        return rc;
    rc = ext4_lookup_child(priv, d, name, len, &i);
    if (rc == 0)
        *ino = i;
    return rc;
}

static int ext_stat(void *priv, uint64_t ino, struct gfs_stat *st)
{
    uint32_t i;
    int rc = ext_ino(ino, &i);
    if (rc < 0)
        return rc;
    struct ext4_stat es;
    rc = ext4_stat(priv, i, &es);
    if (rc < 0)
        return rc;
    memset(st, 0, sizeof(*st));
    st->ino = es.ino;
    st->mode = es.mode;
    st->nlink = es.nlink;
    st->uid = es.uid;
    st->gid = es.gid;
    st->size = es.size;
    st->blocks = es.blocks;
    st->rdev_major = es.rdev_major;
    st->rdev_minor = es.rdev_minor;
    st->atime = (struct gfs_timespec){es.atime.sec, es.atime.nsec};
    st->mtime = (struct gfs_timespec){es.mtime.sec, es.mtime.nsec};
    st->ctime = (struct gfs_timespec){es.ctime.sec, es.ctime.nsec};
    return 0;
}

static int64_t ext_read(void *priv, uint64_t ino, uint64_t off, void *buf, size_t len)
{
    uint32_t i;
    int rc = ext_ino(ino, &i);
    if (rc < 0)
        return rc;
    struct ext4_stat es;
    rc = ext4_stat(priv, i, &es);
    if (rc < 0)
        return rc;
    if (S_ISDIR(es.mode))
        return -EISDIR;
    return ext4_read(priv, i, off, buf, len);
}

struct ext_readdir_arg {
    gfs_dirent_cb cb;
    void *arg;
};

static const uint8_t ext_dtype[8] = {
    [EXT4_FT_UNKNOWN] = DT_UNKNOWN, [EXT4_FT_REG] = DT_REG,   [EXT4_FT_DIR] = DT_DIR,
    [EXT4_FT_CHR] = DT_CHR,         [EXT4_FT_BLK] = DT_BLK,   [EXT4_FT_FIFO] = DT_FIFO,
    [EXT4_FT_SOCK] = DT_SOCK,       [EXT4_FT_LNK] = DT_LNK,
};

static int ext_readdir_cb(void *arg, const struct ext4_dirent *de)
{
    struct ext_readdir_arg *a = arg;
    struct gfs_dirent d = {
        .ino = de->ino,
        .type = de->type < 8 ? ext_dtype[de->type] : DT_UNKNOWN,
        .name_len = de->name_len,
        .name = de->name,
    };
    return a->cb(a->arg, &d);
}

static int ext_readdir(void *priv, uint64_t ino, gfs_dirent_cb cb, void *arg)
{
    uint32_t i;
    int rc = ext_ino(ino, &i);
    if (rc < 0)
        return rc;
    struct ext_readdir_arg a = {cb, arg};
    return ext4_readdir(priv, i, ext_readdir_cb, &a);
}

static int ext_readlink(void *priv, uint64_t ino, char *buf, size_t len)
{
    uint32_t i;
    int rc = ext_ino(ino, &i);
    return rc < 0 ? rc : ext4_readlink(priv, i, buf, len);
}

static int ext_listxattr(void *priv, uint64_t ino, char *buf, size_t len)
{
    uint32_t i;
    int rc = ext_ino(ino, &i);
    return rc < 0 ? rc : ext4_listxattr(priv, i, buf, len);
}

static int ext_getxattr(void *priv, uint64_t ino, const char *name, void *buf, size_t len)
{
    uint32_t i;
    int rc = ext_ino(ino, &i);
    return rc < 0 ? rc : ext4_getxattr(priv, i, name, buf, len);
}

/* statfs as Linux's ext4 driver (which also mounts ext2 and ext3) reports it. */
static int ext_statvfs(void *priv, struct gfs_statvfs *st)
{
    struct ext4_statvfs sv;
    int rc = ext4_statvfs(priv, &sv);
    if (rc < 0)
        return rc;
    memset(st, 0, sizeof(*st));
    st->bsize = st->frsize = sv.block_size;
    st->blocks = sv.blocks > sv.overhead_blocks ? sv.blocks - sv.overhead_blocks : 0;
    st->bfree = sv.group_free_blocks;
    st->bavail = st->bfree > sv.reserved_blocks ? st->bfree - sv.reserved_blocks : 0;
    st->files = sv.inodes;
    st->ffree = st->favail = sv.group_free_inodes;
    /* Linux: the two little-endian 64-bit halves of the UUID, xored. */
    uint64_t lo = 0, hi = 0;
    for (int i = 7; i >= 0; i--) {
        lo = lo << 8 | sv.uuid[i];
        hi = hi << 8 | sv.uuid[8 + i];
    }
    st->fsid = lo ^ hi;
    st->flag = ST_RDONLY | ST_RELATIME; /* as a read-only mount with default options */
    st->namemax = sv.name_max;
    return 0;
}

static const struct fs_ops ext_ops = {
    .types = {"ext2", "ext3", "ext4"},
    .mount = ext_mount,
    .umount = ext_umount,
    .error = ext_error,
    .root = EXT4_ROOT_INO,
    .lookup_child = ext_lookup_child,
    .stat = ext_stat,
    .read = ext_read,
    .readdir = ext_readdir,
    .readlink = ext_readlink,
    .listxattr = ext_listxattr,
    .getxattr = ext_getxattr,
    .statvfs = ext_statvfs,
};

/* ---- vfat ----------------------------------------------------------------- */

static int vfat_mount(struct gf_dev *dev, void **priv, char *err, size_t errlen)
{
    struct fat_fs *fs;
    int rc = fat_mount(dev, &fs, err, errlen);
    if (rc == 0)
        *priv = fs;
    return rc;
}

static void vfat_umount(void *priv)
{
    fat_umount(priv);
}

static const char *vfat_error(const void *priv)
{
    return fat_error(priv);
}

static int vfat_lookup_child(void *priv, uint64_t dir, const char *name, size_t len,
                             uint64_t *ino)
{
    return fat_lookup_child(priv, dir, name, len, ino);
}

/* As Linux shows a vfat file mounted with default options (uid 0, gid 0,
 * umask 022): the reader gives mode and times already. */
static int vfat_stat(void *priv, uint64_t ino, struct gfs_stat *st)
{
    struct fat_stat fst;
    int rc = fat_stat(priv, ino, &fst);
    if (rc < 0)
        return rc;
    memset(st, 0, sizeof(*st));
    st->ino = fst.ino;
    st->mode = fst.mode;
    st->nlink = fst.nlink;
    st->size = fst.size;
    st->blocks = fst.blocks;
    st->atime = (struct gfs_timespec){fst.atime, 0};
    st->mtime = (struct gfs_timespec){fst.mtime, fst.mtime_nsec};
    st->ctime = (struct gfs_timespec){fst.ctime, fst.ctime_nsec};
    return 0;
}

static int64_t vfat_read(void *priv, uint64_t ino, uint64_t off, void *buf, size_t len)
{
    return fat_read(priv, ino, off, buf, len);
}

struct vfat_readdir_arg {
    gfs_dirent_cb cb;
    void *arg;
};

static int vfat_readdir_cb(void *arg, const struct fat_dirent *de)
{
    struct vfat_readdir_arg *a = arg;
    struct gfs_dirent d = {de->ino, de->type, de->name_len, de->name};
    return a->cb(a->arg, &d);
}

static int vfat_readdir(void *priv, uint64_t ino, gfs_dirent_cb cb, void *arg)
{
    struct vfat_readdir_arg a = {cb, arg};
    return fat_readdir(priv, ino, vfat_readdir_cb, &a);
}

/* FAT has no symlinks: like readlink(2) on any other file. */
static int vfat_readlink(void *priv, uint64_t ino, char *buf, size_t len)
{
    struct fat_stat fst;
    int rc = fat_stat(priv, ino, &fst);
    return rc < 0 ? rc : -EINVAL;
}

/* statfs as Linux's fat driver reports it: clusters of cluster_size bytes,
 * no inode counts. */
static int vfat_statvfs(void *priv, struct gfs_statvfs *st)
{
    struct fat_statvfs fv;
    int rc = fat_statvfs(priv, &fv);
    if (rc < 0)
        return rc;
    memset(st, 0, sizeof(*st));
    st->bsize = st->frsize = fv.cluster_size;
    st->blocks = fv.clusters;
    st->bfree = st->bavail = fv.free_clusters;
    st->fsid = fv.serial;
    st->flag = ST_RDONLY | ST_RELATIME;
    st->namemax = fv.name_max;
    return 0;
}

static const struct fs_ops vfat_ops = {
    .types = {"vfat"},
    .mount = vfat_mount,
    .umount = vfat_umount,
    .error = vfat_error,
    .root = FAT_ROOT_INO,
    .lookup_child = vfat_lookup_child,
    .stat = vfat_stat,
    .read = vfat_read,
    .readdir = vfat_readdir,
    .readlink = vfat_readlink,
    .statvfs = vfat_statvfs,
};

/* ---- the interface ------------------------------------------------------ */

static const struct fs_ops *const readers[] = {&ext_ops, &vfat_ops};

static const struct fs_ops *reader_for(const char *type)
{
    for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
        for (size_t j = 0; j < 4 && readers[i]->types[j]; j++)
            if (strcmp(readers[i]->types[j], type) == 0)
                return readers[i];
    return NULL;
}

int gfs_fs_mount(struct gf_dev *dev, const char *type, struct gfs_fs **out, char *err,
                 size_t errlen)
{
    if (!dev || !out)
        return -EINVAL;
    if (err && errlen)
        err[0] = 0;
    struct gfs_probe_result pr;
    if (!type) {
        int rc = gfs_probe(dev, &pr, err, errlen);
        if (rc < 0)
            return rc;
        if (!pr.type[0]) {
            if (err)
                snprintf(err, errlen, "%s: no filesystem recognised", gf_dev_name(dev));
            return -EINVAL;
        }
        type = pr.type;
    }
    const struct fs_ops *ops = reader_for(type);
    if (!ops) {
        if (err)
            snprintf(err, errlen, "%s: %s: not readable by lib/guestfs", gf_dev_name(dev), type);
        return -EOPNOTSUPP;
    }
    struct gfs_fs *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    int rc = ops->mount(dev, &fs->priv, err, errlen);
    if (rc < 0) {
        free(fs);
        return rc;
    }
    fs->ops = ops;
    fs->dev = dev;
    struct gfs_statvfs sv;
    if (ops->statvfs(fs->priv, &sv) == 0)
        fs->blksize = (uint32_t)sv.bsize;
    snprintf(fs->type, sizeof(fs->type), "%s", type);
    *out = fs;
    return 0;
}

void gfs_fs_umount(struct gfs_fs *fs)
{
    if (!fs)
        return;
    fs->ops->umount(fs->priv);
    free(fs);
}

const char *gfs_fs_type(const struct gfs_fs *fs)
{
    return fs->type;
}

struct gf_dev *gfs_fs_dev(const struct gfs_fs *fs)
{
    return fs->dev;
}

const char *gfs_fs_error(const struct gfs_fs *fs)
{
    return fs->ops->error(fs->priv);
}

uint64_t gfs_fs_root(const struct gfs_fs *fs)
{
    return fs->ops->root;
}

int gfs_fs_lookup_child(struct gfs_fs *fs, uint64_t dir, const char *name, size_t len,
                        uint64_t *ino)
{
    if (!fs || !name || !ino || len == 0 || memchr(name, '/', len))
        return -EINVAL;
    return fs->ops->lookup_child(fs->priv, dir, name, len, ino);
}

int gfs_fs_stat(struct gfs_fs *fs, uint64_t ino, struct gfs_stat *st)
{
    if (!fs || !st)
        return -EINVAL;
    int rc = fs->ops->stat(fs->priv, ino, st);
    if (rc == 0 && !st->blksize)
        st->blksize = fs->blksize;
    return rc;
}

int64_t gfs_fs_read(struct gfs_fs *fs, uint64_t ino, uint64_t off, void *buf, size_t len)
{
    if (!fs || (!buf && len))
        return -EINVAL;
    return fs->ops->read(fs->priv, ino, off, buf, len);
}

int gfs_fs_readdir(struct gfs_fs *fs, uint64_t ino, gfs_dirent_cb cb, void *arg)
{
    if (!fs || !cb)
        return -EINVAL;
    return fs->ops->readdir(fs->priv, ino, cb, arg);
}

int gfs_fs_readlink(struct gfs_fs *fs, uint64_t ino, char *buf, size_t len)
{
    if (!fs || !buf)
        return -EINVAL;
    return fs->ops->readlink(fs->priv, ino, buf, len);
}

int gfs_fs_listxattr(struct gfs_fs *fs, uint64_t ino, char *buf, size_t len)
{
    if (!fs)
        return -EINVAL;
    if (!fs->ops->listxattr)
        return 0;
    return fs->ops->listxattr(fs->priv, ino, buf, len);
}

int gfs_fs_getxattr(struct gfs_fs *fs, uint64_t ino, const char *name, void *buf, size_t len)
{
    if (!fs || !name)
        return -EINVAL;
    if (!fs->ops->getxattr)
        return -ENODATA;
    return fs->ops->getxattr(fs->priv, ino, name, buf, len);
}

int gfs_fs_statvfs(struct gfs_fs *fs, struct gfs_statvfs *st)
{
    if (!fs || !st)
        return -EINVAL;
    return fs->ops->statvfs(fs->priv, st);
}
