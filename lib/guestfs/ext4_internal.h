/* SPDX-License-Identifier: Apache-2.0 */
/* ext4_internal.h — shared between the ext4 reader's files (not installed). */
#ifndef GF_EXT4_INTERNAL_H
#define GF_EXT4_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ext4.h"
#include "gf_dev.h"

#ifndef EUCLEAN
#define EUCLEAN 117
#endif

/* Feature flags (superblock s_feature_*). */
#define COMPAT_HAS_JOURNAL 0x4
#define COMPAT_SPARSE_SUPER2 0x200

#define INCOMPAT_COMPRESSION 0x1
#define INCOMPAT_FILETYPE 0x2
#define INCOMPAT_RECOVER 0x4
#define INCOMPAT_JOURNAL_DEV 0x8
#define INCOMPAT_META_BG 0x10
#define INCOMPAT_EXTENTS 0x40
#define INCOMPAT_64BIT 0x80
#define INCOMPAT_MMP 0x100
#define INCOMPAT_FLEX_BG 0x200
#define INCOMPAT_EA_INODE 0x400
#define INCOMPAT_DIRDATA 0x1000
#define INCOMPAT_CSUM_SEED 0x2000
#define INCOMPAT_LARGEDIR 0x4000
#define INCOMPAT_INLINE_DATA 0x8000
#define INCOMPAT_ENCRYPT 0x10000
#define INCOMPAT_CASEFOLD 0x20000

#define RO_COMPAT_SPARSE_SUPER 0x1
#define RO_COMPAT_LARGE_FILE 0x2
#define RO_COMPAT_HUGE_FILE 0x8
#define RO_COMPAT_GDT_CSUM 0x10
#define RO_COMPAT_METADATA_CSUM 0x400

/* Inode flags. */
#define INODE_INDEX_FL 0x1000
#define INODE_HUGE_FILE_FL 0x40000
#define INODE_EXTENTS_FL 0x80000
#define INODE_EA_INODE_FL 0x200000
#define INODE_INLINE_DATA_FL 0x10000000

#define EXT4_GOOD_OLD_INODE_SIZE 128
#define EXT4_MAX_SYMLINKS 40
#define EXT4_MAX_EXTENT_DEPTH 5

static inline uint16_t le16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

struct ext4_inode;

struct ext4_group {
    uint64_t inode_table;
    uint32_t free_blocks, free_inodes;
    uint16_t flags;
};

struct ext4_fs {
    struct gf_dev *dev;
    const char *name;           /* gf_dev_name(dev) */
    uint8_t sb[1024];           /* the raw superblock */
    uint32_t block_size;
    uint32_t log_block_size;    /* block_size == 1024 << log_block_size */
    uint64_t blocks_count;
    uint32_t first_data_block;
    uint32_t blocks_per_group;
    uint32_t inodes_per_group;
    uint32_t inodes_count;
    uint32_t first_ino;
    uint32_t inode_size;
    uint32_t desc_size;
    uint32_t group_count;
    uint32_t compat, incompat, ro_compat;
    bool metadata_csum, gdt_csum;
    uint32_t csum_seed;         /* crc32c of the uuid (or s_checksum_seed) */
    struct ext4_group *groups;
    uint8_t *block;             /* scratch blocks for the tree walks */
    char err[256];
    struct ext4_inode *last;    /* the last inode read whole and checked (a stat
                                 * and the read after it ask for the same one) */
};

/* An inode as read from disk (raw bytes plus decoded fields). */
struct ext4_inode {
    uint32_t ino;
    uint8_t raw[1024];          /* inode_size bytes (<= 1024 checked at mount) */
    uint32_t raw_size;          /* bytes of raw that belong to the inode */
    uint16_t mode;
    uint32_t flags;
    uint64_t size;
    uint32_t generation;
    uint32_t csum_seed;         /* crc32c(fs seed, ino, generation) */
    uint64_t file_acl;          /* xattr block, 0 if none */
};

/* Record a message (prefixed with the device name) and return @rc. */
int ext4__fail(struct ext4_fs *fs, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The raw crc32c (no inversion), as ext4 stores it. */
uint32_t ext4__crc32c(uint32_t seed, const void *buf, size_t len);

int ext4__read_block(struct ext4_fs *fs, uint64_t block, void *buf);
int ext4__read_inode(struct ext4_fs *fs, uint32_t ino, struct ext4_inode *in);

/* Map logical block @lblk of @in: *phys (0 for a hole or an uninitialized
 * extent, which read as zeros) and *count, the number of blocks from @lblk
 * that map the same way contiguously (>= 1). */
int ext4__map(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t lblk, uint64_t *phys,
              uint64_t *count);

/* Read inode data (any inode type; no file-type check). */
int64_t ext4__read_data(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t off, void *buf,
                        size_t len);

/* Look up xattr (@index, @name) in @in: the value into @buf (up to @len)
 * and returns its size, or -ENODATA. */
int ext4__xattr_get(struct ext4_fs *fs, const struct ext4_inode *in, int index, const char *name,
                    size_t name_len, void *buf, size_t len);

#endif
