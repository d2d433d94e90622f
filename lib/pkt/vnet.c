/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net header <-> packet offload fields. */
#include <errno.h>
#include <string.h>

#include "port_internal.h"

int pkt_vnet_hdr_apply(struct pkt_buf *b, const struct virtio_net_hdr *h)
{
    b->ol_flags &= (uint16_t)~(PKT_OL_CSUM_PARTIAL | PKT_OL_CSUM_VALID | PKT_OL_GSO);
    b->gso_type = PKT_GSO_NONE;
    if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
        return -EINVAL;
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        /* The 16-bit sum is stored inside the packet. */
        if ((uint32_t)h->csum_start + h->csum_offset + 2 > b->pkt_len)
            return -EINVAL;
        b->ol_flags |= PKT_OL_CSUM_PARTIAL;
        b->csum_start = h->csum_start;
        b->csum_offset = h->csum_offset;
    } else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
        b->ol_flags |= PKT_OL_CSUM_VALID;
    }
    uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    if (type == VIRTIO_NET_HDR_GSO_NONE) {
        if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
            return -EINVAL;
        return 0;
    }
    if ((type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6 &&
         type != VIRTIO_NET_HDR_GSO_UDP) ||
        h->gso_size == 0 || !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
        h->hdr_len > b->pkt_len)
        return -EINVAL;
    b->ol_flags |= PKT_OL_GSO;
    b->gso_type = type;
    b->gso_size = h->gso_size;
    b->hdr_len = h->hdr_len;
    return 0;
}

void pkt_vnet_hdr_make(const struct pkt_buf *b, struct virtio_net_hdr *h)
{
    memset(h, 0, sizeof(*h));
    h->num_buffers = 1;
    if (b->ol_flags & PKT_OL_CSUM_PARTIAL) {
        h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h->csum_start = b->csum_start;
        h->csum_offset = b->csum_offset;
    } else if (b->ol_flags & PKT_OL_CSUM_VALID) {
        h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
    }
    if (b->ol_flags & PKT_OL_GSO) {
        h->gso_type = b->gso_type;
        h->gso_size = b->gso_size;
        h->hdr_len = b->hdr_len;
    }
}
