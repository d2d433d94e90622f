/* SPDX-License-Identifier: Apache-2.0 */
/* The port types (one file each); not public. */
#ifndef KK_PKT_PORT_INTERNAL_H
#define KK_PKT_PORT_INTERNAL_H

#include "port.h"
#include "virtio_spec.h"

extern const struct pkt_port_ops pkt_port_ring_ops;
extern const struct pkt_port_ops pkt_port_tap_ops;
extern const struct pkt_port_ops pkt_port_afpacket_ops;
extern const struct pkt_port_ops pkt_port_pcap_ops;
extern const struct pkt_port_ops pkt_port_vhost_ops;
extern const struct pkt_port_ops pkt_port_afxdp_ops;

/*
 * virtio-net headers (vhost-user guests, taps with IFF_VNET_HDR) <-> the
 * offload fields of a packet. The header is untrusted: checksum and
 * segmentation requests are checked against the packet's length. Returns
 * 0, or -EINVAL (the frame should be dropped and counted as an error).
 */
int pkt_vnet_hdr_apply(struct pkt_buf *b, const struct virtio_net_hdr *h);
/* The header describing @b's offload requests (num_buffers = 1). */
void pkt_vnet_hdr_make(const struct pkt_buf *b, struct virtio_net_hdr *h);

#endif /* KK_PKT_PORT_INTERNAL_H */
