/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkt_csum.h — Internet checksum (RFC 1071), pseudo-header checksums for
 * TCP, UDP and ICMPv6 over IPv4 and IPv6, SCTP's CRC-32C, verification of
 * a parsed frame, and incremental updates (RFC 1624).
 *
 * Values: a "sum" is a ones' complement sum that is not yet folded or
 * inverted (uint32_t, any magnitude below 2^31); a "checksum" is the final
 * 16-bit field value. Both are in host byte order, as pkt_get16() would
 * read the field: store a checksum with pkt_put16().
 *
 * Pure functions: any thread, no allocation.
 */
#ifndef PKT_CSUM_H
#define PKT_CSUM_H

#include <stddef.h>
#include <stdint.h>

#include "pkt_proto.h"

/*
 * Add @len bytes at @buf, read as big-endian 16-bit words (an odd last byte
 * is padded with zero), to @sum. To checksum a message in pieces, every
 * piece but the last must have an even length. Reads 8 bytes at a time
 * with a 64-bit accumulator. @len up to 1 GiB per call.
 */
uint32_t pkt_csum_add(uint32_t sum, const void *buf, size_t len);

/* Fold @sum to 16 bits and invert it: the value to store in a checksum field. */
static inline uint16_t pkt_csum_finish(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* The Internet checksum of @buf (its checksum field, if any, must be 0). */
static inline uint16_t pkt_csum(const void *buf, size_t len)
{
    return pkt_csum_finish(pkt_csum_add(0, buf, len));
}

/* Pseudo-header sums (RFC 793 / 768 for IPv4, RFC 8200 8.1 for IPv6);
 * addresses are host order (IPv4) or wire bytes (IPv6), @l4_len is the
 * length of the transport header and payload. */
uint32_t pkt_ipv4_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t l4_len);
uint32_t pkt_ipv6_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                             uint32_t l4_len);

/*
 * The checksum an IPv4 header of @hdr_len bytes at @ip should carry; its
 * current checksum field is ignored. @hdr_len is IHL * 4 (20..60).
 */
uint16_t pkt_ipv4_hdr_csum(const uint8_t *ip, size_t hdr_len);

/*
 * Checks on a frame parsed by pkt_parse() into @lay (offsets must not have
 * moved since; @len the same as parsed or longer).
 *
 * pkt_ipv4_csum_verify: 0 if the IPv4 header checksum is right, -EBADMSG if
 * not, -ENOENT if the frame has no complete IPv4 header.
 *
 * pkt_l4_csum_verify: checks the TCP, UDP, SCTP (CRC-32C), ICMP or ICMPv6
 * checksum over the whole datagram. Returns 0 if right; 1 for UDP over IPv4
 * with checksum 0 (none sent); -EBADMSG if wrong (including UDP over IPv6
 * with checksum 0, RFC 8200 8.1); -ENOENT without one of those L4 headers
 * (also every later fragment); -EAGAIN for a first fragment (the checksum
 * covers the reassembled datagram); -EINPROGRESS when lay->l4_csum_partial
 * (offload will compute it); -ENOTSUP for IPv6 with a routing header
 * whose segments left is not zero (the pseudo-header's destination is the
 * final one, inside the routing header); -EINVAL if the datagram is not
 * entirely in the buffer.
 */
int pkt_ipv4_csum_verify(const uint8_t *frame, size_t len, const struct pkt_layout *lay);
int pkt_l4_csum_verify(const uint8_t *frame, size_t len, const struct pkt_layout *lay);

/*
 * Compute and store the checksum: IPv4 header, or the L4 one (UDP's 0 is
 * sent as 0xffff; over IPv4, an all-zero field is still recomputed). Same
 * preconditions and error codes as the verify functions; 0 on success.
 * pkt_l4_csum_set() also completes a checksum left to offload
 * (lay->l4_csum_partial): the caller then clears its offload flag.
 */
int pkt_ipv4_csum_set(uint8_t *frame, size_t len, const struct pkt_layout *lay);
int pkt_l4_csum_set(uint8_t *frame, size_t len, const struct pkt_layout *lay);

/*
 * RFC 1624 incremental update, eqn. 3: HC' = ~(~HC + ~m + m'). @csum is
 * the current field, @old and @new the 16-bit word that changes (any byte
 * order, as long as all three agree). A checksum that was right stays
 * right, and equals what a full recomputation gives; one that was wrong
 * stays wrong by the same amount.
 */
static inline uint16_t pkt_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word)
{
    uint32_t sum = (uint32_t)(uint16_t)~csum + (uint16_t)~old_word + new_word;
    return pkt_csum_finish(sum);
}

/* The same for an aligned 32-bit field (e.g. an IPv4 address), host order. */
static inline uint16_t pkt_csum_update32(uint16_t csum, uint32_t old_word, uint32_t new_word)
{
    uint32_t sum = (uint32_t)(uint16_t)~csum + (uint16_t)~(old_word >> 16) +
                   (uint16_t)~old_word + (new_word >> 16) + (new_word & 0xffff);
    return pkt_csum_finish(sum);
}

/* The same for @len bytes (even, at an even offset of the covered data,
 * e.g. an IPv6 address) changing from @old_bytes to @new_bytes. */
uint16_t pkt_csum_update_bytes(uint16_t csum, const void *old_bytes, const void *new_bytes,
                               size_t len);

/*
 * The same changes applied to a field that holds a folded sum rather than
 * its complement (a checksum left to offload: the pseudo-header sum).
 */
static inline uint16_t pkt_csum_sum_update32(uint16_t sum, uint32_t old_word, uint32_t new_word)
{
    return (uint16_t)~pkt_csum_update32((uint16_t)~sum, old_word, new_word);
}

/*
 * UDP's rule for the above (RFC 768): a zero checksum means "none" and
 * stays zero; a result of zero is sent as 0xffff.
 */
static inline uint16_t pkt_udp_csum_fixup(uint16_t old_csum, uint16_t updated)
{
    if (old_csum == 0)
        return 0;
    return updated ? updated : 0xffff;
}

/*
 * SCTP's CRC-32C (RFC 9260 appendix A) over @len bytes at @sctp (common
 * header and chunks), with the checksum field counted as zero. The wire
 * carries the CRC least significant byte first: write and read the field
 * with pkt_sctp_csum_store() / pkt_sctp_csum_load().
 */
uint32_t pkt_sctp_csum(const uint8_t *sctp, size_t len);
void pkt_sctp_csum_store(uint8_t *sctp, uint32_t crc);
uint32_t pkt_sctp_csum_load(const uint8_t *sctp);

#endif /* PKT_CSUM_H */
