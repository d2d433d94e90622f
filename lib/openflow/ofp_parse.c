/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ovs-ofctl text -> flow-mods, flow-stats requests, group-mods,
 * meter-mods and packet-outs (see ofp_parse.h for the syntax and the
 * per-version mapping of actions).
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

#include "kk_common.h"
#include "ofp_internal.h"
#include "ofp_parse.h"

#define DEFAULT_PRIORITY 0x8000
#define CONTROLLER_MAX_LEN 0xffff  /* OFPCML_NO_BUFFER */

struct ctx {
    uint8_t version;
    const struct ofp_port_names *names;
    struct ofp_msg *msg;
    char *err;
    size_t errlen;
    bool failed;
    /* action context: the flow's match (NULL for groups/packet-out) and
     * whether a VLAN tag is known to be there */
    const struct ofp_match_fields *match;
    bool vlan_known;
};

static int fail(struct ctx *c, const char *fmt, ...) KK_PRINTF(2, 3);
static int fail(struct ctx *c, const char *fmt, ...)
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

static bool is_v13(const struct ctx *c)
{
    return c->version == OFP13_VERSION;
}

static int need13(struct ctx *c, const char *what)
{
    return fail(c, "%s: needs OpenFlow 1.3 (-O OpenFlow13)", what);
}

/* ---- items ---- */

static const char SEPARATORS[] = ", \t\r\n";

/*
 * Cut the next item out of *pos: "key", "key=value", "key:value" or
 * "key(value)" (parentheses nest; a value runs to the next separator
 * outside parentheses). *value is "" when there is none. False at the end.
 */
static bool next_item(char **pos, char **key, char **value)
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
static char *find_item(char *s, const char *word)
{
    size_t n = strlen(word);
    for (char *p = s; (p = strstr(p, word)) != NULL; p++) {
        bool starts = p == s || strchr(SEPARATORS, p[-1]);
        if (starts && (p[n] == '=' || p[n] == ':'))
            return p;
    }
    return NULL;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
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

static int parse_num(struct ctx *c, const char *what, const char *s, uint64_t max, uint64_t *out)
{
    if (!parse_u64(s, max, out))
        return fail(c, "%s: '%s' is not a number from 0 to %" PRIu64, what, s, max);
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

static int port_of(struct ctx *c, const char *what, const char *s, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(s, UINT32_MAX, &v)) {
        if (c->version == OFP10_VERSION) {
            if (v > 0xffff)
                return fail(c, "%s: port %s does not fit OpenFlow 1.0's 16 bits", what, s);
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
            return fail(c, "%s: looking up port '%s' failed (%d)", what, s, rc);
    }
    return fail(c, "%s: '%s' is not a port number, a reserved port or a port name", what, s);
}

int ofp_parse_port(const char *text, uint8_t version, const struct ofp_port_names *names,
                   uint32_t *port_no, char *err, size_t errlen)
{
    if (!text || !port_no)
        return -EINVAL;
    struct ctx c = {.version = version, .names = names, .err = err, .errlen = errlen};
    return port_of(&c, "port", text, port_no);
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

static bool parse_mac(const char *s, uint8_t *out)
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
    if (!parse_u64(s, bytes * 8, &n) || strchr(s, 'x') || strchr(s, 'X'))
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
static int parse_value(struct ctx *c, const char *what, enum ofp_oxm_field f, const char *s,
                       bool allow_mask, uint8_t *value, uint8_t *mask, bool *has_mask)
{
    char text[128];
    if (strlen(s) >= sizeof(text))
        return fail(c, "%s: value too long", what);
    strcpy(text, s);
    char *slash = strchr(text, '/');
    *has_mask = false;
    if (slash) {
        if (!allow_mask)
            return fail(c, "%s: takes no mask", what);
        *slash = '\0';
        *has_mask = true;
    }
    unsigned len = ofp_oxm_field_len(f);
    memset(value, 0, 16);
    memset(mask, 0xff, 16);
    switch (kind_of(f)) {
    case VK_PORT: {
        if (slash)
            return fail(c, "%s: takes no mask", what);
        uint32_t p;
        int rc = port_of(c, what, text, &p);
        if (rc)
            return rc;
        ofp__put32(value, p);
        return 0;
    }
    case VK_MAC:
        if (!parse_mac(text, value))
            return fail(c, "%s: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", what, text);
        if (slash && !parse_mac(slash + 1, mask))
            return fail(c, "%s: '%s' is not a MAC mask", what, slash + 1);
        return 0;
    case VK_IPV4:
    case VK_IPV6: {
        int family = kind_of(f) == VK_IPV4 ? AF_INET : AF_INET6;
        if (inet_pton(family, text, value) != 1)
            return fail(c, "%s: '%s' is not an %s address", what, text,
                        family == AF_INET ? "IPv4" : "IPv6");
        if (slash && !prefix_mask(slash + 1, len, mask) &&
            inet_pton(family, slash + 1, mask) != 1)
            return fail(c, "%s: '%s' is neither a prefix length nor an address mask", what,
                        slash + 1);
        return 0;
    }
    case VK_NUM:
        break;
    }
    uint64_t max = len >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * len)) - 1;
    uint64_t v, m = max;
    if (!parse_u64(text, max, &v))
        return fail(c, "%s: '%s' is not a number that fits the field", what, text);
    if (slash && !parse_u64(slash + 1, max, &m))
        return fail(c, "%s: '%s' is not a mask that fits the field", what, slash + 1);
    for (unsigned i = 0; i < len; i++) {
        value[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
        mask[i] = (uint8_t)(m >> (8 * (len - 1 - i)));
    }
    return 0;
}

/* Set @f in @m, checking the value against the field's rules. */
static int set_field(struct ctx *c, struct ofp_match_fields *m, const char *what,
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
        return fail(c, "%s: this field cannot be masked", what);
    case OFPERR_OFPBMC_BAD_WILDCARDS:
        return fail(c, "%s: the value has bits outside the mask", what);
    default:
        return fail(c, "%s: value out of range for the field", what);
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
    return set_field(c, m, what, f, value, mask, false);
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
static int field_by_name(const char *name)
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

static int proto_of(const struct ofp_match_fields *m)
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
    if (!parse_u64(text, 0xffff, &v) || (slash && !parse_u64(slash + 1, 0xffff, &k)))
        return fail(c, "vlan_tci: '%s' is not a 16-bit value[/mask]", s);
    if (v & ~k)
        return fail(c, "vlan_tci: the value has bits outside the mask");
    ofp_match_clear(m, OFPXMT_VLAN_VID);
    ofp_match_clear(m, OFPXMT_VLAN_PCP);
    if (k == 0)
        return 0;
    if (!(k & 0x1000))
        return fail(c, "vlan_tci: the mask must include the CFI bit 0x1000");
    if (!(v & 0x1000)) {
        if (v)
            return fail(c, "vlan_tci: without the CFI bit the value must be 0 (no VLAN)");
        ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_NONE, false, 0);
        return 0;
    }
    uint64_t vid_mask = k & 0x1fff;
    ofp_match_set_uint(m, OFPXMT_VLAN_VID, v & 0x1fff, vid_mask != 0x1fff, vid_mask);
    uint64_t pcp_mask = k >> 13;
    if (pcp_mask == 7)
        ofp_match_set_uint(m, OFPXMT_VLAN_PCP, v >> 13, false, 0);
    else if (pcp_mask)
        return fail(c, "vlan_tci: the priority bits must be masked all or nothing");
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
        int rc = parse_num(c, key, value, 0xffff, &v);
        if (rc)
            return rc;
        names_used[OFPXMT_ETH_TYPE] = key;
        return set_uint(c, m, key, OFPXMT_ETH_TYPE, v) ?: 1;
    }
    if (pass == 1) {
        uint64_t v;
        int rc = parse_num(c, key, value, 0xff, &v);
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
    int proto = proto_of(m);

    if (strcmp(key, "dl_vlan") == 0) {
        if ((rc = parse_num(c, key, value, 0xffff, &n)))
            return rc;
        if (n == 0xffff) {
            ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_NONE, false, 0);
        } else if (n > 0xfff) {
            return fail(c, "dl_vlan: %s is not a VLAN id (0-4095, or 0xffff for none)", value);
        } else {
            ofp_match_set_uint(m, OFPXMT_VLAN_VID, OFPVID_PRESENT | n, false, 0);
        }
        names_used[OFPXMT_VLAN_VID] = key;
        return 1;
    }
    if (strcmp(key, "vlan_vid") == 0) {
        if ((rc = parse_value(c, key, OFPXMT_VLAN_VID, value, true, v, k, &has_mask)))
            return rc;
        uint16_t vid = ofp__get16(v), vmask = has_mask ? ofp__get16(k) : 0x1fff;
        /* ovs-ofctl's vlan_vid is the 12-bit id: the tag must be present,
         * unless the text spells out the CFI bit itself */
        if (!((vid | vmask) & OFPVID_PRESENT) || !has_mask) {
            if (vid > 0xfff)
                return fail(c, "vlan_vid: %s is not a VLAN id (0-4095)", value);
            vid |= OFPVID_PRESENT;
            vmask = has_mask ? (uint16_t)(vmask | OFPVID_PRESENT) : 0x1fff;
        }
        ofp__put16(v, vid);
        ofp__put16(k, vmask);
        names_used[OFPXMT_VLAN_VID] = key;
        return set_field(c, m, key, OFPXMT_VLAN_VID, v, k, vmask != 0x1fff) ?: 1;
    }
    if (strcmp(key, "vlan_tci") == 0) {
        names_used[OFPXMT_VLAN_VID] = names_used[OFPXMT_VLAN_PCP] = key;
        return set_vlan_tci(c, m, value) ?: 1;
    }
    if (strcmp(key, "dl_vlan_pcp") == 0 || strcmp(key, "vlan_pcp") == 0) {
        if ((rc = parse_num(c, key, value, 7, &n)))
            return rc;
        names_used[OFPXMT_VLAN_PCP] = key;
        return set_uint(c, m, key, OFPXMT_VLAN_PCP, n) ?: 1;
    }
    if (strcmp(key, "nw_tos") == 0) {
        if ((rc = parse_num(c, key, value, 0xff, &n)))
            return rc;
        if (n & 3)
            return fail(c, "nw_tos: %s has ECN bits set (the low 2 bits must be 0)", value);
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
            return fail(c, "%s: needs ip or arp (dl_type=0x0800 or 0x0806)", key);
    } else if (strcmp(key, "tp_src") == 0 || strcmp(key, "tp_dst") == 0) {
        bool src = key[3] == 's';
        if (proto == 6)
            f = src ? OFPXMT_TCP_SRC : OFPXMT_TCP_DST;
        else if (proto == 17)
            f = src ? OFPXMT_UDP_SRC : OFPXMT_UDP_DST;
        else if (proto == 132)
            f = src ? OFPXMT_SCTP_SRC : OFPXMT_SCTP_DST;
        else
            return fail(c, "%s: needs tcp, udp or sctp (nw_proto=6, 17 or 132)", key);
    } else if (strcmp(key, "icmp_type") == 0 || strcmp(key, "icmp_code") == 0) {
        bool type = key[5] == 't';
        if (eth == 0x0800 && proto == 1)
            f = type ? OFPXMT_ICMPV4_TYPE : OFPXMT_ICMPV4_CODE;
        else if (eth == 0x86dd && proto == 58)
            f = type ? OFPXMT_ICMPV6_TYPE : OFPXMT_ICMPV6_CODE;
        else
            return fail(c, "%s: needs icmp or icmp6", key);
    } else {
        f = field_by_name(key);
        if (f < 0)
            return 0;
        if (f == OFPXMT_ETH_TYPE || f == OFPXMT_IP_PROTO)
            return 1;  /* done in the earlier passes */
    }
    if ((rc = parse_value(c, key, (enum ofp_oxm_field)f, value,
                          ofp_oxm_field_maskable((enum ofp_oxm_field)f), v, k, &has_mask)))
        return rc;
    names_used[f] = key;
    return set_field(c, m, key, (enum ofp_oxm_field)f, v, k, has_mask) ?: 1;
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
            return fail(c, "%s: its protocol is missing from the match (e.g. %s needs %s)", name,
                        ofp_oxm_field_name(f),
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
            return fail(c, "%s: %s", name, ofp_err_name(e));
        /* (1.0 says "any VLAN" only together with a PCP: checked there) */
        if (c->version == OFP10_VERSION &&
            !(f == OFPXMT_VLAN_VID && m->present >> OFPXMT_VLAN_PCP & 1)) {
            e = ofp_match10_encode(&part, wire10);
            if (e == OFPERR_OFPBMC_BAD_FIELD)
                return fail(c, "%s: not in OpenFlow 1.0 matches (-O OpenFlow13)", name);
            if (e != OFPERR_NONE)
                return fail(c, "%s: OpenFlow 1.0 cannot express this mask or value (%s)", name,
                            ofp_err_name(e));
        }
    }
    return fail(c, "match: %s", ofp_err_name(whole));
}

/* ---- actions ---- */

struct actvec {
    struct ofp_action *v;
    size_t n, cap;
};

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
    if (parse_u64(value, 0xffff, &n)) {
        *max_len = (uint16_t)n;
        return 0;
    }
    char *pos = value, *k, *v;
    while (next_item(&pos, &k, &v)) {
        if (strcmp(k, "max_len") == 0) {
            int rc = parse_num(c, "controller: max_len", v, 0xffff, &n);
            if (rc)
                return rc;
            *max_len = (uint16_t)n;
        } else {
            return fail(c, "controller: '%s' is not supported (only max_len)", k);
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
        int proto = c->match ? proto_of(c->match) : -1;
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
    return field_by_name(name);
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
        return fail(c, "%s: OpenFlow 1.0 cannot set %s (-O OpenFlow13)", what,
                    ofp_oxm_field_name(f));
    }
}

static int action_set_field(struct ctx *c, struct actvec *a, char *value)
{
    char *arrow = strstr(value, "->");
    if (!arrow)
        return fail(c, "set_field: expected VALUE->FIELD, not '%s'", value);
    *arrow = '\0';
    const char *name = arrow + 2;
    int f = set_field_target(c, name);
    if (f == -2)
        return fail(c, "set_field: use ip_dscp (nw_tos is not an OXM field)");
    if (f == -3)
        return fail(c, "set_field: %s needs tcp, udp or sctp in the match", name);
    if (f < 0)
        return fail(c, "set_field: unknown field '%s'", name);
    uint8_t v[16], k[16];
    bool has_mask;
    char what[64];
    snprintf(what, sizeof(what), "set_field %s", name);
    int rc = parse_value(c, what, (enum ofp_oxm_field)f, value, false, v, k, &has_mask);
    if (rc)
        return rc;
    if (f == OFPXMT_VLAN_VID) {
        uint16_t vid = ofp__get16(v);
        if ((vid & 0xfff) != (vid & ~OFPVID_PRESENT))
            return fail(c, "%s: %s is not a VLAN id", what, value);
        ofp__put16(v, vid | OFPVID_PRESENT);
    }
    if (ofp__oxm_check_field((unsigned)f, v, NULL) != OFPERR_NONE)
        return fail(c, "%s: value out of range for the field", what);
    if (!is_v13(c))
        return set_field10(c, a, what, (enum ofp_oxm_field)f, v);
    if (f == OFPXMT_VLAN_VID)
        c->vlan_known = true;
    return push_set_field(c, a, (enum ofp_oxm_field)f, v);
}

static int mac_action(struct ctx *c, struct actvec *a, const char *key, const char *value,
                      bool src)
{
    uint8_t mac[6];
    if (!parse_mac(value, mac))
        return fail(c, "%s: '%s' is not a MAC address", key, value);
    if (is_v13(c))
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
        return fail(c, "%s: '%s' is not an IPv4 address", key, value);
    if (is_v13(c))
        return push_set_field(c, a, src ? OFPXMT_IPV4_SRC : OFPXMT_IPV4_DST, ip);
    struct ofp_action *x = PUSH(src ? OFPACT_SET_NW_SRC : OFPACT_SET_NW_DST);
    x->ipv4 = ofp__get32(ip);
    return 0;
}

static int tp_action(struct ctx *c, struct actvec *a, const char *key, const char *value,
                     bool src)
{
    uint64_t n;
    int rc = parse_num(c, key, value, 0xffff, &n);
    if (rc)
        return rc;
    if (!is_v13(c)) {
        struct ofp_action *x = PUSH(src ? OFPACT_SET_TP_SRC : OFPACT_SET_TP_DST);
        x->tp_port = (uint16_t)n;
        return 0;
    }
    int proto = c->match ? proto_of(c->match) : -1;
    enum ofp_oxm_field f;
    if (proto == 6)
        f = src ? OFPXMT_TCP_SRC : OFPXMT_TCP_DST;
    else if (proto == 17)
        f = src ? OFPXMT_UDP_SRC : OFPXMT_UDP_DST;
    else if (proto == 132)
        f = src ? OFPXMT_SCTP_SRC : OFPXMT_SCTP_DST;
    else
        return fail(c, "%s: in OpenFlow 1.3 the match must say tcp, udp or sctp "
                       "(or use set_field:N->tcp_src)", key);
    return push_set_field_uint(c, a, f, n);
}

/* Ethertype argument of push_vlan/push_mpls/pop_mpls/push_pbb. */
static int ethertype_action(struct ctx *c, struct actvec *a, const char *key, const char *value,
                            enum ofp_action_kind kind)
{
    uint64_t n;
    int rc = parse_num(c, key, value, 0xffff, &n);
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
            if (!is_v13(c))
                return fail(c, "%s: needs OpenFlow 1.3 (-O OpenFlow13; Open vSwitch uses a "
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
            while (next_item(&pos, &k, &v)) {
                if (strcmp(k, "port") == 0)
                    p = v;
                else if (strcmp(k, "max_len") == 0 &&
                         (rc = parse_num(c, "output: max_len", v, 0xffff, &n)) == 0)
                    max_len = (uint16_t)n;
                else
                    return rc ? rc : fail(c, "output: unknown setting '%s'", k);
            }
            if (!p)
                return fail(c, "output: port missing");
        }
        if ((rc = port_of(c, "output", p, &port)))
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
        if ((rc = parse_num(c, key, value, 0xfff, &n)))
            return rc;
        if (is_v13(c))
            return ensure_vlan(c, a) ?: push_set_field_uint(c, a, OFPXMT_VLAN_VID,
                                                            OFPVID_PRESENT | n);
        x = PUSH(OFPACT_SET_VLAN_VID);
        x->vlan_vid = (uint16_t)n;
        return 0;
    }
    if (strcmp(key, "mod_vlan_pcp") == 0 || strcmp(key, "set_vlan_pcp") == 0) {
        if ((rc = parse_num(c, key, value, 7, &n)))
            return rc;
        if (is_v13(c))
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
        if ((rc = parse_num(c, key, value, 0xff, &n)))
            return rc;
        if (n & 3)
            return fail(c, "mod_nw_tos: %s has ECN bits set (the low 2 bits must be 0)", value);
        if (is_v13(c))
            return push_set_field_uint(c, a, OFPXMT_IP_DSCP, n >> 2);
        x = PUSH(OFPACT_SET_NW_TOS);
        x->nw_tos = (uint8_t)n;
        return 0;
    }
    if (strcmp(key, "mod_nw_ecn") == 0) {
        if ((rc = parse_num(c, key, value, 3, &n)))
            return rc;
        if (!is_v13(c))
            return need13(c, key);
        return push_set_field_uint(c, a, OFPXMT_IP_ECN, n);
    }
    if (strcmp(key, "mod_nw_ttl") == 0 || strcmp(key, "set_mpls_ttl") == 0) {
        if ((rc = parse_num(c, key, value, 0xff, &n)))
            return rc;
        if (!is_v13(c))
            return need13(c, key);
        x = PUSH(key[4] == 'n' ? OFPACT_SET_NW_TTL : OFPACT_SET_MPLS_TTL);
        x->ttl = (uint8_t)n;
        return 0;
    }
    if (strcmp(key, "set_field") == 0)
        return action_set_field(c, a, value);
    if (strcmp(key, "push_vlan") == 0 || strcmp(key, "push_mpls") == 0 ||
        strcmp(key, "pop_mpls") == 0 || strcmp(key, "push_pbb") == 0) {
        if (!is_v13(c))
            return need13(c, key);
        enum ofp_action_kind k = strcmp(key, "push_vlan") == 0   ? OFPACT_PUSH_VLAN
                                 : strcmp(key, "push_mpls") == 0 ? OFPACT_PUSH_MPLS
                                 : strcmp(key, "pop_mpls") == 0  ? OFPACT_POP_MPLS
                                                                 : OFPACT_PUSH_PBB;
        return ethertype_action(c, a, key, value, k);
    }
    if (strcmp(key, "group") == 0 || strcmp(key, "set_queue") == 0) {
        if ((rc = parse_num(c, key, value, UINT32_MAX, &n)))
            return rc;
        if (!is_v13(c))
            return fail(c, "%s: needs OpenFlow 1.3 (-O OpenFlow13)%s", key,
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
            return fail(c, "enqueue: expected PORT:QUEUE, not '%s'", value);
        *sep = '\0';
        uint32_t port;
        if ((rc = port_of(c, "enqueue", value, &port)) ||
            (rc = parse_num(c, "enqueue: queue", sep + 1, UINT32_MAX, &n)))
            return rc;
        if (is_v13(c)) {  /* as ovs-ofctl: set_queue, then output */
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
        if (port_of(&probe, key, key, &port) == 0)
            return output(c, a, port, CONTROLLER_MAX_LEN);
    }
    return fail(c, "%s: unknown action", key);
}

/* Instructions being collected (1.3). */
struct insts {
    struct actvec apply, write;
    bool has_write, has_clear, has_goto, has_metadata, has_meter;
    uint8_t goto_table;
    uint64_t metadata, metadata_mask;
    uint32_t meter;
};

static int once(struct ctx *c, bool *seen, const char *what)
{
    if (*seen)
        return fail(c, "%s: given twice", what);
    *seen = true;
    return 0;
}

/*
 * Parse an action list into @a; when @in (1.3 flows) is not NULL,
 * instructions are accepted too and @a is in->apply.
 */
static int parse_actions(struct ctx *c, char *text, struct actvec *a, struct insts *in)
{
    char *pos = text, *key, *value;
    int rc;
    uint64_t n;
    while (next_item(&pos, &key, &value)) {
        bool instruction = strcmp(key, "write_actions") == 0 ||
                           strcmp(key, "clear_actions") == 0 ||
                           strcmp(key, "goto_table") == 0 ||
                           strcmp(key, "write_metadata") == 0 || strcmp(key, "meter") == 0 ||
                           strcmp(key, "apply_actions") == 0;
        if (instruction && !is_v13(c))
            return need13(c, key);
        if (instruction && !in)
            return fail(c, "%s: an instruction is not allowed here (only actions)", key);
        if (strcmp(key, "apply_actions") == 0) {
            rc = parse_actions(c, value, &in->apply, NULL);
        } else if (strcmp(key, "write_actions") == 0) {
            if ((rc = once(c, &in->has_write, key)))
                return rc;
            rc = parse_actions(c, value, &in->write, NULL);
        } else if (strcmp(key, "clear_actions") == 0) {
            rc = once(c, &in->has_clear, key);
        } else if (strcmp(key, "goto_table") == 0) {
            if ((rc = once(c, &in->has_goto, key)) ||
                (rc = parse_num(c, key, value, 0xff, &n)))
                return rc;
            in->goto_table = (uint8_t)n;
        } else if (strcmp(key, "meter") == 0) {
            if ((rc = once(c, &in->has_meter, key)) ||
                (rc = parse_num(c, key, value, UINT32_MAX, &n)))
                return rc;
            in->meter = (uint32_t)n;
        } else if (strcmp(key, "write_metadata") == 0) {
            if ((rc = once(c, &in->has_metadata, key)))
                return rc;
            char *slash = strchr(value, '/');
            in->metadata_mask = UINT64_MAX;
            if (slash)
                *slash = '\0';
            if ((rc = parse_num(c, key, value, UINT64_MAX, &in->metadata)) ||
                (slash && (rc = parse_num(c, "write_metadata: mask", slash + 1, UINT64_MAX,
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
            return fail(c, "%s: %s", ofp_action_kind_name(a->v[i].kind), ofp_err_name(e));
    }
    return 0;
}

static int to_list(struct ctx *c, const struct actvec *a, struct ofp_action_list *out)
{
    out->n = a->n;
    out->actions = NULL;
    if (!a->n)
        return 0;
    out->actions = ofp__memdup(&c->msg->arena, a->v, a->n * sizeof(*a->v));
    return out->actions ? 0 : -ENOMEM;
}

/* Instructions in the order OpenFlow runs them (and OVS prints them). */
static int to_instructions(struct ctx *c, struct insts *in, struct ofp_instruction_list *out)
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
        if (to_list(c, &in->apply, &v[n++].actions))
            return -ENOMEM;
    }
    if (in->has_clear)
        v[n++].type = OFPIT_CLEAR_ACTIONS;
    if (in->has_write) {
        v[n].type = OFPIT_WRITE_ACTIONS;
        if (to_list(c, &in->write, &v[n++].actions))
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

/* ---- common entry/exit ---- */

static int begin(struct ctx *c, const char *text, uint8_t version, struct ofp_msg *msg,
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
        return fail(c, "OpenFlow version 0x%02x is not supported (1.0 and 1.3 are)", version);
    msg->version = version;
    msg->type = (uint8_t)type;
    *copy = strdup(text);
    return *copy ? 0 : -ENOMEM;
}

static int end(struct ctx *c, int rc, char *copy)
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
                          : fail(c, "%s: %s", ofp_msg_type_name(c->msg->type, c->version),
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
static char *split_actions(char *s)
{
    char *p = find_item(s, "actions");
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
    while (next_item(&pos, &key, &value)) {
        if (n == KK_ARRAY_SIZE(keys))
            return fail(c, "too many fields");
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
                    return fail(c, "%s: only for flow-mods", key);
                if (flow_flags[j].v13_only && !is_v13(c))
                    return need13(c, key);
                fs->flags |= flow_flags[j].flag;
            }
            if (flag)
                continue;
            if (strcmp(key, "table") == 0) {
                if (strcasecmp(value, "all") == 0)
                    v = OFPTT_ALL;
                else if ((rc = parse_num(c, key, value, 0xff, &v)))
                    return rc;
                fs->table_id = (uint8_t)v;
                fs->has_table = true;
            } else if (strcmp(key, "priority") == 0) {
                if ((rc = parse_num(c, key, value, 0xffff, &v)))
                    return rc;
                fs->priority = (uint16_t)v;
            } else if (strcmp(key, "idle_timeout") == 0 || strcmp(key, "hard_timeout") == 0) {
                if (!is_mod)
                    return fail(c, "%s: only for flow-mods", key);
                if ((rc = parse_num(c, key, value, 0xffff, &v)))
                    return rc;
                if (key[0] == 'i')
                    fs->idle_timeout = (uint16_t)v;
                else
                    fs->hard_timeout = (uint16_t)v;
            } else if (strcmp(key, "cookie") == 0) {
                char *slash = strchr(value, '/');
                if (slash)
                    *slash = '\0';
                if ((rc = parse_num(c, key, value, UINT64_MAX, &fs->cookie)))
                    return rc;
                fs->has_cookie = true;
                if (slash) {
                    if (cmd == OFPFC_ADD)
                        return fail(c, "cookie: add-flow takes no cookie mask");
                    if ((rc = parse_num(c, "cookie: mask", slash + 1, UINT64_MAX,
                                        &fs->cookie_mask)))
                        return rc;
                    if (fs->cookie_mask && !is_v13(c))
                        return fail(c, "cookie: masks need OpenFlow 1.3 (-O OpenFlow13)");
                }
            } else if (strcmp(key, "out_port") == 0) {
                if ((rc = port_of(c, key, value, &fs->out_port)))
                    return rc;
            } else if (strcmp(key, "out_group") == 0) {
                if (!is_v13(c))
                    return need13(c, key);
                if (strcasecmp(value, "any") == 0)
                    v = OFPG_ANY;
                else if (strcasecmp(value, "all") == 0)
                    v = OFPG_ALL;
                else if ((rc = parse_num(c, key, value, UINT32_MAX, &v)))
                    return rc;
                fs->out_group = (uint32_t)v;
            } else {
                rc = match_item(c, pass, key, value, &fs->match, names_used);
                if (rc < 0)
                    return rc;
                if (rc == 0)
                    return fail(c, "%s: unknown field or setting", key);
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
    int rc = begin(&c, text, version, msg, OFP_MSG_FLOW_MOD, &copy);
    if (rc)
        return end(&c, rc, copy);
    if (command > OFPFC_DELETE_STRICT)
        return end(&c, fail(&c, "bad flow-mod command %d", command), copy);
    bool del = command == OFPFC_DELETE || command == OFPFC_DELETE_STRICT;
    char *acts = split_actions(copy);
    struct flow_settings fs = {0};
    if ((rc = parse_flow_settings(&c, copy, true, command, &fs)))
        return end(&c, rc, copy);
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
    fm->out_group = is_v13(&c) ? fs.out_group : 0;
    fm->flags = fs.flags;
    if (is_v13(&c))
        fm->table_id = fs.has_table ? fs.table_id : del ? OFPTT_ALL : 0;
    else if (fs.has_table && fs.table_id != 0 && !(del && fs.table_id == OFPTT_ALL))
        return end(&c, fail(&c, "table: OpenFlow 1.0 flow-mods have no table (-O OpenFlow13)"),
                   copy);
    if (!del && fs.table_id == OFPTT_ALL && fs.has_table)
        return end(&c, fail(&c, "table: a flow is %s in one table, not all",
                            command == OFPFC_ADD ? "added" : "modified"), copy);
    if (del) {
        if (acts)
            return end(&c, fail(&c, "actions: not allowed when deleting flows"), copy);
        return end(&c, 0, copy);
    }
    if (!acts)
        return end(&c, fail(&c, "actions: missing (actions=... must come last)"), copy);

    c.match = &fm->match;
    c.vlan_known = fm->match.present >> OFPXMT_VLAN_VID & 1 &&
                   ofp_match_get_uint(&fm->match, OFPXMT_VLAN_VID) & OFPVID_PRESENT;
    struct insts in;
    memset(&in, 0, sizeof(in));
    rc = parse_actions(&c, acts, &in.apply, is_v13(&c) ? &in : NULL);
    if (rc == 0 && !c.failed) {
        if (is_v13(&c))
            rc = to_instructions(&c, &in, &fm->instructions);
        else
            rc = to_list(&c, &in.apply, &fm->actions);
    }
    free(in.apply.v);
    free(in.write.v);
    if (rc == 0 && !c.failed && is_v13(&c) && in.has_goto && fm->table_id != OFPTT_ALL &&
        in.goto_table <= fm->table_id)
        rc = fail(&c, "goto_table: %u does not come after table %u", in.goto_table,
                  fm->table_id);
    return end(&c, rc, copy);
}

int ofp_parse_flow_stats_request(const char *text, uint8_t version, enum ofp_mp_type mp_type,
                                 const struct ofp_port_names *names, struct ofp_msg *msg,
                                 char *err, size_t errlen)
{
    struct ctx c = {.names = names, .err = err, .errlen = errlen};
    char *copy = NULL;
    int rc = begin(&c, text, version, msg, OFP_MSG_MULTIPART_REQUEST, &copy);
    if (rc)
        return end(&c, rc, copy);
    if (mp_type != OFPMP_FLOW && mp_type != OFPMP_AGGREGATE)
        return end(&c, fail(&c, "not a flow statistics request type: %d", mp_type), copy);
    if (find_item(copy, "actions"))
        return end(&c, fail(&c, "actions: not allowed in a flow filter"), copy);
    struct flow_settings fs = {0};
    if ((rc = parse_flow_settings(&c, copy, false, -1, &fs)))
        return end(&c, rc, copy);
    struct ofp_multipart *mp = &msg->u.multipart;
    mp->type = (uint16_t)mp_type;
    struct ofp_flow_stats_request *r = &mp->u.flow_req;
    r->match = fs.match;
    r->table_id = fs.has_table ? fs.table_id : OFPTT_ALL;
    r->out_port = fs.out_port;
    if (is_v13(&c)) {
        r->out_group = fs.out_group;
        r->cookie = fs.cookie;
        r->cookie_mask = fs.cookie_mask;
        if (fs.has_cookie && !fs.cookie_mask)
            r->cookie_mask = UINT64_MAX;  /* cookie=V alone: that cookie exactly */
    } else if (fs.has_cookie) {
        return end(&c, fail(&c, "cookie: OpenFlow 1.0 cannot filter on cookies "
                                "(-O OpenFlow13)"), copy);
    }
    return end(&c, 0, copy);
}

/* ---- groups ---- */

static const char *const group_type_names[] = {"all", "select", "indirect", "ff"};

/* Split @s into the part before the first "WORD=" item and the items that
 * each begin with "WORD=" (NUL-cut; the word itself removed). */
static size_t split_repeated(char *s, const char *word, char **parts, size_t max)
{
    size_t n = 0;
    char *p = find_item(s, word);
    while (p && n < max) {
        *p = '\0';
        char *start = p + strlen(word) + 1;
        parts[n++] = start;
        p = find_item(start, word);
    }
    return p ? max + 1 : n;
}

/* One bucket setting: 1 handled, 0 not a setting, < 0 error. */
static int bucket_setting(struct ctx *c, const char *key, const char *value,
                          struct ofp_bucket *b)
{
    uint64_t v;
    int rc;
    if (strcmp(key, "weight") == 0) {
        if ((rc = parse_num(c, "bucket weight", value, 0xffff, &v)))
            return rc;
        b->weight = (uint16_t)v;
    } else if (strcmp(key, "watch_port") == 0) {
        if ((rc = port_of(c, "bucket watch_port", value, &b->watch_port)))
            return rc;
    } else if (strcmp(key, "watch_group") == 0) {
        if (strcasecmp(value, "any") == 0)
            v = OFPG_ANY;
        else if ((rc = parse_num(c, "bucket watch_group", value, UINT32_MAX, &v)))
            return rc;
        b->watch_group = (uint32_t)v;
    } else if (strcmp(key, "bucket_id") != 0) {
        return 0;
    }
    return 1;
}

/* "SETTINGS,actions=A" or "SETTINGS,A" (the first item that is not a
 * setting starts the actions). */
static int parse_bucket(struct ctx *c, char *text, uint8_t type, struct ofp_bucket *b)
{
    b->weight = type == OFPGT_SELECT ? 1 : 0;
    b->watch_port = OFPP_ANY;
    b->watch_group = OFPG_ANY;
    char *acts = split_actions(text);
    char *scan = strdup(text);
    if (!scan)
        return -ENOMEM;
    char *pos = scan, *key, *value;
    int rc = 0;
    for (;;) {
        char *before = pos;
        if (!next_item(&pos, &key, &value))
            break;
        rc = bucket_setting(c, key, value, b);
        if (rc < 0)
            break;
        if (rc == 0) {
            if (acts) {
                rc = fail(c, "bucket: unknown setting '%s'", key);
                break;
            }
            acts = text + (before - scan);
            rc = 0;
            break;
        }
        rc = 0;
    }
    free(scan);
    if (rc)
        return rc;
    if (b->weight && type != OFPGT_SELECT)
        return fail(c, "bucket weight: only select groups have weights");
    char empty[1] = "";
    struct actvec a = {0};
    c->vlan_known = false;
    rc = parse_actions(c, acts ? acts : empty, &a, NULL);
    if (rc == 0)
        rc = to_list(c, &a, &b->actions);
    free(a.v);
    return rc;
}

int ofp_parse_group_mod(const char *text, uint8_t version, enum ofp_group_mod_command command,
                        const struct ofp_port_names *names, struct ofp_msg *msg, char *err,
                        size_t errlen)
{
    struct ctx c = {.names = names, .err = err, .errlen = errlen};
    char *copy = NULL;
    int rc = begin(&c, text, version, msg, OFP_MSG_GROUP_MOD, &copy);
    if (rc)
        return end(&c, rc, copy);
    if (version != OFP13_VERSION)
        return end(&c, fail(&c, "groups: need OpenFlow 1.3 (-O OpenFlow13)"), copy);
    if (command > OFPGC_DELETE)
        return end(&c, fail(&c, "bad group-mod command %d", command), copy);
    struct ofp_group_mod *g = &msg->u.group_mod;
    g->command = (uint16_t)command;
    char *buckets[1024];
    size_t nb = split_repeated(copy, "bucket", buckets, KK_ARRAY_SIZE(buckets));
    if (nb > KK_ARRAY_SIZE(buckets))
        return end(&c, fail(&c, "bucket: too many buckets"), copy);
    bool has_id = false;
    char *pos = copy, *key, *value;
    uint64_t v;
    while (next_item(&pos, &key, &value)) {
        if (strcmp(key, "group_id") == 0) {
            if (strcasecmp(value, "all") == 0)
                v = OFPG_ALL;
            else if ((rc = parse_num(&c, key, value, UINT32_MAX, &v)))
                return end(&c, rc, copy);
            g->group_id = (uint32_t)v;
            has_id = true;
        } else if (strcmp(key, "type") == 0) {
            size_t t = 0;
            while (t < KK_ARRAY_SIZE(group_type_names) && strcmp(value, group_type_names[t]))
                t++;
            if (t == KK_ARRAY_SIZE(group_type_names))
                return end(&c, fail(&c, "type: '%s' is not all, select, indirect or ff",
                                    value), copy);
            g->type = (uint8_t)t;
        } else {
            return end(&c, fail(&c, "%s: unknown group setting", key), copy);
        }
    }
    if (command == OFPGC_DELETE) {
        if (nb)
            return end(&c, fail(&c, "bucket: not allowed when deleting groups"), copy);
        if (!has_id)
            g->group_id = OFPG_ALL;
        return end(&c, 0, copy);
    }
    if (!has_id)
        return end(&c, fail(&c, "group_id: missing"), copy);
    if (g->group_id > OFPG_MAX)
        return end(&c, fail(&c, "group_id: %" PRIu32 " is reserved", g->group_id), copy);
    if (nb) {
        g->buckets = ofp__alloc(&msg->arena, nb * sizeof(*g->buckets));
        if (!g->buckets)
            return end(&c, -ENOMEM, copy);
        g->n_buckets = nb;
        for (size_t i = 0; i < nb; i++)
            if ((rc = parse_bucket(&c, buckets[i], g->type, &g->buckets[i])))
                return end(&c, rc, copy);
    }
    return end(&c, 0, copy);
}

/* ---- meters ---- */

int ofp_parse_meter_mod(const char *text, uint8_t version, enum ofp_meter_mod_command command,
                        struct ofp_msg *msg, char *err, size_t errlen)
{
    struct ctx c = {.err = err, .errlen = errlen};
    char *copy = NULL;
    int rc = begin(&c, text, version, msg, OFP_MSG_METER_MOD, &copy);
    if (rc)
        return end(&c, rc, copy);
    if (version != OFP13_VERSION)
        return end(&c, fail(&c, "meters: need OpenFlow 1.3 (-O OpenFlow13)"), copy);
    if (command > OFPMC_DELETE)
        return end(&c, fail(&c, "bad meter-mod command %d", command), copy);
    struct ofp_meter_mod *mm = &msg->u.meter_mod;
    mm->command = (uint16_t)command;
    char *bands[64];
    /* ovs-ofctl also takes "bands=type=drop,...": the same as "band=" */
    char *bs = find_item(copy, "bands");
    if (bs)
        memmove(bs + 4, bs + 5, strlen(bs + 5) + 1);
    size_t nb = split_repeated(copy, "band", bands, KK_ARRAY_SIZE(bands));
    if (nb > KK_ARRAY_SIZE(bands))
        return end(&c, fail(&c, "band: too many bands"), copy);
    bool has_id = false;
    char *pos = copy, *key, *value;
    uint64_t v;
    while (next_item(&pos, &key, &value)) {
        if (strcmp(key, "meter") == 0) {
            if (strcasecmp(value, "all") == 0)
                v = OFPM_ALL;
            else if ((rc = parse_num(&c, key, value, UINT32_MAX, &v)))
                return end(&c, rc, copy);
            mm->meter_id = (uint32_t)v;
            has_id = true;
        } else if (strcmp(key, "kbps") == 0 && !*value) {
            mm->flags |= OFPMF_KBPS;
        } else if (strcmp(key, "pktps") == 0 && !*value) {
            mm->flags |= OFPMF_PKTPS;
        } else if (strcmp(key, "burst") == 0 && !*value) {
            mm->flags |= OFPMF_BURST;
        } else if (strcmp(key, "stats") == 0 && !*value) {
            mm->flags |= OFPMF_STATS;
        } else {
            return end(&c, fail(&c, "%s: unknown meter setting", key), copy);
        }
    }
    if (command == OFPMC_DELETE) {
        if (nb)
            return end(&c, fail(&c, "band: not allowed when deleting meters"), copy);
        if (!has_id)
            mm->meter_id = OFPM_ALL;
        mm->flags = 0;
        return end(&c, 0, copy);
    }
    if (!has_id)
        return end(&c, fail(&c, "meter: missing"), copy);
    if (mm->meter_id == 0 || mm->meter_id > OFPM_MAX)
        return end(&c, fail(&c, "meter: %" PRIu32 " is not a meter id (1..0x%x)", mm->meter_id,
                            OFPM_MAX), copy);
    if ((mm->flags & (OFPMF_KBPS | OFPMF_PKTPS)) == (OFPMF_KBPS | OFPMF_PKTPS))
        return end(&c, fail(&c, "kbps/pktps: choose one"), copy);
    if (!(mm->flags & OFPMF_PKTPS))
        mm->flags |= OFPMF_KBPS;
    if (nb) {
        mm->bands = ofp__alloc(&msg->arena, nb * sizeof(*mm->bands));
        if (!mm->bands)
            return end(&c, -ENOMEM, copy);
        mm->n_bands = nb;
    }
    for (size_t i = 0; i < nb; i++) {
        struct ofp_meter_band *b = &mm->bands[i];
        bool has_rate = false;
        pos = bands[i];
        while (next_item(&pos, &key, &value)) {
            if (strcmp(key, "type") == 0) {
                if (strcmp(value, "drop") == 0)
                    b->type = OFPMBT_DROP;
                else if (strcmp(value, "dscp_remark") == 0)
                    b->type = OFPMBT_DSCP_REMARK;
                else
                    return end(&c, fail(&c, "band type: '%s' is not drop or dscp_remark",
                                        value), copy);
            } else if (strcmp(key, "rate") == 0 || strcmp(key, "burst_size") == 0 ||
                       strcmp(key, "prec_level") == 0) {
                char what[32];
                snprintf(what, sizeof(what), "band %s", key);
                if ((rc = parse_num(&c, what, value, key[0] == 'p' ? 0xff : UINT32_MAX, &v)))
                    return end(&c, rc, copy);
                if (key[0] == 'r') {
                    b->rate = (uint32_t)v;
                    has_rate = true;
                } else if (key[0] == 'b') {
                    b->burst_size = (uint32_t)v;
                } else {
                    b->prec_level = (uint8_t)v;
                }
            } else {
                return end(&c, fail(&c, "band: unknown setting '%s'", key), copy);
            }
        }
        if (!b->type)
            return end(&c, fail(&c, "band: type= missing"), copy);
        if (!has_rate)
            return end(&c, fail(&c, "band: rate= missing"), copy);
        if (b->type != OFPMBT_DSCP_REMARK && b->prec_level)
            return end(&c, fail(&c, "band: prec_level is for dscp_remark bands"), copy);
    }
    return end(&c, 0, copy);
}

/* ---- packet-out ---- */

static int parse_hex(struct ctx *c, const char *s, struct ofp_bytes *out)
{
    size_t digits = 0;
    for (const char *p = s; *p; p++) {
        if (isxdigit((unsigned char)*p))
            digits++;
        else if (!isspace((unsigned char)*p) && *p != '.' && *p != ':')
            return fail(c, "packet: '%c' is not a hex digit", *p);
    }
    if (digits == 0 || digits % 2)
        return fail(c, "packet: needs an even, non-zero number of hex digits");
    uint8_t *data = ofp__alloc(&c->msg->arena, digits / 2);
    if (!data)
        return -ENOMEM;
    size_t n = 0;
    int hi = -1;
    for (const char *p = s; *p; p++) {
        if (!isxdigit((unsigned char)*p))
            continue;
        int d = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
        if (hi < 0) {
            hi = d;
        } else {
            data[n++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    out->data = data;
    out->len = n;
    return 0;
}

int ofp_parse_packet_out(const char *text, uint8_t version, const struct ofp_port_names *names,
                         struct ofp_msg *msg, char *err, size_t errlen)
{
    struct ctx c = {.names = names, .err = err, .errlen = errlen};
    char *copy = NULL;
    int rc = begin(&c, text, version, msg, OFP_MSG_PACKET_OUT, &copy);
    if (rc)
        return end(&c, rc, copy);
    struct ofp_packet_out *po = &msg->u.packet_out;
    po->buffer_id = OFP_NO_BUFFER;
    char *acts = split_actions(copy);
    char *pos = copy, *key, *value;
    bool has_port = false;
    while (next_item(&pos, &key, &value)) {
        if (strcmp(key, "in_port") == 0) {
            if ((rc = port_of(&c, key, value, &po->in_port)))
                return end(&c, rc, copy);
            has_port = true;
        } else if (strcmp(key, "packet") == 0) {
            if ((rc = parse_hex(&c, value, &po->data)))
                return end(&c, rc, copy);
        } else {
            return end(&c, fail(&c, "%s: unknown packet-out setting", key), copy);
        }
    }
    if (!has_port)
        return end(&c, fail(&c, "in_port: missing"), copy);
    if (!po->data.len)
        return end(&c, fail(&c, "packet: missing"), copy);
    struct actvec a = {0};
    if (acts)
        rc = parse_actions(&c, acts, &a, NULL);
    if (rc == 0 && !c.failed)
        rc = to_list(&c, &a, &po->actions);
    free(a.v);
    return end(&c, rc, copy);
}
