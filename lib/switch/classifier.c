/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tuple-space search classifier with staged lookup, versions and RCU.
 * See classifier.h for the design; this file keeps to the mechanics.
 *
 * Shared structures (read by lookups without locks):
 *   cls->vec          sorted array of (max priority, subtable), republished
 *                     whole when it changes;
 *   subtable->table   open-addressed slots: 0 empty, 1 tombstone, else a
 *                     node pointer with the top 16 hash bits as a tag;
 *                     replaced whole on growth;
 *   subtable->sets[]  per intermediate stage, open-addressed partial
 *                     hashes (0 empty, 1 tombstone) with writer-only counts;
 *   node->rules       singly linked, sorted by (priority desc, seq asc),
 *                     updated by single release stores.
 * A slot only ever goes empty -> value -> tombstone -> value...: never back
 * to empty, so a probe that meets an empty slot may stop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifier.h"
#include "kk_common.h"
#include "kk_hash.h"
#include "kk_log.h"
#include "kk_rcu.h"

KK_LOG_COMPONENT(cls_log, "classifier");

#define SLOT_EMPTY 0
#define SLOT_TOMB  1
#define TAG_SHIFT  48
#define PTR_MASK   ((UINT64_C(1) << TAG_SHIFT) - 1)
#define MIN_SLOTS  8
#define MAX_STAGES SW_SEG_COUNT

struct sw_cls_rule {
    struct sw_cls_rule *next; /* in the node's list (RCU) */
    int32_t priority;
    uint64_t seq;
    uint64_t add_version;
    uint64_t remove_version; /* atomic */
    void *user;
    /* writer only */
    struct node *node;
    struct subtable *subtable;
    struct sw_cls_rule *pending_next;
    struct sw_flow_key key; /* masked */
};

struct node {
    uint64_t hash;
    struct sw_cls_rule *rules; /* RCU */
    struct node *free_next;    /* writer: reclamation list */
    uint64_t kw[];             /* masked key words, subtable->words order */
};

struct table {
    uint32_t mask; /* slots - 1 */
    uint32_t live, used;
    uint64_t slots[];
};

/* Partial-hash set; counts[] follows slots[] in the same allocation. */
struct hset {
    uint32_t mask;
    uint32_t live, used;
    uint32_t *counts;
    uint64_t slots[];
};

/*
 * Prefix tries over IPv4 nw_dst and nw_src: one binary trie per field of
 * the prefixes of every rule whose subtable masks that field with a
 * prefix. A lookup walks it once along the packet's address and learns
 * which prefix lengths some rule matches, and how many leading bits that
 * answer depends on. A subtable whose prefix length is not among them
 * cannot match: it is skipped with only those bits un-wildcarded, instead
 * of its whole prefix (so a /24 rule does not pin 24 bits of every other
 * destination's megaflow).
 */
#define TRIE_FIELDS 2
#define TRIE_NONE   0xff

static const uint8_t trie_field_ofs[TRIE_FIELDS] = {
    offsetof(struct sw_flow_key, nw_dst),
    offsetof(struct sw_flow_key, nw_src),
};

struct trie_node {
    struct trie_node *child[2]; /* RCU */
    uint32_t count;             /* atomic: rules whose prefix ends here */
};

/* What one lookup learned from one trie (computed on first need). */
struct trie_result {
    bool done;
    uint8_t maskbits;  /* leading bits the answer depends on */
    uint64_t plens;    /* bit n: some rule's /n prefix matches */
};

struct subtable {
    /* read by lookups */
    uint8_t n_words;
    uint8_t n_stages;
    uint8_t trie_stage;              /* stage holding the trie fields, or TRIE_NONE */
    uint8_t trie_plen[TRIE_FIELDS];  /* prefix length of each trie field, 0: not used */
    uint8_t stage_end[MAX_STAGES]; /* words[] index where stage s ends */
    uint8_t words[SW_FLOW_KEY_WORDS];
    uint64_t mvals[SW_FLOW_KEY_WORDS]; /* mask word for each words[] entry */
    struct table *table;               /* RCU */
    struct hset *sets[MAX_STAGES - 1]; /* RCU; after stage s, s < n_stages - 1 */
    /* writer only */
    struct sw_flow_mask mask;
    int32_t max_priority;
    uint32_t max_count; /* rules at max_priority */
    uint32_t n_rules;
    uint64_t seq;
    struct subtable *free_next;
};

struct vec_entry {
    int32_t max_priority;
    struct subtable *st;
};

struct subvec {
    uint32_t n;
    struct vec_entry e[];
};

struct sw_cls {
    struct subvec *vec; /* RCU */
    struct trie_node *tries[TRIE_FIELDS]; /* roots, never replaced */
    uint64_t version;   /* atomic */
    uint64_t seed;
    pthread_mutex_t mutex;
    /* writer only */
    struct subtable **subs;
    uint32_t n_subs, cap_subs;
    uint64_t next_rule_seq, next_sub_seq;
    uint32_t n_rules, n_pending;
    struct sw_cls_rule *pending; /* removed, version not yet published */
};

/* A batch of removals on its way through two grace periods. */
struct batch {
    struct sw_cls *cls;
    struct sw_cls_rule *rules;
    struct node *nodes;
    struct subtable *subs;
};

/* ---- small helpers ------------------------------------------------------ */

static inline bool visible(const struct sw_cls_rule *r, uint64_t version)
{
    return r->add_version <= version &&
           version < __atomic_load_n(&r->remove_version, __ATOMIC_RELAXED);
}

/* True if @a beats @b (b may be NULL). */
static inline bool better(const struct sw_cls_rule *a, const struct sw_cls_rule *b)
{
    return !b || a->priority > b->priority || (a->priority == b->priority && a->seq < b->seq);
}

static inline uint64_t hset_value(uint64_t h)
{
    return h < 2 ? h + 2 : h;
}

static uint32_t slots_for(uint32_t live)
{
    uint64_t n = kk_align_pow2_u64((uint64_t)live * 4);
    return n < MIN_SLOTS ? MIN_SLOTS : (uint32_t)n;
}

/* ---- hash tables of nodes ----------------------------------------------- */

static struct table *table_alloc(uint32_t n_slots)
{
    struct table *t = calloc(1, sizeof(*t) + n_slots * sizeof(uint64_t));
    if (t)
        t->mask = n_slots - 1;
    return t;
}

static inline struct node *table_find(const struct table *t, const struct subtable *st,
                                            uint64_t hash, const uint64_t *k)
{
    uint64_t tag = hash >> TAG_SHIFT;
    for (uint32_t i = (uint32_t)hash & t->mask;; i = (i + 1) & t->mask) {
        uint64_t s = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
        if (s == SLOT_EMPTY)
            return NULL;
        if (s == SLOT_TOMB || s >> TAG_SHIFT != tag)
            continue;
        struct node *n = (struct node *)(uintptr_t)(s & PTR_MASK);
        if (n->hash != hash)
            continue;
        uint64_t diff = 0;
        for (unsigned j = 0; j < st->n_words; j++)
            diff |= (k[st->words[j]] & st->mvals[j]) ^ n->kw[j];
        if (!diff)
            return n;
    }
}

/* Writer: place @n in @t (which has room); no growth. */
static void table_place(struct table *t, struct node *n)
{
    uint64_t s = (n->hash >> TAG_SHIFT) << TAG_SHIFT | (uint64_t)(uintptr_t)n;
    uint32_t i = (uint32_t)n->hash & t->mask;
    while (t->slots[i] != SLOT_EMPTY && t->slots[i] != SLOT_TOMB)
        i = (i + 1) & t->mask;
    if (t->slots[i] == SLOT_EMPTY)
        t->used++;
    t->live++;
    __atomic_store_n(&t->slots[i], s, __ATOMIC_RELEASE);
}

/* Writer: insert @n, growing (republishing) the table when needed. */
static int table_insert(struct subtable *st, struct node *n)
{
    struct table *t = st->table;
    if ((t->used + 1) * 2 > t->mask + 1) {
        struct table *nt = table_alloc(slots_for(t->live + 1));
        if (!nt)
            return -ENOMEM;
        for (uint32_t i = 0; i <= t->mask; i++)
            if (t->slots[i] != SLOT_EMPTY && t->slots[i] != SLOT_TOMB)
                table_place(nt, (struct node *)(uintptr_t)(t->slots[i] & PTR_MASK));
        table_place(nt, n);
        kk_rcu_set(&st->table, nt);
        kk_rcu_call(free, t);
        return 0;
    }
    table_place(t, n);
    return 0;
}

static void table_remove(struct table *t, const struct node *n)
{
    for (uint32_t i = (uint32_t)n->hash & t->mask;; i = (i + 1) & t->mask) {
        uint64_t s = t->slots[i];
        if (s == SLOT_EMPTY)
            return; /* not there: cannot happen */
        if (s != SLOT_TOMB && (s & PTR_MASK) == (uint64_t)(uintptr_t)n) {
            __atomic_store_n(&t->slots[i], SLOT_TOMB, __ATOMIC_RELEASE);
            t->live--;
            return;
        }
    }
}

/* ---- partial-hash sets -------------------------------------------------- */

static struct hset *hset_alloc(uint32_t n_slots)
{
    struct hset *s = calloc(1, sizeof(*s) + n_slots * (sizeof(uint64_t) + sizeof(uint32_t)));
    if (!s)
        return NULL;
    s->mask = n_slots - 1;
    s->counts = (uint32_t *)(void *)(s->slots + n_slots);
    return s;
}

static inline bool hset_contains(const struct hset *s, uint64_t h)
{
    uint64_t v = hset_value(h);
    for (uint32_t i = (uint32_t)v & s->mask;; i = (i + 1) & s->mask) {
        uint64_t x = __atomic_load_n(&s->slots[i], __ATOMIC_RELAXED);
        if (x == v)
            return true;
        if (x == SLOT_EMPTY)
            return false;
    }
}

/* Index of @v in @s, or -1. */
static int64_t hset_find(const struct hset *s, uint64_t v)
{
    for (uint32_t i = (uint32_t)v & s->mask;; i = (i + 1) & s->mask) {
        if (s->slots[i] == v)
            return i;
        if (s->slots[i] == SLOT_EMPTY)
            return -1;
    }
}

static void hset_place(struct hset *s, uint64_t v, uint32_t count)
{
    uint32_t i = (uint32_t)v & s->mask;
    while (s->slots[i] != SLOT_EMPTY && s->slots[i] != SLOT_TOMB)
        i = (i + 1) & s->mask;
    if (s->slots[i] == SLOT_EMPTY)
        s->used++;
    s->live++;
    s->counts[i] = count;
    __atomic_store_n(&s->slots[i], v, __ATOMIC_RELEASE);
}

static int hset_add(struct hset **sp, uint64_t h)
{
    struct hset *s = *sp;
    uint64_t v = hset_value(h);
    int64_t i = hset_find(s, v);
    if (i >= 0) {
        s->counts[i]++;
        return 0;
    }
    if ((s->used + 1) * 2 > s->mask + 1) {
        struct hset *ns = hset_alloc(slots_for(s->live + 1));
        if (!ns)
            return -ENOMEM;
        for (uint32_t j = 0; j <= s->mask; j++)
            if (s->slots[j] != SLOT_EMPTY && s->slots[j] != SLOT_TOMB)
                hset_place(ns, s->slots[j], s->counts[j]);
        hset_place(ns, v, 1);
        kk_rcu_set(sp, ns);
        kk_rcu_call(free, s);
        return 0;
    }
    hset_place(s, v, 1);
    return 0;
}

static void hset_del(struct hset *s, uint64_t h)
{
    int64_t i = hset_find(s, hset_value(h));
    if (i < 0)
        return;
    if (--s->counts[i] == 0) {
        __atomic_store_n(&s->slots[i], SLOT_TOMB, __ATOMIC_RELEASE);
        s->live--;
    }
}

/* ---- prefix tries ------------------------------------------------------- */

static inline uint32_t field_u32(const void *key, unsigned f)
{
    uint32_t v;
    memcpy(&v, (const uint8_t *)key + trie_field_ofs[f], 4);
    return v;
}

static inline unsigned addr_bit(uint32_t v, unsigned depth)
{
    return (v >> (31 - depth)) & 1;
}

/* Prefix length of a 32-bit mask, or 0 if it is not a prefix. */
static unsigned mask_plen(uint32_t m)
{
    uint32_t inv = ~m;
    return m && (inv & (inv + 1)) == 0 ? (unsigned)__builtin_popcount(m) : 0;
}

static void trie_lookup(const struct trie_node *n, uint32_t v, struct trie_result *out)
{
    uint64_t plens = 0;
    unsigned depth = 0;
    for (;;) {
        if (__atomic_load_n(&n->count, __ATOMIC_RELAXED))
            plens |= UINT64_C(1) << depth;
        if (depth == 32)
            break;
        unsigned bit = addr_bit(v, depth);
        const struct trie_node *c = kk_rcu_get(&n->child[bit]);
        if (!c) {
            /* Bit @depth decided the walk only if the other branch exists. */
            if (kk_rcu_get(&n->child[!bit]))
                depth++;
            break;
        }
        n = c;
        depth++;
    }
    out->done = true;
    out->maskbits = (uint8_t)depth;
    out->plens = plens;
}

/* Writer: add one prefix; all or nothing. */
static int trie_insert(struct trie_node *root, uint32_t v, unsigned plen)
{
    struct trie_node *n = root;
    unsigned depth = 0;
    while (depth < plen && n->child[addr_bit(v, depth)]) {
        n = n->child[addr_bit(v, depth)];
        depth++;
    }
    if (depth == plen) {
        __atomic_fetch_add(&n->count, 1, __ATOMIC_RELAXED);
        return 0;
    }
    /* Build the missing chain bottom-up, then publish it with one store. */
    struct trie_node *chain = NULL;
    for (unsigned d = plen; d > depth; d--) {
        struct trie_node *c = calloc(1, sizeof(*c));
        if (!c) {
            while (chain) {
                struct trie_node *next = chain->child[0] ? chain->child[0] : chain->child[1];
                free(chain);
                chain = next;
            }
            return -ENOMEM;
        }
        if (chain)
            c->child[addr_bit(v, d)] = chain;
        else
            c->count = 1;
        chain = c;
    }
    kk_rcu_set(&n->child[addr_bit(v, depth)], chain);
    return 0;
}

/* Writer: drop one prefix, pruning empty branches (freed after a grace
 * period). */
static void trie_remove(struct trie_node *root, uint32_t v, unsigned plen)
{
    struct trie_node *path[33];
    struct trie_node *n = root;
    path[0] = n;
    for (unsigned d = 0; d < plen; d++) {
        n = n->child[addr_bit(v, d)];
        if (!n)
            return; /* not there: cannot happen */
        path[d + 1] = n;
    }
    __atomic_fetch_sub(&n->count, 1, __ATOMIC_RELAXED);
    for (unsigned d = plen; d > 0; d--) {
        struct trie_node *c = path[d];
        if (c->count || c->child[0] || c->child[1])
            break;
        kk_rcu_set(&path[d - 1]->child[addr_bit(v, d - 1)], NULL);
        kk_rcu_call(free, c);
    }
}

static void trie_free(struct trie_node *n)
{
    if (!n)
        return;
    trie_free(n->child[0]);
    trie_free(n->child[1]);
    free(n);
}

static int rule_tries_add(struct sw_cls *cls, const struct subtable *st,
                          const struct sw_flow_key *key)
{
    for (unsigned f = 0; f < TRIE_FIELDS; f++) {
        if (!st->trie_plen[f])
            continue;
        int rc = trie_insert(cls->tries[f], field_u32(key, f), st->trie_plen[f]);
        if (rc < 0) {
            while (f-- > 0)
                if (st->trie_plen[f])
                    trie_remove(cls->tries[f], field_u32(key, f), st->trie_plen[f]);
            return rc;
        }
    }
    return 0;
}

static void rule_tries_remove(struct sw_cls *cls, const struct subtable *st,
                              const struct sw_flow_key *key)
{
    for (unsigned f = 0; f < TRIE_FIELDS; f++)
        if (st->trie_plen[f])
            trie_remove(cls->tries[f], field_u32(key, f), st->trie_plen[f]);
}

/* ---- subtables ---------------------------------------------------------- */

static void subtable_free(struct subtable *st)
{
    if (!st)
        return;
    free(st->table);
    for (unsigned s = 0; s + 1 < MAX_STAGES; s++)
        free(st->sets[s]);
    free(st);
}

static void subtable_free_cb(void *arg)
{
    subtable_free(arg);
}

static struct subtable *subtable_create(struct sw_cls *cls, const struct sw_flow_mask *mask)
{
    struct subtable *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->mask = *mask;
    st->seq = cls->next_sub_seq++;
    st->max_priority = INT32_MIN;
    const uint64_t *m = sw_flow_key_words(&mask->masks);
    for (unsigned seg = 0; seg < SW_SEG_COUNT; seg++) {
        unsigned before = st->n_words;
        for (unsigned w = sw_flow_segment_start(seg); w < sw_flow_segment_start(seg + 1); w++) {
            if (m[w]) {
                st->words[st->n_words] = (uint8_t)w;
                st->mvals[st->n_words] = m[w];
                st->n_words++;
            }
        }
        if (st->n_words > before) {
            if (seg == SW_SEG_L3)
                st->trie_stage = st->n_stages;
            st->stage_end[st->n_stages++] = st->n_words;
        }
    }
    bool any_trie = false;
    for (unsigned f = 0; f < TRIE_FIELDS; f++) {
        st->trie_plen[f] = (uint8_t)mask_plen(field_u32(&mask->masks, f));
        any_trie |= st->trie_plen[f] != 0;
    }
    if (!any_trie)
        st->trie_stage = TRIE_NONE;
    st->table = table_alloc(MIN_SLOTS);
    bool ok = st->table != NULL;
    for (unsigned s = 0; ok && s + 1 < st->n_stages; s++)
        ok = (st->sets[s] = hset_alloc(MIN_SLOTS)) != NULL;
    if (!ok) {
        subtable_free(st);
        return NULL;
    }
    return st;
}

/* The full hash of @k under the subtable's mask, and the partial hash
 * after each stage. */
static uint64_t subtable_hashes(const struct subtable *st, uint64_t seed, const uint64_t *k,
                                uint64_t partial[MAX_STAGES])
{
    uint64_t h = seed;
    unsigned wi = 0;
    for (unsigned s = 0; s < st->n_stages; s++) {
        for (; wi < st->stage_end[s]; wi++)
            h = kk_hash_combine(h, k[st->words[wi]] & st->mvals[wi]);
        partial[s] = h;
    }
    return h;
}

static inline void unwildcard(const struct subtable *st, uint64_t *wc, unsigned n_words)
{
    for (unsigned j = 0; j < n_words; j++)
        wc[st->words[j]] |= st->mvals[j];
}

/* On a miss in @st: true if the tries prove that no rule of @st can match
 * any packet sharing a few leading bits of one address field; then only
 * those bits go into @wc (the proof needs nothing else). */
static bool tries_narrow(const struct sw_cls *cls, const struct subtable *st,
                         const struct sw_flow_key *key, struct trie_result *tries, uint64_t *wc)
{
    for (unsigned f = 0; f < TRIE_FIELDS; f++) {
        unsigned plen = st->trie_plen[f];
        if (!plen)
            continue;
        struct trie_result *t = &tries[f];
        if (!t->done)
            trie_lookup(cls->tries[f], field_u32(key, f), t);
        if (t->plens >> plen & 1)
            continue;
        uint32_t bits = t->maskbits ? UINT32_MAX << (32 - t->maskbits) : 0;
        uint8_t *p = (uint8_t *)wc + trie_field_ofs[f];
        uint32_t cur;
        memcpy(&cur, p, 4);
        cur |= bits;
        memcpy(p, &cur, 4);
        return true;
    }
    return false;
}

/*
 * Report a miss in @st after hashing @wi mask words (through stage
 * @stage). Misses before the stage with the address fields report those
 * words; later ones first ask the tries for something narrower. Hits never
 * touch the tries, nor does a lookup without @wc.
 */
static inline void report_miss(const struct sw_cls *cls, const struct subtable *st,
                               const struct sw_flow_key *key, struct trie_result *tries,
                               uint64_t *wc, unsigned wi, unsigned stage)
{
    if (!wc)
        return;
    if (st->trie_stage != TRIE_NONE && stage >= st->trie_stage &&
        tries_narrow(cls, st, key, tries, wc))
        return;
    unwildcard(st, wc, wi);
}

static inline const struct sw_cls_rule *subtable_lookup(const struct sw_cls *cls,
                                                        const struct subtable *st,
                                                        uint64_t version,
                                                        const struct sw_flow_key *key,
                                                        struct trie_result *tries, uint64_t *wc)
{
    const uint64_t *k = sw_flow_key_words(key);
    uint64_t h = cls->seed;
    unsigned wi = 0;
    unsigned last = st->n_stages ? st->n_stages - 1u : 0u;
    for (unsigned s = 0; s < last; s++) {
        for (; wi < st->stage_end[s]; wi++)
            h = kk_hash_combine(h, k[st->words[wi]] & st->mvals[wi]);
        if (!hset_contains(kk_rcu_get(&st->sets[s]), h)) {
            report_miss(cls, st, key, tries, wc, wi, s);
            return NULL;
        }
    }
    for (; wi < st->n_words; wi++)
        h = kk_hash_combine(h, k[st->words[wi]] & st->mvals[wi]);
    const struct node *n = table_find(kk_rcu_get(&st->table), st, h, k);
    if (!n) {
        report_miss(cls, st, key, tries, wc, wi, last);
        return NULL;
    }
    if (wc)
        unwildcard(st, wc, st->n_words);
    /* Sorted by priority then age: the first visible rule is the node's best. */
    for (const struct sw_cls_rule *r = kk_rcu_get(&n->rules); r; r = kk_rcu_get(&r->next))
        if (visible(r, version))
            return r;
    return NULL;
}

/*
 * The probing half of subtable_lookup() for bursts: the hashes of every
 * stage were computed (and their slots prefetched) beforehand. @ph[s] is
 * the hash after stage s; ph[n_stages - 1] the full one.
 */
static const struct sw_cls_rule *subtable_probe(const struct sw_cls *cls,
                                                const struct subtable *st, uint64_t version,
                                                const struct sw_flow_key *key,
                                                const uint64_t *ph, struct trie_result *tries,
                                                uint64_t *wc)
{
    unsigned last = st->n_stages ? st->n_stages - 1u : 0u;
    for (unsigned s = 0; s < last; s++) {
        if (!hset_contains(kk_rcu_get(&st->sets[s]), ph[s])) {
            report_miss(cls, st, key, tries, wc, st->stage_end[s], s);
            return NULL;
        }
    }
    uint64_t h = st->n_stages ? ph[last] : cls->seed;
    const struct node *n = table_find(kk_rcu_get(&st->table), st, h, sw_flow_key_words(key));
    if (!n) {
        report_miss(cls, st, key, tries, wc, st->n_words, last);
        return NULL;
    }
    if (wc)
        unwildcard(st, wc, st->n_words);
    for (const struct sw_cls_rule *r = kk_rcu_get(&n->rules); r; r = kk_rcu_get(&r->next))
        if (visible(r, version))
            return r;
    return NULL;
}

/* Compute every stage hash of @key in @st and prefetch the slots the
 * probe will read. */
static inline void subtable_prepare(const struct sw_cls *cls, const struct subtable *st,
                                    const struct sw_flow_key *key, uint64_t *ph)
{
    uint64_t h = subtable_hashes(st, cls->seed, sw_flow_key_words(key), ph);
    unsigned last = st->n_stages ? st->n_stages - 1u : 0u;
    for (unsigned s = 0; s < last; s++) {
        const struct hset *set = kk_rcu_get(&st->sets[s]);
        __builtin_prefetch(&set->slots[(uint32_t)hset_value(ph[s]) & set->mask]);
    }
    const struct table *t = kk_rcu_get(&st->table);
    __builtin_prefetch(&t->slots[(uint32_t)h & t->mask]);
}

/* ---- the subtable vector ------------------------------------------------ */

static int vec_cmp(const void *a, const void *b)
{
    const struct vec_entry *x = a, *y = b;
    if (x->max_priority != y->max_priority)
        return x->max_priority > y->max_priority ? -1 : 1;
    return x->st->seq < y->st->seq ? -1 : x->st->seq > y->st->seq;
}

/* Writer: publish a fresh sorted vector of cls->subs. */
static int vec_republish(struct sw_cls *cls)
{
    struct subvec *v = malloc(sizeof(*v) + cls->n_subs * sizeof(v->e[0]));
    if (!v)
        return -ENOMEM;
    v->n = cls->n_subs;
    for (uint32_t i = 0; i < cls->n_subs; i++)
        v->e[i] = (struct vec_entry){cls->subs[i]->max_priority, cls->subs[i]};
    qsort(v->e, v->n, sizeof(v->e[0]), vec_cmp);
    struct subvec *old = cls->vec;
    kk_rcu_set(&cls->vec, v);
    kk_rcu_call(free, old);
    return 0;
}

/* ---- public: life cycle ------------------------------------------------- */

int sw_cls_create(struct sw_cls **out)
{
    if (!out)
        return -EINVAL;
    struct sw_cls *cls = calloc(1, sizeof(*cls));
    if (!cls)
        return -ENOMEM;
    cls->vec = calloc(1, sizeof(struct subvec));
    if (!cls->vec) {
        free(cls);
        return -ENOMEM;
    }
    for (unsigned f = 0; f < TRIE_FIELDS; f++) {
        cls->tries[f] = calloc(1, sizeof(struct trie_node));
        if (!cls->tries[f]) {
            while (f-- > 0)
                free(cls->tries[f]);
            free(cls->vec);
            free(cls);
            return -ENOMEM;
        }
    }
    cls->version = 1;
    cls->seed = kk_hash_u64((uint64_t)(uintptr_t)cls, KK_HASH_K0);
    pthread_mutex_init(&cls->mutex, NULL);
    *out = cls;
    return 0;
}

static void free_subtable_contents(struct subtable *st)
{
    struct table *t = st->table;
    for (uint32_t i = 0; i <= t->mask; i++) {
        uint64_t s = t->slots[i];
        if (s == SLOT_EMPTY || s == SLOT_TOMB)
            continue;
        struct node *n = (struct node *)(uintptr_t)(s & PTR_MASK);
        for (struct sw_cls_rule *r = n->rules, *next; r; r = next) {
            next = r->next;
            free(r);
        }
        free(n);
    }
}

void sw_cls_destroy(struct sw_cls *cls)
{
    if (!cls)
        return;
    /* Removal batches run in two steps (unlink, then free). */
    kk_rcu_barrier();
    kk_rcu_barrier();
    for (uint32_t i = 0; i < cls->n_subs; i++) {
        free_subtable_contents(cls->subs[i]);
        subtable_free(cls->subs[i]);
    }
    free(cls->subs);
    free(cls->vec);
    for (unsigned f = 0; f < TRIE_FIELDS; f++)
        trie_free(cls->tries[f]);
    pthread_mutex_destroy(&cls->mutex);
    free(cls);
}

/* ---- public: writers ---------------------------------------------------- */

static struct subtable *find_subtable(struct sw_cls *cls, const struct sw_flow_mask *mask)
{
    for (uint32_t i = 0; i < cls->n_subs; i++)
        if (memcmp(&cls->subs[i]->mask, mask, sizeof(*mask)) == 0)
            return cls->subs[i];
    return NULL;
}

static int add_subtable(struct sw_cls *cls, struct subtable *st)
{
    if (cls->n_subs == cls->cap_subs) {
        uint32_t cap = cls->cap_subs ? cls->cap_subs * 2 : 8;
        struct subtable **v = realloc(cls->subs, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        cls->subs = v;
        cls->cap_subs = cap;
    }
    cls->subs[cls->n_subs++] = st;
    return 0;
}

static void drop_subtable(struct sw_cls *cls, struct subtable *st)
{
    for (uint32_t i = 0; i < cls->n_subs; i++) {
        if (cls->subs[i] == st) {
            cls->subs[i] = cls->subs[--cls->n_subs];
            return;
        }
    }
}

/* Link @r into @n's list, keeping it sorted (priority desc, seq asc). */
static void node_link(struct node *n, struct sw_cls_rule *r)
{
    struct sw_cls_rule **pp = &n->rules;
    while (*pp && !better(r, *pp))
        pp = &(*pp)->next;
    r->next = *pp;
    kk_rcu_set(pp, r);
}

static void node_unlink(struct node *n, struct sw_cls_rule *r)
{
    struct sw_cls_rule **pp = &n->rules;
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp)
        kk_rcu_set(pp, r->next); /* r->next stays: readers on r go on */
}

int sw_cls_insert(struct sw_cls *cls, const struct sw_flow_key *key,
                  const struct sw_flow_mask *mask, int32_t priority, uint64_t version,
                  void *user, struct sw_cls_rule **out)
{
    if (!cls || !key || !mask || version == 0 || version == SW_CLS_VERSION_NEVER)
        return -EINVAL;
    struct sw_flow_mask exact, m;
    sw_flow_mask_exact(&exact);
    sw_flow_key_mask(&m.masks, &mask->masks, &exact); /* padding bits off */

    struct sw_cls_rule *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->priority = priority;
    r->add_version = version;
    r->remove_version = SW_CLS_VERSION_NEVER;
    r->user = user;
    sw_flow_key_mask(&r->key, key, &m);

    pthread_mutex_lock(&cls->mutex);
    int rc = -ENOMEM;
    struct subtable *st = find_subtable(cls, &m);
    bool new_st = false;
    if (!st) {
        st = subtable_create(cls, &m);
        if (!st || add_subtable(cls, st) < 0) {
            subtable_free(st);
            goto fail;
        }
        new_st = true;
    }
    const uint64_t *k = sw_flow_key_words(&r->key);
    uint64_t partial[MAX_STAGES];
    uint64_t hash = subtable_hashes(st, cls->seed, k, partial);
    struct node *n = table_find(st->table, st, hash, k);
    struct node *new_node = NULL;
    if (!n) {
        new_node = calloc(1, sizeof(*new_node) + st->n_words * sizeof(uint64_t));
        if (!new_node)
            goto fail_st;
        new_node->hash = hash;
        for (unsigned j = 0; j < st->n_words; j++)
            new_node->kw[j] = k[st->words[j]];
    }
    /* Tries first: they may only over-report (no lookup skips a subtable
     * on their word while the rule is findable). */
    if (rule_tries_add(cls, st, &r->key) < 0) {
        free(new_node);
        goto fail_st;
    }

    /* Raise the subtable's priority in the vector before the rule can be
     * found, so no lookup stops early in front of it. */
    bool raise = new_st || priority > st->max_priority;
    int32_t old_max = st->max_priority;
    uint32_t old_count = st->max_count;
    if (raise) {
        st->max_priority = priority;
        st->max_count = 1;
        if (vec_republish(cls) < 0) {
            st->max_priority = old_max;
            st->max_count = old_count;
            rule_tries_remove(cls, st, &r->key);
            free(new_node);
            goto fail_st;
        }
    } else if (priority == st->max_priority) {
        st->max_count++;
    }

    if (new_node) {
        unsigned added = 0;
        rc = 0;
        while (added + 1 < st->n_stages) {
            rc = hset_add(&st->sets[added], partial[added]);
            if (rc < 0)
                break;
            added++;
        }
        if (rc == 0)
            rc = table_insert(st, new_node);
        if (rc < 0) {
            /* Undo the counts we added. */
            for (unsigned s = 0; s < added; s++)
                hset_del(st->sets[s], partial[s]);
            rule_tries_remove(cls, st, &r->key);
            free(new_node);
            if (raise) {
                st->max_priority = old_max;
                st->max_count = old_count;
            } else if (priority == st->max_priority) {
                st->max_count--;
            }
            goto fail_st;
        }
        n = new_node;
    }
    r->seq = cls->next_rule_seq++;
    r->node = n;
    r->subtable = st;
    node_link(n, r);
    st->n_rules++;
    cls->n_rules++;
    pthread_mutex_unlock(&cls->mutex);
    if (out)
        *out = r;
    return 0;

fail_st:
    if (new_st && st->n_rules == 0) {
        drop_subtable(cls, st);
        if (vec_republish(cls) < 0)
            KK_LOGE(cls_log, "cannot republish subtables: out of memory");
        kk_rcu_call(subtable_free_cb, st);
    }
fail:
    pthread_mutex_unlock(&cls->mutex);
    free(r);
    return rc;
}

static void free_batch(void *arg)
{
    struct batch *b = arg;
    while (b->rules) {
        struct sw_cls_rule *r = b->rules;
        b->rules = r->pending_next;
        free(r);
    }
    while (b->nodes) {
        struct node *n = b->nodes;
        b->nodes = n->free_next;
        free(n);
    }
    while (b->subs) {
        struct subtable *st = b->subs;
        b->subs = st->free_next;
        subtable_free(st);
    }
    free(b);
}

/* Highest priority among the subtable's linked rules (writer). */
static void recompute_max(struct subtable *st)
{
    struct table *t = st->table;
    st->max_priority = INT32_MIN;
    st->max_count = 0;
    for (uint32_t i = 0; i <= t->mask; i++) {
        uint64_t s = t->slots[i];
        if (s == SLOT_EMPTY || s == SLOT_TOMB)
            continue;
        for (struct sw_cls_rule *r = ((struct node *)(uintptr_t)(s & PTR_MASK))->rules; r;
             r = r->next) {
            if (r->priority > st->max_priority) {
                st->max_priority = r->priority;
                st->max_count = 1;
            } else if (r->priority == st->max_priority) {
                st->max_count++;
            } else {
                break; /* sorted */
            }
        }
    }
}

/* A grace period after the removals' version was published: no lookup at
 * an older version is still running, so unlink them. */
static void unlink_batch(void *arg)
{
    struct batch *b = arg;
    struct sw_cls *cls = b->cls;
    bool resort = false;
    pthread_mutex_lock(&cls->mutex);
    for (struct sw_cls_rule *r = b->rules; r; r = r->pending_next) {
        struct node *n = r->node;
        struct subtable *st = r->subtable;
        node_unlink(n, r);
        rule_tries_remove(cls, st, &r->key);
        if (!n->rules) {
            table_remove(st->table, n);
            uint64_t partial[MAX_STAGES];
            uint64_t kfull[SW_FLOW_KEY_WORDS] = {0};
            for (unsigned j = 0; j < st->n_words; j++)
                kfull[st->words[j]] = n->kw[j];
            subtable_hashes(st, cls->seed, kfull, partial);
            for (unsigned s = 0; s + 1 < st->n_stages; s++)
                hset_del(st->sets[s], partial[s]);
            n->free_next = b->nodes;
            b->nodes = n;
        }
        st->n_rules--;
        cls->n_rules--;
        if (st->n_rules == 0) {
            drop_subtable(cls, st);
            st->free_next = b->subs;
            b->subs = st;
            resort = true;
        } else if (r->priority == st->max_priority && --st->max_count == 0) {
            recompute_max(st);
            resort = true;
        }
    }
    /* On failure the vector keeps stale (higher) priorities and freed
     * subtables: that is unsafe only for the latter, so retry until it
     * works rather than free them. */
    while (resort && vec_republish(cls) < 0) {
        KK_LOGE_RL(cls_log, "cannot republish subtables: out of memory, retrying");
        pthread_mutex_unlock(&cls->mutex);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&cls->mutex);
    }
    pthread_mutex_unlock(&cls->mutex);
    kk_rcu_call(free_batch, b);
}

/* Writer, locked: send the pending removals whose version is published on
 * their way. */
static void schedule_removals(struct sw_cls *cls)
{
    uint64_t v = cls->version;
    struct batch *b = NULL;
    for (struct sw_cls_rule **pp = &cls->pending; *pp;) {
        struct sw_cls_rule *r = *pp;
        if (r->remove_version > v) {
            pp = &r->pending_next;
            continue;
        }
        if (!b) {
            b = calloc(1, sizeof(*b));
            if (!b) {
                /* Left pending: retried at the next publish. */
                KK_LOGE_RL(cls_log, "cannot reclaim removed rules: out of memory");
                return;
            }
            b->cls = cls;
        }
        *pp = r->pending_next;
        r->pending_next = b->rules;
        b->rules = r;
        cls->n_pending--;
    }
    if (b)
        kk_rcu_call(unlink_batch, b);
}

int sw_cls_remove(struct sw_cls *cls, struct sw_cls_rule *rule, uint64_t version)
{
    if (!cls || !rule || version == SW_CLS_VERSION_NEVER)
        return -EINVAL;
    pthread_mutex_lock(&cls->mutex);
    if (rule->remove_version != SW_CLS_VERSION_NEVER || version < rule->add_version) {
        pthread_mutex_unlock(&cls->mutex);
        return -EINVAL;
    }
    __atomic_store_n(&rule->remove_version, version, __ATOMIC_RELEASE);
    rule->pending_next = cls->pending;
    cls->pending = rule;
    cls->n_pending++;
    if (version <= cls->version)
        schedule_removals(cls);
    pthread_mutex_unlock(&cls->mutex);
    return 0;
}

int sw_cls_publish(struct sw_cls *cls, uint64_t version)
{
    if (!cls || version == SW_CLS_VERSION_NEVER)
        return -EINVAL;
    pthread_mutex_lock(&cls->mutex);
    if (version < cls->version) {
        pthread_mutex_unlock(&cls->mutex);
        return -EINVAL;
    }
    __atomic_store_n(&cls->version, version, __ATOMIC_RELEASE);
    schedule_removals(cls);
    pthread_mutex_unlock(&cls->mutex);
    return 0;
}

/* ---- public: readers ---------------------------------------------------- */

uint64_t sw_cls_version(const struct sw_cls *cls)
{
    return __atomic_load_n(&cls->version, __ATOMIC_ACQUIRE);
}

const struct sw_cls_rule *sw_cls_lookup(const struct sw_cls *cls, uint64_t version,
                                        const struct sw_flow_key *key, struct sw_flow_mask *wc)
{
    const struct subvec *v = kk_rcu_get(&cls->vec);
    uint64_t *w = wc ? sw_flow_key_words_rw(&wc->masks) : NULL;
    struct trie_result tries[TRIE_FIELDS];
    for (unsigned f = 0; f < TRIE_FIELDS; f++)
        tries[f].done = false;
    const struct sw_cls_rule *best = NULL;
    for (uint32_t i = 0; i < v->n; i++) {
        /* Sorted by max priority: nothing further can beat @best (equal
         * priorities still can, by age). */
        if (best && v->e[i].max_priority < best->priority)
            break;
        const struct sw_cls_rule *r = subtable_lookup(cls, v->e[i].st, version, key, tries, w);
        if (r && better(r, best))
            best = r;
    }
    return best;
}

static unsigned lookup_burst(const struct sw_cls *cls, uint64_t version,
                             const struct sw_flow_key *const *keys, unsigned n,
                             const struct sw_cls_rule **rules, struct sw_flow_mask *wcs)
{
    const struct subvec *v = kk_rcu_get(&cls->vec);
    struct trie_result tries[SW_CLS_BURST][TRIE_FIELDS];
    uint64_t ph[SW_CLS_BURST][MAX_STAGES];
    for (unsigned i = 0; i < n; i++) {
        rules[i] = NULL;
        for (unsigned f = 0; f < TRIE_FIELDS; f++)
            tries[i][f].done = false;
    }
    for (uint32_t e = 0; e < v->n; e++) {
        const struct subtable *st = v->e[e].st;
        int32_t maxp = v->e[e].max_priority;
        uint32_t active = 0;
        for (unsigned i = 0; i < n; i++)
            if (!rules[i] || maxp >= rules[i]->priority)
                active |= UINT32_C(1) << i;
        if (!active)
            break; /* sorted: no later subtable can beat any result */
        /* Hash everything and prefetch, then probe: the cache misses of
         * the whole burst overlap instead of following one another. */
        for (uint32_t m = active; m; m &= m - 1)
            subtable_prepare(cls, st, keys[__builtin_ctz(m)], ph[__builtin_ctz(m)]);
        for (uint32_t m = active; m; m &= m - 1) {
            unsigned i = (unsigned)__builtin_ctz(m);
            uint64_t *w = wcs ? sw_flow_key_words_rw(&wcs[i].masks) : NULL;
            const struct sw_cls_rule *r =
                subtable_probe(cls, st, version, keys[i], ph[i], tries[i], w);
            if (r && better(r, rules[i]))
                rules[i] = r;
        }
    }
    unsigned hits = 0;
    for (unsigned i = 0; i < n; i++)
        hits += rules[i] != NULL;
    return hits;
}

unsigned sw_cls_lookup_burst(const struct sw_cls *cls, uint64_t version,
                             const struct sw_flow_key *const *keys, unsigned n,
                             const struct sw_cls_rule **rules, struct sw_flow_mask *wcs)
{
    unsigned hits = 0;
    for (unsigned done = 0; done < n; done += SW_CLS_BURST) {
        unsigned chunk = KK_MIN(n - done, (unsigned)SW_CLS_BURST);
        hits += lookup_burst(cls, version, keys + done, chunk, rules + done,
                             wcs ? wcs + done : NULL);
    }
    return hits;
}

void *sw_cls_rule_user(const struct sw_cls_rule *rule)
{
    return rule->user;
}

int32_t sw_cls_rule_priority(const struct sw_cls_rule *rule)
{
    return rule->priority;
}

void sw_cls_rule_match(const struct sw_cls_rule *rule, struct sw_flow_key *key,
                       struct sw_flow_mask *mask)
{
    *key = rule->key;
    *mask = rule->subtable->mask;
}

bool sw_cls_rule_visible(const struct sw_cls_rule *rule, uint64_t version)
{
    return visible(rule, version);
}

void sw_cls_get_stats(struct sw_cls *cls, struct sw_cls_stats *out)
{
    pthread_mutex_lock(&cls->mutex);
    out->version = cls->version;
    out->rules = cls->n_rules;
    out->subtables = cls->n_subs;
    out->pending_removal = cls->n_pending;
    pthread_mutex_unlock(&cls->mutex);
}

