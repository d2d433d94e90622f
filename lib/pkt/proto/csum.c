/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internet checksum and CRC-32C for packets. The sum is accumulated in
 * native byte order, 32 bits at a time into 64 bits (no carry can be lost
 * below 16 GiB), and swapped once at the end: the ones' complement sum is
 * byte-order independent (RFC 1071 2.B).
 */
#include <errno.h>
#include <string.h>

#include "kk_crc32c.h"
#include "pkt_csum.h"
#include "pkt_proto_internal.h"

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t add_halves(uint64_t w)
{
    return (w & 0xffffffffu) + (w >> 32);
}

uint32_t pkt_csum_add(uint32_t sum, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t acc = 0;

    while (len >= 32) {
        acc += add_halves(load64(p)) + add_halves(load64(p + 8)) + add_halves(load64(p + 16)) +
               add_halves(load64(p + 24));
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        acc += add_halves(load64(p));
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc += w;
        p += 2;
        len -= 2;
    }
    if (len) {
        /* The odd byte is the first byte of a word padded with zero. */
        uint16_t w = 0;
        memcpy(&w, p, 1);
        acc += w;
    }
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    uint16_t folded = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    folded = __builtin_bswap16(folded);
#endif
    return sum + folded;
}

uint32_t pkt_ipv4_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t l4_len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto +
           (l4_len >> 16) + (l4_len & 0xffff);
}

uint32_t pkt_ipv6_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                             uint32_t l4_len)
{
    uint32_t sum = pkt_csum_add(0, src, 16);
    sum = pkt_csum_add(sum, dst, 16);
    return sum + proto + (l4_len >> 16) + (l4_len & 0xffff);
}

uint16_t pkt_ipv4_hdr_csum(const uint8_t *ip, size_t hdr_len)
{
    uint32_t sum = pkt_csum_add(0, ip, 10);
    return pkt_csum_finish(pkt_csum_add(sum, ip + 12, hdr_len - 12));
}

uint16_t pkt_csum_update_bytes(uint16_t csum, const void *old_bytes, const void *new_bytes,
                               size_t len)
{
    uint16_t old_sum = (uint16_t)~pkt_csum_finish(pkt_csum_add(0, old_bytes, len));
    uint16_t new_sum = (uint16_t)~pkt_csum_finish(pkt_csum_add(0, new_bytes, len));
    return pkt_csum_update16(csum, old_sum, new_sum);
}

uint32_t pkt_sctp_csum(const uint8_t *sctp, size_t len)
{
    static const uint8_t zero[4];
    uint32_t crc = kk_crc32c(0, sctp, 8);
    crc = kk_crc32c(crc, zero, 4);
    return kk_crc32c(crc, sctp + PKT_SCTP_HDR_LEN, len - PKT_SCTP_HDR_LEN);
}

void pkt_sctp_csum_store(uint8_t *sctp, uint32_t crc)
{
    for (int i = 0; i < 4; i++)
        sctp[8 + i] = (uint8_t)(crc >> (8 * i));
}

uint32_t pkt_sctp_csum_load(const uint8_t *sctp)
{
    return (uint32_t)sctp[8] | (uint32_t)sctp[9] << 8 | (uint32_t)sctp[10] << 16 |
           (uint32_t)sctp[11] << 24;
}

/* The IPv4 header of a parsed frame, if the layout puts one in the buffer. */
static const uint8_t *ipv4_header(const uint8_t *frame, size_t len,
                                  const struct pkt_layout *lay, size_t *hdr_len)
{
    if (lay->l3 != PKT_LAYER_IPV4 || lay->l3_ofs == PKT_OFS_NONE ||
        (uint64_t)lay->l3_ofs + PKT_IPV4_HDR_LEN > len)
        return NULL;
    const uint8_t *ip = frame + lay->l3_ofs;
    size_t hl = (size_t)(ip[0] & 0xf) * 4;
    if (ip[0] >> 4 != 4 || hl < PKT_IPV4_HDR_LEN || lay->l3_ofs + hl > len)
        return NULL;
    *hdr_len = hl;
    return ip;
}

int pkt_ipv4_csum_verify(const uint8_t *frame, size_t len, const struct pkt_layout *lay)
{
    size_t hl;
    const uint8_t *ip = ipv4_header(frame, len, lay, &hl);
    if (!ip)
        return -ENOENT;
    return pkt_csum(ip, hl) == 0 ? 0 : -EBADMSG;
}

int pkt_ipv4_csum_set(uint8_t *frame, size_t len, const struct pkt_layout *lay)
{
    size_t hl;
    const uint8_t *ip = ipv4_header(frame, len, lay, &hl);
    if (!ip)
        return -ENOENT;
    pkt_put16(frame + lay->l3_ofs + 10, pkt_ipv4_hdr_csum(ip, hl));
    return 0;
}

/* Where an L4 checksum lives and what it covers. */
struct l4_span {
    uint32_t ofs, len;   /* covered bytes */
    uint32_t csum_ofs;   /* of the field, from ofs */
    uint32_t pseudo;     /* pseudo-header sum (0 for ICMP and SCTP) */
};

static int l4_span(const uint8_t *frame, size_t len, const struct pkt_layout *lay,
                   struct l4_span *s)
{
    uint32_t min;
    switch (lay->l4) {
    case PKT_LAYER_TCP:
        min = PKT_TCP_HDR_LEN;
        s->csum_ofs = 16;
        break;
    case PKT_LAYER_UDP:
        min = PKT_UDP_HDR_LEN;
        s->csum_ofs = 6;
        break;
    case PKT_LAYER_SCTP:
        min = PKT_SCTP_HDR_LEN;
        s->csum_ofs = 8;
        break;
    case PKT_LAYER_ICMP:
    case PKT_LAYER_ICMPV6:
        min = PKT_ICMP_HDR_LEN;
        s->csum_ofs = 2;
        break;
    default:
        return -ENOENT;
    }
    if (lay->l3 != PKT_LAYER_IPV4 && lay->l3 != PKT_LAYER_IPV6)
        return -ENOENT;
    if (lay->nw_frag == PKT_FRAG_FIRST)
        return -EAGAIN;
    if (lay->nw_frag != PKT_FRAG_NONE)
        return -ENOENT;
    uint32_t l3_min = lay->l3 == PKT_LAYER_IPV4 ? PKT_IPV4_HDR_LEN : PKT_IPV6_HDR_LEN;
    if (lay->ip_end == PKT_OFS_NONE || lay->ip_end > len || lay->l3_ofs == PKT_OFS_NONE ||
        lay->l4_ofs == PKT_OFS_NONE || (uint64_t)lay->l3_ofs + l3_min > lay->l4_ofs ||
        lay->l4_ofs > lay->ip_end || lay->ip_end - lay->l4_ofs < min)
        return -EINVAL;
    s->ofs = lay->l4_ofs;
    s->len = lay->ip_end - lay->l4_ofs;
    if (lay->l4 == PKT_LAYER_UDP) {
        uint32_t ulen = pkt_get16(frame + s->ofs + 4);
        if (ulen < PKT_UDP_HDR_LEN || ulen > s->len)
            return -EINVAL;
        s->len = ulen;
    }
    s->pseudo = 0;
    if (lay->l4 == PKT_LAYER_ICMP || lay->l4 == PKT_LAYER_SCTP)
        return 0;
    const uint8_t *ip = frame + lay->l3_ofs;
    if (lay->l3 == PKT_LAYER_IPV4)
        s->pseudo = pkt_ipv4_pseudo_sum(pkt_get32(ip + 12), pkt_get32(ip + 16), lay->l4_proto,
                                        s->len);
    else if (pkt__ipv6_routing_pending(frame, len, lay))
        return -ENOTSUP;
    else
        s->pseudo = pkt_ipv6_pseudo_sum(ip + 8, ip + 24, lay->l4_proto, s->len);
    return 0;
}

int pkt_l4_csum_verify(const uint8_t *frame, size_t len, const struct pkt_layout *lay)
{
    struct l4_span s;
    int rc = l4_span(frame, len, lay, &s);
    if (rc < 0)
        return rc;
    const uint8_t *l4 = frame + s.ofs;
    if (lay->l4_csum_partial)
        return -EINPROGRESS;
    if (lay->l4 == PKT_LAYER_SCTP)
        return pkt_sctp_csum(l4, s.len) == pkt_sctp_csum_load(l4) ? 0 : -EBADMSG;
    if (lay->l4 == PKT_LAYER_UDP && pkt_get16(l4 + 6) == 0)
        return lay->l3 == PKT_LAYER_IPV4 ? 1 : -EBADMSG;
    return pkt_csum_finish(pkt_csum_add(s.pseudo, l4, s.len)) == 0 ? 0 : -EBADMSG;
}

int pkt_l4_csum_set(uint8_t *frame, size_t len, const struct pkt_layout *lay)
{
    struct l4_span s;
    int rc = l4_span(frame, len, lay, &s);
    if (rc < 0)
        return rc;
    uint8_t *l4 = frame + s.ofs;
    if (lay->l4 == PKT_LAYER_SCTP) {
        pkt_sctp_csum_store(l4, pkt_sctp_csum(l4, s.len));
        return 0;
    }
    pkt_put16(l4 + s.csum_ofs, 0);
    uint16_t csum = pkt_csum_finish(pkt_csum_add(s.pseudo, l4, s.len));
    if (lay->l4 == PKT_LAYER_UDP && csum == 0)
        csum = 0xffff;
    pkt_put16(l4 + s.csum_ofs, csum);
    return 0;
}
