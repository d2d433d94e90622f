/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofproto.c — the bridge: ports, bonds, mirrors, OpenFlow rules and
 * flow-mods, dumps, the MAC table API, timers and the upcall entry. The
 * translation itself is in xlate.c, action lists in ofpact.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kk_common.h"
#include "kk_hash.h"
#include "kk_log.h"
#include "kk_rcu.h"
#include "lacp.h"
#include "ofproto_internal.h"
#include "pkt.h"

KK_LOG_COMPONENT(ofproto_log, "ofproto");

/* Buckets of a new bridge's rule index; it doubles when rules outnumber them. */
#define RULE_INDEX_MIN_BUCKETS 64

static uint64_t monotonic_ms(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t sw__ofproto_now(const struct sw_ofproto *ofp)
{
    return ofp->now_fn(ofp->now_arg);
}

static void bump(struct sw_ofproto *ofp)
{
    atomic_fetch_add_explicit(&ofp->seq, 1, memory_order_release);
}

void sw__ofproto_bump(struct sw_ofproto *ofp)
{
    bump(ofp);
}

uint64_t sw_ofproto_now_ms(const struct sw_ofproto *ofp)
{
    return ofp ? sw__ofproto_now(ofp) : 0;
}

bool sw_ofproto_has_meters(const struct sw_ofproto *ofp)
{
    return ofp && ofp->has_meter_provider;
}

void sw_ofproto_set_fail_open(struct sw_ofproto *ofp, bool on)
{
    if (ofp && atomic_exchange(&ofp->fail_open, on) != on)
        bump(ofp);
}

bool sw_ofproto_fail_open(struct sw_ofproto *ofp)
{
    return ofp && atomic_load(&ofp->fail_open);
}

void sw_ofproto_set_miss(struct sw_ofproto *ofp, bool to_controller, uint16_t max_len)
{
    unsigned v = to_controller ? (unsigned)max_len + 1 : 0;
    if (ofp && atomic_exchange(&ofp->miss_send_len, v) != v)
        bump(ofp);
}

int sw_ofproto_port_set_config(struct sw_ofproto *ofp, uint32_t ofport, uint32_t config,
                               uint32_t mask)
{
    if (!ofp || (mask & ~SW_PC_ALL))
        return -EINVAL;
    pthread_mutex_lock(&ofp->mutex);
    pthread_rwlock_wrlock(&ofp->cfg_lock);
    struct ofport *p = sw__port_by_ofport(ofp, ofport);
    if (p)
        p->config = (p->config & ~mask) | (config & mask);
    pthread_rwlock_unlock(&ofp->cfg_lock);
    pthread_mutex_unlock(&ofp->mutex);
    if (!p)
        return -ENOENT;
    bump(ofp);
    return 0;
}

bool sw_ofproto_flow_overlaps(struct sw_ofproto *ofp, const struct sw_flow_mod *fm)
{
    if (!ofp || !fm || fm->table_id >= SW_OFP_TABLES)
        return false;
    bool hit = false;
    pthread_mutex_lock(&ofp->mutex);
    for (struct rule *o = ofp->table_rules[fm->table_id].head; o && !hit; o = o->table_next) {
        if (o->priority != fm->priority)
            continue;
        /* some packet matches both unless a bit both care about differs */
        const uint64_t *a = sw_flow_key_words(&o->match), *am = sw_flow_key_words(&o->mask.masks);
        const uint64_t *b = sw_flow_key_words(&fm->match), *bm = sw_flow_key_words(&fm->mask.masks);
        uint64_t diff = 0;
        for (int w = 0; w < SW_FLOW_KEY_WORDS; w++)
            diff |= (a[w] ^ b[w]) & am[w] & bm[w];
        hit = diff == 0;
    }
    pthread_mutex_unlock(&ofp->mutex);
    return hit;
}

int sw_ofproto_table_stats(struct sw_ofproto *ofp, unsigned table, struct sw_table_stats *out)
{
    if (!ofp || !out || table >= SW_OFP_TABLES)
        return -EINVAL;
    pthread_mutex_lock(&ofp->mutex);
    out->active = ofp->table_rules[table].n;
    pthread_mutex_unlock(&ofp->mutex);
    out->lookups = atomic_load_explicit(&ofp->tbl_lookups[table], memory_order_relaxed);
    out->matched = atomic_load_explicit(&ofp->tbl_matched[table], memory_order_relaxed);
    return 0;
}

/* ---- create / destroy ---- */

int sw_ofproto_create(const struct sw_ofproto_settings *s, struct sw_ofproto **out)
{
    if (!s || !out || !s->name || !*s->name || strlen(s->name) >= 64)
        return -EINVAL;
    struct sw_ofproto *ofp = calloc(1, sizeof(*ofp));
    if (!ofp)
        return -ENOMEM;
    snprintf(ofp->name, sizeof(ofp->name), "%s", s->name);
    memcpy(ofp->mac, s->mac, 6);
    ofp->now_fn = s->now_ms ? s->now_ms : monotonic_ms;
    ofp->now_arg = s->now_arg;
    ofp->flow_removed = s->flow_removed;
    ofp->flow_removed_arg = s->flow_removed_arg;
    if (s->meters) {
        ofp->meter_provider = *s->meters;
        ofp->has_meter_provider = true;
    }
    pthread_mutex_init(&ofp->mutex, NULL);
    pthread_rwlock_init(&ofp->cfg_lock, NULL);
    ofp->rules.prev = ofp->rules.next = &ofp->rules;
    atomic_init(&ofp->version, 1);
    unsigned aging = s->mac_aging_s ? s->mac_aging_s : SW_OFP_DEFAULT_AGING_S;
    unsigned entries = s->mac_max_entries ? s->mac_max_entries : SW_OFP_DEFAULT_MAC_ENTRIES;
    ofp->index_buckets = RULE_INDEX_MIN_BUCKETS;
    ofp->index = calloc(ofp->index_buckets, sizeof(*ofp->index));
    int r = ofp->index ? 0 : -ENOMEM;
    if (r == 0)
        r = sw_mac_table_create(entries, (uint64_t)aging * 1000, &ofp->macs);
    if (r == 0 && !s->no_default_flow) {
        char err[128];
        r = sw_ofproto_add_flow(ofp, "priority=0,actions=normal", err, sizeof(err));
    }
    if (r) {
        sw_ofproto_destroy(ofp);
        return r;
    }
    *out = ofp;
    return 0;
}

static void free_port(struct ofport *p)
{
    if (!p)
        return;
    sw_bond_destroy(p->bond);
    free(p->members);
    free(p);
}

static void free_rule(void *arg)
{
    struct rule *r = arg;
    sw_ofpacts_free(atomic_load(&r->actions));
    free(r);
}

void sw_ofproto_destroy(struct sw_ofproto *ofp)
{
    if (!ofp)
        return;
    kk_rcu_barrier(); /* rules and action lists queued for reclamation */
    sw__groups_free(ofp);
    sw__meters_free(ofp);
    for (unsigned t = 0; t < SW_OFP_TABLES; t++)
        sw_cls_destroy(ofp->tables[t]);
    struct rule *r = ofp->rules.next;
    while (r && r != &ofp->rules) {
        struct rule *n = r->next;
        free_rule(r);
        r = n;
    }
    for (unsigned i = 0; i < ofp->n_ports; i++)
        free_port(ofp->ports[i]);
    for (unsigned i = 0; i < SW_OFP_MAX_MIRRORS; i++)
        free(ofp->mirrors[i]);
    free(ofp->index);
    sw_mac_table_destroy(ofp->macs);
    pthread_rwlock_destroy(&ofp->cfg_lock);
    pthread_mutex_destroy(&ofp->mutex);
    free(ofp);
}

const char *sw_ofproto_name(const struct sw_ofproto *ofp)
{
    return ofp ? ofp->name : NULL;
}

uint64_t sw_ofproto_change_seq(struct sw_ofproto *ofp)
{
    if (!ofp)
        return 0;
    uint64_t s = atomic_load_explicit(&ofp->seq, memory_order_acquire);
    s += sw_mac_change_seq(ofp->macs);
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    for (unsigned i = 0; i < ofp->n_ports; i++)
        if (ofp->ports[i]->bond)
            s += sw_bond_change_seq(ofp->ports[i]->bond);
    pthread_rwlock_unlock(&ofp->cfg_lock);
    return s;
}

/* ---- ports ---- */

static const char *const vlan_mode_names[] = {
    [SW_VLAN_MODE_TRUNK] = "trunk",
    [SW_VLAN_MODE_ACCESS] = "access",
    [SW_VLAN_MODE_NATIVE_TAGGED] = "native-tagged",
    [SW_VLAN_MODE_NATIVE_UNTAGGED] = "native-untagged",
};

int sw_vlan_mode_from_string(const char *s, enum sw_vlan_mode *out)
{
    for (unsigned i = 0; s && i < 4; i++)
        if (!strcmp(s, vlan_mode_names[i])) {
            *out = (enum sw_vlan_mode)i;
            return 0;
        }
    return -EINVAL;
}

const char *sw_vlan_mode_to_string(enum sw_vlan_mode m)
{
    return (unsigned)m < 4 ? vlan_mode_names[m] : "?";
}

struct ofport *sw__port_by_ofport(const struct sw_ofproto *ofp, uint32_t ofport)
{
    unsigned lo = 0, hi = ofp->n_ports;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (ofp->ports[mid]->ofport < ofport)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ofp->n_ports && ofp->ports[lo]->ofport == ofport ? ofp->ports[lo] : NULL;
}

struct ofport *sw__port_by_dp(const struct sw_ofproto *ofp, uint32_t dp_port)
{
    for (unsigned i = 0; i < ofp->n_ports; i++) {
        struct ofport *p = ofp->ports[i];
        if (!p->is_bond && p->dp_port == dp_port)
            return p;
        for (size_t m = 0; m < p->n_members; m++)
            if (p->members[m] == dp_port)
                return p;
    }
    return NULL;
}

struct ofport *sw__port_by_name(const struct sw_ofproto *ofp, const char *name)
{
    for (unsigned i = 0; i < ofp->n_ports; i++)
        if (!strcmp(ofp->ports[i]->name, name))
            return ofp->ports[i];
    return NULL;
}

int sw__ofport_from_text(struct sw_ofproto *ofp, const char *text, uint32_t *ofport)
{
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    struct ofport *p = sw__port_by_name(ofp, text);
    if (p)
        *ofport = p->ofport;
    pthread_rwlock_unlock(&ofp->cfg_lock);
    return p ? 0 : -ENOENT;
}

int sw_ofproto_port_by_name(struct sw_ofproto *ofp, const char *name, uint32_t *ofport)
{
    if (!ofp || !name || !ofport)
        return -EINVAL;
    return sw__ofport_from_text(ofp, name, ofport);
}

static int check_port_settings(const struct sw_port_settings *s)
{
    if (!s->name || !*s->name || strlen(s->name) >= 64)
        return -EINVAL;
    if (s->tag > 4095 || (unsigned)s->vlan_mode > SW_VLAN_MODE_NATIVE_UNTAGGED)
        return -EINVAL;
    if (s->n_trunks && !s->trunks)
        return -EINVAL;
    for (size_t i = 0; i < s->n_trunks; i++)
        if (s->trunks[i] > 4095)
            return -EINVAL;
    if (s->ofport > SW_OFPORT_MAX)
        return -EINVAL;
    if (s->bond && (!s->members || s->n_members == 0))
        return -EINVAL;
    return 0;
}

/* True if datapath port @dp is used by a port other than @except. */
static bool dp_port_used(const struct sw_ofproto *ofp, uint32_t dp, const struct ofport *except)
{
    struct ofport *p = sw__port_by_dp(ofp, dp);
    return p && p != except;
}

/* @s's trunk VLANs as a bitmap. */
static void trunk_bitmap(const struct sw_port_settings *s, uint8_t out[4096 / 8])
{
    memset(out, 0, 4096 / 8);
    for (size_t i = 0; i < s->n_trunks; i++)
        out[s->trunks[i] >> 3] |= (uint8_t)(1u << (s->trunks[i] & 7));
}

/* Would @s change @p's VLAN membership (mode, tag or trunks)? */
static bool vlan_settings_differ(const struct ofport *p, const struct sw_port_settings *s)
{
    if (p->vlan_mode != s->vlan_mode || p->tag != s->tag ||
        p->all_trunks != (s->n_trunks == 0))
        return true;
    uint8_t trunks[sizeof(p->trunks)];
    trunk_bitmap(s, trunks);
    return memcmp(trunks, p->trunks, sizeof(trunks)) != 0;
}

static void apply_vlan_settings(struct ofport *p, const struct sw_port_settings *s)
{
    p->vlan_mode = s->vlan_mode;
    p->tag = s->tag;
    p->n_trunks = (uint16_t)(s->n_trunks > 4096 ? 4096 : s->n_trunks);
    p->all_trunks = s->n_trunks == 0;
    trunk_bitmap(s, p->trunks);
}

static int set_bond_members(struct sw_ofproto *ofp, struct ofport *p,
                            const struct sw_port_settings *s)
{
    /* remove members no longer listed */
    for (size_t i = 0; i < p->n_members;) {
        bool keep = false;
        for (size_t j = 0; j < s->n_members; j++)
            keep |= s->members[j] == p->members[i];
        if (!keep) {
            sw_bond_member_del(p->bond, p->members[i]);
            p->members[i] = p->members[--p->n_members];
        } else {
            i++;
        }
    }
    uint32_t *m = realloc(p->members, s->n_members * sizeof(*m));
    if (!m)
        return -ENOMEM;
    p->members = m;
    for (size_t j = 0; j < s->n_members; j++) {
        bool have = false;
        for (size_t i = 0; i < p->n_members; i++)
            have |= p->members[i] == s->members[j];
        if (have)
            continue;
        const uint8_t *mac = s->member_macs ? s->member_macs[j] : ofp->mac;
        int r = sw_bond_member_add(p->bond, s->members[j], mac);
        if (r)
            return r;
        p->members[p->n_members++] = s->members[j];
    }
    return 0;
}

static void bond_settings(const struct sw_ofproto *ofp, const struct sw_port_settings *s,
                          struct sw_bond_settings *bs)
{
    *bs = *s->bond;
    if (!bs->name)
        bs->name = s->name;
    static const uint8_t zero[6];
    if (!memcmp(bs->sys_id, zero, 6))
        memcpy(bs->sys_id, ofp->mac, 6);
}

int sw_ofproto_port_add(struct sw_ofproto *ofp, const struct sw_port_settings *s,
                        uint32_t *ofport)
{
    if (!ofp || !s)
        return -EINVAL;
    int r = check_port_settings(s);
    if (r)
        return r;
    pthread_mutex_lock(&ofp->mutex);
    pthread_rwlock_wrlock(&ofp->cfg_lock);
    struct ofport *p = NULL;
    if (ofp->n_ports >= SW_OFP_MAX_PORTS) {
        r = -ENOSPC;
        goto out;
    }
    if (sw__port_by_name(ofp, s->name) || (s->ofport && sw__port_by_ofport(ofp, s->ofport))) {
        r = -EEXIST;
        goto out;
    }
    if (s->bond) {
        for (size_t i = 0; i < s->n_members; i++)
            if (dp_port_used(ofp, s->members[i], NULL)) {
                r = -EEXIST;
                goto out;
            }
    } else if (dp_port_used(ofp, s->dp_port, NULL)) {
        r = -EEXIST;
        goto out;
    }
    uint32_t no = s->ofport;
    if (!no) {
        /* lowest free number from 1: ports are sorted */
        no = 1;
        for (unsigned i = 0; i < ofp->n_ports && ofp->ports[i]->ofport == no; i++)
            no++;
        if (no > SW_OFPORT_MAX) {
            r = -ENOSPC;
            goto out;
        }
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        r = -ENOMEM;
        goto out;
    }
    snprintf(p->name, sizeof(p->name), "%s", s->name);
    p->ofport = no;
    apply_vlan_settings(p, s);
    if (s->bond) {
        struct sw_bond_settings bs;
        bond_settings(ofp, s, &bs);
        p->is_bond = true;
        p->dp_port = UINT32_MAX;
        r = sw_bond_create(&bs, &p->bond);
        if (r == 0)
            r = set_bond_members(ofp, p, s);
        if (r)
            goto out;
    } else {
        p->dp_port = s->dp_port;
        p->link_up = true;
    }
    unsigned pos = 0;
    while (pos < ofp->n_ports && ofp->ports[pos]->ofport < no)
        pos++;
    memmove(&ofp->ports[pos + 1], &ofp->ports[pos], (ofp->n_ports - pos) * sizeof(p));
    ofp->ports[pos] = p;
    ofp->n_ports++;
    if (ofport)
        *ofport = no;
    p = NULL;
    bump(ofp);
out:
    pthread_rwlock_unlock(&ofp->cfg_lock);
    pthread_mutex_unlock(&ofp->mutex);
    free_port(p);
    return r;
}

int sw_ofproto_port_reconfigure(struct sw_ofproto *ofp, const struct sw_port_settings *s)
{
    if (!ofp || !s)
        return -EINVAL;
    int r = check_port_settings(s);
    if (r)
        return r;
    pthread_mutex_lock(&ofp->mutex);
    pthread_rwlock_wrlock(&ofp->cfg_lock);
    struct ofport *p = sw__port_by_name(ofp, s->name);
    bool relearn = false;
    if (!p) {
        r = -ENOENT;
    } else if (p->is_bond != (s->bond != NULL)) {
        r = -EINVAL;
    } else if (s->bond) {
        for (size_t i = 0; i < s->n_members && !r; i++)
            if (dp_port_used(ofp, s->members[i], p))
                r = -EEXIST;
        if (!r) {
            struct sw_bond_settings bs;
            bond_settings(ofp, s, &bs);
            r = sw_bond_reconfigure(p->bond, &bs);
        }
        if (!r)
            r = set_bond_members(ofp, p, s);
    } else if (dp_port_used(ofp, s->dp_port, p)) {
        r = -EEXIST;
    } else {
        relearn = p->dp_port != s->dp_port; /* another wire */
        p->dp_port = s->dp_port;
    }
    uint32_t no = 0;
    if (!r && p) {
        /* Addresses learned on the port in VLANs it may have left are
         * forgotten; the other ports' entries stay (their membership is
         * the same). A bond's entries survive member changes: they name
         * the bond. */
        relearn |= vlan_settings_differ(p, s);
        apply_vlan_settings(p, s);
        no = p->ofport;
    }
    bump(ofp);
    pthread_rwlock_unlock(&ofp->cfg_lock);
    pthread_mutex_unlock(&ofp->mutex);
    if (relearn)
        sw_mac_flush_port(ofp->macs, no);
    return r;
}

int sw_ofproto_port_del(struct sw_ofproto *ofp, const char *name)
{
    if (!ofp || !name)
        return -EINVAL;
    pthread_mutex_lock(&ofp->mutex);
    pthread_rwlock_wrlock(&ofp->cfg_lock);
    struct ofport *p = sw__port_by_name(ofp, name);
    uint32_t no = 0;
    if (p) {
        no = p->ofport;
        unsigned i = 0;
        while (ofp->ports[i] != p)
            i++;
        memmove(&ofp->ports[i], &ofp->ports[i + 1], (ofp->n_ports - i - 1) * sizeof(p));
        ofp->n_ports--;
        for (unsigned m = 0; m < SW_OFP_MAX_MIRRORS; m++)
            if (ofp->mirrors[m] && ofp->mirrors[m]->out_ofport == no)
                ofp->mirrors[m]->out_ofport = 0;
        /* the bond's own sequence leaves the sum: add it (and one) to ours */
        if (p->bond)
            atomic_fetch_add(&ofp->seq, sw_bond_change_seq(p->bond));
        bump(ofp);
    }
    pthread_rwlock_unlock(&ofp->cfg_lock);
    pthread_mutex_unlock(&ofp->mutex);
    if (!p)
        return -ENOENT;
    sw_mac_flush_port(ofp->macs, no);
    free_port(p);
    return 0;
}

int sw_ofproto_set_link(struct sw_ofproto *ofp, uint32_t dp_port, bool up)
{
    if (!ofp)
        return -EINVAL;
    pthread_mutex_lock(&ofp->mutex);
    pthread_rwlock_wrlock(&ofp->cfg_lock);
    struct ofport *p = sw__port_by_dp(ofp, dp_port);
    if (p) {
        if (p->is_bond)
            sw_bond_member_set_link(p->bond, dp_port, up, sw__ofproto_now(ofp));
        else
            p->link_up = up;
        bump(ofp);
    }
    pthread_rwlock_unlock(&ofp->cfg_lock);
    pthread_mutex_unlock(&ofp->mutex);
    return p ? 0 : -ENOENT;
}

void sw_ofproto_port_foreach(struct sw_ofproto *ofp,
                             void (*fn)(void *arg, const struct sw_port_info *info), void *arg)
{
    if (!ofp || !fn)
        return;
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    for (unsigned i = 0; i < ofp->n_ports; i++) {
        const struct ofport *p = ofp->ports[i];
        struct sw_port_info info;
        memset(&info, 0, sizeof(info));
        snprintf(info.name, sizeof(info.name), "%s", p->name);
        info.ofport = p->ofport;
        info.vlan_mode = p->vlan_mode;
        info.tag = p->tag;
        for (unsigned v = 0; v < 4096 && !p->all_trunks && info.n_trunks < 64; v++)
            if (sw__vlan_bit(p->trunks, (uint16_t)v))
                info.trunks[info.n_trunks++] = (uint16_t)v;
        info.is_bond = p->is_bond;
        info.dp_port = p->dp_port;
        info.n_members = (uint32_t)p->n_members;
        for (size_t m = 0; m < p->n_members && m < 16; m++)
            info.members[m] = p->members[m];
        if (p->is_bond) {
            for (size_t m = 0; m < p->n_members; m++)
                info.link_up |= sw_bond_member_enabled(p->bond, p->members[m]);
        } else {
            info.link_up = p->link_up;
        }
        info.config = p->config;
        fn(arg, &info);
    }
    pthread_rwlock_unlock(&ofp->cfg_lock);
}

static int bond_text(struct sw_ofproto *ofp, const char *name, bool lacp, char *buf, size_t size)
{
    if (!ofp || !name)
        return -EINVAL;
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    struct ofport *p = sw__port_by_name(ofp, name);
    int r = !p ? -ENOENT : !p->is_bond ? -EINVAL
            : lacp ? sw_bond_format_lacp(p->bond, buf, size)
                   : sw_bond_format(p->bond, buf, size);
    pthread_rwlock_unlock(&ofp->cfg_lock);
    return r;
}

int sw_ofproto_bond_show(struct sw_ofproto *ofp, const char *name, char *buf, size_t size)
{
    return bond_text(ofp, name, false, buf, size);
}

int sw_ofproto_lacp_show(struct sw_ofproto *ofp, const char *name, char *buf, size_t size)
{
    return bond_text(ofp, name, true, buf, size);
}

/* ---- mirrors ---- */

int sw_ofproto_mirror_set(struct sw_ofproto *ofp, const struct sw_mirror_settings *s)
{
    if (!ofp || !s || !s->name || !*s->name || strlen(s->name) >= 64 || !s->output)
        return -EINVAL;
    for (size_t i = 0; i < s->n_select_vlan; i++)
        if (!s->select_vlan || s->select_vlan[i] > 4095)
            return -EINVAL;
    struct mirror *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    snprintf(m->name, sizeof(m->name), "%s", s->name);
    m->select_all = s->select_all;
    m->any_vlan = s->n_select_vlan == 0;
    for (size_t i = 0; i < s->n_select_vlan; i++)
        m->vlans[s->select_vlan[i] >> 3] |= (uint8_t)(1u << (s->select_vlan[i] & 7));

    int r = 0;
    pthread_mutex_lock(&ofp->mutex);
    pthread_rwlock_wrlock(&ofp->cfg_lock);
    int slot = -1;
    for (int i = 0; i < SW_OFP_MAX_MIRRORS; i++) {
        if (ofp->mirrors[i] && !strcmp(ofp->mirrors[i]->name, s->name)) {
            slot = i;
            break;
        }
        if (!ofp->mirrors[i] && slot < 0)
            slot = i;
    }
    struct ofport *out = sw__port_by_name(ofp, s->output);
    if (slot < 0)
        r = -ENOSPC;
    else if (!out)
        r = -EINVAL;
    for (size_t i = 0; !r && i < s->n_select_src; i++)
        if (!s->select_src[i] || !sw__port_by_name(ofp, s->select_src[i]))
            r = -EINVAL;
    for (size_t i = 0; !r && i < s->n_select_dst; i++)
        if (!s->select_dst[i] || !sw__port_by_name(ofp, s->select_dst[i]))
            r = -EINVAL;
    if (!r) {
        uint32_t bit = 1u << slot;
        m->out_ofport = out->ofport;
        for (unsigned i = 0; i < ofp->n_ports; i++) {
            ofp->ports[i]->mirror_src &= ~bit;
            ofp->ports[i]->mirror_dst &= ~bit;
        }
        for (size_t i = 0; i < s->n_select_src; i++)
            sw__port_by_name(ofp, s->select_src[i])->mirror_src |= bit;
        for (size_t i = 0; i < s->n_select_dst; i++)
            sw__port_by_name(ofp, s->select_dst[i])->mirror_dst |= bit;
        free(ofp->mirrors[slot]);
        ofp->mirrors[slot] = m;
        m = NULL;
        bump(ofp);
    }
    pthread_rwlock_unlock(&ofp->cfg_lock);
    pthread_mutex_unlock(&ofp->mutex);
    free(m);
    return r;
}

int sw_ofproto_mirror_del(struct sw_ofproto *ofp, const char *name)
{
    if (!ofp || !name)
        return -EINVAL;
    int r = -ENOENT;
    pthread_mutex_lock(&ofp->mutex);
    pthread_rwlock_wrlock(&ofp->cfg_lock);
    for (int i = 0; i < SW_OFP_MAX_MIRRORS; i++) {
        if (ofp->mirrors[i] && !strcmp(ofp->mirrors[i]->name, name)) {
            uint32_t bit = 1u << i;
            for (unsigned p = 0; p < ofp->n_ports; p++) {
                ofp->ports[p]->mirror_src &= ~bit;
                ofp->ports[p]->mirror_dst &= ~bit;
            }
            free(ofp->mirrors[i]);
            ofp->mirrors[i] = NULL;
            r = 0;
            bump(ofp);
        }
    }
    pthread_rwlock_unlock(&ofp->cfg_lock);
    pthread_mutex_unlock(&ofp->mutex);
    return r;
}


static int out_result(const struct sw__out *o)
{
    return o->len > INT32_MAX ? INT32_MAX : (int)o->len;
}

int sw_ofproto_mirror_format(struct sw_ofproto *ofp, char *buf, size_t size)
{
    struct sw__out o = {.buf = buf, .size = size};
    if (size)
        buf[0] = '\0';
    if (!ofp)
        return 0;
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    for (int i = 0; i < SW_OFP_MAX_MIRRORS; i++) {
        const struct mirror *m = ofp->mirrors[i];
        if (!m)
            continue;
        uint32_t bit = 1u << i;
        sw__put(&o, "%s:%s src=[", m->name, m->select_all ? " select_all" : "");
        bool first = true;
        for (unsigned p = 0; p < ofp->n_ports; p++)
            if (ofp->ports[p]->mirror_src & bit) {
                sw__put(&o, "%s%s", first ? "" : ",", ofp->ports[p]->name);
                first = false;
            }
        sw__put(&o, "] dst=[");
        first = true;
        for (unsigned p = 0; p < ofp->n_ports; p++)
            if (ofp->ports[p]->mirror_dst & bit) {
                sw__put(&o, "%s%s", first ? "" : ",", ofp->ports[p]->name);
                first = false;
            }
        sw__put(&o, "] vlans=[");
        first = true;
        for (unsigned v = 0; v < 4096 && !m->any_vlan; v++)
            if (sw__vlan_bit(m->vlans, (uint16_t)v)) {
                sw__put(&o, "%s%u", first ? "" : ",", v);
                first = false;
            }
        const struct ofport *out = sw__port_by_ofport(ofp, m->out_ofport);
        sw__put(&o, "] output=%s\n", out ? out->name : "(none)");
    }
    pthread_rwlock_unlock(&ofp->cfg_lock);
    return out_result(&o);
}

/* ---- flow-mods ---- */

static const char *prereq_error(const struct sw_flow_key *k, const struct sw_flow_mask *mask)
{
    const struct sw_flow_key *m = &mask->masks;
    uint16_t type = m->dl_type == 0xffff ? k->dl_type : 0;
    bool ip4 = type == PKT_ETH_TYPE_IPV4, ip6 = type == PKT_ETH_TYPE_IPV6;
    bool arp = type == PKT_ETH_TYPE_ARP || type == 0x8035;
    bool ip = ip4 || ip6;
    uint8_t proto = m->nw_proto == 0xff && ip ? k->nw_proto : 0;
    bool l4 = proto == PKT_IPPROTO_TCP || proto == PKT_IPPROTO_UDP ||
              proto == PKT_IPPROTO_SCTP || (ip4 && proto == PKT_IPPROTO_ICMP) ||
              (ip6 && proto == PKT_IPPROTO_ICMPV6);
    bool nd = ip6 && proto == PKT_IPPROTO_ICMPV6 && m->tp_src == 0xffff &&
              (k->tp_src == 135 || k->tp_src == 136) && m->tp_dst == 0xffff && k->tp_dst == 0;
    static const uint8_t zero16[16];
    if ((m->nw_src || m->nw_dst) && !(ip4 || arp))
        return "nw_src/nw_dst: prerequisite not met (needs ip or arp)";
    if ((memcmp(m->ipv6_src, zero16, 16) || memcmp(m->ipv6_dst, zero16, 16) || m->ipv6_label) &&
        !ip6)
        return "ipv6_src/ipv6_dst/ipv6_label: prerequisite not met (needs ipv6)";
    if (m->nw_proto && !(ip || arp))
        return "nw_proto: prerequisite not met (needs ip, ipv6 or arp)";
    if ((m->nw_tos || m->nw_ttl || m->nw_frag) && !ip)
        return "nw_tos/nw_ttl/ip_frag: prerequisite not met (needs ip or ipv6)";
    if ((m->tp_src || m->tp_dst) && !l4)
        return "tp_src/tp_dst: prerequisite not met (needs tcp, udp, sctp or icmp)";
    if (m->tcp_flags && proto != PKT_IPPROTO_TCP)
        return "tcp_flags: prerequisite not met (needs tcp)";
    if ((memcmp(m->arp_sha, zero16, 6) || memcmp(m->arp_tha, zero16, 6)) && !(arp || nd))
        return "arp_sha/arp_tha: prerequisite not met (needs arp, or icmp6 neighbor discovery)";
    if (memcmp(m->nd_target, zero16, 16) && !nd)
        return "nd_target: prerequisite not met (needs icmp6,icmpv6_type=135 or 136,icmpv6_code=0)";
    if (m->vlan_tci2 && !(k->vlan_tci & SW_VLAN_PRESENT && m->vlan_tci & SW_VLAN_PRESENT))
        return "vlan_tci2: prerequisite not met (needs an outer VLAN tag)";
    return NULL;
}

static bool is_field(const char *tok, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncasecmp(tok, name, n) != 0)
        return false;
    if (tok[n] == '\0') {
        *value = NULL;
        return true;
    }
    if (tok[n] == '=' || tok[n] == ':') {
        *value = tok + n + 1;
        return true;
    }
    return false;
}

static int uint_value(const char *v, uint64_t max, uint64_t *out)
{
    if (!v || !*v || *v == '-' || *v == '+')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || *end || x > max)
        return -EINVAL;
    *out = x;
    return 0;
}

/* Append @s (with a leading comma if needed) to the match text. */
static int append(char *dst, size_t size, size_t *len, const char *s)
{
    int n = snprintf(dst + *len, size - *len, "%s%s", *len ? "," : "", s);
    if (n < 0 || (size_t)n >= size - *len)
        return -E2BIG;
    *len += (size_t)n;
    return 0;
}

/* Find "actions=" at a token start; returns the pointer to it or NULL. */
static const char *find_actions(const char *text)
{
    for (const char *p = text; (p = strcasestr(p, "actions")) != NULL; p++) {
        bool start = p == text || p[-1] == ',' || isspace((unsigned char)p[-1]);
        const char *q = p + 7;
        while (isspace((unsigned char)*q))
            q++;
        if (start && (*q == '=' || *q == ':'))
            return p;
    }
    return NULL;
}

int sw_flow_mod_parse(struct sw_ofproto *ofp, enum sw_flow_mod_cmd cmd, const char *text,
                      struct sw_flow_mod *fm, char *err, size_t err_size)
{
    if (!fm)
        return -EINVAL;
    memset(fm, 0, sizeof(*fm));
    fm->priority = 32768;
    fm->table_all = cmd != SW_FM_ADD;
    if (!text)
        text = "";
    if (err && err_size)
        err[0] = '\0';
    bool is_add = cmd == SW_FM_ADD, is_del = cmd == SW_FM_DELETE || cmd == SW_FM_DELETE_STRICT;
    const char *acts = find_actions(text);
    if (acts && is_del)
        return sw__fail(err, err_size, "actions: not allowed when deleting flows");
    if (!acts && !is_del)
        return sw__fail(err, err_size, "actions: missing (add-flow and mod-flows need actions=...)");
    size_t match_len = acts ? (size_t)(acts - text) : strlen(text);
    char *copy = strndup(text, match_len);
    size_t msize = match_len + 64;
    char *mtext = calloc(1, msize);
    if (!copy || !mtext) {
        free(copy);
        free(mtext);
        return -ENOMEM;
    }
    size_t mlen = 0;
    int r = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t\n", &save); tok && !r;
         tok = strtok_r(NULL, ", \t\n", &save)) {
        const char *v;
        uint64_t x = 0;
        if (is_field(tok, "table", &v)) {
            if (uint_value(v, SW_OFP_TABLES - 1, &x))
                r = sw__fail(err, err_size, "table: bad value '%s' (0..%d)", v ? v : "",
                             SW_OFP_TABLES - 1);
            fm->table_id = (uint8_t)x;
            fm->table_all = false;
        } else if (is_field(tok, "priority", &v)) {
            if (uint_value(v, 65535, &x))
                r = sw__fail(err, err_size, "priority: bad value '%s' (0..65535)", v ? v : "");
            fm->priority = (int32_t)x;
        } else if (is_field(tok, "cookie", &v)) {
            char *slash = v ? strchr(v, '/') : NULL;
            if (slash)
                *slash = '\0';
            if (uint_value(v, UINT64_MAX, &x))
                r = sw__fail(err, err_size, "cookie: bad value '%s'", v ? v : "");
            fm->cookie = x;
            fm->cookie_mask = UINT64_MAX;
            if (!r && slash) {
                if (is_add)
                    r = sw__fail(err, err_size, "cookie: no mask allowed when adding a flow");
                else if (!strcmp(slash + 1, "-1"))
                    fm->cookie_mask = UINT64_MAX;
                else if (uint_value(slash + 1, UINT64_MAX, &x))
                    r = sw__fail(err, err_size, "cookie: bad mask '%s'", slash + 1);
                else
                    fm->cookie_mask = x;
            } else if (!r && !is_add) {
                fm->cookie_mask = UINT64_MAX;
            }
            if (is_add)
                fm->cookie_mask = 0;
        } else if (is_field(tok, "idle_timeout", &v) || is_field(tok, "hard_timeout", &v)) {
            if (uint_value(v, 65535, &x))
                r = sw__fail(err, err_size, "%.12s: bad value '%s' (0..65535 seconds)", tok,
                             v ? v : "");
            if (tok[0] == 'i' || tok[0] == 'I')
                fm->idle_timeout = (uint16_t)x;
            else
                fm->hard_timeout = (uint16_t)x;
        } else if (is_field(tok, "send_flow_rem", &v) && !v) {
            fm->flags |= SW_OFP_FLAG_SEND_FLOW_REM;
        } else if (is_field(tok, "no_counts", &v) && !v) {
            fm->flags |= SW_OFP_FLAG_NO_COUNTS;
        } else if (is_field(tok, "out_port", &v)) {
            if (!is_del)
                r = sw__fail(err, err_size, "out_port: only when deleting flows");
            else if (uint_value(v, SW_OFPORT_MAX, &x) &&
                     (!v || sw__ofport_from_text(ofp, v, &fm->out_port)))
                r = sw__fail(err, err_size, "out_port: unknown port '%s'", v ? v : "");
            else if (v && isdigit((unsigned char)v[0]))
                fm->out_port = (uint32_t)x;
        } else if (is_field(tok, "in_port", &v) && v && *v && !isdigit((unsigned char)*v)) {
            uint32_t no = 0;
            if (!ofp || sw__ofport_from_text(ofp, v, &no))
                r = sw__fail(err, err_size, "in_port: unknown port '%s'", v);
            char num[32];
            snprintf(num, sizeof(num), "in_port=%" PRIu32, no);
            if (!r && append(mtext, msize, &mlen, num))
                r = -ENOMEM;
        } else if (append(mtext, msize, &mlen, tok)) {
            r = -ENOMEM;
        }
    }
    free(copy);
    if (!r) {
        char ferr[200];
        if (sw_flow_parse(mtext, &fm->match, &fm->mask, ferr, sizeof(ferr)) != 0)
            r = sw__fail(err, err_size, "%s", ferr);
    }
    free(mtext);
    if (!r && fm->mask.masks.in_port &&
        (fm->match.in_port == 0 || fm->match.in_port > SW_OFPORT_MAX))
        r = sw__fail(err, err_size, "in_port: %u out of range 1..%u", fm->match.in_port,
                     SW_OFPORT_MAX);
    if (!r && fm->mask.masks.recirc_id)
        r = sw__fail(err, err_size, "recirc_id: not an OpenFlow field");
    if (!r) {
        const char *pe = prereq_error(&fm->match, &fm->mask);
        if (pe)
            r = sw__fail(err, err_size, "%s", pe);
    }
    if (!r && acts) {
        const char *a = acts + 7;
        while (isspace((unsigned char)*a))
            a++;
        a++; /* '=' or ':' */
        r = sw_ofpacts_parse(ofp, a, &fm->match, &fm->mask, fm->table_all ? 0 : fm->table_id,
                             &fm->actions, err, err_size);
    }
    if (r) {
        sw_flow_mod_uninit(fm);
        return r;
    }
    return 0;
}

void sw_flow_mod_uninit(struct sw_flow_mod *fm)
{
    if (fm) {
        sw_ofpacts_free(fm->actions);
        fm->actions = NULL;
    }
}

/* True if rule @r falls under the (non-strict / strict) flow-mod @fm. */
static bool rule_selected(const struct rule *r, const struct sw_flow_mod *fm, bool strict)
{
    if (!fm->table_all && r->table_id != fm->table_id)
        return false;
    if ((r->cookie & fm->cookie_mask) != (fm->cookie & fm->cookie_mask))
        return false;
    if (strict) {
        return r->priority == fm->priority &&
               !memcmp(&r->mask, &fm->mask, sizeof(r->mask)) &&
               !memcmp(&r->match, &fm->match, sizeof(r->match));
    }
    /* non-strict: the rule is at least as specific as the flow-mod's match */
    return sw_flow_mask_is_subset(&fm->mask, &r->mask) &&
           sw_flow_key_equal_masked(&r->match, &fm->match, &fm->mask);
}

static struct sw_cls *table_get(struct sw_ofproto *ofp, uint8_t t, int *err)
{
    struct sw_cls *cls = atomic_load_explicit(&ofp->tables[t], memory_order_acquire);
    if (!cls) {
        *err = sw_cls_create(&cls);
        if (*err)
            return NULL;
        atomic_store_explicit(&ofp->tables[t], cls, memory_order_release);
    }
    return cls;
}

/* ---- rule index: (table, priority, match, mask) -> rule ---- */

/* @match is masked. Add keeps at most one rule per (table, priority, match,
 * mask), so the index has no duplicates. */
static uint64_t rule_hash(unsigned table_id, int32_t priority, const struct sw_flow_key *match,
                          const struct sw_flow_mask *mask)
{
    uint64_t h = kk_hash_bytes(match, sizeof(*match), ((uint64_t)table_id << 32) |
                                                          (uint32_t)priority);
    return kk_hash_combine(h, kk_hash_bytes(mask, sizeof(*mask), 0));
}

/* The rule of table @table_id with exactly @priority, @match (masked) and
 * @mask, or NULL. */
static struct rule *index_find(const struct sw_ofproto *ofp, unsigned table_id,
                               int32_t priority, const struct sw_flow_key *match,
                               const struct sw_flow_mask *mask)
{
    uint64_t h = rule_hash(table_id, priority, match, mask);
    for (struct rule *r = ofp->index[h & (ofp->index_buckets - 1)]; r; r = r->hash_next)
        if (r->hash == h && r->table_id == table_id && r->priority == priority &&
            !memcmp(&r->mask, mask, sizeof(*mask)) && !memcmp(&r->match, match, sizeof(*match)))
            return r;
    return NULL;
}

/* Double the buckets. On allocation failure the index stays as it is:
 * still correct, with longer chains. */
static void index_grow(struct sw_ofproto *ofp)
{
    size_t n = ofp->index_buckets * 2;
    struct rule **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < ofp->index_buckets; i++) {
        for (struct rule *r = ofp->index[i], *next; r; r = next) {
            next = r->hash_next;
            r->hash_next = b[r->hash & (n - 1)];
            b[r->hash & (n - 1)] = r;
        }
    }
    free(ofp->index);
    ofp->index = b;
    ofp->index_buckets = n;
}

/* Append @r (inserted in its classifier) to the bridge's list and its
 * table's, and index it. */
static void link_rule(struct sw_ofproto *ofp, struct rule *r)
{
    r->prev = ofp->rules.prev;
    r->next = &ofp->rules;
    ofp->rules.prev->next = r;
    ofp->rules.prev = r;
    ofp->n_rules++;
    if (r->idle_timeout || r->hard_timeout)
        ofp->n_timed_rules++;

    struct rule_list *t = &ofp->table_rules[r->table_id];
    r->table_prev = t->tail;
    r->table_next = NULL;
    if (t->tail)
        t->tail->table_next = r;
    else
        t->head = r;
    t->tail = r;
    t->n++;

    r->hash = rule_hash(r->table_id, r->priority, &r->match, &r->mask);
    struct rule **bucket = &ofp->index[r->hash & (ofp->index_buckets - 1)];
    r->hash_next = *bucket;
    *bucket = r;
    if (ofp->n_rules > ofp->index_buckets)
        index_grow(ofp);
}

static void rule_info(const struct rule *r, struct sw_rule_info *info);

/* Tell the owner a rule that asked for it is gone (flow-removed). */
static void notify_removed(struct sw_ofproto *ofp, const struct rule *r, int reason)
{
    if (!ofp->flow_removed || !(r->flags & SW_OFP_FLAG_SEND_FLOW_REM))
        return;
    struct sw_rule_info info;
    rule_info(r, &info);
    ofp->flow_removed(ofp->flow_removed_arg, &info, reason);
}

/* Remove @r from its classifier at @version and from the lists and index. */
static void unlink_rule(struct sw_ofproto *ofp, struct rule *r, uint64_t version)
{
    sw_cls_remove(ofp->tables[r->table_id], r->cr, version);
    r->prev->next = r->next;
    r->next->prev = r->prev;
    ofp->n_rules--;
    if (r->idle_timeout || r->hard_timeout)
        ofp->n_timed_rules--;

    struct rule_list *t = &ofp->table_rules[r->table_id];
    if (r->table_prev)
        r->table_prev->table_next = r->table_next;
    else
        t->head = r->table_next;
    if (r->table_next)
        r->table_next->table_prev = r->table_prev;
    else
        t->tail = r->table_prev;
    t->n--;

    struct rule **p = &ofp->index[r->hash & (ofp->index_buckets - 1)];
    while (*p != r)
        p = &(*p)->hash_next;
    *p = r->hash_next;
}

/* Publish @version in every table touched (bitmap) and to translations. */
static void publish(struct sw_ofproto *ofp, const uint8_t *touched, uint64_t version)
{
    for (unsigned t = 0; t < SW_OFP_TABLES; t++)
        if (touched[t >> 3] & (1u << (t & 7)))
            sw_cls_publish(ofp->tables[t], version);
    atomic_store_explicit(&ofp->version, version, memory_order_release);
    bump(ofp);
}

static void touch(uint8_t *touched, unsigned t)
{
    touched[t >> 3] |= (uint8_t)(1u << (t & 7));
}

static unsigned del_rules_using(struct sw_ofproto *ofp, bool meter, uint32_t id, int reason)
{
    uint8_t touched[(SW_OFP_TABLES + 7) / 8] = {0};
    uint64_t version = atomic_load(&ofp->version) + 1;
    struct rule *dead = NULL;
    unsigned n = 0;
    for (struct rule *o = ofp->rules.next; o != &ofp->rules;) {
        struct rule *next = o->next;
        const struct sw_ofpacts *acts = atomic_load(&o->actions);
        if (meter ? sw__ofpacts_uses_meter(acts, id) : sw__ofpacts_uses_group(acts, id)) {
            notify_removed(ofp, o, reason);
            unlink_rule(ofp, o, version);
            touch(touched, o->table_id);
            o->next = dead;
            dead = o;
            n++;
        }
        o = next;
    }
    if (dead) {
        publish(ofp, touched, version);
        while (dead) {
            struct rule *d = dead->next;
            kk_rcu_call(free_rule, dead);
            dead = d;
        }
    }
    return n;
}

unsigned sw__ofproto_count_rules_using(struct sw_ofproto *ofp, bool meter, uint32_t id)
{
    unsigned n = 0;
    pthread_mutex_lock(&ofp->mutex);
    for (const struct rule *o = ofp->rules.next; o != &ofp->rules; o = o->next) {
        const struct sw_ofpacts *acts = atomic_load(&o->actions);
        n += meter ? sw__ofpacts_uses_meter(acts, id) : sw__ofpacts_uses_group(acts, id);
    }
    pthread_mutex_unlock(&ofp->mutex);
    return n;
}

unsigned sw__ofproto_del_rules_with_group(struct sw_ofproto *ofp, uint32_t id)
{
    return del_rules_using(ofp, false, id, SW_RR_GROUP_DELETE);
}

unsigned sw__ofproto_del_rules_with_meter(struct sw_ofproto *ofp, uint32_t id)
{
    /* OpenFlow 1.3 has no meter-delete reason (1.4's is 5): a delete */
    return del_rules_using(ofp, true, id, SW_RR_DELETE);
}

/* A flow-mod being applied: the version it changes, the tables it touched,
 * and the rules it removed (freed once that version is published). */
struct fm_batch {
    struct sw_ofproto *ofp;
    uint64_t version;
    uint8_t touched[(SW_OFP_TABLES + 7) / 8];
    struct rule *dead[64];
    unsigned n_dead, changed;
};

/* @reason: SW_RR_* for a flow-removed message, or -1 (a rule replaced by an
 * identical add: none). */
static void batch_remove(struct fm_batch *b, struct rule *o, int reason)
{
    if (reason >= 0)
        notify_removed(b->ofp, o, reason);
    if (b->n_dead == KK_ARRAY_SIZE(b->dead)) {
        /* publish this batch and go on with another version */
        publish(b->ofp, b->touched, b->version);
        for (unsigned i = 0; i < b->n_dead; i++)
            kk_rcu_call(free_rule, b->dead[i]);
        b->n_dead = 0;
        b->version++;
    }
    unlink_rule(b->ofp, o, b->version);
    b->dead[b->n_dead++] = o;
    touch(b->touched, o->table_id);
}

static void batch_finish(struct fm_batch *b)
{
    publish(b->ofp, b->touched, b->version);
    for (unsigned i = 0; i < b->n_dead; i++)
        kk_rcu_call(free_rule, b->dead[i]);
}

static int add_rule(struct fm_batch *b, const struct sw_flow_mod *fm, uint64_t now)
{
    struct sw_ofproto *ofp = b->ofp;
    struct rule *nr = calloc(1, sizeof(*nr));
    struct sw_ofpacts *acts = NULL;
    if (!nr || sw__ofpacts_dup(fm->actions, &acts)) {
        free(nr);
        return -ENOMEM;
    }
    nr->table_id = fm->table_id;
    nr->priority = fm->priority;
    sw_flow_key_mask(&nr->match, &fm->match, &fm->mask);
    nr->mask = fm->mask;
    nr->cookie = fm->cookie;
    nr->idle_timeout = fm->idle_timeout;
    nr->hard_timeout = fm->hard_timeout;
    nr->flags = fm->flags;
    nr->created_ms = now;
    atomic_init(&nr->used_ms, now);
    atomic_init(&nr->actions, acts);
    int r = 0;
    struct sw_cls *cls = table_get(ofp, fm->table_id, &r);
    if (!cls || (r = sw_cls_insert(cls, &nr->match, &nr->mask, nr->priority, b->version, nr,
                                   &nr->cr)) != 0) {
        free_rule(nr);
        return r;
    }
    /* an identical rule is replaced (OpenFlow "add" semantics), in the
     * same version: translations see the old rule or the new one */
    struct rule *old = index_find(ofp, nr->table_id, nr->priority, &nr->match, &nr->mask);
    if (old)
        batch_remove(b, old, -1);
    link_rule(ofp, nr);
    touch(b->touched, fm->table_id);
    b->changed = 1;
    return 0;
}

/* Modify or delete @o if @fm (match masked) selects it. 0 or -ENOMEM. */
static int change_rule(struct fm_batch *b, struct rule *o, const struct sw_flow_mod *fm,
                       bool strict, bool del)
{
    if (!rule_selected(o, fm, strict) ||
        (del && fm->out_port &&
         !sw__ofpacts_output_to(atomic_load(&o->actions), fm->out_port)) ||
        (del && fm->has_out_group &&
         !sw__ofpacts_uses_group(atomic_load(&o->actions), fm->out_group)))
        return 0;
    if (del) {
        batch_remove(b, o, SW_RR_DELETE);
    } else {
        if (fm->flags & SW_OFP_FLAG_RESET_COUNTS) {
            atomic_store(&o->n_packets, 0);
            atomic_store(&o->n_bytes, 0);
        }
        struct sw_ofpacts *acts;
        if (sw__ofpacts_dup(fm->actions, &acts))
            return -ENOMEM;
        struct sw_ofpacts *old = atomic_exchange(&o->actions, acts);
        kk_rcu_call((kk_rcu_fn)sw_ofpacts_free, old);
    }
    b->changed++;
    return 0;
}

/* The next rule after @o in the bridge's list (@all) or its table's. */
static struct rule *scan_next(struct sw_ofproto *ofp, const struct rule *o, bool all)
{
    if (!all)
        return o->table_next;
    return o->next != &ofp->rules ? o->next : NULL;
}

static int modify_or_delete(struct fm_batch *b, enum sw_flow_mod_cmd cmd,
                            const struct sw_flow_mod *fm)
{
    struct sw_ofproto *ofp = b->ofp;
    bool strict = cmd == SW_FM_MODIFY_STRICT || cmd == SW_FM_DELETE_STRICT;
    bool del = cmd == SW_FM_DELETE || cmd == SW_FM_DELETE_STRICT;
    bool all = fm->table_all;
    if (!all && fm->table_id >= SW_OFP_TABLES)
        return 0; /* no such table, no rule */
    struct sw_flow_mod sel = *fm;
    sw_flow_key_mask(&sel.match, &fm->match, &fm->mask);
    int r = 0;
    if (strict) {
        /* at most one rule per table: look each table concerned up */
        unsigned first = all ? 0 : fm->table_id, end = all ? SW_OFP_TABLES : first + 1u;
        for (unsigned t = first; t < end && !r; t++) {
            if (!ofp->table_rules[t].n)
                continue;
            struct rule *o = index_find(ofp, t, sel.priority, &sel.match, &sel.mask);
            if (o)
                r = change_rule(b, o, &sel, true, del);
        }
        return r;
    }
    /* non-strict: scan the table named, or every rule */
    struct rule *o = all ? scan_next(ofp, &ofp->rules, true) : ofp->table_rules[fm->table_id].head;
    while (o && !r) {
        struct rule *next = scan_next(ofp, o, all); /* before @o may be unlinked */
        r = change_rule(b, o, &sel, false, del);
        o = next;
    }
    return r;
}

int sw_ofproto_flow_mod(struct sw_ofproto *ofp, enum sw_flow_mod_cmd cmd,
                        const struct sw_flow_mod *fm, unsigned *n_changed)
{
    if (n_changed)
        *n_changed = 0;
    if (!ofp || !fm || fm->priority < 0 || fm->priority > 65535)
        return -EINVAL;
    if (cmd == SW_FM_ADD && fm->table_id >= SW_OFP_TABLES)
        return -EINVAL;
    struct fm_batch b = {.ofp = ofp};
    int r;

    pthread_mutex_lock(&ofp->mutex);
    b.version = atomic_load(&ofp->version) + 1;
    if (cmd == SW_FM_ADD) {
        r = add_rule(&b, fm, sw__ofproto_now(ofp));
        if (r) {
            pthread_mutex_unlock(&ofp->mutex);
            return r;
        }
    } else {
        r = modify_or_delete(&b, cmd, fm);
    }
    batch_finish(&b);
    pthread_mutex_unlock(&ofp->mutex);
    if (n_changed)
        *n_changed = b.changed;
    return r;
}

static int text_flow_mod(struct sw_ofproto *ofp, enum sw_flow_mod_cmd cmd, const char *text,
                         unsigned *n, char *err, size_t err_size)
{
    struct sw_flow_mod fm;
    int r = sw_flow_mod_parse(ofp, cmd, text, &fm, err, err_size);
    if (r)
        return r;
    r = sw_ofproto_flow_mod(ofp, cmd, &fm, n);
    sw_flow_mod_uninit(&fm);
    if (r && err && err_size)
        snprintf(err, err_size, "flow-mod failed: %s", strerror(-r));
    return r;
}

int sw_ofproto_add_flow(struct sw_ofproto *ofp, const char *text, char *err, size_t err_size)
{
    return text_flow_mod(ofp, SW_FM_ADD, text, NULL, err, err_size);
}

int sw_ofproto_mod_flows(struct sw_ofproto *ofp, const char *text, bool strict, char *err,
                         size_t err_size)
{
    return text_flow_mod(ofp, strict ? SW_FM_MODIFY_STRICT : SW_FM_MODIFY, text, NULL, err,
                         err_size);
}

int sw_ofproto_del_flows(struct sw_ofproto *ofp, const char *text, bool strict,
                         unsigned *n_deleted, char *err, size_t err_size)
{
    return text_flow_mod(ofp, strict ? SW_FM_DELETE_STRICT : SW_FM_DELETE, text, n_deleted, err,
                         err_size);
}

unsigned sw_ofproto_rule_count(struct sw_ofproto *ofp)
{
    if (!ofp)
        return 0;
    pthread_mutex_lock(&ofp->mutex);
    unsigned n = ofp->n_rules;
    pthread_mutex_unlock(&ofp->mutex);
    return n;
}

/* ---- dumps ---- */

static void rule_info(const struct rule *r, struct sw_rule_info *info)
{
    info->table_id = r->table_id;
    info->priority = r->priority;
    info->match = r->match;
    info->mask = r->mask;
    info->cookie = r->cookie;
    info->idle_timeout = r->idle_timeout;
    info->hard_timeout = r->hard_timeout;
    info->flags = r->flags;
    info->n_packets = atomic_load_explicit(&r->n_packets, memory_order_relaxed);
    info->n_bytes = atomic_load_explicit(&r->n_bytes, memory_order_relaxed);
    info->created_ms = r->created_ms;
    info->used_ms = atomic_load_explicit(&r->used_ms, memory_order_relaxed);
    info->actions = atomic_load(&r->actions);
}

struct sort_item {
    struct rule *r;
    unsigned order;
};

static int cmp_rules(const void *a, const void *b)
{
    const struct sort_item *x = a, *y = b;
    if (x->r->table_id != y->r->table_id)
        return x->r->table_id < y->r->table_id ? -1 : 1;
    if (x->r->priority != y->r->priority)
        return x->r->priority > y->r->priority ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

int sw_ofproto_flow_dump(struct sw_ofproto *ofp, const char *filter,
                         void (*fn)(void *arg, const struct sw_rule_info *rule), void *arg,
                         char *err, size_t err_size)
{
    if (!ofp || !fn)
        return -EINVAL;
    struct sw_flow_mod fm;
    int r = sw_flow_mod_parse(ofp, SW_FM_DELETE, filter ? filter : "", &fm, err, err_size);
    if (r)
        return r;
    sw_flow_key_mask(&fm.match, &fm.match, &fm.mask);
    pthread_mutex_lock(&ofp->mutex);
    struct sort_item *items = calloc(ofp->n_rules + 1, sizeof(*items));
    if (!items) {
        pthread_mutex_unlock(&ofp->mutex);
        return -ENOMEM;
    }
    unsigned n = 0;
    for (struct rule *o = ofp->rules.next; o != &ofp->rules; o = o->next, n++) {
        items[n].r = o;
        items[n].order = n;
    }
    qsort(items, n, sizeof(*items), cmp_rules);
    for (unsigned i = 0; i < n; i++) {
        if (!rule_selected(items[i].r, &fm, false) ||
            (fm.out_port && !sw__ofpacts_output_to(atomic_load(&items[i].r->actions),
                                                   fm.out_port)))
            continue;
        struct sw_rule_info info;
        rule_info(items[i].r, &info);
        fn(arg, &info);
    }
    pthread_mutex_unlock(&ofp->mutex);
    free(items);
    return 0;
}

int sw_rule_format(const struct sw_rule_info *rule, char *buf, size_t size)
{
    struct sw__out o = {.buf = buf, .size = size};
    if (size)
        buf[0] = '\0';
    char match[SW_FLOW_FORMAT_MAX], acts[4096];
    sw_flow_format(&rule->match, &rule->mask, match, sizeof(match));
    sw_ofpacts_format(rule->actions, acts, sizeof(acts));
    sw__put(&o, "priority=%" PRId32 "%s%s actions=%s", rule->priority, match[0] ? "," : "", match,
        acts);
    return out_result(&o);
}

struct dump_ctx {
    struct sw__out *o;
    bool stats;
    uint64_t now;
};

static void dump_one(void *arg, const struct sw_rule_info *rule)
{
    struct dump_ctx *d = arg;
    char text[8192];
    sw_rule_format(rule, text, sizeof(text));
    sw__put(d->o, " cookie=0x%" PRIx64 ",", rule->cookie);
    if (d->stats) {
        uint64_t age = d->now > rule->created_ms ? d->now - rule->created_ms : 0;
        sw__put(d->o, " duration=%" PRIu64 ".%03" PRIu64 "s,", age / 1000, age % 1000);
    }
    sw__put(d->o, " table=%u,", rule->table_id);
    if (d->stats)
        sw__put(d->o, " n_packets=%" PRIu64 ", n_bytes=%" PRIu64 ",", rule->n_packets,
            rule->n_bytes);
    if (rule->idle_timeout)
        sw__put(d->o, " idle_timeout=%u,", rule->idle_timeout);
    if (rule->hard_timeout)
        sw__put(d->o, " hard_timeout=%u,", rule->hard_timeout);
    sw__put(d->o, " %s\n", text);
}

int sw_ofproto_dump_flows(struct sw_ofproto *ofp, const char *filter, bool with_stats,
                          char *buf, size_t size)
{
    struct sw__out o = {.buf = buf, .size = size};
    if (size)
        buf[0] = '\0';
    if (!ofp)
        return -EINVAL;
    struct dump_ctx d = {.o = &o, .stats = with_stats, .now = sw__ofproto_now(ofp)};
    int r = sw_ofproto_flow_dump(ofp, filter, dump_one, &d, NULL, 0);
    return r ? r : out_result(&o);
}

/* ---- timers ---- */

void sw_ofproto_run(struct sw_ofproto *ofp,
                    void (*send)(void *arg, uint32_t dp_port, const void *frame, size_t len),
                    void *arg)
{
    if (!ofp)
        return;
    uint64_t now = sw__ofproto_now(ofp);
    sw_mac_expire(ofp->macs, now);

    pthread_mutex_lock(&ofp->mutex);
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    for (unsigned i = 0; i < ofp->n_ports; i++)
        if (ofp->ports[i]->bond && sw_bond_run(ofp->ports[i]->bond, now, send, arg))
            bump(ofp);
    pthread_rwlock_unlock(&ofp->cfg_lock);

    /* rule timeouts, all expired rules in one version */
    uint8_t touched[(SW_OFP_TABLES + 7) / 8] = {0};
    uint64_t version = atomic_load(&ofp->version) + 1;
    struct rule *dead = NULL;
    /* only rules with a timeout are looked at: none, no walk (100,000 rules
     * without timeouts cost nothing every 100 ms) */
    for (struct rule *o = ofp->n_timed_rules ? ofp->rules.next : &ofp->rules; o != &ofp->rules;) {
        struct rule *next = o->next;
        uint64_t used = atomic_load_explicit(&o->used_ms, memory_order_relaxed);
        bool hard = o->hard_timeout && now - o->created_ms >= (uint64_t)o->hard_timeout * 1000;
        bool idle = o->idle_timeout && now >= used &&
                    now - used >= (uint64_t)o->idle_timeout * 1000;
        if (hard || idle) {
            notify_removed(ofp, o, hard ? SW_RR_HARD_TIMEOUT : SW_RR_IDLE_TIMEOUT);
            unlink_rule(ofp, o, version);
            touch(touched, o->table_id);
            o->next = dead; /* reuse the link for the free list */
            dead = o;
        }
        o = next;
    }
    if (dead) {
        publish(ofp, touched, version);
        while (dead) {
            struct rule *n = dead->next;
            kk_rcu_call(free_rule, dead);
            dead = n;
        }
    }
    pthread_mutex_unlock(&ofp->mutex);
}

/* ---- fdb ---- */

struct fdb_ctx {
    struct sw_ofproto *ofp;
    void (*fn)(void *arg, const struct sw_fdb_entry *e);
    void *arg;
    struct sw_fdb_entry *entries;
    size_t n, cap;
};

static void fdb_collect(void *arg, uint16_t vlan, const uint8_t mac[6], uint32_t port,
                        uint64_t age_ms)
{
    struct fdb_ctx *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct sw_fdb_entry *e = realloc(c->entries, cap * sizeof(*e));
        if (!e)
            return;
        c->entries = e;
        c->cap = cap;
    }
    struct sw_fdb_entry *e = &c->entries[c->n++];
    memset(e, 0, sizeof(*e));
    e->vlan = vlan;
    memcpy(e->mac, mac, 6);
    e->ofport = port;
    e->age_s = (uint32_t)(age_ms / 1000);
}

static int cmp_fdb(const void *a, const void *b)
{
    const struct sw_fdb_entry *x = a, *y = b;
    if (x->ofport != y->ofport)
        return x->ofport < y->ofport ? -1 : 1;
    if (x->vlan != y->vlan)
        return x->vlan < y->vlan ? -1 : 1;
    return memcmp(x->mac, y->mac, 6);
}

void sw_ofproto_fdb_foreach(struct sw_ofproto *ofp,
                            void (*fn)(void *arg, const struct sw_fdb_entry *e), void *arg)
{
    if (!ofp || !fn)
        return;
    struct fdb_ctx c = {.ofp = ofp};
    sw_mac_foreach(ofp->macs, sw__ofproto_now(ofp), fdb_collect, &c);
    if (c.n)
        qsort(c.entries, c.n, sizeof(*c.entries), cmp_fdb);
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    for (size_t i = 0; i < c.n; i++) {
        const struct ofport *p = sw__port_by_ofport(ofp, c.entries[i].ofport);
        snprintf(c.entries[i].port_name, sizeof(c.entries[i].port_name), "%s",
                 p ? p->name : "?");
    }
    pthread_rwlock_unlock(&ofp->cfg_lock);
    for (size_t i = 0; i < c.n; i++)
        fn(arg, &c.entries[i]);
    free(c.entries);
}

static void fdb_line(void *arg, const struct sw_fdb_entry *e)
{
    sw__put(arg, "%5" PRIu32 "  %4u  %02x:%02x:%02x:%02x:%02x:%02x  %3" PRIu32 "\n", e->ofport,
        e->vlan, e->mac[0], e->mac[1], e->mac[2], e->mac[3], e->mac[4], e->mac[5], e->age_s);
}

int sw_ofproto_fdb_show(struct sw_ofproto *ofp, char *buf, size_t size)
{
    struct sw__out o = {.buf = buf, .size = size};
    if (size)
        buf[0] = '\0';
    sw__put(&o, " port  VLAN  MAC                Age\n");
    sw_ofproto_fdb_foreach(ofp, fdb_line, &o);
    return out_result(&o);
}

void sw_ofproto_fdb_flush(struct sw_ofproto *ofp)
{
    if (ofp) {
        sw_mac_flush(ofp->macs);
        bump(ofp);
    }
}

/* ---- upcall ---- */

enum sw_upcall_result sw_ofproto_upcall(struct sw_ofproto *ofp, struct sw_upcall *up)
{
    if (!ofp || !up || !up->key)
        return SW_UPCALL_NO_INSTALL;
    const struct sw_flow_key *key = up->key;
    up->flow_user = ofp;
    /* Slow-protocol frames (LACP, marker) must always reach the slow path:
     * never install a megaflow for them. */
    if (key->dl_type == 0x8809) {
        if (up->pkt) {
            const uint8_t *data = pkt_data(up->pkt);
            size_t len = up->pkt->data_len;
            pthread_rwlock_rdlock(&ofp->cfg_lock);
            struct ofport *p = sw__port_by_dp(ofp, key->in_port);
            bool consumed = false;
            if (p && p->is_bond && sw_lacp_is_lacp_frame(data, len)) {
                sw_bond_process_lacp(p->bond, key->in_port, data, len, sw__ofproto_now(ofp));
                consumed = true;
            }
            pthread_rwlock_unlock(&ofp->cfg_lock);
            if (consumed)
                return SW_UPCALL_CONSUMED;
        }
        sw_odp_buf_init(&up->actions);
        return SW_UPCALL_NO_INSTALL;
    }
    /* Rules are credited from the megaflow's statistics (sw_dpif_flow_push
     * -> sw_ofproto_credit), which count this packet too; a packet that
     * gets no megaflow is credited here. */
    int r = sw__ofproto_xlate(ofp, key, &up->actions, &up->wc, SW_XLATE_NO_STATS, NULL, 0);
    if (r == -E2BIG || r == -ENOENT) {
        if (up->pkt)
            sw_ofproto_credit(ofp, key, 1, up->pkt->pkt_len, 0);
        return SW_UPCALL_NO_INSTALL;
    }
    return SW_UPCALL_INSTALL;
}

enum sw_upcall_result sw_ofproto_upcall_cb(void *ofp, struct sw_upcall *up)
{
    return sw_ofproto_upcall(ofp, up);
}
