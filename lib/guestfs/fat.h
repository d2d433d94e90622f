/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fat.h — a read-only reader for FAT12, FAT16 and FAT32 filesystems (with
 * VFAT long names) on a struct gf_dev (an image, a partition of one, or
 * memory). docs/guestfs-fat.md describes what is read, what is checked,
 * the limits, and why names, times and modes look the way they do.
 *
 * The reader presents the filesystem as Linux's vfat driver does when it is
 * mounted with its default options (codepage 437, UTF-8 names,
 * shortname=mixed, umask 022, tz=UTC), which is what libguestfs shows:
 *   - modes: directories S_IFDIR|0755; files S_IFREG|0755, or 0555 with the
 *     read-only attribute (a read-only directory keeps its w bits, as Linux
 *     without "rodir");
 *   - names: the long name when a valid one precedes the short entry, else
 *     the short name ("NAME.EXT", lower-cased per part by the NT flags
 *     0x08/0x10, bytes >= 0x80 through codepage 437);
 *   - times: FAT local times read as UTC; mtime from the write time (2 s),
 *     atime from the access date (midnight), ctime from the creation time
 *     with its 10 ms field; the root directory has all times 0 (1970);
 *   - a directory's size is its cluster chain length x the cluster size;
 *     st_blocks is the size rounded up to whole clusters, in 512 B units;
 *   - free clusters are counted by scanning the FAT (the FSInfo hint is not
 *     used: Linux only trusts it with the "usefree" mount option).
 *
 * Inode numbers: FAT has no inodes. A file or directory is numbered by the
 * byte offset, on the device, of its short directory entry: unique, stable,
 * and enough for fat_stat() to re-read it. The root is FAT_ROOT_INO (1; no
 * entry can sit at byte 1). Numbers must come from fat_lookup*() or
 * fat_readdir(): a number that cannot be an entry is -EINVAL.
 *
 * The image is untrusted: every field is checked before it is used, every
 * cluster chain walk is bounded by the cluster count (a loop is reported,
 * not followed), a directory is at most 2 MiB (65,536 entries, the
 * specification's limit), and nothing is read outside the device.
 *
 * Errors: functions return 0 (or a count) or a negative errno:
 *   -EINVAL     bad argument (an inode number that is not an entry, NULL,
 *               a relative path); at mount: not a FAT boot sector
 *   -EUCLEAN    corrupt structure (a BPB field out of range, a cluster
 *               chain that loops, ends early or points to a free, reserved,
 *               bad or nonexistent cluster, a directory entry out of range)
 *   -EIO        the device could not be read
 *   -ENOENT, -ENOTDIR, -EISDIR, -ENAMETOOLONG as for the system calls
 *   -EOPNOTSUPP a FAT32 version this reader does not know
 * and fat_error() returns a message naming the device, the structure and
 * the field, e.g. "disk.img:p1: FAT: cluster chain of /dir/file loops at
 * cluster 1234" or "disk.img: boot sector: bytes per sector 300 not a power
 * of two 512..4096".
 *
 * Ownership: fat_mount() borrows the device (it must outlive the
 * filesystem). Threads: a filesystem belongs to one thread at a time.
 */
#ifndef GF_FAT_H
#define GF_FAT_H

#include <stddef.h>
#include <stdint.h>

struct gf_dev;
struct fat_fs;

#define FAT_ROOT_INO 1
/* The longest name in bytes: 255 UTF-16 units, at most 3 UTF-8 bytes each. */
#define FAT_NAME_MAX_BYTES 765

enum fat_type { FAT12 = 12, FAT16 = 16, FAT32 = 32 };

/* Directory entry attributes. */
#define FAT_ATTR_READ_ONLY 0x01
#define FAT_ATTR_HIDDEN 0x02
#define FAT_ATTR_SYSTEM 0x04
#define FAT_ATTR_VOLUME_ID 0x08
#define FAT_ATTR_DIRECTORY 0x10
#define FAT_ATTR_ARCHIVE 0x20

struct fat_stat {
    uint64_t ino;
    uint32_t mode;     /* S_IFDIR|0755, S_IFREG|0755 or S_IFREG|0555 (read-only) */
    uint32_t nlink;    /* 1 for files; 2 + subdirectories for directories */
    uint64_t size;
    uint64_t blocks;   /* 512-byte units allocated */
    uint8_t attr;      /* FAT_ATTR_* as on disk (the root: FAT_ATTR_DIRECTORY) */
    int64_t mtime, atime, ctime; /* seconds since the epoch (FAT local time as UTC) */
    uint32_t mtime_nsec, ctime_nsec;
};

struct fat_statvfs {
    uint32_t cluster_size;        /* bytes */
    uint64_t clusters, free_clusters;
    enum fat_type type;
    uint32_t serial;              /* the volume serial number (0 without one) */
    char label[12];               /* root-directory label, else the BPB's; "" if none */
    uint32_t name_max;            /* 1530, as Linux's statfs (255 characters x 6 bytes) */
};

struct fat_dirent {
    uint64_t ino;
    uint8_t type;      /* DT_REG or DT_DIR */
    uint16_t name_len;
    const char *name;  /* UTF-8, not NUL-terminated: name_len bytes */
};

/*
 * Mount the filesystem on @dev read-only: checks the boot sector and BPB
 * (sizes, counts, the FAT type from the cluster count, the FAT's capacity,
 * the device holding the whole filesystem, the FAT32 root cluster).
 * Returns 0 and *out, or -errno with a message in @err (may be NULL):
 * -EINVAL when @dev does not hold a FAT boot sector, -EUCLEAN for a broken
 * BPB, -EIO, -ENOMEM, -EOPNOTSUPP (a FAT32 version other than 0.0).
 */
int fat_mount(struct gf_dev *dev, struct fat_fs **out, char *err, size_t errlen);

/* Free @fs (accepts NULL). The device is not closed. */
void fat_umount(struct fat_fs *fs);

/* The message for the last failed call on @fs ("" if none). Valid until the next call. */
const char *fat_error(const struct fat_fs *fs);

/* Sizes, type, serial and label; free clusters counted by reading the whole
 * FAT (a read error is -EIO). */
int fat_statvfs(struct fat_fs *fs, struct fat_statvfs *out);

/*
 * Look up one component @name (@len bytes, no '/') in directory @dir:
 * *ino. Names compare case-insensitively for ASCII letters, against both
 * the long and the short name ("PROGRA~1"); "." and ".." resolve too (".."
 * by the ".." entry and a search of the grandparent, as Linux does).
 * -ENOENT, -ENOTDIR (@dir is a file), -ENAMETOOLONG, -EUCLEAN.
 */
int fat_lookup_child(struct fat_fs *fs, uint64_t dir, const char *name, size_t len,
                     uint64_t *ino);

/* Resolve the absolute @path ("/a/b"; repeated and trailing slashes are
 * fine; a trailing slash requires a directory) to *ino. -EINVAL for a path
 * not starting with '/'; otherwise as fat_lookup_child(). */
int fat_lookup(struct fat_fs *fs, const char *path, uint64_t *ino);

int fat_stat(struct fat_fs *fs, uint64_t ino, struct fat_stat *st);

/*
 * Read up to @len bytes of file @ino from @off into @buf. Returns the number
 * of bytes read (short only at end of file, 0 at or past it) or -errno:
 * -EISDIR for a directory, -EUCLEAN when the cluster chain is broken or
 * shorter than the file's size.
 */
int64_t fat_read(struct fat_fs *fs, uint64_t ino, uint64_t off, void *buf, size_t len);

/*
 * Call @cb for each entry of directory @ino in on-disk order, except "."
 * and "..", volume labels, deleted entries and orphaned long-name entries.
 * @cb returns 0 to go on or anything else to stop (fat_readdir() then
 * returns that value). The entry is valid only during the call. Returns 0
 * or -errno (-ENOTDIR, -EUCLEAN for a broken chain or entry).
 */
int fat_readdir(struct fat_fs *fs, uint64_t ino,
                int (*cb)(void *arg, const struct fat_dirent *de), void *arg);

#endif
