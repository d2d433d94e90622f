/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the whole read path of lib/guestfs as the tools use it
 * (guestfs.h, inspect.h, fs.h), over a disk image held in memory: launch
 * (partition tables, probing every device), inspection (release files,
 * hostname, ELF headers, fstab), mounting what inspection found, then each
 * readable filesystem mounted alone at "/" and its tree walked by path
 * (bounded): stat and lstat, readdir, reads, readlink, realpath, xattrs,
 * statvfs. Whatever the input, nothing may crash or hang.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inspect.h"

struct walk {
    struct gfs_handle *h;
    int budget;
};

struct names {
    char name[32][256];
    int n;
    int *budget;
};

static int collect(void *arg, const struct gfs_dirent *de)
{
    struct names *n = arg;
    if (--*n->budget <= 0 || n->n == 32)
        return 1;
    snprintf(n->name[n->n++], sizeof(n->name[0]), "%.*s", (int)de->name_len, de->name);
    return 0;
}

static void visit(struct walk *w, const char *path, int depth)
{
    static char buf[65536];
    struct gfs_stat st;
    if (gfs_lstat(w->h, path, &st) < 0)
        return;
    gfs_stat(w->h, path, &st);
    gfs_realpath(w->h, path, buf, sizeof(buf));
    struct gfs_node n;
    if (gfs_resolve(w->h, path, GFS_NOFOLLOW, &n) == 0) {
        if (S_ISREG(st.mode))
            for (uint64_t off = 0; off < st.size && off < (1u << 20); off += sizeof(buf))
                if (gfs_fs_read(n.fs, n.ino, off, buf, sizeof(buf)) <= 0)
                    break;
        int len = gfs_fs_listxattr(n.fs, n.ino, buf, 4096);
        if (len > 0 && len <= 4096 && buf[len - 1] == 0) {
            char names[4096];
            memcpy(names, buf, (size_t)len);
            for (int i = 0; i < len; i += (int)strlen(names + i) + 1)
                gfs_fs_getxattr(n.fs, n.ino, names + i, buf, sizeof(buf));
        }
    }
    gfs_readlink(w->h, path, buf, sizeof(buf));
    if (depth >= 6 || !S_ISDIR(st.mode))
        return;
    struct names *ns = malloc(sizeof(*ns));
    if (!ns)
        return;
    ns->n = 0;
    ns->budget = &w->budget;
    gfs_readdir(w->h, path, collect, ns);
    for (int i = 0; i < ns->n && w->budget > 0; i++) {
        char child[1024];
        snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", ns->name[i]);
        visit(w, child, depth + 1);
    }
    free(ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gfs_handle *h;
    struct gf_dev *dev;
    if (gfs_handle_new(&h) < 0)
        return 0;
    if (gf_dev_from_memory(data, size, "fuzz.img", &dev) < 0 || gfs_add_device(h, dev) < 0 ||
        gfs_launch(h) < 0) {
        gfs_handle_free(h);
        return 0;
    }
    struct walk w = {h, 400};
    struct gfs_os *os;
    int n = gfs_inspect_os(h, &os);
    for (int i = 0; i < n; i++) {
        if (gfs_inspect_mount(h, &os[i]) == 0)
            visit(&w, "/", 0);
        gfs_umount_all(h);
    }
    gfs_inspect_free(os, n);
    for (size_t i = 0; i < gfs_ndevices(h); i++) {
        const struct gfs_device *d = gfs_device_at(h, i);
        struct gfs_statvfs sv;
        if (gfs_mount(h, d->name, "/") < 0)
            continue;
        gfs_statvfs(h, "/", &sv);
        w.budget = 400;
        visit(&w, "/", 0);
        visit(&w, "/etc/../etc/./os-release", 0);
        gfs_umount_all(h);
    }
    gfs_handle_free(h);
    return 0;
}
