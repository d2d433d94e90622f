/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_parse_mod.c — ovs-ofctl text for group-mods (buckets), meter-mods
 * (bands) and packet-outs (ofp_parse.h describes the syntax).
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

/* ---- groups ---- */

static const char *const group_type_names[] = {"all", "select", "indirect", "ff"};

/* Split @s into the part before the first "WORD=" item and the items that
 * each begin with "WORD=" (NUL-cut; the word itself removed). */
static size_t split_repeated(char *s, const char *word, char **parts, size_t max)
{
    size_t n = 0;
    char *p = ofpp_find_item(s, word);
    while (p && n < max) {
        *p = '\0';
        char *start = p + strlen(word) + 1;
        parts[n++] = start;
        p = ofpp_find_item(start, word);
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
        if ((rc = ofpp_parse_num(c, "bucket weight", value, 0xffff, &v)))
            return rc;
        b->weight = (uint16_t)v;
    } else if (strcmp(key, "watch_port") == 0) {
        if ((rc = ofpp_port_of(c, "bucket watch_port", value, &b->watch_port)))
            return rc;
    } else if (strcmp(key, "watch_group") == 0) {
        if (strcasecmp(value, "any") == 0)
            v = OFPG_ANY;
        else if ((rc = ofpp_parse_num(c, "bucket watch_group", value, UINT32_MAX, &v)))
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
    char *acts = ofpp_split_actions(text);
    char *scan = strdup(text);
    if (!scan)
        return -ENOMEM;
    char *pos = scan, *key, *value;
    int rc = 0;
    for (;;) {
        char *before = pos;
        if (!ofpp_next_item(&pos, &key, &value))
            break;
        rc = bucket_setting(c, key, value, b);
        if (rc < 0)
            break;
        if (rc == 0) {
            if (acts) {
                rc = ofpp_fail(c, "bucket: unknown setting '%s'", key);
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
        return ofpp_fail(c, "bucket weight: only select groups have weights");
    char empty[1] = "";
    struct actvec a = {0};
    c->vlan_known = false;
    rc = ofpp_parse_actions(c, acts ? acts : empty, &a, NULL);
    if (rc == 0)
        rc = ofpp_to_list(c, &a, &b->actions);
    free(a.v);
    return rc;
}

int ofp_parse_group_mod(const char *text, uint8_t version, enum ofp_group_mod_command command,
                        const struct ofp_port_names *names, struct ofp_msg *msg, char *err,
                        size_t errlen)
{
    struct ctx c = {.names = names, .err = err, .errlen = errlen};
    char *copy = NULL;
    int rc = ofpp_begin(&c, text, version, msg, OFP_MSG_GROUP_MOD, &copy);
    if (rc)
        return ofpp_end(&c, rc, copy);
    if (version != OFP13_VERSION)
        return ofpp_end(&c, ofpp_fail(&c, "groups: need OpenFlow 1.3 (-O OpenFlow13)"), copy);
    if (command > OFPGC_DELETE)
        return ofpp_end(&c, ofpp_fail(&c, "bad group-mod command %d", command), copy);
    struct ofp_group_mod *g = &msg->u.group_mod;
    g->command = (uint16_t)command;
    char *buckets[1024];
    size_t nb = split_repeated(copy, "bucket", buckets, KK_ARRAY_SIZE(buckets));
    if (nb > KK_ARRAY_SIZE(buckets))
        return ofpp_end(&c, ofpp_fail(&c, "bucket: too many buckets"), copy);
    bool has_id = false;
    char *pos = copy, *key, *value;
    uint64_t v;
    while (ofpp_next_item(&pos, &key, &value)) {
        if (strcmp(key, "group_id") == 0) {
            if (strcasecmp(value, "all") == 0)
                v = OFPG_ALL;
            else if ((rc = ofpp_parse_num(&c, key, value, UINT32_MAX, &v)))
                return ofpp_end(&c, rc, copy);
            g->group_id = (uint32_t)v;
            has_id = true;
        } else if (strcmp(key, "type") == 0) {
            size_t t = 0;
            while (t < KK_ARRAY_SIZE(group_type_names) && strcmp(value, group_type_names[t]))
                t++;
            if (t == KK_ARRAY_SIZE(group_type_names))
                return ofpp_end(&c, ofpp_fail(&c, "type: '%s' is not all, select, indirect or ff",
                                              value), copy);
            g->type = (uint8_t)t;
        } else {
            return ofpp_end(&c, ofpp_fail(&c, "%s: unknown group setting", key), copy);
        }
    }
    if (command == OFPGC_DELETE) {
        if (nb)
            return ofpp_end(&c, ofpp_fail(&c, "bucket: not allowed when deleting groups"), copy);
        if (!has_id)
            g->group_id = OFPG_ALL;
        return ofpp_end(&c, 0, copy);
    }
    if (!has_id)
        return ofpp_end(&c, ofpp_fail(&c, "group_id: missing"), copy);
    if (g->group_id > OFPG_MAX)
        return ofpp_end(&c, ofpp_fail(&c, "group_id: %" PRIu32 " is reserved", g->group_id), copy);
    if (nb) {
        g->buckets = ofp__alloc(&msg->arena, nb * sizeof(*g->buckets));
        if (!g->buckets)
            return ofpp_end(&c, -ENOMEM, copy);
        g->n_buckets = nb;
        for (size_t i = 0; i < nb; i++)
            if ((rc = parse_bucket(&c, buckets[i], g->type, &g->buckets[i])))
                return ofpp_end(&c, rc, copy);
    }
    return ofpp_end(&c, 0, copy);
}

/* ---- meters ---- */

int ofp_parse_meter_mod(const char *text, uint8_t version, enum ofp_meter_mod_command command,
                        struct ofp_msg *msg, char *err, size_t errlen)
{
    struct ctx c = {.err = err, .errlen = errlen};
    char *copy = NULL;
    int rc = ofpp_begin(&c, text, version, msg, OFP_MSG_METER_MOD, &copy);
    if (rc)
        return ofpp_end(&c, rc, copy);
    if (version != OFP13_VERSION)
        return ofpp_end(&c, ofpp_fail(&c, "meters: need OpenFlow 1.3 (-O OpenFlow13)"), copy);
    if (command > OFPMC_DELETE)
        return ofpp_end(&c, ofpp_fail(&c, "bad meter-mod command %d", command), copy);
    struct ofp_meter_mod *mm = &msg->u.meter_mod;
    mm->command = (uint16_t)command;
    char *bands[64];
    /* ovs-ofctl also takes "bands=type=drop,...": the same as "band=" */
    char *bs = ofpp_find_item(copy, "bands");
    if (bs)
        memmove(bs + 4, bs + 5, strlen(bs + 5) + 1);
    size_t nb = split_repeated(copy, "band", bands, KK_ARRAY_SIZE(bands));
    if (nb > KK_ARRAY_SIZE(bands))
        return ofpp_end(&c, ofpp_fail(&c, "band: too many bands"), copy);
    bool has_id = false;
    char *pos = copy, *key, *value;
    uint64_t v;
    while (ofpp_next_item(&pos, &key, &value)) {
        if (strcmp(key, "meter") == 0) {
            if (strcasecmp(value, "all") == 0)
                v = OFPM_ALL;
            else if ((rc = ofpp_parse_num(&c, key, value, UINT32_MAX, &v)))
                return ofpp_end(&c, rc, copy);
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
            return ofpp_end(&c, ofpp_fail(&c, "%s: unknown meter setting", key), copy);
        }
    }
    if (command == OFPMC_DELETE) {
        if (nb)
            return ofpp_end(&c, ofpp_fail(&c, "band: not allowed when deleting meters"), copy);
        if (!has_id)
            mm->meter_id = OFPM_ALL;
        mm->flags = 0;
        return ofpp_end(&c, 0, copy);
    }
    if (!has_id)
        return ofpp_end(&c, ofpp_fail(&c, "meter: missing"), copy);
    if (mm->meter_id == 0 || mm->meter_id > OFPM_MAX)
        return ofpp_end(&c,
                        ofpp_fail(&c, "meter: %" PRIu32 " is not a meter id (1..0x%x)",
                                  mm->meter_id, OFPM_MAX),
                        copy);
    if ((mm->flags & (OFPMF_KBPS | OFPMF_PKTPS)) == (OFPMF_KBPS | OFPMF_PKTPS))
        return ofpp_end(&c, ofpp_fail(&c, "kbps/pktps: choose one"), copy);
    if (!(mm->flags & OFPMF_PKTPS))
        mm->flags |= OFPMF_KBPS;
    if (nb) {
        mm->bands = ofp__alloc(&msg->arena, nb * sizeof(*mm->bands));
        if (!mm->bands)
            return ofpp_end(&c, -ENOMEM, copy);
        mm->n_bands = nb;
    }
    for (size_t i = 0; i < nb; i++) {
        struct ofp_meter_band *b = &mm->bands[i];
        bool has_rate = false;
        pos = bands[i];
        while (ofpp_next_item(&pos, &key, &value)) {
            if (strcmp(key, "type") == 0) {
                if (strcmp(value, "drop") == 0)
                    b->type = OFPMBT_DROP;
                else if (strcmp(value, "dscp_remark") == 0)
                    b->type = OFPMBT_DSCP_REMARK;
                else
                    return ofpp_end(&c, ofpp_fail(&c, "band type: '%s' is not drop or dscp_remark",
                                                  value), copy);
            } else if (strcmp(key, "rate") == 0 || strcmp(key, "burst_size") == 0 ||
                       strcmp(key, "prec_level") == 0) {
                char what[32];
                snprintf(what, sizeof(what), "band %s", key);
                if ((rc = ofpp_parse_num(&c, what, value, key[0] == 'p' ? 0xff : UINT32_MAX, &v)))
                    return ofpp_end(&c, rc, copy);
                if (key[0] == 'r') {
                    b->rate = (uint32_t)v;
                    has_rate = true;
                } else if (key[0] == 'b') {
                    b->burst_size = (uint32_t)v;
                } else {
                    b->prec_level = (uint8_t)v;
                }
            } else {
                return ofpp_end(&c, ofpp_fail(&c, "band: unknown setting '%s'", key), copy);
            }
        }
        if (!b->type)
            return ofpp_end(&c, ofpp_fail(&c, "band: type= missing"), copy);
        if (!has_rate)
            return ofpp_end(&c, ofpp_fail(&c, "band: rate= missing"), copy);
        if (b->type != OFPMBT_DSCP_REMARK && b->prec_level)
            return ofpp_end(&c, ofpp_fail(&c, "band: prec_level is for dscp_remark bands"), copy);
    }
    return ofpp_end(&c, 0, copy);
}

/* ---- packet-out ---- */

static int parse_hex(struct ctx *c, const char *s, struct ofp_bytes *out)
{
    size_t digits = 0;
    for (const char *p = s; *p; p++) {
        if (isxdigit((unsigned char)*p))
            digits++;
        else if (!isspace((unsigned char)*p) && *p != '.' && *p != ':')
            return ofpp_fail(c, "packet: '%c' is not a hex digit", *p);
    }
    if (digits == 0 || digits % 2)
        return ofpp_fail(c, "packet: needs an even, non-zero number of hex digits");
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
    int rc = ofpp_begin(&c, text, version, msg, OFP_MSG_PACKET_OUT, &copy);
    if (rc)
        return ofpp_end(&c, rc, copy);
    struct ofp_packet_out *po = &msg->u.packet_out;
    po->buffer_id = OFP_NO_BUFFER;
    char *acts = ofpp_split_actions(copy);
    char *pos = copy, *key, *value;
    bool has_port = false;
    while (ofpp_next_item(&pos, &key, &value)) {
        if (strcmp(key, "in_port") == 0) {
            if ((rc = ofpp_port_of(&c, key, value, &po->in_port)))
                return ofpp_end(&c, rc, copy);
            has_port = true;
        } else if (strcmp(key, "packet") == 0) {
            if ((rc = parse_hex(&c, value, &po->data)))
                return ofpp_end(&c, rc, copy);
        } else {
            return ofpp_end(&c, ofpp_fail(&c, "%s: unknown packet-out setting", key), copy);
        }
    }
    if (!has_port)
        return ofpp_end(&c, ofpp_fail(&c, "in_port: missing"), copy);
    if (!po->data.len)
        return ofpp_end(&c, ofpp_fail(&c, "packet: missing"), copy);
    struct actvec a = {0};
    if (acts)
        rc = ofpp_parse_actions(&c, acts, &a, NULL);
    if (rc == 0 && !c.failed)
        rc = ofpp_to_list(&c, &a, &po->actions);
    free(a.v);
    return ofpp_end(&c, rc, copy);
}
