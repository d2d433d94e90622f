/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matches: the OXM basic field table, OXM lists, 1.0 struct ofp_match,
 * and the validation rules (widths, masks, duplicates, prerequisites).
 */
#include <errno.h>
#include <string.h>

#include "kk_common.h"
#include "ofp_internal.h"
#include "ofp_match.h"

enum prereq_kind {
    PR_NONE,
    PR_VALUE,        /* field == v1 or field == v2, exact */
    PR_PRESENT,      /* field matched exactly, any value */
    PR_VLAN_TAGGED,  /* vlan_vid matched with OFPVID_PRESENT set */
};

struct prereq {
    uint8_t kind;
    uint8_t field;
    uint16_t v1, v2;
};

struct field_info {
    const char *name;
    uint8_t len;
    bool maskable;
    uint8_t bits;          /* significant bits; 0 = all of len * 8 */
    struct prereq pre[2];
};

#define ETH(a, b) {PR_VALUE, OFPXMT_ETH_TYPE, a, b}
#define PROTO(a) {PR_VALUE, OFPXMT_IP_PROTO, a, a}
#define IPV4 ETH(0x0800, 0x0800)
#define IPV6 ETH(0x86dd, 0x86dd)
#define IP ETH(0x0800, 0x86dd)

static const struct field_info fields[OFP_OXM_N_FIELDS] = {
    [OFPXMT_IN_PORT] = {"in_port", 4, false, 0, {{0}}},
    [OFPXMT_IN_PHY_PORT] = {"in_phy_port", 4, false, 0, {{PR_PRESENT, OFPXMT_IN_PORT, 0, 0}}},
    [OFPXMT_METADATA] = {"metadata", 8, true, 0, {{0}}},
    [OFPXMT_ETH_DST] = {"eth_dst", 6, true, 0, {{0}}},
    [OFPXMT_ETH_SRC] = {"eth_src", 6, true, 0, {{0}}},
    [OFPXMT_ETH_TYPE] = {"eth_type", 2, false, 0, {{0}}},
    [OFPXMT_VLAN_VID] = {"vlan_vid", 2, true, 13, {{0}}},
    [OFPXMT_VLAN_PCP] = {"vlan_pcp", 1, false, 3, {{PR_VLAN_TAGGED, OFPXMT_VLAN_VID, 0, 0}}},
    [OFPXMT_IP_DSCP] = {"ip_dscp", 1, false, 6, {IP}},
    [OFPXMT_IP_ECN] = {"ip_ecn", 1, false, 2, {IP}},
    [OFPXMT_IP_PROTO] = {"ip_proto", 1, false, 0, {IP}},
    [OFPXMT_IPV4_SRC] = {"ipv4_src", 4, true, 0, {IPV4}},
    [OFPXMT_IPV4_DST] = {"ipv4_dst", 4, true, 0, {IPV4}},
    [OFPXMT_TCP_SRC] = {"tcp_src", 2, false, 0, {PROTO(6)}},
    [OFPXMT_TCP_DST] = {"tcp_dst", 2, false, 0, {PROTO(6)}},
    [OFPXMT_UDP_SRC] = {"udp_src", 2, false, 0, {PROTO(17)}},
    [OFPXMT_UDP_DST] = {"udp_dst", 2, false, 0, {PROTO(17)}},
    [OFPXMT_SCTP_SRC] = {"sctp_src", 2, false, 0, {PROTO(132)}},
    [OFPXMT_SCTP_DST] = {"sctp_dst", 2, false, 0, {PROTO(132)}},
    [OFPXMT_ICMPV4_TYPE] = {"icmp_type", 1, false, 0, {PROTO(1), IPV4}},
    [OFPXMT_ICMPV4_CODE] = {"icmp_code", 1, false, 0, {PROTO(1), IPV4}},
    [OFPXMT_ARP_OP] = {"arp_op", 2, false, 0, {ETH(0x0806, 0x0806)}},
    [OFPXMT_ARP_SPA] = {"arp_spa", 4, true, 0, {ETH(0x0806, 0x0806)}},
    [OFPXMT_ARP_TPA] = {"arp_tpa", 4, true, 0, {ETH(0x0806, 0x0806)}},
    [OFPXMT_ARP_SHA] = {"arp_sha", 6, true, 0, {ETH(0x0806, 0x0806)}},
    [OFPXMT_ARP_THA] = {"arp_tha", 6, true, 0, {ETH(0x0806, 0x0806)}},
    [OFPXMT_IPV6_SRC] = {"ipv6_src", 16, true, 0, {IPV6}},
    [OFPXMT_IPV6_DST] = {"ipv6_dst", 16, true, 0, {IPV6}},
    [OFPXMT_IPV6_FLABEL] = {"ipv6_label", 4, true, 20, {IPV6}},
    [OFPXMT_ICMPV6_TYPE] = {"icmpv6_type", 1, false, 0, {PROTO(58), IPV6}},
    [OFPXMT_ICMPV6_CODE] = {"icmpv6_code", 1, false, 0, {PROTO(58), IPV6}},
    [OFPXMT_IPV6_ND_TARGET] = {"nd_target", 16, false, 0,
                               {{PR_VALUE, OFPXMT_ICMPV6_TYPE, 135, 136}}},
    [OFPXMT_IPV6_ND_SLL] = {"nd_sll", 6, false, 0, {{PR_VALUE, OFPXMT_ICMPV6_TYPE, 135, 135}}},
    [OFPXMT_IPV6_ND_TLL] = {"nd_tll", 6, false, 0, {{PR_VALUE, OFPXMT_ICMPV6_TYPE, 136, 136}}},
    [OFPXMT_MPLS_LABEL] = {"mpls_label", 4, false, 20, {ETH(0x8847, 0x8848)}},
    [OFPXMT_MPLS_TC] = {"mpls_tc", 1, false, 3, {ETH(0x8847, 0x8848)}},
    [OFPXMT_MPLS_BOS] = {"mpls_bos", 1, false, 1, {ETH(0x8847, 0x8848)}},
    [OFPXMT_PBB_ISID] = {"pbb_isid", 3, true, 0, {ETH(0x88e7, 0x88e7)}},
    [OFPXMT_TUNNEL_ID] = {"tunnel_id", 8, true, 0, {{0}}},
    [OFPXMT_IPV6_EXTHDR] = {"ipv6_exthdr", 2, true, 9, {IPV6}},
};

static bool field_ok(enum ofp_oxm_field f)
{
    return (unsigned)f < OFP_OXM_N_FIELDS;
}

static unsigned field_offset(enum ofp_oxm_field f)
{
    unsigned off = 0;
    for (unsigned i = 0; i < (unsigned)f; i++)
        off += fields[i].len;
    return off;
}

const char *ofp_oxm_field_name(enum ofp_oxm_field field)
{
    return field_ok(field) ? fields[field].name : NULL;
}

unsigned ofp_oxm_field_len(enum ofp_oxm_field field)
{
    return field_ok(field) ? fields[field].len : 0;
}

bool ofp_oxm_field_maskable(enum ofp_oxm_field field)
{
    return field_ok(field) && fields[field].maskable;
}

void ofp_match_init(struct ofp_match_fields *m)
{
    memset(m, 0, sizeof(*m));
}

int ofp_match_set(struct ofp_match_fields *m, enum ofp_oxm_field field, const void *value,
                  const void *mask)
{
    if (!m || !value || !field_ok(field))
        return -EINVAL;
    unsigned off = field_offset(field), len = fields[field].len;
    memcpy(m->value + off, value, len);
    m->present |= UINT64_C(1) << field;
    if (mask) {
        memcpy(m->mask + off, mask, len);
        m->masked |= UINT64_C(1) << field;
    } else {
        memset(m->mask + off, 0, len);
        m->masked &= ~(UINT64_C(1) << field);
    }
    return 0;
}

static void put_uint(uint8_t *p, unsigned len, uint64_t v)
{
    for (unsigned i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
}

static uint64_t get_uint(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

int ofp_match_set_uint(struct ofp_match_fields *m, enum ofp_oxm_field field, uint64_t value,
                       bool has_mask, uint64_t mask)
{
    if (!field_ok(field) || fields[field].len > 8)
        return -EINVAL;
    uint8_t v[8], k[8];
    put_uint(v, fields[field].len, value);
    put_uint(k, fields[field].len, mask);
    return ofp_match_set(m, field, v, has_mask ? k : NULL);
}

void ofp_match_clear(struct ofp_match_fields *m, enum ofp_oxm_field field)
{
    if (!m || !field_ok(field))
        return;
    unsigned off = field_offset(field), len = fields[field].len;
    memset(m->value + off, 0, len);
    memset(m->mask + off, 0, len);
    m->present &= ~(UINT64_C(1) << field);
    m->masked &= ~(UINT64_C(1) << field);
}

static bool has(const struct ofp_match_fields *m, enum ofp_oxm_field f)
{
    return m->present >> f & 1;
}

static bool has_mask(const struct ofp_match_fields *m, enum ofp_oxm_field f)
{
    return m->masked >> f & 1;
}

bool ofp_match_get(const struct ofp_match_fields *m, enum ofp_oxm_field field, void *value,
                   void *mask)
{
    if (!m || !field_ok(field) || !has(m, field))
        return false;
    unsigned off = field_offset(field), len = fields[field].len;
    if (value)
        memcpy(value, m->value + off, len);
    if (mask) {
        if (has_mask(m, field))
            memcpy(mask, m->mask + off, len);
        else
            memset(mask, 0xff, len);
    }
    return true;
}

uint64_t ofp_match_get_uint(const struct ofp_match_fields *m, enum ofp_oxm_field field)
{
    if (!m || !field_ok(field) || fields[field].len > 8 || !has(m, field))
        return 0;
    return get_uint(m->value + field_offset(field), fields[field].len);
}

uint64_t ofp_match_get_uint_mask(const struct ofp_match_fields *m, enum ofp_oxm_field field)
{
    if (!m || !field_ok(field) || fields[field].len > 8 || !has(m, field))
        return 0;
    if (!has_mask(m, field))
        return fields[field].len == 8 ? UINT64_MAX
                                      : (UINT64_C(1) << (8 * fields[field].len)) - 1;
    return get_uint(m->mask + field_offset(field), fields[field].len);
}

bool ofp_match_equal(const struct ofp_match_fields *a, const struct ofp_match_fields *b)
{
    if (a->present != b->present || a->masked != b->masked)
        return false;
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++) {
        if (!has(a, f))
            continue;
        unsigned off = field_offset(f), len = fields[f].len;
        if (memcmp(a->value + off, b->value + off, len) != 0)
            return false;
        if (has_mask(a, f) && memcmp(a->mask + off, b->mask + off, len) != 0)
            return false;
    }
    return true;
}

static bool all_ones(const uint8_t *p, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        if (p[i] != 0xff)
            return false;
    return true;
}

/* Field @f is matched exactly (no mask, or an all-ones mask). */
static bool exact(const struct ofp_match_fields *m, enum ofp_oxm_field f)
{
    return has(m, f) && (!has_mask(m, f) || all_ones(m->mask + field_offset(f), fields[f].len));
}

/* Value and mask of one field, checked on their own. */
enum ofp_err ofp__oxm_check_field(unsigned f, const uint8_t *value,
                                  const uint8_t *mask)
{
    unsigned len = fields[f].len;
    if (mask) {
        if (!fields[f].maskable)
            return OFPERR_OFPBMC_BAD_MASK;
        for (unsigned i = 0; i < len; i++)
            if (value[i] & ~mask[i])
                return OFPERR_OFPBMC_BAD_WILDCARDS;
    }
    if (fields[f].bits) {
        uint64_t v = get_uint(value, len);
        if (v >> fields[f].bits)
            return OFPERR_OFPBMC_BAD_VALUE;
    }
    return OFPERR_NONE;
}

static bool prereq_met(const struct ofp_match_fields *m, const struct prereq *p)
{
    switch (p->kind) {
    case PR_VALUE: {
        if (!exact(m, p->field))
            return false;
        uint64_t v = ofp_match_get_uint(m, p->field);
        return v == p->v1 || v == p->v2;
    }
    case PR_PRESENT:
        return exact(m, p->field);
    case PR_VLAN_TAGGED:
        return has(m, OFPXMT_VLAN_VID) &&
               (ofp_match_get_uint(m, OFPXMT_VLAN_VID) & OFPVID_PRESENT);
    default:
        return true;
    }
}

static enum ofp_err check_prereqs(const struct ofp_match_fields *m)
{
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++) {
        if (!has(m, f))
            continue;
        for (unsigned i = 0; i < 2; i++)
            if (!prereq_met(m, &fields[f].pre[i]))
                return OFPERR_OFPBMC_BAD_PREREQ;
    }
    return OFPERR_NONE;
}

enum ofp_err ofp_match_validate(const struct ofp_match_fields *m)
{
    if ((m->present >> OFP_OXM_N_FIELDS) || (m->masked & ~m->present))
        return OFPERR_OFPBMC_BAD_FIELD;
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++) {
        if (!has(m, f))
            continue;
        unsigned off = field_offset(f);
        enum ofp_err e =
            ofp__oxm_check_field(f, m->value + off, has_mask(m, f) ? m->mask + off : NULL);
        if (e)
            return e;
    }
    return check_prereqs(m);
}

/* ---- OXM ---- */

enum ofp_err ofp_oxm_decode(const uint8_t *data, size_t len, struct ofp_match_fields *m)
{
    ofp_match_init(m);
    size_t off = 0;
    while (off < len) {
        if (len - off < 4)
            return OFPERR_OFPBMC_BAD_LEN;
        uint16_t cls = ofp__get16(data + off);
        unsigned f = data[off + 2] >> 1;
        bool hm = data[off + 2] & 1;
        unsigned plen = data[off + 3];
        if (len - off - 4 < plen)
            return OFPERR_OFPBMC_BAD_LEN;
        if (cls != OFPXMC_OPENFLOW_BASIC || f >= OFP_OXM_N_FIELDS)
            return OFPERR_OFPBMC_BAD_FIELD;
        if (hm && !fields[f].maskable)
            return OFPERR_OFPBMC_BAD_MASK;
        if (plen != (hm ? 2u : 1u) * fields[f].len)
            return OFPERR_OFPBMC_BAD_LEN;
        if (has(m, f))
            return OFPERR_OFPBMC_DUP_FIELD;
        const uint8_t *value = data + off + 4;
        const uint8_t *mask = hm ? value + fields[f].len : NULL;
        enum ofp_err e = ofp__oxm_check_field(f, value, mask);
        if (e)
            return e;
        ofp_match_set(m, f, value, mask);
        off += 4 + plen;
    }
    return check_prereqs(m);
}

size_t ofp_oxm_encoded_len(const struct ofp_match_fields *m)
{
    size_t n = 0;
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++)
        if (has(m, f))
            n += 4 + fields[f].len * (has_mask(m, f) ? 2u : 1u);
    return n;
}

size_t ofp_oxm_encode(const struct ofp_match_fields *m, uint8_t *out)
{
    size_t n = 0;
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++) {
        if (!has(m, f))
            continue;
        unsigned off = field_offset(f), len = fields[f].len;
        bool hm = has_mask(m, f);
        ofp__put16(out + n, OFPXMC_OPENFLOW_BASIC);
        out[n + 2] = (uint8_t)(f << 1 | hm);
        out[n + 3] = (uint8_t)(len * (hm ? 2 : 1));
        memcpy(out + n + 4, m->value + off, len);
        if (hm)
            memcpy(out + n + 4 + len, m->mask + off, len);
        n += 4 + len * (hm ? 2u : 1u);
    }
    return n;
}

/* ---- OpenFlow 1.0 struct ofp_match ---- */

#define M10_WILDCARDS 0
#define M10_IN_PORT 4
#define M10_DL_SRC 6
#define M10_DL_DST 12
#define M10_DL_VLAN 18
#define M10_DL_VLAN_PCP 20
#define M10_DL_TYPE 22
#define M10_NW_TOS 24
#define M10_NW_PROTO 25
#define M10_NW_SRC 28
#define M10_NW_DST 32
#define M10_TP_SRC 36
#define M10_TP_DST 38

#define OFP10_VLAN_NONE 0xffff

/* nw_src/nw_dst: the wildcard count of low bits (>= 32 means all). */
static void set_prefix(struct ofp_match_fields *m, enum ofp_oxm_field f, uint32_t addr,
                       unsigned wild)
{
    if (wild >= 32)
        return;
    uint32_t mask = wild ? UINT32_MAX << wild : UINT32_MAX;
    ofp_match_set_uint(m, f, addr & mask, wild != 0, mask);
}

enum ofp_err ofp_match10_decode(const uint8_t *d, size_t len, struct ofp_match_fields *m)
{
    ofp_match_init(m);
    if (len != OFP10_MATCH_LEN)
        return OFPERR_OFPBMC_BAD_LEN;
    uint32_t w = ofp__get32(d + M10_WILDCARDS);
    if (!(w & OFPFW10_IN_PORT))
        ofp_match_set_uint(m, OFPXMT_IN_PORT, ofp__port10_to_32(ofp__get16(d + M10_IN_PORT)),
                           false, 0);
    if (!(w & OFPFW10_DL_SRC))
        ofp_match_set(m, OFPXMT_ETH_SRC, d + M10_DL_SRC, NULL);
    if (!(w & OFPFW10_DL_DST))
        ofp_match_set(m, OFPXMT_ETH_DST, d + M10_DL_DST, NULL);

    uint16_t vlan = ofp__get16(d + M10_DL_VLAN);
    bool pcp = !(w & OFPFW10_DL_VLAN_PCP);
    if (!(w & OFPFW10_DL_VLAN)) {
        if (vlan == OFP10_VLAN_NONE) {
            ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_NONE, false, 0);
            pcp = false;  /* a PCP of an absent tag means nothing */
        } else if (vlan > 0xfff) {
            return OFPERR_OFPBMC_BAD_VALUE;
        } else {
            ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_PRESENT | vlan, false, 0);
        }
    } else if (pcp) {
        /* "any tag with this PCP" */
        ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_PRESENT, true, OFPVID_PRESENT);
    }
    if (pcp)
        ofp_match_set_uint(m, OFPXMT_VLAN_PCP, d[M10_DL_VLAN_PCP] & 7, false, 0);

    if (w & OFPFW10_DL_TYPE)
        return OFPERR_NONE;
    uint16_t type = ofp__get16(d + M10_DL_TYPE);
    ofp_match_set_uint(m, OFPXMT_ETH_TYPE, type, false, 0);
    unsigned src_wild = (w >> OFPFW10_NW_SRC_SHIFT) & 0x3f;
    unsigned dst_wild = (w >> OFPFW10_NW_DST_SHIFT) & 0x3f;
    if (type == 0x0800) {
        if (!(w & OFPFW10_NW_TOS))
            ofp_match_set_uint(m, OFPXMT_IP_DSCP, d[M10_NW_TOS] >> 2, false, 0);
        set_prefix(m, OFPXMT_IPV4_SRC, ofp__get32(d + M10_NW_SRC), src_wild);
        set_prefix(m, OFPXMT_IPV4_DST, ofp__get32(d + M10_NW_DST), dst_wild);
        if (w & OFPFW10_NW_PROTO)
            return OFPERR_NONE;
        uint8_t proto = d[M10_NW_PROTO];
        ofp_match_set_uint(m, OFPXMT_IP_PROTO, proto, false, 0);
        enum ofp_oxm_field fs, fd;
        uint16_t tmask = 0xffff;
        if (proto == 6) {
            fs = OFPXMT_TCP_SRC, fd = OFPXMT_TCP_DST;
        } else if (proto == 17) {
            fs = OFPXMT_UDP_SRC, fd = OFPXMT_UDP_DST;
        } else if (proto == 1) {
            fs = OFPXMT_ICMPV4_TYPE, fd = OFPXMT_ICMPV4_CODE;
            tmask = 0xff;
        } else {
            return OFPERR_NONE;
        }
        if (!(w & OFPFW10_TP_SRC))
            ofp_match_set_uint(m, fs, ofp__get16(d + M10_TP_SRC) & tmask, false, 0);
        if (!(w & OFPFW10_TP_DST))
            ofp_match_set_uint(m, fd, ofp__get16(d + M10_TP_DST) & tmask, false, 0);
    } else if (type == 0x0806) {
        if (!(w & OFPFW10_NW_PROTO))
            ofp_match_set_uint(m, OFPXMT_ARP_OP, d[M10_NW_PROTO], false, 0);
        set_prefix(m, OFPXMT_ARP_SPA, ofp__get32(d + M10_NW_SRC), src_wild);
        set_prefix(m, OFPXMT_ARP_TPA, ofp__get32(d + M10_NW_DST), dst_wild);
    }
    return OFPERR_NONE;
}

/* Wildcard bit count of a prefix mask; -1 when @mask is not a prefix. */
static int prefix_wild(uint32_t mask)
{
    if (mask == 0)
        return 32;
    unsigned wild = (unsigned)__builtin_ctz(mask);
    if ((mask >> wild) != (UINT32_MAX >> wild))
        return -1;
    return (int)wild;
}

static enum ofp_err encode_prefix(const struct ofp_match_fields *m, enum ofp_oxm_field f,
                                  uint8_t *addr, uint32_t *w, unsigned shift)
{
    if (!has(m, f))
        return OFPERR_NONE;
    int wild = prefix_wild((uint32_t)ofp_match_get_uint_mask(m, f));
    if (wild < 0)
        return OFPERR_OFPBMC_BAD_NW_ADDR_MASK;
    ofp__put32(addr, (uint32_t)ofp_match_get_uint(m, f));
    *w &= ~(0x3fu << shift);
    *w |= (uint32_t)wild << shift;
    return OFPERR_NONE;
}

enum ofp_err ofp_match10_encode(const struct ofp_match_fields *m, uint8_t *d)
{
    memset(d, 0, OFP10_MATCH_LEN);
    enum ofp_err e = ofp_match_validate(m);
    if (e)
        return e;
    const uint64_t ok10 = UINT64_C(1) << OFPXMT_IN_PORT | UINT64_C(1) << OFPXMT_ETH_SRC |
                          UINT64_C(1) << OFPXMT_ETH_DST | UINT64_C(1) << OFPXMT_VLAN_VID |
                          UINT64_C(1) << OFPXMT_VLAN_PCP | UINT64_C(1) << OFPXMT_ETH_TYPE |
                          UINT64_C(1) << OFPXMT_IP_DSCP | UINT64_C(1) << OFPXMT_IP_PROTO |
                          UINT64_C(1) << OFPXMT_IPV4_SRC | UINT64_C(1) << OFPXMT_IPV4_DST |
                          UINT64_C(1) << OFPXMT_TCP_SRC | UINT64_C(1) << OFPXMT_TCP_DST |
                          UINT64_C(1) << OFPXMT_UDP_SRC | UINT64_C(1) << OFPXMT_UDP_DST |
                          UINT64_C(1) << OFPXMT_ICMPV4_TYPE | UINT64_C(1) << OFPXMT_ICMPV4_CODE |
                          UINT64_C(1) << OFPXMT_ARP_OP | UINT64_C(1) << OFPXMT_ARP_SPA |
                          UINT64_C(1) << OFPXMT_ARP_TPA;
    if (m->present & ~ok10)
        return OFPERR_OFPBMC_BAD_FIELD;
    const uint64_t maskable10 = UINT64_C(1) << OFPXMT_IPV4_SRC | UINT64_C(1) << OFPXMT_IPV4_DST |
                                UINT64_C(1) << OFPXMT_ARP_SPA | UINT64_C(1) << OFPXMT_ARP_TPA |
                                UINT64_C(1) << OFPXMT_VLAN_VID;
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++)
        if (has_mask(m, f) && !exact(m, f) && !(maskable10 >> f & 1))
            return f == OFPXMT_ETH_SRC || f == OFPXMT_ETH_DST ? OFPERR_OFPBMC_BAD_DL_ADDR_MASK
                                                              : OFPERR_OFPBMC_BAD_MASK;

    uint32_t w = OFPFW10_ALL;
    if (has(m, OFPXMT_IN_PORT)) {
        uint32_t port = (uint32_t)ofp_match_get_uint(m, OFPXMT_IN_PORT);
        uint16_t p10;
        if (ofp__port32_to_10(port, &p10) != 0)
            return OFPERR_OFPBMC_BAD_VALUE;
        ofp__put16(d + M10_IN_PORT, p10);
        w &= ~OFPFW10_IN_PORT;
    }
    if (ofp_match_get(m, OFPXMT_ETH_SRC, d + M10_DL_SRC, NULL))
        w &= ~OFPFW10_DL_SRC;
    if (ofp_match_get(m, OFPXMT_ETH_DST, d + M10_DL_DST, NULL))
        w &= ~OFPFW10_DL_DST;
    if (has(m, OFPXMT_VLAN_VID)) {
        uint16_t vid = (uint16_t)ofp_match_get_uint(m, OFPXMT_VLAN_VID);
        uint16_t vmask = (uint16_t)ofp_match_get_uint_mask(m, OFPXMT_VLAN_VID);
        if ((vmask & 0x1fff) == 0x1fff) {
            ofp__put16(d + M10_DL_VLAN, vid & OFPVID_PRESENT ? vid & 0xfff : OFP10_VLAN_NONE);
            w &= ~OFPFW10_DL_VLAN;
        } else if (!(vid == OFPVID_PRESENT && (vmask & 0x1fff) == OFPVID_PRESENT &&
                     has(m, OFPXMT_VLAN_PCP))) {
            /* 1.0 can say "any tag" only together with a PCP */
            return OFPERR_OFPBMC_BAD_MASK;
        }
    }
    if (has(m, OFPXMT_VLAN_PCP)) {
        d[M10_DL_VLAN_PCP] = (uint8_t)ofp_match_get_uint(m, OFPXMT_VLAN_PCP);
        w &= ~OFPFW10_DL_VLAN_PCP;
    }
    if (has(m, OFPXMT_ETH_TYPE)) {
        ofp__put16(d + M10_DL_TYPE, (uint16_t)ofp_match_get_uint(m, OFPXMT_ETH_TYPE));
        w &= ~OFPFW10_DL_TYPE;
    }
    if (has(m, OFPXMT_IP_DSCP)) {
        d[M10_NW_TOS] = (uint8_t)(ofp_match_get_uint(m, OFPXMT_IP_DSCP) << 2);
        w &= ~OFPFW10_NW_TOS;
    }
    if (has(m, OFPXMT_IP_PROTO)) {
        d[M10_NW_PROTO] = (uint8_t)ofp_match_get_uint(m, OFPXMT_IP_PROTO);
        w &= ~OFPFW10_NW_PROTO;
    }
    if (has(m, OFPXMT_ARP_OP)) {
        uint64_t op = ofp_match_get_uint(m, OFPXMT_ARP_OP);
        if (op > 0xff)
            return OFPERR_OFPBMC_BAD_VALUE;  /* 1.0 keeps 8 bits of it */
        d[M10_NW_PROTO] = (uint8_t)op;
        w &= ~OFPFW10_NW_PROTO;
    }
    if ((e = encode_prefix(m, OFPXMT_IPV4_SRC, d + M10_NW_SRC, &w, OFPFW10_NW_SRC_SHIFT)) ||
        (e = encode_prefix(m, OFPXMT_IPV4_DST, d + M10_NW_DST, &w, OFPFW10_NW_DST_SHIFT)) ||
        (e = encode_prefix(m, OFPXMT_ARP_SPA, d + M10_NW_SRC, &w, OFPFW10_NW_SRC_SHIFT)) ||
        (e = encode_prefix(m, OFPXMT_ARP_TPA, d + M10_NW_DST, &w, OFPFW10_NW_DST_SHIFT)))
        return e;
    static const enum ofp_oxm_field tp_src[] = {OFPXMT_TCP_SRC, OFPXMT_UDP_SRC,
                                                OFPXMT_ICMPV4_TYPE};
    static const enum ofp_oxm_field tp_dst[] = {OFPXMT_TCP_DST, OFPXMT_UDP_DST,
                                                OFPXMT_ICMPV4_CODE};
    for (unsigned i = 0; i < 3; i++) {
        if (has(m, tp_src[i])) {
            ofp__put16(d + M10_TP_SRC, (uint16_t)ofp_match_get_uint(m, tp_src[i]));
            w &= ~OFPFW10_TP_SRC;
        }
        if (has(m, tp_dst[i])) {
            ofp__put16(d + M10_TP_DST, (uint16_t)ofp_match_get_uint(m, tp_dst[i]));
            w &= ~OFPFW10_TP_DST;
        }
    }
    ofp__put32(d + M10_WILDCARDS, w);
    return OFPERR_NONE;
}
