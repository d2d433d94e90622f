/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow keys: extraction from lib/pkt/proto's parse, hashing, and the text
 * form (format and parse). See flow.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "kk_common.h"
#include "kk_hash.h"

_Static_assert(offsetof(struct sw_flow_key, dl_dst) == SW_SEG_L2_WORD * 8, "L2 segment");
_Static_assert(offsetof(struct sw_flow_key, nw_src) == SW_SEG_L3_WORD * 8, "L3 segment");
_Static_assert(offsetof(struct sw_flow_key, tp_src) == SW_SEG_L4_WORD * 8, "L4 segment");
_Static_assert(offsetof(struct sw_flow_key, nd_target) % 8 == 0, "nd_target aligned");

/* ---- the field table ---------------------------------------------------- */

enum ftype { FT_INT, FT_MAC, FT_IPV4, FT_IPV6 };

struct field {
    const char *name;
    uint8_t ofs;
    uint8_t size;  /* bytes */
    uint8_t type;  /* enum ftype */
    bool hex;      /* an exact integer is printed in hex */
    uint64_t max;  /* FT_INT: every valid bit */
};

#define F(n, member, t, h, m) \
    {n, offsetof(struct sw_flow_key, member), sizeof(((struct sw_flow_key *)0)->member), t, h, m}

enum {
    F_IN_PORT, F_RECIRC, F_DL_SRC, F_DL_DST, F_DL_TYPE, F_VLAN_TCI, F_VLAN_TPID, F_VLAN_TCI2,
    F_VLAN_TPID2, F_NW_SRC, F_NW_DST, F_IPV6_SRC, F_IPV6_DST, F_IPV6_LABEL, F_NW_PROTO,
    F_NW_TOS, F_NW_TTL, F_NW_FRAG, F_TP_SRC, F_TP_DST, F_TCP_FLAGS, F_ARP_SHA, F_ARP_THA,
    F_ND_TARGET, F_METADATA, F_COUNT
};

static const struct field fields[F_COUNT] = {
    [F_IN_PORT] = F("in_port", in_port, FT_INT, false, UINT32_MAX),
    [F_RECIRC] = F("recirc_id", recirc_id, FT_INT, true, UINT32_MAX),
    [F_DL_SRC] = F("dl_src", dl_src, FT_MAC, false, 0),
    [F_DL_DST] = F("dl_dst", dl_dst, FT_MAC, false, 0),
    [F_DL_TYPE] = F("dl_type", dl_type, FT_INT, true, 0xffff),
    [F_VLAN_TCI] = F("vlan_tci", vlan_tci, FT_INT, true, 0xffff),
    [F_VLAN_TPID] = F("vlan_tpid", vlan_tpid, FT_INT, true, 0xffff),
    [F_VLAN_TCI2] = F("vlan_tci2", vlan_tci2, FT_INT, true, 0xffff),
    [F_VLAN_TPID2] = F("vlan_tpid2", vlan_tpid2, FT_INT, true, 0xffff),
    [F_NW_SRC] = F("nw_src", nw_src, FT_IPV4, false, 0),
    [F_NW_DST] = F("nw_dst", nw_dst, FT_IPV4, false, 0),
    [F_IPV6_SRC] = F("ipv6_src", ipv6_src, FT_IPV6, false, 0),
    [F_IPV6_DST] = F("ipv6_dst", ipv6_dst, FT_IPV6, false, 0),
    [F_IPV6_LABEL] = F("ipv6_label", ipv6_label, FT_INT, true, 0xfffff),
    [F_NW_PROTO] = F("nw_proto", nw_proto, FT_INT, false, 0xff),
    [F_NW_TOS] = F("nw_tos", nw_tos, FT_INT, true, 0xff),
    [F_NW_TTL] = F("nw_ttl", nw_ttl, FT_INT, false, 0xff),
    [F_NW_FRAG] = F("nw_frag", nw_frag, FT_INT, true, SW_FRAG_MASK),
    [F_TP_SRC] = F("tp_src", tp_src, FT_INT, false, 0xffff),
    [F_TP_DST] = F("tp_dst", tp_dst, FT_INT, false, 0xffff),
    [F_TCP_FLAGS] = F("tcp_flags", tcp_flags, FT_INT, true, SW_TCP_FLAGS_MASK),
    [F_ARP_SHA] = F("arp_sha", arp_sha, FT_MAC, false, 0),
    [F_ARP_THA] = F("arp_tha", arp_tha, FT_MAC, false, 0),
    [F_ND_TARGET] = F("nd_target", nd_target, FT_IPV6, false, 0),
    [F_METADATA] = F("metadata", metadata, FT_INT, true, UINT64_MAX),
};

static const struct {
    const char *name;
    int field;
} aliases[] = {
    {"arp_spa", F_NW_SRC},      {"arp_tpa", F_NW_DST},      {"arp_op", F_NW_PROTO},
    {"icmp_type", F_TP_SRC},    {"icmp_code", F_TP_DST},    {"icmpv6_type", F_TP_SRC},
    {"icmpv6_code", F_TP_DST},  {"nd_sll", F_ARP_SHA},      {"nd_tll", F_ARP_THA},
};

static const struct {
    const char *name;
    uint16_t dl_type;
    int16_t nw_proto; /* -1: none */
} shorthands[] = {
    {"ip", PKT_ETH_TYPE_IPV4, -1},
    {"ipv6", PKT_ETH_TYPE_IPV6, -1},
    {"arp", PKT_ETH_TYPE_ARP, -1},
    {"tcp", PKT_ETH_TYPE_IPV4, PKT_IPPROTO_TCP},
    {"udp", PKT_ETH_TYPE_IPV4, PKT_IPPROTO_UDP},
    {"sctp", PKT_ETH_TYPE_IPV4, PKT_IPPROTO_SCTP},
    {"icmp", PKT_ETH_TYPE_IPV4, PKT_IPPROTO_ICMP},
    {"tcp6", PKT_ETH_TYPE_IPV6, PKT_IPPROTO_TCP},
    {"udp6", PKT_ETH_TYPE_IPV6, PKT_IPPROTO_UDP},
    {"sctp6", PKT_ETH_TYPE_IPV6, PKT_IPPROTO_SCTP},
    {"icmp6", PKT_ETH_TYPE_IPV6, PKT_IPPROTO_ICMPV6},
};

static const char *const tcp_flag_names[] = {"fin", "syn", "rst", "psh", "ack", "urg",
                                             "ece", "cwr", "ns"};

static uint64_t get_int(const struct sw_flow_key *k, const struct field *f)
{
    const uint8_t *p = (const uint8_t *)k + f->ofs;
    switch (f->size) {
    case 1:
        return *p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static void set_int(struct sw_flow_key *k, const struct field *f, uint64_t v)
{
    uint8_t *p = (uint8_t *)k + f->ofs;
    if (f->size == 1) {
        *p = (uint8_t)v;
    } else if (f->size == 2) {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
    } else if (f->size == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

static const uint8_t *field_bytes(const struct sw_flow_key *k, const struct field *f)
{
    return (const uint8_t *)k + f->ofs;
}

static bool bytes_zero(const uint8_t *p, size_t n)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= p[i];
    return any == 0;
}

static bool bytes_ones(const uint8_t *p, size_t n)
{
    uint8_t all = 0xff;
    for (size_t i = 0; i < n; i++)
        all &= p[i];
    return all == 0xff;
}

/* ---- masks and hashes --------------------------------------------------- */

void sw_flow_mask_exact(struct sw_flow_mask *mask)
{
    struct sw_flow_key *m = &mask->masks;
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < F_COUNT; i++) {
        const struct field *f = &fields[i];
        if (f->type == FT_INT)
            set_int(m, f, f->max);
        else
            memset((uint8_t *)m + f->ofs, 0xff, f->size);
    }
}

uint64_t sw_flow_hash_masked(const struct sw_flow_key *key, const struct sw_flow_mask *mask,
                             uint64_t seed)
{
    const uint64_t *k = sw_flow_key_words(key), *m = sw_flow_key_words(&mask->masks);
    uint64_t h = seed;
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
        h = kk_hash_combine(h, k[i] & m[i]);
    return h;
}

/* ---- extraction --------------------------------------------------------- */

static uint16_t vlan_tci(const struct pkt_vlan *v)
{
    return (uint16_t)((v->pcp & 7) << SW_VLAN_PCP_SHIFT | SW_VLAN_PRESENT |
                      (v->vid & SW_VLAN_VID_MASK));
}

static uint8_t frag_bits(uint8_t frag)
{
    switch (frag) {
    case PKT_FRAG_FIRST:
        return SW_FRAG_ANY;
    case PKT_FRAG_LATER:
        return SW_FRAG_ANY | SW_FRAG_LATER;
    default:
        return 0;
    }
}

void sw_flow_from_pkt(const struct pkt_flow *flow, struct sw_flow_key *key)
{
    memset(key, 0, sizeof(*key));
    key->in_port = flow->in_port;
    uint32_t has = flow->layers;
    if (has & PKT_HAS_ETH) {
        memcpy(key->dl_dst, flow->dl_dst, 6);
        memcpy(key->dl_src, flow->dl_src, 6);
        key->dl_type = flow->dl_type;
    }
    if (flow->n_vlans >= 1) {
        key->vlan_tci = vlan_tci(&flow->vlans[0]);
        key->vlan_tpid = flow->vlans[0].tpid;
    }
    if (flow->n_vlans >= 2) {
        key->vlan_tci2 = vlan_tci(&flow->vlans[1]);
        key->vlan_tpid2 = flow->vlans[1].tpid;
    }
    if (has & PKT_HAS_ARP) {
        key->nw_src = flow->arp_spa;
        key->nw_dst = flow->arp_tpa;
        key->nw_proto = (uint8_t)flow->arp_op;
        memcpy(key->arp_sha, flow->arp_sha, 6);
        memcpy(key->arp_tha, flow->arp_tha, 6);
    }
    if (has & (PKT_HAS_IPV4 | PKT_HAS_IPV6)) {
        if (has & PKT_HAS_IPV4) {
            key->nw_src = flow->nw_src;
            key->nw_dst = flow->nw_dst;
        } else {
            memcpy(key->ipv6_src, flow->ipv6_src, 16);
            memcpy(key->ipv6_dst, flow->ipv6_dst, 16);
            key->ipv6_label = flow->ipv6_label & 0xfffff;
        }
        key->nw_proto = flow->nw_proto;
        key->nw_tos = flow->nw_tos;
        key->nw_ttl = flow->nw_ttl;
        key->nw_frag = frag_bits(flow->nw_frag);
    }
    if (has & (PKT_HAS_TCP | PKT_HAS_UDP | PKT_HAS_SCTP)) {
        key->tp_src = flow->tp_src;
        key->tp_dst = flow->tp_dst;
        if (has & PKT_HAS_TCP)
            key->tcp_flags = flow->tcp_flags & SW_TCP_FLAGS_MASK;
    } else if (has & (PKT_HAS_ICMP | PKT_HAS_ICMPV6)) {
        key->tp_src = flow->icmp_type;
        key->tp_dst = flow->icmp_code;
    }
    if (has & PKT_HAS_ND) {
        memcpy(key->nd_target, flow->nd_target, 16);
        memcpy(key->arp_sha, flow->nd_sll, 6);
        memcpy(key->arp_tha, flow->nd_tll, 6);
    }
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The key is built as whole 64-bit words in registers and stored once per
 * word: narrow field stores followed by the word loads of hashing and
 * comparing would stall on store forwarding. Little-endian layout: */
_Static_assert(offsetof(struct sw_flow_key, dl_type) == 20 &&
                   offsetof(struct sw_flow_key, vlan_tci) == 22 &&
                   offsetof(struct sw_flow_key, vlan_tpid) == 24 &&
                   offsetof(struct sw_flow_key, nw_dst) == 36 &&
                   offsetof(struct sw_flow_key, nw_proto) == 76 &&
                   offsetof(struct sw_flow_key, nw_tos) == 77 &&
                   offsetof(struct sw_flow_key, nw_ttl) == 78 &&
                   offsetof(struct sw_flow_key, tp_dst) == 82 &&
                   offsetof(struct sw_flow_key, tcp_flags) == 84,
               "extract_fast's word layout");
#define FAST_WORDS 1
#endif

/*
 * The frames a datapath mostly sees, in one pass straight into the key:
 * Ethernet, at most one VLAN tag, then either an EtherType the parser does
 * not look into, or IPv4 without options, not a fragment, the whole
 * datagram captured, carrying a complete and valid TCP, UDP, SCTP or ICMP
 * header or another protocol. Every check the full parser makes on such a
 * frame is made here, and the key comes out byte for byte as
 * sw_flow_from_pkt(pkt_parse()) would make it (with status PKT_OK; the
 * unit test and the fuzz target compare both). Anything else returns false
 * (the key untouched) and goes to the full parser. Big-endian hosts always
 * take the full parser.
 */
#ifdef FAST_WORDS
/*
 * The parsing half of extract_fast(): the checks and the words that depend
 * on the frame (w2's type and tag, w3, w4, w9, w10), shared with
 * sw_flow_extract_simple() so that both accept exactly the same frames.
 * Always inlined: each caller's unused words cost nothing.
 */
static inline __attribute__((always_inline)) bool
parse_fast(const uint8_t *d, size_t len, size_t frame_len, uint16_t *type_out, uint16_t *tci_out,
           uint64_t *w3_out, uint64_t *w4_out, uint64_t *w9_out, uint64_t *w10_out)
{
    /* Headers read here end within 58 bytes (Ethernet, a tag, IPv4 without
     * options, 14 bytes of TCP); datagram lengths are checked against the
     * frame. A frame longer than its captured part needs 64 bytes of it. */
    if (len < PKT_ETH_HDR_LEN || (frame_len != len && len < 64))
        return false;
    uint64_t w3 = 0, w4 = 0, w9 = 0, w10 = 0;
    uint16_t type = pkt_get16(d + 12), tci = 0;
    size_t ofs = PKT_ETH_HDR_LEN;
    if (type == PKT_ETH_TYPE_VLAN || type == PKT_ETH_TYPE_QINQ) {
        if (len < PKT_ETH_HDR_LEN + PKT_VLAN_HDR_LEN)
            return false;
        tci = (uint16_t)((pkt_get16(d + 14) & (SW_VLAN_PCP_MASK | SW_VLAN_VID_MASK)) |
                         SW_VLAN_PRESENT);
        w3 = type; /* vlan_tpid */
        type = pkt_get16(d + 16);
        ofs += PKT_VLAN_HDR_LEN;
        if (type == PKT_ETH_TYPE_VLAN || type == PKT_ETH_TYPE_QINQ)
            return false;
    }
    if (type == PKT_ETH_TYPE_IPV4) {
        if (len - ofs < PKT_IPV4_HDR_LEN)
            return false;
        const uint8_t *ip = d + ofs;
        uint32_t end = pkt_get16(ip + 2); /* from ip */
        if (ip[0] != 0x45 || end < PKT_IPV4_HDR_LEN || end > frame_len - ofs ||
            (pkt_get16(ip + 6) & (PKT_IPV4_MF | PKT_IPV4_OFFSET_MASK)))
            return false;
        w4 = (uint64_t)pkt_get32(ip + 16) << 32 | pkt_get32(ip + 12);
        w9 = (uint64_t)ip[8] << 48 | (uint64_t)ip[1] << 40 | (uint64_t)ip[9] << 32;
        const uint8_t *l4 = ip + PKT_IPV4_HDR_LEN;
        uint32_t l4_len = end - PKT_IPV4_HDR_LEN;
        switch (ip[9]) {
        case PKT_IPPROTO_TCP: {
            if (l4_len < PKT_TCP_HDR_LEN)
                return false;
            uint32_t hlen = (uint32_t)(l4[12] >> 4) * 4;
            if (hlen < PKT_TCP_HDR_LEN || hlen > l4_len)
                return false;
            w10 = (uint64_t)(pkt_get16(l4 + 12) & PKT_TCP_FLAGS_MASK & SW_TCP_FLAGS_MASK) << 32 |
                  (uint64_t)pkt_get16(l4 + 2) << 16 | pkt_get16(l4);
            break;
        }
        case PKT_IPPROTO_UDP: {
            if (l4_len < PKT_UDP_HDR_LEN)
                return false;
            uint32_t ulen = pkt_get16(l4 + 4);
            if (ulen < PKT_UDP_HDR_LEN || ulen > l4_len)
                return false;
            w10 = (uint64_t)pkt_get16(l4 + 2) << 16 | pkt_get16(l4);
            break;
        }
        case PKT_IPPROTO_SCTP:
            if (l4_len < PKT_SCTP_HDR_LEN)
                return false;
            w10 = (uint64_t)pkt_get16(l4 + 2) << 16 | pkt_get16(l4);
            break;
        case PKT_IPPROTO_ICMP:
            if (l4_len < PKT_ICMP_HDR_LEN)
                return false;
            w10 = (uint64_t)l4[1] << 16 | l4[0];
            break;
        default:
            break;
        }
    } else if (type < PKT_ETH_TYPE_MIN || type == PKT_ETH_TYPE_IPV6 ||
               type == PKT_ETH_TYPE_ARP) {
        return false;
    }
    *type_out = type;
    *tci_out = tci;
    *w3_out = w3;
    *w4_out = w4;
    *w9_out = w9;
    *w10_out = w10;
    return true;
}
#endif

static bool extract_fast(const uint8_t *d, size_t len, size_t frame_len, uint32_t in_port,
                         struct sw_flow_key *key)
{
#ifdef FAST_WORDS
    uint16_t type, tci;
    uint64_t w3, w4, w9, w10;
    if (!parse_fast(d, len, frame_len, &type, &tci, &w3, &w4, &w9, &w10))
        return false;
    uint64_t *w = sw_flow_key_words_rw(key);
    w[0] = in_port;
    w[1] = load64(d); /* dl_dst, first two bytes of dl_src */
    w[2] = (uint64_t)tci << 48 | (uint64_t)type << 32 | load32(d + 8);
    w[3] = w3;
    w[4] = w4;
    w[5] = w[6] = w[7] = w[8] = 0;
    w[9] = w9;
    w[10] = w10;
    w[11] = w[12] = w[13] = w[14] = w[15] = 0;
    return true;
#else
    (void)d, (void)len, (void)frame_len, (void)in_port, (void)key;
    return false;
#endif
}

const uint8_t sw_flow_simple_word[SW_FLOW_SIMPLE_WORDS] = {2, 3, 9};

/* The simple fields, all ones. */
static const struct sw_flow_key simple_fields = {
    .in_port = UINT32_MAX, .recirc_id = UINT32_MAX, .dl_type = UINT16_MAX,
    .vlan_tci = UINT16_MAX, .vlan_tpid = UINT16_MAX, .vlan_tci2 = UINT16_MAX,
    .vlan_tpid2 = UINT16_MAX, .nw_proto = UINT8_MAX, .nw_frag = UINT8_MAX,
};

bool sw_flow_mask_is_simple(const struct sw_flow_mask *mask)
{
    const uint64_t *m = sw_flow_key_words(&mask->masks), *s = sw_flow_key_words(&simple_fields);
    uint64_t extra = 0;
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
        extra |= m[i] & ~s[i];
    return extra == 0;
}

bool sw_flow_extract_simple(const uint8_t *data, size_t len, struct sw_flow_simple *out)
{
    return sw_flow_extract_simple_frame(data, len, len, out);
}

bool sw_flow_extract_simple_frame(const uint8_t *data, size_t len, size_t frame_len,
                                  struct sw_flow_simple *out)
{
    if (frame_len < len)
        frame_len = len;
#ifdef FAST_WORDS
    uint16_t type, tci;
    uint64_t w3, w4, w9, w10;
    if (!parse_fast(data, len, frame_len, &type, &tci, &w3, &w4, &w9, &w10))
        return false;
    (void)w4;
    out->w[0] = (uint64_t)tci << 48 | (uint64_t)type << 32;
    out->w[1] = w3;
    out->w[2] = w9;
    out->tcp_flags = (uint16_t)(w10 >> 32);
    return true;
#else
    (void)data, (void)len, (void)frame_len, (void)out;
    return false;
#endif
}

enum pkt_status sw_flow_extract(const uint8_t *data, size_t len, uint32_t in_port,
                                struct sw_flow_key *key, struct pkt_layout *layout)
{
    return sw_flow_extract_frame(data, len, len, in_port, key, layout);
}

enum pkt_status sw_flow_extract_frame(const uint8_t *data, size_t len, size_t frame_len,
                                      uint32_t in_port, struct sw_flow_key *key,
                                      struct pkt_layout *layout)
{
    if (frame_len < len)
        frame_len = len;
    if (!layout && extract_fast(data, len, frame_len, in_port, key))
        return PKT_OK;
    struct pkt_flow flow;
    struct pkt_layout local;
    flow.in_port = in_port;
    enum pkt_status st = pkt_parse_frame(data, len, frame_len, &flow, layout ? layout : &local);
    sw_flow_from_pkt(&flow, key);
    return st;
}

/* ---- formatting --------------------------------------------------------- */

struct ds {
    char *buf;
    size_t size;
    size_t len;
};

static void KK_PRINTF(2, 3) ds_put(struct ds *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *at = d->len < d->size ? d->buf + d->len : NULL;
    size_t room = d->len < d->size ? d->size - d->len : 0;
    int n = vsnprintf(at, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len += (size_t)n;
}

static void ds_sep(struct ds *d)
{
    if (d->len > 0)
        ds_put(d, ",");
}

static void put_mac(struct ds *d, const uint8_t *m)
{
    ds_put(d, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Prefix length of a contiguous high-bits mask over @n bytes, or -1. */
static int prefix_len(const uint8_t *m, size_t n)
{
    int len = 0;
    size_t i = 0;
    for (; i < n && m[i] == 0xff; i++)
        len += 8;
    if (i == n)
        return len;
    uint8_t b = m[i];
    if ((uint8_t)(b | (b - 1)) != 0xff && b != 0)
        return -1; /* ones, then zeros, within the byte: b | (b-1) == 0xff */
    len += b ? 8 - __builtin_ctz(b) : 0;
    for (i++; i < n; i++)
        if (m[i])
            return -1;
    return len;
}

static void put_ipv4(struct ds *d, uint32_t v)
{
    ds_put(d, "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

static void put_ipv6(struct ds *d, const uint8_t *a)
{
    char s[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, a, s, sizeof(s));
    ds_put(d, "%s", s);
}

/* name=value[/mask] for one field, nothing when the mask is zero. */
static void put_field(struct ds *d, const char *name, const struct field *f,
                      const struct sw_flow_key *k, const struct sw_flow_key *m)
{
    switch (f->type) {
    case FT_INT: {
        uint64_t v = get_int(k, f), mv = get_int(m, f);
        if (!mv)
            return;
        ds_sep(d);
        if (mv == f->max)
            ds_put(d, f->hex ? "%s=0x%" PRIx64 : "%s=%" PRIu64, name, v);
        else
            ds_put(d, "%s=0x%" PRIx64 "/0x%" PRIx64, name, v, mv);
        return;
    }
    case FT_MAC: {
        const uint8_t *mv = field_bytes(m, f);
        if (bytes_zero(mv, 6))
            return;
        ds_sep(d);
        ds_put(d, "%s=", name);
        put_mac(d, field_bytes(k, f));
        if (!bytes_ones(mv, 6)) {
            ds_put(d, "/");
            put_mac(d, mv);
        }
        return;
    }
    case FT_IPV4: {
        uint32_t v = get_int(k, f), mv = get_int(m, f);
        if (!mv)
            return;
        ds_sep(d);
        ds_put(d, "%s=", name);
        put_ipv4(d, v);
        uint8_t mb[4] = {(uint8_t)(mv >> 24), (uint8_t)(mv >> 16), (uint8_t)(mv >> 8),
                         (uint8_t)mv};
        int plen = prefix_len(mb, 4);
        if (plen == 32)
            return;
        if (plen >= 0) {
            ds_put(d, "/%d", plen);
        } else {
            ds_put(d, "/");
            put_ipv4(d, mv);
        }
        return;
    }
    case FT_IPV6: {
        const uint8_t *mv = field_bytes(m, f);
        if (bytes_zero(mv, 16))
            return;
        ds_sep(d);
        ds_put(d, "%s=", name);
        put_ipv6(d, field_bytes(k, f));
        int plen = prefix_len(mv, 16);
        if (plen == 128)
            return;
        if (plen >= 0) {
            ds_put(d, "/%d", plen);
        } else {
            ds_put(d, "/");
            put_ipv6(d, mv);
        }
        return;
    }
    }
}

static void put_vlan(struct ds *d, const char *suffix, const struct field *f,
                     const struct sw_flow_key *k, const struct sw_flow_key *m)
{
    uint32_t v = get_int(k, f), mv = get_int(m, f);
    bool present = v & SW_VLAN_PRESENT;
    if (present && mv == (SW_VLAN_PRESENT | SW_VLAN_VID_MASK)) {
        ds_sep(d);
        ds_put(d, "dl_vlan%s=%u", suffix, v & SW_VLAN_VID_MASK);
    } else if (present && mv == (SW_VLAN_PRESENT | SW_VLAN_PCP_MASK)) {
        ds_sep(d);
        ds_put(d, "dl_vlan_pcp%s=%u", suffix, v >> SW_VLAN_PCP_SHIFT);
    } else if (present && mv == 0xffff) {
        ds_sep(d);
        ds_put(d, "dl_vlan%s=%u,dl_vlan_pcp%s=%u", suffix, v & SW_VLAN_VID_MASK, suffix,
               v >> SW_VLAN_PCP_SHIFT);
    } else if (mv == 0xffff) {
        ds_sep(d);
        ds_put(d, "%s=0x%04x", f->name, v);
    } else if (mv) {
        ds_sep(d);
        ds_put(d, "%s=0x%04x/0x%04x", f->name, v, mv);
    }
}

static void put_tos(struct ds *d, const struct sw_flow_key *k, const struct sw_flow_key *m)
{
    uint8_t v = k->nw_tos, mv = m->nw_tos;
    if (mv == 0xfc || mv == 0xff) {
        ds_sep(d);
        ds_put(d, "ip_dscp=%u", v >> 2);
    }
    if (mv == 0x03 || mv == 0xff) {
        ds_sep(d);
        ds_put(d, "nw_ecn=%u", v & 3);
    }
    if (mv && mv != 0xfc && mv != 0x03 && mv != 0xff)
        put_field(d, "nw_tos", &fields[F_NW_TOS], k, m);
}

static const struct {
    const char *name;
    uint8_t value, mask;
} frag_names[] = {
    {"no", 0, SW_FRAG_ANY},
    {"yes", SW_FRAG_ANY, SW_FRAG_ANY},
    {"first", SW_FRAG_ANY, SW_FRAG_MASK},
    {"later", SW_FRAG_ANY | SW_FRAG_LATER, SW_FRAG_MASK},
    {"not_later", 0, SW_FRAG_LATER},
};

static void put_frag(struct ds *d, const struct sw_flow_key *k, const struct sw_flow_key *m)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(frag_names); i++) {
        if (m->nw_frag == frag_names[i].mask && k->nw_frag == frag_names[i].value) {
            ds_sep(d);
            ds_put(d, "ip_frag=%s", frag_names[i].name);
            return;
        }
    }
    put_field(d, "nw_frag", &fields[F_NW_FRAG], k, m);
}

int sw_flow_format(const struct sw_flow_key *key, const struct sw_flow_mask *mask, char *buf,
                   size_t size)
{
    struct ds d = {buf, size, 0};
    if (size)
        buf[0] = '\0';
    struct sw_flow_key k;
    const struct sw_flow_key *m = &mask->masks;
    sw_flow_key_mask(&k, key, mask);

    put_field(&d, "in_port", &fields[F_IN_PORT], &k, m);
    put_field(&d, "recirc_id", &fields[F_RECIRC], &k, m);
    put_field(&d, "metadata", &fields[F_METADATA], &k, m);
    put_field(&d, "dl_src", &fields[F_DL_SRC], &k, m);
    put_field(&d, "dl_dst", &fields[F_DL_DST], &k, m);
    put_vlan(&d, "", &fields[F_VLAN_TCI], &k, m);
    put_field(&d, "vlan_tpid", &fields[F_VLAN_TPID], &k, m);
    put_vlan(&d, "2", &fields[F_VLAN_TCI2], &k, m);
    put_field(&d, "vlan_tpid2", &fields[F_VLAN_TPID2], &k, m);

    /* A shorthand when dl_type (and nw_proto) are exact and named. */
    bool type_exact = m->dl_type == 0xffff, proto_exact = m->nw_proto == 0xff;
    bool proto_done = false;
    const char *sh = NULL;
    for (size_t i = 0; type_exact && i < KK_ARRAY_SIZE(shorthands); i++) {
        if (shorthands[i].dl_type != k.dl_type)
            continue;
        if (shorthands[i].nw_proto < 0) {
            if (!sh)
                sh = shorthands[i].name;
        } else if (proto_exact && shorthands[i].nw_proto == k.nw_proto) {
            sh = shorthands[i].name;
            proto_done = true;
            break;
        }
    }
    if (sh) {
        ds_sep(&d);
        ds_put(&d, "%s", sh);
    } else {
        put_field(&d, "dl_type", &fields[F_DL_TYPE], &k, m);
    }

    bool arp = type_exact && k.dl_type == PKT_ETH_TYPE_ARP;
    bool ipv6 = type_exact && k.dl_type == PKT_ETH_TYPE_IPV6;
    put_field(&d, arp ? "arp_spa" : "nw_src", &fields[F_NW_SRC], &k, m);
    put_field(&d, arp ? "arp_tpa" : "nw_dst", &fields[F_NW_DST], &k, m);
    put_field(&d, "ipv6_src", &fields[F_IPV6_SRC], &k, m);
    put_field(&d, "ipv6_dst", &fields[F_IPV6_DST], &k, m);
    put_field(&d, "ipv6_label", &fields[F_IPV6_LABEL], &k, m);
    if (!proto_done)
        put_field(&d, arp ? "arp_op" : "nw_proto", &fields[F_NW_PROTO], &k, m);
    put_tos(&d, &k, m);
    put_field(&d, "nw_ttl", &fields[F_NW_TTL], &k, m);
    put_frag(&d, &k, m);

    bool icmp = type_exact && proto_exact &&
                ((k.dl_type == PKT_ETH_TYPE_IPV4 && k.nw_proto == PKT_IPPROTO_ICMP) ||
                 (ipv6 && k.nw_proto == PKT_IPPROTO_ICMPV6));
    const char *src_name = icmp ? (ipv6 ? "icmpv6_type" : "icmp_type") : "tp_src";
    const char *dst_name = icmp ? (ipv6 ? "icmpv6_code" : "icmp_code") : "tp_dst";
    put_field(&d, src_name, &fields[F_TP_SRC], &k, m);
    put_field(&d, dst_name, &fields[F_TP_DST], &k, m);
    put_field(&d, "tcp_flags", &fields[F_TCP_FLAGS], &k, m);
    put_field(&d, ipv6 ? "nd_sll" : "arp_sha", &fields[F_ARP_SHA], &k, m);
    put_field(&d, ipv6 ? "nd_tll" : "arp_tha", &fields[F_ARP_THA], &k, m);
    put_field(&d, "nd_target", &fields[F_ND_TARGET], &k, m);
    return d.len > (size_t)INT32_MAX ? INT32_MAX : (int)d.len;
}

/* ---- parsing ------------------------------------------------------------ */

static int KK_PRINTF(3, 4) fail(char *err, size_t err_size, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool parse_mac(const char *s, uint8_t out[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[0]);
        int lo = hi >= 0 ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (i < 5 && *s++ != ':')
            return false;
    }
    return *s == '\0';
}

static bool parse_ipv4(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return false;
    *out = ntohl(a.s_addr);
    return true;
}

static void prefix_mask(uint8_t *m, size_t n, unsigned plen)
{
    for (size_t i = 0; i < n; i++) {
        unsigned bits = plen >= 8 ? 8 : plen;
        m[i] = bits ? (uint8_t)(0xff << (8 - bits)) : 0;
        plen -= bits;
    }
}

/* Split "value/mask" in place: returns the mask text or NULL. */
static char *split_mask(char *v)
{
    char *slash = strchr(v, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    return slash + 1;
}

static int parse_tcp_flags(const char *v, uint32_t *val, uint32_t *mask)
{
    *val = *mask = 0;
    while (*v) {
        bool set = *v == '+';
        if (*v != '+' && *v != '-')
            return -1;
        v++;
        size_t n = strcspn(v, "+-");
        size_t i = 0;
        for (; i < KK_ARRAY_SIZE(tcp_flag_names); i++)
            if (strlen(tcp_flag_names[i]) == n && strncmp(v, tcp_flag_names[i], n) == 0)
                break;
        if (i == KK_ARRAY_SIZE(tcp_flag_names))
            return -1;
        *mask |= 1u << i;
        if (set)
            *val |= 1u << i;
        else
            *val &= ~(1u << i);
        v += n;
    }
    return 0;
}

/* Merge value @v under mask @m into a field of up to 16 bytes. */
static void merge_bytes(struct sw_flow_key *key, struct sw_flow_key *mask,
                        const struct field *f, const uint8_t *v, const uint8_t *m)
{
    uint8_t *kb = (uint8_t *)key + f->ofs, *mb = (uint8_t *)mask + f->ofs;
    for (size_t i = 0; i < f->size; i++) {
        kb[i] = (uint8_t)((kb[i] & ~m[i]) | (v[i] & m[i]));
        mb[i] |= m[i];
    }
}

static void merge_int(struct sw_flow_key *key, struct sw_flow_key *mask, const struct field *f,
                      uint64_t v, uint64_t m)
{
    set_int(key, f, (get_int(key, f) & ~m) | (v & m));
    set_int(mask, f, get_int(mask, f) | m);
}

static int parse_field(const struct field *f, const char *name, char *v, struct sw_flow_key *key,
                       struct sw_flow_key *mask, char *err, size_t err_size)
{
    char *mtext = split_mask(v);
    switch (f->type) {
    case FT_INT: {
        uint64_t val, m = f->max;
        if (f == &fields[F_TCP_FLAGS] && (*v == '+' || *v == '-')) {
            uint32_t fv, fm;
            if (mtext || parse_tcp_flags(v, &fv, &fm) < 0)
                return fail(err, err_size, "%s: bad flags '%s'", name, v);
            merge_int(key, mask, f, fv, fm);
            return 0;
        }
        if (!parse_u64(v, f->max, &val))
            return fail(err, err_size, "%s: bad value '%s'", name, v);
        if (mtext && !parse_u64(mtext, f->max, &m))
            return fail(err, err_size, "%s: bad mask '%s'", name, mtext);
        merge_int(key, mask, f, val, m);
        return 0;
    }
    case FT_MAC: {
        uint8_t val[6], m[6];
        memset(m, 0xff, 6);
        if (!parse_mac(v, val))
            return fail(err, err_size, "%s: bad Ethernet address '%s'", name, v);
        if (mtext && !parse_mac(mtext, m))
            return fail(err, err_size, "%s: bad mask '%s'", name, mtext);
        merge_bytes(key, mask, f, val, m);
        return 0;
    }
    case FT_IPV4: {
        uint32_t val, m = UINT32_MAX, plen;
        if (!parse_ipv4(v, &val))
            return fail(err, err_size, "%s: bad IPv4 address '%s'", name, v);
        if (mtext) {
            if (strchr(mtext, '.')) {
                if (!parse_ipv4(mtext, &m))
                    return fail(err, err_size, "%s: bad mask '%s'", name, mtext);
            } else if (parse_u32(mtext, 32, &plen)) {
                m = plen ? UINT32_MAX << (32 - plen) : 0;
            } else {
                return fail(err, err_size, "%s: bad prefix length '%s'", name, mtext);
            }
        }
        merge_int(key, mask, f, val, m);
        return 0;
    }
    case FT_IPV6: {
        uint8_t val[16], m[16];
        uint32_t plen;
        memset(m, 0xff, 16);
        if (inet_pton(AF_INET6, v, val) != 1)
            return fail(err, err_size, "%s: bad IPv6 address '%s'", name, v);
        if (mtext) {
            if (strchr(mtext, ':')) {
                if (inet_pton(AF_INET6, mtext, m) != 1)
                    return fail(err, err_size, "%s: bad mask '%s'", name, mtext);
            } else if (parse_u32(mtext, 128, &plen)) {
                prefix_mask(m, 16, plen);
            } else {
                return fail(err, err_size, "%s: bad prefix length '%s'", name, mtext);
            }
        }
        merge_bytes(key, mask, f, val, m);
        return 0;
    }
    }
    return fail(err, err_size, "%s: internal error", name);
}

/* dl_vlan, dl_vlan_pcp (and the "2" forms for the inner tag), ip_dscp,
 * nw_ecn, ip_frag. Returns 1 if @name is not one of them. */
static int parse_special(const char *name, const char *v, struct sw_flow_key *key,
                         struct sw_flow_key *mask, char *err, size_t err_size)
{
    uint32_t x;
    const struct field *tci = NULL;
    if (strcmp(name, "dl_vlan") == 0 || strcmp(name, "dl_vlan_pcp") == 0)
        tci = &fields[F_VLAN_TCI];
    else if (strcmp(name, "dl_vlan2") == 0 || strcmp(name, "dl_vlan_pcp2") == 0)
        tci = &fields[F_VLAN_TCI2];
    if (tci) {
        bool pcp = strstr(name, "pcp") != NULL;
        if (!parse_u32(v, pcp ? 7 : SW_VLAN_VID_MASK, &x))
            return fail(err, err_size, "%s: bad value '%s'", name, v);
        if (pcp)
            merge_int(key, mask, tci, SW_VLAN_PRESENT | x << SW_VLAN_PCP_SHIFT,
                      SW_VLAN_PRESENT | SW_VLAN_PCP_MASK);
        else
            merge_int(key, mask, tci, SW_VLAN_PRESENT | x, SW_VLAN_PRESENT | SW_VLAN_VID_MASK);
        return 0;
    }
    if (strcmp(name, "ip_dscp") == 0) {
        if (!parse_u32(v, 63, &x))
            return fail(err, err_size, "%s: bad value '%s'", name, v);
        merge_int(key, mask, &fields[F_NW_TOS], x << 2, 0xfc);
        return 0;
    }
    if (strcmp(name, "nw_ecn") == 0) {
        if (!parse_u32(v, 3, &x))
            return fail(err, err_size, "%s: bad value '%s'", name, v);
        merge_int(key, mask, &fields[F_NW_TOS], x, 0x03);
        return 0;
    }
    if (strcmp(name, "ip_frag") == 0) {
        for (size_t i = 0; i < KK_ARRAY_SIZE(frag_names); i++) {
            if (strcmp(v, frag_names[i].name) == 0) {
                merge_int(key, mask, &fields[F_NW_FRAG], frag_names[i].value,
                          frag_names[i].mask);
                return 0;
            }
        }
        return fail(err, err_size, "ip_frag: '%s' is not no, yes, first, later or not_later", v);
    }
    return 1;
}

static const struct field *find_field(const char *name)
{
    for (int i = 0; i < F_COUNT; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    for (size_t i = 0; i < KK_ARRAY_SIZE(aliases); i++)
        if (strcmp(aliases[i].name, name) == 0)
            return &fields[aliases[i].field];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

int sw_flow_parse(const char *text, struct sw_flow_key *key, struct sw_flow_mask *mask,
                  char *err, size_t err_size)
{
    if (err && err_size)
        err[0] = '\0';
    if (!text || !key || !mask)
        return fail(err, err_size, "no text");
    memset(key, 0, sizeof(*key));
    memset(mask, 0, sizeof(*mask));
    size_t len = strlen(text);
    if (len >= 4096)
        return fail(err, err_size, "text too long (%zu bytes)", len);
    char copy[4096];
    memcpy(copy, text, len + 1);

    char *rest = copy;
    if (!*trim(copy))
        return 0;
    for (char *tok = strsep(&rest, ","); tok; tok = strsep(&rest, ",")) {
        tok = trim(tok);
        if (!*tok)
            return fail(err, err_size, "empty field");
        char *eq = strchr(tok, '=');
        if (!eq) {
            size_t i = 0;
            for (; i < KK_ARRAY_SIZE(shorthands); i++)
                if (strcmp(tok, shorthands[i].name) == 0)
                    break;
            if (i == KK_ARRAY_SIZE(shorthands))
                return fail(err, err_size, "unknown protocol or missing value: '%s'", tok);
            merge_int(key, &mask->masks, &fields[F_DL_TYPE], shorthands[i].dl_type, 0xffff);
            if (shorthands[i].nw_proto >= 0)
                merge_int(key, &mask->masks, &fields[F_NW_PROTO],
                          (uint32_t)shorthands[i].nw_proto, 0xff);
            continue;
        }
        *eq = '\0';
        char *name = trim(tok), *value = trim(eq + 1);
        int rc = parse_special(name, value, key, &mask->masks, err, err_size);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        const struct field *f = find_field(name);
        if (!f)
            return fail(err, err_size, "unknown field '%s'", name);
        rc = parse_field(f, name, value, key, &mask->masks, err, err_size);
        if (rc < 0)
            return rc;
    }
    sw_flow_key_mask(key, key, mask);
    return 0;
}
