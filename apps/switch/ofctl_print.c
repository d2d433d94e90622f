/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ovs-ofctl's text for replies: ports, features, flow and port statistics,
 * tables, groups, meters. Layouts follow ovs-ofctl 3.1's output so that
 * scripts reading one read the other.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kk_common.h"
#include "ofctl_internal.h"
#include "ofp_print.h"

static void print_bits(uint32_t bits, const char *const *names, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (bits >> i & 1 && names[i]) {
            printf("%s%s", any ? " " : "", names[i]);
            any = true;
        }
    }
    if (!any)
        printf("0");
    printf("\n");
}

static const char *const features10[] = {"10MB-HD", "10MB-FD", "100MB-HD", "100MB-FD",
                                         "1GB-HD",  "1GB-FD",  "10GB-FD",  "COPPER",
                                         "FIBER",   "AUTO_NEG", "AUTO_PAUSE", "AUTO_PAUSE_ASYM"};
static const char *const features13[] = {"10MB-HD", "10MB-FD", "100MB-HD", "100MB-FD",
                                         "1GB-HD",  "1GB-FD",  "10GB-FD",  "40GB-FD",
                                         "100GB-FD", "1TB-FD", "OTHER",    "COPPER",
                                         "FIBER",   "AUTO_NEG", "AUTO_PAUSE", "AUTO_PAUSE_ASYM"};

/* Mbps of the fastest speed bit in @f (features of @version). */
static unsigned feature_speed(uint32_t f, uint8_t version)
{
    static const unsigned mbps10[] = {10, 10, 100, 100, 1000, 1000, 10000};
    static const unsigned mbps13[] = {10, 10, 100, 100, 1000, 1000, 10000, 40000, 100000,
                                      1000000};
    const unsigned *t = version == OFP10_VERSION ? mbps10 : mbps13;
    size_t n = version == OFP10_VERSION ? KK_ARRAY_SIZE(mbps10) : KK_ARRAY_SIZE(mbps13);
    unsigned best = 0;
    for (size_t i = 0; i < n; i++)
        if (f >> i & 1 && t[i] > best)
            best = t[i];
    return best;
}

void ofctl_port_name(uint32_t port, char *buf, size_t size)
{
    static const struct {
        uint32_t port;
        const char *name;
    } names[] = {{OFPP_IN_PORT, "IN_PORT"}, {OFPP_TABLE, "TABLE"}, {OFPP_NORMAL, "NORMAL"},
                 {OFPP_FLOOD, "FLOOD"},     {OFPP_ALL, "ALL"},     {OFPP_CONTROLLER, "CONTROLLER"},
                 {OFPP_LOCAL, "LOCAL"},     {OFPP_ANY, "ANY"}};
    for (size_t i = 0; i < KK_ARRAY_SIZE(names); i++) {
        if (names[i].port == port) {
            snprintf(buf, size, "%s", names[i].name);
            return;
        }
    }
    snprintf(buf, size, "%" PRIu32, port);
}

static int port_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct ofp_port *)a)->port_no, y = ((const struct ofp_port *)b)->port_no;
    return x < y ? -1 : x > y;
}

void ofctl_print_ports(const struct ofp_port *ports, size_t n, uint8_t version)
{
    static const char *const config10[] = {"PORT_DOWN", "NO_STP", "NO_RECV", "NO_RECV_STP",
                                           "NO_FLOOD", "NO_FWD", "NO_PACKET_IN"};
    static const char *const config13[] = {"PORT_DOWN", NULL, "NO_RECV", NULL, NULL, "NO_FWD",
                                           "NO_PACKET_IN"};
    static const char *const state13[] = {"LINK_DOWN", "BLOCKED", "LIVE"};
    struct ofp_port *sorted = malloc(n * sizeof(*sorted) + 1);
    if (!sorted)
        return;
    memcpy(sorted, ports, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), port_cmp);
    bool v10 = version == OFP10_VERSION;
    for (size_t i = 0; i < n; i++) {
        const struct ofp_port *p = &sorted[i];
        char num[16];
        ofctl_port_name(p->port_no, num, sizeof(num));
        const uint8_t *a = p->hw_addr;
        printf(" %s(%.16s): addr:%02x:%02x:%02x:%02x:%02x:%02x\n", num, p->name, a[0], a[1],
               a[2], a[3], a[4], a[5]);
        printf("     config:     ");
        print_bits(p->config, v10 ? config10 : config13, v10 ? KK_ARRAY_SIZE(config10)
                                                            : KK_ARRAY_SIZE(config13));
        printf("     state:      ");
        if (v10) {
            static const char *const stp[] = {NULL, "STP_LEARN", "STP_FORWARD", "STP_BLOCK"};
            const char *s = stp[p->state >> 8 & 3];
            if (p->state & 1)
                printf("LINK_DOWN%s%s\n", s ? " " : "", s ? s : "");
            else
                printf("%s\n", s ? s : "0");
        } else {
            print_bits(p->state, state13, KK_ARRAY_SIZE(state13));
        }
        const char *const *fn = v10 ? features10 : features13;
        size_t nf = v10 ? KK_ARRAY_SIZE(features10) : KK_ARRAY_SIZE(features13);
        const struct {
            const char *label;
            uint32_t bits;
        } feats[] = {{"current:    ", p->curr},
                     {"advertised: ", p->advertised},
                     {"supported:  ", p->supported},
                     {"peer:       ", p->peer}};
        for (size_t k = 0; k < KK_ARRAY_SIZE(feats); k++) {
            if (!feats[k].bits)
                continue;
            printf("     %s", feats[k].label);
            print_bits(feats[k].bits, fn, nf);
        }
        unsigned now = v10 ? feature_speed(p->curr, version) : p->curr_speed / 1000;
        unsigned max = v10 ? feature_speed(p->supported, version) : p->max_speed / 1000;
        printf("     speed: %u Mbps now, %u Mbps max\n", now, max);
    }
    free(sorted);
}

void ofctl_print_features(const struct ofp_msg *m)
{
    static const char *const caps10[] = {"FLOW_STATS", "TABLE_STATS", "PORT_STATS", "STP",
                                         NULL, "IP_REASM", "QUEUE_STATS", "ARP_MATCH_IP"};
    static const char *const caps13[] = {"FLOW_STATS", "TABLE_STATS", "PORT_STATS",
                                         "GROUP_STATS", NULL, "IP_REASM", "QUEUE_STATS",
                                         NULL, "PORT_BLOCKED"};
    static const char *const actions10[] = {"output", "set_vlan_vid", "set_vlan_pcp",
                                            "strip_vlan", "mod_dl_src", "mod_dl_dst",
                                            "mod_nw_src", "mod_nw_dst", "mod_nw_tos",
                                            "mod_tp_src", "mod_tp_dst", "enqueue"};
    const struct ofp_features_reply *f = &m->u.features;
    bool v10 = m->version == OFP10_VERSION;
    printf("OFPT_FEATURES_REPLY%s (xid=0x%x): dpid:%016" PRIx64 "\n", ofc_version_tag(m->version),
           m->xid, f->datapath_id);
    printf("n_tables:%u, n_buffers:%" PRIu32 "\n", f->n_tables, f->n_buffers);
    printf("capabilities: ");
    print_bits(f->capabilities, v10 ? caps10 : caps13,
               v10 ? KK_ARRAY_SIZE(caps10) : KK_ARRAY_SIZE(caps13));
    if (v10) {
        printf("actions: ");
        print_bits(f->actions, actions10, KK_ARRAY_SIZE(actions10));
        ofctl_print_ports(f->ports, f->n_ports, m->version);
    }
}

void ofctl_print_config(const struct ofp_msg *m)
{
    static const char *const frags[] = {"normal", "drop", "reasm", "nx-match"};
    printf("OFPT_GET_CONFIG_REPLY%s (xid=0x%x): frags=%s miss_send_len=%u\n",
           ofc_version_tag(m->version), m->xid, frags[m->u.config.flags & 3],
           m->u.config.miss_send_len);
}

static void print_duration(const char *name, uint32_t sec, uint32_t nsec, char sep)
{
    printf("%s%c%" PRIu32 ".%03us", name, sep, sec, nsec / 1000000);
}

void ofctl_print_flow(const struct ofp_flow_stats *fs, uint8_t version, bool stats)
{
    char match[4096], acts[8192];
    ofp_format_match(&fs->match, match, sizeof(match));
    if (version == OFP10_VERSION)
        ofp_format_actions(&fs->actions, acts, sizeof(acts));
    else
        ofp_format_instructions(&fs->instructions, acts, sizeof(acts));
    printf(" ");
    if (stats || fs->cookie)
        printf("cookie=0x%" PRIx64 ", ", fs->cookie);
    if (stats) {
        print_duration("duration", fs->duration_sec, fs->duration_nsec, '=');
        printf(", ");
    }
    if (stats || fs->table_id)
        printf("table=%u, ", fs->table_id);
    if (stats)
        printf("n_packets=%" PRIu64 ", n_bytes=%" PRIu64 ", ", fs->packet_count, fs->byte_count);
    if (fs->idle_timeout)
        printf("idle_timeout=%u, ", fs->idle_timeout);
    if (fs->hard_timeout)
        printf("hard_timeout=%u, ", fs->hard_timeout);
    if (version != OFP10_VERSION) {
        static const char *const flags[] = {"send_flow_rem", "check_overlap", "reset_counts",
                                            "no_packet_counts", "no_byte_counts"};
        for (size_t i = 0; i < KK_ARRAY_SIZE(flags); i++)
            if (fs->flags >> i & 1)
                printf("%s ", flags[i]);
    }
    bool prio = fs->priority != 0x8000;
    if (prio)
        printf("priority=%u", fs->priority);
    if (prio && *match)
        printf(",");
    printf("%s%sactions=%s\n", match, prio || *match ? " " : "", acts);
}

static void print_counter(const char *name, uint64_t v, bool comma)
{
    if (v == UINT64_MAX)
        printf("%s=?", name);
    else
        printf("%s=%" PRIu64, name, v);
    if (comma)
        printf(", ");
}

void ofctl_print_port_stats(const struct ofp_port_stats *s, uint8_t version)
{
    char num[16];
    ofctl_port_name(s->port_no, num, sizeof(num));
    printf("  port %2s: rx ", num);
    print_counter("pkts", s->rx_packets, true);
    print_counter("bytes", s->rx_bytes, true);
    print_counter("drop", s->rx_dropped, true);
    print_counter("errs", s->rx_errors, true);
    print_counter("frame", s->rx_frame_err, true);
    print_counter("over", s->rx_over_err, true);
    print_counter("crc", s->rx_crc_err, false);
    printf("\n           tx ");
    print_counter("pkts", s->tx_packets, true);
    print_counter("bytes", s->tx_bytes, true);
    print_counter("drop", s->tx_dropped, true);
    print_counter("errs", s->tx_errors, true);
    print_counter("coll", s->collisions, false);
    printf("\n");
    if (version != OFP10_VERSION) {
        printf("           ");
        print_duration("duration", s->duration_sec, s->duration_nsec, '=');
        printf("\n");
    }
}

static bool same_table(const struct ofp_table_stats *a, const struct ofp_table_stats *b)
{
    return a->active_count == b->active_count && a->lookup_count == b->lookup_count &&
           a->matched_count == b->matched_count && a->max_entries == b->max_entries &&
           a->wildcards == b->wildcards && strncmp(a->name, b->name, sizeof(a->name)) == 0;
}

void ofctl_print_tables(const struct ofp_table_stats *t, size_t n, uint8_t version)
{
    size_t i = 0;
    while (i < n) {
        if (i)
            printf("\n");
        printf("  table %u", t[i].table_id);
        if (version == OFP10_VERSION && t[i].name[0])
            printf(" (\"%.32s\")", t[i].name);
        printf(":\n    active=%" PRIu32 ", lookup=%" PRIu64 ", matched=%" PRIu64 "\n",
               t[i].active_count, t[i].lookup_count, t[i].matched_count);
        if (version == OFP10_VERSION)
            printf("    max_entries=%" PRIu32 "\n", t[i].max_entries);
        /* a run of tables identical to this one: "ditto", as ovs-ofctl */
        size_t j = i + 1;
        while (j < n && same_table(&t[i], &t[j]))
            j++;
        if (j - i == 2)
            printf("\n  table %u: ditto\n", t[i + 1].table_id);
        else if (j - i > 2)
            printf("\n  tables %u...%u: ditto\n", t[i + 1].table_id, t[j - 1].table_id);
        i = j;
    }
}

static const char *const group_types[] = {"all", "select", "indirect", "ff"};

void ofctl_print_group_desc(const struct ofp_group_desc *g)
{
    printf(" group_id=%" PRIu32 ",type=%s", g->group_id,
           g->type < KK_ARRAY_SIZE(group_types) ? group_types[g->type] : "?");
    for (size_t i = 0; i < g->n_buckets; i++) {
        const struct ofp_bucket *b = &g->buckets[i];
        printf(",bucket=");
        if (b->weight != (g->type == OFPGT_SELECT ? 1 : 0))
            printf("weight:%u,", b->weight);
        if (b->watch_port != OFPP_ANY) {
            char num[16];
            ofctl_port_name(b->watch_port, num, sizeof(num));
            printf("watch_port:%s,", num);
        }
        if (b->watch_group != OFPG_ANY)
            printf("watch_group:%" PRIu32 ",", b->watch_group);
        char acts[4096];
        ofp_format_actions(&b->actions, acts, sizeof(acts));
        printf("actions=%s", acts);
    }
    printf("\n");
}

void ofctl_print_group_stats(const struct ofp_group_stats *g)
{
    printf(" group_id=%" PRIu32 ",", g->group_id);
    print_duration("duration", g->duration_sec, g->duration_nsec, '=');
    printf(",ref_count=%" PRIu32 ",packet_count=%" PRIu64 ",byte_count=%" PRIu64, g->ref_count,
           g->packet_count, g->byte_count);
    for (size_t i = 0; i < g->n_buckets; i++)
        printf(",bucket%zu:packet_count=%" PRIu64 ",byte_count=%" PRIu64, i,
               g->buckets[i].packet_count, g->buckets[i].byte_count);
    printf("\n");
}

void ofctl_print_meter_config(const struct ofp_meter_config *mc)
{
    printf("meter=%" PRIu32 " %s%s%sbands=\n", mc->meter_id,
           mc->flags & OFPMF_PKTPS ? "pktps " : "kbps ", mc->flags & OFPMF_BURST ? "burst " : "",
           mc->flags & OFPMF_STATS ? "stats " : "");
    for (size_t i = 0; i < mc->n_bands; i++) {
        const struct ofp_meter_band *b = &mc->bands[i];
        printf("type=%s rate=%" PRIu32,
               b->type == OFPMBT_DROP           ? "drop"
               : b->type == OFPMBT_DSCP_REMARK ? "dscp_remark"
                                                : "experimenter",
               b->rate);
        if (mc->flags & OFPMF_BURST)
            printf(" burst_size=%" PRIu32, b->burst_size);
        if (b->type == OFPMBT_DSCP_REMARK)
            printf(" prec_level=%u", b->prec_level);
        printf("\n");
    }
}

void ofctl_print_meter_stats(const struct ofp_meter_stats *ms)
{
    printf("meter:%" PRIu32 " flow_count:%" PRIu32 " packet_in_count:%" PRIu64
           " byte_in_count:%" PRIu64 " ",
           ms->meter_id, ms->flow_count, ms->packet_in_count, ms->byte_in_count);
    print_duration("duration", ms->duration_sec, ms->duration_nsec, ':');
    printf(" bands:\n");
    for (size_t i = 0; i < ms->n_bands; i++)
        printf("%zu: packet_count:%" PRIu64 " byte_count:%" PRIu64 "\n", i,
               ms->bands[i].packet_band_count, ms->bands[i].byte_band_count);
}
