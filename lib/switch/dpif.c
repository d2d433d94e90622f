/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The userspace datapath: ports over lib/pkt, PMD threads (kk_reactor
 * pollers), the EMC / megaflow caches and upcalls. See dpif.h for the
 * design; this file's own choices:
 *
 * Poll lists. Each PMD has a published, immutable poll list (its receive
 * queues, with a version). The PMD's poller loads it at the start of every
 * call; when it changed, the PMD re-registers its wake-up descriptors and
 * acknowledges the version. The control thread publishes new lists, kicks
 * every PMD with an empty reactor message (a sleeping PMD wakes up) and
 * waits for every acknowledgement. A queue moving from one PMD to another
 * goes in two steps — first removed from every list it leaves (and
 * acknowledged), then added where it goes — so it is never polled by two
 * threads at once, and its packets simply wait in the queue meanwhile.
 *
 * Ports. The control thread owns the port table; PMDs read its slots
 * (acquire loads) to find output ports, once per port per turn. Removing a
 * port empties its slot, publishes poll lists without it and waits for the
 * acknowledgements: a PMD acknowledges at the start of a turn, and its
 * transmit batches are flushed at the end of every turn, so from then on no
 * PMD touches the port and it can be closed.
 *
 * Assignment. Each PMD adds the busy cycles of every burst it takes from
 * a queue (from the previous busy queue's end to this one's, plus a share,
 * by packets, of the pass's transmit flush) to the queue's counter. When
 * ports come or go, or on sw_dpif_rebalance(), the counters' growth since
 * the last assignment is the queues' load, and they are dealt out heaviest
 * first to the least loaded PMD (reschedule()).
 *
 * Expiry. A housekeeping reactor thread ("dp-ctl", unpinned, asleep between
 * timer fires) runs sw_mfc_expire() once a second, so PMD turns never wait
 * for the megaflow cache's writer lock because of expiry.
 *
 * Statistics. Each PMD accumulates a turn's counts in locals and publishes
 * them with relaxed stores of its own counters (no atomic read-modify-write);
 * clearing records a baseline on the control side.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dpif.h"
#include "kk_common.h"
#include "kk_log.h"
#include "kk_rcu.h"
#include "kk_reactor.h"
#include "pkt.h"
#include "port.h"

KK_LOG_COMPONENT(dpif_log, "dpif");

#define TX_SLOTS 16             /* distinct output ports batched per turn */
#define NAP_US 50               /* wake-up period when a queue has no descriptor */
#define EXPIRE_PERIOD_US 1000000
#define MAX_OFFLOAD_OUT PKT_GSO_MAX_SEGS

struct tx_lock {
    uint32_t locked;
} KK_CACHE_ALIGNED;

/* A line of its own: PMDs polling other queues of the port, or sending to
 * it, never share it. */
struct rxq_counter {
    uint64_t v;
} KK_CACHE_ALIGNED;

struct dp_port {
    uint32_t port_no;
    char name[64];
    struct pkt_port *port;
    uint16_t n_txq;
    bool tx_shared;             /* fewer queues than senders: locks */
    bool csum_ok, gso_ok;       /* the port finishes offloads itself */
    int16_t rxq_pmd[PKT_PORT_MAX_QUEUES]; /* control's view of the assignment */
    /* Busy cycles spent on each receive queue's bursts (their processing
     * and their share of the pass's transmit flush): relaxed stores by the
     * one PMD polling the queue, read by control. */
    struct rxq_counter rxq_cycles[PKT_PORT_MAX_QUEUES];
    uint64_t rxq_mark[PKT_PORT_MAX_QUEUES]; /* control: rxq_cycles at the last assignment */
    uint64_t rxq_lb_mark[PKT_PORT_MAX_QUEUES]; /* control: at the last auto-lb check */
    struct tx_lock locks[PKT_PORT_MAX_QUEUES];
};

struct rxq_ref {
    struct dp_port *port;
    uint16_t q;
};

/* Immutable once published. */
struct poll_list {
    uint64_t version;
    unsigned n;
    struct rxq_ref rxqs[];
};

struct pmd_counters {
    uint64_t packets, simple_hits, emc_hits, mfc_hits, upcalls, upcall_fails, lost;
    uint64_t busy_cycles, idle_cycles;
};

struct tx_batch {
    struct dp_port *port;
    uint32_t port_no;
    unsigned n;
    struct pkt_buf *pkts[SW_DPIF_BURST];
};

struct flow_group {
    struct sw_mfc_flow *flow;
    unsigned n;
    struct pkt_buf *pkts[SW_DPIF_BURST];
};

/*
 * A port's simple match (see dpif.h), PMD thread only: the megaflow that
 * decided the port's recent bursts, whose mask covers only simple fields,
 * with its mask and masked value in key words sw_flow_simple_word[].
 */
struct simple_match {
    struct sw_mfc_flow *flow;           /* counted reference, or NULL */
    const struct sw_mfc_flow *checked;  /* last flow found not simple (compared, never read) */
    uint64_t mask[SW_FLOW_SIMPLE_WORDS];
    uint64_t value[SW_FLOW_SIMPLE_WORDS];
    unsigned backoff;                   /* bursts to skip after one that did not agree */
};

/* Bursts a port skips its simple match after one that did not agree. */
#define SIMPLE_BACKOFF 8

struct pmd {
    struct sw_dpif *dp;
    unsigned index;
    int cpu;
    struct kk_reactor *reactor;
    struct kk_poller *poller;
    struct kk_timer *nap;
    struct sw_emc *emc;

    struct poll_list *published;    /* written by control, acquire-loaded */
    uint64_t acked;                 /* version the PMD runs with (atomic) */
    unsigned n_rxq;                 /* for statistics (atomic) */

    /* PMD thread only. */
    struct poll_list *cur;
    struct kk_fd_watch *watches[SW_DPIF_MAX_PORTS > 256 ? 256 : SW_DPIF_MAX_PORTS];
    unsigned n_watches;
    bool need_nap;                  /* a queue without a wake-up descriptor */
    uint64_t now_ms;
    struct pmd_counters turn;       /* this turn's counts */
    struct sw_odp_exec_ctx exec;
    uint16_t tx_slot[SW_DPIF_MAX_PORTS]; /* port -> batch index + 1 */
    unsigned n_tx;
    struct tx_batch tx[TX_SLOTS];
    struct flow_group groups[SW_DPIF_BURST];
    struct sw_upcall up;
    struct simple_match *simple;    /* [SW_DPIF_MAX_PORTS]; NULL: simple matching off */

    struct pmd_counters stats KK_CACHE_ALIGNED; /* written by the PMD (relaxed stores) */
    struct pmd_counters base;       /* control: baseline of the last clear */
};

struct meter_band {
    uint64_t rate;               /* tokens per second */
    uint64_t burst;              /* bucket size, tokens */
    uint64_t tokens;
    uint64_t packets, bytes;     /* dropped by this band (atomic reads) */
};

/* Bits (kbit/s meters) or milli-packets (packets/s meters) are the tokens. */
struct meter {
    uint32_t lock;
    bool pktps;
    unsigned n_bands;
    uint64_t last_ns;
    uint64_t packets, bytes;     /* reached the meter (atomic reads) */
    struct meter_band bands[SW_METER_MAX_BANDS];
};

struct sw_dpif {
    struct sw_dpif_opts opts;
    struct meter *meters[SW_DPIF_MAX_METERS]; /* RCU-published */
    struct pkt_pool *pool;
    struct sw_mfc *mfc;
    struct kk_reactor *ctl;
    struct kk_timer *expire_timer;
    unsigned n_pmds;
    struct pmd *pmds[SW_DPIF_MAX_PMDS];
    uint64_t version;
    uint64_t assigned_tsc;       /* when the queues were last assigned */
    uint64_t lb_tsc;             /* the last auto-lb check or assignment */
    struct dp_port *ports[SW_DPIF_MAX_PORTS]; /* slots: acquire/release */
};

/* ---- small helpers ---------------------------------------------------- */

static void spin_lock(uint32_t *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            kk_cpu_relax();
}

static void spin_unlock(uint32_t *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static uint16_t in_port_id(uint32_t in_port)
{
    return in_port < SW_DPIF_MAX_PORTS ? (uint16_t)in_port : UINT16_MAX;
}

static uint32_t port_of_id(uint16_t id)
{
    return id < SW_DPIF_MAX_PORTS ? id : SW_DPIF_PORT_NONE;
}

/* A registered RCU thread must not block online while others wait for a
 * grace period: these bracket every wait of the control thread. */
static bool rcu_pause(void)
{
    bool online = kk_rcu_thread_online_now();
    if (online)
        kk_rcu_thread_offline();
    return online;
}

static void rcu_resume(bool online)
{
    if (online)
        kk_rcu_thread_online();
}

/*
 * Send @pkts to @p from sender @sender (a PMD index, or n_pmds for the
 * control thread), finishing offloads the port cannot take. Returns the
 * packets lost (not accepted); every packet is consumed.
 */
static unsigned port_send(struct sw_dpif *dp, struct dp_port *p, unsigned sender,
                          struct pkt_buf **pkts, unsigned n)
{
    struct pkt_buf *fixed[SW_DPIF_BURST + MAX_OFFLOAD_OUT];
    unsigned lost = 0;
    if (!p->csum_ok || !p->gso_ok) {
        unsigned need = 0;
        for (unsigned i = 0; i < n; i++)
            need |= pkts[i]->ol_flags & (PKT_OL_CSUM_PARTIAL | PKT_OL_GSO);
        if (need) {
            unsigned m = 0;
            for (unsigned i = 0; i < n; i++) {
                if (m + MAX_OFFLOAD_OUT > KK_ARRAY_SIZE(fixed)) {
                    lost += port_send(dp, p, sender, fixed, m);
                    m = 0;
                }
                int k = pkt_offload_for_caps(pkts[i], p->csum_ok, p->gso_ok, dp->pool, fixed + m,
                                             MAX_OFFLOAD_OUT);
                if (k < 0)
                    lost++;
                else
                    m += (unsigned)k;
            }
            pkts = fixed;
            n = m;
            /* From here on nothing needs finishing. */
        }
    }
    uint16_t q = (uint16_t)(sender % p->n_txq);
    unsigned sent = 0;
    while (sent < n) {
        uint16_t chunk = (uint16_t)KK_MIN(n - sent, 256u);
        uint16_t k;
        if (p->tx_shared) {
            spin_lock(&p->locks[q].locked);
            k = pkt_port_tx_burst(p->port, q, pkts + sent, chunk);
            spin_unlock(&p->locks[q].locked);
        } else {
            k = pkt_port_tx_burst(p->port, q, pkts + sent, chunk);
        }
        if (k < chunk) {
            pkt_free_bulk(pkts + sent + k, (uint32_t)(chunk - k));
            lost += chunk - k;
        }
        sent += chunk;
    }
    return lost;
}

/* ---- PMD: transmit batching ------------------------------------------- */

static void flush_batch(struct pmd *pmd, struct tx_batch *b)
{
    if (b->n) {
        pmd->turn.lost += port_send(pmd->dp, b->port, pmd->index, b->pkts, b->n);
        b->n = 0;
    }
}

static void flush_all(struct pmd *pmd)
{
    for (unsigned i = 0; i < pmd->n_tx; i++) {
        flush_batch(pmd, &pmd->tx[i]);
        pmd->tx_slot[pmd->tx[i].port_no] = 0;
    }
    pmd->n_tx = 0;
}

/* The transmit batch for @port_no this turn, or NULL (no such port). */
static inline struct tx_batch *tx_batch_of(struct pmd *pmd, uint32_t port_no)
{
    if (kk_unlikely(port_no >= SW_DPIF_MAX_PORTS))
        return NULL;
    unsigned slot = pmd->tx_slot[port_no];
    if (kk_unlikely(slot == 0)) {
        struct dp_port *p = __atomic_load_n(&pmd->dp->ports[port_no], __ATOMIC_ACQUIRE);
        if (!p)
            return NULL;
        if (pmd->n_tx == TX_SLOTS)
            flush_all(pmd);
        struct tx_batch *b = &pmd->tx[pmd->n_tx++];
        b->port = p;
        b->port_no = port_no;
        b->n = 0;
        slot = pmd->n_tx;
        pmd->tx_slot[port_no] = (uint16_t)slot;
    }
    return &pmd->tx[slot - 1];
}

static void pmd_output(void *arg, uint32_t port_no, struct pkt_buf *pkt)
{
    struct pmd *pmd = arg;
    struct tx_batch *b = tx_batch_of(pmd, port_no);
    if (kk_unlikely(!b)) {
        pkt_free(pkt);
        pmd->turn.lost++;
        return;
    }
    b->pkts[b->n++] = pkt;
    if (b->n == SW_DPIF_BURST)
        flush_batch(pmd, b);
}

/*
 * Queue @n packets for @port_no: the single-OUTPUT fast path (no per-packet
 * callback). A whole burst meeting an empty batch is sent from the
 * caller's array as it is, without copying the pointers.
 */
static void tx_append(struct pmd *pmd, uint32_t port_no, struct pkt_buf **pkts, unsigned n)
{
    struct tx_batch *b = tx_batch_of(pmd, port_no);
    if (kk_unlikely(!b)) {
        pkt_free_bulk(pkts, n);
        pmd->turn.lost += n;
        return;
    }
    if (b->n == 0 && n == SW_DPIF_BURST) {
        pmd->turn.lost += port_send(pmd->dp, b->port, pmd->index, pkts, n);
        return;
    }
    while (n) {
        unsigned k = KK_MIN(n, SW_DPIF_BURST - b->n);
        memcpy(b->pkts + b->n, pkts, k * sizeof(*pkts));
        b->n += k;
        pkts += k;
        n -= k;
        if (b->n == SW_DPIF_BURST)
            flush_batch(pmd, b);
    }
}

static void pmd_userspace(void *arg, const struct sw_odp_userspace *u, const struct pkt_buf *pkt)
{
    struct pmd *pmd = arg;
    if (pmd->dp->opts.userspace)
        pmd->dp->opts.userspace(pmd->dp->opts.upcall_arg, u, pkt, port_of_id(pkt->port));
}

/* ---- meters ------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* SW_ODP_METER for a batch: which packets stay under the rates. */
static void meter_batch(struct sw_dpif *dp, uint32_t id, struct pkt_buf *const *pkts, unsigned n,
                        bool *keep)
{
    struct meter *m = id < SW_DPIF_MAX_METERS ? kk_rcu_get(&dp->meters[id]) : NULL;
    if (!m) {
        for (unsigned i = 0; i < n; i++)
            keep[i] = true;
        return;
    }
    uint64_t now = mono_ns();
    spin_lock(&m->lock);
    uint64_t dt = now > m->last_ns ? now - m->last_ns : 0;
    m->last_ns = now > m->last_ns ? now : m->last_ns;
    for (unsigned b = 0; b < m->n_bands; b++) {
        struct meter_band *band = &m->bands[b];
        /* dt up to 10 s: rate * dt fits in 64 bits for any 32-bit rate */
        uint64_t add = band->rate * (dt > 10000000000ull ? 10000000000ull : dt) / 1000000000u;
        band->tokens = band->tokens + add > band->burst ? band->burst : band->tokens + add;
    }
    uint64_t bytes = 0, dropped_p[SW_METER_MAX_BANDS] = {0}, dropped_b[SW_METER_MAX_BANDS] = {0};
    for (unsigned i = 0; i < n; i++) {
        uint64_t cost = m->pktps ? 1000 : (uint64_t)pkts[i]->pkt_len * 8;
        bytes += pkts[i]->pkt_len;
        int applies = -1;
        for (unsigned b = 0; b < m->n_bands; b++) {
            struct meter_band *band = &m->bands[b];
            if (band->tokens >= cost)
                band->tokens -= cost;
            else if (applies < 0 || band->rate > m->bands[applies].rate)
                applies = (int)b;
        }
        keep[i] = applies < 0;
        if (applies >= 0) {
            dropped_p[applies]++;
            dropped_b[applies] += pkts[i]->pkt_len;
        }
    }
    __atomic_store_n(&m->packets, m->packets + n, __ATOMIC_RELAXED);
    __atomic_store_n(&m->bytes, m->bytes + bytes, __ATOMIC_RELAXED);
    for (unsigned b = 0; b < m->n_bands; b++) {
        if (dropped_p[b]) {
            __atomic_store_n(&m->bands[b].packets, m->bands[b].packets + dropped_p[b],
                             __ATOMIC_RELAXED);
            __atomic_store_n(&m->bands[b].bytes, m->bands[b].bytes + dropped_b[b],
                             __ATOMIC_RELAXED);
        }
    }
    spin_unlock(&m->lock);
}

static void pmd_meter(void *arg, uint32_t id, struct pkt_buf *const *pkts, unsigned n, bool *keep)
{
    struct pmd *pmd = arg;
    meter_batch(pmd->dp, id, pkts, n, keep);
}

int sw_dpif_meter_set(struct sw_dpif *dp, uint32_t id, const struct sw_meter_config *c)
{
    if (!dp || !c || id >= SW_DPIF_MAX_METERS || c->n_bands == 0 ||
        c->n_bands > SW_METER_MAX_BANDS)
        return -EINVAL;
    for (unsigned b = 0; b < c->n_bands; b++)
        if (c->bands[b].rate == 0)
            return -EINVAL;
    struct meter *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->pktps = c->pktps;
    m->n_bands = c->n_bands;
    m->last_ns = mono_ns();
    for (unsigned b = 0; b < c->n_bands; b++) {
        struct meter_band *band = &m->bands[b];
        uint64_t unit = 1000; /* kbit -> bits, packets -> milli-packets */
        band->rate = (uint64_t)c->bands[b].rate * unit;
        band->burst = c->bands[b].burst ? (uint64_t)c->bands[b].burst * unit : band->rate / 10;
        /* at least one full-size frame (or packet) fits */
        uint64_t floor = m->pktps ? 1000 : 1514 * 8;
        if (band->burst < floor)
            band->burst = floor;
        band->tokens = band->burst;
    }
    struct meter *old = dp->meters[id];
    if (old) {
        /* the counters stay across a modify */
        spin_lock(&old->lock);
        m->packets = old->packets;
        m->bytes = old->bytes;
        for (unsigned b = 0; b < m->n_bands && b < old->n_bands; b++) {
            m->bands[b].packets = old->bands[b].packets;
            m->bands[b].bytes = old->bands[b].bytes;
        }
        spin_unlock(&old->lock);
    }
    kk_rcu_set(&dp->meters[id], m);
    if (old)
        kk_rcu_call(free, old);
    return 0;
}

int sw_dpif_meter_del(struct sw_dpif *dp, uint32_t id)
{
    if (!dp || id >= SW_DPIF_MAX_METERS || !dp->meters[id])
        return -ENOENT;
    struct meter *old = dp->meters[id];
    kk_rcu_set(&dp->meters[id], NULL);
    kk_rcu_call(free, old);
    return 0;
}

int sw_dpif_meter_stats(struct sw_dpif *dp, uint32_t id, struct sw_meter_stats *out)
{
    if (!dp || !out || id >= SW_DPIF_MAX_METERS)
        return -ENOENT;
    struct meter *m = kk_rcu_get(&dp->meters[id]);
    int rc = -ENOENT;
    if (m) {
        memset(out, 0, sizeof(*out));
        out->packets = __atomic_load_n(&m->packets, __ATOMIC_RELAXED);
        out->bytes = __atomic_load_n(&m->bytes, __ATOMIC_RELAXED);
        out->n_bands = m->n_bands;
        for (unsigned b = 0; b < m->n_bands; b++) {
            out->band_packets[b] = __atomic_load_n(&m->bands[b].packets, __ATOMIC_RELAXED);
            out->band_bytes[b] = __atomic_load_n(&m->bands[b].bytes, __ATOMIC_RELAXED);
        }
        rc = 0;
    }
    return rc;
}

/* ---- PMD: upcalls ------------------------------------------------------ */

static void wc_init(struct sw_flow_mask *wc)
{
    memset(wc, 0, sizeof(*wc));
    wc->masks.in_port = UINT32_MAX;
    wc->masks.dl_type = UINT16_MAX;
    wc->masks.nw_proto = UINT8_MAX;
    wc->masks.nw_frag = UINT8_MAX;
}

/*
 * Slow path for one packet that missed both caches. Returns the megaflow
 * the packet now belongs to (it joins its group), or NULL when the packet
 * was dealt with here (executed alone, consumed or dropped).
 */
static struct sw_mfc_flow *handle_upcall(struct pmd *pmd, struct pkt_buf *pkt,
                                         const struct sw_flow_key *key, uint64_t hash)
{
    struct sw_dpif *dp = pmd->dp;
    struct sw_upcall *up = &pmd->up;
    pmd->turn.upcalls++;
    if (!dp->opts.upcall) {
        pmd->turn.upcall_fails++;
        pkt_free(pkt);
        return NULL;
    }
    up->key = key;
    up->pkt = pkt;
    sw_odp_buf_init(&up->actions);
    wc_init(&up->wc);
    up->flow_user = NULL;
    enum sw_upcall_result res = dp->opts.upcall(dp->opts.upcall_arg, up);
    if (res == SW_UPCALL_CONSUMED) {
        pkt_free(pkt);
        return NULL;
    }
    if (up->actions.overflow || sw_odp_validate(up->actions.data, up->actions.len) != 0 ||
        (res != SW_UPCALL_INSTALL && res != SW_UPCALL_NO_INSTALL)) {
        KK_LOGW_RL(dpif_log, "pmd%u: upcall gave unusable actions: packet dropped", pmd->index);
        pmd->turn.upcall_fails++;
        pkt_free(pkt);
        return NULL;
    }
    if (res == SW_UPCALL_INSTALL) {
        struct sw_mfc_flow *flow = NULL;
        int rc = -ENOSPC;
        if (sw_mfc_count(dp->mfc) < dp->opts.max_flows)
            rc = sw_mfc_insert(dp->mfc, key, &up->wc, up->actions.data, up->actions.len,
                               up->flow_user, pmd->now_ms, &flow);
        if ((rc == 0 || rc == -EEXIST) && flow) {
            sw_emc_insert(pmd->emc, key, hash, flow);
            return flow;
        }
        /* Full table or no memory: this packet only, from the slow path. */
        pmd->turn.upcall_fails++;
    }
    sw_odp_execute(&pmd->exec, &pkt, 1, up->actions.data, up->actions.len);
    return NULL;
}

/* ---- PMD: simple match ------------------------------------------------- */

static void simple_clear(struct simple_match *sm)
{
    if (sm->flow)
        sw_mfc_flow_unref(sm->flow);
    sm->flow = NULL;
    sm->checked = NULL;
    sm->backoff = 0;
}

/* Drop every port's simple match (poll list changes, teardown). */
static void simple_clear_all(struct pmd *pmd)
{
    if (!pmd->simple)
        return;
    for (unsigned i = 0; i < SW_DPIF_MAX_PORTS; i++)
        if (pmd->simple[i].flow || pmd->simple[i].checked)
            simple_clear(&pmd->simple[i]);
}

/* Account @n packets of @flow and carry out its actions on them. */
static void run_flow(struct pmd *pmd, struct sw_mfc_flow *f, struct pkt_buf **pkts, unsigned n,
                     uint64_t bytes, uint16_t tcp_flags)
{
    sw_mfc_flow_account_shard(f, pmd->index, pmd->now_ms, n, bytes, tcp_flags);
    size_t len;
    const struct sw_odp_output *out = sw_mfc_flow_actions(f, &len);
    if (len == sizeof(*out) && out->hdr.type == SW_ODP_OUTPUT)
        tx_append(pmd, out->port, pkts, n);
    else
        sw_odp_execute(&pmd->exec, pkts, n, out, len);
}

/*
 * The burst through @sm's megaflow, if the megaflow is alive and every
 * packet agrees with its match in the simple fields: returns true (the
 * packets are consumed). Otherwise returns false, nothing consumed.
 */
static bool simple_burst(struct pmd *pmd, struct simple_match *sm, struct pkt_buf **pkts,
                         unsigned n)
{
    struct sw_mfc_flow *f = sm->flow;
    if (kk_unlikely(sw_mfc_flow_dead(f))) {
        simple_clear(sm);
        return false;
    }
    uint64_t bytes = 0;
    uint16_t tcp_flags = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct pkt_buf *p = pkts[i];
        if (i + 1 < n)
            __builtin_prefetch(pkt_data(pkts[i + 1]));
        struct sw_flow_simple k;
        if (kk_unlikely(!sw_flow_extract_simple_frame(pkt_data(p), p->data_len, p->pkt_len, &k)) ||
            kk_unlikely((((k.w[0] ^ sm->value[0]) & sm->mask[0]) |
                         ((k.w[1] ^ sm->value[1]) & sm->mask[1]) |
                         ((k.w[2] ^ sm->value[2]) & sm->mask[2])) != 0)) {
            sm->backoff = SIMPLE_BACKOFF;
            return false;
        }
        bytes += p->pkt_len;
        tcp_flags |= k.tcp_flags;
    }
    pmd->turn.simple_hits += n;
    run_flow(pmd, f, pkts, n, bytes, tcp_flags);
    return true;
}

/*
 * A burst from @port_no was all decided by @f (by the normal path): make
 * @f the port's simple match if its mask is simple.
 */
static void simple_learn(struct simple_match *sm, uint32_t port_no, struct sw_mfc_flow *f)
{
    if (f == sm->flow || f == sm->checked || sw_mfc_flow_dead(f))
        return;
    struct sw_flow_key key;
    struct sw_flow_mask mask;
    sw_mfc_flow_match(f, &key, &mask);
    /* Word 0 (in_port, recirc_id) is the same for every packet of the port:
     * check it once here. Packets from ports have recirc_id 0. */
    struct sw_flow_key meta;
    memset(&meta, 0, sizeof(meta));
    meta.in_port = port_no;
    const uint64_t *kw = sw_flow_key_words(&key), *mw = sw_flow_key_words(&mask.masks);
    if (!sw_flow_mask_is_simple(&mask) ||
        ((sw_flow_key_words(&meta)[0] ^ kw[0]) & mw[0]) != 0) {
        simple_clear(sm);
        sm->checked = f;
        return;
    }
    simple_clear(sm); /* and its backoff: that was the old flow's */
    sw_mfc_flow_ref(f);
    sm->flow = f;
    for (unsigned i = 0; i < SW_FLOW_SIMPLE_WORDS; i++) {
        sm->mask[i] = mw[sw_flow_simple_word[i]];
        sm->value[i] = kw[sw_flow_simple_word[i]] & sm->mask[i];
    }
}

/* ---- PMD: the burst ----------------------------------------------------- */


/*
 * The burst in passes, so that memory latency overlaps: (1) extract every
 * key; (2)+(3) sw_emc_lookup_burst(): hash every key and prefetch its slot,
 * then compare (a key equal to the previous packet's reuses that packet's
 * answer); (4) the misses as one megaflow burst lookup, then upcalls;
 * (5) runs of one megaflow, accounted once each; single-OUTPUT flows go
 * straight to their port's batch, others are grouped and executed.
 */
static void process_burst(struct pmd *pmd, uint32_t port_no, struct pkt_buf **pkts, unsigned n)
{
    struct sw_dpif *dp = pmd->dp;
    struct simple_match *sm = pmd->simple ? &pmd->simple[port_no] : NULL;
    if (sm && sm->flow) {
        if (kk_likely(sm->backoff == 0)) {
            if (simple_burst(pmd, sm, pkts, n))
                return;
        } else {
            sm->backoff--;
        }
    }
    struct sw_flow_key keys[SW_DPIF_BURST];
    uint64_t hashes[SW_DPIF_BURST];
    struct sw_mfc_flow *flows[SW_DPIF_BURST];
    uint8_t miss[SW_DPIF_BURST];
    unsigned n_miss = 0;

    for (unsigned i = 0; i < n; i++) {
        struct pkt_buf *p = pkts[i];
        if (i + 1 < n)
            __builtin_prefetch(pkt_data(pkts[i + 1]));
        if (kk_unlikely(sw_flow_extract_frame(pkt_data(p), p->data_len, p->pkt_len, port_no,
                                              &keys[i], NULL) == PKT_TRUNCATED) &&
            p->next) {
            /* Headers run past the first segment (a jumbo frame, or a
             * borrowed payload after its first bytes): bring them in. */
            pkt_pullup(p, p->pkt_len);
            sw_flow_extract_frame(pkt_data(p), p->data_len, p->pkt_len, port_no, &keys[i],
                                  NULL);
        }
    }
    /* After extraction, not interleaved with it: the burst lookup's 16-byte
     * key loads right after a key's 8-byte stores would stall on store
     * forwarding. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
/* keys[0, n) were all written above; GCC cannot see that through the calls. */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
    sw_emc_lookup_burst(pmd->emc, keys, n, hashes, flows);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    for (unsigned i = 0; i < n; i++)
        if (kk_unlikely(!flows[i]))
            miss[n_miss++] = (uint8_t)i;
    pmd->turn.emc_hits += n - n_miss;

    if (kk_unlikely(n_miss)) {
        const struct sw_flow_key *mkeys[SW_DPIF_BURST];
        struct sw_mfc_flow *mflows[SW_DPIF_BURST];
        for (unsigned j = 0; j < n_miss; j++)
            mkeys[j] = &keys[miss[j]];
        unsigned hits = sw_mfc_lookup_burst(dp->mfc, mkeys, n_miss, mflows);
        bool upcalled = false;
        pmd->turn.mfc_hits += hits;
        for (unsigned j = 0; j < n_miss; j++) {
            unsigned i = miss[j];
            struct sw_mfc_flow *f = mflows[j];
            if (f) {
                sw_emc_insert(pmd->emc, &keys[i], hashes[i], f);
            } else if (upcalled && (f = sw_mfc_lookup(dp->mfc, &keys[i])) != NULL) {
                /* Installed by an upcall earlier in this burst. */
                pmd->turn.mfc_hits++;
                sw_emc_insert(pmd->emc, &keys[i], hashes[i], f);
            } else {
                f = handle_upcall(pmd, pkts[i], &keys[i], hashes[i]);
                upcalled = true;
            }
            flows[i] = f;
        }
    }

    /*
     * Runs of one megaflow, in order: each run is accounted once (to this
     * PMD's statistics shard) and, when its flow's actions are a single
     * OUTPUT (the common flow), appended to that port's transmit batch
     * straight away — a burst of one flow goes out from the caller's array
     * as it is. Runs of other flows are grouped by megaflow (keeping each
     * flow's packets in order) and executed after the loop.
     */
    unsigned n_groups = 0;
    struct flow_group *groups = pmd->groups, *g = NULL;
    for (unsigned i = 0, j; i < n; i = j) {
        struct sw_mfc_flow *f = flows[i];
        if (!f) {
            j = i + 1;
            continue;
        }
        uint64_t bytes = pkts[i]->pkt_len;
        uint16_t tcp_flags = keys[i].tcp_flags;
        for (j = i + 1; j < n && flows[j] == f; j++) {
            bytes += pkts[j]->pkt_len;
            tcp_flags |= keys[j].tcp_flags;
        }
        if (kk_unlikely(sm && i == 0 && j == n))
            simple_learn(sm, port_no, f); /* before the packets go */
        sw_mfc_flow_account_shard(f, pmd->index, pmd->now_ms, j - i, bytes, tcp_flags);
        size_t len;
        const struct sw_odp_output *out = sw_mfc_flow_actions(f, &len);
        if (len == sizeof(*out) && out->hdr.type == SW_ODP_OUTPUT) {
            tx_append(pmd, out->port, pkts + i, j - i);
            continue;
        }
        if (!g || g->flow != f) {
            g = NULL;
            for (unsigned k = 0; k < n_groups; k++) {
                if (groups[k].flow == f) {
                    g = &groups[k];
                    break;
                }
            }
            if (!g) {
                g = &groups[n_groups++];
                g->flow = f;
                g->n = 0;
            }
        }
        memcpy(g->pkts + g->n, pkts + i, (j - i) * sizeof(*pkts));
        g->n += j - i;
    }
    for (unsigned k = 0; k < n_groups; k++) {
        g = &groups[k];
        size_t len;
        const void *actions = sw_mfc_flow_actions(g->flow, &len);
        sw_odp_execute(&pmd->exec, g->pkts, g->n, actions, len);
    }
}

/* ---- PMD: poll list changes and sleeping -------------------------------- */

static void wake_noop(void *arg, int fd, unsigned events)
{
    (void)arg;
    (void)fd;
    (void)events;
}

static void nap_noop(void *arg)
{
    (void)arg;
}

static void msg_noop(void *arg)
{
    (void)arg;
}

/* On the PMD thread: start using @pl. */
static void pmd_reload(struct pmd *pmd, struct poll_list *pl)
{
    /* Ports may have gone (and their numbers come back as other ports). */
    simple_clear_all(pmd);
    for (unsigned i = 0; i < pmd->n_watches; i++)
        kk_fd_watch_remove(pmd->watches[i]);
    pmd->n_watches = 0;
    pmd->need_nap = false;
    for (unsigned i = 0; i < pl->n; i++) {
        int fd = pkt_port_rx_fd(pl->rxqs[i].port->port, pl->rxqs[i].q);
        struct kk_fd_watch *w;
        if (fd < 0 || pmd->n_watches == KK_ARRAY_SIZE(pmd->watches)) {
            pmd->need_nap = true;
        } else {
            int rc = kk_fd_watch_add(pmd->reactor, fd, KK_FD_READ, wake_noop, pmd, &w);
            if (rc == 0)
                pmd->watches[pmd->n_watches++] = w;
            else if (rc != -EEXIST)
                pmd->need_nap = true;
        }
    }
    pmd->cur = pl;
    __atomic_store_n(&pmd->n_rxq, pl->n, __ATOMIC_RELAXED);
    __atomic_store_n(&pmd->acked, pl->version, __ATOMIC_RELEASE);
}

static bool pmd_arm(void *arg, bool enable)
{
    struct pmd *pmd = arg;
    struct poll_list *pl = pmd->cur;
    bool pending = false;
    if (!pl)
        return false;
    for (unsigned i = 0; i < pl->n; i++)
        pending |= pkt_port_rx_arm(pl->rxqs[i].port->port, pl->rxqs[i].q, enable);
    if (enable && pmd->need_nap && !pending)
        kk_timer_arm(pmd->nap, NAP_US, 0);
    return enable && pending;
}

static void publish_stats(struct pmd *pmd)
{
    struct pmd_counters *s = &pmd->stats, *t = &pmd->turn;
#define ADD(f)                                                                 \
    if (t->f)                                                                  \
        __atomic_store_n(&s->f, s->f + t->f, __ATOMIC_RELAXED)
    ADD(packets);
    ADD(simple_hits);
    ADD(emc_hits);
    ADD(mfc_hits);
    ADD(upcalls);
    ADD(upcall_fails);
    ADD(lost);
    ADD(busy_cycles);
    ADD(idle_cycles);
#undef ADD
    memset(t, 0, sizeof(*t));
}

/*
 * One reactor turn: passes over the poll list, each flushing what it
 * queued, repeated while a pass received packets (up to PASSES_PER_TURN):
 * under load the reactor's own per-turn work (RCU quiescent state,
 * messages, timers, the clock) is paid once per several passes rather than
 * every pass. A pass finds nothing as soon as the queues are drained, so
 * messages and grace periods wait at most a few bursts longer.
 */
#define PASSES_PER_TURN 8

/* Busy queues per pass that share its flush's cycles (more: the first ones). */
#define BUSY_RXQS 8
struct busy_rxq {
    struct rxq_ref *r;
    unsigned n; /* packets received */
};

/* Add @cycles to the queue's count (its one writer: this PMD). */
static inline void rxq_charge(const struct rxq_ref *r, uint64_t cycles)
{
    uint64_t *c = &r->port->rxq_cycles[r->q].v;
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + cycles, __ATOMIC_RELAXED);
}

static int pmd_poll(void *arg)
{
    struct pmd *pmd = arg;
    uint64_t t0 = kk_rdtsc();
    struct poll_list *pl = kk_rcu_get(&pmd->published);
    if (kk_unlikely(pl != pmd->cur))
        pmd_reload(pmd, pl);
    pmd->now_ms = kk_reactor_now_us(pmd->reactor) / 1000;
    unsigned total = 0;
    uint64_t busy_end = t0, stamp = t0;
    struct pkt_buf *pkts[SW_DPIF_BURST];
    for (unsigned pass = 0; pass < PASSES_PER_TURN; pass++) {
        unsigned got = 0, n_busy = 0;
        struct busy_rxq busy[BUSY_RXQS];
        for (unsigned i = 0; i < pl->n; i++) {
            struct rxq_ref *r = &pl->rxqs[i];
            unsigned n = pkt_port_rx_burst(r->port->port, r->q, pkts, SW_DPIF_BURST);
            if (n) {
                process_burst(pmd, r->port->port_no, pkts, n);
                got += n;
                /* The queue's cycles: since the previous busy one (empty
                 * polls in between are cheap). */
                uint64_t now = kk_rdtsc();
                rxq_charge(r, now - stamp);
                stamp = now;
                if (n_busy < BUSY_RXQS)
                    busy[n_busy++] = (struct busy_rxq){r, n};
            }
        }
        if (pmd->n_tx)
            flush_all(pmd);
        /* Every packet of the pass is sent or dropped: guest buffers lent
         * to it (borrowed payloads) go back. */
        if (got)
            for (unsigned i = 0; i < pl->n; i++)
                pkt_port_rx_done(pl->rxqs[i].port->port, pl->rxqs[i].q);
        if (!got)
            break;
        total += got;
        busy_end = kk_rdtsc();
        /* The flush's cycles go to the pass's busy queues by packets. */
        uint64_t flush = busy_end - stamp;
        if (n_busy == 1) {
            rxq_charge(busy[0].r, flush);
        } else {
            unsigned counted = 0;
            for (unsigned i = 0; i < n_busy; i++)
                counted += busy[i].n;
            for (unsigned i = 0; i < n_busy; i++)
                rxq_charge(busy[i].r, flush * busy[i].n / counted);
        }
        stamp = busy_end;
    }
    uint64_t end = kk_rdtsc();
    if (total) {
        /* The closing empty pass, if any, is idle time. */
        pmd->turn.packets += total;
        pmd->turn.busy_cycles += busy_end - t0;
        pmd->turn.idle_cycles += end - busy_end;
        publish_stats(pmd);
    } else {
        /* Idle turns are cheap and many: publish their cycles now and then. */
        pmd->turn.idle_cycles += end - t0;
        if (pmd->turn.idle_cycles > (1u << 24))
            publish_stats(pmd);
    }
    return (int)total;
}

/* ---- control: scheduling ----------------------------------------------- */

static struct poll_list *poll_list_new(unsigned cap, uint64_t version)
{
    struct poll_list *pl = calloc(1, sizeof(*pl) + cap * sizeof(struct rxq_ref));
    if (pl)
        pl->version = version;
    return pl;
}

static void kick_and_wait(struct sw_dpif *dp, uint64_t version)
{
    for (unsigned i = 0; i < dp->n_pmds; i++)
        kk_reactor_send(dp->pmds[i]->reactor, msg_noop, NULL); /* full queue: awake anyway */
    bool online = rcu_pause();
    for (unsigned i = 0; i < dp->n_pmds; i++)
        while (__atomic_load_n(&dp->pmds[i]->acked, __ATOMIC_ACQUIRE) < version)
            usleep(20);
    rcu_resume(online);
}

/*
 * Publish @lists (one per PMD, each with @version) and wait until every PMD
 * runs with its list; then free the lists they replaced.
 */
static void publish_lists(struct sw_dpif *dp, struct poll_list **lists, uint64_t version)
{
    struct poll_list *old[SW_DPIF_MAX_PMDS];
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        old[i] = dp->pmds[i]->published;
        kk_rcu_set(&dp->pmds[i]->published, lists[i]);
    }
    kick_and_wait(dp, version);
    for (unsigned i = 0; i < dp->n_pmds; i++)
        free(old[i]);
}

/* A receive queue to assign, with its load since the last assignment. */
struct rxq_load {
    struct dp_port *port;
    uint16_t q;
    int16_t was;
    uint64_t cycles;
};

/* Heaviest first; equal loads in port and queue order. */
static int load_cmp(const void *a, const void *b)
{
    const struct rxq_load *x = a, *y = b;
    if (x->cycles != y->cycles)
        return x->cycles > y->cycles ? -1 : 1;
    if (x->port->port_no != y->port->port_no)
        return x->port->port_no < y->port->port_no ? -1 : 1;
    return x->q < y->q ? -1 : x->q > y->q;
}

/* How many receive queues the datapath's ports have. */
static unsigned count_rxqs(const struct sw_dpif *dp)
{
    unsigned total = 0;
    for (unsigned p = 0; p < SW_DPIF_MAX_PORTS; p++)
        if (dp->ports[p])
            total += dp->ports[p]->port->n_rxq;
    return total;
}

/* Every receive queue with its busy cycles since the last assignment, or
 * with @since_check since the last auto-lb check. Returns how many. */
static unsigned collect_loads(struct sw_dpif *dp, struct rxq_load *loads, bool since_check)
{
    unsigned n = 0;
    for (unsigned p = 0; p < SW_DPIF_MAX_PORTS; p++) {
        struct dp_port *port = dp->ports[p];
        if (!port)
            continue;
        for (uint16_t q = 0; q < port->port->n_rxq; q++) {
            uint64_t c = __atomic_load_n(&port->rxq_cycles[q].v, __ATOMIC_RELAXED);
            uint64_t mark = since_check ? port->rxq_lb_mark[q] : port->rxq_mark[q];
            loads[n++] = (struct rxq_load){.port = port, .q = q, .was = port->rxq_pmd[q],
                                           .cycles = c - mark};
        }
    }
    return n;
}

/* The PMDs' load and queues while queues are dealt out. */
struct pmd_tally {
    uint64_t load[SW_DPIF_MAX_PMDS];
    unsigned queues[SW_DPIF_MAX_PMDS];
};

/*
 * The PMD for the next queue @l (heaviest first): the one with the least
 * load so far, then the fewest queues, then the one that polled it
 * already, then the lowest index. Adds @l to it in @t.
 */
static unsigned assign_next(unsigned n_pmds, struct pmd_tally *t, const struct rxq_load *l)
{
    unsigned best = 0;
    for (unsigned k = 1; k < n_pmds; k++) {
        if (t->load[k] != t->load[best]) {
            if (t->load[k] < t->load[best])
                best = k;
        } else if (t->queues[k] != t->queues[best]) {
            if (t->queues[k] < t->queues[best])
                best = k;
        } else if ((int)k == l->was) {
            best = k;
        }
    }
    t->load[best] += l->cycles;
    t->queues[best]++;
    return best;
}

/*
 * Assign every receive queue to a PMD by load (as OVS's "cycles"
 * assignment): queues heaviest first, each to the PMD with the least load
 * so far, then the fewest queues, then the one that polled it already,
 * then the lowest index. A queue's load is the busy cycles it took since
 * the last assignment, so with no traffic yet (new ports) this is
 * round-robin in port order. Then move to the new lists in two steps (see
 * the top of the file). With @stopping, every list becomes empty. Returns 0
 * or -ENOMEM (nothing changed).
 */
static int reschedule(struct sw_dpif *dp, bool stopping)
{
    unsigned total = count_rxqs(dp);
    struct poll_list *step1[SW_DPIF_MAX_PMDS] = {0}, *step2[SW_DPIF_MAX_PMDS] = {0};
    struct rxq_load *loads = malloc((total ? total : 1) * sizeof(*loads));
    uint64_t v1 = dp->version + 1, v2 = dp->version + 2;
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        step1[i] = poll_list_new(total, v1);
        step2[i] = poll_list_new(total, v2);
        if (!step1[i] || !step2[i] || !loads) {
            for (unsigned k = 0; k <= i; k++) {
                free(step1[k]);
                free(step2[k]);
            }
            free(loads);
            return -ENOMEM;
        }
    }
    unsigned n = collect_loads(dp, loads, false);
    for (unsigned i = 0; i < n; i++) {
        struct dp_port *port = loads[i].port;
        port->rxq_mark[loads[i].q] += loads[i].cycles;
        port->rxq_lb_mark[loads[i].q] = port->rxq_mark[loads[i].q];
    }
    qsort(loads, n, sizeof(*loads), load_cmp);
    struct pmd_tally tally = {{0}, {0}};
    for (unsigned i = 0; i < n; i++) {
        struct rxq_load *l = &loads[i];
        int16_t now = stopping ? -1 : (int16_t)assign_next(dp->n_pmds, &tally, l);
        struct rxq_ref ref = {.port = l->port, .q = l->q};
        if (now >= 0) {
            step2[now]->rxqs[step2[now]->n++] = ref;
            if (l->was == now)
                step1[now]->rxqs[step1[now]->n++] = ref;
        }
        l->port->rxq_pmd[l->q] = now;
    }
    free(loads);
    dp->assigned_tsc = dp->lb_tsc = kk_rdtsc();
    dp->version = v2;
    publish_lists(dp, step1, v1);
    publish_lists(dp, step2, v2);
    return 0;
}

int sw_dpif_rebalance(struct sw_dpif *dp)
{
    if (!dp)
        return -EINVAL;
    int rc = reschedule(dp, false);
    if (rc == 0)
        KK_LOGI(dpif_log, "receive queues reassigned by load");
    return rc;
}

/* Variance of @n loads (in doubles: squared cycle counts overflow 64 bits). */
static double load_variance(const uint64_t *load, unsigned n)
{
    double mean = 0, var = 0;
    for (unsigned i = 0; i < n; i++)
        mean += (double)load[i];
    mean /= n;
    for (unsigned i = 0; i < n; i++)
        var += ((double)load[i] - mean) * ((double)load[i] - mean);
    return var / n;
}

int sw_dpif_auto_lb(struct sw_dpif *dp, unsigned load_pct, unsigned improve_pct,
                    struct sw_dpif_auto_lb *out)
{
    if (!dp || !out || load_pct > 100 || improve_pct > 100)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    uint64_t now_tsc = kk_rdtsc(), window = now_tsc - dp->lb_tsc;
    unsigned total = count_rxqs(dp);
    if (dp->n_pmds < 2 || total < 2 || window == 0) {
        dp->lb_tsc = now_tsc;
        return 0;
    }
    struct rxq_load *loads = malloc(total * sizeof(*loads));
    if (!loads)
        return -ENOMEM;
    /* The queues' load over the last check's window, and each PMD's now. */
    uint64_t cur[SW_DPIF_MAX_PMDS] = {0};
    struct pmd_tally next = {{0}, {0}};
    unsigned n = collect_loads(dp, loads, true);
    for (unsigned i = 0; i < n; i++)
        if (loads[i].was >= 0 && (unsigned)loads[i].was < dp->n_pmds)
            cur[loads[i].was] += loads[i].cycles;
    for (unsigned k = 0; k < dp->n_pmds; k++) {
        unsigned pct = (unsigned)KK_MIN(100, cur[k] * 100 / window);
        out->busiest_pct = KK_MAX(out->busiest_pct, pct);
    }
    /* What the assignment would be now, without making it. */
    qsort(loads, n, sizeof(*loads), load_cmp);
    for (unsigned i = 0; i < n; i++)
        assign_next(dp->n_pmds, &next, &loads[i]);
    double var_now = load_variance(cur, dp->n_pmds);
    double var_next = load_variance(next.load, dp->n_pmds);
    out->improvement_pct = var_next < var_now
                                   ? (unsigned)((var_now - var_next) * 100 / var_now) : 0;
    int rc = 0;
    /* Some improvement, whatever the threshold: never move for nothing. */
    if (out->busiest_pct >= load_pct && out->improvement_pct >= KK_MAX(improve_pct, 1u)) {
        /* Reassign by this window's loads. */
        for (unsigned i = 0; i < n; i++)
            loads[i].port->rxq_mark[loads[i].q] = loads[i].port->rxq_lb_mark[loads[i].q];
        rc = reschedule(dp, false);
        if (rc == 0) {
            out->moved = true;
            KK_LOGI(dpif_log, "auto-lb: receive queues reassigned (busiest PMD %u%% busy, load "
                    "variance down %u%%)", out->busiest_pct, out->improvement_pct);
        }
    } else {
        for (unsigned i = 0; i < n; i++)
            loads[i].port->rxq_lb_mark[loads[i].q] += loads[i].cycles;
        dp->lb_tsc = now_tsc;
    }
    free(loads);
    return rc < 0 ? rc : out->moved;
}

/* ---- control: life cycle ------------------------------------------------ */

static void expire_cb(void *arg)
{
    struct sw_dpif *dp = arg;
    unsigned n = sw_mfc_expire(dp->mfc, kk_now_us() / 1000, dp->opts.flow_idle_ms);
    if (n)
        KK_LOGD(dpif_log, "%u megaflows expired", n);
}

static int pmd_create(struct sw_dpif *dp, unsigned index, int cpu, struct pmd **out)
{
    struct pmd *pmd = aligned_alloc(KK_CACHE_LINE, kk_align_up(sizeof(*pmd), KK_CACHE_LINE));
    if (!pmd)
        return -ENOMEM;
    memset(pmd, 0, sizeof(*pmd));
    pmd->dp = dp;
    pmd->index = index;
    pmd->cpu = cpu;
    pmd->exec = (struct sw_odp_exec_ctx){
        .output = pmd_output, .userspace = pmd_userspace, .meter = pmd_meter, .arg = pmd,
        .pool = dp->pool};
    pmd->published = poll_list_new(0, 0);
    if (!dp->opts.no_simple_match)
        pmd->simple = calloc(SW_DPIF_MAX_PORTS, sizeof(*pmd->simple));
    int rc = pmd->published && (pmd->simple || dp->opts.no_simple_match)
                 ? sw_emc_create_sized(dp->opts.emc_entries, dp->opts.emc_insert_inv_prob,
                                       &pmd->emc)
                 : -ENOMEM;
    if (rc == 0) {
        struct kk_reactor_opts ro;
        kk_reactor_opts_init(&ro);
        char name[16];
        snprintf(name, sizeof(name), "pmd%u", index);
        ro.name = name;
        ro.mode = dp->opts.busy_poll ? KK_REACTOR_BUSY_POLL : KK_REACTOR_ADAPTIVE;
        ro.idle_us = dp->opts.idle_us;
        rc = kk_reactor_create(&ro, &pmd->reactor);
    }
    if (rc == 0)
        rc = kk_poller_register(pmd->reactor, pmd_poll, pmd, 0, &pmd->poller);
    if (rc == 0) {
        kk_poller_set_arm(pmd->poller, pmd_arm);
        rc = kk_timer_create(pmd->reactor, nap_noop, pmd, &pmd->nap);
    }
    /* The PMD starts from an empty list (version 0), loaded on its first turn. */
    pmd->cur = NULL;
    if (rc == 0)
        rc = kk_reactor_spawn(pmd->reactor, pmd->cpu);
    if (rc) {
        kk_reactor_destroy(pmd->reactor);
        sw_emc_destroy(pmd->emc);
        free(pmd->simple);
        free(pmd->published);
        free(pmd);
        return rc;
    }
    *out = pmd;
    return 0;
}

static void pmd_destroy(struct pmd *pmd)
{
    if (!pmd)
        return;
    bool online = rcu_pause();
    kk_reactor_join(pmd->reactor);
    rcu_resume(online);
    /* Watches were registered on the PMD thread; the reactor frees them. */
    kk_reactor_destroy(pmd->reactor);
    simple_clear_all(pmd);
    free(pmd->simple);
    sw_emc_destroy(pmd->emc);
    free(pmd->published);
    free(pmd);
}

int sw_dpif_create(const struct sw_dpif_opts *opts, struct sw_dpif **out)
{
    if (!opts || !out)
        return -EINVAL;
    struct sw_dpif_opts o = *opts;
    if (o.n_pmds == 0)
        o.n_pmds = 1;
    if (o.n_pmds > SW_DPIF_MAX_PMDS)
        return -EINVAL;
    if (o.idle_us == 0)
        o.idle_us = 8;
    if (o.emc_insert_inv_prob == 0)
        o.emc_insert_inv_prob = 100;
    if (o.emc_entries == 0)
        o.emc_entries = SW_EMC_ENTRIES;
    if (o.emc_entries < SW_EMC_MIN_ENTRIES || o.emc_entries > SW_EMC_MAX_ENTRIES ||
        (o.emc_entries & (o.emc_entries - 1)))
        return -EINVAL;
    if (o.flow_idle_ms == 0)
        o.flow_idle_ms = 10000;
    if (o.max_flows == 0)
        o.max_flows = 200000;
    if (o.pool_buffers == 0)
        o.pool_buffers = 16384;
    o.pmd_cpus = NULL; /* each PMD keeps its CPU; the caller's array may go */

    struct sw_dpif *dp = calloc(1, sizeof(*dp));
    if (!dp)
        return -ENOMEM;
    dp->opts = o;
    int rc = pkt_pool_create("dpif", o.pool_buffers, 0, 0, &dp->pool);
    if (rc == 0)
        rc = sw_mfc_create_sharded(o.n_pmds, &dp->mfc);
    if (rc == 0) {
        struct kk_reactor_opts ro;
        kk_reactor_opts_init(&ro);
        ro.name = "dp-ctl";
        rc = kk_reactor_create(&ro, &dp->ctl);
    }
    if (rc == 0)
        rc = kk_timer_create(dp->ctl, expire_cb, dp, &dp->expire_timer);
    if (rc == 0)
        rc = kk_timer_arm(dp->expire_timer, EXPIRE_PERIOD_US, EXPIRE_PERIOD_US);
    if (rc == 0)
        rc = kk_reactor_spawn(dp->ctl, -1);
    for (unsigned i = 0; rc == 0 && i < o.n_pmds; i++) {
        rc = pmd_create(dp, i, opts->pmd_cpus ? opts->pmd_cpus[i] : -1, &dp->pmds[i]);
        if (rc == 0)
            dp->n_pmds++;
    }
    if (rc) {
        KK_LOGE(dpif_log, "cannot create the datapath: %s", strerror(-rc));
        sw_dpif_destroy(dp);
        return rc;
    }
    *out = dp;
    return 0;
}

static void close_port(struct dp_port *p)
{
    pkt_port_close(p->port);
    free(p);
}

void sw_dpif_destroy(struct sw_dpif *dp)
{
    if (!dp)
        return;
    /* PMDs stop polling first, so no port is in use when closed. */
    if (dp->n_pmds)
        reschedule(dp, true);
    for (unsigned i = 0; i < dp->n_pmds; i++)
        pmd_destroy(dp->pmds[i]);
    for (unsigned p = 0; p < SW_DPIF_MAX_PORTS; p++)
        if (dp->ports[p])
            close_port(dp->ports[p]);
    if (dp->ctl) {
        bool online = rcu_pause();
        kk_reactor_join(dp->ctl);
        rcu_resume(online);
        kk_reactor_destroy(dp->ctl);
    }
    bool online = rcu_pause();
    sw_mfc_destroy(dp->mfc);
    rcu_resume(online);
    if (dp->pool) {
        pkt_pool_flush_thread_cache(dp->pool);
        pkt_pool_destroy(dp->pool);
    }
    /* no PMD runs any more: meters go at once (replaced ones were queued
     * to RCU and freed by sw_mfc_destroy's barrier) */
    for (unsigned i = 0; i < SW_DPIF_MAX_METERS; i++)
        free(dp->meters[i]);
    free(dp);
}

/* ---- control: ports ---------------------------------------------------- */

static struct dp_port *find_port_name(struct sw_dpif *dp, const char *name)
{
    for (unsigned p = 0; p < SW_DPIF_MAX_PORTS; p++)
        if (dp->ports[p] && strcmp(dp->ports[p]->name, name) == 0)
            return dp->ports[p];
    return NULL;
}

int sw_dpif_port_add(struct sw_dpif *dp, const char *name, const char *spec, uint32_t *port_no,
                     char *err, size_t errlen)
{
    if (!dp || !name || !spec || !port_no || !name[0] || strlen(name) >= 64) {
        if (err && errlen)
            snprintf(err, errlen, "bad arguments");
        return -EINVAL;
    }
    if (find_port_name(dp, name)) {
        if (err && errlen)
            snprintf(err, errlen, "port name %s in use", name);
        return -EEXIST;
    }
    uint32_t no = *port_no;
    if (no == SW_DPIF_PORT_NONE) {
        for (no = 0; no < SW_DPIF_MAX_PORTS && dp->ports[no]; no++)
            ;
        if (no == SW_DPIF_MAX_PORTS) {
            if (err && errlen)
                snprintf(err, errlen, "no free port number");
            return -ENOSPC;
        }
    } else if (no >= SW_DPIF_MAX_PORTS) {
        if (err && errlen)
            snprintf(err, errlen, "port number %u out of range", no);
        return -EINVAL;
    } else if (dp->ports[no]) {
        if (err && errlen)
            snprintf(err, errlen, "port number %u in use", no);
        return -EEXIST;
    }
    struct dp_port *p = aligned_alloc(KK_CACHE_LINE, kk_align_up(sizeof(*p), KK_CACHE_LINE));
    if (!p)
        return -ENOMEM;
    memset(p, 0, sizeof(*p));
    char tmp[1];
    int rc = pkt_port_open(spec, (uint16_t)no, dp->pool, &p->port, err && errlen ? err : tmp,
                           err && errlen ? errlen : sizeof(tmp));
    if (rc) {
        free(p);
        return rc;
    }
    p->port_no = no;
    snprintf(p->name, sizeof(p->name), "%s", name);
    /* Payloads stay in the sender's buffer until sent (one copy, guest to
     * guest): the PMD keeps no packet past its pass, writes only headers
     * (the first segment) and copies what it hands to other threads. */
    pkt_port_set_rx_borrow(p->port, !dp->opts.copy_rx);
    p->n_txq = p->port->n_txq ? p->port->n_txq : 1;
    p->tx_shared = p->n_txq < dp->n_pmds + 1;
    p->csum_ok = (p->port->caps & PKT_PORT_CAP_CSUM_OFFLOAD) != 0;
    p->gso_ok = (p->port->caps & PKT_PORT_CAP_GSO) != 0;
    for (unsigned q = 0; q < PKT_PORT_MAX_QUEUES; q++)
        p->rxq_pmd[q] = -1;
    __atomic_store_n(&dp->ports[no], p, __ATOMIC_RELEASE);
    rc = reschedule(dp, false);
    if (rc) {
        __atomic_store_n(&dp->ports[no], NULL, __ATOMIC_RELEASE);
        /* PMDs may have looked the slot up for output: wait for a turn. */
        uint64_t v = ++dp->version;
        struct poll_list *same[SW_DPIF_MAX_PMDS];
        bool ok = true;
        for (unsigned i = 0; i < dp->n_pmds; i++) {
            struct poll_list *cur = dp->pmds[i]->published;
            same[i] = poll_list_new(cur->n, v);
            if (!same[i]) {
                ok = false;
                break;
            }
            memcpy(same[i]->rxqs, cur->rxqs, cur->n * sizeof(cur->rxqs[0]));
            same[i]->n = cur->n;
        }
        if (ok) {
            publish_lists(dp, same, v);
            close_port(p);
        } else {
            KK_LOGE(dpif_log, "port %s: out of memory twice; leaking it", name);
        }
        return rc;
    }
    *port_no = no;
    KK_LOGI(dpif_log, "port %u: %s added (%s, %u rx / %u tx queues%s)", no, name, spec,
            p->port->n_rxq, p->n_txq, p->tx_shared ? ", shared tx" : "");
    return 0;
}

int sw_dpif_port_del(struct sw_dpif *dp, uint32_t port_no)
{
    if (!dp || port_no >= SW_DPIF_MAX_PORTS || !dp->ports[port_no])
        return -ENOENT;
    struct dp_port *p = dp->ports[port_no];
    __atomic_store_n(&dp->ports[port_no], NULL, __ATOMIC_RELEASE);
    /* Retry on memory shortage: the port must leave the poll lists before
     * it can close. */
    while (reschedule(dp, false) == -ENOMEM)
        usleep(1000);
    KK_LOGI(dpif_log, "port %u: %s removed", port_no, p->name);
    close_port(p);
    return 0;
}

static void fill_info(const struct dp_port *p, struct sw_dpif_port_info *out)
{
    memset(out, 0, sizeof(*out));
    out->port_no = p->port_no;
    snprintf(out->name, sizeof(out->name), "%s", p->name);
    snprintf(out->type, sizeof(out->type), "%s", p->port->ops->type);
    out->link_up = pkt_port_link_up(p->port);
    out->n_rxq = p->port->n_rxq;
    out->n_txq = p->port->n_txq;
    struct pkt_queue_stats rx, tx;
    pkt_port_stats(p->port, &rx, &tx);
    out->rx_packets = rx.packets;
    out->rx_bytes = rx.bytes;
    out->rx_drops = rx.drops;
    out->rx_errors = rx.errors;
    out->tx_packets = tx.packets;
    out->tx_bytes = tx.bytes;
    out->tx_drops = tx.drops;
    out->tx_errors = tx.errors;
}

int sw_dpif_port_query(struct sw_dpif *dp, uint32_t port_no, struct sw_dpif_port_info *out)
{
    if (!dp || !out || port_no >= SW_DPIF_MAX_PORTS || !dp->ports[port_no])
        return -ENOENT;
    fill_info(dp->ports[port_no], out);
    return 0;
}

int sw_dpif_port_by_name(struct sw_dpif *dp, const char *name, uint32_t *port_no)
{
    struct dp_port *p = dp && name ? find_port_name(dp, name) : NULL;
    if (!p)
        return -ENOENT;
    if (port_no)
        *port_no = p->port_no;
    return 0;
}

void sw_dpif_port_foreach(struct sw_dpif *dp,
                          void (*fn)(void *arg, const struct sw_dpif_port_info *info), void *arg)
{
    if (!dp || !fn)
        return;
    for (unsigned p = 0; p < SW_DPIF_MAX_PORTS; p++) {
        if (dp->ports[p]) {
            struct sw_dpif_port_info info;
            fill_info(dp->ports[p], &info);
            fn(arg, &info);
        }
    }
}

/* ---- control: execute ---------------------------------------------------- */

struct ctl_exec {
    struct sw_dpif *dp;
    unsigned lost;
};

static void ctl_output(void *arg, uint32_t port_no, struct pkt_buf *pkt)
{
    struct ctl_exec *c = arg;
    struct dp_port *p = port_no < SW_DPIF_MAX_PORTS ? c->dp->ports[port_no] : NULL;
    if (!p) {
        pkt_free(pkt);
        c->lost++;
        return;
    }
    c->lost += port_send(c->dp, p, c->dp->n_pmds, &pkt, 1);
}

static void ctl_userspace(void *arg, const struct sw_odp_userspace *u, const struct pkt_buf *pkt)
{
    struct ctl_exec *c = arg;
    if (c->dp->opts.userspace)
        c->dp->opts.userspace(c->dp->opts.upcall_arg, u, pkt, port_of_id(pkt->port));
}

static void ctl_meter(void *arg, uint32_t id, struct pkt_buf *const *pkts, unsigned n, bool *keep)
{
    struct ctl_exec *c = arg;
    meter_batch(c->dp, id, pkts, n, keep);
}

static int execute_owned(struct sw_dpif *dp, struct pkt_buf *copy, uint32_t in_port,
                         const void *actions, size_t actions_len)
{
    copy->port = in_port_id(in_port);
    struct ctl_exec c = {.dp = dp};
    struct sw_odp_exec_ctx ctx = {
        .output = ctl_output, .userspace = ctl_userspace, .meter = ctl_meter, .arg = &c,
        .pool = dp->pool};
    sw_odp_execute(&ctx, &copy, 1, actions, actions_len);
    return ctx.copy_failures ? -ENOMEM : 0;
}

int sw_dpif_execute(struct sw_dpif *dp, const struct pkt_buf *pkt, uint32_t in_port,
                    const void *actions, size_t actions_len)
{
    if (!dp || !pkt || sw_odp_validate(actions, actions_len) != 0)
        return -EINVAL;
    struct pkt_buf *copy = pkt_from_bytes(dp->pool, pkt_data(pkt), pkt->data_len);
    if (!copy)
        return -ENOMEM;
    for (const struct pkt_buf *s = pkt->next; s; s = s->next) {
        struct pkt_buf *t = pkt_from_bytes(dp->pool, pkt_data(s), s->data_len);
        if (!t) {
            pkt_free(copy);
            return -ENOMEM;
        }
        pkt_chain(copy, t);
    }
    copy->ol_flags = pkt->ol_flags;
    copy->csum_start = pkt->csum_start;
    copy->csum_offset = pkt->csum_offset;
    copy->gso_size = pkt->gso_size;
    copy->gso_type = pkt->gso_type;
    copy->hdr_len = pkt->hdr_len;
    copy->hash = pkt->hash;
    return execute_owned(dp, copy, in_port, actions, actions_len);
}

int sw_dpif_execute_bytes(struct sw_dpif *dp, const void *frame, size_t len, uint32_t in_port,
                          const void *actions, size_t actions_len)
{
    if (!dp || (!frame && len) || len > UINT32_MAX || sw_odp_validate(actions, actions_len) != 0)
        return -EINVAL;
    struct pkt_buf *copy = pkt_from_bytes(dp->pool, frame, (uint32_t)len);
    if (!copy)
        return -ENOMEM;
    return execute_owned(dp, copy, in_port, actions, actions_len);
}

/* ---- control: megaflows -------------------------------------------------- */

unsigned sw_dpif_revalidate(struct sw_dpif *dp, sw_mfc_reval_fn fn, void *arg)
{
    return dp && fn ? sw_mfc_revalidate(dp->mfc, fn, arg) : 0;
}

static enum sw_mfc_reval delete_all(void *arg, const struct sw_flow_key *key,
                                    const struct sw_flow_mask *mask, const void *actions,
                                    size_t actions_len, void *user, const void **new_actions,
                                    size_t *new_len)
{
    (void)arg, (void)key, (void)mask, (void)actions, (void)actions_len, (void)user;
    (void)new_actions, (void)new_len;
    return SW_MFC_DELETE;
}

void sw_dpif_flow_flush(struct sw_dpif *dp)
{
    if (dp)
        sw_mfc_revalidate(dp->mfc, delete_all, NULL);
}

unsigned sw_dpif_flow_count(struct sw_dpif *dp)
{
    return dp ? sw_mfc_count(dp->mfc) : 0;
}

struct dump_ctx {
    void (*fn)(void *arg, const struct sw_dpif_flow_info *info);
    void *arg;
};

static void dump_one(void *arg, struct sw_mfc_flow *flow)
{
    struct dump_ctx *d = arg;
    struct sw_dpif_flow_info info;
    memset(&info, 0, sizeof(info));
    sw_mfc_flow_match(flow, &info.key, &info.mask);
    info.actions = sw_mfc_flow_actions(flow, &info.actions_len);
    sw_mfc_flow_get_stats(flow, &info.stats);
    info.user = sw_mfc_flow_user(flow);
    d->fn(d->arg, &info);
}

void sw_dpif_flow_dump(struct sw_dpif *dp,
                       void (*fn)(void *arg, const struct sw_dpif_flow_info *info), void *arg)
{
    if (!dp || !fn)
        return;
    struct dump_ctx d = {.fn = fn, .arg = arg};
    sw_mfc_foreach(dp->mfc, dump_one, &d);
}

struct push_item {
    struct sw_flow_key key;
    void *user;
    struct sw_mfc_flow_stats delta;
};

struct push_ctx {
    struct push_item *items;
    size_t n, cap;
    bool oom;
};

static void push_collect(void *arg, struct sw_mfc_flow *flow)
{
    struct push_ctx *c = arg;
    if (c->oom)
        return; /* taken next time */
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct push_item *it = realloc(c->items, cap * sizeof(*it));
        if (!it) {
            c->oom = true;
            return;
        }
        c->items = it;
        c->cap = cap;
    }
    struct push_item *it = &c->items[c->n];
    sw_mfc_flow_take_delta(flow, &it->delta);
    if (it->delta.packets == 0)
        return;
    struct sw_flow_mask mask;
    sw_mfc_flow_match(flow, &it->key, &mask);
    it->user = sw_mfc_flow_user(flow);
    c->n++;
}

unsigned sw_dpif_flow_push(struct sw_dpif *dp, sw_dpif_push_fn fn, void *arg)
{
    if (!dp || !fn)
        return 0;
    /* Deltas are taken under the cache's mutex (quick), the callbacks run
     * after it is released, so upcalls installing megaflows never wait for
     * them. */
    struct push_ctx c = {0};
    sw_mfc_foreach(dp->mfc, push_collect, &c);
    for (size_t i = 0; i < c.n; i++)
        fn(arg, &c.items[i].key, c.items[i].user, &c.items[i].delta);
    free(c.items);
    return (unsigned)c.n;
}

/* ---- control: PMD statistics --------------------------------------------- */

unsigned sw_dpif_n_pmds(struct sw_dpif *dp)
{
    return dp ? dp->n_pmds : 0;
}

static void read_counters(const struct pmd *pmd, struct pmd_counters *c)
{
    const struct pmd_counters *s = &pmd->stats;
    c->packets = __atomic_load_n(&s->packets, __ATOMIC_RELAXED);
    c->simple_hits = __atomic_load_n(&s->simple_hits, __ATOMIC_RELAXED);
    c->emc_hits = __atomic_load_n(&s->emc_hits, __ATOMIC_RELAXED);
    c->mfc_hits = __atomic_load_n(&s->mfc_hits, __ATOMIC_RELAXED);
    c->upcalls = __atomic_load_n(&s->upcalls, __ATOMIC_RELAXED);
    c->upcall_fails = __atomic_load_n(&s->upcall_fails, __ATOMIC_RELAXED);
    c->lost = __atomic_load_n(&s->lost, __ATOMIC_RELAXED);
    c->busy_cycles = __atomic_load_n(&s->busy_cycles, __ATOMIC_RELAXED);
    c->idle_cycles = __atomic_load_n(&s->idle_cycles, __ATOMIC_RELAXED);
}

int sw_dpif_pmd_stats(struct sw_dpif *dp, unsigned pmd_index, struct sw_dpif_pmd_stats *out)
{
    if (!dp || !out || pmd_index >= dp->n_pmds)
        return -ENOENT;
    const struct pmd *pmd = dp->pmds[pmd_index];
    struct pmd_counters c;
    read_counters(pmd, &c);
    const struct pmd_counters *b = &pmd->base;
    out->cpu = pmd->cpu;
    out->n_rxq = __atomic_load_n(&pmd->n_rxq, __ATOMIC_RELAXED);
    out->packets = c.packets - b->packets;
    out->simple_hits = c.simple_hits - b->simple_hits;
    out->emc_hits = c.emc_hits - b->emc_hits;
    out->mfc_hits = c.mfc_hits - b->mfc_hits;
    out->upcalls = c.upcalls - b->upcalls;
    out->upcall_fails = c.upcall_fails - b->upcall_fails;
    out->lost = c.lost - b->lost;
    out->busy_cycles = c.busy_cycles - b->busy_cycles;
    out->idle_cycles = c.idle_cycles - b->idle_cycles;
    return 0;
}

void sw_dpif_pmd_stats_clear(struct sw_dpif *dp)
{
    if (!dp)
        return;
    for (unsigned i = 0; i < dp->n_pmds; i++)
        read_counters(dp->pmds[i], &dp->pmds[i]->base);
}

int sw_dpif_rxq_pmd(struct sw_dpif *dp, uint32_t port_no, uint16_t q)
{
    if (!dp || port_no >= SW_DPIF_MAX_PORTS || !dp->ports[port_no] ||
        q >= dp->ports[port_no]->port->n_rxq)
        return -1;
    return dp->ports[port_no]->rxq_pmd[q];
}

int sw_dpif_rxq_load(struct sw_dpif *dp, uint32_t port_no, uint16_t q,
                     struct sw_dpif_rxq_load *out)
{
    if (!dp || !out || port_no >= SW_DPIF_MAX_PORTS || !dp->ports[port_no] ||
        q >= dp->ports[port_no]->port->n_rxq)
        return -ENOENT;
    const struct dp_port *p = dp->ports[port_no];
    out->pmd = p->rxq_pmd[q];
    out->cycles = __atomic_load_n(&p->rxq_cycles[q].v, __ATOMIC_RELAXED) - p->rxq_mark[q];
    out->window_cycles = kk_rdtsc() - dp->assigned_tsc;
    return 0;
}
