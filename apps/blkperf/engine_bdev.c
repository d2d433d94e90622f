/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blkperf's bdev engine: a bdev created in this process from
 * "TYPE:KEY=VALUE,..." (shared by all threads); each thread drives its own
 * channel from its own reactor, polling it in place of the reactor loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "blk.h"
#include "blkperf.h"
#include "kk_reactor.h"

#define PERF_BDEV "blkperf0"

struct bctx {
    struct kk_reactor *r;
    struct blk_channel *ch;
    struct blk_bdev *b;
    struct perf_req **done, **spare;
    int *results, *spare_results;
    uint32_t n_done, cap;
    void **bufs;
    uint32_t n_bufs;
};

static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
static int users;

static int create_bdev(const char *target)
{
    char type[32];
    const char *colon = strchr(target, ':');
    size_t tl = colon ? (size_t)(colon - target) : strlen(target);
    if (tl == 0 || tl >= sizeof(type)) {
        fprintf(stderr, "blkperf: --bdev wants TYPE:KEY=VALUE,...\n");
        return -EINVAL;
    }
    memcpy(type, target, tl);
    type[tl] = '\0';
    json_t *p = json_object();
    const char *s = colon ? colon + 1 : "";
    while (*s) {
        size_t n = strcspn(s, ",");
        const char *eq = memchr(s, '=', n);
        if (!eq) {
            fprintf(stderr, "blkperf: expected KEY=VALUE in --bdev, got '%.*s'\n", (int)n, s);
            json_decref(p);
            return -EINVAL;
        }
        char key[64], val[1024];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - s), s);
        snprintf(val, sizeof(val), "%.*s", (int)(n - (size_t)(eq - s) - 1), eq + 1);
        json_object_set_new(p, key, json_string(val));
        s += n;
        if (*s == ',')
            s++;
    }
    char err[256] = "";
    int rc = blk_bdev_create(PERF_BDEV, type, p, err, sizeof(err), NULL);
    json_decref(p);
    if (rc < 0)
        fprintf(stderr, "blkperf: --bdev %s: %s\n", target, err);
    return rc;
}

static int b_open(const char *target, unsigned thread, uint32_t depth, void **ctxp,
                  uint64_t *size, uint32_t *block)
{
    (void)thread;
    int rc = 0;
    pthread_mutex_lock(&create_lock);
    if (users == 0)
        rc = create_bdev(target);
    if (rc == 0)
        users++;
    pthread_mutex_unlock(&create_lock);
    if (rc < 0)
        return rc;
    struct bctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cap = depth;
    c->done = calloc(depth, sizeof(*c->done));
    c->results = calloc(depth, sizeof(*c->results));
    c->spare = calloc(depth, sizeof(*c->spare));
    c->spare_results = calloc(depth, sizeof(*c->spare_results));
    c->bufs = calloc(depth, sizeof(*c->bufs));
    rc = c->done && c->results && c->spare && c->spare_results && c->bufs ? 0 : -ENOMEM;
    if (rc == 0)
        rc = blk_bdev_open(PERF_BDEV, false, &c->b);
    if (rc == 0)
        rc = kk_reactor_create(NULL, &c->r);
    if (rc == 0)
        rc = blk_channel_open(c->b, c->r, depth, &c->ch);
    if (rc < 0) {
        fprintf(stderr, "blkperf: bdev channel: %s\n", strerror(-rc));
        return rc;
    }
    struct blk_bdev_info in;
    blk_bdev_get_info(c->b, &in);
    *size = in.size;
    *block = in.block_size;
    *ctxp = c;
    return 0;
}

static void *b_alloc(void *ctx, size_t size)
{
    struct bctx *c = ctx;
    void *p = NULL;
    if (c->n_bufs >= c->cap || posix_memalign(&p, 4096, size) != 0)
        return NULL;
    c->bufs[c->n_bufs++] = p;
    return p;
}

static void b_done(void *arg, int result)
{
    struct perf_req *r = arg;
    struct bctx *c = (struct bctx *)(uintptr_t)r->priv[0];
    c->done[c->n_done] = r;
    c->results[c->n_done] = result;
    c->n_done++;
}

static int b_submit(void *ctx, struct perf_req *r)
{
    struct bctx *c = ctx;
    r->priv[0] = (uintptr_t)c;
    struct iovec *iov = (struct iovec *)&r->priv[1];
    iov->iov_base = r->buf;
    iov->iov_len = r->len;
    switch (r->op) {
    case PERF_READ:
        return blk_read(c->ch, r->offset, iov, 1, b_done, r);
    case PERF_WRITE:
        return blk_write(c->ch, r->offset, iov, 1, 0, b_done, r);
    default:
        return blk_flush(c->ch, b_done, r);
    }
}

static int b_poll(void *ctx, uint32_t wait_us, perf_done_fn done, void *arg)
{
    (void)wait_us;
    struct bctx *c = ctx;
    kk_reactor_poll_once(c->r);
    uint32_t n = c->n_done;
    c->n_done = 0;
    /* @done may submit again, which appends to c->done: swap the lists */
    struct perf_req **reqs = c->done;
    int *res = c->results;
    c->done = c->spare;
    c->results = c->spare_results;
    c->spare = reqs;
    c->spare_results = res;
    for (uint32_t i = 0; i < n; i++)
        done(reqs[i], res[i], arg);
    return (int)n;
}

static void b_close(void *ctx)
{
    struct bctx *c = ctx;
    while (blk_channel_close(c->ch) == -EBUSY)
        kk_reactor_poll_once(c->r);
    kk_reactor_destroy(c->r);
    blk_bdev_close(c->b);
    for (uint32_t i = 0; i < c->n_bufs; i++)
        free(c->bufs[i]);
    free(c->bufs);
    free(c->done);
    free(c->results);
    free(c->spare);
    free(c->spare_results);
    free(c);
    pthread_mutex_lock(&create_lock);
    if (--users == 0)
        blk_bdev_delete(PERF_BDEV);
    pthread_mutex_unlock(&create_lock);
}

const struct perf_engine_ops perf_engine_bdev = {
    .name = "bdev",
    .open = b_open,
    .alloc = b_alloc,
    .submit = b_submit,
    .poll = b_poll,
    .close = b_close,
};
