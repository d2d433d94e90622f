/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofpact.c — OpenFlow action lists in ovs-ofctl text syntax: parse (with
 * validation against the rule's match), canonical format, copy.
 *
 * A list is a flat array of struct ofpact (ofproto_internal.h). Set
 * actions on fields (mod_dl_src, set_field:...->nw_src, ...) share one
 * representation, a masked value over the whole flow key, so translation
 * applies them with word operations and commits them generically.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ofproto_internal.h"

const struct ofp_field sw__ofp_fields[] = {
    {"eth_src", "mod_dl_src", "dl_src", FG_ETH},
    {"eth_dst", "mod_dl_dst", "dl_dst", FG_ETH},
    {"ip_src", "mod_nw_src", "nw_src", FG_IPV4},
    {"ip_dst", "mod_nw_dst", "nw_dst", FG_IPV4},
    {"ipv6_src", NULL, "ipv6_src", FG_IPV6},
    {"ipv6_dst", NULL, "ipv6_dst", FG_IPV6},
    {"ip_dscp", "mod_nw_tos", "ip_dscp", FG_IP},
    {"ip_ecn", "mod_nw_ecn", "nw_ecn", FG_IP},
    {"nw_ttl", "mod_nw_ttl", "nw_ttl", FG_IP},
    {"tp_src", "mod_tp_src", "tp_src", FG_L4},
    {"tp_dst", "mod_tp_dst", "tp_dst", FG_L4},
};
const unsigned sw__ofp_n_fields = sizeof(sw__ofp_fields) / sizeof(sw__ofp_fields[0]);

/* Other spellings of set_field names. */
static const struct {
    const char *alias, *name;
} field_aliases[] = {
    {"dl_src", "eth_src"},   {"dl_dst", "eth_dst"},   {"nw_src", "ip_src"},
    {"nw_dst", "ip_dst"},    {"ipv4_src", "ip_src"},  {"ipv4_dst", "ip_dst"},
    {"nw_ecn", "ip_ecn"},    {"tcp_src", "tp_src"},   {"tcp_dst", "tp_dst"},
    {"udp_src", "tp_src"},   {"udp_dst", "tp_dst"},   {"sctp_src", "tp_src"},
    {"sctp_dst", "tp_dst"},
};

static int find_field(const char *name)
{
    for (size_t i = 0; i < sizeof(field_aliases) / sizeof(field_aliases[0]); i++)
        if (!strcasecmp(name, field_aliases[i].alias))
            name = field_aliases[i].name;
    for (unsigned i = 0; i < sw__ofp_n_fields; i++)
        if (!strcasecmp(name, sw__ofp_fields[i].name))
            return (int)i;
    return -1;
}

static bool is_ip_type(const struct sw_flow_key *k, const struct sw_flow_mask *m, bool v4, bool v6)
{
    if (!k || !m || m->masks.dl_type != 0xffff)
        return false;
    return (v4 && k->dl_type == PKT_ETH_TYPE_IPV4) || (v6 && k->dl_type == PKT_ETH_TYPE_IPV6);
}

/* set_field prerequisites (OpenFlow 1.2+): the match must pin the protocol. */
static int check_field_prereq(const struct ofp_field *f, const struct sw_flow_key *k,
                              const struct sw_flow_mask *m, char *err, size_t err_size)
{
    switch (f->group) {
    case FG_ETH:
        return 0;
    case FG_IPV4:
        if (is_ip_type(k, m, true, false))
            return 0;
        return sw__fail(err, err_size, "set_field %s: prerequisite not met (needs ip in the match)",
                        f->name);
    case FG_IPV6:
        if (is_ip_type(k, m, false, true))
            return 0;
        return sw__fail(err, err_size,
                        "set_field %s: prerequisite not met (needs ipv6 in the match)", f->name);
    case FG_IP:
        if (is_ip_type(k, m, true, true))
            return 0;
        return sw__fail(err, err_size,
                        "set_field %s: prerequisite not met (needs ip or ipv6 in the match)",
                        f->name);
    case FG_L4:
        if (is_ip_type(k, m, true, true) && m->masks.nw_proto == 0xff &&
            (k->nw_proto == PKT_IPPROTO_TCP || k->nw_proto == PKT_IPPROTO_UDP ||
             k->nw_proto == PKT_IPPROTO_SCTP))
            return 0;
        return sw__fail(err, err_size,
                        "set_field %s: prerequisite not met (needs tcp, udp or sctp in the match)",
                        f->name);
    }
    return 0;
}

/* Strict unsigned integer (decimal or 0x hex) <= @max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* A port argument: number 1..SW_OFPORT_MAX or a port name. */
static int parse_port(struct sw_ofproto *ofp, const char *s, uint32_t *port)
{
    uint64_t v;
    if (parse_uint(s, UINT32_MAX, &v) == 0) {
        if (v == 0 || v > SW_OFPORT_MAX)
            return -ERANGE;
        *port = (uint32_t)v;
        return 0;
    }
    if (ofp && sw__ofport_from_text(ofp, s, port) == 0)
        return 0;
    return -ENOENT;
}

static int parse_set(const struct ofp_field *f, int idx, const char *value, bool set_field,
                     struct ofpact *a, char *err, size_t err_size)
{
    char text[256];
    const char *what = set_field ? "set_field" : f->mod_name;
    const char *flow_name = f->flow_name;
    /* mod_nw_tos takes the whole TOS byte (DSCP bits only, like OpenFlow 1.0). */
    bool tos = !set_field && idx == find_field("ip_dscp");
    if (tos)
        flow_name = "nw_tos";
    if (snprintf(text, sizeof(text), "%s=%s", flow_name, value) >= (int)sizeof(text))
        return sw__fail(err, err_size, "%s: value too long", what);
    char ferr[128];
    if (sw_flow_parse(text, &a->value, &a->mask, ferr, sizeof(ferr)) != 0)
        return sw__fail(err, err_size, "%s: bad value '%s' for %s", what, value, f->name);
    if (tos) {
        if (a->value.nw_tos & 3)
            return sw__fail(err, err_size, "mod_nw_tos: %s is not a multiple of 4 (DSCP bits only)",
                            value);
        a->mask.masks.nw_tos = 0xfc;
    }
    if (sw_flow_mask_is_catchall(&a->mask))
        return sw__fail(err, err_size, "%s: empty mask for %s", what, f->name);
    a->type = SWACT_SET_FIELD;
    a->flavor = set_field;
    a->field = (uint8_t)idx;
    return 0;
}

static bool keyword(const char *s, const char *kw)
{
    return !strcasecmp(s, kw);
}

static int parse_one(struct sw_ofproto *ofp, char *tok, const struct sw_flow_key *match,
                     const struct sw_flow_mask *mask, uint8_t table_id, struct ofpact *a,
                     char *err, size_t err_size)
{
    memset(a, 0, sizeof(*a));
    char *arg = NULL;
    /* name:arg or name(arg) */
    char *colon = strchr(tok, ':'), *paren = strchr(tok, '(');
    if (paren && (!colon || paren < colon)) {
        size_t n = strlen(paren);
        if (paren[n - 1] != ')')
            return sw__fail(err, err_size, "action '%s': missing ')'", tok);
        paren[n - 1] = '\0';
        *paren = '\0';
        arg = paren + 1;
    } else if (colon) {
        *colon = '\0';
        arg = colon + 1;
    }
    const char *name = tok;
    uint64_t v;

    if (keyword(name, "output")) {
        if (!arg || !*arg)
            return sw__fail(err, err_size, "output: missing port");
        if (keyword(arg, "in_port")) {
            a->type = SWACT_IN_PORT;
            return 0;
        }
        if (keyword(arg, "normal") || keyword(arg, "flood") || keyword(arg, "all") ||
            keyword(arg, "controller")) {
            /* output:NORMAL and friends: the reserved-port action */
            return parse_one(ofp, arg, match, mask, table_id, a, err, err_size);
        }
        int r = parse_port(ofp, arg, &a->port);
        if (r == -ERANGE)
            return sw__fail(err, err_size, "output: port %s out of range 1..%u", arg,
                            SW_OFPORT_MAX);
        if (r)
            return sw__fail(err, err_size, "output: unknown port '%s'", arg);
        a->type = SWACT_OUTPUT;
        return 0;
    }
    if (!arg) {
        if (keyword(name, "in_port")) {
            a->type = SWACT_IN_PORT;
            return 0;
        }
        if (keyword(name, "flood")) {
            a->type = SWACT_FLOOD;
            return 0;
        }
        if (keyword(name, "all")) {
            a->type = SWACT_ALL;
            return 0;
        }
        if (keyword(name, "normal")) {
            a->type = SWACT_NORMAL;
            return 0;
        }
        if (keyword(name, "controller")) {
            a->type = SWACT_CONTROLLER;
            a->u16 = 65535;
            return 0;
        }
        if (keyword(name, "strip_vlan") || keyword(name, "pop_vlan")) {
            a->type = SWACT_POP_VLAN;
            a->flavor = keyword(name, "pop_vlan");
            return 0;
        }
        if (keyword(name, "dec_ttl")) {
            a->type = SWACT_DEC_TTL;
            return 0;
        }
        if (keyword(name, "clear_actions")) {
            a->type = SWACT_CLEAR_ACTIONS;
            return 0;
        }
        if (isdigit((unsigned char)name[0])) {
            int r = parse_port(ofp, name, &a->port);
            if (r)
                return sw__fail(err, err_size, "output: port %s out of range 1..%u", name,
                                SW_OFPORT_MAX);
            a->type = SWACT_OUTPUT;
            return 0;
        }
        for (unsigned i = 0; i < sw__ofp_n_fields; i++)
            if (sw__ofp_fields[i].mod_name && keyword(name, sw__ofp_fields[i].mod_name))
                return sw__fail(err, err_size, "%s: missing value", name);
        if (keyword(name, "mod_vlan_vid") || keyword(name, "mod_vlan_pcp") ||
            keyword(name, "push_vlan") || keyword(name, "set_field") ||
            keyword(name, "resubmit") || keyword(name, "goto_table") ||
            keyword(name, "write_metadata") || keyword(name, "write_actions") ||
            keyword(name, "group") || keyword(name, "meter"))
            return sw__fail(err, err_size, "%s: missing argument", name);
        if (ofp && sw__ofport_from_text(ofp, name, &a->port) == 0) {
            a->type = SWACT_OUTPUT;
            return 0;
        }
        return sw__fail(err, err_size, "unknown action '%s'", name);
    }

    if (keyword(name, "controller")) {
        /* controller:N or controller(max_len=N) */
        const char *n = arg;
        if (!strncasecmp(n, "max_len=", 8))
            n += 8;
        if (parse_uint(n, 65535, &v))
            return sw__fail(err, err_size, "controller: bad max_len '%s'", arg);
        a->type = SWACT_CONTROLLER;
        a->u16 = (uint16_t)v;
        return 0;
    }
    if (keyword(name, "mod_vlan_vid")) {
        if (parse_uint(arg, 4095, &v))
            return sw__fail(err, err_size, "mod_vlan_vid: bad VLAN id '%s' (0..4095)", arg);
        a->type = SWACT_MOD_VLAN_VID;
        a->u16 = (uint16_t)v;
        return 0;
    }
    if (keyword(name, "mod_vlan_pcp")) {
        if (parse_uint(arg, 7, &v))
            return sw__fail(err, err_size, "mod_vlan_pcp: bad priority '%s' (0..7)", arg);
        a->type = SWACT_MOD_VLAN_PCP;
        a->u16 = (uint16_t)v;
        return 0;
    }
    if (keyword(name, "push_vlan")) {
        if (parse_uint(arg, 0xffff, &v) || (v != 0x8100 && v != 0x88a8))
            return sw__fail(err, err_size, "push_vlan: bad ethertype '%s' (0x8100 or 0x88a8)",
                            arg);
        a->type = SWACT_PUSH_VLAN;
        a->u16 = (uint16_t)v;
        return 0;
    }
    if (keyword(name, "meter")) {
        if (parse_uint(arg, 0xffff0000u, &v) || v == 0)
            return sw__fail(err, err_size, "meter: bad meter id '%s' (1..0xffff0000)", arg);
        if (ofp && !sw__meter_exists(ofp, (uint32_t)v))
            return sw__fail(err, err_size, "meter: meter %" PRIu64 " does not exist", v);
        a->type = SWACT_METER;
        a->port = (uint32_t)v;
        return 0;
    }
    if (keyword(name, "group")) {
        if (parse_uint(arg, SW_GROUP_MAX_ID, &v))
            return sw__fail(err, err_size, "group: bad group id '%s'", arg);
        if (ofp && !sw__group_exists(ofp, (uint32_t)v))
            return sw__fail(err, err_size, "group: group %" PRIu64 " does not exist", v);
        a->type = SWACT_GROUP;
        a->port = (uint32_t)v;
        return 0;
    }
    if (keyword(name, "write_metadata")) {
        /* write_metadata:VALUE[/MASK] */
        char *slash = strchr(arg, '/');
        uint64_t m = UINT64_MAX;
        if (slash)
            *slash = '\0';
        if (parse_uint(arg, UINT64_MAX, &v) || (slash && parse_uint(slash + 1, UINT64_MAX, &m)))
            return sw__fail(err, err_size, "write_metadata: expected VALUE[/MASK], not '%s%s%s'",
                            arg, slash ? "/" : "", slash ? slash + 1 : "");
        if (v & ~m)
            return sw__fail(err, err_size,
                            "write_metadata: value 0x%" PRIx64 " has bits outside mask 0x%" PRIx64,
                            v, m);
        a->type = SWACT_WRITE_METADATA;
        a->value.metadata = v;
        a->mask.masks.metadata = m;
        return 0;
    }
    if (keyword(name, "goto_table")) {
        if (parse_uint(arg, SW_OFP_TABLES - 1, &v))
            return sw__fail(err, err_size, "goto_table: bad table '%s' (0..%d)", arg,
                            SW_OFP_TABLES - 1);
        if (v <= table_id)
            return sw__fail(err, err_size,
                            "goto_table: table %" PRIu64 " is not after this rule's table %u", v,
                            table_id);
        a->type = SWACT_GOTO_TABLE;
        a->table = (uint8_t)v;
        return 0;
    }
    if (keyword(name, "resubmit")) {
        a->type = SWACT_RESUBMIT;
        a->table = SWACT_TABLE_CURRENT;
        char *comma = paren ? strchr(arg, ',') : NULL;
        if (paren && !comma)
            return sw__fail(err, err_size, "resubmit: expected resubmit(port,table)");
        if (comma) {
            *comma = '\0';
            const char *t = comma + 1;
            if (*t) {
                if (parse_uint(t, SW_OFP_TABLES - 1, &v))
                    return sw__fail(err, err_size, "resubmit: bad table '%s' (0..%d)", t,
                                    SW_OFP_TABLES - 1);
                a->table = (uint8_t)v;
            }
        }
        if (*arg && !keyword(arg, "in_port")) {
            int r = parse_port(ofp, arg, &a->port);
            if (r)
                return sw__fail(err, err_size, "resubmit: unknown port '%s'", arg);
        } else if (!paren) {
            return sw__fail(err, err_size, "resubmit: missing port");
        }
        if (a->port == 0 && a->table == SWACT_TABLE_CURRENT)
            return sw__fail(err, err_size, "resubmit: give a port or a table");
        return 0;
    }
    if (keyword(name, "set_field") || keyword(name, "load")) {
        if (keyword(name, "load"))
            return sw__fail(err, err_size, "load: not supported, use set_field");
        char *arrow = strstr(arg, "->");
        if (!arrow)
            return sw__fail(err, err_size, "set_field: expected set_field:value->field");
        *arrow = '\0';
        const char *fname = arrow + 2;
        if (keyword(fname, "vlan_vid") || keyword(fname, "dl_vlan")) {
            if (parse_uint(arg, 4095, &v))
                return sw__fail(err, err_size, "set_field: bad VLAN id '%s' (0..4095)", arg);
            a->type = SWACT_MOD_VLAN_VID;
            a->flavor = 1;
            a->u16 = (uint16_t)v;
            return 0;
        }
        if (keyword(fname, "vlan_pcp") || keyword(fname, "dl_vlan_pcp")) {
            if (parse_uint(arg, 7, &v))
                return sw__fail(err, err_size, "set_field: bad VLAN priority '%s' (0..7)", arg);
            a->type = SWACT_MOD_VLAN_PCP;
            a->flavor = 1;
            a->u16 = (uint16_t)v;
            return 0;
        }
        int idx = find_field(fname);
        if (idx < 0)
            return sw__fail(err, err_size, "set_field: field '%s' unknown or not writable",
                            fname);
        int r = parse_set(&sw__ofp_fields[idx], idx, arg, true, a, err, err_size);
        if (r)
            return r;
        /* udp_dst, sctp_src...: the protocol they name (OpenFlow's set_field
         * field), kept for the wire form */
        a->table = !strncasecmp(fname, "udp_", 4)    ? PKT_IPPROTO_UDP
                   : !strncasecmp(fname, "sctp_", 5) ? PKT_IPPROTO_SCTP
                   : !strncasecmp(fname, "tcp_", 4)  ? PKT_IPPROTO_TCP
                                                     : 0;
        if (match)
            return check_field_prereq(&sw__ofp_fields[idx], match, mask, err, err_size);
        return 0;
    }
    for (unsigned i = 0; i < sw__ofp_n_fields; i++)
        if (sw__ofp_fields[i].mod_name && keyword(name, sw__ofp_fields[i].mod_name)) {
            if (strchr(arg, '/'))
                return sw__fail(err, err_size, "%s: no mask allowed", name);
            return parse_set(&sw__ofp_fields[i], (int)i, arg, false, a, err, err_size);
        }
    return sw__fail(err, err_size, "unknown action '%s'", name);
}

/* Instruction phases, in the order OpenFlow 1.3 executes them (and
 * ovs-ofctl wants them written). */
enum phase { PH_METER, PH_APPLY, PH_CLEAR, PH_WRITE, PH_METADATA, PH_GOTO };

static const char *const phase_names[] = {"meter", "apply actions", "clear_actions",
                                          "write_actions", "write_metadata", "goto_table"};

static enum phase phase_of(uint8_t type)
{
    switch (type) {
    case SWACT_CLEAR_ACTIONS:
        return PH_CLEAR;
    case SWACT_WRITE_ACTIONS:
        return PH_WRITE;
    case SWACT_WRITE_METADATA:
        return PH_METADATA;
    case SWACT_GOTO_TABLE:
        return PH_GOTO;
    case SWACT_METER:
        return PH_METER;
    default:
        return PH_APPLY;
    }
}

/* What an action set may hold (OpenFlow 1.3 section 5.10). */
static bool allowed_in_set(uint8_t type)
{
    switch (type) {
    case SWACT_OUTPUT:
    case SWACT_IN_PORT:
    case SWACT_FLOOD:
    case SWACT_ALL:
    case SWACT_NORMAL:
    case SWACT_CONTROLLER:
    case SWACT_MOD_VLAN_VID:
    case SWACT_MOD_VLAN_PCP:
    case SWACT_POP_VLAN:
    case SWACT_PUSH_VLAN:
    case SWACT_SET_FIELD:
    case SWACT_DEC_TTL:
    case SWACT_GROUP:
        return true;
    default:
        return false;
    }
}

/*
 * Parse the comma-separated list at @p (whitespace removed, modified in
 * place) into acts->a[acts->n...]. @nested: inside write_actions(...),
 * where only action-set actions are allowed and no instruction.
 */
static int parse_list(struct sw_ofproto *ofp, char *p, const char *text,
                      const struct sw_flow_key *match, const struct sw_flow_mask *mask,
                      uint8_t table_id, bool nested, struct sw_ofpacts *acts, char *err,
                      size_t err_size)
{
    int r = 0;
    bool saw_drop = false;
    int phase = PH_METER;
    bool seen[PH_GOTO + 1] = {false};
    unsigned first = acts->n;
    while (*p && r == 0) {
        /* split at the next comma outside parentheses */
        char *q = p;
        int depth = 0;
        while (*q && (depth > 0 || *q != ',')) {
            if (*q == '(')
                depth++;
            else if (*q == ')')
                depth--;
            q++;
        }
        bool last = *q == '\0';
        *q = '\0';
        if (!*p) {
            r = sw__fail(err, err_size, "empty action in '%s'", text);
        } else if (keyword(p, "drop")) {
            saw_drop = true;
        } else if (!nested && !strncasecmp(p, "write_actions(", 14)) {
            size_t n = strlen(p);
            if (p[n - 1] != ')') {
                r = sw__fail(err, err_size, "write_actions: missing ')'");
            } else if (phase >= PH_WRITE) {
                r = sw__fail(err, err_size, phase == PH_WRITE ? "write_actions given twice"
                                                              : "write_actions must come before %s",
                             phase_names[phase]);
            } else {
                p[n - 1] = '\0';
                unsigned head = acts->n++;
                memset(&acts->a[head], 0, sizeof(acts->a[head]));
                acts->a[head].type = SWACT_WRITE_ACTIONS;
                r = parse_list(ofp, p + 14, text, match, mask, table_id, true, acts, err,
                               err_size);
                if (r == 0)
                    acts->a[head].u16 = (uint16_t)(acts->n - head - 1);
                phase = PH_WRITE;
            }
        } else {
            struct ofpact *a = &acts->a[acts->n];
            r = parse_one(ofp, p, match, mask, table_id, a, err, err_size);
            if (r == 0 && nested && !allowed_in_set(a->type)) {
                r = sw__fail(err, err_size, "write_actions: '%s' cannot be in an action set", p);
            } else if (r == 0) {
                int ph = (int)phase_of(a->type);
                if (seen[ph] && ph != PH_APPLY)
                    r = sw__fail(err, err_size, "%s given twice", phase_names[ph]);
                else if (ph < phase)
                    r = sw__fail(err, err_size, "%s must come before %s", phase_names[ph],
                                 phase_names[phase]);
                seen[ph] = true;
                phase = ph;
            }
            if (r == 0)
                acts->n++;
        }
        p = last ? q : q + 1;
    }
    if (r == 0 && saw_drop && acts->n != first)
        r = sw__fail(err, err_size, "drop must be the only action");
    return r;
}

int sw_ofpacts_parse(struct sw_ofproto *ofp, const char *text, const struct sw_flow_key *match,
                     const struct sw_flow_mask *mask, uint8_t table_id, struct sw_ofpacts **out,
                     char *err, size_t err_size)
{
    if (!text || !out)
        return sw__fail(err, err_size, "no actions");
    *out = NULL;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    struct sw_ofpacts *acts = calloc(1, sizeof(*acts) + (len / 2 + 2) * sizeof(struct ofpact));
    if (!copy || !acts) {
        free(copy);
        free(acts);
        return -ENOMEM;
    }
    /* Drop whitespace (ovs-ofctl allows "actions=output:1, output:2"). */
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)text[i]))
            copy[n++] = text[i];
    copy[n] = '\0';
    int r = parse_list(ofp, copy, text, match, mask, table_id, false, acts, err, err_size);
    free(copy);
    if (r) {
        free(acts);
        return r;
    }
    *out = acts;
    return 0;
}

void sw_ofpacts_free(struct sw_ofpacts *a)
{
    free(a);
}

int sw__ofpacts_dup(const struct sw_ofpacts *a, struct sw_ofpacts **out)
{
    size_t n = a ? a->n : 0;
    struct sw_ofpacts *c = malloc(sizeof(*c) + n * sizeof(struct ofpact));
    if (!c)
        return -ENOMEM;
    c->n = (unsigned)n;
    if (n)
        memcpy(c->a, a->a, n * sizeof(struct ofpact));
    *out = c;
    return 0;
}

bool sw__ofpacts_uses_meter(const struct sw_ofpacts *a, uint32_t id)
{
    for (unsigned i = 0; a && i < a->n; i++)
        if (a->a[i].type == SWACT_METER && a->a[i].port == id)
            return true;
    return false;
}

bool sw__ofpacts_uses_group(const struct sw_ofpacts *a, uint32_t id)
{
    for (unsigned i = 0; a && i < a->n; i++)
        if (a->a[i].type == SWACT_GROUP && a->a[i].port == id)
            return true;
    return false;
}

bool sw__ofpacts_output_to(const struct sw_ofpacts *a, uint32_t ofport)
{
    for (unsigned i = 0; a && i < a->n; i++)
        if (a->a[i].type == SWACT_OUTPUT && a->a[i].port == ofport)
            return true;
    return false;
}

/* ---- formatting ---- */

void sw__put(struct sw__out *o, const char *fmt, ...)
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

/* The value text of a set action: what sw_flow_format() writes after '='. */
static void put_value(struct sw__out *o, const struct ofpact *a)
{
    char text[SW_FLOW_FORMAT_MAX];
    if (!a->flavor && a->field == (uint8_t)find_field("ip_dscp")) {
        sw__put(o, "%u", a->value.nw_tos);
        return;
    }
    sw_flow_format(&a->value, &a->mask, text, sizeof(text));
    const char *eq = strchr(text, '=');
    sw__put(o, "%s", eq ? eq + 1 : text);
}

int sw_ofpacts_format(const struct sw_ofpacts *acts, char *buf, size_t size)
{
    struct sw__out o = {.buf = buf, .size = size, .len = 0};
    if (size)
        buf[0] = '\0';
    if (!acts || acts->n == 0) {
        sw__put(&o, "drop");
        return (int)o.len;
    }
    for (unsigned i = 0; i < acts->n; i++) {
        const struct ofpact *a = &acts->a[i];
        if (i)
            sw__put(&o, ",");
        switch (a->type) {
        case SWACT_OUTPUT:
            sw__put(&o, "output:%" PRIu32, a->port);
            break;
        case SWACT_IN_PORT:
            sw__put(&o, "IN_PORT");
            break;
        case SWACT_FLOOD:
            sw__put(&o, "FLOOD");
            break;
        case SWACT_ALL:
            sw__put(&o, "ALL");
            break;
        case SWACT_NORMAL:
            sw__put(&o, "NORMAL");
            break;
        case SWACT_CONTROLLER:
            sw__put(&o, "CONTROLLER:%u", a->u16);
            break;
        case SWACT_MOD_VLAN_VID:
            if (a->flavor)
                sw__put(&o, "set_field:%u->vlan_vid", a->u16);
            else
                sw__put(&o, "mod_vlan_vid:%u", a->u16);
            break;
        case SWACT_MOD_VLAN_PCP:
            if (a->flavor)
                sw__put(&o, "set_field:%u->vlan_pcp", a->u16);
            else
                sw__put(&o, "mod_vlan_pcp:%u", a->u16);
            break;
        case SWACT_POP_VLAN:
            sw__put(&o, a->flavor ? "pop_vlan" : "strip_vlan");
            break;
        case SWACT_PUSH_VLAN:
            sw__put(&o, "push_vlan:0x%04x", a->u16);
            break;
        case SWACT_SET_FIELD: {
            const struct ofp_field *f = &sw__ofp_fields[a->field];
            if (a->flavor) {
                sw__put(&o, "set_field:");
                put_value(&o, a);
                if (a->table && f->group == FG_L4)   /* udp_dst, not tp_dst */
                    sw__put(&o, "->%s_%s", a->table == PKT_IPPROTO_UDP    ? "udp"
                                           : a->table == PKT_IPPROTO_SCTP ? "sctp"
                                                                          : "tcp",
                            f->name + 3);
                else
                    sw__put(&o, "->%s", f->name);
            } else {
                sw__put(&o, "%s:", f->mod_name);
                put_value(&o, a);
            }
            break;
        }
        case SWACT_DEC_TTL:
            sw__put(&o, "dec_ttl");
            break;
        case SWACT_RESUBMIT:
            if (a->table == SWACT_TABLE_CURRENT)
                sw__put(&o, "resubmit:%" PRIu32, a->port);
            else if (a->port)
                sw__put(&o, "resubmit(%" PRIu32 ",%u)", a->port, a->table);
            else
                sw__put(&o, "resubmit(,%u)", a->table);
            break;
        case SWACT_GOTO_TABLE:
            sw__put(&o, "goto_table:%u", a->table);
            break;
        case SWACT_CLEAR_ACTIONS:
            sw__put(&o, "clear_actions");
            break;
        case SWACT_GROUP:
            sw__put(&o, "group:%" PRIu32, a->port);
            break;
        case SWACT_METER:
            sw__put(&o, "meter:%" PRIu32, a->port);
            break;
        case SWACT_WRITE_METADATA:
            if (a->mask.masks.metadata == UINT64_MAX)
                sw__put(&o, "write_metadata:0x%" PRIx64, a->value.metadata);
            else
                sw__put(&o, "write_metadata:0x%" PRIx64 "/0x%" PRIx64, a->value.metadata,
                    a->mask.masks.metadata);
            break;
        case SWACT_WRITE_ACTIONS: {
            /* the set's actions follow: format them as a list of their own */
            struct sw_ofpacts *inner = malloc(sizeof(*inner) + a->u16 * sizeof(struct ofpact));
            unsigned k = a->u16 < acts->n - i - 1 ? a->u16 : acts->n - i - 1;
            if (!inner) {
                sw__put(&o, "write_actions(...)");
            } else {
                inner->n = k;
                memcpy(inner->a, a + 1, k * sizeof(struct ofpact));
                char sub[2048];
                sw_ofpacts_format(inner, sub, sizeof(sub));
                sw__put(&o, "write_actions(%s)", k ? sub : "");
                free(inner);
            }
            i += k;
            break;
        }
        default:
            sw__put(&o, "unknown");
            break;
        }
    }
    return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}
