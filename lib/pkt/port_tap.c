/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tap: a Linux tap device. Frames are read and written with one system
 * call each (readv/writev straight into/from packet buffers). With
 * vnet_hdr=1 (the default) every frame carries a virtio-net header, so
 * checksum and segmentation offloads pass between the kernel and the
 * packets' ol_flags (TUNSETOFFLOAD: partial checksums, TSO4/6): a TCP
 * stream behind the tap moves 64 KiB frames, chained over several buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kk_err.h"
#include "kk_log.h"
#include "port_internal.h"

KK_LOG_COMPONENT_DECLARE(pkt_log);

#define TAP_MAX_SEGS 40      /* 64 KiB + headers in 2 KiB buffers */
#define TAP_MAX_FRAME 65550u /* a GSO frame: 64 KiB payload and headers */

struct tap_port {
    int fd;
    bool vnet_hdr;
    char ifname[IFNAMSIZ];
    uint32_t frame_max;              /* largest frame we read */
    struct pkt_buf *spare[TAP_MAX_SEGS]; /* receive buffers kept between reads */
    unsigned n_spare;
};

static int set_up(const char *ifname, char *err, size_t errlen)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return kk_neg_errno();
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int rc = 0;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        rc = kk_neg_errno();
    } else if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
            rc = kk_neg_errno();
    }
    close(s);
    if (rc < 0)
        snprintf(err, errlen, "tap: %s: cannot bring the interface up: %s", ifname,
                 kk_strerror(rc));
    return rc;
}

static int tap_open(struct pkt_port *p, const struct pkt_spec *spec, char *err, size_t errlen)
{
    static const char *const keys[] = {"name", "vnet_hdr", "up", NULL};
    uint64_t vnet, up;
    int rc = pkt_spec_check_keys(spec, keys, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "vnet_hdr", 1, 0, 1, &vnet, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "up", 1, 0, 1, &up, err, errlen);
    if (rc < 0)
        return rc;
    const char *name = pkt_spec_get(spec, "name");
    if (!name || !name[0] || strlen(name) >= IFNAMSIZ) {
        snprintf(err, errlen, "tap: name=IFNAME (1 to %d characters) is required",
                 IFNAMSIZ - 1);
        return -EINVAL;
    }
    struct tap_port *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->vnet_hdr = vnet;
    t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        rc = kk_neg_errno();
        snprintf(err, errlen, "tap: /dev/net/tun: %s", kk_strerror(rc));
        free(t);
        return rc;
    }
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (t->vnet_hdr ? IFF_VNET_HDR : 0);
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        rc = kk_neg_errno();
        snprintf(err, errlen, "tap: %s: %s%s", name, kk_strerror(rc),
                 rc == -EPERM ? " (needs CAP_NET_ADMIN, or a tap owned by this user)" : "");
        goto fail;
    }
    snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
    t->frame_max = 1514 + 4;
    if (t->vnet_hdr) {
        int hdr = sizeof(struct virtio_net_hdr);
        if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0) {
            rc = kk_neg_errno();
            snprintf(err, errlen, "tap: %s: TUNSETVNETHDRSZ: %s", name, kk_strerror(rc));
            goto fail;
        }
        /* Ask for checksum and TCP segmentation offloads: the kernel then
         * hands us large frames with partial checksums (and takes them). */
        unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
        if (ioctl(t->fd, TUNSETOFFLOAD, off) == 0) {
            p->caps |= PKT_PORT_CAP_CSUM_OFFLOAD | PKT_PORT_CAP_GSO;
            t->frame_max = TAP_MAX_FRAME;
        } else {
            KK_LOGW(pkt_log, "tap %s: no offloads (%s)", name, kk_strerror(kk_neg_errno()));
        }
    }
    if (up && (rc = set_up(t->ifname, err, errlen)) < 0)
        goto fail;
    p->caps |= PKT_PORT_CAP_MULTI_SEG | PKT_PORT_CAP_RX_FD;
    p->priv = t;
    return 0;
fail:
    close(t->fd);
    free(t);
    return rc;
}

/* Keep enough spare buffers for one frame of frame_max bytes. */
static bool refill(struct pkt_port *p, struct tap_port *t)
{
    uint32_t room = p->pool->data_room; /* continuation segments use it all */
    unsigned want = 1 + (t->frame_max > room ? (t->frame_max - room + room - 1) / room : 0);
    want = KK_MIN(want, (unsigned)TAP_MAX_SEGS);
    if (t->n_spare >= want)
        return true;
    if (pkt_alloc_bulk(p->pool, t->spare + t->n_spare, want - t->n_spare) < 0)
        return false;
    t->n_spare = want;
    return true;
}

static uint16_t tap_rx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct tap_port *t = p->priv;
    uint16_t got = 0;
    uint64_t bytes = 0;
    while (got < n) {
        if (!refill(p, t))
            break; /* out of buffers: the kernel keeps the frame for later */
        struct iovec iov[TAP_MAX_SEGS + 1];
        struct virtio_net_hdr hdr;
        unsigned k = 0;
        if (t->vnet_hdr)
            iov[k++] = (struct iovec){&hdr, sizeof(hdr)};
        for (unsigned i = 0; i < t->n_spare; i++) {
            struct pkt_buf *b = t->spare[i];
            b->data_off = i == 0 ? PKT_HEADROOM : 0;
            iov[k++] = (struct iovec){pkt_data(b), pkt_tailroom(b)};
        }
        ssize_t r = readv(t->fd, iov, (int)k);
        if (r < 0) {
            if (errno != EAGAIN && errno != EINTR)
                pkt_stats_error(&p->rx[q], 1);
            break;
        }
        size_t len = (size_t)r;
        if (t->vnet_hdr) {
            if (len < sizeof(hdr)) {
                pkt_stats_error(&p->rx[q], 1);
                continue;
            }
            len -= sizeof(hdr);
        }
        if (len == 0)
            continue;
        /* Take the segments the frame filled. */
        struct pkt_buf *head = t->spare[0], *prev = NULL;
        size_t left = len;
        unsigned used = 0;
        while (left > 0) {
            struct pkt_buf *s = t->spare[used++];
            s->data_len = (uint32_t)KK_MIN(left, (size_t)pkt_tailroom(s));
            left -= s->data_len;
            s->next = NULL;
            if (prev)
                prev->next = s;
            prev = s;
        }
        memmove(t->spare, t->spare + used, (t->n_spare - used) * sizeof(t->spare[0]));
        t->n_spare -= used;
        head->pkt_len = (uint32_t)len;
        head->nb_segs = (uint16_t)used;
        head->port = p->id;
        head->ol_flags = 0;
        if (t->vnet_hdr && pkt_vnet_hdr_apply(head, &hdr) < 0) {
            KK_LOGW_RL(pkt_log, "tap %s: frame with a bad virtio-net header dropped", t->ifname);
            pkt_stats_error(&p->rx[q], 1);
            pkt_free(head);
            continue;
        }
        bufs[got++] = head;
        bytes += len;
    }
    if (got)
        pkt_stats_add(&p->rx[q], got, bytes);
    return got;
}

static uint16_t tap_tx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct tap_port *t = p->priv;
    uint16_t sent = 0, ok = 0;
    uint64_t bytes = 0;
    for (; sent < n; sent++) {
        struct pkt_buf *b = bufs[sent];
        if ((b->ol_flags & PKT_OL_GSO && !(p->caps & PKT_PORT_CAP_GSO)) ||
            (b->ol_flags & PKT_OL_CSUM_PARTIAL && !(p->caps & PKT_PORT_CAP_CSUM_OFFLOAD))) {
            /* What the tap cannot take is finished here, then sent as usual. */
            struct pkt_buf *segs[PKT_GSO_MAX_SEGS];
            int ns = pkt_offload_for_caps(b, p->caps & PKT_PORT_CAP_CSUM_OFFLOAD,
                                          p->caps & PKT_PORT_CAP_GSO, p->pool, segs,
                                          PKT_GSO_MAX_SEGS);
            if (ns < 0) {
                pkt_stats_error(&p->tx[q], 1);
                continue;
            }
            bool full = false;
            for (int i = 0; i < ns; i++) {
                if (!full && tap_tx(p, q, &segs[i], 1) == 1)
                    continue;
                full = true; /* the tap filled up inside the frame */
                pkt_stats_drop(&p->tx[q], 1);
                pkt_free(segs[i]);
            }
            continue;
        }
        struct iovec iov[TAP_MAX_SEGS + 1];
        struct virtio_net_hdr hdr;
        unsigned k = 0;
        if (t->vnet_hdr) {
            pkt_vnet_hdr_make(b, &hdr);
            iov[k++] = (struct iovec){&hdr, sizeof(hdr)};
        }
        bool fits = true;
        for (struct pkt_buf *s = b; s; s = s->next) {
            if (k == TAP_MAX_SEGS + 1) {
                fits = false;
                break;
            }
            iov[k++] = (struct iovec){pkt_data(s), s->data_len};
        }
        ssize_t r = fits ? writev(t->fd, iov, (int)k) : -1;
        if (r < 0 && fits && (errno == EAGAIN || errno == EINTR))
            break; /* the caller keeps the rest */
        if (r < 0) {
            pkt_stats_error(&p->tx[q], 1); /* refused (too many segments, too large, ...) */
        } else {
            bytes += b->pkt_len;
            ok++;
        }
        pkt_free(b);
    }
    if (ok)
        pkt_stats_add(&p->tx[q], ok, bytes);
    return sent;
}

static int tap_rx_fd(struct pkt_port *p, uint16_t q)
{
    return ((struct tap_port *)p->priv)->fd;
}

static bool tap_link_up(struct pkt_port *p)
{
    struct tap_port *t = p->priv;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
    bool up = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
    close(s);
    return up;
}

static void tap_close(struct pkt_port *p)
{
    struct tap_port *t = p->priv;
    pkt_free_bulk(t->spare, t->n_spare);
    close(t->fd);
    free(t);
}

const struct pkt_port_ops pkt_port_tap_ops = {
    .type = "tap",
    .help = "name=IFNAME[,vnet_hdr=0|1][,up=0|1]: Linux tap (created if absent)",
    .open = tap_open,
    .rx_burst = tap_rx,
    .tx_burst = tap_tx,
    .link_up = tap_link_up,
    .rx_fd = tap_rx_fd,
    .close = tap_close,
};
