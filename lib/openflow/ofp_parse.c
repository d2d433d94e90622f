/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ovs-ofctl text -> flow-mods, flow-stats requests, group-mods,
 * meter-mods and packet-outs (see ofp_parse.h for the syntax and the
 * per-version mapping of actions). This file: items, ports, match
 * fields and flows; actions are in ofp_parse_actions.c, groups, meters
 * and packet-outs in ofp_parse_mod.c.
 *
 * The text is copied and cut in place into items; a match is read in
 * three passes (protocol shorthands and dl_type, then nw_proto, then the
 * rest) so that fields whose meaning depends on the protocol can be
 * resolved wherever they appear. Lists are built in growable vectors and
 * copied into the message's arena at the end.
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


int ofpp_fail(struct ctx *c, const char *fmt, ...)
{
    if (!c->failed && c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    c->failed = true;
    return -EINVAL;
}

int ofpp_need13(struct ctx *c, const char *what)
{
    return ofpp_fail(c, "%s: needs OpenFlow 1.3 (-O OpenFlow13)", what);
}

/* ---- items ---- */

static const char SEPARATORS[] = ", \t\r\n";

/*
 * Cut the next item out of *pos: "key", "key=value", "key:value" or
 * "key(value)" (parentheses nest; a value runs to the next separator
 * outside parentheses). *value is "" when there is none. False at the end.
 */
bool ofpp_next_item(char **pos, char **key, char **value)
{
    char *p = *pos + strspn(*pos, SEPARATORS);
    if (!*p)
        return false;
    *key = p;
    p += strcspn(p, "=:(, \t\r\n");
    char delim = *p;
    *value = p + strlen(p);  /* "" (the terminating NUL) */
    if (delim == '(') {
        *p++ = '\0';
        *value = p;
        int depth = 1;
        for (; *p; p++) {
            if (*p == '(')
                depth++;
            else if (*p == ')' && --depth == 0)
                break;
        }
        if (*p)
            *p++ = '\0';
    } else if (delim == '=' || delim == ':') {
        *p++ = '\0';
        *value = p;
        int depth = 0;
        for (; *p; p++) {
            if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            else if (depth <= 0 && strchr(SEPARATORS, *p))
                break;
        }
        if (*p)
            *p++ = '\0';
    } else if (*p) {
        *p++ = '\0';
        *value = p - 1;
    }
    *pos = p;
    return true;
}

/* Where "WORD=" (or "WORD:") starts an item in @s, or NULL. */
char *ofpp_find_item(char *s, const char *word)
{
    size_t n = strlen(word);
    for (char *p = s; (p = strstr(p, word)) != NULL; p++) {
        bool starts = p == s || strchr(SEPARATORS, p[-1]);
        if (starts && (p[n] == '=' || p[n] == ':'))
            return p;
    }
    return NULL;
}

bool ofpp_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s || *s == '-' || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

int ofpp_parse_num(struct ctx *c, const char *what, const char *s, uint64_t max, uint64_t *out)
{
    if (!ofpp_parse_u64(s, max, out))
        return ofpp_fail(c, "%s: '%s' is not a number from 0 to %" PRIu64, what, s, max);
    return 0;
}

/* ---- ports ---- */

static const struct {
    const char *name;
    uint32_t port;
} reserved_ports[] = {
    {"in_port", OFPP_IN_PORT}, {"table", OFPP_TABLE},
    {"normal", OFPP_NORMAL},   {"flood", OFPP_FLOOD},
    {"all", OFPP_ALL},         {"controller", OFPP_CONTROLLER},
    {"local", OFPP_LOCAL},     {"any", OFPP_ANY},
    {"none", OFPP_ANY},
};

int ofpp_port_of(struct ctx *c, const char *what, const char *s, uint32_t *out)
{
    uint64_t v;
    if (ofpp_parse_u64(s, UINT32_MAX, &v)) {
        if (c->version == OFP10_VERSION) {
            if (v > 0xffff)
                return ofpp_fail(c, "%s: port %s does not fit OpenFlow 1.0's 16 bits", what, s);
            v = v >= 0xff00 ? 0xffff0000u | v : v;
        }
        *out = (uint32_t)v;
        return 0;
    }
    for (size_t i = 0; i < KK_ARRAY_SIZE(reserved_ports); i++) {
        if (strcasecmp(s, reserved_ports[i].name) == 0) {
            *out = reserved_ports[i].port;
            return 0;
        }
    }
    if (c->names && c->names->lookup && *s) {
        int rc = c->names->lookup(c->names->aux, s, out);
        if (rc == 0)
            return 0;
        if (rc != -ENOENT)
            return ofpp_fail(c, "%s: looking up port '%s' failed (%d)", what, s, rc);
    }
    return ofpp_fail(c, "%s: '%s' is not a port number, a reserved port or a port name", what, s);
}

int ofp_parse_port(const char *text, uint8_t version, const struct ofp_port_names *names,
                   uint32_t *port_no, char *err, size_t errlen)
{
    if (!text || !port_no)
        return -EINVAL;
    struct ctx c = {.version = version, .names = names, .err = err, .errlen = errlen};
    return ofpp_port_of(&c, "port", text, port_no);
}

/* ---- match values ---- */

enum value_kind { VK_NUM, VK_MAC, VK_IPV4, VK_IPV6, VK_PORT };

static enum value_kind kind_of(enum ofp_oxm_field f)
{
    switch (f) {
    case OFPXMT_IN_PORT:
    case OFPXMT_IN_PHY_PORT:
        return VK_PORT;
    case OFPXMT_ETH_DST:
    case OFPXMT_ETH_SRC:
    case OFPXMT_ARP_SHA:
    case OFPXMT_ARP_THA:
    case OFPXMT_IPV6_ND_SLL:
    case OFPXMT_IPV6_ND_TLL:
        return VK_MAC;
    case OFPXMT_IPV4_SRC:
    case OFPXMT_IPV4_DST:
    case OFPXMT_ARP_SPA:
    case OFPXMT_ARP_TPA:
        return VK_IPV4;
    case OFPXMT_IPV6_SRC:
    case OFPXMT_IPV6_DST:
    case OFPXMT_IPV6_ND_TARGET:
        return VK_IPV6;
    default:
        return VK_NUM;
    }
}

bool ofpp_parse_mac(const char *s, uint8_t *out)
{
    unsigned b[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
               &tail) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)b[i];
    return true;
}

/* "/N" prefix of an address of @bytes bytes into @mask. */
static bool prefix_mask(const char *s, unsigned bytes, uint8_t *mask)
{
    uint64_t n;
    if (!ofpp_parse_u64(s, bytes * 8, &n) || strchr(s, 'x') || strchr(s, 'X'))
        return false;
    memset(mask, 0, bytes);
    for (unsigned i = 0; i < n; i++)
        mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    return true;
}

/*
 * One field value (and /mask when @allow_mask) of @f in text @s into
 * @value/@mask (network order, ofp_oxm_field_len() bytes). *has_mask
 * tells whether a mask was given.
 */
int ofpp_parse_value(struct ctx *c, const char *what, enum ofp_oxm_field f, const char *s,
                     bool allow_mask, uint8_t *value, uint8_t *mask, bool *has_mask)
{
    char text[128];
    if (strlen(s) >= sizeof(text))
        return ofpp_fail(c, "%s: value too long", what);
    strcpy(text, s);
    char *slash = strchr(text, '/');
    *has_mask = false;
    if (slash) {
        if (!allow_mask)
            return ofpp_fail(c, "%s: takes no mask", what);
        *slash = '\0';
        *has_mask = true;
    }
    unsigned len = ofp_oxm_field_len(f);
    memset(value, 0, 16);
    memset(mask, 0xff, 16);
    switch (kind_of(f)) {
    case VK_PORT: {
        if (slash)
            return ofpp_fail(c, "%s: takes no mask", what);
        uint32_t p;
        int rc = ofpp_port_of(c, what, text, &p);
        if (rc)
            return rc;
        ofp__put32(value, p);
        return 0;
    }
    case VK_MAC:
        if (!ofpp_parse_mac(text, value))
            return ofpp_fail(c, "%s: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", what, text);
        if (slash && !ofpp_parse_mac(slash + 1, mask))
            return ofpp_fail(c, "%s: '%s' is not a MAC mask", what, slash + 1);
        return 0;
    case VK_IPV4:
    case VK_IPV6: {
        int family = kind_of(f) == VK_IPV4 ? AF_INET : AF_INET6;
        if (inet_pton(family, text, value) != 1)
            return ofpp_fail(c, "%s: '%s' is not an %s address", what, text,
                             family == AF_INET ? "IPv4" : "IPv6");
        if (slash && !prefix_mask(slash + 1, len, mask) &&
            inet_pton(family, slash + 1, mask) != 1)
            return ofpp_fail(c, "%s: '%s' is neither a prefix length nor an address mask", what,
                             slash + 1);
        return 0;
    }
    case VK_NUM:
        break;
    }
    uint64_t max = len >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * len)) - 1;
    uint64_t v, m = max;
    if (!ofpp_parse_u64(text, max, &v))
        return ofpp_fail(c, "%s: '%s' is not a number that fits the field", what, text);
    if (slash && !ofpp_parse_u64(slash + 1, max, &m))
        return ofpp_fail(c, "%s: '%s' is not a mask that fits the field", what, slash + 1);
    for (unsigned i = 0; i < len; i++) {
        value[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
        mask[i] = (uint8_t)(m >> (8 * (len - 1 - i)));
    }
    return 0;
}

/* Set @f in @m, checking the value against the field's rules. */
int ofpp_set_field(struct ctx *c, struct ofp_match_fields *m, const char *what,
                   enum ofp_oxm_field f, const uint8_t *value, const uint8_t *mask,
                   bool has_mask)
{
    unsigned len = ofp_oxm_field_len(f);
    bool all_ones = true;
    for (unsigned i = 0; has_mask && i < len; i++)
        all_ones &= mask[i] == 0xff;
    const uint8_t *k = has_mask && !all_ones ? mask : NULL;
    bool all_zero = k != NULL;
    for (unsigned i = 0; k && i < len; i++)
        all_zero &= mask[i] == 0;
    if (all_zero) {  /* /0 matches anything: as ovs-ofctl, no field at all */
        ofp_match_clear(m, f);
        return 0;
    }
    uint8_t masked[16];
    if (k) {  /* as ovs-ofctl: value bits outside the mask do not matter */
        for (unsigned i = 0; i < len; i++)
            masked[i] = value[i] & k[i];
        value = masked;
    }
    switch (ofp__oxm_check_field(f, value, k)) {
    case OFPERR_NONE:
        break;
    case OFPERR_OFPBMC_BAD_MASK:
        return ofpp_fail(c, "%s: this field cannot be masked", what);
    case OFPERR_OFPBMC_BAD_WILDCARDS:
        return ofpp_fail(c, "%s: the value has bits outside the mask", what);
    default:
        return ofpp_fail(c, "%s: value out of range for the field", what);
    }
    ofp_match_set(m, f, value, k);
    return 0;
}

static int set_uint(struct ctx *c, struct ofp_match_fields *m, const char *what,
                    enum ofp_oxm_field f, uint64_t v)
{
    uint8_t value[16] = {0}, mask[16];
    unsigned len = ofp_oxm_field_len(f);
    for (unsigned i = 0; i < len; i++)
        value[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    memset(mask, 0xff, sizeof(mask));
    return ofpp_set_field(c, m, what, f, value, mask, false);
}

static const struct {
    const char *name;
    enum ofp_oxm_field field;
} field_aliases[] = {
    {"dl_src", OFPXMT_ETH_SRC},       {"dl_dst", OFPXMT_ETH_DST},
    {"dl_type", OFPXMT_ETH_TYPE},     {"ip_src", OFPXMT_IPV4_SRC},
    {"ip_dst", OFPXMT_IPV4_DST},      {"nw_ecn", OFPXMT_IP_ECN},
    {"icmpv4_type", OFPXMT_ICMPV4_TYPE}, {"icmpv4_code", OFPXMT_ICMPV4_CODE},
    {"ipv6_nd_target", OFPXMT_IPV6_ND_TARGET}, {"ipv6_nd_sll", OFPXMT_IPV6_ND_SLL},
    {"ipv6_nd_tll", OFPXMT_IPV6_ND_TLL}, {"ipv6_flabel", OFPXMT_IPV6_FLABEL},
    {"tun_id", OFPXMT_TUNNEL_ID},
};

/* A plain field name (OXM name or alias) -> field; -1 when unknown. The
 * protocol-dependent names (nw_src, tp_src, icmp_type, ...) are not here. */
int ofpp_field_by_name(const char *name)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(field_aliases); i++)
        if (strcmp(name, field_aliases[i].name) == 0)
            return (int)field_aliases[i].field;
    for (int f = 0; f < OFP_OXM_N_FIELDS; f++)
        if (f != OFPXMT_ICMPV4_TYPE && f != OFPXMT_ICMPV4_CODE &&
            strcmp(name, ofp_oxm_field_name((enum ofp_oxm_field)f)) == 0)
            return f;
    return -1;
}

static const struct {
    const char *name;
    uint16_t eth_type;
    uint8_t proto;  /* 0: none */
} shorthands[] = {
    {"ip", 0x0800, 0},     {"ipv6", 0x86dd, 0},  {"arp", 0x0806, 0},   {"rarp", 0x8035, 0},
    {"tcp", 0x0800, 6},    {"udp", 0x0800, 17},  {"sctp", 0x0800, 132}, {"icmp", 0x0800, 1},
    {"tcp6", 0x86dd, 6},   {"udp6", 0x86dd, 17}, {"sctp6", 0x86dd, 132},
    {"icmp6", 0x86dd, 58}, {"mpls", 0x8847, 0},  {"mplsm", 0x8848, 0},
};

static int shorthand_index(const char *key, const char *value)
{
    if (*value)
        return -1;
    for (size_t i = 0; i < KK_ARRAY_SIZE(shorthands); i++)
        if (strcmp(key, shorthands[i].name) == 0)
            return (int)i;
    return -1;
}

/* Which pass handles @key: 0 protocol, 1 nw_proto, 2 the rest. */
static int pass_of(const char *key, const char *value)
{
    if (shorthand_index(key, value) >= 0 || strcmp(key, "dl_type") == 0 ||
        strcmp(key, "eth_type") == 0)
        return 0;
    if (strcmp(key, "nw_proto") == 0 || strcmp(key, "ip_proto") == 0)
        return 1;
    return 2;
}

static uint64_t eth_type_of(const struct ofp_match_fields *m)
{
    return m->present >> OFPXMT_ETH_TYPE & 1 ? ofp_match_get_uint(m, OFPXMT_ETH_TYPE) : 0;
}

int ofpp_proto_of(const struct ofp_match_fields *m)
{
    return m->present >> OFPXMT_IP_PROTO & 1 ? (int)ofp_match_get_uint(m, OFPXMT_IP_PROTO) : -1;
}

/* vlan_tci=V[/M] (ovs-ofctl's 802.1Q TCI: PCP<<13 | CFI 0x1000 | VID). */
static int set_vlan_tci(struct ctx *c, struct ofp_match_fields *m, const char *s)
{
    char text[64];
    snprintf(text, sizeof(text), "%s", s);
    char *slash = strchr(text, '/');
    uint64_t v, k = 0xffff;
    if (slash)
        *slash = '\0';
    if (!ofpp_parse_u64(text, 0xffff, &v) || (slash && !ofpp_parse_u64(slash + 1, 0xffff, &k)))
        return ofpp_fail(c, "vlan_tci: '%s' is not a 16-bit value[/mask]", s);
    if (v & ~k)
        return ofpp_fail(c, "vlan_tci: the value has bits outside the mask");
    ofp_match_clear(m, OFPXMT_VLAN_VID);
    ofp_match_clear(m, OFPXMT_VLAN_PCP);
    if (k == 0)
        return 0;
    if (!(k & 0x1000))
        return ofpp_fail(c, "vlan_tci: the mask must include the CFI bit 0x1000");
    if (!(v & 0x1000)) {
        if (v)
            return ofpp_fail(c, "vlan_tci: without the CFI bit the value must be 0 (no VLAN)");
        ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_NONE, false, 0);
        return 0;
    }
    uint64_t vid_mask = k & 0x1fff;
    ofp_match_set_uint(m, OFPXMT_VLAN_VID, v & 0x1fff, vid_mask != 0x1fff, vid_mask);
    uint64_t pcp_mask = k >> 13;
    if (pcp_mask == 7)
        ofp_match_set_uint(m, OFPXMT_VLAN_PCP, v >> 13, false, 0);
    else if (pcp_mask)
        return ofpp_fail(c, "vlan_tci: the priority bits must be masked all or nothing");
    return 0;
}

/* One match item of pass @pass. 1 when handled, 0 when @key is not a match
 * field, < 0 on error. @names_used records the user's name per field. */
static int match_item(struct ctx *c, int pass, const char *key, const char *value,
                      struct ofp_match_fields *m, const char **names_used)
{
    int sh = shorthand_index(key, value);
    if (pass == 0) {
        if (sh >= 0) {
            ofp_match_set_uint(m, OFPXMT_ETH_TYPE, shorthands[sh].eth_type, false, 0);
            names_used[OFPXMT_ETH_TYPE] = key;
            if (shorthands[sh].proto) {
                ofp_match_set_uint(m, OFPXMT_IP_PROTO, shorthands[sh].proto, false, 0);
                names_used[OFPXMT_IP_PROTO] = key;
            }
            return 1;
        }
        uint64_t v;
        int rc = ofpp_parse_num(c, key, value, 0xffff, &v);
        if (rc)
            return rc;
        names_used[OFPXMT_ETH_TYPE] = key;
        return set_uint(c, m, key, OFPXMT_ETH_TYPE, v) ?: 1;
    }
    if (pass == 1) {
        uint64_t v;
        int rc = ofpp_parse_num(c, key, value, 0xff, &v);
        if (rc)
            return rc;
        /* ovs-ofctl: nw_proto of an ARP flow is the ARP opcode */
        enum ofp_oxm_field f = eth_type_of(m) == 0x0806 ? OFPXMT_ARP_OP : OFPXMT_IP_PROTO;
        names_used[f] = key;
        return set_uint(c, m, key, f, v) ?: 1;
    }

    if (sh >= 0)
        return 1;
    uint8_t v[16], k[16];
    bool has_mask;
    int rc;
    int f = -1;
    uint64_t n;
    uint64_t eth = eth_type_of(m);
    int proto = ofpp_proto_of(m);

    if (strcmp(key, "dl_vlan") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, 0xffff, &n)))
            return rc;
        if (n == 0xffff) {
            ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_NONE, false, 0);
        } else if (n > 0xfff) {
            return ofpp_fail(c, "dl_vlan: %s is not a VLAN id (0-4095, or 0xffff for none)", value);
        } else {
            ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_PRESENT | n, false, 0);
        }
        names_used[OFPXMT_VLAN_VID] = key;
        return 1;
    }
    if (strcmp(key, "vlan_vid") == 0) {
        if ((rc = ofpp_parse_value(c, key, OFPXMT_VLAN_VID, value, true, v, k, &has_mask)))
            return rc;
        uint16_t vid = ofp__get16(v), vmask = has_mask ? ofp__get16(k) : 0x1fff;
        /* ovs-ofctl's vlan_vid is the 12-bit id: the tag must be present,
         * unless the text spells out the CFI bit itself */
        if (!((vid | vmask) & OFPVID_PRESENT) || !has_mask) {
            if (vid > 0xfff)
                return ofpp_fail(c, "vlan_vid: %s is not a VLAN id (0-4095)", value);
            vid |= OFPVID_PRESENT;
            vmask = has_mask ? (uint16_t)(vmask | OFPVID_PRESENT) : 0x1fff;
        }
        ofp__put16(v, vid);
        ofp__put16(k, vmask);
        names_used[OFPXMT_VLAN_VID] = key;
        return ofpp_set_field(c, m, key, OFPXMT_VLAN_VID, v, k, vmask != 0x1fff) ?: 1;
    }
    if (strcmp(key, "vlan_tci") == 0) {
        names_used[OFPXMT_VLAN_VID] = names_used[OFPXMT_VLAN_PCP] = key;
        return set_vlan_tci(c, m, value) ?: 1;
    }
    if (strcmp(key, "dl_vlan_pcp") == 0 || strcmp(key, "vlan_pcp") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, 7, &n)))
            return rc;
        names_used[OFPXMT_VLAN_PCP] = key;
        return set_uint(c, m, key, OFPXMT_VLAN_PCP, n) ?: 1;
    }
    if (strcmp(key, "nw_tos") == 0) {
        if ((rc = ofpp_parse_num(c, key, value, 0xff, &n)))
            return rc;
        if (n & 3)
            return ofpp_fail(c, "nw_tos: %s has ECN bits set (the low 2 bits must be 0)", value);
        names_used[OFPXMT_IP_DSCP] = key;
        return set_uint(c, m, key, OFPXMT_IP_DSCP, n >> 2) ?: 1;
    }
    if (strcmp(key, "nw_src") == 0 || strcmp(key, "nw_dst") == 0) {
        bool src = key[3] == 's';
        if (eth == 0x0806)
            f = src ? OFPXMT_ARP_SPA : OFPXMT_ARP_TPA;
        else if (eth == 0x0800)
            f = src ? OFPXMT_IPV4_SRC : OFPXMT_IPV4_DST;
        else
            return ofpp_fail(c, "%s: needs ip or arp (dl_type=0x0800 or 0x0806)", key);
    } else if (strcmp(key, "tp_src") == 0 || strcmp(key, "tp_dst") == 0) {
        bool src = key[3] == 's';
        if (proto == 6)
            f = src ? OFPXMT_TCP_SRC : OFPXMT_TCP_DST;
        else if (proto == 17)
            f = src ? OFPXMT_UDP_SRC : OFPXMT_UDP_DST;
        else if (proto == 132)
            f = src ? OFPXMT_SCTP_SRC : OFPXMT_SCTP_DST;
        else
            return ofpp_fail(c, "%s: needs tcp, udp or sctp (nw_proto=6, 17 or 132)", key);
    } else if (strcmp(key, "icmp_type") == 0 || strcmp(key, "icmp_code") == 0) {
        bool type = key[5] == 't';
        if (eth == 0x0800 && proto == 1)
            f = type ? OFPXMT_ICMPV4_TYPE : OFPXMT_ICMPV4_CODE;
        else if (eth == 0x86dd && proto == 58)
            f = type ? OFPXMT_ICMPV6_TYPE : OFPXMT_ICMPV6_CODE;
        else
            return ofpp_fail(c, "%s: needs icmp or icmp6", key);
    } else {
        f = ofpp_field_by_name(key);
        if (f < 0)
            return 0;
        if (f == OFPXMT_ETH_TYPE || f == OFPXMT_IP_PROTO)
            return 1;  /* done in the earlier passes */
    }
    if ((rc = ofpp_parse_value(c, key, (enum ofp_oxm_field)f, value,
                               ofp_oxm_field_maskable((enum ofp_oxm_field)f), v, k, &has_mask)))
        return rc;
    names_used[f] = key;
    return ofpp_set_field(c, m, key, (enum ofp_oxm_field)f, v, k, has_mask) ?: 1;
}

/* After the match is read: implied fields and prerequisites, and what the
 * version can carry, each reported under the user's field name. */
static int finish_match(struct ctx *c, struct ofp_match_fields *m, const char **names_used)
{
    if (m->present >> OFPXMT_VLAN_PCP & 1 && !(m->present >> OFPXMT_VLAN_VID & 1))
        ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_PRESENT, true, OFPVID_PRESENT);
    uint8_t wire10[OFP10_MATCH_LEN];
    enum ofp_err whole = ofp_match_validate(m);
    if (whole == OFPERR_NONE && c->version == OFP10_VERSION)
        whole = ofp_match10_encode(m, wire10);
    if (whole == OFPERR_NONE)
        return 0;
    /* Prerequisites always name lower-numbered fields: add fields in order
     * and the first that breaks a rule is the one at fault. */
    struct ofp_match_fields part;
    ofp_match_init(&part);
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++) {
        if (!(m->present >> f & 1))
            continue;
        uint8_t v[16], k[16];
        ofp_match_get(m, f, v, k);
        ofp_match_set(&part, f, v, m->masked >> f & 1 ? k : NULL);
        const char *name = names_used[f] ? names_used[f] : ofp_oxm_field_name(f);
        enum ofp_err e = ofp_match_validate(&part);
        if (e == OFPERR_OFPBMC_BAD_PREREQ)
            return ofpp_fail(c, "%s: its protocol is missing from the match (e.g. %s needs %s)",
                             name, ofp_oxm_field_name(f),
                             f == OFPXMT_VLAN_PCP ? "a VLAN (dl_vlan)"
                             : f >= OFPXMT_TCP_SRC && f <= OFPXMT_SCTP_DST ? "tcp, udp or sctp"
                             : f == OFPXMT_IPV6_ND_TARGET || f == OFPXMT_IPV6_ND_SLL ||
                                f == OFPXMT_IPV6_ND_TLL
                            ? "icmp6 with icmp_type=135 or 136"
                        : f == OFPXMT_ICMPV6_TYPE || f == OFPXMT_ICMPV6_CODE ? "icmp6"
                        : f == OFPXMT_ICMPV4_TYPE || f == OFPXMT_ICMPV4_CODE ? "icmp"
                        : f >= OFPXMT_ARP_OP && f <= OFPXMT_ARP_THA ? "arp"
                        : f >= OFPXMT_IPV6_SRC ? "ipv6"
                                                  : "ip or ipv6");
        if (e != OFPERR_NONE)
            return ofpp_fail(c, "%s: %s", name, ofp_err_name(e));
        /* (1.0 says "any VLAN" only together with a PCP: checked there) */
        if (c->version == OFP10_VERSION &&
            !(f == OFPXMT_VLAN_VID && m->present >> OFPXMT_VLAN_PCP & 1)) {
            e = ofp_match10_encode(&part, wire10);
            if (e == OFPERR_OFPBMC_BAD_FIELD)
                return ofpp_fail(c, "%s: not in OpenFlow 1.0 matches (-O OpenFlow13)", name);
            if (e != OFPERR_NONE)
                return ofpp_fail(c, "%s: OpenFlow 1.0 cannot express this mask or value (%s)", name,
                                 ofp_err_name(e));
        }
    }
    return ofpp_fail(c, "match: %s", ofp_err_name(whole));
}

/* ---- common entry/exit ---- */

int ofpp_begin(struct ctx *c, const char *text, uint8_t version, struct ofp_msg *msg,
               enum ofp_msg_type type, char **copy)
{
    if (!msg)
        return -EINVAL;
    memset(msg, 0, sizeof(*msg));
    c->version = version;
    c->msg = msg;
    if (!text)
        return -EINVAL;
    if (version != OFP10_VERSION && version != OFP13_VERSION)
        return ofpp_fail(c, "OpenFlow version 0x%02x is not supported (1.0 and 1.3 are)", version);
    msg->version = version;
    msg->type = (uint8_t)type;
    *copy = strdup(text);
    return *copy ? 0 : -ENOMEM;
}

int ofpp_end(struct ctx *c, int rc, char *copy)
{
    free(copy);
    if (rc == 0 && c->failed)
        rc = -EINVAL;
    if (rc == 0) {
        /* What parses must encode: the codec's remaining rules (lengths,
         * group/meter consistency) reported here, not at send time. */
        struct ofp_buf b;
        struct ofp_error e;
        ofp_buf_init(&b);
        if (ofp_encode(c->msg, &b, &e) != 0)
            rc = b.failed ? -ENOMEM
                          : ofpp_fail(c, "%s: %s", ofp_msg_type_name(c->msg->type, c->version),
                                      ofp_err_name(e.err));
        ofp_buf_free(&b);
    }
    if (rc && c->msg) {
        ofp_msg_free(c->msg);
        memset(c->msg, 0, sizeof(*c->msg));
    }
    if (rc == -ENOMEM && c->err && c->errlen)
        snprintf(c->err, c->errlen, "out of memory");
    return rc;
}

/* Split @s at its "actions=" item: returns the action text or NULL. */
char *ofpp_split_actions(char *s)
{
    char *p = ofpp_find_item(s, "actions");
    if (!p)
        return NULL;
    *p = '\0';
    return p + strlen("actions") + 1;
}

/* ---- flows ---- */

struct flow_settings {
    struct ofp_match_fields match;
    uint64_t cookie, cookie_mask;
    bool has_cookie, has_table;
    uint8_t table_id;
    uint16_t priority, idle_timeout, hard_timeout, flags;
    uint32_t out_port, out_group;
};

static const struct {
    const char *name;
    uint16_t flag;
    bool v13_only;
} flow_flags[] = {
    {"send_flow_rem", OFPFF_SEND_FLOW_REM, false},
    {"check_overlap", OFPFF_CHECK_OVERLAP, false},
    {"reset_counts", OFPFF13_RESET_COUNTS, true},
    {"no_packet_counts", OFPFF13_NO_PKT_COUNTS, true},
    {"no_byte_counts", OFPFF13_NO_BYT_COUNTS, true},
};

/* The match and settings part of a flow (before actions=). @is_mod: a
 * flow-mod (flags and timeouts allowed); @cmd its command. */
static int parse_flow_settings(struct ctx *c, char *text, bool is_mod, int cmd,
                               struct flow_settings *fs)
{
    const char *names_used[OFP_OXM_N_FIELDS] = {0};
    char *keys[256], *values[256];
    size_t n = 0;
    char *pos = text, *key, *value;
    while (ofpp_next_item(&pos, &key, &value)) {
        if (n == KK_ARRAY_SIZE(keys))
            return ofpp_fail(c, "too many fields");
        keys[n] = key;
        values[n++] = value;
    }
    ofp_match_init(&fs->match);
    fs->priority = DEFAULT_PRIORITY;
    fs->out_port = OFPP_ANY;
    fs->out_group = OFPG_ANY;
    int rc;
    uint64_t v;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < n; i++) {
            key = keys[i];
            value = values[i];
            if (pass_of(key, value) != pass)
                continue;
            if (pass < 2) {
                if ((rc = match_item(c, pass, key, value, &fs->match, names_used)) < 0)
                    return rc;
                continue;
            }
            bool flag = false;
            for (size_t j = 0; j < KK_ARRAY_SIZE(flow_flags); j++) {
                if (strcmp(key, flow_flags[j].name) != 0)
                    continue;
                flag = true;
                if (!is_mod)
                    return ofpp_fail(c, "%s: only for flow-mods", key);
                if (flow_flags[j].v13_only && !ofpp_is_v13(c))
                    return ofpp_need13(c, key);
                fs->flags |= flow_flags[j].flag;
            }
            if (flag)
                continue;
            if (strcmp(key, "table") == 0) {
                if (strcasecmp(value, "all") == 0)
                    v = OFPTT_ALL;
                else if ((rc = ofpp_parse_num(c, key, value, 0xff, &v)))
                    return rc;
                fs->table_id = (uint8_t)v;
                fs->has_table = true;
            } else if (strcmp(key, "priority") == 0) {
                if ((rc = ofpp_parse_num(c, key, value, 0xffff, &v)))
                    return rc;
                fs->priority = (uint16_t)v;
            } else if (strcmp(key, "idle_timeout") == 0 || strcmp(key, "hard_timeout") == 0) {
                if (!is_mod)
                    return ofpp_fail(c, "%s: only for flow-mods", key);
                if ((rc = ofpp_parse_num(c, key, value, 0xffff, &v)))
                    return rc;
                if (key[0] == 'i')
                    fs->idle_timeout = (uint16_t)v;
                else
                    fs->hard_timeout = (uint16_t)v;
            } else if (strcmp(key, "cookie") == 0) {
                char *slash = strchr(value, '/');
                if (slash)
                    *slash = '\0';
                if ((rc = ofpp_parse_num(c, key, value, UINT64_MAX, &fs->cookie)))
                    return rc;
                fs->has_cookie = true;
                if (slash) {
                    if (cmd == OFPFC_ADD)
                        return ofpp_fail(c, "cookie: add-flow takes no cookie mask");
                    if ((rc = ofpp_parse_num(c, "cookie: mask", slash + 1, UINT64_MAX,
                                             &fs->cookie_mask)))
                        return rc;
                    if (fs->cookie_mask && !ofpp_is_v13(c))
                        return ofpp_fail(c, "cookie: masks need OpenFlow 1.3 (-O OpenFlow13)");
                }
            } else if (strcmp(key, "out_port") == 0) {
                if ((rc = ofpp_port_of(c, key, value, &fs->out_port)))
                    return rc;
            } else if (strcmp(key, "out_group") == 0) {
                if (!ofpp_is_v13(c))
                    return ofpp_need13(c, key);
                if (strcasecmp(value, "any") == 0)
                    v = OFPG_ANY;
                else if (strcasecmp(value, "all") == 0)
                    v = OFPG_ALL;
                else if ((rc = ofpp_parse_num(c, key, value, UINT32_MAX, &v)))
                    return rc;
                fs->out_group = (uint32_t)v;
            } else {
                rc = match_item(c, pass, key, value, &fs->match, names_used);
                if (rc < 0)
                    return rc;
                if (rc == 0)
                    return ofpp_fail(c, "%s: unknown field or setting", key);
            }
        }
    }
    return finish_match(c, &fs->match, names_used);
}

int ofp_parse_flow_mod(const char *text, uint8_t version, enum ofp_flow_mod_command command,
                       const struct ofp_port_names *names, struct ofp_msg *msg, char *err,
                       size_t errlen)
{
    struct ctx c = {.names = names, .err = err, .errlen = errlen};
    char *copy = NULL;
    int rc = ofpp_begin(&c, text, version, msg, OFP_MSG_FLOW_MOD, &copy);
    if (rc)
        return ofpp_end(&c, rc, copy);
    if (command > OFPFC_DELETE_STRICT)
        return ofpp_end(&c, ofpp_fail(&c, "bad flow-mod command %d", command), copy);
    bool del = command == OFPFC_DELETE || command == OFPFC_DELETE_STRICT;
    char *acts = ofpp_split_actions(copy);
    struct flow_settings fs = {0};
    if ((rc = parse_flow_settings(&c, copy, true, command, &fs)))
        return ofpp_end(&c, rc, copy);
    struct ofp_flow_mod *fm = &msg->u.flow_mod;
    fm->match = fs.match;
    fm->cookie = fs.cookie;
    fm->cookie_mask = fs.cookie_mask;
    fm->command = (uint8_t)command;
    fm->idle_timeout = fs.idle_timeout;
    fm->hard_timeout = fs.hard_timeout;
    fm->priority = fs.priority;
    fm->buffer_id = OFP_NO_BUFFER;
    fm->out_port = fs.out_port;
    fm->out_group = ofpp_is_v13(&c) ? fs.out_group : 0;
    fm->flags = fs.flags;
    if (ofpp_is_v13(&c))
        fm->table_id = fs.has_table ? fs.table_id : del ? OFPTT_ALL : 0;
    else if (fs.has_table && fs.table_id != 0 && !(del && fs.table_id == OFPTT_ALL))
        return ofpp_end(
            &c, ofpp_fail(&c, "table: OpenFlow 1.0 flow-mods have no table (-O OpenFlow13)"),
            copy);
    if (!del && fs.table_id == OFPTT_ALL && fs.has_table)
        return ofpp_end(&c, ofpp_fail(&c, "table: a flow is %s in one table, not all",
                                      command == OFPFC_ADD ? "added" : "modified"), copy);
    if (del) {
        if (acts)
            return ofpp_end(&c, ofpp_fail(&c, "actions: not allowed when deleting flows"), copy);
        return ofpp_end(&c, 0, copy);
    }
    if (!acts)
        return ofpp_end(&c, ofpp_fail(&c, "actions: missing (actions=... must come last)"), copy);

    c.match = &fm->match;
    c.vlan_known = fm->match.present >> OFPXMT_VLAN_VID & 1 &&
                   ofp_match_get_uint(&fm->match, OFPXMT_VLAN_VID) & OFPVID_PRESENT;
    struct insts in;
    memset(&in, 0, sizeof(in));
    rc = ofpp_parse_actions(&c, acts, &in.apply, ofpp_is_v13(&c) ? &in : NULL);
    if (rc == 0 && !c.failed) {
        if (ofpp_is_v13(&c))
            rc = ofpp_to_instructions(&c, &in, &fm->instructions);
        else
            rc = ofpp_to_list(&c, &in.apply, &fm->actions);
    }
    free(in.apply.v);
    free(in.write.v);
    if (rc == 0 && !c.failed && ofpp_is_v13(&c) && in.has_goto && fm->table_id != OFPTT_ALL &&
        in.goto_table <= fm->table_id)
        rc = ofpp_fail(&c, "goto_table: %u does not come after table %u", in.goto_table,
                       fm->table_id);
    return ofpp_end(&c, rc, copy);
}

int ofp_parse_flow_stats_request(const char *text, uint8_t version, enum ofp_mp_type mp_type,
                                 const struct ofp_port_names *names, struct ofp_msg *msg,
                                 char *err, size_t errlen)
{
    struct ctx c = {.names = names, .err = err, .errlen = errlen};
    char *copy = NULL;
    int rc = ofpp_begin(&c, text, version, msg, OFP_MSG_MULTIPART_REQUEST, &copy);
    if (rc)
        return ofpp_end(&c, rc, copy);
    if (mp_type != OFPMP_FLOW && mp_type != OFPMP_AGGREGATE)
        return ofpp_end(&c, ofpp_fail(&c, "not a flow statistics request type: %d", mp_type), copy);
    if (ofpp_find_item(copy, "actions"))
        return ofpp_end(&c, ofpp_fail(&c, "actions: not allowed in a flow filter"), copy);
    struct flow_settings fs = {0};
    if ((rc = parse_flow_settings(&c, copy, false, -1, &fs)))
        return ofpp_end(&c, rc, copy);
    struct ofp_multipart *mp = &msg->u.multipart;
    mp->type = (uint16_t)mp_type;
    struct ofp_flow_stats_request *r = &mp->u.flow_req;
    r->match = fs.match;
    r->table_id = fs.has_table ? fs.table_id : OFPTT_ALL;
    r->out_port = fs.out_port;
    if (ofpp_is_v13(&c)) {
        r->out_group = fs.out_group;
        r->cookie = fs.cookie;
        r->cookie_mask = fs.cookie_mask;
        if (fs.has_cookie && !fs.cookie_mask)
            r->cookie_mask = UINT64_MAX;  /* cookie=V alone: that cookie exactly */
    } else if (fs.has_cookie) {
        return ofpp_end(&c, ofpp_fail(&c, "cookie: OpenFlow 1.0 cannot filter on cookies "
                                "(-O OpenFlow13)"), copy);
    }
    return ofpp_end(&c, 0, copy);
}
