/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny packet builder for the pkt_proto tests, and reference checksums
 * written independently of lib/pkt/proto (one 16-bit big-endian word at a
 * time, bitwise CRC-32C), so the library is checked against something it
 * does not share code with.
 *
 * Each header call appends bytes and records a "mark": where the header
 * starts and ends, the layer pkt_parse() must blame when the frame is cut
 * inside it, and the PKT_HAS_* bits its completion earns. b_finish() fills
 * lengths and checksums.
 */
#ifndef PKT_BUILD_H
#define PKT_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pkt_proto.h"

#define B_MAX_MARKS 24

struct b_mark {
    uint32_t start, end;
    uint8_t layer;
    uint32_t has;
};

struct bld {
    uint8_t b[2048];
    uint32_t n;
    uint32_t l3, l4, payload; /* offsets of the L3 header, L4 header, payload */
    uint32_t frag6;           /* offset of the IPv6 fragment header, or 0 */
    int ip;                   /* 0, 4 or 6 */
    uint8_t l4_proto;         /* what sits at l4 (0: nothing to checksum) */
    int l4_kind;              /* PKT_LAYER_* at l4 */
    struct b_mark marks[B_MAX_MARKS];
    unsigned n_marks;
};

static const uint8_t B_DST[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t B_SRC[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
static const uint8_t B_IP6_SRC[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t B_IP6_DST[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                                      0x12, 0x34, 0x56, 0xff, 0xfe, 0x78, 0x9a, 0xbc};
#define B_IP4_SRC 0xc0a80001u /* 192.168.0.1 */
#define B_IP4_DST 0x0a000002u /* 10.0.0.2 */

static inline void b_init(struct bld *b)
{
    memset(b, 0, sizeof(*b));
}

static inline void b_mark(struct bld *b, uint32_t start, uint8_t layer, uint32_t has)
{
    if (b->n_marks < B_MAX_MARKS)
        b->marks[b->n_marks++] = (struct b_mark){start, b->n, layer, has};
}

static inline void b_u8(struct bld *b, uint8_t v)
{
    b->b[b->n++] = v;
}

static inline void b_u16(struct bld *b, uint16_t v)
{
    b_u8(b, (uint8_t)(v >> 8));
    b_u8(b, (uint8_t)v);
}

static inline void b_u32(struct bld *b, uint32_t v)
{
    b_u16(b, (uint16_t)(v >> 16));
    b_u16(b, (uint16_t)v);
}

static inline void b_bytes(struct bld *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += (uint32_t)n;
}

static inline void b_eth(struct bld *b, uint16_t type)
{
    b_bytes(b, B_DST, 6);
    b_bytes(b, B_SRC, 6);
    b_u16(b, type);
    b_mark(b, 0, PKT_LAYER_ETH, PKT_HAS_ETH);
}

/* The TCI and next EtherType of a tag whose TPID was the previous type. */
static inline void b_tag(struct bld *b, uint16_t tci, uint16_t next_type)
{
    uint32_t s = b->n;
    b_u16(b, tci);
    b_u16(b, next_type);
    b_mark(b, s, PKT_LAYER_VLAN, PKT_HAS_VLAN);
}

static inline void b_snap(struct bld *b, uint16_t type)
{
    uint32_t s = b->n;
    static const uint8_t llc[6] = {0xaa, 0xaa, 0x03, 0, 0, 0};
    b_bytes(b, llc, 6);
    b_u16(b, type);
    b_mark(b, s, PKT_LAYER_ETH, 0);
}

static inline void b_arp(struct bld *b, uint16_t op)
{
    uint32_t s = b->l3 = b->n;
    b_u16(b, 1);
    b_u16(b, 0x0800);
    b_u8(b, 6);
    b_u8(b, 4);
    b_u16(b, op);
    b_bytes(b, B_SRC, 6);
    b_u32(b, B_IP4_SRC);
    b_bytes(b, B_DST, 6);
    b_u32(b, B_IP4_DST);
    b_mark(b, s, PKT_LAYER_ARP, PKT_HAS_ARP);
    b->payload = b->n;
}

static inline void b_ipv4(struct bld *b, uint8_t proto, uint16_t frag_off, const uint8_t *opt,
                          size_t opt_len)
{
    b->l3 = b->n;
    b->ip = 4;
    b_u8(b, (uint8_t)(0x40 | (5 + opt_len / 4)));
    b_u8(b, 0xb9); /* DSCP 46, ECN 1 */
    b_u16(b, 0);   /* total length: b_finish */
    b_u16(b, 0x1234);
    b_u16(b, frag_off);
    b_u8(b, 64);
    b_u8(b, proto);
    b_u16(b, 0);
    b_u32(b, B_IP4_SRC);
    b_u32(b, B_IP4_DST);
    if (opt_len)
        b_bytes(b, opt, opt_len);
    b_mark(b, b->l3, PKT_LAYER_IPV4, PKT_HAS_IPV4 | (opt_len ? PKT_HAS_IP_OPTIONS : 0));
    b->l4 = b->payload = b->n;
    b->l4_proto = proto;
}

static inline void b_ipv6(struct bld *b, uint8_t next)
{
    b->l3 = b->n;
    b->ip = 6;
    b_u32(b, 0x6a512345u); /* traffic class 0xa5, flow label 0x12345 */
    b_u16(b, 0);           /* payload length: b_finish */
    b_u8(b, next);
    b_u8(b, 255);
    b_bytes(b, B_IP6_SRC, 16);
    b_bytes(b, B_IP6_DST, 16);
    b_mark(b, b->l3, PKT_LAYER_IPV6, PKT_HAS_IPV6);
    b->l4 = b->payload = b->n;
}

/*
 * An IPv6 extension header @type of @len bytes (a multiple of 8; of 4 for
 * AH) followed by @next. Options headers are filled with a PadN option.
 */
static inline void b_ext(struct bld *b, uint8_t type, uint8_t next, uint32_t len)
{
    uint32_t s = b->n;
    b_u8(b, next);
    b_u8(b, (uint8_t)(type == PKT_IPPROTO_AH ? len / 4 - 2 : len / 8 - 1));
    if (type == PKT_IPPROTO_HOPOPTS || type == PKT_IPPROTO_DSTOPTS) {
        b_u8(b, 1); /* PadN */
        b_u8(b, (uint8_t)(len - 4));
    } else if (type == PKT_IPPROTO_ROUTING) {
        b_u8(b, 4); /* routing type: SRH, segments left 0 */
        b_u8(b, 0);
    } else {
        b_u16(b, 0);
    }
    while (b->n < s + len)
        b_u8(b, (uint8_t)(type == PKT_IPPROTO_AH ? 0x5a : 0));
    b_mark(b, s, PKT_LAYER_IPV6_EXT, PKT_HAS_IP_OPTIONS);
    b->l4 = b->payload = b->n;
}

static inline void b_frag6(struct bld *b, uint8_t next, uint16_t off_flags)
{
    uint32_t s = b->frag6 = b->n;
    b_u8(b, next);
    b_u8(b, 0);
    b_u16(b, off_flags);
    b_u32(b, 0xdeadbeef);
    b_mark(b, s, PKT_LAYER_IPV6_EXT, PKT_HAS_IP_OPTIONS);
    b->l4 = b->payload = b->n;
}

static inline void b_tcp(struct bld *b, uint16_t sport, uint16_t dport, uint16_t flags,
                         uint32_t opt_len)
{
    uint32_t s = b->l4 = b->n;
    b->l4_proto = PKT_IPPROTO_TCP;
    b->l4_kind = PKT_LAYER_TCP;
    b_u16(b, sport);
    b_u16(b, dport);
    b_u32(b, 0x01020304);
    b_u32(b, 0x0a0b0c0d);
    b_u16(b, (uint16_t)(((5 + opt_len / 4) << 12) | flags));
    b_u16(b, 8192);
    b_u16(b, 0);
    b_u16(b, 0);
    for (uint32_t i = 0; i < opt_len; i++)
        b_u8(b, 1); /* NOP */
    b_mark(b, s, PKT_LAYER_TCP, PKT_HAS_TCP);
    b->payload = b->n;
}

static inline void b_udp(struct bld *b, uint16_t sport, uint16_t dport)
{
    uint32_t s = b->l4 = b->n;
    b->l4_proto = PKT_IPPROTO_UDP;
    b->l4_kind = PKT_LAYER_UDP;
    b_u16(b, sport);
    b_u16(b, dport);
    b_u16(b, 0);
    b_u16(b, 0);
    b_mark(b, s, PKT_LAYER_UDP, PKT_HAS_UDP);
    b->payload = b->n;
}

static inline void b_sctp(struct bld *b, uint16_t sport, uint16_t dport)
{
    uint32_t s = b->l4 = b->n;
    b->l4_proto = PKT_IPPROTO_SCTP;
    b->l4_kind = PKT_LAYER_SCTP;
    b_u16(b, sport);
    b_u16(b, dport);
    b_u32(b, 0x11223344);
    b_u32(b, 0);
    b_mark(b, s, PKT_LAYER_SCTP, PKT_HAS_SCTP);
    b->payload = b->n;
}

static inline void b_icmp(struct bld *b, uint8_t type, uint8_t code, uint32_t rest)
{
    uint32_t s = b->l4 = b->n;
    bool v6 = b->ip == 6;
    b->l4_proto = v6 ? PKT_IPPROTO_ICMPV6 : PKT_IPPROTO_ICMP;
    b->l4_kind = v6 ? PKT_LAYER_ICMPV6 : PKT_LAYER_ICMP;
    b_u8(b, type);
    b_u8(b, code);
    b_u16(b, 0);
    b_u32(b, rest);
    b_mark(b, s, (uint8_t)b->l4_kind, v6 ? PKT_HAS_ICMPV6 : PKT_HAS_ICMP);
    b->payload = b->n;
}

/* The ND target after b_icmp(); completes ND until an option follows. */
static inline void b_nd_target(struct bld *b, const uint8_t target[16])
{
    uint32_t s = b->n;
    b_bytes(b, target, 16);
    b_mark(b, s, PKT_LAYER_ND, PKT_HAS_ND);
    b->payload = b->n;
}

/* An ND option of @units * 8 bytes; a link-layer address if units == 1. */
static inline void b_nd_opt(struct bld *b, uint8_t type, uint8_t units, const uint8_t *mac)
{
    uint32_t s = b->n;
    for (unsigned i = 0; i < b->n_marks; i++)
        if (b->marks[i].layer == PKT_LAYER_ND)
            b->marks[i].has &= ~PKT_HAS_ND;
    b_u8(b, type);
    b_u8(b, units);
    for (unsigned i = 0; i < units * 8u - 2; i++)
        b_u8(b, mac && i < 6 ? mac[i] : (uint8_t)i);
    b_mark(b, s, PKT_LAYER_ND, PKT_HAS_ND);
    b->payload = b->n;
}

static inline void b_payload(struct bld *b, uint32_t n)
{
    uint32_t s = b->n;
    for (uint32_t i = 0; i < n; i++)
        b_u8(b, (uint8_t)(i * 7 + 3));
    if (n)
        b_mark(b, s, PKT_LAYER_PAYLOAD, 0);
}

/* ---- Reference checksums ---- */

static inline uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static inline uint16_t ref_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static inline uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    return ~crc;
}

/* The L4 checksum of the datagram from @l4 to the end (pseudo header
 * included), with the checksum field as it is in the buffer. */
static inline uint16_t ref_l4_csum(const struct bld *b)
{
    uint32_t len = b->n - b->l4;
    uint32_t sum = 0;
    const uint8_t *ip = b->b + b->l3;
    if (b->l4_proto != PKT_IPPROTO_ICMP) {
        if (b->ip == 4)
            sum = ref_sum(sum, ip + 12, 8);
        else
            sum = ref_sum(sum, ip + 8, 32);
        sum += b->l4_proto + (len >> 16) + (len & 0xffff);
    }
    return ref_fold(ref_sum(sum, b->b + b->l4, len));
}

/* Lengths and checksums. Fragments (no L4 kind) get no L4 checksum. */
static inline void b_finish(struct bld *b)
{
    uint8_t *ip = b->b + b->l3;
    if (b->ip == 4) {
        uint32_t hl = (uint32_t)(ip[0] & 0xf) * 4;
        ip[2] = (uint8_t)((b->n - b->l3) >> 8);
        ip[3] = (uint8_t)(b->n - b->l3);
        ip[10] = ip[11] = 0;
        uint16_t c = ref_fold(ref_sum(0, ip, hl));
        ip[10] = (uint8_t)(c >> 8);
        ip[11] = (uint8_t)c;
    } else if (b->ip == 6) {
        uint32_t pl = b->n - b->l3 - 40;
        ip[4] = (uint8_t)(pl >> 8);
        ip[5] = (uint8_t)pl;
    }
    if (!b->ip || !b->l4_kind)
        return;
    uint8_t *l4 = b->b + b->l4;
    uint32_t len = b->n - b->l4;
    switch (b->l4_kind) {
    case PKT_LAYER_TCP:
        l4[16] = l4[17] = 0;
        {
            uint16_t c = ref_l4_csum(b);
            l4[16] = (uint8_t)(c >> 8);
            l4[17] = (uint8_t)c;
        }
        break;
    case PKT_LAYER_UDP:
        l4[4] = (uint8_t)(len >> 8);
        l4[5] = (uint8_t)len;
        l4[6] = l4[7] = 0;
        {
            uint16_t c = ref_l4_csum(b);
            if (c == 0)
                c = 0xffff;
            l4[6] = (uint8_t)(c >> 8);
            l4[7] = (uint8_t)c;
        }
        break;
    case PKT_LAYER_ICMP:
    case PKT_LAYER_ICMPV6:
        l4[2] = l4[3] = 0;
        {
            uint16_t c = ref_l4_csum(b);
            l4[2] = (uint8_t)(c >> 8);
            l4[3] = (uint8_t)c;
        }
        break;
    case PKT_LAYER_SCTP: {
        memset(l4 + 8, 0, 4);
        uint32_t crc = ref_crc32c(l4, len);
        for (int i = 0; i < 4; i++)
            l4[8 + i] = (uint8_t)(crc >> (8 * i));
        break;
    }
    default:
        break;
    }
}

#endif /* PKT_BUILD_H */
