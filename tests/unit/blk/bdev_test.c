/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every bdev backend against the same table-driven suite: random reads,
 * writes, unmaps, write-zeroes and flushes with aligned and unaligned
 * memory and iovec splits, checked byte for byte against a reference array;
 * block status; range, alignment and read-only checks; back-pressure; the
 * error-injection backend; statistics; the registry.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kk_test.h"

#include "blk.h"
#include "image.h"
#include "kk_reactor.h"

#define DISK (4u << 20)

static struct kk_reactor *reactor;
static char *tmpdir;

struct wait {
    bool done;
    int result;
};

static void on_done(void *arg, int result)
{
    struct wait *w = arg;
    assert_false(w->done); /* exactly once */
    w->done = true;
    w->result = result;
}

static int run_until(struct wait *w)
{
    for (long i = 0; !w->done; i++) {
        kk_reactor_poll_once(reactor);
        if (i > 50000000)
            fail_msg("request never completed");
        if (i > 1000)
            usleep(10);
    }
    return w->result;
}

/* One synchronous request through the async API. */
static int do_rw(struct blk_channel *ch, bool write, uint64_t off, const struct iovec *iov,
                 int n, unsigned flags)
{
    struct wait w = {0};
    int rc = write ? blk_write(ch, off, iov, n, flags, on_done, &w)
                   : blk_read(ch, off, iov, n, on_done, &w);
    if (rc < 0)
        return rc;
    assert_false(w.done); /* never inside submit */
    return run_until(&w);
}

static int do_op(struct blk_channel *ch, enum blk_op op, uint64_t off, uint64_t len,
                 unsigned flags)
{
    struct wait w = {0};
    int rc;
    switch (op) {
    case BLK_OP_FLUSH: rc = blk_flush(ch, on_done, &w); break;
    case BLK_OP_UNMAP: rc = blk_unmap(ch, off, len, on_done, &w); break;
    case BLK_OP_WRITE_ZEROES: rc = blk_write_zeroes(ch, off, len, flags, on_done, &w); break;
    default: return -EINVAL;
    }
    if (rc < 0)
        return rc;
    assert_false(w.done);
    return run_until(&w);
}

/* Split @buf[0..len) into 1..8 iovecs at random points. */
static int split(uint8_t *buf, uint64_t len, struct iovec *iov, uint64_t *rng)
{
    int n = 1 + (int)(kk_test_rand(rng) % 8);
    uint64_t pos = 0;
    int k = 0;
    for (; k < n - 1 && pos < len; k++) {
        uint64_t l = 1 + kk_test_rand(rng) % (len - pos);
        if (pos + l >= len)
            break;
        iov[k].iov_base = buf + pos;
        iov[k].iov_len = l;
        pos += l;
    }
    iov[k].iov_base = buf + pos;
    iov[k].iov_len = len - pos;
    return k + 1;
}

struct backend_case {
    const char *name;
    const char *type;
    bool zero_reads;   /* null: stores nothing */
    bool holes;        /* unmapped ranges report holes */
    const char *setup; /* file to prepare: "raw", "qcow2" */
    bool direct;
};

static struct backend_case cases[] = {
    {"malloc", "malloc", false, false, NULL, false},
    {"null", "null", true, true, NULL, false},
    {"file", "file", false, true, "raw", false},
    {"file-direct", "file", false, true, "raw", true},
    {"image-raw", "image", false, true, "raw", false},
    {"image-qcow2", "image", false, true, "qcow2", false},
    {"image-qcow2-direct", "image", false, true, "qcow2", true},
    {"error-passthrough", "error", false, false, NULL, false},
};

static struct blk_bdev *make_bdev(const struct backend_case *c, const char *name)
{
    char path[512], err[256] = "";
    json_t *p = NULL;
    struct blk_bdev *b = NULL;
    int rc;
    if (strcmp(c->type, "malloc") == 0 || strcmp(c->type, "null") == 0) {
        p = json_pack("{s:I}", "size", (json_int_t)DISK);
    } else if (strcmp(c->type, "error") == 0) {
        char base[64];
        snprintf(base, sizeof(base), "%s-base", name);
        json_t *bp = json_pack("{s:I}", "size", (json_int_t)DISK);
        assert_int_equal(blk_bdev_create(base, "malloc", bp, err, sizeof(err), NULL), 0);
        json_decref(bp);
        p = json_pack("{s:s}", "base", base);
    } else {
        snprintf(path, sizeof(path), "%s/%s.img", tmpdir, name);
        struct img_create_opts o = {.format = c->setup, .size = DISK, .cluster_size = 4096};
        assert_int_equal(img_create(path, &o), 0);
        if (strcmp(c->type, "file") == 0)
            p = json_pack("{s:s, s:b}", "path", path, "direct", c->direct);
        else
            p = json_pack("{s:s, s:s, s:b}", "path", path, "format", c->setup, "direct",
                          c->direct);
    }
    rc = blk_bdev_create(name, c->type, p, err, sizeof(err), &b);
    json_decref(p);
    if (rc < 0)
        fail_msg("create %s: %s (%s)", name, err, strerror(-rc));
    return b;
}

static void drop_bdev(const struct backend_case *c, const char *name)
{
    assert_int_equal(blk_bdev_delete(name), 0);
    if (strcmp(c->type, "error") == 0) {
        char base[64];
        snprintf(base, sizeof(base), "%s-base", name);
        assert_int_equal(blk_bdev_delete(base), 0);
    }
}

static void check_equal(struct blk_channel *ch, const uint8_t *ref, uint64_t off, uint64_t len,
                        bool zero_reads, uint64_t *rng)
{
    uint8_t *raw = malloc(len + 1);
    uint8_t *buf = raw + (kk_test_rand(rng) & 1); /* unaligned half the time */
    memset(buf, 0xa5, len);
    struct iovec iov[8];
    int n = split(buf, len, iov, rng);
    assert_int_equal(do_rw(ch, false, off, iov, n, 0), 0);
    for (uint64_t i = 0; i < len; i++) {
        uint8_t want = zero_reads ? 0 : ref[off + i];
        if (buf[i] != want)
            fail_msg("byte %llu: read %#x, want %#x", (unsigned long long)(off + i), buf[i], want);
    }
    free(raw);
}

static void suite_one(const struct backend_case *c)
{
    uint64_t rng = 0x1234567ull + (uint64_t)strlen(c->name) * 7919;
    struct blk_bdev *b = make_bdev(c, c->name);
    struct blk_bdev_info in;
    blk_bdev_get_info(b, &in);
    assert_int_equal(in.size, DISK);
    uint32_t bs = in.block_size;

    struct blk_bdev *opened;
    assert_int_equal(blk_bdev_open(c->name, true, &opened), 0);
    assert_ptr_equal(opened, b);
    assert_int_equal(blk_bdev_delete(c->name), -EBUSY);

    struct blk_channel *ch;
    assert_int_equal(blk_channel_open(b, reactor, 16, &ch), 0);
    uint8_t *ref = calloc(1, DISK);

    /* fresh devices read as zeroes */
    check_equal(ch, ref, 0, 65536, c->zero_reads, &rng);

    for (int round = 0; round < 300; round++) {
        uint64_t blocks = DISK / bs;
        uint64_t off = (kk_test_rand(&rng) % blocks) * bs;
        uint64_t max = blocks - off / bs;
        if (max > 64)
            max = 64;
        uint64_t len = (1 + kk_test_rand(&rng) % max) * bs;
        unsigned what = (unsigned)(kk_test_rand(&rng) % 10);
        if (what < 5) {
            uint8_t *raw = malloc(len + 3);
            uint8_t *buf = raw + (kk_test_rand(&rng) % 4);
            for (uint64_t i = 0; i < len; i++)
                buf[i] = (uint8_t)kk_test_rand(&rng);
            struct iovec iov[8];
            int n = split(buf, len, iov, &rng);
            unsigned fl = (kk_test_rand(&rng) % 4 == 0) ? BLK_IO_FUA : 0;
            assert_int_equal(do_rw(ch, true, off, iov, n, fl), 0);
            memcpy(ref + off, buf, len);
            free(raw);
        } else if (what < 8) {
            check_equal(ch, ref, off, len, c->zero_reads, &rng);
        } else if (what == 8) {
            unsigned fl = kk_test_rand(&rng) & 1 ? BLK_IO_NO_UNMAP : 0;
            assert_int_equal(do_op(ch, BLK_OP_WRITE_ZEROES, off, len, fl), 0);
            memset(ref + off, 0, len);
            check_equal(ch, ref, off, len, c->zero_reads, &rng);
        } else {
            assert_int_equal(do_op(ch, BLK_OP_UNMAP, off, len, 0), 0);
            memset(ref + off, 0, len); /* all our backends read zeroes after unmap */
            check_equal(ch, ref, off, len, c->zero_reads, &rng);
        }
        if (round % 50 == 0)
            assert_int_equal(do_op(ch, BLK_OP_FLUSH, 0, 0, 0), 0);
    }
    check_equal(ch, ref, 0, DISK, c->zero_reads, &rng);

    /* block status: extents cover the range in order; holes read zeroes */
    if (c->holes) {
        assert_int_equal(do_op(ch, BLK_OP_UNMAP, 1 << 20, 1 << 20, 0), 0);
        memset(ref + (1 << 20), 0, 1 << 20);
    }
    struct blk_extent ext[64];
    uint64_t pos = 0;
    bool saw_hole = false;
    while (pos < DISK) {
        struct wait w = {0};
        assert_int_equal(blk_block_status(ch, pos, DISK - pos, ext, 64, on_done, &w), 0);
        int n = run_until(&w);
        assert_true(n > 0 && n <= 64);
        for (int i = 0; i < n; i++) {
            assert_true(ext[i].len > 0);
            if (ext[i].flags & BLK_EXTENT_ZERO) {
                for (uint64_t k = 0; k < ext[i].len && pos + k < DISK; k++) {
                    if (ref[pos + k] != 0 && !c->zero_reads)
                        fail_msg("extent at %llu says zero, data is not",
                                 (unsigned long long)(pos + k));
                }
            }
            if (ext[i].flags & BLK_EXTENT_HOLE)
                saw_hole = true;
            pos += ext[i].len;
        }
    }
    assert_int_equal(pos, DISK);
    if (c->holes)
        assert_true(saw_hole);

    /* bad requests are refused without a callback */
    uint8_t small[512];
    struct iovec one = {small, sizeof(small)};
    struct wait w = {0};
    assert_int_equal(blk_read(ch, DISK, &one, 1, on_done, &w), -EINVAL);
    assert_int_equal(blk_read(ch, DISK - 256, &one, 1, on_done, &w), -EINVAL);
    one.iov_len = 100;
    assert_int_equal(blk_write(ch, 0, &one, 1, 0, on_done, &w), -EINVAL);
    assert_int_equal(blk_unmap(ch, 0, 0, on_done, &w), -EINVAL);
    assert_int_equal(blk_write_zeroes(ch, UINT64_MAX - 511, 512, 0, on_done, &w), -EINVAL);
    assert_false(w.done);

    struct blk_stats st;
    blk_bdev_get_stats(b, &st);
    assert_true(st.ops[BLK_OP_READ] > 0 && st.ops[BLK_OP_WRITE] > 0);
    assert_true(st.read_lat.count == st.ops[BLK_OP_READ]);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.channels, 1);

    assert_int_equal(blk_channel_close(ch), 0);
    blk_bdev_close(opened);
    free(ref);
    drop_bdev(c, c->name);
}

static void test_backend(void **state)
{
    suite_one(*state);
}

/* Data written through the file backend is in the file, and survives a
 * new bdev on the same file. */
static void test_file_persists(void **state)
{
    (void)state;
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/persist.img", tmpdir);
    json_t *p = json_pack("{s:s, s:b, s:s}", "path", path, "create", 1, "size", "1M");
    struct blk_bdev *b;
    assert_int_equal(blk_bdev_create("persist", "file", p, err, sizeof(err), &b), 0);
    struct blk_channel *ch;
    assert_int_equal(blk_channel_open(b, reactor, 0, &ch), 0);
    uint8_t buf[4096];
    memset(buf, 0x5c, sizeof(buf));
    struct iovec iov = {buf, sizeof(buf)};
    assert_int_equal(do_rw(ch, true, 8192, &iov, 1, BLK_IO_FUA), 0);
    assert_int_equal(blk_channel_close(ch), 0);
    assert_int_equal(blk_bdev_delete("persist"), 0);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    uint8_t back[4096];
    assert_int_equal(pread(fd, back, sizeof(back), 8192), sizeof(back));
    assert_memory_equal(back, buf, sizeof(buf));
    struct stat st;
    fstat(fd, &st);
    assert_int_equal(st.st_size, 1 << 20);
    close(fd);
    json_decref(p);
}

/* -ENOMEM when the channel is full, a waiter runs when a slot frees,
 * never inside the submission. */
static int waiter_runs;
static void waiter(void *arg)
{
    (void)arg;
    waiter_runs++;
}

static void test_backpressure(void **state)
{
    (void)state;
    json_t *p = json_pack("{s:s}", "size", "1M");
    struct blk_bdev *b;
    assert_int_equal(blk_bdev_create("bp", "malloc", p, NULL, 0, &b), 0);
    struct blk_channel *ch;
    assert_int_equal(blk_channel_open(b, reactor, 4, &ch), 0);
    uint8_t buf[512];
    struct iovec iov = {buf, sizeof(buf)};
    struct wait w[5] = {{0}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(blk_read(ch, 0, &iov, 1, on_done, &w[i]), 0);
    assert_int_equal(blk_channel_inflight(ch), 4);
    assert_int_equal(blk_read(ch, 0, &iov, 1, on_done, &w[4]), -ENOMEM);
    struct blk_io_wait bw = {.fn = waiter};
    blk_io_wait(ch, &bw);
    assert_int_equal(waiter_runs, 0);
    assert_int_equal(blk_channel_close(ch), -EBUSY);
    run_until(&w[3]);
    assert_int_equal(waiter_runs, 1);
    for (int i = 0; i < 4; i++)
        assert_true(w[i].done && w[i].result == 0);
    struct blk_stats st;
    blk_bdev_get_stats(b, &st);
    assert_int_equal(st.nomem, 1);
    assert_int_equal(blk_channel_close(ch), 0);
    assert_int_equal(blk_bdev_delete("bp"), 0);
    json_decref(p);
}

/* The error backend fails what its rule says, passes the rest, adds delay. */
static void test_error_injection(void **state)
{
    (void)state;
    char err[256];
    json_t *p = json_pack("{s:s}", "size", "1M");
    assert_int_equal(blk_bdev_create("ebase", "malloc", p, err, sizeof(err), NULL), 0);
    json_decref(p);
    p = json_pack("{s:s, s:s, s:i, s:s, s:i}", "base", "ebase", "ops", "write", "every", 3,
                  "errno", "ENOSPC", "delay_us", 2000);
    struct blk_bdev *b;
    assert_int_equal(blk_bdev_create("einj", "error", p, err, sizeof(err), &b), 0);
    json_decref(p);
    assert_int_equal(blk_bdev_delete("ebase"), -EBUSY);
    struct blk_channel *ch;
    assert_int_equal(blk_channel_open(b, reactor, 0, &ch), 0);
    uint8_t buf[512];
    memset(buf, 7, sizeof(buf));
    struct iovec iov = {buf, sizeof(buf)};
    int failures = 0;
    for (int i = 1; i <= 9; i++) {
        uint64_t t0 = kk_now_us();
        int rc = do_rw(ch, true, (uint64_t)i * 512, &iov, 1, 0);
        assert_true(kk_now_us() - t0 >= 2000); /* the delay is applied (a lower bound) */
        if (i % 3 == 0) {
            assert_int_equal(rc, -ENOSPC);
            failures++;
        } else {
            assert_int_equal(rc, 0);
        }
    }
    assert_int_equal(failures, 3);
    /* reads pass through and see what the successful writes stored */
    uint8_t back[512];
    struct iovec r = {back, sizeof(back)};
    assert_int_equal(do_rw(ch, false, 512, &r, 1, 0), 0);
    assert_memory_equal(back, buf, 512);
    assert_int_equal(do_rw(ch, false, 3 * 512, &r, 1, 0), 0);
    uint8_t zero[512] = {0};
    assert_memory_equal(back, zero, 512); /* the failed write never reached the base */
    struct blk_stats st;
    blk_bdev_get_stats(b, &st);
    assert_int_equal(st.errors, 3);
    assert_int_equal(blk_channel_close(ch), 0);
    assert_int_equal(blk_bdev_delete("einj"), 0);
    assert_int_equal(blk_bdev_delete("ebase"), 0);

    /* bad parameters name the problem */
    p = json_pack("{s:s, s:s}", "base", "nope", "ops", "read");
    assert_int_equal(blk_bdev_create("e2", "error", p, err, sizeof(err), NULL), -ENOENT);
    assert_non_null(strstr(err, "nope"));
    json_decref(p);
    p = json_pack("{s:s, s:s}", "base", "x", "ops", "read,explode");
    assert_int_equal(blk_bdev_create("e2", "error", p, err, sizeof(err), NULL), -EINVAL);
    json_decref(p);
}

static void test_registry(void **state)
{
    (void)state;
    char err[256];
    json_t *p = json_pack("{s:s}", "size", "64K");
    assert_int_equal(blk_bdev_create("bad name", "malloc", p, err, sizeof(err), NULL), -EINVAL);
    assert_int_equal(blk_bdev_create("r1", "nosuch", p, err, sizeof(err), NULL), -ENOENT);
    assert_non_null(strstr(err, "nosuch"));
    assert_int_equal(blk_bdev_create("r1", "malloc", p, err, sizeof(err), NULL), 0);
    assert_int_equal(blk_bdev_create("r1", "malloc", p, err, sizeof(err), NULL), -EEXIST);
    json_decref(p);
    p = json_pack("{s:s, s:i}", "size", "64K", "colour", 3);
    assert_int_equal(blk_bdev_create("r2", "malloc", p, err, sizeof(err), NULL), -EINVAL);
    assert_non_null(strstr(err, "colour"));
    json_decref(p);
    p = json_pack("{s:s}", "size", "1000");
    assert_int_equal(blk_bdev_create("r2", "malloc", p, err, sizeof(err), NULL), -EINVAL);
    json_decref(p);
    p = json_pack("{s:s, s:b}", "size", "64K", "read_only", 1);
    struct blk_bdev *ro;
    assert_int_equal(blk_bdev_create("r3", "malloc", p, err, sizeof(err), &ro), 0);
    json_decref(p);
    struct blk_bdev *x;
    assert_int_equal(blk_bdev_open("r3", true, &x), -EROFS);
    assert_int_equal(blk_bdev_open("r9", false, &x), -ENOENT);
    struct blk_channel *ch;
    assert_int_equal(blk_channel_open(ro, reactor, 0, &ch), 0);
    uint8_t buf[512] = {0};
    struct iovec iov = {buf, 512};
    struct wait w = {0};
    assert_int_equal(blk_write(ch, 0, &iov, 1, 0, on_done, &w), -EROFS);
    assert_int_equal(blk_unmap(ch, 0, 512, on_done, &w), -EROFS);
    assert_int_equal(do_rw(ch, false, 0, &iov, 1, 0), 0);
    assert_int_equal(blk_channel_close(ch), 0);
    json_t *j = blk_bdev_to_json(ro);
    assert_true(json_is_true(json_object_get(j, "read_only")));
    assert_int_equal(json_integer_value(json_object_get(j, "size")), 65536);
    json_decref(j);
    /* resize is announced */
    assert_int_equal(blk_bdev_resize(ro, 131072), 0);
    struct blk_bdev_info in;
    blk_bdev_get_info(ro, &in);
    assert_int_equal(in.size, 131072);
    assert_int_equal(blk_bdev_delete("r1"), 0);
    assert_int_equal(blk_bdev_delete("r3"), 0);
    assert_int_equal(blk_bdev_delete("r3"), -ENOENT);
}

static void test_hist(void **state)
{
    (void)state;
    struct blk_hist *h = calloc(1, sizeof(*h));
    for (uint64_t v = 1; v <= 100000; v++)
        blk_hist_add(h, v * 1000); /* 1 us .. 100 ms uniformly */
    uint64_t p50 = blk_hist_percentile(h, 50), p99 = blk_hist_percentile(h, 99);
    assert_true(p50 > 47000000 && p50 < 53000000);
    assert_true(p99 > 93000000 && p99 < 105000000);
    assert_int_equal(blk_hist_percentile(h, 100), 100000000);
    free(h);
}

/* Channels on two reactor threads write disjoint halves of one bdev at
 * the same time; everything reads back. */
struct mt_arg {
    struct blk_bdev *b;
    struct kk_reactor *r;
    uint64_t base;
    int rc;
    bool done;
    struct mt_state *s;   /* freed by the test after the reactor stops */
};

struct mt_slot {
    struct mt_state *s;
    uint8_t buf[4096];
    struct iovec iov;
};

struct mt_state {
    struct mt_arg *a;
    struct blk_channel *ch;
    struct mt_slot slot[32];
    unsigned next, inflight;
};

static void mt_submit(struct mt_slot *sl);

static void mt_done(void *arg, int result)
{
    struct mt_slot *sl = arg;
    struct mt_state *s = sl->s;
    s->inflight--;
    if (result < 0)
        s->a->rc = result;
    if (s->next < 256)
        mt_submit(sl);
    else if (s->inflight == 0) {
        assert_int_equal(blk_channel_close(s->ch), 0); /* from its own callback */
        __atomic_store_n(&s->a->done, true, __ATOMIC_RELEASE);
    }
}

/* Each slot owns its buffer until its write completes. */
static void mt_submit(struct mt_slot *sl)
{
    struct mt_state *s = sl->s;
    unsigned i = s->next++;
    memset(sl->buf, (int)(i & 0xff) ^ (int)(s->a->base >> 20), 4096);
    sl->iov.iov_base = sl->buf;
    sl->iov.iov_len = 4096;
    s->inflight++;
    int rc = blk_write(s->ch, s->a->base + (uint64_t)i * 4096, &sl->iov, 1, 0, mt_done, sl);
    if (rc < 0) {
        s->inflight--;
        s->a->rc = rc;
    }
}

static void mt_start(void *arg)
{
    struct mt_arg *a = arg;
    struct mt_state *s = calloc(1, sizeof(*s));
    s->a = a;
    a->s = s;
    a->rc = blk_channel_open(a->b, a->r, 64, &s->ch);
    if (a->rc < 0) {
        __atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
        return;
    }
    for (int i = 0; i < 32; i++) {
        s->slot[i].s = s;
        mt_submit(&s->slot[i]);
    }
}

static void test_two_threads(void **state)
{
    (void)state;
    static const char *const types[] = {"malloc", "file", "image"};
    for (int t = 0; t < 3; t++) {
        char path[512], err[256];
        snprintf(path, sizeof(path), "%s/mt%d.img", tmpdir, t);
        json_t *p;
        if (t == 0) {
            p = json_pack("{s:s}", "size", "4M");
        } else if (t == 1) {
            p = json_pack("{s:s, s:b, s:s}", "path", path, "create", 1, "size", "4M");
        } else {
            struct img_create_opts o = {.format = "qcow2", .size = 4 << 20, .cluster_size = 65536};
            assert_int_equal(img_create(path, &o), 0);
            p = json_pack("{s:s, s:s}", "path", path, "format", "qcow2");
        }
        struct blk_bdev *b;
        assert_int_equal(blk_bdev_create("mt", types[t], p, err, sizeof(err), &b), 0);
        json_decref(p);
        struct {
            struct mt_arg a;
        } args[2];
        memset(args, 0, sizeof(args));
        for (int i = 0; i < 2; i++) {
            args[i].a.b = b;
            args[i].a.base = (uint64_t)i << 21;
            assert_int_equal(kk_reactor_create(NULL, &args[i].a.r), 0);
            assert_int_equal(kk_reactor_send(args[i].a.r, mt_start, &args[i].a), 0);
            assert_int_equal(kk_reactor_spawn(args[i].a.r, -1), 0);
        }
        for (int i = 0; i < 2; i++) {
            for (int k = 0; k < 60000 && !__atomic_load_n(&args[i].a.done, __ATOMIC_ACQUIRE); k++)
                usleep(1000);
            assert_true(__atomic_load_n(&args[i].a.done, __ATOMIC_ACQUIRE));
            kk_reactor_join(args[i].a.r);
            assert_int_equal(args[i].a.rc, 0);
            kk_reactor_destroy(args[i].a.r);
            free(args[i].a.s);
        }
        struct blk_channel *ch;
        assert_int_equal(blk_channel_open(b, reactor, 0, &ch), 0);
        uint8_t back[4096], want[4096];
        for (int i = 0; i < 2; i++) {
            for (unsigned k = 0; k < 256; k++) {
                struct iovec iov = {back, 4096};
                uint64_t base = (uint64_t)i << 21;
                assert_int_equal(do_rw(ch, false, base + k * 4096, &iov, 1, 0), 0);
                memset(want, (int)(k & 0xff) ^ (int)(base >> 20), 4096);
                assert_memory_equal(back, want, 4096);
            }
        }
        struct blk_stats st;
        blk_bdev_get_stats(b, &st);
        assert_int_equal(st.ops[BLK_OP_WRITE], 512);
        assert_int_equal(blk_channel_close(ch), 0);
        assert_int_equal(blk_bdev_delete("mt"), 0);
    }
}

/* An image bdev over a backing chain: reads fall through to the raw base,
 * writes land in the overlay, block status tells them apart. */
static void test_image_chain(void **state)
{
    (void)state;
    char base[512], top[512], err[256];
    snprintf(base, sizeof(base), "%s/base.raw", tmpdir);
    snprintf(top, sizeof(top), "%s/top.qcow2", tmpdir);
    int fd = open(base, O_CREAT | O_RDWR | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 1 << 20), 0);
    uint8_t pat[65536];
    memset(pat, 0x11, sizeof(pat));
    assert_int_equal(pwrite(fd, pat, sizeof(pat), 0), (ssize_t)sizeof(pat));
    close(fd);
    struct img_create_opts o = {.format = "qcow2", .backing_file = base, .backing_format = "raw",
                                .cluster_size = 65536};
    assert_int_equal(img_create(top, &o), 0);
    json_t *p = json_pack("{s:s, s:s}", "path", top, "format", "qcow2");
    struct blk_bdev *b;
    assert_int_equal(blk_bdev_create("chain", "image", p, err, sizeof(err), &b), 0);
    json_decref(p);
    struct blk_channel *ch;
    assert_int_equal(blk_channel_open(b, reactor, 0, &ch), 0);
    uint8_t buf[4096];
    struct iovec iov = {buf, sizeof(buf)};
    assert_int_equal(do_rw(ch, false, 4096, &iov, 1, 0), 0);
    assert_memory_equal(buf, pat, sizeof(buf)); /* from the base */
    memset(buf, 0x22, sizeof(buf));
    assert_int_equal(do_rw(ch, true, 65536 + 4096, &iov, 1, 0), 0);
    struct blk_extent ext[8];
    struct wait w = {0};
    assert_int_equal(blk_block_status(ch, 0, 1 << 20, ext, 8, on_done, &w), 0);
    int n = run_until(&w);
    assert_true(n >= 2);
    assert_int_equal(ext[0].flags, 0);             /* base data */
    assert_int_equal(ext[0].len, 131072);          /* + the written cluster */
    assert_int_equal(ext[1].flags, BLK_EXTENT_HOLE | BLK_EXTENT_ZERO);
    assert_int_equal(blk_channel_close(ch), 0);
    assert_int_equal(blk_bdev_delete("chain"), 0);
    /* the base is untouched */
    fd = open(base, O_RDONLY);
    uint8_t back[4096];
    assert_int_equal(pread(fd, back, sizeof(back), 65536 + 4096), (ssize_t)sizeof(back));
    close(fd);
    uint8_t zero[4096] = {0};
    assert_memory_equal(back, zero, sizeof(back));
}

static int setup(void **state)
{
    (void)state;
    tmpdir = kk_test_mkdtemp();
    return kk_reactor_create(NULL, &reactor);
}

static int teardown(void **state)
{
    (void)state;
    kk_reactor_destroy(reactor);
    kk_test_rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_backend, &cases[0]),
        cmocka_unit_test_prestate(test_backend, &cases[1]),
        cmocka_unit_test_prestate(test_backend, &cases[2]),
        cmocka_unit_test_prestate(test_backend, &cases[3]),
        cmocka_unit_test_prestate(test_backend, &cases[4]),
        cmocka_unit_test_prestate(test_backend, &cases[5]),
        cmocka_unit_test_prestate(test_backend, &cases[6]),
        cmocka_unit_test_prestate(test_backend, &cases[7]),
        cmocka_unit_test(test_file_persists),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_image_chain),
        cmocka_unit_test(test_backpressure),   cmocka_unit_test(test_error_injection),
        cmocka_unit_test(test_registry),       cmocka_unit_test(test_hist),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
