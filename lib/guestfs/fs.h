/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs.h — one read-only filesystem of any type lib/guestfs reads (ext2/3/4,
 * vfat), behind one interface. The tools, inspection and the FUSE mount
 * use only this (and guestfs.h above it); the per-type readers (ext4.h,
 * fat.h) stay free to have their own richer APIs.
 *
 * Inodes are 64-bit numbers chosen by the reader (ext4: the inode number;
 * FAT: the position of the directory entry); gfs_fs_root() gives the
 * root's. Stat and statvfs results are in the system calls' units, as
 * Linux shows them for that filesystem type mounted with default options
 * (vfat: uid 0, gid 0, mode 0755, as libguestfs's appliance mounts it).
 *
 * Errors are negative errnos as in ext4.h (-EUCLEAN for a corrupt
 * structure, -EIO, -ENOENT, -ENOTDIR, -EISDIR, -ELOOP, -ERANGE, -ENODATA,
 * -EOPNOTSUPP, -EINVAL); gfs_fs_error() has the message of the last
 * failure, naming the device and the structure.
 *
 * Ownership: gfs_fs_mount() borrows the device (it must outlive the
 * filesystem). Threads: a filesystem belongs to one thread at a time.
 */
#ifndef GFS_FS_H
#define GFS_FS_H

#include <stddef.h>
#include <stdint.h>

#include "gf_dev.h"

struct gfs_fs;

struct gfs_timespec {
    int64_t sec;
    uint32_t nsec;
};

struct gfs_stat {
    uint64_t ino;
    uint32_t mode; /* S_IF* | permission bits */
    uint32_t nlink;
    uint32_t uid, gid;
    uint64_t size;
    uint64_t blocks;  /* 512-byte units */
    uint32_t blksize; /* preferred I/O size (the block or cluster size) */
    uint32_t rdev_major, rdev_minor;
    struct gfs_timespec atime, mtime, ctime;
};

struct gfs_statvfs {
    uint64_t bsize, frsize;
    uint64_t blocks, bfree, bavail; /* in frsize units */
    uint64_t files, ffree, favail;
    uint64_t fsid;
    uint64_t flag;    /* ST_RDONLY always */
    uint64_t namemax;
};

struct gfs_dirent {
    uint64_t ino;
    uint8_t type;      /* DT_REG, DT_DIR, DT_LNK, ..., DT_UNKNOWN */
    uint16_t name_len;
    const char *name;  /* not NUL-terminated */
};

typedef int (*gfs_dirent_cb)(void *arg, const struct gfs_dirent *de);

/*
 * Mount the filesystem on @dev read-only. @type is "ext2", "ext3", "ext4",
 * "vfat", or NULL to probe (gfs_probe()). -EOPNOTSUPP (with @err saying
 * "xfs: not readable by lib/guestfs") for a filesystem lib/guestfs
 * identifies but does not read, -EINVAL for nothing recognised.
 */
int gfs_fs_mount(struct gf_dev *dev, const char *type, struct gfs_fs **out, char *err,
                 size_t errlen);
void gfs_fs_umount(struct gfs_fs *fs);

/* "ext4", "vfat", ... (the probed blkid TYPE). */
const char *gfs_fs_type(const struct gfs_fs *fs);
struct gf_dev *gfs_fs_dev(const struct gfs_fs *fs);
const char *gfs_fs_error(const struct gfs_fs *fs);

uint64_t gfs_fs_root(const struct gfs_fs *fs);

/* One name in directory @dir (no '/'; "." and ".." work). -ENOENT, -ENOTDIR. */
int gfs_fs_lookup_child(struct gfs_fs *fs, uint64_t dir, const char *name, size_t len,
                        uint64_t *ino);

int gfs_fs_stat(struct gfs_fs *fs, uint64_t ino, struct gfs_stat *st);

/* Bytes read (short only at the end), 0 at or past it, or -errno (-EISDIR
 * for a directory). Holes read as zeros. */
int64_t gfs_fs_read(struct gfs_fs *fs, uint64_t ino, uint64_t off, void *buf, size_t len);

/* Entries except "." and "..", in on-disk order; @cb returns nonzero to stop
 * (returned). */
int gfs_fs_readdir(struct gfs_fs *fs, uint64_t ino, gfs_dirent_cb cb, void *arg);

/* Symlink target, NUL-terminated: its length, -ERANGE, -EINVAL (not a link). */
int gfs_fs_readlink(struct gfs_fs *fs, uint64_t ino, char *buf, size_t len);

/* Extended attributes, as listxattr(2)/getxattr(2) (-EOPNOTSUPP-free: a
 * filesystem without xattrs lists none and gets -ENODATA). */
int gfs_fs_listxattr(struct gfs_fs *fs, uint64_t ino, char *buf, size_t len);
int gfs_fs_getxattr(struct gfs_fs *fs, uint64_t ino, const char *name, void *buf, size_t len);

int gfs_fs_statvfs(struct gfs_fs *fs, struct gfs_statvfs *st);

#endif
