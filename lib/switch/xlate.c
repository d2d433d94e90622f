/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xlate.c — translation of a flow key through the OpenFlow tables into
 * datapath actions and megaflow wildcards; NORMAL; mirrors; trace;
 * revalidation.
 *
 * The context keeps two keys: @flow, the packet as the OpenFlow actions
 * want it so far (in_port = OpenFlow port), and @base, the packet as the
 * datapath actions emitted so far leave it. commit() emits the actions
 * that turn base into flow (VLAN pops/pushes/sets, then one masked set
 * per rewritten header with only the changed bits) and is called before
 * every output. An action that rewrites a field un-wildcards that field:
 * whether a set is emitted depends on the original value.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kk_hash.h"
#include "ofproto_internal.h"

/*
 * Action set slots, in the order the set is executed (OpenFlow 1.3, 5.10):
 * pop, push, decrement TTL, sets (VLAN id, priority, then each settable
 * field), output last.
 */
enum {
    ASET_POP_VLAN,
    ASET_PUSH_VLAN,
    ASET_DEC_TTL,
    ASET_VLAN_VID,
    ASET_VLAN_PCP,
    ASET_FIELD0,                      /* + index into sw__ofp_fields */
    ASET_GROUP = ASET_FIELD0 + 16,    /* with a group, the output is not executed */
    ASET_OUTPUT,
    ASET_SLOTS,
};

struct xctx {
    struct sw_ofproto *ofp;
    const struct sw_flow_key *orig;   /* as received (datapath in_port) */
    struct sw_flow_key flow;          /* working copy (OpenFlow in_port) */
    struct sw_flow_key base;          /* what the emitted actions make of the packet */
    struct sw_flow_mask *wc;
    struct sw_odp_buf *odp;
    uint64_t version, now, bytes;
    uint64_t packets, used;         /* what a rule hit credits (with bytes) */
    unsigned flags;
    struct sw_xlate_trace *trace;
    int indent;
    int depth;
    bool exit;                        /* stop translating (dec_ttl failure) */
    bool table_miss;                  /* running a table-miss entry's actions */
    uint64_t rule_cookie;             /* cookie of the rule whose actions run (packet-ins) */
    int error;
    const struct ofport *in;          /* port the packet came in on, or NULL */
    uint32_t in_dp;
    int xvlan;                        /* input VLAN per the input port's mode, -1 refused */
    /* mirrors */
    uint32_t mirrors;                 /* selected */
    struct sw_flow_key mirror_state[SW_OFP_MAX_MIRRORS];
    uint32_t out_ofports[64];         /* ports that got the packet */
    unsigned n_out;
    /* the OpenFlow 1.3 action set: at most one action per slot */
    const struct ofpact *aset[ASET_SLOTS];
    bool aset_any;
};

/* ---- trace ---- */

static void __attribute__((format(printf, 2, 3))) tr(struct xctx *x, const char *fmt, ...)
{
    struct sw_xlate_trace *t = x->trace;
    if (!t)
        return;
    for (int i = 0; i < x->indent; i++) {
        if (t->len + 1 < t->size)
            t->buf[t->len] = ' ';
        t->len++;
    }
    va_list ap;
    va_start(ap, fmt);
    char *dst = t->len < t->size ? t->buf + t->len : NULL;
    size_t room = t->len < t->size ? t->size - t->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
    if (t->size)
        t->buf[t->len < t->size ? t->len : t->size - 1] = '\0';
}

/* ---- helpers ---- */

static bool mac_is_multicast(const uint8_t *m)
{
    return m[0] & 1;
}

static void wc_all(void *field, size_t n)
{
    memset(field, 0xff, n);
}

static bool is_ipv4(const struct sw_flow_key *k)
{
    return k->dl_type == PKT_ETH_TYPE_IPV4;
}

static bool is_ipv6(const struct sw_flow_key *k)
{
    return k->dl_type == PKT_ETH_TYPE_IPV6;
}

static bool has_l4_ports(const struct sw_flow_key *k)
{
    return (is_ipv4(k) || is_ipv6(k)) && !(k->nw_frag & SW_FRAG_LATER) &&
           (k->nw_proto == PKT_IPPROTO_TCP || k->nw_proto == PKT_IPPROTO_UDP ||
            k->nw_proto == PKT_IPPROTO_SCTP);
}

/* ---- commit ---- */

static void commit_vlan(struct xctx *x)
{
    struct sw_flow_key *b = &x->base;
    const struct sw_flow_key *f = &x->flow;
    for (int guard = 0; guard < 4; guard++) {
        if (b->vlan_tci == f->vlan_tci && b->vlan_tpid == f->vlan_tpid &&
            b->vlan_tci2 == f->vlan_tci2 && b->vlan_tpid2 == f->vlan_tpid2)
            return;
        bool bt = b->vlan_tci & SW_VLAN_PRESENT, ft = f->vlan_tci & SW_VLAN_PRESENT;
        bool pushed = ft && f->vlan_tci2 == b->vlan_tci && f->vlan_tpid2 == b->vlan_tpid &&
                      !(b->vlan_tci2 & SW_VLAN_PRESENT);
        bool popped = bt && b->vlan_tci2 == f->vlan_tci && b->vlan_tpid2 == f->vlan_tpid &&
                      !(f->vlan_tci2 & SW_VLAN_PRESENT);
        if ((!bt && ft) || pushed) {
            sw_odp_put_push_vlan(x->odp, f->vlan_tpid ? f->vlan_tpid : PKT_ETH_TYPE_VLAN,
                                 f->vlan_tci & ~SW_VLAN_PRESENT);
            b->vlan_tci2 = b->vlan_tci;
            b->vlan_tpid2 = b->vlan_tpid;
            b->vlan_tci = f->vlan_tci;
            b->vlan_tpid = f->vlan_tpid ? f->vlan_tpid : PKT_ETH_TYPE_VLAN;
        } else if ((bt && !ft) || popped || (bt && ft && b->vlan_tpid != f->vlan_tpid)) {
            sw_odp_put_pop_vlan(x->odp);
            b->vlan_tci = b->vlan_tci2;
            b->vlan_tpid = b->vlan_tpid2;
            b->vlan_tci2 = 0;
            b->vlan_tpid2 = 0;
        } else if (bt && ft && b->vlan_tci != f->vlan_tci) {
            struct sw_odp_set_vlan s = {0};
            s.tci = f->vlan_tci & ~SW_VLAN_PRESENT;
            uint16_t d = b->vlan_tci ^ f->vlan_tci;
            s.mask = (uint16_t)((d & SW_VLAN_VID_MASK ? SW_VLAN_VID_MASK : 0) |
                                (d & SW_VLAN_PCP_MASK ? SW_VLAN_PCP_MASK : 0));
            s.tci &= s.mask;
            sw_odp_put(x->odp, SW_ODP_SET_VLAN, &s.tci, sizeof(s) - sizeof(s.hdr));
            b->vlan_tci = f->vlan_tci;
        } else {
            /* inner tag differences we cannot express: leave as is */
            return;
        }
    }
}

static void mask_bytes(uint8_t *m, const uint8_t *a, const uint8_t *b, size_t n, bool *any)
{
    bool diff = memcmp(a, b, n) != 0;
    memset(m, diff ? 0xff : 0, n);
    *any |= diff;
}

/* DSCP and ECN are separate fields: rewrite whichever changed, whole. */
static uint8_t tos_mask(uint8_t a, uint8_t b)
{
    uint8_t d = a ^ b;
    return (uint8_t)((d & 0xfc ? 0xfc : 0) | (d & 0x03 ? 0x03 : 0));
}

static void commit(struct xctx *x)
{
    struct sw_flow_key *b = &x->base;
    const struct sw_flow_key *f = &x->flow;
    commit_vlan(x);

    bool any = false;
    struct sw_odp_set_eth eth;
    memset(&eth, 0, sizeof(eth));
    mask_bytes(eth.src_mask, f->dl_src, b->dl_src, 6, &any);
    mask_bytes(eth.dst_mask, f->dl_dst, b->dl_dst, 6, &any);
    if (any) {
        memcpy(eth.src, f->dl_src, 6);
        memcpy(eth.dst, f->dl_dst, 6);
        for (int i = 0; i < 6; i++) {
            eth.src[i] &= eth.src_mask[i];
            eth.dst[i] &= eth.dst_mask[i];
        }
        sw_odp_put(x->odp, SW_ODP_SET_ETH, eth.src, sizeof(eth) - sizeof(eth.hdr));
        memcpy(b->dl_src, f->dl_src, 6);
        memcpy(b->dl_dst, f->dl_dst, 6);
    }

    if (is_ipv4(f)) {
        struct sw_odp_set_ipv4 s;
        memset(&s, 0, sizeof(s));
        s.src_mask = b->nw_src != f->nw_src ? UINT32_MAX : 0;
        s.dst_mask = b->nw_dst != f->nw_dst ? UINT32_MAX : 0;
        s.tos_mask = tos_mask(b->nw_tos, f->nw_tos);
        s.ttl_mask = b->nw_ttl != f->nw_ttl ? 0xff : 0;
        if (s.src_mask || s.dst_mask || s.tos_mask || s.ttl_mask) {
            s.src = f->nw_src & s.src_mask;
            s.dst = f->nw_dst & s.dst_mask;
            s.tos = f->nw_tos & s.tos_mask;
            s.ttl = f->nw_ttl & s.ttl_mask;
            sw_odp_put(x->odp, SW_ODP_SET_IPV4, &s.src, sizeof(s) - sizeof(s.hdr));
            b->nw_src = f->nw_src;
            b->nw_dst = f->nw_dst;
            b->nw_tos = f->nw_tos;
            b->nw_ttl = f->nw_ttl;
        }
    } else if (is_ipv6(f)) {
        struct sw_odp_set_ipv6 s;
        memset(&s, 0, sizeof(s));
        any = false;
        mask_bytes(s.src_mask, f->ipv6_src, b->ipv6_src, 16, &any);
        mask_bytes(s.dst_mask, f->ipv6_dst, b->ipv6_dst, 16, &any);
        s.tclass_mask = tos_mask(b->nw_tos, f->nw_tos);
        s.hlimit_mask = b->nw_ttl != f->nw_ttl ? 0xff : 0;
        if (any || s.tclass_mask || s.hlimit_mask) {
            for (int i = 0; i < 16; i++) {
                s.src[i] = f->ipv6_src[i] & s.src_mask[i];
                s.dst[i] = f->ipv6_dst[i] & s.dst_mask[i];
            }
            s.tclass = f->nw_tos & s.tclass_mask;
            s.hlimit = f->nw_ttl & s.hlimit_mask;
            sw_odp_put(x->odp, SW_ODP_SET_IPV6, s.src, sizeof(s) - sizeof(s.hdr));
            memcpy(b->ipv6_src, f->ipv6_src, 16);
            memcpy(b->ipv6_dst, f->ipv6_dst, 16);
            b->nw_tos = f->nw_tos;
            b->nw_ttl = f->nw_ttl;
        }
    }

    if (has_l4_ports(f) && (b->tp_src != f->tp_src || b->tp_dst != f->tp_dst)) {
        struct sw_odp_set_l4 s;
        memset(&s, 0, sizeof(s));
        s.src_mask = b->tp_src != f->tp_src ? 0xffff : 0;
        s.dst_mask = b->tp_dst != f->tp_dst ? 0xffff : 0;
        s.src = f->tp_src & s.src_mask;
        s.dst = f->tp_dst & s.dst_mask;
        sw_odp_put(x->odp, SW_ODP_SET_L4, &s.src, sizeof(s) - sizeof(s.hdr));
        b->tp_src = f->tp_src;
        b->tp_dst = f->tp_dst;
    }
}

/* ---- ports and VLANs ---- */

static bool port_has_vlan(const struct ofport *p, int vlan)
{
    if (vlan < 0)
        return false;
    switch (p->vlan_mode) {
    case SW_VLAN_MODE_ACCESS:
        return vlan == p->tag;
    case SW_VLAN_MODE_TRUNK:
        return p->all_trunks || sw__vlan_bit(p->trunks, (uint16_t)vlan);
    default:
        return vlan == p->tag || p->all_trunks || sw__vlan_bit(p->trunks, (uint16_t)vlan);
    }
}

/* The VLAN a frame with outer TCI @tci belongs to on input port @p, or -1. */
static int input_vlan(const struct ofport *p, uint16_t tci)
{
    bool tagged = tci & SW_VLAN_PRESENT;
    int vid = tci & SW_VLAN_VID_MASK;
    switch (p->vlan_mode) {
    case SW_VLAN_MODE_ACCESS:
        return tagged && vid != 0 && vid != p->tag ? -1 : p->tag;
    case SW_VLAN_MODE_TRUNK:
        return port_has_vlan(p, tagged ? vid : 0) ? (tagged ? vid : 0) : -1;
    default:
        if (!tagged || vid == 0)
            return p->tag;
        return port_has_vlan(p, vid) ? vid : -1;
    }
}

/* Datapath port for an output to @p, or UINT32_MAX (down / no member). */
static uint32_t port_dp(struct xctx *x, const struct ofport *p)
{
    if (!p->is_bond)
        return p->link_up ? p->dp_port : UINT32_MAX;
    uint32_t m = sw_bond_choose_output(p->bond, &x->flow, x->wc);
    return m == SW_BOND_NONE ? UINT32_MAX : m;
}

static bool vlan_selected(const struct mirror *m, int vlan)
{
    return m->any_vlan || (vlan >= 0 && sw__vlan_bit(m->vlans, (uint16_t)vlan));
}

static void note_output(struct xctx *x, const struct ofport *p)
{
    if (x->n_out < sizeof(x->out_ofports) / sizeof(x->out_ofports[0]))
        x->out_ofports[x->n_out++] = p->ofport;
    /* egress mirrors: the packet as it leaves */
    for (unsigned i = 0; i < SW_OFP_MAX_MIRRORS; i++) {
        const struct mirror *m = x->ofp->mirrors[i];
        uint32_t bit = 1u << i;
        if (!m || !(p->mirror_dst & bit) || (x->mirrors & bit))
            continue;
        if (!m->any_vlan)
            wc_all(&x->wc->masks.vlan_tci, 2);
        if (vlan_selected(m, x->xvlan)) {
            x->mirrors |= bit;
            x->mirror_state[i] = x->base;
        }
    }
}

static bool already_output(const struct xctx *x, uint32_t ofport)
{
    for (unsigned i = 0; i < x->n_out; i++)
        if (x->out_ofports[i] == ofport)
            return true;
    return false;
}

/* Output to port @p as the flow is now. */
static void output_port(struct xctx *x, const struct ofport *p)
{
    if (p->config & (SW_PC_PORT_DOWN | SW_PC_NO_FWD)) {
        tr(x, "-> port %s is administratively down or no_fwd: skipped\n", p->name);
        return;
    }
    uint32_t dp = port_dp(x, p);
    if (dp == UINT32_MAX) {
        tr(x, "-> port %s is down or has no enabled member: skipped\n", p->name);
        return;
    }
    commit(x);
    sw_odp_put_output(x->odp, dp);
    tr(x, "-> output to %s (datapath port %" PRIu32 ")\n", p->name, dp);
    note_output(x, p);
}

static void output_ofport(struct xctx *x, uint32_t ofport, bool allow_in_port)
{
    if (ofport == x->flow.in_port && !allow_in_port) {
        tr(x, "-> skipping output to input port %" PRIu32 "\n", ofport);
        return;
    }
    const struct ofport *p = sw__port_by_ofport(x->ofp, ofport);
    if (!p) {
        tr(x, "-> no port %" PRIu32 ": nothing output\n", ofport);
        return;
    }
    output_port(x, p);
}

static void flood(struct xctx *x, bool all)
{
    for (unsigned i = 0; i < x->ofp->n_ports; i++) {
        const struct ofport *p = x->ofp->ports[i];
        if (p->ofport == x->flow.in_port)
            continue;
        if (!all && (p->config & SW_PC_NO_FLOOD)) {
            tr(x, "-> port %s is no_flood: skipped\n", p->name);
            continue;
        }
        output_port(x, p);
    }
}

/* ---- NORMAL ---- */

/* Output in VLAN @vlan to @p, tagged per its mode; the flow's tags are restored. */
static void output_normal(struct xctx *x, const struct ofport *p, int vlan, uint16_t pcp,
                          uint16_t inner_tci, uint16_t inner_tpid)
{
    struct sw_flow_key save = x->flow;
    bool tagged;
    switch (p->vlan_mode) {
    case SW_VLAN_MODE_ACCESS:
        tagged = false;
        break;
    case SW_VLAN_MODE_TRUNK:
        tagged = vlan != 0;
        break;
    case SW_VLAN_MODE_NATIVE_UNTAGGED:
        tagged = vlan != p->tag;
        break;
    default:
        tagged = true;
        break;
    }
    if (tagged) {
        x->flow.vlan_tci = (uint16_t)(SW_VLAN_PRESENT | pcp | (uint16_t)vlan);
        x->flow.vlan_tpid = x->flow.vlan_tpid ? x->flow.vlan_tpid : PKT_ETH_TYPE_VLAN;
        x->flow.vlan_tci2 = inner_tci;
        x->flow.vlan_tpid2 = inner_tpid;
    } else {
        x->flow.vlan_tci = inner_tci;
        x->flow.vlan_tpid = inner_tpid;
        x->flow.vlan_tci2 = 0;
        x->flow.vlan_tpid2 = 0;
    }
    output_port(x, p);
    x->flow.vlan_tci = save.vlan_tci;
    x->flow.vlan_tpid = save.vlan_tpid;
    x->flow.vlan_tci2 = save.vlan_tci2;
    x->flow.vlan_tpid2 = save.vlan_tpid2;
}

static void xlate_normal(struct xctx *x)
{
    struct sw_flow_key *f = &x->flow;
    struct sw_flow_mask *wc = x->wc;
    const struct ofport *in = sw__port_by_ofport(x->ofp, f->in_port);
    x->indent += 4;
    wc_all(wc->masks.dl_dst, 6);
    if (!in) {
        tr(x, "NORMAL: no input port %" PRIu32 ": dropping\n", f->in_port);
        goto out;
    }
    static const uint8_t reserved[5] = {0x01, 0x80, 0xc2, 0x00, 0x00};
    if (!memcmp(f->dl_dst, reserved, 5) && (f->dl_dst[5] & 0xf0) == 0) {
        tr(x, "NORMAL: reserved multicast destination: dropping\n");
        goto out;
    }
    if (in->is_bond && in == x->in &&
        sw_bond_check_input(in->bond, x->in_dp, f, wc) == SW_BOND_DROP) {
        tr(x, "NORMAL: bond %s does not accept this packet on member %" PRIu32
              ": dropping\n", in->name, x->in_dp);
        goto out;
    }
    wc_all(&wc->masks.vlan_tci, 2);
    int vlan = input_vlan(in, f->vlan_tci);
    if (vlan < 0) {
        tr(x, "NORMAL: VLAN %u not allowed on input port %s (%s): dropping\n",
           f->vlan_tci & SW_VLAN_VID_MASK, in->name, sw_vlan_mode_to_string(in->vlan_mode));
        goto out;
    }
    /* The tag NORMAL works with is the outer one when the frame came tagged
     * (its VID other than 0), else none: what is under it stays. */
    bool in_tagged = (f->vlan_tci & SW_VLAN_PRESENT) != 0;
    uint16_t pcp = f->vlan_tci & SW_VLAN_PCP_MASK;
    uint16_t inner_tci = in_tagged ? f->vlan_tci2 : 0;
    uint16_t inner_tpid = in_tagged ? f->vlan_tpid2 : 0;
    if (in_tagged && (f->vlan_tci2 & SW_VLAN_PRESENT))
        wc_all(&wc->masks.vlan_tci2, 2);

    wc_all(wc->masks.dl_src, 6);
    if (!mac_is_multicast(f->dl_src) && !(x->flags & SW_XLATE_NO_LEARN)) {
        enum sw_mac_learn_result lr = sw_mac_learn(x->ofp->macs, (uint16_t)vlan, f->dl_src,
                                                   in->ofport, x->now);
        if (lr == SW_MAC_NEW || lr == SW_MAC_MOVED)
            tr(x, "NORMAL: learned %02x:%02x:%02x:%02x:%02x:%02x on port %s in VLAN %d%s\n",
               f->dl_src[0], f->dl_src[1], f->dl_src[2], f->dl_src[3], f->dl_src[4],
               f->dl_src[5], in->name, vlan, lr == SW_MAC_MOVED ? " (moved)" : "");
    }

    if (!mac_is_multicast(f->dl_dst)) {
        uint32_t out = sw_mac_lookup(x->ofp->macs, (uint16_t)vlan, f->dl_dst, x->now);
        const struct ofport *p = out == SW_MAC_PORT_NONE ? NULL : sw__port_by_ofport(x->ofp, out);
        if (p && port_has_vlan(p, vlan)) {
            if (p == in) {
                tr(x, "NORMAL: destination learned on the input port: dropping\n");
            } else {
                tr(x, "NORMAL: forwarding to learned port %s, VLAN %d\n", p->name, vlan);
                output_normal(x, p, vlan, pcp, inner_tci, inner_tpid);
            }
            goto out;
        }
        tr(x, "NORMAL: unknown destination, flooding VLAN %d\n", vlan);
    } else {
        tr(x, "NORMAL: multicast/broadcast destination, flooding VLAN %d\n", vlan);
    }
    for (unsigned i = 0; i < x->ofp->n_ports; i++) {
        const struct ofport *p = x->ofp->ports[i];
        if (p != in && port_has_vlan(p, vlan))
            output_normal(x, p, vlan, pcp, inner_tci, inner_tpid);
    }
out:
    x->indent -= 4;
}

/* ---- actions ---- */

static void xlate_table(struct xctx *x, uint8_t table);

static bool set_applies(struct xctx *x, const struct ofpact *a)
{
    struct sw_flow_mask *wc = x->wc;
    const struct sw_flow_key *f = &x->flow;
    switch (sw__ofp_fields[a->field].group) {
    case FG_ETH:
        return true;
    case FG_IPV4:
        wc->masks.dl_type = 0xffff;
        return is_ipv4(f);
    case FG_IP:
        wc->masks.dl_type = 0xffff;
        return is_ipv4(f) || is_ipv6(f);
    case FG_IPV6:
        wc->masks.dl_type = 0xffff;
        return is_ipv6(f);
    case FG_L4:
        wc->masks.dl_type = 0xffff;
        wc->masks.nw_proto = 0xff;
        wc->masks.nw_frag |= SW_FRAG_LATER;
        return has_l4_ports(f);
    }
    return false;
}

/* ---- groups ---- */

static bool group_live(const struct xctx *x, uint32_t id, int depth);

static bool bucket_live(const struct xctx *x, const struct group_bucket *b, int depth)
{
    if (b->watch_port != SW_GROUP_WATCH_NONE) {
        const struct ofport *p = sw__port_by_ofport(x->ofp, b->watch_port);
        if (!p || (!p->is_bond && !p->link_up))
            return false;
        if (p->is_bond) {
            bool any = false;
            for (size_t i = 0; i < p->n_members && !any; i++)
                any = sw_bond_member_enabled(p->bond, p->members[i]);
            if (!any)
                return false;
        }
    }
    if (b->watch_group != SW_GROUP_WATCH_NONE && !group_live(x, b->watch_group, depth + 1))
        return false;
    return true;
}

/* A group is live when one of its buckets is. */
static bool group_live(const struct xctx *x, uint32_t id, int depth)
{
    const struct group *g = depth < SW_OFP_MAX_RESUBMIT ? sw__group_find(x->ofp, id) : NULL;
    if (!g)
        return false;
    for (unsigned i = 0; i < g->n_buckets; i++)
        if (bucket_live(x, &g->buckets[i], depth))
            return true;
    return false;
}

static void do_actions(struct xctx *x, const struct sw_ofpacts *acts, uint8_t table);

static void bucket_execute(struct xctx *x, struct group *g, unsigned i)
{
    struct group_bucket *b = &g->buckets[i];
    if (!(x->flags & SW_XLATE_NO_STATS)) {
        atomic_fetch_add_explicit(&b->n_packets, x->packets, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->n_bytes, x->bytes, memory_order_relaxed);
    }
    tr(x, "group %" PRIu32 " bucket %u\n", g->id, i);
    struct sw_flow_key save = x->flow;
    x->depth++;
    x->indent += 4;
    do_actions(x, b->actions, 0);
    x->indent -= 4;
    x->depth--;
    /* each bucket starts from the packet as the group got it */
    x->flow = save;
}

/* select: a live bucket chosen by a hash of the 5-tuple, by weight. */
static int select_bucket(struct xctx *x, const struct group *g)
{
    struct sw_flow_key *f = &x->flow;
    struct sw_flow_mask *wc = x->wc;
    uint64_t h = kk_hash_u64(f->dl_type, 0x5e1ec7);
    wc->masks.dl_type = 0xffff;
    if (is_ipv4(f) || is_ipv6(f)) {
        wc->masks.nw_proto = 0xff;
        h = kk_hash_u64(f->nw_proto, h);
        if (is_ipv4(f)) {
            wc->masks.nw_src = wc->masks.nw_dst = UINT32_MAX;
            h = kk_hash_u64((uint64_t)f->nw_src << 32 | f->nw_dst, h);
        } else {
            wc_all(wc->masks.ipv6_src, 16);
            wc_all(wc->masks.ipv6_dst, 16);
            h = kk_hash_bytes(f->ipv6_src, 16, h);
            h = kk_hash_bytes(f->ipv6_dst, 16, h);
        }
        wc->masks.nw_frag |= SW_FRAG_LATER;
        if (has_l4_ports(f)) {
            wc->masks.tp_src = wc->masks.tp_dst = 0xffff;
            h = kk_hash_u64((uint64_t)f->tp_src << 16 | f->tp_dst, h);
        }
    } else {
        wc_all(wc->masks.dl_src, 6);
        wc_all(wc->masks.dl_dst, 6);
        h = kk_hash_bytes(f->dl_src, 6, h);
        h = kk_hash_bytes(f->dl_dst, 6, h);
    }
    uint64_t total = 0;
    for (unsigned i = 0; i < g->n_buckets; i++)
        if (g->buckets[i].weight && bucket_live(x, &g->buckets[i], 0))
            total += g->buckets[i].weight;
    if (!total)
        return -1;
    uint64_t pick = h % total;
    for (unsigned i = 0; i < g->n_buckets; i++) {
        const struct group_bucket *b = &g->buckets[i];
        if (!b->weight || !bucket_live(x, b, 0))
            continue;
        if (pick < b->weight)
            return (int)i;
        pick -= b->weight;
    }
    return -1;
}

static void xlate_group(struct xctx *x, uint32_t id)
{
    if (x->depth >= SW_OFP_MAX_RESUBMIT) {
        tr(x, "group %" PRIu32 ": depth %d exceeded: stopping\n", id, x->depth);
        x->error = -ELOOP;
        x->exit = true;
        return;
    }
    struct group *g = sw__group_find(x->ofp, id);
    if (!g) {
        tr(x, "group %" PRIu32 ": no such group: nothing done\n", id);
        return;
    }
    if (!(x->flags & SW_XLATE_NO_STATS)) {
        atomic_fetch_add_explicit(&g->n_packets, x->packets, memory_order_relaxed);
        atomic_fetch_add_explicit(&g->n_bytes, x->bytes, memory_order_relaxed);
    }
    switch (g->type) {
    case SW_GROUP_ALL:
        tr(x, "group %" PRIu32 " (all): %u buckets\n", id, g->n_buckets);
        for (unsigned i = 0; i < g->n_buckets && !x->exit; i++)
            bucket_execute(x, g, i);
        return;
    case SW_GROUP_INDIRECT:
        if (g->n_buckets)
            bucket_execute(x, g, 0);
        return;
    case SW_GROUP_FF:
        /* liveness depends on port state: a link change bumps the bridge's
         * change sequence, so megaflows are revalidated */
        for (unsigned i = 0; i < g->n_buckets; i++) {
            if (bucket_live(x, &g->buckets[i], 0)) {
                bucket_execute(x, g, i);
                return;
            }
        }
        tr(x, "group %" PRIu32 " (ff): no live bucket: drop\n", id);
        return;
    case SW_GROUP_SELECT: {
        int i = select_bucket(x, g);
        if (i < 0)
            tr(x, "group %" PRIu32 " (select): no live bucket: drop\n", id);
        else
            bucket_execute(x, g, (unsigned)i);
        return;
    }
    }
}

/* Put @a into the action set, replacing what its slot held. */
static void aset_put(struct xctx *x, const struct ofpact *a)
{
    unsigned slot;
    switch (a->type) {
    case SWACT_POP_VLAN:
        slot = ASET_POP_VLAN;
        break;
    case SWACT_PUSH_VLAN:
        slot = ASET_PUSH_VLAN;
        break;
    case SWACT_DEC_TTL:
        slot = ASET_DEC_TTL;
        break;
    case SWACT_MOD_VLAN_VID:
        slot = ASET_VLAN_VID;
        break;
    case SWACT_MOD_VLAN_PCP:
        slot = ASET_VLAN_PCP;
        break;
    case SWACT_SET_FIELD:
        if (a->field >= ASET_GROUP - ASET_FIELD0)
            return;
        slot = ASET_FIELD0 + a->field;
        break;
    case SWACT_GROUP:
        slot = ASET_GROUP;
        break;
    default: /* outputs (the parser lets nothing else into a set) */
        slot = ASET_OUTPUT;
        break;
    }
    if (slot >= ASET_SLOTS)
        return;
    x->aset[slot] = a;
    x->aset_any = true;
}

/* A copy of the packet to the slow path for the OpenFlow controllers. */
static void to_controller(struct xctx *x, uint16_t max_len, uint8_t table, unsigned reason)
{
    if (x->in && (x->in->config & SW_PC_NO_PACKET_IN)) {
        tr(x, "-> input port %s is no_packet_in: not to the controller\n", x->in->name);
        return;
    }
    commit(x);
    struct sw_odp_userspace u = {0};
    u.reason = SW_OFP_USERSPACE_CONTROLLER;
    u.cookie = (uint64_t)max_len << 32 | (uint64_t)table << 16 | (reason & 0xff);
    u.cookie2 = x->rule_cookie;
    sw_odp_put(x->odp, SW_ODP_USERSPACE, &u.reason, sizeof(u) - sizeof(u.hdr));
    tr(x, "-> to controller (max_len %u, reason %s)\n", max_len,
       reason == SW_OFPR_NO_MATCH ? "no_match" : "action");
}

static void do_actions(struct xctx *x, const struct sw_ofpacts *acts, uint8_t table)
{
    struct sw_flow_key *f = &x->flow;
    struct sw_flow_mask *wc = x->wc;
    for (unsigned i = 0; acts && i < acts->n && !x->exit; i++) {
        const struct ofpact *a = &acts->a[i];
        switch (a->type) {
        case SWACT_OUTPUT:
            output_ofport(x, a->port, false);
            break;
        case SWACT_IN_PORT:
            output_ofport(x, f->in_port, true);
            break;
        case SWACT_FLOOD:
        case SWACT_ALL:
            flood(x, a->type == SWACT_ALL);
            break;
        case SWACT_NORMAL:
            xlate_normal(x);
            break;
        case SWACT_CONTROLLER:
            to_controller(x, a->u16, table, x->table_miss ? SW_OFPR_NO_MATCH : SW_OFPR_ACTION);
            break;
        case SWACT_MOD_VLAN_VID:
        case SWACT_MOD_VLAN_PCP: {
            bool vid = a->type == SWACT_MOD_VLAN_VID;
            /* push or rewrite depends on the tag's presence; the set mask on
             * the bits that change */
            wc->masks.vlan_tci |= SW_VLAN_PRESENT | (vid ? SW_VLAN_VID_MASK : SW_VLAN_PCP_MASK);
            if (!(f->vlan_tci & SW_VLAN_PRESENT)) {
                if (a->flavor) /* set_field: only on a tagged packet */
                    break;
                /* mod_vlan_*: push a tag */
                f->vlan_tci2 = 0;
                f->vlan_tpid2 = 0;
                f->vlan_tci = SW_VLAN_PRESENT;
                f->vlan_tpid = PKT_ETH_TYPE_VLAN;
            }
            if (vid)
                f->vlan_tci = (uint16_t)((f->vlan_tci & ~SW_VLAN_VID_MASK) | a->u16);
            else
                f->vlan_tci = (uint16_t)((f->vlan_tci & ~SW_VLAN_PCP_MASK) |
                                         a->u16 << SW_VLAN_PCP_SHIFT);
            break;
        }
        case SWACT_POP_VLAN:
            wc->masks.vlan_tci |= SW_VLAN_PRESENT;
            if (f->vlan_tci & SW_VLAN_PRESENT) {
                wc_all(&wc->masks.vlan_tci2, 2);
                wc_all(&wc->masks.vlan_tpid2, 2);
                f->vlan_tci = f->vlan_tci2;
                f->vlan_tpid = f->vlan_tpid2;
                f->vlan_tci2 = 0;
                f->vlan_tpid2 = 0;
            }
            break;
        case SWACT_PUSH_VLAN:
            wc_all(&wc->masks.vlan_tci, 2);
            if (f->vlan_tci2 & SW_VLAN_PRESENT) {
                tr(x, "push_vlan: already two tags, not pushing a third\n");
                break;
            }
            wc_all(&wc->masks.vlan_tpid, 2);
            f->vlan_tci2 = f->vlan_tci;
            f->vlan_tpid2 = f->vlan_tpid;
            /* the new tag copies the VID/PCP of the one below, or 0 */
            f->vlan_tci = (uint16_t)(SW_VLAN_PRESENT | (f->vlan_tci2 & ~SW_VLAN_PRESENT));
            f->vlan_tpid = a->u16;
            break;
        case SWACT_SET_FIELD:
            if (!set_applies(x, a)) {
                tr(x, "%s: not applicable to this packet: skipped\n",
                   sw__ofp_fields[a->field].name);
                break;
            }
            sw_flow_mask_or(wc, &a->mask);
            {
                uint64_t *fw = sw_flow_key_words_rw(f);
                const uint64_t *v = sw_flow_key_words(&a->value);
                const uint64_t *m = sw_flow_key_words(&a->mask.masks);
                for (int w = 0; w < SW_FLOW_KEY_WORDS; w++)
                    fw[w] = (fw[w] & ~m[w]) | (v[w] & m[w]);
            }
            break;
        case SWACT_DEC_TTL:
            wc->masks.dl_type = 0xffff;
            if (!is_ipv4(f) && !is_ipv6(f))
                break;
            wc->masks.nw_ttl = 0xff;
            if (f->nw_ttl <= 1) {
                tr(x, "dec_ttl: TTL %u would expire: dropping\n", f->nw_ttl);
                x->exit = true;
                break;
            }
            f->nw_ttl--;
            break;
        case SWACT_RESUBMIT: {
            uint32_t saved = f->in_port;
            if (a->port)
                f->in_port = a->port;
            xlate_table(x, a->table == SWACT_TABLE_CURRENT ? table : a->table);
            f->in_port = saved;
            break;
        }
        case SWACT_GOTO_TABLE:
            xlate_table(x, a->table);
            break;
        case SWACT_GROUP:
            xlate_group(x, a->port);
            break;
        case SWACT_METER: {
            uint32_t dp = sw__meter_dp_id(x->ofp, a->port);
            if (dp == UINT32_MAX) {
                tr(x, "meter %" PRIu32 ": no such meter: not metered\n", a->port);
                break;
            }
            sw_odp_put_meter(x->odp, dp);
            tr(x, "meter %" PRIu32 " (datapath meter %" PRIu32 ")\n", a->port, dp);
            break;
        }
        case SWACT_WRITE_METADATA:
            f->metadata = (f->metadata & ~a->mask.masks.metadata) |
                          (a->value.metadata & a->mask.masks.metadata);
            tr(x, "write_metadata: metadata=0x%" PRIx64 "\n", f->metadata);
            break;
        case SWACT_CLEAR_ACTIONS:
            memset(x->aset, 0, sizeof(x->aset));
            x->aset_any = false;
            tr(x, "clear_actions: action set emptied\n");
            break;
        case SWACT_WRITE_ACTIONS: {
            unsigned k = a->u16 < acts->n - i - 1 ? a->u16 : acts->n - i - 1;
            for (unsigned j = 1; j <= k; j++)
                aset_put(x, &acts->a[i + j]);
            i += k;
            tr(x, "write_actions: %u action%s into the action set\n", k, k == 1 ? "" : "s");
            break;
        }
        default:
            break;
        }
    }
}

/* Execute the action set (end of the pipeline), in its fixed order. */
static void aset_execute(struct xctx *x)
{
    if (!x->aset_any || x->exit)
        return;
    union {
        struct sw_ofpacts h;
        uint8_t bytes[sizeof(struct sw_ofpacts) + ASET_SLOTS * sizeof(struct ofpact)];
    } u;
    u.h.n = 0;
    for (unsigned s = 0; s < ASET_SLOTS; s++)
        if (x->aset[s] && !(s == ASET_OUTPUT && x->aset[ASET_GROUP]))
            u.h.a[u.h.n++] = *x->aset[s];
    tr(x, "action set: executing %u action%s\n", u.h.n, u.h.n == 1 ? "" : "s");
    memset(x->aset, 0, sizeof(x->aset));
    x->aset_any = false;
    do_actions(x, &u.h, 0);
}

static void xlate_table(struct xctx *x, uint8_t table)
{
    if (x->depth >= SW_OFP_MAX_RESUBMIT) {
        tr(x, "resubmit depth %d exceeded: stopping\n", x->depth);
        x->error = -ELOOP;
        x->exit = true;
        return;
    }
    struct sw_cls *cls = atomic_load_explicit(&x->ofp->tables[table], memory_order_acquire);
    struct sw_flow_mask twc;
    memset(&twc, 0, sizeof(twc));
    const struct sw_cls_rule *cr = cls ? sw_cls_lookup(cls, x->version, &x->flow, &twc) : NULL;
    if (!(x->flags & SW_XLATE_NO_STATS)) {
        atomic_fetch_add_explicit(&x->ofp->tbl_lookups[table], x->packets, memory_order_relaxed);
        if (cr)
            atomic_fetch_add_explicit(&x->ofp->tbl_matched[table], x->packets,
                                      memory_order_relaxed);
    }
    /* rules match OpenFlow in_port: whatever they consulted, the datapath
     * port is what the megaflow must pin */
    if (twc.masks.in_port)
        twc.masks.in_port = UINT32_MAX;
    sw_flow_mask_or(x->wc, &twc);
    if (!cr) {
        unsigned miss = atomic_load_explicit(&x->ofp->miss_send_len, memory_order_relaxed);
        if (miss) {
            tr(x, "%2u. No match: to the controllers\n", table);
            x->rule_cookie = UINT64_MAX;   /* no rule */
            to_controller(x, (uint16_t)(miss - 1), table, SW_OFPR_NO_MATCH);
        } else {
            tr(x, "%2u. No match: drop\n", table);
        }
        return;
    }
    struct rule *r = sw_cls_rule_user(cr);
    /* OpenFlow 1.3: a table-miss entry (priority 0, matching everything)
     * sends to the controller with reason no_match */
    bool saved_miss = x->table_miss;
    uint64_t saved_cookie = x->rule_cookie;
    x->table_miss = r->priority == 0 && sw_flow_mask_is_catchall(&r->mask);
    x->rule_cookie = r->cookie;
    if (!(x->flags & SW_XLATE_NO_STATS) && !(r->flags & SW_OFP_FLAG_NO_COUNTS)) {
        atomic_fetch_add_explicit(&r->n_packets, x->packets, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->n_bytes, x->bytes, memory_order_relaxed);
        /* the latest use wins: pushes and slow-path packets may race */
        uint64_t u = atomic_load_explicit(&r->used_ms, memory_order_relaxed);
        while (u < x->used && !atomic_compare_exchange_weak_explicit(
                                  &r->used_ms, &u, x->used, memory_order_relaxed,
                                  memory_order_relaxed))
            ;
    }
    const struct sw_ofpacts *acts = atomic_load_explicit(&r->actions, memory_order_acquire);
    if (x->trace) {
        char m[SW_FLOW_FORMAT_MAX], at[2048];
        sw_flow_format(&r->match, &r->mask, m, sizeof(m));
        sw_ofpacts_format(acts, at, sizeof(at));
        tr(x, "%2u. %s%spriority %" PRId32 ", cookie 0x%" PRIx64 "\n", table, m, m[0] ? ", " : "",
           r->priority, r->cookie);
        tr(x, "    %s\n", at);
    }
    x->depth++;
    x->indent += 4;
    do_actions(x, acts, table);
    x->table_miss = saved_miss;
    x->rule_cookie = saved_cookie;
    x->indent -= 4;
    x->depth--;
}

/* ---- entry points ---- */

static void mirror_outputs(struct xctx *x)
{
    uint32_t done[SW_OFP_MAX_MIRRORS];
    unsigned n_done = 0;
    for (unsigned i = 0; i < SW_OFP_MAX_MIRRORS; i++) {
        if (!(x->mirrors & (1u << i)))
            continue;
        const struct mirror *m = x->ofp->mirrors[i];
        const struct ofport *p = m ? sw__port_by_ofport(x->ofp, m->out_ofport) : NULL;
        if (!p)
            continue;
        bool dup = (x->in && p == x->in) || already_output(x, p->ofport);
        for (unsigned d = 0; d < n_done; d++)
            dup |= done[d] == p->ofport;
        if (dup) {
            tr(x, "mirror %s: port %s already has the packet (or is its input): no copy\n",
               m->name, p->name);
            continue;
        }
        done[n_done++] = p->ofport;
        uint32_t in_port = x->flow.in_port;
        x->flow = x->mirror_state[i];
        x->flow.in_port = in_port;
        if (x->xvlan < 0) {
            /* no VLAN of the bridge's (a frame NORMAL would drop): as it is */
            uint32_t dp = port_dp(x, p);
            if (dp == UINT32_MAX)
                continue;
            commit(x);
            sw_odp_put_output(x->odp, dp);
            tr(x, "mirror %s: copy to %s (datapath port %" PRIu32 ")\n", m->name, p->name, dp);
            continue;
        }
        /* The copy leaves in the packet's input VLAN (and priority) as the
         * mirror port's mode wants it (untagged on an access port, tagged
         * on a trunk), like NORMAL output: the tag that carried the VLAN
         * on input is replaced, what was under it stays. */
        const struct sw_flow_key *o = x->orig;
        wc_all(&x->wc->masks.vlan_tci, 2);
        bool tagged = (o->vlan_tci & SW_VLAN_PRESENT) != 0;
        if (tagged && (o->vlan_tci2 & SW_VLAN_PRESENT))
            wc_all(&x->wc->masks.vlan_tci2, 2);
        tr(x, "mirror %s: copy to %s in VLAN %d\n", m->name, p->name, x->xvlan);
        output_normal(x, p, x->xvlan, o->vlan_tci & SW_VLAN_PCP_MASK, tagged ? o->vlan_tci2 : 0,
                      tagged ? o->vlan_tpid2 : 0);
    }
}

int sw__ofproto_xlate(struct sw_ofproto *ofp, const struct sw_flow_key *key,
                      struct sw_odp_buf *actions, struct sw_flow_mask *wc, unsigned flags,
                      struct sw_xlate_trace *trace, uint64_t bytes)
{
    return sw__ofproto_xlate_credit(ofp, key, actions, wc, flags, trace, 1, bytes, 0);
}

int sw__ofproto_xlate_credit(struct sw_ofproto *ofp, const struct sw_flow_key *key,
                             struct sw_odp_buf *actions, struct sw_flow_mask *wc, unsigned flags,
                             struct sw_xlate_trace *trace, uint64_t packets, uint64_t bytes,
                             uint64_t used_ms)
{
    if (!ofp || !key || !actions || !wc)
        return -EINVAL;
    struct xctx *x = &(struct xctx){0};
    x->ofp = ofp;
    x->orig = key;
    x->flow = *key;
    x->base = *key;
    x->wc = wc;
    x->odp = actions;
    x->version = atomic_load_explicit(&ofp->version, memory_order_acquire);
    x->now = sw__ofproto_now(ofp);
    x->bytes = bytes;
    x->packets = packets;
    x->used = used_ms ? used_ms : x->now;
    x->flags = flags;
    x->trace = trace;
    x->in_dp = key->in_port;
    /* keys built from text may carry a tag without its TPID: 802.1Q */
    if ((x->flow.vlan_tci & SW_VLAN_PRESENT) && !x->flow.vlan_tpid)
        x->flow.vlan_tpid = x->base.vlan_tpid = PKT_ETH_TYPE_VLAN;
    if ((x->flow.vlan_tci2 & SW_VLAN_PRESENT) && !x->flow.vlan_tpid2)
        x->flow.vlan_tpid2 = x->base.vlan_tpid2 = PKT_ETH_TYPE_VLAN;
    size_t start_len = actions->len;
    wc->masks.in_port = UINT32_MAX;

    pthread_rwlock_rdlock(&ofp->cfg_lock);
    x->in = sw__port_by_dp(ofp, key->in_port);
    if (!x->in) {
        tr(x, "datapath port %" PRIu32 " is not a port of bridge %s: drop\n", key->in_port,
           ofp->name);
        pthread_rwlock_unlock(&ofp->cfg_lock);
        return -ENOENT;
    }
    x->flow.in_port = x->in->ofport;
    if (x->in->config & SW_PC_NO_RECV) {
        tr(x, "input port %s is no_recv: drop\n", x->in->name);
        pthread_rwlock_unlock(&ofp->cfg_lock);
        return 0;
    }
    x->xvlan = input_vlan(x->in, key->vlan_tci);
    /* ingress mirrors: the packet as received */
    for (unsigned i = 0; i < SW_OFP_MAX_MIRRORS; i++) {
        const struct mirror *m = ofp->mirrors[i];
        if (!m || !(m->select_all || (x->in->mirror_src & (1u << i))))
            continue;
        if (!m->any_vlan)
            wc_all(&wc->masks.vlan_tci, 2);
        if (vlan_selected(m, x->xvlan)) {
            x->mirrors |= 1u << i;
            x->mirror_state[i] = x->base;
        }
    }
    tr(x, "bridge(\"%s\")\n-------------\n", ofp->name);
    if (atomic_load_explicit(&ofp->fail_open, memory_order_relaxed)) {
        /* fail-open: no controller reachable, a learning switch in their stead */
        tr(x, "fail-open: the controllers are unreachable, NORMAL for every packet\n");
        xlate_normal(x);
    } else {
        xlate_table(x, 0);
    }
    aset_execute(x);
    mirror_outputs(x);
    pthread_rwlock_unlock(&ofp->cfg_lock);
    /* metadata is the pipeline's own (write_metadata), never a packet bit:
     * what tables consulted of it is decided by the packet fields already
     * in the mask */
    wc->masks.metadata = 0;
    if (actions->overflow) {
        actions->len = start_len;
        actions->overflow = false;
        return -E2BIG;
    }
    return x->error;
}

int sw_ofproto_xlate_actions(struct sw_ofproto *ofp, const struct sw_flow_key *key,
                             uint32_t in_ofport, const struct sw_ofpacts *acts,
                             struct sw_odp_buf *actions)
{
    if (!ofp || !key || !actions)
        return -EINVAL;
    struct sw_flow_mask wc;
    memset(&wc, 0, sizeof(wc));
    struct xctx *x = &(struct xctx){0};
    x->ofp = ofp;
    x->orig = key;
    x->flow = *key;
    x->base = *key;
    x->wc = &wc;
    x->odp = actions;
    x->version = atomic_load_explicit(&ofp->version, memory_order_acquire);
    x->now = sw__ofproto_now(ofp);
    x->used = x->now;
    x->flags = SW_XLATE_NO_LEARN | SW_XLATE_NO_STATS;
    x->xvlan = -1;
    if ((x->flow.vlan_tci & SW_VLAN_PRESENT) && !x->flow.vlan_tpid)
        x->flow.vlan_tpid = x->base.vlan_tpid = PKT_ETH_TYPE_VLAN;
    size_t start_len = actions->len;
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    x->in = sw__port_by_ofport(ofp, in_ofport);
    x->in_dp = x->in ? port_dp(x, x->in) : UINT32_MAX;
    x->flow.in_port = in_ofport;
    if (x->in)
        x->xvlan = input_vlan(x->in, key->vlan_tci);
    do_actions(x, acts, 0);
    aset_execute(x);
    pthread_rwlock_unlock(&ofp->cfg_lock);
    if (actions->overflow) {
        actions->len = start_len;
        actions->overflow = false;
        return -E2BIG;
    }
    return x->error;
}

int sw_ofproto_xlate(struct sw_ofproto *ofp, const struct sw_flow_key *key,
                     const struct pkt_buf *pkt, struct sw_odp_buf *actions,
                     struct sw_flow_mask *wc, unsigned flags, struct sw_xlate_trace *trace)
{
    (void)pkt;
    return sw__ofproto_xlate(ofp, key, actions, wc, flags, trace, 0);
}

void sw_ofproto_credit(struct sw_ofproto *ofp, const struct sw_flow_key *key, uint64_t packets,
                       uint64_t bytes, uint64_t used_ms)
{
    if (!ofp || !key || !packets)
        return;
    struct sw_odp_buf odp;
    struct sw_flow_mask wc;
    sw_odp_buf_init(&odp);
    memset(&wc, 0, sizeof(wc));
    sw__ofproto_xlate_credit(ofp, key, &odp, &wc, SW_XLATE_NO_LEARN, NULL, packets, bytes,
                             used_ms);
}

static const char *trace_port_name(void *arg, uint32_t port)
{
    (void)arg;
    (void)port;
    return NULL;
}

int sw_ofproto_trace(struct sw_ofproto *ofp, const char *flow_text, char *buf, size_t size)
{
    if (size)
        buf[0] = '\0';
    if (!ofp || !flow_text)
        return -EINVAL;
    /* in_port may be a name: let the flow-mod parser resolve it */
    struct sw_flow_mod fm;
    char err[256];
    int r = sw_flow_mod_parse(ofp, SW_FM_DELETE, flow_text, &fm, err, sizeof(err));
    if (r) {
        snprintf(buf, size, "%s", err);
        return r;
    }
    struct sw_flow_key key = fm.match;
    sw_flow_mod_uninit(&fm);
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    const struct ofport *p = sw__port_by_ofport(ofp, key.in_port);
    uint32_t dp = p ? (p->is_bond ? (p->n_members ? p->members[0] : UINT32_MAX) : p->dp_port)
                    : UINT32_MAX;
    pthread_rwlock_unlock(&ofp->cfg_lock);
    if (!p) {
        snprintf(buf, size, "in_port: no port %" PRIu32 " in bridge %s", key.in_port, ofp->name);
        return -EINVAL;
    }

    struct sw_xlate_trace t = {.buf = buf, .size = size};
    struct xctx dummy = {.trace = &t};
    char text[SW_FLOW_FORMAT_MAX];
    struct sw_flow_mask exact;
    sw_flow_mask_exact(&exact);
    sw_flow_format(&key, &exact, text, sizeof(text));
    tr(&dummy, "Flow: %s\n\n", text);

    key.in_port = dp;
    struct sw_odp_buf odp;
    sw_odp_buf_init(&odp);
    struct sw_flow_mask wc;
    memset(&wc, 0, sizeof(wc));
    r = sw__ofproto_xlate(ofp, &key, &odp, &wc, SW_XLATE_NO_LEARN | SW_XLATE_NO_STATS, &t, 0);
    sw_flow_format(&key, &wc, text, sizeof(text));
    tr(&dummy, "\nMegaflow: %s\n", text);
    char acts[4096];
    sw_odp_format(odp.data, odp.len, acts, sizeof(acts), trace_port_name, NULL);
    tr(&dummy, "Datapath actions: %s\n", acts);
    if (r)
        tr(&dummy, "Translation error: %s\n", strerror(-r));
    return t.len > INT32_MAX ? INT32_MAX : (int)t.len;
}

/* ---- revalidation ---- */

static _Thread_local struct sw_odp_buf reval_buf;

enum sw_mfc_reval sw_ofproto_revalidate_flow(struct sw_ofproto *ofp,
                                             const struct sw_flow_key *key,
                                             const struct sw_flow_mask *mask,
                                             const void *actions, size_t actions_len,
                                             const void **new_actions, size_t *new_len)
{
    if (!ofp || !key || !mask)
        return SW_MFC_DELETE;
    struct sw_flow_key k;
    sw_flow_key_mask(&k, key, mask);
    struct sw_flow_mask wc;
    memset(&wc, 0, sizeof(wc));
    sw_odp_buf_init(&reval_buf);
    int r = sw__ofproto_xlate(ofp, &k, &reval_buf, &wc, SW_XLATE_NO_LEARN | SW_XLATE_NO_STATS,
                              NULL, 0);
    if (r == -E2BIG || !sw_flow_mask_is_subset(&wc, mask))
        return SW_MFC_DELETE;
    if (reval_buf.len == actions_len &&
        (actions_len == 0 || memcmp(reval_buf.data, actions, actions_len) == 0))
        return SW_MFC_KEEP;
    if (!new_actions || !new_len)
        return SW_MFC_DELETE;
    *new_actions = reval_buf.data;
    *new_len = reval_buf.len;
    return SW_MFC_REPLACE;
}

enum sw_mfc_reval sw_ofproto_mfc_reval(void *arg, const struct sw_flow_key *key,
                                       const struct sw_flow_mask *mask, const void *actions,
                                       size_t actions_len, void *user,
                                       const void **new_actions, size_t *new_len)
{
    if (user && user != arg)
        return SW_MFC_KEEP;
    return sw_ofproto_revalidate_flow(arg, key, mask, actions, actions_len, new_actions,
                                      new_len);
}
