/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkt_edit.h — header rewrites for OpenFlow actions: push_vlan, pop_vlan,
 * set_field on VLAN, Ethernet, IPv4, IPv6 and L4 ports, with the checksums
 * that cover the field fixed up incrementally (RFC 1624), so a checksum
 * that was wrong stays exactly as wrong and one that was right stays right.
 *
 * Buffer model for push/pop: a frame lives inside a larger buffer
 *
 *     buf                buf + *headroom              + *len
 *     |<--- headroom --->|<-------- frame ------------>|
 *
 * (a pkt buffer's data offset and data length). Pushing a tag moves the
 * 12 address bytes 4 bytes towards buf and grows the frame at its front,
 * so only 12 bytes are copied whatever the frame size; popping does the
 * reverse. Both update *headroom and *len; nothing after the frame is
 * touched, so no tailroom is needed.
 *
 * The set functions take the layout pkt_parse() produced for this frame;
 * a push or pop moves every offset after the Ethernet addresses, so parse
 * again (or adjust the offsets) after one. They check that the layout's
 * offsets lie inside @len before writing. They do not update a struct
 * pkt_flow: the caller owns the flow key.
 *
 * Checksum offload: when lay->l4_csum_partial is set, the L4 checksum
 * field holds the pseudo-header sum that the device or guest completes.
 * Address rewrites then update that sum (IPv4 and IPv6 addresses are in
 * the pseudo-header); port rewrites leave it alone (ports are summed by
 * the offload), and SCTP's CRC is not recomputed.
 *
 * Errors (nothing is written on error): -EINVAL for a layout or length
 * that does not fit the frame, -ENOENT when the frame lacks the header,
 * -ENOSPC when the headroom is too small.
 *
 * Pure functions on caller-owned memory: any thread, no allocation.
 */
#ifndef PKT_EDIT_H
#define PKT_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "pkt_proto.h"

/*
 * Insert a VLAN tag (@tpid 0x8100 or 0x88a8 — any value is written as
 * given; @tci host order) as the outermost tag of the frame at
 * buf + *headroom. The frame must hold an Ethernet header (14 bytes) and
 * *headroom must be >= 4. On success *headroom -= 4, *len += 4.
 * OpenFlow's push_vlan copies the VID and PCP of an existing outer tag;
 * pass that TCI here (see pkt_vlan_outer_tci).
 */
int pkt_vlan_push(uint8_t *buf, size_t *headroom, size_t *len, uint16_t tpid, uint16_t tci);

/*
 * Remove the outermost VLAN tag (TPID 0x8100 or 0x88a8). The removed TPID
 * and TCI go to @tpid and @tci when not NULL. On success *headroom += 4,
 * *len -= 4. -ENOENT if the frame has no tag (or is shorter than a tagged
 * Ethernet header).
 */
int pkt_vlan_pop(uint8_t *buf, size_t *headroom, size_t *len, uint16_t *tpid, uint16_t *tci);

/* The outermost tag's TCI in *tci: 0, or -ENOENT if the frame is untagged. */
int pkt_vlan_outer_tci(const uint8_t *frame, size_t len, uint16_t *tci);

/* Replace the bits of the outermost TCI selected by @mask with those of
 * @tci (e.g. mask PKT_VLAN_VID_MASK for set_field vlan_vid). */
int pkt_vlan_set_tci(uint8_t *frame, size_t len, uint16_t tci, uint16_t mask);

/* Set the Ethernet source and/or destination (NULL leaves one alone). */
int pkt_set_eth_addrs(uint8_t *frame, size_t len, const uint8_t *src, const uint8_t *dst);

/*
 * Set the IPv4 source or destination address (host order). Fixes the IPv4
 * header checksum and, when the frame has a TCP or UDP header (first
 * fragments included: their checksum covers the whole datagram), its
 * pseudo-header checksum; UDP's zero checksum stays zero.
 */
int pkt_set_ipv4_src(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint32_t addr);
int pkt_set_ipv4_dst(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint32_t addr);

/*
 * Set the IPv6 source or destination (16 bytes). Fixes the TCP, UDP or
 * ICMPv6 checksum (UDP's zero checksum stays zero), except for the
 * destination of a frame with a routing header whose segments left is not
 * zero: its pseudo-header holds the final destination, which this does not
 * change (RFC 8200 8.1).
 */
int pkt_set_ipv6_src(uint8_t *frame, size_t len, const struct pkt_layout *lay,
                     const uint8_t addr[16]);
int pkt_set_ipv6_dst(uint8_t *frame, size_t len, const struct pkt_layout *lay,
                     const uint8_t addr[16]);

/*
 * Replace the bits of the IPv4 TOS / IPv6 traffic class selected by @mask
 * with those of @tos (DSCP: mask 0xfc, value dscp << 2; ECN: mask 0x03).
 * Fixes the IPv4 header checksum.
 */
int pkt_set_ip_tos(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint8_t tos,
                   uint8_t mask);

/* Set the IPv4 TTL (fixing the header checksum) or the IPv6 hop limit. */
int pkt_set_ip_ttl(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint8_t ttl);

/*
 * Set the TCP, UDP or SCTP source or destination port (host order), with
 * the TCP/UDP checksum updated incrementally, or SCTP's CRC-32C recomputed
 * over the datagram (which must then be wholly in the buffer, else
 * -EINVAL) keeping any error the old CRC had.
 */
int pkt_set_tp_src(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint16_t port);
int pkt_set_tp_dst(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint16_t port);

#endif /* PKT_EDIT_H */
