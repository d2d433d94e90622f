/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user: a virtio-net device served to a VM (QEMU) or to DPDK's
 * virtio-user over lib/virtio. "vhost-user:path=SOCK[,server=1][,queues=N]"
 * (server=0: connect to a listening frontend, reconnecting).
 *
 * Queue pair i is virtqueues 2i (the guest's receive queue: our tx) and
 * 2i+1 (the guest's transmit queue: our rx); each pair is driven by
 * whichever worker polls port queue i. The vhost-user conversation runs on
 * a control thread of the port's own; a queue the frontend stops or moves
 * (memory table change, reconnect) is quiesced first: the control thread
 * waits until no worker is inside a burst on it.
 *
 * Frames are copied between guest buffers and packet buffers (guest
 * buffers go back to the guest at the end of each burst). With borrowing
 * on (pkt_port_set_rx_borrow()), a received frame of BORROW_MIN bytes or
 * more is copied only up to BORROW_HEAD bytes (its headers, which the
 * switch reads and may rewrite, so a guest cannot change them under it);
 * the rest stays in the guest's buffer as a borrowed segment, and the
 * burst's guest buffers go back at pkt_port_rx_done(), when the payload has
 * been copied once, straight to its destination. The queue stays "busy"
 * until then, so a stop (memory unmap) waits for it. Offered: VERSION_1,
 * MQ, MAC, STATUS; no checksum or segmentation offloads yet, so a guest
 * sends complete frames; frames for the guest with a partial checksum get
 * it completed here, and segmentation-offload frames are refused (counted
 * as tx errors).
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kk_err.h"
#include "kk_log.h"
#include "kk_reactor.h"
#include "port_internal.h"
#include "vhu.h"

KK_LOG_COMPONENT_DECLARE(pkt_log);

#define HDR sizeof(struct virtio_net_hdr)
#define MAX_IOV_PER_CHAIN 8
#define VHOST_BURST 64
#define PREFETCH_MAX 2048 /* bytes of the next frame loaded ahead */
#define BORROW_MIN 512    /* frames shorter than this are copied whole */
#define BORROW_HEAD 128   /* bytes of a borrowed frame copied (its headers) */

struct vq_slot {
    struct vhu_queue *q;      /* valid while running */
    uint64_t features;        /* negotiated, as of the queue's start */
    int running;              /* atomic: the worker may use q */
    int busy;                 /* atomic: a worker is inside a burst */
    /* Guest TX queues with borrowing: a burst whose buffers are lent out
     * until pkt_port_rx_done() (the worker's alone). */
    uint32_t tag;             /* stamped into the segments lent from here */
    bool held;                /* such a burst is open: busy stays 1 */
    uint16_t n_lent, n_pending;
    struct pkt_buf *lent[VHOST_BURST];
    struct vq_used pending[VHOST_BURST];
};

struct vhost_port {
    struct kk_reactor *reactor;  /* the control thread's */
    int wake[PKT_PORT_MAX_QUEUES];               /* eventfd per queue pair (stable) */
    struct kk_fd_watch *kick_watch[PKT_PORT_MAX_QUEUES];
    struct vhu_dev *dev;
    uint16_t pairs;
    char path[108];
    struct vq_slot slots[PKT_PORT_MAX_QUEUES * 2];
};

/* ---- control thread ------------------------------------------------------------ */

/* A guest kick (only while a sleeping worker asked for them): wake it. */
static void kick_cb(void *arg, int fd, unsigned events)
{
    int *wake = arg;
    uint64_t x;
    ssize_t r = read(fd, &x, sizeof(x));
    (void)r;
    x = 1;
    r = write(*wake, &x, sizeof(x));
    (void)r;
}

static void queue_start(void *ctx, struct vhu_queue *q)
{
    struct vhost_port *v = ctx;
    struct vq_slot *s = &v->slots[q->index];
    uint16_t pair = q->index / 2;
    if (q->index % 2 == 1 && q->kick_fd >= 0)
        kk_fd_watch_add(v->reactor, q->kick_fd, KK_FD_READ, kick_cb, &v->wake[pair],
                        &v->kick_watch[pair]);
    s->q = q;
    s->features = vhu_dev_features(v->dev);
    /* We poll: no kicks wanted (a sleeping worker arms them). */
    vq_enable_kicks(&q->vq, false);
    __atomic_store_n(&s->running, 1, __ATOMIC_RELEASE);
    /* Nudge a worker that went to sleep before the queue existed. */
    uint64_t one = 1;
    ssize_t r = write(v->wake[pair], &one, sizeof(one));
    (void)r;
}

/*
 * Entering a burst (slot_enter) is a Dekker handshake with queue_stop: the
 * worker stores busy = 1 then loads running; the control thread stores
 * running = 0 then loads busy. Each side needs its store ordered before its
 * load. With expedited private membarrier() (Linux 4.14+), the control
 * thread's side pays for both: after its store it makes every thread of
 * the process run a full barrier, so either a worker's busy = 1 is visible
 * to it afterwards or that worker's load of running comes after the
 * barrier and sees 0. The worker then needs only a compiler barrier, not
 * a locked instruction per burst. Without membarrier both sides fence.
 */
static bool fast_enter; /* set once, before any port exists */

static void fast_enter_init(void)
{
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
        fast_enter = true;
}

static void queue_stop(void *ctx, struct vhu_queue *q)
{
    struct vhost_port *v = ctx;
    struct vq_slot *s = &v->slots[q->index];
    if (q->index % 2 == 1 && v->kick_watch[q->index / 2]) {
        kk_fd_watch_remove(v->kick_watch[q->index / 2]);
        v->kick_watch[q->index / 2] = NULL;
    }
    __atomic_store_n(&s->running, 0, __ATOMIC_SEQ_CST);
    if (fast_enter && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        /* Registered, so this cannot fail; if it did, workers' stores
         * might not be visible yet: wait for every one to pass a quiescent
         * point the slow way. */
        KK_LOGE(pkt_log, "vhost-user %s: membarrier failed: %s", v->path, strerror(errno));
        abort();
    }
    /* A worker that saw running == 1 is inside its burst: let it finish. */
    while (__atomic_load_n(&s->busy, __ATOMIC_SEQ_CST))
        sched_yield();
    s->q = NULL;
}

static const struct vhu_dev_ops vhost_ops = {
    .queue_start = queue_start,
    .queue_stop = queue_stop,
};

/* Enter / leave a burst on a slot; enter returns the queue or NULL. */
static inline struct vhu_queue *slot_enter(struct vq_slot *s)
{
    if (kk_likely(fast_enter)) {
        /* queue_stop's membarrier orders this store before the load. */
        __atomic_store_n(&s->busy, 1, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (kk_unlikely(!__atomic_load_n(&s->running, __ATOMIC_ACQUIRE))) {
            __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
            return NULL;
        }
        return s->q;
    }
    __atomic_store_n(&s->busy, 1, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&s->running, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
        return NULL;
    }
    return s->q;
}

static inline void slot_leave(struct vq_slot *s)
{
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
}

static int vhost_open(struct pkt_port *p, const struct pkt_spec *spec, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"path", "server", "queues", "offload", NULL};
    uint64_t server, queues, offload;
    int rc = pkt_spec_check_keys(spec, keys, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "offload", 1, 0, 1, &offload, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "server", 1, 0, 1, &server, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "queues", 1, 1, PKT_PORT_MAX_QUEUES, &queues, err,
                               errlen);
    if (rc < 0)
        return rc;
    const char *path = pkt_spec_get(spec, "path");
    if (!path || !path[0] || strlen(path) >= 108) {
        snprintf(err, errlen, "vhost-user: path=SOCKET (under 108 characters) is required");
        return -EINVAL;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fast_enter_init);
    struct vhost_port *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->pairs = (uint16_t)queues;
    snprintf(v->path, sizeof(v->path), "%s", path);
    for (unsigned i = 0; i < PKT_PORT_MAX_QUEUES; i++)
        v->wake[i] = -1;
    static uint32_t next_tag = 1;
    for (unsigned i = 0; i < KK_ARRAY_SIZE(v->slots); i++)
        v->slots[i].tag = __atomic_fetch_add(&next_tag, 1, __ATOMIC_RELAXED);
    for (uint16_t i = 0; i < v->pairs; i++) {
        v->wake[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (v->wake[i] < 0) {
            rc = kk_neg_errno();
            for (uint16_t k = 0; k < i; k++)
                close(v->wake[k]);
            free(v);
            return rc;
        }
    }
    struct kk_reactor_opts ro;
    kk_reactor_opts_init(&ro);
    ro.name = "vhost-ctl";
    rc = kk_reactor_create(&ro, &v->reactor);
    if (rc < 0) {
        for (uint16_t i = 0; i < v->pairs; i++)
            close(v->wake[i]);
        free(v);
        return rc;
    }
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
                        VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    if (offload)
        features |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
    if (v->pairs > 1)
        features |= VIRTIO_BIT(VIRTIO_NET_F_MQ);
    struct vhu_dev_opts o = {.path = v->path, .client = !server, .features = features,
                             .num_queues = (uint16_t)(v->pairs * 2),
                             .queue_num_reply = v->pairs, .ops = &vhost_ops, .ctx = v};
    rc = vhu_dev_create(v->reactor, &o, &v->dev);
    if (rc == 0)
        rc = kk_reactor_spawn(v->reactor, -1);
    if (rc < 0) {
        snprintf(err, errlen, "vhost-user: %s: %s", path, kk_strerror(rc));
        vhu_dev_destroy(v->dev);
        kk_reactor_destroy(v->reactor);
        for (uint16_t i = 0; i < v->pairs; i++)
            close(v->wake[i]);
        free(v);
        return rc;
    }
    p->n_rxq = p->n_txq = v->pairs;
    p->caps = PKT_PORT_CAP_MULTI_SEG | PKT_PORT_CAP_RX_FD |
              (offload ? PKT_PORT_CAP_CSUM_OFFLOAD | PKT_PORT_CAP_GSO : 0);
    p->priv = v;
    return 0;
}

static void destroy_dev(void *arg)
{
    struct vhost_port *v = arg;
    vhu_dev_destroy(v->dev);
    v->dev = NULL;
    kk_reactor_stop(v->reactor);
}

static void vhost_close(struct pkt_port *p)
{
    struct vhost_port *v = p->priv;
    /* The device lives on the control thread: destroy it there. */
    if (kk_reactor_send(v->reactor, destroy_dev, v) == 0)
        kk_reactor_join(v->reactor);
    else
        kk_reactor_stop(v->reactor);
    kk_reactor_destroy(v->reactor);
    for (uint16_t i = 0; i < v->pairs; i++)
        close(v->wake[i]);
    free(v);
}

static int vhost_rx_fd(struct pkt_port *p, uint16_t q)
{
    return ((struct vhost_port *)p->priv)->wake[q];
}

static void finish_borrow(struct vq_slot *s);

/* Ask the guest for kicks on its transmit queue while the worker sleeps. */
static bool vhost_rx_arm(struct pkt_port *p, uint16_t qid, bool enable)
{
    struct vhost_port *v = p->priv;
    struct vq_slot *s = &v->slots[qid * 2 + 1];
    if (!enable) {
        uint64_t x;
        ssize_t r = read(v->wake[qid], &x, sizeof(x)); /* drain */
        (void)r;
    }
    if (s->held)
        finish_borrow(s); /* before sleeping, whatever the caller forgot */
    struct vhu_queue *q = slot_enter(s);
    if (!q)
        return false;
    bool pending = vq_enable_kicks(&q->vq, enable);
    slot_leave(s);
    return pending;
}

static bool vhost_link_up(struct pkt_port *p)
{
    struct vhost_port *v = p->priv;
    for (uint16_t i = 0; i < v->pairs * 2; i++) {
        if (__atomic_load_n(&v->slots[i].running, __ATOMIC_ACQUIRE))
            return true;
    }
    return false;
}

/* ---- data path -------------------------------------------------------------------- */

/* Copy the frame of a guest TX chain (after its header) into a packet. */
static struct pkt_buf *chain_to_pkt(struct pkt_port *p, const struct vq_chain *c,
                                    struct virtio_net_hdr *hdr, struct pkt_buf *head)
{
    struct pkt_buf *seg = head;
    /* The common case: header and frame in one guest buffer, frame fits. */
    if (c->iov[0].iov_len == c->readable_len && c->readable_len - HDR <= pkt_tailroom(head)) {
        const uint8_t *src = c->iov[0].iov_base;
        uint32_t len = (uint32_t)(c->readable_len - HDR);
        memcpy(hdr, src, HDR);
        memcpy(pkt_data(head), src + HDR, len);
        head->data_len = head->pkt_len = len;
        return head;
    }
    size_t skip = HDR, got_hdr = 0;
    for (unsigned i = 0; i < c->n_readable; i++) {
        const uint8_t *src = c->iov[i].iov_base;
        size_t len = c->iov[i].iov_len;
        if (got_hdr < HDR) {
            size_t k = KK_MIN(len, HDR - got_hdr);
            memcpy((uint8_t *)hdr + got_hdr, src, k);
            got_hdr += k;
        }
        if (skip >= len) {
            skip -= len;
            continue;
        }
        src += skip;
        len -= skip;
        skip = 0;
        while (len > 0) {
            uint32_t room = pkt_tailroom(seg);
            if (room == 0) {
                struct pkt_buf *n = pkt_alloc(p->pool);
                if (!n) {
                    pkt_free(head);
                    return NULL;
                }
                n->data_off = 0;
                seg->next = n;
                seg = n;
                head->nb_segs++;
                room = pkt_tailroom(seg);
            }
            uint32_t k = (uint32_t)KK_MIN((size_t)room, len);
            memcpy(pkt_data(seg) + seg->data_len, src, k);
            seg->data_len += k;
            head->pkt_len += k;
            src += k;
            len -= k;
        }
    }
    return head;
}

/*
 * Start loading the next guest frame while this one is copied: it was just
 * written on another CPU, and its lines come from that CPU's cache; asking
 * for all of them at once overlaps the transfers.
 */
static inline void prefetch_frame(const struct vq_chain *c, size_t budget)
{
    for (unsigned i = 0; i < c->n_readable && i < 2 && budget; i++) {
        const uint8_t *p = c->iov[i].iov_base;
        size_t len = KK_MIN(c->iov[i].iov_len, budget);
        for (size_t off = 0; off < len; off += 64)
            __builtin_prefetch(p + off);
        budget -= len;
    }
}

/* The same for the guest buffer the next frame goes to, for writing. */
static inline void prefetch_dest(const struct vq_chain *c, size_t len)
{
    const struct iovec *w = &c->iov[c->n_readable];
    if (c->n_writable == 0)
        return;
    uint8_t *p = w->iov_base;
    len = KK_MIN(KK_MIN(len, w->iov_len), (size_t)PREFETCH_MAX);
    for (size_t off = 0; off < len; off += 64)
        __builtin_prefetch(p + off, 1);
}

/*
 * A borrowed frame: the first BORROW_HEAD bytes of the frame at @src
 * (@len bytes, after the virtio-net header) into @head, the rest lent as a
 * second segment @t.
 */
static void borrow_frame(struct vq_slot *s, const uint8_t *src, uint32_t len,
                         struct pkt_buf *head, struct pkt_buf *t)
{
    memcpy(pkt_data(head), src, BORROW_HEAD);
    head->data_len = BORROW_HEAD;
    head->pkt_len = len;
    head->nb_segs = 2;
    head->next = t;
    t->base = (uint8_t *)(uintptr_t)(src + BORROW_HEAD);
    t->data_off = 0;
    t->data_len = t->buf_size = len - BORROW_HEAD;
    t->flags = PKT_F_BORROWED;
    t->borrow_tag = s->tag;
    s->lent[s->n_lent++] = t;
}

/*
 * Close @s's open borrowing burst: segments still lent get their data
 * copied (whoever holds them keeps valid packets), then the guest buffers
 * go back and the queue may be stopped.
 */
static void finish_borrow(struct vq_slot *s)
{
    for (unsigned i = 0; i < s->n_lent; i++) {
        struct pkt_buf *t = s->lent[i];
        /* Freed ones are ordinary buffers again (perhaps reused, then with
         * another tag or none). */
        if ((t->flags & PKT_F_BORROWED) && t->borrow_tag == s->tag)
            pkt_unborrow(t);
    }
    vhu_queue_push(s->q, s->pending, s->n_pending);
    vhu_queue_notify(s->q);
    s->n_lent = s->n_pending = 0;
    s->held = false;
    slot_leave(s);
}

static void vhost_rx_done(struct pkt_port *p, uint16_t qid)
{
    struct vhost_port *v = p->priv;
    struct vq_slot *s = &v->slots[qid * 2 + 1];
    if (s->held)
        finish_borrow(s);
}

static uint16_t vhost_rx(struct pkt_port *p, uint16_t qid, struct pkt_buf **bufs, uint16_t n)
{
    struct vhost_port *v = p->priv;
    struct vq_slot *s = &v->slots[qid * 2 + 1];
    if (kk_unlikely(s->held))
        finish_borrow(s); /* the caller skipped pkt_port_rx_done() */
    struct vhu_queue *q = slot_enter(s);
    if (!q)
        return 0;
    bool borrow = p->rx_borrow;
    uint32_t lend_max = p->pool->obj_size - (uint32_t)PKT_BUF_HDR_SIZE;
    struct vq_chain chains[VHOST_BURST];
    struct iovec iov[VHOST_BURST * MAX_IOV_PER_CHAIN];
    int got = vhu_queue_pop(q, chains, KK_MIN(n, (uint16_t)VHOST_BURST), iov,
                            VHOST_BURST * MAX_IOV_PER_CHAIN);
    if (got < 0) {
        vhu_dev_fail(v->dev, got == -ENOBUFS ? "a TX chain needs too many iovecs"
                                             : vq_broken_reason(&q->vq));
        pkt_stats_error(&p->rx[qid], 1);
        slot_leave(s);
        return 0;
    }
    struct vq_used used[VHOST_BURST];
    uint16_t out = 0;
    uint64_t bytes = 0;
    /* Buffers for the whole burst at once (spares go back at the end). */
    struct pkt_buf *fresh[VHOST_BURST * 2];
    unsigned n_fresh = 0, next_fresh = 0;
    /* Borrowing, a burst that starts with a large frame likely is all
     * large frames: a second buffer each, for the lent payloads. */
    if (borrow && got > 0 && chains[0].readable_len < HDR + BORROW_MIN)
        borrow = false;
    unsigned want = (unsigned)got * (borrow ? 2 : 1);
    if (got > 0 && pkt_alloc_bulk(p->pool, fresh, want) == 0)
        n_fresh = want;
    for (int i = 0; i < got; i++) {
        const struct vq_chain *c = &chains[i];
        if (i + 1 < got)
            prefetch_frame(&chains[i + 1], borrow ? HDR + BORROW_HEAD : PREFETCH_MAX);
        used[i] = (struct vq_used){.id = c->id, .desc_count = c->desc_count};
        if (c->readable_len < HDR + 14) {
            pkt_stats_error(&p->rx[qid], 1);
            continue;
        }
        struct virtio_net_hdr hdr;
        struct pkt_buf *head = next_fresh < n_fresh ? fresh[next_fresh++] : pkt_alloc(p->pool);
        struct pkt_buf *b = NULL;
        if (borrow && head && next_fresh < n_fresh && c->iov[0].iov_len == c->readable_len &&
            c->readable_len >= HDR + BORROW_MIN &&
            c->readable_len - HDR - BORROW_HEAD <= lend_max) {
            /* The frame in one guest buffer: lend all past its headers,
             * unless its header asks for offloads (those write into it). */
            const uint8_t *src = c->iov[0].iov_base;
            memcpy(&hdr, src, HDR);
            if (hdr.flags == 0 && hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
                borrow_frame(s, src + HDR, (uint32_t)(c->readable_len - HDR), head,
                             fresh[next_fresh++]);
                b = head;
            }
        }
        if (!b && head)
            b = chain_to_pkt(p, c, &hdr, head);
        if (!b) {
            pkt_stats_drop(&p->rx[qid], 1);
            continue;
        }
        if (pkt_vnet_hdr_apply(b, &hdr) < 0) {
            KK_LOGW_RL(pkt_log, "vhost-user %s: frame with a bad virtio-net header dropped",
                       v->path);
            pkt_stats_error(&p->rx[qid], 1);
            pkt_free(b);
            continue;
        }
        b->port = p->id;
        bytes += b->pkt_len;
        bufs[out++] = b;
    }
    if (next_fresh < n_fresh)
        pkt_free_bulk(fresh + next_fresh, n_fresh - next_fresh);
    if (s->n_lent && out == 0) {
        /* Every lent frame was dropped (freed): nothing is held. */
        s->n_lent = 0;
    }
    if (s->n_lent) {
        /* The guest gets these buffers back at pkt_port_rx_done(); until
         * then the queue stays busy (it cannot be stopped, nor its memory
         * unmapped). */
        memcpy(s->pending, used, (size_t)got * sizeof(used[0]));
        s->n_pending = (uint16_t)got;
        s->held = true;
    } else {
        if (got > 0) {
            vhu_queue_push(q, used, (unsigned)got);
            vhu_queue_notify(q);
        }
        slot_leave(s);
    }
    if (out)
        pkt_stats_add(&p->rx[qid], out, bytes);
    return out;
}

/* Finish a partial checksum (the field holds the pseudo-header sum, as
 * virtio and Linux leave it). */
static void complete_csum(uint8_t *frame, uint32_t len, uint16_t start, uint16_t offset)
{
    uint32_t sum = 0;
    for (uint32_t i = start; i + 1 < len; i += 2)
        sum += (uint32_t)(frame[i] << 8 | frame[i + 1]);
    if ((len - start) & 1)
        sum += (uint32_t)frame[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    frame[start + offset] = (uint8_t)(c >> 8);
    frame[start + offset + 1] = (uint8_t)c;
}

/*
 * The virtio-net header for @b as the guest negotiated it: a partial
 * checksum is passed on (GUEST_CSUM) or finished here; segmentation is
 * passed on (GUEST_TSO4/6) or refused (returns false).
 */
static bool guest_header(struct pkt_buf *b, uint64_t features, struct virtio_net_hdr *h)
{
    if ((b->ol_flags & PKT_OL_GSO) &&
        !(features & VIRTIO_BIT(b->gso_type == PKT_GSO_TCPV6 ? VIRTIO_NET_F_GUEST_TSO6
                                                               : VIRTIO_NET_F_GUEST_TSO4)))
        return false;
    if ((b->ol_flags & PKT_OL_CSUM_PARTIAL) && !(features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM))) {
        if (b->next || (uint32_t)b->csum_start + b->csum_offset + 2 > b->data_len)
            return false;
        complete_csum(pkt_data(b), b->data_len, b->csum_start, b->csum_offset);
        b->ol_flags = (uint16_t)((b->ol_flags & ~PKT_OL_CSUM_PARTIAL) | PKT_OL_CSUM_VALID);
    }
    pkt_vnet_hdr_make(b, h);
    return true;
}

/*
 * Scatter header and packet over the writable parts of @k chains (one
 * unless the guest takes mergeable buffers); @lens gets the bytes written
 * into each. The caller checked they have room.
 */
static void scatter(const struct vq_chain *chains, unsigned k, const struct virtio_net_hdr *hdr,
                    const struct pkt_buf *b, uint32_t *lens)
{
    const struct iovec *w0 = &chains[0].iov[chains[0].n_readable];
    if (k == 1 && w0->iov_len >= HDR + b->pkt_len) {
        /* The common case: one guest buffer (segments one after the
         * other: a borrowed payload goes straight from guest to guest). */
        uint8_t *d = w0->iov_base;
        uint32_t room = b->pkt_len;
        memcpy(d, hdr, HDR);
        d += HDR;
        for (const struct pkt_buf *seg = b; seg && room; seg = seg->next) {
            uint32_t len = KK_MIN(seg->data_len, room);
            memcpy(d, pkt_data(seg), len);
            d += len;
            room -= len;
        }
        lens[0] = (uint32_t)(HDR + b->pkt_len - room);
        return;
    }
    unsigned ci = 0, wi = 0;
    size_t woff = 0;
    const uint8_t *src = (const uint8_t *)hdr;
    size_t left = HDR;
    const struct pkt_buf *seg = b;
    for (unsigned i = 0; i < k; i++)
        lens[i] = 0;
    for (;;) {
        while (left > 0) {
            const struct vq_chain *c = &chains[ci];
            const struct iovec *w = &c->iov[c->n_readable + wi];
            size_t k2 = KK_MIN(left, w->iov_len - woff);
            memcpy((uint8_t *)w->iov_base + woff, src, k2);
            woff += k2;
            src += k2;
            left -= k2;
            lens[ci] += (uint32_t)k2;
            if (woff == w->iov_len) {
                woff = 0;
                if (++wi == c->n_writable) {
                    wi = 0;
                    ci++;
                }
            }
        }
        if (!seg)
            break;
        src = pkt_data(seg);
        left = seg->data_len;
        seg = seg->next;
    }
}

/* A lent payload of the next packet, for reading (it is in the sending
 * guest's buffer, not loaded at receive). */
static inline void prefetch_lent(const struct pkt_buf *b)
{
    const struct pkt_buf *t = b->next;
    if (!t || !(t->flags & PKT_F_BORROWED))
        return;
    const uint8_t *d = pkt_data(t);
    uint32_t len = KK_MIN(t->data_len, (uint32_t)PREFETCH_MAX);
    for (uint32_t off = 0; off < len; off += 64)
        __builtin_prefetch(d + off);
}

static uint16_t vhost_tx(struct pkt_port *p, uint16_t qid, struct pkt_buf **bufs, uint16_t n)
{
    struct vhost_port *v = p->priv;
    struct vq_slot *s = &v->slots[qid * 2];
    struct vhu_queue *q = slot_enter(s);
    if (!q)
        return 0;
    uint64_t features = s->features;
    bool mrg = features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    /* What the guest cannot take (segmentation, partial checksums) is
     * finished here first: one input packet may become many. */
    struct pkt_buf *work[VHOST_BURST];
    uint16_t src[VHOST_BURST];
    bool expanded[VHOST_BURST];
    uint16_t n_work = 0, consumed = 0;
    bool guest_csum = features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
    while (consumed < n && n_work < VHOST_BURST) {
        struct pkt_buf *b = bufs[consumed];
        bool gso_ok = (b->ol_flags & PKT_OL_GSO) &&
                      (features & VIRTIO_BIT(b->gso_type == PKT_GSO_TCPV6
                                                     ? VIRTIO_NET_F_GUEST_TSO6
                                                     : VIRTIO_NET_F_GUEST_TSO4));
        bool need = (b->ol_flags & PKT_OL_GSO) ? !gso_ok
                                               : (b->ol_flags & PKT_OL_CSUM_PARTIAL) && !guest_csum;
        if (!need) {
            src[n_work] = consumed;
            expanded[n_work] = false;
            work[n_work++] = b;
            consumed++;
            continue;
        }
        if (n_work > 0 && (b->ol_flags & PKT_OL_GSO))
            break; /* a frame to segment starts the next burst */
        int ns = pkt_offload_finish(b, p->pool, work + n_work, VHOST_BURST - n_work);
        if (ns < 0)
            pkt_stats_error(&p->tx[qid], 1);
        for (int k = 0; k < ns; k++) {
            src[n_work] = consumed;
            expanded[n_work++] = true;
        }
        consumed++;
    }
    struct vq_chain chains[VHOST_BURST];
    struct iovec iov[VHOST_BURST * MAX_IOV_PER_CHAIN];
    struct vq_used used[VHOST_BURST];
    unsigned n_chains = 0, n_used = 0, iov_used = 0;
    uint16_t done = 0, ok = 0;
    uint64_t bytes = 0;
    if (!mrg) {
        /* One guest buffer per packet: take them all at once. */
        int got = vhu_queue_pop(q, chains, n_work, iov, VHOST_BURST * MAX_IOV_PER_CHAIN);
        if (got < 0) {
            vhu_dev_fail(v->dev, got == -ENOBUFS ? "an RX chain needs too many iovecs"
                                                 : vq_broken_reason(&q->vq));
            got = 0;
        }
        n_chains = (unsigned)got;
    }
    while (done < n_work) {
        struct pkt_buf *b = work[done];
        if (!mrg && n_used + 1 < n_chains && done + 1 < n_work) {
            prefetch_dest(&chains[n_used + 1], HDR + work[done + 1]->pkt_len);
            prefetch_lent(work[done + 1]);
        }
        struct virtio_net_hdr hdr;
        bool fits = guest_header(b, features, &hdr);
        uint32_t need = (uint32_t)HDR + b->pkt_len;
        unsigned first = n_used, k = 0;
        if (!mrg) {
            if (n_used == n_chains)
                break; /* no guest buffers: the caller keeps the rest */
            k = 1;
            fits = fits && chains[n_used].writable_len >= need;
        } else {
            /* As many buffers as the packet needs, taken one by one; if the
             * guest runs out midway they go back and the packet waits. */
            uint64_t room = 0;
            while (fits && room < need && n_used + k < VHOST_BURST) {
                unsigned max_iov = VHOST_BURST * MAX_IOV_PER_CHAIN - iov_used;
                int got = vhu_queue_pop(q, &chains[n_used + k], 1, iov + iov_used, max_iov);
                if (got <= 0) {
                    if (got < 0)
                        vhu_dev_fail(v->dev, vq_broken_reason(&q->vq));
                    break;
                }
                iov_used += chains[n_used + k].n_readable + chains[n_used + k].n_writable;
                room += chains[n_used + k].writable_len;
                k++;
            }
            if (fits && room < need) {
                vq_unpop(&q->vq, &chains[n_used], k);
                bool guest_out = n_used + k < VHOST_BURST;
                if (guest_out || n_used > 0)
                    break; /* the caller keeps it and the rest; try again later */
                fits = false; /* more than a burst of guest buffers: drop it */
                k = 0;
            }
            if (!fits)
                k = 0;
        }
        uint32_t lens[VHOST_BURST];
        if (fits && k > 0) {
            hdr.num_buffers = (uint16_t)k;
            scatter(&chains[first], k, &hdr, b, lens);
            for (unsigned i = 0; i < k; i++) {
                const struct vq_chain *c = &chains[first + i];
                vhu_queue_log_write(q, c->iov + c->n_readable, c->n_writable, lens[i]);
            }
            bytes += b->pkt_len;
            ok++;
        } else {
            pkt_stats_error(&p->tx[qid], 1); /* too large, or an offload the guest lacks */
            for (unsigned i = 0; i < k; i++)
                lens[i] = 0;
        }
        for (unsigned i = 0; i < k; i++)
            used[n_used + i] = (struct vq_used){.id = chains[first + i].id,
                                                .desc_count = chains[first + i].desc_count,
                                                .len = lens[i]};
        n_used += k;
        done++;
    }
    /* Every packet handled went into guest buffers (or was dropped). */
    pkt_free_bulk(work, done);
    if (!mrg && n_used < n_chains)
        vq_unpop(&q->vq, &chains[n_used], n_chains - n_used);
    /* Out of guest buffers with work left. The caller keeps a tail of its
     * array, so only input packets after the last one already turned into
     * segments (and freed) can go back; the rest is dropped. */
    int last_expanded = -1;
    for (uint16_t w = done; w < n_work; w++) {
        if (expanded[w])
            last_expanded = src[w];
    }
    uint16_t returned = consumed;
    bool tail_found = false;
    for (uint16_t w = done; w < n_work; w++) {
        if (expanded[w] || (int)src[w] < last_expanded) {
            pkt_stats_drop(&p->tx[qid], 1);
            pkt_free(work[w]);
        } else if (!tail_found) {
            returned = src[w];
            tail_found = true;
        }
    }
    if (n_used) {
        vhu_queue_push(q, used, n_used);
        vhu_queue_notify(q);
    }
    slot_leave(s);
    if (ok)
        pkt_stats_add(&p->tx[qid], ok, bytes);
    return returned;
}

const struct pkt_port_ops pkt_port_vhost_ops = {
    .type = "vhost-user",
    .help = "path=SOCKET[,server=0|1][,queues=N][,offload=0|1]: virtio-net device for a VM",
    .open = vhost_open,
    .rx_burst = vhost_rx,
    .tx_burst = vhost_tx,
    .link_up = vhost_link_up,
    .rx_fd = vhost_rx_fd,
    .rx_arm = vhost_rx_arm,
    .close = vhost_close,
    .rx_done = vhost_rx_done,
};
