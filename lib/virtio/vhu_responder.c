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
    uint8_t reply[MAX_FRAME];
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

/* Copy a readable chain after the virtio-net header into @buf. */
static size_t gather(const struct vq_chain *c, uint8_t *buf, size_t cap)
{
    size_t skip = HDR_LEN, n = 0;
    for (unsigned i = 0; i < c->n_readable; i++) {
        const uint8_t *p = c->iov[i].iov_base;
        size_t len = c->iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        p += skip;
        len -= skip;
        skip = 0;
        if (n + len > cap)
            return 0; /* larger than any frame we handle */
        memcpy(buf + n, p, len);
        n += len;
    }
    return n;
}

/* Build the answer to @in (len bytes) into resp->reply; 0 = no answer. */
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

/* Put @len bytes of frame into one RX chain of pair @p. */
static bool send_to_guest(struct vhu_responder *resp, struct pair *p, const uint8_t *frame,
                          size_t len)
{
    struct vhu_queue *rx = vhu_dev_queue(resp->dev, (uint16_t)(p->index * 2));
    if (!rx || !rx->started) {
        resp->stats.no_rx_buffer++;
        return false;
    }
    struct vq_chain c;
    struct iovec iov[64];
    int n = vhu_queue_pop(rx, &c, 1, iov, 64);
    if (n < 0) {
        resp->stats.queue_faults++;
        vhu_dev_fail(resp->dev, vq_broken_reason(&rx->vq));
        return false;
    }
    if (n == 0 || c.writable_len < HDR_LEN + len) {
        if (n == 1) { /* too small: give it back empty */
            struct vq_used u = {.id = c.id, .desc_count = c.desc_count, .len = 0};
            vhu_queue_push(rx, &u, 1);
        }
        resp->stats.no_rx_buffer++;
        return false;
    }
    struct virtio_net_hdr hdr = {.num_buffers = 1};
    const uint8_t *src[2] = {(const uint8_t *)&hdr, frame};
    size_t left[2] = {HDR_LEN, len};
    unsigned part = 0;
    const struct iovec *w = c.iov + c.n_readable;
    for (unsigned i = 0; i < c.n_writable && part < 2; i++) {
        uint8_t *dst = w[i].iov_base;
        size_t room = w[i].iov_len;
        while (room && part < 2) {
            size_t k = KK_MIN(room, left[part]);
            memcpy(dst, src[part], k);
            dst += k;
            room -= k;
            src[part] += k;
            left[part] -= k;
            if (!left[part])
                part++;
        }
    }
    uint32_t written = (uint32_t)(HDR_LEN + len);
    vhu_queue_log_write(rx, w, c.n_writable, written);
    struct vq_used u = {.id = c.id, .desc_count = c.desc_count, .len = written};
    vhu_queue_push(rx, &u, 1);
    vhu_queue_notify(rx);
    return true;
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
        vhu_dev_fail(resp->dev, vq_broken_reason(&tx->vq));
        return 0;
    }
    if (n == 0)
        return 0;
    struct vq_used used[BURST];
    for (int i = 0; i < n; i++) {
        used[i] = (struct vq_used){.id = chains[i].id, .desc_count = chains[i].desc_count};
        resp->stats.frames_in++;
        size_t len = gather(&chains[i], resp->frame, sizeof(resp->frame));
        if (len < 14) {
            resp->stats.dropped++;
            continue;
        }
        size_t out = answer(resp, resp->frame, len);
        if (out) {
            send_to_guest(resp, p, resp->reply, out);
        } else if (resp->opts.mode == VHU_RESPONDER_REFLECT) {
            uint8_t tmp[6];
            memcpy(tmp, resp->frame, 6);
            memcpy(resp->frame, resp->frame + 6, 6);
            memcpy(resp->frame + 6, tmp, 6);
            if (send_to_guest(resp, p, resp->frame, len))
                resp->stats.reflected++;
        } else {
            resp->stats.dropped++;
        }
    }
    /* TX buffers are only read: complete them with length 0. */
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
