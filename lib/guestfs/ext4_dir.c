/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ext4_dir.c — directories (linear blocks, hashed directories read as
 * their linear leaves, inline-data directories), entry validation,
 * directory block checksums, path lookup with symlink resolution, readlink.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "ext4_internal.h"

#define XATTR_INDEX_SYSTEM 7
#define DIRENT_TAIL_FT 0xDE
#define PATH_MAX_LEN 4096

/* Called per entry (with "." and ".." when asked); non-zero stops. */
typedef int (*dirent_cb)(void *arg, const struct ext4_dirent *de);

static uint32_t rec_len_from_disk(uint16_t v, uint32_t block_size)
{
    /* 64 KiB blocks: 65535 (and 0) stand for 65536. */
    if (block_size >= 65536 && (v == 65535 || v == 0))
        return 65536;
    return v;
}

/* Walk the entries of one area (a block or an inline region) of @size bytes. */
static int walk_entries(struct ext4_fs *fs, const struct ext4_inode *dir, const char *where,
                        const uint8_t *area, uint32_t size, bool dots, dirent_cb cb, void *arg)
{
    bool filetype = fs->incompat & INCOMPAT_FILETYPE;
    uint32_t off = 0;
    while (off < size) {
        const uint8_t *d = area + off;
        if (size - off < 8)
            return ext4__fail(fs, -EUCLEAN, "inode %u: %s: directory entry at offset %u overruns",
                              dir->ino, where, off);
        uint32_t ino = le32(d);
        uint32_t rec_len = rec_len_from_disk(le16(d + 4), fs->block_size);
        uint32_t name_len = filetype ? d[6] : le16(d + 6);
        uint32_t min_len = (8 + name_len + 3) & ~3u;
        if (rec_len < 8 || rec_len % 4 || rec_len < min_len || rec_len > size - off)
            return ext4__fail(fs, -EUCLEAN,
                              "inode %u: %s: directory entry at offset %u: bad rec_len %u "
                              "(name_len %u, %u bytes left)",
                              dir->ino, where, off, rec_len, name_len, size - off);
        if (ino) {
            if (ino > fs->inodes_count || name_len == 0)
                return ext4__fail(fs, -EUCLEAN,
                                  "inode %u: %s: directory entry at offset %u: bad %s %u",
                                  dir->ino, where, off, name_len ? "inode" : "name_len",
                                  name_len ? ino : name_len);
            struct ext4_dirent de = {
                .ino = ino,
                .type = filetype ? d[7] : EXT4_FT_UNKNOWN,
                .name_len = (uint8_t)name_len,
                .name = (const char *)d + 8,
            };
            bool is_dot = (name_len == 1 && d[8] == '.') ||
                          (name_len == 2 && d[8] == '.' && d[9] == '.');
            if (name_len > EXT4_NAME_MAX)
                return ext4__fail(fs, -EUCLEAN, "inode %u: %s: name_len %u", dir->ino, where,
                                  name_len);
            if (dots || !is_dot) {
                int rc = cb(arg, &de);
                if (rc)
                    return rc;
            }
        }
        off += rec_len;
    }
    return 0;
}

static bool has_dirent_tail(const struct ext4_fs *fs, const uint8_t *b)
{
    const uint8_t *t = b + fs->block_size - 12;
    return le32(t) == 0 && le16(t + 4) == 12 && t[6] == 0 && t[7] == DIRENT_TAIL_FT;
}

/* Verify a directory block's checksum; *leaf_size is the part holding entries. */
static int check_dir_block(struct ext4_fs *fs, const struct ext4_inode *dir, uint64_t lblk,
                           const uint8_t *b, uint32_t *leaf_size)
{
    *leaf_size = fs->block_size;
    if (!fs->metadata_csum)
        return 0;
    if (has_dirent_tail(fs, b)) {
        uint32_t want = ext4__crc32c(dir->csum_seed, b, fs->block_size - 12);
        uint32_t stored = le32(b + fs->block_size - 4);
        if (want != stored)
            return ext4__fail(fs, -EUCLEAN,
                              "inode %u: directory block %llu: checksum mismatch (stored "
                              "0x%08x, computed 0x%08x)",
                              dir->ino, (unsigned long long)lblk, stored, want);
        *leaf_size = fs->block_size - 12;
        return 0;
    }
    /* A hashed directory's index node: the count/limit header and dx tail. */
    uint32_t count_off = 0;
    if ((dir->flags & INODE_INDEX_FL) && lblk == 0)
        count_off = 32;
    else if ((dir->flags & INODE_INDEX_FL) && le32(b) == 0 &&
             rec_len_from_disk(le16(b + 4), fs->block_size) == fs->block_size)
        count_off = 8;
    if (!count_off)
        return ext4__fail(fs, -EUCLEAN, "inode %u: directory block %llu: no checksum tail",
                          dir->ino, (unsigned long long)lblk);
    uint32_t limit = le16(b + count_off), count = le16(b + count_off + 2);
    uint32_t tail = count_off + limit * 8;
    if (count > limit || tail + 8 > fs->block_size)
        return ext4__fail(fs, -EUCLEAN,
                          "inode %u: htree block %llu: bad count %u / limit %u", dir->ino,
                          (unsigned long long)lblk, count, limit);
    uint32_t want = ext4__crc32c(dir->csum_seed, b, count_off + count * 8);
    /* The tail's reserved word, then its checksum field counted as zero. */
    static const uint8_t zero[4];
    want = ext4__crc32c(want, b + tail, 4);
    want = ext4__crc32c(want, zero, 4);
    uint32_t stored = le32(b + tail + 4);
    if (want != stored)
        return ext4__fail(fs, -EUCLEAN,
                          "inode %u: htree block %llu: checksum mismatch (stored 0x%08x, "
                          "computed 0x%08x)",
                          dir->ino, (unsigned long long)lblk, stored, want);
    /* Read linearly, the root holds "." and ".." (whose rec_len covers the
     * index) and an internal node one empty entry spanning the block. */
    return 0;
}

static int iterate_inline(struct ext4_fs *fs, const struct ext4_inode *dir, bool dots,
                          dirent_cb cb, void *arg)
{
    if (dots) {
        uint32_t parent = le32(dir->raw + 0x28);
        struct ext4_dirent d1 = {dir->ino, EXT4_FT_DIR, 1, "."};
        struct ext4_dirent d2 = {parent, EXT4_FT_DIR, 2, ".."};
        int rc = cb(arg, &d1);
        if (!rc)
            rc = cb(arg, &d2);
        if (rc)
            return rc;
    }
    int rc = walk_entries(fs, dir, "inline directory", dir->raw + 0x2C, 56, false, cb, arg);
    if (rc)
        return rc;
    int vsize = ext4__xattr_get(fs, dir, XATTR_INDEX_SYSTEM, "data", 4, NULL, 0);
    if (vsize == -ENODATA || vsize == 0)
        return 0;
    if (vsize < 0)
        return vsize;
    uint8_t *v = malloc((size_t)vsize);
    if (!v)
        return ext4__fail(fs, -ENOMEM, "out of memory");
    rc = ext4__xattr_get(fs, dir, XATTR_INDEX_SYSTEM, "data", 4, v, (size_t)vsize);
    if (rc >= 0)
        rc = walk_entries(fs, dir, "inline directory (system.data)", v, (uint32_t)rc, false, cb,
                          arg);
    free(v);
    return rc;
}

static int iterate(struct ext4_fs *fs, const struct ext4_inode *dir, bool dots, dirent_cb cb,
                   void *arg)
{
    if (!S_ISDIR(dir->mode))
        return ext4__fail(fs, -ENOTDIR, "inode %u: not a directory", dir->ino);
    if (dir->flags & INODE_INLINE_DATA_FL)
        return iterate_inline(fs, dir, dots, cb, arg);
    if (dir->size % fs->block_size)
        return ext4__fail(fs, -EUCLEAN, "inode %u: directory size %llu is not whole blocks",
                          dir->ino, (unsigned long long)dir->size);
    uint8_t *b = malloc(fs->block_size);
    if (!b)
        return ext4__fail(fs, -ENOMEM, "out of memory");
    int rc = 0;
    uint64_t nblocks = dir->size / fs->block_size;
    for (uint64_t lblk = 0; lblk < nblocks && rc == 0; lblk++) {
        int64_t n = ext4__read_data(fs, dir, lblk * fs->block_size, b, fs->block_size);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        uint32_t leaf_size;
        rc = check_dir_block(fs, dir, lblk, b, &leaf_size);
        if (rc == 0 && leaf_size) {
            char where[48];
            snprintf(where, sizeof(where), "directory block %llu", (unsigned long long)lblk);
            rc = walk_entries(fs, dir, where, b, leaf_size, dots, cb, arg);
        }
    }
    free(b);
    return rc;
}

int ext4_readdir(struct ext4_fs *fs, uint32_t ino,
                 int (*cb)(void *arg, const struct ext4_dirent *de), void *arg)
{
    if (!fs || !cb)
        return -EINVAL;
    struct ext4_inode in;
    int rc = ext4__read_inode(fs, ino, &in);
    if (rc < 0)
        return rc;
    return iterate(fs, &in, false, cb, arg);
}

struct find_arg {
    const char *name;
    size_t len;
    uint32_t ino;
};

static int find_cb(void *arg, const struct ext4_dirent *de)
{
    struct find_arg *f = arg;
    if (de->name_len == f->len && memcmp(de->name, f->name, f->len) == 0) {
        f->ino = de->ino;
        return 1;
    }
    return 0;
}

int ext4_lookup_child(struct ext4_fs *fs, uint32_t dir, const char *name, size_t len,
                      uint32_t *ino)
{
    if (!fs || !name || !ino || !len)
        return -EINVAL;
    if (len > EXT4_NAME_MAX)
        return -ENAMETOOLONG;
    struct ext4_inode in;
    int rc = ext4__read_inode(fs, dir, &in);
    if (rc < 0)
        return rc;
    if (!S_ISDIR(in.mode))
        return ext4__fail(fs, -ENOTDIR, "inode %u: not a directory", dir);
    struct find_arg f = {name, len, 0};
    rc = iterate(fs, &in, true, find_cb, &f);
    if (rc < 0)
        return rc;
    if (!f.ino)
        return ext4__fail(fs, -ENOENT, "%.*s: no such entry in directory inode %u", (int)len,
                          name, dir);
    *ino = f.ino;
    return 0;
}

int ext4_readlink(struct ext4_fs *fs, uint32_t ino, char *buf, size_t len)
{
    if (!fs || !buf)
        return -EINVAL;
    struct ext4_inode in;
    int rc = ext4__read_inode(fs, ino, &in);
    if (rc < 0)
        return rc;
    if (!S_ISLNK(in.mode))
        return ext4__fail(fs, -EINVAL, "inode %u: not a symlink", ino);
    if (in.size >= PATH_MAX_LEN)
        return ext4__fail(fs, -EUCLEAN, "inode %u: symlink of %llu bytes", ino,
                          (unsigned long long)in.size);
    if (len < in.size + 1)
        return -ERANGE;
    int64_t n = ext4__read_data(fs, &in, 0, buf, (size_t)in.size);
    if (n < 0)
        return (int)n;
    buf[n] = 0;
    return (int)n;
}

int ext4_lookup(struct ext4_fs *fs, const char *path, unsigned flags, uint32_t *ino)
{
    if (!fs || !path || !ino)
        return -EINVAL;
    size_t plen = strlen(path);
    if (plen >= PATH_MAX_LEN)
        return -ENAMETOOLONG;
    char *p = strdup(path);
    char *target = malloc(PATH_MAX_LEN);
    if (!p || !target) {
        free(p);
        free(target);
        return -ENOMEM;
    }
    uint32_t cur = EXT4_ROOT_INO;
    int hops = 0, rc = 0;
    size_t pos = 0;
    struct ext4_inode in;
    for (;;) {
        while (p[pos] == '/')
            pos++;
        if (!p[pos])
            break;
        size_t end = pos;
        while (p[end] && p[end] != '/')
            end++;
        size_t clen = end - pos;
        if (clen > EXT4_NAME_MAX) {
            rc = -ENAMETOOLONG;
            break;
        }
        rc = ext4__read_inode(fs, cur, &in);
        if (rc < 0)
            break;
        if (clen == 1 && p[pos] == '.') {
            if (!S_ISDIR(in.mode)) {
                rc = -ENOTDIR;
                break;
            }
            pos = end;
            continue;
        }
        struct find_arg f = {p + pos, clen, 0};
        rc = iterate(fs, &in, true, find_cb, &f);
        if (rc < 0)
            break;
        if (!f.ino) {
            rc = ext4__fail(fs, -ENOENT, "%.*s: no such entry in directory inode %u",
                            (int)clen, p + pos, cur);
            break;
        }
        size_t after = end;
        while (p[after] == '/')
            after++;
        bool last = !p[after], trailing_slash = p[end] == '/';
        rc = ext4__read_inode(fs, f.ino, &in);
        if (rc < 0)
            break;
        if (S_ISLNK(in.mode) && (!last || trailing_slash || !(flags & EXT4_LOOKUP_NOFOLLOW))) {
            if (++hops > EXT4_MAX_SYMLINKS) {
                rc = ext4__fail(fs, -ELOOP, "%s: more than %d symlinks", path,
                                EXT4_MAX_SYMLINKS);
                break;
            }
            rc = ext4_readlink(fs, f.ino, target, PATH_MAX_LEN);
            if (rc < 0)
                break;
            if (rc == 0) {
                rc = -ENOENT;
                break;
            }
            size_t tlen = (size_t)rc, rlen = strlen(p + end);
            if (tlen + rlen >= PATH_MAX_LEN) {
                rc = -ENAMETOOLONG;
                break;
            }
            char *np = malloc(tlen + rlen + 1);
            if (!np) {
                rc = -ENOMEM;
                break;
            }
            memcpy(np, target, tlen);
            memcpy(np + tlen, p + end, rlen + 1);
            free(p);
            p = np;
            pos = 0;
            rc = 0;
            if (target[0] == '/')
                cur = EXT4_ROOT_INO;
            continue;
        }
        if (!last && !S_ISDIR(in.mode)) {
            rc = -ENOTDIR;
            break;
        }
        if (trailing_slash && !S_ISDIR(in.mode)) {
            rc = -ENOTDIR;
            break;
        }
        cur = f.ino;
        pos = end;
    }
    free(p);
    free(target);
    if (rc == 0)
        *ino = cur;
    return rc < 0 ? rc : 0;
}
