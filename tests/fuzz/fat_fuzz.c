/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the FAT12/16/32 reader (lib/guestfs/fat.h) over an image
 * held in memory. Input: the image itself (the corpus holds small images
 * made by mkfs.vfat and mtools, some corrupted or truncated). The target
 * mounts it, counts free clusters, walks the tree (bounded), stats every
 * entry, reads files, resolves "." and ".." and a few paths. Whatever the
 * input, nothing may crash or hang, and every call returns a count or a
 * negative errno.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fat.h"
#include "gf_dev.h"

struct walk {
    struct fat_fs *fs;
    int budget; /* entries visited, across the whole tree */
};

static void visit(struct walk *w, uint64_t ino, int depth);

static int entry_cb(void *arg, const struct fat_dirent *de)
{
    struct walk *w = arg;
    if (--w->budget <= 0)
        return 1;
    if (de->name_len == 0 || de->name_len > FAT_NAME_MAX_BYTES || memchr(de->name, '/', de->name_len))
        abort(); /* a name that cannot be a path component */
    /* Each name must find an entry again (maybe an earlier one of the same
     * name: a corrupt directory can hold duplicates). */
    uint64_t again;
    fat_lookup_child(w->fs, FAT_ROOT_INO, de->name, de->name_len, &again);
    visit(w, de->ino, -1);
    return 0;
}

struct dir_walk {
    struct walk *w;
    uint64_t inos[64];
    int n;
};

static int collect_cb(void *arg, const struct fat_dirent *de)
{
    struct dir_walk *d = arg;
    if (--d->w->budget <= 0 || d->n == 64)
        return 1;
    d->inos[d->n++] = de->ino;
    return 0;
}

static void visit(struct walk *w, uint64_t ino, int depth)
{
    static uint8_t buf[65536];
    struct fat_stat st;
    if (fat_stat(w->fs, ino, &st) != 0)
        return;
    if (S_ISREG(st.mode)) {
        for (uint64_t off = 0; off < st.size && off < (1u << 20); off += sizeof(buf)) {
            int64_t n = fat_read(w->fs, ino, off, buf, sizeof(buf));
            if (n > (int64_t)sizeof(buf))
                abort();
            if (n <= 0)
                break;
        }
        /* Backwards: the chain cursor starts again. */
        if (st.size > 1)
            fat_read(w->fs, ino, 0, buf, 1);
    } else if (S_ISDIR(st.mode) && depth >= 0 && depth < 8) {
        uint64_t up;
        fat_lookup_child(w->fs, ino, "..", 2, &up);
        fat_lookup_child(w->fs, ino, ".", 1, &up);
        struct dir_walk d = {.w = w};
        fat_readdir(w->fs, ino, collect_cb, &d);
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
    struct fat_fs *fs;
    char err[256];
    if (fat_mount(dev, &fs, err, sizeof(err)) == 0) {
        struct fat_statvfs vfs;
        if (fat_statvfs(fs, &vfs) == 0 && vfs.free_clusters > vfs.clusters)
            abort();
        struct walk w = {fs, 2000};
        visit(&w, FAT_ROOT_INO, 0);
        /* Every entry of the root, unbounded by the 64-entry sample above. */
        struct walk all = {fs, 2000};
        fat_readdir(fs, FAT_ROOT_INO, entry_cb, &all);
        uint64_t ino;
        static const char *const paths[] = {"/", "/a.txt", "/sub/b.txt", "/SUB/../A.TXT",
                                            "/sub/deeper/..", "/nope/x", "/a.txt/"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
            fat_lookup(fs, paths[i], &ino);
        fat_umount(fs);
    }
    gf_dev_close(dev);
    return 0;
}
