/* SPDX-License-Identifier: Apache-2.0 */
/*
 * img_powerfail — power-loss simulation for the qcow2 write order.
 *
 *   img_powerfail DIR SEED COUNT [CREATE-OPTIONS]
 *
 * Creates DIR/base.qcow2, then runs random guest writes, zero writes,
 * discards, compressed writes, flushes and snapshots on it through
 * lib/image while every write, hole punch, truncation and fdatasync that
 * lib/image makes is recorded (the linker wraps those calls for this
 * program only, under the 64-bit names glibc uses with _FILE_OFFSET_BITS=64).
 * It then builds COUNT "crashed" images: the base file plus
 * every operation up to a random fdatasync, plus a random subset of the
 * operations issued after it (a disk may persist unsynced writes in any
 * order). Their names are printed; tests/integration/img_qemu_test.sh
 * runs `qemu-img check` on each, which must find nothing worse than leaks.
 *
 * OPTIONS: cluster=N, extl2, v2, zstd, rbits=N, snapshots (comma-separated;
 * snapshots adds snapshot create, apply and delete to the workload, which
 * switch to a new metadata state with one header write: a crashed image
 * holds the state before it or after it, never a mix).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "image.h"

enum op_kind { OP_WRITE, OP_PUNCH, OP_TRUNCATE, OP_SYNC };

struct op {
    enum op_kind kind;
    uint64_t off, len;
    uint8_t *data;
};

static struct op *ops;
static size_t nops, cap_ops;
static int traced_fd = -1;
static bool recording;

static void record(enum op_kind kind, uint64_t off, uint64_t len, const struct iovec *iov, int n)
{
    if (nops == cap_ops) {
        cap_ops = cap_ops ? cap_ops * 2 : 1024;
        ops = realloc(ops, cap_ops * sizeof(*ops));
        if (!ops)
            abort();
    }
    struct op *o = &ops[nops++];
    *o = (struct op){.kind = kind, .off = off, .len = len};
    if (kind == OP_WRITE) {
        o->data = malloc(len ? len : 1);
        if (!o->data)
            abort();
        size_t pos = 0;
        for (int i = 0; i < n && pos < len; i++) {
            size_t c = iov[i].iov_len < len - pos ? iov[i].iov_len : len - pos;
            memcpy(o->data + pos, iov[i].iov_base, c);
            pos += c;
        }
    }
}

/* Is @fd the image file? (lib/image may hold two descriptors: buffered and
 * O_DIRECT; both name the same inode.) */
static bool traced(int fd)
{
    if (!recording)
        return false;
    struct stat a, b;
    return fstat(fd, &a) == 0 && fstat(traced_fd, &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

ssize_t __real_pwritev64(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
    ssize_t r = __real_pwritev64(fd, iov, n, off);
    if (r > 0 && traced(fd))
        record(OP_WRITE, (uint64_t)off, (uint64_t)r, iov, n);
    return r;
}

ssize_t __real_pwrite64(int fd, const void *buf, size_t len, off_t off);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t len, off_t off);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    ssize_t r = __real_pwrite64(fd, buf, len, off);
    if (r > 0 && traced(fd)) {
        struct iovec v = {(void *)(uintptr_t)buf, (size_t)r};
        record(OP_WRITE, (uint64_t)off, (uint64_t)r, &v, 1);
    }
    return r;
}

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __wrap_fdatasync(int fd)
{
    int r = __real_fdatasync(fd);
    if (r == 0 && traced(fd))
        record(OP_SYNC, 0, 0, NULL, 0);
    return r;
}

int __real_fallocate64(int fd, int mode, off_t off, off_t len);
int __wrap_fallocate64(int fd, int mode, off_t off, off_t len);
int __wrap_fallocate64(int fd, int mode, off_t off, off_t len)
{
    int r = __real_fallocate64(fd, mode, off, len);
    if (r == 0 && traced(fd) && (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)))
        record(OP_PUNCH, (uint64_t)off, (uint64_t)len, NULL, 0);
    return r;
}

int __real_ftruncate64(int fd, off_t len);
int __wrap_ftruncate64(int fd, off_t len);
int __wrap_ftruncate64(int fd, off_t len)
{
    int r = __real_ftruncate64(fd, len);
    if (r == 0 && traced(fd))
        record(OP_TRUNCATE, (uint64_t)len, 0, NULL, 0);
    return r;
}

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * UINT64_C(2685821657736338717);
}

static int apply(int fd, const struct op *o)
{
    static const uint8_t zero[65536];
    switch (o->kind) {
    case OP_WRITE:
        return pwrite(fd, o->data, o->len, (off_t)o->off) == (ssize_t)o->len ? 0 : -1;
    case OP_PUNCH:
        for (uint64_t p = 0; p < o->len;) {
            size_t n = o->len - p < sizeof(zero) ? (size_t)(o->len - p) : sizeof(zero);
            if (pwrite(fd, zero, n, (off_t)(o->off + p)) != (ssize_t)n)
                return -1;
            p += n;
        }
        return 0;
    case OP_TRUNCATE:
        return __real_ftruncate64(fd, (off_t)o->off);
    case OP_SYNC:
        return 0;
    }
    return -1;
}

static int copy(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0)
        return -1;
    static uint8_t buf[1 << 16];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n)
            return -1;
    }
    close(in);
    close(out);
    return 0;
}

static bool with_snapshots;

static int workload(struct img *img)
{
    uint64_t size = img_size(img), cs = img_cluster_size(img);
    uint64_t maxlen = 3 * cs > 65536 ? 3 * cs : 65536;
    uint8_t *buf = malloc(maxlen);
    int snaps = 0, rc = 0;
    for (int i = 0; i < 300 && rc == 0; i++) {
        unsigned op = (unsigned)(rnd() % 12);
        uint64_t len = 1 + rnd() % maxlen;
        if (len > size)
            len = size;
        uint64_t off = rnd() % (size - len + 1);
        if (op < 6) {
            memset(buf, (int)(rnd() & 0xff), len);
            rc = img_pwrite(img, buf, len, off);
        } else if (op == 6) {
            rc = img_write_zeroes(img, off, len, (unsigned)(rnd() & 1));
        } else if (op == 7) {
            rc = img_discard(img, off & ~(cs - 1), cs);
        } else if (op == 8 && cs <= maxlen) {
            uint64_t c = (rnd() % (size / cs)) * cs;
            memset(buf, 0x42, cs);
            rc = img_write_compressed(img, buf, cs, c);
        } else if (op == 9 && with_snapshots && snaps < 4) {
            char name[16];
            snprintf(name, sizeof(name), "p%d", snaps++);
            rc = img_snapshot_create(img, name);
            if (rc == -ERANGE)
                rc = 0;
        } else if (op == 10 && with_snapshots && snaps > 0 && rnd() % 3 == 0) {
            char name[16];
            snprintf(name, sizeof(name), "p%d", --snaps);
            rc = img_snapshot_delete(img, name);
        } else if (op == 11 && with_snapshots && snaps > 0 && rnd() % 2 == 0) {
            char name[16];
            snprintf(name, sizeof(name), "p%d", (int)(rnd() % (uint64_t)snaps));
            rc = img_snapshot_apply(img, name);
        } else {
            rc = img_flush(img);
        }
    }
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: img_powerfail DIR SEED COUNT [OPTIONS]\n");
        return 2;
    }
    const char *dir = argv[1];
    rng = strtoull(argv[2], NULL, 0) * 0x9e3779b97f4a7c15ull + 7;
    int count = atoi(argv[3]);
    struct img_create_opts co = {.format = "qcow2", .size = 4 << 20, .cluster_size = 4096};
    if (argc > 4) {
        char *opts = strdup(argv[4]), *save = NULL;
        for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!strncmp(t, "cluster=", 8))
                co.cluster_size = (uint32_t)strtoul(t + 8, NULL, 0);
            else if (!strcmp(t, "extl2"))
                co.extended_l2 = true;
            else if (!strcmp(t, "v2"))
                co.version = 2;
            else if (!strcmp(t, "zstd"))
                co.compression = IMG_COMPRESS_ZSTD;
            else if (!strcmp(t, "snapshots"))
                with_snapshots = true;
            else if (!strncmp(t, "rbits=", 6))
                co.refcount_bits = atoi(t + 6);
        }
        free(opts);
    }
    char base[4096], live[4096], out[4200];
    snprintf(base, sizeof(base), "%s/base.qcow2", dir);
    snprintf(live, sizeof(live), "%s/live.qcow2", dir);
    if (img_create(live, &co) < 0 || copy(live, base) < 0) {
        fprintf(stderr, "img_powerfail: create: %s\n", img_last_error());
        return 1;
    }
    struct img *img;
    struct img_open_opts oo = {.flags = IMG_O_RDWR};
    if (img_open(live, &oo, &img) < 0) {
        fprintf(stderr, "img_powerfail: open: %s\n", img_last_error());
        return 1;
    }
    traced_fd = open(live, O_RDONLY);
    recording = true;
    int rc = workload(img);
    img_close(img);
    recording = false;
    if (rc < 0) {
        fprintf(stderr, "img_powerfail: workload: %d %s\n", rc, img_last_error());
        return 1;
    }
    size_t nsync = 0;
    for (size_t i = 0; i < nops; i++)
        nsync += ops[i].kind == OP_SYNC;
    fprintf(stderr, "img_powerfail: %zu operations, %zu syncs\n", nops, nsync);
    for (int k = 0; k < count; k++) {
        /* Everything up to sync number @b, then a random subset of the
         * operations up to the next sync. */
        size_t b = nsync ? (size_t)(rnd() % (nsync + 1)) : 0, seen = 0, i = 0;
        snprintf(out, sizeof(out), "%s/crash-%d.qcow2", dir, k);
        if (copy(base, out) < 0)
            return 1;
        int fd = open(out, O_WRONLY);
        for (; i < nops && seen < b; i++) {
            if (ops[i].kind == OP_SYNC)
                seen++;
            else if (apply(fd, &ops[i]) < 0)
                return 1;
        }
        for (; i < nops && ops[i].kind != OP_SYNC; i++) {
            if (rnd() & 1 && apply(fd, &ops[i]) < 0)
                return 1;
        }
        close(fd);
        printf("%s\n", out);
    }
    return 0;
}
