/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ext4_xattr.c — extended attributes: the in-inode area after
 * i_extra_isize and the attribute block (i_file_acl, checksum verified),
 * values stored in either or in an EA inode (ea_inode). Every entry's name
 * and value must lie inside its area.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ext4_internal.h"

#define XATTR_MAGIC 0xEA020000u
#define XATTR_VALUE_MAX 65536u

struct xattr_entry {
    uint8_t index;
    uint8_t name_len;
    const char *name;
    const uint8_t *value; /* NULL when in an EA inode */
    uint32_t value_inum;
    uint32_t value_size;
};

/* Called per entry; returns 0 to go on, non-zero to stop with that value. */
typedef int (*xattr_cb)(struct ext4_fs *fs, const struct xattr_entry *e, void *arg);

static const char *const prefixes[] = {
    [1] = "user.",
    [2] = "system.posix_acl_access",
    [3] = "system.posix_acl_default",
    [4] = "trusted.",
    [6] = "security.",
    [7] = "system.",
    [8] = "system.richacl",
};
#define NPREFIXES (sizeof(prefixes) / sizeof(prefixes[0]))

static int walk_area(struct ext4_fs *fs, const struct ext4_inode *in, const char *where,
                     const uint8_t *entries, const uint8_t *end, const uint8_t *value_base,
                     xattr_cb cb, void *arg)
{
    const uint8_t *p = entries;
    while (p + 4 <= end && le32(p) != 0) {
        if (p + 16 > end || p + 16 + p[0] > end)
            return ext4__fail(fs, -EUCLEAN, "inode %u: %s: xattr entry at offset %zu overruns",
                              in->ino, where, (size_t)(p - entries));
        struct xattr_entry e = {
            .index = p[1],
            .name_len = p[0],
            .name = (const char *)p + 16,
            .value_inum = le32(p + 4),
            .value_size = le32(p + 8),
        };
        uint32_t value_offs = le16(p + 2);
        if (e.value_size > XATTR_VALUE_MAX)
            return ext4__fail(fs, -EUCLEAN, "inode %u: %s: xattr value size %u too large",
                              in->ino, where, e.value_size);
        if (!e.value_inum) {
            if (value_base + value_offs + e.value_size > end)
                return ext4__fail(fs, -EUCLEAN,
                                  "inode %u: %s: xattr value (offset %u, size %u) outside the area",
                                  in->ino, where, value_offs, e.value_size);
            e.value = value_base + value_offs;
        } else if (!(fs->incompat & INCOMPAT_EA_INODE)) {
            return ext4__fail(fs, -EUCLEAN, "inode %u: %s: e_value_inum %u without ea_inode",
                              in->ino, where, e.value_inum);
        }
        int rc = cb(fs, &e, arg);
        if (rc)
            return rc;
        p += (16u + p[0] + 3u) & ~3u;
    }
    return 0;
}

static int walk(struct ext4_fs *fs, const struct ext4_inode *in, xattr_cb cb, void *arg)
{
    if (fs->inode_size > EXT4_GOOD_OLD_INODE_SIZE) {
        uint32_t start = EXT4_GOOD_OLD_INODE_SIZE + le16(in->raw + 0x80);
        if (start + 4 <= fs->inode_size && le32(in->raw + start) == XATTR_MAGIC) {
            const uint8_t *first = in->raw + start + 4;
            int rc = walk_area(fs, in, "in-inode xattrs", first, in->raw + fs->inode_size,
                               first, cb, arg);
            if (rc)
                return rc;
        }
    }
    if (!in->file_acl)
        return 0;
    if (in->file_acl < fs->first_data_block || in->file_acl >= fs->blocks_count)
        return ext4__fail(fs, -EUCLEAN, "inode %u: i_file_acl %llu past the filesystem", in->ino,
                          (unsigned long long)in->file_acl);
    uint8_t *b = malloc(fs->block_size);
    if (!b)
        return ext4__fail(fs, -ENOMEM, "out of memory");
    char where[64];
    snprintf(where, sizeof(where), "xattr block %llu", (unsigned long long)in->file_acl);
    int rc = ext4__read_block(fs, in->file_acl, b);
    if (rc == 0 && le32(b) != XATTR_MAGIC)
        rc = ext4__fail(fs, -EUCLEAN, "inode %u: %s: bad magic 0x%08x", in->ino, where, le32(b));
    if (rc == 0 && le32(b + 8) != 1)
        rc = ext4__fail(fs, -EUCLEAN, "inode %u: %s: h_blocks %u (must be 1)", in->ino, where,
                        le32(b + 8));
    if (rc == 0 && fs->metadata_csum) {
        uint8_t num[8];
        for (int i = 0; i < 8; i++)
            num[i] = (uint8_t)(in->file_acl >> (8 * i));
        uint32_t stored = le32(b + 0x10);
        memset(b + 0x10, 0, 4);
        uint32_t want = ext4__crc32c(ext4__crc32c(fs->csum_seed, num, 8), b, fs->block_size);
        if (want != stored)
            rc = ext4__fail(fs, -EUCLEAN,
                            "inode %u: %s: checksum mismatch (stored 0x%08x, computed 0x%08x)",
                            in->ino, where, stored, want);
    }
    if (rc == 0)
        rc = walk_area(fs, in, where, b + 32, b + fs->block_size, b, cb, arg);
    free(b);
    return rc;
}

/* Copy entry @e's value into @buf (@len bytes available). */
static int copy_value(struct ext4_fs *fs, const struct xattr_entry *e, void *buf, size_t len)
{
    if (!buf || !len)
        return (int)e->value_size;
    if (e->value_size > len)
        return -ERANGE;
    if (e->value) {
        memcpy(buf, e->value, e->value_size);
        return (int)e->value_size;
    }
    struct ext4_inode *vi = malloc(sizeof(*vi));
    if (!vi)
        return ext4__fail(fs, -ENOMEM, "out of memory");
    int rc = ext4__read_inode(fs, e->value_inum, vi);
    /* An EA inode holding inline data could point back here: refused. */
    if (rc == 0 && (!(vi->flags & INODE_EA_INODE_FL) || (vi->flags & INODE_INLINE_DATA_FL) ||
                    vi->size != e->value_size))
        rc = ext4__fail(fs, -EUCLEAN, "xattr value inode %u: not an EA inode of %u bytes",
                        e->value_inum, e->value_size);
    if (rc == 0) {
        int64_t n = ext4__read_data(fs, vi, 0, buf, e->value_size);
        rc = n < 0 ? (int)n : (int)e->value_size;
    }
    free(vi);
    return rc;
}

struct get_arg {
    int index;
    const char *name;
    size_t name_len;
    void *buf;
    size_t len;
    int result;
};

static int get_cb(struct ext4_fs *fs, const struct xattr_entry *e, void *arg)
{
    struct get_arg *g = arg;
    if (e->index != g->index || e->name_len != g->name_len ||
        memcmp(e->name, g->name, g->name_len) != 0)
        return 0;
    g->result = copy_value(fs, e, g->buf, g->len);
    return 1;
}

int ext4__xattr_get(struct ext4_fs *fs, const struct ext4_inode *in, int index, const char *name,
                    size_t name_len, void *buf, size_t len)
{
    struct get_arg g = {index, name, name_len, buf, len, -ENODATA};
    int rc = walk(fs, in, get_cb, &g);
    return rc < 0 ? rc : g.result;
}

struct list_arg {
    char *buf;
    size_t len;
    size_t total;
};

static int list_cb(struct ext4_fs *fs, const struct xattr_entry *e, void *arg)
{
    struct list_arg *l = arg;
    if (e->index >= NPREFIXES || !prefixes[e->index])
        return 0;
    if (e->index == 7 && e->name_len == 4 && memcmp(e->name, "data", 4) == 0)
        return 0; /* inline data, not an attribute */
    const char *prefix = prefixes[e->index];
    size_t plen = strlen(prefix);
    size_t need = plen + e->name_len + 1;
    if (l->buf && l->len) {
        if (l->total + need > l->len)
            return -ERANGE;
        memcpy(l->buf + l->total, prefix, plen);
        memcpy(l->buf + l->total + plen, e->name, e->name_len);
        l->buf[l->total + need - 1] = 0;
    }
    l->total += need;
    return 0;
}

int ext4_listxattr(struct ext4_fs *fs, uint32_t ino, char *buf, size_t len)
{
    if (!fs)
        return -EINVAL;
    struct ext4_inode in;
    int rc = ext4__read_inode(fs, ino, &in);
    if (rc < 0)
        return rc;
    struct list_arg l = {buf, len, 0};
    rc = walk(fs, &in, list_cb, &l);
    if (rc < 0)
        return rc;
    return (int)l.total;
}

int ext4_getxattr(struct ext4_fs *fs, uint32_t ino, const char *name, void *buf, size_t len)
{
    if (!fs || !name)
        return -EINVAL;
    int index = -1;
    const char *suffix = NULL;
    /* The longest prefix first: "system.posix_acl_access" before "system.". */
    size_t best = 0;
    for (size_t i = 0; i < NPREFIXES; i++) {
        if (!prefixes[i])
            continue;
        size_t plen = strlen(prefixes[i]);
        if (plen > best && strncmp(name, prefixes[i], plen) == 0) {
            bool whole = prefixes[i][plen - 1] != '.';
            if (whole && name[plen] != 0)
                continue;
            best = plen;
            index = (int)i;
            suffix = name + plen;
        }
    }
    if (index < 0 || strlen(suffix) > 255)
        return -ENODATA;
    if (index == 7 && strcmp(suffix, "data") == 0)
        return -ENODATA;
    struct ext4_inode in;
    int rc = ext4__read_inode(fs, ino, &in);
    if (rc < 0)
        return rc;
    return ext4__xattr_get(fs, &in, index, suffix, strlen(suffix), buf, len);
}
