/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LACP (IEEE 802.1AX clause 6, formerly 802.3ad clause 43), simplified the
 * way Open vSwitch simplifies it: one aggregator per bond, and per member
 *
 *   - a receive machine with three states: CURRENT (a PDU arrived within
 *     3 x the actor's periodic time), EXPIRED (one timeout passed: the
 *     partner is assumed out of sync and asked to talk fast) and DEFAULTED
 *     (a second timeout passed: the partner is forgotten);
 *   - selection: the member whose link has the best port priority, taken
 *     from the system with the better system priority, leads; members whose
 *     partner (system priority, system id, key) equals the lead's are
 *     attached, the others are not;
 *   - a coupled mux: SYNC when attached; COLLECTING and DISTRIBUTING once
 *     the partner reports SYNC as well;
 *   - transmission: periodically at the rate the partner asked for (fast
 *     1 s or slow 30 s), and at once when what the partner believes about
 *     us differs from our current actor information, never more than three
 *     PDUs per second per member (802.1AX 6.4.16).
 *
 * Time comes from the caller. Everything runs under one mutex; @send
 * callbacks are made with it released.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_log.h"
#include "lacp.h"

KK_LOG_COMPONENT(lacp_log, "lacp");

#define ETH_HEADER_LEN 14
#define ETH_TYPE_SLOW 0x8809
#define SLOW_SUBTYPE_LACP 1
#define LACP_VERSION 1

#define TLV_TERMINATOR 0
#define TLV_ACTOR 1
#define TLV_PARTNER 2
#define TLV_COLLECTOR 3
#define INFO_TLV_LEN 20
#define COLLECTOR_TLV_LEN 16

/* Offsets in the frame (Ethernet header included). */
#define OFF_SUBTYPE 14
#define OFF_VERSION 15
#define OFF_ACTOR 16
#define OFF_PARTNER 36
#define OFF_COLLECTOR 56
#define OFF_TERMINATOR 72
#define OFF_RESERVED 74

#define FAST_PERIODIC_MS 1000
#define SLOW_PERIODIC_MS 30000
#define TIMEOUT_MULTIPLIER 3
#define TX_LIMIT 3          /* PDUs per FAST_PERIODIC_MS per member */
#define DEFAULT_SYS_PRIORITY 65534

_Static_assert(OFF_RESERVED + 50 == SW_LACP_FRAME_LEN, "LACPDU layout");
_Static_assert(SW_LACP_FRAME_LEN == ETH_HEADER_LEN + SW_LACP_PDU_LEN, "LACPDU length");

static const uint8_t slow_protocols_mac[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x02};

enum rx_status {
    RX_CURRENT,
    RX_EXPIRED,
    RX_DEFAULTED,
};

struct lacp_member {
    uint32_t id;
    uint16_t port_id;
    uint16_t port_priority;
    uint8_t mac[6];
    bool link_up;
    enum rx_status status;
    bool attached;              /* selected for the bond's aggregator */
    bool may_enable;
    struct sw_lacp_info partner;   /* actor info of the last PDU received */
    /* What the partner is believed to know about us: its last PDU's partner
     * info, or what we last sent. Differs from our actor info → send now. */
    struct sw_lacp_info ntt_actor;
    uint64_t rx_deadline;       /* CURRENT → EXPIRED → DEFAULTED */
    uint64_t tx_next;           /* periodic transmission */
    uint64_t tx_times[TX_LIMIT]; /* ring of the last transmission times */
    unsigned tx_count;          /* entries used in tx_times */
    unsigned tx_pos;            /* oldest entry when full */
    uint64_t rx_pdus, rx_errors, tx_pdus;
};

struct sw_lacp {
    pthread_mutex_t mutex;
    char *name;
    uint8_t sys_id[6];
    uint16_t sys_priority;
    bool active;
    bool fast;
    uint16_t key;
    bool key_configured;
    bool negotiated;
    struct lacp_member *members;
    size_t n_members, cap_members;
    uint64_t change_seq;
};

/* ---- wire format ---- */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

bool sw_lacp_is_lacp_frame(const void *frame, size_t len)
{
    const uint8_t *p = frame;
    if (!frame || len < OFF_SUBTYPE + 1)
        return false;
    return memcmp(p, slow_protocols_mac, 6) == 0 && get16(p + 12) == ETH_TYPE_SLOW &&
           p[OFF_SUBTYPE] == SLOW_SUBTYPE_LACP;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) KK_PRINTF(3, 4);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void get_info(const uint8_t *p, struct sw_lacp_info *info)
{
    info->sys_priority = get16(p);
    memcpy(info->sys_id, p + 2, 6);
    info->key = get16(p + 8);
    info->port_priority = get16(p + 10);
    info->port_id = get16(p + 12);
    info->state = p[14];
}

static void put_info(uint8_t *p, const struct sw_lacp_info *info)
{
    put16(p, info->sys_priority);
    memcpy(p + 2, info->sys_id, 6);
    put16(p + 8, info->key);
    put16(p + 10, info->port_priority);
    put16(p + 12, info->port_id);
    p[14] = info->state;
    memset(p + 15, 0, 3);
}

static int check_tlv(const uint8_t *p, uint8_t type, uint8_t len, const char *what, char *err,
                     size_t errlen)
{
    if (p[0] != type) {
        set_err(err, errlen, "%s TLV type is %u, expected %u", what, p[0], type);
        return -EINVAL;
    }
    if (p[1] != len) {
        set_err(err, errlen, "%s TLV length is %u, expected %u", what, p[1], len);
        return -EINVAL;
    }
    return 0;
}

int sw_lacp_pdu_parse(const void *frame, size_t len, struct sw_lacp_pdu *pdu, char *err,
                      size_t errlen)
{
    const uint8_t *p = frame;
    if (err && errlen)
        err[0] = '\0';
    if (!frame || !pdu) {
        set_err(err, errlen, "no frame");
        return -EINVAL;
    }
    if (len < ETH_HEADER_LEN) {
        set_err(err, errlen, "frame of %zu bytes is shorter than an Ethernet header", len);
        return -EINVAL;
    }
    if (get16(p + 12) != ETH_TYPE_SLOW) {
        set_err(err, errlen, "ethertype 0x%04x is not slow protocols (0x8809)", get16(p + 12));
        return -EINVAL;
    }
    if (memcmp(p, slow_protocols_mac, 6) != 0) {
        set_err(err, errlen,
                "destination %02x:%02x:%02x:%02x:%02x:%02x is not 01:80:c2:00:00:02", p[0],
                p[1], p[2], p[3], p[4], p[5]);
        return -EINVAL;
    }
    if (len < SW_LACP_FRAME_LEN) {
        set_err(err, errlen, "frame of %zu bytes is shorter than an LACPDU (%d)", len,
                SW_LACP_FRAME_LEN);
        return -EINVAL;
    }
    if (p[OFF_SUBTYPE] != SLOW_SUBTYPE_LACP) {
        set_err(err, errlen, "slow-protocol subtype %u is not LACP (1)", p[OFF_SUBTYPE]);
        return -EINVAL;
    }
    if (p[OFF_VERSION] != LACP_VERSION) {
        set_err(err, errlen, "LACP version %u is not 1", p[OFF_VERSION]);
        return -EINVAL;
    }
    int rc;
    if ((rc = check_tlv(p + OFF_ACTOR, TLV_ACTOR, INFO_TLV_LEN, "actor", err, errlen)) ||
        (rc = check_tlv(p + OFF_PARTNER, TLV_PARTNER, INFO_TLV_LEN, "partner", err, errlen)) ||
        (rc = check_tlv(p + OFF_COLLECTOR, TLV_COLLECTOR, COLLECTOR_TLV_LEN, "collector", err,
                        errlen)) ||
        (rc = check_tlv(p + OFF_TERMINATOR, TLV_TERMINATOR, 0, "terminator", err, errlen)))
        return rc;
    /* Reserved bytes are ignored on receipt (802.1AX 6.4.2.3). Zeroed
     * first so that no byte of *pdu (padding included) is left undefined. */
    memset(pdu, 0, sizeof(*pdu));
    get_info(p + OFF_ACTOR + 2, &pdu->actor);
    get_info(p + OFF_PARTNER + 2, &pdu->partner);
    pdu->collector_max_delay = get16(p + OFF_COLLECTOR + 2);
    return 0;
}

size_t sw_lacp_pdu_build(const struct sw_lacp_pdu *pdu, const uint8_t src_mac[6], void *buf)
{
    uint8_t *p = buf;
    memset(p, 0, SW_LACP_FRAME_LEN);
    memcpy(p, slow_protocols_mac, 6);
    memcpy(p + 6, src_mac, 6);
    put16(p + 12, ETH_TYPE_SLOW);
    p[OFF_SUBTYPE] = SLOW_SUBTYPE_LACP;
    p[OFF_VERSION] = LACP_VERSION;
    p[OFF_ACTOR] = TLV_ACTOR;
    p[OFF_ACTOR + 1] = INFO_TLV_LEN;
    put_info(p + OFF_ACTOR + 2, &pdu->actor);
    p[OFF_PARTNER] = TLV_PARTNER;
    p[OFF_PARTNER + 1] = INFO_TLV_LEN;
    put_info(p + OFF_PARTNER + 2, &pdu->partner);
    p[OFF_COLLECTOR] = TLV_COLLECTOR;
    p[OFF_COLLECTOR + 1] = COLLECTOR_TLV_LEN;
    put16(p + OFF_COLLECTOR + 2, pdu->collector_max_delay);
    /* terminator (type 0, length 0) and 50 reserved bytes: already zero */
    return SW_LACP_FRAME_LEN;
}

/* ---- state ---- */

static uint64_t periodic_ms(bool fast)
{
    return fast ? FAST_PERIODIC_MS : SLOW_PERIODIC_MS;
}

static uint64_t rx_timeout_ms(const struct sw_lacp *lacp)
{
    return TIMEOUT_MULTIPLIER * periodic_ms(lacp->fast);
}

/* The partner asks for a transmission rate with its TIMEOUT bit; without a
 * partner we use our own. */
static uint64_t tx_interval_ms(const struct sw_lacp *lacp, const struct lacp_member *m)
{
    if (m->status == RX_DEFAULTED)
        return periodic_ms(lacp->fast);
    return periodic_ms(m->partner.state & SW_LACP_STATE_TIMEOUT);
}

static struct lacp_member *find_member(struct sw_lacp *lacp, uint32_t id)
{
    for (size_t i = 0; i < lacp->n_members; i++)
        if (lacp->members[i].id == id)
            return &lacp->members[i];
    return NULL;
}

static void actor_info(const struct sw_lacp *lacp, const struct lacp_member *m,
                       struct sw_lacp_info *info)
{
    uint8_t state = SW_LACP_STATE_AGGREGATION;
    if (lacp->active)
        state |= SW_LACP_STATE_ACTIVITY;
    if (lacp->fast)
        state |= SW_LACP_STATE_TIMEOUT;
    if (m->attached) {
        state |= SW_LACP_STATE_SYNC;
        if (m->partner.state & SW_LACP_STATE_SYNC)
            state |= SW_LACP_STATE_COLLECTING | SW_LACP_STATE_DISTRIBUTING;
    }
    if (m->status == RX_DEFAULTED)
        state |= SW_LACP_STATE_DEFAULTED;
    else if (m->status == RX_EXPIRED)
        state |= SW_LACP_STATE_EXPIRED;
    memset(info, 0, sizeof(*info));
    info->sys_priority = lacp->sys_priority;
    memcpy(info->sys_id, lacp->sys_id, 6);
    info->key = lacp->key;
    info->port_priority = m->port_priority;
    info->port_id = m->port_id;
    info->state = state;
}

static bool info_equal(const struct sw_lacp_info *a, const struct sw_lacp_info *b)
{
    return a->sys_priority == b->sys_priority && memcmp(a->sys_id, b->sys_id, 6) == 0 &&
           a->key == b->key && a->port_priority == b->port_priority &&
           a->port_id == b->port_id && a->state == b->state;
}

static void put_priority(uint8_t out[12], uint16_t sys_priority, const uint8_t sys_id[6],
                         uint16_t port_priority, uint16_t port_id)
{
    put16(out, sys_priority);
    memcpy(out + 2, sys_id, 6);
    put16(out + 8, port_priority);
    put16(out + 10, port_id);
}

/* A link's priority for choosing the lead: the port priority and number
 * of whichever end belongs to the better system (smaller is better), so
 * both ends pick the same link. */
static void link_priority(const struct sw_lacp *lacp, const struct lacp_member *m,
                          uint8_t out[12])
{
    uint8_t ours[12], theirs[12];
    put_priority(ours, lacp->sys_priority, lacp->sys_id, m->port_priority, m->port_id);
    put_priority(theirs, m->partner.sys_priority, m->partner.sys_id, m->partner.port_priority,
                 m->partner.port_id);
    memcpy(out, memcmp(ours, theirs, 8) < 0 ? ours : theirs, 12);
}

static bool same_partner_system(const struct sw_lacp_info *a, const struct sw_lacp_info *b)
{
    return a->sys_priority == b->sys_priority && memcmp(a->sys_id, b->sys_id, 6) == 0 &&
           a->key == b->key;
}

static bool compute_may_enable(const struct lacp_member *m)
{
    uint8_t need = SW_LACP_STATE_SYNC | SW_LACP_STATE_COLLECTING;
    return m->link_up && m->attached && m->status == RX_CURRENT &&
           (m->partner.state & need) == need;
}

/* Selection and mux: recompute attached and may_enable for every member. */
static void update(struct sw_lacp *lacp)
{
    struct lacp_member *lead = NULL;
    uint8_t lead_priority[12] = {0};
    for (size_t i = 0; i < lacp->n_members; i++) {
        struct lacp_member *m = &lacp->members[i];
        m->attached = false;
        if (!m->link_up || m->status == RX_DEFAULTED)
            continue;
        if (memcmp(m->partner.sys_id, lacp->sys_id, 6) == 0) {
            KK_LOGW_RL(lacp_log, "%s: member %u: loopback (connected to its own system)",
                       lacp->name, m->id);
            continue;
        }
        uint8_t priority[12];
        link_priority(lacp, m, priority);
        if (!lead || memcmp(priority, lead_priority, 12) < 0) {
            lead = m;
            memcpy(lead_priority, priority, 12);
        }
    }
    lacp->negotiated = lead != NULL;
    bool changed = false;
    for (size_t i = 0; i < lacp->n_members; i++) {
        struct lacp_member *m = &lacp->members[i];
        if (lead && m->link_up && m->status != RX_DEFAULTED &&
            memcmp(m->partner.sys_id, lacp->sys_id, 6) != 0)
            m->attached = same_partner_system(&m->partner, &lead->partner);
        bool may = compute_may_enable(m);
        if (may != m->may_enable) {
            m->may_enable = may;
            changed = true;
            KK_LOGI(lacp_log, "%s: member %u: %s", lacp->name, m->id,
                    may ? "may be enabled" : "disabled");
        }
    }
    if (changed)
        __atomic_add_fetch(&lacp->change_seq, 1, __ATOMIC_RELEASE);
}

/* ---- life cycle ---- */

int sw_lacp_create(const struct sw_lacp_settings *s, struct sw_lacp **out)
{
    if (!s || !out)
        return -EINVAL;
    struct sw_lacp *lacp = calloc(1, sizeof(*lacp));
    if (!lacp)
        return -ENOMEM;
    lacp->name = strdup(s->name ? s->name : "lacp");
    if (!lacp->name) {
        free(lacp);
        return -ENOMEM;
    }
    pthread_mutex_init(&lacp->mutex, NULL);
    memcpy(lacp->sys_id, s->sys_id, 6);
    lacp->sys_priority = s->sys_priority ? s->sys_priority : DEFAULT_SYS_PRIORITY;
    lacp->active = s->active;
    lacp->fast = s->fast;
    lacp->key = s->key;
    lacp->key_configured = s->key != 0;
    *out = lacp;
    return 0;
}

void sw_lacp_destroy(struct sw_lacp *lacp)
{
    if (!lacp)
        return;
    pthread_mutex_destroy(&lacp->mutex);
    free(lacp->members);
    free(lacp->name);
    free(lacp);
}

int sw_lacp_member_add(struct sw_lacp *lacp, uint32_t member, uint16_t port_id,
                       uint16_t port_priority, const uint8_t mac[6])
{
    if (!lacp || !mac)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&lacp->mutex);
    if (find_member(lacp, member)) {
        rc = -EEXIST;
        goto out;
    }
    if (lacp->n_members == lacp->cap_members) {
        size_t cap = lacp->cap_members ? lacp->cap_members * 2 : 4;
        struct lacp_member *m = realloc(lacp->members, cap * sizeof(*m));
        if (!m) {
            rc = -ENOMEM;
            goto out;
        }
        lacp->members = m;
        lacp->cap_members = cap;
    }
    struct lacp_member *m = &lacp->members[lacp->n_members++];
    memset(m, 0, sizeof(*m));
    m->id = member;
    m->port_id = port_id;
    m->port_priority = port_priority;
    memcpy(m->mac, mac, 6);
    m->status = RX_DEFAULTED;
    if (!lacp->key_configured && lacp->n_members == 1)
        lacp->key = port_id;
    update(lacp);
out:
    pthread_mutex_unlock(&lacp->mutex);
    return rc;
}

void sw_lacp_member_del(struct sw_lacp *lacp, uint32_t member)
{
    if (!lacp)
        return;
    pthread_mutex_lock(&lacp->mutex);
    struct lacp_member *m = find_member(lacp, member);
    if (m) {
        bool was = m->may_enable;
        size_t i = (size_t)(m - lacp->members);
        memmove(m, m + 1, (lacp->n_members - i - 1) * sizeof(*m));
        lacp->n_members--;
        if (was)
            __atomic_add_fetch(&lacp->change_seq, 1, __ATOMIC_RELEASE);
        update(lacp);
    }
    pthread_mutex_unlock(&lacp->mutex);
}

void sw_lacp_member_set_link(struct sw_lacp *lacp, uint32_t member, bool up)
{
    if (!lacp)
        return;
    pthread_mutex_lock(&lacp->mutex);
    struct lacp_member *m = find_member(lacp, member);
    if (m && m->link_up != up) {
        m->link_up = up;
        if (!up) {
            /* What we knew about the partner over this link is stale: ask
             * for it again when the link returns (the EXPIRED state). */
            if (m->status == RX_CURRENT) {
                m->status = RX_EXPIRED;
                m->partner.state &= (uint8_t)~(SW_LACP_STATE_SYNC | SW_LACP_STATE_COLLECTING |
                                               SW_LACP_STATE_DISTRIBUTING);
                m->partner.state |= SW_LACP_STATE_TIMEOUT;
            }
        } else {
            m->tx_next = 0; /* introduce ourselves at the next run */
        }
        update(lacp);
    }
    pthread_mutex_unlock(&lacp->mutex);
}

int sw_lacp_process_frame(struct sw_lacp *lacp, uint32_t member, const void *frame, size_t len,
                          uint64_t now_ms)
{
    if (!lacp)
        return -EINVAL;
    struct sw_lacp_pdu pdu;
    char err[128];
    int rc = sw_lacp_pdu_parse(frame, len, &pdu, err, sizeof(err));
    pthread_mutex_lock(&lacp->mutex);
    struct lacp_member *m = find_member(lacp, member);
    if (!m) {
        rc = -ENOENT;
        goto out;
    }
    if (rc) {
        m->rx_errors++;
        KK_LOGW_RL(lacp_log, "%s: member %u: bad LACPDU: %s", lacp->name, member, err);
        goto out;
    }
    m->rx_pdus++;
    if (!m->link_up)
        goto out; /* raced with a carrier loss: the link is not ours to use */
    m->status = RX_CURRENT;
    m->rx_deadline = now_ms + rx_timeout_ms(lacp);
    m->partner = pdu.actor;
    m->ntt_actor = pdu.partner;
    /* The partner's SYNC only counts if it is in sync with us as we are
     * now: its view of our system, key, port and aggregation must match
     * (802.1AX 6.4.9, recordPDU). Otherwise it has to hear from us first. */
    struct sw_lacp_info actor;
    actor_info(lacp, m, &actor);
    if (pdu.partner.sys_priority != actor.sys_priority ||
        memcmp(pdu.partner.sys_id, actor.sys_id, 6) != 0 || pdu.partner.key != actor.key ||
        pdu.partner.port_priority != actor.port_priority ||
        pdu.partner.port_id != actor.port_id ||
        !(pdu.partner.state & SW_LACP_STATE_AGGREGATION))
        m->partner.state &= (uint8_t)~SW_LACP_STATE_SYNC;
    /* The partner may have asked for a faster rate than we are sending at. */
    uint64_t next = now_ms + tx_interval_ms(lacp, m);
    if (m->tx_next > next)
        m->tx_next = next;
    update(lacp);
out:
    pthread_mutex_unlock(&lacp->mutex);
    return rc;
}

static bool may_transmit(const struct sw_lacp *lacp, const struct lacp_member *m)
{
    if (!m->link_up)
        return false;
    return lacp->active ||
           (m->status != RX_DEFAULTED && (m->partner.state & SW_LACP_STATE_ACTIVITY));
}

/* Earliest time the rate limit lets @m transmit. */
static uint64_t tx_allowed_at(const struct lacp_member *m)
{
    if (m->tx_count < TX_LIMIT)
        return 0;
    return m->tx_times[m->tx_pos] + FAST_PERIODIC_MS;
}

static void record_tx(struct lacp_member *m, uint64_t now_ms)
{
    if (m->tx_count < TX_LIMIT) {
        m->tx_times[m->tx_count++] = now_ms;
    } else {
        m->tx_times[m->tx_pos] = now_ms;
        m->tx_pos = (m->tx_pos + 1) % TX_LIMIT;
    }
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t sw_lacp_run(struct sw_lacp *lacp, uint64_t now_ms,
                     void (*send)(void *arg, uint32_t member, const void *frame, size_t len),
                     void *arg)
{
    if (!lacp)
        return now_ms + FAST_PERIODIC_MS;
    pthread_mutex_lock(&lacp->mutex);
    for (size_t i = 0; i < lacp->n_members; i++) {
        struct lacp_member *m = &lacp->members[i];
        if (m->status == RX_DEFAULTED || now_ms < m->rx_deadline)
            continue;
        if (m->status == RX_CURRENT) {
            KK_LOGI(lacp_log, "%s: member %u: partner timed out (expired)", lacp->name, m->id);
            m->status = RX_EXPIRED;
            m->partner.state &= (uint8_t)~(SW_LACP_STATE_SYNC | SW_LACP_STATE_COLLECTING |
                                           SW_LACP_STATE_DISTRIBUTING);
            m->partner.state |= SW_LACP_STATE_TIMEOUT;
            m->rx_deadline = now_ms + rx_timeout_ms(lacp);
        } else {
            KK_LOGI(lacp_log, "%s: member %u: no partner (defaulted)", lacp->name, m->id);
            m->status = RX_DEFAULTED;
            memset(&m->partner, 0, sizeof(m->partner));
        }
    }
    update(lacp);

    /* Transmit one PDU at a time with the mutex released around @send. */
    for (size_t i = 0; i < lacp->n_members; i++) {
        struct lacp_member *m = &lacp->members[i];
        if (!may_transmit(lacp, m))
            continue;
        struct sw_lacp_pdu pdu;
        memset(&pdu, 0, sizeof(pdu));
        actor_info(lacp, m, &pdu.actor);
        bool need = !info_equal(&pdu.actor, &m->ntt_actor);
        if (!need && now_ms < m->tx_next)
            continue;
        if (now_ms < tx_allowed_at(m))
            continue;
        if (m->status != RX_DEFAULTED)
            pdu.partner = m->partner;
        uint8_t frame[SW_LACP_FRAME_LEN];
        size_t len = sw_lacp_pdu_build(&pdu, m->mac, frame);
        m->ntt_actor = pdu.actor;
        m->tx_next = now_ms + tx_interval_ms(lacp, m);
        record_tx(m, now_ms);
        m->tx_pdus++;
        uint32_t id = m->id;
        if (send) {
            pthread_mutex_unlock(&lacp->mutex);
            send(arg, id, frame, len);
            pthread_mutex_lock(&lacp->mutex);
        }
    }

    uint64_t next = now_ms + FAST_PERIODIC_MS;
    for (size_t i = 0; i < lacp->n_members; i++) {
        struct lacp_member *m = &lacp->members[i];
        if (m->status != RX_DEFAULTED)
            next = min_u64(next, m->rx_deadline);
        if (!may_transmit(lacp, m))
            continue;
        struct sw_lacp_info actor;
        actor_info(lacp, m, &actor);
        uint64_t due = info_equal(&actor, &m->ntt_actor) ? m->tx_next : now_ms;
        if (due < tx_allowed_at(m))
            due = tx_allowed_at(m);
        next = min_u64(next, due);
    }
    pthread_mutex_unlock(&lacp->mutex);
    return next > now_ms ? next : now_ms + 1;
}

enum sw_lacp_status sw_lacp_status(struct sw_lacp *lacp)
{
    if (!lacp)
        return SW_LACP_CONFIGURED;
    pthread_mutex_lock(&lacp->mutex);
    bool negotiated = lacp->negotiated;
    pthread_mutex_unlock(&lacp->mutex);
    return negotiated ? SW_LACP_NEGOTIATED : SW_LACP_CONFIGURED;
}

bool sw_lacp_member_may_enable(struct sw_lacp *lacp, uint32_t member)
{
    if (!lacp)
        return false;
    pthread_mutex_lock(&lacp->mutex);
    struct lacp_member *m = find_member(lacp, member);
    bool may = m && m->may_enable;
    pthread_mutex_unlock(&lacp->mutex);
    return may;
}

uint64_t sw_lacp_change_seq(struct sw_lacp *lacp)
{
    return lacp ? __atomic_load_n(&lacp->change_seq, __ATOMIC_ACQUIRE) : 0;
}

int sw_lacp_member_stats(struct sw_lacp *lacp, uint32_t member, struct sw_lacp_member_stats *out)
{
    if (!lacp || !out)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&lacp->mutex);
    struct lacp_member *m = find_member(lacp, member);
    if (!m) {
        rc = -ENOENT;
    } else {
        struct sw_lacp_info actor;
        actor_info(lacp, m, &actor);
        out->rx_pdus = m->rx_pdus;
        out->rx_errors = m->rx_errors;
        out->tx_pdus = m->tx_pdus;
        out->actor_state = actor.state;
        out->partner_state = m->status == RX_DEFAULTED ? 0 : m->partner.state;
        out->may_enable = m->may_enable;
    }
    pthread_mutex_unlock(&lacp->mutex);
    return rc;
}

/* ---- text ---- */

struct text {
    char *buf;
    size_t size;
    size_t len; /* whole length, even past @size */
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

static void text_state(struct text *t, uint8_t state)
{
    static const char *const names[8] = {"activity",   "timeout",      "aggregation",
                                         "synchronized", "collecting",  "distributing",
                                         "defaulted",  "expired"};
    for (int b = 0; b < 8; b++)
        if (state & (1u << b))
            text_add(t, " %s", names[b]);
    text_add(t, "\n");
}

static void text_info(struct text *t, const char *who, const struct sw_lacp_info *info)
{
    const uint8_t *s = info->sys_id;
    text_add(t, "  %s sys_id: %02x:%02x:%02x:%02x:%02x:%02x\n", who, s[0], s[1], s[2], s[3],
             s[4], s[5]);
    text_add(t, "  %s sys_priority: %u\n", who, info->sys_priority);
    text_add(t, "  %s port_id: %u\n", who, info->port_id);
    text_add(t, "  %s port_priority: %u\n", who, info->port_priority);
    text_add(t, "  %s key: %u\n", who, info->key);
    text_add(t, "  %s state:", who);
    text_state(t, info->state);
}

int sw_lacp_format(struct sw_lacp *lacp, char *buf, size_t size)
{
    struct text t = {.buf = buf, .size = buf ? size : 0};
    if (t.size)
        buf[0] = '\0';
    if (!lacp)
        return 0;
    static const char *const status[] = {"current", "expired", "defaulted"};
    pthread_mutex_lock(&lacp->mutex);
    const uint8_t *s = lacp->sys_id;
    text_add(&t, "---- %s ----\n", lacp->name);
    text_add(&t, "  status: %s %s\n", lacp->active ? "active" : "passive",
             lacp->negotiated ? "negotiated" : "configured");
    text_add(&t, "  sys_id: %02x:%02x:%02x:%02x:%02x:%02x\n", s[0], s[1], s[2], s[3], s[4],
             s[5]);
    text_add(&t, "  sys_priority: %u\n", lacp->sys_priority);
    text_add(&t, "  aggregation key: %u\n", lacp->key);
    text_add(&t, "  lacp_time: %s\n", lacp->fast ? "fast" : "slow");
    for (size_t i = 0; i < lacp->n_members; i++) {
        const struct lacp_member *m = &lacp->members[i];
        struct sw_lacp_info actor;
        actor_info(lacp, m, &actor);
        text_add(&t, "\nmember %u: %s%s%s\n", m->id, status[m->status],
                 m->attached ? " attached" : " detached", m->link_up ? "" : " link-down");
        text_add(&t, "  port_id: %u\n", m->port_id);
        text_add(&t, "  port_priority: %u\n", m->port_priority);
        text_add(&t, "  may_enable: %s\n", m->may_enable ? "true" : "false");
        text_add(&t, "\n");
        text_info(&t, "actor", &actor);
        text_add(&t, "\n");
        struct sw_lacp_info partner = m->partner;
        if (m->status == RX_DEFAULTED)
            memset(&partner, 0, sizeof(partner));
        text_info(&t, "partner", &partner);
        text_add(&t, "\n  RX PDUs: %llu\n  RX bad PDUs: %llu\n  TX PDUs: %llu\n",
                 (unsigned long long)m->rx_pdus, (unsigned long long)m->rx_errors,
                 (unsigned long long)m->tx_pdus);
    }
    pthread_mutex_unlock(&lacp->mutex);
    return (int)t.len;
}
