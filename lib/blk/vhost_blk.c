/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user-blk target (vhost_blk.h).
 *
 * Threads. The vhu_dev (connection, negotiation, config space) lives on
 * the control reactor. Virtqueue i is served by worker i % n_workers with
 * its own bdev channel, opened when the target is created. The control
 * thread hands a queue to its worker in queue_start and takes it back in
 * queue_stop, each by a message followed by a wait on the queue's eventfd:
 * between the two only the worker touches the queue. queue_stop does not
 * return before every request the worker took from the ring has completed
 * (its bdev callback ran and its completion is in the used ring), because
 * the frontend may unmap guest memory — which the bdev may be writing
 * into — as soon as it has its answer.
 *
 * Data path (worker). A poller pops chains one at a time into a free
 * request slot (each slot has its own iovec array, so the parsed data
 * iovecs point straight into guest memory), parses and submits them;
 * completions are collected and pushed to the used ring in one update per
 * poller turn (vhu_queue_push: inflight-tracked), followed by one
 * notification. A bdev channel that is full (-ENOMEM) parks the request
 * behind a blk_io_wait and the queue stops popping until it drains. Before
 * the reactor sleeps, the poller arms guest kicks (watched on the worker).
 *
 * Faults. A chain lib/virtio refuses, or one without a status byte, is a
 * guest fault: the worker flags it and wakes the control thread, which
 * drops the frontend (vhu_dev_fail); the process and other exports go on.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk.h"
#include "kk_common.h"
#include "kk_err.h"
#include "kk_log.h"
#include "vblk_internal.h"
#include "vhost_blk.h"
#include "vhu.h"

KK_LOG_COMPONENT(vblk_log, "vhost-blk");

#define VBLK_MAX_IOV 256        /* iovecs per request (data + header + status) */
#define VBLK_SEG_MAX 126        /* data segments advertised (room for region splits) */
#define VBLK_BURST 32
#define VBLK_DEFAULT_QUEUE_SIZE 256

struct vblk_queue;

struct vblk_req {
    struct vblk_queue *vq;
    struct vq_chain chain;
    struct vblk_request r;
    unsigned next_range;        /* DISCARD/WRITE_ZEROES: next range to submit */
    unsigned pending;           /* bdev operations in flight */
    int error;                  /* first failure */
    bool submitted;             /* every operation was submitted */
    struct vblk_req *next;      /* free list / wait list */
    struct iovec *iov;          /* [VBLK_MAX_IOV], in the queue's iovec pool */
};

struct vblk_queue_stats {
    uint64_t requests, reads, writes, flushes, discards, write_zeroes, get_ids;
    uint64_t errors, unsupported, resubmitted, nomem;
};

struct vblk_queue {
    struct vblk_target *t;
    uint16_t index;
    struct kk_reactor *worker;
    struct blk_channel *ch;
    int sync_fd;                  /* eventfd: the worker's answer to the control thread */

    /* Worker's state while the queue is handed over. */
    struct vhu_queue *q;
    bool running;
    bool stopping;
    bool broken;                  /* a fault was raised: pop no more */
    struct kk_poller *poller;
    struct kk_fd_watch *kick_watch;
    struct vblk_limits lim;
    uint64_t features;
    struct vblk_req *reqs;
    struct iovec *iov_pool;       /* queue_size * VBLK_MAX_IOV, touched as used */
    struct vblk_req *free;
    unsigned outstanding;         /* popped, not yet pushed */
    struct vq_used *used;         /* completions not yet pushed */
    unsigned n_used;
    struct vblk_req *wait_head, *wait_tail;
    bool wait_parked;
    struct blk_io_wait io_wait;
    struct vblk_queue_stats st;

    /* Set by the worker, read by the control thread. */
    int fault;
    char fault_why[160];
};

struct vblk_target {
    struct kk_reactor *ctrl;
    struct vhu_dev *dev;
    struct blk_bdev *bdev;
    struct blk_bdev_info info;
    struct blk_listener listener;
    char path[108];
    char bdev_name[BLK_NAME_MAX];
    char serial[VIRTIO_BLK_ID_BYTES];
    bool read_only;
    bool client;
    uint16_t num_queues;
    uint16_t queue_size;
    uint64_t offered;
    uint64_t features;            /* negotiated (control thread) */
    uint64_t capacity;            /* sectors; atomic: workers read it per burst */
    uint8_t writeback;            /* config space; atomic */
    int fault_fd;
    struct kk_fd_watch *fault_watch;
    uint64_t resizes;
    struct vblk_queue queues[];
};

/* ---- control <-> worker hand-over ----------------------------------------- */

static void sync_signal(struct vblk_queue *vq)
{
    uint64_t one = 1;
    ssize_t n = write(vq->sync_fd, &one, sizeof(one));
    (void)n;
}

/* Run @fn(@vq) on the queue's worker and wait until it (or a later step it
 * starts) calls sync_signal(). */
static void run_on_worker(struct vblk_queue *vq, kk_msg_fn fn, const char *what)
{
    while (kk_reactor_send(vq->worker, fn, vq) == -ENOMEM)
        sched_yield();
    uint64_t start = kk_now_us();
    bool warned = false;
    for (;;) {
        struct pollfd p = {.fd = vq->sync_fd, .events = POLLIN};
        if (poll(&p, 1, 1000) > 0) {
            uint64_t v;
            if (read(vq->sync_fd, &v, sizeof(v)) == sizeof(v))
                break;
        }
        if (!warned && kk_now_us() - start > 2000000) {
            KK_LOGW(vblk_log, "%s: queue %u: still waiting for %s (%u requests in flight)",
                    vq->t->path, vq->index, what, __atomic_load_n(&vq->outstanding,
                                                                  __ATOMIC_RELAXED));
            warned = true;
        }
    }
}

static void raise_fault(struct vblk_queue *vq, const char *why)
{
    if (vq->broken)
        return;
    vq->broken = true;
    snprintf(vq->fault_why, sizeof(vq->fault_why), "queue %u: %s", vq->index, why);
    __atomic_store_n(&vq->fault, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t n = write(vq->t->fault_fd, &one, sizeof(one));
    (void)n;
}

/* Control thread: a worker found a guest fault. */
static void fault_cb(void *arg, int fd, unsigned events)
{
    struct vblk_target *t = arg;
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
    for (uint16_t i = 0; i < t->num_queues; i++) {
        struct vblk_queue *vq = &t->queues[i];
        if (__atomic_exchange_n(&vq->fault, 0, __ATOMIC_ACQ_REL)) {
            KK_LOGW(vblk_log, "%s: guest fault: %s", t->path, vq->fault_why);
            vhu_dev_fail(t->dev, vq->fault_why);
        }
    }
}

/* ---- data path (worker) ----------------------------------------------------- */

/* Counters: written by the worker alone, read by the control thread. */
#define STAT_INC(field) __atomic_store_n(&(field), (field) + 1, __ATOMIC_RELAXED)

static void flush_used(struct vblk_queue *vq)
{
    if (vq->n_used == 0)
        return;
    vhu_queue_push(vq->q, vq->used, vq->n_used);
    vhu_queue_notify(vq->q);
    vq->n_used = 0;
}

static void finish_stop(struct vblk_queue *vq);

static void req_complete(struct vblk_req *req, uint8_t status)
{
    struct vblk_queue *vq = req->vq;
    uint32_t len = 1;
    if (status == VIRTIO_BLK_S_OK && (req->r.type == VIRTIO_BLK_T_IN ||
                                      req->r.type == VIRTIO_BLK_T_GET_ID))
        len += (uint32_t)req->r.len;
    if (status != VIRTIO_BLK_S_OK) {
        if (status == VIRTIO_BLK_S_UNSUPP)
            STAT_INC(vq->st.unsupported);
        else
            STAT_INC(vq->st.errors);
    }
    *req->r.status_ptr = status;
    /* Migration: the pages the device wrote. */
    if (len > 1)
        vhu_queue_log_write(vq->q, req->r.iov, req->r.iovcnt, len - 1);
    struct iovec st = {.iov_base = req->r.status_ptr, .iov_len = 1};
    vhu_queue_log_write(vq->q, &st, 1, 1);
    vq->used[vq->n_used++] = (struct vq_used){.id = req->chain.id,
                                              .desc_count = req->chain.desc_count, .len = len};
    req->next = vq->free;
    vq->free = req;
    vq->outstanding--;
    if (vq->stopping) {
        flush_used(vq);
        if (vq->outstanding == 0)
            finish_stop(vq);
    }
}

static uint8_t errno_status(int err)
{
    return err == -ENOTSUP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

static void req_maybe_done(struct vblk_req *req)
{
    if (req->submitted && req->pending == 0)
        req_complete(req, req->error ? errno_status(req->error) : VIRTIO_BLK_S_OK);
}

static void bdev_done(void *arg, int result)
{
    struct vblk_req *req = arg;
    req->pending--;
    if (result < 0 && !req->error)
        req->error = result;
    req_maybe_done(req);
}

/* A guest without a flush command, or one that chose write-through, gets
 * every write durable before it completes. */
static bool write_through(const struct vblk_queue *vq)
{
    return !(vq->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) ||
           !__atomic_load_n(&vq->t->writeback, __ATOMIC_RELAXED);
}

/*
 * Submit what is left of @req. Returns -ENOMEM when the channel is full
 * (the caller parks it; operations already submitted stay in flight), else
 * 0: submitted, or failed and accounted for.
 */
static int req_submit(struct vblk_req *req)
{
    struct vblk_queue *vq = req->vq;
    const struct vblk_request *r = &req->r;
    int rc = 0;
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
    case VIRTIO_BLK_T_FLUSH:
        if (r->type == VIRTIO_BLK_T_FLUSH)
            rc = blk_flush(vq->ch, bdev_done, req);
        else if (r->len == 0)
            rc = 1; /* nothing to move */
        else if (r->type == VIRTIO_BLK_T_IN)
            rc = blk_read(vq->ch, r->offset, r->iov, (int)r->iovcnt, bdev_done, req);
        else
            rc = blk_write(vq->ch, r->offset, r->iov, (int)r->iovcnt,
                           write_through(vq) ? BLK_IO_FUA : 0, bdev_done, req);
        if (rc == -ENOMEM)
            return rc;
        if (rc == 0)
            req->pending++;
        else if (rc < 0)
            req->error = rc;
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        while (req->next_range < r->n_ranges) {
            const struct vblk_range *g = &r->ranges[req->next_range];
            rc = r->type == VIRTIO_BLK_T_DISCARD
                     ? blk_unmap(vq->ch, g->offset, g->len, bdev_done, req)
                     : blk_write_zeroes(vq->ch, g->offset, g->len, g->unmap ? 0 : BLK_IO_NO_UNMAP,
                                        bdev_done, req);
            if (rc == -ENOMEM)
                return rc;
            req->next_range++;
            if (rc == 0) {
                req->pending++;
            } else {
                req->error = rc;
                break;
            }
        }
        break;
    case VIRTIO_BLK_T_GET_ID: {
        char id[VIRTIO_BLK_ID_BYTES];
        memcpy(id, vq->t->serial, sizeof(id));
        vblk_iov_from_buf(r->iov, r->iovcnt, id, r->len);
        break;
    }
    default:
        req->error = -ENOTSUP;
        break;
    }
    req->submitted = true;
    req_maybe_done(req);
    return 0;
}

static void wait_cb(void *arg);

static void park(struct vblk_queue *vq, struct vblk_req *req)
{
    STAT_INC(vq->st.nomem);
    req->next = NULL;
    if (vq->wait_tail)
        vq->wait_tail->next = req;
    else
        vq->wait_head = req;
    vq->wait_tail = req;
    if (!vq->wait_parked) {
        vq->wait_parked = true;
        vq->io_wait = (struct blk_io_wait){.fn = wait_cb, .arg = vq};
        blk_io_wait(vq->ch, &vq->io_wait);
    }
}

/* A channel slot freed: resubmit parked requests in order. */
static void wait_cb(void *arg)
{
    struct vblk_queue *vq = arg;
    vq->wait_parked = false;
    while (vq->wait_head) {
        struct vblk_req *req = vq->wait_head;
        vq->wait_head = req->next;
        if (!vq->wait_head)
            vq->wait_tail = NULL;
        if (req_submit(req) == -ENOMEM) {
            /* Back to the front, in order. */
            req->next = vq->wait_head;
            vq->wait_head = req;
            if (!vq->wait_tail)
                vq->wait_tail = req;
            vq->wait_parked = true;
            vq->io_wait = (struct blk_io_wait){.fn = wait_cb, .arg = vq};
            blk_io_wait(vq->ch, &vq->io_wait);
            return;
        }
    }
}

/* A chain was taken from the ring into @req: parse and start it. */
static void handle_chain(struct vblk_queue *vq, struct vblk_req *req)
{
    vq->outstanding++;
    STAT_INC(vq->st.requests);
    req->next_range = 0;
    req->pending = 0;
    req->error = 0;
    req->submitted = false;
    if (vblk_parse_request(&req->chain, &vq->lim, &req->r) < 0) {
        /* Nowhere to put a status: answer with nothing and drop the guest. */
        vq->used[vq->n_used++] = (struct vq_used){.id = req->chain.id,
                                                  .desc_count = req->chain.desc_count};
        req->next = vq->free;
        vq->free = req;
        vq->outstanding--;
        raise_fault(vq, "a request without a status byte");
        return;
    }
    if (req->r.status != VIRTIO_BLK_S_OK) {
        req_complete(req, req->r.status);
        return;
    }
    switch (req->r.type) {
    case VIRTIO_BLK_T_IN: STAT_INC(vq->st.reads); break;
    case VIRTIO_BLK_T_OUT: STAT_INC(vq->st.writes); break;
    case VIRTIO_BLK_T_FLUSH: STAT_INC(vq->st.flushes); break;
    case VIRTIO_BLK_T_DISCARD: STAT_INC(vq->st.discards); break;
    case VIRTIO_BLK_T_WRITE_ZEROES: STAT_INC(vq->st.write_zeroes); break;
    case VIRTIO_BLK_T_GET_ID: STAT_INC(vq->st.get_ids); break;
    default: break;
    }
    if (vq->wait_head || req_submit(req) == -ENOMEM)
        park(vq, req);
}

static struct vblk_req *take_free(struct vblk_queue *vq)
{
    struct vblk_req *req = vq->free;
    if (req)
        vq->free = req->next;
    return req;
}

static void put_free(struct vblk_queue *vq, struct vblk_req *req)
{
    req->next = vq->free;
    vq->free = req;
}

static void pop_failed(struct vblk_queue *vq, int rc)
{
    raise_fault(vq, rc == -ENOBUFS ? "a request with more buffers than seg_max allows"
                                   : vq_broken_reason(&vq->q->vq));
}

static int queue_poll(void *arg)
{
    struct vblk_queue *vq = arg;
    int work = 0;
    if (vq->n_used) {
        flush_used(vq);
        work++;
    }
    if (!vq->running || vq->stopping || vq->broken || vq->wait_head)
        return work;
    vq->lim.capacity = __atomic_load_n(&vq->t->capacity, __ATOMIC_RELAXED);
    for (unsigned n = 0; n < VBLK_BURST; n++) {
        struct vblk_req *req = take_free(vq);
        if (!req)
            break;
        int rc = vhu_queue_pop(vq->q, &req->chain, 1, req->iov, VBLK_MAX_IOV);
        if (rc <= 0) {
            put_free(vq, req);
            if (rc < 0)
                pop_failed(vq, rc);
            break;
        }
        handle_chain(vq, req);
        work++;
        if (vq->broken || vq->wait_head)
            break;
    }
    flush_used(vq);
    return work;
}

static bool queue_arm(void *arg, bool enable)
{
    struct vblk_queue *vq = arg;
    if (!vq->running || vq->stopping || vq->broken)
        return false;
    if (!enable) {
        vq_enable_kicks(&vq->q->vq, false);
        return false;
    }
    if (vq->n_used) {
        flush_used(vq);
        return true;
    }
    /* Parked requests wait for the channel, which wakes the reactor itself. */
    return vq_enable_kicks(&vq->q->vq, true) && !vq->wait_head;
}

static void kick_cb(void *arg, int fd, unsigned events)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n; /* the poller does the work */
}

static void worker_start(void *arg)
{
    struct vblk_queue *vq = arg;
    struct vhu_queue *q = vq->q;
    __atomic_store_n(&vq->running, true, __ATOMIC_RELAXED);
    vq->stopping = false;
    vq->broken = false;
    vq->n_used = 0;
    int rc = kk_poller_register(vq->worker, queue_poll, vq, 0, &vq->poller);
    if (rc == 0 && q->kick_fd >= 0) {
        rc = kk_fd_watch_add(vq->worker, q->kick_fd, KK_FD_READ, kick_cb, vq, &vq->kick_watch);
        if (rc == 0)
            kk_poller_set_arm(vq->poller, queue_arm);
    }
    if (rc < 0) {
        raise_fault(vq, "no memory to start the queue");
        sync_signal(vq);
        return;
    }
    vq_enable_kicks(&q->vq, false); /* we poll while there is work */
    /* Requests an earlier target took and never completed, in order. */
    for (;;) {
        struct vblk_req *req = take_free(vq);
        if (!req)
            break;
        rc = vhu_queue_resubmit(q, &req->chain, 1, req->iov, VBLK_MAX_IOV);
        if (rc <= 0) {
            put_free(vq, req);
            if (rc < 0)
                pop_failed(vq, rc);
            break;
        }
        STAT_INC(vq->st.resubmitted);
        handle_chain(vq, req);
    }
    if (vq->st.resubmitted)
        KK_LOGD(vblk_log, "%s: queue %u: %llu requests resubmitted so far", vq->t->path,
                vq->index, (unsigned long long)vq->st.resubmitted);
    sync_signal(vq);
}

static void finish_stop(struct vblk_queue *vq)
{
    flush_used(vq);
    kk_poller_unregister(vq->poller);
    vq->poller = NULL;
    __atomic_store_n(&vq->running, false, __ATOMIC_RELAXED);
    vq->stopping = false;
    vq->q = NULL;
    sync_signal(vq);
}

static void worker_stop(void *arg)
{
    struct vblk_queue *vq = arg;
    if (vq->kick_watch) {
        kk_fd_watch_remove(vq->kick_watch);
        vq->kick_watch = NULL;
    }
    if (!vq->running) {
        sync_signal(vq);
        return;
    }
    vq->stopping = true;
    /* Requests in flight finish first (req_complete() ends the stop). */
    if (vq->outstanding == 0)
        finish_stop(vq);
}

static void worker_open_channel(void *arg)
{
    struct vblk_queue *vq = arg;
    int rc = blk_channel_open(vq->t->bdev, vq->worker, vq->t->queue_size, &vq->ch);
    if (rc < 0) {
        KK_LOGE(vblk_log, "%s: queue %u: bdev channel: %s", vq->t->path, vq->index,
                kk_strerror(rc));
        vq->ch = NULL;
    }
    sync_signal(vq);
}

static void worker_close_channel(void *arg)
{
    struct vblk_queue *vq = arg;
    if (vq->wait_parked)
        blk_io_wait_cancel(vq->ch, &vq->io_wait);
    vq->wait_parked = false;
    if (vq->ch && blk_channel_close(vq->ch) < 0)
        KK_LOGE(vblk_log, "%s: queue %u: channel still busy at close", vq->t->path, vq->index);
    vq->ch = NULL;
    sync_signal(vq);
}

/* ---- vhu_dev callbacks (control thread) ------------------------------------ */

static uint32_t sectors_limit(uint32_t bytes)
{
    uint32_t s = bytes ? bytes >> VIRTIO_BLK_SECTOR_SHIFT : 0;
    return s == 0 || s > (1u << 22) ? 1u << 22 : s; /* 2 GiB per range at most */
}

static void fill_limits(struct vblk_target *t, uint64_t features, struct vblk_limits *l)
{
    *l = (struct vblk_limits){
        .capacity = __atomic_load_n(&t->capacity, __ATOMIC_RELAXED),
        .block_size = t->info.block_size < VIRTIO_BLK_SECTOR_SIZE ? VIRTIO_BLK_SECTOR_SIZE
                                                                   : t->info.block_size,
        .max_transfer = t->info.max_transfer,
        .max_iov = BLK_MAX_IOV < VBLK_MAX_IOV ? BLK_MAX_IOV : VBLK_MAX_IOV,
        .max_discard_sectors = sectors_limit(t->info.max_unmap),
        .max_write_zeroes_sectors = sectors_limit(t->info.max_unmap),
        .max_discard_seg = VBLK_MAX_RANGES,
        .max_write_zeroes_seg = VBLK_MAX_RANGES,
        .read_only = t->read_only,
        .discard = features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD),
        .write_zeroes = features & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES),
    };
}

static void queue_start(void *ctx, struct vhu_queue *q)
{
    struct vblk_target *t = ctx;
    struct vblk_queue *vq = &t->queues[q->index];
    if (!vq->ch) {
        vhu_dev_fail(t->dev, "no bdev channel for the queue");
        return;
    }
    vq->q = q;
    vq->features = t->features;
    fill_limits(t, t->features, &vq->lim);
    run_on_worker(vq, worker_start, "the queue to start");
}

static void queue_stop(void *ctx, struct vhu_queue *q)
{
    struct vblk_target *t = ctx;
    struct vblk_queue *vq = &t->queues[q->index];
    if (!vq->q)
        return;
    run_on_worker(vq, worker_stop, "requests in flight to finish");
    vq->q = NULL;
    /* A fault raised by this connection's queue is moot now. */
    __atomic_store_n(&vq->fault, 0, __ATOMIC_RELEASE);
}

/* The largest segment we announce (VIRTIO_BLK_F_SIZE_MAX) for a bdev with a
 * transfer limit: seg_max segments of it stay within max_transfer, so the
 * guest's block layer splits its requests before they would be refused.
 * Page multiples, at least a page; 0 (not offered) without a limit. */
static uint32_t size_max(const struct vblk_target *t)
{
    if (!t->info.max_transfer)
        return 0;
    uint32_t m = (t->info.max_transfer / VBLK_SEG_MAX) & ~4095u;
    return m < 4096 ? 4096 : m;
}

static void make_config(const struct vblk_target *t, struct virtio_blk_config *c)
{
    uint32_t bs = t->info.block_size < VIRTIO_BLK_SECTOR_SIZE ? VIRTIO_BLK_SECTOR_SIZE
                                                               : t->info.block_size;
    memset(c, 0, sizeof(*c));
    c->capacity = __atomic_load_n(&t->capacity, __ATOMIC_RELAXED);
    c->seg_max = VBLK_SEG_MAX;
    c->size_max = size_max(t);
    c->blk_size = bs;
    uint32_t opt = t->info.optimal_io > bs ? t->info.optimal_io : bs;
    c->min_io_size = 1;
    c->opt_io_size = opt / bs;
    c->writeback = __atomic_load_n(&t->writeback, __ATOMIC_RELAXED);
    c->num_queues = t->num_queues;
    c->max_discard_sectors = sectors_limit(t->info.max_unmap);
    c->max_discard_seg = VBLK_MAX_RANGES;
    c->discard_sector_alignment = bs >> VIRTIO_BLK_SECTOR_SHIFT;
    c->max_write_zeroes_sectors = sectors_limit(t->info.max_unmap);
    c->max_write_zeroes_seg = VBLK_MAX_RANGES;
    c->write_zeroes_may_unmap = t->info.can_unmap;
}

static int get_config(void *ctx, uint8_t *buf, uint32_t offset, uint32_t len)
{
    struct vblk_target *t = ctx;
    uint8_t space[VHU_CONFIG_MAX] = {0};
    struct virtio_blk_config c;
    make_config(t, &c);
    memcpy(space, &c, sizeof(c));
    if (offset > sizeof(space) || len > sizeof(space) - offset)
        return -EINVAL;
    memcpy(buf, space + offset, len);
    return 0;
}

static int set_config(void *ctx, const uint8_t *buf, uint32_t offset, uint32_t len,
                      uint32_t flags)
{
    struct vblk_target *t = ctx;
    /* Only the cache mode is writable, and only with CONFIG_WCE. */
    if (offset != offsetof(struct virtio_blk_config, writeback) || len != 1 || buf[0] > 1 ||
        !(t->features & VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE))) {
        KK_LOGW(vblk_log, "%s: SET_CONFIG of [%u, +%u) refused: only writeback (offset 32, "
                          "1 byte, 0 or 1) is writable, with CONFIG_WCE",
                t->path, offset, len);
        return -EINVAL;
    }
    __atomic_store_n(&t->writeback, buf[0], __ATOMIC_RELAXED);
    KK_LOGI(vblk_log, "%s: guest switched to write-%s", t->path, buf[0] ? "back" : "through");
    return 0;
}

/* The cache mode (writeback) outlives connections: a frontend that
 * reconnects does not write it again. */
static int features_set(void *ctx, uint64_t features)
{
    struct vblk_target *t = ctx;
    t->features = features;
    return 0;
}

static const struct vhu_dev_ops vblk_ops = {
    .queue_start = queue_start,
    .queue_stop = queue_stop,
    .get_config = get_config,
    .set_config = set_config,
    .features_set = features_set,
};

/* The bdev changed size: announce the new capacity (control thread). */
static void bdev_event(void *arg, struct blk_bdev *b, enum blk_event ev)
{
    struct vblk_target *t = arg;
    if (ev != BLK_EVENT_RESIZE)
        return;
    blk_bdev_get_info(b, &t->info);
    __atomic_store_n(&t->capacity, t->info.size >> VIRTIO_BLK_SECTOR_SHIFT, __ATOMIC_RELAXED);
    t->resizes++;
    int rc = vhu_dev_config_changed(t->dev);
    KK_LOGI(vblk_log, "%s: bdev %s resized to %llu bytes%s%s", t->path, t->bdev_name,
            (unsigned long long)t->info.size,
            rc == 0 ? "; guest notified" : rc == -ENOTCONN ? "" : "; guest NOT notified: ",
            rc == 0 || rc == -ENOTCONN ? "" : kk_strerror(rc));
}

/* ---- life cycle ------------------------------------------------------------- */

static void target_free(struct vblk_target *t)
{
    for (uint16_t i = 0; i < t->num_queues; i++) {
        struct vblk_queue *vq = &t->queues[i];
        if (vq->ch)
            run_on_worker(vq, worker_close_channel, "the channel to close");
        if (vq->sync_fd >= 0)
            close(vq->sync_fd);
        free(vq->reqs);
        free(vq->iov_pool);
        free(vq->used);
    }
    if (t->fault_watch)
        kk_fd_watch_remove(t->fault_watch);
    if (t->fault_fd >= 0)
        close(t->fault_fd);
    if (t->bdev) {
        blk_bdev_remove_listener(t->bdev, &t->listener);
        blk_bdev_close(t->bdev);
    }
    free(t);
}

int vblk_target_create(struct kk_reactor *ctrl, struct kk_reactor *const *workers,
                       unsigned n_workers, const struct vblk_opts *opts,
                       struct vblk_target **out)
{
    if (!ctrl || !workers || n_workers == 0 || !opts || !out || !opts->path || !opts->bdev ||
        strlen(opts->path) >= sizeof(((struct vblk_target *)0)->path) ||
        opts->queue_size > VIRTQ_MAX_SIZE)
        return -EINVAL;
    for (unsigned i = 0; i < n_workers; i++) {
        if (!workers[i] || workers[i] == ctrl)
            return -EINVAL; /* the control thread waits on workers */
    }
    uint16_t nq = opts->num_queues ? opts->num_queues : (uint16_t)KK_MIN(n_workers, 64u);
    if (nq > VHU_MAX_QUEUES)
        return -EINVAL;
    struct vblk_target *t = calloc(1, sizeof(*t) + nq * sizeof(struct vblk_queue));
    if (!t)
        return -ENOMEM;
    t->ctrl = ctrl;
    t->num_queues = nq;
    t->queue_size = opts->queue_size ? opts->queue_size : VBLK_DEFAULT_QUEUE_SIZE;
    t->client = opts->client;
    t->fault_fd = -1;
    t->writeback = 1;
    snprintf(t->path, sizeof(t->path), "%s", opts->path);
    snprintf(t->bdev_name, sizeof(t->bdev_name), "%s", opts->bdev);
    /* GET_ID: up to 20 bytes, zero-padded, not NUL-terminated when full. */
    const char *serial = opts->serial ? opts->serial : opts->bdev;
    memcpy(t->serial, serial, KK_MIN(strlen(serial), sizeof(t->serial)));
    for (uint16_t i = 0; i < nq; i++) {
        t->queues[i].sync_fd = -1;
        t->queues[i].t = t;
        t->queues[i].index = i;
        t->queues[i].worker = workers[i % n_workers];
    }
    int rc = blk_bdev_open(opts->bdev, !opts->read_only, &t->bdev);
    if (rc < 0) {
        KK_LOGE(vblk_log, "%s: bdev %s: %s", t->path, opts->bdev, kk_strerror(rc));
        t->bdev = NULL;
        target_free(t);
        return rc;
    }
    blk_bdev_get_info(t->bdev, &t->info);
    if (t->info.block_size > 65536 || (t->info.block_size > 1 &&
                                       (t->info.block_size % VIRTIO_BLK_SECTOR_SIZE ||
                                        !kk_is_power_of_2(t->info.block_size)))) {
        KK_LOGE(vblk_log, "%s: bdev %s has a %u-byte block: virtio-blk needs a power of two "
                          "of at least 512",
                t->path, opts->bdev, t->info.block_size);
        target_free(t);
        return -EINVAL;
    }
    t->read_only = opts->read_only || t->info.read_only;
    t->capacity = t->info.size >> VIRTIO_BLK_SECTOR_SHIFT;
    t->listener = (struct blk_listener){.fn = bdev_event, .arg = t};
    blk_bdev_add_listener(t->bdev, &t->listener);

    t->fault_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    rc = t->fault_fd < 0 ? kk_neg_errno() : 0;
    if (rc == 0)
        rc = kk_fd_watch_add(ctrl, t->fault_fd, KK_FD_READ, fault_cb, t, &t->fault_watch);
    for (uint16_t i = 0; rc == 0 && i < nq; i++) {
        struct vblk_queue *vq = &t->queues[i];
        vq->sync_fd = eventfd(0, EFD_CLOEXEC);
        vq->reqs = calloc(t->queue_size, sizeof(*vq->reqs));
        vq->used = calloc(t->queue_size, sizeof(*vq->used));
        /* 4 KiB of iovecs per slot, but a large allocation is mapped lazily:
         * only the slots a guest keeps busy at once cost memory. */
        vq->iov_pool = calloc((size_t)t->queue_size * VBLK_MAX_IOV, sizeof(struct iovec));
        if (vq->sync_fd < 0 || !vq->reqs || !vq->used || !vq->iov_pool) {
            rc = -ENOMEM;
            break;
        }
        for (unsigned k = 0; k < t->queue_size; k++) {
            vq->reqs[k].vq = vq;
            vq->reqs[k].iov = vq->iov_pool + (size_t)k * VBLK_MAX_IOV;
        }
        /* Lowest slots first: the free list is a stack. */
        for (unsigned k = t->queue_size; k-- > 0;)
            put_free(vq, &vq->reqs[k]);
        run_on_worker(vq, worker_open_channel, "the bdev channel to open");
        if (!vq->ch)
            rc = -EIO;
    }
    if (rc < 0) {
        target_free(t);
        return rc;
    }

    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
                        VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
                        VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE) |
                        VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    if (size_max(t))
        features |= VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX);
    if (t->read_only)
        features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    else {
        if (t->info.can_unmap)
            features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD);
        if (t->info.can_write_zeroes)
            features |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    }
    t->offered = features;
    struct vhu_dev_opts vo = {
        .path = t->path,
        .client = opts->client,
        .features = features,
        .protocol_features = VIRTIO_BIT(VHU_PROTOCOL_F_CONFIG) |
                             VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ),
        .num_queues = nq,
        .max_queue_size = t->queue_size,
        .ops = &vblk_ops,
        .ctx = t,
    };
    rc = vhu_dev_create(ctrl, &vo, &t->dev);
    if (rc < 0) {
        target_free(t);
        return rc;
    }
    KK_LOGI(vblk_log, "%s: serving bdev %s (%llu bytes, %u-byte blocks%s) on %u queues of up "
                      "to %u entries over %u workers",
            t->path, t->bdev_name, (unsigned long long)t->info.size, t->info.block_size,
            t->read_only ? ", read-only" : "", nq, t->queue_size, n_workers);
    *out = t;
    return 0;
}

void vblk_target_destroy(struct vblk_target *t)
{
    if (!t)
        return;
    /* Stops every queue (waiting for requests in flight) and disconnects. */
    vhu_dev_destroy(t->dev);
    t->dev = NULL;
    target_free(t);
}

json_t *vblk_target_to_json(const struct vblk_target *t)
{
    struct vhu_dev_stats ds;
    vhu_dev_get_stats(t->dev, &ds);
    json_t *qs = json_array();
    for (uint16_t i = 0; i < t->num_queues; i++) {
        const struct vblk_queue *vq = &t->queues[i];
        struct vblk_queue_stats s;
        const uint64_t *src = (const uint64_t *)&vq->st;
        uint64_t *dst = (uint64_t *)&s;
        for (size_t k = 0; k < sizeof(s) / sizeof(uint64_t); k++)
            dst[k] = __atomic_load_n(&src[k], __ATOMIC_RELAXED);
        json_array_append_new(
            qs, json_pack("{s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                          "index", i, "worker", kk_reactor_name(vq->worker), "running",
                          __atomic_load_n(&vq->running, __ATOMIC_RELAXED), "requests",
                          (json_int_t)s.requests, "reads", (json_int_t)s.reads, "writes",
                          (json_int_t)s.writes, "flushes", (json_int_t)s.flushes, "discards",
                          (json_int_t)s.discards, "write_zeroes", (json_int_t)s.write_zeroes,
                          "get_ids", (json_int_t)s.get_ids, "errors", (json_int_t)s.errors,
                          "unsupported", (json_int_t)s.unsupported, "resubmitted",
                          (json_int_t)s.resubmitted, "channel_full", (json_int_t)s.nomem));
    }
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:i, s:i, s:I, s:I, s:b, s:I, s:I, s:I, s:I, "
                     "s:I, s:o}",
                     "socket", t->path, "bdev", t->bdev_name, "mode",
                     t->client ? "client" : "server", "connected", vhu_dev_connected(t->dev),
                     "read_only", t->read_only, "num_queues", t->num_queues, "queue_size",
                     t->queue_size, "offered_features", (json_int_t)t->offered,
                     "features", (json_int_t)t->features, "writeback",
                     __atomic_load_n(&t->writeback, __ATOMIC_RELAXED) != 0, "capacity_sectors",
                     (json_int_t)__atomic_load_n(&t->capacity, __ATOMIC_RELAXED), "connections",
                     (json_int_t)ds.connections, "disconnects", (json_int_t)ds.disconnects,
                     "queue_faults", (json_int_t)ds.queue_faults, "resizes",
                     (json_int_t)t->resizes, "queues", qs);
}
