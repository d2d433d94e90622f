/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ext4.h — a read-only reader for ext2, ext3 and ext4 filesystems on a
 * struct gf_dev (an image, a partition of one, or memory). docs/guestfs-ext4.md
 * describes what is read, what is checked and the limits.
 *
 * Nothing here writes and nothing is replayed: a filesystem whose journal
 * needs recovery is read as it is on disk (ext4_statvfs() says so). The
 * image is untrusted: every field is checked before it is used, metadata
 * checksums (metadata_csum, gdt_csum) are verified, and a structure that
 * fails a check is reported and not followed. Trees are bounded (extent
 * depth, indirection levels, symlink hops), so no input loops.
 *
 * Errors: functions return 0 (or a count) or a negative errno:
 *   -EINVAL    bad argument (inode number out of range, NULL ...)
 *   -EUCLEAN   corrupt structure (a field out of range, a checksum mismatch)
 *   -EIO       the device could not be read (or a structure points past it)
 *   -ENOENT, -ENOTDIR, -EISDIR, -ELOOP, -ENAMETOOLONG, -ERANGE, -ENODATA
 *              as for the system calls of the same names
 *   -EOPNOTSUPP a feature this reader does not implement
 * and ext4_error() returns a message naming the device, the structure
 * (superblock, group descriptor N, inode N, block B, extent header) and
 * the field, e.g. "disk.img:p1: inode 12: extent header: bad magic 0x0000".
 *
 * Ownership: ext4_mount() borrows the device (it must outlive the
 * filesystem). Threads: a filesystem belongs to one thread at a time.
 */
#ifndef GF_EXT4_H
#define GF_EXT4_H

#include <stddef.h>
#include <stdint.h>

struct gf_dev;
struct ext4_fs;

#define EXT4_ROOT_INO 2
#define EXT4_NAME_MAX 255

/* File types in directory entries (as on disk, and like DT_* shifted). */
enum ext4_ftype {
    EXT4_FT_UNKNOWN = 0,
    EXT4_FT_REG = 1,
    EXT4_FT_DIR = 2,
    EXT4_FT_CHR = 3,
    EXT4_FT_BLK = 4,
    EXT4_FT_FIFO = 5,
    EXT4_FT_SOCK = 6,
    EXT4_FT_LNK = 7,
};

struct ext4_time {
    int64_t sec;  /* seconds since the epoch (with the extra epoch bits) */
    uint32_t nsec;
};

struct ext4_stat {
    uint32_t ino;
    uint32_t mode;    /* S_IF* | permissions, as st_mode */
    uint32_t uid, gid; /* with the high 16 bits */
    uint32_t nlink;
    uint64_t size;
    uint64_t blocks;  /* 512-byte units, as st_blocks */
    uint32_t rdev_major, rdev_minor; /* character and block devices */
    uint32_t flags;   /* i_flags (EXT4_*_FL) */
    uint32_t generation;
    struct ext4_time atime, mtime, ctime, crtime; /* crtime 0 if absent */
};

struct ext4_statvfs {
    uint32_t block_size;
    uint64_t blocks, free_blocks, avail_blocks; /* in block_size units */
    uint64_t inodes, free_inodes;
    uint32_t name_max;
    uint32_t compat, incompat, ro_compat; /* feature flags as on disk */
    int needs_recovery;  /* the journal holds transactions not yet replayed */
    int has_journal;
    int csum;            /* metadata_csum (2), gdt_csum (1) or none (0) */
    uint8_t uuid[16];
    char label[17];
    /* What Linux's statfs(2) works from (fs.c uses these): */
    uint64_t overhead_blocks;   /* metadata blocks not counted in f_blocks */
    uint64_t group_free_blocks; /* free blocks summed over group descriptors */
    uint64_t group_free_inodes; /* free inodes summed over group descriptors */
    uint64_t reserved_blocks;   /* for root (r_blocks) + the delalloc reserve */
};

struct ext4_dirent {
    uint32_t ino;
    uint8_t type;      /* enum ext4_ftype; EXT4_FT_UNKNOWN without filetype */
    uint8_t name_len;
    const char *name;  /* not NUL-terminated: name_len bytes */
};

/* Flags for ext4_lookup(). */
#define EXT4_LOOKUP_NOFOLLOW 0x1 /* do not follow a symlink in the last component */

/*
 * Mount the filesystem on @dev read-only. Checks the superblock, the
 * feature flags (unknown INCOMPAT features: -EOPNOTSUPP) and every group
 * descriptor (and their checksums). Returns 0 and *out, or -errno with a
 * message in @err (may be NULL).
 */
int ext4_mount(struct gf_dev *dev, struct ext4_fs **out, char *err, size_t errlen);

/* Free @fs (accepts NULL). The device is not closed. */
void ext4_umount(struct ext4_fs *fs);

/* The message for the last failed call on @fs ("" if none). Valid until the next call. */
const char *ext4_error(const struct ext4_fs *fs);

int ext4_statvfs(struct ext4_fs *fs, struct ext4_statvfs *out);

/*
 * Resolve @path (absolute, or relative to the root) to an inode number,
 * following symlinks (at most 40 hops; -ELOOP beyond). With
 * EXT4_LOOKUP_NOFOLLOW a symlink in the last component is not followed.
 */
int ext4_lookup(struct ext4_fs *fs, const char *path, unsigned flags, uint32_t *ino);

/*
 * Look up one name (@len bytes, no '/') in directory @dir; "." and ".."
 * are the directory's own entries. -ENOENT, -ENOTDIR, -ENAMETOOLONG.
 */
int ext4_lookup_child(struct ext4_fs *fs, uint32_t dir, const char *name, size_t len,
                      uint32_t *ino);

int ext4_stat(struct ext4_fs *fs, uint32_t ino, struct ext4_stat *st);

/*
 * Read up to @len bytes of inode @ino's data from @off into @buf. Holes
 * and uninitialized extents read as zeros. Returns the number of bytes
 * read (short only at end of file, 0 at or past it) or -errno. Works for
 * regular files, directories and symlinks.
 */
int64_t ext4_read(struct ext4_fs *fs, uint32_t ino, uint64_t off, void *buf, size_t len);

/*
 * Call @cb for each entry of directory @ino except "." and "..", in
 * on-disk order (hashed directories are read as their linear leaves).
 * @cb returns 0 to go on or anything else to stop (ext4_readdir() then
 * returns that value). The entry is valid only during the call. Returns 0
 * or -errno (-ENOTDIR, -EUCLEAN for a bad entry or directory block).
 */
int ext4_readdir(struct ext4_fs *fs, uint32_t ino,
                 int (*cb)(void *arg, const struct ext4_dirent *de), void *arg);

/*
 * The target of symlink @ino into @buf, NUL-terminated. Returns the
 * target's length, -ERANGE if @len cannot hold it and the NUL, -EINVAL if
 * @ino is not a symlink.
 */
int ext4_readlink(struct ext4_fs *fs, uint32_t ino, char *buf, size_t len);

/*
 * The names of inode @ino's extended attributes ("user.x", "security.selinux",
 * "system.posix_acl_access", ...), each NUL-terminated, into @buf. Returns
 * the total size (with @buf NULL or @len 0 only the size), -ERANGE if it
 * does not fit. system.data (inline data) is not listed.
 */
int ext4_listxattr(struct ext4_fs *fs, uint32_t ino, char *buf, size_t len);

/*
 * The value of attribute @name of inode @ino. Returns its size (with @buf
 * NULL or @len 0 only the size), -ENODATA if absent, -ERANGE if it does
 * not fit. POSIX ACLs are returned in the on-disk ext4 format.
 */
int ext4_getxattr(struct ext4_fs *fs, uint32_t ino, const char *name, void *buf, size_t len);

#endif
