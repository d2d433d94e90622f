/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bonds: member enabling (carrier, up/down delays, LACP), the active
 * member, hash buckets for the balancing modes, rebalancing by load, and
 * the slow path's two questions (output member, input admissibility).
 * See bond.h for the contract.
 *
 * Invariants kept by the writers (under the write lock), so that readers
 * never have to fix anything up:
 *   - every hash bucket points at an enabled member when any is enabled;
 *   - the active member is enabled, or SW_BOND_NONE when none is.
 * Lock order: bond rwlock, then the sw_lacp mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bond.h"
#include "kk_log.h"
#include "lacp.h"

KK_LOG_COMPONENT(bond_log, "bond");

#define N_BUCKETS 256
#define HASH_BASIS 0x62a0f3b5u
#define DEFAULT_PORT_PRIORITY 65535

struct bond_member {
    uint32_t id;
    uint8_t mac[6];
    bool link_up;
    bool enabled;
    bool delay_pending;         /* enabled is about to flip at delay_expires */
    uint64_t delay_expires;
};

struct bucket {
    uint32_t member;            /* SW_BOND_NONE when no member is enabled */
    uint64_t tx_bytes;          /* load since the last rebalance (decaying); atomic */
};

struct sw_bond {
    pthread_rwlock_t rwlock;
    char *name;
    struct sw_bond_settings s;  /* s.name points at @name */
    struct sw_lacp *lacp;       /* NULL when LACP is off */
    bool negotiated;            /* LACP negotiated (cached by writers) */
    struct bond_member *members;
    size_t n_members, cap_members;
    uint32_t active;
    struct bucket buckets[N_BUCKETS];
    uint64_t now_ms;            /* last time a caller told us */
    uint64_t next_rebalance;
    uint64_t change_seq;        /* atomic */
    bool unreported;            /* a change sw_bond_run() has not returned yet */
};

/* ---- names ---- */

static const char *const mode_names[] = {"active-backup", "balance-slb", "balance-tcp"};
static const char *const lacp_names[] = {"off", "active", "passive"};

int sw_bond_mode_from_string(const char *s, enum sw_bond_mode *out)
{
    for (int i = 0; s && out && i < 3; i++) {
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (enum sw_bond_mode)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *sw_bond_mode_to_string(enum sw_bond_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "unknown";
}

int sw_bond_lacp_from_string(const char *s, enum sw_bond_lacp *out)
{
    for (int i = 0; s && out && i < 3; i++) {
        if (strcmp(s, lacp_names[i]) == 0) {
            *out = (enum sw_bond_lacp)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- helpers (callers hold the lock as noted) ---- */

static struct bond_member *find_member(const struct sw_bond *bond, uint32_t id)
{
    for (size_t i = 0; i < bond->n_members; i++)
        if (bond->members[i].id == id)
            return &bond->members[i];
    return NULL;
}

static bool lacp_down(const struct sw_bond *bond)
{
    return bond->lacp && !bond->negotiated && !bond->s.lacp_fallback_ab;
}

/* The mode in force: LACP configured without a partner falls back to
 * active-backup (or the bond is down, see lacp_down()). */
static enum sw_bond_mode effective_mode(const struct sw_bond *bond)
{
    if (bond->lacp && !bond->negotiated)
        return SW_BOND_ACTIVE_BACKUP;
    return bond->s.mode;
}

static bool member_wants_enable(const struct sw_bond *bond, const struct bond_member *m)
{
    if (!m->link_up)
        return false;
    if (!bond->lacp)
        return true;
    if (bond->negotiated)
        return sw_lacp_member_may_enable(bond->lacp, m->id);
    return bond->s.lacp_fallback_ab;
}

static void bump(struct sw_bond *bond)
{
    __atomic_add_fetch(&bond->change_seq, 1, __ATOMIC_RELEASE);
    bond->unreported = true;
}

static uint64_t bucket_load(const struct bucket *b)
{
    return __atomic_load_n(&b->tx_bytes, __ATOMIC_RELAXED);
}

/* Give buckets of members that are not enabled to the least loaded
 * enabled member (fewest buckets on a tie). While no load has been
 * recorded, keep the bucket counts even instead, moving as few buckets as
 * possible, so that a member that comes up gets its share at once without
 * waiting for traffic and a rebalance. Write lock held. */
static bool assign_buckets(struct sw_bond *bond)
{
    size_t n = bond->n_members;
    uint64_t *load = calloc(n ? n : 1, sizeof(*load));
    unsigned *count = calloc(n ? n : 1, sizeof(*count));
    unsigned *quota = calloc(n ? n : 1, sizeof(*quota));
    bool changed = false;
    if (!load || !count || !quota) {
        /* Out of memory: keep readers safe by pointing everything at the
         * active member. */
        for (int b = 0; b < N_BUCKETS; b++) {
            if (bond->buckets[b].member != bond->active) {
                bond->buckets[b].member = bond->active;
                changed = true;
            }
        }
        goto out;
    }
    uint64_t total = 0;
    size_t n_enabled = 0;
    for (size_t i = 0; i < n; i++)
        n_enabled += bond->members[i].enabled;
    for (int b = 0; b < N_BUCKETS; b++)
        total += bucket_load(&bond->buckets[b]);
    bool even = total == 0 && n_enabled > 0;
    if (even) {
        size_t rank = 0;
        for (size_t i = 0; i < n; i++)
            if (bond->members[i].enabled)
                quota[i] = (unsigned)(N_BUCKETS / n_enabled + (rank++ < N_BUCKETS % n_enabled));
    }
    /* Keep what may stay. */
    bool orphan[N_BUCKETS];
    for (int b = 0; b < N_BUCKETS; b++) {
        struct bond_member *m = find_member(bond, bond->buckets[b].member);
        size_t i = m ? (size_t)(m - bond->members) : 0;
        orphan[b] = !m || !m->enabled || (even && count[i] >= quota[i]);
        if (!orphan[b]) {
            load[i] += bucket_load(&bond->buckets[b]);
            count[i]++;
        }
    }
    for (int b = 0; b < N_BUCKETS; b++) {
        if (!orphan[b])
            continue;
        struct bucket *bk = &bond->buckets[b];
        uint32_t to = SW_BOND_NONE;
        if (n_enabled) {
            size_t best = SIZE_MAX;
            for (size_t i = 0; i < n; i++) {
                if (!bond->members[i].enabled || (even && count[i] >= quota[i]))
                    continue;
                if (best == SIZE_MAX || load[i] < load[best] ||
                    (load[i] == load[best] && count[i] < count[best]))
                    best = i;
            }
            load[best] += bucket_load(bk);
            count[best]++;
            to = bond->members[best].id;
        }
        if (bk->member != to) {
            bk->member = to;
            changed = true;
        }
    }
out:
    free(load);
    free(count);
    free(quota);
    return changed;
}

/* Recompute enabled members, the active member and the buckets after
 * anything changed. Write lock held. Returns true if anything changed. */
static bool update(struct sw_bond *bond, uint64_t now_ms)
{
    bool changed = false;
    bond->now_ms = now_ms;
    if (bond->lacp) {
        bool negotiated = sw_lacp_status(bond->lacp) == SW_LACP_NEGOTIATED;
        if (negotiated != bond->negotiated) {
            bond->negotiated = negotiated;
            changed = true;
            KK_LOGI(bond_log, "%s: LACP %s", bond->name,
                    negotiated ? "negotiated" : "not negotiated");
        }
    }
    size_t n_enabled = 0;
    for (size_t i = 0; i < bond->n_members; i++) {
        struct bond_member *m = &bond->members[i];
        bool want = member_wants_enable(bond, m);
        if (want == m->enabled) {
            m->delay_pending = false;
        } else {
            if (!m->delay_pending) {
                m->delay_pending = true;
                m->delay_expires = now_ms + (want ? bond->s.updelay_ms : bond->s.downdelay_ms);
            }
            if (now_ms >= m->delay_expires) {
                m->enabled = want;
                m->delay_pending = false;
                changed = true;
                KK_LOGI(bond_log, "%s: member %u %s", bond->name, m->id,
                        want ? "enabled" : "disabled");
            }
        }
        n_enabled += m->enabled;
    }
    if (n_enabled == 0) {
        /* Like OVS: with nothing else up, waiting out an updelay only
         * prolongs the outage. */
        struct bond_member *best = NULL;
        for (size_t i = 0; i < bond->n_members; i++) {
            struct bond_member *m = &bond->members[i];
            if (m->delay_pending && !m->enabled &&
                (!best || m->delay_expires < best->delay_expires))
                best = m;
        }
        if (best) {
            KK_LOGI(bond_log, "%s: member %u enabled, skipping the rest of its updelay "
                    "since no other member is up", bond->name, best->id);
            best->enabled = true;
            best->delay_pending = false;
            changed = true;
        }
    }

    struct bond_member *active = find_member(bond, bond->active);
    if (!active || !active->enabled) {
        uint32_t next = SW_BOND_NONE;
        for (size_t i = 0; i < bond->n_members; i++) {
            if (bond->members[i].enabled) {
                next = bond->members[i].id;
                break;
            }
        }
        if (next != bond->active) {
            KK_LOGI(bond_log, "%s: active member %u (was %u)", bond->name, next, bond->active);
            bond->active = next;
            changed = true;
        }
    }
    if (assign_buckets(bond))
        changed = true;
    if (changed)
        bump(bond);
    return changed;
}

/* Move buckets from the most to the least loaded member while that
 * narrows the gap, then let the loads decay. Write lock held. */
static bool rebalance(struct sw_bond *bond)
{
    size_t n = bond->n_members;
    bool changed = false;
    uint64_t *load = calloc(n ? n : 1, sizeof(*load));
    if (!load)
        return false;
    for (int b = 0; b < N_BUCKETS; b++) {
        struct bond_member *m = find_member(bond, bond->buckets[b].member);
        if (m && m->enabled)
            load[m - bond->members] += bucket_load(&bond->buckets[b]);
    }
    for (int round = 0; round < N_BUCKETS; round++) {
        size_t hi = SIZE_MAX, lo = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            if (!bond->members[i].enabled)
                continue;
            if (hi == SIZE_MAX || load[i] > load[hi])
                hi = i;
            if (lo == SIZE_MAX || load[i] < load[lo])
                lo = i;
        }
        if (hi == SIZE_MAX || hi == lo)
            break;
        uint64_t gap = load[hi] - load[lo];
        if (gap == 0 || gap < load[hi] / 10)
            break; /* within 10%: moving flows costs more than it gains */
        /* The bucket whose load is closest to half the gap narrows it most. */
        int best = -1;
        uint64_t best_dist = 0;
        for (int b = 0; b < N_BUCKETS; b++) {
            uint64_t l = bucket_load(&bond->buckets[b]);
            if (bond->buckets[b].member != bond->members[hi].id || l == 0 || l >= gap)
                continue;
            uint64_t dist = l > gap / 2 ? l - gap / 2 : gap / 2 - l;
            if (best < 0 || dist < best_dist) {
                best = b;
                best_dist = dist;
            }
        }
        if (best < 0)
            break;
        uint64_t l = bucket_load(&bond->buckets[best]);
        KK_LOGD(bond_log, "%s: bucket %d (%llu bytes) moves from member %u to %u", bond->name,
                best, (unsigned long long)l, bond->members[hi].id, bond->members[lo].id);
        bond->buckets[best].member = bond->members[lo].id;
        load[hi] -= l;
        load[lo] += l;
        changed = true;
    }
    for (int b = 0; b < N_BUCKETS; b++)
        __atomic_store_n(&bond->buckets[b].tx_bytes, bucket_load(&bond->buckets[b]) / 2,
                         __ATOMIC_RELAXED);
    free(load);
    if (changed)
        bump(bond);
    return changed;
}

static uint16_t lacp_port_id(uint32_t member)
{
    /* LACP port numbers are 16 bits and 0 is not used (802.1AX 6.3.4). */
    uint16_t id = (uint16_t)member;
    return id ? id : 0xffff;
}

static int make_lacp(struct sw_bond *bond, const struct sw_bond_settings *s,
                     struct sw_lacp **out)
{
    *out = NULL;
    if (s->lacp == SW_BOND_LACP_OFF)
        return 0;
    struct sw_lacp_settings ls = {
        .name = bond->name,
        .sys_priority = 0,
        .active = s->lacp == SW_BOND_LACP_ACTIVE,
        .fast = s->lacp_fast,
        .key = 0,
    };
    memcpy(ls.sys_id, s->sys_id, 6);
    struct sw_lacp *lacp;
    int rc = sw_lacp_create(&ls, &lacp);
    if (rc)
        return rc;
    for (size_t i = 0; i < bond->n_members; i++) {
        const struct bond_member *m = &bond->members[i];
        rc = sw_lacp_member_add(lacp, m->id, lacp_port_id(m->id), DEFAULT_PORT_PRIORITY,
                                m->mac);
        if (rc) {
            sw_lacp_destroy(lacp);
            return rc;
        }
        sw_lacp_member_set_link(lacp, m->id, m->link_up);
    }
    *out = lacp;
    return 0;
}

static int check_settings(const struct sw_bond_settings *s)
{
    if (!s || (unsigned)s->mode > SW_BOND_BALANCE_TCP || (unsigned)s->lacp > SW_BOND_LACP_PASSIVE)
        return -EINVAL;
    if (s->mode == SW_BOND_BALANCE_TCP && s->lacp == SW_BOND_LACP_OFF)
        return -EINVAL;
    return 0;
}

/* ---- life cycle ---- */

int sw_bond_create(const struct sw_bond_settings *s, struct sw_bond **out)
{
    if (!out || check_settings(s))
        return -EINVAL;
    struct sw_bond *bond = calloc(1, sizeof(*bond));
    if (!bond)
        return -ENOMEM;
    bond->name = strdup(s->name ? s->name : "bond");
    if (!bond->name) {
        free(bond);
        return -ENOMEM;
    }
    bond->s = *s;
    bond->s.name = bond->name;
    bond->active = SW_BOND_NONE;
    for (int b = 0; b < N_BUCKETS; b++)
        bond->buckets[b].member = SW_BOND_NONE;
    int rc = make_lacp(bond, s, &bond->lacp);
    if (rc) {
        free(bond->name);
        free(bond);
        return rc;
    }
    pthread_rwlock_init(&bond->rwlock, NULL);
    *out = bond;
    return 0;
}

void sw_bond_destroy(struct sw_bond *bond)
{
    if (!bond)
        return;
    sw_lacp_destroy(bond->lacp);
    pthread_rwlock_destroy(&bond->rwlock);
    free(bond->members);
    free(bond->name);
    free(bond);
}

int sw_bond_reconfigure(struct sw_bond *bond, const struct sw_bond_settings *s)
{
    if (!bond || check_settings(s))
        return -EINVAL;
    pthread_rwlock_wrlock(&bond->rwlock);
    const struct sw_bond_settings *old = &bond->s;
    bool lacp_same = old->lacp == s->lacp && old->lacp_fast == s->lacp_fast &&
                     memcmp(old->sys_id, s->sys_id, 6) == 0;
    int rc = 0;
    if (!lacp_same) {
        struct sw_lacp *lacp;
        rc = make_lacp(bond, s, &lacp);
        if (rc)
            goto out;
        sw_lacp_destroy(bond->lacp);
        bond->lacp = lacp;
        bond->negotiated = false;
    }
    if (old->mode != s->mode && s->rebalance_ms)
        bond->next_rebalance = bond->now_ms + s->rebalance_ms;
    bond->s = *s;
    bond->s.name = bond->name;
    update(bond, bond->now_ms);
    bump(bond);
out:
    pthread_rwlock_unlock(&bond->rwlock);
    return rc;
}

int sw_bond_member_add(struct sw_bond *bond, uint32_t member, const uint8_t mac[6])
{
    if (!bond || !mac || member == SW_BOND_NONE)
        return -EINVAL;
    int rc = 0;
    pthread_rwlock_wrlock(&bond->rwlock);
    if (find_member(bond, member)) {
        rc = -EEXIST;
        goto out;
    }
    if (bond->n_members == bond->cap_members) {
        size_t cap = bond->cap_members ? bond->cap_members * 2 : 4;
        struct bond_member *m = realloc(bond->members, cap * sizeof(*m));
        if (!m) {
            rc = -ENOMEM;
            goto out;
        }
        bond->members = m;
        bond->cap_members = cap;
    }
    if (bond->lacp) {
        rc = sw_lacp_member_add(bond->lacp, member, lacp_port_id(member),
                                DEFAULT_PORT_PRIORITY, mac);
        if (rc)
            goto out;
    }
    struct bond_member *m = &bond->members[bond->n_members++];
    memset(m, 0, sizeof(*m));
    m->id = member;
    memcpy(m->mac, mac, 6);
    bump(bond);
out:
    pthread_rwlock_unlock(&bond->rwlock);
    return rc;
}

void sw_bond_member_del(struct sw_bond *bond, uint32_t member)
{
    if (!bond)
        return;
    pthread_rwlock_wrlock(&bond->rwlock);
    struct bond_member *m = find_member(bond, member);
    if (m) {
        size_t i = (size_t)(m - bond->members);
        memmove(m, m + 1, (bond->n_members - i - 1) * sizeof(*m));
        bond->n_members--;
        sw_lacp_member_del(bond->lacp, member);
        update(bond, bond->now_ms);
        bump(bond);
    }
    pthread_rwlock_unlock(&bond->rwlock);
}

void sw_bond_member_set_link(struct sw_bond *bond, uint32_t member, bool up, uint64_t now_ms)
{
    if (!bond)
        return;
    pthread_rwlock_wrlock(&bond->rwlock);
    struct bond_member *m = find_member(bond, member);
    if (m) {
        if (m->link_up != up)
            KK_LOGI(bond_log, "%s: member %u: link %s", bond->name, member, up ? "up" : "down");
        m->link_up = up;
        sw_lacp_member_set_link(bond->lacp, member, up);
        update(bond, now_ms);
    }
    pthread_rwlock_unlock(&bond->rwlock);
}

void sw_bond_process_lacp(struct sw_bond *bond, uint32_t member, const void *frame, size_t len,
                          uint64_t now_ms)
{
    if (!bond)
        return;
    /* Rare (a PDU per second per member at most): the write lock is fine
     * here and lets the enabled set follow the PDU at once. */
    pthread_rwlock_wrlock(&bond->rwlock);
    if (bond->lacp && find_member(bond, member)) {
        uint64_t seq = sw_lacp_change_seq(bond->lacp);
        sw_lacp_process_frame(bond->lacp, member, frame, len, now_ms);
        if (seq != sw_lacp_change_seq(bond->lacp) ||
            (sw_lacp_status(bond->lacp) == SW_LACP_NEGOTIATED) != bond->negotiated)
            update(bond, now_ms);
    }
    pthread_rwlock_unlock(&bond->rwlock);
}

bool sw_bond_run(struct sw_bond *bond, uint64_t now_ms,
                 void (*send)(void *arg, uint32_t member, const void *frame, size_t len),
                 void *arg)
{
    if (!bond)
        return false;
    pthread_rwlock_rdlock(&bond->rwlock);
    if (bond->lacp)
        sw_lacp_run(bond->lacp, now_ms, send, arg);
    pthread_rwlock_unlock(&bond->rwlock);

    pthread_rwlock_wrlock(&bond->rwlock);
    update(bond, now_ms);
    enum sw_bond_mode mode = effective_mode(bond);
    if (mode != SW_BOND_ACTIVE_BACKUP && bond->s.rebalance_ms) {
        if (bond->next_rebalance == 0)
            bond->next_rebalance = now_ms + bond->s.rebalance_ms;
        else if (now_ms >= bond->next_rebalance) {
            rebalance(bond);
            bond->next_rebalance = now_ms + bond->s.rebalance_ms;
        }
    }
    bool changed = bond->unreported;
    bond->unreported = false;
    pthread_rwlock_unlock(&bond->rwlock);
    return changed;
}

/* ---- readers ---- */

/* The fields a balancing mode hashes, as a mask. */
static void hash_fields(enum sw_bond_mode mode, const struct sw_flow_key *key,
                        struct sw_flow_mask *used)
{
    struct sw_flow_key *m = &used->masks;
    memset(used, 0, sizeof(*used));
    memset(m->dl_src, 0xff, 6);
    m->vlan_tci = SW_VLAN_VID_MASK;
    if (mode != SW_BOND_BALANCE_TCP)
        return;
    memset(m->dl_dst, 0xff, 6);
    m->dl_type = 0xffff;
    bool ip = false;
    if (key->dl_type == 0x0800) {
        m->nw_src = m->nw_dst = UINT32_MAX;
        ip = true;
    } else if (key->dl_type == 0x86dd) {
        memset(m->ipv6_src, 0xff, 16);
        memset(m->ipv6_dst, 0xff, 16);
        ip = true;
    }
    if (ip) {
        m->nw_proto = 0xff;
        if (key->nw_proto == 6 || key->nw_proto == 17 || key->nw_proto == 132)
            m->tp_src = m->tp_dst = 0xffff;
    }
}

static unsigned bucket_of(enum sw_bond_mode mode, const struct sw_flow_key *key,
                          struct sw_flow_mask *used)
{
    hash_fields(mode, key, used);
    uint64_t h = sw_flow_hash_masked(key, used, HASH_BASIS);
    return (unsigned)((h ^ (h >> 32)) % N_BUCKETS);
}

uint32_t sw_bond_choose_output(struct sw_bond *bond, const struct sw_flow_key *key,
                               struct sw_flow_mask *wc)
{
    if (!bond || !key)
        return SW_BOND_NONE;
    pthread_rwlock_rdlock(&bond->rwlock);
    uint32_t out = bond->active;
    enum sw_bond_mode mode = effective_mode(bond);
    if (out != SW_BOND_NONE && !lacp_down(bond) && mode != SW_BOND_ACTIVE_BACKUP) {
        struct sw_flow_mask used;
        unsigned b = bucket_of(mode, key, &used);
        if (bond->buckets[b].member != SW_BOND_NONE)
            out = bond->buckets[b].member;
        if (wc)
            sw_flow_mask_or(wc, &used);
    }
    if (lacp_down(bond))
        out = SW_BOND_NONE;
    pthread_rwlock_unlock(&bond->rwlock);
    return out;
}

void sw_bond_account(struct sw_bond *bond, const struct sw_flow_key *key, uint64_t bytes)
{
    if (!bond || !key)
        return;
    pthread_rwlock_rdlock(&bond->rwlock);
    enum sw_bond_mode mode = effective_mode(bond);
    if (mode != SW_BOND_ACTIVE_BACKUP) {
        struct sw_flow_mask used;
        unsigned b = bucket_of(mode, key, &used);
        __atomic_add_fetch(&bond->buckets[b].tx_bytes, bytes, __ATOMIC_RELAXED);
    }
    pthread_rwlock_unlock(&bond->rwlock);
}

enum sw_bond_verdict sw_bond_check_input(struct sw_bond *bond, uint32_t member,
                                         const struct sw_flow_key *key,
                                         struct sw_flow_mask *wc)
{
    if (!bond || !key)
        return SW_BOND_DROP;
    enum sw_bond_verdict v = SW_BOND_DROP;
    pthread_rwlock_rdlock(&bond->rwlock);
    /* The verdict depends on the member the packet came in on. */
    if (wc)
        wc->masks.in_port = UINT32_MAX;
    const struct bond_member *m = find_member(bond, member);
    if (!m || !m->enabled)
        goto out;
    if (bond->lacp && bond->negotiated) {
        /* The partner knows this is an aggregate and sends each frame once. */
        v = SW_BOND_ACCEPT;
        goto out;
    }
    if (lacp_down(bond))
        goto out;
    if (effective_mode(bond) == SW_BOND_ACTIVE_BACKUP) {
        v = member == bond->active ? SW_BOND_ACCEPT : SW_BOND_DROP;
        goto out;
    }
    /* balance-slb: the switch on the other side floods broadcast and
     * multicast to every member; take it on the one we flood on only. */
    if (wc)
        wc->masks.dl_dst[0] |= 0x01;
    if ((key->dl_dst[0] & 0x01) && member != bond->active)
        goto out;
    v = SW_BOND_ACCEPT;
out:
    pthread_rwlock_unlock(&bond->rwlock);
    return v;
}

uint32_t sw_bond_active_member(struct sw_bond *bond)
{
    if (!bond)
        return SW_BOND_NONE;
    pthread_rwlock_rdlock(&bond->rwlock);
    uint32_t a = lacp_down(bond) ? SW_BOND_NONE : bond->active;
    pthread_rwlock_unlock(&bond->rwlock);
    return a;
}

bool sw_bond_member_enabled(struct sw_bond *bond, uint32_t member)
{
    if (!bond)
        return false;
    pthread_rwlock_rdlock(&bond->rwlock);
    const struct bond_member *m = find_member(bond, member);
    bool en = m && m->enabled;
    pthread_rwlock_unlock(&bond->rwlock);
    return en;
}

uint64_t sw_bond_change_seq(struct sw_bond *bond)
{
    return bond ? __atomic_load_n(&bond->change_seq, __ATOMIC_ACQUIRE) : 0;
}

/* ---- text ---- */

struct text {
    char *buf;
    size_t size;
    size_t len;
};

static void text_add(struct text *t, const char *fmt, ...) KK_PRINTF(2, 3);
static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->len < t->size ? t->size - t->len : 0;
    int n = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

int sw_bond_format(struct sw_bond *bond, char *buf, size_t size)
{
    struct text t = {.buf = buf, .size = buf ? size : 0};
    if (t.size)
        buf[0] = '\0';
    if (!bond)
        return 0;
    pthread_rwlock_rdlock(&bond->rwlock);
    text_add(&t, "---- %s ----\n", bond->name);
    text_add(&t, "bond_mode: %s\n", sw_bond_mode_to_string(bond->s.mode));
    text_add(&t, "updelay: %u ms\n", bond->s.updelay_ms);
    text_add(&t, "downdelay: %u ms\n", bond->s.downdelay_ms);
    if (bond->s.mode != SW_BOND_ACTIVE_BACKUP && bond->s.rebalance_ms && bond->next_rebalance)
        text_add(&t, "next rebalance: %lld ms\n",
                 (long long)(bond->next_rebalance - bond->now_ms));
    text_add(&t, "lacp_status: %s\n",
             !bond->lacp ? "off" : bond->negotiated ? "negotiated" : "configured");
    text_add(&t, "lacp_fallback_ab: %s\n", bond->s.lacp_fallback_ab ? "true" : "false");
    const struct bond_member *active = lacp_down(bond) ? NULL : find_member(bond, bond->active);
    if (active)
        text_add(&t, "active member mac: %02x:%02x:%02x:%02x:%02x:%02x(member %u)\n",
                 active->mac[0], active->mac[1], active->mac[2], active->mac[3],
                 active->mac[4], active->mac[5], active->id);
    else
        text_add(&t, "active member mac: 00:00:00:00:00:00(none)\n");
    for (size_t i = 0; i < bond->n_members; i++) {
        const struct bond_member *m = &bond->members[i];
        text_add(&t, "\nmember %u: %s\n", m->id, m->enabled ? "enabled" : "disabled");
        if (active == m)
            text_add(&t, "  active member\n");
        text_add(&t, "  link: %s\n", m->link_up ? "up" : "down");
        if (bond->lacp)
            text_add(&t, "  may_enable: %s\n",
                     sw_lacp_member_may_enable(bond->lacp, m->id) ? "true" : "false");
        if (m->delay_pending)
            text_add(&t, "  %s expires in %lld ms\n", m->enabled ? "downdelay" : "updelay",
                     (long long)(m->delay_expires - bond->now_ms));
        if (bond->s.mode == SW_BOND_ACTIVE_BACKUP)
            continue;
        for (int b = 0; b < N_BUCKETS; b++)
            if (bond->buckets[b].member == m->id && bucket_load(&bond->buckets[b]))
                text_add(&t, "  hash %d: %llu kB load\n", b,
                         (unsigned long long)(bucket_load(&bond->buckets[b]) / 1024));
    }
    pthread_rwlock_unlock(&bond->rwlock);
    return (int)t.len;
}

int sw_bond_format_lacp(struct sw_bond *bond, char *buf, size_t size)
{
    if (!bond) {
        if (buf && size)
            buf[0] = '\0';
        return 0;
    }
    pthread_rwlock_rdlock(&bond->rwlock);
    int n;
    if (bond->lacp) {
        n = sw_lacp_format(bond->lacp, buf, size);
    } else {
        n = snprintf(buf, buf ? size : 0, "---- %s ----\n  status: off\n", bond->name);
    }
    pthread_rwlock_unlock(&bond->rwlock);
    return n;
}
