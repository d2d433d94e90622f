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
 * buffers go back to the guest at the end of each burst). Offered: VERSION_1,
 * MQ, MAC, STATUS; no checksum or segmentation offloads yet, so a guest
 * sends complete frames; frames for the guest with a partial checksum get
 * it completed here, and segmentation-offload frames are refused (counted
 * as tx errors).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"
#include "kk_log.h"
#include "kk_reactor.h"
#include "port_internal.h"
#include "vhu.h"

KK_LOG_COMPONENT_DECLARE(pkt_log);

#define HDR sizeof(struct virtio_net_hdr)
#define MAX_IOV_PER_CHAIN 8
#define VHOST_BURST 64

struct vq_slot {
    struct vhu_queue *q;      /* valid while running */
    int running;              /* atomic: the worker may use q */
    int busy;                 /* atomic: a worker is inside a burst */
};

struct vhost_port {
    struct kk_reactor *reactor;  /* the control thread's */
    struct vhu_dev *dev;
    uint16_t pairs;
    char path[108];
    struct vq_slot slots[PKT_PORT_MAX_QUEUES * 2];
};

/* ---- control thread ------------------------------------------------------------ */

static void queue_start(void *ctx, struct vhu_queue *q)
{
    struct vhost_port *v = ctx;
    struct vq_slot *s = &v->slots[q->index];
    s->q = q;
    /* We poll: no kicks wanted. */
    vq_enable_kicks(&q->vq, false);
    __atomic_store_n(&s->running, 1, __ATOMIC_RELEASE);
}

static void queue_stop(void *ctx, struct vhu_queue *q)
{
    struct vhost_port *v = ctx;
    struct vq_slot *s = &v->slots[q->index];
    __atomic_store_n(&s->running, 0, __ATOMIC_SEQ_CST);
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
    static const char *const keys[] = {"path", "server", "queues", NULL};
    uint64_t server, queues;
    int rc = pkt_spec_check_keys(spec, keys, err, errlen);
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
    struct vhost_port *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->pairs = (uint16_t)queues;
    snprintf(v->path, sizeof(v->path), "%s", path);
    struct kk_reactor_opts ro;
    kk_reactor_opts_init(&ro);
    ro.name = "vhost-ctl";
    rc = kk_reactor_create(&ro, &v->reactor);
    if (rc < 0) {
        free(v);
        return rc;
    }
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
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
        free(v);
        return rc;
    }
    p->n_rxq = p->n_txq = v->pairs;
    p->caps = PKT_PORT_CAP_MULTI_SEG;
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
    free(v);
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
                                    struct virtio_net_hdr *hdr)
{
    struct pkt_buf *head = pkt_alloc(p->pool), *seg = head;
    if (!head)
        return NULL;
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

static uint16_t vhost_rx(struct pkt_port *p, uint16_t qid, struct pkt_buf **bufs, uint16_t n)
{
    struct vhost_port *v = p->priv;
    struct vq_slot *s = &v->slots[qid * 2 + 1];
    struct vhu_queue *q = slot_enter(s);
    if (!q)
        return 0;
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
    for (int i = 0; i < got; i++) {
        const struct vq_chain *c = &chains[i];
        used[i] = (struct vq_used){.id = c->id, .desc_count = c->desc_count};
        if (c->readable_len < HDR + 14) {
            pkt_stats_error(&p->rx[qid], 1);
            continue;
        }
        struct virtio_net_hdr hdr;
        struct pkt_buf *b = chain_to_pkt(p, c, &hdr);
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
    if (got > 0) {
        vhu_queue_push(q, used, (unsigned)got);
        vhu_queue_notify(q);
    }
    slot_leave(s);
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

/* Write header and packet into a guest RX chain; bytes written or 0. */
static uint32_t pkt_to_chain(const struct vq_chain *c, const struct pkt_buf *b)
{
    const struct iovec *w = c->iov + c->n_readable;
    unsigned nw = c->n_writable;
    if (c->writable_len < HDR + b->pkt_len || nw == 0)
        return 0;
    struct virtio_net_hdr hdr = {.num_buffers = 1};
    if (b->ol_flags & PKT_OL_CSUM_VALID)
        hdr.flags = VIRTIO_NET_HDR_F_DATA_VALID;
    /* Scatter header then segments across the writable iovecs. */
    unsigned wi = 0;
    size_t woff = 0;
    const uint8_t *src = (const uint8_t *)&hdr;
    size_t left = HDR;
    const struct pkt_buf *seg = b;
    for (;;) {
        while (left > 0) {
            size_t k = KK_MIN(left, w[wi].iov_len - woff);
            memcpy((uint8_t *)w[wi].iov_base + woff, src, k);
            woff += k;
            src += k;
            left -= k;
            if (woff == w[wi].iov_len) {
                wi++;
                woff = 0;
            }
        }
        if (!seg)
            break;
        src = pkt_data(seg);
        left = seg->data_len;
        seg = seg->next;
    }
    return (uint32_t)(HDR + b->pkt_len);
}

static uint16_t vhost_tx(struct pkt_port *p, uint16_t qid, struct pkt_buf **bufs, uint16_t n)
{
    struct vhost_port *v = p->priv;
    struct vq_slot *s = &v->slots[qid * 2];
    struct vhu_queue *q = slot_enter(s);
    if (!q)
        return 0;
    uint16_t done = 0, ok = 0;
    uint64_t bytes = 0;
    while (done < n) {
        uint16_t want = (uint16_t)KK_MIN(n - done, VHOST_BURST);
        struct vq_chain chains[VHOST_BURST];
        struct iovec iov[VHOST_BURST * MAX_IOV_PER_CHAIN];
        int got = vhu_queue_pop(q, chains, want, iov, VHOST_BURST * MAX_IOV_PER_CHAIN);
        if (got <= 0) {
            if (got < 0)
                vhu_dev_fail(v->dev, got == -ENOBUFS ? "an RX chain needs too many iovecs"
                                                     : vq_broken_reason(&q->vq));
            break; /* no guest buffers: the caller keeps the rest */
        }
        struct vq_used used[VHOST_BURST];
        for (int i = 0; i < got; i++) {
            struct pkt_buf *b = bufs[done + (uint16_t)i];
            uint32_t len = 0;
            if (b->ol_flags & PKT_OL_GSO) {
                pkt_stats_error(&p->tx[qid], 1); /* the guest did not ask for GSO */
            } else {
                if ((b->ol_flags & PKT_OL_CSUM_PARTIAL) && !b->next &&
                    (uint32_t)b->csum_start + b->csum_offset + 2 <= b->data_len)
                    complete_csum(pkt_data(b), b->data_len, b->csum_start, b->csum_offset);
                len = pkt_to_chain(&chains[i], b);
                if (len) {
                    vhu_queue_log_write(q, chains[i].iov + chains[i].n_readable,
                                        chains[i].n_writable, len);
                    bytes += b->pkt_len;
                    ok++;
                } else {
                    pkt_stats_error(&p->tx[qid], 1); /* larger than the guest's buffer */
                }
            }
            used[i] = (struct vq_used){.id = chains[i].id, .desc_count = chains[i].desc_count,
                                       .len = len};
            pkt_free(b);
        }
        vhu_queue_push(q, used, (unsigned)got);
        done = (uint16_t)(done + got);
    }
    if (done)
        vhu_queue_notify(q);
    slot_leave(s);
    if (ok)
        pkt_stats_add(&p->tx[qid], ok, bytes);
    return done;
}

const struct pkt_port_ops pkt_port_vhost_ops = {
    .type = "vhost-user",
    .help = "path=SOCKET[,server=0|1][,queues=N]: virtio-net device for a VM or virtio-user",
    .open = vhost_open,
    .rx_burst = vhost_rx,
    .tx_burst = vhost_tx,
    .link_up = vhost_link_up,
    .close = vhost_close,
};
