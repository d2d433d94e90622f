/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blkperf's vhost engine: the virtio-blk driver side over lib/virtio's
 * vhost-user frontend, against any vhost-user-blk target (kvmkit-blkd,
 * qemu-storage-daemon, SPDK). The target string is the socket path.
 *
 * One vhost-user connection is shared by all threads (a backend serves one
 * frontend): the first thread to open connects and sets up as many queues
 * as the backend has (GET_QUEUE_NUM); thread i drives virtqueue i alone, so
 * the data path takes no lock. A request is three descriptors — the 16-byte
 * header, the data, the status byte — or one indirect descriptor when the
 * depth would not fit a 256-entry ring that way. Buffers and headers live
 * in the shared memfd (1 GiB, sparse: only what is touched is committed).
 *
 * Completions: poll() reads the used ring; with nothing there it spins for
 * up to KVMKIT_BLKPERF_SPIN_US (default 50) microseconds with interrupts
 * off, like a polling driver, then asks for an interrupt and sleeps on the
 * call eventfd. Both targets see the same driver, so their costs compare.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blkperf.h"
#include "kk_err.h"
#include "vhu_frontend.h"
#include "virtio_blk.h"

#define RING_SIZE 256
#define SHARED_MEM (1ull << 30)

struct slot {
    struct virtio_blk_outhdr *hdr;
    uint8_t *status;
    struct virtq_desc *table;   /* indirect table (3 entries), or NULL */
};

struct vctx {
    uint16_t qi;
    struct vqd *q;
    int call_fd;
    uint32_t depth;
    bool indirect;
    uint32_t spin_us;
    struct slot *slots;         /* [depth], by perf_req.index */
};

static struct {
    pthread_mutex_t lock;
    int users;
    struct vhu_front *f;
    uint64_t size;
    uint32_t block;
    bool indirect;
} shared = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* First opener: connect, read the geometry. Called with the lock held. */
static int connect_shared(const char *path, uint32_t depth)
{
    shared.indirect = depth * 3 > RING_SIZE;
    if (depth > RING_SIZE) {
        fprintf(stderr, "blkperf: vhost: depth %u is more than the ring's %u entries\n", depth,
                RING_SIZE);
        return -EINVAL;
    }
    struct vhu_front_opts o = {
        .path = path,
        .num_queues = 0, /* the backend's */
        .queue_size = RING_SIZE,
        .event_idx = true,
        .indirect = shared.indirect,
        .device_features = VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
                           VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_MQ) |
                           VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY),
        .mem_size = SHARED_MEM,
        .timeout_ms = 5000,
    };
    int rc = vhu_front_connect(&o, &shared.f);
    if (rc < 0) {
        fprintf(stderr, "blkperf: vhost: cannot set up %s: %s\n", path, kk_strerror(rc));
        return rc;
    }
    /* From offset 0, as QEMU reads it: some backends (qemu-storage-daemon)
     * ignore the offset of a GET_CONFIG. */
    struct virtio_blk_config cfg;
    rc = vhu_front_get_config(shared.f, 0, &cfg, offsetof(struct virtio_blk_config, blk_size) + 4);
    uint64_t capacity = rc == 0 ? cfg.capacity : 0;
    uint32_t blk = 512;
    if (vhu_front_features(shared.f) & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE))
        blk = cfg.blk_size;
    if (rc < 0 || capacity == 0 || blk < 512 || blk > 65536 || (blk & (blk - 1))) {
        fprintf(stderr, "blkperf: vhost: %s: no usable config space (capacity %llu, block %u)\n",
                path, (unsigned long long)capacity, blk);
        vhu_front_close(shared.f);
        shared.f = NULL;
        return rc < 0 ? rc : -EPROTO;
    }
    shared.size = capacity * VIRTIO_BLK_SECTOR_SIZE;
    shared.block = blk;
    return 0;
}

static void v_close(void *ctx);

static int v_open(const char *target, unsigned thread, uint32_t depth, void **ctxp,
                  uint64_t *size, uint32_t *block)
{
    struct vctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    const char *spin = getenv("KVMKIT_BLKPERF_SPIN_US");
    c->spin_us = spin ? (uint32_t)strtoul(spin, NULL, 10) : 50;
    pthread_mutex_lock(&shared.lock);
    int rc = shared.users == 0 ? connect_shared(target, depth) : 0;
    bool counted = rc == 0;
    if (rc == 0)
        shared.users++;
    if (rc == 0 && thread >= vhu_front_num_queues(shared.f)) {
        fprintf(stderr, "blkperf: vhost: %s has %u queues; thread %u has none (use -j %u)\n",
                target, vhu_front_num_queues(shared.f), thread, vhu_front_num_queues(shared.f));
        rc = -EINVAL;
    }
    if (rc == 0) {
        c->qi = (uint16_t)thread;
        c->q = vhu_front_queue(shared.f, c->qi);
        c->call_fd = vhu_front_call_fd(shared.f, c->qi);
        c->depth = depth;
        c->indirect = shared.indirect;
        c->slots = calloc(depth, sizeof(*c->slots));
        for (uint32_t i = 0; c->slots && i < depth; i++) {
            struct slot *s = &c->slots[i];
            s->hdr = vhu_front_alloc(shared.f, sizeof(*s->hdr), 16);
            s->status = vhu_front_alloc(shared.f, 1, 1);
            if (c->indirect)
                s->table = vhu_front_alloc(shared.f, 3 * sizeof(struct virtq_desc), 16);
            if (!s->hdr || !s->status || (c->indirect && !s->table)) {
                rc = -ENOMEM;
                break;
            }
        }
        if (!c->slots)
            rc = -ENOMEM;
        *size = shared.size;
        *block = shared.block;
    }
    pthread_mutex_unlock(&shared.lock);
    if (rc < 0) {
        if (counted)
            v_close(c);
        else
            free(c);
        return rc;
    }
    vqd_enable_interrupts(c->q, false);
    *ctxp = c;
    return 0;
}

static void *v_alloc(void *ctx, size_t size)
{
    pthread_mutex_lock(&shared.lock);
    void *p = vhu_front_alloc(shared.f, size, 4096);
    pthread_mutex_unlock(&shared.lock);
    return p;
}

static int v_submit(void *ctx, struct perf_req *r)
{
    struct vctx *c = ctx;
    if (r->index >= c->depth)
        return -EINVAL;
    struct slot *s = &c->slots[r->index];
    static const uint32_t types[] = {[PERF_READ] = VIRTIO_BLK_T_IN,
                                     [PERF_WRITE] = VIRTIO_BLK_T_OUT,
                                     [PERF_FLUSH] = VIRTIO_BLK_T_FLUSH};
    *s->hdr = (struct virtio_blk_outhdr){.type = types[r->op],
                                         .sector = r->offset / VIRTIO_BLK_SECTOR_SIZE};
    *s->status = 0xff;
    struct vqd_buf b[3];
    unsigned n = 0;
    b[n++] = (struct vqd_buf){vhu_front_gpa(shared.f, s->hdr), sizeof(*s->hdr), false};
    if (r->op != PERF_FLUSH)
        b[n++] = (struct vqd_buf){vhu_front_gpa(shared.f, r->buf), r->len, r->op == PERF_READ};
    b[n++] = (struct vqd_buf){vhu_front_gpa(shared.f, s->status), 1, true};
    int rc = c->indirect ? vqd_add_indirect(c->q, b, n, s->table,
                                            vhu_front_gpa(shared.f, s->table), r)
                         : vqd_add(c->q, b, n, r);
    return rc == -ENOSPC ? -EBUSY : rc;
}

static void v_flush(void *ctx)
{
    struct vctx *c = ctx;
    vhu_front_kick(shared.f, c->qi);
}

static int reap(struct vctx *c, perf_done_fn done, void *arg)
{
    int n = 0;
    for (;;) {
        void *cookie;
        int rc = vqd_get_used(c->q, &cookie, NULL);
        if (rc < 0) {
            fprintf(stderr, "blkperf: vhost: queue %u: %s\n", c->qi, vqd_broken_reason(c->q));
            return -EIO;
        }
        if (rc == 0)
            return n;
        struct perf_req *r = cookie;
        uint8_t st = *c->slots[r->index].status;
        done(r, st == VIRTIO_BLK_S_OK ? 0 : st == VIRTIO_BLK_S_UNSUPP ? -ENOTSUP : -EIO, arg);
        n++;
    }
}

static int v_poll(void *ctx, uint32_t wait_us, perf_done_fn done, void *arg)
{
    struct vctx *c = ctx;
    int n = reap(c, done, arg);
    if (n != 0 || wait_us == 0)
        return n;
    uint64_t start = now_us(), spin = c->spin_us < wait_us ? c->spin_us : wait_us;
    while (now_us() - start < spin) {
        if ((n = reap(c, done, arg)) != 0)
            return n;
    }
    /* Sleep until the target signals (or the wait is over). */
    if (!vqd_enable_interrupts(c->q, true)) {
        uint64_t left = wait_us - spin;
        struct timespec ts = {.tv_sec = (time_t)(left / 1000000),
                              .tv_nsec = (long)(left % 1000000) * 1000};
        struct pollfd p = {.fd = c->call_fd, .events = POLLIN};
        if (ppoll(&p, 1, &ts, NULL) > 0) {
            uint64_t v;
            ssize_t k = read(c->call_fd, &v, sizeof(v));
            (void)k;
        }
    }
    vqd_enable_interrupts(c->q, false);
    return reap(c, done, arg);
}

static void v_close(void *ctx)
{
    struct vctx *c = ctx;
    free(c->slots);
    free(c);
    pthread_mutex_lock(&shared.lock);
    if (--shared.users == 0) {
        vhu_front_close(shared.f);
        shared.f = NULL;
    }
    pthread_mutex_unlock(&shared.lock);
}

const struct perf_engine_ops perf_engine_vhost = {
    .name = "vhost",
    .open = v_open,
    .alloc = v_alloc,
    .submit = v_submit,
    .flush = v_flush,
    .poll = v_poll,
    .close = v_close,
};
