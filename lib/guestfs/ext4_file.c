/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ext4_file.c — an inode's data: extent trees (any depth up to 5, every
 * header and entry checked, extent blocks' checksums verified), legacy
 * direct/indirect/double/triple block maps, inline data and fast symlinks.
 * Holes and uninitialized extents read as zeros.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "ext4_internal.h"

#define EXTENT_MAGIC 0xF30A
#define EXTENT_INIT_MAX_LEN 32768u
#define XATTR_INDEX_SYSTEM 7

/* Past the last logical block an extent can map. */
#define LBLK_END (UINT64_C(1) << 32)

static int check_extent_header(struct ext4_fs *fs, const struct ext4_inode *in, const uint8_t *h,
                               uint32_t node_size, uint64_t block, int want_depth)
{
    char where[48];
    if (block)
        snprintf(where, sizeof(where), "block %llu", (unsigned long long)block);
    else
        snprintf(where, sizeof(where), "i_block");
    uint16_t magic = le16(h), entries = le16(h + 2), max = le16(h + 4), depth = le16(h + 6);
    if (magic != EXTENT_MAGIC)
        return ext4__fail(fs, -EUCLEAN, "inode %u: extent header in %s: bad magic 0x%04x",
                          in->ino, where, magic);
    if (12 + 12 * (uint32_t)max > node_size || max == 0)
        return ext4__fail(fs, -EUCLEAN, "inode %u: extent header in %s: eh_max %u does not fit",
                          in->ino, where, max);
    if (entries > max)
        return ext4__fail(fs, -EUCLEAN, "inode %u: extent header in %s: eh_entries %u > eh_max %u",
                          in->ino, where, entries, max);
    if (depth > EXT4_MAX_EXTENT_DEPTH || (want_depth >= 0 && depth != want_depth))
        return ext4__fail(fs, -EUCLEAN,
                          "inode %u: extent header in %s: eh_depth %u (expected %d, at most %d)",
                          in->ino, where, depth, want_depth, EXT4_MAX_EXTENT_DEPTH);
    if (block && fs->metadata_csum) {
        uint32_t tail = 12 + 12 * (uint32_t)max;
        if (tail + 4 > node_size)
            return ext4__fail(fs, -EUCLEAN,
                              "inode %u: extent block %llu: no room for the checksum", in->ino,
                              (unsigned long long)block);
        uint32_t want = ext4__crc32c(in->csum_seed, h, tail), stored = le32(h + tail);
        if (want != stored)
            return ext4__fail(fs, -EUCLEAN,
                              "inode %u: extent block %llu: checksum mismatch (stored 0x%08x, "
                              "computed 0x%08x)",
                              in->ino, (unsigned long long)block, stored, want);
    }
    return 0;
}

static int extent_map(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t lblk,
                      uint64_t *phys, uint64_t *count)
{
    const uint8_t *node = in->raw + 0x28;
    uint32_t node_size = 60;
    uint64_t block = 0, limit = LBLK_END;
    int want_depth = -1;
    *phys = 0;
    if (lblk >= LBLK_END) {
        *count = UINT64_MAX / 2;
        return 0;
    }
    for (;;) {
        int rc = check_extent_header(fs, in, node, node_size, block, want_depth);
        if (rc < 0)
            return rc;
        uint16_t entries = le16(node + 2), depth = le16(node + 6);
        const uint8_t *e = node + 12;
        if (depth == 0) {
            uint64_t prev_end = 0;
            for (uint16_t i = 0; i < entries; i++, e += 12) {
                uint64_t start = le32(e);
                uint32_t len = le16(e + 4);
                bool uninit = len > EXTENT_INIT_MAX_LEN;
                if (uninit)
                    len -= EXTENT_INIT_MAX_LEN;
                uint64_t pblk = (uint64_t)le16(e + 6) << 32 | le32(e + 8);
                if (len == 0 || start < prev_end || start + len > LBLK_END)
                    return ext4__fail(fs, -EUCLEAN,
                                      "inode %u: extent %u (logical %llu, length %u) is empty, "
                                      "overlaps or is out of order",
                                      in->ino, i, (unsigned long long)start, len);
                if (pblk < fs->first_data_block || pblk + len > fs->blocks_count)
                    return ext4__fail(fs, -EUCLEAN,
                                      "inode %u: extent at logical %llu: physical blocks "
                                      "%llu+%u past the filesystem (%llu blocks)",
                                      in->ino, (unsigned long long)start,
                                      (unsigned long long)pblk, len,
                                      (unsigned long long)fs->blocks_count);
                prev_end = start + len;
                if (lblk < start) {
                    *count = start - lblk;
                    return 0;
                }
                if (lblk < start + len) {
                    *phys = uninit ? 0 : pblk + (lblk - start);
                    *count = start + len - lblk;
                    return 0;
                }
            }
            *count = limit > lblk ? limit - lblk : 1;
            return 0;
        }
        /* An index node: the last entry starting at or before lblk. */
        int found = -1;
        uint64_t prev = 0;
        for (uint16_t i = 0; i < entries; i++) {
            uint64_t start = le32(e + 12 * i);
            if (i && start <= prev)
                return ext4__fail(fs, -EUCLEAN,
                                  "inode %u: extent index %u (logical %llu) out of order",
                                  in->ino, i, (unsigned long long)start);
            prev = start;
            if (start <= lblk)
                found = i;
        }
        if (found < 0) {
            *count = entries ? le32(e) - lblk : (limit > lblk ? limit - lblk : 1);
            return 0;
        }
        const uint8_t *ix = e + 12 * found;
        if (found + 1 < entries && le32(ix + 12) < limit)
            limit = le32(ix + 12);
        uint64_t child = le32(ix + 4) | (uint64_t)le16(ix + 8) << 32;
        if (child < fs->first_data_block || child >= fs->blocks_count)
            return ext4__fail(fs, -EUCLEAN,
                              "inode %u: extent index at logical %u points to block %llu, past "
                              "the filesystem",
                              in->ino, le32(ix), (unsigned long long)child);
        rc = ext4__read_block(fs, child, fs->block);
        if (rc < 0)
            return rc;
        block = child;
        node = fs->block;
        node_size = fs->block_size;
        want_depth = depth - 1;
    }
}

/* Runs of contiguous pointers (or of zeros) from @idx in a pointer array. */
static uint64_t ptr_run(const uint8_t *ptrs, uint32_t idx, uint32_t n)
{
    uint32_t first = le32(ptrs + 4 * idx), k = idx + 1;
    while (k < n) {
        uint32_t p = le32(ptrs + 4 * k);
        if (first == 0 ? p != 0 : p != first + (k - idx))
            break;
        k++;
    }
    return k - idx;
}

static int blockmap_map(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t lblk,
                        uint64_t *phys, uint64_t *count)
{
    const uint8_t *iblock = in->raw + 0x28;
    uint64_t per = fs->block_size / 4;
    *phys = 0;
    if (lblk < 12) {
        *count = ptr_run(iblock, (uint32_t)lblk, 12);
        *phys = le32(iblock + 4 * lblk);
    } else {
        uint64_t rem = lblk - 12, span = per;
        int level = 1;
        while (rem >= span && level < 3) {
            rem -= span;
            span *= per;
            level++;
        }
        if (rem >= span) {
            *count = UINT64_MAX / 2;
            return 0;
        }
        uint64_t ptr = le32(iblock + 4 * (11 + level));
        for (int l = level; l >= 1; l--) {
            if (ptr == 0) {
                *count = span - rem;
                return 0;
            }
            if (ptr < fs->first_data_block || ptr >= fs->blocks_count)
                return ext4__fail(fs, -EUCLEAN,
                                  "inode %u: indirect block %llu (level %d) past the filesystem",
                                  in->ino, (unsigned long long)ptr, l);
            int rc = ext4__read_block(fs, ptr, fs->block);
            if (rc < 0)
                return rc;
            span /= per;
            uint64_t idx = rem / span;
            rem %= span;
            ptr = le32(fs->block + 4 * idx);
            if (l == 1)
                *count = ptr_run(fs->block, (uint32_t)idx, (uint32_t)per);
        }
        *phys = ptr;
    }
    if (*phys && (*phys < fs->first_data_block || *phys + *count > fs->blocks_count))
        return ext4__fail(fs, -EUCLEAN,
                          "inode %u: logical block %llu maps to block %llu, past the filesystem",
                          in->ino, (unsigned long long)lblk, (unsigned long long)*phys);
    return 0;
}

int ext4__map(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t lblk, uint64_t *phys,
              uint64_t *count)
{
    if (in->flags & INODE_EXTENTS_FL)
        return extent_map(fs, in, lblk, phys, count);
    return blockmap_map(fs, in, lblk, phys, count);
}

static bool is_fast_symlink(const struct ext4_inode *in)
{
    return S_ISLNK(in->mode) && !(in->flags & INODE_INLINE_DATA_FL) && in->size < 60;
}

/* Inline data: 60 bytes in i_block, the rest in the system.data xattr; past
 * both (mke2fs writes such files for sparse sources) the file reads as zeros. */
static int64_t read_inline(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t off,
                           uint8_t *buf, size_t len)
{
    memset(buf, 0, len);
    if (off < 60) {
        size_t n = 60 - off < len ? 60 - (size_t)off : len;
        memcpy(buf, in->raw + 0x28 + off, n);
    }
    if (off + len <= 60)
        return (int64_t)len;
    int vsize = ext4__xattr_get(fs, in, XATTR_INDEX_SYSTEM, "data", 4, NULL, 0);
    if (vsize == -ENODATA || vsize == 0)
        return (int64_t)len;
    if (vsize < 0)
        return vsize;
    uint8_t *v = malloc((size_t)vsize);
    if (!v)
        return ext4__fail(fs, -ENOMEM, "out of memory");
    int rc = ext4__xattr_get(fs, in, XATTR_INDEX_SYSTEM, "data", 4, v, (size_t)vsize);
    if (rc >= 0) {
        /* The value covers file bytes [60, 60 + rc). */
        uint64_t from = off > 60 ? off : 60, to = off + len;
        if (to > 60 + (uint64_t)rc)
            to = 60 + (uint64_t)rc;
        if (from < to)
            memcpy(buf + (from - off), v + (from - 60), (size_t)(to - from));
    }
    free(v);
    return rc < 0 ? rc : (int64_t)len;
}

int64_t ext4__read_data(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t off, void *buf,
                        size_t len)
{
    if (off >= in->size || len == 0)
        return 0;
    if (len > in->size - off)
        len = (size_t)(in->size - off);
    if (len > INT64_MAX)
        len = INT64_MAX;
    if (in->flags & INODE_INLINE_DATA_FL)
        return read_inline(fs, in, off, buf, len);
    if (is_fast_symlink(in)) {
        memcpy(buf, in->raw + 0x28 + off, len);
        return (int64_t)len;
    }
    uint8_t *out = buf;
    size_t done = 0;
    while (done < len) {
        uint64_t pos = off + done, lblk = pos / fs->block_size, phys, count;
        uint32_t in_block = (uint32_t)(pos % fs->block_size);
        int rc = ext4__map(fs, in, lblk, &phys, &count);
        if (rc < 0)
            return rc;
        uint64_t avail = count > (UINT64_MAX / 2) / fs->block_size
                             ? UINT64_MAX / 2
                             : count * fs->block_size - in_block;
        size_t n = avail < len - done ? (size_t)avail : len - done;
        if (phys == 0) {
            memset(out + done, 0, n);
        } else {
            rc = gf_dev_pread(fs->dev, out + done, n, phys * fs->block_size + in_block);
            if (rc < 0)
                return ext4__fail(fs, rc, "inode %u: reading blocks %llu+ failed", in->ino,
                                  (unsigned long long)phys);
        }
        done += n;
    }
    return (int64_t)done;
}

int64_t ext4_read(struct ext4_fs *fs, uint32_t ino, uint64_t off, void *buf, size_t len)
{
    if (!fs || (!buf && len))
        return -EINVAL;
    struct ext4_inode in;
    int rc = ext4__read_inode(fs, ino, &in);
    if (rc < 0)
        return rc;
    if (!S_ISREG(in.mode) && !S_ISDIR(in.mode) && !S_ISLNK(in.mode))
        return ext4__fail(fs, -EINVAL, "inode %u: not a file, directory or symlink (mode 0%o)",
                          ino, in.mode);
    return ext4__read_data(fs, &in, off, buf, len);
}
