/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_log.h"
#include "vhu.h"
#include "vhu_responder.h"

KK_LOG_COMPONENT(responder_log, "responder");

#define BURST 32
#define MAX_FRAME 9216
#define HDR_LEN sizeof(struct virtio_net_hdr)

struct pair {
    struct vhu_responder *resp;
    uint16_t index;            /* pair number */
    struct kk_poller *poller;
    struct kk_fd_watch *kick_watch;
};

struct vhu_responder {
    struct vhu_dev *dev;
    struct kk_reactor *reactor;
    struct vhu_responder_opts opts;
    struct vhu_responder_stats stats;
    struct pair *pairs;
    uint8_t frame[MAX_FRAME];
    uint8_t *reply;                     /* where answer() builds, within answers */
    uint8_t answers[BURST * MAX_FRAME]; /* the answers of one burst */
};

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

/* Copy up to @want bytes of a readable chain, after the virtio-net
 * header, into @buf (room for @cap). Returns the bytes copied. */
static size_t gather(const struct vq_chain *c, uint8_t *buf, size_t cap, size_t want)
{
    size_t skip = HDR_LEN, n = 0;
    if (want > cap)
        return 0;
    for (unsigned i = 0; i < c->n_readable && n < want; i++) {
        const uint8_t *p = c->iov[i].iov_base;
        size_t len = c->iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        p += skip;
        len -= skip;
        skip = 0;
        size_t k = KK_MIN(len, want - n);
        memcpy(buf + n, p, k);
        n += k;
    }
    return n;
}

/* Build the answer to @in (len bytes) at resp->reply; 0 = no answer. */
static size_t answer(struct vhu_responder *resp, const uint8_t *in, size_t len)
{
    uint8_t *out = resp->reply;
    if (len < 14)
        return 0;
    uint16_t type = (uint16_t)(in[12] << 8 | in[13]);
    const uint8_t *mac = resp->opts.mac;

    if (type == 0x0806 && len >= 42) {
        const uint8_t *arp = in + 14;
        uint32_t target;
        memcpy(&target, arp + 24, 4);
        /* Ethernet/IPv4 request for our address. */
        if (arp[0] == 0 && arp[1] == 1 && arp[2] == 8 && arp[3] == 0 && arp[4] == 6 &&
            arp[5] == 4 && arp[6] == 0 && arp[7] == 1 && target == resp->opts.ip) {
            memcpy(out, in + 6, 6);
            memcpy(out + 6, mac, 6);
            out[12] = 0x08;
            out[13] = 0x06;
            uint8_t *a = out + 14;
            memcpy(a, arp, 6);
            a[6] = 0;
            a[7] = 2; /* reply */
            memcpy(a + 8, mac, 6);
            memcpy(a + 14, &resp->opts.ip, 4);
            memcpy(a + 18, arp + 8, 10); /* sender MAC + IP become the target */
            memset(out + 42, 0, 18);     /* pad to the Ethernet minimum */
            resp->stats.arp_replies++;
            return 60;
        }
        return 0;
    }
    if (type == 0x0800 && len >= 34) {
        const uint8_t *ip = in + 14;
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
        uint16_t total = (uint16_t)(ip[2] << 8 | ip[3]);
        uint32_t dst;
        memcpy(&dst, ip + 16, 4);
        if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl + 8 || 14 + (size_t)total > len ||
            ip[9] != 1 || dst != resp->opts.ip)
            return 0;
        const uint8_t *icmp = ip + ihl;
        if (icmp[0] != 8 || (ip[6] & 0x3f) || ip[7]) /* echo request, not a fragment */
            return 0;
        size_t frame_len = 14 + (size_t)total;
        memcpy(out, in, frame_len);
        memcpy(out, in + 6, 6);
        memcpy(out + 6, mac, 6);
        uint8_t *oip = out + 14;
        memcpy(oip + 12, ip + 16, 4); /* swap addresses */
        memcpy(oip + 16, ip + 12, 4);
        oip[8] = 64;
        oip[10] = oip[11] = 0;
        uint16_t c = csum_fold(csum_add(0, oip, ihl));
        oip[10] = (uint8_t)(c >> 8);
        oip[11] = (uint8_t)c;
        uint8_t *oicmp = oip + ihl;
        oicmp[0] = 0; /* echo reply */
        oicmp[2] = oicmp[3] = 0;
        c = csum_fold(csum_add(0, oicmp, total - ihl));
        oicmp[2] = (uint8_t)(c >> 8);
        oicmp[3] = (uint8_t)c;
        resp->stats.icmp_replies++;
        return frame_len < 60 ? (memset(out + frame_len, 0, 60 - frame_len), 60) : frame_len;
    }
    return 0;
}

/* Write @len bytes of @src at byte @off of the writable part of @c. */
static void write_iov(const struct vq_chain *c, size_t off, const uint8_t *src, size_t len)
{
    const struct iovec *w = c->iov + c->n_readable;
    for (unsigned i = 0; i < c->n_writable && len; i++) {
        if (off >= w[i].iov_len) {
            off -= w[i].iov_len;
            continue;
        }
        size_t k = KK_MIN(len, w[i].iov_len - off);
        memcpy((uint8_t *)w[i].iov_base + off, src, k);
        src += k;
        len -= k;
        off = 0;
    }
}

/* Copy the frame of TX chain @from (after its virtio-net header) into the
 * writable part of @to at byte @off, iovec to iovec: no staging copy. */
static void copy_frame(const struct vq_chain *from, const struct vq_chain *to, size_t off)
{
    size_t skip = HDR_LEN;
    for (unsigned i = 0; i < from->n_readable; i++) {
        const uint8_t *p = from->iov[i].iov_base;
        size_t len = from->iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        write_iov(to, off, p + skip, len - skip);
        off += len - skip;
        skip = 0;
    }
}

/* A frame to send to the guest: an answer we built, or a TX frame to
 * reflect (copied straight from the TX buffers, MACs swapped). */
struct out_frame {
    const uint8_t *built;        /* answer bytes, or NULL to reflect */
    const struct vq_chain *tx;   /* for reflection */
    uint8_t macs[12];            /* reflected frame's swapped addresses */
    size_t len;
};

/* Deliver up to @n frames into RX buffers of pair @p with one used-index
 * update and at most one interrupt. Returns how many were delivered. */
static unsigned send_to_guest(struct vhu_responder *resp, struct pair *p,
                              const struct out_frame *frames, unsigned n)
{
    struct vhu_queue *rx = vhu_dev_queue(resp->dev, (uint16_t)(p->index * 2));
    if (!rx || !rx->started) {
        resp->stats.no_rx_buffer += n;
        return 0;
    }
    struct vq_chain c[BURST];
    struct iovec iov[BURST * 4];
    int got = vhu_queue_pop(rx, c, n, iov, BURST * 4);
    if (got < 0) {
        resp->stats.queue_faults++;
        vhu_dev_fail(resp->dev, got == -ENOBUFS ? "an RX chain needs more than 128 iovecs"
                                                : vq_broken_reason(&rx->vq));
        return 0;
    }
    struct vq_used used[BURST];
    unsigned delivered = 0;
    for (int i = 0; i < got; i++) {
        const struct out_frame *f = &frames[i];
        uint32_t written = 0;
        const struct iovec *w0 = &c[i].iov[c[i].n_readable];
        const struct iovec *t0 = f->built ? NULL : &f->tx->iov[0];
        if (c[i].n_writable && w0->iov_len >= HDR_LEN + f->len && t0 &&
            f->tx->n_readable && t0->iov_len >= HDR_LEN + f->len) {
            /* Common case: header and frame contiguous on both sides. */
            uint8_t *dst = w0->iov_base;
            struct virtio_net_hdr hdr = {.num_buffers = 1};
            memcpy(dst, &hdr, HDR_LEN);
            memcpy(dst + HDR_LEN + 12, (const uint8_t *)t0->iov_base + HDR_LEN + 12,
                   f->len - 12);
            memcpy(dst + HDR_LEN, f->macs, 12);
            written = (uint32_t)(HDR_LEN + f->len);
            vhu_queue_log_write(rx, w0, 1, written);
            delivered++;
        } else if (c[i].writable_len >= HDR_LEN + f->len) {
            struct virtio_net_hdr hdr = {.num_buffers = 1};
            write_iov(&c[i], 0, (const uint8_t *)&hdr, HDR_LEN);
            if (f->built) {
                write_iov(&c[i], HDR_LEN, f->built, f->len);
            } else {
                copy_frame(f->tx, &c[i], HDR_LEN);
                write_iov(&c[i], HDR_LEN, f->macs, 12);
            }
            written = (uint32_t)(HDR_LEN + f->len);
            vhu_queue_log_write(rx, c[i].iov + c[i].n_readable, c[i].n_writable, written);
            delivered++;
        } else {
            resp->stats.no_rx_buffer++; /* too small: given back empty */
        }
        used[i] = (struct vq_used){.id = c[i].id, .desc_count = c[i].desc_count, .len = written};
    }
    resp->stats.no_rx_buffer += n - (unsigned)got;
    if (got > 0) {
        vhu_queue_push(rx, used, (unsigned)got);
        vhu_queue_notify(rx);
    }
    return delivered;
}

static int pair_poll(void *arg)
{
    struct pair *p = arg;
    struct vhu_responder *resp = p->resp;
    struct vhu_queue *tx = vhu_dev_queue(resp->dev, (uint16_t)(p->index * 2 + 1));
    if (!tx || !tx->started)
        return 0;
    struct vq_chain chains[BURST];
    struct iovec iov[BURST * 4];
    int n = vhu_queue_pop(tx, chains, BURST, iov, BURST * 4);
    if (n < 0) {
        resp->stats.queue_faults++;
        vhu_dev_fail(resp->dev, n == -ENOBUFS ? "a TX chain needs more than 128 iovecs"
                                              : vq_broken_reason(&tx->vq));
        return 0;
    }
    if (n == 0)
        return 0;
    struct vq_used used[BURST];
    struct out_frame out[BURST];
    unsigned n_out = 0;
    size_t answers_used = 0;
    for (int i = 0; i < n; i++) {
        const struct vq_chain *c = &chains[i];
        used[i] = (struct vq_used){.id = c->id, .desc_count = c->desc_count};
        resp->stats.frames_in++;
        if (c->readable_len < HDR_LEN + 14 || c->readable_len - HDR_LEN > MAX_FRAME) {
            resp->stats.dropped++;
            continue;
        }
        size_t len = c->readable_len - HDR_LEN;
        uint8_t head[14];
        if (kk_likely(c->iov[0].iov_len >= HDR_LEN + 14)) {
            memcpy(head, (const uint8_t *)c->iov[0].iov_base + HDR_LEN, 14);
        } else if (gather(c, head, sizeof(head), 14) != 14) {
            resp->stats.dropped++;
            continue;
        }
        uint16_t type = (uint16_t)(head[12] << 8 | head[13]);
        size_t ans = 0;
        /* Only ARP and IPv4 can be for us: only they are looked at whole. */
        if ((type == 0x0806 || type == 0x0800) &&
            gather(c, resp->frame, sizeof(resp->frame), len) == len) {
            resp->reply = resp->answers + answers_used;
            ans = answer(resp, resp->frame, len);
        }
        if (ans) {
            out[n_out++] = (struct out_frame){.built = resp->answers + answers_used, .len = ans};
            answers_used += ans;
        } else if (resp->opts.mode == VHU_RESPONDER_REFLECT) {
            struct out_frame *o = &out[n_out++];
            *o = (struct out_frame){.built = NULL, .tx = c, .len = len};
            memcpy(o->macs, head + 6, 6);
            memcpy(o->macs + 6, head, 6);
        } else {
            resp->stats.dropped++;
        }
    }
    if (n_out) {
        unsigned delivered = send_to_guest(resp, p, out, n_out);
        for (unsigned i = 0; i < delivered; i++) {
            if (!out[i].built)
                resp->stats.reflected++;
        }
    }
    /* TX buffers are only read: complete them with length 0, after the
     * reflected copies were made — unless a fault on the RX queue just
     * stopped the device (it is being disconnected). */
    if (!tx->started)
        return n;
    vhu_queue_push(tx, used, (unsigned)n);
    vhu_queue_notify(tx);
    return n;
}

static bool pair_arm(void *arg, bool enable)
{
    struct pair *p = arg;
    struct vhu_queue *tx = vhu_dev_queue(p->resp->dev, (uint16_t)(p->index * 2 + 1));
    if (!tx || !tx->started)
        return false;
    return vq_enable_kicks(&tx->vq, enable);
}

static void kick_cb(void *arg, int fd, unsigned events)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
    (void)arg; /* the poller runs next turn */
}

static void queue_start(void *ctx, struct vhu_queue *q)
{
    struct vhu_responder *resp = ctx;
    struct pair *p = &resp->pairs[q->index / 2];
    if (q->index % 2 == 0)
        return; /* RX queues are used from the TX poller */
    if (kk_poller_register(resp->reactor, pair_poll, p, 0, &p->poller) < 0)
        return;
    if (q->kick_fd >= 0 &&
        kk_fd_watch_add(resp->reactor, q->kick_fd, KK_FD_READ, kick_cb, p, &p->kick_watch) == 0)
        kk_poller_set_arm(p->poller, pair_arm);
}

static void queue_stop(void *ctx, struct vhu_queue *q)
{
    struct vhu_responder *resp = ctx;
    struct pair *p = &resp->pairs[q->index / 2];
    if (q->index % 2 == 0)
        return;
    kk_fd_watch_remove(p->kick_watch);
    p->kick_watch = NULL;
    kk_poller_unregister(p->poller);
    p->poller = NULL;
}

static void connected(void *ctx)
{
    struct vhu_responder *resp = ctx;
    resp->stats.connections++;
}

static const struct vhu_dev_ops responder_ops = {
    .queue_start = queue_start,
    .queue_stop = queue_stop,
    .connected = connected,
};

int vhu_responder_create(struct kk_reactor *r, const struct vhu_responder_opts *o,
                         struct vhu_responder **out)
{
    if (!o || !out || o->queue_pairs == 0 || o->queue_pairs > VHU_MAX_QUEUES / 2)
        return -EINVAL;
    struct vhu_responder *resp = calloc(1, sizeof(*resp));
    if (!resp)
        return -ENOMEM;
    resp->reactor = r;
    resp->opts = *o;
    resp->reply = resp->answers;
    resp->pairs = calloc(o->queue_pairs, sizeof(*resp->pairs));
    if (!resp->pairs) {
        free(resp);
        return -ENOMEM;
    }
    for (uint16_t i = 0; i < o->queue_pairs; i++)
        resp->pairs[i] = (struct pair){.resp = resp, .index = i};
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC);
    if (o->queue_pairs > 1)
        features |= VIRTIO_BIT(VIRTIO_NET_F_MQ);
    struct vhu_dev_opts d = {
        .path = o->path,
        .client = o->client,
        .features = features,
        .num_queues = (uint16_t)(o->queue_pairs * 2),
        .queue_num_reply = o->queue_pairs,
        .ops = &responder_ops,
        .ctx = resp,
    };
    int rc = vhu_dev_create(r, &d, &resp->dev);
    if (rc < 0) {
        free(resp->pairs);
        free(resp);
        return rc;
    }
    *out = resp;
    return 0;
}

void vhu_responder_destroy(struct vhu_responder *resp)
{
    if (!resp)
        return;
    vhu_dev_destroy(resp->dev);
    free(resp->pairs);
    free(resp);
}

void vhu_responder_get_stats(const struct vhu_responder *resp, struct vhu_responder_stats *out)
{
    *out = resp->stats;
    struct vhu_dev_stats ds;
    vhu_dev_get_stats(resp->dev, &ds);
    out->connections = ds.connections;
}

bool vhu_responder_connected(const struct vhu_responder *resp)
{
    return vhu_dev_connected(resp->dev);
}
