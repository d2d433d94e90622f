/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guestfs.h — a libguestfs-like handle over lib/guestfs: add disk images,
 * "launch" (read their partition tables and probe every device), see the
 * devices and filesystems with libguestfs's names (/dev/sda, /dev/sda1,
 * /dev/sdb, ...), mount filesystems at paths of one guest tree, and read
 * that tree by path, with mount points crossed and symlinks followed
 * inside the guest (an absolute link target starts at the guest's root, as
 * in libguestfs's /sysroot chroot; ".." never leaves the root).
 *
 * Everything is read-only and in-process: no appliance, no root, no KVM.
 * The tools (kvmkit fish, virt-ls, virt-cat, virt-df, virt-inspector,
 * kvmkit mount) are built on this.
 *
 * Errors: functions return 0 (or a count) or a negative errno, and
 * gfs_last_error() holds a message naming the image, partition, path and
 * structure ("/etc/passwd: No such file or directory",
 * "disk.img:p1: inode 12: extent header: bad magic 0x0000").
 *
 * Threads: a handle belongs to one thread at a time.
 */
#ifndef GFS_GUESTFS_H
#define GFS_GUESTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs.h"
#include "gf_dev.h"
#include "part.h"
#include "probe.h"

struct gfs_handle;

#define GFS_DEVNAME_MAX 32
#define GFS_PATH_MAX 4096

/* A whole disk or a partition, as libguestfs lists them. */
struct gfs_device {
    char name[GFS_DEVNAME_MAX]; /* "/dev/sda", "/dev/sda1" */
    unsigned disk;              /* index of the image (0 for /dev/sda) */
    unsigned partnum;           /* Linux partition number, 0 for a whole disk */
    bool is_partition;
    bool extended;              /* an MBR extended container (no filesystem) */
    uint64_t size;              /* bytes (an extended container: 1024, as Linux has it) */
    struct gf_dev *dev;         /* owned by the handle */
    const struct gfs_partition *part; /* NULL for a whole disk */
    struct gfs_probe_result probe;    /* type "" when nothing was recognised */
};

struct gfs_mount {
    char mountpoint[GFS_PATH_MAX]; /* "/", "/boot", ... (canonical) */
    const struct gfs_device *device;
    struct gfs_fs *fs;
};

/* A node of the guest tree. */
struct gfs_node {
    struct gfs_fs *fs;
    uint64_t ino;
};

int gfs_handle_new(struct gfs_handle **out);
void gfs_handle_free(struct gfs_handle *h);

const char *gfs_last_error(const struct gfs_handle *h);

/*
 * Add a disk image (@format "raw", "qcow2" or NULL to probe). It is opened
 * at once, read-only and without taking a lock, so errors (no such file, a
 * corrupt qcow2 header) come back here. Only before gfs_launch().
 */
int gfs_add_drive(struct gfs_handle *h, const char *path, const char *format);

/*
 * Add a device that is already open (a memory image in tests and fuzz
 * targets). The handle takes @dev over and closes it when freed, also on
 * error.
 */
int gfs_add_device(struct gfs_handle *h, struct gf_dev *dev);

/* Read the partition tables and probe every device. A disk with a
 * malformed table is kept as a whole disk (its error in the warnings). */
int gfs_launch(struct gfs_handle *h);
bool gfs_launched(const struct gfs_handle *h);

size_t gfs_ndisks(const struct gfs_handle *h);
const char *gfs_disk_path(const struct gfs_handle *h, unsigned disk);
const struct gfs_part_table *gfs_disk_table(const struct gfs_handle *h, unsigned disk);

/* Warnings gathered at launch ("disk.img: GPT: backup header used"). */
size_t gfs_nwarnings(const struct gfs_handle *h);
const char *gfs_warning(const struct gfs_handle *h, size_t i);

/* Add a warning (kept until the handle is freed). */
void gfs_add_warning(struct gfs_handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Devices in libguestfs's order: /dev/sda, /dev/sda1, /dev/sda2, /dev/sdb, ... */
size_t gfs_ndevices(const struct gfs_handle *h);
const struct gfs_device *gfs_device_at(const struct gfs_handle *h, size_t i);

/*
 * Find a device by name. /dev/vdX and /dev/hdX are taken as /dev/sdX (as
 * libguestfs does). NULL (and an error message) when absent.
 */
const struct gfs_device *gfs_find_device(struct gfs_handle *h, const char *name);

/*
 * Mount @device's filesystem at @mountpoint. "/" first; any other mount
 * point must be an existing directory of the tree mounted so far. A device
 * or a mount point may be mounted once. Read-only always.
 */
int gfs_mount(struct gfs_handle *h, const char *device, const char *mountpoint);

/* Unmount by mount point or device; -EBUSY when something is mounted below. */
int gfs_umount(struct gfs_handle *h, const char *what);
void gfs_umount_all(struct gfs_handle *h);

/* Mounts, in the order they were made (parents before children). */
size_t gfs_nmounts(const struct gfs_handle *h);
const struct gfs_mount *gfs_mount_at(const struct gfs_handle *h, size_t i);

/*
 * The filesystem of @device, mounted privately (not in the tree) and kept
 * until the handle is freed, e.g. to read statvfs or inspect it. -EINVAL
 * for a device without a filesystem lib/guestfs reads.
 */
int gfs_device_fs(struct gfs_handle *h, const struct gfs_device *device, struct gfs_fs **fs);

/* Flags for gfs_resolve(). */
#define GFS_NOFOLLOW 0x1 /* a symlink in the last component is not followed */

/*
 * Resolve an absolute guest path to a node: -ENOENT, -ENOTDIR, -ELOOP
 * (more than 40 symlinks), -ENAMETOOLONG, -EINVAL (a relative path or
 * nothing mounted at "/").
 */
int gfs_resolve(struct gfs_handle *h, const char *path, unsigned flags, struct gfs_node *out);

/*
 * The canonical path of @path (symlinks resolved, "." and ".." removed),
 * like realpath(3) in the guest, into @buf.
 */
int gfs_realpath(struct gfs_handle *h, const char *path, char *buf, size_t len);

/* stat (follows links) and lstat. */
int gfs_stat(struct gfs_handle *h, const char *path, struct gfs_stat *st);
int gfs_lstat(struct gfs_handle *h, const char *path, struct gfs_stat *st);

/*
 * The entries of directory @path except "." and ".." (unsorted). Entries
 * that are mount points keep the name of the directory they cover.
 */
int gfs_readdir(struct gfs_handle *h, const char *path, gfs_dirent_cb cb, void *arg);

int gfs_readlink(struct gfs_handle *h, const char *path, char *buf, size_t len);

/* statvfs of the filesystem holding @path. */
int gfs_statvfs(struct gfs_handle *h, const char *path, struct gfs_statvfs *st);

/*
 * The whole content of regular file @path in a malloc'd buffer (NUL added
 * after it), at most @max bytes (-EFBIG beyond). *len gets its size.
 */
int gfs_read_file(struct gfs_handle *h, const char *path, size_t max, char **data, size_t *len);

/* Errors with a message: used by callers that fail on their own checks. */
int gfs_set_error(struct gfs_handle *h, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
