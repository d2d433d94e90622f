/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_parse_actions.c — ovs-ofctl action text ("actions=output:2,mod_vlan_vid:5",
 * "write_actions(...)", "goto_table:1") -> action lists and, for
 * OpenFlow 1.3, instructions (ofp_parse.h describes the syntax and the
 * per-version mapping).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ofp_parse_internal.h"

/* ---- actions ---- */

static struct ofp_action *push_action(struct ctx *c, struct actvec *a, enum ofp_action_kind k)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct ofp_action *v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            c->failed = true;
            return NULL;
        }
        a->v = v;
        a->cap = cap;
    }
    struct ofp_action *x = &a->v[a->n++];
    memset(x, 0, sizeof(*x));
    x->kind = (uint16_t)k;
    return x;
}

#define PUSH(kind)                                     \
    ({                                                 \
        struct ofp_action *x_ = push_action(c, a, kind); \
        if (!x_)                                       \
            return -ENOMEM;                            \
        x_;                                            \
    })

static int push_set_field(struct ctx *c, struct actvec *a, enum ofp_oxm_field f,
                          const uint8_t *value)
{
    struct ofp_action *x = PUSH(OFPACT_SET_FIELD);
    x->field = (uint8_t)f;
    memcpy(x->field_value, value, ofp_oxm_field_len(f));
    return 0;
}

static int push_set_field_uint(struct ctx *c, struct actvec *a, enum ofp_oxm_field f,
                               uint64_t v)
{
    uint8_t value[16] = {0};
    unsigned len = ofp_oxm_field_len(f);
    for (unsigned i = 0; i < len; i++)
        value[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    return push_set_field(c, a, f, value);
}

/* 1.3: mod_vlan_vid/mod_vlan_pcp push a tag first when none is known to be
 * there, as ovs-ofctl -O OpenFlow13 encodes them. */
static int ensure_vlan(struct ctx *c, struct actvec *a)
{
    if (c->vlan_known)
        return 0;
    struct ofp_action *x = PUSH(OFPACT_PUSH_VLAN);
    x->ethertype = 0x8100;
    c->vlan_known = true;
    return 0;
}

static int output(struct ctx *c, struct actvec *a, uint32_t port, uint16_t max_len)
{
    struct ofp_action *x = PUSH(OFPACT_OUTPUT);
    x->port = port;
    x->max_len = port == OFPP_CONTROLLER ? max_len : 0;
    return 0;
}

/* "max_len=N[,...]" or "N" of controller(...)/controller:N. */
static int controller_args(struct ctx *c, char *value, uint16_t *max_len)
{
    *max_len = CONTROLLER_MAX_LEN;
    if (!*value)
        return 0;
    uint64_t n;
    if (ofpp_parse_u64(value, 0xffff, &n)) {
        *max_len = (uint16_t)n;
        return 0;
    }
    char *pos = value, *k, *v;
    while (ofpp_next_item(&pos, &k, &v)) {
        if (strcmp(k, "max_len") == 0) {
            int rc = ofpp_parse_num(c, "controller: max_len", v, 0xffff, &n);
            if (rc)
                return rc;
            *max_len = (uint16_t)n;
        } else {
            return ofpp_fail(c, "controller: '%s' is not supported (only max_len)", k);
        }
    }
    return 0;
}

/* Field named in set_field:V->FIELD; tp_src/tp_dst by the match's protocol. */
static int set_field_target(struct ctx *c, const char *name)
{
    if (strcmp(name, "nw_src") == 0)
        return OFPXMT_IPV4_SRC;
    if (strcmp(name, "nw_dst") == 0)
        return OFPXMT_IPV4_DST;
    if (strcmp(name, "nw_tos") == 0)
        return -2;
    if (strcmp(name, "tp_src") == 0 || strcmp(name, "tp_dst") == 0) {
        int proto = c->match ? ofpp_proto_of(c->match) : -1;
        bool src = name[3] == 's';
        if (proto == 6)
            return src ? OFPXMT_TCP_SRC : OFPXMT_TCP_DST;
        if (proto == 17)
            return src ? OFPXMT_UDP_SRC : OFPXMT_UDP_DST;
        if (proto == 132)
            return src ? OFPXMT_SCTP_SRC : OFPXMT_SCTP_DST;
        return -3;
    }
    if (strcmp(name, "icmp_type") == 0)
        return OFPXMT_ICMPV4_TYPE;
    if (strcmp(name, "icmp_code") == 0)
        return OFPXMT_ICMPV4_CODE;
    if (strcmp(name, "dl_vlan") == 0)
        return OFPXMT_VLAN_VID;
    if (strcmp(name, "dl_vlan_pcp") == 0)
        return OFPXMT_VLAN_PCP;
    return ofpp_field_by_name(name);
}

/* A set_field in 1.0: the 1.0 action that sets the same field. */
static int set_field10(struct ctx *c, struct actvec *a, const char *what, enum ofp_oxm_field f,
                       const uint8_t *v)
{
    struct ofp_action *x;
    switch (f) {
    case OFPXMT_ETH_SRC:
    case OFPXMT_ETH_DST:
        x = PUSH(f == OFPXMT_ETH_SRC ? OFPACT_SET_DL_SRC : OFPACT_SET_DL_DST);
        memcpy(x->mac, v, 6);
        return 0;
    case OFPXMT_IPV4_SRC:
    case OFPXMT_IPV4_DST:
        x = PUSH(f == OFPXMT_IPV4_SRC ? OFPACT_SET_NW_SRC : OFPACT_SET_NW_DST);
        x->ipv4 = ofp__get32(v);
        return 0;
    case OFPXMT_IP_DSCP:
        x = PUSH(OFPACT_SET_NW_TOS);
        x->nw_tos = (uint8_t)(v[0] << 2);
        return 0;
    case OFPXMT_TCP_SRC:
    case OFPXMT_UDP_SRC:
    case OFPXMT_TCP_DST:
    case OFPXMT_UDP_DST:
        x = PUSH(f == OFPXMT_TCP_SRC || f == OFPXMT_UDP_SRC ? OFPACT_SET_TP_SRC
                                                            : OFPACT_SET_TP_DST);
        x->tp_port = ofp__get16(v);
        return 0;
    case OFPXMT_VLAN_VID:
        x = PUSH(OFPACT_SET_VLAN_VID);
        x->vlan_vid = ofp__get16(v) & 0xfff;
        return 0;
    case OFPXMT_VLAN_PCP:
        x = PUSH(OFPACT_SET_VLAN_PCP);
        x->vlan_pcp = v[0];
        return 0;
    default:
        return ofpp_fail(c, "%s: OpenFlow 1.0 cannot set %s (-O OpenFlow13)", what,
                         ofp_oxm_field_name(f));
    }
}

static int action_set_field(struct ctx *c, struct actvec *a, char *value)
{
    char *arrow = strstr(value, "->");
    if (!arrow)
        return ofpp_fail(c, "set_field: expected VALUE->FIELD, not '%s'", value);
    *arrow = '\0';
    const char *name = arrow + 2;
    int f = set_field_target(c, name);
    if (f == -2)
        return ofpp_fail(c, "set_field: use ip_dscp (nw_tos is not an OXM field)");
    if (f == -3)
        return ofpp_fail(c, "set_field: %s needs tcp, udp or sctp in the match", name);
    if (f < 0)
        return ofpp_fail(c, "set_field: unknown field '%s'", name);
    uint8_t v[16], k[16];
    bool has_mask;
    char what[64];
    snprintf(what, sizeof(what), "set_field %s", name);
    int rc = ofpp_parse_value(c, what, (enum ofp_oxm_field)f, value, false, v, k, &has_mask);
    if (rc)
        return rc;
    if (f == OFPXMT_VLAN_VID) {
        uint16_t vid = ofp__get16(v);
        if ((vid & 0xfff) != (vid & ~OFPVID_PRESENT))
            return ofpp_fail(c, "%s: %s is not a VLAN id", what, value);
        ofp__put16(v, vid | OFPVID_PRESENT);
    }
    if (ofp__oxm_check_field((unsigned)f, v, NULL) != OFPERR_NONE)
        return ofpp_fail(c, "%s: value out of range for the field", what);
    if (!ofpp_is_v13(c))
        return set_field10(c, a, what, (enum ofp_oxm_field)f, v);
    if (f == OFPXMT_VLAN_VID)
        c->vlan_known = true;
    return push_set_field(c, a, (enum ofp_oxm_field)f, v);
}

static int mac_action(struct ctx *c, struct actvec *a, const char *key, const char *value,
                      bool src)
{
    uint8_t mac[6];
    if (!ofpp_parse_mac(value, mac))
        return ofpp_fail(c, "%s: '%s' is not a MAC address", key, value);
    if (ofpp_is_v13(c))
        return push_set_field(c, a, src ? OFPXMT_ETH_SRC : OFPXMT_ETH_DST, mac);
    struct ofp_action *x = PUSH(src ? OFPACT_SET_DL_SRC : OFPACT_SET_DL_DST);
    memcpy(x->mac, mac, 6);
    return 0;
}

static int ip_action(struct ctx *c, struct actvec *a, const char *key, const char *value,
                     bool src)
{
    uint8_t ip[4];
    if (inet_pton(AF_INET, value, ip) != 1)
        return ofpp_fail(c, "%s: '%s' is not an IPv4 address", key, value);
    if (ofpp_is_v13(c))
        return push_set_field(c, a, src ? OFPXMT_IPV4_SRC : OFPXMT_IPV4_DST, ip);
    struct ofp_action *x = PUSH(src ? OFPACT_SET_NW_SRC : OFPACT_SET_NW_DST);
    x->ipv4 = ofp__get32(ip);
    return 0;
}

static int tp_action(struct ctx *c, struct actvec *a, const char *key, const char *value,
                     bool src)
{
    uint64_t n;
    int rc = ofpp_parse_num(c, key, value, 0xffff, &n);
    if (rc)
        return rc;
    if (!ofpp_is_v13(c)) {
        struct ofp_action *x = PUSH(src ? OFPACT_SET_TP_SRC : OFPACT_SET_TP_DST);
        x->tp_port = (uint16_t)n;
        return 0;
    }
    int proto = c->match ? ofpp_proto_of(c->match) : -1;
    enum ofp_oxm_field f;
    if (proto == 6)
        f = src ? OFPXMT_TCP_SRC : OFPXMT_TCP_DST;
    else if (proto == 17)
        f = src ? OFPXMT_UDP_SRC : OFPXMT_UDP_DST;
    else if (proto == 132)
        f = src ? OFPXMT_SCTP_SRC : OFPXMT_SCTP_DST;
    else
        return ofpp_fail(c, "%s: in OpenFlow 1.3 the match must say tcp, udp or sctp "
                       "(or use set_field:N->tcp_src)", key);
    return push_set_field_uint(c, a, f, n);
}

/* Ethertype argument of push_vlan/push_mpls/pop_mpls/push_pbb. */
static int ethertype_action(struct ctx *c, struct actvec *a, const char *key, const char *value,
                            enum ofp_action_kind kind)
{
    uint64_t n;
    int rc = ofpp_parse_num(c, key, value, 0xffff, &n);
    if (rc)
        return rc;
    struct ofp_action *x = PUSH(kind);
    x->ethertype = (uint16_t)n;
    if (kind == OFPACT_PUSH_VLAN)
        c->vlan_known = true;
    return 0;
}

/* Actions only 1.3 has, without argument. */
static const struct {
    const char *name;
    enum ofp_action_kind kind;
} plain13[] = {
    {"dec_ttl", OFPACT_DEC_NW_TTL},         {"dec_nw_ttl", OFPACT_DEC_NW_TTL},
    {"dec_mpls_ttl", OFPACT_DEC_MPLS_TTL},  {"copy_ttl_out", OFPACT_COPY_TTL_OUT},
    {"copy_ttl_in", OFPACT_COPY_TTL_IN},    {"pop_pbb", OFPACT_POP_PBB},
};

/* One action @key[:@value] appended to @a. */
static int action(struct ctx *c, struct actvec *a, char *key, char *value)
{
    uint64_t n;
    int rc;
    struct ofp_action *x;

    for (size_t i = 0; i < KK_ARRAY_SIZE(plain13); i++) {
        if (strcmp(key, plain13[i].name) == 0) {
            if (!ofpp_is_v13(c))
                return ofpp_fail(c, "%s: needs OpenFlow 1.3 (-O OpenFlow13; Open vSwitch uses a "
                               "Nicira extension in 1.0)", key);
            PUSH(plain13[i].kind);
            return 0;
        }
    }
    if (strcasecmp(key, "output") == 0) {
        uint32_t port;
        uint16_t max_len = CONTROLLER_MAX_LEN;
        char *p = value;
        if (strncmp(value, "port=", 5) == 0) {  /* output(port=P[,max_len=N]) */
            char *pos = value, *k, *v;
            p = NULL;
            while (ofpp_next_item(&pos, &k, &v)) {
                if (strcmp(k, "port") == 0)
                    p = v;
                else if (strcmp(k, "max_len") == 0 &&
                         (rc = ofpp_parse_num(c, "output: max_len", v, 0xffff, &n)) == 0)
                    max_len = (uint16_t)n;
                else
                    return rc ? rc : ofpp_fail(c, "output: unknown setting '%s'", k);
            }
            if (!p)
                return ofpp_fail(c, "output: port missing");
        }
        if ((rc = ofpp_port_of(c, "output", p, &port)))
            return rc;
        return output(c, a, port, max_len);
    }
    if (strcasecmp(key, "controller") == 0) {
        uint16_t max_len;
        if ((rc = controller_args(c, value, &max_len)))
            return rc;
        return output(c, a, OFPP_CONTROLLER, max_len);
    }
    if (strcmp(key, "drop") == 0)
        return 0;
    if (strcmp(key, "mod_vlan_vid") == 0 || strcmp(key, "set_vlan_vid") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, 0xfff, &n)))
            return rc;
        if (ofpp_is_v13(c))
            return ensure_vlan(c, a) ?: push_set_field_uint(c, a, OFPXMT_VLAN_VID,
                                                            OFPVID_PRESENT | n);
        x = PUSH(OFPACT_SET_VLAN_VID);
        x->vlan_vid = (uint16_t)n;
        return 0;
    }
    if (strcmp(key, "mod_vlan_pcp") == 0 || strcmp(key, "set_vlan_pcp") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, 7, &n)))
            return rc;
        if (ofpp_is_v13(c))
            return ensure_vlan(c, a) ?: push_set_field_uint(c, a, OFPXMT_VLAN_PCP, n);
        x = PUSH(OFPACT_SET_VLAN_PCP);
        x->vlan_pcp = (uint8_t)n;
        return 0;
    }
    if (strcmp(key, "strip_vlan") == 0 || strcmp(key, "pop_vlan") == 0) {
        PUSH(OFPACT_POP_VLAN);
        c->vlan_known = false;
        return 0;
    }
    if (strcmp(key, "mod_dl_src") == 0 || strcmp(key, "mod_dl_dst") == 0)
        return mac_action(c, a, key, value, key[7] == 's');
    if (strcmp(key, "mod_nw_src") == 0 || strcmp(key, "mod_nw_dst") == 0)
        return ip_action(c, a, key, value, key[7] == 's');
    if (strcmp(key, "mod_tp_src") == 0 || strcmp(key, "mod_tp_dst") == 0)
        return tp_action(c, a, key, value, key[7] == 's');
    if (strcmp(key, "mod_nw_tos") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, 0xff, &n)))
            return rc;
        if (n & 3)
            return ofpp_fail(c, "mod_nw_tos: %s has ECN bits set (the low 2 bits must be 0)",
                             value);
        if (ofpp_is_v13(c))
            return push_set_field_uint(c, a, OFPXMT_IP_DSCP, n >> 2);
        x = PUSH(OFPACT_SET_NW_TOS);
        x->nw_tos = (uint8_t)n;
        return 0;
    }
    if (strcmp(key, "mod_nw_ecn") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, 3, &n)))
            return rc;
        if (!ofpp_is_v13(c))
            return ofpp_need13(c, key);
        return push_set_field_uint(c, a, OFPXMT_IP_ECN, n);
    }
    if (strcmp(key, "mod_nw_ttl") == 0 || strcmp(key, "set_mpls_ttl") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, 0xff, &n)))
            return rc;
        if (!ofpp_is_v13(c))
            return ofpp_need13(c, key);
        x = PUSH(key[4] == 'n' ? OFPACT_SET_NW_TTL : OFPACT_SET_MPLS_TTL);
        x->ttl = (uint8_t)n;
        return 0;
    }
    if (strcmp(key, "set_field") == 0)
        return action_set_field(c, a, value);
    if (strcmp(key, "push_vlan") == 0 || strcmp(key, "push_mpls") == 0 ||
        strcmp(key, "pop_mpls") == 0 || strcmp(key, "push_pbb") == 0) {
        if (!ofpp_is_v13(c))
            return ofpp_need13(c, key);
        enum ofp_action_kind k = strcmp(key, "push_vlan") == 0   ? OFPACT_PUSH_VLAN
                                 : strcmp(key, "push_mpls") == 0 ? OFPACT_PUSH_MPLS
                                 : strcmp(key, "pop_mpls") == 0  ? OFPACT_POP_MPLS
                                                                 : OFPACT_PUSH_PBB;
        return ethertype_action(c, a, key, value, k);
    }
    if (strcmp(key, "group") == 0 || strcmp(key, "set_queue") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, UINT32_MAX, &n)))
            return rc;
        if (!ofpp_is_v13(c))
            return ofpp_fail(c, "%s: needs OpenFlow 1.3 (-O OpenFlow13)%s", key,
                             key[0] == 's' ? "; in 1.0 use enqueue:PORT:QUEUE" : "");
        if (key[0] == 'g') {
            x = PUSH(OFPACT_GROUP);
            x->group_id = (uint32_t)n;
        } else {
            x = PUSH(OFPACT_SET_QUEUE);
            x->queue_id = (uint32_t)n;
        }
        return 0;
    }
    if (strcmp(key, "enqueue") == 0) {
        /* enqueue:PORT:QUEUE or enqueue(PORT,QUEUE) */
        char *sep = strpbrk(value, ":,");
        if (!sep)
            return ofpp_fail(c, "enqueue: expected PORT:QUEUE, not '%s'", value);
        *sep = '\0';
        uint32_t port;
        if ((rc = ofpp_port_of(c, "enqueue", value, &port)) ||
            (rc = ofpp_parse_num(c, "enqueue: queue", sep + 1, UINT32_MAX, &n)))
            return rc;
        if (ofpp_is_v13(c)) {  /* as ovs-ofctl: set_queue, then output */
            x = PUSH(OFPACT_SET_QUEUE);
            x->queue_id = (uint32_t)n;
            return output(c, a, port, 0);
        }
        x = PUSH(OFPACT_ENQUEUE);
        x->port = port;
        x->queue_id = (uint32_t)n;
        return 0;
    }
    /* a bare port: number, reserved name (NORMAL, LOCAL, IN_PORT...) or name */
    if (!*value) {
        uint32_t port;
        char ignored[8];
        struct ctx probe = *c;
        probe.err = ignored;
        probe.errlen = sizeof(ignored);
        probe.failed = false;
        if (ofpp_port_of(&probe, key, key, &port) == 0)
            return output(c, a, port, CONTROLLER_MAX_LEN);
    }
    return ofpp_fail(c, "%s: unknown action", key);
}

/* Instructions being collected (1.3). */
static int once(struct ctx *c, bool *seen, const char *what)
{
    if (*seen)
        return ofpp_fail(c, "%s: given twice", what);
    *seen = true;
    return 0;
}

/*
 * Parse an action list into @a; when @in (1.3 flows) is not NULL,
 * instructions are accepted too and @a is in->apply.
 */
int ofpp_parse_actions(struct ctx *c, char *text, struct actvec *a, struct insts *in)
{
    char *pos = text, *key, *value;
    int rc;
    uint64_t n;
    while (ofpp_next_item(&pos, &key, &value)) {
        bool instruction = strcmp(key, "write_actions") == 0 ||
                           strcmp(key, "clear_actions") == 0 ||
                           strcmp(key, "goto_table") == 0 ||
                           strcmp(key, "write_metadata") == 0 || strcmp(key, "meter") == 0 ||
                           strcmp(key, "apply_actions") == 0;
        if (instruction && !ofpp_is_v13(c))
            return ofpp_need13(c, key);
        if (instruction && !in)
            return ofpp_fail(c, "%s: an instruction is not allowed here (only actions)", key);
        if (strcmp(key, "apply_actions") == 0) {
            rc = ofpp_parse_actions(c, value, &in->apply, NULL);
        } else if (strcmp(key, "write_actions") == 0) {
            if ((rc = once(c, &in->has_write, key)))
                return rc;
            rc = ofpp_parse_actions(c, value, &in->write, NULL);
        } else if (strcmp(key, "clear_actions") == 0) {
            rc = once(c, &in->has_clear, key);
        } else if (strcmp(key, "goto_table") == 0) {
            if ((rc = once(c, &in->has_goto, key)) ||
                (rc = ofpp_parse_num(c, key, value, 0xff, &n)))
                return rc;
            in->goto_table = (uint8_t)n;
        } else if (strcmp(key, "meter") == 0) {
            if ((rc = once(c, &in->has_meter, key)) ||
                (rc = ofpp_parse_num(c, key, value, UINT32_MAX, &n)))
                return rc;
            in->meter = (uint32_t)n;
        } else if (strcmp(key, "write_metadata") == 0) {
            if ((rc = once(c, &in->has_metadata, key)))
                return rc;
            char *slash = strchr(value, '/');
            in->metadata_mask = UINT64_MAX;
            if (slash)
                *slash = '\0';
            if ((rc = ofpp_parse_num(c, key, value, UINT64_MAX, &in->metadata)) ||
                (slash && (rc = ofpp_parse_num(c, "write_metadata: mask", slash + 1, UINT64_MAX,
                                               &in->metadata_mask))))
                return rc;
        } else {
            rc = action(c, a, key, value);
        }
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < a->n; i++) {
        enum ofp_err e = ofp_action_validate(&a->v[i], c->version);
        if (e != OFPERR_NONE)
            return ofpp_fail(c, "%s: %s", ofp_action_kind_name(a->v[i].kind), ofp_err_name(e));
    }
    return 0;
}

int ofpp_to_list(struct ctx *c, const struct actvec *a, struct ofp_action_list *out)
{
    out->n = a->n;
    out->actions = NULL;
    if (!a->n)
        return 0;
    out->actions = ofp__memdup(&c->msg->arena, a->v, a->n * sizeof(*a->v));
    return out->actions ? 0 : -ENOMEM;
}

/* Instructions in the order OpenFlow runs them (and OVS prints them). */
int ofpp_to_instructions(struct ctx *c, struct insts *in, struct ofp_instruction_list *out)
{
    struct ofp_instruction v[6];
    size_t n = 0;
    memset(v, 0, sizeof(v));
    if (in->has_meter) {
        v[n].type = OFPIT_METER;
        v[n++].meter_id = in->meter;
    }
    if (in->apply.n) {
        v[n].type = OFPIT_APPLY_ACTIONS;
        if (ofpp_to_list(c, &in->apply, &v[n++].actions))
            return -ENOMEM;
    }
    if (in->has_clear)
        v[n++].type = OFPIT_CLEAR_ACTIONS;
    if (in->has_write) {
        v[n].type = OFPIT_WRITE_ACTIONS;
        if (ofpp_to_list(c, &in->write, &v[n++].actions))
            return -ENOMEM;
    }
    if (in->has_metadata) {
        v[n].type = OFPIT_WRITE_METADATA;
        v[n].metadata = in->metadata;
        v[n++].metadata_mask = in->metadata_mask;
    }
    if (in->has_goto) {
        v[n].type = OFPIT_GOTO_TABLE;
        v[n++].table_id = in->goto_table;
    }
    out->n = n;
    out->insts = NULL;
    if (!n)
        return 0;
    out->insts = ofp__memdup(&c->msg->arena, v, n * sizeof(*v));
    return out->insts ? 0 : -ENOMEM;
}
