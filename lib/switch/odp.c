/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Datapath action lists: building, validation, text form and execution.
 * See odp.h for the format and the execution rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kk_common.h"
#include "odp.h"
#include "pkt.h"
#include "pkt_edit.h"
#include "pkt_proto.h"

static size_t record_space(size_t len)
{
    return (len + SW_ODP_ALIGN - 1) & ~(size_t)(SW_ODP_ALIGN - 1);
}

void *sw_odp_put(struct sw_odp_buf *b, uint16_t type, const void *payload, size_t payload_len)
{
    size_t len = sizeof(struct sw_odp_attr) + payload_len;
    if (b->overflow || len > UINT16_MAX || b->len > SW_ODP_MAX_LEN ||
        record_space(len) > SW_ODP_MAX_LEN - b->len) {
        b->overflow = true;
        return NULL;
    }
    uint8_t *rec = b->data + b->len;
    struct sw_odp_attr hdr = {.type = type, .len = (uint16_t)len};
    memcpy(rec, &hdr, sizeof(hdr));
    if (payload_len)
        memcpy(rec + sizeof(hdr), payload, payload_len);
    memset(rec + len, 0, record_space(len) - len);
    b->len += record_space(len);
    return rec;
}

/* Append a whole action struct (its header is written by sw_odp_put). */
static void put_struct(struct sw_odp_buf *b, uint16_t type, const void *s, size_t size)
{
    sw_odp_put(b, type, (const uint8_t *)s + sizeof(struct sw_odp_attr),
               size - sizeof(struct sw_odp_attr));
}

void sw_odp_put_output(struct sw_odp_buf *b, uint32_t port)
{
    struct sw_odp_output o = {.port = port};
    put_struct(b, SW_ODP_OUTPUT, &o, sizeof(o));
}

void sw_odp_put_push_vlan(struct sw_odp_buf *b, uint16_t tpid, uint16_t tci)
{
    struct sw_odp_push_vlan p = {.tpid = tpid, .tci = tci};
    put_struct(b, SW_ODP_PUSH_VLAN, &p, sizeof(p));
}

void sw_odp_put_pop_vlan(struct sw_odp_buf *b)
{
    sw_odp_put(b, SW_ODP_POP_VLAN, NULL, 0);
}

void sw_odp_put_meter(struct sw_odp_buf *b, uint32_t meter_id)
{
    sw_odp_put(b, SW_ODP_METER, &meter_id, sizeof(meter_id));
}

/* The record length each type must have. */
static size_t expected_len(uint16_t type)
{
    switch (type) {
    case SW_ODP_OUTPUT: return sizeof(struct sw_odp_output);
    case SW_ODP_PUSH_VLAN: return sizeof(struct sw_odp_push_vlan);
    case SW_ODP_POP_VLAN: return sizeof(struct sw_odp_attr);
    case SW_ODP_SET_VLAN: return sizeof(struct sw_odp_set_vlan);
    case SW_ODP_SET_ETH: return sizeof(struct sw_odp_set_eth);
    case SW_ODP_SET_IPV4: return sizeof(struct sw_odp_set_ipv4);
    case SW_ODP_SET_IPV6: return sizeof(struct sw_odp_set_ipv6);
    case SW_ODP_SET_L4: return sizeof(struct sw_odp_set_l4);
    case SW_ODP_USERSPACE: return sizeof(struct sw_odp_userspace);
    case SW_ODP_METER: return sizeof(struct sw_odp_meter);
    default: return 0;
    }
}

int sw_odp_validate(const void *actions, size_t len)
{
    if (len == 0)
        return 0;
    if (!actions || len > SW_ODP_MAX_LEN || ((uintptr_t)actions & (SW_ODP_ALIGN - 1)))
        return -EINVAL;
    const uint8_t *base = actions;
    size_t off = 0;
    while (off < len) {
        if (len - off < sizeof(struct sw_odp_attr))
            return -EINVAL;
        struct sw_odp_attr a;
        memcpy(&a, base + off, sizeof(a));
        size_t want = expected_len(a.type);
        if (want == 0 || a.len != want || a.len > len - off)
            return -EINVAL;
        if (a.type == SW_ODP_PUSH_VLAN) {
            const struct sw_odp_push_vlan *p = (const void *)(base + off);
            if (p->tpid != PKT_ETH_TYPE_VLAN && p->tpid != PKT_ETH_TYPE_QINQ)
                return -EINVAL;
        }
        off += record_space(a.len);
    }
    return 0;
}

/* ---- text form ---------------------------------------------------------- */

struct out {
    char *buf;
    size_t size;
    size_t len; /* of the whole text, may exceed size */
};

KK_PRINTF(2, 3) static void out_printf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = o->len < o->size ? o->buf + o->len : NULL;
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static bool all_ones(const uint8_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i] != 0xff)
            return false;
    return true;
}

static bool all_zero(const uint8_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i])
            return false;
    return true;
}

/* "name=value[/mask]," for the fields of a set action; @first tracks commas. */
static void sep(struct out *o, bool *first)
{
    if (!*first)
        out_printf(o, ",");
    *first = false;
}

static void fmt_mac(struct out *o, bool *first, const char *name, const uint8_t *v,
                    const uint8_t *m)
{
    if (all_zero(m, 6))
        return;
    sep(o, first);
    out_printf(o, "%s=%02x:%02x:%02x:%02x:%02x:%02x", name, v[0], v[1], v[2], v[3], v[4], v[5]);
    if (!all_ones(m, 6))
        out_printf(o, "/%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void fmt_ip4(struct out *o, bool *first, const char *name, uint32_t v, uint32_t m)
{
    if (!m)
        return;
    sep(o, first);
    out_printf(o, "%s=%u.%u.%u.%u", name, v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    if (m != UINT32_MAX)
        out_printf(o, "/%u.%u.%u.%u", m >> 24, (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff);
}

static void fmt_ip6(struct out *o, bool *first, const char *name, const uint8_t *v,
                    const uint8_t *m)
{
    if (all_zero(m, 16))
        return;
    char t[INET6_ADDRSTRLEN];
    sep(o, first);
    inet_ntop(AF_INET6, v, t, sizeof(t));
    out_printf(o, "%s=%s", name, t);
    if (!all_ones(m, 16)) {
        inet_ntop(AF_INET6, m, t, sizeof(t));
        out_printf(o, "/%s", t);
    }
}

static void fmt_uint(struct out *o, bool *first, const char *name, unsigned v, unsigned m,
                     unsigned full, bool hex)
{
    if (!m)
        return;
    sep(o, first);
    out_printf(o, hex ? "%s=0x%x" : "%s=%u", name, v & m);
    if (m != full)
        out_printf(o, "/0x%x", m);
}

static void format_one(struct out *o, const struct sw_odp_attr *a,
                       const char *(*port_name)(void *arg, uint32_t port), void *arg)
{
    bool first = true;
    switch (a->type) {
    case SW_ODP_OUTPUT: {
        const struct sw_odp_output *x = (const void *)a;
        const char *name = port_name ? port_name(arg, x->port) : NULL;
        if (name)
            out_printf(o, "%s", name);
        else
            out_printf(o, "%" PRIu32, x->port);
        break;
    }
    case SW_ODP_PUSH_VLAN: {
        const struct sw_odp_push_vlan *x = (const void *)a;
        out_printf(o, "push_vlan(");
        if (x->tpid != PKT_ETH_TYPE_VLAN)
            out_printf(o, "tpid=0x%04x,", x->tpid);
        out_printf(o, "vid=%u,pcp=%u)", x->tci & SW_VLAN_VID_MASK, x->tci >> SW_VLAN_PCP_SHIFT);
        break;
    }
    case SW_ODP_POP_VLAN:
        out_printf(o, "pop_vlan");
        break;
    case SW_ODP_SET_VLAN: {
        const struct sw_odp_set_vlan *x = (const void *)a;
        out_printf(o, "set(vlan(");
        unsigned m = x->mask;
        if ((m & PKT_VLAN_VID_MASK) == PKT_VLAN_VID_MASK) {
            fmt_uint(o, &first, "vid", x->tci & PKT_VLAN_VID_MASK, PKT_VLAN_VID_MASK,
                     PKT_VLAN_VID_MASK, false);
            m &= ~(unsigned)PKT_VLAN_VID_MASK;
        }
        if ((m & SW_VLAN_PCP_MASK) == SW_VLAN_PCP_MASK) {
            fmt_uint(o, &first, "pcp", x->tci >> SW_VLAN_PCP_SHIFT, 7, 7, false);
            m &= ~(unsigned)SW_VLAN_PCP_MASK;
        }
        fmt_uint(o, &first, "tci", x->tci, m, 0xffff, true);
        out_printf(o, "))");
        break;
    }
    case SW_ODP_SET_ETH: {
        const struct sw_odp_set_eth *x = (const void *)a;
        out_printf(o, "set(eth(");
        fmt_mac(o, &first, "src", x->src, x->src_mask);
        fmt_mac(o, &first, "dst", x->dst, x->dst_mask);
        out_printf(o, "))");
        break;
    }
    case SW_ODP_SET_IPV4: {
        const struct sw_odp_set_ipv4 *x = (const void *)a;
        out_printf(o, "set(ipv4(");
        fmt_ip4(o, &first, "src", x->src, x->src_mask);
        fmt_ip4(o, &first, "dst", x->dst, x->dst_mask);
        fmt_uint(o, &first, "tos", x->tos, x->tos_mask, 0xff, true);
        fmt_uint(o, &first, "ttl", x->ttl, x->ttl_mask, 0xff, false);
        out_printf(o, "))");
        break;
    }
    case SW_ODP_SET_IPV6: {
        const struct sw_odp_set_ipv6 *x = (const void *)a;
        out_printf(o, "set(ipv6(");
        fmt_ip6(o, &first, "src", x->src, x->src_mask);
        fmt_ip6(o, &first, "dst", x->dst, x->dst_mask);
        fmt_uint(o, &first, "tclass", x->tclass, x->tclass_mask, 0xff, true);
        fmt_uint(o, &first, "hlimit", x->hlimit, x->hlimit_mask, 0xff, false);
        out_printf(o, "))");
        break;
    }
    case SW_ODP_SET_L4: {
        const struct sw_odp_set_l4 *x = (const void *)a;
        out_printf(o, "set(l4(");
        fmt_uint(o, &first, "src", x->src, x->src_mask, 0xffff, false);
        fmt_uint(o, &first, "dst", x->dst, x->dst_mask, 0xffff, false);
        out_printf(o, "))");
        break;
    }
    case SW_ODP_USERSPACE: {
        const struct sw_odp_userspace *x = (const void *)a;
        out_printf(o, "userspace(reason=%" PRIu32 ",cookie=0x%" PRIx64 ")", x->reason, x->cookie);
        break;
    }
    case SW_ODP_METER:
        out_printf(o, "meter(%" PRIu32 ")", ((const struct sw_odp_meter *)(const void *)a)->meter_id);
        break;
    default:
        out_printf(o, "unknown(%u)", a->type);
        break;
    }
}

int sw_odp_format(const void *actions, size_t len, char *buf, size_t size,
                  const char *(*port_name)(void *arg, uint32_t port), void *arg)
{
    struct out o = {.buf = buf, .size = size, .len = 0};
    if (size)
        buf[0] = '\0';
    if (len == 0) {
        out_printf(&o, "drop");
    } else if (sw_odp_validate(actions, len) != 0) {
        out_printf(&o, "invalid");
    } else {
        bool first = true;
        SW_ODP_FOR_EACH(a, actions, len) {
            sep(&o, &first);
            format_one(&o, a, port_name, arg);
        }
    }
    return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

/* ---- execution ---------------------------------------------------------- */

/* A copy of @p (every segment, offload metadata included), or NULL. */
static struct pkt_buf *copy_packet(struct pkt_pool *pool, const struct pkt_buf *p)
{
    struct pkt_buf *c = pkt_from_bytes(pool, pkt_data(p), p->data_len);
    if (!c)
        return NULL;
    for (const struct pkt_buf *s = p->next; s; s = s->next) {
        struct pkt_buf *t = pkt_from_bytes(pool, pkt_data(s), s->data_len);
        if (!t) {
            pkt_free(c);
            return NULL;
        }
        pkt_chain(c, t);
    }
    c->port = p->port;
    c->ol_flags = p->ol_flags;
    c->csum_start = p->csum_start;
    c->csum_offset = p->csum_offset;
    c->gso_size = p->gso_size;
    c->gso_type = p->gso_type;
    c->hdr_len = p->hdr_len;
    c->hash = p->hash;
    c->user = p->user;
    return c;
}

#define EXEC_CHUNK 32

struct exec_state {
    struct pkt_layout lay[EXEC_CHUNK];
    bool lay_valid[EXEC_CHUNK];
};

static const struct pkt_layout *layout_of(struct exec_state *st, unsigned i, struct pkt_buf *p)
{
    if (!st->lay_valid[i]) {
        struct pkt_flow flow;
        pkt_parse_frame(pkt_data(p), p->data_len, p->pkt_len, &flow, &st->lay[i]);
        st->lay[i].l4_csum_partial = (p->ol_flags & PKT_OL_CSUM_PARTIAL) != 0;
        st->lay_valid[i] = true;
    }
    return &st->lay[i];
}

/*
 * The layout of @p once its headers are in its first segment, where the
 * set actions write: a chained packet (a lent vhost-user payload, a jumbo
 * frame) whose headers run past it is pulled up first; with @whole (SCTP,
 * whose CRC covers everything) the whole packet is, as far as it fits.
 */
static const struct pkt_layout *headers_of(struct exec_state *st, unsigned i, struct pkt_buf *p,
                                           bool whole)
{
    const struct pkt_layout *lay = layout_of(st, i, p);
    if (p->next && ((lay->status == PKT_TRUNCATED && lay->err_layer != PKT_LAYER_PAYLOAD) ||
                    (whole && lay->l4 == PKT_LAYER_SCTP))) {
        pkt_pullup(p, p->pkt_len);
        st->lay_valid[i] = false;
        lay = layout_of(st, i, p);
    }
    return lay;
}

/* Offsets that count from the frame start move with a pushed or popped tag. */
static void shift_offload(struct pkt_buf *p, int delta)
{
    if (p->ol_flags & PKT_OL_CSUM_PARTIAL)
        p->csum_start = (uint16_t)(p->csum_start + delta);
    if (p->ol_flags & PKT_OL_GSO)
        p->hdr_len = (uint16_t)(p->hdr_len + delta);
}

static void do_push_vlan(struct pkt_buf *p, const struct sw_odp_push_vlan *x)
{
    size_t head = p->data_off, len = p->data_len;
    if (pkt_vlan_push(p->base, &head, &len, x->tpid, (uint16_t)(x->tci & ~SW_VLAN_PRESENT)) == 0) {
        p->data_off = (uint32_t)head;
        p->data_len = (uint32_t)len;
        p->pkt_len += 4;
        shift_offload(p, 4);
    }
}

static void do_pop_vlan(struct pkt_buf *p)
{
    size_t head = p->data_off, len = p->data_len;
    if (pkt_vlan_pop(p->base, &head, &len, NULL, NULL) == 0) {
        p->data_off = (uint32_t)head;
        p->data_len = (uint32_t)len;
        p->pkt_len -= 4;
        shift_offload(p, -4);
    }
}

static void do_set_eth(struct pkt_buf *p, const struct sw_odp_set_eth *x)
{
    uint8_t *f = pkt_data(p);
    if (p->data_len < PKT_ETH_HDR_LEN)
        return;
    uint8_t dst[6], src[6];
    for (int i = 0; i < 6; i++) {
        dst[i] = (uint8_t)((f[i] & ~x->dst_mask[i]) | (x->dst[i] & x->dst_mask[i]));
        src[i] = (uint8_t)((f[6 + i] & ~x->src_mask[i]) | (x->src[i] & x->src_mask[i]));
    }
    pkt_set_eth_addrs(f, p->data_len, src, dst);
}

static uint32_t masked32(uint32_t old, uint32_t v, uint32_t m)
{
    return (old & ~m) | (v & m);
}

static void do_set_ipv4(struct pkt_buf *p, const struct pkt_layout *lay,
                        const struct sw_odp_set_ipv4 *x)
{
    uint8_t *f = pkt_data(p);
    size_t len = p->data_len;
    if (lay->l3 != PKT_LAYER_IPV4 || lay->l3_ofs > len || len - lay->l3_ofs < PKT_IPV4_HDR_LEN)
        return;
    const uint8_t *ip = f + lay->l3_ofs;
    if (x->src_mask) {
        uint32_t old = pkt_get32(ip + 12), v = masked32(old, x->src, x->src_mask);
        if (v != old)
            pkt_set_ipv4_src(f, len, lay, v);
    }
    if (x->dst_mask) {
        uint32_t old = pkt_get32(ip + 16), v = masked32(old, x->dst, x->dst_mask);
        if (v != old)
            pkt_set_ipv4_dst(f, len, lay, v);
    }
    if (x->tos_mask)
        pkt_set_ip_tos(f, len, lay, x->tos, x->tos_mask);
    if (x->ttl_mask) {
        uint8_t v = (uint8_t)masked32(ip[8], x->ttl, x->ttl_mask);
        if (v != ip[8])
            pkt_set_ip_ttl(f, len, lay, v);
    }
}

static void masked_bytes(uint8_t *dst, const uint8_t *old, const uint8_t *v, const uint8_t *m,
                         size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)((old[i] & ~m[i]) | (v[i] & m[i]));
}

static void do_set_ipv6(struct pkt_buf *p, const struct pkt_layout *lay,
                        const struct sw_odp_set_ipv6 *x)
{
    uint8_t *f = pkt_data(p);
    size_t len = p->data_len;
    if (lay->l3 != PKT_LAYER_IPV6 || lay->l3_ofs > len || len - lay->l3_ofs < PKT_IPV6_HDR_LEN)
        return;
    const uint8_t *ip = f + lay->l3_ofs;
    uint8_t a[16];
    if (!all_zero(x->src_mask, 16)) {
        masked_bytes(a, ip + 8, x->src, x->src_mask, 16);
        if (memcmp(a, ip + 8, 16))
            pkt_set_ipv6_src(f, len, lay, a);
    }
    if (!all_zero(x->dst_mask, 16)) {
        masked_bytes(a, ip + 24, x->dst, x->dst_mask, 16);
        if (memcmp(a, ip + 24, 16))
            pkt_set_ipv6_dst(f, len, lay, a);
    }
    if (x->tclass_mask)
        pkt_set_ip_tos(f, len, lay, x->tclass, x->tclass_mask);
    if (x->hlimit_mask) {
        uint8_t v = (uint8_t)masked32(ip[7], x->hlimit, x->hlimit_mask);
        if (v != ip[7])
            pkt_set_ip_ttl(f, len, lay, v);
    }
}

static void do_set_l4(struct pkt_buf *p, const struct pkt_layout *lay,
                      const struct sw_odp_set_l4 *x)
{
    uint8_t *f = pkt_data(p);
    size_t len = p->data_len;
    if ((lay->l4 != PKT_LAYER_TCP && lay->l4 != PKT_LAYER_UDP && lay->l4 != PKT_LAYER_SCTP) ||
        lay->l4_ofs > len || len - lay->l4_ofs < 4)
        return;
    const uint8_t *l4 = f + lay->l4_ofs;
    if (x->src_mask) {
        uint16_t old = pkt_get16(l4), v = (uint16_t)masked32(old, x->src, x->src_mask);
        if (v != old)
            pkt_set_tp_src(f, len, lay, v);
    }
    if (x->dst_mask) {
        uint16_t old = pkt_get16(l4 + 2), v = (uint16_t)masked32(old, x->dst, x->dst_mask);
        if (v != old)
            pkt_set_tp_dst(f, len, lay, v);
    }
}

static void execute_chunk(struct sw_odp_exec_ctx *ctx, struct pkt_buf **pkts, unsigned n,
                          const void *actions, size_t actions_len, const struct sw_odp_attr *last)
{
    struct exec_state st;
    memset(st.lay_valid, 0, sizeof(st.lay_valid));
    SW_ODP_FOR_EACH(a, actions, actions_len) {
        switch (a->type) {
        case SW_ODP_OUTPUT: {
            uint32_t port = ((const struct sw_odp_output *)(const void *)a)->port;
            if (a == last) {
                for (unsigned i = 0; i < n; i++)
                    ctx->output(ctx->arg, port, pkts[i]);
                return;
            }
            for (unsigned i = 0; i < n; i++) {
                struct pkt_buf *c = copy_packet(ctx->pool, pkts[i]);
                if (c)
                    ctx->output(ctx->arg, port, c);
                else
                    ctx->copy_failures++;
            }
            break;
        }
        case SW_ODP_PUSH_VLAN:
            for (unsigned i = 0; i < n; i++) {
                do_push_vlan(pkts[i], (const void *)a);
                st.lay_valid[i] = false;
            }
            break;
        case SW_ODP_POP_VLAN:
            for (unsigned i = 0; i < n; i++) {
                do_pop_vlan(pkts[i]);
                st.lay_valid[i] = false;
            }
            break;
        case SW_ODP_SET_VLAN: {
            const struct sw_odp_set_vlan *x = (const void *)a;
            for (unsigned i = 0; i < n; i++)
                pkt_vlan_set_tci(pkt_data(pkts[i]), pkts[i]->data_len, x->tci, x->mask);
            break;
        }
        case SW_ODP_SET_ETH:
            for (unsigned i = 0; i < n; i++)
                do_set_eth(pkts[i], (const void *)a);
            break;
        case SW_ODP_SET_IPV4:
            for (unsigned i = 0; i < n; i++)
                do_set_ipv4(pkts[i], headers_of(&st, i, pkts[i], false), (const void *)a);
            break;
        case SW_ODP_SET_IPV6:
            for (unsigned i = 0; i < n; i++)
                do_set_ipv6(pkts[i], headers_of(&st, i, pkts[i], false), (const void *)a);
            break;
        case SW_ODP_SET_L4:
            for (unsigned i = 0; i < n; i++)
                do_set_l4(pkts[i], headers_of(&st, i, pkts[i], true), (const void *)a);
            break;
        case SW_ODP_USERSPACE:
            if (ctx->userspace)
                for (unsigned i = 0; i < n; i++)
                    ctx->userspace(ctx->arg, (const void *)a, pkts[i]);
            break;
        case SW_ODP_METER: {
            if (!ctx->meter)
                break;
            bool keep[EXEC_CHUNK];
            ctx->meter(ctx->arg, ((const struct sw_odp_meter *)(const void *)a)->meter_id, pkts,
                       n, keep);
            /* drop what is over the rate; the rest goes on, in order */
            unsigned k = 0;
            for (unsigned i = 0; i < n; i++) {
                if (!keep[i]) {
                    pkt_free(pkts[i]);
                    continue;
                }
                pkts[k] = pkts[i];
                st.lay[k] = st.lay[i];
                st.lay_valid[k] = st.lay_valid[i];
                k++;
            }
            n = k;
            if (n == 0)
                return;
            break;
        }
        default:
            break;
        }
    }
    pkt_free_bulk(pkts, n);
}

void sw_odp_execute(struct sw_odp_exec_ctx *ctx, struct pkt_buf **pkts, unsigned n,
                    const void *actions, size_t actions_len)
{
    if (n == 0)
        return;
    if (actions_len == 0) {
        pkt_free_bulk(pkts, n);
        return;
    }
    /* The fast case: one OUTPUT and nothing else. */
    const struct sw_odp_attr *first = actions;
    if (first->type == SW_ODP_OUTPUT && actions_len <= record_space(first->len)) {
        uint32_t port = ((const struct sw_odp_output *)actions)->port;
        for (unsigned i = 0; i < n; i++)
            ctx->output(ctx->arg, port, pkts[i]);
        return;
    }
    /* Only the list's final record, if an OUTPUT, sends the originals. */
    const struct sw_odp_attr *last = NULL;
    SW_ODP_FOR_EACH(a, actions, actions_len)
        last = a;
    if (last && last->type != SW_ODP_OUTPUT)
        last = NULL;
    for (unsigned done = 0; done < n; done += EXEC_CHUNK)
        execute_chunk(ctx, pkts + done, KK_MIN(n - done, (unsigned)EXEC_CHUNK), actions,
                      actions_len, last);
}
