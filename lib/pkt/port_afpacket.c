/* SPDX-License-Identifier: Apache-2.0 */
/*
 * afpacket: an existing interface through an AF_PACKET socket with
 * TPACKET_V3 memory-mapped rings. Receiving walks the blocks the kernel
 * filled (no system call while frames are there) and copies each frame
 * into a packet buffer, restoring a VLAN tag the kernel took off; sending
 * fills frames of the TX ring and kicks the kernel once per burst. The
 * interface is put in promiscuous mode (a switch port sees every frame)
 * and frames this host sends out of it are not received back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kk_err.h"
#include "kk_log.h"
#include "port_internal.h"

KK_LOG_COMPONENT_DECLARE(pkt_log);

#define BLOCK_SIZE (1u << 18)   /* 256 KiB: holds over a hundred full frames */
#define TX_FRAME_SIZE 2048u
#define TX_FRAMES 512u
#define VNET_HDR_LEN 10u         /* struct virtio_net_hdr without num_buffers */

struct afp_port {
    int fd;
    int ifindex;
    char ifname[IFNAMSIZ];
    uint8_t *map;
    size_t map_size;
    /* rx */
    unsigned n_blocks, block;        /* next block to look at */
    struct tpacket3_hdr *pkt;        /* next frame in the current block */
    unsigned pkts_left;              /* frames left in the current block */
    /* tx */
    uint8_t *tx_ring;
    unsigned tx_next;
    uint32_t mtu_frame;              /* largest frame we may send */
    bool vnet;                       /* frames carry a virtio-net header (no num_buffers) */
};

static int afp_fail(struct afp_port *a, int rc, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "afpacket: %s: %s: %s%s", a->ifname, what, kk_strerror(rc),
             rc == -EPERM ? " (needs CAP_NET_RAW)" : "");
    return rc;
}

static int afp_open(struct pkt_port *p, const struct pkt_spec *spec, char *err, size_t errlen)
{
    static const char *const keys[] = {"iface", "blocks", "promisc", NULL};
    uint64_t blocks, promisc;
    int rc = pkt_spec_check_keys(spec, keys, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "blocks", 16, 2, 1024, &blocks, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "promisc", 1, 0, 1, &promisc, err, errlen);
    if (rc < 0)
        return rc;
    const char *iface = pkt_spec_get(spec, "iface");
    if (!iface || !iface[0] || strlen(iface) >= IFNAMSIZ) {
        snprintf(err, errlen, "afpacket: iface=IFNAME is required");
        return -EINVAL;
    }
    struct afp_port *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    snprintf(a->ifname, sizeof(a->ifname), "%s", iface);
    a->fd = -1;
    a->ifindex = (int)if_nametoindex(iface);
    if (a->ifindex == 0) {
        rc = afp_fail(a, kk_neg_errno(), err, errlen, "no such interface");
        goto fail;
    }
    a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (a->fd < 0) {
        rc = afp_fail(a, kk_neg_errno(), err, errlen, "socket");
        goto fail;
    }
    int v3 = TPACKET_V3, one = 1;
    if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &v3, sizeof(v3)) < 0) {
        rc = afp_fail(a, kk_neg_errno(), err, errlen, "TPACKET_V3");
        goto fail;
    }
    /* Frames the host sends out of this interface are not ours to switch. */
    setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    /* Received frames come with a virtio-net header: the kernel's partial
     * checksums and segmentation offloads (veth, TSO) become the packet's
     * offload fields instead of frames we could not complete. */
    a->vnet = setsockopt(a->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0;
    if (!a->vnet)
        KK_LOGW(pkt_log, "afpacket %s: no PACKET_VNET_HDR (%s): the interface's peers must "
                         "not leave checksums or segmentation to it",
                a->ifname, kk_strerror(kk_neg_errno()));
    struct tpacket_req3 rx = {.tp_block_size = BLOCK_SIZE, .tp_block_nr = (unsigned)blocks,
                              .tp_frame_size = TX_FRAME_SIZE,
                              .tp_frame_nr = (unsigned)(BLOCK_SIZE / TX_FRAME_SIZE * blocks),
                              .tp_retire_blk_tov = 1 /* ms: hand partial blocks over soon */};
    struct tpacket_req3 tx = {.tp_block_size = BLOCK_SIZE,
                              .tp_block_nr = TX_FRAMES * TX_FRAME_SIZE / BLOCK_SIZE,
                              .tp_frame_size = TX_FRAME_SIZE, .tp_frame_nr = TX_FRAMES};
    if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &rx, sizeof(rx)) < 0) {
        rc = afp_fail(a, kk_neg_errno(), err, errlen, "PACKET_RX_RING");
        goto fail;
    }
    if (setsockopt(a->fd, SOL_PACKET, PACKET_TX_RING, &tx, sizeof(tx)) < 0) {
        rc = afp_fail(a, kk_neg_errno(), err, errlen, "PACKET_TX_RING");
        goto fail;
    }
    a->n_blocks = (unsigned)blocks;
    a->map_size = (size_t)BLOCK_SIZE * blocks + (size_t)TX_FRAMES * TX_FRAME_SIZE;
    a->map = mmap(NULL, a->map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, a->fd,
                  0);
    if (a->map == MAP_FAILED) {
        a->map = NULL;
        rc = afp_fail(a, kk_neg_errno(), err, errlen, "mmap of the rings");
        goto fail;
    }
    a->tx_ring = a->map + (size_t)BLOCK_SIZE * blocks;
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                              .sll_ifindex = a->ifindex};
    if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        rc = afp_fail(a, kk_neg_errno(), err, errlen, "bind");
        goto fail;
    }
    if (promisc) {
        struct packet_mreq mr = {.mr_ifindex = a->ifindex, .mr_type = PACKET_MR_PROMISC};
        if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
            rc = afp_fail(a, kk_neg_errno(), err, errlen, "promiscuous mode");
            goto fail;
        }
    }
    a->mtu_frame = TX_FRAME_SIZE - TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) -
                   (a->vnet ? VNET_HDR_LEN : 0);
    p->caps = PKT_PORT_CAP_MULTI_SEG | PKT_PORT_CAP_RX_FD;
    p->priv = a;
    return 0;
fail:
    if (a->map)
        munmap(a->map, a->map_size);
    if (a->fd >= 0)
        close(a->fd);
    free(a);
    return rc;
}

static struct tpacket_block_desc *block_at(struct afp_port *a, unsigned i)
{
    return (struct tpacket_block_desc *)(void *)(a->map + (size_t)i * BLOCK_SIZE);
}

/* Copy one received frame into a packet; false when out of buffers. */
static struct pkt_buf *copy_frame(struct pkt_port *p, const struct tpacket3_hdr *h,
                                  const uint8_t *block_end, bool vnet, int *error)
{
    *error = 0;
    const uint8_t *data = (const uint8_t *)h + h->tp_mac;
    uint32_t len = h->tp_snaplen;
    struct virtio_net_hdr vh = {0};
    if (vnet) {
        /* The header sits right before the frame (tp_mac leaves room). */
        if (h->tp_mac < sizeof(struct tpacket3_hdr) + VNET_HDR_LEN) {
            *error = 1;
            return NULL;
        }
        memcpy(&vh, data - VNET_HDR_LEN, VNET_HDR_LEN);
    }
    if (len > BLOCK_SIZE || data + len > block_end || len < 14) {
        *error = 1;
        return NULL;
    }
    bool vlan = (h->tp_status & TP_STATUS_VLAN_VALID) && h->hv1.tp_vlan_tci;
    struct pkt_buf *b;
    if (!vlan) {
        b = pkt_from_bytes(p->pool, data, len);
        if (b && vnet && pkt_vnet_hdr_apply(b, &vh) < 0) {
            pkt_free(b);
            *error = 1;
            return NULL;
        }
    } else {
        /* The kernel took the tag off: put it back after the addresses. */
        uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid
                                                                   : ETH_P_8021Q;
        uint8_t tag[4] = {(uint8_t)(tpid >> 8), (uint8_t)tpid,
                          (uint8_t)(h->hv1.tp_vlan_tci >> 8), (uint8_t)h->hv1.tp_vlan_tci};
        b = pkt_from_bytes(p->pool, data + 12, len - 12);
        uint8_t *front = b ? pkt_prepend(b, 16) : NULL; /* headroom always has it */
        if (front) {
            memcpy(front, data, 12);
            memcpy(front + 12, tag, 4);
        }
        if (front && vnet) {
            /* Offsets in the header count from the frame without the tag. */
            if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
                vh.csum_start = (uint16_t)(vh.csum_start + 4);
            if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE)
                vh.hdr_len = (uint16_t)(vh.hdr_len + 4);
            if (pkt_vnet_hdr_apply(b, &vh) < 0) {
                pkt_free(b);
                *error = 1;
                return NULL;
            }
        }
    }
    return b;
}

static uint16_t afp_rx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct afp_port *a = p->priv;
    uint16_t got = 0;
    uint64_t bytes = 0;
    while (got < n) {
        struct tpacket_block_desc *bd = block_at(a, a->block);
        if (a->pkts_left == 0) {
            if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
                  TP_STATUS_USER))
                break;
            a->pkts_left = bd->hdr.bh1.num_pkts;
            a->pkt = (struct tpacket3_hdr *)(void *)((uint8_t *)bd +
                                                     bd->hdr.bh1.offset_to_first_pkt);
            if (a->pkts_left == 0 || bd->hdr.bh1.offset_to_first_pkt >= BLOCK_SIZE) {
                a->pkts_left = 0;
                goto next_block;
            }
        }
        int error;
        struct pkt_buf *b = copy_frame(p, a->pkt, (uint8_t *)bd + BLOCK_SIZE, a->vnet, &error);
        if (!b && !error)
            break; /* out of buffers: the frame stays in the block */
        if (b) {
            b->port = p->id;
            bytes += b->pkt_len;
            bufs[got++] = b;
        } else {
            pkt_stats_error(&p->rx[q], 1);
        }
        if (--a->pkts_left > 0) {
            uint32_t next = a->pkt->tp_next_offset;
            uint8_t *np = (uint8_t *)a->pkt + next;
            if (next == 0 || np + sizeof(struct tpacket3_hdr) > (uint8_t *)bd + BLOCK_SIZE) {
                pkt_stats_error(&p->rx[q], a->pkts_left);
                a->pkts_left = 0;
            } else {
                a->pkt = (struct tpacket3_hdr *)(void *)np;
                continue;
            }
        }
next_block:
        /* Done with the block: give it back to the kernel. */
        __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        a->block = (a->block + 1) % a->n_blocks;
    }
    if (got)
        pkt_stats_add(&p->rx[q], got, bytes);
    return got;
}

/* Put one frame into the next TX slot; false if the ring is full. */
static bool tx_one(struct afp_port *a, struct pkt_buf *b)
{
    const size_t data_off = TPACKET_ALIGN(sizeof(struct tpacket3_hdr));
    uint8_t *frame = a->tx_ring + (size_t)a->tx_next * TX_FRAME_SIZE;
    struct tpacket3_hdr *h = (struct tpacket3_hdr *)(void *)frame;
    if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
        return false;
    uint32_t hdr = a->vnet ? VNET_HDR_LEN : 0;
    memset(frame + data_off, 0, hdr); /* complete frames: no offload requested */
    pkt_read(b, 0, frame + data_off + hdr, b->pkt_len);
    h->tp_len = hdr + b->pkt_len;
    h->tp_snaplen = hdr + b->pkt_len;
    h->tp_next_offset = 0;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    a->tx_next = (a->tx_next + 1) % TX_FRAMES;
    return true;
}

static uint16_t afp_tx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct afp_port *a = p->priv;
    uint16_t sent = 0, queued = 0;
    uint64_t bytes = 0;
    for (; sent < n; sent++) {
        /* A full ring keeps the rest with the caller. */
        const struct tpacket3_hdr *next =
                (const void *)(a->tx_ring + (size_t)a->tx_next * TX_FRAME_SIZE);
        if (__atomic_load_n(&next->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
            break;
        /* The socket takes complete frames: finish offloads here. */
        struct pkt_buf *segs[PKT_GSO_MAX_SEGS];
        int ns = pkt_offload_for_caps(bufs[sent], false, false, p->pool, segs,
                                      PKT_GSO_MAX_SEGS);
        if (ns < 0) {
            pkt_stats_error(&p->tx[q], 1);
            continue;
        }
        for (int k = 0; k < ns; k++) {
            struct pkt_buf *b = segs[k];
            if (b->pkt_len > a->mtu_frame || b->pkt_len < 14) {
                pkt_stats_error(&p->tx[q], 1);
            } else if (!tx_one(a, b)) {
                pkt_stats_drop(&p->tx[q], 1); /* ring filled inside a segmented frame */
            } else {
                bytes += b->pkt_len;
                queued++;
            }
            pkt_free(b);
        }
    }
    if (queued) {
        if (send(a->fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS)
            pkt_stats_error(&p->tx[q], 1);
        pkt_stats_add(&p->tx[q], queued, bytes);
    }
    return sent;
}

static int afp_rx_fd(struct pkt_port *p, uint16_t q)
{
    return ((struct afp_port *)p->priv)->fd;
}

static bool afp_link_up(struct pkt_port *p)
{
    struct afp_port *a = p->priv;
    char path[64];
    snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", a->ifname);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char state[16] = "";
    bool up = fgets(state, sizeof(state), f) && strncmp(state, "up", 2) == 0;
    fclose(f);
    return up;
}

static void afp_close(struct pkt_port *p)
{
    struct afp_port *a = p->priv;
    munmap(a->map, a->map_size);
    close(a->fd);
    free(a);
}

const struct pkt_port_ops pkt_port_afpacket_ops = {
    .type = "afpacket",
    .help = "iface=IFNAME[,blocks=N][,promisc=0|1]: AF_PACKET, TPACKET_V3 rings",
    .open = afp_open,
    .rx_burst = afp_rx,
    .tx_burst = afp_tx,
    .link_up = afp_link_up,
    .rx_fd = afp_rx_fd,
    .close = afp_close,
};
