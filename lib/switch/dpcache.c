/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Megaflow cache over a single-priority sw_cls, and the per-thread EMC.
 * See dpcache.h for the design.
 */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"
#include "dpcache.h"
#include "kk_common.h"
#include "kk_hash.h"
#include "kk_rcu.h"

/* Immutable once published. */
struct mfc_actions {
    size_t len;
    uint8_t data[];
};

/* One writer's statistics (a PMD thread's shard), or the shared ones. */
struct mfc_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t used_ms;
    uint16_t tcp_flags;
};

struct mfc_shard {
    struct mfc_stats s;
} __attribute__((aligned(64)));

#define INLINE_ACTIONS_MAX (64 - sizeof(struct mfc_actions))

/*
 * Layout for the hit path: line 0 holds everything an EMC hit reads and
 * writes (dead flag, actions pointer, the first shard's statistics); line 1
 * holds the flow's first actions inline (when they fit). The match
 * and the writer-side fields follow; shards 1.. each have a line of their
 * own (no false sharing between PMD threads hitting one flow).
 */
struct sw_mfc_flow {
    /* line 0 */
    struct mfc_actions *actions; /* RCU-published */
    uint32_t refcnt;             /* atomic */
    bool dead;                   /* atomic */
    uint16_t n_shards;
    struct mfc_stats s0;         /* shard 0: relaxed stores by its one writer */
    /* line 1 */
    uint8_t inl[64] __attribute__((aligned(64))); /* a struct mfc_actions (inl_actions()) */
    /* cold */
    struct sw_flow_key key; /* masked */
    struct sw_flow_mask mask;
    struct sw_cls_rule *rule;
    void *user;
    struct mfc_stats shared; /* callers without a shard: relaxed atomic RMW */
    uint64_t pushed_packets, pushed_bytes; /* sw_mfc_flow_take_delta(), under the mutex */
    /* writer-side list, under mfc->mutex */
    struct sw_mfc_flow *prev, *next;
    struct mfc_shard shards[]; /* shards 1 .. n_shards-1 */
};

/* The inline action list (line 1 of the flow). */
static inline struct mfc_actions *inl_actions(struct sw_mfc_flow *flow)
{
    return (struct mfc_actions *)(void *)flow->inl;
}

_Static_assert(offsetof(struct sw_mfc_flow, s0) + sizeof(struct mfc_stats) <= 64,
               "hit fields in one cache line");

struct sw_mfc {
    struct sw_cls *cls;
    pthread_mutex_t mutex;
    struct sw_mfc_flow *head;
    unsigned count; /* atomic */
    unsigned n_shards;
};

static struct mfc_actions *actions_new(const void *data, size_t len)
{
    struct mfc_actions *a = malloc(sizeof(*a) + len);
    if (!a)
        return NULL;
    a->len = len;
    if (len)
        memcpy(a->data, data, len);
    return a;
}

static bool actions_inline(const struct sw_mfc_flow *flow, const struct mfc_actions *a)
{
    return a == (const struct mfc_actions *)(const void *)flow->inl;
}

static void flow_free(struct sw_mfc_flow *flow)
{
    if (!actions_inline(flow, flow->actions))
        free(flow->actions);
    free(flow);
}

static struct mfc_stats *shard_of(struct sw_mfc_flow *flow, unsigned shard)
{
    return shard == 0 ? &flow->s0 : &flow->shards[shard - 1].s;
}

/*
 * Drop one reference. The last one frees at once: by then the cache's
 * reference went a grace period after the flow was unpublished, and every
 * other holder is an EMC, which counts its reference.
 */
static void flow_unref(struct sw_mfc_flow *flow)
{
    if (__atomic_sub_fetch(&flow->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        flow_free(flow);
}

static void flow_unref_cb(void *arg)
{
    flow_unref(arg);
}

int sw_mfc_create(struct sw_mfc **out)
{
    return sw_mfc_create_sharded(0, out);
}

int sw_mfc_create_sharded(unsigned n_shards, struct sw_mfc **out)
{
    if (!out || n_shards > SW_MFC_MAX_SHARDS)
        return -EINVAL;
    struct sw_mfc *mfc = calloc(1, sizeof(*mfc));
    if (!mfc)
        return -ENOMEM;
    int rc = sw_cls_create(&mfc->cls);
    if (rc) {
        free(mfc);
        return rc;
    }
    pthread_mutex_init(&mfc->mutex, NULL);
    mfc->n_shards = n_shards;
    *out = mfc;
    return 0;
}

/* Under the mutex. Unpublishes @flow and hands the cache's reference to RCU. */
static void remove_locked(struct sw_mfc *mfc, struct sw_mfc_flow *flow)
{
    __atomic_store_n(&flow->dead, true, __ATOMIC_RELEASE);
    uint64_t v = sw_cls_version(mfc->cls) + 1;
    sw_cls_remove(mfc->cls, flow->rule, v);
    sw_cls_publish(mfc->cls, v);
    flow->rule = NULL;
    if (flow->prev)
        flow->prev->next = flow->next;
    else
        mfc->head = flow->next;
    if (flow->next)
        flow->next->prev = flow->prev;
    __atomic_sub_fetch(&mfc->count, 1, __ATOMIC_RELAXED);
    kk_rcu_call(flow_unref_cb, flow);
}

void sw_mfc_destroy(struct sw_mfc *mfc)
{
    if (!mfc)
        return;
    pthread_mutex_lock(&mfc->mutex);
    while (mfc->head)
        remove_locked(mfc, mfc->head);
    pthread_mutex_unlock(&mfc->mutex);
    kk_rcu_barrier();
    sw_cls_destroy(mfc->cls);
    pthread_mutex_destroy(&mfc->mutex);
    free(mfc);
}

int sw_mfc_insert(struct sw_mfc *mfc, const struct sw_flow_key *key,
                  const struct sw_flow_mask *mask, const void *actions, size_t actions_len,
                  void *user, uint64_t now_ms, struct sw_mfc_flow **out)
{
    if (!mfc || !key || !mask || (!actions && actions_len))
        return -EINVAL;
    struct sw_flow_key masked;
    sw_flow_key_mask(&masked, key, mask);

    pthread_mutex_lock(&mfc->mutex);
    /* Two PMD threads may miss on the same megaflow before either installs
     * it; the second install must not add a duplicate. */
    struct sw_mfc_flow *old = sw_mfc_lookup(mfc, &masked);
    if (old && memcmp(&old->mask, mask, sizeof(*mask)) == 0 &&
        memcmp(&old->key, &masked, sizeof(masked)) == 0) {
        pthread_mutex_unlock(&mfc->mutex);
        if (out)
            *out = old;
        return -EEXIST;
    }
    int rc = -ENOMEM;
    unsigned extra = mfc->n_shards > 1 ? mfc->n_shards - 1 : 0;
    /* Cache-line aligned, an odd number of lines when there are no extra
     * shards (7): flows allocated one after another do not pile their hot
     * lines into a few cache sets, as a power-of-two stride would. */
    size_t size = sizeof(struct sw_mfc_flow) + extra * sizeof(struct mfc_shard);
    struct sw_mfc_flow *flow = aligned_alloc(64, size);
    if (!flow)
        goto out;
    memset(flow, 0, size);
    if (actions_len <= INLINE_ACTIONS_MAX) {
        inl_actions(flow)->len = actions_len;
        if (actions_len)
            memcpy(inl_actions(flow)->data, actions, actions_len);
        flow->actions = inl_actions(flow);
    } else {
        flow->actions = actions_new(actions, actions_len);
        if (!flow->actions)
            goto out_free;
    }
    flow->key = masked;
    flow->mask = *mask;
    flow->user = user;
    flow->refcnt = 1;
    flow->n_shards = (uint16_t)mfc->n_shards;
    flow->shared.used_ms = now_ms;
    uint64_t v = sw_cls_version(mfc->cls) + 1;
    rc = sw_cls_insert(mfc->cls, &masked, mask, 0, v, flow, &flow->rule);
    if (rc)
        goto out_free;
    flow->next = mfc->head;
    if (mfc->head)
        mfc->head->prev = flow;
    mfc->head = flow;
    __atomic_add_fetch(&mfc->count, 1, __ATOMIC_RELAXED);
    sw_cls_publish(mfc->cls, v);
    if (out)
        *out = flow;
    pthread_mutex_unlock(&mfc->mutex);
    return 0;
out_free:
    free(flow);
out:
    pthread_mutex_unlock(&mfc->mutex);
    return rc;
}

int sw_mfc_remove(struct sw_mfc *mfc, struct sw_mfc_flow *flow)
{
    if (!mfc || !flow)
        return -EINVAL;
    pthread_mutex_lock(&mfc->mutex);
    int rc = -EINVAL;
    if (flow->rule) {
        remove_locked(mfc, flow);
        rc = 0;
    }
    pthread_mutex_unlock(&mfc->mutex);
    return rc;
}

struct sw_mfc_flow *sw_mfc_lookup(const struct sw_mfc *mfc, const struct sw_flow_key *key)
{
    const struct sw_cls_rule *r = sw_cls_lookup(mfc->cls, sw_cls_version(mfc->cls), key, NULL);
    return r ? sw_cls_rule_user(r) : NULL;
}

unsigned sw_mfc_lookup_burst(const struct sw_mfc *mfc, const struct sw_flow_key *const *keys,
                             unsigned n, struct sw_mfc_flow **flows)
{
    const struct sw_cls_rule *rules[SW_CLS_BURST];
    uint64_t v = sw_cls_version(mfc->cls);
    unsigned hits = 0;
    for (unsigned i = 0; i < n; i += SW_CLS_BURST) {
        unsigned m = n - i < SW_CLS_BURST ? n - i : SW_CLS_BURST;
        sw_cls_lookup_burst(mfc->cls, v, keys + i, m, rules, NULL);
        for (unsigned j = 0; j < m; j++) {
            flows[i + j] = rules[j] ? sw_cls_rule_user(rules[j]) : NULL;
            hits += rules[j] != NULL;
        }
    }
    return hits;
}

void sw_mfc_flow_account(struct sw_mfc_flow *flow, uint64_t now_ms, uint32_t packets,
                         uint64_t bytes, uint16_t tcp_flags)
{
    struct mfc_stats *s = &flow->shared;
    __atomic_add_fetch(&s->packets, packets, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->bytes, bytes, __ATOMIC_RELAXED);
    /* Several threads may store; any recent time will do for expiry. */
    __atomic_store_n(&s->used_ms, now_ms, __ATOMIC_RELAXED);
    if (tcp_flags)
        __atomic_or_fetch(&s->tcp_flags, tcp_flags, __ATOMIC_RELAXED);
}

void sw_mfc_flow_account_shard(struct sw_mfc_flow *flow, unsigned shard, uint64_t now_ms,
                               uint32_t packets, uint64_t bytes, uint16_t tcp_flags)
{
    if (kk_unlikely(shard >= flow->n_shards)) {
        sw_mfc_flow_account(flow, now_ms, packets, bytes, tcp_flags);
        return;
    }
    /* One writer per shard: plain read-modify-write, published with relaxed
     * stores so that readers never see a torn value. */
    struct mfc_stats *s = shard_of(flow, shard);
    __atomic_store_n(&s->packets, s->packets + packets, __ATOMIC_RELAXED);
    __atomic_store_n(&s->bytes, s->bytes + bytes, __ATOMIC_RELAXED);
    if (s->used_ms != now_ms)
        __atomic_store_n(&s->used_ms, now_ms, __ATOMIC_RELAXED);
    if (tcp_flags & ~s->tcp_flags)
        __atomic_store_n(&s->tcp_flags, (uint16_t)(s->tcp_flags | tcp_flags), __ATOMIC_RELAXED);
}

static void stats_add(struct sw_mfc_flow_stats *out, const struct mfc_stats *s)
{
    out->packets += __atomic_load_n(&s->packets, __ATOMIC_RELAXED);
    out->bytes += __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
    uint64_t used = __atomic_load_n(&s->used_ms, __ATOMIC_RELAXED);
    if (used > out->used_ms)
        out->used_ms = used;
    out->tcp_flags |= __atomic_load_n(&s->tcp_flags, __ATOMIC_RELAXED);
}

void sw_mfc_flow_get_stats(const struct sw_mfc_flow *flow, struct sw_mfc_flow_stats *out)
{
    memset(out, 0, sizeof(*out));
    struct sw_mfc_flow *f = (struct sw_mfc_flow *)(uintptr_t)flow;
    stats_add(out, &f->shared);
    for (unsigned i = 0; i < f->n_shards; i++)
        stats_add(out, shard_of(f, i));
}

void sw_mfc_flow_take_delta(struct sw_mfc_flow *flow, struct sw_mfc_flow_stats *delta)
{
    struct sw_mfc_flow_stats now;
    sw_mfc_flow_get_stats(flow, &now);
    /* Each shard only grows, but the sum is read shard by shard while
     * writers run: never report less than was already pushed. */
    if (now.packets < flow->pushed_packets)
        now.packets = flow->pushed_packets;
    if (now.bytes < flow->pushed_bytes)
        now.bytes = flow->pushed_bytes;
    *delta = now;
    delta->packets = now.packets - flow->pushed_packets;
    delta->bytes = now.bytes - flow->pushed_bytes;
    flow->pushed_packets = now.packets;
    flow->pushed_bytes = now.bytes;
}

static uint64_t flow_used_ms(const struct sw_mfc_flow *flow)
{
    struct sw_mfc_flow_stats st;
    sw_mfc_flow_get_stats(flow, &st);
    return st.used_ms;
}

void *sw_mfc_flow_user(const struct sw_mfc_flow *flow)
{
    return flow->user;
}

void sw_mfc_flow_match(const struct sw_mfc_flow *flow, struct sw_flow_key *key,
                       struct sw_flow_mask *mask)
{
    *key = flow->key;
    *mask = flow->mask;
}

const void *sw_mfc_flow_actions(const struct sw_mfc_flow *flow, size_t *len)
{
    const struct mfc_actions *a = kk_rcu_get(&flow->actions);
    if (len)
        *len = a->len;
    return a->data;
}

static inline bool flow_dead(const struct sw_mfc_flow *flow)
{
    return __atomic_load_n(&flow->dead, __ATOMIC_ACQUIRE);
}

bool sw_mfc_flow_dead(const struct sw_mfc_flow *flow)
{
    return flow_dead(flow);
}

void sw_mfc_flow_ref(struct sw_mfc_flow *flow)
{
    __atomic_add_fetch(&flow->refcnt, 1, __ATOMIC_RELAXED);
}

void sw_mfc_flow_unref(struct sw_mfc_flow *flow)
{
    flow_unref(flow);
}

unsigned sw_mfc_count(struct sw_mfc *mfc)
{
    return __atomic_load_n(&mfc->count, __ATOMIC_RELAXED);
}

unsigned sw_mfc_expire(struct sw_mfc *mfc, uint64_t now_ms, uint64_t idle_ms)
{
    unsigned removed = 0;
    pthread_mutex_lock(&mfc->mutex);
    struct sw_mfc_flow *next;
    for (struct sw_mfc_flow *f = mfc->head; f; f = next) {
        next = f->next;
        uint64_t used = flow_used_ms(f);
        if (used + idle_ms < now_ms) {
            remove_locked(mfc, f);
            removed++;
        }
    }
    pthread_mutex_unlock(&mfc->mutex);
    return removed;
}

unsigned sw_mfc_foreach(struct sw_mfc *mfc, void (*fn)(void *arg, struct sw_mfc_flow *flow),
                        void *arg)
{
    unsigned n = 0;
    if (!mfc || !fn)
        return 0;
    pthread_mutex_lock(&mfc->mutex);
    for (struct sw_mfc_flow *f = mfc->head; f; f = f->next, n++)
        fn(arg, f);
    pthread_mutex_unlock(&mfc->mutex);
    return n;
}

static void free_cb(void *p)
{
    free(p);
}

unsigned sw_mfc_revalidate(struct sw_mfc *mfc, sw_mfc_reval_fn fn, void *arg)
{
    unsigned removed = 0;
    pthread_mutex_lock(&mfc->mutex);
    struct sw_mfc_flow *next;
    for (struct sw_mfc_flow *f = mfc->head; f; f = next) {
        next = f->next;
        const void *na = NULL;
        size_t nlen = 0;
        enum sw_mfc_reval verdict =
            fn(arg, &f->key, &f->mask, f->actions->data, f->actions->len, f->user, &na, &nlen);
        if (verdict == SW_MFC_REPLACE) {
            struct mfc_actions *a = (na || !nlen) ? actions_new(na, nlen) : NULL;
            if (a) {
                struct mfc_actions *old = f->actions;
                kk_rcu_set(&f->actions, a);
                if (!actions_inline(f, old))
                    kk_rcu_call(free_cb, old);
                continue;
            }
            verdict = SW_MFC_DELETE;
        }
        if (verdict == SW_MFC_DELETE) {
            remove_locked(mfc, f);
            removed++;
        }
    }
    pthread_mutex_unlock(&mfc->mutex);
    return removed;
}

/* ---- EMC ---- */

/* Two cache lines: the key's packet words, then the flow (the hash only
 * picks slots; comparing the key decides). Keys from packets have no
 * pipeline metadata (word 15 is 0), so it is not stored. */
struct emc_entry {
    uint64_t key[SW_FLOW_PACKET_WORDS];
    struct sw_mfc_flow *flow; /* counted reference, or NULL */
} __attribute__((aligned(128)));

/* Equal packet words (the metadata of a packet's key is always 0). */
static inline bool emc_key_equal(const struct emc_entry *e, const struct sw_flow_key *key)
{
    typedef uint64_t pair __attribute__((vector_size(16)));
    const uint64_t *y = sw_flow_key_words(key);
    _Static_assert(SW_FLOW_PACKET_WORDS == 15, "pairs below");
    pair diff = {e->key[14] ^ y[14], 0};
#pragma GCC unroll 8
    for (int i = 0; i < 14; i += 2) {
        pair p, q;
        memcpy(&p, e->key + i, sizeof(p));
        memcpy(&q, y + i, sizeof(q));
        diff |= p ^ q;
    }
    return (diff[0] | diff[1]) == 0;
}

_Static_assert(sizeof(struct emc_entry) == 128, "EMC entry of two cache lines");

struct sw_emc {
    uint32_t insert_inv_prob;
    uint32_t rng;
    unsigned count;
    unsigned n_entries; /* a power of two */
    struct emc_entry entries[];
};

int sw_emc_create(uint32_t insert_inv_prob, struct sw_emc **out)
{
    return sw_emc_create_sized(SW_EMC_ENTRIES, insert_inv_prob, out);
}

int sw_emc_create_sized(unsigned entries, uint32_t insert_inv_prob, struct sw_emc **out)
{
    if (!out || entries < SW_EMC_MIN_ENTRIES || entries > SW_EMC_MAX_ENTRIES ||
        (entries & (entries - 1)))
        return -EINVAL;
    size_t size = sizeof(struct sw_emc) + (size_t)entries * sizeof(struct emc_entry);
    struct sw_emc *emc = aligned_alloc(128, size);
    if (!emc)
        return -ENOMEM;
    memset(emc, 0, size);
    emc->n_entries = entries;
    emc->insert_inv_prob = insert_inv_prob;
    emc->rng = 0x9e3779b9u;
    *out = emc;
    return 0;
}

static void entry_clear(struct sw_emc *emc, struct emc_entry *e)
{
    if (e->flow) {
        flow_unref(e->flow);
        e->flow = NULL;
        emc->count--;
    }
}

void sw_emc_destroy(struct sw_emc *emc)
{
    if (!emc)
        return;
    for (unsigned i = 0; i < emc->n_entries; i++)
        entry_clear(emc, &emc->entries[i]);
    free(emc);
}

/*
 * Per packet, so no chain of 15 dependent multiplies: each pair of key
 * words is folded with its own constants independently (the CPU overlaps
 * the multiplies), the folds are added, and one last fold mixes the sum
 * so both 32-bit halves (the two slot choices) depend on every word.
 */
static inline uint64_t emc_hash(const struct sw_flow_key *key)
{
    static const uint64_t secret[16] = {
        0xa0761d6478bd642full, 0xe7037ed1a0b428dbull, 0x8ebc6af09c88c6e3ull,
        0x589965cc75374cc3ull, 0x1d8e4e27c47d124full, 0x9e3779b97f4a7c15ull,
        0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull, 0xd6e8feb86659fd93ull,
        0x27d4eb2f165667c5ull, 0xff51afd7ed558ccdull, 0xc4ceb9fe1a85ec53ull,
        0x94d049bb133111ebull, 0xbf58476d1ce4e5b9ull, 0x2545f4914f6cdd1dull,
        0x5851f42d4c957f2dull,
    };
    _Static_assert(SW_FLOW_PACKET_WORDS == 15, "pairs below");
    const uint64_t *k = sw_flow_key_words(key);
    uint64_t h = 0;
#pragma GCC unroll 8
    for (int i = 0; i < 14; i += 2)
        h += kk_hash_fold(k[i] ^ secret[i], k[i + 1] ^ secret[i + 1]);
    h += kk_hash_fold(k[14] ^ secret[14], secret[15]);
    return kk_hash_fold(h ^ KK_HASH_K0, KK_HASH_K1);
}

uint64_t sw_emc_hash(const struct sw_flow_key *key)
{
    return emc_hash(key);
}


static inline struct emc_entry *slot(struct sw_emc *emc, uint64_t hash, int way)
{
    return &emc->entries[(way ? hash >> 32 : hash) & (emc->n_entries - 1)];
}

static inline void emc_prefetch(const struct sw_emc *emc, uint64_t hash)
{
    /* An entry is two cache lines. The second way is rarely needed. */
    const uint8_t *e = (const uint8_t *)&emc->entries[hash & (emc->n_entries - 1)];
    __builtin_prefetch(e);
    __builtin_prefetch(e + 64);
}

static inline struct sw_mfc_flow *emc_lookup(struct sw_emc *emc, const struct sw_flow_key *key,
                                             uint64_t hash)
{
    for (int way = 0; way < 2; way++) {
        struct emc_entry *e = slot(emc, hash, way);
        if (!e->flow || !emc_key_equal(e, key))
            continue;
        if (flow_dead(e->flow)) {
            entry_clear(emc, e);
            return NULL;
        }
        return e->flow;
    }
    return NULL;
}

void sw_emc_prefetch(const struct sw_emc *emc, uint64_t hash)
{
    emc_prefetch(emc, hash);
}

struct sw_mfc_flow *sw_emc_lookup(struct sw_emc *emc, const struct sw_flow_key *key,
                                  uint64_t hash)
{
    return emc_lookup(emc, key, hash);
}

unsigned sw_emc_lookup_burst(struct sw_emc *emc, const struct sw_flow_key *keys, unsigned n,
                             uint64_t *hashes, struct sw_mfc_flow **flows)
{
    bool same[SW_EMC_BURST];
    unsigned hits = 0;
    for (unsigned done = 0; done < n; done += SW_EMC_BURST) {
        const struct sw_flow_key *k = keys + done;
        uint64_t *h = hashes + done;
        struct sw_mfc_flow **f = flows + done;
        unsigned m = n - done < SW_EMC_BURST ? n - done : SW_EMC_BURST;
        for (unsigned i = 0; i < m; i++) {
            same[i] = i > 0 && sw_flow_key_equal(&k[i], &k[i - 1]);
            if (same[i]) {
                h[i] = h[i - 1];
            } else {
                h[i] = emc_hash(&k[i]);
                emc_prefetch(emc, h[i]);
            }
        }
        for (unsigned i = 0; i < m; i++) {
            f[i] = same[i] ? f[i - 1] : emc_lookup(emc, &k[i], h[i]);
            hits += f[i] != NULL;
        }
    }
    return hits;
}

void sw_emc_insert(struct sw_emc *emc, const struct sw_flow_key *key, uint64_t hash,
                   struct sw_mfc_flow *flow)
{
    if (emc->insert_inv_prob == UINT32_MAX)
        return; /* disabled */
    struct emc_entry *a = slot(emc, hash, 0), *b = slot(emc, hash, 1), *e;
    if (a->flow && emc_key_equal(a, key)) {
        e = a;
    } else if (b->flow && emc_key_equal(b, key)) {
        e = b;
    } else if (!a->flow || flow_dead(a->flow)) {
        e = a;
    } else if (!b->flow || flow_dead(b->flow)) {
        e = b;
    } else {
        /* Both slots hold live flows: replace one only now and then, so
         * that more microflows than slots do not keep evicting each other
         * (a free slot is always taken, so the cache fills at once). */
        if (emc->insert_inv_prob > 1) {
            emc->rng = emc->rng * 1103515245u + 12345u;
            if ((emc->rng >> 8) % emc->insert_inv_prob != 0)
                return;
        }
        e = b;
    }
    /* The caller got @flow in this read section, so the cache's reference
     * is still held and the count cannot be zero here. */
    __atomic_add_fetch(&flow->refcnt, 1, __ATOMIC_RELAXED);
    entry_clear(emc, e);
    memcpy(e->key, key, sizeof(e->key));
    e->flow = flow;
    emc->count++;
}

unsigned sw_emc_size(const struct sw_emc *emc)
{
    return emc->n_entries;
}

unsigned sw_emc_count(const struct sw_emc *emc)
{
    return emc->count;
}
