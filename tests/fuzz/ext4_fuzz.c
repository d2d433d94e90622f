/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the ext2/3/4 reader (lib/guestfs/ext4.h) over an image
 * held in memory. Input: the image itself (the corpus holds small images
 * made by mke2fs, some corrupted). The target mounts it, walks the tree
 * (bounded), stats every entry, reads files and symlinks, lists and reads
 * extended attributes and resolves a few paths. Whatever the input, nothing
 * may crash or hang, and every call returns a count or a negative errno.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ext4.h"
#include "gf_dev.h"

struct walk {
    struct ext4_fs *fs;
    int budget; /* entries visited, across the whole tree */
};

static void visit(struct walk *w, uint32_t ino, int depth);

static int entry_cb(void *arg, const struct ext4_dirent *de)
{
    struct walk *w = arg;
    if (--w->budget <= 0)
        return 1;
    visit(w, de->ino, -1);
    return 0;
}

struct dir_walk {
    struct walk *w;
    uint32_t inos[64];
    int n;
};

static int collect_cb(void *arg, const struct ext4_dirent *de)
{
    struct dir_walk *d = arg;
    if (--d->w->budget <= 0 || d->n == 64)
        return 1;
    d->inos[d->n++] = de->ino;
    return 0;
}

static void visit(struct walk *w, uint32_t ino, int depth)
{
    static uint8_t buf[65536];
    struct ext4_stat st;
    if (ext4_stat(w->fs, ino, &st) != 0)
        return;
    if (S_ISREG(st.mode)) {
        for (uint64_t off = 0; off < st.size && off < (1u << 20); off += sizeof(buf))
            if (ext4_read(w->fs, ino, off, buf, sizeof(buf)) <= 0)
                break;
    } else if (S_ISLNK(st.mode)) {
        ext4_readlink(w->fs, ino, (char *)buf, sizeof(buf));
    }
    int n = ext4_listxattr(w->fs, ino, (char *)buf, 4096);
    if (n > 0 && n <= 4096) {
        char names[4096];
        memcpy(names, buf, (size_t)n);
        for (int i = 0; i < n; i += (int)strnlen(names + i, (size_t)(n - i)) + 1) {
            if (names[n - 1] != 0)
                break;
            ext4_getxattr(w->fs, ino, names + i, buf, sizeof(buf));
        }
    }
    if (S_ISDIR(st.mode) && depth >= 0 && depth < 8) {
        struct dir_walk d = {.w = w};
        ext4_readdir(w->fs, ino, collect_cb, &d);
        for (int i = 0; i < d.n; i++)
            visit(w, d.inos[i], depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gf_dev *dev;
    if (gf_dev_from_memory(data, size, "fuzz.img", &dev) != 0)
        return 0;
    struct ext4_fs *fs;
    char err[256];
    if (ext4_mount(dev, &fs, err, sizeof(err)) == 0) {
        struct ext4_statvfs vfs;
        ext4_statvfs(fs, &vfs);
        struct walk w = {fs, 2000};
        visit(&w, EXT4_ROOT_INO, 0);
        /* Every entry of the root, unbounded by the 64-entry sample above. */
        struct walk all = {fs, 2000};
        ext4_readdir(fs, EXT4_ROOT_INO, entry_cb, &all);
        uint32_t ino;
        static const char *const paths[] = {"/", "/a", "/d/x", "/l", "/d/../l/..", "/nope/x"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            ext4_lookup(fs, paths[i], 0, &ino);
            ext4_lookup(fs, paths[i], EXT4_LOOKUP_NOFOLLOW, &ino);
        }
        ext4_umount(fs);
    }
    gf_dev_close(dev);
    return 0;
}
