/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2 driver: hostile headers refused, random operations against a
 * byte-array reference for a table of geometries, copy-on-write from a
 * backing file, snapshots, lazy refcounts after a crash, check and repair.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "kk_test.h"

static char *path_in(const char *dir, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void be64_write(const char *path, off_t off, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, b, 8, off), 8);
    close(fd);
}

static void be32_write(const char *path, off_t off, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, b, 4, off), 4);
    close(fd);
}

static uint64_t be64_read(const char *path, off_t off)
{
    uint8_t b[8];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, 8, off), 8);
    close(fd);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static void test_bad_create_options(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "x.qcow2");
    static const struct img_create_opts bad[] = {
        {.format = "qcow2", .size = 1 << 20, .cluster_size = 1000},
        {.format = "qcow2", .size = 1 << 20, .cluster_size = 256},
        {.format = "qcow2", .size = 1 << 20, .cluster_size = 4 << 20},
        {.format = "qcow2", .size = 1 << 20, .refcount_bits = 3},
        {.format = "qcow2", .size = 1 << 20, .refcount_bits = 128},
        {.format = "qcow2", .size = 1 << 20, .version = 4},
        {.format = "qcow2", .size = 1 << 20, .version = 2, .extended_l2 = true},
        {.format = "qcow2", .size = 1 << 20, .version = 2, .refcount_bits = 8},
        {.format = "qcow2", .size = 1 << 20, .extended_l2 = true, .cluster_size = 8192},
        {.format = "qcow2", .size = 1ull << 62},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = img_create(p, &bad[i]);
        assert_true(rc == -EINVAL || rc == -EFBIG);
    }
    free(p);
    kk_test_rmdir(dir);
}

/* A fresh 4 MiB image with one written cluster, patched by @patch. */
struct hostile {
    const char *what;
    off_t off;
    int width; /* 4 or 8 */
    uint64_t value;
    int open_rc;  /* expected from img_open */
    const char *msg;
};

static void test_hostile_headers(void **state)
{
    static const struct hostile cases[] = {
        {"version 4", 4, 4, 4, -ENOTSUP, "version"},
        {"cluster_bits 22", 20, 4, 22, -EINVAL, "cluster_bits"},
        {"cluster_bits 8", 20, 4, 8, -EINVAL, "cluster_bits"},
        {"huge size", 24, 8, 1ull << 62, -EFBIG, "too large"},
        {"size beyond L1", 24, 8, 1ull << 40, -EINVAL, "too small"},
        {"encryption", 32, 4, 1, -ENOTSUP, "encrypted"},
        {"L1 past EOF", 40, 8, 1ull << 40, -EINVAL, "past the end"},
        {"L1 unaligned", 40, 8, 0x30200, -EINVAL, "aligned"},
        {"refcount table past EOF", 48, 8, 1ull << 40, -EINVAL, "past the end"},
        {"no refcount table", 56, 4, 0, -EINVAL, "refcount table"},
        {"huge refcount table", 56, 4, 1u << 20, -EFBIG, "refcount table"},
        {"L1 overlaps refcount table", 40, 8, 65536, -EINVAL, "overlaps"},
        {"unknown incompatible bit", 72, 8, 1ull << 5, -ENOTSUP, "bit 5"},
        {"refcount_order 7", 96, 4, 7, -EINVAL, "refcount_order"},
        {"header_length odd", 100, 4, 105, -EINVAL, "header_length"},
        {"backing name past cluster", 8, 8, 65530, -EINVAL, "backing file name"},
        {"too many snapshots", 60, 4, 1u << 20, -EFBIG, "snapshots"},
        {"snapshot table unaligned", 64, 8, 0x10001, -EINVAL, "snapshot"},
    };
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "h.qcow2");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct img_create_opts o = {.format = "qcow2", .size = 4 << 20};
        assert_int_equal(img_create(p, &o), 0);
        const struct hostile *h = &cases[i];
        if (h->off == 8) { /* backing name: give it a length too */
            be32_write(p, 16, 100);
        }
        if (h->off == 60)
            be64_write(p, 64, 65536 * 3);
        if (h->off == 64)
            be32_write(p, 60, 1);
        if (h->width == 8)
            be64_write(p, h->off, h->value);
        else
            be32_write(p, h->off, (uint32_t)h->value);
        struct img *img;
        int rc = img_open(p, NULL, &img);
        if (rc != h->open_rc || !strstr(img_last_error(), h->msg))
            fail_msg("%s: open gave %d '%s', want %d '%s'", h->what, rc, img_last_error(),
                     h->open_rc, h->msg);
    }
    free(p);
    kk_test_rmdir(dir);
}

static void test_hostile_tables(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "t.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 4 << 20};
    assert_int_equal(img_create(p, &o), 0);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0);
    uint8_t buf[4096];
    memset(buf, 7, sizeof(buf));
    assert_int_equal(img_pwrite(img, buf, sizeof(buf), 0), 0);
    img_close(img);
    uint64_t l1 = be64_read(p, 40);
    uint64_t l2 = be64_read(p, (off_t)l1) & 0x00fffffffffffe00ull;
    uint64_t entry = be64_read(p, (off_t)l2);
    /* L2 entry beyond the end of the file: a clear read error. */
    be64_write(p, (off_t)l2, (1ull << 63) | (1ull << 40));
    assert_int_equal(img_open(p, NULL, &img), 0);
    assert_int_equal(img_pread(img, buf, 512, 0), -EIO);
    assert_true(strstr(img_last_error(), "invalid L2 entry") != NULL);
    /* Other guest offsets still read. */
    assert_int_equal(img_pread(img, buf, 512, 65536), 0);
    img_close(img);
    /* Reserved bits, unaligned offset. */
    be64_write(p, (off_t)l2, entry | 0x100);
    assert_int_equal(img_open(p, NULL, &img), 0);
    assert_int_equal(img_pread(img, buf, 512, 0), -EIO);
    img_close(img);
    be64_write(p, (off_t)l2, entry + 512);
    assert_int_equal(img_open(p, NULL, &img), 0);
    assert_int_equal(img_pread(img, buf, 512, 0), -EIO);
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_true(r.corruptions > 0);
    img_close(img);
    /* Met by a writer, a bad entry marks the image corrupt, as QEMU does. */
    struct img_open_opts rw2 = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw2, &img), 0);
    assert_int_equal(img_pwrite(img, buf, 512, 0), -EIO);
    assert_int_equal(img_pwrite(img, buf, 512, 65536), -EIO); /* no more writes */
    img_close(img);
    assert_int_equal(img_open(p, &rw2, &img), -EINVAL);
    assert_true(strstr(img_last_error(), "marked corrupt") != NULL);
    assert_int_equal(img_open(p, NULL, &img), 0);
    struct img_info info;
    assert_int_equal(img_get_info(img, &info), 0);
    assert_true(info.corrupt);
    img_close(img);
    /* L1 entry past the end of the file: refused at open. */
    be64_write(p, (off_t)l2, entry);
    be64_write(p, (off_t)l1, (1ull << 63) | (1ull << 40));
    assert_int_equal(img_open(p, NULL, &img), -EINVAL);
    assert_true(strstr(img_last_error(), "L1 entry 0") != NULL);
    free(p);
    kk_test_rmdir(dir);
}

/* ---- random operations against a reference ------------------------------ */

struct variant {
    const char *name;
    struct img_create_opts o;
    bool compress, zero, discard;
};

static void check_all(struct img *img, const uint8_t *ref, uint64_t size)
{
    uint8_t *got = malloc(size);
    /* Read in three pieces through one iovec to cross clusters. */
    struct iovec iov[3] = {{got, 1000}, {got + 1000, size / 2}, {got + 1000 + size / 2, size - 1000 - size / 2}};
    assert_int_equal(img_preadv(img, iov, 3, 0), 0);
    for (uint64_t i = 0; i < size; i++) {
        if (got[i] != ref[i])
            fail_msg("byte %" PRIu64 ": got %#x want %#x", i, got[i], ref[i]);
    }
    free(got);
}

static void run_variant(const struct variant *v, uint64_t seed)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "r.qcow2");
    assert_int_equal(img_create(p, &v->o), 0);
    uint64_t size = v->o.size;
    uint8_t *ref = calloc(1, size), *buf = malloc(size);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0);
    uint64_t cs = img_cluster_size(img);
    uint64_t rs = seed;
    for (int i = 0; i < 300; i++) {
        unsigned op = (unsigned)(kk_test_rand(&rs) % 8);
        uint64_t len = 1 + kk_test_rand(&rs) % (3 * cs);
        if (len > size)
            len = size;
        uint64_t off = kk_test_rand(&rs) % (size - len + 1);
        if (op == 0 && v->zero) {
            assert_int_equal(img_write_zeroes(img, off, len, (unsigned)(i & 1)), 0);
            memset(ref + off, 0, len);
        } else if (op == 1 && v->discard) {
            off &= ~(cs - 1);
            len = cs * (1 + kk_test_rand(&rs) % 2);
            if (off + len > size)
                continue;
            assert_int_equal(img_discard(img, off, len), 0);
            memset(ref + off, 0, len);
        } else if (op == 2 && v->compress) {
            off &= ~(cs - 1);
            if (off + cs > size)
                continue;
            for (uint64_t j = 0; j < cs; j++)
                buf[j] = (uint8_t)(i + j / 100);
            assert_int_equal(img_write_compressed(img, buf, cs, off), 0);
            memcpy(ref + off, buf, cs);
        } else {
            for (uint64_t j = 0; j < len; j++)
                buf[j] = (uint8_t)kk_test_rand(&rs);
            /* Two iovecs split at a random point. */
            uint64_t cut = kk_test_rand(&rs) % (len + 1);
            struct iovec iov[2] = {{buf, cut}, {buf + cut, len - cut}};
            assert_int_equal(img_pwritev(img, iov, 2, off), 0);
            memcpy(ref + off, buf, len);
        }
        if (i % 50 == 0) {
            uint64_t roff = kk_test_rand(&rs) % size;
            uint64_t rlen = 1 + kk_test_rand(&rs) % (size - roff);
            assert_int_equal(img_pread(img, buf, rlen, roff), 0);
            assert_memory_equal(buf, ref + roff, rlen);
        }
        if (i % 97 == 0)
            assert_int_equal(img_flush(img), 0);
    }
    check_all(img, ref, size);
    img_close(img);
    /* Everything survives a reopen, and the image is consistent. */
    assert_int_equal(img_open(p, &rw, &img), 0);
    check_all(img, ref, size);
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    if (r.corruptions || r.leaks || r.check_errors)
        fail_msg("%s: check found %" PRIu64 " corruptions, %" PRIu64 " leaks", v->name,
                 r.corruptions, r.leaks);
    img_close(img);
    free(ref);
    free(buf);
    free(p);
    kk_test_rmdir(dir);
}

static void test_random_ops_match_reference(void **state)
{
    static const struct variant variants[] = {
        {"default", {.format = "qcow2", .size = 3 << 20}, true, true, true},
        {"512 B clusters, 1-bit refcounts", {.format = "qcow2", .size = 1 << 20, .cluster_size = 512, .refcount_bits = 1}, true, true, true},
        {"4 KiB clusters, 64-bit refcounts", {.format = "qcow2", .size = 2 << 20, .cluster_size = 4096, .refcount_bits = 64}, true, true, true},
        {"2 MiB clusters", {.format = "qcow2", .size = 5 << 20, .cluster_size = 2 << 20}, false, true, true},
        {"extended L2", {.format = "qcow2", .size = 2 << 20, .cluster_size = 32768, .extended_l2 = true}, true, true, true},
        {"version 2", {.format = "qcow2", .size = 2 << 20, .version = 2, .cluster_size = 4096}, true, true, true},
        {"zstd", {.format = "qcow2", .size = 2 << 20, .compression = IMG_COMPRESS_ZSTD, .cluster_size = 8192}, true, true, true},
        {"lazy refcounts", {.format = "qcow2", .size = 2 << 20, .lazy_refcounts = true, .cluster_size = 16384}, true, true, true},
        {"4-bit refcounts", {.format = "qcow2", .size = 1 << 20, .cluster_size = 1024, .refcount_bits = 4}, true, true, true},
    };
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
        run_variant(&variants[i], 1000 + i);
}

static void test_backing_cow(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *base = path_in(dir, "base.raw"), *mid = path_in(dir, "mid.qcow2"), *top = path_in(dir, "top.qcow2");
    uint64_t size = 1 << 20;
    struct img_create_opts o = {.format = "raw", .size = size};
    assert_int_equal(img_create(base, &o), 0);
    uint8_t *ref = malloc(size), *got = malloc(size);
    for (uint64_t i = 0; i < size; i++)
        ref[i] = (uint8_t)(i * 13 + 1);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(base, &rw, &img), 0);
    assert_int_equal(img_pwrite(img, ref, size, 0), 0);
    img_close(img);
    o = (struct img_create_opts){.format = "qcow2", .backing_file = "base.raw", .cluster_size = 16384, .extended_l2 = true};
    assert_int_equal(img_create(mid, &o), 0);
    o = (struct img_create_opts){.format = "qcow2", .backing_file = "mid.qcow2", .backing_format = "qcow2", .cluster_size = 4096};
    assert_int_equal(img_create(top, &o), 0);
    /* A subcluster-sized write in the middle layer leaves the rest of the
     * cluster unallocated. */
    assert_int_equal(img_open(mid, &rw, &img), 0);
    assert_int_equal(img_size(img), size);
    assert_string_equal(img_backing_format(img), "raw");
    memset(got, 0xee, 700);
    assert_int_equal(img_pwrite(img, got, 700, 16384 + 600), 0);
    memcpy(ref + 16384 + 600, got, 700);
    struct img_status st;
    assert_int_equal(img_block_status(img, 16384, 16384, &st), 0);
    assert_false(st.flags & IMG_BS_ALLOCATED); /* subcluster 0: untouched */
    assert_int_equal(st.length, 512);
    assert_int_equal(img_block_status(img, 16384 + 512, 16384 - 512, &st), 0);
    assert_true(st.flags & IMG_BS_DATA);
    assert_int_equal(st.length, 1024); /* subclusters 1 and 2 */
    assert_int_equal(img_block_status(img, 16384 + 1536, 16384 - 1536, &st), 0);
    assert_false(st.flags & IMG_BS_ALLOCATED);
    img_close(img);
    /* Partial writes in the top layer copy the rest from below. */
    assert_int_equal(img_open(top, &rw, &img), 0);
    memset(got, 0x55, 10);
    assert_int_equal(img_pwrite(img, got, 10, 16384 + 1000), 0);
    memcpy(ref + 16384 + 1000, got, 10);
    assert_int_equal(img_write_zeroes(img, 100000, 20000, 0), 0);
    memset(ref + 100000, 0, 20000);
    assert_int_equal(img_discard(img, 200 * 1024, 8192), 0); /* reads zeros in v3 */
    memset(ref + 200 * 1024, 0, 8192);
    assert_int_equal(img_pread(img, got, size, 0), 0);
    assert_memory_equal(got, ref, size);
    int depth;
    assert_int_equal(img_block_status_chain(img, 0, 4096, &st, &depth), 0);
    assert_int_equal(depth, 2);
    assert_int_equal(img_block_status_chain(img, 16384, 4096, &st, &depth), 0);
    assert_int_equal(depth, 0);
    /* Unmapping whole clusters lets the layers below show through again,
     * the written cluster and the zeroed and discarded ones alike. */
    assert_int_equal(img_unmap(img, 0, size), 0);
    uint8_t *below = malloc(size);
    struct img *mid_img;
    assert_int_equal(img_open(mid, NULL, &mid_img), 0);
    assert_int_equal(img_pread(mid_img, below, size, 0), 0);
    img_close(mid_img);
    assert_int_equal(img_pread(img, got, size, 0), 0);
    assert_memory_equal(got, below, size);
    assert_int_equal(img_block_status_chain(img, 16384 + 600, 100, &st, &depth), 0);
    assert_int_equal(depth, 1); /* mid's subcluster */
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions + r.leaks, 0);
    free(below);
    img_close(img);
    free(ref);
    free(got);
    free(base);
    free(mid);
    free(top);
    kk_test_rmdir(dir);
}

static void test_snapshots(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "s.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 1 << 20, .cluster_size = 4096};
    assert_int_equal(img_create(p, &o), 0);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0);
    uint8_t a[10000], b[10000], got[10000];
    memset(a, 0xaa, sizeof(a));
    memset(b, 0xbb, sizeof(b));
    assert_int_equal(img_pwrite(img, a, sizeof(a), 5000), 0);
    assert_int_equal(img_snapshot_create(img, "first"), 0);
    assert_int_equal(img_snapshot_create(img, "first"), -EEXIST);
    assert_int_equal(img_pwrite(img, b, sizeof(b), 5000), 0);
    assert_int_equal(img_snapshot_create(img, "second"), 0);
    struct img_snapshot *list;
    assert_int_equal(img_snapshot_list(img, &list), 2);
    assert_string_equal(list[0].name, "first");
    assert_string_equal(list[0].id, "1");
    assert_string_equal(list[1].id, "2");
    assert_int_equal(list[1].disk_size, 1 << 20);
    free(list);
    assert_int_equal(img_snapshot_apply(img, "nosuch"), -ENOENT);
    assert_int_equal(img_snapshot_apply(img, "first"), 0);
    assert_int_equal(img_pread(img, got, sizeof(got), 5000), 0);
    assert_memory_equal(got, a, sizeof(a));
    /* Writing after apply does not touch the snapshots. */
    assert_int_equal(img_pwrite(img, b, 100, 5000), 0);
    assert_int_equal(img_snapshot_apply(img, "2"), 0); /* by id */
    assert_int_equal(img_pread(img, got, sizeof(got), 5000), 0);
    assert_memory_equal(got, b, sizeof(b));
    assert_int_equal(img_snapshot_delete(img, "first"), 0);
    assert_int_equal(img_snapshot_list(img, &list), 1);
    free(list);
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions, 0);
    assert_int_equal(r.leaks, 0);
    /* Growing keeps the snapshots; applying one brings back its size. */
    assert_int_equal(img_resize(img, 2 << 20), 0);
    assert_int_equal(img_size(img), 2 << 20);
    assert_int_equal(img_snapshot_apply(img, "second"), 0);
    assert_int_equal(img_size(img), 1 << 20);
    assert_int_equal(img_pread(img, got, sizeof(got), 5000), 0);
    assert_memory_equal(got, b, sizeof(b));
    assert_int_equal(img_snapshot_delete(img, "second"), 0);
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions + r.leaks, 0);
    img_close(img);
    /* 1-bit refcounts cannot share clusters. */
    o.refcount_bits = 1;
    assert_int_equal(img_create(p, &o), 0);
    assert_int_equal(img_open(p, &rw, &img), 0);
    assert_int_equal(img_snapshot_create(img, "x"), -ERANGE);
    img_close(img);
    free(p);
    kk_test_rmdir(dir);
}

static void test_lazy_refcounts_repaired_after_crash(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "l.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 1 << 20, .cluster_size = 4096, .lazy_refcounts = true};
    assert_int_equal(img_create(p, &o), 0);
    uint8_t buf[50000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7);
    pid_t pid = fork();
    if (pid == 0) {
        struct img *img;
        struct img_open_opts rw = {.flags = IMG_O_RDWR};
        if (img_open(p, &rw, &img) < 0 || img_pwrite(img, buf, sizeof(buf), 3000) < 0 ||
            img_flush(img) < 0)
            _exit(1);
        _exit(0); /* no close: the dirty bit stays set */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 0);
    struct img *img;
    struct img_info info;
    struct img_open_opts ro = {.flags = IMG_O_NO_REPAIR};
    assert_int_equal(img_open(p, &ro, &img), 0);
    assert_int_equal(img_get_info(img, &info), 0);
    assert_true(info.dirty);
    img_close(img);
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0); /* rebuilds refcounts */
    assert_int_equal(img_get_info(img, &info), 0);
    assert_false(info.dirty);
    uint8_t got[sizeof(buf)];
    assert_int_equal(img_pread(img, got, sizeof(got), 3000), 0);
    assert_memory_equal(got, buf, sizeof(buf));
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions + r.leaks, 0);
    img_close(img);
    free(p);
    kk_test_rmdir(dir);
}

/* Refcount entry (16-bit) of cluster @c in the first refcount block. */
static off_t refcount_entry(const char *p, uint64_t c)
{
    uint64_t rt = be64_read(p, 48);
    uint64_t rb = be64_read(p, (off_t)rt);
    return (off_t)(rb + c * 2);
}

static void test_check_and_repair(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "c.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 1 << 20, .cluster_size = 4096};
    assert_int_equal(img_create(p, &o), 0);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0);
    uint8_t buf[20000];
    memset(buf, 0x42, sizeof(buf));
    assert_int_equal(img_pwrite(img, buf, sizeof(buf), 0), 0);
    img_close(img);
    /* A leak: cluster 200 (past the end of the file) gets refcount 1. */
    int fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, "\0\1", 2, refcount_entry(p, 200)), 2);
    close(fd);
    struct img_check_result r;
    assert_int_equal(img_open(p, NULL, &img), 0);
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.leaks, 1);
    assert_int_equal(r.corruptions, 0);
    assert_int_equal(img_check(img, IMG_CHECK_FIX_LEAKS, &r), -EBADF); /* read-only */
    img_close(img);
    assert_int_equal(img_open(p, &rw, &img), 0);
    assert_int_equal(img_check(img, IMG_CHECK_FIX_LEAKS, &r), 0);
    assert_int_equal(r.leaks_fixed, 1);
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.leaks + r.corruptions, 0);
    img_close(img);
    /* A corruption: the L1 table's cluster loses its refcount. */
    uint64_t l1 = be64_read(p, 40);
    fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, "\0\0", 2, refcount_entry(p, l1 / 4096)), 2);
    close(fd);
    struct img_open_opts check_rw = {.flags = IMG_O_RDWR | IMG_O_NO_REPAIR};
    assert_int_equal(img_open(p, &check_rw, &img), 0);
    assert_int_equal(img_check(img, IMG_CHECK_FIX_LEAKS, &r), 0);
    assert_true(r.corruptions >= 1);
    assert_int_equal(r.corruptions_fixed, 0); /* not asked to */
    assert_int_equal(img_check(img, IMG_CHECK_FIX_LEAKS | IMG_CHECK_FIX_ERRORS, &r), 0);
    assert_true(r.corruptions_fixed >= 1);
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.leaks + r.corruptions, 0);
    uint8_t got[sizeof(buf)];
    assert_int_equal(img_pread(img, got, sizeof(got), 0), 0);
    assert_memory_equal(got, buf, sizeof(buf));
    img_close(img);
    free(p);
    kk_test_rmdir(dir);
}

static void test_resize_grows_l1(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "g.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 64 * 1024, .cluster_size = 512};
    assert_int_equal(img_create(p, &o), 0);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0);
    assert_int_equal(img_pwrite(img, "head", 4, 0), 0);
    assert_int_equal(img_resize(img, 1000), -ENOTSUP); /* no shrinking */
    assert_int_equal(img_resize(img, 64 << 20), 0);    /* L1: 2 -> 2048 entries */
    assert_int_equal(img_pwrite(img, "tail", 4, (64 << 20) - 4), 0);
    img_close(img);
    assert_int_equal(img_open(p, NULL, &img), 0);
    assert_int_equal(img_size(img), 64 << 20);
    char got[4];
    assert_int_equal(img_pread(img, got, 4, 0), 0);
    assert_memory_equal(got, "head", 4);
    assert_int_equal(img_pread(img, got, 4, (64 << 20) - 4), 0);
    assert_memory_equal(got, "tail", 4);
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.leaks + r.corruptions, 0);
    img_close(img);
    free(p);
    kk_test_rmdir(dir);
}

/* A backing file shorter than the image: zeros past its end, also in the
 * copy-on-write of a cluster that straddles it. */
static void test_short_backing(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *base = path_in(dir, "short.raw"), *top = path_in(dir, "long.qcow2");
    struct img_create_opts o = {.format = "raw", .size = 100000};
    assert_int_equal(img_create(base, &o), 0);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(base, &rw, &img), 0);
    uint8_t *buf = malloc(1 << 20), *ref = calloc(1, 1 << 20);
    memset(buf, 0x77, 100000);
    memcpy(ref, buf, 100000);
    assert_int_equal(img_pwrite(img, buf, 100000, 0), 0);
    img_close(img);
    o = (struct img_create_opts){.format = "qcow2", .size = 1 << 20, .backing_file = "short.raw",
                                 .cluster_size = 65536};
    assert_int_equal(img_create(top, &o), 0);
    assert_int_equal(img_open(top, &rw, &img), 0);
    assert_int_equal(img_size(img), 1 << 20);
    memset(buf, 0x11, 10);
    assert_int_equal(img_pwrite(img, buf, 10, 99995), 0); /* straddles the end */
    memcpy(ref + 99995, buf, 10);
    assert_int_equal(img_pwrite(img, buf, 10, 500000), 0);
    memcpy(ref + 500000, buf, 10);
    assert_int_equal(img_pread(img, buf, 1 << 20, 0), 0);
    assert_memory_equal(buf, ref, 1 << 20);
    img_close(img);
    free(buf);
    free(ref);
    free(base);
    free(top);
    kk_test_rmdir(dir);
}

/* Several threads on one image: writers on their own regions (allocating,
 * then overwriting in place), one compressing, one discarding and zeroing,
 * readers checking a region written before they start. */
struct stress {
    struct img *img;
    uint64_t region;
    int id;
    uint8_t *ref; /* this thread's region, as it should read */
    int rc;
};

static void *stress_thread(void *arg)
{
    struct stress *st = arg;
    uint64_t rs = 77 + (uint64_t)st->id;
    uint64_t base = st->region * (uint64_t)st->id;
    uint8_t *buf = malloc(st->region);
    for (int i = 0; i < 200 && st->rc == 0; i++) {
        uint64_t len = 1 + kk_test_rand(&rs) % 40000;
        uint64_t off = kk_test_rand(&rs) % (st->region - len);
        switch (st->id) {
        case 0:
        case 1:
        case 2:
            for (uint64_t j = 0; j < len; j++)
                buf[j] = (uint8_t)(i + j + (uint64_t)st->id);
            st->rc = img_pwrite(st->img, buf, len, base + off);
            memcpy(st->ref + off, buf, len);
            break;
        case 3: {
            uint64_t c = (kk_test_rand(&rs) % (st->region / 4096)) * 4096;
            memset(buf, i, 4096);
            st->rc = img_write_compressed(st->img, buf, 4096, base + c);
            memcpy(st->ref + c, buf, 4096);
            break;
        }
        case 4:
            if (i % 2) {
                st->rc = img_write_zeroes(st->img, base + off, len, 0);
                memset(st->ref + off, 0, len);
            } else {
                memset(buf, 0x99, len);
                st->rc = img_pwrite(st->img, buf, len, base + off);
                memcpy(st->ref + off, buf, len);
            }
            break;
        default: /* readers: region 5 is never written during the run */
            st->rc = img_pread(st->img, buf, len, base + off);
            if (st->rc == 0 && memcmp(buf, st->ref + off, len))
                st->rc = -EILSEQ;
            break;
        }
        if (i % 64 == 0 && st->rc == 0)
            st->rc = img_flush(st->img);
    }
    free(buf);
    return NULL;
}

static void test_threads(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "mt.qcow2");
    const uint64_t region = 512 * 1024;
    const int nthreads = 7; /* 0-4 writers of five kinds, 5-6 readers of region 5 */
    struct img_create_opts o = {.format = "qcow2", .size = region * 6, .cluster_size = 4096};
    assert_int_equal(img_create(p, &o), 0);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0);
    uint8_t *region5 = malloc(region);
    for (uint64_t j = 0; j < region; j++)
        region5[j] = (uint8_t)(j * 31);
    assert_int_equal(img_pwrite(img, region5, region, 5 * region), 0);
    struct stress st[7];
    pthread_t tid[7];
    for (int i = 0; i < nthreads; i++) {
        st[i] = (struct stress){.img = img, .region = region, .id = i};
        st[i].ref = i >= 5 ? region5 : calloc(1, region);
        if (i >= 5)
            st[i].id = 5;
        assert_int_equal(pthread_create(&tid[i], NULL, stress_thread, &st[i]), 0);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(st[i].rc, 0);
    }
    uint8_t *got = malloc(region);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(img_pread(img, got, region, region * (uint64_t)i), 0);
        assert_memory_equal(got, i == 5 ? region5 : st[i].ref, region);
    }
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions + r.leaks, 0);
    img_close(img);
    for (int i = 0; i < 5; i++)
        free(st[i].ref);
    free(region5);
    free(got);
    free(p);
    kk_test_rmdir(dir);
}

/* The overlap guard: metadata claimed twice is refused at open; a data
 * cluster or a "free" cluster that is metadata is never written over. */
static void test_overlap_guard(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "o.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 1 << 20, .cluster_size = 4096};
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    struct img *img;
    uint8_t buf[4096];
    memset(buf, 0x5a, sizeof(buf));
    /* 1. An L1 entry pointing at the refcount table: refused at open. */
    assert_int_equal(img_create(p, &o), 0);
    uint64_t l1 = be64_read(p, 40), rt = be64_read(p, 48);
    be64_write(p, (off_t)l1, rt | (1ull << 63));
    assert_int_equal(img_open(p, NULL, &img), -EINVAL);
    assert_true(strstr(img_last_error(), "overlap") != NULL);
    /* 2. A data cluster that is the L1 table, marked refcount 1. */
    assert_int_equal(img_create(p, &o), 0);
    assert_int_equal(img_open(p, &rw, &img), 0);
    assert_int_equal(img_pwrite(img, buf, 512, 0), 0);
    img_close(img);
    l1 = be64_read(p, 40);
    uint64_t l2 = be64_read(p, (off_t)l1) & 0x00fffffffffffe00ull;
    uint64_t l1_before = be64_read(p, (off_t)l1);
    be64_write(p, (off_t)l2, l1 | (1ull << 63));
    assert_int_equal(img_open(p, &rw, &img), 0);
    assert_int_equal(img_pwrite(img, buf, sizeof(buf), 0), -EIO);
    assert_true(strstr(img_last_error(), "would overwrite the L1 table") != NULL);
    img_close(img);
    assert_int_equal(be64_read(p, (off_t)l1), l1_before); /* untouched */
    /* 3. The L1 table's cluster claims refcount 0: not handed out. */
    assert_int_equal(img_create(p, &o), 0);
    l1 = be64_read(p, 40);
    rt = be64_read(p, 48);
    uint64_t rb = be64_read(p, (off_t)rt);
    int fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, "\0\0", 2, (off_t)(rb + (l1 / 4096) * 2)), 2);
    close(fd);
    assert_int_equal(img_open(p, &rw, &img), 0);
    int rc = 0;
    for (int i = 0; i < 8 && rc == 0; i++)
        rc = img_pwrite(img, buf, sizeof(buf), (uint64_t)i * 65536);
    assert_int_equal(rc, -EIO);
    assert_true(strstr(img_last_error(), "refcount 0 but holds the L1 table") != NULL);
    img_close(img);
    assert_int_equal(be64_read(p, (off_t)l1), 0); /* the L1 table was not written over */
    assert_int_equal(img_open(p, &rw, &img), -EINVAL); /* and the image is marked corrupt */
    free(p);
    kk_test_rmdir(dir);
}

/* Refcount blocks covering 64 clusters and a one-cluster table of 64
 * blocks: writing 6 MiB makes both grow many times. */
static void test_refcount_growth(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "rg.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 6 << 20, .cluster_size = 512, .refcount_bits = 64};
    assert_int_equal(img_create(p, &o), 0);
    uint64_t rt_clusters_before = be64_read(p, 56) >> 32;
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0);
    uint8_t *buf = malloc(6 << 20), *got = malloc(6 << 20);
    for (size_t i = 0; i < (6u << 20); i++)
        buf[i] = (uint8_t)(i / 512 + i);
    for (size_t off = 0; off < (6u << 20); off += 100000) {
        size_t n = (6u << 20) - off < 100000 ? (6u << 20) - off : 100000;
        assert_int_equal(img_pwrite(img, buf + off, n, off), 0);
    }
    img_close(img);
    assert_true((be64_read(p, 56) >> 32) > rt_clusters_before);
    assert_int_equal(img_open(p, NULL, &img), 0);
    assert_int_equal(img_pread(img, got, 6 << 20, 0), 0);
    assert_memory_equal(got, buf, 6 << 20);
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions + r.leaks, 0);
    img_close(img);
    free(buf);
    free(got);
    free(p);
    kk_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_create_options),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_hostile_tables),
        cmocka_unit_test(test_random_ops_match_reference),
        cmocka_unit_test(test_backing_cow),
        cmocka_unit_test(test_snapshots),
        cmocka_unit_test(test_lazy_refcounts_repaired_after_crash),
        cmocka_unit_test(test_check_and_repair),
        cmocka_unit_test(test_resize_grows_l1),
        cmocka_unit_test(test_short_backing),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_overlap_guard),
        cmocka_unit_test(test_refcount_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
