/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ext4.c — mounting (superblock, features, group descriptors), inodes,
 * stat and statvfs, checksums and error messages for the read-only
 * ext2/3/4 reader (ext4.h). File data is in ext4_file.c, directories and
 * lookup in ext4_dir.c, extended attributes in ext4_xattr.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "ext4_internal.h"
#include "kk_crc32c.h"

/* Superblock field offsets. */
#define SB_INODES_COUNT 0x0
#define SB_BLOCKS_COUNT_LO 0x4
#define SB_R_BLOCKS_COUNT_LO 0x8
#define SB_FREE_BLOCKS_LO 0xC
#define SB_FREE_INODES 0x10
#define SB_FIRST_DATA_BLOCK 0x14
#define SB_LOG_BLOCK_SIZE 0x18
#define SB_LOG_CLUSTER_SIZE 0x1C
#define SB_BLOCKS_PER_GROUP 0x20
#define SB_CLUSTERS_PER_GROUP 0x24
#define SB_INODES_PER_GROUP 0x28
#define SB_MAGIC 0x38
#define SB_REV_LEVEL 0x4C
#define SB_FIRST_INO 0x54
#define SB_INODE_SIZE 0x58
#define SB_FEATURE_COMPAT 0x5C
#define SB_FEATURE_INCOMPAT 0x60
#define SB_FEATURE_RO_COMPAT 0x64
#define SB_UUID 0x68
#define SB_VOLUME_NAME 0x78
#define SB_DESC_SIZE 0xFE
#define SB_FIRST_META_BG 0x104
#define SB_BLOCKS_COUNT_HI 0x150
#define SB_R_BLOCKS_COUNT_HI 0x154
#define SB_FREE_BLOCKS_HI 0x158
#define SB_CHECKSUM_TYPE 0x175
#define SB_JOURNAL_INUM 0xE0
#define SB_OVERHEAD_CLUSTERS 0x248
#define SB_BACKUP_BGS 0x24C
#define SB_CHECKSUM_SEED 0x270
#define SB_CHECKSUM 0x3FC

#define EXT4_MAGIC 0xEF53

/* The INCOMPAT features this reader understands. */
#define INCOMPAT_SUPPORTED                                                                    \
    (INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG | INCOMPAT_EXTENTS |            \
     INCOMPAT_64BIT | INCOMPAT_MMP | INCOMPAT_FLEX_BG | INCOMPAT_EA_INODE |                  \
     INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | INCOMPAT_INLINE_DATA | INCOMPAT_CASEFOLD)

int ext4__fail(struct ext4_fs *fs, int rc, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(fs->err, sizeof(fs->err), "%s: ", fs->name);
    if (n < 0 || (size_t)n >= sizeof(fs->err))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(fs->err + n, sizeof(fs->err) - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

const char *ext4_error(const struct ext4_fs *fs)
{
    return fs ? fs->err : "";
}

uint32_t ext4__crc32c(uint32_t seed, const void *buf, size_t len)
{
    /* kk_crc32c() inverts on entry and exit; ext4 chains the raw register. */
    return ~kk_crc32c(~seed, buf, len);
}

/* CRC-16 (poly 0x8005, reflected), as gdt_csum uses it. */
static uint16_t crc16(uint16_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len--) {
        crc ^= *p++;
        for (int i = 0; i < 8; i++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

int ext4__read_block(struct ext4_fs *fs, uint64_t block, void *buf)
{
    if (block >= fs->blocks_count)
        return ext4__fail(fs, -EUCLEAN, "block %llu is past the end of the filesystem (%llu blocks)",
                          (unsigned long long)block, (unsigned long long)fs->blocks_count);
    int rc = gf_dev_pread(fs->dev, buf, fs->block_size, block * fs->block_size);
    if (rc < 0)
        return ext4__fail(fs, rc, "block %llu: read failed", (unsigned long long)block);
    return 0;
}

static bool is_power_of(uint32_t n, uint32_t base)
{
    while (n > 1 && n % base == 0)
        n /= base;
    return n == 1;
}

/* Whether group @g holds a superblock backup (and so a GDT copy). */
static bool group_has_super(const struct ext4_fs *fs, uint32_t g)
{
    if (g == 0)
        return true;
    if (fs->compat & COMPAT_SPARSE_SUPER2)
        return g == le32(fs->sb + SB_BACKUP_BGS) || g == le32(fs->sb + SB_BACKUP_BGS + 4);
    if (!(fs->ro_compat & RO_COMPAT_SPARSE_SUPER) || g == 1)
        return true;
    return is_power_of(g, 3) || is_power_of(g, 5) || is_power_of(g, 7);
}

/* The block holding descriptor block @n (each holds block_size/desc_size). */
static uint64_t desc_block(const struct ext4_fs *fs, uint32_t n)
{
    uint32_t per_block = fs->block_size / fs->desc_size;
    uint32_t first_meta_bg = le32(fs->sb + SB_FIRST_META_BG);
    if (!(fs->incompat & INCOMPAT_META_BG) || n < first_meta_bg)
        return (uint64_t)fs->first_data_block + 1 + n;
    /* meta_bg: the first group of each meta group holds its descriptors. */
    uint64_t g = (uint64_t)n * per_block;
    uint64_t first = fs->first_data_block + g * fs->blocks_per_group;
    return first + (g < UINT32_MAX && group_has_super(fs, (uint32_t)g) ? 1 : 0);
}

static int check_desc_csum(struct ext4_fs *fs, uint32_t g, const uint8_t *d)
{
    uint16_t stored = le16(d + 0x1E), want;
    uint8_t num[4] = {(uint8_t)g, (uint8_t)(g >> 8), (uint8_t)(g >> 16), (uint8_t)(g >> 24)};
    if (fs->metadata_csum) {
        uint8_t copy[1024];
        memcpy(copy, d, fs->desc_size);
        copy[0x1E] = copy[0x1F] = 0;
        uint32_t c = ext4__crc32c(fs->csum_seed, num, 4);
        want = (uint16_t)ext4__crc32c(c, copy, fs->desc_size);
    } else if (fs->gdt_csum) {
        uint16_t c = crc16(0xFFFF, fs->sb + SB_UUID, 16);
        c = crc16(c, num, 4);
        c = crc16(c, d, 0x1E);
        if (fs->desc_size > 0x20)
            c = crc16(c, d + 0x20, fs->desc_size - 0x20);
        want = c;
    } else {
        return 0;
    }
    if (stored != want)
        return ext4__fail(fs, -EUCLEAN,
                          "group descriptor %u: checksum mismatch (stored 0x%04x, computed 0x%04x)",
                          g, stored, want);
    return 0;
}

static int load_groups(struct ext4_fs *fs)
{
    uint32_t per_block = fs->block_size / fs->desc_size;
    uint32_t itable_blocks =
        (uint32_t)(((uint64_t)fs->inodes_per_group * fs->inode_size + fs->block_size - 1) /
                   fs->block_size);
    bool wide = (fs->incompat & INCOMPAT_64BIT) && fs->desc_size >= 64;
    fs->groups = calloc(fs->group_count, sizeof(*fs->groups));
    if (!fs->groups)
        return ext4__fail(fs, -ENOMEM, "out of memory for %u group descriptors", fs->group_count);
    for (uint32_t g = 0; g < fs->group_count; g++) {
        if (g % per_block == 0) {
            uint64_t b = desc_block(fs, g / per_block);
            int rc = ext4__read_block(fs, b, fs->block);
            if (rc < 0)
                return ext4__fail(fs, rc, "group descriptor %u: block %llu cannot be read", g,
                                  (unsigned long long)b);
        }
        const uint8_t *d = fs->block + (g % per_block) * fs->desc_size;
        int rc = check_desc_csum(fs, g, d);
        if (rc < 0)
            return rc;
        struct ext4_group *gr = &fs->groups[g];
        uint64_t block_bitmap = le32(d + 0x0), inode_bitmap = le32(d + 0x4);
        gr->inode_table = le32(d + 0x8);
        gr->free_blocks = le16(d + 0xC);
        gr->free_inodes = le16(d + 0xE);
        gr->flags = le16(d + 0x12);
        if (wide) {
            block_bitmap |= (uint64_t)le32(d + 0x20) << 32;
            inode_bitmap |= (uint64_t)le32(d + 0x24) << 32;
            gr->inode_table |= (uint64_t)le32(d + 0x28) << 32;
            gr->free_blocks |= (uint32_t)le16(d + 0x2C) << 16;
            gr->free_inodes |= (uint32_t)le16(d + 0x2E) << 16;
        }
        if (block_bitmap >= fs->blocks_count || inode_bitmap >= fs->blocks_count)
            return ext4__fail(fs, -EUCLEAN,
                              "group descriptor %u: bitmap block %llu/%llu past the end (%llu blocks)",
                              g, (unsigned long long)block_bitmap,
                              (unsigned long long)inode_bitmap,
                              (unsigned long long)fs->blocks_count);
        if (gr->inode_table < fs->first_data_block + 1 ||
            gr->inode_table > fs->blocks_count - itable_blocks)
            return ext4__fail(fs, -EUCLEAN,
                              "group descriptor %u: bg_inode_table %llu out of range (%u blocks "
                              "of a %llu-block filesystem)",
                              g, (unsigned long long)gr->inode_table, itable_blocks,
                              (unsigned long long)fs->blocks_count);
        if (gr->free_inodes > fs->inodes_per_group)
            return ext4__fail(fs, -EUCLEAN,
                              "group descriptor %u: bg_free_inodes_count %u > %u per group", g,
                              gr->free_inodes, fs->inodes_per_group);
    }
    return 0;
}

static int parse_super(struct ext4_fs *fs)
{
    const uint8_t *sb = fs->sb;
    uint64_t dev_size = gf_dev_size(fs->dev);
    if (le16(sb + SB_MAGIC) != EXT4_MAGIC)
        return ext4__fail(fs, -EINVAL, "superblock: bad magic 0x%04x (not ext2/3/4)",
                          le16(sb + SB_MAGIC));
    uint32_t rev = le32(sb + SB_REV_LEVEL);
    if (rev > 1)
        return ext4__fail(fs, -EOPNOTSUPP, "superblock: unknown s_rev_level %u", rev);
    fs->compat = rev ? le32(sb + SB_FEATURE_COMPAT) : 0;
    fs->incompat = rev ? le32(sb + SB_FEATURE_INCOMPAT) : 0;
    fs->ro_compat = rev ? le32(sb + SB_FEATURE_RO_COMPAT) : 0;
    fs->metadata_csum = fs->ro_compat & RO_COMPAT_METADATA_CSUM;
    fs->gdt_csum = !fs->metadata_csum && (fs->ro_compat & RO_COMPAT_GDT_CSUM);
    if (fs->metadata_csum) {
        if (sb[SB_CHECKSUM_TYPE] != 1)
            return ext4__fail(fs, -EUCLEAN, "superblock: unknown s_checksum_type %u",
                              sb[SB_CHECKSUM_TYPE]);
        uint32_t want = ext4__crc32c(~0u, sb, SB_CHECKSUM), stored = le32(sb + SB_CHECKSUM);
        if (want != stored)
            return ext4__fail(fs, -EUCLEAN,
                              "superblock: checksum mismatch (stored 0x%08x, computed 0x%08x)",
                              stored, want);
        fs->csum_seed = (fs->incompat & INCOMPAT_CSUM_SEED) ? le32(sb + SB_CHECKSUM_SEED)
                                                             : ext4__crc32c(~0u, sb + SB_UUID, 16);
    }
    uint32_t unknown = fs->incompat & ~(uint32_t)INCOMPAT_SUPPORTED;
    if (unknown) {
        const char *what = (unknown & INCOMPAT_JOURNAL_DEV) ? " (an external journal device)"
                           : (unknown & INCOMPAT_ENCRYPT)   ? " (encrypt)"
                           : (unknown & INCOMPAT_COMPRESSION) ? " (compression)"
                           : (unknown & INCOMPAT_DIRDATA)   ? " (dirdata)"
                                                            : "";
        return ext4__fail(fs, -EOPNOTSUPP, "superblock: unsupported INCOMPAT features 0x%x%s",
                          unknown, what);
    }
    fs->log_block_size = le32(sb + SB_LOG_BLOCK_SIZE);
    if (fs->log_block_size > 6)
        return ext4__fail(fs, -EUCLEAN, "superblock: s_log_block_size %u (block size > 64 KiB)",
                          fs->log_block_size);
    fs->block_size = 1024u << fs->log_block_size;
    fs->blocks_count = le32(sb + SB_BLOCKS_COUNT_LO);
    if (fs->incompat & INCOMPAT_64BIT)
        fs->blocks_count |= (uint64_t)le32(sb + SB_BLOCKS_COUNT_HI) << 32;
    fs->first_data_block = le32(sb + SB_FIRST_DATA_BLOCK);
    fs->blocks_per_group = le32(sb + SB_BLOCKS_PER_GROUP);
    fs->inodes_per_group = le32(sb + SB_INODES_PER_GROUP);
    fs->inodes_count = le32(sb + SB_INODES_COUNT);
    fs->first_ino = rev ? le32(sb + SB_FIRST_INO) : 11;
    fs->inode_size = rev ? le16(sb + SB_INODE_SIZE) : EXT4_GOOD_OLD_INODE_SIZE;
    fs->desc_size = 32;
    if (fs->incompat & INCOMPAT_64BIT) {
        fs->desc_size = le16(sb + SB_DESC_SIZE);
        if (fs->desc_size < 32 || fs->desc_size > 1024 || (fs->desc_size & (fs->desc_size - 1)))
            return ext4__fail(fs, -EUCLEAN, "superblock: bad s_desc_size %u", fs->desc_size);
    }
    if (fs->inode_size < EXT4_GOOD_OLD_INODE_SIZE || fs->inode_size > fs->block_size ||
        fs->inode_size > 1024 || (fs->inode_size & (fs->inode_size - 1)))
        return ext4__fail(fs, -EUCLEAN, "superblock: bad s_inode_size %u", fs->inode_size);
    if (fs->first_data_block != (fs->block_size == 1024 ? 1u : 0u))
        return ext4__fail(fs, -EUCLEAN, "superblock: s_first_data_block %u with %u-byte blocks",
                          fs->first_data_block, fs->block_size);
    uint32_t max_per_group = fs->block_size * 8;
    uint32_t log_cluster = le32(sb + SB_LOG_CLUSTER_SIZE);
    bool bigalloc = log_cluster != fs->log_block_size && (fs->ro_compat & 0x200);
    if (fs->blocks_per_group == 0 ||
        (!bigalloc && fs->blocks_per_group > max_per_group) ||
        (bigalloc && le32(sb + SB_CLUSTERS_PER_GROUP) > max_per_group))
        return ext4__fail(fs, -EUCLEAN, "superblock: bad s_blocks_per_group %u",
                          fs->blocks_per_group);
    if (fs->inodes_per_group == 0 || fs->inodes_per_group > max_per_group)
        return ext4__fail(fs, -EUCLEAN, "superblock: bad s_inodes_per_group %u",
                          fs->inodes_per_group);
    if (fs->blocks_count <= fs->first_data_block)
        return ext4__fail(fs, -EUCLEAN, "superblock: s_blocks_count %llu too small",
                          (unsigned long long)fs->blocks_count);
    if (fs->blocks_count > dev_size / fs->block_size)
        return ext4__fail(fs, -EUCLEAN,
                          "superblock: the filesystem has %llu blocks of %u bytes but the device "
                          "holds only %llu (truncated image?)",
                          (unsigned long long)fs->blocks_count, fs->block_size,
                          (unsigned long long)(dev_size / fs->block_size));
    uint64_t groups = (fs->blocks_count - fs->first_data_block + fs->blocks_per_group - 1) /
                      fs->blocks_per_group;
    if (groups > UINT32_MAX || groups * fs->inodes_per_group != fs->inodes_count)
        return ext4__fail(fs, -EUCLEAN,
                          "superblock: s_inodes_count %u is not %llu groups of %u inodes",
                          fs->inodes_count, (unsigned long long)groups, fs->inodes_per_group);
    fs->group_count = (uint32_t)groups;
    if (fs->first_ino < 11 || fs->first_ino > fs->inodes_count)
        return ext4__fail(fs, -EUCLEAN, "superblock: bad s_first_ino %u", fs->first_ino);
    /* A 1 KiB block keeps the superblock in block 1: the GDT starts at block 2. */
    return 0;
}

int ext4_mount(struct gf_dev *dev, struct ext4_fs **out, char *err, size_t errlen)
{
    if (!dev || !out)
        return -EINVAL;
    *out = NULL;
    struct ext4_fs *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    fs->dev = dev;
    fs->name = gf_dev_name(dev);
    int rc = gf_dev_pread(dev, fs->sb, sizeof(fs->sb), 1024);
    if (rc < 0)
        rc = ext4__fail(fs, rc, "superblock: cannot read bytes 1024-2047 (device of %llu bytes)",
                        (unsigned long long)gf_dev_size(dev));
    if (rc == 0)
        rc = parse_super(fs);
    if (rc == 0) {
        /* Three blocks: one for the caller's level and room for tree walks. */
        fs->block = malloc((size_t)fs->block_size);
        if (!fs->block)
            rc = ext4__fail(fs, -ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = load_groups(fs);
    if (rc == 0) {
        struct ext4_inode root;
        rc = ext4__read_inode(fs, EXT4_ROOT_INO, &root);
        if (rc == 0 && !S_ISDIR(root.mode))
            rc = ext4__fail(fs, -EUCLEAN, "inode 2 (the root) is not a directory (mode 0%o)",
                            root.mode);
    }
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", fs->err);
        ext4_umount(fs);
        return rc;
    }
    fs->err[0] = 0;
    *out = fs;
    return 0;
}

void ext4_umount(struct ext4_fs *fs)
{
    if (!fs)
        return;
    free(fs->groups);
    free(fs->block);
    free(fs->last);
    free(fs);
}

static int read_inode(struct ext4_fs *fs, uint32_t ino, struct ext4_inode *in);

int ext4__read_inode(struct ext4_fs *fs, uint32_t ino, struct ext4_inode *in)
{
    if (fs->last && fs->last->ino == ino) {
        memcpy(in, fs->last, sizeof(*in));
        return 0;
    }
    int rc = read_inode(fs, ino, in);
    /* only inodes that passed every check are kept (ino is never 0 then) */
    if (rc == 0 && (fs->last || (fs->last = malloc(sizeof(*fs->last)))))
        memcpy(fs->last, in, sizeof(*in));
    return rc;
}

static int read_inode(struct ext4_fs *fs, uint32_t ino, struct ext4_inode *in)
{
    if (ino == 0 || ino > fs->inodes_count)
        return ext4__fail(fs, -EINVAL, "inode %u out of range (1-%u)", ino, fs->inodes_count);
    uint32_t g = (ino - 1) / fs->inodes_per_group, idx = (ino - 1) % fs->inodes_per_group;
    uint64_t off = fs->groups[g].inode_table * fs->block_size + (uint64_t)idx * fs->inode_size;
    memset(in, 0, sizeof(*in));
    in->ino = ino;
    in->raw_size = fs->inode_size;
    int rc = gf_dev_pread(fs->dev, in->raw, fs->inode_size, off);
    if (rc < 0)
        return ext4__fail(fs, rc, "inode %u: cannot read it at byte %llu", ino,
                          (unsigned long long)off);
    const uint8_t *r = in->raw;
    uint32_t extra = 0;
    if (fs->inode_size > EXT4_GOOD_OLD_INODE_SIZE) {
        extra = le16(r + 0x80);
        if (extra > fs->inode_size - EXT4_GOOD_OLD_INODE_SIZE || (extra & 3))
            return ext4__fail(fs, -EUCLEAN, "inode %u: bad i_extra_isize %u", ino, extra);
    }
    in->generation = le32(r + 0x64);
    if (fs->metadata_csum) {
        bool zero = true;
        for (uint32_t i = 0; i < fs->inode_size && zero; i++)
            zero = r[i] == 0;
        uint8_t num[4] = {(uint8_t)ino, (uint8_t)(ino >> 8), (uint8_t)(ino >> 16),
                          (uint8_t)(ino >> 24)};
        uint32_t seed = ext4__crc32c(fs->csum_seed, num, 4);
        seed = ext4__crc32c(seed, r + 0x64, 4);
        in->csum_seed = seed;
        if (!zero) {
            uint8_t copy[1024];
            memcpy(copy, r, fs->inode_size);
            copy[0x7C] = copy[0x7D] = 0;
            bool has_hi = extra >= 4;
            if (has_hi)
                copy[0x82] = copy[0x83] = 0;
            uint32_t want = ext4__crc32c(seed, copy, fs->inode_size);
            uint32_t stored = le16(r + 0x7C);
            if (has_hi)
                stored |= (uint32_t)le16(r + 0x82) << 16;
            else
                want &= 0xFFFF;
            if (want != stored)
                return ext4__fail(fs, -EUCLEAN,
                                  "inode %u: checksum mismatch (stored 0x%08x, computed 0x%08x)",
                                  ino, stored, want);
        }
    }
    in->mode = le16(r + 0x0);
    in->flags = le32(r + 0x20);
    in->size = le32(r + 0x4) | (uint64_t)le32(r + 0x6C) << 32;
    in->file_acl = le32(r + 0x68) | (uint64_t)le16(r + 0x76) << 32;
    if (in->mode == 0 && le16(r + 0x1A) == 0)
        return ext4__fail(fs, -EUCLEAN, "inode %u: not in use (mode 0, no links)", ino);
    if (in->size > INT64_MAX)
        return ext4__fail(fs, -EUCLEAN, "inode %u: i_size %llu too large", ino,
                          (unsigned long long)in->size);
    return 0;
}

static void decode_time(const uint8_t *r, uint32_t extra_isize, uint32_t base, uint32_t extra_off,
                        struct ext4_time *t)
{
    t->sec = (int32_t)le32(r + base);
    t->nsec = 0;
    if (extra_off && extra_off + 4 <= EXT4_GOOD_OLD_INODE_SIZE + extra_isize) {
        uint32_t x = le32(r + extra_off);
        t->sec += (int64_t)(x & 3) << 32;
        t->nsec = x >> 2;
    }
}

int ext4_stat(struct ext4_fs *fs, uint32_t ino, struct ext4_stat *st)
{
    if (!fs || !st)
        return -EINVAL;
    struct ext4_inode in;
    int rc = ext4__read_inode(fs, ino, &in);
    if (rc < 0)
        return rc;
    const uint8_t *r = in.raw;
    uint32_t extra = fs->inode_size > EXT4_GOOD_OLD_INODE_SIZE ? le16(r + 0x80) : 0;
    memset(st, 0, sizeof(*st));
    st->ino = ino;
    st->mode = in.mode;
    st->uid = le16(r + 0x2) | (uint32_t)le16(r + 0x78) << 16;
    st->gid = le16(r + 0x18) | (uint32_t)le16(r + 0x7A) << 16;
    st->nlink = le16(r + 0x1A);
    st->size = in.size;
    st->flags = in.flags;
    st->generation = in.generation;
    uint64_t blocks = le32(r + 0x1C);
    if (fs->ro_compat & RO_COMPAT_HUGE_FILE) {
        blocks |= (uint64_t)le16(r + 0x74) << 32;
        if (in.flags & INODE_HUGE_FILE_FL)
            blocks *= fs->block_size / 512;
    }
    st->blocks = blocks;
    if (S_ISCHR(in.mode) || S_ISBLK(in.mode)) {
        uint32_t old = le32(r + 0x28), new = le32(r + 0x2C);
        if (old) {
            st->rdev_major = (old >> 8) & 0xFF;
            st->rdev_minor = old & 0xFF;
        } else {
            st->rdev_major = (new & 0xFFF00) >> 8;
            st->rdev_minor = (new & 0xFF) | ((new >> 12) & 0xFFF00);
        }
    }
    decode_time(r, extra, 0x08, 0x8C, &st->atime);
    decode_time(r, extra, 0x0C, 0x84, &st->ctime);
    decode_time(r, extra, 0x10, 0x88, &st->mtime);
    if (extra >= 0x98 - EXT4_GOOD_OLD_INODE_SIZE)
        decode_time(r, extra, 0x90, 0x94, &st->crtime);
    return 0;
}

/* Descriptor blocks in group @g (ext4's bg_num_gdb): all of them after each
 * superblock copy, or with meta_bg one in the first, second and last group
 * of each meta group. */
static uint64_t group_desc_blocks(const struct ext4_fs *fs, uint32_t g)
{
    uint32_t per_block = fs->block_size / fs->desc_size;
    uint32_t first_meta_bg = le32(fs->sb + SB_FIRST_META_BG);
    uint64_t gdb_count = ((uint64_t)fs->group_count + per_block - 1) / per_block;
    if (!(fs->incompat & INCOMPAT_META_BG) || g / per_block < first_meta_bg) {
        if (!group_has_super(fs, g))
            return 0;
        return (fs->incompat & INCOMPAT_META_BG) ? first_meta_bg : gdb_count;
    }
    uint32_t i = g % per_block;
    return (i == 0 || i == 1 || i == per_block - 1) ? 1 : 0;
}

/* The blocks Linux counts as overhead and leaves out of statfs's f_blocks:
 * s_overhead_clusters when set, otherwise the blocks before the first
 * group, each group's superblock copy, descriptor blocks, two bitmaps and
 * inode table, and an internal journal. */
static uint64_t overhead(struct ext4_fs *fs)
{
    uint32_t stored = le32(fs->sb + SB_OVERHEAD_CLUSTERS);
    if (stored)
        return stored;
    uint64_t itb = ((uint64_t)fs->inodes_per_group * fs->inode_size + fs->block_size - 1) /
                   fs->block_size;
    uint64_t total = fs->first_data_block;
    for (uint32_t g = 0; g < fs->group_count; g++)
        total += (group_has_super(fs, g) ? 1 : 0) + group_desc_blocks(fs, g) + itb + 2;
    uint32_t jino = le32(fs->sb + SB_JOURNAL_INUM);
    if ((fs->compat & COMPAT_HAS_JOURNAL) && jino) {
        struct ext4_inode in;
        if (ext4__read_inode(fs, jino, &in) == 0)
            total += in.size / fs->block_size;
    }
    return total;
}

int ext4_statvfs(struct ext4_fs *fs, struct ext4_statvfs *out)
{
    if (!fs || !out)
        return -EINVAL;
    const uint8_t *sb = fs->sb;
    memset(out, 0, sizeof(*out));
    out->block_size = fs->block_size;
    out->blocks = fs->blocks_count;
    bool wide = fs->incompat & INCOMPAT_64BIT;
    out->free_blocks = le32(sb + SB_FREE_BLOCKS_LO) |
                       (wide ? (uint64_t)le32(sb + SB_FREE_BLOCKS_HI) << 32 : 0);
    uint64_t reserved = le32(sb + SB_R_BLOCKS_COUNT_LO) |
                        (wide ? (uint64_t)le32(sb + SB_R_BLOCKS_COUNT_HI) << 32 : 0);
    out->avail_blocks = out->free_blocks > reserved ? out->free_blocks - reserved : 0;
    out->inodes = fs->inodes_count;
    out->free_inodes = le32(sb + SB_FREE_INODES);
    out->name_max = EXT4_NAME_MAX;
    out->compat = fs->compat;
    out->incompat = fs->incompat;
    out->ro_compat = fs->ro_compat;
    out->needs_recovery = !!(fs->incompat & INCOMPAT_RECOVER);
    out->has_journal = !!(fs->compat & COMPAT_HAS_JOURNAL);
    out->csum = fs->metadata_csum ? 2 : fs->gdt_csum ? 1 : 0;
    memcpy(out->uuid, sb + SB_UUID, 16);
    memcpy(out->label, sb + SB_VOLUME_NAME, 16);
    out->label[16] = 0;
    for (uint32_t g = 0; g < fs->group_count; g++) {
        out->group_free_blocks += fs->groups[g].free_blocks;
        out->group_free_inodes += fs->groups[g].free_inodes;
    }
    out->overhead_blocks = overhead(fs);
    /* Linux keeps 2% of the blocks (at most 4096) back for delayed
     * allocation on filesystems with extents. */
    uint64_t resv = (fs->incompat & INCOMPAT_EXTENTS) ? fs->blocks_count / 50 : 0;
    out->reserved_blocks = reserved + (resv > 4096 ? 4096 : resv);
    return 0;
}
