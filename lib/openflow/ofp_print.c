/* SPDX-License-Identifier: Apache-2.0 */
/* Text forms: ovs-ofctl's match and action syntax, one-line summaries. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kk_common.h"
#include "ofp_print.h"

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, const char *fmt, ...) KK_PRINTF(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static size_t finish(struct out *o)
{
    if (o->size && o->len < o->size)
        o->buf[o->len] = '\0';
    else if (o->size)
        o->buf[o->size - 1] = '\0';
    return o->len;
}

static const char *reserved_port_name(uint32_t p)
{
    switch (p) {
    case OFPP_IN_PORT:
        return "IN_PORT";
    case OFPP_TABLE:
        return "TABLE";
    case OFPP_NORMAL:
        return "NORMAL";
    case OFPP_FLOOD:
        return "FLOOD";
    case OFPP_ALL:
        return "ALL";
    case OFPP_CONTROLLER:
        return "CONTROLLER";
    case OFPP_LOCAL:
        return "LOCAL";
    case OFPP_ANY:
        return "ANY";
    default:
        return NULL;
    }
}

static void put_port(struct out *o, uint32_t p)
{
    const char *name = reserved_port_name(p);
    if (name)
        put(o, "%s", name);
    else
        put(o, "%" PRIu32, p);
}

static void put_mac(struct out *o, const uint8_t *m)
{
    put(o, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int prefix_len(const uint8_t *mask, unsigned len)
{
    int n = 0;
    unsigned i = 0;
    for (; i < len && mask[i] == 0xff; i++)
        n += 8;
    if (i < len) {
        uint8_t b = mask[i];
        while (b & 0x80) {
            n++;
            b = (uint8_t)(b << 1);
        }
        if (b)
            return -1;
        for (i++; i < len; i++)
            if (mask[i])
                return -1;
    }
    return n;
}

static void put_addr(struct out *o, int family, const uint8_t *v, const uint8_t *mask,
                     unsigned len)
{
    char text[INET6_ADDRSTRLEN];
    inet_ntop(family, v, text, sizeof(text));
    put(o, "%s", text);
    if (!mask)
        return;
    int plen = prefix_len(mask, len);
    if (plen == (int)len * 8)
        return;
    if (plen >= 0) {
        put(o, "/%d", plen);
    } else {
        inet_ntop(family, mask, text, sizeof(text));
        put(o, "/%s", text);
    }
}

/* ovs-ofctl names where they differ from the OXM ones. */
static const char *print_name(enum ofp_oxm_field f)
{
    switch (f) {
    case OFPXMT_ETH_DST:
        return "dl_dst";
    case OFPXMT_ETH_SRC:
        return "dl_src";
    case OFPXMT_VLAN_PCP:
        return "dl_vlan_pcp";
    case OFPXMT_IP_ECN:
        return "nw_ecn";
    case OFPXMT_IPV4_SRC:
        return "nw_src";
    case OFPXMT_IPV4_DST:
        return "nw_dst";
    case OFPXMT_TCP_SRC:
    case OFPXMT_UDP_SRC:
    case OFPXMT_SCTP_SRC:
        return "tp_src";
    case OFPXMT_TCP_DST:
    case OFPXMT_UDP_DST:
    case OFPXMT_SCTP_DST:
        return "tp_dst";
    case OFPXMT_ICMPV4_TYPE:
    case OFPXMT_ICMPV6_TYPE:
        return "icmp_type";
    case OFPXMT_ICMPV4_CODE:
    case OFPXMT_ICMPV6_CODE:
        return "icmp_code";
    case OFPXMT_TUNNEL_ID:
        return "tun_id";
    default:
        return ofp_oxm_field_name(f);
    }
}

static const char *shorthand(const struct ofp_match_fields *m, bool *used_proto)
{
    *used_proto = false;
    if (!(m->present >> OFPXMT_ETH_TYPE & 1))
        return NULL;
    uint64_t type = ofp_match_get_uint(m, OFPXMT_ETH_TYPE);
    bool has_proto = m->present >> OFPXMT_IP_PROTO & 1;
    uint64_t proto = ofp_match_get_uint(m, OFPXMT_IP_PROTO);
    if (type == 0x0800 || type == 0x86dd) {
        bool v6 = type == 0x86dd;
        static const struct {
            uint8_t proto;
            const char *v4, *v6;
        } protos[] = {{6, "tcp", "tcp6"}, {17, "udp", "udp6"}, {132, "sctp", "sctp6"},
                      {1, "icmp", NULL}, {58, NULL, "icmp6"}};
        for (size_t i = 0; has_proto && i < KK_ARRAY_SIZE(protos); i++) {
            const char *name = v6 ? protos[i].v6 : protos[i].v4;
            if (protos[i].proto == proto && name) {
                *used_proto = true;
                return name;
            }
        }
        return v6 ? "ipv6" : "ip";
    }
    if (type == 0x0806)
        return "arp";
    return NULL;
}

static void format_field(struct out *o, const struct ofp_match_fields *m, enum ofp_oxm_field f)
{
    uint8_t v[16], k[16];
    ofp_match_get(m, f, v, k);
    bool masked = m->masked >> f & 1;
    unsigned len = ofp_oxm_field_len(f);
    switch (f) {
    case OFPXMT_IN_PORT:
        put(o, "in_port=");
        put_port(o, (uint32_t)ofp_match_get_uint(m, f));
        return;
    case OFPXMT_VLAN_VID: {
        uint64_t vid = ofp_match_get_uint(m, f), mask = ofp_match_get_uint_mask(m, f);
        if ((mask & 0x1fff) == 0x1fff && (vid & OFPVID_PRESENT))
            put(o, "dl_vlan=%u", (unsigned)(vid & 0xfff));
        else if ((mask & 0x1fff) == 0x1fff)
            put(o, "vlan_tci=0x0000");
        else
            put(o, "vlan_vid=0x%04x/0x%04x", (unsigned)vid, (unsigned)mask);
        return;
    }
    case OFPXMT_IP_DSCP:
        put(o, "nw_tos=%u", (unsigned)(ofp_match_get_uint(m, f) << 2));
        return;
    case OFPXMT_IPV4_SRC:
    case OFPXMT_IPV4_DST:
    case OFPXMT_ARP_SPA:
    case OFPXMT_ARP_TPA:
        put(o, "%s=", print_name(f));
        put_addr(o, AF_INET, v, masked ? k : NULL, 4);
        return;
    case OFPXMT_IPV6_SRC:
    case OFPXMT_IPV6_DST:
    case OFPXMT_IPV6_ND_TARGET:
        put(o, "%s=", print_name(f));
        put_addr(o, AF_INET6, v, masked ? k : NULL, 16);
        return;
    case OFPXMT_ETH_SRC:
    case OFPXMT_ETH_DST:
    case OFPXMT_ARP_SHA:
    case OFPXMT_ARP_THA:
    case OFPXMT_IPV6_ND_SLL:
    case OFPXMT_IPV6_ND_TLL:
        put(o, "%s=", print_name(f));
        put_mac(o, v);
        if (masked) {
            put(o, "/");
            put_mac(o, k);
        }
        return;
    default:
        break;
    }
    uint64_t value = ofp_match_get_uint(m, f);
    bool hex = f == OFPXMT_METADATA || f == OFPXMT_TUNNEL_ID || f == OFPXMT_IPV6_FLABEL ||
               f == OFPXMT_PBB_ISID || f == OFPXMT_IPV6_EXTHDR || masked;
    put(o, "%s=", print_name(f));
    put(o, hex ? "0x%" PRIx64 : "%" PRIu64, value);
    if (masked)
        put(o, "/0x%" PRIx64, ofp_match_get_uint_mask(m, f));
    (void)len;
}

static void format_match(struct out *o, const struct ofp_match_fields *m)
{
    bool used_proto;
    const char *sh = shorthand(m, &used_proto);
    bool first = true;
    if (sh) {
        put(o, "%s", sh);
        first = false;
    }
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++) {
        if (!(m->present >> f & 1))
            continue;
        if ((f == OFPXMT_ETH_TYPE && sh) || (f == OFPXMT_IP_PROTO && used_proto))
            continue;
        if (!first)
            put(o, ",");
        first = false;
        if (f == OFPXMT_ETH_TYPE)
            put(o, "dl_type=0x%04x", (unsigned)ofp_match_get_uint(m, f));
        else if (f == OFPXMT_IP_PROTO)
            put(o, "nw_proto=%u", (unsigned)ofp_match_get_uint(m, f));
        else
            format_field(o, m, f);
    }
}

size_t ofp_format_match(const struct ofp_match_fields *m, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    format_match(&o, m);
    return finish(&o);
}

static void format_set_field(struct out *o, const struct ofp_action *a)
{
    struct ofp_match_fields m;
    ofp_match_init(&m);
    ofp_match_set(&m, a->field, a->field_value, NULL);
    put(o, "set_field:");
    /* the value as the match would print it, without "name=" */
    struct out tmp;
    char text[128];
    tmp.buf = text;
    tmp.size = sizeof(text);
    tmp.len = 0;
    if (a->field == OFPXMT_VLAN_VID) {
        put(&tmp, "x=%u", (unsigned)ofp_match_get_uint(&m, OFPXMT_VLAN_VID));
    } else if (a->field == OFPXMT_ETH_TYPE || a->field == OFPXMT_IP_PROTO) {
        put(&tmp, "x=%u", (unsigned)ofp_match_get_uint(&m, a->field));
    } else if (a->field == OFPXMT_IP_DSCP) {
        put(&tmp, "x=%u", (unsigned)ofp_match_get_uint(&m, a->field));
    } else {
        format_field(&tmp, &m, a->field);
    }
    finish(&tmp);
    const char *eq = strchr(text, '=');
    put(o, "%s->%s", eq ? eq + 1 : text, ofp_oxm_field_name(a->field));
}

static void format_action(struct out *o, const struct ofp_action *a)
{
    switch (a->kind) {
    case OFPACT_OUTPUT:
        if (a->port == OFPP_CONTROLLER)
            put(o, "CONTROLLER:%u", a->max_len);
        else if (reserved_port_name(a->port))
            put(o, "%s", reserved_port_name(a->port));
        else
            put(o, "output:%" PRIu32, a->port);
        break;
    case OFPACT_SET_VLAN_VID:
        put(o, "mod_vlan_vid:%u", a->vlan_vid);
        break;
    case OFPACT_SET_VLAN_PCP:
        put(o, "mod_vlan_pcp:%u", a->vlan_pcp);
        break;
    case OFPACT_SET_DL_SRC:
    case OFPACT_SET_DL_DST:
        put(o, "%s:", ofp_action_kind_name(a->kind));
        put_mac(o, a->mac);
        break;
    case OFPACT_SET_NW_SRC:
    case OFPACT_SET_NW_DST: {
        uint8_t v[4] = {(uint8_t)(a->ipv4 >> 24), (uint8_t)(a->ipv4 >> 16),
                        (uint8_t)(a->ipv4 >> 8), (uint8_t)a->ipv4};
        put(o, "%s:", ofp_action_kind_name(a->kind));
        put_addr(o, AF_INET, v, NULL, 4);
        break;
    }
    case OFPACT_SET_NW_TOS:
        put(o, "mod_nw_tos:%u", a->nw_tos);
        break;
    case OFPACT_SET_TP_SRC:
    case OFPACT_SET_TP_DST:
        put(o, "%s:%u", ofp_action_kind_name(a->kind), a->tp_port);
        break;
    case OFPACT_ENQUEUE:
        put(o, "enqueue:");
        put_port(o, a->port);
        put(o, ":%" PRIu32, a->queue_id);
        break;
    case OFPACT_POP_VLAN:
        put(o, "strip_vlan");
        break;
    case OFPACT_SET_MPLS_TTL:
        put(o, "set_mpls_ttl(%u)", a->ttl);
        break;
    case OFPACT_SET_NW_TTL:
        put(o, "mod_nw_ttl:%u", a->ttl);
        break;
    case OFPACT_PUSH_VLAN:
    case OFPACT_PUSH_MPLS:
    case OFPACT_POP_MPLS:
    case OFPACT_PUSH_PBB:
        put(o, "%s:0x%04x", ofp_action_kind_name(a->kind), a->ethertype);
        break;
    case OFPACT_SET_QUEUE:
        put(o, "set_queue:%" PRIu32, a->queue_id);
        break;
    case OFPACT_GROUP:
        put(o, "group:%" PRIu32, a->group_id);
        break;
    case OFPACT_SET_FIELD:
        format_set_field(o, a);
        break;
    case OFPACT_EXPERIMENTER:
        put(o, "experimenter(0x%08" PRIx32 ",len=%zu)", a->experimenter, a->data_len);
        break;
    default:
        put(o, "%s", ofp_action_kind_name(a->kind) ? ofp_action_kind_name(a->kind) : "?");
        break;
    }
}

static void format_actions(struct out *o, const struct ofp_action_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            put(o, ",");
        format_action(o, &l->actions[i]);
    }
}

size_t ofp_format_actions(const struct ofp_action_list *l, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    if (l->n == 0)
        put(&o, "drop");
    format_actions(&o, l);
    return finish(&o);
}

static void format_instructions(struct out *o, const struct ofp_instruction_list *l)
{
    bool any = false;
    for (size_t i = 0; i < l->n; i++) {
        const struct ofp_instruction *in = &l->insts[i];
        if (in->type == OFPIT_APPLY_ACTIONS && in->actions.n == 0)
            continue;
        if (any)
            put(o, ",");
        any = true;
        switch (in->type) {
        case OFPIT_APPLY_ACTIONS:
            format_actions(o, &in->actions);
            break;
        case OFPIT_WRITE_ACTIONS:
            put(o, "write_actions(");
            format_actions(o, &in->actions);
            put(o, ")");
            break;
        case OFPIT_CLEAR_ACTIONS:
            put(o, "clear_actions");
            break;
        case OFPIT_GOTO_TABLE:
            put(o, "goto_table:%u", in->table_id);
            break;
        case OFPIT_WRITE_METADATA:
            put(o, "write_metadata:0x%" PRIx64, in->metadata);
            if (in->metadata_mask != UINT64_MAX)
                put(o, "/0x%" PRIx64, in->metadata_mask);
            break;
        case OFPIT_METER:
            put(o, "meter:%" PRIu32, in->meter_id);
            break;
        default:
            put(o, "experimenter(0x%08" PRIx32 ",len=%zu)", in->experimenter, in->data_len);
            break;
        }
    }
    if (!any)
        put(o, "drop");
}

size_t ofp_format_instructions(const struct ofp_instruction_list *l, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    format_instructions(&o, l);
    return finish(&o);
}

static void format_flow_mod(struct out *o, const struct ofp_flow_mod *fm, uint8_t version)
{
    if (fm->cookie)
        put(o, "cookie=0x%" PRIx64 ",", fm->cookie);
    if (version != OFP10_VERSION && fm->table_id)
        put(o, "table=%u,", fm->table_id);
    if (fm->idle_timeout)
        put(o, "idle_timeout=%u,", fm->idle_timeout);
    if (fm->hard_timeout)
        put(o, "hard_timeout=%u,", fm->hard_timeout);
    put(o, "priority=%u", fm->priority);
    if (fm->match.present)
        put(o, ",");
    format_match(o, &fm->match);
    put(o, " actions=");
    if (version == OFP10_VERSION) {
        if (fm->actions.n == 0)
            put(o, "drop");
        format_actions(o, &fm->actions);
    } else {
        format_instructions(o, &fm->instructions);
    }
}

size_t ofp_format_flow_mod(const struct ofp_flow_mod *fm, uint8_t version, char *buf,
                           size_t size)
{
    struct out o = {buf, size, 0};
    format_flow_mod(&o, fm, version);
    return finish(&o);
}

static const char *const fm_commands[] = {"ADD", "MOD", "MOD_STRICT", "DEL", "DEL_STRICT"};
static const char *const gm_commands[] = {"ADD", "MOD", "DEL"};
static const char *const group_types[] = {"all", "select", "indirect", "ff"};

static void summary_body(struct out *o, const struct ofp_msg *m)
{
    switch (m->type) {
    case OFP_MSG_HELLO:
        if (m->u.hello.has_bitmap)
            put(o, " versions=0x%" PRIx32, m->u.hello.bitmap);
        break;
    case OFP_MSG_ERROR: {
        const char *t = ofp_error_type_name(m->version, m->u.error.type);
        const char *c = ofp_error_code_name(m->version, m->u.error.type, m->u.error.code);
        put(o, " %s(%u)/%s(%u) data_len=%zu", t ? t : "?", m->u.error.type, c ? c : "?",
            m->u.error.code, m->u.error.data.len);
        break;
    }
    case OFP_MSG_ECHO_REQUEST:
    case OFP_MSG_ECHO_REPLY:
        put(o, " %zu bytes of payload", m->u.echo.len);
        break;
    case OFP_MSG_EXPERIMENTER:
        put(o, " experimenter=0x%08" PRIx32, m->u.experimenter.experimenter);
        if (m->version != OFP10_VERSION || m->u.experimenter.has_exp_type)
            put(o, " subtype=%" PRIu32, m->u.experimenter.exp_type);
        put(o, "%s", m->u.experimenter.experimenter == OFP_NICIRA_VENDOR_ID ? " (Nicira)" : "");
        break;
    case OFP_MSG_FEATURES_REPLY:
        put(o, " dpid=%016" PRIx64 " n_tables=%u n_buffers=%" PRIu32, m->u.features.datapath_id,
            m->u.features.n_tables, m->u.features.n_buffers);
        if (m->version == OFP10_VERSION)
            put(o, " n_ports=%zu", m->u.features.n_ports);
        else
            put(o, " auxiliary_id=%u", m->u.features.auxiliary_id);
        break;
    case OFP_MSG_GET_CONFIG_REPLY:
    case OFP_MSG_SET_CONFIG:
        put(o, " flags=0x%x miss_send_len=%u", m->u.config.flags, m->u.config.miss_send_len);
        break;
    case OFP_MSG_PACKET_IN:
        put(o, " total_len=%u reason=%u buffer=0x%08" PRIx32 " data_len=%zu",
            m->u.packet_in.total_len, m->u.packet_in.reason, m->u.packet_in.buffer_id,
            m->u.packet_in.data.len);
        if (m->version == OFP10_VERSION) {
            put(o, " in_port=");
            put_port(o, m->u.packet_in.in_port);
        } else {
            put(o, " table=%u cookie=0x%" PRIx64 " ", m->u.packet_in.table_id,
                m->u.packet_in.cookie);
            format_match(o, &m->u.packet_in.match);
        }
        break;
    case OFP_MSG_FLOW_REMOVED:
        put(o, " reason=%u priority=%u cookie=0x%" PRIx64 " packets=%" PRIu64 " ",
            m->u.flow_removed.reason, m->u.flow_removed.priority, m->u.flow_removed.cookie,
            m->u.flow_removed.packet_count);
        format_match(o, &m->u.flow_removed.match);
        break;
    case OFP_MSG_PORT_STATUS:
        put(o, " reason=%u port=", m->u.port_status.reason);
        put_port(o, m->u.port_status.desc.port_no);
        put(o, " name=%.16s", m->u.port_status.desc.name);
        break;
    case OFP_MSG_PACKET_OUT:
        put(o, " in_port=");
        put_port(o, m->u.packet_out.in_port);
        put(o, " buffer=0x%08" PRIx32 " actions=", m->u.packet_out.buffer_id);
        if (m->u.packet_out.actions.n == 0)
            put(o, "drop");
        format_actions(o, &m->u.packet_out.actions);
        put(o, " data_len=%zu", m->u.packet_out.data.len);
        break;
    case OFP_MSG_FLOW_MOD: {
        uint8_t c = m->u.flow_mod.command;
        put(o, " %s ", c < KK_ARRAY_SIZE(fm_commands) ? fm_commands[c] : "?");
        format_flow_mod(o, &m->u.flow_mod, m->version);
        break;
    }
    case OFP_MSG_GROUP_MOD: {
        const struct ofp_group_mod *g = &m->u.group_mod;
        put(o, " %s group_id=%" PRIu32 ",type=%s buckets=%zu",
            g->command < KK_ARRAY_SIZE(gm_commands) ? gm_commands[g->command] : "?", g->group_id,
            g->type < KK_ARRAY_SIZE(group_types) ? group_types[g->type] : "?", g->n_buckets);
        break;
    }
    case OFP_MSG_PORT_MOD:
        put(o, " port=");
        put_port(o, m->u.port_mod.port_no);
        put(o, " config=0x%" PRIx32 " mask=0x%" PRIx32, m->u.port_mod.config,
            m->u.port_mod.mask);
        break;
    case OFP_MSG_TABLE_MOD:
        put(o, " table=%u config=0x%" PRIx32, m->u.table_mod.table_id, m->u.table_mod.config);
        break;
    case OFP_MSG_METER_MOD: {
        const struct ofp_meter_mod *mm = &m->u.meter_mod;
        put(o, " %s meter=%" PRIu32 " flags=0x%x bands=%zu",
            mm->command < KK_ARRAY_SIZE(gm_commands) ? gm_commands[mm->command] : "?",
            mm->meter_id, mm->flags, mm->n_bands);
        break;
    }
    case OFP_MSG_MULTIPART_REQUEST:
    case OFP_MSG_MULTIPART_REPLY: {
        const struct ofp_multipart *mp = &m->u.multipart;
        const char *name = ofp_mp_type_name(mp->type, m->version);
        put(o, " %s flags=0x%x", name ? name : "?", mp->flags);
        if (m->type == OFP_MSG_MULTIPART_REPLY && mp->n)
            put(o, " entries=%zu", mp->n);
        break;
    }
    case OFP_MSG_ROLE_REQUEST:
    case OFP_MSG_ROLE_REPLY:
        put(o, " role=%" PRIu32 " generation_id=%" PRIu64, m->u.role.role,
            m->u.role.generation_id);
        break;
    case OFP_MSG_GET_ASYNC_REPLY:
    case OFP_MSG_SET_ASYNC:
        put(o, " packet_in=0x%" PRIx32 "/0x%" PRIx32 " port_status=0x%" PRIx32 "/0x%" PRIx32
               " flow_removed=0x%" PRIx32 "/0x%" PRIx32,
            m->u.async.packet_in_mask[0], m->u.async.packet_in_mask[1],
            m->u.async.port_status_mask[0], m->u.async.port_status_mask[1],
            m->u.async.flow_removed_mask[0], m->u.async.flow_removed_mask[1]);
        break;
    default:
        break;
    }
}

size_t ofp_msg_summary(const struct ofp_msg *msg, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    const char *name = ofp_msg_type_name(msg->type, msg->version);
    put(&o, "%s (OF%s) xid=0x%" PRIx32 ":", name ? name : "OFPT_?",
        msg->version == OFP10_VERSION ? "1.0" : msg->version == OFP13_VERSION ? "1.3" : "?",
        msg->xid);
    summary_body(&o, msg);
    return finish(&o);
}
