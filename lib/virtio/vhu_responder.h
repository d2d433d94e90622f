/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhu_responder.h — a small virtio-net device for tests and demos.
 *
 * It answers ARP requests and ICMP echo requests for one IPv4 address
 * (with its own MAC address), and either reflects every other frame back
 * to the sender (source and destination MAC swapped) or drops it. It runs
 * on vhu_dev, so a QEMU guest, DPDK's virtio-user or kvmkit's frontend can
 * all talk to it; frames from the guest arrive on TX queues (odd indexes)
 * and replies go out on the RX queue of the same pair.
 *
 * Threads: all on the reactor given at creation.
 */
#ifndef KK_VHU_RESPONDER_H
#define KK_VHU_RESPONDER_H

#include <stdbool.h>
#include <stdint.h>

#include "kk_reactor.h"
#include "virtio_spec.h"

enum vhu_responder_mode {
    VHU_RESPONDER_REFLECT = 0, /* send other frames back, MACs swapped */
    VHU_RESPONDER_DROP = 1,    /* drop other frames */
};

struct vhu_responder_opts {
    const char *path;      /* vhost-user socket */
    bool client;           /* connect instead of listening */
    uint16_t queue_pairs;  /* 1.. */
    uint8_t mac[6];        /* our MAC (answers ARP with it) */
    uint32_t ip;           /* our IPv4 address, network byte order */
    enum vhu_responder_mode mode;
};

struct vhu_responder_stats {
    uint64_t frames_in;     /* frames the guest sent */
    uint64_t arp_replies;
    uint64_t icmp_replies;
    uint64_t reflected;
    uint64_t dropped;       /* not for us, in drop mode, or malformed */
    uint64_t no_rx_buffer;  /* a reply found no guest RX buffer */
    uint64_t connections;
    uint64_t queue_faults;  /* guest broke a queue */
};

struct vhu_responder;

int vhu_responder_create(struct kk_reactor *r, const struct vhu_responder_opts *opts,
                         struct vhu_responder **out);
void vhu_responder_destroy(struct vhu_responder *resp);
void vhu_responder_get_stats(const struct vhu_responder *resp, struct vhu_responder_stats *out);
bool vhu_responder_connected(const struct vhu_responder *resp);

#endif /* KK_VHU_RESPONDER_H */
