/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofagent_mp.c — the agent's multipart replies (ofagent.h): desc, flow and
 * aggregate (rules selected as a non-strict delete would), table,
 * table-features, port stats and descriptions, queue, group, group-desc,
 * group-features, meter, meter-config, meter-features.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ofagent_internal.h"
#include "ofconv.h"
#include "ofp_msg.h"

/* ---- multipart ------------------------------------------------------------- */

/* A rule is selected by a flow/aggregate request when it is at least as
 * specific as the request's match (non-strict, as delete). */
struct flow_sel {
    struct session *s;
    bool table_all;
    uint8_t table_id;
    struct sw_flow_key key;
    struct sw_flow_mask mask;
    uint32_t out_port, out_group;
    uint64_t cookie, cookie_mask;
    /* results */
    struct ofp_flow_stats *flows;
    size_t n, cap;
    bool aggregate, failed;
    struct ofp_aggregate_stats agg;
    uint64_t now_ms;
};

static bool rule_selected(const struct flow_sel *f, const struct sw_rule_info *r)
{
    if (!f->table_all && r->table_id != f->table_id)
        return false;
    if ((r->cookie & f->cookie_mask) != (f->cookie & f->cookie_mask))
        return false;
    const uint64_t *rm = sw_flow_key_words(&r->mask.masks), *rk = sw_flow_key_words(&r->match);
    const uint64_t *qm = sw_flow_key_words(&f->mask.masks), *qk = sw_flow_key_words(&f->key);
    for (int w = 0; w < SW_FLOW_KEY_WORDS; w++)
        if ((rm[w] & qm[w]) != qm[w] || ((rk[w] ^ qk[w]) & qm[w]))
            return false;
    return true;
}

static bool acts_output_to(const struct sw_ofpacts *a, uint8_t version, uint32_t port)
{
    struct ofp_action_list al;
    struct ofp_instruction_list il;
    if (sw_ofpacts_to_ofp(a, version, NULL, NULL, &al, &il))
        return false;
    bool hit = false;
    for (size_t i = 0; i < al.n; i++)
        hit |= al.actions[i].kind == OFPACT_OUTPUT && al.actions[i].port == port;
    for (size_t j = 0; j < il.n; j++)
        for (size_t i = 0; i < il.insts[j].actions.n; i++)
            hit |= il.insts[j].actions.actions[i].kind == OFPACT_OUTPUT &&
                   il.insts[j].actions.actions[i].port == port;
    sw_ofconv_free_lists(&al, &il);
    return hit;
}

static bool acts_use_group(const struct sw_ofpacts *a, uint32_t group)
{
    struct ofp_action_list al;
    struct ofp_instruction_list il;
    if (sw_ofpacts_to_ofp(a, OFP13_VERSION, NULL, NULL, &al, &il))
        return false;
    bool hit = false;
    for (size_t j = 0; j < il.n; j++)
        for (size_t i = 0; i < il.insts[j].actions.n; i++)
            hit |= il.insts[j].actions.actions[i].kind == OFPACT_GROUP &&
                   il.insts[j].actions.actions[i].group_id == group;
    sw_ofconv_free_lists(&al, &il);
    return hit;
}

static void collect_flow(void *arg, const struct sw_rule_info *r)
{
    struct flow_sel *f = arg;
    if (f->failed || !rule_selected(f, r))
        return;
    uint8_t v = f->s->version;
    if (f->out_port != OFPP_ANY && !acts_output_to(r->actions, v, f->out_port))
        return;
    if (f->out_group != OFPG_ANY && !acts_use_group(r->actions, f->out_group))
        return;
    if (f->aggregate) {
        f->agg.packet_count += r->n_packets;
        f->agg.byte_count += r->n_bytes;
        f->agg.flow_count++;
        return;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct ofp_flow_stats *p = realloc(f->flows, cap * sizeof(*p));
        if (!p) {
            f->failed = true;
            return;
        }
        f->flows = p;
        f->cap = cap;
    }
    struct ofp_flow_stats *o = &f->flows[f->n];
    memset(o, 0, sizeof(*o));
    o->table_id = r->table_id;
    sw_match_to_ofp(&r->match, &r->mask, &o->match);
    if (v == OFP10_VERSION) {
        /* what 1.0 cannot express (metadata, IPv6 ...) is left out */
        uint8_t tmp[OFP10_MATCH_LEN];
        if (ofp_match10_encode(&o->match, tmp) != OFPERR_NONE)
            for (unsigned fld = 0; fld < OFP_OXM_N_FIELDS; fld++) {
                struct ofp_match_fields one;
                uint8_t val[16], msk[16];
                ofp_match_init(&one);
                if (ofp_match_get(&o->match, fld, val, msk)) {
                    ofp_match_set(&one, fld, val, (o->match.masked >> fld) & 1 ? msk : NULL);
                    if (ofp_match10_encode(&one, tmp) != OFPERR_NONE)
                        ofp_match_clear(&o->match, fld);
                }
            }
    }
    uint64_t d = f->now_ms > r->created_ms ? f->now_ms - r->created_ms : 0;
    o->duration_sec = (uint32_t)(d / 1000);
    o->duration_nsec = (uint32_t)(d % 1000) * 1000000u;
    o->priority = (uint16_t)r->priority;
    o->idle_timeout = r->idle_timeout;
    o->hard_timeout = r->hard_timeout;
    if (v != OFP10_VERSION) {
        if (r->flags & SW_OFP_FLAG_SEND_FLOW_REM)
            o->flags |= OFPFF_SEND_FLOW_REM;
        if (r->flags & SW_OFP_FLAG_NO_COUNTS)
            o->flags |= OFPFF13_NO_PKT_COUNTS | OFPFF13_NO_BYT_COUNTS;
    }
    o->cookie = r->cookie;
    o->packet_count = r->n_packets;
    o->byte_count = r->n_bytes;
    if (sw_ofpacts_to_ofp(r->actions, v, &r->match, &r->mask, &o->actions, &o->instructions)) {
        f->failed = true;
        return;
    }
    f->n++;
}

static void mp_flow(struct session *s, const struct ofp_msg *m, const void *raw, size_t len,
                    bool aggregate)
{
    struct sw_ofagent *a = s->a;
    const struct ofp_flow_stats_request *q = &m->u.multipart.u.flow_req;
    struct flow_sel f;
    memset(&f, 0, sizeof(f));
    f.s = s;
    f.aggregate = aggregate;
    f.table_all = q->table_id == OFPTT_ALL;
    f.table_id = q->table_id;
    f.out_port = q->out_port;
    f.out_group = s->version == OFP10_VERSION ? OFPG_ANY : q->out_group;
    f.cookie = q->cookie;
    f.cookie_mask = q->cookie_mask;
    enum ofp_err e = sw_match_from_ofp(&q->match, &f.key, &f.mask);
    if (e) {
        oa_send_error(s, m->xid, e, raw, len);
        return;
    }
    if (a->sync)
        a->sync(a->arg, true);   /* the counters follow the datapath */
    /* rules' created_ms use the bridge clock */
    f.now_ms = sw_ofproto_now_ms(a->ofp);
    sw_ofproto_flow_dump(a->ofp, NULL, collect_flow, &f, NULL, 0);
    if (f.failed) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_MULTIPART_BUFFER_OVERFLOW, raw, len);
    } else if (aggregate) {
        struct ofp_msg r;
        oa_init_reply(&r, s, OFP_MSG_MULTIPART_REPLY, m->xid);
        r.u.multipart.type = OFPMP_AGGREGATE;
        r.u.multipart.u.aggregate = f.agg;
        oa_send_msg(s, &r, false);
    } else {
        oa_send_multipart(s, m->xid, OFPMP_FLOW, f.flows, f.n, sizeof(*f.flows));
    }
    for (size_t i = 0; i < f.n; i++)
        sw_ofconv_free_lists(&f.flows[i].actions, &f.flows[i].instructions);
    free(f.flows);
}

static void mp_tables(struct session *s, uint32_t xid)
{
    struct ofp_table_stats *t = calloc(SW_OFP_TABLES, sizeof(*t));
    if (!t)
        return;
    for (unsigned i = 0; i < SW_OFP_TABLES; i++) {
        struct sw_table_stats st = {0};
        sw_ofproto_table_stats(s->a->ofp, i, &st);
        t[i].table_id = (uint8_t)i;
        snprintf(t[i].name, sizeof(t[i].name), "table%u", i);
        t[i].wildcards = OFPFW10_ALL;
        t[i].max_entries = 1000000;
        t[i].active_count = st.active;
        t[i].lookup_count = st.lookups;
        t[i].matched_count = st.matched;
    }
    oa_send_multipart(s, xid, OFPMP_TABLE, t, SW_OFP_TABLES, sizeof(*t));
    free(t);
}

/* Table features: what every table supports (1.3). */
static void mp_table_features(struct session *s, const struct ofp_msg *m, const void *raw,
                              size_t len)
{
    if (m->u.multipart.n) {
        /* a request that sets features: the pipeline is fixed */
        oa_send_error(s, m->xid, OFPERR_OFPTFFC_EPERM, raw, len);
        return;
    }
    static uint64_t insts[] = {OFPIT_GOTO_TABLE, OFPIT_WRITE_METADATA, OFPIT_WRITE_ACTIONS,
                                     OFPIT_APPLY_ACTIONS, OFPIT_CLEAR_ACTIONS, OFPIT_METER};
    /* action types (1.3 numbers): output, push/pop vlan, group, set/dec nw ttl,
     * set field */
    static uint64_t actions[] = {0, 17, 18, 22, 23, 24, 25};
    static const uint64_t setfields[] = {OFPXMT_ETH_DST, OFPXMT_ETH_SRC, OFPXMT_VLAN_VID,
                                         OFPXMT_VLAN_PCP, OFPXMT_IP_DSCP, OFPXMT_IP_ECN,
                                         OFPXMT_IPV4_SRC, OFPXMT_IPV4_DST, OFPXMT_TCP_SRC,
                                         OFPXMT_TCP_DST, OFPXMT_UDP_SRC, OFPXMT_UDP_DST,
                                         OFPXMT_SCTP_SRC, OFPXMT_SCTP_DST, OFPXMT_IPV6_SRC,
                                         OFPXMT_IPV6_DST};
    static const uint8_t match_fields[] = {
        OFPXMT_IN_PORT, OFPXMT_METADATA, OFPXMT_ETH_DST, OFPXMT_ETH_SRC, OFPXMT_ETH_TYPE,
        OFPXMT_VLAN_VID, OFPXMT_VLAN_PCP, OFPXMT_IP_DSCP, OFPXMT_IP_ECN, OFPXMT_IP_PROTO,
        OFPXMT_IPV4_SRC, OFPXMT_IPV4_DST, OFPXMT_TCP_SRC, OFPXMT_TCP_DST, OFPXMT_UDP_SRC,
        OFPXMT_UDP_DST, OFPXMT_SCTP_SRC, OFPXMT_SCTP_DST, OFPXMT_ICMPV4_TYPE,
        OFPXMT_ICMPV4_CODE, OFPXMT_ARP_OP, OFPXMT_ARP_SPA, OFPXMT_ARP_TPA, OFPXMT_ARP_SHA,
        OFPXMT_ARP_THA, OFPXMT_IPV6_SRC, OFPXMT_IPV6_DST, OFPXMT_IPV6_FLABEL,
        OFPXMT_ICMPV6_TYPE, OFPXMT_ICMPV6_CODE, OFPXMT_IPV6_ND_TARGET, OFPXMT_IPV6_ND_SLL,
        OFPXMT_IPV6_ND_TLL};
    size_t nm = sizeof(match_fields), ns = sizeof(setfields) / sizeof(setfields[0]);
    uint64_t *oxm = malloc((nm + ns) * sizeof(uint64_t));
    uint64_t *next = malloc(SW_OFP_TABLES * sizeof(uint64_t));
    struct ofp_table_features *tf = calloc(SW_OFP_TABLES, sizeof(*tf));
    struct ofp_table_feature_prop *props = calloc(SW_OFP_TABLES * 8, sizeof(*props));
    if (!oxm || !next || !tf || !props)
        goto out;
    for (size_t i = 0; i < nm; i++)
        oxm[i] = (uint64_t)OFPXMC_OPENFLOW_BASIC << 16 | (uint64_t)match_fields[i] << 9 |
                 ofp_oxm_field_len(match_fields[i]);
    for (size_t i = 0; i < ns; i++)
        oxm[nm + i] = (uint64_t)OFPXMC_OPENFLOW_BASIC << 16 | setfields[i] << 9 |
                      ofp_oxm_field_len((enum ofp_oxm_field)setfields[i]);
    for (unsigned i = 0; i < SW_OFP_TABLES; i++)
        next[i] = i;
    for (unsigned t = 0; t < SW_OFP_TABLES; t++) {
        struct ofp_table_features *f = &tf[t];
        struct ofp_table_feature_prop *p = &props[t * 8];
        f->table_id = (uint8_t)t;
        snprintf(f->name, sizeof(f->name), "table%u", t);
        f->metadata_match = UINT64_MAX;
        f->metadata_write = UINT64_MAX;
        f->max_entries = 1000000;
        f->props = p;
        size_t n = 0;
        p[n++] = (struct ofp_table_feature_prop){
            /* the last table has no goto_table: its list starts after it */
            .type = OFPTFPT_INSTRUCTIONS, .ids = t + 1 < SW_OFP_TABLES ? insts : insts + 1,
            .n_ids = t + 1 < SW_OFP_TABLES ? 6 : 5};
        p[n++] = (struct ofp_table_feature_prop){
            .type = OFPTFPT_NEXT_TABLES, .ids = next + t + 1, .n_ids = SW_OFP_TABLES - t - 1};
        p[n++] = (struct ofp_table_feature_prop){.type = OFPTFPT_WRITE_ACTIONS,
                                                 .ids = actions, .n_ids = 7};
        p[n++] = (struct ofp_table_feature_prop){.type = OFPTFPT_APPLY_ACTIONS,
                                                 .ids = actions, .n_ids = 7};
        p[n++] = (struct ofp_table_feature_prop){.type = OFPTFPT_MATCH, .ids = oxm, .n_ids = nm};
        p[n++] = (struct ofp_table_feature_prop){.type = OFPTFPT_WILDCARDS, .ids = oxm,
                                                 .n_ids = nm};
        p[n++] = (struct ofp_table_feature_prop){.type = OFPTFPT_WRITE_SETFIELD,
                                                 .ids = oxm + nm, .n_ids = ns};
        p[n++] = (struct ofp_table_feature_prop){.type = OFPTFPT_APPLY_SETFIELD,
                                                 .ids = oxm + nm, .n_ids = ns};
        f->n_props = n;
    }
    oa_send_multipart(s, m->xid, OFPMP_TABLE_FEATURES, tf, SW_OFP_TABLES, sizeof(*tf));
out:
    free(oxm);
    free(next);
    free(tf);
    free(props);
}

static void port_counters(struct sw_ofagent *a, const struct sw_port_info *p,
                          struct ofp_port_stats *o)
{
    memset(o, 0, sizeof(*o));
    o->port_no = p->ofport;
    unsigned n = p->is_bond ? p->n_members : 1;
    for (unsigned i = 0; a->dpif && i < n && i < 16; i++) {
        struct sw_dpif_port_info in;
        if (sw_dpif_port_query(a->dpif, p->is_bond ? p->members[i] : p->dp_port, &in))
            continue;
        o->rx_packets += in.rx_packets;
        o->tx_packets += in.tx_packets;
        o->rx_bytes += in.rx_bytes;
        o->tx_bytes += in.tx_bytes;
        o->rx_dropped += in.rx_drops;
        o->tx_dropped += in.tx_drops;
        o->rx_errors += in.rx_errors;
        o->tx_errors += in.tx_errors;
    }
}

static void mp_ports(struct session *s, const struct ofp_msg *m, const void *raw, size_t len,
                     bool desc)
{
    struct port_list l;
    if (oa_ports_get(s->a, &l))
        return;
    uint32_t want = desc ? OFPP_ANY : m->u.multipart.u.port_no;
    if (want != OFPP_ANY && !oa_port_exists(&l, want, NULL)) {
        free(l.p);
        oa_send_error(s, m->xid, OFPERR_OFPBRC_BAD_PORT, raw, len);
        return;
    }
    size_t item = desc ? sizeof(struct ofp_port) : sizeof(struct ofp_port_stats);
    void *items = calloc(l.n ? l.n : 1, item);
    size_t n = 0;
    if (items) {
        for (unsigned i = 0; i < l.n; i++) {
            if (want != OFPP_ANY && l.p[i].ofport != want)
                continue;
            if (desc)
                oa_port_desc(s->a, s->version, &l.p[i], (struct ofp_port *)items + n++);
            else
                port_counters(s->a, &l.p[i], (struct ofp_port_stats *)items + n++);
        }
        oa_send_multipart(s, m->xid, desc ? OFPMP_PORT_DESC : OFPMP_PORT_STATS, items, n, item);
    }
    free(items);
    free(l.p);
}

struct group_collect {
    struct session *s;
    bool desc;
    struct ofp_group_desc *d;
    struct ofp_group_stats *st;
    size_t n, cap;
    bool failed;
};

static void collect_group(void *arg, const struct sw_group_desc *g)
{
    struct group_collect *c = arg;
    if (c->failed)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        void *p = c->desc ? realloc(c->d, cap * sizeof(*c->d))
                          : realloc(c->st, cap * sizeof(*c->st));
        if (!p) {
            c->failed = true;
            return;
        }
        if (c->desc)
            c->d = p;
        else
            c->st = p;
        c->cap = cap;
    }
    if (c->desc) {
        struct ofp_group_desc *d = &c->d[c->n];
        memset(d, 0, sizeof(*d));
        d->type = (uint8_t)g->type;   /* SW_GROUP_* has OpenFlow's numbering */
        d->group_id = g->id;
        d->buckets = calloc(g->n_buckets ? g->n_buckets : 1, sizeof(*d->buckets));
        if (!d->buckets) {
            c->failed = true;
            return;
        }
        d->n_buckets = g->n_buckets;
        for (unsigned b = 0; b < g->n_buckets; b++) {
            struct ofp_bucket *o = &d->buckets[b];
            struct ofp_instruction_list il;
            o->weight = g->type == SW_GROUP_SELECT ? g->buckets[b].weight : 0;
            uint32_t wp = g->buckets[b].watch_port;
            o->watch_port = wp == SW_GROUP_WATCH_NONE ? OFPP_ANY : wp;
            o->watch_group = g->buckets[b].watch_group == SW_GROUP_WATCH_NONE
                                 ? OFPG_ANY : g->buckets[b].watch_group;
            /* bucket actions: the 1.3 apply list */
            if (sw_ofpacts_to_ofp(g->buckets[b].actions, OFP13_VERSION, NULL, NULL, &o->actions,
                                  &il)) {
                c->failed = true;
            } else if (il.n) {
                o->actions = il.insts[0].actions;
                il.insts[0].actions = (struct ofp_action_list){0};
            }
            sw_ofconv_free_lists(NULL, &il);
        }
    } else {
        struct ofp_group_stats *st = &c->st[c->n];
        memset(st, 0, sizeof(*st));
        st->group_id = g->id;
        st->ref_count = g->ref_count;
        st->packet_count = g->n_packets;
        st->byte_count = g->n_bytes;
        st->duration_sec = (uint32_t)(g->duration_ms / 1000);
        st->duration_nsec = (uint32_t)(g->duration_ms % 1000) * 1000000u;
        st->buckets = calloc(g->n_buckets ? g->n_buckets : 1, sizeof(*st->buckets));
        if (!st->buckets) {
            c->failed = true;
            return;
        }
        st->n_buckets = g->n_buckets;
        for (unsigned b = 0; b < g->n_buckets; b++) {
            st->buckets[b].packet_count = g->buckets[b].n_packets;
            st->buckets[b].byte_count = g->buckets[b].n_bytes;
        }
    }
    c->n++;
}

static void mp_groups(struct session *s, const struct ofp_msg *m, bool desc)
{
    struct sw_ofagent *a = s->a;
    if (a->sync)
        a->sync(a->arg, true);
    struct group_collect c = {.s = s, .desc = desc};
    uint32_t id = desc || m->u.multipart.u.group_id == OFPG_ALL ? SW_GROUP_WATCH_NONE
                                                                : m->u.multipart.u.group_id;
    sw_ofproto_group_foreach(a->ofp, id, collect_group, &c);
    if (c.failed)
        oa_send_error(s, m->xid, OFPERR_OFPBRC_MULTIPART_BUFFER_OVERFLOW, NULL, 0);
    else if (desc)
        oa_send_multipart(s, m->xid, OFPMP_GROUP_DESC, c.d, c.n, sizeof(*c.d));
    else
        oa_send_multipart(s, m->xid, OFPMP_GROUP, c.st, c.n, sizeof(*c.st));
    for (size_t i = 0; i < c.n; i++) {
        if (desc) {
            for (size_t b = 0; b < c.d[i].n_buckets; b++)
                free(c.d[i].buckets[b].actions.actions);
            free(c.d[i].buckets);
        } else {
            free(c.st[i].buckets);
        }
    }
    free(c.d);
    free(c.st);
}

struct meter_collect {
    bool config;
    struct ofp_meter_config *cfg;
    struct ofp_meter_stats *st;
    struct ofp_meter_band *bands;
    struct ofp_meter_band_stats *bstats;
    size_t n, cap;
};

static void collect_meter(void *arg, const struct sw_meter_desc *d)
{
    struct meter_collect *c = arg;
    if (c->n == c->cap)
        return;
    size_t i = c->n++;
    if (c->config) {
        struct ofp_meter_config *o = &c->cfg[i];
        o->meter_id = d->id;
        o->flags = (uint16_t)((d->cfg.pktps ? OFPMF_PKTPS : OFPMF_KBPS) |
                              (d->burst ? OFPMF_BURST : 0) | OFPMF_STATS);
        o->bands = &c->bands[i * SW_METER_MAX_BANDS];
        o->n_bands = d->cfg.n_bands;
        for (unsigned b = 0; b < d->cfg.n_bands; b++) {
            o->bands[b].type = OFPMBT_DROP;
            o->bands[b].rate = d->cfg.bands[b].rate;
            o->bands[b].burst_size = d->burst ? d->cfg.bands[b].burst : 0;
        }
    } else {
        struct ofp_meter_stats *o = &c->st[i];
        o->meter_id = d->id;
        o->flow_count = d->flow_count;
        o->packet_in_count = d->stats.packets;
        o->byte_in_count = d->stats.bytes;
        o->duration_sec = (uint32_t)(d->duration_ms / 1000);
        o->duration_nsec = (uint32_t)(d->duration_ms % 1000) * 1000000u;
        o->bands = &c->bstats[i * SW_METER_MAX_BANDS];
        o->n_bands = d->cfg.n_bands;
        for (unsigned b = 0; b < d->cfg.n_bands; b++) {
            o->bands[b].packet_band_count = d->stats.band_packets[b];
            o->bands[b].byte_band_count = d->stats.band_bytes[b];
        }
    }
}

static void mp_meters(struct session *s, const struct ofp_msg *m, bool config)
{
    struct meter_collect c = {.config = config, .cap = SW_OFP_MAX_METERS};
    c.cfg = calloc(c.cap, sizeof(*c.cfg));
    c.st = calloc(c.cap, sizeof(*c.st));
    c.bands = calloc(c.cap * SW_METER_MAX_BANDS, sizeof(*c.bands));
    c.bstats = calloc(c.cap * SW_METER_MAX_BANDS, sizeof(*c.bstats));
    if (c.cfg && c.st && c.bands && c.bstats) {
        uint32_t id = m->u.multipart.u.meter_id == OFPM_ALL ? 0 : m->u.multipart.u.meter_id;
        sw_ofproto_meter_foreach(s->a->ofp, id, collect_meter, &c);
        if (config)
            oa_send_multipart(s, m->xid, OFPMP_METER_CONFIG, c.cfg, c.n, sizeof(*c.cfg));
        else
            oa_send_multipart(s, m->xid, OFPMP_METER, c.st, c.n, sizeof(*c.st));
    }
    free(c.cfg);
    free(c.st);
    free(c.bands);
    free(c.bstats);
}

void oa_handle_multipart(struct session *s, const struct ofp_msg *m, const void *raw,
                             size_t len)
{
    struct ofp_msg r;
    bool v10 = s->version == OFP10_VERSION;
    switch (m->u.multipart.type) {
    case OFPMP_DESC: {
        struct ofp_desc_stats d;
        memset(&d, 0, sizeof(d));
        snprintf(d.mfr_desc, sizeof(d.mfr_desc), "kvmkit");
        snprintf(d.hw_desc, sizeof(d.hw_desc), "kvmkit-switchd userspace datapath");
        snprintf(d.sw_desc, sizeof(d.sw_desc), "%s", s->a->sw_version);
        snprintf(d.serial_num, sizeof(d.serial_num), "None");
        snprintf(d.dp_desc, sizeof(d.dp_desc), "bridge %s", s->a->name);
        oa_init_reply(&r, s, OFP_MSG_MULTIPART_REPLY, m->xid);
        r.u.multipart.type = OFPMP_DESC;
        r.u.multipart.u.desc = &d;
        oa_send_msg(s, &r, false);
        return;
    }
    case OFPMP_FLOW:
    case OFPMP_AGGREGATE:
        mp_flow(s, m, raw, len, m->u.multipart.type == OFPMP_AGGREGATE);
        return;
    case OFPMP_TABLE:
        mp_tables(s, m->xid);
        return;
    case OFPMP_PORT_STATS:
    case OFPMP_PORT_DESC:
        if (v10 && m->u.multipart.type == OFPMP_PORT_DESC)
            break;
        if (s->a->sync)
            s->a->sync(s->a->arg, false);
        mp_ports(s, m, raw, len, m->u.multipart.type == OFPMP_PORT_DESC);
        return;
    case OFPMP_QUEUE:
        /* no QoS queues: an empty list */
        oa_send_multipart(s, m->xid, OFPMP_QUEUE, NULL, 0, sizeof(struct ofp_queue_stats));
        return;
    case OFPMP_TABLE_FEATURES:
        if (v10)
            break;
        mp_table_features(s, m, raw, len);
        return;
    case OFPMP_GROUP:
    case OFPMP_GROUP_DESC:
        if (v10)
            break;
        mp_groups(s, m, m->u.multipart.type == OFPMP_GROUP_DESC);
        return;
    case OFPMP_GROUP_FEATURES:
        if (v10)
            break;
        oa_init_reply(&r, s, OFP_MSG_MULTIPART_REPLY, m->xid);
        r.u.multipart.type = OFPMP_GROUP_FEATURES;
        r.u.multipart.u.group_features.types = 0xf;
        r.u.multipart.u.group_features.capabilities = 0x1 | 0x2 | 0x4 | 0x8;
        for (int i = 0; i < 4; i++) {
            r.u.multipart.u.group_features.max_groups[i] = 65536;
            /* output, push/pop vlan, group, ttl, set_field */
            r.u.multipart.u.group_features.actions[i] =
                1u << 0 | 1u << 17 | 1u << 18 | 1u << 22 | 1u << 23 | 1u << 24 | 1u << 25;
        }
        oa_send_msg(s, &r, false);
        return;
    case OFPMP_METER:
    case OFPMP_METER_CONFIG:
        if (v10)
            break;
        mp_meters(s, m, m->u.multipart.type == OFPMP_METER_CONFIG);
        return;
    case OFPMP_METER_FEATURES:
        if (v10)
            break;
        oa_init_reply(&r, s, OFP_MSG_MULTIPART_REPLY, m->xid);
        r.u.multipart.type = OFPMP_METER_FEATURES;
        r.u.multipart.u.meter_features.max_meter =
            sw_ofproto_has_meters(s->a->ofp) ? SW_OFP_MAX_METERS : 0;
        r.u.multipart.u.meter_features.band_types = 1u << OFPMBT_DROP;
        r.u.multipart.u.meter_features.capabilities = OFPMF_KBPS | OFPMF_PKTPS | OFPMF_BURST |
                                                      OFPMF_STATS;
        r.u.multipart.u.meter_features.max_bands = SW_METER_MAX_BANDS;
        oa_send_msg(s, &r, false);
        return;
    case OFPMP_EXPERIMENTER: {
        struct ofp_error e = {0};
        ofp_experimenter_error(m, m->u.multipart.u.experimenter.experimenter ==
                                      OFP_NICIRA_VENDOR_ID, &e);
        oa_send_error(s, m->xid, e.err, raw, len);
        return;
    }
    default:
        break;
    }
    oa_send_error(s, m->xid, OFPERR_OFPBRC_BAD_MULTIPART, raw, len);
}

