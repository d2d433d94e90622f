/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofconv.c — OpenFlow wire matches/actions <-> the bridge's (ofconv.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ofconv.h"
#include "ofp_msg.h"
#include "ofproto_internal.h"

/* ---- matches -------------------------------------------------------------- */

static uint64_t be_get(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

static void be_put(uint8_t *p, unsigned len, uint64_t v)
{
    for (unsigned i = len; i-- > 0;) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

enum ofp_err sw_match_from_ofp(const struct ofp_match_fields *m, struct sw_flow_key *k,
                               struct sw_flow_mask *mask)
{
    memset(k, 0, sizeof(*k));
    memset(mask, 0, sizeof(*mask));
    struct sw_flow_key *mk = &mask->masks;
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++) {
        if (!(m->present & (1ull << f)))
            continue;
        uint8_t v[16], mb[16];
        unsigned len = ofp_oxm_field_len(f);
        if (!len || len > sizeof(v) || !ofp_match_get(m, f, v, mb))
            return OFPERR_OFPBMC_BAD_FIELD;
        uint64_t iv = len <= 8 ? be_get(v, len) : 0, im = len <= 8 ? be_get(mb, len) : 0;
        switch (f) {
        case OFPXMT_IN_PORT:
            k->in_port = (uint32_t)iv;
            mk->in_port = UINT32_MAX;
            break;
        case OFPXMT_METADATA:
            k->metadata = iv & im;
            mk->metadata = im;
            break;
        case OFPXMT_ETH_DST:
        case OFPXMT_ETH_SRC: {
            uint8_t *kv = f == OFPXMT_ETH_DST ? k->dl_dst : k->dl_src;
            uint8_t *km = f == OFPXMT_ETH_DST ? mk->dl_dst : mk->dl_src;
            for (int i = 0; i < 6; i++) {
                kv[i] = v[i] & mb[i];
                km[i] = mb[i];
            }
            break;
        }
        case OFPXMT_ETH_TYPE:
            k->dl_type = (uint16_t)iv;
            mk->dl_type = 0xffff;
            break;
        case OFPXMT_VLAN_VID:
            k->vlan_tci |= (uint16_t)(iv & im & 0x1fff);
            mk->vlan_tci |= (uint16_t)(im & 0x1fff);
            break;
        case OFPXMT_VLAN_PCP:
            k->vlan_tci |= (uint16_t)((iv & 7) << SW_VLAN_PCP_SHIFT);
            mk->vlan_tci |= SW_VLAN_PCP_MASK;
            break;
        case OFPXMT_IP_DSCP:
            k->nw_tos |= (uint8_t)((iv & 0x3f) << 2);
            mk->nw_tos |= 0xfc;
            break;
        case OFPXMT_IP_ECN:
            k->nw_tos |= (uint8_t)(iv & 3);
            mk->nw_tos |= 3;
            break;
        case OFPXMT_IP_PROTO:
            k->nw_proto = (uint8_t)iv;
            mk->nw_proto = 0xff;
            break;
        case OFPXMT_ARP_OP:
            if (iv > 0xff)
                return OFPERR_OFPBMC_BAD_VALUE;   /* the key keeps the opcode's low byte */
            k->nw_proto = (uint8_t)iv;
            mk->nw_proto = 0xff;
            break;
        case OFPXMT_IPV4_SRC:
        case OFPXMT_ARP_SPA:
            k->nw_src = (uint32_t)(iv & im);
            mk->nw_src = (uint32_t)im;
            break;
        case OFPXMT_IPV4_DST:
        case OFPXMT_ARP_TPA:
            k->nw_dst = (uint32_t)(iv & im);
            mk->nw_dst = (uint32_t)im;
            break;
        case OFPXMT_TCP_SRC:
        case OFPXMT_UDP_SRC:
        case OFPXMT_SCTP_SRC:
        case OFPXMT_ICMPV4_TYPE:
        case OFPXMT_ICMPV6_TYPE:
            k->tp_src = (uint16_t)iv;
            mk->tp_src = 0xffff;
            break;
        case OFPXMT_TCP_DST:
        case OFPXMT_UDP_DST:
        case OFPXMT_SCTP_DST:
        case OFPXMT_ICMPV4_CODE:
        case OFPXMT_ICMPV6_CODE:
            k->tp_dst = (uint16_t)iv;
            mk->tp_dst = 0xffff;
            break;
        case OFPXMT_ARP_SHA:
        case OFPXMT_IPV6_ND_SLL:
        case OFPXMT_ARP_THA:
        case OFPXMT_IPV6_ND_TLL: {
            /* maskable in OXM (arp_sha/tha): the mask is kept */
            bool sha = f == OFPXMT_ARP_SHA || f == OFPXMT_IPV6_ND_SLL;
            uint8_t *kv = sha ? k->arp_sha : k->arp_tha, *km = sha ? mk->arp_sha : mk->arp_tha;
            for (int i = 0; i < 6; i++) {
                kv[i] = v[i] & mb[i];
                km[i] = mb[i];
            }
            break;
        }
        case OFPXMT_IPV6_SRC:
        case OFPXMT_IPV6_DST:
        case OFPXMT_IPV6_ND_TARGET: {
            uint8_t *kv = f == OFPXMT_IPV6_SRC   ? k->ipv6_src
                          : f == OFPXMT_IPV6_DST ? k->ipv6_dst
                                                 : k->nd_target;
            uint8_t *km = f == OFPXMT_IPV6_SRC   ? mk->ipv6_src
                          : f == OFPXMT_IPV6_DST ? mk->ipv6_dst
                                                 : mk->nd_target;
            for (int i = 0; i < 16; i++) {
                kv[i] = v[i] & mb[i];
                km[i] = mb[i];
            }
            break;
        }
        case OFPXMT_IPV6_FLABEL:
            k->ipv6_label = (uint32_t)(iv & im & 0xfffff);
            mk->ipv6_label = (uint32_t)(im & 0xfffff);
            break;
        default:   /* in_phy_port, MPLS, PBB, tunnel id, IPv6 extension headers */
            return OFPERR_OFPBMC_BAD_FIELD;
        }
    }
    return OFPERR_NONE;
}

static void set_field(struct ofp_match_fields *m, enum ofp_oxm_field f, uint64_t v, uint64_t mk,
                      uint64_t full)
{
    if (!mk)
        return;
    if (mk == full || !ofp_oxm_field_maskable(f))
        ofp_match_set_uint(m, f, v, false, 0);
    else
        ofp_match_set_uint(m, f, v & mk, true, mk);
}

static bool all_ones(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xff)
            return false;
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void set_bytes(struct ofp_match_fields *m, enum ofp_oxm_field f, const uint8_t *v,
                      const uint8_t *mk, size_t n)
{
    if (all_zero(mk, n))
        return;
    if (all_ones(mk, n) || !ofp_oxm_field_maskable(f)) {
        ofp_match_set(m, f, v, NULL);
    } else {
        uint8_t mv[16];
        for (size_t i = 0; i < n; i++)
            mv[i] = v[i] & mk[i];
        ofp_match_set(m, f, mv, mk);
    }
}

void sw_match_to_ofp(const struct sw_flow_key *k, const struct sw_flow_mask *mask,
                     struct ofp_match_fields *m)
{
    const struct sw_flow_key *mk = &mask->masks;
    ofp_match_init(m);
    if (mk->in_port)
        ofp_match_set_uint(m, OFPXMT_IN_PORT, k->in_port, false, 0);
    set_field(m, OFPXMT_METADATA, k->metadata, mk->metadata, UINT64_MAX);
    set_bytes(m, OFPXMT_ETH_DST, k->dl_dst, mk->dl_dst, 6);
    set_bytes(m, OFPXMT_ETH_SRC, k->dl_src, mk->dl_src, 6);
    if (mk->dl_type)
        ofp_match_set_uint(m, OFPXMT_ETH_TYPE, k->dl_type, false, 0);
    set_field(m, OFPXMT_VLAN_VID, k->vlan_tci & 0x1fff, mk->vlan_tci & 0x1fff, 0x1fff);
    if ((mk->vlan_tci & SW_VLAN_PCP_MASK) == SW_VLAN_PCP_MASK)
        ofp_match_set_uint(m, OFPXMT_VLAN_PCP, k->vlan_tci >> SW_VLAN_PCP_SHIFT, false, 0);
    bool exact_type = mk->dl_type == 0xffff;
    bool arp = exact_type && k->dl_type == PKT_ETH_TYPE_ARP;
    bool ip4 = exact_type && k->dl_type == PKT_ETH_TYPE_IPV4;
    bool ip6 = exact_type && k->dl_type == PKT_ETH_TYPE_IPV6;
    if ((mk->nw_tos & 0xfc) == 0xfc)
        ofp_match_set_uint(m, OFPXMT_IP_DSCP, k->nw_tos >> 2, false, 0);
    if ((mk->nw_tos & 3) == 3)
        ofp_match_set_uint(m, OFPXMT_IP_ECN, k->nw_tos & 3, false, 0);
    if (mk->nw_proto)
        ofp_match_set_uint(m, arp ? OFPXMT_ARP_OP : OFPXMT_IP_PROTO, k->nw_proto, false, 0);
    set_field(m, arp ? OFPXMT_ARP_SPA : OFPXMT_IPV4_SRC, k->nw_src, mk->nw_src, UINT32_MAX);
    set_field(m, arp ? OFPXMT_ARP_TPA : OFPXMT_IPV4_DST, k->nw_dst, mk->nw_dst, UINT32_MAX);
    set_bytes(m, OFPXMT_IPV6_SRC, k->ipv6_src, mk->ipv6_src, 16);
    set_bytes(m, OFPXMT_IPV6_DST, k->ipv6_dst, mk->ipv6_dst, 16);
    set_field(m, OFPXMT_IPV6_FLABEL, k->ipv6_label, mk->ipv6_label, 0xfffff);
    enum ofp_oxm_field src = OFPXMT_TCP_SRC, dst = OFPXMT_TCP_DST;
    switch (k->nw_proto) {
    case PKT_IPPROTO_UDP:
        src = OFPXMT_UDP_SRC, dst = OFPXMT_UDP_DST;
        break;
    case PKT_IPPROTO_SCTP:
        src = OFPXMT_SCTP_SRC, dst = OFPXMT_SCTP_DST;
        break;
    case 1:
        if (ip4)
            src = OFPXMT_ICMPV4_TYPE, dst = OFPXMT_ICMPV4_CODE;
        break;
    case 58:
        if (ip6)
            src = OFPXMT_ICMPV6_TYPE, dst = OFPXMT_ICMPV6_CODE;
        break;
    default:
        break;
    }
    if (mk->tp_src)
        ofp_match_set_uint(m, src, k->tp_src, false, 0);
    if (mk->tp_dst)
        ofp_match_set_uint(m, dst, k->tp_dst, false, 0);
    set_bytes(m, arp ? OFPXMT_ARP_SHA : OFPXMT_IPV6_ND_SLL, k->arp_sha, mk->arp_sha, 6);
    set_bytes(m, arp ? OFPXMT_ARP_THA : OFPXMT_IPV6_ND_TLL, k->arp_tha, mk->arp_tha, 6);
    set_bytes(m, OFPXMT_IPV6_ND_TARGET, k->nd_target, mk->nd_target, 16);
}

/* ---- wire actions -> text --------------------------------------------------- */

struct txt {
    char *buf;
    size_t size, len;
    bool overflow;
    bool packet_out;   /* output:TABLE allowed */
};

__attribute__((format(printf, 2, 3))) static void put(struct txt *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->size - t->len) {
        t->overflow = true;
        t->buf[t->len] = '\0';
        return;
    }
    t->len += (size_t)n;
}

static void sep(struct txt *t)
{
    if (t->len)
        put(t, ",");
}

static void put_mac(struct txt *t, const uint8_t *m)
{
    put(t, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void put_ip(struct txt *t, uint32_t ip)
{
    put(t, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static enum ofp_err output_text(struct txt *t, uint32_t port, uint16_t max_len)
{
    switch (port) {
    case OFPP_IN_PORT:
        put(t, "in_port");
        return OFPERR_NONE;
    case OFPP_TABLE:
        /* through the tables: packet-outs only (the specification) */
        if (!t->packet_out)
            return OFPERR_OFPBAC_BAD_OUT_PORT;
        put(t, "resubmit(,0)");
        return OFPERR_NONE;
    case OFPP_NORMAL:
        put(t, "normal");
        return OFPERR_NONE;
    case OFPP_FLOOD:
        put(t, "flood");
        return OFPERR_NONE;
    case OFPP_ALL:
        put(t, "all");
        return OFPERR_NONE;
    case OFPP_CONTROLLER:
        put(t, "controller:%u", max_len);
        return OFPERR_NONE;
    default:
        if (port == 0 || port > SW_OFPORT_MAX)
            return OFPERR_OFPBAC_BAD_OUT_PORT;   /* LOCAL: the bridge has no local port */
        put(t, "output:%" PRIu32, port);
        return OFPERR_NONE;
    }
}

static enum ofp_err set_field_text(struct txt *t, const struct ofp_action *a)
{
    unsigned len = ofp_oxm_field_len(a->field);
    if (!len || len > sizeof(a->field_value))
        return OFPERR_OFPBAC_BAD_SET_TYPE;
    const uint8_t *v = a->field_value;
    uint64_t iv = len <= 8 ? be_get(v, len) : 0;
    switch (a->field) {
    case OFPXMT_ETH_SRC:
    case OFPXMT_ETH_DST:
        put(t, "set_field:");
        put_mac(t, v);
        put(t, "->%s", a->field == OFPXMT_ETH_SRC ? "eth_src" : "eth_dst");
        return OFPERR_NONE;
    case OFPXMT_VLAN_VID:
        /* 1.3 set_field on vlan_vid carries OFPVID_PRESENT */
        put(t, "set_field:%" PRIu64 "->vlan_vid", iv & 0xfff);
        return OFPERR_NONE;
    case OFPXMT_VLAN_PCP:
        put(t, "set_field:%" PRIu64 "->vlan_pcp", iv & 7);
        return OFPERR_NONE;
    case OFPXMT_IPV4_SRC:
    case OFPXMT_IPV4_DST:
        put(t, "set_field:");
        put_ip(t, (uint32_t)iv);
        put(t, "->%s", a->field == OFPXMT_IPV4_SRC ? "ip_src" : "ip_dst");
        return OFPERR_NONE;
    case OFPXMT_IPV6_SRC:
    case OFPXMT_IPV6_DST: {
        char s[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, v, s, sizeof(s));
        put(t, "set_field:%s->%s", s, a->field == OFPXMT_IPV6_SRC ? "ipv6_src" : "ipv6_dst");
        return OFPERR_NONE;
    }
    case OFPXMT_IP_DSCP:
        put(t, "set_field:%" PRIu64 "->ip_dscp", iv);
        return OFPERR_NONE;
    case OFPXMT_IP_ECN:
        put(t, "set_field:%" PRIu64 "->ip_ecn", iv);
        return OFPERR_NONE;
    case OFPXMT_TCP_SRC:
    case OFPXMT_UDP_SRC:
    case OFPXMT_SCTP_SRC:
    case OFPXMT_TCP_DST:
    case OFPXMT_UDP_DST:
    case OFPXMT_SCTP_DST:
        /* the protocol's own name: a rule's list keeps it (group buckets have
         * no match to tell the protocol by) */
        put(t, "set_field:%" PRIu64 "->%s", iv, ofp_oxm_field_name(a->field));
        return OFPERR_NONE;
    default:
        return OFPERR_OFPBAC_BAD_SET_TYPE;
    }
}

static enum ofp_err action_text(struct txt *t, const struct ofp_action *a, uint8_t version)
{
    sep(t);
    switch (a->kind) {
    case OFPACT_OUTPUT:
        return output_text(t, a->port, a->max_len);
    case OFPACT_SET_VLAN_VID:
        put(t, "mod_vlan_vid:%u", a->vlan_vid);
        return OFPERR_NONE;
    case OFPACT_SET_VLAN_PCP:
        put(t, "mod_vlan_pcp:%u", a->vlan_pcp);
        return OFPERR_NONE;
    case OFPACT_POP_VLAN:
        put(t, version == OFP10_VERSION ? "strip_vlan" : "pop_vlan");
        return OFPERR_NONE;
    case OFPACT_PUSH_VLAN:
        put(t, "push_vlan:0x%04x", a->ethertype);
        return OFPERR_NONE;
    case OFPACT_SET_DL_SRC:
    case OFPACT_SET_DL_DST:
        put(t, a->kind == OFPACT_SET_DL_SRC ? "mod_dl_src:" : "mod_dl_dst:");
        put_mac(t, a->mac);
        return OFPERR_NONE;
    case OFPACT_SET_NW_SRC:
    case OFPACT_SET_NW_DST:
        put(t, a->kind == OFPACT_SET_NW_SRC ? "mod_nw_src:" : "mod_nw_dst:");
        put_ip(t, a->ipv4);
        return OFPERR_NONE;
    case OFPACT_SET_NW_TOS:
        put(t, "mod_nw_tos:%u", a->nw_tos);
        return OFPERR_NONE;
    case OFPACT_SET_TP_SRC:
        put(t, "mod_tp_src:%u", a->tp_port);
        return OFPERR_NONE;
    case OFPACT_SET_TP_DST:
        put(t, "mod_tp_dst:%u", a->tp_port);
        return OFPERR_NONE;
    case OFPACT_SET_NW_TTL:
        put(t, "mod_nw_ttl:%u", a->ttl);
        return OFPERR_NONE;
    case OFPACT_DEC_NW_TTL:
        put(t, "dec_ttl");
        return OFPERR_NONE;
    case OFPACT_GROUP:
        put(t, "group:%" PRIu32, a->group_id);
        return OFPERR_NONE;
    case OFPACT_SET_FIELD:
        return set_field_text(t, a);
    case OFPACT_ENQUEUE:
    case OFPACT_SET_QUEUE:
        return OFPERR_OFPBAC_BAD_QUEUE;   /* no QoS queues */
    case OFPACT_EXPERIMENTER:
        return OFPERR_OFPBAC_BAD_EXPERIMENTER;
    default:   /* MPLS, PBB, TTL copies */
        return OFPERR_OFPBAC_BAD_TYPE;
    }
}

static enum ofp_err list_text(struct txt *t, const struct ofp_action_list *l, uint8_t version)
{
    for (size_t i = 0; l && i < l->n; i++) {
        enum ofp_err e = action_text(t, &l->actions[i], version);
        if (e)
            return e;
    }
    return t->overflow ? OFPERR_OFPBAC_TOO_MANY : OFPERR_NONE;
}

static enum ofp_err actions_text(const struct ofp_action_list *l, uint8_t version,
                                 bool packet_out, char *buf, size_t size)
{
    if (!size)
        return OFPERR_OFPBAC_TOO_MANY;
    struct txt t = {.buf = buf, .size = size, .packet_out = packet_out};
    buf[0] = '\0';
    return list_text(&t, l, version);
}

enum ofp_err sw_actions_text_from_ofp(const struct ofp_action_list *l, uint8_t version,
                                      char *buf, size_t size)
{
    return actions_text(l, version, false, buf, size);
}

enum ofp_err sw_packet_out_text_from_ofp(const struct ofp_action_list *l, uint8_t version,
                                         char *buf, size_t size)
{
    return actions_text(l, version, true, buf, size);
}

enum ofp_err sw_instructions_text_from_ofp(const struct ofp_instruction_list *l, char *buf,
                                           size_t size)
{
    if (!size)
        return OFPERR_OFPBAC_TOO_MANY;
    struct txt t = {.buf = buf, .size = size};
    buf[0] = '\0';
    static const uint16_t order[] = {OFPIT_METER,        OFPIT_APPLY_ACTIONS,
                                     OFPIT_CLEAR_ACTIONS, OFPIT_WRITE_ACTIONS,
                                     OFPIT_WRITE_METADATA, OFPIT_GOTO_TABLE};
    for (size_t i = 0; l && i < l->n; i++) {
        uint16_t ty = l->insts[i].type;
        bool known = false;
        for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
            known |= order[o] == ty;
        if (!known)
            return ty == OFPIT_EXPERIMENTER ? OFPERR_OFPBIC_BAD_EXPERIMENTER
                                            : OFPERR_OFPBIC_UNKNOWN_INST;
    }
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
        for (size_t i = 0; l && i < l->n; i++) {
            const struct ofp_instruction *in = &l->insts[i];
            if (in->type != order[o])
                continue;
            enum ofp_err e = OFPERR_NONE;
            switch (in->type) {
            case OFPIT_METER:
                sep(&t);
                put(&t, "meter:%" PRIu32, in->meter_id);
                break;
            case OFPIT_APPLY_ACTIONS:
                e = list_text(&t, &in->actions, OFP13_VERSION);
                break;
            case OFPIT_CLEAR_ACTIONS:
                sep(&t);
                put(&t, "clear_actions");
                break;
            case OFPIT_WRITE_ACTIONS: {
                sep(&t);
                put(&t, "write_actions(");
                struct txt inner = {.buf = t.buf + t.len, .size = t.size - t.len};
                e = list_text(&inner, &in->actions, OFP13_VERSION);
                t.len += inner.len;
                t.overflow |= inner.overflow;
                put(&t, ")");
                break;
            }
            case OFPIT_WRITE_METADATA:
                sep(&t);
                put(&t, "write_metadata:0x%" PRIx64 "/0x%" PRIx64, in->metadata,
                    in->metadata_mask);
                break;
            case OFPIT_GOTO_TABLE:
                sep(&t);
                put(&t, "goto_table:%u", in->table_id);
                break;
            }
            if (e)
                return e;
        }
    }
    return t.overflow ? OFPERR_OFPBAC_TOO_MANY : OFPERR_NONE;
}

/* ---- sw_ofpacts -> wire --------------------------------------------------- */

struct alist {
    struct ofp_action *a;
    size_t n, cap;
    bool failed;
};

static struct ofp_action *push(struct alist *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct ofp_action *p = realloc(l->a, cap * sizeof(*p));
        if (!p) {
            l->failed = true;
            return NULL;
        }
        l->a = p;
        l->cap = cap;
    }
    struct ofp_action *a = &l->a[l->n++];
    memset(a, 0, sizeof(*a));
    return a;
}

static void set_field_action(struct alist *l, enum ofp_oxm_field f, const void *v)
{
    struct ofp_action *o = push(l);
    if (!o)
        return;
    o->kind = OFPACT_SET_FIELD;
    o->field = (uint8_t)f;
    memcpy(o->field_value, v, ofp_oxm_field_len(f));
}

/* One bridge action as wire actions of @version (none when it has no form). */
static void to_wire(struct alist *l, const struct ofpact *a, uint8_t version,
                    const struct sw_flow_key *key, const struct sw_flow_mask *mask)
{
    bool v10 = version == OFP10_VERSION;
    struct ofp_action *o;
    uint8_t b[16];
    switch (a->type) {
    case SWACT_OUTPUT:
    case SWACT_IN_PORT:
    case SWACT_FLOOD:
    case SWACT_ALL:
    case SWACT_NORMAL:
    case SWACT_CONTROLLER:
        if (!(o = push(l)))
            return;
        o->kind = OFPACT_OUTPUT;
        o->port = a->type == SWACT_OUTPUT    ? a->port
                  : a->type == SWACT_IN_PORT ? OFPP_IN_PORT
                  : a->type == SWACT_FLOOD   ? OFPP_FLOOD
                  : a->type == SWACT_ALL     ? OFPP_ALL
                  : a->type == SWACT_NORMAL  ? OFPP_NORMAL
                                              : OFPP_CONTROLLER;
        o->max_len = a->type == SWACT_CONTROLLER ? a->u16 : 0;
        return;
    case SWACT_MOD_VLAN_VID:
        if (v10) {
            if ((o = push(l)))
                o->kind = OFPACT_SET_VLAN_VID, o->vlan_vid = a->u16;
        } else {
            be_put(b, 2, OFPVID_PRESENT | a->u16);
            set_field_action(l, OFPXMT_VLAN_VID, b);
        }
        return;
    case SWACT_MOD_VLAN_PCP:
        if (v10) {
            if ((o = push(l)))
                o->kind = OFPACT_SET_VLAN_PCP, o->vlan_pcp = (uint8_t)a->u16;
        } else {
            b[0] = (uint8_t)a->u16;
            set_field_action(l, OFPXMT_VLAN_PCP, b);
        }
        return;
    case SWACT_POP_VLAN:
        if ((o = push(l)))
            o->kind = OFPACT_POP_VLAN;
        return;
    case SWACT_PUSH_VLAN:
        if (!v10 && (o = push(l)))
            o->kind = OFPACT_PUSH_VLAN, o->ethertype = a->u16;
        return;
    case SWACT_DEC_TTL:
        if (!v10 && (o = push(l)))
            o->kind = OFPACT_DEC_NW_TTL;
        return;
    case SWACT_GROUP:
        if (!v10 && (o = push(l)))
            o->kind = OFPACT_GROUP, o->group_id = a->port;
        return;
    case SWACT_SET_FIELD: {
        const char *name = sw__ofp_fields[a->field].name;
        const struct sw_flow_key *v = &a->value;
        if (!strcmp(name, "eth_src") || !strcmp(name, "eth_dst")) {
            bool src = name[4] == 's';
            const uint8_t *mac = src ? v->dl_src : v->dl_dst;
            if (v10) {
                if ((o = push(l))) {
                    o->kind = src ? OFPACT_SET_DL_SRC : OFPACT_SET_DL_DST;
                    memcpy(o->mac, mac, 6);
                }
            } else {
                set_field_action(l, src ? OFPXMT_ETH_SRC : OFPXMT_ETH_DST, mac);
            }
        } else if (!strcmp(name, "ip_src") || !strcmp(name, "ip_dst")) {
            bool src = name[3] == 's';
            uint32_t ip = src ? v->nw_src : v->nw_dst;
            if (v10) {
                if ((o = push(l)))
                    o->kind = src ? OFPACT_SET_NW_SRC : OFPACT_SET_NW_DST, o->ipv4 = ip;
            } else {
                be_put(b, 4, ip);
                set_field_action(l, src ? OFPXMT_IPV4_SRC : OFPXMT_IPV4_DST, b);
            }
        } else if (!strcmp(name, "ipv6_src") || !strcmp(name, "ipv6_dst")) {
            if (!v10)
                set_field_action(l, name[5] == 's' ? OFPXMT_IPV6_SRC : OFPXMT_IPV6_DST,
                                 name[5] == 's' ? v->ipv6_src : v->ipv6_dst);
        } else if (!strcmp(name, "ip_dscp")) {
            if (v10) {
                if ((o = push(l)))
                    o->kind = OFPACT_SET_NW_TOS, o->nw_tos = v->nw_tos & 0xfc;
            } else {
                b[0] = v->nw_tos >> 2;
                set_field_action(l, OFPXMT_IP_DSCP, b);
            }
        } else if (!strcmp(name, "ip_ecn")) {
            if (!v10) {
                b[0] = v->nw_tos & 3;
                set_field_action(l, OFPXMT_IP_ECN, b);
            }
        } else if (!strcmp(name, "nw_ttl")) {
            if (!v10 && (o = push(l)))
                o->kind = OFPACT_SET_NW_TTL, o->ttl = v->nw_ttl;
        } else if (!strcmp(name, "tp_src") || !strcmp(name, "tp_dst")) {
            bool src = name[3] == 's';
            uint16_t port = src ? v->tp_src : v->tp_dst;
            if (v10) {
                if ((o = push(l)))
                    o->kind = src ? OFPACT_SET_TP_SRC : OFPACT_SET_TP_DST, o->tp_port = port;
            } else {
                /* the protocol the action was written for, else the match's */
                uint8_t proto = a->table ? a->table
                                : key && mask && mask->masks.nw_proto ? key->nw_proto : 6;
                enum ofp_oxm_field f = proto == PKT_IPPROTO_UDP    ? (src ? OFPXMT_UDP_SRC : OFPXMT_UDP_DST)
                                       : proto == PKT_IPPROTO_SCTP ? (src ? OFPXMT_SCTP_SRC : OFPXMT_SCTP_DST)
                                                                   : (src ? OFPXMT_TCP_SRC : OFPXMT_TCP_DST);
                be_put(b, 2, port);
                set_field_action(l, f, b);
            }
        }
        return;
    }
    default:   /* resubmit and the instructions: handled by the caller or no wire form */
        return;
    }
}

static int add_inst(struct ofp_instruction_list *il, size_t *cap, struct ofp_instruction **out)
{
    if (il->n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        struct ofp_instruction *p = realloc(il->insts, c * sizeof(*p));
        if (!p)
            return -ENOMEM;
        il->insts = p;
        *cap = c;
    }
    *out = &il->insts[il->n++];
    memset(*out, 0, sizeof(**out));
    return 0;
}

int sw_ofpacts_to_ofp(const struct sw_ofpacts *acts, uint8_t version, const struct sw_flow_key *key,
                      const struct sw_flow_mask *mask, struct ofp_action_list *actions,
                      struct ofp_instruction_list *insts)
{
    memset(actions, 0, sizeof(*actions));
    memset(insts, 0, sizeof(*insts));
    struct alist apply = {0}, write = {0};
    bool clear = false, has_meta = false, has_goto = false;
    uint32_t meter = 0;
    uint64_t meta = 0, meta_mask = 0;
    uint8_t goto_table = 0;
    for (unsigned i = 0; acts && i < acts->n; i++) {
        const struct ofpact *a = &acts->a[i];
        switch (a->type) {
        case SWACT_METER:
            meter = a->port;
            break;
        case SWACT_CLEAR_ACTIONS:
            clear = true;
            break;
        case SWACT_WRITE_METADATA:
            has_meta = true;
            meta = a->value.metadata;
            meta_mask = a->mask.masks.metadata;
            break;
        case SWACT_GOTO_TABLE:
            has_goto = true;
            goto_table = a->table;
            break;
        case SWACT_WRITE_ACTIONS: {
            unsigned k = a->u16 < acts->n - i - 1 ? a->u16 : acts->n - i - 1;
            for (unsigned j = 1; j <= k; j++)
                to_wire(&write, &acts->a[i + j], version, key, mask);
            i += k;
            break;
        }
        default:
            to_wire(&apply, a, version, key, mask);
            break;
        }
    }
    int rc = apply.failed || write.failed ? -ENOMEM : 0;
    if (version == OFP10_VERSION) {
        free(write.a);
        actions->actions = apply.a;
        actions->n = apply.n;
        return rc;
    }
    size_t cap = 0;
    struct ofp_instruction *in;
    if (!rc && meter && !(rc = add_inst(insts, &cap, &in)))
        in->type = OFPIT_METER, in->meter_id = meter;
    if (!rc && apply.n && !(rc = add_inst(insts, &cap, &in))) {
        in->type = OFPIT_APPLY_ACTIONS;
        in->actions.actions = apply.a, in->actions.n = apply.n;
        apply.a = NULL;
    }
    if (!rc && clear && !(rc = add_inst(insts, &cap, &in)))
        in->type = OFPIT_CLEAR_ACTIONS;
    if (!rc && write.n && !(rc = add_inst(insts, &cap, &in))) {
        in->type = OFPIT_WRITE_ACTIONS;
        in->actions.actions = write.a, in->actions.n = write.n;
        write.a = NULL;
    }
    if (!rc && has_meta && !(rc = add_inst(insts, &cap, &in)))
        in->type = OFPIT_WRITE_METADATA, in->metadata = meta, in->metadata_mask = meta_mask;
    if (!rc && has_goto && !(rc = add_inst(insts, &cap, &in)))
        in->type = OFPIT_GOTO_TABLE, in->table_id = goto_table;
    free(apply.a);
    free(write.a);
    if (rc)
        sw_ofconv_free_lists(actions, insts);
    return rc;
}

void sw_ofconv_free_lists(struct ofp_action_list *actions, struct ofp_instruction_list *insts)
{
    if (actions) {
        free(actions->actions);
        memset(actions, 0, sizeof(*actions));
    }
    if (insts) {
        for (size_t i = 0; i < insts->n; i++)
            free(insts->insts[i].actions.actions);
        free(insts->insts);
        memset(insts, 0, sizeof(*insts));
    }
}
